# SPDX-License-Identifier: Apache-2.0
"""The FIDO flows a user's python-fido2 0.9.1 drives over fusekey-sim's CTAPHID socket
(tools/fido/fusekey_fido.py), each class on a fresh simulator:

- Fido2Client + Fido2Server register and authenticate without a PIN, with hmac-secret
  (same salt, same secret) and credProtect (a UV-required credential stays hidden without
  UV); with a PIN: UV registration of a discoverable credential and UV authentication.
- ClientPin: set, change, wrong PINs: three in a row block PIN use until a power cycle
  (control socket), eight in all block the PIN for good.
- CredentialManagement list and delete, LargeBlobs put/get/delete under a largeBlobKey,
  Config alwaysUv and the minimum PIN length.
- U2F over CTAPHID MSG with fido2.ctap1.Ctap1: version, register (attestation verified),
  authenticate check-only / enforce / dont-enforce presence, a wrong key handle -> 6A80.
"""

import hashlib
import os

import fidohid
import fkit
from fidohid import Ctap2, CtapError
from fido2.client import ClientError, Fido2Client
from fido2.ctap1 import APDU, ApduError, Ctap1, SignatureData
from fido2.ctap2.blob import LargeBlobs
from fido2.ctap2.config import Config
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.extensions import CredProtectExtension
from fido2.ctap2.pin import ClientPin
from fido2.server import Fido2Server

ERR = CtapError.ERR
PERM = ClientPin.PERMISSION
CM = CredentialManagement.RESULT
ORIGIN = "https://example.com"
RP = {"id": "example.com", "name": "Example"}
PIN = "4711abcd"
FLAG_UP, FLAG_UV = 0x01, 0x04
WRONG_DATA = 0x6A80


def sha(data):
    return hashlib.sha256(data).digest()


class Flow(fidohid.HidRigTest):
    """A python-fido2 client on the rig's socket."""

    def client(self):
        return Fido2Client(self.device(), ORIGIN)

    def register(self, client, user, pin=None, **kw):
        """Fido2Server.register_begin -> Fido2Client.make_credential -> register_complete;
        returns (credential data, client result)."""
        server = Fido2Server(RP)
        extensions = kw.pop("extensions", None)
        options, state = server.register_begin(user, **kw)
        if extensions:
            options["publicKey"]["extensions"] = extensions
        result = client.make_credential(options["publicKey"], pin=pin)
        auth_data = server.register_complete(state, result.client_data,
                                             result.attestation_object)
        return auth_data.credential_data, result

    def authenticate(self, client, creds, pin=None, extensions=None, **kw):
        """authenticate_begin -> get_assertion -> authenticate_complete (which verifies the
        signature); returns the first response."""
        server = Fido2Server(RP)
        options, state = server.authenticate_begin(creds, **kw)
        if extensions:
            options["publicKey"]["extensions"] = extensions
        resp = client.get_assertion(options["publicKey"], pin=pin).get_response(0)
        server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                     resp.authenticator_data, resp.signature)
        return resp


class ClientNoPin(Flow):

    def test_register_authenticate(self):
        """Register and authenticate (UP, no UV); a second registration of the same user
        on the same RP gives another credential, and each authenticates."""
        client = self.client()
        cred, result = self.register(client, {"id": b"u1", "name": "alice"})
        self.assertEqual(result.attestation_object.fmt, "packed")
        resp = self.authenticate(client, [cred])
        self.assertEqual(resp.authenticator_data.flags & (FLAG_UP | FLAG_UV), FLAG_UP)
        cred2, _ = self.register(client, {"id": b"u1", "name": "alice"})
        self.assertNotEqual(cred2.credential_id, cred.credential_id)
        self.assertEqual(self.authenticate(client, [cred2]).credential_id, cred2.credential_id)

    def test_hmac_secret(self):
        """hmacCreateSecret, then hmacGetSecret: 32-byte outputs, the same salt gives the
        same output on another connection, another salt another output; salt2 gives a
        second output."""
        client = self.client()
        cred, result = self.register(client, {"id": b"h", "name": "h"},
                                     extensions={"hmacCreateSecret": True})
        self.assertEqual(result.extension_results, {"hmacCreateSecret": True})
        salt, other = os.urandom(32), os.urandom(32)

        def secret(c, **salts):
            resp = self.authenticate(c, [cred], extensions={"hmacGetSecret": salts})
            return resp.extension_results["hmacGetSecret"]

        first = secret(client, salt1=salt)["output1"]
        self.assertEqual(len(first), 32)
        self.assertEqual(secret(self.client(), salt1=salt)["output1"], first)
        both = secret(client, salt1=other, salt2=salt)
        self.assertNotEqual(both["output1"], first)
        self.assertEqual(both["output2"], first)

    def test_cred_protect(self):
        """credProtect userVerificationRequired without a PIN: the credential is made
        (credProtect 3 in authData) but no assertion finds it without UV."""
        client = self.client()
        cred, result = self.register(
            client, {"id": b"p", "name": "p"}, resident_key=True,
            # python-fido2 0.9.1 takes the policy as its enum member, not as the string
            extensions={"credentialProtectionPolicy": CredProtectExtension.POLICY.REQUIRED})
        self.assertEqual(result.attestation_object.auth_data.extensions, {"credProtect": 3})
        with self.assertRaises(ClientError) as cm:
            self.authenticate(client, [cred])
        self.assertEqual(cm.exception.cause.code, ERR.NO_CREDENTIALS)


class ClientWithPin(Flow):

    def test_uv_register_authenticate(self):
        """With a PIN set through ClientPin: Fido2Client registers a discoverable credential
        with UV required (the PIN), authenticates with UV (flags UP|UV), and a discoverable
        lookup (no allow list) finds it; without the PIN the client refuses UV required."""
        ClientPin(Ctap2(self.device())).set_pin(PIN)
        client = self.client()
        cred, result = self.register(client, {"id": b"rk", "name": "rk"}, pin=PIN,
                                     resident_key=True, user_verification="required")
        self.assertTrue(result.attestation_object.auth_data.flags & FLAG_UV)
        resp = self.authenticate(client, [cred], pin=PIN, user_verification="required")
        self.assertEqual(resp.authenticator_data.flags & (FLAG_UP | FLAG_UV),
                         FLAG_UP | FLAG_UV)
        server = Fido2Server(RP)
        options, state = server.authenticate_begin(user_verification="required")
        sel = client.get_assertion(options["publicKey"], pin=PIN)
        resp = sel.get_response(0)
        self.assertEqual(resp.credential_id, cred.credential_id)
        self.assertEqual(resp.user_handle, b"rk")
        server.authenticate_complete(state, [cred], resp.credential_id, resp.client_data,
                                     resp.authenticator_data, resp.signature)
        with self.assertRaises(ClientError):
            self.authenticate(client, [cred], user_verification="required")


def token(cp, pin):
    """A PIN token with the cm permission (python-fido2 0.9.1's get_pin_token without
    permissions sends subcommand 09 without any, which the device refuses with
    MISSING_PARAMETER, as CTAP 2.1 says)."""
    return cp.get_pin_token(pin, PERM.CREDENTIAL_MGMT)


class PinLife(Flow):

    def test_set_change_wrong_to_blocked(self):
        """set_pin; change_pin (the old PIN stops working); wrong PINs: the third in a row
        answers PIN_AUTH_BLOCKED and even the right PIN is refused until a power cycle;
        the eighth wrong one answers PIN_BLOCKED, for good."""
        cp = ClientPin(Ctap2(self.device()))
        self.assertEqual(cp.get_pin_retries()[0], 8)
        cp.set_pin("1234")
        self.assertCtapError(ERR.NOT_ALLOWED, cp.set_pin, "5678")
        cp.change_pin("1234", PIN)
        self.assertCtapError(ERR.PIN_INVALID, token, cp, "1234")
        self.assertEqual(cp.get_pin_retries()[0], 7)
        token(cp, PIN)
        self.assertEqual(cp.get_pin_retries()[0], 8)
        retries = 8
        while retries:
            for i in range(3):
                retries -= 1
                if retries == 0:
                    self.assertCtapError(ERR.PIN_BLOCKED, token, cp, "0000")
                    break
                self.assertCtapError(ERR.PIN_AUTH_BLOCKED if i == 2 else ERR.PIN_INVALID,
                                     token, cp, "0000")
            self.assertEqual(cp.get_pin_retries()[0], retries)
            if retries:
                self.assertCtapError(ERR.PIN_AUTH_BLOCKED, token, cp, PIN)
                self.power_cycle()
                cp = ClientPin(Ctap2(self.device()))
        self.assertCtapError(ERR.PIN_BLOCKED, token, cp, PIN)
        self.power_cycle()
        cp = ClientPin(Ctap2(self.device()))
        self.assertCtapError(ERR.PIN_BLOCKED, cp.change_pin, PIN, "98765432")


class Management(Flow):
    """CredentialManagement, LargeBlobs and Config with PIN tokens over the socket."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        dev = fidohid.open_device(cls.rig)
        try:
            ClientPin(Ctap2(dev)).set_pin(PIN)
        finally:
            dev.close()

    def ctap(self):
        ctap = Ctap2(self.device())
        return ctap, ClientPin(ctap)

    def token(self, cp, perms, rp_id=None):
        return cp.get_pin_token(PIN, perms, rp_id)

    def make_rk(self, ctap, cp, rp_id, user_id, extensions=None):
        h = os.urandom(32)
        token = self.token(cp, PERM.MAKE_CREDENTIAL, rp_id)
        return ctap.make_credential(h, {"id": rp_id}, {"id": user_id, "name": "n"},
                                    [{"type": "public-key", "alg": -7}],
                                    extensions=extensions, options={"rk": True},
                                    pin_uv_param=cp.protocol.authenticate(token, h),
                                    pin_uv_protocol=cp.protocol.VERSION)

    def test_credential_management(self):
        """Metadata counts, RPs and credentials listed, one deleted (gone from the list,
        the count drops, its assertion finds nothing)."""
        ctap, cp = self.ctap()
        cm = CredentialManagement(ctap, cp.protocol, self.token(cp, PERM.CREDENTIAL_MGMT))
        before = cm.get_metadata()[CM.EXISTING_CRED_COUNT]
        atts = [self.make_rk(ctap, cp, rp, uid) for rp, uid in
                (("one.example", b"1"), ("one.example", b"2"), ("two.example", b"3"))]
        cm = CredentialManagement(ctap, cp.protocol, self.token(cp, PERM.CREDENTIAL_MGMT))
        self.assertEqual(cm.get_metadata()[CM.EXISTING_CRED_COUNT], before + 3)
        rps = {r[CM.RP]["id"] for r in cm.enumerate_rps()}
        self.assertLessEqual({"one.example", "two.example"}, rps)
        creds = cm.enumerate_creds(sha(b"one.example"))
        self.assertEqual(sorted(c[CM.USER]["id"] for c in creds), [b"1", b"2"])
        victim = atts[1].auth_data.credential_data.credential_id
        cm.delete_cred({"id": victim, "type": "public-key"})
        creds = cm.enumerate_creds(sha(b"one.example"))
        self.assertEqual([c[CM.CREDENTIAL_ID]["id"] for c in creds],
                         [atts[0].auth_data.credential_data.credential_id])
        self.assertEqual(cm.get_metadata()[CM.EXISTING_CRED_COUNT], before + 2)
        self.assertCtapError(ERR.NO_CREDENTIALS, ctap.get_assertion, "one.example",
                             os.urandom(32), [{"id": victim, "type": "public-key"}],
                             options={"up": False})

    def test_large_blobs(self):
        """A discoverable credential with largeBlobKey: put_blob with an lbw token, get_blob
        gives it back (no token needed to read), delete_blob empties it."""
        ctap, cp = self.ctap()
        att = self.make_rk(ctap, cp, "blob.example", b"b", {"largeBlobKey": True})
        key = att.large_blob_key
        self.assertEqual(len(key), 32)
        data = os.urandom(700)
        LargeBlobs(ctap, cp.protocol, self.token(cp, PERM.LARGE_BLOB_WRITE)).put_blob(key, data)
        self.assertEqual(LargeBlobs(ctap).get_blob(key), data)
        self.assertCtapError(ERR.PIN_REQUIRED, LargeBlobs(ctap).put_blob, key, b"x" * 20)
        LargeBlobs(ctap, cp.protocol, self.token(cp, PERM.LARGE_BLOB_WRITE)).delete_blob(key)
        self.assertIsNone(LargeBlobs(ctap).get_blob(key))

    def test_z_config(self):
        """toggle_always_uv flips getInfo's alwaysUv both ways; set_min_pin_length(8)
        shows in getInfo with forcePINChange (the PIN is shorter)."""
        ctap, cp = self.ctap()
        self.assertFalse(ctap.get_info().options["alwaysUv"])
        Config(ctap, cp.protocol, self.token(cp, PERM.AUTHENTICATOR_CFG)).toggle_always_uv()
        self.assertTrue(ctap.get_info().options["alwaysUv"])
        Config(ctap, cp.protocol, self.token(cp, PERM.AUTHENTICATOR_CFG)).toggle_always_uv()
        self.assertFalse(ctap.get_info().options["alwaysUv"])
        self.assertCtapError(ERR.PIN_REQUIRED, Config(ctap).toggle_always_uv)
        Config(ctap, cp.protocol, self.token(cp, PERM.AUTHENTICATOR_CFG)).set_min_pin_length(9)
        info = ctap.get_info()
        self.assertEqual(info.min_pin_length, 9)
        self.assertTrue(info.force_pin_change)


class U2f(Flow):
    """U2F raw messages inside CTAPHID MSG."""

    def test_u2f(self):
        u2f = Ctap1(self.device())
        self.assertEqual(u2f.get_version(), "U2F_V2")
        app, chal = sha(b"https://u2f.example"), os.urandom(32)
        reg = u2f.register(chal, app)
        reg.verify(app, chal)  # attestation signature with the certificate's key
        kh = reg.key_handle
        with self.assertRaises(ApduError) as cm:
            u2f.authenticate(chal, app, kh, check_only=True)
        self.assertEqual(cm.exception.code, APDU.USE_NOT_SATISFIED)
        sig = u2f.authenticate(chal, app, kh)
        sig.verify(app, chal, reg.public_key)
        self.assertEqual(sig.user_presence & 1, 1)
        self.rig.control("presence deny")
        try:
            with self.assertRaises(ApduError) as cm:
                u2f.authenticate(chal, app, kh)
            self.assertEqual(cm.exception.code, APDU.USE_NOT_SATISFIED)
            data = chal + app + bytes([len(kh)]) + kh
            sig2 = SignatureData(u2f.send_apdu(ins=Ctap1.INS.AUTHENTICATE, p1=0x08,
                                               data=data))
        finally:
            self.rig.control("presence auto")
        sig2.verify(app, chal, reg.public_key)
        self.assertEqual(sig2.user_presence & 1, 0)
        self.assertGreater(sig2.counter, sig.counter)
        for bad_app, bad_kh in ((sha(b"https://other.example"), kh),
                                (app, kh[:-1] + bytes([kh[-1] ^ 1]))):
            for check_only in (True, False):
                with self.assertRaises(ApduError) as cm:
                    u2f.authenticate(chal, bad_app, bad_kh, check_only=check_only)
                self.assertEqual(cm.exception.code, WRONG_DATA)


if __name__ == "__main__":
    fkit.main(__doc__)
