#!/bin/bash
# The one fuzz runner of every CMakeLists (runtime-lib, ukimages, ukd): builds one libFuzzer target
# with clang (ASan+UBSan) and runs it for a bounded time on its checked-in seed corpus.
# usage: run.sh NAME OUTDIR SECONDS SEED_CORPUS_DIR -- SOURCES-AND-CLANG-ARGS...
# Each source may be given as `GUEST:file.c` to compile it against runtime-lib's own headers.
# UK_FUZZ_CLANG names the compiler (a CMake find_program result; empty or *-NOTFOUND = search).
set -euo pipefail
name=$1 out=$2 secs=$3 seeds=$4
shift 4
[ "${1:-}" = "--" ] && shift
clang=${UK_FUZZ_CLANG:-}
case $clang in '' | *NOTFOUND) clang=$(command -v clang || command -v clang-14 || true) ;; esac
if [ -z "$clang" ]; then
	echo "SKIP: clang not found: install clang and libclang-rt-14-dev to run the fuzz targets"
	exit 77
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out/corpus-$name" "$out/artifacts-$name" "$out/obj-$name"
read -ra guest_defs <<<"${GUEST_DEFS:-}"
san=(-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
args=()
for a in "$@"; do
	case $a in
	GUEST:*)
		src=${a#GUEST:}
		obj=$out/obj-$name/$(basename "$src").o
		"$clang" "${san[@]}" -std=gnu11 -ffreestanding -nostdinc -isystem "$repo/runtime-lib/include" \
			-isystem "$("$clang" -print-file-name=include)" -I"$repo/runtime-lib" \
			"${guest_defs[@]+"${guest_defs[@]}"}" -c "$src" -o "$obj"
		args+=("$obj")
		;;
	*) args+=("$a") ;;
	esac
done
bin=$out/fuzz_$name
echo "building $bin with $clang"
"$clang" -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined "${args[@]}" -o "$bin"
# New inputs go to the build dir's corpus; the checked-in seeds are only read.
# libFuzzer exits 77 on a crash by default, which CTest would count as a skip.
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -error_exitcode=1 \
	-timeout_exitcode=1 -artifact_prefix="$out/artifacts-$name/" "$out/corpus-$name" "$seeds"
