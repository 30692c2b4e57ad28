# SPDX-License-Identifier: Apache-2.0
"""The device identity through the real stack: the device key's authenticated request CE00,
and an issued certificate chain written to 2F02 the way Pico HSM's tools write the one their
online PKI returns (`pico-hsm-tool.py initialize`: READ CE00, SELECT 2F02, VERIFY, UPDATE
BINARY of the chain with FID 0000). Raw APDUs with pyscard, every signature checked with
python3-cryptography, CV certificates built here in Python by a test CA:

- CE00 is readable without a PIN and is a request for the device key of 2F02: the device key
  signed its body and the request; CAR, CHR and outer CAR are the device CHR.
- The test CA issues a device certificate for the key in CE00 (holder DETSTDEV400007) and the
  card takes the chain (device certificate, CA certificate); a chain for another key, a CHR
  OpenSC cannot use and an unauthenticated write are refused and leave 2F02 as it was.
- OpenSC accepts the issued chain: `pkcs11-tool -L` shows the token with serial DETSTDEV4
  (the CHR minus its sequence number) and `pkcs15-tool -D` lists the token; a key generated
  afterwards has the new CHR as outer CAR and the device key's signature over its request.
- After a restart of the card the chain and CE00 are what they were.
"""

import fkit
import hsmkit
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from fkit import SW_OK, hx
from hsmkit import PIN, tlv

TOOL_TIMEOUT = 120
FID_CE00 = 0xCE00
FID_CHAIN = hsmkit.FID_DEVICE_CERTS
CA_CHR = b"DETESTCA00001"
DEVICE_CHR = b"DETSTDEV400007"
TOKEN_SERIAL = "DETSTDEV4"
ROLE_AT = bytes.fromhex("04007F000703010202")  # id-AT, as in self-issued device certificates
TAG_CHAT, TAG_RIGHTS, TAG_EFFECTIVE, TAG_EXPIRY = 0x7F4C, 0x53, 0x5F25, 0x5F24


def point_of(key):
    return key.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def plain_signature(private_key, data):
    """ECDSA-SHA-256 in CV-certificate form: r || s, 32 bytes each."""
    r, s = utils.decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def certificate(issuer_key, car, chr_, point, domain=False):
    """A CV certificate (TR-03110 layout, docs/cvc.md) for a P-256 point, signed by issuer_key."""
    pub = tlv(hsmkit.TAG_OID, hsmkit.OID_ECDSA_SHA256)
    if domain:
        pub += (tlv(hsmkit.TAG_EC_P, hsmkit.P256_P) + tlv(hsmkit.TAG_EC_A, hsmkit.P256_A) +
                tlv(hsmkit.TAG_EC_B, hsmkit.P256_B) + tlv(hsmkit.TAG_EC_G, hsmkit.P256_G) +
                tlv(hsmkit.TAG_EC_N, hsmkit.P256_N))
    pub += tlv(hsmkit.TAG_EC_Q, point)
    if domain:
        pub += tlv(hsmkit.TAG_EC_H, hsmkit.P256_H)
    body = tlv(hsmkit.TAG_CVC_BODY,
               tlv(hsmkit.TAG_PROFILE, hsmkit.PROFILE) + tlv(hsmkit.TAG_CAR, car) +
               tlv(hsmkit.TAG_PUBKEY, pub) + tlv(hsmkit.TAG_CHR, chr_) +
               tlv(TAG_CHAT, tlv(hsmkit.TAG_OID, ROLE_AT) + tlv(TAG_RIGHTS, b"\x00")) +
               tlv(TAG_EFFECTIVE, bytes([2, 6, 0, 3, 0, 1])) +
               tlv(TAG_EXPIRY, bytes([3, 6, 0, 3, 0, 1])))
    return tlv(hsmkit.TAG_CVC, body + tlv(hsmkit.TAG_SIGNATURE, plain_signature(issuer_key, body)))


def chr_of_chain(chain):
    """CHR of the first certificate of a chain."""
    cert = hsmkit.tlv_dict(fkit.tlv_items(chain)[0][2], "2F02")
    body = hsmkit.tlv_dict(hsmkit.the(hsmkit.tlv_dict(hsmkit.the(cert, hsmkit.TAG_CVC, "2F02"),
                                                      "7F21"), hsmkit.TAG_CVC_BODY, "7F21"),
                           "7F4E")
    return hsmkit.the(body, hsmkit.TAG_CHR, "7F4E")


def write_chain_apdu(chain):
    """pico-hsm-tool's write after SELECT 2F02: `00 D7 00 00` extended, Le 0000."""
    data = bytes([0x54, 0x02, 0x00, 0x00]) + tlv(0x53, chain)
    return hsmkit.ext(b"\x00\xD7\x00\x00", data, hsmkit.EXT_LE_MAX)


class Identity(fkit.Scratch, fkit.RigTest):

    longMessage = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_scratch("fk-identity-")
        try:
            _, sw = cls.card.transmit(fkit.select_aid(fkit.HSM_AID))
            assert sw == SW_OK, "SELECT of the HSM applet -> %04X" % sw
            _, sw = cls.card.transmit(hsmkit.initialize())
            assert sw == SW_OK, "INITIALIZE -> %04X" % sw
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

    def device_request(self):
        """CE00, read without a PIN, checked: (request, device point)."""
        raw = hsmkit.read_file(self.card, FID_CE00)
        req = hsmkit.Request(raw)
        self.assertEqual(req.size, len(raw), "CE00 has bytes after the request")
        self.assertEqual(req.oid, hsmkit.OID_ECDSA_SHA256)
        self.assertTrue(hsmkit.ecdsa_ok(req.point, hsmkit.raw_to_der(req.inner_sig),
                                        data=req.body_tlv),
                        "the device key did not sign the body of CE00")
        self.assertTrue(hsmkit.ecdsa_ok(req.point, hsmkit.raw_to_der(req.outer_sig),
                                        data=req.outer_signed),
                        "the device key did not sign CE00")
        return req, req.point

    def opensc(self, *args):
        self.card.close()
        try:
            return fkit.run_client(list(args), timeout=TOOL_TIMEOUT).stdout.decode(errors="replace")
        finally:
            type(self).card = self.rig.wait_card()
            self.select_hsm()

    def test_1_device_request(self):
        """CE00 is the device key's self-signed request, CAR = CHR = outer CAR = device CHR."""
        req, point = self.device_request()
        self.assertEqual(point, hsmkit.device_point(self.card), "CE00 names another key than 2F02")
        chr_ = chr_of_chain(hsmkit.read_file(self.card, FID_CHAIN))
        self.assertEqual((req.car, req.chr, req.outer_car), (chr_, chr_, chr_))
        # The host cannot replace or delete it.
        self.sw_is(hsmkit.verify(PIN), SW_OK)
        self.sw_is(hsmkit.update_binary(FID_CE00, 0, b"\x67\x00"), 0x6982)
        self.sw_is(hsmkit.delete_file(FID_CE00), 0x6982)
        self.sw_is(hsmkit.delete_file(FID_CHAIN), 0x6982)

    def test_2_issued_chain(self):
        """The test CA's chain for the device key is accepted; OpenSC shows the new serial."""
        _, point = self.device_request()
        before = hsmkit.read_file(self.card, FID_CHAIN)
        ca = ec.generate_private_key(ec.SECP256R1())
        ca_cert = certificate(ca, CA_CHR, CA_CHR, point_of(ca.public_key()), domain=True)
        chain = certificate(ca, CA_CHR, DEVICE_CHR, point) + ca_cert
        stranger = point_of(ec.generate_private_key(ec.SECP256R1()).public_key())

        self.sw_is(hsmkit.select_fid(FID_CHAIN), SW_OK)
        self.sw_is(write_chain_apdu(chain), 0x6982)                    # no PIN yet
        self.sw_is(hsmkit.verify(PIN), SW_OK)
        self.sw_is(write_chain_apdu(certificate(ca, CA_CHR, DEVICE_CHR, stranger) + ca_cert),
                   0x6A80)                                             # another key
        self.sw_is(write_chain_apdu(certificate(ca, CA_CHR, b"DE0001", point) + ca_cert),
                   0x6A80)                                             # no usable serial
        self.sw_is(write_chain_apdu(chain + b"\x00"), 0x6A80)          # not only certificates
        self.assertEqual(hsmkit.read_file(self.card, FID_CHAIN), before)

        self.sw_is(hsmkit.select_fid(FID_CHAIN), SW_OK)
        self.sw_is(write_chain_apdu(chain), SW_OK)
        self.assertEqual(hsmkit.read_file(self.card, FID_CHAIN), chain)

        out = self.opensc("pkcs11-tool", "--module", fkit.OPENSC_MODULE, "-L")
        self.assertRegex(out, r"serial num\s*: %s\s" % TOKEN_SERIAL, "pkcs11-tool -L:\n" + out)
        out = self.opensc("pkcs15-tool", "--reader", "0", "-D")
        self.assertIn(TOKEN_SERIAL, out, "pkcs15-tool -D:\n" + out)

    def test_3_requests_name_the_issued_chr(self):
        """A key generated after the chain has the new CHR as outer CAR, signed by the
        device key."""
        self.sw_is(hsmkit.verify(PIN), SW_OK)
        template = hsmkit.ec_template(b"FKIDENT000001")
        resp = self.sw_is(hsmkit.generate(0x01, template), SW_OK)
        req = hsmkit.Request(resp)
        self.assertEqual(req.outer_car, DEVICE_CHR)
        self.assertEqual(hsmkit.request_problems(req, hsmkit.device_point(self.card)), [])

    def test_4_after_restart(self):
        """After the card restarts, 2F02 is still the issued chain and CE00 is unchanged."""
        chain = hsmkit.read_file(self.card, FID_CHAIN)
        ce00 = hsmkit.read_file(self.card, FID_CE00)
        self.assertEqual(chr_of_chain(chain), DEVICE_CHR)
        self.card.close()
        self.rig.stop_sim()
        fkit.restart_sim(self.rig)
        type(self).card = self.rig.wait_card()
        self.select_hsm()
        self.assertEqual(hsmkit.read_file(self.card, FID_CHAIN), chain)
        self.assertEqual(hsmkit.read_file(self.card, FID_CE00), ce00)
        out = self.opensc("pkcs11-tool", "--module", fkit.OPENSC_MODULE, "-L")
        self.assertRegex(out, r"serial num\s*: %s\s" % TOKEN_SERIAL, "pkcs11-tool -L:\n" + out)


if __name__ == "__main__":
    fkit.main(__doc__)
