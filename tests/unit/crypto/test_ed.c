/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/crypto/ed (EdDSA over libdecaf): the RFC 8032 test
 * vectors (Ed25519 section 7.1, Ed448 section 7.4), tampered messages and
 * signatures, a second signature made by adding the group order to S (RFC
 * 8032 rejects it), a stored public key that does not belong to the seed,
 * generation from the DRBG (and its failure), and random keys and messages
 * checked by python3-cryptography (OpenSSL), which must be installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_hex.h"

#include "crypto/crypto.h"
#include "crypto/ed.h"
#include "fileio.h"
#include "hal.h"

/* ---- The test's HAL ----------------------------------------------------- */

static bool g_entropy_fails;

int fk_hal_random(void *buf, size_t len)
{
    if (g_entropy_fails) return FK_HAL_EIO;
    return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
}

void fk_hal_serial(uint8_t serial[8])
{
    static const uint8_t k_serial[8] = {0x46, 0x4b, 0x45, 0x44, 0x00, 0x00, 0x00, 0x01};
    memcpy(serial, k_serial, sizeof(k_serial));
}

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "panic at %s:%d\n", file, line);
    abort();
}

/* ---- Helpers ------------------------------------------------------------ */

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

/* ---- RFC 8032 ----------------------------------------------------------- */

typedef struct ed_vector {
    fk_curve_t twin;
    const char *seed, *pub, *msg, *sig;
} ed_vector_t;

static const ed_vector_t k_vectors[] = {
    /* Ed25519: section 7.1, TEST 1, 2, 3 and TEST SHA(abc). */
    {FK_CURVE_X25519, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
     "d25bf5f0595bbe24655141438e7a100b"},
    {FK_CURVE_X25519, "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"},
    {FK_CURVE_X25519, "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
     "4a7c15e9716ed28dc027beceea1ec40a"},
    {FK_CURVE_X25519, "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
     "454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e030"
     "3dca179c138ac17ad9bef1177331a704"},
    /* Ed448: section 7.4, -----Blank, -----1 octet, -----11 octets. */
    {FK_CURVE_X448,
     "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b94492f8f"
     "032e7549a20098f95b",
     "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778edf124769b46c7061bd6783df1e50f6c"
     "d1fa1abeafe8256180",
     "",
     "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22ddd47d78"
     "28c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4db"
     "b61149f05a7363268c71d95808ff2e652600"},
    {FK_CURVE_X448,
     "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463afbea67c5e8d2877c5e3bc397a659949e"
     "f8021e954e0a12274e",
     "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c0866aea01eb00742802b8438ea4cb82169c"
     "235160627b4c3a9480",
     "03",
     "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f4352541b143c4b981b7e18f62de8ccdf633"
     "fc1bf037ab7cd779805e0dbcc0aae1cbcee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0f"
     "f3348ab21aa4adafd1d234441cf807c03a00"},
    {FK_CURVE_X448,
     "cd23d24f714274e744343237b93290f511f6425f98e64459ff203e8985083ffdf60500553abc0e05cd02184bdb89c4cc"
     "d67e187951267eb328",
     "dcea9e78f35a1bf3499a831b10b86c90aac01cd84b67a0109b55a36e9328b1e365fce161d71ce7131a543ea4cb5f7e9f"
     "1d8b00696447001400",
     "0c3e544074ec63b0265e0c",
     "1f0a8888ce25e8d458a21130879b840a9089d999aaba039eaf3e3afa090a09d389dba82c4ff2ae8ac5cdfb7c55e94d5d"
     "961a29fe0109941e00b8dbdeea6d3b051068df7254c0cdc129cbe62db2dc957dbb47b51fd3f213fb8698f064774250a5"
     "028961c9bf8ffd973fe5d5c206492b140e00"},
};

typedef struct ed_buf {
    uint8_t seed[FK_ED_KEY_MAX], pub[FK_ED_KEY_MAX], msg[64], sig[FK_ED_SIG_MAX];
    size_t key_len, msg_len, sig_len;
} ed_buf_t;

static void load(const ed_vector_t *v, ed_buf_t *b)
{
    b->key_len = fk_test_unhex(v->seed, b->seed, sizeof(b->seed));
    assert_int_equal(b->key_len, fk_ed_key_len(v->twin));
    assert_int_equal(fk_test_unhex(v->pub, b->pub, sizeof(b->pub)), b->key_len);
    b->msg_len = fk_test_unhex(v->msg, b->msg, sizeof(b->msg));
    b->sig_len = fk_test_unhex(v->sig, b->sig, sizeof(b->sig));
    assert_int_equal(b->sig_len, fk_ed_sig_len(v->twin));
}

static void test_rfc8032(void **state)
{
    uint8_t pub[FK_ED_KEY_MAX], sig[FK_ED_SIG_MAX];
    ed_buf_t b;
    (void)state;

    for (size_t i = 0; i < sizeof(k_vectors) / sizeof(k_vectors[0]); i++) {
        const ed_vector_t *v = &k_vectors[i];
        load(v, &b);
        const uint8_t *msg = b.msg_len ? b.msg : NULL;
        assert_int_equal(fk_ed_public(v->twin, b.seed, pub), FK_CRYPTO_OK);
        assert_memory_equal(pub, b.pub, b.key_len);
        assert_int_equal(fk_ed_sign(v->twin, b.seed, b.pub, msg, b.msg_len, sig), FK_CRYPTO_OK);
        assert_memory_equal(sig, b.sig, b.sig_len);
        assert_int_equal(fk_ed_verify(v->twin, b.pub, msg, b.msg_len, b.sig, b.sig_len), FK_CRYPTO_OK);
    }
}

/* A changed message, signature bit or public key: FK_CRYPTO_EAUTH. */
static void test_tamper(void **state)
{
    ed_buf_t b;
    (void)state;

    for (size_t i = 0; i < sizeof(k_vectors) / sizeof(k_vectors[0]); i++) {
        const ed_vector_t *v = &k_vectors[i];
        load(v, &b);
        uint8_t msg[65];
        memcpy(msg, b.msg, b.msg_len);
        msg[b.msg_len] = 0x00; /* one byte more */
        assert_int_equal(fk_ed_verify(v->twin, b.pub, msg, b.msg_len + 1, b.sig, b.sig_len),
                         FK_CRYPTO_EAUTH);
        if (b.msg_len > 0) {
            msg[0] ^= 0x01;
            assert_int_equal(fk_ed_verify(v->twin, b.pub, msg, b.msg_len, b.sig, b.sig_len),
                             FK_CRYPTO_EAUTH);
        }
        for (size_t bit = 0; bit < b.sig_len * 8; bit += 7) {
            b.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(fk_ed_verify(v->twin, b.pub, b.msg, b.msg_len, b.sig, b.sig_len),
                             FK_CRYPTO_EAUTH);
            b.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        b.pub[3] ^= 0x10;
        assert_int_equal(fk_ed_verify(v->twin, b.pub, b.msg, b.msg_len, b.sig, b.sig_len),
                         FK_CRYPTO_EAUTH);
        b.pub[3] ^= 0x10;
        /* Wrong length and the other curve. */
        assert_int_equal(fk_ed_verify(v->twin, b.pub, b.msg, b.msg_len, b.sig, b.sig_len - 1),
                         FK_CRYPTO_EAUTH);
        fk_curve_t other = v->twin == FK_CURVE_X25519 ? FK_CURVE_X448 : FK_CURVE_X25519;
        uint8_t big[FK_ED_SIG_MAX] = {0};
        memcpy(big, b.sig, b.sig_len);
        assert_int_equal(fk_ed_verify(other, b.pub, b.msg, b.msg_len, big, fk_ed_sig_len(other)),
                         FK_CRYPTO_EAUTH);
    }
}

/* S + L verifies the same equation: RFC 8032 says reject it. */
static void test_non_canonical_s(void **state)
{
    static const uint8_t l25519[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                       0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0x10};
    ed_buf_t b;
    (void)state;

    load(&k_vectors[1], &b);
    unsigned carry = 0;
    for (size_t i = 0; i < 32; i++) {
        unsigned s = b.sig[32 + i] + l25519[i] + carry;
        b.sig[32 + i] = (uint8_t)s;
        carry = s >> 8;
    }
    assert_int_equal(carry, 0);
    assert_int_equal(fk_ed_verify(FK_CURVE_X25519, b.pub, b.msg, b.msg_len, b.sig, b.sig_len),
                     FK_CRYPTO_EAUTH);
    /* S = L itself. */
    memcpy(b.sig + 32, l25519, 32);
    assert_int_equal(fk_ed_verify(FK_CURVE_X25519, b.pub, b.msg, b.msg_len, b.sig, b.sig_len),
                     FK_CRYPTO_EAUTH);
    /* Ed448: a non-zero last byte. */
    load(&k_vectors[5], &b);
    b.sig[b.sig_len - 1] = 0x01;
    assert_int_equal(fk_ed_verify(FK_CURVE_X448, b.pub, b.msg, b.msg_len, b.sig, b.sig_len),
                     FK_CRYPTO_EAUTH);
}

static void test_sign_checks_public(void **state)
{
    uint8_t sig[FK_ED_SIG_MAX];
    ed_buf_t b;
    (void)state;

    load(&k_vectors[0], &b);
    b.pub[0] ^= 1;
    memset(sig, 0xA5, sizeof(sig));
    assert_int_equal(fk_ed_sign(FK_CURVE_X25519, b.seed, b.pub, b.msg, 0, sig), FK_CRYPTO_EINVAL);
    assert_true(all_zero(sig, FK_ED25519_SIG_LEN));
    load(&k_vectors[4], &b);
    b.pub[56] ^= 0x80;
    assert_int_equal(fk_ed_sign(FK_CURVE_X448, b.seed, b.pub, b.msg, 0, sig), FK_CRYPTO_EINVAL);
    assert_true(all_zero(sig, FK_ED448_SIG_LEN));
}

static void test_args(void **state)
{
    uint8_t seed[FK_ED_KEY_MAX] = {0}, pub[FK_ED_KEY_MAX], sig[FK_ED_SIG_MAX] = {0};
    (void)state;

    assert_int_equal(fk_ed_key_len(FK_CURVE_X25519), 32);
    assert_int_equal(fk_ed_key_len(FK_CURVE_X448), 57);
    assert_int_equal(fk_ed_key_len(FK_CURVE_SECP256R1), 0);
    assert_int_equal(fk_ed_sig_len(FK_CURVE_X25519), 64);
    assert_int_equal(fk_ed_sig_len(FK_CURVE_X448), 114);
    assert_int_equal(fk_ed_sig_len(FK_CURVE_NONE), 0);
    assert_int_equal(fk_ed_public(FK_CURVE_SECP256R1, seed, pub), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_ed_generate(FK_CURVE_SECP256K1, seed, pub), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_ed_sign(FK_CURVE_BP256R1, seed, pub, NULL, 0, sig), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_ed_verify(FK_CURVE_NONE, pub, NULL, 0, sig, 64), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_ed_public(FK_CURVE_X25519, seed, pub), FK_CRYPTO_OK);
    assert_int_equal(fk_ed_sign(FK_CURVE_X25519, seed, pub, NULL, 3, sig), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_ed_verify(FK_CURVE_X25519, pub, NULL, 3, sig, 64), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_ed_sign(FK_CURVE_X25519, seed, pub, NULL, 0, NULL), FK_CRYPTO_EINVAL);
    /* A public key that is no curve point: y = p (not canonical) does not decode. */
    uint8_t bad[32];
    memset(bad, 0xff, sizeof(bad));
    bad[0] = 0xed;
    bad[31] = 0x7f;
    assert_int_equal(fk_ed_sign(FK_CURVE_X25519, seed, pub, NULL, 0, sig), FK_CRYPTO_OK);
    assert_int_equal(fk_ed_verify(FK_CURVE_X25519, bad, NULL, 0, sig, 64), FK_CRYPTO_EAUTH);
}

static void test_generate(void **state)
{
    uint8_t s1[FK_ED_KEY_MAX], p1[FK_ED_KEY_MAX], s2[FK_ED_KEY_MAX], p2[FK_ED_KEY_MAX], pub[FK_ED_KEY_MAX];
    uint8_t sig[FK_ED_SIG_MAX];
    static const uint8_t msg[] = "fusekey";
    (void)state;

    for (int c = 0; c < 2; c++) {
        fk_curve_t twin = c ? FK_CURVE_X448 : FK_CURVE_X25519;
        size_t n = fk_ed_key_len(twin);
        assert_int_equal(fk_ed_generate(twin, s1, p1), FK_CRYPTO_OK);
        assert_int_equal(fk_ed_generate(twin, s2, p2), FK_CRYPTO_OK);
        assert_memory_not_equal(s1, s2, n);
        assert_memory_not_equal(p1, p2, n);
        assert_int_equal(fk_ed_public(twin, s1, pub), FK_CRYPTO_OK);
        assert_memory_equal(pub, p1, n);
        assert_int_equal(fk_ed_sign(twin, s1, p1, msg, sizeof(msg), sig), FK_CRYPTO_OK);
        assert_int_equal(fk_ed_verify(twin, p1, msg, sizeof(msg), sig, fk_ed_sig_len(twin)), FK_CRYPTO_OK);
        assert_int_equal(fk_ed_verify(twin, p2, msg, sizeof(msg), sig, fk_ed_sig_len(twin)),
                         FK_CRYPTO_EAUTH);

        /* No entropy: FK_CRYPTO_ERNG and no key. */
        fk_rng_forget();
        g_entropy_fails = true;
        memset(s1, 0xA5, sizeof(s1));
        assert_int_equal(fk_ed_generate(twin, s1, p1), FK_CRYPTO_ERNG);
        assert_true(all_zero(s1, n));
        g_entropy_fails = false;
    }
}

/* Random keys from fk_ed_generate and random messages, signed here; the
 * script checks each public key, re-signs with OpenSSL (EdDSA is
 * deterministic: the signatures must be equal) and verifies ours. */
static void test_cross_python(void **state)
{
    char path[] = "/tmp/fk-ed-XXXXXX";
    uint8_t seed[FK_ED_KEY_MAX], pub[FK_ED_KEY_MAX], msg[300], sig[FK_ED_SIG_MAX];
    (void)state;

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    for (int i = 0; i < 40; i++) {
        fk_curve_t twin = i % 2 ? FK_CURVE_X448 : FK_CURVE_X25519;
        size_t n = fk_ed_key_len(twin), len;
        assert_int_equal(fk_ed_generate(twin, seed, pub), FK_CRYPTO_OK);
        assert_int_equal(fk_rng_bytes(&len, sizeof(len)), FK_CRYPTO_OK);
        len %= sizeof(msg) + 1;
        assert_int_equal(fk_rng_bytes(msg, sizeof(msg)), FK_CRYPTO_OK);
        assert_int_equal(fk_ed_sign(twin, seed, pub, msg, len, sig), FK_CRYPTO_OK);
        fprintf(f, "%s ", twin == FK_CURVE_X25519 ? "ed25519" : "ed448");
        for (size_t k = 0; k < n; k++) fprintf(f, "%02x", seed[k]);
        fputc(' ', f);
        for (size_t k = 0; k < n; k++) fprintf(f, "%02x", pub[k]);
        fputc(' ', f);
        if (len == 0) fputc('-', f);
        for (size_t k = 0; k < len; k++) fprintf(f, "%02x", msg[k]);
        fputc(' ', f);
        for (size_t k = 0; k < fk_ed_sig_len(twin); k++) fprintf(f, "%02x", sig[k]);
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);

    char cmd[512];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/unit/crypto/ed_cross.py' '%s'",
             FK_SOURCE_DIR, path);
    int st = system(cmd);
    unlink(path);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8032),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_non_canonical_s),
        cmocka_unit_test(test_sign_checks_public),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_cross_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
