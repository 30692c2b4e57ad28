/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_usb_pool.c - running out of DPRAM. Built with a pool of four
 * 64-byte buffers (RP_USB_POOL_END = 0x280); the real pool holds a buffer
 * for every endpoint address, so only a smaller one can run out.
 */
#include "usb_test_util.h"

static void test_pool_exhaustion(void **state)
{
    (void)state;
    ut_up();
    assert_int_equal(fk_dcd_ep_open(0x01, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x81, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x02, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x82, FK_DCD_EP_INTERRUPT, 8), FK_DCD_OK);
    assert_int_equal(fk_dcd_ep_open(0x03, FK_DCD_EP_BULK, 64), FK_DCD_ENOMEM);
    assert_int_equal(usbm_dpram32(0x1C), 0); /* EP3 OUT not enabled */
    assert_int_equal(fk_dcd_ep_start(0x03, (uint8_t[8]){0}, 8), FK_DCD_EINVAL);
    /* Reopening an open endpoint needs no new buffer. */
    assert_int_equal(fk_dcd_ep_open(0x81, FK_DCD_EP_BULK, 32), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x08) & 0xFFC0u, 0x1C0u);
    /* Closing everything gives the pool back. */
    fk_dcd_ep_close_all();
    assert_int_equal(fk_dcd_ep_open(0x03, FK_DCD_EP_BULK, 64), FK_DCD_OK);
    assert_int_equal(usbm_dpram32(0x1C), 0xA8000180u);
    uint8_t data[5] = {1, 2, 3, 4, 5}, rx[64];
    assert_int_equal(fk_dcd_ep_start(0x03, rx, 64), FK_DCD_OK);
    assert_int_equal(usbm_out(3, data, 5), USBM_ACK);
    assert_true(ut_irq());
    ut_expect_xfer(0x03, 5);
    assert_memory_equal(rx, data, 5);
    assert_false(cpu_model_masked());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_exhaustion),
    };
    return cmocka_run_group_tests_name("rp2350 usb driver, small DPRAM pool", tests, NULL, NULL);
}
