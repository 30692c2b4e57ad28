#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# bench/m33/run.sh BUILD_DIR [SHIFT]
#
# Runs BUILD_DIR/bench/m33/bench_m33.elf and bench_hsm_m33.elf (a Cortex-M33
# build, e.g. build/rp2350) on QEMU's mps2-an505 with -icount shift=SHIFT
# (default 4: 16 ns of virtual time per instruction); each prints its
# calibration and figures. Fails when either program fails.
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SHIFT]" >&2
    exit 2
fi
dir=$1/bench/m33
shift_=${2:-4}
if ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "$0: qemu-system-arm not found (tools/deps.sh --firmware installs it)" >&2
    exit 1
fi
echo "Cortex-M33 (QEMU mps2-an505, -icount shift=$shift_):"
for prog in bench_m33 bench_hsm_m33 bench_fido_m33; do
    elf=$dir/$prog.elf
    [ -f "$elf" ] || { echo "$0: $elf not found (build the Cortex-M33 tree first)" >&2; exit 1; }
    timeout --foreground 1800 qemu-system-arm -M mps2-an505 -nographic -monitor none \
        -serial none -semihosting -icount shift="$shift_" -kernel "$elf" </dev/null
done
