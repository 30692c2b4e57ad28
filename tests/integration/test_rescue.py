# SPDX-License-Identifier: Apache-2.0
"""The rescue applet (docs/rescue.md) through pcscd and vpcd, as the fusekey tool and
pico tooling use it: SELECT, the device key (signatures checked with Python's
cryptography), the clock, the status reads, the two guarded OTP writes on the emulated
OTP image (set up between simulator runs, the way `fusekey otp burn` and the bootrom
leave it), and both reboots.
"""

import calendar
import secrets
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import fkit
from fkit import SW_OK, hx, select_aid

SW_EXEC_ERROR = 0x6400
SW_WRONG_LENGTH = 0x6700
SW_REF_DATA_NOT_USABLE = 0x6984
SW_CONDITIONS = 0x6985
SW_WRONG_DATA = 0x6A80

PLATFORM_EMULATION = 3
PRODUCT_HSM = 1
FLASH_SIZE = 3 * 1024 * 1024
ROLLBACK_CAPACITY = 48
NO_BOOT_KEY = 0xFF

MAGIC_LOCK58 = b"LOCK58"
MAGIC_ROLLBACK = b"ROLLBK"

# OTP rows (core/otp_map.h).
ROW_CRIT1 = 0x040
ROW_BOOT_FLAGS0 = 0x048
ROW_DEVK = 0xE80
ROW_MKEK = 0xE90
ROW_PAGE58_LOCK1 = 0xFF5
SECURE_BOOT_ENABLE = 1 << 0
ROLLBACK_REQUIRED = 1 << 11
LOCK1_PAGE58 = 0x3C3C3C
CRIT_VOTES = 3

RESTART_TIMEOUT = 30.0  # seconds for the device to come back after a reboot
LOG_POLL = 0.05


def rescue(ins, p1, p2=0, data=b""):
    """A CLA 80 command with Le 00 (short form)."""
    lc = bytes([len(data)]) + data if data else b""
    return bytes([0x80, ins, p1, p2]) + lc + b"\x00"


# ---- The emulated OTP image (otp/otp_file.h) ------------------------------------------

ECC_MASKS = (0x00AD5B, 0x00366D, 0x00C78E, 0x0007F0, 0x00F800, 0x1FFFFF)


def ecc_encode(value):
    """The bootrom's 16 -> 22 bit row code (docs/otp.md)."""
    word = value
    for i, mask in enumerate(ECC_MASKS):
        word |= (bin(word & mask).count("1") & 1) << (16 + i)
    return word


class OtpImage:
    """Rows of the OTP file, edited while no simulator holds it."""

    ROW_BYTES = 4

    def __init__(self, path):
        self.path = path

    def read(self, row):
        with open(self.path, "rb") as f:
            f.seek(row * self.ROW_BYTES)
            return int.from_bytes(f.read(self.ROW_BYTES), "little")

    def program(self, row, value):
        """Set bits, as the chip can (never clears one)."""
        cur = self.read(row)
        with open(self.path, "r+b") as f:
            f.seek(row * self.ROW_BYTES)
            f.write((cur | value).to_bytes(self.ROW_BYTES, "little"))

    def program_key(self, row, key):
        """32 bytes into 16 ECC rows, byte 2i in bits 7:0 (what `otp burn` writes)."""
        assert len(key) == 32
        for i in range(16):
            assert self.read(row + i) == 0, "row 0x%03X not blank" % (row + i)
            self.program(row + i, ecc_encode(key[2 * i] | key[2 * i + 1] << 8))


# ---- Helpers -------------------------------------------------------------------------------

def verify_signature(pub, digest, sig):
    """True when r || s is a valid secp256k1 ECDSA signature of digest under pub."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), pub)
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                     int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return True
    except InvalidSignature:
        return False


class RescueTest(fkit.RigTest):
    """Shared steps: select the rescue applet, device key, restarts."""

    def setUp(self):
        self.select_rescue()

    def select_rescue(self, card=None):
        answer = self.sw_is(select_aid(fkit.RESCUE_AID, p2=0x04), SW_OK, card)
        self.assertEqual(len(answer), 12, hx(answer))
        return answer

    def public_key(self):
        pub = self.sw_is(rescue(0x10, 0x02), SW_OK)
        self.assertEqual(len(pub), 65)
        self.assertEqual(pub[0], 0x04)
        return pub

    def check_signature(self, pub):
        """10 01 over a fresh digest; the signature verifies, a changed digest does not."""
        digest = hashes.Hash(hashes.SHA256())
        digest.update(secrets.token_bytes(40))
        digest = digest.finalize()
        sig = self.sw_is(rescue(0x10, 0x01, data=digest), SW_OK)
        self.assertEqual(len(sig), 64)
        self.assertTrue(verify_signature(pub, digest, sig), "signature does not verify")
        self.assertFalse(verify_signature(pub, bytes([digest[0] ^ 1]) + digest[1:], sig))

    def fresh_card(self):
        """A new connection that answers the rescue SELECT (the card was restarted)."""
        if type(self).card is not None:
            type(self).card.close()
            type(self).card = None
        deadline = time.monotonic() + RESTART_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            card = self.rig.wait_card(timeout=RESTART_TIMEOUT)
            try:
                _, sw = card.transmit(select_aid(fkit.RESCUE_AID, p2=0x04))
                if sw == SW_OK:
                    type(self).card = card
                    return card
                last = "SW %04X" % sw
            except fkit.PcscError as e:  # pcscd still had the card from before the restart
                last = e
            card.close()
            time.sleep(0.1)
        raise AssertionError("the card did not come back after the restart: %s" % last)

    def sim_log(self):
        with open(self.rig.sim_log, errors="replace") as f:
            return f.read()

    def wait_log(self, text, timeout=RESTART_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.sim_log():
                return
            time.sleep(LOG_POLL)
        raise AssertionError("%r not in the simulator log" % text)


class RescueCommands(RescueTest):
    """On a new device with a blank (factory) OTP."""

    def test_select_answer(self):
        answer = self.select_rescue()
        self.assertEqual(answer[0], PLATFORM_EMULATION)
        self.assertEqual(answer[1], PRODUCT_HSM)
        self.assertEqual(answer[4:].hex().upper(), self.rig.serial.upper())

    def test_device_key(self):
        pub = self.public_key()
        self.assertEqual(self.public_key(), pub, "the device key changed")
        self.check_signature(pub)
        self.check_signature(pub)
        self.sw_is(rescue(0x10, 0x01, data=bytes(31)), SW_WRONG_LENGTH)
        self.sw_is(rescue(0x10, 0x03, data=bytes(16)), fkit.SW_INCORRECT_P1P2)

    def test_clock(self):
        self.sw_is(rescue(0x1E, 0x04, 0x01), SW_CONDITIONS)  # never set
        self.sw_is(rescue(0x1E, 0x04, 0x02), SW_CONDITIONS)
        now = int(time.time())
        start = time.monotonic()
        self.sw_is(rescue(0x1C, 0x02, 0x02, now.to_bytes(4, "big")), SW_OK)
        got = int.from_bytes(self.sw_is(rescue(0x1E, 0x04, 0x02), SW_OK), "big")
        self.assertClockNear(now, start, got)
        civil = self.sw_is(rescue(0x1E, 0x04, 0x01), SW_OK)
        self.assertEqual(len(civil), 8)
        year = int.from_bytes(civil[:2], "big")
        epoch = calendar.timegm((year, civil[2], civil[3], civil[5], civil[6], civil[7]))
        self.assertClockNear(now, start, epoch)
        # The card counts weekdays from Sunday = 0, Python from Monday = 0.
        self.assertEqual(civil[4], (time.gmtime(epoch).tm_wday + 1) % 7)

        # 2024-02-29 12:34:56, a Thursday (4).
        start = time.monotonic()
        self.sw_is(rescue(0x1C, 0x02, 0x01, bytes.fromhex("07E8021D040C2238")), SW_OK)
        got = int.from_bytes(self.sw_is(rescue(0x1E, 0x04, 0x02), SW_OK), "big")
        self.assertClockNear(1709210096, start, got)
        # February 30th; a wrong weekday; a short date; past 2099.
        self.sw_is(rescue(0x1C, 0x02, 0x01, bytes.fromhex("07E8021E050C2238")), SW_WRONG_DATA)
        self.sw_is(rescue(0x1C, 0x02, 0x01, bytes.fromhex("07E8021D030C2238")), SW_WRONG_DATA)
        self.sw_is(rescue(0x1C, 0x02, 0x01, bytes.fromhex("07E8021D040C22")), SW_WRONG_LENGTH)
        self.sw_is(rescue(0x1C, 0x02, 0x02, bytes.fromhex("FFFFFFFF")), SW_WRONG_DATA)
        # None of them changed the clock.
        got = int.from_bytes(self.sw_is(rescue(0x1E, 0x04, 0x02), SW_OK), "big")
        self.assertClockNear(1709210096, start, got)

    def assertClockNear(self, set_to, start, got):
        """got lies between the time set and that plus the whole seconds since start."""
        elapsed = int(time.monotonic() - start) + 1
        self.assertTrue(set_to <= got <= set_to + elapsed,
                        "clock %d, set to %d %d s ago" % (got, set_to, elapsed))

    def test_status(self):
        self.assertEqual(self.sw_is(rescue(0x1E, 0x03), SW_OK), bytes([0, 0, NO_BOOT_KEY]))
        self.assertEqual(self.sw_is(rescue(0x1E, 0x06), SW_OK), bytes([0, 0, ROLLBACK_CAPACITY]))
        flash = self.sw_is(rescue(0x1E, 0x02), SW_OK)
        self.assertEqual(len(flash), 20)
        free, used, total, files, size = (int.from_bytes(flash[i:i + 4], "big")
                                          for i in range(0, 20, 4))
        self.assertEqual(size, FLASH_SIZE)
        self.assertTrue(free + used <= total <= size, (free, used, total))
        self.assertGreater(files, 0)

    def test_refusals(self):
        self.sw_is(bytes([0x00, 0x1E, 0x03, 0x00, 0x00]), fkit.SW_CLA_NOT_SUPPORTED)
        self.sw_is(rescue(0x1D, 0x00, 0x01), fkit.SW_INS_NOT_SUPPORTED)
        # No MKEK yet: the page-58 lock is refused; no secure boot: so is rollback-required.
        self.sw_is(rescue(0x1B, 0x58, 0x00, MAGIC_LOCK58), SW_CONDITIONS)
        self.sw_is(rescue(0x1B, 0x48, 0x00, MAGIC_ROLLBACK), SW_CONDITIONS)
        self.sw_is(rescue(0x1B, 0x58, 0x00, b"LOCK57"), SW_REF_DATA_NOT_USABLE)
        self.sw_is(rescue(0x1B, 0x48, 0x00, MAGIC_LOCK58), SW_REF_DATA_NOT_USABLE)
        self.sw_is(rescue(0x1B, 0x58, 0x01, MAGIC_LOCK58), fkit.SW_INCORRECT_P1P2)


class RescueProduction(RescueTest):
    """The firmware's part of the production path on the emulated OTP."""

    def test_burn_lock_and_rollback(self):
        flash_pub = self.public_key()

        # What `fusekey otp burn` and secure-boot enabling leave behind, written while
        # the simulator is stopped (a real chip is in BOOTSEL then).
        self.assertEqual(self.rig.stop_sim(), 0)
        otp = OtpImage(self.rig.otp)
        devk = ec.generate_private_key(ec.SECP256K1())
        d = devk.private_numbers().private_value.to_bytes(32, "big")
        otp.program_key(ROW_DEVK, d)
        otp.program_key(ROW_MKEK, secrets.token_bytes(31) + b"\x01")
        for i in range(CRIT_VOTES):
            otp.program(ROW_CRIT1 + i, SECURE_BOOT_ENABLE)
        otp.program(ROW_BOOT_FLAGS0, ROLLBACK_REQUIRED)  # 1 of 3: not set
        otp.program(ROW_BOOT_FLAGS0 + 1, 0x000002)       # another flag in copy 1
        self.rig.start_sim()
        self.fresh_card()

        # The device key is now the OTP one.
        otp_pub = devk.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        pub = self.public_key()
        self.assertNotEqual(pub, flash_pub)
        self.assertEqual(pub, otp_pub)
        self.check_signature(pub)
        self.assertEqual(self.sw_is(rescue(0x1E, 0x03), SW_OK), bytes([1, 0, NO_BOOT_KEY]))
        self.assertEqual(self.sw_is(rescue(0x1E, 0x06), SW_OK), bytes([0, 0, ROLLBACK_CAPACITY]))

        # The two guarded writes, each idempotent.
        self.sw_is(rescue(0x1B, 0x58, 0x00, MAGIC_LOCK58), SW_OK)
        self.sw_is(rescue(0x1B, 0x58, 0x00, MAGIC_LOCK58), SW_OK)
        self.sw_is(rescue(0x1B, 0x48, 0x00, MAGIC_ROLLBACK), SW_OK)
        self.sw_is(rescue(0x1B, 0x48, 0x00, MAGIC_ROLLBACK), SW_OK)
        self.assertEqual(self.sw_is(rescue(0x1E, 0x06), SW_OK), bytes([1, 0, ROLLBACK_CAPACITY]))

        self.assertEqual(self.rig.stop_sim(), 0)
        self.assertEqual(otp.read(ROW_PAGE58_LOCK1), LOCK1_PAGE58)
        self.assertEqual([otp.read(ROW_BOOT_FLAGS0 + i) for i in range(3)],
                         [ROLLBACK_REQUIRED, ROLLBACK_REQUIRED | 0x2, ROLLBACK_REQUIRED])

        # After the restart the lock is in force; the firmware still reads page 58.
        self.rig.start_sim()
        self.fresh_card()
        self.assertEqual(self.public_key(), otp_pub)
        self.check_signature(otp_pub)
        self.sw_is(rescue(0x1B, 0x58, 0x00, MAGIC_LOCK58), SW_OK)
        self.assertEqual(self.sw_is(rescue(0x1E, 0x06), SW_OK), bytes([1, 0, ROLLBACK_CAPACITY]))


class RescueReboot(RescueTest):
    """80 1F: the answer arrives, then the device restarts (or leaves for BOOTSEL)."""

    def test_reboot_then_bootsel(self):
        pub = self.public_key()
        self.sw_is(rescue(0x1C, 0x02, 0x02, int(time.time()).to_bytes(4, "big")), SW_OK)
        self.sw_is(rescue(0x1F, 0x01, 0x01), fkit.SW_INCORRECT_P1P2)
        self.sw_is(rescue(0x1F, 0x00, 0x00, b"\x00"), SW_WRONG_LENGTH)

        sim_pid = self.rig.sim.pid
        self.sw_is(rescue(0x1F, 0x00), SW_OK)
        self.wait_log("device reboot: restarting the virtual device")
        self.fresh_card()
        self.assertEqual(self.rig.sim.pid, sim_pid, "a normal reboot restarts the device, "
                                                    "not the simulator")
        self.sw_is(rescue(0x1E, 0x04, 0x02), SW_CONDITIONS)  # the clock did not survive
        self.assertEqual(self.public_key(), pub)

        self.sw_is(rescue(0x1F, 0x01), SW_OK)
        deadline = time.monotonic() + RESTART_TIMEOUT
        while self.rig.sim.poll() is None and time.monotonic() < deadline:
            time.sleep(LOG_POLL)
        self.assertEqual(self.rig.sim.poll(), 0, "BOOTSEL: the simulator exits with status 0")
        self.assertIn("bootloader (BOOTSEL)", self.sim_log())
        self.assertEqual(self.rig.stop_sim(), 0)
        self.rig.start_sim()
        self.fresh_card()
        self.assertEqual(self.public_key(), pub)


if __name__ == "__main__":
    fkit.main(__doc__)
