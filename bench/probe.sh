#!/bin/bash
# libvirt's QEMU probe on a fresh root (no capabilities cache: UKD_CAPS_CACHE empty), before and
# after issue 10's reaper, side by side in one run: `uk run --rm hello`, the probe, zombies left.
# usage: bench/probe.sh [BUILD_DIR]   (RUNS, default 3; BEFORE=DIR a build of the old code, else
#        BEFORE_REF, default main, is built into a temp dir; its run costs ~45 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
after=$(cd "${1:-build}" && pwd)
runs=${RUNS:-3}
tmp=$(mktemp -d /tmp/ukb-probe.XXXXXX)
chmod 0755 "$tmp" # QEMU runs as libvirt-qemu and must reach the roots below
ukd_pid=
cleanup() {
	[ -z "$ukd_pid" ] || kill "$ukd_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
for t in ukd uk ukcc; do [ -x "$after/bin/$t" ] || { echo "probe.sh: $after/bin/$t missing: build first" >&2; exit 1; }; done
before=${BEFORE:-}
if [ -z "$before" ]; then
	ref=${BEFORE_REF:-main}
	echo "building $ref (the code before) in $tmp/before ..." >&2
	mkdir "$tmp/before-src"
	git archive "$ref" | tar -x -C "$tmp/before-src"
	cmake -S "$tmp/before-src" -B "$tmp/before" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$tmp/before" -j"$(nproc)" --target ukd uk ukcc >/dev/null
fi

# zombies: the zombie children of (pid), any thread's
zombies() {
	local n=0 k
	for k in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(awk '{print $3}' /proc/"$k"/stat 2>/dev/null)" = Z ] && n=$((n + 1))
	done
	echo "$n"
}

# one fresh root: prints "SECONDS PROBE_MS ZOMBIES"
one() {
	local bin=$1 root
	root=$(mktemp -d "$tmp/r.XXXXXX")
	chmod 0755 "$root"
	UKD_CAPS_CACHE= "$bin/ukd" --root "$root/root" --host "unix://$root/s" --live-restore=false \
		--accelerator tcg >"$root/log" 2>&1 &
	ukd_pid=$!
	export UK_HOST=unix://$root/s
	for _ in $(seq 600); do "$bin/uk" version >/dev/null 2>&1 && break; sleep 0.1; done
	"$bin/uk" build -t hello images/examples/hello >/dev/null
	local t0 t1
	t0=$(date +%s.%N)
	"$bin/uk" run --rm hello >/dev/null
	t1=$(date +%s.%N)
	sleep 1 # the last orphans exit
	local z probe
	z=$(zombies "$ukd_pid")
	probe=$(sed -n 's/.*QEMU capabilities ready in \([0-9]*\) ms.*/\1/p' "$root/log" | head -1)
	kill "$ukd_pid"
	for _ in $(seq 600); do kill -0 "$ukd_pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$ukd_pid" 2>/dev/null || true
	wait "$ukd_pid" 2>/dev/null || true
	ukd_pid=
	echo "$(echo "$t1 - $t0" | bc) ${probe:--} $z"
}

printf '| code | run | `uk run --rm hello` (s) | libvirt probe (ms) | zombies under ukd after |\n'
printf '| --- | --- | --- | --- | --- |\n'
for which in before after; do
	bin=$after/bin
	[ "$which" = before ] && bin=$before/bin
	for i in $(seq "$runs"); do
		read -r s p z < <(one "$bin")
		printf '| %s | %d | %.2f | %s | %s |\n' "$which" "$i" "$s" "$p" "$z"
	done
done
