/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_otp_file.c - otp/otp_file.h for the test programs on the board: the
 * OTP image file (FK_OTP_FILE_SIZE bytes, one little-endian word per row)
 * opened through semihosting, created in the factory state when missing,
 * each programmed row written through. No lock: one test program owns it.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "fileio.h"
#include "otp_file.h"
#include "util.h"

#define ROW_BYTES 4u
#define RANDID_BYTES 16u

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0u) return;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static int persist_row(void *arg, uint16_t row, uint32_t value)
{
    const fk_otp_file_t *f = (const fk_otp_file_t *)arg;
    uint8_t b[ROW_BYTES];
    fk_put_le32(b, value);
    if (f->fd < 0) return -1;
    return fk_file_write_at(f->fd, b, sizeof b, (off_t)row * ROW_BYTES);
}

static int create_file(const char *path, const uint8_t chipid[8], char *err, size_t cap)
{
    static fk_otp_t fresh;
    static uint8_t image[FK_OTP_FILE_SIZE];
    uint8_t randid[RANDID_BYTES];
    if (chipid == NULL) {
        set_err(err, cap, "OTP file %s does not exist and no chip id was given", path);
        return -1;
    }
    fk_file_random(randid, sizeof randid);
    fk_otp_init(&fresh, FK_OTP_STEPPING_A2);
    if (fk_otp_factory(&fresh, chipid, randid) != FK_OTP_OK) {
        set_err(err, cap, "cannot create OTP file %s: factory programming failed", path);
        return -1;
    }
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++) fk_put_le32(image + r * ROW_BYTES, fresh.raw[r]);
    const int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        set_err(err, cap, "cannot create OTP file %s", path);
        return -1;
    }
    const int rc = fk_file_write_at(fd, image, sizeof image, 0);
    close(fd);
    if (rc != 0) set_err(err, cap, "cannot write OTP file %s", path);
    return rc;
}

int fk_otp_file_open(fk_otp_file_t *f, const char *path, fk_otp_t *otp,
                     fk_otp_stepping_t stepping, const uint8_t chipid[8], char *err,
                     size_t err_cap)
{
    static uint8_t image[FK_OTP_FILE_SIZE];
    f->fd = -1;
    fk_otp_init(otp, stepping);
    set_err(err, err_cap, "%s", "");
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        if (create_file(path, chipid, err, err_cap) != 0) return -1;
        fd = open(path, O_RDWR);
    }
    if (fd < 0) {
        set_err(err, err_cap, "cannot open OTP file %s", path);
        return -1;
    }
    if (lseek(fd, 0, SEEK_END) != (off_t)FK_OTP_FILE_SIZE ||
        fk_file_read_all(fd, image, sizeof image) != 0) {
        set_err(err, err_cap, "OTP file %s is not a %u-byte image: refused", path,
                FK_OTP_FILE_SIZE);
        close(fd);
        return -1;
    }
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++) {
        const uint32_t v = fk_le32(image + r * ROW_BYTES);
        if ((v & ~FK_OTP_ROW_MASK) != 0u) {
            set_err(err, err_cap, "OTP file %s: row 0x%03x has bits above bit 23 set", path, r);
            fk_otp_init(otp, stepping);
            close(fd);
            return -1;
        }
        otp->raw[r] = v;
    }
    f->fd = fd;
    otp->persist = persist_row;
    otp->persist_arg = f;
    fk_otp_reset(otp);
    return 0;
}

void fk_otp_file_close(fk_otp_file_t *f)
{
    if (f->fd < 0) return;
    close(f->fd);
    f->fd = -1;
}
