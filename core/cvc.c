/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvc.c - card verifiable certificates and authenticated requests
 * (docs/cvc.md). Byte formats follow the SmartCard-HSM protocol's use of
 * TR-03110: a body 7F4E signed over its whole TLV, a certificate 7F21 of
 * body and signature, and the key-generation response 67 that wraps a
 * self-signed request with the device's signature.
 *
 * The builders write straight into the caller's response buffer and sign
 * from there: the signature goes behind the bytes it covers, so no copy of
 * a body (up to ~700 bytes for RSA-4096) is kept on the stack.
 */
#include "cvc.h"

#include <string.h>

#include "crypto/ed.h"
#include "tlv.h"
#include "util.h"

#define PRINTABLE_FIRST 0x20u
#define PRINTABLE_LAST 0x7Eu
#define DIGIT_MAX 9u
#define OID_MAX_LEN 32u
#define KEY_EL_MAX (FK_PK_RSA_MAX_LEN + 1u) /* a modulus with a sign byte */
#define DEVICE_CHR_MIN 8u
#define DEVICE_COUNTRY_LEN 2u
#define DEVICE_MNEMONIC_MAX 9u
#define DEVICE_SEQ_LEN 5u
#define DEVICE_SEQ_LIMIT 100000u
#define DECIMAL 10u

/* ---- Algorithms -------------------------------------------------------------
 * id-TA (BSI TR-03110: 0.4.0.127.0.7.2.2.2) RSA and ECDSA signature OIDs,
 * and id-RI-ECDH-SHA-256 (0.4.0.127.0.7.2.2.5.2.3). */
#define ALG_OID_LEN 10u
#define BSI_ALGORITHMS 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02 /* 0.4.0.127.0.7.2.2 */
#define ID_TA BSI_ALGORITHMS, 0x02
#define ID_RI BSI_ALGORITHMS, 0x05
static const struct {
    uint8_t oid[ALG_OID_LEN];
    fk_cvc_alg_t alg;
} k_algs[] = {
    {{ID_TA, 0x01, 0x01}, {FK_CVC_RSA_V15, FK_HASH_SHA1}},
    {{ID_TA, 0x01, 0x02}, {FK_CVC_RSA_V15, FK_HASH_SHA256}},
    {{ID_TA, 0x01, 0x03}, {FK_CVC_RSA_PSS, FK_HASH_SHA1}},
    {{ID_TA, 0x01, 0x04}, {FK_CVC_RSA_PSS, FK_HASH_SHA256}},
    {{ID_TA, 0x01, 0x05}, {FK_CVC_RSA_V15, FK_HASH_SHA512}},
    {{ID_TA, 0x01, 0x06}, {FK_CVC_RSA_PSS, FK_HASH_SHA512}},
    {{ID_TA, 0x02, 0x01}, {FK_CVC_ECDSA, FK_HASH_SHA1}},
    {{ID_TA, 0x02, 0x02}, {FK_CVC_ECDSA, FK_HASH_SHA224}},
    {{ID_TA, 0x02, 0x03}, {FK_CVC_ECDSA, FK_HASH_SHA256}},
    {{ID_TA, 0x02, 0x04}, {FK_CVC_ECDSA, FK_HASH_SHA384}},
    {{ID_TA, 0x02, 0x05}, {FK_CVC_ECDSA, FK_HASH_SHA512}},
    {{ID_RI, 0x02, 0x03}, {FK_CVC_ECDH, FK_HASH_SHA256}},
};

int fk_cvc_alg_from_oid(const uint8_t *oid, size_t len, fk_cvc_alg_t *alg)
{
    if (oid == NULL || alg == NULL) return FK_CVC_EINVAL;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_algs); i++) {
        if (len == ALG_OID_LEN && memcmp(oid, k_algs[i].oid, ALG_OID_LEN) == 0) {
            *alg = k_algs[i].alg;
            return FK_CVC_OK;
        }
    }
    alg->scheme = FK_CVC_NONE;
    alg->hash = FK_HASH_NONE;
    return FK_CVC_EUNSUPPORTED;
}

int fk_cvc_oid_of(const fk_cvc_alg_t *alg, fk_bytes_t *oid)
{
    if (alg == NULL || oid == NULL) return FK_CVC_EINVAL;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_algs); i++) {
        if (k_algs[i].alg.scheme == alg->scheme && k_algs[i].alg.hash == alg->hash) {
            oid->p = k_algs[i].oid;
            oid->len = ALG_OID_LEN;
            return FK_CVC_OK;
        }
    }
    return FK_CVC_EUNSUPPORTED;
}

/* The key type an algorithm's certificate holds. */
static bool alg_fits_key(fk_cvc_scheme_t s, fk_pk_type_t t)
{
    switch (s) {
    case FK_CVC_RSA_V15:
    case FK_CVC_RSA_PSS: return t == FK_PK_RSA;
    case FK_CVC_ECDSA: return t == FK_PK_EC;
    case FK_CVC_ECDH: return t == FK_PK_MONT || t == FK_PK_EDWARDS;
    default: return false;
    }
}

/* ---- Montgomery and Edwards base points ---------------------------------------
 * What 83 holds under id-RI-ECDH: u = 9 (X25519) and u = 5 (X448) as RFC
 * 7748 bytes, little-endian at field length (Pico HSM's tools tell X25519
 * from Ed25519 by 83's first byte being 09), and the RFC 8032 encodings of
 * the Edwards base points B (y little-endian, the sign of x in the top bit). */
static const uint8_t k_ed25519_b[FK_ED25519_KEY_LEN] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
static const uint8_t k_ed448_b[FK_ED448_KEY_LEN] = {
    0x14, 0xfa, 0x30, 0xf2, 0x5b, 0x79, 0x08, 0x98, 0xad, 0xc8, 0xd7, 0x4e, 0x2c, 0x13, 0xbd,
    0xfd, 0xc4, 0x39, 0x7c, 0xe6, 0x1c, 0xff, 0xd3, 0x3a, 0xd7, 0xc2, 0xa0, 0x05, 0x1e, 0x9c,
    0x78, 0x87, 0x40, 0x98, 0xa3, 0x6c, 0x73, 0x73, 0xea, 0x4b, 0x62, 0xc7, 0xc9, 0x56, 0x37,
    0x20, 0x76, 0x88, 0x24, 0xbc, 0xb6, 0x6e, 0x71, 0x46, 0x3f, 0x69, 0x00};

/* Append 83 with the base point of a Montgomery curve as RFC 7748 bytes. */
static bool put_montgomery_g(fk_rbuf_t *r, const fk_curve_info_t *ci)
{
    if (!fk_tlv_put_header(r, FK_CVC_MONT_G, ci->field_len)) return false;
    uint8_t *u = fk_rbuf_reserve(r, ci->field_len);
    if (u == NULL) return false;
    memset(u, 0, ci->field_len);
    u[0] = ci->g[ci->g_len - 1u]; /* the table holds it big-endian */
    return true;
}

/* ---- Field checks -------------------------------------------------------------- */

static bool printable(const fk_bytes_t *b, size_t max)
{
    if (b->p == NULL || b->len == 0 || b->len > max) return false;
    for (size_t i = 0; i < b->len; i++)
        if (b->p[i] < PRINTABLE_FIRST || b->p[i] > PRINTABLE_LAST) return false;
    return true;
}

static bool date_ok(const uint8_t *d, size_t len)
{
    if (d == NULL || len != FK_CVC_DATE_LEN) return false;
    for (size_t i = 0; i < len; i++)
        if (d[i] > DIGIT_MAX) return false;
    return true;
}

static bool present(const fk_bytes_t *b) { return b->p != NULL && b->len > 0; }

/* A sequence of well-formed BER-TLVs (possibly empty). */
static bool tlv_sequence_ok(const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    fk_tlv_t t;
    int rc;
    if (p == NULL) return len == 0;
    do {
        rc = fk_tlv_next(&p, end, &t);
    } while (rc == FK_TLV_OK);
    return rc == FK_TLV_END;
}

/* ---- Building ------------------------------------------------------------------- */

/* Check a public key and its OID before anything is written. */
static int pubkey_args_ok(const fk_bytes_t *oid, const fk_pk_public_t *pub)
{
    fk_cvc_alg_t alg;

    if (oid == NULL || pub == NULL || !present(oid) || oid->len > OID_MAX_LEN) return FK_CVC_EINVAL;
    if (fk_cvc_alg_from_oid(oid->p, oid->len, &alg) != FK_CVC_OK) return FK_CVC_EUNSUPPORTED;
    if (!alg_fits_key(alg.scheme, pub->type)) return FK_CVC_EINVAL;
    if (pub->type == FK_PK_RSA) {
        if (!present(&pub->n) || !present(&pub->e)) return FK_CVC_EINVAL;
        return FK_CVC_OK;
    }
    const fk_curve_info_t *ci = fk_curve_info(pub->curve);
    const bool twin = pub->type == FK_PK_MONT || pub->type == FK_PK_EDWARDS;
    if (ci == NULL || ci->montgomery != twin || pub->point.p == NULL) return FK_CVC_EINVAL;
    const size_t want = pub->type == FK_PK_EDWARDS ? fk_ed_key_len(pub->curve)
                        : ci->montgomery           ? ci->field_len
                                                   : ci->g_len;
    if (pub->point.len != want) return FK_CVC_EINVAL;
    return FK_CVC_OK;
}

int fk_cvc_put_pubkey(fk_rbuf_t *r, const fk_bytes_t *oid, const fk_pk_public_t *pub,
                      bool domain_params)
{
    size_t start;
    bool ok;
    int rc;

    if (r == NULL) return FK_CVC_EINVAL;
    rc = pubkey_args_ok(oid, pub);
    if (rc != FK_CVC_OK) return rc;
    start = r->len;
    fk_tlv_mark_t m = fk_tlv_begin(r, FK_CVC_TAG_PUBKEY);
    ok = m.ok && fk_tlv_put(r, FK_CVC_TAG_OID, oid->p, oid->len);
    if (pub->type == FK_PK_RSA) {
        ok = ok && fk_tlv_put(r, FK_CVC_RSA_N, pub->n.p, pub->n.len) &&
             fk_tlv_put(r, FK_CVC_RSA_E, pub->e.p, pub->e.len);
    } else {
        const fk_curve_info_t *ci = fk_curve_info(pub->curve);
        if (ci->montgomery) {
            /* Edwards keys name the same prime and order as their twin. */
            ok = ok && fk_tlv_put(r, FK_CVC_MONT_P, ci->p, ci->field_len) &&
                 fk_tlv_put(r, FK_CVC_MONT_N, ci->n, ci->order_len);
            if (pub->type == FK_PK_EDWARDS)
                ok = ok && (ci->id == FK_CURVE_X25519
                                ? fk_tlv_put(r, FK_CVC_MONT_G, k_ed25519_b, sizeof(k_ed25519_b))
                                : fk_tlv_put(r, FK_CVC_MONT_G, k_ed448_b, sizeof(k_ed448_b)));
            else
                ok = ok && put_montgomery_g(r, ci);
            ok = ok && fk_tlv_put(r, FK_CVC_MONT_Q, pub->point.p, pub->point.len);
        } else {
            if (domain_params)
                ok = ok && fk_tlv_put(r, FK_CVC_EC_P, ci->p, ci->field_len) &&
                     fk_tlv_put(r, FK_CVC_EC_A, ci->a, ci->field_len) &&
                     fk_tlv_put(r, FK_CVC_EC_B, ci->b, ci->field_len) &&
                     fk_tlv_put(r, FK_CVC_EC_G, ci->g, ci->g_len) &&
                     fk_tlv_put(r, FK_CVC_EC_N, ci->n, ci->order_len);
            ok = ok && fk_tlv_put(r, FK_CVC_EC_Q, pub->point.p, pub->point.len);
            if (domain_params) ok = ok && fk_tlv_put(r, FK_CVC_EC_H, &ci->cofactor, 1);
        }
    }
    ok = ok && fk_tlv_end(r, m);
    if (!ok) {
        r->len = start;
        return FK_CVC_ESPACE;
    }
    return FK_CVC_OK;
}

static int fields_ok(const fk_cvc_fields_t *f)
{
    if (f == NULL) return FK_CVC_EINVAL;
    if (f->car.p != NULL && !printable(&f->car, FK_CVC_CAR_MAX)) return FK_CVC_EINVAL;
    if (!printable(&f->chr, FK_CVC_CHR_MAX)) return FK_CVC_EINVAL;
    if (present(&f->chat_oid) != present(&f->chat_rights)) return FK_CVC_EINVAL;
    if (present(&f->chat_oid) && f->chat_oid.len > OID_MAX_LEN) return FK_CVC_EINVAL;
    if ((f->effective != NULL) != (f->expiry != NULL)) return FK_CVC_EINVAL;
    if (f->effective != NULL &&
        (!date_ok(f->effective, FK_CVC_DATE_LEN) || !date_ok(f->expiry, FK_CVC_DATE_LEN)))
        return FK_CVC_EINVAL;
    if (f->ext.p != NULL && !tlv_sequence_ok(f->ext.p, f->ext.len)) return FK_CVC_EINVAL;
    return FK_CVC_OK;
}

int fk_cvc_put_body(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub)
{
    static const uint8_t profile = FK_CVC_PROFILE;
    size_t start;
    bool ok;
    int rc;

    if (r == NULL) return FK_CVC_EINVAL;
    rc = fields_ok(f);
    if (rc == FK_CVC_OK) rc = pubkey_args_ok(&f->key_oid, pub);
    if (rc != FK_CVC_OK) return rc;

    start = r->len;
    fk_tlv_mark_t m = fk_tlv_begin(r, FK_CVC_TAG_BODY);
    ok = m.ok && fk_tlv_put(r, FK_CVC_TAG_PROFILE, &profile, 1);
    if (ok && f->car.p != NULL) ok = fk_tlv_put(r, FK_CVC_TAG_CAR, f->car.p, f->car.len);
    if (ok) {
        rc = fk_cvc_put_pubkey(r, &f->key_oid, pub, f->domain_params);
        ok = rc == FK_CVC_OK;
    }
    ok = ok && fk_tlv_put(r, FK_CVC_TAG_CHR, f->chr.p, f->chr.len);
    if (ok && present(&f->chat_oid)) {
        fk_tlv_mark_t c = fk_tlv_begin(r, FK_CVC_TAG_CHAT);
        ok = c.ok && fk_tlv_put(r, FK_CVC_TAG_OID, f->chat_oid.p, f->chat_oid.len) &&
             fk_tlv_put(r, FK_CVC_TAG_RIGHTS, f->chat_rights.p, f->chat_rights.len) &&
             fk_tlv_end(r, c);
    }
    if (ok && f->effective != NULL)
        ok = fk_tlv_put(r, FK_CVC_TAG_EFFECTIVE, f->effective, FK_CVC_DATE_LEN) &&
             fk_tlv_put(r, FK_CVC_TAG_EXPIRY, f->expiry, FK_CVC_DATE_LEN);
    if (ok && f->ext.p != NULL) ok = fk_tlv_put(r, FK_CVC_TAG_EXT, f->ext.p, f->ext.len);
    ok = ok && fk_tlv_end(r, m);
    if (!ok) {
        r->len = start;
        return FK_CVC_ESPACE;
    }
    return FK_CVC_OK;
}

/* Append 5F37 with the signature over r->p[msg_off, msg_off + msg_len). The
 * signer writes straight into the buffer behind the message. */
static int put_signature(fk_rbuf_t *r, const fk_cvc_signer_t *s, size_t msg_off, size_t msg_len)
{
    size_t sig_len = 0;

    if (fk_tlv_tag_size(FK_CVC_TAG_SIG) + fk_tlv_len_size(s->len) + s->len > fk_rbuf_room(r))
        return FK_CVC_ESPACE;
    if (!fk_tlv_put_header(r, FK_CVC_TAG_SIG, s->len)) return FK_CVC_ESPACE;
    uint8_t *sig = r->p + r->len;
    if (s->sign == NULL) {
        memset(sig, 0, s->len);
    } else if (s->sign(s->arg, r->p + msg_off, msg_len, sig, s->len, &sig_len) != 0 ||
               sig_len != s->len) {
        fk_wipe(sig, s->len);
        return FK_CVC_ESIGN;
    }
    r->len += s->len;
    return FK_CVC_OK;
}

static bool signer_ok(const fk_cvc_signer_t *s)
{
    return s != NULL && s->len > 0 && s->len <= FK_CVC_SIG_MAX;
}

/* 7F21 { 7F4E, 5F37 } after the arguments were checked. */
static int put_cert(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub,
                    const fk_cvc_signer_t *signer)
{
    fk_tlv_mark_t m = fk_tlv_begin(r, FK_CVC_TAG_CERT);
    if (!m.ok) return FK_CVC_ESPACE;
    size_t body_off = r->len;
    int rc = fk_cvc_put_body(r, f, pub);
    if (rc == FK_CVC_OK) rc = put_signature(r, signer, body_off, r->len - body_off);
    if (rc == FK_CVC_OK && !fk_tlv_end(r, m)) rc = FK_CVC_ESPACE;
    return rc;
}

int fk_cvc_build_cert(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub,
                      const fk_cvc_signer_t *signer)
{
    int rc;

    if (r == NULL || !signer_ok(signer)) return FK_CVC_EINVAL;
    rc = fields_ok(f);
    if (rc == FK_CVC_OK) rc = pubkey_args_ok(&f->key_oid, pub);
    if (rc != FK_CVC_OK) return rc;
    size_t start = r->len;
    rc = put_cert(r, f, pub, signer);
    if (rc != FK_CVC_OK) r->len = start;
    return rc;
}

int fk_cvc_build_request(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub,
                         const fk_cvc_signer_t *inner, const fk_bytes_t *outer_car,
                         const fk_cvc_signer_t *outer)
{
    fk_tlv_mark_t m = {0, false};
    int rc;

    if (r == NULL || !signer_ok(inner)) return FK_CVC_EINVAL;
    if (outer != NULL &&
        (!signer_ok(outer) || outer_car == NULL || !printable(outer_car, FK_CVC_CAR_MAX)))
        return FK_CVC_EINVAL;
    rc = fields_ok(f);
    if (rc == FK_CVC_OK) rc = pubkey_args_ok(&f->key_oid, pub);
    if (rc != FK_CVC_OK) return rc;

    size_t start = r->len;
    if (outer != NULL) {
        m = fk_tlv_begin(r, FK_CVC_TAG_REQUEST);
        if (!m.ok) return FK_CVC_ESPACE;
    }
    size_t cert_off = r->len;
    rc = put_cert(r, f, pub, inner);
    if (rc == FK_CVC_OK && outer != NULL) {
        if (!fk_tlv_put(r, FK_CVC_TAG_CAR, outer_car->p, outer_car->len)) rc = FK_CVC_ESPACE;
        if (rc == FK_CVC_OK) rc = put_signature(r, outer, cert_off, r->len - cert_off);
        if (rc == FK_CVC_OK && !fk_tlv_end(r, m)) rc = FK_CVC_ESPACE;
    }
    if (rc != FK_CVC_OK) r->len = start;
    return rc;
}

int fk_cvc_sign_with_key(void *arg, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                         size_t *sig_len)
{
    const fk_cvc_key_signer_t *ks = (const fk_cvc_key_signer_t *)arg;
    uint8_t digest[FK_HASH_MAX_LEN];
    size_t dl;
    int rc;

    if (ks == NULL || ks->key == NULL || sig_len == NULL) return FK_CVC_EINVAL;
    *sig_len = 0;
    if (!alg_fits_key(ks->alg.scheme, ks->key->type) || ks->alg.scheme == FK_CVC_ECDH)
        return FK_CVC_EUNSUPPORTED;
    dl = fk_hash_len(ks->alg.hash);
    if (fk_hash(ks->alg.hash, msg, len, digest) != FK_CRYPTO_OK) return FK_CVC_ESIGN;
    switch (ks->alg.scheme) {
    case FK_CVC_ECDSA:
        rc = fk_pk_ecdsa_sign(ks->key, digest, dl, FK_SIG_PLAIN, sig, cap, sig_len);
        break;
    case FK_CVC_RSA_V15:
        rc = fk_pk_rsa_sign_pkcs1(ks->key, ks->alg.hash, digest, dl, sig, cap, sig_len);
        break;
    default:
        rc = fk_pk_rsa_sign_pss(ks->key, ks->alg.hash, digest, dl, sig, cap, sig_len);
        break;
    }
    fk_wipe(digest, sizeof(digest));
    return rc == FK_CRYPTO_OK ? FK_CVC_OK : FK_CVC_ESIGN;
}

int fk_cvc_sign_with_ed(void *arg, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                        size_t *sig_len)
{
    const fk_cvc_ed_signer_t *es = (const fk_cvc_ed_signer_t *)arg;
    size_t sl;

    if (es == NULL || es->seed == NULL || es->pub == NULL || sig_len == NULL) return FK_CVC_EINVAL;
    *sig_len = 0;
    sl = fk_ed_sig_len(es->twin);
    if (sl == 0) return FK_CVC_EUNSUPPORTED;
    if (cap < sl || fk_ed_sign(es->twin, es->seed, es->pub, msg, len, sig) != FK_CRYPTO_OK)
        return FK_CVC_ESIGN;
    *sig_len = sl;
    return FK_CVC_OK;
}

fk_cvc_signer_t fk_cvc_signer_for_ed(const fk_cvc_ed_signer_t *es)
{
    fk_cvc_signer_t s = {fk_cvc_sign_with_ed, (void *)(uintptr_t)es, 0};
    if (es != NULL) s.len = fk_ed_sig_len(es->twin);
    return s;
}

fk_cvc_signer_t fk_cvc_signer_for_key(const fk_cvc_key_signer_t *ks)
{
    fk_cvc_signer_t s = {fk_cvc_sign_with_key, (void *)(uintptr_t)ks, 0};
    const fk_curve_info_t *ci;

    if (ks == NULL || ks->key == NULL || !alg_fits_key(ks->alg.scheme, ks->key->type) ||
        fk_hash_len(ks->alg.hash) == 0)
        return s;
    if (ks->alg.scheme == FK_CVC_ECDSA) {
        ci = fk_curve_info(ks->key->curve);
        if (ci != NULL) s.len = 2u * ci->order_len;
    } else if (ks->alg.scheme != FK_CVC_ECDH) {
        s.len = ks->key->n.len;
    }
    return s;
}

/* ---- Parsing -------------------------------------------------------------------- */

/* The members of 7F49: an OID first, then 81..87 in increasing order. */
static int parse_pubkey(const fk_tlv_t *t, fk_cvc_t *c)
{
    const uint8_t *p = t->value, *end = t->value + t->len;
    fk_tlv_t e;
    uint32_t last = 0;

    c->key.p = t->value;
    c->key.len = t->len;
    if (fk_tlv_next(&p, end, &e) != FK_TLV_OK || e.tag != FK_CVC_TAG_OID || e.len == 0 ||
        e.len > OID_MAX_LEN)
        return FK_CVC_EMALFORMED;
    c->key_oid.p = e.value;
    c->key_oid.len = e.len;
    for (;;) {
        int rc = fk_tlv_next(&p, end, &e);
        if (rc == FK_TLV_END) return FK_CVC_OK;
        if (rc != FK_TLV_OK || e.tag < FK_CVC_KEY_TAG_FIRST || e.tag > FK_CVC_KEY_TAG_LAST ||
            e.tag <= last || e.len == 0 || e.len > KEY_EL_MAX)
            return FK_CVC_EMALFORMED;
        last = e.tag;
        c->key_el[FK_CVC_KEY_INDEX(e.tag)].p = e.value;
        c->key_el[FK_CVC_KEY_INDEX(e.tag)].len = e.len;
    }
}

/* 7F4C { 06 role, 53 rights }. */
static int parse_chat(const fk_tlv_t *t, fk_cvc_t *c)
{
    const uint8_t *p = t->value, *end = t->value + t->len;
    fk_tlv_t o, r, extra;

    if (fk_tlv_next(&p, end, &o) != FK_TLV_OK || o.tag != FK_CVC_TAG_OID || o.len == 0 ||
        o.len > OID_MAX_LEN)
        return FK_CVC_EMALFORMED;
    if (fk_tlv_next(&p, end, &r) != FK_TLV_OK || r.tag != FK_CVC_TAG_RIGHTS || r.len == 0)
        return FK_CVC_EMALFORMED;
    if (fk_tlv_next(&p, end, &extra) != FK_TLV_END) return FK_CVC_EMALFORMED;
    c->chat_oid.p = o.value;
    c->chat_oid.len = o.len;
    c->chat_rights.p = r.value;
    c->chat_rights.len = r.len;
    return FK_CVC_OK;
}

/* The objects of a body in their order; required ones may not be skipped. */
static const struct {
    uint32_t tag;
    bool required;
} k_body_order[] = {
    {FK_CVC_TAG_PROFILE, true},    {FK_CVC_TAG_CAR, false},    {FK_CVC_TAG_PUBKEY, true},
    {FK_CVC_TAG_CHR, true},        {FK_CVC_TAG_CHAT, false},   {FK_CVC_TAG_EFFECTIVE, false},
    {FK_CVC_TAG_EXPIRY, false},    {FK_CVC_TAG_EXT, false},
};

static int parse_element(const fk_tlv_t *t, fk_cvc_t *c)
{
    fk_bytes_t v = {t->value, t->len};

    switch (t->tag) {
    case FK_CVC_TAG_PROFILE:
        return t->len == 1 && t->value[0] == FK_CVC_PROFILE ? FK_CVC_OK : FK_CVC_EMALFORMED;
    case FK_CVC_TAG_CAR:
        if (!printable(&v, FK_CVC_CAR_MAX)) return FK_CVC_EMALFORMED;
        c->car = v;
        return FK_CVC_OK;
    case FK_CVC_TAG_PUBKEY:
        return parse_pubkey(t, c);
    case FK_CVC_TAG_CHR:
        if (!printable(&v, FK_CVC_CHR_MAX)) return FK_CVC_EMALFORMED;
        c->chr = v;
        return FK_CVC_OK;
    case FK_CVC_TAG_CHAT:
        return parse_chat(t, c);
    case FK_CVC_TAG_EFFECTIVE:
        if (!date_ok(t->value, t->len)) return FK_CVC_EMALFORMED;
        c->effective = v;
        return FK_CVC_OK;
    case FK_CVC_TAG_EXPIRY:
        if (!date_ok(t->value, t->len)) return FK_CVC_EMALFORMED;
        c->expiry = v;
        return FK_CVC_OK;
    case FK_CVC_TAG_EXT:
        if (!tlv_sequence_ok(t->value, t->len)) return FK_CVC_EMALFORMED;
        c->ext = v;
        return FK_CVC_OK;
    default:
        return FK_CVC_EMALFORMED;
    }
}

static int parse_body(const fk_tlv_t *body, fk_cvc_t *c)
{
    const uint8_t *p = body->value, *end = body->value + body->len;
    size_t stage = 0;
    fk_tlv_t t;
    int rc;

    while ((rc = fk_tlv_next(&p, end, &t)) == FK_TLV_OK) {
        size_t i = stage;
        while (i < FK_ARRAY_SIZE(k_body_order) && k_body_order[i].tag != t.tag) {
            if (k_body_order[i].required) return FK_CVC_EMALFORMED; /* skipped */
            i++;
        }
        /* Unknown, repeated or out of order. */
        if (i == FK_ARRAY_SIZE(k_body_order)) return FK_CVC_EMALFORMED;
        rc = parse_element(&t, c);
        if (rc != FK_CVC_OK) return rc;
        stage = i + 1;
    }
    if (rc != FK_TLV_END) return FK_CVC_EMALFORMED;
    /* Everything required seen (CHR is the last required object). */
    for (size_t i = stage; i < FK_ARRAY_SIZE(k_body_order); i++)
        if (k_body_order[i].required) return FK_CVC_EMALFORMED;
    if ((c->effective.len == 0) != (c->expiry.len == 0)) return FK_CVC_EMALFORMED;
    return FK_CVC_OK;
}

int fk_cvc_parse(const uint8_t *buf, size_t len, fk_cvc_t *c)
{
    const uint8_t *p = buf;
    fk_tlv_t cert, body, sig, extra;
    int rc;

    if (c == NULL) return FK_CVC_EINVAL;
    memset(c, 0, sizeof(*c));
    if (buf == NULL) return FK_CVC_EMALFORMED;
    if (fk_tlv_next(&p, buf + len, &cert) != FK_TLV_OK || cert.tag != FK_CVC_TAG_CERT)
        return FK_CVC_EMALFORMED;
    c->cert.p = buf;
    c->cert.len = cert.total;

    p = cert.value;
    const uint8_t *end = cert.value + cert.len;
    const uint8_t *body_start = p;
    if (fk_tlv_next(&p, end, &body) != FK_TLV_OK || body.tag != FK_CVC_TAG_BODY) goto bad;
    c->body.p = body_start;
    c->body.len = body.total;
    rc = parse_body(&body, c);
    if (rc != FK_CVC_OK) goto bad;
    if (fk_tlv_next(&p, end, &sig) != FK_TLV_OK || sig.tag != FK_CVC_TAG_SIG || sig.len == 0 ||
        sig.len > FK_CVC_SIG_MAX)
        goto bad;
    c->sig.p = sig.value;
    c->sig.len = sig.len;
    if (fk_tlv_next(&p, end, &extra) != FK_TLV_END) goto bad;
    return FK_CVC_OK;

bad:
    memset(c, 0, sizeof(*c));
    return FK_CVC_EMALFORMED;
}

int fk_cvc_parse_request(const uint8_t *buf, size_t len, fk_cvc_request_t *rq)
{
    const uint8_t *p = buf;
    fk_tlv_t outer, car, sig, extra;
    int rc;

    if (rq == NULL) return FK_CVC_EINVAL;
    memset(rq, 0, sizeof(*rq));
    if (buf == NULL || fk_tlv_next(&p, buf + len, &outer) != FK_TLV_OK) return FK_CVC_EMALFORMED;
    if (outer.tag == FK_CVC_TAG_CERT) {
        rc = fk_cvc_parse(buf, len, &rq->cert);
        if (rc == FK_CVC_OK) rq->whole = rq->cert.cert;
        return rc;
    }
    if (outer.tag != FK_CVC_TAG_REQUEST) return FK_CVC_EMALFORMED;

    rc = fk_cvc_parse(outer.value, outer.len, &rq->cert);
    if (rc != FK_CVC_OK) goto bad;
    p = outer.value + rq->cert.cert.len;
    const uint8_t *end = outer.value + outer.len;
    if (fk_tlv_next(&p, end, &car) != FK_TLV_OK || car.tag != FK_CVC_TAG_CAR) goto bad;
    fk_bytes_t carb = {car.value, car.len};
    if (!printable(&carb, FK_CVC_CAR_MAX)) goto bad;
    size_t signed_len = (size_t)(p - outer.value);
    if (fk_tlv_next(&p, end, &sig) != FK_TLV_OK || sig.tag != FK_CVC_TAG_SIG || sig.len == 0 ||
        sig.len > FK_CVC_SIG_MAX)
        goto bad;
    if (fk_tlv_next(&p, end, &extra) != FK_TLV_END) goto bad;
    rq->authenticated = true;
    rq->outer_car = carb;
    rq->outer_signed.p = outer.value;
    rq->outer_signed.len = signed_len;
    rq->outer_sig.p = sig.value;
    rq->outer_sig.len = sig.len;
    rq->whole.p = buf;
    rq->whole.len = outer.total;
    return FK_CVC_OK;

bad:
    memset(rq, 0, sizeof(*rq));
    return FK_CVC_EMALFORMED;
}

/* The curve named by explicit EC parameters in 7F49, or FK_CURVE_NONE.
 * b and n, when present, must match too. */
static fk_curve_t curve_of_params(const fk_cvc_t *c, bool montgomery)
{
    const fk_bytes_t *el = c->key_el;
    const fk_bytes_t *p = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_P)];
    const fk_bytes_t *a = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_A)];
    const fk_bytes_t *b = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_B)];
    const fk_bytes_t *g = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_G)];
    const fk_bytes_t *n = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_N)];
    fk_curve_t curve;

    if (montgomery) /* the base point sits where b would be */
        return fk_curve_from_domain(p->p, p->len, NULL, 0, el[FK_CVC_KEY_INDEX(FK_CVC_MONT_G)].p,
                                    el[FK_CVC_KEY_INDEX(FK_CVC_MONT_G)].len);
    curve = fk_curve_from_domain(p->p, p->len, present(a) ? a->p : NULL, a->len,
                                 present(g) ? g->p : NULL, g->len);
    const fk_curve_info_t *ci = fk_curve_info(curve);
    if (ci == NULL || ci->montgomery) return FK_CURVE_NONE;
    if (present(b) && (b->len != ci->field_len || memcmp(b->p, ci->b, b->len) != 0))
        return FK_CURVE_NONE;
    if (present(n) && (n->len != ci->order_len || memcmp(n->p, ci->n, n->len) != 0))
        return FK_CURVE_NONE;
    return curve;
}

/* The Montgomery twin whose prime p is (leading zeros ignored), or
 * FK_CURVE_NONE. */
static fk_curve_t edwards_twin(const fk_bytes_t *p)
{
    static const fk_curve_t k_twins[] = {FK_CURVE_X25519, FK_CURVE_X448};
    const uint8_t *v = p->p;
    size_t len = p->len;
    while (len > 0 && v[0] == 0) v++, len--;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_twins); i++) {
        const fk_curve_info_t *ci = fk_curve_info(k_twins[i]);
        if (len == ci->field_len && memcmp(v, ci->p, len) == 0) return k_twins[i];
    }
    return FK_CURVE_NONE;
}

int fk_cvc_public_key(const fk_cvc_t *c, fk_curve_t inherited, fk_pk_public_t *pub,
                      fk_cvc_alg_t *alg)
{
    const fk_bytes_t *el;
    fk_cvc_alg_t a;
    int rc;

    if (c == NULL || pub == NULL) return FK_CVC_EINVAL;
    memset(pub, 0, sizeof(*pub));
    rc = fk_cvc_alg_from_oid(c->key_oid.p, c->key_oid.len, &a);
    if (rc != FK_CVC_OK) return FK_CVC_EUNSUPPORTED;
    el = c->key_el;
    switch (a.scheme) {
    case FK_CVC_RSA_V15:
    case FK_CVC_RSA_PSS:
        pub->type = FK_PK_RSA;
        pub->n = el[FK_CVC_KEY_INDEX(FK_CVC_RSA_N)];
        pub->e = el[FK_CVC_KEY_INDEX(FK_CVC_RSA_E)];
        if (!present(&pub->n) || !present(&pub->e)) rc = FK_CVC_EMALFORMED;
        break;
    case FK_CVC_ECDSA:
    case FK_CVC_ECDH: {
        bool mont = a.scheme == FK_CVC_ECDH;
        const fk_curve_info_t *ci;
        pub->type = mont ? FK_PK_MONT : FK_PK_EC;
        pub->point = el[FK_CVC_KEY_INDEX(mont ? FK_CVC_MONT_Q : FK_CVC_EC_Q)];
        bool explicit_params = present(&el[FK_CVC_KEY_INDEX(FK_CVC_EC_P)]);
        pub->curve = explicit_params ? curve_of_params(c, mont) : inherited;
        if (mont && explicit_params && pub->curve == FK_CURVE_NONE &&
            present(&el[FK_CVC_KEY_INDEX(FK_CVC_MONT_G)])) {
            /* The twin's prime with another base point: an Edwards key. */
            pub->curve = edwards_twin(&el[FK_CVC_KEY_INDEX(FK_CVC_MONT_P)]);
            pub->type = FK_PK_EDWARDS;
        }
        ci = fk_curve_info(pub->curve);
        if (!present(&pub->point))
            rc = FK_CVC_EMALFORMED;
        else if (ci == NULL || ci->montgomery != mont)
            rc = FK_CVC_EUNSUPPORTED;
        break;
    }
    default:
        rc = FK_CVC_EUNSUPPORTED;
        break;
    }
    if (rc == FK_CVC_OK && pub->type == FK_PK_EDWARDS) {
        if (pub->point.len != fk_ed_key_len(pub->curve)) rc = FK_CVC_EINVAL;
    } else if (rc == FK_CVC_OK && fk_pk_check_public(pub) != FK_CRYPTO_OK) {
        rc = FK_CVC_EINVAL;
    }
    if (rc != FK_CVC_OK) {
        memset(pub, 0, sizeof(*pub));
        return rc;
    }
    if (alg != NULL) *alg = a;
    return FK_CVC_OK;
}

int fk_cvc_verify_signature(const fk_pk_public_t *pub, const fk_cvc_alg_t *alg,
                            const uint8_t *msg, size_t len, const uint8_t *sig, size_t sig_len)
{
    uint8_t digest[FK_HASH_MAX_LEN];
    size_t dl;
    int rc;

    if (pub == NULL || alg == NULL || sig == NULL || (msg == NULL && len)) return FK_CVC_EINVAL;
    if (!alg_fits_key(alg->scheme, pub->type)) return FK_CVC_EUNSUPPORTED;
    if (pub->type == FK_PK_EDWARDS) {
        rc = fk_ed_verify(pub->curve, pub->point.p, msg, len, sig, sig_len);
        if (rc == FK_CRYPTO_OK) return FK_CVC_OK;
        return rc == FK_CRYPTO_EAUTH ? FK_CVC_EVERIFY : FK_CVC_EINVAL;
    }
    if (alg->scheme == FK_CVC_ECDH) return FK_CVC_EUNSUPPORTED;
    dl = fk_hash_len(alg->hash);
    if (fk_hash(alg->hash, msg, len, digest) != FK_CRYPTO_OK) return FK_CVC_EUNSUPPORTED;
    switch (alg->scheme) {
    case FK_CVC_ECDSA:
        rc = fk_pk_ecdsa_verify(pub, digest, dl, FK_SIG_PLAIN, sig, sig_len);
        break;
    case FK_CVC_RSA_V15:
        rc = fk_pk_rsa_verify_pkcs1(pub, alg->hash, digest, dl, sig, sig_len);
        break;
    default:
        rc = fk_pk_rsa_verify_pss(pub, alg->hash, digest, dl, sig, sig_len);
        break;
    }
    if (rc == FK_CRYPTO_OK) return FK_CVC_OK;
    return rc == FK_CRYPTO_EAUTH ? FK_CVC_EVERIFY : FK_CVC_EINVAL;
}

int fk_cvc_verify(const fk_cvc_t *c, const fk_pk_public_t *issuer, const fk_cvc_alg_t *alg)
{
    if (c == NULL || c->body.p == NULL || c->sig.p == NULL) return FK_CVC_EINVAL;
    return fk_cvc_verify_signature(issuer, alg, c->body.p, c->body.len, c->sig.p, c->sig.len);
}

/* ---- Holder references ----------------------------------------------------- */

static bool upper(uint8_t ch) { return ch >= 'A' && ch <= 'Z'; }
static bool digit(uint8_t ch) { return ch >= '0' && ch <= '9'; }

bool fk_cvc_device_chr_ok(const uint8_t *chr, size_t len)
{
    if (chr == NULL || len < DEVICE_CHR_MIN || len > FK_CVC_CAR_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        bool letter_only = i < DEVICE_COUNTRY_LEN;
        if (!upper(chr[i]) && (letter_only || !digit(chr[i]))) return false;
    }
    return true;
}

size_t fk_cvc_device_chr(uint8_t out[FK_CVC_CAR_MAX], const char *country, const char *mnemonic,
                         uint32_t seq)
{
    size_t n = 0, ml;

    if (out == NULL || country == NULL || mnemonic == NULL || seq >= DEVICE_SEQ_LIMIT) return 0;
    ml = strlen(mnemonic);
    if (strlen(country) != DEVICE_COUNTRY_LEN || ml == 0 || ml > DEVICE_MNEMONIC_MAX) return 0;
    memcpy(out, country, DEVICE_COUNTRY_LEN);
    n = DEVICE_COUNTRY_LEN;
    memcpy(out + n, mnemonic, ml);
    n += ml;
    for (size_t i = DEVICE_SEQ_LEN; i > 0; i--) {
        out[n + i - 1u] = (uint8_t)('0' + seq % DECIMAL);
        seq /= DECIMAL;
    }
    n += DEVICE_SEQ_LEN;
    if (!fk_cvc_device_chr_ok(out, n)) {
        fk_wipe(out, n);
        return 0;
    }
    return n;
}
