#!/bin/bash
# Crash consistency in a guest: kv_guest commits numbered records on virtio-blk until QEMU is
# killed with SIGKILL at a random moment; after each of ROUNDS kills, every record the guest
# printed as committed must be there and whole (checked by the next boot and by ukkv on the host).
# Then the counter: three boots on one disk print 1, 2, 3.
# usage: kv_crash.sh KERNEL UKKV [ROUNDS]
set -u
kernel=$1 ukkv=$2 rounds=${3:-20}
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
tmp=$(mktemp -d)
qpid=
trap '[ -n "$qpid" ] && kill -9 $qpid 2>/dev/null; rm -rf "$tmp"' EXIT
disk=$tmp/vol.img
truncate -s 32M "$disk"

boot() { # boot MODE OUT: QEMU in the background, its pid in qpid
	qemu-system-x86_64 -M microvm -accel tcg -m 32 -bios /usr/share/qemu/qboot.rom \
		-kernel "$kernel" -append "-- $1" -nographic -nodefaults -no-reboot \
		-serial "file:$2" -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-drive "file=$disk,if=none,id=d0,format=raw" -device virtio-blk-device,drive=d0 </dev/null &
	qpid=$!
}

last=0 total_kills=0
for round in $(seq 1 "$rounds"); do
	out=$tmp/out.$round
	boot records "$out"
	# Wait until the guest has verified the store and committed something, then a random moment.
	for _ in $(seq 1 300); do grep -q '^committed' "$out" 2>/dev/null && break; sleep 0.05; done
	grep -q FAIL "$out" && { cat "$out"; echo "FAIL: round $round"; exit 1; }
	sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
	kill -9 $qpid
	wait $qpid 2>/dev/null
	qpid=
	total_kills=$((total_kills + 1))
	# SIGKILL can cut the last line short ("committed 10" of "committed 1048"): whole lines only.
	[ -z "$(tail -c1 "$out")" ] || sed -i '$d' "$out"
	verified=$(sed -n 's/^verified \([0-9]*\) records.*/\1/p' "$out" | tr -d '\r')
	printed=$(grep -c '^committed' "$out")
	committed=$(grep '^committed' "$out" | tail -1 | tr -dc 0-9)
	[ -n "$verified" ] || { cat "$out"; echo "FAIL: round $round: the guest did not verify the store"; exit 1; }
	[ "$verified" -ge "$last" ] || { echo "FAIL: round $round: the store holds $verified records, but $last were committed"; exit 1; }
	last=${committed:-$verified}
	# The host reads the same store: every committed record listed; at most one more (in flight).
	n=$("$ukkv" ls "$disk" rec/ | wc -l) || { echo "FAIL: ukkv ls"; exit 1; }
	"$ukkv" check "$disk" >"$tmp/check" || { cat "$tmp/check"; echo "FAIL: ukkv check after round $round"; exit 1; }
	[ "$n" -ge "$last" ] && [ "$n" -le $((last + 1)) ] ||
		{ echo "FAIL: round $round: $n records on disk, $last committed"; exit 1; }
	echo "round $round: had $verified, committed $printed more (to $last), killed; $n on disk"
done
# A last boot verifies every record.
boot verify "$tmp/final"
wait $qpid
rc=$?
qpid=
cat "$tmp/final"
[ $rc = 1 ] && grep -q SUCCESS "$tmp/final" || { echo "FAIL: final verify (status $rc)"; exit 1; }
v=$(sed -n 's/^verified \([0-9]*\) records.*/\1/p' "$tmp/final" | tr -d '\r')
[ "$v" -ge "$last" ] || { echo "FAIL: final: $v records, $last committed"; exit 1; }
grep -q '^torn records ignored' "$tmp/check" && sed -n 's/^/ukkv check: /p' "$tmp/check"

# The counter: three runs on a fresh disk print 1, 2, 3.
rm -f "$disk"
truncate -s 1M "$disk"
for want in 1 2 3; do
	boot counter "$tmp/c$want"
	wait $qpid
	rc=$?
	qpid=
	grep -q "^count $want" "$tmp/c$want" && [ $rc = 1 ] ||
		{ cat "$tmp/c$want"; echo "FAIL: counter run $want (status $rc)"; exit 1; }
done
echo "counter: 1, 2, 3"
echo "PASS: $total_kills kills, $last records committed, none lost or torn"
