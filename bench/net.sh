#!/bin/bash
# Networks benchmark (issue 12): the website unikernel behind slirp's hostfwd vs on a uk network
# (ukd's proxy on a published port, and the bridge directly), same ukd, same run, wrk -c50.
# usage: bench/net.sh [BUILD_DIR]   (runs itself in a network namespace of its own: unshare -n)
# Environment: DURATION (s per wrk run, 10), CONNS (wrk -c, 50).
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
command -v wrk >/dev/null || { echo "net.sh: wrk not installed (deploy/install-deps.sh)" >&2; exit 1; }
. bench/lib.sh
bench_tmp
start_ukd "$tmp/root" "$tmp/ukd.sock" "$tmp/ukd.log" --live-restore=false
# QEMU runs as its own user: it must reach the root (as daemon tests do)
chmod 0711 "$tmp"
uk build -q -t site images/examples/website >/dev/null

# wait_http URL: until it answers (60 s)
wait_http() {
	for _ in $(seq 600); do curl -s -o /dev/null --max-time 0.5 "$1" && return 0; sleep 0.1; done
	echo "net.sh: $1 never answered" >&2
	exit 1
}
# bench NAME URL: one row: req/s, MB/s, socket errors (connect, read, write, timeout)
bench() {
	local out rps mbs errs
	wrk -t2 -c"$conns" -d"${dur}s" "$2" >"$tmp/wrk.$1" 2>&1 || true
	out=$(cat "$tmp/wrk.$1")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	mbs=$(awk '/Transfer\/sec/ {print $2}' <<<"$out")
	errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 "/" $6 "/" $8 "/" $10}' <<<"$out")
	printf '| %-40s | %9s | %9s | %-22s |\n' "$1" "${rps:-?}" "${mbs:-?}" "${errs:-0/0/0/0}"
}

p1=$((20000 + RANDOM % 5000))
p2=$((p1 + 1))
uk run -d --name slirp -p 127.0.0.1:$p1:80 site >/dev/null
uk network create benchnet >/dev/null
uk run -d --name bridged --network benchnet -p 127.0.0.1:$p2:80 site >/dev/null
ip=$(uk network inspect benchnet | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["endpoints"][0]["ip"])')
wait_http "http://127.0.0.1:$p1/"
wait_http "http://127.0.0.1:$p2/"
wait_http "http://$ip/"
echo "wrk -t2 -c$conns -d${dur}s, TCG, $(nproc) CPUs; socket errors as connect/read/write/timeout"
echo
printf '| %-40s | %9s | %9s | %-22s |\n' "path" "req/s" "transfer" "socket errors"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..42})" "$(printf -- '-%.0s' {1..11})" \
	"$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..24})"
bench "slirp hostfwd 127.0.0.1:$p1 (default)" "http://127.0.0.1:$p1/"
bench "uk network, ukd proxy 127.0.0.1:$p2" "http://127.0.0.1:$p2/"
bench "uk network, bridge direct $ip:80" "http://$ip/"
uk rm -f slirp bridged >/dev/null
uk network rm benchnet >/dev/null
