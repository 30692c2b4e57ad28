/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rescue_board.c - the board configuration as the firmware reads it at
 * start (fk_rescue_usb_override): written through 80 1C 01 as a host tool
 * writes it, and damaged or malformed records put straight into the store,
 * which override nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devrig.h"
#include "host_port.h"
#include "rescue/rescue.h"
#include "services/ns.h"
#include "store/space.h"
#include "store/store.h"

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};
static uint8_t g_out[256];
static size_t g_out_len;

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "board");
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    return fk_devrig_xfer(&g_dev, apdu, len, g_out, sizeof g_out, &g_out_len);
}

/* SELECT the rescue applet, then 80 1C 01 00 with the record. */
static uint16_t write_board(const uint8_t *rec, size_t len)
{
    uint8_t sel[5 + FK_RESCUE_AID_LEN + 1] = {0x00, 0xA4, 0x04, 0x00, FK_RESCUE_AID_LEN};
    memcpy(sel + 5, fk_rescue_aid, FK_RESCUE_AID_LEN); /* Le 00 last */
    assert_int_equal(xfer(sel, sizeof sel), 0x9000);
    uint8_t a[5 + 255] = {0x80, 0x1C, 0x01, 0x00, (uint8_t)len};
    memcpy(a + 5, rec, len);
    return xfer(a, 5 + len);
}

static void put_raw(const uint8_t *rec, size_t len)
{
    const fk_space_t sp = {&g_dev.svc.store, FK_NS_RESCUE};
    assert_int_equal(fk_space_write(&sp, FK_ID_PHY_CONFIG, rec, len), FK_STORE_OK);
}

static void assert_no_override(void)
{
    fk_rescue_usb_override_t o;
    memset(&o, 0xA5, sizeof o);
    (void)fk_rescue_usb_override(&g_dev.svc, &o);
    assert_false(o.has_vidpid);
    assert_false(o.has_product);
    assert_int_equal(o.vid, 0);
    assert_int_equal(o.pid, 0);
    assert_int_equal(o.product[0], 0);
}

static void test_absent_record(void **state)
{
    (void)state;
    fk_rescue_usb_override_t o;
    assert_false(fk_rescue_usb_override(&g_dev.svc, &o));
    assert_no_override();
}

static void test_vidpid_and_product(void **state)
{
    (void)state;
    static const uint8_t rec[] = {0x04, 0x01, 0x19,                   /* LED GPIO: ignored */
                                  0x00, 0x04, 0x20, 0xA0, 0x42, 0x30, /* VID 20A0, PID 4230 */
                                  0x09, 0x08, 'M', 'y', ' ', 'K', 'e', 'y', '2', 0x00};
    assert_int_equal(write_board(rec, sizeof rec), 0x9000);
    fk_rescue_usb_override_t o;
    assert_true(fk_rescue_usb_override(&g_dev.svc, &o));
    assert_true(o.has_vidpid);
    assert_int_equal(o.vid, 0x20A0);
    assert_int_equal(o.pid, 0x4230);
    assert_true(o.has_product);
    assert_string_equal(o.product, "My Key2");

    /* Survives a restart of the device (read from flash, not from RAM). */
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    memset(&o, 0, sizeof o);
    assert_true(fk_rescue_usb_override(&g_dev.svc, &o));
    assert_int_equal(o.vid, 0x20A0);
    assert_string_equal(o.product, "My Key2");
}

static void test_only_some_items(void **state)
{
    (void)state;
    static const uint8_t vidpid_only[] = {0x00, 0x04, 0x12, 0x09, 0x00, 0x01};
    assert_int_equal(write_board(vidpid_only, sizeof vidpid_only), 0x9000);
    fk_rescue_usb_override_t o;
    assert_true(fk_rescue_usb_override(&g_dev.svc, &o));
    assert_true(o.has_vidpid);
    assert_int_equal(o.vid, 0x1209);
    assert_int_equal(o.pid, 0x0001);
    assert_false(o.has_product);

    static const uint8_t led_only[] = {0x05, 0x01, 0x80};
    assert_int_equal(write_board(led_only, sizeof led_only), 0x9000);
    assert_true(fk_rescue_usb_override(&g_dev.svc, &o));
    assert_false(o.has_vidpid);
    assert_false(o.has_product);

    static const uint8_t longest[] = {0x09, 32, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J',
                                      'K',  'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V',
                                      'W',  'X', 'Y', 'Z', '0', '1', '2', '3', '4', 0x00};
    assert_int_equal(write_board(longest, sizeof longest), 0x9000);
    assert_true(fk_rescue_usb_override(&g_dev.svc, &o));
    assert_true(o.has_product);
    assert_int_equal(strlen(o.product), 31);
}

/* Records the applet would never have written: nothing is taken from them. */
static void test_damaged_records(void **state)
{
    (void)state;
    static const uint8_t bad_vidpid_len[] = {0x00, 0x03, 0x20, 0xA0, 0x42};
    static const uint8_t past_end[] = {0x00, 0x04, 0x20, 0xA0, 0x42};
    static const uint8_t unterminated[] = {0x09, 0x03, 'a', 'b', 'c'};
    static const uint8_t not_printable[] = {0x09, 0x03, 'a', 0x07, 0x00};
    static const uint8_t twice[] = {0x00, 0x04, 1, 2, 3, 4, 0x00, 0x04, 5, 6, 7, 8};
    static const uint8_t unknown_tag[] = {0x00, 0x04, 1, 2, 3, 4, 0x0F, 0x01, 0x00};
    static const uint8_t half_item[] = {0x00, 0x04, 1, 2, 3, 4, 0x09};
    static uint8_t too_long[129];
    memset(too_long, 0, sizeof too_long);
    too_long[0] = 0x0A; /* curves, 4 bytes, then filler items of LED GPIO... */
    too_long[1] = 0x04;
    const struct {
        const uint8_t *p;
        size_t len;
    } bad[] = {
        {bad_vidpid_len, sizeof bad_vidpid_len}, {past_end, sizeof past_end},
        {unterminated, sizeof unterminated},     {not_printable, sizeof not_printable},
        {twice, sizeof twice},                   {unknown_tag, sizeof unknown_tag},
        {half_item, sizeof half_item},           {too_long, sizeof too_long},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        put_raw(bad[k].p, bad[k].len);
        fk_rescue_usb_override_t o;
        if (fk_rescue_usb_override(&g_dev.svc, &o)) fail_msg("damaged record %zu accepted", k);
        assert_no_override();
    }
    /* The applet refuses to write the malformed ones in the first place. */
    assert_int_equal(write_board(twice, sizeof twice), 0x6A80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_absent_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vidpid_and_product, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_some_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
