#!/bin/sh
# Parley and TCP through a tbf bottleneck (server egress), optionally two Parley transfers at once.
# Usage: bench/transfer/bottleneck.sh [mbit=100] [MB=30]
here=$(cd "$(dirname "$0")" && pwd)
MBIT=${1:-100}; MB=${2:-30}
S="ip netns exec pl-srv"; C="ip netns exec pl-cli"; SRV=10.77.0.1
tmp=$(mktemp -d /tmp/parley-bn.XXXXXX)
trap '"$here/netns.sh" down; rm -rf "$tmp"' EXIT
"$here/netns.sh" down; "$here/netns.sh" up; "$here/netns.sh" rate "$MBIT"
head -c $((MB * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
$S node "$here/parley-server.mjs" --log --file "$tmp/file.bin" --host $SRV --count 3 > "$tmp/offers" 2> "$tmp/server.err" &
sp=$!
while [ "$(grep -c '}' "$tmp/offers" 2>/dev/null)" -lt 3 ]; do sleep 0.1; done
echo "one transfer:  $($C node "$here/parley-client.mjs" --host $SRV --offer "$(sed -n 1p "$tmp/offers")" --dest "$tmp/a")"
$C node "$here/parley-client.mjs" --host $SRV --offer "$(sed -n 2p "$tmp/offers")" --dest "$tmp/b" > "$tmp/b.out" &
b=$!
$C node "$here/parley-client.mjs" --host $SRV --offer "$(sed -n 3p "$tmp/offers")" --dest "$tmp/c" > "$tmp/c.out"
wait $b
echo "two at once A: $(cat "$tmp/b.out")"
echo "two at once B: $(cat "$tmp/c.out")"
kill -TERM $sp; wait $sp 2>/dev/null
grep '"transfer finished"' "$tmp/server.err" | sed 's/.*"packets"/  server: {"packets"/'
$S node "$here/tcp-copy.mjs" serve --file "$tmp/file.bin" --host $SRV --port 45001 > "$tmp/tcp.port" &
tp=$!
while ! grep -q "[0-9]" "$tmp/tcp.port" 2>/dev/null; do sleep 0.1; done; sleep 0.1
echo "node-net:      $($C node "$here/tcp-copy.mjs" fetch --host $SRV --port 45001 --dest "$tmp/t")"
kill $tp; wait $tp 2>/dev/null
ip netns exec pl-srv tc -s qdisc show dev pl-vs | grep -E "dropped|qdisc"
