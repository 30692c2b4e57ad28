/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue_otp.c - what the rescue applet reads and writes in the OTP.
 *
 * Reads: the secure-boot status (1E 03) and the anti-rollback status
 * (1E 06), from raw rows and the redundancy votes of otp_map.h.
 *
 * Writes: the firmware burns exactly two things, each behind an exact magic
 * payload, a state precondition and user presence, idempotently, and reads
 * back what it wrote (docs/rescue.md):
 *   1B 58 "LOCK58"  PAGE58_LOCK1 = 0x3C3C3C (page 58 closed to the
 *                   bootloader and non-secure code), only once an MKEK is
 *                   provisioned;
 *   1B 48 "ROLLBK"  ROLLBACK_REQUIRED in BOOT_FLAGS0, only with secure boot
 *                   enabled.
 * Every other fuse is burnt by the fusekey tool in BOOTSEL, never here.
 *
 * IMPLEMENTATION NOTE: an OTP write cannot be undone. A write that fails
 * after some rows were programmed (one BOOT_FLAGS0 copy of three) leaves
 * them programmed; the command then answers by what the vote of the rows
 * says, which is what the bootrom will act on.
 */
#include <string.h>

#include "hal.h"
#include "otp_map.h"
#include "rescue.h"
#include "rescue_internal.h"
#include "seal/seal.h"
#include "util.h"

#define BOOT_PAGE_FIRST 1u /* pages 1 and 2 hold the boot flags and boot keys */
#define BOOT_PAGE_LAST 2u

_Static_assert(sizeof(FK_RESCUE_MAGIC_LOCK58) - 1u == FK_RESCUE_MAGIC_LEN, "LOCK58");
_Static_assert(sizeof(FK_RESCUE_MAGIC_ROLLBACK) - 1u == FK_RESCUE_MAGIC_LEN, "ROLLBK");

/* Read count raw rows from row on; false on any error. */
static bool read_rows(uint16_t row, uint32_t *out, size_t count)
{
    return fk_hal_otp_read_raw(row, out, count) == FK_HAL_OK;
}

/* SECURE_BOOT_ENABLE by the RBIT-8 vote over CRIT1. */
static fk_sw_t secure_boot_enabled(bool *on)
{
    uint32_t crit1[FK_OTP_CRIT_COPIES];
    if (!read_rows(FK_OTP_ROW_CRIT1, crit1, FK_OTP_CRIT_COPIES)) return FK_SW_EXEC_ERROR;
    *on = (fk_otp_rbit8(crit1) & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) != 0;
    return FK_SW_OK;
}

/* Append one byte to resp. */
static bool put_byte(fk_rbuf_t *resp, unsigned v)
{
    return fk_rbuf_put_u8(resp, (uint8_t)v);
}

fk_sw_t rescue_boot_status(fk_rbuf_t *resp)
{
    bool enabled = false, locked = false;
    uint32_t flags1[FK_OTP_RBIT3_COPIES];

    fk_sw_t sw = secure_boot_enabled(&enabled);
    if (sw != FK_SW_OK) return sw;
    for (unsigned page = BOOT_PAGE_FIRST; page <= BOOT_PAGE_LAST; page++) {
        uint32_t lock1;
        if (!read_rows((uint16_t)FK_OTP_ROW_PAGE_LOCK1(page), &lock1, 1)) return FK_SW_EXEC_ERROR;
        if (fk_otp_lock_field(fk_otp_lock_byte(lock1), FK_OTP_LOCK1_BL_SHIFT) != FK_OTP_LOCK_RW)
            locked = true;
    }
    if (!read_rows(FK_OTP_ROW_BOOT_FLAGS1, flags1, FK_OTP_RBIT3_COPIES)) return FK_SW_EXEC_ERROR;
    const unsigned valid = fk_otp_valid_key_slots(fk_otp_rbit3(flags1));
    unsigned slot = FK_RESCUE_NO_BOOT_KEY;
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (valid & (1u << k)) {
            slot = k;
            break;
        }
    }
    if (!put_byte(resp, enabled ? 1u : 0u) || !put_byte(resp, locked ? 1u : 0u) ||
        !put_byte(resp, slot))
        return FK_SW_UNKNOWN;
    return FK_SW_OK;
}

fk_sw_t rescue_rollback_status(fk_rbuf_t *resp)
{
    uint32_t flags0[FK_OTP_RBIT3_COPIES], v0[FK_OTP_RBIT3_COPIES], v1[FK_OTP_RBIT3_COPIES];

    if (!read_rows(FK_OTP_ROW_BOOT_FLAGS0, flags0, FK_OTP_RBIT3_COPIES) ||
        !read_rows(FK_OTP_ROW_BOOT_VERSION0, v0, FK_OTP_RBIT3_COPIES) ||
        !read_rows(FK_OTP_ROW_BOOT_VERSION1, v1, FK_OTP_RBIT3_COPIES))
        return FK_SW_EXEC_ERROR;
    const bool required = (fk_otp_rbit3(flags0) & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED) != 0;
    const unsigned min_version = fk_otp_rollback_floor(fk_otp_rbit3(v0), fk_otp_rbit3(v1));
    if (!put_byte(resp, required ? 1u : 0u) || !put_byte(resp, min_version) ||
        !put_byte(resp, FK_OTP_ROLLBACK_BITS))
        return FK_SW_UNKNOWN;
    return FK_SW_OK;
}

/* The command data is exactly the magic (public, so memcmp is fine). */
static bool magic_ok(const fk_apdu_t *cmd, const char *magic)
{
    return cmd->nc == FK_RESCUE_MAGIC_LEN && memcmp(cmd->data, magic, FK_RESCUE_MAGIC_LEN) == 0;
}

/* User presence for a fuse write: declined and timed out both say 6985. */
static fk_sw_t fuse_presence(const fk_applet_ctx_t *ctx)
{
    return fk_applet_presence(ctx) == FK_SW_OK ? FK_SW_OK : FK_SW_CONDITIONS_NOT_SATISFIED;
}

/* 80 1B 58 00 "LOCK58". Decision order of docs/rescue.md. */
static fk_sw_t lock_page58(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    const uint16_t row = (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    const uint32_t value = FK_OTP_LOCK1_PAGE58;
    fk_root_t root;
    uint32_t cur;

    if (!magic_ok(cmd, FK_RESCUE_MAGIC_LOCK58)) return FK_SW_REF_DATA_NOT_USABLE;
    /* Locking page 58 without a master key in it protects nothing. */
    if (fk_seal_current_root(&root) != FK_SEAL_OK) return FK_SW_EXEC_ERROR;
    if (root != FK_ROOT_OTP) return FK_SW_CONDITIONS_NOT_SATISFIED;
    if (!read_rows(row, &cur, 1)) return FK_SW_EXEC_ERROR;
    if (cur == value) return FK_SW_OK;
    /* Another lock value is never ORed into: the result would be neither. */
    if (cur != 0) return FK_SW_CONDITIONS_NOT_SATISFIED;
    const fk_sw_t sw = fuse_presence(ctx);
    if (sw != FK_SW_OK) return sw;
    if (fk_hal_otp_write_raw(row, &value, 1) != FK_HAL_OK) return FK_SW_EXEC_ERROR;
    if (!read_rows(row, &cur, 1) || cur != value) return FK_SW_EXEC_ERROR;
    return FK_SW_OK;
}

/* 80 1B 48 00 "ROLLBK". Decision order of docs/rescue.md. */
static fk_sw_t require_rollback(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    const uint32_t bit = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    uint32_t copies[FK_OTP_RBIT3_COPIES];
    bool secure = false;

    if (!magic_ok(cmd, FK_RESCUE_MAGIC_ROLLBACK)) return FK_SW_REF_DATA_NOT_USABLE;
    fk_sw_t sw = secure_boot_enabled(&secure);
    if (sw != FK_SW_OK) return sw;
    if (!secure) return FK_SW_CONDITIONS_NOT_SATISFIED;
    if (!read_rows(FK_OTP_ROW_BOOT_FLAGS0, copies, FK_OTP_RBIT3_COPIES)) return FK_SW_EXEC_ERROR;
    if (fk_otp_rbit3(copies) & bit) return FK_SW_OK;
    sw = fuse_presence(ctx);
    if (sw != FK_SW_OK) return sw;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        if (copies[i] & bit) continue;
        /* The write API never ORs: the row gets what it holds plus the bit. */
        const uint32_t next = copies[i] | bit;
        (void)fk_hal_otp_write_raw((uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + i), &next, 1);
    }
    if (!read_rows(FK_OTP_ROW_BOOT_FLAGS0, copies, FK_OTP_RBIT3_COPIES)) return FK_SW_EXEC_ERROR;
    return (fk_otp_rbit3(copies) & bit) ? FK_SW_OK : FK_SW_EXEC_ERROR;
}

fk_sw_t rescue_cmd_otp_write(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)resp;
    if (cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    if (cmd->p1 == FK_RESCUE_OTP_LOCK58) return lock_page58(ctx, cmd);
    if (cmd->p1 == FK_RESCUE_OTP_ROLLBACK) return require_rollback(ctx, cmd);
    return FK_SW_INCORRECT_P1P2;
}
