#!/bin/sh
# Which side's V8 warm-up costs what: one Parley download of MB (default 100) between the
# namespaces, in four variants, interleaved, REPS times (default 5), at LOSS % (default 1):
#   S0C0 both processes fresh (what bench.sh's parley row measures)
#   S1C0 the server has served one download before (a deployed server), the client is fresh
#   S0C1 the client has downloaded once before (from another server), the server is fresh
#   S1C1 both have (bench.sh's parley-warm row)
#   tcp  the Node `net` copy (bench.sh's node-net row), for a baseline in the same run
# Usage (root): bench/transfer/warmup.sh [loss] [reps] [MB]; prints "<variant> <MB/s>" lines, then the medians.
set -u
here=$(cd "$(dirname "$0")" && pwd)
LOSS=${1:-1}; REPS=${2:-5}; MB=${3:-100}
S="ip netns exec pl-srv"; C="ip netns exec pl-cli"; SRV=10.77.0.1
tmp=$(mktemp -d /tmp/parley-warmup.XXXXXX)
trap '"$here/netns.sh" down; rm -rf "$tmp"' EXIT
"$here/netns.sh" down; "$here/netns.sh" up; "$here/netns.sh" loss "$LOSS"
head -c $((MB * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
offers() { while [ "$(grep -c '}' "$1" 2>/dev/null)" != "$2" ]; do sleep 0.05; done; }
one() { # <server warm 0|1> <client warm 0|1>
  rm -f "$tmp/o.json" "$tmp/w.json"
  $S node "$here/parley-server.mjs" --file "$tmp/file.bin" --host $SRV --count 2 > "$tmp/o.json" 2>/dev/null &
  sp=$!; wp=""
  if [ "$2" = 1 ]; then   # a second server, only to warm the client up
    $S node "$here/parley-server.mjs" --file "$tmp/file.bin" --host $SRV > "$tmp/w.json" 2>/dev/null &
    wp=$!; offers "$tmp/w.json" 1
  fi
  offers "$tmp/o.json" 2
  if [ "$1" = 1 ]; then
    $C node "$here/parley-client.mjs" --host $SRV --offer "$(sed -n 1p "$tmp/o.json")" --dest "$tmp/warm.bin" > /dev/null
    rm -f "$tmp/warm.bin"
  fi
  warm=""; [ "$2" = 1 ] && warm="--warmup=$(sed -n 1p "$tmp/w.json")"
  out=$($C node "$here/parley-client.mjs" --host $SRV ${warm:+"$warm"} --offer "$(sed -n 2p "$tmp/o.json")" --dest "$tmp/got.bin")
  rm -f "$tmp/got.bin"; kill $sp $wp 2>/dev/null; wait $sp $wp 2>/dev/null
  echo "S$1C$2 $(echo "$out" | sed -E 's/.*"MBps":([0-9.]+).*/\1/')"
}
tcp() {
  rm -f "$tmp/tcp.port"
  $S node "$here/tcp-copy.mjs" serve --file "$tmp/file.bin" --host $SRV --port 45001 > "$tmp/tcp.port" &
  tp=$!
  while ! grep -q "[0-9]" "$tmp/tcp.port" 2>/dev/null; do sleep 0.05; done; sleep 0.1
  out=$($C node "$here/tcp-copy.mjs" fetch --host $SRV --port 45001 --dest "$tmp/got.bin")
  rm -f "$tmp/got.bin"; kill $tp; wait $tp 2>/dev/null
  echo "tcp $(echo "$out" | sed -E 's/.*"MBps":([0-9.]+).*/\1/')"
}
for i in $(seq "$REPS"); do one 0 0; one 1 0; one 0 1; one 1 1; tcp; done | awk '
  { print; v[$1] = v[$1] " " $2 }
  END { for (k in v) { n = split(v[k], a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; printf "median %s %.1f (n=%d)\n", k, m, n } }'
