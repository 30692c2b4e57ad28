#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The rules of the house that a compiler does not check:
#  1. core/, applets/ and the portable OTP model (otp/, except the host-only
#     image file otp_file.c) include only freestanding C headers and their
#     own; only core/crypto/ includes mbedTLS.
#  2. The core, applet and OTP model libraries call no allocator.
#  3. Every source file carries an SPDX line.
# Usage: check_rules.sh SOURCE_DIR LIB...
set -u
src=$1
shift
fail=0

allowed='#include <(stdint|stddef|stdbool|string|limits)\.h>'
bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$src/core" "$src/applets" \
        "$src/otp" --include='*.c' --include='*.h' |
      grep -Ev "^$src/otp/otp_file\.[ch]:" |
      grep -Ev "$allowed" | grep -Ev "^$src/core/crypto/[^:]*:[0-9]+:#include <mbedtls/")
if [ -n "$bad" ]; then
    echo "forbidden includes in core/applets/otp:"
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
