# SPDX-License-Identifier: Apache-2.0
"""`fusekey hsm encrypt` against fusekey-sim behind pcscd: RSA encryption on the host with the
public key of CE<id>, the private half staying on the card. Each result is checked by an
independent implementation:

- Round trips on RSA-2048 and RSA-1024 keys the tool generated: what `encrypt` writes
  (PKCS#1 v1.5 and OAEP-SHA-256, under both OAEP names) decrypts on the card with
  `decrypt` under the same --alg name; what `openssl pkeyutl -encrypt` makes with the
  public key `key public` exports decrypts on the card too.
- OAEP with SHA-1 and SHA-384 (the second with a label), which the card's DECIPHER does not
  unpad: the card's raw RSA result (`decrypt --alg rsa-raw`) is decoded here with an OAEP
  decoder written out with hashlib (itself checked on SHA-256 ciphertexts the card opens),
  and the card's OAEP-SHA-256 refuses them. The PKCS#1 v1.5 block is checked the same way.
- The padding's limits (k - 11, k - 2 hLen - 2, SHA-512 on RSA-1024), no PIN needed, JSON
  output, and the refusals: an EC key (exit 2, pointing at derive), a missing key, --label
  with PKCS#1 v1.5, --pin.
"""

import hashlib
import json
import os
import subprocess

import fkit
import hsmkit
from cryptography.hazmat.primitives import serialization
from hsmkit import tlv_dict, the

PIN = "648219"
SO_PIN = "3537363231383830"
MESSAGE = b"only the card opens this\n"
RSA_IDS = {2048: 1, 1024: 2}
EC_ID = 3


def mgf1(seed, length, hname):
    out, counter = b"", 0
    while len(out) < length:
        out += hashlib.new(hname, seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def oaep_decode(em, hname, label=b""):
    """The message of an OAEP block (RFC 8017 7.1.2 steps 3a-3g), or an AssertionError."""
    hlen = hashlib.new(hname).digest_size
    if em[0] != 0:
        raise AssertionError("OAEP block does not start with 00")
    masked_seed, masked_db = em[1:1 + hlen], em[1 + hlen:]
    seed = xor(masked_seed, mgf1(masked_db, hlen, hname))
    db = xor(masked_db, mgf1(seed, len(em) - hlen - 1, hname))
    if db[:hlen] != hashlib.new(hname, label).digest():
        raise AssertionError("OAEP label hash differs")
    rest = db[hlen:].lstrip(b"\x00")
    if not rest.startswith(b"\x01"):
        raise AssertionError("OAEP separator missing")
    return rest[1:]


def pkcs1_decode(em):
    """The message of a PKCS#1 v1.5 type 2 block."""
    if em[:2] != b"\x00\x02":
        raise AssertionError("not a type 2 block: %s" % em[:2].hex())
    end = em.index(b"\x00", 2)
    if end < 10:
        raise AssertionError("padding string shorter than 8 bytes")
    return em[end + 1:]


def ce_modulus(buf):
    """(n, e) of a CE file (an authenticated request 67), parsed here."""
    outer = tlv_dict(the(tlv_dict(buf, "CE"), 0x67, "CE"), "CE 67")
    body = tlv_dict(the(tlv_dict(the(outer, 0x7F21, "67"), "7F21"), 0x7F4E, "7F21"), "7F4E")
    key = tlv_dict(the(body, 0x7F49, "7F4E"), "7F49")
    return int.from_bytes(the(key, 0x81, "n"), "big"), int.from_bytes(the(key, 0x82, "e"), "big")


class FusekeyEncrypt(fkit.Scratch, fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.card.close()  # the tool connects by itself
        cls.card = None
        cls.tool = fkit.tool_path(fkit.ARGS.sim)
        cls.make_scratch("fk-enc-")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.remove_scratch()

    # -- helpers --

    def fk(self, *args, rc=0, env=None):
        """Run `fusekey hsm ARGS` (no FUSEKEY_* from outside, stdin empty: a PIN prompt
        fails); assert the exit status; returns a ToolRun."""
        full = {k: v for k, v in os.environ.items() if not k.startswith("FUSEKEY_")}
        full.update(env or {})
        proc = subprocess.run([self.tool, "hsm"] + list(args), input=b"", capture_output=True,
                              timeout=fkit.TOOL_TIMEOUT, env=full)
        run = fkit.ToolRun(["hsm"] + list(args), proc)
        if any(m in run.err for m in fkit.SANITIZER_MARKERS):
            raise AssertionError("sanitizer report from the fusekey tool:\n%s" % run)
        self.assertEqual(run.rc, rc, str(run))
        return run

    def pin(self, *args, **kw):
        return self.fk(*args, env={"FUSEKEY_PIN": PIN}, **kw)

    def encrypt(self, key_id, alg, msg, *extra):
        """The tool's ciphertext of msg (no PIN given)."""
        src = self.write("msg", msg)
        out = self.path("ct")
        if os.path.exists(out):
            os.unlink(out)
        run = self.fk("encrypt", str(key_id), "--alg", alg, "--in", src, "--out", out, *extra)
        self.assertIn("written to", run.out)
        return self.read("ct")

    def card_decrypt(self, key_id, alg, ct, rc=0):
        """The card's plaintext of ct (decrypt --alg alg), or the run when rc != 0."""
        src = self.write("ct-in", ct)
        run = self.pin("decrypt", str(key_id), "--alg", alg, "--in", src, rc=rc)
        return bytes.fromhex(run.out.split()[-1]) if rc == 0 else run

    def read_ce(self, key_id):
        with fkit.Card() as card:
            self.select_hsm(card)
            return hsmkit.read_file(card, 0xCE00 | key_id)

    # -- the steps, in order --

    def test_01_keys(self):
        """An initialized card with RSA-2048, RSA-1024 and P-256 keys made by the tool; the
        public keys `key public` exports are those of CE<id>."""
        self.fk("initialize", "--so-pin", SO_PIN, "--pin", PIN)
        for bits, key_id in RSA_IDS.items():
            self.pin("key", "generate", "rsa:%d" % bits, "--id", str(key_id))
            pem = self.fk("key", "public", str(key_id)).out.encode()
            self.write("k%d.pem" % key_id, pem)
            numbers = serialization.load_pem_public_key(pem).public_numbers()
            self.assertEqual((numbers.n, numbers.e), ce_modulus(self.read_ce(key_id)))
            self.assertEqual(numbers.n.bit_length(), bits)
        self.pin("key", "generate", "ec:secp256r1", "--id", str(EC_ID))

    def test_02_tool_to_card(self):
        """PKCS#1 v1.5 and OAEP-SHA-256 (rsa-oaep and rsa-oaep-sha256, the same padding in
        encrypt and decrypt) from the tool open on the card; every ciphertext is the modulus
        length and fresh (random padding)."""
        for bits, key_id in RSA_IDS.items():
            for alg in ("rsa-pkcs1", "rsa-oaep", "rsa-oaep-sha256"):
                ct = self.encrypt(key_id, alg, MESSAGE)
                self.assertEqual(len(ct), bits // 8)
                self.assertNotEqual(ct, self.encrypt(key_id, alg, MESSAGE))
                self.assertEqual(self.card_decrypt(key_id, alg, ct), MESSAGE, alg)
            # The two paddings are not interchangeable.
            ct = self.encrypt(key_id, "rsa-pkcs1", MESSAGE)
            run = self.card_decrypt(key_id, "rsa-oaep", ct, rc=1)
            self.assertIn("6A80", run.err)

    def test_03_openssl_to_card(self):
        """openssl pkeyutl -encrypt with the exported public key; the card decrypts."""
        src = self.write("plain", MESSAGE)
        oaep = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
                "-pkeyopt", "rsa_mgf1_md:sha256"]
        for key_id in RSA_IDS.values():
            pem = self.path("k%d.pem" % key_id)
            for alg, opts in (("rsa-pkcs1", ["-pkeyopt", "rsa_padding_mode:pkcs1"]),
                              ("rsa-oaep", oaep)):
                out = self.path("ossl-ct")
                fkit.run_client(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem,
                                 "-in", src, "-out", out] + opts)
                self.assertEqual(self.card_decrypt(key_id, alg, self.read("ossl-ct")), MESSAGE)

    def test_04_blocks_decoded_here(self):
        """The card's raw RSA result of the tool's ciphertexts, unpadded here: PKCS#1 v1.5,
        OAEP-SHA-256 (the decoder agrees with the card), OAEP-SHA-1 and OAEP-SHA-384 with a
        label (which the card's DECIPHER does not take: 6A80, and the tool says so)."""
        for bits, key_id in RSA_IDS.items():
            ct = self.encrypt(key_id, "rsa-pkcs1", MESSAGE)
            self.assertEqual(pkcs1_decode(self.card_decrypt(key_id, "rsa-raw", ct)), MESSAGE)
            ct = self.encrypt(key_id, "rsa-oaep", MESSAGE)
            em = self.card_decrypt(key_id, "rsa-raw", ct)
            self.assertEqual(len(em), bits // 8)
            self.assertEqual(oaep_decode(em, "sha256"), MESSAGE)
            with self.assertRaises(AssertionError):
                oaep_decode(em, "sha1")
            for hname, label in (("sha1", None), ("sha384", b"to the card")):
                extra = ["--label", label.decode()] if label else []
                src = self.write("msg", MESSAGE)
                run = self.fk("encrypt", str(key_id), "--alg", "rsa-oaep-" + hname, "--in", src,
                              "--out", self.path("ct"), *extra)
                self.assertIn("SHA-256 and an empty label only", run.err)
                ct = self.read("ct")
                em = self.card_decrypt(key_id, "rsa-raw", ct)
                self.assertEqual(oaep_decode(em, hname, label or b""), MESSAGE, hname)
                if label:
                    with self.assertRaises(AssertionError):
                        oaep_decode(em, hname)
                self.assertIn("6A80", self.card_decrypt(key_id, "rsa-oaep", ct, rc=1).err)

    def test_05_limits(self):
        """The largest message of each padding passes, one byte more is refused before
        anything is encrypted; SHA-512 does not fit RSA-1024 at all."""
        for bits, key_id in RSA_IDS.items():
            k = bits // 8
            for alg, room, card_alg in (("rsa-pkcs1", k - 11, "rsa-pkcs1"),
                                        ("rsa-oaep", k - 66, "rsa-oaep")):
                msg = os.urandom(room)
                self.assertEqual(self.card_decrypt(key_id, card_alg, self.encrypt(key_id, alg, msg)),
                                 msg)
                src = self.write("long", msg + b"x")
                run = self.fk("encrypt", str(key_id), "--alg", alg, "--in", src, rc=1)
                self.assertIn("at most %d" % room, run.err)
        run = self.fk("encrypt", str(RSA_IDS[1024]), "--alg", "rsa-oaep-sha512", "--data", "00",
                      rc=1)
        self.assertIn("needs a modulus", run.err)
        msg = os.urandom(126)  # 256 - 2 * 64 - 2
        em = self.card_decrypt(RSA_IDS[2048], "rsa-raw",
                               self.encrypt(RSA_IDS[2048], "rsa-oaep-sha512", msg))
        self.assertEqual(oaep_decode(em, "sha512"), msg)

    def test_06_json_and_hex(self):
        """--json carries the ciphertext as hex, without --out it is printed as hex; both
        open on the card."""
        run = self.fk("--json", "encrypt", str(RSA_IDS[2048]), "--alg", "rsa-oaep", "--data",
                      MESSAGE.hex())
        doc = json.loads(run.out)
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["command"], "hsm encrypt")
        ct = bytes.fromhex(doc["ciphertext"])
        self.assertEqual(self.card_decrypt(RSA_IDS[2048], "rsa-oaep", ct), MESSAGE)
        run = self.fk("encrypt", str(RSA_IDS[1024]), "--alg", "rsa-pkcs1", "--data", "00ff")
        ct = bytes.fromhex(run.out.split()[-1])
        self.assertEqual(self.card_decrypt(RSA_IDS[1024], "rsa-pkcs1", ct), b"\x00\xff")

    def test_07_refusals(self):
        """An EC key (exit 2, pointing at derive), no key, options of other forms."""
        run = self.fk("encrypt", str(EC_ID), "--alg", "rsa-oaep", "--data", "00", rc=2)
        self.assertIn("EC keys do not encrypt", run.err)
        self.assertIn("derive", run.err)
        self.assertEqual(run.out, "")
        doc = json.loads(self.fk("--json", "encrypt", str(EC_ID), "--alg", "rsa-pkcs1", "--data",
                                 "00", rc=2).out)
        self.assertFalse(doc["ok"])
        self.assertIn("EC keys do not encrypt", doc["error"])
        run = self.fk("encrypt", "99", "--alg", "rsa-oaep", "--data", "00", rc=1)
        self.assertIn("no public key on the card", run.err)
        self.fk("encrypt", "1", "--alg", "rsa-pkcs1", "--label", "x", "--data", "00", rc=2)
        self.fk("encrypt", "1", "--alg", "rsa-raw", "--data", "00", rc=2)
        self.fk("encrypt", "1", "--alg", "rsa-oaep", "--data", "00", "--pin", PIN, rc=2)
        self.fk("encrypt", "1", "--alg", "rsa-oaep", rc=1)  # no input


if __name__ == "__main__":
    fkit.main(__doc__)
