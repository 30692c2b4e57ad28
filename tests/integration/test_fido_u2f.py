# SPDX-License-Identifier: Apache-2.0
"""U2F of the FIDO applet through python-fido2's Ctap1 over PC/SC, and the attestation
certificate it sends: REGISTER and AUTHENTICATE with signatures that verify, the
check-only and don't-enforce variants, key handles bound to their application, the
same credentials through CTAP2 and U2F, U2F gone under alwaysUv, the status words of
malformed commands, and the certificate as python's cryptography parses it."""

import hashlib
import os

import fkit
import fidokit
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from fido2.cose import ES256
from fido2.ctap1 import ApduError, Ctap1
from fido2.ctap2.config import Config

AAGUID_OID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
SW_CONDITIONS = 0x6985
SW_WRONG_DATA = 0x6A80
SW_WRONG_LENGTH = 0x6700
SW_INS = 0x6D00
SW_P1P2 = 0x6A86


def sha(data):
    return hashlib.sha256(data).digest()


def apdu_error(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ApduError as e:
        return e.code
    raise AssertionError("the command succeeded; a status word was expected")


class U2f(fkit.RigTest):

    def test_register_authenticate(self):
        ctap = fidokit.ctap2()
        u2f = Ctap1(ctap.device)
        self.assertEqual(u2f.get_version(), "U2F_V2")
        app, chal = sha(b"https://u2f.example.com"), os.urandom(32)
        reg = u2f.register(chal, app)
        reg.verify(app, chal)  # the attestation signature, with the certificate's key
        self.assertEqual(len(reg.key_handle), 64)
        counters = []
        for _ in range(3):
            chal = os.urandom(32)
            sig = u2f.authenticate(chal, app, reg.key_handle)
            sig.verify(app, chal, reg.public_key)
            self.assertEqual(sig.user_presence & 1, 1)
            counters.append(sig.counter)
        self.assertEqual(counters, sorted(set(counters)))
        # Check-only: 6985 for our handle, 6A80 for another application's or a stranger's.
        self.assertEqual(apdu_error(u2f.authenticate, chal, app, reg.key_handle, True),
                         SW_CONDITIONS)
        other = sha(b"https://other.example.com")
        self.assertEqual(apdu_error(u2f.authenticate, chal, other, reg.key_handle, True),
                         SW_WRONG_DATA)
        self.assertEqual(apdu_error(u2f.authenticate, chal, other, reg.key_handle),
                         SW_WRONG_DATA)
        bad = bytes([reg.key_handle[0] ^ 1]) + reg.key_handle[1:]
        self.assertEqual(apdu_error(u2f.authenticate, chal, app, bad), SW_WRONG_DATA)
        # Don't enforce presence (P1 08): signed with the UP flag clear.
        data = chal + app + bytes([len(reg.key_handle)]) + reg.key_handle
        from fido2.ctap1 import SignatureData
        sig = SignatureData(u2f.send_apdu(ins=Ctap1.INS.AUTHENTICATE, p1=0x08, data=data))
        sig.verify(app, chal, reg.public_key)
        self.assertEqual(sig.user_presence & 1, 0)
        self.assertGreater(sig.counter, counters[-1])
        # Malformed commands.
        self.assertEqual(apdu_error(u2f.send_apdu, ins=Ctap1.INS.REGISTER, data=chal + app[:31]),
                         SW_WRONG_LENGTH)
        self.assertEqual(apdu_error(u2f.send_apdu, ins=Ctap1.INS.AUTHENTICATE, p1=0x03,
                                    data=data[:-1]),
                         SW_WRONG_LENGTH)
        self.assertEqual(apdu_error(u2f.send_apdu, ins=Ctap1.INS.AUTHENTICATE, p1=0x05,
                                    data=data),
                         SW_P1P2)
        self.assertEqual(apdu_error(u2f.send_apdu, ins=0x04), SW_INS)
        self.assertEqual(apdu_error(u2f.send_apdu, ins=Ctap1.INS.VERSION, data=b"x"),
                         SW_WRONG_LENGTH)
        ctap.device.close()

    def test_u2f_and_ctap2_share_credentials(self):
        ctap = fidokit.ctap2()
        u2f = Ctap1(ctap.device)
        # A U2F registration answers getAssertion with the app id as the RP id.
        appid = "https://appid.example.com"
        reg = u2f.register(os.urandom(32), sha(appid.encode()))
        cdh = os.urandom(32)
        a = ctap.get_assertion(appid, cdh, allow_list=[{"type": "public-key",
                                                         "id": reg.key_handle}])
        ES256.from_ctap1(reg.public_key).verify(a.auth_data + cdh, a.signature)
        # A CTAP2 credential (ES256, not discoverable) answers U2F AUTHENTICATE.
        att = ctap.make_credential(os.urandom(32), {"id": "example.com", "name": "Example"},
                                   {"id": b"user", "name": "user"},
                                   [{"type": "public-key", "alg": -7}])
        cred = att.auth_data.credential_data
        chal = os.urandom(32)
        sig = u2f.authenticate(chal, sha(b"example.com"), cred.credential_id)
        sig.verify(sha(b"example.com"), chal, b"\x04" + cred.public_key[-2] + cred.public_key[-3])
        ctap.device.close()



class U2fUnderAlwaysUv(fkit.RigTest):
    """alwaysUv makes the authenticator CTAP2 only (CTAP 2.1 §7.2.4)."""

    def test_always_uv_ends_u2f(self):
        ctap = fidokit.ctap2()
        u2f = Ctap1(ctap.device)
        app = sha(b"https://uv.example.com")
        reg = u2f.register(os.urandom(32), app)
        Config(ctap).toggle_always_uv()
        self.assertNotIn("U2F_V2", ctap.get_info().versions)
        self.assertEqual(apdu_error(u2f.get_version), SW_INS)
        self.assertEqual(apdu_error(u2f.register, os.urandom(32), app), SW_INS)
        self.assertEqual(apdu_error(u2f.authenticate, os.urandom(32), app, reg.key_handle), SW_INS)
        ctap.device.close()


class Attestation(fkit.RigTest):
    """The attestation certificate: what WebAuthn asks of one (§8.2.1), stable until reset."""

    def certificate(self, ctap):
        reg = Ctap1(ctap.device).register(os.urandom(32), sha(b"https://cert.example.com"))
        return reg.certificate, x509.load_der_x509_certificate(reg.certificate)

    def test_certificate(self):
        ctap = fidokit.ctap2()
        der, cert = self.certificate(ctap)
        self.assertEqual(cert.version, x509.Version.v3)
        subject = {a.oid: a.value for a in cert.subject}
        self.assertEqual(subject[NameOID.ORGANIZATIONAL_UNIT_NAME], "Authenticator Attestation")
        self.assertEqual(len(subject[NameOID.COUNTRY_NAME]), 2)
        self.assertTrue(subject[NameOID.ORGANIZATION_NAME])
        self.assertTrue(subject[NameOID.COMMON_NAME])
        self.assertEqual(cert.issuer, cert.subject)
        bc = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
        self.assertFalse(bc.value.ca)
        ext = cert.extensions.get_extension_for_oid(AAGUID_OID)
        self.assertFalse(ext.critical)
        self.assertEqual(ext.value.value, b"\x04\x10" + bytes(ctap.info.aaguid))
        key = cert.public_key()
        self.assertIsInstance(key.curve, ec.SECP256R1)
        key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        self.assertGreater(cert.not_valid_after.year, 9000)
        # The same certificate every time, also after a power cycle.
        self.assertEqual(self.certificate(ctap)[0], der)
        ctap = fidokit.power_cycle(self.rig, ctap)
        self.assertEqual(self.certificate(ctap)[0], der)
        # A reset makes a new attestation key and certificate.
        ctap = fidokit.power_cycle(self.rig, ctap)
        ctap.reset()
        self.assertNotEqual(self.certificate(ctap)[0], der)
        ctap.device.close()


if __name__ == "__main__":
    fkit.main(__doc__)
