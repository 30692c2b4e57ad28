/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usb_enum.c - the device core on the fake controller: enumeration as
 * Linux does it, checked byte by byte; data stages of every length against
 * wLength (ZLP rules); the requests that must stall; GET_STATUS and the
 * endpoint halt feature with the toggle reset; configuration, interface
 * and bus-reset state; a composite device with a second class and its
 * class requests with OUT and IN data stages; what fk_usbd_init refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "usb_rig.h"
#include "usb_std.h"

static uint8_t g_buf[1024];

static const uint8_t k_device_desc[18] = {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x09,
                                          0x12, 0x5E, 0xF0, 0x02, 0x01, 0x01, 0x02, 0x03, 0x01};

static const uint8_t k_config_desc[93] = {
    /* configuration: 93 bytes, 1 interface, value 1, bus powered, 100 mA */
    0x09, 0x02, 0x5D, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
    /* interface 0: 3 endpoints, smart card class */
    0x09, 0x04, 0x00, 0x00, 0x03, 0x0B, 0x00, 0x00, 0x00,
    /* CCID class descriptor */
    0x36, 0x21, 0x10, 0x01, 0x00, 0x07, 0x02, 0x00, 0x00, 0x00, /* bcdCCID .. dwProtocols */
    0xA0, 0x0F, 0x00, 0x00, 0xA0, 0x0F, 0x00, 0x00, 0x00,       /* clocks 4000 kHz, none listed */
    0x00, 0x2A, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00,       /* data rates 10752, none listed */
    0xFE, 0x00, 0x00, 0x00,                                     /* dwMaxIFSD 254 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             /* synch protocols, mechanical */
    0xFE, 0x00, 0x04, 0x00,                                     /* dwFeatures 0x000400FE */
    0x0C, 0x10, 0x00, 0x00,                                     /* dwMaxCCIDMessageLength 4108 */
    0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
    /* endpoints: bulk OUT 1, bulk IN 1, interrupt IN 2 */
    0x07, 0x05, 0x01, 0x02, 0x40, 0x00, 0x00,
    0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00,
    0x07, 0x05, 0x82, 0x03, 0x08, 0x00, 0x10};

/* A string descriptor of ASCII s. */
static size_t utf16_desc(uint8_t *out, const char *s)
{
    size_t n = strlen(s);
    out[0] = (uint8_t)(2 + 2 * n);
    out[1] = 0x03;
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = (uint8_t)s[i];
        out[3 + 2 * i] = 0;
    }
    return 2 + 2 * n;
}

static int setup(void **state)
{
    (void)state;
    return rig_setup(NULL);
}

static int teardown(void **state)
{
    (void)state;
    return rig_teardown();
}

static fake_ctrl_result_t get_desc(uint16_t value, uint16_t index, uint16_t length)
{
    memset(g_buf, 0xA5, sizeof g_buf);
    return rig_control(0x80, FK_USB_GET_DESCRIPTOR, value, index, length, g_buf, sizeof g_buf);
}

static void assert_stalls(uint8_t type, uint8_t req, uint16_t value, uint16_t index, uint16_t len)
{
    fake_ctrl_result_t r = rig_control(type, req, value, index, len, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_STALL);
}

/* The sequence of a Linux host (hub driver, then usbcore), byte by byte. */
static void test_linux_enumeration(void **state)
{
    (void)state;
    assert_true(fake_dcd_initialised());
    assert_true(fake_dcd_connected());
    fake_host_bus_reset();
    assert_int_equal(fk_usbd_state(&rig_usbd), FK_USBD_DEFAULT);

    /* GET_DESCRIPTOR(device) with wLength 64 at address 0: 18 bytes, one
     * short packet. */
    fake_ctrl_result_t r = get_desc(0x0100, 0, 64);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 18);
    assert_int_equal(r.packets, 1);
    assert_false(r.zlp);
    assert_memory_equal(g_buf, k_device_desc, 18);

    fake_host_bus_reset();

    /* SET_ADDRESS: the status stage is still at address 0; the new address
     * takes effect only once it is done. */
    uint8_t s[8];
    rig_setup_packet(s, 0x00, FK_USB_SET_ADDRESS, RIG_ADDRESS, 0, 0);
    assert_int_equal(fake_host_setup(s), FAKE_ACK);
    assert_int_equal(fake_dcd_address(), 0);
    assert_int_equal(fake_dcd_set_address_calls(), 0);
    bool d1 = false;
    assert_int_equal(fake_host_in(0, g_buf, sizeof g_buf, &d1), 0);
    assert_true(d1); /* status stage: DATA1 */
    assert_int_equal(fake_dcd_address(), RIG_ADDRESS);
    assert_int_equal(fake_dcd_set_address_calls(), 1);
    assert_int_equal(fk_usbd_state(&rig_usbd), FK_USBD_ADDRESSED);
    /* Address 0 no longer answers. */
    r = get_desc(0x0100, 0, 18);
    assert_int_equal(r.status, FAKE_NOREPLY);
    fake_host_set_address(RIG_ADDRESS);

    r = get_desc(0x0100, 0, 18);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 18);
    assert_memory_equal(g_buf, k_device_desc, 18);

    r = get_desc(0x0200, 0, 9);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 9);
    assert_memory_equal(g_buf, k_config_desc, 9);
    r = get_desc(0x0200, 0, fk_le16(g_buf + 2));
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, sizeof k_config_desc);
    assert_int_equal(r.packets, 2);
    assert_memory_equal(g_buf, k_config_desc, sizeof k_config_desc);

    uint8_t want[256];
    r = get_desc(0x0300, 0, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 4);
    static const uint8_t langids[4] = {0x04, 0x03, 0x09, 0x04};
    assert_memory_equal(g_buf, langids, 4);
    r = get_desc(0x0302, 0x0409, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, utf16_desc(want, RIG_PRODUCT));
    assert_memory_equal(g_buf, want, r.len);
    r = get_desc(0x0301, 0x0409, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, utf16_desc(want, RIG_MANUFACTURER));
    assert_memory_equal(g_buf, want, r.len);
    r = get_desc(0x0303, 0x0409, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, utf16_desc(want, "0123456789ABCDEF"));
    assert_memory_equal(g_buf, want, r.len);

    assert_false(fake_dcd_ep_is_open(0x01));
    r = rig_control(0x00, FK_USB_SET_CONFIGURATION, 1, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fk_usbd_state(&rig_usbd), FK_USBD_CONFIGURED);
    assert_true(fake_dcd_ep_is_open(0x01));
    assert_true(fake_dcd_ep_is_open(0x81));
    assert_true(fake_dcd_ep_is_open(0x82));
    assert_int_equal(fake_dcd_ep_type(0x01), FK_DCD_EP_BULK);
    assert_int_equal(fake_dcd_ep_type(0x82), FK_DCD_EP_INTERRUPT);
    assert_int_equal(fake_dcd_ep_mps(0x81), 64);
    assert_int_equal(fake_dcd_ep_mps(0x82), 8);
    /* The CCID class is listening and has its notification out. */
    assert_true(fake_dcd_ep_armed(0x01));
    assert_int_equal(fake_host_in(2, g_buf, sizeof g_buf, &d1), 2);
    assert_false(d1);
    assert_int_equal(g_buf[0], 0x50);
    assert_int_equal(g_buf[1], 0x03);
    /* Once only. */
    rig_pump();
    assert_int_equal(fake_host_in(2, g_buf, sizeof g_buf, &d1), FAKE_NAK);

    r = rig_control(0x80, FK_USB_GET_CONFIGURATION, 0, 0, 1, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 1);
    assert_int_equal(g_buf[0], 1);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
    assert_int_equal(fake_dcd_start_errors(), 0);
}

/* Data stages against wLength: cut to it, a ZLP only when the answer is
 * shorter than wLength and a multiple of 64. */
static void test_data_stage_lengths(void **state)
{
    (void)state;
    rig_enumerate();
    fake_ctrl_result_t r = get_desc(0x0100, 0, 8);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 8);
    assert_memory_equal(g_buf, k_device_desc, 8);

    r = get_desc(0x0200, 0, 64); /* exactly one full packet: no ZLP, wLength reached */
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 64);
    assert_int_equal(r.packets, 1);
    assert_false(r.zlp);
    assert_memory_equal(g_buf, k_config_desc, 64);

    r = get_desc(0x0200, 0, 70); /* not a multiple of anything: 64 + 6 */
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 70);
    assert_int_equal(r.packets, 2);
    assert_memory_equal(g_buf, k_config_desc, 70);

    r = get_desc(0x0200, 0, 1000); /* longer than the descriptor: 64 + 29, short end */
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 93);
    assert_int_equal(r.packets, 2);
    assert_false(r.zlp);

    r = get_desc(0x0302, 0x0409, 2); /* the header of a string only */
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 2);
    assert_int_equal(g_buf[0], 2 + 2 * strlen(RIG_PRODUCT));

    /* wLength 0: no data stage at all, just the status. */
    r = get_desc(0x0100, 0, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 0);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* A product string of 31 characters makes a 64-byte descriptor: with
 * wLength 255 it ends with a ZLP, with wLength 64 it does not. */
static void test_zlp_after_full_packet(void **state)
{
    (void)state;
    static const char product31[] = "fusekey hardware security modul";
    assert_int_equal(strlen(product31), 31);
    const fk_usbd_identity_t id = {.vid = 1, .pid = 2, .manufacturer = "m", .product = product31};
    const fk_usbd_class_t classes[] = {fk_ccid_class(&rig_ccid)};
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, classes, 1), FK_USBD_OK);
    fk_usbd_connect(&rig_usbd, true);
    fake_host_bus_reset();
    fake_ctrl_result_t r = get_desc(0x0302, 0x0409, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 64);
    assert_int_equal(r.packets, 2);
    assert_true(r.zlp);
    uint8_t want[64];
    utf16_desc(want, product31);
    assert_memory_equal(g_buf, want, 64);
    r = get_desc(0x0302, 0x0409, 64);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 64);
    assert_int_equal(r.packets, 1);
    assert_false(r.zlp);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

static void test_requests_that_stall(void **state)
{
    (void)state;
    rig_enumerate();
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0304, 0x0409, 255); /* no string 4 */
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x03EE, 0x0409, 255);
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0600, 0, 10);  /* device qualifier: FS only */
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0700, 0, 9);   /* other speed */
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0F00, 0, 5);   /* BOS: bcdUSB 2.00 */
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0101, 0, 18);  /* device index 1 */
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0201, 0, 9);   /* configuration 1 */
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x2100, 0, 64);  /* class descriptor alone */
    assert_stalls(0x00, FK_USB_SET_DESCRIPTOR, 0x0100, 0, 0);
    assert_stalls(0x82, FK_USB_SYNCH_FRAME, 0, 0x81, 2);
    assert_stalls(0x80, 0xFF, 0, 0, 4);                          /* unknown standard request */
    assert_stalls(0xC0, 0x01, 0, 0, 4);                          /* vendor request to device */
    assert_stalls(0x40, 0x01, 0, 0, 0);
    assert_stalls(0x00, FK_USB_SET_FEATURE, FK_USB_FEATURE_REMOTE_WAKEUP, 0, 0);
    assert_stalls(0x00, FK_USB_SET_FEATURE, FK_USB_FEATURE_TEST_MODE, 0x0100, 0);
    assert_stalls(0x00, FK_USB_SET_ADDRESS, 7, 0, 0); /* not in the configured state */
    assert_stalls(0x00, FK_USB_SET_ADDRESS, 200, 0, 0);
    assert_stalls(0x00, FK_USB_SET_CONFIGURATION, 2, 0, 0);
    assert_stalls(0x80, FK_USB_GET_STATUS, 0, 0, 4); /* wLength must be 2 */
    assert_stalls(0x81, FK_USB_GET_STATUS, 0, 1, 2); /* no interface 1 */
    assert_stalls(0x82, FK_USB_GET_STATUS, 0, 0x83, 2); /* no endpoint 3 IN */
    assert_stalls(0x82, FK_USB_GET_STATUS, 0, 0x02, 2); /* no endpoint 2 OUT */
    assert_stalls(0x01, FK_USB_SET_INTERFACE, 1, 0, 0); /* alternate 0 only */
    assert_stalls(0x01, FK_USB_SET_FEATURE, 0, 0, 0);   /* interfaces have no feature */
    assert_stalls(0x02, FK_USB_SET_FEATURE, 1, 0x81, 0); /* an unknown endpoint feature */
    /* CCID class requests the descriptor says are not there. */
    assert_stalls(0xA1, FK_CCID_REQ_GET_CLOCK_FREQUENCIES, 0, 0, 4);
    assert_stalls(0xA1, FK_CCID_REQ_GET_DATA_RATES, 0, 0, 4);
    assert_stalls(0x21, FK_CCID_REQ_ABORT, 0x0101, 0, 0); /* slot 1 */
    assert_stalls(0x21, 0x55, 0, 0, 0);
    assert_stalls(0x21, FK_CCID_REQ_ABORT, 0, 1, 0); /* interface 1 */

    /* A stall lasts until the next SETUP only. */
    fake_ctrl_result_t r = get_desc(0x0100, 0, 18);
    assert_int_equal(r.status, FAKE_ACK);
    assert_memory_equal(g_buf, k_device_desc, 18);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* A SETUP in the middle of a data stage starts over. */
static void test_setup_restarts_transfer(void **state)
{
    (void)state;
    rig_enumerate();
    uint8_t s[8];
    rig_setup_packet(s, 0x80, FK_USB_GET_DESCRIPTOR, 0x0200, 0, 255);
    assert_int_equal(fake_host_setup(s), FAKE_ACK);
    assert_int_equal(fake_host_in(0, g_buf, sizeof g_buf, NULL), 64);
    /* The host gives up on that one and asks for something else. */
    fake_ctrl_result_t r = get_desc(0x0100, 0, 18);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 18);
    assert_memory_equal(g_buf, k_device_desc, 18);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* One CCID GetSlotStatus round trip (moves the bulk toggles). */
static void slot_status_roundtrip(uint8_t seq)
{
    uint8_t resp[64];
    size_t n = rig_exchange(FK_CCID_PC_GET_SLOT_STATUS, seq, 0, 0, NULL, 0, resp, sizeof resp);
    assert_int_equal(n, 10);
    assert_int_equal(resp[0], 0x81);
    assert_int_equal(resp[6], seq);
}

static void test_status_and_halt(void **state)
{
    (void)state;
    rig_enumerate();
    fake_ctrl_result_t r = rig_control(0x80, FK_USB_GET_STATUS, 0, 0, 2, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 2);
    assert_int_equal(fk_le16(g_buf), 0); /* bus powered, no remote wakeup */
    r = rig_control(0x81, FK_USB_GET_STATUS, 0, 0, 2, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fk_le16(g_buf), 0);
    r = rig_control(0x82, FK_USB_GET_STATUS, 0, 0x80, 2, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fk_le16(g_buf), 0);

    slot_status_roundtrip(1); /* toggles of EP1 OUT and IN now DATA1 */

    /* Halt bulk IN: GET_STATUS says so, the host sees STALL. */
    r = rig_control(0x02, FK_USB_SET_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x81, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_true(fake_dcd_ep_is_stalled(0x81));
    r = rig_control(0x82, FK_USB_GET_STATUS, 0, 0x81, 2, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fk_le16(g_buf), 1);
    assert_int_equal(fake_host_in(1, g_buf, sizeof g_buf, NULL), FAKE_STALL);
    r = rig_control(0x02, FK_USB_CLEAR_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x81, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_false(fake_dcd_ep_is_stalled(0x81));
    r = rig_control(0x82, FK_USB_GET_STATUS, 0, 0x81, 2, g_buf, sizeof g_buf);
    assert_int_equal(fk_le16(g_buf), 0);

    /* Halt and clear bulk OUT: the armed packet is gone, the class arms a
     * new one, and both ends restart at DATA0. */
    r = rig_control(0x02, FK_USB_SET_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x01, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fake_host_out(1, "x", 1), FAKE_STALL);
    r = rig_control(0x02, FK_USB_CLEAR_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x01, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    rig_pump();
    assert_true(fake_dcd_ep_armed(0x01));
    slot_status_roundtrip(2);
    /* CLEAR_FEATURE on an endpoint that is not halted resets its toggle too. */
    r = rig_control(0x02, FK_USB_CLEAR_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x81, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    slot_status_roundtrip(3);
    /* EP0's halt: clearing is harmless, setting is refused. */
    r = rig_control(0x02, FK_USB_CLEAR_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x00, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_stalls(0x02, FK_USB_SET_FEATURE, FK_USB_FEATURE_ENDPOINT_HALT, 0x80, 0);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

static void test_configuration_and_interface(void **state)
{
    (void)state;
    /* In the default state (address 0) there is no configuration to set. */
    fake_host_bus_reset();
    assert_stalls(0x00, FK_USB_SET_CONFIGURATION, 1, 0, 0);
    assert_stalls(0x80, FK_USB_GET_CONFIGURATION, 0, 0, 1);
    assert_stalls(0x82, FK_USB_GET_STATUS, 0, 0x81, 2); /* not before configuration */

    rig_enumerate();
    fake_ctrl_result_t r = rig_control(0x81, FK_USB_GET_INTERFACE, 0, 0, 1, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 1);
    assert_int_equal(g_buf[0], 0);
    r = rig_control(0x01, FK_USB_SET_INTERFACE, 0, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    /* The function restarted: its notification again, then it answers. */
    rig_pump();
    assert_int_equal(fake_host_in(2, g_buf, sizeof g_buf, NULL), 2);
    slot_status_roundtrip(7);

    r = rig_control(0x00, FK_USB_SET_CONFIGURATION, 0, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fk_usbd_state(&rig_usbd), FK_USBD_ADDRESSED);
    assert_false(fake_dcd_ep_is_open(0x01));
    assert_false(fake_dcd_ep_is_open(0x81));
    r = rig_control(0x80, FK_USB_GET_CONFIGURATION, 0, 0, 1, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(g_buf[0], 0);
    assert_stalls(0x81, FK_USB_GET_INTERFACE, 0, 0, 1);

    r = rig_control(0x00, FK_USB_SET_CONFIGURATION, 1, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(fake_host_in(2, g_buf, sizeof g_buf, NULL), 2);
    slot_status_roundtrip(8);

    /* A bus reset undoes address and configuration. */
    fake_host_bus_reset();
    assert_int_equal(fk_usbd_state(&rig_usbd), FK_USBD_DEFAULT);
    assert_int_equal(fake_dcd_address(), 0);
    assert_false(fake_dcd_ep_is_open(0x01));
    assert_false(rig_ccid.configured);
    /* Suspend and resume are tracked, nothing else changes. */
    fake_host_suspend();
    assert_true(fk_usbd_suspended(&rig_usbd));
    fake_host_resume();
    assert_false(fk_usbd_suspended(&rig_usbd));
    assert_int_equal(fake_dcd_toggle_errors(), 0);

    /* Disconnecting deconfigures too. */
    rig_enumerate();
    fk_usbd_connect(&rig_usbd, false);
    assert_false(fake_dcd_connected());
    assert_int_equal(fk_usbd_state(&rig_usbd), FK_USBD_DETACHED);
    assert_false(rig_ccid.configured);
}

/* ---- A second function: a vendor interface with one endpoint pair and
 * class requests with data stages. -------------------------------------- */

typedef struct vendor {
    fk_usbd_t *usbd;
    uint8_t itf, ep;
    int configured, deconfigured, setups, data_stages, done;
    uint8_t out[100];
    uint8_t reply[100];
    size_t reply_len;
} vendor_t;

static void v_attach(void *ctx, fk_usbd_t *usbd, uint8_t itf, uint8_t ep)
{
    vendor_t *v = ctx;
    v->usbd = usbd;
    v->itf = itf;
    v->ep = ep;
}

static size_t v_describe(void *ctx, uint8_t *buf, size_t cap)
{
    const vendor_t *v = ctx;
    const uint8_t d[23] = {9, 4, v->itf, 0, 2, 0xFF, 0, 0, 0,
                           7, 5, v->ep, 2, 32, 0, 0,
                           7, 5, (uint8_t)(v->ep | 0x80), 2, 32, 0, 0};
    if (cap < sizeof d) return 0;
    memcpy(buf, d, sizeof d);
    return sizeof d;
}

static void v_configured(void *ctx) { ((vendor_t *)ctx)->configured++; }
static void v_deconfigured(void *ctx) { ((vendor_t *)ctx)->deconfigured++; }
static void v_xfer(void *ctx, uint8_t ep, uint16_t len)
{
    (void)ctx;
    (void)ep;
    (void)len;
}

/* bRequest 1: OUT data (wLength bytes) kept; 2: IN the kept bytes, reversed. */
static bool v_control(void *ctx, const fk_usb_setup_t *req, fk_usbd_stage_t stage)
{
    vendor_t *v = ctx;
    if (stage == FK_USBD_STAGE_DONE) {
        v->done++;
        return true;
    }
    if (stage == FK_USBD_STAGE_DATA) {
        v->data_stages++;
        return v->out[0] != 0xEE; /* refuse data starting with EE */
    }
    v->setups++;
    if (req->bRequest == 1 && !(req->bmRequestType & 0x80) && req->wLength <= sizeof v->out) {
        fk_usbd_ctrl_out(v->usbd, v->out, req->wLength);
        return true;
    }
    if (req->bRequest == 2 && (req->bmRequestType & 0x80)) {
        for (size_t i = 0; i < v->reply_len; i++) v->reply[i] = v->out[v->reply_len - 1 - i];
        fk_usbd_ctrl_in(v->usbd, v->reply, v->reply_len);
        return true;
    }
    return false;
}

static const fk_usbd_class_ops_t k_vendor_ops = {
    .n_interfaces = 1,
    .n_endpoints = 1,
    .attach = v_attach,
    .describe = v_describe,
    .configured = v_configured,
    .deconfigured = v_deconfigured,
    .control = v_control,
    .xfer = v_xfer,
};

static void test_composite_device(void **state)
{
    (void)state;
    static vendor_t v;
    memset(&v, 0, sizeof v);
    const fk_usbd_identity_t id = {.vid = RIG_VID, .pid = RIG_PID, .manufacturer = "m",
                                   .product = "p", .max_power_ma = 250};
    fk_usbd_class_t classes[] = {fk_ccid_class(&rig_ccid), {&k_vendor_ops, &v, "vendor function"}};
    classes[0].name = "fusekey CCID";
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, classes, 2), FK_USBD_OK);
    assert_int_equal(v.itf, 1);
    assert_int_equal(v.ep, 3); /* after CCID's endpoints 1 and 2 */
    size_t len;
    const uint8_t *c = fk_usbd_config_descriptor(&rig_usbd, &len);
    assert_int_equal(len, 93 + 23);
    assert_int_equal(fk_le16(c + 2), len);
    assert_int_equal(c[4], 2);    /* bNumInterfaces */
    assert_int_equal(c[8], 125);  /* 250 mA */
    assert_int_equal(c[93 + 2], 1);
    /* Each function's name is its interfaces' string. */
    assert_int_equal(c[9 + 8], FK_USBD_STR_CLASS0);
    assert_int_equal(c[93 + 8], FK_USBD_STR_CLASS0 + 1);
    const uint8_t *d = fk_usbd_device_descriptor(&rig_usbd, &len);
    assert_int_equal(d[4], 0); /* no IAD needed: class per interface */

    fk_usbd_connect(&rig_usbd, true);
    rig_enumerate();
    assert_int_equal(v.configured, 1);
    assert_true(fake_dcd_ep_is_open(0x03));
    assert_true(fake_dcd_ep_is_open(0x83));
    assert_int_equal(fake_dcd_ep_mps(0x83), 32);

    uint8_t want[64];
    fake_ctrl_result_t r = get_desc(0x0304, 0x0409, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, utf16_desc(want, "fusekey CCID"));
    assert_memory_equal(g_buf, want, r.len);
    r = get_desc(0x0305, 0x0409, 255);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, utf16_desc(want, "vendor function"));
    assert_memory_equal(g_buf, want, r.len);
    assert_stalls(0x80, FK_USB_GET_DESCRIPTOR, 0x0306, 0x0409, 255);

    /* An OUT data stage of 100 bytes (64 + 36), then the IN reply. */
    uint8_t data[100];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i + 1);
    r = rig_control(0x41, 1, 0, 1, sizeof data, data, sizeof data);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(v.data_stages, 1);
    assert_int_equal(v.done, 1);
    assert_memory_equal(v.out, data, sizeof data);
    v.reply_len = 100;
    r = rig_control(0xC1, 2, 0, 1, 200, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 100);
    assert_int_equal(g_buf[0], 100);
    assert_int_equal(g_buf[99], 1);
    assert_int_equal(v.done, 2);
    /* A refused data stage stalls the status stage. */
    data[0] = 0xEE;
    r = rig_control(0x41, 1, 0, 1, 10, data, sizeof data);
    assert_int_equal(r.status, FAKE_STALL);
    assert_int_equal(r.stage, 2);
    /* Too long for the class: refused at SETUP. */
    r = rig_control(0x41, 1, 0, 1, 101, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_STALL);
    assert_int_equal(r.stage, 1); /* the first data packet is stalled */
    /* Requests to the vendor interface's endpoint go to it as well. */
    r = rig_control(0xC2, 2, 0, 0x83, 5, g_buf, sizeof g_buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 5);
    /* The CCID interface still answers its own. */
    slot_status_roundtrip(4);
    fake_host_bus_reset();
    assert_int_equal(v.deconfigured, 1);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* ---- Nested servicing: a class busy in a callback keeps EP0 answering and
 * gets IN completions, while OUT completions wait for the next task. ----- */

typedef struct worker {
    fk_usbd_t *usbd;
    uint8_t ep;
    uint8_t rx[32];
    int outs;          /* OUT completions delivered */
    int ins;           /* IN completions delivered */
    int outs_while_busy, ins_while_busy;
    bool busy;
    bool ep0_answered; /* GET_STATUS answered from inside the busy callback */
} worker_t;

static worker_t g_worker;

static void w_attach(void *ctx, fk_usbd_t *usbd, uint8_t itf, uint8_t ep)
{
    (void)itf;
    worker_t *w = ctx;
    w->usbd = usbd;
    w->ep = ep;
}

static size_t w_describe(void *ctx, uint8_t *buf, size_t cap)
{
    const worker_t *w = ctx;
    const uint8_t d[23] = {9, 4, 0, 0, 2, 0xFF, 0, 0, 0,
                           7, 5, w->ep, 2, 32, 0, 0,
                           7, 5, (uint8_t)(w->ep | 0x80), 2, 32, 0, 0};
    if (cap < sizeof d) return 0;
    memcpy(buf, d, sizeof d);
    return sizeof d;
}

static void w_configured(void *ctx)
{
    worker_t *w = ctx;
    assert_int_equal(fk_usbd_ep_xfer(w->usbd, w->ep, w->rx, 32), FK_DCD_OK);
}

static void w_deconfigured(void *ctx) { (void)ctx; }

static void w_xfer(void *ctx, uint8_t ep, uint16_t len)
{
    worker_t *w = ctx;
    (void)len;
    if (ep & 0x80) {
        w->ins++;
        if (w->busy) w->ins_while_busy++;
        return;
    }
    w->outs++;
    if (w->busy) w->outs_while_busy++;
    assert_int_equal(fk_usbd_ep_xfer(w->usbd, w->ep, w->rx, 32), FK_DCD_OK);
    if (w->outs != 1) return;
    /* The first packet starts long work: meanwhile the host sends another
     * packet, asks GET_STATUS and reads an IN packet. */
    w->busy = true;
    static const uint8_t in_data[4] = {1, 2, 3, 4};
    assert_int_equal(fk_usbd_ep_xfer(w->usbd, (uint8_t)(w->ep | 0x80), (void *)in_data, 4),
                     FK_DCD_OK);
    assert_int_equal(fake_host_out(w->ep, "second", 6), FAKE_ACK);
    uint8_t s[8], st[64];
    rig_setup_packet(s, 0x80, FK_USB_GET_STATUS, 0, 0, 2);
    assert_int_equal(fake_host_setup(s), FAKE_ACK);
    assert_int_equal(fake_host_in(w->ep, st, sizeof st, NULL), 4);
    fk_usbd_service(w->usbd);
    const int n = fake_host_in(0, st, sizeof st, NULL);
    w->ep0_answered = n == 2 && st[0] == 0 && st[1] == 0;
    fk_usbd_service(w->usbd); /* the data stage is done: status OUT armed */
    if (w->ep0_answered) assert_int_equal(fake_host_out(0, NULL, 0), FAKE_ACK);
    fk_usbd_service(w->usbd);
    w->busy = false;
}

static const fk_usbd_class_ops_t k_worker_ops = {
    .n_interfaces = 1,
    .n_endpoints = 1,
    .attach = w_attach,
    .describe = w_describe,
    .configured = w_configured,
    .deconfigured = w_deconfigured,
    .xfer = w_xfer,
};

static void test_nested_service(void **state)
{
    (void)state;
    memset(&g_worker, 0, sizeof g_worker);
    const fk_usbd_identity_t id = {.vid = 1, .pid = 2, .manufacturer = "m", .product = "p"};
    const fk_usbd_class_t classes[] = {{&k_worker_ops, &g_worker, NULL}};
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, classes, 1), FK_USBD_OK);
    fk_usbd_connect(&rig_usbd, true);
    fake_host_bus_reset();
    fake_ctrl_result_t r = rig_control(0x00, FK_USB_SET_ADDRESS, 3, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    fake_host_set_address(3);
    r = rig_control(0x00, FK_USB_SET_CONFIGURATION, 1, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);

    /* The host's packets only queue events; the test runs the stack. */
    fake_host_set_pump(NULL);
    assert_int_equal(fake_host_out(1, "first", 5), FAKE_ACK);
    fk_usbd_task(&rig_usbd);
    assert_true(g_worker.ep0_answered);
    assert_int_equal(g_worker.ins_while_busy, 1);  /* IN completions arrive nested */
    assert_int_equal(g_worker.outs_while_busy, 0); /* OUT completions do not */
    assert_int_equal(g_worker.outs, 1);
    fk_usbd_task(&rig_usbd); /* the kept OUT completion now */
    assert_int_equal(g_worker.outs, 2);
    assert_memory_equal(g_worker.rx, "second", 6);
    fake_host_set_pump(rig_pump);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

static void test_init_refusals(void **state)
{
    (void)state;
    const fk_usbd_class_t one[] = {fk_ccid_class(&rig_ccid)};
    fk_usbd_identity_t id = {.vid = 1, .pid = 2, .manufacturer = "m", .product = "p"};
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_OK);

    id.product = "caf\xc3\xa9";
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_EINVAL);
    id.product = "";
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_EINVAL);
    id.product = NULL;
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_EINVAL);
    char long_name[128];
    memset(long_name, 'x', 127);
    long_name[127] = 0;
    id.product = long_name;
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_EINVAL);
    long_name[126] = 0; /* 126 characters: the most a descriptor holds */
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_OK);
    id.product = "p";
    fk_usbd_class_t named[] = {fk_ccid_class(&rig_ccid)};
    named[0].name = "tab\there";
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, named, 1), FK_USBD_EINVAL);
    id.max_power_ma = 501;
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_EINVAL);
    id.max_power_ma = 0;
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 0), FK_USBD_EINVAL);
    const fk_usbd_class_t five[] = {one[0], one[0], one[0], one[0], one[0]};
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, five, 5), FK_USBD_EINVAL);
    /* Three CCID readers would need 6 endpoints and 3 interfaces: fine for
     * the numbers, but 3 x 84 bytes overflow the configuration buffer. */
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, five, 3), FK_USBD_EINVAL);
    fake_dcd_fail_init();
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, one, 1), FK_USBD_EDCD);

    /* A class that describes an endpoint it was not given. */
    static vendor_t v;
    static fk_usbd_class_ops_t greedy;
    greedy = k_vendor_ops;
    greedy.n_endpoints = 0;
    const fk_usbd_class_t bad[] = {{&greedy, &v}};
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, bad, 1), FK_USBD_EINVAL);
    /* CCID's message limit outside what its buffers allow. */
    fk_ccid_config_t cfg = {.max_message = FK_CCID_MSG_MAX + 1};
    assert_int_equal(fk_ccid_init(&rig_ccid, &rig_dev.card, &cfg), FK_USBD_EINVAL);
    cfg.max_message = FK_CCID_MSG_MIN - 1;
    assert_int_equal(fk_ccid_init(&rig_ccid, &rig_dev.card, &cfg), FK_USBD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linux_enumeration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_stage_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zlp_after_full_packet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_that_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_restarts_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_halt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_and_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_service, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
