/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_test_util.h - what the RP2350 USB driver tests share: bring the
 * model and the driver up, take the interrupt, and play the stack's part
 * (poll events and check them).
 */
#ifndef FUSEKEY_TEST_USB_TEST_UTIL_H
#define FUSEKEY_TEST_USB_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpu_model.h"
#include "dcd.h"
#include "rp_usb.h"
#include "usb_model.h"

/* Fresh model and CPU, driver not started. */
static inline void ut_model_only(void)
{
    usbm_reset();
    cpu_model_reset();
    cpu_model_set_irq(usbm_irq_raised, rp_usb_irq);
}

/* Fresh model, driver started and connected. */
static inline void ut_up(void)
{
    ut_model_only();
    assert_int_equal(fk_dcd_init(), FK_DCD_OK);
    fk_dcd_connect(true);
}

/* Take the USB interrupt if it is raised (as the M33 would right now). */
static inline bool ut_irq(void) { return cpu_model_take_irq(); }

static inline fk_dcd_event_t ut_expect(fk_dcd_event_type_t type)
{
    fk_dcd_event_t ev;
    assert_true(fk_dcd_poll(&ev));
    assert_int_equal(ev.type, type);
    return ev;
}

static inline void ut_expect_xfer(uint8_t ep, uint16_t len)
{
    fk_dcd_event_t ev = ut_expect(FK_DCD_EV_XFER);
    assert_int_equal(ev.ep, ep);
    assert_int_equal(ev.len, len);
}

static inline void ut_expect_none(void)
{
    fk_dcd_event_t ev;
    assert_false(fk_dcd_poll(&ev));
    assert_int_equal(ev.type, FK_DCD_EV_NONE);
}

/* The host sends `req`; the driver reports it. */
static inline void ut_setup(const uint8_t req[8])
{
    assert_int_equal(usbm_setup(req), USBM_ACK);
    assert_true(ut_irq());
    fk_dcd_event_t ev = ut_expect(FK_DCD_EV_SETUP);
    assert_memory_equal(ev.setup, req, 8);
}

#endif /* FUSEKEY_TEST_USB_TEST_UTIL_H */
