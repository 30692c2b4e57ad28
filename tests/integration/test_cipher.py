# SPDX-License-Identifier: Apache-2.0
"""The HSM's secret keys through the real PC/SC stack: GENERATE SYMMETRIC KEY (48) and
CIPHER (78) as raw APDUs with pyscard, and what OpenSC does with them (docs/hsm-cipher.md).

A generated key never leaves the card, so the outputs are checked by what must hold for
any key:

- Every mode on AES-128, -192 and -256 keys (and XTS on 256- and 512-bit keys): decryption
  (52, or 11) gives back the plaintext; CBC, CFB128, OFB and CTR equal the mode rebuilt in
  Python on the card's own AES-ECB (the block cipher as an oracle); CMAC (P2 18) equals
  SP 800-38B on that oracle, GCM equals SP 800-38D (GHASH computed here) and CCM equals
  SP 800-38C; a flipped tag, AAD or nonce bit is 6A80 with no data.
- P2 10 is the extended form's CBC with a zero IV; P2 99 is HKDF-SHA-256 with no salt;
  PBKDF2 with one and two iterations equals HMAC(key, salt || 00000001) and its iterate
  through CIPHER's HMAC (RFC 8018); HKDF and X9.63 outputs of different lengths share
  their prefix; the default lengths are the hash length and 32.
- PBES2: the key PBKDF2 derives on the card leaves it (a KDF's output is the host's), so
  python3-cryptography (OpenSSL) computes AES-CBC with PKCS#7 padding under it, and the
  card's PBES2 output must be exactly that; the card decrypts it back, and a padding that
  does not verify is 6A80 with no data.
- The key's list (6985) and use counter (6A84) from 48's metadata; no PIN 6982.
- OpenSC 0.23: its sc-hsm driver offers no AES mechanism, so `pkcs11-tool --keygen
  --key-type AES:16` fails in pkcs11-tool ("Generate Key mechanism not supported") and no
  key appears on the card; with secret keys on the card OpenSC skips their descriptions
  and the card's key pair still lists and signs (verified with openssl).
"""

import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher as AesCipher, algorithms, modes

import fkit
import hsmkit
from fkit import SW_OK, hx
from hsmkit import PIN, tlv

TOOL_TIMEOUT = 120
SW_WRONG_DATA = 0x6A80
SW_CONDITIONS = 0x6985
SW_SECURITY = 0x6982
SW_USED_UP = 0x6A84

P2_CBC_ENC, P2_CBC_DEC, P2_CMAC, P2_DERIVE, P2_EXT_ENC, P2_EXT_DEC = 0x10, 0x11, 0x18, 0x99, 0x51, 0x52
GEN = {128: 0xB0, 192: 0xB1, 256: 0xB2, 512: 0xB3}
KEY_IDS = {128: 0x10, 192: 0x11, 256: 0x12, 512: 0x13}
GROUP = {128: 0x00, 192: 0x14, 256: 0x28}
ECB, CBC, OFB, CFB, GCM, CCM, CTR = 1, 2, 3, 4, 6, 7, 9

OID_AES = bytes.fromhex("6086480165030401")
OID_XTS = bytes.fromhex("2B6F028C53000001")
OID_CHACHAPOLY = bytes.fromhex("2A864886F70D0109100312")
OID_HMAC = bytes.fromhex("2A864886F70D02")          # + 07..0B: SHA-1 .. SHA-512
OID_HKDF = bytes.fromhex("2A864886F70D01091003")    # + 1D/1E/1F: SHA-256/384/512 (1C: SHA-256)
OID_PBKDF2 = bytes.fromhex("2A864886F70D01050C")
OID_X963 = bytes.fromhex("2B81051086483F")
OID_PBES2 = bytes.fromhex("2A864886F70D01050D")
HMAC_LAST = {"sha1": 0x07, "sha224": 0x08, "sha256": 0x09, "sha384": 0x0A, "sha512": 0x0B}
HASH_LEN = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}

EC_KEY = 0x01
PKCS15_EC_ID = "31"  # the card's default description: the key id in ASCII


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def flip(data):
    """data with its first bit flipped (same length)."""
    return bytes([data[0] ^ 0x80]) + data[1:]


def blocks(data):
    return [data[i:i + 16] for i in range(0, len(data), 16)]


def inc128(block):
    return ((int.from_bytes(block, "big") + 1) % (1 << 128)).to_bytes(16, "big")


def inc32(block):
    return block[:12] + ((int.from_bytes(block[12:], "big") + 1) % (1 << 32)).to_bytes(4, "big")


def gf_mult(x, y):
    """Multiplication in GF(2^128) with GCM's bit order (SP 800-38D 6.3)."""
    r = 0xE1 << 120
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def ghash(h, data):
    y = 0
    hi = int.from_bytes(h, "big")
    for blk in blocks(data):
        y = gf_mult(y ^ int.from_bytes(blk.ljust(16, b"\0"), "big"), hi)
    return y.to_bytes(16, "big")


def pad16(data):
    return data + b"\0" * (-len(data) % 16)


class Cipher(fkit.Scratch, fkit.RigTest):

    longMessage = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_scratch("fk-cipher-")
        try:
            _, sw = cls.card.transmit(fkit.select_aid(fkit.HSM_AID))
            assert sw == SW_OK, "SELECT -> %04X" % sw
            _, sw = cls.card.transmit(hsmkit.initialize())
            assert sw == SW_OK, "INITIALIZE -> %04X" % sw
            _, sw = cls.card.transmit(hsmkit.verify(PIN))
            assert sw == SW_OK, "VERIFY -> %04X" % sw
            for bits, key_id in KEY_IDS.items():
                data, sw = cls.card.transmit(bytes([0x00, 0x48, key_id, GEN[bits]]))
                assert sw == SW_OK and data == b"", "48 %d bits -> %04X %s" % (bits, sw, hx(data))
            _, sw = cls.card.transmit(hsmkit.generate(EC_KEY, hsmkit.ec_template(b"FKCIPHER0100001")))
            assert sw == SW_OK, "GENERATE of the EC key -> %04X" % sw
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
        self.sw_is(hsmkit.verify(PIN), SW_OK)

    # -- commands --

    def cipher(self, key_id, p2, data, expected=SW_OK, le=0):
        """CIPHER as an extended APDU (Le 0000 = any length unless le is given); no data:
        case 2 (an Lc of zero is not an encoding)."""
        header = bytes([0x80, 0x78, key_id, p2])
        if not data:
            return self.sw_is(header + b"\x00" + (le & 0xFFFF).to_bytes(2, "big"), expected)
        return self.sw_is(hsmkit.ext(header, data, le=le), expected)

    def ext(self, key_id, p2, oid, data=None, iv=None, aad=None, expected=SW_OK, le=0):
        body = tlv(0x06, oid)
        if data is not None:
            body += tlv(0x81, data)
        if iv is not None:
            body += tlv(0x82, iv)
        if aad is not None:
            body += tlv(0x83, aad)
        return self.cipher(key_id, p2, body, expected, le)

    def aes(self, bits, mode, data, iv=None, aad=None, decrypt=False, expected=SW_OK):
        oid = OID_AES + bytes([GROUP[bits] + mode])
        return self.ext(KEY_IDS[bits], P2_EXT_DEC if decrypt else P2_EXT_ENC, oid, data, iv, aad,
                        expected)

    def ecb(self, bits, block):
        """E_K(block) with the card's key: the oracle the modes are rebuilt on."""
        out = self.aes(bits, ECB, block)
        self.assertEqual(len(out), 16)
        return out

    # -- generation --

    def test_generate(self):
        """48 made every size: ENUMERATE lists the keys, each C4 is an AES description of
        its size, and no request CE exists for a secret key."""
        listing = self.sw_is(fkit.apdu("80 58 00 00 00"), SW_OK)
        fids = {listing[i:i + 2] for i in range(0, len(listing), 2)}
        for bits, key_id in KEY_IDS.items():
            self.assertIn(bytes([hsmkit.PREFIX_KEY, key_id]), fids)
            c4 = hsmkit.read_file(self.card, hsmkit.key_fid(hsmkit.PREFIX_PRKD, key_id))
            self.assertEqual(c4[0], 0xA8, "C4%02X is not a secret-key description" % key_id)
            (tag, body, _), = fkit.tlv_items(c4)
            a0 = [v for t, v, _ in fkit.tlv_items(body) if t == 0xA0]
            self.assertEqual(len(a0), 1, "C4%02X: %s" % (key_id, hx(c4)))
            a0 = a0[0]
            inner = hsmkit.the(hsmkit.tlv_dict(a0, "A0"), 0x30, "A0")
            size = hsmkit.the(hsmkit.tlv_dict(inner, "A0 30"), 0x02, "A0 30")
            self.assertEqual(int.from_bytes(size, "big"), bits)
            self.sw_is(hsmkit.select_fid(hsmkit.key_fid(hsmkit.PREFIX_EE_CERT, key_id)),
                       fkit.SW_FILE_NOT_FOUND)

    # -- AES modes --

    def test_cbc_basic_forms(self):
        """P2 10/11: CBC with a zero IV, equal to the chain rebuilt on the card's ECB and to
        the extended form's CBC; 11 inverts 10; lengths not a multiple of 16 are 6A80."""
        pt = os.urandom(80)
        for bits in (128, 192, 256):
            key_id = KEY_IDS[bits]
            ct = self.cipher(key_id, P2_CBC_ENC, pt)
            chained, prev = b"", bytes(16)
            for blk in blocks(pt):
                prev = self.ecb(bits, xor(blk, prev))
                chained += prev
            self.assertEqual(ct, chained, "P2 10 is not CBC under the key (%d bits)" % bits)
            self.assertEqual(self.aes(bits, CBC, pt), ct)
            self.assertEqual(self.aes(bits, CBC, pt, iv=bytes(16)), ct)
            self.assertEqual(self.cipher(key_id, P2_CBC_DEC, ct), pt)
            self.cipher(key_id, P2_CBC_ENC, pt[:33], SW_WRONG_DATA)
        self.cipher(KEY_IDS[512], P2_CBC_ENC, pt, 0x6A81)

    def test_stream_modes(self):
        """CBC with an IV, CFB128, OFB and CTR equal the modes rebuilt on the card's ECB,
        and decrypt back; ECB decrypts back."""
        pt = os.urandom(61)
        iv = os.urandom(16)
        for bits in (128, 192, 256):
            # CFB128: C_i = P_i ^ E(C_{i-1}), C_0 = IV.
            want, prev = b"", iv
            for blk in blocks(pt):
                c = xor(blk, self.ecb(bits, prev))
                want += c
                prev = c
            self.assertEqual(self.aes(bits, CFB, pt, iv), want, "CFB128, %d bits" % bits)
            # OFB: O_i = E(O_{i-1}).
            want, o = b"", iv
            for blk in blocks(pt):
                o = self.ecb(bits, o)
                want += xor(blk, o)
            self.assertEqual(self.aes(bits, OFB, pt, iv), want, "OFB, %d bits" % bits)
            # CTR: the counter block incremented as a 128-bit number.
            want, ctr = b"", iv
            for blk in blocks(pt):
                want += xor(blk, self.ecb(bits, ctr))
                ctr = inc128(ctr)
            self.assertEqual(self.aes(bits, CTR, pt, iv), want, "CTR, %d bits" % bits)
            # CBC with an IV.
            pt48 = pt[:48]
            want, prev = b"", iv
            for blk in blocks(pt48):
                prev = self.ecb(bits, xor(blk, prev))
                want += prev
            self.assertEqual(self.aes(bits, CBC, pt48, iv), want, "CBC, %d bits" % bits)
            for mode in (CFB, OFB, CTR):
                ct = self.aes(bits, mode, pt, iv)
                self.assertEqual(self.aes(bits, mode, ct, iv, decrypt=True), pt)
            ct = self.aes(bits, ECB, pt48)
            self.assertEqual(self.aes(bits, ECB, ct, decrypt=True), pt48)
            self.aes(bits, CBC, pt48, iv[:15], expected=SW_WRONG_DATA)

    def test_cmac(self):
        """P2 18 is AES-CMAC (SP 800-38B) on the card's block cipher, the empty message
        included."""
        for bits in (128, 192, 256):
            l_ = self.ecb(bits, bytes(16))

            def dbl(b):
                v = int.from_bytes(b, "big") << 1
                if v >> 128:
                    v ^= 0x87
                return (v & ((1 << 128) - 1)).to_bytes(16, "big")

            k1 = dbl(l_)
            k2 = dbl(k1)
            for n in (0, 16, 40, 64):
                msg = os.urandom(n)
                parts = blocks(msg) or [b""]
                last = parts[-1]
                last = xor(last, k1) if len(last) == 16 else xor(last + b"\x80" + bytes(15 - len(last)), k2)
                x = bytes(16)
                for blk in parts[:-1] + [last]:
                    x = self.ecb(bits, xor(x, blk))
                self.assertEqual(self.cipher(KEY_IDS[bits], P2_CMAC, msg), x,
                                 "CMAC of %d bytes, %d bits" % (n, bits))

    def test_gcm(self):
        """GCM equals SP 800-38D computed here (GHASH with H = E(0)) for 96-bit and other
        nonces; it decrypts back; a flipped tag, AAD or nonce bit is 6A80 with no data."""
        for bits in (128, 192, 256):
            h = self.ecb(bits, bytes(16))
            for nonce in (os.urandom(12), os.urandom(20)):
                pt, aad = os.urandom(45), os.urandom(17)
                if len(nonce) == 12:
                    j0 = nonce + b"\0\0\0\1"
                else:
                    j0 = ghash(h, pad16(nonce) + bytes(8) + (8 * len(nonce)).to_bytes(8, "big"))
                ct, ctr = b"", j0
                for blk in blocks(pt):
                    ctr = inc32(ctr)
                    ct += xor(blk, self.ecb(bits, ctr))
                s = ghash(h, pad16(aad) + pad16(ct) + (8 * len(aad)).to_bytes(8, "big") +
                          (8 * len(ct)).to_bytes(8, "big"))
                tag = xor(self.ecb(bits, j0), s)
                out = self.aes(bits, GCM, pt, nonce, aad)
                self.assertEqual(out, ct + tag, "GCM, %d bits, %d-byte nonce" % (bits, len(nonce)))
                self.assertEqual(self.aes(bits, GCM, out, nonce, aad, decrypt=True), pt)
                for bad in (out[:-1] + bytes([out[-1] ^ 1]), ):
                    self.assertEqual(self.aes(bits, GCM, bad, nonce, aad, True, SW_WRONG_DATA), b"")
                self.assertEqual(self.aes(bits, GCM, out, nonce, flip(aad), True,
                                          SW_WRONG_DATA), b"")
                self.assertEqual(self.aes(bits, GCM, out, flip(nonce), aad, True,
                                          SW_WRONG_DATA), b"")
            self.aes(bits, GCM, b"x", None, None, expected=SW_WRONG_DATA)

    def test_ccm(self):
        """CCM with a 16-byte tag equals SP 800-38C computed here (CBC-MAC and CTR on the
        card's block cipher); it decrypts back; a bad tag is 6A80 with no data."""
        for bits in (128, 192, 256):
            for nonce in (os.urandom(7), os.urandom(13)):
                pt, aad = os.urandom(35), os.urandom(9)
                q = 15 - len(nonce)
                b0 = bytes([0x40 | ((16 - 2) // 2) << 3 | (q - 1)]) + nonce + len(pt).to_bytes(q, "big")
                a = len(aad).to_bytes(2, "big") + aad
                x = self.ecb(bits, b0)
                for blk in blocks(pad16(a)) + blocks(pad16(pt)):
                    x = self.ecb(bits, xor(x, blk))
                ctr0 = bytes([q - 1]) + nonce + bytes(q)
                ct = b""
                for i, blk in enumerate(blocks(pt), 1):
                    ct += xor(blk, self.ecb(bits, bytes([q - 1]) + nonce + i.to_bytes(q, "big")))
                tag = xor(x, self.ecb(bits, ctr0))
                out = self.aes(bits, CCM, pt, nonce, aad)
                self.assertEqual(out, ct + tag, "CCM, %d bits, %d-byte nonce" % (bits, len(nonce)))
                self.assertEqual(self.aes(bits, CCM, out, nonce, aad, decrypt=True), pt)
                bad = out[:-1] + bytes([out[-1] ^ 0x40])
                self.assertEqual(self.aes(bits, CCM, bad, nonce, aad, True, SW_WRONG_DATA), b"")

    def test_xts_and_chachapoly(self):
        """XTS-AES-128 (the 256-bit key) and XTS-AES-256 (the 512-bit key) decrypt back,
        partial last blocks included, and the tweak matters; ChaCha20-Poly1305 on the
        256-bit key decrypts back and refuses a bad tag."""
        for bits, last in ((256, 1), (512, 2)):
            oid = OID_XTS + bytes([last])
            for n in (16, 33, 100):
                pt, tweak = os.urandom(n), os.urandom(16)
                ct = self.ext(KEY_IDS[bits], P2_EXT_ENC, oid, pt, tweak)
                self.assertEqual(len(ct), n)
                self.assertEqual(self.ext(KEY_IDS[bits], P2_EXT_DEC, oid, ct, tweak), pt)
                other = self.ext(KEY_IDS[bits], P2_EXT_ENC, oid, pt, flip(tweak))
                self.assertNotEqual(other, ct)
        nonce, aad, pt = os.urandom(12), os.urandom(11), os.urandom(70)
        out = self.ext(KEY_IDS[256], P2_EXT_ENC, OID_CHACHAPOLY, pt, nonce, aad)
        self.assertEqual(len(out), len(pt) + 16)
        self.assertEqual(self.ext(KEY_IDS[256], P2_EXT_DEC, OID_CHACHAPOLY, out, nonce, aad), pt)
        bad = out[:5] + bytes([out[5] ^ 1]) + out[6:]
        self.assertEqual(self.ext(KEY_IDS[256], P2_EXT_DEC, OID_CHACHAPOLY, bad, nonce, aad,
                                  expected=SW_WRONG_DATA), b"")
        self.ext(KEY_IDS[128], P2_EXT_ENC, OID_CHACHAPOLY, pt, nonce, aad, expected=0x6A81)

    # -- MACs and key derivations --

    def hmac(self, key_id, name, msg):
        return self.ext(key_id, P2_EXT_ENC, OID_HMAC + bytes([HMAC_LAST[name]]), msg)

    def test_kdf_relations(self):
        """99 is HKDF-SHA-256 (no salt, info = data, as many bytes); PBKDF2 with 1 and 2
        iterations is HMAC(key, salt||INT(1)) and its iterate through CIPHER's HMAC;
        HKDF and X9.63 outputs share their prefixes; default lengths."""
        for bits in (128, 256, 512):
            key_id = KEY_IDS[bits]
            info = os.urandom(40)
            derived = self.cipher(key_id, P2_DERIVE, info)
            self.assertEqual(len(derived), 40)
            hkdf = self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1C", info, le=40)
            self.assertEqual(derived, hkdf, "99 is not HKDF-SHA-256 without salt")
            self.assertEqual(len(self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1C", info)), 32)
            self.assertEqual(self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1D", info, le=40), hkdf,
                             "1D is not HKDF-SHA-256")
            self.assertEqual(len(self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1E", info)), 48)
            self.assertEqual(len(self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1F", info)), 64)
            long_ = self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1D", info, b"salt", le=200)
            short = self.ext(key_id, P2_EXT_ENC, OID_HKDF + b"\x1D", info, b"salt", le=60)
            self.assertEqual(long_[:60], short)
            for name in ("sha1", "sha256", "sha512"):
                n = HASH_LEN[name]
                salt = os.urandom(8)
                prf = tlv(0x30, tlv(0x06, OID_HMAC + bytes([HMAC_LAST[name]])))
                for iterations in (1, 2):
                    params = tlv(0x04, salt) + tlv(0x02, bytes([iterations])) + prf
                    out = self.ext(key_id, P2_EXT_ENC, OID_PBKDF2, params, le=n)
                    u1 = self.hmac(key_id, name, salt + b"\0\0\0\1")
                    want = u1 if iterations == 1 else xor(u1, self.hmac(key_id, name, u1))
                    self.assertEqual(out, want, "PBKDF2-%s, %d iterations" % (name, iterations))
                x_long = self.ext(key_id, P2_EXT_ENC, OID_X963, OID_HMAC + bytes([HMAC_LAST[name]]),
                                  aad=b"shared", le=150)
                x_short = self.ext(key_id, P2_EXT_ENC, OID_X963, OID_HMAC + bytes([HMAC_LAST[name]]),
                                   aad=b"shared", le=n + 3)
                self.assertEqual(x_long[:n + 3], x_short)
                self.assertEqual(len(self.ext(key_id, P2_EXT_ENC, OID_X963,
                                              OID_HMAC + bytes([HMAC_LAST[name]]))), 32)
                self.assertEqual(len(self.hmac(key_id, name, b"")), n)

    def test_pbes2(self):
        """PBES2 equals AES-CBC-PKCS#7 by python3-cryptography under the key the card's own
        PBKDF2 derives; it decrypts back; a bad padding is 6A80 with no data."""
        for bits, aes_last, key_len in ((128, 0x02, 16), (256, 0x2A, 32), (512, 0x16, 24)):
            key_id = KEY_IDS[bits]
            salt, iv, msg = os.urandom(12), os.urandom(16), os.urandom(37)
            prf = tlv(0x30, tlv(0x06, OID_HMAC + bytes([HMAC_LAST["sha256"]])))
            kdf_params = tlv(0x30, tlv(0x04, salt) + tlv(0x02, b"\x64") + prf)
            dk = self.ext(key_id, P2_EXT_ENC, OID_PBKDF2, kdf_params, le=key_len)
            params = tlv(0x30, tlv(0x30, tlv(0x06, OID_PBKDF2) + kdf_params) +
                         tlv(0x30, tlv(0x06, OID_AES + bytes([aes_last])) + tlv(0x04, iv)))
            padder = padding.PKCS7(128).padder()
            enc = AesCipher(algorithms.AES(dk), modes.CBC(iv)).encryptor()
            want = enc.update(padder.update(msg) + padder.finalize()) + enc.finalize()
            got = self.ext(key_id, P2_EXT_ENC, OID_PBES2, msg, aad=params)
            self.assertEqual(got, want, "PBES2 with AES-%d, a %d-bit key" % (8 * key_len, bits))
            self.assertEqual(self.ext(key_id, P2_EXT_DEC, OID_PBES2, got, aad=params), msg)
            # A block whose decryption ends in 00: not a PKCS#7 padding.
            dec = AesCipher(algorithms.AES(dk), modes.CBC(iv)).encryptor()
            bad = dec.update(os.urandom(15) + b"\0") + dec.finalize()
            self.assertEqual(self.ext(key_id, P2_EXT_DEC, OID_PBES2, bad, aad=params,
                                      expected=SW_WRONG_DATA), b"")

    # -- policy --

    def test_policy(self):
        """48's metadata: the list (6985 outside it), the counter (6A84 when used up);
        checks before the use: a refused command spends nothing; no PIN: 6982."""
        meta = tlv(0x91, bytes([P2_CMAC])) + tlv(0x90, (2).to_bytes(4, "big"))
        self.sw_is(bytes([0x00, 0x48, 0x30, 0xB0, len(meta)]) + meta, SW_OK)
        self.cipher(0x30, P2_CBC_ENC, bytes(16), SW_CONDITIONS)
        self.cipher(0x30, P2_CMAC, b"x" * 17, SW_OK)
        self.cipher(0x30, 0x12, b"x", 0x6A86)
        self.cipher(0x30, P2_CMAC, b"x", SW_OK)
        self.cipher(0x30, P2_CMAC, b"x", SW_USED_UP)
        self.select_hsm()
        self.cipher(KEY_IDS[128], P2_CMAC, b"x", SW_SECURITY)
        self.sw_is(bytes([0x00, 0x48, 0x31, 0xB0]), SW_SECURITY)

    # -- OpenSC --

    def test_opensc(self):
        """OpenSC 0.23 offers no AES mechanism for this card: pkcs11-tool --keygen AES:16
        fails in pkcs11-tool and makes no key. With secret keys on the card OpenSC still
        binds, lists the key pair and signs with it (openssl verifies)."""
        self.card.close()  # OpenSC connects on its own
        try:
            mechs = fkit.run_client(["pkcs11-tool", "--module", fkit.OPENSC_MODULE, "-M"],
                                    timeout=TOOL_TIMEOUT).stdout.decode()
            self.assertNotIn("AES", mechs, "OpenSC now offers AES: test its keygen and "
                             "C_Encrypt/C_Decrypt here instead")
            keygen = fkit.run_client(["pkcs11-tool", "--module", fkit.OPENSC_MODULE, "--login",
                                      "--pin", PIN.decode(), "--keygen", "--key-type", "AES:16",
                                      "--id", "40", "--label", "aes"],
                                     check=False, timeout=TOOL_TIMEOUT)
            self.assertNotEqual(keygen.returncode, 0)
            self.assertIn(b"Generate Key mechanism not supported", keygen.stderr + keygen.stdout)

            listing = fkit.run_client(["pkcs15-tool", "--reader", "0", "-D"],
                                      timeout=TOOL_TIMEOUT).stdout.decode()
            self.assertIn("ID             : %s" % PKCS15_EC_ID, listing)
            msg = self.write("msg", b"signed while secret keys are on the card\n")
            digest = self.write("digest", hashlib.sha256(self.read("msg")).digest())
            sig = self.path("sig")
            fkit.run_client(["pkcs11-tool", "--module", fkit.OPENSC_MODULE, "--login", "--pin",
                             PIN.decode(), "--sign", "-m", "ECDSA", "--id", PKCS15_EC_ID,
                             "--signature-format", "openssl", "-i", digest, "-o", sig],
                            timeout=TOOL_TIMEOUT)
            pem = self.path("ec.pem")
            fkit.run_client(["pkcs15-tool", "--reader", "0", "--read-public-key", PKCS15_EC_ID,
                             "-o", pem], timeout=TOOL_TIMEOUT)
            proc = fkit.run_client(["openssl", "dgst", "-sha256", "-verify", pem, "-signature",
                                    sig, msg], check=False, timeout=TOOL_TIMEOUT)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        finally:
            type(self).card = self.rig.wait_card()
        self.select_hsm()
        listing = self.sw_is(fkit.apdu("80 58 00 00 00"), SW_OK)
        self.assertNotIn(bytes([hsmkit.PREFIX_KEY, 0x40]),
                         {listing[i:i + 2] for i in range(0, len(listing), 2)},
                         "the failed keygen made a key")


if __name__ == "__main__":
    fkit.main(__doc__)
