/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_cpu.h - the few Cortex-M33 operations the drivers need beyond register
 * accesses: masking interrupts, barriers, waiting for an interrupt, calling
 * code copied to RAM, and register accesses that are always inlined (for
 * functions that run from RAM while flash is unusable).
 *
 * Built with RP_MMIO_MODEL these call the host model (tests/unit/rp2350),
 * which records the interrupt mask so the tests can check that flash
 * operations run with interrupts masked from start to end.
 */
#ifndef FUSEKEY_RP_CPU_H
#define FUSEKEY_RP_CPU_H

#include <stdint.h>

#include "rp_mmio.h"

#define RP_ALWAYS_INLINE static inline __attribute__((always_inline))

#ifdef RP_MMIO_MODEL

/* Code that must run from SRAM on the chip; an ordinary function here. */
#define RP_RAMFUNC __attribute__((noinline))

uint32_t rp_model_irq_save(void);
void rp_model_irq_restore(uint32_t primask);
void rp_model_wfi(void);
void rp_model_sev(void);
void rp_model_call_stub(const uint32_t *stub);
void rp_model_halt(void) __attribute__((noreturn));

RP_ALWAYS_INLINE uint32_t rp_cpu_irq_save(void) { return rp_model_irq_save(); }
RP_ALWAYS_INLINE void rp_cpu_irq_restore(uint32_t primask) { rp_model_irq_restore(primask); }
RP_ALWAYS_INLINE void rp_cpu_barrier(void) {}
RP_ALWAYS_INLINE void rp_cpu_wfi(void) { rp_model_wfi(); }
RP_ALWAYS_INLINE void rp_cpu_sev(void) { rp_model_sev(); }
RP_ALWAYS_INLINE void rp_cpu_call_stub(const uint32_t *stub) { rp_model_call_stub(stub); }
RP_ALWAYS_INLINE __attribute__((noreturn)) void rp_cpu_halt(void) { rp_model_halt(); }
RP_ALWAYS_INLINE uint32_t rp_cpu_rd32(uint32_t addr) { return rp_model_rd32(addr); }
RP_ALWAYS_INLINE void rp_cpu_wr32(uint32_t addr, uint32_t v) { rp_model_wr32(addr, v); }

#else

/* Placed in .ramfunc, which the linker script copies to SRAM with .data;
 * never inlined into flash-resident callers. */
#define RP_RAMFUNC __attribute__((section(".ramfunc"), noinline))

/* Mask interrupts (PRIMASK = 1) and return the previous PRIMASK. */
RP_ALWAYS_INLINE uint32_t rp_cpu_irq_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

RP_ALWAYS_INLINE void rp_cpu_irq_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

RP_ALWAYS_INLINE void rp_cpu_barrier(void) { __asm__ volatile("dsb\n\tisb" ::: "memory"); }
RP_ALWAYS_INLINE void rp_cpu_wfi(void) { __asm__ volatile("wfi" ::: "memory"); }
/* Signal an event to the other core (ends its WFE). */
RP_ALWAYS_INLINE void rp_cpu_sev(void) { __asm__ volatile("sev" ::: "memory"); }

/* Stop here for good (interrupts masked: only a reset ends it). */
RP_ALWAYS_INLINE __attribute__((noreturn)) void rp_cpu_halt(void)
{
    for (;;) __asm__ volatile("wfi" ::: "memory");
}

/* Call Thumb code at stub (an SRAM copy of position-independent code). */
RP_ALWAYS_INLINE void rp_cpu_call_stub(const uint32_t *stub)
{
    void (*fn)(void) = (void (*)(void))((uintptr_t)stub | 1u);
    fn();
}

RP_ALWAYS_INLINE uint32_t rp_cpu_rd32(uint32_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}
RP_ALWAYS_INLINE void rp_cpu_wr32(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)addr = v;
}

#endif

#endif /* FUSEKEY_RP_CPU_H */
