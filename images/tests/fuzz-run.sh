#!/bin/sh
# Builds one ukimages libFuzzer target with clang (whatever compiler the main build uses) and runs it
# for a bounded time on its checked-in seed corpus. Usage: fuzz-run.sh TARGET OUTDIR REPO SECONDS [CLANG]
set -eu
target=$1 out=$2 repo=$3 secs=$4 clang=${5:-}
case $clang in '' | *NOTFOUND) clang=$(command -v clang || command -v clang-14 || true) ;; esac
if [ -z "$clang" ]; then
	echo "SKIP: clang not found: install clang and libclang-rt-dev to run the fuzz targets"
	exit 77
fi
mkdir -p "$out/corpus-$target" "$out/artifacts-$target"
bin=$out/fuzz_$target
src=$repo/images/src
echo "building $bin with $clang"
"$clang" -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$repo/images" -I"$src" -I"$repo/api" \
	"$repo/images/tests/fuzz_$target.c" "$src"/*.c "$repo/api/error.c" -ljson-c -lcrypto -lcurl -o "$bin"
# New inputs go to the build dir's corpus; the checked-in seeds are only read.
# libFuzzer exits 77 on a crash by default, which CTest would take for a skip.
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-artifact_prefix="$out/artifacts-$target/" "$out/corpus-$target" "$repo/images/tests/corpus/$target"
