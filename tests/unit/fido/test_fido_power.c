/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fido_power.c - power cuts at every flash operation of the FIDO
 * applet's writing commands, through the card as a client drives it
 * (tests/support/ctap_client.h): a resident makeCredential, a credential
 * deletion and the signature counter of assertions. After each cut the
 * device restarts and is either exactly as before the command or exactly
 * as after it; the signature counter never hands out a value twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "ctap_client.h"
#include "devrig.h"
#include "flashcut.h"
#include "host_port.h"

#define SW_OK 0x9000u
#define PIN "271828"
#define RP "power.example"
#define PERM_MC 0x01u
#define PERM_GA 0x02u
#define PERM_CM 0x04u

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0xF1, 0xD0, 0x00, 0x02, 0x33, 0x44, 0x55, 0x66};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 512u * 1024u};
static fk_cc_t g_cc;
static char g_snap[FK_DEVRIG_PATH_CAP + 16];
static const uint8_t k_cdh[32] = {0x5A};

static void select_fido(void)
{
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};
    const fk_devrig_cmd_t cmd = {0x00, 0xA4, 0x04, 0x00, aid, sizeof aid, 0, false};
    uint8_t out[64];
    size_t n;
    assert_int_equal(fk_devrig_send(&g_dev, &cmd, out, sizeof out, &n), SW_OK);
    fk_cc_init(&g_cc, fk_cc_card_xfer, &g_dev);
}

static void restart(void)
{
    fk_flashcut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    select_fido();
}

static int setup(void **state)
{
    (void)state;
    if (fk_devrig_setup(&g_rig, "fidopower") != 0) return -1;
    snprintf(g_snap, sizeof g_snap, "%s/snap.bin", g_rig.dir);
    select_fido();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    unlink(g_snap);
    return fk_devrig_teardown(&g_rig);
}

static unsigned resident_count(void)
{
    unsigned existing = 0, remaining = 0;
    assert_int_equal(fk_cc_get_token(&g_cc, PIN, PERM_CM, NULL), 0);
    assert_int_equal(fk_cc_creds_metadata(&g_cc, &existing, &remaining), 0);
    return existing;
}

/* A discoverable credential of RP for user `uid`, made with the PIN. */
static uint8_t make_resident(uint8_t uid, uint8_t *id, size_t *id_len)
{
    const uint8_t user[4] = {'u', 's', 'r', uid};
    uint8_t st = fk_cc_get_token(&g_cc, PIN, PERM_MC, RP);
    if (st != 0) return st;
    return fk_cc_make_credential(&g_cc, k_cdh, RP, user, sizeof user, -7, true, true, id, id_len,
                                 NULL);
}

/* The credential id opens for this RP (a silent assertion finds it). */
static bool usable(const uint8_t *id, size_t id_len)
{
    return fk_cc_get_assertion(&g_cc, k_cdh, RP, id, id_len, false, false, NULL, NULL) == 0;
}

/* One command cut at every flash operation in turn, from the snapshot each
 * time, until it runs through: before(), then op() with the cut armed, a
 * restart, then check(status of op) saying whether the old state or the new
 * one is there (asserting it is one of them, whole). Both must be seen. */
static void cut_everywhere(void (*before)(void), uint8_t (*op)(void), bool (*check)(uint8_t st))
{
    fk_devrig_snapshot(&g_rig, g_snap);
    select_fido();
    int olds = 0, news = 0;
    for (long n = 0;; n++) {
        fk_devrig_restore(&g_rig, g_snap);
        select_fido();
        if (before != NULL) before();
        fk_flashcut_arm(n);
        const uint8_t st = op();
        const bool was_cut = fk_flashcut_cut();
        restart();
        if (check(st)) {
            news++;
        } else {
            olds++;
            assert_int_not_equal(st, 0);
        }
        if (!was_cut) {
            assert_int_equal(st, 0);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
}

static uint8_t g_id[FK_CC_CRED_ID_MAX], g_id2[FK_CC_CRED_ID_MAX];
static size_t g_id_len, g_id2_len;

static uint8_t make_second(void) { return make_resident(2, g_id2, &g_id2_len); }

/* After a cut resident makeCredential: the first credential works; the
 * store holds it alone, or the second one too, whole (both found by a
 * discoverable getAssertion); and one more credential fits and works. */
static bool check_make(uint8_t st)
{
    (void)st;
    assert_true(usable(g_id, g_id_len));
    const unsigned count = resident_count();
    if (count == 2) {
        unsigned found = 0;
        assert_int_equal(fk_cc_get_token(&g_cc, PIN, PERM_GA, RP), 0);
        assert_int_equal(fk_cc_get_assertion(&g_cc, k_cdh, RP, NULL, 0, true, true, NULL, &found),
                         0);
        assert_int_equal(found, 2);
    } else {
        assert_int_equal(count, 1);
    }
    uint8_t id3[FK_CC_CRED_ID_MAX];
    size_t id3_len;
    assert_int_equal(make_resident(3, id3, &id3_len), 0);
    assert_true(usable(id3, id3_len));
    return count == 2;
}

static void test_make_resident_powercut(void **state)
{
    (void)state;
    assert_int_equal(fk_cc_set_pin(&g_cc, PIN), 0);
    assert_int_equal(make_resident(1, g_id, &g_id_len), 0);
    cut_everywhere(NULL, make_second, check_make);
}

static void cm_token(void) { assert_int_equal(fk_cc_get_token(&g_cc, PIN, PERM_CM, NULL), 0); }

static uint8_t delete_second(void) { return fk_cc_delete_credential(&g_cc, g_id2, g_id2_len); }

/* After a cut deleteCredential: the neighbour works; the deleted one is
 * there and usable, or gone. */
static bool check_delete(uint8_t st)
{
    (void)st;
    assert_true(usable(g_id, g_id_len));
    const unsigned count = resident_count();
    if (count == 2) {
        assert_true(usable(g_id2, g_id2_len));
        return false;
    }
    assert_int_equal(count, 1);
    return true;
}

static void test_delete_powercut(void **state)
{
    (void)state;
    assert_int_equal(fk_cc_set_pin(&g_cc, PIN), 0);
    assert_int_equal(make_resident(1, g_id, &g_id_len), 0);
    assert_int_equal(make_resident(2, g_id2, &g_id2_len), 0);
    cut_everywhere(cm_token, delete_second, check_delete);
}

/* Assertions cut at every flash operation, again and again: every counter
 * value an assertion returned is larger than every value returned before,
 * also across the cuts; a cut assertion returns nothing. */
static void test_counter_never_repeats(void **state)
{
    (void)state;
    uint8_t id[FK_CC_CRED_ID_MAX];
    size_t id_len;
    uint32_t last = 0, c = 0;
    assert_int_equal(fk_cc_make_credential(&g_cc, k_cdh, RP, (const uint8_t *)"u", 1, -8, false,
                                           false, id, &id_len, &last),
                     0);
    unsigned cut_seen = 0;
    for (long n = 0; n < 6; n++) {
        for (int round = 0; round < 3; round++) {
            fk_flashcut_arm(n);
            const uint8_t st = fk_cc_get_assertion(&g_cc, k_cdh, RP, id, id_len, true, false, &c,
                                                   NULL);
            const bool was_cut = fk_flashcut_cut();
            restart();
            if (st == 0) {
                assert_true(c > last);
                last = c;
            } else {
                assert_true(was_cut);
                cut_seen++;
            }
        }
    }
    assert_true(cut_seen >= 1);
    /* Without cuts the counter goes on from above every value seen. */
    assert_int_equal(fk_cc_get_assertion(&g_cc, k_cdh, RP, id, id_len, true, false, &c, NULL), 0);
    assert_true(c > last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_make_resident_powercut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_powercut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_never_repeats, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
