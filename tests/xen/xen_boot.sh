#!/bin/bash
# Boots one unikernel test kernel, unchanged, as Xen's PVH dom0 (Xen 4.17 under QEMU TCG) and checks its output and UK_EXIT line.
# usage: xen_boot.sh KERNEL EXPECTED_STATUS EXPECTED_TEXT [-- APPEND...]
# Xen: $UK_XEN_GZ (xen.gz or the plain xen ELF), else Debian's xen-hypervisor-4.17-amd64 fetched
# with `apt-get download` (never installed) into $UK_XEN_CACHE (the build tree's xen-cache).
# Skips (77) when neither is available.
set -u
kernel=$1 want=$2 text=$3
shift 3
[ "${1:-}" = "--" ] && shift
append=$*
cache=${UK_XEN_CACHE:-${TMPDIR:-/tmp}/uk-xen-cache}
deadline=${UK_XEN_TIMEOUT:-120}

command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
# QEMU's -initrd separates modules with commas: the command line cannot hold one.
case $append in *,*) echo "xen_boot.sh: a comma in the kernel arguments cannot pass through -initrd" >&2; exit 2 ;; esac

. "$(dirname "$0")/xen_lib.sh"
xen=$(xen_elf) || { echo "SKIP: Xen's hypervisor binary is not available (set UK_XEN_GZ to a xen.gz)"; exit 77; }

run_setup

# Xen halts (poweroff) or waits 5 s then reboots (crash) when dom0 shuts down; QEMU does not exit
# on a halt, so the test ends QEMU once Xen has reported dom0's shutdown.
qemu-system-x86_64 -accel tcg -cpu max -m 512 -nographic -nodefaults -no-reboot \
	-serial "file:$tmp/out" -kernel "$xen" -initrd "$kernel $append" \
	-append "console=com1 dom0=pvh dom0-iommu=none dom0_mem=64M" </dev/null >"$tmp/qemu.log" 2>&1 &
qpid=$!
start=$SECONDS start_ns=$(date +%s%N)
reason=
while kill -0 "$qpid" 2>/dev/null; do
	reason=$(grep -aoE 'Hardware Dom0 (halted|crashed|shutdown|rebooted)' "$tmp/out" 2>/dev/null | head -1)
	[ -n "$reason" ] && break
	if [ $((SECONDS - start)) -ge "$deadline" ]; then
		tr -d '\r' <"$tmp/out"
		echo "FAIL: no dom0 shutdown within $deadline s (hang)"
		exit 1
	fi
	sleep 0.05
done
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
# QEMU may have ended (a reboot under -no-reboot) between two looks: look once more.
reason=$(grep -aoE 'Hardware Dom0 (halted|crashed|shutdown|rebooted)' "$tmp/out" 2>/dev/null | head -1)
tr -d '\r' <"$tmp/out" >"$tmp/clean"
cat "$tmp/clean"
cat "$tmp/qemu.log"

fail=0
grep -q 'Xen version 4\.' "$tmp/clean" || { echo "FAIL: Xen did not start"; fail=1; }
line=$(grep -a '^UK_EXIT=' "$tmp/clean" | tail -1)
if [ "$line" != "UK_EXIT=$want" ]; then
	echo "FAIL: console's status line is '$line', want 'UK_EXIT=$want'"
	fail=1
fi
# SCHEDOP_shutdown's reason: poweroff for an exit status below 128, crash for faults and aborts.
want_reason="Hardware Dom0 halted"
[ "$want" -ge 128 ] && want_reason="Hardware Dom0 crashed"
if [ "$reason" != "$want_reason" ]; then
	echo "FAIL: Xen reports '$reason', want '$want_reason'"
	fail=1
fi
if ! grep -qF -- "$text" "$tmp/clean"; then
	echo "FAIL: output lacks '$text'"
	fail=1
fi
# bench/boot.sh reads this figure.
[ $fail = 0 ] && echo "PASS (xen pvh dom0): QEMU start to dom0 shutdown ${elapsed_ms} ms (TCG)"
exit $fail
