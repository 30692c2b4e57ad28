# SPDX-License-Identifier: Apache-2.0
"""PKCS#15 objects of the HSM applet through unmodified OpenSC 0.23: the token as
pkcs15-tool and pkcs11-tool show it, key objects with their key references, public and
private data objects, X.509 certificates of a key (CExx) and of a CA (CAxx + C8xx),
pkcs15-init's object flows, keys across a PIN change and an SO unblock, the deletion of a
key, and re-initialization.

Every test starts from a card initialized with `sc-hsm-tool --initialize`; checks that
OpenSC cannot show (ENUMERATE OBJECTS, file access without the PIN, signing with a deleted
key, the device CHR in 2F02) use raw APDUs through pcscd. Certificates are made by openssl
for the public key the card exported, signatures are checked with openssl.
"""

import os
import shutil

import fkit
from fkit import SW_OK, apdu, hx

PIN = "648219"
PIN2 = "123456"
PIN3 = "654321"
WRONG_PIN = "000000"
SO_PIN = "3537363231383830"
WRONG_SO_PIN = "0000000000000000"
MODULE = fkit.OPENSC_MODULE
TIMEOUT = 600  # seconds per tool run (ASan build on a loaded machine)

SW_SECURITY = 0x6982
SW_FILE_NOT_FOUND = 0x6A82

FID_DEVICE_CERTS = 0x2F02
TAG_CVC = 0x7F21
TAG_CVC_BODY = 0x7F4E
TAG_CHR = 0x5F20
CHR_SEQUENCE_LEN = 5  # OpenSC's token serial is the device CHR without its sequence number

PREFIX_PRKD = 0xC4
PREFIX_CD = 0xC8
PREFIX_DCOD = 0xC9
PREFIX_CA_CERT = 0xCA
PREFIX_KEY = 0xCC
PREFIX_PRIVATE_DATA = 0xCD
PREFIX_EE_CERT = 0xCE
PREFIX_PUBLIC_DATA = 0xCF
DEVICE_KEY = 0xCC00
DEVICE_REQUEST = 0xCE00  # the device key's request, listed with it
DEVICE_OBJECTS = [DEVICE_KEY, DEVICE_REQUEST]

ENUMERATE = apdu("80 58 00 00 00 00 00")
MESSAGE = b"fusekey keeps its objects apart\n"
DATA_MAX = 5000  # pkcs11-tool --write-object reads at most this many bytes of the file


def run(args, check=True):
    """Run a tool with OPENSC_* removed from the environment; returns (status, stdout, stderr)."""
    proc = fkit.run_client(args, check=check, timeout=TIMEOUT)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


def p11(*args, pin=PIN, check=True):
    """pkcs11-tool with the OpenSC module, logged in with pin (None: no login)."""
    login = ["--login", "--pin", pin] if pin is not None else []
    return run(["pkcs11-tool", "--module", MODULE] + login + list(args), check=check)


def parse_dump(text):
    """pkcs15-tool's listing as [(header, {field: value})], one entry per object."""
    objs = []
    cur = None
    for line in text.splitlines():
        if not line.strip():
            cur = None
        elif line.startswith("\t"):
            if cur is not None and ":" in line:
                key, value = line.split(":", 1)
                cur[1][key.strip()] = value.strip()
        else:
            cur = (line.strip(), {})
            objs.append(cur)
    return objs


def field_after(text, name):
    """The value of a `name : value` line of pkcs11-tool's output, or None."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return None


def fids_with(fids, prefix):
    return sorted(f for f in fids if f >> 8 == prefix)


def read_binary_all(fid):
    """READ BINARY (B1) of a whole file by FID, extended Le 65536."""
    return bytes([0x00, 0xB1, fid >> 8, fid & 0xFF]) + apdu("00 00 04 54 02 00 00 00 00")


class Objects(fkit.Scratch, fkit.RigTest):
    """One rig; every test re-initializes the card first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.card.close()  # the tools get the reader to themselves; raw() connects anew
        cls.card = None
        cls.make_scratch("fk-objects-")

    @classmethod
    def tearDownClass(cls):
        if not cls.rig.failed and not fkit.ARGS.keep:
            cls.remove_scratch()
        super().tearDownClass()

    def setUp(self):
        for tool in ("sc-hsm-tool", "pkcs11-tool", "pkcs15-tool", "pkcs15-init", "openssl"):
            if shutil.which(tool) is None:
                self.fail("%s not found: run tools/deps.sh" % tool)
        if not os.path.exists(MODULE):
            self.fail("OpenSC PKCS#11 module not found: run tools/deps.sh")
        self.fresh_card()

    # -- the card, raw --

    def raw(self, *exchanges, pin=None):
        """Connect, SELECT the HSM, [VERIFY pin,] send each (cmd, sw); returns the data list."""
        card = self.rig.wait_card()
        try:
            self.select_hsm(card)
            if pin is not None:
                self.sw_is(apdu("00 20 00 81") + bytes([len(pin)]) + pin.encode(), SW_OK, card)
            got = []
            for cmd, sw in exchanges:
                data, answer = card.transmit(cmd)
                self.assertEqual(answer, sw, "%s -> %s (%d bytes) %04X, expected %04X" % (
                    hx(cmd[:16]), hx(data[:16]), len(data), answer, sw))
                got.append(data)
            return got
        finally:
            card.close()

    def enumerate(self):
        """ENUMERATE OBJECTS: the FIDs the card lists."""
        data = self.raw((ENUMERATE, SW_OK))[0]
        self.assertEqual(len(data) % 2, 0, hx(data))
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]

    def device_chr(self):
        """The holder reference of the device certificate (first CVC of 2F02)."""
        chain = self.raw((read_binary_all(FID_DEVICE_CERTS), SW_OK))[0]
        tag, cvc = self.first_tlv(chain)
        self.assertEqual(tag, TAG_CVC, "2F02 does not start with a CVC: %s" % hx(chain[:16]))
        body = dict(fkit.tlv_children(cvc))[TAG_CVC_BODY]
        return dict(fkit.tlv_children(body))[TAG_CHR].decode("ascii")

    @staticmethod
    def first_tlv(buf):
        """The first TLV of buf (2F02 holds several, possibly followed by padding)."""
        i = 2 if buf[0] & 0x1F == 0x1F else 1
        ln = buf[i]
        i += 1
        if ln & 0x80:
            n = ln & 0x7F
            ln = int.from_bytes(buf[i:i + n], "big")
            i += n
        return fkit.tlv_children(buf[:i + ln])[0]

    # -- the card, through OpenSC --

    def fresh_card(self, pin=PIN):
        """sc-hsm-tool --initialize with the SO-PIN; afterwards only the device key and its
        request are listed."""
        _, out, err = run(["sc-hsm-tool", "--reader", "0", "--initialize", "--so-pin", SO_PIN,
                           "--pin", pin])
        self.assertNotIn("failed", out + err)
        self.assertEqual(self.enumerate(), DEVICE_OBJECTS)

    def dump(self, *args):
        """pkcs15-tool -D (or the given listing option), parsed."""
        _, out, _ = run(["pkcs15-tool", "--reader", "0"] + list(args or ("-D",)))
        return parse_dump(out)

    def keygen(self, kid, key_type):
        """Generate a key pair with pkcs11-tool; returns the path of its public key (PEM)."""
        _, out, _ = p11("--keypairgen", "--key-type", key_type, "--id", kid, "--label", "k" + kid)
        self.assertIn("Private Key Object", out)
        pem = self.path("pub%s.pem" % kid)
        run(["pkcs15-tool", "--reader", "0", "--read-public-key", kid, "-o", pem])
        return pem

    def sign(self, kid, ec, pin=PIN, check=True):
        """Sign MESSAGE with key kid (ECDSA-SHA256 or SHA256-RSA-PKCS); returns
        (status, signature or None, output)."""
        mech = ["-m", "ECDSA-SHA256", "--signature-format", "openssl"] if ec else \
            ["-m", "SHA256-RSA-PKCS"]
        if os.path.exists(self.path("sig")):
            os.unlink(self.path("sig"))
        rc, out, err = p11("--sign", "--id", kid, *mech, "-i", self.write("msg", MESSAGE),
                           "-o", self.path("sig"), pin=pin, check=check)
        sig = self.read("sig") if rc == 0 else None
        return rc, sig, out + err

    def assert_signs(self, kid, pem, ec, pin=PIN):
        """Key kid signs with pin and openssl verifies the signature with pem."""
        _, sig, _ = self.sign(kid, ec, pin)
        self.write("sigv", sig)
        rc, out, err = run(["openssl", "dgst", "-sha256", "-verify", pem, "-signature",
                            self.path("sigv"), self.path("msg")], check=False)
        self.assertEqual(rc, 0, "signature of key %s does not verify: %s%s" % (kid, out, err))

    def login_fails(self, pin, reason):
        rc, out, err = p11("-O", pin=pin, check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertIn(reason, out + err)

    def make_ca(self):
        """A throwaway openssl CA: key ca.key, self-signed certificate ca.pem."""
        run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
             self.path("ca.key")])
        run(["openssl", "req", "-new", "-x509", "-key", self.path("ca.key"), "-subj",
             "/CN=fusekey test CA", "-days", "30", "-out", self.path("ca.pem")])

    def make_cert(self, pub_pem, subject, name, form="DER", padding=0):
        """A certificate for pub_pem issued by the CA; padding adds an nsComment of that size."""
        args = ["openssl", "x509", "-new", "-force_pubkey", pub_pem, "-subj", "/CN=" + subject,
                "-CA", self.path("ca.pem"), "-CAkey", self.path("ca.key"), "-days", "30",
                "-outform", form, "-out", self.path(name)]
        if padding:
            ext = "[ext]\nnsComment = %s\n" % ("p" * padding)
            args += ["-extfile", self.write(name + ".cnf", ext.encode()), "-extensions", "ext"]
        run(args)
        return self.path(name)

    def key_objects(self, dump):
        """{ID: Key ref} of the private keys in a parsed pkcs15-tool listing."""
        out = {}
        for header, fields in dump:
            if header.startswith("Private "):
                out[fields["ID"]] = int(fields["Key ref"].split()[0])
        return out

    # -- the tests --

    def test_1_token_and_keys(self):
        """pkcs15-tool -D and pkcs11-tool -L show the token (label, serial = device CHR minus
        5 characters, both PINs); after keygen -D lists each private key with Key ref = its
        key id on the card (the CC id ENUMERATE lists) and each public key."""
        chr_ = self.device_chr()
        serial = chr_[:-CHR_SEQUENCE_LEN]
        self.assertGreaterEqual(len(serial), 3, chr_)
        dump = self.dump()
        card = dict(dump)
        header = [h for h, _ in dump if h.startswith("PKCS#15 Card")]
        self.assertEqual(header, ["PKCS#15 Card [fusekey]:"], dump)
        self.assertEqual(card[header[0]]["Serial number"], serial)
        self.assertEqual(card["PIN [UserPIN]"]["Reference"], "129 (0x81)")
        self.assertEqual(card["PIN [UserPIN]"]["Tries left"], "3")
        self.assertEqual(card["PIN [SOPIN]"]["Reference"], "136 (0x88)")
        self.assertEqual(card["PIN [SOPIN]"]["Tries left"], "15")
        self.assertEqual(self.key_objects(dump), {})
        _, out, _ = p11("-L", pin=None)
        self.assertIn("fusekey", field_after(out, "token label"))
        self.assertEqual(field_after(out, "serial num"), serial)
        self.assertIn("PIN initialized", field_after(out, "token flags"))
        self.assertIn("token initialized", field_after(out, "token flags"))

        self.keygen("01", "EC:prime256v1")
        self.keygen("02", "rsa:1024")
        fids = self.enumerate()
        self.assertEqual(fids_with(fids, PREFIX_KEY), [DEVICE_KEY, 0xCC01, 0xCC02])
        self.assertEqual(fids_with(fids, PREFIX_PRKD), [0xC401, 0xC402])
        self.assertEqual(fids_with(fids, PREFIX_EE_CERT), [DEVICE_REQUEST, 0xCE01, 0xCE02])
        dump = self.dump()
        self.assertEqual(self.key_objects(dump), {"01": 1, "02": 2})
        card = dict(dump)
        self.assertEqual(card["Private EC Key [k01]"]["FieldLength"], "256")
        self.assertEqual(card["Private RSA Key [k02]"]["ModLength"], "1024")
        self.assertEqual(card["Public EC Key [k01]"]["ID"], "01")
        self.assertEqual(card["Public RSA Key [k02]"]["ID"], "02")
        self.assertEqual(card["Public RSA Key [k02]"]["ModLength"], "1024")
        # An ID that is not the next free key id: the key ref is the card's id, the ID the label's.
        self.keygen("47", "EC:prime256v1")
        new = sorted(set(self.enumerate()) - set(fids))
        self.assertEqual(len(fids_with(new, PREFIX_KEY)), 1, [hex(f) for f in new])
        ref = fids_with(new, PREFIX_KEY)[0] & 0xFF
        self.assertEqual(self.key_objects(self.dump()), {"01": 1, "02": 2, "47": ref})
        _, out, _ = p11("-O", pin=None)
        self.assertEqual(out.count("Public Key Object"), 3, out)

    def test_2_data_objects(self):
        """A public and a private data object: written, listed, read back (the private one only
        after login, raw READ 6982 without the PIN), deleted."""
        public = b"a public data object\n"
        private = os.urandom(DATA_MAX)  # several write and read chunks
        p11("--write-object", self.write("pub.bin", public), "--type", "data", "--label", "pubdo")
        p11("--write-object", self.write("priv.bin", private), "--type", "data", "--label",
            "privdo", "--private")
        fids = self.enumerate()
        dcod = fids_with(fids, PREFIX_DCOD)
        pub_fids = fids_with(fids, PREFIX_PUBLIC_DATA)
        priv_fids = fids_with(fids, PREFIX_PRIVATE_DATA)
        self.assertEqual(len(dcod), 2, [hex(f) for f in fids])
        self.assertEqual(len(pub_fids), 1, [hex(f) for f in fids])
        self.assertEqual(len(priv_fids), 1, [hex(f) for f in fids])
        # Each data EF has its DODF entry under the same id.
        self.assertEqual(sorted(f & 0xFF for f in pub_fids + priv_fids), [f & 0xFF for f in dcod])

        # Listed: without login only the public one's content.
        data_objs = {h: f for h, f in self.dump("-C")}
        self.assertIn("Data object 'pubdo'", data_objs)
        self.assertIn("Data object 'privdo'", data_objs)
        self.assertEqual(data_objs["Data object 'pubdo'"]["Path"].split("::")[-1],
                         "%04x" % pub_fids[0])
        self.assertEqual(data_objs["Data object 'privdo'"]["Path"].split("::")[-1],
                         "%04x" % priv_fids[0])
        self.assertEqual(data_objs["Data object 'privdo'"]["Auth ID"], "01")
        _, out, _ = p11("-O", pin=None)
        self.assertIn("'pubdo'", out)
        self.assertNotIn("'privdo'", out)
        _, out, _ = p11("-O")
        self.assertIn("'privdo'", out)

        # Read back through PKCS#11.
        p11("--read-object", "--type", "data", "--label", "pubdo", "-o", self.path("o1"),
            pin=None)
        self.assertEqual(self.read("o1"), public)
        rc, out, err = p11("--read-object", "--type", "data", "--label", "privdo", "-o",
                           self.path("o2"), pin=None, check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("object not found", out + err)
        self.assertFalse(os.path.exists(self.path("o2")))
        p11("--read-object", "--type", "data", "--label", "privdo", "-o", self.path("o3"))
        self.assertEqual(self.read("o3"), private)
        # And raw: the private EF answers 6982 until the PIN is verified.
        got = self.raw((read_binary_all(pub_fids[0]), SW_OK),
                       (read_binary_all(priv_fids[0]), SW_SECURITY))
        self.assertEqual(got[0], public)
        got = self.raw((read_binary_all(priv_fids[0]), SW_OK), pin=PIN)
        self.assertEqual(got[0], private)

        # Delete both: the EFs and their DODF entries go.
        p11("--delete-object", "--type", "data", "--label", "pubdo")
        priv_dcod = PREFIX_DCOD << 8 | priv_fids[0] & 0xFF
        self.assertEqual(sorted(self.enumerate()), sorted(DEVICE_OBJECTS + [priv_fids[0], priv_dcod]))
        p11("--delete-object", "--type", "data", "--label", "privdo")
        self.assertEqual(self.enumerate(), DEVICE_OBJECTS)
        rc, out, err = p11("--read-object", "--type", "data", "--label", "pubdo", "-o",
                           self.path("o4"), pin=None, check=False)
        self.assertIn("object not found", out + err)
        self.raw((read_binary_all(pub_fids[0]), SW_FILE_NOT_FOUND))
        self.raw((read_binary_all(priv_fids[0]), SW_FILE_NOT_FOUND), pin=PIN)

    def test_3_certificates(self):
        """An X.509 certificate for a card key goes to CE<key id>; CA certificates whose ID
        matches no key go to CAxx with a CD entry in C8xx; all read back byte for byte, are
        listed by pkcs15-tool and pkcs11-tool, and are deleted again."""
        pem = self.keygen("01", "EC:prime256v1")
        self.make_ca()
        cert = self.make_cert(pem, "key one", "cert01.der")
        p11("--write-object", cert, "--type", "cert", "--id", "01", "--label", "cert01")
        fids = self.enumerate()
        self.assertIn(0xCE01, fids)
        self.assertEqual(fids_with(fids, PREFIX_CA_CERT) + fids_with(fids, PREFIX_CD), [])
        p11("--read-object", "--type", "cert", "--id", "01", "-o", self.path("back01.der"),
            pin=None)
        self.assertEqual(self.read("back01.der"), self.read("cert01.der"))
        self.assertEqual(self.raw((read_binary_all(0xCE01), SW_OK))[0], self.read("cert01.der"))
        # The certificate holds the card key's public key: the key's signature verifies with it.
        run(["openssl", "x509", "-inform", "DER", "-in", self.path("back01.der"), "-pubkey",
             "-noout", "-out", self.path("certpub.pem")])
        self.assert_signs("01", self.path("certpub.pem"), ec=True)
        # A key whose ID is not its key id: the certificate goes by the key id (CC02 -> CE02).
        pem5a = self.keygen("5a", "EC:prime256v1")
        self.assertIn(0xCC02, self.enumerate())
        p11("--write-object", self.make_cert(pem5a, "key 5a", "cert5a.der"), "--type", "cert",
            "--id", "5a", "--label", "cert5a")
        self.assertEqual(self.raw((read_binary_all(0xCE02), SW_OK))[0], self.read("cert5a.der"))
        self.assertEqual(self.key_objects(self.dump()), {"01": 1, "5a": 2})

        # Two CA certificates (the second larger than one APDU chunk many times over).
        ca_der = self.path("ca.der")
        run(["openssl", "x509", "-in", self.path("ca.pem"), "-outform", "DER", "-out", ca_der])
        big = self.make_cert(self.path("certpub.pem"), "big", "big.der", padding=4000)
        self.assertLessEqual(os.path.getsize(big), DATA_MAX)
        p11("--write-object", ca_der, "--type", "cert", "--id", "a0", "--label", "testca")
        p11("--write-object", big, "--type", "cert", "--id", "a1", "--label", "bigcert")
        fids = self.enumerate()
        ca = fids_with(fids, PREFIX_CA_CERT)
        self.assertEqual(len(ca), 2, [hex(f) for f in fids])
        self.assertEqual(fids_with(fids, PREFIX_CD), [PREFIX_CD << 8 | f & 0xFF for f in ca])
        for kid, src in (("a0", ca_der), ("a1", big)):
            p11("--read-object", "--type", "cert", "--id", kid, "-o", self.path("b.der"),
                pin=None)
            with open(src, "rb") as f:
                self.assertEqual(self.read("b.der"), f.read(), kid)

        certs = {f["ID"]: (h, f) for h, f in self.dump() if h.startswith("X.509 Certificate")}
        self.assertEqual(sorted(certs), ["01", "5a", "a0", "a1"])
        self.assertEqual(certs["01"][0], "X.509 Certificate [cert01]")
        self.assertEqual(certs["01"][1]["Path"].split("::")[-1], "ce01")
        self.assertEqual(certs["5a"][1]["Path"].split("::")[-1], "ce02")
        ca_paths = sorted(certs[k][1]["Path"].split("::")[-1] for k in ("a0", "a1"))
        self.assertEqual(ca_paths, ["%04x" % f for f in ca])
        _, out, _ = p11("-O", pin=None)
        self.assertEqual(out.count("Certificate Object"), 4, out)
        for label in ("cert01", "cert5a", "testca", "bigcert"):
            self.assertIn("label:      %s\n" % label, out)

        # Delete: a CA certificate takes its CD entry along; the key's certificate leaves the key.
        p11("--delete-object", "--type", "cert", "--id", "a0")
        p11("--delete-object", "--type", "cert", "--id", "01")
        fids = self.enumerate()
        self.assertNotIn(0xCE01, fids)
        self.assertEqual(len(fids_with(fids, PREFIX_CA_CERT)), 1, [hex(f) for f in fids])
        self.assertEqual(len(fids_with(fids, PREFIX_CD)), 1, [hex(f) for f in fids])
        certs = [f["ID"] for h, f in self.dump() if h.startswith("X.509 Certificate")]
        self.assertEqual(sorted(certs), ["5a", "a1"])
        p11("--read-object", "--type", "cert", "--id", "a1", "-o", self.path("b.der"), pin=None)
        self.assertEqual(self.read("b.der"), self.read("big.der"))
        self.assert_signs("01", pem, ec=True)

    def test_4_pkcs15_init(self):
        """pkcs15-init: OpenSC's sc-hsm profile never asks for the PIN, so without
        --verify-pin every write is refused (6982) and nothing changes; with
        --verify-pin --auth-id 01 a key's certificate, a CA certificate, a data object and a
        key generation work, and -D deletes."""
        pem = self.keygen("01", "EC:prime256v1")
        self.make_ca()
        cert = self.make_cert(pem, "key one", "cert01.pem", form="PEM")
        before = self.enumerate()
        for args in (["--store-certificate", cert, "--id", "01"],
                     ["--store-certificate", self.path("ca.pem"), "--id", "c1", "--authority"],
                     ["--store-data", self.write("d.bin", b"init data\n"), "--label", "p15do"]):
            rc, out, err = run(["pkcs15-init", "--reader", "0", "--pin", PIN] + args, check=False)
            self.assertNotEqual(rc, 0, "pkcs15-init %s succeeded without the PIN" % args[0])
            self.assertIn("Security status not satisfied", out + err)
        self.assertEqual(self.enumerate(), before)

        def p15init(*args):
            return run(["pkcs15-init", "--reader", "0", "--verify-pin", "--auth-id", "01",
                        "--pin", PIN] + list(args))

        p15init("--store-certificate", cert, "--id", "01", "--label", "p15cert")
        p15init("--store-certificate", self.path("ca.pem"), "--id", "c1", "--authority",
                "--label", "p15ca")
        p15init("--store-data", self.write("d.bin", b"init data\n"), "--label", "p15do")
        p15init("--generate-key", "ec/prime256v1", "--id", "05", "--label", "g05")
        fids = self.enumerate()
        self.assertIn(0xCE01, fids)
        self.assertEqual(len(fids_with(fids, PREFIX_CA_CERT)), 1, [hex(f) for f in fids])
        self.assertEqual(len(fids_with(fids, PREFIX_CD)), 1, [hex(f) for f in fids])
        self.assertEqual(len(fids_with(fids, PREFIX_DCOD)), 1, [hex(f) for f in fids])
        self.assertEqual(fids_with(fids, PREFIX_KEY), [DEVICE_KEY, 0xCC01, 0xCC02])

        dump = self.dump()
        certs = {f["ID"]: f for h, f in dump if h.startswith("X.509 Certificate")}
        self.assertEqual(sorted(certs), ["01", "c1"])
        self.assertEqual(certs["c1"]["Authority"], "yes")
        self.assertEqual(self.key_objects(dump), {"01": 1, "05": 2})
        for kid, src in (("01", cert), ("c1", self.path("ca.pem"))):
            run(["pkcs15-tool", "--reader", "0", "--read-certificate", kid, "-o",
                 self.path("r.pem")])
            run(["openssl", "x509", "-in", self.path("r.pem"), "-outform", "DER", "-out",
                 self.path("r.der")])
            run(["openssl", "x509", "-in", src, "-outform", "DER", "-out", self.path("s.der")])
            self.assertEqual(self.read("r.der"), self.read("s.der"), kid)
        _, out, _ = run(["pkcs15-tool", "--reader", "0", "--verify-pin", "--auth-id", "01",
                         "--pin", PIN, "--read-data-object", "p15do", "--raw"])
        self.assertEqual(out, "init data\n")
        pub05 = self.path("pub05.pem")
        run(["pkcs15-tool", "--reader", "0", "--read-public-key", "05", "-o", pub05])
        self.assert_signs("05", pub05, ec=True)

        _, out, err = p15init("--delete-objects", "cert", "--id", "c1")
        self.assertIn("Deleted 1 objects", out + err)
        _, out, err = p15init("--delete-objects", "privkey", "--id", "01")
        self.assertIn("Deleted 1 objects", out + err)
        fids = self.enumerate()
        self.assertEqual(fids_with(fids, PREFIX_CA_CERT) + fids_with(fids, PREFIX_CD), [])
        self.assertEqual(fids_with(fids, PREFIX_KEY), [DEVICE_KEY, 0xCC02])
        self.assertEqual(self.key_objects(self.dump()), {"05": 2})

    def test_5_pin_change_and_unblock(self):
        """Keys sign after a PIN change (the old PIN is refused) and after the SO unblocked
        the PIN that three wrong PINs had blocked."""
        ec_pem = self.keygen("01", "EC:prime256v1")
        rsa_pem = self.keygen("02", "rsa:1024")
        _, out, _ = p11("--change-pin", "--new-pin", PIN2)
        self.assertIn("PIN successfully changed", out)
        self.assert_signs("01", ec_pem, ec=True, pin=PIN2)
        self.assert_signs("02", rsa_pem, ec=False, pin=PIN2)
        rc, _, out = self.sign("01", ec=True, pin=PIN, check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("CKR_PIN_INCORRECT", out)
        # The old PIN above was the first wrong one; two more block the PIN.
        self.login_fails(WRONG_PIN, "CKR_PIN_INCORRECT")
        self.login_fails(WRONG_PIN, "CKR_PIN_LOCKED")
        self.login_fails(PIN2, "CKR_PIN_LOCKED")
        rc, _, out = self.sign("02", ec=False, pin=PIN2, check=False)
        self.assertIn("CKR_PIN_LOCKED", out)
        _, out, _ = p11("--login", "--login-type", "so", "--so-pin", SO_PIN, "--init-pin",
                        "--new-pin", PIN3, pin=None)
        self.assertIn("User PIN successfully initialized", out)
        self.assert_signs("01", ec_pem, ec=True, pin=PIN3)
        self.assert_signs("02", rsa_pem, ec=False, pin=PIN3)
        self.login_fails(PIN2, "CKR_PIN_INCORRECT")

    def test_6_delete_private_key(self):
        """--delete-object --type privkey removes CCxx and C4xx: signing fails (PKCS#11 and raw
        6A82), ENUMERATE lists neither, the other key still signs; a new key takes the id and
        signs with its own public key."""
        old_pem = self.keygen("01", "EC:prime256v1")
        rsa_pem = self.keygen("02", "rsa:1024")
        self.assert_signs("01", old_pem, ec=True)
        p11("--delete-object", "--type", "privkey", "--id", "01")
        fids = self.enumerate()
        self.assertNotIn(0xCC01, fids)
        self.assertNotIn(0xC401, fids)
        self.assertEqual(fids_with(fids, PREFIX_KEY), [DEVICE_KEY, 0xCC02])
        rc, _, out = self.sign("01", ec=True, check=False)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("Private key not found", out)
        digest = bytes(range(32))
        self.raw((apdu("80 68 01 70 20") + digest + b"\x00", SW_FILE_NOT_FOUND), pin=PIN)
        self.assertEqual(self.key_objects(self.dump()), {"02": 2})
        self.assert_signs("02", rsa_pem, ec=False)
        # The freed key id is used again, with the new key's own public key and no old state.
        new_pem = self.keygen("03", "EC:prime256v1")
        self.assertEqual(fids_with(self.enumerate(), PREFIX_KEY), [DEVICE_KEY, 0xCC01, 0xCC02])
        self.assertEqual(self.key_objects(self.dump()), {"02": 2, "03": 1})
        self.assertNotEqual(self.read("pub03.pem"), self.read("pub01.pem"))
        self.assert_signs("03", new_pem, ec=True)

    def test_7_reinitialize(self):
        """sc-hsm-tool --initialize with the same SO-PIN wipes keys, certificates and data
        objects; the token shows again with the same serial and the new PIN."""
        serial = self.device_chr()[:-CHR_SEQUENCE_LEN]
        pem = self.keygen("01", "EC:prime256v1")
        self.keygen("02", "rsa:1024")
        self.make_ca()
        p11("--write-object", self.make_cert(pem, "key one", "c.der"), "--type", "cert",
            "--id", "01")
        run(["openssl", "x509", "-in", self.path("ca.pem"), "-outform", "DER", "-out",
             self.path("ca.der")])
        p11("--write-object", self.path("ca.der"), "--type", "cert", "--id", "a0")
        p11("--write-object", self.write("d1", b"public\n"), "--type", "data", "--label", "pubdo")
        p11("--write-object", self.write("d2", b"private\n"), "--type", "data", "--label",
            "privdo", "--private")
        p11("--change-pin", "--new-pin", PIN2)
        before = self.enumerate()
        for prefix in (PREFIX_KEY, PREFIX_PRKD, PREFIX_EE_CERT, PREFIX_CA_CERT, PREFIX_CD,
                       PREFIX_DCOD, PREFIX_PUBLIC_DATA, PREFIX_PRIVATE_DATA):
            self.assertTrue(fids_with(before, prefix), "no %02X object before: %s" % (
                prefix, [hex(f) for f in before]))

        # A wrong SO-PIN changes nothing.
        _, out, err = run(["sc-hsm-tool", "--reader", "0", "--initialize", "--so-pin",
                           WRONG_SO_PIN, "--pin", PIN])
        self.assertIn("PIN code or key incorrect", out + err)
        self.assertEqual(self.enumerate(), before)

        self.fresh_card(pin=PIN)  # asserts ENUMERATE = CC00 and CE00 alone
        for fid in before:
            if fid not in DEVICE_OBJECTS and fid >> 8 != PREFIX_KEY:
                self.raw((read_binary_all(fid), SW_FILE_NOT_FOUND), pin=PIN)
        dump = self.dump()
        self.assertEqual([h for h, _ in dump if not h.startswith("PIN ")],
                         ["PKCS#15 Card [fusekey]:"])
        self.assertEqual(dict(dump)["PKCS#15 Card [fusekey]:"]["Serial number"], serial)
        self.assertEqual(dict(dump)["PIN [SOPIN]"]["Tries left"], "15")
        self.assertEqual(dict(dump)["PIN [UserPIN]"]["Tries left"], "3")
        _, out, _ = p11("-L", pin=None)
        self.assertEqual(field_after(out, "serial num"), serial)
        self.assertIn("PIN initialized", field_after(out, "token flags"))
        _, out, _ = p11("-O")
        for kind in ("Private Key Object", "Public Key Object", "Certificate Object",
                     "Data object"):
            self.assertNotIn(kind, out)
        self.login_fails(PIN2, "CKR_PIN_INCORRECT")
        self.assertEqual(self.device_chr()[:-CHR_SEQUENCE_LEN], serial)
        # The new token works: a key generated now takes id 01 again and signs.
        pem = self.keygen("01", "EC:prime256v1")
        self.assertEqual(self.key_objects(self.dump()), {"01": 1})
        self.assert_signs("01", pem, ec=True)


if __name__ == "__main__":
    fkit.main(__doc__)
