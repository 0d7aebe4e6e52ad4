#!/bin/bash
# Integration test of the uk CLI against a real ukd on a temp root (libvirt embedded QEMU, TCG here).
# Usage: integration.sh UK_BINARY BIN_DIR SOURCE_DIR. Exit 77 (skip) without ukd or QEMU.
# shellcheck source=ukd_harness.sh
. "$(dirname "$0")/ukd_harness.sh"

# --- contexts ---
mkdir -p "$TMP/seven" "$TMP/broken" "$TMP/spin" "$TMP/idle"
cat >"$TMP/seven/Ukfile" <<'EOF'
FROM uk/runtime:1
SOURCES main.c
CMD default-arg
EOF
cat >"$TMP/seven/main.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *g = getenv("GREETING");
	printf("seven says hi\n");
	for (int i = 1; i < argc; i++)
		printf("arg=%s\n", argv[i]);
	if (g)
		printf("GREETING=%s\n", g);
	return 7;
}
EOF
cat >"$TMP/broken/Ukfile" <<'EOF'
FROM uk/runtime:1
SOURCES main.c
EOF
cat >"$TMP/broken/main.c" <<'EOF'
int main(void) { return undeclared_variable; }
EOF
cat >"$TMP/spin/Ukfile" <<'EOF'
FROM uk/runtime:1
SOURCES main.c
EOF
cat >"$TMP/spin/main.c" <<'EOF'
#include <stdio.h>
int main(void)
{
	printf("spinning\n");
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}
EOF
cat >"$TMP/idle/Ukfile" <<'EOF'
FROM uk/runtime:1
SOURCES main.c
EOF
cat >"$TMP/idle/main.c" <<'EOF'
#include <stdio.h>
#include <time.h>
int main(void)
{
	struct timespec s = {0, 100000000};
	printf("idling\n");
	fflush(stdout);
	for (;;)
		nanosleep(&s, NULL); /* idle: sees the power button */
	return 0;
}
EOF

# --- system ---
run_uk version version
if [ $rc -eq 0 ] && grep -q '^Server:' <<<"$out"; then ok "version shows client and server"; else fail "version: rc=$rc $out $err"; fi
run_uk info info
if [ $rc -eq 0 ] && grep -q '^Accelerator: ' <<<"$out"; then ok "info"; else fail "info: rc=$rc $out $err"; fi
run_uk tcp -H "tcp://127.0.0.1:$PORT" info
if [ $rc -eq 0 ] && grep -q "^Host: *tcp://127.0.0.1:$PORT" <<<"$out"; then ok "-H tcp://127.0.0.1:PORT"; else fail "tcp: rc=$rc $out $err"; fi

# --- hello, as in the README ---
run_uk build-hello build -t hello "$SRC/images/examples/hello"
if [ $rc -eq 0 ] && grep -q '^Successfully tagged hello:latest$' <<<"$out"; then ok "build hello"; else fail "build hello: rc=$rc $out $err"; fi
run_uk run-hello run --rm hello
if [ $rc -eq 0 ] && grep -q 'Hello from a uk unikernel!' <<<"$out" && grep -q 'argv\[1\] = world' <<<"$out"; then
	ok "run --rm hello prints the greeting, exits 0"
else
	fail "run --rm hello: rc=$rc out=$out err=$err"
fi
run_uk run-hello-args run --rm hello one "two words"
if [ $rc -eq 0 ] && grep -q 'argv\[1\] = one' <<<"$out" && grep -q 'argv\[2\] = two words' <<<"$out" && ! grep -q world <<<"$out"; then
	ok "ARGs replace CMD"
else
	fail "run hello one 'two words': rc=$rc out=$out err=$err"
fi

# --- exit codes, env, logs, ps, rm ---
run_uk build-seven build -q -t seven "$TMP/seven"
if [ $rc -eq 0 ] && grep -q '^sha256:' <<<"$out"; then ok "build -q seven prints the id"; else fail "build seven: rc=$rc $out $err"; fi
run_uk run-seven run --rm -e GREETING=hola seven
if [ $rc -eq 7 ] && grep -q '^seven says hi' <<<"$out" && grep -q '^GREETING=hola' <<<"$out" && grep -q '^arg=default-arg' <<<"$out"; then
	ok "run exits with the instance's code (7), -e reaches getenv"
else
	fail "run seven: rc=$rc out=$out err=$err"
fi
run_uk run-keep run --name keep seven
[ $rc -eq 7 ] && ok "run --name keep exits 7" || fail "run --name keep: rc=$rc $err"
run_uk ps-a ps -a
if [ $rc -eq 0 ] && grep -E '^[0-9a-f]{12} +seven.*Exited \(7\).* keep$' <<<"$out" >/dev/null; then ok "ps -a shows Exited (7)"; else fail "ps -a: $out $err"; fi
run_uk ps ps
if [ $rc -eq 0 ] && ! grep -q ' keep$' <<<"$out"; then ok "ps hides stopped instances"; else fail "ps: $out"; fi
run_uk logs logs keep
if [ $rc -eq 0 ] && grep -q '^seven says hi' <<<"$out"; then ok "logs"; else fail "logs keep: rc=$rc $out $err"; fi
run_uk logs-tail logs --tail 1 keep
if [ $rc -eq 0 ] && [ "$(grep -c . <<<"$out")" -le 1 ]; then ok "logs --tail 1"; else fail "logs --tail 1: $out $err"; fi
run_uk inspect inspect keep
if [ $rc -eq 0 ] && python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; assert d["state"]["exit_code"]==7, d' <<<"$out"; then ok "inspect shows exit code 7"; else fail "inspect keep: $out $err"; fi
run_uk wait-stopped wait keep
[ $rc -eq 0 ] && [ "$out" = 7 ] && ok "wait on a stopped instance prints 7" || fail "wait keep: rc=$rc $out $err"
run_uk ps-json ps -a --format json
if [ $rc -eq 0 ] && python3 -c 'import json,sys; l=json.load(sys.stdin); assert any("keep" in i["names"] for i in l), l' <<<"$out"; then ok "ps --format json"; else fail "ps --format json: $out $err"; fi
run_uk create-sa create --name sa seven attached-arg
run_uk start-a start -a sa
if [ $rc -eq 7 ] && grep -q '^arg=attached-arg' <<<"$out"; then ok "start -a prints the console, exits 7"; else fail "start -a: rc=$rc $out $err"; fi
run_uk rm-sa rm sa
run_uk rm rm keep
[ $rc -eq 0 ] && ok "rm" || fail "rm keep: $err"
run_uk rm-again rm keep
if [ $rc -eq 1 ] && grep -q 'no such instance' <<<"$err" && ! grep -q status <<<"$err"; then ok "rm of an unknown instance: no such instance, exit 1"; else fail "rm again: rc=$rc $err"; fi

# --- images, rmi in use ---
run_uk images images
if [ $rc -eq 0 ] && grep -Eq '^seven +latest +[0-9a-f]{12} ' <<<"$out" && grep -Eq '^hello +latest ' <<<"$out"; then ok "images"; else fail "images: $out $err"; fi
run_uk create create --name holder seven
[ $rc -eq 0 ] && ok "create" || fail "create: $err"
run_uk rmi-in-use rmi seven
if [ $rc -eq 1 ] && grep -q "an instance uses it" <<<"$err" && ! grep -q 'status\|force=1' <<<"$err"; then ok "rmi of an image in use: refused in people's words, exit 1"; else fail "rmi in use: rc=$rc $out $err"; fi
run_uk images-after images -q
[ -n "$out" ] && ok "image still there after a refused rmi" || fail "image gone after refused rmi"
run_uk tag tag seven seven:v2
[ $rc -eq 0 ] && ok "tag" || fail "tag: $err"
run_uk save save -o "$TMP/seven.tar" seven:v2
if [ $rc -eq 0 ] && tar -tf "$TMP/seven.tar" | grep -q 'index.json'; then ok "save writes an OCI layout tar"; else fail "save: rc=$rc $err"; fi
run_uk rm-holder rm holder
run_uk rmi rmi seven:v2
[ $rc -eq 0 ] && grep -q 'Untagged: seven:v2' <<<"$out" && ok "rmi untags" || fail "rmi seven:v2: rc=$rc $out $err"
run_uk load load -i "$TMP/seven.tar"
if [ $rc -eq 0 ] && grep -q 'Loaded image' <<<"$out"; then ok "load"; else fail "load: rc=$rc $out $err"; fi

# --- build errors ---
run_uk build-broken build -t broken "$TMP/broken"
if [ $rc -eq 1 ] && grep -q 'main.c' <<<"$out$err"; then ok "compile error: exit 1, names main.c"; else fail "build broken: rc=$rc out=$out err=$err"; fi
run_uk images-broken images
grep -q '^broken ' <<<"$out" && fail "a failed build left an image" || ok "a failed build leaves no image"

# --- concurrency ---
pids=
for i in $(seq 10); do
	("$UK" run --rm seven >"$TMP/c$i.out" 2>"$TMP/c$i.err"; echo $? >"$TMP/c$i.rc") &
	pids="$pids $!"
done
# shellcheck disable=SC2086 # one word per pid; a bare wait would also wait for ukd
wait $pids
good=0
for i in $(seq 10); do
	if [ "$(cat "$TMP/c$i.rc")" = 7 ] && grep -q '^seven says hi' "$TMP/c$i.out"; then good=$((good + 1)); else echo "  run $i: rc=$(cat "$TMP/c$i.rc") $(cat "$TMP/c$i.err")"; fi
done
[ $good -eq 10 ] && ok "10 concurrent uk run --rm" || fail "10 concurrent runs: $good of 10 right"
run_uk ps-empty ps -a -q
[ -z "$out" ] && ok "--rm left no instance" || fail "instances left after --rm: $out"

# --- stop, kill, signals ---
run_uk build-spin build -q -t spin "$TMP/spin"
run_uk run-d run -d --name spinner spin
if [ $rc -eq 0 ] && grep -Eq '^[0-9a-f]{64}$' <<<"$out"; then ok "run -d prints the id"; else fail "run -d: rc=$rc $out $err"; fi
sleep 1
run_uk ps-running ps --filter status=running
grep -q ' spinner$' <<<"$out" && ok "ps shows the running instance" || fail "ps running: $out $err"
"$UK" logs -f spinner >"$TMP/follow.out" 2>"$TMP/follow.err" &
lpid=$!
"$UK" events >"$TMP/events.out" 2>"$TMP/events.err" &
epid=$!
sleep 2
kill -INT $lpid $epid
wait $lpid
lrc=$?
wait $epid
erc=$?
if [ $lrc -eq 0 ] && grep -q '^spinning' "$TMP/follow.out"; then ok "logs -f follows a running instance, ^C ends it (exit 0)"; else fail "logs -f: rc=$lrc $(cat "$TMP/follow.out" "$TMP/follow.err")"; fi
if [ $erc -eq 0 ]; then ok "events follows until ^C (exit 0)"; else fail "events follow: rc=$erc $(cat "$TMP/events.err")"; fi
t0=$(date +%s)
run_uk stop stop -t 1 spinner
t1=$(date +%s)
if [ $rc -eq 0 ] && [ $((t1 - t0)) -le 15 ]; then ok "stop -t 1 of a guest that ignores shutdown ($((t1 - t0)) s)"; else fail "stop: rc=$rc $((t1 - t0)) s $err"; fi
run_uk start-spin start spinner
run_uk restart restart -t 1 spinner
run_uk ps-restarted ps -q --filter name=spinner
if [ $rc -eq 0 ] && [ -n "$out" ]; then ok "restart -t 1 leaves it running"; else fail "restart: $out $err"; fi
run_uk kill kill spinner
[ $rc -eq 0 ] && ok "kill" || fail "kill: $err"
run_uk wait-killed wait spinner
[ "$out" = 137 ] && ok "a killed instance's code is 137" || fail "wait after kill: $out $err"
run_uk kill-stopped kill spinner
[ $rc -eq 1 ] && ok "kill of a stopped instance: exit 1" || fail "kill stopped: rc=$rc"
run_uk rm-f rm -f spinner
"$UK" run --rm spin >"$TMP/sig.out" 2>"$TMP/sig.err" &
pid=$!
for _ in $(seq 100); do grep -q spinning "$TMP/sig.out" 2>/dev/null && break; sleep 0.2; done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 137 ] && grep -q 'stopping .* and removing it: killed if it has not stopped in 10 s' "$TMP/sig.err"; then ok "SIGINT stops the attached instance; one that ignores the power button is killed, uk exits 137"; else fail "SIGINT: rc=$rc $(cat "$TMP/sig.err")"; fi
run_uk ps-empty2 ps -a -q
[ -z "$out" ] && ok "--rm after SIGINT left no instance" || fail "left after SIGINT: $out"
# SIGTERM to an attached uk run presses the power button (as docker run passes SIGTERM on): an
# idle guest without a handler exits 143 by itself, not killed (137)
run_uk build-idle build -q -t idle "$TMP/idle"
"$UK" run --rm --name idler idle >"$TMP/term.out" 2>"$TMP/term.err" &
pid=$!
for _ in $(seq 100); do grep -q idling "$TMP/term.out" 2>/dev/null && break; sleep 0.2; done
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -eq 143 ] && ! grep -q 'gave up' "$TMP/term.err"; then ok "SIGTERM stops an idle attached instance gracefully: its own exit 143"; else fail "SIGTERM: rc=$rc $(cat "$TMP/term.err")"; fi
run_uk ps-empty3 ps -a -q
[ -z "$out" ] && ok "--rm after SIGTERM left no instance" || fail "left after SIGTERM: $out"

run_uk events events --since 0 --until "$(date +%s)"
if [ $rc -eq 0 ] && grep -q ' instance die ' <<<"$out" && grep -q ' image build \| image tag ' <<<"$out"; then ok "events --since/--until replays and ends"; else fail "events: rc=$rc $(head -c 600 <<<"$out") $err"; fi

if ! kill -0 "$UKD_PID" 2>/dev/null; then fail "ukd died during the test"; fi
echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
