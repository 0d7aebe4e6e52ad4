#!/bin/bash
# The QEMU-direct fast path: hello start->exit through ukvmm, raw QEMU with the same argv, and `uk run --rm hello` through ukd/libvirt, side by side.
# usage: bench/vmm.sh [BUILD_DIR]   (default: build)   RUNS=N (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
runs=${RUNS:-20}
. bench/lib.sh
bench_tmp
run=$build/vmm/tests/ukvmm_run
for t in "$build/bin/ukd" "$build/bin/uk" "$run"; do
	[ -x "$t" ] || { echo "vmm.sh: $t missing: build first" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "vmm.sh: qemu-system-x86_64 not installed" >&2; exit 1; }

start_ukd "$tmp/r" "$tmp/s" "$tmp/ukd.log"

# The kernel `uk run` boots, so every row runs the same bytes with the same command line.
uk build -t hello images/examples/hello >/dev/null
uk run --rm hello >/dev/null 2>&1 || true
kernel=$(find "$tmp/r" -path '*kernels*' -name kernel | head -1)
cmdline="seed=00112233445566778899aabbccddeeff -- world"

# One row per machine, measured by one driver process (ukvmm_run --compare), alternated so a
# load change hits both columns alike: start -> exit through the library (render, spawn, wait),
# then raw QEMU with the argv the library renders (fork + execvp + wait).
row() { # machine -> "lib50 lib90 raw50 raw90"
	local m=$1
	"$run" --machine "$m" --status "$tmp/st" -m 16 "$kernel" "$cmdline" >/dev/null # warm
	[ "$(tr -d '\r' <"$tmp/st" | tail -1)" = "UK_EXIT=0" ] || { echo "vmm.sh: hello on $m did not exit 0" >&2; exit 1; }
	"$run" --compare "$runs" --machine "$m" --status "$tmp/st" -m 16 "$kernel" "$cmdline" >"$tmp/cmp"
	echo "$(cut -d' ' -f1 "$tmp/cmp" | stats) $(cut -d' ' -f2 "$tmp/cmp" | stats)"
}
read -r vl50 vl90 vr50 vr90 < <(row microvm)
read -r pl50 pl90 pr50 pr90 < <(row pc)
read -r u50 u90 < <(for _ in $(seq "$runs"); do ms uk run --rm hello; done | stats)

printf '%-58s %10s %10s\n' "hello start -> exit (TCG, qboot, -m 16, $runs runs), ms" "p50" "p90"
printf '%-58s %10s %10s\n' "ukvmm (render + ukvmm_spawn + waitpid), microvm" "$vl50" "$vl90"
printf '%-58s %10s %10s\n' "raw qemu-system-x86_64, the same argv, microvm" "$vr50" "$vr90"
printf '%-58s %10s %10s\n' "ukvmm, pc" "$pl50" "$pl90"
printf '%-58s %10s %10s\n' "raw qemu-system-x86_64, the same argv, pc" "$pr50" "$pr90"
printf '%-58s %10s %10s\n' "uk run --rm hello (ukd + libvirt qemu:///embed, pc)" "$u50" "$u90"
printf '%-58s %10s\n' "ukvmm / raw QEMU (microvm, p50)" "$(awk "BEGIN {printf \"%.2fx\", $vl50 / $vr50}")"
printf '%-58s %10s\n' "uk run today / ukvmm microvm (p50)" "$(awk "BEGIN {printf \"%.2fx\", $u50 / $vl50}")"
