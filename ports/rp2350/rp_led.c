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

static struct {
    bool ready;
    bool on;
    fk_led_state_t state;
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
    const pattern_t *p = &patterns[led.state];
    bool on = p->on_ms != 0u;
    if (p->period_ms != 0u) on = fk_hal_millis() % p->period_ms < p->on_ms;
    if (on != led.on) drive(on);
}

void rp_led_force(bool on)
{
    if (led.ready) drive(on);
}

fk_led_state_t rp_led_state(void) { return led.state; }

void fk_hal_led(fk_led_state_t state)
{
    if ((unsigned)state >= sizeof patterns / sizeof patterns[0]) state = FK_LED_ERROR;
    led.state = state;
    rp_led_update();
}
