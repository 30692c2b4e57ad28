/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_batch.c - format 2 of the flash store over the simulated NOR
 * flash: namespaced keys, range deletes, batches (staging, order, reads
 * during a batch, errors that keep the batch open, a full store and a full
 * index in the middle of a batch, abort, power cuts at every flash
 * operation of a batch) and the refusal of a version-1 region.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_flash.h"
#include "store/store.h"
#include "util.h"

#define SECTOR 4096u
#define PAGE 256u
#define KIB 1024u
#define REGION (256u * KIB)
#define REC_HDR 32u
#define REC_NS_BYTE 3u   /* docs/store.md: record header byte 3 */
#define SECT_VERSION 4u  /* docs/store.md: sector header byte 4 */
#define SECT_CRC_A 16u
#define PIECE 16u
#define NS_A 0x01u
#define NS_B 0x02u
#define NS_C 0x03u

static fk_store_t g_s;
static uint8_t g_a[FK_STORE_MAX_RECORD];
static uint8_t g_b[FK_STORE_MAX_RECORD];
static uint8_t g_back[FK_STORE_MAX_RECORD];

static void pattern(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    st = sim_rng_next(&st);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)sim_rng_next(&st);
}

/* Whether any 16-byte piece of needle (at a multiple of 16) is in the flash. */
static bool flash_has_piece(const uint8_t *needle, size_t n)
{
    for (size_t off = 0; off + PIECE <= n; off += PIECE)
        if (memmem(sim_flash_data(), sim_flash_size(), needle + off, PIECE) != NULL) return true;
    return false;
}

static void expect_record(const fk_store_t *s, fk_store_key_t key, const uint8_t *data,
                          uint32_t len)
{
    uint32_t size = 0xFFFFFFFFu;
    assert_int_equal(fk_store_size(s, key, &size), FK_STORE_OK);
    assert_int_equal(size, len);
    assert_int_equal(fk_store_read(s, key, 0, g_back, len), FK_STORE_OK);
    if (len > 0u) assert_memory_equal(g_back, data, len);
}

static void expect_absent(const fk_store_t *s, fk_store_key_t key)
{
    uint32_t size;
    assert_int_equal(fk_store_size(s, key, &size), FK_STORE_ENOENT);
}

/* Content of key k in these tests: its own pattern of len bytes. */
static void put(fk_store_key_t key, uint32_t len, uint64_t seed)
{
    pattern(g_a, len, seed);
    assert_int_equal(fk_store_write(&g_s, key, g_a, len), FK_STORE_OK);
}

static void expect_put(fk_store_key_t key, uint32_t len, uint64_t seed)
{
    pattern(g_a, len, seed);
    expect_record(&g_s, key, g_a, len);
}

static uint32_t count_keys(const fk_store_t *s)
{
    fk_store_key_t key, from = 0;
    uint32_t n = 0;
    while (fk_store_first(s, from, &key) == FK_STORE_OK) {
        n++;
        from = key + 1u;
    }
    return n;
}

static int setup(void **state)
{
    (void)state;
    if (sim_flash_init(REGION, SECTOR, PAGE) != 0) return -1;
    return fk_store_mount(&g_s, 0, REGION) == FK_STORE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sim_flash_deinit();
    return 0;
}

/* ---------------------------------------------------------------------------
 * Keys.
 * ------------------------------------------------------------------------- */

static void test_namespaces_are_apart(void **state)
{
    (void)state;
    const fk_store_key_t a5 = FK_STORE_KEY(NS_A, 5), b5 = FK_STORE_KEY(NS_B, 5);
    put(a5, 40, 1);
    put(b5, 70, 2);
    expect_put(a5, 40, 1);
    expect_put(b5, 70, 2);
    expect_absent(&g_s, 5); /* namespace 0 */
    assert_int_equal(fk_store_delete(&g_s, a5), FK_STORE_OK);
    expect_absent(&g_s, a5);
    expect_put(b5, 70, 2);

    /* The namespace is in the record header (byte 3). */
    pattern(g_a, 70, 2);
    const uint8_t *p = memmem(sim_flash_data(), sim_flash_size(), g_a, 70);
    assert_non_null(p);
    assert_int_equal(p[-(int)REC_HDR + (int)REC_NS_BYTE], NS_B);

    /* Id 0xFFFF is a valid id, in any namespace up to 0xFE. */
    put(0xFFFFu, 3, 3);
    put(FK_STORE_KEY_LAST, 4, 4);
    put(FK_STORE_KEY(0, 0), 5, 5);
    expect_put(0xFFFFu, 3, 3);
    expect_put(FK_STORE_KEY_LAST, 4, 4);
    assert_int_equal(fk_store_patch(&g_s, FK_STORE_KEY_LAST, 4, "z", 1, false), FK_STORE_OK);
    uint32_t size;
    assert_int_equal(fk_store_size(&g_s, FK_STORE_KEY_LAST, &size), FK_STORE_OK);
    assert_int_equal(size, 5);

    /* Namespace 0xFF and anything above is no key. */
    const fk_store_key_t bad[] = {FK_STORE_KEY_LAST + 1u, FK_STORE_KEY(0xFF, 0), 0x01000000u,
                                  0xFFFFFFFFu};
    for (size_t i = 0; i < FK_ARRAY_SIZE(bad); i++) {
        fk_store_txn_t t;
        assert_int_equal(fk_store_write(&g_s, bad[i], g_a, 1), FK_STORE_EINVAL);
        assert_int_equal(fk_store_size(&g_s, bad[i], &size), FK_STORE_EINVAL);
        assert_int_equal(fk_store_read(&g_s, bad[i], 0, g_back, 0), FK_STORE_EINVAL);
        assert_int_equal(fk_store_patch(&g_s, bad[i], 0, g_a, 1, false), FK_STORE_EINVAL);
        assert_int_equal(fk_store_delete(&g_s, bad[i]), FK_STORE_EINVAL);
        assert_int_equal(fk_store_begin(&g_s, &t, bad[i], 1), FK_STORE_EINVAL);
    }

    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    expect_put(b5, 70, 2);
    expect_put(0xFFFFu, 3, 3);
    expect_absent(&g_s, a5);
    assert_int_equal(count_keys(&g_s), 4);
}

static void test_first_across_namespaces(void **state)
{
    (void)state;
    const fk_store_key_t keys[] = {FK_STORE_KEY(NS_C, 0),      FK_STORE_KEY(NS_A, 0xFFFF),
                                   FK_STORE_KEY(0, 7),          FK_STORE_KEY(NS_A, 2),
                                   FK_STORE_KEY(NS_C, 0x8000), FK_STORE_KEY(0xFE, 0xFFFF)};
    for (size_t i = 0; i < FK_ARRAY_SIZE(keys); i++) put(keys[i], 8, i);
    const fk_store_key_t sorted[] = {FK_STORE_KEY(0, 7), FK_STORE_KEY(NS_A, 2),
                                     FK_STORE_KEY(NS_A, 0xFFFF), FK_STORE_KEY(NS_C, 0),
                                     FK_STORE_KEY(NS_C, 0x8000), FK_STORE_KEY(0xFE, 0xFFFF)};
    fk_store_key_t key, from = 0;
    for (size_t i = 0; i < FK_ARRAY_SIZE(sorted); i++) {
        assert_int_equal(fk_store_first(&g_s, from, &key), FK_STORE_OK);
        assert_int_equal(key, sorted[i]);
        from = key + 1u;
    }
    assert_int_equal(fk_store_first(&g_s, from, &key), FK_STORE_ENOENT);

    /* From the start of a namespace, from inside one, across an empty one. */
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY(NS_A, 0), &key), FK_STORE_OK);
    assert_int_equal(key, FK_STORE_KEY(NS_A, 2));
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY(NS_A, 3), &key), FK_STORE_OK);
    assert_int_equal(key, FK_STORE_KEY(NS_A, 0xFFFF));
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY(NS_B, 0), &key), FK_STORE_OK);
    assert_int_equal(key, FK_STORE_KEY(NS_C, 0));
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY_LAST, &key), FK_STORE_OK);
    assert_int_equal(key, FK_STORE_KEY_LAST);
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY_LAST + 1u, &key), FK_STORE_ENOENT);
    assert_int_equal(fk_store_first(&g_s, 0, NULL), FK_STORE_EINVAL);
}

/* ---------------------------------------------------------------------------
 * Range deletes.
 * ------------------------------------------------------------------------- */

static void test_range_delete(void **state)
{
    (void)state;
    for (uint16_t id = 0; id < 10; id++) put(FK_STORE_KEY(NS_A, id * 1000u), 300, 100u + id);
    for (uint16_t id = 0; id < 5; id++) put(FK_STORE_KEY(NS_B, id), 50, 200u + id);
    put(FK_STORE_KEY(0, 0xFFFF), 20, 300);
    put(FK_STORE_KEY(NS_C, 0), 20, 301);

    /* A whole namespace. */
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_A, 0), FK_STORE_KEY(NS_A, 0xFFFF)),
                     FK_STORE_OK);
    for (uint16_t id = 0; id < 10; id++) {
        expect_absent(&g_s, FK_STORE_KEY(NS_A, id * 1000u));
        pattern(g_a, 300, 100u + id);
        assert_false(flash_has_piece(g_a, 300)); /* destroyed, not only hidden */
    }
    for (uint16_t id = 0; id < 5; id++) expect_put(FK_STORE_KEY(NS_B, id), 50, 200u + id);
    expect_put(FK_STORE_KEY(0, 0xFFFF), 20, 300);
    expect_put(FK_STORE_KEY(NS_C, 0), 20, 301);

    /* Nothing there: OK, and nothing written. */
    const uint64_t ops = sim_flash_op_count();
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_A, 0), FK_STORE_KEY(NS_A, 0xFFFF)),
                     FK_STORE_OK);
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_B, 5), FK_STORE_KEY(NS_B, 9)),
                     FK_STORE_OK);
    assert_int_equal(sim_flash_op_count(), ops);

    /* The gaps between the records a command keeps: B1 and B3 stay. */
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_B, 0), FK_STORE_KEY(NS_B, 0)),
                     FK_STORE_OK);
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_B, 2), FK_STORE_KEY(NS_B, 2)),
                     FK_STORE_OK);
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_B, 4), FK_STORE_KEY(NS_B, 0xFFFF)),
                     FK_STORE_OK);
    expect_put(FK_STORE_KEY(NS_B, 1), 50, 201);
    expect_put(FK_STORE_KEY(NS_B, 3), 50, 203);
    assert_int_equal(count_keys(&g_s), 4);

    /* Spanning namespaces, bounds included. */
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(0, 0xFFFF), FK_STORE_KEY(NS_B, 1)),
                     FK_STORE_OK);
    expect_absent(&g_s, FK_STORE_KEY(0, 0xFFFF));
    expect_absent(&g_s, FK_STORE_KEY(NS_B, 1));
    expect_put(FK_STORE_KEY(NS_B, 3), 50, 203);

    /* Bad arguments. */
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_B, 4), FK_STORE_KEY(NS_B, 3)),
                     FK_STORE_EINVAL);
    assert_int_equal(fk_store_delete_range(&g_s, 0, FK_STORE_KEY_LAST + 1u), FK_STORE_EINVAL);

    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    expect_put(FK_STORE_KEY(NS_B, 3), 50, 203);
    expect_put(FK_STORE_KEY(NS_C, 0), 20, 301);
    assert_int_equal(count_keys(&g_s), 2);

    /* Everything. */
    assert_int_equal(fk_store_delete_range(&g_s, 0, FK_STORE_KEY_LAST), FK_STORE_OK);
    assert_int_equal(count_keys(&g_s), 0);
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    assert_int_equal(count_keys(&g_s), 0);
}

/* ---------------------------------------------------------------------------
 * Batches.
 * ------------------------------------------------------------------------- */

static void test_batch_commit_and_reads_during(void **state)
{
    (void)state;
    const fk_store_key_t k1 = FK_STORE_KEY(NS_A, 1), k2 = FK_STORE_KEY(NS_A, 2),
                         k3 = FK_STORE_KEY(NS_A, 3), k4 = FK_STORE_KEY(NS_A, 4),
                         big = FK_STORE_KEY(NS_B, 1), b2 = FK_STORE_KEY(NS_B, 2);
    put(k1, 100, 1);
    put(k2, 200, 2);
    put(k3, 300, 3);
    put(b2, 10, 4);
    fk_store_stats_t before, during;
    fk_store_stats(&g_s, &before);

    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    pattern(g_a, 150, 11);
    assert_int_equal(fk_store_write(&g_s, k1, g_a, 150), FK_STORE_OK);
    assert_int_equal(fk_store_patch(&g_s, k2, 10, "patched", 7, false), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, k3), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, k4, "new", 3), FK_STORE_OK);
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_B, 0), FK_STORE_KEY(NS_B, 9)),
                     FK_STORE_OK);
    fk_store_txn_t t;
    const uint32_t big_len = 20u * KIB;
    pattern(g_b, big_len, 12);
    assert_int_equal(fk_store_begin(&g_s, &t, big, big_len), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, g_b, 7000), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, g_b + 7000, big_len - 7000u), FK_STORE_OK);
    assert_int_equal(fk_store_commit(&g_s, &t), FK_STORE_OK);

    /* Reads, first and the stats still see the committed state. */
    expect_put(k1, 100, 1);
    expect_put(k2, 200, 2);
    expect_put(k3, 300, 3);
    expect_put(b2, 10, 4);
    expect_absent(&g_s, k4);
    expect_absent(&g_s, big);
    assert_int_equal(count_keys(&g_s), 4);
    fk_store_stats(&g_s, &during);
    assert_int_equal(during.files, before.files);
    assert_int_equal(during.used, before.used);
    assert_int_equal(during.free, before.free);

    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    uint8_t k2v[200];
    pattern(k2v, 200, 2);
    memcpy(k2v + 10, "patched", 7);
    for (int pass = 0; pass < 2; pass++) {
        pattern(g_a, 150, 11);
        expect_record(&g_s, k1, g_a, 150);
        expect_record(&g_s, k2, k2v, 200);
        expect_absent(&g_s, k3);
        expect_record(&g_s, k4, (const uint8_t *)"new", 3);
        expect_absent(&g_s, b2);
        expect_record(&g_s, big, g_b, big_len);
        assert_int_equal(count_keys(&g_s), 4);
        assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    }
    /* The replaced and deleted versions are gone from the flash. */
    pattern(g_a, 100, 1);
    assert_false(flash_has_piece(g_a, 100));
    pattern(g_a, 300, 3);
    assert_false(flash_has_piece(g_a, 300));
}

static void test_batch_order(void **state)
{
    (void)state;
    const fk_store_key_t a = FK_STORE_KEY(NS_A, 1), b = FK_STORE_KEY(NS_A, 2),
                         c = FK_STORE_KEY(NS_A, 3), d = FK_STORE_KEY(NS_A, 4),
                         e = FK_STORE_KEY(NS_C, 5);
    put(b, 64, 2);
    put(d, 64, 4);
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    /* write then delete: absent */
    assert_int_equal(fk_store_write(&g_s, a, "aa", 2), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, a), FK_STORE_OK);
    /* delete then write: present */
    assert_int_equal(fk_store_delete(&g_s, b), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, b), FK_STORE_ENOENT); /* already staged away */
    assert_int_equal(fk_store_write(&g_s, b, "bbb", 3), FK_STORE_OK);
    /* write then patch: the patch applies to the staged version */
    assert_int_equal(fk_store_write(&g_s, c, "ccccc", 5), FK_STORE_OK);
    assert_int_equal(fk_store_patch(&g_s, c, 1, "XY", 2, false), FK_STORE_OK);
    assert_int_equal(fk_store_patch(&g_s, c, 6, "Z", 1, false), FK_STORE_EINVAL); /* past end */
    /* range over d, then d written again: present with the new bytes */
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_A, 4), FK_STORE_KEY(NS_A, 9)),
                     FK_STORE_OK);
    assert_int_equal(fk_store_patch(&g_s, d, 0, "dd", 2, false), FK_STORE_OK); /* empty base */
    /* a write, then a range over it: absent */
    assert_int_equal(fk_store_write(&g_s, e, "e", 1), FK_STORE_OK);
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_C, 0), FK_STORE_KEY(NS_C, 9)),
                     FK_STORE_OK);
    /* a range over nothing (in the staged view) stages nothing */
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_C, 0), FK_STORE_KEY(NS_C, 9)),
                     FK_STORE_OK);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);

    for (int pass = 0; pass < 2; pass++) {
        expect_absent(&g_s, a);
        expect_record(&g_s, b, (const uint8_t *)"bbb", 3);
        expect_record(&g_s, c, (const uint8_t *)"cXYcc", 5);
        expect_record(&g_s, d, (const uint8_t *)"dd", 2);
        expect_absent(&g_s, e);
        assert_int_equal(count_keys(&g_s), 3);
        assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    }
    /* The superseded versions inside the batch were destroyed too. */
    pattern(g_a, 64, 4);
    assert_false(flash_has_piece(g_a, 64));
}

static void test_batch_busy_and_bad_calls(void **state)
{
    (void)state;
    fk_store_txn_t t;
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_EINVAL); /* no batch */
    assert_int_equal(fk_store_batch_begin(NULL), FK_STORE_EINVAL);
    fk_store_batch_abort(&g_s); /* nothing open: no effect */

    assert_int_equal(fk_store_begin(&g_s, &t, 1, 10), FK_STORE_OK);
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_EBUSY); /* a stream is open */
    fk_store_abort(&g_s, &t);

    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_EBUSY);
    assert_int_equal(fk_store_format(&g_s, 0, REGION), FK_STORE_EBUSY);
    assert_int_equal(fk_store_begin(&g_s, &t, 2, 10), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, 3, "x", 1), FK_STORE_EBUSY);
    assert_int_equal(fk_store_delete_range(&g_s, 0, 5), FK_STORE_EBUSY);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_EBUSY); /* stream still open */
    assert_int_equal(fk_store_append(&g_s, &t, "0123456789", 10), FK_STORE_OK);
    assert_int_equal(fk_store_commit(&g_s, &t), FK_STORE_OK);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    expect_record(&g_s, 2, (const uint8_t *)"0123456789", 10);

    /* An empty batch commits nothing. */
    const uint64_t ops = sim_flash_op_count();
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    assert_int_equal(sim_flash_op_count(), ops);
}

static void test_batch_errors_keep_it_open(void **state)
{
    (void)state;
    put(FK_STORE_KEY(NS_A, 0), 10, 1);
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, 1), "one", 3), FK_STORE_OK);
    /* Failing operations leave the batch open with what it held. */
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, 7)), FK_STORE_ENOENT);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY_LAST + 1u, "x", 1), FK_STORE_EINVAL);
    assert_int_equal(fk_store_write(&g_s, 9, NULL, 1), FK_STORE_EINVAL);
    assert_int_equal(fk_store_patch(&g_s, FK_STORE_KEY(NS_A, 0), 11, "x", 1, false),
                     FK_STORE_EINVAL);
    assert_int_equal(fk_store_delete_range(&g_s, 5, 4), FK_STORE_EINVAL);
    /* Up to FK_STORE_BATCH_MAX operations, then ENOSPC. */
    for (uint32_t i = 2; i <= FK_STORE_BATCH_MAX; i++) {
        uint8_t v = (uint8_t)i;
        assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, i), &v, 1), FK_STORE_OK);
    }
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, 99), "x", 1), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, 0)), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_delete_range(&g_s, 0, FK_STORE_KEY_LAST), FK_STORE_ENOSPC);
    fk_store_txn_t t;
    assert_int_equal(fk_store_begin(&g_s, &t, FK_STORE_KEY(NS_A, 99), 1), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);

    expect_record(&g_s, FK_STORE_KEY(NS_A, 1), (const uint8_t *)"one", 3);
    for (uint32_t i = 2; i <= FK_STORE_BATCH_MAX; i++) {
        uint8_t v = (uint8_t)i;
        expect_record(&g_s, FK_STORE_KEY(NS_A, i), &v, 1);
    }
    expect_absent(&g_s, FK_STORE_KEY(NS_A, 99));
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    assert_int_equal(count_keys(&g_s), FK_STORE_BATCH_MAX + 1u);
}

static void test_batch_abort(void **state)
{
    (void)state;
    put(FK_STORE_KEY(NS_A, 1), 500, 1);
    put(FK_STORE_KEY(NS_A, 2), 500, 2);
    fk_store_stats_t before, after;
    fk_store_stats(&g_s, &before);

    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    pattern(g_b, 600, 21);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, 1), g_b, 600), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, 2)), FK_STORE_OK);
    assert_int_equal(fk_store_delete_range(&g_s, 0, FK_STORE_KEY_LAST), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 1), g_b + 100, 300), FK_STORE_OK);
    /* An aborted stream inside the batch: the rest of the batch goes on. */
    fk_store_txn_t t;
    assert_int_equal(fk_store_begin(&g_s, &t, FK_STORE_KEY(NS_B, 2), 5000), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, g_b + 200, 64), FK_STORE_OK);
    fk_store_abort(&g_s, &t);
    /* And one left open when the batch is aborted. */
    assert_int_equal(fk_store_begin(&g_s, &t, FK_STORE_KEY(NS_B, 3), 5000), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, g_b + 300, 64), FK_STORE_OK);
    assert_true(flash_has_piece(g_b, 600));
    fk_store_batch_abort(&g_s);
    assert_int_equal(fk_store_append(&g_s, &t, g_b, 1), FK_STORE_EINVAL);

    /* None of it ever becomes live, and its bytes are gone. */
    for (int pass = 0; pass < 2; pass++) {
        expect_put(FK_STORE_KEY(NS_A, 1), 500, 1);
        expect_put(FK_STORE_KEY(NS_A, 2), 500, 2);
        assert_int_equal(count_keys(&g_s), 2);
        fk_store_stats(&g_s, &after);
        assert_int_equal(after.used, before.used);
        assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    }
    assert_false(flash_has_piece(g_b, 600));

    /* The store and batches go on working. */
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 1), "b", 1), FK_STORE_OK);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    expect_record(&g_s, FK_STORE_KEY(NS_B, 1), (const uint8_t *)"b", 1);
    assert_int_equal(count_keys(&g_s), 3);
}

static void test_batch_full_store(void **state)
{
    (void)state;
    const uint32_t len = 16u * KIB;
    /* Fill the store with 16 KiB records until it refuses one. */
    uint32_t n = 0;
    while (true) {
        pattern(g_a, len, n);
        int rc = fk_store_write(&g_s, FK_STORE_KEY(NS_A, n), g_a, len);
        if (rc == FK_STORE_ENOSPC) break;
        assert_int_equal(rc, FK_STORE_OK);
        n++;
    }
    assert_true(n >= 6u);
    /* Free one record's worth: room for one more, not for two at once. */
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, n - 1u)), FK_STORE_OK);
    n--;
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, n - 1u)), FK_STORE_OK);
    n--;

    /* A batch replacing every record would pin twice the data: the store
     * answers ENOSPC at the write that does not fit, none of the batch is
     * live, and what was staged before can still be committed. */
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    uint32_t staged = 0;
    int rc = FK_STORE_OK;
    for (uint32_t i = 0; i < n && rc == FK_STORE_OK; i++) {
        pattern(g_b, len, 1000u + i);
        rc = fk_store_write(&g_s, FK_STORE_KEY(NS_A, i), g_b, len);
        if (rc == FK_STORE_OK) staged++;
    }
    assert_int_equal(rc, FK_STORE_ENOSPC);
    assert_true(staged >= 1u && staged < n);
    for (uint32_t i = 0; i < n; i++) expect_put(FK_STORE_KEY(NS_A, i), len, i);
    /* A small write still fits in the same batch, a delete too. */
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 1), "small", 5), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, n - 1u)), FK_STORE_OK);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);

    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < n - 1u; i++)
            expect_put(FK_STORE_KEY(NS_A, i), len, i < staged ? 1000u + i : i);
        expect_absent(&g_s, FK_STORE_KEY(NS_A, n - 1u));
        expect_record(&g_s, FK_STORE_KEY(NS_B, 1), (const uint8_t *)"small", 5);
        assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    }
    /* The store can still replace its largest record, many times. */
    for (uint32_t r = 0; r < 30; r++) {
        pattern(g_a, len, 5000u + r);
        assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, r % (n - 1u)), g_a, len),
                         FK_STORE_OK);
    }

    /* An aborted batch on a full store leaves it as it was. */
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    rc = FK_STORE_OK;
    for (uint32_t i = 0; rc == FK_STORE_OK; i++) {
        pattern(g_b, len, 9000u + i);
        rc = fk_store_write(&g_s, FK_STORE_KEY(NS_C, i), g_b, len);
    }
    assert_int_equal(rc, FK_STORE_ENOSPC);
    fk_store_batch_abort(&g_s);
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    for (uint32_t r = 0; r < 30; r++)
        if (r >= 30u - (n - 1u)) expect_put(FK_STORE_KEY(NS_A, r % (n - 1u)), len, 5000u + r);
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY(NS_C, 0), &(fk_store_key_t){0}),
                     FK_STORE_ENOENT);
}

static void test_batch_index_capacity(void **state)
{
    (void)state;
    assert_int_equal(fk_store_format(&g_s, 0, REGION), FK_STORE_OK);
    sim_flash_deinit();
    assert_int_equal(sim_flash_init(1024u * KIB, SECTOR, PAGE), 0);
    assert_int_equal(fk_store_mount(&g_s, 0, 1024u * KIB), FK_STORE_OK);
    for (uint32_t i = 0; i < FK_STORE_MAX_IDS - 1u; i++) {
        uint8_t v = (uint8_t)i;
        assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, i), &v, 1), FK_STORE_OK);
    }
    /* One key is left: the second new key of a batch does not fit. */
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 1), "1", 1), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 2), "2", 1), FK_STORE_ENOSPC);
    /* Replacing is fine; a staged delete makes room for one more. */
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, 0), "r", 1), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(NS_A, 5)), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 2), "2", 1), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_B, 3), "3", 1), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, FK_STORE_MAX_IDS);
    assert_int_equal(fk_store_mount(&g_s, 0, 1024u * KIB), FK_STORE_OK);
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, FK_STORE_MAX_IDS);
    expect_record(&g_s, FK_STORE_KEY(NS_A, 0), (const uint8_t *)"r", 1);
    expect_record(&g_s, FK_STORE_KEY(NS_B, 2), (const uint8_t *)"2", 1);
    expect_absent(&g_s, FK_STORE_KEY(NS_A, 5));
    /* A full index: a batch that deletes first may then add. */
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_C, 1), "c", 1), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(NS_A, 0), FK_STORE_KEY(NS_A, 9)),
                     FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_C, 1), "c", 1), FK_STORE_OK);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, FK_STORE_MAX_IDS - 9u + 1u); /* NS_A 0-9 but 5, then C1 */
}

static void test_batch_flash_error(void **state)
{
    (void)state;
    put(FK_STORE_KEY(NS_A, 1), 100, 1);
    /* The flash fails while the batch stages, then while it commits. */
    for (uint64_t fail_at = 0; fail_at < 2u; fail_at++) {
        assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
        assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(NS_A, 2), "two", 3), FK_STORE_OK);
        pattern(g_b, 3000, 2);
        if (fail_at == 0u) sim_flash_cut_after(2, SIM_CUT_NONE, 0);
        int rc = fk_store_write(&g_s, FK_STORE_KEY(NS_A, 1), g_b, 3000);
        if (fail_at == 1u) {
            assert_int_equal(rc, FK_STORE_OK);
            sim_flash_cut_after(2, SIM_CUT_NONE, 0);
            rc = fk_store_batch_commit(&g_s);
        }
        assert_int_equal(rc, FK_STORE_EIO);
        /* The store stopped, whole: nothing works until a mount. */
        uint32_t size;
        assert_int_equal(fk_store_size(&g_s, FK_STORE_KEY(NS_A, 1), &size), FK_STORE_EINVAL);
        assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_EINVAL);
        assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_EINVAL);
        sim_flash_power_on();
        assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
        if (fail_at == 0u) {
            /* Cut while staging: the state before the batch. */
            expect_put(FK_STORE_KEY(NS_A, 1), 100, 1);
            expect_absent(&g_s, FK_STORE_KEY(NS_A, 2));
        } else {
            /* Cut two operations into the commit, past its marker: after. */
            expect_record(&g_s, FK_STORE_KEY(NS_A, 1), g_b, 3000);
            expect_record(&g_s, FK_STORE_KEY(NS_A, 2), (const uint8_t *)"two", 3);
        }
        if (fail_at == 0u) assert_false(flash_has_piece(g_b, 3000)); /* rolled back */
    }
}

/* ---------------------------------------------------------------------------
 * Power cuts at every flash operation of a batch.
 * ------------------------------------------------------------------------- */

#define CUT_KEYS 6u
#define CUT_LEN_MAX (9u * KIB)

typedef struct cut_state {
    bool present[CUT_KEYS];
    uint32_t len[CUT_KEYS];
    uint64_t seed[CUT_KEYS];
} cut_state_t;

static fk_store_key_t cut_key(uint32_t k) { return FK_STORE_KEY(NS_A + k % 2u, k); }

static bool matches(const fk_store_t *s, const cut_state_t *m)
{
    uint32_t live = 0;
    for (uint32_t k = 0; k < CUT_KEYS; k++) {
        uint32_t size;
        int rc = fk_store_size(s, cut_key(k), &size);
        if (!m->present[k]) {
            if (rc != FK_STORE_ENOENT) return false;
            continue;
        }
        live++;
        if (rc != FK_STORE_OK || size != m->len[k]) return false;
        pattern(g_a, size, m->seed[k]);
        if (fk_store_read(s, cut_key(k), 0, g_back, size) != FK_STORE_OK) return false;
        if (size > 0u && memcmp(g_back, g_a, size) != 0) return false;
    }
    return count_keys(s) == live;
}

/* The batch under test: replaces two keys (one via a stream), deletes one,
 * range-deletes the odd namespace's keys 3-5, then rewrites key 5, on a
 * store small enough that staging collects garbage. */
static int run_batch(cut_state_t *after, uint64_t round)
{
    int rc = fk_store_batch_begin(&g_s);
    if (rc != FK_STORE_OK) return rc;
    const uint32_t l0 = CUT_LEN_MAX - (uint32_t)round % 100u;
    pattern(g_a, l0, 7000u + round);
    rc = fk_store_write(&g_s, cut_key(0), g_a, l0);
    after->present[0] = true;
    after->len[0] = l0;
    after->seed[0] = 7000u + round;
    if (rc == FK_STORE_OK) rc = fk_store_delete(&g_s, cut_key(1));
    after->present[1] = false;
    fk_store_txn_t t;
    const uint32_t l2 = 5000u + (uint32_t)round % 50u;
    pattern(g_b, l2, 8000u + round);
    if (rc == FK_STORE_OK) rc = fk_store_begin(&g_s, &t, cut_key(2), l2);
    if (rc == FK_STORE_OK) rc = fk_store_append(&g_s, &t, g_b, 1000);
    if (rc == FK_STORE_OK) rc = fk_store_append(&g_s, &t, g_b + 1000, l2 - 1000u);
    if (rc == FK_STORE_OK) rc = fk_store_commit(&g_s, &t);
    after->present[2] = true;
    after->len[2] = l2;
    after->seed[2] = 8000u + round;
    if (rc == FK_STORE_OK)
        rc = fk_store_delete_range(&g_s, FK_STORE_KEY(NS_A + 1u, 3), FK_STORE_KEY(NS_A + 1u, 5));
    after->present[3] = false;
    after->present[5] = false;
    pattern(g_a, 77, 9000u + round);
    if (rc == FK_STORE_OK) rc = fk_store_write(&g_s, cut_key(5), g_a, 77);
    after->present[5] = true;
    after->len[5] = 77;
    after->seed[5] = 9000u + round;
    if (rc == FK_STORE_OK) rc = fk_store_batch_commit(&g_s);
    return rc;
}

static void restore(cut_state_t *m, uint64_t round)
{
    /* Bring the store back to a known state with all keys present. */
    for (uint32_t k = 0; k < CUT_KEYS; k++) {
        m->present[k] = true;
        m->len[k] = 300u + 97u * k;
        m->seed[k] = round * 10u + k;
        put(cut_key(k), m->len[k], m->seed[k]);
    }
}

static void test_batch_power_cut_everywhere(void **state)
{
    (void)state;
    const uint32_t region = 64u * KIB; /* 16 sectors: staging collects garbage */
    assert_int_equal(fk_store_format(&g_s, 0, region), FK_STORE_OK);
    cut_state_t before, after;
    uint32_t cuts = 0, took_new = 0;
    for (uint64_t cut = 0;; cut++) {
        restore(&before, cut);
        after = before;
        sim_flash_cut_after(cut, (sim_cut_mode_t)(cut % 3u), cut);
        const int rc = run_batch(&after, cut);
        const bool was_cut = sim_flash_is_cut();
        sim_flash_power_on();
        if (!was_cut) {
            assert_int_equal(rc, FK_STORE_OK);
            assert_true(matches(&g_s, &after));
            break;
        }
        cuts++;
        /* Sometimes power fails again during the recovery. */
        if (cut % 4u == 1u) {
            sim_flash_cut_after(cut % 7u, SIM_CUT_SCATTER, cut);
            (void)fk_store_mount(&g_s, 0, region);
            sim_flash_power_on();
        }
        assert_int_equal(fk_store_mount(&g_s, 0, region), FK_STORE_OK);
        const bool is_new = matches(&g_s, &after);
        if (!is_new && !matches(&g_s, &before))
            fail_msg("cut %u: neither before nor after", (unsigned)cut);
        took_new += is_new;
        /* A second mount sees the same, and the store goes on. */
        assert_int_equal(fk_store_mount(&g_s, 0, region), FK_STORE_OK);
        assert_true(matches(&g_s, is_new ? &after : &before));
    }
    printf("batch: %u cut points, %u after, %u before\n", cuts, took_new, cuts - took_new);
    assert_true(cuts > 100u);
    assert_true(took_new > 0u && took_new < cuts);
}

/* ---------------------------------------------------------------------------
 * A version-1 region.
 * ------------------------------------------------------------------------- */

static void test_version1_region_refused(void **state)
{
    (void)state;
    put(FK_STORE_KEY(0, 1), 100, 1);
    /* Stamp every sector header as format version 1 (part A checks). */
    uint8_t *f = sim_flash_data();
    for (uint32_t off = 0; off < REGION; off += SECTOR) {
        if (f[off] == 0xFFu) continue;
        f[off + SECT_VERSION] = 1;
        fk_put_le32(f + off + SECT_CRC_A, fk_crc32(0, f + off, SECT_CRC_A));
    }
    static uint8_t before[REGION];
    memcpy(before, f, REGION);
    const uint64_t ops = sim_flash_op_count();
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_ECORRUPT);
    assert_int_equal(sim_flash_op_count(), ops);
    assert_memory_equal(f, before, REGION);
    uint32_t size;
    assert_int_equal(fk_store_size(&g_s, 1, &size), FK_STORE_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_namespaces_are_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_across_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_commit_and_reads_during, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_busy_and_bad_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_errors_keep_it_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_full_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_index_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_flash_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_power_cut_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1_region_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
