#!/bin/bash
# Density: N detached website instances (-m 8m) started back to back with each backend; time
# until all N answer HTTP, host RSS per instance, ukd's RSS, idle CPU (issue 11's target: N=200
# with the qemu backend on a 2-core, 24 GiB host).
# usage: N=200 BACKENDS="qemu libvirt" bench/density.sh [BUILD_DIR]   (default: build, N=20)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
n=${N:-20}
backends=${BACKENDS:-"libvirt qemu"}
base=${PORT_BASE:-24000} # host ports base+1 .. base+N on 127.0.0.1
idle_s=${IDLE_S:-10}
. bench/lib.sh
bench_tmp
for t in ukd uk ukcc; do [ -x "$build/bin/$t" ] || { echo "density.sh: $build/bin/$t missing: build first" >&2; exit 1; }; done

# "pid pid ..." of the QEMUs whose command line names (root)
qemus_of() {
	local root=$1 p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "qemu-system.*$root/" && echo "${p#/proc/}"
	done
	return 0
}
rss_kb() { # pids... -> summed VmRSS in kB
	local p s=0
	for p in "$@"; do s=$((s + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
	echo $s
}
cpu_ticks() { # pids... -> summed utime+stime (clock ticks)
	local p s=0
	for p in "$@"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
	echo $s
}
answers() { curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null | grep -q '^[23]'; }

printf '%-8s %6s %10s %10s %12s %10s %12s %12s\n' backend N started all-answer "RSS/inst MB" "ukd MB" "idle CPU %" "ukd idle %"
for b in $backends; do
	root="$tmp/$b" sock="$tmp/$b.sock"
	start_ukd "$root" "$sock" "$tmp/ukd-$b.log" --backend "$b" --live-restore=false
	uk build -t site images/examples/website >/dev/null
	t0=$(date +%s%N)
	for i in $(seq "$n"); do
		uk run -d -m 8m -p "127.0.0.1:$((base + i)):80" site >/dev/null 2>"$tmp/err" ||
			{ echo "density.sh: run $i failed:" >&2; cat "$tmp/err" >&2; }
	done
	t1=$(date +%s%N)
	left=$(seq "$n")
	for _ in $(seq 3000); do
		next=""
		for i in $left; do answers $((base + i)) || next="$next $i"; done
		left=$next
		[ -z "$left" ] && break
		sleep 0.1
	done
	t2=$(date +%s%N)
	[ -n "$left" ] && echo "density.sh: $b: not answering: $left" >&2
	sleep 2
	mapfile -t qs < <(qemus_of "$root")
	rss=$(rss_kb "${qs[@]}")
	ukd_rss=$(rss_kb "$ukd_pid")
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "${qs[@]}") u0=$(cpu_ticks "$ukd_pid")
	sleep "$idle_s"
	c1=$(cpu_ticks "${qs[@]}") u1=$(cpu_ticks "$ukd_pid")
	printf '%-8s %6d %9.1fs %9.1fs %12.1f %10.1f %12.1f %12.2f\n' "$b" "${#qs[@]}" \
		"$(awk "BEGIN {print ($t1 - $t0) / 1e9}")" "$(awk "BEGIN {print ($t2 - $t0) / 1e9}")" \
		"$(awk "BEGIN {print $rss / 1024 / (${#qs[@]} ? ${#qs[@]} : 1)}")" \
		"$(awk "BEGIN {print $ukd_rss / 1024}")" \
		"$(awk "BEGIN {print 100 * ($c1 - $c0) / $hz / $idle_s}")" \
		"$(awk "BEGIN {print 100 * ($u1 - $u0) / $hz / $idle_s}")"
	uk rm -f $(uk ps -a -q) >/dev/null 2>&1 || true
	kill "$ukd_pid"
	wait "$ukd_pid" 2>/dev/null || true
done
