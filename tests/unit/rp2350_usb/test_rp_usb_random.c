/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_usb_random.c - the driver under long seeded interleavings of
 * host traffic, interrupts and stack calls, against a shadow of what the
 * stack has started and seen. Invariants checked at every step:
 * - every XFER reported is for a packet the stack started and that no
 *   reported SETUP, bus reset or stall cancelled, after the host moved it,
 *   with the length and bytes the host saw or sent;
 * - the host only ever receives a packet the stack started, byte for byte;
 * - data toggles never diverge (no wrong-PID packet in either direction);
 * - nothing is lost: when no event is pending, no packet the host has moved
 *   is still waiting for its XFER;
 * - the model's access checks (usb_model.h) hold throughout.
 * The seeds are fixed, so a failure reproduces exactly.
 */
#include "usb_test_util.h"

#define STEPS 40000u

enum { S_IN0, S_OUT0, S_IN1, S_OUT1, S_IN2, S_COUNT };

typedef struct shadow {
    uint8_t ep;
    uint16_t mps;
    bool inflight;  /* started, not reported, not cancelled by an event seen */
    bool host_done; /* the host moved it */
    bool stalled;
    bool cleared_after; /* a clear_stall came after the host moved it */
    uint16_t len;   /* IN: bytes started; OUT: bytes accepted */
    uint8_t data[64];
    uint16_t host_len;
    uint8_t host_data[64];
    uint8_t rx[64];
} shadow_t;

static shadow_t sh[S_COUNT];
static uint32_t rng;
/* A SETUP / bus reset the handler has recorded and the stack not yet
 * polled: calls it cancels succeed without effect (rp_usb.c, "Races"). */
static bool pending_setup, pending_reset;
/* What a run exercised, so that it cannot pass by doing nothing. */
static struct {
    unsigned xfers[S_COUNT], setups, resets, overlong, clears_in_flight;
} seen;

static uint32_t rnd(uint32_t n)
{
    rng = rng * 1664525u + 1013904223u;
    return (rng >> 8) % n;
}

static bool is_in(unsigned s) { return (sh[s].ep & 0x80u) != 0; }
static uint8_t num_of(unsigned s) { return sh[s].ep & 0x0Fu; }

static void shadow_init(void)
{
    static const uint8_t eps[S_COUNT] = {0x80, 0x00, 0x81, 0x01, 0x82};
    static const uint16_t mps[S_COUNT] = {64, 64, 64, 64, 8};
    memset(sh, 0, sizeof sh);
    for (unsigned s = 0; s < S_COUNT; s++) {
        sh[s].ep = eps[s];
        sh[s].mps = mps[s];
    }
}

static void configure(void)
{
    assert_int_equal(fk_dcd_ep_open(0x81, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x01, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 8), FK_DCD_OK);
}

static void cancel(unsigned s)
{
    sh[s].inflight = false;
    sh[s].host_done = false;
    sh[s].cleared_after = false;
}

static void check_nothing_lost(void)
{
    for (unsigned s = 0; s < S_COUNT; s++) {
        if (sh[s].inflight && sh[s].host_done)
            fail_msg("EP 0x%02x: the host moved a packet that was never reported", sh[s].ep);
    }
}

/* The stack takes one event and checks it against the shadow. */
static void stack_poll(void)
{
    fk_dcd_event_t ev;
    /* An interrupt raised meanwhile runs when poll lifts the mask, after
     * poll looked: so only a second empty poll means nothing is pending. */
    if (!fk_dcd_poll(&ev) && !fk_dcd_poll(&ev)) {
        assert_false(usbm_irq_raised());
        check_nothing_lost();
        return;
    }
    switch (ev.type) {
    case FK_DCD_EV_BUS_RESET:
        seen.resets++;
        pending_reset = false;
        for (unsigned s = 0; s < S_COUNT; s++) {
            cancel(s);
            sh[s].stalled = false;
        }
        configure();
        break;
    case FK_DCD_EV_SETUP:
        seen.setups++;
        pending_setup = false;
        cancel(S_IN0);
        cancel(S_OUT0);
        sh[S_IN0].stalled = sh[S_OUT0].stalled = false;
        break;
    case FK_DCD_EV_XFER: {
        unsigned s = 0;
        while (s < S_COUNT && sh[s].ep != ev.ep) s++;
        assert_true(s < S_COUNT);
        if (!sh[s].inflight || !sh[s].host_done)
            fail_msg("XFER on 0x%02x for a packet %s", ev.ep,
                     sh[s].inflight ? "the host never moved" : "not in flight");
        if (is_in(s)) {
            assert_int_equal(ev.len, sh[s].len);
        } else {
            uint16_t want = sh[s].host_len < sh[s].len ? sh[s].host_len : sh[s].len;
            assert_int_equal(ev.len, want);
            if (want) assert_memory_equal(sh[s].rx, sh[s].host_data, want);
            /* Longer than accepted: stalled, unless a clear came later. */
            if (sh[s].host_len > sh[s].len && !sh[s].cleared_after) sh[s].stalled = true;
            if (sh[s].host_len > sh[s].len) seen.overlong++;
        }
        seen.xfers[s]++;
        cancel(s);
        break;
    }
    case FK_DCD_EV_SUSPEND:
    case FK_DCD_EV_RESUME:
        break;
    default:
        fail_msg("unexpected event %d", (int)ev.type);
    }
}

static void stack_start(unsigned s)
{
    shadow_t *e = &sh[s];
    if (e->inflight) return;
    /* EP0 shares one buffer: never data in both directions at once. */
    if (s == S_IN0 && sh[S_OUT0].inflight) return;
    if (s == S_OUT0 && sh[S_IN0].inflight) return;
    uint16_t len = (uint16_t)rnd(e->mps + 1u);
    int rc;
    if (is_in(s)) {
        for (uint16_t k = 0; k < len; k++) e->data[k] = (uint8_t)rnd(256);
        rc = fk_dcd_ep_start(e->ep, e->data, len);
    } else {
        memset(e->rx, 0xEE, sizeof e->rx);
        rc = fk_dcd_ep_start(e->ep, e->rx, len);
    }
    bool cancelled = pending_reset || (s <= S_OUT0 && pending_setup);
    if (e->stalled && !cancelled) {
        assert_int_equal(rc, FK_DCD_ESTATE);
        return;
    }
    assert_int_equal(rc, FK_DCD_OK);
    e->inflight = true;
    e->host_done = false;
    e->cleared_after = false;
    e->len = len;
}

static void host_in(unsigned s)
{
    uint8_t got[64];
    size_t n = 0;
    usbm_result_t r = usbm_in(num_of(s), got, sizeof got, &n);
    if (r == USBM_BADPID) fail_msg("IN 0x%02x: toggles diverged", sh[s].ep);
    if (r != USBM_ACK) return;
    if (!sh[s].inflight || sh[s].host_done)
        fail_msg("IN 0x%02x: the host got a packet nobody started", sh[s].ep);
    assert_int_equal(n, sh[s].len);
    if (n) assert_memory_equal(got, sh[s].data, n);
    sh[s].host_done = true;
}

static void host_out(unsigned s)
{
    uint8_t data[64];
    size_t len = rnd(sh[s].mps + 1u);
    /* On EP0 only a zero-length OUT while an IN packet sits in the shared
     * buffer (anything else is a host breaking the protocol). */
    if (s == S_OUT0 && sh[S_IN0].inflight) len = 0;
    for (size_t k = 0; k < len; k++) data[k] = (uint8_t)rnd(256);
    usbm_result_t r = usbm_out(num_of(s), data, len);
    if (r == USBM_SEQERR) fail_msg("OUT 0x%02x: toggles diverged", sh[s].ep);
    if (r != USBM_ACK) return;
    if (!sh[s].inflight || sh[s].host_done)
        fail_msg("OUT 0x%02x: the device took a packet nobody armed", sh[s].ep);
    memcpy(sh[s].host_data, data, len);
    sh[s].host_len = (uint16_t)len;
    sh[s].host_done = true;
}

static void host_setup(void)
{
    uint8_t req[8];
    for (unsigned k = 0; k < 8; k++) req[k] = (uint8_t)rnd(256);
    assert_int_equal(usbm_setup(req), USBM_ACK);
    assert_true(ut_irq()); /* the handler runs before the next transaction */
    pending_setup = true;
}

static void step(void)
{
    uint32_t a = rnd(100);
    unsigned s = rnd(S_COUNT);
    if (a < 22) {
        stack_start(s);
    } else if (a < 40) {
        stack_poll();
    } else if (a < 55) {
        ut_irq();
    } else if (a < 70) {
        if (is_in(s)) host_in(s);
    } else if (a < 82) {
        if (!is_in(s)) host_out(s);
    } else if (a < 88) {
        host_setup();
    } else if (a < 89) {
        usbm_bus_reset();
        assert_true(ut_irq());
        pending_reset = true;
        pending_setup = false;
    } else if (a < 91) {
        if (a == 89) usbm_suspend(); else usbm_resume();
    } else if (a < 93) {
        /* Stall a data endpoint: its packet is cancelled without an event. */
        if (s >= S_IN1) {
            fk_dcd_ep_stall(sh[s].ep);
            cancel(s);
            sh[s].stalled = true;
        }
    } else if (a < 96) {
        /* CLEAR_FEATURE(HALT), stalled or not: DATA0 on both sides; a
         * packet in flight stays in flight. */
        if (s >= S_IN1) {
            fk_dcd_ep_clear_stall(sh[s].ep);
            usbm_host_set_toggle(sh[s].ep, 0);
            sh[s].stalled = false;
            if (sh[s].inflight && sh[s].host_done) sh[s].cleared_after = true;
            if (sh[s].inflight) seen.clears_in_flight++;
        }
    } else if (a < 98) {
        /* SET_CONFIGURATION again: reopen, DATA0 on both sides. */
        if (s >= S_IN1) {
            assert_int_equal(fk_dcd_ep_open(sh[s].ep, s == S_IN2 ? FK_DCD_EP_INTERRUPT : FK_DCD_EP_BULK,
                                            sh[s].mps),
                             FK_DCD_OK);
            usbm_host_set_toggle(sh[s].ep, 0);
            cancel(s);
            sh[s].stalled = false;
        }
    } else {
        fk_dcd_ep_stall(s == S_IN0 || s == S_OUT0 ? sh[s].ep : 0x80);
        if (s == S_IN0 || s == S_OUT0) {
            cancel(s);
            sh[s].stalled = true;
        } else {
            cancel(S_IN0);
            sh[S_IN0].stalled = true;
        }
    }
    assert_false(cpu_model_masked());
}

static void run_seed(uint32_t seed)
{
    ut_up();
    shadow_init();
    configure();
    rng = seed;
    pending_setup = pending_reset = false;
    for (uint32_t k = 0; k < STEPS; k++) step();
    /* Drain: everything the host moved is reported. */
    ut_irq();
    for (unsigned k = 0; k < 64; k++) stack_poll();
    assert_false(usbm_irq_raised());
    check_nothing_lost();
    assert_true(usbm_stats()->handoffs > STEPS / 20u);
}

static void test_random_interleavings(void **state)
{
    (void)state;
    static const uint32_t seeds[] = {1u, 2u, 0xC0FFEEu, 0x5EED5EEDu, 424242u, 7u, 99u, 31337u};
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
        memset(&seen, 0, sizeof seen);
        run_seed(seeds[k]);
        for (unsigned sl = 0; sl < S_COUNT; sl++) assert_true(seen.xfers[sl] > (sl <= S_OUT0 ? 50u : 200u));
        assert_true(seen.setups > 500);
        assert_true(seen.resets > 50);
        assert_true(seen.overlong > 50);
        assert_true(seen.clears_in_flight > 50);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_interleavings),
    };
    return cmocka_run_group_tests_name("rp2350 usb driver, random interleavings", tests, NULL, NULL);
}
