/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue.c - the rescue applet. Its SELECT answer tells host tools what
 * they are talking to: platform, product, firmware version, chip serial.
 * This file holds the dispatch and the commands that need no module of
 * their own: board configuration, flash figures, reboot. The command set and
 * every status word are in docs/rescue.md.
 */
#include "rescue.h"

#include "hal.h"
#include "rescue_internal.h"
#include "rtc.h"
#include "services/ns.h"
#include "services/services.h"
#include "store/space.h"
#include "store/store.h"
#include "util.h"
#include "version.h"

const uint8_t fk_rescue_aid[FK_RESCUE_AID_LEN] = {0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21};

#define SERIAL_LEN 8u
/* platform(1) product(1) major(1) minor(1) serial(8) */
#define SELECT_ANSWER_LEN (4u + SERIAL_LEN)

static fk_sw_t rescue_select(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)ctx;
    if (cmd == NULL) return FK_SW_OK;
    if (cmd->p2 != FK_SELECT_P2_FCI && cmd->p2 != FK_SELECT_P2_FCP && cmd->p2 != FK_SELECT_P2_NONE)
        return FK_SW_INCORRECT_P1P2;
    if (cmd->p2 == FK_SELECT_P2_NONE) return FK_SW_OK;

    uint8_t *p = fk_rbuf_reserve(resp, SELECT_ANSWER_LEN);
    if (p == NULL) return FK_SW_UNKNOWN;
    p[0] = (uint8_t)fk_hal_platform();
    p[1] = FK_RESCUE_PRODUCT_HSM;
    p[2] = FK_VERSION_MAJOR;
    p[3] = FK_VERSION_MINOR;
    fk_hal_serial(p + 4);
    return FK_SW_OK;
}

/* ---- Board configuration (PHY) record ----------------------------------
 * A list of 1-byte-tag, 1-byte-length items; each tag at most once. */
#define PHY_VIDPID 0x00u
#define PHY_LED_GPIO 0x04u
#define PHY_LED_BRIGHTNESS 0x05u
#define PHY_OPTIONS 0x06u
#define PHY_PRESENCE_GPIO 0x08u
#define PHY_USB_PRODUCT 0x09u
#define PHY_CURVES 0x0Au
#define PHY_USB_ITF 0x0Bu
#define PHY_LED_DRIVER 0x0Cu
#define PHY_TAG_LIMIT 0x10u
#define PHY_PRODUCT_MAX 32u /* bytes including the terminating NUL */
#define PHY_RECORD_MAX 128u

static const struct {
    uint8_t tag;
    uint8_t len; /* exact length; 0 = the NUL-terminated product string */
} k_phy_items[] = {
    {PHY_VIDPID, 4},        {PHY_LED_GPIO, 1}, {PHY_LED_BRIGHTNESS, 1}, {PHY_OPTIONS, 2},
    {PHY_PRESENCE_GPIO, 1}, {PHY_USB_PRODUCT, 0}, {PHY_CURVES, 4},      {PHY_USB_ITF, 1},
    {PHY_LED_DRIVER, 1},
};

/* One item: a known tag with its exact length (or a valid product string). */
static bool phy_item_ok(uint8_t tag, const uint8_t *v, size_t len)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_phy_items); i++) {
        if (k_phy_items[i].tag != tag) continue;
        if (k_phy_items[i].len != 0) return len == k_phy_items[i].len;
        /* Product string: printable ASCII, NUL-terminated, no embedded NUL. */
        if (len < 2 || len > PHY_PRODUCT_MAX || v[len - 1] != 0) return false;
        for (size_t k = 0; k + 1 < len; k++) {
            if (v[k] < 0x20 || v[k] > 0x7E) return false;
        }
        return true;
    }
    return false;
}

/* Validate a PHY item list: known tags, exact lengths, no duplicates. */
bool rescue_phy_valid(const uint8_t *p, size_t len)
{
    bool seen[PHY_TAG_LIMIT] = {false};
    size_t i = 0;
    while (i < len) {
        if (len - i < 2) return false;
        uint8_t tag = p[i], n = p[i + 1];
        if ((size_t)n > len - i - 2) return false;
        if (tag >= PHY_TAG_LIMIT || seen[tag] || !phy_item_ok(tag, p + i + 2, n)) return false;
        seen[tag] = true;
        i += 2u + n;
    }
    return true;
}

/* 80 1C 01 00: store the board configuration (user presence required). */
static fk_sw_t write_config(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    if (cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc > PHY_RECORD_MAX) return FK_SW_WRONG_LENGTH;
    if (!rescue_phy_valid(cmd->data, cmd->nc)) return FK_SW_WRONG_DATA;
    fk_sw_t sw = fk_applet_presence(ctx);
    if (sw != FK_SW_OK) return sw;
    if (fk_space_write(&ctx->space, FK_ID_PHY_CONFIG, cmd->data, cmd->nc) != FK_STORE_OK)
        return FK_SW_MEMORY_FAILURE;
    return FK_SW_OK;
}

/* 80 1C P1 P2: write the board configuration or set the clock. */
static fk_sw_t cmd_write(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)resp;
    if (cmd->p1 == FK_RESCUE_CONFIG_PHY) return write_config(ctx, cmd);
    if (cmd->p1 == FK_RESCUE_CONFIG_RTC) return rescue_rtc_set(ctx, cmd);
    return FK_SW_INCORRECT_P1P2;
}

/* 80 1E 01 00: the board configuration (empty when none was written). */
static fk_sw_t read_config(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    uint32_t size;
    int rc = fk_space_size(&ctx->space, FK_ID_PHY_CONFIG, &size);
    if (rc == FK_STORE_ENOENT) return FK_SW_OK;
    if (rc != FK_STORE_OK || size > PHY_RECORD_MAX) return FK_SW_MEMORY_FAILURE;
    uint8_t *p = fk_rbuf_reserve(resp, size);
    if (p == NULL) return FK_SW_UNKNOWN;
    if (fk_space_read(&ctx->space, FK_ID_PHY_CONFIG, 0, p, size) != FK_STORE_OK)
        return FK_SW_MEMORY_FAILURE;
    return FK_SW_OK;
}

/* 80 1E 02 00: free, used, total bytes and live files over both store
 * partitions, then the size of the data region (5 x u32 big-endian).
 * 80 1E 02 01: the same five, then headers repaired and damage seen since
 * the start, and the lowest and highest sector erase counts (9 x u32). */
static fk_sw_t read_flash_info(const fk_applet_ctx_t *ctx, uint8_t p2, fk_rbuf_t *resp)
{
    fk_store_stats_t a, b;
    fk_flash_geometry_t geo;
    fk_store_stats(ctx->space.store, &a);
    fk_store_stats(ctx->counters.store, &b);
    fk_hal_flash_geometry(&geo);
    const uint32_t fields[] = {a.free + b.free,
                               a.used + b.used,
                               a.total + b.total,
                               a.files + b.files,
                               geo.size,
                               a.repaired + b.repaired,
                               a.damaged + b.damaged,
                               a.erase_min < b.erase_min ? a.erase_min : b.erase_min,
                               a.erase_max > b.erase_max ? a.erase_max : b.erase_max};
    _Static_assert(sizeof(fields) == FK_RESCUE_FLASH_HEALTH_LEN, "9 x u32");
    const size_t len = p2 == FK_RESCUE_FLASH_HEALTH ? FK_RESCUE_FLASH_HEALTH_LEN
                                                    : FK_RESCUE_FLASH_INFO_LEN;
    uint8_t *p = fk_rbuf_reserve(resp, len);
    if (p == NULL) return FK_SW_UNKNOWN;
    for (size_t i = 0; i < len / sizeof(uint32_t); i++)
        fk_put_be32(p + sizeof(uint32_t) * i, fields[i]);
    return FK_SW_OK;
}

/* 80 1E P1 P2: read the board configuration, the flash figures, the
 * secure-boot or anti-rollback status, or the clock. */
static fk_sw_t cmd_read(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p1 == FK_RESCUE_INFO_RTC) return rescue_rtc_get(ctx, cmd, resp);
    const bool known = cmd->p1 == FK_RESCUE_CONFIG_PHY || cmd->p1 == FK_RESCUE_INFO_FLASH ||
                       cmd->p1 == FK_RESCUE_INFO_BOOT || cmd->p1 == FK_RESCUE_INFO_ROLLBACK ||
                       cmd->p1 == FK_RESCUE_INFO_MIGRATION;
    const bool p2_ok = cmd->p2 == 0 ||
                       (cmd->p1 == FK_RESCUE_INFO_FLASH && cmd->p2 == FK_RESCUE_FLASH_HEALTH);
    if (!known || !p2_ok) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    switch (cmd->p1) {
    case FK_RESCUE_CONFIG_PHY: return read_config(ctx, resp);
    case FK_RESCUE_INFO_FLASH: return read_flash_info(ctx, cmd->p2, resp);
    case FK_RESCUE_INFO_BOOT: return rescue_boot_status(resp);
    case FK_RESCUE_INFO_MIGRATION: return rescue_migration_status(ctx, resp);
    default: return rescue_rollback_status(resp);
    }
}

/* 80 1F P1 00: reboot (P1 00) or reboot into BOOTSEL after user presence
 * (P1 01). The answer is 9000; the port carries the reboot out after the
 * response has left (docs/rescue.md). The clock is volatile and is
 * forgotten, as a real reboot forgets it. */
static fk_sw_t cmd_reboot(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)resp;
    if (cmd->p2 != 0 ||
        (cmd->p1 != FK_RESCUE_REBOOT_NORMAL && cmd->p1 != FK_RESCUE_REBOOT_BOOTSEL))
        return FK_SW_INCORRECT_P1P2;
    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    fk_reboot_mode_t mode = FK_REBOOT_NORMAL;
    if (cmd->p1 == FK_RESCUE_REBOOT_BOOTSEL) {
        fk_sw_t sw = fk_applet_presence(ctx);
        if (sw != FK_SW_OK) return sw;
        mode = FK_REBOOT_BOOTLOADER;
    }
    fk_rtc_clear(&ctx->svc->rtc);
    fk_hal_reboot(mode);
    return FK_SW_OK;
}

/* 1D (enable secure boot) is deliberately absent: 6D00 (docs/rescue.md). */
static const fk_command_t k_commands[] = {
    {FK_RESCUE_INS_DEVKEY, rescue_cmd_devkey},
    {FK_RESCUE_INS_OTP, rescue_cmd_otp_write},
    {FK_RESCUE_INS_WRITE, cmd_write},
    {FK_RESCUE_INS_READ, cmd_read},
    {FK_RESCUE_INS_REBOOT, cmd_reboot},
};

static fk_sw_t rescue_process(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->cla != FK_RESCUE_CLA) return FK_SW_CLA_NOT_SUPPORTED;
    return fk_dispatch(k_commands, FK_ARRAY_SIZE(k_commands), ctx, cmd, resp);
}

const fk_applet_t fk_rescue_applet = {
    .name = "rescue",
    .aid = fk_rescue_aid,
    .aid_len = sizeof(fk_rescue_aid),
    .ns = FK_NS_RESCUE,
    .state_size = FK_RESCUE_STATE_SIZE,
    .no_le = FK_NO_LE_ANNOUNCE,
    .select = rescue_select,
    .process = rescue_process,
    .deselect = NULL,
    .power_off = NULL,
    .migrate = rescue_migrate,
};
