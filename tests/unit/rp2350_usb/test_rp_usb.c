/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_usb.c - the RP2350 USB driver's register sequences, DPRAM
 * accesses and event handoff, driven packet by packet: the test plays the
 * stack (dcd.h calls) and the host (usb_model.h), and the model fails the
 * test on any access the chip would not take (usb_model.h lists them).
 */
#include "usb_test_util.h"

#define REG(off) (USBM_REGS + (off))

static const uint8_t REQ_GET_DESC_100[8] = {0x80, 0x06, 0x00, 0x02, 0x00, 0x00, 100, 0x00};
static const uint8_t REQ_GET_DESC_18[8] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 18, 0x00};
static const uint8_t REQ_CLASS_OUT_20[8] = {0x21, 0x09, 0x00, 0x02, 0x00, 0x00, 20, 0x00};
static const uint8_t REQ_SET_ADDRESS_5[8] = {0x00, 0x05, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t REQ_UNKNOWN[8] = {0xC0, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00};

static int up(void **state)
{
    (void)state;
    ut_up();
    return 0;
}

static int model_only(void **state)
{
    (void)state;
    ut_model_only();
    return 0;
}

/* Every driver call left interrupts unmasked and acknowledged all it saw. */
static int down(void **state)
{
    (void)state;
    assert_false(cpu_model_masked());
    assert_false(usbm_irq_raised());
    return 0;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t k = 0; k < n; k++) p[k] = (uint8_t)(seed + 7u * k + (k >> 3));
}

/* The CCID set: bulk OUT 0x01, bulk IN 0x81, interrupt IN 0x82. */
static void configure(void)
{
    assert_int_equal(fk_dcd_ep_open(0x01, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x81, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 8), FK_DCD_OK);
}

static void host_in_expect(uint8_t num, const void *data, size_t len, unsigned pid)
{
    uint8_t got[64];
    size_t n = 0;
    assert_int_equal(usbm_in(num, got, sizeof got, &n), USBM_ACK);
    assert_int_equal(n, len);
    if (len) assert_memory_equal(got, data, len);
    assert_int_equal(usbm_last_pid(), pid);
}

static void host_in_result(uint8_t num, usbm_result_t want)
{
    uint8_t got[64];
    size_t n = 0;
    assert_int_equal(usbm_in(num, got, sizeof got, &n), want);
}

/* ---- init ------------------------------------------------------------ */

static void test_init_sequence(void **state)
{
    (void)state;
    usbm_reg_writes_clear();
    usbm_stats_clear();
    assert_int_equal(fk_dcd_init(), FK_DCD_OK);

    /* Register writes, in order: its interrupt off, reset and release
     * USBCTRL, then the spec's list (DPRAM zeroing in between is not a
     * register write), a stale pending interrupt cleared before enabling. */
    static const usbm_write_t want[] = {
        {0xE000E180u, 1u << 14},
        {0x40022000u, 1u << 28},          {0x40023000u, 1u << 28},
        {REG(USBM_USB_MUXING), 0x9u},      {REG(USBM_USB_PWR), 0xCu},
        {REG(USBM_MAIN_CTRL), 0x1u},       {REG(USBM_SIE_CTRL), 0x20000000u},
        {REG(USBM_INTE), 0x0001D010u},     {0xE000E280u, 1u << 14},
        {0xE000E100u, 1u << 14},
    };
    const usbm_write_t *log;
    size_t n = usbm_reg_writes(&log);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(log[k].addr, want[k].addr);
        assert_int_equal(log[k].value, want[k].value);
    }
    /* RESET_DONE was polled until the block reported ready. */
    assert_true(usbm_stats()->reset_done_polls >= 3);
    assert_int_equal(usbm_resets() & (1u << 28), 0);
    assert_true(usbm_resets_done() & (1u << 28));

    /* DPRAM zeroed with aligned word stores only. */
    assert_int_equal(usbm_stats()->dpram_wr[4], 1024);
    assert_int_equal(usbm_stats()->dpram_wr[2], 0);
    assert_int_equal(usbm_stats()->dpram_wr[1], 0);
    for (uint32_t off = 0; off < 0x1000u; off++) assert_int_equal(usbm_dpram8(off), 0);

    assert_int_equal(usbm_reg(USBM_MAIN_CTRL), 0x1u); /* PHY_ISO cleared */
    assert_int_equal(usbm_reg(USBM_SIE_CTRL), 0x20000000u);
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);
    assert_int_equal(usbm_reg(USBM_INTE), 0x0001D010u);
    assert_int_equal(usbm_nvic_iser0(), 1u << 14);
    assert_false(usbm_irq_raised()); /* the stale status is gone with the reset */

    /* Not connected: nobody answers. */
    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_NORESP);

    usbm_reg_writes_clear();
    fk_dcd_connect(true);
    n = usbm_reg_writes(&log);
    assert_int_equal(n, 1);
    assert_int_equal(log[0].addr, 0x5011204Cu); /* SET alias of SIE_CTRL */
    assert_int_equal(log[0].value, 0x10000u);
    assert_int_equal(usbm_reg(USBM_SIE_CTRL), 0x20010000u);
    ut_setup(REQ_GET_DESC_18);

    fk_dcd_connect(false);
    assert_int_equal(usbm_reg(USBM_SIE_CTRL), 0x20000000u);
    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_NORESP);
    ut_expect_none();
}

/* USBCTRL never reports out of reset: init gives up with an error and
 * touches nothing of the controller (the model fails any such access). */
static void test_init_reset_never_done(void **state)
{
    (void)state;
    usbm_reset_done_stuck(true);
    usbm_reg_writes_clear();
    assert_int_equal(fk_dcd_init(), FK_DCD_ESTATE);
    const usbm_write_t *log;
    assert_int_equal(usbm_reg_writes(&log), 3); /* interrupt off, reset pulse */
    assert_int_equal(usbm_nvic_iser0(), 0);
    assert_true(usbm_stats()->reset_done_polls > 1000);
}

/* A second init (e.g. after a stack restart) starts from scratch. */
static void test_reinit_closes_everything(void **state)
{
    (void)state;
    configure();
    uint8_t rx[64];
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    fk_dcd_set_address(9);
    assert_int_equal(fk_dcd_init(), FK_DCD_OK);
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);
    assert_int_equal(usbm_dpram32(0x0C), 0); /* EP1 OUT control */
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_EINVAL);
    fk_dcd_connect(true);
    ut_expect_none();
}

/* ---- EP0 ------------------------------------------------------------- */

static void test_control_read_100(void **state)
{
    (void)state;
    uint8_t desc[100], rx[64];
    fill(desc, sizeof desc, 0x31);
    ut_setup(REQ_GET_DESC_100);

    host_in_result(0, USBM_NAK); /* nothing armed yet */
    assert_int_equal(fk_dcd_ep_start(0x80, desc, 64), FK_DCD_OK);
    host_in_expect(0, desc, 64, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 64);

    assert_int_equal(fk_dcd_ep_start(0x80, desc + 64, 36), FK_DCD_OK);
    host_in_expect(0, desc + 64, 36, 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 36);

    /* Status stage: zero-length OUT with DATA1. */
    host_in_result(0, USBM_NAK);
    assert_int_equal(fk_dcd_ep_start(0x00, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x84) & ((1u << 13) | (1u << 10)), (1u << 13) | (1u << 10));
    assert_int_equal(usbm_out(0, NULL, 0), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x00, 0);
    ut_expect_none();
    assert_true(usbm_stats()->handoffs >= 3);
}

/* The stack may keep the status OUT armed during an IN data stage (the
 * EP0 buffer is shared, a zero-length OUT writes none of it): the host
 * reads what it wants, then ends the transfer early with its status. */
static void test_control_read_status_prearmed(void **state)
{
    (void)state;
    uint8_t desc[64], rx[64];
    fill(desc, sizeof desc, 0x77);
    ut_setup(REQ_GET_DESC_100);
    assert_int_equal(fk_dcd_ep_start(0x80, desc, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x00, rx, 64), FK_DCD_OK);
    host_in_expect(0, desc, 64, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 64);
    assert_int_equal(usbm_out(0, NULL, 0), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x00, 0);
    ut_expect_none();
}

static void test_control_write(void **state)
{
    (void)state;
    uint8_t data[20], rx[64];
    fill(data, sizeof data, 0x5A);
    memset(rx, 0, sizeof rx);
    ut_setup(REQ_CLASS_OUT_20);
    assert_int_equal(usbm_out(0, data, sizeof data), USBM_NAK);
    assert_int_equal(fk_dcd_ep_start(0x00, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(0, data, sizeof data), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x00, 20);
    assert_memory_equal(rx, data, sizeof data);

    assert_int_equal(fk_dcd_ep_start(0x80, NULL, 0), FK_DCD_OK);
    host_in_expect(0, NULL, 0, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 0);
    ut_expect_none();
}

static void test_set_address_after_status(void **state)
{
    (void)state;
    ut_setup(REQ_SET_ADDRESS_5);
    assert_int_equal(fk_dcd_ep_start(0x80, NULL, 0), FK_DCD_OK);
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);
    host_in_expect(0, NULL, 0, 1); /* status stage, still at address 0 */
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);
    assert_true(ut_irq());
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);
    ut_expect_xfer(0x80, 0);
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);

    fk_dcd_set_address(5);
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 5);
    fk_dcd_set_address(200); /* not an address: ignored */
    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 5);

    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_NORESP); /* host still at 0 */
    usbm_host_address(5);
    ut_setup(REQ_GET_DESC_18);
}

static void test_ep0_stall_until_setup(void **state)
{
    (void)state;
    uint8_t data[8], rx[8];
    fill(data, sizeof data, 1);
    ut_setup(REQ_UNKNOWN);
    fk_dcd_ep_stall(0x80);
    fk_dcd_ep_stall(0x00);
    assert_int_equal(usbm_reg(USBM_EP_STALL_ARM), 0x3u);
    assert_true(usbm_dpram32(0x80) & (1u << 11));
    assert_true(usbm_dpram32(0x84) & (1u << 11));
    host_in_result(0, USBM_STALL);
    assert_int_equal(usbm_out(0, NULL, 0), USBM_STALL);
    assert_int_equal(fk_dcd_ep_start(0x80, data, 8), FK_DCD_ESTATE);
    assert_int_equal(fk_dcd_ep_start(0x00, rx, 8), FK_DCD_ESTATE);
    assert_false(fk_dcd_ep_stalled(0x80));
    assert_false(fk_dcd_ep_stalled(0x00));
    assert_false(ut_irq());
    ut_expect_none();

    ut_setup(REQ_GET_DESC_18);
    assert_int_equal(usbm_reg(USBM_EP_STALL_ARM), 0);
    assert_int_equal(usbm_dpram32(0x80) & (1u << 11), 0);
    assert_int_equal(usbm_dpram32(0x84) & (1u << 11), 0);
    host_in_result(0, USBM_NAK);
    assert_int_equal(fk_dcd_ep_start(0x80, data, 8), FK_DCD_OK);
    host_in_expect(0, data, 8, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 8);
}

/* A SETUP cancels an EP0 IN in flight: no XFER for it, whether the host
 * took the packet or not, and whenever the handler saw it. */
static void test_setup_cancels_ep0_in(void **state)
{
    (void)state;
    uint8_t d[64], e[8];
    fill(d, sizeof d, 3);
    fill(e, sizeof e, 99);

    /* Not taken by the host. */
    ut_setup(REQ_GET_DESC_100);
    assert_int_equal(fk_dcd_ep_start(0x80, d, 64), FK_DCD_OK);
    ut_setup(REQ_GET_DESC_18);
    ut_expect_none();
    assert_int_equal(usbm_dpram32(0x80) & (1u << 10), 0);
    assert_int_equal(usbm_reg(USBM_EP_ABORT), 0);
    assert_int_equal(usbm_reg(USBM_EP_ABORT_DONE), 0);
    assert_int_equal(fk_dcd_ep_start(0x80, e, 8), FK_DCD_OK);
    host_in_expect(0, e, 8, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 8);

    /* Taken, then a SETUP before the handler ran: one pass sees both. */
    ut_setup(REQ_GET_DESC_100);
    assert_int_equal(fk_dcd_ep_start(0x80, d, 64), FK_DCD_OK);
    host_in_expect(0, d, 64, 1);
    ut_setup(REQ_GET_DESC_18);
    ut_expect_none();

    /* Taken and recorded, SETUP before the stack polled. */
    assert_int_equal(fk_dcd_ep_start(0x80, d, 64), FK_DCD_OK);
    host_in_expect(0, d, 64, 1);
    assert_true(ut_irq());
    ut_setup(REQ_GET_DESC_100);
    ut_expect_none();

    /* The stack answers the old request after the new SETUP arrived but
     * before the handler ran: accepted, never armed, no XFER. */
    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_ACK);
    assert_int_equal(fk_dcd_ep_start(0x80, d, 64), FK_DCD_OK); /* handler runs on unmask */
    fk_dcd_event_t ev = ut_expect(FK_DCD_EV_SETUP);
    assert_memory_equal(ev.setup, REQ_GET_DESC_18, 8);
    ut_expect_none();
    host_in_result(0, USBM_NAK);
    /* Same with the SETUP already recorded but not yet polled. */
    assert_int_equal(usbm_setup(REQ_GET_DESC_100), USBM_ACK);
    assert_true(ut_irq());
    assert_int_equal(fk_dcd_ep_start(0x80, d, 64), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x80) & (1u << 10), 0);
    ut_expect(FK_DCD_EV_SETUP);
    host_in_result(0, USBM_NAK);
    /* A stall meant for the old request does not hit the new one. */
    assert_int_equal(usbm_setup(REQ_UNKNOWN), USBM_ACK);
    fk_dcd_ep_stall(0x80);
    ut_expect(FK_DCD_EV_SETUP);
    host_in_result(0, USBM_NAK);
    assert_int_equal(usbm_setup(REQ_UNKNOWN), USBM_ACK);
    assert_true(ut_irq());
    fk_dcd_ep_stall(0x80);
    ut_expect(FK_DCD_EV_SETUP);
    host_in_result(0, USBM_NAK);
    assert_int_equal(fk_dcd_ep_start(0x80, e, 8), FK_DCD_OK);
    host_in_expect(0, e, 8, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 8);
}

/* EP0 OUT longer than the stack asked for: clamped, stalled, reported. */
static void test_ep0_out_overlong(void **state)
{
    (void)state;
    uint8_t data[5] = {1, 2, 3, 4, 5}, rx[4] = {0xEE, 0xEE, 0xEE, 0xEE};
    ut_setup(REQ_GET_DESC_18);
    assert_int_equal(fk_dcd_ep_start(0x00, rx, 0), FK_DCD_OK);
    assert_int_equal(usbm_out(0, data, sizeof data), USBM_ACK);
    assert_true(ut_irq());
    ut_expect_xfer(0x00, 0);
    assert_int_equal(rx[0], 0xEE);
    assert_int_equal(usbm_out(0, data, sizeof data), USBM_STALL);
    ut_setup(REQ_GET_DESC_18);
    assert_int_equal(usbm_out(0, data, sizeof data), USBM_NAK);
}

/* ---- bulk and interrupt endpoints ------------------------------------ */

static void test_endpoint_control_words(void **state)
{
    (void)state;
    configure();
    assert_int_equal(usbm_dpram32(0x0C), 0xA8000180u); /* EP1 OUT bulk */
    assert_int_equal(usbm_dpram32(0x08), 0xA80001C0u); /* EP1 IN bulk */
    assert_int_equal(usbm_dpram32(0x10), 0xAC000200u); /* EP2 IN interrupt */
    /* Reopening keeps the buffer. */
    assert_int_equal(fk_dcd_ep_open(0x81, FK_DCD_EP_BULK, 32), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x08), 0xA80001C0u);
    fk_dcd_ep_close_all();
    for (uint32_t off = 0x08; off < 0x80; off += 4) assert_int_equal(usbm_dpram32(off), 0);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 8), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x10), 0xAC000180u);
}

static void test_all_endpoints_fit(void **state)
{
    (void)state;
    for (uint8_t n = 1; n <= 15; n++) {
        assert_int_equal(fk_dcd_ep_open(n, FK_DCD_EP_BULK, 64), FK_DCD_OK);
        assert_int_equal(fk_dcd_ep_open((uint8_t)(0x80u | n), FK_DCD_EP_INTERRUPT, 64), FK_DCD_OK);
    }
    uint32_t seen[30];
    for (unsigned k = 0; k < 30; k++) {
        uint32_t epc = usbm_dpram32(0x08 + 4 * k);
        assert_true(epc & (1u << 31));
        uint32_t off = epc & 0xFFC0u;
        assert_true(off >= 0x180 && off + 64 <= 0x1000);
        for (unsigned j = 0; j < k; j++) assert_int_not_equal(seen[j], off);
        seen[k] = off;
    }
    /* Every one of them moves a packet (the model checks the buffers). */
    uint8_t b[64];
    fill(b, sizeof b, 9);
    for (uint8_t n = 1; n <= 15; n++) {
        assert_int_equal(fk_dcd_ep_start((uint8_t)(0x80u | n), b, n), FK_DCD_OK);
        host_in_expect(n, b, n, 0);
    }
    assert_true(ut_irq());
    for (uint8_t n = 1; n <= 15; n++) ut_expect_xfer((uint8_t)(0x80u | n), n);
}

static void test_bulk_toggles(void **state)
{
    (void)state;
    configure();
    uint8_t tx[64], rx[64], data[64];
    fill(tx, sizeof tx, 0x10);
    static const size_t out_len[] = {64, 10, 1, 64};
    for (unsigned k = 0; k < 4; k++) {
        fill(data, sizeof data, (uint8_t)(0x40 + k));
        assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
        assert_int_equal(usbm_out(1, data, out_len[k]), USBM_ACK);
        assert_int_equal(usbm_last_pid(), k & 1u);
        assert_true(ut_irq());
        ut_expect_xfer(0x01, (uint16_t)out_len[k]);
        assert_memory_equal(rx, data, out_len[k]);
    }
    for (unsigned k = 0; k < 3; k++) {
        assert_int_equal(fk_dcd_ep_start(0x81, tx, 64), FK_DCD_OK);
        host_in_expect(1, tx, 64, k & 1u);
        assert_true(ut_irq());
        ut_expect_xfer(0x81, 64);
    }
    /* Reopen (SET_CONFIGURATION) resets to DATA0 on both sides. */
    assert_int_equal(fk_dcd_ep_open(0x81, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    usbm_host_set_toggle(0x81, 0);
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 5), FK_DCD_OK);
    host_in_expect(1, tx, 5, 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x81, 5);
    /* CLEAR_FEATURE(HALT) on an endpoint that is not stalled: DATA0. */
    assert_int_equal(usbm_host_toggle(0x01), 0);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(1, data, 3), USBM_ACK); /* DATA0 */
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 3);
    fk_dcd_ep_clear_stall(0x01);
    usbm_host_set_toggle(0x01, 0);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(1, data, 4), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 4);
    /* The interrupt endpoint toggles on its own. */
    assert_int_equal(fk_dcd_ep_start(0x82, tx, 2), FK_DCD_OK);
    host_in_expect(2, tx, 2, 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x82, 2);
}

/* A host retransmission (wrong PID): the controller ACKs and drops it and
 * raises DATA_SEQ_ERROR; no interrupt, no event, the buffer stays armed. */
static void test_data_seq_error(void **state)
{
    (void)state;
    configure();
    uint8_t rx[64], first[8], again[8], second[8];
    fill(first, sizeof first, 1);
    memcpy(again, first, sizeof again);
    fill(second, sizeof second, 77);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(1, first, 8), USBM_ACK);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 8);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    memset(rx, 0, sizeof rx);
    assert_int_equal(usbm_out_pid(1, again, 8, 0), USBM_SEQERR);
    assert_true(usbm_reg(USBM_SIE_STATUS) & (1u << 31));
    assert_false(ut_irq());
    ut_expect_none();
    assert_true(usbm_dpram32(0x84 + 8) & (1u << 10)); /* still armed */
    assert_int_equal(usbm_out(1, second, 8), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 8);
    assert_memory_equal(rx, second, 8);
}

/* Odd lengths and odd RAM addresses: the model fails any unaligned wide
 * DPRAM access; the counts show whole words plus a byte tail. */
static void test_odd_copies(void **state)
{
    (void)state;
    configure();
    static const uint16_t lens[] = {1, 3, 63, 64, 2};
    uint8_t big[80], sent[64];
    for (unsigned k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        uint16_t len = lens[k];
        fill(big, sizeof big, (uint8_t)(k * 13));
        const uint8_t *src = big + 1; /* odd address */
        usbm_stats_clear();
        assert_int_equal(fk_dcd_ep_start(0x81, (void *)(uintptr_t)src, len), FK_DCD_OK);
        assert_int_equal(usbm_stats()->dpram_wr[1], len % 4u);
        assert_int_equal(usbm_stats()->dpram_wr[2], 0);
        assert_int_equal(usbm_stats()->dpram_wr[4], len / 4u + 2u); /* + two buffer-control writes */
        host_in_expect(1, src, len, k & 1u);
        assert_true(ut_irq());
        ut_expect_xfer(0x81, len);

        uint8_t *dst = big + 1;
        memset(big, 0xEE, sizeof big);
        fill(sent, sizeof sent, (uint8_t)(k * 17 + 5));
        assert_int_equal(fk_dcd_ep_start(0x01, dst, 64), FK_DCD_OK);
        assert_int_equal(usbm_out(1, sent, len), USBM_ACK);
        usbm_stats_clear();
        assert_true(ut_irq());
        assert_int_equal(usbm_stats()->dpram_rd[1], len % 4u);
        assert_int_equal(usbm_stats()->dpram_rd[2], 0);
        ut_expect_xfer(0x01, len);
        assert_memory_equal(dst, sent, len);
        assert_int_equal(big[0], 0xEE);
        for (size_t j = 1u + len; j < sizeof big; j++) assert_int_equal(big[j], 0xEE);
    }
}

static void test_bulk_out_overlong(void **state)
{
    (void)state;
    configure();
    uint8_t rx[16], data[20];
    memset(rx, 0xEE, sizeof rx);
    fill(data, sizeof data, 0x21);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 10), FK_DCD_OK);
    assert_int_equal(usbm_out(1, data, 20), USBM_ACK);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 10);
    assert_memory_equal(rx, data, 10);
    for (size_t k = 10; k < sizeof rx; k++) assert_int_equal(rx[k], 0xEE);
    assert_true(fk_dcd_ep_stalled(0x01));
    assert_int_equal(usbm_out(1, data, 4), USBM_STALL);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 10), FK_DCD_ESTATE);
}

static void test_bulk_stall_and_clear(void **state)
{
    (void)state;
    configure();
    uint8_t rx[64], tx[8], data[8];
    fill(tx, sizeof tx, 4);
    fill(data, sizeof data, 8);

    /* A packet in flight is cancelled without an event. */
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    usbm_stats_clear();
    fk_dcd_ep_stall(0x01);
    assert_int_equal(usbm_stats()->aborts, 1);
    assert_int_equal(usbm_reg(USBM_EP_ABORT), 0);
    assert_int_equal(usbm_reg(USBM_EP_ABORT_DONE), 0);
    assert_true(fk_dcd_ep_stalled(0x01));
    assert_int_equal(usbm_out(1, data, 8), USBM_STALL);
    assert_false(ut_irq());
    ut_expect_none();
    fk_dcd_ep_clear_stall(0x01);
    assert_false(fk_dcd_ep_stalled(0x01));
    assert_int_equal(usbm_out(1, data, 8), USBM_NAK);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(1, data, 8), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 8);

    /* A completion not yet reported is dropped by the stall too. */
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 8), FK_DCD_OK);
    host_in_expect(1, tx, 8, 0);
    assert_true(ut_irq());
    fk_dcd_ep_stall(0x81);
    ut_expect_none();
    host_in_result(1, USBM_STALL);
    fk_dcd_ep_clear_stall(0x81);
    usbm_host_set_toggle(0x81, 0);
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 8), FK_DCD_OK);
    host_in_expect(1, tx, 8, 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x81, 8);
}

/* clear_stall on an endpoint with a packet in flight keeps the packet and
 * gives it DATA0 - or reports it once if it had already gone. */
static void test_clear_stall_in_flight(void **state)
{
    (void)state;
    configure();
    uint8_t rx[64], data[8], tx[8];
    fill(data, sizeof data, 50);
    fill(tx, sizeof tx, 60);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(1, data, 8), USBM_ACK);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 8);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK); /* armed DATA1 */
    assert_true(usbm_dpram32(0x8C) & (1u << 13));
    fk_dcd_ep_clear_stall(0x01);
    assert_int_equal(usbm_dpram32(0x8C) & ((1u << 13) | (1u << 10)), 1u << 10); /* DATA0, armed */
    usbm_host_set_toggle(0x01, 0);
    memset(rx, 0, sizeof rx);
    assert_int_equal(usbm_out(1, data, 8), USBM_ACK);
    assert_int_equal(usbm_last_pid(), 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x01, 8);
    assert_memory_equal(rx, data, 8);

    /* Already sent when the clear came: reported exactly once. */
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 8), FK_DCD_OK);
    host_in_expect(1, tx, 8, 0);
    fk_dcd_ep_clear_stall(0x81); /* before the handler ran */
    ut_expect_xfer(0x81, 8);
    ut_expect_none();
    usbm_host_set_toggle(0x81, 0);
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 3), FK_DCD_OK);
    host_in_expect(1, tx, 3, 0);
    assert_true(ut_irq());
    ut_expect_xfer(0x81, 3);
}

/* ---- bus reset ------------------------------------------------------- */

static void test_bus_reset_mid_transfer(void **state)
{
    (void)state;
    configure();
    fk_dcd_set_address(5);
    usbm_host_address(5);
    uint8_t rx[64], tx[10], d[64];
    memset(rx, 0xEE, sizeof rx);
    fill(tx, sizeof tx, 2);
    fill(d, sizeof d, 3);
    ut_setup(REQ_GET_DESC_100);
    assert_int_equal(fk_dcd_ep_start(0x80, d, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 10), FK_DCD_OK);
    fk_dcd_ep_stall(0x82);
    host_in_expect(1, tx, 10, 0);
    assert_true(ut_irq()); /* the IN completion is recorded, not yet polled */

    usbm_bus_reset();
    assert_true(ut_irq());
    ut_expect(FK_DCD_EV_BUS_RESET);
    ut_expect_none();

    assert_int_equal(usbm_reg(USBM_ADDR_ENDP), 0);
    for (uint32_t off = 0x08; off < 0x80; off += 4) assert_int_equal(usbm_dpram32(off), 0);
    for (uint32_t off = 0x80; off < 0x100; off += 4) assert_int_equal(usbm_dpram32(off), 0);
    assert_int_equal(usbm_reg(USBM_EP_ABORT), 0);
    assert_int_equal(usbm_reg(USBM_EP_STALL_ARM), 0);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 1), FK_DCD_EINVAL);
    assert_false(fk_dcd_ep_stalled(0x82));
    assert_int_equal(usbm_out(1, tx, 4), USBM_NORESP);
    host_in_result(1, USBM_NORESP);
    for (size_t k = 0; k < sizeof rx; k++) assert_int_equal(rx[k], 0xEE);

    /* EP0 works at address 0, the pool starts over. */
    ut_setup(REQ_GET_DESC_18);
    assert_int_equal(fk_dcd_ep_start(0x80, d, 18), FK_DCD_OK);
    host_in_expect(0, d, 18, 1);
    assert_true(ut_irq());
    ut_expect_xfer(0x80, 18);
    assert_int_equal(fk_dcd_ep_open(0x83, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x18) & 0xFFC0u, 0x180u);
}

/* The stack acts after the reset happened but before the handler ran:
 * everything it starts is cancelled by the reset. */
static void test_bus_reset_races_stack(void **state)
{
    (void)state;
    configure();
    uint8_t rx[64];
    usbm_bus_reset();
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK); /* handler runs on unmask */
    assert_int_equal(fk_dcd_ep_open(0x03, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    fk_dcd_ep_stall(0x81);
    ut_expect(FK_DCD_EV_BUS_RESET);
    ut_expect_none();
    assert_int_equal(usbm_dpram32(0x8C), 0);
    assert_int_equal(usbm_dpram32(0x1C), 0); /* EP3 OUT never opened */
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_EINVAL);
    assert_false(fk_dcd_ep_stalled(0x81));

    /* The handler has recorded the reset, the stack has not polled it:
     * still cancelled, nothing stays open or armed past the event. */
    configure();
    usbm_bus_reset();
    assert_true(ut_irq());
    assert_int_equal(fk_dcd_ep_open(0x03, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x80, rx, 8), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    ut_expect(FK_DCD_EV_BUS_RESET);
    ut_expect_none();
    assert_int_equal(usbm_dpram32(0x1C), 0);
    assert_int_equal(usbm_dpram32(0x80), 0);
    assert_int_equal(fk_dcd_ep_start(0x03, rx, 64), FK_DCD_EINVAL);
}

/* ---- events ----------------------------------------------------------- */

static void test_event_order(void **state)
{
    (void)state;
    configure();
    uint8_t rx[64], tx[8], data[4] = {9, 8, 7, 6};
    fill(tx, sizeof tx, 1);

    /* Separate handler passes: reported in the order they happened. */
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 8), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x01, rx, 64), FK_DCD_OK);
    host_in_expect(1, tx, 8, 0);
    assert_true(ut_irq());
    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_ACK);
    assert_true(ut_irq());
    assert_int_equal(usbm_out(1, data, 4), USBM_ACK);
    assert_true(ut_irq());
    usbm_suspend();
    assert_true(ut_irq());
    usbm_resume();
    assert_true(ut_irq());
    ut_expect_xfer(0x81, 8);
    ut_expect(FK_DCD_EV_SETUP);
    ut_expect_xfer(0x01, 4);
    ut_expect(FK_DCD_EV_SUSPEND);
    ut_expect(FK_DCD_EV_RESUME);
    ut_expect_none();

    /* One pass with a completion and a SETUP: the completion first. */
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 8), FK_DCD_OK);
    host_in_expect(1, tx, 8, 1);
    assert_int_equal(usbm_setup(REQ_GET_DESC_100), USBM_ACK);
    assert_true(ut_irq());
    ut_expect_xfer(0x81, 8);
    fk_dcd_event_t ev = ut_expect(FK_DCD_EV_SETUP);
    assert_memory_equal(ev.setup, REQ_GET_DESC_100, 8);
    ut_expect_none();

    /* Two SETUPs before a poll: the latest wins. */
    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_ACK);
    assert_true(ut_irq());
    assert_int_equal(usbm_setup(REQ_CLASS_OUT_20), USBM_ACK);
    assert_true(ut_irq());
    ev = ut_expect(FK_DCD_EV_SETUP);
    assert_memory_equal(ev.setup, REQ_CLASS_OUT_20, 8);
    ut_expect_none();

    /* A reset after completions and a SETUP: only the reset remains. */
    assert_int_equal(fk_dcd_ep_start(0x81, tx, 8), FK_DCD_OK);
    host_in_expect(1, tx, 8, 0);
    assert_true(ut_irq());
    assert_int_equal(usbm_setup(REQ_GET_DESC_18), USBM_ACK);
    assert_true(ut_irq());
    usbm_bus_reset();
    assert_true(ut_irq());
    ut_expect(FK_DCD_EV_BUS_RESET);
    ut_expect_none();
}

static void test_suspend_resume_wakeup(void **state)
{
    (void)state;
    usbm_suspend();
    assert_true(ut_irq());
    ut_expect(FK_DCD_EV_SUSPEND);
    fk_dcd_remote_wakeup();
    assert_int_equal(usbm_remote_wakeups(), 1);
    usbm_resume();
    assert_true(ut_irq());
    ut_expect(FK_DCD_EV_RESUME);
    ut_expect_none();
}

static void test_wait(void **state)
{
    (void)state;
    fk_dcd_wait();
    assert_int_equal(cpu_model_wfi_count(), 1);
    assert_int_equal(cpu_model_wfi_masked_count(), 1); /* no lost wake-up */
    usbm_suspend(); /* raised, not yet taken */
    fk_dcd_wait();  /* sleeps, wakes, the handler runs on unmask */
    assert_int_equal(cpu_model_wfi_count(), 2);
    assert_false(usbm_irq_raised());
    fk_dcd_wait(); /* an event is pending: no sleep */
    assert_int_equal(cpu_model_wfi_count(), 2);
    ut_expect(FK_DCD_EV_SUSPEND);
}

/* ---- argument errors --------------------------------------------------- */

static void test_ep_start_errors(void **state)
{
    (void)state;
    uint8_t b[65];
    fill(b, sizeof b, 0);
    assert_int_equal(fk_dcd_ep_start(0x80, b, 65), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_start(0x00, b, 65), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_start(0x01, b, 8), FK_DCD_EINVAL); /* closed */
    assert_int_equal(fk_dcd_ep_start(0x10, b, 8), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_start(0xF0, b, 8), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_start(0x81, NULL, 8), FK_DCD_EINVAL);

    assert_int_equal(fk_dcd_ep_open(0x01, FK_DCD_EP_BULK, 16), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x01, b, 17), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_start(0x01, b, 16), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x01, b, 16), FK_DCD_EBUSY);
    assert_int_equal(usbm_out(1, b, 16), USBM_ACK);
    assert_true(ut_irq());
    assert_int_equal(fk_dcd_ep_start(0x01, b, 16), FK_DCD_EBUSY); /* not yet polled */
    ut_expect_xfer(0x01, 16);
    assert_int_equal(fk_dcd_ep_start(0x01, b, 16), FK_DCD_OK);
    fk_dcd_ep_stall(0x01);
    assert_int_equal(fk_dcd_ep_start(0x01, b, 16), FK_DCD_ESTATE);

    ut_setup(REQ_GET_DESC_18);
    assert_int_equal(fk_dcd_ep_start(0x80, b, 18), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_start(0x80, b, 18), FK_DCD_EBUSY);

    assert_int_equal(fk_dcd_ep_open(0x00, FK_DCD_EP_BULK, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x80, FK_DCD_EP_BULK, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x11, FK_DCD_EP_BULK, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x02, FK_DCD_EP_ISO, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x02, FK_DCD_EP_CONTROL, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x02, (fk_dcd_ep_type_t)7, 64), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x02, FK_DCD_EP_BULK, 48), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x02, FK_DCD_EP_BULK, 0), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x02, FK_DCD_EP_BULK, 128), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 0), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 65), FK_DCD_EINVAL);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 1), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x10) & (1u << 31), 1u << 31);
    assert_int_equal(usbm_dpram32(0x14), 0); /* failed opens left nothing */

    /* Stall/clear/stalled on bad or closed addresses are harmless. */
    fk_dcd_ep_stall(0x7F);
    fk_dcd_ep_stall(0x05);
    fk_dcd_ep_clear_stall(0x05);
    fk_dcd_ep_clear_stall(0x00);
    assert_false(fk_dcd_ep_stalled(0x05));
    assert_false(fk_dcd_ep_stalled(0x7F));
    assert_int_equal(usbm_dpram32(0x84 + 8 * 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_sequence, model_only, down),
        cmocka_unit_test_setup_teardown(test_init_reset_never_done, model_only, down),
        cmocka_unit_test_setup_teardown(test_reinit_closes_everything, up, down),
        cmocka_unit_test_setup_teardown(test_control_read_100, up, down),
        cmocka_unit_test_setup_teardown(test_control_read_status_prearmed, up, down),
        cmocka_unit_test_setup_teardown(test_control_write, up, down),
        cmocka_unit_test_setup_teardown(test_set_address_after_status, up, down),
        cmocka_unit_test_setup_teardown(test_ep0_stall_until_setup, up, down),
        cmocka_unit_test_setup_teardown(test_setup_cancels_ep0_in, up, down),
        cmocka_unit_test_setup_teardown(test_ep0_out_overlong, up, down),
        cmocka_unit_test_setup_teardown(test_endpoint_control_words, up, down),
        cmocka_unit_test_setup_teardown(test_all_endpoints_fit, up, down),
        cmocka_unit_test_setup_teardown(test_bulk_toggles, up, down),
        cmocka_unit_test_setup_teardown(test_data_seq_error, up, down),
        cmocka_unit_test_setup_teardown(test_odd_copies, up, down),
        cmocka_unit_test_setup_teardown(test_bulk_out_overlong, up, down),
        cmocka_unit_test_setup_teardown(test_bulk_stall_and_clear, up, down),
        cmocka_unit_test_setup_teardown(test_clear_stall_in_flight, up, down),
        cmocka_unit_test_setup_teardown(test_bus_reset_mid_transfer, up, down),
        cmocka_unit_test_setup_teardown(test_bus_reset_races_stack, up, down),
        cmocka_unit_test_setup_teardown(test_event_order, up, down),
        cmocka_unit_test_setup_teardown(test_suspend_resume_wakeup, up, down),
        cmocka_unit_test_setup_teardown(test_wait, up, down),
        cmocka_unit_test_setup_teardown(test_ep_start_errors, up, down),
    };
    return cmocka_run_group_tests_name("rp2350 usb driver", tests, NULL, NULL);
}
