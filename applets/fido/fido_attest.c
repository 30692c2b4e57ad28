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
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "fido_internal.h"
#include "seal/seal.h"
#include "store/store.h"
#include "util.h"

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

uint8_t fido_attest_check(const fk_applet_ctx_t *ctx)
{
    uint32_t size = 0;
    const int rc = fk_space_size(&ctx->space, FIDO_ID_ATT_CERT, &size);
    const uint8_t key = key_state(ctx);
    if (rc == FK_STORE_OK) return key == CTAP_OK ? CTAP_OK : CTAP1_ERR_OTHER;
    /* No certificate: then no key either (they are written together). */
    return rc == FK_STORE_ENOENT && key == CTAP2_ERR_NO_CREDENTIALS ? CTAP_OK : CTAP1_ERR_OTHER;
}

uint8_t fido_attest_cert(const fk_applet_ctx_t *ctx, uint8_t *out, size_t cap, size_t *len)
{
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
    uint8_t rec[1 + ATT_BLOB_MAX];
    size_t len = 0;
    fk_pk_key_t key;
    uint8_t st = load_key(ctx, rec, sizeof rec, &len);
    if (st == CTAP_OK) {
        st = CTAP1_ERR_OTHER;
        if (fk_pk_parse(rec + 1, len - 1u, &key) == FK_CRYPTO_OK && key.type == FK_PK_EC &&
            fk_pk_ecdsa_sign(&key, hash, 32, FK_SIG_DER, sig, cap, sig_len) == FK_CRYPTO_OK)
            st = CTAP_OK;
    } else {
        st = CTAP1_ERR_OTHER; /* none yet (fido_attest_cert makes it) or damaged */
    }
    fk_wipe(rec, sizeof rec);
    fk_wipe(&key, sizeof key);
    return st;
}
