/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_cm.c - authenticatorCredentialManagement (0A, and its preview 41;
 * CTAP 2.1 §6.8): metadata, enumeration of RPs and of one RP's
 * credentials, delete, and update of the user information.
 *
 * Every subcommand but the two "next" ones carries pinUvAuthParam =
 * authenticate(token, subCommand || subCommandParams) with the bytes of
 * subCommandParams as the client sent them (a client encodes them
 * canonically, so they are what it authenticated), and needs the token's cm
 * permission. A token bound to an RP may only list or change that RP's
 * credentials; the metadata and the list of RPs need an unbound one. The
 * enumeration state lives in fido_cred_session_t and ends with any other
 * command (fido.c).
 */
#include <string.h>

#include "crypto/crypto.h"
#include "fido_cred_int.h"
#include "util.h"

enum {
    CM_GET_METADATA = 0x01,
    CM_RPS_BEGIN = 0x02,
    CM_RPS_NEXT = 0x03,
    CM_CREDS_BEGIN = 0x04,
    CM_CREDS_NEXT = 0x05,
    CM_DELETE = 0x06,
    CM_UPDATE_USER = 0x07,
};

#define CM_KIND_RPS 1u
#define CM_KIND_CREDS 2u

static fido_rk_t s_rk; /* one command at a time */

/* A token bound to an RP reaches only that RP's credentials; an unbound
 * one stays unbound (fido_token_permit would bind it). */
static uint8_t cm_rp_allowed(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32])
{
    const fido_pin_session_t *ps = &fido_state(ctx)->ps;
    if (ps->has_rpid && memcmp(ps->rpid_hash, rpid_hash, 32) != 0) return CTAP2_ERR_PIN_AUTH_INVALID;
    return CTAP_OK;
}

/* ---- Answers -------------------------------------------------------------------- */

static uint8_t cm_put_rp(const fk_applet_ctx_t *ctx, uint16_t id, unsigned total,
                         fk_cbor_writer_t *w)
{
    if (fido_rk_load(ctx, id, &s_rk) != CTAP_OK) return CTAP1_ERR_OTHER;
    fk_cbor_put_map(w, total ? 3 : 2);
    fk_cbor_put_uint(w, 3);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_cstr(w, "id");
    fk_cbor_put_text(w, s_rk.rpid, s_rk.rpid_len);
    fk_cbor_put_uint(w, 4);
    fk_cbor_put_bytes(w, s_rk.rpid_hash, 32);
    if (total) {
        fk_cbor_put_uint(w, 5);
        fk_cbor_put_uint(w, total);
    }
    fk_wipe(&s_rk, sizeof s_rk);
    return CTAP_OK;
}

static uint8_t cm_put_cred(const fk_applet_ctx_t *ctx, uint16_t id, unsigned total,
                           fk_cbor_writer_t *w)
{
    if (fido_rk_load(ctx, id, &s_rk) != CTAP_OK) return CTAP1_ERR_OTHER;
    fido_cred_key_t key;
    uint8_t st = fido_credid_open(ctx, s_rk.rpid_hash, s_rk.cred_id, FIDO_CRED_ID_LEN, &key);
    if (st != CTAP_OK) st = CTAP1_ERR_OTHER;
    const bool lbk = (s_rk.flags & FIDO_RK_LBK) != 0u;
    uint8_t k[32];
    if (st == CTAP_OK && lbk) st = fido_large_blob_key(ctx, s_rk.cred_id, k);
    if (st == CTAP_OK) {
        fk_cbor_put_map(w, 4u + (total ? 1u : 0u) + (lbk ? 1u : 0u));
        fk_cbor_put_uint(w, 6);
        fk_cbor_put_map(w, 1u + (s_rk.name_len ? 1u : 0u) + (s_rk.dn_len ? 1u : 0u));
        fk_cbor_put_cstr(w, "id");
        fk_cbor_put_bytes(w, s_rk.uid, s_rk.uid_len);
        if (s_rk.name_len) {
            fk_cbor_put_cstr(w, "name");
            fk_cbor_put_text(w, s_rk.name, s_rk.name_len);
        }
        if (s_rk.dn_len) {
            fk_cbor_put_cstr(w, "displayName");
            fk_cbor_put_text(w, s_rk.dn, s_rk.dn_len);
        }
        fk_cbor_put_uint(w, 7);
        fk_cbor_put_map(w, 2);
        fk_cbor_put_cstr(w, "id");
        fk_cbor_put_bytes(w, s_rk.cred_id, FIDO_CRED_ID_LEN);
        fk_cbor_put_cstr(w, "type");
        fk_cbor_put_cstr(w, "public-key");
        fk_cbor_put_uint(w, 8);
        st = fido_cose_key(&key, w);
    }
    if (st == CTAP_OK) {
        if (total) {
            fk_cbor_put_uint(w, 9);
            fk_cbor_put_uint(w, total);
        }
        fk_cbor_put_uint(w, 0x0A);
        fk_cbor_put_uint(w, s_rk.cred_protect);
        if (lbk) {
            fk_cbor_put_uint(w, 0x0B);
            fk_cbor_put_bytes(w, k, sizeof k);
        }
    }
    fk_wipe(k, sizeof k);
    fk_wipe(&key, sizeof key);
    fk_wipe(&s_rk, sizeof s_rk);
    return st;
}

/* ---- Subcommands ---------------------------------------------------------------- */

static uint8_t cm_metadata(const fk_applet_ctx_t *ctx, fk_cbor_writer_t *w)
{
    unsigned used = 0, free_slots = 0;
    const uint8_t st = fido_rk_count(ctx, &used, &free_slots);
    if (st != CTAP_OK) return st;
    fk_cbor_put_map(w, 2);
    fk_cbor_put_uint(w, 1);
    fk_cbor_put_uint(w, used);
    fk_cbor_put_uint(w, 2);
    fk_cbor_put_uint(w, free_slots);
    return CTAP_OK;
}

/* Record ids of the resident credentials into cs->cm_ids: one per RP
 * (rpid_hash NULL), or those of one RP. Distinct RPs are told apart by the
 * first bytes of their id hash, and a match there by the whole hash. */
#define CM_PREFIX 8u
static uint8_t cm_collect(const fk_applet_ctx_t *ctx, const uint8_t *rpid_hash,
                          fido_cred_session_t *cs, unsigned *n)
{
    static uint8_t prefixes[FIDO_RK_MAX][CM_PREFIX];
    static fido_rk_t other;
    uint32_t from = FIDO_ID_RK_FIRST;
    uint16_t id;
    unsigned count = 0;
    int r;
    while ((r = fido_rk_iter(ctx, &from, &id)) == 1 && count < FIDO_RK_MAX) {
        if (fido_rk_load(ctx, id, &s_rk) != CTAP_OK) continue;
        bool take;
        if (rpid_hash != NULL) {
            take = memcmp(s_rk.rpid_hash, rpid_hash, 32) == 0;
        } else {
            take = true;
            for (unsigned i = 0; i < count && take; i++) {
                if (memcmp(prefixes[i], s_rk.rpid_hash, CM_PREFIX) != 0) continue;
                take = fido_rk_load(ctx, cs->cm_ids[i], &other) != CTAP_OK ||
                       memcmp(other.rpid_hash, s_rk.rpid_hash, 32) != 0;
            }
            if (take) memcpy(prefixes[count], s_rk.rpid_hash, CM_PREFIX);
        }
        if (take) cs->cm_ids[count++] = id;
    }
    fk_wipe(&s_rk, sizeof s_rk);
    fk_wipe(&other, sizeof other);
    if (r < 0) return CTAP1_ERR_OTHER;
    *n = count;
    return CTAP_OK;
}

static uint8_t cm_begin(const fk_applet_ctx_t *ctx, uint8_t kind, const uint8_t *rpid_hash,
                        fk_cbor_writer_t *w)
{
    fido_cred_session_t *cs = &fido_state(ctx)->cs;
    unsigned n = 0;
    uint8_t st = cm_collect(ctx, rpid_hash, cs, &n);
    if (st != CTAP_OK) return st;
    if (n == 0u) return CTAP2_ERR_NO_CREDENTIALS;
    st = kind == CM_KIND_RPS ? cm_put_rp(ctx, cs->cm_ids[0], n, w)
                             : cm_put_cred(ctx, cs->cm_ids[0], n, w);
    if (st != CTAP_OK) return st;
    cs->cm_kind = kind;
    cs->cm_next = 1;
    cs->cm_left = (uint8_t)(n - 1u);
    return CTAP_OK;
}

static uint8_t cm_next(const fk_applet_ctx_t *ctx, uint8_t kind, fk_cbor_writer_t *w)
{
    fido_cred_session_t *cs = &fido_state(ctx)->cs;
    if (cs->cm_kind != kind || cs->cm_left == 0u) {
        cs->cm_kind = 0;
        return CTAP2_ERR_NOT_ALLOWED;
    }
    const uint16_t id = cs->cm_ids[cs->cm_next];
    cs->cm_next++;
    cs->cm_left--;
    return kind == CM_KIND_RPS ? cm_put_rp(ctx, id, 0, w) : cm_put_cred(ctx, id, 0, w);
}

/* subCommandParams.credentialID: the resident credential it names. */
static uint8_t cm_find(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *params)
{
    fk_cbor_item_t cid, id, t;
    uint8_t st;
    if ((st = fido_field(params, 2, FK_CBOR_MAP, &cid)) != CTAP_OK) return st;
    if ((st = fido_tfield(&cid, "id", FK_CBOR_BYTES, &id)) != CTAP_OK) return st;
    if ((st = fido_tfield(&cid, "type", FK_CBOR_TEXT, &t)) != CTAP_OK) return st;
    return fido_rk_find(ctx, id.data, (size_t)id.v, &s_rk);
}

static uint8_t cm_delete(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *params)
{
    uint8_t st = cm_find(ctx, params);
    if (st == CTAP_OK) st = cm_rp_allowed(ctx, s_rk.rpid_hash);
    if (st == CTAP_OK && fk_space_delete(&ctx->space, s_rk.rec_id) != FK_STORE_OK)
        st = CTAP1_ERR_OTHER;
    fk_wipe(&s_rk, sizeof s_rk);
    return st;
}

static uint8_t cm_update(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *params)
{
    fk_cbor_item_t user, uid, v;
    uint8_t st;
    if ((st = fido_field(params, 3, FK_CBOR_MAP, &user)) != CTAP_OK) return st;
    if ((st = fido_tfield(&user, "id", FK_CBOR_BYTES, &uid)) != CTAP_OK) return st;
    const char *name = NULL, *dn = NULL;
    size_t name_len = 0, dn_len = 0;
    if ((st = fido_tfield(&user, "name", FK_CBOR_TEXT, &v)) == CTAP_OK) {
        name = (const char *)v.data;
        name_len = (size_t)v.v;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = fido_tfield(&user, "displayName", FK_CBOR_TEXT, &v)) == CTAP_OK) {
        dn = (const char *)v.data;
        dn_len = (size_t)v.v;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    st = cm_find(ctx, params);
    if (st == CTAP_OK) st = cm_rp_allowed(ctx, s_rk.rpid_hash);
    if (st == CTAP_OK && (uid.v != s_rk.uid_len || memcmp(uid.data, s_rk.uid, s_rk.uid_len) != 0))
        st = CTAP1_ERR_INVALID_PARAMETER;
    if (st == CTAP_OK) {
        /* Absent fields are removed (CTAP 2.1 §6.8.7). */
        s_rk.name_len = (uint8_t)(name ? fido_utf8_cut(name, name_len, FIDO_USER_NAME_MAX) : 0u);
        if (s_rk.name_len) memcpy(s_rk.name, name, s_rk.name_len);
        s_rk.dn_len = (uint8_t)(dn ? fido_utf8_cut(dn, dn_len, FIDO_USER_NAME_MAX) : 0u);
        if (s_rk.dn_len) memcpy(s_rk.dn, dn, s_rk.dn_len);
        st = fido_rk_save(ctx, &s_rk);
    }
    fk_wipe(&s_rk, sizeof s_rk);
    return st;
}

/* ---- Entry ---------------------------------------------------------------------- */

/* pinUvAuthParam over subCommand || subCommandParams and the cm permission
 * (RP binding is checked by each subcommand). */
static uint8_t cm_auth(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, uint8_t sub,
                       const fk_cbor_item_t *params, bool has_params)
{
    static uint8_t msg[1 + 512]; /* subCommandParams are a few hundred bytes at most */
    fk_cbor_item_t pa, pr;
    uint8_t st = fido_field(req, 4, FK_CBOR_BYTES, &pa);
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP2_ERR_PUAT_REQUIRED;
    if (st != CTAP_OK) return st;
    if ((st = fido_field(req, 3, FK_CBOR_UINT, &pr)) != CTAP_OK) return st;
    if (pr.v != 1u && pr.v != 2u) return CTAP1_ERR_INVALID_PARAMETER;
    size_t len = 1;
    msg[0] = sub;
    if (has_params) {
        const size_t n = (size_t)(params->end - params->head);
        if (n > sizeof msg - 1u) return CTAP2_ERR_REQUEST_TOO_LARGE;
        memcpy(msg + 1, params->head, n);
        len += n;
    }
    st = fido_token_verify(ctx, pr.v, pa.data, (size_t)pa.v, msg, len);
    fk_wipe(msg, len);
    if (st != CTAP_OK) return st;
    return fido_token_permit(ctx, FIDO_PERM_CM, NULL);
}

uint8_t fido_cmd_cred_mgmt(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                           fk_cbor_writer_t *w)
{
    fido_cred_session_t *cs = &fido_state(ctx)->cs;
    if (req == NULL) return CTAP2_ERR_MISSING_PARAMETER;
    fk_cbor_item_t sub_i, params;
    uint8_t st = fido_field(req, 1, FK_CBOR_UINT, &sub_i);
    if (st != CTAP_OK) return st;
    st = fido_field(req, 2, FK_CBOR_MAP, &params);
    const bool has_params = st == CTAP_OK;
    if (st != CTAP_OK && st != CTAP2_ERR_MISSING_PARAMETER) return st;
    const uint64_t sub = sub_i.v;
    if (sub == CM_RPS_NEXT) return cm_next(ctx, CM_KIND_RPS, w);
    if (sub == CM_CREDS_NEXT) return cm_next(ctx, CM_KIND_CREDS, w);
    cs->cm_kind = 0;
    if (sub < CM_GET_METADATA || sub > CM_UPDATE_USER) return CTAP2_ERR_INVALID_SUBCOMMAND;
    /* Parameters the subcommand needs, before the token is looked at. */
    fk_cbor_item_t v;
    if (sub == CM_CREDS_BEGIN || sub == CM_DELETE || sub == CM_UPDATE_USER) {
        if (!has_params) return CTAP2_ERR_MISSING_PARAMETER;
        if (sub == CM_CREDS_BEGIN) {
            if ((st = fido_field(&params, 1, FK_CBOR_BYTES, &v)) != CTAP_OK) return st;
            if (v.v != 32u) return CTAP1_ERR_INVALID_PARAMETER;
        } else {
            if ((st = fido_field(&params, 2, FK_CBOR_MAP, &v)) != CTAP_OK) return st;
            if (sub == CM_UPDATE_USER &&
                (st = fido_field(&params, 3, FK_CBOR_MAP, &v)) != CTAP_OK)
                return st;
        }
    }
    if ((st = cm_auth(ctx, req, (uint8_t)sub, &params, has_params)) != CTAP_OK) return st;
    switch (sub) {
    case CM_GET_METADATA:
    case CM_RPS_BEGIN:
        /* All RPs: only with a token bound to none. */
        if (fido_state(ctx)->ps.has_rpid) return CTAP2_ERR_PIN_AUTH_INVALID;
        return sub == CM_GET_METADATA ? cm_metadata(ctx, w) : cm_begin(ctx, CM_KIND_RPS, NULL, w);
    case CM_CREDS_BEGIN:
        (void)fido_field(&params, 1, FK_CBOR_BYTES, &v);
        if ((st = cm_rp_allowed(ctx, v.data)) != CTAP_OK) return st;
        return cm_begin(ctx, CM_KIND_CREDS, v.data, w);
    case CM_DELETE:
        return cm_delete(ctx, &params);
    default:
        return cm_update(ctx, &params);
    }
}
