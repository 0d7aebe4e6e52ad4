#!/bin/bash
# HTTP benchmark (issue 4): the website unikernel vs nginx in a small Linux guest, side by side on the same QEMU user networking, in one run.
# usage: bench/http.sh [BUILD_DIR]   (default: build)
# Environment: DURATION (s per wrk run, 10), BOOTS (boots timed per guest, 5), LINUX_MEM (MiB, 128),
#   UK_SMALL_MEM (MiB, 8: the unikernel is measured again at this size), UK_BENCH_CACHE (Debian
#   packages for the Linux guest, /var/tmp/uk-bench-pkgs), KEEP=1 keeps the work directory (every
#   wrk output in wrk.all). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "http.sh: no build directory ${1:-build}" >&2; exit 1; }
dur=${DURATION:-10}
boots=${BOOTS:-5}
lmem=${LINUX_MEM:-128}
smem=${UK_SMALL_MEM:-8}
[ -x "$build/bin/ukcc" ] || { echo "http.sh: $build/bin/ukcc missing: build first" >&2; exit 1; }
for t in qemu-system-x86_64 wrk curl python3; do
	command -v "$t" >/dev/null || { echo "http.sh: $t not installed (deploy/install-deps.sh)" >&2; exit 1; }
done
qboot=/usr/share/qemu/qboot.rom
[ -f "$qboot" ] || { echo "http.sh: $qboot missing (qemu-system-data)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/ukhttp.XXXXXX)
qpid=
cleanup() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	if [ -n "${KEEP:-}" ]; then echo "http.sh: kept $tmp (wrk.all, consoles, images)" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The Unikraft paper's 612-byte page, the same bytes for both servers.
mkdir -p "$tmp/site"
python3 - "$tmp/site/index.html" <<'PY'
import sys
head = ("<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to uk!</title>\n<style>\n"
        "    body { width: 35em; margin: 0 auto;\n"
        "           font-family: Tahoma, Verdana, Arial, sans-serif; }\n</style>\n</head>\n<body>\n"
        "<h1>Welcome to uk!</h1>\n<p>If you see this page, the web server is working.</p>\n"
        "<p>This page is 612 bytes long, like nginx's default page in the Unikraft paper's "
        "benchmark.</p>\n<!-- ")
tail = " -->\n</body>\n</html>\n"
page = head + "." * (612 - len(head) - len(tail)) + tail
assert len(page) == 612
open(sys.argv[1], "w").write(page)
PY

# Our unikernel: the website example with the page embedded at /www, stripped (ukcc -s); and the
# same program with nothing embedded, for the image-size goal.
(cd images/examples/website && "$build/bin/ukcc" -O2 -s --embed "$tmp/site/:/www" -o "$tmp/uk-kernel" \
	main.c -lnet -lhttp) || { echo "http.sh: ukcc failed" >&2; exit 1; }
(cd images/examples/website && "$build/bin/ukcc" -O2 -s -o "$tmp/uk-kernel-nosite" main.c -lnet -lhttp)

# The Linux guest: Debian's kernel + an initramfs with busybox-static and nginx.
bench/linux-guest/build.sh "$tmp/linux" "$tmp/site" || { echo "http.sh: Linux guest build failed" >&2; exit 1; }

# free_ports N: N distinct free 127.0.0.1 ports (all bound at once, then released).
free_ports() {
	python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}
now_ns() { date +%s%N; }

# start KIND MEM PORT...: boots a guest in the background (qpid, t0), every PORT forwarded to the
# guest's port 80; its console goes to $console.
start() {
	local kind=$1 mem=$2 fwd="" p
	shift 2
	for p in "$@"; do fwd="$fwd,hostfwd=tcp:127.0.0.1:$p-:80"; done
	console=$tmp/console-$kind-$mem
	local net=(-netdev "user,id=n0,restrict=on$fwd" -device "virtio-net-pci,netdev=n0")
	local common=(-M pc -accel tcg -m "$mem" -bios "$qboot" -nographic -nodefaults -no-reboot -no-user-config
		-serial "file:$console")
	t0=$(now_ns)
	case $kind in
	uk) qemu-system-x86_64 "${common[@]}" -kernel "$tmp/uk-kernel" -append "-- --port=80" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 "${net[@]}" </dev/null >"$tmp/qemu.out" 2>&1 & ;;
	linux) qemu-system-x86_64 "${common[@]}" -kernel "$tmp/linux/vmlinuz" -initrd "$tmp/linux/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1" "${net[@]}" </dev/null >"$tmp/qemu.out" 2>&1 & ;;
	esac
	qpid=$!
}
stop() {
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
}
# The readiness poll: a new connection every 10 ms, each given 50 ms, several in flight. A
# connection opened before the guest listens hangs inside user networking (REFERENCES.md), so
# each try needs a short deadline; `curl --max-time 0.05` every 20 ms, one at a time, quantizes the
# answer by up to ~70 ms, as long as the unikernel's whole boot. Prints the wall-clock ns of the
# first HTTP 200; gives up when the QEMU whose pid is in PIDFILE is gone or after LIMIT seconds.
cat >"$tmp/first200.py" <<'PY'
import os, selectors, socket, sys, time

port, pidfile, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
req = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
sel = selectors.DefaultSelector()
end = time.monotonic() + limit
next_try, tries = 0.0, 0
while time.monotonic() < end:
    now = time.monotonic()
    if now >= next_try:
        next_try, tries = now + 0.01, tries + 1
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE, [now + 0.05, b"", False])
        if tries % 100 == 0 and os.path.exists(pidfile):
            try:
                os.kill(int(open(pidfile).read()), 0)
            except (OSError, ValueError):
                sys.exit(1)
    for key, _ in sel.select(timeout=max(0.0, next_try - time.monotonic())):
        s, st = key.fileobj, key.data
        try:
            if not st[2]:  # connected (or refused): send the request
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    raise OSError
                s.send(req)
                st[2] = True
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            d = s.recv(4096)
            if not d:
                raise OSError
            st[1] += d
            if b"\r\n" in st[1]:
                if st[1].startswith(b"HTTP/1.1 200 "):
                    print(time.time_ns())
                    sys.exit(0)
                raise OSError
        except OSError:
            sel.unregister(s)
            s.close()
    for key in list(sel.get_map().values()):
        if time.monotonic() > key.data[0]:
            sel.unregister(key.fileobj)
            key.fileobj.close()
sys.exit(1)
PY
# boot_to_200 KIND MEM PORT...: boots a guest (qpid), sets boot_ms to the ms from QEMU start to
# its first HTTP 200 on the first PORT, then checks that the page served is ours byte for byte.
boot_to_200() {
	local kind=$1 mem=$2 port=$3 ppid t
	rm -f "$tmp/qpid"
	python3 "$tmp/first200.py" "$port" "$tmp/qpid" 120 >"$tmp/first200" &
	ppid=$!
	sleep 0.3 # the poller is up before QEMU starts
	start "$@"
	echo "$qpid" >"$tmp/qpid"
	if ! wait "$ppid"; then
		local why="gave up after 120 s"
		kill -0 "$qpid" 2>/dev/null || { wait "$qpid" && why="QEMU exited (status 0)" || why="QEMU exited (status $?)"; qpid=; }
		echo "http.sh: no HTTP 200 from the $kind guest (-m $mem) on port $port: $why; its console:" >&2
		tail -20 "$console" >&2
		cat "$tmp/qemu.out" >&2
		return 1
	fi
	t=$(cat "$tmp/first200")
	curl -s --max-time 5 "http://127.0.0.1:$port/" | cmp -s - "$tmp/site/index.html" ||
		{ echo "http.sh: port $port does not serve the 612-byte page" >&2; return 1; }
	boot_ms=$(((t - t0) / 1000000))
}
# load CONNS SECONDS PORT... -> "req/s p50_ms p90_ms p99_ms errors" (wrk, keep-alive, one thread
# and one connection per PORT). QEMU's hostfwd listener has a backlog of 1: a burst of SYNs to one
# port overflows it, the host drops them, and each such connection waits for a 1 s SYN
# retransmission, which wrk's latency correction spreads over many samples (p99 ~0.6-1.2 s for any
# guest). One port per connection avoids that. wrk.all notes the host's TcpExtListenOverflows
# during each run (host-wide: other work on the host adds to it).
load() {
	local conns=$1 secs=$2 o0 o1
	shift 2
	{
		echo "-- one wrk thread per hostfwd port"
		echo "local ports = {$(echo "$@" | tr ' ' ',')}"
		echo "local n = 0"
		echo "function setup(thread)"
		echo "	thread.addr = wrk.lookup(\"127.0.0.1\", tostring(ports[n % #ports + 1]))[1]"
		echo "	n = n + 1"
		echo "end"
	} >"$tmp/ports.lua"
	o0=$(listen_overflows)
	wrk -t"$conns" -c"$conns" -d"$secs"s --timeout 2s --latency -s "$tmp/ports.lua" "http://127.0.0.1:$1/" \
		>"$tmp/wrk.out" 2>&1 || true
	o1=$(listen_overflows)
	echo "== wrk -t$conns -c$conns -d${secs}s ports $* (host ListenOverflows +$((o1 - o0)))" >>"$tmp/wrk.all"
	cat "$tmp/wrk.out" >>"$tmp/wrk.all"
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000
		return v
	}
	/Requests\/sec/ {r = $2}
	/^ +50%/ {p50 = ms($2)}
	/^ +90%/ {p90 = ms($2)}
	/^ +99%/ {p = ms($2)}
	/Non-2xx/ {e += $NF}
	/Socket errors/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10}
	END {printf "%.0f %.2f %.2f %.2f %d\n", r, p50, p90, p, e}' "$tmp/wrk.out"
}
listen_overflows() {
	awk '/^TcpExt:/ {
		if (!h) {for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; h = 1} else print $c
	}' /proc/net/netstat
}
# cpu_ns PID: CPU time of all of the process's threads so far, in ns (schedstat, finer than ticks).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{t += $1} END {printf "%.0f\n", t}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# measure NAME KIND MEM: BOOTS timed boots, then load, RSS and idle CPU on the last one.
# Sets R[NAME.FIELD].
declare -A R
measure() {
	local name=$1 kind=$2 mem=$3 ports port b times=() c0 c1 s0
	read -r -a ports < <(free_ports 30)
	port=${ports[0]}
	echo "http.sh: $name (-m $mem): $boots boots, then wrk -c1 and -c30 for ${dur}s each" >&2
	for b in $(seq "$boots"); do
		boot_to_200 "$kind" "$mem" "${ports[@]}" || return 1
		times+=("$boot_ms")
		[ "$b" = "$boots" ] || stop
	done
	read -r lo med hi < <(printf '%s\n' "${times[@]}" | sort -n |
		awk '{v[NR]=$1} END {print v[1], v[int((NR+1)/2)], v[NR]}')
	load 30 2 "${ports[@]}" >/dev/null # warm-up
	read -r rps1 p501 p901 p991 err1 < <(load 1 "$dur" "$port")
	read -r rps30 p5030 p9030 p9930 err30 < <(load 30 "$dur" "${ports[@]}")
	rss=$(($(rss_kib "$qpid") * 1024))
	sleep 2 # let closing connections settle
	c0=$(cpu_ns "$qpid")
	s0=$(now_ns)
	sleep 5
	c1=$(cpu_ns "$qpid")
	idle=$(awk -v d=$((c1 - c0)) -v t=$(($(now_ns) - s0)) 'BEGIN {printf "%.2f", 100 * d / t}')
	kill -0 "$qpid" || { echo "http.sh: $name's QEMU died under load" >&2; return 1; }
	stop
	local k v
	for k in mem=$mem b50=$med blo=$lo bhi=$hi rps1=$rps1 p501=$p501 p901=$p901 p991=$p991 err1=$err1 \
		rps30=$rps30 p5030=$p5030 p9030=$p9030 p9930=$p9930 err30=$err30 rss=$rss idle=$idle; do
		v=${k#*=}
		R[$name.${k%%=*}]=$v
	done
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
measure uk uk "$lmem"
measure uksmall uk "$smem"
measure linux linux "$lmem"

ours=$(stat -c %s "$tmp/uk-kernel")
nosite=$(stat -c %s "$tmp/uk-kernel-nosite")
vmlinuz=$(stat -c %s "$tmp/linux/vmlinuz")
initrd=$(stat -c %s "$tmp/linux/initramfs.cpio.gz")
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
kib() { awk -v b="$1" 'BEGIN {printf "%.1f KiB", b / 1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "n/a"; else printf "%.2fx", a / b}'; }

row() { printf '%-40s %16s %16s %16s\n' "$@"; }
echo
echo "HTTP benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, TCG, -M pc + qboot, QEMU user networking (hostfwd 127.0.0.1)"
echo "load average at start: $load0, at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the host skews everything)"
echo "wrk keep-alive, one thread per connection, each on its own hostfwd port, ${dur}s per run, 612-byte index.html; first 200: median (min-max) of $boots boots, a try every 10 ms"
row "measure" "uk website" "uk website" "Linux + nginx"
row "guest RAM (-m)" "${R[uk.mem]} MiB" "${R[uksmall.mem]} MiB" "${R[linux.mem]} MiB"
row "requests/s, -c30" "${R[uk.rps30]}" "${R[uksmall.rps30]}" "${R[linux.rps30]}"
row "p99 latency ms, -c30" "${R[uk.p9930]}" "${R[uksmall.p9930]}" "${R[linux.p9930]}"
row "  p50 / p90 ms, -c30" "${R[uk.p5030]} / ${R[uk.p9030]}" "${R[uksmall.p5030]} / ${R[uksmall.p9030]}" \
	"${R[linux.p5030]} / ${R[linux.p9030]}"
row "requests/s, -c1" "${R[uk.rps1]}" "${R[uksmall.rps1]}" "${R[linux.rps1]}"
row "p99 latency ms, -c1" "${R[uk.p991]}" "${R[uksmall.p991]}" "${R[linux.p991]}"
row "  p50 / p90 ms, -c1" "${R[uk.p501]} / ${R[uk.p901]}" "${R[uksmall.p501]} / ${R[uksmall.p901]}" \
	"${R[linux.p501]} / ${R[linux.p901]}"
row "wrk errors + non-2xx (c1 / c30)" "${R[uk.err1]} / ${R[uk.err30]}" "${R[uksmall.err1]} / ${R[uksmall.err30]}" \
	"${R[linux.err1]} / ${R[linux.err30]}"
row "QEMU start -> first 200, ms" "${R[uk.b50]} (${R[uk.blo]}-${R[uk.bhi]})" \
	"${R[uksmall.b50]} (${R[uksmall.blo]}-${R[uksmall.bhi]})" "${R[linux.b50]} (${R[linux.blo]}-${R[linux.bhi]})"
row "QEMU RSS after load" "$(mib "${R[uk.rss]}")" "$(mib "${R[uksmall.rss]}")" "$(mib "${R[linux.rss]}")"
row "QEMU CPU while idle (5 s), % of a core" "${R[uk.idle]}" "${R[uksmall.idle]}" "${R[linux.idle]}"
row "image: kernel (stripped) / vmlinuz" "$(kib "$ours")" "" "$(kib "$vmlinuz")"
row "image: initramfs" "-" "" "$(kib "$initrd")"
row "image: total" "$(kib "$ours")" "" "$(kib $((vmlinuz + initrd)))"
row "image without site content" "$(kib "$nosite")" "" ""
row "  (bytes: with / without the page)" "$ours / $nosite" "" ""
echo
echo "ours / Linux (uk website at -m ${R[uk.mem]} vs Linux at -m ${R[linux.mem]}):"
printf '  %-38s %s\n' "requests/s, -c30" "$(ratio "${R[uk.rps30]}" "${R[linux.rps30]}")"
printf '  %-38s %s\n' "requests/s, -c1" "$(ratio "${R[uk.rps1]}" "${R[linux.rps1]}")"
printf '  %-38s %s\n' "p99 latency, -c30" "$(ratio "${R[uk.p9930]}" "${R[linux.p9930]}")"
printf '  %-38s %s\n' "p99 latency, -c1" "$(ratio "${R[uk.p991]}" "${R[linux.p991]}")"
printf '  %-38s %s\n' "first 200 (median)" "$(ratio "${R[uk.b50]}" "${R[linux.b50]}")"
printf '  %-38s %s\n' "image size (total)" "$(ratio "$ours" $((vmlinuz + initrd)))"
printf '  %-38s %s\n' "QEMU RSS" "$(ratio "${R[uk.rss]}" "${R[linux.rss]}")"
printf '  %-38s %s\n' "QEMU RSS, uk at -m ${R[uksmall.mem]}" "$(ratio "${R[uksmall.rss]}" "${R[linux.rss]}")"
printf '  %-38s %s\n' "idle CPU" "$(ratio "${R[uk.idle]}" "${R[linux.idle]}")"
