#!/bin/bash
# Daemon benchmark: `uk run --rm hello` (libvirt and qemu backends) next to libvirt's own floor and raw QEMU, `uk build` time, and API throughput, in one run.
# usage: bench/run.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
runs=${RUNS:-20}
port=${PORT:-23750}
. bench/lib.sh
bench_tmp
for t in ukd uk ukcc; do [ -x "$build/bin/$t" ] || { echo "run.sh: $build/bin/$t missing: build first" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "run.sh: wrk not installed (deploy/install-deps.sh)" >&2; exit 1; }

start_ukd "$tmp/r" "$tmp/s" "$tmp/ukd.log" --host "tcp://127.0.0.1:$port"

# uk build: the first build warms caches; time three more.
uk build -t hello images/examples/hello >/dev/null
read -r b50 b90 < <(for _ in 1 2 3; do ms uk build -t hello images/examples/hello; done | stats)

# uk run --rm hello: the whole user-visible path (create, start, attach, exit, remove).
uk run --rm hello >/dev/null 2>&1 || true
read -r r50 r90 < <(for _ in $(seq "$runs"); do ms uk run --rm hello; done | stats)

# The floor: ukd's own domain XML for the same kernel, started straight through libvirt
# (its embedded driver in a root of its own, since ukd holds the other), timed to the exit report.
kernel=$(find "$tmp/r" -path '*kernels*' -name kernel | head -1)
mkdir -p "$tmp/floor" "$tmp/lv/etc" "$tmp/lv/cache/qemu"
# Same embedded-driver settings as ukd's, and its probed QEMU capabilities (no second probe).
cp "$tmp/r/libvirt/etc/qemu.conf" "$tmp/lv/etc/"
cp -a "$tmp/r/libvirt/cache/qemu/capabilities" "$tmp/lv/cache/qemu/" 2>/dev/null || true
cmdline="seed=00112233445566778899aabbccddeeff --"
floor=$("$build/bench/libvirt_floor" "qemu:///embed?root=$tmp/lv" "$kernel" "$cmdline" "$tmp/floor" 1 >/dev/null 2>&1;
	"$build/bench/libvirt_floor" "qemu:///embed?root=$tmp/lv" "$kernel" "$cmdline" "$tmp/floor" "$runs") ||
	floor="0 0 0 0" # (the floor failed: its message is above; the other rows still count)
read -r c50 c90 f50 f90 <<<"$floor"

# Raw QEMU: the same machine, firmware, kernel and command line, no libvirt.
read -r q50 q90 < <(for _ in $(seq "$runs"); do
	ms qemu-system-x86_64 -M pc -accel tcg -m 16 -bios /usr/share/qemu/qboot.rom -kernel "$kernel" \
		-append "$cmdline" -nographic -nodefaults -no-reboot -serial null -serial null -no-user-config
done | stats)

# The qemu backend (ukd runs QEMU itself, pc + qboot): `uk run --rm --backend qemu hello`, with
# raw QEMU of the same kernel and machine run alternately in the same loop (the load drifts).
uk run --rm --backend qemu hello >/dev/null 2>&1 || true
: >"$tmp/bq" && : >"$tmp/bqraw"
for _ in $(seq "$runs"); do
	ms uk run --rm --backend qemu hello >>"$tmp/bq"
	ms qemu-system-x86_64 -M pc -accel tcg -m 16 -bios /usr/share/qemu/qboot.rom -kernel "$kernel" \
		-append "$cmdline" -nographic -nodefaults -no-reboot -serial null -serial null \
		-no-user-config >>"$tmp/bqraw"
done
read -r k50 k90 < <(stats <"$tmp/bq")
read -r w50 w90 < <(stats <"$tmp/bqraw")

# API throughput: 100 instances listed.
for i in $(seq 100); do uk create --name "b$i" hello >/dev/null; done
id=$(uk ps -a -q | head -1)
api() { # path -> "req/s p99"
	wrk -t2 -c16 -d5s --latency "http://127.0.0.1:$port$1" |
		awk '/Requests\/sec/ {r=$2} /^ +99%/ {p=$2} END {print r, p}'
}
read -r l_rps l_p99 < <(api /v1/instances?all=1)
read -r i_rps i_p99 < <(api "/v1/instances/$id")

printf '%-52s %12s %12s\n' "measure (TCG, pc + qboot, $runs runs)" "p50" "p90"
printf '%-52s %12s %12s\n' "uk run --rm hello, wall ms" "$r50" "$r90"
printf '%-52s %12s %12s\n' "libvirt floor: create -> exit reported, same XML, ms" "$f50" "$f90"
printf '%-52s %12s %12s\n' "  of which virDomainCreateXML returned, ms" "$c50" "$c90"
printf '%-52s %12s %12s\n' "raw qemu-system-x86_64 start -> exit, ms" "$q50" "$q90"
printf '%-52s %12s\n' "uk run / libvirt floor (p50)" "$(awk "BEGIN {printf \"%.2fx\", $f50 ? $r50 / $f50 : 0}")"
printf '%-52s %12s %12s\n' "uk run --rm --backend qemu hello, wall ms" "$k50" "$k90"
printf '%-52s %12s %12s\n' "  raw qemu-system-x86_64, alternating with it, ms" "$w50" "$w90"
printf '%-52s %12s\n' "uk run --backend qemu / raw QEMU (p50)" "$(awk "BEGIN {printf \"%.2fx\", $k50 / $w50}")"
printf '%-52s %12s %12s\n' "uk build hello, ms" "$b50" "$b90"
printf '%-52s %12s %12s\n' "GET /v1/instances (100 listed): req/s, p99" "$l_rps" "$l_p99"
printf '%-52s %12s %12s\n' "GET /v1/instances/{id}: req/s, p99" "$i_rps" "$i_p99"
