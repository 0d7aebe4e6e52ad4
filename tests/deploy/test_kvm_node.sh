#!/bin/sh
# deploy/install-deps.sh leaves /dev/kvm root:kvm 0660 (as udev on Debian would) on a host where no
# udev rule ran (crw------- root root; issue 10), checked on a private /dev in a mount namespace.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (install-deps.sh changes /dev/kvm as root)"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }
# shellcheck disable=SC2016
out=$(unshare -m sh -c '
	mount --make-rprivate / 2>/dev/null || true
	mount -t tmpfs -o mode=755 uk-test-dev /dev || exit 77
	mknod /dev/null c 1 3 && chmod 666 /dev/null || exit 77
	mknod /dev/kvm c 10 232 && chmod 600 /dev/kvm || exit 77
	"$1/deploy/install-deps.sh" >&2 || exit 1
	stat -c %U:%G:%a /dev/kvm
' sh "$src") || {
	rc=$?
	[ $rc -eq 77 ] && echo "SKIP: cannot make a private /dev with a kvm node here"
	exit $rc
}
if [ "$out" != "root:kvm:660" ]; then
	echo "FAIL: /dev/kvm after install-deps.sh is $out, expected root:kvm:660"
	exit 1
fi
echo "PASS: /dev/kvm root:root 600 -> $out"
