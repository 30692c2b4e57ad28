#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The rules of the house that a compiler does not check:
#  1. core/, applets/, the USB device stack (usb/), the CTAPHID layer
#     (ctap/) and the portable OTP
#     model (otp/, except the host-only image file otp_file.c) include only
#     freestanding C headers and their own; only core/crypto/ includes a
#     crypto library (mbedTLS, libdecaf, libsecp256k1).
#  2. core/, applets/, usb/ and ctap/ know no chip's fuse map: they include neither
#     otp_map.h nor any header of otp/ (they ask hal.h what the device has),
#     and the logical OTP interface (otp/otp_logical.*) does not include the
#     host-only OTP model or its file (it runs over otp_rows.h on a chip).
#  3. The core, applet, USB, CTAPHID and OTP libraries call no allocator.
#  4. Every source file carries an SPDX line.
# Usage: check_rules.sh SOURCE_DIR LIB...
set -u
src=$1
shift
fail=0

allowed='#include <(stdint|stddef|stdbool|string|limits)\.h>'
# The crypto module also publishes data to the second core's job (rsa_gen.c)
# with C11 atomics, a freestanding header.
bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$src/core" "$src/applets" \
        "$src/otp" "$src/usb" "$src/ctap" --include='*.c' --include='*.h' |
      grep -Ev "^$src/otp/otp_file\.[ch]:" |
      grep -Ev "$allowed" | grep -Ev "^$src/core/crypto/[^:]*:[0-9]+:#include <((mbedtls|decaf)/|secp256k1(_[a-z]+)?\.h>)" |
      grep -Ev "^$src/core/crypto/[^:]*:[0-9]+:#include <stdatomic\.h>")
if [ -n "$bad" ]; then
    echo "forbidden includes in core/applets/otp/usb/ctap:"
    echo "$bad"
    fail=1
fi

# An #include of any of the given header names (with or without a path).
includes_of() {
    names=$1
    shift
    grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]([^\">]*/)?($names)[\">]" "$@" \
         --include='*.c' --include='*.h'
}
otp_headers=$(cd "$src/otp" && ls *.h | sed 's/\./\\./g' | tr '\n' '|')
bad=$(includes_of "${otp_headers}otp_map\.h" "$src/core" "$src/applets" "$src/usb" "$src/ctap")
if [ -n "$bad" ]; then
    echo "core/applets/usb include the fuse map or an otp/ header (use hal.h):"
    echo "$bad"
    fail=1
fi
bad=$(includes_of 'otp_model\.h|otp_file\.h' "$src/otp/otp_logical.c" "$src/otp/otp_logical.h")
if [ -n "$bad" ]; then
    echo "the logical OTP interface includes the host-only OTP model:"
    echo "$bad"
    fail=1
fi

for lib in "$@"; do
    alloc=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' |
            grep -E '^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|alloca)$' | sort -u)
    if [ -n "$alloc" ]; then
        echo "dynamic allocation referenced by $lib: $alloc"
        fail=1
    fi
done

files=$(cd "$src" && { git ls-files -co --exclude-standard 2>/dev/null || find . -type f; } |
        grep -E '\.(c|h|cmake|sh|py)$|CMakeLists\.txt$|Makefile$')
for f in $files; do
    head -3 "$src/$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' || { echo "no SPDX line: $f"; fail=1; }
done

if [ "$fail" -ne 0 ]; then echo "rules: FAILED"; exit 1; fi
echo "rules: all checks passed"
