#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_heap.sh ELF [NM] - fail when the firmware image holds or calls the C
# library's heap (malloc and friends, _sbrk): the core and the applets
# allocate nothing, and mbedTLS allocates from the fixed crypto arena
# (core/crypto/arena.c). docs/rp2350.md, "Budgets".
set -eu
elf=${1:?usage: check_heap.sh ELF [NM]}
nm=${2:-arm-none-eabi-nm}
[ -f "$elf" ] || { echo "check_heap: $elf not found" >&2; exit 1; }
symbols=$("$nm" "$elf") || { echo "check_heap: $nm cannot read $elf" >&2; exit 1; }
[ -n "$symbols" ] || { echo "check_heap: $elf has no symbols" >&2; exit 1; }
found=$(printf '%s\n' "$symbols" | awk '
    $NF ~ /^(_?(malloc|calloc|realloc|free|memalign|posix_memalign)|_(malloc|calloc|realloc|free)_r|_sbrk(_r)?)$/ { print $NF }')
if [ -n "$found" ]; then
    echo "check_heap: $elf uses the C library heap:" $found >&2
    exit 1
fi
arena=$(printf '%s\n' "$symbols" | awk '$NF == "fk_arena_calloc" { print }')
[ -n "$arena" ] || { echo "check_heap: $elf has no crypto arena (fk_arena_calloc)" >&2; exit 1; }
echo "check_heap: no C library heap; mbedTLS allocates from the crypto arena"
