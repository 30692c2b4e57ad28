/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido.c - the FIDO applet's descriptor, its APDU entry (NFCCTAP_MSG and the
 * U2F APDUs), the CTAP2 command dispatch, getInfo, reset and selection
 * (docs/fido.md).
 */
#include <string.h>

#include "fido_internal.h"
#include "services/ns.h"
#include "services/services.h"
#include "seal/seal.h"
#include "store/store.h"
#include "util.h"
#include "version.h"

const uint8_t fk_fido_aid[FK_FIDO_AID_LEN] = {0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};

/* The AAGUID of fusekey's FIDO authenticator (random, fixed for the
 * product; docs/fido.md). */
const uint8_t fido_aaguid[16] = {0x6b, 0x1e, 0x3d, 0x0a, 0x55, 0x2f, 0x4c, 0x39,
                                 0x9a, 0x8e, 0x21, 0x7c, 0xf0, 0x4d, 0x13, 0xb6};

static const char k_u2f_version[] = "U2F_V2";

/* ---- Presence -------------------------------------------------------------- */

uint8_t fido_presence(const fk_applet_ctx_t *ctx)
{
    switch (fk_services_presence(ctx->svc, ctx->keepalive, ctx->keepalive_arg)) {
    case FK_HAL_OK:
        return CTAP_OK;
    case FK_HAL_EDENIED:
        return CTAP2_ERR_OPERATION_DENIED;
    case FK_HAL_ECANCELED:
        return CTAP2_ERR_KEEPALIVE_CANCEL;
    default:
        return CTAP2_ERR_USER_ACTION_TIMEOUT;
    }
}

/* ---- getInfo (04) ------------------------------------------------------------ */

static void put_options(const fk_applet_ctx_t *ctx, fk_cbor_writer_t *w, const fido_config_t *cfg,
                        bool pin_set)
{
    /* Keys in canonical order: length first, then byte-wise. */
    /* "ep" only once a certificate from the user's CA makes enterprise
     * attestation possible (docs/fido-attestation.md). */
    const bool ep = fido_attest_ep_capable(ctx);
    fk_cbor_put_map(w, ep ? 12u : 11u);
    if (ep) {
        fk_cbor_put_cstr(w, "ep");
        fk_cbor_put_bool(w, (cfg->flags & FIDO_CFG_EP) != 0u);
    }
    fk_cbor_put_cstr(w, "rk");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "up");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "plat");
    fk_cbor_put_bool(w, false);
    fk_cbor_put_cstr(w, "alwaysUv");
    fk_cbor_put_bool(w, (cfg->flags & FIDO_CFG_ALWAYS_UV) != 0u);
    fk_cbor_put_cstr(w, "credMgmt");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "authnrCfg");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "clientPin");
    fk_cbor_put_bool(w, pin_set);
    fk_cbor_put_cstr(w, "largeBlobs");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "pinUvAuthToken");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "setMinPINLength");
    fk_cbor_put_bool(w, true);
    fk_cbor_put_cstr(w, "makeCredUvNotRqd");
    fk_cbor_put_bool(w, true);
}

uint8_t fido_cmd_get_info(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w)
{
    (void)req;
    fido_config_t cfg;
    uint8_t st = fido_config_load(ctx, &cfg);
    if (st != CTAP_OK) return st;
    unsigned used = 0, free_slots = 0;
    st = fido_rk_count(ctx, &used, &free_slots);
    if (st != CTAP_OK) return st;
    const bool pin_set = fido_pin_is_set(ctx);
    const bool always_uv = (cfg.flags & FIDO_CFG_ALWAYS_UV) != 0u;

    fk_cbor_put_map(w, 17);
    fk_cbor_put_uint(w, 0x01); /* versions */
    fk_cbor_put_array(w, always_uv ? 3 : 4);
    if (!always_uv) fk_cbor_put_cstr(w, k_u2f_version);
    fk_cbor_put_cstr(w, "FIDO_2_0");
    fk_cbor_put_cstr(w, "FIDO_2_1_PRE");
    fk_cbor_put_cstr(w, "FIDO_2_1");
    fk_cbor_put_uint(w, 0x02); /* extensions */
    fk_cbor_put_array(w, 5);
    fk_cbor_put_cstr(w, "credBlob");
    fk_cbor_put_cstr(w, "credProtect");
    fk_cbor_put_cstr(w, "hmac-secret");
    fk_cbor_put_cstr(w, "largeBlobKey");
    fk_cbor_put_cstr(w, "minPinLength");
    fk_cbor_put_uint(w, 0x03); /* aaguid */
    fk_cbor_put_bytes(w, fido_aaguid, sizeof fido_aaguid);
    fk_cbor_put_uint(w, 0x04); /* options */
    put_options(ctx, w, &cfg, pin_set);
    fk_cbor_put_uint(w, 0x05); /* maxMsgSize */
    fk_cbor_put_uint(w, FK_FIDO_MAX_MSG);
    fk_cbor_put_uint(w, 0x06); /* pinUvAuthProtocols, preferred first */
    fk_cbor_put_array(w, 2);
    fk_cbor_put_uint(w, 2);
    fk_cbor_put_uint(w, 1);
    fk_cbor_put_uint(w, 0x07); /* maxCredentialCountInList */
    fk_cbor_put_uint(w, FIDO_LIST_MAX);
    fk_cbor_put_uint(w, 0x08); /* maxCredentialIdLength */
    fk_cbor_put_uint(w, FIDO_CRED_ID_LEN);
    fk_cbor_put_uint(w, 0x09); /* transports */
    fk_cbor_put_array(w, 1);
    fk_cbor_put_cstr(w, "usb");
    fk_cbor_put_uint(w, 0x0A); /* algorithms */
    fk_cbor_put_array(w, 2);
    static const int64_t algs[] = {FIDO_COSE_ES256, FIDO_COSE_EDDSA};
    for (size_t i = 0; i < FK_ARRAY_SIZE(algs); i++) {
        fk_cbor_put_map(w, 2);
        fk_cbor_put_cstr(w, "alg");
        fk_cbor_put_int(w, algs[i]);
        fk_cbor_put_cstr(w, "type");
        fk_cbor_put_cstr(w, "public-key");
    }
    fk_cbor_put_uint(w, 0x0B); /* maxSerializedLargeBlobArray */
    fk_cbor_put_uint(w, FIDO_LARGE_BLOB_MAX);
    fk_cbor_put_uint(w, 0x0C); /* forcePINChange */
    fk_cbor_put_bool(w, (cfg.flags & FIDO_CFG_FORCE_CHANGE) != 0u);
    fk_cbor_put_uint(w, 0x0D); /* minPINLength */
    fk_cbor_put_uint(w, cfg.min_pin_len);
    fk_cbor_put_uint(w, 0x0E); /* firmwareVersion */
    fk_cbor_put_uint(w, ((uint32_t)FK_VERSION_MAJOR << 8) | FK_VERSION_MINOR);
    fk_cbor_put_uint(w, 0x0F); /* maxCredBlobLength */
    fk_cbor_put_uint(w, FIDO_CRED_BLOB_MAX);
    fk_cbor_put_uint(w, 0x10); /* maxRPIDsForSetMinPINLength */
    fk_cbor_put_uint(w, FIDO_MINPIN_RPIDS_MAX);
    fk_cbor_put_uint(w, 0x14); /* remainingDiscoverableCredentials */
    fk_cbor_put_uint(w, free_slots);
    return CTAP_OK;
}

/* ---- reset (07) and selection (0B) ------------------------------------------- */

uint8_t fido_cmd_reset(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w)
{
    (void)req;
    (void)w;
    /* Only within FIDO_RESET_WINDOW_MS of power-up (CTAP 2.1 §6.6). */
    if (fk_services_uptime_ms(ctx->svc) > FIDO_RESET_WINDOW_MS) return CTAP2_ERR_NOT_ALLOWED;
    const uint8_t st = fido_presence(ctx);
    if (st != CTAP_OK) return st;
    /* Every record of the namespace goes: the master secret (so every
     * credential id ever issued stops opening), resident credentials, the
     * PIN and its counter, the config, large blobs, the signature counter. */
    if (fk_services_reset_applet(ctx->svc, &fk_fido_applet) != FK_SERVICES_OK) return CTAP1_ERR_OTHER;
    fk_wipe(ctx->state, sizeof(fido_state_t));
    return CTAP_OK;
}

uint8_t fido_cmd_selection(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w)
{
    (void)req;
    (void)w;
    return fido_presence(ctx);
}

/* ---- Dispatch ------------------------------------------------------------------ */

typedef uint8_t (*fido_cmd_fn)(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                               fk_cbor_writer_t *w);

static const struct {
    uint8_t cmd;
    fido_cmd_fn fn;
} k_commands[] = {
    {FIDO_CMD_MAKE_CREDENTIAL, fido_cmd_make_credential},
    {FIDO_CMD_GET_ASSERTION, fido_cmd_get_assertion},
    {FIDO_CMD_GET_INFO, fido_cmd_get_info},
    {FIDO_CMD_CLIENT_PIN, fido_cmd_client_pin},
    {FIDO_CMD_RESET, fido_cmd_reset},
    {FIDO_CMD_GET_NEXT_ASSERTION, fido_cmd_get_next_assertion},
    {FIDO_CMD_CRED_MGMT, fido_cmd_cred_mgmt},
    {FIDO_CMD_CRED_MGMT_PRE, fido_cmd_cred_mgmt},
    {FIDO_CMD_SELECTION, fido_cmd_selection},
    {FIDO_CMD_LARGE_BLOBS, fido_cmd_large_blobs},
    {FIDO_CMD_CONFIG, fido_cmd_config},
};

/* One CTAP2 message (command byte || CBOR) into out (status || CBOR);
 * returns the response length (>= 1). */
static size_t fido_cbor(const fk_applet_ctx_t *ctx, const uint8_t *msg, size_t len, uint8_t *out,
                        size_t cap)
{
    FK_ASSERT(len >= 1u && cap >= 1u);
    fido_cmd_fn fn = NULL;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_commands); i++) {
        if (k_commands[i].cmd == msg[0]) fn = k_commands[i].fn;
    }
    /* getNextAssertion is only valid straight after getAssertion, and a
     * credential-management enumeration only straight after its begin. */
    fido_state_t *st = fido_state(ctx);
    if (msg[0] != FIDO_CMD_GET_NEXT_ASSERTION) st->cs.gna_left = 0;
    if (msg[0] != FIDO_CMD_CRED_MGMT && msg[0] != FIDO_CMD_CRED_MGMT_PRE) st->cs.cm_kind = 0;
    if (fn == NULL) {
        out[0] = CTAP1_ERR_INVALID_COMMAND;
        return 1;
    }
    fk_cbor_item_t top;
    const fk_cbor_item_t *req = NULL;
    if (len > 1u) {
        const fk_cbor_err_t e = fk_cbor_decode(msg + 1, len - 1u, 0, &top);
        if (e != FK_CBOR_OK) {
            out[0] = (uint8_t)e;
            return 1;
        }
        if (top.type != FK_CBOR_MAP) {
            out[0] = CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            return 1;
        }
        req = &top;
    }
    const size_t body_cap = FK_MIN(cap, (size_t)FK_FIDO_MAX_MSG) - 1u;
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, out + 1, body_cap);
    uint8_t status = fn(ctx, req, &w);
    size_t body = 0;
    if (status == CTAP_OK && w.len > 0u) {
        if (fk_cbor_writer_finish(&w, &body) != FK_CBOR_OK) {
            status = CTAP2_ERR_REQUEST_TOO_LARGE;
            body = 0;
        }
    }
    if (status != CTAP_OK) fk_wipe(out + 1, body_cap);
    out[0] = status;
    return 1u + body;
}

static fk_sw_t fido_select(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)cmd;
    fido_config_t cfg;
    /* With alwaysUv the authenticator is CTAP2 only (CTAP 2.1 §10). */
    const bool ctap2_only = fido_config_load(ctx, &cfg) == CTAP_OK &&
                            (cfg.flags & FIDO_CFG_ALWAYS_UV) != 0u;
    const char *v = ctap2_only ? "FIDO_2_0" : k_u2f_version;
    return fk_rbuf_put(resp, v, strlen(v)) ? FK_SW_OK : FK_SW_WRONG_LENGTH;
}

static fk_sw_t fido_process(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->cla == FK_FIDO_CLA_NFCCTAP) {
        if (cmd->ins == FK_FIDO_INS_NFCCTAP_MSG) {
            if ((cmd->p1 != 0x00u && cmd->p1 != 0x80u) || cmd->p2 != 0x00u)
                return FK_SW_INCORRECT_P1P2;
            if (cmd->nc == 0u) return FK_SW_WRONG_LENGTH;
            if (fk_rbuf_room(resp) < 1u) return FK_SW_WRONG_LENGTH;
            uint8_t *out = resp->p + resp->len;
            const size_t n = fido_cbor(ctx, cmd->data, cmd->nc, out, fk_rbuf_room(resp));
            resp->len += n;
            return FK_SW_OK;
        }
        /* Every response is complete when NFCCTAP_MSG returns (the device
         * never answers 9100), so there is nothing to get. */
        if (cmd->ins == FK_FIDO_INS_NFCCTAP_GETRESPONSE) return FK_SW_CONDITIONS_NOT_SATISFIED;
        if (cmd->ins == FK_FIDO_INS_ATTEST) return fido_attest_apdu(ctx, cmd, resp);
        return FK_SW_INS_NOT_SUPPORTED;
    }
    if (cmd->cla == 0x00u) return fido_u2f(ctx, cmd, resp);
    return FK_SW_CLA_NOT_SUPPORTED;
}

/* Migration to the OTP root (docs/migration.md): every sealed record and the
 * PIN verifier. Every record is tried even after a failure. */
static fk_sw_t fido_migrate(const fk_applet_ctx_t *ctx, unsigned *pending)
{
    fk_sw_t sw = FK_SW_OK;
    if (fk_pin_migrate(ctx, &fido_pin_ref, pending) != FK_PIN_OK) sw = FK_SW_MEMORY_FAILURE;
    static const uint16_t ids[] = {FIDO_ID_MASTER, FIDO_ID_CONFIG, FIDO_ID_ATT_KEY,
                                   FIDO_ID_BATCH_KEY};
    for (size_t i = 0; i < FK_ARRAY_SIZE(ids); i++) {
        const int rc = fk_seal_reseal(&ctx->space, ids[i], NULL);
        if (rc != FK_SEAL_OK && rc != FK_SEAL_ENOENT) sw = FK_SW_MEMORY_FAILURE;
    }
    uint32_t from = FIDO_ID_RK_FIRST;
    uint16_t id;
    int rc;
    while ((rc = fk_space_first(&ctx->space, from, &id)) == FK_STORE_OK && id <= FIDO_ID_RK_LAST) {
        const int r = fk_seal_reseal(&ctx->space, id, NULL);
        if (r != FK_SEAL_OK && r != FK_SEAL_ENOENT) sw = FK_SW_MEMORY_FAILURE;
        from = (uint32_t)id + 1u;
    }
    if (rc != FK_STORE_OK && rc != FK_STORE_ENOENT) sw = FK_SW_MEMORY_FAILURE;
    return sw;
}

_Static_assert(FK_FIDO_STATE_SIZE % 8u == 0u, "aligned state");

const fk_applet_t fk_fido_applet = {
    .name = "fido",
    .aid = fk_fido_aid,
    .aid_len = sizeof(fk_fido_aid),
    .ns = FK_NS_FIDO,
    .state_size = FK_FIDO_STATE_SIZE,
    .no_le = FK_NO_LE_SEND,
    .select = fido_select,
    .process = fido_process,
    .deselect = NULL,
    .power_off = NULL,
    .migrate = fido_migrate,
};
