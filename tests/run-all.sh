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
ctest --test-dir build --output-on-failure -j"$jobs" -E '^xen\.ukd$' || rc=1
# xen.ukd (ukd driving Xen through libvirt inside the nested dom0 harness, TCG in TCG) is
# quarantined: its dom0 hangs in about one run of two (docs/xen.md, "Known flake"), and a hung
# run costs its 20-minute bound. UK_TEST_XEN_UKD=1 runs it here; `ctest -L xen` runs it alone.
if [ "${UK_TEST_XEN_UKD:-0}" = 1 ]; then
	ctest --test-dir build --output-on-failure -R '^xen\.ukd$' || rc=1
else
	echo "xen.ukd not run: quarantined (docs/xen.md, Known flake); UK_TEST_XEN_UKD=1 runs it"
fi
echo "== sanitizer tests (unit)"
# Integration tests do not run against the ASan build: libvirt (inside ukd) forks from many
# threads and mallocs in the child before exec; ASan's allocator is not fork-safe, so children
# deadlock at random (seen here in ukd_restart and cli_integration). The unit tests cover the
# daemon's, CLI's and images' code under ASan+UBSan; the integration tests run above.
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit || rc=1
exit $rc
