/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_timer.c - TIMER0 as the port's clock: a free-running 64-bit count of
 * microseconds (1 us ticks from clk_ref, rp_ticks_init), read through the
 * raw registers, which have no latching side effect. SysTick interrupts
 * every RP_SYSTICK_MS: it draws the LED pattern and bounds how long the
 * main loop's WFI sleeps.
 */
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"

#define US_PER_MS 1000u

void rp_timer_init(void) { rp_resets_cycle(RP_RESET_TIMER0); }

/* hi, lo, hi again: when the high word moved, the low word wrapped in
 * between, so read again. */
uint64_t rp_timer_us(void)
{
    uint32_t hi = rp_rd32(RP_TIMER_TIMERAWH);
    for (;;) {
        const uint32_t lo = rp_rd32(RP_TIMER_TIMERAWL);
        const uint32_t hi2 = rp_rd32(RP_TIMER_TIMERAWH);
        if (hi2 == hi) return ((uint64_t)hi << 32) | lo;
        hi = hi2;
    }
}

void rp_timer_delay_us(uint32_t us)
{
    const uint64_t start = rp_timer_us();
    while (rp_timer_us() - start < us) {
    }
}

uint64_t fk_hal_millis(void) { return rp_timer_us() / US_PER_MS; }

void rp_systick_start(void)
{
    rp_wr32(RP_PPB_SYST_RVR, RP_CLK_SYS_HZ / 1000u * RP_SYSTICK_MS - 1u);
    rp_wr32(RP_PPB_SYST_CVR, 0u);
    rp_wr32(RP_PPB_SYST_CSR, RP_SYST_CSR_RUN_CPU_IRQ);
}

void rp_systick_irq(void) { rp_led_update(); }
