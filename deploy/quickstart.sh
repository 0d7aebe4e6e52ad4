#!/bin/bash
# The README's first command: on a fresh Debian 12 machine, install deps, build uk, run hello and serve the website.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

tmp=$(mktemp -d /tmp/uk-quickstart.XXXXXX)
chmod 0711 "$tmp" # QEMU runs as libvirt-qemu and must reach the root below (docs/security.md)
cleanup() {
	[ -z "${ukd_pid:-}" ] || kill "$ukd_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -x build/bin/ukd ] && [ -x build/bin/uk ]; then
	# The whole product: a daemon on a private root and socket, the docker-like CLI. The root
	# is temporary, so its guests stop with ukd (live restore off; docs/daemon.md).
	build/bin/ukd --root "$tmp/root" --host "unix://$tmp/ukd.sock" --live-restore=false \
		>"$tmp/ukd.log" 2>&1 &
	ukd_pid=$!
	export UK_HOST=unix://$tmp/ukd.sock
	for _ in $(seq 300); do
		build/bin/uk version >/dev/null 2>&1 && break
		sleep 0.1
	done
	build/bin/uk build -t hello images/examples/hello
	build/bin/uk run --rm hello
	# The flagship: a static website served by a unikernel on a published port.
	port=${PORT:-8080}
	build/bin/uk build -t site images/examples/website
	build/bin/uk run -d --name site -p "127.0.0.1:$port:80" site
	for _ in $(seq 200); do
		curl -fs --max-time 0.05 "http://127.0.0.1:$port/" >/dev/null && break
		sleep 0.02
	done
	echo "== curl http://127.0.0.1:$port/"
	curl -fsS -i "http://127.0.0.1:$port/" | head -20
	build/bin/uk ps
	if [ -n "${KEEP:-}" ]; then
		echo "ukd keeps running (KEEP set): UK_HOST=$UK_HOST, root $tmp/root"
		trap - EXIT
		exit 0
	fi
	build/bin/uk rm -f site >/dev/null
else
	build/bin/ukcc -O2 -o "$tmp/hello" images/examples/hello/main.c
	qemu-system-x86_64 -M microvm -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$tmp/hello" -nographic -nodefaults -no-reboot -serial stdio </dev/null
fi
