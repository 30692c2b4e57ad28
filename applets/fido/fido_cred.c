/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_cred.c - the applet's master secret, credential ids, resident
 * credentials, the signature counter and the helpers makeCredential,
 * getAssertion and credentialManagement share (docs/fido.md).
 *
 * Master secret (main partition, FIDO_ID_MASTER, sealed):
 *   version(1) = 1 | secret(32)
 * made from the DRBG on first use; reset deletes it, so every credential id
 * issued before stops opening. Per-purpose keys are HKDF-Expand of it with
 * the labels below.
 *
 * Credential id (64 bytes, also the U2F key handle):
 *   version(1) = 0x01 | nonce(12) | ciphertext(35) | tag(16)
 * ChaCha20-Poly1305 under the "credential-id" key, AAD = version || rpIdHash
 * (U2F: the application parameter), plaintext:
 *   alg(1) FIDO_ALG_* | flags(1) | secret(32) | reserved(1) = 0
 *   flags: bit 0 resident, bits 1-2 credProtect level (1..3), bit 3 hmac-secret
 * Any other length, version, tag, RP, alg or flag value does not open
 * (CTAP2_ERR_INVALID_CREDENTIAL). The private key is the secret itself: a
 * P-256 scalar (ES256) or an Ed25519 seed (EdDSA).
 *
 * Signature counter (counters partition, FIDO_ID_SIGN_COUNTER, plain):
 *   version(1) = 1 | value(4, big-endian)
 * One global counter, written before any signature that carries a value
 * leaves. It is created (value 0) before the master secret is, so a missing
 * or damaged counter next to a master secret means a value existed: the
 * counter fails closed (CTAP1_ERR_OTHER) rather than start again.
 *
 * Resident credential (main partition, FIDO_ID_RK_FIRST..LAST, sealed),
 * version 1:
 *   version(1) = 1 | serial(4, BE) | rpIdHash(32) | credentialId(64) |
 *   credProtect(1) | flags(1) FIDO_RK_* | rpIdLen(1) rpId | userIdLen(1) userId |
 *   nameLen(1) name | displayNameLen(1) displayName | credBlobLen(1) credBlob
 * serial orders credentials newest first (one more than the largest in the
 * store when made). Replacing a credential of the same RP and user id keeps
 * the record id and is one atomic write.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/ed.h"
#include "crypto/pk.h"
#include "fido_cred_int.h"
#include "seal/seal.h"
#include "services/services.h"
#include "util.h"

#define MASTER_VERSION 1u
#define CREDID_VERSION 0x01u
#define CREDID_PT_LEN 35u
#define COUNTER_VERSION 1u
#define RK_VERSION 1u

#define CF_RESIDENT 0x01u
#define CF_PROTECT_SHIFT 1u
#define CF_PROTECT_MASK 0x06u
#define CF_HMAC_SECRET 0x08u

static const char k_label_credid[] = "fusekey fido credential-id v1";
static const char k_label_hmac[] = "fusekey fido hmac-secret v1";
static const char k_label_lbk[] = "fusekey fido large-blob-key v1";

/* ---- Parsing helpers --------------------------------------------------------- */

static uint8_t check_type(fk_cbor_err_t e, const fk_cbor_item_t *v, fk_cbor_type_t t)
{
    if (e == FK_CBOR_ERR_MISSING) return CTAP2_ERR_MISSING_PARAMETER;
    if (e != FK_CBOR_OK) return (uint8_t)e;
    if (t == FK_CBOR_NINT) /* "any integer" */
        return (v->type == FK_CBOR_UINT || v->type == FK_CBOR_NINT) ? CTAP_OK
                                                                      : CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    return v->type == t ? CTAP_OK : CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
}

uint8_t fido_field(const fk_cbor_item_t *m, int64_t k, fk_cbor_type_t t, fk_cbor_item_t *v)
{
    return check_type(fk_cbor_map_find_int(m, k, v), v, t);
}

uint8_t fido_tfield(const fk_cbor_item_t *m, const char *k, fk_cbor_type_t t, fk_cbor_item_t *v)
{
    return check_type(fk_cbor_map_find_text(m, k, v), v, t);
}

size_t fido_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t n = max;
    /* Step back over continuation bytes so a code point is never split. */
    while (n > 0u && ((uint8_t)s[n] & 0xC0u) == 0x80u) n--;
    return n;
}

/* ---- Master secret and derived keys ------------------------------------------ */

static uint8_t counter_create_if_missing(const fk_applet_ctx_t *ctx)
{
    uint32_t size = 0;
    const int rc = fk_space_size(&ctx->counters, FIDO_ID_SIGN_COUNTER, &size);
    if (rc == FK_STORE_OK) return CTAP_OK; /* kept as it is, whatever it holds */
    if (rc != FK_STORE_ENOENT) return CTAP1_ERR_OTHER;
    const uint8_t rec[5] = {COUNTER_VERSION, 0, 0, 0, 0};
    return fk_space_write(&ctx->counters, FIDO_ID_SIGN_COUNTER, rec, sizeof rec) == FK_STORE_OK
               ? CTAP_OK
               : CTAP1_ERR_OTHER;
}

uint8_t fido_master(const fk_applet_ctx_t *ctx, uint8_t master[32])
{
    uint8_t rec[1 + 32];
    size_t len = 0;
    int rc = fk_seal_load(&ctx->space, FIDO_ID_MASTER, rec, sizeof rec, &len);
    if (rc == FK_SEAL_ENOENT) {
        /* The counter first: a master secret never exists without one. */
        if (counter_create_if_missing(ctx) != CTAP_OK) return CTAP1_ERR_OTHER;
        rec[0] = MASTER_VERSION;
        if (fk_rng_bytes(rec + 1, 32) != FK_CRYPTO_OK) {
            fk_wipe(rec, sizeof rec);
            return CTAP1_ERR_OTHER;
        }
        rc = fk_seal_store(&ctx->space, FIDO_ID_MASTER, rec, sizeof rec);
        len = sizeof rec;
    }
    uint8_t st = CTAP1_ERR_OTHER;
    if (rc == FK_SEAL_OK && len == sizeof rec && rec[0] == MASTER_VERSION) {
        memcpy(master, rec + 1, 32);
        st = CTAP_OK;
    }
    fk_wipe(rec, sizeof rec);
    return st;
}

static uint8_t derive(const fk_applet_ctx_t *ctx, const char *label, uint8_t out[32])
{
    uint8_t m[32];
    uint8_t st = fido_master(ctx, m);
    if (st == CTAP_OK &&
        fk_hkdf_sha256_expand(m, sizeof m, label, strlen(label), out, 32) != FK_CRYPTO_OK)
        st = CTAP1_ERR_OTHER;
    fk_wipe(m, sizeof m);
    if (st != CTAP_OK) fk_wipe(out, 32);
    return st;
}

uint8_t fido_large_blob_key(const fk_applet_ctx_t *ctx, const uint8_t cred_id[FIDO_CRED_ID_LEN],
                            uint8_t out[32])
{
    uint8_t k[32];
    const uint8_t st = derive(ctx, k_label_lbk, k);
    if (st == CTAP_OK) fk_hmac_sha256(k, sizeof k, cred_id, FIDO_CRED_ID_LEN, out);
    fk_wipe(k, sizeof k);
    return st;
}

uint8_t fido_cred_random(const fk_applet_ctx_t *ctx, const uint8_t cred_id[FIDO_CRED_ID_LEN],
                         bool uv, uint8_t out[32])
{
    uint8_t k[32], msg[1 + FIDO_CRED_ID_LEN];
    const uint8_t st = derive(ctx, k_label_hmac, k);
    msg[0] = uv ? 1u : 0u;
    memcpy(msg + 1, cred_id, FIDO_CRED_ID_LEN);
    if (st == CTAP_OK) fk_hmac_sha256(k, sizeof k, msg, sizeof msg, out);
    fk_wipe(k, sizeof k);
    return st;
}

/* ---- Credential ids ------------------------------------------------------------- */

uint8_t fido_credid_seal(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                         const fido_cred_key_t *key, uint8_t id[FIDO_CRED_ID_LEN])
{
    if ((key->alg != FIDO_ALG_ES256 && key->alg != FIDO_ALG_EDDSA) || key->cred_protect > 3u)
        return CTAP1_ERR_OTHER;
    const uint8_t level = key->cred_protect == 0u ? 1u : key->cred_protect;
    uint8_t k[32], pt[CREDID_PT_LEN], aad[1 + 32];
    pt[0] = key->alg;
    pt[1] = (uint8_t)((key->resident ? CF_RESIDENT : 0u) | (uint8_t)(level << CF_PROTECT_SHIFT) |
                      (key->hmac_secret ? CF_HMAC_SECRET : 0u));
    memcpy(pt + 2, key->secret, 32);
    pt[34] = 0;
    aad[0] = CREDID_VERSION;
    memcpy(aad + 1, rpid_hash, 32);
    id[0] = CREDID_VERSION;
    uint8_t st = derive(ctx, k_label_credid, k);
    if (st == CTAP_OK && fk_rng_bytes(id + 1, FK_AEAD_NONCE_LEN) != FK_CRYPTO_OK)
        st = CTAP1_ERR_OTHER;
    if (st == CTAP_OK && fk_aead_seal(k, id + 1, aad, sizeof aad, pt, sizeof pt, id + 13,
                                      id + 13 + CREDID_PT_LEN) != FK_CRYPTO_OK)
        st = CTAP1_ERR_OTHER;
    fk_wipe(k, sizeof k);
    fk_wipe(pt, sizeof pt);
    if (st != CTAP_OK) fk_wipe(id, FIDO_CRED_ID_LEN);
    return st;
}

uint8_t fido_credid_open(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                         const uint8_t *id, size_t len, fido_cred_key_t *key)
{
    memset(key, 0, sizeof *key);
    if (len != FIDO_CRED_ID_LEN || id[0] != CREDID_VERSION) return CTAP2_ERR_INVALID_CREDENTIAL;
    uint8_t k[32], pt[CREDID_PT_LEN], aad[1 + 32];
    aad[0] = CREDID_VERSION;
    memcpy(aad + 1, rpid_hash, 32);
    uint8_t st = derive(ctx, k_label_credid, k);
    if (st == CTAP_OK) {
        const int rc = fk_aead_open(k, id + 1, aad, sizeof aad, id + 13, CREDID_PT_LEN,
                                    id + 13 + CREDID_PT_LEN, pt);
        if (rc == FK_CRYPTO_EAUTH)
            st = CTAP2_ERR_INVALID_CREDENTIAL;
        else if (rc != FK_CRYPTO_OK)
            st = CTAP1_ERR_OTHER;
    }
    fk_wipe(k, sizeof k);
    if (st == CTAP_OK) {
        const uint8_t level = (uint8_t)((pt[1] & CF_PROTECT_MASK) >> CF_PROTECT_SHIFT);
        if ((pt[0] != FIDO_ALG_ES256 && pt[0] != FIDO_ALG_EDDSA) || level == 0u ||
            (pt[1] & ~(CF_RESIDENT | CF_PROTECT_MASK | CF_HMAC_SECRET)) != 0u || pt[34] != 0u) {
            st = CTAP2_ERR_INVALID_CREDENTIAL;
        } else {
            key->alg = pt[0];
            key->cred_protect = level;
            key->resident = (pt[1] & CF_RESIDENT) != 0u;
            key->hmac_secret = (pt[1] & CF_HMAC_SECRET) != 0u;
            memcpy(key->secret, pt + 2, 32);
        }
    }
    fk_wipe(pt, sizeof pt);
    if (st != CTAP_OK) fk_wipe(key, sizeof *key);
    return st;
}

/* ---- Signature counter ------------------------------------------------------------ */

uint8_t fido_counter_next(const fk_applet_ctx_t *ctx, uint32_t *value)
{
    uint8_t rec[5];
    uint32_t size = 0;
    if (fk_space_size(&ctx->counters, FIDO_ID_SIGN_COUNTER, &size) != FK_STORE_OK ||
        size != sizeof rec ||
        fk_space_read(&ctx->counters, FIDO_ID_SIGN_COUNTER, 0, rec, sizeof rec) != FK_STORE_OK ||
        rec[0] != COUNTER_VERSION)
        return CTAP1_ERR_OTHER;
    const uint32_t v = fk_be32(rec + 1);
    if (v == UINT32_MAX) return CTAP1_ERR_OTHER; /* never wraps to a smaller value */
    fk_put_be32(rec + 1, v + 1u);
    if (fk_space_write(&ctx->counters, FIDO_ID_SIGN_COUNTER, rec, sizeof rec) != FK_STORE_OK)
        return CTAP1_ERR_OTHER;
    *value = v + 1u;
    return CTAP_OK;
}

/* ---- Keys ------------------------------------------------------------------------------ */

#define EC_BLOB_MAX 160u

/* The parsed P-256 key of an ES256 credential (blob holds it). */
static uint8_t es256_key(const fido_cred_key_t *key, uint8_t blob[EC_BLOB_MAX], fk_pk_key_t *pk)
{
    size_t len = 0;
    if (fk_pk_ec_import(FK_CURVE_SECP256R1, key->secret, 32, blob, EC_BLOB_MAX, &len) !=
            FK_CRYPTO_OK ||
        fk_pk_parse(blob, len, pk) != FK_CRYPTO_OK || pk->pub.len != 65u) {
        fk_wipe(blob, EC_BLOB_MAX);
        return CTAP1_ERR_OTHER;
    }
    return CTAP_OK;
}

uint8_t fido_cred_new_key(fido_cred_key_t *key)
{
    /* A P-256 scalar must be in [1, n): draw again in the (negligible) case
     * it is not. An Ed25519 seed is any 32 bytes. */
    for (unsigned tries = 0; tries < 8u; tries++) {
        if (fk_rng_bytes(key->secret, 32) != FK_CRYPTO_OK) break;
        if (key->alg == FIDO_ALG_EDDSA) return CTAP_OK;
        fk_pk_key_t pk;
        const int rc = fk_pk_ec_private_view(FK_CURVE_SECP256R1, key->secret, 32, &pk);
        fk_wipe(&pk, sizeof pk);
        if (rc == FK_CRYPTO_OK) return CTAP_OK;
    }
    fk_wipe(key->secret, 32);
    return CTAP1_ERR_OTHER;
}

uint8_t fido_cose_key(const fido_cred_key_t *key, fk_cbor_writer_t *w)
{
    if (key->alg == FIDO_ALG_EDDSA) {
        uint8_t pub[FK_ED25519_KEY_LEN];
        if (fk_ed_public(FK_CURVE_X25519, key->secret, pub) != FK_CRYPTO_OK) return CTAP1_ERR_OTHER;
        fk_cbor_put_map(w, 4);
        fk_cbor_put_uint(w, 1); /* kty: OKP */
        fk_cbor_put_uint(w, 1);
        fk_cbor_put_uint(w, 3); /* alg */
        fk_cbor_put_int(w, FIDO_COSE_EDDSA);
        fk_cbor_put_int(w, -1); /* crv: Ed25519 */
        fk_cbor_put_uint(w, 6);
        fk_cbor_put_int(w, -2); /* x */
        fk_cbor_put_bytes(w, pub, sizeof pub);
        return CTAP_OK;
    }
    uint8_t blob[EC_BLOB_MAX];
    fk_pk_key_t pk;
    const uint8_t st = es256_key(key, blob, &pk);
    if (st == CTAP_OK) {
        fk_cbor_put_map(w, 5);
        fk_cbor_put_uint(w, 1); /* kty: EC2 */
        fk_cbor_put_uint(w, 2);
        fk_cbor_put_uint(w, 3); /* alg */
        fk_cbor_put_int(w, FIDO_COSE_ES256);
        fk_cbor_put_int(w, -1); /* crv: P-256 */
        fk_cbor_put_uint(w, 1);
        fk_cbor_put_int(w, -2);
        fk_cbor_put_bytes(w, pk.pub.p + 1, 32);
        fk_cbor_put_int(w, -3);
        fk_cbor_put_bytes(w, pk.pub.p + 33, 32);
    }
    fk_wipe(blob, sizeof blob);
    fk_wipe(&pk, sizeof pk);
    return st;
}

uint8_t fido_cred_point(const fido_cred_key_t *key, uint8_t pub[65])
{
    if (key->alg != FIDO_ALG_ES256) return CTAP1_ERR_OTHER;
    uint8_t blob[EC_BLOB_MAX];
    fk_pk_key_t pk;
    const uint8_t st = es256_key(key, blob, &pk);
    if (st == CTAP_OK) memcpy(pub, pk.pub.p, 65);
    fk_wipe(blob, sizeof blob);
    fk_wipe(&pk, sizeof pk);
    return st;
}

uint8_t fido_cred_sign(const fido_cred_key_t *key, const uint8_t *msg, size_t len,
                       uint8_t sig[FIDO_SIG_MAX], size_t *sig_len)
{
    if (key->alg == FIDO_ALG_EDDSA) {
        uint8_t pub[FK_ED25519_KEY_LEN];
        if (fk_ed_public(FK_CURVE_X25519, key->secret, pub) != FK_CRYPTO_OK ||
            fk_ed_sign(FK_CURVE_X25519, key->secret, pub, msg, len, sig) != FK_CRYPTO_OK)
            return CTAP1_ERR_OTHER;
        *sig_len = FK_ED25519_SIG_LEN;
        return CTAP_OK;
    }
    /* Signing needs the scalar only: no public point is computed. */
    uint8_t hash[32];
    fk_pk_key_t pk;
    uint8_t st = CTAP_OK;
    fk_sha256(msg, len, hash);
    if (fk_pk_ec_private_view(FK_CURVE_SECP256R1, key->secret, 32, &pk) != FK_CRYPTO_OK ||
        fk_pk_ecdsa_sign(&pk, hash, sizeof hash, FK_SIG_DER, sig, FIDO_SIG_MAX, sig_len) !=
            FK_CRYPTO_OK)
        st = CTAP1_ERR_OTHER;
    fk_wipe(&pk, sizeof pk);
    return st;
}

/* ---- Resident credentials ----------------------------------------------------------- */

#define RK_REC_MAX                                                                      \
    (1u + 4u + 32u + FIDO_CRED_ID_LEN + 1u + 1u + 1u + FIDO_RPID_MAX + 1u + FIDO_USER_ID_MAX + \
     1u + FIDO_USER_NAME_MAX + 1u + FIDO_USER_NAME_MAX + 1u + FIDO_CRED_BLOB_MAX)

int fido_rk_iter(const fk_applet_ctx_t *ctx, uint32_t *from, uint16_t *id)
{
    if (*from > FIDO_ID_RK_LAST) return 0;
    const int rc = fk_space_first(&ctx->space, *from, id);
    if (rc == FK_STORE_ENOENT || (rc == FK_STORE_OK && *id > FIDO_ID_RK_LAST)) return 0;
    if (rc != FK_STORE_OK) return -1;
    *from = (uint32_t)*id + 1u;
    return 1;
}

uint8_t fido_rk_count(const fk_applet_ctx_t *ctx, unsigned *used, unsigned *free_slots)
{
    uint32_t from = FIDO_ID_RK_FIRST;
    uint16_t id;
    unsigned n = 0;
    int r;
    while ((r = fido_rk_iter(ctx, &from, &id)) == 1) n++;
    if (r < 0) return CTAP1_ERR_OTHER;
    *used = n;
    *free_slots = FIDO_RK_MAX - n;
    return CTAP_OK;
}

/* Append a length-prefixed field. */
static size_t put_lv(uint8_t *p, size_t at, const void *v, uint8_t len)
{
    p[at] = len;
    memcpy(p + at + 1u, v, len);
    return at + 1u + len;
}

/* Read a length-prefixed field of at most max bytes; 0 when it does not fit. */
static size_t get_lv(const uint8_t *p, size_t at, size_t end, void *v, uint8_t *len, size_t max)
{
    if (at >= end || p[at] > max || end - at - 1u < p[at]) return 0;
    *len = p[at];
    memcpy(v, p + at + 1u, p[at]);
    return at + 1u + p[at];
}

/* The plaintext of one record being read or written (one command at a
 * time, and neither function calls the other). */
static uint8_t s_rec[RK_REC_MAX];

uint8_t fido_rk_load(const fk_applet_ctx_t *ctx, uint16_t id, fido_rk_t *rk)
{
    uint8_t *const rec = s_rec;
    size_t len = 0;
    memset(rk, 0, sizeof *rk);
    uint8_t st = CTAP1_ERR_OTHER;
    if (fk_seal_load(&ctx->space, id, rec, RK_REC_MAX, &len) == FK_SEAL_OK && len >= 104u &&
        rec[0] == RK_VERSION) {
        size_t at = 1;
        rk->rec_id = id;
        rk->serial = fk_be32(rec + at);
        at += 4;
        memcpy(rk->rpid_hash, rec + at, 32);
        at += 32;
        memcpy(rk->cred_id, rec + at, FIDO_CRED_ID_LEN);
        at += FIDO_CRED_ID_LEN;
        if (at + 2u <= len) {
            rk->cred_protect = rec[at];
            rk->flags = rec[at + 1u];
            at += 2;
            if ((at = get_lv(rec, at, len, rk->rpid, &rk->rpid_len, FIDO_RPID_MAX)) != 0u &&
                (at = get_lv(rec, at, len, rk->uid, &rk->uid_len, FIDO_USER_ID_MAX)) != 0u &&
                (at = get_lv(rec, at, len, rk->name, &rk->name_len, FIDO_USER_NAME_MAX)) != 0u &&
                (at = get_lv(rec, at, len, rk->dn, &rk->dn_len, FIDO_USER_NAME_MAX)) != 0u &&
                (at = get_lv(rec, at, len, rk->blob, &rk->blob_len, FIDO_CRED_BLOB_MAX)) != 0u &&
                at == len && rk->cred_protect >= 1u && rk->cred_protect <= 3u)
                st = CTAP_OK;
        }
    }
    fk_wipe(rec, RK_REC_MAX);
    if (st != CTAP_OK) fk_wipe(rk, sizeof *rk);
    return st;
}

uint8_t fido_rk_save(const fk_applet_ctx_t *ctx, const fido_rk_t *rk)
{
    uint8_t *const rec = s_rec;
    FK_ASSERT(rk->rec_id >= FIDO_ID_RK_FIRST && rk->rec_id <= FIDO_ID_RK_LAST);
    size_t at = 0;
    rec[at++] = RK_VERSION;
    fk_put_be32(rec + at, rk->serial);
    at += 4;
    memcpy(rec + at, rk->rpid_hash, 32);
    at += 32;
    memcpy(rec + at, rk->cred_id, FIDO_CRED_ID_LEN);
    at += FIDO_CRED_ID_LEN;
    rec[at++] = rk->cred_protect;
    rec[at++] = rk->flags;
    at = put_lv(rec, at, rk->rpid, rk->rpid_len);
    at = put_lv(rec, at, rk->uid, rk->uid_len);
    at = put_lv(rec, at, rk->name, rk->name_len);
    at = put_lv(rec, at, rk->dn, rk->dn_len);
    at = put_lv(rec, at, rk->blob, rk->blob_len);
    const int rc = fk_seal_store(&ctx->space, rk->rec_id, rec, at);
    fk_wipe(rec, RK_REC_MAX);
    if (rc == FK_SEAL_EFULL) return CTAP2_ERR_KEY_STORE_FULL;
    return rc == FK_SEAL_OK ? CTAP_OK : CTAP1_ERR_OTHER;
}

uint8_t fido_rk_find(const fk_applet_ctx_t *ctx, const uint8_t *cred_id, size_t len,
                     fido_rk_t *rk)
{
    if (len != FIDO_CRED_ID_LEN) return CTAP2_ERR_NO_CREDENTIALS;
    uint32_t from = FIDO_ID_RK_FIRST;
    uint16_t id;
    int r;
    while ((r = fido_rk_iter(ctx, &from, &id)) == 1) {
        if (fido_rk_load(ctx, id, rk) != CTAP_OK) continue;
        if (memcmp(rk->cred_id, cred_id, FIDO_CRED_ID_LEN) == 0) return CTAP_OK;
    }
    fk_wipe(rk, sizeof *rk);
    return r < 0 ? CTAP1_ERR_OTHER : CTAP2_ERR_NO_CREDENTIALS;
}
