#!/bin/bash
# Boot benchmark: image size, guest entry→main time, and QEMU wall time of hello next to a trivial kernel (the floor), in one run; Xen PVH dom0 and domU rows when Xen (and the dom0 packages) can be fetched.
# usage: bench/boot.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-20}
ukcc=$build/bin/ukcc
qboot=/usr/share/qemu/qboot.rom
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$ukcc" ] || { echo "boot.sh: build first ($ukcc missing)" >&2; exit 1; }

"$ukcc" -O2 -s -o "$tmp/hello" images/examples/hello/main.c
"$ukcc" -O2 -o "$tmp/probe" bench/boot_probe.c
cc -c -o "$tmp/floor.o" bench/floor.S
ld -m elf_x86_64 -T "$build/lib/uk/kvm.ld" -o "$tmp/floor" "$tmp/floor.o"

accels=(tcg)
if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accels+=(kvm)
fi

qemu() { # accel kernel [extra...]
	local accel=$1 kernel=$2
	shift 2
	qemu-system-x86_64 -M microvm -accel "$accel" -m 64 -bios "$qboot" -kernel "$kernel" \
		-nographic -nodefaults -no-reboot -serial "file:$tmp/serial" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 "$@" </dev/null || true
}

# Alternating boots of two kernels (so machine noise hits both alike): p50/p90 ms of each.
wall_pair() { # accel kernel_a kernel_b
	python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs, accel, ka, kb = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def cmd(k):
    return ["qemu-system-x86_64", "-M", "microvm", "-accel", accel, "-m", "64",
            "-bios", "/usr/share/qemu/qboot.rom", "-kernel", k, "-nographic", "-nodefaults",
            "-no-reboot", "-serial", "null", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
ts = {ka: [], kb: []}
for _ in range(runs):
    for k in (ka, kb):
        t = time.perf_counter()
        subprocess.run(cmd(k), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ts[k].append((time.perf_counter() - t) * 1000)
for k in (ka, kb):
    v = sorted(ts[k]); print(f"{v[len(v)//2]:.1f} {v[int(len(v)*0.9)]:.1f}", end=" ")
print()
PY
}

# Device register accesses (port I/O and MMIO) from boot to exit, firmware's fw_cfg
# traffic left out: under KVM each is a VM exit, except that one `rep outsb` is one exit.
exits() {
	qemu tcg "$1" -trace "memory_region_ops_*,file=$tmp/trace" >/dev/null 2>&1
	grep -v "fwcfg" "$tmp/trace" | grep -c "memory_region_ops" || true
	rm -f "$tmp/trace"
}

size_hello=$(stat -c %s "$tmp/hello")
size_floor=$(stat -c %s "$tmp/floor")
# Median of 9 boots of the probe: one descheduled QEMU must not set the figure.
e2m_all=()
for _ in 1 2 3 4 5 6 7 8 9; do
	qemu tcg "$tmp/probe"
	e2m_all+=("$(sed -n 's/^entry_to_main_ns=//p' "$tmp/serial" | tr -d '\r') $(sed -n 's/^entry_to_main_cycles=//p' "$tmp/serial" | tr -d '\r')")
done
read -r e2m e2m_cycles < <(printf '%s\n' "${e2m_all[@]}" | sort -n | sed -n 5p)

printf '%-44s %14s %14s\n' "measure" "hello" "floor"
printf '%-44s %14s %14s\n' "image size, stripped (bytes)" "$size_hello" "$size_floor"
printf '%-44s %14s %14s\n' "PVH entry -> main (TCG, guest TSC)" "$((e2m / 1000)) us ($e2m_cycles cyc)" "-"
printf '%-44s %14s %14s\n' "device accesses, boot to exit (no fw_cfg)" "$(exits "$tmp/hello")" "$(exits "$tmp/floor")"
for a in "${accels[@]}"; do
	read -r h50 h90 f50 f90 < <(wall_pair "$a" "$tmp/hello" "$tmp/floor")
	printf '%-44s %14s %14s\n' "qemu microvm wall p50/p90 ms ($a, $runs runs)" "$h50/$h90" "$f50/$f90"
	python3 -c "print('%-44s %14.2fx' % ('hello / floor (p50, $a)', $h50 / $f50))"
done
[ ${#accels[@]} -gt 1 ] || echo "(KVM rows skipped: /dev/kvm is not hardware-assisted here)"

# Xen row: the same probe ELF as Xen 4.17's PVH dom0 under TCG (tests/xen/xen_boot.sh fetches
# Xen, never installs it). Median of 3: guest TSC from entry to main, and QEMU start to dom0's
# shutdown (Xen's own boot included, under TCG).
xen_all=()
for _ in 1 2 3; do
	out=$(UK_XEN_CACHE=${UK_XEN_CACHE:-$build/xen-cache} tests/xen/xen_boot.sh "$tmp/probe" 0 entry_to_main_ns 2>&1) || break
	xen_all+=("$(sed -n 's/^entry_to_main_ns=//p' <<<"$out") $(sed -n 's/.*to dom0 shutdown \([0-9]*\) ms.*/\1/p' <<<"$out")")
done
if [ ${#xen_all[@]} = 3 ]; then
	read -r xe2m _ < <(printf '%s\n' "${xen_all[@]}" | sort -n | sed -n 2p)
	read -r _ xwall < <(printf '%s\n' "${xen_all[@]}" | sort -n -k2 | sed -n 2p)
	printf '%-44s %14s %14s\n' "PVH entry -> main (Xen dom0, TCG, guest TSC)" "$((xe2m / 1000)) us" "-"
	printf '%-44s %14s %14s\n' "Xen boot + dom0 to shutdown, ms (TCG)" "$xwall" "-"
else
	echo "(Xen rows skipped: Xen's hypervisor binary not available, or the boot failed; see tests/xen/xen_boot.sh)"
fi

# Xen domU rows (UK_BENCH_XEN_DOMU=0 skips them: two to four minutes): the probe as 3 PVH domUs
# of a Debian dom0 (tests/xen/xen_dom0.sh), median of guest TSC entry -> main and of `xl create -F`
# start to its exit (dom0's uptime, 10 ms steps; libxl's domain build included); in the same
# dom0, when libvirt's Xen driver is installed, ukd through libvirt (tests/xen/xen_ukd.sh): the
# median of 3 `uk run --rm hello` to their exit (the CLI, ukd, libvirtd, libxl and the guest,
# dom0's uptime) and of ukd's start of the domain (created paused, console open, resumed).
xcases=("p1|$tmp/probe|0|run|entry_to_main_ns|" "p2|$tmp/probe|0|run|entry_to_main_ns|"
	"p3|$tmp/probe|0|run|entry_to_main_ns|")
xrc=1
if [ "${UK_BENCH_XEN_DOMU:-1}" = 1 ]; then
	out=$(UK_XEN_CACHE=${UK_XEN_CACHE:-$build/xen-cache} UK_XEN_UKD_RUNS=3 \
		tests/xen/xen_ukd.sh "$build" "${xcases[@]}" 2>&1) && xrc=0 || xrc=$?
	if [ $xrc = 77 ]; then # no libvirt Xen driver: the xl rows alone
		out=$(UK_XEN_CACHE=${UK_XEN_CACHE:-$build/xen-cache} tests/xen/xen_dom0.sh \
			"${xcases[@]}" 2>&1) && xrc=0 || xrc=$?
	fi
	[ $xrc = 0 ] || printf '%s\n' "$out" | grep -aE '^(FAIL|SKIP)' >&2 || true
fi
if [ $xrc = 0 ]; then
	de2m=$(sed -n 's/^p[123]| entry_to_main_ns=\([0-9]*\).*/\1/p' <<<"$out" | sort -n | sed -n 2p)
	dxl=$(sed -n 's/^UK_CASE p[123] .*start=\([0-9.]*\) end=\([0-9.]*\).*/\1 \2/p' <<<"$out" |
		awk '{printf "%d\n", ($2 - $1) * 1000}' | sort -n | sed -n 2p)
	printf '%-44s %14s %14s\n' "PVH entry -> main (Xen domU, TCG, guest TSC)" "$((de2m / 1000)) us" "-"
	printf '%-44s %14s %14s\n' "xl create -F to domU exit, ms (TCG)" "$dxl" "-"
	urun=$(sed -n 's/^UK_XEN_T run_rm_hello=\([0-9.]*\)$/\1/p' <<<"$out" |
		awk '{printf "%d\n", $1 * 1000}' | sort -n | sed -n 2p)
	ustart=$(sed -n 's/^UK_XEN_T start_ms=\([0-9]*\)$/\1/p' <<<"$out" | sort -n | sed -n 2p)
	if [ -n "$urun" ]; then
		printf '%-44s %14s %14s\n' "uk run --rm to exit, ukd on xen:/// ms (TCG)" "$urun" "-"
		printf '%-44s %14s %14s\n' "ukd start of the Xen domain, ms (TCG)" "${ustart:--}" "-"
	fi
	echo "(Xen domU rows skipped: UK_BENCH_XEN_DOMU=0, packages not fetchable, or the run failed; see tests/xen/xen_dom0.sh)"
fi
