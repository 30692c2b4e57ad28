# SPDX-License-Identifier: Apache-2.0
"""FIDO attestation under a CA the user controls (docs/fido-attestation.md), through
python-fido2 over PC/SC and the fusekey tool: self attestation until a batch key is
imported; `fusekey fido attestation import-batch` with the development CA's batch key
and certificate; packed attestation with x5c that Fido2Server verifies against the
development root; U2F REGISTER's certificate = the batch certificate; refused imports
(a key that is not the certificate's, a CA certificate, garbage, oversize) that change
nothing; enterprise attestation: the device key's certificate from the CA
(public-key, install-device), getInfo's "ep" absent / false / true, modes 2 and 1
(listed and unlisted RP), the status codes of key 0A, and a reset."""

import os
import shutil
import subprocess
import sys
import tempfile

import fkit
import fidokit
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.client import Fido2Client
from fido2.ctap import CtapError
from fido2.ctap1 import Ctap1
from fido2.ctap2 import AttestationObject, Ctap2
from fido2.ctap2.config import Config
from fido2.server import AttestationVerifier, Fido2Server

HERE = os.path.dirname(os.path.abspath(__file__))
DEV_CA = os.path.join(HERE, "..", "..", "tools", "fido", "dev-ca")
DEVCA = os.path.join(DEV_CA, "devca.py")
ERR = CtapError.ERR
INS_ATTEST = 0x50
SW_OK, SW_WRONG_DATA, SW_NOT_USABLE, SW_WRONG_LENGTH = 0x9000, 0x6A80, 0x6984, 0x6700


def read(path):
    with open(path, "rb") as f:
        return f.read()


def dev_root_der():
    return x509.load_pem_x509_certificate(read(os.path.join(DEV_CA, "root.pem"))).public_bytes(
        serialization.Encoding.DER)


class DevRootVerifier(AttestationVerifier):
    """Trusts the development root only."""

    def ca_lookup(self, result, auth_data):
        return [dev_root_der()]


def attest_apdu(ctap, p1, data=b""):
    """The vendor APDU (CLA 80, INS 50) in extended form; returns (data, sw)."""
    apdu = bytes([0x80, INS_ATTEST, p1, 0x00])
    if data:
        apdu += b"\x00" + len(data).to_bytes(2, "big") + data + b"\x00\x00"
    else:
        apdu += b"\x00\x00\x00"
    resp, sw1, sw2 = ctap.device.apdu_exchange(apdu)
    return resp, (sw1 << 8) | sw2


def scalar(key_pem):
    key = serialization.load_pem_private_key(key_pem, None)
    return key.private_numbers().private_value.to_bytes(32, "big")


def make_cred(ctap, rp_id="example.com", **kw):
    return fidokit.make_cred(ctap, rp_id=rp_id, **kw)


class Tool:
    """The fusekey tool of this build against the rig's reader."""

    def __init__(self, test):
        self.test = test
        self.path = fkit.tool_path(fkit.ARGS.sim)

    def run(self, *args, rc=0):
        run = fkit.run_tool(self.path, list(args))
        self.test.assertEqual(run.rc, rc, str(run))
        return run


def info(ctap):
    return ctap.get_info()


class BatchAttestation(fkit.RigTest):
    """Batch attestation from the development CA, through the tool."""

    def test_batch(self):
        tool = Tool(self)
        ctap = fidokit.ctap2()
        # Before any import: self attestation (no x5c), and U2F's self-signed certificate.
        att, h = make_cred(ctap)
        fidokit.check_attestation(self, att, h)
        self_cert = Ctap1(ctap.device).register(os.urandom(32), os.urandom(32)).certificate
        self.assertEqual(x509.load_der_x509_certificate(self_cert).issuer,
                         x509.load_der_x509_certificate(self_cert).subject)

        batch_der = read(os.path.join(DEV_CA, "batch.der"))
        batch_key = read(os.path.join(DEV_CA, "batch.key.pem"))
        root_der = dev_root_der()
        # Refused by the device, nothing written: another key, a CA certificate,
        # garbage, too large; self attestation stays.
        other = ec.generate_private_key(ec.SECP256R1())
        other_d = other.private_numbers().private_value.to_bytes(32, "big")
        for data, sw in ((other_d + batch_der, SW_NOT_USABLE),
                         (scalar(batch_key) + root_der, SW_WRONG_DATA),
                         (scalar(batch_key) + os.urandom(300), SW_WRONG_DATA),
                         (scalar(batch_key) + batch_der[:-1], SW_WRONG_DATA),
                         (scalar(batch_key) + batch_der * 7, SW_WRONG_LENGTH),
                         (scalar(batch_key), SW_WRONG_LENGTH)):
            self.assertEqual(attest_apdu(ctap, 0x10, data)[1], sw)
        self.assertEqual(attest_apdu(ctap, 0x01)[0], b"\x00")
        self.assertEqual(attest_apdu(ctap, 0x03)[1], 0x6A88)
        att, h = make_cred(ctap)
        fidokit.check_attestation(self, att, h)
        # Presence declined: refused, nothing written.
        self.rig.control("presence deny")
        self.assertEqual(attest_apdu(ctap, 0x10, scalar(batch_key) + batch_der)[1], 0x6985)
        self.rig.control("presence auto")
        self.assertEqual(attest_apdu(ctap, 0x01)[0], b"\x00")
        ctap.device.close()

        # The tool: a dry run writes nothing; a mismatched key is refused by the device.
        tmp = tempfile.mkdtemp(prefix="fk-attest-")
        try:
            other_pem = os.path.join(tmp, "other.pem")
            with open(other_pem, "wb") as f:
                f.write(other.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
            root_path = os.path.join(tmp, "root.der")
            with open(root_path, "wb") as f:
                f.write(root_der)
            key_path = os.path.join(DEV_CA, "batch.key.pem")
            cert_path = os.path.join(DEV_CA, "batch.der")
            run = tool.run("fido", "attestation", "import-batch", key_path, cert_path, root_path,
                           "--dry-run")
            self.assertIn("nothing written", run.out)
            self.assertIn("batch attestation: none", tool.run("fido", "attestation", "show").out)
            run = tool.run("fido", "attestation", "import-batch", other_pem, cert_path, rc=1)
            self.assertIn("does not match", run.err)
            tool.run("fido", "attestation", "import-batch", key_path, cert_path, root_path)
            show = tool.run("fido", "attestation", "show").out
            self.assertIn("batch attestation: 2 certificates", show)
        finally:
            shutil.rmtree(tmp)

        ctap = fidokit.ctap2()
        self.assertEqual(attest_apdu(ctap, 0x03)[0], batch_der + root_der)
        # packed with x5c [batch, root], signed by the batch key: the server verifies it
        # against the development root.
        att, h = make_cred(ctap)
        self.assertEqual(att.fmt, "packed")
        self.assertEqual(att.att_statement["alg"], -7)
        self.assertEqual(att.att_statement["x5c"], [batch_der, root_der])
        DevRootVerifier().verify_attestation(att, h)
        # Also for an Ed25519 credential (the attestation key is P-256 all the same).
        att, h = make_cred(ctap, alg=-8)
        self.assertEqual(att.att_statement["alg"], -7)
        DevRootVerifier().verify_attestation(att, h)
        # Through the client and the server, attestation "direct".
        server = Fido2Server({"id": "example.com", "name": "Example"}, attestation="direct",
                             verify_attestation=DevRootVerifier())
        client = Fido2Client(ctap.device, "https://example.com")
        options, state = server.register_begin({"id": b"user-9", "name": "u9"})
        result = client.make_credential(options["publicKey"])
        auth_data = server.register_complete(state, result.client_data,
                                             result.attestation_object)
        self.assertIsNotNone(auth_data.credential_data)
        # Another root does not verify it.
        class OtherRoot(AttestationVerifier):
            def ca_lookup(self, result, auth_data):
                return [self_cert]
        with self.assertRaises(Exception):
            OtherRoot().verify_attestation(att, h)
        # U2F REGISTER: the batch certificate, the batch key's signature.
        app, chal = os.urandom(32), os.urandom(32)
        reg = Ctap1(ctap.device).register(chal, app)
        self.assertEqual(reg.certificate, batch_der)
        reg.verify(app, chal)
        # The same after a power cycle; a reset forgets the import (self attestation).
        ctap = fidokit.power_cycle(self.rig, ctap)
        att, h = make_cred(ctap)
        self.assertEqual(att.att_statement["x5c"], [batch_der, root_der])
        ctap.reset()
        att, h = make_cred(ctap)
        fidokit.check_attestation(self, att, h)
        ctap.device.close()


class EnterpriseAttestation(fkit.RigTest):
    """The per-device key's certificate from the CA, and enterprise attestation."""

    def ep_enable(self, ctap):
        Config(ctap)._call(Config.CMD.ENABLE_ENTERPRISE_ATT)

    def mc_ep(self, ctap, ep, rp_id="example.com"):
        h = fidokit.cdh(b"ep")
        req = {1: h, 2: {"id": rp_id}, 3: {"id": b"user-ep"},
               4: [{"type": "public-key", "alg": -7}], 0x0A: ep}
        return ctap.send_cbor(Ctap2.CMD.MAKE_CREDENTIAL, req), h

    def test_enterprise(self):
        tool = Tool(self)
        ctap = fidokit.ctap2()
        self.assertNotIn("ep", info(ctap).options)
        # Not enabled (not even possible): 0A is refused, config too.
        fidokit.expect_ctap(self, ERR.INVALID_PARAMETER, self.mc_ep, ctap, 2)
        fidokit.expect_ctap(self, ERR.INVALID_PARAMETER, self.ep_enable, ctap)
        ctap.device.close()

        tmp = tempfile.mkdtemp(prefix="fk-ep-")
        try:
            pub = os.path.join(tmp, "device.pub.pem")
            cert = os.path.join(tmp, "device.der")
            run = tool.run("fido", "attestation", "public-key")
            with open(pub, "w") as f:
                f.write(run.out)
            self.assertEqual(tool.run("fido", "attestation", "public-key").out, run.out)
            subprocess.run([sys.executable, DEVCA, "device", DEV_CA, pub, cert], check=True)
            # A certificate for another key is refused by the device.
            wrong = os.path.join(tmp, "wrong.der")
            wrong_pub = os.path.join(tmp, "wrong.pub.pem")
            with open(wrong_pub, "wb") as f:
                f.write(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
            subprocess.run([sys.executable, DEVCA, "device", DEV_CA, wrong_pub, wrong], check=True)
            self.assertIn("does not match",
                          tool.run("fido", "attestation", "install-device", wrong, rc=1).err)
            self.assertIn("nothing written", tool.run("fido", "attestation", "install-device",
                                                      cert, "--dry-run").out)
            self.assertIn("device certificate: none", tool.run("fido", "attestation", "show").out)
            tool.run("fido", "attestation", "install-device", cert)
            tool.run("fido", "attestation", "set-ep-rpids", "corp.example", "intra.example")
            show = tool.run("fido", "attestation", "show").out
            self.assertIn("device certificate: 1 certificate", show)
            self.assertIn("enterprise attestation: disabled", show)
            self.assertIn("enterprise RP ids: corp.example intra.example", show)
            device_der = read(cert)
        finally:
            shutil.rmtree(tmp)

        ctap = fidokit.ctap2()
        self.assertIs(info(ctap).options["ep"], False)
        fidokit.expect_ctap(self, ERR.INVALID_PARAMETER, self.mc_ep, ctap, 2)
        self.ep_enable(ctap)
        self.assertIs(info(ctap).options["ep"], True)
        ctap.device.close()
        self.assertIn("enterprise attestation: enabled",
                      tool.run("fido", "attestation", "show").out)
        ctap = fidokit.ctap2()
        # Values other than 1 and 2.
        fidokit.expect_ctap(self, ERR.INVALID_OPTION, self.mc_ep, ctap, 3)
        fidokit.expect_ctap(self, ERR.INVALID_OPTION, self.mc_ep, ctap, 0)
        # Mode 2: the device certificate, epAtt true.
        for ep, rp in ((2, "any.example"), (1, "corp.example")):
            resp, h = self.mc_ep(ctap, ep, rp)
            self.assertIs(resp.get(4), True)
            att = AttestationObject.create(resp[1], resp[2], resp[3])
            self.assertEqual(att.att_statement["x5c"], [device_der])
            DevRootVerifier().verify_attestation(att, h)
        # Mode 1 with an RP not in the list: the usual attestation, no epAtt.
        resp, h = self.mc_ep(ctap, 1, "other.example")
        self.assertNotIn(4, resp)
        att = AttestationObject.create(resp[1], resp[2], resp[3])
        fidokit.check_attestation(self, att, h)
        # Without 0A: no epAtt either.
        att, h = make_cred(ctap)
        fidokit.check_attestation(self, att, h)
        # A reset disables enterprise attestation and forgets the provisioning.
        ctap = fidokit.power_cycle(self.rig, ctap)
        ctap.reset()
        self.assertNotIn("ep", info(ctap).options)
        fidokit.expect_ctap(self, ERR.INVALID_PARAMETER, self.mc_ep, ctap, 2)
        ctap.device.close()


if __name__ == "__main__":
    fkit.main(__doc__)
