/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_presence.c - user presence on the BOOTSEL button (rp_button.c)
 * and the LED (rp_led.c) against the model: the button read with the
 * chip-select override and interrupts masked, debouncing, the fresh-press
 * rule, keepalives at least every 500 ms, the timeout; the LED pin set-up
 * order and its patterns.
 */
#include <string.h>

#include "rp_test.h"

#define MS 1000ull

static struct {
    unsigned calls;
    uint64_t last_us, max_gap_us;
    bool led_was_presence;
} ka;

static void keepalive(void *arg)
{
    assert_ptr_equal(arg, &ka);
    const uint64_t now = rp_model.now_us;
    if (now - ka.last_us > ka.max_gap_us) ka.max_gap_us = now - ka.last_us;
    ka.last_us = now;
    ka.calls++;
    ka.led_was_presence = rp_led_state() == FK_LED_PRESENCE;
}

static uint64_t t0;

static int setup(void **state)
{
    (void)state;
    rp_test_boot();
    rp_led_init();
    fk_hal_led(FK_LED_IDLE);
    memset(&ka, 0, sizeof ka);
    rp_model.now_us = 5000u * MS; /* an arbitrary start */
    t0 = rp_model.now_us;
    ka.last_us = t0;
    return 0;
}

static int wait(uint32_t timeout_ms) { return fk_hal_presence_wait(timeout_ms, keepalive, &ka); }

/* After any wait: the pin back to normal, interrupts on, LED state back,
 * keepalives no further apart than 500 ms, no broken rule. */
static void check_after(void)
{
    assert_int_equal(rp_model_peek(RP_IO_QSPI_SS_CTRL) & RP_IO_OEOVER_MASK, 0);
    assert_false(rp_model.irq_masked);
    assert_int_equal(rp_led_state(), FK_LED_IDLE);
    assert_true(ka.max_gap_us <= 500u * MS);
    ASSERT_NO_VIOLATION();
}

static void test_timeout_with_keepalives(void **state)
{
    (void)state;
    assert_int_equal(wait(2000), FK_HAL_ETIMEOUT);
    assert_true(rp_model.now_us - t0 >= 2000u * MS);
    assert_true(rp_model.now_us - t0 < 2100u * MS);
    assert_true(ka.calls >= 4u);
    assert_true(ka.led_was_presence);
    check_after();
}

static void test_press_confirms(void **state)
{
    (void)state;
    rp_model_press(t0 + 300u * MS, t0 + 600u * MS);
    assert_int_equal(wait(5000), FK_HAL_OK);
    /* After the press was stable, well before the timeout. */
    assert_true(rp_model.now_us >= t0 + 320u * MS);
    assert_true(rp_model.now_us < t0 + 600u * MS);
    check_after();
}

static void test_held_button_never_confirms(void **state)
{
    (void)state;
    rp_model_press(0, t0 + 10000u * MS); /* down before the request */
    assert_int_equal(wait(2000), FK_HAL_ETIMEOUT);
    check_after();
}

static void test_release_then_press_confirms(void **state)
{
    (void)state;
    rp_model_press(0, t0 + 400u * MS);
    rp_model_press(t0 + 800u * MS, t0 + 1200u * MS);
    assert_int_equal(wait(3000), FK_HAL_OK);
    assert_true(rp_model.now_us >= t0 + 820u * MS);
    check_after();
}

static void test_glitch_is_not_a_press(void **state)
{
    (void)state;
    rp_model_press(t0 + 300u * MS, t0 + 305u * MS);
    assert_int_equal(wait(1000), FK_HAL_ETIMEOUT);
    check_after();
}

static void test_without_keepalive(void **state)
{
    (void)state;
    rp_model_press(t0 + 100u * MS, t0 + 300u * MS);
    assert_int_equal(fk_hal_presence_wait(1000, NULL, NULL), FK_HAL_OK);
    check_after();
}

static void test_button_raw_read(void **state)
{
    (void)state;
    rp_model_log_clear();
    assert_false(rp_button_raw());
    rp_model_press(0, t0 + 1000u * MS);
    assert_true(rp_button_raw());
    /* Chip select released (OEOVER = 2) before the read, restored after. */
    const size_t over = FIND(0, RP_OP_WRITE, RP_IO_QSPI_SS_CTRL, RP_IO_OEOVER_MASK, 2u << 14);
    const size_t read = FIND(over, RP_OP_READ, RP_SIO_GPIO_HI_IN, 0, 0);
    FIND(read, RP_OP_WRITE, RP_IO_QSPI_SS_CTRL, RP_IO_OEOVER_MASK, 0u);
    assert_true(rp_model.log[read].irq_masked);
    check_after();
}

static void test_led_set_up_order(void **state)
{
    (void)state;
    rp_model_reset(false);
    rp_led_init();
    const uint32_t pad = RP_PADS_GPIO(RP_LED_GPIO);
    const size_t od = FIND(0, RP_OP_WRITE, pad, RP_PADS_OD | RP_PADS_ISO, RP_PADS_ISO);
    const size_t func = FIND(0, RP_OP_WRITE, RP_IO_GPIO_CTRL(RP_LED_GPIO), 0xFFFFFFFFu, 5u);
    const size_t iso = FIND(0, RP_OP_CLR, pad, RP_PADS_ISO, RP_PADS_ISO);
    const size_t oe = FIND(0, RP_OP_WRITE, RP_SIO_GPIO_OE_SET, 0xFFFFFFFFu, 1u << 25);
    assert_true(od < func && func < iso && iso < oe);
    assert_int_equal(rp_model_peek(pad) & (RP_PADS_ISO | RP_PADS_OD), 0);
    ASSERT_NO_VIOLATION();
}

static bool led_on(void) { return (rp_model_gpio_out() & (1u << RP_LED_GPIO)) != 0u; }

static void test_led_patterns(void **state)
{
    (void)state;
    rp_model.us_per_timer_read = 0;
    rp_model.now_us = 10000u * MS + 50u * MS; /* 50 ms into a 2 s period */
    fk_hal_led(FK_LED_IDLE);
    assert_true(led_on());
    rp_model.now_us = 10000u * MS + 500u * MS;
    rp_led_update();
    assert_false(led_on());
    fk_hal_led(FK_LED_ERROR);
    assert_true(led_on());
    rp_model.now_us += 12345u * MS;
    rp_led_update();
    assert_true(led_on()); /* steady */
    fk_hal_led(FK_LED_OFF);
    assert_false(led_on());
    fk_hal_led(FK_LED_ACTIVE);
    rp_model.now_us = 20000u * MS + 50u * MS;
    rp_led_update();
    assert_true(led_on());
    rp_model.now_us = 20000u * MS + 150u * MS;
    rp_led_update();
    assert_false(led_on());
    ASSERT_NO_VIOLATION();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_timeout_with_keepalives, setup),
        cmocka_unit_test_setup(test_press_confirms, setup),
        cmocka_unit_test_setup(test_held_button_never_confirms, setup),
        cmocka_unit_test_setup(test_release_then_press_confirms, setup),
        cmocka_unit_test_setup(test_glitch_is_not_a_press, setup),
        cmocka_unit_test_setup(test_without_keepalive, setup),
        cmocka_unit_test_setup(test_button_raw_read, setup),
        cmocka_unit_test_setup(test_led_set_up_order, setup),
        cmocka_unit_test_setup(test_led_patterns, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
