/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_host.c - the flash store over the host port's file-backed
 * flash, laid out as the device lays it out (counters partition in the
 * first 16 sectors, main partition behind it): records persist across a
 * close and reopen of the image file, as across a restart of fusekey-sim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hal.h"
#include "host_port.h"
#include "store/store.h"

#define COUNTERS_SECTORS 16u
#define DIR_CAP 32u
#define PATH_CAP 64u
#define N_FILES 50u

static fk_store_t g_main, g_counters;
static char g_dir[DIR_CAP];
static char g_path[PATH_CAP];
static uint8_t g_buf[FK_STORE_MAX_RECORD];
static uint8_t g_back[FK_STORE_MAX_RECORD];

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Open the image and mount both partitions. */
static void power_up(void)
{
    assert_int_equal(fk_host_flash_open(g_path, 0), 0);
    fk_flash_geometry_t geo;
    fk_hal_flash_geometry(&geo);
    const uint32_t counters = COUNTERS_SECTORS * geo.sector_size;
    assert_int_equal(fk_store_mount(&g_counters, 0, counters), FK_STORE_OK);
    assert_int_equal(fk_store_mount(&g_main, counters, geo.size - counters), FK_STORE_OK);
}

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "fk-store-host-XXXXXX");
    if (mkdtemp(g_dir) == NULL) return -1;
    const int n = snprintf(g_path, sizeof g_path, "%s/flash.bin", g_dir);
    return n > 0 && (size_t)n < sizeof g_path ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fk_host_flash_close();
    unlink(g_path);
    rmdir(g_dir);
    return 0;
}

static void expect(const fk_store_t *s, uint16_t id, const uint8_t *data, uint32_t len)
{
    uint32_t size;
    assert_int_equal(fk_store_size(s, id, &size), FK_STORE_OK);
    assert_int_equal(size, len);
    assert_int_equal(fk_store_read(s, id, 0, g_back, len), FK_STORE_OK);
    assert_memory_equal(g_back, data, len);
}

static void test_records_survive_restart(void **state)
{
    (void)state;
    power_up();
    for (uint32_t i = 0; i < N_FILES; i++) {
        fill(g_buf, 100u + i * 37u, i);
        assert_int_equal(fk_store_write(&g_main, (uint16_t)(0xC000 + i), g_buf, 100u + i * 37u),
                         FK_STORE_OK);
    }
    fill(g_buf, FK_STORE_MAX_RECORD, 999);
    assert_int_equal(fk_store_write(&g_main, 0xCD00, g_buf, FK_STORE_MAX_RECORD), FK_STORE_OK);
    for (uint32_t i = 0; i < 2000; i++)
        assert_int_equal(fk_store_write(&g_counters, 0x10, &i, sizeof i), FK_STORE_OK);
    fk_host_flash_close();

    power_up();
    for (uint32_t i = 0; i < N_FILES; i++) {
        fill(g_buf, 100u + i * 37u, i);
        expect(&g_main, (uint16_t)(0xC000 + i), g_buf, 100u + i * 37u);
    }
    fill(g_buf, FK_STORE_MAX_RECORD, 999);
    expect(&g_main, 0xCD00, g_buf, FK_STORE_MAX_RECORD);
    const uint32_t last = 1999;
    expect(&g_counters, 0x10, (const uint8_t *)&last, sizeof last);

    /* The partitions are independent stores. */
    fk_store_key_t key;
    assert_int_equal(fk_store_first(&g_counters, 0, &key), FK_STORE_OK);
    assert_int_equal(key, 0x10);
    assert_int_equal(fk_store_first(&g_counters, 0x11, &key), FK_STORE_ENOENT);
    fk_store_stats_t st;
    fk_store_stats(&g_main, &st);
    assert_int_equal(st.files, N_FILES + 1u);
}

static void test_streaming_and_patch_survive_restart(void **state)
{
    (void)state;
    power_up();
    fk_store_txn_t t;
    const uint32_t total = 100u * 1024u;
    fill(g_buf, total, 7);
    assert_int_equal(fk_store_begin(&g_main, &t, 0xCE01, total), FK_STORE_OK);
    for (uint32_t off = 0; off < total; off += 1000u) {
        const uint32_t n = total - off < 1000u ? total - off : 1000u;
        assert_int_equal(fk_store_append(&g_main, &t, g_buf + off, n), FK_STORE_OK);
    }
    assert_int_equal(fk_store_commit(&g_main, &t), FK_STORE_OK);
    assert_int_equal(fk_store_patch(&g_main, 0xCE01, 5000, "patched", 7, false), FK_STORE_OK);
    memcpy(g_buf + 5000, "patched", 7);

    /* A streaming write interrupted by a restart leaves no trace. */
    assert_int_equal(fk_store_begin(&g_main, &t, 0xCE02, 5000), FK_STORE_OK);
    assert_int_equal(fk_store_append(&g_main, &t, g_buf, 3000), FK_STORE_OK);
    fk_host_flash_close();

    power_up();
    expect(&g_main, 0xCE01, g_buf, total);
    uint32_t size;
    assert_int_equal(fk_store_size(&g_main, 0xCE02, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_delete(&g_main, 0xCE01), FK_STORE_OK);
    fk_host_flash_close();
    power_up();
    assert_int_equal(fk_store_size(&g_main, 0xCE01, &size), FK_STORE_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_and_patch_survive_restart, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
