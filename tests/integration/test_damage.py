# SPDX-License-Identifier: Apache-2.0
"""Flash damage as the user of the virtual device meets it (docs/store.md, "Damage").

The simulator is stopped, bits are flipped in its flash image where a data file's
record header is, and it is started again:
- one flipped bit is repaired at the start: the simulator's log says so, the rescue
  applet's flash health (80 1E 02 01) counts it, and the file reads back exactly;
- a second flipped bit in the same header is beyond repair: the log and 1E 02 01 say so,
  that one file is gone (6A82), and nothing else is: the neighbouring file, the PIN and
  the key work as before.
A healthy start logs none of this.
"""

import re
import signal

import fkit
import hsmkit
from fkit import SW_OK, select_aid

SW_FILE_NOT_FOUND = 0x6A82
FID_A = 0xCF01
FID_B = 0xCF02
KEY_ID = 1
HEADER_LEN = 32          # a record header; its payload follows (docs/store.md)
OFF_LENGTH = 8           # header byte: the payload length (inside the header's checksum)
OFF_ID = 4               # header byte: the record id (likewise)
FLASH_HEALTH = bytes.fromhex("801E020100")
HEALTH_LEN = 36          # 9 x u32
MSG_REPAIRED = re.compile(r"flash store \(main\): (\d+) damaged header\(s\) repaired")
MSG_DAMAGED = re.compile(r"flash store \(main\): (\d+) damaged record\(s\) found")


def pattern(tag, n=96):
    """File contents that occur nowhere else in the image."""
    return bytes((tag * 37 + i * 11) & 0xFF for i in range(n)) + b"FK-DAMAGE-%02X" % tag


DATA_A = pattern(0xA1)
DATA_B = pattern(0xB2)


class FlashDamage(fkit.RigTest):

    def last_start_log(self):
        """The simulator's log since its last start."""
        with open(self.rig.sim_log, "rb") as f:
            text = f.read().decode(errors="replace")
        return text[text.rfind("---- start "):]

    def restart_with(self, *flips):
        """Stop the simulator, XOR each (offset, mask) into its flash image, start it."""
        type(self).card.close()
        type(self).card = None
        self.assertEqual(self.rig.stop_sim(signal.SIGTERM), 0)
        with open(self.rig.flash, "r+b") as f:
            for off, mask in flips:
                f.seek(off)
                b = f.read(1)[0] ^ mask
                f.seek(off)
                f.write(bytes([b]))
        fkit.restart_sim(self.rig)
        type(self).card = fkit.Card()

    def header_of(self, data):
        """Offset of the header of the one record whose payload starts with data."""
        with open(self.rig.flash, "rb") as f:
            image = f.read()
        at = image.find(data)
        self.assertGreaterEqual(at, HEADER_LEN, "file contents not found in the flash image")
        self.assertEqual(image.find(data, at + 1), -1, "file contents twice in the image")
        return at - HEADER_LEN

    def health(self):
        """The nine figures of 80 1E 02 01 (the HSM selected again afterwards)."""
        self.sw_is(select_aid(fkit.RESCUE_AID, p2=0x04), SW_OK)
        out = self.sw_is(FLASH_HEALTH, SW_OK)
        self.assertEqual(len(out), HEALTH_LEN)
        self.select_hsm()
        return [int.from_bytes(out[i:i + 4], "big") for i in range(0, HEALTH_LEN, 4)]

    def expect_pin_and_key_work(self, point):
        self.sw_is(hsmkit.verify(hsmkit.PIN), SW_OK)
        sig = self.sw_is(hsmkit.sign(KEY_ID, hsmkit.ALG_ECDSA_SHA256, b"after the damage"),
                         SW_OK)
        self.assertTrue(hsmkit.ecdsa_ok(point, sig, data=b"after the damage"))

    def read(self, fid):
        return hsmkit.read_file(self.card, fid)

    def test_damage(self):
        """One flipped header bit repaired and reported; two cost that file only."""
        self.select_hsm()
        self.sw_is(hsmkit.initialize(), SW_OK)
        self.sw_is(hsmkit.verify(hsmkit.PIN), SW_OK)
        req = hsmkit.Request(self.sw_is(
            hsmkit.generate(KEY_ID, hsmkit.ec_template(b"UTDAMAGE001")), SW_OK))
        self.sw_is(hsmkit.update_binary(FID_A, 0, DATA_A), SW_OK)
        self.sw_is(hsmkit.update_binary(FID_B, 0, DATA_B), SW_OK)
        healthy = self.health()
        self.assertEqual(healthy[5:7], [0, 0], "repaired, damaged on a healthy device")
        self.assertNotRegex(self.last_start_log(), "damaged")

        hdr = self.header_of(DATA_A)
        self.restart_with((hdr + OFF_LENGTH, 0x04))
        log = self.last_start_log()
        self.assertRegex(log, MSG_REPAIRED, log)
        self.assertNotRegex(log, MSG_DAMAGED, log)
        figures = self.health()
        self.assertEqual(figures[5], 1, "headers repaired")
        self.assertEqual(figures[6], 0, "records damaged")
        self.assertEqual(figures[3], healthy[3], "live records")
        self.assertEqual(self.read(FID_A), DATA_A)
        self.assertEqual(self.read(FID_B), DATA_B)
        self.expect_pin_and_key_work(req.point)

        self.restart_with((hdr + OFF_ID, 0x01))
        log = self.last_start_log()
        self.assertRegex(log, MSG_DAMAGED, log)
        self.assertGreaterEqual(self.health()[6], 1, "records damaged")
        self.select_hsm()
        self.sw_is(hsmkit.select_fid(FID_A), SW_FILE_NOT_FOUND)
        self.assertEqual(self.read(FID_B), DATA_B)
        self.expect_pin_and_key_work(req.point)


if __name__ == "__main__":
    fkit.main(__doc__)
