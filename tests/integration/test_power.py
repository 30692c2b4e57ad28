# SPDX-License-Identifier: Apache-2.0
"""Power off/on and reset clear the card's volatile state, exactly like a real card:
the selected applet, a pending GET RESPONSE and an open command chain.

At power-on the HSM applet is selected implicitly (it is the card's default applet,
docs/apdu.md), so "volatile state cleared" shows as: whatever was selected before,
the HSM answers after the power cycle. The rescue applet is the probe: it rejects
CLA 00 with 6E00, where the HSM answers GET CHALLENGE.
"""

from smartcard import scard

import fkit
from fkit import SW_OK, select_aid

GET_CHALLENGE_8 = bytes.fromhex("0084000008")
GET_RESPONSE_8 = bytes.fromhex("00C0000008")
# SELECT of the HSM applet with Le 1: one FCP byte now, the rest pending (61xx).
SELECT_HSM_LE1 = select_aid(fkit.HSM_AID)[:-1] + b"\x01"
SW_NOTHING_PENDING = 0x6985  # GET RESPONSE with no response pending
SW_RESCUE_CLA_00 = fkit.SW_CLA_NOT_SUPPORTED  # the rescue applet takes CLA 80 only


class PowerCycle(fkit.RigTest):

    def setUp(self):
        self.select_hsm()
        self.sw_is(GET_CHALLENGE_8, SW_OK)

    def select_rescue(self):
        self.sw_is(select_aid(fkit.RESCUE_AID, p2=0x04), SW_OK)
        self.sw_is(GET_CHALLENGE_8, SW_RESCUE_CLA_00)

    def test_unpower_clears_selection(self):
        """Rescue selected, then SCARD_UNPOWER_CARD: the default HSM applet answers again."""
        self.select_rescue()
        self.card.reconnect(scard.SCARD_UNPOWER_CARD)
        self.assertEqual(len(self.sw_is(GET_CHALLENGE_8, SW_OK)), 8)

    def test_reset_clears_selection(self):
        """Rescue selected, then SCARD_RESET_CARD: the default HSM applet answers again."""
        self.select_rescue()
        self.card.reconnect(scard.SCARD_RESET_CARD)
        self.assertEqual(len(self.sw_is(GET_CHALLENGE_8, SW_OK)), 8)

    def test_leave_card_keeps_selection(self):
        """Control: SCARD_LEAVE_CARD touches nothing, the rescue applet stays selected."""
        self.select_rescue()
        self.card.reconnect(scard.SCARD_LEAVE_CARD)
        self.sw_is(GET_CHALLENGE_8, SW_RESCUE_CLA_00)

    def test_pending_response_cleared(self):
        """A response waiting for GET RESPONSE is gone after a reset (6985, no data)."""
        _, sw = self.card.transmit(SELECT_HSM_LE1)
        self.assertEqual(sw >> 8, fkit.SW1_BYTES_REMAINING, "SELECT Le 1 -> %04X" % sw)
        self.card.reconnect(scard.SCARD_RESET_CARD)
        self.assertEqual(self.sw_is(GET_RESPONSE_8, SW_NOTHING_PENDING), b"")

    def test_pending_response_survives_leave(self):
        """Control: without a reset the pending response is still there."""
        first, sw = self.card.transmit(SELECT_HSM_LE1)
        self.assertEqual(sw >> 8, fkit.SW1_BYTES_REMAINING, "SELECT Le 1 -> %04X" % sw)
        self.card.reconnect(scard.SCARD_LEAVE_CARD)
        data, sw, _ = self.card.get_response_all(first, sw)
        self.assertEqual(sw, SW_OK)
        self.assertEqual(data[:1], b"\x62")

    def test_chain_cleared(self):
        """An open command chain is dropped by a power cycle."""
        aid = fkit.HSM_AID
        self.sw_is(bytes([fkit.CLA_CHAIN, 0xA4, 0x04, 0x00, 5]) + aid[:5], SW_OK)
        self.card.reconnect(scard.SCARD_UNPOWER_CARD)
        # Without the first link, the final one names an unknown 6-byte AID.
        self.sw_is(bytes([0x00, 0xA4, 0x04, 0x00, len(aid) - 5]) + aid[5:] + b"\x00",
                   fkit.SW_FILE_NOT_FOUND)
        self.sw_is(GET_CHALLENGE_8, SW_OK)


if __name__ == "__main__":
    fkit.main(__doc__)
