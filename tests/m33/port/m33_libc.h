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

/* POSIX clocks, which newlib declares only for targets with POSIX timers:
 * CLOCK_MONOTONIC and CLOCK_REALTIME both from the host, through
 * semihosting (centiseconds since QEMU started, seconds since the epoch). */
#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC ((clockid_t)4)
#endif
#ifndef CLOCK_REALTIME
#define CLOCK_REALTIME ((clockid_t)1)
#endif
int clock_gettime(clockid_t clock_id, struct timespec *tp);

#endif /* FUSEKEY_M33_LIBC_H */
