/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the key blob codec (applets/hsm/hsm_blob.c, the format of
 * docs/key-blob.md), with the real crypto module:
 *
 * - known answers made by an independent implementation (Python's
 *   cryptography: SHA-256, AES-256-CBC, AES-CMAC): fusekey's AES blob byte
 *   for byte, and a blob written the way the reference card writes EC keys
 *   (a empty, integers without leading zeros), decoded;
 * - round trips of every kind: RSA 1024 and 2048, EC on every Weierstrass
 *   curve, X25519, X448, Ed25519, Ed448, AES 128/192/256/512, with the
 *   algorithm list and the use counter;
 * - blobs other encoders may write: RSA in CRT form, padding always or
 *   never, short and long integers, foreign access conditions;
 * - every byte of a blob changed, every truncation, an extension, another
 *   DKEK: rejected, and nothing decrypted;
 * - authentic blobs with contents the decoder does not take (EKEY), and the
 *   encoder's refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/sym.h"
#include "hal.h"
#include "blob_vectors.h"
#include "hsm_blob.h"
#include "util.h"

static const uint8_t k_dkek[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t k_random[8] = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8};
static const uint8_t k_oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_oid_aes[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};

/* Python's cryptography: AES-256 key 40..5F, algorithms 10 11, random
 * A1..A8, DKEK 00..1F, no padding byte needed beyond 80 00.. */
static const uint8_t k_kat_aes[] = {
    0x63, 0x0D, 0xCD, 0x29, 0x66, 0xC4, 0x33, 0x66, 0x0F, 0x00, 0x08, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x01, 0x00, 0x02, 0x10, 0x11, 0x00, 0x00, 0x00, 0x00, 0x7C, 0x73, 0xA5, 0xB3, 0x56,
    0x77, 0xBC, 0x7E, 0x98, 0x68, 0xDA, 0xB7, 0xCC, 0xC2, 0x9E, 0x0B, 0x72, 0x7C, 0x55, 0x46, 0x09,
    0x14, 0x0F, 0xED, 0x72, 0x9C, 0x57, 0x4E, 0x23, 0x43, 0xE4, 0x40, 0x3D, 0xC7, 0x3E, 0x33, 0x98,
    0xE1, 0x85, 0xE5, 0x6D, 0x57, 0x43, 0x96, 0x42, 0x67, 0xB5, 0xE8, 0x65, 0xD4, 0x26, 0x90, 0x71,
    0x00, 0x65, 0x55, 0x62, 0x9B, 0xC3, 0x8D, 0x78, 0x5E, 0xB4, 0x18,
};

static const uint8_t k_kat_pico_q[] = {
    0x04, 0x5F, 0x91, 0xD7, 0xA0, 0x21, 0x59, 0x63, 0x46, 0xAE, 0x8C, 0xF0, 0x76, 0x5A, 0x13,
    0x98, 0x7D, 0x56, 0x1E, 0xB5, 0x7C, 0x85, 0xD4, 0xBB, 0x7D, 0x17, 0x94, 0x7F, 0x2C, 0x5C,
    0x83, 0x43, 0xB6, 0x72, 0xEF, 0x9B, 0x03, 0x46, 0x4A, 0xF5, 0x4B, 0x39, 0x9C, 0xB8, 0xDC,
    0x77, 0xEF, 0x64, 0x8C, 0xA6, 0xA6, 0xBB, 0xF0, 0x4C, 0xF8, 0xA2, 0x8E, 0x70, 0xE6, 0x90,
    0x33, 0x5D, 0xF4, 0x27, 0x1F};

#define FILL 0xAAu

static uint8_t g_blob[HSM_BLOB_MAX + 64];
static uint8_t g_plain[HSM_BLOB_PLAIN_MAX];
static uint8_t g_pk[FK_PK_BLOB_MAX];

/* ---- A second writer of blobs, from the format's description -----------------
 * The test's own builder: any plain block, any header, padded as asked, so
 * that the decoder meets what other encoders write. */
typedef enum { PAD_NONE, PAD_UNALIGNED, PAD_ALWAYS } pad_t;

static void derive(uint8_t i, uint8_t out[32])
{
    uint8_t in[36];
    memcpy(in, k_dkek, 32);
    in[32] = in[33] = in[34] = 0;
    in[35] = i;
    fk_sha256(in, sizeof(in), out);
}

static size_t put_field(uint8_t *p, const void *v, size_t n)
{
    fk_put_be16(p, (uint16_t)n);
    if (n) memcpy(p + 2, v, n);
    return 2 + n;
}

static size_t build(uint8_t type, const uint8_t *oid, size_t oid_len, const uint8_t *algs,
                    size_t algs_len, const uint8_t *acc, size_t acc_len, const uint8_t *plain,
                    size_t plain_len, pad_t pad, uint8_t *out)
{
    uint8_t kenc[32], kmac[32], iv[16] = {0};
    uint8_t h[32];
    size_t n = 0;
    fk_sha256(k_dkek, 32, h);
    memcpy(out, h, 8), n = 8;
    out[n++] = type;
    n += put_field(out + n, oid, oid_len);
    n += put_field(out + n, algs, algs_len);
    n += put_field(out + n, acc, acc_len);
    n += put_field(out + n, NULL, 0);
    const size_t start = n;
    memcpy(out + n, plain, plain_len), n += plain_len;
    if (pad == PAD_ALWAYS || (pad == PAD_UNALIGNED && (n - start) % 16)) {
        out[n++] = 0x80;
        while ((n - start) % 16) out[n++] = 0;
    }
    assert_int_equal((n - start) % 16, 0);
    derive(1, kenc);
    derive(2, kmac);
    assert_int_equal(fk_aes_crypt(FK_AES_CBC, true, kenc, 32, iv, 16, out + start, n - start,
                                  out + start),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_aes_cmac(kmac, 32, out, n, out + n), FK_CRYPTO_OK);
    return n + 16;
}

/* A plain block being written: random, keysize, then fields. */
typedef struct pb {
    uint8_t b[HSM_BLOB_PLAIN_MAX];
    size_t n;
} pb_t;

static void pb_start(pb_t *p, uint16_t keysize)
{
    memcpy(p->b, k_random, 8);
    fk_put_be16(p->b + 8, keysize);
    p->n = 10;
}

static void pb_field(pb_t *p, const void *v, size_t n)
{
    assert_true(p->n + 2 + n <= sizeof(p->b));
    p->n += put_field(p->b + p->n, v, n);
}

/* An integer field with `extra` leading zero bytes, or its leading zeros
 * dropped (extra < 0). */
static void pb_int(pb_t *p, const uint8_t *v, size_t n, int extra)
{
    uint8_t tmp[1100];
    size_t k = 0;
    if (extra < 0) {
        while (n > 0 && v[0] == 0) v++, n--;
    } else {
        for (int i = 0; i < extra; i++) tmp[k++] = 0;
    }
    memcpy(tmp + k, v, n);
    pb_field(p, tmp, k + n);
}

/* ---- Keys ---------------------------------------------------------------------- */

static void key_of_pk(const uint8_t *blob, size_t len, hsm_blob_key_t *k, fk_pk_key_t *pk)
{
    memset(k, 0, sizeof(*k));
    assert_int_equal(fk_pk_parse(blob, len, pk), FK_CRYPTO_OK);
    switch (pk->type) {
    case FK_PK_RSA:
        k->kind = HSM_BLOB_KIND_RSA;
        k->bits = pk->bits;
        k->n = pk->n, k->e = pk->e, k->d = pk->d;
        break;
    case FK_PK_EC:
        k->kind = HSM_BLOB_KIND_EC;
        k->curve = pk->curve;
        k->priv = pk->d, k->pub = pk->pub;
        break;
    default:
        k->kind = HSM_BLOB_KIND_MONT;
        k->curve = pk->curve;
        k->priv = pk->d, k->pub = pk->pub;
        break;
    }
}

/* Integers equal once leading zeros are gone. */
static void int_equal(fk_bytes_t a, fk_bytes_t b)
{
    while (a.len && a.p[0] == 0) a.p++, a.len--;
    while (b.len && b.p[0] == 0) b.p++, b.len--;
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
}

static void bytes_equal(fk_bytes_t a, fk_bytes_t b)
{
    assert_int_equal(a.len, b.len);
    if (a.len) assert_memory_equal(a.p, b.p, a.len);
}

/* Encode k, decode it again and compare everything. */
static size_t round_trip(const hsm_blob_key_t *k)
{
    size_t len = 0;
    hsm_blob_key_t back;
    assert_int_equal(hsm_blob_encode(k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_OK);
    assert_true(len <= HSM_BLOB_MAX);
    hsm_blob_header_t h;
    assert_int_equal(hsm_blob_parse_header(g_blob, len, &h), HSM_BLOB_OK);
    assert_int_equal(h.key_oid.len, 0);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back),
                     HSM_BLOB_OK);
    assert_int_equal(back.kind, k->kind);
    bytes_equal(back.algs, k->algs);
    assert_int_equal(back.has_counter, k->has_counter);
    if (k->has_counter) assert_int_equal(back.counter, k->counter);
    assert_int_equal(h.access.len, k->has_counter ? 6 : 0);
    switch (k->kind) {
    case HSM_BLOB_KIND_RSA:
        assert_int_equal(h.type, HSM_BLOB_TYPE_RSA);
        assert_int_equal(back.bits, k->bits);
        int_equal(back.n, k->n);
        int_equal(back.e, k->e);
        int_equal(back.d, k->d);
        /* d and n at the modulus length. */
        assert_int_equal(back.n.len, (k->bits + 7u) / 8u);
        assert_int_equal(back.d.len, (k->bits + 7u) / 8u);
        break;
    case HSM_BLOB_KIND_EC:
        assert_int_equal(h.type, HSM_BLOB_TYPE_EC);
        assert_int_equal(back.curve, k->curve);
        int_equal(back.priv, k->priv);
        bytes_equal(back.pub, k->pub);
        break;
    default:
        assert_int_equal(h.type, k->kind == HSM_BLOB_KIND_AES ? HSM_BLOB_TYPE_AES : HSM_BLOB_TYPE_EC);
        if (k->kind != HSM_BLOB_KIND_AES) assert_int_equal(back.curve, k->curve);
        if (k->kind == HSM_BLOB_KIND_AES) assert_int_equal(back.bits, k->bits);
        bytes_equal(back.priv, k->priv);
        bytes_equal(back.pub, k->pub);
        break;
    }
    fk_wipe(g_plain, sizeof(g_plain));
    return len;
}

/* ---- Known answers -------------------------------------------------------------- */

static void test_known_answers(void **state)
{
    (void)state;
    uint8_t aes[32];
    for (size_t i = 0; i < 32; i++) aes[i] = (uint8_t)(0x40 + i);
    static const uint8_t algs[] = {0x10, 0x11};
    const hsm_blob_key_t k = {.kind = HSM_BLOB_KIND_AES, .bits = 256, .priv = {aes, 32},
                              .algs = {algs, 2}};
    size_t len = 0;
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_OK);
    assert_int_equal(len, sizeof(k_kat_aes));
    assert_memory_equal(g_blob, k_kat_aes, len);

    /* The KCV is SHA-256(DKEK)[0..7]. */
    uint8_t kcv[8];
    hsm_blob_kcv(k_dkek, kcv);
    assert_memory_equal(kcv, k_kat_aes, 8);

    /* The reference card's way of writing a P-256 key decodes. */
    hsm_blob_key_t back;
    assert_int_equal(hsm_blob_decode(k_kat_pico_ec, sizeof(k_kat_pico_ec), k_dkek, g_plain,
                                     sizeof(g_plain), &back),
                     HSM_BLOB_OK);
    assert_int_equal(back.kind, HSM_BLOB_KIND_EC);
    assert_int_equal(back.curve, FK_CURVE_SECP256R1);
    assert_int_equal(back.priv.len, 30);
    for (size_t i = 0; i < 30; i++) assert_int_equal(back.priv.p[i], 0x5D);
    assert_int_equal(back.pub.len, sizeof(k_kat_pico_q));
    assert_memory_equal(back.pub.p, k_kat_pico_q, sizeof(k_kat_pico_q));
    assert_int_equal(back.algs.len, 0);
    assert_false(back.has_counter);
    /* ... and the key it holds imports with its public point. */
    size_t blen;
    fk_pk_key_t pk;
    assert_int_equal(fk_pk_ec_import(back.curve, back.priv.p, back.priv.len, g_pk, sizeof(g_pk),
                                     &blen),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(g_pk, blen, &pk), FK_CRYPTO_OK);
    assert_memory_equal(pk.pub.p, k_kat_pico_q, sizeof(k_kat_pico_q));
}

/* ---- Round trips ------------------------------------------------------------------ */

static void test_round_trip_rsa(void **state)
{
    (void)state;
    static const unsigned sizes[] = {1024, 2048};
    static const uint8_t algs[] = {0x20, 0x21, 0x92};
    for (size_t i = 0; i < FK_ARRAY_SIZE(sizes); i++) {
        size_t len;
        fk_pk_key_t pk;
        hsm_blob_key_t k;
        assert_int_equal(fk_pk_rsa_generate(sizes[i], 65537, NULL, NULL, g_pk, sizeof(g_pk), &len),
                         FK_CRYPTO_OK);
        key_of_pk(g_pk, len, &k, &pk);
        round_trip(&k);
        k.algs = (fk_bytes_t){algs, sizeof(algs)};
        k.has_counter = true;
        k.counter = 0xFFFFFFFEu;
        round_trip(&k);
    }
}

static void test_round_trip_ec(void **state)
{
    (void)state;
    static const uint8_t algs[] = {0x70, 0x73, 0x80, 0x92};
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        size_t len;
        fk_pk_key_t pk;
        hsm_blob_key_t k;
        assert_int_equal(fk_pk_ec_generate((fk_curve_t)c, g_pk, sizeof(g_pk), &len), FK_CRYPTO_OK);
        key_of_pk(g_pk, len, &k, &pk);
        const size_t n = round_trip(&k);
        k.algs = (fk_bytes_t){algs, sizeof(algs)};
        k.has_counter = true;
        k.counter = 7;
        round_trip(&k);
        const fk_curve_info_t *ci = fk_curve_info((fk_curve_t)c);
        if (ci->montgomery) continue;
        /* a, d and Q are written at full length: a P-256 blob is always
         * 363 bytes (the reference card's 331 plus the 32 bytes of a it
         * leaves out), whatever the scalar. */
        if (c == FK_CURVE_SECP256R1) assert_int_equal(n, 363);
    }
}

/* Ed25519 and Ed448: the codec carries seed and public key as they are. */
static void test_round_trip_edwards(void **state)
{
    (void)state;
    uint8_t seed[57], pub[57];
    static const fk_curve_t twins[] = {FK_CURVE_X25519, FK_CURVE_X448};
    static const size_t lens[] = {32, 57};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fk_hal_random(seed, sizeof(seed)), FK_HAL_OK);
        assert_int_equal(fk_hal_random(pub, sizeof(pub)), FK_HAL_OK);
        hsm_blob_key_t k = {.kind = HSM_BLOB_KIND_EDWARDS, .curve = twins[i],
                            .priv = {seed, lens[i]}, .pub = {pub, lens[i]}};
        round_trip(&k);
        /* Not told apart from X25519 / X448 by anything but the base point:
         * the header's OID is RFC 8410's. */
        hsm_blob_header_t h;
        size_t len;
        assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len), 0);
        assert_int_equal(hsm_blob_parse_header(g_blob, len, &h), HSM_BLOB_OK);
        assert_int_equal(h.oid.len, 3);
        assert_int_equal(h.oid.p[2], i == 0 ? 0x70 : 0x71);
        /* A wrong length of seed or public key is refused. */
        k.priv.len--;
        assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                         HSM_BLOB_EINVAL);
    }
}

static void test_round_trip_aes(void **state)
{
    (void)state;
    uint8_t key[64];
    static const size_t lens[] = {16, 24, 32, 64};
    static const uint8_t algs[] = {0x10, 0x11, 0x18, 0x99, 0x92};
    assert_int_equal(fk_hal_random(key, sizeof(key)), FK_HAL_OK);
    for (size_t i = 0; i < FK_ARRAY_SIZE(lens); i++) {
        hsm_blob_key_t k = {.kind = HSM_BLOB_KIND_AES, .bits = (uint16_t)(lens[i] * 8),
                            .priv = {key, lens[i]}};
        round_trip(&k);
        k.algs = (fk_bytes_t){algs, sizeof(algs)};
        k.has_counter = true;
        k.counter = 0;
        round_trip(&k);
    }
}

/* ---- What other encoders write ------------------------------------------------------ */

static void test_foreign_forms(void **state)
{
    (void)state;
    static pb_t p;
    size_t len, blen;
    hsm_blob_key_t back;
    fk_pk_key_t pk;

    /* RSA in CRT form (type 6), integers with an extra leading zero. */
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, g_pk, sizeof(g_pk), &blen),
                     FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(g_pk, blen, &pk), FK_CRYPTO_OK);
    pb_start(&p, 1024);
    pb_int(&p, pk.dp.p, pk.dp.len, 1);
    pb_int(&p, pk.dq.p, pk.dq.len, 0);
    pb_int(&p, pk.p.p, pk.p.len, 1);
    pb_int(&p, pk.qinv.p, pk.qinv.len, 0);
    pb_int(&p, pk.q.p, pk.q.len, 0);
    pb_int(&p, pk.n.p, pk.n.len, 1);
    pb_int(&p, pk.e.p, pk.e.len, 2);
    len = build(HSM_BLOB_TYPE_RSA_CRT, k_oid_rsa, sizeof(k_oid_rsa), NULL, 0, NULL, 0, p.b, p.n,
                PAD_UNALIGNED, g_blob);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
    assert_int_equal(back.kind, HSM_BLOB_KIND_RSA);
    assert_int_equal(back.bits, 1024);
    assert_int_equal(back.d.len, 0);
    int_equal(back.p, pk.p);
    int_equal(back.q, pk.q);
    int_equal(back.n, pk.n);
    int_equal(back.e, pk.e);
    /* The importer takes p, q, e. */
    const fk_pk_rsa_parts_t parts = {.n = back.n, .e = back.e, .p = back.p, .q = back.q};
    static uint8_t again[FK_PK_BLOB_MAX];
    size_t alen;
    assert_int_equal(fk_pk_rsa_import(&parts, again, sizeof(again), &alen), FK_CRYPTO_OK);

    /* Type 5 with short d (leading zeros dropped) and no padding where
     * the block happens to end on a boundary; and the same padded with a
     * whole block of 80 00.. */
    for (int extra = 0; extra < 32; extra++) {
        pb_start(&p, 1024);
        pb_int(&p, pk.d.p, pk.d.len, -1);
        pb_int(&p, pk.n.p, pk.n.len, 0);
        pb_int(&p, pk.e.p, pk.e.len, extra);
        if (p.n % 16 == 0) break;
    }
    assert_int_equal(p.n % 16, 0);
    for (int pad = PAD_NONE; pad <= PAD_ALWAYS; pad++) {
        len = build(HSM_BLOB_TYPE_RSA, k_oid_rsa, sizeof(k_oid_rsa), NULL, 0, NULL, 0, p.b, p.n,
                    (pad_t)pad, g_blob);
        assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back),
                         HSM_BLOB_OK);
        int_equal(back.d, pk.d);
    }

    /* Access conditions another card writes are ignored (no counter). */
    static const uint8_t acc[] = {0x01, 0x02, 0x03};
    len = build(HSM_BLOB_TYPE_RSA, k_oid_rsa, sizeof(k_oid_rsa), NULL, 0, acc, sizeof(acc), p.b,
                p.n, PAD_UNALIGNED, g_blob);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
    assert_false(back.has_counter);
    static const uint8_t acc_counter[] = {0x90, 0x04, 0x00, 0x00, 0x01, 0x00};
    len = build(HSM_BLOB_TYPE_RSA, k_oid_rsa, sizeof(k_oid_rsa), NULL, 0, acc_counter,
                sizeof(acc_counter), p.b, p.n, PAD_UNALIGNED, g_blob);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
    assert_true(back.has_counter);
    assert_int_equal(back.counter, 256);

    /* EC with every integer short and a empty on P-384 (a = p - 3). */
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP384R1, g_pk, sizeof(g_pk), &blen), 0);
    assert_int_equal(fk_pk_parse(g_pk, blen, &pk), FK_CRYPTO_OK);
    const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_SECP384R1);
    pb_start(&p, 384);
    pb_field(&p, NULL, 0);
    pb_int(&p, ci->b, ci->field_len, -1);
    pb_int(&p, ci->p, ci->field_len, -1);
    pb_int(&p, ci->n, ci->order_len, 1);
    pb_field(&p, ci->g, ci->g_len);
    pb_int(&p, pk.d.p, pk.d.len, -1);
    pb_field(&p, pk.pub.p, pk.pub.len);
    len = build(HSM_BLOB_TYPE_EC, k_oid_ec, sizeof(k_oid_ec), NULL, 0, NULL, 0, p.b, p.n,
                PAD_UNALIGNED, g_blob);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
    assert_int_equal(back.curve, FK_CURVE_SECP384R1);
    int_equal(back.priv, pk.d);

    /* An empty a on a curve whose a is not p - 3 (secp256k1: a = 0 must be
     * written) is not that curve. */
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256K1, g_pk, sizeof(g_pk), &blen), 0);
    assert_int_equal(fk_pk_parse(g_pk, blen, &pk), FK_CRYPTO_OK);
    ci = fk_curve_info(FK_CURVE_SECP256K1);
    pb_start(&p, 256);
    pb_field(&p, NULL, 0);
    pb_int(&p, ci->b, ci->field_len, 0);
    pb_int(&p, ci->p, ci->field_len, 0);
    pb_int(&p, ci->n, ci->order_len, 0);
    pb_field(&p, ci->g, ci->g_len);
    pb_int(&p, pk.d.p, pk.d.len, 0);
    pb_field(&p, pk.pub.p, pk.pub.len);
    len = build(HSM_BLOB_TYPE_EC, k_oid_ec, sizeof(k_oid_ec), NULL, 0, NULL, 0, p.b, p.n,
                PAD_UNALIGNED, g_blob);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back),
                     HSM_BLOB_EKEY);
    /* ... with a = 0 written (a single zero byte) it is. */
    pb_start(&p, 256);
    pb_field(&p, "", 1);
    pb_int(&p, ci->b, ci->field_len, -1);
    pb_int(&p, ci->p, ci->field_len, 0);
    pb_int(&p, ci->n, ci->order_len, 0);
    pb_field(&p, ci->g, ci->g_len);
    pb_int(&p, pk.d.p, pk.d.len, 0);
    pb_field(&p, NULL, 0); /* no Q */
    len = build(HSM_BLOB_TYPE_EC, k_oid_ec, sizeof(k_oid_ec), NULL, 0, NULL, 0, p.b, p.n,
                PAD_ALWAYS, g_blob);
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
    assert_int_equal(back.curve, FK_CURVE_SECP256K1);
    assert_int_equal(back.pub.len, 0);
}

/* Authentic blobs whose content the decoder does not take: EKEY, the plain
 * block wiped. */
static void test_bad_contents(void **state)
{
    (void)state;
    static pb_t p;
    size_t len;
    hsm_blob_key_t back;
    uint8_t key[40] = {1, 2, 3};
    const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_SECP256R1);
    const fk_curve_info_t *c25 = fk_curve_info(FK_CURVE_X25519);

#define EXPECT_EKEY(type, pad)                                                                   \
    do {                                                                                         \
        len = build(type, k_oid_ec, sizeof(k_oid_ec), NULL, 0, NULL, 0, p.b, p.n, pad, g_blob); \
        memset(g_plain, FILL, sizeof(g_plain));                                                  \
        assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), \
                         HSM_BLOB_EKEY);                                                         \
        for (size_t i_ = 0; i_ < len - 16; i_++)                                                 \
            if (g_plain[i_] != 0 && g_plain[i_] != FILL) fail_msg("plain byte %zu kept", i_);   \
    } while (0)

    /* AES of 20 bytes; AES shorter than its keysize. */
    pb_start(&p, 20);
    memcpy(p.b + p.n, key, 20), p.n += 20;
    EXPECT_EKEY(HSM_BLOB_TYPE_AES, PAD_UNALIGNED);
    pb_start(&p, 32);
    memcpy(p.b + p.n, key, 4), p.n += 4;
    EXPECT_EKEY(HSM_BLOB_TYPE_AES, PAD_UNALIGNED);
    /* Garbage after the key instead of padding. */
    pb_start(&p, 16);
    memcpy(p.b + p.n, key, 16), p.n += 16;
    p.b[p.n++] = 0x80;
    p.b[p.n++] = 0x01;
    EXPECT_EKEY(HSM_BLOB_TYPE_AES, PAD_UNALIGNED);
    /* An unknown prime. */
    uint8_t badp[32];
    memcpy(badp, ci->p, 32);
    badp[31] ^= 2;
    pb_start(&p, 256);
    pb_int(&p, ci->a, 32, 0);
    pb_int(&p, ci->b, 32, 0);
    pb_field(&p, badp, 32);
    pb_int(&p, ci->n, 32, 0);
    pb_field(&p, ci->g, ci->g_len);
    pb_field(&p, key, 32);
    pb_field(&p, NULL, 0);
    EXPECT_EKEY(HSM_BLOB_TYPE_EC, PAD_UNALIGNED);
    /* P-256 with a wrong b; with a scalar longer than the order; zero. */
    for (int v = 0; v < 3; v++) {
        uint8_t badb[32], zero[32] = {0};
        memcpy(badb, ci->b, 32);
        if (v == 0) badb[0] ^= 1;
        pb_start(&p, 256);
        pb_int(&p, ci->a, 32, 0);
        pb_field(&p, badb, 32);
        pb_int(&p, ci->p, 32, 0);
        pb_int(&p, ci->n, 32, 0);
        pb_field(&p, ci->g, ci->g_len);
        if (v == 1) pb_field(&p, key, 33);
        else if (v == 2) pb_field(&p, zero, 32);
        else pb_field(&p, key, 32);
        pb_field(&p, NULL, 0);
        EXPECT_EKEY(HSM_BLOB_TYPE_EC, PAD_UNALIGNED);
    }
    /* Curve25519's prime with a base point of neither form; an X25519
     * scalar of 31 bytes. */
    for (int v = 0; v < 2; v++) {
        uint8_t g[32] = {0};
        g[31] = v == 0 ? 7 : 9;
        pb_start(&p, 256);
        pb_field(&p, NULL, 0);
        pb_field(&p, NULL, 0);
        pb_int(&p, c25->p, 32, 0);
        pb_field(&p, NULL, 0);
        pb_field(&p, g, 32);
        pb_field(&p, key, v == 0 ? 32 : 31);
        pb_field(&p, NULL, 0);
        EXPECT_EKEY(HSM_BLOB_TYPE_EC, PAD_UNALIGNED);
    }
    /* RSA without e; with a 512-bit modulus. */
    uint8_t n[128];
    memset(n, 0xC5, sizeof(n));
    pb_start(&p, 1024);
    pb_field(&p, n, 128);
    pb_field(&p, n, 128);
    pb_field(&p, NULL, 0);
    EXPECT_EKEY(HSM_BLOB_TYPE_RSA, PAD_UNALIGNED);
    pb_start(&p, 512);
    pb_field(&p, n, 64);
    pb_field(&p, n, 64);
    pb_field(&p, "\x01\x00\x01", 3);
    EXPECT_EKEY(HSM_BLOB_TYPE_RSA, PAD_UNALIGNED);
    /* A component running past the block. */
    pb_start(&p, 1024);
    fk_put_be16(p.b + p.n, 0x0400), p.n += 2;
    memset(p.b + p.n, 1, 30), p.n += 30;
    EXPECT_EKEY(HSM_BLOB_TYPE_RSA, PAD_UNALIGNED);
#undef EXPECT_EKEY
}

/* ---- Damage ------------------------------------------------------------------------- */

static void expect_rejected(const uint8_t *blob, size_t len, const uint8_t *dkek, int expected)
{
    hsm_blob_key_t back;
    memset(g_plain, FILL, sizeof(g_plain));
    const int rc = hsm_blob_decode(blob, len, dkek, g_plain, sizeof(g_plain), &back);
    if (expected != 0)
        assert_int_equal(rc, expected);
    else
        assert_true(rc == HSM_BLOB_EFORMAT || rc == HSM_BLOB_EKCV || rc == HSM_BLOB_EMAC);
    /* Nothing was decrypted: the buffer is untouched or wiped. */
    for (size_t i = 0; i < sizeof(g_plain); i++) {
        if (g_plain[i] != FILL && g_plain[i] != 0) fail_msg("byte %zu decrypted (rc %d)", i, rc);
    }
    assert_int_equal(back.kind, 0);
}

static void test_tampering(void **state)
{
    (void)state;
    size_t blen, len;
    fk_pk_key_t pk;
    hsm_blob_key_t k;
    static const uint8_t algs[] = {0x70, 0x92};
    static uint8_t copy[HSM_BLOB_MAX + 64];
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, g_pk, sizeof(g_pk), &blen), 0);
    key_of_pk(g_pk, blen, &k, &pk);
    k.algs = (fk_bytes_t){algs, sizeof(algs)};
    k.has_counter = true;
    k.counter = 3;
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len), 0);
    hsm_blob_header_t h;
    assert_int_equal(hsm_blob_parse_header(g_blob, len, &h), HSM_BLOB_OK);
    const size_t head = (size_t)(h.cipher.p - g_blob);

    /* Every byte, every bit. */
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(copy, g_blob, len);
            copy[i] ^= (uint8_t)(1u << bit);
            int expected = 0;
            if (i < HSM_BLOB_KCV_LEN) expected = HSM_BLOB_EKCV;
            else if (i >= head) expected = HSM_BLOB_EMAC;
            expect_rejected(copy, len, k_dkek, expected);
        }
    }
    /* Every truncation, an extension by a byte and by a block. */
    for (size_t n = 0; n < len; n++) expect_rejected(g_blob, n, k_dkek, 0);
    memcpy(copy, g_blob, len);
    memset(copy + len, 0, 16);
    expect_rejected(copy, len + 1, k_dkek, HSM_BLOB_EFORMAT);
    expect_rejected(copy, len + 16, k_dkek, HSM_BLOB_EMAC);
    /* The MAC swapped with the last block, and another DKEK. */
    memcpy(copy, g_blob, len);
    memcpy(copy + len - 16, g_blob + len - 32, 16);
    memcpy(copy + len - 32, g_blob + len - 16, 16);
    expect_rejected(copy, len, k_dkek, HSM_BLOB_EMAC);
    uint8_t other[32];
    memcpy(other, k_dkek, 32);
    other[31] ^= 1;
    expect_rejected(g_blob, len, other, HSM_BLOB_EKCV);
    /* Too small a plain buffer. */
    hsm_blob_key_t back;
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, h.cipher.len - 1, &back),
                     HSM_BLOB_ENOSPC);
    /* The original still decodes. */
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
}

static void test_header_limits(void **state)
{
    (void)state;
    static pb_t p;
    uint8_t algs[17], oid[65];
    hsm_blob_header_t h;
    memset(algs, 0x70, sizeof(algs));
    memset(oid, 0x01, sizeof(oid));
    pb_start(&p, 16);
    memset(p.b + p.n, 7, 16), p.n += 16;
    size_t len = build(HSM_BLOB_TYPE_AES, k_oid_aes, sizeof(k_oid_aes), algs, 16, NULL, 0, p.b,
                       p.n, PAD_UNALIGNED, g_blob);
    assert_int_equal(hsm_blob_parse_header(g_blob, len, &h), HSM_BLOB_OK);
    assert_int_equal(h.algs.len, 16);
    len = build(HSM_BLOB_TYPE_AES, k_oid_aes, sizeof(k_oid_aes), algs, 17, NULL, 0, p.b, p.n,
                PAD_UNALIGNED, g_blob);
    expect_rejected(g_blob, len, k_dkek, HSM_BLOB_EFORMAT);
    len = build(HSM_BLOB_TYPE_AES, oid, 65, NULL, 0, NULL, 0, p.b, p.n, PAD_UNALIGNED, g_blob);
    expect_rejected(g_blob, len, k_dkek, HSM_BLOB_EFORMAT);
    /* Empty OID and fields are fine (other cards). */
    len = build(HSM_BLOB_TYPE_AES, NULL, 0, NULL, 0, NULL, 0, p.b, p.n, PAD_UNALIGNED, g_blob);
    hsm_blob_key_t back;
    assert_int_equal(hsm_blob_decode(g_blob, len, k_dkek, g_plain, sizeof(g_plain), &back), 0);
    assert_int_equal(back.bits, 128);
    /* Unknown types. */
    for (unsigned t = 0; t < 256; t++) {
        if (t == 5 || t == 6 || t == 12 || t == 15) continue;
        g_blob[8] = (uint8_t)t;
        assert_int_equal(hsm_blob_parse_header(g_blob, len, &h), HSM_BLOB_EFORMAT);
    }
}

static void test_encoder_refusals(void **state)
{
    (void)state;
    uint8_t key[64] = {0};
    size_t len = 99, blen;
    fk_pk_key_t pk;
    hsm_blob_key_t k = {.kind = HSM_BLOB_KIND_AES, .bits = 160, .priv = {key, 20}};
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_EINVAL);
    assert_int_equal(len, 0);
    k = (hsm_blob_key_t){.kind = HSM_BLOB_KIND_AES, .bits = 256, .priv = {key, 16}};
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_EINVAL);
    k = (hsm_blob_key_t){.kind = 9};
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_EINVAL);
    uint8_t algs[17] = {0};
    k = (hsm_blob_key_t){.kind = HSM_BLOB_KIND_AES, .bits = 128, .priv = {key, 16},
                         .algs = {algs, 17}};
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_EINVAL);
    /* An EC key whose point is not at full length; an RSA key whose size
     * says otherwise than its modulus. */
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, g_pk, sizeof(g_pk), &blen), 0);
    key_of_pk(g_pk, blen, &k, &pk);
    k.pub.len--;
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_EINVAL);
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, g_pk, sizeof(g_pk), &blen), 0);
    key_of_pk(g_pk, blen, &k, &pk);
    k.bits = 2048;
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &len),
                     HSM_BLOB_EINVAL);
    /* Not enough room: ENOSPC at every short length, the output wiped. */
    k.bits = 1024;
    size_t full;
    assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, sizeof(g_blob), &full), 0);
    for (size_t cap = 0; cap < full; cap += 7) {
        memset(g_blob, FILL, sizeof(g_blob));
        assert_int_equal(hsm_blob_encode(&k, k_dkek, k_random, g_blob, cap, &len),
                         HSM_BLOB_ENOSPC);
        for (size_t i = 0; i < cap; i++) assert_true(g_blob[i] == 0 || g_blob[i] == FILL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_round_trip_rsa),
        cmocka_unit_test(test_round_trip_ec),
        cmocka_unit_test(test_round_trip_edwards),
        cmocka_unit_test(test_round_trip_aes),
        cmocka_unit_test(test_foreign_forms),
        cmocka_unit_test(test_bad_contents),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_encoder_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
