#!/bin/bash
# The cost of ukd's guards, side by side in one run: a guest start with and without QEMU's
# seccomp sandbox, `uk run` with QEMU as libvirt-qemu and as root, and API requests over plain TCP next to TLS with a client certificate.
# usage: bench/guard.sh [BUILD_DIR]   (RUNS, default 20; REQS, default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
runs=${RUNS:-20}
reqs=${REQS:-2000}
tmp=$(mktemp -d /tmp/ukb.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
for t in ukd uk; do [ -x "$build/bin/$t" ] || { echo "guard.sh: $build/bin/$t missing: build first" >&2; exit 1; }; done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
plain=$(free_port)
tls=$(free_port)
deploy/make-certs.sh all "$tmp/certs" IP:127.0.0.1 >/dev/null
c=$tmp/certs

# Daemon 1 (plain TCP) under a directory QEMU's user may pass: its QEMU runs as libvirt-qemu.
# Daemon 2 (TLS) under one it may not: its QEMU stays root (when ukd runs as root).
chmod 0755 "$tmp"
mkdir -m 0755 "$tmp/open"
mkdir -m 0700 "$tmp/closed"
"$build/bin/ukd" --root "$tmp/open/r" --host "unix://$tmp/s" --host "tcp://127.0.0.1:$plain" \
	--accelerator tcg >"$tmp/ukd.log" 2>&1 &
pids+=($!)
"$build/bin/ukd" --root "$tmp/closed/r2" --host "unix://$tmp/s2" --host "tcp://127.0.0.1:$tls" \
	--tlsverify --tlscacert "$c/ca.pem" --tlscert "$c/cert.pem" --tlskey "$c/key.pem" \
	--accelerator tcg >"$tmp/ukd2.log" 2>&1 &
pids+=($!)
export UK_HOST=unix://$tmp/s
for _ in $(seq 1200); do "$build/bin/uk" version >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1200); do UK_HOST=unix://$tmp/s2 "$build/bin/uk" version >/dev/null 2>&1 && break; sleep 0.1; done

# Guest starts: raw QEMU with ukd's machine, firmware and kernel, start -> exit, with and
# without the sandbox argument libvirt adds for seccomp_sandbox = 1 (runs interleaved).
"$build/bin/uk" build -t hello images/examples/hello >/dev/null
"$build/bin/uk" run --rm hello >/dev/null 2>&1 || true
kernel=$(find "$tmp/open/r" -path '*kernels*' -name kernel | head -1)
grep -q "seccomp_sandbox = 1" "$tmp/open/r/libvirt/etc/qemu.conf" || { echo "guard.sh: ukd's qemu.conf has no seccomp_sandbox line" >&2; exit 1; }
sandbox="on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
qemu_ms() { # extra QEMU args... -> wall ms of one start -> exit
	local t0 t1
	t0=$(date +%s%N)
	qemu-system-x86_64 -M pc -accel tcg -m 16 -bios /usr/share/qemu/qboot.rom -kernel "$kernel" \
		-append "seed=00112233445566778899aabbccddeeff --" -nographic -nodefaults -no-reboot \
		-serial null -serial null -no-user-config "$@" >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
. bench/lib.sh
: >"$tmp/sb.ms"
: >"$tmp/nosb.ms"
for _ in $(seq "$runs"); do
	qemu_ms -sandbox "$sandbox" >>"$tmp/sb.ms"
	qemu_ms >>"$tmp/nosb.ms"
done
read -r s50 s90 < <(stats <"$tmp/sb.ms")
read -r n50 n90 < <(stats <"$tmp/nosb.ms")

# uk run --rm hello with QEMU as libvirt-qemu (daemon 1) and as root (daemon 2), interleaved.
UK_HOST=unix://$tmp/s2 "$build/bin/uk" build -t hello images/examples/hello >/dev/null
UK_HOST=unix://$tmp/s2 "$build/bin/uk" run --rm hello >/dev/null 2>&1 || true
run_ms() { # socket -> wall ms of uk run --rm hello
	local t0 t1
	t0=$(date +%s%N)
	UK_HOST=unix://$1 "$build/bin/uk" run --rm hello >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
: >"$tmp/user.ms"
: >"$tmp/root.ms"
for _ in $(seq "$runs"); do
	run_ms "$tmp/s" >>"$tmp/user.ms"
	run_ms "$tmp/s2" >>"$tmp/root.ms"
done
read -r u50 u90 < <(stats <"$tmp/user.ms")
read -r o50 o90 < <(stats <"$tmp/root.ms")
qemu_user() { awk '/QEMU runs/ {sub(/.*main: /, ""); print}' "$1" | tail -1; }

# API: the same GET on both daemons, REQS requests over one kept-alive connection (one curl
# with many URLs), and one request per new connection (a curl process each: handshake included).
api_ms() { # url, curl args... -> ms per request over $reqs requests on one connection
	local url=$1 t0 t1
	shift
	local args=()
	for _ in $(seq "$reqs"); do args+=("$url"); done
	t0=$(date +%s%N)
	curl -sf "$@" "${args[@]}" >/dev/null
	t1=$(date +%s%N)
	awk "BEGIN {printf \"%.3f\", ($t1 - $t0) / 1e6 / $reqs}"
}
conn_ms() { # url, curl args... -> ms for one request on a new connection (median of $runs)
	local url=$1
	shift
	for _ in $(seq "$runs"); do
		curl -sf -o /dev/null -w '%{time_total}\n' "$@" "$url"
	done | sort -n | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)] * 1000}'
}
tlsargs=(--cacert "$c/ca.pem" --cert "$c/clients/admin/cert.pem" --key "$c/clients/admin/key.pem")
p_keep=$(api_ms "http://127.0.0.1:$plain/v1/_ping")
t_keep=$(api_ms "https://127.0.0.1:$tls/v1/_ping" "${tlsargs[@]}")
p_new=$(conn_ms "http://127.0.0.1:$plain/v1/_ping")
t_new=$(conn_ms "https://127.0.0.1:$tls/v1/_ping" "${tlsargs[@]}")

printf '%-58s %10s %10s\n' "measure (TCG, pc + qboot, $runs runs)" "p50" "p90"
printf '%-58s %10s %10s\n' "raw QEMU start -> exit, -sandbox on,..., ms" "$s50" "$s90"
printf '%-58s %10s %10s\n' "raw QEMU start -> exit, no sandbox, ms" "$n50" "$n90"
printf '%-58s %10s %10s\n' "uk run --rm hello, QEMU as libvirt-qemu, ms" "$u50" "$u90"
printf '%-58s %10s %10s\n' "uk run --rm hello, QEMU as root, ms" "$o50" "$o90"
printf '  (daemon 1: %s; daemon 2: %s)\n' "$(qemu_user "$tmp/ukd.log")" "$(qemu_user "$tmp/ukd2.log")"
printf '%-58s %10s %10s\n' "GET /v1/_ping" "plain TCP" "TLS+cert"
printf '%-58s %10s %10s\n' "  keep-alive, ms per request ($reqs requests)" "$p_keep" "$t_keep"
printf '%-58s %10s %10s\n' "  new connection each, ms (median)" "$p_new" "$t_new"
