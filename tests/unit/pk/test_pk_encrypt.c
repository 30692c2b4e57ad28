/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of RSA encryption with a public key (fk_pk_rsa_encrypt_pkcs1 /
 * _oaep in core/crypto/pk): round trips through the module's own
 * decryptions on a key it generated, the message-length limits of both
 * paddings, argument checks, a failing entropy source, and a cross-check with
 * the `openssl` command line both ways on a key openssl made: our
 * ciphertexts decrypt there, its ciphertexts decrypt here. Kept apart from
 * test_pk (which generates RSA-4096 keys) so that it runs in seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pk_test_util.h"

static const fk_hash_t k_all_hashes[] = {FK_HASH_SHA1, FK_HASH_SHA224, FK_HASH_SHA256,
                                         FK_HASH_SHA384, FK_HASH_SHA512};

typedef struct keyslot {
    uint8_t blob[FK_PK_BLOB_MAX];
    size_t len;
    fk_pk_key_t key;
    fk_pk_public_t pub;
} keyslot_t;

static keyslot_t g_gen1024; /* made by the module */
static keyslot_t g_ossl2048; /* made by openssl (rsa.pem in the scratch directory) */

static const keyslot_t *gen1024(void)
{
    keyslot_t *s = &g_gen1024;
    if (s->len == 0) {
        assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, s->blob, sizeof(s->blob),
                                            &s->len),
                         FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(s->blob, s->len, &s->key), FK_CRYPTO_OK);
        fk_pk_public_of(&s->key, &s->pub);
    }
    return s;
}

static const keyslot_t *ossl2048(void)
{
    keyslot_t *s = &g_ossl2048;
    if (s->len == 0) {
        static dbuf_t der;
        fk_pk_rsa_parts_t parts;
        assert_true(tu_openssl_rsa(2048, &der, &parts));
        assert_int_equal(fk_pk_rsa_import(&parts, s->blob, sizeof(s->blob), &s->len),
                         FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(s->blob, s->len, &s->key), FK_CRYPTO_OK);
        fk_pk_public_of(&s->key, &s->pub);
        tu_write_pub("pub.der", &s->pub);
    }
    return s;
}

static void random_bytes(void *p, size_t n) { assert_int_equal(fk_rng_bytes(p, n), 0); }

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return false;
    return true;
}

/* ---- Round trips and limits ----------------------------------------------------- */

static void pkcs1_roundtrip(const keyslot_t *s, size_t len)
{
    const size_t k = s->key.n.len;
    uint8_t msg[FK_PK_RSA_MAX_LEN], ct[FK_PK_RSA_MAX_LEN], ct2[FK_PK_RSA_MAX_LEN],
        out[FK_PK_RSA_MAX_LEN];
    size_t cl = 0, ol = 0;

    random_bytes(msg, len);
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, len ? msg : NULL, len, ct, sizeof(ct), &cl),
                     FK_CRYPTO_OK);
    assert_int_equal(cl, k);
    assert_int_equal(fk_pk_rsa_decrypt_pkcs1(&s->key, ct, cl, out, sizeof(out), &ol),
                     FK_CRYPTO_OK);
    assert_int_equal(ol, len);
    if (len) assert_memory_equal(out, msg, len);
    /* Random padding: the same message twice gives two ciphertexts. */
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, len ? msg : NULL, len, ct2, sizeof(ct2),
                                             &cl),
                     FK_CRYPTO_OK);
    assert_memory_not_equal(ct, ct2, k);
    /* It is no OAEP block. */
    assert_int_equal(fk_pk_rsa_decrypt_oaep(&s->key, FK_HASH_SHA256, NULL, 0, ct, k, out,
                                            sizeof(out), &ol),
                     FK_CRYPTO_EAUTH);
}

static void test_pkcs1_roundtrip_and_limit(void **state)
{
    (void)state;
    const keyslot_t *s = gen1024();
    const size_t k = s->key.n.len;
    uint8_t msg[FK_PK_RSA_MAX_LEN] = {0}, ct[FK_PK_RSA_MAX_LEN];
    size_t cl = 99;

    assert_int_equal(k, 128);
    pkcs1_roundtrip(s, 0);
    pkcs1_roundtrip(s, 1);
    pkcs1_roundtrip(s, 32);
    pkcs1_roundtrip(s, k - 11);
    /* One byte more than the frame leaves room for: refused, output wiped. */
    memset(ct, 0xAA, sizeof(ct));
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, msg, k - 10, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(cl, 0);
    assert_true(all_zero(ct, k));
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, msg, k, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, msg, 100000, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    /* On a 2048-bit key the limit moves with the modulus. */
    const keyslot_t *big = ossl2048();
    pkcs1_roundtrip(big, 245);
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&big->pub, msg, 246, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
}

static void oaep_roundtrip(const keyslot_t *s, fk_hash_t h, const uint8_t *label,
                           size_t label_len, size_t len)
{
    const size_t k = s->key.n.len;
    uint8_t msg[FK_PK_RSA_MAX_LEN], ct[FK_PK_RSA_MAX_LEN], ct2[FK_PK_RSA_MAX_LEN],
        out[FK_PK_RSA_MAX_LEN];
    size_t cl = 0, ol = 0;

    random_bytes(msg, len);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, h, label, label_len, len ? msg : NULL, len,
                                            ct, sizeof(ct), &cl),
                     FK_CRYPTO_OK);
    assert_int_equal(cl, k);
    assert_int_equal(fk_pk_rsa_decrypt_oaep(&s->key, h, label, label_len, ct, cl, out,
                                            sizeof(out), &ol),
                     FK_CRYPTO_OK);
    assert_int_equal(ol, len);
    if (len) assert_memory_equal(out, msg, len);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, h, label, label_len, len ? msg : NULL, len,
                                            ct2, sizeof(ct2), &cl),
                     FK_CRYPTO_OK);
    assert_memory_not_equal(ct, ct2, k);
    /* Another label, another hash, PKCS#1 v1.5: none of them decodes it. */
    assert_int_equal(fk_pk_rsa_decrypt_oaep(&s->key, h, (const uint8_t *)"x", 1, ct, k, out,
                                            sizeof(out), &ol),
                     FK_CRYPTO_EAUTH);
    fk_hash_t other = h == FK_HASH_SHA1 ? FK_HASH_SHA256 : FK_HASH_SHA1;
    assert_int_equal(fk_pk_rsa_decrypt_oaep(&s->key, other, label, label_len, ct, k, out,
                                            sizeof(out), &ol),
                     FK_CRYPTO_EAUTH);
    assert_int_equal(fk_pk_rsa_decrypt_pkcs1(&s->key, ct, k, out, sizeof(out), &ol),
                     FK_CRYPTO_EAUTH);
}

static void test_oaep_roundtrip_and_limits(void **state)
{
    (void)state;
    const keyslot_t *s = gen1024();
    const size_t k = s->key.n.len;
    static const uint8_t label[] = "a label";
    uint8_t msg[FK_PK_RSA_MAX_LEN] = {0}, ct[FK_PK_RSA_MAX_LEN];
    size_t cl = 99;

    for (size_t i = 0; i < FK_ARRAY_SIZE(k_all_hashes); i++) {
        fk_hash_t h = k_all_hashes[i];
        const size_t hl = fk_hash_len(h);
        if (k < 2 * hl + 2) {
            /* SHA-512 and RSA-1024: 128 < 130, not even an empty message. */
            assert_int_equal(h, FK_HASH_SHA512);
            memset(ct, 0xAA, sizeof(ct));
            assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, h, NULL, 0, NULL, 0, ct,
                                                    sizeof(ct), &cl),
                             FK_CRYPTO_EINVAL);
            assert_int_equal(cl, 0);
            assert_true(all_zero(ct, k));
            continue;
        }
        const size_t max = k - 2 * hl - 2;
        oaep_roundtrip(s, h, NULL, 0, 0);
        oaep_roundtrip(s, h, label, sizeof(label) - 1, 1);
        oaep_roundtrip(s, h, NULL, 0, max);
        memset(ct, 0xAA, sizeof(ct));
        assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, h, NULL, 0, msg, max + 1, ct, sizeof(ct),
                                                &cl),
                         FK_CRYPTO_EINVAL);
        assert_int_equal(cl, 0);
        assert_true(all_zero(ct, k));
    }
    /* SHA-512 fits a 2048-bit modulus: 256 - 130 = 126 bytes. */
    const keyslot_t *big = ossl2048();
    oaep_roundtrip(big, FK_HASH_SHA512, label, sizeof(label) - 1, 126);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&big->pub, FK_HASH_SHA512, NULL, 0, msg, 127, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    oaep_roundtrip(big, FK_HASH_SHA256, NULL, 0, 190);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&big->pub, FK_HASH_SHA256, NULL, 0, msg, 191, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const keyslot_t *s = gen1024();
    uint8_t msg[16] = {1}, ct[FK_PK_RSA_MAX_LEN];
    size_t cl = 99;
    fk_pk_public_t pub = s->pub;

    /* Output too short for the k-byte ciphertext, or missing. */
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&pub, msg, 16, ct, 127, &cl), FK_CRYPTO_EINVAL);
    assert_int_equal(cl, 0);
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&pub, msg, 16, NULL, 128, &cl), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&pub, msg, 16, ct, 128, NULL), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&pub, FK_HASH_SHA256, NULL, 0, msg, 16, ct, 127, &cl),
                     FK_CRYPTO_EINVAL);
    /* A message pointer that is NULL with a length; a label likewise. */
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&pub, NULL, 16, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&pub, FK_HASH_SHA256, NULL, 3, msg, 16, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&pub, FK_HASH_SHA256, NULL, 0, NULL, 16, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    /* No hash, or an unknown one. */
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&pub, FK_HASH_NONE, NULL, 0, msg, 16, ct, sizeof(ct),
                                            &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&pub, (fk_hash_t)9, NULL, 0, msg, 16, ct, sizeof(ct),
                                            &cl),
                     FK_CRYPTO_EINVAL);
    /* Keys that are no RSA encryption keys. */
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(NULL, msg, 16, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    keyslot_t ec;
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, ec.blob, sizeof(ec.blob), &ec.len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(ec.blob, ec.len, &ec.key), FK_CRYPTO_OK);
    fk_pk_public_of(&ec.key, &ec.pub);
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&ec.pub, msg, 16, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&ec.pub, FK_HASH_SHA256, NULL, 0, msg, 16, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    pub.n.len = 64; /* a 512-bit modulus */
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&pub, msg, 16, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    pub = s->pub;
    static const uint8_t e_one[] = {0x01};
    pub.e = (fk_bytes_t){e_one, 1};
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&pub, msg, 16, ct, sizeof(ct), &cl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(cl, 0);
}

static void test_entropy_failure(void **state)
{
    (void)state;
    const keyslot_t *s = gen1024();
    uint8_t msg[16] = {1}, ct[FK_PK_RSA_MAX_LEN];
    size_t cl = 99;

    fk_rng_forget();
    g_entropy_fails = true;
    memset(ct, 0xAA, sizeof(ct));
    assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, msg, 16, ct, sizeof(ct), &cl),
                     FK_CRYPTO_ERNG);
    assert_int_equal(cl, 0);
    assert_true(all_zero(ct, 128));
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, FK_HASH_SHA256, NULL, 0, msg, 16, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_ERNG);
    assert_int_equal(cl, 0);
    g_entropy_fails = false;
    assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, FK_HASH_SHA256, NULL, 0, msg, 16, ct,
                                            sizeof(ct), &cl),
                     FK_CRYPTO_OK);
}

/* ---- Against openssl ------------------------------------------------------------- */

/* pkeyutl options of a padding: OAEP with hash h (and a hex label), or
 * PKCS#1 v1.5 when h is NONE. */
static const char *ossl_opts(fk_hash_t h, const char *label_hex, char *buf, size_t cap)
{
    if (h == FK_HASH_NONE) {
        snprintf(buf, cap, "-pkeyopt rsa_padding_mode:pkcs1");
    } else {
        snprintf(buf, cap,
                 "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:%s "
                 "-pkeyopt rsa_mgf1_md:%s%s%s",
                 tu_hash_name(h), tu_hash_name(h), label_hex ? " -pkeyopt rsa_oaep_label:" : "",
                 label_hex ? label_hex : "");
    }
    return buf;
}

static void cross_check(const keyslot_t *s, fk_hash_t h, bool with_label)
{
    static const uint8_t label[] = {0x6c, 0x61, 0x62, 0x65, 0x6c}; /* "label" */
    const char *label_hex = with_label ? "6c6162656c" : NULL;
    const uint8_t *lp = with_label ? label : NULL;
    const size_t ll = with_label ? sizeof(label) : 0;
    uint8_t msg[100], ct[FK_PK_RSA_MAX_LEN], out[FK_PK_RSA_MAX_LEN];
    size_t cl = 0, ol = 0;
    char opts[200];

    ossl_opts(h, label_hex, opts, sizeof(opts));
    random_bytes(msg, sizeof(msg));
    tu_write("msg.bin", msg, sizeof(msg));

    /* Ours -> openssl's decryption with the private key. */
    if (h == FK_HASH_NONE)
        assert_int_equal(fk_pk_rsa_encrypt_pkcs1(&s->pub, msg, sizeof(msg), ct, sizeof(ct), &cl),
                         FK_CRYPTO_OK);
    else
        assert_int_equal(fk_pk_rsa_encrypt_oaep(&s->pub, h, lp, ll, msg, sizeof(msg), ct,
                                                sizeof(ct), &cl),
                         FK_CRYPTO_OK);
    tu_write("ours.bin", ct, cl);
    assert_int_equal(tu_sh("rm -f dec.bin && openssl pkeyutl -decrypt -inkey rsa.pem %s "
                           "-in ours.bin -out dec.bin",
                           opts),
                     0);
    assert_int_equal(tu_read("dec.bin", out, sizeof(out)), sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));

    /* openssl's encryption with the public key -> ours. */
    assert_int_equal(tu_sh("rm -f theirs.bin && openssl pkeyutl -encrypt -pubin -inkey pub.der "
                           "-keyform DER %s -in msg.bin -out theirs.bin",
                           opts),
                     0);
    assert_int_equal(tu_read("theirs.bin", ct, sizeof(ct)), s->key.n.len);
    if (h == FK_HASH_NONE)
        assert_int_equal(fk_pk_rsa_decrypt_pkcs1(&s->key, ct, s->key.n.len, out, sizeof(out), &ol),
                         FK_CRYPTO_OK);
    else
        assert_int_equal(fk_pk_rsa_decrypt_oaep(&s->key, h, lp, ll, ct, s->key.n.len, out,
                                                sizeof(out), &ol),
                         FK_CRYPTO_OK);
    assert_int_equal(ol, sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
}

static void test_openssl_both_ways(void **state)
{
    (void)state;
    const keyslot_t *s = ossl2048();
    cross_check(s, FK_HASH_NONE, false);
    cross_check(s, FK_HASH_SHA256, false);
    cross_check(s, FK_HASH_SHA256, true);
    cross_check(s, FK_HASH_SHA1, false);
    cross_check(s, FK_HASH_SHA384, true);
    cross_check(s, FK_HASH_SHA512, false);
}

static int setup(void **state)
{
    (void)state;
    tu_dir_create();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_dir_remove();
    fk_wipe(&g_gen1024, sizeof(g_gen1024));
    fk_wipe(&g_ossl2048, sizeof(g_ossl2048));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkcs1_roundtrip_and_limit),
        cmocka_unit_test(test_oaep_roundtrip_and_limits),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_entropy_failure),
        cmocka_unit_test(test_openssl_both_ways),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
