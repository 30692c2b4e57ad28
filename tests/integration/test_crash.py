# SPDX-License-Identifier: Apache-2.0
"""fusekey-sim killed with SIGKILL (a power cut of the host process) at random
points: during start-up (store mount) and while a host drives a workload of
APDUs that write to flash. After every kill the simulator is started again on
the same flash and OTP files; the card must come up and pass the workload's
checks (what a cut write must leave behind).

The workload file (crash_workload.txt by default, --workload FILE) has lines
  define NAME HEX             a byte string, used as $NAME in later fields
  PHASE APDU SW[,SW] [DATA]   SW * = any; DATA: expected response data,
                              alternatives separated by |, - for none
with PHASE one of
  setup  sent once on every new connection
  check  sent after setup on every new connection (so after every kill)
  loop   sent over and over until the kill
See docs/testing.md for what the default workload writes.
"""

import os
import random
import re
import signal
import sys
import threading
import time

import fkit

DEFAULT_WORKLOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_workload.txt")
DEFAULT_ITERATIONS = 24
# Half the kills come after this many workload APDUs (drawn at random up to the max),
# the other half at a random time after start, which covers start-up and mount.
MAX_APDUS_BEFORE_KILL = 64
MAX_KILL_DELAY = 1.5  # seconds
PHASES = ("setup", "check", "loop")


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


class Step:
    """One workload APDU and what its answer must be."""

    def __init__(self, cmd, sws, data):
        self.cmd = cmd
        self.sws = sws    # allowed status words, None = any
        self.data = data  # allowed response data, None = any

    def send(self, card):
        """Send it; raise AssertionError on an answer the workload does not allow."""
        data, sw = card.transmit(self.cmd)
        if (self.sws is not None and sw not in self.sws) or \
                (self.data is not None and data not in self.data):
            raise AssertionError("%s -> %s %04X" % (fkit.hx(self.cmd), fkit.hx(data), sw))


class Driver(threading.Thread):
    """Connects to the card as soon as it appears and runs setup, then loop, until stopped.

    A PC/SC error (the card vanished: the kill, or pcscd still holding the previous
    simulator's connection) makes it connect again; an unexpected status word is
    recorded as a failure and ends it."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work = work
        self.stop = threading.Event()
        self.done = 0  # loop APDUs answered
        self.error = None

    def run(self):
        while not self.stop.is_set() and self.error is None:
            card = None
            try:
                card = fkit.Card()
                for step in self.work["setup"] + self.work["check"]:
                    step.send(card)
                while not self.stop.is_set():
                    for step in self.work["loop"]:
                        step.send(card)
                        self.done += 1
            except fkit.PcscError:
                time.sleep(fkit.POLL)
            except AssertionError as e:
                self.error = str(e)
            finally:
                if card is not None:
                    card.close()


class CrashRestart(fkit.RigTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = load_workload(fkit.ARGS.workload or DEFAULT_WORKLOAD)

    def run_phase(self, card, phase):
        for step in self.work[phase]:
            step.send(card)

    def test_sigkill_and_restart(self):
        """SIGKILL at random points, restart on the same flash: the card comes up every time."""
        rig = self.rig
        # A clean first run formats the flash; its size must never change afterwards.
        self.run_phase(self.card, "setup")
        self.run_phase(self.card, "loop")
        self.run_phase(self.card, "check")
        self.card.close()
        type(self).card = None
        self.assertEqual(rig.stop_sim(), 0, "fusekey-sim did not exit cleanly on SIGTERM")
        flash_size = os.path.getsize(rig.flash)

        seed = fkit.ARGS.seed if fkit.ARGS.seed is not None else random.randrange(1 << 32)
        rng = random.Random(seed)
        iterations = fkit.ARGS.iterations or DEFAULT_ITERATIONS
        sys.stderr.write("crash test: seed %d, %d iterations\n" % (seed, iterations))
        total = 0
        for i in range(iterations):
            rig.start_sim()
            driver = Driver(self.work)
            driver.start()
            if i % 2:
                target = rng.randrange(MAX_APDUS_BEFORE_KILL + 1)
                deadline = time.monotonic() + fkit.START_TIMEOUT
                while driver.done < target and driver.is_alive() and rig.sim_alive():
                    self.assertLess(time.monotonic(), deadline,
                                    "iteration %d: workload did not run" % i)
                    time.sleep(0.001)
                what = "after %d workload APDUs" % target
            else:
                delay = rng.uniform(0, MAX_KILL_DELAY)
                time.sleep(delay)
                what = "%.3f s after start" % delay
            alive = rig.sim_alive()
            status = rig.stop_sim(signal.SIGKILL)
            driver.stop.set()
            driver.join(fkit.STOP_TIMEOUT)
            self.assertTrue(alive, "iteration %d (seed %d, kill %s): fusekey-sim exited by itself"
                            " with status %s\n%s" % (i, seed, what, status,
                                                     rig.tail(rig.sim_log)))
            self.assertEqual(status, -signal.SIGKILL)
            self.assertIsNone(driver.error, "iteration %d (seed %d): unexpected answer: %s"
                              % (i, seed, driver.error))
            self.assertEqual(os.path.getsize(rig.flash), flash_size, "flash image changed size")
            total += driver.done

        rig.start_sim()
        card = rig.wait_card()
        type(self).card = card
        for phase in PHASES:
            self.run_phase(card, phase)
        sys.stderr.write("crash test: %d workload APDUs answered between kills\n" % total)


if __name__ == "__main__":
    fkit.main(__doc__)
