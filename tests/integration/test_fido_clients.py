# SPDX-License-Identifier: Apache-2.0
"""The FIDO features as Debian's unmodified libfido2 1.12 tools and OpenSSH 9.2 use them on
fusekey-sim's CTAPHID socket (through the preload library), each class on a fresh
simulator:

- fido2-cred -M with -r, -h, -c, -b, -v (es256 and eddsa) and -u (U2F register over
  CTAPHID MSG), each verified by fido2-cred -V; fido2-assert -G with -r (several
  credentials through getNextAssertion), -h, -p, -v, -t up=false and -u, verified by
  fido2-assert -V.
- fido2-token: set and change the PIN, credential metadata, RP and credential listing,
  credential details, delete, user update, largeBlobs (set, get, list, delete), alwaysUv on
  and off, the minimum PIN length, enterprise attestation, reset inside and outside the
  window of a power-up.
- ssh-keygen: ecdsa-sk and ed25519-sk keys with resident, verify-required (PIN through
  SSH_ASKPASS) and no-touch-required, -K for several users, a wrong PIN.
"""

import base64
import os
import re
import shutil

import fkit
import test_libfido2 as base
from fidohid import Ctap2

RESET_WINDOW_MS = 10000
PIN = "271828"


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


class ClientTest(base.ToolTest):
    """Helpers around the tools' input and output formats (man fido2-cred, fido2-assert)."""

    def out_file(self, name):
        """A fresh output path: the tools' -o opens an existing file without truncating
        it, so a shorter output would keep the old one's tail."""
        path = self.file(name)
        if os.path.exists(path):
            os.unlink(path)
        return path

    def cred(self, rp_id="example.com", user="alice", user_id=None, kind="es256", opts=(),
             stdin=None, check=True):
        """fido2-cred -M: the output lines (cdh, rp, fmt, authdata, id, sig, [x5c], [lbk])
        or the CompletedProcess when check is False."""
        user_id = user_id or os.urandom(16)
        inp = self.file("mc_in", "%s\n%s\n%s\n%s\n" % (b64(os.urandom(32)), rp_id, user,
                                                       b64(user_id)))
        out = self.out_file("mc_out")
        proc = self.run_tool(["fido2-cred", "-M"] + list(opts) + ["-i", inp, "-o", out,
                                                               self.sim_path(), kind],
                             stdin=stdin, check=check)
        if not check:
            return proc
        with open(out) as f:
            return f.read().splitlines()

    def verify_cred(self, lines, kind="es256", opts=(), check=True, lbk=False):
        """fido2-cred -V of lines (-M output; lbk: its last line is a largeBlobKey, not
        input of -V); returns the public key's PEM path, or the CompletedProcess when check
        is False."""
        if lbk:
            lines = lines[:-1]
        inp = self.file("mv_in", "\n".join(lines[:7]) + "\n")
        pem = self.out_file("pub_%s.pem" % lines[4].replace("/", "_")[:20])
        proc = self.run_tool(["fido2-cred", "-V"] + list(opts) + ["-i", inp, "-o", pem, kind],
                             check=check)
        return pem if check else proc

    def assertion(self, rp_id="example.com", cred_id=None, salt=None, opts=(), stdin=None,
                  check=True):
        """fido2-assert -G: the output lines, or the CompletedProcess when check is False."""
        text = "%s\n%s\n" % (b64(os.urandom(32)), rp_id)
        if cred_id is not None:
            text += cred_id + "\n"
        if salt is not None:
            text += b64(salt) + "\n"
        inp = self.file("ga_in", text)
        out = self.out_file("ga_out")
        proc = self.run_tool(["fido2-assert", "-G"] + list(opts) + ["-i", inp, "-o", out,
                                                                 self.sim_path()],
                             stdin=stdin, check=check)
        if not check:
            return proc
        with open(out) as f:
            return f.read().splitlines()

    def verify_assertion(self, lines, pem, kind="es256", opts=()):
        """fido2-assert -V of the first 4 lines; True when the tool accepts them."""
        inp = self.file("av_in", "\n".join(lines[:4]) + "\n")
        proc = self.run_tool(["fido2-assert", "-V"] + list(opts) + ["-i", inp, pem, kind],
                             check=False)
        return proc.returncode == 0

    def set_pin(self, pin=PIN, force=False):
        """fido2-token -S, once per rig (a class shares its simulator) unless force."""
        if getattr(type(self), "pin_set", False) and not force:
            return
        type(self).pin_set = True
        self.run_tool(["fido2-token", "-S", self.sim_path()], stdin="%s\n%s\n" % (pin, pin))

    def token_pin(self, *args, pin=PIN, check=True):
        """fido2-token with the PIN on stdin."""
        return self.run_tool(["fido2-token"] + list(args), stdin=pin + "\n", check=check)

    def info(self):
        return Ctap2(self.device()).get_info()

    @staticmethod
    def flags(authdata_b64):
        """The flags byte of authenticator data as the tools print it (CBOR byte string)."""
        raw = unb64(authdata_b64)
        # the tools print authdata as a CBOR bstr: skip its header
        hdr = raw[0] & 0x1F
        skip = 1 if hdr < 24 else 1 + (1 << (hdr - 24))
        return raw[skip + 32]


class CredAssertTools(ClientTest):
    """fido2-cred and fido2-assert on a key without a PIN."""

    def test_make_with_extensions_and_verify(self):
        """-M with -h, -c 2 and -r for es256 and eddsa: -V accepts with the same options;
        -V -c 3 refuses (credProtect is signed as 2); -b on a resident credential hands out
        a 32-byte largeBlobKey."""
        for kind in ("es256", "eddsa"):
            lines = self.cred(kind=kind, opts=["-h", "-c", "2", "-r"])
            self.assertEqual(lines[2], "packed")
            self.verify_cred(lines, kind, ["-h", "-c", "2"])
            self.assertNotEqual(self.verify_cred(lines, kind, ["-c", "3"], check=False)
                                .returncode, 0)
            lines = self.cred(kind=kind, user="bob", opts=["-r", "-b"])
            self.assertEqual(len(unb64(lines[-1])), 32, lines)
            self.verify_cred(lines, kind, lbk=True)

    def test_assert_options(self):
        """-G with -p: -V -p accepts (UP signed); -t up=false: UP clear, -V without -p
        accepts, -V -p refuses, also while presence is denied; -h: the same salt gives the
        same 32-byte secret twice, another salt another one; a wrong type refuses."""
        lines = self.cred(opts=["-h"])
        # -V refuses (INVALID_PARAM) authenticator data whose extensions it was not told of
        self.assertNotEqual(self.verify_cred(lines, check=False).returncode, 0)
        pem = self.verify_cred(lines, opts=["-h"])
        a = self.assertion(cred_id=lines[4], opts=["-p"])
        self.assertTrue(self.verify_assertion(a, pem, opts=["-p"]))
        self.assertFalse(self.verify_assertion(a, pem, "eddsa"))
        self.rig.control("presence deny")
        a = self.assertion(cred_id=lines[4], opts=["-t", "up=false"])
        self.assertEqual(self.flags(a[2]) & 0x01, 0)
        self.assertTrue(self.verify_assertion(a, pem))
        self.assertFalse(self.verify_assertion(a, pem, opts=["-p"]))
        self.assertNotEqual(self.assertion(cred_id=lines[4], opts=["-p"], check=False)
                            .returncode, 0)
        self.rig.control("presence auto")
        salt, other = os.urandom(32), os.urandom(32)
        s1 = self.assertion(cred_id=lines[4], salt=salt, opts=["-h"])
        s2 = self.assertion(cred_id=lines[4], salt=salt, opts=["-h"])
        s3 = self.assertion(cred_id=lines[4], salt=other, opts=["-h"])
        self.assertTrue(self.verify_assertion(s1, pem, opts=["-h"]))
        self.assertEqual(len(unb64(s1[4])), 32)
        self.assertEqual(s1[4], s2[4])
        self.assertNotEqual(s1[4], s3[4])

    def test_resident_several(self):
        """-G -r with three resident credentials of one RP: three assertions (the tool asks
        for the others with getNextAssertion), each with its user id and verified by its
        own credential's key."""
        pems = {}
        for name in ("u1", "u2", "u3"):
            uid = os.urandom(8)
            lines = self.cred(rp_id="multi.example", user=name, user_id=uid, opts=["-r"])
            pems[b64(uid)] = self.verify_cred(lines)
        self.cred(rp_id="other.example", opts=["-r"])
        out = self.assertion(rp_id="multi.example", opts=["-r"])
        self.assertEqual(len(out), 15, out)
        got = [out[i * 5:i * 5 + 5] for i in range(3)]
        self.assertEqual(sorted(g[4] for g in got), sorted(pems))
        for g in got:
            self.assertTrue(self.verify_assertion(g, pems[g[4]]))

    def test_u2f(self):
        """-M -u registers over CTAPHID MSG (fido-u2f attestation) and -V verifies it;
        fido2-assert -G -u authenticates with it (UP set) and -V -p verifies (-V -v does
        not: U2F has no UV); eddsa is not a U2F algorithm."""
        lines = self.cred(opts=["-u"])
        self.assertEqual(lines[2], "fido-u2f")
        pem = self.verify_cred(lines)
        a = self.assertion(cred_id=lines[4], opts=["-u", "-p"])
        self.assertTrue(self.verify_assertion(a, pem, opts=["-p"]))
        self.assertFalse(self.verify_assertion(a, pem, opts=["-v"]))
        proc = self.cred(kind="eddsa", opts=["-u"], check=False)
        self.assertIn("FIDO_ERR_INVALID_ARGUMENT", proc.stderr)  # refused by libfido2 itself


class TokenPin(ClientTest):
    """fido2-token -S / -C and PIN-protected credentials."""

    def test_set_change_and_uv(self):
        """-S sets the PIN (clientPin true); -C changes it (old, new, new on stdin); the old
        PIN is then refused with PIN_INVALID and the new one works; fido2-cred -v and
        fido2-assert -v with the PIN give UV-signed data (-V -v); -c 3 (credProtect
        required) needs UV to be found."""
        self.assertFalse(self.info().options["clientPin"])
        self.set_pin()
        self.assertTrue(self.info().options["clientPin"])
        new = "31415926"
        self.run_tool(["fido2-token", "-C", self.sim_path()],
                      stdin="%s\n%s\n%s\n" % (PIN, new, new))
        proc = self.token_pin("-I", "-c", self.sim_path(), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("FIDO_ERR_PIN_INVALID", proc.stderr)
        self.assertIn("existing rk(s): 0", self.token_pin("-I", "-c", self.sim_path(),
                                                          pin=new).stdout)
        for kind in ("es256", "eddsa"):
            lines = self.cred(kind=kind, opts=["-v", "-r", "-c", "3"], stdin=new + "\n")
            pem = self.verify_cred(lines, kind, ["-v", "-c", "3"])
            a = self.assertion(cred_id=lines[4], opts=["-v"], stdin=new + "\n")
            self.assertTrue(self.verify_assertion(a, pem, kind, opts=["-v"]))
            a = self.assertion(cred_id=lines[4], opts=["-t", "pin=false"], check=False)
            self.assertNotEqual(a.returncode, 0)
            self.assertIn("FIDO_ERR_NO_CREDENTIALS", a.stderr)


class TokenCredMgmt(ClientTest):
    """fido2-token's credential management and largeBlobs on a key with a PIN."""

    def rk_count(self):
        """fido2-token -I -c: the number of discoverable credentials."""
        out = self.token_pin("-I", "-c", self.sim_path()).stdout
        m = re.search(r"^existing rk\(s\): (\d+)$", out, re.M)
        self.assertIsNotNone(m, out)
        return int(m.group(1))

    def list_creds(self, rp_id):
        """fido2-token -L -k rp_id: {credential id: [display name, user id, type,
        protection]}."""
        out = self.token_pin("-L", "-k", rp_id, self.sim_path()).stdout
        return {f[1]: f[2:] for f in (line.split() for line in out.splitlines())}

    def test_manage(self):
        """-I -c counts; -L -r lists the RPs; -L -k lists an RP's credentials (id, display
        name, user id, type, credProtect); -I -k -i shows one's id and public key;
        -S -c -i -k -n -p updates its user; -D -i deletes it (gone from the list, the count
        drops, its assertion fails)."""
        self.set_pin()
        pin = PIN + "\n"
        before = self.rk_count()
        made = {}
        for rp, user in (("a.example", "ann"), ("a.example", "al"), ("b.example", "bea")):
            uid = os.urandom(12)
            made[user] = (rp, uid, self.cred(rp_id=rp, user=user, user_id=uid, opts=["-r"],
                                             stdin=pin))
        self.assertEqual(self.rk_count(), before + 3)
        out = self.token_pin("-L", "-r", self.sim_path()).stdout
        rps = [line.split()[-1] for line in out.splitlines()]
        self.assertEqual(len(rps), len(set(rps)), out)
        self.assertLessEqual({"a.example", "b.example"}, set(rps), out)
        listed = self.list_creds("a.example")
        self.assertEqual(sorted(listed), sorted(made[u][2][4] for u in ("ann", "al")))
        for user in ("ann", "al"):
            self.assertEqual(listed[made[user][2][4]], ["(null)", b64(made[user][1]),
                                                        "es256", "uvopt"])
        rp, uid, lines = made["al"]
        pem = self.verify_cred(lines)
        out = self.token_pin("-I", "-k", rp, "-i", lines[4], self.sim_path()).stdout
        with open(pem) as f:  # fido2-cred -V -o wrote the id and the key the same way
            self.assertEqual(out, f.read())
        self.token_pin("-S", "-c", "-i", lines[4], "-k", b64(uid), "-n", "alfred",
                       "-p", "Alfred", self.sim_path())
        self.assertEqual(self.list_creds("a.example")[lines[4]][:2], ["Alfred", b64(uid)])
        self.token_pin("-D", "-i", lines[4], self.sim_path())
        self.assertEqual(sorted(self.list_creds("a.example")), [made["ann"][2][4]])
        self.assertEqual(self.rk_count(), before + 2)
        proc = self.assertion(rp_id=rp, cred_id=lines[4], opts=["-v"], stdin=pin, check=False)
        self.assertIn("FIDO_ERR_NO_CREDENTIALS", proc.stderr)

    def test_large_blobs(self):
        """-S -b stores a blob under a credential's largeBlobKey; -G -b gets it back (by
        key file and by RP); -L -b lists one entry of the blob's original size; -D -b
        deletes it (-G -b fails, -L -b lists nothing). fido2-token 1.12's -L -b cannot
        name the entry's RP ("<unknown>": its own list decoder inflates zlib data, the
        library writes raw deflate since 1.11), so the test checks the sizes only."""
        self.set_pin()
        lines = self.cred(rp_id="blob.example", opts=["-r", "-b"], stdin=PIN + "\n")
        key = self.file("lbk", lines[-1] + "\n")
        blob = self.file("blob", "large blob contents " * 20)
        self.token_pin("-S", "-b", "-k", key, blob, self.sim_path())
        got = self.out_file("got")
        self.token_pin("-G", "-b", "-k", key, got, self.sim_path())
        with open(got) as f, open(blob) as g:
            self.assertEqual(f.read(), g.read())
        entries = [line.split() for line in self.token_pin("-L", "-b", self.sim_path())
                   .stdout.splitlines() if line.startswith("00:")]
        self.assertEqual(len(entries), 1, entries)
        self.assertEqual(int(entries[0][2]), os.path.getsize(blob))
        self.token_pin("-G", "-b", "-n", "blob.example", self.file("got2"), self.sim_path())
        with open(self.file("got2")) as f, open(blob) as g:
            self.assertEqual(f.read(), g.read())
        self.token_pin("-D", "-b", "-k", key, self.sim_path())
        proc = self.token_pin("-G", "-b", "-k", key, self.file("got3"), self.sim_path(),
                              check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn("00:", self.token_pin("-L", "-b", self.sim_path()).stdout)


class TokenConfig(ClientTest):
    """fido2-token's authenticatorConfig (a PIN set first)."""

    def test_config(self):
        """-S -u turns alwaysUv on (getInfo shows it, an assertion without PIN fails),
        -D -u turns it off; -S -l 8 raises the minimum PIN length (getInfo shows it, a
        shorter new PIN is refused, the current shorter PIN must be changed first); -S -a is
        refused (no enterprise attestation yet)."""
        self.set_pin()
        lines = self.cred(stdin=PIN + "\n")
        # no enterprise attestation today: getInfo has no "ep" and the subcommand is
        # refused with INVALID_PARAMETER
        ep = self.token_pin("-S", "-a", self.sim_path(), check=False)
        self.assertNotIn("ep", self.info().options)
        self.assertNotEqual(ep.returncode, 0)
        self.assertIn("FIDO_ERR_INVALID_PARAMETER", ep.stderr)
        self.token_pin("-S", "-u", self.sim_path())
        self.assertTrue(self.info().options.get("alwaysUv"))
        proc = self.assertion(cred_id=lines[4], opts=["-t", "pin=false"], check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.token_pin("-D", "-u", self.sim_path())
        self.assertFalse(self.info().options.get("alwaysUv"))
        self.assertion(cred_id=lines[4])
        self.token_pin("-S", "-l", "8", self.sim_path())
        self.assertEqual(self.info().min_pin_length, 8)
        self.assertTrue(self.info().force_pin_change)
        proc = self.run_tool(["fido2-token", "-C", self.sim_path()],
                             stdin="%s\n%s\n%s\n" % (PIN, "1234567", "1234567"), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("FIDO_ERR_PIN_POLICY_VIOLATION", proc.stderr)
        proc = self.token_pin("-I", "-c", self.sim_path(), check=False)
        self.assertIn("FIDO_ERR_PIN_POLICY_VIOLATION", proc.stderr)
        self.run_tool(["fido2-token", "-C", self.sim_path()],
                      stdin="%s\n%s\n%s\n" % (PIN, "12345678", "12345678"))
        self.assertFalse(self.info().force_pin_change)
        self.token_pin("-I", "-c", self.sim_path(), pin="12345678")


class TokenReset(ClientTest):
    """fido2-token -R and the reset window."""

    def test_reset(self):
        """After a power cycle -R wipes the PIN and the credentials; once the clock moved
        past 10 s it fails with NOT_ALLOWED and the PIN stays."""
        self.set_pin()
        self.cred(opts=["-r"], stdin=PIN + "\n")
        self.power_cycle()
        self.token("-R", self.sim_path())
        info = self.info()
        self.assertFalse(info.options["clientPin"])
        self.assertEqual(self.assertion(opts=["-r"], check=False).returncode, 1)
        self.set_pin(force=True)
        self.rig.control("clock %d" % (RESET_WINDOW_MS + 1000))
        proc = self.token("-R", self.sim_path(), check=False)
        self.assertIn("FIDO_ERR_NOT_ALLOWED", proc.stderr)
        self.assertTrue(self.info().options["clientPin"])


class Ssh(ClientTest):
    """ssh-keygen with security keys (ssh-sk-helper inherits the preload)."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("ssh-keygen") is None:
            raise RuntimeError("ssh-keygen missing: install openssh-client (sh tools/deps.sh)")
        super().setUpClass()

    def askpass(self, pin):
        path = self.file("askpass_" + pin, "#!/bin/sh\necho %s\n" % pin)
        os.chmod(path, 0o700)
        return {"SSH_ASKPASS": path, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}

    def keygen(self, kind, name, opts=(), env=None, check=True):
        key = self.file(name)
        args = ["ssh-keygen", "-q", "-t", kind, "-f", key, "-N", ""]
        for o in opts:
            args += ["-O", o]
        proc = self.run_tool(args, env_extra=env, check=check)
        return key if check else proc

    def sign(self, key, env=None, check=True):
        msg = self.file("msg", "signed by a security key\n")
        if os.path.exists(msg + ".sig"):
            os.unlink(msg + ".sig")
        proc = self.run_tool(["ssh-keygen", "-Y", "sign", "-f", key, "-n", "file", msg],
                             env_extra=env, check=check)
        return msg + ".sig" if check else proc

    def verify(self, key, sig, options=""):
        """ssh-keygen -Y verify of sig against key's public key (an allowed_signers line
        with options); returns (accepted, the security key flags of the signature)."""
        with open(key + ".pub") as f:
            pub = f.read().split()
        allowed = self.file("allowed", "tester %s%s %s\n" % (options + " " if options else "",
                                                             pub[0], pub[1]))
        proc = self.run_tool(["ssh-keygen", "-vv", "-Y", "verify", "-f", allowed, "-I",
                              "tester", "-n", "file", "-s", sig],
                             stdin="signed by a security key\n", check=False)
        out = proc.stdout + proc.stderr
        m = re.search(r"signature details: counter = \d+, flags = 0x([0-9a-f]+)", out)
        ok = proc.returncode == 0 and 'Good "file" signature for tester' in out
        return ok, int(m.group(1), 16) if m else None

    def test_1_no_touch_required(self):
        """-O no-touch-required: signing works while presence is denied and the signature
        carries flags 0 (UP clear), where a normal key's carries UP and cannot sign without
        presence. ssh-keygen 9.2's -Y verify accepts either (it enforces no presence
        policy: sshd does) and refuses "no-touch-required" in allowed_signers as an
        unknown option."""
        for kind in ("ecdsa-sk", "ed25519-sk"):
            key = self.keygen(kind, "nt_" + kind, ["no-touch-required"])
            self.rig.control("presence deny")
            try:
                sig = self.sign(key)
            finally:
                self.rig.control("presence auto")
            self.assertEqual(self.verify(key, sig), (True, 0x00))
            self.assertFalse(self.verify(key, sig, "no-touch-required")[0])
            key = self.keygen(kind, "t_" + kind)
            self.assertEqual(self.verify(key, self.sign(key)), (True, 0x01))
            self.rig.control("presence deny")
            try:
                self.assertNotEqual(self.sign(key, check=False).returncode, 0)
            finally:
                self.rig.control("presence auto")

    def test_2_resident_verify_required(self):
        """With a PIN: -O resident -O verify-required keys for several users; -Y sign asks
        for the PIN through SSH_ASKPASS (a wrong one fails, the right one signs with UP and
        UV set) and -Y verify accepts; enrolling with a wrong PIN fails; -K downloads
        every resident key."""
        self.set_pin()
        env = self.askpass(PIN)
        bad = self.askpass("000000")
        keys = {}
        for kind, user in (("ecdsa-sk", "alice"), ("ed25519-sk", "bob"),
                           ("ed25519-sk", "carol")):
            keys[user] = self.keygen(kind, "rk_" + user,
                                     ["resident", "verify-required", "application=ssh:fk",
                                      "user=" + user], env=env)
        for user, key in keys.items():
            proc = self.sign(key, env=bad, check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("incorrect passphrase", proc.stderr)
            self.assertEqual(self.verify(key, self.sign(key, env=env)), (True, 0x05))
        # ssh-keygen asks twice before it gives up: two wrong PINs in a row, below the
        # device's limit of three per power-up
        proc = self.keygen("ed25519-sk", "rk_bad", ["resident", "application=ssh:fk",
                                                    "user=dave"], env=bad, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("PIN incorrect", proc.stderr)
        os.makedirs(self.file("download"))
        self.tmp, top = self.file("download"), self.tmp
        try:
            self.run_tool(["ssh-keygen", "-K", "-N", ""], env_extra=env)
            downloaded = []
            for name in os.listdir(self.tmp):
                if name.endswith(".pub"):
                    with open(os.path.join(self.tmp, name)) as f:
                        downloaded.append(f.read().split()[:2])
        finally:
            self.tmp = top
        self.assertEqual(len(downloaded), 3, downloaded)
        for key in keys.values():
            with open(key + ".pub") as f:
                self.assertIn(f.read().split()[:2], downloaded)


if __name__ == "__main__":
    fkit.main(__doc__)
