#!/bin/bash
# The bash completion lists every command uk --help lists, their options and Docker's groups'
# subcommands. Usage: test_completion.sh UK_BINARY SOURCE_DIR.
set -u
UK=$1
SRC=$2
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok   $*"; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$(readlink -f "$UK")" "$dir/uk"
export PATH="$dir:$PATH"
# shellcheck source=../completion/uk.bash
. "$SRC/cli/completion/uk.bash"
complete_words() { # complete_words WORD... : completions of the last word
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_uk
	printf '%s\n' "${COMPREPLY[@]}" | sort
}
commands=$(uk --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' | sort)
[ "$(wc -l <<<"$commands")" -ge 30 ] || fail "uk --help lists $(wc -l <<<"$commands") commands"
got=$(complete_words uk "")
[ "$got" = "$commands" ] && ok "every command of uk --help completes" || fail "commands: $(diff <(echo "$commands") <(echo "$got"))"
for c in rename container image system ps run; do grep -qx "$c" <<<"$got" || fail "no $c"; done
got=$(complete_words uk r)
[ "$(tr '\n' ' ' <<<"$got")" = "rename restart rm rmi run " ] && ok "uk r<TAB>" || fail "uk r: $got"
got=$(complete_words uk ps --)
for o in --all --quiet --no-trunc --filter --format --help; do grep -qx -- "$o" <<<"$got" || fail "ps --<TAB> lacks $o: $got"; done
grep -qx -- --al <<<"$got" && fail "a prefix offered"
ok "uk ps --<TAB>"
got=$(complete_words uk run --)
grep -qx -- --env-file <<<"$got" && grep -qx -- --label <<<"$got" && ok "uk run --<TAB> has --env-file, --label" || fail "run --: $got"
got=$(complete_words uk image "")
for s in ls prune rm build; do grep -qx "$s" <<<"$got" || fail "uk image <TAB> lacks $s: $got"; done
got=$(complete_words uk image prune --)
grep -qx -- --all <<<"$got" && grep -qx -- --force <<<"$got" && ok "uk image prune --<TAB>" || fail "image prune --: $got"
got=$(complete_words uk system "")
[ "$(tr '\n' ' ' <<<"$got")" = "df events info prune " ] && ok "uk system <TAB>" || fail "system: $got"
echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
