/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_core1.c - hal.h's second core on the RP2350: core 1 runs one job at a
 * time, launched through the boot ROM's handshake over the SIO FIFOs
 * (docs/rp2350.md "Core 1"; spec §10).
 *
 * A job's life:
 *
 *   core 0                                        core 1
 *   job = {fn, arg, done = 0}; stack words        (held in reset, or
 *   PSM FRCE_OFF set, read back, cleared   --->    sleeping in the ROM)
 *   pop the 0 the ROM pushes on restart    <---   ROM: push 0, wait
 *   0, 0, 1, VTOR, SP, PC, each echoed     <-->   ROM: echo; on PC branch
 *                                                 trampoline: pop MSPLIM,
 *                                                 entry; MSPLIM; FPU on
 *   poll done (acquire) ... keepalive              rp_core1_main: fn(arg),
 *                                          <---   done = 1 (release), SEV
 *   seen done: FRCE_OFF set (core 1 held          trampoline: WFE forever
 *   in reset until the next job)
 *
 * Core 1 stops answering: at launch (no echo, no restart 0 within
 * RP_CORE1_POLLS polls) or in a job (core 0 gives up and calls
 * fk_hal_core1_abandon): FRCE_OFF is set and stays set, and single-core
 * mode is latched until the next chip reset.
 *
 * IMPLEMENTATION NOTE: flash. Core 1 executes the job from flash (XIP),
 * which is safe only while nothing stops XIP: while a job runs,
 * fk_hal_flash_erase/program answer FK_HAL_ESTATE and the BOOTSEL button
 * reads as released (rp_flash.c, rp_button.c). After the job core 1 is held
 * in reset, so it executes nothing at all while core 0 writes flash.
 * Core 1 enables no interrupt; its vector table is core 0's (a fault on
 * core 1 ends in the same handlers: fk_hal_panic resets the chip).
 *
 * IMPLEMENTATION NOTE: stack. Core 1's stack is core1_stack in main SRAM
 * (.bss: the RAM budget counts it), RP_CORE1_STACK_BYTES with MSPLIM at its
 * bottom; tools/fw/stack.conf checks the job's worst case against it. Once
 * core 1 is held in reset after a job (done or abandoned) core 0 wipes the
 * stack: the prime search leaves traces of candidates there.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "hal.h"
#include "rp_cpu.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"
#include "util.h"

#define LAUNCH_WORDS 6u
#define LAUNCH_ATTEMPTS 8u /* restarts of the sequence on a wrong echo */
#define STACK_ARGS 4u      /* MSPLIM, entry, two pads (SP stays 8-byte aligned) */

typedef struct core1_job {
    fk_core1_fn fn;
    void *arg;
    atomic_bool done;
} core1_job_t;

static core1_job_t s_job;
static struct {
    bool latched; /* single-core mode until the next chip reset */
    bool running; /* a job was launched and not yet seen done or abandoned */
} s_c1;

static uint64_t core1_stack[RP_CORE1_STACK_BYTES / 8u];

_Static_assert(RP_CORE1_STACK_BYTES % 8u == 0, "core 1's stack keeps 8-byte alignment");

static uint32_t addr32(const volatile void *p) { return (uint32_t)(uintptr_t)p; }

#ifdef RP_MMIO_MODEL
/* The model does not execute core 1: the tests call rp_core1_main. */
static void core1_trampoline(void) {}
#else
/* Core 1's first instructions (the ROM branches here with MSP = SP): pop
 * the stack bottom and the C entry; set MSPLIM (stack overflow faults
 * instead of running into other data); enable the FPU for core 1 (its CPACR
 * keeps CP7); call the entry; then sleep for good.
 * No FP instruction, no literal pool, nothing before MSPLIM is set. */
__attribute__((naked, noreturn)) static void core1_trampoline(void)
{
    __asm__ volatile("pop {r0, r1, r2, r3}\n\t" /* r0 MSPLIM, r1 entry */
                     "msr msplim, r0\n\t"
                     "movw r3, #0xED88\n\t" /* CPACR */
                     "movt r3, #0xE000\n\t"
                     "ldr r0, [r3]\n\t"
                     "orr r0, r0, #0x00F00000\n\t" /* CP10, CP11 */
                     "str r0, [r3]\n\t"
                     "dsb\n\t"
                     "isb\n\t"
                     "blx r1\n\t"
                     "1: wfe\n\t"
                     "b 1b\n\t");
}
#endif

void rp_core1_init(void)
{
    s_c1.latched = false;
    s_c1.running = false;
    atomic_store_explicit(&s_job.done, false, memory_order_relaxed);
}

void rp_core1_main(void)
{
    s_job.fn(s_job.arg);
    atomic_store_explicit(&s_job.done, true, memory_order_release);
    rp_cpu_sev();
}

/* Read core 0's RX FIFO until it is empty; clear the sticky error bits. */
static void fifo_drain(void)
{
    while ((rp_rd32(RP_SIO_FIFO_ST) & RP_SIO_FIFO_VLD) != 0u) (void)rp_rd32(RP_SIO_FIFO_RD);
    rp_wr32(RP_SIO_FIFO_ST, RP_SIO_FIFO_WOF | RP_SIO_FIFO_ROE);
}

/* Wait for a FIFO status bit, at most RP_CORE1_POLLS reads. */
static bool fifo_wait(uint32_t bit)
{
    for (uint32_t n = 0; n < RP_CORE1_POLLS; n++)
        if ((rp_rd32(RP_SIO_FIFO_ST) & bit) != 0u) return true;
    return false;
}

/* Set FRCE_OFF for core 1 and read it back: core 1 is held in reset. */
static bool hold_in_reset(void)
{
    rp_set(RP_PSM_FRCE_OFF, RP_PSM_PROC1);
    for (uint32_t n = 0; n < RP_CORE1_POLLS; n++)
        if ((rp_rd32(RP_PSM_FRCE_OFF) & RP_PSM_PROC1) != 0u) return true;
    return false;
}

void rp_core1_park(void) { (void)hold_in_reset(); }

bool rp_core1_reset(void)
{
    fifo_drain();
    if (!hold_in_reset()) return false;
    rp_clr(RP_PSM_FRCE_OFF, RP_PSM_PROC1);
    /* Back in the ROM, core 1 pushes a 0: take it. */
    if (!fifo_wait(RP_SIO_FIFO_VLD)) return false;
    return rp_rd32(RP_SIO_FIFO_RD) == 0u;
}

bool rp_core1_launch(uint32_t vtor, uint32_t sp, uint32_t pc)
{
    const uint32_t seq[LAUNCH_WORDS] = {0u, 0u, 1u, vtor, sp, pc};
    unsigned i = 0, sent = 0;

    while (i < LAUNCH_WORDS) {
        if (++sent > LAUNCH_WORDS * LAUNCH_ATTEMPTS) return false;
        if (seq[i] == 0u) {
            /* A 0 restarts core 1's ROM: start from an empty FIFO. */
            fifo_drain();
            rp_cpu_sev();
        }
        if (!fifo_wait(RP_SIO_FIFO_RDY)) return false;
        rp_wr32(RP_SIO_FIFO_WR, seq[i]);
        rp_cpu_sev();
        if (!fifo_wait(RP_SIO_FIFO_VLD)) return false;
        i = rp_rd32(RP_SIO_FIFO_RD) == seq[i] ? i + 1u : 0u;
    }
    return true;
}

bool rp_core1_busy(void)
{
    return s_c1.running && !atomic_load_explicit(&s_job.done, memory_order_acquire);
}

int fk_hal_core1_start(fk_core1_fn fn, void *arg)
{
    uint32_t *sp = (uint32_t *)(void *)&core1_stack[RP_CORE1_STACK_BYTES / 8u] - STACK_ARGS;

    if (fn == NULL) return FK_HAL_ERANGE;
    if (s_c1.latched) return FK_HAL_ENOTSUP;
    if (rp_core1_busy()) return FK_HAL_ESTATE;
    s_c1.running = false;
    s_job.fn = fn;
    s_job.arg = arg;
    atomic_store_explicit(&s_job.done, false, memory_order_relaxed);
    sp[0] = addr32(core1_stack);
    sp[1] = (uint32_t)(uintptr_t)rp_core1_main;
    sp[2] = 0u;
    sp[3] = 0u;
    /* Everything above (and the caller's data) reaches SRAM before core 1
     * can run. */
    rp_cpu_barrier();
    if (!rp_core1_reset() ||
        !rp_core1_launch(rp_rd32(RP_PPB_VTOR), addr32(sp),
                         (uint32_t)(uintptr_t)core1_trampoline | 1u)) {
        rp_core1_park();
        s_c1.latched = true;
        return FK_HAL_ETIMEOUT;
    }
    s_c1.running = true;
    return FK_HAL_OK;
}

/* Core 1 is held in reset: wipe what the job left on its stack. */
static void stack_wipe(void) { fk_wipe(core1_stack, sizeof core1_stack); }

bool fk_hal_core1_done(void)
{
    if (!s_c1.running) return true;
    if (!atomic_load_explicit(&s_job.done, memory_order_acquire)) return false;
    /* Core 1 is on its way to WFE in flash: hold it in reset, so it fetches
     * nothing while core 0 may write flash next. */
    rp_core1_park();
    stack_wipe();
    s_c1.running = false;
    return true;
}

void fk_hal_core1_abandon(void)
{
    if (!s_c1.running) return;
    rp_core1_park();
    stack_wipe();
    s_c1.running = false;
    s_c1.latched = true;
}

unsigned fk_hal_core_id(void) { return rp_rd32(RP_SIO_CPUID) == 0u ? 0u : 1u; }
