#!/bin/bash
# Fails when runtime-lib's layering drivers -> platform -> arch is broken: arch/ and drivers/ reach
# the platform only through platform/bindings.h (and the public guest API, include/uk/), never a
# platform's own header or a uk_kvm_*/uk_xen_* symbol, and arch/ includes no driver.
# usage: check-runtime-layering.sh [RUNTIME_LIB_DIR [OBJECT_DIR]]
#   OBJECT_DIR: the uk-kvm target's objects (CMakeFiles/uk-kvm.dir): then the symbols the
#   compiled arch/ and drivers/ objects take from platform objects are checked too.
set -euo pipefail
rl=${1:-$(cd "$(dirname "$0")/../.." && pwd)/runtime-lib}
objs=${2:-}
bad=0
say() {
	echo "check-runtime-layering: $*"
	bad=1
}

cd "$rl"
# 1. no platform-private symbol named in arch/ or drivers/
while IFS= read -r hit; do
	say "$hit: a platform's private symbol (call it through platform/bindings.h)"
done < <(grep -rnE '\buk_(kvm|xen|hosted)_[A-Za-z0-9_]+' arch drivers || true)
# 2. no platform header but bindings.h; arch/ includes no driver
while IFS= read -r hit; do
	say "$hit: includes a platform's own header (only platform/bindings.h)"
done < <(grep -rnE '^\s*#\s*include\s+"platform/' arch drivers | grep -v '"platform/bindings.h"' || true)
while IFS= read -r hit; do
	say "$hit: arch/ includes a driver (drivers sit above arch)"
done < <(grep -rnE '^\s*#\s*include\s+"drivers/' arch || true)
# 3. the compiled objects: what arch/ and drivers/ take from platform/ is declared in bindings.h or
#    in the public guest API
if [ -n "$objs" ]; then
	[ -d "$objs/platform" ] || {
		echo "check-runtime-layering: no platform objects under $objs (build uk-kvm first)" >&2
		exit 1
	}
	declared=$(grep -ohE '\buk_[A-Za-z0-9_]+\s*\(' platform/bindings.h include/uk/*.h | tr -d '( ' | sort -u)
	plat=$(find "$objs/platform" -name '*.o' -exec nm --defined-only -g {} + | awk 'NF==3{print $3}' | sort -u)
	for dir in arch drivers; do
		[ -d "$objs/$dir" ] || continue
		used=$(find "$objs/$dir" -name '*.o' -exec nm -u {} + | awk 'NF==2{print $2}' | sort -u)
		for sym in $(comm -12 <(echo "$used") <(echo "$plat")); do
			grep -qx "$sym" <<<"$declared" ||
				say "$dir/ uses $sym from platform/, declared in neither platform/bindings.h nor include/uk/"
		done
	done
fi
[ $bad = 0 ] && echo "check-runtime-layering: arch/ and drivers/ reach the platform through platform/bindings.h only"
exit $bad
