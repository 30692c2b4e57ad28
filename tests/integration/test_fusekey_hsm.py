# SPDX-License-Identifier: Apache-2.0
"""`fusekey hsm` against fusekey-sim behind pcscd, every result checked by an independent
implementation: the card's own answers through pyscard, Python's cryptography (signatures,
ECDH, OAEP, the share files' key derivation written out with hashlib), the openssl CLI and
OpenSC's sc-hsm-tool / pkcs11-tool.

Covered: status and --json; initialize with its options (transport PIN, press-to-confirm,
key use counters, counter-only unblock, retries, key domains, DKEK shares, label) and its
refusals; re-initialization behind the typed token and the SO-PIN; PIN status, change and
unblock (options, environment, prompt); key generation on every curve the card has, RSA
1024-4096, X25519/X448, with algorithm lists and use counters; the request of every key
(both signatures); key list / public / delete; every signature form, verified with the
public key of CE<id>; verify (a bad signature exits 3); RSA decryption (raw, PKCS#1,
OAEP); ECDH / X25519 / X448; the clock; the device certificate chain (show, and install
of a chain issued by a CA made here, which OpenSC then binds); DKEK share files: one made
by sc-hsm-tool opened by fusekey, one made by fusekey (2-of-3 password shares) opened by
Python; errors as sentences. Ed25519 and Ed448: generation (the request's pure-EdDSA
self-signature), `sign --alg eddsa` checked by the openssl CLI, an Ed25519 PKCS#12 made by
openssl imported, wrap and unwrap into another id. AES 128-512: generation, wrap (the blob
opened here), keys of known value brought in as blobs made here, and every mode, MAC and KDF
of `cipher` as a known answer against python3-cryptography, both ways; damaged tags refused.

The steps build on each other (one device through its life), so they run in order.
"""

import calendar
import hashlib
import json
import os
import re
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import cmac, hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import (ec, ed448, ed25519, padding, rsa, utils, x25519,
                                                       x448)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import pkcs12

import fkit
import hsmkit
from hsmkit import tlv, tlv_dict, the

PIN = "648219"
SO_PIN = "3537363231383830"
SO_PIN_BYTES = bytes.fromhex(SO_PIN)
SHARE_ITERATIONS = 10000000

# Curves the tool knows and the card generates, with cryptography's curve (None: checked
# with the openssl CLI).
CURVES = {
    "secp192r1": ec.SECP192R1(), "secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(), "brainpoolP256r1": ec.BrainpoolP256R1(),
    "brainpoolP384r1": ec.BrainpoolP384R1(), "brainpoolP512r1": ec.BrainpoolP512R1(),
    "secp256k1": ec.SECP256K1(), "secp192k1": None,
}
SECP192K1_OID = bytes.fromhex("2B8104001F")  # 1.3.132.0.31
EC_PUBKEY_OID = bytes.fromhex("2A8648CE3D0201")
HASHES = {"sha1": hashes.SHA1(), "sha224": hashes.SHA224(), "sha256": hashes.SHA256(),
          "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


# ---- Independent readers of the card's formats ------------------------------------------

def ce_key(buf):
    """The public key of a CE file (an authenticated request 67), parsed here: ('rsa', n, e),
    ('ec', p, point) or ('mont', p, u)."""
    top = tlv_dict(buf, "CE")
    outer = tlv_dict(the(top, 0x67, "CE"), "CE 67")
    cvc = tlv_dict(the(outer, 0x7F21, "CE 67"), "CE 7F21")
    body = tlv_dict(the(cvc, 0x7F4E, "CE 7F21"), "CE 7F4E")
    key = tlv_dict(the(body, 0x7F49, "CE 7F4E"), "CE 7F49")
    oid = the(key, 0x06, "CE 7F49")
    if oid.startswith(bytes.fromhex("04007F000702020201")):
        return ("rsa", int.from_bytes(the(key, 0x81, "n"), "big"), int.from_bytes(the(key, 0x82, "e"), "big"))
    if oid == bytes.fromhex("04007F00070202050203"):
        return ("mont", the(key, 0x81, "p"), the(key, 0x84, "u"))
    return ("ec", the(key, 0x81, "p"), the(key, 0x86, "Q"))


def ec_public(curve, point):
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)


def secp192k1_spki(point):
    """DER SubjectPublicKeyInfo of a secp192k1 point, written out here (cryptography has no
    secp192k1; openssl reads it)."""
    alg = tlv(0x30, tlv(0x06, EC_PUBKEY_OID) + tlv(0x06, SECP192K1_OID))
    return tlv(0x30, alg + tlv(0x03, b"\x00" + point))


def evp_bytes_to_key(password, salt, count):
    """OpenSSL's EVP_BytesToKey(MD5) for AES-256-CBC, written out with hashlib."""
    out, d = b"", b""
    while len(out) < 48:
        d = hashlib.md5(d + password + salt).digest()
        for _ in range(count - 1):
            d = hashlib.md5(d).digest()
        out += d
    return out[:32], out[32:48]


def open_share_file(data, password):
    """The 32-byte share of a DKEK share file, decrypted here."""
    assert len(data) == 64 and data[:8] == b"Salted__", data[:8]
    key, iv = evp_bytes_to_key(password, data[8:16], SHARE_ITERATIONS)
    plain = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(data[16:])
    assert plain[32:] == bytes([16]) * 16, "the share file's padding does not decode"
    return plain[:32]


def open_blob(blob, dkek):
    """A key blob (spec 3.14) opened here: KCV and CMAC checked, the plain block decrypted;
    (type, [components]) with the components' bytes."""
    assert blob[:8] == hashlib.sha256(dkek).digest()[:8], "KCV"
    kenc = hashlib.sha256(dkek + b"\x00\x00\x00\x01").digest()
    kmac = hashlib.sha256(dkek + b"\x00\x00\x00\x02").digest()
    mac = cmac.CMAC(algorithms.AES(kmac))
    mac.update(blob[:-16])
    mac.verify(blob[-16:])
    i = 9
    for _ in range(4):  # algorithm OID, algorithms, access conditions, key OID
        i += 2 + int.from_bytes(blob[i:i + 2], "big")
    plain = Cipher(algorithms.AES(kenc), modes.CBC(bytes(16))).decryptor().update(blob[i:-16])
    if blob[8] == 0x0F:  # AES: the length in bytes, then the key alone
        n = int.from_bytes(plain[8:10], "big")
        assert plain[10 + n:] in (b"", b"\x80" + bytes(len(plain) - 11 - n)), "AES blob padding"
        return blob[8], [plain[10:10 + n]]
    j, comps = 10, []
    count = {5: 3, 12: 7}[blob[8]]
    for _ in range(count):
        n = int.from_bytes(plain[j:j + 2], "big")
        comps.append(plain[j + 2:j + 2 + n])
        j += 2 + n
    return blob[8], comps


def wrap_file_parts(data):
    """30 { 04 blob, PrKD, certificate } of a wrap file, parsed here."""
    outer = fkit.tlv_items(data)
    assert len(outer) == 1 and outer[0][0] == 0x30, "outer SEQUENCE"
    inner = fkit.tlv_items(outer[0][1])
    assert inner[0][0] == 0x04, "blob first"
    return inner[0][1], [whole for _, _, whole in inner[1:]]


AES_OID = bytes.fromhex("6086480165030401")


def aes_blob(dkek, key, alg_list=b""):
    """An AES key blob made here from docs/key-blob.md (not with the applet's codec): KCV,
    type 0F, the AES OID, the algorithm list, empty access conditions and key OID, then
    AES-256-CBC(Kenc, IV 0) of 8 random bytes || u16 key length in bytes || key || 80 00..,
    and the AES-CMAC(Kmac) of everything before it."""
    def u16(b):
        return len(b).to_bytes(2, "big") + b

    kenc = hashlib.sha256(dkek + b"\x00\x00\x00\x01").digest()
    kmac = hashlib.sha256(dkek + b"\x00\x00\x00\x02").digest()
    clear = (hashlib.sha256(dkek).digest()[:8] + b"\x0f" + u16(AES_OID) + u16(alg_list) + u16(b"") +
             u16(b""))
    plain = os.urandom(8) + len(key).to_bytes(2, "big") + key
    if len(plain) % 16:
        plain += b"\x80" + bytes(15 - len(plain) % 16)
    enc = Cipher(algorithms.AES(kenc), modes.CBC(bytes(16))).encryptor()
    body = clear + enc.update(plain) + enc.finalize()
    mac = cmac.CMAC(algorithms.AES(kmac))
    mac.update(body)
    return body + mac.finalize()


def edwards_request(buf):
    """The authenticated request of an Edwards key (CE<id>), parsed here: 67 { 7F21 { 7F4E
    { .., 7F49 { 06 id-RI-ECDH, 81 p, 82 n, 83 G, 84 public key }, .. }, 5F37 }, 42,
    5F37 }. Returns (7F49's elements, the 7F4E TLV, its signature, what the device
    signed, the device's signature)."""
    outer = tlv_dict(the(tlv_dict(buf, "CE"), 0x67, "CE"), "CE 67")
    cvc_value, cvc_whole = outer[0x7F21]
    inner = tlv_dict(cvc_value, "CE 7F21")
    body_value, body_tlv = inner[0x7F4E]
    key = tlv_dict(the(tlv_dict(body_value, "CE 7F4E"), 0x7F49, "CE 7F4E"), "CE 7F49")
    return ({t: v for t, (v, _) in key.items()}, body_tlv, the(inner, 0x5F37, "CE 7F21"),
            cvc_whole + outer[0x42][1], the(outer, 0x5F37, "CE 67"))


DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "tool", "data")


def lagrange(prime, points):
    """P(0) of the polynomial through points, mod prime."""
    s = 0
    for i, (xi, yi) in enumerate(points):
        num = den = 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                num = num * xj % prime
                den = den * (xj - xi) % prime
        s = (s + yi * num * pow(den, -1, prime)) % prime
    return s


def cvc(body_fields, signer):
    """A CV certificate 7F21 { 7F4E, 5F37 r||s } signed with an EC P-256 key (SHA-256)."""
    body = tlv(0x7F4E, body_fields)
    der = signer.sign(body, ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return tlv(0x7F21, body + tlv(0x5F37, r.to_bytes(32, "big") + s.to_bytes(32, "big")))


def cvc_body(car, chr_, point):
    """The fields of a P-256 certificate body as the card's own (docs/cvc.md)."""
    key = (tlv(0x06, hsmkit.OID_ECDSA_SHA256) + tlv(0x81, hsmkit.P256_P) + tlv(0x82, hsmkit.P256_A) +
           tlv(0x83, hsmkit.P256_B) + tlv(0x84, hsmkit.P256_G) + tlv(0x85, hsmkit.P256_N) +
           tlv(0x86, point) + tlv(0x87, b"\x01"))
    return (tlv(0x5F29, b"\x00") + tlv(0x42, car) + tlv(0x7F49, key) + tlv(0x5F20, chr_) +
            tlv(0x7F4C, tlv(0x06, bytes.fromhex("04007F000703010202")) + tlv(0x53, b"\x00")) +
            tlv(0x5F25, bytes([2, 6, 0, 1, 0, 1])) + tlv(0x5F24, bytes([3, 6, 1, 2, 3, 1])))


class FusekeyHsm(fkit.Scratch, fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.card.close()  # the tool connects by itself
        cls.card = None
        cls.tool = fkit.tool_path(fkit.ARGS.sim)
        cls.make_scratch("fk-hsm-")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.remove_scratch()

    # -- helpers --

    def fk(self, *args, stdin=b"", rc=0, env=None):
        """Run `fusekey hsm ARGS`; assert the exit status; returns a ToolRun."""
        full = dict(os.environ)
        for k in list(full):
            if k.startswith("FUSEKEY_"):
                del full[k]
        full.update(env or {})
        if isinstance(stdin, str):
            stdin = stdin.encode()
        proc = subprocess.run([self.tool, "hsm"] + list(args), input=stdin, capture_output=True,
                              timeout=fkit.TOOL_TIMEOUT, env=full)
        run = fkit.ToolRun(["hsm"] + list(args), proc)
        if any(m in run.err for m in fkit.SANITIZER_MARKERS):
            raise AssertionError("sanitizer report from the fusekey tool:\n%s" % run)
        self.assertEqual(run.rc, rc, str(run))
        return run

    def fkj(self, *args, rc=0, env=None, stdin=b""):
        """The same with --json; returns the parsed document."""
        run = self.fk("--json", *args, rc=rc, env=env, stdin=stdin)
        try:
            doc = json.loads(run.out)
        except ValueError:
            raise AssertionError("not JSON:\n%s" % run)
        self.assertEqual(doc["ok"], rc == 0, str(run))
        return doc

    def pin(self, *args, **kw):
        return self.fk(*args, env={"FUSEKEY_PIN": PIN}, **kw)

    def apdu(self, cmd, select=True):
        """One APDU on a fresh connection (after SELECT of the HSM applet)."""
        with fkit.Card() as card:
            if select:
                self.select_hsm(card)
            data, sw = card.transmit(cmd)
            data, sw, _ = card.get_response_all(data, sw)
            return data, sw

    def read_file(self, fid):
        with fkit.Card() as card:
            self.select_hsm(card)
            return hsmkit.read_file(card, fid)

    def fids(self):
        data, sw = self.apdu(bytes.fromhex("80580000000000"))  # case 2 extended, Le 65536
        self.assertEqual(sw, fkit.SW_OK)
        return {int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)}

    def options(self):
        """The device options from the FCP's 85 object."""
        fcp = self.select_hsm_fresh()
        prop = tlv_dict(tlv_dict(fcp, "FCP")[0x62][0], "FCP 62")[0x85][0]
        return int.from_bytes(prop[:2], "big")

    def select_hsm_fresh(self):
        with fkit.Card() as card:
            return self.select_hsm(card)

    def user_pin_sw(self):
        return self.apdu(hsmkit.verify())[1]

    def verify_rsa(self, key_id, alg, msg, sig):
        """Check an RSA signature with the key of CE<id> parsed here (PSS: salt = digest
        length, as the card signs)."""
        kind, n, e = ce_key(self.read_file(0xCE00 | key_id))
        self.assertEqual(kind, "rsa")
        pub = rsa.RSAPublicNumbers(e, n).public_key()
        h = HASHES[alg.split("-")[-1]]
        if alg.startswith("rsa-pss"):
            pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
        else:
            pub.verify(sig, msg, padding.PKCS1v15(), h)

    def device_point(self):
        with fkit.Card() as card:
            self.select_hsm(card)
            return hsmkit.device_point(card)

    # -- the steps, in order --

    def test_01_status_blank(self):
        """A never-initialized device: status says so, in words and in JSON; the device CHR is
        the one of 2F02."""
        run = self.fk("status")
        self.assertIn("initialized: no", run.out)
        self.assertIn("user PIN: not set", run.out)
        doc = self.fkj("status")
        self.assertFalse(doc["initialized"])
        self.assertIsNone(doc["user_pin"]["tries_left"])
        certs = self.read_file(hsmkit.FID_DEVICE_CERTS)
        body = tlv_dict(the(tlv_dict(fkit.tlv_items(certs)[0][1], "7F21"), 0x7F4E, "7F4E"), "7F4E")
        self.assertEqual(doc["device_chr"], the(body, 0x5F20, "CHR").decode())
        self.assertEqual(doc["keys"], 0)

    def test_02_initialize_refusals(self):
        """Bad SO-PIN, short PIN, too many tries for a short PIN, bad options: refused before
        anything is sent; the card stays uninitialized."""
        run = self.fk("initialize", "--so-pin", "12345", "--pin", PIN, rc=1)
        self.assertIn("16 hexadecimal digits", run.err)
        run = self.fk("initialize", "--so-pin", SO_PIN, "--pin", "12345", rc=1)
        self.assertIn("6 to 16 characters", run.err)
        run = self.fk("initialize", "--so-pin", SO_PIN, "--pin", PIN, "--retries", "5", rc=1)
        self.assertIn("too many for a 6-character PIN", run.err)
        self.fk("initialize", "--so-pin", SO_PIN, "--pin", PIN, "--retries", "11", rc=2)
        self.fk("initialize", "--options", "xyz", rc=2)
        self.fk("initialize", "--bogus", rc=2)
        self.fk("initialize", "--alg", "ecdsa", rc=2)  # an option of another command
        self.assertEqual(self.user_pin_sw(), 0x6A88)

    def test_03_initialize_with_options(self):
        """Every option reaches the card: the FCP shows them, the user PIN is a transport PIN
        (6984) until changed, 5 tries, counter-only unblock allowed."""
        doc = self.fkj("initialize", "--so-pin", SO_PIN, "--pin", "87654321", "--retries", "5",
                       "--transport-pin", "--press-to-confirm", "--key-use-counters",
                       "--unblock-counter-only", "--key-domains", "4", "--dkek-shares", "2")
        self.assertEqual(doc["options"], 0x0323)
        self.assertEqual(set(doc["option_names"]), {"reset-retry-counter", "transport-pin",
                                                     "unblock-counter-only", "press-to-confirm",
                                                     "key-use-counters"})
        self.assertEqual(self.options(), 0x0323)
        self.assertEqual(self.user_pin_sw(), 0x6984)
        run = self.fk("pin", "status")
        self.assertIn("user PIN: transport PIN", run.out)
        run = self.fk("key", "generate", "ec:secp256r1", "--pin", "87654321", rc=1)
        self.assertIn("6984: the user PIN is a transport PIN", run.err)
        self.fk("pin", "change", "--pin", "87654321", "--new-pin", "11223344")
        self.assertEqual(self.user_pin_sw(), 0x63C5)
        # Counter-only unblock works with option 0020.
        self.apdu(hsmkit.verify(b"00000000"))
        self.assertEqual(self.user_pin_sw(), 0x63C4)
        self.fk("pin", "unblock", "--counter-only", env={"FUSEKEY_SO_PIN": SO_PIN})
        self.assertEqual(self.user_pin_sw(), 0x63C5)

    def test_04_reinitialize(self):
        """Re-initializing needs the typed token and the SO-PIN; a wrong SO-PIN costs a try and
        changes nothing; then a plain initialization as sc-hsm-tool makes it, with a label."""
        run = self.fk("initialize", "--so-pin", SO_PIN, "--pin", PIN, stdin="initialize\n", rc=1)
        self.assertIn("does not match INITIALIZE-HSM", run.err)
        self.assertEqual(self.options(), 0x0323)
        run = self.fk("initialize", "--so-pin", "0000000000000000", "--pin", PIN,
                      "--yes-i-understand", "INITIALIZE-HSM", rc=1)
        self.assertIn("63CE: wrong SO-PIN, 14 tries left", run.err)
        self.assertEqual(self.options(), 0x0323)
        # The SO-PIN typed at the prompt (a non-terminal input gives it as a line).
        run = self.fk("initialize", "--pin", PIN, "--label", "fusekey test",
                      "--yes-i-understand", "INITIALIZE-HSM", stdin=SO_PIN + "\n")
        self.assertIn("initialized: options 0001", run.out)
        self.assertEqual(self.options(), 0x0001)
        self.assertEqual(self.user_pin_sw(), 0x63C3)
        info = tlv_dict(self.read_file(0x2F03), "2F03")
        self.assertEqual(the(tlv_dict(info[0x30][0], "TokenInfo"), 0x80, "label"), b"fusekey test")
        out = fkit.run_client(["sc-hsm-tool", "--reader", "0"]).stdout.decode()
        self.assertIn("User PIN tries left  : 3", out)

    def test_05_pins(self):
        """PIN status, change (option, environment, prompt), a wrong PIN as a sentence, unblock
        with a new PIN, the SO-PIN change; each checked with VERIFY through pyscard."""
        doc = self.fkj("pin", "status")
        self.assertEqual(doc["user_pin"]["tries_left"], 3)
        self.assertEqual(doc["so_pin"]["tries_left"], 15)
        self.fk("pin", "change", env={"FUSEKEY_PIN": PIN, "FUSEKEY_NEW_PIN": "123456"})
        self.assertEqual(self.apdu(hsmkit.verify(b"123456"))[1], fkit.SW_OK)
        self.fk("pin", "change", stdin="123456\n%s\n" % PIN)
        self.assertEqual(self.apdu(hsmkit.verify(PIN.encode()))[1], fkit.SW_OK)
        doc = self.fkj("pin", "change", "--pin", "000000", "--new-pin", "111111", rc=1)
        self.assertEqual(doc["sw"], "63C2")
        self.assertIn("wrong user PIN, 2 tries left", doc["error"])
        self.apdu(hsmkit.verify(b"000000"))
        self.apdu(hsmkit.verify(b"000000"))
        self.assertEqual(self.user_pin_sw(), 0x6983)
        run = self.fk("key", "generate", "ec:secp256r1", "--pin", PIN, rc=1)
        self.assertIn("6983: the user PIN is blocked", run.err)
        run = self.fk("pin", "unblock", "--counter-only", "--so-pin", SO_PIN, rc=1)
        self.assertIn("6986", run.err)  # not allowed without option 0020
        self.fk("pin", "unblock", "--so-pin", SO_PIN, "--new-pin", PIN)
        self.assertEqual(self.apdu(hsmkit.verify(PIN.encode()))[1], fkit.SW_OK)
        self.fk("pin", "change", "--so", "--so-pin", SO_PIN, "--new-so-pin", "0102030405060708")
        self.fk("pin", "change", "--so", "--so-pin", "0102030405060708", "--new-so-pin", SO_PIN)
        self.assertEqual(self.apdu(bytes.fromhex("00200088"))[1], 0x63CF)

    def test_06_generate_ec(self):
        """Every curve the card generates: the request's inner signature (by the new key) and
        outer one (by the device key of 2F02) verify here; `key public` gives the same point."""
        device = self.device_point()
        for i, (name, curve) in enumerate(CURVES.items(), start=1):
            doc = self.fkj("key", "generate", "ec:" + name, env={"FUSEKEY_PIN": PIN})
            self.assertEqual(doc["id"], i)
            self.assertEqual(doc["type"], "EC " + name)
            ce = self.read_file(0xCE00 | i)
            req = hsmkit.Request(ce)
            kind, p, point = ce_key(ce)
            self.assertEqual(kind, "ec")
            self.assertTrue(hsmkit.ecdsa_ok(device, hsmkit.raw_to_der(req.outer_sig), data=req.outer_signed))
            half = len(req.inner_sig) // 2
            inner = utils.encode_dss_signature(int.from_bytes(req.inner_sig[:half], "big"),
                                               int.from_bytes(req.inner_sig[half:], "big"))
            pem = self.fk("key", "public", str(i)).out.encode()
            if curve is not None:
                ec_public(curve, point).verify(inner, req.body_tlv, ec.ECDSA(hashes.SHA256()))
                self.assertEqual(hsmkit.pem_point(pem), point)
            else:
                spki = self.write("k%d.der" % i, secp192k1_spki(point))
                got = fkit.run_client(["openssl", "pkey", "-pubin", "-in", spki, "-inform", "DER",
                                       "-outform", "PEM"]).stdout
                self.assertEqual(got, pem)
        self.__class__.ec_ids = {name: i for i, name in enumerate(CURVES, start=1)}

    def test_07_generate_rsa(self):
        """RSA 1024-4096 (progress on stderr), a metadata-limited key, X25519 and X448."""
        for bits, key_id in ((1024, 20), (2048, 21), (3072, 22), (4096, 23)):
            run = self.pin("key", "generate", "rsa:%d" % bits, "--id", str(key_id))
            self.assertIn("generating an RSA-%d key" % bits, run.err)
            self.assertIn("key %d: RSA-%d generated" % (key_id, bits), run.out)
            kind, n, e = ce_key(self.read_file(0xCE00 | key_id))
            self.assertEqual((kind, n.bit_length(), e), ("rsa", bits, 65537))
            pem = self.fk("key", "public", str(key_id)).out.encode()
            self.assertEqual(serialization.load_pem_public_key(pem).public_numbers().n, n)
        self.pin("key", "generate", "rsa:1024", "--id", "24", "--exponent", "3")
        self.assertEqual(ce_key(self.read_file(0xCE18))[2], 3)
        self.pin("key", "generate", "x25519", "--id", "30")
        self.pin("key", "generate", "curve448", "--id", "31")
        self.assertEqual(ce_key(self.read_file(0xCE1E))[0], "mont")
        run = self.pin("key", "generate", "ec:secp256r1", "--id", "20", rc=1)
        self.assertIn("key 20 exists", run.err)
        self.fk("key", "generate", "rsa:1000", rc=2)

    def test_08_sign_and_verify(self):
        """Every signature form, checked here with the key of CE<id>; verify agrees, and a
        changed message exits 3."""
        msg = self.write("msg", b"fusekey signs this " * 13)
        data = self.read("msg")
        for alg in ("rsa-pkcs1-sha1", "rsa-pkcs1-sha224", "rsa-pkcs1-sha256", "rsa-pkcs1-sha384",
                    "rsa-pkcs1-sha512", "rsa-pss-sha1", "rsa-pss-sha256", "rsa-pss-sha384",
                    "rsa-pss-sha512"):
            sig = self.path("sig-" + alg)
            run = self.pin("sign", "21", "--alg", alg, "--in", msg, "--out", sig)
            self.assertIn("signature verified", run.out)
            self.verify_rsa(21, alg, data, self.read("sig-" + alg))
            self.fk("verify", "21", "--alg", alg, "--in", msg, "--sig", sig)
            self.fk("verify", "21", "--alg", alg, "--data", "00", "--sig", sig, rc=3)
        # Host-side hashing forms: a DigestInfo (30), a hash (40), a raw block (20).
        n = ce_key(self.read_file(0xCE14))[1]
        pub = rsa.RSAPublicNumbers(65537, n).public_key()
        digest = hashlib.sha256(data).digest()
        info = bytes.fromhex("3031300d060960864801650304020105000420") + digest
        sig = bytes.fromhex(self.pin("sign", "20", "--alg", "rsa-pkcs1", "--data", info.hex()).out.split()[-1])
        pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        sig = bytes.fromhex(self.pin("sign", "20", "--alg", "rsa-pss", "--data", digest.hex()).out.split()[-1])
        pub.verify(sig, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        block = b"\x00\x01" + b"\xff" * (128 - 3 - len(info)) + b"\x00" + info
        sig = bytes.fromhex(self.pin("sign", "20", "--alg", "rsa-raw", "--data", block.hex()).out.split()[-1])
        pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        run = self.pin("sign", "20", "--alg", "rsa-raw", "--data", "00" * 100, rc=1)
        self.assertIn("6A80", run.err)
        # ECDSA with every hash on three curves, over the message and over a host digest.
        for name in ("secp256r1", "secp384r1", "brainpoolP512r1"):
            key_id = self.ec_ids[name]
            curve = CURVES[name]
            point = ce_key(self.read_file(0xCE00 | key_id))[2]
            for h in HASHES:
                sig = self.path("ecsig")
                self.pin("sign", str(key_id), "--alg", "ecdsa-" + h, "--in", msg, "--out", sig)
                ec_public(curve, point).verify(self.read("ecsig"), data, ec.ECDSA(HASHES[h]))
                self.fk("verify", str(key_id), "--alg", "ecdsa-" + h, "--in", msg, "--sig", sig)
            raw = bytes.fromhex(self.pin("sign", str(key_id), "--alg", "ecdsa", "--data", digest.hex(),
                                         "--raw").out.split()[-1])
            half = len(raw) // 2
            der = utils.encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
            ec_public(curve, point).verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        # secp192k1 with the openssl CLI.
        k1 = self.ec_ids["secp192k1"]
        spki = self.write("k1.der", secp192k1_spki(ce_key(self.read_file(0xCE00 | k1))[2]))
        sig = self.path("k1sig")
        self.pin("sign", str(k1), "--alg", "ecdsa-sha256", "--in", msg, "--out", sig)
        fkit.run_client(["openssl", "dgst", "-sha256", "-verify", spki, "-keyform", "DER",
                         "-signature", sig, msg])
        # A key the card does not let sign; an id without key; RSA key with ECDSA.
        run = self.pin("sign", "30", "--alg", "ecdsa", "--data", digest.hex(), rc=1)
        self.assertRegex(run.err, "6A81|6985|6A80")
        run = self.pin("sign", "99", "--alg", "ecdsa", "--data", digest.hex(), rc=1)
        self.assertIn("no public key on the card", run.err)

    def test_09_algorithm_list_and_counter(self):
        """--algorithms and --use-counter reach the card: another algorithm is refused (6985),
        the third use of a 2-use key too (6A84)."""
        self.pin("key", "generate", "secp256r1", "--id", "40", "--algorithms", "ecdsa-sha256",
                 "--use-counter", "2")
        run = self.pin("sign", "40", "--alg", "ecdsa-sha384", "--data", "01", rc=1)
        self.assertIn("6985: key 40 may not use ecdsa-sha384", run.err)
        self.pin("sign", "40", "--alg", "ecdsa-sha256", "--data", "01")
        self.pin("sign", "40", "--alg", "ecdsa-sha256", "--data", "02")
        doc = self.fkj("sign", "40", "--alg", "ecdsa-sha256", "--data", "03", rc=1,
                       env={"FUSEKEY_PIN": PIN})
        self.assertEqual(doc["sw"], "6A84")
        self.assertIn("use counter is exhausted", doc["error"])

    def test_10_decrypt(self):
        """RSA decryption of cryptograms made by the openssl CLI: PKCS#1 v1.5, OAEP
        (SHA-256), raw."""
        pem = self.write("k21.pem", self.fk("key", "public", "21").out.encode())
        secret = self.write("secret", b"the secret")
        for alg, opts in (("rsa-pkcs1", []), ("rsa-oaep", ["-pkeyopt", "rsa_padding_mode:oaep",
                                                           "-pkeyopt", "rsa_oaep_md:sha256",
                                                           "-pkeyopt", "rsa_mgf1_md:sha256"])):
            ct = self.path("ct-" + alg)
            fkit.run_client(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in", secret,
                             "-out", ct] + opts)
            out = self.path("pt-" + alg)
            self.pin("decrypt", "21", "--alg", alg, "--in", ct, "--out", out)
            self.assertEqual(self.read("pt-" + alg), b"the secret")
            self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        ct = self.path("ct-rsa-pkcs1")
        raw = bytes.fromhex(self.pin("decrypt", "21", "--alg", "rsa-raw", "--in", ct).out.split()[-1])
        self.assertEqual(len(raw), 256)
        self.assertTrue(raw.startswith(b"\x00\x02") and raw.endswith(b"\x00the secret"))
        bad = bytearray(self.read("ct-rsa-pkcs1"))
        bad[-1] ^= 1
        run = self.pin("decrypt", "21", "--alg", "rsa-pkcs1", "--data", bad.hex(), rc=1)
        self.assertIn("6A80", run.err)

    def test_11_derive(self):
        """ECDH on P-256, brainpoolP384r1 and secp256k1, X25519 and X448 against peers made
        here: the card's secret equals cryptography's."""
        for name in ("secp256r1", "brainpoolP384r1", "secp256k1"):
            key_id = self.ec_ids[name]
            curve = CURVES[name]
            peer = ec.generate_private_key(curve)
            pem = self.write("peer.pem", peer.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
            z = bytes.fromhex(self.pin("derive", str(key_id), "--peer", pem).out.split()[-1])
            card_pub = ec_public(curve, ce_key(self.read_file(0xCE00 | key_id))[2])
            self.assertEqual(z, peer.exchange(ec.ECDH(), card_pub))
        for key_id, mod in ((30, x25519), (31, x448)):
            peer = (mod.X25519PrivateKey if mod is x25519 else mod.X448PrivateKey).generate()
            der = self.write("peer.der", peer.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
            out = self.path("z")
            self.pin("derive", str(key_id), "--peer", der, "--out", out)
            u = ce_key(self.read_file(0xCE00 | key_id))[2]
            card_pub = (mod.X25519PublicKey if mod is x25519 else mod.X448PublicKey).from_public_bytes(u)
            self.assertEqual(self.read("z"), peer.exchange(card_pub))
        other = ec.generate_private_key(ec.SECP384R1()).public_key()
        pem = self.write("other.pem", other.public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))
        run = self.pin("derive", str(self.ec_ids["secp256r1"]), "--peer", pem, rc=1)
        self.assertIn("not on key", run.err)

    def test_12_list_and_delete(self):
        """key list names every key with its kind; delete needs the token and removes CC, C4
        and CE (checked with ENUMERATE through pyscard)."""
        doc = self.fkj("key", "list")
        kinds = {k["id"]: k["type"] for k in doc["keys"]}
        self.assertEqual(kinds[21], "RSA-2048")
        self.assertEqual(kinds[self.ec_ids["brainpoolP256r1"]], "EC brainpoolP256r1")
        self.assertEqual(kinds[30], "X25519")
        self.assertEqual(kinds[31], "X448")
        self.assertNotIn(0, kinds)
        self.pin("key", "generate", "rsa:1024", "--id", "50", "--label", "to go")
        self.assertEqual({k["id"]: k["label"] for k in self.fkj("key", "list")["keys"]}[50], "to go")
        run = self.pin("key", "delete", "50", stdin="DELETE-KEY-50\n", rc=1)
        self.assertIn("does not match DELETE-KEY", run.err)
        self.assertIn(0xCC32, self.fids())
        self.pin("key", "delete", "50", stdin="DELETE-KEY\n")
        self.assertFalse({0xCC32, 0xC432, 0xCE32} & self.fids())
        run = self.pin("key", "delete", "50", "--yes-i-understand", "DELETE-KEY", rc=1)
        self.assertIn("there is no key 50", run.err)

    def test_13_clock(self):
        """rtc set / get through the rescue applet; the raw 80 1E 04 02 agrees."""
        when = calendar.timegm((2030, 6, 15, 12, 34, 56))
        run = self.fk("rtc", "set", "2030-06-15T12:34:56")
        self.assertIn("2030-06-15T12:34:56Z (Unix time %d)" % when, run.out)
        with fkit.Card() as card:
            self.sw_is(fkit.select_aid(fkit.RESCUE_AID, p2=0x04), fkit.SW_OK, card)
            data, sw = card.transmit(bytes.fromhex("801E040204"))
        self.assertEqual(sw, fkit.SW_OK)
        self.assertIn(int.from_bytes(data, "big") - when, range(0, 30))
        doc = self.fkj("rtc", "get")
        self.assertIn(doc["epoch"] - when, range(0, 30))
        self.fk("rtc", "set", "1234567890")
        self.assertIn(self.fkj("rtc", "get")["epoch"] - 1234567890, range(0, 30))
        self.fk("rtc", "set", "2101-01-01T00:00:00", rc=2)

    def test_14_share_files(self):
        """A share file made by sc-hsm-tool opens with fusekey (KCV of the share decrypted
        here); one made by fusekey with 2-of-3 password shares opens here with the password
        rebuilt from two printed shares, and with fusekey from two others."""
        a = self.path("sc-hsm-tool.pbe")
        fkit.run_client(["sc-hsm-tool", "--reader", "0", "--create-dkek-share", a, "--password", "pw-of-a"])
        share = open_share_file(self.read("sc-hsm-tool.pbe"), b"pw-of-a")
        self.__class__.share_a = share
        run = self.fk("dkek", "check-share", a, "--password", "pw-of-a")
        self.assertIn(hashlib.sha256(share).digest()[:8].hex().upper(), run.out)
        self.assertIn("deciphering the DKEK share", run.err)
        self.assertIn("100%", run.err)
        run = self.fk("dkek", "check-share", a, "--password", "pw-of-b", rc=1)
        self.assertIn("wrong password", run.err)

        b = self.path("fusekey.pbe")
        doc = self.fkj("dkek", "create-share", b, "--pwd-shares-total", "3", "--pwd-shares-threshold", "2")
        self.assertEqual(os.stat(b).st_mode & 0o777, 0o600)
        prime = int(doc["prime"].replace(":", ""), 16)
        shares = {s["id"]: int(s["value"].replace(":", ""), 16) for s in doc["password_shares"]}
        self.assertEqual(sorted(shares), [1, 2, 3])
        secret = lagrange(prime, [(1, shares[1]), (3, shares[3])])
        self.assertEqual(secret, lagrange(prime, [(2, shares[2]), (3, shares[3])]))
        password = secret.to_bytes(8, "big")
        self.assertTrue(0 < password[0] < 0x80)
        share = open_share_file(self.read("fusekey.pbe"), password)
        self.assertEqual(hashlib.sha256(share).digest()[:8].hex(), doc["share_kcv"])
        self.__class__.share_b = share
        self.__class__.shares_b = doc
        run = self.fk("dkek", "check-share", b, "--pwd-shares-threshold", "2", "--prime", doc["prime"],
                      "--pwd-share", "2:" + [s["value"] for s in doc["password_shares"] if s["id"] == 2][0],
                      stdin="1\n%s\n" % [s["value"] for s in doc["password_shares"] if s["id"] == 1][0])
        self.assertIn(doc["share_kcv"].upper(), run.out)
        run = self.fk("dkek", "create-share", b, "--password", "another-pw", rc=1)
        self.assertIn("exists", run.err)

    def test_15_certificate_chain(self):
        """cert show verifies the card's chain; a chain issued here by a new CA for the device
        key installs (token and PIN), reads back, verifies, and OpenSC binds the token with the
        new serial; chains that do not fit are refused."""
        doc = self.fkj("cert", "show")
        self.assertEqual([c["signature"] for c in doc["certificates"]], ["valid", "valid"])
        device = self.device_point()
        ca = ec.generate_private_key(ec.SECP256R1())
        ca_point = ca.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint)
        root = cvc(cvc_body(b"FKTESTCA00001", b"FKTESTCA00001", ca_point), ca)
        dev = cvc(cvc_body(b"FKTESTCA00001", b"FKNEWDEV00001", device), ca)
        chain = self.write("chain.cvc", dev + root)

        other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        wrong_key = self.write("wrong.cvc", cvc(cvc_body(b"FKTESTCA00001", b"FKNEWDEV00001", other), ca) + root)
        run = self.pin("cert", "install", wrong_key, "--yes-i-understand", "REPLACE-DEVICE-CERTIFICATES", rc=1)
        self.assertIn("not for this device's key", run.err)
        broken = bytearray(dev + root)
        broken[len(dev) - 3] ^= 0x01  # in the device certificate's signature
        broken = self.write("broken.cvc", bytes(broken))
        run = self.pin("cert", "install", broken, "--yes-i-understand", "REPLACE-DEVICE-CERTIFICATES", rc=1)
        self.assertIn("does not verify", run.err)
        run = self.pin("cert", "install", chain, stdin="yes\n", rc=1)
        self.assertIn("does not match REPLACE-DEVICE-CERTIFICATES", run.err)
        self.assertNotEqual(self.read_file(hsmkit.FID_DEVICE_CERTS), dev + root)

        self.pin("cert", "install", chain, "--yes-i-understand", "REPLACE-DEVICE-CERTIFICATES")
        self.assertEqual(self.read_file(hsmkit.FID_DEVICE_CERTS), dev + root)
        doc = self.fkj("cert", "show")
        self.assertEqual([(c["chr"], c["car"], c["signature"]) for c in doc["certificates"]],
                         [("FKNEWDEV00001", "FKTESTCA00001", "valid"),
                          ("FKTESTCA00001", "FKTESTCA00001", "valid")])
        out = fkit.run_client(["pkcs11-tool", "--module", fkit.OPENSC_MODULE, "-L"]).stdout.decode()
        self.assertRegex(out, r"serial num\s*:\s*FKNEWDEV")

    def test_16_errors(self):
        """Transport and command-line errors: a reader that does not exist, an unknown command,
        a missing argument, --help."""
        run = self.fk("--reader", "No Such Reader", "status", rc=1)
        self.assertIn("no reader named 'No Such Reader'", run.err)
        self.fk("--reader", "Virtual PCD", "status")
        self.fk("key", "frobnicate", rc=2)
        self.fk("key", "delete", rc=2)
        self.fk("sign", "0", "--alg", "ecdsa", "--data", "00", rc=2)
        run = self.fk("--help")
        self.assertIn("key generate TYPE", run.out)
        doc = self.fkj("sign", "77", "--alg", "ecdsa", "--data", "00", rc=1, env={"FUSEKEY_PIN": PIN})
        self.assertIn("no public key on the card", doc["error"])
        # The prompt without an answer: a sentence, not a crash.
        run = self.fk("sign", str(self.ec_ids["secp256r1"]), "--alg", "ecdsa", "--data", "00" * 32, rc=1)
        self.assertIn("no answer to \"User PIN\"", run.err)

    def test_17_dkek_domains_wrap(self):
        """Re-initialized with a DKEK and key domains: a share made by fusekey imported by
        sc-hsm-tool (same KCV), a 2-share domain from sc-hsm-tool's and fusekey's shares
        imported by fusekey; keys generated in it wrap into blobs that open here under the
        DKEK computed here and hold the keys of CE<id>; they unwrap in both transport forms
        and sign as before; sc-hsm-tool unwraps fusekey's wrap file and fusekey sc-hsm-tool's;
        a domain with keys cannot be deleted, a cleared DKEK wraps nothing."""
        self.pin("initialize", "--so-pin", SO_PIN, "--pin", PIN, "--dkek-shares", "1", "--key-domains", "3",
                 "--yes-i-understand", "INITIALIZE-HSM")
        doc = self.fkj("domain", "list")
        self.assertEqual([(d["domain"], d["configured"], d.get("outstanding")) for d in doc["domains"]],
                         [(0, True, 1), (1, False, None), (2, False, None)])
        c = self.path("c.pbe")
        kcv_c = self.fkj("dkek", "create-share", c, "--password", "pw-of-c")["share_kcv"]
        out = fkit.run_client(["sc-hsm-tool", "--reader", "0", "--import-dkek-share", c,
                               "--password", "pw-of-c"]).stdout.decode()
        self.assertIn("DKEK key check value : %s" % kcv_c.upper(), out)
        self.assertEqual(self.fkj("dkek", "status")["kcv"], kcv_c)

        self.pin("domain", "create", "1", "--shares", "2")
        run = self.fk("dkek", "import", self.path("sc-hsm-tool.pbe"), "--domain", "1", "--password", "pw-of-a")
        self.assertIn("1 share(s) still missing", run.out)
        b = self.shares_b
        shares = {s["id"]: s["value"] for s in b["password_shares"]}
        doc = self.fkj("dkek", "import", self.path("fusekey.pbe"), "--domain", "1", "--pwd-shares-threshold", "2",
                       stdin="%s\n3\n%s\n1\n%s\n" % (b["prime"], shares[3], shares[1]))
        dkek1 = bytes(x ^ y for x, y in zip(self.share_a, self.share_b))
        self.assertEqual(doc["kcv"], hashlib.sha256(dkek1).digest()[:8].hex())
        self.assertEqual(doc["outstanding"], 0)

        self.pin("key", "generate", "secp256r1", "--id", "60", "--domain", "1")
        self.pin("key", "generate", "rsa:2048", "--id", "61", "--domain", "1")
        self.pin("key", "generate", "secp384r1", "--id", "62")
        for key_id in (60, 61):
            f = self.path("w%d" % key_id)
            self.pin("key", "wrap", str(key_id), f)
            blob, rest = wrap_file_parts(self.read("w%d" % key_id))
            self.assertEqual(rest[1], self.read_file(0xCE00 | key_id))  # the certificate part
            kind, comps = open_blob(blob, dkek1)
            ce = ce_key(self.read_file(0xCE00 | key_id))
            if key_id == 60:
                self.assertEqual(kind, 12)
                d, q = comps[5], comps[6]
                priv = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
                point = priv.public_key().public_bytes(serialization.Encoding.X962,
                                                       serialization.PublicFormat.UncompressedPoint)
                self.assertEqual((q, point), (ce[2], ce[2]))
            else:
                self.assertEqual(kind, 5)
                d, n, e = (int.from_bytes(x, "big") for x in comps)
                self.assertEqual((n, e), (ce[1], ce[2]))
                self.assertEqual(pow(pow(0xC0FFEE, d, n), e, n), 0xC0FFEE)
        self.pin("key", "unwrap", "70", self.path("w60"))
        self.pin("key", "unwrap", "71", self.path("w61"), "--via-2f10")
        msg = self.write("m17", b"unwrapped keys sign")
        self.pin("sign", "70", "--alg", "ecdsa-sha256", "--in", msg, "--out", self.path("s70"))
        ec_public(ec.SECP256R1(), ce_key(self.read_file(0xCE3C))[2]).verify(
            self.read("s70"), b"unwrapped keys sign", ec.ECDSA(hashes.SHA256()))
        self.pin("sign", "71", "--alg", "rsa-pss-sha256", "--in", msg, "--out", self.path("s71"))
        self.verify_rsa(61, "rsa-pss-sha256", b"unwrapped keys sign", self.read("s71"))
        run = self.pin("key", "unwrap", "70", self.path("w60"), rc=1)
        self.assertIn("key id 70 is in use", run.err)

        # sc-hsm-tool and fusekey read each other's wrap files.
        self.pin("key", "wrap", "62", self.path("w62"))
        out = fkit.run_client(["sc-hsm-tool", "--reader", "0", "--unwrap-key", self.path("w62"),
                               "--key-reference", "72", "--pin", PIN]).stdout.decode()
        self.assertIn("Key successfully imported", out)
        fkit.run_client(["sc-hsm-tool", "--reader", "0", "--wrap-key", self.path("sc62"),
                         "--key-reference", "62", "--pin", PIN])
        self.pin("key", "unwrap", "73", self.path("sc62"))
        p384 = ec_public(ec.SECP384R1(), ce_key(self.read_file(0xCE3E))[2])
        for key_id in (72, 73):
            self.pin("sign", str(key_id), "--alg", "ecdsa-sha384", "--in", msg, "--out", self.path("s"))
            p384.verify(self.read("s"), b"unwrapped keys sign", ec.ECDSA(hashes.SHA384()))

        # PKCS#12 import through a blob made on the host under domain 0's DKEK.
        p12 = os.path.join(DATA_DIR, "ec.p12")
        doc = self.fkj("key", "import", "80", p12, "--dkek-share", c, "--password", "pw-of-c",
                       "--p12-password", "p12-pass", "--label", "from p12", env={"FUSEKEY_PIN": PIN})
        self.assertEqual((doc["domain"], doc["type"], doc["kcv"]), (0, "EC secp256r1", kcv_c))
        with open(p12, "rb") as f:
            key, cert, _ = pkcs12.load_key_and_certificates(f.read(), b"p12-pass")
        self.assertEqual(self.read_file(0xCE50), cert.public_bytes(serialization.Encoding.DER))
        self.pin("sign", "80", "--alg", "ecdsa-sha256", "--in", msg, "--out", self.path("s80"))
        cert.public_key().verify(self.read("s80"), b"unwrapped keys sign", ec.ECDSA(hashes.SHA256()))
        p12 = os.path.join(DATA_DIR, "rsa-3des.p12")
        self.pin("key", "import", "81", p12, "--dkek-share", c, "--password", "pw-of-c", "--p12-password", "p12-pass")
        with open(p12, "rb") as f:
            _, cert, _ = pkcs12.load_key_and_certificates(f.read(), b"p12-pass")
        ct = cert.public_key().encrypt(b"to the imported key", padding.PKCS1v15())
        out = self.pin("decrypt", "81", "--alg", "rsa-pkcs1", "--data", ct.hex()).out.split()[-1]
        self.assertEqual(bytes.fromhex(out), b"to the imported key")
        run = self.pin("key", "import", "82", os.path.join(DATA_DIR, "ec.p12"), "--dkek-share", c,
                       "--password", "pw-of-c", "--p12-password", "wrong", rc=1)
        self.assertIn("wrong password", run.err)
        run = self.pin("key", "import", "82", os.path.join(DATA_DIR, "ec.p12"), "--dkek-share",
                       self.path("sc-hsm-tool.pbe"), "--password", "pw-of-a", "--p12-password", "p12-pass", rc=1)
        self.assertIn("no key domain of the card has this DKEK", run.err)

        # Domains: keys keep domain 1 alive; a cleared DKEK wraps nothing.
        run = self.pin("domain", "delete", "1", "--yes-i-understand", "DELETE-DOMAIN", rc=1)
        self.assertIn("6A89", run.err)
        for key_id in (60, 61, 70, 71):
            self.pin("key", "delete", str(key_id), "--yes-i-understand", "DELETE-KEY")
        self.pin("domain", "delete", "1", stdin="DELETE-DOMAIN\n")
        self.assertFalse(self.fkj("domain", "list")["domains"][1]["configured"])
        self.pin("domain", "clear", "0", "--yes-i-understand", "CLEAR-DKEK")
        run = self.pin("key", "wrap", "62", self.path("w62b"), rc=1)
        self.assertIn("6A88", run.err)

    def test_18_enroll(self):
        """cert enroll writes the device's request CE00: its inner signature is the device
        key's over its body, its outer one too (checked here), for the key of 2F02."""
        out = self.path("ce00")
        run = self.fk("cert", "enroll", out)
        self.assertIn("request written to", run.out)
        req = hsmkit.Request(self.read("ce00"))
        device = self.device_point()
        self.assertEqual(req.point, device)
        self.assertTrue(hsmkit.ecdsa_ok(device, hsmkit.raw_to_der(req.inner_sig), data=req.body_tlv))
        self.assertTrue(hsmkit.ecdsa_ok(device, hsmkit.raw_to_der(req.outer_sig), data=req.outer_signed))
        self.fk("cert", "enroll", out, rc=1)  # never overwritten without --force

    def openssl_verify(self, pem_or_cert, msg, sig, cert=False):
        """openssl pkeyutl -verify -rawin (pure EdDSA) of sig over the file msg; True when
        it verifies."""
        args = ["openssl", "pkeyutl", "-verify", "-rawin", "-in", msg, "-sigfile", sig, "-inkey", pem_or_cert]
        proc = fkit.run_client(args + (["-certin"] if cert else ["-pubin"]), check=False)
        out = proc.stdout.decode(errors="replace")
        self.assertEqual(proc.returncode == 0, "Signature Verified Successfully" in out, out)
        return proc.returncode == 0

    def test_19_eddsa(self):
        """Ed25519 and Ed448: generated (the request's self-signature, pure EdDSA over its
        body, and the device's signature checked here), `sign --alg eddsa` checked by the
        openssl CLI and equal to RFC 8032's deterministic signature, a PKCS#12 made by openssl
        imported under domain 0's DKEK (one share imported by the tool) and signing as the
        file's key, and wrap / unwrap into another id: the blob opened here holds the seed of
        the key of CE<id>, and the restored key signs as the original."""
        doc = self.fkj("dkek", "import", self.path("sc-hsm-tool.pbe"), "--password", "pw-of-a")
        dkek0 = self.share_a
        self.assertEqual((doc["kcv"], doc["outstanding"]), (hashlib.sha256(dkek0).digest()[:8].hex(), 0))
        device = self.device_point()
        msg = self.write("m19", b"Edwards keys sign this, " * 9)
        data = self.read("m19")
        for name, key_id, twin, pub_cls, priv_cls, size in (
                ("ed25519", 90, 93, ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey, 32),
                ("ed448", 91, 94, ed448.Ed448PublicKey, ed448.Ed448PrivateKey, 57)):
            title = "Ed25519" if name == "ed25519" else "Ed448"
            doc = self.fkj("key", "generate", name, "--id", str(key_id), env={"FUSEKEY_PIN": PIN})
            self.assertEqual((doc["id"], doc["type"]), (key_id, title))
            key, body, inner_sig, outer_signed, outer_sig = edwards_request(self.read_file(0xCE00 | key_id))
            self.assertEqual(key[0x06], bytes.fromhex("04007F00070202050203"))
            self.assertEqual(len(key[0x84]), size)
            pub = pub_cls.from_public_bytes(key[0x84])
            pub.verify(inner_sig, body)
            self.assertTrue(hsmkit.ecdsa_ok(device, hsmkit.raw_to_der(outer_sig), data=outer_signed))
            spki = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            self.assertEqual(bytes.fromhex(doc["spki"]), spki)
            pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            self.assertEqual(self.fk("key", "public", str(key_id)).out.encode(), pem)
            self.assertEqual({k["id"]: k["type"] for k in self.fkj("key", "list")["keys"]}[key_id], title)

            # A signature, checked by the openssl CLI with the key parsed here.
            pem_path = self.write("%s.pem" % name, pem)
            sig = self.path("sig-" + name)
            run = self.pin("sign", str(key_id), "--alg", "eddsa", "--in", msg, "--out", sig)
            self.assertIn("signature verified", run.out)
            self.assertEqual(len(self.read("sig-" + name)), 2 * size)
            self.assertTrue(self.openssl_verify(pem_path, msg, sig))
            other = self.write("m19-other", data + b"!")
            self.assertFalse(self.openssl_verify(pem_path, other, sig))
            self.fk("verify", str(key_id), "--alg", "eddsa", "--in", msg, "--sig", sig)
            self.fk("verify", str(key_id), "--alg", "eddsa", "--in", other, "--sig", sig, rc=3)

            # Wrap: the blob opens here under the DKEK of domain 0 and holds this key.
            self.pin("key", "wrap", str(key_id), self.path("w" + name))
            blob, rest = wrap_file_parts(self.read("w" + name))
            self.assertEqual(rest[1], self.read_file(0xCE00 | key_id))
            kind, comps = open_blob(blob, dkek0)
            self.assertEqual(kind, 12)
            self.assertEqual((comps[2], comps[3], comps[4]), (key[0x81], key[0x82], key[0x83]))
            seed, blob_pub = comps[5], comps[6]
            priv = priv_cls.from_private_bytes(seed)
            raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
            self.assertEqual((priv.public_key().public_bytes(*raw), blob_pub), (key[0x84], key[0x84]))
            # RFC 8032 signatures are deterministic: the card's is the seed's.
            self.assertEqual(self.read("sig-" + name), priv.sign(data))

            # Unwrap into another id: the restored key signs under the original public key.
            doc = self.fkj("key", "unwrap", str(twin), self.path("w" + name), env={"FUSEKEY_PIN": PIN})
            self.assertEqual((doc["kcv"], doc["certificate"]), (blob[:8].hex(), True))
            self.assertEqual(self.read_file(0xCE00 | twin), self.read_file(0xCE00 | key_id))
            twin_sig = bytes.fromhex(self.pin("sign", str(twin), "--alg", "eddsa", "--in", other).out.split()[-1])
            pub.verify(twin_sig, data + b"!")
            self.assertEqual(twin_sig, priv.sign(data + b"!"))

        # An Ed25519 PKCS#12 made by openssl, imported through a blob made by the tool.
        key_pem, crt, p12 = self.path("ed.key"), self.path("ed.crt"), self.path("ed.p12")
        fkit.run_client(["openssl", "genpkey", "-algorithm", "ED25519", "-out", key_pem])
        fkit.run_client(["openssl", "req", "-new", "-x509", "-key", key_pem, "-subj", "/CN=fusekey Ed25519 import",
                         "-days", "30", "-out", crt])
        fkit.run_client(["openssl", "pkcs12", "-export", "-inkey", key_pem, "-in", crt, "-passout", "pass:p12-ed",
                         "-out", p12])
        doc = self.fkj("key", "import", "92", p12, "--dkek-share", self.path("sc-hsm-tool.pbe"),
                       "--password", "pw-of-a", "--p12-password", "p12-ed", env={"FUSEKEY_PIN": PIN})
        self.assertEqual((doc["domain"], doc["type"], doc["kcv"]),
                         (0, "Ed25519", hashlib.sha256(dkek0).digest()[:8].hex()))
        cert = x509.load_pem_x509_certificate(self.read("ed.crt"))
        self.assertEqual(self.read_file(0xCE5C), cert.public_bytes(serialization.Encoding.DER))
        priv = serialization.load_pem_private_key(self.read("ed.key"), None)
        sig = self.path("sig-p12")
        self.pin("sign", "92", "--alg", "eddsa", "--in", msg, "--out", sig)
        self.assertTrue(self.openssl_verify(crt, msg, sig, cert=True))
        self.assertEqual(self.read("sig-p12"), priv.sign(data))

    def cipher(self, key_id, alg, data, *opts, decrypt=False):
        """`cipher` with data (None: no input) and options; the output line as bytes."""
        args = ["cipher", str(key_id), "--alg", alg] + (["--data", data.hex()] if data is not None else [])
        run = self.pin(*args, *opts, *(["--decrypt"] if decrypt else []))
        self.assertRegex(run.out, r"\A(?:[0-9a-f]{2})*\n\Z", str(run))
        return bytes.fromhex(run.out)

    def test_20_aes_keys(self):
        """AES keys: domain 1 gets a DKEK from two shares sent as raw APDUs; `key generate
        aes:128/192/256/512` in it, each wrapped into a blob that opens here under that DKEK
        and holds a key that encrypts as the card's; keys of known value put on the card
        as blobs made here, unwrapped in both transport forms; a blob's algorithm list
        holds; a blob with a damaged MAC is refused and writes nothing."""
        self.pin("domain", "create", "1", "--shares", "2")
        r1, r2 = os.urandom(32), os.urandom(32)
        for share in (r1, r2):
            self.assertEqual(self.apdu(bytes.fromhex("8052000120") + share)[1], fkit.SW_OK)
        dkek1 = bytes(x ^ y for x, y in zip(r1, r2))
        doc = self.fkj("dkek", "status", "--domain", "1")
        self.assertEqual((doc["kcv"], doc["outstanding"]), (hashlib.sha256(dkek1).digest()[:8].hex(), 0))

        msg = os.urandom(64)
        for bits, key_id in ((128, 100), (192, 101), (256, 102), (512, 103)):
            doc = self.fkj("key", "generate", "aes:%d" % bits, "--id", str(key_id), "--domain", "1",
                           env={"FUSEKEY_PIN": PIN})
            self.assertEqual((doc["id"], doc["type"]), (key_id, "AES-%d" % bits))
            self.pin("key", "wrap", str(key_id), self.path("w%d" % key_id))
            blob, rest = wrap_file_parts(self.read("w%d" % key_id))
            self.assertEqual(rest, [self.read_file(0xC400 | key_id)])  # a description, no CE
            kind, (key,) = open_blob(blob, dkek1)
            self.assertEqual((kind, len(key)), (0x0F, bits // 8))
            iv = os.urandom(16)
            if bits == 512:
                want = Cipher(algorithms.AES(key), modes.XTS(iv)).encryptor().update(msg)
                self.assertEqual(self.cipher(key_id, "aes-xts", msg, "--iv", iv.hex()), want)
            else:
                want = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor().update(msg)
                self.assertEqual(self.cipher(key_id, "aes-cbc", msg, "--iv", iv.hex()), want)
        self.assertFalse({0xCE64, 0xCE65, 0xCE66, 0xCE67} & self.fids())

        # Keys of known value, as blobs made here.
        self.__class__.aes = {bits: os.urandom(bits // 8) for bits in (128, 192, 256, 512)}
        self.__class__.aes_ids = {128: 110, 192: 111, 256: 112, 512: 113}
        for bits, key_id in self.aes_ids.items():
            f = self.write("blob%d" % bits, tlv(0x30, tlv(0x04, aes_blob(dkek1, self.aes[bits]))))
            via = ["--via-2f10"] if bits in (192, 512) else []
            doc = self.fkj("key", "unwrap", str(key_id), f, *via, env={"FUSEKEY_PIN": PIN})
            self.assertEqual(doc["kcv"], hashlib.sha256(dkek1).digest()[:8].hex())
        keys = {k["id"]: (k["type"], k["bits"]) for k in self.fkj("key", "list")["keys"]}
        for bits, key_id in self.aes_ids.items():
            self.assertEqual(keys[key_id], ("AES-%d" % bits, bits))
        # The blob's algorithm list reaches the key: 51 (encrypt) only.
        key = os.urandom(16)
        self.pin("key", "unwrap", "115", self.write("blob-51", tlv(0x30, tlv(0x04, aes_blob(dkek1, key, b"\x51")))))
        x = os.urandom(32)
        want = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(x)
        self.assertEqual(self.cipher(115, "aes-ecb", x), want)
        run = self.pin("cipher", "115", "--alg", "aes-ecb", "--decrypt", "--data", want.hex(), rc=1)
        self.assertIn("6985", run.err)
        self.assertEqual(run.out, "")
        bad = bytearray(aes_blob(dkek1, os.urandom(32)))
        bad[-1] ^= 0x40
        run = self.pin("key", "unwrap", "114", self.write("bad-blob", tlv(0x30, tlv(0x04, bytes(bad)))), rc=1)
        self.assertIn("does not match the DKEK", run.err)
        self.assertFalse({0xCC72, 0xC472, 0xCE72} & self.fids())

    def test_21_cipher_known_answers(self):
        """Every mode, MAC and KDF of `cipher` on the keys of known value, each output equal
        to python3-cryptography's on the same key and inputs: AES ECB/CBC/CFB/OFB/CTR/GCM/
        CCM with each key size and the zero-IV CBC, CMAC and HKDF derivation of P2 10/11/18/
        99 both ways where they go both ways, on inputs of their own for each direction; XTS
        with both key sizes; ChaCha20-Poly1305; HMAC-SHA-1..512; HKDF-SHA-256/384/512;
        PBKDF2; X9.63. Damaged GCM, CCM and ChaCha20-Poly1305 tags: exit 1, no output."""
        rnd = os.urandom
        k, ids = self.aes, self.aes_ids

        def check(bits, alg, got, want, what=""):
            self.assertEqual(got.hex(), want.hex(), "%s with AES-%d %s" % (alg, bits, what))

        for bits in (128, 192, 256):
            kid, key = ids[bits], k[bits]
            # The classic modes, 51 and 52: each direction on data of its own.
            for alg, mode, n in (("aes-ecb", None, 48), ("aes-cbc", modes.CBC, 64), ("aes-cfb", modes.CFB, 37),
                                 ("aes-ofb", modes.OFB, 41), ("aes-ctr", modes.CTR, 70)):
                for decrypt in (False, True):
                    x = rnd(n)
                    if mode is None:
                        iv, m = None, modes.ECB()
                    else:
                        # CTR: a counter whose low 96 bits overflow within the data.
                        iv = rnd(4) + b"\xff" * 11 + b"\xfd" if alg == "aes-ctr" else rnd(16)
                        m = mode(iv)
                    c = Cipher(algorithms.AES(key), m)
                    want = (c.decryptor() if decrypt else c.encryptor()).update(x)
                    got = self.cipher(kid, alg, x, *(["--iv", iv.hex()] if iv else []), decrypt=decrypt)
                    check(bits, alg, got, want, "decrypt" if decrypt else "encrypt")
            # The zero-IV CBC of P2 10 / 11, and CBC of 51 without --iv.
            x = rnd(32)
            c = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
            check(bits, "aes-cbc-iv0", self.cipher(kid, "aes-cbc-iv0", x), c.encryptor().update(x))
            check(bits, "aes-cbc-iv0", self.cipher(kid, "aes-cbc-iv0", x, decrypt=True), c.decryptor().update(x))
            x = rnd(16)
            check(bits, "aes-cbc", self.cipher(kid, "aes-cbc", x), c.encryptor().update(x), "without --iv")
            # CMAC (18) and the derivation of 99: HKDF-SHA-256, no salt, info = data, as long.
            x = rnd(40 + bits // 64)
            mac = cmac.CMAC(algorithms.AES(key))
            mac.update(x)
            check(bits, "aes-cmac", self.cipher(kid, "aes-cmac", x), mac.finalize())
            x = rnd(24 + bits // 8)
            want = HKDF(hashes.SHA256(), len(x), None, x).derive(key)
            check(bits, "aes-derive", self.cipher(kid, "aes-derive", x), want)
            # GCM and CCM with AAD (16-byte tags), both ways.
            ccm_nonce = {128: 7, 192: 11, 256: 13}[bits]
            for alg, aead, nonce_len in (("aes-gcm", AESGCM(key), 12), ("aes-ccm", AESCCM(key, 16), ccm_nonce)):
                nonce, aad, x = rnd(nonce_len), rnd(20 + bits // 64), rnd(45)
                got = self.cipher(kid, alg, x, "--iv", nonce.hex(), "--aad", aad.hex())
                check(bits, alg, got, aead.encrypt(nonce, x, aad), "encrypt")
                nonce, x = rnd(nonce_len), rnd(33)
                got = self.cipher(kid, alg, aead.encrypt(nonce, x, None), "--iv", nonce.hex(), decrypt=True)
                check(bits, alg, got, x, "decrypt")

        key = k[128]
        mac = cmac.CMAC(algorithms.AES(key))
        check(128, "aes-cmac", self.cipher(ids[128], "aes-cmac", b""), mac.finalize(), "of the empty message")
        x = rnd(64)
        check(512, "aes-derive", self.cipher(ids[512], "aes-derive", x),
              HKDF(hashes.SHA256(), 64, None, x).derive(k[512]))
        # GCM with a nonce that is not 12 bytes (GHASH of the nonce), through files.
        big = self.write("big", rnd(3000))
        nonce, aad = rnd(16), rnd(5)
        self.pin("cipher", str(ids[256]), "--alg", "aes-gcm", "--in", big, "--iv", nonce.hex(), "--aad", aad.hex(),
                 "--out", self.path("big.ct"))
        check(256, "aes-gcm", self.read("big.ct"), AESGCM(k[256]).encrypt(nonce, self.read("big"), aad), "3000 bytes")
        self.pin("cipher", str(ids[256]), "--alg", "aes-gcm", "--decrypt", "--in", self.path("big.ct"), "--iv",
                 nonce.hex(), "--aad", aad.hex(), "--out", self.path("big.pt"))
        self.assertEqual(self.read("big.pt"), self.read("big"))
        self.assertEqual(os.stat(self.path("big.pt")).st_mode & 0o777, 0o600)

        # XTS: AES-128-XTS with the 256-bit key, AES-256-XTS with the 512-bit one; 40 bytes
        # (ciphertext stealing), both ways.
        for bits in (256, 512):
            for decrypt in (False, True):
                tweak, x = rnd(16), rnd(40)
                c = Cipher(algorithms.AES(k[bits]), modes.XTS(tweak))
                want = (c.decryptor() if decrypt else c.encryptor()).update(x)
                check(bits, "aes-xts", self.cipher(ids[bits], "aes-xts", x, "--iv", tweak.hex(), decrypt=decrypt),
                      want, "decrypt" if decrypt else "encrypt")
        # ChaCha20-Poly1305 with the 256-bit key.
        chacha = ChaCha20Poly1305(k[256])
        nonce, aad, x = rnd(12), rnd(7), rnd(50)
        check(256, "chacha20-poly1305", self.cipher(ids[256], "chacha20-poly1305", x, "--iv", nonce.hex(),
                                                    "--aad", aad.hex()), chacha.encrypt(nonce, x, aad))
        nonce, aad, x = rnd(12), rnd(9), rnd(31)
        check(256, "chacha20-poly1305", self.cipher(ids[256], "chacha20-poly1305", chacha.encrypt(nonce, x, aad),
                                                    "--iv", nonce.hex(), "--aad", aad.hex(), decrypt=True), x)

        # HMAC with keys of every size (the 512-bit key: a whole SHA-1/256 block).
        for alg, h, bits in (("hmac-sha1", hashes.SHA1(), 128), ("hmac-sha224", hashes.SHA224(), 192),
                             ("hmac-sha256", hashes.SHA256(), 512), ("hmac-sha384", hashes.SHA384(), 256),
                             ("hmac-sha512", hashes.SHA512(), 512)):
            x = rnd(30 + bits // 16)
            m = hmac.HMAC(k[bits], h)
            m.update(x)
            check(bits, alg, self.cipher(ids[bits], alg, x), m.finalize())
        # HKDF: info as the input, --salt, --length (default: the hash's; 256 needs an
        # extended Le, as a short 00 asks for the default).
        for alg, h, bits, info, salt, n in (("hkdf-sha256", hashes.SHA256(), 128, rnd(20), rnd(16), 256),
                                            ("hkdf-sha384", hashes.SHA384(), 256, rnd(10), None, None),
                                            ("hkdf-sha512", hashes.SHA512(), 512, None, rnd(32), 100)):
            opts = (["--salt", salt.hex()] if salt else []) + (["--length", str(n)] if n else [])
            want = HKDF(h, n or h.digest_size, salt, info).derive(k[bits])
            check(bits, alg, self.cipher(ids[bits], alg, info, *opts), want)
        # PBKDF2: the key is the password; --hash (default SHA-256), --length (default 32);
        # 200 iterations need a leading zero byte in their INTEGER.
        for h, name, bits, n, count in ((hashes.SHA256(), None, 256, None, 1000),
                                        (hashes.SHA1(), "sha1", 128, 20, 200),
                                        (hashes.SHA512(), "sha512", 192, 100, 3)):
            salt = rnd(16)
            opts = ["--salt", salt.hex(), "--iterations", str(count)]
            opts += (["--hash", name] if name else []) + (["--length", str(n)] if n else [])
            want = PBKDF2HMAC(h, n or 32, salt, count).derive(k[bits])
            check(bits, "pbkdf2", self.cipher(ids[bits], "pbkdf2", None, *opts), want, "with %s" % h.name)
        # X9.63: the key is Z, the input the shared info.
        for h, name, bits, info, n in ((hashes.SHA256(), "sha256", 256, rnd(24), None),
                                       (hashes.SHA512(), "sha512", 192, None, 80),
                                       (hashes.SHA1(), "sha1", 128, rnd(8), 256)):
            opts = ["--hash", name] + (["--length", str(n)] if n else [])
            want = X963KDF(h, n or 32, info).derive(k[bits])
            check(bits, "x963", self.cipher(ids[bits], "x963", info, *opts), want, "with %s" % h.name)

        # A damaged tag: exit 1, no plaintext on standard output or in --out.
        for alg, aead, bits, nonce in (("aes-gcm", AESGCM(k[128]), 128, rnd(12)),
                                       ("aes-ccm", AESCCM(k[192], 16), 192, rnd(13)),
                                       ("chacha20-poly1305", chacha, 256, rnd(12))):
            ct = bytearray(aead.encrypt(nonce, b"never shown " * 3, None))
            ct[-1] ^= 0x01
            out = self.path("tampered.pt")
            args = ["cipher", str(ids[bits]), "--alg", alg, "--decrypt", "--data", ct.hex(), "--iv", nonce.hex()]
            run = self.pin(*args, "--out", out, rc=1)
            self.assertIn("the tag does not verify", run.err)
            self.assertEqual(run.out, "")
            self.assertFalse(os.path.exists(out))
            run = self.pin(*args, rc=1)
            self.assertIn("the tag does not verify", run.err)
            self.assertEqual(run.out, "")


if __name__ == "__main__":
    fkit.main(__doc__)
