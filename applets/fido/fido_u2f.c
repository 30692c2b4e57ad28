/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_u2f.c - U2F (FIDO U2F Raw Message Formats v1.2): VERSION, REGISTER
 * and AUTHENTICATE as APDUs of CLA 00.
 *
 * A U2F key handle is a credential id of fido_cred.c (fido_credid_seal) for
 * the application parameter as the RP id hash, ES256, not resident: the
 * same ids CTAP2 uses, so a U2F registration also works through
 * getAssertion with the appid extension and the other way round. A CTAP2
 * credential that needs user verification (credProtect 3), or an EdDSA one,
 * is not served here: U2F proves no UV and signs only with P-256.
 *
 * Status words: 6700 for a wrong length, 6985 until the user confirmed
 * presence (or when a check-only AUTHENTICATE finds its handle), 6A80 for a
 * key handle that is not ours for that application, 6A86 for an unknown
 * AUTHENTICATE control byte, 6D00 for an unknown INS. With alwaysUv on the
 * authenticator is CTAP2 only (CTAP 2.1 §7.2.4): every U2F INS answers
 * 6D00, as on an authenticator without U2F (6985 would make clients wait
 * for a touch that can never help).
 */
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "fido_cred_int.h"
#include "fido_internal.h"
#include "util.h"

#define U2F_INS_REGISTER 0x01u
#define U2F_INS_AUTHENTICATE 0x02u
#define U2F_INS_VERSION 0x03u

#define U2F_AUTH_CHECK_ONLY 0x07u
#define U2F_AUTH_ENFORCE 0x03u
#define U2F_AUTH_NO_ENFORCE 0x08u

#define U2F_PARAM_LEN 32u /* challenge and application parameters */
#define U2F_POINT_LEN 65u

/* Checks every command makes first: the config opens, alwaysUv is off. */
static fk_sw_t u2f_allowed(const fk_applet_ctx_t *ctx)
{
    fido_config_t cfg;
    if (fido_config_load(ctx, &cfg) != CTAP_OK) return FK_SW_UNKNOWN;
    return (cfg.flags & FIDO_CFG_ALWAYS_UV) != 0u ? FK_SW_INS_NOT_SUPPORTED : FK_SW_OK;
}

static fk_sw_t ctap_to_sw(uint8_t st)
{
    return st == CTAP_OK ? FK_SW_OK : FK_SW_UNKNOWN;
}

/* ---- VERSION (03) ---------------------------------------------------------------- */

static fk_sw_t u2f_version(const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    static const char v[] = "U2F_V2";
    if (cmd->nc != 0u) return FK_SW_WRONG_LENGTH;
    return fk_rbuf_put(resp, v, sizeof v - 1u) ? FK_SW_OK : FK_SW_WRONG_LENGTH;
}

/* ---- REGISTER (01) --------------------------------------------------------------- */

static fk_sw_t u2f_register(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->nc != 2u * U2F_PARAM_LEN) return FK_SW_WRONG_LENGTH;
    const uint8_t *chal = cmd->data, *app = cmd->data + U2F_PARAM_LEN;
    /* Half an attestation pair refuses before the user is asked. */
    if (fido_attest_check(ctx) != CTAP_OK) return FK_SW_UNKNOWN;
    if (fido_presence(ctx) != CTAP_OK) return FK_SW_CONDITIONS_NOT_SATISFIED;

    fido_cred_key_t key = {.alg = FIDO_ALG_ES256, .cred_protect = 1, .resident = false};
    uint8_t pub[U2F_POINT_LEN], kh[FIDO_CRED_ID_LEN];
    fk_sw_t sw = FK_SW_UNKNOWN;
    if (fido_cred_new_key(&key) == CTAP_OK && fido_cred_point(&key, pub) == CTAP_OK)
        sw = ctap_to_sw(fido_credid_seal(ctx, app, &key, kh));
    fk_wipe(&key, sizeof key);
    if (sw != FK_SW_OK) return sw;

    const uint8_t reserved = 0x05, kh_len = (uint8_t)sizeof kh;
    if (!fk_rbuf_put(resp, &reserved, 1) || !fk_rbuf_put(resp, pub, sizeof pub) ||
        !fk_rbuf_put(resp, &kh_len, 1) || !fk_rbuf_put(resp, kh, sizeof kh))
        return FK_SW_WRONG_LENGTH;
    /* The certificate straight into the response (made there the first time). */
    if (fk_rbuf_room(resp) < FIDO_ATT_CERT_MAX + FK_PK_ECDSA_DER_MAX) return FK_SW_WRONG_LENGTH;
    size_t cert_len = 0;
    if (fido_attest_cert(ctx, resp->p + resp->len, FIDO_ATT_CERT_MAX, &cert_len) != CTAP_OK)
        return FK_SW_UNKNOWN;
    resp->len += cert_len;

    /* Signed: 00 || app || chal || kh || pub. */
    fk_sha256_ctx_t h;
    uint8_t hash[FK_SHA256_LEN];
    const uint8_t zero = 0x00;
    fk_sha256_start(&h);
    fk_sha256_update(&h, &zero, 1);
    fk_sha256_update(&h, app, U2F_PARAM_LEN);
    fk_sha256_update(&h, chal, U2F_PARAM_LEN);
    fk_sha256_update(&h, kh, sizeof kh);
    fk_sha256_update(&h, pub, sizeof pub);
    fk_sha256_finish(&h, hash);
    uint8_t *sig = resp->p + resp->len;
    size_t sig_len = 0;
    if (fido_attest_sign(ctx, hash, sig, FK_PK_ECDSA_DER_MAX, &sig_len) != CTAP_OK)
        return FK_SW_UNKNOWN;
    resp->len += sig_len;
    return FK_SW_OK;
}

/* ---- AUTHENTICATE (02) ------------------------------------------------------------ */

/* The key handle for app, if it is one of ours that U2F may use. */
static bool open_handle(const fk_applet_ctx_t *ctx, const uint8_t *app, const uint8_t *kh,
                        size_t kh_len, fido_cred_key_t *key)
{
    if (fido_credid_open(ctx, app, kh, kh_len, key) != CTAP_OK) return false;
    if (key->alg != FIDO_ALG_ES256 || key->cred_protect >= 3u) {
        fk_wipe(key, sizeof *key);
        return false;
    }
    return true;
}

static fk_sw_t u2f_authenticate(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->nc < 2u * U2F_PARAM_LEN + 1u) return FK_SW_WRONG_LENGTH;
    const uint8_t *chal = cmd->data, *app = cmd->data + U2F_PARAM_LEN;
    const size_t kh_len = cmd->data[2u * U2F_PARAM_LEN];
    const uint8_t *kh = cmd->data + 2u * U2F_PARAM_LEN + 1u;
    if (cmd->nc != 2u * U2F_PARAM_LEN + 1u + kh_len) return FK_SW_WRONG_LENGTH;
    if (cmd->p1 != U2F_AUTH_CHECK_ONLY && cmd->p1 != U2F_AUTH_ENFORCE &&
        cmd->p1 != U2F_AUTH_NO_ENFORCE)
        return FK_SW_INCORRECT_P1P2;

    fido_cred_key_t key;
    if (!open_handle(ctx, app, kh, kh_len, &key)) return FK_SW_WRONG_DATA;
    if (cmd->p1 == U2F_AUTH_CHECK_ONLY) {
        fk_wipe(&key, sizeof key);
        return FK_SW_CONDITIONS_NOT_SATISFIED; /* ours: a real one would need a touch */
    }
    uint8_t flags = 0;
    if (cmd->p1 == U2F_AUTH_ENFORCE) {
        if (fido_presence(ctx) != CTAP_OK) {
            fk_wipe(&key, sizeof key);
            return FK_SW_CONDITIONS_NOT_SATISFIED;
        }
        flags = FIDO_AD_UP;
    }
    /* Signed: app || flags || counter || chal, with the counter on flash
     * first (fido_counter_next). */
    uint32_t counter = 0;
    uint8_t msg[U2F_PARAM_LEN + 1u + 4u + U2F_PARAM_LEN];
    uint8_t sig[FIDO_SIG_MAX];
    size_t sig_len = 0;
    fk_sw_t sw = FK_SW_UNKNOWN;
    if (fido_counter_next(ctx, &counter) == CTAP_OK) {
        memcpy(msg, app, U2F_PARAM_LEN);
        msg[U2F_PARAM_LEN] = flags;
        fk_put_be32(msg + U2F_PARAM_LEN + 1u, counter);
        memcpy(msg + U2F_PARAM_LEN + 5u, chal, U2F_PARAM_LEN);
        if (fido_cred_sign(&key, msg, sizeof msg, sig, &sig_len) == CTAP_OK) {
            sw = fk_rbuf_put(resp, msg + U2F_PARAM_LEN, 5u) && fk_rbuf_put(resp, sig, sig_len)
                     ? FK_SW_OK
                     : FK_SW_WRONG_LENGTH;
        }
    }
    fk_wipe(&key, sizeof key);
    return sw;
}

fk_sw_t fido_u2f(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->ins != U2F_INS_REGISTER && cmd->ins != U2F_INS_AUTHENTICATE &&
        cmd->ins != U2F_INS_VERSION)
        return FK_SW_INS_NOT_SUPPORTED;
    const fk_sw_t sw = u2f_allowed(ctx);
    if (sw != FK_SW_OK) return sw;
    switch (cmd->ins) {
    case U2F_INS_REGISTER:
        return u2f_register(ctx, cmd, resp);
    case U2F_INS_AUTHENTICATE:
        return u2f_authenticate(ctx, cmd, resp);
    default:
        return u2f_version(cmd, resp);
    }
}
