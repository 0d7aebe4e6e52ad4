#!/bin/bash
# Interop with Linux's TCP: the website example (plus a 4 MiB file, ukcc --embed) under QEMU TCG
# behind a 127.0.0.1 hostfwd port, driven by curl and Python: a large body, a slow reader, 200
# connections at once; QEMU's filter-dump pcap shows the guest answered every request it saw.
# usage: website_net.sh UKCC SRCDIR [MACHINE]     exit 0 pass, 1 fail, 77 skip (no QEMU/curl)
set -u
ukcc=$1 src=$2 machine=${3:-pc}
site=$src/../../images/examples/website
for t in qemu-system-x86_64 curl python3 sha256sum; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
tmp=$(mktemp -d) qpid=
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cp -r "$site/site" "$tmp/site"
python3 -c 'import random,sys; r=random.Random(4); sys.stdout.buffer.write(r.randbytes(4<<20))' \
	>"$tmp/site/big.bin"
(cd "$site" && "$ukcc" -O2 --embed "$tmp/site/:/www" -o "$tmp/kernel" main.c -lnet -lhttp) ||
	{ echo "FAIL: build"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
case $machine in
microvm) nic=virtio-net-device ;;
*) nic=virtio-net-pci ;;
esac
qemu-system-x86_64 -M "$machine" -accel tcg -m 32 -bios /usr/share/qemu/qboot.rom \
	-kernel "$tmp/kernel" -append "-- --port=80" -nographic -nodefaults -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 \
	-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:80" -device "$nic,netdev=n0" \
	-object filter-dump,id=f0,netdev=n0,file="$tmp/net.pcap" \
	-serial "file:$tmp/console" </dev/null &
qpid=$!
fails=0
check() { # check RC WHAT
	if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi
}
up=1
for _ in $(seq 120); do
	[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ] && { up=0; break; }
	sleep 0.5
done
check $up "the guest answers within 60 s"
if [ $up = 0 ]; then
	want=$(sha256sum <"$tmp/site/big.bin" | cut -d' ' -f1)
	t0=$(date +%s.%N)
	got=$(curl -s -m 60 "http://127.0.0.1:$port/big.bin" | sha256sum | cut -d' ' -f1)
	t1=$(date +%s.%N)
	check $([ "$got" = "$want" ]; echo $?) "curl: 4 MiB body byte-exact (SHA-256), $(python3 -c "print('%.2f s' % ($t1-$t0))")"
	got=$(curl -s -m 60 "http://127.0.0.1:$port/big.bin" "http://127.0.0.1:$port/big.bin" | sha256sum | cut -d' ' -f1)
	want2=$(cat "$tmp/site/big.bin" "$tmp/site/big.bin" | sha256sum | cut -d' ' -f1)
	check $([ "$got" = "$want2" ]; echo $?) "curl: two 4 MiB bodies on one keep-alive connection"
	timeout 90 python3 - "$port" "$tmp/site/big.bin" <<'PY'
import hashlib, socket, sys, time
port, path = int(sys.argv[1]), sys.argv[2]
want = hashlib.sha256(open(path, "rb").read()).hexdigest()
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
buf, t0 = b"", time.monotonic()
while time.monotonic() - t0 < 4:  # a slow reader: 1 KiB every 10 ms for 4 s
    b = s.recv(1024)
    if not b:
        break
    buf += b
    time.sleep(0.01)
slow = len(buf)
while True:
    b = s.recv(65536)
    if not b:
        break
    buf += b
body = buf.split(b"\r\n\r\n", 1)[1]
ok = hashlib.sha256(body).hexdigest() == want and buf.startswith(b"HTTP/1.1 200")
print(("ok   " if ok else "FAIL ") + "slow reader: %d bytes at 1 KiB/10 ms, then the rest: %d bytes, "
      "SHA-256 %s" % (slow, len(body), "matches" if ok else "differs"))
sys.exit(0 if ok else 1)
PY
	[ $? = 0 ] || fails=$((fails + 1))
	timeout 150 python3 "$src/many.py" "$port" 200 120 5
	check $? "200 connections at once all answered 200"
	sleep 1
	python3 - "$tmp/net.pcap" <<'PY'
# Every TCP connection that reached the guest with a request got data back from it.
import struct, sys
f = open(sys.argv[1], "rb")
f.read(24)
req, resp = set(), set()
while True:
    h = f.read(16)
    if len(h) < 16:
        break
    d = f.read(struct.unpack("<IIII", h)[2])
    if d[12:14] != b"\x08\x00" or d[23] != 6:
        continue
    ip = d[14:]
    ihl = (ip[0] & 15) * 4
    tcp = ip[ihl:]
    sport, dport = struct.unpack(">HH", tcp[:4])
    dlen = struct.unpack(">H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
    if dlen > 0:
        (req.add(sport) if dport == 80 else resp.add(dport))
missing = req - resp
print(("ok   " if req and not missing else "FAIL ") + "guest side (pcap): %d connections brought "
      "a request, %d got no answer" % (len(req), len(missing)))
sys.exit(0 if req and not missing else 1)
PY
	[ $? = 0 ] || fails=$((fails + 1))
fi
if [ $fails != 0 ]; then
	echo "--- guest console ---"
	cat "$tmp/console"
	echo "FAIL: $fails checks"
	exit 1
fi
echo PASS
