# SPDX-License-Identifier: Apache-2.0
"""fusekey-sim killed with SIGKILL (a power cut of the host process) in the middle of
writes, then started again on the same flash and OTP images: every command that writes
must leave what it touched exactly as before it or exactly as after it.

A loop drives the card through pcscd with pyscard, in steps drawn from a seeded random
generator:
  rescue   the workload file's loop (crash_workload.txt, --workload FILE: the rescue
           applet's board configuration record, written as A and B in turn); then the
           HSM applet is selected again and the user PIN verified
  pin      VERIFY with a wrong user PIN, then with the right one (the retry counter)
  key      on key ids 1-3: GENERATE ASYMMETRIC KEY PAIR (EC P-256; the CHR names the
           generation, whose number also gives the use counter and the algorithm list)
           into a free id or over an existing key, COMPUTE SIGNATURE (the use counter),
           or DELETE FILE of the key, then of its CE and C4 files
  chunked  the next chunk of a 48 KiB file (CF70) written with UPDATE BINARY in chunks;
           once the file is complete, an offset-0 write starts the next content
  replace  one UPDATE BINARY at offset 0 that replaces the whole of CF71 (12000-45000
           bytes) with the next content
A model of the device follows every answer, and knows which command was in flight when
the simulator died.

Each iteration kills the simulator in the nth APDU of one kind (a rescue APDU, VERIFY
wrong or right, GENERATE into a free id or over a key, SIGN, DELETE of a key, UPDATE of
either file; --kill KIND aims every kill at one kind), a fraction f of that kind's last
duration after sending it, f denser towards the end, where most commands write (kind, n
and f come from the seed), and in a quarter of the iterations first at a random moment
of its start-up (store mount). After the restart the checks run through pyscard and
through OpenSC (sc-hsm-tool, pkcs11-tool, opensc-explorer): the PIN's tries left; for
every key id, no key or exactly the key of one generation the model allows (CE<id> a
valid authenticated request naming it, the key signing with the public key CE<id> holds,
as OpenSC shows it too, that generation's algorithm list, and its use counter counted
down to 6A84); every file exactly one of the contents the model allows; the rescue
record A or B. The seed is printed; --seed N replays the same choices (--iterations N
changes the count).
"""

import hashlib
import os
import random
import re
import signal
import sys
import threading
import time

import fkit
import hsmkit
from fkit import SW_OK, hx
from hsmkit import (ALG_ECDSA, ALG_ECDSA_SHA256, PIN, PIN_RETRIES, PREFIX_EE_CERT,
                    PREFIX_KEY, PREFIX_PRKD, SW_CONDITIONS, SW_NOT_ENOUGH_MEMORY,
                    SW_PIN_BLOCKED, SW1_PIN_TRIES, WRONG_PIN, key_fid, pkcs15_id)

DEFAULT_WORKLOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_workload.txt")
PHASES = ("check", "loop")

DEFAULT_ITERATIONS = 48
# The kinds of APDU a kill is aimed at (one drawn per iteration), and at which of them:
# the first to the KILL_NTH_MAX-th of that kind the loop sends.
KILL_KINDS = ("rescue", "VERIFY wrong", "VERIFY right", "GENERATE", "GENERATE over", "SIGN",
              "DELETE key", "UPDATE CF70", "UPDATE CF71")
KILL_NTH_MAX = 3
# How often the loop picks each kind of step: mostly the HSM's writes.
STEP_WEIGHTS = (("rescue", 1), ("pin", 2), ("key", 4), ("chunked", 2), ("replace", 2))
STARTUP_KILL_SHARE = 0.25      # iterations that also kill during start-up
STARTUP_KILL_MAX = 0.25        # seconds after the start
DEFAULT_APDU_TIME = 0.005      # seconds: kill-delay scale of an APDU kind not timed yet
APDUS_MAX = 2000               # the loop fails when it has not been killed after this many
TOOL_TIMEOUT = 120             # seconds per OpenSC tool run

KEY_IDS = (1, 2, 3)
USE_COUNTER_MIN = 2            # generation k: use counter 2 + k % 3 ...
USE_COUNTER_SPREAD = 3
DRAIN_MAX = USE_COUNTER_MIN + USE_COUNTER_SPREAD  # signatures a key can ever give
GEN_CHR = "FKGEN%08d"          # ... and the CHR of its request
GEN_CHR_RE = re.compile(rb"FKGEN([0-9]{8})")
DIGEST_LEN = 32

FID_CHUNKED = 0xCF70
CHUNKED_SIZE = 48 * 1024
CHUNK_SIZES = (1215, 4000, 8, 2500)  # OpenSC's extended chunk, larger and tiny ones
FID_REPLACE = 0xCF71
REPLACE_SIZES = (45000, 30001, 12000)

SELECT_HSM = fkit.select_aid(fkit.HSM_AID)
ENUMERATE = fkit.apdu("80 58 00 00 00 00 00")


def algorithms(k):
    """Allowed algorithms of generation k: even ones ECDSA only, odd ones also ECDSA with
    SHA-256 on the card."""
    return bytes([ALG_ECDSA]) if k % 2 == 0 else bytes([ALG_ECDSA, ALG_ECDSA_SHA256])


def use_counter(k):
    """Use counter (tag 90) of generation k."""
    return USE_COUNTER_MIN + k % USE_COUNTER_SPREAD


def content(label, g, size):
    """Content g of a file (deterministic, different for every g)."""
    return hashlib.shake_256(b"fusekey crash %s %d" % (label, g)).digest(size)


def kill_fraction(rng):
    """Where in an APDU's duration the kill comes: 0 to 1, denser towards the end, where
    most commands write (after their checks and their cryptography): a third of the
    kills in the last tenth."""
    return 1.0 - rng.random() ** 2


def describe_keys(keys):
    """{PKCS#15 ID: 04 X Y} for a message."""
    return "{%s}" % ", ".join("%s: %s..." % (k, hx(v[:9])) for k, v in sorted(keys.items()))


# ---- The workload file ------------------------------------------------------------------

class Step:
    """One workload-file APDU and what its answer must be."""

    def __init__(self, cmd, sws, data):
        self.cmd = cmd
        self.sws = sws    # allowed status words, None = any
        self.data = data  # allowed response data, None = any

    def check(self, data, sw):
        """AssertionError unless the answer is one the workload allows."""
        if (self.sws is not None and sw not in self.sws) or \
                (self.data is not None and data not in self.data):
            raise AssertionError("%s -> %s %04X" % (hx(self.cmd), hx(data), sw))

    def send(self, card):
        """Send it and check the answer."""
        self.check(*card.transmit(self.cmd))


def load_workload(path):
    """Parse a workload file into {phase: [Step]}."""
    work = {phase: [] for phase in PHASES}
    defs = {}

    def expand(field, number):
        def sub(m):
            if m.group(1) not in defs:
                raise ValueError("%s:%d: $%s is not defined" % (path, number, m.group(1)))
            return defs[m.group(1)]
        return re.sub(r"\$(\w+)", sub, field)

    with open(path) as f:
        for number, line in enumerate(f, 1):
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            if parts[0] == "define" and len(parts) == 3:
                bytes.fromhex(parts[2])
                defs[parts[1]] = parts[2]
                continue
            if len(parts) not in (3, 4) or parts[0] not in PHASES:
                raise ValueError("%s:%d: expected `PHASE APDU SW[,SW] [DATA]`" % (path, number))
            cmd = bytes.fromhex(expand(parts[1], number))
            sws = None if parts[2] == "*" else {int(x, 16) for x in parts[2].split(",")}
            data = None
            if len(parts) == 4:
                data = {b"" if alt == "-" else bytes.fromhex(alt)
                        for alt in expand(parts[3], number).split("|")}
            work[parts[0]].append(Step(cmd, sws, data))
    if not work["loop"]:
        raise ValueError("%s: no loop commands" % path)
    return work


# ---- The model ----------------------------------------------------------------------------

class Op:
    """One APDU of the loop. model: what it may change (its `pending` while the APDU is
    in flight), None for commands that change nothing checked; answer(data, sw) checks
    the answer against the model and updates it."""

    def __init__(self, kind, cmd, answer, model=None, **info):
        self.kind = kind
        self.cmd = cmd
        self.answer = answer
        self.model = model
        self.info = info


def expect_sw(op, sw, expected, data=b""):
    """AssertionError naming op unless sw is expected."""
    if sw != expected:
        raise AssertionError("%s: %s -> %s %04X, expected %04X" % (
            op.kind, hx(op.cmd[:12]), hx(data[:16]), sw, expected))


def plain_op(kind, cmd, sw=SW_OK):
    """An APDU whose answer must be sw and which changes nothing the checks look at."""
    op = Op(kind, cmd, None)
    op.answer = lambda data, got: expect_sw(op, got, sw, data)
    return op


class PinModel:
    """The user PIN's retry counter."""

    def __init__(self):
        self.tries = PIN_RETRIES
        self.pending = None

    def verify(self, right):
        """VERIFY with the right or a wrong PIN, and what it does to the counter."""
        pin = PIN if right else WRONG_PIN
        op = Op("VERIFY right" if right else "VERIFY wrong", hsmkit.verify(pin), None, self)

        def answer(data, sw):
            if right:
                expect_sw(op, sw, SW_OK, data)
                self.tries = PIN_RETRIES
            else:
                left = self.tries - 1
                expect_sw(op, sw, SW1_PIN_TRIES | left if left else SW_PIN_BLOCKED, data)
                self.tries = left
        op.answer = answer
        return op

    @staticmethod
    def tries_left(sw):
        """Tries left by VERIFY's status answer (63Cx, 6983), None for another answer."""
        if sw & 0xFFF0 == SW1_PIN_TRIES:
            return sw & 0x0F
        return 0 if sw == SW_PIN_BLOCKED else None

    def allowed(self):
        """Tries left the device may show: a VERIFY spends a try on flash before it
        compares, and the right PIN then restores the counter in a second write."""
        p = self.pending
        if p is None:
            return {self.tries}
        if p.kind == "VERIFY wrong":
            return {self.tries, self.tries - 1}
        return {self.tries, self.tries - 1, PIN_RETRIES}


class Gen:
    """One generation of a key: its number, public key and signatures left."""

    def __init__(self, k, point, left):
        self.k = k
        self.point = point
        self.left = left


class KeySlot:
    """What is at one key id: nothing or one generation."""

    def __init__(self, key_id):
        self.id = key_id
        self.gen = None
        self.pending = None

    def outcomes(self):
        """{generation or None (no key): (public key or None if unknown, {signatures
        left})} that the device may show after a cut."""
        gen, p = self.gen, self.pending
        now = {None: None} if gen is None else {gen.k: (gen.point, {gen.left})}
        if p is None:
            return now
        if p.kind == "SIGN":
            return {gen.k: (gen.point, {gen.left, max(gen.left - 1, 0)})}
        if p.kind == "DELETE key":
            now[None] = None
        elif p.kind.startswith("GENERATE"):
            now[p.info["k"]] = (None, {use_counter(p.info["k"])})
        return now


class KeyModel:
    """Keys at KEY_IDS and the generation numbers handed out so far."""

    def __init__(self, test):
        self.test = test
        self.slots = {key_id: KeySlot(key_id) for key_id in KEY_IDS}
        self.next_k = 0

    def generate(self, slot):
        """GENERATE the next generation into slot (free or over a key: "GENERATE over");
        its answer must be a valid request."""
        k = self.next_k
        self.next_k += 1
        template = hsmkit.ec_template((GEN_CHR % k).encode(), counter=use_counter(k),
                                      algorithms=algorithms(k))
        kind = "GENERATE" if slot.gen is None else "GENERATE over"
        op = Op(kind, hsmkit.generate(slot.id, template), None, slot, k=k)

        def answer(data, sw):
            expect_sw(op, sw, SW_OK, data)
            req = hsmkit.Request(data)
            problems = hsmkit.request_problems(req, self.test.device)
            if req.chr != (GEN_CHR % k).encode():
                problems.append("CHR %r" % req.chr)
            if problems:
                raise AssertionError("GENERATE %02X answered a bad request: %s" % (
                    slot.id, "; ".join(problems)))
            slot.gen = Gen(k, req.point, use_counter(k))
        op.answer = answer
        return op

    def sign(self, slot, rng):
        """SIGN 70 with slot's key: a verified signature, or 6A84 once it has none left."""
        digest = rng.randbytes(DIGEST_LEN)
        op = Op("SIGN", hsmkit.sign(slot.id, ALG_ECDSA, digest), None, slot)

        def answer(data, sw):
            if slot.gen.left == 0:
                expect_sw(op, sw, SW_NOT_ENOUGH_MEMORY, data)
                return
            expect_sw(op, sw, SW_OK, data)
            if not hsmkit.ecdsa_ok(slot.gen.point, data, digest=digest):
                raise AssertionError("key %02X (generation %d): the signature does not verify"
                                     % (slot.id, slot.gen.k))
            slot.gen.left -= 1
        op.answer = answer
        return op

    def delete(self, slot):
        """DELETE FILE of the key at slot, then of its CE and C4 files."""
        op = Op("DELETE key", hsmkit.delete_file(key_fid(PREFIX_KEY, slot.id)), None, slot)

        def answer(data, sw):
            expect_sw(op, sw, SW_OK, data)
            slot.gen = None
        op.answer = answer
        # The card deletes the key with its metadata and counter; the client its CE and C4.
        return [op, plain_op("DELETE CE", hsmkit.delete_file(key_fid(PREFIX_EE_CERT, slot.id))),
                plain_op("DELETE C4", hsmkit.delete_file(key_fid(PREFIX_PRKD, slot.id)))]

    def step(self, rng):
        """The ops of one key step: generate into a free id or over a key, sign, or
        delete."""
        slots = [self.slots[key_id] for key_id in KEY_IDS]
        free = [s for s in slots if s.gen is None]
        live = [s for s in slots if s.gen is not None and s.gen.left > 0]
        taken = [s for s in slots if s.gen is not None]
        choices = []
        if free:
            choices.append(("generate", free))
        if live:
            choices.append(("sign", live))
        if taken:
            choices.append(("delete", taken))
            choices.append(("generate over", taken))
        what, candidates = rng.choice(choices)
        slot = rng.choice(candidates)
        if what.startswith("generate"):
            return [self.generate(slot)]
        if what == "sign":
            return [self.sign(slot, rng)]
        return self.delete(slot)


class FileModel:
    """A data file whose content follows a sequence of generations."""

    def __init__(self, fid, label):
        self.fid = fid
        self.label = label
        self.content = None  # None: no such file
        self.state = None    # where in the sequence the content is
        self.pending = None

    def write_op(self, offset, data, after, state):
        """UPDATE BINARY of data at offset, which leaves the file `after` (in `state`)."""
        op = Op("UPDATE %04X" % self.fid, hsmkit.update_binary(self.fid, offset, data), None,
                self, after=after, state=state)

        def answer(got, sw):
            expect_sw(op, sw, SW_OK, got)
            self.content, self.state = after, state
        op.answer = answer
        return op

    def candidates(self):
        """[(content, state)] the file may hold after a cut."""
        out = [(self.content, self.state)]
        if self.pending is not None:
            out.append((self.pending.info["after"], self.pending.info["state"]))
        return out

    def settle(self, observed):
        for data, state in self.candidates():
            if data == observed:
                self.content, self.state, self.pending = data, state, None
                return
        raise AssertionError("file %04X holds %s bytes %s...; expected %s" % (
            self.fid, "no" if observed is None else len(observed),
            hx((observed or b"")[:8]), " or ".join(
                "none" if d is None else "%d bytes %s... (%s %r)" % (len(d), hx(d[:8]),
                                                                      self.label, s)
                for d, s in self.candidates())))


class ChunkedFile(FileModel):
    """CF70: content g (CHUNKED_SIZE bytes) written chunk by chunk; state (g, length)."""

    def next_op(self, rng):
        """The next chunk, or the first chunk of the next content."""
        n = rng.choice(CHUNK_SIZES)
        g, length = self.state if self.state is not None else (-1, CHUNKED_SIZE)
        if length >= CHUNKED_SIZE:
            g, length, offset = g + 1, 0, 0
        else:
            offset = length
        n = min(n, CHUNKED_SIZE - length)
        full = content(b"chunked", g, CHUNKED_SIZE)
        return self.write_op(offset, full[offset:offset + n], full[:length + n], (g, length + n))


class ReplacedFile(FileModel):
    """CF71: content g of REPLACE_SIZES[g % 3] bytes, each written whole; state g."""

    def next_op(self, rng):
        """The whole next content at offset 0."""
        g = 0 if self.state is None else self.state + 1
        data = content(b"replace", g, REPLACE_SIZES[g % len(REPLACE_SIZES)])
        return self.write_op(0, data, data, g)


# ---- The loop -------------------------------------------------------------------------------

class Loop:
    """Sends the loop's APDUs until the simulator dies; arms the kill in the nth APDU of
    kind `target`, `fraction` of its kind's last duration after sending it."""

    def __init__(self, test, card, rng, target, nth, fraction):
        self.test = test
        self.card = card
        self.rng = rng
        self.target = target
        self.nth = nth
        self.fraction = fraction
        self.sent = 0
        self.seen = 0          # APDUs of kind `target` sent
        self.armed_at = None   # index of the APDU the kill was armed in
        self.timer = None
        self.killed_in = None  # the Op in flight when the connection died
        self.delay = None

    def session(self):
        """SELECT of the HSM applet and VERIFY: what the HSM's steps need first."""
        return [plain_op("SELECT HSM", SELECT_HSM), self.test.pin.verify(True)]

    def next_step(self):
        """The ops of the next step, drawn from the seeded generator."""
        t = self.test
        what = self.rng.choices([w for w, _ in STEP_WEIGHTS], [n for _, n in STEP_WEIGHTS])[0]
        if what == "rescue":
            ops = []
            for step in t.work["loop"]:
                op = Op("rescue", step.cmd, None)
                op.answer = step.check
                ops.append(op)
            return ops + self.session()
        if what == "pin":
            return [t.pin.verify(False), t.pin.verify(True)]
        if what == "key":
            return t.keys.step(self.rng)
        if what == "chunked":
            return [t.chunked.next_op(self.rng)]
        return [t.replaced.next_op(self.rng)]

    def send(self, op):
        """Send op (arming the kill in the nth APDU of the target kind), then check its
        answer."""
        if op.kind == self.target:
            self.seen += 1
            if self.seen == self.nth:
                self.armed_at = self.sent
                self.delay = self.fraction * self.test.apdu_time.get(op.kind, DEFAULT_APDU_TIME)
                self.timer = threading.Timer(self.delay, self.test.kill_sim, (self.test.rig.sim,))
                self.timer.start()
        if self.sent > APDUS_MAX:
            raise AssertionError("the simulator still answers after %d APDUs (kill aimed at %s"
                                 " number %d)" % (APDUS_MAX, self.target, self.nth))
        self.sent += 1
        if op.model is not None:
            op.model.pending = op
        start = time.monotonic()
        try:
            data, sw = self.card.transmit(op.cmd)
        except fkit.PcscError:
            self.killed_in = op
            raise
        self.test.apdu_time[op.kind] = time.monotonic() - start
        if op.model is not None:
            op.model.pending = None
        op.answer(data, sw)

    def run(self):
        """Runs until the connection dies (returns) or an answer is wrong (raises)."""
        ops = self.session()
        try:
            while True:
                for op in ops:
                    self.send(op)
                ops = self.next_step()
        except fkit.PcscError:
            return
        finally:
            if self.timer is not None:
                self.timer.cancel()
                self.timer.join()


# ---- The test -------------------------------------------------------------------------------

class CrashRestart(fkit.Scratch, fkit.RigTest):

    longMessage = False  # the messages below say what differs

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_scratch("fk-crash-")
        cls.work = load_workload(fkit.ARGS.workload or DEFAULT_WORKLOAD)

    @classmethod
    def tearDownClass(cls):
        if not cls.rig.failed and not fkit.ARGS.keep:
            cls.remove_scratch()
        super().tearDownClass()

    def kill_sim(self, proc):
        """The kill timer: SIGKILL to the simulator process it was armed for."""
        self.kills += 1
        proc.send_signal(signal.SIGKILL)

    def send_ops(self, card, ops):
        """Send ops without a kill and check their answers."""
        for op in ops:
            op.answer(*card.transmit(op.cmd))

    # -- the checks after a restart --

    def check_card(self, context):
        """Every invariant through pyscard and OpenSC; settles the model to what the card
        holds. context names the iteration in failure messages."""
        try:
            observed = self.check_raw()
            self.check_opensc(observed)
            self.check_keys_sign(observed)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (context, e)) from None

    def check_raw(self):
        """The read-only checks through pyscard; returns what the card showed."""
        card = self.rig.wait_card()
        try:
            for step in self.work["check"]:
                step.send(card)
            self.sw_is(SELECT_HSM, SW_OK, card)
            self.assertEqual(hsmkit.device_point(card), self.device, "the device key changed")
            _, sw = card.transmit(hsmkit.verify())
            tries = PinModel.tries_left(sw)
            allowed = self.pin.allowed()
            self.assertIn(tries, allowed, "VERIFY status %04X: the PIN's tries left must be %s"
                          " (pending: %s)" % (sw, allowed, self.pin.pending and
                                              self.pin.pending.kind))
            listed = self.sw_is(ENUMERATE, SW_OK, card)
            listed = {int.from_bytes(listed[i:i + 2], "big") for i in range(0, len(listed), 2)}
            keys = {}
            for slot in self.keys.slots.values():
                keys[slot.id] = self.observe_key(card, slot, listed)
            files = {}
            for model in (self.chunked, self.replaced):
                data, sw = card.transmit(hsmkit.select_fid(model.fid))
                self.assertIn(sw, (SW_OK, fkit.SW_FILE_NOT_FOUND), "SELECT %04X -> %04X"
                              % (model.fid, sw))
                files[model.fid] = hsmkit.read_file(card, model.fid) if sw == SW_OK else None
                self.assertEqual(model.fid in listed, sw == SW_OK, "ENUMERATE and SELECT disagree"
                                 " on %04X" % model.fid)
                model.settle(files[model.fid])
            return {"tries": tries, "keys": keys, "files": files}
        finally:
            card.close()

    def observe_key(self, card, slot, listed):
        """(generation, public key, {signatures left}) of the key at slot.id, or None."""
        outcomes = slot.outcomes()
        fid = key_fid(PREFIX_KEY, slot.id)
        _, sw = card.transmit(hsmkit.select_fid(fid))
        self.assertIn(sw, (SW_OK, fkit.SW_FILE_NOT_FOUND), "SELECT %04X -> %04X" % (fid, sw))
        self.assertEqual(fid in listed, sw == SW_OK, "ENUMERATE and SELECT disagree on %04X" % fid)
        expected = ", ".join("no key" if k is None else "generation %d" % k for k in outcomes)
        if sw != SW_OK:
            self.assertIn(None, outcomes, "key %02X is gone; expected %s" % (slot.id, expected))
            slot.gen, slot.pending = None, None
            return None
        req = hsmkit.Request(hsmkit.read_file(card, key_fid(PREFIX_EE_CERT, slot.id)))
        problems = hsmkit.request_problems(req, self.device)
        self.assertEqual(problems, [], "CE%02X: %s" % (slot.id, "; ".join(problems)))
        m = GEN_CHR_RE.fullmatch(req.chr)
        self.assertIsNotNone(m, "CE%02X names %r" % (slot.id, req.chr))
        k = int(m.group(1))
        self.assertIn(k, outcomes, "key %02X: CE%02X holds generation %d; expected %s"
                      % (slot.id, slot.id, k, expected))
        point, lefts = outcomes[k]
        if point is not None:
            self.assertEqual(req.point, point, "key %02X: CE%02X holds another public key"
                             " than generation %d had" % (slot.id, slot.id, k))
        return (k, req.point, lefts)

    def check_opensc(self, observed):
        """The same state as OpenSC shows it; signs once with every usable key."""
        out = self.tool("sc-hsm-tool", "--reader", "0")
        self.assertIn("User PIN tries left  : %d" % observed["tries"], out,
                      "sc-hsm-tool does not show %d tries left:\n%s" % (observed["tries"], out))

        script = ""
        for fid, data in observed["files"].items():
            if data is not None:
                script += "get %04X %s\n" % (fid, self.path("%04X" % fid))
        self.tool("opensc-explorer", "--reader", "0", self.write("script", script.encode()))
        for fid, data in observed["files"].items():
            if data is not None:
                self.assertEqual(self.read("%04X" % fid), data, "opensc-explorer reads other"
                                 " bytes from %04X than READ BINARY" % fid)

        shown = self.opensc_public_keys()
        expected = {pkcs15_id(key_id): seen[1] for key_id, seen in observed["keys"].items()
                    if seen is not None}
        self.assertEqual(shown, expected, "pkcs11-tool lists public keys %s, the CE files hold %s"
                         % (describe_keys(shown), describe_keys(expected)))

        observed["opensc_signed"] = {}
        digest = self.write("digest", bytes(range(DIGEST_LEN)))
        for key_id, seen in observed["keys"].items():
            if seen is None or max(seen[2]) == 0:
                continue
            sig = self.path("sig")
            if os.path.exists(sig):
                os.unlink(sig)
            proc = fkit.run_client(["pkcs11-tool", "--module", fkit.OPENSC_MODULE, "--login",
                                    "--pin", PIN.decode(), "--sign", "--id", pkcs15_id(key_id),
                                    "-m", "ECDSA", "--signature-format", "openssl", "-i", digest,
                                    "-o", sig], check=False, timeout=TOOL_TIMEOUT)
            signed = proc.returncode == 0
            if signed:
                self.assertTrue(hsmkit.ecdsa_ok(seen[1], self.read("sig"),
                                                digest=bytes(range(DIGEST_LEN))),
                                "key %02X: pkcs11-tool's signature does not verify with the"
                                " public key of CE%02X (generation %d)" % (key_id, key_id, seen[0]))
            observed["opensc_signed"][key_id] = signed

    def opensc_public_keys(self):
        """{PKCS#15 ID in hex: 04 X Y} of the public key objects pkcs11-tool lists."""
        out = self.tool("pkcs11-tool", "--module", fkit.OPENSC_MODULE, "--list-objects",
                        "--type", "pubkey")
        keys = {}
        for block in out.split("Public Key Object")[1:]:
            point = re.search(r"EC_POINT:\s+([0-9a-f]+)", block)
            ident = re.search(r"ID:\s+([0-9a-f]+)", block)
            self.assertTrue(point and ident, "pkcs11-tool's listing: %s" % block)
            der = bytes.fromhex(point.group(1))
            self.assertEqual(der[:2], bytes([0x04, len(der) - 2]), "EC_POINT %s" % hx(der))
            keys[ident.group(1)] = der[2:]
        return keys

    def tool(self, *args):
        """Run an OpenSC tool that must succeed; returns its output."""
        proc = fkit.run_client(list(args), timeout=TOOL_TIMEOUT)
        return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")

    def check_keys_sign(self, observed):
        """Each key signs with its public key, allows exactly its generation's algorithms,
        and gives as many signatures as the model allows before 6A84."""
        card = self.rig.wait_card()
        try:
            self.sw_is(SELECT_HSM, SW_OK, card)
            self.sw_is(hsmkit.verify(PIN), SW_OK, card)
            self.pin.tries, self.pin.pending = PIN_RETRIES, None
            for key_id, seen in observed["keys"].items():
                if seen is not None:
                    self.count_signatures(card, key_id, seen, observed["opensc_signed"].get(key_id))
        finally:
            card.close()

    def count_signatures(self, card, key_id, seen, opensc_signed):
        """SIGN 73 and then SIGN 70 until 6A84 with one key; the count must fit."""
        k, point, lefts = seen
        used = 1 if opensc_signed else 0
        message = b"fusekey crash test, key %d generation %d" % (key_id, k)
        data, sw = card.transmit(hsmkit.sign(key_id, ALG_ECDSA_SHA256, message))
        if ALG_ECDSA_SHA256 not in algorithms(k):
            self.assertTrue(sw == SW_CONDITIONS, "key %02X (generation %d, algorithms %s):"
                            " SIGN 73 -> %04X, expected 6985" % (key_id, k, hx(algorithms(k)), sw))
        elif sw == SW_OK:
            self.assertTrue(hsmkit.ecdsa_ok(point, data, data=message),
                            "key %02X: SIGN 73 does not verify (generation %d)" % (key_id, k))
            used += 1
        else:
            self.assertTrue(sw == SW_NOT_ENOUGH_MEMORY, "key %02X (generation %d): SIGN 73 ->"
                            " %04X" % (key_id, k, sw))
        digest = hashlib.sha256(message).digest()
        for _ in range(DRAIN_MAX + 1):
            data, sw = card.transmit(hsmkit.sign(key_id, ALG_ECDSA, digest))
            if sw == SW_NOT_ENOUGH_MEMORY:
                break
            self.assertTrue(sw == SW_OK, "key %02X (generation %d): SIGN 70 -> %04X"
                            % (key_id, k, sw))
            self.assertTrue(hsmkit.ecdsa_ok(point, data, digest=digest),
                            "key %02X: the key does not sign with the public key of CE%02X"
                            " (generation %d)" % (key_id, key_id, k))
            used += 1
        else:
            self.fail("key %02X (generation %d) signs more than %d times" % (key_id, k, DRAIN_MAX))
        if opensc_signed is False:
            self.assertEqual(used, 0, "key %02X: pkcs11-tool could not sign, pyscard could"
                             % key_id)
        self.assertIn(used, lefts, "key %02X (generation %d): %d signatures before 6A84,"
                      " expected %s" % (key_id, k, used, " or ".join(map(str, sorted(lefts)))))
        slot = self.keys.slots[key_id]
        slot.gen, slot.pending = Gen(k, point, 0), None

    # -- the test --

    def setup_card(self):
        """A clean first run: initialize, one key, both files, the rescue record."""
        self.pin = PinModel()
        self.keys = KeyModel(self)
        self.chunked = ChunkedFile(FID_CHUNKED, b"chunked")
        self.replaced = ReplacedFile(FID_REPLACE, b"replace")
        self.apdu_time = {}
        self.kills = 0
        card = self.card
        for step in self.work["loop"]:
            step.send(card)
        self.sw_is(SELECT_HSM, SW_OK, card)
        self.sw_is(hsmkit.initialize(), SW_OK, card)
        self.device = hsmkit.device_point(card)
        rng = random.Random(0)
        self.send_ops(card, [self.pin.verify(True), self.keys.generate(self.keys.slots[1]),
                             self.chunked.next_op(rng), self.replaced.next_op(rng)])

    def test_sigkill_and_restart(self):
        """SIGKILL in the middle of writes, restart on the same flash: every write is
        exactly old or exactly new, and the card comes up every time."""
        rig = self.rig
        self.setup_card()
        self.card.close()
        type(self).card = None
        self.assertEqual(rig.stop_sim(), 0, "fusekey-sim did not exit cleanly on SIGTERM")
        flash_size = os.path.getsize(rig.flash)

        if fkit.ARGS.kill is not None:
            self.assertIn(fkit.ARGS.kill, KILL_KINDS, "--kill: one of %s" % ", ".join(KILL_KINDS))
        seed = fkit.ARGS.seed if fkit.ARGS.seed is not None else random.randrange(1 << 32)
        rng = random.Random(seed)
        iterations = fkit.ARGS.iterations or DEFAULT_ITERATIONS
        replay = "--seed %d --iterations %d" % (seed, iterations)
        if fkit.ARGS.kill is not None:
            replay += " --kill '%s'" % fkit.ARGS.kill
        sys.stderr.write("crash test: seed %d, %d iterations (replay: %s)\n"
                         % (seed, iterations, replay))
        total = 0
        died_in = {}
        for i in range(iterations):
            context = "iteration %d (seed %d)" % (i, seed)
            if rng.random() < STARTUP_KILL_SHARE:
                delay = rng.uniform(0, STARTUP_KILL_MAX)
                rig.start_sim()
                time.sleep(delay)
                alive = rig.sim_alive()
                status = rig.stop_sim(signal.SIGKILL)
                self.assertTrue(alive, "%s: fusekey-sim exited by itself during start-up with"
                                " status %s\n%s" % (context, status, rig.tail(rig.sim_log)))
                sys.stderr.write("  %d: killed %.1f ms after the start\n" % (i, delay * 1e3))
            rig.start_sim()
            self.check_card(context)
            target, nth = rng.choice(KILL_KINDS), rng.randint(1, KILL_NTH_MAX)
            target = fkit.ARGS.kill or target
            loop = Loop(self, rig.wait_card(), rng, target, nth, kill_fraction(rng))
            kills = self.kills
            try:
                loop.run()
            except AssertionError as e:
                raise AssertionError("%s: %s" % (context, e)) from None
            finally:
                loop.card.close()
            alive = rig.sim_alive()
            status = rig.stop_sim(signal.SIGKILL)
            self.assertTrue(alive or self.kills > kills, "%s: fusekey-sim exited by itself with"
                            " status %s\n%s" % (context, status, rig.tail(rig.sim_log)))
            self.assertEqual(status, -signal.SIGKILL, "%s: fusekey-sim ended with status %s, not"
                             " by the SIGKILL" % (context, status))
            self.assertEqual(os.path.getsize(rig.flash), flash_size,
                             "%s: flash image changed size" % context)
            self.assertIsNotNone(loop.delay, "%s: the connection died in APDU %d (%s) before"
                                 " the kill" % (context, loop.sent - 1, loop.killed_in.kind))
            sys.stderr.write("  %d: died in APDU %d (%s); killed %.2f ms after sending APDU %d,"
                             " %s number %d\n" % (i, loop.sent - 1, loop.killed_in.kind,
                                                  loop.delay * 1e3, loop.armed_at, target, nth))
            total += loop.sent
            died_in[loop.killed_in.kind] = died_in.get(loop.killed_in.kind, 0) + 1

        rig.start_sim()
        self.check_card("after the last restart (seed %d)" % seed)
        type(self).card = rig.wait_card()
        sys.stderr.write("crash test: %d loop APDUs sent between kills; died in: %s\n" % (
            total, ", ".join("%s %d" % kv for kv in sorted(died_in.items()))))


if __name__ == "__main__":
    fkit.main(__doc__)
