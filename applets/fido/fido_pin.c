/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_pin.c - clientPIN (CTAP 2.1 §6.5): PIN/UV auth protocols 1 and 2, the
 * PIN kept by the PIN service, and the pinUvAuthToken with its permissions.
 *
 * The platform never sends the PIN in clear: setPIN and changePIN carry it
 * encrypted under a secret shared through ECDH with the key agreement key,
 * and the PIN checks compare LEFT(SHA-256(PIN), 16), the "PIN" the PIN
 * service keeps (fido_pin_ref). The service spends the try on flash before
 * it compares; this file adds what CTAP adds on top: three consecutive
 * mismatches block PIN use until the next power-up, and every mismatch
 * makes a new key agreement key.
 *
 * The token: 32 random bytes, new at every get*Token (which makes every
 * earlier token useless), usable for FIDO_TOKEN_LIFETIME_MS after it was
 * issued, with the permissions it was asked for and, once used for an RP
 * (or asked for one), bound to that RP.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/sym.h"
#include "fido_internal.h"
#include "services/services.h"
#include "util.h"

const fk_pin_ref_t fido_pin_ref = {
    .id = FIDO_ID_PIN,
    .min_len = FIDO_PIN_HASH_LEN,
    .max_len = FIDO_PIN_HASH_LEN,
    .charset = FK_PIN_BYTES,
    .session_bit = 0,
};

/* clientPIN request and response keys. */
enum {
    REQ_PROTOCOL = 0x01,
    REQ_SUBCMD = 0x02,
    REQ_KEY_AGREEMENT = 0x03,
    REQ_PIN_AUTH = 0x04,
    REQ_NEW_PIN_ENC = 0x05,
    REQ_PIN_HASH_ENC = 0x06,
    REQ_PERMISSIONS = 0x09,
    REQ_RPID = 0x0A,
};
enum {
    RESP_KEY_AGREEMENT = 0x01,
    RESP_TOKEN = 0x02,
    RESP_PIN_RETRIES = 0x03,
    RESP_POWER_CYCLE = 0x04,
};
enum {
    SUB_GET_RETRIES = 0x01,
    SUB_GET_KEY_AGREEMENT = 0x02,
    SUB_SET_PIN = 0x03,
    SUB_CHANGE_PIN = 0x04,
    SUB_GET_TOKEN = 0x05,
    SUB_GET_TOKEN_UV = 0x06,
    SUB_GET_UV_RETRIES = 0x07,
    SUB_GET_TOKEN_PIN = 0x09,
};

#define PIN_PADDED_LEN 64u   /* newPinEnc's plaintext */
#define PIN_MIN_BYTES 4u
#define PIN_MAX_BYTES 63u
#define IV_LEN 16u
/* Permissions this authenticator grants: no built-in UV, so no bioEnroll (be). */
#define PERMS_KNOWN (FIDO_PERM_MC | FIDO_PERM_GA | FIDO_PERM_CM | FIDO_PERM_LBW | FIDO_PERM_ACFG)

static fido_pin_session_t *session(const fk_applet_ctx_t *ctx) { return &fido_state(ctx)->ps; }

static bool proto_known(uint64_t proto) { return proto == 1u || proto == 2u; }

/* ---- The protocols' primitives (CTAP 2.1 §6.5.6, §6.5.7) ---------------------- */

uint8_t fido_pin_encrypt(uint64_t proto, const uint8_t *shared, const uint8_t *in, size_t len,
                         uint8_t *out, size_t *out_len)
{
    static const uint8_t zero_iv[IV_LEN] = {0};
    if (len == 0u || len % FK_AES_BLOCK != 0u) return CTAP1_ERR_INVALID_LENGTH;
    if (proto == 1u) {
        if (fk_aes_crypt(FK_AES_CBC, true, shared, 32, zero_iv, IV_LEN, in, len, out) !=
            FK_CRYPTO_OK)
            return CTAP1_ERR_OTHER;
        *out_len = len;
        return CTAP_OK;
    }
    if (proto != 2u) return CTAP1_ERR_INVALID_PARAMETER;
    /* IV first, then the ciphertext, under the AES half of the secret. */
    if (fk_rng_bytes(out, IV_LEN) != FK_CRYPTO_OK) return CTAP1_ERR_OTHER;
    if (fk_aes_crypt(FK_AES_CBC, true, shared + 32, 32, out, IV_LEN, in, len, out + IV_LEN) !=
        FK_CRYPTO_OK)
        return CTAP1_ERR_OTHER;
    *out_len = IV_LEN + len;
    return CTAP_OK;
}

uint8_t fido_pin_decrypt(uint64_t proto, const uint8_t *shared, const uint8_t *in, size_t len,
                         uint8_t *out, size_t *out_len)
{
    static const uint8_t zero_iv[IV_LEN] = {0};
    if (proto == 1u) {
        if (len == 0u || len % FK_AES_BLOCK != 0u) return CTAP1_ERR_INVALID_LENGTH;
        if (fk_aes_crypt(FK_AES_CBC, false, shared, 32, zero_iv, IV_LEN, in, len, out) !=
            FK_CRYPTO_OK)
            return CTAP1_ERR_OTHER;
        *out_len = len;
        return CTAP_OK;
    }
    if (proto != 2u) return CTAP1_ERR_INVALID_PARAMETER;
    if (len <= IV_LEN || (len - IV_LEN) % FK_AES_BLOCK != 0u) return CTAP1_ERR_INVALID_LENGTH;
    if (fk_aes_crypt(FK_AES_CBC, false, shared + 32, 32, in, IV_LEN, in + IV_LEN, len - IV_LEN,
                     out) != FK_CRYPTO_OK)
        return CTAP1_ERR_OTHER;
    *out_len = len - IV_LEN;
    return CTAP_OK;
}

bool fido_pin_verify(uint64_t proto, const uint8_t *key, size_t key_len, const uint8_t *msg,
                     size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    size_t want;
    if (proto == 1u) {
        want = 16u; /* LEFT(HMAC, 16) */
    } else if (proto == 2u) {
        want = 32u;
        key_len = FK_MIN(key_len, (size_t)32u); /* the HMAC half of the secret */
    } else {
        return false;
    }
    if (sig == NULL || sig_len != want) return false;
    uint8_t mac[FK_SHA256_LEN];
    fk_hmac_sha256(key, key_len, msg, msg_len, mac);
    const bool ok = fk_ct_equal(mac, sig, want);
    fk_wipe(mac, sizeof mac);
    return ok;
}

/* ---- Key agreement ---------------------------------------------------------------- */

/* The key agreement key: made at the first use after power-up and after
 * every PIN mismatch (ka_ready cleared). */
static uint8_t ka_ensure(const fk_applet_ctx_t *ctx)
{
    fido_pin_session_t *ps = session(ctx);
    if (ps->ka_ready) return CTAP_OK;
    uint8_t blob[160];
    size_t blen = 0;
    fk_pk_key_t key;
    uint8_t st = CTAP1_ERR_OTHER;
    if (fk_pk_ec_generate(FK_CURVE_SECP256R1, blob, sizeof blob, &blen) == FK_CRYPTO_OK &&
        fk_pk_parse(blob, blen, &key) == FK_CRYPTO_OK && key.d.len <= sizeof ps->ka_priv &&
        key.pub.len == sizeof ps->ka_pub) {
        /* The scalar right-aligned in 32 bytes (big-endian). */
        memset(ps->ka_priv, 0, sizeof ps->ka_priv);
        memcpy(ps->ka_priv + sizeof ps->ka_priv - key.d.len, key.d.p, key.d.len);
        memcpy(ps->ka_pub, key.pub.p, sizeof ps->ka_pub);
        ps->ka_ready = true;
        st = CTAP_OK;
    }
    fk_wipe(blob, sizeof blob);
    fk_wipe(&key, sizeof key);
    return st;
}

static void ka_forget(const fk_applet_ctx_t *ctx)
{
    fido_pin_session_t *ps = session(ctx);
    fk_wipe(ps->ka_priv, sizeof ps->ka_priv);
    ps->ka_ready = false;
}

/* A 32-byte bstr of a COSE key. */
static uint8_t cose_coord(const fk_cbor_item_t *cose_key, int64_t label, const uint8_t **p)
{
    fk_cbor_item_t v;
    const fk_cbor_err_t e = fk_cbor_map_find_int(cose_key, label, &v);
    if (e == FK_CBOR_ERR_MISSING) return CTAP2_ERR_MISSING_PARAMETER;
    size_t len = 0;
    if (fk_cbor_get_bytes(&v, 32, p, &len) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    return len == 32u ? CTAP_OK : CTAP1_ERR_INVALID_PARAMETER;
}

/* An integer label of a COSE key equal to want. */
static uint8_t cose_int(const fk_cbor_item_t *cose_key, int64_t label, int64_t want, bool required)
{
    fk_cbor_item_t v;
    const fk_cbor_err_t e = fk_cbor_map_find_int(cose_key, label, &v);
    if (e == FK_CBOR_ERR_MISSING) return required ? CTAP2_ERR_MISSING_PARAMETER : CTAP_OK;
    int64_t x = 0;
    if (fk_cbor_get_int(&v, &x) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    return x == want ? CTAP_OK : CTAP1_ERR_INVALID_PARAMETER;
}

uint8_t fido_pin_shared_secret(const fk_applet_ctx_t *ctx, uint64_t proto,
                               const fk_cbor_item_t *cose_key, uint8_t shared[FIDO_SHARED_MAX],
                               size_t *len)
{
    if (!proto_known(proto)) return CTAP1_ERR_INVALID_PARAMETER;
    if (cose_key == NULL || cose_key->type != FK_CBOR_MAP) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    /* kty EC2, crv P-256; alg, when given, the -25 every platform sends. */
    uint8_t st = cose_int(cose_key, 1, 2, true);
    if (st == CTAP_OK) st = cose_int(cose_key, -1, 1, true);
    if (st == CTAP_OK) st = cose_int(cose_key, 3, FIDO_COSE_ECDH_ES_HKDF_256, false);
    const uint8_t *x = NULL, *y = NULL;
    if (st == CTAP_OK) st = cose_coord(cose_key, -2, &x);
    if (st == CTAP_OK) st = cose_coord(cose_key, -3, &y);
    if (st != CTAP_OK) return st;
    st = ka_ensure(ctx);
    if (st != CTAP_OK) return st;

    fido_pin_session_t *ps = session(ctx);
    uint8_t peer[65];
    peer[0] = 0x04;
    memcpy(peer + 1, x, 32);
    memcpy(peer + 33, y, 32);
    fk_pk_key_t key = {0};
    key.type = FK_PK_EC;
    key.curve = FK_CURVE_SECP256R1;
    key.bits = 256;
    key.pub.p = ps->ka_pub;
    key.pub.len = sizeof ps->ka_pub;
    key.d.p = ps->ka_priv;
    key.d.len = sizeof ps->ka_priv;
    uint8_t z[32];
    size_t zlen = 0;
    const int rc = fk_pk_ecdh(&key, peer, sizeof peer, z, sizeof z, &zlen);
    fk_wipe(&key, sizeof key);
    if (rc != FK_CRYPTO_OK || zlen != sizeof z) {
        fk_wipe(z, sizeof z);
        /* A point off the curve is the platform's fault. */
        return rc == FK_CRYPTO_EINVAL ? CTAP1_ERR_INVALID_PARAMETER : CTAP1_ERR_OTHER;
    }
    st = CTAP_OK;
    if (proto == 1u) {
        fk_sha256(z, sizeof z, shared);
        *len = 32u;
    } else {
        static const uint8_t salt[32] = {0};
        static const char hmac_info[] = "CTAP2 HMAC key";
        static const char aes_info[] = "CTAP2 AES key";
        if (fk_hkdf_sha256(salt, sizeof salt, z, sizeof z, hmac_info, sizeof hmac_info - 1u,
                           shared, 32) != FK_CRYPTO_OK ||
            fk_hkdf_sha256(salt, sizeof salt, z, sizeof z, aes_info, sizeof aes_info - 1u,
                           shared + 32, 32) != FK_CRYPTO_OK) {
            fk_wipe(shared, FIDO_SHARED_MAX);
            st = CTAP1_ERR_OTHER;
        }
        *len = 64u;
    }
    fk_wipe(z, sizeof z);
    return st;
}

/* ---- The token ------------------------------------------------------------------- */

bool fido_pin_is_set(const fk_applet_ctx_t *ctx)
{
    fk_pin_status_t st;
    return fk_pin_status(ctx, &fido_pin_ref, &st) != FK_PIN_ENOENT;
}

/* A digest of the stored PIN record as it is now. The record is sealed
 * with a fresh nonce at every set and change, and a reset deletes it, so
 * the digest names one PIN: a token issued under it is void once the PIN
 * is changed or reset through any endpoint (each endpoint keeps its own
 * tokens, CTAP 2.1 §6.5.5.7 voids them all). False when there is none. */
static bool pin_tag(const fk_applet_ctx_t *ctx, uint8_t tag[16])
{
    uint8_t rec[FK_PIN_RECORD_MAX], digest[FK_SHA256_LEN];
    uint32_t size = 0;
    if (fk_space_size(&ctx->space, FIDO_ID_PIN, &size) != FK_STORE_OK || size == 0u ||
        size > sizeof rec || fk_space_read(&ctx->space, FIDO_ID_PIN, 0, rec, size) != FK_STORE_OK)
        return false;
    fk_sha256(rec, size, digest);
    memcpy(tag, digest, 16);
    return true;
}

static void token_drop(fido_pin_session_t *ps)
{
    fk_wipe(ps->token, sizeof ps->token);
    ps->token_ready = false;
    ps->token_proto = 0;
    ps->perms = 0;
    ps->has_rpid = false;
    fk_wipe(ps->rpid_hash, sizeof ps->rpid_hash);
    ps->user_present = false;
    ps->user_verified = false;
    ps->issued_ms = 0;
    memset(ps->pin_tag, 0, sizeof ps->pin_tag);
}

static bool token_live(const fk_applet_ctx_t *ctx)
{
    fido_pin_session_t *ps = session(ctx);
    if (ps->token_proto == 0u || !ps->token_ready) return false;
    uint8_t tag[16];
    if (fk_services_uptime_ms(ctx->svc) - ps->issued_ms > FIDO_TOKEN_LIFETIME_MS ||
        !pin_tag(ctx, tag) || memcmp(tag, ps->pin_tag, sizeof tag) != 0) {
        token_drop(ps);
        return false;
    }
    return true;
}

uint8_t fido_token_verify(const fk_applet_ctx_t *ctx, uint64_t proto, const uint8_t *param,
                          size_t param_len, const uint8_t *msg, size_t msg_len)
{
    if (!proto_known(proto)) return CTAP1_ERR_INVALID_PARAMETER;
    fido_pin_session_t *ps = session(ctx);
    if (!token_live(ctx) || ps->token_proto != proto) return CTAP2_ERR_PIN_AUTH_INVALID;
    return fido_pin_verify(proto, ps->token, sizeof ps->token, msg, msg_len, param, param_len)
               ? CTAP_OK
               : CTAP2_ERR_PIN_AUTH_INVALID;
}

uint8_t fido_token_permit(const fk_applet_ctx_t *ctx, uint8_t perm, const uint8_t *rpid_hash)
{
    fido_pin_session_t *ps = session(ctx);
    if (!token_live(ctx) || (ps->perms & perm) != perm) return CTAP2_ERR_PIN_AUTH_INVALID;
    if (rpid_hash == NULL) return CTAP_OK;
    if (ps->has_rpid) {
        return fk_ct_equal(ps->rpid_hash, rpid_hash, 32) ? CTAP_OK : CTAP2_ERR_PIN_AUTH_INVALID;
    }
    memcpy(ps->rpid_hash, rpid_hash, 32);
    ps->has_rpid = true;
    return CTAP_OK;
}

bool fido_token_user_present(const fk_applet_ctx_t *ctx)
{
    return token_live(ctx) && session(ctx)->user_present;
}

void fido_token_clear_user_present(const fk_applet_ctx_t *ctx)
{
    session(ctx)->user_present = false;
}

/* A new token under proto with perms, encrypted for the platform into w as
 * the response {2: enc(token)}. Every earlier token stops working. */
static uint8_t token_issue(const fk_applet_ctx_t *ctx, uint64_t proto, const uint8_t *shared,
                           uint8_t perms, const uint8_t *rpid_hash, fk_cbor_writer_t *w)
{
    fido_pin_session_t *ps = session(ctx);
    token_drop(ps);
    if (!pin_tag(ctx, ps->pin_tag) || fk_rng_bytes(ps->token, sizeof ps->token) != FK_CRYPTO_OK) {
        token_drop(ps);
        return CTAP1_ERR_OTHER;
    }
    uint8_t enc[IV_LEN + FIDO_TOKEN_LEN];
    size_t enc_len = 0;
    const uint8_t st = fido_pin_encrypt(proto, shared, ps->token, sizeof ps->token, enc, &enc_len);
    if (st != CTAP_OK) {
        token_drop(ps);
        return st;
    }
    ps->token_ready = true;
    ps->token_proto = (uint8_t)proto;
    ps->perms = perms;
    if (rpid_hash != NULL) {
        memcpy(ps->rpid_hash, rpid_hash, 32);
        ps->has_rpid = true;
    }
    ps->user_verified = true;
    ps->user_present = false; /* a PIN proves no presence */
    ps->issued_ms = fk_services_uptime_ms(ctx->svc);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_uint(w, RESP_TOKEN);
    fk_cbor_put_bytes(w, enc, enc_len);
    return CTAP_OK;
}

/* ---- Request parsing --------------------------------------------------------------- */

typedef struct pin_req {
    uint64_t proto;
    bool has_proto;
    uint64_t sub;
    fk_cbor_item_t key_agreement;
    bool has_ka;
    const uint8_t *pin_auth, *new_pin_enc, *pin_hash_enc;
    size_t pin_auth_len, new_pin_enc_len, pin_hash_enc_len;
    bool has_pin_auth, has_new_pin, has_pin_hash;
    uint64_t perms;
    bool has_perms;
    const char *rpid;
    size_t rpid_len;
    bool has_rpid;
} pin_req_t;

static uint8_t get_bytes(const fk_cbor_item_t *v, const uint8_t **p, size_t *len, bool *has)
{
    if (fk_cbor_get_bytes(v, 256, p, len) != FK_CBOR_OK) {
        return v->type == FK_CBOR_BYTES ? CTAP1_ERR_INVALID_LENGTH : CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    }
    *has = true;
    return CTAP_OK;
}

static uint8_t parse_req(const fk_cbor_item_t *req, pin_req_t *r)
{
    memset(r, 0, sizeof *r);
    if (req == NULL) return CTAP2_ERR_MISSING_PARAMETER;
    fk_cbor_iter_t it;
    if (fk_cbor_map_iter(req, &it) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    fk_cbor_item_t k, v;
    bool has_sub = false;
    while (fk_cbor_map_next(&it, &k, &v) == FK_CBOR_OK) {
        if (k.type != FK_CBOR_UINT) continue; /* unknown keys are ignored */
        uint8_t st = CTAP_OK;
        switch (k.v) {
        case REQ_PROTOCOL:
            if (fk_cbor_get_uint(&v, &r->proto) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            r->has_proto = true;
            break;
        case REQ_SUBCMD:
            if (fk_cbor_get_uint(&v, &r->sub) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            has_sub = true;
            break;
        case REQ_KEY_AGREEMENT:
            if (v.type != FK_CBOR_MAP) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            r->key_agreement = v;
            r->has_ka = true;
            break;
        case REQ_PIN_AUTH:
            st = get_bytes(&v, &r->pin_auth, &r->pin_auth_len, &r->has_pin_auth);
            break;
        case REQ_NEW_PIN_ENC:
            st = get_bytes(&v, &r->new_pin_enc, &r->new_pin_enc_len, &r->has_new_pin);
            break;
        case REQ_PIN_HASH_ENC:
            st = get_bytes(&v, &r->pin_hash_enc, &r->pin_hash_enc_len, &r->has_pin_hash);
            break;
        case REQ_PERMISSIONS:
            if (fk_cbor_get_uint(&v, &r->perms) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            r->has_perms = true;
            break;
        case REQ_RPID:
            if (fk_cbor_get_text(&v, FIDO_RPID_MAX, &r->rpid, &r->rpid_len) != FK_CBOR_OK) {
                return v.type == FK_CBOR_TEXT ? CTAP1_ERR_INVALID_LENGTH
                                              : CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            }
            r->has_rpid = true;
            break;
        default:
            break;
        }
        if (st != CTAP_OK) return st;
    }
    return has_sub ? CTAP_OK : CTAP2_ERR_MISSING_PARAMETER;
}

/* ---- PIN checks and policy ----------------------------------------------------------- */

/* Code points of a UTF-8 string: every byte that does not continue one. */
static unsigned code_points(const uint8_t *p, size_t len)
{
    unsigned n = 0;
    for (size_t i = 0; i < len; i++) n += (p[i] & 0xC0u) != 0x80u;
    return n;
}

/* Decrypt newPinEnc and check the new PIN against the policy: *hash gets
 * LEFT(SHA-256(PIN), 16), *cp its length in code points. */
static uint8_t new_pin_open(const pin_req_t *r, const uint8_t *shared, const fido_config_t *cfg,
                            uint8_t hash[FIDO_PIN_HASH_LEN], unsigned *cp)
{
    const size_t want = PIN_PADDED_LEN + (r->proto == 2u ? IV_LEN : 0u);
    if (r->new_pin_enc_len != want) return CTAP1_ERR_INVALID_PARAMETER;
    uint8_t padded[PIN_PADDED_LEN];
    size_t len = 0;
    uint8_t st = fido_pin_decrypt(r->proto, shared, r->new_pin_enc, r->new_pin_enc_len, padded, &len);
    if (st == CTAP_OK) {
        const uint8_t *nul = memchr(padded, 0, sizeof padded);
        const size_t plen = nul == NULL ? sizeof padded : (size_t)(nul - padded);
        *cp = code_points(padded, plen);
        if (nul == NULL || plen < PIN_MIN_BYTES || plen > PIN_MAX_BYTES || *cp < cfg->min_pin_len) {
            st = CTAP2_ERR_PIN_POLICY_VIOLATION;
        } else {
            uint8_t full[FK_SHA256_LEN];
            fk_sha256(padded, plen, full);
            memcpy(hash, full, FIDO_PIN_HASH_LEN);
            fk_wipe(full, sizeof full);
        }
    }
    fk_wipe(padded, sizeof padded);
    return st;
}

/* What a get*Token / changePIN may not start with: no PIN, a blocked PIN,
 * PIN use blocked until power-up. Spends nothing. */
static uint8_t pin_usable(const fk_applet_ctx_t *ctx)
{
    fk_pin_status_t st;
    const int rc = fk_pin_status(ctx, &fido_pin_ref, &st);
    if (rc == FK_PIN_ENOENT) return CTAP2_ERR_PIN_NOT_SET;
    if (rc != FK_PIN_OK) return CTAP1_ERR_OTHER; /* damaged: fails closed */
    if (st.tries == 0u) return CTAP2_ERR_PIN_BLOCKED;
    if (session(ctx)->fails >= FIDO_PIN_FAILS_PER_BOOT) return CTAP2_ERR_PIN_AUTH_BLOCKED;
    return CTAP_OK;
}

/* Decrypt pinHashEnc and check it against the PIN (one try spent on flash
 * first). A mismatch counts towards the power-up limit and makes a new key
 * agreement key (CTAP 2.1 §6.5.5.5). */
static uint8_t pin_hash_check(const fk_applet_ctx_t *ctx, const pin_req_t *r, const uint8_t *shared)
{
    const size_t want = FIDO_PIN_HASH_LEN + (r->proto == 2u ? IV_LEN : 0u);
    if (r->pin_hash_enc_len != want) return CTAP1_ERR_INVALID_PARAMETER;
    uint8_t hash[FIDO_PIN_HASH_LEN];
    size_t len = 0;
    uint8_t st = fido_pin_decrypt(r->proto, shared, r->pin_hash_enc, r->pin_hash_enc_len, hash, &len);
    if (st != CTAP_OK) return st;
    fido_pin_session_t *ps = session(ctx);
    fk_pin_status_t pst = {0};
    const int rc = fk_pin_check(ctx, &fido_pin_ref, &ps->pin, hash, len, 0, NULL, NULL, &pst);
    fk_wipe(hash, sizeof hash);
    switch (rc) {
    case FK_PIN_OK:
        ps->fails = 0;
        return CTAP_OK;
    case FK_PIN_EWRONG:
        ka_forget(ctx);
        if (ps->fails < 0xFFu) ps->fails++;
        if (pst.tries == 0u) return CTAP2_ERR_PIN_BLOCKED;
        if (ps->fails >= FIDO_PIN_FAILS_PER_BOOT) return CTAP2_ERR_PIN_AUTH_BLOCKED;
        return CTAP2_ERR_PIN_INVALID;
    case FK_PIN_EBLOCKED:
        ka_forget(ctx);
        return CTAP2_ERR_PIN_BLOCKED;
    case FK_PIN_ENOENT:
        return CTAP2_ERR_PIN_NOT_SET;
    default:
        return CTAP1_ERR_OTHER;
    }
}

/* Store a new PIN with its length in the config record, in one batch. A
 * change also ends forcePINChange. */
static uint8_t pin_store(const fk_applet_ctx_t *ctx, const uint8_t hash[FIDO_PIN_HASH_LEN],
                         unsigned cp, fido_config_t *cfg)
{
    cfg->pin_cp_len = (uint8_t)cp;
    cfg->flags &= (uint8_t)~FIDO_CFG_FORCE_CHANGE;
    if (fk_space_batch_begin(&ctx->space) != FK_STORE_OK) return CTAP1_ERR_OTHER;
    uint8_t st = fk_pin_set(ctx, &fido_pin_ref, hash, FIDO_PIN_HASH_LEN, FIDO_PIN_RETRIES, 0, NULL) ==
                         FK_PIN_OK
                     ? CTAP_OK
                     : CTAP1_ERR_OTHER;
    if (st == CTAP_OK) st = fido_config_save(ctx, cfg);
    if (st == CTAP_OK && fk_space_batch_commit(&ctx->space) != FK_STORE_OK) st = CTAP1_ERR_OTHER;
    if (st != CTAP_OK) fk_space_batch_abort(&ctx->space);
    return st;
}

/* ---- Subcommands ---------------------------------------------------------------------- */

static uint8_t sub_get_retries(const fk_applet_ctx_t *ctx, fk_cbor_writer_t *w)
{
    fk_pin_status_t st = {0};
    const int rc = fk_pin_status(ctx, &fido_pin_ref, &st);
    unsigned tries;
    if (rc == FK_PIN_ENOENT) tries = FIDO_PIN_RETRIES;
    else if (rc == FK_PIN_OK) tries = st.tries;
    else tries = 0; /* damaged: as good as blocked */
    fk_cbor_put_map(w, 2);
    fk_cbor_put_uint(w, RESP_PIN_RETRIES);
    fk_cbor_put_uint(w, tries);
    fk_cbor_put_uint(w, RESP_POWER_CYCLE);
    fk_cbor_put_bool(w, session(ctx)->fails >= FIDO_PIN_FAILS_PER_BOOT);
    return CTAP_OK;
}

static uint8_t sub_get_key_agreement(const fk_applet_ctx_t *ctx, fk_cbor_writer_t *w)
{
    const uint8_t st = ka_ensure(ctx);
    if (st != CTAP_OK) return st;
    const fido_pin_session_t *ps = session(ctx);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_uint(w, RESP_KEY_AGREEMENT);
    fk_cbor_put_map(w, 5);
    fk_cbor_put_uint(w, 1);
    fk_cbor_put_uint(w, 2); /* kty EC2 */
    fk_cbor_put_uint(w, 3);
    fk_cbor_put_int(w, FIDO_COSE_ECDH_ES_HKDF_256);
    fk_cbor_put_int(w, -1);
    fk_cbor_put_uint(w, 1); /* crv P-256 */
    fk_cbor_put_int(w, -2);
    fk_cbor_put_bytes(w, ps->ka_pub + 1, 32);
    fk_cbor_put_int(w, -3);
    fk_cbor_put_bytes(w, ps->ka_pub + 33, 32);
    return CTAP_OK;
}

static uint8_t sub_set_pin(const fk_applet_ctx_t *ctx, const pin_req_t *r)
{
    if (!r->has_ka || !r->has_pin_auth || !r->has_new_pin) return CTAP2_ERR_MISSING_PARAMETER;
    fido_config_t cfg;
    uint8_t st = fido_config_load(ctx, &cfg);
    if (st != CTAP_OK) return st;
    if (fido_pin_is_set(ctx)) return CTAP2_ERR_NOT_ALLOWED;
    uint8_t shared[FIDO_SHARED_MAX];
    size_t slen = 0;
    st = fido_pin_shared_secret(ctx, r->proto, &r->key_agreement, shared, &slen);
    if (st == CTAP_OK && !fido_pin_verify(r->proto, shared, slen, r->new_pin_enc,
                                          r->new_pin_enc_len, r->pin_auth, r->pin_auth_len))
        st = CTAP2_ERR_PIN_AUTH_INVALID;
    uint8_t hash[FIDO_PIN_HASH_LEN];
    unsigned cp = 0;
    if (st == CTAP_OK) st = new_pin_open(r, shared, &cfg, hash, &cp);
    fk_wipe(shared, sizeof shared);
    if (st == CTAP_OK) st = pin_store(ctx, hash, cp, &cfg);
    fk_wipe(hash, sizeof hash);
    return st;
}

/* What changePIN and the token requests do first, in this order: the config
 * (it may be damaged: fail closed), a PIN that can be tried at all, then the
 * shared secret with the platform's key. Nothing is spent yet. On any
 * status but CTAP_OK there is no secret to wipe. */
static uint8_t pin_prologue(const fk_applet_ctx_t *ctx, const pin_req_t *r, fido_config_t *cfg,
                            uint8_t shared[FIDO_SHARED_MAX], size_t *slen)
{
    uint8_t st = fido_config_load(ctx, cfg);
    if (st == CTAP_OK) st = pin_usable(ctx);
    if (st == CTAP_OK)
        st = fido_pin_shared_secret(ctx, r->proto, &r->key_agreement, shared, slen);
    return st;
}

static uint8_t sub_change_pin(const fk_applet_ctx_t *ctx, const pin_req_t *r)
{
    if (!r->has_ka || !r->has_pin_auth || !r->has_new_pin || !r->has_pin_hash)
        return CTAP2_ERR_MISSING_PARAMETER;
    fido_config_t cfg;
    uint8_t shared[FIDO_SHARED_MAX];
    size_t slen = 0;
    uint8_t st = pin_prologue(ctx, r, &cfg, shared, &slen);
    if (st == CTAP_OK) {
        /* pinUvAuthParam covers newPinEnc || pinHashEnc. */
        uint8_t msg[PIN_PADDED_LEN + IV_LEN + FIDO_PIN_HASH_LEN + IV_LEN];
        if (r->new_pin_enc_len + r->pin_hash_enc_len > sizeof msg) {
            st = CTAP1_ERR_INVALID_PARAMETER;
        } else {
            memcpy(msg, r->new_pin_enc, r->new_pin_enc_len);
            memcpy(msg + r->new_pin_enc_len, r->pin_hash_enc, r->pin_hash_enc_len);
            if (!fido_pin_verify(r->proto, shared, slen, msg,
                                 r->new_pin_enc_len + r->pin_hash_enc_len, r->pin_auth,
                                 r->pin_auth_len))
                st = CTAP2_ERR_PIN_AUTH_INVALID;
        }
    }
    /* The new PIN is checked before the current one: a PIN the policy
     * refuses spends no try. */
    uint8_t hash[FIDO_PIN_HASH_LEN];
    unsigned cp = 0;
    if (st == CTAP_OK) st = new_pin_open(r, shared, &cfg, hash, &cp);
    if (st == CTAP_OK) st = pin_hash_check(ctx, r, shared);
    fk_wipe(shared, sizeof shared);
    if (st == CTAP_OK) {
        st = pin_store(ctx, hash, cp, &cfg);
        /* A new PIN ends every token issued under the old one. */
        token_drop(session(ctx));
    }
    fk_wipe(hash, sizeof hash);
    return st;
}

static uint8_t sub_get_token(const fk_applet_ctx_t *ctx, const pin_req_t *r, fk_cbor_writer_t *w)
{
    if (!r->has_ka || !r->has_pin_hash) return CTAP2_ERR_MISSING_PARAMETER;
    uint8_t perms = FIDO_PERM_MC | FIDO_PERM_GA; /* the legacy token's implied permissions */
    uint8_t rpid_hash[32];
    bool bind = false;
    if (r->sub == SUB_GET_TOKEN) {
        if (r->has_perms || r->has_rpid) return CTAP1_ERR_INVALID_PARAMETER;
    } else {
        if (!r->has_perms) return CTAP2_ERR_MISSING_PARAMETER;
        if (r->perms == 0u) return CTAP1_ERR_INVALID_PARAMETER;
        if ((r->perms & ~(uint64_t)PERMS_KNOWN) != 0u) return CTAP2_ERR_UNAUTHORIZED_PERMISSION;
        perms = (uint8_t)r->perms;
        /* makeCredential and getAssertion tokens are for one RP. */
        if ((perms & (FIDO_PERM_MC | FIDO_PERM_GA)) != 0u && !r->has_rpid)
            return CTAP2_ERR_MISSING_PARAMETER;
        if (r->has_rpid) {
            fk_sha256(r->rpid, r->rpid_len, rpid_hash);
            bind = true;
        }
    }
    fido_config_t cfg;
    uint8_t shared[FIDO_SHARED_MAX];
    size_t slen = 0;
    uint8_t st = pin_prologue(ctx, r, &cfg, shared, &slen);
    if (st == CTAP_OK) st = pin_hash_check(ctx, r, shared);
    /* A PIN that must change gives no token (CTAP 2.1 §6.5.5.5), only after
     * it was proven, so that the answer tells nothing to a guesser. */
    if (st == CTAP_OK && (cfg.flags & FIDO_CFG_FORCE_CHANGE) != 0u) st = CTAP2_ERR_PIN_POLICY_VIOLATION;
    if (st == CTAP_OK) st = token_issue(ctx, r->proto, shared, perms, bind ? rpid_hash : NULL, w);
    fk_wipe(shared, sizeof shared);
    return st;
}

uint8_t fido_cmd_client_pin(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                            fk_cbor_writer_t *w)
{
    pin_req_t r;
    uint8_t st = parse_req(req, &r);
    if (st != CTAP_OK) return st;
    /* Without built-in UV the UV subcommands do not exist here. */
    if (r.sub != SUB_GET_RETRIES && r.sub != SUB_GET_KEY_AGREEMENT && r.sub != SUB_SET_PIN &&
        r.sub != SUB_CHANGE_PIN && r.sub != SUB_GET_TOKEN && r.sub != SUB_GET_TOKEN_PIN)
        return CTAP2_ERR_INVALID_SUBCOMMAND;
    if (r.sub != SUB_GET_RETRIES) {
        if (!r.has_proto) return CTAP2_ERR_MISSING_PARAMETER;
        if (!proto_known(r.proto)) return CTAP1_ERR_INVALID_PARAMETER;
    } else if (r.has_proto && !proto_known(r.proto)) {
        return CTAP1_ERR_INVALID_PARAMETER;
    }
    switch (r.sub) {
    case SUB_GET_RETRIES:
        return sub_get_retries(ctx, w);
    case SUB_GET_KEY_AGREEMENT:
        return sub_get_key_agreement(ctx, w);
    case SUB_SET_PIN:
        return sub_set_pin(ctx, &r);
    case SUB_CHANGE_PIN:
        return sub_change_pin(ctx, &r);
    case SUB_GET_TOKEN:
    case SUB_GET_TOKEN_PIN:
        return sub_get_token(ctx, &r, w);
    default:
        return CTAP2_ERR_INVALID_SUBCOMMAND;
    }
}
