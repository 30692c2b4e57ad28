#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# boot/ follows the core's rules: it includes only freestanding C headers
# (and the project's own), and its library calls no allocator.
# Usage: check_boot_rules.sh SOURCE_DIR LIBFK_BOOT
set -u
src=$1
lib=$2
fail=0

allowed='#include <(stdint|stddef|stdbool|string|limits)\.h>'
bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$src"/boot/*.c "$src"/boot/*.h |
      grep -Ev "$allowed")
if [ -n "$bad" ]; then
    echo "forbidden includes in boot/:"
    echo "$bad"
    fail=1
fi
alloc=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' |
        grep -E '^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|alloca)$' | sort -u)
if [ -n "$alloc" ]; then
    echo "dynamic allocation referenced by $lib: $alloc"
    fail=1
fi
if [ "$fail" -ne 0 ]; then echo "boot rules: FAILED"; exit 1; fi
echo "boot rules: all checks passed"
