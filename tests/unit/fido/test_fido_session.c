/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fido_session.c - two endpoints of one device (the card, and a second
 * one with its own copy of the FIDO applet's volatile state, as the CTAP
 * endpoint of the HID interface has): each keeps its own pinUvAuthToken,
 * and a token of one endpoint is void once the PIN is changed, or the
 * applet reset, through the other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctap_client.h"
#include "devrig.h"
#include "fido_internal.h"
#include "host_port.h"
#include "services/services.h"

#define SW_OK 0x9000u
#define RP "session.example"

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0xF1, 0xD0, 0x00, 0x03, 0x44, 0x55, 0x66, 0x77};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 512u * 1024u};
static fk_cc_t g_card, g_hid;
static _Alignas(8) uint8_t g_hid_state[FK_FIDO_STATE_SIZE];
static const uint8_t k_cdh[32] = {0x11};

/* The second endpoint: the applet's NFCCTAP_MSG entry with its own state. */
static size_t hid_xfer(void *arg, const uint8_t *req, size_t len, uint8_t *resp, size_t cap)
{
    (void)arg;
    fk_applet_ctx_t ctx = fk_services_applet_ctx(&g_dev.svc, &fk_fido_applet);
    ctx.state = g_hid_state;
    const fk_apdu_t apdu = {.cla = 0x80, .ins = 0x10, .data = req, .nc = len, .ne = cap,
                            .extended = true};
    fk_rbuf_t out = {.p = resp, .len = 0, .cap = cap};
    assert_int_equal(fk_fido_applet.process(&ctx, &apdu, &out), SW_OK);
    return out.len;
}

static int setup(void **state)
{
    (void)state;
    if (fk_devrig_setup(&g_rig, "fidosession") != 0) return -1;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};
    const fk_devrig_cmd_t sel = {0x00, 0xA4, 0x04, 0x00, aid, sizeof aid, 0, false};
    uint8_t out[64];
    size_t n;
    if (fk_devrig_send(&g_dev, &sel, out, sizeof out, &n) != SW_OK) return -1;
    memset(g_hid_state, 0, sizeof g_hid_state);
    fk_cc_init(&g_card, fk_cc_card_xfer, &g_dev);
    fk_cc_init(&g_hid, hid_xfer, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

static uint8_t mc_with_token(fk_cc_t *c)
{
    uint8_t id[FK_CC_CRED_ID_MAX];
    size_t id_len;
    return fk_cc_make_credential(c, k_cdh, RP, (const uint8_t *)"u", 1, -7, false, true, id,
                                 &id_len, NULL);
}

static void test_tokens_are_per_endpoint_and_die_with_the_pin(void **state)
{
    (void)state;
    assert_int_equal(fk_cc_set_pin(&g_card, "1234"), 0);
    assert_int_equal(fk_cc_get_token(&g_hid, "1234", FIDO_PERM_MC, RP), 0);
    assert_int_equal(fk_cc_get_token(&g_card, "1234", FIDO_PERM_MC, RP), 0);
    /* Each endpoint's token works there and not on the other. */
    assert_int_equal(mc_with_token(&g_hid), 0);
    assert_int_equal(mc_with_token(&g_card), 0);
    memcpy(g_card.token, g_hid.token, sizeof g_card.token);
    assert_int_equal(mc_with_token(&g_card), CTAP2_ERR_PIN_AUTH_INVALID);
    /* A PIN change through the card voids the HID endpoint's token. */
    assert_int_equal(fk_cc_change_pin(&g_card, "1234", "5678"), 0);
    assert_int_equal(mc_with_token(&g_hid), CTAP2_ERR_PIN_AUTH_INVALID);
    assert_int_equal(fk_cc_get_token(&g_hid, "5678", FIDO_PERM_MC, RP), 0);
    assert_int_equal(mc_with_token(&g_hid), 0);
}

static void test_reset_voids_the_other_endpoints_token(void **state)
{
    (void)state;
    assert_int_equal(fk_cc_set_pin(&g_card, "1234"), 0);
    assert_int_equal(fk_cc_get_token(&g_hid, "1234", FIDO_PERM_MC, RP), 0);
    assert_int_equal(mc_with_token(&g_hid), 0);
    /* Reset through the card (within the window after power-up; the
     * presence policy of the rig confirms). */
    assert_int_equal(fk_cc_call(&g_card, FIDO_CMD_RESET, NULL, 0), 0);
    assert_int_equal(mc_with_token(&g_hid), CTAP2_ERR_PIN_AUTH_INVALID);
    /* A new PIN does not bring the old token back. */
    assert_int_equal(fk_cc_set_pin(&g_card, "1234"), 0);
    assert_int_equal(mc_with_token(&g_hid), CTAP2_ERR_PIN_AUTH_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tokens_are_per_endpoint_and_die_with_the_pin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset_voids_the_other_endpoints_token, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
