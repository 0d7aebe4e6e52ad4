#!/bin/bash
# ukd on Xen through libvirt's libxl driver: builds the test guest as image "hello" with this build's ukd, then in the Xen dom0 harness (xen_dom0.sh) runs libvirtd and ukd --libvirt-uri xen:///system and checks uk run/stop/kill, live restore, a uk network (the website over netfront, published port and guest address, netclient resolving it by name, health checks) and volumes (blkfront; uk stats' block I/O) there (tests/xen/dom0_ukd.sh).
# usage: xen_ukd.sh BUILD_DIR [CASE...]: CASEs are xen_dom0.sh's (`xl create` domUs in the same
# dom0, before ukd's; bench/boot.sh compares both). UK_XEN_UKD_RUNS=N times N runs of
# `uk run --rm hello` (default 5: each exit of a guest once could deadlock libvirtd, docs/xen.md).
# Skips (77) without QEMU, Xen's packages or libvirt's Xen driver.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bin=$(cd "$1/bin" && pwd) || { echo "FAIL: no $1/bin"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
ls /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_libxl.so >/dev/null 2>&1 ||
	{ echo "SKIP: libvirt's Xen driver is not installed (libvirt-daemon-driver-xen: deploy/install-deps.sh)"; exit 77; }
command -v libvirtd >/dev/null || { echo "SKIP: libvirtd not installed (libvirt-daemon)"; exit 77; }

# The root lives on this host, so dom0 sees it (read-only, under its tmpfs overlay).
tmp=$(mktemp -d /tmp/uk-xen-ukd.XXXXXX) || exit 1
ukd_pid=
cleanup() {
	[ -n "$ukd_pid" ] && kill "$ukd_pid" 2>/dev/null && wait "$ukd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
root=$tmp/root
"$bin/ukd" --root "$root" --host "unix://$tmp/ukd.sock" --backend qemu >"$tmp/ukd.log" 2>&1 &
ukd_pid=$!
for _ in $(seq 300); do
	"$bin/uk" -H "unix://$tmp/ukd.sock" info >/dev/null 2>&1 && break
	sleep 0.1
done
# hello (the test guest), the website, the counter (a volume's example), netclient (a name on
# the network) and the stats guest (a write to a volume)
for b in hello:daemon/tests/guest site:images/examples/website counter:images/examples/counter \
	netclient:images/examples/netclient stats:daemon/tests/guest_stats; do
	"$bin/uk" -H "unix://$tmp/ukd.sock" build -q -t "${b%%:*}" "$src/${b#*:}" >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log" "$tmp/ukd.log"; echo "FAIL: building ${b#*:}"; exit 1; }
done
kill "$ukd_pid" && wait "$ukd_pid"
ukd_pid=
rm -f "$tmp/ukd.sock" "$root/ukd.log"

cc -shared -fPIC -o "$tmp/hwcap.so" "$here/libxl_hwcap_shim.c" -ldl ||
	{ echo "FAIL: building tests/xen/libxl_hwcap_shim.c"; exit 1; }
# XENROOT: Debian's Xen and dom0 packages as xen_dom0.sh unpacks them (its cache): dom0's
# hotplug scripts, xenstore's tools and dom0 kernel's nftables modules come from there
cache=${UK_XEN_CACHE:-${TMPDIR:-/tmp}/uk-xen-cache}
mkdir -p "$cache" && cache=$(cd "$cache" && pwd) || exit 1
{ printf 'BIN=%s\nROOT=%s\nSHIM=%s\nRUNS=%s\nXENROOT=%s\n' "$bin" "$root" "$tmp/hwcap.so" \
	"${UK_XEN_UKD_RUNS:-5}" "$cache/dom0/root" && cat "$here/dom0_ukd.sh"; } >"$tmp/script" || exit 1
# its figures (UK_XEN_T lines) are in its output, for bench/boot.sh
# clocksource=xen: dom0 Linux otherwise keeps the TSC, which under TCG drifts from Xen's time
# ("Marking clocksource 'tsc' as unstable"; that message was not the cause of the old hangs,
# libvirtd's deadlock was: docs/xen.md)
UK_XEN_DOM0_SCRIPT=$tmp/script UK_XEN_DOM0_MEM=${UK_XEN_DOM0_MEM:-448} \
	UK_XEN_DOM0_ARGS=${UK_XEN_DOM0_ARGS:-clocksource=xen} "$here/xen_dom0.sh" "${@:2}"
