/* SPDX-License-Identifier: Apache-2.0 */
/* bench_util.h - the clock, the median and the count parser every benchmark
 * program uses. */
#ifndef FUSEKEY_BENCH_UTIL_H
#define FUSEKEY_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_PER_S 1000000000ull

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/* Median of n values (sorts a copy, so the caller's order is kept); 0 when
 * n is 0 or memory runs out. */
double median(const double *v, size_t n);

/* A count from the command line: decimal, 1 .. UINT32_MAX / 2, nothing
 * after it. False (and *out untouched) otherwise. */
bool parse_count(const char *s, unsigned *out);

#endif /* FUSEKEY_BENCH_UTIL_H */
