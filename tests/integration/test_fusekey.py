# SPDX-License-Identifier: Apache-2.0
"""The fusekey tool against fusekey-sim behind pcscd: the firmware commands
(otp lock-page58, otp rollback-require, reboot) through the rescue applet,
including the device's refusals; dry runs and typed confirmations that write
nothing; the BOOTSEL commands on the emulated OTP file, which is free only
while the virtual device is stopped; and `otp get` of page 58 failing after
the lock and a restart.

The steps build on each other (one chip through its life), so they run in
order in one rig.
"""

import json

import fkit

LOCK58_APDU = fkit.apdu("80 1B 58 00 06 4C4F434B3538 00")
ROLLBK_APDU = fkit.apdu("80 1B 48 00 06 524F4C4C424B 00")
SW_CONDITIONS = 0x6985
SW_WRONG_MAGIC = 0x6984


class Fusekey(fkit.Scratch, fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.card.close()  # the tool connects by itself
        cls.card = None
        cls.tool = fkit.tool_path(fkit.ARGS.sim)
        cls.make_scratch("fk-tool-")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.remove_scratch()

    # -- helpers --

    def fk(self, *args, stdin=b"", rc=0):
        run = fkit.run_tool(self.tool, args, stdin=stdin)
        self.assertEqual(run.rc, rc, str(run))
        return run

    def fk_otp(self, *args, stdin=b"", rc=0):
        return self.fk("--otp", self.rig.otp, *args, stdin=stdin, rc=rc)

    def otp_bytes(self):
        with open(self.rig.otp, "rb") as f:
            return f.read()

    def row(self, r):
        return int.from_bytes(self.otp_bytes()[4 * r:4 * r + 4], "little")

    def stop(self):
        self.assertIn(self.rig.stop_sim(), (0, -15))

    def start(self):
        fkit.restart_sim(self.rig)

    def rescue(self, apdu):
        with fkit.Card() as card:
            self.sw_is(fkit.select_aid(fkit.RESCUE_AID, p2=0x04), fkit.SW_OK, card)
            return card.transmit(apdu)

    # -- the steps, in order --

    def test_01_device_view(self):
        """Without --otp, status is the running firmware's view through the rescue applet."""
        run = self.fk("status")
        self.assertIn("device: fusekey firmware", run.out)
        self.assertIn("serial %s" % fkit.DEFAULT_SERIAL, run.out)
        self.assertIn("secure boot: enabled no", run.out)
        self.assertIn("rollback: required no, floor 0 of 48", run.out)
        self.assertRegex(run.out, r"device key: secp256k1, SHA-256 of the public key [0-9a-f]{64}")
        self.assertIn("migration to the OTP master key: none", run.out)
        self.assertRegex(run.out, r"flash store: \d+ records, \d+ bytes used, \d+ free of \d+")
        self.assertIn("flash health: 0 damaged header(s) repaired, 0 damaged record(s)", run.out)

    def test_02_otp_file_busy_while_running(self):
        """The OTP file of a running device cannot be opened: a chip is running or in BOOTSEL."""
        before = self.otp_bytes()
        run = self.fk_otp("status", rc=1)
        self.assertIn("in use", run.err)
        self.fk_otp("otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58", rc=1)
        self.assertEqual(self.otp_bytes(), before)

    def test_03_lock58_refusals_before_burn(self):
        """lock-page58 before a master key exists: dry run, wrong tokens, the device's 6985."""
        before = self.otp_bytes()
        run = self.fk("otp", "lock-page58", "--dry-run")
        self.assertIn("APDU 80 1B 58 00 06 4C 4F 43 4B 35 38 00", run.out)
        self.assertIn("dry run: nothing sent", run.out)
        run = self.fk("otp", "lock-page58", stdin="lock-page58\n", rc=1)
        self.assertIn("does not match LOCK-PAGE58", run.err)
        self.fk("otp", "lock-page58", "--yes-i-understand", "ROLLBACK-REQUIRED", rc=1)
        run = self.fk("otp", "lock-page58", stdin="LOCK-PAGE58\n", rc=1)
        self.assertIn("refused by the device (6985): no OTP master key", run.err)
        # The firmware itself: no MKEK -> 6985; a wrong magic -> 6984.
        self.assertEqual(self.rescue(LOCK58_APDU)[1], SW_CONDITIONS)
        self.assertEqual(self.rescue(fkit.apdu("80 1B 58 00 06 4C4F434B3539 00"))[1],
                         SW_WRONG_MAGIC)
        self.stop()
        self.assertEqual(self.otp_bytes(), before)
        self.start()

    def test_04_rollback_require_secure_boot_off(self):
        """rollback-require with secure boot off: the device refuses; the tool says what comes
        first."""
        run = self.fk("otp", "rollback-require", "--dry-run")
        self.assertIn("APDU 80 1B 48 00 06 52 4F 4C 4C 42 4B 00", run.out)
        self.assertIn("will refuse", run.out)
        run = self.fk("otp", "rollback-require", stdin="ROLLBACK-REQUIRED\n", rc=1)
        self.assertIn("secure boot is not enabled", run.err)
        self.assertIn("secure-boot enable` comes first", run.err)
        self.assertEqual(self.rescue(ROLLBK_APDU)[1], SW_CONDITIONS)

    def test_05_burn(self):
        """Stopped device = BOOTSEL: dry run and wrong token write nothing, the burn writes
        keys and chaff; a second burn aborts."""
        self.stop()
        before = self.otp_bytes()
        run = self.fk_otp("otp", "burn", "--dry-run")
        for line in ("picotool otp load -e -s 0xe80 devk.bin", "picotool otp load -e -s 0xe90 mkek.bin",
                     "picotool otp load -r -s 0xea0 devk_chaff.bin",
                     "picotool otp load -r -s 0xeb0 mkek_chaff.bin"):
            self.assertIn("   " + line + "\n", run.out)
        self.assertNotIn("0xff5 0x3c3c3c\n", run.out)  # the lock waits for the migration
        self.fk_otp("otp", "burn", stdin="BURN-OTP-PAGE59\n", rc=1)
        self.assertEqual(self.otp_bytes(), before)
        run = self.fk_otp("otp", "burn", stdin="BURN-OTP-PAGE58\n")
        self.assertIn("lock-page58", run.out)  # the lock is the firmware's, after the migration
        for r in range(0xE80, 0xEA0):
            self.assertNotEqual(self.row(r), 0, "row 0x%x" % r)
            self.assertEqual(self.row(r + 0x20), self.row(r) ^ 0xFFFFFF)
        self.assertEqual(self.row(0xFF5), 0)
        after = self.otp_bytes()
        run = self.fk_otp("otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58", rc=1)
        self.assertIn("already provisioned", run.err)
        self.assertEqual(self.otp_bytes(), after)
        run = self.fk_otp("status")
        self.assertIn("keys: KEYS_BURNED", run.out)
        self.start()

    def test_06_lock58(self):
        """The firmware writes the page-58 lock (idempotent); after a restart BOOTSEL cannot
        read page 58 any more."""
        run = self.fk("otp", "lock-page58", stdin="LOCK-PAGE58\n")
        self.assertIn("page-58 lock in place", run.out)
        self.fk("otp", "lock-page58", "--yes-i-understand", "LOCK-PAGE58")
        self.stop()
        self.assertEqual(self.row(0xFF5), 0x3C3C3C)
        run = self.fk_otp("otp", "get", "-e", "0xe80", rc=1)
        self.assertIn("permission failure", run.err)
        self.assertEqual(run.out.strip(), "")
        self.fk_otp("otp", "get", "-r", "0xeb0", "2", rc=1)
        run = self.fk_otp("status")
        self.assertIn("keys: KEYS_LOCKED", run.out)
        self.assertIn("PAGE58_LOCK1 (0xff5): 0x3c3c3c", run.out)
        self.start()

    def test_07_rollback_require_through_firmware(self):
        """Secure boot enabled in BOOTSEL; an interrupted flag burn (one copy) does not count;
        the firmware then sets ROLLBACK_REQUIRED in the other copies."""
        self.stop()
        fp = list(range(32))
        path = self.path("otp.json")
        with open(path, "w") as f:
            json.dump({"bootkey0": fp, "crit1": {"secure_boot_enable": 1}}, f)
        self.fk_otp("secure-boot", "enable", "--yes-i-understand", "ENABLE-SECURE-BOOT", rc=1)
        self.fk_otp("secure-boot", "load-key", path, "--yes-i-understand", "LOAD-BOOTKEY")
        self.assertEqual(self.row(0x40), 0)  # the json's crit1 is never taken
        self.fk_otp("secure-boot", "harden", stdin="HARDEN-SECURE-BOOT\n")
        self.fk_otp("secure-boot", "enable", stdin="ENABLE-SECURE-BOOT\n")
        # One copy of three, holding another bit too: not counted.
        self.fk_otp("otp", "set", "-r", "0x4a", "0x000801", stdin="WRITE-OTP-ROW\n")
        run = self.fk_otp("status")
        self.assertIn("boot: ENFORCING", run.out)
        self.assertIn("rollback: required no", run.out)
        self.start()
        run = self.fk("status")
        self.assertIn("secure boot: enabled yes", run.out)
        self.assertIn("rollback: required no", run.out)
        self.fk("otp", "rollback-require", stdin="ROLLBACK\n", rc=1)
        run = self.fk("otp", "rollback-require", stdin="ROLLBACK-REQUIRED\n")
        self.assertIn("ROLLBACK_REQUIRED set (verified", run.out)
        run = self.fk("otp", "rollback-require", "--yes-i-understand", "ROLLBACK-REQUIRED")
        self.assertIn("already set", run.out)
        self.stop()
        self.assertEqual([self.row(0x48 + i) for i in range(3)], [0x800, 0x800, 0x801])
        run = self.fk_otp("status")
        self.assertIn("rollback: required yes", run.out)
        self.start()

    def test_08_reboot_bootsel(self):
        """reboot --bootsel: the emulated device stops, its OTP file is free."""
        run = self.fk("reboot", "--bootsel")
        self.assertIn("BOOTSEL", run.out)
        self.rig.sim.wait(fkit.STOP_TIMEOUT)
        self.assertEqual(self.rig.sim.returncode, 0)
        self.rig.stop_sim()
        run = self.fk_otp("secure-boot", "status")
        self.assertIn("boot: ENFORCING", run.out)
        self.start()


if __name__ == "__main__":
    fkit.main(__doc__)
