#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check RSA private keys independently of the code that made them.

Input: one key per line, "bits e n p q d dp dq qinv" (hex, big-endian).
Checks: n = p*q with exactly `bits` bits; p > q, both of bits/2 bits with
the two top bits set, both probable primes (Miller-Rabin, 32 random
bases); bitlen(p - q) > bits/2 - 99; gcd(e, p-1) = gcd(e, q-1) = 1;
e*d = 1 mod lcm(p-1, q-1) and d > 2^(bits/2); dp, dq, qinv as CRT wants.
Exit status 0 when every key passes, 1 (with the reason) otherwise.
"""
import math
import random
import sys


def probable_prime(n, rounds=32):
    if n < 2 or n % 2 == 0:
        return n == 2
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = random.randrange(2, n - 1)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def check(line):
    f = line.split()
    bits, e = int(f[0]), int(f[1], 16)
    n, p, q, d, dp, dq, qinv = (int(x, 16) for x in f[2:9])
    half = bits // 2
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    tests = [
        ("n = p*q", n == p * q),
        ("bits of n", n.bit_length() == bits),
        ("p > q", p > q),
        ("p: bits/2 bits, top two set", p >> (half - 2) == 3),
        ("q: bits/2 bits, top two set", q >> (half - 2) == 3),
        ("|p - q| large", (p - q).bit_length() > half - 99),
        ("gcd(e, p-1) = 1", math.gcd(e, p - 1) == 1),
        ("gcd(e, q-1) = 1", math.gcd(e, q - 1) == 1),
        ("e*d = 1 mod lambda", e * d % lam == 1),
        ("d < lambda", d < lam),
        ("d > 2^(bits/2)", d.bit_length() > (bits + 1) // 2),
        ("dp", dp == d % (p - 1)),
        ("dq", dq == d % (q - 1)),
        ("qinv", qinv * q % p == 1),
        ("p prime", probable_prime(p)),
        ("q prime", probable_prime(q)),
    ]
    return [name for name, ok in tests if not ok]


def main():
    keys = 0
    for line in open(sys.argv[1]):
        if not line.strip():
            continue
        bad = check(line)
        keys += 1
        if bad:
            print("key %d fails: %s" % (keys, ", ".join(bad)))
            return 1
    print("%d keys checked" % keys)
    return 0 if keys > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
