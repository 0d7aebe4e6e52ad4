#!/bin/sh
# /init of the test dom0 (busybox + Debian's Xen tools): starts xenstored and xenconsoled, runs each case of /cases as a PVH domU, prints its console and shutdown reason on dom0's console.
# /cases: one case a line, fields separated by '|': NAME|ACTION|TEXT|CMDLINE. ACTION is "run" (let
# the domU end by itself) or "shutdown=WORDS" (once WORDS are on its console, `xl shutdown` it). The kernel
# is /k/NAME. Output per case: "NAME| LINE" for each console line, then "UK_CASE NAME reason=R"
# with R Xen's shutdown reason code as `xl create -F` reports it (0 poweroff, 3 crash), "timeout"
# or "none". Ends with "UK_DOM0_DONE" and powers dom0 off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /run /var/run/xen /var/run/xenstored /var/lib/xen /var/log/xen/console /var/lock /tmp
mount -t devpts devpts /dev/pts
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd; do
	modprobe "$m" || echo "UK_DOM0_ERROR modprobe $m"
done
mount -t xenfs xenfs /proc/xen
t0=$(cut -d' ' -f1 /proc/uptime)
xenstored --pid-file=/var/run/xenstored.pid || echo "UK_DOM0_ERROR xenstored"
xen-init-dom0 >/tmp/init-dom0.log 2>&1 || { echo "UK_DOM0_ERROR xen-init-dom0"; cat /tmp/init-dom0.log; }
xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/var/run/xenconsoled.pid ||
	echo "UK_DOM0_ERROR xenconsoled"
echo "UK_DOM0_READY uptime=$(cut -d' ' -f1 /proc/uptime) tools_from=$t0"

# run_case NAME ACTION TEXT CMDLINE
run_case() {
	name=$1 action=$2 text=$3 cmdline=$4
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
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout 90 xl create -F "/tmp/$name.cfg" >"/tmp/$name.xl" 2>&1 &
	xl_pid=$!
	if [ "${action%%=*}" = shutdown ]; then
		i=0
		while [ $i -lt 600 ] && ! grep -qF -- "${action#shutdown=}" "$log" 2>/dev/null; do
			sleep 0.1
			i=$((i + 1))
		done
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
		xl destroy "$name" 2>/dev/null
	fi
	[ -n "$reason" ] || reason=none
	sed "s/^/$name| /" "$log" 2>/dev/null
	sed "s/^/$name xl| /" "/tmp/$name.xl"
	echo "UK_CASE $name reason=$reason start=$start end=$end"
}

while IFS='|' read -r name action text cmdline; do
	[ -n "$name" ] && run_case "$name" "$action" "$text" "$cmdline"
done </cases
echo "UK_DOM0_DONE"
poweroff -f
