#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# tests/m33/run-qemu.sh ELF [ARG...]
#
# Runs a Cortex-M33 test program on QEMU's mps2-an505 with semihosting (its
# output on stdout, its exit status as ours) and the arguments as its argv.
# Fails, never skips, when QEMU is missing. FK_M33_TIMEOUT (seconds, default
# 1500) bounds the run: a program that hangs fails with status 124.
set -u
if [ $# -lt 1 ]; then
    echo "usage: $0 ELF [ARG...]" >&2
    exit 2
fi
elf=$1
shift
qemu=${FK_QEMU:-qemu-system-arm}
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "FAIL: $qemu not found: the Cortex-M33 tests need QEMU (tools/deps.sh --firmware installs qemu-system-arm)" >&2
    exit 1
fi
if [ ! -f "$elf" ]; then
    echo "FAIL: $elf not found" >&2
    exit 1
fi
timeout=${FK_M33_TIMEOUT:-1500}
# Semihosting's command line is the program name followed by -append's text.
timeout --foreground -k 10 "$timeout" "$qemu" -M mps2-an505 -nographic -monitor none \
    -serial none -semihosting -kernel "$elf" -append "$*" </dev/null
rc=$?
if [ $rc -eq 124 ]; then
    echo "FAIL: $elf did not finish within $timeout s" >&2
elif [ $rc -eq 70 ]; then
    echo "FAIL: $elf ended in a fault (see the report above)" >&2
fi
exit $rc
