#!/bin/bash
# virtio-net checksum offload (runtime-lib/drivers/virtio_net.c): two netblast unikernels under
# QEMU TCG on a bridge in a network namespace this test creates, the server on pc (PCI), the
# client on microvm (virtio-mmio, legacy header); each NIC's csum/guest_csum QEMU properties on
# and off. Every exchange must be byte-exact both ways (netblast checks its streams on both
# ends): where a tap completes a partial checksum (its guest took no GUEST_CSUM) the receiver
# checks it in software, so a wrong pseudo-header sum fails the transfer. Then Linux's TCP as the
# peer (it hands partial checksums to a guest that takes them).
# usage: offload.sh UKCC SRCDIR [BYTES]     exit 0 pass, 1 fail, 77 skip (not root, no QEMU)
set -u
ukcc=$1 src=$2 bytes=${3:-1048576}
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_setup ukof ip python3 qemu-system-x86_64
"$ukcc" -O2 -Wall -Wextra -Werror -o "$tmp/netblast" "$src/../../images/examples/netblast/main.c" \
	-lnet || { echo "FAIL: build netblast"; exit 1; }
netns_bridge 10.202.0.1/24 2

fails=0
check() { # check RC WHAT
	if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi
}
# server CSUM GUEST_CSUM: netblast serve on 10.202.0.2 (pc, uktap0), in the background
server() {
	ip netns exec "$ns" qemu-system-x86_64 -M pc -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/netblast" -append "env=UK_IP=10.202.0.2/24 -- serve 9000" \
		-nographic -nodefaults -no-reboot \
		-netdev tap,id=n0,ifname=uktap0,script=no,downscript=no \
		-device "virtio-net-pci,netdev=n0,mac=52:54:00:0f:00:02,csum=$1,guest_csum=$2" \
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
# client CSUM GUEST_CSUM: netblast send from 10.202.0.3 (microvm, uktap1); its console on stdout
client() {
	X timeout 240 qemu-system-x86_64 -M microvm -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/netblast" -append "env=UK_IP=10.202.0.3/24 -- send 10.202.0.2 9000 $bytes" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=uktap1,script=no,downscript=no \
		-device "virtio-net-device,netdev=n0,mac=52:54:00:0f:00:03,csum=$1,guest_csum=$2" \
		-serial "file:$tmp/client.console" </dev/null >/dev/null 2>&1
	tr -d '\r' <"$tmp/client.console"
}
# run SCSUM SGUEST CCSUM CGUEST WHAT
run() {
	local out
	rm -f "$tmp/server.console" "$tmp/client.console"
	server "$1" "$2" || { check 1 "$5: the server came up"; server_stop; return; }
	out=$(client "$3" "$4")
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
exit $((fails > 0))
