/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_otp.c - the OTP rows of hal.h on the OTP model (otp/otp_model.h),
 * kept in an OTP file (otp/otp_file.h).
 *
 * The firmware is the model's secure principal and calls the bootrom's
 * otp_access(): rows are processed one at a time, each checked against its
 * page's lock, and the first failure stops the call with the rows before it
 * programmed (and written through to the file). Reading through ECC is
 * strict, like the guarded alias: an uncorrectable row fails the read.
 */
#include "hal.h"
#include "host_internal.h"
#include "host_port.h"
#include "otp_file.h"
#include "otp_model.h"

#define ERR_CAP 512u
#define SERIAL_LEN 8u

static struct {
    bool open;
    fk_otp_file_t file;
    fk_otp_t model;
} otp = {.open = false, .file = {.fd = -1}};

int fk_host_otp_open_chip(const char *path, fk_otp_stepping_t stepping, const uint8_t chipid[8])
{
    char err[ERR_CAP];
    uint8_t serial[SERIAL_LEN];
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

/* FK_HAL_OK when the file is open and rows [row, row+count) exist. */
static int check_rows(uint16_t row, size_t count)
{
    if (!otp.open) return FK_HAL_EIO;
    if (row >= FK_OTP_ROWS || count > FK_OTP_ROWS - row) return FK_HAL_ERANGE;
    return FK_HAL_OK;
}

/* A bootrom result as a HAL result. */
static int hal_result(int rc)
{
    switch (rc) {
    case FK_OTP_OK:
        return FK_HAL_OK;
    case FK_OTP_ENOT_PERMITTED:
        return FK_HAL_EPERM;
    case FK_OTP_EINVALID_ARG:
        return FK_HAL_ERANGE;
    case FK_OTP_EBAD_ALIGNMENT:
        return FK_HAL_EALIGN;
    default: /* a 1 -> 0 change, a failed write-through */
        return FK_HAL_EIO;
    }
}

int fk_hal_otp_read_raw(uint16_t row, uint32_t *out, size_t count)
{
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    return hal_result(fk_otp_read_raw(&otp.model, FK_OTP_SECURE, row, out, count));
}

int fk_hal_otp_write_raw(uint16_t row, const uint32_t *vals, size_t count)
{
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    return hal_result(fk_otp_write_raw(&otp.model, FK_OTP_SECURE, row, vals, count));
}

int fk_hal_otp_read_ecc(uint16_t row, uint16_t *out, size_t count)
{
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    fk_otp_ecc_status_t worst = FK_OTP_ECC_OK;
    const int mrc = fk_otp_read_ecc(&otp.model, FK_OTP_SECURE, row, out, count, &worst);
    if (mrc != FK_OTP_OK) return hal_result(mrc);
    return worst == FK_OTP_ECC_UNCORRECTABLE ? FK_HAL_EIO : FK_HAL_OK;
}

int fk_hal_otp_write_ecc(uint16_t row, const uint16_t *vals, size_t count)
{
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    return hal_result(fk_otp_write_ecc(&otp.model, FK_OTP_SECURE, row, vals, count));
}
