#!/bin/bash
# POSIX sockets and getaddrinfo (runtime-lib/net/socket.c, resolv.c): the programs in posix/ built
# three ways (ukcc hosted, ukcc kvm under QEMU TCG, the host's libc) talk over a bridge with tap
# devices inside a network namespace this test creates; a test DNS responder and python's
# http.server run there too. Echo of 4 MiB byte-exact, names resolved by DNS (with a retry, and
# over TCP after a truncated answer), NXDOMAIN, an HTTP GET; the unikernel builds must print what the host-libc build prints.
# usage: posix_net.sh UKCC SRCDIR     exit 0 pass, 1 fail, 77 skip (not root, no QEMU ...)
set -u
ukcc=$1 src=$2/posix bytes=4194304
# shellcheck source=netns_lib.sh
. "$(dirname "$0")/netns_lib.sh"
netns_setup uksk ip python3 gcc qemu-system-x86_64
for p in echo_server echo_client http_get; do
	"$ukcc" --target=hosted -O2 -Wall -Wextra -Werror -o "$tmp/h_$p" "$src/$p.c" -lnet &&
		"$ukcc" -O2 -Wall -Wextra -Werror -o "$tmp/k_$p" "$src/$p.c" -lnet &&
		gcc -O2 -Wall -Wextra -Werror -o "$tmp/g_$p" "$src/$p.c" ||
		{ echo "FAIL: build $p"; exit 1; }
done
echo "ok   echo_server, echo_client, http_get build unchanged for hosted, kvm and the host libc"

netns_bridge 10.201.0.1/24 3
# 10.201.0.2 hosted echo server (uktap0), .3 hosted clients (uktap1), .4 the kvm guest (uktap2).
X python3 "$src/dns_responder.py" 10.201.0.1 53 echo.test=10.201.0.2 retry.echo.test=10.201.0.2 \
	web.test=10.201.0.1 big.echo.test=10.201.0.2 >"$tmp/dns.log" 2>&1 &
pids+=($!)
mkdir "$tmp/www"
python3 -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(r.randbytes(300000))' \
	>"$tmp/www/file.bin"
X python3 -m http.server --bind 10.201.0.1 --directory "$tmp/www" 8080 >"$tmp/http.log" 2>&1 &
pids+=($!)
X env UK_TAP=uktap0 UK_IP=10.201.0.2/24 timeout 280 "$tmp/h_echo_server" 7000 7 \
	>"$tmp/server.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	grep -q ready "$tmp/dns.log" && grep -q listening "$tmp/server.out" &&
		X python3 -c 'import socket; socket.create_connection(("10.201.0.1", 8080), 1)' 2>/dev/null &&
		break
	sleep 0.1
done

fails=0
ok() { # ok RC NAME
	if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi
}
check() { # check NAME EXPECTED-FILE ACTUAL-FILE
	if cmp -s "$2" "$3"; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		diff "$2" "$3" | head -20
		fails=$((fails + 1))
	fi
}
hosted() { # hosted ARGS...: a hosted client on uktap1
	X env UK_TAP=uktap1 UK_IP=10.201.0.3/24 UK_DNS=10.201.0.1 timeout 120 "$@" 2>&1
	echo "exit $?"
}
kvm() { # kvm KERNEL ARGS...: the unikernel on uktap2; prints its console and exit status
	local k=$1
	shift
	X timeout 200 qemu-system-x86_64 -M pc -accel tcg -m 64 -bios /usr/share/qemu/qboot.rom \
		-kernel "$k" -append "env=UK_IP=10.201.0.4/24 dns=10.201.0.1 -- $*" \
		-nographic -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname=uktap2,script=no,downscript=no -device virtio-net-pci,netdev=n0 \
		-serial "file:$tmp/console" </dev/null >/dev/null 2>&1
	local rc=$?
	tr -d '\r' <"$tmp/console"
	echo "exit $(((rc - 1) / 2))"
}
host() { # host ARGS...: the host-libc build, on the namespace's own stack
	X timeout 120 "$@" 2>&1
	echo "exit $?"
}

# Numeric address: the host's libc over Linux's TCP is the reference.
host "$tmp/g_echo_client" 10.201.0.2 7000 $bytes >"$tmp/g_echo"
grep -q "byte-exact" "$tmp/g_echo" || { echo "FAIL: reference client:"; cat "$tmp/g_echo"; exit 1; }
hosted "$tmp/h_echo_client" 10.201.0.2 7000 $bytes >"$tmp/h_echo"
check "hosted echo client: $bytes bytes byte-exact, same output as the host libc" "$tmp/g_echo" "$tmp/h_echo"
# By name: the resolver asks the test responder.
printf 'resolved echo.test\nconnected\necho%s\nexit 0\n' "ed $bytes of $bytes bytes, byte-exact, then end of stream" >"$tmp/want_name"
hosted "$tmp/h_echo_client" echo.test 7000 $bytes >"$tmp/h_name"
check "hosted client resolves echo.test by DNS and echoes $bytes bytes" "$tmp/want_name" "$tmp/h_name"
kvm "$tmp/k_echo_client" echo.test 7000 $bytes >"$tmp/k_name"
check "unikernel client (QEMU, virtio-net on a tap) resolves echo.test, same output" "$tmp/want_name" "$tmp/k_name"
# The first query for retry.* is dropped: the resolver must retransmit.
hosted "$tmp/h_echo_client" retry.echo.test 7000 1000 >"$tmp/h_retry"
grep -q "^resolved retry.echo.test$" "$tmp/h_retry" && grep -q "byte-exact" "$tmp/h_retry" &&
	grep -q "dropped first query for retry.echo.test" "$tmp/dns.log" &&
	grep -q "query retry.echo.test" "$tmp/dns.log"
ok $? "a lost DNS query is retransmitted (retry.echo.test resolved on the second try)"
# 40 records do not fit 512 bytes: the UDP answer is truncated (TC), asked again over TCP.
for t in hosted kvm; do
	if [ $t = hosted ]; then hosted "$tmp/h_echo_client" big.echo.test 7000 1000; else
		kvm "$tmp/k_echo_client" big.echo.test 7000 1000; fi >"$tmp/${t}_big"
	grep -q "^resolved big.echo.test$" "$tmp/${t}_big" && grep -q "byte-exact" "$tmp/${t}_big"
	ok $? "$t client: a truncated answer for big.echo.test is asked again over TCP, resolved"
done
[ "$(grep -c "tcp query big.echo.test" "$tmp/dns.log")" = 2 ]
ok $? "the responder saw both TCP queries"
# NXDOMAIN: the same message as glibc's.
printf 'getaddrinfo nope.test: Name or service not known\nexit 2\n' >"$tmp/want_nx"
hosted "$tmp/h_echo_client" nope.test 7000 10 >"$tmp/h_nx"
check "NXDOMAIN is EAI_NONAME (hosted)" "$tmp/want_nx" "$tmp/h_nx"
kvm "$tmp/k_echo_client" nope.test 7000 10 >"$tmp/k_nx"
check "NXDOMAIN is EAI_NONAME (unikernel)" "$tmp/want_nx" "$tmp/k_nx"
# HTTP: python's http.server reached by name; the reference is the host-libc client by address.
host "$tmp/g_http_get" 10.201.0.1 8080 /file.bin >"$tmp/g_http"
grep -q "body 300000 bytes" "$tmp/g_http" || { echo "FAIL: reference http_get:"; cat "$tmp/g_http"; fails=$((fails + 1)); }
hosted "$tmp/h_http_get" web.test 8080 /file.bin >"$tmp/h_http"
check "hosted http_get of web.test: same status, length and hash as the host libc" "$tmp/g_http" "$tmp/h_http"
kvm "$tmp/k_http_get" web.test 8080 /file.bin >"$tmp/k_http"
check "unikernel http_get of web.test: same output" "$tmp/g_http" "$tmp/k_http"
# The server saw every echo connection end cleanly (4 clients of $bytes, 3 of 1000).
[ "$(grep -c "connection done: $bytes bytes echoed" "$tmp/server.out")" = 4 ] &&
	[ "$(grep -c "connection done: 1000 bytes echoed" "$tmp/server.out")" = 3 ]
ok $? "hosted echo server (poll, non-blocking) served every connection in full"
[ $fails = 0 ] || { echo "--- dns log"; cat "$tmp/dns.log"; echo "--- server"; cat "$tmp/server.out"; }
exit $((fails > 0))
