#!/bin/bash
# virtio-net checksum offload (runtime-lib/drivers/virtio_net.c): two netblast unikernels under
# QEMU TCG on a bridge in a network namespace this test creates, the server on pc (PCI), the
# client on microvm (virtio-mmio, legacy header); each NIC's csum/guest_csum QEMU properties on
# and off. Every exchange must be byte-exact both ways (netblast checks its streams on both
# ends): where a tap completes a partial checksum (its guest took no GUEST_CSUM) the receiver
# checks it in software, so a wrong pseudo-header sum fails the transfer. Then Linux's TCP as the
# peer (it hands partial checksums to a guest that takes them). Then VIRTIO_RING_F_EVENT_IDX
# (runtime-lib/drivers/virtio.c): negotiated on PCI and virtio-mmio (QEMU's x-query-virtio-status
# says so), off in QEMU (the flags instead), off in the guest (UK_VIRTIO_EVENT_IDX=0), each
# byte-exact both ways. Last, keep-alive GETs from netblast to the website example: the
# response (1460 + 41 bytes) carries the request's ACK and the client's ACK rides on its next
# request, so the website's tap carries 3 TCP frames a request (4 with a pure ACK each).
# usage: offload.sh UKCC SRCDIR [BYTES]     exit 0 pass, 1 fail, 77 skip (not root, no QEMU)
set -u
ukcc=$1 src=$2 bytes=${3:-1048576}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, tap devices)"; exit 77; }
for t in ip python3 qemu-system-x86_64; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
ns=ukof-$$ tmp=$(mktemp -d) pids=()
X() { ip netns exec "$ns" "$@"; }
cleanup() {
	for p in $(ip netns pids "$ns" 2>/dev/null) "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
"$ukcc" -O2 -Wall -Wextra -Werror -o "$tmp/netblast" "$src/../../images/examples/netblast/main.c" \
	-lnet || { echo "FAIL: build netblast"; exit 1; }
ip netns add "$ns" || { echo "SKIP: cannot create a network namespace"; exit 77; }
X ip link set lo up
X ip link add br0 type bridge || { echo "SKIP: no bridge support"; exit 77; }
X ip addr add 10.202.0.1/24 dev br0
X ip link set br0 up
for i in 0 1; do
	X ip tuntap add dev uktap$i mode tap || { echo "SKIP: cannot create a tap device"; exit 77; }
	X ip link set uktap$i master br0
	X ip link set uktap$i up
done

fails=0
check() { # check RC WHAT
	if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi
}
# server CSUM GUEST_CSUM [DEVICE_PROPS [ENV_WORDS [MACHINE]]]: netblast serve on 10.202.0.2 (pc,
# or microvm, uktap0), in the background, its QMP on $tmp/qmp.sock
server() {
	local machine=${5:-pc} dev=virtio-net-pci
	[ "$machine" = pc ] || dev=virtio-net-device
	rm -f "$tmp/qmp.sock"
	ip netns exec "$ns" qemu-system-x86_64 -M "$machine" -accel tcg -m 64 \
		-bios /usr/share/qemu/qboot.rom -kernel "$tmp/netblast" \
		-append "env=UK_IP=10.202.0.2/24 ${4:-}-- serve 9000" \
		-nographic -nodefaults -no-reboot -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
		-netdev tap,id=n0,ifname=uktap0,script=no,downscript=no \
		-device "$dev,netdev=n0,mac=52:54:00:0f:00:02,csum=$1,guest_csum=$2${3:-}" \
		-serial "file:$tmp/server.console" </dev/null >/dev/null 2>&1 &
	spid=$!
	pids+=($spid)
	for _ in $(seq 600); do grep -q "serving on" "$tmp/server.console" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
server_stop() {
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
}
# client CSUM GUEST_CSUM [DEVICE_PROPS [ENV_WORDS]]: netblast send from 10.202.0.3 (microvm,
# uktap1); its console on stdout
client() {
	X timeout 240 qemu-system-x86_64 -M microvm -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/netblast" \
		-append "env=UK_IP=10.202.0.3/24 ${4:-}-- send 10.202.0.2 9000 $bytes" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=uktap1,script=no,downscript=no \
		-device "virtio-net-device,netdev=n0,mac=52:54:00:0f:00:03,csum=$1,guest_csum=$2${3:-}" \
		-serial "file:$tmp/client.console" </dev/null >/dev/null 2>&1
	tr -d '\r' <"$tmp/client.console"
}
# event_idx: what the server's QEMU says its guest negotiated: "on", "off" (x-query-virtio-status)
event_idx() {
	X python3 - "$tmp/qmp.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def ask(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m.get("return")
json.loads(f.readline())
ask("qmp_capabilities")
path = [d["path"] for d in ask("x-query-virtio") if d["name"] == "virtio-net"][0]
feats = ask("x-query-virtio-status", path=path)["guest-features"]
print("on" if any("EVENT_IDX" in t for t in feats["transports"]) else "off")
PY
}
# run SCSUM SGUEST CCSUM CGUEST WHAT [DEVICE_PROPS ENV_WORDS SERVER_MACHINE WANT_EVENT_IDX]
run() {
	local out ei
	rm -f "$tmp/server.console" "$tmp/client.console"
	server "$1" "$2" "${6:-}" "${7:-}" "${8:-pc}" ||
		{ check 1 "$5: the server came up"; server_stop; return; }
	if [ -n "${9:-}" ]; then
		ei=$(event_idx)
		[ "$ei" = "$9" ]
		check $? "$5: the ${8:-pc} server's EVENT_IDX is $ei (want $9)"
	fi
	out=$(client "$3" "$4" "${6:-}" "${7:-}")
	server_stop
	grep -q "bytes each way in" <<<"$out" && ! grep -q FAILED <<<"$out" &&
		tr -d '\r' <"$tmp/server.console" | grep -q "received $bytes bytes crc32=[0-9a-f]*$"
	rc=$?
	check $rc "$5: $bytes bytes each way byte-exact"
	[ $rc = 0 ] || { echo "--- client"; echo "$out"; echo "--- server"; tr -d '\r' <"$tmp/server.console"; }
}
run on on on on "offloads on both NICs (what libvirt gives)"
run off off off off "offloads off on both NICs (as behind slirp)"
run on off on off "client leaves checksums partial, the server's tap completes them"
run on on off on "the server leaves them partial, the client takes them unchecked"

# Linux as the peer: the host sends stream 1 to the guest, which checks it, and checks the
# guest's stream 2. Linux gives a guest that takes partial checksums partial ones.
server on on || check 1 "Linux peer: the server came up"
X timeout 120 python3 - "$bytes" <<'PY'
import socket, struct, sys
n = int(sys.argv[1])
def stream(seed, n):
    out, x = bytearray(), seed
    while len(out) < n:
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        out += struct.pack("<Q", x)
    return bytes(out[:n])
s = socket.create_connection(("10.202.0.2", 9000), timeout=60)
s.sendall(b"%d\n" % n + stream(1, n))
got = bytearray()
while len(got) < n:
    b = s.recv(1 << 20)
    if not b:
        break
    got += b
sys.exit(0 if bytes(got) == stream(2, n) else 1)
PY
py=$?
server_stop
[ $py = 0 ] && tr -d '\r' <"$tmp/server.console" | grep -q "received $bytes bytes crc32=[0-9a-f]*$"
check $? "Linux peer: $bytes bytes each way byte-exact, both ends checked"

run on on on on "EVENT_IDX, server on pc (PCI)" "" "" pc on
run on on on on "EVENT_IDX, server on microvm (virtio-mmio)" "" "" microvm on
run on on on on "EVENT_IDX off in QEMU: the ring flags" ",event_idx=off" "" pc off
run on on on on "EVENT_IDX off in the guests" "" "env=UK_VIRTIO_EVENT_IDX=0 " pc off

# The website on pc (uktap0), netblast http from microvm; frames counted on uktap0.
site=$src/../../images/examples/website
"$ukcc" -O2 --embed "$site/site/:/www" -o "$tmp/website" "$site/main.c" -lnet -lhttp ||
	{ echo "FAIL: build website"; exit 1; }
ip netns exec "$ns" qemu-system-x86_64 -M pc -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
	-kernel "$tmp/website" -append "env=UK_IP=10.202.0.2/24 -- --port=80" \
	-nographic -nodefaults -no-reboot -netdev tap,id=n0,ifname=uktap0,script=no,downscript=no \
	-device virtio-net-pci,netdev=n0,mac=52:54:00:0f:00:02 \
	-serial "file:$tmp/website.console" </dev/null >/dev/null 2>&1 &
spid=$!
pids+=($spid)
for _ in $(seq 600); do X python3 -c 'import socket; socket.create_connection(("10.202.0.2", 80), 0.5)' \
	2>/dev/null && break; sleep 0.1; done
reqs=2000
# the tap's own counters, both ways (ARP included: a handful)
tap_frames() { X cat /sys/class/net/uktap0/statistics/rx_packets /sys/class/net/uktap0/statistics/tx_packets |
	awk '{n += $1} END {print n}'; }
f0=$(tap_frames)
sleep 0.5
out=$(X timeout 240 qemu-system-x86_64 -M microvm -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
	-kernel "$tmp/netblast" -append "env=UK_IP=10.202.0.3/24 -- http 10.202.0.2 80 $reqs 16" \
	-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
	-netdev tap,id=n0,ifname=uktap1,script=no,downscript=no \
	-device virtio-net-device,netdev=n0,mac=52:54:00:0f:00:03 -serial "file:$tmp/http.console" \
	</dev/null >/dev/null 2>&1
	tr -d '\r' <"$tmp/http.console")
frames=$(($(tap_frames) - f0))
server_stop
grep -q "$reqs requests over 16 connections" <<<"$out"
check $? "keep-alive GETs: $reqs answered"
# handshakes, FINs and their ACKs add up to ~10 frames per connection: 160 over 16
awk -v f="${frames:-0}" -v n=$reqs 'BEGIN {exit !(f > 0 && f <= 3 * n + 200)}'
check $? "keep-alive GETs: $frames frames for $reqs requests (at most 3 a request + 200)"
exit $((fails > 0))
