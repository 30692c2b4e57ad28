/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pk_backends.c - the crypto module's faster backends against mbedTLS
 * 2.28 (the module's reference backend, linked here directly): X25519 and
 * X448 (libdecaf) over many random keys and peers, with the peer encodings
 * RFC 7748 section 5 asks to accept (X25519's top bit set, u not below p),
 * plus the RFC 7748 section 5.2 vectors and iterations; secp256k1
 * (libsecp256k1): key generation and import, ECDSA both ways (ours verified
 * by mbedTLS, mbedTLS's by ours, high and low s), ECDH. Every comparison is
 * byte for byte: public keys, key blobs, shared secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_hex.h"

#include <mbedtls/bignum.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "fileio.h"
#include "hal.h"
#include "util.h"

#define RANDOM_ROUNDS 64

static void random_bytes(void *p, size_t n) { assert_int_equal(fk_rng_bytes(p, n), 0); }

static int mbed_rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    return fk_rng_bytes(out, len) == FK_CRYPTO_OK ? 0 : -1;
}

static mbedtls_ecp_group_id mbed_group(fk_curve_t c)
{
    switch (c) {
    case FK_CURVE_X25519: return MBEDTLS_ECP_DP_CURVE25519;
    case FK_CURVE_X448: return MBEDTLS_ECP_DP_CURVE448;
    case FK_CURVE_SECP256K1: return MBEDTLS_ECP_DP_SECP256K1;
    default: fail(); return MBEDTLS_ECP_DP_NONE;
    }
}

/* X25519/X448 by mbedTLS: out = k * u (RFC 7748 bytes; mbedTLS clamps the
 * scalar as we do, and masks X25519's top bit when reading u). */
static void mbed_mont(fk_curve_t c, const uint8_t *k, const uint8_t *u, uint8_t *out)
{
    const fk_curve_info_t *ci = fk_curve_info(c);
    const size_t n = ci->field_len;
    mbedtls_ecp_group grp;
    mbedtls_ecp_point p;
    mbedtls_mpi d, z;
    uint8_t kc[56];

    memcpy(kc, k, n);
    if (c == FK_CURVE_X25519) {
        kc[0] &= 0xF8;
        kc[31] = (uint8_t)((kc[31] & 0x7F) | 0x40);
    } else {
        kc[0] &= 0xFC;
        kc[55] |= 0x80;
    }
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&p);
    mbedtls_mpi_init(&d);
    mbedtls_mpi_init(&z);
    assert_int_equal(mbedtls_ecp_group_load(&grp, mbed_group(c)), 0);
    assert_int_equal(mbedtls_mpi_read_binary_le(&d, kc, n), 0);
    assert_int_equal(mbedtls_ecp_point_read_binary(&grp, &p, u, n), 0);
    /* mbedTLS refuses a low-order u (its ladder ends in the point at
     * infinity): that is the all-zero result of RFC 7748. */
    if (mbedtls_ecdh_compute_shared(&grp, &z, &p, &d, mbed_rng, NULL) == 0)
        assert_int_equal(mbedtls_mpi_write_binary_le(&z, out, n), 0);
    else
        memset(out, 0, n);
    mbedtls_mpi_free(&z);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_group_free(&grp);
}

/* Random scalars and peers: the public key of an imported scalar and the
 * shared secret with a random (possibly non-canonical) peer u equal
 * mbedTLS's; generated keys agree with each other. */
static void mont_cross(fk_curve_t c)
{
    const fk_curve_info_t *ci = fk_curve_info(c);
    const size_t n = ci->field_len;
    uint8_t k[56], u[56], base[56] = {0}, ours[56], theirs[56], blob[FK_PK_BLOB_MAX];
    size_t len, ol;
    fk_pk_key_t key, other;

    base[0] = ci->g[ci->g_len - 1u];
    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        random_bytes(k, n);
        assert_int_equal(fk_pk_ec_import(c, k, n, blob, sizeof(blob), &len), FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
        mbed_mont(c, k, base, theirs);
        assert_memory_equal(key.pub.p, theirs, n);

        random_bytes(u, n);
        if (i % 4 == 1 && c == FK_CURVE_X25519) u[31] |= 0x80; /* the top bit, masked */
        if (i % 4 == 2) {
            /* p + j, 2 <= j < 18: not canonical, reduced modulo p. */
            unsigned carry = 2u + (unsigned)i % 16u;
            for (size_t j = 0; j < n; j++) {
                carry += ci->p[n - 1u - j];
                u[j] = (uint8_t)carry;
                carry >>= 8;
            }
            if (i % 8 == 2 && c == FK_CURVE_X25519) u[31] |= 0x80;
        }
        if (i == 3) memset(u, 0, n); /* u = 0: low order, refused */
        if (i == 7) {
            memset(u, 0, n); /* u = 1: low order, refused */
            u[0] = 1;
        }
        memset(ours, 0xAA, sizeof(ours));
        int rc = fk_pk_ecdh(&key, u, n, ours, sizeof(ours), &ol);
        mbed_mont(c, k, u, theirs);
        bool zero = true;
        for (size_t j = 0; j < n; j++) zero = zero && theirs[j] == 0;
        if (zero) {
            assert_int_equal(rc, FK_CRYPTO_EINVAL);
            continue;
        }
        assert_int_equal(rc, FK_CRYPTO_OK);
        assert_int_equal(ol, n);
        assert_memory_equal(ours, theirs, n);
    }
    /* Two generated keys agree. */
    static uint8_t blob2[FK_PK_BLOB_MAX];
    size_t len2;
    assert_int_equal(fk_pk_ec_generate(c, blob, sizeof(blob), &len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ec_generate(c, blob2, sizeof(blob2), &len2), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob2, len2, &other), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ecdh(&key, other.pub.p, n, ours, sizeof(ours), &ol), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ecdh(&other, key.pub.p, n, theirs, sizeof(theirs), &ol), FK_CRYPTO_OK);
    assert_memory_equal(ours, theirs, n);
    mbed_mont(c, key.d.p, other.pub.p, theirs);
    assert_memory_equal(ours, theirs, n);
}

static void test_x25519_vs_mbedtls(void **state)
{
    (void)state;
    mont_cross(FK_CURVE_X25519);
}

static void test_x448_vs_mbedtls(void **state)
{
    (void)state;
    mont_cross(FK_CURVE_X448);
}

/* out = X(k, u) through the module: k imported as a key, u the peer. */
static void mont_op(fk_curve_t c, const uint8_t *k, const uint8_t *u, uint8_t *out)
{
    uint8_t blob[FK_PK_BLOB_MAX];
    size_t len, ol;
    fk_pk_key_t key;
    const size_t n = fk_curve_info(c)->field_len;
    assert_int_equal(fk_pk_ec_import(c, k, n, blob, sizeof(blob), &len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ecdh(&key, u, n, out, n, &ol), FK_CRYPTO_OK);
    assert_int_equal(ol, n);
}

/* RFC 7748 section 5.2: the two vectors of each function (the second X25519
 * u has its top bit set), and the iterated function after 1 and 1000
 * iterations (k, u = X(k, u), k). */
static void test_rfc7748_section5(void **state)
{
    (void)state;
    static const struct {
        fk_curve_t c;
        const char *k, *u, *out;
    } v[] = {
        {FK_CURVE_X25519, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
        {FK_CURVE_X25519, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
        {FK_CURVE_X448,
         "3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3",
         "06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086",
         "ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f"},
        {FK_CURVE_X448,
         "203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f",
         "0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db",
         "884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d"},
    };
    uint8_t k[56], u[56], want[56], out[56];
    for (size_t i = 0; i < FK_ARRAY_SIZE(v); i++) {
        size_t n = fk_test_unhex(v[i].k, k, sizeof(k));
        fk_test_unhex(v[i].u, u, sizeof(u));
        fk_test_unhex(v[i].out, want, sizeof(want));
        mont_op(v[i].c, k, u, out);
        assert_memory_equal(out, want, n);
    }

    static const struct {
        fk_curve_t c;
        const char *after1, *after1000;
    } it[] = {
        {FK_CURVE_X25519, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
         "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"},
        {FK_CURVE_X448,
         "3f482c8a9f19b01e6c46ee9711d9dc14fd4bf67af30765c2ae2b846a4d23a8cd0db897086239492caf350b51f833868b9bc2b3bca9cf4113",
         "aa3b4749d55b9daf1e5b00288826c467274ce3ebbdd5c17b975e09d4af6c67cf10d087202db88286e2b79fceea3ec353ef54faa26e219f38"},
    };
    for (size_t i = 0; i < FK_ARRAY_SIZE(it); i++) {
        const size_t n = fk_curve_info(it[i].c)->field_len;
        memset(k, 0, sizeof(k));
        k[0] = fk_curve_info(it[i].c)->g[fk_curve_info(it[i].c)->g_len - 1u];
        memcpy(u, k, n);
        for (int j = 1; j <= 1000; j++) {
            mont_op(it[i].c, k, u, out);
            memcpy(u, k, n);
            memcpy(k, out, n);
            if (j == 1 || j == 1000) {
                fk_test_unhex(j == 1 ? it[i].after1 : it[i].after1000, want, sizeof(want));
                assert_memory_equal(k, want, n);
            }
        }
    }
}

/* mbedTLS's group of secp256k1 and the point d * G of a 32-byte scalar. */
static void mbed_k1_public(const uint8_t *d, uint8_t q[65])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point p;
    mbedtls_mpi x;
    size_t ol;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&p);
    mbedtls_mpi_init(&x);
    assert_int_equal(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256K1), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&x, d, 32), 0);
    assert_int_equal(mbedtls_ecp_mul(&grp, &p, &x, &grp.G, mbed_rng, NULL), 0);
    assert_int_equal(mbedtls_ecp_point_write_binary(&grp, &p, MBEDTLS_ECP_PF_UNCOMPRESSED, &ol, q,
                                                    65),
                     0);
    assert_int_equal(ol, 65);
    mbedtls_mpi_free(&x);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_group_free(&grp);
}

/* mbedTLS's ECDSA verification of r || s (64 bytes) over hash. */
static bool mbed_k1_verify(const uint8_t q[65], const uint8_t *hash, size_t hash_len,
                           const uint8_t *rs)
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point p;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&p);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    assert_int_equal(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256K1), 0);
    assert_int_equal(mbedtls_ecp_point_read_binary(&grp, &p, q, 65), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&r, rs, 32), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&s, rs + 32, 32), 0);
    bool ok = mbedtls_ecdsa_verify(&grp, hash, hash_len, &p, &r, &s) == 0;
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_group_free(&grp);
    return ok;
}

/* mbedTLS's ECDSA signature r || s with d over hash; with high_s, s is
 * replaced by n - s when it is in the lower half (and kept when it is not),
 * so that the result has s > n/2. */
static void mbed_k1_sign(const uint8_t *d, const uint8_t *hash, size_t hash_len, bool high_s,
                         uint8_t rs[64])
{
    mbedtls_ecp_group grp;
    mbedtls_mpi x, r, s, half;
    mbedtls_ecp_group_init(&grp);
    mbedtls_mpi_init(&x);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&half);
    assert_int_equal(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256K1), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&x, d, 32), 0);
    assert_int_equal(mbedtls_ecdsa_sign(&grp, &r, &s, &x, hash, hash_len, mbed_rng, NULL), 0);
    assert_int_equal(mbedtls_mpi_copy(&half, &grp.N), 0);
    assert_int_equal(mbedtls_mpi_shift_r(&half, 1), 0);
    if (high_s && mbedtls_mpi_cmp_mpi(&s, &half) <= 0)
        assert_int_equal(mbedtls_mpi_sub_mpi(&s, &grp.N, &s), 0);
    assert_int_equal(mbedtls_mpi_write_binary(&r, rs, 32), 0);
    assert_int_equal(mbedtls_mpi_write_binary(&s, rs + 32, 32), 0);
    mbedtls_mpi_free(&x);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&half);
    mbedtls_ecp_group_free(&grp);
}

/* The shared X coordinate by mbedTLS. */
static void mbed_k1_ecdh(const uint8_t *d, const uint8_t q[65], uint8_t x[32])
{
    mbedtls_ecp_group grp;
    mbedtls_ecp_point p;
    mbedtls_mpi k, z;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&p);
    mbedtls_mpi_init(&k);
    mbedtls_mpi_init(&z);
    assert_int_equal(mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256K1), 0);
    assert_int_equal(mbedtls_ecp_point_read_binary(&grp, &p, q, 65), 0);
    assert_int_equal(mbedtls_mpi_read_binary(&k, d, 32), 0);
    assert_int_equal(mbedtls_ecdh_compute_shared(&grp, &z, &p, &k, mbed_rng, NULL), 0);
    assert_int_equal(mbedtls_mpi_write_binary(&z, x, 32), 0);
    mbedtls_mpi_free(&k);
    mbedtls_mpi_free(&z);
    mbedtls_ecp_point_free(&p);
    mbedtls_ecp_group_free(&grp);
}

static void test_secp256k1_vs_mbedtls(void **state)
{
    (void)state;
    static const size_t k_hash_lens[] = {32, 20, 48, 64, 28, 1};
    static uint8_t blob[FK_PK_BLOB_MAX], peer_blob[FK_PK_BLOB_MAX], imp[FK_PK_BLOB_MAX];
    uint8_t hash[64], q[65], sig[FK_PK_ECDSA_DER_MAX], rs[64], ours[32], theirs[32], d[32];
    size_t len, plen, ilen, sl, ol;
    fk_pk_key_t key, peer;
    fk_pk_public_t pub;
    bool saw_high = false;

    for (int i = 0; i < RANDOM_ROUNDS; i++) {
        const size_t hl = k_hash_lens[(size_t)i % FK_ARRAY_SIZE(k_hash_lens)];
        random_bytes(hash, sizeof(hash));
        if (i % 3 == 0) memset(hash, 0xFF, hl); /* a digest not below n */

        /* Generation: the public point is d * G by mbedTLS. */
        assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256K1, blob, sizeof(blob), &len),
                         FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
        assert_int_equal(key.d.len, 32);
        assert_int_equal(key.pub.len, 65);
        mbed_k1_public(key.d.p, q);
        assert_memory_equal(key.pub.p, q, 65);
        fk_pk_public_of(&key, &pub);

        /* Import of the same scalar (also without its leading zero bytes)
         * gives the same blob. */
        size_t skip = 0;
        while (skip < 31 && key.d.p[skip] == 0) skip++;
        assert_int_equal(fk_pk_ec_import(FK_CURVE_SECP256K1, key.d.p + skip, 32 - skip, imp,
                                         sizeof(imp), &ilen),
                         FK_CRYPTO_OK);
        assert_int_equal(ilen, len);
        assert_memory_equal(imp, blob, len);

        /* Our signatures verify with mbedTLS, in both formats. */
        assert_int_equal(fk_pk_ecdsa_sign(&key, hash, hl, FK_SIG_PLAIN, sig, sizeof(sig), &sl),
                         FK_CRYPTO_OK);
        assert_int_equal(sl, 64);
        assert_true(mbed_k1_verify(key.pub.p, hash, hl, sig));
        assert_int_equal(fk_pk_ecdsa_sign(&key, hash, hl, FK_SIG_DER, sig, sizeof(sig), &sl),
                         FK_CRYPTO_OK);
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_DER, sig, sl), FK_CRYPTO_OK);
        hash[0] ^= 0x01;
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_DER, sig, sl), FK_CRYPTO_EAUTH);
        hash[0] ^= 0x01;

        /* mbedTLS's signatures, with s in either half, verify with ours;
         * a changed r does not. */
        mbed_k1_sign(key.d.p, hash, hl, i % 2 == 0, rs);
        saw_high = saw_high || i % 2 == 0;
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_PLAIN, rs, 64), FK_CRYPTO_OK);
        rs[5] ^= 0x40;
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_PLAIN, rs, 64),
                         FK_CRYPTO_EAUTH);

        /* ECDH: the X coordinate mbedTLS computes. */
        assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256K1, peer_blob, sizeof(peer_blob),
                                           &plen),
                         FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(peer_blob, plen, &peer), FK_CRYPTO_OK);
        assert_int_equal(fk_pk_ecdh(&key, peer.pub.p, 65, ours, sizeof(ours), &ol), FK_CRYPTO_OK);
        assert_int_equal(ol, 32);
        mbed_k1_ecdh(key.d.p, peer.pub.p, theirs);
        assert_memory_equal(ours, theirs, 32);
    }
    assert_true(saw_high);

    /* Scalars out of range, and points off the curve, are refused. */
    memset(d, 0, sizeof(d));
    assert_int_equal(fk_pk_ec_import(FK_CURVE_SECP256K1, d, 32, imp, sizeof(imp), &ilen),
                     FK_CRYPTO_EINVAL);
    memcpy(d, fk_curve_info(FK_CURVE_SECP256K1)->n, 32);
    assert_int_equal(fk_pk_ec_import(FK_CURVE_SECP256K1, d, 32, imp, sizeof(imp), &ilen),
                     FK_CRYPTO_EINVAL);
    memcpy(q, key.pub.p, 65);
    q[64] ^= 1;
    assert_int_equal(fk_pk_ecdh(&key, q, 65, ours, sizeof(ours), &ol), FK_CRYPTO_EINVAL);
    pub.point.p = q;
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_PLAIN, rs, 64), FK_CRYPTO_EINVAL);
    q[64] ^= 1;
    q[0] = 0x06; /* the hybrid encoding is not ours */
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
}

static int setup(void **state)
{
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_vs_mbedtls),
        cmocka_unit_test(test_x448_vs_mbedtls),
        cmocka_unit_test(test_rfc7748_section5),
        cmocka_unit_test(test_secp256k1_vs_mbedtls),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
