# SPDX-License-Identifier: Apache-2.0
"""OpenSC recognises fusekey-sim as a SmartCard-HSM.

opensc-tool runs OpenSC's whole driver detection, so these tests also prove
that the probes of the drivers tried before sc-hsm (foreign-AID SELECTs) do
not make another driver claim the card.
"""

import os
import re
import shutil
import subprocess

import fkit

OPENSC_TIMEOUT = 60  # seconds
PROPRIETARY_TAG = 0x85


def opensc_tool(*args):
    """Run opensc-tool on reader 0 with a clean environment; returns (status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSC_")}
    proc = subprocess.run(["opensc-tool", "--reader", "0"] + list(args), env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=OPENSC_TIMEOUT)
    return proc.returncode, proc.stdout, proc.stderr


def output_lines(stdout):
    """Output lines without opensc-tool's "Using reader ..." banner."""
    return [line.strip() for line in stdout.splitlines()
            if line.strip() and not line.startswith("Using reader")]


class OpenscIdentity(fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # OpenSC names the card after the version in the FCP's tag 85 (last two bytes);
        # type byte FF (third from last) means the generic "SmartCard-HSM".
        data, sw = cls.card.transmit(fkit.select_aid(fkit.HSM_AID))
        inner = dict(fkit.tlv_children(fkit.tlv_children(data)[0][1])) if sw == fkit.SW_OK else {}
        prop = inner.get(PROPRIETARY_TAG, b"")
        cls.expected_name = ("SmartCard-HSM version %d.%d" % (prop[-2], prop[-1])
                             if len(prop) >= 2 else None)

    def setUp(self):
        if shutil.which("opensc-tool") is None:
            self.fail("opensc-tool not found: run tools/deps.sh")
        self.assertIsNotNone(self.expected_name, "SELECT gave no FCP with tag 85")
        # OpenSC must find the card without an open PC/SC handle of ours in the way.
        self.card.close()

    def tearDown(self):
        type(self).card = self.rig.wait_card()

    def test_atr_and_name(self):
        """`opensc-tool -an` prints the SmartCard-HSM ATR, then "SmartCard-HSM version M.m"."""
        rc, out, err = opensc_tool("-an")
        self.assertEqual(rc, 0, "opensc-tool -an failed:\n%s%s" % (out, err))
        expected_atr = ":".join("%02x" % b for b in fkit.HSM_ATR)
        self.assertEqual(output_lines(out), [expected_atr, self.expected_name],
                         "output:\n" + out + err)

    def test_name(self):
        """`opensc-tool -n` names the card after the sc-hsm driver and the FCP version."""
        rc, out, err = opensc_tool("-n")
        self.assertEqual(rc, 0, "opensc-tool -n failed:\n%s%s" % (out, err))
        self.assertEqual(output_lines(out), [self.expected_name], "output:\n" + out + err)

    def test_driver_is_sc_hsm(self):
        """OpenSC's driver detection binds the sc-hsm driver, not one that probes earlier."""
        env = dict(os.environ, OPENSC_DEBUG="3")
        proc = subprocess.run(["opensc-tool", "--reader", "0", "--name"], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=OPENSC_TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr[-4000:])
        log = proc.stdout + proc.stderr
        driver = None
        for line in log.splitlines():
            found = re.search(r"sc_connect_card: trying driver '([^']+)'", line)
            if found:
                driver = found.group(1)
            elif re.search(r"sc_connect_card: matched: ", line):
                break
        else:
            self.fail("no driver matched; OpenSC debug log:\n" + log[-4000:])
        self.assertEqual(driver, "sc-hsm", "the card went to another driver")

    def test_pcscd_atr_matches(self):
        """pcscd reports the same ATR as OpenSC (SCardStatus after a fresh connect)."""
        card = self.rig.wait_card()
        try:
            self.assertEqual(card.atr(), fkit.HSM_ATR)
        finally:
            card.close()


if __name__ == "__main__":
    fkit.main(__doc__)
