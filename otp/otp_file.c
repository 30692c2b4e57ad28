/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_file.c - the emulated chip's OTP as a 16 KiB file (otp_file.h):
 * creation in the factory state, exclusive lock, write-through of every
 * programmed row. Host programs only.
 */
#include "otp_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

#define ROW_BYTES 4u
#define RANDID_BYTES 16u
#define FILE_MODE 0600
#define TEMP_SUFFIX ".new-XXXXXX"
#define TEMP_PATH_CAP 4096u


/* A one-line reason into err (when given). */
static void __attribute__((format(printf, 3, 4))) set_err(char *err, size_t cap, const char *fmt,
                                                          ...)
{
    if (err == NULL || cap == 0u) return;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}




/* The persistence hook: write the programmed row through to the file. */
static int persist_row(void *arg, uint16_t row, uint32_t value)
{
    const fk_otp_file_t *f = (const fk_otp_file_t *)arg;
    uint8_t b[ROW_BYTES];
    fk_put_le32(b, value);
    if (f->fd < 0) return -1;
    return fk_file_write_at(f->fd, b, sizeof b, (off_t)row * ROW_BYTES);
}

/* Create path holding a new chip's OTP (factory state, random RANDID)
 * without ever exposing a partial file: the image is written to a
 * temporary file next to it and linked into place (link, unlike rename,
 * never replaces a file another program created meanwhile). */
static int create_file(const char *path, const uint8_t chipid[8], char *err, size_t cap)
{
    static fk_otp_t fresh;
    static uint8_t image[FK_OTP_FILE_SIZE];
    uint8_t randid[RANDID_BYTES];

    if (chipid == NULL) {
        set_err(err, cap, "OTP file %s does not exist and no chip id was given", path);
        return -1;
    }
    if (fk_file_random(randid, sizeof randid) != 0) {
        set_err(err, cap, "cannot create OTP file %s: no random bytes for RANDID: %s", path,
                strerror(errno));
        return -1;
    }
    fk_otp_init(&fresh, FK_OTP_STEPPING_A2);
    const int frc = fk_otp_factory(&fresh, chipid, randid);
    if (frc != FK_OTP_OK) {
        set_err(err, cap, "cannot create OTP file %s: factory programming failed (%s)", path,
                fk_otp_strerror(frc));
        return -1;
    }
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++) fk_put_le32(image + r * ROW_BYTES, fresh.raw[r]);

    char tmp[TEMP_PATH_CAP];
    const int n = snprintf(tmp, sizeof tmp, "%s%s", path, TEMP_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        set_err(err, cap, "OTP file path too long: %s", path);
        return -1;
    }
    const int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        set_err(err, cap, "cannot create OTP file %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (fchmod(fd, FILE_MODE) != 0 || fk_file_write_at(fd, image, sizeof image, 0) != 0 || fsync(fd) != 0) {
        set_err(err, cap, "cannot write OTP file %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    close(fd);
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST) {
        set_err(err, cap, "cannot create OTP file %s: %s", path, strerror(errno));
        rc = -1;
    }
    unlink(tmp);
    return rc;
}

/* Check the opened file and load it into otp. */
static int load_file(int fd, const char *path, fk_otp_t *otp, char *err, size_t cap)
{
    static uint8_t image[FK_OTP_FILE_SIZE];
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, cap, "OTP file %s is not a regular file: refused", path);
        return -1;
    }
    if ((uintmax_t)st.st_size != (uintmax_t)FK_OTP_FILE_SIZE) {
        set_err(err, cap, "OTP file %s has %jd bytes, expected %u: refused", path,
                (intmax_t)st.st_size, FK_OTP_FILE_SIZE);
        return -1;
    }
    errno = 0;
    if (fk_file_read_all(fd, image, sizeof image) != 0) {
        set_err(err, cap, "cannot read OTP file %s: %s", path,
                errno != 0 ? strerror(errno) : "short file");
        return -1;
    }
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++) {
        const uint32_t v = fk_le32(image + r * ROW_BYTES);
        if ((v & ~FK_OTP_ROW_MASK) != 0u) {
            set_err(err, cap, "OTP file %s: row 0x%03x has bits above bit 23 set: refused", path,
                    r);
            return -1;
        }
        otp->raw[r] = v;
    }
    return 0;
}

int fk_otp_file_open(fk_otp_file_t *f, const char *path, fk_otp_t *otp,
                     fk_otp_stepping_t stepping, const uint8_t chipid[8], char *err,
                     size_t err_cap)
{
    f->fd = -1;
    fk_otp_init(otp, stepping);
    set_err(err, err_cap, "%s", "");

    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (create_file(path, chipid, err, err_cap) != 0) return -1;
        fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) {
        set_err(err, err_cap, "cannot open OTP file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            set_err(err, err_cap,
                    "OTP file %s is in use by another program (a running fusekey-sim?)", path);
        } else {
            set_err(err, err_cap, "cannot lock OTP file %s: %s", path, strerror(errno));
        }
        close(fd);
        return -1;
    }
    if (load_file(fd, path, otp, err, err_cap) != 0) {
        fk_otp_init(otp, stepping);
        close(fd);
        return -1;
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
    (void)fsync(f->fd);
    (void)flock(f->fd, LOCK_UN);
    close(f->fd);
    f->fd = -1;
}
