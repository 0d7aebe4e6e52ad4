#!/bin/bash
# Networks benchmark (issue 12): the website unikernel behind slirp's hostfwd vs on a uk network
# (a published port by the kernel's DNAT, the same port through ukd's proxy: ukd restarted with
# --userland-proxy and back, live restore; and the bridge directly), wrk -c50; guest to guest over the
# network (the netblast client: HTTP req/s against the website, MB/s both ways against netblast
# serve) next to the host to a guest through slirp. Same ukd, same run, rounds interleaved.
# usage: bench/net.sh [BUILD_DIR]   (runs itself in a network namespace of its own: unshare -n)
# Environment: DURATION (s per wrk run, 10), CONNS (wrk -c, 50), ROUNDS (3; medians shown),
# BYTES (each way per bulk run, 4194304), REQUESTS (guest client's GETs, 3000), GCONNS (its
# connections, 16); the TCP frames on the website guest's tap during the guest to guest GETs are
# counted (AF_PACKET) and shown per request,
# BEFORE=PATH (another ukd binary, e.g. main's: its proxy row measured in the same rounds, ukd
# switched by a live-restore restart, which also proves the proxies come back; it is taken to
# be a proxy-only ukd: run without --userland-proxy),
# BEFORE_BUILD=DIR (another build directory, e.g. main's: its ukcc builds the website and netblast
# again, and its guest-to-guest rows (a website and a netblast sink of its own on benchnet, its
# client) run in the same rounds: guest code old and new side by side).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${UKB_NETNS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "net.sh: needs root (a network namespace, bridges, taps)" >&2; exit 1; }
	UKB_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "net.sh: no build directory ${1:-build}" >&2; exit 1; }
dur=${DURATION:-10}
conns=${CONNS:-50}
rounds=${ROUNDS:-3}
bytes=${BYTES:-4194304}
requests=${REQUESTS:-3000}
gconns=${GCONNS:-16}
command -v wrk >/dev/null || { echo "net.sh: wrk not installed (deploy/install-deps.sh)" >&2; exit 1; }
. bench/lib.sh
bench_tmp
# QEMU runs as its own user: it must reach the root (as daemon tests do)
chmod 0711 "$tmp"
if [ -n "${BEFORE:-}" ]; then # the other ukd beside this build's ukcc (ukd finds it there)
	mkdir -p "$tmp/before/bin"
	ln -s "$build"/bin/* "$tmp/before/bin/"
	rm "$tmp/before/bin/ukd"
	cp "$BEFORE" "$tmp/before/bin/ukd"
fi
# ukd_on DIR [UKD_ARGS...]: (re)starts ukd from DIR/bin/ukd on the same root; the guests stay
# (live restore)
ukd_on() {
	if [ -n "$ukd_pid" ]; then
		kill "$ukd_pid"
		wait "$ukd_pid" 2>/dev/null || true
	fi
	local b=$build
	build=$1
	shift
	start_ukd "$tmp/root" "$tmp/ukd.sock" "$tmp/ukd.log" --live-restore=true "$@"
	build=$b
}
ukd_on "$build"
uk build -q -t site images/examples/website >/dev/null
uk build -q -t netblast images/examples/netblast >/dev/null
if [ -n "${BEFORE_BUILD:-}" ]; then # the images again by the other build's ukcc (its ukd)
	old_build=$(cd "$BEFORE_BUILD" && pwd)
	ukd_on "$old_build"
	uk build -q -t site-before images/examples/website >/dev/null
	uk build -q -t netblast-before images/examples/netblast >/dev/null
	ukd_on "$build"
fi
gimg=netblast # the image guest_row runs

# wait_http URL: until it answers (60 s)
wait_http() {
	for _ in $(seq 600); do curl -s -o /dev/null --max-time 0.5 "$1" && return 0; sleep 0.1; done
	echo "net.sh: $1 never answered" >&2
	exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$ukd_pid/stat"; }
# wrk_row KEY URL: one wrk run; appends "req/s errors ukd-ms-per-1000-requests" to $tmp/KEY
wrk_row() {
	local c0 c1 out rps n errs
	c0=$(cpu_ticks)
	out=$(wrk -t2 -c"$conns" -d"${dur}s" "$2" 2>&1 || true)
	c1=$(cpu_ticks)
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 "/" $6 "/" $8 "/" $10}' <<<"$out")
	echo "${rps:-0} ${errs:-0/0/0/0} $(awk -v t=$((c1 - c0)) -v n="${n:-0}" -v hz="$(getconf CLK_TCK)" \
		'BEGIN {printf "%.1f", n ? t * 1000 / hz / (n / 1000) : 0}')" >>"$tmp/$1"
}
# guest_row KEY ARGS...: netblast in a guest on benchnet; appends its figure to $tmp/KEY
guest_row() {
	local key=$1 out
	shift
	out=$(uk run --rm --network benchnet "$gimg" "$@" 2>&1) || { echo "net.sh: $gimg $*: $out" >&2; exit 1; }
	awk '/req\/s$/ {print $(NF-1)} / MB\/s$/ {print $(NF-1)}' <<<"$out" >>"$tmp/$key"
}
# host_bulk KEY PORT: the host as netblast's client through 127.0.0.1:PORT (slirp): MB/s
host_bulk() {
	python3 - "$2" "$bytes" >>"$tmp/$1" <<'EOF'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
data = bytes(65536)
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", port), timeout=120)
s.sendall(b"%d\n" % n)
left = n
while left:
    k = s.send(data[:min(left, len(data))])
    left -= k
got = 0
while got < n:
    b = s.recv(1 << 20)
    if not b:
        break
    got += len(b)
t = time.monotonic() - t0
print("%.2f" % (2 * n / t / 1e6) if got == n else "0")
EOF
}
median() { sort -n "$tmp/$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# frames_count TAP: counts TCP frames both ways on TAP until SIGTERM, then prints the count
frames_count() {
	exec python3 - "$1" <<'EOF'
import signal, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
n = 0
def done(*_):
    print(n)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    f = s.recv(65536)
    n += len(f) >= 34 and f[12:14] == b"\x08\x00" and f[23] == 6
EOF
}

p1=$((20000 + RANDOM % 5000))
p2=$((p1 + 1))
p3=$((p1 + 2))
uk run -d --name slirp -p 127.0.0.1:$p1:80 site >/dev/null
uk run -d --name sinkslirp -p 127.0.0.1:$p3:9000 netblast >/dev/null
uk network create benchnet >/dev/null
uk run -d --name bridged --network benchnet -p 127.0.0.1:$p2:80 site >/dev/null
uk run -d --name sink --network benchnet netblast >/dev/null
if [ -n "${BEFORE_BUILD:-}" ]; then
	uk run -d --name bridgedold --network benchnet site-before >/dev/null
	uk run -d --name sinkold --network benchnet netblast-before >/dev/null
	ipold=$(uk network inspect benchnet | python3 -c 'import json,sys
print([e["ip"] for e in json.load(sys.stdin)[0]["endpoints"] if e["name"] == "bridgedold"][0])')
	wait_http "http://$ipold/"
fi
ip=$(uk network inspect benchnet | python3 -c 'import json,sys
print([e["ip"] for e in json.load(sys.stdin)[0]["endpoints"] if e["name"] == "bridged"][0])')
wait_http "http://127.0.0.1:$p1/"
wait_http "http://127.0.0.1:$p2/"
wait_http "http://$ip/"
tap=uk$(uk inspect bridged | python3 -c 'import json,sys
d = json.load(sys.stdin)
print((d[0] if isinstance(d, list) else d)["id"][:12])')0
for r in $(seq "$rounds"); do
	wrk_row slirp "http://127.0.0.1:$p1/"
	wrk_row dnat "http://127.0.0.1:$p2/"
	ukd_on "$build" --userland-proxy
	wait_http "http://127.0.0.1:$p2/"
	wrk_row proxy "http://127.0.0.1:$p2/"
	ukd_on "$build"
	wait_http "http://127.0.0.1:$p2/"
	wrk_row direct "http://$ip/"
	if [ -n "${BEFORE:-}" ]; then
		ukd_on "$tmp/before"
		wait_http "http://127.0.0.1:$p2/"
		wrk_row proxy_before "http://127.0.0.1:$p2/"
		ukd_on "$build"
		wait_http "http://127.0.0.1:$p2/"
	fi
	frames_count "$tap" >"$tmp/frames.cur" &
	fpid=$!
	guest_row g2g_http http bridged 80 "$requests" "$gconns"
	kill "$fpid"
	wait "$fpid" || true
	awk -v n="$requests" '{printf "%.2f\n", $1 / n}' "$tmp/frames.cur" >>"$tmp/g2g_frames"
	guest_row g2g_bulk send sink 9000 "$bytes"
	if [ -n "${BEFORE_BUILD:-}" ]; then
		gimg=netblast-before
		guest_row g2g_http_before http bridgedold 80 "$requests" "$gconns"
		guest_row g2g_bulk_before send sinkold 9000 "$bytes"
		gimg=netblast
	fi
	host_bulk slirp_bulk "$p3"
	echo "round $r done" >&2
done

echo "wrk -t2 -c$conns -d${dur}s, median of $rounds rounds, TCG, $(nproc) CPUs; socket errors as"
echo "connect/read/write/timeout summed over the rounds; ukd CPU in ms per 1000 requests"
echo
printf '| %-44s | %9s | %-22s | %9s |\n' "path (wrk from the host)" "req/s" "socket errors" "ukd CPU"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..11})" \
	"$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..11})"
row() { # KEY LABEL
	local errs cpu
	errs=$(awk '{split($2, e, "/"); for (i = 1; i <= 4; i++) s[i] += e[i]} END {print s[1] "/" s[2] "/" s[3] "/" s[4]}' "$tmp/$1")
	cpu=$(awk '{print $3}' "$tmp/$1" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
	printf '| %-44s | %9s | %-22s | %9s |\n' "$2" "$(median "$1")" "$errs" "$cpu"
}
row slirp "slirp hostfwd 127.0.0.1:$p1 (default)"
row dnat "uk network, DNAT 127.0.0.1:$p2 (default)"
row proxy "uk network, userland proxy 127.0.0.1:$p2"
[ -z "${BEFORE:-}" ] || row proxy_before "uk network, BEFORE's ukd proxy 127.0.0.1:$p2"
row direct "uk network, bridge direct $ip:80"
echo
echo "guest to guest on benchnet (netblast) vs the host to a guest through slirp, median of $rounds:"
echo
printf '| %-60s | %12s |\n' "path" "figure"
printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..62})" "$(printf -- '-%.0s' {1..14})"
printf '| %-60s | %8s req/s |\n' "guest -> guest website, $requests GETs over $gconns keep-alive conns" "$(median g2g_http)"
printf '| %-60s | %8s req/s |\n' "host -> slirp website (wrk -c$conns, above)" "$(median slirp)"
printf '| %-60s | %8s /req  |\n' "TCP frames per guest -> guest GET (the website's tap)" "$(median g2g_frames)"
printf '| %-60s | %9s MB/s |\n' "guest -> guest netblast, $bytes bytes each way" "$(median g2g_bulk)"
printf '| %-60s | %9s MB/s |\n' "host -> slirp netblast, $bytes bytes each way" "$(median slirp_bulk)"
if [ -n "${BEFORE_BUILD:-}" ]; then
	printf '| %-60s | %8s req/s |\n' "BEFORE_BUILD's guests: guest -> guest website" "$(median g2g_http_before)"
	printf '| %-60s | %9s MB/s |\n' "BEFORE_BUILD's guests: guest -> guest netblast" "$(median g2g_bulk_before)"
	uk rm -f bridgedold sinkold >/dev/null
fi
uk rm -f slirp sinkslirp bridged sink >/dev/null
uk network rm benchnet >/dev/null
