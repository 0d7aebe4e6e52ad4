#!/bin/bash
# Files on a volume through plain stdio: files_guest writes, reboots and verifies, mounts the disk
# read-only, then fills a small disk; ukkv on the host lists the keys the files became. A disk
# holding something else is left alone.
# usage: files_run.sh TARGET KERNEL HOSTED UKKV   TARGET: microvm, pc or hosted
set -u
target=$1 kernel=$2 hosted=$3 ukkv=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
disk=$tmp/vol.img

# run MODE [ro]: boots files_guest MODE with the disk mounted at /data; 0 if it passed.
run() {
	local mode=$1 ro=${2:-} rc want
	if [ "$target" = hosted ]; then
		UK_BLOCK="$disk" timeout 60 "$hosted" "mount=blk0:/data${ro:+:ro}" -- "$mode" >"$tmp/out" 2>&1
		rc=$? want=0
	else
		command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
		local dev=virtio-blk-pci
		[ "$target" = microvm ] && dev=virtio-blk-device
		timeout 120 qemu-system-x86_64 -M "$target" -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
			-kernel "$kernel" -append "mount=blk0:/data${ro:+:ro} -- $mode" -nographic -nodefaults \
			-no-reboot -serial "file:$tmp/out" -device isa-debug-exit,iobase=0xf4,iosize=4 \
			-drive "file=$disk,if=none,id=d0,format=raw${ro:+,readonly=on}" -device "$dev,drive=d0" </dev/null
		rc=$? want=1
	fi
	sed "s/^/  $mode: /" "$tmp/out"
	[ $rc = 124 ] && { echo "FAIL: $mode: timed out (hang)"; return 1; }
	[ $rc = $want ] || { echo "FAIL: $mode: exit status $rc, want $want"; return 1; }
	grep -q SUCCESS "$tmp/out" || { echo "FAIL: $mode: no SUCCESS"; return 1; }
}

truncate -s 8M "$disk" # zeroed, as a new volume: the first mount formats it
run write || exit 1
grep -q "formatted it for /data" "$tmp/out" || { echo "FAIL: the empty disk was not formatted"; exit 1; }
run verify || exit 1
grep -q "formatted" "$tmp/out" && { echo "FAIL: the second boot formatted the disk again"; exit 1; }
"$ukkv" ls "$disk" >"$tmp/ls" || { echo "FAIL: ukkv ls"; exit 1; }
cat "$tmp/ls"
want="0 f/dir2/
4 f/dir2/renamed
10000 f/dir2/sub/a.bin
8 f/log
792 f/notes.txt"
[ "$(tr '\t' ' ' <"$tmp/ls")" = "$want" ] || { echo "FAIL: ukkv ls lists other keys; want:"; echo "$want"; exit 1; }
[ "$("$ukkv" get "$disk" f/log)" = "$(printf 'one\ntwo')" ] || { echo "FAIL: ukkv get f/log"; exit 1; }
before=$(sha256sum <"$disk")
run readonly ro || exit 1
[ "$(sha256sum <"$disk")" = "$before" ] || { echo "FAIL: a read-only mount changed the disk"; exit 1; }

rm -f "$disk"
truncate -s 1M "$disk"
run full || exit 1
"$ukkv" check "$disk" >"$tmp/check" || { cat "$tmp/check"; echo "FAIL: ukkv check after ENOSPC"; exit 1; }
run fullcheck || exit 1

# A disk that holds something else (here a few bytes in its first block) is not formatted.
rm -f "$disk"
truncate -s 1M "$disk"
printf 'not a store' | dd of="$disk" conv=notrunc status=none
before=$(sha256sum <"$disk")
run nostore || exit 1
grep -q "holds no store and is not empty" "$tmp/out" || { echo "FAIL: no message about the foreign disk"; exit 1; }
[ "$(sha256sum <"$disk")" = "$before" ] || { echo "FAIL: a disk holding something else was changed"; exit 1; }
echo "PASS ($target)"
