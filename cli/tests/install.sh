#!/bin/bash
# cmake --install puts uk's man pages (uk(1), one uk-CMD(1) per command, ukd(8), Ukfile(5)) and
# its bash completion where man and bash-completion look (issue 16), into a scratch prefix.
# usage: install.sh BUILD_DIR UK
set -u
build=$1 uk=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp" >"$tmp/log" 2>&1 || { cat "$tmp/log"; echo "FAIL: cmake --install"; exit 1; }
fail=0
for f in share/man/man1/uk.1 share/man/man1/uk-run.1 share/man/man1/uk-ps.1 share/man/man1/uk-build.1 \
	share/man/man8/ukd.8 share/man/man5/Ukfile.5 share/bash-completion/completions/uk bin/uk bin/ukd; do
	[ -s "$tmp/$f" ] || { echo "FAIL: $f not installed"; fail=1; }
done
# one page per command uk --help lists
for cmd in $("$uk" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
	[ -s "$tmp/share/man/man1/uk-$cmd.1" ] || { echo "FAIL: no uk-$cmd(1) for '$cmd'"; fail=1; }
done
if command -v man >/dev/null; then
	MANPATH=$tmp/share/man man -w uk-run >/dev/null 2>&1 || { echo "FAIL: man -w uk-run finds no page"; fail=1; }
fi
bash -c ". '$tmp/share/bash-completion/completions/uk' && complete -p uk" >/dev/null 2>&1 ||
	{ echo "FAIL: the completion script registers no completion for uk"; fail=1; }
[ $fail = 0 ] && echo "PASS: $(find "$tmp/share/man" -name '*.[158]' | wc -l) man pages and the completion installed"
exit $fail
