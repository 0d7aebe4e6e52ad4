#!/bin/bash
# Writes the man pages uk(1), uk-COMMAND(1) and ukd(8) into OUTDIR from the programs' own --help
# (the same tables that print it), at build time. Usage: gen-man.sh UK UKD OUTDIR
set -eu
UK=$1
UKD=$2
OUT=$3
mkdir -p "$OUT/man1" "$OUT/man8"
# roff-safe text: a leading . or ' and backslashes escaped, kept as preformatted lines
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
page() { # page FILE NAME SECTION SUMMARY: the --help text on stdin
	{
		printf '.TH %s %s "" "uk" "uk manual"\n' "$(tr '[:lower:]' '[:upper:]' <<<"$2")" "$3"
		printf '.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' "$2" "$4"
		roff
		printf '.fi\n.SH SEE ALSO\nuk(1), uk\\-run(1), ukd(8); docs/cli.md in the uk sources.\n'
	} >"$1"
}
commands=$("$UK" --help | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')
"$UK" --help | page "$OUT/man1/uk.1" uk 1 "build, run and manage unikernels through ukd"
for c in $commands; do
	summary=$("$UK" --help | awk -v c="$c" '$1 == c { $1 = ""; sub(/^ /, ""); print }')
	"$UK" "$c" --help | page "$OUT/man1/uk-$c.1" "uk-$c" 1 "$summary"
done
"$UKD" --help 2>&1 | page "$OUT/man8/ukd.8" ukd 8 "the uk daemon"
