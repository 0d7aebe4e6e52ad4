#!/bin/bash
# Shared by the bench scripts (sourced): p50/p90 of ms values, the wall ms of a command, a private ukd.

# bench_tmp: a temp dir in $tmp, removed at exit after the ukd start_ukd made (if any) removed
# every instance (a ukd with --live-restore=true leaves its guests running when it stops: they
# would outlive the benchmark, their root gone) and stopped.
bench_tmp() {
	tmp=$(mktemp -d /tmp/ukb.XXXXXX)
	chmod 711 "$tmp" # QEMU runs as its own user when ukd is root: it passes through
	ukd_pid=
	trap bench_cleanup EXIT
}
bench_cleanup() {
	local ids
	if [ -n "$ukd_pid" ] && kill -0 "$ukd_pid" 2>/dev/null; then
		ids=$("$build/bin/uk" ps -aq 2>/dev/null) || ids=
		# shellcheck disable=SC2086 # one word an instance
		[ -z "$ids" ] || "$build/bin/uk" rm -f $ids >/dev/null 2>&1 || true
		kill "$ukd_pid" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	rm -rf "$tmp"
}

stats() { # reads ms values, one a line; prints p50 p90
	sort -n | awk '{v[NR]=$1} END {i=int(NR*0.9); if (i<1) i=1; printf "%.1f %.1f\n", v[int((NR+1)/2)], v[i]}'
}
ms() { # runs a command, prints its wall ms
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}
# start_ukd ROOT SOCKET LOG [UKD_ARGS...]: a TCG ukd of $build in the background (pid in ukd_pid),
# UK_HOST pointing at it, back once it answers.
start_ukd() {
	local root=$1 sock=$2 log=$3
	shift 3
	"$build/bin/ukd" --root "$root" --host "unix://$sock" "$@" --accelerator tcg >"$log" 2>&1 &
	ukd_pid=$!
	export UK_HOST=unix://$sock
	for _ in $(seq 600); do "$build/bin/uk" version >/dev/null 2>&1 && break; sleep 0.1; done
}
uk() { "$build/bin/uk" "$@"; }
