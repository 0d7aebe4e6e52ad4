#!/bin/bash
# Boots one unikernel test on one target (microvm|pc|q35 under TCG, kvm, hosted) and checks its output and exit status.
# usage: run.sh TARGET KERNEL_KVM KERNEL_HOSTED EXPECTED_STATUS EXPECTED_TEXT [-- APPEND...]
set -u
target=$1 kvm_kernel=$2 hosted_bin=$3 want=$4 text=$5
shift 5
[ "${1:-}" = "--" ] && shift
append=$*
qboot=/usr/share/qemu/qboot.rom
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

hw_kvm() {
	[ -w /dev/kvm ] || { echo "no writable /dev/kvm"; return 1; }
	[ -d /sys/module/kvm_pvm ] && { echo "/dev/kvm is PVM nested virtualization (kvm_pvm), which emulates non-PVM guests: not hardware-assisted"; return 1; }
	grep -qwE 'vmx|svm' /proc/cpuinfo || { echo "CPU lacks vmx/svm"; return 1; }
	return 0
}

status_file=
case $target in
hosted)
	# The same words the kernel command line would carry, split by the shell.
	eval "args=($append)"
	timeout 60 "$hosted_bin" "${args[@]+"${args[@]}"}" >"$tmp/out" 2>&1
	got=$?
	want_rc=$((want & 0xff))
	;;
microvm | pc | q35 | kvm)
	command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
	machine=$target accel=tcg
	if [ "$target" = kvm ]; then
		why=$(hw_kvm) || { echo "SKIP: KVM not hardware-assisted here: $why"; exit 77; }
		machine=pc accel=kvm
	fi
	extra=()
	# microvm has a single UART; elsewhere COM2 carries the full exit status.
	if [ "$machine" != microvm ]; then
		status_file=$tmp/status
		extra=(-serial "file:$status_file")
	fi
	timeout 60 qemu-system-x86_64 -M "$machine" -accel "$accel" -m 64 -bios "$qboot" \
		-kernel "$kvm_kernel" -append "$append" -nographic -nodefaults -no-reboot \
		-serial "file:$tmp/out" "${extra[@]}" -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null
	got=$?
	want_rc=$((((want << 1) | 1) & 0xff))
	;;
*)
	echo "run.sh: unknown target $target" >&2
	exit 2
	;;
esac

cat "$tmp/out"
fail=0
if [ "$got" = 124 ]; then
	echo "FAIL: timed out after 60 s (hang)"
	exit 1
fi
if [ "$got" != "$want_rc" ]; then
	echo "FAIL: exit status $got, want $want_rc (guest status $want)"
	fail=1
fi
if [ -n "$status_file" ]; then
	line=$(tr -d '\r' <"$status_file" 2>/dev/null)
	if [ "$line" != "UK_EXIT=$want" ]; then
		echo "FAIL: status channel says '$line', want 'UK_EXIT=$want'"
		fail=1
	fi
fi
if ! grep -qF -- "$text" "$tmp/out"; then
	echo "FAIL: output lacks '$text'"
	fail=1
fi
[ $fail = 0 ] && echo "PASS ($target)"
exit $fail
