# SPDX-License-Identifier: Apache-2.0
"""fusekey-sim's FIDO key on its CTAPHID socket, driven by python-fido2 0.9.1 through
tools/fido/fusekey_fido.py: CTAPHID framing and arbitration as a host sees them, keepalive
and cancel around user presence (answered through the control socket), getInfo equal to the
PC/SC path, and the reset window after a power cycle, closed by advancing the clock.
"""

import os
import signal
import struct
import subprocess
import threading
import time

import fidohid
import fidokit
import fkit
from fidohid import CTAPHID, CAPABILITY, STATUS, Ctap2, CtapError

ERR = CtapError.ERR
RESET_WINDOW_MS = 10000


def error_of(ch):
    """The next message on ch must be ERROR on ch's channel; returns its code."""
    cid, cmd, data = ch.recv_message()
    if (cid, cmd, len(data)) != (ch.cid, CTAPHID.ERROR, 1):
        raise AssertionError("expected ERROR on %08X, got %08X %02X %s"
                             % (ch.cid, cid, cmd, data.hex()))
    return data[0]


class Call(threading.Thread):
    """Run fn(*args) on a thread; result() returns its value or raises its exception."""

    def __init__(self, fn, *args, **kwargs):
        super().__init__(daemon=True)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.value = self.error = None
        self.start()

    def run(self):
        try:
            self.value = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # handed to the test thread
            self.error = e

    def result(self):
        self.join(fidohid.READ_TIMEOUT)
        if self.is_alive():
            raise AssertionError("the call did not end")
        if self.error is not None:
            raise self.error
        return self.value


class Framing(fidohid.HidRigTest):
    """CTAPHID as the layer answers it, through python-fido2's CtapHidDevice and raw reports."""

    def test_init_allocates_distinct_channels(self):
        """INIT echoes the nonce, hands out a new CID each time, CTAPHID version 2, and
        announces WINK, LOCK and CBOR with MSG available (NMSG clear)."""
        devs = [self.device() for _ in range(3)]
        cids = {d._channel_id for d in devs}
        self.assertEqual(len(cids), 3)
        self.assertNotIn(0, cids)
        self.assertNotIn(fidohid.BROADCAST, cids)
        for d in devs:
            self.assertEqual(d.version, 2)
            self.assertTrue(CAPABILITY.WINK.supported(d.capabilities))
            self.assertTrue(CAPABILITY.CBOR.supported(d.capabilities))
            self.assertTrue(d.capabilities & 0x02, "LOCK capability")
            self.assertFalse(CAPABILITY.NMSG.supported(d.capabilities))
        ch = self.raw()
        nonce = os.urandom(8)
        first = ch.init(nonce)  # RawChannel.init checks the nonce echo and the channel
        second = ch.init()
        self.assertNotEqual(first, second)
        self.assertNotIn(first, cids)

    def test_ping_shortest_and_longest(self):
        """PING echoes 1 byte and the largest message, 7609 bytes (128 continuations)."""
        dev = self.device()
        self.assertEqual(dev.ping(b"\x5a"), b"\x5a")
        data = os.urandom(7609)
        self.assertEqual(dev.ping(data), data)

    def test_ping_too_long(self):
        """A message longer than 7609 bytes is refused with INVALID_LEN."""
        ch = self.raw()
        ch.init()
        ch.send_init(ch.cid, CTAPHID.PING, b"", bcnt=7610)
        self.assertEqual(error_of(ch), fidohid.ERR_INVALID_LEN)

    def test_wink(self):
        """WINK answers with an empty WINK and shows in the simulator's log."""
        dev = self.device()
        self.assertEqual(dev.call(CTAPHID.WINK), b"")
        with open(self.rig.sim_log, errors="replace") as f:
            self.assertIn("WINK", f.read())

    def test_lock_keeps_other_channels_out(self):
        """LOCK: other channels get CHANNEL_BUSY until it is released; the owner goes on."""
        owner, other = self.device(), self.device()
        owner.lock(10)
        try:
            self.assertCtapError(ERR.CHANNEL_BUSY, other.ping, b"x")
            self.assertEqual(owner.ping(b"mine"), b"mine")
        finally:
            owner.lock(0)
        self.assertEqual(other.ping(b"free"), b"free")

    def test_lock_longer_than_10s_refused(self):
        dev = self.device()
        self.assertCtapError(ERR.INVALID_PARAMETER, dev.lock, 11)

    def test_cid_zero(self):
        """CID 0 is reserved: PING and INIT on it get INVALID_CHANNEL."""
        ch = self.raw()
        ch.cid = 0
        ch.send_init(0, CTAPHID.PING, b"x")
        self.assertEqual(error_of(ch), fidohid.ERR_INVALID_CHANNEL)
        ch.send_init(0, CTAPHID.INIT, os.urandom(8))
        self.assertEqual(error_of(ch), fidohid.ERR_INVALID_CHANNEL)

    def test_unallocated_channel(self):
        """A request on a CID INIT never handed out gets INVALID_CHANNEL."""
        ch = self.raw()
        ch.cid = 0x7FFFFFF0
        ch.send_init(ch.cid, CTAPHID.PING, b"x")
        self.assertEqual(error_of(ch), fidohid.ERR_INVALID_CHANNEL)

    def test_unknown_commands(self):
        """An unknown command and a vendor command get INVALID_COMMAND."""
        dev = self.device()
        self.assertCtapError(ERR.INVALID_COMMAND, dev.call, 0x22, b"")
        self.assertCtapError(ERR.INVALID_COMMAND, dev.call, 0x41, b"\x01")

    def test_empty_cbor(self):
        """An empty CBOR request gets INVALID_LEN."""
        dev = self.device()
        self.assertCtapError(ERR.INVALID_LENGTH, dev.call, CTAPHID.CBOR, b"")

    def test_stray_continuation_ignored(self):
        """A continuation while nothing is being received gets no answer: the next thing
        the channel hears is the answer to its next request."""
        ch = self.raw()
        ch.init()
        ch.send_cont(ch.cid, 0, b"stray")
        ch.send_init(ch.cid, CTAPHID.PING, b"after")
        self.assertEqual(ch.recv_message(), (ch.cid, CTAPHID.PING, b"after"))

    def test_wrong_sequence(self):
        """A continuation out of order ends the message with INVALID_SEQ."""
        ch = self.raw()
        ch.init()
        ch.send_init(ch.cid, CTAPHID.PING, os.urandom(57), bcnt=100)
        ch.send_cont(ch.cid, 1, os.urandom(43))
        self.assertEqual(error_of(ch), fidohid.ERR_INVALID_SEQ)
        ch.send_init(ch.cid, CTAPHID.PING, b"again")
        self.assertEqual(ch.recv_message(), (ch.cid, CTAPHID.PING, b"again"))

    def test_missing_continuation_times_out(self):
        """A message whose continuation never comes ends with MSG_TIMEOUT, sent by the
        device on its own."""
        ch = self.raw()
        ch.init()
        ch.send_init(ch.cid, CTAPHID.PING, os.urandom(57), bcnt=100)
        self.assertEqual(error_of(ch), fidohid.ERR_MSG_TIMEOUT)

    def test_init_resynchronises(self):
        """INIT on a channel in the middle of a message drops the message and answers."""
        ch = self.raw()
        cid = ch.init()
        ch.send_init(cid, CTAPHID.PING, os.urandom(57), bcnt=512)
        nonce = os.urandom(8)
        ch.send_init(cid, CTAPHID.INIT, nonce)
        got_cid, cmd, data = ch.recv_message()
        self.assertEqual((got_cid, cmd, data[:8]), (cid, CTAPHID.INIT, nonce))
        ch.send_init(cid, CTAPHID.PING, b"ok")
        self.assertEqual(ch.recv_message(), (cid, CTAPHID.PING, b"ok"))

    def test_malformed_datagrams_dropped(self):
        """Datagrams that are not 64-byte reports are dropped without an answer."""
        ch = self.raw()
        ch.init()
        ch.sock.sendall(struct.pack(">IBH", ch.cid, 0x81, 1) + b"x")  # 8 bytes
        ch.sock.sendall(struct.pack(">IBH", ch.cid, 0x81, 1) + b"y" * 70)  # 77 bytes
        ch.send_init(ch.cid, CTAPHID.PING, b"z")
        self.assertEqual(ch.recv_message(), (ch.cid, CTAPHID.PING, b"z"))


class Presence(fidohid.HidRigTest):
    """User presence over CTAPHID: keepalives, cancel, the user's answers, arbitration."""

    def selection_with_keepalives(self, dev):
        seen = []
        Ctap2(dev).selection(on_keepalive=seen.append)
        return seen

    def test_upneeded_even_when_auto_approved(self):
        """selection() with presence auto: the host still sees UPNEEDED (hosts show their
        prompt on it), then success."""
        self.assertIn(STATUS.UPNEEDED, self.selection_with_keepalives(self.device()))

    def test_upneeded_then_confirmed_later(self):
        """presence delay: UPNEEDED while the device waits, then success."""
        self.rig.control("presence delay 300")
        self.assertIn(STATUS.UPNEEDED, self.selection_with_keepalives(self.device()))

    def test_remote_approve_and_refuse(self):
        """presence remote: the wait lasts until the control socket answers for the user."""
        self.rig.control("presence remote")
        for answer, expected in (("approve", None), ("refuse", ERR.OPERATION_DENIED)):
            dev = self.device(watched=True)
            call = Call(Ctap2(dev).selection)
            fidohid.wait_presence_wait(dev)
            self.rig.control(answer)
            if expected is None:
                call.result()
            else:
                with self.assertRaises(CtapError) as cm:
                    call.result()
                self.assertEqual(cm.exception.code, expected)

    def test_cancel_during_selection(self):
        """CANCEL while the device waits for the user ends the request with
        KEEPALIVE_CANCEL (python-fido2 sends it once its event is set)."""
        self.rig.control("presence remote")
        dev = self.device()
        event = threading.Event()

        def on_keepalive(status):
            if status == STATUS.UPNEEDED:
                event.set()

        self.assertCtapError(ERR.KEEPALIVE_CANCEL, Ctap2(dev).selection, event=event,
                             on_keepalive=on_keepalive)
        # The device is idle again.
        self.assertEqual(dev.ping(b"after"), b"after")

    def test_deny(self):
        self.rig.control("presence deny")
        self.assertCtapError(ERR.OPERATION_DENIED, Ctap2(self.device()).selection)

    def test_timeout(self):
        """Nobody answers: USER_ACTION_TIMEOUT once the (forced, short) timeout passes."""
        self.rig.control("presence timeout")
        self.rig.control("presence-timeout 300")
        self.assertCtapError(ERR.USER_ACTION_TIMEOUT, Ctap2(self.device()).selection)

    def test_power_cycle_ends_a_wait(self):
        """A power cycle while a request waits for the user calls the wait off: the
        request ends with KEEPALIVE_CANCEL, then the client is disconnected."""
        self.rig.control("presence remote")
        dev = self.device(watched=True)
        call = Call(Ctap2(dev).selection)
        fidohid.wait_presence_wait(dev)
        self.power_cycle()
        with self.assertRaises(CtapError) as cm:
            call.result()
        self.assertEqual(cm.exception.code, ERR.KEEPALIVE_CANCEL)
        with self.assertRaises(OSError):
            dev.ping(b"gone")

    def test_second_client_busy_while_first_waits(self):
        """While one client's request waits for the user, another client (a second
        connection) gets its channel but CHANNEL_BUSY for its requests; the first request
        completes when the user approves."""
        self.rig.control("presence remote")
        first = self.device(watched=True)
        call = Call(Ctap2(first).selection)
        fidohid.wait_presence_wait(first)
        second = self.device()  # its INIT is answered while the device is busy
        self.assertNotEqual(second._channel_id, first._channel_id)
        self.assertCtapError(ERR.CHANNEL_BUSY, second.ping, b"x")
        self.assertCtapError(ERR.CHANNEL_BUSY, Ctap2, second)  # its getInfo
        self.rig.control("approve")
        call.result()
        self.assertEqual(second.ping(b"now"), b"now")


class InfoAndReset(fidohid.HidRigTest):
    """getInfo over both ways in, and the reset window of a power-up."""

    def test_get_info_same_as_pcsc(self):
        """getInfo over CTAPHID and over the virtual reader are the same bytes."""
        hid = self.device().call(CTAPHID.CBOR, bytes([Ctap2.CMD.GET_INFO]))
        pcsc = fidokit.pcsc_device().call(CTAPHID.CBOR, bytes([Ctap2.CMD.GET_INFO]))
        self.assertEqual(hid[:1], b"\x00")
        self.assertEqual(hid, pcsc)
        info = Ctap2(self.device()).get_info()
        self.assertIn("FIDO_2_1", info.versions)

    def test_power_cycle_disconnects_clients(self):
        """A power cycle is an unplug: the open connection ends; a new one works."""
        dev = self.device()
        self.power_cycle()
        with self.assertRaises(OSError):
            dev.ping(b"gone")
        self.assertEqual(self.device().ping(b"back"), b"back")

    def test_reset_inside_and_outside_the_window(self):
        """After a power cycle reset works (presence confirmed); 11 s later it is
        NOT_ALLOWED, refused before any presence prompt."""
        self.power_cycle()
        seen = []
        Ctap2(self.device()).reset(on_keepalive=seen.append)
        self.assertIn(STATUS.UPNEEDED, seen)
        self.rig.control("clock %d" % (RESET_WINDOW_MS + 1000))
        seen = []
        self.assertCtapError(ERR.NOT_ALLOWED, Ctap2(self.device()).reset,
                             on_keepalive=seen.append)
        self.assertNotIn(STATUS.UPNEEDED, seen)
        # A new power cycle opens the window again.
        self.power_cycle()
        Ctap2(self.device()).reset()

    def test_reboot_restarts_the_ctap_side(self):
        """A reboot the card asks for (the rescue applet's 80 1F over PC/SC) restarts the
        whole device: the CTAPHID client is disconnected and the reset window, closed by
        the clock before, is open again."""
        self.rig.control("clock %d" % (RESET_WINDOW_MS + 1000))
        dev = self.device()
        self.assertCtapError(ERR.NOT_ALLOWED, Ctap2(dev).reset)
        with fkit.Card() as card:
            data, sw = card.transmit(fkit.select_aid(fkit.RESCUE_AID, p2=0x04))
            self.assertEqual(sw, fkit.SW_OK)
            self.assertEqual(card.transmit(bytes.fromhex("801F0000"))[1], fkit.SW_OK)
        self.rig.wait_card_removed()
        self.rig.wait_card().close()
        with self.assertRaises(OSError):
            dev.ping(b"gone")
        Ctap2(self.device()).reset()


class SocketFiles(fidohid.HidRigTest):
    """The socket files: a stale one is replaced, a live one is not taken over, and
    'none' makes none."""

    def other_sim(self, *args):
        """Start a second simulator on images in a directory of its own (self.other);
        returns the Popen (stderr piped)."""
        d = self.other = os.path.join(self.rig.dir, "other")
        os.makedirs(d, exist_ok=True)
        return subprocess.Popen(
            [self.rig.sim_path, "--flash", os.path.join(d, "flash.bin"),
             "--otp", os.path.join(d, "otp.bin"), "--port", "40000", "--presence", "auto"]
            + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)

    def test_stale_socket_replaced(self):
        """After SIGKILL the socket file stays; the next start replaces it and serves."""
        self.rig.stop_sim(signal.SIGKILL)
        self.assertTrue(os.path.exists(self.rig.ctaphid_path))
        fkit.restart_sim(self.rig)
        self.assertEqual(self.device().ping(b"again"), b"again")

    def test_live_socket_not_taken(self):
        """A second simulator given the socket of a running one refuses to start (exit 1)
        and the first one keeps serving."""
        proc = self.other_sim("--ctaphid", self.rig.ctaphid_path, "--control", "none")
        _, err = proc.communicate(timeout=fkit.START_TIMEOUT)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(b"another program listens", err)
        self.assertEqual(self.device().ping(b"still"), b"still")

    def test_none_makes_no_sockets(self):
        """--ctaphid none --control none: the simulator runs without socket files; by
        default they appear beside the flash image, and go when it stops."""
        sockets = {"ctaphid.sock", "control.sock"}
        for args, expected in ((["--ctaphid", "none", "--control", "none"], set()),
                               ([], sockets)):
            proc = self.other_sim(*args)
            try:
                line = proc.stderr.readline()  # the start line: sockets are set up by then
                self.assertIn(b"ctaphid ", line)
                names = set(os.listdir(self.other))
            finally:
                proc.terminate()
                proc.wait(fkit.STOP_TIMEOUT)
                proc.stderr.close()
            self.assertEqual(names & sockets, expected, sorted(names))
            self.assertEqual(set(os.listdir(self.other)) & sockets, set())


if __name__ == "__main__":
    fkit.main(__doc__)
