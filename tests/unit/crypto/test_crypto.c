/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/crypto: published known-answer vectors (FIPS 180-2,
 * RFC 4231, RFC 5869, RFC 7914 / RFC 8018, RFC 8439), tamper tests of the
 * AEAD, and the DRBG's behaviour when its entropy source fails.
 *
 * The HAL functions the crypto module calls (fk_hal_random, fk_hal_serial)
 * are provided here as a controllable entropy source: real entropy from the
 * OS, a reproducible pattern, or failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_hex.h"

#include "crypto/crypto.h"
#include "fileio.h"
#include "hal.h"

/* ---- The test's HAL ----------------------------------------------------- */

typedef enum { SRC_OS, SRC_PATTERN, SRC_FAIL } src_mode_t;

static src_mode_t g_mode = SRC_OS;
static uint8_t g_pattern; /* next byte produced in SRC_PATTERN mode */
static unsigned g_random_calls;
static uint8_t g_serial[8] = {0x46, 0x4b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05};

int fk_hal_random(void *buf, size_t len)
{
    uint8_t *p = buf;

    g_random_calls++;
    switch (g_mode) {
    case SRC_OS:
        return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
    case SRC_PATTERN:
        for (size_t i = 0; i < len; i++) p[i] = g_pattern++;
        return FK_HAL_OK;
    case SRC_FAIL:
    default:
        memset(buf, 0x5A, len); /* garbage the DRBG must not use */
        return FK_HAL_EIO;
    }
}

void fk_hal_serial(uint8_t serial[8]) { memcpy(serial, g_serial, sizeof(g_serial)); }

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "panic at %s:%d\n", file, line);
    abort();
}

static int reset_source(void **state)
{
    (void)state;
    fk_rng_forget();
    g_mode = SRC_OS;
    g_pattern = 0;
    g_random_calls = 0;
    return 0;
}

/* ---- Helpers ------------------------------------------------------------ */

static void fill_range(uint8_t *p, size_t n, uint8_t first)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(first + i);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

/* ---- SHA-256 (FIPS 180-2 appendix B) ------------------------------------ */

static const char k_abc_448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void test_sha256_vectors(void **state)
{
    uint8_t md[FK_SHA256_LEN], want[FK_SHA256_LEN];
    (void)state;

    fk_sha256("abc", 3, md);
    fk_test_unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
    assert_memory_equal(md, want, 32);

    fk_sha256(NULL, 0, md);
    fk_test_unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    assert_memory_equal(md, want, 32);

    fk_sha256(k_abc_448, strlen(k_abc_448), md);
    fk_test_unhex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", want, 32);
    assert_memory_equal(md, want, 32);
}

/* One million 'a' through the streaming API in uneven chunks. */
static void test_sha256_streaming(void **state)
{
    static const size_t chunks[] = {1, 63, 64, 65, 127, 500, 1000, 7};
    uint8_t block[1000], md[FK_SHA256_LEN], want[FK_SHA256_LEN];
    fk_sha256_ctx_t ctx;
    size_t left = 1000000, k = 0;
    (void)state;

    memset(block, 'a', sizeof(block));
    fk_sha256_start(&ctx);
    while (left > 0) {
        size_t n = chunks[k++ % (sizeof(chunks) / sizeof(chunks[0]))];
        if (n > left) n = left;
        fk_sha256_update(&ctx, block, n);
        left -= n;
    }
    fk_sha256_finish(&ctx, md);
    fk_test_unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want, 32);
    assert_memory_equal(md, want, 32);
    assert_true(all_zero(&ctx, sizeof(ctx)));

    /* Streaming and one-shot agree for every split of the 448-bit vector. */
    for (size_t split = 0; split <= strlen(k_abc_448); split++) {
        uint8_t one[FK_SHA256_LEN];
        fk_sha256(k_abc_448, strlen(k_abc_448), one);
        fk_sha256_start(&ctx);
        fk_sha256_update(&ctx, k_abc_448, split);
        fk_sha256_update(&ctx, k_abc_448 + split, strlen(k_abc_448) - split);
        fk_sha256_finish(&ctx, md);
        assert_memory_equal(md, one, 32);
    }
}

/* ---- HMAC-SHA256 (RFC 4231 test cases 1-7) ------------------------------ */

static void test_hmac_rfc4231(void **state)
{
    static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char data7[] =
        "This is a test using a larger than block-size key and a larger than block-size data."
        " The key needs to be hashed before being used by the HMAC algorithm.";
    uint8_t key[131], data[50], mac[FK_SHA256_LEN], want[FK_SHA256_LEN];
    (void)state;

    memset(key, 0x0b, 20);
    fk_hmac_sha256(key, 20, "Hi There", 8, mac);
    fk_test_unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
    assert_memory_equal(mac, want, 32);

    fk_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    fk_test_unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
    assert_memory_equal(mac, want, 32);

    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    fk_hmac_sha256(key, 20, data, 50, mac);
    fk_test_unhex("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", want, 32);
    assert_memory_equal(mac, want, 32);

    fill_range(key, 25, 0x01);
    memset(data, 0xcd, 50);
    fk_hmac_sha256(key, 25, data, 50, mac);
    fk_test_unhex("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", want, 32);
    assert_memory_equal(mac, want, 32);

    memset(key, 0x0c, 20);
    fk_hmac_sha256(key, 20, "Test With Truncation", 20, mac);
    fk_test_unhex("a3b6167473100ee06e0c796c2955552b", want, 16);
    assert_memory_equal(mac, want, 16);

    memset(key, 0xaa, 131);
    fk_hmac_sha256(key, 131, data6, strlen(data6), mac);
    fk_test_unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want, 32);
    assert_memory_equal(mac, want, 32);

    fk_hmac_sha256(key, 131, data7, strlen(data7), mac);
    fk_test_unhex("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", want, 32);
    assert_memory_equal(mac, want, 32);
}

/* ---- HKDF-SHA256 (RFC 5869 test cases 1-3) ------------------------------ */

static void test_hkdf_rfc5869(void **state)
{
    uint8_t ikm[80], salt[80], info[80], okm[82], want[82], prk[32];
    (void)state;

    /* Test case 1 */
    memset(ikm, 0x0b, 22);
    fill_range(salt, 13, 0x00);
    fill_range(info, 10, 0xf0);
    assert_int_equal(fk_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 42), FK_CRYPTO_OK);
    fk_test_unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
          want, sizeof(want));
    assert_memory_equal(okm, want, 42);
    fk_test_unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", prk, 32);
    memset(okm, 0, sizeof(okm));
    assert_int_equal(fk_hkdf_sha256_expand(prk, 32, info, 10, okm, 42), FK_CRYPTO_OK);
    assert_memory_equal(okm, want, 42);

    /* Test case 2: longer inputs and outputs */
    fill_range(ikm, 80, 0x00);
    fill_range(salt, 80, 0x60);
    fill_range(info, 80, 0xb0);
    assert_int_equal(fk_hkdf_sha256(salt, 80, ikm, 80, info, 80, okm, 82), FK_CRYPTO_OK);
    fk_test_unhex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
          "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
          "cc30c58179ec3e87c14c01d5c1f3434f1d87",
          want, sizeof(want));
    assert_memory_equal(okm, want, 82);
    fk_test_unhex("06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244", prk, 32);
    memset(okm, 0, sizeof(okm));
    assert_int_equal(fk_hkdf_sha256_expand(prk, 32, info, 80, okm, 82), FK_CRYPTO_OK);
    assert_memory_equal(okm, want, 82);

    /* Test case 3: empty salt and info */
    memset(ikm, 0x0b, 22);
    assert_int_equal(fk_hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 42), FK_CRYPTO_OK);
    fk_test_unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
          want, sizeof(want));
    assert_memory_equal(okm, want, 42);
}

static void test_hkdf_limits(void **state)
{
    static uint8_t big[255 * 32 + 1];
    uint8_t ikm[32] = {1}, prk[32] = {2};
    (void)state;

    assert_int_equal(fk_hkdf_sha256(NULL, 0, ikm, 32, NULL, 0, big, sizeof(big) - 1),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_hkdf_sha256(NULL, 0, ikm, 32, NULL, 0, big, sizeof(big)),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf_sha256(NULL, 0, ikm, 32, NULL, 0, big, 0), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf_sha256(NULL, 5, ikm, 32, NULL, 0, big, 32), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf_sha256_expand(prk, 31, NULL, 0, big, 32), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hkdf_sha256_expand(prk, 32, NULL, 0, big, sizeof(big)),
                     FK_CRYPTO_EINVAL);
}

/* ---- PBKDF2-HMAC-SHA256 (RFC 7914 section 11 and the common vectors) --- */

static void test_pbkdf2_vectors(void **state)
{
    uint8_t out[64], want[64];
    (void)state;

    assert_int_equal(fk_pbkdf2_sha256("password", 8, "salt", 4, 1, out, 32), FK_CRYPTO_OK);
    fk_test_unhex("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", want, 64);
    assert_memory_equal(out, want, 32);

    assert_int_equal(fk_pbkdf2_sha256("password", 8, "salt", 4, 2, out, 32), FK_CRYPTO_OK);
    fk_test_unhex("ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43", want, 64);
    assert_memory_equal(out, want, 32);

    assert_int_equal(fk_pbkdf2_sha256("password", 8, "salt", 4, 4096, out, 32), FK_CRYPTO_OK);
    fk_test_unhex("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a", want, 64);
    assert_memory_equal(out, want, 32);

    assert_int_equal(fk_pbkdf2_sha256("passwd", 6, "salt", 4, 1, out, 64), FK_CRYPTO_OK);
    fk_test_unhex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
          "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
          want, 64);
    assert_memory_equal(out, want, 64);

    assert_int_equal(fk_pbkdf2_sha256("Password", 8, "NaCl", 4, 80000, out, 64), FK_CRYPTO_OK);
    fk_test_unhex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
          "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
          want, 64);
    assert_memory_equal(out, want, 64);

    assert_int_equal(fk_pbkdf2_sha256("password", 8, "salt", 4, 0, out, 32), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pbkdf2_sha256("password", 8, "salt", 4, 1, out, 0), FK_CRYPTO_EINVAL);
}

/* ---- ChaCha20-Poly1305 (RFC 8439 section 2.8.2) ------------------------- */

static const char k_sunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
    "future, sunscreen would be it.";

#define SUN_LEN 114u

typedef struct aead_kat {
    uint8_t key[32], nonce[12], aad[12], ct[SUN_LEN], tag[16];
} aead_kat_t;

static void load_aead_kat(aead_kat_t *k)
{
    fill_range(k->key, 32, 0x80);
    fk_test_unhex("070000004041424344454647", k->nonce, 12);
    fk_test_unhex("50515253c0c1c2c3c4c5c6c7", k->aad, 12);
    fk_test_unhex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
          "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
          "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
          "3ff4def08e4b7a9de576d26586cec64b6116",
          k->ct, SUN_LEN);
    fk_test_unhex("1ae10b594f09e26a7e902ecbd0600691", k->tag, 16);
    assert_int_equal(strlen(k_sunscreen), SUN_LEN);
}

static void test_aead_rfc8439(void **state)
{
    aead_kat_t k;
    uint8_t buf[SUN_LEN], tag[16];
    (void)state;

    load_aead_kat(&k);
    assert_int_equal(fk_aead_seal(k.key, k.nonce, k.aad, 12, k_sunscreen, SUN_LEN, buf, tag),
                     FK_CRYPTO_OK);
    assert_memory_equal(buf, k.ct, SUN_LEN);
    assert_memory_equal(tag, k.tag, 16);

    memset(buf, 0xA5, sizeof(buf));
    assert_int_equal(fk_aead_open(k.key, k.nonce, k.aad, 12, k.ct, SUN_LEN, k.tag, buf),
                     FK_CRYPTO_OK);
    assert_memory_equal(buf, k_sunscreen, SUN_LEN);

    /* In place, both directions. */
    memcpy(buf, k_sunscreen, SUN_LEN);
    assert_int_equal(fk_aead_seal(k.key, k.nonce, k.aad, 12, buf, SUN_LEN, buf, tag),
                     FK_CRYPTO_OK);
    assert_memory_equal(buf, k.ct, SUN_LEN);
    assert_int_equal(fk_aead_open(k.key, k.nonce, k.aad, 12, buf, SUN_LEN, tag, buf),
                     FK_CRYPTO_OK);
    assert_memory_equal(buf, k_sunscreen, SUN_LEN);
}

/* Open with one input altered must fail and leave pt all zero. */
static void expect_auth_fail(const aead_kat_t *k, size_t aad_len, size_t len)
{
    uint8_t pt[SUN_LEN];

    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_aead_open(k->key, k->nonce, k->aad, aad_len, k->ct, len, k->tag, pt),
                     FK_CRYPTO_EAUTH);
    assert_true(all_zero(pt, len));
}

static void test_aead_tamper(void **state)
{
    aead_kat_t k, t;
    (void)state;

    load_aead_kat(&k);
    for (size_t bit = 0; bit < 8 * SUN_LEN; bit++) {
        t = k;
        t.ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_auth_fail(&t, 12, SUN_LEN);
    }
    for (size_t bit = 0; bit < 8 * 16; bit++) {
        t = k;
        t.tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_auth_fail(&t, 12, SUN_LEN);
    }
    for (size_t bit = 0; bit < 8 * 12; bit++) {
        t = k;
        t.aad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_auth_fail(&t, 12, SUN_LEN);
        t = k;
        t.nonce[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_auth_fail(&t, 12, SUN_LEN);
    }
    for (size_t bit = 0; bit < 8 * 32; bit += 7) {
        t = k;
        t.key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_auth_fail(&t, 12, SUN_LEN);
    }
    expect_auth_fail(&k, 11, SUN_LEN); /* AAD truncated */
    expect_auth_fail(&k, 12, SUN_LEN - 1); /* ciphertext truncated */
}

static void test_aead_empty_and_args(void **state)
{
    uint8_t key[32] = {7}, nonce[12] = {9}, tag[16], pt[4];
    (void)state;

    assert_int_equal(fk_aead_seal(key, nonce, "hdr", 3, NULL, 0, NULL, tag), FK_CRYPTO_OK);
    assert_int_equal(fk_aead_open(key, nonce, "hdr", 3, NULL, 0, tag, NULL), FK_CRYPTO_OK);
    assert_int_equal(fk_aead_open(key, nonce, "hdR", 3, NULL, 0, tag, NULL), FK_CRYPTO_EAUTH);
    assert_int_equal(fk_aead_seal(key, nonce, NULL, 3, NULL, 0, NULL, tag), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_aead_seal(key, nonce, NULL, 0, NULL, 4, pt, tag), FK_CRYPTO_EINVAL);
    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_aead_open(key, nonce, NULL, 0, NULL, 4, tag, pt), FK_CRYPTO_EINVAL);
    assert_true(all_zero(pt, sizeof(pt)));
}

/* ---- Random bits ------------------------------------------------------- */

static void test_rng_differs(void **state)
{
    uint8_t a[32], b[32], big[3000];
    (void)state;

    assert_int_equal(fk_rng_bytes(a, sizeof(a)), FK_CRYPTO_OK);
    assert_int_equal(fk_rng_bytes(b, sizeof(b)), FK_CRYPTO_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_false(all_zero(a, sizeof(a)));

    /* Larger than one DRBG request: every chunk is fresh output. */
    memset(big, 0, sizeof(big));
    assert_int_equal(fk_rng_bytes(big, sizeof(big)), FK_CRYPTO_OK);
    assert_memory_not_equal(big, big + 1024, 1024);
    assert_memory_not_equal(big + 1024, big + 2048, 952);
    assert_false(all_zero(big + 2048, 952));
    assert_int_equal(fk_rng_bytes(NULL, 0), FK_CRYPTO_OK);
}

static int cmp7(const void *a, const void *b) { return memcmp(a, b, 7); }

/* Small requests are served from an output pool: across refills and mixed
 * with large requests, no output is ever handed out twice. */
static void test_rng_small_requests_never_repeat(void **state)
{
    enum { N = 2000 };
    static uint8_t got[N][7];
    uint8_t big[300];
    (void)state;

    for (int i = 0; i < N; i++) {
        assert_int_equal(fk_rng_bytes(got[i], 7), FK_CRYPTO_OK);
        if (i % 97 == 0) assert_int_equal(fk_rng_bytes(big, sizeof(big)), FK_CRYPTO_OK);
    }
    qsort(got, N, 7, cmp7);
    for (int i = 1; i < N; i++) assert_memory_not_equal(got[i - 1], got[i], 7);
}

static void test_rng_seeds_once(void **state)
{
    uint8_t a[16];
    unsigned seeding;
    (void)state;

    assert_int_equal(g_random_calls, 0);
    assert_int_equal(fk_rng_bytes(a, sizeof(a)), FK_CRYPTO_OK);
    seeding = g_random_calls; /* entropy and nonce may come in separate calls */
    assert_true(seeding >= 1);
    assert_int_equal(fk_rng_bytes(a, sizeof(a)), FK_CRYPTO_OK);
    assert_int_equal(g_random_calls, seeding); /* no prediction resistance */
    fk_rng_forget();
    assert_int_equal(fk_rng_bytes(a, sizeof(a)), FK_CRYPTO_OK);
    assert_int_equal(g_random_calls, 2 * seeding);
}

static void test_rng_failure_and_recovery(void **state)
{
    uint8_t out[64];
    (void)state;

    g_mode = SRC_FAIL;
    memset(out, 0xA5, sizeof(out));
    assert_int_equal(fk_rng_bytes(out, sizeof(out)), FK_CRYPTO_ERNG);
    assert_true(all_zero(out, sizeof(out)));
    memset(out, 0xA5, sizeof(out));
    assert_int_equal(fk_rng_bytes(out, sizeof(out)), FK_CRYPTO_ERNG);
    assert_true(all_zero(out, sizeof(out)));

    g_mode = SRC_OS;
    assert_int_equal(fk_rng_bytes(out, sizeof(out)), FK_CRYPTO_OK);
    assert_false(all_zero(out, sizeof(out)));
}

/* A source that fails after seeding is noticed at the next reseed: from
 * then on no output until the source works again. */
static void test_rng_reseed_failure(void **state)
{
    uint8_t out[16];
    unsigned calls_before;
    long n = 0;
    (void)state;

    assert_int_equal(fk_rng_bytes(out, sizeof(out)), FK_CRYPTO_OK);
    calls_before = g_random_calls;
    g_mode = SRC_FAIL;
    int rc;
    do {
        memset(out, 0xA5, sizeof(out));
        rc = fk_rng_bytes(out, sizeof(out));
    } while (rc == FK_CRYPTO_OK && ++n < 1000000);
    assert_int_equal(rc, FK_CRYPTO_ERNG);
    assert_true(all_zero(out, sizeof(out)));
    assert_true(g_random_calls > calls_before);
    assert_int_equal(fk_rng_bytes(out, sizeof(out)), FK_CRYPTO_ERNG);

    g_mode = SRC_OS;
    assert_int_equal(fk_rng_bytes(out, sizeof(out)), FK_CRYPTO_OK);
}

/* Same entropy and serial give the same stream; another serial (the
 * personalization) gives another. */
static void test_rng_personalization(void **state)
{
    uint8_t a[32], b[32], c[32];
    uint8_t saved[8];
    (void)state;

    g_mode = SRC_PATTERN;
    g_pattern = 0x10;
    assert_int_equal(fk_rng_bytes(a, sizeof(a)), FK_CRYPTO_OK);
    fk_rng_forget();
    g_pattern = 0x10;
    assert_int_equal(fk_rng_bytes(b, sizeof(b)), FK_CRYPTO_OK);
    assert_memory_equal(a, b, sizeof(a));

    memcpy(saved, g_serial, sizeof(saved));
    g_serial[7] ^= 1;
    fk_rng_forget();
    g_pattern = 0x10;
    assert_int_equal(fk_rng_bytes(c, sizeof(c)), FK_CRYPTO_OK);
    memcpy(g_serial, saved, sizeof(saved));
    assert_memory_not_equal(a, c, sizeof(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_streaming),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hkdf_limits),
        cmocka_unit_test(test_pbkdf2_vectors),
        cmocka_unit_test(test_aead_rfc8439),
        cmocka_unit_test(test_aead_tamper),
        cmocka_unit_test(test_aead_empty_and_args),
        cmocka_unit_test_setup(test_rng_differs, reset_source),
        cmocka_unit_test_setup(test_rng_small_requests_never_repeat, reset_source),
        cmocka_unit_test_setup(test_rng_seeds_once, reset_source),
        cmocka_unit_test_setup(test_rng_failure_and_recovery, reset_source),
        cmocka_unit_test_setup(test_rng_reseed_failure, reset_source),
        cmocka_unit_test_setup(test_rng_personalization, reset_source),
    };
    return cmocka_run_group_tests(tests, NULL, reset_source);
}
