/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/cvc: building certificates and authenticated requests
 * with the exact layout of the SmartCard-HSM captures (spec sections 3.10,
 * 5), parsing them back, verifying both signatures here and with the
 * `openssl` command line, the RSA-4096 request under OpenSC's 1200-byte
 * buffer, and malformed input (every truncation, every corrupted byte, bad
 * fields) rejected without a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../pk/pk_test_util.h"
#include "cvc.h"
#include "tlv.h"

/* ---- Fixtures ------------------------------------------------------------- */

#define OUT_CAP 4096u

#define ID_TA 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02
static const uint8_t k_oid_ecdsa_sha256[] = {ID_TA, 0x02, 0x03};
static const uint8_t k_oid_rsa_v15_sha256[] = {ID_TA, 0x01, 0x02};
static const uint8_t k_oid_rsa_pss_sha256[] = {ID_TA, 0x01, 0x04};
static const uint8_t k_oid_ecdh[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};
static const uint8_t k_role_at[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x02};
static const uint8_t k_rights[] = {0x00};
static const uint8_t k_effective[6] = {2, 3, 0, 3, 2, 1};
static const uint8_t k_expiry[6] = {7, 0, 1, 2, 3, 1};

#define BYTES(s) ((fk_bytes_t){(const uint8_t *)(s), sizeof(s) - 1u})
#define ARRAY(a) ((fk_bytes_t){(a), sizeof(a)})

typedef struct keyslot {
    uint8_t blob[FK_PK_BLOB_MAX];
    size_t len;
    fk_pk_key_t key;
    fk_pk_public_t pub;
} keyslot_t;

static keyslot_t g_dev; /* the device key (P-256) */

static void gen_ec(fk_curve_t c, keyslot_t *s)
{
    assert_int_equal(fk_pk_ec_generate(c, s->blob, sizeof(s->blob), &s->len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s->blob, s->len, &s->key), FK_CRYPTO_OK);
    fk_pk_public_of(&s->key, &s->pub);
}

/* An RSA key made by openssl and imported (fast, even for 4096 bits). */
static void import_rsa(unsigned bits, keyslot_t *s)
{
    dbuf_t der;
    fk_pk_rsa_parts_t parts;
    assert_true(tu_openssl_rsa(bits, &der, &parts));
    assert_int_equal(fk_pk_rsa_import(&parts, s->blob, sizeof(s->blob), &s->len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(s->blob, s->len, &s->key), FK_CRYPTO_OK);
    fk_pk_public_of(&s->key, &s->pub);
}

static fk_cvc_key_signer_t key_signer(const keyslot_t *s, const uint8_t *oid, size_t oid_len)
{
    fk_cvc_key_signer_t ks = {&s->key, {FK_CVC_NONE, FK_HASH_NONE}};
    assert_int_equal(fk_cvc_alg_from_oid(oid, oid_len, &ks.alg), FK_CVC_OK);
    return ks;
}

static fk_cvc_fields_t request_fields(const uint8_t *oid, size_t oid_len)
{
    fk_cvc_fields_t f = {
        .car = BYTES("UTCA00001"),
        .chr = BYTES("ESPICOHSMTR00001"),
        .key_oid = {oid, oid_len},
        .domain_params = true,
    };
    return f;
}

/* The TLV at p: its tag, header size and value length. */
static void tlv_at(const uint8_t *p, size_t len, uint32_t tag, size_t want_len)
{
    const uint8_t *q = p;
    fk_tlv_t t;
    assert_int_equal(fk_tlv_next(&q, p + len, &t), FK_TLV_OK);
    assert_int_equal(t.tag, tag);
    assert_int_equal(t.len, want_len);
}

/* Plain r || s to DER, for openssl. */
static size_t rs_to_der(const uint8_t *sig, size_t sig_len, uint8_t *out)
{
    dbuf_t ints = {.n = 0}, seq = {.n = 0};
    d_int(&ints, sig, sig_len / 2);
    d_int(&ints, sig + sig_len / 2, sig_len / 2);
    d_tlv(&seq, 0x30, ints.b, ints.n);
    memcpy(out, seq.b, seq.n);
    return seq.n;
}

/* Verify a certificate-form signature over msg with the openssl command
 * line; opts are extra `openssl dgst` options (PSS). */
static void openssl_verify(const fk_pk_public_t *pub, const fk_bytes_t *msg, const fk_bytes_t *sig,
                           const char *opts)
{
    uint8_t der[600];
    tu_write_pub("pub.der", pub);
    tu_write("msg.bin", msg->p, msg->len);
    if (pub->type == FK_PK_EC) {
        size_t n = rs_to_der(sig->p, sig->len, der);
        tu_write("sig.bin", der, n);
    } else {
        tu_write("sig.bin", sig->p, sig->len);
    }
    assert_int_equal(tu_sh("openssl dgst -sha256 -keyform DER -verify pub.der %s "
                           "-signature sig.bin msg.bin",
                           opts),
                     0);
}

/* ---- Algorithms ------------------------------------------------------------- */

static void test_algorithm_oids(void **state)
{
    (void)state;
    static const struct {
        uint8_t last2[2];
        fk_cvc_scheme_t scheme;
        fk_hash_t hash;
    } v[] = {
        {{1, 1}, FK_CVC_RSA_V15, FK_HASH_SHA1},   {{1, 2}, FK_CVC_RSA_V15, FK_HASH_SHA256},
        {{1, 3}, FK_CVC_RSA_PSS, FK_HASH_SHA1},   {{1, 4}, FK_CVC_RSA_PSS, FK_HASH_SHA256},
        {{1, 5}, FK_CVC_RSA_V15, FK_HASH_SHA512}, {{1, 6}, FK_CVC_RSA_PSS, FK_HASH_SHA512},
        {{2, 1}, FK_CVC_ECDSA, FK_HASH_SHA1},     {{2, 2}, FK_CVC_ECDSA, FK_HASH_SHA224},
        {{2, 3}, FK_CVC_ECDSA, FK_HASH_SHA256},   {{2, 4}, FK_CVC_ECDSA, FK_HASH_SHA384},
        {{2, 5}, FK_CVC_ECDSA, FK_HASH_SHA512},
    };
    for (size_t i = 0; i < FK_ARRAY_SIZE(v); i++) {
        uint8_t oid[10] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02};
        fk_cvc_alg_t a;
        fk_bytes_t back;
        memcpy(oid + 8, v[i].last2, 2);
        assert_int_equal(fk_cvc_alg_from_oid(oid, 10, &a), FK_CVC_OK);
        assert_int_equal(a.scheme, v[i].scheme);
        assert_int_equal(a.hash, v[i].hash);
        assert_int_equal(fk_cvc_oid_of(&a, &back), FK_CVC_OK);
        assert_int_equal(back.len, 10);
        assert_memory_equal(back.p, oid, 10);
        assert_int_equal(fk_cvc_alg_from_oid(oid, 9, &a), FK_CVC_EUNSUPPORTED);
        oid[9] = 9;
        assert_int_equal(fk_cvc_alg_from_oid(oid, 10, &a), FK_CVC_EUNSUPPORTED);
    }
    fk_cvc_alg_t a;
    assert_int_equal(fk_cvc_alg_from_oid(k_oid_ecdh, sizeof(k_oid_ecdh), &a), FK_CVC_OK);
    assert_int_equal(a.scheme, FK_CVC_ECDH);
    a = (fk_cvc_alg_t){FK_CVC_RSA_PSS, FK_HASH_SHA384};
    fk_bytes_t o;
    assert_int_equal(fk_cvc_oid_of(&a, &o), FK_CVC_EUNSUPPORTED);
}

/* ---- Requests ------------------------------------------------------------------ */

/* Parse a request built by us and check every field and both signatures,
 * here and with openssl. */
static void check_request(const uint8_t *buf, size_t len, const fk_cvc_fields_t *f,
                          const keyslot_t *newkey, const char *inner_opts)
{
    fk_cvc_request_t rq;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;

    assert_int_equal(fk_cvc_parse_request(buf, len, &rq), FK_CVC_OK);
    assert_true(rq.authenticated);
    assert_int_equal(rq.whole.len, len);
    assert_int_equal(rq.cert.car.len, f->car.len);
    assert_memory_equal(rq.cert.car.p, f->car.p, f->car.len);
    assert_int_equal(rq.cert.chr.len, f->chr.len);
    assert_memory_equal(rq.cert.chr.p, f->chr.p, f->chr.len);
    assert_int_equal(rq.outer_car.len, 16);
    assert_memory_equal(rq.outer_car.p, "ESPICOHSMTR00001", 16);
    assert_int_equal(rq.cert.chat_oid.len, 0);
    assert_int_equal(rq.cert.effective.len, 0);

    /* The public key out of the request is the new key. */
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), FK_CVC_OK);
    assert_int_equal(pub.type, newkey->pub.type);
    if (pub.type == FK_PK_RSA) {
        assert_int_equal(pub.n.len, newkey->pub.n.len);
        assert_memory_equal(pub.n.p, newkey->pub.n.p, pub.n.len);
        assert_memory_equal(pub.e.p, newkey->pub.e.p, pub.e.len);
    } else {
        assert_int_equal(pub.curve, newkey->pub.curve);
        assert_int_equal(pub.point.len, newkey->pub.point.len);
        assert_memory_equal(pub.point.p, newkey->pub.point.p, pub.point.len);
    }
    /* Inner: self-signed over the 7F4E TLV; outer: device key over 7F21 || 42. */
    assert_int_equal(fk_cvc_verify(&rq.cert, &pub, &alg), FK_CVC_OK);
    fk_cvc_alg_t dev_alg = {FK_CVC_ECDSA, FK_HASH_SHA256};
    assert_int_equal(fk_cvc_verify_signature(&g_dev.pub, &dev_alg, rq.outer_signed.p,
                                             rq.outer_signed.len, rq.outer_sig.p,
                                             rq.outer_sig.len),
                     FK_CVC_OK);
    assert_int_equal(rq.outer_signed.len, rq.cert.cert.len + 2u + 16u);
    openssl_verify(&pub, &rq.cert.body, &rq.cert.sig, inner_opts);
    openssl_verify(&g_dev.pub, &rq.outer_signed, &rq.outer_sig, "");
    /* Swapped: the outer signature is no inner one. */
    assert_int_equal(fk_cvc_verify(&rq.cert, &g_dev.pub, &dev_alg), FK_CVC_EVERIFY);
}

static int build_request(fk_rbuf_t *r, const fk_cvc_fields_t *f, const keyslot_t *newkey,
                         const fk_cvc_signer_t *inner)
{
    fk_cvc_key_signer_t dev = key_signer(&g_dev, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_signer_t outer = fk_cvc_signer_for_key(&dev);
    fk_bytes_t outer_car = BYTES("ESPICOHSMTR00001");
    return fk_cvc_build_request(r, f, &newkey->pub, inner, &outer_car, &outer);
}

static void test_ec_request_p256(void **state)
{
    (void)state;
    static uint8_t out[OUT_CAP];
    fk_rbuf_t r = {out, 0, sizeof(out)};
    keyslot_t k;
    gen_ec(FK_CURVE_SECP256R1, &k);
    fk_cvc_fields_t f = request_fields(k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_key_signer_t ks = key_signer(&k, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_signer_t inner = fk_cvc_signer_for_key(&ks);

    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    /* The layout of the captured P-256 response (spec 3.10):
     * 67 82 01 E6 { 7F 21 82 01 8C { 7F 4E 82 01 44 { 5F29, 42, 7F 49 82 01 1D {...}, 5F20 },
     * 5F 37 40 }, 42 10, 5F 37 40 } */
    assert_int_equal(r.len, 4u + 0x1E6u);
    tlv_at(out, r.len, 0x67, 0x1E6);
    tlv_at(out + 4, r.len - 4, 0x7F21, 0x18C);
    tlv_at(out + 9, r.len - 9, 0x7F4E, 0x144);
    static const uint8_t head[] = {0x5F, 0x29, 0x01, 0x00, 0x42, 0x09, 'U', 'T', 'C', 'A',
                                   '0',  '0',  '0',  '0',  '1',  0x7F, 0x49, 0x82, 0x01, 0x1D,
                                   0x06, 0x0A};
    assert_memory_equal(out + 14, head, sizeof(head));
    /* 7F49: 06, 81 p, 82 a, 83 b, 84 G, 85 n, 86 Q, 87 01 01 in order. */
    const uint8_t *p = out + 14 + 15 + 5, *end = p + 0x11D;
    static const uint32_t order[] = {0x06, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87};
    static const size_t lens[] = {10, 32, 32, 32, 65, 32, 65, 1};
    const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_SECP256R1);
    for (size_t i = 0; i < FK_ARRAY_SIZE(order); i++) {
        fk_tlv_t t;
        assert_int_equal(fk_tlv_next(&p, end, &t), FK_TLV_OK);
        assert_int_equal(t.tag, order[i]);
        assert_int_equal(t.len, lens[i]);
        if (t.tag == 0x82) assert_memory_equal(t.value, ci->a, 32); /* p - 3, full length */
        if (t.tag == 0x86) assert_memory_equal(t.value, k.pub.point.p, 65);
        if (t.tag == 0x87) assert_int_equal(t.value[0], 1);
    }
    assert_ptr_equal(p, end);
    check_request(out, r.len, &f, &k, "");
}

static void test_ec_request_all_curves(void **state)
{
    (void)state;
    static uint8_t out[OUT_CAP];
    static const fk_curve_t curves[] = {
        FK_CURVE_SECP192R1, FK_CURVE_SECP384R1, FK_CURVE_SECP521R1, FK_CURVE_BP256R1,
        FK_CURVE_BP384R1,   FK_CURVE_BP512R1,   FK_CURVE_SECP192K1, FK_CURVE_SECP256K1,
    };
    for (size_t i = 0; i < FK_ARRAY_SIZE(curves); i++) {
        fk_rbuf_t r = {out, 0, sizeof(out)};
        keyslot_t k;
        gen_ec(curves[i], &k);
        fk_cvc_fields_t f = request_fields(k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
        fk_cvc_key_signer_t ks = key_signer(&k, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
        fk_cvc_signer_t inner = fk_cvc_signer_for_key(&ks);
        assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
        check_request(out, r.len, &f, &k, "");
        /* The inner signature is plain r||s of twice the order length. */
        fk_cvc_request_t rq;
        assert_int_equal(fk_cvc_parse_request(out, r.len, &rq), FK_CVC_OK);
        assert_int_equal(rq.cert.sig.len, 2u * fk_curve_info(curves[i])->order_len);
    }
}

static void test_rsa_requests(void **state)
{
    (void)state;
    static uint8_t out[OUT_CAP];
    fk_rbuf_t r = {out, 0, sizeof(out)};
    keyslot_t k;

    import_rsa(2048, &k);
    fk_cvc_fields_t f = request_fields(k_oid_rsa_v15_sha256, sizeof(k_oid_rsa_v15_sha256));
    f.domain_params = false;
    fk_cvc_key_signer_t ks = key_signer(&k, k_oid_rsa_v15_sha256, sizeof(k_oid_rsa_v15_sha256));
    fk_cvc_signer_t inner = fk_cvc_signer_for_key(&ks);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    /* The captured RSA-2048 response (spec 3.10): 676 bytes,
     * 67 82 02 A0 { 7F 21 82 02 46 { 7F 4E 82 01 3C { ..., 7F 49 82 01 15 {...} ... },
     * 5F 37 82 01 00 }, 42 10, 5F 37 40 } */
    assert_int_equal(r.len, 676);
    tlv_at(out, r.len, 0x67, 0x2A0);
    tlv_at(out + 4, r.len - 4, 0x7F21, 0x246);
    tlv_at(out + 9, r.len - 9, 0x7F4E, 0x13C);
    tlv_at(out + 14 + 15, r.len - 29, 0x7F49, 0x115);
    check_request(out, r.len, &f, &k, "");

    /* The PSS OID signs with PSS (salt = digest length). */
    r.len = 0;
    f.key_oid = ARRAY(k_oid_rsa_pss_sha256);
    ks = key_signer(&k, k_oid_rsa_pss_sha256, sizeof(k_oid_rsa_pss_sha256));
    inner = fk_cvc_signer_for_key(&ks);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    check_request(out, r.len, &f, &k,
                  "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest");

    /* RSA-4096 with the longest references still fits OpenSC's 1200-byte
     * key-generation buffer. */
    import_rsa(4096, &k);
    r.len = 0;
    f.key_oid = ARRAY(k_oid_rsa_v15_sha256);
    f.car = BYTES("ESPICOHSMTR00001");
    ks = key_signer(&k, k_oid_rsa_v15_sha256, sizeof(k_oid_rsa_v15_sha256));
    inner = fk_cvc_signer_for_key(&ks);
    assert_int_equal(inner.len, 512);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    print_message("RSA-4096 authenticated request: %zu bytes\n", r.len);
    assert_true(r.len < 1200);
    check_request(out, r.len, &f, &k, "");
}

static void test_montgomery_request(void **state)
{
    (void)state;
    static uint8_t out[OUT_CAP];
    static const fk_curve_t curves[] = {FK_CURVE_X25519, FK_CURVE_X448};
    for (size_t i = 0; i < 2; i++) {
        fk_rbuf_t r = {out, 0, sizeof(out)};
        keyslot_t k;
        const fk_curve_info_t *ci = fk_curve_info(curves[i]);
        gen_ec(curves[i], &k);
        fk_cvc_fields_t f = request_fields(k_oid_ecdh, sizeof(k_oid_ecdh));
        fk_cvc_signer_t zero = {NULL, NULL, 64}; /* a key that cannot sign */
        assert_int_equal(build_request(&r, &f, &k, &zero), FK_CVC_OK);

        fk_cvc_request_t rq;
        fk_pk_public_t pub;
        fk_cvc_alg_t alg;
        assert_int_equal(fk_cvc_parse_request(out, r.len, &rq), FK_CVC_OK);
        assert_int_equal(rq.cert.sig.len, 64);
        for (size_t j = 0; j < 64; j++) assert_int_equal(rq.cert.sig.p[j], 0);
        assert_int_equal(rq.cert.key_el[FK_CVC_KEY_INDEX(FK_CVC_MONT_P)].len, ci->field_len);
        assert_int_equal(rq.cert.key_el[FK_CVC_KEY_INDEX(FK_CVC_MONT_N)].len, ci->order_len);
        assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), FK_CVC_OK);
        assert_int_equal(pub.type, FK_PK_MONT);
        assert_int_equal(pub.curve, curves[i]);
        assert_memory_equal(pub.point.p, k.pub.point.p, ci->field_len);
        assert_int_equal(fk_cvc_verify(&rq.cert, &pub, &alg), FK_CVC_EUNSUPPORTED);
        fk_cvc_alg_t dev_alg = {FK_CVC_ECDSA, FK_HASH_SHA256};
        assert_int_equal(fk_cvc_verify_signature(&g_dev.pub, &dev_alg, rq.outer_signed.p,
                                                 rq.outer_signed.len, rq.outer_sig.p,
                                                 rq.outer_sig.len),
                         FK_CVC_OK);
        /* A Montgomery key cannot sign with the key signer. */
        fk_cvc_key_signer_t ks = {&k.key, {FK_CVC_ECDH, FK_HASH_SHA256}};
        fk_cvc_signer_t bad = {fk_cvc_sign_with_key, &ks, 64};
        assert_int_equal(fk_cvc_signer_for_key(&ks).len, 0);
        r.len = 0;
        assert_int_equal(build_request(&r, &f, &k, &bad), FK_CVC_ESIGN);
        assert_int_equal(r.len, 0);
    }
}

/* ---- Certificates ----------------------------------------------------------- */

static size_t build_device_cert(uint8_t *out, size_t cap, const keyslot_t *k, bool domain)
{
    fk_rbuf_t r = {out, 0, cap};
    fk_cvc_fields_t f = {
        .car = BYTES("ESPICOHSMTR00001"),
        .chr = BYTES("ESPICOHSMTR00001"),
        .key_oid = ARRAY(k_oid_ecdsa_sha256),
        .domain_params = domain,
        .chat_oid = ARRAY(k_role_at),
        .chat_rights = ARRAY(k_rights),
        .effective = k_effective,
        .expiry = k_expiry,
    };
    fk_cvc_key_signer_t ks = key_signer(k, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_signer_t s = fk_cvc_signer_for_key(&ks);
    assert_int_equal(fk_cvc_build_cert(&r, &f, &k->pub, &s), FK_CVC_OK);
    return r.len;
}

static void test_device_certificate(void **state)
{
    (void)state;
    uint8_t out[1024];
    keyslot_t k;
    fk_cvc_t c;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;

    /* pico's self-signed secp256k1 device certificate: 443 bytes,
     * 7F 21 82 01 B6 { 7F 4E 82 01 6E { ..., 7F 4C 0E {...}, 5F 25 06, 5F 24 06 }, 5F 37 40 } */
    gen_ec(FK_CURVE_SECP256K1, &k);
    size_t n = build_device_cert(out, sizeof(out), &k, true);
    assert_int_equal(n, 443);
    tlv_at(out, n, 0x7F21, 0x1B6);
    tlv_at(out + 5, n - 5, 0x7F4E, 0x16E);
    static const uint8_t tail[] = {0x7F, 0x4C, 0x0E, 0x06, 0x09, 0x04, 0x00, 0x7F, 0x00, 0x07,
                                   0x03, 0x01, 0x02, 0x02, 0x53, 0x01, 0x00, 0x5F, 0x25, 0x06,
                                   0x02, 0x03, 0x00, 0x03, 0x02, 0x01, 0x5F, 0x24, 0x06, 0x07,
                                   0x00, 0x01, 0x02, 0x03, 0x01, 0x5F, 0x37, 0x40};
    assert_memory_equal(out + n - 64 - sizeof(tail), tail, sizeof(tail));

    assert_int_equal(fk_cvc_parse(out, n, &c), FK_CVC_OK);
    assert_int_equal(c.cert.len, n);
    assert_memory_equal(c.car.p, "ESPICOHSMTR00001", 16);
    assert_memory_equal(c.chr.p, "ESPICOHSMTR00001", 16);
    assert_int_equal(c.chat_oid.len, sizeof(k_role_at));
    assert_memory_equal(c.chat_oid.p, k_role_at, sizeof(k_role_at));
    assert_int_equal(c.chat_rights.len, 1);
    assert_memory_equal(c.effective.p, k_effective, 6);
    assert_memory_equal(c.expiry.p, k_expiry, 6);
    /* secp256k1 is recognised from p and a = 0 (32 zero bytes). */
    assert_int_equal(c.key_el[FK_CVC_KEY_INDEX(FK_CVC_EC_A)].len, 32);
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_NONE, &pub, &alg), FK_CVC_OK);
    assert_int_equal(pub.curve, FK_CURVE_SECP256K1);
    assert_int_equal(fk_cvc_verify(&c, &pub, &alg), FK_CVC_OK);
    openssl_verify(&pub, &c.body, &c.sig, "");
    /* Another key does not verify it. */
    assert_int_equal(fk_cvc_verify(&c, &g_dev.pub, &alg), FK_CVC_EVERIFY);

    /* Without domain parameters the curve is the issuer's. */
    n = build_device_cert(out, sizeof(out), &k, false);
    assert_int_equal(fk_cvc_parse(out, n, &c), FK_CVC_OK);
    assert_int_equal(c.key_el[FK_CVC_KEY_INDEX(FK_CVC_EC_P)].len, 0);
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_NONE, &pub, &alg), FK_CVC_EUNSUPPORTED);
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_SECP256R1, &pub, &alg), FK_CVC_EINVAL);
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_SECP256K1, &pub, &alg), FK_CVC_OK);
    assert_int_equal(fk_cvc_verify(&c, &pub, &alg), FK_CVC_OK);
}

/* A chain (device certificate, then an issuer's) parses link by link. */
static void test_chain(void **state)
{
    (void)state;
    uint8_t out[2048];
    keyslot_t dica;
    size_t n1 = build_device_cert(out, sizeof(out), &g_dev, true);
    gen_ec(FK_CURVE_SECP384R1, &dica);
    size_t n2 = build_device_cert(out + n1, sizeof(out) - n1, &dica, true);
    fk_cvc_t c;
    assert_int_equal(fk_cvc_parse(out, n1 + n2, &c), FK_CVC_OK);
    assert_int_equal(c.cert.len, n1);
    assert_int_equal(fk_cvc_parse(out + n1, n2, &c), FK_CVC_OK);
    assert_int_equal(c.cert.len, n2);
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_NONE, &pub, &alg), FK_CVC_OK);
    assert_int_equal(pub.curve, FK_CURVE_SECP384R1);
}

/* ---- Malformed input ------------------------------------------------------ */

/* Parse from an exact-size heap copy, so that ASan sees any overread. */
static int parse_exact(const uint8_t *buf, size_t len, bool request)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, buf, len);
    int rc;
    if (request) {
        fk_cvc_request_t rq;
        rc = fk_cvc_parse_request(copy, len, &rq);
        if (rc == FK_CVC_OK) {
            fk_pk_public_t pub;
            fk_cvc_alg_t alg;
            (void)fk_cvc_public_key(&rq.cert, FK_CURVE_SECP256R1, &pub, &alg);
        }
    } else {
        fk_cvc_t c;
        rc = fk_cvc_parse(copy, len, &c);
        if (rc != FK_CVC_OK) {
            fk_cvc_t zero;
            memset(&zero, 0, sizeof(zero));
            assert_memory_equal(&c, &zero, sizeof(c));
        }
    }
    free(copy);
    return rc;
}

static void check_damage(const uint8_t *buf, size_t len, bool request)
{
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    assert_int_equal(parse_exact(buf, len, request), FK_CVC_OK);
    /* Every truncation fails. */
    for (size_t n = 0; n < len; n++) assert_int_not_equal(parse_exact(buf, n, request), FK_CVC_OK);
    /* Every byte changed (a few ways): never a crash; a changed tag or
     * length byte of the structure is always refused. */
    static const uint8_t flips[] = {0x01, 0x80, 0xFF};
    for (size_t i = 0; i < len; i++) {
        for (size_t j = 0; j < FK_ARRAY_SIZE(flips); j++) {
            memcpy(copy, buf, len);
            copy[i] ^= flips[j];
            (void)parse_exact(copy, len, request);
        }
    }
    free(copy);
}

static void test_malformed_every_position(void **state)
{
    (void)state;
    static uint8_t out[OUT_CAP];
    fk_rbuf_t r = {out, 0, sizeof(out)};
    keyslot_t k;

    size_t n = build_device_cert(out, sizeof(out), &g_dev, true);
    check_damage(out, n, false);
    check_damage(out, n, true);

    gen_ec(FK_CURVE_SECP256R1, &k);
    fk_cvc_fields_t f = request_fields(k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_key_signer_t ks = key_signer(&k, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_signer_t inner = fk_cvc_signer_for_key(&ks);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    check_damage(out, r.len, true);
}

/* Hand-made bodies: each must be refused for the reason in its name. */
static void expect_body(const uint8_t *content, size_t len, int want)
{
    uint8_t buf[600];
    fk_rbuf_t r = {buf, 0, sizeof(buf)};
    static const uint8_t sig[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    fk_tlv_mark_t m = fk_tlv_begin(&r, FK_CVC_TAG_CERT);
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_BODY, content, len));
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_SIG, sig, sizeof(sig)));
    assert_true(fk_tlv_end(&r, m));
    assert_int_equal(parse_exact(buf, r.len, false), want);
}

static void test_malformed_fields(void **state)
{
    (void)state;
    /* A minimal valid body: 5F29 00, 42 "CA", 7F49 { 06 oid, 86 .. }, 5F20 "HOLDER". */
    uint8_t good[] = {0x5F, 0x29, 0x01, 0x00, 0x42, 0x02, 'C',  'A',  0x7F, 0x49, 0x0F,
                      0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02,
                      0x03, 0x86, 0x01, 0x04, 0x5F, 0x20, 0x06, 'H',  'O',  'L',  'D',
                      'E',  'R'};
    expect_body(good, sizeof(good), FK_CVC_OK);
    uint8_t b[sizeof(good) + 20];

    memcpy(b, good, sizeof(good));
    b[3] = 0x01; /* profile 01 */
    expect_body(b, sizeof(good), FK_CVC_EMALFORMED);
    memcpy(b, good, sizeof(good));
    b[6] = 0x07; /* CAR not printable */
    expect_body(b, sizeof(good), FK_CVC_EMALFORMED);
    memcpy(b, good, sizeof(good));
    b[23] = 0x88; /* 7F49 member outside 81-87 */
    expect_body(b, sizeof(good), FK_CVC_EMALFORMED);
    memcpy(b, good, sizeof(good));
    b[11] = 0x86; /* 7F49 without an OID first */
    expect_body(b, sizeof(good), FK_CVC_EMALFORMED);
    /* Missing profile; CHR before the key; repeated CHR; unknown tag. */
    expect_body(good + 4, sizeof(good) - 4, FK_CVC_EMALFORMED);
    memcpy(b, good, 8);
    memcpy(b + 8, good + 26, 9);
    memcpy(b + 17, good + 8, 18);
    expect_body(b, sizeof(good), FK_CVC_EMALFORMED);
    memcpy(b, good, sizeof(good));
    memcpy(b + sizeof(good), good + 26, 9);
    expect_body(b, sizeof(good) + 9, FK_CVC_EMALFORMED);
    memcpy(b, good, sizeof(good));
    static const uint8_t unknown[] = {0x5F, 0x30, 0x01, 0x00};
    memcpy(b + sizeof(good), unknown, sizeof(unknown));
    expect_body(b, sizeof(good) + sizeof(unknown), FK_CVC_EMALFORMED);
    /* Dates: only one, or a digit of 10; CAR of 17 characters. */
    static const uint8_t eff[] = {0x5F, 0x25, 0x06, 2, 3, 0, 3, 2, 1};
    memcpy(b, good, sizeof(good));
    memcpy(b + sizeof(good), eff, sizeof(eff));
    expect_body(b, sizeof(good) + sizeof(eff), FK_CVC_EMALFORMED);
    static const uint8_t both[] = {0x5F, 0x25, 0x06, 2, 3, 0, 3, 2, 1,
                                   0x5F, 0x24, 0x06, 7, 0, 1, 2, 3, 10};
    memcpy(b + sizeof(good), both, sizeof(both));
    expect_body(b, sizeof(good) + sizeof(both), FK_CVC_EMALFORMED);
    b[sizeof(good) + sizeof(both) - 1] = 9;
    expect_body(b, sizeof(good) + sizeof(both), FK_CVC_OK);
    uint8_t longcar[64];
    memcpy(longcar, good, 4);
    longcar[4] = 0x42;
    longcar[5] = 17;
    memset(longcar + 6, 'A', 17);
    memcpy(longcar + 23, good + 8, sizeof(good) - 8);
    expect_body(longcar, 23 + sizeof(good) - 8, FK_CVC_EMALFORMED);
    longcar[5] = 16;
    memmove(longcar + 22, longcar + 23, sizeof(good) - 8);
    expect_body(longcar, 22 + sizeof(good) - 8, FK_CVC_OK);

    /* Outside the body: 7F21 with a third object, without 5F37, empty 5F37. */
    uint8_t buf[200];
    fk_rbuf_t r = {buf, 0, sizeof(buf)};
    fk_tlv_mark_t m = fk_tlv_begin(&r, FK_CVC_TAG_CERT);
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_BODY, good, sizeof(good)));
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_SIG, "sig", 3));
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_CAR, "X", 1));
    assert_true(fk_tlv_end(&r, m));
    assert_int_equal(parse_exact(buf, r.len, false), FK_CVC_EMALFORMED);
    r.len = 0;
    m = fk_tlv_begin(&r, FK_CVC_TAG_CERT);
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_BODY, good, sizeof(good)));
    assert_true(fk_tlv_end(&r, m));
    assert_int_equal(parse_exact(buf, r.len, false), FK_CVC_EMALFORMED);
    r.len = 0;
    m = fk_tlv_begin(&r, FK_CVC_TAG_CERT);
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_BODY, good, sizeof(good)));
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_SIG, "", 0));
    assert_true(fk_tlv_end(&r, m));
    assert_int_equal(parse_exact(buf, r.len, false), FK_CVC_EMALFORMED);
    /* A length running past the buffer. */
    static const uint8_t huge[] = {0x7F, 0x21, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 0x7F, 0x4E, 0x00};
    assert_int_equal(parse_exact(huge, sizeof(huge), false), FK_CVC_EMALFORMED);
    assert_int_equal(parse_exact(huge, sizeof(huge), true), FK_CVC_EMALFORMED);
    /* A 67 whose 42 is missing. */
    r.len = 0;
    fk_tlv_mark_t m67 = fk_tlv_begin(&r, FK_CVC_TAG_REQUEST);
    m = fk_tlv_begin(&r, FK_CVC_TAG_CERT);
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_BODY, good, sizeof(good)));
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_SIG, "sig", 3));
    assert_true(fk_tlv_end(&r, m));
    assert_true(fk_tlv_put(&r, FK_CVC_TAG_SIG, "sig", 3));
    assert_true(fk_tlv_end(&r, m67));
    assert_int_equal(parse_exact(buf, r.len, true), FK_CVC_EMALFORMED);
}

/* ---- Building errors ---------------------------------------------------------- */

static const uint8_t k_half_sig[16] = "half-made sig..";

static int failing_signer(void *arg, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                          size_t *sig_len)
{
    (void)arg;
    (void)msg;
    (void)len;
    /* A half-made signature that the builder must wipe. */
    memcpy(sig, k_half_sig, FK_MIN(cap, sizeof(k_half_sig)));
    *sig_len = 0;
    return -1;
}

static void test_build_errors(void **state)
{
    (void)state;
    static uint8_t out[OUT_CAP];
    keyslot_t k;
    gen_ec(FK_CURVE_SECP256R1, &k);
    fk_cvc_fields_t good = request_fields(k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_key_signer_t ks = key_signer(&k, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_signer_t inner = fk_cvc_signer_for_key(&ks);
    fk_rbuf_t r = {out, 0, sizeof(out)};
    assert_int_equal(build_request(&r, &good, &k, &inner), FK_CVC_OK);
    size_t full = r.len;

    /* Every capacity short of the full size: ESPACE, and the buffer keeps
     * what it held before (3 bytes here). */
    for (size_t cap = 3; cap < full + 3; cap++) {
        fk_rbuf_t s = {out, 3, cap};
        assert_int_equal(build_request(&s, &good, &k, &inner), FK_CVC_ESPACE);
        assert_int_equal(s.len, 3);
    }
    fk_rbuf_t s = {out, 3, full + 3};
    assert_int_equal(build_request(&s, &good, &k, &inner), FK_CVC_OK);
    assert_int_equal(s.len, full + 3);

    /* Bad fields. */
    fk_cvc_fields_t f;
    r.len = 0;
    f = good;
    f.chr = (fk_bytes_t){NULL, 0};
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    f = good;
    f.car = BYTES("ABCDEFGHIJKLMNOPQ");
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    f = good;
    f.chr = BYTES("ABCDEFGHIJKLMNOPQRSTU");
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    f.chr = BYTES("ABCDEFGHIJKLMNOPQRST"); /* 20: the limit */
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    r.len = 0;
    f = good;
    f.chr = BYTES("TAB\tHERE");
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    f = good;
    f.effective = k_effective;
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    static const uint8_t bad_date[6] = {2, 3, 0, 3, 2, 10};
    f.expiry = bad_date;
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    f = good;
    f.chat_oid = ARRAY(k_role_at);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    f = good;
    static const uint8_t bad_ext[] = {0x73, 0x05, 0x06};
    f.ext = ARRAY(bad_ext);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    /* An unknown OID; an RSA OID for an EC key. */
    f = good;
    static const uint8_t unknown[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x03, 0x01};
    f.key_oid = ARRAY(unknown);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EUNSUPPORTED);
    f.key_oid = ARRAY(k_oid_rsa_v15_sha256);
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_EINVAL);
    /* Bad outer CAR. */
    fk_cvc_key_signer_t dev = key_signer(&g_dev, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256));
    fk_cvc_signer_t outer = fk_cvc_signer_for_key(&dev);
    fk_bytes_t empty = {NULL, 0};
    assert_int_equal(fk_cvc_build_request(&r, &good, &k.pub, &inner, &empty, &outer),
                     FK_CVC_EINVAL);
    assert_int_equal(fk_cvc_build_request(&r, &good, &k.pub, &inner, NULL, &outer), FK_CVC_EINVAL);
    assert_int_equal(r.len, 0);
    /* Signer failures leave nothing behind, and no signature bytes. */
    fk_cvc_signer_t fail = {failing_signer, NULL, 64};
    memset(out, 0, sizeof(out));
    assert_int_equal(build_request(&r, &good, &k, &fail), FK_CVC_ESIGN);
    assert_int_equal(r.len, 0);
    assert_null(memmem(out, sizeof(out), k_half_sig, sizeof(k_half_sig)));
    fk_bytes_t car = BYTES("CAR");
    assert_int_equal(fk_cvc_build_request(&r, &good, &k.pub, &inner, &car, &fail), FK_CVC_ESIGN);
    assert_int_equal(r.len, 0);
    /* No outer signer: a bare 7F21 request. */
    assert_int_equal(fk_cvc_build_request(&r, &good, &k.pub, &inner, NULL, NULL), FK_CVC_OK);
    assert_int_equal(out[0], 0x7F);
    assert_int_equal(out[1], 0x21);
    fk_cvc_request_t rq;
    assert_int_equal(fk_cvc_parse_request(out, r.len, &rq), FK_CVC_OK);
    assert_false(rq.authenticated);
    /* A request without CAR (allowed: the template may omit it). */
    f = good;
    f.car = (fk_bytes_t){NULL, 0};
    r.len = 0;
    assert_int_equal(build_request(&r, &f, &k, &inner), FK_CVC_OK);
    assert_int_equal(fk_cvc_parse_request(out, r.len, &rq), FK_CVC_OK);
    assert_true(rq.authenticated);
    assert_int_equal(rq.cert.car.len, 0);
    assert_int_equal(rq.cert.chr.len, 16);
    /* A zero signer with no length. */
    fk_cvc_signer_t zero = {NULL, NULL, 0};
    r.len = 0;
    assert_int_equal(build_request(&r, &good, &k, &zero), FK_CVC_EINVAL);
}

static void test_verify_tampered(void **state)
{
    (void)state;
    uint8_t out[1024];
    keyslot_t k;
    fk_cvc_t c;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    gen_ec(FK_CURVE_SECP384R1, &k);
    size_t n = build_device_cert(out, sizeof(out), &k, true);
    assert_int_equal(fk_cvc_parse(out, n, &c), FK_CVC_OK);
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_NONE, &pub, &alg), FK_CVC_OK);
    assert_int_equal(fk_cvc_verify(&c, &pub, &alg), FK_CVC_OK);
    /* The holder's name, then a signature byte. */
    size_t chr_off = (size_t)(c.chr.p - out);
    out[chr_off] ^= 1;
    assert_int_equal(fk_cvc_verify(&c, &pub, &alg), FK_CVC_EVERIFY);
    out[chr_off] ^= 1;
    out[n - 1] ^= 1;
    assert_int_equal(fk_cvc_verify(&c, &pub, &alg), FK_CVC_EVERIFY);
    out[n - 1] ^= 1;
    /* A hash other than the signer's. */
    fk_cvc_alg_t other = {FK_CVC_ECDSA, FK_HASH_SHA384};
    assert_int_equal(fk_cvc_verify(&c, &pub, &other), FK_CVC_EVERIFY);
    /* An RSA algorithm for an EC key. */
    other.scheme = FK_CVC_RSA_V15;
    assert_int_equal(fk_cvc_verify(&c, &pub, &other), FK_CVC_EUNSUPPORTED);
    /* A public point moved off the curve is refused as a key. */
    size_t q_off = (size_t)(c.key_el[FK_CVC_KEY_INDEX(FK_CVC_EC_Q)].p - out);
    out[q_off + 10] ^= 1;
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_NONE, &pub, &alg), FK_CVC_EINVAL);
    out[q_off + 10] ^= 1;
    /* Wrong domain parameter b. */
    size_t b_off = (size_t)(c.key_el[FK_CVC_KEY_INDEX(FK_CVC_EC_B)].p - out);
    out[b_off] ^= 1;
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_NONE, &pub, &alg), FK_CVC_EUNSUPPORTED);
}

static void test_device_chr(void **state)
{
    (void)state;
    uint8_t chr[FK_CVC_CAR_MAX];
    size_t n = fk_cvc_device_chr(chr, "ES", "PICOHSMTR", 1);
    assert_int_equal(n, 16);
    assert_memory_equal(chr, "ESPICOHSMTR00001", 16);
    n = fk_cvc_device_chr(chr, "DE", "FK", 99999);
    assert_int_equal(n, 9);
    assert_memory_equal(chr, "DEFK99999", 9);
    assert_true(fk_cvc_device_chr_ok(chr, n));
    /* OpenSC's token serial is the CHR minus 5: at least 3 characters left. */
    assert_int_equal(fk_cvc_device_chr(chr, "DE", "", 1), 0);
    assert_int_equal(fk_cvc_device_chr(chr, "DE", "ABCDEFGHIJ", 1), 0);
    assert_int_equal(fk_cvc_device_chr(chr, "D", "FK", 1), 0);
    assert_int_equal(fk_cvc_device_chr(chr, "de", "FK", 1), 0);
    assert_int_equal(fk_cvc_device_chr(chr, "DE", "F-K", 1), 0);
    assert_int_equal(fk_cvc_device_chr(chr, "DE", "FK", 100000), 0);
    assert_false(fk_cvc_device_chr_ok((const uint8_t *)"DEFK0001", 7));
    assert_true(fk_cvc_device_chr_ok((const uint8_t *)"DEF00001", 8));
    assert_false(fk_cvc_device_chr_ok((const uint8_t *)"D1F00001", 8));
    assert_false(fk_cvc_device_chr_ok((const uint8_t *)"DECC1209355000011", 17));
    assert_true(fk_cvc_device_chr_ok((const uint8_t *)"DECC120935500001", 16));
}

static int setup(void **state)
{
    (void)state;
    tu_dir_create();
    gen_ec(FK_CURVE_SECP256R1, &g_dev);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_dir_remove();
    fk_wipe(&g_dev, sizeof(g_dev));
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algorithm_oids),
        cmocka_unit_test(test_ec_request_p256),
        cmocka_unit_test(test_ec_request_all_curves),
        cmocka_unit_test(test_rsa_requests),
        cmocka_unit_test(test_montgomery_request),
        cmocka_unit_test(test_device_certificate),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_malformed_every_position),
        cmocka_unit_test(test_malformed_fields),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_verify_tampered),
        cmocka_unit_test(test_device_chr),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
