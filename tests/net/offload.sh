#!/bin/bash
# virtio-net checksum offload and TSO (runtime-lib/drivers/virtio_net.c): two netblast
# unikernels under QEMU TCG on a bridge in a network namespace this test creates, the server on
# pc (PCI), the client on microvm (virtio-mmio, legacy header); each NIC's csum/guest_csum and
# host_tso4/guest_tso4/mrg_rxbuf QEMU properties on and off. Every exchange must be byte-exact
# both ways (netblast checks its streams on both ends): where a tap completes a partial checksum
# (its guest took no GUEST_CSUM) the receiver checks it in software, so a wrong pseudo-header
# sum fails the transfer; where a guest sends 64 KiB TCP frames (HOST_TSO4) the kernel cuts them
# for a peer that takes no GUEST_TSO4. A packet socket on each tap counts the frames longer than
# 1514 bytes, so a run that should carry TSO frames fails without them (and one that should not,
# with them). Then Linux's TCP as the peer (it hands partial checksums and 64 KiB frames to a
# guest that takes them). Then VIRTIO_RING_F_EVENT_IDX (runtime-lib/drivers/virtio.c):
# negotiated on PCI and virtio-mmio (QEMU's x-query-virtio-status says so), off in QEMU (the
# flags instead), off in the guest (UK_VIRTIO_EVENT_IDX=0), each byte-exact both ways. Last,
# keep-alive GETs from netblast to the website example: the response (1460 + 41 bytes) carries
# the request's ACK and the client's ACK rides on its next request, so the website's tap carries
# at most 3 TCP frames a request (4 with a pure ACK each).
# usage: offload.sh UKCC SRCDIR [BYTES]     exit 0 pass, 1 fail, 77 skip (not root, no QEMU)
set -u
ukcc=$1 src=$2 bytes=${3:-1048576}
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_setup ukof ip python3 qemu-system-x86_64
"$ukcc" -O2 -Wall -Wextra -Werror -o "$tmp/netblast" "$src/../../images/examples/netblast/main.c" \
	-lnet || { echo "FAIL: build netblast"; exit 1; }
netns_bridge 10.202.0.1/24 2

# nic CSUM GUEST_CSUM [HOST_TSO4 GUEST_TSO4 MRG_RXBUF]: a NIC's offload properties (TSO off
# unless named: the checksum-only runs stay what they were)
nic() {
	echo "csum=$1,guest_csum=$2,host_tso4=${3:-off},guest_tso4=${4:-off},mrg_rxbuf=${5:-on}"
}
# big frames on the taps (frames over 1514 bytes: a GSO skb a NIC did not cut), per direction:
# "cli>" the client's tap received from its guest, ">srv" the server's tap handed its guest, and
# the reverse ones; sniff_start, then sniff_stop prints "cli> N >srv N srv> N >cli N"
sniff_start() {
	rm -f "$tmp/sniff"
	ip netns exec "$ns" python3 - "$tmp/sniff" <<'PY' &
import select, signal, socket, sys
out = sys.argv[1]
n = {"cli>": 0, ">srv": 0, "srv>": 0, ">cli": 0}
socks = {}
for tap, who in (("uktap0", "srv"), ("uktap1", "cli")):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    s.bind((tap, 0))
    socks[s] = who
def stop(*_):
    with open(out, "w") as f:
        f.write(" ".join("%s %d" % kv for kv in n.items()) + "\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(out + ".up", "w").close()
while True:
    for s in select.select(list(socks), [], [])[0]:
        b, a = s.recvfrom(1 << 17)
        if len(b) > 1514:
            # pkttype 4 (OUTGOING): the kernel wrote it to the tap, for the guest
            who = socks[s]
            n[(">" + who) if a[2] == 4 else (who + ">")] += 1
PY
	sniffer=$!
	pids+=($sniffer)
	for _ in $(seq 100); do [ -e "$tmp/sniff.up" ] && break; sleep 0.1; done
}
sniff_stop() {
	kill "$sniffer" 2>/dev/null
	wait "$sniffer" 2>/dev/null
	rm -f "$tmp/sniff.up"
	cat "$tmp/sniff" 2>/dev/null
}
# big N WHAT: did direction N (from sniff_stop's line) carry big frames or not?
big() { awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }' <<<"$sniffed"; }
expect_big() { # expect_big DIR yes|no WHAT
	local c
	c=$(big "$1")
	if [ "$2" = yes ]; then [ "${c:-0}" -gt 0 ]; else [ "${c:-1}" = 0 ]; fi
	check $? "$3: frames over 1514 bytes $1: ${c:-none} (want $2)"
}

# server NICPROPS [ENV_WORDS [MACHINE]]: netblast serve on 10.202.0.2 (pc, or microvm, uktap0),
# in the background, its QMP on $tmp/qmp.sock
server() {
	local machine=${3:-pc} dev=virtio-net-pci
	[ "$machine" = pc ] || dev=virtio-net-device
	rm -f "$tmp/qmp.sock"
	ip netns exec "$ns" qemu-system-x86_64 -M "$machine" -accel tcg -m 64 \
		-bios /usr/share/qemu/qboot.rom -kernel "$tmp/netblast" \
		-append "env=UK_IP=10.202.0.2/24 ${2:-}-- serve 9000" \
		-nographic -nodefaults -no-reboot -qmp "unix:$tmp/qmp.sock,server=on,wait=off" \
		-netdev tap,id=n0,ifname=uktap0,script=no,downscript=no \
		-device "$dev,netdev=n0,mac=52:54:00:0f:00:02,$1" \
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
# client NICPROPS [ENV_WORDS]: netblast send from 10.202.0.3 (microvm, uktap1); its console on
# stdout
client() {
	X timeout 240 qemu-system-x86_64 -M microvm -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/netblast" \
		-append "env=UK_IP=10.202.0.3/24 ${2:-}-- send 10.202.0.2 9000 $bytes" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=uktap1,script=no,downscript=no \
		-device "virtio-net-device,netdev=n0,mac=52:54:00:0f:00:03,$1" \
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
# run SERVERNIC CLIENTNIC WHAT [ENV_WORDS [SERVER_MACHINE [WANT_EVENT_IDX]]]
run() {
	local out ei
	rm -f "$tmp/server.console" "$tmp/client.console"
	server "$1" "${4:-}" "${5:-pc}" || { check 1 "$3: the server came up"; server_stop; return; }
	if [ -n "${6:-}" ]; then
		ei=$(event_idx)
		[ "$ei" = "$6" ]
		check $? "$3: the ${5:-pc} server's EVENT_IDX is $ei (want $6)"
	fi
	sniff_start
	out=$(client "$2" "${4:-}")
	server_stop
	sniffed=$(sniff_stop)
	grep -q "bytes each way in" <<<"$out" && ! grep -q FAILED <<<"$out" &&
		tr -d '\r' <"$tmp/server.console" | grep -q "received $bytes bytes crc32=[0-9a-f]*$"
	rc=$?
	check $rc "$3: $bytes bytes each way byte-exact"
	[ $rc = 0 ] || { echo "--- client"; echo "$out"; echo "--- server"; tr -d '\r' <"$tmp/server.console"; }
}
run "$(nic on on)" "$(nic on on)" "checksum offload on both NICs"
expect_big cli\> no "checksum offload only"
run "$(nic off off)" "$(nic off off)" "offloads off on both NICs (as behind slirp)"
run "$(nic on off)" "$(nic on off)" "client leaves checksums partial, the server's tap completes them"
run "$(nic on on)" "$(nic off on)" "the server leaves them partial, the client takes them unchecked"
# TSO: 64 KiB frames out of each guest; passed on whole to a NIC with GUEST_TSO4 (MRG_RXBUF).
all="$(nic on on on on on)"
run "$all" "$all" "TSO both ways (what libvirt gives)"
expect_big cli\> yes "TSO both ways"
expect_big \>srv yes "TSO both ways"
expect_big srv\> yes "TSO both ways"
expect_big \>cli yes "TSO both ways"
run "$(nic on on on off)" "$(nic on on on off)" "TSO out, each peer's tap cuts (no GUEST_TSO4)"
expect_big cli\> yes "TSO out, cut for the peer"
expect_big \>srv no "TSO out, cut for the peer"
run "$all" "$(nic on on off on off)" "server TSO both ways; client without host_tso4 and mrg_rxbuf"
expect_big cli\> no "client without host_tso4"
expect_big \>cli no "client without mrg_rxbuf takes no GUEST_TSO4"
expect_big \>srv no "nothing big from the client"

# Linux as the peer: the host sends stream 1 to the guest, which checks it, and checks the
# guest's stream 2. Linux gives a guest that takes partial checksums partial ones, and one that
# takes GUEST_TSO4 64 KiB frames.
server "$all" || check 1 "Linux peer: the server came up"
sniff_start
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
sniffed=$(sniff_stop)
[ $py = 0 ] && tr -d '\r' <"$tmp/server.console" | grep -q "received $bytes bytes crc32=[0-9a-f]*$"
check $? "Linux peer: $bytes bytes each way byte-exact, both ends checked"
expect_big \>srv yes "Linux peer"
expect_big srv\> yes "Linux peer"

run "$all" "$all" "EVENT_IDX, server on pc (PCI)" "" pc on
run "$all" "$all" "EVENT_IDX, server on microvm (virtio-mmio)" "" microvm on
run "$all,event_idx=off" "$all,event_idx=off" "EVENT_IDX off in QEMU: the ring flags" "" pc off
run "$all" "$all" "EVENT_IDX off in the guests" "env=UK_VIRTIO_EVENT_IDX=0 " pc off

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
