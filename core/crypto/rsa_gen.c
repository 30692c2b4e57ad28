/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rsa_gen.c - RSA key generation whose prime search runs on both cores
 * (rsa_gen.h; docs/crypto.md "RSA key generation on two cores").
 *
 *   core 0 (the caller)                      second core (hal.h job)
 *   seed the job's HMAC-DRBG from f_rng
 *   fk_hal_core1_start(worker) ------------> loop until told to stop:
 *   loop until two primes fit:                 draw a candidate, test it
 *     take primes from the pool <--- slot[0]   post a prime into a free
 *     draw a candidate, test it  <--- slot[1]  slot (release store)
 *   stop = true ---------------------------> its RNG fails: the test ends
 *   poll fk_hal_core1_done (tick), or abandon
 *   N, D, CRT, check; wipe pool and job
 *
 * Each side draws its own independent random odd candidates of bits/2
 * bits with the two top bits set (so p*q has exactly `bits` bits, FIPS
 * 186-4 B.3.3 asks for at least sqrt(2) * 2^(bits/2 - 1)), discards those
 * with gcd(e, x - 1) != 1, and tests the rest with
 * mbedtls_mpi_is_prime_ext (trial division by the small primes, then
 * Miller-Rabin) with the rounds mbedtls_rsa_gen_key would use for that
 * size. Core 0 keeps the first prime it has (its own or the pool's) and
 * pairs it with the next one that is far enough from it, as mbedTLS checks
 * it: bitlen(|p - q|) > bits/2 - 99.
 *
 * IMPLEMENTATION NOTE: sharing. The second core touches only s_job: its
 * read-only parameters (written before fk_hal_core1_start, which publishes
 * them), its own HMAC-DRBG (seeded by core 0 from 48 bytes of core 0's
 * generator, no entropy callback, so it never reseeds from the HAL), the
 * stop flag and the two pool slots. A slot is handed over with its `full`
 * flag: the worker fills the bytes, then stores full = 1 with release;
 * core 0 loads it with acquire, copies and wipes the bytes, then stores
 * full = 0 with release, and the worker's acquire load sees the slot free.
 * The worker's counters are read by core 0 only after fk_hal_core1_done
 * (acquire). Its bignums are allocated by mbedTLS from the second core's
 * arena region (arena.c) on the device, from the C library on the host.
 *
 * IMPLEMENTATION NOTE: stopping. The worker's random callback fails as
 * soon as the stop flag is set, which ends mbedtls_mpi_is_prime_ext at its
 * next witness: the worker leaves within one Miller-Rabin round. If it has
 * not left after FK_RSA_GEN_JOIN_MS, core 0 abandons the core (the port
 * stops it and latches single-core mode), wipes its arena region and the
 * pool, and still returns the key it built.
 */
#include "crypto/rsa_gen.h"

#include <stdatomic.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/hmac_drbg.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>

#include "crypto/arena.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "hal.h"
#include "util.h"

#define PRIME_MAX_BYTES (FK_PK_RSA_MAX_BITS / 16u)
#define POOL_SLOTS 2u
#define JOB_SEED_LEN 48u
/* mbedTLS's floor on bitlen(|p - q|) (rsa.c, FIPS 186-4 B.3.3 step 5.4). */
#define PQ_DIFF_MARGIN 99u
#define PQ_DIFF_MIN_BITS 200u

_Static_assert(FK_PK_RSA_MAX_BITS % 16u == 0, "a prime fills whole bytes at the largest size");

typedef struct pool_slot {
    atomic_uint full;
    uint8_t bytes[PRIME_MAX_BYTES];
} pool_slot_t;

typedef struct rsa_job {
    /* Written by core 0 before the start, read-only for the worker. */
    unsigned pbits;
    int rounds;
    uint32_t e;
    /* The worker's own generator; core 0 seeds and frees it. */
    mbedtls_hmac_drbg_context drbg;
    atomic_bool stop;
    pool_slot_t slot[POOL_SLOTS];
    /* The worker's counters, read by core 0 after the job is done. */
    unsigned candidates, posted;
} rsa_job_t;

static rsa_job_t s_job;
static fk_rsa_gen_stats_t s_stats;

/* The bench's lockstep run (fk_rsa_gen_lockstep): the second core's job is
 * stepped on core 0, one candidate at a time, whenever its virtual clock is
 * behind core 0's; both clocks count the instructions each side spent. A
 * prime posted at the second core's time t is seen by core 0 only once its
 * own clock has reached t. */
typedef struct lockstep {
    fk_rsa_gen_clock_fn clock;
    uint64_t t[2];                /* core 0, second core */
    uint64_t posted_at[POOL_SLOTS];
    bool pending;                 /* x holds a prime no slot had room for */
    bool failed;                  /* the second core's side failed: it stops */
    mbedtls_mpi x;                /* the second core's candidate */
} lockstep_t;

void fk_rsa_gen_last_stats(fk_rsa_gen_stats_t *st) { *st = s_stats; }

/* The Miller-Rabin rounds of mbedtls_mpi_gen_prime for a prime of pbits
 * bits as mbedtls_rsa_gen_key asks for it: error rate 2^-100 above RSA-1024,
 * 2^-80 up to it (HAC table 4.4 and fact 4.48). */
static int mr_rounds(unsigned bits, unsigned pbits)
{
    if (bits > 1024u)
        return pbits >= 1450u ? 4 : pbits >= 1150u ? 5 : pbits >= 1000u ? 6 : pbits >= 850u ? 7
             : pbits >= 750u ? 8 : pbits >= 500u ? 13 : pbits >= 250u ? 28 : pbits >= 150u ? 40
             : 51;
    return pbits >= 1300u ? 2 : pbits >= 850u ? 3 : pbits >= 650u ? 4 : pbits >= 350u ? 8
         : pbits >= 250u ? 12 : pbits >= 150u ? 18 : 27;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Draw one candidate into x and test it: 0 when x is a prime with
 * gcd(e, x - 1) = 1, MBEDTLS_ERR_MPI_NOT_ACCEPTABLE when it is not, another
 * error when the random source or the library failed. */
static int try_candidate(mbedtls_mpi *x, unsigned pbits, int rounds, uint32_t e,
                         fk_rsa_gen_rng_fn f_rng, void *p_rng)
{
    uint8_t buf[PRIME_MAX_BYTES];
    const size_t n = (pbits + 7u) / 8u;
    mbedtls_mpi_uint r = 0;
    int ret;

    ret = f_rng(p_rng, buf, n);
    if (ret == 0) {
        buf[0] &= (uint8_t)(0xFFu >> (n * 8u - pbits));
        buf[n - 1u] |= 1u;
        ret = mbedtls_mpi_read_binary(x, buf, n);
    }
    fk_wipe(buf, sizeof buf);
    if (ret == 0) ret = mbedtls_mpi_set_bit(x, pbits - 1u, 1);
    if (ret == 0) ret = mbedtls_mpi_set_bit(x, pbits - 2u, 1);
    /* gcd(e, x - 1) first: it costs one division, a Miller-Rabin round a
     * modular exponentiation. */
    if (ret == 0) ret = mbedtls_mpi_mod_int(&r, x, (mbedtls_mpi_sint)e);
    if (ret == 0 && gcd32(e, (uint32_t)((r + e - 1u) % e)) != 1u)
        ret = MBEDTLS_ERR_MPI_NOT_ACCEPTABLE;
    if (ret == 0) ret = mbedtls_mpi_is_prime_ext(x, rounds, f_rng, p_rng);
    return ret;
}

/* ---- The second core's side ---------------------------------------------- */

/* The worker's f_rng: its own DRBG, failing once core 0 says stop. */
static int worker_rng(void *ctx, unsigned char *out, size_t len)
{
    rsa_job_t *j = (rsa_job_t *)ctx;
    if (atomic_load_explicit(&j->stop, memory_order_relaxed))
        return MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED;
    return mbedtls_hmac_drbg_random(&j->drbg, out, len);
}

/* Put prime x into a free slot: its index, POOL_SLOTS when both are full,
 * -1 when the library failed. */
static int worker_try_post(rsa_job_t *j, const mbedtls_mpi *x)
{
    const size_t n = (j->pbits + 7u) / 8u;
    for (unsigned i = 0; i < POOL_SLOTS; i++) {
        pool_slot_t *s = &j->slot[i];
        if (atomic_load_explicit(&s->full, memory_order_acquire) != 0u) continue;
        if (mbedtls_mpi_write_binary(x, s->bytes, n) != 0) return -1;
        atomic_store_explicit(&s->full, 1u, memory_order_release);
        j->posted++;
        return (int)i;
    }
    return (int)POOL_SLOTS;
}

/* Post prime x, waiting while both slots are full: false when told to
 * stop first or the library failed. */
static bool worker_post(rsa_job_t *j, const mbedtls_mpi *x)
{
    for (;;) {
        const int r = worker_try_post(j, x);
        if (r >= 0 && r < (int)POOL_SLOTS) return true;
        if (r < 0 || atomic_load_explicit(&j->stop, memory_order_relaxed)) return false;
    }
}

void fk_rsa_gen_worker(void *arg)
{
    rsa_job_t *j = (rsa_job_t *)arg;
    mbedtls_mpi x;

    mbedtls_mpi_init(&x);
    while (!atomic_load_explicit(&j->stop, memory_order_relaxed)) {
        int ret = try_candidate(&x, j->pbits, j->rounds, j->e, worker_rng, j);
        j->candidates++;
        if (ret == MBEDTLS_ERR_MPI_NOT_ACCEPTABLE) continue;
        if (ret != 0 || !worker_post(j, &x)) break;
    }
    mbedtls_mpi_free(&x); /* zeroizes the limbs */
}

/* ---- Core 0's side --------------------------------------------------------- */

/* Seed the job and start it: true when the second core searches. */
static bool job_start(unsigned bits, unsigned pbits, uint32_t e, fk_rsa_gen_rng_fn f_rng,
                      void *p_rng, bool lockstep, int *err)
{
    uint8_t seed[JOB_SEED_LEN];
    rsa_job_t *j = &s_job;
    int ret;

    fk_wipe(j, sizeof *j);
    j->pbits = pbits;
    j->rounds = mr_rounds(bits, pbits);
    j->e = e;
    atomic_init(&j->stop, false);
    for (unsigned i = 0; i < POOL_SLOTS; i++) atomic_init(&j->slot[i].full, 0u);
    mbedtls_hmac_drbg_init(&j->drbg);

    ret = f_rng(p_rng, seed, sizeof seed);
    if (ret == 0)
        ret = mbedtls_hmac_drbg_seed_buf(&j->drbg, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
                                         seed, sizeof seed);
    fk_wipe(seed, sizeof seed);
    if (ret != 0) {
        *err = ret;
        return false;
    }
    if (lockstep) return true;
    return fk_hal_core1_start(fk_rsa_gen_worker, j) == FK_HAL_OK;
}

/* Stop the job and wait for it (tick while waiting), or abandon it. */
static void job_stop(fk_rsa_gen_tick_fn tick, void *p_rng)
{
    rsa_job_t *j = &s_job;
    const uint64_t start = fk_hal_millis();

    atomic_store_explicit(&j->stop, true, memory_order_release);
    while (!fk_hal_core1_done()) {
        if (tick != NULL) tick(p_rng);
        if (fk_hal_millis() - start >= FK_RSA_GEN_JOIN_MS) {
            fk_hal_core1_abandon();
            fk_arena_worker_reset();
            s_stats.abandoned = true;
            return;
        }
    }
    s_stats.candidates[1] = j->candidates;
    s_stats.posted = j->posted;
}

/* Wipe what the job held (after it is done or abandoned). */
static void job_clear(void)
{
    mbedtls_hmac_drbg_free(&s_job.drbg);
    fk_wipe(&s_job, sizeof s_job);
}

/* The primes found so far. */
typedef struct pair {
    mbedtls_mpi p[2];
    bool from_pool[2];
    unsigned have;
    unsigned bits;
} pair_t;

/* Offer prime x: kept when it is the first, or far enough from the first. */
static int pair_offer(pair_t *pr, const mbedtls_mpi *x, bool from_pool)
{
    mbedtls_mpi h;
    int ret;

    if (pr->have == 0u) {
        pr->from_pool[0] = from_pool;
        pr->have = 1u;
        return mbedtls_mpi_copy(&pr->p[0], x);
    }
    if (pr->have >= 2u) return 0;
    mbedtls_mpi_init(&h);
    ret = mbedtls_mpi_sub_mpi(&h, &pr->p[0], x);
    if (ret == 0 &&
        mbedtls_mpi_bitlen(&h) > (pr->bits >= PQ_DIFF_MIN_BITS ? pr->bits / 2u - PQ_DIFF_MARGIN : 0u)) {
        ret = mbedtls_mpi_copy(&pr->p[1], x);
        pr->from_pool[1] = from_pool;
        pr->have = 2u;
    }
    mbedtls_mpi_free(&h);
    return ret;
}

/* Take every prime the pool holds (in a lockstep run, those posted by
 * core 0's time). */
static int pool_take(pair_t *pr, mbedtls_mpi *x, const lockstep_t *ls)
{
    rsa_job_t *j = &s_job;
    const size_t n = (j->pbits + 7u) / 8u;
    int ret = 0;

    for (unsigned i = 0; i < POOL_SLOTS && ret == 0; i++) {
        pool_slot_t *s = &j->slot[i];
        if (atomic_load_explicit(&s->full, memory_order_acquire) == 0u) continue;
        if (ls != NULL && ls->posted_at[i] > ls->t[0]) continue;
        ret = mbedtls_mpi_read_binary(x, s->bytes, n);
        fk_wipe(s->bytes, sizeof s->bytes);
        atomic_store_explicit(&s->full, 0u, memory_order_release);
        if (ret == 0) ret = pair_offer(pr, x, true);
    }
    return ret;
}

/* Build the key from the pair (p > q): 0 and rsa complete,
 * MBEDTLS_ERR_MPI_NOT_ACCEPTABLE when d is too small (drop q, search on),
 * another error when the library failed. */
static int build_key(mbedtls_rsa_context *rsa, pair_t *pr, uint32_t e)
{
    mbedtls_mpi p1, q1, h, g, l, d, em;
    mbedtls_mpi *p = &pr->p[0], *q = &pr->p[1];
    int ret;

    mbedtls_mpi_init(&p1);
    mbedtls_mpi_init(&q1);
    mbedtls_mpi_init(&h);
    mbedtls_mpi_init(&g);
    mbedtls_mpi_init(&l);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&em);
    if (mbedtls_mpi_cmp_mpi(p, q) < 0) {
        mbedtls_mpi_swap(p, q);
        bool t = pr->from_pool[0];
        pr->from_pool[0] = pr->from_pool[1];
        pr->from_pool[1] = t;
    }
    /* d = e^-1 mod lcm(p - 1, q - 1), which must exceed 2^(bits/2)
     * (FIPS 186-4 B.3.1 criterion 3, as mbedtls_rsa_gen_key checks it). */
    ret = mbedtls_mpi_lset(&em, (mbedtls_mpi_sint)e);
    if (ret == 0) ret = mbedtls_mpi_sub_int(&p1, p, 1);
    if (ret == 0) ret = mbedtls_mpi_sub_int(&q1, q, 1);
    if (ret == 0) ret = mbedtls_mpi_mul_mpi(&h, &p1, &q1);
    if (ret == 0) ret = mbedtls_mpi_gcd(&g, &p1, &q1);
    if (ret == 0) ret = mbedtls_mpi_div_mpi(&l, NULL, &h, &g);
    if (ret == 0) ret = mbedtls_mpi_inv_mod(&d, &em, &l);
    if (ret == 0 && mbedtls_mpi_bitlen(&d) <= (pr->bits + 1u) / 2u)
        ret = MBEDTLS_ERR_MPI_NOT_ACCEPTABLE;
    /* N, DP, DQ, QP from P, Q, D, E; then mbedTLS's full check. */
    if (ret == 0) ret = mbedtls_rsa_import(rsa, NULL, p, q, &d, &em);
    if (ret == 0) ret = mbedtls_rsa_complete(rsa);
    if (ret == 0) ret = mbedtls_rsa_check_privkey(rsa);
    mbedtls_mpi_free(&p1);
    mbedtls_mpi_free(&q1);
    mbedtls_mpi_free(&h);
    mbedtls_mpi_free(&g);
    mbedtls_mpi_free(&l);
    mbedtls_mpi_free(&d);
    mbedtls_mpi_free(&em);
    return ret;
}

/* Run the second core's job while its clock is behind core 0's. */
static void lockstep_catch_up(lockstep_t *ls)
{
    rsa_job_t *j = &s_job;

    while (!ls->failed && ls->t[1] <= ls->t[0]) {
        if (ls->pending) {
            const int r = worker_try_post(j, &ls->x);
            if (r < 0) {
                ls->failed = true;
            } else if (r < (int)POOL_SLOTS) {
                ls->posted_at[r] = ls->t[1];
                ls->pending = false;
            } else {
                ls->t[1] = ls->t[0] + 1u; /* both slots full: it waits for core 0 */
            }
            continue;
        }
        const uint64_t c = ls->clock();
        const int ret = try_candidate(&ls->x, j->pbits, j->rounds, j->e, worker_rng, j);
        j->candidates++;
        ls->t[1] += ls->clock() - c;
        if (ret == 0)
            ls->pending = true;
        else if (ret != MBEDTLS_ERR_MPI_NOT_ACCEPTABLE)
            ls->failed = true;
    }
}

/* fk_rsa_gen's search, with the second core on the HAL or (ls) stepped. */
static int gen_run(mbedtls_rsa_context *rsa, unsigned bits, uint32_t e, fk_rsa_gen_rng_fn f_rng,
                   void *p_rng, fk_rsa_gen_tick_fn tick, lockstep_t *ls)
{
    const unsigned pbits = bits / 2u;
    const int rounds = mr_rounds(bits, pbits);
    pair_t pr;
    mbedtls_mpi x;
    uint64_t c = 0;
    int ret = 0;

    FK_ASSERT(bits % 2u == 0 && pbits >= 64u && pbits <= PRIME_MAX_BYTES * 8u && e >= 3u &&
              (e & 1u) != 0);
    memset(&s_stats, 0, sizeof s_stats);
    memset(&pr, 0, sizeof pr);
    pr.bits = bits;
    mbedtls_mpi_init(&pr.p[0]);
    mbedtls_mpi_init(&pr.p[1]);
    mbedtls_mpi_init(&x);

    if (ls != NULL) c = ls->clock();
    s_stats.dual = job_start(bits, pbits, e, f_rng, p_rng, ls != NULL, &ret);
    while (ret == 0) {
        if (ls != NULL) {
            ls->t[0] += ls->clock() - c;
            lockstep_catch_up(ls);
            c = ls->clock();
        }
        if (s_stats.dual) ret = pool_take(&pr, &x, ls);
        if (ret == 0 && pr.have == 2u) {
            ret = build_key(rsa, &pr, e);
            if (ret != MBEDTLS_ERR_MPI_NOT_ACCEPTABLE) break;
            pr.have = 1u; /* d too small: keep p, look for another q */
            ret = 0;
        }
        if (ret != 0) break;
        ret = try_candidate(&x, pbits, rounds, e, f_rng, p_rng);
        s_stats.candidates[0]++;
        if (ret == 0)
            ret = pair_offer(&pr, &x, false);
        else if (ret == MBEDTLS_ERR_MPI_NOT_ACCEPTABLE)
            ret = 0;
    }
    if (ls != NULL) {
        ls->t[0] += ls->clock() - c;
        s_stats.candidates[1] = s_job.candidates;
        s_stats.posted = s_job.posted;
    } else if (s_stats.dual) {
        job_stop(tick, p_rng);
    }
    if (s_stats.dual && ret == 0)
        s_stats.used_from_pool = (unsigned)pr.from_pool[0] + (unsigned)pr.from_pool[1];
    job_clear();
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&pr.p[0]);
    mbedtls_mpi_free(&pr.p[1]);
    return ret;
}

int fk_rsa_gen(struct mbedtls_rsa_context *rsa, unsigned bits, uint32_t e, fk_rsa_gen_rng_fn f_rng,
               void *p_rng, fk_rsa_gen_tick_fn tick)
{
    return gen_run(rsa, bits, e, f_rng, p_rng, tick, NULL);
}

/* The DRBG as f_rng for the lockstep run. */
static int drbg_rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return fk_rng_bytes(out, len) == FK_CRYPTO_OK ? 0 : MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED;
}

int fk_rsa_gen_lockstep(unsigned bits, uint32_t e, fk_rsa_gen_clock_fn clock,
                        uint64_t *core0_insns, uint64_t *core1_insns)
{
    mbedtls_rsa_context rsa;
    lockstep_t ls;
    int ret;

    memset(&ls, 0, sizeof ls);
    ls.clock = clock;
    mbedtls_mpi_init(&ls.x);
    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    ret = gen_run(&rsa, bits, e, drbg_rng, NULL, NULL, &ls);
    if (ret == 0 && mbedtls_mpi_bitlen(&rsa.N) != bits) ret = MBEDTLS_ERR_RSA_KEY_GEN_FAILED;
    mbedtls_rsa_free(&rsa);
    mbedtls_mpi_free(&ls.x);
    *core0_insns = ls.t[0];
    *core1_insns = ls.t[1];
    return ret == 0 ? FK_CRYPTO_OK : FK_CRYPTO_EFAIL;
}
