/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_assert.c - makeCredential (01), getAssertion (02), getNextAssertion
 * (08) and the extensions credProtect, hmac-secret, credBlob, largeBlobKey
 * and minPinLength (CTAP 2.1 §6.1-6.3, §12; docs/fido.md).
 *
 * Every request is checked whole (types, required keys, lengths, option and
 * extension values) before the first effect: a presence prompt, a PIN token
 * use, a counter step or a store write.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "fido_cred_int.h"
#include "services/services.h"
#include "util.h"

#define AD_HEAD_LEN 37u  /* rpIdHash | flags | signCount */
#define AD_MAX 512u      /* authenticator data plus clientDataHash */
#define CDH_LEN 32u
#define GNA_WINDOW_MS 30000u

/* Bits of fido_ga_common_t.ext. */
#define EXT_CRED_BLOB 0x01u
#define EXT_LARGE_BLOB_KEY 0x02u

static const char k_public_key[] = "public-key";

/* Scratch of one command at a time (commands never nest), shared by the
 * handlers below to keep the applet's RAM small: the authenticator data
 * being signed and one resident credential. Wiped after each use. */
static uint8_t s_ad[AD_MAX];
static fido_rk_t s_rk;

/* ---- Common request pieces ---------------------------------------------------- */

typedef struct opts {
    int8_t rk, up, uv; /* -1: absent */
} opts_t;

/* The options map: rk, up and uv must be booleans; other keys are ignored. */
static uint8_t parse_options(const fk_cbor_item_t *req, int64_t key, opts_t *o)
{
    o->rk = o->up = o->uv = -1;
    fk_cbor_item_t m, k, v;
    uint8_t st = fido_field(req, key, FK_CBOR_MAP, &m);
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP_OK;
    if (st != CTAP_OK) return st;
    fk_cbor_iter_t it;
    if (fk_cbor_map_iter(&m, &it) != FK_CBOR_OK) return CTAP2_ERR_INVALID_CBOR;
    while (fk_cbor_map_next(&it, &k, &v) == FK_CBOR_OK) {
        int8_t *slot = fk_cbor_is_text(&k, "rk")   ? &o->rk
                       : fk_cbor_is_text(&k, "up") ? &o->up
                       : fk_cbor_is_text(&k, "uv") ? &o->uv
                                                   : NULL;
        if (slot == NULL) continue;
        bool b;
        if (fk_cbor_get_bool(&v, &b) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        *slot = b ? 1 : 0;
    }
    return CTAP_OK;
}

/* A list of PublicKeyCredentialDescriptors (excludeList, allowList): an
 * array of at most FIDO_LIST_MAX maps, each with "id" (bytes) and "type"
 * (text). *present says whether the key was there. */
static uint8_t check_cred_list(const fk_cbor_item_t *req, int64_t key, fk_cbor_item_t *list,
                               bool *present)
{
    uint8_t st = fido_field(req, key, FK_CBOR_ARRAY, list);
    *present = st == CTAP_OK;
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP_OK;
    if (st != CTAP_OK) return st;
    if (list->v > FIDO_LIST_MAX) return CTAP2_ERR_LIMIT_EXCEEDED;
    fk_cbor_iter_t it;
    fk_cbor_item_t e, v;
    if (fk_cbor_array_iter(list, &it) != FK_CBOR_OK) return CTAP2_ERR_INVALID_CBOR;
    while (fk_cbor_array_next(&it, &e) == FK_CBOR_OK) {
        if (e.type != FK_CBOR_MAP) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        if ((st = fido_tfield(&e, "id", FK_CBOR_BYTES, &v)) != CTAP_OK) return st;
        if ((st = fido_tfield(&e, "type", FK_CBOR_TEXT, &v)) != CTAP_OK) return st;
    }
    return CTAP_OK;
}

/* pinUvAuthParam and pinUvAuthProtocol. */
typedef struct auth {
    bool present;
    const uint8_t *param;
    size_t param_len;
    uint64_t proto;
} auth_t;

static uint8_t parse_auth(const fk_cbor_item_t *req, int64_t kparam, int64_t kproto, auth_t *a)
{
    fk_cbor_item_t v;
    memset(a, 0, sizeof *a);
    uint8_t st = fido_field(req, kparam, FK_CBOR_BYTES, &v);
    if (st == CTAP_OK) {
        a->present = true;
        if (fk_cbor_get_bytes(&v, 64, &a->param, &a->param_len) != FK_CBOR_OK)
            return CTAP2_ERR_PIN_AUTH_INVALID;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    st = fido_field(req, kproto, FK_CBOR_UINT, &v);
    if (st == CTAP_OK) {
        a->proto = v.v;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    return CTAP_OK;
}

/* The start of CTAP 2.1 §6.1.2 / §6.2.2 shared by both commands: the
 * zero-length pinUvAuthParam probe (presence, then PIN_NOT_SET or
 * PIN_INVALID), then the protocol rules. CTAP_OK to go on. */
static uint8_t auth_probe(const fk_applet_ctx_t *ctx, const auth_t *a)
{
    if (!a->present) return CTAP_OK;
    if (a->param_len == 0u) {
        const uint8_t st = fido_presence(ctx);
        if (st != CTAP_OK) return st;
        return fido_pin_is_set(ctx) ? CTAP2_ERR_PIN_INVALID : CTAP2_ERR_PIN_NOT_SET;
    }
    if (a->proto == 0u) return CTAP2_ERR_MISSING_PARAMETER;
    if (a->proto != 1u && a->proto != 2u) return CTAP1_ERR_INVALID_PARAMETER;
    return CTAP_OK;
}

/* Check the pinUvAuthParam over the clientDataHash and the token's
 * permission for this RP: CTAP_OK means user verified. */
static uint8_t auth_verify(const fk_applet_ctx_t *ctx, const auth_t *a, const uint8_t *cdh,
                           uint8_t perm, const uint8_t rpid_hash[32])
{
    uint8_t st = fido_token_verify(ctx, a->proto, a->param, a->param_len, cdh, CDH_LEN);
    if (st != CTAP_OK) return st;
    return fido_token_permit(ctx, perm, rpid_hash);
}

/* User presence: the token's, once, when it has one; else the user's. */
static uint8_t presence(const fk_applet_ctx_t *ctx, bool token_used)
{
    if (token_used && fido_token_user_present(ctx)) {
        fido_token_clear_user_present(ctx);
        return CTAP_OK;
    }
    return fido_presence(ctx);
}

/* A listed credential id that is usable for this RP: it opens and, when it
 * is a resident credential, its record still exists (rk filled, *has_rk).
 * credProtect 3 hides it without UV. CTAP_OK, CTAP2_ERR_NO_CREDENTIALS (not
 * usable) or CTAP1_ERR_OTHER. */
static uint8_t open_listed(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                           const uint8_t *id, size_t len, bool uv, fido_cred_key_t *key,
                           fido_rk_t *rk, bool *has_rk)
{
    *has_rk = false;
    uint8_t st = fido_credid_open(ctx, rpid_hash, id, len, key);
    if (st == CTAP2_ERR_INVALID_CREDENTIAL) return CTAP2_ERR_NO_CREDENTIALS;
    if (st != CTAP_OK) return st;
    if (key->cred_protect == 3u && !uv) st = CTAP2_ERR_NO_CREDENTIALS;
    if (st == CTAP_OK && key->resident) {
        st = fido_rk_find(ctx, id, len, rk);
        *has_rk = st == CTAP_OK;
    }
    if (st != CTAP_OK) fk_wipe(key, sizeof *key);
    return st;
}

static void put_descriptor(fk_cbor_writer_t *w, const uint8_t *id)
{
    fk_cbor_put_map(w, 2);
    fk_cbor_put_cstr(w, "id");
    fk_cbor_put_bytes(w, id, FIDO_CRED_ID_LEN);
    fk_cbor_put_cstr(w, "type");
    fk_cbor_put_cstr(w, k_public_key);
}

static size_t ad_head(uint8_t *ad, const uint8_t rpid_hash[32], uint8_t flags, uint32_t counter)
{
    memcpy(ad, rpid_hash, 32);
    ad[32] = flags;
    fk_put_be32(ad + 33, counter);
    return AD_HEAD_LEN;
}

/* ---- makeCredential (01) ----------------------------------------------------------- */

typedef struct mc_ext {
    uint8_t cred_protect;   /* 0: not asked */
    bool hmac_secret;
    bool cred_blob;         /* asked (with any length) */
    const uint8_t *blob;
    size_t blob_len;
    bool large_blob_key;
    bool min_pin_len;
} mc_ext_t;

static uint8_t mc_parse_ext(const fk_cbor_item_t *req, bool rk, mc_ext_t *x)
{
    memset(x, 0, sizeof *x);
    fk_cbor_item_t m, v;
    uint8_t st = fido_field(req, 6, FK_CBOR_MAP, &m);
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP_OK;
    if (st != CTAP_OK) return st;
    bool b;
    if ((st = fido_tfield(&m, "credProtect", FK_CBOR_UINT, &v)) == CTAP_OK) {
        if (v.v < 1u || v.v > 3u) return CTAP2_ERR_INVALID_OPTION;
        x->cred_protect = (uint8_t)v.v;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = fido_tfield(&m, "hmac-secret", FK_CBOR_BOOL, &v)) == CTAP_OK) {
        (void)fk_cbor_get_bool(&v, &b);
        x->hmac_secret = b;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = fido_tfield(&m, "credBlob", FK_CBOR_BYTES, &v)) == CTAP_OK) {
        x->cred_blob = true;
        x->blob = v.data;
        x->blob_len = (size_t)v.v;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = fido_tfield(&m, "largeBlobKey", FK_CBOR_BOOL, &v)) == CTAP_OK) {
        (void)fk_cbor_get_bool(&v, &b);
        /* Only true is meaningful, and only for a discoverable credential. */
        if (!b || !rk) return CTAP2_ERR_INVALID_OPTION;
        x->large_blob_key = true;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = fido_tfield(&m, "minPinLength", FK_CBOR_BOOL, &v)) == CTAP_OK) {
        (void)fk_cbor_get_bool(&v, &b);
        x->min_pin_len = b;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    return CTAP_OK;
}

/* pubKeyCredParams: the first algorithm of ours in the client's order. */
static uint8_t mc_pick_alg(const fk_cbor_item_t *params, uint8_t *alg)
{
    fk_cbor_iter_t it;
    fk_cbor_item_t e, t, a;
    uint8_t st;
    *alg = 0;
    if (fk_cbor_array_iter(params, &it) != FK_CBOR_OK) return CTAP2_ERR_INVALID_CBOR;
    while (fk_cbor_array_next(&it, &e) == FK_CBOR_OK) {
        if (e.type != FK_CBOR_MAP) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        if ((st = fido_tfield(&e, "type", FK_CBOR_TEXT, &t)) != CTAP_OK) return st;
        if ((st = fido_tfield(&e, "alg", FK_CBOR_NINT, &a)) != CTAP_OK) return st;
        int64_t v;
        if (fk_cbor_get_int(&a, &v) != FK_CBOR_OK || !fk_cbor_is_text(&t, k_public_key)) continue;
        if (*alg == 0u && v == FIDO_COSE_ES256) *alg = FIDO_ALG_ES256;
        if (*alg == 0u && v == FIDO_COSE_EDDSA) *alg = FIDO_ALG_EDDSA;
    }
    return *alg != 0u ? CTAP_OK : CTAP2_ERR_UNSUPPORTED_ALGORITHM;
}

/* An optional text member of an entity map (NULL and 0 when absent). */
static uint8_t opt_text(const fk_cbor_item_t *m, const char *k, const char **p, size_t *len)
{
    fk_cbor_item_t v;
    *p = NULL;
    *len = 0;
    const uint8_t st = fido_tfield(m, k, FK_CBOR_TEXT, &v);
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP_OK;
    if (st != CTAP_OK) return st;
    *p = (const char *)v.data;
    *len = (size_t)v.v;
    return CTAP_OK;
}

/* The slot a new resident credential of (rpIdHash, user id) goes to: the
 * record of the same user when there is one (replaced), else the first free
 * id. *serial gets one more than the largest serial in the store. */
static uint8_t mc_rk_slot(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                          const uint8_t *uid, size_t uid_len, uint16_t *slot, uint32_t *serial)
{
    fido_rk_t *const rk = &s_rk;
    uint32_t from = FIDO_ID_RK_FIRST, max_serial = 0;
    uint16_t id, next_free = FIDO_ID_RK_FIRST;
    bool have_free = false, have_same = false;
    int r;
    while ((r = fido_rk_iter(ctx, &from, &id)) == 1) {
        if (!have_free && id != next_free) have_free = true; /* a gap below id */
        if (!have_free) next_free = (uint16_t)(id + 1u);
        if (fido_rk_load(ctx, id, rk) != CTAP_OK) continue;
        if (rk->serial > max_serial) max_serial = rk->serial;
        if (!have_same && memcmp(rk->rpid_hash, rpid_hash, 32) == 0 && rk->uid_len == uid_len &&
            memcmp(rk->uid, uid, uid_len) == 0) {
            have_same = true;
            *slot = id;
        }
    }
    fk_wipe(rk, sizeof *rk);
    if (r < 0) return CTAP1_ERR_OTHER;
    if (!have_free && next_free <= FIDO_ID_RK_LAST) have_free = true;
    *serial = max_serial + 1u;
    if (have_same) return CTAP_OK;
    if (!have_free) return CTAP2_ERR_KEY_STORE_FULL;
    *slot = next_free;
    return CTAP_OK;
}

/* The minPinLength extension answers only RP ids the config lists. */
static bool mc_min_pin_rp(const fido_config_t *cfg, const char *rpid, size_t len)
{
    for (unsigned i = 0; i < cfg->n_rpids && i < FIDO_MINPIN_RPIDS_MAX; i++) {
        if (cfg->rpid_len[i] == len && memcmp(cfg->rpids[i], rpid, len) == 0) return true;
    }
    return false;
}

typedef struct mc_req {
    const uint8_t *cdh;
    const char *rpid;
    size_t rpid_len;
    const uint8_t *uid;
    size_t uid_len;
    const char *name, *dn;
    size_t name_len, dn_len;
    uint8_t alg;
    fk_cbor_item_t exclude;
    bool has_exclude;
    opts_t o;
    auth_t a;
    bool has_ep;
    uint64_t ep;                   /* enterpriseAttestation (when has_ep) */
    mc_ext_t x;
} mc_req_t;

/* Every type and presence check of the request (no effect). */
static uint8_t mc_parse(const fk_cbor_item_t *req, mc_req_t *r)
{
    fk_cbor_item_t v, rp, user, params;
    uint8_t st;
    memset(r, 0, sizeof *r);
    if ((st = fido_field(req, 1, FK_CBOR_BYTES, &v)) != CTAP_OK) return st;
    if (v.v != CDH_LEN) return CTAP1_ERR_INVALID_LENGTH;
    r->cdh = v.data;
    if ((st = fido_field(req, 2, FK_CBOR_MAP, &rp)) != CTAP_OK) return st;
    if ((st = fido_field(req, 3, FK_CBOR_MAP, &user)) != CTAP_OK) return st;
    if ((st = fido_field(req, 4, FK_CBOR_ARRAY, &params)) != CTAP_OK) return st;
    if ((st = fido_tfield(&rp, "id", FK_CBOR_TEXT, &v)) != CTAP_OK) return st;
    r->rpid = (const char *)v.data;
    r->rpid_len = (size_t)v.v;
    const char *p;
    size_t n;
    if ((st = opt_text(&rp, "name", &p, &n)) != CTAP_OK) return st;
    if ((st = opt_text(&rp, "icon", &p, &n)) != CTAP_OK) return st;
    if ((st = fido_tfield(&user, "id", FK_CBOR_BYTES, &v)) != CTAP_OK) return st;
    if (v.v > FIDO_USER_ID_MAX) return CTAP2_ERR_LIMIT_EXCEEDED;
    r->uid = v.data;
    r->uid_len = (size_t)v.v;
    if ((st = opt_text(&user, "name", &r->name, &r->name_len)) != CTAP_OK) return st;
    if ((st = opt_text(&user, "displayName", &r->dn, &r->dn_len)) != CTAP_OK) return st;
    if ((st = opt_text(&user, "icon", &p, &n)) != CTAP_OK) return st;
    if ((st = check_cred_list(req, 5, &r->exclude, &r->has_exclude)) != CTAP_OK) return st;
    if ((st = parse_options(req, 7, &r->o)) != CTAP_OK) return st;
    if ((st = parse_auth(req, 8, 9, &r->a)) != CTAP_OK) return st;
    st = fido_field(req, 0x0A, FK_CBOR_UINT, &v);
    if (st == CTAP_OK) {
        r->has_ep = true;
        r->ep = v.v;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = mc_pick_alg(&params, &r->alg)) != CTAP_OK) return st;
    /* The extensions' own types; their values are judged after the rules
     * of presence and PIN (mc_parse_ext again, with rk known). */
    fk_cbor_item_t m;
    st = fido_field(req, 6, FK_CBOR_MAP, &m);
    if (st != CTAP_OK && st != CTAP2_ERR_MISSING_PARAMETER) return st;
    return CTAP_OK;
}

/* The excludeList: CTAP2_ERR_CREDENTIAL_EXCLUDED (after presence) when it
 * names a credential of ours for this RP. */
static uint8_t mc_exclude(const fk_applet_ctx_t *ctx, const mc_req_t *r,
                          const uint8_t rpid_hash[32], bool uv)
{
    if (!r->has_exclude) return CTAP_OK;
    fk_cbor_iter_t it;
    fk_cbor_item_t e, id, t;
    uint8_t st = CTAP_OK;
    (void)fk_cbor_array_iter(&r->exclude, &it);
    while (st == CTAP_OK && fk_cbor_array_next(&it, &e) == FK_CBOR_OK) {
        (void)fido_tfield(&e, "id", FK_CBOR_BYTES, &id);
        (void)fido_tfield(&e, "type", FK_CBOR_TEXT, &t);
        if (!fk_cbor_is_text(&t, k_public_key)) continue;
        fido_cred_key_t key;
        bool has_rk;
        const uint8_t o = open_listed(ctx, rpid_hash, id.data, (size_t)id.v, uv, &key, &s_rk, &has_rk);
        fk_wipe(&key, sizeof key);
        if (o == CTAP_OK) {
            st = presence(ctx, r->a.present);
            if (st == CTAP_OK) st = CTAP2_ERR_CREDENTIAL_EXCLUDED;
        } else if (o != CTAP2_ERR_NO_CREDENTIALS) {
            st = o;
        }
    }
    fk_wipe(&s_rk, sizeof s_rk);
    return st;
}

/* authData's extensions of a new credential; *n is 0 when there are none. */
static uint8_t mc_ext_out(const mc_req_t *r, bool blob_kept, bool min_pin, uint8_t min_len,
                          uint8_t *out, size_t cap, size_t *n)
{
    const mc_ext_t *x = &r->x;
    const unsigned count = (x->cred_blob ? 1u : 0u) + (x->cred_protect ? 1u : 0u) +
                           (x->hmac_secret ? 1u : 0u) + (min_pin ? 1u : 0u);
    *n = 0;
    if (count == 0u) return CTAP_OK;
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, out, cap);
    fk_cbor_put_map(&w, count);
    if (x->cred_blob) {
        fk_cbor_put_cstr(&w, "credBlob");
        fk_cbor_put_bool(&w, blob_kept);
    }
    if (x->cred_protect) {
        fk_cbor_put_cstr(&w, "credProtect");
        fk_cbor_put_uint(&w, x->cred_protect);
    }
    if (x->hmac_secret) {
        fk_cbor_put_cstr(&w, "hmac-secret");
        fk_cbor_put_bool(&w, true);
    }
    if (min_pin) {
        fk_cbor_put_cstr(&w, "minPinLength");
        fk_cbor_put_uint(&w, min_len);
    }
    return fk_cbor_writer_finish(&w, n) == FK_CBOR_OK ? CTAP_OK : CTAP1_ERR_OTHER;
}

uint8_t fido_cmd_make_credential(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                                 fk_cbor_writer_t *w)
{
    static mc_req_t r;
    fido_rk_t *const rk = &s_rk;
    uint8_t *const ad = s_ad;
    if (req == NULL) return CTAP2_ERR_MISSING_PARAMETER;
    uint8_t st = mc_parse(req, &r);
    if (st != CTAP_OK) return st;
    if ((st = auth_probe(ctx, &r.a)) != CTAP_OK) return st;
    /* Options: no built-in UV, and presence is always collected. */
    if (r.o.up == 0 || r.o.uv == 1) return CTAP2_ERR_INVALID_OPTION;
    const bool want_rk = r.o.rk == 1;
    fido_config_t cfg;
    if (fido_config_load(ctx, &cfg) != CTAP_OK) return CTAP1_ERR_OTHER;
    const bool always_uv = (cfg.flags & FIDO_CFG_ALWAYS_UV) != 0u;
    const bool pin_set = fido_pin_is_set(ctx);
    if (!r.a.present) {
        if (always_uv) return pin_set ? CTAP2_ERR_PUAT_REQUIRED : CTAP2_ERR_PIN_NOT_SET;
        /* makeCredUvNotRqd: a non-discoverable credential needs no UV. */
        if (pin_set && want_rk) return CTAP2_ERR_PUAT_REQUIRED;
    }
    /* enterpriseAttestation (CTAP 2.1 §6.1.2 step 9): only while enabled,
     * and only its two modes. */
    if (r.has_ep) {
        if ((cfg.flags & FIDO_CFG_EP) == 0u || !fido_attest_ep_capable(ctx))
            return CTAP1_ERR_INVALID_PARAMETER;
        if (r.ep != 1u && r.ep != 2u) return CTAP2_ERR_INVALID_OPTION;
    }
    uint8_t att = FIDO_ATT_SELF;
    if ((st = fido_attest_choose(ctx, r.has_ep ? r.ep : 0u, r.rpid, r.rpid_len, &att)) != CTAP_OK)
        return st;
    if ((st = mc_parse_ext(req, want_rk, &r.x)) != CTAP_OK) return st;

    uint8_t rpid_hash[32];
    fk_sha256(r.rpid, r.rpid_len, rpid_hash);
    bool uv = false;
    if (r.a.present) {
        if ((st = auth_verify(ctx, &r.a, r.cdh, FIDO_PERM_MC, rpid_hash)) != CTAP_OK) return st;
        uv = true;
    }
    uint16_t slot = 0;
    uint32_t serial = 0;
    if (want_rk && (st = mc_rk_slot(ctx, rpid_hash, r.uid, r.uid_len, &slot, &serial)) != CTAP_OK)
        return st;
    if ((st = mc_exclude(ctx, &r, rpid_hash, uv)) != CTAP_OK) return st;
    if ((st = presence(ctx, r.a.present)) != CTAP_OK) return st;

    /* The credential. */
    fido_cred_key_t key;
    memset(&key, 0, sizeof key);
    key.alg = r.alg;
    key.cred_protect = r.x.cred_protect ? r.x.cred_protect : 1u;
    key.resident = want_rk;
    key.hmac_secret = r.x.hmac_secret;
    uint8_t cred_id[FIDO_CRED_ID_LEN];
    st = fido_cred_new_key(&key);
    if (st == CTAP_OK) st = fido_credid_seal(ctx, rpid_hash, &key, cred_id);
    const bool blob_kept = want_rk && r.x.cred_blob && r.x.blob_len <= FIDO_CRED_BLOB_MAX;
    const bool min_pin = r.x.min_pin_len && mc_min_pin_rp(&cfg, r.rpid, r.rpid_len);
    uint32_t counter = 0;
    if (st == CTAP_OK) st = fido_counter_next(ctx, &counter);
    size_t len = 0;
    if (st == CTAP_OK) {
        uint8_t flags = FIDO_AD_UP | FIDO_AD_AT | (uv ? FIDO_AD_UV : 0u);
        const bool any_ext = r.x.cred_blob || r.x.cred_protect || r.x.hmac_secret || min_pin;
        if (any_ext) flags |= FIDO_AD_ED;
        len = ad_head(ad, rpid_hash, flags, counter);
        memcpy(ad + len, fido_aaguid, 16);
        len += 16;
        fk_put_be16(ad + len, FIDO_CRED_ID_LEN);
        len += 2;
        memcpy(ad + len, cred_id, FIDO_CRED_ID_LEN);
        len += FIDO_CRED_ID_LEN;
        fk_cbor_writer_t kw;
        size_t n = 0;
        fk_cbor_writer_init(&kw, ad + len, AD_MAX - CDH_LEN - len);
        st = fido_cose_key(&key, &kw);
        if (st == CTAP_OK && fk_cbor_writer_finish(&kw, &n) != FK_CBOR_OK) st = CTAP1_ERR_OTHER;
        len += n;
        if (st == CTAP_OK)
            st = mc_ext_out(&r, blob_kept, min_pin, cfg.min_pin_len, ad + len,
                            AD_MAX - CDH_LEN - len, &n);
        len += n;
    }
    uint8_t sig[FIDO_SIG_MAX];
    size_t sig_len = 0;
    if (st == CTAP_OK) {
        memcpy(ad + len, r.cdh, CDH_LEN);
        if (att == FIDO_ATT_SELF) {
            st = fido_cred_sign(&key, ad, len + CDH_LEN, sig, &sig_len);
        } else {
            /* Batch or enterprise: the attestation key signs, x5c names it. */
            uint8_t hash[32];
            fk_sha256(ad, len + CDH_LEN, hash);
            st = fido_attest_kind_sign(ctx, att, hash, sig, sizeof sig, &sig_len);
        }
    }
    uint8_t lbk[32];
    if (st == CTAP_OK && r.x.large_blob_key) st = fido_large_blob_key(ctx, cred_id, lbk);
    if (st == CTAP_OK && want_rk) {
        memset(rk, 0, sizeof *rk);
        rk->rec_id = slot;
        rk->serial = serial;
        memcpy(rk->rpid_hash, rpid_hash, 32);
        memcpy(rk->cred_id, cred_id, FIDO_CRED_ID_LEN);
        rk->cred_protect = key.cred_protect;
        rk->flags = r.x.large_blob_key ? FIDO_RK_LBK : 0u;
        /* Kept for credentialManagement's list; the hash is of the whole id. */
        rk->rpid_len = (uint8_t)fido_utf8_cut(r.rpid, r.rpid_len, FIDO_RPID_MAX);
        memcpy(rk->rpid, r.rpid, rk->rpid_len);
        rk->uid_len = (uint8_t)r.uid_len;
        memcpy(rk->uid, r.uid, r.uid_len);
        rk->name_len = (uint8_t)fido_utf8_cut(r.name, r.name_len, FIDO_USER_NAME_MAX);
        if (rk->name_len) memcpy(rk->name, r.name, rk->name_len);
        rk->dn_len = (uint8_t)fido_utf8_cut(r.dn, r.dn_len, FIDO_USER_NAME_MAX);
        if (rk->dn_len) memcpy(rk->dn, r.dn, rk->dn_len);
        if (blob_kept) {
            rk->blob_len = (uint8_t)r.x.blob_len;
            memcpy(rk->blob, r.x.blob, r.x.blob_len);
        }
        st = fido_rk_save(ctx, rk);
        fk_wipe(rk, sizeof *rk);
    }
    fk_wipe(&key, sizeof key);
    if (st == CTAP_OK) {
        const bool ep_att = att == FIDO_ATT_EP;
        fk_cbor_put_map(w, 3u + (r.x.large_blob_key ? 1u : 0u) + (ep_att ? 1u : 0u));
        fk_cbor_put_uint(w, 1);
        fk_cbor_put_cstr(w, "packed");
        fk_cbor_put_uint(w, 2);
        fk_cbor_put_bytes(w, ad, len);
        fk_cbor_put_uint(w, 3);
        fk_cbor_put_map(w, att == FIDO_ATT_SELF ? 2u : 3u);
        fk_cbor_put_cstr(w, "alg");
        fk_cbor_put_int(w, att == FIDO_ATT_SELF && r.alg == FIDO_ALG_EDDSA ? FIDO_COSE_EDDSA
                                                                            : FIDO_COSE_ES256);
        fk_cbor_put_cstr(w, "sig");
        fk_cbor_put_bytes(w, sig, sig_len);
        if (att != FIDO_ATT_SELF) {
            fk_cbor_put_cstr(w, "x5c");
            st = fido_attest_put_x5c(ctx, att, w);
        }
        if (ep_att) {
            fk_cbor_put_uint(w, 4); /* epAtt */
            fk_cbor_put_bool(w, true);
        }
        if (r.x.large_blob_key) {
            fk_cbor_put_uint(w, 5);
            fk_cbor_put_bytes(w, lbk, sizeof lbk);
        }
    }
    fk_wipe(lbk, sizeof lbk);
    fk_wipe(s_ad, sizeof s_ad);
    return st;
}

/* ---- getAssertion (02) and getNextAssertion (08) ------------------------------------ */

/* What every assertion of one getAssertion shares (kept for the next ones
 * in fido_cred_session_t). */
typedef fido_ga_common_t ga_common_t;

/* hmac-secret's output for one credential: enc(shared, HMAC(CredRandom,
 * salt1) [|| HMAC(CredRandom, salt2)]). */
static uint8_t ga_hmac_secret(const fk_applet_ctx_t *ctx, const ga_common_t *g,
                              const uint8_t cred_id[FIDO_CRED_ID_LEN], uint8_t *out,
                              size_t *out_len)
{
    uint8_t cr[32], plain[64];
    uint8_t st = fido_cred_random(ctx, cred_id, (g->flags & FIDO_AD_UV) != 0u, cr);
    if (st == CTAP_OK) {
        fk_hmac_sha256(cr, sizeof cr, g->hs_salt, 32, plain);
        if (g->hs_salt_len == 64u) fk_hmac_sha256(cr, sizeof cr, g->hs_salt + 32, 32, plain + 32);
        st = fido_pin_encrypt(g->hs_proto, g->hs_shared, plain, g->hs_salt_len, out, out_len);
    }
    fk_wipe(cr, sizeof cr);
    fk_wipe(plain, sizeof plain);
    return st;
}

/* One assertion response with credential key (and rk for a resident
 * credential, else NULL); number > 1 adds numberOfCredentials. */
static uint8_t ga_answer(const fk_applet_ctx_t *ctx, const ga_common_t *g,
                         const fido_cred_key_t *key, const uint8_t cred_id[FIDO_CRED_ID_LEN],
                         const fido_rk_t *rk, unsigned number, fk_cbor_writer_t *w)
{
    uint8_t *const ad = s_ad;
    uint8_t hs[16 + 64];
    size_t hs_len = 0;
    uint8_t st = CTAP_OK;
    const bool do_hs = g->hs_proto != 0u && key->hmac_secret;
    const bool do_blob = (g->ext & EXT_CRED_BLOB) != 0u;
    const bool do_lbk = (g->ext & EXT_LARGE_BLOB_KEY) != 0u && rk != NULL &&
                        (rk->flags & FIDO_RK_LBK) != 0u;
    if (do_hs) st = ga_hmac_secret(ctx, g, cred_id, hs, &hs_len);
    uint8_t lbk[32];
    if (st == CTAP_OK && do_lbk) st = fido_large_blob_key(ctx, cred_id, lbk);
    uint32_t counter = 0;
    if (st == CTAP_OK) st = fido_counter_next(ctx, &counter);
    size_t len = 0;
    if (st == CTAP_OK) {
        const uint8_t flags = (uint8_t)(g->flags | ((do_hs || do_blob) ? FIDO_AD_ED : 0u));
        len = ad_head(ad, g->rpid_hash, flags, counter);
        if (do_hs || do_blob) {
            fk_cbor_writer_t xw;
            size_t n = 0;
            fk_cbor_writer_init(&xw, ad + len, AD_MAX - CDH_LEN - len);
            fk_cbor_put_map(&xw, (do_blob ? 1u : 0u) + (do_hs ? 1u : 0u));
            if (do_blob) {
                fk_cbor_put_cstr(&xw, "credBlob");
                /* A non-discoverable credential has none: an empty string. */
                static const uint8_t none[1];
                fk_cbor_put_bytes(&xw, rk != NULL ? rk->blob : none, rk != NULL ? rk->blob_len : 0u);
            }
            if (do_hs) {
                fk_cbor_put_cstr(&xw, "hmac-secret");
                fk_cbor_put_bytes(&xw, hs, hs_len);
            }
            if (fk_cbor_writer_finish(&xw, &n) != FK_CBOR_OK) st = CTAP1_ERR_OTHER;
            len += n;
        }
    }
    uint8_t sig[FIDO_SIG_MAX];
    size_t sig_len = 0;
    if (st == CTAP_OK) {
        memcpy(ad + len, g->cdh, CDH_LEN);
        st = fido_cred_sign(key, ad, len + CDH_LEN, sig, &sig_len);
    }
    if (st == CTAP_OK) {
        const bool uv = (g->flags & FIDO_AD_UV) != 0u;
        fk_cbor_put_map(w, 3u + (rk != NULL ? 1u : 0u) + (number > 1u ? 1u : 0u) + (do_lbk ? 1u : 0u));
        fk_cbor_put_uint(w, 1);
        put_descriptor(w, cred_id);
        fk_cbor_put_uint(w, 2);
        fk_cbor_put_bytes(w, ad, len);
        fk_cbor_put_uint(w, 3);
        fk_cbor_put_bytes(w, sig, sig_len);
        if (rk != NULL) {
            /* Names only after user verification (CTAP 2.1 §6.2.2). */
            const bool name = uv && rk->name_len > 0u;
            const bool dn = uv && rk->dn_len > 0u;
            fk_cbor_put_uint(w, 4);
            fk_cbor_put_map(w, 1u + (name ? 1u : 0u) + (dn ? 1u : 0u));
            fk_cbor_put_cstr(w, "id");
            fk_cbor_put_bytes(w, rk->uid, rk->uid_len);
            if (name) {
                fk_cbor_put_cstr(w, "name");
                fk_cbor_put_text(w, rk->name, rk->name_len);
            }
            if (dn) {
                fk_cbor_put_cstr(w, "displayName");
                fk_cbor_put_text(w, rk->dn, rk->dn_len);
            }
        }
        if (number > 1u) {
            fk_cbor_put_uint(w, 5);
            fk_cbor_put_uint(w, number);
        }
        if (do_lbk) {
            fk_cbor_put_uint(w, 7);
            fk_cbor_put_bytes(w, lbk, sizeof lbk);
        }
    }
    fk_wipe(lbk, sizeof lbk);
    fk_wipe(hs, sizeof hs);
    fk_wipe(s_ad, sizeof s_ad);
    return st;
}

/* The extensions of a getAssertion; hmac-secret is checked (saltAuth) and
 * its salts decrypted here, before any effect. */
static uint8_t ga_parse_ext(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, ga_common_t *g)
{
    fk_cbor_item_t m, v, hs;
    uint8_t st = fido_field(req, 4, FK_CBOR_MAP, &m);
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP_OK;
    if (st != CTAP_OK) return st;
    bool b;
    if ((st = fido_tfield(&m, "credBlob", FK_CBOR_BOOL, &v)) == CTAP_OK) {
        (void)fk_cbor_get_bool(&v, &b);
        if (b) g->ext |= EXT_CRED_BLOB;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    if ((st = fido_tfield(&m, "largeBlobKey", FK_CBOR_BOOL, &v)) == CTAP_OK) {
        (void)fk_cbor_get_bool(&v, &b);
        if (!b) return CTAP2_ERR_INVALID_OPTION;
        g->ext |= EXT_LARGE_BLOB_KEY;
    } else if (st != CTAP2_ERR_MISSING_PARAMETER) {
        return st;
    }
    st = fido_tfield(&m, "hmac-secret", FK_CBOR_MAP, &hs);
    if (st == CTAP2_ERR_MISSING_PARAMETER) return CTAP_OK;
    if (st != CTAP_OK) return st;
    fk_cbor_item_t ka, enc, auth;
    if ((st = fido_field(&hs, 1, FK_CBOR_MAP, &ka)) != CTAP_OK) return st;
    if ((st = fido_field(&hs, 2, FK_CBOR_BYTES, &enc)) != CTAP_OK) return st;
    if ((st = fido_field(&hs, 3, FK_CBOR_BYTES, &auth)) != CTAP_OK) return st;
    uint64_t proto = 1;
    st = fido_field(&hs, 4, FK_CBOR_UINT, &v);
    if (st == CTAP_OK)
        proto = v.v;
    else if (st != CTAP2_ERR_MISSING_PARAMETER)
        return st;
    if (proto != 1u && proto != 2u) return CTAP1_ERR_INVALID_PARAMETER;
    const size_t iv = proto == 2u ? 16u : 0u;
    if (enc.v != iv + 32u && enc.v != iv + 64u) return CTAP1_ERR_INVALID_LENGTH;
    st = fido_pin_shared_secret(ctx, proto, &ka, g->hs_shared, &g->hs_shared_len);
    if (st != CTAP_OK) return st;
    if (!fido_pin_verify(proto, g->hs_shared, 32, enc.data, (size_t)enc.v, auth.data,
                         (size_t)auth.v))
        return CTAP2_ERR_PIN_AUTH_INVALID;
    size_t salt_len = 0;
    st = fido_pin_decrypt(proto, g->hs_shared, enc.data, (size_t)enc.v, g->hs_salt, &salt_len);
    if (st != CTAP_OK) return st;
    if (salt_len != 32u && salt_len != 64u) return CTAP1_ERR_INVALID_LENGTH;
    g->hs_salt_len = (uint8_t)salt_len;
    g->hs_proto = (uint8_t)proto;
    return CTAP_OK;
}

/* A discoverable credential found without allowList. */
typedef struct ga_found {
    uint16_t id;
    uint32_t serial;
} ga_found_t;

/* The RP's discoverable credentials usable with or without UV, newest
 * first, at most FIDO_GNA_MAX of them (the newest). s_rk is scratch. */
static uint8_t ga_discoverable(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32], bool uv,
                               ga_found_t found[FIDO_GNA_MAX], unsigned *n)
{
    unsigned count = 0;
    uint32_t from = FIDO_ID_RK_FIRST;
    uint16_t id;
    int r;
    while ((r = fido_rk_iter(ctx, &from, &id)) == 1) {
        if (fido_rk_load(ctx, id, &s_rk) != CTAP_OK) continue;
        if (memcmp(s_rk.rpid_hash, rpid_hash, 32) != 0) continue;
        if (s_rk.cred_protect >= 2u && !uv) continue;
        /* Insertion by serial, newest first; the oldest falls off a full list. */
        if (count == FIDO_GNA_MAX && found[count - 1u].serial >= s_rk.serial) continue;
        unsigned i = count < FIDO_GNA_MAX ? count++ : count - 1u;
        while (i > 0u && found[i - 1u].serial < s_rk.serial) {
            found[i] = found[i - 1u];
            i--;
        }
        found[i].id = id;
        found[i].serial = s_rk.serial;
    }
    fk_wipe(&s_rk, sizeof s_rk);
    if (r < 0) return CTAP1_ERR_OTHER;
    *n = count;
    return CTAP_OK;
}

static void ga_save(fido_cred_session_t *cs, const ga_common_t *g) { cs->gna = *g; }

static void ga_restore(const fido_cred_session_t *cs, ga_common_t *g) { *g = cs->gna; }

static void gna_forget(fido_cred_session_t *cs)
{
    cs->gna_left = 0;
    fk_wipe(cs->gna.hs_salt, sizeof cs->gna.hs_salt);
    fk_wipe(cs->gna.hs_shared, sizeof cs->gna.hs_shared);
    cs->gna.hs_proto = 0;
}

uint8_t fido_cmd_get_assertion(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                               fk_cbor_writer_t *w)
{
    static ga_common_t g;
    fido_rk_t *const rk = &s_rk;
    fido_cred_session_t *cs = &fido_state(ctx)->cs;
    gna_forget(cs);
    if (req == NULL) return CTAP2_ERR_MISSING_PARAMETER;
    fk_cbor_item_t v, allow;
    uint8_t st;
    memset(&g, 0, sizeof g);
    if ((st = fido_field(req, 1, FK_CBOR_TEXT, &v)) != CTAP_OK) return st;
    fk_sha256(v.data, (size_t)v.v, g.rpid_hash);
    if ((st = fido_field(req, 2, FK_CBOR_BYTES, &v)) != CTAP_OK) return st;
    if (v.v != CDH_LEN) return CTAP1_ERR_INVALID_LENGTH;
    memcpy(g.cdh, v.data, CDH_LEN);
    bool has_allow = false;
    if ((st = check_cred_list(req, 3, &allow, &has_allow)) != CTAP_OK) return st;
    if (has_allow && allow.v == 0u) has_allow = false; /* an empty list is no list */
    fk_cbor_item_t ext;
    st = fido_field(req, 4, FK_CBOR_MAP, &ext);
    if (st != CTAP_OK && st != CTAP2_ERR_MISSING_PARAMETER) return st;
    opts_t o;
    if ((st = parse_options(req, 5, &o)) != CTAP_OK) return st;
    auth_t a;
    if ((st = parse_auth(req, 6, 7, &a)) != CTAP_OK) return st;

    if ((st = auth_probe(ctx, &a)) != CTAP_OK) return st;
    if (o.rk != -1) return CTAP2_ERR_UNSUPPORTED_OPTION;
    if (o.uv == 1) return CTAP2_ERR_INVALID_OPTION; /* no built-in UV */
    const bool up = o.up != 0;
    fido_config_t cfg;
    if (fido_config_load(ctx, &cfg) != CTAP_OK) return CTAP1_ERR_OTHER;
    if ((cfg.flags & FIDO_CFG_ALWAYS_UV) != 0u && up && !a.present)
        return fido_pin_is_set(ctx) ? CTAP2_ERR_PUAT_REQUIRED : CTAP2_ERR_PIN_NOT_SET;
    bool uv = false;
    if (a.present) {
        if ((st = auth_verify(ctx, &a, g.cdh, FIDO_PERM_GA, g.rpid_hash)) != CTAP_OK) return st;
        uv = true;
    }
    g.flags = (uint8_t)((up ? FIDO_AD_UP : 0u) | (uv ? FIDO_AD_UV : 0u));
    st = ga_parse_ext(ctx, req, &g);

    /* Locate the credentials. */
    fido_cred_key_t key;
    memset(&key, 0, sizeof key);
    const uint8_t *cred_id = NULL;
    bool has_rk = false;
    unsigned number = 0;
    static ga_found_t found[FIDO_GNA_MAX];
    if (st == CTAP_OK && has_allow) {
        fk_cbor_iter_t it;
        fk_cbor_item_t e, id, t;
        (void)fk_cbor_array_iter(&allow, &it);
        st = CTAP2_ERR_NO_CREDENTIALS;
        while (st == CTAP2_ERR_NO_CREDENTIALS && fk_cbor_array_next(&it, &e) == FK_CBOR_OK) {
            (void)fido_tfield(&e, "id", FK_CBOR_BYTES, &id);
            (void)fido_tfield(&e, "type", FK_CBOR_TEXT, &t);
            if (!fk_cbor_is_text(&t, k_public_key)) continue;
            st = open_listed(ctx, g.rpid_hash, id.data, (size_t)id.v, uv, &key, rk, &has_rk);
            if (st == CTAP_OK) cred_id = id.data;
        }
    } else if (st == CTAP_OK) {
        st = ga_discoverable(ctx, g.rpid_hash, uv, found, &number);
        if (st == CTAP_OK && number == 0u) st = CTAP2_ERR_NO_CREDENTIALS;
        if (st == CTAP_OK) st = fido_rk_load(ctx, found[0].id, rk);
        if (st == CTAP_OK) st = fido_credid_open(ctx, g.rpid_hash, rk->cred_id, FIDO_CRED_ID_LEN, &key);
        if (st == CTAP2_ERR_INVALID_CREDENTIAL) st = CTAP1_ERR_OTHER; /* our own record */
        if (st == CTAP_OK) {
            cred_id = rk->cred_id;
            has_rk = true;
        }
    }
    if (st == CTAP_OK && up) st = presence(ctx, a.present);
    if (st == CTAP_OK)
        st = ga_answer(ctx, &g, &key, cred_id, has_rk ? rk : NULL, has_allow ? 0u : number, w);
    fk_wipe(&key, sizeof key);
    fk_wipe(rk, sizeof *rk);
    if (st == CTAP_OK && number > 1u) {
        ga_save(cs, &g);
        cs->gna_total = (uint8_t)number;
        cs->gna_left = (uint8_t)(number - 1u);
        for (unsigned i = 0; i < number; i++) cs->gna_ids[i] = found[i].id;
        cs->gna_ms = fk_services_uptime_ms(ctx->svc);
    }
    fk_wipe(&g, sizeof g);
    return st;
}

uint8_t fido_cmd_get_next_assertion(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                                    fk_cbor_writer_t *w)
{
    (void)req;
    static ga_common_t g;
    fido_rk_t *const rk = &s_rk;
    fido_cred_session_t *cs = &fido_state(ctx)->cs;
    if (cs->gna_left == 0u || cs->gna_left >= cs->gna_total) {
        gna_forget(cs);
        return CTAP2_ERR_NOT_ALLOWED;
    }
    if (fk_services_uptime_ms(ctx->svc) - cs->gna_ms > GNA_WINDOW_MS) {
        gna_forget(cs);
        return CTAP2_ERR_NOT_ALLOWED;
    }
    const uint16_t id = cs->gna_ids[cs->gna_total - cs->gna_left];
    cs->gna_left--;
    ga_restore(cs, &g);
    if (cs->gna_left == 0u) gna_forget(cs);
    fido_cred_key_t key;
    uint8_t st = fido_rk_load(ctx, id, rk);
    if (st == CTAP_OK) st = fido_credid_open(ctx, g.rpid_hash, rk->cred_id, FIDO_CRED_ID_LEN, &key);
    if (st != CTAP_OK) st = CTAP1_ERR_OTHER;
    if (st == CTAP_OK) st = ga_answer(ctx, &g, &key, rk->cred_id, rk, 0, w);
    fk_wipe(&key, sizeof key);
    fk_wipe(rk, sizeof *rk);
    fk_wipe(&g, sizeof g);
    return st;
}
