/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_irq.h - the few CPU operations the RP2350 drivers need besides
 * register accesses: masking interrupts around state an interrupt handler
 * shares, sleeping until an interrupt, and a short settle delay.
 *
 * On the chip they are inline Cortex-M33 instructions (PRIMASK, WFI, NOP).
 * Built with RP_MMIO_MODEL (the host tests) they are plain functions the
 * test program provides, so a test can see masking, deliver a modelled
 * interrupt when the mask is lifted, and count sleeps.
 */
#ifndef FUSEKEY_RP_IRQ_H
#define FUSEKEY_RP_IRQ_H

#include <stdint.h>

#ifdef RP_MMIO_MODEL

/* Mask interrupts; returns the previous mask state for rp_irq_restore(). */
uint32_t rp_irq_save(void);
/* Put back the mask state rp_irq_save() returned (nests correctly). */
void rp_irq_restore(uint32_t saved);
/* Sleep until an interrupt is pending (wakes even while masked). */
void rp_wfi(void);
/* Wait at least `cycles` processor clock cycles (the model does nothing). */
void rp_delay_cycles(uint32_t cycles);

#else

static inline uint32_t rp_irq_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    return primask;
}

static inline void rp_irq_restore(uint32_t saved)
{
    __asm__ volatile("msr primask, %0" : : "r"(saved) : "memory");
}

static inline void rp_wfi(void) { __asm__ volatile("dsb\n\twfi" : : : "memory"); }

/* Each iteration is at least one cycle (subs + bne); good enough for the
 * "wait a few cycles" rules this is used for, never for timekeeping. */
static inline void rp_delay_cycles(uint32_t cycles)
{
    while (cycles-- != 0u) __asm__ volatile("nop" : : : "memory");
}

#endif

#endif /* FUSEKEY_RP_IRQ_H */
