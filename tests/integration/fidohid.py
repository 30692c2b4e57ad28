# SPDX-License-Identifier: Apache-2.0
"""fidohid: fusekey-sim's FIDO key over its CTAPHID socket, for the integration tests.

python-fido2 (Debian's 0.9.1) reaches the socket through tools/fido/fusekey_fido.py, the
same module a user takes (docs/host-sim.md); libfido2 programs through the preload library
tools/fido/libfusekey_fido_preload.so of the build. Raw reports (framing tests) go through
RawChannel. Every rig (fkit.Rig) starts the simulator with its sockets in the rig directory:
rig.ctaphid_path, and rig.control(...) for presence, power cycle and clock.
"""

import os
import socket
import struct
import sys
import threading

import fkit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "fido"))

try:
    import fusekey_fido
    from fido2.ctap import CtapError, STATUS
    from fido2.ctap2 import Ctap2
    from fido2.hid import CTAPHID, CAPABILITY
except ImportError as e:  # reported as a failure by open_device()
    fusekey_fido = None
    IMPORT_ERROR = e

INSTALL_HINT = "install python3-fido2 (sh tools/deps.sh)"
REPORT = 64
BROADCAST = 0xFFFFFFFF
TYPE_INIT = 0x80
READ_TIMEOUT = 60.0  # seconds: a guard against a hang, never reached by a working device

# CTAPHID ERROR payloads (docs/ctaphid.md)
ERR_INVALID_CMD = 0x01
ERR_INVALID_PAR = 0x02
ERR_INVALID_LEN = 0x03
ERR_INVALID_SEQ = 0x04
ERR_MSG_TIMEOUT = 0x05
ERR_CHANNEL_BUSY = 0x06
ERR_INVALID_CHANNEL = 0x0B


def _need_fido2():
    if fusekey_fido is None:
        raise AssertionError("python-fido2 missing (%s): %s" % (IMPORT_ERROR, INSTALL_HINT))


class WatchedConnection(fusekey_fido.SocketCtapHidConnection if fusekey_fido else object):
    """A socket connection that counts the KEEPALIVE packets it receives per status, so a
    test can tell that a presence wait has begun (python-fido2 reports a keepalive status
    only when it changes)."""

    def __init__(self, path, timeout=READ_TIMEOUT):
        super().__init__(path, timeout)
        self.cond = threading.Condition()
        self.keepalives = {}

    def read_packet(self):
        packet = super().read_packet()
        if packet[4] == TYPE_INIT | CTAPHID.KEEPALIVE:
            with self.cond:
                self.keepalives[packet[7]] = self.keepalives.get(packet[7], 0) + 1
                self.cond.notify_all()
        return packet

    def wait_keepalives(self, status, count, timeout=READ_TIMEOUT):
        """Wait until count KEEPALIVE packets with status arrived; AssertionError if not."""
        with self.cond:
            ok = self.cond.wait_for(lambda: self.keepalives.get(status, 0) >= count, timeout)
        if not ok:
            raise AssertionError("no %d keepalive(s) of status %d (got %r)"
                                 % (count, status, self.keepalives))


def open_device(rig, watched=False):
    """A python-fido2 CtapHidDevice on the rig's CTAPHID socket (INIT done). watched: its
    connection is a WatchedConnection (dev._connection)."""
    _need_fido2()
    if not watched:
        return fusekey_fido.open_device(rig.ctaphid_path, timeout=READ_TIMEOUT)
    desc = fusekey_fido.descriptor(rig.ctaphid_path)
    conn = WatchedConnection(rig.ctaphid_path)
    from fido2.hid import CtapHidDevice
    return CtapHidDevice(desc, conn)


def wait_presence_wait(dev):
    """Block until the device waits for the user on dev's request. The first UPNEEDED
    keepalive comes just before the port's wait starts, which forgets answers given
    earlier; the second comes from inside the wait, so an approve sent after it counts."""
    dev._connection.wait_keepalives(STATUS.UPNEEDED, 2)


class RawChannel:
    """Raw 64-byte reports on one connection to the CTAPHID socket (framing tests)."""

    def __init__(self, rig):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(READ_TIMEOUT)
        self.sock.connect(rig.ctaphid_path)
        self.cid = None

    def close(self):
        self.sock.close()

    def send(self, report):
        assert len(report) <= REPORT
        self.sock.sendall(bytes(report).ljust(REPORT, b"\0"))

    def recv(self):
        r = self.sock.recv(REPORT + 1)
        if len(r) != REPORT:
            raise AssertionError("a %d-byte datagram from the device" % len(r))
        return r

    def send_init(self, cid, cmd, data=b"", bcnt=None):
        """One init packet (cmd without the 0x80 bit); bcnt defaults to len(data)."""
        n = len(data) if bcnt is None else bcnt
        self.send(struct.pack(">IBH", cid, TYPE_INIT | cmd, n) + data[:57])

    def send_cont(self, cid, seq, data=b""):
        self.send(struct.pack(">IB", cid, seq) + data[:59])

    def recv_message(self):
        """One whole message: (cid, cmd without 0x80, payload); skips nothing."""
        r = self.recv()
        cid, cmd, n = struct.unpack_from(">IBH", r)
        if not cmd & TYPE_INIT:
            raise AssertionError("expected an init packet, got %s" % r.hex())
        data = r[7:7 + n]
        seq = 0
        while len(data) < n:
            c = self.recv()
            ccid, cseq = struct.unpack_from(">IB", c)
            if ccid != cid or cseq != seq:
                raise AssertionError("bad continuation %s" % c[:5].hex())
            data += c[5:5 + min(59, n - len(data))]
            seq += 1
        return cid, cmd & 0x7F, data

    def init(self, nonce=None):
        """CTAPHID_INIT on the broadcast channel; keeps and returns the new CID."""
        nonce = nonce or os.urandom(8)
        self.send_init(BROADCAST, CTAPHID.INIT, nonce)
        cid, cmd, data = self.recv_message()
        if (cid, cmd, data[:8]) != (BROADCAST, CTAPHID.INIT, nonce):
            raise AssertionError("bad INIT answer %08X %02X %s" % (cid, cmd, data.hex()))
        self.cid = struct.unpack_from(">I", data, 8)[0]
        return self.cid


def preload_path(sim):
    """The preload library of the build that made sim (BUILD/ports/host/fusekey-sim ->
    BUILD/tools/fido/libfusekey_fido_preload.so); FK_FIDO_PRELOAD overrides it."""
    path = os.environ.get("FK_FIDO_PRELOAD")
    if not path:
        build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(sim))))
        path = os.path.join(build, "tools", "fido", "libfusekey_fido_preload.so")
    if not os.path.exists(path):
        raise RuntimeError("preload library missing: %s (build the target fusekey_fido_preload)"
                           % path)
    return path


class HidRigTest(fkit.RigTest):
    """A rig (pcscd + fusekey-sim) whose tests use the CTAPHID socket. Each test starts
    with presence auto and no forced presence timeout."""

    def setUp(self):
        self.rig.control("presence auto")
        self.rig.control("presence-timeout 0")
        self.devices = []

    def tearDown(self):
        for dev in self.devices:
            dev.close()

    def device(self, watched=False):
        dev = open_device(self.rig, watched)
        self.devices.append(dev)
        return dev

    def power_cycle(self):
        """rig.power_cycle(), closing the card connection it returns."""
        card = self.rig.power_cycle()
        if card is not None:
            card.close()

    def raw(self):
        ch = RawChannel(self.rig)
        self.devices.append(ch)
        return ch

    def assertCtapError(self, code, fn, *args, **kwargs):
        with self.assertRaises(CtapError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.code, code, "expected %r, got %r" % (code, cm.exception))
        return cm.exception
