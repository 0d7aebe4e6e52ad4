#!/bin/bash
# A guest that closes its connections and exits at once (runtime-lib/net/socket.c's exit linger):
# netblast http (microvm, QEMU TCG) against Linux's TCP (a Python HTTP/1.1 server in a network
# namespace this test creates), ROUNDS times. netblast closes its 16 keep-alive connections and
# returns from main; the server then closes its ends. Each of the server's connections must be
# gone once the guest has exited: one left in LAST_ACK is a FIN the exiting guest never
# acknowledged (it left in FIN_WAIT_2, or its last ACK was still in the NIC's ring when it
# stopped), which Linux then retransmits to nobody.
# usage: exit_close.sh UKCC SRCDIR [ROUNDS]     exit 0 pass, 1 fail, 77 skip (not root, no QEMU)
set -u
ukcc=$1 src=$2 rounds=${3:-3}
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_setup ukex ip ss python3 qemu-system-x86_64
"$ukcc" -O2 -Wall -Wextra -Werror -o "$tmp/netblast" "$src/../../images/examples/netblast/main.c" \
	-lnet || { echo "FAIL: build netblast"; exit 1; }
netns_bridge 10.204.0.1/24 1

X python3 - <<'PY' &
import http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"x" * 100
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
S(("10.204.0.1", 8080), H).serve_forever()
PY
pids+=($!)
for _ in $(seq 100); do
	X python3 -c 'import socket; socket.create_connection(("10.204.0.1", 8080), 0.5).close()' \
		2>/dev/null && break
	sleep 0.1
done
# the server's connections in STATE, port 8080
conns() { X ss -Htn state "$1" '( sport = :8080 )' | wc -l; }

for r in $(seq "$rounds"); do
	out=$(X timeout 120 qemu-system-x86_64 -M microvm -accel tcg -m 64 \
		-bios /usr/share/qemu/qboot.rom -kernel "$tmp/netblast" \
		-append "env=UK_IP=10.204.0.3/24 -- http 10.204.0.1 8080 200 16" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=uktap0,script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac=52:54:00:0f:04:03 \
		-serial "file:$tmp/http.console" </dev/null >/dev/null 2>&1
	tr -d '\r' <"$tmp/http.console")
	grep -q "200 requests over 16 connections" <<<"$out"
	check $? "round $r: 200 GETs over 16 connections answered"
	sleep 0.5 # the server's own close: Python's threads see the EOF
	la=$(conns last-ack) cw=$(conns close-wait) fw=$(conns fin-wait-1)
	[ "$la" = 0 ] && [ "$fw" = 0 ]
	check $? "round $r: the guest exited with every close complete: the server has $la in LAST_ACK, $fw in FIN_WAIT_1 ($cw in CLOSE_WAIT)"
	# the next round's client reuses no port pair still held here
	for _ in $(seq 100); do [ "$(conns last-ack)" = 0 ] && break; sleep 0.5; done
done
exit $((fails > 0))
