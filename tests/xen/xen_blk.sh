#!/bin/bash
# blkfront on Xen: the counter example prints 1, 2, 3 across three PVH domU boots on one disk file, reads a count the host's ukkv wrote, fails cleanly on a read-only disk and on a backend that fails writes; uk/block.h's own test writes, reads back and verifies across a boot. The disks come back to the host, where ukkv reads what the domUs wrote.
# usage: xen_blk.sh COUNTER_KERNEL BLOCK_KERNEL UKKV   (kernels built with ukcc -lblock)
# One dom0 boot runs every case (tests/xen/xen_dom0.sh); skips (77) as it does.
set -u
counter=$1 block=$2 ukkv=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# vol.img: a new (zeroed) volume; host.img: a store the host made, count 41; blk.img: for
# block.c, a size that is not a power of two (the capacity must come from the backend).
truncate -s 4M "$tmp/vol.img"
"$ukkv" format "$tmp/host.img" 1m && printf '41\n' | "$ukkv" put "$tmp/host.img" f/count ||
	{ echo "FAIL: ukkv could not make host.img"; exit 1; }
size=$((1024 * 1024 + 64 * 512))
seed=$((RANDOM % 200 + 1))
truncate -s $size "$tmp/blk.img"
m="mount=blk0:/data --"
"$here/xen_dom0.sh" \
	"count1|$counter|0|run|was empty: formatted it|$m|$tmp/vol.img" \
	"count2|$counter|0|run|UK_EXIT=0|$m|$tmp/vol.img" \
	"count3|$counter|0|run|UK_EXIT=0|$m|$tmp/vol.img" \
	"hostkv|$counter|0|run|UK_EXIT=0|$m|$tmp/host.img" \
	"readonly|$counter|1|run|Read-only file system|$m|$tmp/vol.img:ro" \
	"badbackend|$counter|1|run|counter: |$m|$tmp/host.img:ro-backing" \
	"blkwrite|$block|0|run|SUCCESS|-- write $seed $size|$tmp/blk.img" \
	"blkverify|$block|0|run|SUCCESS|-- verify $seed $size|$tmp/blk.img" \
	"blkro|$block|0|run|SUCCESS|-- readonly $seed $size|$tmp/blk.img:ro" \
	>"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc = 0 ] || exit $rc
fail=0
# The counter's own line (exactly the number) in each boot.
for want in count1:1 count2:2 count3:3 hostkv:42; do
	grep -aqx "${want%%:*}| ${want#*:}" "$tmp/out" ||
		{ echo "FAIL: ${want%%:*} did not print ${want#*:}"; fail=1; }
done
grep -aq '^blkwrite| blk0: .* flush 1$' "$tmp/out" ||
	{ echo "FAIL: blkwrite: the writable disk does not offer flush (feature-flush-cache)"; fail=1; }
# What the domUs wrote, read on the host; the failed writes changed nothing.
[ "$("$ukkv" get "$tmp/vol.img" f/count)" = 3 ] || { echo "FAIL: ukkv get vol.img f/count is not 3"; fail=1; }
[ "$("$ukkv" get "$tmp/host.img" f/count)" = 42 ] || { echo "FAIL: ukkv get host.img f/count is not 42"; fail=1; }
"$ukkv" check "$tmp/vol.img" >/dev/null && "$ukkv" check "$tmp/host.img" >/dev/null ||
	{ echo "FAIL: ukkv check failed on an image a domU wrote"; fail=1; }
[ $fail = 0 ] && echo "PASS: blkfront: counter 1, 2, 3 and 42 over the host's store; read-only and failing backends reported"
exit $fail
