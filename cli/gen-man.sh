#!/bin/bash
# Writes the man pages uk(1), uk-COMMAND(1) and ukd(8) into OUTDIR from the programs' own --help
# (the same tables that print it), and Ukfile(5) from docs/ukfile.md (the Ukfile reference), at
# build time. Usage: gen-man.sh UK UKD OUTDIR UKFILE_MD
set -eu
UK=$1
UKD=$2
OUT=$3
UKFILE_MD=$4
mkdir -p "$OUT/man1" "$OUT/man5" "$OUT/man8"
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

# Ukfile(5): the markdown reference in roff: ## → .SH, ### → .SS, ``` blocks → .nf/.fi, tables
# and text as they are (one line each), blank lines → .PP; the first (title) line is the NAME.
{
	printf '.TH UKFILE 5 "" "uk" "uk manual"\n.SH NAME\nUkfile \\- how uk build turns a directory into a unikernel image\n'
	tail -n +2 "$UKFILE_MD" | roff | awk '
		/^```/ { pre = !pre; print (pre ? ".nf" : ".fi"); next }
		pre { print; next }
		/^## / { sub(/^## /, ""); print ".SH " toupper($0); next }
		/^### / { sub(/^### /, ""); print ".SS " $0; next }
		/^$/ { print ".PP"; next }
		{ print }'
} >"$OUT/man5/Ukfile.5"
