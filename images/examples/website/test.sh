#!/bin/bash
# End-to-end: builds this example with ukcc --embed, boots it under QEMU (TCG, user networking,
# hostfwd on 127.0.0.1 only) and checks real HTTP exchanges against the files in site/.
# usage: test.sh UKCC [MACHINE]     exit 0 pass, 1 fail, 77 skip (no QEMU)
set -u
ukcc=$1 machine=${2:-pc}
here=$(cd "$(dirname "$0")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
tmp=$(mktemp -d)
qpid=
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$here" && "$ukcc" -O2 --embed site/:/www -o "$tmp/kernel" main.c -lnet -lhttp) || { echo "FAIL: build"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
case $machine in
microvm) nic=virtio-net-device ;;
*) nic=virtio-net-pci ;;
esac
qemu-system-x86_64 -M "$machine" -accel tcg -m 16 -bios /usr/share/qemu/qboot.rom \
	-kernel "$tmp/kernel" -append "-- --port=80" -nographic -nodefaults -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 \
	-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:80" -device "$nic,netdev=n0" \
	-serial "file:$tmp/console" </dev/null &
qpid=$!
python3 - "$port" "$here/site" <<'PY'
import hashlib, socket, sys, time
port, site = int(sys.argv[1]), sys.argv[2]

def connect():
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

def read_response(f, head=False):
    status = f.readline()
    if not status:
        raise EOFError("connection closed")
    hdrs = {}
    for line in iter(f.readline, b"\r\n"):
        k, v = line.decode().split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = 0 if head or status.split()[1] in (b"304",) else int(hdrs.get("content-length", 0))
    return int(status.split()[1]), hdrs, f.read(n)

def one(req, head=False):
    s = connect()
    s.sendall(req)
    r = read_response(s.makefile("rb"), head)
    s.close()
    return r

fails = 0
def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond

# the server answers once the guest has booted and has an address (DHCP from slirp)
deadline = time.monotonic() + 60
while True:
    try:
        st, h, body = one(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        break
    except (OSError, EOFError, ValueError, IndexError):
        if time.monotonic() > deadline:
            print("FAIL: no HTTP answer within 60 s"); sys.exit(1)
        time.sleep(0.5)
index = open(site + "/index.html", "rb").read()
check(st == 200 and body == index, "GET / serves index.html")
check(h.get("content-type") == "text/html; charset=utf-8", "Content-Type html")
etag = h.get("etag", "")
check(etag == '"%s"' % hashlib.sha256(index).hexdigest()[:16], "ETag is the SHA-256 prefix")
# keep-alive and pipelining: several requests on one connection, answered in order
s = connect()
f = s.makefile("rb")
names = ["about.html", "style.css", "logo.png", "404.html"]
s.sendall(b"".join(b"GET /%s HTTP/1.1\r\nHost: t\r\n\r\n" % n.encode() for n in names))
for n in names:
    st, h, body = read_response(f)
    check(st == 200 and body == open(site + "/" + n, "rb").read(), "pipelined GET /" + n)
s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag.encode() + b"\r\n\r\n")
st, h, body = read_response(f)
check(st == 304 and body == b"", "If-None-Match gives 304 on the same connection")
s.sendall(b"HEAD /logo.png HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
st, h, body = read_response(f, head=True)
check(st == 200 and h.get("content-type") == "image/png" and h.get("content-length") == "233"
      and f.read() == b"", "HEAD has headers, no body, then close")
s.close()
st, h, body = one(b"GET /no/such HTTP/1.1\r\nHost: t\r\n\r\n")
check(st == 404 and body == open(site + "/404.html", "rb").read(), "404 page")
st, h, body = one(b"GET /%2e%2e/x HTTP/1.1\r\nHost: t\r\n\r\n")
check(st == 400, "encoded traversal refused")
st, h, body = one(b"DELETE / HTTP/1.1\r\nHost: t\r\n\r\n")
check(st == 405 and h.get("allow") == "GET, HEAD", "405 with Allow")
st, h, body = one(b"GET / HTTP/1.1\r\nHost: t\r\n" + b"X: " + b"a" * 9000 + b"\r\n\r\n")
check(st == 431, "431 for a huge header")
st, h, body = one(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n")
check(st == 413, "413 for a huge body")
print("PASS" if not fails else "FAIL: %d checks" % fails)
sys.exit(1 if fails else 0)
PY
rc=$?
[ $rc = 0 ] || { echo "--- guest console ---"; cat "$tmp/console"; }
exit $rc
