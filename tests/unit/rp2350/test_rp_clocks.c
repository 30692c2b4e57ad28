/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_clocks.c - resets, the clock bring-up and TIMER0 against the
 * register model: the order of docs/rp2350.md ("Clocks"), both reset
 * values of CLK_SYS_CTRL (A2, A3), a restart with the PLLs running, and
 * the 64-bit timer read across a carry of the low word.
 */
#include "rp_test.h"

static void test_release_waits_for_reset_done(void **state)
{
    (void)state;
    rp_model_reset(false);
    rp_model.reset_done_delay = 5;
    rp_resets_release(RP_RESET_TIMER0);
    assert_int_equal(rp_model_peek(RP_RESETS_RESET) & RP_RESET_TIMER0, 0);
    /* Polled until the lagging RESET_DONE bit appeared. */
    assert_true(rp_model_count(RP_OP_READ, RP_RESETS_RESET_DONE) >= 6u);
    assert_int_equal(rp_model.log[rp_model.log_len - 1].value & RP_RESET_TIMER0, RP_RESET_TIMER0);
    /* Released through the CLR alias, never a plain write of RESET. */
    assert_int_equal(rp_model_count(RP_OP_WRITE, RP_RESETS_RESET), 0);
    FIND(0, RP_OP_CLR, RP_RESETS_RESET, RP_RESET_TIMER0, RP_RESET_TIMER0);
    ASSERT_NO_VIOLATION();
}

/* The whole bring-up, in order, and the clock tree it leaves. */
static void check_bring_up(void)
{
    const size_t resus = FIND(0, RP_OP_WRITE, RP_CLK_SYS_RESUS_CTRL, 0, 0);
    const size_t startup =
        FIND(0, RP_OP_WRITE, RP_XOSC_STARTUP, 0xFFFFFFFFu, RP_XOSC_STARTUP_DELAY);
    const size_t xosc_on = FIND(0, RP_OP_WRITE, RP_XOSC_CTRL, 0xFFFFFFFFu, 0x00FABAA0u);
    const size_t stable = FIND(xosc_on, RP_OP_READ, RP_XOSC_STATUS, RP_XOSC_STATUS_STABLE,
                               RP_XOSC_STATUS_STABLE);
    const size_t sys_off = FIND(0, RP_OP_CLR, RP_CLK_SYS_CTRL, RP_CLK_SYS_SRC_AUX, 1u);
    const size_t ref_off = FIND(0, RP_OP_CLR, RP_CLK_REF_CTRL, RP_CLK_REF_SRC_MASK, 3u);
    const size_t sys_sel = FIND(sys_off, RP_OP_READ, RP_CLK_SYS_SELECTED, 0xFFFFFFFFu, 1u);
    const size_t ref_sel = FIND(ref_off, RP_OP_READ, RP_CLK_REF_SELECTED, 0xFFFFFFFFu, 1u);
    const size_t pll_reset =
        FIND(0, RP_OP_SET, RP_RESETS_RESET, RP_RESET_PLL_SYS, RP_RESET_PLL_SYS);
    assert_true(resus < xosc_on && startup < xosc_on);
    assert_true(sys_sel < pll_reset && ref_sel < pll_reset); /* muxes off before PLL reset */

    static const struct {
        uint32_t base, fbdiv, prim;
    } plls[] = {{RP_PLL_SYS_BASE, 125u, 0x00052000u}, {RP_PLL_USB_BASE, 100u, 0x00055000u}};
    size_t sys_lock = 0;
    for (size_t p = 0; p < 2; p++) {
        const uint32_t b = plls[p].base;
        const size_t cs = FIND(0, RP_OP_WRITE, b + RP_PLL_CS, 0xFFFFFFFFu, 1u);
        const size_t fb = FIND(0, RP_OP_WRITE, b + RP_PLL_FBDIV_INT, 0xFFFFFFFFu, plls[p].fbdiv);
        const size_t pd = FIND(0, RP_OP_CLR, b + RP_PLL_PWR, RP_PLL_PWR_PD | RP_PLL_PWR_VCOPD,
                               RP_PLL_PWR_PD | RP_PLL_PWR_VCOPD);
        const size_t lock = FIND(pd, RP_OP_READ, b + RP_PLL_CS, RP_PLL_CS_LOCK, RP_PLL_CS_LOCK);
        const size_t prim = FIND(0, RP_OP_WRITE, b + RP_PLL_PRIM, 0xFFFFFFFFu, plls[p].prim);
        const size_t post = FIND(0, RP_OP_CLR, b + RP_PLL_PWR, RP_PLL_PWR_POSTDIVPD,
                                 RP_PLL_PWR_POSTDIVPD);
        assert_true(cs < pd && fb < pd && pd < lock && lock < prim && prim < post);
        if (p == 0) sys_lock = lock;
        assert_int_equal(rp_model_peek(b + RP_PLL_FBDIV_INT), plls[p].fbdiv);
        assert_int_equal(rp_model_peek(b + RP_PLL_PRIM), plls[p].prim);
        assert_int_equal(rp_model_peek(b + RP_PLL_PWR) &
                             (RP_PLL_PWR_PD | RP_PLL_PWR_VCOPD | RP_PLL_PWR_POSTDIVPD),
                         0);
    }

    /* clk_ref: divider, then XOSC as source, then confirmed. */
    const size_t ref_div = FIND(0, RP_OP_WRITE, RP_CLK_REF_DIV, 0xFFFFFFFFu, RP_CLK_DIV_1);
    const size_t ref_xosc = FIND(0, RP_OP_WRITE, RP_CLK_REF_CTRL, RP_CLK_REF_SRC_MASK, 2u);
    FIND(ref_xosc, RP_OP_READ, RP_CLK_REF_SELECTED, 0xFFFFFFFFu, 4u);
    assert_true(stable < ref_xosc && ref_div < ref_xosc);

    /* clk_sys: divider before the source goes up to 150 MHz, AUXSRC while
     * the glitchless mux is on clk_ref (the model checks that), after lock. */
    const size_t sys_div = FIND(0, RP_OP_WRITE, RP_CLK_SYS_DIV, 0xFFFFFFFFu, RP_CLK_DIV_1);
    const size_t sys_aux = FIND(sys_off + 1, RP_OP_SET, RP_CLK_SYS_CTRL, RP_CLK_SYS_SRC_AUX, 1u);
    FIND(sys_aux, RP_OP_READ, RP_CLK_SYS_SELECTED, 0xFFFFFFFFu, 2u);
    assert_true(sys_div < sys_aux && sys_lock < sys_aux);

    /* Aux-only clocks: stopped, source, started. */
    static const uint32_t aux[] = {RP_CLK_USB_CTRL, RP_CLK_PERI_CTRL};
    for (size_t i = 0; i < 2; i++) {
        const size_t off = FIND(0, RP_OP_CLR, aux[i], RP_CLK_ENABLE, RP_CLK_ENABLE);
        const size_t src = FIND(off, RP_OP_WRITE, aux[i], 0, 0);
        const size_t on = FIND(src, RP_OP_SET, aux[i], RP_CLK_ENABLE, RP_CLK_ENABLE);
        assert_true(off < src && src < on);
        assert_int_equal(rp_model_peek(aux[i]), RP_CLK_ENABLE); /* AUXSRC 0 */
    }

    /* Ticks last, from the 12 MHz clk_ref. */
    const size_t cycles = FIND(0, RP_OP_WRITE, RP_TICKS_TIMER0_CYCLES, 0xFFFFFFFFu, 12u);
    const size_t tick = FIND(0, RP_OP_WRITE, RP_TICKS_TIMER0_CTRL, 0xFFFFFFFFu, 1u);
    assert_true(ref_xosc < cycles && cycles < tick);
    FIND(0, RP_OP_WRITE, RP_TICKS_WATCHDOG_CTRL, 0xFFFFFFFFu, 1u);

    assert_int_equal(rp_model_peek(RP_CLK_SYS_CTRL), RP_CLK_SYS_SRC_AUX); /* aux = PLL_SYS */
    assert_int_equal(rp_model_peek(RP_CLK_REF_CTRL) & RP_CLK_REF_SRC_MASK, RP_CLK_REF_SRC_XOSC);
    ASSERT_NO_VIOLATION();
}

static void test_bring_up_a2(void **state)
{
    (void)state;
    rp_model_reset(false);
    assert_int_equal(rp_model_peek(RP_CLK_SYS_CTRL), 0u);
    rp_clocks_init();
    check_bring_up();
}

static void test_bring_up_a3(void **state)
{
    (void)state;
    rp_model_reset(true); /* CLK_SYS_CTRL = SRC aux, AUXSRC ROSC */
    assert_int_equal(rp_model_peek(RP_CLK_SYS_CTRL), 0x41u);
    rp_clocks_init();
    check_bring_up();
}

/* A restart without a chip reset: clk_sys already on a locked PLL_SYS. */
static void preset_running_pll(void)
{
    rp_model_reset(false);
    rp_model_poke(RP_RESETS_RESET, RP_RESET_ALL & ~(RP_RESET_PLL_SYS | RP_RESET_PLL_USB));
    rp_model_poke(RP_PLL_SYS_BASE + RP_PLL_FBDIV_INT, 125u);
    rp_model_poke(RP_PLL_SYS_BASE + RP_PLL_PWR, RP_PLL_PWR_DSMPD);
    rp_model_poke(RP_CLK_SYS_CTRL, RP_CLK_SYS_SRC_AUX);
    rp_model_poke(RP_CLK_REF_CTRL, RP_CLK_REF_SRC_XOSC);
}

static void test_bring_up_over_running_plls(void **state)
{
    (void)state;
    preset_running_pll();
    rp_clocks_init();
    check_bring_up();
}

/* The model does catch the bad order the test above relies on. */
static void test_model_catches_pll_reset_under_clk_sys(void **state)
{
    (void)state;
    preset_running_pll();
    rp_resets_cycle(RP_RESET_PLL_SYS);
    assert_true(rp_model.violations > 0u);
}

static void test_timer_needs_ticks(void **state)
{
    (void)state;
    rp_model_reset(false);
    rp_timer_init();
    (void)rp_timer_us();
    assert_true(rp_model.violations > 0u); /* read before the tick generator runs */

    rp_test_boot();
    rp_model_log_clear();
    (void)rp_timer_us();
    ASSERT_NO_VIOLATION();
}

static void test_timer_read_across_low_word_carry(void **state)
{
    (void)state;
    rp_test_boot();
    rp_model.now_us = 0xFFFFFFF8u;
    rp_model.us_per_timer_read = 8u;
    rp_model_log_clear();
    /* hi = 0, then lo reads 0 after the carry, hi reads 1: read again. */
    assert_true(rp_timer_us() == 0x100000010ull);
    assert_int_equal(rp_model_count(RP_OP_READ, RP_TIMER_TIMERAWH), 3);

    /* Never backwards, over many carries of the low word. */
    rp_model.now_us = 0x3FFFFFF00ull;
    rp_model.us_per_timer_read = 0x40u;
    uint64_t last = rp_timer_us();
    for (int i = 0; i < 20000; i++) {
        const uint64_t t = rp_timer_us();
        assert_true(t > last);
        assert_true(t <= rp_model.now_us);
        last = t;
    }
    assert_true(last > 0x400000000ull);
    ASSERT_NO_VIOLATION();
}

static void test_millis(void **state)
{
    (void)state;
    rp_test_boot();
    rp_model.now_us = 123456789ull;
    rp_model.us_per_timer_read = 0;
    assert_true(fk_hal_millis() == 123456ull);
    rp_model.now_us = 0x500000000ull;
    assert_true(fk_hal_millis() == 0x500000000ull / 1000u);
    ASSERT_NO_VIOLATION();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_waits_for_reset_done),
        cmocka_unit_test(test_bring_up_a2),
        cmocka_unit_test(test_bring_up_a3),
        cmocka_unit_test(test_bring_up_over_running_plls),
        cmocka_unit_test(test_model_catches_pll_reset_under_clk_sys),
        cmocka_unit_test(test_timer_needs_ticks),
        cmocka_unit_test(test_timer_read_across_low_word_carry),
        cmocka_unit_test(test_millis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
