/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_button.c - the BOOTSEL button as user presence (docs/rp2350.md,
 * "User presence").
 *
 * The button pulls the flash chip-select line low. Reading it means
 * letting go of that line for a few microseconds, during which flash
 * cannot be read: the read runs from RAM with interrupts masked, and core
 * 1 is parked in the ROM (never launched). The pin is sampled, then the
 * chip-select override is put back to normal before interrupts return.
 *
 * Presence needs a fresh press: the button must be seen released (stable
 * for RP_BUTTON_STABLE_MS) after the wait began, then pressed (stable as
 * long). A button held down before the request, or taped down, never
 * confirms. The board has one button and no way to say no: the wait ends
 * with a press or the timeout, never with FK_HAL_EDENIED.
 */
#include "hal.h"
#include "rp_cpu.h"
#include "rp_port.h"
#include "rp_regs.h"

/* ~a few microseconds at 150 MHz for the released pin to rise. */
#define SETTLE_LOOPS 1000u
#define POLL_US 1000u

enum { BUTTON_UNKNOWN = -1, BUTTON_RELEASED = 0, BUTTON_PRESSED = 1 };

static struct {
    bool valid;    /* a raw sample was taken since the last reset of the state */
    bool raw;      /* last raw sample */
    uint64_t since; /* when raw last changed (ms) */
} btn;

static RP_RAMFUNC bool ram_read_bootsel(void)
{
    const uint32_t primask = rp_cpu_irq_save();
    const uint32_t ctrl = rp_cpu_rd32(RP_IO_QSPI_SS_CTRL) & ~RP_IO_OEOVER_MASK;
    rp_cpu_wr32(RP_IO_QSPI_SS_CTRL, ctrl | (RP_IO_OEOVER_DISABLE << RP_IO_OEOVER_SHIFT));
    for (volatile uint32_t i = 0; i < SETTLE_LOOPS; i++) {
    }
    const bool pressed = (rp_cpu_rd32(RP_SIO_GPIO_HI_IN) & RP_SIO_HI_QSPI_CSN) == 0u;
    rp_cpu_wr32(RP_IO_QSPI_SS_CTRL, ctrl | (RP_IO_OEOVER_NORMAL << RP_IO_OEOVER_SHIFT));
    rp_cpu_irq_restore(primask);
    return pressed;
}

/* Reading BOOTSEL takes the flash chip select away from XIP: never while
 * core 1 runs a job from flash (it reads as released then). */
bool rp_button_raw(void) { return !rp_core1_busy() && ram_read_bootsel(); }

/* Sample once; the debounced state, BUTTON_UNKNOWN until one is stable. */
static int button_state(void)
{
    const uint64_t now = fk_hal_millis();
    const bool raw = rp_button_raw();
    if (!btn.valid || raw != btn.raw) {
        btn.valid = true;
        btn.raw = raw;
        btn.since = now;
    }
    if (now - btn.since < RP_BUTTON_STABLE_MS) return BUTTON_UNKNOWN;
    return btn.raw ? BUTTON_PRESSED : BUTTON_RELEASED;
}

bool rp_button_pressed(void) { return button_state() == BUTTON_PRESSED; }

/* Set by fk_hal_presence_abort from the keepalive; cleared when a wait starts. */
static volatile bool presence_aborted;

void fk_hal_presence_abort(void) { presence_aborted = true; }

int fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg)
{
    presence_aborted = false;
    const fk_led_state_t before = rp_led_state();
    const uint64_t start = fk_hal_millis();
    uint64_t last_keepalive = start;
    bool released = false;
    int rc = FK_HAL_ETIMEOUT;
    fk_hal_led(FK_LED_PRESENCE);
    btn.valid = false;
    for (;;) {
        const uint64_t now = fk_hal_millis();
        if (now - start >= timeout_ms) break;
        if (keepalive != NULL && now - last_keepalive >= RP_PRESENCE_KEEPALIVE_MS) {
            keepalive(arg);
            last_keepalive = now;
            if (presence_aborted) {
                rc = FK_HAL_ECANCELED;
                break;
            }
        }
        const int st = button_state();
        if (st == BUTTON_RELEASED) released = true;
        if (st == BUTTON_PRESSED && released) {
            rc = FK_HAL_OK;
            break;
        }
        rp_led_update();
        rp_timer_delay_us(POLL_US);
    }
    fk_hal_led(before);
    return rc;
}
