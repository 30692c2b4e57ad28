#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""devca.py - a FIDO attestation CA for fusekey (docs/fido-attestation.md).

  devca.py init DIR [--name NAME]     a root CA and a batch key + certificate in DIR
  devca.py batch DIR                  a new batch key + certificate under DIR's root
  devca.py device DIR PUB.pem OUT.der a certificate for one device's attestation key
                                      (`fusekey fido attestation public-key` prints it)

The files committed next to this script were made by `devca.py init .` and
are for DEVELOPMENT ONLY: their private keys are public. A user makes their
own CA with `init` in a private directory and keeps root.key.pem offline.

Certificates follow WebAuthn's attestation rules: X.509 v3, subject
C / O / OU "Authenticator Attestation" / CN, basicConstraints CA false and
the AAGUID in extension 1.3.6.1.4.1.45724.1.1.4 (not critical).
"""
import argparse
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

AAGUID = bytes.fromhex("6b1e3d0a552f4c399a8e217cf04d13b6")  # fusekey's (applets/fido/fido.c)
OID_FIDO_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
NOT_BEFORE = datetime.datetime(2025, 1, 1)
NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59)  # devices have no clock


def _name(org, cn, attestation=False):
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if attestation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                                        "Authenticator Attestation"))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(parts)


def _write_key(path, key):
    data = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _load(d):
    with open(os.path.join(d, "root.key.pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(d, "root.pem"), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return key, cert


def _leaf(root_key, root_cert, pub, org, cn):
    """An attestation certificate for pub, issued by the root."""
    return (x509.CertificateBuilder()
            .subject_name(_name(org, cn, attestation=True))
            .issuer_name(root_cert.subject)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.UnrecognizedExtension(OID_FIDO_AAGUID,
                                                      b"\x04\x10" + AAGUID), critical=False)
            .sign(root_key, hashes.SHA256()))


def cmd_init(a):
    os.makedirs(a.dir, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(a.name, a.name + " FIDO attestation root")
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    _write_key(os.path.join(a.dir, "root.key.pem"), key)
    with open(os.path.join(a.dir, "root.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(a.dir, "org.txt"), "w") as f:
        f.write(a.name + "\n")
    cmd_batch(a)


def _org(d):
    with open(os.path.join(d, "org.txt")) as f:
        return f.read().strip()


def cmd_batch(a):
    root_key, root_cert = _load(a.dir)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _leaf(root_key, root_cert, key.public_key(), _org(a.dir), "fusekey batch attestation")
    _write_key(os.path.join(a.dir, "batch.key.pem"), key)
    with open(os.path.join(a.dir, "batch.der"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.DER))


def cmd_device(a):
    root_key, root_cert = _load(a.dir)
    with open(a.pub, "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != "secp256r1":
        sys.exit("devca.py: the device key must be a P-256 public key")
    cert = _leaf(root_key, root_cert, pub, _org(a.dir), "fusekey enterprise attestation")
    with open(a.out, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.DER))


def main():
    p = argparse.ArgumentParser(description="fusekey FIDO attestation CA")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("init")
    s.add_argument("dir")
    s.add_argument("--name", default="fusekey development")
    s.set_defaults(fn=cmd_init)
    s = sub.add_parser("batch")
    s.add_argument("dir")
    s.set_defaults(fn=cmd_batch)
    s = sub.add_parser("device")
    s.add_argument("dir")
    s.add_argument("pub")
    s.add_argument("out")
    s.set_defaults(fn=cmd_device)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
