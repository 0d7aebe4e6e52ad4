#!/bin/bash
# Sends a stop request (ACPI power button via QMP system_powerdown, or SIGTERM when hosted) once the guest says "ready"; checks the exit status.
# usage: shutdown.sh TARGET(pc|q35|hosted) KERNEL HOSTED_BIN EXPECTED_STATUS [APP_ARG]
set -u
target=$1 kernel=$2 hosted=$3 want=$4 arg=${5:-}
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
python3 - "$target" "$kernel" "$hosted" "$want" "$arg" <<'PY'
import os, signal, socket, subprocess, sys, tempfile, time
target, kernel, hosted, want, arg = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
tmp = tempfile.mkdtemp()
out, status, qmp = f"{tmp}/out", f"{tmp}/status", f"{tmp}/qmp"
if target == "hosted":
    p = subprocess.Popen([hosted] + ([arg] if arg else []), stdout=open(out, "w"), stderr=subprocess.STDOUT)
else:
    p = subprocess.Popen(["qemu-system-x86_64", "-M", target, "-accel", "tcg", "-m", "64",
        "-bios", "/usr/share/qemu/qboot.rom", "-kernel", kernel, "-append", f"-- {arg}",
        "-nographic", "-nodefaults", "-no-reboot", "-serial", f"file:{out}", "-serial", f"file:{status}",
        "-qmp", f"unix:{qmp},server=on,wait=off"], stdin=subprocess.DEVNULL)
deadline = time.time() + 30
while time.time() < deadline and "ready" not in open(out).read() if os.path.exists(out) else True:
    time.sleep(0.02)
time.sleep(0.2)
if target == "hosted":
    p.send_signal(signal.SIGTERM)
else:
    s = socket.socket(socket.AF_UNIX); s.connect(qmp); f = s.makefile("rw")
    f.readline()
    for cmd in ('{"execute":"qmp_capabilities"}', '{"execute":"system_powerdown"}'):
        f.write(cmd + "\n"); f.flush(); f.readline()
try:
    rc = p.wait(timeout=20)
except subprocess.TimeoutExpired:
    p.kill(); print("FAIL: the guest ignored the stop request"); sys.exit(1)
print(open(out).read(), end="")
if target == "hosted":
    got = rc
else:
    line = open(status).read().strip()
    print(f"status channel: {line}")
    got = int(line.split("=")[1]) if line.startswith("UK_EXIT=") else None
if got != want:
    print(f"FAIL: exit status {got}, want {want}"); sys.exit(1)
print("PASS")
PY
