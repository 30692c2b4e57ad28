/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm.c - the SmartCard-HSM compatible applet: selection, session state and
 * command dispatch. Protocol facts are collected in docs/hsm.md.
 */
#include "hsm.h"

#include <string.h>

#include "hsm_internal.h"

#include "crypto/crypto.h"
#include "services/ns.h"
#include "tlv.h"
#include "util.h"

const uint8_t fk_hsm_aid[FK_HSM_AID_LEN] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01,
                                            0x81, 0xC3, 0x1F, 0x02, 0x01};

/* FCP tags (ISO 7816-4 table 12) */
#define TAG_FCP 0x62u
#define TAG_FCP_DESCRIPTOR 0x82u
#define TAG_FCP_DF_NAME 0x84u
#define TAG_FCP_LIFECYCLE 0x8Au
#define TAG_FCP_PROPRIETARY 0x85u

#define FCP_DESCRIPTOR_DF 0x38u  /* DF, not shareable */
#define LIFECYCLE_ACTIVATED 0x05u
#define APPLET_TYPE_GENERIC 0xFFu

_Static_assert(sizeof(hsm_state_t) <= FK_HSM_STATE_SIZE, "the session fits its state area");

hsm_state_t *hsm_state(const fk_applet_ctx_t *ctx)
{
    FK_ASSERT(ctx->state != NULL);
    return (hsm_state_t *)ctx->state;
}

void hsm_session_clear(const fk_applet_ctx_t *ctx) { fk_wipe(hsm_state(ctx), sizeof(hsm_state_t)); }

bool hsm_user_ready(const fk_applet_ctx_t *ctx)
{
    const hsm_state_t *st = hsm_state(ctx);
    return fk_pin_verified(&st->pins, &hsm_user_pin) && st->mk_loaded;
}

/* The application FCP: 85 must be a direct child of 62 and exactly 5 bytes
 * (options, applet type, version), and no A5 may follow it. */
static fk_sw_t write_fcp(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    uint16_t options = hsm_options(ctx);
    const uint8_t prop[] = {(uint8_t)(options >> 8), (uint8_t)options, APPLET_TYPE_GENERIC,
                            FK_HSM_VERSION_MAJOR, FK_HSM_VERSION_MINOR};
    const uint8_t descriptor = FCP_DESCRIPTOR_DF;
    const uint8_t lifecycle = LIFECYCLE_ACTIVATED;

    fk_tlv_mark_t m = fk_tlv_begin(resp, TAG_FCP);
    bool ok = m.ok && fk_tlv_put(resp, TAG_FCP_DESCRIPTOR, &descriptor, 1) &&
              fk_tlv_put(resp, TAG_FCP_DF_NAME, fk_hsm_aid, sizeof(fk_hsm_aid)) &&
              fk_tlv_put(resp, TAG_FCP_LIFECYCLE, &lifecycle, 1) &&
              fk_tlv_put(resp, TAG_FCP_PROPRIETARY, prop, sizeof(prop)) && fk_tlv_end(resp, m);
    return ok ? FK_SW_OK : FK_SW_UNKNOWN;
}

static fk_sw_t hsm_select(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    hsm_session_clear(ctx);
    /* The device identity is made on the first start; a failure here (no
     * entropy, full flash) shows later as a missing 2F02, not as a card
     * that cannot be selected. */
    (void)hsm_device_ensure(ctx);
    if (cmd == NULL) return FK_SW_OK; /* implicit selection at power-on */
    switch (cmd->p2) {
    case FK_SELECT_P2_FCI:
    case FK_SELECT_P2_FCP:
        return write_fcp(ctx, resp);
    case FK_SELECT_P2_NONE:
        return FK_SW_OK;
    default:
        return FK_SW_INCORRECT_P1P2;
    }
}

/* GET CHALLENGE: Ne random bytes from the DRBG. */
static fk_sw_t cmd_get_challenge(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)ctx;
    if (cmd->p1 != 0 || cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc != 0 || cmd->ne == 0) return FK_SW_WRONG_LENGTH;
    uint8_t *out = fk_rbuf_reserve(resp, cmd->ne);
    if (out == NULL) return FK_SW_WRONG_LENGTH;
    if (fk_rng_bytes(out, cmd->ne) != FK_CRYPTO_OK) return FK_SW_EXEC_ERROR;
    return FK_SW_OK;
}

static const fk_command_t k_commands[] = {
    {FK_INS_GET_CHALLENGE, cmd_get_challenge},
};

typedef struct command_table {
    const fk_command_t *table;
    const size_t *len;
} command_table_t;

static const command_table_t k_tables[] = {
    {k_commands, NULL},
    {hsm_pin_commands, &hsm_pin_commands_len},
    {hsm_file_commands, &hsm_file_commands_len},
    {hsm_key_commands, &hsm_key_commands_len},
    {hsm_cipher_commands, &hsm_cipher_commands_len},
    {hsm_dkek_commands, &hsm_dkek_commands_len},
    {hsm_wrap_commands, &hsm_wrap_commands_len},
};

static fk_sw_t hsm_process(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    /* Clients use CLA 00 and 80 interchangeably for this applet's commands. */
    if ((cmd->cla & ~(uint8_t)FK_CLA_PROPRIETARY) != 0) return FK_SW_CLA_NOT_SUPPORTED;
    for (size_t t = 0; t < FK_ARRAY_SIZE(k_tables); t++) {
        size_t n = k_tables[t].len ? *k_tables[t].len : FK_ARRAY_SIZE(k_commands);
        fk_sw_t sw = fk_dispatch(k_tables[t].table, n, ctx, cmd, resp);
        if (sw != FK_SW_INS_NOT_SUPPORTED) return sw;
    }
    return FK_SW_INS_NOT_SUPPORTED;
}

static void hsm_deselect(const fk_applet_ctx_t *ctx) { hsm_session_clear(ctx); }

const fk_applet_t fk_hsm_applet = {
    .name = "hsm",
    .aid = fk_hsm_aid,
    .aid_len = sizeof(fk_hsm_aid),
    .ns = FK_NS_HSM,
    .state_size = FK_HSM_STATE_SIZE,
    /* A SmartCard-HSM answers a command sent without Le with its status
     * alone: CardContact's PKCS#11 module sends GENERATE ASYMMETRIC KEY PAIR
     * that way and reads the request from CE<id> afterwards. */
    .no_le = FK_NO_LE_DROP,
    .select = hsm_select,
    .process = hsm_process,
    .deselect = hsm_deselect,
    .power_off = hsm_deselect,
    .migrate = hsm_migrate,
};
