# SPDX-License-Identifier: Apache-2.0
"""bench/bench_fido.py: what the FIDO applet and the CTAPHID socket path add to a signature.

Starts fusekey-sim on a fresh flash and OTP image in a temporary directory with its CTAPHID
socket (no PC/SC reader: the vpcd side just waits), and drives it with python-fido2 through
tools/fido/fusekey_fido.py, as a user's client would. In interleaved rounds (the side measured
first alternates):

  makeCredential  N non-resident ES256 credentials through the socket;
  getAssertion    N assertions of one ES256 credential through the socket;
  bare            N ECDSA P-256 signatures of the same authenticatorData || clientDataHash
                  by the host's own library (python-cryptography), in the same process.

It prints the time per operation of each (median of rounds) and the medians of the per-round
ratios makeCredential / bare and getAssertion / bare. Every assertion's signature is verified
with the credential's public key. The machine is shared and noisy: the ratios are the figures,
not the times. No threshold.

Usage: /usr/bin/python3 bench/bench_fido.py --sim PATH [--rounds N] [--count N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "fido"))

import fusekey_fido  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from fido2.cose import ES256  # noqa: E402
from fido2.ctap2 import Ctap2  # noqa: E402

RP = {"id": "bench.example", "name": "bench"}
PARAMS = [{"type": "public-key", "alg": -7}]


def start_sim(sim, tmp):
    sock = os.path.join(tmp, "ctaphid.sock")
    proc = subprocess.Popen(
        [sim, "--flash", os.path.join(tmp, "flash.bin"), "--otp", os.path.join(tmp, "otp.bin"),
         "--ctaphid", sock, "--control", os.path.join(tmp, "control.sock"), "--presence", "auto",
         "--port", "1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, "sim.log"), "wb"))
    for _ in range(200):
        if os.path.exists(sock):
            return proc, sock
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("bench_fido: fusekey-sim did not open its socket (see %s)" % tmp)


def timed(fn, count):
    t0 = time.perf_counter()
    for i in range(count):
        fn(i)
    return (time.perf_counter() - t0) / count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--count", type=int, default=20)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fk-bench-fido-")
    proc = None
    try:
        proc, sock = start_sim(args.sim, tmp)
        ctap = Ctap2(fusekey_fido.open_device(sock))
        cdh = os.urandom(32)
        att = ctap.make_credential(cdh, RP, {"id": b"bench", "name": "bench"}, PARAMS)
        cred = att.auth_data.credential_data
        allow = [{"type": "public-key", "id": cred.credential_id}]
        pub = cred.public_key
        bare_key = ec.generate_private_key(ec.SECP256R1())
        first = ctap.get_assertion(RP["id"], cdh, allow)
        message = bytes(first.auth_data) + cdh

        def mc(i):
            ctap.make_credential(cdh, RP, {"id": bytes([i % 256]), "name": "u"}, PARAMS)

        def ga(i):
            a = ctap.get_assertion(RP["id"], cdh, allow)
            if i == 0:
                pub.verify(bytes(a.auth_data) + cdh, a.signature)

        def bare(i):
            bare_key.sign(message, ec.ECDSA(hashes.SHA256()))

        times = {"makeCredential": [], "getAssertion": [], "bare": []}
        for r in range(args.rounds):
            order = ["makeCredential", "getAssertion", "bare"]
            if r % 2:
                order.reverse()
            for name in order:
                fn = {"makeCredential": mc, "getAssertion": ga, "bare": bare}[name]
                times[name].append(timed(fn, args.count))
        print("FIDO through the CTAPHID socket (python-fido2) against a bare ES256 signature, "
              "%d rounds of %d:" % (args.rounds, args.count))
        for name, ts in times.items():
            print("  %-15s %8.3f ms per operation (median)" % (name, statistics.median(ts) * 1e3))
        for name in ("makeCredential", "getAssertion"):
            ratios = [a / b for a, b in zip(times[name], times["bare"])]
            print("  %s / bare: %.1f (median of per-round ratios)" % (name, statistics.median(ratios)))
        assert isinstance(pub, ES256)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
