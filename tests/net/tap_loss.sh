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
	[ -z "$apid" ] || { kill "$apid" 2>/dev/null; wait "$apid" 2>/dev/null; }
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
"$ukcc" --target=hosted -O2 -Wall -Wextra -Werror -o "$tmp/tap_app" "$src/tap_app.c" -lnet || { echo "FAIL: build"; exit 1; }
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
	netem=1
else
	netem=0
	# No netem (some kernels leave it out): nftables drops 5% each way, and a slow htb class
	# that a quarter of the frames go through reorders them (the others overtake it).
	command -v nft >/dev/null || { echo "SKIP: no netem in this kernel and no nft"; exit 77; }
	for d in $tap ifb0; do
		X tc qdisc add dev $d root handle 1: htb default 10 r2q 1000 &&
			X tc class add dev $d parent 1: classid 1:10 htb rate 1gbit &&
			X tc class add dev $d parent 1: classid 1:20 htb rate 10mbit ||
			{ echo "SKIP: no htb in this kernel"; exit 77; }
	done
	# Frames from the app: nftables' ingress hook does not see frames the tc ingress hook
	# redirected to ifb0, and u32 has no random match, so ifb0 picks them by their IP header
	# checksum (it changes with every IP ID, retransmissions included): low bits 11111 or
	# 011110 go to a class whose queue holds nothing (lost: 3/64 = 4.7%), low bits 00 to the
	# slow class (25%). (u32 reads numbers as hex.)
	X tc class add dev ifb0 parent 1: classid 1:30 htb rate 1gbit &&
		X tc qdisc add dev ifb0 parent 1:30 handle 30: pfifo limit 0 &&
		X tc filter add dev ifb0 parent 1: prio 1 protocol ip u32 match u16 0x1f 0x1f at 10 flowid 1:30 &&
		X tc filter add dev ifb0 parent 1: prio 2 protocol ip u32 match u16 0x1e 0x3f at 10 flowid 1:30 &&
		X tc filter add dev ifb0 parent 1: prio 3 protocol ip u32 match u16 0 3 at 10 flowid 1:20 &&
		X nft -f - <<-NFT || { echo "SKIP: nftables cannot hook $tap"; exit 77; }
		table netdev ukloss {
			chain toapp { type filter hook egress device "$tap" priority 0;
				numgen random mod 1000 < 50 counter drop
				numgen random mod 100 < 25 meta priority set 0x00010020; }
		}
	NFT
	echo "impairment: no netem; toward the app nftables drops 5% and sends 25% through a slow htb class (reordered); from the app 4.7% dropped and 25% through the slow class, chosen by IP checksum"
fi
# A bad UK_TAP is a clear error, and the app runs without a NIC (exits 1 here).
out=$(X env UK_TAP=name-longer-than-15 UK_IP=10.200.0.2/24 timeout 10 "$tmp/tap_app" 2>&1)
bad=$?
if [ $bad != 1 ] || ! echo "$out" | grep -q "at most 15 characters"; then
	echo "FAIL: UK_TAP with a 19-character name: exit $bad, output: $out"
	exit 1
fi
echo "ok   a bad UK_TAP name is refused with a message"
# ip netns exec, env and timeout exec one another: (apid) is timeout, the app its child.
ip netns exec "$ns" env UK_TAP=$tap UK_IP=10.200.0.2/24 timeout 150 "$tmp/tap_app" "$bytes" \
	>"$tmp/app.log" 2>&1 &
apid=$!
X timeout 120 python3 "$src/tap_client.py" 10.200.0.2 "$bytes" 30
rc=$?
[ $rc = 124 ] && echo "FAIL: not done within 120 s"
# The impairment really acted, in both directions (else this test proves nothing).
if [ $netem = 1 ]; then
	drops=$(for d in $tap ifb0; do X tc -s qdisc show dev $d | grep -o 'dropped [0-9]*' | head -1 | cut -d' ' -f2; done)
	reord=$(echo $drops) # netem's reordering has no counter; its drops show it acted
else
	drops="$(X nft list table netdev ukloss | grep -o 'packets [0-9]*' | cut -d' ' -f2) $(X tc -s qdisc show dev ifb0 | grep -A1 'pfifo 30:' | grep -o 'dropped [0-9]*' | cut -d' ' -f2)"
	reord=$(for d in $tap ifb0; do X tc -s class show dev $d classid 1:20 | grep -o 'Sent [0-9]* bytes [0-9]*' | cut -d' ' -f4; done)
fi
echo "frames dropped (toward the app, from the app): "$drops"; frames through the slow class: "$reord
for v in $drops $reord; do
	[ "$v" -gt 0 ] 2>/dev/null || { echo "FAIL: the impairment did not act in both directions"; rc=1; }
done
# Idle, the app sleeps in ppoll on the tap (hosted.c): a handful of wake-ups in 2 s, not one
# per millisecond.
app=$(pgrep -P "$apid" | head -1)
if [ -n "$app" ] && [ -r /proc/$app/status ]; then
	w0=$(awk '/^voluntary_ctxt_switches/ {print $2}' /proc/$app/status)
	sleep 2
	w1=$(awk '/^voluntary_ctxt_switches/ {print $2}' /proc/$app/status)
	echo "idle app: $((w1 - w0)) wake-ups in 2 s"
	[ $((w1 - w0)) -lt 100 ] || { echo "FAIL: the idle app wakes too often"; rc=1; }
else
	echo "FAIL: the app is gone"
	rc=1
fi
sed 's/^/  /' "$tmp/app.log"
[ $rc = 0 ] || X tc -s qdisc show
[ $rc = 0 ] && echo PASS
exit $((rc != 0))
