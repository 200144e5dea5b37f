#!/bin/sh
# Raw node:dgram ceiling on loopback.
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
node "$here/raw-dgram.mjs" recv --host 127.0.0.1 > "$tmp/out" 2> "$tmp/port" &
rpid=$!
while [ ! -s "$tmp/port" ]; do sleep 0.05; done
node "$here/raw-dgram.mjs" send --host 127.0.0.1 --port "$(cat "$tmp/port")" --mb ${1:-100}
wait $rpid
cat "$tmp/out"; rm -rf "$tmp"
