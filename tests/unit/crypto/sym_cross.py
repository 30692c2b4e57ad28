# SPDX-License-Identifier: Apache-2.0
"""Recompute what test_sym wrote with python3-cryptography (OpenSSL).

Usage: sym_cross.py CASES

Each line of CASES is one computation of core/crypto/sym.c: a primitive's
name, its parameters, its inputs and fusekey's output, hex fields separated
by spaces ("-" for an empty field). Exit 0 when every line agrees; 1 on any
difference (each is printed); 2 when the file cannot be read. A missing
python3-cryptography is an ImportError: the test fails, it does not skip.
"""
import sys

from cryptography.hazmat.primitives import cmac, hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

HASHES = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def unhex(field):
    return b"" if field == "-" else bytes.fromhex(field)


def aes_mode(name, iv):
    return {
        "ecb": lambda: modes.ECB(),
        "cbc": lambda: modes.CBC(iv),
        "cfb": lambda: modes.CFB(iv),
        "ofb": lambda: modes.OFB(iv),
        "ctr": lambda: modes.CTR(iv),
        "xts": lambda: modes.XTS(iv),
    }[name]()


def expected(words):
    """(what OpenSSL computes, what fusekey wrote) for one line."""
    kind = words[0]
    if kind in ("ecb", "cbc", "cfb", "ofb", "ctr", "xts"):
        key, iv, data, out = (unhex(w) for w in words[1:5])
        enc = Cipher(algorithms.AES(key), aes_mode(kind, iv)).encryptor()
        return enc.update(data) + enc.finalize(), out
    if kind == "gcm":
        key, nonce, aad, data, out, tag = (unhex(w) for w in words[1:7])
        enc = Cipher(algorithms.AES(key), modes.GCM(nonce, min_tag_length=4)).encryptor()
        enc.authenticate_additional_data(aad)
        ct = enc.update(data) + enc.finalize()
        return ct + enc.tag[: len(tag)], out + tag
    if kind == "ccm":
        key, nonce, aad, data, out, tag = (unhex(w) for w in words[1:7])
        return AESCCM(key, tag_length=len(tag)).encrypt(nonce, data, aad), out + tag
    if kind == "chachapoly":
        key, nonce, aad, data, out, tag = (unhex(w) for w in words[1:7])
        return ChaCha20Poly1305(key).encrypt(nonce, data, aad), out + tag
    if kind == "cmac":
        key, data, out = (unhex(w) for w in words[1:4])
        mac = cmac.CMAC(algorithms.AES(key))
        mac.update(data)
        return mac.finalize(), out
    h = HASHES[words[1]]
    if kind == "hmac":
        key, data, out = (unhex(w) for w in words[2:5])
        mac = hmac.HMAC(key, h())
        mac.update(data)
        return mac.finalize(), out
    if kind == "hkdf":
        salt, ikm, info, out = (unhex(w) for w in words[2:6])
        return HKDF(h(), len(out), salt or None, info).derive(ikm), out
    if kind == "pbkdf2":
        iterations = int(words[2])
        pw, salt, out = (unhex(w) for w in words[3:6])
        return PBKDF2HMAC(h(), len(out), salt, iterations).derive(pw), out
    if kind == "x963":
        z, info, out = (unhex(w) for w in words[2:5])
        return X963KDF(h(), len(out), info or None).derive(z), out
    raise ValueError("unknown primitive " + kind)


def main():
    try:
        with open(sys.argv[1], encoding="ascii") as f:
            lines = [line.split() for line in f if line.strip()]
    except (IndexError, OSError) as e:
        print("sym_cross: cannot read the cases:", e)
        return 2
    bad = 0
    for n, words in enumerate(lines, 1):
        want, got = expected(words)
        if want != got:
            bad += 1
            print(f"line {n} ({' '.join(words[:2])}): fusekey {got.hex()} openssl {want.hex()}")
    print(f"sym_cross: {len(lines)} computations, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
