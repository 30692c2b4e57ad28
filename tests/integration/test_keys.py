# SPDX-License-Identifier: Apache-2.0
"""Keys through unmodified OpenSC: generation, signatures, decryption and ECDH.

Every key is generated on the card with pkcs11-tool (OpenSC's PKCS#11 module),
its public key exported with pkcs15-tool, and every result checked with the
openssl command line: signatures verify, decryptions give back what openssl
encrypted, ECDH gives openssl's shared secret.
"""

import os

import fkit

PIN = "648219"
SO_PIN = "3537363231383830"
MODULE = fkit.OPENSC_MODULE
TIMEOUT = 600  # seconds per tool run (RSA-4096 generation under ASan is slow)

RSA_SIZES = (1024, 2048, 3072, 4096)
EC_CURVES = ("prime256v1", "secp384r1", "secp521r1", "brainpoolP256r1", "brainpoolP384r1",
             "brainpoolP512r1", "secp256k1", "secp192r1")
HASHES = ("SHA1", "SHA224", "SHA256", "SHA384", "SHA512")
MESSAGE = b"fusekey signs what it is given\n" * 3


def run(args, check=True, stdin=None):
    return fkit.run_client(args, check=check, stdin=stdin, timeout=TIMEOUT)


def p11(*args, check=True):
    return run(["pkcs11-tool", "--module", MODULE, "--login", "--pin", PIN] + list(args),
               check=check)


class Keys(fkit.Scratch, fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_scratch("fk-keys-")
        run(["sc-hsm-tool", "--initialize", "--so-pin", SO_PIN, "--pin", PIN])
        cls.next_id = 1

    def keygen(self, key_type):
        """Generate a key pair on the card; return (hex id, public key PEM path)."""
        kid = "%02x" % Keys.next_id
        Keys.next_id += 1
        out = p11("--keypairgen", "--key-type", key_type, "--id", kid, "--label", "k" + kid)
        self.assertIn(b"Private Key Object", out.stdout)
        pem = self.path("pub%s.pem" % kid)
        run(["pkcs15-tool", "--read-public-key", kid, "-o", pem])
        return kid, pem

    def sign(self, kid, mech, data, *extra):
        inp = self.write("in", data)
        sig = self.path("sig")
        p11("--sign", "--id", kid, "-m", mech, "-i", inp, "-o", sig, *extra)
        return self.read("sig")

    def openssl_verify(self, pem, digest, data, sig, *sigopts):
        self.write("data", data)
        self.write("sigv", sig)
        args = ["openssl", "dgst", "-" + digest.lower(), "-verify", pem, "-signature",
                self.path("sigv")]
        for opt in sigopts:
            args += ["-sigopt", opt]
        proc = run(args + [self.path("data")], check=False)
        self.assertEqual(proc.returncode, 0, "%s signature does not verify: %s" % (
            digest, proc.stdout + proc.stderr))

    def check_rsa_key(self, kid, pem, bits):
        k = bits // 8
        # Hash-and-sign PKCS#1 v1.5 and PSS, every hash.
        for h in HASHES:
            sig = self.sign(kid, h + "-RSA-PKCS", MESSAGE)
            self.assertEqual(len(sig), k)
            self.openssl_verify(pem, h, MESSAGE, sig)
            if h == "SHA512" and bits == 1024:
                continue  # the modulus is too short for a 64-byte salt
            sig = self.sign(kid, h + "-RSA-PKCS-PSS", MESSAGE)
            self.openssl_verify(pem, h, MESSAGE, sig, "rsa_padding_mode:pss",
                                "rsa_pss_saltlen:-1")
        # RSA-PKCS-PSS on a digest the host computed.
        digest = run(["openssl", "dgst", "-sha256", "-binary"], stdin=MESSAGE).stdout
        sig = self.sign(kid, "RSA-PKCS-PSS", digest, "--hash-algorithm", "SHA256", "--mgf",
                        "MGF1-SHA256")
        self.openssl_verify(pem, "SHA256", MESSAGE, sig, "rsa_padding_mode:pss",
                            "rsa_pss_saltlen:-1")
        # RSA-PKCS over raw data and RSA-X-509: recover with openssl.
        sig = self.sign(kid, "RSA-PKCS", b"raw data to sign")
        self.write("sigv", sig)
        rec = run(["openssl", "pkeyutl", "-verifyrecover", "-pubin", "-inkey", pem, "-in",
                   self.path("sigv")]).stdout
        self.assertEqual(rec, b"raw data to sign")
        block = b"\x00" + os.urandom(k - 1)
        sig = self.sign(kid, "RSA-X-509", block)
        self.write("sigv", sig)
        rec = run(["openssl", "pkeyutl", "-verifyrecover", "-pubin", "-inkey", pem, "-in",
                   self.path("sigv"), "-pkeyopt", "rsa_padding_mode:none"]).stdout
        self.assertEqual(rec, block)
        # Decryption of what openssl encrypted.
        secret = os.urandom(32)
        self.write("plain", secret)
        for mech, opts, p11opts in (
                ("RSA-PKCS", ["-pkeyopt", "rsa_padding_mode:pkcs1"], []),
                ("RSA-PKCS-OAEP", ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
                                   "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"],
                 ["--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256"])):
            ct = run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in",
                      self.path("plain")] + opts).stdout
            self.write("ct", ct)
            p11("--decrypt", "--id", kid, "-m", mech, "-i", self.path("ct"), "-o",
                self.path("pt"), *p11opts)
            self.assertEqual(self.read("pt"), secret, mech)
        raw = b"\x00" + os.urandom(k - 1)
        self.write("plain", raw)
        ct = run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pem, "-in",
                  self.path("plain"), "-pkeyopt", "rsa_padding_mode:none"]).stdout
        self.write("ct", ct)
        p11("--decrypt", "--id", kid, "-m", "RSA-X-509", "-i", self.path("ct"), "-o",
            self.path("pt"))
        self.assertEqual(self.read("pt")[-(k - 1):], raw[1:])

    def check_ec_key(self, kid, pem, curve):
        # ECDSA on a host digest and with card-side hashing.
        for h in ("SHA1", "SHA256", "SHA384", "SHA512"):
            digest = run(["openssl", "dgst", "-" + h.lower(), "-binary"], stdin=MESSAGE).stdout
            self.write("dig", digest)
            sig = self.sign(kid, "ECDSA", digest, "--signature-format", "openssl")
            self.write("sigv", sig)
            proc = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-in",
                        self.path("dig"), "-sigfile", self.path("sigv")], check=False)
            self.assertEqual(proc.returncode, 0, "ECDSA(%s) on %s: %s" % (h, curve, proc.stdout))
        for h in ("SHA1", "SHA224", "SHA256"):
            sig = self.sign(kid, "ECDSA-" + h, MESSAGE, "--signature-format", "openssl")
            self.openssl_verify(pem, h, MESSAGE, sig)
        # ECDH against a peer key made by openssl: both sides agree.
        peer = self.path("peer.pem")
        run(["openssl", "ecparam", "-name", curve, "-genkey", "-noout", "-out", peer])
        run(["openssl", "pkey", "-in", peer, "-pubout", "-outform", "DER", "-out",
             self.path("peer.der")])
        p11("--derive", "--id", kid, "-i", self.path("peer.der"), "-o", self.path("z"))
        expected = run(["openssl", "pkeyutl", "-derive", "-inkey", peer, "-peerkey", pem]).stdout
        self.assertEqual(self.read("z")[-len(expected):], expected, "ECDH on " + curve)

    def test_1_rsa(self):
        """RSA 1024-4096: generate, sign with every mechanism, decrypt."""
        for bits in RSA_SIZES:
            with self.subTest(bits=bits):
                kid, pem = self.keygen("rsa:%d" % bits)
                self.check_rsa_key(kid, pem, bits)

    def test_2_ec(self):
        """EC on eight curves: generate, ECDSA, ECDH."""
        for curve in EC_CURVES:
            with self.subTest(curve=curve):
                kid, pem = self.keygen("EC:" + curve)
                self.check_ec_key(kid, pem, curve)

    def test_3_pkcs11_self_test(self):
        """pkcs11-tool --test --login over every key on the card prints No errors."""
        out = p11("--test")
        self.assertIn(b"No errors", out.stdout + out.stderr)

    def test_4_without_pin(self):
        """Without a verified PIN the keys do not sign (raw APDU after a fresh SELECT)."""
        self.select_hsm()
        self.sw_is(fkit.apdu("80680120000100" + "00" * 256 + "0200"), 0x6982)


if __name__ == "__main__":
    fkit.main(__doc__)
