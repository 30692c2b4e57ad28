/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_hal.c - hal.h's OTP functions over the logical OTP (otp_hal.h).
 */
#include "otp_hal.h"

#include <string.h>

#include "util.h"

/* A logical result of a read as a HAL result. */
static int read_result(int rc)
{
    return rc == FK_LOTP_OK ? FK_HAL_OK : rc == FK_LOTP_EPERM ? FK_HAL_EPERM : FK_HAL_EIO;
}

/* A logical result of one of the two writes as a HAL result. */
static int write_result(int rc)
{
    return rc == FK_LOTP_OK ? FK_HAL_OK : rc == FK_LOTP_ESTATE ? FK_HAL_ESTATE : FK_HAL_EIO;
}

int fk_otp_hal_key(fk_lotp_t *lotp, fk_hal_otp_key_t which, uint8_t out[FK_HAL_OTP_KEY_LEN])
{
    fk_lotp_key_state_t state = FK_LOTP_KEY_UNREADABLE;
    fk_lotp_key_t key;
    memset(out, 0, FK_HAL_OTP_KEY_LEN);
    switch (which) {
    case FK_HAL_OTP_MKEK:
        key = FK_LOTP_MKEK;
        break;
    case FK_HAL_OTP_DEVK:
        key = FK_LOTP_DEVK;
        break;
    default:
        return FK_HAL_ENOENT; /* no such key on this device */
    }
    if (lotp == NULL) return FK_HAL_EPERM;
    const int rc = fk_lotp_key_read(lotp, key, out, &state);
    if (rc == FK_LOTP_OK && state == FK_LOTP_KEY_PRESENT) return FK_HAL_OK;
    fk_wipe(out, FK_HAL_OTP_KEY_LEN);
    if (rc == FK_LOTP_OK && state == FK_LOTP_KEY_ABSENT) return FK_HAL_ENOENT;
    return read_result(rc == FK_LOTP_OK ? FK_LOTP_EIO : rc);
}

int fk_otp_hal_state(fk_lotp_t *lotp, fk_hal_otp_state_t *st)
{
    fk_lotp_keys_lock_t keys;
    fk_lotp_boot_t boot;
    fk_lotp_rollback_t rb;
    memset(st, 0, sizeof(*st));
    st->boot_key = FK_HAL_NO_BOOT_KEY;
    if (lotp == NULL) return FK_HAL_EPERM;
    int rc = fk_lotp_keys_lock_state(lotp, &keys);
    if (rc == FK_LOTP_OK) rc = fk_lotp_boot_state(lotp, &boot);
    if (rc == FK_LOTP_OK) rc = fk_lotp_rollback(lotp, &rb);
    if (rc != FK_LOTP_OK) return read_result(rc);

    switch (keys.value) {
    case FK_LOTP_LOCK_NONE:
        st->keys_lock = FK_HAL_KEYS_UNLOCKED;
        break;
    case FK_LOTP_LOCK_OURS:
        st->keys_lock = FK_HAL_KEYS_LOCKED;
        break;
    default:
        st->keys_lock = FK_HAL_KEYS_LOCK_OTHER;
        break;
    }
    st->secure_boot = boot.secure_boot;
    st->boot_locked = boot.locked;
    for (unsigned s = 0; s < boot.slot_count && s < FK_LOTP_MAX_SLOTS; s++) {
        if (boot.slot[s].valid) {
            st->boot_key = (uint8_t)s;
            break;
        }
    }
    st->rollback_required = rb.required;
    st->rollback_floor = (uint8_t)rb.floor;
    st->rollback_capacity = (uint8_t)rb.capacity;
    return FK_HAL_OK;
}

int fk_otp_hal_lock_keys(fk_lotp_t *lotp)
{
    if (lotp == NULL) return FK_HAL_EIO;
    return write_result(fk_lotp_keys_lock(lotp));
}

int fk_otp_hal_require_rollback(fk_lotp_t *lotp)
{
    if (lotp == NULL) return FK_HAL_EIO;
    return write_result(fk_lotp_rollback_require(lotp));
}
