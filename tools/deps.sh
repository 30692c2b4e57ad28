#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# tools/deps.sh [--build] [--run] [--firmware]
#
# Installs the Debian packages fusekey needs that are not installed yet:
#   --build     to build and test (compilers, CMake, libraries, and the PC/SC
#               stack the integration tests drive)
#   --run       to run fusekey-sim behind pcscd and use it with OpenSC
#   --firmware  to cross-build for the Cortex-M33 (the RP2350 firmware and the
#               core's tests run under QEMU), and to fetch and unpack the
#               Debian source packages the target's crypto is built from
# Without an option: --build and --run. Prints nothing and changes nothing when every
# package is already installed; otherwise runs `apt-get update` and
# `apt-get install -y --no-install-recommends` (through sudo when not root).
# Re-run under bash when started as `sh script` (the code below needs bash).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

readonly BUILD_PACKAGES=(
    build-essential cmake pkg-config clang
    libmbedtls-dev libdecaf-dev libsecp256k1-dev libcmocka-dev libpcsclite-dev
    pcscd vsmartcard-vpcd opensc opensc-pkcs11 python3-pyscard python3-cryptography
    iproute2 util-linux procps openssl
    libp11-kit-dev softhsm2
    python3-fido2 libfido2-dev fido2-tools openssh-client
)
# Packages only some releases have: clang's sanitizer and libFuzzer runtimes
# are a separate package on Debian 12 (a mere recommendation of clang there),
# and part of clang's own packages elsewhere. Installed when available.
readonly OPTIONAL_BUILD_PACKAGES=(
    libclang-rt-dev
)
readonly RUN_PACKAGES=(
    pcscd vsmartcard-vpcd opensc opensc-pkcs11 procps
    python3-fido2 fido2-tools openssh-client
)
# newlib's thumb/v8-m.main+fp/hard multilib is the one the target uses.
readonly FIRMWARE_PACKAGES=(
    cmake make gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
    qemu-system-arm dpkg-dev python3
)

usage() {
    echo "usage: $0 [--build] [--run] [--firmware]" >&2
    exit 2
}

want_build=0 want_run=0 want_firmware=0
for arg in "$@"; do
    case "$arg" in
        --build) want_build=1 ;;
        --run) want_run=1 ;;
        --firmware) want_firmware=1 ;;
        -h|--help) usage ;;
        *) usage ;;
    esac
done
if ((want_build == 0 && want_run == 0 && want_firmware == 0)); then
    want_build=1 want_run=1
fi

wanted=()
((want_build)) && wanted+=("${BUILD_PACKAGES[@]}")
((want_run)) && wanted+=("${RUN_PACKAGES[@]}")
((want_firmware)) && wanted+=("${FIRMWARE_PACKAGES[@]}")

# True when dpkg reports the package as installed.
installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
    [[ "$status" == "installed" ]]
}

if ! command -v dpkg-query >/dev/null; then
    echo "$0: dpkg-query not found: this script installs Debian packages only" >&2
    exit 1
fi

missing=()
declare -A seen=()
for pkg in "${wanted[@]}"; do
    [[ -n "${seen[$pkg]:-}" ]] && continue
    seen[$pkg]=1
    installed "$pkg" || missing+=("$pkg")
done
optional=()
if ((want_build)); then
    for pkg in "${OPTIONAL_BUILD_PACKAGES[@]}"; do
        installed "$pkg" || optional+=("$pkg")
    done
fi
((${#missing[@]} == 0 && ${#optional[@]} == 0)) && exit 0

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "$0: missing packages: ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
    as_root=(sudo)
fi

echo "installing: ${missing[*]} ${optional[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
if ((${#missing[@]} > 0)); then
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for pkg in "${optional[@]}"; do
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$pkg" ||
        echo "$0: $pkg is not available here; continuing without it" >&2
done
