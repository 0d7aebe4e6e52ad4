#!/bin/bash
# Every command uk --help lists has a man page, and each page holds its command's --help text
# line for line (the pages are generated from it at build time); Ukfile(5) documents exactly the
# instructions of the Ukfile parser's table. Usage: test_man.sh UK MANDIR UKFILE_C
set -u
UK=$1
MAN=$2
UKFILE_C=$3
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
# Ukfile(5): the .SS sections under INSTRUCTIONS (their first word) against ukfile.c's table
parser=$(sed -n '/^static const char \*const instructions\[\] = {/,/};/p' "$UKFILE_C" | grep -o '"[A-Z]*"' | tr -d '"' | sort | tr '\n' ' ')
page=$(awk '/^\.SH / { sec = $2 } sec == "INSTRUCTIONS" && /^\.SS / { print $2 }' "$MAN/man5/Ukfile.5" | sort | tr '\n' ' ')
if [ -z "$parser" ] || [ "$parser" != "$page" ]; then
	echo "FAIL: Ukfile(5) documents '$page', the parser knows '$parser' (edit docs/ukfile.md)"
	FAILS=$((FAILS + 1))
fi
[ "$n" -ge 30 ] || { echo "FAIL: only $n commands"; FAILS=$((FAILS + 1)); }
echo "$n commands, $FAILS failure(s)"
[ "$FAILS" -eq 0 ]
