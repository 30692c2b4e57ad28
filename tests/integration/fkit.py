# SPDX-License-Identifier: Apache-2.0
"""fkit: the integration-test rig for fusekey-sim behind the real PC/SC stack.

A Rig owns one pcscd (with a private vpcd configuration) and one fusekey-sim
(with a private flash and OTP image), both started as child processes, and
talks to the card through libpcsclite (pyscard's low-level scard module), the
same path every PC/SC application takes. Every process the rig starts is
stopped on every exit path (normal return, exception, SIGTERM/SIGINT, atexit).

The rig expects to run inside tests/integration/isolate.sh, which gives it a
private /run/pcscd and private vpcd ports; it refuses to start pcscd when
another one already owns /run/pcscd.

Run with /usr/bin/python3: Debian's pyscard is installed for that interpreter.
"""

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

try:
    from smartcard import scard
except ImportError:  # reported by Rig() as a setup error
    scard = None

# ---- Identity of the card (SmartCard-HSM ATR and AID, rescue applet) ------------------

HSM_ATR = bytes.fromhex("3BFE1800008131FE458031815448534D31738021408107FA")
HSM_AID = bytes.fromhex("E82B0601040181C31F0201")
RESCUE_AID = bytes.fromhex("A0583FC19B7E4F21")
# AIDs other OpenSC drivers probe before the sc-hsm driver (must get 6A82).
FOREIGN_AIDS = (bytes.fromhex("627601FF000000"), bytes.fromhex("A00000000101"))

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_LAST_COMMAND_EXPECTED = 0x6883
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW1_BYTES_REMAINING = 0x61

INS_GET_RESPONSE = 0xC0
CLA_CHAIN = 0x10

# ---- The PC/SC side -----------------------------------------------------------------

VPCD_PORT = 35963  # slot 0; slot 1 listens on VPCD_PORT + 1
READER_SLOT0 = "Virtual PCD 00 00"
PCSCD_DIR = "/run/pcscd"
PCSCD_PID_FILE = os.path.join(PCSCD_DIR, "pcscd.pid")
PCSCD_SOCKET = os.path.join(PCSCD_DIR, "pcscd.comm")
VPCD_SYSTEM_CONF = "/etc/reader.conf.d/vpcd"
VPCD_DRIVER_PATHS = (
    "/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
    "/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
)
VPCD_CHANNEL_BASE = 0x8C7B  # "/dev/null:0x8C7B": vpcd listens on 35963/35964

DEFAULT_SERIAL = "F05E0B1E5E21A1C0"
START_TIMEOUT = 20.0  # seconds; generous for ASan builds on a loaded 2-core machine
STOP_TIMEOUT = 10.0
POLL = 0.02

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")


class PcscError(Exception):
    """A PC/SC call failed; hresult is the SCARD_* code."""

    def __init__(self, call, hresult):
        self.call = call
        self.hresult = hresult
        msg = scard.SCardGetErrorMessage(hresult) if scard else str(hresult)
        super().__init__("%s failed: 0x%08X (%s)" % (call, hresult & 0xFFFFFFFF, msg))


def hx(data):
    """Bytes as spaced upper-case hex, for messages."""
    return " ".join("%02X" % b for b in data)


def apdu(hexstr):
    """An APDU from hex text (spaces allowed)."""
    return bytes.fromhex(hexstr.replace(" ", ""))


def select_aid(aid, p2=0x00, le=True, cla=0x00):
    """SELECT by AID, short form; le=False gives the case-3 form."""
    return bytes([cla, 0xA4, 0x04, p2, len(aid)]) + aid + (b"\x00" if le else b"")


def tlv_items(buf):
    """Parse a BER-TLV sequence into [(tag, value, whole TLV bytes)]; raises ValueError if
    malformed (a truncated tag, a missing or bad length, a value past the end)."""
    out = []
    i = 0
    while i < len(buf):
        start = i
        tag = buf[i]
        i += 1
        if tag & 0x1F == 0x1F:  # multi-byte tag
            while True:
                if i >= len(buf):
                    raise ValueError("truncated tag")
                tag = (tag << 8) | buf[i]
                i += 1
                if not buf[i - 1] & 0x80:
                    break
        if i >= len(buf):
            raise ValueError("missing length")
        ln = buf[i]
        i += 1
        if ln & 0x80:
            n = ln & 0x7F
            if n == 0 or n > 3 or i + n > len(buf):
                raise ValueError("bad length")
            ln = int.from_bytes(buf[i:i + n], "big")
            i += n
        if i + ln > len(buf):
            raise ValueError("value overruns buffer")
        out.append((tag, bytes(buf[i:i + ln]), bytes(buf[start:i + ln])))
        i += ln
    return out


def tlv_children(buf):
    """Parse a BER-TLV sequence into [(tag, value)]; raises ValueError if malformed."""
    return [(tag, value) for tag, value, _ in tlv_items(buf)]


# ---- Processes ----------------------------------------------------------------------

def _proc_state(pid):
    """State letter of a process from /proc, or None if it does not exist."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1]
    except OSError:
        return None
    return None


def clear_stale_pcscd_files():
    """Remove /run/pcscd/pcscd.{pid,comm} left by a pcscd that died without cleaning up.

    pcscd refuses to start while the PID in its pid file exists, even as a zombie.
    Raises RuntimeError if a live pcscd owns the files."""
    try:
        with open(PCSCD_PID_FILE) as f:
            pid = int(f.read().strip() or "0")
    except FileNotFoundError:
        return
    except ValueError:
        pid = 0
    state = _proc_state(pid) if pid > 0 else None
    if state is not None and state != "Z":
        raise RuntimeError("a pcscd (pid %d) already runs in this mount namespace" % pid)
    for path in (PCSCD_PID_FILE, PCSCD_SOCKET):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def vpcd_driver_path():
    """The vpcd IFD handler: LIBPATH of Debian's reader.conf.d entry, else a known path."""
    try:
        with open(VPCD_SYSTEM_CONF) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[0] == "LIBPATH" and os.path.exists(parts[1]):
                    return parts[1]
    except OSError:
        pass
    for path in VPCD_DRIVER_PATHS:
        if os.path.exists(path):
            return path
    raise RuntimeError("vpcd driver not found: install vsmartcard-vpcd (tools/deps.sh)")


class Rig:
    """One pcscd + one fusekey-sim in a private work directory."""

    live = []  # every Rig not yet closed, for the global cleanup

    def __init__(self, sim, serial=DEFAULT_SERIAL, verbose=False, keep=False, name="rig"):
        if scard is None:
            raise RuntimeError("pyscard missing: run with /usr/bin/python3 "
                               "(python3-pyscard, tools/deps.sh)")
        if shutil.which("pcscd") is None:
            raise RuntimeError("pcscd not found: run tools/deps.sh")
        if not os.access(sim, os.X_OK):
            raise RuntimeError("fusekey-sim not executable: %s" % sim)
        self.sim_path = os.path.abspath(sim)
        self.serial = serial
        self.verbose = verbose
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="fk-it-%s-" % name)
        self.flash = os.path.join(self.dir, "flash.bin")
        self.otp = os.path.join(self.dir, "otp.bin")
        self.conf_dir = os.path.join(self.dir, "reader.conf.d")
        self.pcscd_log = os.path.join(self.dir, "pcscd.log")
        self.sim_log = os.path.join(self.dir, "sim.log")
        # The simulator's CTAPHID socket (the FIDO key) and its control socket.
        self.ctaphid_path = os.path.join(self.dir, "ctaphid.sock")
        self.control_path = os.path.join(self.dir, "control.sock")
        self.sim_extra_args = []  # more simulator options, kept across restarts
        self.pcscd = None
        self.sim = None
        self.sim_starts = 0
        self.failed = False
        self._write_vpcd_conf()
        Rig.live.append(self)

    def _write_vpcd_conf(self):
        os.makedirs(self.conf_dir)
        with open(os.path.join(self.conf_dir, "vpcd"), "w") as f:
            f.write('FRIENDLYNAME "Virtual PCD"\n')
            f.write("DEVICENAME   /dev/null:0x%04X\n" % VPCD_CHANNEL_BASE)
            f.write("LIBPATH      %s\n" % vpcd_driver_path())
            f.write("CHANNELID    0x%04X\n" % VPCD_CHANNEL_BASE)

    # -- pcscd --

    def start_pcscd(self):
        """Start pcscd with the private vpcd configuration and wait until it lists the readers."""
        assert self.pcscd is None, "pcscd already started"
        clear_stale_pcscd_files()
        args = ["pcscd", "--foreground", "--config", self.conf_dir]
        if self.verbose:
            args += ["--debug", "--apdu"]
        log = open(self.pcscd_log, "ab")
        self.pcscd = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.pcscd.poll() is not None:
                raise RuntimeError("pcscd exited at start (status %d); log %s:\n%s"
                                   % (self.pcscd.returncode, self.pcscd_log, self.tail(self.pcscd_log)))
            if os.path.exists(PCSCD_SOCKET) and READER_SLOT0 in self.readers():
                return
            time.sleep(POLL)
        raise RuntimeError("pcscd did not list %r in time" % READER_SLOT0)

    def stop_pcscd(self, sig=signal.SIGTERM):
        """Stop pcscd with sig; returns its exit status (negative: killed by a signal)."""
        if self.pcscd is None:
            return None
        proc, self.pcscd = self.pcscd, None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def readers(self):
        """Reader names pcscd currently lists ([] if pcscd does not answer)."""
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            return []
        try:
            hr, names = scard.SCardListReaders(ctx, [])
            return list(names) if hr == scard.SCARD_S_SUCCESS else []
        finally:
            scard.SCardReleaseContext(ctx)

    # -- fusekey-sim --

    def start_sim(self, port=VPCD_PORT):
        """Start fusekey-sim on the private flash/OTP images (created on first start)."""
        assert self.sim is None or self.sim.poll() is not None, "fusekey-sim already running"
        args = [self.sim_path, "--flash", self.flash, "--otp", self.otp, "--port", str(port),
                "--host", "127.0.0.1", "--serial", self.serial, "--presence", "auto",
                "--ctaphid", self.ctaphid_path, "--control", self.control_path]
        args += self.sim_extra_args
        if self.verbose:
            args.append("--verbose")
        log = open(self.sim_log, "ab")
        self.sim_starts += 1
        log.write(b"---- start %d: %s\n" % (self.sim_starts, " ".join(args).encode()))
        log.flush()
        self.sim = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        return self.sim

    def sim_alive(self):
        return self.sim is not None and self.sim.poll() is None

    def wait_sockets(self, timeout=START_TIMEOUT):
        """Wait until the simulator listens on its CTAPHID and control sockets."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sim is not None and self.sim.poll() is not None:
                raise RuntimeError("fusekey-sim exited (status %d) before its sockets were up;"
                                   " log:\n%s" % (self.sim.returncode, self.tail(self.sim_log)))
            if os.path.exists(self.ctaphid_path) and os.path.exists(self.control_path):
                return
            time.sleep(POLL)
        raise RuntimeError("fusekey-sim's sockets did not appear in %s" % self.dir)

    def control(self, command, check=True):
        """Send one command line to the simulator's control socket (docs/host-sim.md:
        presence auto|deny|timeout|remote|delay MS, presence-timeout MS, approve, refuse,
        clock MS, power-cycle); returns the answer line without its newline. check:
        AssertionError unless the answer is "ok"."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(START_TIMEOUT)
            s.connect(self.control_path)
            s.sendall(command.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                answer += chunk
        answer = answer.decode(errors="replace").rstrip("\n")
        if check and answer != "ok":
            raise AssertionError("control %r -> %r" % (command, answer))
        return answer

    def power_cycle(self):
        """Cold power cycle of the virtual device through the control socket. With pcscd
        running, waits until pcscd has seen the card go and come back (returns a connected
        Card then, else None). CTAPHID clients are disconnected: open new ones."""
        self.control("power-cycle")
        if self.pcscd is None:
            return None
        self.wait_card_removed()
        return self.wait_card()

    def stop_sim(self, sig=signal.SIGTERM):
        """Stop fusekey-sim with sig; returns its exit status (negative: killed by a signal)."""
        if self.sim is None:
            return None
        proc, self.sim = self.sim, None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with open(self.sim_log, "ab") as log:
            log.write(b"---- exit status %d\n" % proc.returncode)
        if self.pcscd is not None:
            # Let pcscd see the card go before anything connects again; otherwise a
            # connect right after a restart can reach the stale card and fail.
            self.wait_card_removed()
        return proc.returncode

    def sanitizer_reports(self):
        """Lines of the simulator log that report a sanitizer finding."""
        try:
            with open(self.sim_log, errors="replace") as f:
                return [line.rstrip() for line in f if any(m in line for m in SANITIZER_MARKERS)]
        except FileNotFoundError:
            return []

    # -- the card --

    def wait_card(self, reader=READER_SLOT0, timeout=START_TIMEOUT):
        """Poll until a card in reader can be connected; returns a connected Card."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.sim is not None and self.sim.poll() is not None:
                raise RuntimeError("fusekey-sim exited (status %d) while waiting for the card;"
                                   " log:\n%s" % (self.sim.returncode, self.tail(self.sim_log)))
            try:
                return Card(reader)
            except PcscError as e:
                last = e
            time.sleep(POLL)
        raise RuntimeError("no card in %r after %.0f s (last error: %s)" % (reader, timeout, last))

    def wait_card_removed(self, reader=READER_SLOT0, timeout=START_TIMEOUT):
        """Poll until pcscd reports reader empty (it polls its readers about every 0.4 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
            if hr == scard.SCARD_S_SUCCESS:
                try:
                    hr, states = scard.SCardGetStatusChange(
                        ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
                finally:
                    scard.SCardReleaseContext(ctx)
                if hr == scard.SCARD_S_SUCCESS and states[0][1] & scard.SCARD_STATE_EMPTY:
                    return
            time.sleep(POLL)
        raise RuntimeError("pcscd still sees a card in %r after %.0f s" % (reader, timeout))

    # -- whole rig --

    def start(self):
        """pcscd, then fusekey-sim, then wait for the card; returns a connected Card."""
        self.start_pcscd()
        self.start_sim()
        return self.wait_card()

    def close(self):
        """Stop every process; raise AssertionError if fusekey-sim ended badly."""
        if self not in Rig.live:
            return
        Rig.live.remove(self)
        problems = []
        status = self.stop_sim()
        if status is not None and status not in (0, -signal.SIGTERM):
            problems.append("fusekey-sim exited with status %d on SIGTERM" % status)
        self.stop_pcscd()
        reports = self.sanitizer_reports()
        if reports:
            problems.append("sanitizer reports in the simulator log:\n  " + "\n  ".join(reports))
        if problems or self.failed:
            sys.stderr.write("---- simulator log (%s):\n%s\n" % (self.sim_log, self.tail(self.sim_log)))
            self.keep = True
        if self.keep:
            sys.stderr.write("rig files kept in %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            raise AssertionError("; ".join(problems))

    @staticmethod
    def tail(path, lines=60):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def close_all_rigs():
    """Stop everything every open Rig started (used on exit paths)."""
    for rig in list(Rig.live):
        try:
            rig.close()
        except AssertionError as e:
            sys.stderr.write("cleanup: %s\n" % e)


atexit.register(close_all_rigs)


class Card:
    """A PC/SC connection to one reader: raw APDUs through SCardTransmit."""

    def __init__(self, reader=READER_SLOT0):
        self.reader = reader
        self.ctx = None
        self.handle = None
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscError("SCardEstablishContext", hr)
        self.ctx = ctx
        hr, handle, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED,
                                               scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if hr != scard.SCARD_S_SUCCESS:
            scard.SCardReleaseContext(ctx)
            self.ctx = None
            raise PcscError("SCardConnect", hr)
        self.handle = handle
        self.proto = proto

    def atr(self):
        hr, _reader, _state, _proto, atr = scard.SCardStatus(self.handle)
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscError("SCardStatus", hr)
        return bytes(atr)

    def transmit(self, cmd):
        """Send one APDU; returns (data, sw)."""
        try:
            hr, resp = scard.SCardTransmit(self.handle, self.proto, list(cmd))
        except SystemError:  # pyscard 2.0 raises this instead of returning some errors
            raise PcscError("SCardTransmit(%s)" % hx(cmd[:16]), scard.SCARD_F_UNKNOWN_ERROR)
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscError("SCardTransmit(%s)" % hx(cmd[:16]), hr)
        if len(resp) < 2:
            # What pcscd+vpcd deliver when the card's connection drops during the command.
            raise PcscError("SCardTransmit(%s): %d-byte response" % (hx(cmd[:16]), len(resp)),
                            scard.SCARD_W_REMOVED_CARD)
        return bytes(resp[:-2]), (resp[-2] << 8) | resp[-1]

    def get_response_all(self, data, sw, chunk=0):
        """Follow 61xx with GET RESPONSE until the last status; returns (all data, final sw, n).

        chunk 0 asks for exactly the announced remainder (or 256); otherwise at most chunk
        bytes per GET RESPONSE."""
        n = 0
        while sw >> 8 == SW1_BYTES_REMAINING:
            remaining = (sw & 0xFF) or 256
            le = min(chunk, remaining) if chunk else remaining
            more, sw = self.transmit(bytes([0x00, INS_GET_RESPONSE, 0, 0, le & 0xFF]))
            data += more
            n += 1
            if n > 4096:
                raise AssertionError("GET RESPONSE does not end")
        return data, sw, n

    def reconnect(self, disposition):
        """SCardReconnect with SCARD_LEAVE_CARD / SCARD_RESET_CARD / SCARD_UNPOWER_CARD."""
        hr, proto = scard.SCardReconnect(self.handle, scard.SCARD_SHARE_SHARED,
                                         scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
                                         disposition)
        if hr != scard.SCARD_S_SUCCESS:
            raise PcscError("SCardReconnect", hr)
        self.proto = proto

    def close(self):
        if self.handle is not None:
            scard.SCardDisconnect(self.handle, scard.SCARD_LEAVE_CARD)
            self.handle = None
        if self.ctx is not None:
            scard.SCardReleaseContext(self.ctx)
            self.ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- Test-program plumbing ----------------------------------------------------------

ARGS = None  # parsed command line, set by main()


class RigTest(unittest.TestCase):
    """A test class with one rig (pcscd + fusekey-sim) for all its tests, and a card."""

    rig = None
    card = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(ARGS.sim, serial=ARGS.serial, verbose=ARGS.verbose, keep=ARGS.keep,
                      name=cls.__name__)
        try:
            cls.card = cls.rig.start()
        except BaseException:
            cls.rig.failed = True
            cls.rig.close()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.card is not None:
            cls.card.close()
            cls.card = None
        cls.rig.close()

    def run(self, result=None):
        result = super().run(result)
        if result is not None and (result.failures or result.errors) and self.rig is not None:
            self.rig.failed = True
        return result

    # -- assertions shared by the tests --

    def sw_is(self, cmd, expected, card=None):
        """Send cmd, assert its SW is expected (an int or a set), return the data."""
        data, sw = (card or self.card).transmit(cmd)
        allowed = expected if isinstance(expected, (set, frozenset, tuple)) else {expected}
        self.assertIn(sw, allowed, "%s -> %s %04X, expected %s" % (
            hx(cmd), hx(data), sw, " or ".join("%04X" % s for s in sorted(allowed))))
        return data

    def select_hsm(self, card=None, p2=0x00):
        """SELECT the HSM applet; asserts 9000 and an FCP starting with 62; returns the FCP."""
        fcp = self.sw_is(select_aid(HSM_AID, p2), SW_OK, card)
        self.assertTrue(fcp[:1] == b"\x62", "FCP does not start with 62: %s" % hx(fcp))
        return fcp


def _on_signal(signum, _frame):
    close_all_rigs()
    sys.stderr.write("interrupted by signal %d\n" % signum)
    os._exit(128 + signum)


def main(description):
    """Parse --sim etc., run the unittest classes of __main__, stop everything, exit."""
    global ARGS
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sim", required=True, help="path of the fusekey-sim binary")
    parser.add_argument("--serial", default=DEFAULT_SERIAL, help="chip serial (16 hex digits)")
    parser.add_argument("--verbose", action="store_true",
                        help="pcscd --debug --apdu and fusekey-sim --verbose into the logs")
    parser.add_argument("--keep", action="store_true", help="keep the rig directory with the logs")
    parser.add_argument("--workload", help="APDU workload file (test_crash.py)")
    parser.add_argument("--iterations", type=int, help="kill/restart cycles (test_crash.py)")
    parser.add_argument("--seed", type=int, help="random seed of the kill points (test_crash.py)")
    parser.add_argument("--kill", metavar="KIND",
                        help="aim every kill at this kind of APDU (test_crash.py)")
    parser.add_argument("unittest_args", nargs="*", help="test names to run")
    ARGS = parser.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        prog = unittest.main(module="__main__", argv=[sys.argv[0]] + ARGS.unittest_args,
                             verbosity=2, exit=False)
        ok = passed(prog.result)
    finally:
        close_all_rigs()
    sys.exit(0 if ok else 1)


def passed(result):
    """True when every test ran and passed. A skipped test, an expected failure and a run
    without any test are failures here: the subject of every integration test exists, and
    what a machine lacks (tools, modules) fails with the command that installs it."""
    problems = ["skipped, which counts as a failure: %s: %s" % (test.id(), reason)
                for test, reason in result.skipped]
    problems += ["expected failure, which counts as a failure: %s" % test.id()
                 for test, _ in result.expectedFailures]
    if result.testsRun == 0:
        problems.append("no test ran")
    for line in problems:
        sys.stderr.write("FAIL: %s\n" % line)
    return result.wasSuccessful() and not problems


# ---- Client tools and a scratch directory (OpenSC, openssl) ------------------------

OPENSC_MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"


def run_client(args, check=True, stdin=None, timeout=600):
    """Run a client program (OpenSC's tools, openssl) with OPENSC_* removed from the
    environment and stdin from `stdin` (bytes; None: empty); returns the CompletedProcess.
    check: AssertionError with both outputs when it exits non-zero."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSC_")}
    proc = subprocess.run(args, env=env, input=stdin if stdin is not None else b"",
                          capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (
            " ".join(args), proc.returncode, proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace")))
    return proc


class Scratch:
    """A test class's scratch directory (cls.tmp) and its files."""

    tmp = None

    @classmethod
    def make_scratch(cls, prefix):
        cls.tmp = tempfile.mkdtemp(prefix=prefix)

    @classmethod
    def remove_scratch(cls):
        if cls.tmp is not None:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()


# ---- The fusekey tool (test_fusekey.py, test_production.py) ---------------------------

TOOL_TIMEOUT = 300  # seconds per tool run (ASan builds, RSA key generation in OpenSC)


def tool_path(sim):
    """The fusekey tool of the build that made sim (BUILD/ports/host/fusekey-sim ->
    BUILD/tools/fusekey/fusekey); FK_TOOL in the environment overrides it."""
    path = os.environ.get("FK_TOOL")
    if not path:
        build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(sim))))
        path = os.path.join(build, "tools", "fusekey", "fusekey")
    if not os.access(path, os.X_OK):
        raise RuntimeError("fusekey tool not executable: %s (build the target fusekey)" % path)
    return path


class ToolRun:
    """One finished run of the tool: rc, out, err (text)."""

    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout.decode(errors="replace")
        self.err = proc.stderr.decode(errors="replace")

    def __str__(self):
        return "fusekey %s -> %d\n--- stdout:\n%s--- stderr:\n%s" % (
            " ".join(self.args), self.rc, self.out, self.err)


def run_tool(tool, args, stdin=b"", timeout=TOOL_TIMEOUT):
    """Run the fusekey tool with args and stdin (bytes or str); returns a ToolRun.
    Raises AssertionError when the tool's own sanitizers reported anything."""
    if isinstance(stdin, str):
        stdin = stdin.encode()
    proc = subprocess.run([tool] + list(args), input=stdin, capture_output=True,
                          timeout=timeout)
    run = ToolRun(list(args), proc)
    if any(m in run.err for m in SANITIZER_MARKERS):
        raise AssertionError("sanitizer report from the fusekey tool:\n%s" % run)
    return run


def restart_sim(rig):
    """Start fusekey-sim again on the rig's images and wait until its card answers."""
    rig.start_sim()
    rig.wait_card().close()
