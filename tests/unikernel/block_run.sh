#!/bin/bash
# Boots the block test twice on one disk (write, then verify after a reboot), checks the bytes landed in the host file, then once read-only.
# usage: block_run.sh TARGET KERNEL HOSTED   TARGET: pc, q35, microvm (legacy virtio-mmio),
#        microvm-modern (virtio-mmio v2), pc-modern (virtio 1.0 only), hosted
set -u
target=$1 kernel=$2 hosted=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
size=$((1024 * 1024 + 64 * 512)) # not a power of two: the capacity must come from the device
seed=$((RANDOM % 200 + 1))
disk=$tmp/disk.img
truncate -s $size "$disk"

# run MODE [ro]: boots or runs the test in MODE; prints its output; returns 0 if it passed.
run() {
	local mode=$1 ro=${2:-} rc want
	if [ "$target" = hosted ]; then
		UK_BLOCK="$disk${ro:+:ro}" timeout 60 "$hosted" "$mode" $seed $size >"$tmp/out" 2>&1
		rc=$? want=0
	else
		command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
		local m=$target dev=virtio-blk-pci extra=()
		case $target in
		pc | q35) ;;
		pc-modern) m=pc dev=virtio-blk-pci,disable-legacy=on ;;
		microvm) dev=virtio-blk-device ;;
		microvm-modern) m=microvm dev=virtio-blk-device extra=(-global virtio-mmio.force-legacy=false) ;;
		*) echo "block_run.sh: unknown target $target" >&2; exit 2 ;;
		esac
		timeout 60 qemu-system-x86_64 -M "$m" -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
			-kernel "$kernel" -append "-- $mode $seed $size" -nographic -nodefaults -no-reboot \
			-serial "file:$tmp/out" -device isa-debug-exit,iobase=0xf4,iosize=4 \
			-drive "file=$disk,if=none,id=d0,format=raw${ro:+,readonly=on}" -device "$dev,drive=d0" \
			"${extra[@]}" </dev/null
		rc=$? want=1
	fi
	cat "$tmp/out"
	[ $rc = 124 ] && { echo "FAIL: $mode: timed out (hang)"; return 1; }
	[ $rc = $want ] || { echo "FAIL: $mode: exit status $rc, want $want"; return 1; }
	grep -q SUCCESS "$tmp/out" || { echo "FAIL: $mode: no SUCCESS"; return 1; }
}

run write || exit 1
# The bytes are in the host file, where the guest said (block 0 and the last block).
python3 - "$disk" $seed $size <<'PY' || exit 1
import sys
path, seed, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, "rb").read()
def pattern(lba):
    return bytes(((lba * 131 + i * 7 + seed) ^ (i >> 9)) & 0xff for i in range(512))
last = size // 512 - 1
for lba in (0, last, 8, 300):
    if data[lba * 512:(lba + 1) * 512] != pattern(lba):
        print(f"FAIL: block {lba} of the disk file does not hold what the guest wrote"); sys.exit(1)
if data[512 * 303:512 * 304] != bytes(512):
    print("FAIL: block 303 was written, though nobody wrote it"); sys.exit(1)
print("disk file holds the guest's blocks")
PY
run verify || exit 1
before=$(sha256sum <"$disk")
run readonly ro || exit 1
[ "$(sha256sum <"$disk")" = "$before" ] || { echo "FAIL: a read-only disk changed"; exit 1; }
echo "PASS ($target)"
