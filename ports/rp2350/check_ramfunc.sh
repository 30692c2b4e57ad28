#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_ramfunc.sh ELF [OBJDUMP] - fail when code that runs from RAM while
# flash is unusable (the .ramfunc part of .data, between __ramfunc_start
# and __ramfunc_end, rp2350.ld) refers to a flash address 0x10xxxxxx: a
# call, a branch or a literal. docs/rp2350.md, "Flash".
set -eu
elf=${1:?usage: check_ramfunc.sh ELF [OBJDUMP]}
objdump=${2:-arm-none-eabi-objdump}
nm=$(printf '%s' "$objdump" | sed 's/objdump$/nm/')

addr() { "$nm" "$elf" | awk -v s="$1" '$3 == s { print "0x" $1 }'; }
start=$(addr __ramfunc_start)
stop=$(addr __ramfunc_end)
if [ -z "$start" ] || [ -z "$stop" ]; then
    echo "check_ramfunc: $elf has no __ramfunc_start/__ramfunc_end" >&2
    exit 1
fi
if [ "$((start))" -eq "$((stop))" ]; then
    echo "check_ramfunc: $elf has no RAM functions" >&2
    exit 1
fi
listing=$("$objdump" -d --no-show-raw-insn -j .data --start-address="$start" \
    --stop-address="$stop" "$elf")
# Operands and literal words that name a 0x10xxxxxx address (objdump
# prints branch targets and .word values without the 0x prefix too), and
# calls through a linker veneer (a call too far for a BL, i.e. out of RAM:
# the veneer itself lands after the RAM functions, outside the range).
bad=$(printf '%s\n' "$listing" | grep -E '^ *[0-9a-f]+:' |
    grep -Ei '(\b|0x)10[0-9a-f]{6}\b|_veneer>' || true)
if [ -n "$bad" ]; then
    echo "check_ramfunc: RAM functions in $elf refer to flash:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
fi
n=$(printf '%s\n' "$listing" | grep -cE '^[0-9a-f]+ <[^>]+>:$' || true)
echo "check_ramfunc: $n RAM function(s), no flash reference"
