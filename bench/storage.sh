#!/bin/bash
# The key-value store (uk/kv.h) in a guest on virtio-blk vs the same code on the host, same run:
# 4 KiB puts with a commit every 64, gets in scattered order and in log order (issue 13). Guests
# use QEMU's default drive options, and once more with aio=io_uring; the "ukd" row is the same
# guest as an image run by a ukd with a fresh volume (uk run -v, libvirt's disk); "blkcache=0"
# is the pc guest without runtime-lib's block cache (the runtime option turns it off).
# usage: bench/storage.sh [BUILD_DIR] [RECORDS] [ROUNDS]   prints a table (medians of ROUNDS)
set -eu
build=$(cd "${1:-build}" && pwd)
n=${2:-4096} rounds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
bench_tmp
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not installed"; exit 1; }
[ -x "$build/bench/storage_bench_host" ] || { echo "build $build first (bench/storage_bench_host)"; exit 1; }
"$build/bin/ukcc" -O2 -o "$tmp/bench.kvm" "$here/storage_bench.c" -lblock
"$build/bin/ukcc" --target=hosted -O2 -o "$tmp/bench.hosted" "$here/storage_bench.c" -lblock

# One run of WHERE on a fresh 64 MiB sparse file (the kind a volume is); prints its figures line.
one() {
	local where=$1 img=$tmp/vol.img
	rm -f "$img"
	truncate -s 64M "$img"
	case $where in
	host) "$build/bench/storage_bench_host" "$n" "$img" ;;
	hosted) UK_BLOCK=$img "$tmp/bench.hosted" -- "$n" ;;
	ukd)
		uk volume rm -f benchvol >/dev/null
		uk run --rm -v benchvol:/data uk-storage-bench "$n" 2>>"$tmp/run.err" || true
		;;
	microvm | pc | microvm-uring | pc-nocache)
		local dev=virtio-blk-device m=$where aio= opt=
		case $where in
		pc) dev=virtio-blk-pci ;;
		pc-nocache) dev=virtio-blk-pci m=pc opt=blkcache=0 ;;
		microvm-uring) m=microvm aio=,aio=io_uring ;;
		esac
		qemu-system-x86_64 -M "$m" -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
			-kernel "$tmp/bench.kvm" -append "$opt -- $n" -nographic -nodefaults -no-reboot \
			-serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
			-drive "file=$img,if=none,id=d0,format=raw$aio" -device "$dev,drive=d0" </dev/null || true
		;;
	esac | grep '^puts/s' | tr -d '\r'
}

# a ukd on a root of its own, with the guest as an image
mkdir -p "$tmp/ctx" "$tmp/root"
chmod 711 "$tmp" # a root ukd's QEMU (libvirt-qemu) passes through to the root
cp "$here/storage_bench.c" "$tmp/ctx/main.c"
printf 'FROM uk/runtime:1\nSOURCES main.c\nLIBS block\nMEMORY 64M\n' >"$tmp/ctx/Ukfile"
start_ukd "$tmp/root" "$tmp/ukd.sock" "$tmp/ukd.log" --live-restore=false
uk build -q -t uk-storage-bench "$tmp/ctx" >/dev/null

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# Rounds interleave the places, so load on the machine hits them alike. QEMU's io_uring (a
# build option) is a row of its own, left out where it is missing.
places="host hosted microvm pc pc-nocache ukd microvm-uring"
for r in $(seq "$rounds"); do
	for where in $places; do
		if ! one "$where" >>"$tmp/$where"; then
			[ "$where" = microvm-uring ] || { echo "FAIL: $where (round $r)"; exit 1; }
			places=${places% microvm-uring}
		fi
	done
done
printf '%d records of 4 KiB, a commit every 64; median of %d rounds; QEMU TCG\n\n' "$n" "$rounds"
printf '| %-30s | %9s | %9s | %12s | %13s | %12s | %13s |\n' where puts/s "vs host" "reads/s" "vs host" "in-order/s" "dev reads/get"
printf '| %-30s | %9s | %9s | %12s | %13s | %12s | %13s |\n' --- ---: ---: ---: ---: ---: ---:
hp=$(awk '{print $2}' "$tmp/host" | median)
hr=$(awk '{print $4}' "$tmp/host" | median)
for where in $places; do
	p=$(awk '{print $2}' "$tmp/$where" | median)
	rd=$(awk '{print $4}' "$tmp/$where" | median)
	io=$(awk '{print $6}' "$tmp/$where" | median)
	dr=$(awk '{print $8}' "$tmp/$where" | median)
	case $where in
	host) label="host (ukkv_host, a file)" ;;
	hosted) label="hosted target (UK_BLOCK)" ;;
	microvm-uring) label="guest, microvm, aio=io_uring" ;;
	ukd) label="guest, ukd volume (run -v)" ;;
	pc-nocache) label="guest, pc, blkcache=0" ;;
	*) label="guest, $where virtio-blk" ;;
	esac
	printf '| %-30s | %9s | %8.2fx | %12s | %12.2fx | %12s | %13s |\n' "$label" "$p" \
		"$(echo "$p / $hp" | bc -l)" "$rd" "$(echo "$rd / $hr" | bc -l)" "$io" "$dr"
done
