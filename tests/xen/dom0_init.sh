#!/bin/sh
# /init of the test dom0 (busybox + Debian's Xen tools): starts xenstored and xenconsoled, runs each case of /cases as a PVH domU, prints its console and shutdown reason on dom0's console.
# /cases: one case a line, fields separated by '|': NAME|ACTION|TEXT|CMDLINE[|DISK]. ACTION is "run" (let
# the domU end by itself), "shutdown=WORDS" (once WORDS are on its console, `xl shutdown` it) or
# "http=WORDS" (a vif on xenbr0; once WORDS are on its console, fetch http://10.0.0.2/ and print
# the reply as "NAME| http: LINE", then `xl shutdown` it). The kernel
# is /k/NAME. Output per case: "NAME| LINE" for each console line, then "UK_CASE NAME reason=R"
# with R Xen's shutdown reason code as `xl create -F` reports it (0 poweroff, 3 crash), "timeout"
# or "none". DISK, /d/FILE:ACCESS (rw, ro or ro-backing), is the domU's xvda; after the last
# case each /d/FILE is printed as "UK_DISK FILE MD5", its gzipped bytes in base64, "UK_DISK_END".
# Then, if /script exists (xen_dom0.sh's UK_XEN_DOM0_SCRIPT), runs it chrooted in
# this host's root file system (9p tag "host", read-only) under a tmpfs overlay, with dom0's
# /proc, /sys, /dev and a fresh /run (xenstored's socket in it). Ends with "UK_DOM0_DONE" and
# powers dom0 off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /run /var/run/xen /var/run/xenstored /var/lib/xen /var/log/xen/console /var/lock /tmp
mount -t devpts devpts /dev/pts
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-netback bridge loop xen-blkback; do
	modprobe "$m" || echo "UK_DOM0_ERROR modprobe $m"
done
mount -t xenfs xenfs /proc/xen
echo 1 >/proc/sys/kernel/sysrq # xen_dom0.sh asks for task dumps when dom0 does not finish
t0=$(cut -d' ' -f1 /proc/uptime)
xenstored --pid-file=/var/run/xenstored.pid || echo "UK_DOM0_ERROR xenstored"
xen-init-dom0 >/tmp/init-dom0.log 2>&1 || { echo "UK_DOM0_ERROR xen-init-dom0"; cat /tmp/init-dom0.log; }
xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/var/run/xenconsoled.pid ||
	echo "UK_DOM0_ERROR xenconsoled"
# The domUs' network: a bridge their vifs join (etc/xen/scripts/uk-vif), dom0 at 10.0.0.1.
ip link set lo up
brctl addbr xenbr0 && ip addr add 10.0.0.1/24 dev xenbr0 && ip link set xenbr0 up ||
	echo "UK_DOM0_ERROR bridge xenbr0"
echo "UK_DOM0_READY uptime=$(cut -d' ' -f1 /proc/uptime) tools_from=$t0"

# run_case NAME ACTION TEXT CMDLINE DISK
run_case() {
	name=$1 action=$2 text=$3 cmdline=$4 disk=$5
	log=/var/log/xen/console/guest-$name.log
	# xl's config strings take backslash escapes: pass backslashes and quotes through.
	cmdline=$(printf '%s' "$cmdline" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")
	cat >"/tmp/$name.cfg" <<EOF
name = "$name"
type = "pvh"
kernel = "/k/$name"
cmdline = '$cmdline'
memory = 32
vcpus = 1
on_poweroff = "destroy"
on_crash = "destroy"
EOF
	if [ -n "$disk" ]; then
		access=${disk#*:} script=uk-block
		[ "$access" = ro-backing ] && access=rw script=uk-block-ro-backing
		echo "disk = [ 'format=raw,vdev=xvda,access=$access,script=/etc/xen/scripts/$script,target=${disk%%:*}' ]" >>"/tmp/$name.cfg"
	fi
	[ "${action%%=*}" = http ] &&
		echo "vif = [ 'mac=00:16:3e:00:00:02,bridge=xenbr0,script=/etc/xen/scripts/uk-vif' ]" >>"/tmp/$name.cfg"
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout 90 xl create -F "/tmp/$name.cfg" >"/tmp/$name.xl" 2>&1 &
	xl_pid=$!
	if [ "$action" != run ]; then
		i=0
		# until WORDS are on the console, the domain has ended, or 600 looks
		while [ $i -lt 600 ] && kill -0 $xl_pid 2>/dev/null && ! grep -qF -- "${action#*=}" "$log" 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ "${action%%=*}" = http ]; then
			# (busybox-static's wget -T crashes: timeout bounds it instead)
			timeout 60 wget -q -O "/tmp/$name.http" http://10.0.0.2/ || {
				echo "UK_DOM0_ERROR wget http://10.0.0.2/ from $name"
				ping -c 2 -W 2 10.0.0.2
				cat /proc/net/dev
				ls /sys/class/net/xenbr0/brif
				cat /proc/net/arp
				xenstore-ls -f /local/domain | grep -E 'vif|state'
			}
			http_lines=$(sed "s/^/$name| http: /" "/tmp/$name.http" 2>/dev/null)
		fi
		xl shutdown "$name" >"/tmp/$name.shutdown" 2>&1 ||
			{ echo "UK_DOM0_ERROR xl shutdown $name"; cat "/tmp/$name.shutdown"; }
	fi
	wait $xl_pid
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	sleep 0.2 # xenconsoled writes the last bytes it read
	reason=$(sed -n 's/.*has shut down, reason code \([0-9]*\).*/\1/p' "/tmp/$name.xl" | head -1)
	if [ "$rc" = 124 ]; then
		reason=timeout
		# Where a disk's handshake stood, and what blkback said.
		[ -n "$disk" ] && {
			xenstore-ls -f /local/domain | grep -E '/(vbd|backend/vbd)/.*(state|physical-device|hotplug|ring-ref|event-channel|sectors|error)'
			dmesg | tail -20
		}
		xl destroy "$name" 2>/dev/null
	fi
	[ -n "$reason" ] || reason=none
	sed "s/^/$name| /" "$log" 2>/dev/null
	[ -n "${http_lines:-}" ] && echo "$http_lines"
	http_lines=
	sed "s/^/$name xl| /" "/tmp/$name.xl"
	echo "UK_CASE $name reason=$reason start=$start end=$end"
}

while IFS='|' read -r name action text cmdline disk; do
	[ -n "$name" ] && run_case "$name" "$action" "$text" "$cmdline" "$disk"
done </cases
dmesg -n 1 # no kernel messages among the disks' lines
for d in /d/*; do
	[ -f "$d" ] || continue
	echo "UK_DISK ${d##*/} $(md5sum <"$d" | cut -d' ' -f1)"
	gzip -c "$d" | base64
	echo "UK_DISK_END"
done

# stall_info: what the script's processes wait for: the kernel's blocked tasks, file locks, and
# the threads of ukd and libvirtd (the host's gdb, chrooted)
stall_info() {
	echo "UK_STALL_INFO"
	dmesg -n 7
	echo w >/proc/sysrq-trigger
	sleep 2
	dmesg -n 1
	cat /proc/locks
	for p in $(chroot /host pgrep -x ukd) $(chroot /host pgrep -x libvirtd); do
		echo "threads of $(cat /proc/$p/comm) ($p):"
		chroot /host gdb -p $p -batch -ex 'thread apply all bt' 2>&1 | grep -E '^(#|Thread)'
	done
	echo "UK_STALL_INFO_END"
}

# run_script: /script chrooted in the host's file system at /host.
run_script() {
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		modprobe "$m" || { echo "UK_DOM0_ERROR modprobe $m"; return 1; }
	done
	mkdir -p /mnt/lower /mnt/upper /host &&
		mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /mnt/lower &&
		mount -t tmpfs -o mode=755 tmpfs /mnt/upper && mkdir /mnt/upper/u /mnt/upper/w &&
		mount -t overlay overlay -o lowerdir=/mnt/lower,upperdir=/mnt/upper/u,workdir=/mnt/upper/w /host ||
		{ echo "UK_DOM0_ERROR mounting the host's root file system"; return 1; }
	for d in proc sys dev dev/pts; do
		mount --bind "/$d" "/host/$d" || { echo "UK_DOM0_ERROR bind /$d"; return 1; }
	done
	mount --bind /proc/xen /host/proc/xen &&
		mount -t tmpfs -o mode=755 tmpfs /host/run && mkdir -p /host/run/xenstored /host/run/xen &&
		mount --bind /var/run/xenstored /host/run/xenstored || { echo "UK_DOM0_ERROR /host/run"; return 1; }
	# what libvirt's libxl driver reads of Xen (docs/xen.md: hw_caps and libvirt's CPU models)
	xl info | grep -E "hw_caps|xen_version|virt_caps" | sed "s/^/xl info: /"
	cp /script /host/run/uk-script || return 1
	# Bounded (/script.timeout s, xen_dom0.sh's UK_XEN_SCRIPT_TIMEOUT): past it, what its
	# processes wait for is printed and they are killed (own process group), so a hang is
	# reported with its cause instead of running into the harness's deadline.
	bound=$(cat /script.timeout 2>/dev/null || echo 480)
	setsid chroot /host /bin/sh /run/uk-script &
	spid=$!
	(
		sleep "$bound" && kill -0 $spid 2>/dev/null || exit 0
		echo "UK_DOM0_ERROR the script still runs after $bound s: stopped"
		stall_info
		kill -9 -- -$spid
	) &
	wpid=$!
	wait $spid
	rc=$?
	kill $wpid 2>/dev/null
	echo "UK_SCRIPT_EXIT $rc"
}
[ -e /script ] && run_script
echo "UK_DOM0_DONE"
poweroff -f
