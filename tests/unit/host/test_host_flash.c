/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_host_flash.c - the host port's flash file: creation, NOR semantics,
 * alignment and range rules, write-through and persistence.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hal.h"
#include "host_port.h"
#include "tmpdir.h"

#define SECTOR FK_HOST_SECTOR_SIZE
#define PAGE FK_HOST_PAGE_SIZE
#define SMALL_SIZE (8u * SECTOR)

typedef struct {
    tmpdir_t tmp;
    char path[TMPPATH_CAP];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    tmpdir_make(&f->tmp);
    tmpdir_path(&f->tmp, "flash.bin", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fk_host_flash_close();
    tmpdir_remove(&f->tmp);
    free(f);
    return 0;
}

/* The bytes the file holds at off, read past the port. */
static void file_bytes(const char *path, uint32_t off, void *buf, size_t len)
{
    const int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != v) return false;
    }
    return true;
}

static void test_create_default(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, 0), 0);
    fk_flash_geometry_t geo;
    fk_hal_flash_geometry(&geo);
    assert_int_equal(geo.size, FK_HOST_FLASH_SIZE);
    assert_int_equal(geo.sector_size, SECTOR);
    assert_int_equal(geo.page_size, PAGE);

    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, FK_HOST_FLASH_SIZE);
    assert_int_equal(tmpdir_count(&f->tmp), 1); /* no temporary file left */

    static uint8_t buf[SECTOR];
    for (uint32_t off = 0; off < FK_HOST_FLASH_SIZE; off += SECTOR) {
        assert_int_equal(fk_hal_flash_read(off, buf, sizeof buf), FK_HAL_OK);
        assert_true(all_bytes(buf, sizeof buf, 0xFF));
    }
    file_bytes(f->path, FK_HOST_FLASH_SIZE - SECTOR, buf, sizeof buf);
    assert_true(all_bytes(buf, sizeof buf, 0xFF));
}

static void test_program_is_and(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    const uint8_t a[4] = {0xF0, 0x0F, 0xAA, 0x00};
    const uint8_t b[4] = {0x3C, 0xFF, 0x55, 0xFF};
    const uint8_t want[4] = {0x30, 0x0F, 0x00, 0x00};
    assert_int_equal(fk_hal_flash_program(SECTOR + 10, a, sizeof a), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_program(SECTOR + 10, b, sizeof b), FK_HAL_OK);
    uint8_t got[6];
    assert_int_equal(fk_hal_flash_read(SECTOR + 9, got, sizeof got), FK_HAL_OK);
    assert_int_equal(got[0], 0xFF);
    assert_memory_equal(got + 1, want, sizeof want);
    assert_int_equal(got[5], 0xFF);
    /* Written through: the file already holds it. */
    file_bytes(f->path, SECTOR + 10, got, sizeof want);
    assert_memory_equal(got, want, sizeof want);
}

static void test_program_page_rules(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    static uint8_t zeros[PAGE + 1];
    uint8_t buf[PAGE + 16];

    assert_int_equal(fk_hal_flash_program(PAGE - 6, zeros, 10), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_program(PAGE, zeros, PAGE + 1), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_program(1, zeros, PAGE), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_read(0, buf, sizeof buf), FK_HAL_OK);
    assert_true(all_bytes(buf, sizeof buf, 0xFF)); /* a refused program changed nothing */
    file_bytes(f->path, 0, buf, sizeof buf);
    assert_true(all_bytes(buf, sizeof buf, 0xFF));

    assert_int_equal(fk_hal_flash_program(PAGE, zeros, PAGE), FK_HAL_OK); /* a whole page */
    assert_int_equal(fk_hal_flash_program(2 * PAGE - 1, zeros, 1), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_program(3 * PAGE, zeros, 0), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_read(PAGE - 1, buf, PAGE + 2), FK_HAL_OK);
    assert_int_equal(buf[0], 0xFF);
    assert_true(all_bytes(buf + 1, PAGE, 0x00));
    assert_int_equal(buf[PAGE + 1], 0xFF);
}

static void test_erase_rules(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    static uint8_t zeros[PAGE];
    /* Program the last page of sector 0, the first of sector 1 and of sector 2. */
    assert_int_equal(fk_hal_flash_program(SECTOR - PAGE, zeros, PAGE), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_program(SECTOR, zeros, PAGE), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_program(2 * SECTOR, zeros, PAGE), FK_HAL_OK);

    assert_int_equal(fk_hal_flash_erase(SECTOR + PAGE), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_erase(1), FK_HAL_EALIGN);
    uint8_t buf[PAGE];
    assert_int_equal(fk_hal_flash_read(SECTOR, buf, sizeof buf), FK_HAL_OK);
    assert_true(all_bytes(buf, sizeof buf, 0x00));

    assert_int_equal(fk_hal_flash_erase(SECTOR), FK_HAL_OK);
    static uint8_t sector[SECTOR];
    assert_int_equal(fk_hal_flash_read(SECTOR, sector, sizeof sector), FK_HAL_OK);
    assert_true(all_bytes(sector, sizeof sector, 0xFF));
    file_bytes(f->path, SECTOR, sector, sizeof sector);
    assert_true(all_bytes(sector, sizeof sector, 0xFF));
    /* Neighbours untouched. */
    assert_int_equal(fk_hal_flash_read(SECTOR - PAGE, buf, sizeof buf), FK_HAL_OK);
    assert_true(all_bytes(buf, sizeof buf, 0x00));
    assert_int_equal(fk_hal_flash_read(2 * SECTOR, buf, sizeof buf), FK_HAL_OK);
    assert_true(all_bytes(buf, sizeof buf, 0x00));
}

static void test_range(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    uint8_t buf[4] = {0};
    assert_int_equal(fk_hal_flash_read(SMALL_SIZE - 4, buf, 4), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_read(SMALL_SIZE - 3, buf, 4), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_read(SMALL_SIZE, buf, 1), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_read(UINT32_MAX, buf, 2), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_read(0, buf, SIZE_MAX), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_program(SMALL_SIZE, buf, 1), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_program(UINT32_MAX, buf, 2), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_erase(SMALL_SIZE), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_erase(UINT32_MAX), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_program(SMALL_SIZE - 4, buf, 4), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_erase(SMALL_SIZE - SECTOR), FK_HAL_OK);
}

static void test_persistence(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    const uint8_t data[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    assert_int_equal(fk_hal_flash_program(3 * SECTOR + 17, data, sizeof data), FK_HAL_OK);
    fk_host_flash_close();

    uint8_t buf[sizeof data];
    assert_int_equal(fk_hal_flash_read(0, buf, 1), FK_HAL_EIO); /* closed */

    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    assert_int_equal(fk_hal_flash_read(3 * SECTOR + 17, buf, sizeof buf), FK_HAL_OK);
    assert_memory_equal(buf, data, sizeof data);
    fk_host_flash_close();
    fk_host_flash_close(); /* closing twice is harmless */
}

static void test_refusals(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), -1); /* already open */
    fk_host_flash_close();

    assert_int_equal(fk_host_flash_open(f->path, 0), -1);               /* size mismatch */
    assert_int_equal(fk_host_flash_open(f->path, 2 * SMALL_SIZE), -1); /* size mismatch */
    char other[TMPPATH_CAP];
    tmpdir_path(&f->tmp, "odd.bin", other);
    assert_int_equal(fk_host_flash_open(other, SECTOR + 1), -1); /* not whole sectors */

    /* A truncated image (as a crash while copying could leave) is refused. */
    tmpdir_path(&f->tmp, "short.bin", other);
    const int fd = open(other, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    static const uint8_t ff[100] = {0xFF};
    assert_int_equal(write(fd, ff, sizeof ff), (ssize_t)sizeof ff);
    close(fd);
    assert_int_equal(fk_host_flash_open(other, SMALL_SIZE), -1);

    /* An image locked by another user of the file is refused. */
    const int lock_fd = open(f->path, O_RDONLY);
    assert_true(lock_fd >= 0);
    assert_int_equal(flock(lock_fd, LOCK_EX), 0);
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), -1);
    close(lock_fd);
    assert_int_equal(fk_host_flash_open(f->path, SMALL_SIZE), 0);

    /* A path that cannot be created. */
    tmpdir_path(&f->tmp, "no-such-dir/flash.bin", other);
    fk_host_flash_close();
    assert_int_equal(fk_host_flash_open(other, SMALL_SIZE), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_is_and, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_page_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
