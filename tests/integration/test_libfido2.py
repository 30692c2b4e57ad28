# SPDX-License-Identifier: Apache-2.0
"""Debian's libfido2 tools and OpenSSH use fusekey-sim's FIDO key through the preload
library tools/fido/libfusekey_fido_preload.so: fido2-token lists the device as sim:<socket>,
shows its getInfo, and resets it inside the reset window of a power-up only; fido2-cred
makes credentials and fido2-assert gets assertions that the tools' own -V verifies; and
ssh-keygen (through ssh-sk-helper) enrols ecdsa-sk and ed25519-sk keys whose file
signatures ssh-keygen -Y verify accepts; with a PIN set by fido2-token, a resident key
enrolled by ssh-keygen comes back with ssh-keygen -K.
"""

import base64
import os
import shutil
import subprocess
import tempfile

import fidohid
import fkit
from fidohid import Ctap2

TOOL_TIMEOUT = 120  # seconds; a guard against a hang only
RESET_WINDOW_MS = 10000


class ToolTest(fidohid.HidRigTest):
    """A rig, a scratch directory per test, and client programs run with the preload."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("fido2-token") is None:
            raise RuntimeError("fido2-token missing: install fido2-tools (sh tools/deps.sh)")
        cls.preload = fidohid.preload_path(fkit.ARGS.sim)
        super().setUpClass()

    def sim_path(self):
        return "sim:" + self.rig.ctaphid_path

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="fk-libfido2-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def file(self, name, data=None):
        """A path in the test's scratch directory, written with data (text) if given."""
        path = os.path.join(self.tmp, name)
        if data is not None:
            with open(path, "w") as f:
                f.write(data)
        return path

    def run_tool(self, args, preload=True, check=True, stdin=None, env_extra=None):
        """Run a client program with the preload library and the rig's socket in its
        environment, in a session of its own (no terminal: the tools read PINs from stdin);
        returns the CompletedProcess (text)."""
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FUSEKEY_CTAPHID")}
        env["FUSEKEY_CTAPHID"] = self.rig.ctaphid_path
        if preload:
            env["LD_PRELOAD"] = self.preload
        env.update(env_extra or {})
        proc = subprocess.run(list(args), env=env, input=stdin, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT, cwd=self.tmp, start_new_session=True,
                              stdin=subprocess.DEVNULL if stdin is None else None)
        if check and proc.returncode != 0:
            raise AssertionError("%s -> %d\n%s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def token(self, *args, preload=True, check=True):
        return self.run_tool(["fido2-token"] + list(args), preload=preload, check=check)


class Libfido2(ToolTest):
    """The tools on a key without a PIN."""

    def test_list(self):
        """fido2-token -L lists the simulator as sim:<socket>; without the preload it
        does not (the host has no FIDO HID device)."""
        out = self.token("-L").stdout
        self.assertIn(self.sim_path() + ": ", out)
        self.assertIn("(fusekey fusekey-sim)", out)
        self.assertNotIn(self.sim_path(), self.token("-L", preload=False, check=False).stdout)

    def test_info(self):
        """fido2-token -I shows the CTAPHID and CTAP2 facts python-fido2 reads too."""
        out = self.token("-I", self.sim_path()).stdout
        info = Ctap2(self.device()).get_info()
        self.assertIn("proto: 0x02", out)
        self.assertIn("version strings: " + ", ".join(info.versions), out)
        self.assertIn("aaguid: " + info.aaguid.hex(), out)
        self.assertIn("maxmsgsiz: %d" % info.max_msg_size, out)
        options = [line for line in out.splitlines() if line.startswith("options: ")]
        self.assertEqual(len(options), 1, out)
        for name, value in info.options.items():
            self.assertIn(name if value else "no" + name, options[0].split(": ", 1)[1].split(", "))

    def test_open_from_list_entry(self):
        """A program that opens the listed entry itself (fido_dev_new_with_info and
        fido_dev_open_with_info) reaches the key too."""
        check = os.path.join(os.path.dirname(self.preload), "fido_with_info_check")
        out = self.run_tool([check]).stdout
        self.assertEqual(out, "%s: maxmsgsiz %d\n" % (self.sim_path(),
                                                     Ctap2(self.device()).get_info().max_msg_size))

    def test_reset_inside_window_only(self):
        """fido2-token -R after a power cycle succeeds (presence auto); once the device
        has been up longer than 10 s it fails with NOT_ALLOWED."""
        self.power_cycle()
        self.token("-R", self.sim_path())
        self.rig.control("clock %d" % (RESET_WINDOW_MS + 1000))
        proc = self.token("-R", self.sim_path(), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("FIDO_ERR_NOT_ALLOWED", proc.stderr)


    def test_credential_and_assertion(self):
        """fido2-cred -M makes an ES256 credential (packed attestation) that fido2-cred -V
        verifies; fido2-assert -G signs with it and fido2-assert -V verifies against the
        public key -V extracted. A tampered client data hash fails the verification."""
        b64 = lambda data: base64.b64encode(data).decode() + "\n"
        cred_in = self.file("cred_in", b64(os.urandom(32)) + "example.com\nalice\n" +
                            b64(os.urandom(16)))
        cred = self.file("cred")
        self.run_tool(["fido2-cred", "-M", "-i", cred_in, "-o", cred, self.sim_path(), "es256"])
        with open(cred) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[1:3], ["example.com", "packed"])
        pubkey = self.file("pubkey.pem")
        self.run_tool(["fido2-cred", "-V", "-i", cred, "-o", pubkey, "es256"])

        cdh = b64(os.urandom(32))
        assert_in = self.file("assert_in", cdh + "example.com\n" + lines[4] + "\n")
        assertion = self.file("assert")
        self.run_tool(["fido2-assert", "-G", "-i", assert_in, "-o", assertion, self.sim_path()])
        self.run_tool(["fido2-assert", "-V", "-i", assertion, pubkey, "es256"])
        with open(assertion) as f:
            parts = f.read().splitlines()
        parts[0] = b64(os.urandom(32)).strip()
        forged = self.file("forged", "\n".join(parts) + "\n")
        proc = self.run_tool(["fido2-assert", "-V", "-i", forged, pubkey, "es256"], check=False)
        self.assertNotEqual(proc.returncode, 0)

    def test_ssh_security_keys(self):
        """ssh-keygen enrols an ecdsa-sk and an ed25519-sk key on the simulator (its
        ssh-sk-helper inherits the preload), signs a file with each, and ssh-keygen -Y
        verify accepts the signatures and refuses a changed file."""
        if shutil.which("ssh-keygen") is None:
            raise RuntimeError("ssh-keygen missing: install openssh-client (sh tools/deps.sh)")
        msg = self.file("msg", "a file signed by a security key\n")
        for kind in ("ecdsa-sk", "ed25519-sk"):
            key = self.file("id_" + kind)
            self.run_tool(["ssh-keygen", "-q", "-t", kind, "-f", key, "-N", "", "-C", kind])
            with open(key + ".pub") as f:
                pub = f.read().split()
            self.assertEqual(pub[0], "sk-%s@openssh.com" % (
                "ecdsa-sha2-nistp256" if kind == "ecdsa-sk" else "ssh-ed25519"))
            self.run_tool(["ssh-keygen", "-Y", "sign", "-f", key, "-n", "file", msg])
            sig = msg + ".sig"
            allowed = self.file("allowed", "tester " + " ".join(pub[:2]) + "\n")
            with open(msg) as f:
                proc = self.run_tool(["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "tester",
                                      "-n", "file", "-s", sig], stdin=f.read())
            self.assertIn('Good "file" signature for tester', proc.stdout + proc.stderr)
            proc = self.run_tool(["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "tester",
                                  "-n", "file", "-s", sig], stdin="another file\n", check=False)
            self.assertNotEqual(proc.returncode, 0)
            os.unlink(sig)


class Libfido2WithPin(ToolTest):
    """A key with a PIN (a rig of its own)."""

    def test_ssh_resident_key(self):
        """fido2-token -S sets the PIN from stdin; ssh-keygen enrols a resident ed25519-sk
        key (the PIN through SSH_ASKPASS) and ssh-keygen -K downloads the same public key
        again through credential management; fido2-token -L -r lists its RP."""
        if shutil.which("ssh-keygen") is None:
            raise RuntimeError("ssh-keygen missing: install openssh-client (sh tools/deps.sh)")
        pin = "482913"
        self.run_tool(["fido2-token", "-S", self.sim_path()], stdin="%s\n%s\n" % (pin, pin))
        info = Ctap2(self.device()).get_info()
        self.assertTrue(info.options["clientPin"])
        askpass = self.file("askpass", "#!/bin/sh\necho %s\n" % pin)
        os.chmod(askpass, 0o700)
        env = {"SSH_ASKPASS": askpass, "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
        key = self.file("id_rk")
        self.run_tool(["ssh-keygen", "-q", "-t", "ed25519-sk", "-O", "resident",
                       "-O", "application=ssh:fusekey", "-f", key, "-N", ""], env_extra=env)
        os.makedirs(self.file("download"))
        self.tmp, top = self.file("download"), self.tmp
        try:
            self.run_tool(["ssh-keygen", "-K", "-N", ""], env_extra=env)
            with open(os.path.join(self.tmp, "id_ed25519_sk_rk_fusekey.pub")) as f:
                downloaded = f.read().split()[:2]
        finally:
            self.tmp = top
        with open(key + ".pub") as f:
            self.assertEqual(downloaded, f.read().split()[:2])
        out = self.run_tool(["fido2-token", "-L", "-r", self.sim_path()], stdin=pin + "\n").stdout
        self.assertIn("ssh:fusekey", out)


if __name__ == "__main__":
    fkit.main(__doc__)
