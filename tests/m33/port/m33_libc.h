/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_libc.h - the declarations of what the host's tests use beyond
 * newlib (defined in m33_files.c), included first in every m33 test
 * program.
 */
#ifndef FUSEKEY_M33_LIBC_H
#define FUSEKEY_M33_LIBC_H

#include <time.h>

/* struct tm in UTC to seconds since the epoch (glibc and the BSDs have it). */
time_t timegm(struct tm *tm);

#endif /* FUSEKEY_M33_LIBC_H */
