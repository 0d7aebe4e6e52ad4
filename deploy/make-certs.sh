#!/bin/sh
# Makes the CA, server and client certificates for ukd's TLS API with OpenSSL (docs/security.md).
#
#   make-certs.sh ca DIR                    CA: DIR/ca.pem, DIR/ca-key.pem
#   make-certs.sh server DIR SAN...         server: DIR/cert.pem, DIR/key.pem for
#                                           SANs like IP:127.0.0.1 DNS:host.example
#   make-certs.sh client DIR NAME [readonly]  client: DIR/clients/NAME/{ca,cert,key}.pem
#                                           (a UK_CERT_PATH); readonly adds OU=uk-readonly
#   make-certs.sh all DIR SAN...            ca + server + client "admin"
#
# Keys are EC P-256, mode 0600. UK_CERT_DAYS (default 825) sets server and client lifetimes.
set -eu

days=${UK_CERT_DAYS:-825}
umask 077

die() {
	echo "make-certs.sh: $*" >&2
	exit 2
}

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	chmod 600 "$1"
}

# sign DIR CSR OUT EXTFILE: signs CSR with DIR's CA.
sign() {
	openssl x509 -req -in "$2" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" -CAcreateserial \
		-days "$days" -sha256 -extfile "$4" -out "$3" 2>/dev/null
	chmod 644 "$3"
}

make_ca() {
	dir=$1
	mkdir -p "$dir"
	[ -e "$dir/ca-key.pem" ] && die "$dir/ca-key.pem exists: not overwriting a CA"
	newkey "$dir/ca-key.pem"
	openssl req -x509 -new -key "$dir/ca-key.pem" -days 3650 -sha256 -subj "/O=uk/CN=uk CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.pem"
	chmod 644 "$dir/ca.pem"
	echo "CA: $dir/ca.pem (keep $dir/ca-key.pem offline)"
}

make_server() {
	dir=$1
	shift
	[ $# -gt 0 ] || die "server: give at least one SAN (IP:127.0.0.1, DNS:host)"
	[ -e "$dir/ca-key.pem" ] || die "server: no CA in $dir (run: make-certs.sh ca $dir)"
	sans=$(echo "$*" | tr ' ' ',')
	tmp=$(mktemp -d)
	newkey "$dir/key.pem"
	openssl req -new -key "$dir/key.pem" -subj "/O=uk/CN=ukd" -out "$tmp/csr"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
		"$sans" >"$tmp/ext"
	sign "$dir" "$tmp/csr" "$dir/cert.pem" "$tmp/ext"
	rm -rf "$tmp"
	echo "server: $dir/cert.pem, $dir/key.pem for $sans"
}

make_client() {
	dir=$1
	name=$2
	ou=
	case "${3:-}" in
	"") ;;
	readonly) ou=/OU=uk-readonly ;;
	*) die "client: third argument must be 'readonly'" ;;
	esac
	case "$name" in
	*/* | "" | .*) die "client: bad name '$name'" ;;
	esac
	[ -e "$dir/ca-key.pem" ] || die "client: no CA in $dir (run: make-certs.sh ca $dir)"
	out=$dir/clients/$name
	mkdir -p "$out"
	tmp=$(mktemp -d)
	newkey "$out/key.pem"
	openssl req -new -key "$out/key.pem" -subj "/O=uk$ou/CN=$name" -out "$tmp/csr"
	printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >"$tmp/ext"
	sign "$dir" "$tmp/csr" "$out/cert.pem" "$tmp/ext"
	cp "$dir/ca.pem" "$out/ca.pem"
	chmod 644 "$out/ca.pem"
	rm -rf "$tmp"
	echo "client $name${ou:+ (read-only)}: UK_CERT_PATH=$out"
}

[ $# -ge 2 ] || die "usage: make-certs.sh ca|server|client|all DIR ... (see the top of this script)"
command -v openssl >/dev/null || die "openssl is not installed"
cmd=$1
shift
case "$cmd" in
ca) make_ca "$1" ;;
server) make_server "$@" ;;
client)
	[ $# -ge 2 ] || die "client: make-certs.sh client DIR NAME [readonly]"
	make_client "$@"
	;;
all)
	make_ca "$1"
	make_server "$@"
	make_client "$1" admin
	;;
*) die "unknown command $cmd (ca, server, client, all)" ;;
esac
