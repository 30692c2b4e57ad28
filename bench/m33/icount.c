/* SPDX-License-Identifier: Apache-2.0 */
/*
 * icount.c - instruction counts under QEMU's -icount (see icount.h).
 */
#include "icount.h"

#include <stdio.h>
#include <stdlib.h>

/* CMSDK APB timer 0, Secure alias. */
#define TIMER0_BASE 0x50000000u
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x00u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x04u))
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x08u))
#define TIMER_ENABLE 1u
#define CAL_N 1000000u

static double g_ticks_per_insn;

uint32_t fk_icount_now(void) { return TIMER_VALUE; }

double fk_icount_insns(uint32_t start, uint32_t end)
{
    return (double)(start - end) / g_ticks_per_insn;
}

/* 2n instructions: subs and bne per iteration. */
static void __attribute__((noinline)) spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

static uint32_t ticks_of_spin(uint32_t n)
{
    const uint32_t t0 = fk_icount_now();
    spin(n);
    return t0 - fk_icount_now();
}

void fk_icount_calibrate(void)
{
    TIMER_CTRL = 0;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = TIMER_ENABLE;
    /* Two lengths: their difference cancels the call's own instructions. */
    const uint32_t one = ticks_of_spin(CAL_N), two = ticks_of_spin(2u * CAL_N);
    g_ticks_per_insn = (double)(two - one) / (2.0 * CAL_N);
    printf("calibration: loop of %u and %u iterations (2 instructions each): %lu and %lu timer "
           "ticks, %.4f ticks per instruction\n",
           CAL_N, 2u * CAL_N, (unsigned long)one, (unsigned long)two, g_ticks_per_insn);
    if (g_ticks_per_insn <= 0.0) {
        printf("calibration failed: the timer does not count (run with -icount)\n");
        exit(2);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void fk_icount_print(const char *name, double insns, const char *how)
{
    printf("%-34s %10.3f M instructions  %8.2f ms at %.0f MHz (%s)\n", name, insns / 1e6,
           insns / (FK_ICOUNT_MHZ * 1e3), FK_ICOUNT_MHZ, how);
}

void fk_icount_measure(const char *name, void (*op)(void), int runs)
{
    uint32_t t[FK_ICOUNT_RUNS];
    char how[32];
    if (runs > FK_ICOUNT_RUNS) runs = FK_ICOUNT_RUNS;
    for (int i = 0; i < runs; i++) {
        const uint32_t t0 = fk_icount_now();
        op();
        t[i] = t0 - fk_icount_now();
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_u32);
    snprintf(how, sizeof how, "median of %d", runs);
    fk_icount_print(name, (double)t[runs / 2] / g_ticks_per_insn, how);
}
