/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_pin.c - the PINs of the SmartCard-HSM applet: INITIALIZE DEVICE,
 * VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER over the PIN service
 * (core/services/pin.h); the device configuration; the master key (MK),
 * wrapped under each PIN, under which every key object of the applet is
 * encrypted. docs/hsm-pin.md gives the formats, the order of every write and
 * what a power cut at each point leaves.
 *
 *   main space (FK_NS_HSM)                    counters space (FK_NS_HSM)
 *   HSM_ID_CONFIG    options, retry limit     HSM_ID_USER_PIN  tries left
 *   HSM_ID_USER_PIN  PIN record wrapping MK   HSM_ID_SO_PIN    tries left
 *   HSM_ID_SO_PIN    PIN record wrapping MK
 *
 * IMPLEMENTATION NOTE: INITIALIZE is one batch of the main partition (the
 * erasure of the user objects, both PIN records and the configuration): a
 * power cut or a full store leaves the old device or the new one, nothing
 * in between. The new PINs' retry counters are written before the batch
 * commits, bound to the new PIN records' generation: the old PINs keep their
 * own tries until then.
 *
 * IMPLEMENTATION NOTE: whether the device is initialized for INITIALIZE's
 * purposes follows from any of several records (the configuration, either
 * PIN record, any user object): once one of them exists, the SO-PIN must be
 * proven, so a damaged or missing SO-PIN record (or configuration) never
 * lets INITIALIZE through without it.
 */
#include <string.h>

#include "hsm.h"
#include "hsm_internal.h"

#include "crypto/crypto.h"
#include "services/keyobj.h"
#include "services/pin.h"
#include "services/services.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

/* ---- Protocol constants --------------------------------------------------- */
#define INS_INITIALIZE 0x50u

#define PIN_REF_USER 0x81u
#define PIN_REF_SO 0x88u
#define P1_NONE 0x00u

/* RESET RETRY COUNTER P1 */
#define RRC_SO_AND_NEW_PIN 0x00u /* data: SO-PIN || new user PIN */
#define RRC_SO_ONLY 0x01u        /* data: SO-PIN; counter only */
#define RRC_NEW_PIN 0x02u        /* data: new user PIN; SO-PIN verified in session */
#define RRC_SESSION 0x03u        /* no data; SO-PIN verified in session; counter only */

#define USER_PIN_MIN 6u
#define USER_PIN_MAX 16u
#define SO_PIN_LEN 8u
#define USER_TRIES_MIN 1u
#define USER_TRIES_MAX 10u
#define USER_TRIES_DEFAULT 3u
#define SO_TRIES 15u

/* INITIALIZE DEVICE tags */
#define TAG_OPTIONS 0x80u
#define TAG_USER_PIN 0x81u
#define TAG_SO_PIN 0x82u
#define TAG_USER_TRIES 0x91u
#define TAG_DKEK_SHARES 0x92u
#define TAG_PKA 0x93u
#define TAG_BIO_SERVER1 0x95u
#define TAG_BIO_SERVER2 0x96u
#define TAG_KEY_DOMAINS 0x97u
#define BIO_AID_MAX 16u
#define PKA_KEYS_MAX 90u

/* Device options (tag 80, FCP tag 85) */
#define OPT_RRC 0x0001u              /* RESET RETRY COUNTER enabled */
#define OPT_TRANSPORT_PIN 0x0002u    /* an SO-set user PIN must be changed before use */
#define OPT_SESSION_PIN 0x0004u      /* not implemented: never stored */
#define OPT_RRC_COUNTER_ONLY 0x0020u /* RESET RETRY COUNTER P1 01/03 allowed */

/* INITIALIZE without data: free memory (4), 00, version major, minor. */
#define VERSION_INFO_LEN 7u

_Static_assert(SO_TRIES <= FK_PIN_LIMIT_MAX && USER_TRIES_MAX <= FK_PIN_LIMIT_MAX,
               "retry limits the PIN service takes");

const fk_pin_ref_t hsm_user_pin = {HSM_ID_USER_PIN, USER_PIN_MIN, USER_PIN_MAX, FK_PIN_BYTES, 0};
const fk_pin_ref_t hsm_so_pin = {HSM_ID_SO_PIN, SO_PIN_LEN, SO_PIN_LEN, FK_PIN_BYTES, 1};

/* ---- The configuration record (HSM_ID_CONFIG, plain, docs/hsm-pin.md) ----- */
#define CONFIG_VERSION 1u
#define CONFIG_LEN 10u
#define CFG_READY 2u
#define CFG_HAS_DKEK 0x01u
#define CFG_HAS_PKA 0x02u
#define CFG_HAS_DOMAINS 0x04u

typedef struct hsm_config {
    uint8_t flags; /* CFG_HAS_* */
    uint16_t options;
    uint8_t user_tries; /* retry limit of the user PIN */
    uint8_t dkek_shares;
    uint8_t pka_total, pka_required;
    uint8_t key_domains;
} hsm_config_t;

/* Read HSM_ID_CONFIG into *cfg: true for a configuration this firmware knows
 * (an initialized device). */
static bool config_load(const fk_applet_ctx_t *ctx, hsm_config_t *cfg)
{
    uint8_t b[CONFIG_LEN];
    uint32_t size = 0;

    memset(cfg, 0, sizeof(*cfg));
    if (fk_space_size(&ctx->space, HSM_ID_CONFIG, &size) != FK_STORE_OK || size != CONFIG_LEN)
        return false;
    if (fk_space_read(&ctx->space, HSM_ID_CONFIG, 0, b, sizeof(b)) != FK_STORE_OK) return false;
    if (b[0] != CONFIG_VERSION || b[1] != CFG_READY || b[5] < USER_TRIES_MIN ||
        b[5] > USER_TRIES_MAX)
        return false;
    cfg->flags = b[2];
    cfg->options = fk_be16(b + 3);
    cfg->user_tries = b[5];
    cfg->dkek_shares = b[6];
    cfg->pka_total = b[7];
    cfg->pka_required = b[8];
    cfg->key_domains = b[9];
    return true;
}

/* Write *cfg as HSM_ID_CONFIG (one store write, staged in an open batch). */
static int config_write(const fk_applet_ctx_t *ctx, const hsm_config_t *cfg)
{
    uint8_t b[CONFIG_LEN] = {CONFIG_VERSION, CFG_READY, cfg->flags};

    fk_put_be16(b + 3, cfg->options);
    b[5] = cfg->user_tries;
    b[6] = cfg->dkek_shares;
    b[7] = cfg->pka_total;
    b[8] = cfg->pka_required;
    b[9] = cfg->key_domains;
    return fk_space_write(&ctx->space, HSM_ID_CONFIG, b, sizeof(b));
}

bool hsm_initialized(const fk_applet_ctx_t *ctx)
{
    hsm_config_t cfg;
    return config_load(ctx, &cfg);
}

uint16_t hsm_options(const fk_applet_ctx_t *ctx)
{
    hsm_config_t cfg;
    return config_load(ctx, &cfg) ? cfg.options : 0u;
}

uint8_t hsm_key_domains(const fk_applet_ctx_t *ctx)
{
    hsm_config_t cfg;
    if (!config_load(ctx, &cfg)) return 0;
    return (cfg.flags & CFG_HAS_DOMAINS) ? cfg.key_domains : 1u;
}

/* ---- What a (re-)INITIALIZE erases ------------------------------------------
 * Every host object except the device key CC00 and its C400 / CE00, other
 * static EFs than TokenInfo and the unwrap file (2F02 above all), and every
 * internal record (both PIN records and the configuration are written anew
 * in the same batch). docs/hsm-pin.md lists them. */
typedef struct id_range {
    uint16_t first, last;
} id_range_t;

static const id_range_t k_user_objects[] = {
    {0x0000u, HSM_ID_INTERNAL_LAST},
    {HSM_FID_TOKENINFO, HSM_FID_TOKENINFO},
    {HSM_FID_UNWRAP, HSM_FID_UNWRAP},
    {HSM_FID(HSM_PREFIX_PRKD, 0x01u), HSM_FID(HSM_PREFIX_PRKD, 0xFFu)},
    {HSM_FID(HSM_PREFIX_CD, 0x00u), HSM_FID(HSM_PREFIX_CA, 0xFFu)},
    {HSM_FID(HSM_PREFIX_KEY, 0x01u), HSM_FID(HSM_PREFIX_KEY, 0xFFu)},
    {HSM_FID(HSM_PREFIX_PRIVDATA, 0x00u), HSM_FID(HSM_PREFIX_PRIVDATA, 0xFFu)},
    {HSM_FID(HSM_PREFIX_EECERT, 0x01u), HSM_FID(HSM_PREFIX_EECERT, 0xFFu)},
    {HSM_FID(HSM_PREFIX_DATA, 0x00u), HSM_FID(HSM_PREFIX_DATA, 0xFFu)},
};
_Static_assert(HSM_PREFIX_CD + 1u == HSM_PREFIX_DCOD && HSM_PREFIX_DCOD + 1u == HSM_PREFIX_CA,
               "C8, C9, CA erased as one range");

/* True when anything of an initialized device is there: then only the
 * SO-PIN may initialize it again. */
static bool owned(const fk_applet_ctx_t *ctx)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_user_objects); i++) {
        uint16_t id;
        const int rc = fk_space_first(&ctx->space, k_user_objects[i].first, &id);
        /* A store that cannot say counts as owned: the SO-PIN decides. */
        if (rc != FK_STORE_ENOENT && (rc != FK_STORE_OK || id <= k_user_objects[i].last))
            return true;
    }
    return false;
}

/* ---- Status words -------------------------------------------------------- */

/* The answer to a wrong PIN: 63Cx, or 6983 once no try is left. */
static fk_sw_t tries_sw(uint8_t left)
{
    return left == 0 ? FK_SW_AUTH_BLOCKED : FK_SW_VERIFY_FAILED(left);
}

/* The status word of a PIN service result (st: the status it gave). */
static fk_sw_t pin_sw(int rc, const fk_pin_status_t *st)
{
    switch (rc) {
    case FK_PIN_OK: return FK_SW_OK;
    case FK_PIN_EWRONG: return tries_sw(st->tries);
    case FK_PIN_EBLOCKED: return FK_SW_AUTH_BLOCKED;
    case FK_PIN_EMUSTCHANGE: return FK_SW_REF_DATA_NOT_USABLE;
    case FK_PIN_EFORMAT: return FK_SW_WRONG_LENGTH;
    case FK_PIN_ECRYPTO: return FK_SW_EXEC_ERROR;
    default: return FK_SW_MEMORY_FAILURE; /* ENOENT, EDAMAGED, ESTORE */
    }
}

/* ---- Session ------------------------------------------------------------------ */

/* Forget that `ref` was verified; the MK goes when no PIN holds it. */
static void session_drop(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref)
{
    hsm_state_t *st = hsm_state(ctx);

    fk_pin_session_drop(&st->pins, ref);
    if (ref == &hsm_user_pin)
        st->mk_loaded = false;
    else
        st->so_mk_loaded = false;
    if (!st->mk_loaded && !st->so_mk_loaded) fk_wipe(st->mk, sizeof(st->mk));
}

/* `ref` is verified (the PIN service set its bit) and mk is the MK it opened. */
static void session_grant(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref,
                          const uint8_t mk[HSM_MK_LEN])
{
    hsm_state_t *st = hsm_state(ctx);

    memcpy(st->mk, mk, HSM_MK_LEN);
    if (ref == &hsm_user_pin)
        st->mk_loaded = true;
    else
        st->so_mk_loaded = true;
}

static const fk_pin_ref_t *pin_ref_of(uint8_t p2)
{
    if (p2 == PIN_REF_USER) return &hsm_user_pin;
    if (p2 == PIN_REF_SO) return &hsm_so_pin;
    return NULL;
}

/* ---- VERIFY ------------------------------------------------------------------ */

/* VERIFY status (no data): 9000 verified in this session, 63Cx tries left,
 * 6983 blocked. */
static fk_sw_t verify_status(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref)
{
    fk_pin_status_t st;
    int rc;

    if (fk_pin_verified(&hsm_state(ctx)->pins, ref)) return FK_SW_OK;
    rc = fk_pin_status(ctx, ref, &st);
    return rc == FK_PIN_OK ? tries_sw(st.tries) : pin_sw(rc, &st);
}

/* True when the user PIN is a transport PIN that must be changed first. A
 * record that cannot be read counts as not transport: VERIFY then fails on
 * it with its own status. */
static bool user_transport(const fk_applet_ctx_t *ctx)
{
    fk_pin_status_t st;
    return fk_pin_status(ctx, &hsm_user_pin, &st) == FK_PIN_OK &&
           (st.flags & FK_PIN_F_MUST_CHANGE) != 0;
}

/* VERIFY (20): status without data, or check a PIN (one try spent first). A
 * correct user PIN loads the MK into the session; any failure forgets the
 * verified state of that PIN. */
static fk_sw_t cmd_verify(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t mk[HSM_MK_LEN];
    const fk_pin_ref_t *ref;
    fk_pin_status_t st = {0};
    int rc;

    (void)resp;
    if (cmd->p1 != P1_NONE) return FK_SW_WRONG_P1P2;
    ref = pin_ref_of(cmd->p2);
    if (ref == NULL || !hsm_initialized(ctx)) return FK_SW_REF_NOT_FOUND;
    if (ref == &hsm_user_pin && user_transport(ctx)) return FK_SW_REF_DATA_NOT_USABLE;
    if (cmd->nc == 0) return verify_status(ctx, ref);
    /* The length bounds are public: refusing outside them reveals nothing,
     * and logs nobody out. */
    if (cmd->nc < ref->min_len || cmd->nc > ref->max_len) return FK_SW_WRONG_LENGTH;

    session_drop(ctx, ref);
    rc = fk_pin_check(ctx, ref, &hsm_state(ctx)->pins, cmd->data, cmd->nc, 0, NULL, mk, &st);
    if (rc == FK_PIN_OK) session_grant(ctx, ref, mk);
    fk_wipe(mk, sizeof(mk));
    return pin_sw(rc, &st);
}

/* ---- CHANGE REFERENCE DATA ------------------------------------------------------ */

/* CHANGE REFERENCE DATA (24): data = old PIN || new PIN, split by the stored
 * PIN length (8 || 8 for the SO-PIN). The old PIN costs a try; the new PIN is
 * a new record (new verifier, the same MK wrapped under it, transport state
 * cleared) with full tries. A new PIN of a bad length is refused only after
 * the old one was proven, so the response never reveals the stored length. */
static fk_sw_t cmd_change(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    hsm_state_t *ses = hsm_state(ctx);
    uint8_t mk[HSM_MK_LEN];
    const fk_pin_ref_t *ref;
    fk_pin_status_t st = {0};
    size_t used = 0, new_len;
    int rc;

    (void)resp;
    if (cmd->p1 != P1_NONE) return FK_SW_WRONG_P1P2;
    ref = pin_ref_of(cmd->p2);
    if (ref == NULL || !hsm_initialized(ctx)) return FK_SW_REF_NOT_FOUND;
    if (cmd->nc == 0 || cmd->nc > 2u * ref->max_len) return FK_SW_WRONG_LENGTH;
    if (ref->min_len == ref->max_len && cmd->nc != 2u * ref->max_len) return FK_SW_WRONG_LENGTH;

    rc = fk_pin_check(ctx, ref, &ses->pins, cmd->data, cmd->nc,
                      FK_PIN_CHECK_PREFIX | FK_PIN_CHECK_FOR_CHANGE, &used, mk, &st);
    if (rc != FK_PIN_OK) {
        session_drop(ctx, ref);
        fk_wipe(mk, sizeof(mk));
        return pin_sw(rc, &st);
    }
    new_len = cmd->nc - used;
    if (new_len < ref->min_len || new_len > ref->max_len) {
        /* The old PIN was proven (its tries are back), but nothing changes. */
        session_drop(ctx, ref);
        fk_wipe(mk, sizeof(mk));
        return FK_SW_WRONG_LENGTH;
    }
    rc = fk_pin_set(ctx, ref, cmd->data + used, new_len, st.limit, 0, mk);
    if (rc == FK_PIN_OK)
        session_grant(ctx, ref, mk);
    else
        session_drop(ctx, ref);
    fk_wipe(mk, sizeof(mk));
    return pin_sw(rc, &st);
}

/* ---- RESET RETRY COUNTER ------------------------------------------------------- */

/* Prove the SO-PIN in so_pin (one SO try spent first, restored on success);
 * with mk != NULL also open the MK from the SO record. Opens no SO session:
 * a session that was there before stays, one that was not is not made. */
static fk_sw_t so_prove(const fk_applet_ctx_t *ctx, const uint8_t *so_pin, uint8_t *mk)
{
    hsm_state_t *ses = hsm_state(ctx);
    const bool had = fk_pin_verified(&ses->pins, &hsm_so_pin);
    fk_pin_status_t st = {0};
    const int rc = fk_pin_check(ctx, &hsm_so_pin, &ses->pins, so_pin, SO_PIN_LEN, 0, NULL, mk, &st);

    if (rc != FK_PIN_OK) {
        session_drop(ctx, &hsm_so_pin);
        return pin_sw(rc, &st);
    }
    if (!had) fk_pin_session_drop(&ses->pins, &hsm_so_pin);
    return FK_SW_OK;
}

/* Set a new user PIN wrapping mk (a transport PIN when the options say so),
 * with full tries. */
static fk_sw_t user_pin_set(const fk_applet_ctx_t *ctx, const hsm_config_t *cfg,
                            const uint8_t *pin, size_t len, const uint8_t mk[HSM_MK_LEN])
{
    const uint8_t flags = (cfg->options & OPT_TRANSPORT_PIN) ? FK_PIN_F_MUST_CHANGE : 0u;
    const fk_pin_status_t none = {0};
    return pin_sw(fk_pin_set(ctx, &hsm_user_pin, pin, len, cfg->user_tries, flags, mk), &none);
}

/* RESET RETRY COUNTER (2C), P2 = 81 only, option 0001 required:
 *   P1 00  SO-PIN || new PIN   P1 01  SO-PIN (counter only, option 0020)
 *   P1 02  new PIN             P1 03  nothing (counter only, option 0020)
 * P1 02/03 need the SO-PIN verified in this session (VERIFY 88). A new PIN
 * gets the MK re-wrapped (opened through the SO record), so keys stay
 * usable. Grants no user rights. */
static fk_sw_t cmd_reset_retry(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const hsm_state_t *ses = hsm_state(ctx);
    const bool so_session = fk_pin_verified(&ses->pins, &hsm_so_pin);
    const fk_pin_status_t none = {0};
    uint8_t mk[HSM_MK_LEN];
    hsm_config_t cfg;
    fk_sw_t sw;

    (void)resp;
    if (cmd->p1 > RRC_SESSION) return FK_SW_WRONG_P1P2;
    if (cmd->p2 != PIN_REF_USER || !config_load(ctx, &cfg)) return FK_SW_REF_NOT_FOUND;
    if (!(cfg.options & OPT_RRC)) return FK_SW_COMMAND_NOT_ALLOWED;
    if ((cmd->p1 == RRC_SO_ONLY || cmd->p1 == RRC_SESSION) && !(cfg.options & OPT_RRC_COUNTER_ONLY))
        return FK_SW_COMMAND_NOT_ALLOWED;

    switch (cmd->p1) {
    case RRC_SO_AND_NEW_PIN:
        if (cmd->nc < SO_PIN_LEN + USER_PIN_MIN || cmd->nc > SO_PIN_LEN + USER_PIN_MAX)
            return FK_SW_WRONG_LENGTH;
        sw = so_prove(ctx, cmd->data, mk);
        if (sw == FK_SW_OK)
            sw = user_pin_set(ctx, &cfg, cmd->data + SO_PIN_LEN, cmd->nc - SO_PIN_LEN, mk);
        fk_wipe(mk, sizeof(mk));
        return sw;
    case RRC_SO_ONLY:
        if (cmd->nc != SO_PIN_LEN) return FK_SW_WRONG_LENGTH;
        sw = so_prove(ctx, cmd->data, NULL);
        if (sw == FK_SW_OK) sw = pin_sw(fk_pin_reset_tries(ctx, &hsm_user_pin), &none);
        return sw;
    case RRC_NEW_PIN:
        if (cmd->nc < USER_PIN_MIN || cmd->nc > USER_PIN_MAX) return FK_SW_WRONG_LENGTH;
        if (!so_session || !ses->so_mk_loaded) return FK_SW_SECURITY_NOT_SATISFIED;
        return user_pin_set(ctx, &cfg, cmd->data, cmd->nc, ses->mk);
    default: /* RRC_SESSION */
        if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
        if (!so_session) return FK_SW_SECURITY_NOT_SATISFIED;
        return pin_sw(fk_pin_reset_tries(ctx, &hsm_user_pin), &none);
    }
}

/* ---- INITIALIZE DEVICE ----------------------------------------------------------- */

typedef struct init_req {
    const uint8_t *user_pin;
    size_t user_pin_len;
    const uint8_t *so_pin;
    hsm_config_t cfg;
} init_req_t;

/* Tags INITIALIZE accepts, with their value lengths; the index is the bit in
 * the "seen" mask. */
typedef struct init_tag {
    uint8_t tag;
    uint8_t min_len, max_len;
} init_tag_t;

static const init_tag_t k_init_tags[] = {
    {TAG_OPTIONS, 2, 2},
    {TAG_USER_PIN, USER_PIN_MIN, USER_PIN_MAX},
    {TAG_SO_PIN, SO_PIN_LEN, SO_PIN_LEN},
    {TAG_USER_TRIES, 1, 1},
    {TAG_DKEK_SHARES, 1, 1},
    {TAG_PKA, 2, 2},
    {TAG_BIO_SERVER1, 0, BIO_AID_MAX},
    {TAG_BIO_SERVER2, 0, BIO_AID_MAX},
    {TAG_KEY_DOMAINS, 1, 1},
};
_Static_assert(FK_ARRAY_SIZE(k_init_tags) <= 32u, "one bit per tag in the seen mask");

/* Parse and validate every TLV of INITIALIZE: unknown or repeated tags, bad
 * lengths or values, a missing user PIN or SO-PIN are 6A80. */
static fk_sw_t init_parse(const uint8_t *data, size_t len, init_req_t *req)
{
    const uint8_t *pos = data;
    const uint8_t *const end = data + len;
    uint32_t seen = 0;
    fk_tlv_t t;
    int rc;

    memset(req, 0, sizeof(*req));
    req->cfg.user_tries = USER_TRIES_DEFAULT;
    while ((rc = fk_tlv_next(&pos, end, &t)) == FK_TLV_OK) {
        size_t i = 0;
        while (i < FK_ARRAY_SIZE(k_init_tags) && k_init_tags[i].tag != t.tag) i++;
        if (i == FK_ARRAY_SIZE(k_init_tags) || (seen & (1u << i)) != 0 ||
            t.len < k_init_tags[i].min_len || t.len > k_init_tags[i].max_len)
            return FK_SW_WRONG_DATA;
        seen |= 1u << i;
        switch (t.tag) {
        case TAG_OPTIONS:
            req->cfg.options = (uint16_t)(fk_be16(t.value) & ~OPT_SESSION_PIN);
            break;
        case TAG_USER_PIN:
            req->user_pin = t.value;
            req->user_pin_len = t.len;
            break;
        case TAG_SO_PIN:
            req->so_pin = t.value;
            break;
        case TAG_USER_TRIES:
            if (t.value[0] < USER_TRIES_MIN || t.value[0] > USER_TRIES_MAX) return FK_SW_WRONG_DATA;
            req->cfg.user_tries = t.value[0];
            break;
        case TAG_DKEK_SHARES:
            req->cfg.flags |= CFG_HAS_DKEK;
            req->cfg.dkek_shares = t.value[0];
            break;
        case TAG_PKA:
            if (t.value[0] < 1u || t.value[0] > PKA_KEYS_MAX || t.value[1] < 1u ||
                t.value[1] > t.value[0])
                return FK_SW_WRONG_DATA;
            req->cfg.flags |= CFG_HAS_PKA;
            req->cfg.pka_total = t.value[0];
            req->cfg.pka_required = t.value[1];
            break;
        case TAG_KEY_DOMAINS:
            if (t.value[0] == 0 || t.value[0] > HSM_DOMAINS_MAX) return FK_SW_WRONG_DATA;
            req->cfg.flags |= CFG_HAS_DOMAINS;
            req->cfg.key_domains = t.value[0];
            break;
        default: /* biometric server AIDs: accepted and ignored */
            break;
        }
    }
    if (rc != FK_TLV_END || req->user_pin == NULL || req->so_pin == NULL) return FK_SW_WRONG_DATA;
    return FK_SW_OK;
}

/* INITIALIZE without data: free memory of the main partition, then the
 * version. */
static fk_sw_t init_version_info(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    fk_store_stats_t stats;
    uint8_t *out = fk_rbuf_reserve(resp, VERSION_INFO_LEN);

    if (out == NULL) return FK_SW_UNKNOWN;
    fk_store_stats(ctx->space.store, &stats);
    fk_put_be32(out, stats.free);
    out[4] = 0;
    out[5] = FK_HSM_VERSION_MAJOR;
    out[6] = FK_HSM_VERSION_MINOR;
    return FK_SW_OK;
}

/* Stage the new device state in the open batch: the user objects erased,
 * both PIN records (each retry counter written first), the configuration,
 * the key domains (hsm_dkek.c). */
static fk_sw_t init_stage(const fk_applet_ctx_t *ctx, const init_req_t *req,
                          const uint8_t mk[HSM_MK_LEN])
{
    const uint8_t user_flags = (req->cfg.options & OPT_TRANSPORT_PIN) ? FK_PIN_F_MUST_CHANGE : 0u;
    const fk_pin_status_t none = {0};
    int rc;

    for (size_t i = 0; i < FK_ARRAY_SIZE(k_user_objects); i++) {
        rc = fk_space_delete_range(&ctx->space, k_user_objects[i].first, k_user_objects[i].last);
        if (rc != FK_STORE_OK) return hsm_store_sw(rc);
    }
    rc = fk_pin_set(ctx, &hsm_user_pin, req->user_pin, req->user_pin_len, req->cfg.user_tries,
                    user_flags, mk);
    if (rc == FK_PIN_OK) rc = fk_pin_set(ctx, &hsm_so_pin, req->so_pin, SO_PIN_LEN, SO_TRIES, 0, mk);
    if (rc != FK_PIN_OK) return pin_sw(rc, &none);
    const fk_sw_t sw = hsm_store_sw(config_write(ctx, &req->cfg));
    if (sw != FK_SW_OK) return sw;
    return hsm_domains_init(ctx, (req->cfg.flags & CFG_HAS_DKEK) != 0, req->cfg.dkek_shares,
                            (req->cfg.flags & CFG_HAS_DOMAINS) != 0);
}

/* INITIALIZE DEVICE (80 50): without data, the version information; with
 * data, (re-)initialize. Once anything of an initialized device exists, tag
 * 82 must prove the SO-PIN (one SO try spent first). Then everything is one
 * batch: the old device or the new one after a power cut or a full store.
 * The session is logged out. */
static fk_sw_t cmd_initialize(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t mk[HSM_MK_LEN];
    init_req_t req;
    fk_sw_t sw;

    if (cmd->p1 != 0 || cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc == 0) return init_version_info(ctx, resp);
    sw = init_parse(cmd->data, cmd->nc, &req);
    if (sw != FK_SW_OK) return sw;
    if (owned(ctx)) {
        sw = so_prove(ctx, req.so_pin, NULL);
        if (sw != FK_SW_OK) return sw;
    }

    if (fk_rng_bytes(mk, sizeof(mk)) != FK_CRYPTO_OK) return FK_SW_EXEC_ERROR;
    hsm_session_clear(ctx);
    sw = hsm_store_sw(fk_space_batch_begin(&ctx->space));
    if (sw == FK_SW_OK) sw = hsm_batch_end(ctx, init_stage(ctx, &req, mk));
    fk_wipe(mk, sizeof(mk));
    /* The erased keys' use counters: bound to generations no key has any
     * more, removed to give the space back (a failure here costs nothing). */
    if (sw == FK_SW_OK)
        (void)fk_space_delete_range(&ctx->counters, HSM_FID(HSM_PREFIX_KEY, 0x01u),
                                    HSM_FID(HSM_PREFIX_KEY, 0xFFu));
    return sw;
}

const fk_command_t hsm_pin_commands[] = {
    {FK_INS_VERIFY, cmd_verify},
    {FK_INS_CHANGE_REF_DATA, cmd_change},
    {FK_INS_RESET_RETRY, cmd_reset_retry},
    {INS_INITIALIZE, cmd_initialize},
};
const size_t hsm_pin_commands_len = FK_ARRAY_SIZE(hsm_pin_commands);

/* ---- Migration to the OTP root (docs/migration.md) ---------------------------- */

/* The HSM's migrate hook (fk_applet_t.migrate): re-seal both PIN records,
 * every key domain record and every key object CCxx (the device key CC00
 * included) under the current root, one atomic write each and nothing for a
 * record already there; count the PIN verifiers that only their PIN can
 * move. Every record is tried even after a failure. */
fk_sw_t hsm_migrate(const fk_applet_ctx_t *ctx, unsigned *pending)
{
    const uint16_t last_key = HSM_FID(HSM_PREFIX_KEY, 0xFFu);
    fk_sw_t sw = FK_SW_OK;
    uint32_t from = HSM_FID(HSM_PREFIX_KEY, 0x00u);
    uint16_t id;
    int rc;

    if (fk_pin_migrate(ctx, &hsm_user_pin, pending) != FK_PIN_OK) sw = FK_SW_MEMORY_FAILURE;
    if (fk_pin_migrate(ctx, &hsm_so_pin, pending) != FK_PIN_OK) sw = FK_SW_MEMORY_FAILURE;
    if (hsm_domains_migrate(ctx) != FK_SW_OK) sw = FK_SW_MEMORY_FAILURE;
    while ((rc = fk_space_first(&ctx->space, from, &id)) == FK_STORE_OK && id <= last_key) {
        if (fk_key_migrate(ctx, id) != FK_KEY_OK) sw = FK_SW_MEMORY_FAILURE;
        from = (uint32_t)id + 1u;
    }
    if (rc != FK_STORE_OK && rc != FK_STORE_ENOENT) sw = FK_SW_MEMORY_FAILURE;
    return sw;
}
