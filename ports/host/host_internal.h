/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_internal.h - helpers shared inside the host port: diagnostics and
 * the image files of flash and OTP. Not part of the port's interface.
 */
#ifndef FUSEKEY_HOST_INTERNAL_H
#define FUSEKEY_HOST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One line on stderr, prefixed with the program's name. */
void fk_host_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open the image at path for reading and writing, with an exclusive lock.
 * When absent, it is first created atomically (a complete file of size
 * bytes of fill appears under path, or nothing does). A file of another
 * size or locked by another process is refused. Returns the descriptor, or
 * -1 with a message on stderr naming what ("flash", "OTP"). */
int fk_host_file_open(const char *path, const char *what, size_t size, uint8_t fill);



#endif /* FUSEKEY_HOST_INTERNAL_H */
