# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# bench/rig.sh - sourced by the benchmark scripts inside their private
# namespaces (tests/integration/isolate.sh): a scratch directory, the list of
# processes to stop on every exit path, and a private pcscd with the vpcd
# reader. Needs bash and `set -euo pipefail` in the caller.

# shellcheck disable=SC2034  # used by the scripts that source this file
readonly VPCD_PORT=35963           # slot 0; slot 1 is VPCD_PORT + 1
readonly VPCD_CHANNEL=0x8C7B       # vpcd: "/dev/null:0x8C7B" listens on 35963/35964
readonly START_TIMEOUT_TICKS=500   # x 20 ms = 10 s for pcscd to come up

# rig_begin PREFIX: make $work, start with no processes in $pids, and stop
# them all and remove $work when the script exits.
rig_begin() {
    work=$(mktemp -d "/tmp/$1.XXXXXX")
    pids=()
    trap rig_cleanup EXIT
    trap 'exit 130' INT TERM
}

# shellcheck disable=SC2317  # runs from the EXIT trap
rig_cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}

# rig_start_pcscd: a pcscd whose only reader is vpcd, up within 10 s. On
# failure says why on stderr and returns 1.
rig_start_pcscd() {
    local driver i
    # The vpcd driver path from Debian's reader.conf.d entry (or its usual place).
    driver=$(awk '$1 == "LIBPATH" { print $2 }' /etc/reader.conf.d/vpcd 2>/dev/null || true)
    : "${driver:=/usr/lib/pcsc/drivers/serial/libifdvpcd.so}"
    [[ -e "$driver" ]] || { echo "$0: vpcd driver missing: run tools/deps.sh" >&2; return 1; }
    mkdir "$work/conf"
    cat > "$work/conf/vpcd" <<EOC
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$VPCD_CHANNEL
LIBPATH      $driver
CHANNELID    $VPCD_CHANNEL
EOC
    pcscd --foreground --config "$work/conf" >"$work/pcscd.log" 2>&1 &
    pids+=($!)
    for ((i = 0; i < START_TIMEOUT_TICKS; i++)); do
        [[ -S /run/pcscd/pcscd.comm ]] && return 0
        sleep 0.02
    done
    echo "$0: pcscd did not start:" >&2
    cat "$work/pcscd.log" >&2
    return 1
}
