# SPDX-License-Identifier: Apache-2.0
"""Check what test_ed wrote with python3-cryptography (OpenSSL).

Usage: ed_cross.py CASES

Each line: curve (ed25519 / ed448), seed, public key, message ("-" when
empty), fusekey's signature, in hex. For each line the public key must be
the seed's, OpenSSL's signature of the message with the seed must equal
fusekey's (pure EdDSA is deterministic), and it must verify. Exit 0 when
all agree, 1 otherwise, 2 when the file cannot be read; a missing module
is an ImportError and fails the test.
"""
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CURVES = {"ed25519": Ed25519PrivateKey, "ed448": Ed448PrivateKey}


def main():
    try:
        with open(sys.argv[1], encoding="ascii") as f:
            lines = [line.split() for line in f if line.strip()]
    except (IndexError, OSError) as e:
        print("ed_cross: cannot read the cases:", e)
        return 2
    bad = 0
    for n, (curve, seed, pub, msg, sig) in enumerate(lines, 1):
        key = CURVES[curve].from_private_bytes(bytes.fromhex(seed))
        public = key.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        message = b"" if msg == "-" else bytes.fromhex(msg)
        problems = []
        if raw.hex() != pub:
            problems.append("public key differs")
        if key.sign(message).hex() != sig:
            problems.append("signature differs")
        try:
            public.verify(bytes.fromhex(sig), message)
        except InvalidSignature:
            problems.append("signature does not verify")
        if problems:
            bad += 1
            print(f"line {n} ({curve}): {', '.join(problems)}")
    print(f"ed_cross: {len(lines)} signatures, {bad} wrong")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
