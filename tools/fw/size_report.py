#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""size_report.py - flash and RAM use of a firmware image, per module, from
the GNU ld map file, checked against the budgets in a budget file.

  size_report.py MAP BUDGET [--elf ELF] [--top N]

Every input section the linker placed is charged to a module (the static
library it came from, without "lib" and ".a"; an object outside a library to
its directory's target name; linker fill to "(fill)"), and to the memory
regions it occupies: its run address (VMA) and, for sections copied at start
(.data, RAM functions), its load address (LMA) too. The regions are the ones
of the map's "Memory Configuration" table. The map gives a load address to
every section, also to those that occupy no flash (.bss, a reserved stack):
the ELF's section types tell them apart (SHT_NOBITS sections take only RAM);
without --elf, .bss*, .stack*, .heap*, .noinit* and COMMON are taken as such.

The budget file holds lines `NAME LIMIT REGION...` (limit in bytes, or with a
K suffix for KiB): the sum over the named regions must not exceed the limit.
Lines `module NAME LIMIT KIND` cap one module (KIND flash or ram, meaning the
first or second budget line's regions). `#` starts a comment.

Exit status: 0 within every budget, 1 a budget exceeded, 2 unreadable input.
"""
import os
import re
import struct
import sys

SECTION_HDR = re.compile(r"^(\.\S+|COMMON)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)"
                         r"(?:\s+load address 0x([0-9a-fA-F]+))?\s*$")
SECTION_NAME_ONLY = re.compile(r"^(\.\S+)\s*$")
INPUT_LINE = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
INPUT_NAME_ONLY = re.compile(r"^ (\.\S+|COMMON)\s*$")
INPUT_CONT = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
FILL_LINE = re.compile(r"^ \*fill\*\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)")
REGION_LINE = re.compile(r"^(\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)")


class MapError(Exception):
    pass


NOBITS_NAMES = re.compile(r"^(\.bss|\.stack|\.heap|\.noinit|COMMON)")
SHT_NOBITS = 8


def elf_nobits(data):
    """Names of the SHT_NOBITS sections of a little-endian ELF32 file."""
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise MapError("not a little-endian ELF32 file")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    if shoff == 0 or shentsize < 40 or shoff + shnum * shentsize > len(data) or shstrndx >= shnum:
        raise MapError("ELF section headers out of the file")
    headers = [struct.unpack_from("<IIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    str_off, str_size = headers[shstrndx][4], headers[shstrndx][5]
    names = set()
    for name, kind, _, _, _, _ in headers:
        if kind == SHT_NOBITS:
            end = data.find(b"\0", str_off + name, str_off + str_size)
            names.add(data[str_off + name:end].decode(errors="replace"))
    return names


def module_of(path):
    """The module an input file belongs to."""
    m = re.search(r"([^/\\]+)\.a\((.+)\)$", path)
    if m:
        lib = m.group(1)
        return lib[3:] if lib.startswith("lib") else lib
    m = re.search(r"CMakeFiles/([^/]+)\.dir/", path)
    if m:
        return m.group(1)
    return os.path.basename(os.path.dirname(path)) or os.path.basename(path)


def parse_map(text):
    """Returns (regions, pieces): regions = {name: (origin, length)} from the
    memory configuration; pieces = [(module, size, vma, lma, out_section)].
    An output section's bytes that no input section fills (a stack the
    linker script reserves with `. = ...`) are a piece of module
    "(reserved)"."""
    lines = text.splitlines()
    regions = {}
    try:
        start = lines.index("Memory Configuration")
    except ValueError:
        raise MapError("no 'Memory Configuration' table")
    i = start + 1
    while i < len(lines) and not lines[i].startswith("Linker script and memory map"):
        m = REGION_LINE.match(lines[i])
        if m and m.group(1) not in ("Name", "*default*"):
            regions[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
        i += 1
    if i == len(lines):
        raise MapError("no 'Linker script and memory map' part")
    if not regions:
        raise MapError("the memory configuration names no region")

    pieces = []
    outputs = []  # (name, vma, lma, size, index of its first piece)
    out_vma = out_lma = None
    out_name = None
    pending_out = None
    pending_in = None
    for line in lines[i + 1:]:
        if line.startswith("/DISCARD/") or line.startswith("OUTPUT("):
            out_name = None
            continue
        if pending_out is not None:
            m = re.match(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)"
                         r"(?:\s+load address 0x([0-9a-fA-F]+))?\s*$", line)
            name, pending_out = pending_out, None
            if m:
                out_name = name
                out_vma = int(m.group(1), 16)
                out_lma = int(m.group(3), 16) if m.group(3) else out_vma
                outputs.append((out_name, out_vma, out_lma, int(m.group(2), 16), len(pieces)))
                continue
        m = SECTION_HDR.match(line)
        if m:
            out_name = m.group(1)
            out_vma = int(m.group(2), 16)
            out_lma = int(m.group(4), 16) if m.group(4) else out_vma
            outputs.append((out_name, out_vma, out_lma, int(m.group(3), 16), len(pieces)))
            continue
        m = SECTION_NAME_ONLY.match(line)
        if m:
            pending_out = m.group(1)
            continue
        if out_name is None:
            continue
        if pending_in is not None:
            pending_in = None
            m = INPUT_CONT.match(line)
            if m:
                add_piece(pieces, m.group(3), int(m.group(1), 16), int(m.group(2), 16),
                          out_vma, out_lma, out_name)
                continue
        m = FILL_LINE.match(line)
        if m:
            add_piece(pieces, "(fill)", int(m.group(1), 16), int(m.group(2), 16),
                      out_vma, out_lma, out_name, fill=True)
            continue
        m = INPUT_LINE.match(line)
        if m and not m.group(4).startswith("0x"):
            add_piece(pieces, m.group(4), int(m.group(2), 16), int(m.group(3), 16),
                      out_vma, out_lma, out_name)
            continue
        if INPUT_NAME_ONLY.match(line):
            pending_in = line.strip()
    # What the output sections hold beyond their inputs.
    for k, (name, vma, lma, size, first) in enumerate(outputs):
        end = outputs[k + 1][4] if k + 1 < len(outputs) else len(pieces)
        filled = sum(p[1] for p in pieces[first:end] if p[4] == name)
        if size > filled:
            pieces.append(("(reserved)", size - filled, vma + filled, lma + filled, name))
    return regions, pieces


def add_piece(pieces, path, vma, size, out_vma, out_lma, out_name, fill=False):
    if size == 0:
        return
    lma = vma - out_vma + out_lma
    module = "(fill)" if fill else module_of(path.strip())
    pieces.append((module, size, vma, lma, out_name))


def region_of(regions, addr):
    for name, (origin, length) in regions.items():
        if origin <= addr < origin + length:
            return name
    return None


def parse_budget(text):
    """Returns (limits, module_caps): limits = [(name, limit, [regions])]."""
    limits, caps = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        try:
            if line[0] == "module":
                if len(line) != 4 or line[3] not in ("flash", "ram"):
                    raise ValueError
                caps.append((line[1], size_value(line[2]), line[3]))
            else:
                if len(line) < 3:
                    raise ValueError
                limits.append((line[0], size_value(line[1]), line[2:]))
        except ValueError:
            raise MapError("budget line %d: cannot read %r" % (n, raw))
    if len(limits) < 2:
        raise MapError("the budget needs a flash line and a ram line")
    return limits, caps


def size_value(s):
    if s.upper().endswith("K"):
        return int(s[:-1]) * 1024
    return int(s, 0)


def report(regions, pieces, limits, caps, top, out, nobits=None):
    """Print the report; return the list of exceeded budgets. nobits: the
    names of the output sections that take no load space (None: by name)."""
    per_module = {}
    per_region = {r: 0 for r in regions}
    for module, size, vma, lma, out_name in pieces:
        seen = set()
        no_load = (out_name in nobits) if nobits is not None else bool(NOBITS_NAMES.match(out_name))
        for addr in (vma,) if no_load else (vma, lma):
            reg = region_of(regions, addr)
            if reg is None or reg in seen:
                continue
            seen.add(reg)
            per_region[reg] += size
            per_module.setdefault(module, {}).setdefault(reg, 0)
            per_module[module][reg] += size
    flash_regions = limits[0][2]
    ram_regions = limits[1][2]

    def total(module, regs):
        return sum(per_module.get(module, {}).get(r, 0) for r in regs)

    rows = sorted(per_module, key=lambda m: (-total(m, flash_regions) - total(m, ram_regions), m))
    out.write("%-28s %10s %10s\n" % ("module", limits[0][0], limits[1][0]))
    for module in rows[:top] if top else rows:
        out.write("%-28s %10d %10d\n" % (module, total(module, flash_regions),
                                         total(module, ram_regions)))
    if top and len(rows) > top:
        rest_f = sum(total(m, flash_regions) for m in rows[top:])
        rest_r = sum(total(m, ram_regions) for m in rows[top:])
        out.write("%-28s %10d %10d\n" % ("(%d more)" % (len(rows) - top), rest_f, rest_r))
    failed = []
    out.write("\n")
    for name, limit, regs in limits:
        missing = [r for r in regs if r not in regions]
        if missing:
            raise MapError("budget %s names regions the map lacks: %s" % (name, " ".join(missing)))
        used = sum(per_region[r] for r in regs)
        state = "ok" if used <= limit else "OVER BUDGET"
        out.write("%-6s %8d of %8d bytes (%5.1f%%, %s: %s) %s\n"
                  % (name, used, limit, 100.0 * used / limit, "+".join(regs),
                     ", ".join("%s %d" % (r, per_region[r]) for r in regs), state))
        if used > limit:
            failed.append(name)
    for module, limit, kind in caps:
        regs = flash_regions if kind == "flash" else ram_regions
        used = total(module, regs)
        state = "ok" if used <= limit else "OVER BUDGET"
        out.write("module %-20s %-5s %8d of %8d bytes %s\n" % (module, kind, used, limit, state))
        if used > limit:
            failed.append("module " + module)
    return failed


def main(argv):
    top = 0
    elf = None
    args = []
    it = iter(argv[1:])
    for a in it:
        if a == "--top":
            top = int(next(it, "0"))
        elif a == "--elf":
            elf = next(it, None)
        else:
            args.append(a)
    if len(args) != 2:
        sys.stderr.write("usage: size_report.py MAP BUDGET [--elf ELF] [--top N]\n")
        return 2
    try:
        with open(args[0], encoding="utf-8", errors="replace") as f:
            regions, pieces = parse_map(f.read())
        with open(args[1], encoding="utf-8") as f:
            limits, caps = parse_budget(f.read())
        nobits = None
        if elf is not None:
            with open(elf, "rb") as f:
                nobits = elf_nobits(f.read())
        failed = report(regions, pieces, limits, caps, top, sys.stdout, nobits)
    except (OSError, MapError) as e:
        sys.stderr.write("size_report: %s\n" % e)
        return 2
    if failed:
        sys.stderr.write("size_report: over budget: %s\n" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
