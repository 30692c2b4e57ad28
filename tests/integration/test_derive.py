# SPDX-License-Identifier: Apache-2.0
"""DERIVE EC KEY (80 76) as CardContact's PKCS#11 module sends it for CKM_SC_HSM_EC_DERIVE:
`80 76 <src> <dst> Lc 98 <t>`, case 3 (no Le). Raw APDUs through pcscd with pyscard; every
result checked with python3-cryptography, openssl and OpenSC's pkcs15-tool:

- Known answer on five curves: the new key's public point in CE<dst> is Q + t G, computed
  here from the source's Q (CE<src>) and t G (python3-cryptography) with the test's own
  point addition; also for a tweak above the group order n (reduced modulo n: the point is
  Q + (t mod n) G, not what a reduction modulo the field prime would give).
- CE<dst> is an authenticated request signed by the new key and by the device key (2F02).
- The new key signs, and the signature verifies with CE<dst>'s key and with the key that
  pkcs15-tool exports for the default description C4<dst>.
- Refusals: 6A86 for dst 00, 6A80 without the 98 prefix or for a tweak longer than the
  order, 6A82 for a missing source, 6982 without the PIN, 6985 for a source whose list
  lacks 98; nothing is written to <dst>.
"""

import os
import re

import fkit
import hsmkit
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from fkit import SW_OK, hx
from hsmkit import PIN, PREFIX_EE_CERT, PREFIX_PRKD, key_fid, pkcs15_id, tlv

TOOL_TIMEOUT = 120        # seconds per client run
ALG_ECDSA_SHA256 = 0x73
ALG_EC_DERIVE = 0x98
MESSAGE = b"a derived key signs this\n"

# OpenSC / openssl name -> python3-cryptography curve.
CURVES = {
    "prime256v1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
    "brainpoolP256r1": ec.BrainpoolP256R1(),
    "secp256k1": ec.SECP256K1(),
}


class Domain:
    """Explicit domain parameters of a named curve, from `openssl ecparam -param_enc
    explicit -text` (an implementation independent of the card's tables)."""

    def __init__(self, name):
        out = fkit.run_client(["openssl", "ecparam", "-name", name, "-param_enc", "explicit",
                               "-text", "-noout"], timeout=TOOL_TIMEOUT).stdout.decode()
        fields = {}
        for m in re.finditer(r"^(Prime|A|B|Generator \(uncompressed\)|Order):[ \t]*(.*)\n"
                             r"((?:[ \t]+[0-9a-f:]+\n)*)", out, re.M):
            inline, block = m.group(2).strip(), m.group(3)
            if block.strip():
                fields[m.group(1)] = int(re.sub(r"[\s:]", "", block), 16)
            else:
                fields[m.group(1)] = int(inline.split()[0])
        self.name = name
        self.p = fields["Prime"]
        self.a = fields["A"]
        self.n = fields["Order"]
        self.flen = (self.p.bit_length() + 7) // 8
        self.olen = (self.n.bit_length() + 7) // 8
        g = fields["Generator (uncompressed)"]
        self.g = g.to_bytes(1 + 2 * self.flen, "big")
        self.curve = CURVES[name]

    def template(self, chr_, algorithms=None):
        """A GENERATE template choosing this curve by p, a and G."""
        pub = (tlv(hsmkit.TAG_OID, hsmkit.OID_ECDSA_SHA256) +
               tlv(hsmkit.TAG_EC_P, self.p.to_bytes(self.flen, "big")) +
               tlv(hsmkit.TAG_EC_A, self.a.to_bytes(self.flen, "big")) +
               tlv(hsmkit.TAG_EC_G, self.g))
        out = (tlv(hsmkit.TAG_PROFILE, hsmkit.PROFILE) + tlv(hsmkit.TAG_CAR, hsmkit.DEFAULT_CAR) +
               tlv(hsmkit.TAG_PUBKEY, pub) + tlv(hsmkit.TAG_CHR, chr_))
        if algorithms is not None:
            out += tlv(hsmkit.TAG_ALGORITHMS, algorithms)
        return out

    def point(self, enc):
        """(x, y) of 04 X Y."""
        if len(enc) != 1 + 2 * self.flen or enc[0] != 4:
            raise AssertionError("not an uncompressed point on %s: %s" % (self.name, hx(enc)))
        return (int.from_bytes(enc[1:1 + self.flen], "big"), int.from_bytes(enc[1 + self.flen:], "big"))

    def encode(self, pt):
        return b"\x04" + pt[0].to_bytes(self.flen, "big") + pt[1].to_bytes(self.flen, "big")

    def add(self, p1, p2):
        """Affine point addition on y^2 = x^3 + a x + b over GF(p); None is infinity."""
        if p1 is None:
            return p2
        if p2 is None:
            return p1
        (x1, y1), (x2, y2) = p1, p2
        p = self.p
        if x1 == x2 and (y1 + y2) % p == 0:
            return None
        if p1 == p2:
            slope = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, p) % p
        else:
            slope = (y2 - y1) * pow(x2 - x1, -1, p) % p
        x3 = (slope * slope - x1 - x2) % p
        return x3, (slope * (x1 - x3) - y1) % p

    def times_g(self, k):
        """k G through python3-cryptography (1 <= k < n)."""
        pub = ec.derive_private_key(k, self.curve).public_key()
        return self.point(pub.public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint))


def plain_to_der(sig):
    """r || s (CV certificate form) -> DER ECDSA-Sig-Value."""
    half = len(sig) // 2
    return utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                      int.from_bytes(sig[half:], "big"))


def derive_apdu(src, dst, t):
    """`80 76 src dst Lc 98 t`: case 3 with a short Lc, the module's form."""
    data = bytes([ALG_EC_DERIVE]) + t
    return bytes([0x80, 0x76, src, dst, len(data)]) + data


class Derive(hsmkit.InitializedHsm):

    SCRATCH_PREFIX = "fk-derive-"

    def generate(self, dom, key_id, algorithms=None):
        """A source key on dom's curve; returns its public point from CE<id>."""
        template = dom.template(b"FKDERIVE%02X0001" % key_id, algorithms)
        self.sw_is(hsmkit.generate(key_id, template), SW_OK)
        return self.request(dom, key_id)

    def request(self, dom, key_id):
        """The public point of CE<id>, whose request both keys signed."""
        raw = hsmkit.read_file(self.card, key_fid(PREFIX_EE_CERT, key_id))
        req = hsmkit.Request(raw)
        self.assertEqual(req.size, len(raw))
        pub = ec.EllipticCurvePublicKey.from_encoded_point(dom.curve, req.point)
        sig = plain_to_der(req.inner_sig)
        pub.verify(sig, req.body_tlv, ec.ECDSA(hashes.SHA256()))   # the key itself
        self.assertTrue(hsmkit.ecdsa_ok(self.device, hsmkit.raw_to_der(req.outer_sig),
                                        data=req.outer_signed),
                        "the device key did not sign CE%02X" % key_id)
        return req.point

    def check_derived(self, dom, src, dst, t, q):
        """Derive dst from src with t; CE<dst> must hold Q + (t mod n) G."""
        data, sw = self.card.transmit(derive_apdu(src, dst, t))
        self.assertTrue(sw == SW_OK and data == b"", "DERIVE %02X -> %02X on %s: %04X %s" % (
            src, dst, dom.name, sw, hx(data)))
        got = self.request(dom, dst)
        k = int.from_bytes(t, "big") % dom.n
        want = dom.add(dom.point(q), dom.times_g(k) if k else None)
        self.assertEqual(got, dom.encode(want), "CE%02X on %s is not Q + t G" % (dst, dom.name))
        return got

    def test_1_known_answer(self):
        """On five curves: the derived public key is Q + t G (t random, and t above n)."""
        key_id = 0x10
        for name in CURVES:
            with self.subTest(curve=name):
                dom = Domain(name)
                q = self.generate(dom, key_id)
                t = (int.from_bytes(os.urandom(dom.olen), "big") % (dom.n - 1) + 1)
                self.check_derived(dom, key_id, key_id + 1, t.to_bytes(dom.olen, "big"), q)
                above = dom.n + 5
                if above.bit_length() <= 8 * dom.olen:
                    self.check_derived(dom, key_id, key_id + 2, above.to_bytes(dom.olen, "big"), q)
                key_id += 3

    def test_2_derived_key_signs(self):
        """The derived key signs (73); the signature verifies with CE<dst>'s key and with
        the key pkcs15-tool exports for C4<dst>."""
        dom = Domain("prime256v1")
        src, dst = 0x30, 0x31
        q = self.generate(dom, src, algorithms=bytes([ALG_ECDSA_SHA256, ALG_EC_DERIVE]))
        point = self.check_derived(dom, src, dst, os.urandom(32), q)
        sig = self.sw_is(bytes([0x80, 0x68, dst, ALG_ECDSA_SHA256, len(MESSAGE)]) + MESSAGE +
                         b"\x00", SW_OK)
        ec.EllipticCurvePublicKey.from_encoded_point(dom.curve, point).verify(
            sig, MESSAGE, ec.ECDSA(hashes.SHA256()))
        self.assertEqual(hsmkit.read_file(self.card, key_fid(PREFIX_PRKD, dst))[:1], b"\xA0")
        self.card.close()  # OpenSC connects on its own
        try:
            pem = self.path("derived.pem")
            fkit.run_client(["pkcs15-tool", "--reader", "0", "--read-public-key", pkcs15_id(dst),
                             "-o", pem], timeout=TOOL_TIMEOUT)
        finally:
            type(self).card = self.rig.wait_card()
        self.assertEqual(hsmkit.pem_point(self.read("derived.pem")), point,
                         "pkcs15-tool exports another key than CE%02X holds" % dst)
        self.write("sig", sig)
        self.write("msg", MESSAGE)
        proc = fkit.run_client(["openssl", "dgst", "-sha256", "-verify", pem, "-signature",
                                self.path("sig"), self.path("msg")], check=False,
                               timeout=TOOL_TIMEOUT)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_3_refusals(self):
        """Refused derivations answer their status word and write nothing."""
        dom = Domain("prime256v1")
        src, dst, no_derive = 0x40, 0x41, 0x42
        self.generate(dom, src)
        self.generate(dom, no_derive, algorithms=bytes([ALG_ECDSA_SHA256]))
        # A t whose first byte is not 98: sent bare, it must read as data without the
        # algorithm byte (a t starting with 98 would be a valid command of a shorter t).
        t = bytes([os.urandom(1)[0] % ALG_EC_DERIVE]) + os.urandom(31)
        self.sw_is(derive_apdu(src, 0x00, t), 0x6A86)
        self.sw_is(bytes([0x80, 0x76, src, dst, 32]) + t, 0x6A80)        # no 98
        self.sw_is(derive_apdu(0x4F, dst, t), 0x6A82)
        self.sw_is(derive_apdu(no_derive, dst, t), 0x6985)
        self.sw_is(derive_apdu(src, dst, t + b"\x01"), 0x6A80)          # longer than n
        self.select_hsm()                                                # logs out
        self.sw_is(derive_apdu(src, dst, t), 0x6982)
        self.sw_is(hsmkit.verify(PIN), SW_OK)
        for fid in (key_fid(PREFIX_EE_CERT, dst), key_fid(PREFIX_PRKD, dst)):
            self.sw_is(hsmkit.select_fid(fid), 0x6A82)
        keys = self.sw_is(fkit.apdu("80 58 00 00 00"), SW_OK)
        self.assertNotIn(bytes([hsmkit.PREFIX_KEY, dst]),
                         [keys[i:i + 2] for i in range(0, len(keys), 2)])


if __name__ == "__main__":
    fkit.main(__doc__)
