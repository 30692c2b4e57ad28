/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue_internal.h - what the rescue applet's source files share.
 *
 *   rescue.c         SELECT, dispatch, board configuration, flash figures,
 *                    reboot
 *   rescue_rtc.c     set and read the clock (1C 02, 1E 04)
 *   rescue_devkey.c  the device key: sign, public key, migration (10)
 *   rescue_otp.c     OTP status (1E 03, 1E 06) and the two guarded OTP
 *                    writes (1B 58, 1B 48)
 *   rescue_board.c   the board configuration as the firmware reads it at
 *                    start (USB identity overrides)
 */
#ifndef FUSEKEY_RESCUE_INTERNAL_H
#define FUSEKEY_RESCUE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"

/* Board configuration record (FK_ID_PHY_CONFIG): items and limits. */
#define RESCUE_PHY_VIDPID 0x00u
#define RESCUE_PHY_USB_PRODUCT 0x09u
#define RESCUE_PHY_RECORD_MAX 128u

/* Whether p[0, len) is a well-formed board configuration: known tags with
 * their exact lengths (a printable NUL-terminated product string), each
 * tag at most once, no item running past the end. */
bool rescue_phy_valid(const uint8_t *p, size_t len);

/* 80 10 P1 00: device key sign / public key / certificate chain. */
fk_sw_t rescue_cmd_devkey(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);

/* Migration hook: drop the flash device key once the OTP holds one, else
 * reseal it under the current root. */
fk_sw_t rescue_migrate(const fk_applet_ctx_t *ctx, unsigned *pending);

/* 80 1B P1 00: the page-58 lock and ROLLBACK_REQUIRED. */
fk_sw_t rescue_cmd_otp_write(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);

/* 80 1E 03 00 and 80 1E 06 00 (P2 and Lc already checked). */
fk_sw_t rescue_boot_status(fk_rbuf_t *resp);
fk_sw_t rescue_rollback_status(fk_rbuf_t *resp);

/* 80 1E 07 00: the migration to the OTP root, 3 bytes (docs/rescue.md). */
fk_sw_t rescue_migration_status(const fk_applet_ctx_t *ctx, fk_rbuf_t *resp);

/* 80 1C 02 P2 and 80 1E 04 P2 (P1 already dispatched). */
fk_sw_t rescue_rtc_set(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd);
fk_sw_t rescue_rtc_get(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);

#endif /* FUSEKEY_RESCUE_INTERNAL_H */
