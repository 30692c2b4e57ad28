# SPDX-License-Identifier: Apache-2.0
"""Debian's libfido2 tools (fido2-token) use fusekey-sim's FIDO key through the preload
library tools/fido/libfusekey_fido_preload.so: the device is listed as sim:<socket>, its
getInfo shown, and reset works inside the reset window of a power-up and is refused after.
"""

import os
import shutil
import subprocess

import fidohid
import fkit
from fidohid import Ctap2

TOOL_TIMEOUT = 120  # seconds; a guard against a hang only
RESET_WINDOW_MS = 10000


class Libfido2(fidohid.HidRigTest):

    @classmethod
    def setUpClass(cls):
        if shutil.which("fido2-token") is None:
            raise RuntimeError("fido2-token missing: install fido2-tools (sh tools/deps.sh)")
        cls.preload = fidohid.preload_path(fkit.ARGS.sim)
        super().setUpClass()

    def sim_path(self):
        return "sim:" + self.rig.ctaphid_path

    def token(self, *args, preload=True, check=True):
        """Run fido2-token with the preload library and the rig's socket; returns the
        CompletedProcess (text)."""
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FUSEKEY_CTAPHID")}
        env["FUSEKEY_CTAPHID"] = self.rig.ctaphid_path
        if preload:
            env["LD_PRELOAD"] = self.preload
        proc = subprocess.run(["fido2-token"] + list(args), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        if check and proc.returncode != 0:
            raise AssertionError("fido2-token %s -> %d\n%s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def test_list(self):
        """fido2-token -L lists the simulator as sim:<socket>; without the preload it
        does not (the host has no FIDO HID device)."""
        out = self.token("-L").stdout
        self.assertIn(self.sim_path() + ": ", out)
        self.assertIn("(fusekey fusekey-sim)", out)
        self.assertNotIn(self.sim_path(), self.token("-L", preload=False, check=False).stdout)

    def test_info(self):
        """fido2-token -I shows the CTAPHID and CTAP2 facts python-fido2 reads too."""
        out = self.token("-I", self.sim_path()).stdout
        info = Ctap2(self.device()).get_info()
        self.assertIn("proto: 0x02", out)
        self.assertIn("version strings: " + ", ".join(info.versions), out)
        self.assertIn("aaguid: " + info.aaguid.hex(), out)
        self.assertIn("maxmsgsiz: %d" % info.max_msg_size, out)
        options = [line for line in out.splitlines() if line.startswith("options: ")]
        self.assertEqual(len(options), 1, out)
        for name, value in info.options.items():
            self.assertIn(name if value else "no" + name, options[0].split(": ", 1)[1].split(", "))

    def test_reset_inside_window_only(self):
        """fido2-token -R after a power cycle succeeds (presence auto); once the device
        has been up longer than 10 s it fails with NOT_ALLOWED."""
        self.power_cycle()
        self.token("-R", self.sim_path())
        self.rig.control("clock %d" % (RESET_WINDOW_MS + 1000))
        proc = self.token("-R", self.sim_path(), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("FIDO_ERR_NOT_ALLOWED", proc.stderr)


if __name__ == "__main__":
    fkit.main(__doc__)
