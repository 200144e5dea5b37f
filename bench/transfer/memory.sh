#!/bin/sh
# Server memory per concurrent transfer: N slow downloads (rate-capped) at once on loopback.
# Usage: [PAYLOAD=1452] bench/transfer/memory.sh [N=50]   (PAYLOAD: the DATA payload size the clients ask for, up to 65487)
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-50}
payload=${PAYLOAD:-1452}
tmp=$(mktemp -d)
head -c $((20 * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
PARLEY_MEM=1000 node --expose-gc "$here/parley-server.mjs" --file "$tmp/file.bin" --host 127.0.0.1 --count "$n" --rate 1000000 > "$tmp/offers" 2> "$tmp/mem" &
sp=$!
while [ "$(grep -c '}' "$tmp/offers" 2>/dev/null)" -lt "$n" ]; do sleep 0.1; done
sleep 2.5
node --input-type=module -e "
import { downloadFile } from '$here/../../packages/udp-transfer/dist/index.js';
import { readFileSync } from 'node:fs';
const offers = readFileSync('$tmp/offers', 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const ac = new AbortController();
const all = offers.map((o, i) => downloadFile({ host: '127.0.0.1', offer: o, destPath: '$tmp/out' + i, payloadSize: $payload, signal: ac.signal, resume: false, lingerMs: 0 }).catch(() => {}));
setTimeout(() => ac.abort(), 6000);
await Promise.all(all);
"
sleep 2.5
kill -TERM $sp; wait $sp 2>/dev/null
grep active "$tmp/mem"
rm -rf "$tmp"
