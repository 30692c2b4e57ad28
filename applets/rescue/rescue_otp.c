/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue_otp.c - what the rescue applet reads and writes in the OTP.
 *
 * Reads: the secure-boot status (1E 03) and the anti-rollback status
 * (1E 06), from the OTP state the port reads (fk_hal_otp_state).
 *
 * Writes: the firmware burns exactly two things, each behind an exact magic
 * payload, a state precondition and user presence, idempotently, and the
 * port reads back what it wrote (docs/rescue.md):
 *   1B 58 "LOCK58"  the key storage closed to the bootloader and non-secure
 *                   code (fk_hal_otp_lock_keys; RP2350: PAGE58_LOCK1 =
 *                   0x3C3C3C), only once an MKEK is provisioned;
 *   1B 48 "ROLLBK"  images without a rollback version refused
 *                   (fk_hal_otp_require_rollback), only with secure boot
 *                   enabled.
 * Every other fuse is burnt by the fusekey tool in BOOTSEL, never here.
 * Every check that can refuse runs on the state read first, so that user
 * presence is asked for only when the port is about to write.
 *
 * IMPLEMENTATION NOTE: an OTP write cannot be undone. A write that fails
 * after some rows were programmed (one copy of a redundant flag of three)
 * leaves them programmed; the port then answers by what the vote of the
 * rows says, which is what the boot ROM will act on.
 */
#include <string.h>

#include "hal.h"
#include "rescue.h"
#include "rescue_internal.h"
#include "seal/seal.h"
#include "services/services.h"
#include "util.h"

_Static_assert(sizeof(FK_RESCUE_MAGIC_LOCK58) - 1u == FK_RESCUE_MAGIC_LEN, "LOCK58");
_Static_assert(sizeof(FK_RESCUE_MAGIC_ROLLBACK) - 1u == FK_RESCUE_MAGIC_LEN, "ROLLBK");

/* Append one byte to resp. */
static bool put_byte(fk_rbuf_t *resp, unsigned v)
{
    return fk_rbuf_put_u8(resp, (uint8_t)v);
}

fk_sw_t rescue_boot_status(fk_rbuf_t *resp)
{
    fk_hal_otp_state_t st;

    if (fk_hal_otp_state(&st) != FK_HAL_OK) return FK_SW_EXEC_ERROR;
    const unsigned slot = st.boot_key == FK_HAL_NO_BOOT_KEY ? FK_RESCUE_NO_BOOT_KEY : st.boot_key;
    if (!put_byte(resp, st.secure_boot ? 1u : 0u) || !put_byte(resp, st.boot_locked ? 1u : 0u) ||
        !put_byte(resp, slot))
        return FK_SW_UNKNOWN;
    return FK_SW_OK;
}

fk_sw_t rescue_rollback_status(fk_rbuf_t *resp)
{
    fk_hal_otp_state_t st;

    if (fk_hal_otp_state(&st) != FK_HAL_OK) return FK_SW_EXEC_ERROR;
    if (!put_byte(resp, st.rollback_required ? 1u : 0u) || !put_byte(resp, st.rollback_floor) ||
        !put_byte(resp, st.rollback_capacity))
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

/* The status word of one of the two writes. FK_HAL_ESTATE after the checks
 * passed means the state changed since: 6985, as those checks answer. */
static fk_sw_t write_result(int rc)
{
    if (rc == FK_HAL_OK) return FK_SW_OK;
    return rc == FK_HAL_ESTATE ? FK_SW_CONDITIONS_NOT_SATISFIED : FK_SW_EXEC_ERROR;
}

/* True when every secret is under the OTP root and the device seed is gone
 * (the migration's last run, core/services/services.h). */
static bool migration_done(const fk_applet_ctx_t *ctx)
{
    fk_migration_status_t ms;
    fk_services_migration_state(ctx->svc, &ms);
    return ms.state == FK_MIGRATION_DONE;
}

_Static_assert(FK_RESCUE_MIGRATION_UNKNOWN == FK_MIGRATION_UNKNOWN &&
                   FK_RESCUE_MIGRATION_NONE == FK_MIGRATION_NONE &&
                   FK_RESCUE_MIGRATION_IN_PROGRESS == FK_MIGRATION_IN_PROGRESS &&
                   FK_RESCUE_MIGRATION_DONE == FK_MIGRATION_DONE,
               "1E 07 reports fk_migration_state_t as it is");

fk_sw_t rescue_migration_status(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp)
{
    fk_migration_status_t ms;
    fk_services_migration_state(ctx->svc, &ms);
    const uint8_t out[FK_RESCUE_MIGRATION_INFO_LEN] = {
        (uint8_t)ms.state, (uint8_t)FK_MIN(ms.pending, 0xFFu), (uint8_t)FK_MIN(ms.failed, 0xFFu)};
    return fk_rbuf_put(resp, out, sizeof(out)) ? FK_SW_OK : FK_SW_UNKNOWN;
}

/* 80 1B 58 00 "LOCK58". Decision order of docs/rescue.md. */
static fk_sw_t lock_page58(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    fk_hal_otp_state_t st;
    fk_root_t root;

    if (!magic_ok(cmd, FK_RESCUE_MAGIC_LOCK58)) return FK_SW_REF_DATA_NOT_USABLE;
    /* Locking the key storage without a master key in it protects nothing. */
    if (fk_seal_current_root(&root) != FK_SEAL_OK) return FK_SW_EXEC_ERROR;
    if (root != FK_ROOT_OTP) return FK_SW_CONDITIONS_NOT_SATISFIED;
    if (fk_hal_otp_state(&st) != FK_HAL_OK) return FK_SW_EXEC_ERROR;
    if (st.keys_lock == FK_HAL_KEYS_LOCKED) return FK_SW_OK;
    /* Another lock value is never ORed into: the result would be neither. */
    if (st.keys_lock != FK_HAL_KEYS_UNLOCKED) return FK_SW_CONDITIONS_NOT_SATISFIED;
    /* From the lock on nothing under the device root opens again: refused
     * while anything is still there (a PIN verifier moves only with its
     * PIN: verify both PINs once). */
    if (!migration_done(ctx)) return FK_SW_COMMAND_NOT_ALLOWED;
    const fk_sw_t sw = fuse_presence(ctx);
    if (sw != FK_SW_OK) return sw;
    return write_result(fk_hal_otp_lock_keys());
}

/* 80 1B 48 00 "ROLLBK". Decision order of docs/rescue.md. */
static fk_sw_t require_rollback(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    fk_hal_otp_state_t st;

    if (!magic_ok(cmd, FK_RESCUE_MAGIC_ROLLBACK)) return FK_SW_REF_DATA_NOT_USABLE;
    if (fk_hal_otp_state(&st) != FK_HAL_OK) return FK_SW_EXEC_ERROR;
    if (!st.secure_boot) return FK_SW_CONDITIONS_NOT_SATISFIED;
    if (st.rollback_required) return FK_SW_OK;
    const fk_sw_t sw = fuse_presence(ctx);
    if (sw != FK_SW_OK) return sw;
    return write_result(fk_hal_otp_require_rollback());
}

fk_sw_t rescue_cmd_otp_write(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)resp;
    if (cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    if (cmd->p1 == FK_RESCUE_OTP_LOCK58) return lock_page58(ctx, cmd);
    if (cmd->p1 == FK_RESCUE_OTP_ROLLBACK) return require_rollback(ctx, cmd);
    return FK_SW_INCORRECT_P1P2;
}
