/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_file.h - the emulated chip's OTP as a file, shared by fusekey-sim (the
 * firmware's view) and the fusekey tool (the BOOTSEL view, as picotool has
 * on a real board). Host programs only (POSIX).
 *
 * Format: 4096 rows of 4 bytes, row r at offset 4r, the raw 24-bit value
 * little-endian with bits 31:24 zero (16 KiB). A new file gets the factory
 * state (fk_otp_factory). Rows are written through to the file as each is
 * programmed. The file is locked (flock, exclusive) while open: a second
 * program cannot open it, so the tool cannot touch the OTP of a running
 * virtual device (a real chip is either running firmware or in BOOTSEL).
 */
#ifndef FUSEKEY_OTP_FILE_H
#define FUSEKEY_OTP_FILE_H

#include <stdint.h>

#include "otp_model.h"

#define FK_OTP_FILE_SIZE (FK_OTP_MODEL_ROWS * 4u)

typedef struct fk_otp_file {
    int fd; /* -1 when closed */
} fk_otp_file_t;

/* Open (creating with the factory state, chip id `chipid`, random RANDID, if
 * absent) the OTP file at path into *otp, which is initialised with
 * `stepping`, loaded from the file, given the write-through hook and reset.
 * Refused (-1, a one-line reason in err, at most err_cap bytes): a file of
 * another size, a row with bits above bit 23, a file another program holds
 * open. Returns 0 on success. */
int fk_otp_file_open(fk_otp_file_t *f, const char *path, fk_otp_t *otp,
                     fk_otp_stepping_t stepping, const uint8_t chipid[8], char *err,
                     size_t err_cap);

/* fsync, unlock and close (nothing when not open). */
void fk_otp_file_close(fk_otp_file_t *f);

#endif /* FUSEKEY_OTP_FILE_H */
