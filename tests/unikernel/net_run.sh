#!/bin/bash
# Boots a virtio driver test under TCG with the devices MODE asks for and checks it prints SUCCESS and exits 0.
# usage: net_run.sh MODE MACHINE KERNEL [APPEND...]
#   MODE:    nic (virtio-net, QEMU's default transport), nic-modern (virtio 1.0 only: PCI
#            disable-legacy=on, MMIO force-legacy=off), rng (virtio-rng), none (no device; the
#            trace must show PCI config reads of bus 0 only), idle (NIC up; QEMU's CPU time while
#            the guest idles 3 s must stay near zero)
#   MACHINE: pc, q35, microvm, microvm-noacpi (microvm,acpi=off)
# Networking is QEMU's user mode with restrict=on: the guest reaches only slirp's 10.0.2.x.
set -u
mode=$1 machine=$2 kernel=$3
shift 3
append=$*
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

m=$machine bus=pci
case $machine in
pc | q35) ;;
microvm) bus=mmio ;;
microvm-noacpi) m=microvm,acpi=off bus=mmio ;;
*) echo "net_run.sh: unknown machine $machine" >&2; exit 2 ;;
esac
if [ $bus = pci ]; then net=virtio-net-pci rng=virtio-rng-pci; else net=virtio-net-device rng=virtio-rng-device; fi
nic=(-netdev user,id=n0,restrict=on -device "$net,netdev=n0,mac=52:54:00:12:34:56")
dev=()
case $mode in
nic | idle) dev=("${nic[@]}") ;;
nic-modern)
	if [ $bus = pci ]; then
		dev=(-netdev user,id=n0,restrict=on -device "$net,netdev=n0,mac=52:54:00:12:34:56,disable-legacy=on")
	else
		dev=("${nic[@]}" -global virtio-mmio.force-legacy=false)
	fi
	;;
rng) dev=(-device "$rng") ;;
none) dev=(-trace "memory_region_ops_*,file=$tmp/trace") ;;
*) echo "net_run.sh: unknown mode $mode" >&2; exit 2 ;;
esac
qemu=(qemu-system-x86_64 -M "$m" -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom
	-kernel "$kernel" -append "$append" -nographic -nodefaults -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=4 "${dev[@]}")

if [ $mode = idle ]; then
	# CPU time of the QEMU process between the guest's "idle start" and "idle end" lines.
	python3 - "${qemu[@]}" -serial stdio <<'PY'
import os, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
marks, out = {}, []
deadline = time.monotonic() + 60
for line in p.stdout:
    out.append(line)
    print(line, end="")
    for k in ("idle start", "idle end"):
        if line.startswith(k):
            marks[k] = (time.monotonic(), cpu())
    if time.monotonic() > deadline:
        p.kill()
rc = p.wait()
if rc != 1 or not any("SUCCESS" in l for l in out) or len(marks) != 2:
    print(f"FAIL: exit status {rc}"); sys.exit(1)
wall = marks["idle end"][0] - marks["idle start"][0]
busy = marks["idle end"][1] - marks["idle start"][1]
print(f"idle with a NIC: {busy:.2f} s of QEMU CPU over {wall:.2f} s ({100 * busy / wall:.1f}%)")
if busy > 0.1 * wall:
    print("FAIL: the guest kept a host CPU busy while idle"); sys.exit(1)
print("PASS")
PY
	exit $?
fi

timeout 60 "${qemu[@]}" -serial "file:$tmp/out" </dev/null
got=$?
cat "$tmp/out"
fail=0
[ "$got" = 124 ] && { echo "FAIL: timed out after 60 s (hang)"; exit 1; }
[ "$got" = 1 ] || { echo "FAIL: exit status $got, want 1 (guest status 0)"; fail=1; }
grep -q SUCCESS "$tmp/out" || { echo "FAIL: output lacks SUCCESS"; fail=1; }
if [ $mode = none ]; then
	# Port 0xcf8 takes the config address: bits 23-16 are the bus. Only bus 0 may appear.
	other=$(grep -o ' addr 0xcf8 value 0x[0-9a-f]*' "$tmp/trace" | while read -r _ _ _ v; do
		[ $(((v >> 16) & 0xff)) = 0 ] || echo "$v"
	done | wc -l)
	total=$(grep -v fwcfg "$tmp/trace" | grep -c memory_region_ops)
	cfg=$(grep -c ' addr 0xcf8 ' "$tmp/trace")
	echo "device accesses boot to exit: $total (PCI config address writes: $cfg, to buses other than 0: $other)"
	[ "$other" = 0 ] || { echo "FAIL: PCI buses other than 0 were scanned"; fail=1; }
fi
[ $fail = 0 ] && echo "PASS ($mode $machine)"
exit $fail
