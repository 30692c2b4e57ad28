/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the key-object service (core/services/keyobj.h): the real
 * services object over the host port's file-backed flash and OTP, a test
 * applet in a namespace of its own. Every kind of key, the checks a put
 * makes before it writes, the KEK, the use counter bound to the key's
 * generation, batches, and records moved where they do not belong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/pk.h"
#include "devrig.h"
#include "host_port.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "services/services.h"
#include "store/space.h"

#define FLASH_SIZE (512u * 1024u)
#define KEY_ID 0x0201u
#define OTHER_ID 0x0202u

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};
static const fk_applet_t k_applet = {.name = "key-test", .ns = FK_NS_OPENPGP};
static const uint8_t k_kek[FK_KEY_KEK_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                              17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                                              30, 31, 32};
static uint8_t g_blob[FK_PK_BLOB_MAX];
static size_t g_blob_len;

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "keyobj");
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

static fk_applet_ctx_t ctx(void) { return fk_services_applet_ctx(&g_dev.svc, &k_applet); }

static fk_key_policy_t policy(uint8_t kind, uint16_t size)
{
    fk_key_policy_t p;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.size = size;
    p.domain = FK_KEY_NO_DOMAIN;
    return p;
}

static void ec_key(fk_curve_t curve)
{
    assert_int_equal(fk_pk_ec_generate(curve, g_blob, sizeof(g_blob), &g_blob_len), FK_CRYPTO_OK);
}

/* Open key id with kek, compare its material and policy, close it. */
static void expect_key(uint16_t id, const uint8_t *kek, const fk_key_policy_t *pol,
                       const uint8_t *material, size_t len)
{
    const fk_applet_ctx_t c = ctx();
    fk_key_t key;
    assert_int_equal(fk_key_open(&c, id, kek, &key), FK_KEY_OK);
    assert_int_equal(key.len, len);
    assert_memory_equal(key.material, material, len);
    assert_int_equal(key.pol.kind, pol->kind);
    assert_int_equal(key.pol.size, pol->size);
    assert_int_equal(key.pol.flags, pol->flags);
    assert_int_equal(key.pol.domain, pol->domain);
    assert_int_equal(key.pol.n_algs, pol->n_algs);
    assert_memory_equal(key.pol.algs, pol->algs, pol->n_algs);
    fk_key_close(&key);
}

static void test_kinds(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    static const struct {
        uint8_t kind;
        uint16_t size;
        size_t len;
    } raw[] = {
        {FK_KEY_AES, 128, 16},  {FK_KEY_AES, 192, 24},      {FK_KEY_AES, 256, 32},
        {FK_KEY_AES, 512, 64},  {FK_KEY_HMAC, 1, 1},        {FK_KEY_HMAC, 64, 64},
        {FK_KEY_HMAC, 128, 128}, {FK_KEY_EDWARDS, FK_CURVE_X25519, 64},
        {FK_KEY_EDWARDS, FK_CURVE_X448, 114},
    };
    uint8_t m[128];
    for (size_t i = 0; i < sizeof(m); i++) m[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        fk_key_policy_t p = policy(raw[i].kind, raw[i].size);
        p.flags = (uint16_t)(0x100 + i);
        assert_int_equal(fk_key_put(&c, (uint16_t)(KEY_ID + i), &p, m, raw[i].len, NULL), FK_KEY_OK);
        expect_key((uint16_t)(KEY_ID + i), NULL, &p, m, raw[i].len);
    }
    static const fk_curve_t curves[] = {FK_CURVE_SECP256R1, FK_CURVE_BP384R1, FK_CURVE_SECP256K1,
                                        FK_CURVE_X25519, FK_CURVE_X448};
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        ec_key(curves[i]);
        const fk_key_policy_t p = policy(fk_curve_info(curves[i])->montgomery ? FK_KEY_MONT : FK_KEY_EC,
                                         (uint16_t)curves[i]);
        assert_int_equal(fk_key_put(&c, OTHER_ID, &p, g_blob, g_blob_len, k_kek), FK_KEY_OK);
        expect_key(OTHER_ID, k_kek, &p, g_blob, g_blob_len);
    }
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, g_blob, sizeof(g_blob), &g_blob_len),
                     FK_CRYPTO_OK);
    const fk_key_policy_t rsa = policy(FK_KEY_RSA, 1024);
    assert_int_equal(fk_key_put(&c, OTHER_ID, &rsa, g_blob, g_blob_len, k_kek), FK_KEY_OK);
    expect_key(OTHER_ID, k_kek, &rsa, g_blob, g_blob_len);
}

/* A policy or material that does not fit its kind is refused before
 * anything is written. */
static void test_put_checks(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t m[64] = {0};
    fk_store_stats_t before, after;

    ec_key(FK_CURVE_SECP256R1);
    fk_store_stats(&g_dev.svc.store, &before);
    fk_key_policy_t p = policy(FK_KEY_AES, 128);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, m, 24, NULL), FK_KEY_EINVAL);
    p.size = 100;
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, m, 16, NULL), FK_KEY_EINVAL);
    p = policy(FK_KEY_EC, FK_CURVE_SECP384R1); /* the blob is P-256 */
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, NULL), FK_KEY_EINVAL);
    p = policy(FK_KEY_RSA, 2048);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, NULL), FK_KEY_EINVAL);
    p = policy(FK_KEY_EC, FK_CURVE_SECP256R1);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len - 1, NULL), FK_KEY_EINVAL);
    p.n_algs = FK_KEY_ALGS_MAX + 1;
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, NULL), FK_KEY_EINVAL);
    p = policy(FK_KEY_EDWARDS, FK_CURVE_SECP256R1);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, m, 64, NULL), FK_KEY_EINVAL);
    p = policy(FK_KEY_HMAC, 0);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, m, 0, NULL), FK_KEY_EINVAL);
    p = policy(9, 1);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, m, 1, NULL), FK_KEY_EINVAL);
    fk_store_stats(&g_dev.svc.store, &after);
    assert_int_equal(after.files, before.files);
    assert_int_equal(after.used, before.used);
}

static void test_kek(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t other[FK_KEY_KEK_LEN];
    fk_key_t key;
    fk_key_policy_t pol;

    ec_key(FK_CURVE_SECP256R1);
    fk_key_policy_t p = policy(FK_KEY_EC, FK_CURVE_SECP256R1);
    p.n_algs = 2;
    p.algs[0] = 0x70;
    p.algs[1] = 0x80;
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, k_kek), FK_KEY_OK);
    memcpy(other, k_kek, sizeof(other));
    other[0] ^= 1;
    assert_int_equal(fk_key_open(&c, KEY_ID, other, &key), FK_KEY_EDAMAGED);
    assert_int_equal(fk_key_open(&c, KEY_ID, NULL, &key), FK_KEY_EDAMAGED);
    assert_int_equal(fk_key_open(&c, 0x0999, k_kek, &key), FK_KEY_ENOENT);
    /* The policy reads without the KEK, and without keeping the material. */
    assert_int_equal(fk_key_info(&c, KEY_ID, &pol, NULL), FK_KEY_OK);
    assert_int_equal(pol.n_algs, 2);
    assert_int_equal(fk_key_open(&c, KEY_ID, k_kek, &key), FK_KEY_OK);
    assert_true(fk_key_allows(&key, 0x70));
    assert_true(fk_key_allows(&key, 0x80));
    assert_false(fk_key_allows(&key, 0x71));
    fk_key_close(&key);
    /* A key stored in the clear does not open with a KEK. */
    assert_int_equal(fk_key_put(&c, OTHER_ID, &p, g_blob, g_blob_len, NULL), FK_KEY_OK);
    assert_int_equal(fk_key_open(&c, OTHER_ID, k_kek, &key), FK_KEY_EDAMAGED);
}

/* The record moved to another id or into another applet's namespace does
 * not open. */
static void test_moved(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t raw[512];
    uint32_t size = 0;
    fk_key_t key;

    ec_key(FK_CURVE_SECP256R1);
    const fk_key_policy_t p = policy(FK_KEY_EC, FK_CURVE_SECP256R1);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, NULL), FK_KEY_OK);
    assert_int_equal(fk_space_size(&c.space, KEY_ID, &size), FK_STORE_OK);
    assert_true(size <= sizeof(raw));
    assert_int_equal(fk_space_read(&c.space, KEY_ID, 0, raw, size), FK_STORE_OK);
    assert_int_equal(fk_space_write(&c.space, OTHER_ID, raw, size), FK_STORE_OK);
    assert_int_equal(fk_key_open(&c, OTHER_ID, NULL, &key), FK_KEY_EDAMAGED);
    const fk_applet_t other = {.name = "other", .ns = FK_NS_OATH};
    const fk_applet_ctx_t c2 = fk_services_applet_ctx(&g_dev.svc, &other);
    assert_int_equal(fk_space_write(&c2.space, KEY_ID, raw, size), FK_STORE_OK);
    assert_int_equal(fk_key_open(&c2, KEY_ID, NULL, &key), FK_KEY_EDAMAGED);
    assert_int_equal(fk_key_open(&c, KEY_ID, NULL, &key), FK_KEY_OK);
    fk_key_close(&key);
}

static uint32_t uses(uint16_t id)
{
    const fk_applet_ctx_t c = ctx();
    fk_key_policy_t pol;
    uint32_t left = 0xFFFFFFFFu;
    assert_int_equal(fk_key_info(&c, id, &pol, &left), FK_KEY_OK);
    return left;
}

/* The use counter: spent on flash, exhausted, bound to the key's generation. */
static void test_counter(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    fk_key_t key;

    ec_key(FK_CURVE_SECP256R1);
    fk_key_policy_t p = policy(FK_KEY_EC, FK_CURVE_SECP256R1);
    p.has_counter = true;
    p.counter = 2;
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, k_kek), FK_KEY_OK);
    assert_int_equal(uses(KEY_ID), 2);
    assert_int_equal(fk_key_open(&c, KEY_ID, k_kek, &key), FK_KEY_OK);
    assert_int_equal(key.uses_left, 2);
    assert_int_equal(fk_key_spend(&c, &key), FK_KEY_OK);
    fk_key_close(&key);
    /* On flash: a restart keeps the count. */
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    assert_int_equal(uses(KEY_ID), 1);
    assert_int_equal(fk_key_open(&c, KEY_ID, k_kek, &key), FK_KEY_OK);
    assert_int_equal(fk_key_spend(&c, &key), FK_KEY_OK);
    assert_int_equal(fk_key_spend(&c, &key), FK_KEY_EUSED);
    fk_key_close(&key);
    assert_int_equal(uses(KEY_ID), 0);

    /* A new key under the id, staged and abandoned: the old key keeps its
     * own (used up) count; committed: the new key has its own. */
    p.counter = 5;
    assert_int_equal(fk_space_batch_begin(&c.space), FK_STORE_OK);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, k_kek), FK_KEY_OK);
    fk_space_batch_abort(&c.space);
    assert_int_equal(uses(KEY_ID), 0);
    assert_int_equal(fk_space_batch_begin(&c.space), FK_STORE_OK);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, k_kek), FK_KEY_OK);
    assert_int_equal(uses(KEY_ID), 0); /* not yet */
    assert_int_equal(fk_space_batch_commit(&c.space), FK_STORE_OK);
    assert_int_equal(uses(KEY_ID), 5);
    /* A counter record put back from the old key never applies. */
    assert_int_equal(fk_key_delete(&c, KEY_ID), FK_KEY_OK);
    assert_int_equal(fk_key_put(&c, KEY_ID, &p, g_blob, g_blob_len, k_kek), FK_KEY_OK);
    assert_int_equal(uses(KEY_ID), 5);
    /* Missing count: used up (fail closed). */
    assert_int_equal(fk_space_delete(&c.counters, KEY_ID), FK_STORE_OK);
    assert_int_equal(uses(KEY_ID), 0);
    /* A key without counter has none to spend. */
    const fk_key_policy_t free_key = policy(FK_KEY_EC, FK_CURVE_SECP256R1);
    assert_int_equal(fk_key_put(&c, OTHER_ID, &free_key, g_blob, g_blob_len, NULL), FK_KEY_OK);
    assert_int_equal(fk_key_open(&c, OTHER_ID, NULL, &key), FK_KEY_OK);
    assert_int_equal(fk_key_spend(&c, &key), FK_KEY_OK);
    assert_int_equal(fk_key_spend(&c, &key), FK_KEY_OK);
    fk_key_close(&key);
    assert_int_equal(fk_key_delete(&c, OTHER_ID), FK_KEY_OK);
    assert_int_equal(fk_key_delete(&c, OTHER_ID), FK_KEY_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
