/* SPDX-License-Identifier: Apache-2.0 */
/*
 * icount.h - instruction counts on QEMU's mps2-an505 under -icount: the
 * board's CMSDK timer 0 counts QEMU's virtual clock, which advances by
 * 2^shift ns per instruction; fk_icount_calibrate measures the ratio on a
 * loop of known length and prints it.
 */
#ifndef FUSEKEY_BENCH_ICOUNT_H
#define FUSEKEY_BENCH_ICOUNT_H

#include <stdint.h>

#define FK_ICOUNT_RUNS 5
#define FK_ICOUNT_MHZ 150.0

/* Start the timer and measure ticks per instruction (exits when the timer
 * does not count, i.e. without -icount). */
void fk_icount_calibrate(void);

/* The timer now (it counts down). */
uint32_t fk_icount_now(void);

/* Instructions between two readings. */
double fk_icount_insns(uint32_t start, uint32_t end);

/* Run op `runs` times (at most FK_ICOUNT_RUNS) and print the median in
 * instructions and in ms at FK_ICOUNT_MHZ. */
void fk_icount_measure(const char *name, void (*op)(void), int runs);

/* Print one figure in the same format. */
void fk_icount_print(const char *name, double insns, const char *how);

#endif /* FUSEKEY_BENCH_ICOUNT_H */
