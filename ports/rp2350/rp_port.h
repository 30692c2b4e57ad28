/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_port.h - the RP2350 port's internal interface: one function per
 * peripheral operation, used by main.c, the startup code and each other.
 * The core never includes it (it sees hal.h only). docs/rp2350.md.
 */
#ifndef FUSEKEY_RP_PORT_H
#define FUSEKEY_RP_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal.h"

/* ---- rp_resets.c ---------------------------------------------------------- */
/* Hold the blocks of mask in reset. */
void rp_resets_reset(uint32_t mask);
/* Release the blocks of mask and wait until RESET_DONE shows all of them. */
void rp_resets_release(uint32_t mask);
/* Reset then release (a known state whatever the ROM left). */
void rp_resets_cycle(uint32_t mask);

/* ---- rp_clocks.c ---------------------------------------------------------- */
/* XOSC 12 MHz, PLL_SYS 150 MHz, PLL_USB 48 MHz, clk_ref 12 MHz, clk_sys
 * 150 MHz, clk_usb 48 MHz, clk_peri 150 MHz, then the tick generators. */
void rp_clocks_init(void);
/* TIMER0 and watchdog ticks at 1 us from clk_ref (part of rp_clocks_init). */
void rp_ticks_init(void);

/* ---- rp_timer.c ----------------------------------------------------------- */
/* Release TIMER0 (the ticks must run already). */
void rp_timer_init(void);
/* Microseconds since the timer started: 64-bit, consistent across a carry. */
uint64_t rp_timer_us(void);
/* Busy-wait at least us microseconds. */
void rp_timer_delay_us(uint32_t us);
/* SysTick every RP_SYSTICK_MS from clk_sys (150 MHz): its handler,
 * rp_systick_irq, updates the LED; the interrupt also ends every WFI. */
#define RP_SYSTICK_MS 10u
void rp_systick_start(void);
void rp_systick_irq(void);

/* ---- rp_flash.c ----------------------------------------------------------- */
/* Flash map (docs/rp2350.md): the image area from offset 0, the data region
 * of hal.h above it, the last sector reserved (RP2350-E10). */
#define RP_FLASH_IMAGE_SIZE (1024u * 1024u)
#define RP_FLASH_SECTOR 4096u
#define RP_FLASH_PAGE 256u
#define RP_FLASH_DATA_OFFSET RP_FLASH_IMAGE_SIZE
#define RP_FLASH_DATA_SIZE (4u * 1024u * 1024u - RP_FLASH_IMAGE_SIZE - RP_FLASH_SECTOR)
/* Copy the ROM's XIP-restore stub out of BOOTRAM (before any flash write). */
void rp_flash_init(void);

/* ---- rp_otp.c ------------------------------------------------------------- */
/* Read the page-58 key rows once, then lock page 58 (SW_LOCK58) against
 * every reader until the next reset. fk_hal_otp_key serves the copy.
 * Call before any host input is processed. FK_HAL_OK, or the error of the
 * ROM (the page stays locked in every case). */
int rp_otp_init(void);

/* ---- rp_trng.c ------------------------------------------------------------ */
/* Reset and configure the TRNG for raw sampling; idle until asked. */
void rp_trng_init(void);

/* ---- rp_button.c, rp_led.c -------------------------------------------------- */
/* The BOOTSEL button right now (one raw sample, read from RAM). */
bool rp_button_raw(void);
/* The button after debouncing: the same raw state for RP_BUTTON_STABLE_MS. */
bool rp_button_pressed(void);
#define RP_BUTTON_STABLE_MS 20u
#define RP_PRESENCE_KEEPALIVE_MS 250u
/* Configure GPIO 25 as an output, LED off. */
void rp_led_init(void);
/* Drive the LED from the current state's pattern and the timer; call often. */
void rp_led_update(void);
/* The LED on or off at once, whatever the state (panic). */
void rp_led_force(bool on);
/* The state last given to fk_hal_led. */
fk_led_state_t rp_led_state(void);
/* Blink fast for a moment over whatever state shows (CTAPHID WINK). */
void rp_led_wink(void);

/* ---- rp_core1.c ---------------------------------------------------------- */
/* Core 1 runs hal.h's second-core jobs (docs/rp2350.md "Core 1"). */
#define RP_CORE1_STACK_BYTES 4096u
/* FIFO polls before core 1 counts as not answering (each poll is a few
 * cycles; core 1's ROM answers within a few hundred). */
#define RP_CORE1_POLLS 100000u
/* The state after a chip reset: no job, single-core mode not latched (core
 * 1 sleeps in the ROM). */
void rp_core1_init(void);
/* Hold core 1 in reset (PSM FRCE_OFF), then release it: it restarts in the
 * ROM and pushes a 0, which is popped. False when it does not come back. */
bool rp_core1_reset(void);
/* Keep core 1 in reset until the next chip reset (parked for good). */
void rp_core1_park(void);
/* The launch handshake of the ROM (spec §10.1): 0, 0, 1, vtor, sp, pc, each
 * echoed. False when core 1 does not answer within RP_CORE1_POLLS. */
bool rp_core1_launch(uint32_t vtor, uint32_t sp, uint32_t pc);
/* A job runs on core 1 now: flash erase/program and BOOTSEL reads refuse. */
bool rp_core1_busy(void);
/* Core 1's side of a job (the trampoline calls it): run fn(arg), publish
 * done (release), wake core 0. Returns to the trampoline, which parks
 * core 1 in WFE. */
void rp_core1_main(void);

/* ---- rp_sys.c ------------------------------------------------------------- */
/* A reboot fk_hal_reboot recorded and nobody performed yet. */
bool rp_reboot_pending(fk_reboot_mode_t *mode);
/* Reboot now through the ROM (normal or BOOTSEL). Returns only if the ROM
 * refused. */
void rp_reboot_now(fk_reboot_mode_t mode);
/* Register RAM that holds secrets: fk_hal_panic wipes it before resetting.
 * At most RP_SECRET_REGIONS regions; returns false when full. */
#define RP_SECRET_REGIONS 8u
bool rp_secret_register(void *p, size_t len);
/* A fault handler's end: fk_hal_panic with the fault's name. */
void rp_fault(const char *what, int n) __attribute__((noreturn));

#endif /* FUSEKEY_RP_PORT_H */
