# SPDX-License-Identifier: Apache-2.0
"""clientPIN of the FIDO applet through python-fido2's ClientPin over PC/SC: setting,
changing and proving the PIN under PIN/UV auth protocols 1 and 2, the retry counter,
the lockout until power-up after 3 mismatches, the permanent block after 8, the PIN
policy, and pinUvAuthTokens with permissions (a token works exactly for what it was
asked for, and a new token ends the old one).

One Ctap2 per device at a time (fidokit.power_cycle): pyscard unpowers the card when a
connection goes, which would reset the other."""

import fkit
import fidokit
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.client import ClientError, Fido2Client
from fido2.ctap2.config import Config
from fido2.ctap2.credman import CredentialManagement
from fido2.server import Fido2Server
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2

ERR = CtapError.ERR
PERM = ClientPin.PERMISSION
ACFG = ClientPin.PERMISSION.AUTHENTICATOR_CFG


def token(cp, pin):
    """A token with the acfg permission (python-fido2 0.9.1 sends subcommand 09)."""
    return cp.get_pin_token(pin, ACFG)


def always_uv(ctap):
    return ctap.get_info().options["alwaysUv"]


class PinUnderProtocol(object):
    """Set, prove and change a PIN under one protocol (a fresh device per class)."""

    PROTOCOL = None

    def test_pin_life(self):
        ctap = fidokit.ctap2()
        cp = ClientPin(ctap, protocol=self.PROTOCOL())
        self.assertIs(ctap.get_info().options["clientPin"], False)
        self.assertEqual(cp.get_pin_retries(), (8, False))
        # No PIN yet: no token.
        self.assertEqual(fidokit.ctap_error(token, cp, "1234"), ERR.PIN_NOT_SET)
        self.assertEqual(fidokit.ctap_error(cp.change_pin, "1234", "5678"), ERR.PIN_NOT_SET)
        cp.set_pin("1234")
        self.assertIs(ctap.get_info().options["clientPin"], True)
        # A second setPIN is refused: a PIN is only replaced by changePIN.
        self.assertEqual(fidokit.ctap_error(cp.set_pin, "5678"), ERR.NOT_ALLOWED)
        self.assertEqual(len(token(cp, "1234")), 32)
        self.assertEqual(len(fidokit.legacy_pin_token(cp, "1234")), 32)
        # A wrong PIN spends a try; a right one gives them all back.
        self.assertEqual(fidokit.ctap_error(token, cp, "0000"), ERR.PIN_INVALID)
        self.assertEqual(cp.get_pin_retries()[0], 7)
        token(cp, "1234")
        self.assertEqual(cp.get_pin_retries()[0], 8)
        # changePIN with the wrong current PIN spends a try and changes nothing.
        self.assertEqual(fidokit.ctap_error(cp.change_pin, "9999", "abcdef"), ERR.PIN_INVALID)
        self.assertEqual(cp.get_pin_retries()[0], 7)
        cp.change_pin("1234", "abcdef")
        self.assertEqual(cp.get_pin_retries()[0], 8)
        self.assertEqual(fidokit.ctap_error(token, cp, "1234"), ERR.PIN_INVALID)
        self.assertEqual(len(token(cp, "abcdef")), 32)
        # The PIN survives a power cycle (it is on flash).
        ctap = fidokit.power_cycle(self.rig, ctap)
        cp = ClientPin(ctap, protocol=self.PROTOCOL())
        self.assertIs(ctap.info.options["clientPin"], True)
        self.assertEqual(len(token(cp, "abcdef")), 32)
        ctap.device.close()

    def test_token_permissions(self):
        # test_pin_life leaves the PIN "abcdef"; alone, this test sets it.
        ctap = fidokit.ctap2()
        proto = self.PROTOCOL()
        cp = ClientPin(ctap, protocol=proto)
        pin = "abcdef"
        if not ctap.info.options["clientPin"]:
            cp.set_pin(pin)
        # A token with acfg configures the authenticator.
        tok = cp.get_pin_token(pin, ACFG)
        Config(ctap, proto, tok).toggle_always_uv()
        self.assertIs(always_uv(ctap), True)
        Config(ctap, proto, tok).toggle_always_uv()
        self.assertIs(always_uv(ctap), False)
        # A legacy token (mc|ga implied) or one with lbw only may not.
        legacy = fidokit.legacy_pin_token(cp, pin)
        self.assertEqual(fidokit.ctap_error(Config(ctap, proto, legacy).toggle_always_uv),
                         ERR.PIN_AUTH_INVALID)
        lbw = cp.get_pin_token(pin, PERM.LARGE_BLOB_WRITE)
        self.assertEqual(fidokit.ctap_error(Config(ctap, proto, lbw).toggle_always_uv),
                         ERR.PIN_AUTH_INVALID)
        # Every new token ends the one before.
        first = cp.get_pin_token(pin, ACFG)
        cp.get_pin_token(pin, ACFG)
        self.assertEqual(fidokit.ctap_error(Config(ctap, proto, first).toggle_always_uv),
                         ERR.PIN_AUTH_INVALID)
        # A token of the other protocol does not verify under this one.
        other = PinProtocolV2 if self.PROTOCOL is PinProtocolV1 else PinProtocolV1
        tok = cp.get_pin_token(pin, ACFG)
        self.assertEqual(fidokit.ctap_error(Config(ctap, other(), tok).toggle_always_uv),
                         ERR.PIN_AUTH_INVALID)
        # A power cycle ends every token.
        ctap = fidokit.power_cycle(self.rig, ctap)
        self.assertEqual(fidokit.ctap_error(Config(ctap, proto, tok).toggle_always_uv),
                         ERR.PIN_AUTH_INVALID)
        self.assertIs(always_uv(ctap), False)
        cp = ClientPin(ctap, protocol=proto)
        # mc/ga permissions need an RP id; permissions must not be 0; be needs built-in UV.
        self.assertEqual(fidokit.ctap_error(cp.get_pin_token, pin, PERM.MAKE_CREDENTIAL),
                         ERR.MISSING_PARAMETER)
        self.assertEqual(len(cp.get_pin_token(pin, PERM.MAKE_CREDENTIAL, "example.com")), 32)
        self.assertEqual(fidokit.ctap_error(cp.get_pin_token, pin, 0), ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(cp.get_pin_token, pin, PERM.BIO_ENROLL),
                         ERR.UNAUTHORIZED_PERMISSION)
        # 09 needs permissions (python-fido2 0.9.1 omits them when none are given).
        self.assertEqual(fidokit.ctap_error(cp.get_pin_token, pin), ERR.MISSING_PARAMETER)
        # Refused requests spent no try.
        self.assertEqual(cp.get_pin_retries()[0], 8)
        ctap.device.close()


class PinProtocol1(PinUnderProtocol, fkit.RigTest):
    PROTOCOL = PinProtocolV1


class PinProtocol2(PinUnderProtocol, fkit.RigTest):
    PROTOCOL = PinProtocolV2


class PinLockout(fkit.RigTest):
    """3 mismatches in a row block PIN use until power-up; 8 block the PIN for good."""

    def test_lockout(self):
        ctap = fidokit.ctap2()
        cp = ClientPin(ctap)
        cp.set_pin("1234")
        retries = 8
        for boot in range(3):
            for i in range(3):
                code = fidokit.ctap_error(token, cp, "9999")
                retries -= 1
                if retries == 0:
                    self.assertEqual(code, ERR.PIN_BLOCKED)
                    break
                self.assertEqual(code, ERR.PIN_AUTH_BLOCKED if i == 2 else ERR.PIN_INVALID,
                                 "boot %d, mismatch %d" % (boot, i + 1))
            self.assertEqual(cp.get_pin_retries()[0], retries)
            if retries == 0:
                break
            # Blocked until power-up, also for the right PIN, and no try is spent.
            self.assertEqual(fidokit.ctap_error(token, cp, "1234"), ERR.PIN_AUTH_BLOCKED)
            self.assertEqual(fidokit.ctap_error(cp.change_pin, "1234", "5678"),
                             ERR.PIN_AUTH_BLOCKED)
            self.assertEqual(cp.get_pin_retries(), (retries, True))
            ctap = fidokit.power_cycle(self.rig, ctap)
            cp = ClientPin(ctap)
            self.assertEqual(cp.get_pin_retries(), (retries, False))
        self.assertEqual(retries, 0)
        # Blocked for good: across power cycles, for the right PIN too.
        self.assertEqual(fidokit.ctap_error(token, cp, "1234"), ERR.PIN_BLOCKED)
        ctap = fidokit.power_cycle(self.rig, ctap)
        cp = ClientPin(ctap)
        self.assertEqual(cp.get_pin_retries()[0], 0)
        self.assertEqual(fidokit.ctap_error(token, cp, "1234"), ERR.PIN_BLOCKED)
        self.assertEqual(fidokit.ctap_error(cp.change_pin, "1234", "5678"), ERR.PIN_BLOCKED)
        ctap.device.close()



class PinCount(fkit.RigTest):
    """The 3 mismatches that block PIN use until power-up are consecutive ones."""

    def test_right_pin_clears_the_count(self):
        ctap = fidokit.ctap2()
        cp = ClientPin(ctap)
        cp.set_pin("1234")
        for _ in range(2):
            self.assertEqual(fidokit.ctap_error(token, cp, "9999"), ERR.PIN_INVALID)
        token(cp, "1234")
        for _ in range(2):
            self.assertEqual(fidokit.ctap_error(token, cp, "9999"), ERR.PIN_INVALID)
        self.assertEqual(len(token(cp, "1234")), 32)
        self.assertEqual(cp.get_pin_retries(), (8, False))
        ctap.device.close()


class PinPolicy(fkit.RigTest):
    """What the authenticator refuses about a PIN and a request."""

    def test_pin_policy(self):
        ctap = fidokit.ctap2()
        for proto in (PinProtocolV1(), PinProtocolV2()):
            # Too short in bytes, too short in code points (4 bytes), no 00 in 64 bytes.
            for bad in (b"123", "\u00e9\u00e9".encode(), b"1" * 64):
                padded = bad + b"\0" * (64 - len(bad))
                self.assertEqual(fidokit.ctap_error(fidokit.set_pin_raw, ctap, proto, padded),
                                 ERR.PIN_POLICY_VIOLATION, "%r" % bad)
            # Not 64 bytes of padded PIN.
            self.assertEqual(fidokit.ctap_error(fidokit.set_pin_raw, ctap, proto, b"1234" + b"\0" * 28),
                             ERR.INVALID_PARAMETER)
        self.assertIs(ctap.get_info().options["clientPin"], False)
        # 63 bytes is the longest PIN.
        proto = PinProtocolV2()
        cp = ClientPin(ctap, protocol=proto)
        fidokit.set_pin_raw(ctap, proto, fidokit.pad_pin("7" * 63))
        self.assertEqual(len(token(cp, "7" * 63)), 32)
        # 4 code points in 6 bytes is long enough; 3 in 6 is not.
        fidokit.change_pin_raw(ctap, proto, "7" * 63, fidokit.pad_pin("\u00e9t\u00e9s"))
        self.assertEqual(len(token(cp, "\u00e9t\u00e9s")), 32)
        self.assertEqual(fidokit.ctap_error(fidokit.change_pin_raw, ctap, proto, "\u00e9t\u00e9s",
                                            fidokit.pad_pin("\u00e9\u00e9\u00e9")),
                         ERR.PIN_POLICY_VIOLATION)
        # A refused new PIN spends no try and leaves the PIN as it was.
        self.assertEqual(cp.get_pin_retries()[0], 8)
        self.assertEqual(len(token(cp, "\u00e9t\u00e9s")), 32)
        ctap.device.close()

    def test_malformed_requests(self):
        ctap = fidokit.ctap2()
        # No subcommand; an unknown protocol; the UV subcommands (no built-in UV).
        self.assertEqual(fidokit.ctap_error(ctap.send_cbor, Ctap2.CMD.CLIENT_PIN, {1: 1}),
                         ERR.MISSING_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.client_pin, 3, ClientPin.CMD.GET_KEY_AGREEMENT),
                         ERR.INVALID_PARAMETER)
        self.assertEqual(fidokit.ctap_error(ctap.client_pin, 2, ClientPin.CMD.GET_UV_RETRIES),
                         ERR.INVALID_SUBCOMMAND)
        self.assertEqual(fidokit.ctap_error(ctap.client_pin, 2, ClientPin.CMD.GET_TOKEN_USING_UV,
                                            permissions=1, permissions_rpid="a"),
                         ERR.INVALID_SUBCOMMAND)
        self.assertEqual(fidokit.ctap_error(ctap.client_pin, 2, 0x42), ERR.INVALID_SUBCOMMAND)
        self.assertEqual(fidokit.ctap_error(ctap.send_cbor, Ctap2.CMD.CLIENT_PIN, {2: 0x42}),
                         ERR.INVALID_SUBCOMMAND)
        # getKeyAgreement needs a protocol; getPINRetries does not.
        self.assertEqual(fidokit.ctap_error(ctap.send_cbor, Ctap2.CMD.CLIENT_PIN, {2: 2}),
                         ERR.MISSING_PARAMETER)
        self.assertEqual(ctap.send_cbor(Ctap2.CMD.CLIENT_PIN, {2: 1})[3], 8)
        self.assertEqual(fidokit.ctap_error(ctap.send_cbor, Ctap2.CMD.CLIENT_PIN, {1: 2, 2: "x"}),
                         ERR.CBOR_UNEXPECTED_TYPE)
        # A key agreement key that is not a P-256 point.
        bad = {1: 2, 3: -25, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32}
        self.assertEqual(fidokit.ctap_error(ctap.client_pin, 2, ClientPin.CMD.SET_PIN,
                                            key_agreement=bad, new_pin_enc=b"\0" * 80,
                                            pin_uv_param=b"\0" * 32),
                         ERR.INVALID_PARAMETER)
        # setPIN with a pinUvAuthParam that does not verify.
        proto = PinProtocolV2()
        key_agreement, shared = ClientPin(ctap, protocol=proto)._get_shared_secret()
        enc = proto.encrypt(shared, fidokit.pad_pin("1234"))
        self.assertEqual(fidokit.ctap_error(ctap.client_pin, 2, ClientPin.CMD.SET_PIN,
                                            key_agreement=key_agreement, new_pin_enc=enc,
                                            pin_uv_param=b"\0" * 32),
                         ERR.PIN_AUTH_INVALID)
        self.assertIs(ctap.get_info().options["clientPin"], False)
        # The COSE key answered by getKeyAgreement.
        ka = ctap.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[1]
        self.assertEqual((ka[1], ka[3], ka[-1], len(ka[-2]), len(ka[-3])), (2, -25, 1, 32, 32))
        ctap.device.close()


class PinWithCredentials(fkit.RigTest):
    """The PIN as a WebAuthn client uses it: python-fido2's Fido2Client asks for a token
    with mc / ga permissions for the RP, and the authenticator reports UV; a token serves
    credential management only with cm."""

    UV = 0x04

    def test_client_with_pin(self):
        ctap = fidokit.ctap2()
        ClientPin(ctap).set_pin("1234")
        client = Fido2Client(ctap.device, "https://example.com")
        server = Fido2Server({"id": "example.com", "name": "Example"})
        user = {"id": b"user-pin", "name": "alice"}
        options, state = server.register_begin(user, resident_key=True,
                                               user_verification="required")
        # A wrong PIN fails and costs a try; the right one registers with UV.
        with self.assertRaises(ClientError) as cm:
            client.make_credential(options["publicKey"], pin="4321")
        self.assertEqual(cm.exception.cause.code, ERR.PIN_INVALID)
        result = client.make_credential(options["publicKey"], pin="1234")
        auth_data = server.register_complete(state, result.client_data,
                                             result.attestation_object)
        self.assertTrue(auth_data.flags & self.UV)
        creds = [auth_data.credential_data]
        options, state = server.authenticate_begin(creds, user_verification="required")
        resp = client.get_assertion(options["publicKey"], pin="1234").get_response(0)
        server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                     resp.authenticator_data, resp.signature)
        self.assertTrue(resp.authenticator_data.flags & self.UV)
        # Credential management: with a cm token, not with an acfg one.
        for proto in (PinProtocolV1(), PinProtocolV2()):
            cp = ClientPin(ctap, protocol=proto)
            cm_token = cp.get_pin_token("1234", PERM.CREDENTIAL_MGMT)
            meta = CredentialManagement(ctap, proto, cm_token).get_metadata()
            self.assertEqual(meta[CredentialManagement.RESULT.EXISTING_CRED_COUNT], 1)
            acfg = cp.get_pin_token("1234", ACFG)
            self.assertEqual(fidokit.ctap_error(CredentialManagement(ctap, proto, acfg).get_metadata),
                             ERR.PIN_AUTH_INVALID)
        ctap.device.close()


if __name__ == "__main__":
    fkit.main(__doc__)
