/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm.c - the SmartCard-HSM compatible applet: selection, session state and
 * command dispatch. Protocol facts are collected in docs/hsm.md.
 */
#include "hsm.h"

#include <string.h>

#include "crypto/crypto.h"
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

/* Volatile session state: cleared on SELECT, deselect and power-off. */
typedef struct hsm_session {
    bool user_verified;
    bool so_verified;
    uint16_t current_ef;
} hsm_session_t;

static hsm_session_t s_session;

static void clear_session(void)
{
    fk_wipe(&s_session, sizeof(s_session));
}

/* Device options as set by INITIALIZE; none until the device is initialized. */
static uint16_t device_options(const fk_applet_ctx_t *ctx)
{
    (void)ctx;
    return 0;
}

/* The application FCP: 85 must be a direct child of 62 and exactly 5 bytes
 * (options, applet type, version), and no A5 may follow it. */
static fk_sw_t write_fcp(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    uint16_t options = device_options(ctx);
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
    clear_session();
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

/* SELECT of a file inside the applet (P1 00, 08, ...). */
static fk_sw_t cmd_select_file(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)ctx;
    (void)resp;
    if (cmd->p1 != FK_SELECT_P1_FID && cmd->p1 != FK_SELECT_P1_PATH) return FK_SW_INCORRECT_P1P2;
    if (cmd->p2 != FK_SELECT_P2_FCI && cmd->p2 != FK_SELECT_P2_FCP && cmd->p2 != FK_SELECT_P2_NONE)
        return FK_SW_INCORRECT_P1P2;
    return FK_SW_FILE_NOT_FOUND;
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
    {FK_INS_SELECT, cmd_select_file},
    {FK_INS_GET_CHALLENGE, cmd_get_challenge},
};

static fk_sw_t hsm_process(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    /* Clients use CLA 00 and 80 interchangeably for this applet's commands. */
    if ((cmd->cla & ~(uint8_t)FK_CLA_PROPRIETARY) != 0) return FK_SW_CLA_NOT_SUPPORTED;
    return fk_dispatch(k_commands, FK_ARRAY_SIZE(k_commands), ctx, cmd, resp);
}

static void hsm_deselect(const fk_applet_ctx_t *ctx)
{
    (void)ctx;
    clear_session();
}

const fk_applet_t fk_hsm_applet = {
    .name = "hsm",
    .aid = fk_hsm_aid,
    .aid_len = sizeof(fk_hsm_aid),
    .select = hsm_select,
    .process = hsm_process,
    .deselect = hsm_deselect,
    .power_off = hsm_deselect,
};
