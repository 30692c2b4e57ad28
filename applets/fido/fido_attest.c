/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_attest.c - the attestation key and its certificate (U2F REGISTER's
 * attCert and signature; packed attestation's x5c).
 *
 * The key is a P-256 key made on first use and kept sealed in
 * FIDO_ID_ATT_KEY (version 1 | the crypto module's key blob); its
 * certificate, self-signed for now, is plain DER in FIDO_ID_ATT_CERT. Both
 * are written in one store batch, so there is never one without the other;
 * a reset of the applet makes a new pair (the old certificate would link the
 * device's life before and after the reset).
 *
 * The certificate follows WebAuthn's rules for attestation certificates
 * (§8.2.1): X.509 v3, subject C / O / OU "Authenticator Attestation" / CN,
 * basicConstraints CA false, and the AAGUID in the non-critical extension
 * 1.3.6.1.4.1.45724.1.1.4. The device has no clock: it is valid from
 * 2025-01-01 and never expires (RFC 5280's 99991231235959Z). The country is
 * "XX" (ISO 3166's user-assigned code: the project has no vendor country).
 * The DER is written by hand, from the end of the buffer towards its start,
 * so every length is known when its header is written.
 *
 * The user's CA can replace the self-signed certificate two ways
 * (docs/fido-attestation.md): a batch key and chain imported into
 * FIDO_ID_BATCH_KEY / FIDO_ID_BATCH_CERT (shared by many devices: packed
 * attestation with x5c, U2F), and a certificate for the per-device key in
 * FIDO_ID_EP_CERT (uniquely identifying: enterprise attestation only). Both
 * arrive through the vendor APDU at the end of this file, after presence.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "fido_internal.h"
#include "seal/seal.h"
#include "store/store.h"
#include "util.h"

#include "apdu.h"

#define ATT_KEY_VERSION 1u
#define ATT_BLOB_MAX 160u

/* ---- A DER writer that prepends ---------------------------------------------- */

typedef struct der {
    uint8_t *buf;
    size_t at;     /* the output is buf[at, end) */
    bool overflow;
} der_t;

static void der_put(der_t *d, const void *p, size_t n)
{
    if (d->overflow || n > d->at) {
        d->overflow = true;
        return;
    }
    d->at -= n;
    memcpy(d->buf + d->at, p, n);
}

static size_t der_mark(const der_t *d) { return d->at; }

/* Wrap everything written since mark (mark = the end it had then) in tag. */
static void der_wrap(der_t *d, uint8_t tag, size_t end_mark)
{
    const size_t len = end_mark - d->at;
    uint8_t h[4];
    size_t hl;
    h[0] = tag;
    if (len < 0x80u) {
        h[1] = (uint8_t)len;
        hl = 2;
    } else if (len < 0x100u) {
        h[1] = 0x81;
        h[2] = (uint8_t)len;
        hl = 3;
    } else {
        h[1] = 0x82;
        fk_put_be16(h + 2, (uint16_t)len);
        hl = 4;
    }
    der_put(d, h, hl);
}

static void der_tlv(der_t *d, uint8_t tag, const void *p, size_t n)
{
    const size_t end = der_mark(d);
    der_put(d, p, n);
    der_wrap(d, tag, end);
}

#define DER_SEQ 0x30u
#define DER_SET 0x31u
#define DER_INT 0x02u
#define DER_BITS 0x03u
#define DER_OCTETS 0x04u
#define DER_OID 0x06u
#define DER_UTF8 0x0Cu
#define DER_PRINTABLE 0x13u
#define DER_UTCTIME 0x17u
#define DER_GENTIME 0x18u
#define DER_BOOL 0x01u

static const uint8_t k_oid_ecdsa_sha256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
static const uint8_t k_oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
static const uint8_t k_oid_p256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const uint8_t k_oid_country[] = {0x55, 0x04, 0x06};
static const uint8_t k_oid_org[] = {0x55, 0x04, 0x0A};
static const uint8_t k_oid_org_unit[] = {0x55, 0x04, 0x0B};
static const uint8_t k_oid_common_name[] = {0x55, 0x04, 0x03};
static const uint8_t k_oid_basic_constraints[] = {0x55, 0x1D, 0x13};
static const uint8_t k_oid_fido_aaguid[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xE5, 0x1C,
                                            0x01, 0x01, 0x04};

static void der_alg_ecdsa_sha256(der_t *d)
{
    const size_t end = der_mark(d);
    der_tlv(d, DER_OID, k_oid_ecdsa_sha256, sizeof k_oid_ecdsa_sha256);
    der_wrap(d, DER_SEQ, end);
}

/* One RDN: SET { SEQUENCE { oid, string } }. */
static void der_rdn(der_t *d, const uint8_t *oid, size_t oid_len, uint8_t str_tag, const char *s)
{
    const size_t end = der_mark(d);
    der_tlv(d, str_tag, s, strlen(s));
    der_tlv(d, DER_OID, oid, oid_len);
    der_wrap(d, DER_SEQ, end);
    der_wrap(d, DER_SET, end);
}

/* The subject (and, self-signed, the issuer). Written last RDN first. */
static void der_name(der_t *d)
{
    const size_t end = der_mark(d);
    der_rdn(d, k_oid_common_name, sizeof k_oid_common_name, DER_UTF8, "fusekey FIDO attestation");
    der_rdn(d, k_oid_org_unit, sizeof k_oid_org_unit, DER_UTF8, "Authenticator Attestation");
    der_rdn(d, k_oid_org, sizeof k_oid_org, DER_UTF8, "fusekey");
    der_rdn(d, k_oid_country, sizeof k_oid_country, DER_PRINTABLE, "XX");
    der_wrap(d, DER_SEQ, end);
}

static void der_extensions(der_t *d)
{
    const size_t end = der_mark(d);
    /* The AAGUID: OCTET STRING { OCTET STRING aaguid }, not critical. */
    size_t ext = der_mark(d);
    size_t inner = der_mark(d);
    der_tlv(d, DER_OCTETS, fido_aaguid, sizeof fido_aaguid);
    der_wrap(d, DER_OCTETS, inner);
    der_tlv(d, DER_OID, k_oid_fido_aaguid, sizeof k_oid_fido_aaguid);
    der_wrap(d, DER_SEQ, ext);
    /* basicConstraints, critical: SEQUENCE {} (CA false is the default). */
    ext = der_mark(d);
    inner = der_mark(d);
    der_put(d, "\x30\x00", 2);
    der_wrap(d, DER_OCTETS, inner);
    der_put(d, "\x01\x01\xFF", 3);
    der_tlv(d, DER_OID, k_oid_basic_constraints, sizeof k_oid_basic_constraints);
    der_wrap(d, DER_SEQ, ext);
    der_wrap(d, DER_SEQ, end);
    der_wrap(d, 0xA3, end); /* [3] EXPLICIT */
}

/* TBSCertificate for the public point pub (65 bytes) with serial. */
static void der_tbs(der_t *d, const uint8_t *pub, const uint8_t serial[16])
{
    const size_t end = der_mark(d);
    der_extensions(d);
    /* subjectPublicKeyInfo */
    size_t spki = der_mark(d);
    size_t bits = der_mark(d);
    der_put(d, pub, 65);
    der_put(d, "\x00", 1); /* no unused bits */
    der_wrap(d, DER_BITS, bits);
    size_t alg = der_mark(d);
    der_tlv(d, DER_OID, k_oid_p256, sizeof k_oid_p256);
    der_tlv(d, DER_OID, k_oid_ec_public_key, sizeof k_oid_ec_public_key);
    der_wrap(d, DER_SEQ, alg);
    der_wrap(d, DER_SEQ, spki);
    der_name(d); /* subject */
    size_t validity = der_mark(d);
    der_tlv(d, DER_GENTIME, "99991231235959Z", 15);
    der_tlv(d, DER_UTCTIME, "250101000000Z", 13);
    der_wrap(d, DER_SEQ, validity);
    der_name(d); /* issuer */
    der_alg_ecdsa_sha256(d);
    der_tlv(d, DER_INT, serial, 16);
    der_put(d, "\xA0\x03\x02\x01\x02", 5); /* [0] version v3 */
    der_wrap(d, DER_SEQ, end);
}

/* The certificate for key into out: TBS, algorithm, signature. */
static uint8_t make_cert(const fk_pk_key_t *key, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t serial[16];
    if (fk_rng_bytes(serial, sizeof serial) != FK_CRYPTO_OK) return CTAP1_ERR_OTHER;
    serial[0] = (uint8_t)((serial[0] & 0x7Fu) | 0x40u); /* positive, 16 bytes long */

    /* The TBS at the end of out, then moved behind room for the outer header. */
    der_t d = {out, cap, false};
    der_tbs(&d, key->pub.p, serial);
    if (d.overflow) return CTAP1_ERR_OTHER;
    const size_t tbs_len = cap - d.at;
    uint8_t hash[FK_SHA256_LEN];
    fk_sha256(out + d.at, tbs_len, hash);
    uint8_t sig[FK_PK_ECDSA_DER_MAX];
    size_t sig_len = 0;
    if (fk_pk_ecdsa_sign(key, hash, sizeof hash, FK_SIG_DER, sig, sizeof sig, &sig_len) !=
        FK_CRYPTO_OK)
        return CTAP1_ERR_OTHER;
    const size_t head = 4u; /* 30 82 LL LL: a certificate is 256..65535 bytes */
    /* signatureAlgorithm (12 bytes), then BIT STRING { 00 || signature }. */
    const size_t tail = 12u + 3u + sig_len;
    const size_t body = tbs_len + tail;
    if (head + body > cap || body < 0x100u || sig_len + 1u > 0x7Fu) return CTAP1_ERR_OTHER;
    memmove(out + head, out + d.at, tbs_len);
    uint8_t *p = out + head + tbs_len;
    static const uint8_t alg[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                  0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
    memcpy(p, alg, sizeof alg);
    p += sizeof alg;
    *p++ = DER_BITS;
    *p++ = (uint8_t)(sig_len + 1u);
    *p++ = 0x00;
    memcpy(p, sig, sig_len);
    out[0] = DER_SEQ;
    out[1] = 0x82;
    fk_put_be16(out + 2, (uint16_t)body);
    *len = head + body;
    return CTAP_OK;
}

/* ---- The pair on flash ------------------------------------------------------------ */

/* The key blob (sealed record) into blob: CTAP_OK, or CTAP2_ERR_NO_CREDENTIALS
 * when there is none yet, CTAP1_ERR_OTHER when it does not open. */
static uint8_t load_key(const fk_applet_ctx_t *ctx, uint8_t *rec, size_t cap, size_t *len)
{
    const int rc = fk_seal_load(&ctx->space, FIDO_ID_ATT_KEY, rec, cap, len);
    if (rc == FK_SEAL_ENOENT) return CTAP2_ERR_NO_CREDENTIALS;
    if (rc != FK_SEAL_OK || *len < 2u || rec[0] != ATT_KEY_VERSION) return CTAP1_ERR_OTHER;
    return CTAP_OK;
}

/* Make the key and the certificate (into out, cap >= FIDO_ATT_CERT_MAX: the
 * caller's buffer, so that no certificate-sized buffer sits on the stack)
 * and write both in one batch. */
static uint8_t create_pair(const fk_applet_ctx_t *ctx, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t rec[1 + ATT_BLOB_MAX];
    size_t blen = 0;
    fk_pk_key_t key;
    uint8_t st = CTAP1_ERR_OTHER;
    rec[0] = ATT_KEY_VERSION;
    if (fk_pk_ec_generate(FK_CURVE_SECP256R1, rec + 1, sizeof rec - 1u, &blen) == FK_CRYPTO_OK &&
        fk_pk_parse(rec + 1, blen, &key) == FK_CRYPTO_OK && key.pub.len == 65u)
        st = make_cert(&key, out, cap, len);
    if (st == CTAP_OK) {
        st = CTAP1_ERR_OTHER;
        if (fk_space_batch_begin(&ctx->space) == FK_STORE_OK) {
            if (fk_seal_store(&ctx->space, FIDO_ID_ATT_KEY, rec, 1u + blen) == FK_SEAL_OK &&
                fk_space_write(&ctx->space, FIDO_ID_ATT_CERT, out, *len) == FK_STORE_OK &&
                fk_space_batch_commit(&ctx->space) == FK_STORE_OK) {
                st = CTAP_OK;
            } else {
                fk_space_batch_abort(&ctx->space);
            }
        }
    }
    fk_wipe(rec, sizeof rec);
    fk_wipe(&key, sizeof key);
    return st;
}

/* Whether the key exists: CTAP_OK, CTAP2_ERR_NO_CREDENTIALS, CTAP1_ERR_OTHER. */
static uint8_t key_state(const fk_applet_ctx_t *ctx)
{
    uint8_t rec[1 + ATT_BLOB_MAX];
    size_t len = 0;
    const uint8_t st = load_key(ctx, rec, sizeof rec, &len);
    fk_wipe(rec, sizeof rec);
    return st;
}

/* Whether the per-device key exists: CTAP_OK, CTAP2_ERR_NO_CREDENTIALS, CTAP1_ERR_OTHER. */
static uint8_t dev_pair_check(const fk_applet_ctx_t *ctx)
{
    uint32_t size = 0;
    const int rc = fk_space_size(&ctx->space, FIDO_ID_ATT_CERT, &size);
    const uint8_t key = key_state(ctx);
    if (rc == FK_STORE_OK) return key == CTAP_OK ? CTAP_OK : CTAP1_ERR_OTHER;
    /* No certificate: then no key either (they are written together). */
    return rc == FK_STORE_ENOENT && key == CTAP2_ERR_NO_CREDENTIALS ? CTAP2_ERR_NO_CREDENTIALS
                                                                     : CTAP1_ERR_OTHER;
}

/* The batch pair: CTAP_OK (whole), CTAP2_ERR_NO_CREDENTIALS (none),
 * CTAP1_ERR_OTHER (half of it or damaged). */
static uint8_t batch_state(const fk_applet_ctx_t *ctx)
{
    uint32_t ks = 0, cs = 0;
    const int kr = fk_space_size(&ctx->space, FIDO_ID_BATCH_KEY, &ks);
    const int cr = fk_space_size(&ctx->space, FIDO_ID_BATCH_CERT, &cs);
    if (kr == FK_STORE_ENOENT && cr == FK_STORE_ENOENT) return CTAP2_ERR_NO_CREDENTIALS;
    if (kr != FK_STORE_OK || cr != FK_STORE_OK || cs == 0u || cs > FIDO_ATT_CHAIN_MAX)
        return CTAP1_ERR_OTHER;
    return CTAP_OK;
}

uint8_t fido_attest_check(const fk_applet_ctx_t *ctx)
{
    const uint8_t b = batch_state(ctx);
    if (b != CTAP2_ERR_NO_CREDENTIALS) return b;
    const uint8_t d = dev_pair_check(ctx);
    return d == CTAP2_ERR_NO_CREDENTIALS ? CTAP_OK : d;
}

/* ---- DER reading (imported certificates) -------------------------------------- */

/* The element at in[*off] of tag: its content in *v / *vlen, *off past it. */
static bool der_get(const uint8_t *in, size_t len, size_t *off, uint8_t tag, const uint8_t **v,
                    size_t *vlen)
{
    size_t o = *off;
    if (o + 2u > len || in[o] != tag) return false;
    size_t n = in[o + 1u];
    o += 2u;
    if (n == 0x81u) {
        if (o + 1u > len || in[o] < 0x80u) return false;
        n = in[o];
        o += 1u;
    } else if (n == 0x82u) {
        if (o + 2u > len) return false;
        n = fk_be16(in + o);
        if (n < 0x100u) return false;
        o += 2u;
    } else if (n >= 0x80u) {
        return false; /* indefinite or longer than any chain we take */
    }
    if (n > len - o) return false;
    *v = in + o;
    *vlen = n;
    *off = o + n;
    return true;
}

static bool der_is(const uint8_t *v, size_t n, const uint8_t *want, size_t want_len)
{
    return n == want_len && memcmp(v, want, n) == 0;
}

/* basicConstraints' value: SEQUENCE { [BOOLEAN cA], [pathLen] }; CA must be
 * false (absent or FALSE). */
static bool bc_not_ca(const uint8_t *v, size_t n)
{
    size_t o = 0;
    const uint8_t *seq, *b;
    size_t sl, bl;
    if (!der_get(v, n, &o, DER_SEQ, &seq, &sl) || o != n) return false;
    o = 0;
    if (sl == 0u) return true;
    if (!der_get(seq, sl, &o, DER_BOOL, &b, &bl)) return false; /* pathLen alone: a CA's */
    return bl == 1u && b[0] == 0x00u;
}

/* The extensions [3] { SEQUENCE OF Extension }: basicConstraints present
 * with CA false (WebAuthn §8.2.1). */
static bool exts_ok(const uint8_t *v, size_t n)
{
    size_t o = 0, eo = 0;
    const uint8_t *seq, *ext;
    size_t sl, el;
    bool bc = false;
    if (!der_get(v, n, &o, DER_SEQ, &seq, &sl) || o != n) return false;
    while (eo < sl) {
        if (!der_get(seq, sl, &eo, DER_SEQ, &ext, &el)) return false;
        size_t xo = 0;
        const uint8_t *oid, *val, *crit;
        size_t ol, vl, cl;
        if (!der_get(ext, el, &xo, DER_OID, &oid, &ol)) return false;
        if (xo < el && ext[xo] == DER_BOOL && !der_get(ext, el, &xo, DER_BOOL, &crit, &cl))
            return false;
        if (!der_get(ext, el, &xo, DER_OCTETS, &val, &vl) || xo != el) return false;
        if (der_is(oid, ol, k_oid_basic_constraints, sizeof k_oid_basic_constraints)) {
            if (bc || !bc_not_ca(val, vl)) return false;
            bc = true;
        }
    }
    return bc;
}

/* One certificate that must be exactly in[0, len): X.509 v3, an ECDSA-SHA256
 * signature, a P-256 subject key (its point into pub, 65 bytes), CA false. */
static bool leaf_check(const uint8_t *in, size_t len, uint8_t pub[65])
{
    size_t o = 0;
    const uint8_t *cert, *tbs, *v;
    size_t cl, tl, vl;
    if (!der_get(in, len, &o, DER_SEQ, &cert, &cl) || o != len) return false;
    o = 0;
    if (!der_get(cert, cl, &o, DER_SEQ, &tbs, &tl)) return false;
    if (!der_get(cert, cl, &o, DER_SEQ, &v, &vl)) return false; /* signatureAlgorithm */
    size_t ao = 0;
    const uint8_t *oid;
    size_t ol;
    if (!der_get(v, vl, &ao, DER_OID, &oid, &ol) ||
        !der_is(oid, ol, k_oid_ecdsa_sha256, sizeof k_oid_ecdsa_sha256))
        return false;
    if (!der_get(cert, cl, &o, DER_BITS, &v, &vl) || o != cl) return false;

    o = 0;
    const uint8_t *ver;
    size_t verl;
    if (!der_get(tbs, tl, &o, 0xA0u, &v, &vl)) return false; /* v1 has no [0] */
    size_t vo = 0;
    if (!der_get(v, vl, &vo, DER_INT, &ver, &verl) || verl != 1u || ver[0] != 2u) return false;
    if (!der_get(tbs, tl, &o, DER_INT, &v, &vl)) return false;  /* serial */
    if (!der_get(tbs, tl, &o, DER_SEQ, &v, &vl)) return false;  /* signature */
    if (!der_get(tbs, tl, &o, DER_SEQ, &v, &vl)) return false;  /* issuer */
    if (!der_get(tbs, tl, &o, DER_SEQ, &v, &vl)) return false;  /* validity */
    if (!der_get(tbs, tl, &o, DER_SEQ, &v, &vl)) return false;  /* subject */
    const uint8_t *spki;
    size_t sl;
    if (!der_get(tbs, tl, &o, DER_SEQ, &spki, &sl)) return false;
    size_t so = 0;
    const uint8_t *alg, *bits;
    size_t al, bl;
    if (!der_get(spki, sl, &so, DER_SEQ, &alg, &al) || !der_get(spki, sl, &so, DER_BITS, &bits, &bl) ||
        so != sl)
        return false;
    ao = 0;
    const uint8_t *curve;
    size_t cvl;
    if (!der_get(alg, al, &ao, DER_OID, &oid, &ol) ||
        !der_is(oid, ol, k_oid_ec_public_key, sizeof k_oid_ec_public_key) ||
        !der_get(alg, al, &ao, DER_OID, &curve, &cvl) ||
        !der_is(curve, cvl, k_oid_p256, sizeof k_oid_p256) || ao != al)
        return false;
    if (bl != 66u || bits[0] != 0x00u || bits[1] != 0x04u) return false;
    memcpy(pub, bits + 1, 65);
    /* issuerUniqueID [1], subjectUniqueID [2], then the extensions [3]. */
    while (o < tl && (tbs[o] == 0x81u || tbs[o] == 0x82u || tbs[o] == 0xA1u || tbs[o] == 0xA2u)) {
        if (!der_get(tbs, tl, &o, tbs[o], &v, &vl)) return false;
    }
    if (!der_get(tbs, tl, &o, 0xA3u, &v, &vl) || o != tl) return false;
    return exts_ok(v, vl);
}

/* A chain: 1..FIDO_ATT_CHAIN_DEPTH DER certificates back to back, the
 * leaf first. The leaf is checked in full (its point into pub); the others
 * only for their framing (the relying party checks them). */
static bool chain_check(const uint8_t *in, size_t len, uint8_t pub[65])
{
    size_t o = 0;
    unsigned n = 0;
    const uint8_t *v;
    size_t vl;
    if (len == 0u || len > FIDO_ATT_CHAIN_MAX) return false;
    while (o < len) {
        if (n == FIDO_ATT_CHAIN_DEPTH || !der_get(in, len, &o, DER_SEQ, &v, &vl)) return false;
        if (n == 0u && (o > FIDO_ATT_CERT_MAX || !leaf_check(in, o, pub))) return false;
        n++;
    }
    return true;
}

/* The next certificate of a stored chain at *off: its bytes and length. */
static bool chain_next(const uint8_t *in, size_t len, size_t *off, const uint8_t **c, size_t *cl)
{
    const size_t begin = *off;
    const uint8_t *v;
    size_t vl;
    if (begin >= len || !der_get(in, len, off, DER_SEQ, &v, &vl)) return false;
    *c = in + begin;
    *cl = *off - begin;
    return true;
}

/* A chain record into the module's buffer (one command at a time uses it). */
static uint8_t s_chain[FIDO_ATT_CHAIN_MAX];

static uint8_t load_chain(const fk_applet_ctx_t *ctx, uint16_t id, size_t *len)
{
    uint32_t size = 0;
    if (fk_space_size(&ctx->space, id, &size) != FK_STORE_OK || size == 0u ||
        size > sizeof s_chain || fk_space_read(&ctx->space, id, 0, s_chain, size) != FK_STORE_OK)
        return CTAP1_ERR_OTHER;
    *len = size;
    return CTAP_OK;
}

/* ---- The keys at work ------------------------------------------------------------ */

static uint8_t sign_with(const fk_applet_ctx_t *ctx, uint16_t key_id, const uint8_t hash[32],
                         uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t rec[1 + ATT_BLOB_MAX];
    size_t len = 0;
    fk_pk_key_t key;
    memset(&key, 0, sizeof key);
    uint8_t st = CTAP1_ERR_OTHER;
    const int rc = fk_seal_load(&ctx->space, key_id, rec, sizeof rec, &len);
    if (rc == FK_SEAL_OK && len >= 2u && rec[0] == ATT_KEY_VERSION &&
        fk_pk_parse(rec + 1, len - 1u, &key) == FK_CRYPTO_OK && key.type == FK_PK_EC &&
        fk_pk_ecdsa_sign(&key, hash, 32, FK_SIG_DER, sig, cap, sig_len) == FK_CRYPTO_OK)
        st = CTAP_OK;
    fk_wipe(rec, sizeof rec);
    fk_wipe(&key, sizeof key);
    return st;
}

uint8_t fido_attest_cert(const fk_applet_ctx_t *ctx, uint8_t *out, size_t cap, size_t *len)
{
    const uint8_t b = batch_state(ctx);
    if (b == CTAP_OK) {
        /* The batch leaf: the first certificate of its chain. */
        size_t clen = 0, off = 0, l = 0;
        const uint8_t *c;
        if (load_chain(ctx, FIDO_ID_BATCH_CERT, &clen) != CTAP_OK ||
            !chain_next(s_chain, clen, &off, &c, &l) || l > cap)
            return CTAP1_ERR_OTHER;
        memcpy(out, c, l);
        *len = l;
        return CTAP_OK;
    }
    if (b != CTAP2_ERR_NO_CREDENTIALS) return CTAP1_ERR_OTHER;
    uint32_t size = 0;
    const int rc = fk_space_size(&ctx->space, FIDO_ID_ATT_CERT, &size);
    if (rc == FK_STORE_ENOENT) {
        /* The first use: a new pair, unless a key is there without its certificate. */
        if (key_state(ctx) != CTAP2_ERR_NO_CREDENTIALS || cap < FIDO_ATT_CERT_MAX)
            return CTAP1_ERR_OTHER;
        return create_pair(ctx, out, cap, len);
    }
    if (rc != FK_STORE_OK || size > cap ||
        fk_space_read(&ctx->space, FIDO_ID_ATT_CERT, 0, out, size) != FK_STORE_OK)
        return CTAP1_ERR_OTHER;
    *len = size;
    return CTAP_OK;
}

uint8_t fido_attest_sign(const fk_applet_ctx_t *ctx, const uint8_t hash[32], uint8_t *sig,
                         size_t cap, size_t *sig_len)
{
    const uint8_t b = batch_state(ctx);
    if (b == CTAP_OK) return sign_with(ctx, FIDO_ID_BATCH_KEY, hash, sig, cap, sig_len);
    if (b != CTAP2_ERR_NO_CREDENTIALS) return CTAP1_ERR_OTHER;
    return sign_with(ctx, FIDO_ID_ATT_KEY, hash, sig, cap, sig_len);
}

bool fido_attest_ep_capable(const fk_applet_ctx_t *ctx)
{
    uint32_t size = 0;
    return fk_space_size(&ctx->space, FIDO_ID_EP_CERT, &size) == FK_STORE_OK && size != 0u &&
           dev_pair_check(ctx) == CTAP_OK;
}

/* Whether rpid is in the mode-1 list. */
static bool ep_rpid_listed(const fk_applet_ctx_t *ctx, const char *rpid, size_t rpid_len)
{
    uint8_t list[FIDO_EP_RPIDS_MAX];
    uint32_t size = 0;
    if (fk_space_size(&ctx->space, FIDO_ID_EP_RPIDS, &size) != FK_STORE_OK || size > sizeof list ||
        fk_space_read(&ctx->space, FIDO_ID_EP_RPIDS, 0, list, size) != FK_STORE_OK)
        return false;
    for (size_t o = 0; o < size;) {
        const size_t n = list[o];
        if (n > size - o - 1u) return false;
        if (n == rpid_len && memcmp(list + o + 1u, rpid, n) == 0) return true;
        o += 1u + n;
    }
    return false;
}

/* Whether chain record id reads and splits into certificates. */
static bool chain_readable(const fk_applet_ctx_t *ctx, uint16_t id)
{
    size_t len = 0, off = 0, l = 0;
    const uint8_t *c;
    if (load_chain(ctx, id, &len) != CTAP_OK) return false;
    while (off < len) {
        if (!chain_next(s_chain, len, &off, &c, &l)) return false;
    }
    return true;
}

uint8_t fido_attest_choose(const fk_applet_ctx_t *ctx, uint64_t ep, const char *rpid,
                           size_t rpid_len, uint8_t *kind)
{
    /* Mode 2 always, mode 1 for a listed RP (CTAP 2.1 §7.1); an unlisted RP
     * gets the attestation it would get without asking. The chain is read
     * now, before the credential is made, so that x5c cannot fail after a
     * resident credential was written. */
    if (ep == 2u || (ep == 1u && ep_rpid_listed(ctx, rpid, rpid_len))) {
        if (!fido_attest_ep_capable(ctx) || !chain_readable(ctx, FIDO_ID_EP_CERT))
            return CTAP1_ERR_OTHER;
        *kind = FIDO_ATT_EP;
        return CTAP_OK;
    }
    const uint8_t b = batch_state(ctx);
    if (b == CTAP_OK) {
        if (!chain_readable(ctx, FIDO_ID_BATCH_CERT)) return CTAP1_ERR_OTHER;
        *kind = FIDO_ATT_BATCH;
        return CTAP_OK;
    }
    if (b != CTAP2_ERR_NO_CREDENTIALS) return CTAP1_ERR_OTHER;
    *kind = FIDO_ATT_SELF;
    return CTAP_OK;
}

uint8_t fido_attest_kind_sign(const fk_applet_ctx_t *ctx, uint8_t kind, const uint8_t hash[32],
                              uint8_t *sig, size_t cap, size_t *sig_len)
{
    if (kind == FIDO_ATT_BATCH) return sign_with(ctx, FIDO_ID_BATCH_KEY, hash, sig, cap, sig_len);
    if (kind == FIDO_ATT_EP) return sign_with(ctx, FIDO_ID_ATT_KEY, hash, sig, cap, sig_len);
    return CTAP1_ERR_OTHER;
}

uint8_t fido_attest_put_x5c(const fk_applet_ctx_t *ctx, uint8_t kind, fk_cbor_writer_t *w)
{
    const uint16_t id = kind == FIDO_ATT_BATCH ? FIDO_ID_BATCH_CERT : FIDO_ID_EP_CERT;
    if (kind != FIDO_ATT_BATCH && kind != FIDO_ATT_EP) return CTAP1_ERR_OTHER;
    size_t len = 0, off = 0, l = 0;
    unsigned n = 0;
    const uint8_t *c;
    if (load_chain(ctx, id, &len) != CTAP_OK) return CTAP1_ERR_OTHER;
    while (off < len) {
        if (!chain_next(s_chain, len, &off, &c, &l)) return CTAP1_ERR_OTHER;
        n++;
    }
    fk_cbor_put_array(w, n);
    off = 0;
    while (off < len && chain_next(s_chain, len, &off, &c, &l)) fk_cbor_put_bytes(w, c, l);
    return CTAP_OK;
}

/* ---- Provisioning: CLA 80, INS 50 -------------------------------------------------- */

#define ATT_P1_INFO 0x01u        /* flags, RP id list */
#define ATT_P1_PUBLIC 0x02u      /* the per-device public point (makes the pair) */
#define ATT_P1_BATCH_CHAIN 0x03u /* the imported batch chain */
#define ATT_P1_EP_CHAIN 0x04u    /* the per-device key's chain */
#define ATT_P1_IMPORT_BATCH 0x10u /* 32-byte scalar || chain */
#define ATT_P1_INSTALL_EP 0x11u  /* chain */
#define ATT_P1_SET_RPIDS 0x12u   /* (len, id)... ; empty clears */
#define ATT_FLAG_BATCH 0x01u
#define ATT_FLAG_EP_CERT 0x02u
#define ATT_FLAG_EP_ON 0x04u
#define ATT_EP_RPIDS_COUNT 16u

static fk_sw_t put_record(const fk_applet_ctx_t *ctx, uint16_t id, fk_rbuf_t *resp)
{
    size_t len = 0;
    uint32_t size = 0;
    if (fk_space_size(&ctx->space, id, &size) == FK_STORE_ENOENT) return FK_SW_REF_NOT_FOUND;
    if (load_chain(ctx, id, &len) != CTAP_OK) return FK_SW_MEMORY_FAILURE;
    return fk_rbuf_put(resp, s_chain, len) ? FK_SW_OK : FK_SW_WRONG_LENGTH;
}

static fk_sw_t att_info(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    fido_config_t cfg;
    if (fido_config_load(ctx, &cfg) != CTAP_OK) return FK_SW_MEMORY_FAILURE;
    uint8_t flags = 0;
    if (batch_state(ctx) == CTAP_OK) flags |= ATT_FLAG_BATCH;
    if (fido_attest_ep_capable(ctx)) flags |= ATT_FLAG_EP_CERT;
    if ((cfg.flags & FIDO_CFG_EP) != 0u) flags |= ATT_FLAG_EP_ON;
    uint8_t list[FIDO_EP_RPIDS_MAX];
    uint32_t size = 0;
    const int rc = fk_space_size(&ctx->space, FIDO_ID_EP_RPIDS, &size);
    if (rc == FK_STORE_ENOENT) size = 0;
    else if (rc != FK_STORE_OK || size > sizeof list ||
             fk_space_read(&ctx->space, FIDO_ID_EP_RPIDS, 0, list, size) != FK_STORE_OK)
        return FK_SW_MEMORY_FAILURE;
    if (!fk_rbuf_put(resp, &flags, 1) || !fk_rbuf_put(resp, list, size)) return FK_SW_WRONG_LENGTH;
    return FK_SW_OK;
}

static fk_sw_t att_public(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    size_t len = 0;
    /* The pair is made here if it was not yet (into the chain buffer). */
    if (dev_pair_check(ctx) == CTAP2_ERR_NO_CREDENTIALS &&
        create_pair(ctx, s_chain, sizeof s_chain, &len) != CTAP_OK)
        return FK_SW_MEMORY_FAILURE;
    uint8_t rec[1 + ATT_BLOB_MAX];
    fk_pk_key_t key;
    memset(&key, 0, sizeof key);
    fk_sw_t sw = FK_SW_MEMORY_FAILURE;
    if (load_key(ctx, rec, sizeof rec, &len) == CTAP_OK &&
        fk_pk_parse(rec + 1, len - 1u, &key) == FK_CRYPTO_OK && key.pub.len == 65u)
        sw = fk_rbuf_put(resp, key.pub.p, 65) ? FK_SW_OK : FK_SW_WRONG_LENGTH;
    fk_wipe(rec, sizeof rec);
    fk_wipe(&key, sizeof key);
    return sw;
}

static fk_sw_t presence_sw(const fk_applet_ctx_t *ctx)
{
    const uint8_t st = fido_presence(ctx);
    if (st == CTAP_OK) return FK_SW_OK;
    return st == CTAP2_ERR_USER_ACTION_TIMEOUT ? FK_SW_PRESENCE_TIMEOUT
                                               : FK_SW_CONDITIONS_NOT_SATISFIED;
}

/* The batch key (P-256 scalar) and its chain, both in one batch. */
static fk_sw_t att_import_batch(const fk_applet_ctx_t *ctx, const uint8_t *in, size_t len)
{
    if (len <= 32u || len - 32u > FIDO_ATT_CHAIN_MAX) return FK_SW_WRONG_LENGTH;
    uint8_t pub[65];
    if (!chain_check(in + 32, len - 32u, pub)) return FK_SW_WRONG_DATA;
    uint8_t rec[1 + ATT_BLOB_MAX];
    size_t blen = 0;
    fk_pk_key_t key;
    memset(&key, 0, sizeof key);
    fk_sw_t sw = FK_SW_WRONG_DATA;
    rec[0] = ATT_KEY_VERSION;
    if (fk_pk_ec_import(FK_CURVE_SECP256R1, in, 32, rec + 1, sizeof rec - 1u, &blen) ==
            FK_CRYPTO_OK &&
        fk_pk_parse(rec + 1, blen, &key) == FK_CRYPTO_OK && key.pub.len == 65u) {
        /* A key that is not the certificate's would make attestations no
         * relying party can verify. */
        sw = fk_ct_equal(key.pub.p, pub, 65) ? FK_SW_OK : FK_SW_REF_DATA_NOT_USABLE;
    }
    fk_wipe(&key, sizeof key);
    if (sw == FK_SW_OK) sw = presence_sw(ctx);
    if (sw == FK_SW_OK) {
        sw = FK_SW_MEMORY_FAILURE;
        if (fk_space_batch_begin(&ctx->space) == FK_STORE_OK) {
            if (fk_seal_store(&ctx->space, FIDO_ID_BATCH_KEY, rec, 1u + blen) == FK_SEAL_OK &&
                fk_space_write(&ctx->space, FIDO_ID_BATCH_CERT, in + 32, len - 32u) ==
                    FK_STORE_OK &&
                fk_space_batch_commit(&ctx->space) == FK_STORE_OK)
                sw = FK_SW_OK;
            else
                fk_space_batch_abort(&ctx->space);
        }
    }
    fk_wipe(rec, sizeof rec);
    return sw;
}

/* A chain for the per-device key: its leaf must carry that key's point. */
static fk_sw_t att_install_ep(const fk_applet_ctx_t *ctx, const uint8_t *in, size_t len)
{
    if (len == 0u || len > FIDO_ATT_CHAIN_MAX) return FK_SW_WRONG_LENGTH;
    uint8_t pub[65];
    if (!chain_check(in, len, pub)) return FK_SW_WRONG_DATA;
    const uint8_t d = dev_pair_check(ctx);
    if (d == CTAP2_ERR_NO_CREDENTIALS) return FK_SW_REF_NOT_FOUND; /* read public-key first */
    if (d != CTAP_OK) return FK_SW_MEMORY_FAILURE;
    uint8_t rec[1 + ATT_BLOB_MAX];
    size_t blen = 0;
    fk_pk_key_t key;
    memset(&key, 0, sizeof key);
    fk_sw_t sw = FK_SW_MEMORY_FAILURE;
    if (load_key(ctx, rec, sizeof rec, &blen) == CTAP_OK &&
        fk_pk_parse(rec + 1, blen - 1u, &key) == FK_CRYPTO_OK && key.pub.len == 65u)
        sw = memcmp(key.pub.p, pub, 65) == 0 ? FK_SW_OK : FK_SW_REF_DATA_NOT_USABLE;
    fk_wipe(rec, sizeof rec);
    fk_wipe(&key, sizeof key);
    if (sw == FK_SW_OK) sw = presence_sw(ctx);
    if (sw == FK_SW_OK && fk_space_write(&ctx->space, FIDO_ID_EP_CERT, in, len) != FK_STORE_OK)
        sw = FK_SW_MEMORY_FAILURE;
    return sw;
}

static fk_sw_t att_set_rpids(const fk_applet_ctx_t *ctx, const uint8_t *in, size_t len)
{
    if (len > FIDO_EP_RPIDS_MAX) return FK_SW_WRONG_LENGTH;
    unsigned n = 0;
    for (size_t o = 0; o < len;) {
        const size_t l = in[o];
        if (l == 0u || l > len - o - 1u || l > FIDO_RPID_MAX || ++n > ATT_EP_RPIDS_COUNT)
            return FK_SW_WRONG_DATA;
        o += 1u + l;
    }
    const fk_sw_t sw = presence_sw(ctx);
    if (sw != FK_SW_OK) return sw;
    int rc;
    if (len == 0u) {
        rc = fk_space_delete(&ctx->space, FIDO_ID_EP_RPIDS);
        if (rc == FK_STORE_ENOENT) rc = FK_STORE_OK;
    } else {
        rc = fk_space_write(&ctx->space, FIDO_ID_EP_RPIDS, in, len);
    }
    return rc == FK_STORE_OK ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
}

fk_sw_t fido_attest_apdu(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p2 != 0x00u) return FK_SW_INCORRECT_P1P2;
    const bool reads = cmd->p1 < ATT_P1_IMPORT_BATCH;
    if (reads && cmd->nc != 0u) return FK_SW_WRONG_LENGTH;
    switch (cmd->p1) {
    case ATT_P1_INFO: return att_info(ctx, resp);
    case ATT_P1_PUBLIC: return att_public(ctx, resp);
    case ATT_P1_BATCH_CHAIN: return put_record(ctx, FIDO_ID_BATCH_CERT, resp);
    case ATT_P1_EP_CHAIN: return put_record(ctx, FIDO_ID_EP_CERT, resp);
    case ATT_P1_IMPORT_BATCH: return att_import_batch(ctx, cmd->data, cmd->nc);
    case ATT_P1_INSTALL_EP: return att_install_ep(ctx, cmd->data, cmd->nc);
    case ATT_P1_SET_RPIDS: return att_set_rpids(ctx, cmd->data, cmd->nc);
    default: return FK_SW_INCORRECT_P1P2;
    }
}
