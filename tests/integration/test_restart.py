# SPDX-License-Identifier: Apache-2.0
"""pcscd restarts under a running fusekey-sim: the simulator reconnects by itself
and the card answers again, whether pcscd stopped cleanly (SIGTERM) or died
(SIGKILL, leaving its stale pid file and socket behind).
"""

import os
import signal

import fkit
from fkit import SW_OK

GET_CHALLENGE_8 = bytes.fromhex("0084000008")
RECONNECT_TIMEOUT = 30.0  # seconds: the deadline for the card to come back
RESTARTS = 3


class PcscdRestart(fkit.RigTest):

    def restart_pcscd(self, sig):
        """Stop pcscd with sig while a card handle is open, start it again, check the card."""
        sim_pid = self.rig.sim.pid
        self.select_hsm()
        status = self.rig.stop_pcscd(sig)
        self.assertEqual(status, 0 if sig == signal.SIGTERM else -sig,
                         "pcscd exit status on signal %d" % sig)
        with self.assertRaises(fkit.PcscError):
            self.card.transmit(GET_CHALLENGE_8)
        self.card.close()
        self.assertTrue(self.rig.sim_alive(), "fusekey-sim died when pcscd went away")
        self.rig.start_pcscd()
        card = self.rig.wait_card(timeout=RECONNECT_TIMEOUT)
        type(self).card = card
        self.assertEqual(card.atr(), fkit.HSM_ATR)
        self.select_hsm()
        self.assertEqual(len(self.sw_is(GET_CHALLENGE_8, SW_OK)), 8)
        self.assertEqual(self.rig.sim.pid, sim_pid, "fusekey-sim was replaced")
        self.assertTrue(self.rig.sim_alive())

    def test_sigterm(self):
        """pcscd stopped with SIGTERM and started again: the card comes back."""
        self.restart_pcscd(signal.SIGTERM)

    def test_sigkill_stale_files(self):
        """pcscd killed with SIGKILL leaves stale files; they are cleared and the card comes back."""
        self.select_hsm()
        self.rig.stop_pcscd(signal.SIGKILL)
        self.assertTrue(os.path.exists(fkit.PCSCD_PID_FILE), "no stale pid file after SIGKILL")
        self.card.close()
        self.rig.start_pcscd()
        type(self).card = self.rig.wait_card(timeout=RECONNECT_TIMEOUT)
        self.select_hsm()
        self.sw_is(GET_CHALLENGE_8, SW_OK)

    def test_repeated(self):
        """Several restarts in a row, alternating SIGTERM and SIGKILL."""
        for i in range(RESTARTS):
            self.restart_pcscd(signal.SIGTERM if i % 2 == 0 else signal.SIGKILL)


if __name__ == "__main__":
    fkit.main(__doc__)
