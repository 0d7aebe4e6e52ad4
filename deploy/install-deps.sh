#!/bin/sh
# Installs every Debian 12 package uk's build, tests and runtime need (idempotent, non-interactive).
set -eu

PKGS="
build-essential cmake pkg-config binutils clang lld llvm libclang-rt-14-dev clang-format
qemu-system-x86 qemu-system-data qemu-utils
libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-driver-xen libvirt-clients libvirt-dev
libmicrohttpd-dev libgnutls28-dev libjson-c-dev libsqlite3-dev sqlite3 libssl-dev openssl
libcurl4-openssl-dev curl libcmocka-dev
docker-registry apache2-utils wrk python3 iproute2 jq nftables
containerd docker.io busybox-static python3-grpcio
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
# libvirt's QEMU driver, even embedded in ukd and running QEMU as root, looks up the
# system user libvirt-qemu when privileged; libvirt-daemon-system would create it, but
# uk does not need libvirtd, so make the user here.
if [ "$(id -u)" -eq 0 ]; then
	getent group kvm >/dev/null || groupadd --system kvm
	# ukd's unix socket is 0660 root:uk (docs/security.md): members of uk may call ukd
	getent group uk >/dev/null || groupadd --system uk
	getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
	getent passwd libvirt-qemu >/dev/null ||
		useradd --system -g libvirt-qemu -G kvm -M -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	id -nG libvirt-qemu | grep -qw kvm || usermod -a -G kvm libvirt-qemu
	# ukd compiles build contexts (someone else's code) as this user (docs/ukfile.md).
	getent passwd uk-build >/dev/null ||
		useradd --system -U -M -d /nonexistent -s /usr/sbin/nologin uk-build
	# /dev/kvm as udev makes it on Debian (qemu-system-common's rule): QEMU runs as
	# libvirt-qemu in group kvm and must open it. A host where no udev rule ran leaves it
	# root-only (crw------- root root): libvirt then finds KVM unusable for that user.
	if [ -c /dev/kvm ]; then
		chown root:kvm /dev/kvm
		chmod 0660 /dev/kvm
		echo "install-deps: /dev/kvm is root:kvm 0660"
	fi
elif [ -c /dev/kvm ] && [ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
	echo "install-deps: /dev/kvm is $(stat -c "%U:%G %a" /dev/kvm): run this as root to make it root:kvm 0660" >&2
fi
echo "install-deps: all packages present"
