# SPDX-License-Identifier: Apache-2.0
"""Raw APDUs through pcscd+vpcd (SCardTransmit, no OpenSC): SELECT, GET CHALLENGE,
short and extended lengths, GET RESPONSE, command chaining, malformed input and
the rescue applet.
"""

import fkit
from fkit import SW_OK, apdu, hx, select_aid

# Status-word sets where the profile allows either of two answers.
SW_BAD_P1P2 = {fkit.SW_INCORRECT_P1P2, fkit.SW_WRONG_P1P2}
# Secure messaging without a session: not supported, or SM data objects missing/incorrect.
SW_SM_REJECTED = {0x6882, fkit.SW_CLA_NOT_SUPPORTED, 0x6987, 0x6988}
SW_CHANNEL_REJECTED = {0x6881, fkit.SW_CLA_NOT_SUPPORTED}
SW_NOTHING_PENDING = 0x6985  # GET RESPONSE with no response pending
SW_RESCUE_CLA_00 = fkit.SW_CLA_NOT_SUPPORTED  # the rescue applet takes CLA 80 only
EXTENDED_NE_MAX = 65536
VPCD_FRAME_MAX = 65535  # largest response APDU one vpcd frame carries

FCP_TAG = 0x62
PROPRIETARY_TAG = 0x85
PROPRIETARY_LEN = 5

RESCUE_RESPONSE_LEN = 12
RESCUE_PLATFORM_EMULATION = 3
RESCUE_PRODUCT_HSM = 1

CHALLENGE_SIZES = (8, 32, 256, 1024)
CHAIN_LINK_LEN = 255
CHAIN_DATA_MAX = 65535  # largest command data after chaining
GET_CHALLENGE_SHORT_MAX = 256



def select_aid_le1():
    """SELECT of the HSM applet with Le 1: one byte of the FCP, the rest pending (61xx)."""
    return bytes([0x00, 0xA4, 0x04, 0x00, len(fkit.HSM_AID)]) + fkit.HSM_AID + b"\x01"

def get_challenge(n, cla=0x00):
    """GET CHALLENGE for n bytes: short Le up to 256 (00 = 256), extended Le above."""
    if n <= GET_CHALLENGE_SHORT_MAX:
        return bytes([cla, 0x84, 0x00, 0x00, n & 0xFF])
    return bytes([cla, 0x84, 0x00, 0x00, 0x00, n >> 8, n & 0xFF])


def extended_select(aid, with_le):
    """SELECT by AID with an extended Lc (case 3E) and optionally an extended Le (case 4E)."""
    cmd = bytes([0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, len(aid)]) + aid
    return cmd + (b"\x00\x00" if with_le else b"")


class Apdu(fkit.RigTest):

    def setUp(self):
        self.fcp = self.select_hsm()

    # -- SELECT ---------------------------------------------------------------

    def test_select_fcp(self):
        """SELECT HSM AID with P2 00 and 04: FCP 62 with a 5-byte 85 directly under 62."""
        for p2 in (0x00, 0x04):
            fcp = self.select_hsm(p2=p2)
            children = fkit.tlv_children(fcp)
            self.assertEqual(len(children), 1, "FCP is not one TLV: %s" % hx(fcp))
            tag, value = children[0]
            self.assertEqual(tag, FCP_TAG)
            inner = dict(fkit.tlv_children(value))
            self.assertIn(PROPRIETARY_TAG, inner, "no tag 85 under 62: %s" % hx(fcp))
            self.assertEqual(len(inner[PROPRIETARY_TAG]), PROPRIETARY_LEN,
                             "85 is not 5 bytes: %s" % hx(fcp))
            self.assertNotIn(0xA5, inner, "A5 in the application FCP breaks OpenSC")
            self.assertEqual(fcp, self.fcp, "P2=%02X FCP differs from P2=00" % p2)

    def test_select_case3(self):
        """Case-3 SELECT (no Le): 9000 and no data, as a SmartCard-HSM answers a command
        sent without Le; nothing waits for GET RESPONSE."""
        data, sw = self.card.transmit(select_aid(fkit.HSM_AID, le=False))
        self.assertEqual((data, sw), (b"", SW_OK), "case-3 SELECT -> %04X" % sw)
        self.assertEqual(self.sw_is(apdu("00 C0 00 00 08"), SW_NOTHING_PENDING), b"")
        self.sw_is(get_challenge(8), SW_OK)  # the HSM applet is selected

    def test_foreign_aids_keep_hsm_selected(self):
        """OpenSC's probe AIDs get 6A82 and the HSM applet stays selected."""
        for aid in fkit.FOREIGN_AIDS:
            self.sw_is(select_aid(aid), fkit.SW_FILE_NOT_FOUND)
            self.assertEqual(len(self.sw_is(get_challenge(8), SW_OK)), 8)
        # Longer than the HSM AID, or a prefix shorter than a RID: foreign too.
        self.sw_is(select_aid(fkit.HSM_AID + b"\x00"), fkit.SW_FILE_NOT_FOUND)
        self.sw_is(select_aid(fkit.HSM_AID[:4]), fkit.SW_FILE_NOT_FOUND)
        self.sw_is(get_challenge(8), SW_OK)

    def test_foreign_aids_keep_rescue_selected(self):
        """Foreign AIDs do not disturb whichever applet is selected (here: rescue)."""
        self.sw_is(select_aid(fkit.RESCUE_AID), SW_OK)
        self.sw_is(get_challenge(8), SW_RESCUE_CLA_00)
        for aid in fkit.FOREIGN_AIDS:
            self.sw_is(select_aid(aid), fkit.SW_FILE_NOT_FOUND)
            self.sw_is(get_challenge(8), SW_RESCUE_CLA_00)

    def test_partial_aid(self):
        """A right-truncated AID of at least 5 bytes selects the applet it starts."""
        self.sw_is(select_aid(fkit.RESCUE_AID), SW_OK)
        self.assertEqual(self.sw_is(select_aid(fkit.HSM_AID[:5]), SW_OK), self.fcp)
        self.sw_is(get_challenge(8), SW_OK)

    def test_bad_p1p2_on_select(self):
        """SELECT with an unknown P1 or P2 gets 6A86/6B00; the card goes on."""
        self.sw_is(apdu("00 A4 42 00 02 3F 00"), SW_BAD_P1P2)
        self.sw_is(get_challenge(8), SW_OK)  # a file SELECT went to the applet, still selected
        self.sw_is(bytes([0x00, 0xA4, 0x04, 0x7F, len(fkit.HSM_AID)]) + fkit.HSM_AID + b"\x00",
                   SW_BAD_P1P2)
        self.sw_is(select_aid(fkit.RESCUE_AID, p2=0x7F), SW_BAD_P1P2)
        self.assert_still_answers()

    # -- GET CHALLENGE and lengths ----------------------------------------------

    def test_get_challenge_sizes(self):
        """GET CHALLENGE of 8, 32, 256 (Le 00) and 1024 (extended Le): exact size, fresh."""
        for n in CHALLENGE_SIZES:
            first = self.sw_is(get_challenge(n), SW_OK)
            second = self.sw_is(get_challenge(n), SW_OK)
            self.assertEqual(len(first), n, "GET CHALLENGE %d gave %d bytes" % (n, len(first)))
            self.assertEqual(len(second), n)
            self.assertNotEqual(first, second, "GET CHALLENGE %d repeated itself" % n)
            self.assertGreater(len(set(first)), 1 if n < 32 else 8,
                               "GET CHALLENGE %d looks constant: %s" % (n, hx(first[:32])))

    def test_get_challenge_cla_80(self):
        """GET CHALLENGE with CLA 80 (pypicohsm's form) works like CLA 00."""
        self.assertEqual(len(self.sw_is(get_challenge(16, cla=0x80), SW_OK)), 16)

    def test_extended_forms(self):
        """Case 2E (GET CHALLENGE), 3E and 4E (SELECT) with extended lengths."""
        self.assertEqual(len(self.sw_is(apdu("00 84 00 00 00 00 08"), SW_OK)), 8)
        self.assertEqual(len(self.sw_is(apdu("00 84 00 00 00 01 00"), SW_OK)), 256)
        data, sw = self.card.transmit(extended_select(fkit.HSM_AID, with_le=False))
        self.assertTrue(sw == SW_OK or sw >> 8 == fkit.SW1_BYTES_REMAINING,
                        "case 3E SELECT -> %s %04X" % (hx(data), sw))
        self.assertEqual(self.sw_is(extended_select(fkit.HSM_AID, with_le=True), SW_OK), self.fcp)

    # -- GET RESPONSE -------------------------------------------------------------

    def test_get_response_short_le(self):
        """A response longer than Le: first Le bytes + 61xx, GET RESPONSE continues to 9000."""
        le = 5
        cmd = bytes([0x00, 0xA4, 0x04, 0x00, len(fkit.HSM_AID)]) + fkit.HSM_AID + bytes([le])
        data, sw = self.card.transmit(cmd)
        self.assertEqual(len(data), le, "%s -> %s %04X" % (hx(cmd), hx(data), sw))
        self.assertEqual(sw, 0x6100 | (len(self.fcp) - le))
        full, sw, _ = self.card.get_response_all(data, sw)
        self.assertEqual(sw, SW_OK)
        self.assertEqual(full, self.fcp)

    def test_get_response_chunks(self):
        """GET RESPONSE with Le 8 delivers the rest 8 bytes at a time, 61xx counting down."""
        chunk = 8
        data, sw = self.card.transmit(select_aid_le1())
        self.assertEqual(sw, 0x6100 | (len(self.fcp) - 1))
        full, sw, links = self.card.get_response_all(data, sw, chunk=chunk)
        self.assertEqual(sw, SW_OK)
        self.assertEqual(full, self.fcp)
        self.assertEqual(links, -(-(len(self.fcp) - 1) // chunk))

    def test_get_response_dropped_by_next_command(self):
        """Another command discards the pending response: GET RESPONSE then fails."""
        _, sw = self.card.transmit(select_aid_le1())
        self.assertEqual(sw >> 8, fkit.SW1_BYTES_REMAINING)
        self.sw_is(get_challenge(8), SW_OK)
        self.assertEqual(self.sw_is(apdu("00 C0 00 00 08"), SW_NOTHING_PENDING), b"")

    def test_get_response_bad_p1p2(self):
        """GET RESPONSE with P1/P2 not zero gets 6B00 and leaves the pending data alone."""
        first, sw = self.card.transmit(select_aid_le1())
        self.assertEqual(sw >> 8, fkit.SW1_BYTES_REMAINING)
        self.sw_is(apdu("00 C0 01 00 08"), fkit.SW_WRONG_P1P2)
        full, sw, _ = self.card.get_response_all(first, sw)
        self.assertEqual((full, sw), (self.fcp, SW_OK))

    def test_response_larger_than_a_frame(self):
        """GET CHALLENGE with extended Le 0000 (65536 bytes): what does not fit in one vpcd
        frame comes with 61xx and GET RESPONSE, and all of it is fresh random data."""
        data, sw = self.card.transmit(apdu("00 84 00 00 00 00 00"))
        self.assertEqual(len(data), VPCD_FRAME_MAX - 2)
        self.assertEqual(sw, 0x6100 | (EXTENDED_NE_MAX - len(data)))
        full, sw, links = self.card.get_response_all(data, sw)
        self.assertEqual(sw, SW_OK)
        self.assertEqual(len(full), EXTENDED_NE_MAX)
        self.assertEqual(links, 1)
        self.assertGreater(len(set(full)), 250, "65536 random bytes with few distinct values")

    # -- Chaining -------------------------------------------------------------------

    def test_chained_select(self):
        """SELECT split into a chained link (CLA 10) and a final link gives the FCP."""
        aid = fkit.HSM_AID
        first = bytes([fkit.CLA_CHAIN, 0xA4, 0x04, 0x00, 5]) + aid[:5]
        last = bytes([0x00, 0xA4, 0x04, 0x00, len(aid) - 5]) + aid[5:] + b"\x00"
        self.sw_is(first, SW_OK)
        self.assertEqual(self.sw_is(last, SW_OK), self.fcp)

    def test_chained_extended(self):
        """Chaining also works with extended Lc in the links."""
        aid = fkit.HSM_AID
        first = bytes([fkit.CLA_CHAIN, 0xA4, 0x04, 0x00, 0x00, 0x00, 3]) + aid[:3]
        mid = bytes([fkit.CLA_CHAIN, 0xA4, 0x04, 0x00, 4]) + aid[3:7]
        last = bytes([0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, len(aid) - 7]) + aid[7:] + b"\x00\x00"
        self.sw_is(first, SW_OK)
        self.sw_is(mid, SW_OK)
        self.assertEqual(self.sw_is(last, SW_OK), self.fcp)

    def test_chain_interrupted(self):
        """A chain interrupted by another INS gets 6883; the chain is dropped, the card goes on."""
        aid = fkit.HSM_AID
        self.sw_is(bytes([fkit.CLA_CHAIN, 0xA4, 0x04, 0x00, 5]) + aid[:5], SW_OK)
        self.sw_is(get_challenge(8), fkit.SW_LAST_COMMAND_EXPECTED)
        # The final link alone is now a SELECT of an unknown 6-byte AID.
        self.sw_is(bytes([0x00, 0xA4, 0x04, 0x00, len(aid) - 5]) + aid[5:] + b"\x00",
                   fkit.SW_FILE_NOT_FOUND)
        self.select_hsm()
        self.sw_is(get_challenge(8), SW_OK)

    def test_chain_overflow(self):
        """Links adding up to more than 65535 bytes get 6700 and drop the chain."""
        link = bytes([fkit.CLA_CHAIN, 0xA4, 0x04, 0x00, CHAIN_LINK_LEN]) + b"\x11" * CHAIN_LINK_LEN
        full_links = CHAIN_DATA_MAX // CHAIN_LINK_LEN  # 257 links: 65535 bytes exactly
        for _ in range(full_links):
            self.sw_is(link, SW_OK)
        self.sw_is(link, fkit.SW_WRONG_LENGTH)
        self.sw_is(get_challenge(8), SW_OK)  # no chain open any more

    # -- Malformed input -----------------------------------------------------------

    def assert_still_answers(self):
        self.assertEqual(self.select_hsm(), self.fcp)
        self.assertEqual(len(self.sw_is(get_challenge(8), SW_OK)), 8)

    def test_malformed_lengths(self):
        """Inconsistent length fields get 6700, and the card keeps answering."""
        cases = (
            "00 A4 04 00 0B E8 2B 06",           # Lc 11, 3 bytes present
            "00 20 00 81 06 31 32 33 34 35",     # Lc 6, 5 bytes present
            "00 A4 04 00 00 00 0B E8 2B",        # extended Lc 11, 2 bytes present
            "00 A4 04 00 02 2F 02 00 00 00",     # bytes after Lc data + Le
            "00 A4 04 00 00 00 00 01",           # extended Lc of zero
            "00 84 00 00 00 08",                 # 2 bytes after the header
            "00 A4 04",                          # 3-byte APDU
            "00 A4",                             # 2-byte APDU
        )
        for text in cases:
            self.sw_is(apdu(text), fkit.SW_WRONG_LENGTH)
            self.assert_still_answers()

    def test_unknown_cla(self):
        """CLA FF gets 6E00; secure messaging and logical channels are refused."""
        self.sw_is(apdu("FF 84 00 00 08"), fkit.SW_CLA_NOT_SUPPORTED)
        self.assert_still_answers()
        self.sw_is(apdu("0C 84 00 00 08"), SW_SM_REJECTED)
        self.assert_still_answers()
        self.sw_is(apdu("01 84 00 00 08"), SW_CHANNEL_REJECTED)
        self.assert_still_answers()

    def test_unknown_ins(self):
        """An instruction the applet does not know gets 6D00 (CLA 00 and 80)."""
        self.sw_is(apdu("00 12 00 00"), fkit.SW_INS_NOT_SUPPORTED)
        self.sw_is(apdu("80 12 00 00 00"), fkit.SW_INS_NOT_SUPPORTED)
        self.assert_still_answers()

    # -- Rescue applet ---------------------------------------------------------------

    def test_rescue_select(self):
        """Rescue SELECT: platform 3, product 1, version, the serial given with --serial."""
        cmd = select_aid(fkit.RESCUE_AID, p2=0x04)
        self.assertEqual(cmd, apdu("00 A4 04 04 08 A0 58 3F C1 9B 7E 4F 21 00"))
        data = self.sw_is(cmd, SW_OK)
        self.assertEqual(len(data), RESCUE_RESPONSE_LEN, "rescue SELECT -> %s" % hx(data))
        self.assertEqual(data[0], RESCUE_PLATFORM_EMULATION)
        self.assertEqual(data[1], RESCUE_PRODUCT_HSM)
        self.assertEqual(data[4:], bytes.fromhex(fkit.ARGS.serial))
        # The rescue applet is now selected, not the HSM applet; it takes CLA 80 only.
        self.sw_is(get_challenge(8), SW_RESCUE_CLA_00)
        self.sw_is(get_challenge(8, cla=0x80), fkit.SW_INS_NOT_SUPPORTED)
        self.assert_still_answers()


if __name__ == "__main__":
    fkit.main(__doc__)
