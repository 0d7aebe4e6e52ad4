#!/bin/bash
# The README's test command: builds uk twice (plain, and host code with ASan/UBSan) and runs every CTest test.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}

build() {
	local dir=$1
	shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
}

echo "== format check"
./tests/check-format.sh

echo "== build (gcc, -Werror)"
build build
echo "== build (ASan + UBSan host code)"
build build-asan -DUK_SANITIZE=ON

echo "== tests"
rc=0
ctest --test-dir build --output-on-failure -j"$jobs" || rc=1
echo "== sanitizer tests (unit)"
# Integration tests do not run against the ASan build: libvirt (inside ukd) forks from many
# threads and mallocs in the child before exec; ASan's allocator is not fork-safe, so children
# deadlock at random (seen here in ukd_restart and cli_integration). The unit tests cover the
# daemon's, CLI's and images' code under ASan+UBSan; the integration tests run above.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit || rc=1
exit $rc
