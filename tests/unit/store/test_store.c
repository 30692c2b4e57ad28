/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store.c - the flash store over the simulated NOR flash: the API,
 * large records, space limits, wear, checksums, destruction of old data,
 * recovery of crafted interruptions, and a randomized model test with
 * power cuts and remounts.
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
#define MIB (1024u * 1024u)
#define BOARD_FLASH (3u * MIB)
#define COUNTERS_SIZE (16u * SECTOR)
#define MAIN_BASE COUNTERS_SIZE
#define MAIN_SIZE (BOARD_FLASH - COUNTERS_SIZE)

static fk_store_t g_s;
static fk_store_t g_c;
static uint8_t g_a[FK_STORE_MAX_RECORD];
static uint8_t g_b[FK_STORE_MAX_RECORD];

/* Deterministic bytes that differ for each seed. */
static void pattern(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    st = sim_rng_next(&st); /* hashed start: seeds give unrelated streams */
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)sim_rng_next(&st);
}

static bool flash_contains(const uint8_t *needle, size_t n)
{
    return memmem(sim_flash_data(), sim_flash_size(), needle, n) != NULL;
}

/* Whether any 16-byte piece of needle (at a multiple of 16) is in the flash:
 * a record's payload may be split by a sector header, its pieces not. */
#define PIECE 16u
static bool flash_has_piece(const uint8_t *needle, size_t n)
{
    for (size_t off = 0; off + PIECE <= n; off += PIECE)
        if (flash_contains(needle + off, PIECE)) return true;
    return false;
}

static void expect_record(const fk_store_t *s, uint16_t id, const uint8_t *data, uint32_t len)
{
    uint32_t size = 0xFFFFFFFFu;
    assert_int_equal(fk_store_size(s, id, &size), FK_STORE_OK);
    assert_int_equal(size, len);
    static uint8_t back[FK_STORE_MAX_RECORD];
    assert_int_equal(fk_store_read(s, id, 0, back, len), FK_STORE_OK);
    if (len > 0u) assert_memory_equal(back, data, len);
}

static int setup_board(void **state)
{
    (void)state;
    if (sim_flash_init(BOARD_FLASH, SECTOR, PAGE) != 0) return -1;
    if (fk_store_mount(&g_c, 0, COUNTERS_SIZE) != FK_STORE_OK) return -1;
    if (fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE) != FK_STORE_OK) return -1;
    return 0;
}

static int setup_small(void **state)
{
    (void)state;
    if (sim_flash_init(256u * KIB, SECTOR, PAGE) != 0) return -1;
    return fk_store_mount(&g_s, 0, 256u * KIB) == FK_STORE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sim_flash_deinit();
    return 0;
}

/* ---------------------------------------------------------------------------
 * The API.
 * ------------------------------------------------------------------------- */

static void test_write_read_replace_delete(void **state)
{
    (void)state;
    uint32_t size;
    uint8_t buf[64];
    pattern(g_a, 100, 1);
    pattern(g_b, 50, 2);

    assert_int_equal(fk_store_size(&g_s, 0x0101, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_read(&g_s, 0x0101, 0, buf, 1), FK_STORE_ENOENT);
    assert_int_equal(fk_store_write(&g_s, 0x0101, g_a, 100), FK_STORE_OK);
    expect_record(&g_s, 0x0101, g_a, 100);

    /* Partial reads, and reads past the end. */
    assert_int_equal(fk_store_read(&g_s, 0x0101, 10, buf, 20), FK_STORE_OK);
    assert_memory_equal(buf, g_a + 10, 20);
    assert_int_equal(fk_store_read(&g_s, 0x0101, 100, buf, 0), FK_STORE_OK);
    assert_int_equal(fk_store_read(&g_s, 0x0101, 90, buf, 11), FK_STORE_EINVAL);
    assert_int_equal(fk_store_read(&g_s, 0x0101, 101, buf, 0), FK_STORE_EINVAL);
    assert_int_equal(fk_store_read(&g_s, 0x0101, 0xFFFFFFFFu, buf, 2), FK_STORE_EINVAL);

    assert_int_equal(fk_store_write(&g_s, 0x0101, g_b, 50), FK_STORE_OK);
    expect_record(&g_s, 0x0101, g_b, 50);

    /* Empty records exist and are distinct from absent ones. */
    assert_int_equal(fk_store_write(&g_s, 0x0102, NULL, 0), FK_STORE_OK);
    expect_record(&g_s, 0x0102, NULL, 0);

    assert_int_equal(fk_store_delete(&g_s, 0x0101), FK_STORE_OK);
    assert_int_equal(fk_store_size(&g_s, 0x0101, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_delete(&g_s, 0x0101), FK_STORE_ENOENT);

    /* Bad arguments. */
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY_LAST + 1u, g_a, 1), FK_STORE_EINVAL);
    assert_int_equal(fk_store_write(&g_s, 0x0103, NULL, 1), FK_STORE_EINVAL);
    assert_int_equal(fk_store_write(&g_s, 0x0103, g_a, FK_STORE_MAX_RECORD + 1u),
                     FK_STORE_EINVAL);
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY_LAST + 1u), FK_STORE_EINVAL);

    /* Everything survives a remount. */
    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    assert_int_equal(fk_store_size(&g_s, 0x0101, &size), FK_STORE_ENOENT);
    expect_record(&g_s, 0x0102, NULL, 0);
}

static void test_patch(void **state)
{
    (void)state;
    uint8_t expect[300];
    const uint16_t id = 0x2F02;
    pattern(g_a, 200, 3);
    pattern(g_b, 100, 4);

    /* A missing record counts as empty: only offset 0 is valid. */
    assert_int_equal(fk_store_patch(&g_s, id, 1, g_a, 10, false), FK_STORE_EINVAL);
    assert_int_equal(fk_store_patch(&g_s, id, 0, g_a, 200, false), FK_STORE_OK);
    expect_record(&g_s, id, g_a, 200);

    /* Overwrite inside. */
    memcpy(expect, g_a, 200);
    memcpy(expect + 50, g_b, 20);
    assert_int_equal(fk_store_patch(&g_s, id, 50, g_b, 20, false), FK_STORE_OK);
    expect_record(&g_s, id, expect, 200);

    /* Extend past the end. */
    memcpy(expect + 180, g_b, 100);
    assert_int_equal(fk_store_patch(&g_s, id, 180, g_b, 100, false), FK_STORE_OK);
    expect_record(&g_s, id, expect, 280);

    /* Append exactly at the end; offset past it is refused. */
    assert_int_equal(fk_store_patch(&g_s, id, 281, g_b, 1, false), FK_STORE_EINVAL);
    memcpy(expect + 280, g_b, 10);
    assert_int_equal(fk_store_patch(&g_s, id, 280, g_b, 10, false), FK_STORE_OK);
    expect_record(&g_s, id, expect, 290);

    /* Truncate. */
    memcpy(expect + 30, g_b, 5);
    assert_int_equal(fk_store_patch(&g_s, id, 30, g_b, 5, true), FK_STORE_OK);
    expect_record(&g_s, id, expect, 35);
    assert_int_equal(fk_store_patch(&g_s, id, 0, NULL, 0, true), FK_STORE_OK);
    expect_record(&g_s, id, NULL, 0);

    /* Too large a result. */
    assert_int_equal(fk_store_patch(&g_s, id, 0, g_a, FK_STORE_MAX_RECORD + 1u, true),
                     FK_STORE_EINVAL);

    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    expect_record(&g_s, id, NULL, 0);
}

static void test_streaming(void **state)
{
    (void)state;
    fk_store_txn_t t, t2;
    const uint16_t id = 0xC001;
    const uint32_t total = 70u * KIB;
    pattern(g_a, 300, 5);
    pattern(g_b, total, 6);
    assert_int_equal(fk_store_write(&g_s, id, g_a, 300), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, 0x0001, g_a, 32), FK_STORE_OK);

    assert_int_equal(fk_store_begin(&g_s, &t, id, total), FK_STORE_OK);
    assert_int_equal(fk_store_begin(&g_s, &t2, 0x0002, 1), FK_STORE_EBUSY);
    assert_int_equal(fk_store_write(&g_s, 0x0002, g_a, 1), FK_STORE_EBUSY);
    assert_int_equal(fk_store_patch(&g_s, 0x0001, 0, g_a, 1, false), FK_STORE_EBUSY);
    assert_int_equal(fk_store_delete(&g_s, 0x0001), FK_STORE_EBUSY);

    uint32_t done = 0, step = 1;
    while (done < total) {
        uint32_t n = step < total - done ? step : total - done;
        assert_int_equal(fk_store_append(&g_s, &t, g_b + done, n), FK_STORE_OK);
        done += n;
        step = step * 3u + 7u;
        /* The old version and other records stay readable meanwhile. */
        expect_record(&g_s, id, g_a, 300);
        expect_record(&g_s, 0x0001, g_a, 32);
    }
    assert_int_equal(fk_store_append(&g_s, &t, g_b, 1), FK_STORE_EINVAL);
    assert_int_equal(fk_store_commit(&g_s, &t), FK_STORE_OK);
    expect_record(&g_s, id, g_b, total);

    /* Commit before all bytes arrived is refused; abort keeps the old. */
    assert_int_equal(fk_store_begin(&g_s, &t, id, 5000), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, g_a, 100), FK_STORE_OK);
    assert_int_equal(fk_store_commit(&g_s, &t), FK_STORE_EINVAL);
    fk_store_abort(&g_s, &t);
    expect_record(&g_s, id, g_b, total);
    assert_int_equal(fk_store_append(&g_s, &t, g_a, 1), FK_STORE_EINVAL);

    /* The store is usable after an abort, and the aborted bytes are gone. */
    uint8_t marker[64];
    pattern(marker, sizeof marker, 77);
    assert_int_equal(fk_store_begin(&g_s, &t, 0x0003, 9000), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, marker, sizeof marker), FK_STORE_OK);
    assert_true(flash_has_piece(marker, sizeof marker));
    fk_store_abort(&g_s, &t);
    assert_false(flash_has_piece(marker, sizeof marker));
    assert_int_equal(fk_store_write(&g_s, 0x0003, g_a, 10), FK_STORE_OK);
    expect_record(&g_s, 0x0003, g_a, 10);

    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    expect_record(&g_s, id, g_b, total);
    expect_record(&g_s, 0x0003, g_a, 10);

    /* A transaction left open at a "power cut" is simply not there. */
    assert_int_equal(fk_store_begin(&g_s, &t, 0x0004, 100), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_s, &t, g_a, 60), FK_STORE_OK);
    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    uint32_t size;
    assert_int_equal(fk_store_size(&g_s, 0x0004, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_write(&g_s, 0x0004, g_a, 100), FK_STORE_OK);
    expect_record(&g_s, 0x0004, g_a, 100);
}

static void test_flash_error_unmounts(void **state)
{
    (void)state;
    uint32_t size;
    pattern(g_a, 9000, 8);
    assert_int_equal(fk_store_write(&g_s, 0x0A, g_a, 100), FK_STORE_OK);
    /* The flash fails in the middle of a write: the store stops, whole. */
    sim_flash_cut_after(5, SIM_CUT_NONE, 0);
    assert_int_equal(fk_store_write(&g_s, 0x0A, g_a, 9000), FK_STORE_EIO);
    assert_int_equal(fk_store_size(&g_s, 0x0A, &size), FK_STORE_EINVAL);
    assert_int_equal(fk_store_write(&g_s, 0x0B, g_a, 1), FK_STORE_EINVAL);
    sim_flash_power_on();
    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    expect_record(&g_s, 0x0A, g_a, 100);
    assert_int_equal(fk_store_write(&g_s, 0x0A, g_a, 9000), FK_STORE_OK);
    expect_record(&g_s, 0x0A, g_a, 9000);
}

static void test_first_and_stats(void **state)
{
    (void)state;
    fk_store_stats_t st;
    fk_store_key_t key;
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, 0);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.total, MAIN_SIZE);
    const uint32_t free0 = st.free;
    assert_true(free0 > MAIN_SIZE / 2u);
    assert_int_equal(fk_store_first(&g_s, 0, &key), FK_STORE_ENOENT);

    /* 600 ids written in a scrambled order come back sorted. */
    for (uint32_t i = 0; i < 600; i++) {
        const uint16_t fid = (uint16_t)((i * 7919u) % 600u * 97u + 3u);
        uint8_t v[8];
        pattern(v, sizeof v, fid);
        assert_int_equal(fk_store_write(&g_s, fid, v, sizeof v), FK_STORE_OK);
    }
    fk_store_key_t from = 0;
    uint32_t count = 0;
    while (fk_store_first(&g_s, from, &key) == FK_STORE_OK) {
        assert_true(key >= from);
        assert_int_equal(key % 97u, 3u);
        uint8_t v[8], back[8];
        pattern(v, sizeof v, key);
        assert_int_equal(fk_store_read(&g_s, key, 0, back, sizeof back), FK_STORE_OK);
        assert_memory_equal(back, v, sizeof v);
        from = key + 1u;
        count++;
    }
    assert_int_equal(count, 600);
    assert_int_equal(fk_store_first(&g_s, 0xFFFF, &key), FK_STORE_ENOENT);
    assert_int_equal(fk_store_first(&g_s, FK_STORE_KEY_LAST + 1u, &key), FK_STORE_ENOENT);
    assert_int_equal(fk_store_first(&g_s, 0xFFFFFFFFu, &key), FK_STORE_ENOENT);

    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, 600);
    assert_int_equal(st.used, 600u * 64u); /* 32-byte header + 8 bytes padded to 32 */
    assert_true(st.free < free0);

    /* The counters partition is a separate store. */
    assert_int_equal(fk_store_first(&g_c, 0, &key), FK_STORE_ENOENT);
    assert_int_equal(fk_store_write(&g_c, 3, "x", 1), FK_STORE_OK);
    assert_int_equal(fk_store_first(&g_c, 0, &key), FK_STORE_OK);
    assert_int_equal(key, 3);
    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, 600);
}

/* ---------------------------------------------------------------------------
 * Large records, space and the index.
 * ------------------------------------------------------------------------- */

static void test_large_records(void **state)
{
    (void)state;
    const uint32_t sizes[] = {64u * KIB, 128u * KIB, FK_STORE_MAX_RECORD, 64u * KIB + 1u};
    for (uint32_t round = 0; round < 12; round++) {
        for (uint32_t i = 0; i < FK_ARRAY_SIZE(sizes); i++) {
            pattern(g_a, sizes[i], round * 10u + i);
            assert_int_equal(fk_store_write(&g_s, (uint16_t)(0xCE00 + i), g_a, sizes[i]),
                             FK_STORE_OK);
        }
    }
    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    for (uint32_t i = 0; i < FK_ARRAY_SIZE(sizes); i++) {
        pattern(g_a, sizes[i], 11u * 10u + i);
        expect_record(&g_s, (uint16_t)(0xCE00 + i), g_a, sizes[i]);
    }
    /* A chunked read of the largest one. */
    pattern(g_a, FK_STORE_MAX_RECORD, 112);
    for (uint32_t off = 0; off < FK_STORE_MAX_RECORD; off += 4000u) {
        uint32_t n = FK_STORE_MAX_RECORD - off < 4000u ? FK_STORE_MAX_RECORD - off : 4000u;
        assert_int_equal(fk_store_read(&g_s, 0xCE02, off, g_b, n), FK_STORE_OK);
        assert_memory_equal(g_b, g_a + off, n);
    }
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_true(st.erase_max >= 1u); /* the rounds went around the region */
}

static void test_enospc_changes_nothing(void **state)
{
    (void)state;
    /* 256 KiB region: fill with 16 KiB records until the store refuses. */
    uint32_t n = 0;
    int rc = FK_STORE_OK;
    while (rc == FK_STORE_OK) {
        pattern(g_a, 16u * KIB, n);
        rc = fk_store_write(&g_s, (uint16_t)(0x100 + n), g_a, 16u * KIB);
        if (rc == FK_STORE_OK) n++;
    }
    assert_int_equal(rc, FK_STORE_ENOSPC);
    assert_true(n >= 8u);

    /* Nothing changed: every record intact, the refused id absent. */
    uint32_t size;
    assert_int_equal(fk_store_size(&g_s, (uint16_t)(0x100 + n), &size), FK_STORE_ENOENT);
    for (uint32_t i = 0; i < n; i++) {
        pattern(g_a, 16u * KIB, i);
        expect_record(&g_s, (uint16_t)(0x100 + i), g_a, 16u * KIB);
    }
    /* Growing a record is refused too and keeps the old version. */
    pattern(g_b, 40u * KIB, 999);
    assert_int_equal(fk_store_write(&g_s, 0x100, g_b, 40u * KIB), FK_STORE_ENOSPC);
    pattern(g_a, 16u * KIB, 0);
    expect_record(&g_s, 0x100, g_a, 16u * KIB);
    assert_int_equal(fk_store_patch(&g_s, 0x100, 16u * KIB, g_b, 30u * KIB, false),
                     FK_STORE_ENOSPC);
    expect_record(&g_s, 0x100, g_a, 16u * KIB);

    /* A full store can still replace its largest record, many times over. */
    for (uint32_t r = 0; r < 40; r++) {
        pattern(g_a, 16u * KIB, 1000u + r);
        assert_int_equal(fk_store_write(&g_s, (uint16_t)(0x100 + r % n), g_a, 16u * KIB),
                         FK_STORE_OK);
    }
    /* The stats agree: free is below a record, and a delete makes room. */
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_true(st.free < 16u * KIB);
    assert_int_equal(fk_store_delete(&g_s, 0x101), FK_STORE_OK);
    pattern(g_a, 16u * KIB, 5);
    assert_int_equal(fk_store_write(&g_s, 0x1FF, g_a, 16u * KIB), FK_STORE_OK);
    expect_record(&g_s, 0x1FF, g_a, 16u * KIB);

    /* stats.free counts footprints: a record of up to the largest size
     * fits exactly when its footprint does, and takes exactly that. */
    fk_store_stats(&g_s, &st);
    const uint32_t fp16 = 32u + 16u * KIB;
    assert_true(st.free < fp16);
    assert_int_equal(fk_store_write(&g_s, 0x200, g_a, 16u * KIB), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_delete(&g_s, 0x102), FK_STORE_OK);
    fk_store_stats_t st2;
    fk_store_stats(&g_s, &st2);
    assert_int_equal(st2.free, st.free + fp16);
    assert_int_equal(fk_store_write(&g_s, 0x200, g_a, 1000), FK_STORE_OK);
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.free, st2.free - (32u + 1024u));

    assert_int_equal(fk_store_mount(&g_s, 0, 256u * KIB), FK_STORE_OK);
    expect_record(&g_s, 0x1FF, g_a, 16u * KIB);
}

static void test_index_full(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < FK_STORE_MAX_IDS; i++) {
        uint8_t v = (uint8_t)i;
        assert_int_equal(fk_store_write(&g_s, (uint16_t)(2u * i), &v, 1), FK_STORE_OK);
    }
    uint8_t v = 0xAB;
    assert_int_equal(fk_store_write(&g_s, 1, &v, 1), FK_STORE_ENOSPC);
    assert_int_equal(fk_store_patch(&g_s, 1, 0, &v, 1, false), FK_STORE_ENOSPC);
    fk_store_txn_t t;
    assert_int_equal(fk_store_begin(&g_s, &t, 1, 1), FK_STORE_ENOSPC);
    /* Existing ids can still be replaced; a delete frees a slot. */
    assert_int_equal(fk_store_write(&g_s, 2, &v, 1), FK_STORE_OK);
    expect_record(&g_s, 2, &v, 1);
    assert_int_equal(fk_store_delete(&g_s, 4), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, 1, &v, 1), FK_STORE_OK);
    assert_int_equal(fk_store_mount(&g_s, MAIN_BASE, MAIN_SIZE), FK_STORE_OK);
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_int_equal(st.files, FK_STORE_MAX_IDS);
    expect_record(&g_s, 1, &v, 1);
}

/* ---------------------------------------------------------------------------
 * Wear, checksums, destruction of old versions.
 * ------------------------------------------------------------------------- */

static void test_counter_wear(void **state)
{
    (void)state;
    /* PIN retry counters and usage counters: tiny records rewritten many
     * thousands of times in the 64 KiB counters partition. */
    const uint32_t rounds = 30000;
    uint32_t value[4] = {0};
    for (uint32_t i = 0; i < rounds; i++) {
        const uint16_t id = (uint16_t)(i % 4u);
        value[id] = i;
        assert_int_equal(fk_store_write(&g_c, id, &value[id], sizeof value[id]), FK_STORE_OK);
        if (i % 5000u == 4999u) assert_int_equal(fk_store_mount(&g_c, 0, COUNTERS_SIZE), 0);
    }
    for (uint16_t id = 0; id < 4; id++) expect_record(&g_c, id, (uint8_t *)&value[id], 4);

    fk_store_stats_t st;
    fk_store_stats(&g_c, &st);
    printf("counters: %u rewrites, sector erase counts %u..%u\n", rounds, st.erase_min,
           st.erase_max);
    assert_true(st.erase_min >= 20u); /* every sector took its share */
    assert_true(st.erase_max - st.erase_min <= 2u);
    /* The simulated flash counted the same spread. */
    uint32_t lo = 0xFFFFFFFFu, hi = 0;
    for (uint32_t i = 0; i < COUNTERS_SIZE / SECTOR; i++) {
        const uint32_t e = sim_flash_erase_count(i);
        if (e < lo) lo = e;
        if (e > hi) hi = e;
    }
    assert_true(hi - lo <= 2u);
    /* The main partition was not touched by counter churn. */
    for (uint32_t i = COUNTERS_SIZE / SECTOR; i < BOARD_FLASH / SECTOR; i++)
        assert_int_equal(sim_flash_erase_count(i), 0);
}

static void test_wear_with_cold_data(void **state)
{
    (void)state;
    /* A 256 KiB region, half of it cold data written once; churn on one hot
     * record still wears all sectors evenly (cold data moves). */
    for (uint32_t i = 0; i < 8; i++) {
        pattern(g_a, 12u * KIB, i);
        assert_int_equal(fk_store_write(&g_s, (uint16_t)(0x500 + i), g_a, 12u * KIB),
                         FK_STORE_OK);
    }
    for (uint32_t i = 0; i < 4000; i++) {
        pattern(g_b, 700, i);
        assert_int_equal(fk_store_write(&g_s, 0x600, g_b, 700), FK_STORE_OK);
    }
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    printf("cold+hot: sector erase counts %u..%u\n", st.erase_min, st.erase_max);
    assert_true(st.erase_min >= 5u);
    assert_true(st.erase_max - st.erase_min <= 2u);
    for (uint32_t i = 0; i < 8; i++) {
        pattern(g_a, 12u * KIB, i);
        expect_record(&g_s, (uint16_t)(0x500 + i), g_a, 12u * KIB);
    }
}

/* Offset in the flash of a record's payload (found by its content). */
static uint8_t *find_in_flash(const uint8_t *needle, size_t n)
{
    return memmem(sim_flash_data(), sim_flash_size(), needle, n);
}

static void test_checksum_detects_bit_flips(void **state)
{
    (void)state;
    uint8_t back[300];
    pattern(g_a, 300, 21);
    assert_int_equal(fk_store_write(&g_s, 0x0200, g_a, 300), FK_STORE_OK);
    uint8_t *p = find_in_flash(g_a, 300);
    assert_non_null(p);

    /* One bit of the payload cleared (what flash decay can do). */
    p[150] ^= 0x10;
    memset(back, 0x5A, sizeof back);
    assert_int_equal(fk_store_read(&g_s, 0x0200, 0, back, 10), FK_STORE_ECORRUPT);
    for (size_t i = 0; i < 10; i++) assert_int_equal(back[i], 0); /* nothing returned */
    assert_int_equal(fk_store_read(&g_s, 0x0200, 140, back, 20), FK_STORE_ECORRUPT);
    /* A patch refuses to carry the damage into a fresh checksum. */
    assert_int_equal(fk_store_patch(&g_s, 0x0200, 0, "ab", 2, false), FK_STORE_ECORRUPT);
    assert_int_equal(fk_store_mount(&g_s, 0, 256u * KIB), FK_STORE_OK);
    assert_int_equal(fk_store_read(&g_s, 0x0200, 0, back, 10), FK_STORE_ECORRUPT);
    /* Rewriting the record cures it. */
    assert_int_equal(fk_store_write(&g_s, 0x0200, g_a, 300), FK_STORE_OK);
    expect_record(&g_s, 0x0200, g_a, 300);

    /* One flipped bit in a header is corrected; two make the record fail. */
    pattern(g_b, 64, 22);
    assert_int_equal(fk_store_write(&g_s, 0x0201, g_b, 64), FK_STORE_OK);
    p = find_in_flash(g_b, 64);
    assert_non_null(p);
    p[-32 + 8] ^= 0x01; /* the length field */
    expect_record(&g_s, 0x0201, g_b, 64);
    p[-32 + 8] ^= 0x04;
    assert_int_equal(fk_store_read(&g_s, 0x0201, 0, back, 64), FK_STORE_ECORRUPT);

    /* The damage survives garbage collection (copies keep the checksum). */
    p = find_in_flash(g_a, 300);
    assert_non_null(p);
    p[0] ^= 0x80;
    for (uint32_t i = 0; i < 120; i++) {
        pattern(g_b, 30u * KIB, 100u + i);
        assert_int_equal(fk_store_write(&g_s, 0x0300, g_b, 30u * KIB), FK_STORE_OK);
    }
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_true(st.erase_min >= 1u); /* everything was collected at least once */
    assert_int_equal(fk_store_read(&g_s, 0x0200, 0, back, 1), FK_STORE_ECORRUPT);
}

static void test_superseded_data_destroyed(void **state)
{
    (void)state;
    /* Replace: the old bytes are gone from the flash at once. */
    pattern(g_a, 200, 31);
    pattern(g_b, 200, 32);
    assert_int_equal(fk_store_write(&g_s, 0x1001, g_a, 200), FK_STORE_OK);
    assert_true(flash_has_piece(g_a, 200));
    assert_int_equal(fk_store_write(&g_s, 0x1001, g_b, 200), FK_STORE_OK);
    assert_false(flash_has_piece(g_a, 200));
    assert_true(flash_has_piece(g_b, 200));

    /* Delete. */
    assert_int_equal(fk_store_delete(&g_s, 0x1001), FK_STORE_OK);
    assert_false(flash_has_piece(g_b, 200));

    /* Truncating patch of a 40 KiB record spanning sectors. */
    pattern(g_a, 40u * KIB, 33);
    assert_int_equal(fk_store_write(&g_s, 0x1002, g_a, 40u * KIB), FK_STORE_OK);
    assert_int_equal(fk_store_patch(&g_s, 0x1002, 0, "new", 3, true), FK_STORE_OK);
    assert_false(flash_has_piece(g_a, 40u * KIB));

    /* A record moved by garbage collection, then replaced: neither the
     * copy nor the original (erased with its sector) remains. */
    uint8_t key[48], key2[48];
    pattern(key, sizeof key, 34);
    pattern(key2, sizeof key2, 35);
    assert_int_equal(fk_store_write(&g_s, 0x1003, key, sizeof key), FK_STORE_OK);
    for (uint32_t i = 0; i < 60; i++) {
        pattern(g_b, 25u * KIB + i, 200u + i);
        assert_int_equal(fk_store_write(&g_s, (uint16_t)(0x1100 + i % 3u), g_b, 25u * KIB + i),
                         FK_STORE_OK);
    }
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_true(st.erase_min >= 1u);
    assert_true(flash_has_piece(key, sizeof key));
    assert_int_equal(fk_store_write(&g_s, 0x1003, key2, sizeof key2), FK_STORE_OK);
    assert_false(flash_has_piece(key, sizeof key));
    expect_record(&g_s, 0x1003, key2, sizeof key2);

    /* The same for a record spanning three sectors: garbage collection
     * erases the sectors it started in and zeroes its tail end in the
     * sector that stays. Probe each time it moved: delete it, look for
     * its bytes, then roll the flash back. */
    static uint8_t big[10000], snap[256u * KIB];
    pattern(big, sizeof big, 36);
    assert_int_equal(fk_store_write(&g_s, 0x1004, big, sizeof big), FK_STORE_OK);
    uint32_t moved = 0;
    const uint8_t *first = memmem(sim_flash_data(), sim_flash_size(), big, PIECE);
    for (uint32_t i = 0; i < 4000 && moved < 3u; i++) {
        pattern(g_b, 300, 300u + i);
        assert_int_equal(fk_store_write(&g_s, (uint16_t)(0x1100 + i % 3u), g_b, 300),
                         FK_STORE_OK);
        const uint8_t *now = memmem(sim_flash_data(), sim_flash_size(), big, PIECE);
        if (now == first) continue;
        moved++;
        first = now;
        memcpy(snap, sim_flash_data(), sizeof snap);
        assert_int_equal(fk_store_delete(&g_s, 0x1004), FK_STORE_OK);
        for (size_t off = 0; off + PIECE <= sizeof big; off += 128u)
            assert_null(memmem(sim_flash_data(), sim_flash_size(), big + off, PIECE));
        memcpy(sim_flash_data(), snap, sizeof snap);
        assert_int_equal(fk_store_mount(&g_s, 0, 256u * KIB), FK_STORE_OK);
    }
    assert_int_equal(moved, 3u);
    expect_record(&g_s, 0x1004, big, sizeof big);
}

/* ---------------------------------------------------------------------------
 * Mount of foreign, blank and damaged regions.
 * ------------------------------------------------------------------------- */

static void test_mount_refuses_foreign_region(void **state)
{
    (void)state;
    const uint32_t size = 64u * KIB;
    assert_int_equal(sim_flash_init(size, SECTOR, PAGE), 0);
    static uint8_t before[64u * KIB];

    /* Random bytes: not a store. Nothing may be written. */
    pattern(sim_flash_data(), size, 41);
    memcpy(before, sim_flash_data(), size);
    const uint64_t ops = sim_flash_op_count();
    assert_int_equal(fk_store_mount(&g_s, 0, size), FK_STORE_ECORRUPT);
    assert_int_equal(sim_flash_op_count(), ops);
    assert_memory_equal(sim_flash_data(), before, size);
    uint32_t sz;
    assert_int_equal(fk_store_size(&g_s, 1, &sz), FK_STORE_EINVAL); /* not mounted */
    assert_int_equal(fk_store_write(&g_s, 1, "x", 1), FK_STORE_EINVAL);

    /* Mostly erased with a little data: not a store either. */
    memset(sim_flash_data(), 0xFF, size);
    sim_flash_data()[5000] = 0x12;
    assert_int_equal(fk_store_mount(&g_s, 0, size), FK_STORE_ECORRUPT);
    assert_int_equal(sim_flash_data()[5000], 0x12);

    /* A store laid out for another region size is refused as well. */
    memset(sim_flash_data(), 0xFF, size);
    assert_int_equal(fk_store_mount(&g_s, 0, size), FK_STORE_OK);
    assert_int_equal(fk_store_write(&g_s, 7, "seven", 5), FK_STORE_OK);
    memcpy(before, sim_flash_data(), size);
    assert_int_equal(fk_store_mount(&g_s, 0, size / 2u), FK_STORE_ECORRUPT);
    assert_memory_equal(sim_flash_data(), before, size);
    assert_int_equal(fk_store_mount(&g_s, 0, size), FK_STORE_OK);
    expect_record(&g_s, 7, (const uint8_t *)"seven", 5);

    /* format takes any region and leaves an empty store. */
    pattern(sim_flash_data(), size, 42);
    assert_int_equal(fk_store_format(&g_s, 0, size), FK_STORE_OK);
    assert_int_equal(fk_store_size(&g_s, 7, &sz), FK_STORE_ENOENT);
    assert_int_equal(fk_store_write(&g_s, 8, "eight", 5), FK_STORE_OK);
    assert_int_equal(fk_store_mount(&g_s, 0, size), FK_STORE_OK);
    expect_record(&g_s, 8, (const uint8_t *)"eight", 5);

    /* Bad geometry. */
    assert_int_equal(fk_store_mount(&g_s, 100, size - SECTOR), FK_STORE_EINVAL);
    assert_int_equal(fk_store_mount(&g_s, 0, size + SECTOR), FK_STORE_EINVAL);
    assert_int_equal(fk_store_mount(&g_s, 0, 2u * SECTOR), FK_STORE_EINVAL);
}

static void test_format_is_atomic_when_mounted(void **state)
{
    (void)state;
    uint8_t secret[40];
    pattern(secret, sizeof secret, 51);
    for (uint64_t cut = 0; cut < 80; cut += 3) {
        assert_int_equal(fk_store_format(&g_s, 0, 256u * KIB), FK_STORE_OK);
        for (uint16_t i = 0; i < 20; i++) {
            secret[0] = (uint8_t)i;
            assert_int_equal(fk_store_write(&g_s, i, secret, sizeof secret), FK_STORE_OK);
        }
        sim_flash_cut_after(cut, SIM_CUT_SCATTER, cut);
        (void)fk_store_format(&g_s, 0, 256u * KIB);
        const bool was_cut = sim_flash_is_cut();
        sim_flash_power_on();
        assert_int_equal(fk_store_mount(&g_s, 0, 256u * KIB), FK_STORE_OK);
        fk_store_stats_t st;
        fk_store_stats(&g_s, &st);
        /* Either the cut came before the wipe marker (all there) or after
         * (nothing there, and no byte of the old records left). */
        if (st.files != 0u) {
            assert_int_equal(st.files, 20);
            assert_true(was_cut);
        } else {
            for (uint16_t i = 0; i < 20; i++) {
                secret[0] = (uint8_t)i;
                assert_false(flash_has_piece(secret, sizeof secret));
            }
        }
    }
}

static uint8_t g_snap[256u * KIB];
static bool g_snapped;

/* Keep the image as it is just before the first erase of sector 0. */
static void snap_hook(void *arg, const sim_op_t *op)
{
    (void)arg;
    if (op->kind == SIM_OP_ERASE && op->offset == 0u && !g_snapped) {
        memcpy(g_snap, sim_flash_data(), sizeof g_snap);
        g_snapped = true;
    }
}

/* A garbage collection cut while erasing a sector, the erase having reached
 * only part of it: the sector header survives, and so does the header of a
 * record killed by a delete, while its dead flag and the delete marker next
 * to it are gone. The deleted id must stay deleted. */
static void test_half_erased_sector_stays_out(void **state)
{
    (void)state;
    uint8_t v[100];
    pattern(v, sizeof v, 61);
    /* Sector 0 gets X (first record, at offset 32), then X's delete marker. */
    assert_int_equal(fk_store_write(&g_s, 0x0777, v, sizeof v), FK_STORE_OK);
    assert_int_equal(fk_store_delete(&g_s, 0x0777), FK_STORE_OK);
    const uint8_t *x_hdr = sim_flash_data() + 32;
    assert_int_equal(x_hdr[4] | (x_hdr[5] << 8), 0x0777);

    g_snapped = false;
    sim_flash_set_hook(snap_hook, NULL);
    for (uint32_t i = 0; i < 200 && !g_snapped; i++) {
        pattern(g_a, 10u * KIB, i);
        assert_int_equal(fk_store_write(&g_s, (uint16_t)(0x100 + i % 4u), g_a, 10u * KIB),
                         FK_STORE_OK);
    }
    sim_flash_set_hook(NULL, NULL);
    assert_true(g_snapped);

    /* The power cut: the image before that erase, then part of the erase. */
    memcpy(sim_flash_data(), g_snap, sizeof g_snap);
    memset(sim_flash_data() + 32 + 24, 0xFF, SECTOR - 32 - 24);
    assert_int_equal(fk_store_mount(&g_s, 0, 256u * KIB), FK_STORE_OK);
    uint32_t size;
    assert_int_equal(fk_store_size(&g_s, 0x0777, &size), FK_STORE_ENOENT);
    /* And the half-erased sector was cleaned by the mount. */
    for (uint32_t i = 32; i < SECTOR; i++) assert_int_equal(sim_flash_data()[i], 0xFF);
}

/* ---------------------------------------------------------------------------
 * Randomized model test with power cuts.
 * ------------------------------------------------------------------------- */

#define MODEL_IDS 24u
#define MODEL_OPS 3000u

typedef struct mobj {
    bool present;
    uint32_t len;
    uint8_t data[3000];
} mobj_t;

static mobj_t g_model[MODEL_IDS];

static void model_check(const fk_store_t *s)
{
    for (uint32_t k = 0; k < MODEL_IDS; k++) {
        uint32_t size;
        if (!g_model[k].present) {
            assert_int_equal(fk_store_size(s, (uint16_t)(k * 3u), &size), FK_STORE_ENOENT);
            continue;
        }
        expect_record(s, (uint16_t)(k * 3u), g_model[k].data, g_model[k].len);
    }
}

static bool store_matches(const fk_store_t *s, uint32_t k, const mobj_t *o)
{
    uint32_t size;
    static uint8_t back[sizeof g_model[0].data];
    int rc = fk_store_size(s, (uint16_t)(k * 3u), &size);
    if (!o->present) return rc == FK_STORE_ENOENT;
    return rc == FK_STORE_OK && size == o->len &&
           fk_store_read(s, (uint16_t)(k * 3u), 0, back, size) == FK_STORE_OK &&
           memcmp(back, o->data, size) == 0;
}

static void test_random_ops_with_cuts(void **state)
{
    (void)state;
    const uint32_t region = 96u * KIB;
    uint64_t rng = 12345;
    static mobj_t next;
    uint32_t cuts = 0, remounts = 0;
    assert_int_equal(fk_store_format(&g_s, 0, region), FK_STORE_OK);
    memset(g_model, 0, sizeof g_model);

    for (uint32_t op = 0; op < MODEL_OPS; op++) {
        const uint32_t k = sim_rng_below(&rng, MODEL_IDS);
        const uint16_t id = (uint16_t)(k * 3u);
        mobj_t *o = &g_model[k];
        next = *o;
        const uint32_t kind = sim_rng_below(&rng, 10);
        const bool cut = sim_rng_below(&rng, 8) == 0u;
        if (cut) {
            sim_flash_cut_after(sim_rng_below(&rng, 60), (sim_cut_mode_t)sim_rng_below(&rng, 3),
                                sim_rng_next(&rng));
        }
        int rc;
        if (kind < 2u && o->present) {
            next.present = false;
            rc = fk_store_delete(&g_s, id);
        } else if (kind < 5u && o->present) {
            const uint32_t off = sim_rng_below(&rng, o->len + 1u);
            uint8_t p[500];
            uint32_t n = sim_rng_below(&rng, sizeof p);
            if (off + n > sizeof next.data) n = (uint32_t)sizeof next.data - off;
            const bool trunc = sim_rng_below(&rng, 3) == 0u;
            pattern(p, n, op);
            memcpy(next.data + off, p, n);
            next.len = trunc ? off + n : (off + n > o->len ? off + n : o->len);
            rc = fk_store_patch(&g_s, id, off, p, n, trunc);
        } else {
            next.present = true;
            next.len = sim_rng_below(&rng, sizeof next.data);
            pattern(next.data, next.len, op + 100000u);
            rc = fk_store_write(&g_s, id, next.data, next.len);
        }
        if (sim_flash_is_cut()) {
            cuts++;
            sim_flash_power_on();
            assert_int_equal(fk_store_mount(&g_s, 0, region), FK_STORE_OK);
            for (uint32_t j = 0; j < MODEL_IDS; j++) {
                if (j == k) continue;
                assert_true(store_matches(&g_s, j, &g_model[j]));
            }
            if (store_matches(&g_s, k, &next))
                *o = next;
            else
                assert_true(store_matches(&g_s, k, o));
        } else {
            sim_flash_cut_disarm();
            assert_int_equal(rc, FK_STORE_OK);
            *o = next;
        }
        if (sim_rng_below(&rng, 50) == 0u) {
            remounts++;
            assert_int_equal(fk_store_mount(&g_s, 0, region), FK_STORE_OK);
            model_check(&g_s);
        }
    }
    assert_int_equal(fk_store_mount(&g_s, 0, region), FK_STORE_OK);
    model_check(&g_s);
    printf("model: %u operations, %u power cuts, %u extra remounts\n", MODEL_OPS, cuts,
           remounts);
    assert_true(cuts > 100u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_read_replace_delete, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_patch, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_streaming, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_flash_error_unmounts, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_first_and_stats, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_large_records, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_changes_nothing, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_index_full, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_counter_wear, setup_board, teardown),
        cmocka_unit_test_setup_teardown(test_wear_with_cold_data, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_checksum_detects_bit_flips, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_superseded_data_destroyed, setup_small, teardown),
        cmocka_unit_test_teardown(test_mount_refuses_foreign_region, teardown),
        cmocka_unit_test_setup_teardown(test_format_is_atomic_when_mounted, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_half_erased_sector_stays_out, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_random_ops_with_cuts, setup_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
