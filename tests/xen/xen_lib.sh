# Sourced by the Xen harnesses: Debian packages fetched with `apt-get download` (never installed) into a cache, Xen's ELF, the run's temp dir and QEMU cleanup.
# Needs $cache (the cache directory, created here).

# fetch_debs DIR PKG...: downloads PKG... into DIR/deb and unpacks them all into DIR/root, once
# (DIR/done marks a complete unpack); serialised against other tests by a lock. Returns 1 with a
# message on stderr when a package cannot be fetched.
fetch_debs() {
	local dir=$1
	shift
	mkdir -p "$dir" || return 1
	(
		flock 9
		[ -e "$dir/done" ] && exit 0
		command -v apt-get >/dev/null || { echo "no apt-get to fetch $*" >&2; exit 1; }
		rm -rf "$dir/deb" "$dir/root" && mkdir -p "$dir/deb" "$dir/root" || exit 1
		(cd "$dir/deb" && timeout 300 apt-get download -q "$@" >"$dir/apt.log" 2>&1) || {
			echo "apt-get download $* failed (no network or no such package): see $dir/apt.log" >&2
			exit 1
		}
		for deb in "$dir"/deb/*.deb; do
			dpkg -x "$deb" "$dir/root" || exit 1
		done
		touch "$dir/done"
	) 9>"$dir.lock"
}

# xen_elf: prints the path of an uncompressed Xen ELF (QEMU's multiboot loader wants one):
# $UK_XEN_GZ (xen.gz or the plain ELF), else Debian's xen-hypervisor-4.17-amd64.
xen_elf() {
	mkdir -p "$cache" || return 1
	local elf=$cache/xen src=${UK_XEN_GZ:-}
	if [ -z "$src" ]; then
		[ -s "$elf" ] && { echo "$elf"; return 0; }
		fetch_debs "$cache/hypervisor" xen-hypervisor-4.17-amd64 || return 1
		src=$(ls "$cache"/hypervisor/root/boot/xen-4.17-amd64.gz 2>/dev/null) ||
			{ echo "the package holds no boot/xen-4.17-amd64.gz" >&2; return 1; }
	fi
	[ -r "$src" ] || { echo "UK_XEN_GZ=$src is not readable" >&2; return 1; }
	(
		flock 9
		if gzip -t "$src" 2>/dev/null; then gzip -dc "$src" >"$elf.tmp"; else cp "$src" "$elf.tmp"; fi &&
			mv "$elf.tmp" "$elf"
	) 9>"$cache/xen.lock" || return 1
	echo "$elf"
}

# run_setup: makes $tmp (removed at exit) and ends the QEMU whose pid the caller puts in $qpid.
run_setup() {
	tmp=$(mktemp -d)
	qpid=
	trap run_cleanup EXIT
}
run_cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
