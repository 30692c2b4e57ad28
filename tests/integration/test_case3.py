# SPDX-License-Identifier: Apache-2.0
"""GENERATE ASYMMETRIC KEY PAIR without Le (case 3), as CardContact's PKCS#11 module
(sc-hsm-embedded) sends it: it expects 9000 and no data, and then reads the
authenticated request from CE<id>. Raw APDUs through pcscd with pyscard, checked with
python3-cryptography, openssl and pkcs15-tool:

- `00 46 <id> 00 Lc <template>`, short (a template with the curve's p, a and G) and
  extended (OpenSC's template with the whole domain), answers 9000 with no data; CE<id>
  then holds the request: the CHR and CAR of the template, the new key's signature over
  the body and the device key's (2F02) over the request; pkcs15-tool exports the same
  public key; the key signs, and openssl verifies the signature with both public keys.
- The same command with a short Le smaller than the request (case 4) answers Le bytes and
  61xx, and GET RESPONSE delivers the rest: together exactly CE<id>.
"""

import hashlib

import fkit
import hsmkit
from fkit import SW_OK, hx
from hsmkit import ALG_ECDSA, PIN, PREFIX_EE_CERT, key_fid, pkcs15_id

TOOL_TIMEOUT = 120  # seconds per client run
SHORT_LE = 0x40     # far below the size of a P-256 request (about 490 bytes)
MESSAGE = b"a key made by a case-3 GENERATE signs this\n"


def short_generate(key_id, template, le=None):
    """`00 46 <id> 00 Lc <template> [Le]` with a one-byte Lc (and Le)."""
    assert len(template) <= 0xFF, "template of %d bytes needs an extended Lc" % len(template)
    cmd = bytes([0x00, 0x46, key_id, 0x00, len(template)]) + template
    return cmd + bytes([le]) if le is not None else cmd


class Case3(hsmkit.InitializedHsm):

    SCRATCH_PREFIX = "fk-case3-"

    def template(self, key_id, full_domain):
        """(CHR, P-256 template naming key_id)."""
        chr_ = b"FKCASE3%02X00001" % key_id
        return chr_, hsmkit.ec_template(chr_, full_domain=full_domain)

    def check_request(self, key_id, chr_, expected=None):
        """CE<id> is the authenticated request for chr_ (and equal to `expected` when
        given); returns the request."""
        stored = hsmkit.read_file(self.card, key_fid(PREFIX_EE_CERT, key_id))
        if expected is not None:
            self.assertEqual(stored, expected, "CE%02X is not what GENERATE answered" % key_id)
        req = hsmkit.Request(stored)
        self.assertEqual(req.size, len(stored), "CE%02X has bytes after the request" % key_id)
        self.assertEqual(req.chr, chr_)
        self.assertEqual(req.car, hsmkit.DEFAULT_CAR)
        self.assertEqual(hsmkit.request_problems(req, self.device), [])
        return req

    def check_key_signs(self, key_id, req):
        """The key signs a digest; openssl verifies the signature with the request's public
        key and with the one pkcs15-tool exports, which must be the same key."""
        digest = hashlib.sha256(MESSAGE).digest()
        sig = self.sw_is(hsmkit.sign(key_id, ALG_ECDSA, digest), SW_OK)
        self.card.close()  # OpenSC connects on its own
        try:
            exported = self.path("p15_%02X.pem" % key_id)
            fkit.run_client(["pkcs15-tool", "--reader", "0", "--read-public-key",
                             pkcs15_id(key_id), "-o", exported], timeout=TOOL_TIMEOUT)
        finally:
            type(self).card = self.rig.wait_card()
        ours = self.write("req_%02X.pem" % key_id, hsmkit.public_pem(req.point))
        self.assertEqual(hsmkit.pem_point(self.read("p15_%02X.pem" % key_id)), req.point,
                         "pkcs15-tool exports another public key than CE%02X holds" % key_id)
        self.write("digest", digest)
        self.write("sig", sig)
        for pem in (ours, exported):
            proc = fkit.run_client(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem,
                                    "-in", self.path("digest"), "-sigfile", self.path("sig")],
                                   check=False, timeout=TOOL_TIMEOUT)
            self.assertEqual(proc.returncode, 0, "openssl does not verify the signature with"
                             " %s: %s" % (pem, proc.stdout + proc.stderr))

    def generate_case3(self, key_id, cmd, chr_):
        """Send a case-3 GENERATE: 9000 and no data; then CE<id> and the key."""
        data, sw = self.card.transmit(cmd)
        self.assertTrue(sw == SW_OK and data == b"", "case-3 GENERATE %s... -> %04X and %d"
                        " bytes of data: expected 9000 and no data" % (hx(cmd[:8]), sw, len(data)))
        self.check_key_signs(key_id, self.check_request(key_id, chr_))

    def test_short_case3(self):
        """Short case 3 (Lc, no Le): 9000 without data; CE holds the request; the key signs."""
        chr_, template = self.template(1, full_domain=False)
        self.generate_case3(1, short_generate(1, template), chr_)

    def test_extended_case3(self):
        """Extended case 3 with OpenSC's whole template: 9000 without data; CE holds the
        request; the key signs."""
        chr_, template = self.template(2, full_domain=True)
        self.generate_case3(2, hsmkit.ext(bytes([0x00, 0x46, 2, 0x00]), template), chr_)

    def test_short_le(self):
        """Case 4 with a short Le below the request's size: Le bytes and 61xx, and GET
        RESPONSE delivers the rest; together they are CE<id>; the key signs."""
        chr_, template = self.template(3, full_domain=False)
        data, sw = self.card.transmit(short_generate(3, template, SHORT_LE))
        self.assertEqual(sw >> 8, fkit.SW1_BYTES_REMAINING, "GENERATE with Le %02X -> %04X"
                         % (SHORT_LE, sw))
        self.assertEqual(len(data), SHORT_LE)
        whole, sw, n = self.card.get_response_all(data, sw)
        self.assertEqual(sw, SW_OK)
        self.assertGreaterEqual(n, 1)
        self.check_key_signs(3, self.check_request(3, chr_, expected=whole))


if __name__ == "__main__":
    fkit.main(__doc__)
