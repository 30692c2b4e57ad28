# SPDX-License-Identifier: Apache-2.0
"""FIDO2 credentialManagement through python-fido2 0.9.1's CredentialManagement over PC/SC.

- getCredsMetadata counts discoverable credentials and free slots (as getInfo does).
- enumerateRPs lists each RP once with its id and id hash; enumerateCredentials lists an
  RP's credentials with user, credential id, the public key that verifies its assertions,
  credProtect and largeBlobKey.
- deleteCredential removes one (its id stops working, the counts follow);
  updateUserInformation changes name and displayName (seen by a UV assertion), refuses
  another user id.
- Without pinUvAuthParam -> PUAT_REQUIRED; a "next" without "begin", or after another
  command -> NOT_ALLOWED; a token without cm permission, or with a wrong param ->
  PIN_AUTH_INVALID; a token bound to an RP reaches only that RP's credentials; the preview
  command 41 answers like 0A.
"""

import os

import fidokit
import fkit
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin
from fidokit import cdh, descriptor, expect_ctap, make_cred, rp_hash

ERR = CtapError.ERR
CM = CredentialManagement
R = CredentialManagement.RESULT
PUAT_REQUIRED = 0x36  # python-fido2 0.9.1 still calls it PIN_REQUIRED
PERM = ClientPin.PERMISSION


class CredMgmt(fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ctap, cls.cp = fidokit.ctap2_with_pin()

    def cm(self, perms=PERM.CREDENTIAL_MGMT, rp_id=None):
        token = fidokit.pin_token(self.cp, perms, rp_id)
        return CredentialManagement(self.ctap, self.cp.protocol, token)

    def make_rk(self, rp_id, user_id, **kw):
        h = cdh()
        token = fidokit.pin_token(self.cp, PERM.MAKE_CREDENTIAL, rp_id)
        att, _ = make_cred(self.ctap, rp_id=rp_id, user_id=user_id, rk=True, client_data_hash=h,
                           pin_uv_param=fidokit.pin_uv_param(self.cp, token, h),
                           pin_uv_protocol=self.cp.protocol.VERSION, **kw)
        return att

    def test_01_empty(self):
        """No credentials: metadata 0 / 128, enumerateRPs -> NO_CREDENTIALS."""
        cm = self.cm()
        meta = cm.get_metadata()
        self.assertEqual(meta, {R.EXISTING_CRED_COUNT: 0, R.MAX_REMAINING_COUNT: 128})
        expect_ctap(self, ERR.NO_CREDENTIALS, cm.enumerate_rps_begin)
        self.assertEqual(cm.enumerate_creds(rp_hash("none.example")), [])

    def test_02_list_delete_update(self):
        """List RPs and credentials, delete one, update another's user information."""
        a1 = self.make_rk("one.example", b"u1", name="u one", display_name="U One",
                          extensions={"credProtect": 2, "largeBlobKey": True})
        a2 = self.make_rk("one.example", b"u2", name="u two")
        a3 = self.make_rk("two.example", b"u3")
        cm = self.cm()
        self.assertEqual(cm.get_metadata()[R.EXISTING_CRED_COUNT], 3)
        self.assertEqual(cm.get_metadata()[R.MAX_REMAINING_COUNT],
                         self.ctap.get_info().remaining_disc_creds)
        rps = cm.enumerate_rps()
        self.assertEqual(sorted(r[R.RP]["id"] for r in rps), ["one.example", "two.example"])
        for r in rps:
            self.assertEqual(r[R.RP_ID_HASH], rp_hash(r[R.RP]["id"]))
        self.assertEqual(rps[0][R.TOTAL_RPS], 2)
        creds = cm.enumerate_creds(rp_hash("one.example"))
        self.assertEqual(len(creds), 2)
        self.assertEqual(creds[0][R.TOTAL_CREDENTIALS], 2)
        by_user = {c[R.USER]["id"]: c for c in creds}
        c1 = by_user[b"u1"]
        self.assertEqual(c1[R.USER], {"id": b"u1", "name": "u one", "displayName": "U One"})
        self.assertEqual(c1[R.CREDENTIAL_ID],
                         {"id": a1.auth_data.credential_data.credential_id, "type": "public-key"})
        self.assertEqual(c1[R.PUBLIC_KEY], dict(a1.auth_data.credential_data.public_key))
        self.assertEqual(c1[R.CRED_PROTECT], 2)
        self.assertEqual(c1[R.LARGE_BLOB_KEY], a1.large_blob_key)
        self.assertEqual(by_user[b"u2"][R.CRED_PROTECT], 1)
        self.assertNotIn(R.LARGE_BLOB_KEY, by_user[b"u2"])
        self.assertEqual(by_user[b"u2"][R.PUBLIC_KEY],
                         dict(a2.auth_data.credential_data.public_key))

        # Delete u2: gone from the lists and from getAssertion.
        cm.delete_cred(by_user[b"u2"][R.CREDENTIAL_ID])
        self.assertEqual([c[R.USER]["id"] for c in cm.enumerate_creds(rp_hash("one.example"))],
                         [b"u1"])
        self.assertEqual(cm.get_metadata()[R.EXISTING_CRED_COUNT], 2)
        expect_ctap(self, ERR.NO_CREDENTIALS, self.ctap.get_assertion, "one.example", cdh(),
                    [descriptor(a2.auth_data.credential_data.credential_id)])
        expect_ctap(self, ERR.NO_CREDENTIALS, cm.delete_cred, by_user[b"u2"][R.CREDENTIAL_ID])

        # Update u3's user information; another user id is refused.
        cid3 = {"id": a3.auth_data.credential_data.credential_id, "type": "public-key"}
        cm.update_user_info(cid3, {"id": b"u3", "name": "new name", "displayName": "New"})
        expect_ctap(self, ERR.INVALID_PARAMETER, cm.update_user_info, cid3,
                    {"id": b"other", "name": "x"})
        got = cm.enumerate_creds(rp_hash("two.example"))
        self.assertEqual(got[0][R.USER], {"id": b"u3", "name": "new name", "displayName": "New"})
        h = cdh()
        token = fidokit.pin_token(self.cp, PERM.GET_ASSERTION, "two.example")
        a = self.ctap.get_assertion("two.example", h,
                                    pin_uv_param=fidokit.pin_uv_param(self.cp, token, h),
                                    pin_uv_protocol=self.cp.protocol.VERSION)
        self.assertEqual(a.user, {"id": b"u3", "name": "new name", "displayName": "New"})
        a.verify(h, a3.auth_data.credential_data.public_key)
        cm = self.cm()  # the getAssertion token replaced the earlier one
        cm.update_user_info(cid3, {"id": b"u3"})
        self.assertEqual(cm.enumerate_creds(rp_hash("two.example"))[0][R.USER], {"id": b"u3"})

    def test_03_refusals(self):
        """PUAT_REQUIRED, NOT_ALLOWED for a next without begin, PIN_AUTH_INVALID for a token
        without cm or a wrong param, INVALID_SUBCOMMAND."""
        self.make_rk("three.example", b"r1")
        self.make_rk("three.example", b"r2")
        expect_ctap(self, PUAT_REQUIRED, self.ctap.credential_mgmt, CM.CMD.GET_CREDS_METADATA)
        expect_ctap(self, ERR.NOT_ALLOWED, self.ctap.credential_mgmt, CM.CMD.ENUMERATE_RPS_NEXT)
        expect_ctap(self, ERR.NOT_ALLOWED, self.ctap.credential_mgmt, CM.CMD.ENUMERATE_CREDS_NEXT)
        cm = self.cm()
        cm.enumerate_creds_begin(rp_hash("three.example"))
        self.ctap.get_info()
        expect_ctap(self, ERR.NOT_ALLOWED, cm.enumerate_creds_next)
        cm.enumerate_creds_begin(rp_hash("three.example"))
        expect_ctap(self, ERR.NOT_ALLOWED, cm.enumerate_rps_next)
        no_cm = self.cm(PERM.GET_ASSERTION, "three.example")
        expect_ctap(self, ERR.PIN_AUTH_INVALID, no_cm.get_metadata)
        wrong = CredentialManagement(self.ctap, self.cp.protocol, os.urandom(32))
        expect_ctap(self, ERR.PIN_AUTH_INVALID, wrong.get_metadata)
        token = fidokit.pin_token(self.cp, PERM.CREDENTIAL_MGMT)
        param = self.cp.protocol.authenticate(token, b"\x09")
        expect_ctap(self, ERR.INVALID_SUBCOMMAND, self.ctap.credential_mgmt, 9, None,
                    self.cp.protocol.VERSION, param)

    def test_04_rp_bound_token(self):
        """A token bound to an RP lists and changes only that RP's credentials."""
        a = self.make_rk("bound.example", b"b1")
        b = self.make_rk("unbound.example", b"b2")
        cm = self.cm(PERM.CREDENTIAL_MGMT, "bound.example")
        self.assertEqual(len(cm.enumerate_creds(rp_hash("bound.example"))), 1)
        expect_ctap(self, ERR.PIN_AUTH_INVALID, cm.enumerate_creds_begin,
                    rp_hash("unbound.example"))
        expect_ctap(self, ERR.PIN_AUTH_INVALID, cm.enumerate_rps_begin)
        expect_ctap(self, ERR.PIN_AUTH_INVALID, cm.delete_cred,
                    {"id": b.auth_data.credential_data.credential_id, "type": "public-key"})
        cm.delete_cred({"id": a.auth_data.credential_data.credential_id, "type": "public-key"})
        # An unbound token stays unbound after it listed one RP.
        cm = self.cm()
        cm.enumerate_creds(rp_hash("unbound.example"))
        self.assertGreaterEqual(len(cm.enumerate_rps()), 1)

    def test_05_preview_command(self):
        """credentialManagement preview (41) is the same command."""
        token = fidokit.pin_token(self.cp, PERM.CREDENTIAL_MGMT)
        param = self.cp.protocol.authenticate(token, b"\x01")
        got = self.ctap.send_cbor(0x41, {1: 1, 3: self.cp.protocol.VERSION, 4: param})
        self.assertEqual(set(got), {1, 2})
        self.assertEqual(got[1] + got[2], 128)


if __name__ == "__main__":
    fkit.main("FIDO2 credentialManagement over PC/SC with python-fido2")
