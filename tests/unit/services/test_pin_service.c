/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the PIN service (core/services/pin.h) and the counters it
 * binds to a generation (core/services/counter.h): the real services object
 * over the host port's file-backed flash and OTP, and a test applet in a
 * namespace of its own (the service serves any applet the same way).
 *
 * Power cuts: the flash HAL's program and erase are wrapped at link time
 * (--wrap, see CMakeLists.txt): from a chosen operation on they fail, as a
 * device that lost power would never complete them; the test then starts
 * new services on the same flash file and looks at what is left.
 * fk_pin_verifier_check is wrapped to read the counter at the moment of each
 * comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devrig.h"
#include "flashcut.h"
#include "hal.h"
#include "host_port.h"
#include "seal/seal.h"
#include "services/counter.h"
#include "services/ns.h"
#include "services/pin.h"
#include "services/services.h"
#include "store/space.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)
#define PIN_ID 0x0101u
#define OTHER_ID 0x0102u
#define LIMIT 3u

int __real_fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin,
                                 size_t pin_len, const uint8_t verifier[FK_PIN_VERIFIER_LEN]);
int __wrap_fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin,
                                 size_t pin_len, const uint8_t verifier[FK_PIN_VERIFIER_LEN]);

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};

/* A test applet: only its namespace matters to the services. */
static const fk_applet_t k_applet = {.name = "pin-test", .ns = FK_NS_PIV};
static const fk_pin_ref_t k_ref = {PIN_ID, 6, 8, FK_PIN_DIGITS, 3};
static const fk_pin_ref_t k_other = {OTHER_ID, 4, 63, FK_PIN_PRINTABLE, 4};
static fk_pin_session_t g_session;

/* Tries the counter held when the PIN was last compared (-1: never), looked
 * at (by a second mount of the flash, which must write nothing) only while
 * g_probe is set: a mount during an open batch would roll the batch back. */
static int g_tries_at_compare = -1;
static bool g_probe;

static fk_applet_ctx_t ctx(void) { return fk_services_applet_ctx(&g_dev.svc, &k_applet); }

static uint8_t tries_now(const fk_pin_ref_t *ref)
{
    fk_pin_status_t st;
    const fk_applet_ctx_t c = ctx();
    assert_int_equal(fk_pin_status(&c, ref, &st), FK_PIN_OK);
    return st.tries;
}

int __wrap_fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin,
                                 size_t pin_len, const uint8_t verifier[FK_PIN_VERIFIER_LEN])
{
    /* What the flash holds now: a new services object on the same file. */
    static fk_services_t probe;
    const unsigned long ops = fk_flashcut_ops();
    if (g_probe && fk_services_init(&probe, &fk_product) == FK_SERVICES_OK && id == PIN_ID) {
        assert_int_equal(fk_flashcut_ops(), ops);
        fk_pin_status_t st;
        const fk_applet_ctx_t c = fk_services_applet_ctx(&probe, &k_applet);
        g_tries_at_compare = fk_pin_status(&c, &k_ref, &st) == FK_PIN_OK ? st.tries : -2;
    }
    return __real_fk_pin_verifier_check(sp, id, pin, pin_len, verifier);
}

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    g_probe = false;
    memset(&g_session, 0, sizeof(g_session));
    return fk_devrig_setup(&g_rig, "pinsvc");
}

static int teardown(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    return fk_devrig_teardown(&g_rig);
}

/* Restart the device on the same files (a power cycle). */
static void restart(void)
{
    fk_flashcut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    memset(&g_session, 0, sizeof(g_session));
}

static int check(const fk_pin_ref_t *ref, const char *pin, uint8_t *secret)
{
    const fk_applet_ctx_t c = ctx();
    return fk_pin_check(&c, ref, &g_session, (const uint8_t *)pin, strlen(pin), 0, NULL, secret,
                        NULL);
}

static int set(const fk_pin_ref_t *ref, const char *pin, uint8_t flags, const uint8_t *secret)
{
    const fk_applet_ctx_t c = ctx();
    return fk_pin_set(&c, ref, (const uint8_t *)pin, strlen(pin), LIMIT, flags, secret);
}

static const uint8_t k_secret[FK_PIN_SECRET_LEN] = {
    0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18, 0x29, 0x3A, 0x4B, 0x5C, 0x6D, 0x7E, 0x8F, 0x90,
    0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9A, 0xAB, 0xBC, 0xCD, 0xDE, 0xEF, 0xF0};

static void test_set_and_check(void **state)
{
    (void)state;
    uint8_t secret[FK_PIN_SECRET_LEN];
    fk_pin_status_t st;
    const fk_applet_ctx_t c = ctx();

    assert_int_equal(fk_pin_status(&c, &k_ref, &st), FK_PIN_ENOENT);
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_ENOENT);
    assert_int_equal(set(&k_ref, "123456", 0, k_secret), FK_PIN_OK);
    assert_int_equal(fk_pin_status(&c, &k_ref, &st), FK_PIN_OK);
    assert_int_equal(st.len, 6);
    assert_int_equal(st.limit, LIMIT);
    assert_int_equal(st.tries, LIMIT);

    assert_int_equal(check(&k_ref, "123456", secret), FK_PIN_OK);
    assert_memory_equal(secret, k_secret, sizeof(secret));
    assert_true(fk_pin_verified(&g_session, &k_ref));
    assert_false(fk_pin_verified(&g_session, &k_other));

    /* Wrong: a try spent, the session bit gone, the secret wiped. */
    memset(secret, 0x55, sizeof(secret));
    assert_int_equal(check(&k_ref, "123457", secret), FK_PIN_EWRONG);
    assert_false(fk_pin_verified(&g_session, &k_ref));
    assert_int_equal(tries_now(&k_ref), LIMIT - 1);
    static const uint8_t zero[FK_PIN_SECRET_LEN] = {0};
    assert_memory_equal(secret, zero, sizeof(secret));
    /* Right again: the tries are back. */
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_OK);
    assert_int_equal(tries_now(&k_ref), LIMIT);
    /* The verified state does not survive a power cycle. */
    restart();
    assert_false(fk_pin_verified(&g_session, &k_ref));
    assert_int_equal(check(&k_ref, "123456", secret), FK_PIN_OK);
    assert_memory_equal(secret, k_secret, sizeof(secret));
}

static void test_blocking(void **state)
{
    (void)state;
    fk_pin_status_t st;
    const fk_applet_ctx_t c = ctx();

    assert_int_equal(set(&k_ref, "123456", 0, NULL), FK_PIN_OK);
    assert_int_equal(check(&k_ref, "000000", NULL), FK_PIN_EWRONG);
    assert_int_equal(check(&k_ref, "000000", NULL), FK_PIN_EWRONG);
    /* The try that blocks it says so. */
    assert_int_equal(fk_pin_check(&c, &k_ref, &g_session, (const uint8_t *)"000000", 6, 0, NULL,
                                  NULL, &st),
                     FK_PIN_EBLOCKED);
    assert_int_equal(st.tries, 0);
    /* Blocked: the right PIN is refused and nothing is compared. */
    g_tries_at_compare = -1;
    g_probe = true;
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_EBLOCKED);
    g_probe = false;
    assert_int_equal(g_tries_at_compare, -1);
    /* Another credential gives the tries back. */
    assert_int_equal(fk_pin_reset_tries(&c, &k_ref), FK_PIN_OK);
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_OK);
}

static void test_rules(void **state)
{
    (void)state;
    /* Refused before anything is written or spent. */
    assert_int_equal(set(&k_ref, "12345", 0, NULL), FK_PIN_EFORMAT);
    assert_int_equal(set(&k_ref, "123456789", 0, NULL), FK_PIN_EFORMAT);
    assert_int_equal(set(&k_ref, "12345a", 0, NULL), FK_PIN_EFORMAT);
    assert_int_equal(set(&k_other, "abc", 0, NULL), FK_PIN_EFORMAT);
    assert_int_equal(set(&k_other, "ab\x01" "cd", 0, NULL), FK_PIN_EFORMAT);
    assert_int_equal(set(&k_other, "Alpha-7!", 0, NULL), FK_PIN_OK);
    const fk_applet_ctx_t c = ctx();
    assert_int_equal(fk_pin_set(&c, &k_ref, (const uint8_t *)"123456", 6, 0, 0, NULL),
                     FK_PIN_EFORMAT);
    assert_int_equal(fk_pin_set(&c, &k_ref, (const uint8_t *)"123456", 6, 16, 0, NULL),
                     FK_PIN_EFORMAT);
    assert_int_equal(set(&k_ref, "123456", 0, NULL), FK_PIN_OK);
    const unsigned long ops = fk_flashcut_ops();
    assert_int_equal(check(&k_ref, "12345", NULL), FK_PIN_EFORMAT);
    assert_int_equal(check(&k_ref, "1234567x", NULL), FK_PIN_EFORMAT);
    assert_int_equal(fk_flashcut_ops(), ops);
    assert_int_equal(tries_now(&k_ref), LIMIT);
    assert_int_equal(check(&k_other, "Alpha-7!", NULL), FK_PIN_OK);
}

static void test_prefix(void **state)
{
    (void)state;
    size_t used = 0;
    const fk_applet_ctx_t c = ctx();
    static const uint8_t data[] = "1234567" "98765432";

    assert_int_equal(set(&k_ref, "1234567", 0, NULL), FK_PIN_OK);
    assert_int_equal(fk_pin_check(&c, &k_ref, &g_session, data, sizeof(data) - 1,
                                  FK_PIN_CHECK_PREFIX, &used, NULL, NULL),
                     FK_PIN_OK);
    assert_int_equal(used, 7);
    /* Shorter than the stored PIN: all of it is compared (and wrong). */
    assert_int_equal(fk_pin_check(&c, &k_ref, &g_session, data, 3, FK_PIN_CHECK_PREFIX, &used,
                                  NULL, NULL),
                     FK_PIN_EWRONG);
    assert_int_equal(used, 3);
}

static void test_must_change(void **state)
{
    (void)state;
    fk_pin_status_t st;
    const fk_applet_ctx_t c = ctx();

    assert_int_equal(set(&k_ref, "123456", FK_PIN_F_MUST_CHANGE, NULL), FK_PIN_OK);
    const unsigned long ops = fk_flashcut_ops();
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_EMUSTCHANGE);
    assert_int_equal(check(&k_ref, "999999", NULL), FK_PIN_EMUSTCHANGE);
    assert_int_equal(fk_flashcut_ops(), ops); /* nothing spent */
    assert_int_equal(fk_pin_check(&c, &k_ref, &g_session, (const uint8_t *)"123456", 6,
                                  FK_PIN_CHECK_FOR_CHANGE, NULL, NULL, &st),
                     FK_PIN_OK);
    assert_int_equal(st.flags, FK_PIN_F_MUST_CHANGE);
    assert_int_equal(set(&k_ref, "654321", 0, NULL), FK_PIN_OK);
    assert_int_equal(check(&k_ref, "654321", NULL), FK_PIN_OK);
}

/* A new PIN has a new generation: the old PIN's count never applies to it,
 * and until the new record commits the old PIN keeps its own count. */
static void test_generations(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();

    assert_int_equal(set(&k_ref, "123456", 0, NULL), FK_PIN_OK);
    assert_int_equal(check(&k_ref, "000000", NULL), FK_PIN_EWRONG);
    assert_int_equal(check(&k_ref, "000000", NULL), FK_PIN_EWRONG);
    assert_int_equal(tries_now(&k_ref), 1);

    /* A new PIN staged in a batch that is abandoned: the old one is still
     * in force with its own count. */
    assert_int_equal(fk_space_batch_begin(&c.space), FK_STORE_OK);
    assert_int_equal(set(&k_ref, "111111", 0, NULL), FK_PIN_OK);
    fk_space_batch_abort(&c.space);
    assert_int_equal(tries_now(&k_ref), 1);
    assert_int_equal(check(&k_ref, "111111", NULL), FK_PIN_EBLOCKED);
    assert_int_equal(tries_now(&k_ref), 0);
    assert_int_equal(fk_pin_reset_tries(&c, &k_ref), FK_PIN_OK);
    assert_int_equal(check(&k_ref, "000000", NULL), FK_PIN_EWRONG);
    assert_int_equal(tries_now(&k_ref), 2);

    /* Committed: the new PIN has full tries, the old PIN is gone. */
    assert_int_equal(fk_space_batch_begin(&c.space), FK_STORE_OK);
    assert_int_equal(set(&k_ref, "111111", 0, NULL), FK_PIN_OK);
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_OK); /* reads see the old one */
    assert_int_equal(fk_space_batch_commit(&c.space), FK_STORE_OK);
    assert_int_equal(tries_now(&k_ref), LIMIT);
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_EWRONG);
    assert_int_equal(check(&k_ref, "111111", NULL), FK_PIN_OK);
}

/* Fail closed: a missing counter blocks the PIN; a record that does not open
 * (damaged, or copied to another id or namespace) makes it unusable. */
static void test_fail_closed(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t raw[256];
    uint32_t size = 0;

    assert_int_equal(set(&k_ref, "123456", 0, NULL), FK_PIN_OK);
    assert_int_equal(fk_space_delete(&c.counters, PIN_ID), FK_STORE_OK);
    assert_int_equal(tries_now(&k_ref), 0);
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_EBLOCKED);

    /* The record copied under another id, and into another namespace. */
    assert_int_equal(fk_space_size(&c.space, PIN_ID, &size), FK_STORE_OK);
    assert_true(size <= sizeof(raw));
    assert_int_equal(fk_space_read(&c.space, PIN_ID, 0, raw, size), FK_STORE_OK);
    assert_int_equal(fk_space_write(&c.space, OTHER_ID, raw, size), FK_STORE_OK);
    const fk_pin_ref_t moved = {OTHER_ID, 6, 8, FK_PIN_DIGITS, 5};
    assert_int_equal(fk_pin_check(&c, &moved, &g_session, (const uint8_t *)"123456", 6, 0, NULL,
                                  NULL, NULL),
                     FK_PIN_EDAMAGED);
    const fk_space_t elsewhere = {c.space.store, FK_NS_OATH};
    assert_int_equal(fk_space_write(&elsewhere, PIN_ID, raw, size), FK_STORE_OK);
    const fk_applet_t other_applet = {.name = "other", .ns = FK_NS_OATH};
    const fk_applet_ctx_t c2 = fk_services_applet_ctx(&g_dev.svc, &other_applet);
    assert_int_equal(fk_pin_check(&c2, &k_ref, &g_session, (const uint8_t *)"123456", 6, 0, NULL,
                                  NULL, NULL),
                     FK_PIN_EDAMAGED);

    /* One flipped bit in the sealed record. */
    raw[size / 2] ^= 0x10;
    assert_int_equal(fk_space_write(&c.space, PIN_ID, raw, size), FK_STORE_OK);
    assert_int_equal(check(&k_ref, "123456", NULL), FK_PIN_EDAMAGED);
}

/* Power cuts at every flash operation of a wrong and a right check: no
 * result leaves before the spent try is on flash, and after the restart the
 * count is the old one (nothing compared) or one lower (compared), or full
 * again once a right PIN restored it. */
static void cut_sweep(const char *pin, bool right)
{
    for (long n = 0;; n++) {
        assert_int_equal(set(&k_ref, "123456", 0, k_secret), FK_PIN_OK);
        assert_int_equal(tries_now(&k_ref), LIMIT);
        g_tries_at_compare = -1;
        fk_flashcut_arm(n);
        g_probe = true;
        const int rc = check(&k_ref, pin, NULL);
        g_probe = false;
        const bool cut = fk_flashcut_cut();
        fk_flashcut_disarm();
        if (rc == FK_PIN_OK || rc == FK_PIN_EWRONG) {
            /* Compared: the try was on flash first. */
            assert_int_equal(g_tries_at_compare, LIMIT - 1);
        }
        restart();
        const uint8_t t = tries_now(&k_ref);
        if (rc == FK_PIN_EWRONG) assert_int_equal(t, LIMIT - 1);
        if (rc == FK_PIN_OK) assert_int_equal(t, LIMIT);
        assert_true(t == LIMIT || t == LIMIT - 1);
        if (right && t == LIMIT - 1) assert_int_not_equal(rc, FK_PIN_OK);
        /* The PIN still works and opens the secret. */
        uint8_t secret[FK_PIN_SECRET_LEN];
        assert_int_equal(check(&k_ref, "123456", secret), FK_PIN_OK);
        assert_memory_equal(secret, k_secret, sizeof(secret));
        if (!cut) break;
    }
}

static void test_cut_wrong(void **state)
{
    (void)state;
    cut_sweep("654321", false);
}

static void test_cut_right(void **state)
{
    (void)state;
    cut_sweep("123456", true);
}

/* Power cuts at every flash operation of a PIN change: afterwards exactly
 * the old or exactly the new PIN works, with full tries, and opens the same
 * secret. */
static void test_cut_set(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        assert_int_equal(set(&k_ref, "123456", 0, k_secret), FK_PIN_OK);
        fk_flashcut_arm(n);
        (void)set(&k_ref, "765432", 0, k_secret);
        const bool cut = fk_flashcut_cut();
        restart();
        uint8_t secret[FK_PIN_SECRET_LEN];
        const int old_rc = check(&k_ref, "123456", secret);
        if (old_rc == FK_PIN_OK) {
            assert_memory_equal(secret, k_secret, sizeof(secret));
        } else {
            assert_int_equal(old_rc, FK_PIN_EWRONG);
            assert_int_equal(check(&k_ref, "765432", secret), FK_PIN_OK);
            assert_memory_equal(secret, k_secret, sizeof(secret));
        }
        assert_int_equal(tries_now(&k_ref), LIMIT);
        if (!cut) break;
    }
}

/* A lost seed copy whose repair meets a flash error: the device still
 * starts with its stores mounted and its PINs working, and the next start
 * repairs. (The PINs here are sealed under the device root.) */
static void test_seed_repair_flash_error(void **state)
{
    (void)state;
    uint8_t secret[FK_PIN_SECRET_LEN];
    uint32_t size = 0;
    assert_int_equal(set(&k_ref, "123456", 0, k_secret), FK_PIN_OK);
    assert_int_equal(fk_store_delete(&g_dev.svc.store,
                                     FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED_COPY)),
                     FK_STORE_OK);
    fk_devrig_stop(&g_rig);
    fk_flashcut_arm(0);
    assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
    assert_true(fk_flashcut_cut());
    fk_flashcut_disarm();
    fk_card_power_on(&g_dev.card);
    memset(&g_session, 0, sizeof(g_session));
    assert_true(g_dev.svc.seal_info.seed_damaged);
    assert_false(g_dev.svc.seal_info.seed_repaired);
    assert_int_equal(g_dev.svc.seal_rc, FK_SEAL_OK);
    /* Mounted and working: the PIN opens its secret from the intact copy. */
    assert_int_equal(check(&k_ref, "123456", secret), FK_PIN_OK);
    assert_memory_equal(secret, k_secret, sizeof(secret));
    restart();
    assert_true(g_dev.svc.seal_info.seed_damaged);
    assert_true(g_dev.svc.seal_info.seed_repaired);
    assert_int_equal(fk_store_size(&g_dev.svc.store,
                                   FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED_COPY), &size),
                     FK_STORE_OK);
    restart();
    assert_false(g_dev.svc.seal_info.seed_damaged);
    assert_int_equal(check(&k_ref, "123456", secret), FK_PIN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_must_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_wrong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_right, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_repair_flash_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
