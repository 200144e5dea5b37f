#!/bin/sh
# Side-by-side transfer benchmark between two network namespaces (see netns.sh).
# Usage (root): [TFTP=0] [DELAY=<one-way ms>] bench/transfer/bench.sh [MB=100] [losses="0 1 5"] [runs=1]
# Prints one line per measurement: <loss%> <tool> <JSON>.
set -u
here=$(cd "$(dirname "$0")" && pwd)
MB=${1:-100}; LOSSES=${2:-"0 1 5"}; RUNS=${3:-1}
S="ip netns exec pl-srv"; C="ip netns exec pl-cli"; SRV=10.77.0.1
tmp=$(mktemp -d /tmp/parley-bench.XXXXXX)
trap '"$here/netns.sh" down; rm -rf "$tmp"' EXIT
"$here/netns.sh" down; "$here/netns.sh" up
[ "${DELAY:-0}" != 0 ] && "$here/netns.sh" delay "$DELAY"   # one-way ms on each side: RTT = 2 × DELAY
head -c $((MB * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
sha=$(sha256sum "$tmp/file.bin" | cut -d' ' -f1)
check() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha" ] && echo ok || echo CORRUPT; rm -f "$1"; }

for loss in $LOSSES; do
  "$here/netns.sh" loss "$loss"
  for run in $(seq "$RUNS"); do
    # 1. raw node:dgram ceiling (server namespace sends to the client namespace)
    $C node "$here/raw-dgram.mjs" recv --host 10.77.0.2 --port 45000 > "$tmp/raw.out" 2>/dev/null &
    rp=$!; sleep 0.5
    $S node "$here/raw-dgram.mjs" send --host 10.77.0.2 --port 45000 --mb "$MB"
    wait $rp; echo "$loss raw-dgram $(cat "$tmp/raw.out")"

    # 2. Parley UDP transfer
    $S node "$here/parley-server.mjs" --file "$tmp/file.bin" --host $SRV --port 57000 > "$tmp/offer.json" 2> "$tmp/server.err" &
    sp=$!
    while ! grep -q "}" "$tmp/offer.json" 2>/dev/null; do sleep 0.1; done
    out=$($C timeout 300 node "$here/parley-client.mjs" --host $SRV --offer "$(head -1 "$tmp/offer.json")" --dest "$tmp/got.bin")
    kill -TERM $sp; wait $sp 2>/dev/null
    echo "$loss parley $out $(tail -1 "$tmp/server.err") $(check "$tmp/got.bin")"

    # 3a. Node net TCP copy
    $S node "$here/tcp-copy.mjs" serve --file "$tmp/file.bin" --host $SRV --port 45001 > "$tmp/tcp.port" &
    tp=$!
    while ! grep -q "[0-9]" "$tmp/tcp.port" 2>/dev/null; do sleep 0.1; done; sleep 0.1
    out=$($C timeout 300 node "$here/tcp-copy.mjs" fetch --host $SRV --port 45001 --dest "$tmp/got.bin")
    kill $tp; wait $tp 2>/dev/null
    echo "$loss node-net $out $(check "$tmp/got.bin")"

    # 3b. nc
    $S sh -c "nc -N -l $SRV 45002 < '$tmp/file.bin'" &
    np=$!; sleep 0.3
    t0=$(date +%s.%N)
    $C timeout 300 sh -c "nc -d $SRV 45002 > '$tmp/got.bin'"
    t1=$(date +%s.%N); wait $np 2>/dev/null
    echo "$loss nc $(awk "BEGIN { printf \"{\\\"MBps\\\":%.1f,\\\"ms\\\":%.0f}\", $MB*1.048576/($t1-$t0), ($t1-$t0)*1000 }") $(check "$tmp/got.bin")"

    # 4. TFTP (atftpd + atftp), blksize 1468, stop-and-wait and windowsize 16; 60 s limit
    if [ "${TFTP:-1}" = 1 ] && command -v atftpd >/dev/null; then
      $S atftpd --daemon --no-fork --port 45069 --bind-address $SRV --user root --group root "$tmp" &
      ap=$!; sleep 0.3
      for opt in "" "--option windowsize\ 16"; do
        t0=$(date +%s.%N)
        eval $C timeout 60 atftp --get -r file.bin -l "$tmp/got.bin" --option \"blksize 1468\" $opt $SRV 45069 >/dev/null 2>&1
        rc=$?; t1=$(date +%s.%N)
        name=tftp-stopwait; [ -n "$opt" ] && name=tftp-window16
        if [ $rc -eq 0 ]; then
          echo "$loss $name $(awk "BEGIN { printf \"{\\\"MBps\\\":%.2f,\\\"ms\\\":%.0f}\", $MB*1.048576/($t1-$t0), ($t1-$t0)*1000 }") $(check "$tmp/got.bin")"
        else
          got=$(stat -c %s "$tmp/got.bin" 2>/dev/null || echo 0); rm -f "$tmp/got.bin"
          echo "$loss $name {\"unfinished\":true,\"bytesIn60s\":$got}"
        fi
      done
      kill $ap; wait $ap 2>/dev/null
    fi

    # 5. kernel TCP (iperf3), for reference
    $S iperf3 -s -1 -B $SRV -p 45003 >/dev/null 2>&1 &
    ip=$!; sleep 0.3
    $C iperf3 -c $SRV -p 45003 -n ${MB}M -J > "$tmp/iperf.json" 2>/dev/null
    wait $ip 2>/dev/null
    echo "$loss iperf3 $(node -e "const j=require('$tmp/iperf.json');const e=j.end.sum_received;console.log(JSON.stringify({MBps:+(e.bytes/1e6/e.seconds).toFixed(1)}))")"
  done
  echo "$loss nft-drops $("$here/netns.sh" counters | tr '\n' ' ')"
done
