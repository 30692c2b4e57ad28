/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_format.c - the host-side formats of `fusekey hsm`: key types and the
 * GENERATE ASYMMETRIC KEY PAIR templates (spec section 3.10, including the
 * Edwards and Montgomery forms), algorithm ids and their names, the wrap
 * file of `sc-hsm-tool --wrap-key`, PKCS#15 key descriptions (C4<id>), and
 * the public key in a CE<id> file. Pure functions over bytes: the unit tests
 * drive them directly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "crypto/ed.h"
#include "cvc.h"
#include "hsm_tool.h"
#include "tlv.h"
#include "util.h"

/* ---- Curves --------------------------------------------------------------------------
 * Curves the crypto module knows take their parameters from it (pk.h); the
 * others (brainpool P192/P224/P320, which OpenSC lists but this firmware
 * does not generate, and the Edwards curves, whose template names the
 * Edwards base point) carry them here, as RFC 5639 / RFC 8032 give them. */

static const hsm_curve_t k_curve_list[] = {
    {"secp192r1", "prime192v1", HSM_KEY_EC, FK_CURVE_SECP192R1, 192, NULL, NULL, NULL, NULL, NULL, NULL},
    {"secp256r1", "prime256v1", HSM_KEY_EC, FK_CURVE_SECP256R1, 256, NULL, NULL, NULL, NULL, NULL, NULL},
    {"secp384r1", "p-384", HSM_KEY_EC, FK_CURVE_SECP384R1, 384, NULL, NULL, NULL, NULL, NULL, NULL},
    {"secp521r1", "p-521", HSM_KEY_EC, FK_CURVE_SECP521R1, 521, NULL, NULL, NULL, NULL, NULL, NULL},
    {"brainpoolP192r1", NULL, HSM_KEY_EC, FK_CURVE_NONE, 192,
     "C302F41D932A36CDA7A3463093D18DB78FCE476DE1A86297",
     "6A91174076B1E0E19C39C031FE8685C1CAE040E5C69A28EF",
     "469A28EF7C28CCA3DC721D044F4496BCCA7EF4146FBF25C9",
     "04C0A0647EAAB6A48753B033C56CB0F0900A2F5C4853375FD614B690866ABD5BB88B5F4828C1490002E6773FA2FA299B8F",
     "C302F41D932A36CDA7A3462F9E9E916B5BE8F1029AC4ACC1", "01"},
    {"brainpoolP224r1", NULL, HSM_KEY_EC, FK_CURVE_NONE, 224,
     "D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF",
     "68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43",
     "2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B",
     "040D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D58AA56F772C0726F24C6B89E4ECDAC24354B"
     "9E99CAA3F6D3761402CD",
     "D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F", "01"},
    {"brainpoolP256r1", NULL, HSM_KEY_EC, FK_CURVE_BP256R1, 256, NULL, NULL, NULL, NULL, NULL, NULL},
    {"brainpoolP320r1", NULL, HSM_KEY_EC, FK_CURVE_NONE, 320,
     "D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28FCD412B1F1B32E27",
     "3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F492F375A97D860EB4",
     "520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD884539816F5EB4AC8FB1F1A6",
     "0443BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C710AF8D0D39E2061114FDD05545EC"
     "1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7D35245D1692E8EE1",
     "D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E98691555B44C59311", "01"},
    {"brainpoolP384r1", NULL, HSM_KEY_EC, FK_CURVE_BP384R1, 384, NULL, NULL, NULL, NULL, NULL, NULL},
    {"brainpoolP512r1", NULL, HSM_KEY_EC, FK_CURVE_BP512R1, 512, NULL, NULL, NULL, NULL, NULL, NULL},
    {"secp192k1", NULL, HSM_KEY_EC, FK_CURVE_SECP192K1, 192, NULL, NULL, NULL, NULL, NULL, NULL},
    {"secp256k1", NULL, HSM_KEY_EC, FK_CURVE_SECP256K1, 256, NULL, NULL, NULL, NULL, NULL, NULL},
    {"x25519", "curve25519", HSM_KEY_MONT, FK_CURVE_X25519, 255, NULL, NULL, NULL, NULL, NULL, NULL},
    {"x448", "curve448", HSM_KEY_MONT, FK_CURVE_X448, 448, NULL, NULL, NULL, NULL, NULL, NULL},
    /* Edwards: p, the group order, the base point's y (RFC 8032), big-endian. */
    {"ed25519", NULL, HSM_KEY_ED, FK_CURVE_X25519, 255,
     "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED", NULL, NULL,
     "6666666666666666666666666666666666666666666666666666666666666658",
     "1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED", "08"},
    {"ed448", NULL, HSM_KEY_ED, FK_CURVE_X448, 448,
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE"
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
     NULL, NULL,
     "693F46716EB6BC248876203756C9C7624BEA73736CA3984087789C1E05A0C2D73AD3FF1CE67C39C4FDBD132C4ED7C8AD"
     "9808795BF230FA14",
     "3FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF7CCA23E9C44EDB49AED63690216CC2728DC58F55"
     "2378C292AB5844F3", "04"},
};

static const hsm_curve_t *const k_curves[] = {
    &k_curve_list[0], &k_curve_list[1], &k_curve_list[2], &k_curve_list[3], &k_curve_list[4],
    &k_curve_list[5], &k_curve_list[6], &k_curve_list[7], &k_curve_list[8], &k_curve_list[9],
    &k_curve_list[10], &k_curve_list[11], &k_curve_list[12], &k_curve_list[13], &k_curve_list[14],
    &k_curve_list[15], NULL,
};
_Static_assert(FK_ARRAY_SIZE(k_curves) == FK_ARRAY_SIZE(k_curve_list) + 1u, "curve index");

const hsm_curve_t *const *hsm_curves(void) { return k_curves; }

const hsm_curve_t *hsm_curve_by_name(const char *s)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_curve_list); i++) {
        const hsm_curve_t *c = &k_curve_list[i];
        if (strcasecmp(s, c->name) == 0 || (c->alias != NULL && strcasecmp(s, c->alias) == 0)) return c;
    }
    if (strcasecmp(s, "p-256") == 0) return &k_curve_list[1];
    if (strcasecmp(s, "p-192") == 0) return &k_curve_list[0];
    return NULL;
}

/* A hex constant into bytes. */
static size_t unhex_const(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    (void)hsm_unhex(hex, out, cap, &n);
    return n;
}

/* Template tags of the domain parameters. Weierstrass: 81 p, 82 a, 83 b,
 * 84 G, 85 n, 87 h. Montgomery and Edwards (spec 3.10): 81 p, 82 the
 * order, 83 the base point. */
#define TAG_P 0x81u
#define TAG_A 0x82u
#define TAG_B 0x83u
#define TAG_G 0x84u
#define TAG_N 0x85u
#define TAG_H 0x87u
#define TAG_ORDER 0x82u
#define TAG_BASE 0x83u

/* One domain parameter of a curve as the template carries it into out;
 * its length, 0 when the curve has no such parameter. */
static size_t curve_param(const hsm_curve_t *c, unsigned tag, uint8_t *out, size_t cap)
{
    const fk_curve_info_t *ci = c->p == NULL ? fk_curve_info(c->id) : NULL;
    if (ci == NULL) {
        const char *hex = NULL;
        if (c->family == HSM_KEY_EC) {
            hex = tag == TAG_P ? c->p : tag == TAG_A ? c->a : tag == TAG_B ? c->b : tag == TAG_G ? c->g
                : tag == TAG_N ? c->n : tag == TAG_H ? c->h : NULL;
        } else {
            hex = tag == TAG_P ? c->p : tag == TAG_ORDER ? c->n : tag == TAG_BASE ? c->g : NULL;
        }
        return hex != NULL ? unhex_const(hex, out, cap) : 0u;
    }
    const uint8_t *src = NULL;
    size_t n = 0;
    if (ci->montgomery) {
        switch (tag) {
        case TAG_P: src = ci->p; n = ci->field_len; break;
        case TAG_ORDER: src = ci->n; n = ci->order_len; break;
        case TAG_BASE: /* u as RFC 7748 bytes (little-endian), as pico sends it */
            if (ci->g_len > cap) return 0;
            for (size_t i = 0; i < ci->g_len; i++) out[i] = ci->g[ci->g_len - 1u - i];
            return ci->g_len;
        default: return 0;
        }
    } else {
        switch (tag) {
        case TAG_P: src = ci->p; n = ci->field_len; break;
        case TAG_A: src = ci->a; n = ci->field_len; break;
        case TAG_B: src = ci->b; n = ci->field_len; break;
        case TAG_G: src = ci->g; n = ci->g_len; break;
        case TAG_N: src = ci->n; n = ci->order_len; break;
        case TAG_H:
            if (cap < 1u) return 0;
            out[0] = ci->cofactor;
            return 1;
        default: return 0;
        }
    }
    if (src == NULL || n > cap) return 0;
    memcpy(out, src, n);
    return n;
}

const hsm_curve_t *hsm_curve_by_domain(const uint8_t *p, size_t p_len, const uint8_t *a, size_t a_len)
{
    while (p_len > 0u && p[0] == 0u) {
        p++;
        p_len--;
    }
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_curve_list); i++) {
        const hsm_curve_t *c = &k_curve_list[i];
        if (c->family != HSM_KEY_EC) continue;
        uint8_t cp[FK_EC_MAX_LEN], ca[FK_EC_MAX_LEN];
        const size_t pl = curve_param(c, 0x81u, cp, sizeof cp);
        const size_t al = curve_param(c, 0x82u, ca, sizeof ca);
        size_t skip = 0;
        while (skip < pl && cp[skip] == 0u) skip++;
        if (pl - skip != p_len || memcmp(cp + skip, p, p_len) != 0) continue;
        if (a != NULL && a_len > 0u) {
            size_t sa = 0, sb = 0;
            while (sa < al && ca[sa] == 0u) sa++;
            while (sb < a_len && a[sb] == 0u) sb++;
            if (al - sa != a_len - sb || memcmp(ca + sa, a + sb, al - sa) != 0) continue;
        }
        return c;
    }
    return NULL;
}

/* ---- Key types ------------------------------------------------------------------------ */

#define RSA_MIN_BITS 1024u
#define RSA_MAX_BITS 4096u

bool hsm_key_type_parse(const char *s, hsm_key_type_t *t, char *err, size_t cap)
{
    memset(t, 0, sizeof *t);
    const char *colon = strchr(s, ':');
    const size_t head = colon != NULL ? (size_t)(colon - s) : strlen(s);
    const char *arg = colon != NULL ? colon + 1 : NULL;
    if (head == 3u && strncasecmp(s, "rsa", 3) == 0) {
        uint32_t bits = 2048;
        if (arg != NULL && (!fk_parse_uint(arg, RSA_MAX_BITS, &bits) || bits < RSA_MIN_BITS || bits % 8u != 0u)) {
            (void)snprintf(err, cap, "rsa:BITS takes 1024-4096 bits (a multiple of 8), not '%s'", arg);
            return false;
        }
        t->family = HSM_KEY_RSA;
        t->bits = bits;
        return true;
    }
    if (head == 3u && strncasecmp(s, "aes", 3) == 0) {
        uint32_t bits = 256;
        if (arg != NULL && (!fk_parse_uint(arg, 512, &bits) ||
                            (bits != 128u && bits != 192u && bits != 256u && bits != 512u))) {
            (void)snprintf(err, cap, "aes:BITS takes 128, 192, 256 or 512 (a 64-byte key for "
                                     "AES-256-XTS), not '%s'", arg);
            return false;
        }
        t->family = HSM_KEY_AES;
        t->bits = bits;
        return true;
    }
    const char *name = s;
    if (head == 2u && strncasecmp(s, "ec", 2) == 0 && arg != NULL) name = arg;
    const hsm_curve_t *c = hsm_curve_by_name(name);
    if (c == NULL) {
        (void)snprintf(err, cap, "unknown key type '%s' (rsa:BITS, ec:CURVE, ed25519, ed448, x25519, "
                                 "x448, aes:BITS; curves: secp192r1 secp256r1 secp384r1 secp521r1 "
                                 "brainpoolP192r1 brainpoolP224r1 brainpoolP256r1 brainpoolP320r1 "
                                 "brainpoolP384r1 brainpoolP512r1 secp192k1 secp256k1)", s);
        return false;
    }
    t->family = c->family;
    t->bits = c->bits;
    t->curve = c;
    return true;
}

/* ---- Templates ------------------------------------------------------------------------- */

#define TAG_PROFILE 0x5F29u
#define TAG_CAR 0x42u
#define TAG_PUBKEY 0x7F49u
#define TAG_CHR 0x5F20u
#define TAG_OID 0x06u
#define TAG_RSA_E 0x82u
#define TAG_INTEGER 0x02u
#define TAG_USE_COUNTER 0x90u
#define TAG_ALGORITHMS 0x91u
#define TAG_DOMAIN 0x92u

/* id-TA-RSA-v1-5-SHA-256 and id-TA-ECDSA-SHA-256, as OpenSC sends them. */
static const uint8_t k_oid_ta_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_oid_ta_ecdsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
/* id-RI-ECDH-SHA-256, which Montgomery keys carry in their requests. */
static const uint8_t k_oid_ri_ecdh[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};
static const char k_template_car[] = "UTCA00001";

int hsm_key_meta_tlvs(const hsm_key_meta_t *meta, uint8_t *out, size_t cap, size_t *len)
{
    fk_rbuf_t r = {out, 0, cap};
    bool ok = true;
    if (meta->has_counter) ok = ok && fk_tlv_put_uint(&r, TAG_USE_COUNTER, meta->counter, 4);
    if (meta->n_algorithms > 0u) ok = ok && fk_tlv_put(&r, TAG_ALGORITHMS, meta->algorithms, meta->n_algorithms);
    if (meta->has_domain) ok = ok && fk_tlv_put_uint(&r, TAG_DOMAIN, meta->domain, 1);
    *len = r.len;
    return ok ? 0 : -1;
}

int hsm_key_template(const hsm_key_type_t *t, uint32_t rsa_e, const char *chr,
                     const hsm_key_meta_t *meta, bool ecdh_oid, uint8_t *out, size_t cap, size_t *len)
{
    static const uint8_t profile = 0x00;
    fk_rbuf_t r = {out, 0, cap};
    uint8_t v[2u * FK_EC_MAX_LEN + 1u];
    bool ok = fk_tlv_put(&r, TAG_PROFILE, &profile, 1) &&
              fk_tlv_put(&r, TAG_CAR, k_template_car, sizeof k_template_car - 1u);
    fk_tlv_mark_t m = fk_tlv_begin(&r, TAG_PUBKEY);
    switch (t->family) {
    case HSM_KEY_RSA: {
        uint8_t e[4];
        size_t skip = 0;
        fk_put_be32(e, rsa_e);
        while (skip < 3u && e[skip] == 0u) skip++;
        const uint8_t bits[2] = {(uint8_t)(t->bits >> 8), (uint8_t)t->bits};
        ok = ok && fk_tlv_put(&r, TAG_OID, k_oid_ta_rsa, sizeof k_oid_ta_rsa) &&
             fk_tlv_put(&r, TAG_RSA_E, e + skip, sizeof e - skip) &&
             fk_tlv_put(&r, TAG_INTEGER, bits, sizeof bits);
        break;
    }
    case HSM_KEY_EC: {
        static const unsigned tags[] = {TAG_P, TAG_A, TAG_B, TAG_G, TAG_N, TAG_H};
        ok = ok && fk_tlv_put(&r, TAG_OID, k_oid_ta_ecdsa, sizeof k_oid_ta_ecdsa);
        for (size_t i = 0; i < FK_ARRAY_SIZE(tags) && ok; i++) {
            const size_t n = curve_param(t->curve, tags[i], v, sizeof v);
            ok = n > 0u && fk_tlv_put(&r, tags[i], v, n);
        }
        break;
    }
    case HSM_KEY_MONT:
    case HSM_KEY_ED: {
        static const unsigned tags[] = {TAG_P, TAG_ORDER, TAG_BASE};
        if (ecdh_oid && t->family == HSM_KEY_MONT)
            ok = ok && fk_tlv_put(&r, TAG_OID, k_oid_ri_ecdh, sizeof k_oid_ri_ecdh);
        else
            ok = ok && fk_tlv_put(&r, TAG_OID, k_oid_ta_ecdsa, sizeof k_oid_ta_ecdsa);
        for (size_t i = 0; i < FK_ARRAY_SIZE(tags) && ok; i++) {
            const size_t n = curve_param(t->curve, tags[i], v, sizeof v);
            ok = n > 0u && fk_tlv_put(&r, tags[i], v, n);
        }
        break;
    }
    default:
        ok = false;
        break;
    }
    ok = ok && fk_tlv_end(&r, m) && fk_tlv_put(&r, TAG_CHR, chr, strlen(chr));
    size_t ml = 0;
    if (ok && meta != NULL) {
        ok = hsm_key_meta_tlvs(meta, out + r.len, cap - r.len, &ml) == 0;
        r.len += ml;
    }
    *len = ok ? r.len : 0u;
    return ok ? 0 : -1;
}

/* ---- Algorithms ---------------------------------------------------------------------------- */

typedef struct alg_name {
    uint8_t id;
    const char *name;
} alg_name_t;

static const alg_name_t k_algs[] = {
    {0x10, "aes-cbc-encrypt"}, {0x11, "aes-cbc-decrypt"}, {0x18, "aes-cmac"},
    {0x20, "rsa-raw"},         {0x21, "rsa-decrypt-raw"}, {0x22, "rsa-decrypt-pkcs1"},
    {0x23, "rsa-decrypt-oaep"}, {0x30, "rsa-pkcs1"},      {0x31, "rsa-pkcs1-sha1"},
    {0x32, "rsa-pkcs1-sha224"}, {0x33, "rsa-pkcs1-sha256"}, {0x34, "rsa-pkcs1-sha384"},
    {0x35, "rsa-pkcs1-sha512"}, {0x40, "rsa-pss"},        {0x41, "rsa-pss-sha1"},
    {0x42, "rsa-pss-sha224"},  {0x43, "rsa-pss-sha256"},  {0x44, "rsa-pss-sha384"},
    {0x45, "rsa-pss-sha512"},  {0x51, "cipher-encrypt"},  {0x52, "cipher-decrypt"},
    {0x70, "ecdsa"},           {0x71, "ecdsa-sha1"},      {0x72, "ecdsa-sha224"},
    {0x73, "ecdsa-sha256"},    {0x74, "ecdsa-sha384"},    {0x75, "ecdsa-sha512"},
    {0x80, "ecdh"},            {0x84, "ecdh-xkek"},       {0x92, "wrap"},
    {0x93, "unwrap"},          {0x98, "ec-derive"},       {0x99, "aes-derive"},
};

const char *hsm_alg_name(uint8_t id)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_algs); i++)
        if (k_algs[i].id == id) return k_algs[i].name;
    return NULL;
}

int hsm_alg_id(const char *name)
{
    uint32_t v = 0;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_algs); i++)
        if (strcasecmp(k_algs[i].name, name) == 0) return k_algs[i].id;
    if (fk_parse_uint(name, 0xFF, &v)) return (int)v;
    return -1;
}

bool hsm_alg_list_parse(const char *s, uint8_t *ids, size_t cap, size_t *n, char *err, size_t ecap)
{
    char word[32];
    *n = 0;
    const char *p = s;
    while (*p != '\0') {
        const size_t w = strcspn(p, ",");
        if (w == 0u || w >= sizeof word) {
            (void)snprintf(err, ecap, "malformed algorithm list '%s'", s);
            return false;
        }
        memcpy(word, p, w);
        word[w] = '\0';
        const int id = hsm_alg_id(word);
        if (id < 0) {
            (void)snprintf(err, ecap, "unknown algorithm '%s' (a name like ecdsa-sha256, or 0xNN)", word);
            return false;
        }
        if (*n >= cap) {
            (void)snprintf(err, ecap, "at most %zu algorithms", cap);
            return false;
        }
        ids[(*n)++] = (uint8_t)id;
        p += w;
        if (*p == ',') p++;
    }
    if (*n == 0u) {
        (void)snprintf(err, ecap, "empty algorithm list");
        return false;
    }
    return true;
}

/* ---- Wrap files ------------------------------------------------------------------------------ */

#define TAG_SEQUENCE 0x30u
#define TAG_OCTETS 0x04u
#define TAG_REQUEST 0x67u
#define TAG_CVC 0x7F21u

size_t hsm_tlv_size(const uint8_t *buf, size_t len)
{
    const uint8_t *pos = buf;
    fk_tlv_t t;
    if (fk_tlv_next(&pos, buf + len, &t) != FK_TLV_OK) return 0;
    return t.total;
}

int hsm_wrap_file_parse(const uint8_t *buf, size_t len, hsm_wrap_file_t *w, char *err, size_t cap)
{
    const uint8_t *pos = buf;
    fk_tlv_t outer, t;
    memset(w, 0, sizeof *w);
    if (fk_tlv_next(&pos, buf + len, &outer) != FK_TLV_OK || outer.tag != TAG_SEQUENCE) {
        (void)snprintf(err, cap, "not a wrapped-key file: no outer SEQUENCE (30)");
        return -1;
    }
    if (pos != buf + len) {
        (void)snprintf(err, cap, "not a wrapped-key file: %zu bytes after its SEQUENCE",
                       (size_t)(buf + len - pos));
        return -1;
    }
    const uint8_t *p = outer.value, *end = outer.value + outer.len;
    if (fk_tlv_next(&p, end, &t) != FK_TLV_OK || t.tag != TAG_OCTETS || t.len == 0u) {
        (void)snprintf(err, cap, "not a wrapped-key file: the SEQUENCE does not start with the key "
                                 "blob (04)");
        return -1;
    }
    w->blob = t.value;
    w->blob_len = t.len;
    /* Then the PKCS#15 description and the certificate, by position as
     * sc-hsm-tool writes and reads them; a lone request or CV certificate is
     * a certificate without a description. */
    for (unsigned k = 0; p < end; k++) {
        const uint8_t *start = p;
        if (k >= 2u || fk_tlv_next(&p, end, &t) != FK_TLV_OK) {
            (void)snprintf(err, cap, "malformed wrapped-key file: %s after the key blob",
                           k >= 2u ? "more than a description and a certificate" : "a broken element");
            return -1;
        }
        const bool cert_like = t.tag == TAG_REQUEST || t.tag == TAG_CVC;
        if (k == 0u && !cert_like) {
            w->prkd = start;
            w->prkd_len = t.total;
        } else if (w->cert_len == 0u) {
            w->cert = start;
            w->cert_len = t.total;
        } else {
            (void)snprintf(err, cap, "malformed wrapped-key file: two certificates");
            return -1;
        }
    }
    return 0;
}

int hsm_wrap_file_build(const uint8_t *blob, size_t blob_len, const uint8_t *prkd, size_t prkd_len,
                        const uint8_t *cert, size_t cert_len, uint8_t **out, size_t *out_len)
{
    const size_t inner = fk_tlv_tag_size(TAG_OCTETS) + fk_tlv_len_size(blob_len) + blob_len + prkd_len + cert_len;
    const size_t total = 1u + fk_tlv_len_size(inner) + inner;
    uint8_t *b = malloc(total);
    if (b == NULL) return -1;
    fk_rbuf_t r = {b, 0, total};
    bool ok = fk_tlv_put_header(&r, TAG_SEQUENCE, inner) && fk_tlv_put(&r, TAG_OCTETS, blob, blob_len);
    if (prkd_len > 0u) ok = ok && fk_rbuf_put(&r, prkd, prkd_len);
    if (cert_len > 0u) ok = ok && fk_rbuf_put(&r, cert, cert_len);
    if (!ok || r.len != total) {
        free(b);
        return -1;
    }
    *out = b;
    *out_len = total;
    return 0;
}

/* ---- PKCS#15 key descriptions ------------------------------------------------------------------ */

#define TAG_PRKD_RSA 0x30u
#define TAG_PRKD_EC 0xA0u
#define TAG_SKD_GENERIC 0xA8u
#define TAG_CTX0 0xA0u
#define TAG_CTX1 0xA1u
#define TAG_UTF8 0x0Cu

/* The n-th child (0-based) of a constructed value with tag, or false. */
static bool child(const uint8_t *v, size_t len, unsigned n, uint32_t tag, fk_tlv_t *out)
{
    const uint8_t *p = v, *end = v + len;
    for (unsigned i = 0; fk_tlv_next(&p, end, out) == FK_TLV_OK; i++)
        if (i == n) return out->tag == tag;
    return false;
}

/* The unsigned INTEGER (02) that ends a chain of containers. */
static unsigned int_value(const fk_tlv_t *t)
{
    unsigned v = 0;
    if (t->tag != TAG_INTEGER || t->len == 0u || t->len > 4u) return 0;
    for (size_t i = 0; i < t->len; i++) v = v << 8 | t->value[i];
    return v;
}

int hsm_prkd_parse(const uint8_t *buf, size_t len, hsm_prkd_t *d)
{
    const uint8_t *pos = buf;
    fk_tlv_t top, common, key, attrs, inner, x;
    memset(d, 0, sizeof *d);
    if (fk_tlv_next(&pos, buf + len, &top) != FK_TLV_OK) return -1;
    if (top.tag == TAG_PRKD_RSA) d->family = HSM_KEY_RSA;
    else if (top.tag == TAG_PRKD_EC) d->family = HSM_KEY_EC;
    else if (top.tag == TAG_SKD_GENERIC) d->family = HSM_KEY_AES;
    else return -1;
    if (child(top.value, top.len, 0, TAG_SEQUENCE, &common) &&
        child(common.value, common.len, 0, TAG_UTF8, &x)) {
        const size_t n = FK_MIN(x.len, sizeof d->label - 1u);
        for (size_t i = 0; i < n; i++) d->label[i] = isprint(x.value[i]) ? (char)x.value[i] : '?';
        d->label[n] = '\0';
    }
    if (child(top.value, top.len, 1, TAG_SEQUENCE, &key) && child(key.value, key.len, 0, TAG_OCTETS, &x)) {
        d->id_len = FK_MIN(x.len, sizeof d->id);
        memcpy(d->id, x.value, d->id_len);
    }
    if (d->family == HSM_KEY_AES) {
        /* A8 { 30 common, 30 key, A0 { 30 { 02 bits } }, A1 { ... } } */
        if (child(top.value, top.len, 2, TAG_CTX0, &attrs) &&
            child(attrs.value, attrs.len, 0, TAG_SEQUENCE, &inner) &&
            child(inner.value, inner.len, 0, TAG_INTEGER, &x))
            d->bits = int_value(&x);
        return 0;
    }
    /* 30/A0 { 30 common, 30 key, [A0 subclass], A1 { 30 { 30 path, 02 bits } } } */
    for (unsigned k = 2; k < 4u; k++) {
        if (child(top.value, top.len, k, TAG_CTX1, &attrs) &&
            child(attrs.value, attrs.len, 0, TAG_SEQUENCE, &inner) &&
            child(inner.value, inner.len, 1, TAG_INTEGER, &x)) {
            d->bits = int_value(&x);
            break;
        }
    }
    return 0;
}

int hsm_prkd_build(hsm_key_family_t family, unsigned bits, const char *label, uint8_t key_id,
                   uint8_t *out, size_t cap, size_t *len)
{
    static const uint8_t flags_private[] = {0x06, 0xC0}; /* private, modifiable */
    static const uint8_t auth_id[] = {0x01};
    static const uint8_t usage_rsa[] = {0x02, 0x74};       /* decrypt sign signRecover unwrap */
    static const uint8_t usage_ec[] = {0x07, 0x20, 0x80};  /* sign derive */
    static const uint8_t usage_aes[] = {0x07, 0xC0, 0x10}; /* encrypt decrypt ... */
    static const uint8_t empty_path[] = {0};
    char id[4];
    const int id_len = snprintf(id, sizeof id, "%u", key_id); /* the card's default: ASCII decimal */
    const uint8_t b[2] = {(uint8_t)(bits >> 8), (uint8_t)bits};
    fk_rbuf_t r = {out, 0, cap};
    const uint32_t top = family == HSM_KEY_RSA ? TAG_PRKD_RSA : family == HSM_KEY_AES ? TAG_SKD_GENERIC : TAG_PRKD_EC;
    const uint8_t *usage = family == HSM_KEY_RSA ? usage_rsa : family == HSM_KEY_AES ? usage_aes : usage_ec;
    const size_t usage_len = family == HSM_KEY_RSA ? sizeof usage_rsa : family == HSM_KEY_AES ? sizeof usage_aes : sizeof usage_ec;

    fk_tlv_mark_t m0 = fk_tlv_begin(&r, top);
    fk_tlv_mark_t m1 = fk_tlv_begin(&r, TAG_SEQUENCE);
    bool ok = fk_tlv_put(&r, TAG_UTF8, label, strlen(label)) &&
              fk_tlv_put(&r, 0x03u, flags_private, sizeof flags_private) &&
              fk_tlv_put(&r, TAG_OCTETS, auth_id, sizeof auth_id) && fk_tlv_end(&r, m1);
    fk_tlv_mark_t m2 = fk_tlv_begin(&r, TAG_SEQUENCE);
    ok = ok && fk_tlv_put(&r, TAG_OCTETS, id, (size_t)id_len) && fk_tlv_put(&r, 0x03u, usage, usage_len) &&
         fk_tlv_end(&r, m2);
    if (family == HSM_KEY_AES) {
        fk_tlv_mark_t a0 = fk_tlv_begin(&r, TAG_CTX0);
        fk_tlv_mark_t s = fk_tlv_begin(&r, TAG_SEQUENCE);
        ok = ok && fk_tlv_put(&r, TAG_INTEGER, b, sizeof b) && fk_tlv_end(&r, s) && fk_tlv_end(&r, a0);
        fk_tlv_mark_t a1 = fk_tlv_begin(&r, TAG_CTX1);
        fk_tlv_mark_t s1 = fk_tlv_begin(&r, TAG_SEQUENCE);
        ok = ok && fk_tlv_put(&r, TAG_SEQUENCE, NULL, 0) && fk_tlv_end(&r, s1) && fk_tlv_end(&r, a1);
    } else {
        fk_tlv_mark_t a1 = fk_tlv_begin(&r, TAG_CTX1);
        fk_tlv_mark_t s = fk_tlv_begin(&r, TAG_SEQUENCE);
        fk_tlv_mark_t path = fk_tlv_begin(&r, TAG_SEQUENCE);
        ok = ok && fk_tlv_put(&r, TAG_OCTETS, empty_path, 0) && fk_tlv_end(&r, path) &&
             fk_tlv_put(&r, TAG_INTEGER, b, sizeof b) && fk_tlv_end(&r, s) && fk_tlv_end(&r, a1);
    }
    ok = ok && fk_tlv_end(&r, m0);
    *len = ok ? r.len : 0u;
    return ok ? 0 : -1;
}

/* ---- The public key of a CE file --------------------------------------------------------------- */

/* An Edwards key in a CV body (the crypto module's CVC reader knows
 * Weierstrass and Montgomery keys only): 81 the prime of Curve25519 or
 * Curve448, 84 the encoded public key (32 / 57 bytes). */
static bool edwards_key(const fk_cvc_t *c, fk_host_pub_t *pub)
{
    static const char *const names[] = {"ed25519", "ed448"};
    const fk_bytes_t *p = &c->key_el[FK_CVC_KEY_INDEX(0x81u)];
    const fk_bytes_t *q = &c->key_el[FK_CVC_KEY_INDEX(0x84u)];
    for (size_t i = 0; i < FK_ARRAY_SIZE(names); i++) {
        const hsm_curve_t *cv = hsm_curve_by_name(names[i]);
        uint8_t prime[FK_EC_MAX_LEN];
        const size_t pl = curve_param(cv, TAG_P, prime, sizeof prime);
        const size_t key_len = i == 0u ? 32u : 57u;
        if (p->len != pl || memcmp(p->p, prime, pl) != 0 || q->len != key_len) continue;
        pub->kind = FK_HOST_KEY_ED;
        pub->curve = cv->id;
        memcpy(pub->point, q->p, q->len);
        pub->point_len = q->len;
        return true;
    }
    return false;
}

int hsm_ce_public(const uint8_t *buf, size_t len, fk_host_pub_t *pub, char *err, size_t cap)
{
    memset(pub, 0, sizeof *pub);
    if (len == 0u) {
        (void)snprintf(err, cap, "the file is empty");
        return -1;
    }
    if (buf[0] == TAG_SEQUENCE) {
        const int rc = fk_host_pub_from_x509(buf, len, pub);
        if (rc != FK_CRYPTO_OK) {
            (void)snprintf(err, cap, rc == FK_HOST_EUNSUPPORTED ? "an X.509 certificate with a key "
                                                                  "type this tool does not know"
                                                                : "not a readable X.509 certificate");
            return -1;
        }
        return 0;
    }
    fk_cvc_t c;
    if (buf[0] == TAG_REQUEST) {
        fk_cvc_request_t rq;
        if (fk_cvc_parse_request(buf, len, &rq) != FK_CVC_OK) {
            (void)snprintf(err, cap, "a malformed request (67)");
            return -1;
        }
        c = rq.cert;
    } else if (fk_cvc_parse(buf, len, &c) != FK_CVC_OK) {
        (void)snprintf(err, cap, "neither a request (67), a CV certificate (7F21) nor X.509 (30)");
        return -1;
    }
    fk_pk_public_t pk;
    fk_cvc_alg_t alg;
    const int rc = fk_cvc_public_key(&c, FK_CURVE_NONE, &pk, &alg);
    if (rc != FK_CVC_OK) {
        if (edwards_key(&c, pub)) return 0;
        (void)snprintf(err, cap, rc == FK_CVC_EUNSUPPORTED ? "a public key of an unknown algorithm or curve"
                                                           : "a public key that is not valid");
        return -1;
    }
    switch (pk.type) {
    case FK_PK_RSA:
        if (pk.n.len > sizeof pub->n || pk.e.len > sizeof pub->e) break;
        pub->kind = FK_HOST_KEY_RSA;
        memcpy(pub->n, pk.n.p, pk.n.len);
        pub->n_len = pk.n.len;
        memcpy(pub->e, pk.e.p, pk.e.len);
        pub->e_len = pk.e.len;
        return 0;
    case FK_PK_EC:
    case FK_PK_MONT:
        if (pk.point.len > sizeof pub->point) break;
        pub->kind = pk.type == FK_PK_EC ? FK_HOST_KEY_EC : FK_HOST_KEY_MONT;
        pub->curve = pk.curve;
        memcpy(pub->point, pk.point.p, pk.point.len);
        pub->point_len = pk.point.len;
        return 0;
    default:
        /* An Edwards key, where the CVC reader knows them (pk.h's Edwards
         * type): the twin's curve and an RFC 8032 public key. */
        if ((pk.curve == FK_CURVE_X25519 || pk.curve == FK_CURVE_X448) &&
            pk.point.len == fk_ed_key_len(pk.curve)) {
            pub->kind = FK_HOST_KEY_ED;
            pub->curve = pk.curve;
            memcpy(pub->point, pk.point.p, pk.point.len);
            pub->point_len = pk.point.len;
            return 0;
        }
        break;
    }
    (void)snprintf(err, cap, "a public key this tool does not handle");
    return -1;
}
