/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_blob.c - encoder and decoder of the SmartCard-HSM key blob
 * (hsm_blob.h; the format is docs/key-blob.md). Pure: the crypto module and
 * the bytes given, nothing else.
 *
 * IMPLEMENTATION NOTE: the decoder trusts nothing before the CMAC has
 * verified: it only splits the clear fields by their lengths, compares the
 * KCV and checks the MAC (in constant time) over every byte before the MAC,
 * then decrypts. What the decrypted block says is authentic (it was made by
 * a holder of the DKEK) but still parsed with every length checked: a DKEK
 * holder is not trusted to write well-formed blobs.
 */
#include "hsm_blob.h"

#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sym.h"
#include "util.h"

#define KEY_LEN 32u
#define FIELD_LEN_BYTES 2u
#define KEYSIZE_LEN 2u
#define PAD_FIRST 0x80u
#define COUNTER_TAG 0x90u
#define COUNTER_LEN 4u
#define ACCESS_COUNTER_LEN (2u + COUNTER_LEN) /* 90 04 <u32> */
#define EC_COMPONENTS 7u                      /* a, b, p, n, G, d, Q */
#define RSA_COMPONENTS 3u                     /* d, n, e */
#define RSA_CRT_COMPONENTS 7u                 /* dP, dQ, p, qInv, q, n, e */
#define AES_MAX_LEN 64u

/* Algorithm OIDs of the header (content octets). */
static const uint8_t k_oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_aes[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};
/* RFC 8410: id-X25519, id-X448, id-Ed25519, id-Ed448. */
static const uint8_t k_oid_x25519[] = {0x2B, 0x65, 0x6E};
static const uint8_t k_oid_x448[] = {0x2B, 0x65, 0x6F};
static const uint8_t k_oid_ed25519[] = {0x2B, 0x65, 0x70};
static const uint8_t k_oid_ed448[] = {0x2B, 0x65, 0x71};

/* ---- Montgomery and Edwards domain parameters -------------------------------
 * p, the order and the Montgomery base point come from the crypto module
 * (fk_curve_info of X25519 / X448). What a blob adds, big-endian at field
 * length unless noted: Montgomery A and B (RFC 7748), Edwards a and d and
 * the encoded base point (RFC 8032, its own length). */
typedef struct twin_params {
    fk_curve_t curve;
    uint32_t mont_a; /* B = 1 */
    const uint8_t *ed_a, *ed_d, *ed_g;
    size_t ed_g_len;
} twin_params_t;

static const uint8_t k_ed25519_a[32] = { /* -1 mod p */
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEC};
static const uint8_t k_ed25519_d[32] = {
    0x52, 0x03, 0x6C, 0xEE, 0x2B, 0x6F, 0xFE, 0x73, 0x8C, 0xC7, 0x40, 0x79, 0x77, 0x79, 0xE8, 0x98,
    0x00, 0x70, 0x0A, 0x4D, 0x41, 0x41, 0xD8, 0xAB, 0x75, 0xEB, 0x4D, 0xCA, 0x13, 0x59, 0x78, 0xA3};
static const uint8_t k_ed25519_g[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};
static const uint8_t k_ed448_a[56] = {[55] = 0x01};
static const uint8_t k_ed448_d[56] = { /* -39081 mod p */
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x67, 0x56};
static const uint8_t k_ed448_g[57] = {
    0x14, 0xFA, 0x30, 0xF2, 0x5B, 0x79, 0x08, 0x98, 0xAD, 0xC8, 0xD7, 0x4E, 0x2C, 0x13, 0xBD,
    0xFD, 0xC4, 0x39, 0x7C, 0xE6, 0x1C, 0xFF, 0xD3, 0x3A, 0xD7, 0xC2, 0xA0, 0x05, 0x1E, 0x9C,
    0x78, 0x87, 0x40, 0x98, 0xA3, 0x6C, 0x73, 0x73, 0xEA, 0x4B, 0x62, 0xC7, 0xC9, 0x56, 0x37,
    0x20, 0x76, 0x88, 0x24, 0xBC, 0xB6, 0x6E, 0x71, 0x46, 0x3F, 0x69, 0x00};

static const twin_params_t k_twins[] = {
    {FK_CURVE_X25519, 486662u, k_ed25519_a, k_ed25519_d, k_ed25519_g, sizeof(k_ed25519_g)},
    {FK_CURVE_X448, 156326u, k_ed448_a, k_ed448_d, k_ed448_g, sizeof(k_ed448_g)},
};

static const twin_params_t *twin_of(fk_curve_t c)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_twins); i++) {
        if (k_twins[i].curve == c) return &k_twins[i];
    }
    return NULL;
}

/* ---- Helpers ------------------------------------------------------------------ */

/* Kenc (i = 1) or Kmac (i = 2): SHA-256(DKEK || 00 00 00 i). */
static void derive(const uint8_t dkek[HSM_BLOB_DKEK_LEN], uint8_t i, uint8_t out[KEY_LEN])
{
    const uint8_t ctr[4] = {0, 0, 0, i};
    fk_sha256_ctx_t h;
    fk_sha256_start(&h);
    fk_sha256_update(&h, dkek, HSM_BLOB_DKEK_LEN);
    fk_sha256_update(&h, ctr, sizeof(ctr));
    fk_sha256_finish(&h, out);
}

void hsm_blob_kcv(const uint8_t dkek[HSM_BLOB_DKEK_LEN], uint8_t kcv[HSM_BLOB_KCV_LEN])
{
    uint8_t h[FK_SHA256_LEN];
    fk_sha256(dkek, HSM_BLOB_DKEK_LEN, h);
    memcpy(kcv, h, HSM_BLOB_KCV_LEN);
    fk_wipe(h, sizeof(h));
}

/* An unsigned big-endian integer without its leading zero bytes. */
static fk_bytes_t strip(fk_bytes_t b)
{
    while (b.len > 0 && b.p[0] == 0) {
        b.p++;
        b.len--;
    }
    return b;
}

/* Whether integer b (any leading zeros) equals the len bytes of ref. */
static bool int_is(fk_bytes_t b, const uint8_t *ref, size_t len)
{
    const fk_bytes_t x = strip(b), y = strip((fk_bytes_t){ref, len});
    return x.len == y.len && (x.len == 0 || memcmp(x.p, y.p, x.len) == 0);
}

/* Whether integer b equals the small value v. */
static bool int_is_small(fk_bytes_t b, uint32_t v)
{
    uint8_t ref[4];
    fk_put_be32(ref, v);
    return int_is(b, ref, sizeof(ref));
}

/* Bit length of an unsigned big-endian integer. */
static unsigned bit_length(fk_bytes_t b)
{
    b = strip(b);
    if (b.len == 0) return 0;
    unsigned bits = (unsigned)(b.len - 1u) * 8u;
    for (uint8_t top = b.p[0]; top != 0; top >>= 1) bits++;
    return bits;
}

/* ---- Reading ------------------------------------------------------------------ */

typedef struct reader {
    const uint8_t *p, *end;
    bool ok;
} reader_t;

/* A u16-length-prefixed field of at most max bytes. */
static fk_bytes_t read_field(reader_t *r, size_t max)
{
    fk_bytes_t b = {NULL, 0};
    if (!r->ok || (size_t)(r->end - r->p) < FIELD_LEN_BYTES) {
        r->ok = false;
        return b;
    }
    const size_t n = fk_be16(r->p);
    r->p += FIELD_LEN_BYTES;
    if (n > max || (size_t)(r->end - r->p) < n) {
        r->ok = false;
        return b;
    }
    b.p = r->p;
    b.len = n;
    r->p += n;
    return b;
}

int hsm_blob_parse_header(const uint8_t *blob, size_t len, hsm_blob_header_t *h)
{
    memset(h, 0, sizeof(*h));
    if (blob == NULL || len < HSM_BLOB_KCV_LEN + 1u + HSM_BLOB_MAC_LEN) return HSM_BLOB_EFORMAT;
    reader_t r = {blob + HSM_BLOB_KCV_LEN + 1u, blob + len - HSM_BLOB_MAC_LEN, true};
    h->kcv = blob;
    h->type = blob[HSM_BLOB_KCV_LEN];
    h->oid = read_field(&r, HSM_BLOB_FIELD_MAX);
    h->algs = read_field(&r, HSM_BLOB_ALGS_MAX);
    h->access = read_field(&r, HSM_BLOB_FIELD_MAX);
    h->key_oid = read_field(&r, HSM_BLOB_FIELD_MAX);
    h->cipher = (fk_bytes_t){r.p, r.ok ? (size_t)(r.end - r.p) : 0u};
    h->mac = blob + len - HSM_BLOB_MAC_LEN;
    if (!r.ok || h->cipher.len == 0 || h->cipher.len % HSM_BLOB_BLOCK != 0 ||
        h->cipher.len > HSM_BLOB_PLAIN_MAX ||
        (h->type != HSM_BLOB_TYPE_RSA && h->type != HSM_BLOB_TYPE_RSA_CRT &&
         h->type != HSM_BLOB_TYPE_EC && h->type != HSM_BLOB_TYPE_AES)) {
        memset(h, 0, sizeof(*h));
        return HSM_BLOB_EFORMAT;
    }
    return HSM_BLOB_OK;
}

/* After the components: nothing, or padding 80 00.. / 00.. shorter than a
 * block and a bit (pico pads only what is not aligned; others may always
 * pad). */
static bool padding_ok(const reader_t *r)
{
    const size_t n = (size_t)(r->end - r->p);
    if (n == 0) return true;
    if (n > HSM_BLOB_BLOCK || (r->p[0] != PAD_FIRST && r->p[0] != 0)) return false;
    for (size_t i = 1; i < n; i++) {
        if (r->p[i] != 0) return false;
    }
    return true;
}

/* Type 5 and 6: RSA, d n e or the CRT form; bits from n. */
static int decode_rsa(reader_t *r, uint8_t type, hsm_blob_key_t *key)
{
    key->kind = HSM_BLOB_KIND_RSA;
    if (type == HSM_BLOB_TYPE_RSA) {
        key->d = read_field(r, HSM_BLOB_PLAIN_MAX);
    } else {
        key->dp = read_field(r, HSM_BLOB_PLAIN_MAX);
        key->dq = read_field(r, HSM_BLOB_PLAIN_MAX);
        key->p = read_field(r, HSM_BLOB_PLAIN_MAX);
        key->qinv = read_field(r, HSM_BLOB_PLAIN_MAX);
        key->q = read_field(r, HSM_BLOB_PLAIN_MAX);
    }
    key->n = read_field(r, HSM_BLOB_PLAIN_MAX);
    key->e = read_field(r, HSM_BLOB_PLAIN_MAX);
    if (!r->ok || strip(key->n).len == 0 || strip(key->e).len == 0) return HSM_BLOB_EKEY;
    if (type == HSM_BLOB_TYPE_RSA ? strip(key->d).len == 0
                                  : strip(key->p).len == 0 || strip(key->q).len == 0)
        return HSM_BLOB_EKEY;
    const unsigned bits = bit_length(key->n);
    if (bits < FK_PK_RSA_MIN_BITS || bits > FK_PK_RSA_MAX_BITS) return HSM_BLOB_EKEY;
    key->bits = (uint16_t)bits;
    return HSM_BLOB_OK;
}

/* a = p - 3 (what an empty a means), for the curve's p. */
static bool a_is_p_minus_3(const fk_curve_info_t *ci)
{
    uint8_t pm3[FK_EC_MAX_LEN];
    unsigned borrow = 3;
    for (size_t i = ci->field_len; i-- > 0;) {
        const unsigned v = ci->p[i];
        pm3[i] = (uint8_t)(v - borrow);
        borrow = v < borrow ? 1u : 0u;
    }
    return memcmp(pm3, ci->a, ci->field_len) == 0;
}

/* Type 12 on a Weierstrass curve: p, a (empty: p - 3), b, n and G name
 * it; d at most the order's length, Q (if any) uncompressed at field
 * length. */
static int decode_weierstrass(const fk_bytes_t c[EC_COMPONENTS], hsm_blob_key_t *key)
{
    const fk_bytes_t a = c[0], b = c[1], p = c[2], n = c[3], g = c[4], d = c[5], q = c[6];
    const fk_curve_t curve =
        fk_curve_from_domain(p.p, p.len, a.len ? a.p : NULL, a.len, g.p, g.len);
    const fk_curve_info_t *ci = fk_curve_info(curve);
    if (ci == NULL || ci->montgomery) return HSM_BLOB_EKEY;
    if (a.len == 0 && !a_is_p_minus_3(ci)) return HSM_BLOB_EKEY;
    if ((b.len && !int_is(b, ci->b, ci->field_len)) || (n.len && !int_is(n, ci->n, ci->order_len)))
        return HSM_BLOB_EKEY;
    const fk_bytes_t ds = strip(d);
    if (ds.len == 0 || ds.len > ci->order_len) return HSM_BLOB_EKEY;
    if (q.len != 0 && q.len != ci->g_len) return HSM_BLOB_EKEY;
    key->kind = HSM_BLOB_KIND_EC;
    key->curve = curve;
    key->priv = ds;
    key->pub = q;
    return HSM_BLOB_OK;
}

/* Type 12 over the prime of Curve25519 / Curve448: the base point tells
 * Montgomery (u = 9 / 5, either byte order) from Edwards (the RFC 8032
 * encoding). The private and public values are byte strings of their
 * RFC's length (not integers). */
static int decode_twin(const fk_bytes_t c[EC_COMPONENTS], hsm_blob_key_t *key)
{
    const fk_bytes_t a = c[0], b = c[1], p = c[2], n = c[3], g = c[4], d = c[5], q = c[6];
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_twins); i++) {
        const twin_params_t *tw = &k_twins[i];
        const fk_curve_info_t *ci = fk_curve_info(tw->curve);
        if (!int_is(p, ci->p, ci->field_len)) continue;
        if (n.len && !int_is(n, ci->n, ci->order_len)) return HSM_BLOB_EKEY;
        size_t klen;
        if (fk_curve_from_domain(p.p, p.len, NULL, 0, g.p, g.len) == tw->curve) {
            if ((a.len && !int_is_small(a, tw->mont_a)) || (b.len && !int_is_small(b, 1u)))
                return HSM_BLOB_EKEY;
            key->kind = HSM_BLOB_KIND_MONT;
            klen = ci->field_len;
        } else if (g.len == tw->ed_g_len && memcmp(g.p, tw->ed_g, g.len) == 0) {
            if ((a.len && !int_is(a, tw->ed_a, ci->field_len)) ||
                (b.len && !int_is(b, tw->ed_d, ci->field_len)))
                return HSM_BLOB_EKEY;
            key->kind = HSM_BLOB_KIND_EDWARDS;
            klen = tw->ed_g_len;
        } else {
            return HSM_BLOB_EKEY;
        }
        if (d.len != klen || (q.len != 0 && q.len != klen)) return HSM_BLOB_EKEY;
        key->curve = tw->curve;
        key->priv = d;
        key->pub = q;
        return HSM_BLOB_OK;
    }
    return HSM_BLOB_EKEY;
}

/* Type 12: a, b, p, n, G, d, Q. */
static int decode_ec(reader_t *r, hsm_blob_key_t *key)
{
    fk_bytes_t c[EC_COMPONENTS];
    for (size_t i = 0; i < EC_COMPONENTS; i++) c[i] = read_field(r, HSM_BLOB_PLAIN_MAX);
    if (!r->ok || c[2].len == 0 || c[4].len == 0) return HSM_BLOB_EKEY; /* p and G */
    const fk_bytes_t p = c[2];
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_twins); i++) {
        const fk_curve_info_t *ci = fk_curve_info(k_twins[i].curve);
        if (int_is(p, ci->p, ci->field_len)) return decode_twin(c, key);
    }
    return decode_weierstrass(c, key);
}

/* Type 15: keysize (bytes), then the key itself. */
static int decode_aes(reader_t *r, uint16_t keysize, hsm_blob_key_t *key)
{
    if (keysize != 16u && keysize != 24u && keysize != 32u && keysize != AES_MAX_LEN)
        return HSM_BLOB_EKEY;
    if ((size_t)(r->end - r->p) < keysize) return HSM_BLOB_EKEY;
    key->kind = HSM_BLOB_KIND_AES;
    key->bits = (uint16_t)(keysize * 8u);
    key->priv = (fk_bytes_t){r->p, keysize};
    r->p += keysize;
    return HSM_BLOB_OK;
}

/* The metadata of the clear fields: the algorithm list, and fusekey's use
 * counter when the access conditions are exactly 90 04 <u32> (anything
 * else there, what other cards write, is ignored). */
static void decode_meta(const hsm_blob_header_t *h, hsm_blob_key_t *key)
{
    key->algs = h->algs;
    if (h->access.len == ACCESS_COUNTER_LEN && h->access.p[0] == COUNTER_TAG &&
        h->access.p[1] == COUNTER_LEN) {
        key->has_counter = true;
        key->counter = fk_be32(h->access.p + 2);
    }
}

int hsm_blob_decode(const uint8_t *blob, size_t len, const uint8_t dkek[HSM_BLOB_DKEK_LEN],
                    uint8_t *plain, size_t cap, hsm_blob_key_t *key)
{
    uint8_t kcv[HSM_BLOB_KCV_LEN], k[KEY_LEN], mac[HSM_BLOB_MAC_LEN];
    hsm_blob_header_t h;
    int rc = hsm_blob_parse_header(blob, len, &h);

    memset(key, 0, sizeof(*key));
    if (rc != HSM_BLOB_OK) return rc;
    if (cap < h.cipher.len) return HSM_BLOB_ENOSPC;
    hsm_blob_kcv(dkek, kcv);
    if (!fk_ct_equal(kcv, h.kcv, HSM_BLOB_KCV_LEN)) return HSM_BLOB_EKCV;

    /* The MAC first: nothing is decrypted before it verifies. */
    derive(dkek, 2, k);
    rc = fk_aes_cmac(k, KEY_LEN, blob, len - HSM_BLOB_MAC_LEN, mac) == FK_CRYPTO_OK
             ? HSM_BLOB_OK
             : HSM_BLOB_ECRYPTO;
    if (rc == HSM_BLOB_OK && !fk_ct_equal(mac, h.mac, HSM_BLOB_MAC_LEN)) rc = HSM_BLOB_EMAC;
    if (rc == HSM_BLOB_OK) {
        static const uint8_t iv[HSM_BLOB_BLOCK];
        derive(dkek, 1, k);
        if (fk_aes_crypt(FK_AES_CBC, false, k, KEY_LEN, iv, sizeof(iv), h.cipher.p, h.cipher.len,
                         plain) != FK_CRYPTO_OK)
            rc = HSM_BLOB_ECRYPTO;
    }
    fk_wipe(k, sizeof(k));
    if (rc != HSM_BLOB_OK) {
        fk_wipe(plain, FK_MIN(cap, h.cipher.len));
        return rc;
    }

    reader_t r = {plain + HSM_BLOB_RANDOM_LEN, plain + h.cipher.len, true};
    const uint16_t keysize = fk_be16(plain + HSM_BLOB_RANDOM_LEN);
    r.p += KEYSIZE_LEN;
    switch (h.type) {
    case HSM_BLOB_TYPE_RSA:
    case HSM_BLOB_TYPE_RSA_CRT: rc = decode_rsa(&r, h.type, key); break;
    case HSM_BLOB_TYPE_EC: rc = decode_ec(&r, key); break;
    default: rc = decode_aes(&r, keysize, key); break;
    }
    if (rc == HSM_BLOB_OK && !padding_ok(&r)) rc = HSM_BLOB_EKEY;
    if (rc == HSM_BLOB_OK) decode_meta(&h, key);
    if (rc != HSM_BLOB_OK) {
        fk_wipe(plain, h.cipher.len);
        memset(key, 0, sizeof(*key));
    }
    return rc;
}

/* ---- Writing ------------------------------------------------------------------ */

static const uint8_t k_zero = 0;

typedef struct writer {
    uint8_t *p;
    size_t len, cap;
    bool ok;
} writer_t;

static void put_bytes(writer_t *w, const void *b, size_t n)
{
    if (!w->ok || w->cap - w->len < n) {
        w->ok = false;
        return;
    }
    if (n > 0) memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void put_u16(writer_t *w, uint16_t v)
{
    uint8_t b[2];
    fk_put_be16(b, v);
    put_bytes(w, b, sizeof(b));
}

/* A u16-length-prefixed field. */
static void put_field(writer_t *w, const uint8_t *b, size_t n)
{
    if (n > 0xFFFFu) {
        w->ok = false;
        return;
    }
    put_u16(w, (uint16_t)n);
    put_bytes(w, b, n);
}

/* An integer field at width bytes (left-padded with zeros; a longer
 * integer keeps its length once its leading zeros are gone). */
static void put_int(writer_t *w, fk_bytes_t v, size_t width)
{
    v = strip(v);
    const size_t pad = v.len < width ? width - v.len : 0u;
    if (pad + v.len > 0xFFFFu) {
        w->ok = false;
        return;
    }
    put_u16(w, (uint16_t)(pad + v.len));
    for (size_t i = 0; i < pad && w->ok; i++) put_bytes(w, &k_zero, 1);
    put_bytes(w, v.p, v.len);
}

static void put_small(writer_t *w, uint32_t v, size_t width)
{
    uint8_t b[4];
    fk_put_be32(b, v);
    put_int(w, (fk_bytes_t){b, sizeof(b)}, width);
}

/* The header's algorithm OID and key type for key. */
static bool header_of(const hsm_blob_key_t *key, uint8_t *type, const uint8_t **oid,
                      size_t *oid_len)
{
    switch (key->kind) {
    case HSM_BLOB_KIND_RSA:
        *type = HSM_BLOB_TYPE_RSA, *oid = k_oid_rsa, *oid_len = sizeof(k_oid_rsa);
        return true;
    case HSM_BLOB_KIND_EC:
        *type = HSM_BLOB_TYPE_EC, *oid = k_oid_ec, *oid_len = sizeof(k_oid_ec);
        return true;
    case HSM_BLOB_KIND_MONT:
    case HSM_BLOB_KIND_EDWARDS: {
        const bool c25519 = key->curve == FK_CURVE_X25519;
        *type = HSM_BLOB_TYPE_EC;
        *oid = key->kind == HSM_BLOB_KIND_MONT ? (c25519 ? k_oid_x25519 : k_oid_x448)
                                               : (c25519 ? k_oid_ed25519 : k_oid_ed448);
        *oid_len = 3;
        return true;
    }
    case HSM_BLOB_KIND_AES:
        *type = HSM_BLOB_TYPE_AES, *oid = k_oid_aes, *oid_len = sizeof(k_oid_aes);
        return true;
    default:
        return false;
    }
}

/* The components of the plain block (after random and keysize). */
static bool put_components(writer_t *w, const hsm_blob_key_t *key)
{
    switch (key->kind) {
    case HSM_BLOB_KIND_RSA: {
        const size_t k = (key->bits + 7u) / 8u;
        if (strip(key->n).len != k || bit_length(key->n) != key->bits || strip(key->e).len == 0 ||
            strip(key->d).len == 0 || strip(key->d).len > k)
            return false;
        put_u16(w, key->bits);
        put_int(w, key->d, k);
        put_int(w, key->n, k);
        put_int(w, key->e, 0);
        return true;
    }
    case HSM_BLOB_KIND_EC: {
        const fk_curve_info_t *ci = fk_curve_info(key->curve);
        if (ci == NULL || ci->montgomery || strip(key->priv).len == 0 ||
            strip(key->priv).len > ci->order_len || key->pub.len != ci->g_len)
            return false;
        put_u16(w, (uint16_t)(8u * ci->field_len));
        put_int(w, (fk_bytes_t){ci->a, ci->field_len}, ci->field_len);
        put_int(w, (fk_bytes_t){ci->b, ci->field_len}, ci->field_len);
        put_int(w, (fk_bytes_t){ci->p, ci->field_len}, ci->field_len);
        put_int(w, (fk_bytes_t){ci->n, ci->order_len}, ci->order_len);
        put_field(w, ci->g, ci->g_len);
        put_int(w, key->priv, ci->order_len);
        put_field(w, key->pub.p, key->pub.len);
        return true;
    }
    case HSM_BLOB_KIND_MONT:
    case HSM_BLOB_KIND_EDWARDS: {
        const twin_params_t *tw = twin_of(key->curve);
        const fk_curve_info_t *ci = fk_curve_info(key->curve);
        if (tw == NULL || ci == NULL) return false;
        const bool mont = key->kind == HSM_BLOB_KIND_MONT;
        const size_t klen = mont ? ci->field_len : tw->ed_g_len;
        if (key->priv.len != klen || key->pub.len != klen) return false;
        put_u16(w, (uint16_t)(8u * ci->field_len));
        if (mont) {
            put_small(w, tw->mont_a, ci->field_len);
            put_small(w, 1u, ci->field_len);
        } else {
            put_int(w, (fk_bytes_t){tw->ed_a, ci->field_len}, ci->field_len);
            put_int(w, (fk_bytes_t){tw->ed_d, ci->field_len}, ci->field_len);
        }
        put_int(w, (fk_bytes_t){ci->p, ci->field_len}, ci->field_len);
        put_int(w, (fk_bytes_t){ci->n, ci->order_len}, ci->order_len);
        if (mont)
            put_field(w, ci->g, ci->g_len);
        else
            put_field(w, tw->ed_g, tw->ed_g_len);
        put_field(w, key->priv.p, key->priv.len);
        put_field(w, key->pub.p, key->pub.len);
        return true;
    }
    case HSM_BLOB_KIND_AES: {
        const size_t n = key->priv.len;
        if ((n != 16u && n != 24u && n != 32u && n != AES_MAX_LEN) || key->bits != n * 8u)
            return false;
        put_u16(w, (uint16_t)n);
        put_bytes(w, key->priv.p, n);
        return true;
    }
    default:
        return false;
    }
}

int hsm_blob_encode(const hsm_blob_key_t *key, const uint8_t dkek[HSM_BLOB_DKEK_LEN],
                    const uint8_t random[HSM_BLOB_RANDOM_LEN], uint8_t *out, size_t cap,
                    size_t *out_len)
{
    static const uint8_t iv[HSM_BLOB_BLOCK];
    uint8_t kcv[HSM_BLOB_KCV_LEN], k[KEY_LEN], type = 0;
    const uint8_t *oid = NULL;
    size_t oid_len = 0;
    writer_t w = {out, 0, cap, true};
    int rc = HSM_BLOB_OK;

    *out_len = 0;
    if (!header_of(key, &type, &oid, &oid_len) || key->algs.len > HSM_BLOB_ALGS_MAX)
        return HSM_BLOB_EINVAL;

    /* The clear part. */
    hsm_blob_kcv(dkek, kcv);
    put_bytes(&w, kcv, sizeof(kcv));
    put_bytes(&w, &type, 1);
    put_field(&w, oid, oid_len);
    put_field(&w, key->algs.p, key->algs.len);
    if (key->has_counter) {
        uint8_t ac[ACCESS_COUNTER_LEN] = {COUNTER_TAG, COUNTER_LEN};
        fk_put_be32(ac + 2, key->counter);
        put_field(&w, ac, sizeof(ac));
    } else {
        put_field(&w, NULL, 0);
    }
    put_field(&w, NULL, 0); /* key OID */

    /* The plain block, built where its ciphertext goes and encrypted in
     * place: random, keysize, components, then 80 00.. up to a block
     * boundary when not on one already. */
    const size_t start = w.len;
    put_bytes(&w, random, HSM_BLOB_RANDOM_LEN);
    if (w.ok && !put_components(&w, key)) rc = HSM_BLOB_EINVAL;
    if (rc == HSM_BLOB_OK && w.ok && (w.len - start) % HSM_BLOB_BLOCK != 0) {
        const uint8_t pad = PAD_FIRST;
        put_bytes(&w, &pad, 1);
        while (w.ok && (w.len - start) % HSM_BLOB_BLOCK != 0) put_bytes(&w, &k_zero, 1);
    }
    if (rc == HSM_BLOB_OK && (!w.ok || w.len - start > HSM_BLOB_PLAIN_MAX ||
                              w.cap - w.len < HSM_BLOB_MAC_LEN))
        rc = HSM_BLOB_ENOSPC;
    if (rc == HSM_BLOB_OK) {
        derive(dkek, 1, k);
        if (fk_aes_crypt(FK_AES_CBC, true, k, KEY_LEN, iv, sizeof(iv), out + start, w.len - start,
                         out + start) != FK_CRYPTO_OK)
            rc = HSM_BLOB_ECRYPTO;
    }
    if (rc == HSM_BLOB_OK) {
        derive(dkek, 2, k);
        if (fk_aes_cmac(k, KEY_LEN, out, w.len, out + w.len) != FK_CRYPTO_OK) rc = HSM_BLOB_ECRYPTO;
    }
    fk_wipe(k, sizeof(k));
    if (rc != HSM_BLOB_OK) {
        fk_wipe(out, w.len); /* the writer never wrote past w.len */
        return rc;
    }
    *out_len = w.len + HSM_BLOB_MAC_LEN;
    return HSM_BLOB_OK;
}
