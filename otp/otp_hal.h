/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_hal.h - hal.h's OTP functions over the logical OTP interface
 * (otp_logical.h), once for every port that has one: the RP2350 port over
 * the boot ROM's otp_access, the host port over the OTP model in a file.
 *
 * Each takes the port's logical OTP, or NULL when the port could not open
 * its OTP (then: FK_HAL_EPERM for the reads, FK_HAL_EIO for the writes, as
 * hal.h says), and returns what hal.h promises for the function of the
 * same name.
 */
#ifndef FUSEKEY_OTP_HAL_H
#define FUSEKEY_OTP_HAL_H

#include <stdint.h>

#include "hal.h"
#include "otp_logical.h"

/* fk_hal_otp_key: out is all zero on every result but FK_HAL_OK. */
int fk_otp_hal_key(fk_lotp_t *lotp, fk_hal_otp_key_t which, uint8_t out[FK_HAL_OTP_KEY_LEN]);

/* fk_hal_otp_state. */
int fk_otp_hal_state(fk_lotp_t *lotp, fk_hal_otp_state_t *st);

/* fk_hal_otp_lock_keys and fk_hal_otp_require_rollback. */
int fk_otp_hal_lock_keys(fk_lotp_t *lotp);
int fk_otp_hal_require_rollback(fk_lotp_t *lotp);

#endif /* FUSEKEY_OTP_HAL_H */
