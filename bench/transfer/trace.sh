#!/bin/sh
# One traced Parley run between the namespaces at a given loss: bench/transfer/trace.sh <loss%> [MB]
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/parley-trace.XXXXXX)
"$here/netns.sh" down; "$here/netns.sh" up; "$here/netns.sh" loss "${1:-1}"; [ "${DELAY:-0}" != 0 ] && "$here/netns.sh" delay "$DELAY"
head -c $((${2:-100} * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
PARLEY_TRACE=${TRACE_MS:-250} ip netns exec pl-srv node "$here/parley-server.mjs" --log --file "$tmp/file.bin" --host 10.77.0.1 > "$tmp/offer.json" 2> "$tmp/server.err" &
sp=$!
while ! grep -q "}" "$tmp/offer.json" 2>/dev/null; do sleep 0.1; done
ip netns exec pl-cli node "$here/parley-client.mjs" --host 10.77.0.1 --offer "$(head -1 "$tmp/offer.json")" --dest "$tmp/got.bin"
kill -TERM $sp; wait $sp
cat "$tmp/server.err"; "$here/netns.sh" counters; "$here/netns.sh" down; rm -rf "$tmp"
