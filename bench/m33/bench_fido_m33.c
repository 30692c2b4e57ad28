/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_fido_m33.c - the FIDO applet's getAssertion end to end on a
 * Cortex-M33, in instructions under QEMU's -icount (bench/m33/run.sh,
 * icount.h): the real device (services, card, FIDO applet, store) through
 * the unit tests' device rig on the m33 test port, one NFCCTAP_MSG in, one
 * response out, as the CCID class or the CTAP endpoint would hand them
 * over. One ES256 and one EdDSA credential (non-resident, no PIN) are made
 * first; each getAssertion checks its status and that the signature counter
 * went up (the counter write is part of the cost). It runs as a cmocka group
 * so that the rig's assertions fail the program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctap_client.h"
#include "devrig.h"
#include "host_port.h"
#include "icount.h"

#define RP "bench.example"

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x82};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};
static fk_cc_t g_cc;
static const uint8_t k_cdh[32] = {0xBE, 0x0C};
static uint8_t g_es[FK_CC_CRED_ID_MAX], g_ed[FK_CC_CRED_ID_MAX];
static size_t g_es_len, g_ed_len;
static uint32_t g_last;

static void assert_once(const uint8_t *id, size_t len)
{
    uint32_t c = 0;
    assert_int_equal(fk_cc_get_assertion(&g_cc, k_cdh, RP, id, len, true, false, &c, NULL), 0);
    assert_true(c > g_last);
    g_last = c;
}

static void ga_es256(void) { assert_once(g_es, g_es_len); }
static void ga_eddsa(void) { assert_once(g_ed, g_ed_len); }

static void bench_get_assertion(void **state)
{
    (void)state;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};
    const fk_devrig_cmd_t sel = {0x00, 0xA4, 0x04, 0x00, aid, sizeof aid, 0, false};
    uint8_t out[64];
    size_t n;
    assert_int_equal(fk_devrig_send(&g_dev, &sel, out, sizeof out, &n), 0x9000);
    fk_cc_init(&g_cc, fk_cc_card_xfer, &g_dev);
    uint32_t t0 = fk_icount_now();
    assert_int_equal(fk_cc_make_credential(&g_cc, k_cdh, RP, (const uint8_t *)"u1", 2, -7, false,
                                           false, g_es, &g_es_len, NULL),
                     0);
    fk_icount_print("FIDO makeCredential ES256 (first: master secret)",
                    fk_icount_insns(t0, fk_icount_now()), "one run");
    t0 = fk_icount_now();
    assert_int_equal(fk_cc_make_credential(&g_cc, k_cdh, RP, (const uint8_t *)"u2", 2, -8, false,
                                           false, g_ed, &g_ed_len, NULL),
                     0);
    fk_icount_print("FIDO makeCredential EdDSA", fk_icount_insns(t0, fk_icount_now()), "one run");
    fk_icount_measure("FIDO getAssertion ES256 (APDU)", ga_es256, FK_ICOUNT_RUNS);
    fk_icount_measure("FIDO getAssertion EdDSA (APDU)", ga_eddsa, FK_ICOUNT_RUNS);
}

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "fidobench");
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bench_get_assertion, setup, teardown),
    };
    fk_icount_calibrate();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
