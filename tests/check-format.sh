#!/bin/bash
# Fails if any C source or header in the repository differs from .clang-format's layout.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "check-format: clang-format not installed" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ ${#files[@]} -gt 0 ] || exit 0
if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/uk-format.$$; then
	head -40 /tmp/uk-format.$$ >&2
	rm -f /tmp/uk-format.$$
	echo "check-format: run 'clang-format -i' on the files above" >&2
	exit 1
fi
rm -f /tmp/uk-format.$$
echo "check-format: $((${#files[@]})) files ok"
