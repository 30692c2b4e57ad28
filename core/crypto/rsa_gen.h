/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rsa_gen.h - RSA key generation with the prime search on both cores
 * (rsa_gen.c; docs/crypto.md "RSA key generation on two cores"). It names
 * the mbedTLS RSA context only as an incomplete type, so the tests can read
 * the statistics without any mbedTLS header.
 */
#ifndef FUSEKEY_RSA_GEN_H
#define FUSEKEY_RSA_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mbedtls_rsa_context;

/* How long core 0 waits for the second core to leave its prime search once
 * told to stop (one Miller-Rabin round of a 2048-bit candidate at most),
 * calling its tick all along, before it abandons the core (hal.h). */
#define FK_RSA_GEN_JOIN_MS 10000u

/* Core 0's random source (mbedTLS f_rng: the DRBG with the keepalive) and
 * the tick it calls while it waits for the second core. */
typedef int (*fk_rsa_gen_rng_fn)(void *ctx, unsigned char *out, size_t len);
typedef void (*fk_rsa_gen_tick_fn)(void *ctx);

/* Generate a bits-bit RSA key with public exponent e into rsa (initialized
 * by the caller, freed by the caller on every result): two primes of bits/2
 * bits with the top two bits set, p > q, |p - q| > 2^(bits/2 - 100),
 * gcd(e, p-1) = gcd(e, q-1) = 1, d = e^-1 mod lcm(p-1, q-1) > 2^(bits/2),
 * then N and the CRT values, checked with mbedtls_rsa_check_privkey.
 * The second core searches too when the port has one (hal.h); otherwise,
 * or when it fails to answer, core 0 searches alone, and with a fixed
 * random stream the result is then the same every time. 0, or an mbedTLS
 * error (an f_rng failure surfaces as f_rng's error). Every candidate and
 * the copies of the primes it made are wiped. */
int fk_rsa_gen(struct mbedtls_rsa_context *rsa, unsigned bits, uint32_t e, fk_rsa_gen_rng_fn f_rng,
               void *p_rng, fk_rsa_gen_tick_fn tick);

/* The job fk_rsa_gen runs on the second core (hal.h fk_hal_core1_start):
 * search primes until told to stop. Named for the firmware's stack
 * analysis (tools/fw/stack.conf); nothing calls it directly. */
void fk_rsa_gen_worker(void *arg);

/* Instructions (or any other monotonic count of work) so far. */
typedef uint64_t (*fk_rsa_gen_clock_fn)(void);

/* For the Cortex-M33 bench (one core under QEMU): the same search with the
 * second core's job stepped on this core in a deterministic interleaving
 * that models two cores of equal speed. Each side's clock counts the work
 * it did (clock() around each candidate); the job steps while its clock is
 * behind core 0's, and core 0 sees a posted prime only once its own clock
 * has passed the moment of the post. Random bits from the DRBG (so a fixed
 * seed gives a fixed key). *core0_insns: core 0's work until the key was
 * complete (the two-core key time); *core1_insns: the job's. FK_CRYPTO_OK
 * when a correct key came out (mbedTLS's private-key check). */
int fk_rsa_gen_lockstep(unsigned bits, uint32_t e, fk_rsa_gen_clock_fn clock,
                        uint64_t *core0_insns, uint64_t *core1_insns);

/* What the last fk_rsa_gen did (tests and the bench). */
typedef struct fk_rsa_gen_stats {
    bool dual;                /* the second core searched */
    bool abandoned;           /* it did not stop in time and was abandoned */
    unsigned candidates[2];   /* candidates drawn on core 0 / the second core */
    unsigned posted;          /* primes the second core put into the pool */
    unsigned used_from_pool;  /* of those, primes that went into the key */
} fk_rsa_gen_stats_t;

void fk_rsa_gen_last_stats(fk_rsa_gen_stats_t *st);

#endif /* FUSEKEY_RSA_GEN_H */
