#!/bin/sh
# Side-by-side transfer benchmark between two network namespaces (see netns.sh).
# Usage (root): [TFTP=0] [KCP=0] [QUIC=0] [ONLY="kcp quic"] [LIMIT=120] [DELAY=<one-way ms>] bench/transfer/bench.sh [MB=100] [losses="0 1 5"] [runs=1]
#   TFTP/KCP/QUIC=0 skip those rows (they also need atftpd+atftp, kcptun, ngtcp2-server+ngtcp2-client+openssl);
#   ONLY="<groups>" runs only the named groups: raw parley parley-sealed parley-sealed-js parley-dgram parley-warm node-net node-net-warm nc tftp kcp quic iperf3
#   (parley: with the native batch addon when built; parley-dgram: PARLEY_UDP_BATCH=0, node:dgram alone;
#   *-warm: the same processes move the file once untimed first, so V8 has compiled the hot code).
#   LIMIT=<s> is the time limit of each KCP and QUIC transfer (default 120; TFTP has 60).
# Prints one line per measurement: <loss%> <tool> <JSON>.
set -u
here=$(cd "$(dirname "$0")" && pwd)
MB=${1:-100}; LOSSES=${2:-"0 1 5"}; RUNS=${3:-1}; LIMIT=${LIMIT:-120}
S="ip netns exec pl-srv"; C="ip netns exec pl-cli"; SRV=10.77.0.1
tmp=$(mktemp -d /tmp/parley-bench.XXXXXX)
trap '"$here/netns.sh" down; rm -rf "$tmp"' EXIT
"$here/netns.sh" down; "$here/netns.sh" up
[ "${DELAY:-0}" != 0 ] && "$here/netns.sh" delay "$DELAY"   # one-way ms on each side: RTT = 2 × DELAY
head -c $((MB * 1024 * 1024)) /dev/urandom > "$tmp/file.bin"
sha=$(sha256sum "$tmp/file.bin" | cut -d' ' -f1)
check() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha" ] && echo ok || echo CORRUPT; rm -f "$1"; }
want() { [ -z "${ONLY:-}" ] && return 0; case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }
rate() { awk "BEGIN { printf \"{\\\"MBps\\\":%.1f,\\\"ms\\\":%.0f}\", $MB*1.048576/($2-$1), ($2-$1)*1000 }"; }
# <loss> <name> <rc> <t0> <t1> <file> <limit s>: a timed row, or {"unfinished":…} if the client hit its timeout
timed() {
  if [ "$3" -eq 124 ]; then
    echo "$1 $2 {\"unfinished\":true,\"bytes\":$(stat -c %s "$6" 2>/dev/null || echo 0),\"s\":$7}"; rm -f "$6"
  else
    echo "$1 $2 $(rate "$4" "$5") $(check "$6")"
  fi
}
# user,sys CPU ms a running process has used so far (/proc/<pid>/stat fields 14 and 15, 10 ms ticks)
cpu_ms() { awk '{ sub(/^.*\) /, ""); printf "%d,%d", $12 * 10, $13 * 10 }' "/proc/$1/stat" 2>/dev/null || echo 0,0; }
# wait (≤ 5 s) until something listens on <proto t|u> <port> in namespace <ns>
listening() { i=0; while [ $i -lt 50 ] && ! ip netns exec "$1" ss -Hln"$2" "sport = :$3" | grep -q .; do sleep 0.1; i=$((i + 1)); done; }
QUIC_SERVER=${QUIC_SERVER:-gtlsserver}; QUIC_CLIENT=${QUIC_CLIENT:-gtlsclient}   # ngtcp2 examples (GnuTLS build in Debian)
quic=0
if [ "${QUIC:-1}" = 1 ] && want quic && command -v "$QUIC_SERVER" >/dev/null && command -v "$QUIC_CLIENT" >/dev/null && command -v openssl >/dev/null; then
  quic=1   # throwaway self-signed key and certificate (the client does not verify it)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=pl-srv \
    -keyout "$tmp/quic-key.pem" -out "$tmp/quic-cert.pem" >/dev/null 2>&1
fi

for loss in $LOSSES; do
  "$here/netns.sh" loss "$loss"
  for run in $(seq "$RUNS"); do
    # 1. raw node:dgram ceiling (server namespace sends to the client namespace)
    if want raw; then
      $C node "$here/raw-dgram.mjs" recv --host 10.77.0.2 --port 45000 > "$tmp/raw.out" 2>/dev/null &
      rp=$!; sleep 0.5
      $S node "$here/raw-dgram.mjs" send --host 10.77.0.2 --port 45000 --mb "$MB"
      wait $rp; echo "$loss raw-dgram $(cat "$tmp/raw.out")"
    fi

    # 2. Parley UDP transfer: batched system calls (the native addon, as built), the same with every
    #    packet sealed (an encrypted offer, right after the plain one: interleaved), and node:dgram alone
    #    parley-warm: both processes first move the file once untimed (V8 has optimized the code),
    #    then the second download is timed (the server reports that transfer's CPU alone).
    for row in parley parley-sealed parley-sealed-js parley-dgram parley-warm; do
      want $row || continue
      batch=1; [ $row = parley-dgram ] && batch=0
      count=1; [ $row = parley-warm ] && count=2
      # Every packet sealed (ChaCha20-Poly1305): with the native AEAD as built, or node:crypto alone (-js).
      encrypt=""; case $row in parley-sealed*) encrypt=--encrypt;; esac
      aead=1; [ $row = parley-sealed-js ] && aead=0
      export PARLEY_NATIVE_AEAD=$aead
      rm -f "$tmp/offer.json"
      $S env PARLEY_UDP_BATCH=$batch node "$here/parley-server.mjs" --file "$tmp/file.bin" --host $SRV --port 57000 --count $count $encrypt > "$tmp/offer.json" 2> "$tmp/server.err" &
      sp=$!
      while [ "$(grep -c "}" "$tmp/offer.json" 2>/dev/null)" != $count ]; do sleep 0.1; done
      warm=""; [ $count = 2 ] && warm="--warmup=$(sed -n 1p "$tmp/offer.json")"
      out=$($C env PARLEY_UDP_BATCH=$batch timeout 300 node "$here/parley-client.mjs" --host $SRV ${warm:+"$warm"} --offer "$(sed -n ${count}p "$tmp/offer.json")" --dest "$tmp/got.bin")
      kill -TERM $sp; wait $sp 2>/dev/null
      echo "$loss $row $out $(tail -1 "$tmp/server.err") $(check "$tmp/got.bin")"
    done

    # 3a. Node net TCP copy (node-net-warm: the client fetches the file once untimed first)
    for row in node-net node-net-warm; do
      want $row || continue
      warm=""; [ $row = node-net-warm ] && warm=--warmup
      rm -f "$tmp/tcp.port"
      $S node "$here/tcp-copy.mjs" serve --file "$tmp/file.bin" --host $SRV --port 45001 > "$tmp/tcp.port" &
      tp=$!
      while ! grep -q "[0-9]" "$tmp/tcp.port" 2>/dev/null; do sleep 0.1; done; sleep 0.1
      out=$($C timeout 300 node "$here/tcp-copy.mjs" fetch --host $SRV --port 45001 --dest "$tmp/got.bin" $warm)
      kill $tp; wait $tp 2>/dev/null
      echo "$loss $row $out $(check "$tmp/got.bin")"
    done

    # 3b. nc
    if want nc; then
      $S sh -c "nc -N -l $SRV 45002 < '$tmp/file.bin'" &
      np=$!; sleep 0.3
      t0=$(date +%s.%N)
      $C timeout 300 sh -c "nc -d $SRV 45002 > '$tmp/got.bin'"
      t1=$(date +%s.%N); wait $np 2>/dev/null
      echo "$loss nc $(rate $t0 $t1) $(check "$tmp/got.bin")"
    fi

    # 4. TFTP (atftpd + atftp), blksize 1468, stop-and-wait and windowsize 16; 60 s limit
    if [ "${TFTP:-1}" = 1 ] && want tftp && command -v atftpd >/dev/null; then
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

    # 5. KCP (kcptun, Go): nc serves the file on the server's loopback, kcptun-server relays it
    # over KCP/UDP to kcptun-client, nc fetches it from the client's loopback. No encryption, no
    # compression, fast3 profile; kcptun's default FEC is Reed-Solomon 10 data + 3 parity shards,
    # so kcp-fast3 switches it off (0/0) and kcp-fast3-fec keeps 10/3. $LIMIT s limit.
    if [ "${KCP:-1}" = 1 ] && want kcp && command -v kcptun-server >/dev/null && command -v kcptun-client >/dev/null; then
      port=45010
      for fec in "0 0" "10 3"; do
        set -- $fec; name=kcp-fast3; [ "$1" != 0 ] && name=kcp-fast3-fec
        kopt="--crypt none --nocomp --mode fast3 --datashard $1 --parityshard $2 --quiet"
        $S sh -c "exec nc -N -l 127.0.0.1 $port < '$tmp/file.bin'" &
        np=$!
        $S kcptun-server -l $SRV:$((port + 1)) -t 127.0.0.1:$port $kopt 2> "$tmp/kcps.err" &
        ks=$!
        $C kcptun-client -l 127.0.0.1:$((port + 2)) -r $SRV:$((port + 1)) $kopt 2> "$tmp/kcpc.err" &
        kc=$!
        listening pl-srv t $port; listening pl-srv u $((port + 1)); listening pl-cli t $((port + 2))
        t0=$(date +%s.%N)
        $C timeout $LIMIT sh -c "nc -d 127.0.0.1 $((port + 2)) > '$tmp/got.bin'"
        rc=$?; t1=$(date +%s.%N)
        kill $ks $kc $np 2>/dev/null; wait $ks $kc $np 2>/dev/null
        timed "$loss" $name $rc $t0 $t1 "$tmp/got.bin" $LIMIT
        port=$((port + 3))
      done
    fi

    # 6. QUIC (ngtcp2 example server and client, HTTP/3 GET of file.bin from $tmp), CUBIC and
    # BBR on both ends (the server's controller is the one that matters: it sends the data). $LIMIT s limit.
    # CPU: the client's from GNU time, the server's from /proc/<pid>/stat around the download (10 ms ticks).
    if [ $quic = 1 ]; then
      port=45020
      for cc in cubic bbr; do
        $S "$QUIC_SERVER" -q --cc=$cc -d "$tmp" $SRV $port "$tmp/quic-key.pem" "$tmp/quic-cert.pem" > /dev/null 2>&1 &
        qs=$!
        listening pl-srv u $port
        rm -rf "$tmp/dl"; mkdir "$tmp/dl"
        qs0=$(cpu_ms $qs)
        t0=$(date +%s.%N)
        $C timeout $LIMIT /usr/bin/time -o "$tmp/quic.time" -f '%U %S' "$QUIC_CLIENT" -q --cc=$cc --exit-on-all-streams-close --download="$tmp/dl" \
          $SRV $port "https://$SRV:$port/file.bin" > /dev/null 2>&1
        rc=$?; t1=$(date +%s.%N)
        qs1=$(cpu_ms $qs)   # the server's CPU while it served this one download (before it is stopped)
        kill $qs 2>/dev/null; wait $qs 2>/dev/null
        if [ $rc -eq 124 ]; then
          timed "$loss" quic-$cc $rc $t0 $t1 "$tmp/dl/file.bin" $LIMIT
        else
          # the same two JSON objects as the Parley rows: client (rate, bytes, CPU), then server CPU
          set -- $(tail -1 "$tmp/quic.time") $qs0 $qs1
          echo "$loss quic-$cc $(rate "$t0" "$t1" | sed "s/}\$/,\"bytes\":$((MB * 1048576)),\"cpuUserMs\":$(awk "BEGIN{print $1*1000}"),\"cpuSysMs\":$(awk "BEGIN{print $2*1000}")}/") {\"cpuUserMs\":$(( ${4%,*} - ${3%,*} )),\"cpuSysMs\":$(( ${4#*,} - ${3#*,} ))} $(check "$tmp/dl/file.bin")"
        fi
        port=$((port + 1))
      done
    fi

    # 7. kernel TCP (iperf3), for reference
    if want iperf3; then
      $S iperf3 -s -1 -B $SRV -p 45003 >/dev/null 2>&1 &
      ip=$!; sleep 0.3
      $C iperf3 -c $SRV -p 45003 -n ${MB}M -J > "$tmp/iperf.json" 2>/dev/null
      wait $ip 2>/dev/null
      echo "$loss iperf3 $(node -e "const j=require('$tmp/iperf.json');const e=j.end.sum_received;console.log(JSON.stringify({MBps:+(e.bytes/1e6/e.seconds).toFixed(1)}))")"
    fi
  done
  echo "$loss nft-drops $("$here/netns.sh" counters | tr '\n' ' ')"
done
