#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/run.sh BUILD_DIR [-- fk-bench options]
# bench/run.sh --sim PATH --bench PATH --null PATH [-- fk-bench options]
#
# Runs fk-bench in private namespaces (tests/integration/isolate.sh): a private
# pcscd with the vpcd reader, fusekey-sim on vpcd slot 0 (fresh flash and OTP
# in a temporary directory), fk-null-card on slot 1, then fk-bench against
# both. Every process it starts is stopped on every exit path.
#
# BUILD_DIR is a CMake build directory: the programs are taken from
# BUILD_DIR/ports/host/fusekey-sim and BUILD_DIR/bench/fk-{bench,null-card}.
# Example: bench/run.sh build/release -- --rounds 9 --count 5000
# Re-run under bash when started as `sh script` (the code below needs bash).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    echo "usage: $0 BUILD_DIR [-- fk-bench options]" >&2
    echo "       $0 --sim PATH --bench PATH --null PATH [-- fk-bench options]" >&2
    exit 2
}

sim='' bench='' null=''
bench_args=()
if (($#)) && [[ "$1" != -* ]]; then
    [[ -d "$1" ]] || usage
    sim=$1/ports/host/fusekey-sim bench=$1/bench/fk-bench null=$1/bench/fk-null-card
    shift
fi
while (($#)); do
    case "$1" in
        --sim) sim=${2:?}; shift 2 ;;
        --bench) bench=${2:?}; shift 2 ;;
        --null) null=${2:?}; shift 2 ;;
        --) shift; bench_args=("$@"); break ;;
        *) usage ;;
    esac
done
[[ -n "$sim" && -n "$bench" && -n "$null" ]] || usage
for prog in "$sim" "$bench" "$null"; do
    [[ -x "$prog" ]] || { echo "$0: not executable: $prog" >&2; exit 1; }
done
command -v pcscd >/dev/null || { echo "$0: pcscd missing: run tools/deps.sh" >&2; exit 1; }

if [[ "${FK_ISOLATED:-}" != "1" ]]; then
    exec bash "$here/../tests/integration/isolate.sh" bash "$0" --sim "$sim" \
        --bench "$bench" --null "$null" -- "${bench_args[@]}"
fi

# ---- inside the namespaces ----
# shellcheck source=bench/rig.sh
. "$here/rig.sh"
rig_begin fk-bench
rig_start_pcscd || exit 1

"$sim" --flash "$work/flash.bin" --otp "$work/otp.bin" --host 127.0.0.1 --port "$VPCD_PORT" \
    --presence auto >"$work/sim.log" 2>&1 &
pids+=($!)
"$null" --host 127.0.0.1 --port $((VPCD_PORT + 1)) >"$work/null.log" 2>&1 &
pids+=($!)

rc=0
"$bench" "${bench_args[@]}" || rc=$?
if ((rc != 0)); then
    echo "---- fusekey-sim log:" >&2
    tail -n 40 "$work/sim.log" >&2
fi
exit "$rc"
