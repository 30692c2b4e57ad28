#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/run.sh FUSEKEY_SIM [SIM OPTIONS...]
#
# Runs the virtual fusekey card for interactive use (what `make run` does after
# building): makes sure a pcscd with the vpcd reader is running (starting one,
# and stopping it again at the end, when there is none), then runs fusekey-sim
# in the foreground with its flash and OTP images in the state directory
# ${XDG_DATA_HOME:-~/.local/share}/fusekey. Extra options go to fusekey-sim
# (e.g. --verbose, --presence ask). Ctrl-C stops the simulator and the pcscd
# this script started; a pcscd that was already running is left alone.
# Re-run under bash when started as `sh script` (the code below needs bash).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

readonly PCSCD_DIR=/run/pcscd
readonly PCSCD_PID_FILE=$PCSCD_DIR/pcscd.pid
readonly PCSCD_SOCKET=$PCSCD_DIR/pcscd.comm
readonly VPCD_CONF=/etc/reader.conf.d/vpcd
readonly VPCD_PORT=35963
readonly START_TICKS=250 # x 20 ms = 5 s for pcscd to come up
readonly STOP_TICKS=250  # x 20 ms = 5 s for pcscd to go

die() {
    echo "run.sh: $*" >&2
    exit 1
}

(($# >= 1)) || { echo "usage: $0 FUSEKEY_SIM [SIM OPTIONS...]" >&2; exit 2; }
sim=$1
shift
[[ -x "$sim" ]] || die "not an executable: $sim (build it first)"
command -v pcscd >/dev/null || die "pcscd is not installed: run tools/deps.sh --run"
[[ -e "$VPCD_CONF" ]] || die "$VPCD_CONF missing (vsmartcard-vpcd): run tools/deps.sh --run"

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    as_root=(sudo)
fi

data_home=${XDG_DATA_HOME:-}
[[ "$data_home" == /* ]] || data_home=$HOME/.local/share
state=$data_home/fusekey
mkdir -p "$state"
chmod 0700 "$state"

# State letter (R, S, Z, ...) of a process, empty if there is none.
proc_state() {
    awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null || true
}

# True when the process runs in our mount namespace, i.e. it owns our /run/pcscd
# (a pcscd of an isolated test run lives in a namespace of its own).
same_mount_ns() {
    local theirs
    theirs=$(readlink "/proc/$1/ns/mnt" 2>/dev/null) || return 0 # not readable: assume ours
    [[ "$theirs" == "$(readlink /proc/self/ns/mnt)" ]]
}

# The PID of the pcscd serving this machine's /run/pcscd, or nothing.
running_pcscd() {
    local pid state_letter
    if [[ -r "$PCSCD_PID_FILE" ]]; then
        pid=$(tr -dc 0-9 < "$PCSCD_PID_FILE")
        state_letter=$(proc_state "${pid:-0}")
        if [[ -n "$pid" && -n "$state_letter" && "$state_letter" != Z ]]; then
            echo "$pid"
            return
        fi
    fi
    for pid in $(pgrep -x pcscd || true); do
        if same_mount_ns "$pid" && [[ "$(proc_state "$pid")" != Z ]]; then
            echo "$pid"
            return
        fi
    done
}

# After a pcscd crash (SIGKILL) its pid file and socket stay, and a new pcscd
# refuses to start while that PID exists, even as a zombie: remove them.
clear_stale_files() {
    if [[ -e "$PCSCD_PID_FILE" || -e "$PCSCD_SOCKET" ]]; then
        echo "run.sh: removing stale $PCSCD_PID_FILE and $PCSCD_SOCKET (pcscd is not running)"
        "${as_root[@]}" rm -f "$PCSCD_PID_FILE" "$PCSCD_SOCKET"
    fi
}

started_pid=
# shellcheck disable=SC2317  # runs from the EXIT trap
stop_pcscd() {
    [[ -n "$started_pid" ]] || return 0
    local pid=$started_pid
    started_pid=
    "${as_root[@]}" kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TICKS; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    wait "$pid" 2>/dev/null || true
    echo "run.sh: stopped the pcscd it had started"
}
trap stop_pcscd EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pid=$(running_pcscd)
if [[ -n "$pid" ]]; then
    echo "run.sh: using the running pcscd (pid $pid)"
    if command -v ss >/dev/null && [[ -z "$(ss -Hltn "sport = :$VPCD_PORT" 2>/dev/null)" ]]; then
        echo "run.sh: warning: nothing listens on port $VPCD_PORT: this pcscd has no vpcd" \
             "reader (started before vsmartcard-vpcd was installed?); restart it" >&2
    fi
elif [[ -S "$PCSCD_SOCKET" ]] && command -v systemctl >/dev/null &&
     systemctl is-active --quiet pcscd.socket 2>/dev/null; then
    echo "run.sh: using pcscd through systemd's pcscd.socket (started on demand)"
else
    clear_stale_files
    echo "run.sh: starting pcscd (log: $state/pcscd.log)"
    "${as_root[@]}" pcscd --foreground >"$state/pcscd.log" 2>&1 &
    started_pid=$!
    for ((i = 0; i < START_TICKS; i++)); do
        [[ -S "$PCSCD_SOCKET" ]] && break
        kill -0 "$started_pid" 2>/dev/null || break
        sleep 0.02
    done
    if [[ ! -S "$PCSCD_SOCKET" ]]; then
        cat "$state/pcscd.log" >&2
        die "pcscd did not start"
    fi
fi

# The host tool and the FIDO preload library sit beside the simulator in the
# build tree; the python-fido2 module is in the source tree.
build="$(cd "$(dirname "$sim")/../.." && pwd)"
tool=$build/tools/fusekey/fusekey
preload=$build/tools/fido/libfusekey_fido_preload.so
fido_py="$(cd "$(dirname "$0")" && pwd)/fido"
ctaphid=$state/ctaphid.sock

cat <<EOF

fusekey-sim is starting in vpcd reader slot 0 ("Virtual PCD 00 00").
State: $state (flash.bin, otp.bin). Ctrl-C stops it.
Try in another terminal:
  opensc-tool -an        # the card's ATR and name (SmartCard-HSM)
  opensc-tool -n         # the card's name as OpenSC's driver sees it
  pkcs11-tool -L         # the PKCS#11 slots and the token
  sc-hsm-tool --initialize --so-pin 3537363231383830 --pin 648219 --dkek-shares 1
  sc-hsm-tool --create-dkek-share share.pbe    # then --import-dkek-share share.pbe
  $tool hsm status       # the HSM through fusekey's own tool (docs/fusekey-hsm.md)
  $tool hsm key generate ed25519 --id 1 --pin 648219
  $tool hsm key generate aes:256 --id 2 --pin 648219

The FIDO security key (FIDO2 and U2F) answers on the CTAPHID socket $ctaphid
(user presence: answer y on this terminal when it asks):
  PYTHONPATH=$fido_py /usr/bin/python3 -m fusekey_fido    # python-fido2: getInfo
      # in Python: import fusekey_fido; dev = fusekey_fido.open_device()  (a CtapHidDevice)
  LD_PRELOAD=$preload fido2-token -L
  LD_PRELOAD=$preload fido2-token -I sim:$ctaphid
  LD_PRELOAD=$preload ssh-keygen -t ed25519-sk -f ~/.ssh/id_ed25519_fusekey
and as the FIDO applet of the virtual reader, through python-fido2's CtapPcscDevice:
  /usr/bin/python3 -c 'from fido2.pcsc import CtapPcscDevice; from fido2.ctap2 import Ctap2; print(Ctap2(next(CtapPcscDevice.list_devices())).get_info())'
Control socket (presence answers, power cycle, clock; docs/host-sim.md): $state/control.sock

EOF

rc=0
"$sim" --flash "$state/flash.bin" --otp "$state/otp.bin" "$@" || rc=$?
exit "$rc"
