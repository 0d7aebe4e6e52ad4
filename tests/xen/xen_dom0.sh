#!/bin/bash
# Boots Xen 4.17 with a Debian Linux dom0 under QEMU TCG and runs unikernel test kernels, unchanged, as PVH domUs through `xl create`; checks each one's console, UK_EXIT line and shutdown reason.
# usage: xen_dom0.sh CASE...  with CASE = NAME|KERNEL|STATUS|ACTION|TEXT|CMDLINE[|DISK]
#   STATUS: the exit status the console's UK_EXIT line must give (>= 128: Xen must report a crash)
#   ACTION: run (the domU ends by itself), shutdown=WORDS (`xl shutdown` once WORDS are on its
#   console) or http=WORDS (the domU gets a vif on dom0's bridge xenbr0, 10.0.0.1/24; once WORDS
#   are on its console dom0 fetches http://10.0.0.2/, then `xl shutdown`); TEXT must be on its
#   console or in the HTTP reply
#   DISK (optional): FILE[:ACCESS] gives the domU the host's FILE as its disk xvda (blkback on a
#   loop device in dom0; ACCESS rw (default), ro, or ro-backing: the domU is told the disk is
#   writable but dom0's loop device is read-only, so the backend fails every write). Cases naming
#   the same FILE share one copy in dom0, which is written back to FILE once all cases ran.
# UK_XEN_DOM0_SCRIPT=FILE (optional): after the cases, dom0 mounts this host's root file system
#   (virtio-9p, read-only) under a tmpfs overlay at /host and runs FILE chrooted there (host
#   programs such as this build's ukd and libvirtd then run in dom0); FILE's output goes to dom0's
#   console and must end with a line "UK_SCRIPT_OK", its "FAIL: ..." lines are reported.
#   UK_XEN_SCRIPT_TIMEOUT (s, default 480) bounds it: past it dom0 prints what its processes
#   wait for (blocked tasks, the threads of ukd and libvirtd) and kills them.
#   UK_XEN_DOM0_MEM (MiB, default 384) sizes dom0; UK_XEN_DOM0_ARGS adds to dom0 Linux's command
#   line (no commas: QEMU's -initrd syntax).
# One QEMU runs all cases (the dom0 boot is the slow part). Everything comes from Debian's
# packages, fetched with `apt-get download` (never installed) into $UK_XEN_CACHE/dom0 and
# assembled into an initramfs of busybox-static + Xen's tools (tests/xen/dom0_init.sh is /init).
# Skips (77) when the packages cannot be fetched.
set -u
cache=${UK_XEN_CACHE:-${TMPDIR:-/tmp}/uk-xen-cache}
mkdir -p "$cache" && cache=$(cd "$cache" && pwd) || exit 1 # absolute: the script changes directory
deadline=${UK_XEN_TIMEOUT:-900}
here=$(cd "$(dirname "$0")" && pwd)

command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
. "$here/xen_lib.sh"
xen=$(xen_elf) || { echo "SKIP: Xen's hypervisor binary is not available (set UK_XEN_GZ to a xen.gz)"; exit 77; }

# The dom0's packages: Debian's current kernel (linux-image-amd64 names its versioned package),
# busybox-static and Xen's tools with the Xen libraries they load.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
[ -n "$kpkg" ] || { echo "SKIP: apt-cache knows no linux-image-amd64 (no Debian package lists)"; exit 77; }
dom0=$cache/dom0
fetch_debs "$dom0" "$kpkg" busybox-static xen-utils-4.17 xen-utils-common xenstore-utils \
	libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenmisc4.17 \
	libxenstore4 libxentoollog1 libxentoolcore1 libxendevicemodel1 libyajl2 ||
	{ echo "SKIP: the dom0's Debian packages cannot be fetched"; exit 77; }
root=$dom0/root
vmlinuz=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -1)
kver=${vmlinuz##*/vmlinuz-}
[ -n "$vmlinuz" ] || { echo "FAIL: $kpkg holds no /boot/vmlinuz-*"; exit 1; }

# base_initrd: the dom0's initramfs without the test kernels (built once, under the cache's lock).
base_initrd() {
	local out=$dom0/base.cpio.gz ir=$dom0/initrd bb=$root/bin/busybox
	[ -s "$out" ] && [ "$out" -nt "$here/dom0_init.sh" ] && [ "$out" -nt "$here/xen_dom0.sh" ] && return 0
	rm -rf "$ir" && mkdir -p "$ir"/{bin,sbin,usr/bin,usr/sbin,etc/xen,proc,sys,dev,lib64,lib/x86_64-linux-gnu} || return 1
	cp "$bb" "$ir/bin/busybox" || return 1
	local app bin lib m
	for app in $("$bb" --list); do
		[ -e "$ir/bin/$app" ] || ln -s busybox "$ir/bin/$app"
	done
	mkdir -p "$ir/usr/lib/xen-4.17/bin" &&
		cp -a "$root"/usr/lib/xen-4.17/bin/{xl,xenstored,xenconsoled,xen-init-dom0} "$ir/usr/lib/xen-4.17/bin/" &&
		cp -a "$root"/usr/bin/xenstore* "$ir/usr/bin/" || return 1
	printf 'autoballoon="off"\n' >"$ir/etc/xen/xl.conf"
	# The vif hotplug script libxl runs: the backend interface joins dom0's bridge.
	mkdir -p "$ir/etc/xen/scripts" && cat >"$ir/etc/xen/scripts/uk-vif" <<'EOF2' && chmod 755 "$ir/etc/xen/scripts/uk-vif" || return 1
#!/bin/sh
case $1 in
online | add)
	ip link set "$vif" up && brctl addif xenbr0 "$vif" &&
		xenstore-write "$XENBUS_PATH/hotplug-status" connected
	;;
esac
exit 0
EOF2
	# The shared libraries: Xen's from the packages, the rest (libc, zlib, ...) from this Debian host.
	for lib in $(LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu \
		ldd "$ir"/usr/lib/xen-4.17/bin/* "$ir/usr/bin/xenstore" | awk '$2 == "=>" {print $3}' | sort -u); do
		[ -f "$lib" ] || { echo "a library of Xen's tools is missing on this host: $lib" >&2; return 1; }
		cp -L "$lib" "$ir/lib/x86_64-linux-gnu/" || return 1
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$ir/lib64/" || return 1
	# glibc loads libgcc_s for pthread_cancel (xl's threads end that way).
	cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$ir/lib/x86_64-linux-gnu/" || return 1
	for m in drivers/xen/xenfs/xenfs drivers/xen/xen-evtchn drivers/xen/xen-gntdev \
		drivers/xen/xen-gntalloc drivers/xen/xen-privcmd drivers/net/xen-netback/xen-netback \
		net/bridge/bridge net/802/stp net/llc/llc \
		drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/9p/9pnet \
		net/9p/9pnet_virtio fs/netfs/netfs fs/fscache/fscache fs/9p/9p fs/overlayfs/overlay; do
		mkdir -p "$ir/lib/modules/$kver/kernel/${m%/*}" &&
			cp "$root/lib/modules/$kver/kernel/$m.ko" "$ir/lib/modules/$kver/kernel/$m.ko" || return 1
	done
	# Disks (blkback) on loop devices: the hotplug script attaches the file libxl names.
	for m in drivers/block/loop drivers/block/xen-blkback/xen-blkback; do
		mkdir -p "$ir/lib/modules/$kver/kernel/${m%/*}" &&
			cp "$root/lib/modules/$kver/kernel/$m.ko" "$ir/lib/modules/$kver/kernel/$m.ko" || return 1
	done
	cat >"$ir/etc/xen/scripts/uk-block" <<'EOF2' && chmod 755 "$ir/etc/xen/scripts/uk-block" &&
#!/bin/sh
# The disk hotplug script: the file in params on a loop device (read-only for mode "r", and always
# when called as uk-block-ro-backing), its major:minor in physical-device for blkback.
case $1 in
add)
	f=$(xenstore-read "$XENBUS_PATH/params") || exit 1
	ro=
	[ "$(xenstore-read "$XENBUS_PATH/mode")" = r ] && ro=-r
	[ "${0##*/}" = uk-block-ro-backing ] && ro=-r
	dev=$(losetup -f) && losetup $ro "$dev" "$f" || exit 1
	xenstore-write "$XENBUS_PATH/physical-device" "$(stat -L -c %t:%T "$dev")" \
		"$XENBUS_PATH/physical-device-path" "$dev" "$XENBUS_PATH/hotplug-status" connected
	;;
remove)
	dev=$(xenstore-read "$XENBUS_PATH/physical-device-path") && losetup -d "$dev"
	;;
esac
exit 0
EOF2
		ln -sf uk-block "$ir/etc/xen/scripts/uk-block-ro-backing" || return 1
	"$bb" depmod -b "$ir" "$kver" || return 1
	cp "$here/dom0_init.sh" "$ir/init" && chmod 755 "$ir/init" || return 1
	(cd "$ir" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -1 >"$out.tmp") && mv "$out.tmp" "$out"
}
(
	flock 9
	base_initrd
) 9>"$dom0/initrd.lock" || { echo "FAIL: assembling the dom0's initramfs failed"; exit 1; }

run_setup

# The cases: the test kernels and /cases go into a second (uncompressed) archive appended to the
# base one; Linux unpacks both.
mkdir -p "$tmp/ir/k" "$tmp/ir/d"
: >"$tmp/ir/cases"
names=()
declare -A want_status want_text disks
for c in "$@"; do
	IFS='|' read -r name kernel status action text cmdline disk <<<"$c"
	[ -r "$kernel" ] || { echo "FAIL: case $name: kernel $kernel not readable"; exit 1; }
	cp "$kernel" "$tmp/ir/k/$name" || exit 1
	dspec=
	if [ -n "${disk:-}" ]; then
		dfile=${disk%%:*} access=rw
		[ "$dfile" != "$disk" ] && access=${disk#*:}
		dname=$(basename "$dfile")
		[ -z "${disks[$dname]:-}" ] || [ "${disks[$dname]}" = "$dfile" ] ||
			{ echo "FAIL: case $name: two disk files named $dname"; exit 1; }
		[ -n "${disks[$dname]:-}" ] || cp "$dfile" "$tmp/ir/d/$dname" || exit 1
		disks[$dname]=$dfile
		dspec=/d/$dname:$access
	fi
	printf '%s|%s|%s|%s|%s\n' "$name" "$action" "$text" "$cmdline" "$dspec" >>"$tmp/ir/cases"
	names+=("$name")
	want_status[$name]=$status
	want_text[$name]=$text
done
script=${UK_XEN_DOM0_SCRIPT:-}
share=()
if [ -n "$script" ]; then
	cp "$script" "$tmp/ir/script" && echo "${UK_XEN_SCRIPT_TIMEOUT:-480}" >"$tmp/ir/script.timeout" || exit 1
	share=(-virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap")
fi
(cd "$tmp/ir" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null >"$tmp/cases.cpio") || exit 1
# Linux looks for the next archive at a 4-byte boundary: pad the first with zeros.
pad=$(((4 - $(stat -c %s "$dom0/base.cpio.gz") % 4) % 4))
{ cat "$dom0/base.cpio.gz" && head -c "$pad" /dev/zero && cat "$tmp/cases.cpio"; } >"$tmp/initrd"

# QEMU's -initrd takes "FILE ARGS,FILE": dom0's command line cannot hold a comma.
dmem=${UK_XEN_DOM0_MEM:-384}
qemu-system-x86_64 -accel tcg -cpu max,-smap -m $((dmem + 384)) -smp 1 -nographic -nodefaults -no-reboot \
	"${share[@]}" -chardev "socket,id=ser,path=$tmp/serial.sock,server=on,wait=off,logfile=$tmp/out" \
	-serial chardev:ser -monitor "unix:$tmp/mon.sock,server=on,wait=off" -kernel "$xen" -initrd "$vmlinuz console=hvc0 earlyprintk=xen loglevel=6${UK_XEN_DOM0_ARGS:+ $UK_XEN_DOM0_ARGS},$tmp/initrd" \
	-append "console=com1 dom0_mem=${dmem}M,max:${dmem}M dom0_max_vcpus=1 loglvl=warning guest_loglvl=warning" \
	</dev/null >"$tmp/qemu.log" 2>&1 &
qpid=$!
# stall_dump: what Xen and dom0 were doing (into $tmp/out): the vCPU's registers from QEMU's
# monitor, Xen's debug keys on its serial line (three Ctrl-A give Xen the input), then dom0's
# sysrq (hvc0: Ctrl-O then the key; 8 lets its lines through) for its blocked and all tasks.
stall_dump() {
	python3 - "$tmp" <<'EOF2' || true
import socket, sys, time
tmp = sys.argv[1]
def send(path, data, wait):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(path)
    out = b""
    for d in data:
        s.sendall(d)
        end = time.time() + wait
        while time.time() < end:
            try:
                b = s.recv(65536)
                if not b:
                    break
                out += b
            except socket.timeout:
                pass
    s.close()
    return out
mon = send(tmp + "/mon.sock", [b"info registers\n", b"x/16i $eip\n"], 3)
open(tmp + "/out", "ab").write(b"\n---- QEMU monitor\n" + mon + b"\n")
send(tmp + "/serial.sock", [b"\x01\x01\x01", b"q", b"r", b"t", b"d", b"\x01\x01\x01",
     b"\x0f8", b"\x0fw", b"\x0fl", b"\x0ft", b"\x0fm"], 8)
EOF2
}
start_ns=$(date +%s%N)
while kill -0 "$qpid" 2>/dev/null && ! grep -saqE 'UK_DOM0_DONE|Hardware Dom0 (halted|crashed)' "$tmp/out"; do
	if [ $((($(date +%s%N) - start_ns) / 1000000000)) -ge "$deadline" ]; then
		stall_dump
		tr -d '\r' <"$tmp/out"
		echo "FAIL: dom0 did not finish its cases within $deadline s"
		exit 1
	fi
	sleep 0.5
done
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
tr -d '\r' <"$tmp/out" >"$tmp/clean"
# (the disks' base64 lines left out)
sed '/^UK_DISK /,/^UK_DISK_END/{/^UK_DISK/!d}' "$tmp/clean"
cat "$tmp/qemu.log"
echo "---- results"

fail=0
# The disks as the domUs left them: "UK_DISK NAME MD5", base64 of the gzipped file, "UK_DISK_END".
for dname in "${!disks[@]}"; do
	sum=$(sed -n "s/^UK_DISK $dname \([0-9a-f]*\)\$/\1/p" "$tmp/clean")
	sed -n "/^UK_DISK $dname /,/^UK_DISK_END/{/^UK_DISK/d;p}" "$tmp/clean" | base64 -d | gzip -dc >"$tmp/disk.out" 2>/dev/null
	if [ -n "$sum" ] && [ "$(md5sum <"$tmp/disk.out" | cut -d' ' -f1)" = "$sum" ]; then
		cp "$tmp/disk.out" "${disks[$dname]}" || fail=1
	else
		echo "FAIL: disk $dname did not come back from dom0 intact"
		fail=1
	fi
done
grep -aq '^UK_DOM0_READY' "$tmp/clean" || { echo "FAIL: dom0 never got its Xen tools up"; fail=1; }
grep -a '^UK_DOM0_ERROR' "$tmp/clean" && fail=1
if [ -n "$script" ]; then
	grep -a '^FAIL: ' "$tmp/clean" && fail=1
	grep -aq '^UK_SCRIPT_OK' "$tmp/clean" || { echo "FAIL: dom0's script $script did not finish (no UK_SCRIPT_OK)"; fail=1; }
fi
for name in "${names[@]}"; do
	want=${want_status[$name]}
	res=$(grep -a "^UK_CASE $name " "$tmp/clean" | tail -1)
	reason=$(sed -n 's/.* reason=\([^ ]*\).*/\1/p' <<<"$res")
	line=$(grep -a "^$name| UK_EXIT=" "$tmp/clean" | tail -1)
	line=${line#"$name| "}
	ok=1
	[ "$line" = "UK_EXIT=$want" ] || { echo "FAIL: $name: console's status line is '$line', want 'UK_EXIT=$want'"; ok=0; }
	# SCHEDOP_shutdown's reason: 0 poweroff below 128, 3 crash for faults and aborts.
	want_reason=0
	[ "$want" -ge 128 ] && want_reason=3
	[ "$reason" = "$want_reason" ] || { echo "FAIL: $name: Xen's shutdown reason is '$reason', want $want_reason"; ok=0; }
	grep -aqF -- "$name| " "$tmp/clean" && grep -a "^$name| " "$tmp/clean" | grep -qF -- "${want_text[$name]}" ||
		{ echo "FAIL: $name: console lacks '${want_text[$name]}'"; ok=0; }
	if [ $ok = 1 ]; then
		echo "ok: $name ($res)"
	else
		fail=1
	fi
done
ready=$(sed -n 's/^UK_DOM0_READY uptime=\([0-9.]*\).*/\1/p' "$tmp/clean")
[ $fail = 0 ] && echo "PASS (xen pvh domU via xl, ${#names[@]} cases${script:+, script ${script##*/}}): QEMU start to dom0 done ${elapsed_ms} ms (TCG); dom0 ready at ${ready:-?} s of its uptime"
exit $fail
