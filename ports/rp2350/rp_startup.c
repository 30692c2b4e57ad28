/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_startup.c - what the boot ROM starts (docs/rp2350.md, "Boot"): the
 * vector table at the image start, the IMAGE_DEF block right after it, the
 * reset handler and the fault handlers.
 *
 * The ROM launches the image on core 0 in Secure privileged mode with MSP
 * and the entry point from words 0 and 1 of the vector table, VTOR =
 * 0x10000000, MSPLIM = 0 and only CP7 enabled in CPACR (the FPU is off).
 * The reset handler then, in this order:
 *   1. sends any core but core 0 back to the ROM (VTOR = 0, SP and PC from
 *      the ROM's vector table): only core 0 runs the start-up;
 *   2. MSPLIM = bottom of the stack: an overflow becomes a UsageFault;
 *   3. CPACR |= CP10/CP11 (FPU on), keeping CP7, which every ROM call
 *      needs; DSB, ISB;
 *   4. copies .data (with the RAM functions of .ramfunc) from flash and
 *      zeroes .bss;
 *   5. copies the ROM's XIP set-up stub out of BOOTRAM (rp_flash_init);
 *   6. starts the clocks, enables the configurable faults, calls main.
 * Steps 1-3 are assembly, so no compiler-generated FP instruction can run
 * before the FPU is enabled; the C part starts after it.
 */
#include <stdint.h>

#include "hal.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"

#define SYSTEM_VECTORS 16u
#define IRQ_VECTORS 52u
#define USBCTRL_IRQ 14u

/* The linker script's symbols (rp2350.ld). */
extern uint32_t __stack_top;
extern uint32_t __data_start, __data_end, __data_load;
extern uint32_t __bss_start, __bss_end;

int main(void);
void rp_reset_handler(void);
void rp_reset_c(void) __attribute__((noreturn, used));
void rp_fault_n(int n) __attribute__((noreturn, used));
void rp_default_irq(void);
/* The USB controller's interrupt (rp_usb.c); the default panics. */
void rp_usb_irq(void) __attribute__((weak, alias("rp_default_irq")));

/* Fault numbers as the vector numbers. */
#define FAULT_NMI 2
#define FAULT_HARD 3
#define FAULT_MEMMANAGE 4
#define FAULT_BUS 5
#define FAULT_USAGE 6
#define FAULT_SECURE 7

/* A fault handler: a fresh stack at the top (the fault may be a stack
 * overflow, and nothing returns from here), then rp_fault_n(n). */
#define RP_STR_(x) #x
#define RP_STR(x) RP_STR_(x)
#define FAULT_HANDLER(name, n)                                                      \
    __attribute__((naked, noreturn)) static void name(void)                        \
    {                                                                               \
        __asm__ volatile("ldr r0, =__stack_top\n\t"                                 \
                         "msr msp, r0\n\t"                                          \
                         "movs r0, #" RP_STR(n) "\n\t"                              \
                         "b rp_fault_n\n\t"                                         \
                         ".ltorg");                                                 \
    }

FAULT_HANDLER(nmi_handler, FAULT_NMI)
FAULT_HANDLER(hardfault_handler, FAULT_HARD)
FAULT_HANDLER(memmanage_handler, FAULT_MEMMANAGE)
FAULT_HANDLER(busfault_handler, FAULT_BUS)
FAULT_HANDLER(usagefault_handler, FAULT_USAGE)
FAULT_HANDLER(securefault_handler, FAULT_SECURE)

typedef void (*vector_t)(void);
#define D rp_default_irq
#define D4 D, D, D, D

/* 16 system + 52 interrupt vectors at 0x10000000 (VTOR as the ROM sets it;
 * the table needs 512-byte alignment, which the image start has). */
__attribute__((section(".vectors"), used)) const vector_t rp_vectors[] = {
    [0] = (vector_t)&__stack_top,
    [1] = rp_reset_handler,
    [2] = nmi_handler,
    [3] = hardfault_handler,
    [4] = memmanage_handler,
    [5] = busfault_handler,
    [6] = usagefault_handler,
    [7] = securefault_handler,
    [11] = rp_default_irq, /* SVCall */
    [12] = rp_default_irq, /* DebugMonitor */
    [14] = rp_default_irq, /* PendSV */
    [15] = rp_systick_irq, /* SysTick */
    /* IRQ 0-13 */
    D4, D4, D4, D, D,
    /* IRQ 14: USBCTRL */
    rp_usb_irq,
    /* IRQ 15-51 */
    D4, D4, D4, D4, D4, D4, D4, D4, D4, D,
};
#undef D
#undef D4
_Static_assert(sizeof rp_vectors == 4u * (SYSTEM_VECTORS + IRQ_VECTORS), "68 vectors");

/* IMAGE_DEF: one self-looping block with a single IMAGE_TYPE item, EXE |
 * SECURITY=S | CPU=ARM | CHIP=RP2350, no try-before-you-buy bit. The
 * linker script places it right after the vector table and checks that it
 * ends within the first 4 KiB, where the ROM looks for it. */
__attribute__((section(".embedded_block"), used)) const uint32_t rp_image_def[5] = {
    0xFFFFDED3u, /* START marker */
    0x10210142u, /* IMAGE_TYPE (0x42), 1 word, flags 0x1021 */
    0x000001FFu, /* LAST (0xFF), items before it: 1 word */
    0x00000000u, /* link to itself */
    0xAB123579u, /* END marker */
};

/* Steps 1-3 (see above), then rp_reset_c. */
__attribute__((naked, noreturn)) void rp_reset_handler(void)
{
    __asm__ volatile("ldr r0, =0xD0000000\n\t" /* SIO CPUID */
                     "ldr r0, [r0]\n\t"
                     "cbz r0, 1f\n\t"
                     "ldr r0, =0xE000ED08\n\t" /* VTOR = 0: the ROM's table */
                     "movs r1, #0\n\t"
                     "str r1, [r0]\n\t"
                     "ldr r0, [r1]\n\t"
                     "ldr r2, [r1, #4]\n\t"
                     "msr msp, r0\n\t"
                     "bx r2\n"
                     "1:\n\t"
                     "ldr r0, =__stack_bottom\n\t"
                     "msr msplim, r0\n\t"
                     "ldr r0, =0xE000ED88\n\t" /* CPACR |= CP10, CP11 */
                     "ldr r1, [r0]\n\t"
                     "orr r1, r1, #0x00F00000\n\t"
                     "str r1, [r0]\n\t"
                     "dsb\n\t"
                     "isb\n\t"
                     "b rp_reset_c\n\t"
                     ".ltorg");
}

void rp_reset_c(void)
{
    /* Word by word through volatile pointers: no library call before
     * .data exists. */
    volatile uint32_t *dst = &__data_start;
    const volatile uint32_t *src = &__data_load;
    while (dst < &__data_end) *dst++ = *src++;
    for (volatile uint32_t *p = &__bss_start; p < &__bss_end; p++) *p = 0;
    rp_flash_init();
    rp_clocks_init();
    rp_wr32(RP_PPB_SHCSR, rp_rd32(RP_PPB_SHCSR) | RP_SHCSR_FAULTS_ENABLE);
    (void)main();
    fk_hal_panic(__FILE__, __LINE__);
}

void rp_fault_n(int n) { rp_fault("fault", n); }

/* An interrupt nobody enabled. */
void rp_default_irq(void) { fk_hal_panic(__FILE__, __LINE__); }
