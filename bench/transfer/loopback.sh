#!/bin/sh
# Quick loopback run (no namespaces): Parley transfer of a random file.
# Usage: bench/transfer/loopback.sh [MB]
set -e
here=$(cd "$(dirname "$0")" && pwd)
mb=${1:-100}
tmp=$(mktemp -d)
head -c $((mb * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
node "$here/parley-server.mjs" ${LOG:+--log} --file "$tmp/file.bin" --host 127.0.0.1 > "$tmp/offer.json" 2> "$tmp/server.err" &
spid=$!
while [ ! -s "$tmp/offer.json" ]; do sleep 0.1; done
node "$here/parley-client.mjs" --host 127.0.0.1 --offer "$(head -1 "$tmp/offer.json")" --dest "$tmp/out.bin"
kill -TERM $spid; wait $spid 2>/dev/null || true
cat "$tmp/server.err"
rm -rf "$tmp"
