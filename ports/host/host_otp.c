/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_otp.c - the OTP rows of hal.h as a file.
 *
 * File format: FK_OTP_ROWS rows of 4 bytes, row r at offset 4r, the 24-bit
 * raw value little-endian with bits 31:24 zero (16 KiB, all zero when new,
 * like a blank chip). Rows are written through at once, like the flash.
 *
 * Raw and ECC writes are all-or-nothing over their rows: every row is
 * checked first, and one that would need a 1 -> 0 change fails the whole
 * call with FK_HAL_EIO before anything is written. Page locks and the
 * redundancy votes of the chip are not modelled here (every access is
 * permitted).
 */
#include <string.h>
#include <unistd.h>

#include "hal.h"
#include "host_internal.h"
#include "host_port.h"
#include "otp_ecc.h"
#include "util.h"

#define OTP_ROW_BYTES 4u
#define OTP_FILE_SIZE (FK_OTP_ROWS * OTP_ROW_BYTES)
#define OTP_BLANK 0x00u

static struct {
    int fd;                      /* -1 when closed */
    uint32_t rows[FK_OTP_ROWS];  /* copy of the file */
} otp = {.fd = -1};

int fk_host_otp_open(const char *path)
{
    static uint8_t image[OTP_FILE_SIZE];
    if (otp.fd >= 0) {
        fk_host_log("OTP image already open");
        return -1;
    }
    const int fd = fk_host_file_open(path, "OTP", OTP_FILE_SIZE, OTP_BLANK);
    if (fd < 0) return -1;
    if (fk_host_file_read_all(fd, image, sizeof image) != 0) {
        fk_host_log("cannot read OTP image %s", path);
        close(fd);
        return -1;
    }
    for (unsigned r = 0; r < FK_OTP_ROWS; r++) {
        const uint32_t v = fk_le32(image + r * OTP_ROW_BYTES);
        if ((v & ~FK_OTP_ROW_MASK) != 0u) {
            fk_host_log("OTP image %s: row 0x%03x has bits above bit 23 set: refused", path, r);
            close(fd);
            return -1;
        }
        otp.rows[r] = v;
    }
    otp.fd = fd;
    return 0;
}

void fk_host_otp_close(void)
{
    if (otp.fd < 0) return;
    (void)fsync(otp.fd);
    close(otp.fd);
    otp.fd = -1;
}

/* FK_HAL_OK when rows [row, row+count) exist and the image is open. */
static int check_rows(uint16_t row, size_t count)
{
    if (otp.fd < 0) return FK_HAL_EIO;
    if (row > FK_OTP_ROWS || count > FK_OTP_ROWS - row) return FK_HAL_ERANGE;
    return FK_HAL_OK;
}

/* Write next[0..count) to rows [row, row+count) in one pwrite, then to
 * memory (memory is untouched when the file write fails). */
static int commit_rows(uint16_t row, const uint32_t *next, size_t count)
{
    static uint8_t buf[OTP_FILE_SIZE];
    for (size_t i = 0; i < count; i++) fk_put_le32(buf + i * OTP_ROW_BYTES, next[i]);
    const off_t off = (off_t)row * OTP_ROW_BYTES;
    if (fk_host_file_write_at(otp.fd, buf, count * OTP_ROW_BYTES, off) != 0) return FK_HAL_EIO;
    if (count > 0u) memcpy(&otp.rows[row], next, count * sizeof next[0]);
    return FK_HAL_OK;
}

int fk_hal_otp_read_raw(uint16_t row, uint32_t *out, size_t count)
{
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    if (count > 0u) memcpy(out, &otp.rows[row], count * sizeof out[0]);
    return FK_HAL_OK;
}

int fk_hal_otp_write_raw(uint16_t row, const uint32_t *vals, size_t count)
{
    static uint32_t next[FK_OTP_ROWS];
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    for (size_t i = 0; i < count; i++) {
        const uint32_t cur = otp.rows[row + i];
        const uint32_t v = vals[i] & FK_OTP_ROW_MASK; /* bits 31:24 ignored, as by the bootrom */
        if ((cur & ~v) != 0u) return FK_HAL_EIO;
        next[i] = cur | v;
    }
    return commit_rows(row, next, count);
}

int fk_hal_otp_read_ecc(uint16_t row, uint16_t *out, size_t count)
{
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    int result = FK_HAL_OK;
    for (size_t i = 0; i < count; i++) {
        if (fk_otp_ecc_decode(otp.rows[row + i], &out[i]) == FK_OTP_ECC_UNCORRECTABLE) {
            result = FK_HAL_EIO;
        }
    }
    return result;
}

int fk_hal_otp_write_ecc(uint16_t row, const uint16_t *vals, size_t count)
{
    static uint32_t next[FK_OTP_ROWS];
    const int rc = check_rows(row, count);
    if (rc != FK_HAL_OK) return rc;
    for (size_t i = 0; i < count; i++) {
        if (!fk_otp_ecc_write_value(otp.rows[row + i], vals[i], &next[i])) return FK_HAL_EIO;
    }
    return commit_rows(row, next, count);
}
