#!/bin/sh
# Two network namespaces joined by a veth pair, offloads off, optional loss on
# both ingress hooks (nftables numgen). Needs root, iproute2, ethtool, nftables.
#   netns.sh up            create pl-srv (10.77.0.1) and pl-cli (10.77.0.2)
#   netns.sh loss <pct>    random drop of <pct> % (e.g. 0, 1, 5, 0.5) on both sides' ingress
#   netns.sh rate <mbit>   tbf bottleneck on the server's egress (0 removes it)
#   netns.sh delay <ms>    one-way delay on both sides (RTT = 2 × ms) via nfq-delay.c and NFQUEUE; 0 removes it
#   netns.sh counters      print the drop counters
#   netns.sh down          delete everything
set -e
S=pl-srv C=pl-cli
case "$1" in
  up)
    ip netns add $S; ip netns add $C
    ip link add pl-vs type veth peer name pl-vc
    ip link set pl-vs netns $S; ip link set pl-vc netns $C
    ip -n $S addr add 10.77.0.1/24 dev pl-vs; ip -n $C addr add 10.77.0.2/24 dev pl-vc
    ip -n $S link set pl-vs up; ip -n $C link set pl-vc up
    ip -n $S link set lo up; ip -n $C link set lo up
    ip netns exec $S ethtool -K pl-vs tso off gso off gro off tx-udp-segmentation off tx-gso-list off >/dev/null 2>&1 || true
    ip netns exec $C ethtool -K pl-vc tso off gso off gro off tx-udp-segmentation off tx-gso-list off >/dev/null 2>&1 || true
    for ns in $S $C; do
      ip netns exec $ns sysctl -qw net.core.rmem_max=4194304 net.core.wmem_max=4194304 2>/dev/null || true
    done
    ;;
  loss)
    pct=$2
    thr=$(awk "BEGIN { printf \"%d\", $pct * 100 }")
    for pair in "$S pl-vs" "$C pl-vc"; do
      set -- $pair
      ip netns exec $1 nft delete table netdev loss 2>/dev/null || true
      if [ "$thr" -gt 0 ]; then
        ip netns exec $1 nft add table netdev loss
        ip netns exec $1 nft add chain netdev loss in "{ type filter hook ingress device $2 priority 0; }"
        ip netns exec $1 nft add rule netdev loss in numgen random mod 10000 '<' "$thr" counter drop
      fi
    done
    ;;
  rate)
    # Bottleneck on the server's egress: tbf at <mbit> (0 = remove).
    ip netns exec $S tc qdisc del dev pl-vs root 2>/dev/null || true
    if [ "$2" != 0 ]; then
      ip netns exec $S tc qdisc add dev pl-vs root tbf rate "${2}mbit" burst 32kbit latency 20ms
    fi
    ;;
  delay)
    # One-way delay <ms> on both ingress paths (RTT = 2 × ms) with nfq-delay (NFQUEUE). 0 removes it.
    ms=$2; bin=${NFQ_DELAY:-/tmp/nfq-delay}
    [ -x "$bin" ] || cc -O2 -o "$bin" "$(dirname "$0")/nfq-delay.c" -lnetfilter_queue -lnfnetlink
    for pair in "$S pl-vs" "$C pl-vc"; do
      set -- $pair
      ip netns exec $1 iptables-legacy -t raw -F PREROUTING
      [ -f "/tmp/pl-nfq-$1.pid" ] && kill "$(cat "/tmp/pl-nfq-$1.pid")" 2>/dev/null; rm -f "/tmp/pl-nfq-$1.pid"
      if [ "$ms" != 0 ]; then
        ip netns exec $1 "$bin" "$ms" 0 2>/dev/null &
        echo $! > "/tmp/pl-nfq-$1.pid"
        sleep 0.2
        ip netns exec $1 iptables-legacy -t raw -A PREROUTING -i $2 -j NFQUEUE --queue-num 0 --queue-bypass
      fi
    done
    ;;
  counters)
    for ns in $S $C; do
      printf '%s ' $ns; ip netns exec $ns nft list table netdev loss 2>/dev/null | grep -o 'packets [0-9]*' || echo 'no loss rule'
    done
    ;;
  down)
    for ns in $S $C; do [ -f "/tmp/pl-nfq-$ns.pid" ] && kill "$(cat "/tmp/pl-nfq-$ns.pid")" 2>/dev/null; rm -f "/tmp/pl-nfq-$ns.pid"; done
    ip netns del $S 2>/dev/null || true; ip netns del $C 2>/dev/null || true
    ;;
  *) echo "usage: $0 up|loss <pct>|counters|down" >&2; exit 2 ;;
esac
