/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fileio.h - the few POSIX loops every host program of fusekey needs (the
 * host port, the OTP file, the tool): whole reads and writes that retry
 * short transfers and EINTR, and the kernel's random bytes. Host only.
 */
#ifndef FUSEKEY_FILEIO_H
#define FUSEKEY_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Read exactly len bytes from offset 0 of fd: 0, or -1 on an error or a
 * file shorter than len. */
int fk_file_read_all(int fd, void *buf, size_t len);

/* Write exactly len bytes at off: 0, or -1 (errno set; EIO when the file
 * takes nothing). */
int fk_file_write_at(int fd, const void *buf, size_t len, off_t off);

/* Fill buf with len bytes from getrandom: 0, or -1 (buf then wiped). */
int fk_file_random(void *buf, size_t len);

#endif /* FUSEKEY_FILEIO_H */
