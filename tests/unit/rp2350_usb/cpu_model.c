/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_model.c - rp_irq.h for the host build of the RP2350 drivers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cpu_model.h"
#include "rp_irq.h"
#include "util.h"

static struct {
    uint32_t primask;
    bool (*raised)(void);
    void (*handler)(void);
    bool in_handler;
    unsigned wfi, wfi_masked, saves;
} g_cpu;

void cpu_model_reset(void)
{
    g_cpu.primask = 0;
    g_cpu.raised = NULL;
    g_cpu.handler = NULL;
    g_cpu.in_handler = false;
    g_cpu.wfi = g_cpu.wfi_masked = g_cpu.saves = 0;
}

void cpu_model_set_irq(bool (*raised)(void), void (*handler)(void))
{
    g_cpu.raised = raised;
    g_cpu.handler = handler;
}

bool cpu_model_masked(void) { return g_cpu.primask != 0; }

bool cpu_model_take_irq(void)
{
    if (g_cpu.primask || g_cpu.in_handler || !g_cpu.raised || !g_cpu.raised()) return false;
    g_cpu.in_handler = true;
    g_cpu.handler();
    g_cpu.in_handler = false;
    if (g_cpu.raised()) fail_msg("the interrupt handler returned with its line still raised");
    return true;
}

unsigned cpu_model_wfi_count(void) { return g_cpu.wfi; }
unsigned cpu_model_wfi_masked_count(void) { return g_cpu.wfi_masked; }
unsigned cpu_model_save_count(void) { return g_cpu.saves; }

uint32_t rp_irq_save(void)
{
    if (g_cpu.in_handler) fail_msg("rp_irq_save() called from the interrupt handler");
    uint32_t old = g_cpu.primask;
    g_cpu.primask = 1;
    g_cpu.saves++;
    return old;
}

void rp_irq_restore(uint32_t saved)
{
    if (!g_cpu.primask) fail_msg("rp_irq_restore() without rp_irq_save()");
    g_cpu.primask = saved;
    /* Lifting the mask lets a raised interrupt in at once. */
    if (!g_cpu.primask) cpu_model_take_irq();
}

void rp_wfi(void)
{
    g_cpu.wfi++;
    if (g_cpu.primask) g_cpu.wfi_masked++;
}

void rp_delay_cycles(uint32_t cycles) { (void)cycles; }

void fk_hal_panic(const char *file, int line)
{
    fail_msg("FK_ASSERT failed at %s:%d", file, line);
    abort();
}
