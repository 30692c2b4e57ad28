#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the firmware size and stack reports (tools/fw) on map and
call-graph files written as the GNU toolchain writes them."""
import io
import os
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "fw"))
import size_report  # noqa: E402
import stack_report  # noqa: E402

MAP = """\
Archive member included to satisfy reference by file (symbol)

Memory Configuration

Name             Origin             Length             Attributes
FLASH            0x10000000         0x00010000         xr
RAM              0x20000000         0x00008000         xrw
SCRATCH_Y        0x20081000         0x00001000         xrw
*default*        0x00000000         0xffffffff

Linker script and memory map

LOAD ports/rp2350/CMakeFiles/fusekey_firmware.dir/main.c.obj
.text           0x10000000      0x160
 *(.vectors)
 .vectors       0x10000000      0x110 ports/rp2350/CMakeFiles/fusekey_firmware.dir/rp_startup.c.obj
 .text.a_very_long_function_name_that_wraps
                0x10000110       0x30 core/libfk_core.a(apdu.c.obj)
                0x10000110                a_very_long_function_name_that_wraps
 .text.store_put
                0x10000140       0x10 core/store/libfk_store.a(store.c.obj)
 *fill*         0x10000150        0x2 
 .rodata.tab    0x10000152        0xe core/libfk_core.a(tlv.c.obj)

.data           0x20000000       0x20 load address 0x10000160
 .data.x        0x20000000       0x18 core/libfk_core.a(apdu.c.obj)
 .ramfunc       0x20000018        0x8 ports/rp2350/CMakeFiles/fusekey_firmware.dir/rp_flash.c.obj

.bss            0x20000020      0x400
 .bss.card      0x20000020      0x3f0 core/libfk_core.a(card.c.obj)
 COMMON         0x20000410       0x10 core/store/libfk_store.a(store.c.obj)

.stack          0x20081000     0x1000
 .stack         0x20081000     0x1000 ports/rp2350/CMakeFiles/fusekey_firmware.dir/rp_startup.c.obj

.reserve        0x20000420      0x200
                0x20000420                __reserve_start = .
                0x20000620                . = (__reserve_start + 0x200)

/DISCARD/
 *(.ARM.exidx*)
OUTPUT(fusekey.elf elf32-littlearm)

.comment        0x00000000       0x26
 .comment       0x00000000       0x26 core/libfk_core.a(apdu.c.obj)
"""

BUDGET = """\
# limits
flash 1K FLASH
ram   8K RAM SCRATCH_Y
module fk_core 0x40 flash
"""


class SizeReport(unittest.TestCase):
    def run_report(self, budget):
        regions, pieces = size_report.parse_map(MAP)
        limits, caps = size_report.parse_budget(budget)
        out = io.StringIO()
        failed = size_report.report(regions, pieces, limits, caps, 0, out)
        return out.getvalue(), failed

    def table(self, text):
        rows = {}
        for line in text.splitlines()[1:]:
            w = line.split()
            if len(w) == 3 and w[1].isdigit():
                rows[w[0]] = (int(w[1]), int(w[2]))
            if not line.strip():
                break
        return rows

    def test_modules_charged_to_flash_and_ram(self):
        text, _ = self.run_report(BUDGET)
        rows = self.table(text)
        # apdu: 0x30 text + 0x18 data (loaded from flash), tlv 0xe rodata
        self.assertEqual(rows["fk_core"], (0x30 + 0x18 + 0xE, 0x18 + 0x3F0))
        self.assertEqual(rows["fk_store"], (0x10, 0x10))
        self.assertEqual(rows["fusekey_firmware"], (0x110 + 0x8, 0x8 + 0x1000))
        self.assertEqual(rows["(fill)"], (2, 0))
        # An output section no input fills (a reserved stack or heap).
        self.assertEqual(rows["(reserved)"], (0, 0x200))

    def test_totals_and_budgets(self):
        text, failed = self.run_report(BUDGET)
        self.assertIn("flash", text)
        # flash: 0x160 + 0x20 of .data load image = 384 bytes
        self.assertRegex(text, r"flash\s+384 of\s+1024")
        self.assertRegex(text, r"ram\s+%d of\s+8192" % (0x20 + 0x400 + 0x1000 + 0x200))
        # fk_core's flash (0x56 bytes) is over its 0x40 cap
        self.assertEqual(failed, ["module fk_core"])

    def test_nobits_from_the_elf(self):
        """The map gives .bss a load address too; the ELF says it takes no flash."""
        names = b"\0.bss\0.data\0.shstrtab\0"
        shdrs = [struct.pack("<10I", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
                 struct.pack("<10I", 1, 8, 3, 0x20000020, 0, 0x400, 0, 0, 4, 0),
                 struct.pack("<10I", 6, 1, 3, 0x20000000, 0, 0x20, 0, 0, 4, 0),
                 struct.pack("<10I", 12, 3, 0, 0, 52, len(names), 0, 0, 1, 0)]
        shoff = 52 + len(names)
        head = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack(
            "<HHIIIIIHHHHHH", 2, 40, 1, 0, 0, shoff, 0, 52, 0, 0, 40, len(shdrs), 3)
        elf = head + names + b"".join(shdrs)
        self.assertEqual(size_report.elf_nobits(elf), {".bss"})
        with self.assertRaises(size_report.MapError):
            size_report.elf_nobits(b"not an elf at all, not at all")
        regions, pieces = size_report.parse_map(MAP.replace(
            ".bss            0x20000020      0x400",
            ".bss            0x20000020      0x400 load address 0x10000180"))
        limits, caps = size_report.parse_budget(BUDGET)
        for nobits in ({".bss", ".stack", ".reserve"}, None):
            out = io.StringIO()
            size_report.report(regions, pieces, limits, caps, 0, out, nobits)
            self.assertRegex(out.getvalue(), r"flash\s+384 of")

    def test_over_budget(self):
        _, failed = self.run_report("flash 100 FLASH\nram 8K RAM SCRATCH_Y\n")
        self.assertEqual(failed, ["flash"])

    def test_unknown_region_and_bad_lines(self):
        with self.assertRaises(size_report.MapError):
            self.run_report("flash 1K FLASH\nram 8K SRAM\n")
        with self.assertRaises(size_report.MapError):
            size_report.parse_budget("flash lots FLASH\nram 1 RAM\n")
        with self.assertRaises(size_report.MapError):
            size_report.parse_map("not a map\n")


CI_A = """graph: { title: "main.c"
node: { title: "main" label: "main\\nmain.c:10:5\\n24 bytes (static)" }
node: { title: "fk_card_transceive" label: "fk_card_transceive\\ncard.c:1:1" shape : ellipse }
node: { title: "memcpy" label: "memcpy\\nmain.c:1:1" shape : ellipse }
edge: { sourcename: "main" targetname: "fk_card_transceive" label: "main.c:12:5" }
edge: { sourcename: "main" targetname: "memcpy" label: "main.c:13:5" }
node: { title: "irq" label: "irq\\nmain.c:20:6\\n16 bytes (static)" }
}
"""
CI_B = """graph: { title: "card.c"
node: { title: "fk_card_transceive" label: "fk_card_transceive\\ncard.c:5:8\\n40 bytes (static)" }
node: { title: "card.c:dispatch" label: "dispatch\\ncard.c:3:13\\n8 bytes (static)" }
node: { title: "__indirect_call" label: "Indirect Call Placeholder" shape : ellipse }
edge: { sourcename: "fk_card_transceive" targetname: "card.c:dispatch" label: "card.c:6:5" }
edge: { sourcename: "card.c:dispatch" targetname: "__indirect_call" label: "card.c:3:20" }
node: { title: "hsm_process" label: "hsm_process\\nhsm.c:1:1\\n300 bytes (static)" }
node: { title: "rescue_process" label: "rescue_process\\nrescue.c:1:1\\n100 bytes (static)" }
}
"""


class StackReport(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        for name, text in (("main.c.ci", CI_A), ("card.c.ci", CI_B)):
            with open(os.path.join(self.dir.name, name), "w") as f:
                f.write(text)

    def tearDown(self):
        self.dir.cleanup()

    def run_tool(self, conf_text):
        conf = os.path.join(self.dir.name, "stack.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        out, err = io.StringIO(), io.StringIO()
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            rc = stack_report.main(["stack_report", conf, self.dir.name])
        finally:
            sys.stdout, sys.stderr = old
        return rc, out.getvalue(), err.getvalue()

    BASE = "entry main\nisr irq\nframe 104\nextern memcpy 8\nindirect card.c:dispatch *_process\n"

    def test_worst_path_through_indirect_call(self):
        rc, out, err = self.run_tool(self.BASE + "budget 1000\n")
        self.assertEqual(rc, 0, err)
        # main 24 + transceive 40 + dispatch 8 + hsm_process 300 = 372;
        # + irq 16 + 2 * 104 = 596
        self.assertIn("entry main                        372 bytes", out)
        self.assertIn("hsm_process", out)
        self.assertIn("worst case: 596 bytes", out)

    def test_over_budget(self):
        rc, _, err = self.run_tool(self.BASE + "budget 500\n")
        self.assertEqual(rc, 1)
        self.assertIn("over budget by 96 bytes", err)

    def test_unknowns_are_errors(self):
        rc, _, err = self.run_tool("entry main\nbudget 4096\n")
        self.assertEqual(rc, 1)
        self.assertIn("no call graph for memcpy", err)
        self.assertIn("unresolved indirect call in card.c:dispatch", err)

    def test_recursion_is_an_error(self):
        with open(os.path.join(self.dir.name, "loop.c.ci"), "w") as f:
            f.write('graph: { title: "loop.c"\n'
                    'node: { title: "rescue_process" label: "rescue_process\\nr.c:1:1\\n100 bytes (static)" }\n'
                    'edge: { sourcename: "rescue_process" targetname: "main" label: "r.c:2:2" }\n}\n')
        rc, _, err = self.run_tool(self.BASE + "budget 4096\n")
        self.assertEqual(rc, 1)
        self.assertIn("recursion", err)

    def test_no_call_graphs(self):
        empty = tempfile.TemporaryDirectory()
        conf = os.path.join(empty.name, "c")
        with open(conf, "w") as f:
            f.write("entry main\nbudget 1\n")
        err = io.StringIO()
        old = sys.stderr
        sys.stderr = err
        try:
            rc = stack_report.main(["stack_report", conf, empty.name])
        finally:
            sys.stderr = old
            empty.cleanup()
        self.assertEqual(rc, 2)
        self.assertIn("no .ci files", err.getvalue())


if __name__ == "__main__":
    unittest.main()
