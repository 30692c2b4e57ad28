/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_arena.c - the crypto arena on the Cortex-M33 (core/crypto/arena.h):
 * the allocator's contract (alignment, zeroed blocks, wiping, refusals,
 * merging of free neighbours, misuse stops the device) and the arena's
 * high-water mark over the largest operations the firmware performs,
 * printed for docs/crypto.md and checked to leave every block returned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/arena.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "m33_port.h"

#define MAX_BLOCKS 64u

static fk_arena_stats_t stats(void)
{
    fk_arena_stats_t st;
    fk_arena_stats(&st);
    return st;
}

static void test_alignment_and_zero(void **state)
{
    (void)state;
    const fk_arena_stats_t before = stats();
    uint8_t *a = fk_arena_calloc(3, 7);
    uint8_t *b = fk_arena_calloc(1, 100);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a != b);
    assert_int_equal((uintptr_t)a % 8u, 0);
    assert_int_equal((uintptr_t)b % 8u, 0);
    for (size_t i = 0; i < 100; i++) assert_int_equal(b[i], 0);
    memset(a, 0xA5, 21);
    memset(b, 0x5A, 100);
    assert_int_equal(stats().blocks, before.blocks + 2u);
    fk_arena_free(a);
    /* The freed bytes are wiped, and a new block is zeroed again. */
    for (size_t i = 0; i < 21; i++) assert_int_equal(a[i], 0);
    uint8_t *c = fk_arena_calloc(1, 21);
    assert_non_null(c);
    for (size_t i = 0; i < 21; i++) assert_int_equal(c[i], 0);
    fk_arena_free(c);
    fk_arena_free(b);
    fk_arena_free(NULL);
    assert_int_equal(stats().blocks, before.blocks);
    assert_int_equal(stats().in_use, before.in_use);
}

static void test_refusals(void **state)
{
    (void)state;
    const size_t failures = stats().failures;
    assert_null(fk_arena_calloc(SIZE_MAX / 2u, 4));
    assert_null(fk_arena_calloc(1, stats().size));
    assert_int_equal(stats().failures, failures + 2u);
}

/* Fill the arena with small blocks, free them all in an interleaved order:
 * the whole arena is one free block again (one allocation of nearly all
 * of it succeeds). */
static void test_merge(void **state)
{
    static void *blocks[MAX_BLOCKS];
    (void)state;
    const fk_arena_stats_t st = stats();
    assert_int_equal(st.blocks, 0); /* runs before anything else allocates */
    const size_t each = st.size / MAX_BLOCKS - 16u;
    size_t n = 0;
    while (n < MAX_BLOCKS && (blocks[n] = fk_arena_calloc(1, each)) != NULL) n++;
    assert_true(n > MAX_BLOCKS / 2u);
    for (size_t i = 0; i < n; i += 2) fk_arena_free(blocks[i]);
    for (size_t i = 1; i < n; i += 2) fk_arena_free(blocks[i]);
    assert_int_equal(stats().in_use, 0);
    void *big = fk_arena_calloc(1, st.size - 64u);
    assert_non_null(big);
    fk_arena_free(big);
}

/* What the DRBG keeps allocated while it is seeded (its HMAC context). */
static fk_arena_stats_t g_base;

/* The largest operations of the firmware: the arena's high-water mark for
 * each, no allocation refused, nothing left allocated afterwards beyond the
 * DRBG's own. */
static void measure(const char *what, size_t *worst)
{
    const fk_arena_stats_t st = stats();
    printf("arena: %-32s high water %6u of %u bytes (warm groups keep %u)\n", what,
           (unsigned)st.high_water, (unsigned)st.size, (unsigned)(st.in_use - g_base.in_use));
    /* Nothing but the warm curve groups (pk.h) stays allocated. */
    fk_pk_ec_forget();
    assert_int_equal(stats().blocks, g_base.blocks);
    assert_int_equal(stats().in_use, g_base.in_use);
    if (st.high_water > *worst) *worst = st.high_water;
    fk_arena_reset_high_water();
}

/* ECDSA generation, signature and verification on curve c (the group stays
 * warm). */
static void ec_round(fk_curve_t c, const uint8_t *hash, uint8_t *blob, size_t cap)
{
    uint8_t sig[FK_PK_ECDSA_DER_MAX];
    size_t len = 0, sig_len = 0;
    fk_pk_key_t key;
    fk_pk_public_t pub;

    assert_int_equal(fk_pk_ec_generate(c, blob, cap, &len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ecdsa_sign(&key, hash, 64, FK_SIG_DER, sig, sizeof sig, &sig_len),
                     FK_CRYPTO_OK);
    fk_pk_public_of(&key, &pub);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 64, FK_SIG_DER, sig, sig_len), FK_CRYPTO_OK);
}

static void test_high_water(void **state)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    static uint8_t peer_blob[FK_PK_BLOB_MAX];
    static uint8_t rsa4096[FK_PK_BLOB_MAX];
    size_t rsa4096_len = 0;
    uint8_t hash[64] = {1, 2, 3}, sig[FK_PK_RSA_MAX_LEN], secret[66];
    size_t len = 0, peer_len = 0, sig_len = 0, worst = 0;
    const size_t failures = stats().failures;
    fk_pk_key_t key, peer;
    (void)state;

    assert_int_equal(fk_rng_bytes(hash, sizeof hash), FK_CRYPTO_OK);
    g_base = stats();
    printf("arena: the seeded DRBG keeps %u bytes in %u blocks\n", (unsigned)g_base.in_use,
           (unsigned)g_base.blocks);
    fk_arena_reset_high_water();
    assert_int_equal(fk_pk_rsa_generate(2048, 65537, NULL, NULL, blob, sizeof blob, &len),
                     FK_CRYPTO_OK);
    measure("RSA-2048 key generation", &worst);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_rsa_sign_pss(&key, FK_HASH_SHA256, hash, 32, sig, sizeof sig, &sig_len),
                     FK_CRYPTO_OK);
    measure("RSA-2048 PSS signature", &worst);
    assert_int_equal(fk_pk_rsa_generate(4096, 65537, NULL, NULL, blob, sizeof blob, &len),
                     FK_CRYPTO_OK);
    measure("RSA-4096 key generation", &worst);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_rsa_sign_pss(&key, FK_HASH_SHA512, hash, 64, sig, sizeof sig, &sig_len),
                     FK_CRYPTO_OK);
    measure("RSA-4096 PSS signature", &worst);
    memcpy(rsa4096, blob, len);
    rsa4096_len = len;

    static const fk_curve_t k_curves[] = {FK_CURVE_SECP256R1, FK_CURVE_SECP521R1,
                                          FK_CURVE_BP512R1, FK_CURVE_SECP256K1};
    for (size_t i = 0; i < sizeof k_curves / sizeof k_curves[0]; i++) {
        char what[48];
        ec_round(k_curves[i], hash, blob, sizeof blob);
        snprintf(what, sizeof what, "ECDSA gen+sign+verify curve %d", (int)k_curves[i]);
        measure(what, &worst);
    }

    /* The worst case: the groups of the largest curves warm (as many as
     * pk.c keeps: the last three of this list, P-384, P-521 and
     * brainpoolP512r1), then an RSA-4096 signature. */
    static const fk_curve_t k_largest[] = {FK_CURVE_BP384R1, FK_CURVE_SECP384R1,
                                           FK_CURVE_SECP521R1, FK_CURVE_BP512R1};
    for (size_t i = 0; i < sizeof k_largest / sizeof k_largest[0]; i++)
        ec_round(k_largest[i], hash, blob, sizeof blob);
    assert_int_equal(fk_pk_ec_warm_count(), FK_PK_WARM_GROUPS);
    measure("the largest groups warm", &worst);
    for (size_t i = 0; i < sizeof k_largest / sizeof k_largest[0]; i++)
        ec_round(k_largest[i], hash, blob, sizeof blob);
    printf("arena: %u warm groups of the largest curves keep %u bytes\n",
           (unsigned)fk_pk_ec_warm_count(), (unsigned)(stats().in_use - g_base.in_use));
    assert_int_equal(fk_pk_parse(rsa4096, rsa4096_len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_rsa_sign_pss(&key, FK_HASH_SHA512, hash, 64, sig, sizeof sig, &sig_len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ec_warm_count(), FK_PK_WARM_GROUPS);
    measure("RSA-4096 PSS, largest groups warm", &worst);
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_X448, blob, sizeof blob, &len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_X448, peer_blob, sizeof peer_blob, &peer_len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(peer_blob, peer_len, &peer), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ecdh(&key, peer.pub.p, peer.pub.len, secret, sizeof secret, &len),
                     FK_CRYPTO_OK);
    measure("X448 generation and ECDH", &worst);

    printf("arena: worst high water %u of %u bytes\n", (unsigned)worst, (unsigned)stats().size);
    assert_true(worst <= stats().size);
    assert_int_equal(stats().failures, failures);
}

/* The second core's region: what it allocates goes there, a free goes back
 * to the region that holds the block, and a whole RSA-4096 key generation
 * run "as the second core" (an upper bound of its prime search, which needs
 * only the candidate and one Miller-Rabin test) fits in it. Core 0's region
 * does not move meanwhile. fk_arena_worker_reset wipes and empties it. */
static void test_worker_region(void **state)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;
    fk_arena_stats_t w;
    (void)state;

    uint8_t warm[8];
    assert_int_equal(fk_rng_bytes(warm, sizeof warm), FK_CRYPTO_OK); /* DRBG seeded */
    const fk_arena_stats_t main_before = stats();
    fk_m33_set_core_id(1);
    uint8_t *p = fk_arena_calloc(1, 40);
    assert_non_null(p);
    fk_arena_worker_stats(&w);
    assert_int_equal(w.blocks, 1);
    assert_int_equal(stats().blocks, main_before.blocks);
    fk_m33_set_core_id(0);
    fk_arena_free(p); /* core 0 frees it: it goes back to the second region */
    fk_arena_worker_stats(&w);
    assert_int_equal(w.blocks, 0);

    fk_arena_reset_high_water();
    fk_m33_set_core_id(1);
    assert_int_equal(fk_pk_rsa_generate(4096, 65537, NULL, NULL, blob, sizeof blob, &len),
                     FK_CRYPTO_OK);
    fk_m33_set_core_id(0);
    fk_arena_worker_stats(&w);
    printf("arena: second core's region: RSA-4096 key generation high water %u of %u bytes\n",
           (unsigned)w.high_water, (unsigned)w.size);
    assert_int_equal(w.failures, 0);
    assert_int_equal(w.blocks, 0);
    assert_true(w.high_water > 0 && w.high_water <= w.size);
    assert_int_equal(stats().in_use, main_before.in_use);

    /* A block left behind (as an abandoned job leaves them): reset wipes it. */
    fk_m33_set_core_id(1);
    p = fk_arena_calloc(1, 64);
    fk_m33_set_core_id(0);
    assert_non_null(p);
    memset(p, 0xA5, 64);
    fk_arena_worker_reset();
    for (size_t i = 0; i < 64; i++) assert_int_equal(p[i], 0);
    fk_arena_worker_stats(&w);
    assert_int_equal(w.blocks, 0);
    assert_int_equal(w.in_use, 0);
}

/* An EC operation that runs out of arena part-way (the arena filled but for
 * a little more at each step) fails cleanly: FK_CRYPTO_EFAIL, nothing
 * leaked, and whatever group it leaves warm is whole: once memory is back,
 * a signature made with it verifies with a freshly built group. */
#define FILL_BLOCKS 640u
#define FILL_BYTES 48u
static void test_warm_failure(void **state)
{
    static void *fill[FILL_BLOCKS];
    static uint8_t blob[FK_PK_BLOB_MAX];
    uint8_t hash[32] = {9, 8, 7}, sig[FK_PK_ECDSA_DER_MAX];
    size_t len = 0, sig_len = 0, failed = 0;
    fk_pk_key_t key;
    fk_pk_public_t pub;
    (void)state;

    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, blob, sizeof blob, &len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    fk_pk_public_of(&key, &pub);
    fk_pk_ec_forget();
    const fk_arena_stats_t base = stats();
    for (size_t room = 0;; room++) {
        size_t n = 0;
        while (n < FILL_BLOCKS && (fill[n] = fk_arena_calloc(1, FILL_BYTES)) != NULL) n++;
        assert_true(n < FILL_BLOCKS);
        assert_true(n > room);
        for (size_t i = 0; i < room; i++) fk_arena_free(fill[--n]);
        int rc = fk_pk_ecdsa_sign(&key, hash, 32, FK_SIG_DER, sig, sizeof sig, &sig_len);
        while (n > 0) fk_arena_free(fill[--n]);
        if (rc == FK_CRYPTO_OK) {
            assert_int_equal(fk_pk_ec_warm_count(), 1);
            fk_pk_ec_forget();
            assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, sig, sig_len),
                             FK_CRYPTO_OK);
            break;
        }
        assert_int_equal(rc, FK_CRYPTO_EFAIL);
        failed++;
        /* With memory back: sign with what stayed warm, verify cold. */
        assert_int_equal(fk_pk_ecdsa_sign(&key, hash, 32, FK_SIG_DER, sig, sizeof sig, &sig_len),
                         FK_CRYPTO_OK);
        fk_pk_ec_forget();
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, sig, sig_len),
                         FK_CRYPTO_OK);
        fk_pk_ec_forget();
        assert_int_equal(stats().blocks, base.blocks);
        assert_int_equal(stats().in_use, base.in_use);
    }
    printf("arena: a P-256 signature failed cleanly at %u fill levels\n", (unsigned)failed);
    assert_true(failed > 10u);
    fk_pk_ec_forget();
    assert_int_equal(stats().blocks, base.blocks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_zero),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_high_water),
        cmocka_unit_test(test_worker_region),
        cmocka_unit_test(test_warm_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
