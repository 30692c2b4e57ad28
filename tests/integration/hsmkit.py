# SPDX-License-Identifier: Apache-2.0
"""hsmkit: raw SmartCard-HSM commands and their answers, for the integration tests that
drive the HSM applet with pyscard (test_crash.py, test_case3.py).

Builders for INITIALIZE, VERIFY, GENERATE ASYMMETRIC KEY PAIR (EC P-256 templates as
OpenSC sends them, or with the domain parameters the card needs only), COMPUTE
SIGNATURE, UPDATE/READ BINARY and DELETE FILE; a parser of the authenticated request
`67` that GENERATE answers and stores in CE<id>; and ECDSA checks with Python's
cryptography (python3-cryptography). Formats: docs/hsm.md, docs/hsm-files.md,
docs/cvc.md.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

import fkit
from fkit import SW_OK, apdu, hx, tlv_items

PIN = b"648219"
WRONG_PIN = b"000000"
SO_PIN = bytes.fromhex("3537363231383830")
OPTIONS_RESET_RETRY = 0x0001  # RESET RETRY COUNTER with the SO-PIN, as sc-hsm-tool sets
PIN_RETRIES = 3

SW_CONDITIONS = 0x6985
SW_NOT_ENOUGH_MEMORY = 0x6A84  # also: the key's use counter is exhausted
SW_PIN_BLOCKED = 0x6983
SW1_PIN_TRIES = 0x63C0  # | tries left

PREFIX_PRKD = 0xC4
PREFIX_KEY = 0xCC
PREFIX_EE_CERT = 0xCE
FID_DEVICE_CERTS = 0x2F02

# Tags of CV certificates and requests (docs/cvc.md).
TAG_REQUEST = 0x67
TAG_CVC = 0x7F21
TAG_CVC_BODY = 0x7F4E
TAG_PROFILE = 0x5F29
TAG_CAR = 0x42
TAG_PUBKEY = 0x7F49
TAG_CHR = 0x5F20
TAG_SIGNATURE = 0x5F37
TAG_OID = 0x06
TAG_EC_P, TAG_EC_A, TAG_EC_B, TAG_EC_G, TAG_EC_N, TAG_EC_Q, TAG_EC_H = range(0x81, 0x88)
TAG_USE_COUNTER = 0x90
TAG_ALGORITHMS = 0x91
PROFILE = b"\x00"
DEFAULT_CAR = b"UTCA00001"  # what OpenSC puts into its templates

ALG_ECDSA = 0x70          # COMPUTE SIGNATURE over a digest the host made
ALG_ECDSA_SHA256 = 0x73   # the card hashes the data with SHA-256

OID_ECDSA_SHA256 = bytes.fromhex("04007F00070202020203")
# secp256r1 (SEC 2), big-endian at field length; G uncompressed.
P256_P = bytes.fromhex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF")
P256_A = bytes.fromhex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC")
P256_B = bytes.fromhex("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B")
P256_G = bytes.fromhex("046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2"
                       "964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")
P256_N = bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
P256_H = b"\x01"
P256_COORD = 32  # bytes of a coordinate, of r and of s

EXT_LE_MAX = 0x0000   # extended Le 00 00: 65536


def tlv(tag, value):
    """One BER-TLV: tags of 1 or 2 bytes, definite lengths up to 3 bytes."""
    t = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        ln = bytes([n])
    elif n <= 0xFF:
        ln = bytes([0x81, n])
    elif n <= 0xFFFF:
        ln = b"\x82" + n.to_bytes(2, "big")
    else:
        ln = b"\x83" + n.to_bytes(3, "big")
    return t + ln + value


def tlv_dict(buf, what):
    """{tag: (value, whole TLV)} of a TLV sequence; AssertionError naming `what` on a
    malformed or repeated element."""
    items = {}
    try:
        parsed = tlv_items(buf)
    except ValueError as e:
        raise AssertionError("%s is not BER-TLV (%s): %s" % (what, e, hx(buf)))
    for tag, value, whole in parsed:
        if tag in items:
            raise AssertionError("%s repeats tag %X: %s" % (what, tag, hx(buf)))
        items[tag] = (value, whole)
    return items


def the(items, tag, what):
    """The value of tag in a tlv_dict, or AssertionError."""
    if tag not in items:
        raise AssertionError("%s has no tag %X" % (what, tag))
    return items[tag][0]


# ---- Commands -------------------------------------------------------------------------

def initialize(options=OPTIONS_RESET_RETRY, pin=PIN, so_pin=SO_PIN, retries=PIN_RETRIES):
    """INITIALIZE DEVICE (80 50) with tags 80, 81, 82, 91 in sc-hsm-tool's order."""
    data = (tlv(0x80, options.to_bytes(2, "big")) + tlv(0x81, pin) + tlv(0x82, so_pin) +
            tlv(0x91, bytes([retries])))
    return bytes([0x80, 0x50, 0x00, 0x00, len(data)]) + data


def verify(pin=None):
    """VERIFY of the user PIN (00 20 00 81); without a PIN: the status form."""
    return apdu("00 20 00 81") + (bytes([len(pin)]) + pin if pin is not None else b"")


def ext(header, data, le=None):
    """header || extended Lc || data [|| extended Le]."""
    cmd = header + b"\x00" + len(data).to_bytes(2, "big") + data
    return cmd + (le & 0xFFFF).to_bytes(2, "big") if le is not None else cmd


def ec_template(chr_, counter=None, algorithms=None, full_domain=True, car=DEFAULT_CAR):
    """A P-256 template for GENERATE: 5F29, 42, 7F49 {OID, domain}, 5F20, then 90 and 91
    when given. full_domain: p, a, b, G, n, h as OpenSC sends them; otherwise only p, a
    and G, which are what the card chooses the curve by (short enough for a short Lc)."""
    domain = tlv(TAG_EC_P, P256_P) + tlv(TAG_EC_A, P256_A)
    if full_domain:
        domain += (tlv(TAG_EC_B, P256_B) + tlv(TAG_EC_G, P256_G) + tlv(TAG_EC_N, P256_N) +
                   tlv(TAG_EC_H, P256_H))
    else:
        domain += tlv(TAG_EC_G, P256_G)
    out = (tlv(TAG_PROFILE, PROFILE) + tlv(TAG_CAR, car) +
           tlv(TAG_PUBKEY, tlv(TAG_OID, OID_ECDSA_SHA256) + domain) + tlv(TAG_CHR, chr_))
    if counter is not None:
        out += tlv(TAG_USE_COUNTER, counter.to_bytes(4, "big"))
    if algorithms is not None:
        out += tlv(TAG_ALGORITHMS, algorithms)
    return out


def generate(key_id, template):
    """GENERATE ASYMMETRIC KEY PAIR as OpenSC sends it: extended, Le 00 00."""
    return ext(bytes([0x00, 0x46, key_id, 0x00]), template, EXT_LE_MAX)


def sign(key_id, alg, data):
    """COMPUTE SIGNATURE (80 68), short, Le 00."""
    return bytes([0x80, 0x68, key_id, alg, len(data)]) + data + b"\x00"


def fid_bytes(fid):
    return fid.to_bytes(2, "big")


def select_fid(fid):
    return apdu("00 A4 00 00 02") + fid_bytes(fid) + b"\x00"


def update_binary(fid, offset, data):
    """UPDATE BINARY (D7) at offset, extended: 54 <3-byte offset> 53 <data>."""
    body = tlv(0x54, offset.to_bytes(3, "big")) + tlv(0x53, data)
    return ext(b"\x00\xD7" + fid_bytes(fid), body)


def read_binary(fid):
    """READ BINARY (B1) of a whole file from offset 0, extended Le 65536."""
    return ext(b"\x00\xB1" + fid_bytes(fid), tlv(0x54, b"\x00\x00"), EXT_LE_MAX)


def delete_file(fid):
    return apdu("00 E4 02 00 02") + fid_bytes(fid)


def key_fid(prefix, key_id):
    return prefix << 8 | key_id


def pkcs15_id(key_id):
    """The PKCS#15 ID (hex) of the card's default C4 description: the key id in ASCII
    decimal, as OpenSC's tools take it."""
    return str(key_id).encode().hex()


def read_file(card, fid):
    """Content of a file by FID through pyscard (following 61xx); AssertionError unless
    the card answers 9000."""
    data, sw = card.transmit(read_binary(fid))
    data, sw, _ = card.get_response_all(data, sw)
    if sw != SW_OK:
        raise AssertionError("READ BINARY %04X -> %04X" % (fid, sw))
    return data


# ---- The authenticated request (GENERATE's answer, CE<id>) -----------------------------

class Request:
    """67 { 7F21 { 7F4E body, 5F37 inner }, 42 outer CAR, 5F37 outer }, parsed.

    body_tlv: the 7F4E TLV the new key signed; outer_signed: the 7F21 TLV || the 42 TLV
    the device key signed; point: the new public key (04 X Y)."""

    def __init__(self, buf):
        what = "request %s" % hx(buf[:8])
        top = tlv_dict(buf, what)
        outer = tlv_dict(the(top, TAG_REQUEST, what), what)
        cvc_value, cvc_whole = outer.get(TAG_CVC, (None, None))
        if cvc_value is None:
            raise AssertionError("%s has no 7F21" % what)
        cvc = tlv_dict(cvc_value, what + " 7F21")
        body_value, self.body_tlv = cvc.get(TAG_CVC_BODY, (None, None))
        if body_value is None:
            raise AssertionError("%s has no 7F4E" % what)
        self.inner_sig = the(cvc, TAG_SIGNATURE, what + " 7F21")
        self.outer_car = the(outer, TAG_CAR, what)
        self.outer_sig = the(outer, TAG_SIGNATURE, what)
        self.outer_signed = cvc_whole + outer[TAG_CAR][1]
        body = tlv_dict(body_value, what + " 7F4E")
        self.car = the(body, TAG_CAR, what + " 7F4E")
        self.chr = the(body, TAG_CHR, what + " 7F4E")
        pub = tlv_dict(the(body, TAG_PUBKEY, what + " 7F4E"), what + " 7F49")
        self.oid = the(pub, TAG_OID, what + " 7F49")
        self.point = the(pub, TAG_EC_Q, what + " 7F49")
        self.size = len(buf)


def public_key(point):
    """A cryptography P-256 public key from 04 X Y."""
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def public_pem(point):
    """PEM (SubjectPublicKeyInfo) of a P-256 public key 04 X Y."""
    return public_key(point).public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_point(pem):
    """04 X Y of an EC public key in PEM."""
    key = serialization.load_pem_public_key(pem)
    return key.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def raw_to_der(sig):
    """r || s at coordinate length -> DER ECDSA-Sig-Value."""
    if len(sig) != 2 * P256_COORD:
        raise AssertionError("r || s of %d bytes: %s" % (len(sig), hx(sig)))
    return utils.encode_dss_signature(int.from_bytes(sig[:P256_COORD], "big"),
                                      int.from_bytes(sig[P256_COORD:], "big"))


def ecdsa_ok(point, der_sig, data=None, digest=None):
    """True when der_sig is a P-256 ECDSA signature under point, of SHA-256(data) or of
    a digest the host made."""
    algo = ec.ECDSA(hashes.SHA256()) if digest is None else \
        ec.ECDSA(utils.Prehashed(hashes.SHA256()))
    try:
        public_key(point).verify(der_sig, data if digest is None else digest, algo)
        return True
    except (InvalidSignature, ValueError):
        return False


def device_point(card):
    """The device key (04 X Y) from the first certificate of 2F02."""
    certs = read_file(card, FID_DEVICE_CERTS)
    try:
        tag, device_cert, _ = tlv_items(certs)[0]
    except (ValueError, IndexError):
        raise AssertionError("2F02 is not a certificate chain: %s" % hx(certs))
    if tag != TAG_CVC:
        raise AssertionError("2F02 does not start with a CV certificate: %s" % hx(certs))
    body = tlv_dict(the(tlv_dict(device_cert, "2F02 7F21"), TAG_CVC_BODY, "2F02 7F21"),
                    "2F02 7F4E")
    return the(tlv_dict(the(body, TAG_PUBKEY, "2F02 7F4E"), "2F02 7F49"), TAG_EC_Q, "2F02 7F49")


def request_problems(req, device):
    """What is wrong with an authenticated request: [] when the new key signed its body
    and the device key (point `device`) signed the request."""
    problems = []
    if req.oid != OID_ECDSA_SHA256:
        problems.append("OID %s" % hx(req.oid))
    if not ecdsa_ok(req.point, raw_to_der(req.inner_sig), data=req.body_tlv):
        problems.append("the inner signature does not verify with the request's key")
    if not ecdsa_ok(device, raw_to_der(req.outer_sig), data=req.outer_signed):
        problems.append("the outer signature does not verify with the device key of 2F02")
    return problems


class InitializedHsm(fkit.Scratch, fkit.RigTest):
    """A test class on a card whose HSM applet was initialized once for the class
    (INITIALIZE with PIN, SO-PIN and 3 tries), with a scratch directory named after
    SCRATCH_PREFIX and the device key's point in `device`; every test starts with the
    applet selected and the user PIN verified."""

    longMessage = False  # the messages say what differs
    SCRATCH_PREFIX = "fk-hsm-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_scratch(cls.SCRATCH_PREFIX)
        try:
            _, sw = cls.card.transmit(fkit.select_aid(fkit.HSM_AID))
            assert sw == SW_OK, "SELECT of the HSM applet -> %04X" % sw
            _, sw = cls.card.transmit(initialize())
            assert sw == SW_OK, "INITIALIZE -> %04X" % sw
            cls.device = device_point(cls.card)
        except BaseException:
            cls.rig.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if not cls.rig.failed and not fkit.ARGS.keep:
            cls.remove_scratch()
        super().tearDownClass()

    def setUp(self):
        self.select_hsm()
        self.sw_is(verify(PIN), SW_OK)
