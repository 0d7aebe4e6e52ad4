#!/bin/bash
# Every command uk --help lists has a man page, and each page holds its command's --help text
# line for line (the pages are generated from it at build time). Usage: test_man.sh UK MANDIR
set -u
UK=$1
MAN=$2
FAILS=0
n=0
for c in $("$UK" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }'); do
	page=$MAN/man1/uk-$c.1
	n=$((n + 1))
	if [ ! -f "$page" ]; then
		echo "FAIL: no man page for uk $c ($page)"
		FAILS=$((FAILS + 1))
		continue
	fi
	# the page's text between .nf and .fi, roff escapes undone, is the --help text
	body=$(sed -n '/^\.nf$/,/^\.fi$/p' "$page" | sed -e '1d' -e '$d' -e 's/^\\&//' -e 's/\\e/\\/g')
	if [ "$body" != "$("$UK" "$c" --help)" ]; then
		echo "FAIL: uk-$c.1 and 'uk $c --help' differ:"
		diff <(echo "$body") <("$UK" "$c" --help) | head -5
		FAILS=$((FAILS + 1))
	fi
done
for p in "$MAN/man1/uk.1" "$MAN/man8/ukd.8"; do
	[ -s "$p" ] || { echo "FAIL: $p missing"; FAILS=$((FAILS + 1)); }
done
[ "$n" -ge 30 ] || { echo "FAIL: only $n commands"; FAILS=$((FAILS + 1)); }
echo "$n commands, $FAILS failure(s)"
[ "$FAILS" -eq 0 ]
