#!/bin/sh
# Builds ukd's libFuzzer target with clang (whatever compiler the main build uses) and runs it for a
# bounded time on its checked-in seed corpus. Usage: fuzz-run.sh OUTDIR REPO SECONDS [CLANG]
set -eu
out=$1 repo=$2 secs=$3 clang=${4:-}
case $clang in '' | *NOTFOUND) clang=$(command -v clang || command -v clang-14 || true) ;; esac
if [ -z "$clang" ]; then
	echo "SKIP: clang not found: install clang and libclang-rt-dev to run the fuzz targets"
	exit 77
fi
mkdir -p "$out/corpus" "$out/artifacts"
bin=$out/fuzz_inputs
d=$repo/daemon
echo "building $bin with $clang"
"$clang" -g -O1 -std=gnu11 -D_GNU_SOURCE -DUKD_VERSION='"fuzz"' -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$d" -I"$repo/images" -I"$repo/images/src" -I"$repo/api" \
	"$d/tests/fuzz_inputs.c" "$d/router.c" "$d/cmdline.c" "$d/names.c" "$d/util.c" "$d/policy.c" "$d/ports.c" "$d/health_parse.c" \
	"$d/store.c" "$d/log.c" "$repo/images/src"/*.c "$repo/api/error.c" "$repo/api/regauth.c" \
	-ljson-c -lcrypto -lcurl -lsqlite3 -lpthread -o "$bin"
# New inputs go to the build dir's corpus; the checked-in seeds are only read.
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$out/artifacts/" "$out/corpus" "$d/tests/corpus"
