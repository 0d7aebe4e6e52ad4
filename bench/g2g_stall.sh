#!/bin/bash
# Guest-to-guest keep-alive GET stalls: the website (pc, uktap0) and netblast http (microvm,
# uktap1) on a bridge in a network namespace of its own (tests/net/netns_lib.sh); ROUNDS rounds
# of REQS GETs over CONNS connections, each round's time, the client stack's counters (rx/tx
# frames, rx_bad, retransmits) and both taps' packet/drop counters; a round whose GETs took over
# STALL_MS (netblast's own clock, first connect to last answer) is a stall. Each round boots the
# client afresh on the same address, as a redeployed instance would. LOAD=N adds N busy loops
# beside the guests; SNIFF=FILE logs every frame on both taps (bench/g2g_sniff.py).
# usage: g2g_stall.sh [BUILD_DIR]   env ROUNDS=30 REQS=3000 CONNS=16 STALL_MS=1000 LOAD=0 SNIFF=
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
ukcc=$build/bin/ukcc
rounds=${ROUNDS:-30} reqs=${REQS:-3000} conns=${CONNS:-16} stall_ms=${STALL_MS:-1000}
# shellcheck source=../tests/net/netns_lib.sh
. "$here/../tests/net/netns_lib.sh"
netns_setup ukst ip qemu-system-x86_64
"$ukcc" -O2 -DNETBLAST_STATS -o "$tmp/netblast" "$here/../images/examples/netblast/main.c" -lnet ||
	exit 1
site=$here/../images/examples/website
"$ukcc" -O2 --embed "$site/site/:/www" -o "$tmp/website" "$site/main.c" -lnet -lhttp || exit 1
netns_bridge 10.203.0.1/24 2
for ((i = 0; i < ${LOAD:-0}; i++)); do
	(while :; do :; done) &
	pids+=($!)
done
X qemu-system-x86_64 -M pc -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
	-kernel "$tmp/website" -append "env=UK_IP=10.203.0.2/24 -- --port=80" \
	-nographic -nodefaults -no-reboot -netdev tap,id=n0,ifname=uktap0,script=no,downscript=no \
	-device virtio-net-pci,netdev=n0,mac=52:54:00:0f:00:02 \
	-serial "file:$tmp/website.console" </dev/null >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 600); do
	X python3 -c 'import socket; socket.create_connection(("10.203.0.2", 80), 0.5)' 2>/dev/null &&
		break
	sleep 0.1
done
[ -n "${SNIFF:-}" ] && { X python3 "$here/g2g_sniff.py" "$SNIFF" & pids+=($!); }
taps() { # drops on both taps: "tap0 rx/tx/rxdrop/txdrop tap1 ..."
	local t
	for t in uktap0 uktap1; do
		printf '%s %s ' $t "$(X cat /sys/class/net/$t/statistics/{rx_packets,tx_packets,rx_dropped,tx_dropped} |
			paste -sd/)"
	done
}
stalls=0 retx=0
for ((r = 1; r <= rounds; r++)); do
	t0=$(date +%s%N)
	X timeout 300 qemu-system-x86_64 -M microvm -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/netblast" -append "env=UK_IP=10.203.0.3/24 -- http 10.203.0.2 80 $reqs $conns" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=uktap1,script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac=52:54:00:0f:00:03 -serial "file:$tmp/http.console" \
		</dev/null >/dev/null 2>&1
	ms=$((($(date +%s%N) - t0) / 1000000))
	out=$(tr -d '\r' <"$tmp/http.console")
	rq=$(sed -n 's/.* \([0-9]*\) req\/s$/\1/p' <<<"$out")
	gms=$(sed -n 's/.* in \([0-9]*\) ms: .*req\/s$/\1/p' <<<"$out")
	st=$(sed -n 's/^netblast: stats //p' <<<"$out")
	rx=$(awk '{ print $8 }' <<<"$st")
	retx=$((retx + ${rx:-0}))
	mark=
	[ "${gms:-0}" -gt "$stall_ms" ] && { mark=STALL; stalls=$((stalls + 1)); }
	[ -n "$rq" ] || { mark="FAILED $mark"; grep netblast: <<<"$out" | tail -1; }
	echo "round $r ${gms:-?} ms (boot to exit $ms ms) ${rq:-?} req/s $mark | client $st | $(taps)| from $((t0 / 1000000))"
done
echo "stalled rounds: $stalls of $rounds (over $stall_ms ms); client retransmissions: $retx"
