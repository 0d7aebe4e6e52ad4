#!/bin/bash
# docs/debugging.md's hosted session: the debuggee built with ukcc --target=hosted under a real
# gdb (a breakpoint on step, a backtrace into main, a variable), valgrind and trap-mode UBSan.
# usage: hosted_debug.sh UKCC DEBUGGEE_DIR
set -u
ukcc=$1 src=$2
command -v gdb >/dev/null || { echo "SKIP: gdb is not installed (apt-get install gdb)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
cd "$src" || exit 1
"$ukcc" --target=hosted -g -O0 -o "$tmp/prog" main.c || { echo "FAIL: ukcc --target=hosted"; exit 1; }
out=$(gdb -q -batch -ex 'break step' -ex 'run steps 2' -ex bt -ex 'print n' "$tmp/prog" 2>&1)
echo "$out"
grep -qE '^Breakpoint 1, step \(n=1\) at main\.c:[0-9]+' <<<"$out" || { echo "FAIL: no stop at step (n=1)"; fail=1; }
grep -qE '^#1 +0x[0-9a-f]+ in main \(argc=3, argv=0x[0-9a-f]+\) at main\.c:[0-9]+' <<<"$out" || { echo "FAIL: no frame #1 in main"; fail=1; }
grep -q '^\$1 = 1$' <<<"$out" || { echo "FAIL: n is not 1"; fail=1; }
if command -v valgrind >/dev/null; then
	out=$(valgrind -q --error-exitcode=9 "$tmp/prog" steps 3 2>&1)
	rc=$?
	echo "$out"
	[ $rc = 0 ] && [ "$out" = "total 12" ] || { echo "FAIL: valgrind: exit $rc"; fail=1; }
else
	echo "valgrind not installed: that part not run"
fi
"$ukcc" --target=hosted -g -fsanitize=undefined -fsanitize-undefined-trap-on-error -o "$tmp/prog-ubsan" main.c ||
	{ echo "FAIL: the UBSan build"; fail=1; }
out=$("$tmp/prog-ubsan" steps 3 2>&1)
[ "$out" = "total 12" ] || { echo "FAIL: the UBSan build prints '$out'"; fail=1; }
[ $fail = 0 ] && echo PASS
exit $fail
