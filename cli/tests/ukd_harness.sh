# What the CLI's tests against a real ukd share: arguments, skips, a temp root, ukd started and
# stopped, run_uk/ok/fail. Sourced by integration.sh and habits.sh: "$@" is UK_BINARY BIN_DIR SRC.
set -u
UK=$1
BIN=$2
SRC=$3

UKD=$BIN/ukd
[ -x "$UKD" ] || UKD=$SRC/build/bin/ukd
if [ ! -x "$UKD" ]; then
	echo "SKIP: no ukd at $BIN/ukd or $SRC/build/bin/ukd (build the ukd target)"
	exit 77
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: qemu-system-x86_64 is not installed"
	exit 77
fi
if ! command -v curl >/dev/null; then
	echo "SKIP: curl is not installed (used to wait for the daemon)"
	exit 77
fi

# short: the socket path and libvirt's sockets under the root must stay under 108 bytes
TMP=$(mktemp -d /tmp/ukcli.XXXXXX)
chmod 0711 "$TMP" # QEMU runs as libvirt-qemu and must pass through to the root below
SOCK=$TMP/s.sock
export UK_HOST=unix://$SOCK
FAILS=0
UKD_PID=

cleanup() {
	if [ -n "$UKD_PID" ] && kill -0 "$UKD_PID" 2>/dev/null; then
		kill "$UKD_PID"
		for _ in $(seq 50); do kill -0 "$UKD_PID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$UKD_PID" 2>/dev/null
	fi
	if [ "$FAILS" -ne 0 ]; then
		echo "--- last lines of the ukd log ($TMP/ukd.log) ---"
		tail -n 40 "$TMP/ukd.log"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}
ok() {
	echo "ok   $*"
}

# run_uk NAME ARGS...: runs uk, leaves $out, $err and $rc
run_uk() {
	local name=$1
	shift
	out=$("$UK" "$@" 2>"$TMP/err")
	rc=$?
	err=$(cat "$TMP/err")
	if [ -n "${VERBOSE:-}" ]; then echo "[$name] rc=$rc out=$out err=$err"; fi
}

# a free loopback port for the TCP listener
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$UKD" --root "$TMP/root" --host "unix://$SOCK" --host "tcp://127.0.0.1:$PORT" >"$TMP/ukd.log" 2>&1 &
UKD_PID=$!
for _ in $(seq 300); do
	if curl -sf --max-time 1 --unix-socket "$SOCK" http://localhost/v1/_ping >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$UKD_PID" 2>/dev/null; then
		FAILS=1
		echo "FAIL: ukd exited at start"
		exit 1
	fi
	sleep 0.1
done
if ! curl -sf --max-time 1 --unix-socket "$SOCK" http://localhost/v1/_ping >/dev/null; then
	FAILS=1
	echo "FAIL: ukd did not answer /v1/_ping within 30 s"
	exit 1
fi

