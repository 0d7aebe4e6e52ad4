#!/bin/bash
# Boots idle.c (2 s nanosleep) under TCG and fails if QEMU burned more than half of that in CPU time: sleeping must hlt, not spin.
set -u
kernel=$1
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
python3 - "$kernel" <<'PY'
import resource, subprocess, sys, time
k = sys.argv[1]
t = time.monotonic()
p = subprocess.run(["qemu-system-x86_64", "-M", "pc", "-accel", "tcg", "-m", "64",
                    "-bios", "/usr/share/qemu/qboot.rom", "-kernel", k, "-nographic", "-nodefaults",
                    "-no-reboot", "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
print(p.stdout, end="")
print(f"wall {wall:.2f} s, QEMU cpu {cpu:.2f} s")
if p.returncode != 1 or "SUCCESS" not in p.stdout:
    print(f"FAIL: exit status {p.returncode}"); sys.exit(1)
if wall < 2.0:
    print("FAIL: slept less than 2 s"); sys.exit(1)
if cpu > 1.0:
    print("FAIL: the guest kept a host CPU busy while sleeping (no hlt?)"); sys.exit(1)
print("PASS")
PY
