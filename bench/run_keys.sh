#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# bench/run_keys.sh BUILD_DIR [--sign-args "ARGS"] [--cipher-args "ARGS"] [--p11-args "ARGS"]
# bench/run_keys.sh --sim PATH --sign PATH --cipher PATH --p11 PATH [--sign-args "ARGS"]
#                   [--cipher-args "ARGS"] [--p11-args "ARGS"]
#
# The key benchmarks (docs/testing.md, "Benchmark"):
#  1. fk-bench-sign: COMPUTE SIGNATURE through the device, in process,
#     against the crypto module's bare signature with the same key.
#  2. fk-bench-cipher: CIPHER (AES-256-GCM on 4 KiB, HKDF, PBKDF2) through the
#     device, in process, against the bare symmetric crypto with the same key.
#  3. fk-bench-p11, in private namespaces (tests/integration/isolate.sh): a
#     private pcscd with the vpcd reader, fusekey-sim on vpcd slot 0 (fresh
#     flash and OTP in a temporary directory) initialized with sc-hsm-tool,
#     and a SoftHSM2 token in the same temporary directory (private
#     SOFTHSM2_CONF); then fk-bench-p11 drives both through PKCS#11.
# Every process it starts is stopped on every exit path.
#
# BUILD_DIR is a CMake build directory: the programs are taken from
# BUILD_DIR/ports/host/fusekey-sim and BUILD_DIR/bench/fk-bench-{sign,cipher,p11}.
# ARGS are options of the program, split at blanks, e.g.
#   bench/run_keys.sh build/release --p11-args "--rounds 9 --keygen-runs 5"
# Re-run under bash when started as `sh script` (the code below needs bash).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly CARD_TIMEOUT_S=20         # for the card to show in reader 0
readonly PIN=648219
readonly SO_PIN=3537363231383830
readonly SOFTHSM_LABEL=fk-bench
MULTIARCH_LIB=/usr/lib/$(uname -m)-linux-gnu
readonly MULTIARCH_LIB
readonly OPENSC_MODULES=("$MULTIARCH_LIB/opensc-pkcs11.so" "$MULTIARCH_LIB/pkcs11/opensc-pkcs11.so")
readonly SOFTHSM_MODULES=("$MULTIARCH_LIB/softhsm/libsofthsm2.so" /usr/lib/softhsm/libsofthsm2.so)

usage() {
    echo "usage: $0 BUILD_DIR [--sign-args \"ARGS\"] [--cipher-args \"ARGS\"] [--p11-args \"ARGS\"]" >&2
    echo "       $0 --sim PATH --sign PATH --cipher PATH --p11 PATH [--sign-args \"ARGS\"]" >&2
    echo "          [--cipher-args \"ARGS\"] [--p11-args \"ARGS\"]" >&2
    exit 2
}

# The first existing file of the arguments; fails when there is none.
first_file() {
    local f
    for f in "$@"; do
        [[ -e "$f" ]] && { echo "$f"; return 0; }
    done
    return 1
}

sim='' sign='' cipher='' p11='' sign_args='' cipher_args='' p11_args='' inside=0
if (($#)) && [[ "$1" != -* ]]; then
    [[ -d "$1" ]] || usage
    sim=$1/ports/host/fusekey-sim sign=$1/bench/fk-bench-sign p11=$1/bench/fk-bench-p11
    cipher=$1/bench/fk-bench-cipher
    shift
fi
while (($#)); do
    case "$1" in
        --sim) sim=${2:?}; shift 2 ;;
        --sign) sign=${2:?}; shift 2 ;;
        --cipher) cipher=${2:?}; shift 2 ;;
        --cipher-args) cipher_args=${2?}; shift 2 ;;
        --p11) p11=${2:?}; shift 2 ;;
        --sign-args) sign_args=${2?}; shift 2 ;;
        --p11-args) p11_args=${2?}; shift 2 ;;
        --inside) inside=1; shift ;; # internal: the PKCS#11 part, in the namespaces
        *) usage ;;
    esac
done
[[ -n "$sim" && -n "$sign" && -n "$p11" ]] || usage
((inside)) || [[ -n "$cipher" ]] || usage
progs=("$sim" "$sign" "$p11")
((inside)) || progs+=("$cipher")
for prog in "${progs[@]}"; do
    [[ -x "$prog" ]] || { echo "$0: not executable: $prog" >&2; exit 1; }
done

if ((!inside)); then
    read -ra sign_argv <<< "$sign_args"
    echo "==== fk-bench-sign: COMPUTE SIGNATURE through the applet vs the bare signature"
    "$sign" "${sign_argv[@]}"
    echo
    read -ra cipher_argv <<< "$cipher_args"
    echo "==== fk-bench-cipher: CIPHER through the applet vs the bare symmetric crypto"
    "$cipher" "${cipher_argv[@]}"
    echo
    echo "==== fk-bench-p11: fusekey-sim through OpenSC's PKCS#11 module vs SoftHSM2"
    for tool in pcscd sc-hsm-tool opensc-tool softhsm2-util; do
        command -v "$tool" >/dev/null || { echo "$0: $tool missing: run tools/deps.sh" >&2; exit 1; }
    done
    exec bash "$here/../tests/integration/isolate.sh" bash "$0" --inside --sim "$sim" \
        --sign "$sign" --p11 "$p11" --p11-args "$p11_args"
fi

# ---- inside the namespaces: the PKCS#11 part ----
[[ "${FK_ISOLATED:-}" == "1" ]] || { echo "$0: --inside is internal" >&2; exit 2; }
opensc_module=$(first_file "${OPENSC_MODULES[@]}") ||
    { echo "$0: OpenSC's PKCS#11 module missing: run tools/deps.sh" >&2; exit 1; }
softhsm_module=$(first_file "${SOFTHSM_MODULES[@]}") ||
    { echo "$0: SoftHSM2's module missing: run tools/deps.sh" >&2; exit 1; }
# The user's OpenSC settings would change what is measured.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^OPENSC_' || true)

# shellcheck source=bench/rig.sh
. "$here/rig.sh"
rig_begin fk-bench-keys

fail() {
    echo "$0: $*" >&2
    if [[ -s "$work/sim.log" ]]; then
        echo "---- fusekey-sim log:" >&2
        tail -n 30 "$work/sim.log" >&2
    fi
    exit 1
}

rig_start_pcscd || fail "pcscd did not start"

"$sim" --flash "$work/flash.bin" --otp "$work/otp.bin" --host 127.0.0.1 --port "$VPCD_PORT" \
    --presence auto >"$work/sim.log" 2>&1 &
sim_pid=$!
pids+=("$sim_pid")
deadline=$((SECONDS + CARD_TIMEOUT_S))
until opensc-tool -l 2>/dev/null | grep -Eq '^0[[:space:]]+Yes'; do
    ((SECONDS < deadline)) || fail "no card in reader 0 after ${CARD_TIMEOUT_S} s"
    sleep 0.05
done

# sc-hsm-tool exits 0 even when the card refuses: look at what it says.
init_out=$(sc-hsm-tool --reader 0 --initialize --so-pin "$SO_PIN" --pin "$PIN" 2>&1) ||
    fail "sc-hsm-tool --initialize failed: $init_out"
if grep -Eqi 'fail|error' <<< "$init_out"; then
    fail "sc-hsm-tool --initialize: $init_out"
fi

mkdir "$work/tokens"
cat > "$work/softhsm2.conf" <<EOF
directories.tokendir = $work/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$work/softhsm2.conf
softhsm2-util --init-token --free --label "$SOFTHSM_LABEL" --so-pin "$SO_PIN" --pin "$PIN" \
    >"$work/softhsm.log" 2>&1 || { cat "$work/softhsm.log" >&2; fail "softhsm2-util failed"; }

read -ra p11_argv <<< "$p11_args"
"$p11" --opensc "$opensc_module" --softhsm "$softhsm_module" --pin "$PIN" \
    --softhsm-label "$SOFTHSM_LABEL" "${p11_argv[@]}" || fail "fk-bench-p11 failed"

# fusekey-sim must stop cleanly and, in a sanitizer build, report nothing.
kill -TERM "$sim_pid"
sim_rc=0
wait "$sim_pid" || sim_rc=$?
if grep -Eq 'Sanitizer|runtime error' "$work/sim.log"; then
    fail "fusekey-sim reported an error"
fi
((sim_rc == 0)) || fail "fusekey-sim exited with status $sim_rc"
