#!/bin/bash
# API benchmark (issue 6): requests/s and p99 of GET /v1/instances (100 listed) and GET /v1/instances/{id} on ukd, over its unix socket, loopback TCP and TLS with a client certificate, next to a fixed-body libmicrohttpd floor measured the same way in the same run.
# usage: bench/api.sh [BUILD_DIR]   (default: build)
# Environment: DURATION (s per measurement, 3), ROUNDS (floor/ukd pairs per row, 3: the medians
#   are printed), CONNS (keep-alive connections, 16), KEEP=1 keeps the work directory.
#   See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "api.sh: no build directory ${1:-build}" >&2; exit 1; }
dur=${DURATION:-3}
rounds=${ROUNDS:-3}
conns=${CONNS:-16}
for b in bin/ukd bench/api_floor bench/api_load; do
	[ -x "$build/$b" ] || { echo "api.sh: $build/$b missing: build first" >&2; exit 1; }
done
for t in curl python3 openssl; do
	command -v "$t" >/dev/null || { echo "api.sh: $t not installed (deploy/install-deps.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/ukapi.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP:-}" ]; then echo "api.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

deploy/make-certs.sh all "$tmp/certs" IP:127.0.0.1 >/dev/null
certs=$tmp/certs
client=("$certs/ca.pem" "$certs/clients/admin/cert.pem" "$certs/clients/admin/key.pem")

# ukd on one root, listening on its unix socket and on a TCP port (plain, or TLS with the extra
# arguments; --tlsverify makes every tcp:// host TLS, so the TLS rows take a restart).
api() { curl -sf --unix-socket "$tmp/ukd.sock" "$@"; }
ukd_start() { # PORT [ukd args...]
	local port=$1
	shift
	"$build/bin/ukd" --root "$tmp/root" --host "unix://$tmp/ukd.sock" --host "tcp://127.0.0.1:$port" \
		--accelerator tcg --log-level warn "$@" >>"$tmp/ukd.log" 2>&1 &
	ukd_pid=$!
	pids+=($!)
	for _ in $(seq 600); do
		api http://x/v1/_ping >/dev/null 2>&1 && return
		sleep 0.1
	done
	cat "$tmp/ukd.log" >&2
	echo "api.sh: ukd did not start" >&2
	exit 1
}
# ukd on a fresh root; 100 instances created (not started).
uport=$(free_port)
ukd_start "$uport"
tar -C daemon/tests/guest -cf "$tmp/ctx.tar" Ukfile main.c
api -X POST -H 'Content-Type: application/x-tar' --data-binary "@$tmp/ctx.tar" \
	"http://x/v1/images/build?t=apibench" | tail -1 | grep -q '"aux"' || { echo "api.sh: build failed" >&2; exit 1; }
for i in $(seq 100); do
	id=$(api -X POST -H 'Content-Type: application/json' -d "{\"image\":\"apibench\",\"name\":\"b$i\"}" \
		http://x/v1/instances | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
done
listed=$(api 'http://x/v1/instances?all=1' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

# The floor for each endpoint: libmicrohttpd in ukd's threading mode answering with the very
# bytes ukd answers that endpoint with (a fixed body: no routing, no store, no JSON).
floor_start() { # NAME BODY_FILE -> sets fport and ftport (TLS, ukd's certificates and checks)
	fport=$(free_port)
	ftport=$(free_port)
	"$build/bench/api_floor" "unix:$tmp/$1.sock" "$fport" "$2" \
		"$ftport" "$certs/cert.pem" "$certs/key.pem" "$certs/ca.pem" >"$tmp/$1.out" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -q ready "$tmp/$1.out" && return; sleep 0.05; done
	echo "api.sh: the floor did not start: $(cat "$tmp/$1.out")" >&2
	exit 1
}

# One measurement: "rps p99_ms" (api_load exits non-zero on any error: the run fails, and so
# does a reply whose body is not BYTES long: the floor and ukd must serve the same bytes).
measure() { # BYTES TARGET PATH, and for tls: the client's CA, certificate and key
	local out
	out=$("$build/bench/api_load" "$2" "$3" "$conns" "$dur" "${@:4}") || { echo "api.sh: errors on $2 $3: $out" >&2; exit 1; }
	[ "$(awk '{print $14}' <<<"$out")" = "$1" ] || { echo "api.sh: $2 $3 served other than $1 bytes: $out" >&2; exit 1; }
	awk '{print $4, $8}' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One row: ROUNDS alternating floor and ukd measurements of endpoint EP over VIA, the medians.
row() { # EP N VIA FLOOR_TARGET UKD_TARGET [client TLS files...]
	local ep=$1 n=$2 via=$3 f=$4 u=$5 bytes frps fp99 rps p99
	shift 5
	: >"$tmp/floor.runs"
	: >"$tmp/ukd.runs"
	bytes=$(stat -c %s "$tmp/body$n")
	for _ in $(seq "$rounds"); do
		measure "$bytes" "$f" / "$@" >>"$tmp/floor.runs"
		measure "$bytes" "$u" "$ep" "$@" >>"$tmp/ukd.runs"
	done
	frps=$(cut -d' ' -f1 "$tmp/floor.runs" | median)
	fp99=$(cut -d' ' -f2 "$tmp/floor.runs" | median)
	rps=$(cut -d' ' -f1 "$tmp/ukd.runs" | median)
	p99=$(cut -d' ' -f2 "$tmp/ukd.runs" | median)
	printf '%-26s %-5s %7s %9s %7s %12s %9s %7s\n' "GET ${ep/$id/\{id\}}" "$via" \
		"$bytes" "$rps" "$p99" "$frps" "$fp99" \
		"$(awk -v a="$rps" -v b="$frps" 'BEGIN { printf "%.2fx", a / b }')"
}

echo "api.sh: $listed instances listed; $conns keep-alive connections (TLS: one handshake each," \
	"client certificate checked once per connection); medians of $rounds rounds of ${dur} s, floor" \
	"and ukd alternating; $(nproc) CPUs shared with the load client (load" \
	"$(cut -d' ' -f1 /proc/loadavg)); p99 in ms; the floor serves the same body bytes as ukd"
printf '%-26s %-5s %7s %9s %7s %12s %9s %7s\n' endpoint via bytes "req/s" "p99" "floor req/s" "floor p99" ratio
eps=("/v1/instances?all=1" "/v1/instances/$id")
fports=()
ftports=()
for n in 1 2; do
	api "http://x${eps[n - 1]}" >"$tmp/body$n"
	floor_start "floor$n" "$tmp/body$n"
	fports+=("$fport")
	ftports+=("$ftport")
done
for n in 1 2; do
	row "${eps[n - 1]}" $n unix "unix:$tmp/floor$n.sock" "unix:$tmp/ukd.sock"
	row "${eps[n - 1]}" $n tcp "tcp:${fports[n - 1]}" "tcp:$uport"
done

# The same daemon and root again, its TCP port now TLS with client certificates.
kill "$ukd_pid"
wait "$ukd_pid" || true
tport=$(free_port)
ukd_start "$tport" --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/cert.pem" \
	--tlskey "$certs/key.pem"
for n in 1 2; do
	row "${eps[n - 1]}" $n tls "tls:${ftports[n - 1]}" "tls:$tport" "${client[@]}"
done
echo "goal: ratio >= 0.70x (requests/s against the floor, same transport, same body, same run)"
