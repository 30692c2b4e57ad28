# SPDX-License-Identifier: Apache-2.0
"""The whole production ritual on the emulated device, as a user does it
(docs/production.md): an HSM with keys made through OpenSC; the OTP master
key burned in BOOTSEL; the keys still work after the restart (migrated); the
page-58 lock by the firmware, after which BOOTSEL cannot read page 58; a
signing key made with openssl; a sealed image; load-key, harden, enable; an
unsigned and a foreign-signed image refused, the signed one booting; a
rollback-2 image burning the thermometer, after which a rollback-1 image is
refused; rollback-require (already set by that boot; and the firmware path
on a second, fresh chip); a versionless image refused; an interrupted flag
burn (one copy of three) that does not count. The flash keys still work at
the end.

The steps build on each other and run in order in one rig.
"""

import os
import shutil
import struct

import fkit

PIN = "648219"
SO_PIN = "3537363231383830"
MODULE = fkit.OPENSC_MODULE
MESSAGE = b"the production ritual keeps every key\n"

# The synthetic RP2350 Arm image: a vector table at 0x10000000 and the IMAGE_DEF block an
# SDK binary carries (START, IMAGE_TYPE EXE/secure/Arm/RP2350, LAST, link 0, END).
IMAGE_BASE = 0x10000000
IMAGE_LEN = 1024
IMAGE_DEF_AT = 0x40
IMAGE_DEF = (0xFFFFDED3, 0x10210142, 0x000001FF, 0x00000000, 0xAB123579)
INITIAL_SP = 0x20082000
RESET_PC = 0x100000F1
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_FLAG_FAMILY = 0x00002000
UF2_FAMILY_RP2350_ARM_S = 0xE48BFF59
UF2_PAYLOAD = 256


def synthetic_image():
    img = bytearray((0x5A ^ (i * 13)) & 0xFF for i in range(IMAGE_LEN))
    struct.pack_into("<II", img, 0, INITIAL_SP, RESET_PC)
    for i in range(2, 16):
        struct.pack_into("<I", img, 4 * i, 0x10000101 + 2 * i)
    for k, word in enumerate(IMAGE_DEF):
        struct.pack_into("<I", img, IMAGE_DEF_AT + 4 * k, word)
    return bytes(img)


def to_uf2(data, base=IMAGE_BASE, family=UF2_FAMILY_RP2350_ARM_S):
    blocks = [data[i:i + UF2_PAYLOAD] for i in range(0, len(data), UF2_PAYLOAD)]
    out = b""
    for n, chunk in enumerate(blocks):
        payload = chunk.ljust(476, b"\0")
        out += struct.pack("<8I", UF2_MAGIC[0], UF2_MAGIC[1], UF2_FLAG_FAMILY,
                           base + n * UF2_PAYLOAD, UF2_PAYLOAD, n, len(blocks), family)
        out += payload + struct.pack("<I", UF2_MAGIC[2])
    return out


def run(args, check=True, stdin=None):
    return fkit.run_client(args, check=check, stdin=stdin, timeout=fkit.TOOL_TIMEOUT)


def p11(*args, check=True):
    return run(["pkcs11-tool", "--module", MODULE, "--login", "--pin", PIN] + list(args),
               check=check)


class Production(fkit.Scratch, fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.card.close()
        cls.card = None
        cls.tool = fkit.tool_path(fkit.ARGS.sim)
        cls.make_scratch("fk-production-")
        cls.device_key = None

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.remove_scratch()

    # -- helpers --

    def fk(self, *args, stdin=b"", rc=0):
        result = fkit.run_tool(self.tool, args, stdin=stdin)
        self.assertEqual(result.rc, rc, str(result))
        return result

    def fk_otp(self, *args, stdin=b"", rc=0):
        return self.fk("--otp", self.rig.otp, *args, stdin=stdin, rc=rc)

    def otp_bytes(self):
        with open(self.rig.otp, "rb") as f:
            return f.read()

    def to_bootsel(self):
        """What a user does: ask the firmware for BOOTSEL; the emulated device stops."""
        self.fk("reboot", "--bootsel")
        self.rig.sim.wait(fkit.STOP_TIMEOUT)
        self.assertEqual(self.rig.stop_sim(), 0)

    def start(self):
        fkit.restart_sim(self.rig)

    def sign_and_verify(self):
        """Both HSM keys sign through PKCS#11 (PIN verified); openssl checks the signatures."""
        digest = run(["openssl", "dgst", "-sha256", "-binary"], stdin=MESSAGE).stdout
        self.write("digest", digest)
        self.write("message", MESSAGE)
        p11("--sign", "--id", "01", "-m", "ECDSA", "-i", self.path("digest"), "-o",
            self.path("sig1"), "--signature-format", "openssl")
        proc = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", self.path("pub01.pem"),
                    "-in", self.path("digest"), "-sigfile", self.path("sig1")], check=False)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        p11("--sign", "--id", "02", "-m", "SHA256-RSA-PKCS", "-i", self.path("message"), "-o",
            self.path("sig2"))
        proc = run(["openssl", "dgst", "-sha256", "-verify", self.path("pub02.pem"),
                    "-signature", self.path("sig2"), self.path("message")], check=False)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def device_key_hash(self):
        out = self.fk("status").out
        for line in out.splitlines():
            if line.startswith("device key:"):
                return line.split()[-1]
        self.fail("no device key line in:\n" + out)

    def seal(self, out, *opts, key="key.pem", src="app.uf2"):
        self.fk("seal", "--sign", self.path(key), *opts, self.path(src), self.path(out))
        return self.path(out)

    # -- the ritual --

    def test_01_hsm_with_keys(self):
        """Initialize the HSM and create two keys with OpenSC; they sign."""
        run(["sc-hsm-tool", "--initialize", "--so-pin", SO_PIN, "--pin", PIN])
        for kid, key_type in (("01", "EC:prime256v1"), ("02", "rsa:2048")):
            out = p11("--keypairgen", "--key-type", key_type, "--id", kid, "--label", "k" + kid)
            self.assertIn(b"Private Key Object", out.stdout)
            run(["pkcs15-tool", "--read-public-key", kid, "-o", self.path("pub%s.pem" % kid)])
        self.sign_and_verify()
        Production.device_key = self.device_key_hash()
        res = self.fk("status")
        self.assertIn("secure boot: enabled no", res.out)

    def test_02_burn(self):
        """BOOTSEL: burn DEVK and MKEK (dry run first, then the typed token)."""
        self.to_bootsel()
        before = self.otp_bytes()
        res = self.fk_otp("otp", "burn", "--dry-run")
        self.assertIn("   picotool otp load -e -s 0xe80 devk.bin\n", res.out)
        self.assertEqual(self.otp_bytes(), before)
        self.fk_otp("otp", "burn", stdin="BURN-OTP-PAGE58\n")
        self.assertIn("keys: KEYS_BURNED", self.fk_otp("status").out)

    def test_03_keys_survive_restart(self):
        """After the restart the firmware runs on the OTP master key: the keys still sign, the
        PIN still verifies, and the device key is now the fused one."""
        self.start()
        self.sign_and_verify()
        self.assertNotEqual(self.device_key_hash(), Production.device_key)

    def verify_so_pin(self):
        """VERIFY of the SO-PIN, as sc-hsm-tool sends it when it asks for it."""
        with fkit.Card() as card:
            _data, sw = card.transmit(fkit.select_aid(fkit.HSM_AID))
            self.assertEqual(sw, fkit.SW_OK)
            _data, sw = card.transmit(bytes([0x00, 0x20, 0x00, 0x88, 8]) + bytes.fromhex(SO_PIN))
            self.assertEqual(sw, fkit.SW_OK)

    def test_04_lock_page58(self):
        """The firmware locks page 58 once nothing is left under the device root (the SO-PIN's
        verifier moves only with the SO-PIN: refused until it was used); after the restart a
        BOOTSEL read of page 58 fails."""
        self.fk("otp", "lock-page58", "--dry-run")
        self.assertIn("migration to the OTP master key: in progress", self.fk("status").out)
        res = self.fk("otp", "lock-page58", stdin="LOCK-PAGE58\n", rc=1)
        self.assertIn("6986", res.err)
        self.assertEqual(self.otp_bytes()[4 * 0xFF5:4 * 0xFF5 + 3], b"\x00\x00\x00")
        self.verify_so_pin()
        self.assertIn("migration to the OTP master key: done", self.fk("status").out)
        self.fk("otp", "lock-page58", stdin="LOCK-PAGE58\n")
        self.to_bootsel()
        res = self.fk_otp("otp", "get", "-e", "0xe80", rc=1)
        self.assertIn("permission failure", res.err)
        self.assertIn("keys: KEYS_LOCKED", self.fk_otp("status").out)

    def test_05_signing_key_and_seal(self):
        """A signing key made with openssl; a test image sealed with it (and one with a
        foreign key)."""
        for name in ("key.pem", "foreign.pem"):
            run(["openssl", "ecparam", "-genkey", "-name", "secp256k1", "-noout", "-out",
                 self.path(name)])
        image = synthetic_image()
        self.write("app.bin", image)
        self.write("app.uf2", to_uf2(image))
        out = self.fk("seal", "--sign", self.path("key.pem"), "--major", "1", "--minor", "0",
                      "--otp-json", self.path("otp.json"), self.path("app.uf2"),
                      self.path("signed.uf2")).out
        self.assertIn("boot-key fingerprint", out)
        self.seal("foreign.uf2", key="foreign.pem")
        # Before secure boot every image boots, signed or not.
        self.fk_otp("image", "verify", self.path("app.bin"))
        self.fk_otp("image", "verify", self.path("signed.uf2"))

    def test_06_secure_boot_stages(self):
        """load-key, harden, enable, each refused out of order and then done with its token."""
        self.fk_otp("secure-boot", "enable", "--yes-i-understand", "ENABLE-SECURE-BOOT", rc=1)
        res = self.fk_otp("secure-boot", "load-key", self.path("otp.json"), "--dry-run")
        self.assertIn("   picotool otp load bootkey0.json\n", res.out)
        self.fk_otp("secure-boot", "load-key", self.path("otp.json"), stdin="LOAD-BOOTKEY\n")
        self.assertIn("boot: KEY_LOADED", self.fk_otp("status").out)
        res = self.fk_otp("secure-boot", "enable", "--yes-i-understand", "ENABLE-SECURE-BOOT",
                          rc=1)
        self.assertIn("harden` comes first", res.err)
        self.fk_otp("secure-boot", "harden", stdin="HARDEN-SECURE-BOOT\n")
        self.fk_otp("secure-boot", "enable", stdin="ENABLE-SECURE-BOOT\n")
        self.assertIn("boot: ENFORCING", self.fk_otp("status").out)

    def test_07_only_signed_images_boot(self):
        """Unsigned and foreign-signed images are refused; the signed one boots."""
        res = self.fk_otp("image", "verify", self.path("app.bin"), rc=1)
        self.assertIn("not signed", res.out)
        res = self.fk_otp("image", "boot", self.path("app.bin"), rc=1)
        self.assertIn("does NOT boot", res.out)
        res = self.fk_otp("image", "boot", self.path("foreign.uf2"), rc=1)
        self.assertIn("in no boot-key slot", res.out)
        res = self.fk_otp("image", "boot", self.path("signed.uf2"))
        self.assertIn("key slot 0", res.out)
        self.assertIn("rollback: required no, floor 0", self.fk_otp("status").out)

    def test_08_rollback(self):
        """A rollback-2 image boots and burns the thermometer (floor 2, ROLLBACK_REQUIRED set by
        the bootrom); a rollback-1 image and a versionless one are refused from then on."""
        self.seal("r2.uf2", "--major", "1", "--minor", "1", "--rollback", "2")
        self.seal("r1.uf2", "--rollback", "1")
        self.fk_otp("image", "boot", self.path("r1.uf2"), "--dry-run")  # would boot, burns nothing
        res = self.fk_otp("image", "boot", self.path("r2.uf2"))
        self.assertIn("Rollback floor 0 -> 2", res.out)
        status = self.fk_otp("status").out
        self.assertIn("rollback: required yes, floor 2", status)
        res = self.fk_otp("image", "boot", self.path("r1.uf2"), rc=1)
        self.assertIn("below the OTP rollback floor", res.out)
        res = self.fk_otp("image", "verify", self.path("signed.uf2"), rc=1)
        self.assertIn("ROLLBACK_REQUIRED", res.out)
        self.fk_otp("image", "boot", self.path("r2.uf2"))  # the floor itself boots, no burn

    def test_09_rollback_require_already(self):
        """On the running firmware, rollback-require sees the flag the bootrom set."""
        self.start()
        res = self.fk("otp", "rollback-require", stdin="ROLLBACK-REQUIRED\n")
        self.assertIn("already set", res.out)
        self.assertIn("rollback: required yes, floor 2 of 48", res.out)

    def test_10_second_chip(self):
        """A fresh chip: an interrupted flag burn (one copy of three) does not count; then the
        firmware path of rollback-require, after secure boot is enabled."""
        self.to_bootsel()
        chip_a = (self.rig.flash, self.rig.otp)
        self.rig.flash, self.rig.otp = self.path("flash_b.bin"), self.path("otp_b.bin")
        try:
            self.start()  # the virtual device creates the new chip's OTP
            self.to_bootsel()
            self.fk_otp("otp", "set", "-r", "0x48", "0x800", stdin="WRITE-OTP-ROW\n")
            status = self.fk_otp("status").out
            self.assertIn("rollback: required no", status)
            self.assertIn("ROLLBACK_REQUIRED in 1 of 3 copies: does not count", status)
            self.fk_otp("image", "boot", self.path("app.bin"))  # versionless still boots
            self.fk_otp("secure-boot", "load-key", self.path("otp.json"), "--yes-i-understand",
                        "LOAD-BOOTKEY")
            self.fk_otp("secure-boot", "harden", "--yes-i-understand", "HARDEN-SECURE-BOOT")
            self.fk_otp("secure-boot", "enable", "--yes-i-understand", "ENABLE-SECURE-BOOT")
            self.fk_otp("image", "boot", self.path("signed.uf2"))  # versionless, signed: boots
            self.start()
            self.fk("otp", "rollback-require", "--dry-run")
            res = self.fk("otp", "rollback-require", stdin="ROLLBACK-REQUIRED\n")
            self.assertIn("ROLLBACK_REQUIRED set (verified", res.out)
            self.to_bootsel()
            self.assertIn("rollback: required yes, floor 0", self.fk_otp("status").out)
            res = self.fk_otp("image", "boot", self.path("signed.uf2"), rc=1)
            self.assertIn("ROLLBACK_REQUIRED", res.out)
        finally:
            if self.rig.sim_alive():
                self.rig.stop_sim()
            self.rig.flash, self.rig.otp = chip_a

    def test_11_keys_still_work(self):
        """Back on the first chip: the flash keys still sign, the PIN still verifies."""
        self.start()
        self.sign_and_verify()
        self.assertIn("secure boot: enabled yes", self.fk("status").out)

    def test_12_flash_copy_opens_nothing(self):
        """The migrated flash of chip A copied next to a fresh chip's OTP (an attacker's
        board): the card starts, but the PIN no longer verifies and no key signs; neither PIN
        is in the image in the clear."""
        self.to_bootsel()
        chip_a = (self.rig.flash, self.rig.otp)
        copy = self.path("flash_copy.bin")
        shutil.copyfile(self.rig.flash, copy)
        with open(copy, "rb") as f:
            image = f.read()
        self.assertNotIn(PIN.encode(), image)
        self.assertNotIn(SO_PIN.encode(), image)
        self.rig.flash, self.rig.otp = copy, self.path("otp_c.bin")
        try:
            self.start()
            proc = p11("--sign", "--id", "01", "-m", "ECDSA", "-i", self.path("digest"), "-o",
                       self.path("sig_copy"), check=False)
            self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertFalse(os.path.exists(self.path("sig_copy")) and
                             os.path.getsize(self.path("sig_copy")) > 0)
        finally:
            if self.rig.sim_alive():
                self.rig.stop_sim()
            self.rig.flash, self.rig.otp = chip_a


if __name__ == "__main__":
    fkit.main(__doc__)
