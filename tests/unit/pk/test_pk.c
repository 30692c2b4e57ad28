/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/crypto/pk: key generation on every size and curve,
 * every signature, decryption and key agreement mechanism, cross-checked
 * against the `openssl` command line (an independent implementation): our
 * signatures verify there, its ciphertexts decrypt here, both sides derive
 * the same ECDH secrets, its keys import here. Plus published vectors
 * (FIPS 180 hashes, RFC 7748), the curve tables against OpenSSL's explicit
 * parameters, invalid points and inputs, malformed key blobs, the RSA
 * keepalive hook and a failing entropy source.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_hex.h"

#include "pk_test_util.h"

/* ---- Helpers ------------------------------------------------------------- */

static const fk_curve_t k_weierstrass[] = {
    FK_CURVE_SECP192R1, FK_CURVE_SECP256R1, FK_CURVE_SECP384R1, FK_CURVE_SECP521R1,
    FK_CURVE_BP256R1,   FK_CURVE_BP384R1,   FK_CURVE_BP512R1,   FK_CURVE_SECP192K1,
    FK_CURVE_SECP256K1,
};
static const fk_hash_t k_all_hashes[] = {FK_HASH_SHA1, FK_HASH_SHA224, FK_HASH_SHA256,
                                         FK_HASH_SHA384, FK_HASH_SHA512};

/* Keys generated once and shared by the tests. */
typedef struct keyslot {
    uint8_t blob[FK_PK_BLOB_MAX];
    size_t len;
    fk_pk_key_t key;
} keyslot_t;

static keyslot_t g_rsa1024, g_rsa2048;

static const fk_pk_key_t *rsa_key(unsigned bits)
{
    keyslot_t *s = bits == 1024 ? &g_rsa1024 : &g_rsa2048;
    if (s->len == 0) {
        assert_int_equal(fk_pk_rsa_generate(bits, 65537, NULL, NULL, s->blob, sizeof(s->blob),
                                            &s->len),
                         FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(s->blob, s->len, &s->key), FK_CRYPTO_OK);
    }
    return &s->key;
}

static void gen_ec(fk_curve_t c, keyslot_t *s)
{
    assert_int_equal(fk_pk_ec_generate(c, s->blob, sizeof(s->blob), &s->len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s->blob, s->len, &s->key), FK_CRYPTO_OK);
}

static void random_bytes(void *p, size_t n) { assert_int_equal(fk_rng_bytes(p, n), 0); }

/* ---- Hashes and DigestInfo ---------------------------------------------- */

static void test_hash_vectors(void **state)
{
    (void)state;
    /* FIPS 180-2 / 180-4 examples: "abc". */
    static const struct {
        fk_hash_t h;
        const char *hex;
    } v[] = {
        {FK_HASH_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {FK_HASH_SHA224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
        {FK_HASH_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {FK_HASH_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                         "8086072ba1e7cc2358baeca134c825a7"},
        {FK_HASH_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                         "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    };
    for (size_t i = 0; i < FK_ARRAY_SIZE(v); i++) {
        uint8_t want[64], got[64];
        size_t n = fk_test_unhex(v[i].hex, want, sizeof(want));
        assert_int_equal(fk_hash_len(v[i].h), n);
        assert_int_equal(fk_hash_from_len(n), v[i].h);
        assert_int_equal(fk_hash(v[i].h, "abc", 3, got), FK_CRYPTO_OK);
        assert_memory_equal(got, want, n);
    }
    uint8_t out[64];
    assert_int_equal(fk_hash(FK_HASH_NONE, "abc", 3, out), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hash((fk_hash_t)9, "abc", 3, out), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_hash_len(FK_HASH_NONE), 0);
    assert_int_equal(fk_hash_from_len(33), FK_HASH_NONE);
    /* The empty message. */
    assert_int_equal(fk_hash(FK_HASH_SHA256, NULL, 0, out), FK_CRYPTO_OK);
    uint8_t e256[32];
    fk_test_unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", e256, 32);
    assert_memory_equal(out, e256, 32);
}

static void test_digestinfo(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_all_hashes); i++) {
        fk_hash_t h = k_all_hashes[i], got;
        size_t pl, hl = fk_hash_len(h);
        const uint8_t *prefix = fk_digestinfo_prefix(h, &pl), *dig;
        uint8_t di[128];
        assert_non_null(prefix);
        memcpy(di, prefix, pl);
        random_bytes(di + pl, hl);
        /* The DER length fields are consistent with the digest length. */
        assert_int_equal(di[1], pl + hl - 2);
        assert_int_equal(di[pl - 1], hl);
        assert_int_equal(fk_digestinfo_parse(di, pl + hl, &got, &dig), FK_CRYPTO_OK);
        assert_int_equal(got, h);
        assert_ptr_equal(dig, di + pl);
        assert_int_equal(fk_digestinfo_parse(di, pl + hl - 1, &got, &dig), FK_CRYPTO_EINVAL);
        assert_int_equal(fk_digestinfo_parse(di, hl, &got, &dig), FK_CRYPTO_EINVAL);
        di[pl - 3] ^= 1; /* OID's last byte */
        assert_int_equal(fk_digestinfo_parse(di, pl + hl, &got, &dig), FK_CRYPTO_EINVAL);
    }
}

/* ---- Curve tables --------------------------------------------------------- */

/* OpenSSL's explicit ECParameters of a named curve against our table. */
static void check_curve_against_openssl(fk_curve_t c)
{
    const fk_curve_info_t *ci = fk_curve_info(c);
    dbuf_t der = {.n = 0};
    const uint8_t *p, *end, *v = NULL, *fp, *fend, *cp, *cend;
    uint8_t tag = 0;
    size_t len = 0;

    assert_non_null(ci);
    assert_int_equal(tu_sh("openssl ecparam -name %s -param_enc explicit -outform DER -out ec.der",
                           tu_curve_name(c)),
                     0);
    der.n = tu_read("ec.der", der.b, sizeof(der.b));
    p = der.b;
    end = der.b + der.n;
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x30);
    p = v;
    end = v + len;
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x02); /* version */
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x30); /* fieldID */
    fp = v;
    fend = v + len;
    assert_true(d_next(&fp, fend, &tag, &v, &len) && tag == 0x06);
    assert_true(d_next(&fp, fend, &tag, &v, &len) && tag == 0x02);
    d_unsign(&v, &len);
    assert_int_equal(len, ci->field_len);
    assert_memory_equal(v, ci->p, len);
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x30); /* curve */
    cp = v;
    cend = v + len;
    assert_true(d_next(&cp, cend, &tag, &v, &len) && tag == 0x04);
    assert_int_equal(len, ci->field_len);
    assert_memory_equal(v, ci->a, len);
    assert_true(d_next(&cp, cend, &tag, &v, &len) && tag == 0x04);
    assert_int_equal(len, ci->field_len);
    assert_memory_equal(v, ci->b, len);
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x04); /* base */
    assert_int_equal(len, ci->g_len);
    assert_memory_equal(v, ci->g, len);
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x02); /* order */
    d_unsign(&v, &len);
    assert_int_equal(len, ci->order_len);
    assert_memory_equal(v, ci->n, len);
    assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x02); /* cofactor */
    assert_int_equal(len, 1);
    assert_int_equal(v[0], ci->cofactor);

    /* The named-curve OID. */
    assert_int_equal(tu_sh("openssl ecparam -name %s -outform DER -out oid.der", tu_curve_name(c)),
                     0);
    der.n = tu_read("oid.der", der.b, sizeof(der.b));
    assert_int_equal(der.n, 2u + ci->oid_len);
    assert_int_equal(der.b[0], 0x06);
    assert_memory_equal(der.b + 2, ci->oid, ci->oid_len);
}

static void test_curve_tables(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_weierstrass); i++)
        check_curve_against_openssl(k_weierstrass[i]);

    /* RFC 7748 section 4.1: p = 2^255 - 19, order 2^252 + 0x14def9de...,
     * p = 2^448 - 2^224 - 1, order 2^446 - 0x8335dc16... */
    const fk_curve_info_t *x = fk_curve_info(FK_CURVE_X25519);
    uint8_t want[56];
    memset(want, 0xFF, 32);
    want[0] = 0x7F;
    want[31] = 0xED;
    assert_int_equal(x->field_len, 32);
    assert_memory_equal(x->p, want, 32);
    memset(want, 0, 32);
    want[0] = 0x10;
    fk_test_unhex("14def9dea2f79cd65812631a5cf5d3ed", want + 16, 16);
    assert_memory_equal(x->n, want, 32);
    assert_int_equal(x->g[31], 9);
    assert_int_equal(x->cofactor, 8);

    x = fk_curve_info(FK_CURVE_X448);
    memset(want, 0xFF, 56);
    want[27] = 0xFE;
    assert_int_equal(x->field_len, 56);
    assert_memory_equal(x->p, want, 56);
    /* 2^446 - c: 0x3FFF..FF in the top 28 bytes, 2^224 - c below. */
    uint8_t c[28];
    fk_test_unhex("8335dc163bb124b65129c96fde933d8d723a70aadc873d6d54a7bb0d", c, 28);
    memset(want, 0xFF, 28);
    want[0] = 0x3F;
    unsigned borrow = 0;
    for (int i = 27; i >= 0; i--) {
        int d = 0 - c[i] - (int)borrow;
        borrow = d < 0;
        want[28 + i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    assert_memory_equal(x->n, want, 56);
    assert_int_equal(x->g[55], 5);
    assert_int_equal(x->cofactor, 4);

    assert_null(fk_curve_info(FK_CURVE_NONE));
    assert_null(fk_curve_info((fk_curve_t)12));
}

static void test_curve_lookup(void **state)
{
    (void)state;
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        const fk_curve_info_t *ci = fk_curve_info((fk_curve_t)c);
        uint8_t padded[FK_EC_POINT_MAX];
        assert_int_equal(fk_curve_from_oid(ci->oid, ci->oid_len), c);
        assert_int_equal(fk_curve_from_oid(ci->oid, ci->oid_len - 1u), FK_CURVE_NONE);
        if (ci->montgomery) continue;
        assert_int_equal(fk_curve_from_domain(ci->p, ci->field_len, ci->a, ci->field_len, ci->g,
                                              ci->g_len),
                         c);
        assert_int_equal(fk_curve_from_domain(ci->p, ci->field_len, ci->a, ci->field_len, NULL, 0),
                         c);
        /* A leading zero on p and a short a are the same numbers. */
        padded[0] = 0;
        memcpy(padded + 1, ci->p, ci->field_len);
        const uint8_t *a = ci->a;
        size_t al = ci->field_len;
        while (al > 0 && a[0] == 0) {
            a++;
            al--;
        }
        assert_int_equal(fk_curve_from_domain(padded, ci->field_len + 1u, a, al, NULL, 0), c);
        /* A wrong a or G is no curve. */
        uint8_t bad[FK_EC_POINT_MAX];
        memcpy(bad, ci->a, ci->field_len);
        bad[ci->field_len - 1] ^= 1;
        assert_int_equal(fk_curve_from_domain(ci->p, ci->field_len, bad, ci->field_len, NULL, 0),
                         FK_CURVE_NONE);
        memcpy(bad, ci->g, ci->g_len);
        bad[ci->g_len - 1] ^= 1;
        assert_int_equal(fk_curve_from_domain(ci->p, ci->field_len, NULL, 0, bad, ci->g_len),
                         FK_CURVE_NONE);
    }
    /* brainpoolP256t1 shares its prime with r1 but not a: never r1. */
    dbuf_t der = {.n = 0};
    assert_int_equal(tu_sh("openssl ecparam -name brainpoolP256t1 -param_enc explicit -outform DER "
                           "-out t1.der"),
                     0);
    der.n = tu_read("t1.der", der.b, sizeof(der.b));
    const uint8_t *p = der.b, *end = der.b + der.n, *v = NULL, *cp;
    uint8_t tag = 0;
    size_t len = 0;
    assert_true(d_next(&p, end, &tag, &v, &len));
    p = v;
    end = v + len;
    assert_true(d_next(&p, end, &tag, &v, &len)); /* version */
    assert_true(d_next(&p, end, &tag, &v, &len)); /* field */
    assert_true(d_next(&p, end, &tag, &v, &len)); /* curve */
    cp = v;
    assert_true(d_next(&cp, v + len, &tag, &v, &len) && tag == 0x04);
    const fk_curve_info_t *bp = fk_curve_info(FK_CURVE_BP256R1);
    assert_int_equal(fk_curve_from_domain(bp->p, 32, v, len, NULL, 0), FK_CURVE_NONE);
    assert_int_equal(fk_curve_from_domain(bp->p, 32, NULL, 0, NULL, 0), FK_CURVE_BP256R1);

    /* Montgomery primes: base point 9 / 5 in either byte order. */
    const fk_curve_info_t *x = fk_curve_info(FK_CURVE_X25519);
    uint8_t g[56] = {0};
    assert_int_equal(fk_curve_from_domain(x->p, 32, NULL, 0, x->g, 32), FK_CURVE_X25519);
    g[0] = 9;
    assert_int_equal(fk_curve_from_domain(x->p, 32, x->n, 32, g, 32), FK_CURVE_X25519);
    assert_int_equal(fk_curve_from_domain(x->p, 32, NULL, 0, g, 1), FK_CURVE_X25519);
    assert_int_equal(fk_curve_from_domain(x->p, 32, NULL, 0, NULL, 0), FK_CURVE_NONE);
    g[0] = 0x58; /* Ed25519's base point y = 0x6666...58 (little-endian) */
    memset(g + 1, 0x66, 31);
    assert_int_equal(fk_curve_from_domain(x->p, 32, NULL, 0, g, 32), FK_CURVE_NONE);
    const fk_curve_info_t *y = fk_curve_info(FK_CURVE_X448);
    memset(g, 0, sizeof(g));
    g[0] = 5;
    assert_int_equal(fk_curve_from_domain(y->p, 56, NULL, 0, g, 56), FK_CURVE_X448);
    assert_int_equal(fk_curve_from_domain(y->p, 56, NULL, 0, y->g, 56), FK_CURVE_X448);
    /* Unknown prime. */
    uint8_t junk[32];
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(fk_curve_from_domain(junk, 32, NULL, 0, NULL, 0), FK_CURVE_NONE);
}

/* ---- RSA -------------------------------------------------------------------- */

static void check_rsa_blob(const keyslot_t *s, unsigned bits, uint32_t e)
{
    const fk_pk_key_t *k = &s->key;
    assert_int_equal(k->type, FK_PK_RSA);
    assert_int_equal(k->bits, bits);
    assert_int_equal(k->n.len, bits / 8);
    assert_true(k->n.p[0] & 0x80);
    uint32_t got_e = 0;
    for (size_t i = 0; i < k->e.len; i++) got_e = (got_e << 8) | k->e.p[i];
    assert_int_equal(got_e, e);
    assert_int_equal(k->p.len, bits / 16);
    assert_true(s->len <= FK_PK_BLOB_MAX);
}

/* Sign a random digest with PKCS#1 v1.5 and check it with openssl, with our
 * verifier, and that the DigestInfo form gives the same signature. */
static void rsa_pkcs1_roundtrip(const fk_pk_key_t *k, fk_hash_t h)
{
    uint8_t hash[64], sig[512], sig2[512], di[128];
    size_t hl = fk_hash_len(h), sl, sl2, pl;
    fk_pk_public_t pub;

    fk_pk_public_of(k, &pub);
    random_bytes(hash, hl);
    assert_int_equal(fk_pk_rsa_sign_pkcs1(k, h, hash, hl, sig, sizeof(sig), &sl), FK_CRYPTO_OK);
    assert_int_equal(sl, k->n.len);
    tu_write_pub("pub.der", &pub);
    tu_write("hash.bin", hash, hl);
    tu_write("sig.bin", sig, sl);
    assert_int_equal(tu_sh("openssl pkeyutl -verify -pubin -inkey pub.der -keyform DER "
                           "-in hash.bin "
                           "-sigfile sig.bin -pkeyopt rsa_padding_mode:pkcs1 -pkeyopt digest:%s",
                           tu_hash_name(h)),
                     0);
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, h, hash, hl, sig, sl), FK_CRYPTO_OK);

    const uint8_t *prefix = fk_digestinfo_prefix(h, &pl);
    memcpy(di, prefix, pl);
    memcpy(di + pl, hash, hl);
    assert_int_equal(fk_pk_rsa_sign_pkcs1(k, FK_HASH_NONE, di, pl + hl, sig2, sizeof(sig2), &sl2),
                     FK_CRYPTO_OK);
    assert_int_equal(sl2, sl);
    assert_memory_equal(sig, sig2, sl); /* v1.5 is deterministic */
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_NONE, di, pl + hl, sig, sl),
                     FK_CRYPTO_OK);

    sig[sl / 2] ^= 0x10;
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, h, hash, hl, sig, sl), FK_CRYPTO_EAUTH);
    tu_write("sig.bin", sig, sl);
    assert_int_not_equal(tu_sh("openssl pkeyutl -verify -pubin -inkey pub.der -keyform DER -in "
                               "hash.bin -sigfile sig.bin -pkeyopt digest:%s",
                               tu_hash_name(h)),
                         0);
}

static void rsa_pss_roundtrip(const fk_pk_key_t *k, fk_hash_t h)
{
    uint8_t hash[64], sig[512];
    size_t hl = fk_hash_len(h), sl;
    fk_pk_public_t pub;
    /* The salt is the digest length when it fits (emLen >= 2 hLen + 2). */
    bool full_salt = k->n.len >= 2 * hl + 2;

    fk_pk_public_of(k, &pub);
    random_bytes(hash, hl);
    assert_int_equal(fk_pk_rsa_sign_pss(k, h, hash, hl, sig, sizeof(sig), &sl), FK_CRYPTO_OK);
    assert_int_equal(sl, k->n.len);
    tu_write_pub("pub.der", &pub);
    tu_write("hash.bin", hash, hl);
    tu_write("sig.bin", sig, sl);
    assert_int_equal(tu_sh("openssl pkeyutl -verify -pubin -inkey pub.der -keyform DER "
                           "-in hash.bin "
                           "-sigfile sig.bin -pkeyopt rsa_padding_mode:pss -pkeyopt digest:%s "
                           "-pkeyopt rsa_mgf1_md:%s -pkeyopt rsa_pss_saltlen:%s",
                           tu_hash_name(h), tu_hash_name(h), full_salt ? "digest" : "auto"),
                     0);
    assert_int_equal(fk_pk_rsa_verify_pss(&pub, h, hash, hl, sig, sl), FK_CRYPTO_OK);
    hash[0] ^= 1;
    assert_int_equal(fk_pk_rsa_verify_pss(&pub, h, hash, hl, sig, sl), FK_CRYPTO_EAUTH);
}

static void test_rsa_generate_1024_2048(void **state)
{
    (void)state;
    rsa_key(1024);
    rsa_key(2048);
    check_rsa_blob(&g_rsa1024, 1024, 65537);
    check_rsa_blob(&g_rsa2048, 2048, 65537);
    /* Two generations differ. */
    assert_memory_not_equal(g_rsa1024.key.n.p, g_rsa2048.key.n.p, 128);

    keyslot_t e3;
    assert_int_equal(fk_pk_rsa_generate(1024, 3, NULL, NULL, e3.blob, sizeof(e3.blob), &e3.len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(e3.blob, e3.len, &e3.key), FK_CRYPTO_OK);
    check_rsa_blob(&e3, 1024, 3);
    rsa_pkcs1_roundtrip(&e3.key, FK_HASH_SHA256);
}

static void test_rsa_generate_rejects(void **state)
{
    (void)state;
    uint8_t blob[64];
    size_t len = 99;
    static const struct {
        unsigned bits;
        uint32_t e;
    } bad[] = {
        {1024, 65536}, {1024, 1}, {1024, 0}, {1024, 2}, {1024, 0x80000001u},
        {512, 65537},  {1016, 65537}, {4104, 65537}, {1028, 65537}, {0, 65537},
    };
    for (size_t i = 0; i < FK_ARRAY_SIZE(bad); i++) {
        assert_int_equal(fk_pk_rsa_generate(bad[i].bits, bad[i].e, NULL, NULL, blob, sizeof(blob),
                                            &len),
                         FK_CRYPTO_EINVAL);
        assert_int_equal(len, 0);
    }
    /* A blob buffer too small for the key. */
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, blob, sizeof(blob), &len),
                     FK_CRYPTO_EINVAL);
}

typedef struct ka_log {
    unsigned calls;
    uint64_t last;
    uint64_t min_gap;
} ka_log_t;

static void keepalive(void *arg)
{
    ka_log_t *l = arg;
    uint64_t now = g_clock_ms;
    if (l->calls > 0 && now - l->last < l->min_gap) l->min_gap = now - l->last;
    l->calls++;
    l->last = now;
}

static void test_rsa_keepalive(void **state)
{
    (void)state;
    keyslot_t s;
    ka_log_t log = {0, 0, UINT64_MAX};
    /* A fake clock that advances 50 ms per reading: the hook must come
     * regularly, and never twice within FK_PK_KEEPALIVE_MS. */
    g_fake_clock = true;
    g_clock_ms = 1000;
    int rc = fk_pk_rsa_generate(2048, 65537, keepalive, &log, s.blob, sizeof(s.blob), &s.len);
    uint64_t elapsed = g_clock_ms - 1000;
    g_fake_clock = false;
    assert_int_equal(rc, FK_CRYPTO_OK);
    assert_true(log.calls >= 1);
    assert_true(log.min_gap >= FK_PK_KEEPALIVE_MS);
    /* ...and at least once per 200 ms plus one clock step of fake time. */
    assert_true(log.calls >= elapsed / (FK_PK_KEEPALIVE_MS + g_clock_step) - 1);
}

static void test_rsa_3072_4096(void **state)
{
    (void)state;
    static keyslot_t s;
    assert_int_equal(fk_pk_rsa_generate(3072, 65537, NULL, NULL, s.blob, sizeof(s.blob), &s.len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s.blob, s.len, &s.key), FK_CRYPTO_OK);
    check_rsa_blob(&s, 3072, 65537);
    rsa_pss_roundtrip(&s.key, FK_HASH_SHA384);

    assert_int_equal(fk_pk_rsa_generate(4096, 65537, NULL, NULL, s.blob, sizeof(s.blob), &s.len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s.blob, s.len, &s.key), FK_CRYPTO_OK);
    check_rsa_blob(&s, 4096, 65537);
    assert_true(s.len <= 4096 - 100);
    print_message("RSA-4096 blob: %zu bytes\n", s.len);
    rsa_pkcs1_roundtrip(&s.key, FK_HASH_SHA512);
    rsa_pss_roundtrip(&s.key, FK_HASH_SHA256);
    fk_wipe(&s, sizeof(s));
}

static void test_rsa_pkcs1_all_hashes(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_all_hashes); i++) {
        rsa_pkcs1_roundtrip(rsa_key(2048), k_all_hashes[i]);
        rsa_pkcs1_roundtrip(rsa_key(1024), k_all_hashes[i]);
    }
    const fk_pk_key_t *k = rsa_key(1024);
    uint8_t sig[256], in[128];
    size_t sl;
    memset(in, 0x11, sizeof(in));
    /* Wrong digest length, DigestInfo too long for the modulus, small output. */
    assert_int_equal(fk_pk_rsa_sign_pkcs1(k, FK_HASH_SHA256, in, 31, sig, sizeof(sig), &sl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_sign_pkcs1(k, FK_HASH_NONE, in, 128 - 10, sig, sizeof(sig), &sl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_sign_pkcs1(k, FK_HASH_NONE, in, 128 - 11, sig, sizeof(sig), &sl),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_rsa_sign_pkcs1(k, FK_HASH_SHA256, in, 32, sig, 127, &sl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(sl, 0);
}

static void test_rsa_pss_all_hashes(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_all_hashes); i++) {
        rsa_pss_roundtrip(rsa_key(2048), k_all_hashes[i]);
        rsa_pss_roundtrip(rsa_key(1024), k_all_hashes[i]); /* SHA-512: shorter salt */
    }
    uint8_t hash[64] = {0}, sig[256];
    size_t sl;
    assert_int_equal(fk_pk_rsa_sign_pss(rsa_key(1024), FK_HASH_SHA256, hash, 20, sig, sizeof(sig),
                                        &sl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_sign_pss(rsa_key(1024), FK_HASH_NONE, hash, 20, sig, sizeof(sig),
                                        &sl),
                     FK_CRYPTO_EINVAL);
}

static void test_rsa_raw(void **state)
{
    (void)state;
    const fk_pk_key_t *k = rsa_key(2048);
    fk_pk_public_t pub;
    uint8_t in[256], out[256], back[300];
    size_t ol;

    fk_pk_public_of(k, &pub);
    tu_write_pub("pub.der", &pub);
    /* m^d, recovered by openssl as (m^d)^e with no padding. */
    random_bytes(in, sizeof(in));
    in[0] = 0x00;
    in[1] = 0x01;
    assert_int_equal(fk_pk_rsa_private(k, in, sizeof(in), out, sizeof(out), &ol), FK_CRYPTO_OK);
    assert_int_equal(ol, 256);
    tu_write("sig.bin", out, ol);
    assert_int_equal(tu_sh("openssl pkeyutl -verifyrecover -pubin -inkey pub.der -keyform DER "
                           "-pkeyopt rsa_padding_mode:none -in sig.bin -out rec.bin"),
                     0);
    assert_int_equal(tu_read("rec.bin", back, sizeof(back)), 256);
    assert_memory_equal(back, in, 256);

    /* Decrypt a raw ciphertext made by openssl: the k-byte result keeps its
     * leading zeros. */
    memset(in, 0, sizeof(in));
    random_bytes(in + 3, sizeof(in) - 3);
    tu_write("msg.bin", in, sizeof(in));
    assert_int_equal(tu_sh("openssl pkeyutl -encrypt -pubin -inkey pub.der -keyform DER "
                           "-pkeyopt rsa_padding_mode:none -in msg.bin -out ct.bin"),
                     0);
    uint8_t ct[256];
    assert_int_equal(tu_read("ct.bin", ct, sizeof(ct)), 256);
    assert_int_equal(fk_pk_rsa_private(k, ct, 256, out, sizeof(out), &ol), FK_CRYPTO_OK);
    assert_int_equal(ol, 256);
    assert_memory_equal(out, in, 256);

    /* Inputs >= n, or not exactly k bytes, are refused. */
    memcpy(in, k->n.p, 256);
    assert_int_equal(fk_pk_rsa_private(k, in, 256, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(ol, 0);
    in[255] ^= 1; /* n is odd: n with the low bit cleared is n - 1 */
    assert_int_equal(fk_pk_rsa_private(k, in, 256, out, sizeof(out), &ol), FK_CRYPTO_OK);
    memset(in, 0xFF, 256);
    assert_int_equal(fk_pk_rsa_private(k, in, 256, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_private(k, ct, 255, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_rsa_private(k, ct, 256, out, 255, &ol), FK_CRYPTO_EINVAL);
    uint8_t longer[257] = {0};
    memcpy(longer + 1, ct, 256);
    assert_int_equal(fk_pk_rsa_private(k, longer, 257, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
}

static void test_rsa_decrypt_paddings(void **state)
{
    (void)state;
    const fk_pk_key_t *k = rsa_key(2048);
    fk_pk_public_t pub;
    uint8_t msg[100], ct[256], out[256];
    size_t ol;

    fk_pk_public_of(k, &pub);
    tu_write_pub("pub.der", &pub);
    random_bytes(msg, sizeof(msg));
    tu_write("msg.bin", msg, sizeof(msg));

    /* PKCS#1 v1.5 type 2. */
    assert_int_equal(tu_sh("openssl pkeyutl -encrypt -pubin -inkey pub.der -keyform DER "
                           "-pkeyopt rsa_padding_mode:pkcs1 -in msg.bin -out ct.bin"),
                     0);
    assert_int_equal(tu_read("ct.bin", ct, sizeof(ct)), 256);
    assert_int_equal(fk_pk_rsa_decrypt_pkcs1(k, ct, 256, out, sizeof(out), &ol), FK_CRYPTO_OK);
    assert_int_equal(ol, sizeof(msg));
    assert_memory_equal(out, msg, sizeof(msg));
    assert_int_equal(fk_pk_rsa_decrypt_pkcs1(k, ct, 256, out, 99, &ol), FK_CRYPTO_EINVAL);
    /* The same ciphertext is no OAEP. */
    assert_int_equal(fk_pk_rsa_decrypt_oaep(k, FK_HASH_SHA1, NULL, 0, ct, 256, out, sizeof(out),
                                            &ol),
                     FK_CRYPTO_EAUTH);
    assert_int_equal(ol, 0);
    ct[200] ^= 0x40;
    assert_int_equal(fk_pk_rsa_decrypt_pkcs1(k, ct, 256, out, sizeof(out), &ol), FK_CRYPTO_EAUTH);

    /* OAEP with every hash (label hash and MGF1), with and without a label. */
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_all_hashes); i++) {
        fk_hash_t h = k_all_hashes[i];
        const char *hn = tu_hash_name(h);
        bool label = i % 2 == 1;
        assert_int_equal(tu_sh("openssl pkeyutl -encrypt -pubin -inkey pub.der -keyform DER "
                               "-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:%s "
                               "-pkeyopt rsa_mgf1_md:%s %s -in msg.bin -out ct.bin",
                               hn, hn, label ? "-pkeyopt rsa_oaep_label:6c6162656c" : ""),
                         0);
        assert_int_equal(tu_read("ct.bin", ct, sizeof(ct)), 256);
        assert_int_equal(fk_pk_rsa_decrypt_oaep(k, h, label ? (const uint8_t *)"label" : NULL,
                                                label ? 5 : 0, ct, 256, out, sizeof(out), &ol),
                         FK_CRYPTO_OK);
        assert_int_equal(ol, sizeof(msg));
        assert_memory_equal(out, msg, sizeof(msg));
        /* Wrong label, wrong hash, corrupted ciphertext. */
        assert_int_equal(fk_pk_rsa_decrypt_oaep(k, h, (const uint8_t *)"lab", 3, ct, 256, out,
                                                sizeof(out), &ol),
                         FK_CRYPTO_EAUTH);
        fk_hash_t other = h == FK_HASH_SHA256 ? FK_HASH_SHA1 : FK_HASH_SHA256;
        assert_int_equal(fk_pk_rsa_decrypt_oaep(k, other, label ? (const uint8_t *)"label" : NULL,
                                                label ? 5 : 0, ct, 256, out, sizeof(out), &ol),
                         FK_CRYPTO_EAUTH);
        ct[255] ^= 1;
        assert_int_equal(fk_pk_rsa_decrypt_oaep(k, h, label ? (const uint8_t *)"label" : NULL,
                                                label ? 5 : 0, ct, 256, out, sizeof(out), &ol),
                         FK_CRYPTO_EAUTH);
    }
}

static void test_rsa_import_openssl(void **state)
{
    (void)state;
    dbuf_t der;
    fk_pk_rsa_parts_t all, sub;
    keyslot_t s;

    assert_true(tu_openssl_rsa(2048, &der, &all));
    assert_int_equal(tu_sh("openssl pkey -in rsa.pem -pubout -outform DER -out ossl_pub.der"), 0);
    /* All five, {n, e, d} (primes recovered), {p, q, e} (d derived). */
    for (int form = 0; form < 3; form++) {
        sub = all;
        if (form == 1) sub.p = sub.q = (fk_bytes_t){NULL, 0};
        if (form == 2) sub.n = sub.d = (fk_bytes_t){NULL, 0};
        assert_int_equal(fk_pk_rsa_import(&sub, s.blob, sizeof(s.blob), &s.len), FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(s.blob, s.len, &s.key), FK_CRYPTO_OK);
        assert_int_equal(s.key.bits, 2048);
        assert_memory_equal(s.key.n.p, all.n.p, 256);
        /* Sign here, verify with openssl's own public key file. */
        uint8_t hash[32], sig[256];
        size_t sl;
        random_bytes(hash, sizeof(hash));
        assert_int_equal(fk_pk_rsa_sign_pkcs1(&s.key, FK_HASH_SHA256, hash, 32, sig, sizeof(sig),
                                              &sl),
                         FK_CRYPTO_OK);
        tu_write("hash.bin", hash, 32);
        tu_write("sig.bin", sig, sl);
        assert_int_equal(tu_sh("openssl pkeyutl -verify -pubin -inkey ossl_pub.der -keyform DER "
                               "-in hash.bin -sigfile sig.bin -pkeyopt digest:sha256"),
                         0);
    }
    /* An inconsistent key: d from another key. */
    uint8_t d2[256];
    memcpy(d2, rsa_key(2048)->d.p, 256);
    sub = all;
    sub.d.p = d2;
    sub.d.len = 256;
    assert_int_equal(fk_pk_rsa_import(&sub, s.blob, sizeof(s.blob), &s.len), FK_CRYPTO_EINVAL);
    assert_int_equal(s.len, 0);
    /* Missing e. */
    sub = all;
    memset(&sub.e, 0, sizeof(sub.e));
    assert_int_equal(fk_pk_rsa_import(&sub, s.blob, sizeof(s.blob), &s.len), FK_CRYPTO_EINVAL);
    /* Too short a modulus. */
    assert_true(tu_openssl_rsa(512, &der, &all));
    assert_int_equal(fk_pk_rsa_import(&all, s.blob, sizeof(s.blob), &s.len), FK_CRYPTO_EINVAL);
}

/* ---- EC --------------------------------------------------------------------- */

static void ecdsa_roundtrip(const keyslot_t *s, fk_hash_t h)
{
    const fk_curve_info_t *ci = fk_curve_info(s->key.curve);
    uint8_t hash[64], der[FK_PK_ECDSA_DER_MAX], plain[2 * FK_EC_MAX_LEN];
    size_t hl = fk_hash_len(h), dl, pl;
    fk_pk_public_t pub;

    fk_pk_public_of(&s->key, &pub);
    random_bytes(hash, hl);
    assert_int_equal(fk_pk_ecdsa_sign(&s->key, hash, hl, FK_SIG_DER, der, sizeof(der), &dl),
                     FK_CRYPTO_OK);
    tu_write_pub("pub.der", &pub);
    tu_write("hash.bin", hash, hl);
    tu_write("sig.der", der, dl);
    assert_int_equal(tu_sh("openssl pkeyutl -verify -pubin -inkey pub.der -keyform DER "
                           "-in hash.bin "
                           "-sigfile sig.der"),
                     0);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_DER, der, dl), FK_CRYPTO_OK);

    assert_int_equal(fk_pk_ecdsa_sign(&s->key, hash, hl, FK_SIG_PLAIN, plain, sizeof(plain), &pl),
                     FK_CRYPTO_OK);
    assert_int_equal(pl, 2u * ci->order_len);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_PLAIN, plain, pl), FK_CRYPTO_OK);
    /* Cross formats and tampering fail. */
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_PLAIN, der, dl), FK_CRYPTO_EAUTH);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_DER, plain, pl), FK_CRYPTO_EAUTH);
    plain[pl - 1] ^= 1;
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_PLAIN, plain, pl), FK_CRYPTO_EAUTH);
    hash[0] ^= 0x80;
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, hl, FK_SIG_DER, der, dl), FK_CRYPTO_EAUTH);
    tu_write("hash.bin", hash, hl);
    assert_int_not_equal(tu_sh("openssl pkeyutl -verify -pubin -inkey pub.der -keyform DER -in "
                               "hash.bin -sigfile sig.der"),
                         0);
}

static void test_ec_generate_sign_all_curves(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_weierstrass); i++) {
        keyslot_t s;
        const fk_curve_info_t *ci = fk_curve_info(k_weierstrass[i]);
        gen_ec(k_weierstrass[i], &s);
        assert_int_equal(s.key.type, FK_PK_EC);
        assert_int_equal(s.key.curve, k_weierstrass[i]);
        assert_int_equal(s.key.d.len, ci->order_len);
        assert_int_equal(s.key.pub.len, 1u + 2u * ci->field_len);
        fk_pk_public_t pub;
        fk_pk_public_of(&s.key, &pub);
        assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_OK);
        /* Every hash, including digests longer than the order (truncated). */
        for (size_t j = 0; j < FK_ARRAY_SIZE(k_all_hashes); j++)
            ecdsa_roundtrip(&s, k_all_hashes[j]);
    }
    keyslot_t m;
    gen_ec(FK_CURVE_X25519, &m);
    assert_int_equal(m.key.type, FK_PK_MONT);
    assert_int_equal(m.key.pub.len, 32);
    gen_ec(FK_CURVE_X448, &m);
    assert_int_equal(m.key.type, FK_PK_MONT);
    assert_int_equal(m.key.pub.len, 56);
    uint8_t sig[200], hash[32] = {1};
    size_t sl;
    assert_int_equal(fk_pk_ecdsa_sign(&m.key, hash, 32, FK_SIG_DER, sig, sizeof(sig), &sl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_NONE, m.blob, sizeof(m.blob), &m.len),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP521R1, m.blob, 100, &m.len), FK_CRYPTO_EINVAL);
}

static void test_ecdsa_malformed_signatures(void **state)
{
    (void)state;
    keyslot_t s;
    fk_pk_public_t pub;
    uint8_t hash[32], der[FK_PK_ECDSA_DER_MAX], bad[FK_PK_ECDSA_DER_MAX + 4];
    size_t dl;

    gen_ec(FK_CURVE_SECP256R1, &s);
    fk_pk_public_of(&s.key, &pub);
    random_bytes(hash, sizeof(hash));
    assert_int_equal(fk_pk_ecdsa_sign(&s.key, hash, 32, FK_SIG_DER, der, sizeof(der), &dl),
                     FK_CRYPTO_OK);
    /* Every truncation and a trailing byte. */
    for (size_t n = 0; n < dl; n++)
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, der, n), FK_CRYPTO_EAUTH);
    memcpy(bad, der, dl);
    bad[dl] = 0;
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, bad, dl + 1), FK_CRYPTO_EAUTH);
    /* A non-minimal INTEGER (extra leading zero) is refused. */
    size_t rl = der[3];
    bad[0] = 0x30;
    bad[1] = (uint8_t)(der[1] + 1);
    bad[2] = 0x02;
    bad[3] = (uint8_t)(rl + 1);
    bad[4] = 0x00;
    memcpy(bad + 5, der + 4, dl - 4);
    if (bad[5] != 0x00) /* r had no sign byte: now non-minimal */
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, bad, dl + 1),
                         FK_CRYPTO_EAUTH);
    /* Every single-byte corruption is refused. */
    for (size_t i = 0; i < dl; i++) {
        memcpy(bad, der, dl);
        bad[i] ^= 0x01;
        assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, bad, dl), FK_CRYPTO_EAUTH);
    }
    /* Output buffers too small for the signature. */
    assert_int_equal(fk_pk_ecdsa_sign(&s.key, hash, 32, FK_SIG_DER, bad, 8, &dl), FK_CRYPTO_EINVAL);
    assert_int_equal(dl, 0);
    assert_int_equal(fk_pk_ecdsa_sign(&s.key, hash, 32, FK_SIG_PLAIN, bad, 63, &dl),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ecdsa_sign(&s.key, hash, 0, FK_SIG_PLAIN, bad, 64, &dl),
                     FK_CRYPTO_EINVAL);
    /* r = 0, s = 0 in plain form. */
    memset(bad, 0, 64);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_PLAIN, bad, 64), FK_CRYPTO_EAUTH);
}

/* Our public key's SPKI and an openssl peer: both sides derive the same. */
static void ecdh_against_openssl(fk_curve_t c)
{
    keyslot_t s;
    fk_pk_public_t pub;
    const fk_curve_info_t *ci = fk_curve_info(c);
    uint8_t peer_der[300], ossl[100], ours[100];
    size_t pdl, ol, sl;

    gen_ec(c, &s);
    fk_pk_public_of(&s.key, &pub);
    tu_write_pub("our.der", &pub);
    if (ci->montgomery)
        assert_int_equal(tu_sh("openssl genpkey -algorithm %s -out peer.pem", tu_curve_name(c)), 0);
    else
        assert_int_equal(tu_sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:%s "
                               "-pkeyopt ec_param_enc:named_curve -out peer.pem",
                               tu_curve_name(c)),
                         0);
    assert_int_equal(tu_sh("openssl pkey -in peer.pem -pubout -outform DER -out peer.der"), 0);
    assert_int_equal(tu_sh("openssl pkeyutl -derive -inkey peer.pem -peerkey our.der "
                           "-peerform DER -out shared.bin"),
                     0);
    pdl = tu_read("peer.der", peer_der, sizeof(peer_der));
    ol = tu_read("shared.bin", ossl, sizeof(ossl));
    assert_int_equal(ol, ci->field_len);
    size_t point_len = ci->montgomery ? ci->field_len : 1u + 2u * ci->field_len;
    assert_true(pdl > point_len);
    assert_int_equal(fk_pk_ecdh(&s.key, peer_der + pdl - point_len, point_len, ours, sizeof(ours),
                                &sl),
                     FK_CRYPTO_OK);
    assert_int_equal(sl, ci->field_len);
    assert_memory_equal(ours, ossl, sl);
}

static void test_ecdh_all_curves(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_weierstrass); i++)
        ecdh_against_openssl(k_weierstrass[i]);
    ecdh_against_openssl(FK_CURVE_X25519);
    ecdh_against_openssl(FK_CURVE_X448);
}

static void test_ecdh_invalid_points(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_weierstrass); i++) {
        keyslot_t s, peer;
        const fk_curve_info_t *ci = fk_curve_info(k_weierstrass[i]);
        uint8_t pt[FK_EC_POINT_MAX], out[FK_EC_MAX_LEN];
        size_t n = ci->g_len, ol;
        fk_pk_public_t pub;

        gen_ec(ci->id, &s);
        gen_ec(ci->id, &peer);
        memcpy(pt, peer.key.pub.p, n);
        assert_int_equal(fk_pk_ecdh(&s.key, pt, n, out, sizeof(out), &ol), FK_CRYPTO_OK);
        /* Off the curve: y + 1. */
        pt[n - 1] ^= 1;
        assert_int_equal(fk_pk_ecdh(&s.key, pt, n, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
        assert_int_equal(ol, 0);
        pub = (fk_pk_public_t){.type = FK_PK_EC, .curve = ci->id, .point = {pt, n}};
        assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
        pt[n - 1] ^= 1;
        /* Compressed, infinity, wrong lengths, x = p. */
        pt[0] = 0x02;
        assert_int_equal(fk_pk_ecdh(&s.key, pt, n, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
        assert_int_equal(fk_pk_ecdh(&s.key, pt, 1 + ci->field_len, out, sizeof(out), &ol),
                         FK_CRYPTO_EINVAL);
        pt[0] = 0x04;
        assert_int_equal(fk_pk_ecdh(&s.key, (const uint8_t *)"", 1, out, sizeof(out), &ol),
                         FK_CRYPTO_EINVAL);
        assert_int_equal(fk_pk_ecdh(&s.key, pt, n - 1, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
        assert_int_equal(fk_pk_ecdh(&s.key, pt, 0, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
        memcpy(pt + 1, ci->p, ci->field_len);
        assert_int_equal(fk_pk_ecdh(&s.key, pt, n, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
        memset(pt + 1, 0, n - 1);
        assert_int_equal(fk_pk_ecdh(&s.key, pt, n, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
        /* The generator is a fine point; a too-small output buffer is not. */
        assert_int_equal(fk_pk_ecdh(&s.key, ci->g, n, out, sizeof(out), &ol), FK_CRYPTO_OK);
        assert_int_equal(fk_pk_ecdh(&s.key, ci->g, n, out, ci->field_len - 1u, &ol),
                         FK_CRYPTO_EINVAL);
    }

    /* X25519 points of small order give an all-zero secret: refused
     * (u = 0, u = 1, and a point of order 8). */
    keyslot_t x;
    uint8_t u[32], out[56];
    size_t ol;
    gen_ec(FK_CURVE_X25519, &x);
    memset(u, 0, 32);
    assert_int_equal(fk_pk_ecdh(&x.key, u, 32, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    u[0] = 1;
    assert_int_equal(fk_pk_ecdh(&x.key, u, 32, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    fk_test_unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", u, 32);
    assert_int_equal(fk_pk_ecdh(&x.key, u, 32, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ecdh(&x.key, u, 31, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ecdh(&x.key, u, 33, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    gen_ec(FK_CURVE_X448, &x);
    uint8_t v[56] = {0};
    assert_int_equal(fk_pk_ecdh(&x.key, v, 56, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    v[0] = 1;
    assert_int_equal(fk_pk_ecdh(&x.key, v, 56, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
}

static void test_x25519_x448_rfc7748(void **state)
{
    (void)state;
    uint8_t a[56], b_pub[56], want[56], out[56], a_pub[56];
    size_t ol;
    keyslot_t s;

    /* RFC 7748 section 6.1. */
    fk_test_unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    fk_test_unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pub, 32);
    fk_test_unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pub, 32);
    fk_test_unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
    assert_int_equal(fk_pk_ec_import(FK_CURVE_X25519, a, 32, s.blob, sizeof(s.blob), &s.len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s.blob, s.len, &s.key), FK_CRYPTO_OK);
    assert_memory_equal(s.key.pub.p, a_pub, 32);
    assert_int_equal(fk_pk_ecdh(&s.key, b_pub, 32, out, sizeof(out), &ol), FK_CRYPTO_OK);
    assert_int_equal(ol, 32);
    assert_memory_equal(out, want, 32);

    /* RFC 7748 section 6.2. */
    fk_test_unhex("9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf5"
          "74a9419744897391006382a6f127ab1d9ac2d8c0a598726b", a, 56);
    fk_test_unhex("9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bb"
          "c836647241d953d40c5b12da88120d53177f80e532c41fa0", a_pub, 56);
    fk_test_unhex("3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972"
          "fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609", b_pub, 56);
    fk_test_unhex("07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56"
          "fd2464c335543936521c24403085d59a449a5037514a879d", want, 56);
    assert_int_equal(fk_pk_ec_import(FK_CURVE_X448, a, 56, s.blob, sizeof(s.blob), &s.len),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s.blob, s.len, &s.key), FK_CRYPTO_OK);
    assert_memory_equal(s.key.pub.p, a_pub, 56);
    assert_int_equal(fk_pk_ecdh(&s.key, b_pub, 56, out, sizeof(out), &ol), FK_CRYPTO_OK);
    assert_int_equal(ol, 56);
    assert_memory_equal(out, want, 56);
    assert_int_equal(fk_pk_ec_import(FK_CURVE_X448, a, 32, s.blob, sizeof(s.blob), &s.len),
                     FK_CRYPTO_EINVAL);
}

/* Warm curve groups: the groups of the last FK_PK_WARM_GROUPS curves stay
 * loaded; cycling through more curves than that evicts the oldest, and every
 * result with a warm group equals the one with a cold group (the same
 * imported public key, the same ECDH secret; signatures made warm verify
 * cold and the other way round). */
static void test_warm_groups(void **state)
{
    (void)state;
    /* The curves on mbedTLS (secp256k1 is libsecp256k1's: no group). */
    static const fk_curve_t k_grouped[] = {
        FK_CURVE_SECP192R1, FK_CURVE_SECP256R1, FK_CURVE_SECP384R1, FK_CURVE_SECP521R1,
        FK_CURVE_BP256R1,   FK_CURVE_BP384R1,   FK_CURVE_BP512R1,   FK_CURVE_SECP192K1,
    };
    static keyslot_t keys[FK_ARRAY_SIZE(k_grouped)], peers[FK_ARRAY_SIZE(k_grouped)];
    uint8_t hash[64], cold_secret[FK_EC_MAX_LEN], warm_secret[FK_EC_MAX_LEN];
    uint8_t cold_sig[FK_PK_ECDSA_DER_MAX], warm_sig[FK_PK_ECDSA_DER_MAX];
    size_t cl, wl, csl, wsl;
    keyslot_t imp;
    fk_pk_public_t pub;

    random_bytes(hash, sizeof(hash));
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_grouped); i++) {
        gen_ec(k_grouped[i], &keys[i]);
        gen_ec(k_grouped[i], &peers[i]);
    }
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < FK_ARRAY_SIZE(k_grouped); i++) {
            const fk_pk_key_t *k = &keys[i].key;
            fk_pk_public_of(k, &pub);
            /* Cold. */
            fk_pk_ec_forget();
            assert_int_equal(fk_pk_ec_warm_count(), 0);
            assert_int_equal(fk_pk_ecdh(k, peers[i].key.pub.p, peers[i].key.pub.len, cold_secret,
                                        sizeof(cold_secret), &cl),
                             FK_CRYPTO_OK);
            assert_int_equal(fk_pk_ec_warm_count(), 1);
            fk_pk_ec_forget();
            assert_int_equal(fk_pk_ecdsa_sign(k, hash, 32, FK_SIG_DER, cold_sig, sizeof(cold_sig),
                                              &csl),
                             FK_CRYPTO_OK);
            /* Warm: the same group again. */
            assert_int_equal(fk_pk_ecdh(k, peers[i].key.pub.p, peers[i].key.pub.len, warm_secret,
                                        sizeof(warm_secret), &wl),
                             FK_CRYPTO_OK);
            assert_int_equal(wl, cl);
            assert_memory_equal(warm_secret, cold_secret, cl);
            assert_int_equal(fk_pk_ecdsa_sign(k, hash, 32, FK_SIG_DER, warm_sig, sizeof(warm_sig),
                                              &wsl),
                             FK_CRYPTO_OK);
            assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, cold_sig, csl),
                             FK_CRYPTO_OK);
            assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, warm_sig, wsl),
                             FK_CRYPTO_OK);
            warm_sig[wsl - 1] ^= 1;
            assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 32, FK_SIG_DER, warm_sig, wsl),
                             FK_CRYPTO_EAUTH);
            assert_int_equal(fk_pk_ec_import(k_grouped[i], k->d.p, k->d.len, imp.blob,
                                             sizeof(imp.blob), &imp.len),
                             FK_CRYPTO_OK);
            assert_int_equal(imp.len, keys[i].len);
            assert_memory_equal(imp.blob, keys[i].blob, imp.len);
            assert_int_equal(fk_pk_ec_warm_count(), 1);
        }
    }
    /* Every curve in turn, keeping what is warm: at most FK_PK_WARM_GROUPS,
     * the least recently used one evicted, results unchanged. */
    fk_pk_ec_forget();
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < FK_ARRAY_SIZE(k_grouped); i++) {
            size_t j = (i * 5u + (size_t)round) % FK_ARRAY_SIZE(k_grouped);
            const fk_pk_key_t *k = &keys[j].key;
            assert_int_equal(fk_pk_ecdsa_sign(k, hash, 48, FK_SIG_PLAIN, warm_sig,
                                              sizeof(warm_sig), &wsl),
                             FK_CRYPTO_OK);
            fk_pk_public_of(k, &pub);
            assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, 48, FK_SIG_PLAIN, warm_sig, wsl),
                             FK_CRYPTO_OK);
            assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_OK);
            size_t want = i + 1u + (size_t)round * FK_ARRAY_SIZE(k_grouped);
            assert_int_equal(fk_pk_ec_warm_count(),
                             want < FK_PK_WARM_GROUPS ? want : FK_PK_WARM_GROUPS);
        }
    }
    fk_pk_ec_forget();
    assert_int_equal(fk_pk_ec_warm_count(), 0);
}

static void test_ec_import_openssl(void **state)
{
    (void)state;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_weierstrass); i++) {
        fk_curve_t c = k_weierstrass[i];
        const fk_curve_info_t *ci = fk_curve_info(c);
        dbuf_t der;
        keyslot_t s;
        const uint8_t *p, *end, *v = NULL, *d = NULL, *pub = NULL;
        size_t len, dlen = 0, publen = 0;
        uint8_t tag = 0;

        assert_int_equal(tu_sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:%s "
                               "-pkeyopt ec_param_enc:named_curve -out k.pem && openssl ec -in "
                               "k.pem -outform DER -out k.der",
                               tu_curve_name(c)),
                         0);
        der.n = tu_read("k.der", der.b, sizeof(der.b));
        p = der.b;
        end = der.b + der.n;
        assert_true(d_next(&p, end, &tag, &v, &len) && tag == 0x30);
        p = v;
        end = v + len;
        while (d_next(&p, end, &tag, &v, &len)) {
            if (tag == 0x04) {
                d = v;
                dlen = len;
            } else if (tag == 0xA1) { /* [1] { BIT STRING 00 point } */
                const uint8_t *q = v, *bv = NULL;
                size_t bl = 0;
                assert_true(d_next(&q, v + len, &tag, &bv, &bl) && tag == 0x03);
                pub = bv + 1;
                publen = bl - 1;
            }
        }
        assert_non_null(d);
        assert_non_null(pub);
        assert_int_equal(fk_pk_ec_import(c, d, dlen, s.blob, sizeof(s.blob), &s.len), FK_CRYPTO_OK);
        assert_int_equal(fk_pk_parse(s.blob, s.len, &s.key), FK_CRYPTO_OK);
        assert_int_equal(s.key.pub.len, publen);
        assert_memory_equal(s.key.pub.p, pub, publen);

        /* Scalars 0 and n are no keys; a scalar longer than the order neither. */
        uint8_t zero[FK_EC_MAX_LEN + 1] = {0};
        assert_int_equal(fk_pk_ec_import(c, zero, ci->order_len, s.blob, sizeof(s.blob), &s.len),
                         FK_CRYPTO_EINVAL);
        assert_int_equal(fk_pk_ec_import(c, ci->n, ci->order_len, s.blob, sizeof(s.blob), &s.len),
                         FK_CRYPTO_EINVAL);
        assert_int_equal(fk_pk_ec_import(c, zero, ci->order_len + 1u, s.blob, sizeof(s.blob),
                                         &s.len),
                         FK_CRYPTO_EINVAL);
    }
}

/* ---- Blobs ------------------------------------------------------------------ */

static void check_blob_damage(const uint8_t *blob, size_t len)
{
    uint8_t copy[FK_PK_BLOB_MAX + 1];
    fk_pk_key_t k;

    assert_int_equal(fk_pk_parse(blob, len, &k), FK_CRYPTO_OK);
    /* Every truncation, one byte more. */
    for (size_t n = 0; n < len; n++) assert_int_equal(fk_pk_parse(blob, n, &k), FK_CRYPTO_EINVAL);
    memcpy(copy, blob, len);
    copy[len] = 0;
    assert_int_equal(fk_pk_parse(copy, len + 1, &k), FK_CRYPTO_EINVAL);
    assert_int_equal(k.type, FK_PK_NONE);
    /* Header bytes. */
    static const uint8_t header_bad[][2] = {{0, 0}, {0, 2}, {1, 0}, {1, 4}, {1, 0xFF}};
    for (size_t i = 0; i < FK_ARRAY_SIZE(header_bad); i++) {
        memcpy(copy, blob, len);
        copy[header_bad[i][0]] = header_bad[i][1];
        if (memcmp(copy, blob, len) == 0) continue;
        assert_int_equal(fk_pk_parse(copy, len, &k), FK_CRYPTO_EINVAL);
    }
    /* Every component length field changed by +-1 and set to 0 / FFFF. */
    size_t off = FK_PK_BLOB_HEADER;
    while (off < len) {
        size_t cl = fk_be16(blob + off);
        static const int delta[] = {-1, 1};
        for (size_t j = 0; j < 2; j++) {
            memcpy(copy, blob, len);
            fk_put_be16(copy + off, (uint16_t)(cl + (size_t)delta[j]));
            assert_int_equal(fk_pk_parse(copy, len, &k), FK_CRYPTO_EINVAL);
        }
        memcpy(copy, blob, len);
        fk_put_be16(copy + off, 0);
        assert_int_equal(fk_pk_parse(copy, len, &k), FK_CRYPTO_EINVAL);
        fk_put_be16(copy + off, 0xFFFF);
        assert_int_equal(fk_pk_parse(copy, len, &k), FK_CRYPTO_EINVAL);
        off += 2 + cl;
    }
    assert_int_equal(off, len);
}

static void test_blob_format(void **state)
{
    (void)state;
    check_blob_damage(g_rsa1024.len ? g_rsa1024.blob : (rsa_key(1024), g_rsa1024.blob),
                      g_rsa1024.len);
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        keyslot_t s;
        gen_ec((fk_curve_t)c, &s);
        check_blob_damage(s.blob, s.len);
        /* The header: version 1, type, curve id. */
        assert_int_equal(s.blob[0], FK_PK_BLOB_VERSION);
        assert_int_equal(s.blob[1], fk_curve_info((fk_curve_t)c)->montgomery ? 3 : 2);
        assert_int_equal(fk_be16(s.blob + 2), c);
        /* Relabelled as a curve of another size (or, for X25519/X448, as a
         * Weierstrass curve). */
        fk_pk_key_t k;
        s.blob[3] = (uint8_t)(fk_curve_info((fk_curve_t)c)->field_len == 48 ? FK_CURVE_SECP256R1
                                                                             : FK_CURVE_SECP384R1);
        assert_int_equal(fk_pk_parse(s.blob, s.len, &k), FK_CRYPTO_EINVAL);
    }
    /* Operations refuse keys of another type. */
    keyslot_t ec;
    uint8_t out[512], in[256] = {0};
    size_t ol;
    gen_ec(FK_CURVE_SECP256R1, &ec);
    assert_int_equal(fk_pk_rsa_private(&ec.key, in, 256, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ecdh(rsa_key(1024), in, 65, out, sizeof(out), &ol), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ecdsa_sign(rsa_key(1024), in, 32, FK_SIG_DER, out, sizeof(out), &ol),
                     FK_CRYPTO_EINVAL);
}

static void test_public_checks(void **state)
{
    (void)state;
    fk_pk_public_t pub;
    uint8_t n[256], e[4] = {0x01, 0x00, 0x01};

    fk_pk_public_of(rsa_key(2048), &pub);
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_OK);
    memcpy(n, pub.n.p, 256);
    pub.n.p = n;
    pub.e.p = e;
    pub.e.len = 3;
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_OK);
    e[2] = 0x02; /* even */
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
    e[2] = 0x01;
    pub.e.len = 1; /* e = 1 */
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
    pub.e.len = 3;
    pub.n.len = 64; /* 512 bits */
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
    pub.type = FK_PK_NONE;
    assert_int_equal(fk_pk_check_public(&pub), FK_CRYPTO_EINVAL);
}

static void test_entropy_failure(void **state)
{
    (void)state;
    keyslot_t s;
    uint8_t hash[32] = {0}, sig[FK_PK_ECDSA_DER_MAX];
    size_t sl;

    gen_ec(FK_CURVE_SECP256R1, &s);
    const fk_pk_key_t *rsa = rsa_key(1024);
    fk_rng_forget();
    g_entropy_fails = true;
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, s.blob, sizeof(s.blob), &s.len),
                     FK_CRYPTO_ERNG);
    assert_int_equal(s.len, 0);
    assert_int_equal(fk_pk_ecdsa_sign(&s.key, hash, 32, FK_SIG_DER, sig, sizeof(sig), &sl),
                     FK_CRYPTO_ERNG);
    uint8_t rs[128];
    assert_int_equal(fk_pk_rsa_sign_pkcs1(rsa, FK_HASH_SHA256, hash, 32, rs, sizeof(rs), &sl),
                     FK_CRYPTO_ERNG);
    uint8_t big[FK_PK_BLOB_MAX];
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, big, sizeof(big), &sl),
                     FK_CRYPTO_ERNG);
    g_entropy_fails = false;
    /* The key made before still works once entropy is back. */
    gen_ec(FK_CURVE_SECP256R1, &s);
    assert_int_equal(fk_pk_ecdsa_sign(&s.key, hash, 32, FK_SIG_DER, sig, sizeof(sig), &sl),
                     FK_CRYPTO_OK);
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
    fk_wipe(&g_rsa1024, sizeof(g_rsa1024));
    fk_wipe(&g_rsa2048, sizeof(g_rsa2048));
    return 0;
}

/* A private-key view of a bare scalar signs like the imported key (the
 * signature verifies with the imported key's public point), computes no
 * public point, and refuses scalars outside [1, n) and curves it does not
 * serve. */
static void test_ec_private_view(void **state)
{
    (void)state;
    static const uint8_t d[32] = {0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6, 0xb5,
                                  0xc4, 0xd3, 0xe2, 0xf1, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                  0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
    uint8_t blob[FK_PK_BLOB_MAX], hash[32], sig[FK_PK_ECDSA_DER_MAX];
    size_t blen, slen;
    fk_pk_key_t view, full;
    fk_pk_public_t pub;
    assert_int_equal(fk_pk_ec_private_view(FK_CURVE_SECP256R1, d, sizeof d, &view), FK_CRYPTO_OK);
    assert_int_equal(view.pub.len, 0);
    assert_int_equal(view.d.len, sizeof d);
    fk_sha256("view", 4, hash);
    assert_int_equal(fk_pk_ecdsa_sign(&view, hash, sizeof hash, FK_SIG_DER, sig, sizeof sig, &slen),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_ec_import(FK_CURVE_SECP256R1, d, sizeof d, blob, sizeof blob, &blen),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, blen, &full), FK_CRYPTO_OK);
    fk_pk_public_of(&full, &pub);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, hash, sizeof hash, FK_SIG_DER, sig, slen), FK_CRYPTO_OK);

    /* 0 and n itself are not scalars of the curve. */
    static const uint8_t zero[32] = {0};
    const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_SECP256R1);
    assert_int_equal(fk_pk_ec_private_view(FK_CURVE_SECP256R1, zero, sizeof zero, &view),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_private_view(FK_CURVE_SECP256R1, ci->n, ci->order_len, &view),
                     FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_private_view(FK_CURVE_SECP256R1, d, 33, &view), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_private_view(FK_CURVE_X25519, d, sizeof d, &view), FK_CRYPTO_EINVAL);
    assert_int_equal(fk_pk_ec_private_view(FK_CURVE_SECP256K1, d, sizeof d, &view), FK_CRYPTO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_digestinfo),
        cmocka_unit_test(test_curve_tables),
        cmocka_unit_test(test_curve_lookup),
        cmocka_unit_test(test_rsa_generate_1024_2048),
        cmocka_unit_test(test_rsa_generate_rejects),
        cmocka_unit_test(test_rsa_keepalive),
        cmocka_unit_test(test_rsa_3072_4096),
        cmocka_unit_test(test_rsa_pkcs1_all_hashes),
        cmocka_unit_test(test_rsa_pss_all_hashes),
        cmocka_unit_test(test_rsa_raw),
        cmocka_unit_test(test_rsa_decrypt_paddings),
        cmocka_unit_test(test_rsa_import_openssl),
        cmocka_unit_test(test_ec_generate_sign_all_curves),
        cmocka_unit_test(test_ecdsa_malformed_signatures),
        cmocka_unit_test(test_ecdh_all_curves),
        cmocka_unit_test(test_ecdh_invalid_points),
        cmocka_unit_test(test_x25519_x448_rfc7748),
        cmocka_unit_test(test_warm_groups),
        cmocka_unit_test(test_ec_import_openssl),
        cmocka_unit_test(test_blob_format),
        cmocka_unit_test(test_public_checks),
        cmocka_unit_test(test_entropy_failure),
        cmocka_unit_test(test_ec_private_view),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
