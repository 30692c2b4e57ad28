/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_led.c - the LED on GPIO 25 (docs/rp2350.md, "LED"): each state of
 * hal.h is a blink pattern, drawn from the timer whenever rp_led_update
 * runs (the SysTick interrupt, every 10 ms; the presence wait).
 *
 *   OFF       dark
 *   IDLE      a 100 ms flash every 2 s (heartbeat)
 *   ACTIVE    5 Hz, 50 %
 *   PRESENCE  on 800 ms, off 200 ms ("press the button")
 *   ERROR     on
 *   wink      10 Hz for 2 s over any state (CTAPHID WINK: "this one")
 */
#include "hal.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"

typedef struct pattern {
    uint32_t period_ms; /* 0: steady */
    uint32_t on_ms;     /* with period 0: non-zero = on */
} pattern_t;

static const pattern_t patterns[] = {
    [FK_LED_OFF] = {0, 0},
    [FK_LED_IDLE] = {2000, 100},
    [FK_LED_ACTIVE] = {200, 100},
    [FK_LED_PRESENCE] = {1000, 800},
    [FK_LED_ERROR] = {0, 1},
};

#define WINK_MS 2000u
static const pattern_t wink_pattern = {100, 50};

static struct {
    bool ready;
    bool on;
    fk_led_state_t state;
    uint64_t wink_until; /* fk_hal_millis() before which the wink shows */
} led;

static void drive(bool on)
{
    rp_wr32(on ? RP_SIO_GPIO_OUT_SET : RP_SIO_GPIO_OUT_CLR, 1u << RP_LED_GPIO);
    led.on = on;
}

void rp_led_init(void)
{
    rp_resets_cycle(RP_RESET_IO_BANK0 | RP_RESET_PADS_BANK0);
    const uint32_t pad = RP_PADS_GPIO(RP_LED_GPIO);
    rp_wr32(pad, rp_rd32(pad) & ~RP_PADS_OD);
    rp_wr32(RP_IO_GPIO_CTRL(RP_LED_GPIO), RP_IO_FUNCSEL_SIO);
    rp_clr(pad, RP_PADS_ISO);
    rp_wr32(RP_SIO_GPIO_OUT_CLR, 1u << RP_LED_GPIO);
    rp_wr32(RP_SIO_GPIO_OE_SET, 1u << RP_LED_GPIO);
    led.ready = true;
    led.on = false;
}

void rp_led_update(void)
{
    if (!led.ready) return;
    const uint64_t now = fk_hal_millis();
    const pattern_t *p = now < led.wink_until ? &wink_pattern : &patterns[led.state];
    bool on = p->on_ms != 0u;
    if (p->period_ms != 0u) on = now % p->period_ms < p->on_ms;
    if (on != led.on) drive(on);
}

void rp_led_force(bool on)
{
    if (led.ready) drive(on);
}

fk_led_state_t rp_led_state(void) { return led.state; }

void rp_led_wink(void)
{
    led.wink_until = fk_hal_millis() + WINK_MS;
    rp_led_update();
}

void fk_hal_led(fk_led_state_t state)
{
    if ((unsigned)state >= sizeof patterns / sizeof patterns[0]) state = FK_LED_ERROR;
    led.state = state;
    rp_led_update();
}
