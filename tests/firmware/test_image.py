#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The firmware image as a user handles it (docs/rp2350.md "Signing"):

  test_image.py FUSEKEY_TOOL FUSEKEY_SIM FUSEKEY_ELF FUSEKEY_UF2

The UF2 that `make firmware` wrote holds the ELF's loadable bytes for the
RP2350 Arm-secure family; the bootrom model boots it on a factory-fresh chip;
`fusekey seal --sign` signs it with a key made by openssl, and on a chip
whose OTP carries that key's fingerprint with secure boot enabled, the
signed image boots while the unsigned one and one signed with another key
are refused.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
UF2_FLAG_FAMILY = 0x00002000
FAMILY_RP2350_ARM_S = 0xE48BFF59
FLASH_BASE = 0x10000000
IMAGE_DEF_START, IMAGE_DEF_END = 0xFFFFDED3, 0xAB123579

TOOL = SIM = ELF = UF2 = None
CHIP_WAIT_S = 30


def run(args, stdin=b"", rc=0):
    proc = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != rc:
        raise AssertionError("%s: exit %d (wanted %d)\n%s%s"
                             % (" ".join(args), proc.returncode, rc, out, err))
    return out, err


def uf2_blocks(data):
    """(target, payload, family) of every block; asserts the framing."""
    assert len(data) % 512 == 0 and data, "a UF2 is a whole number of 512-byte blocks"
    blocks = []
    count = len(data) // 512
    for n in range(count):
        blk = data[512 * n:512 * (n + 1)]
        m0, m1, flags, target, size, no, total, family = struct.unpack_from("<8I", blk)
        assert (m0, m1) == (UF2_MAGIC0, UF2_MAGIC1), "block %d magic" % n
        assert struct.unpack_from("<I", blk, 508)[0] == UF2_MAGIC_END, "block %d end magic" % n
        assert flags & UF2_FLAG_FAMILY, "block %d has no family" % n
        assert (no, total) == (n, count), "block %d numbering" % n
        assert 0 < size <= 476
        blocks.append((target, blk[32:32 + size], family))
    return blocks


class FirmwareImage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fk-image-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def fk(self, *args, stdin=b"", rc=0):
        return run([TOOL] + list(args), stdin=stdin, rc=rc)

    def new_chip(self, otp):
        """A factory-fresh chip's OTP file, as the virtual device makes it on its first start
        (it then waits for pcscd, which is not there: stopped once the file exists)."""
        proc = subprocess.Popen([SIM, "--otp", otp, "--flash", self.path("flash.bin"),
                                 "--port", "1"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            for _ in range(CHIP_WAIT_S * 10):
                if os.path.exists(otp) or proc.poll() is not None:
                    break
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(timeout=CHIP_WAIT_S)
        self.assertTrue(os.path.exists(otp), "the virtual device made no OTP file")

    def test_1_uf2_carries_the_image(self):
        """Family RP2350 Arm-S, contiguous 256-byte payloads from the start of flash, a vector
        table whose stack is in SRAM and whose reset vector is Thumb code in the image, and the
        IMAGE_DEF block inside the first 4 KiB."""
        with open(UF2, "rb") as f:
            blocks = uf2_blocks(f.read())
        self.assertTrue(all(fam == FAMILY_RP2350_ARM_S for _, _, fam in blocks))
        self.assertEqual(blocks[0][0], FLASH_BASE)
        image = b""
        for target, payload, _ in blocks:
            self.assertEqual(target, FLASH_BASE + len(image), "payloads are contiguous")
            image += payload
        sp, pc = struct.unpack_from("<II", image, 0)
        self.assertTrue(0x20000000 <= sp <= 0x20082000, "initial stack %#x" % sp)
        self.assertEqual(pc & 1, 1, "reset vector is Thumb")
        self.assertTrue(FLASH_BASE <= pc < FLASH_BASE + len(image), "reset vector %#x" % pc)
        head = image[:4096]
        words = [struct.unpack_from("<I", head, i)[0] for i in range(0, len(head) - 3, 4)]
        self.assertIn(IMAGE_DEF_START, words, "IMAGE_DEF start marker in the first 4 KiB")
        start = words.index(IMAGE_DEF_START)
        self.assertEqual(words[start + 1] & 0xFF, 0x42, "first item is IMAGE_TYPE")
        self.assertEqual((words[start + 1] >> 16) & 0x8000, 0, "no try-before-you-buy flag")
        self.assertIn(IMAGE_DEF_END, words[start:start + 64])

    def test_2_boots_on_a_blank_chip(self):
        out, _ = self.fk("image", "verify", UF2)
        self.assertIn("boot", out.lower())
        out, _ = self.fk("image", "verify", ELF)

    def test_3_signed_boots_on_a_secure_boot_chip(self):
        for name in ("key.pem", "foreign.pem"):
            run(["openssl", "ecparam", "-genkey", "-name", "secp256k1", "-noout", "-out",
                 self.path(name)])
        out, _ = self.fk("seal", "--sign", self.path("key.pem"), "--major", "1", "--minor", "0",
                         "--otp-json", self.path("otp.json"), UF2, self.path("signed.uf2"))
        self.assertIn("boot-key fingerprint", out)
        self.fk("seal", "--sign", self.path("foreign.pem"), UF2, self.path("foreign.uf2"))
        self.new_chip(self.path("otp.bin"))
        otp = ["--otp", self.path("otp.bin")]
        self.fk(*otp, "secure-boot", "load-key", self.path("otp.json"), stdin=b"LOAD-BOOTKEY\n")
        self.fk(*otp, "secure-boot", "harden", stdin=b"HARDEN-SECURE-BOOT\n")
        self.fk(*otp, "secure-boot", "enable", stdin=b"ENABLE-SECURE-BOOT\n")
        self.fk(*otp, "image", "verify", self.path("signed.uf2"))
        self.fk(*otp, "image", "verify", UF2, rc=1)
        self.fk(*otp, "image", "verify", self.path("foreign.uf2"), rc=1)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.stderr.write("usage: test_image.py FUSEKEY_TOOL FUSEKEY_SIM FUSEKEY_ELF FUSEKEY_UF2\n")
        sys.exit(2)
    TOOL, SIM, ELF, UF2 = sys.argv[1:5]
    for p in (TOOL, SIM, ELF, UF2):
        if not os.path.isfile(p):
            sys.stderr.write("test_image: %s is missing\n" % p)
            sys.exit(1)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[5:])
