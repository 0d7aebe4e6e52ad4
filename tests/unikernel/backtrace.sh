#!/bin/bash
# Runs fault_leaf in MODE on TARGET (microvm under TCG, kvm, hosted), symbolizes its panic
# report's backtrace with addr2line and checks the frames begin with FUNCTION... in order.
# usage: backtrace.sh TARGET KERNEL_KVM KERNEL_HOSTED MODE FUNCTION...
set -u
target=$1 kvm_kernel=$2 hosted_bin=$3 mode=$4
shift 4
want=("$@")
here=$(dirname "$0")
command -v addr2line >/dev/null || { echo "SKIP: addr2line (binutils) not installed"; exit 77; }
out=$("$here/run.sh" "$target" "$kvm_kernel" "$hosted_bin" 139 "backtrace:" -- "$mode")
rc=$?
echo "$out"
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || { echo "FAIL: run.sh failed ($rc)"; exit 1; }
elf=$kvm_kernel
[ "$target" = hosted ] && elf=$hosted_bin
# "  #  0xRIP (faulting instruction)" as is; "  #N 0xRET": the call is the byte before
addrs=()
while read -r num addr _; do
	case $num in
	'#') addrs+=("$addr") ;;
	'#'[0-9]*) addrs+=("$(printf '0x%x' $((addr - 1)))") ;;
	esac
done < <(sed -n '/^backtrace:/,$p' <<<"$out" | tr -d '\r' | grep '^  #')
[ ${#addrs[@]} -gt 0 ] || { echo "FAIL: no backtrace frames"; exit 1; }
mapfile -t got < <(addr2line -f -e "$elf" "${addrs[@]}" | sed -n 'p;n')
echo "symbolized: ${got[*]}"
for i in "${!want[@]}"; do
	if [ "${got[$i]:-}" != "${want[$i]}" ]; then
		echo "FAIL: frame $i is '${got[$i]:-}', want '${want[$i]}' (want: ${want[*]})"
		exit 1
	fi
done
echo "PASS ($target $mode: ${want[*]})"
