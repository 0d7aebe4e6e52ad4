#!/bin/bash
# Registry benchmark (issue 5): push and pull of the website image with ukimages next to curl moving the same bytes to the same local docker-registry (the floor), one run.
# usage: bench/registry.sh [BUILD_DIR]   (default: build). KEEP=1 keeps the work directory. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "registry.sh: no build directory ${1:-build}" >&2; exit 1; }
probe=$build/bench/registry_probe
[ -x "$build/bin/ukcc" ] && [ -x "$probe" ] || { echo "registry.sh: $build/bin/ukcc or $probe missing: build first" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || { echo "registry.sh: /usr/bin/docker-registry missing (Debian docker-registry)" >&2; exit 1; }
command -v curl >/dev/null || { echo "registry.sh: curl missing" >&2; exit 1; }

tmp=$(mktemp -d /tmp/ukreg.XXXXXX)
rpid=
cleanup() {
	if [ -n "$rpid" ]; then
		kill "$rpid" 2>/dev/null || true
		wait "$rpid" 2>/dev/null || true
	fi
	if [ -n "${KEEP:-}" ]; then echo "registry.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# A docker-registry on a free loopback port, storage in the work directory.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$tmp/config.yml" <<YML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/data
http:
  addr: $reg
YML
/usr/bin/docker-registry serve "$tmp/config.yml" >"$tmp/registry.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do
	curl -sf "http://$reg/v2/" >/dev/null && break
	sleep 0.1
done
curl -sf "http://$reg/v2/" >/dev/null || { echo "registry.sh: docker-registry did not start; see $tmp/registry.log" >&2; KEEP=1; exit 1; }

ms() { echo $(($(date +%s%N) / 1000000)); }

# ukimages: build (not timed here), push, push again (every blob present), pull into an empty store.
"$probe" "$build/bin/ukcc" images/examples/website "$tmp/work" "$reg/bench/website:v1" >"$tmp/probe.out"
get() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/probe.out"; }
blobs=$tmp/work/src/blobs/sha256
config=$(get config) layer=$(get layer) manifest=$(get manifest)
bytes=$(($(stat -c %s "$blobs/${config#sha256:}") + $(stat -c %s "$blobs/${layer#sha256:}") + $(stat -c %s "$blobs/${manifest#sha256:}")))

# The floor: curl, its requests on one connection per process (--next), no HEAD checks, nothing
# verified: one process opens both upload sessions (docker-registry ignores single-request
# POST ?digest= uploads), a second PUTs both blobs and the manifest; one process downloads.
u=http://$reg/v2/floor/website
t0=$(ms)
curl -sf -X POST "$u/blobs/uploads/" -D "$tmp/h1" -o /dev/null --next -sf -X POST "$u/blobs/uploads/" -D "$tmp/h2" -o /dev/null
l1=$(tr -d '\r' <"$tmp/h1" | awk 'tolower($1) == "location:" { print $2 }')
l2=$(tr -d '\r' <"$tmp/h2" | awk 'tolower($1) == "location:" { print $2 }')
curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$blobs/${config#sha256:}" "$l1&digest=$config" -o /dev/null \
	--next -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$blobs/${layer#sha256:}" "$l2&digest=$layer" -o /dev/null \
	--next -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$blobs/${manifest#sha256:}" "$u/manifests/v1" -o /dev/null
t1=$(ms)
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$u/manifests/v1" -o "$tmp/m.json" \
	--next -sfL "$u/blobs/$config" -o "$tmp/c.blob" --next -sfL "$u/blobs/$layer" -o "$tmp/l.blob"
t2=$(ms)
curl -s file:///dev/null
t3=$(ms)
cmp -s "$tmp/m.json" "$blobs/${manifest#sha256:}" && cmp -s "$tmp/l.blob" "$blobs/${layer#sha256:}" ||
	{ echo "registry.sh: the floor's bytes came back different" >&2; exit 1; }

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b > 0 else '-')" "$1" "$2"; }
echo "registry benchmark: website image ($(get layer_bytes)-byte layer; $bytes bytes with config and manifest), docker-registry on $reg, one run"
printf '%-44s %12s %12s %8s\n' "operation" "ukimages ms" "curl ms" "ratio"
printf '%-44s %12s %12s %8s\n' "push (2 blobs + manifest) to an empty repo" "$(get push_ms)" "$((t1 - t0))" "$(ratio "$(get push_ms)" $((t1 - t0)))"
printf '%-44s %12s %12s %8s\n' "push again (every blob already there)" "$(get repush_ms)" "-" "-"
printf '%-44s %12s %12s %8s\n' "pull into an empty store (verified)" "$(get pull_ms)" "$((t2 - t1))" "$(ratio "$(get pull_ms)" $((t2 - t1)))"
printf '%-44s %12s %12s %8s\n' "(a curl process that does nothing)" "-" "$((t3 - t2))" "-"
echo "(curl: 2 processes up, 1 down, connections reused, no HEAD checks, no digest verification, nothing stored)"
