/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/crypto/ec_tweak.c: d' = (d + t) mod n on every
 * Weierstrass curve, checked against the test's own schoolbook arithmetic
 * on byte strings (no bignum library), at the edges of the reduction
 * (t = n, t = n - 1, a sum that wraps, a result of zero), and the new
 * public point against the scalar (fk_pk_ec_import) and against an ECDSA
 * signature that verifies under it. Q' = Q + t G is checked independently
 * with Python's cryptography in tests/integration/test_derive.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/ec_tweak.h"
#include "crypto/pk.h"
#include "fileio.h"
#include "hal.h"
#include "util.h"

static const fk_curve_t k_curves[] = {
    FK_CURVE_SECP192R1, FK_CURVE_SECP256R1, FK_CURVE_SECP384R1, FK_CURVE_SECP521R1,
    FK_CURVE_BP256R1,   FK_CURVE_BP384R1,   FK_CURVE_BP512R1,   FK_CURVE_SECP192K1,
    FK_CURVE_SECP256K1,
};

/* ---- Big-endian byte arithmetic of the test (len bytes, len + 1 for sums) -- */

static int cmp_be(const uint8_t *a, const uint8_t *b, size_t len)
{
    return memcmp(a, b, len);
}

/* a -= b (a >= b), len bytes. */
static void sub_be(uint8_t *a, const uint8_t *b, size_t len)
{
    int borrow = 0;
    for (size_t i = len; i-- > 0;) {
        int v = (int)a[i] - (int)b[i] - borrow;
        borrow = v < 0;
        a[i] = (uint8_t)(v + (borrow ? 256 : 0));
    }
}

/* out = (d + t) mod n; d < n, t of t_len <= len bytes; all at len bytes
 * (plus one carry byte kept in front while reducing). */
static void add_mod_be(const uint8_t *d, const uint8_t *t, size_t t_len, const uint8_t *n,
                       size_t len, uint8_t *out)
{
    uint8_t tt[FK_EC_MAX_LEN + 1] = {0}, nn[FK_EC_MAX_LEN + 1] = {0}, s[FK_EC_MAX_LEN + 1] = {0};
    memcpy(tt + 1 + len - t_len, t, t_len);
    memcpy(nn + 1, n, len);
    while (cmp_be(tt, nn, len + 1) >= 0) sub_be(tt, nn, len + 1); /* t mod n */
    int carry = 0;
    for (size_t i = len + 1; i-- > 0;) {
        int v = (i > 0 ? d[i - 1] : 0) + tt[i] + carry;
        s[i] = (uint8_t)v;
        carry = v >> 8;
    }
    if (cmp_be(s, nn, len + 1) >= 0) sub_be(s, nn, len + 1);
    memcpy(out, s + 1, len);
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0) return false;
    return true;
}

/* Tweak key (blob) by t and check the result: the expected scalar, the
 * public point of that scalar, a signature that verifies under it. */
static void check_tweak(const uint8_t *blob, size_t blen, const uint8_t *t, size_t t_len)
{
    static uint8_t out[512], ref[512];
    fk_pk_key_t key, nk, rk;
    size_t olen, rlen, slen;
    uint8_t want[FK_EC_MAX_LEN], digest[32], sig[FK_PK_ECDSA_DER_MAX];

    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    const fk_curve_info_t *ci = fk_curve_info(key.curve);
    add_mod_be(key.d.p, t, t_len, ci->n, ci->order_len, want);
    int rc = fk_pk_ec_tweak(&key, t, t_len, out, sizeof(out), &olen);
    if (all_zero(want, ci->order_len)) {
        assert_int_equal(rc, FK_CRYPTO_EINVAL);
        assert_int_equal(olen, 0);
        assert_true(all_zero(out, sizeof(out)));
        return;
    }
    assert_int_equal(rc, FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(out, olen, &nk), 0);
    assert_int_equal(nk.type, FK_PK_EC);
    assert_int_equal(nk.curve, key.curve);
    assert_memory_equal(nk.d.p, want, ci->order_len);
    assert_int_equal(fk_pk_ec_import(key.curve, want, ci->order_len, ref, sizeof(ref), &rlen), 0);
    assert_int_equal(fk_pk_parse(ref, rlen, &rk), 0);
    assert_int_equal(nk.pub.len, rk.pub.len);
    assert_memory_equal(nk.pub.p, rk.pub.p, rk.pub.len);
    fk_pk_public_t pub;
    fk_pk_public_of(&nk, &pub);
    fk_sha256("tweak", 5, digest);
    assert_int_equal(fk_pk_ecdsa_sign(&nk, digest, 32, FK_SIG_DER, sig, sizeof(sig), &slen), 0);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, digest, 32, FK_SIG_DER, sig, slen), 0);
}

/* A key with scalar d (big-endian, order_len bytes). */
static size_t key_of(fk_curve_t c, const uint8_t *d, uint8_t *blob, size_t cap)
{
    size_t len;
    assert_int_equal(fk_pk_ec_import(c, d, fk_curve_info(c)->order_len, blob, cap, &len), 0);
    return len;
}

static void test_tweak_every_curve(void **state)
{
    (void)state;
    static uint8_t blob[512];
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_curves); i++) {
        const fk_curve_t c = k_curves[i];
        const fk_curve_info_t *ci = fk_curve_info(c);
        const size_t ol = ci->order_len;
        uint8_t t[FK_EC_MAX_LEN], d[FK_EC_MAX_LEN];
        size_t blen;
        print_message("curve %d\n", (int)c);

        /* Random keys, random tweaks of every length up to the order's. */
        for (int k = 0; k < 4; k++) {
            assert_int_equal(fk_pk_ec_generate(c, blob, sizeof(blob), &blen), 0);
            for (size_t tl = 1; tl <= ol; tl += (tl < 4 ? 1 : ol / 3)) {
                assert_int_equal(fk_rng_bytes(t, tl), 0);
                check_tweak(blob, blen, t, tl);
            }
            memset(t, 0xFF, ol); /* the largest tweak: 2^(8 ol) - 1, above n */
            check_tweak(blob, blen, t, ol);
        }
        /* t = n and t = 2n - ... : reduced first, d unchanged. */
        assert_int_equal(fk_pk_ec_generate(c, blob, sizeof(blob), &blen), 0);
        check_tweak(blob, blen, ci->n, ol);
        /* d = n - 1: t = 1 gives zero (refused), t = 2 wraps to 1. */
        memcpy(d, ci->n, ol);
        d[ol - 1] -= 1;
        blen = key_of(c, d, blob, sizeof(blob));
        t[0] = 1;
        check_tweak(blob, blen, t, 1);
        t[0] = 2;
        check_tweak(blob, blen, t, 1);
        /* d = 1: t = n - 1 gives zero; t = n - 2 gives n - 1. */
        memset(d, 0, ol);
        d[ol - 1] = 1;
        blen = key_of(c, d, blob, sizeof(blob));
        memcpy(t, ci->n, ol);
        t[ol - 1] -= 1;
        check_tweak(blob, blen, t, ol);
        t[ol - 1] -= 1;
        check_tweak(blob, blen, t, ol);
    }
}

static void test_tweak_refusals(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX], out[FK_PK_BLOB_MAX];
    uint8_t t[FK_EC_MAX_LEN + 1] = {1};
    fk_pk_key_t key;
    size_t blen, olen = 99;

    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, blob, sizeof(blob), &blen), 0);
    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    /* Empty and too long tweaks; no output length; NULL tweak. */
    assert_int_equal(fk_pk_ec_tweak(&key, t, 0, out, sizeof(out), &olen), FK_CRYPTO_EINVAL);
    assert_int_equal(olen, 0);
    assert_int_equal(fk_pk_ec_tweak(&key, t, 33, out, sizeof(out), &olen), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_tweak(&key, NULL, 1, out, sizeof(out), &olen), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_tweak(&key, t, 1, out, sizeof(out), NULL), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_tweak(NULL, t, 1, out, sizeof(out), &olen), FK_CRYPTO_EINVAL);
    /* No room for the blob. */
    assert_int_equal(fk_pk_ec_tweak(&key, t, 1, out, 20, &olen), FK_CRYPTO_EINVAL);
    assert_int_equal(olen, 0);
    /* Montgomery and RSA keys have no such derivation. */
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_X25519, blob, sizeof(blob), &blen), 0);
    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    assert_int_equal(fk_pk_ec_tweak(&key, t, 1, out, sizeof(out), &olen), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, blob, sizeof(blob), &blen), 0);
    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    assert_int_equal(fk_pk_ec_tweak(&key, t, 1, out, sizeof(out), &olen), FK_CRYPTO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tweak_every_curve),
        cmocka_unit_test(test_tweak_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
