# Shared preamble of the namespace tests in tests/net: skips, the test's own netns, X, check, cleanup.
# Sourced; then `netns_setup PREFIX TOOL...` at the top and `netns_bridge ADDR/LEN NTAPS` once the
# test has built what it needs.

# netns_setup PREFIX TOOL...: exit 77 (skip) unless root, with every TOOL and /dev/net/tun. Sets
# ns (PREFIX-PID, created by netns_bridge), tmp (a fresh directory) and pids (background
# processes the test starts); at exit everything running in the namespace and in pids is ended,
# the namespace deleted and tmp removed; SIGINT/SIGTERM exit 1 through the same cleanup.
netns_setup() {
	local prefix=$1 t
	shift
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespace, tap devices)"; exit 77; }
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
	done
	[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }
	ns=$prefix-$$ tmp=$(mktemp -d) pids=()
	trap netns_cleanup EXIT
	trap 'exit 1' INT TERM
}

# check RC WHAT: "ok   WHAT" when RC is 0, else "FAIL WHAT" and one more in fails (the exit
# status: exit $((fails > 0))).
fails=0
check() {
	if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi
}

# X CMD...: runs CMD in the test's namespace.
X() { ip netns exec "$ns" "$@"; }

netns_cleanup() {
	local p
	# Everything this test started runs in its namespace (python's launchers may fork).
	for p in $(ip netns pids "$ns" 2>/dev/null) "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}

# netns_create: creates the namespace with lo up; exit 77 where the kernel cannot.
netns_create() {
	ip netns add "$ns" || { echo "SKIP: cannot create a network namespace"; exit 77; }
	X ip link set lo up
}

# netns_add_bridge BRIDGE ADDR/LEN TAP...: in the namespace, a bridge holding ADDR/LEN and the
# named tap devices on it, all up; exit 77 where the kernel cannot.
netns_add_bridge() {
	local br=$1 addr=$2 t
	shift 2
	X ip link add "$br" type bridge || { echo "SKIP: no bridge support"; exit 77; }
	X ip addr add "$addr" dev "$br"
	X ip link set "$br" up
	for t in "$@"; do
		X ip tuntap add dev "$t" mode tap || { echo "SKIP: cannot create a tap device"; exit 77; }
		X ip link set "$t" master "$br"
		X ip link set "$t" up
	done
}

# netns_bridge ADDR/LEN NTAPS: netns_create, then a bridge br0 holding ADDR/LEN with tap
# devices uktap0 .. uktap(NTAPS-1) on it.
netns_bridge() {
	local i taps=()
	for ((i = 0; i < $2; i++)); do taps+=("uktap$i"); done
	netns_create
	netns_add_bridge br0 "$1" "${taps[@]}"
}
