# SPDX-License-Identifier: Apache-2.0
"""FIDO2 credentials through python-fido2 0.9.1 over PC/SC (pcscd + vpcd + CtapPcscDevice).

- Fido2Client + Fido2Server register and authenticate (ES256, packed self attestation
  verified with the credential key); EdDSA and the algorithm choice through Ctap2.
- Discoverable credentials: found without allowList newest first, with numberOfCredentials
  and getNextAssertion; a second one for the same user replaces the first (whose id stops
  working); getInfo's remainingDiscoverableCredentials follows.
- Silent assertions (up = false) with UP clear; the signature counter strictly increases.
- Tampered, foreign-RP and made-up credential ids are refused; hostile CBOR gets precise
  statuses; excludeList; credProtect levels; credBlob, largeBlobKey; hmac-secret stable per
  credential.
- With a PIN set: Fido2Client registers and finds discoverable credentials with UV through
  the PIN; without it a discoverable credential needs a pinUvAuthToken (PUAT_REQUIRED), a
  non-discoverable one does not (makeCredUvNotRqd); the token gives UV, names in the user
  entity, access to credProtect 3; wrong, unpermitted or other-RP tokens are refused; the touch
  probe says PIN_INVALID; hmac-secret outputs differ with and without UV; alwaysUv asks for
  a token except for silent assertions.
- A full store of 128 discoverable credentials: KEY_STORE_FULL for a new user only.
"""

import hashlib
import os
import struct

import fidokit
import fkit
from fido2.client import Fido2Client
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin
from fido2.server import Fido2Server
from fidokit import EDDSA, ES256, PUBLIC_KEY, cdh, expect_ctap, descriptor, make_cred, rp_hash

ERR = CtapError.ERR
MC = Ctap2.CMD.MAKE_CREDENTIAL
GA = Ctap2.CMD.GET_ASSERTION
FLAG_UP, FLAG_UV, FLAG_AT, FLAG_ED = 0x01, 0x04, 0x40, 0x80
PUAT_REQUIRED = 0x36  # python-fido2 0.9.1 still calls it PIN_REQUIRED


def mc_args(**over):
    """A well-formed makeCredential map, with keys replaced or removed (value None)."""
    args = {1: cdh(), 2: {"id": "hostile.example"}, 3: {"id": b"u"},
            4: [{"type": PUBLIC_KEY, "alg": ES256}]}
    for k, v in over.items():
        k = int(k[1:])
        if v is None:
            args.pop(k, None)
        else:
            args[k] = v
    return args


class Credentials(fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ctap = fidokit.ctap2()

    def test_01_client_register_authenticate(self):
        """Fido2Client + Fido2Server: register (packed self attestation) and authenticate."""
        dev = fidokit.pcsc_device()
        client = Fido2Client(dev, "https://example.com")
        server = Fido2Server({"id": "example.com", "name": "Example"})
        user = {"id": b"user-client", "name": "alice"}
        options, state = server.register_begin(user)
        result = client.make_credential(options["publicKey"])
        auth_data = server.register_complete(state, result.client_data,
                                             result.attestation_object)
        att = result.attestation_object
        fidokit.check_attestation(self, att, result.client_data.hash)
        self.assertEqual(att.auth_data.credential_data.public_key[3], ES256)
        self.assertEqual(len(auth_data.credential_data.credential_id), 64)
        self.assertEqual(auth_data.credential_data.aaguid, Ctap2(dev).get_info().aaguid)
        creds = [auth_data.credential_data]
        options, state = server.authenticate_begin(creds)
        sel = client.get_assertion(options["publicKey"])
        resp = sel.get_response(0)
        server.authenticate_complete(state, creds, resp.credential_id, resp.client_data,
                                     resp.authenticator_data, resp.signature)
        self.assertTrue(resp.authenticator_data.flags & FLAG_UP)

    def test_02_eddsa_and_algorithm_choice(self):
        """EdDSA credentials sign verifiably; the first of our algorithms in the client's order
        wins; none of ours -> UNSUPPORTED_ALGORITHM; other types are skipped."""
        att, h = make_cred(self.ctap, alg=EDDSA, user_id=b"ed")
        key = fidokit.check_attestation(self, att, h)
        self.assertEqual(dict(key), {1: 1, 3: EDDSA, -1: 6, -2: key[-2]})
        cred_id = att.auth_data.credential_data.credential_id
        h2 = cdh()
        a = self.ctap.get_assertion("example.com", h2, [descriptor(cred_id)])
        a.verify(h2, key)
        for params, alg in (([-257, EDDSA, ES256], EDDSA), ([-257, ES256, EDDSA], ES256)):
            r = self.ctap.make_credential(cdh(), {"id": "example.com"}, {"id": b"x"},
                                          [{"type": PUBLIC_KEY, "alg": a} for a in params])
            self.assertEqual(r.auth_data.credential_data.public_key[3], alg)
        expect_ctap(self, ERR.UNSUPPORTED_ALGORITHM, self.ctap.make_credential, cdh(),
                   {"id": "example.com"}, {"id": b"x"},
                   [{"type": PUBLIC_KEY, "alg": -257}, {"type": "other", "alg": ES256}])

    def test_03_resident_newest_first(self):
        """Three discoverable credentials: newest first, numberOfCredentials 3,
        getNextAssertion twice, then NOT_ALLOWED; user ids without names (no UV)."""
        rp = "rk.example"
        keys = {}
        for i in range(3):
            att, h = make_cred(self.ctap, rp_id=rp, user_id=b"user-%d" % i, rk=True,
                               name="user %d" % i, display_name="User %d" % i)
            keys[b"user-%d" % i] = fidokit.check_attestation(self, att, h)
        h = cdh()
        first = self.ctap.get_assertion(rp, h)
        self.assertEqual(first.number_of_credentials, 3)
        got = [first] + [self.ctap.get_next_assertion() for _ in range(2)]
        self.assertEqual([a.user["id"] for a in got], [b"user-2", b"user-1", b"user-0"])
        for a in got:
            self.assertEqual(set(a.user), {"id"})
            a.verify(h, keys[a.user["id"]])
        expect_ctap(self, ERR.NOT_ALLOWED, self.ctap.get_next_assertion)
        # Another command in between ends the sequence.
        self.ctap.get_assertion(rp, cdh())
        self.ctap.get_info()
        expect_ctap(self, ERR.NOT_ALLOWED, self.ctap.get_next_assertion)

    def test_04_replace_same_user(self):
        """A second discoverable credential for the same RP and user id replaces the first."""
        rp = "replace.example"
        before = self.ctap.get_info().remaining_disc_creds
        old, _ = make_cred(self.ctap, rp_id=rp, user_id=b"same", rk=True)
        self.assertEqual(self.ctap.get_info().remaining_disc_creds, before - 1)
        new, _ = make_cred(self.ctap, rp_id=rp, user_id=b"same", rk=True, name="again")
        self.assertEqual(self.ctap.get_info().remaining_disc_creds, before - 1)
        a = self.ctap.get_assertion(rp, cdh())
        self.assertIsNone(a.number_of_credentials)
        self.assertEqual(a.credential["id"], new.auth_data.credential_data.credential_id)
        old_id = old.auth_data.credential_data.credential_id
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, rp, cdh(),
                   [descriptor(old_id)])

    def test_05_silent_assertion_and_counter(self):
        """up = false: UP clear, valid signature; the counter strictly increases over
        makeCredential and getAssertion."""
        att, _ = make_cred(self.ctap, user_id=b"silent")
        key = att.auth_data.credential_data.public_key
        cred_id = att.auth_data.credential_data.credential_id
        last = att.auth_data.counter
        for up in (False, True, False):
            h = cdh()
            a = self.ctap.get_assertion("example.com", h, [descriptor(cred_id)],
                                        options={"up": up})
            a.verify(h, key)
            self.assertEqual(bool(a.auth_data.flags & FLAG_UP), up)
            self.assertFalse(a.auth_data.flags & FLAG_UV)
            self.assertGreater(a.auth_data.counter, last)
            last = a.auth_data.counter
        att2, _ = make_cred(self.ctap, user_id=b"silent2")
        self.assertGreater(att2.auth_data.counter, last)

    def test_06_foreign_and_tampered_ids(self):
        """Credential ids of another RP, tampered ones, other lengths and made-up ones do not
        open (NO_CREDENTIALS); the allowList's first usable id is taken."""
        att, _ = make_cred(self.ctap, rp_id="a.example", user_id=b"t")
        cred_id = att.auth_data.credential_data.credential_id
        bad = [bytearray(cred_id) for _ in range(4)]
        bad[0][0] ^= 1      # version
        bad[1][5] ^= 1      # nonce
        bad[2][30] ^= 0x80  # ciphertext
        bad[3][63] ^= 1     # tag
        for b in [bytes(x) for x in bad] + [cred_id[:63], cred_id + b"\0", os.urandom(64)]:
            expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, "a.example", cdh(),
                       [descriptor(b)])
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, "b.example", cdh(),
                   [descriptor(cred_id)])
        a = self.ctap.get_assertion("a.example", cdh(),
                                    [descriptor(bytes(bad[2])), {"type": "other", "id": cred_id},
                                     descriptor(cred_id)])
        self.assertEqual(a.credential["id"], cred_id)

    def test_07_hostile_cbor(self):
        """Wrong types, missing keys, over-long lists and ids, bad options: precise statuses."""
        send = self.ctap.send_cbor
        cases = [
            (MC, mc_args(k1="text"), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k1=None), ERR.MISSING_PARAMETER),
            (MC, mc_args(k2=None), ERR.MISSING_PARAMETER),
            (MC, mc_args(k2={"name": "x"}), ERR.MISSING_PARAMETER),
            (MC, mc_args(k2={"id": 5}), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k3={"id": "text"}), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k3={"id": b"u" * 65}), ERR.LIMIT_EXCEEDED),
            (MC, mc_args(k3={"id": b"u", "name": 7}), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k4=None), ERR.MISSING_PARAMETER),
            (MC, mc_args(k4={"alg": ES256}), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k4=[ES256]), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k4=[{"type": PUBLIC_KEY}]), ERR.MISSING_PARAMETER),
            (MC, mc_args(k4=[{"type": PUBLIC_KEY, "alg": "ES256"}]), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k5=[{"type": PUBLIC_KEY, "id": os.urandom(64)}] * 17),
             ERR.LIMIT_EXCEEDED),
            (MC, mc_args(k5=[{"type": PUBLIC_KEY}]), ERR.MISSING_PARAMETER),
            (MC, mc_args(k6=[]), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k6={"credProtect": 4}), ERR.INVALID_OPTION),
            (MC, mc_args(k6={"credProtect": "high"}), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k6={"largeBlobKey": True}), ERR.INVALID_OPTION),
            (MC, mc_args(k7={"rk": 1}), ERR.CBOR_UNEXPECTED_TYPE),
            (MC, mc_args(k7={"up": False}), ERR.INVALID_OPTION),
            (MC, mc_args(k7={"uv": True}), ERR.INVALID_OPTION),
            (MC, mc_args(k8=b"\1" * 16), ERR.MISSING_PARAMETER),
            (MC, mc_args(k8=b"\1" * 16, k9=3), ERR.INVALID_PARAMETER),
            (MC, mc_args(k10=1), ERR.INVALID_PARAMETER),
            (MC, None, ERR.MISSING_PARAMETER),
            (GA, {2: cdh()}, ERR.MISSING_PARAMETER),
            (GA, {1: "example.com"}, ERR.MISSING_PARAMETER),
            (GA, {1: b"example.com", 2: cdh()}, ERR.CBOR_UNEXPECTED_TYPE),
            (GA, {1: "example.com", 2: cdh(), 3: [{"type": PUBLIC_KEY, "id": os.urandom(64)}] * 17},
             ERR.LIMIT_EXCEEDED),
            (GA, {1: "example.com", 2: cdh(), 3: [{"id": b"x"}]}, ERR.MISSING_PARAMETER),
            (GA, {1: "example.com", 2: cdh(), 3: [{"type": PUBLIC_KEY, "id": "x"}]},
             ERR.CBOR_UNEXPECTED_TYPE),
            (GA, {1: "example.com", 2: cdh(), 5: {"rk": True}}, ERR.UNSUPPORTED_OPTION),
            (GA, {1: "example.com", 2: cdh(), 5: {"up": "no"}}, ERR.CBOR_UNEXPECTED_TYPE),
            (GA, {1: "example.com", 2: cdh(), 4: {"largeBlobKey": False}}, ERR.INVALID_OPTION),
        ]
        for cmd, args, code in cases:
            with self.subTest(cmd=cmd, args=args):
                expect_ctap(self, code, send, cmd, args)
        # Nothing was made by the refused requests.
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, "hostile.example", cdh())

    def test_08_touch_probe(self):
        """A zero-length pinUvAuthParam asks for presence, then says no PIN is set."""
        expect_ctap(self, ERR.PIN_NOT_SET, self.ctap.send_cbor, MC, mc_args(k8=b"", k9=1))
        expect_ctap(self, ERR.PIN_NOT_SET, self.ctap.send_cbor, GA,
                   {1: "example.com", 2: cdh(), 6: b"", 7: 1})

    def test_09_exclude_list(self):
        """An excluded credential of this RP -> CREDENTIAL_EXCLUDED; of another RP, or
        tampered, it does not count."""
        att, _ = make_cred(self.ctap, rp_id="ex.example", user_id=b"ex")
        cred_id = att.auth_data.credential_data.credential_id
        expect_ctap(self, ERR.CREDENTIAL_EXCLUDED, make_cred, self.ctap, rp_id="ex.example",
                   exclude=[descriptor(os.urandom(64)), descriptor(cred_id)])
        make_cred(self.ctap, rp_id="other.example", exclude=[descriptor(cred_id)])
        make_cred(self.ctap, rp_id="ex.example", exclude=[descriptor(cred_id[:-1] + b"\0")])

    def test_10_cred_protect(self):
        """credProtect 2 hides a discoverable credential from a lookup without allowList;
        3 also from allowList and excludeList without UV; the level is echoed."""
        rp = "protect.example"
        creds = {}
        for level in (1, 2, 3):
            att, _ = make_cred(self.ctap, rp_id=rp, user_id=b"p%d" % level, rk=True,
                               extensions={"credProtect": level})
            self.assertEqual(att.auth_data.extensions, {"credProtect": level})
            self.assertTrue(att.auth_data.flags & FLAG_ED)
            creds[level] = att.auth_data.credential_data.credential_id
        a = self.ctap.get_assertion(rp, cdh())
        self.assertIsNone(a.number_of_credentials)
        self.assertEqual(a.user["id"], b"p1")
        a = self.ctap.get_assertion(rp, cdh(), [descriptor(creds[2])])
        self.assertEqual(a.credential["id"], creds[2])
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, rp, cdh(),
                   [descriptor(creds[3])])
        make_cred(self.ctap, rp_id=rp, user_id=b"new", exclude=[descriptor(creds[3])])
        expect_ctap(self, ERR.CREDENTIAL_EXCLUDED, make_cred, self.ctap, rp_id=rp,
                   exclude=[descriptor(creds[2])])

    def test_11_cred_blob(self):
        """credBlob is kept for a discoverable credential (<= 32 bytes) and read back."""
        blob = os.urandom(32)
        att, _ = make_cred(self.ctap, rp_id="blob.example", user_id=b"b", rk=True,
                           extensions={"credBlob": blob})
        self.assertEqual(att.auth_data.extensions, {"credBlob": True})
        a = self.ctap.get_assertion("blob.example", cdh(), extensions={"credBlob": True})
        self.assertEqual(a.auth_data.extensions, {"credBlob": blob})
        att, _ = make_cred(self.ctap, rp_id="blob.example", user_id=b"c", rk=True,
                           extensions={"credBlob": os.urandom(33)})
        self.assertEqual(att.auth_data.extensions, {"credBlob": False})
        att, _ = make_cred(self.ctap, rp_id="blob.example", user_id=b"d",
                           extensions={"credBlob": blob})
        self.assertEqual(att.auth_data.extensions, {"credBlob": False})
        a = self.ctap.get_assertion("blob.example", cdh(),
                                    [descriptor(att.auth_data.credential_data.credential_id)],
                                    extensions={"credBlob": True})
        self.assertEqual(a.auth_data.extensions, {"credBlob": b""})

    def test_12_large_blob_key(self):
        """largeBlobKey: 32 bytes in the makeCredential response, the same in getAssertion;
        only for discoverable credentials."""
        att, _ = make_cred(self.ctap, rp_id="lbk.example", user_id=b"l", rk=True,
                           extensions={"largeBlobKey": True})
        self.assertEqual(len(att.large_blob_key), 32)
        self.assertIsNone(att.auth_data.extensions)
        a = self.ctap.get_assertion("lbk.example", cdh(), extensions={"largeBlobKey": True})
        self.assertEqual(a.large_blob_key, att.large_blob_key)
        a = self.ctap.get_assertion("lbk.example", cdh())
        self.assertIsNone(a.large_blob_key)
        att2, _ = make_cred(self.ctap, rp_id="lbk.example", user_id=b"m", rk=True,
                            extensions={"largeBlobKey": True})
        self.assertNotEqual(att2.large_blob_key, att.large_blob_key)
        expect_ctap(self, ERR.INVALID_OPTION, make_cred, self.ctap, rp_id="lbk.example",
                   extensions={"largeBlobKey": True})

    def test_13_hmac_secret(self):
        """hmac-secret: echoed at makeCredential; the same salt gives the same output for one
        credential and another for another credential; two salts give two outputs."""
        client_pin = ClientPin(self.ctap)
        outs = []
        for user in (b"h1", b"h2"):
            att, _ = make_cred(self.ctap, rp_id="hmac.example", user_id=user,
                               extensions={"hmac-secret": True})
            self.assertEqual(att.auth_data.extensions, {"hmac-secret": True})
            cred_id = att.auth_data.credential_data.credential_id
            salt = hashlib.sha256(b"salt").digest()
            got = []
            for s in (salt, salt, salt + os.urandom(32)):
                ext, shared = fidokit.hmac_secret_input(client_pin, s)
                a = self.ctap.get_assertion("hmac.example", cdh(), [descriptor(cred_id)],
                                            extensions=ext)
                self.assertTrue(a.auth_data.flags & FLAG_ED)
                got.append(client_pin.protocol.decrypt(shared, a.auth_data.extensions["hmac-secret"]))
            self.assertEqual(got[0], got[1])
            self.assertEqual(len(got[0]), 32)
            self.assertEqual(got[2][:32], got[0])
            self.assertEqual(len(got[2]), 64)
            outs.append(got[0])
        self.assertNotEqual(outs[0], outs[1])

    def test_13b_hmac_secret_next_assertions(self):
        """hmac-secret and credBlob over getNextAssertion: each discoverable credential gets
        its own output, the same as when it is asked for alone."""
        client_pin = ClientPin(self.ctap)
        rp = "hmacrk.example"
        ids = []
        for user in (b"k1", b"k2", b"k3"):
            att, _ = make_cred(self.ctap, rp_id=rp, user_id=user, rk=True,
                               extensions={"hmac-secret": True, "credBlob": user})
            ids.append(att.auth_data.credential_data.credential_id)
        salt = os.urandom(64)
        ext, shared = fidokit.hmac_secret_input(client_pin, salt)
        ext["credBlob"] = True
        first = self.ctap.get_assertion(rp, cdh(), extensions=ext)
        self.assertEqual(first.number_of_credentials, 3)
        got = [first] + [self.ctap.get_next_assertion() for _ in range(2)]
        self.assertEqual([a.credential["id"] for a in got], ids[::-1])
        for a in got:
            out = client_pin.protocol.decrypt(shared, a.auth_data.extensions["hmac-secret"])
            self.assertEqual(a.auth_data.extensions["credBlob"], a.user["id"])
            ext1, shared1 = fidokit.hmac_secret_input(client_pin, salt)
            alone = self.ctap.get_assertion(rp, cdh(), [descriptor(a.credential["id"])],
                                            extensions=ext1)
            self.assertIsNone(alone.number_of_credentials)
            self.assertEqual(
                client_pin.protocol.decrypt(shared1, alone.auth_data.extensions["hmac-secret"]),
                out)

    def test_14_get_next_without_get_assertion(self):
        expect_ctap(self, ERR.NOT_ALLOWED, self.ctap.get_next_assertion)

    def test_15_counter_in_authdata(self):
        """The 4-byte counter is big-endian and the same value the flags/counter parse gives."""
        att, _ = make_cred(self.ctap, user_id=b"c")
        raw = bytes(att.auth_data)
        self.assertEqual(struct.unpack(">I", raw[33:37])[0], att.auth_data.counter)
        self.assertEqual(raw[:32], rp_hash("example.com"))
        self.assertEqual(raw[32] & (FLAG_UP | FLAG_AT), FLAG_UP | FLAG_AT)


class WithPin(fkit.RigTest):
    """The same flows with a clientPIN set (fido_pin.c's tokens)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ctap, cls.cp = fidokit.ctap2_with_pin()

    def token(self, rp_id,
              perms=ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION):
        """A token for rp_id (mc and ga permissions need an RP id)."""
        return fidokit.pin_token(self.cp, perms, rp_id)

    def auth(self, token, h):
        return {"pin_uv_param": fidokit.pin_uv_param(self.cp, token, h),
                "pin_uv_protocol": self.cp.protocol.VERSION}

    def test_00_client_with_pin(self):
        """Fido2Client with the PIN: a discoverable credential with UV required, found
        without allowList (two of them, via getNextAssertion), verified by Fido2Server."""
        dev = fidokit.pcsc_device()
        client = Fido2Client(dev, "https://client.example")
        server = Fido2Server({"id": "client.example", "name": "Client"})
        creds = []
        for name in ("carol", "dave"):
            options, state = server.register_begin({"id": name.encode(), "name": name},
                                                   resident_key=True,
                                                   user_verification="required")
            result = client.make_credential(options["publicKey"], pin=fidokit.TEST_PIN)
            auth_data = server.register_complete(state, result.client_data,
                                                 result.attestation_object)
            self.assertTrue(auth_data.flags & FLAG_UV)
            creds.append(auth_data.credential_data)
        options, state = server.authenticate_begin(user_verification="required")
        sel = client.get_assertion(options["publicKey"], pin=fidokit.TEST_PIN)
        responses = [sel.get_response(i) for i in range(len(sel.get_assertions()))]
        self.assertEqual([r.user_handle for r in responses], [b"dave", b"carol"])
        for r in responses:
            server.authenticate_complete(state, creds, r.credential_id, r.client_data,
                                         r.authenticator_data, r.signature)
            self.assertTrue(r.authenticator_data.flags & FLAG_UV)

    def test_01_rk_needs_token(self):
        """PIN set: rk without token -> PUAT_REQUIRED; non-rk without token works without UV."""
        expect_ctap(self, PUAT_REQUIRED, make_cred, self.ctap, rp_id="pin.example", rk=True)
        att, _ = make_cred(self.ctap, rp_id="pin.example")
        self.assertFalse(att.auth_data.flags & FLAG_UV)
        expect_ctap(self, ERR.PIN_INVALID, self.ctap.send_cbor, MC, mc_args(k8=b"", k9=1))

    def test_02_uv_with_token(self):
        """A token gives UV at makeCredential and getAssertion, and the names come back."""
        h = cdh()
        att, _ = make_cred(self.ctap, rp_id="uv.example", user_id=b"uv", rk=True, name="bob",
                           display_name="Bob B", client_data_hash=h,
                           **self.auth(self.token("uv.example"), h))
        self.assertTrue(att.auth_data.flags & FLAG_UV)
        key = fidokit.check_attestation(self, att, h)
        h = cdh()
        a = self.ctap.get_assertion("uv.example", h, **self.auth(self.token("uv.example"), h))
        a.verify(h, key)
        self.assertTrue(a.auth_data.flags & FLAG_UV)
        self.assertEqual(a.user, {"id": b"uv", "name": "bob", "displayName": "Bob B"})
        a = self.ctap.get_assertion("uv.example", cdh())
        self.assertFalse(a.auth_data.flags & FLAG_UV)
        self.assertEqual(a.user, {"id": b"uv"})

    def test_03_bad_tokens(self):
        """A wrong pinUvAuthParam, a token without mc permission, a token bound to another RP:
        PIN_AUTH_INVALID, and nothing is made."""
        h = cdh()
        bad = dict(self.auth(self.token("bad.example"), h))
        bad["pin_uv_param"] = bytes(len(bad["pin_uv_param"]))
        expect_ctap(self, ERR.PIN_AUTH_INVALID, make_cred, self.ctap, rp_id="bad.example",
                    rk=True, client_data_hash=h, **bad)
        ga_only = self.token("bad.example", ClientPin.PERMISSION.GET_ASSERTION)
        expect_ctap(self, ERR.PIN_AUTH_INVALID, make_cred, self.ctap, rp_id="bad.example",
                    rk=True, client_data_hash=h, **self.auth(ga_only, h))
        other = self.token("other.example", ClientPin.PERMISSION.MAKE_CREDENTIAL)
        expect_ctap(self, ERR.PIN_AUTH_INVALID, make_cred, self.ctap, rp_id="bad.example",
                    rk=True, client_data_hash=h, **self.auth(other, h))
        h = cdh()
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, "bad.example", h,
                    **self.auth(self.token("bad.example"), h))

    def test_04_cred_protect_3_with_uv(self):
        """credProtect 3 is found, and excludes, only with UV."""
        rp = "cp3.example"
        h = cdh()
        att, _ = make_cred(self.ctap, rp_id=rp, user_id=b"c3", rk=True,
                           extensions={"credProtect": 3}, client_data_hash=h,
                           **self.auth(self.token(rp), h))
        cred_id = att.auth_data.credential_data.credential_id
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, rp, cdh())
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, rp, cdh(),
                    [descriptor(cred_id)])
        h = cdh()
        a = self.ctap.get_assertion(rp, h, **self.auth(self.token(rp), h))
        self.assertEqual(a.credential["id"], cred_id)
        h = cdh()
        a = self.ctap.get_assertion(rp, h, [descriptor(cred_id)], **self.auth(self.token(rp), h))
        self.assertEqual(a.credential["id"], cred_id)
        make_cred(self.ctap, rp_id=rp, exclude=[descriptor(cred_id)])
        h = cdh()
        expect_ctap(self, ERR.CREDENTIAL_EXCLUDED, make_cred, self.ctap, rp_id=rp,
                    exclude=[descriptor(cred_id)], client_data_hash=h,
                    **self.auth(self.token(rp), h))

    def test_05_hmac_secret_uv(self):
        """hmac-secret: one output without UV, another with UV, each stable."""
        att, _ = make_cred(self.ctap, rp_id="hmacuv.example", extensions={"hmac-secret": True})
        cred_id = att.auth_data.credential_data.credential_id
        salt = os.urandom(32)
        outs = []
        for uv in (False, True, False, True):
            ext, shared = fidokit.hmac_secret_input(self.cp, salt)
            h = cdh()
            kw = self.auth(self.token("hmacuv.example"), h) if uv else {}
            a = self.ctap.get_assertion("hmacuv.example", h, [descriptor(cred_id)],
                                        extensions=ext, **kw)
            self.assertEqual(bool(a.auth_data.flags & FLAG_UV), uv)
            outs.append(self.cp.protocol.decrypt(shared, a.auth_data.extensions["hmac-secret"]))
        self.assertEqual(outs[0], outs[2])
        self.assertEqual(outs[1], outs[3])
        self.assertNotEqual(outs[0], outs[1])

    def test_06_always_uv(self):
        """alwaysUv: no credential and no assertion with presence without a token (not even
        makeCredUvNotRqd's), silent assertions still work; off again, as before."""
        from fido2.ctap2.config import Config
        att, _ = make_cred(self.ctap, rp_id="auv.example")
        cred_id = att.auth_data.credential_data.credential_id

        def toggle():
            token = fidokit.pin_token(self.cp, ClientPin.PERMISSION.AUTHENTICATOR_CFG)
            Config(self.ctap, self.cp.protocol, token).toggle_always_uv()

        toggle()
        try:
            self.assertTrue(self.ctap.get_info().options["alwaysUv"])
            expect_ctap(self, PUAT_REQUIRED, make_cred, self.ctap, rp_id="auv.example")
            expect_ctap(self, PUAT_REQUIRED, self.ctap.get_assertion, "auv.example", cdh(),
                        [descriptor(cred_id)])
            a = self.ctap.get_assertion("auv.example", cdh(), [descriptor(cred_id)],
                                        options={"up": False})
            self.assertFalse(a.auth_data.flags & (FLAG_UP | FLAG_UV))
            h = cdh()
            att, _ = make_cred(self.ctap, rp_id="auv.example", client_data_hash=h,
                               **self.auth(self.token("auv.example"), h))
            self.assertTrue(att.auth_data.flags & FLAG_UV)
        finally:
            toggle()
        self.assertFalse(self.ctap.get_info().options["alwaysUv"])
        make_cred(self.ctap, rp_id="auv.example")


class FullStore(fkit.RigTest):
    """All 128 slots of discoverable credentials in use."""

    def test_key_store_full(self):
        """The 129th user -> KEY_STORE_FULL; replacing a user and non-discoverable credentials
        still work; a lookup returns the newest 16 (getNextAssertion's limit)."""
        ctap = fidokit.ctap2()
        n = ctap.get_info().remaining_disc_creds
        self.assertEqual(n, 128)
        for i in range(n):
            make_cred(ctap, rp_id="full.example", user_id=b"%d" % i, rk=True)
        self.assertEqual(ctap.get_info().remaining_disc_creds, 0)
        expect_ctap(self, ERR.KEY_STORE_FULL, make_cred, ctap, rp_id="full.example",
                    user_id=b"new", rk=True)
        expect_ctap(self, ERR.KEY_STORE_FULL, make_cred, ctap, rp_id="other.example",
                    user_id=b"new", rk=True)
        make_cred(ctap, rp_id="full.example", user_id=b"5", rk=True)
        make_cred(ctap, rp_id="full.example", user_id=b"new")
        first = ctap.get_assertion("full.example", cdh())
        self.assertEqual(first.number_of_credentials, 16)
        got = [first] + [ctap.get_next_assertion() for _ in range(15)]
        self.assertEqual([a.user["id"] for a in got],
                         [b"5"] + [b"%d" % i for i in range(127, 112, -1)])
        expect_ctap(self, ERR.NOT_ALLOWED, ctap.get_next_assertion)


if __name__ == "__main__":
    fkit.main("FIDO2 credentials over PC/SC with python-fido2")
