#!/bin/bash
# Boot benchmark: image size, guest entry→main time, and QEMU wall time of hello next to a trivial kernel (the floor), in one run.
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

# p50 and p90 wall milliseconds of $runs boots.
wall() {
	python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[2:]
ts = []
for _ in range(runs):
    t = time.perf_counter(); subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(f"{ts[len(ts)//2]:.1f} {ts[int(len(ts)*0.9)]:.1f}")
PY
}

# Port and MMIO accesses the guest makes: each is a VM exit under KVM (counted under TCG with QEMU's trace events).
exits() {
	qemu tcg "$1" -trace "enable=cpu_in,file=$tmp/t1" -trace "enable=cpu_out,file=$tmp/t2" >/dev/null 2>&1
	local n
	n=$(cat "$tmp"/t1* "$tmp"/t2* 2>/dev/null | grep -c 'cpu_\(in\|out\)' || true)
	rm -f "$tmp"/t1* "$tmp"/t2*
	echo "$n"
}

size_hello=$(stat -c %s "$tmp/hello")
size_floor=$(stat -c %s "$tmp/floor")
qemu tcg "$tmp/probe"
e2m=$(sed -n 's/^entry_to_main_ns=//p' "$tmp/serial" | tr -d '\r')
e2m_cycles=$(sed -n 's/^entry_to_main_cycles=//p' "$tmp/serial" | tr -d '\r')

printf '%-44s %14s %14s\n' "measure" "hello" "floor"
printf '%-44s %14s %14s\n' "image size, stripped (bytes)" "$size_hello" "$size_floor"
printf '%-44s %14s %14s\n' "PVH entry -> main (TCG, guest TSC)" "$((e2m / 1000)) us ($e2m_cycles cyc)" "-"
printf '%-44s %14s %14s\n' "port I/O accesses, boot to exit" "$(exits "$tmp/hello")" "$(exits "$tmp/floor")"
for a in "${accels[@]}"; do
	read -r h50 h90 < <(wall qemu-system-x86_64 -M microvm -accel "$a" -m 64 -bios "$qboot" -kernel "$tmp/hello" -nographic -nodefaults -no-reboot -serial null -device isa-debug-exit,iobase=0xf4,iosize=4)
	read -r f50 f90 < <(wall qemu-system-x86_64 -M microvm -accel "$a" -m 64 -bios "$qboot" -kernel "$tmp/floor" -nographic -nodefaults -no-reboot -serial null -device isa-debug-exit,iobase=0xf4,iosize=4)
	printf '%-44s %14s %14s\n' "qemu microvm wall p50/p90 ms ($a, $runs runs)" "$h50/$h90" "$f50/$f90"
	python3 -c "print('%-44s %14.2fx' % ('hello / floor (p50, $a)', $h50 / $f50))"
done
[ ${#accels[@]} -gt 1 ] || echo "(KVM rows skipped: /dev/kvm is not hardware-assisted here)"
