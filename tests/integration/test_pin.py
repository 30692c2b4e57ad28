# SPDX-License-Identifier: Apache-2.0
"""PINs of the HSM applet through pcscd+vpcd: INITIALIZE, VERIFY, CHANGE REFERENCE DATA and
RESET RETRY COUNTER as OpenSC 0.23's sc-hsm-tool and pkcs11-tool send them, and raw APDUs
(pyscard) for the transport PIN and the status words OpenSC does not show.

pkcs11-tool needs the PKCS#15 emulation, which shows the token only when 2F02 holds a
decodable CV certificate. The device writes its own chain there at its first start: the
PKCS#11 tests check that it is there and fail if OpenSC shows no token.
"""

import os
import shutil
import subprocess

import fkit
from fkit import SW_OK, apdu, hx, select_aid

TOOL_TIMEOUT = 120  # seconds; ASan builds on a loaded machine

PIN = "648219"
PIN2 = "123456"
SO_PIN_HEX = "3537363231383830"
SO_PIN = bytes.fromhex(SO_PIN_HEX)  # what sc-hsm-tool sends: b"57621880"
WRONG_SO_PIN_HEX = "0000000000000000"

SW_BLOCKED = 0x6983
SW_TRANSPORT = 0x6984
SW_REF_NOT_FOUND = 0x6A88
SW_NOT_ALLOWED = 0x6986
SW_SECURITY = 0x6982

FID_DEVICE_CERTS = 0x2F02
TAG_CVC = 0x7F21
TAG_CVC_BODY = 0x7F4E
TAG_CHR = 0x5F20
CHR_MIN = 8  # OpenSC's PKCS#15 bind fails on a shorter device CHR


def sw_tries(n):
    return 0x63C0 | n


def tlv(tag, value):
    """One BER-TLV (tags of 1 or 2 bytes, lengths up to 65535)."""
    t = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return t + ln + value


def initialize_apdu(options, pin, so_pin, tries=None):
    """INITIALIZE DEVICE with tags 80, 81, 82 [, 91] (the order sc-hsm-tool uses)."""
    data = tlv(0x80, options.to_bytes(2, "big")) + tlv(0x81, pin) + tlv(0x82, so_pin)
    if tries is not None:
        data += tlv(0x91, bytes([tries]))
    return bytes([0x80, 0x50, 0x00, 0x00, len(data)]) + data


def verify_apdu(ref, pin=b""):
    return bytes([0x00, 0x20, 0x00, ref]) + (bytes([len(pin)]) + pin if pin else b"")


def change_apdu(ref, old, new):
    data = old + new
    return bytes([0x00, 0x24, 0x00, ref, len(data)]) + data


def reset_retry_apdu(p1, data=b""):
    return bytes([0x00, 0x2C, p1, 0x81]) + (bytes([len(data)]) + data if data else b"")


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("OPENSC_")}


def run_tool(*args):
    """Run an OpenSC tool; returns (status, stdout + stderr)."""
    proc = subprocess.run(list(args), env=clean_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    return proc.returncode, proc.stdout + proc.stderr


def sc_hsm_tool(*args):
    """sc-hsm-tool on reader 0. It exits 0 even when the card refuses, so callers check
    the output."""
    return run_tool("sc-hsm-tool", "--reader", "0", *args)[1]


class PinTest(fkit.RigTest):
    """A rig whose card handle is closed while an OpenSC tool runs."""

    def setUp(self):
        for tool in ("sc-hsm-tool", "pkcs11-tool"):
            if shutil.which(tool) is None:
                self.fail("%s not found: run tools/deps.sh" % tool)

    def tearDown(self):
        if type(self).card is None:
            type(self).card = self.rig.wait_card()

    def release_card(self):
        """Let a tool have the reader to itself."""
        if type(self).card is not None:
            type(self).card.close()
            type(self).card = None

    def raw(self, cmd, expected):
        """SELECT the HSM applet, then send cmd and assert its status word."""
        if type(self).card is None:
            type(self).card = self.rig.wait_card()
        self.card = type(self).card
        self.select_hsm()
        return self.sw_is(cmd, expected)

    def raw_more(self, cmd, expected):
        """Send cmd in the same session (no SELECT, which would log out)."""
        return self.sw_is(cmd, expected)

    def status(self, tool_output, line):
        self.assertIn(line, tool_output, "sc-hsm-tool output:\n" + tool_output)


class ScHsmTool(PinTest):
    """sc-hsm-tool against a fresh card, in order (one rig for the class)."""

    def test_1_blank_card(self):
        """A never-initialized card: sc-hsm-tool says so; VERIFY gives 6A88 for both PINs."""
        self.raw(verify_apdu(0x81), SW_REF_NOT_FOUND)
        self.raw_more(verify_apdu(0x88), SW_REF_NOT_FOUND)
        self.raw_more(verify_apdu(0x81, PIN.encode()), SW_REF_NOT_FOUND)
        self.raw_more(verify_apdu(0x85), SW_REF_NOT_FOUND)
        self.raw_more(verify_apdu(0x86), SW_REF_NOT_FOUND)
        # INITIALIZE without data: free memory, 00, version 4.0 (pypicohsm's form).
        info = self.raw_more(apdu("80 50 00 00 00 00 00"), SW_OK)
        self.assertEqual(len(info), 7, hx(info))
        self.assertGreater(int.from_bytes(info[:4], "big"), 0)
        self.assertEqual(info[4:], bytes([0, 4, 0]))
        self.release_card()
        out = sc_hsm_tool()
        self.status(out, "SmartCard-HSM has never been initialized")

    def test_2_initialize(self):
        """`sc-hsm-tool --initialize --so-pin ... --pin 648219`, then the status output."""
        self.release_card()
        out = sc_hsm_tool("--initialize", "--so-pin", SO_PIN_HEX, "--pin", PIN)
        self.assertNotIn("failed", out)
        out = sc_hsm_tool()
        self.status(out, "User PIN reset with SO-PIN enabled")
        self.status(out, "SO-PIN tries left    : 15")
        self.status(out, "User PIN tries left  : 3")
        fcp = self.raw(select_aid(fkit.HSM_AID), SW_OK)
        prop = dict(fkit.tlv_children(fkit.tlv_children(fcp)[0][1]))[0x85]
        self.assertEqual(prop[:2], b"\x00\x01", "options in FCP tag 85: %s" % hx(prop))
        self.raw_more(verify_apdu(0x81, PIN.encode()), SW_OK)
        self.raw_more(verify_apdu(0x81), SW_OK)

    def test_3_reinitialize_retry_and_dkek(self):
        """Re-initialize with --pin-retry 5 --dkek-shares 1 (the same SO-PIN); a wrong
        SO-PIN is refused and costs one of its 15 tries."""
        self.release_card()
        out = sc_hsm_tool("--initialize", "--so-pin", SO_PIN_HEX, "--pin", "64821900",
                          "--pin-retry", "5", "--dkek-shares", "1")
        self.assertNotIn("failed", out)
        out = sc_hsm_tool()
        self.status(out, "User PIN tries left  : 5")
        self.raw(verify_apdu(0x81, PIN.encode()), sw_tries(4))
        self.raw_more(verify_apdu(0x81, b"64821900"), SW_OK)
        self.release_card()
        out = sc_hsm_tool("--initialize", "--so-pin", WRONG_SO_PIN_HEX, "--pin", PIN)
        self.status(out, "PIN code or key incorrect")
        out = sc_hsm_tool()
        self.status(out, "SO-PIN tries left    : 14")
        self.status(out, "User PIN tries left  : 5")
        self.raw(verify_apdu(0x81, b"64821900"), SW_OK)

    def test_4_lock_and_unblock(self):
        """Wrong PINs: 63Cx counting down, 6983 on the last, the right PIN then 6983 too;
        sc-hsm-tool shows "User PIN locked"; RESET RETRY COUNTER with the SO-PIN unblocks."""
        self.release_card()
        sc_hsm_tool("--initialize", "--so-pin", SO_PIN_HEX, "--pin", PIN)
        self.raw(verify_apdu(0x81, b"000000"), sw_tries(2))
        self.raw_more(verify_apdu(0x81, b"000000"), sw_tries(1))
        self.raw_more(verify_apdu(0x81, b"000000"), SW_BLOCKED)
        self.raw_more(verify_apdu(0x81, PIN.encode()), SW_BLOCKED)
        self.raw_more(verify_apdu(0x81), SW_BLOCKED)
        self.release_card()
        self.status(sc_hsm_tool(), "User PIN locked")
        self.raw(reset_retry_apdu(0x00, SO_PIN + PIN2.encode()), SW_OK)
        self.raw_more(verify_apdu(0x81, PIN2.encode()), SW_OK)
        # The counter-only forms need option 0020 (not set by sc-hsm-tool).
        self.raw_more(reset_retry_apdu(0x01, SO_PIN), SW_NOT_ALLOWED)
        self.release_card()
        self.status(sc_hsm_tool(), "User PIN tries left  : 3")


class TransportPin(PinTest):
    """Option 0002: the user PIN must be changed before it can be verified."""

    def test_transport_pin(self):
        self.raw(initialize_apdu(0x0003, PIN.encode(), SO_PIN, 3), SW_OK)
        self.raw_more(verify_apdu(0x81), SW_TRANSPORT)
        self.raw_more(verify_apdu(0x81, PIN.encode()), SW_TRANSPORT)
        self.raw_more(verify_apdu(0x88), sw_tries(15))
        self.release_card()
        out = sc_hsm_tool()
        self.status(out, "Transport-PIN mode enabled")
        self.status(out, "Transport-PIN active")
        # A wrong transport PIN in CHANGE costs a try; the right one clears the state.
        self.raw(change_apdu(0x81, b"000000", PIN2.encode()), sw_tries(2))
        self.raw_more(change_apdu(0x81, PIN.encode(), PIN2.encode()), SW_OK)
        self.raw_more(verify_apdu(0x81), SW_OK)
        self.raw(verify_apdu(0x81), sw_tries(3))  # SELECT logged out
        self.raw_more(verify_apdu(0x81, PIN2.encode()), SW_OK)
        # It stays cleared over a restart of the device.
        self.release_card()
        self.rig.stop_sim()
        self.rig.start_sim()
        self.raw(verify_apdu(0x81), sw_tries(3))
        self.release_card()
        out = sc_hsm_tool()
        self.status(out, "Transport-PIN mode enabled")
        self.status(out, "User PIN tries left  : 3")


class Pkcs11Pin(PinTest):
    """pkcs11-tool's PIN flows (OpenSC's PKCS#11 module), in order."""

    module = fkit.OPENSC_MODULE

    def p11(self, *args):
        return run_tool("pkcs11-tool", "--module", self.module, *args)

    def ensure_token(self):
        """Initialize; the device's own certificate is in 2F02 and OpenSC shows the token."""
        if not os.path.exists(self.module):
            self.fail("OpenSC PKCS#11 module not found: run tools/deps.sh")
        self.raw(initialize_apdu(0x0001, PIN.encode(), SO_PIN, 3), SW_OK)
        certs = self.raw_more(apdu("00 B1 2F 02 00 00 04 54 02 00 00 00 00"), SW_OK)
        outer = fkit.tlv_children(certs)
        self.assertEqual(outer[0][0], TAG_CVC, "2F02 does not start with a CVC: %s" % hx(certs))
        body = dict(fkit.tlv_children(outer[0][1]))[TAG_CVC_BODY]
        chr_ = dict(fkit.tlv_children(body))[TAG_CHR]
        self.assertGreaterEqual(len(chr_), CHR_MIN, "device CHR %r" % chr_)
        self.release_card()
        _, out = self.p11("-L")
        self.assertIn("token label", out, "OpenSC shows no token:\n" + out)

    def test_pkcs11_pin_flows(self):
        self.ensure_token()
        # Change the user PIN (status, VERIFY, CHANGE REFERENCE DATA).
        rc, out = self.p11("--login", "--pin", PIN, "--change-pin", "--new-pin", PIN2)
        self.assertEqual(rc, 0, out)
        self.assertIn("PIN successfully changed", out)
        rc, out = self.p11("--login", "--pin", PIN, "-O")
        self.assertIn("CKR_PIN_INCORRECT", out)
        rc, out = self.p11("--login", "--pin", PIN2, "-O")
        self.assertEqual(rc, 0, out)
        # Three wrong PINs: incorrect, incorrect, locked.
        for expected in ("CKR_PIN_INCORRECT", "CKR_PIN_INCORRECT", "CKR_PIN_LOCKED"):
            rc, out = self.p11("--login", "--pin", "000000", "-O")
            self.assertNotEqual(rc, 0, out)
            self.assertIn(expected, out)
        rc, out = self.p11("--login", "--pin", PIN2, "-O")
        self.assertIn("CKR_PIN_LOCKED", out)
        _, out = self.p11("-L")
        self.assertIn("user PIN locked", out)
        # The SO unblocks with a new PIN (C_InitPIN: RESET RETRY COUNTER 00).
        rc, out = self.p11("--login", "--login-type", "so", "--so-pin", SO_PIN_HEX,
                           "--init-pin", "--new-pin", PIN)
        self.assertEqual(rc, 0, out)
        _, out = self.p11("-L")
        self.assertNotIn("user PIN locked", out)
        rc, out = self.p11("--login", "--pin", PIN, "-O")
        self.assertEqual(rc, 0, out)
        # A wrong SO-PIN is refused.
        rc, out = self.p11("--login", "--login-type", "so", "--so-pin", WRONG_SO_PIN_HEX,
                           "--init-pin", "--new-pin", PIN2)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("CKR_PIN_INCORRECT", out)
        # Change the SO-PIN (8 || 8 bytes), then the new one unblocks.
        new_so = "3132333435363738"
        rc, out = self.p11("--login", "--login-type", "so", "--so-pin", SO_PIN_HEX,
                           "--change-pin", "--new-pin", new_so)
        self.assertEqual(rc, 0, out)
        rc, out = self.p11("--login", "--login-type", "so", "--so-pin", new_so,
                           "--init-pin", "--new-pin", PIN2)
        self.assertEqual(rc, 0, out)
        self.raw(verify_apdu(0x88), sw_tries(15))
        self.raw_more(verify_apdu(0x81, PIN2.encode()), SW_OK)
        # sc-hsm-tool agrees.
        self.release_card()
        out = sc_hsm_tool()
        self.status(out, "SO-PIN tries left    : 15")
        self.status(out, "User PIN tries left  : 3")


if __name__ == "__main__":
    fkit.main(__doc__)
