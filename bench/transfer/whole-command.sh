#!/bin/sh
# Whole commands, exec to exit with the file verified, side by side in the netns
# testbed (netns.sh): `parley download` (the real client binary against one
# long-lived parley-server, chat handshake and offer included) and ngtcp2's
# QUIC client/server with BBR (HTTP/3 GET, encrypted), for each size and loss.
# Then one traced `parley download` per size and loss (strace -ttt, a few
# system calls only) split into phases: start-up, chat connect + join, offer,
# first DATA, last DATA, verify, exit.
#   (root, from the repository root, after the build)
#   [CLIENTS="label=path/to/parley.js …"] bench/transfer/whole-command.sh [sizes MB="1 100"] [losses="0 1 5"] [runs=3]
# CLIENTS (default: parley=packages/tui-client/dist/parley.js) adds rows for other client builds,
# e.g. an older commit's bundle, run interleaved against the same server.
# Prints one line per measurement: <loss%> <MB> <row> <JSON>.
set -u
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
SIZES=${1:-"1 100"}; LOSSES=${2:-"0 1 5"}; RUNS=${3:-3}; LIMIT=${LIMIT:-120}
S="ip netns exec pl-srv"; C="ip netns exec pl-cli"; SRV=10.77.0.1
CLIENTS=${CLIENTS:-"parley=$root/packages/tui-client/dist/parley.js"}; SERVER="$root/packages/server/dist/bin.js"
tmp=$(mktemp -d /tmp/parley-whole.XXXXXX)
cleanup() { [ -n "${sp:-}" ] && kill "$sp" 2>/dev/null; [ -n "${qs:-}" ] && kill "$qs" 2>/dev/null; "$here/netns.sh" down; rm -rf "$tmp"; }
trap cleanup EXIT
"$here/netns.sh" down; "$here/netns.sh" up
mkdir -p "$tmp/files" "$tmp/dl" "$tmp/qdl"
for mb in $SIZES; do head -c $((mb * 1024 * 1024)) /dev/urandom > "$tmp/files/f$mb.bin"; done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=pl-srv \
  -keyout "$tmp/quic-key.pem" -out "$tmp/quic-cert.pem" >/dev/null 2>&1
listening() { i=0; while [ $i -lt 50 ] && ! ip netns exec "$1" ss -Hln"$2" "sport = :$3" | grep -q .; do sleep 0.1; i=$((i + 1)); done; }
check() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$(sha256sum "$2" | cut -d' ' -f1)" ] && echo ok || echo CORRUPT; rm -f "$1"; }
ms() { awk "BEGIN { printf \"%.0f\", ($2 - $1) * 1000 }"; }
# One server for every row, as a deployed one; history and accounts in a data folder of its own.
$S node "$SERVER" --host $SRV --port 55000 --udp-port 57000 --files-dir "$tmp/files" --data-dir "$tmp/data" \
  --log-level warn --rate 1000 --burst 1000 > "$tmp/server.log" 2>&1 &
sp=$!
$S gtlsserver -q --cc=bbr -d "$tmp/files" $SRV 45020 "$tmp/quic-key.pem" "$tmp/quic-cert.pem" > /dev/null 2>&1 &
qs=$!
listening pl-srv t 55000; listening pl-srv u 45020
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg); $(node --version); commit $(git -C "$root" rev-parse --short HEAD)"

for loss in $LOSSES; do
  "$here/netns.sh" loss "$loss"
  for mb in $SIZES; do
    for run in $(seq "$RUNS"); do
      # parley download (each client build): exec → exit, then the file checked
      for client in $CLIENTS; do
        t0=$(date +%s.%N)
        $C timeout $LIMIT node "${client#*=}" download "f$mb.bin" --host $SRV --download-dir "$tmp/dl" > /dev/null 2> "$tmp/parley.err"
        rc=$?; t1=$(date +%s.%N)
        echo "$loss $mb ${client%%=*}-download {\"ms\":$(ms "$t0" "$t1"),\"rc\":$rc} $(check "$tmp/dl/f$mb.bin" "$tmp/files/f$mb.bin")"
      done
      # QUIC (ngtcp2, BBR): exec → exit, then the file checked
      t0=$(date +%s.%N)
      $C timeout $LIMIT gtlsclient -q --cc=bbr --exit-on-all-streams-close --download="$tmp/qdl" $SRV 45020 "https://$SRV:45020/f$mb.bin" > /dev/null 2>&1
      rc=$?; t1=$(date +%s.%N)
      echo "$loss $mb quic-bbr {\"ms\":$(ms "$t0" "$t1"),\"rc\":$rc} $(check "$tmp/qdl/f$mb.bin" "$tmp/files/f$mb.bin")"
    done
    # One traced download per client build: the phases from system-call timestamps.
    for client in $CLIENTS; do
      $C strace -f -ttt --seccomp-bpf -e trace=execve,connect,write,sendmsg,sendmmsg,rename,exit_group \
        -o "$tmp/trace" timeout $LIMIT node "${client#*=}" download "f$mb.bin" --host $SRV --download-dir "$tmp/dl" > /dev/null 2>&1
      echo "$loss $mb ${client%%=*}-phases $(node "$here/phases.mjs" "$tmp/trace") $(check "$tmp/dl/f$mb.bin" "$tmp/files/f$mb.bin")"
    done
  done
  echo "$loss - nft-drops $("$here/netns.sh" counters | tr '\n' ' ')"
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
