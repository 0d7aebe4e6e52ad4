#!/bin/bash
# End-to-end: builds this example with ukcc -lblock and runs it three times on one zeroed disk
# (a new volume) mounted at /data: it must print 1, 2, 3; ukkv then reads the count on the host.
# usage: test.sh UKCC UKKV [TARGET]   TARGET: microvm (default), pc or hosted; exit 77: no QEMU
set -u
ukcc=$1 ukkv=$2 target=${3:-microvm}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$target" = hosted ]; then
	"$ukcc" --target=hosted -O2 -o "$tmp/counter" "$here/main.c" -lblock || { echo "FAIL: build"; exit 1; }
else
	command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
	"$ukcc" -O2 -o "$tmp/counter" "$here/main.c" -lblock || { echo "FAIL: build"; exit 1; }
fi
truncate -s 4M "$tmp/vol.img"
for want in 1 2 3; do
	if [ "$target" = hosted ]; then
		UK_BLOCK="$tmp/vol.img" timeout 60 "$tmp/counter" mount=blk0:/data -- >"$tmp/out" 2>&1
		rc=$? ok=0
	else
		dev=virtio-blk-pci
		[ "$target" = microvm ] && dev=virtio-blk-device
		timeout 120 qemu-system-x86_64 -M "$target" -accel tcg -m 16 -bios /usr/share/qemu/qboot.rom \
			-kernel "$tmp/counter" -append "mount=blk0:/data --" -nographic -nodefaults -no-reboot \
			-serial "file:$tmp/out" -device isa-debug-exit,iobase=0xf4,iosize=4 \
			-drive "file=$tmp/vol.img,if=none,id=d0,format=raw" -device "$dev,drive=d0" </dev/null
		rc=$? ok=1
	fi
	cat "$tmp/out"
	[ $rc = $ok ] && grep -qx "$want" "$tmp/out" ||
		{ echo "FAIL: run $want printed the above (exit status $rc)"; exit 1; }
done
[ "$("$ukkv" get "$tmp/vol.img" f/count)" = 3 ] || { echo "FAIL: ukkv get f/count is not 3"; exit 1; }
echo "PASS: 1, 2, 3 ($target)"
