#!/bin/bash
# Loss and reordering: the hosted tap_app on a tap device inside a network namespace this test
# creates, 5% loss and reordering both ways; 10 MB each way must arrive byte-exact (SHA-256).
# usage: tap_loss.sh UKCC SRCDIR [BYTES]     exit 0 pass, 1 fail, 77 skip (not root, no ip/tc/nft)
set -u
ukcc=$1 src=$2 bytes=${3:-10485760}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, tap device)"; exit 77; }
for t in ip tc python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
ns=ukt-$$ tap=uktap0 tmp=$(mktemp -d) apid=
X() { ip netns exec "$ns" "$@"; }
cleanup() {
	[ -z "$apid" ] || kill "$apid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
"$ukcc" --target=hosted -O2 -o "$tmp/tap_app" "$src/tap_app.c" -lnet || { echo "FAIL: build"; exit 1; }
ip netns add "$ns" || { echo "SKIP: cannot create a network namespace"; exit 77; }
X ip link set lo up
X ip tuntap add dev $tap mode tap || { echo "SKIP: cannot create a tap device"; exit 77; }
X ip addr add 10.200.0.1/24 dev $tap
X ip link set $tap up
# Frames the app sends enter the namespace through the tap's ingress: redirect them through an
# ifb device so a qdisc can act on them too (egress qdiscs only see frames toward the app).
X ip link add ifb0 type ifb && X ip link set ifb0 up &&
	X tc qdisc add dev $tap ingress &&
	X tc filter add dev $tap parent ffff: protocol all u32 match u32 0 0 \
		action mirred egress redirect dev ifb0 ||
	{ echo "SKIP: no ifb/u32/mirred in this kernel"; exit 77; }
if X tc qdisc add dev $tap root netem loss 5% reorder 25% 50% delay 5ms 2>/dev/null &&
	X tc qdisc add dev ifb0 root netem loss 5% reorder 25% 50% delay 5ms; then
	echo "impairment: netem loss 5% reorder 25% 50% delay 5ms, both directions"
else
	# No netem (some kernels leave it out): nftables drops 5% each way, and a slow htb class
	# that a quarter of the frames go through reorders them (the others overtake it).
	command -v nft >/dev/null || { echo "SKIP: no netem in this kernel and no nft"; exit 77; }
	for d in $tap ifb0; do
		X tc qdisc add dev $d root handle 1: htb default 10 r2q 1000 &&
			X tc class add dev $d parent 1: classid 1:10 htb rate 1gbit &&
			X tc class add dev $d parent 1: classid 1:20 htb rate 10mbit ||
			{ echo "SKIP: no htb in this kernel"; exit 77; }
	done
	# ifb0: a quarter of the app's packets by their IP checksum's low bits (u32 has no random).
	X tc filter add dev ifb0 parent 1: protocol ip u32 match u16 0 3 at 10 flowid 1:20 &&
		X nft -f - <<-NFT || { echo "SKIP: nftables cannot hook $tap"; exit 77; }
		table netdev ukloss {
			chain toapp { type filter hook egress device "$tap" priority 0;
				numgen random mod 1000 < 50 drop
				numgen random mod 100 < 25 meta priority set 0x00010020; }
			chain fromapp { type filter hook ingress device "$tap" priority 0;
				numgen random mod 1000 < 50 drop; }
		}
	NFT
	echo "impairment: no netem; nftables loss 5% both ways, 25% reordered through a slow htb class"
fi
X env UK_TAP=$tap UK_IP=10.200.0.2/24 timeout 150 "$tmp/tap_app" "$bytes" >"$tmp/app.log" 2>&1 &
apid=$!
X timeout 120 python3 "$src/tap_client.py" 10.200.0.2 "$bytes" 30
rc=$?
[ $rc = 124 ] && echo "FAIL: not done within 120 s"
if [ $rc != 0 ]; then
	echo "--- app ---"
	cat "$tmp/app.log"
	X tc -s qdisc show
fi
[ $rc = 0 ] && echo PASS
exit $((rc != 0))
