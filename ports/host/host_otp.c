/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_otp.c - the OTP functions of hal.h on the RP2350 OTP model
 * (otp/otp_model.h), kept in an OTP file (otp/otp_file.h).
 *
 * The firmware is the model's secure principal calling the bootrom's
 * otp_access(). Every HAL function is the logical OTP interface
 * (otp/otp_logical.h) over that principal's row access, so the fuse map,
 * its votes and the order of checks, writes and read-backs live in one
 * place, shared with the tools and a hardware port. Programmed rows are
 * written through to the file as each is programmed.
 *
 * While no OTP image is open the firmware cannot read its OTP: the reads
 * answer FK_HAL_EPERM (as a page locked against it would), the writes
 * FK_HAL_EIO.
 */
#include <string.h>

#include "hal.h"
#include "host_internal.h"
#include "host_port.h"
#include "otp_file.h"
#include "otp_hal.h"
#include "otp_logical.h"
#include "otp_model.h"
#include "util.h"

#define ERR_CAP 512u
#define SERIAL_LEN 8u

_Static_assert(FK_HAL_OTP_KEY_LEN == FK_LOTP_KEY_BYTES, "one key length");
_Static_assert(FK_OTP_BOOTKEY_SLOTS < FK_HAL_NO_BOOT_KEY, "a slot number is not 'none'");
_Static_assert(FK_OTP_ROLLBACK_BITS <= UINT8_MAX, "the rollback figures fit a byte");
_Static_assert(SERIAL_LEN == 2u * FK_OTP_CHIPID_ROWS, "the CHIPID is 4 ECC rows");

static struct {
    bool open;
    fk_otp_file_t file;
    fk_otp_t model;
    fk_otp_accessor_t secure; /* the firmware: the model's secure principal */
    fk_lotp_t lotp;
} otp = {.open = false, .file = {.fd = -1}};

int fk_host_otp_open_chip(const char *path, fk_otp_stepping_t stepping, const uint8_t chipid[8])
{
    char err[ERR_CAP];
    uint8_t serial[SERIAL_LEN];
    fk_otp_rows_t rows;
    if (otp.open) {
        fk_host_log("OTP image already open");
        return -1;
    }
    if (chipid == NULL) {
        fk_hal_serial(serial);
        chipid = serial;
    }
    if (fk_otp_file_open(&otp.file, path, &otp.model, stepping, chipid, err, sizeof err) != 0) {
        fk_host_log("%s", err);
        return -1;
    }
    if (fk_otp_rows_of(&rows, &otp.secure, &otp.model, FK_OTP_SECURE) != FK_OTP_OK ||
        fk_lotp_init_rp2350(&otp.lotp, &rows) != FK_LOTP_OK) {
        fk_otp_file_close(&otp.file);
        fk_host_log("OTP image: no row access");
        return -1;
    }
    otp.open = true;
    return 0;
}

int fk_host_otp_open(const char *path)
{
    return fk_host_otp_open_chip(path, FK_OTP_STEPPING_A2, NULL);
}

void fk_host_otp_close(void)
{
    if (!otp.open) return;
    fk_otp_file_close(&otp.file);
    otp.open = false;
}

fk_otp_t *fk_host_otp_model(void) { return otp.open ? &otp.model : NULL; }

int fk_host_otp_chipid(uint8_t chipid[8])
{
    uint16_t rows[FK_OTP_CHIPID_ROWS] = {0};
    fk_otp_ecc_status_t worst = FK_OTP_ECC_OK;
    memset(chipid, 0, SERIAL_LEN);
    if (!otp.open) return -1;
    if (fk_otp_read_ecc(&otp.model, FK_OTP_SECURE, FK_OTP_ROW_CHIPID, rows, FK_OTP_CHIPID_ROWS,
                        &worst) != FK_OTP_OK ||
        worst == FK_OTP_ECC_UNCORRECTABLE)
        return -1;
    fk_otp_chipid_bytes(rows, chipid);
    return 0;
}

/* hal.h's OTP functions: the shared mapping over the logical OTP (otp_hal.c). */
static fk_lotp_t *lotp_if_open(void) { return otp.open ? &otp.lotp : NULL; }

int fk_hal_otp_key(fk_hal_otp_key_t which, uint8_t out[FK_HAL_OTP_KEY_LEN])
{
    return fk_otp_hal_key(lotp_if_open(), which, out);
}

int fk_hal_otp_state(fk_hal_otp_state_t *st) { return fk_otp_hal_state(lotp_if_open(), st); }

int fk_hal_otp_lock_keys(void) { return fk_otp_hal_lock_keys(lotp_if_open()); }

int fk_hal_otp_require_rollback(void) { return fk_otp_hal_require_rollback(lotp_if_open()); }
