# Run by dom0 (xen_dom0.sh's UK_XEN_DOM0_SCRIPT, chrooted in this host's file system): libvirtd with its Xen (libxl) driver, this build's ukd on xen:///system, and uk runs PVH domUs through it.
# xen_ukd.sh prepends BIN (this build's bin/), ROOT (a ukd root holding the image "hello",
# daemon/tests/guest) and SHIM (tests/xen/libxl_hwcap_shim.c built: libvirtd preloads it, see
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

# a nonzero status
out=$(timeout 120 "$BIN/uk" -H "unix://$sock" run --rm hello exit 3 2>&1)
rc=$?
echo "$out" | sed 's/^/exit3| /'
{ [ $rc = 3 ] && echo "$out" | grep -q 'arg 2: 3'; } && echo "ok: uk run --rm hello exit 3" ||
	fail "uk run --rm hello exit 3: exit $rc, want 3"

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
sleep 2
n2=$(uk logs lr 2>/dev/null | grep -c tick)
[ "$n2" -gt "$n1" ] && echo "ok: lr's console is read again ($n1 -> $n2 ticks)" ||
	fail "lr's console is not read after the restart ($n1 -> $n2 ticks)"
out=$(uk kill lr 2>&1) || fail "uk kill lr: $out"
uk wait lr >/dev/null 2>&1
code=$(uk inspect --format '{{.State.ExitCode}}' lr 2>&1)
[ "$code" = 137 ] && echo "ok: uk kill lr: exit 137" || fail "uk kill lr: exit code '$code', want 137"

kill $ukd_pid
wait $ukd_pid 2>/dev/null
kill $lvpid
echo UK_SCRIPT_OK
