# Run by dom0 (xen_dom0.sh's UK_XEN_DOM0_SCRIPT, chrooted in this host's file system): libvirtd with its Xen (libxl) driver, this build's ukd on xen:///system, and uk runs PVH domUs through it.
# xen_ukd.sh prepends BIN (this build's bin/), ROOT (a ukd root holding the images "hello",
# daemon/tests/guest, "site", "counter" and "netclient", images/examples, and "stats",
# daemon/tests/guest_stats), XENROOT (Debian's Xen packages
# unpacked: hotplug scripts, xenstore tools, dom0's kernel modules) and SHIM (tests/xen/libxl_hwcap_shim.c built: libvirtd preloads it, see
# there). Prints "FAIL: ..." for each failed check, "ok: ..." for the others,
# "UK_XEN_T name=SECONDS" figures, and "UK_SCRIPT_OK" at its end.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
sock=/run/uk.sock
uk() { timeout -k 10 120 "$BIN/uk" -H "unix://$sock" "$@"; } # never waits forever
now() { cut -d' ' -f1 /proc/uptime; }
# dump: what ukd, libvirtd and libxl said (at the first failure: a later step may hang)
dump() {
	grep -v ' debug  *http: ' "$ROOT/ukd.log" | tail -60 | sed 's/^/ukd.log| /'
	tail -30 /run/libvirtd.log | sed 's/^/libvirtd| /'
	tail -30 /var/log/libvirt/libxl/libxl-driver.log 2>/dev/null | sed 's/^/libxl| /'
}
fail() {
	echo "FAIL: $*"
	[ $failed = 0 ] && dump
	failed=1
}
failed=0
# /var/lock is /run/lock: libvirt locks the console pty there
mkdir -p /run/lock /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt /var/lib/xen /var/log/xen

# What a Debian dom0 with xen-utils-common has and this host's root lacks (written into the
# overlay): libxl's hotplug scripts (vif-bridge puts a vif on its bridge, block puts a disk's
# file on a loop device for blkback) and xenstore's tools they call. ukd's nftables table needs
# dom0 kernel's netfilter modules: loaded from its package, by busybox's insmod, in order (the
# kernel's own request_module finds none of them here: 6.1 wants nft_meta_bridge for any `meta`
# or `ip` match in the bridge table, nft_limit/nft_connlimit/nft_reject* for the DNS limits).
# udev makes /dev/stdin and friends; dom0's devtmpfs has none, and the scripts' lock
# (locking.sh: `stat /dev/stdin`) would spin until libxl's hotplug timeout without them
for f in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
	[ -e "/dev/${f%%:*}" ] || ln -s "${f#*:}" "/dev/${f%%:*}"
done
mkdir -p /etc/xen/scripts /run/xen-hotplug &&
	cp -a "$XENROOT"/etc/xen/scripts/. /etc/xen/scripts/ && cp -a "$XENROOT"/usr/bin/xenstore* /usr/bin/ ||
	fail "installing Xen's hotplug scripts from $XENROOT"
km=$XENROOT/lib/modules/$(uname -r)/kernel
for m in crypto/crc32c_generic lib/libcrc32c net/netfilter/nfnetlink net/ipv4/netfilter/nf_defrag_ipv4 \
	net/ipv6/netfilter/nf_defrag_ipv6 net/netfilter/nf_conntrack net/netfilter/nf_nat \
	net/netfilter/nf_tables net/netfilter/nft_ct net/netfilter/nft_chain_nat net/netfilter/nft_nat \
	net/netfilter/nft_masq net/bridge/netfilter/nft_meta_bridge net/netfilter/nft_limit \
	net/netfilter/nf_conncount net/netfilter/nft_connlimit net/netfilter/nft_reject \
	net/ipv4/netfilter/nf_reject_ipv4 net/ipv4/netfilter/nft_reject_ipv4; do
	grep -q "^${m##*/} " /proc/modules || "$XENROOT/bin/busybox" insmod "$km/$m.ko" ||
		fail "insmod $km/$m.ko"
done

t=$(now)
LD_PRELOAD=$SHIM libvirtd >/run/libvirtd.log 2>&1 &
lvpid=$!
i=0
while [ $i -lt 600 ] && [ ! -S /run/libvirt/libvirt-sock ] && kill -0 $lvpid 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
echo "UK_XEN_T libvirtd=$(echo "$(now) $t" | awk '{print $1 - $2}')"

# start_ukd: this build's ukd on libvirt's Xen driver, ukd.log in the root; waits until it
# answers (its socket file appears just before it listens: a connection then is refused).
start_ukd() {
	rm -f "$sock"
	"$BIN/ukd" --root "$ROOT" --host "unix://$sock" --libvirt-uri xen:///system \
		--log-level debug >>"$ROOT/ukd.log" 2>&1 &
	ukd_pid=$!
	i=0
	while [ $i -lt 300 ] && kill -0 $ukd_pid 2>/dev/null && ! "$BIN/uk" -H "unix://$sock" version >/dev/null 2>&1; do
		sleep 0.2
		i=$((i + 1))
	done
	[ $i -lt 300 ] && return 0
	# what ukd (stuck in its start) and libvirtd wait for
	fail "ukd does not answer on $sock after its start"
	for p in $ukd_pid $lvpid; do
		gdb -p $p -batch -ex 'thread apply all bt' 2>&1 | grep -E '^(#|Thread)' | sed "s/^/gdb $p| /"
	done
}
start_ukd
info=$(uk info 2>&1)
echo "$info" | sed 's/^/info| /'
echo "$info" | grep -q 'Hypervisor: *Xen 4\.' && echo "ok: uk info names Xen" ||
	fail "uk info does not report Xen as the hypervisor"
echo "$info" | grep -q '^Accelerator: *xen (guests run as Xen PVH domains)' &&
	echo "ok: uk info's accelerator is xen" || fail "uk info's accelerator is not xen"

# hello: output and status 0
t=$(now)
out=$(timeout 120 "$BIN/uk" -H "unix://$sock" run --rm hello 2>&1)
rc=$?
echo "UK_XEN_T run_rm_hello=$(echo "$(now) $t" | awk '{print $1 - $2}')"
echo "$out" | sed 's/^/hello| /'
{ [ $rc = 0 ] && echo "$out" | grep -q 'uktest says hello'; } && echo "ok: uk run --rm hello" ||
	fail "uk run --rm hello: exit $rc, want 0 and 'uktest says hello'"
echo "$out" | grep -q UK_EXIT= && fail "uk run --rm hello: the status line is in the console output"

# libvirt's domain capabilities of Xen, checked before each start as QEMU's are
probe=$(uk --format json info 2>&1 | tr -d ' \n' | sed -n 's/.*"probe":"\([a-z]*\)".*/\1/p')
[ "$probe" = ready ] && echo "ok: libvirt's check of Xen: ready" || fail "backend probe state '$probe', want ready"
# more runs for bench/boot.sh (RUNS, default 1): time only
for _ in $(seq 2 "${RUNS:-1}"); do
	t=$(now)
	timeout 120 "$BIN/uk" -H "unix://$sock" run --rm hello >/dev/null 2>&1 || fail "uk run --rm hello (timed)"
	echo "UK_XEN_T run_rm_hello=$(echo "$(now) $t" | awk '{print $1 - $2}')"
done
# ukd's own figure: virDomainCreateXML (paused) + console open + resume
sed -n 's/.*started uk-[0-9a-f]* (xen pvh) in \([0-9]*\) ms.*/UK_XEN_T start_ms=\1/p' "$ROOT/ukd.log"

# a nonzero status, without --rm: uk logs reads the exited guest's console afterwards
out=$(timeout 120 "$BIN/uk" -H "unix://$sock" run --name ex3 hello exit 3 2>&1)
rc=$?
echo "$out" | sed 's/^/exit3| /'
{ [ $rc = 3 ] && echo "$out" | grep -q 'arg 2: 3'; } && echo "ok: uk run hello exit 3" ||
	fail "uk run hello exit 3: exit $rc, want 3"
out=$(uk logs ex3 2>&1)
{ echo "$out" | grep -q 'uktest says hello' && echo "$out" | grep -q 'arg 2: 3' &&
	! echo "$out" | grep -q UK_EXIT=; } && echo "ok: uk logs ex3 after its exit: its output" ||
	fail "uk logs ex3 after its exit: '$out'"
out=$(uk rm ex3 2>&1) || fail "uk rm ex3: $out"

# uk stop: the graceful path (control/shutdown); the guest has no handler: 143
out=$(uk run -d --name long hello forever 2>&1) || fail "uk run -d long: $out"
i=0
while [ $i -lt 300 ] && ! uk logs long 2>/dev/null | grep -q 'tick 1'; do
	sleep 0.1
	i=$((i + 1))
done
uk logs long 2>&1 | tail -3 | sed 's/^/long| /'
t=$(now)
out=$(uk stop long 2>&1) || fail "uk stop long: $out"
echo "UK_XEN_T stop=$(echo "$(now) $t" | awk '{print $1 - $2}')"
code=$(uk inspect --format '{{.State.ExitCode}}' long 2>&1)
[ "$code" = 143 ] && echo "ok: uk stop long: exit 143" || fail "uk stop long: exit code '$code', want 143"

# live restore: ukd killed (-9) and started again finds the guest running, reads its console
# again, and kills it
out=$(uk run -d --name lr hello forever 2>&1) || fail "uk run -d lr: $out"
sleep 1
kill -9 $ukd_pid
wait $ukd_pid 2>/dev/null
start_ukd
state=$(uk inspect --format '{{.State.Status}}' lr 2>&1)
[ "$state" = running ] && echo "ok: lr still running after kill -9 of ukd" ||
	fail "lr after kill -9 of ukd: state '$state', want running"
n1=$(uk logs lr 2>/dev/null | grep -c tick)
n2=$n1
i=0 # a tick every 200 ms of the guest's time: seconds apart on a loaded machine (nested TCG)
while [ $i -lt 100 ] && [ "$n2" -le "$n1" ]; do
	sleep 0.2
	n2=$(uk logs lr 2>/dev/null | grep -c tick)
	i=$((i + 1))
done
[ "$n2" -gt "$n1" ] && echo "ok: lr's console is read again ($n1 -> $n2 ticks)" ||
	fail "lr's console is not read after the restart ($n1 -> $n2 ticks)"
out=$(uk kill lr 2>&1) || fail "uk kill lr: $out"
uk wait lr >/dev/null 2>&1
code=$(uk inspect --format '{{.State.ExitCode}}' lr 2>&1)
[ "$code" = 137 ] && echo "ok: uk kill lr: exit 137" || fail "uk kill lr: exit code '$code', want 137"

# ---- a uk network: the website on netfront, a vif on the network's bridge
# (a ukd that died above was reported there; these checks get one of their own)
kill -0 $ukd_pid 2>/dev/null || { fail "ukd (pid $ukd_pid) died before the network checks"; start_ukd; }
# netdump: where the vif and the bridge stand (at a network check's failure)
netdump() {
	ip -o link | sed 's/^/link| /'
	ip -o addr | sed 's/^/addr| /'
	xenstore-ls -f /local/domain/0/backend 2>/dev/null | grep -E 'vif|vbd' | grep -E 'state|hotplug|bridge|vifname|params|physical' | sed 's/^/xs| /'
	tail -20 /var/log/xen/xen-hotplug.log 2>/dev/null | sed 's/^/hotplug| /'
}
out=$(uk network create web 2>&1) || fail "uk network create web: $out"
br=$(uk --format json network inspect web 2>&1 | tr -d ' \n' | sed -n 's/.*"bridge":"\([^"]*\)".*/\1/p')
gw=$(uk --format json network inspect web 2>&1 | tr -d ' \n' | sed -n 's/.*"gateway":"\([^"]*\)".*/\1/p')
echo "network| web: bridge '$br' gateway '$gw'"
# without a network, a published port has nowhere to go on Xen: 400, nothing runs
out=$(uk run --rm -p 127.0.0.1:8081:80 site 2>&1)
rc=$?
echo "$out" | sed 's/^/noport| /'
{ [ $rc != 0 ] && echo "$out" | grep -q 'need a uk network' && echo "$out" | grep -q -- '--network NET'; } &&
	echo "ok: -p without --network on Xen: refused, naming --network" ||
	fail "uk run -p without --network on Xen: exit $rc, want a refusal naming --network"
t=$(now)
out=$(uk run -d --name site --network web -p 127.0.0.1:8080:80 --health-http 80/ \
	--health-interval 1s --health-timeout 3s site 2>&1) || fail "uk run -d --network web site: $out"
code=
i=0
while [ $i -lt 600 ] && [ "$code" != 200 ]; do
	code=$(curl -s -o /tmp/site.html -w '%{http_code}' -m 2 http://127.0.0.1:8080/ 2>/dev/null)
	[ "$code" = 200 ] || sleep 0.1
	i=$((i + 1))
done
echo "UK_XEN_T site_first_200=$(echo "$(now) $t" | awk '{print $1 - $2}')"
# a check that fails (the site answers 404 there): unhealthy, as on QEMU (boots beside netclient)
out=$(uk run -d --name bad --network web --health-http 80/nothere --health-interval 1s \
	--health-timeout 3s --health-retries 2 site 2>&1) || fail "uk run -d --network web bad: $out"
uk logs site 2>&1 | tail -5 | sed 's/^/site| /'
{ [ "$code" = 200 ] && grep -q '<title>uk — a website from a unikernel</title>' /tmp/site.html; } &&
	echo "ok: the website through ukd's published port 127.0.0.1:8080 (HTTP 200, its page)" ||
	{ fail "the website through 127.0.0.1:8080: HTTP '$code', want 200 and its page"; netdump; }
ip=$(uk inspect --format '{{.NetworkSettings.IPAddress}}' site 2>&1)
id=$(uk inspect --format '{{.Id}}' site 2>&1)
vif=uk$(echo "$id" | cut -c1-12)0
code=$(curl -s -o /tmp/site2.html -w '%{http_code}' -m 10 "http://$ip/about.html" 2>/dev/null)
[ "$code" = 200 ] && echo "ok: the website at its address $ip over the bridge (HTTP 200)" ||
	{ fail "the website at http://$ip/about.html: HTTP '$code', want 200"; netdump; }
[ -e "/sys/class/net/$br/brif/$vif" ] && echo "ok: its vif $vif is a port of $br" ||
	{ fail "no vif $vif on bridge $br"; netdump; }
mac=$(cat "/sys/class/net/$vif/address" 2>/dev/null)
echo "network| vif $vif ($mac), guest $ip"
# guest to guest: netclient resolves "site" through ukd's DNS on the gateway and fetches /
out=$(uk run --rm --network web netclient site 80 2>&1)
rc=$?
echo "$out" | sed 's/^/netclient| /'
{ [ $rc = 0 ] && echo "$out" | grep -q "netclient: site is $ip\$" &&
	echo "$out" | grep -q 'netclient: site answered: HTTP/1\.[01] 200'; } &&
	echo "ok: netclient resolves site by name ($ip) and gets HTTP 200 from it" ||
	{ fail "netclient site 80 on network web: exit $rc, want 0, site's address $ip and HTTP 200"; netdump; }
# health checks over the bridge: site healthy, bad (404) unhealthy
health() { uk inspect --format '{{.State.Health.Status}}' "$1" 2>&1; }
i=0
while [ $i -lt 300 ] && { [ "$(health site)" != healthy ] || [ "$(health bad)" != unhealthy ]; }; do
	sleep 0.1
	i=$((i + 1))
done
h=$(health site)
[ "$h" = healthy ] && echo "ok: site's health check (GET / over the bridge): healthy" ||
	fail "site's health: '$h', want healthy"
h=$(health bad)
[ "$h" = unhealthy ] && echo "ok: bad's health check (GET /nothere: 404): unhealthy" ||
	fail "bad's health: '$h', want unhealthy"
uk ps -a 2>&1 | sed 's/^/ps| /'
out=$(uk rm -f bad 2>&1) || fail "uk rm -f bad: $out"
pid=$(uk inspect --format '{{.State.Pid}}' site 2>&1)
[ "$pid" = 0 ] && echo "ok: a Xen guest has no pid (0)" || fail "uk inspect site: pid '$pid', want 0"
# no process to read: uk stats takes libxl's figures (CPU time, memory), uk top says why it has none
st=$(uk --format json stats --no-stream site 2>&1 | tr -d ' \n')
cpu=$(echo "$st" | sed -n 's/.*"cpu_ns":\([0-9]*\).*/\1/p')
{ echo "$st" | grep -q '"running":true' && [ "${cpu:-0}" -gt 0 ]; } &&
	echo "ok: uk stats site: running, ${cpu} ns of CPU (libxl's domain info)" || fail "uk stats site: $st"
out=$(uk top site 2>&1)
echo "$out" | grep -q 'a Xen domain has none' && echo "ok: uk top site: no host process, said so" ||
	fail "uk top site: $out"
# still healthy after a minute or so of checks once a second: the guest that spun (docs/xen.md,
# "the website guest that spun") went unhealthy about 40 s after its start and stayed so
h=$(health site)
[ "$h" = healthy ] && echo "ok: site still healthy after $(echo "$(now) $t" | awk '{printf "%d", $1 - $2}') s of checks" ||
	fail "site's health later: '$h', want healthy (uk stats: $(uk stats --no-stream site 2>&1 | tail -1))"
out=$(uk stop site 2>&1) || fail "uk stop site: $out"
i=0
while [ $i -lt 100 ] && [ -e "/sys/class/net/$vif" ]; do # libxl removes it as it destroys the domain
	sleep 0.1
	i=$((i + 1))
done
[ -e "/sys/class/net/$vif" ] && fail "vif $vif still there 10 s after uk stop"
out=$(uk rm site 2>&1) || fail "uk rm site: $out"

# ---- volumes: the counter on blkfront, 1 then 2; read-only refuses the write; then 3
count() {
	out=$(uk run --rm "$@" counter 2>&1)
	rc=$?
	echo "$out" | sed "s#^#counter($*)| #"
}
count -v cnt:/data
{ [ $rc = 0 ] && echo "$out" | grep -qx 1; } && echo "ok: counter on a new volume: 1" ||
	{ fail "counter on volume cnt: exit $rc, want 0 and 1"; netdump; }
count -v cnt:/data
{ [ $rc = 0 ] && echo "$out" | grep -qx 2; } && echo "ok: counter on the same volume again: 2" ||
	fail "counter on volume cnt again: exit $rc, want 0 and 2"
count -v cnt:/data:ro
{ [ $rc = 1 ] && echo "$out" | grep -q 'Read-only file system'; } &&
	echo "ok: counter on the volume read-only: EROFS, exit 1" ||
	fail "counter on volume cnt read-only: exit $rc, want 1 and 'Read-only file system'"
count -v cnt:/data
{ [ $rc = 0 ] && echo "$out" | grep -qx 3; } && echo "ok: counter after the read-only run: 3" ||
	fail "counter on volume cnt after the read-only run: exit $rc, want 0 and 3"
losetup -a | sed 's/^/loop| /'

# ---- uk stats of a guest's disk (blkback's counters), and one die event per stop
since=$(date +%s.%N)
out=$(uk run -d --name wr -v sv:/data stats write 2>&1) || fail "uk run -d wr: $out"
i=0
while [ $i -lt 300 ] && ! uk logs wr 2>/dev/null | grep -q 'wrote 262144 bytes'; do
	sleep 0.1
	i=$((i + 1))
done
uk logs wr 2>&1 | tail -3 | sed 's/^/wr| /'
st=$(uk --format json stats --no-stream wr 2>&1 | tr -d ' \n')
echo "stats| $st"
wb=$(echo "$st" | sed -n 's/.*"write_bytes":\([0-9]*\).*/\1/p')
rb=$(echo "$st" | sed -n 's/.*"read_bytes":\([0-9]*\).*/\1/p')
{ [ "${wb:-0}" -ge 262144 ] && [ "${rb:-0}" -gt 0 ]; } &&
	echo "ok: uk stats wr: its disk wrote $wb bytes, read $rb (blkback's counters)" ||
	fail "uk stats wr: block read '$rb' write '$wb', want the 256 KiB write counted"
uk stats --no-stream wr 2>&1 | sed 's/^/stats| /'
out=$(uk stop wr 2>&1) || fail "uk stop wr: $out"
code=$(uk inspect --format '{{.State.ExitCode}}' wr 2>&1)
[ "$code" = 143 ] && echo "ok: uk stop wr: exit 143" || fail "uk stop wr: exit code '$code', want 143"
# the stop went to the supervisor once: libvirt's STOPPED of the destroy of the preserved
# domain (after its console had reported the stop) and libxl's own SHUTDOWN/STOPPED pair are
# the same stop (ukd's log says "reported already" for them)
wid=$(uk inspect --format '{{.Id}}' wr 2>&1)
wd=uk-$(echo "$wid" | cut -c1-12)
i=0 # libvirt's STOPPED (5), DESTROYED (1) of ukd's destroy comes after the stop was reported
while [ $i -lt 100 ] && ! grep -q "domain $wd event 5 detail 1\$" "$ROOT/ukd.log"; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5 # (its report, if any, is queued for the supervisor by then)
ev=$(uk events --since "$since" --until "$(date +%s.%N)" 2>&1)
echo "$ev" | sed 's/^/events| /'
n=$(echo "$ev" | grep -c " instance die $wid")
[ "$n" = 1 ] && echo "ok: one die event for wr's stop" || fail "wr's stop: $n die events, want 1"
grep -E "$wd(:| event)" "$ROOT/ukd.log" | grep -E 'stopped|event|reported already' | sed 's/^/stopped| /'
n=$(grep -c "supervisor: $wd: run .* stopped" "$ROOT/ukd.log")
[ "$n" = 1 ] && echo "ok: wr's stop reported to the supervisor once" ||
	fail "wr's stop reported to the supervisor $n times, want once"
# the network last: libxl runs the vif's hotplug script (offline, on the bridge) as it tears the
# domain down, seconds after ukd reported the stop
out=$(uk network rm web 2>&1) || fail "uk network rm web: $out"
[ -e "/sys/class/net/$br" ] && fail "bridge $br still there after uk network rm"

kill $ukd_pid
wait $ukd_pid 2>/dev/null
kill $lvpid
echo UK_SCRIPT_OK
