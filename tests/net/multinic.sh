#!/bin/bash
# Several NICs per guest (runtime-lib/net/net_core.c, drivers/virtio.c): one netblast udpecho
# unikernel under QEMU TCG with three virtio-net NICs, each on its own bridge and subnet in a
# network namespace this test creates, given UK_IP/UK_IPk, UK_GW/UK_GWk and UK_MAC/UK_MACk as ukd
# gives them. Machines: microvm (virtio-mmio found in the DSDT; QEMU fills the mmio slots from
# the top, so the guest probes the NICs in the reverse of their -device order), microvm with
# acpi=off (the virtio_mmio.device= words) and the modern mmio transport, and pc with the PCI
# slots pinned in the reverse order (what libvirt or a hot-plug can do). Each address must answer
# ping and a UDP echo through its own bridge only (an address on the wrong NIC answers nothing:
# its ARP asks arrive on another bridge), answered from the NIC's own MAC. On microvm each NIC
# must also have raised its own interrupt line (QEMU's `info irq`: three IOAPIC lines besides
# the timer's and the serial port's, one per virtio-mmio NIC).
# usage: multinic.sh UKCC SRCDIR     exit 0 pass, 1 fail, 77 skip (not root, no QEMU)
set -u
ukcc=$1 src=$2
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_setup ukmn ip python3 qemu-system-x86_64
"$ukcc" -O2 -Wall -Wextra -Werror -o "$tmp/netblast" "$src/../../images/examples/netblast/main.c" \
	-lnet || { echo "FAIL: build netblast"; exit 1; }
netns_create
for k in 0 1 2; do
	netns_add_bridge br$k 10.203.$k.1/24 uktap$k
done

# udp_echo IP: a datagram to IP:9000 from the namespace, its echo back within 20 s
udp_echo() {
	X python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for _ in range(10):
    s.sendto(b"to " + sys.argv[1].encode(), (sys.argv[1], 9000))
    try:
        data, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    sys.exit(0 if data == b"echo: to " + sys.argv[1].encode() and peer[0] == sys.argv[1] else 1)
sys.exit(1)
PY
}
mac() { printf '52:54:00:0d:00:%02x' $((0x10 + $1)); }
# irq_lines MONITOR: how many IOAPIC lines other than 0 (timer) and 4 (COM1) took interrupts
irq_lines() {
	python3 - "$1" <<'PY'
import re, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
time.sleep(0.3)
s.sendall(b"info irq\n")
out, end = b"", time.time() + 5
while time.time() < end and out.count(b"(qemu)") < 2:
    try:
        out += s.recv(65536)
    except socket.timeout:
        break
text = out.decode(errors="replace").split("(qemu)")[1]  # the answer, between two prompts
lines = set()
for part in text.split("IRQ statistics for ")[1:]:  # one IOAPIC, or two with ACPI
    if part.startswith("ioapic"):
        lines |= {int(m[0]) for m in re.findall(r"^\s*(\d+): (\d+)", part, re.M)
                  if int(m[0]) not in (0, 4) and int(m[1]) > 0}
print(len(lines))
PY
}
# run WHAT MACHINE DEVICE ORDER [SLOTS [MACS]]: NIC k (UK_IPk = 10.203.k.2, tap uktapk, MAC
# mac k) in -device order ORDER (e.g. "2 1 0"); SLOTS=rev puts virtio-net-pci NIC k in PCI slot
# 10 - k (probed in the reverse of ukd's order), fwd in 8 + k; MACS=no leaves UK_MAC* off
run() {
	local what=$1 machine=$2 device=$3 order=$4 slots=${5:-rev} macs=${6:-yes} args=() env="" k
	for k in $order; do
		local addr=""
		[ "$device" = virtio-net-pci ] && addr=",addr=$([ "$slots" = rev ] && echo $((10 - k)) || echo $((8 + k)))"
		args+=(-netdev "tap,id=n$k,ifname=uktap$k,script=no,downscript=no"
			-device "$device,netdev=n$k,mac=$(mac $k)$addr")
	done
	for k in 0 1 2; do
		local s=$k
		[ $k = 0 ] && s=""
		env+="env=UK_IP$s=10.203.$k.2/24 env=UK_GW$s=10.203.$k.1 "
		[ "$macs" = yes ] && env+="env=UK_MAC$s=$(mac $k) "
	done
	rm -f "$tmp/console"
	# not through X(): $! must be QEMU's own pid (ip netns exec execs it)
	ip netns exec "$ns" qemu-system-x86_64 -M $machine -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/netblast" -append "${env}-- udpecho 9000" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		"${args[@]}" -monitor "unix:$tmp/mon,server,nowait" -serial "file:$tmp/console" \
		</dev/null >/dev/null 2>&1 &
	local qpid=$!
	pids+=($qpid)
	for _ in $(seq 600); do grep -q "echoing UDP on" "$tmp/console" 2>/dev/null && break; sleep 0.1; done
	local rc=0 got=""
	kill -0 $qpid 2>/dev/null || { rc=1; got+=" QEMU ended"; }
	for k in 0 1 2; do
		udp_echo 10.203.$k.2 ||
			{ rc=1; got+=" 10.203.$k.2 silent"; }
	done
	# each tap's neighbour entry: the MAC that answered 10.203.k.2 is NIC k's
	for k in 0 1 2; do
		X ip neigh show 10.203.$k.2 dev br$k | grep -qi "lladdr $(mac $k)" ||
			{ rc=1; got+=" 10.203.$k.2 answered by $(X ip neigh show 10.203.$k.2 dev br$k)"; }
	done
	if [ "${machine%%,*}" = microvm ]; then
		local lines
		lines=$(irq_lines "$tmp/mon")
		[ "$lines" = 3 ] || { rc=1; got+=" interrupt lines used: ${lines:-none} (want 3)"; }
	fi
	kill $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	check $rc "$what:${got:- each address answers on its own NIC}"
	[ $rc = 0 ] || { echo "--- console"; tr -d '\r' <"$tmp/console" | head -40; }
	for k in 0 1 2; do X ip neigh flush dev br$k; done
}
run "microvm (DSDT, legacy mmio), -device order 0 1 2" microvm virtio-net-device "0 1 2"
run "microvm (DSDT, legacy mmio), -device order 1 2 0" microvm virtio-net-device "1 2 0"
run "microvm acpi=off (command-line mmio words), modern mmio" \
	"microvm,acpi=off -global virtio-mmio.force-legacy=false" virtio-net-device "0 1 2"
run "pc, PCI slots in the reverse order of ukd's list" pc virtio-net-pci "0 1 2" rev
run "pc, PCI slots in ukd's order, no UK_MAC (probe order)" pc virtio-net-pci "2 1 0" fwd no
exit $((fails > 0))
