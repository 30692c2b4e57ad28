/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tool_hsm_formats.c - the host-side formats of `fusekey hsm` against
 * files other programs made: DKEK share files written by sc-hsm-tool
 * (password and 2-of-3 password shares, decrypted independently when the
 * vectors were made) and by OpenSSL's EVP_BytesToKey; Shamir splitting and
 * combining; PKCS#12 files written by OpenSSL 3 (PBES2/SHA-256, legacy
 * 3DES/SHA-1, Ed25519, X25519 with an empty password); SubjectPublicKeyInfo
 * in and out (RFC 8410's example); the wrap-file layout of sc-hsm-tool; key
 * templates against the bytes OpenSC sends; PKCS#15 key descriptions as
 * OpenSC and pico write them.
 *
 * The data files are in tests/unit/tool/data (argv[1]); how each was made
 * is in docs/fusekey-hsm.md, "Tests".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hsm_host.h"
#include "hsm_tool.h"

static const char *g_data_dir = ".";

/* A whole data file (malloc'd). */
static uint8_t *data_file(const char *name, size_t *len)
{
    char path[512];
    (void)snprintf(path, sizeof path, "%s/%s", g_data_dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(70000);
    assert_non_null(buf);
    *len = fread(buf, 1, 70000, f);
    fclose(f);
    assert_true(*len > 0 && *len < 70000);
    return buf;
}

static void unhex(const char *hex, uint8_t *out, size_t want)
{
    size_t n = 0;
    assert_int_equal(hsm_unhex(hex, out, want, &n), 0);
    assert_int_equal(n, want);
}

/* ---- DKEK share files ------------------------------------------------------------ */

/* Made by `sc-hsm-tool --create-dkek-share f --password fusekey-test-pw`
 * against the virtual card; the share was recovered with Python (hashlib
 * MD5 x 10^7, cryptography's AES) when the vector was made. */
static void test_share_file_from_sc_hsm_tool(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *file = data_file("sc-hsm-tool-share.pbe", &len);
    uint8_t share[FK_DKEK_SHARE_LEN], want[FK_DKEK_SHARE_LEN];
    unhex("8a67827fcf15b4f55d47d2daba425bfd12fa86a458bd881265d5440ae234b083", want, sizeof want);
    static const char pw[] = "fusekey-test-pw";
    assert_int_equal(fk_dkek_file_open((const uint8_t *)pw, strlen(pw), file, len, FK_DKEK_FILE_ITERATIONS, NULL,
                                       NULL, share),
                     FK_CRYPTO_OK);
    assert_memory_equal(share, want, sizeof want);
    /* And back: the same salt, password and share give sc-hsm-tool's bytes. */
    uint8_t again[FK_DKEK_FILE_LEN];
    assert_int_equal(fk_dkek_file_seal((const uint8_t *)pw, strlen(pw), file + 8, share, FK_DKEK_FILE_ITERATIONS,
                                       NULL, NULL, again),
                     FK_CRYPTO_OK);
    assert_memory_equal(again, file, FK_DKEK_FILE_LEN);
    free(file);
}

/* count 1 is OpenSSL's `enc -aes-256-cbc -md md5` derivation: its output for
 * the same password, salt and plaintext is the share file's ciphertext. */
static const uint8_t k_salt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const char k_pw[] = "correct horse";
static const uint8_t k_openssl_ct[48] = {
    0x20, 0x95, 0xa8, 0x3a, 0xdd, 0x31, 0xed, 0xc6, 0x52, 0x87, 0xf3, 0xcb, 0xeb, 0xda, 0x2a, 0xe2,
    0x01, 0x51, 0x2c, 0xc8, 0x12, 0x23, 0x6e, 0x0a, 0xd5, 0xaa, 0xe9, 0x0a, 0x02, 0xaa, 0x7e, 0x69,
    0xb3, 0xc6, 0x68, 0xee, 0x33, 0xd6, 0x8d, 0x34, 0xb2, 0xca, 0xf6, 0x85, 0x76, 0xcc, 0x7b, 0xed};
/* count 1000, computed with Python's hashlib and cryptography. */
static const uint8_t k_file_1000[64] = {
    0x53, 0x61, 0x6C, 0x74, 0x65, 0x64, 0x5F, 0x5F, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x07, 0x0E, 0x93, 0x81, 0x17, 0xE6, 0x81, 0x82, 0x65, 0x7C, 0xB5, 0xA7, 0xFE, 0x2B, 0xAC, 0x2B,
    0x9E, 0xDC, 0x6A, 0xFE, 0x36, 0x86, 0x7D, 0x7B, 0x7D, 0xC5, 0x55, 0xAB, 0x0E, 0x7E, 0xF9, 0xCC,
    0xC5, 0xB9, 0xE4, 0xAC, 0xF9, 0xE2, 0x51, 0x95, 0xA6, 0x11, 0x14, 0xFC, 0xA7, 0x09, 0x59, 0x97};

typedef struct progress_seen {
    unsigned calls;
    uint64_t last_done, total;
} progress_seen_t;

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
    progress_seen_t *p = arg;
    assert_true(done >= p->last_done && done <= total);
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static void test_share_file_small_counts(void **state)
{
    (void)state;
    uint8_t share[32], file[64], back[32];
    for (unsigned i = 0; i < sizeof share; i++) share[i] = (uint8_t)i;
    assert_int_equal(fk_dkek_file_seal((const uint8_t *)k_pw, strlen(k_pw), k_salt, share, 1, NULL, NULL, file),
                     FK_CRYPTO_OK);
    assert_memory_equal(file, "Salted__", 8);
    assert_memory_equal(file + 8, k_salt, 8);
    assert_memory_equal(file + 16, k_openssl_ct, sizeof k_openssl_ct);

    progress_seen_t seen = {0};
    assert_int_equal(fk_dkek_file_seal((const uint8_t *)k_pw, strlen(k_pw), k_salt, share, 1000, on_progress, &seen,
                                       file),
                     FK_CRYPTO_OK);
    assert_memory_equal(file, k_file_1000, sizeof k_file_1000);
    assert_true(seen.calls >= 1 && seen.last_done == seen.total && seen.total == 3000u);
    assert_int_equal(fk_dkek_file_open((const uint8_t *)k_pw, strlen(k_pw), file, sizeof file, 1000, NULL, NULL, back),
                     FK_CRYPTO_OK);
    assert_memory_equal(back, share, sizeof share);

    /* A wrong password, a flipped ciphertext bit: the padding tells. */
    assert_int_equal(fk_dkek_file_open((const uint8_t *)"correct horsf", 13, file, sizeof file, 1000, NULL, NULL, back),
                     FK_CRYPTO_EAUTH);
    file[63] ^= 0x01;
    assert_int_equal(fk_dkek_file_open((const uint8_t *)k_pw, strlen(k_pw), file, sizeof file, 1000, NULL, NULL, back),
                     FK_CRYPTO_EAUTH);
    file[63] ^= 0x01;
    /* Not a share file at all. */
    assert_int_equal(fk_dkek_file_open((const uint8_t *)k_pw, strlen(k_pw), file, 63, 1000, NULL, NULL, back),
                     FK_CRYPTO_EINVAL);
    file[0] = 's';
    assert_int_equal(fk_dkek_file_open((const uint8_t *)k_pw, strlen(k_pw), file, sizeof file, 1000, NULL, NULL, back),
                     FK_CRYPTO_EINVAL);
}

/* ---- Shamir ----------------------------------------------------------------------- */

static uint64_t g_rng = 0x9E3779B97F4A7C15u;

static int test_random(void *arg, void *buf, size_t len)
{
    (void)arg;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        g_rng ^= g_rng << 13;
        g_rng ^= g_rng >> 7;
        g_rng ^= g_rng << 17;
        b[i] = (uint8_t)g_rng;
    }
    return 0;
}

static int failing_random(void *arg, void *buf, size_t len)
{
    (void)arg;
    (void)buf;
    (void)len;
    return -1;
}

static void test_primality(void **state)
{
    (void)state;
    static const uint64_t primes[] = {2, 3, 5, 37, 41, 65537, 2147483647u, UINT64_C(2305843009213693951),
                                      UINT64_C(18446744073709551557), UINT64_C(0xf911dd28d0787d27)};
    /* Carmichael numbers and strong pseudoprimes to small bases. */
    static const uint64_t composites[] = {0, 1, 4, 561, 1105, 1729, 2047, 3215031751u,
                                          UINT64_C(3825123056546413051), UINT64_C(18446744073709551615),
                                          UINT64_C(4294967297), UINT64_C(0xf911dd28d0787d27) * 1u + 2u};
    for (size_t i = 0; i < sizeof primes / sizeof primes[0]; i++) assert_true(fk_shamir_is_prime(primes[i]));
    for (size_t i = 0; i < sizeof composites / sizeof composites[0]; i++)
        assert_false(fk_shamir_is_prime(composites[i]));
}

/* The 2-of-3 shares sc-hsm-tool printed when it made
 * sc-hsm-tool-share-2of3.pbe; the password (rebuilt in Python) opens it. */
static void test_shamir_sc_hsm_tool_shares(void **state)
{
    (void)state;
    const uint64_t prime = UINT64_C(0xf911dd28d0787d27);
    const uint64_t ys[3] = {UINT64_C(0xa53597b07864ccc7), UINT64_C(0xf4bf66b58d5fb86e), UINT64_C(0x4b375891d1e226ee)};
    const uint64_t want = UINT64_C(0x55abc8ab6369e120);
    for (unsigned a = 0; a < 3u; a++) {
        for (unsigned b = 0; b < 3u; b++) {
            if (a == b) continue;
            const uint64_t x[2] = {a + 1u, b + 1u}, y[2] = {ys[a], ys[b]};
            uint64_t s = 0;
            assert_int_equal(fk_shamir_combine(prime, x, y, 2, &s), FK_CRYPTO_OK);
            assert_true(s == want);
        }
    }
    const uint64_t x3[3] = {1, 2, 3};
    uint64_t s = 0;
    assert_int_equal(fk_shamir_combine(prime, x3, ys, 3, &s), FK_CRYPTO_OK);
    assert_true(s == want);
    /* One share alone is not the secret. */
    assert_int_equal(fk_shamir_combine(prime, x3, ys, 1, &s), FK_CRYPTO_OK);
    assert_true(s != want);
}

static void test_shamir_split_combine(void **state)
{
    (void)state;
    uint64_t prime = 0, y[7];
    assert_int_equal(fk_shamir_prime(test_random, NULL, &prime), FK_CRYPTO_OK);
    assert_true(prime >> 63 == 1u && fk_shamir_is_prime(prime));
    assert_int_equal(fk_shamir_prime(failing_random, NULL, &prime), FK_CRYPTO_ERNG);
    assert_int_equal(fk_shamir_prime(test_random, NULL, &prime), FK_CRYPTO_OK);
    for (unsigned round = 0; round < 20u; round++) {
        uint64_t secret = 0;
        assert_int_equal(test_random(NULL, &secret, sizeof secret), 0);
        secret >>= 1; /* 63 bits, below every prime with its top bit set */
        const unsigned t = 2u + round % 4u, n = t + round % 3u + (t == 2u ? 1u : 0u);
        assert_int_equal(fk_shamir_split(secret, prime, t, n, test_random, NULL, y), FK_CRYPTO_OK);
        /* Every window of t shares rebuilds it; t - 1 shares do not. */
        for (unsigned first = 0; first + t <= n; first++) {
            uint64_t xs[7], ys[7], s = 0;
            for (unsigned k = 0; k < t; k++) {
                xs[k] = first + k + 1u;
                ys[k] = y[first + k];
            }
            assert_int_equal(fk_shamir_combine(prime, xs, ys, t, &s), FK_CRYPTO_OK);
            assert_true(s == secret);
            assert_int_equal(fk_shamir_combine(prime, xs, ys, t - 1u, &s), FK_CRYPTO_OK);
            assert_true(s != secret);
        }
    }
    /* Refusals. */
    assert_int_equal(fk_shamir_split(1, prime, 3, 2, test_random, NULL, y), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_split(1, prime, 1, 3, test_random, NULL, y), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_split(prime, prime, 2, 3, test_random, NULL, y), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_split(1, prime - 1u, 2, 3, test_random, NULL, y), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_split(1, prime, 2, 3, failing_random, NULL, y), FK_CRYPTO_ERNG);
    const uint64_t dx[2] = {2, 2}, dy[2] = {5, 6}, zx[2] = {0, 1}, big[2] = {prime, 1};
    uint64_t s = 0;
    assert_int_equal(fk_shamir_combine(prime, dx, dy, 2, &s), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_combine(prime, zx, dy, 2, &s), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_combine(prime, dy, big, 2, &s), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_shamir_combine(prime - 2u, dy, dx, 2, &s), FK_CRYPTO_EINVAL);
}

/* ---- PKCS#12 ------------------------------------------------------------------------ */

static void test_p12_ec_pbes2(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *der = data_file("ec.p12", &len);
    fk_p12_t *p = malloc(sizeof *p);
    assert_non_null(p);
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"p12-pass", 8, p), FK_CRYPTO_OK);
    assert_int_equal(p->kind, FK_HOST_KEY_EC);
    assert_int_equal(p->curve, FK_CURVE_SECP256R1);
    uint8_t d[32], q[65], h[32];
    unhex("49a26ea81c8fd07101e010bcd2d8dfcb8f33d10c52b8a91b56b907c3a0589b32", d, sizeof d);
    unhex("046c4aa822d9356ed0020aa73c2bf6495c10eb4d0d1c580dc4d7b9a21f8d986eabc1e579f1136cf8fe57d0f830da9a871ff037b3f7669e838aeafbe29ea32e8b77",
          q, sizeof q);
    assert_int_equal(p->d_len, 32);
    assert_memory_equal(p->d, d, 32);
    assert_true(p->have_pub);
    assert_int_equal(p->pub.point_len, 65);
    assert_memory_equal(p->pub.point, q, 65);
    assert_int_equal(p->cert_len, 386);
    fk_sha256(p->cert, p->cert_len, h);
    uint8_t want[32];
    unhex("e67387dea47cc8189b5238be98962748864a02e9571b18ff7e6ce60a16a222ef", want, sizeof want);
    assert_memory_equal(h, want, 32);
    /* Wrong password: the MAC says so. */
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"p12-pasS", 8, p), FK_CRYPTO_EAUTH);
    /* A flipped byte anywhere in the authenticated part: the MAC again. */
    der[len / 2] ^= 0x40;
    assert_int_not_equal(fk_p12_read(der, len, (const uint8_t *)"p12-pass", 8, p), FK_CRYPTO_OK);
    /* Truncations never crash and never succeed. */
    der[len / 2] ^= 0x40;
    for (size_t cut = 0; cut < len; cut += 7) assert_int_not_equal(fk_p12_read(der, cut, (const uint8_t *)"p12-pass", 8, p), FK_CRYPTO_OK);
    free(p);
    free(der);
}

static void test_p12_rsa_3des(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *der = data_file("rsa-3des.p12", &len);
    fk_p12_t *p = malloc(sizeof *p);
    assert_non_null(p);
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"p12-pass", 8, p), FK_CRYPTO_OK);
    assert_int_equal(p->kind, FK_HOST_KEY_RSA);
    uint8_t n[128], dd[128], pp[64], qq[64];
    unhex("a56640ccd31d921f98a9c51a3acdbf8ab5b8959009356784bf4aa86cef158a14744063ed9320cd88efd54b20ee4f36345846b54d84baa6e1b8f5577cfba59ce967cd607b02097bd51dde8c5d855991e3896a77eb5c92317e88b5f01be40d3daa41e33766b60fb4dbd6bc451d2f21e79241f2a165b1521f2c36f2425d80937741",
          n, sizeof n);
    unhex("3b73bed521099f0d966d67b8deec37ee5f1583452bda336486f20a0a6602030909246006f47cb50484d8d1517bf7a30f3bafe6d97f5d2c41349f939c0c44625afb93aa5c5410d8931f261b97a2d78995d3d913352e84ae47808882fedd0f1e714ba2b3902fddde05f7f5cf1c72db9e850eca76b9a8f955e3ad695b9c5aaf9895",
          dd, sizeof dd);
    unhex("ce119405ae07a72cf71b8185b531c9953c946f0bffc24e8a5b3a82f8d99f8e74330bf1f7730bee64f2c506dacdc271752ce6c1da7058c473fb1804ca59c839ff",
          pp, sizeof pp);
    unhex("cd79f72aad2375388efcbd4c0b69a4edd0dfd350dcf89bbd1abc682244c0d309380458b14eecb753fef39cdde9b3b07c332fbd8cc1bab78c32472f3e787bcebf",
          qq, sizeof qq);
    assert_int_equal(p->n_len, 128);
    assert_memory_equal(p->n, n, 128);
    assert_int_equal(p->d_len, 128);
    assert_memory_equal(p->d, dd, 128);
    assert_int_equal(p->p_len, 64);
    assert_memory_equal(p->p, pp, 64);
    assert_int_equal(p->q_len, 64);
    assert_memory_equal(p->q, qq, 64);
    assert_int_equal(p->e_len, 3);
    assert_memory_equal(p->e, "\x01\x00\x01", 3);
    assert_int_equal(p->cert_len, 524);
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"wrong", 5, p), FK_CRYPTO_EAUTH);
    free(p);
    free(der);
}

static void test_p12_ed25519_and_x25519(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *der = data_file("ed25519.p12", &len);
    fk_p12_t *p = malloc(sizeof *p);
    assert_non_null(p);
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"p12-pass", 8, p), FK_CRYPTO_OK);
    assert_int_equal(p->kind, FK_HOST_KEY_ED);
    assert_int_equal(p->curve, FK_CURVE_X25519);
    uint8_t seed[32], pub[32];
    unhex("0775ec27494fd892cddcf290efd558234b706a8722890b46e47e1cc841db7c10", seed, 32);
    unhex("b6743f4e8669d6379d41b01b1d100572c8e96383080d8929f4146192b9adb091", pub, 32);
    assert_int_equal(p->d_len, 32);
    assert_memory_equal(p->d, seed, 32);
    assert_int_equal(p->cert_len, 332);
    assert_true(p->have_pub); /* from the certificate */
    assert_int_equal(p->pub.kind, FK_HOST_KEY_ED);
    assert_memory_equal(p->pub.point, pub, 32);
    free(der);

    der = data_file("x25519.p12", &len);
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"", 0, p), FK_CRYPTO_OK);
    assert_int_equal(p->kind, FK_HOST_KEY_MONT);
    assert_int_equal(p->curve, FK_CURVE_X25519);
    uint8_t x[32];
    unhex("30b357475383691ebb06b996089e99f3f02ab4c5ea9d9e88dea98f2e09b14348", x, 32);
    assert_memory_equal(p->d, x, 32);
    assert_int_equal(p->cert_len, 0);
    assert_int_equal(fk_p12_read(der, len, (const uint8_t *)"x", 1, p), FK_CRYPTO_EAUTH);
    free(p);
    free(der);
}

/* ---- Public-key files ------------------------------------------------------------------ */

static void test_spki(void **state)
{
    (void)state;
    /* RFC 8410, section 10.1. */
    static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
                              "-----END PUBLIC KEY-----\n";
    uint8_t der[44], out[1024];
    unhex("302a300506032b657003210019bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1", der, sizeof der);
    fk_host_pub_t pub;
    size_t len = 0;
    assert_int_equal(fk_host_pub_from_spki((const uint8_t *)pem, strlen(pem), &pub), FK_CRYPTO_OK);
    assert_int_equal(pub.kind, FK_HOST_KEY_ED);
    assert_int_equal(pub.curve, FK_CURVE_X25519);
    assert_int_equal(fk_host_spki_encode(&pub, out, sizeof out, &len), FK_CRYPTO_OK);
    assert_int_equal(len, sizeof der);
    assert_memory_equal(out, der, sizeof der);
    /* The certificates of the PKCS#12 vectors round-trip through SPKI. */
    static const char *const files[] = {"ec.p12", "rsa-3des.p12"};
    for (size_t i = 0; i < 2u; i++) {
        size_t l = 0;
        uint8_t *p12 = data_file(files[i], &l);
        fk_p12_t *p = malloc(sizeof *p);
        assert_non_null(p);
        assert_int_equal(fk_p12_read(p12, l, (const uint8_t *)"p12-pass", 8, p), FK_CRYPTO_OK);
        fk_host_pub_t a, b;
        assert_int_equal(fk_host_pub_from_x509(p->cert, p->cert_len, &a), FK_CRYPTO_OK);
        assert_int_equal(fk_host_spki_encode(&a, out, sizeof out, &len), FK_CRYPTO_OK);
        assert_int_equal(fk_host_pub_from_spki(out, len, &b), FK_CRYPTO_OK);
        assert_memory_equal(&a, &b, sizeof a);
        /* Truncated SPKI: an error, never a crash. */
        for (size_t cut = 0; cut < len; cut++) assert_int_not_equal(fk_host_pub_from_spki(out, cut, &b), FK_CRYPTO_OK);
        free(p);
        free(p12);
    }
}

/* ---- Wrap files ----------------------------------------------------------------------------- */

static void test_wrap_file(void **state)
{
    (void)state;
    uint8_t blob[300], prkd[] = {0xA0, 0x03, 0x30, 0x01, 0x00}, req[] = {0x67, 0x02, 0x42, 0x00};
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 7u);
    uint8_t *file = NULL;
    size_t len = 0;
    char err[160];
    hsm_wrap_file_t w;
    assert_int_equal(hsm_wrap_file_build(blob, sizeof blob, prkd, sizeof prkd, req, sizeof req, &file, &len), 0);
    /* 30 82 01 39 { 04 82 01 2C <blob>, prkd, req } */
    assert_int_equal(len, 4u + 4u + sizeof blob + sizeof prkd + sizeof req);
    assert_memory_equal(file, "\x30\x82\x01\x39\x04\x82\x01\x2C", 8);
    assert_int_equal(hsm_wrap_file_parse(file, len, &w, err, sizeof err), 0);
    assert_int_equal(w.blob_len, sizeof blob);
    assert_memory_equal(w.blob, blob, sizeof blob);
    assert_int_equal(w.prkd_len, sizeof prkd);
    assert_memory_equal(w.prkd, prkd, sizeof prkd);
    assert_int_equal(w.cert_len, sizeof req);
    assert_memory_equal(w.cert, req, sizeof req);
    free(file);

    /* Blob alone; blob and a lone request (a certificate, no description). */
    assert_int_equal(hsm_wrap_file_build(blob, 20, NULL, 0, NULL, 0, &file, &len), 0);
    assert_int_equal(hsm_wrap_file_parse(file, len, &w, err, sizeof err), 0);
    assert_true(w.prkd_len == 0u && w.cert_len == 0u && w.blob_len == 20u);
    /* Trailing garbage, truncation: errors with a reason. */
    uint8_t *bigger = malloc(len + 1u);
    assert_non_null(bigger);
    memcpy(bigger, file, len);
    bigger[len] = 0;
    assert_int_equal(hsm_wrap_file_parse(bigger, len + 1u, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "after"));
    for (size_t cut = 0; cut < len; cut++) assert_int_equal(hsm_wrap_file_parse(file, cut, &w, err, sizeof err), -1);
    free(bigger);
    free(file);
    assert_int_equal(hsm_wrap_file_build(blob, 20, NULL, 0, req, sizeof req, &file, &len), 0);
    assert_int_equal(hsm_wrap_file_parse(file, len, &w, err, sizeof err), 0);
    assert_true(w.prkd_len == 0u && w.cert_len == sizeof req);
    free(file);

    /* Not starting with the blob; three elements after it. */
    static const uint8_t no_blob[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    assert_int_equal(hsm_wrap_file_parse(no_blob, sizeof no_blob, &w, err, sizeof err), -1);
    static const uint8_t three[] = {0x30, 0x0B, 0x04, 0x01, 0xAA, 0x30, 0x00, 0x67, 0x00, 0x30, 0x00, 0x30, 0x00};
    assert_int_equal(hsm_wrap_file_parse(three, sizeof three, &w, err, sizeof err), -1);
}

/* ---- Key templates ---------------------------------------------------------------------------- */

/* OpenSC's RSA-2048 template as captured (spec section 3.10). */
static void test_template_rsa_as_opensc(void **state)
{
    (void)state;
    static const uint8_t want[] = {
        0x5F, 0x29, 0x01, 0x00, 0x42, 0x09, 'U', 'T', 'C', 'A', '0', '0', '0', '0', '1', 0x7F, 0x49, 0x15,
        0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02, 0x82, 0x03, 0x01, 0x00,
        0x01, 0x02, 0x02, 0x08, 0x00, 0x5F, 0x20, 0x10, 'E', 'S', 'P', 'I', 'C', 'O', 'H', 'S', 'M', 'T',
        'R', '0', '0', '0', '0', '1'};
    hsm_key_type_t t;
    char err[400];
    uint8_t out[1024];
    size_t len = 0;
    assert_true(hsm_key_type_parse("rsa:2048", &t, err, sizeof err));
    assert_int_equal(hsm_key_template(&t, 65537, "ESPICOHSMTR00001", NULL, false, out, sizeof out, &len), 0);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

/* OpenSC's P-256 template: 81 p, 82 a, 83 b, 84 G, 85 n, 87 h; and the metadata. */
static void test_template_ec_and_meta(void **state)
{
    (void)state;
    hsm_key_type_t t;
    char err[400];
    uint8_t out[1024], p[32], g[65];
    size_t len = 0;
    unhex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF", p, 32);
    unhex("046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
          g, 65);
    assert_true(hsm_key_type_parse("ec:prime256v1", &t, err, sizeof err));
    hsm_key_meta_t m = {.has_counter = true, .counter = 5, .algorithms = {0x70}, .n_algorithms = 1,
                        .has_domain = true, .domain = 0};
    assert_int_equal(hsm_key_template(&t, 0, "UTCDUMMY00001", &m, false, out, sizeof out, &len), 0);
    /* 7F49 81 DA { 06 0A ..02 03, 81 20 p, 82 20 a, 83 20 b, 84 41 G, 85 20 n, 87 01 01 } */
    assert_memory_equal(out + 15, "\x7F\x49\x81\xDA\x06\x0A\x04\x00\x7F\x00\x07\x02\x02\x02\x02\x03\x81\x20", 18);
    assert_memory_equal(out + 33, p, 32);
    assert_memory_equal(out + 15 + 4 + 12 + 3 * 34, "\x84\x41", 2);
    assert_memory_equal(out + 15 + 4 + 12 + 3 * 34 + 2, g, 65);
    assert_memory_equal(out + 15 + 4 + 218 - 3, "\x87\x01\x01", 3);
    /* ... 5F20 0D UTCDUMMY00001, then 90 04 00000005, 91 01 70, 92 01 00. */
    assert_memory_equal(out + len - 12, "\x90\x04\x00\x00\x00\x05\x91\x01\x70\x92\x01\x00", 12);
    /* Every curve the tool names has a template; unknown names are refused. */
    for (const hsm_curve_t *const *c = hsm_curves(); *c != NULL; c++) {
        assert_true(hsm_key_type_parse((*c)->name, &t, err, sizeof err));
        assert_int_equal(hsm_key_template(&t, 0, "X", NULL, false, out, sizeof out, &len), 0);
    }
    /* The Edwards templates carry their Montgomery twin's prime (81), the
     * same order (82) and the RFC 8032 base point's y (83). */
    static const char *const ed[] = {"ed25519", "ed448"};
    for (unsigned i = 0; i < 2u; i++) {
        assert_true(hsm_key_type_parse(ed[i], &t, err, sizeof err));
        assert_int_equal(t.family, HSM_KEY_ED);
        const fk_curve_info_t *ci = fk_curve_info(t.curve->id);
        assert_non_null(ci);
        assert_int_equal(hsm_key_template(&t, 0, "X", NULL, false, out, sizeof out, &len), 0);
        const size_t at = 15u + (out[17] == 0x81 ? 4u : 3u) + 12u; /* 7F49 L, 06 0A OID */
        assert_int_equal(out[at], 0x81);
        assert_int_equal(out[at + 1u], ci->field_len);
        assert_memory_equal(out + at + 2u, ci->p, ci->field_len);
        assert_int_equal(out[at + 2u + ci->field_len], 0x82);
        assert_memory_equal(out + at + 4u + ci->field_len, ci->n, ci->order_len);
    }
    assert_false(hsm_key_type_parse("ec:secp999r1", &t, err, sizeof err));
    assert_false(hsm_key_type_parse("rsa:1000", &t, err, sizeof err));
    assert_false(hsm_key_type_parse("rsa:8192", &t, err, sizeof err));
    assert_false(hsm_key_type_parse("aes:100", &t, err, sizeof err));
    assert_true(hsm_key_type_parse("aes:512", &t, err, sizeof err));
    assert_int_equal(t.family, HSM_KEY_AES);
    /* X25519: pico's form (id-TA-ECDSA, 81 p, 82 order, 83 u = 9 LE), or id-RI-ECDH. */
    assert_true(hsm_key_type_parse("x25519", &t, err, sizeof err));
    assert_int_equal(hsm_key_template(&t, 0, "X", NULL, false, out, sizeof out, &len), 0);
    assert_memory_equal(out + 15 + 3 + 2, "\x04\x00\x7F\x00\x07\x02\x02\x02\x02\x03\x81\x20\x7F", 13);
    assert_memory_equal(out + 15 + 3 + 12 + 34 + 34, "\x83\x20\x09\x00\x00", 5);
    assert_int_equal(hsm_key_template(&t, 0, "X", NULL, true, out, sizeof out, &len), 0);
    assert_memory_equal(out + 15 + 3 + 2, "\x04\x00\x7F\x00\x07\x02\x02\x05\x02\x03", 10);
}

static void test_algorithm_names(void **state)
{
    (void)state;
    uint8_t ids[16];
    size_t n = 0;
    char err[160];
    assert_true(hsm_alg_list_parse("ecdsa-sha256,ecdh,0x92,wrap", ids, sizeof ids, &n, err, sizeof err));
    assert_int_equal(n, 4);
    assert_memory_equal(ids, "\x73\x80\x92\x92", 4);
    assert_false(hsm_alg_list_parse("ecdsa-sha257", ids, sizeof ids, &n, err, sizeof err));
    assert_false(hsm_alg_list_parse("", ids, sizeof ids, &n, err, sizeof err));
    assert_false(hsm_alg_list_parse("ecdh,,ecdh", ids, sizeof ids, &n, err, sizeof err));
    assert_false(hsm_alg_list_parse("0x100", ids, sizeof ids, &n, err, sizeof err));
    assert_string_equal(hsm_alg_name(0x43), "rsa-pss-sha256");
    assert_null(hsm_alg_name(0x01));
}

/* ---- PKCS#15 descriptions ------------------------------------------------------------------------ */

static void test_prkd(void **state)
{
    (void)state;
    /* What OpenSC 0.23 writes for an RSA-2048 and a P-256 key, and pico's AES default. */
    static const uint8_t rsa[] = {0x30, 0x27, 0x30, 0x0D, 0x0C, 0x04, 'r', 's', 'a', '1', 0x03, 0x02, 0x06, 0xC0,
                                  0x04, 0x01, 0x01, 0x30, 0x0A, 0x04, 0x01, 0x01, 0x03, 0x02, 0x04, 0x70, 0x02, 0x01,
                                  0x01, 0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x08, 0x00};
    static const uint8_t ec[] = {0xA0, 0x27, 0x30, 0x0C, 0x0C, 0x03, 'e', 'c', '1', 0x03, 0x02, 0x06, 0xC0, 0x04,
                                 0x01, 0x01, 0x30, 0x0B, 0x04, 0x01, 0x02, 0x03, 0x03, 0x07, 0x30, 0x80, 0x02, 0x01,
                                 0x02, 0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x01, 0x00};
    static const uint8_t aes[] = {0xA8, 0x1F, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x09, 0x04, 0x02, 0x34, 0x38, 0x03,
                                  0x03, 0x07, 0xC0, 0x10, 0xA0, 0x06, 0x30, 0x04, 0x02, 0x02, 0x01, 0x00, 0xA1,
                                  0x06, 0x30, 0x04, 0x30, 0x02, 0x04, 0x00};
    hsm_prkd_t d;
    assert_int_equal(hsm_prkd_parse(rsa, sizeof rsa, &d), 0);
    assert_int_equal(d.family, HSM_KEY_RSA);
    assert_int_equal(d.bits, 2048);
    assert_string_equal(d.label, "rsa1");
    assert_int_equal(d.id_len, 1);
    assert_int_equal(hsm_prkd_parse(ec, sizeof ec, &d), 0);
    assert_int_equal(d.family, HSM_KEY_EC);
    assert_int_equal(d.bits, 256);
    assert_string_equal(d.label, "ec1");
    assert_int_equal(hsm_prkd_parse(aes, sizeof aes, &d), 0);
    assert_int_equal(d.family, HSM_KEY_AES);
    assert_int_equal(d.bits, 256);
    assert_memory_equal(d.id, "48", 2);
    /* Built ones read back; every truncation is an error or a partial read, never a crash. */
    uint8_t out[256];
    size_t len = 0;
    static const hsm_key_family_t fam[] = {HSM_KEY_RSA, HSM_KEY_EC, HSM_KEY_AES};
    static const unsigned bits[] = {3072, 384, 192};
    for (unsigned i = 0; i < 3u; i++) {
        assert_int_equal(hsm_prkd_build(fam[i], bits[i], "my key", 17, out, sizeof out, &len), 0);
        assert_int_equal(hsm_prkd_parse(out, len, &d), 0);
        assert_int_equal(d.family, fam[i]);
        assert_int_equal(d.bits, bits[i]);
        assert_string_equal(d.label, "my key");
        assert_memory_equal(d.id, "17", 2);
        for (size_t cut = 0; cut < len; cut++) (void)hsm_prkd_parse(out, cut, &d);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) g_data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_share_file_from_sc_hsm_tool),
        cmocka_unit_test(test_share_file_small_counts),
        cmocka_unit_test(test_primality),
        cmocka_unit_test(test_shamir_sc_hsm_tool_shares),
        cmocka_unit_test(test_shamir_split_combine),
        cmocka_unit_test(test_p12_ec_pbes2),
        cmocka_unit_test(test_p12_rsa_3des),
        cmocka_unit_test(test_p12_ed25519_and_x25519),
        cmocka_unit_test(test_spki),
        cmocka_unit_test(test_wrap_file),
        cmocka_unit_test(test_template_rsa_as_opensc),
        cmocka_unit_test(test_template_ec_and_meta),
        cmocka_unit_test(test_algorithm_names),
        cmocka_unit_test(test_prkd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
