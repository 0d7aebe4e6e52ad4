#!/bin/bash
# SIGTERM to exit of ukd with N guests running (live restore off: they are stopped; on: they keep
# running), for a base ukd (main before the shutdown work) and this build, side by side.
# usage: bench/shutdown.sh [BUILD_DIR] [BASE_BUILD_DIR]
#   BASE_BUILD_DIR: a build of the base; without it the script builds BASE (a git revision,
#   default 664ed43) under /tmp first. GUESTS (default 20), RUNS (default 1; the median is shown).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
guests=${GUESTS:-20}
runs=${RUNS:-1}
tmp=$(mktemp -d /tmp/ukb.XXXXXX)
chmod 0755 "$tmp" # QEMU's user passes through to the roots below
pids=()
cleanup() {
	for p in "${pids[@]}" $(pgrep -f "ukd --root $tmp/" || true); do kill -9 "$p" 2>/dev/null || true; done
	# the guests a run left (live restore on): only this script's roots
	for p in $(pgrep -f "qemu-system.*$tmp/" || true); do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "${2:-}" ]; then
	base=$(cd "$2" && pwd)
else
	rev=${BASE:-664ed43}
	mkdir "$tmp/base-src"
	git archive "$rev" | tar -x -C "$tmp/base-src"
	echo "building the base ($rev) in $tmp/base-src ..." >&2
	cmake -S "$tmp/base-src" -B "$tmp/base-src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$tmp/base-src/build" -j2 --target ukd uk ukcc >/dev/null
	base=$tmp/base-src/build
fi
for b in "$build" "$base"; do
	for t in ukd uk ukcc; do [ -x "$b/bin/$t" ] || { echo "shutdown.sh: $b/bin/$t missing" >&2; exit 1; }; done
done

qemus() { pgrep -fc "qemu-system.*$1/" || true; }

# one_run BUILD LIVE_RESTORE -> "ms left_running"
one_run() {
	local b=$1 live=$2 root sock pid t0 t1 n=0
	root=$(mktemp -d "$tmp/r.XXXX")
	chmod 0755 "$root"
	sock=$root/s
	"$b/bin/ukd" --root "$root/r" --host "unix://$sock" --accelerator tcg \
		--live-restore="$live" >"$root/ukd.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	export UK_HOST=unix://$sock
	for _ in $(seq 1200); do "$b/bin/uk" version >/dev/null 2>&1 && break; sleep 0.1; done
	"$b/bin/uk" build -t uktest daemon/tests/guest >/dev/null
	for i in $(seq "$guests"); do
		"$b/bin/uk" run -d -m 32m --name "g$i" uktest forever >/dev/null
	done
	# every guest booted (its console ticks), so each can hear the power button
	for i in $(seq "$guests"); do
		for _ in $(seq 600); do
			"$b/bin/uk" logs "g$i" 2>/dev/null | grep -q "tick 1" && break
			sleep 0.1
		done
	done
	n=$(qemus "$root")
	[ "$n" -eq "$guests" ] || { echo "shutdown.sh: $n of $guests guests run" >&2; exit 1; }
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" || true
	t1=$(date +%s%N)
	sleep 0.5
	echo "$(((t1 - t0) / 1000000)) $(qemus "$root")"
	for p in $(pgrep -f "qemu-system.*$root/" || true); do kill -9 "$p" 2>/dev/null || true; done
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

printf "SIGTERM to ukd's exit, %d guests (uktest forever, -m 32m, TCG), median of %d run(s)\n\n" \
	"$guests" "$runs"
printf "| live restore | base ms | base guests left | this ms | this guests left |\n"
printf "| --- | --- | --- | --- | --- |\n"
for live in false true; do
	: >"$tmp/base.ms"
	: >"$tmp/this.ms"
	bl=0 tl=0
	for _ in $(seq "$runs"); do # interleaved
		read -r ms left < <(one_run "$base" "$live")
		echo "$ms" >>"$tmp/base.ms"
		bl=$left
		read -r ms left < <(one_run "$build" "$live")
		echo "$ms" >>"$tmp/this.ms"
		tl=$left
	done
	printf "| %s | %s | %s | %s | %s |\n" "$live" "$(median <"$tmp/base.ms")" "$bl" \
		"$(median <"$tmp/this.ms")" "$tl"
done
