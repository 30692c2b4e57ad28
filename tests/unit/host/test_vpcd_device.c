/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vpcd_device.c - the vpcd frame engine in front of the real device
 * (core, product applets, host port over a fresh flash file), as
 * fusekey-sim wires them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "card/card.h"
#include "fusekey_product.h"
#include "host_port.h"
#include "services/services.h"
#include "tmpdir.h"
#include "vpcd.h"

static fk_services_t services;
static fk_card_t device;
static fk_product_card_state_t device_state;
static tmpdir_t tmp;
static uint8_t frame[FK_VPCD_FRAME_MAX];
static uint8_t reply[FK_VPCD_FRAME_MAX];

static void dev_on(void *ctx) { fk_card_power_on(ctx); }
static void dev_off(void *ctx) { fk_card_power_off(ctx); }
static size_t dev_atr(void *ctx, const uint8_t **atr)
{
    return fk_card_atr(ctx, atr);
}
static size_t dev_transceive(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    return fk_card_transceive(ctx, in, len, out, cap);
}

static const fk_vpcd_card_t card = {
    .ctx = &device,
    .power_on = dev_on,
    .power_off = dev_off,
    .atr = dev_atr,
    .transceive = dev_transceive,
};

static int setup(void **state)
{
    (void)state;
    char path[TMPPATH_CAP];
    tmpdir_make(&tmp);
    if (fk_host_flash_open(tmpdir_path(&tmp, "flash.bin", path), 0) != 0) return -1;
    if (fk_host_otp_open(tmpdir_path(&tmp, "otp.bin", path)) != 0) return -1;
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    if (fk_services_init(&services, &fk_product) != FK_SERVICES_OK) return -1;
    return fk_card_init(&device, &services, &device_state, sizeof device_state) == FK_CARD_OK ? 0
                                                                                            : -1;
}

static int teardown(void **state)
{
    (void)state;
    fk_host_otp_close();
    fk_host_flash_close();
    tmpdir_remove(&tmp);
    return 0;
}

/* Send one payload through the engine; returns the reply frame's length. */
static int exchange(const uint8_t *payload, size_t len)
{
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, payload, len);
    return fk_vpcd_process(&card, frame, len + 2, reply, sizeof reply);
}

static void test_atr_and_unknown_aid(void **state)
{
    (void)state;
    const uint8_t on = FK_VPCD_CTRL_ON, get_atr = FK_VPCD_CTRL_ATR;
    assert_int_equal(exchange(&on, 1), 0);
    const uint8_t *atr = NULL;
    const size_t atr_len = fk_card_atr(&device, &atr);
    assert_true(atr_len >= 2);
    assert_int_equal(exchange(&get_atr, 1), (int)(2 + atr_len));
    assert_memory_equal(reply + 2, atr, atr_len);

    /* An AID no applet has: 6A82 (never 9000, or OpenSC's probes misfire). */
    const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05};
    assert_int_equal(exchange(select, sizeof select), 4);
    assert_int_equal(reply[2], 0x6A);
    assert_int_equal(reply[3], 0x82);

    /* Malformed APDUs get a status word, not a dropped connection. */
    const uint8_t garbage[] = {0x00, 0xA4, 0x04};
    assert_int_equal(exchange(garbage, sizeof garbage), 4);
    assert_int_not_equal(reply[2], 0x90);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_atr_and_unknown_aid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
