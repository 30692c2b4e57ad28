# SPDX-License-Identifier: Apache-2.0
"""EdDSA and Montgomery keys in the forms Pico HSM's tools send, through pcscd with pyscard,
checked with python3-cryptography; and OpenSC still lists the token when such keys exist.

- GENERATE with the Curve25519 / Curve448 prime, exactly as pypicohsm's key_generation sends
  it (id-TA-ECDSA-SHA-256, 81 p, 82 order, 83 pycvc's base point), and with id-RI-ECDH:
  Ed25519 / Ed448 keys for the Edwards base points, X25519 / X448 for u = 9 / 5.
- The answer (and CE<id>) is an authenticated request under id-RI-ECDH with 81 p, 82 order,
  83 base point, 84 public key, which pypicohsm's public_key() rule classifies right (83's
  first byte 09 for X25519; 56 bytes starting 05 for X448; anything else EdDSA); the EdDSA key
  signs the body (pure EdDSA, verified with Ed25519PublicKey / Ed448PublicKey from 84), the
  device key signs the request.
- SIGN 70 is pure EdDSA over the data sent; 73 / 75 sign SHA-256 / SHA-512 of the data
  (Pico HSM's behaviour); signatures verify with python3-cryptography.
- DECIPHER 80 with the X25519 / X448 keys gives python3-cryptography's shared secret.
- pkcs15-tool -D, pkcs11-tool -L and pkcs11-tool -O (with and without login) succeed
  with these keys on the card and still show an EC key made by OpenSC.
"""

import hashlib

import fkit
import hsmkit
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, x448, x25519
from fkit import SW_OK, hx
from hsmkit import PIN, PREFIX_EE_CERT, key_fid, tlv

TOOL_TIMEOUT = 120
OID_RI_ECDH = bytes.fromhex("04007F00070202050203")
MESSAGE = b"EdDSA on the card, verified on the host\n"

P25519 = bytes.fromhex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed")
N25519 = bytes.fromhex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed")
P448 = bytes.fromhex("fffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffffffffffffff"
                     "ffffffffffffffffffffffffffffffffffffff")
N448 = bytes.fromhex("3fffffffffffffffffffffffffffffffffffffffffffffffffffffff7cca23e9c44edb49aed6"
                     "3690216cc2728dc58f552378c292ab5844f3")
# pycvc's base points (cvc/ec_curves.py), which pypicohsm puts into 83.
G_CURVE25519 = bytes.fromhex("09" + "00" * 31)
G_CURVE448 = bytes.fromhex("05" + "00" * 55)
G_ED25519 = bytes.fromhex("66" * 31 + "58")
G_ED448 = bytes.fromhex("7f" + "ff" * 27 + "80" + "00" * 26 + "01")

# name -> (prime, order, base point, key length, public key class)
CURVES = {
    "ed25519": (P25519, N25519, G_ED25519, 32, ed25519.Ed25519PublicKey),
    "ed448": (P448, N448, G_ED448, 57, ed448.Ed448PublicKey),
    "curve25519": (P25519, N25519, G_CURVE25519, 32, x25519.X25519PublicKey),
    "curve448": (P448, N448, G_CURVE448, 56, x448.X448PublicKey),
}


def pico_template(name, oid=hsmkit.OID_ECDSA_SHA256):
    """pypicohsm's key_generation template for these curves: {1: P, 2: O, 3: G}."""
    p, n, g, _, _ = CURVES[name]
    pub = tlv(hsmkit.TAG_OID, oid) + tlv(0x81, p) + tlv(0x82, n) + tlv(0x83, g)
    return (tlv(hsmkit.TAG_PROFILE, hsmkit.PROFILE) + tlv(hsmkit.TAG_CAR, b"UTCA00001") +
            tlv(hsmkit.TAG_PUBKEY, pub) + tlv(hsmkit.TAG_CHR, b"UTCDUMMY00001"))


class RiRequest:
    """67 { 7F21 { 7F4E { .., 7F49 { 06, 81, 82, 83, 84 }, .. }, 5F37 }, 42, 5F37 }."""

    def __init__(self, buf):
        what = "request %s" % hx(buf[:8])
        outer = hsmkit.tlv_dict(hsmkit.the(hsmkit.tlv_dict(buf, what), hsmkit.TAG_REQUEST, what), what)
        cvc_value, cvc_whole = outer[hsmkit.TAG_CVC]
        cvc = hsmkit.tlv_dict(cvc_value, what + " 7F21")
        body_value, self.body_tlv = cvc[hsmkit.TAG_CVC_BODY]
        self.inner_sig = hsmkit.the(cvc, hsmkit.TAG_SIGNATURE, what)
        self.outer_sig = hsmkit.the(outer, hsmkit.TAG_SIGNATURE, what)
        self.outer_signed = cvc_whole + outer[hsmkit.TAG_CAR][1]
        body = hsmkit.tlv_dict(body_value, what + " 7F4E")
        self.key = hsmkit.tlv_dict(hsmkit.the(body, hsmkit.TAG_PUBKEY, what), what + " 7F49")
        self.oid = self.key[hsmkit.TAG_OID][0]

    def el(self, tag):
        return hsmkit.the(self.key, tag, "7F49")


def pypicohsm_class(req):
    """The public key class pypicohsm's public_key() picks for an id-RI-ECDH request."""
    g, p = req.el(0x83), req.el(0x81)
    if p == P25519:
        return x25519.X25519PublicKey if g[0] == 9 else ed25519.Ed25519PublicKey
    if p == P448:
        return x448.X448PublicKey if len(g) == 56 and g[0] == 5 else ed448.Ed448PublicKey
    raise AssertionError("81 is neither Curve25519's nor Curve448's prime: %s" % hx(p))


class EdDSA(hsmkit.InitializedHsm):

    SCRATCH_PREFIX = "fk-eddsa-"

    def generate(self, key_id, name, oid=hsmkit.OID_ECDSA_SHA256):
        """GENERATE in pypicohsm's form; checks the request; returns the public key."""
        resp = self.sw_is(hsmkit.generate(key_id, pico_template(name, oid)), SW_OK)
        self.assertEqual(hsmkit.read_file(self.card, key_fid(PREFIX_EE_CERT, key_id)), resp,
                         "CE%02X is not what GENERATE answered" % key_id)
        req = RiRequest(resp)
        p, n, _, key_len, cls = CURVES[name]
        self.assertEqual(req.oid, OID_RI_ECDH)
        self.assertEqual((req.el(0x81), req.el(0x82)), (p, n))
        self.assertIs(pypicohsm_class(req), cls, "pypicohsm would take the %s key for another"
                      " kind (83 = %s)" % (name, hx(req.el(0x83))))
        y = req.el(0x84)
        self.assertEqual(len(y), key_len)
        pub = cls.from_public_bytes(y)
        if cls in (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey):
            pub.verify(req.inner_sig, req.body_tlv)  # the key signed its body
        else:
            self.assertEqual(req.inner_sig, bytes(len(req.inner_sig)), "not a zero signature")
        self.assertTrue(hsmkit.ecdsa_ok(self.device, hsmkit.raw_to_der(req.outer_sig),
                                        data=req.outer_signed),
                        "the device key did not sign the request of key %02X" % key_id)
        return pub

    def sign(self, key_id, alg, data):
        return self.sw_is(hsmkit.ext(bytes([0x80, 0x68, key_id, alg]), data, hsmkit.EXT_LE_MAX),
                          SW_OK)

    def test_1_eddsa(self):
        """Ed25519 and Ed448 in both OID forms: requests and signatures verify."""
        key_id = 0x10
        for name, hashed in (("ed25519", (0x73, hashlib.sha256)), ("ed448", (0x75, hashlib.sha512))):
            for oid in (hsmkit.OID_ECDSA_SHA256, OID_RI_ECDH):
                with self.subTest(curve=name, oid=hx(oid)):
                    pub = self.generate(key_id, name, oid)
                    pub.verify(self.sign(key_id, 0x70, MESSAGE), MESSAGE)
                    alg, h = hashed
                    digest = h(MESSAGE).digest()
                    pub.verify(self.sign(key_id, alg, MESSAGE), digest)
                    self.sw_is(hsmkit.ext(bytes([0x80, 0x62, key_id, 0x80]), bytes(32),
                                          hsmkit.EXT_LE_MAX), 0x6A81)   # no ECDH
                    key_id += 1

    def test_2_montgomery(self):
        """X25519 and X448 in pypicohsm's form: ECDH gives python3-cryptography's secret."""
        for key_id, name, priv in ((0x20, "curve25519", x25519.X25519PrivateKey),
                                   (0x21, "curve448", x448.X448PrivateKey)):
            with self.subTest(curve=name):
                pub = self.generate(key_id, name)
                peer = priv.generate()
                raw = peer.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
                z = self.sw_is(hsmkit.ext(bytes([0x80, 0x62, key_id, 0x80]), raw,
                                          hsmkit.EXT_LE_MAX), SW_OK)
                self.assertEqual(z[:1], b"\x04")
                self.assertEqual(z[1:], peer.exchange(pub))

    def opensc(self, *args):
        self.card.close()
        try:
            proc = fkit.run_client(list(args), check=False, timeout=TOOL_TIMEOUT)
        finally:
            type(self).card = self.rig.wait_card()
        out = (proc.stdout + proc.stderr).decode(errors="replace")
        self.assertEqual(proc.returncode, 0, "%s failed:\n%s" % (" ".join(args), out))
        return out

    def test_3_opensc_lists(self):
        """With EdDSA and Montgomery keys on the card OpenSC still lists the token and its
        keys, an OpenSC-made EC key included."""
        self.card.close()
        try:
            fkit.run_client(["pkcs11-tool", "--module", fkit.OPENSC_MODULE, "--login", "--pin",
                             PIN.decode(), "--keypairgen", "--key-type", "EC:prime256v1",
                             "--id", "e1", "--label", "opensc-ec"], timeout=TOOL_TIMEOUT)
        finally:
            type(self).card = self.rig.wait_card()
        self.select_hsm()
        self.sw_is(hsmkit.verify(PIN), SW_OK)
        for key_id, name in ((0x30, "ed25519"), (0x31, "curve448")):
            self.generate(key_id, name)
        out = self.opensc("pkcs15-tool", "--reader", "0", "-D")
        self.assertIn("opensc-ec", out)
        self.assertNotIn("rror", out)
        out = self.opensc("pkcs11-tool", "--module", fkit.OPENSC_MODULE, "-L")
        self.assertIn("token label", out)
        for login in ([], ["--login", "--pin", PIN.decode()]):
            out = self.opensc("pkcs11-tool", "--module", fkit.OPENSC_MODULE, "-O", *login)
            self.assertIn("opensc-ec", out)
            self.assertNotIn("rror", out)


if __name__ == "__main__":
    fkit.main(__doc__)
