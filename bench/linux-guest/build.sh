#!/bin/bash
# Builds the Linux baseline guest for bench/http.sh: Debian's kernel plus an initramfs of busybox-static, nginx and the virtio-net modules.
# usage: bench/linux-guest/build.sh OUT_DIR SITE_DIR
#   OUT_DIR gets vmlinuz and initramfs.cpio.gz; SITE_DIR's files become nginx's document root.
#   Everything comes from Debian packages through apt-get: busybox-static and cpio are installed
#   on the host (apt-get install -y, once); the kernel and nginx are fetched with
#   `apt-get download` and unpacked with dpkg-deb, never installed, so the host gets no new
#   kernel, no initramfs hooks and no nginx service. Packages are cached in $UK_BENCH_CACHE
#   (default /var/tmp/uk-bench-pkgs).
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 OUT_DIR SITE_DIR" >&2; exit 2; }
out=$1 site=$2
cache=${UK_BENCH_CACHE:-/var/tmp/uk-bench-pkgs}
[ -f "$site/index.html" ] || { echo "build.sh: $site/index.html missing" >&2; exit 1; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=""
for p in busybox-static cpio; do installed "$p" || need="$need $p"; done
if [ -n "$need" ]; then
	[ "$(id -u)" = 0 ] || { echo "build.sh: need root to apt-get install:$need" >&2; exit 1; }
	echo "build.sh: installing benchmark-only packages:$need" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >&2
fi

# The kernel linux-image-amd64 points at, and nginx (the daemon binary; nginx-light is a
# transitional package for it in Debian 12).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "build.sh: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
mkdir -p "$cache"
for p in "$kpkg" nginx; do
	if ! ls "$cache/${p}_"*.deb >/dev/null 2>&1; then
		echo "build.sh: apt-get download $p" >&2
		(cd "$cache" && apt-get download -q "$p" >&2)
	fi
done
x=$cache/unpacked-$kpkg
if [ ! -d "$x/boot" ] || [ ! -x "$x/usr/sbin/nginx" ]; then
	rm -rf "$x"
	mkdir -p "$x"
	for deb in "$cache/${kpkg}_"*.deb "$cache/nginx_"*.deb; do dpkg-deb -x "$deb" "$x"; done
fi
kver=${kpkg#linux-image-}
mods=$x/lib/modules/$kver/kernel

root=$(mktemp -d /tmp/uk-linux-guest.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc/nginx,proc,sys,dev,tmp,run,www,mod,var/log/nginx,var/lib/nginx}
cp /bin/busybox "$root/bin/busybox"
# virtio_net and what it depends on, in load order (each module's depends= line).
order="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
for m in $order; do
	f=$(find "$mods" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
	[ -n "$f" ] || { echo "build.sh: module $m not in $kpkg" >&2; exit 1; }
	case $f in *.xz) xz -dc "$f" >"$root/mod/$m.ko" ;; *) cp "$f" "$root/mod/$m.ko" ;; esac
done
# nginx and the host's copies of its shared libraries (the same Debian 12 packages it was built for).
cp "$x/usr/sbin/nginx" "$root/sbin/nginx"
ldd "$x/usr/sbin/nginx" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
cp -r "$site"/. "$root/www/"
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
cat >"$root/etc/nginx/nginx.conf" <<'EOF'
# One worker (one vCPU), no logging, keep-alive without a per-connection request cap.
user root;
worker_processes 1;
daemon on;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
	types { text/html html; text/css css; image/png png; }
	default_type application/octet-stream;
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	server {
		listen 80 default_server;
		root /www;
		index index.html;
	}
}
EOF
cat >"$root/init" <<EOF
#!/bin/busybox sh
# PID 1: mounts, virtio-net modules, static 10.0.2.15/24 (QEMU user networking), nginx.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $order; do insmod /mod/\$m.ko || echo "init: insmod \$m failed"; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
/sbin/nginx -c /etc/nginx/nginx.conf && echo "init: nginx started"
while :; do sleep 3600; done
EOF
chmod +x "$root/init"
mkdir -p "$out"
cp "$x/boot/vmlinuz-$kver" "$out/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -9) >"$out/initramfs.cpio.gz"
echo "$kver" >"$out/kernel-version"
