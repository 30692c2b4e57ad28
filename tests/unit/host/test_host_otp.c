/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_host_otp.c - the host port's OTP file: raw and ECC views, the
 * only-set-bits rule (all or nothing), file format and persistence.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hal.h"
#include "host_port.h"
#include "tmpdir.h"

#define ROW_BYTES 4u
#define OTP_BYTES (FK_OTP_ROWS * ROW_BYTES)
#define LAST_ROW (FK_OTP_ROWS - 1u)

typedef struct {
    tmpdir_t tmp;
    char path[TMPPATH_CAP];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    tmpdir_make(&f->tmp);
    tmpdir_path(&f->tmp, "otp.bin", f->path);
    if (fk_host_otp_open(f->path) != 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fk_host_otp_close();
    tmpdir_remove(&f->tmp);
    free(f);
    return 0;
}

/* The raw row as stored in the file (4 bytes little-endian). */
static uint32_t file_row(const char *path, uint16_t row)
{
    uint8_t b[ROW_BYTES];
    const int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, sizeof b, (off_t)row * ROW_BYTES), (ssize_t)sizeof b);
    close(fd);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t raw_row(uint16_t row)
{
    uint32_t v = 0xDEADBEEF;
    assert_int_equal(fk_hal_otp_read_raw(row, &v, 1), FK_HAL_OK);
    return v;
}

static void test_blank(void **state)
{
    fixture_t *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, OTP_BYTES);
    static uint32_t rows[FK_OTP_ROWS];
    assert_int_equal(fk_hal_otp_read_raw(0, rows, FK_OTP_ROWS), FK_HAL_OK);
    for (unsigned i = 0; i < FK_OTP_ROWS; i++) assert_int_equal(rows[i], 0);
    static uint16_t ecc[FK_OTP_ROWS];
    assert_int_equal(fk_hal_otp_read_ecc(0, ecc, FK_OTP_ROWS), FK_HAL_OK);
    for (unsigned i = 0; i < FK_OTP_ROWS; i++) assert_int_equal(ecc[i], 0);
}

static void test_raw_write(void **state)
{
    fixture_t *f = *state;
    const uint32_t one = 0x000001;
    assert_int_equal(fk_hal_otp_write_raw(0x100, &one, 1), FK_HAL_OK);
    assert_int_equal(file_row(f->path, 0x100), 0x000001);

    /* The API never ORs for the caller: 000800 would clear bit 0. */
    const uint32_t bit11 = 0x000800;
    assert_int_equal(fk_hal_otp_write_raw(0x100, &bit11, 1), FK_HAL_EIO);
    assert_int_equal(raw_row(0x100), 0x000001);
    const uint32_t both = 0x000801;
    assert_int_equal(fk_hal_otp_write_raw(0x100, &both, 1), FK_HAL_OK);
    assert_int_equal(raw_row(0x100), 0x000801);
    assert_int_equal(fk_hal_otp_write_raw(0x100, &both, 1), FK_HAL_OK); /* idempotent */

    /* Bits 31:24 are ignored, as by the bootrom. */
    const uint32_t high = 0xFF800000;
    assert_int_equal(fk_hal_otp_write_raw(0x101, &high, 1), FK_HAL_OK);
    assert_int_equal(raw_row(0x101), 0x800000);
    assert_int_equal(file_row(f->path, 0x101), 0x800000);
}

/* One failing row fails the whole write; the other rows stay untouched,
 * in memory and in the file. */
static void test_raw_write_all_or_nothing(void **state)
{
    fixture_t *f = *state;
    const uint32_t setup_rows[3] = {0x000000, 0x000000, 0x0000F0};
    assert_int_equal(fk_hal_otp_write_raw(0x200, setup_rows, 3), FK_HAL_OK);
    const uint32_t vals[3] = {0x111111, 0x222222, 0x00000F}; /* row 3 would lose 0xF0 */
    assert_int_equal(fk_hal_otp_write_raw(0x200, vals, 3), FK_HAL_EIO);
    assert_int_equal(raw_row(0x200), 0);
    assert_int_equal(raw_row(0x201), 0);
    assert_int_equal(raw_row(0x202), 0x0000F0);
    assert_int_equal(file_row(f->path, 0x200), 0);
    assert_int_equal(file_row(f->path, 0x201), 0);
    assert_int_equal(file_row(f->path, 0x202), 0x0000F0);
}

static void test_ecc_write_read(void **state)
{
    fixture_t *f = *state;
    const uint16_t vals[3] = {0x1234, 0xBEEF, 0x0000};
    assert_int_equal(fk_hal_otp_write_ecc(0x300, vals, 3), FK_HAL_OK);
    assert_int_equal(raw_row(0x300), 0x191234);
    assert_int_equal(raw_row(0x301), 0x0EBEEF);
    assert_int_equal(file_row(f->path, 0x301), 0x0EBEEF);
    uint16_t got[3] = {0};
    assert_int_equal(fk_hal_otp_read_ecc(0x300, got, 3), FK_HAL_OK);
    assert_memory_equal(got, vals, sizeof vals);

    /* Bit repair by polarity: a row holding 000001 takes 1234 inverted. */
    const uint32_t one = 0x000001;
    assert_int_equal(fk_hal_otp_write_raw(0x310, &one, 1), FK_HAL_OK);
    const uint16_t v = 0x1234;
    assert_int_equal(fk_hal_otp_write_ecc(0x310, &v, 1), FK_HAL_OK);
    assert_int_equal(raw_row(0x310), 0xE6EDCB);
    assert_int_equal(fk_hal_otp_read_ecc(0x310, got, 1), FK_HAL_OK);
    assert_int_equal(got[0], 0x1234);
}

static void test_ecc_write_refused(void **state)
{
    fixture_t *f = *state;
    const uint32_t three = 0x000003;
    assert_int_equal(fk_hal_otp_write_raw(0x400, &three, 1), FK_HAL_OK);
    const uint16_t two = 0x0002;
    assert_int_equal(fk_hal_otp_write_ecc(0x400, &two, 1), FK_HAL_EIO);
    assert_int_equal(raw_row(0x400), 0x000003);

    /* A row holding 0001 cannot take FFFF; the row before it must stay blank. */
    const uint16_t first = 0x0001;
    assert_int_equal(fk_hal_otp_write_ecc(0x411, &first, 1), FK_HAL_OK);
    assert_int_equal(raw_row(0x411), 0x230001);
    const uint16_t vals[2] = {0x5555, 0xFFFF};
    assert_int_equal(fk_hal_otp_write_ecc(0x410, vals, 2), FK_HAL_EIO);
    assert_int_equal(raw_row(0x410), 0);
    assert_int_equal(file_row(f->path, 0x410), 0);
    assert_int_equal(raw_row(0x411), 0x230001);
}

static void test_ecc_read_errors(void **state)
{
    (void)state;
    const uint32_t rows[3] = {0x191235, 0x191234, 0x191237}; /* 1 error, none, 2 errors */
    assert_int_equal(fk_hal_otp_write_raw(0x500, rows, 3), FK_HAL_OK);
    uint16_t got[3] = {0};
    assert_int_equal(fk_hal_otp_read_ecc(0x500, got, 2), FK_HAL_OK);
    assert_int_equal(got[0], 0x1234);
    assert_int_equal(got[1], 0x1234);
    assert_int_equal(fk_hal_otp_read_ecc(0x502, got, 1), FK_HAL_EIO);
    assert_int_equal(fk_hal_otp_read_ecc(0x500, got, 3), FK_HAL_EIO);

    const uint32_t destroyed = 0xFFFFFF;
    assert_int_equal(fk_hal_otp_write_raw(0x510, &destroyed, 1), FK_HAL_OK);
    got[0] = 0xAAAA;
    assert_int_equal(fk_hal_otp_read_ecc(0x510, got, 1), FK_HAL_OK);
    assert_int_equal(got[0], 0x0000);
}

static void test_range(void **state)
{
    (void)state;
    uint32_t raw[2] = {0};
    uint16_t ecc[2] = {0};
    assert_int_equal(fk_hal_otp_read_raw(LAST_ROW, raw, 1), FK_HAL_OK);
    assert_int_equal(fk_hal_otp_read_raw(LAST_ROW, raw, 2), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_otp_read_raw(FK_OTP_ROWS, raw, 1), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_otp_read_raw(0, raw, SIZE_MAX), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_otp_write_raw(LAST_ROW, raw, 2), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_otp_read_ecc(UINT16_MAX, ecc, 1), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_otp_write_ecc(LAST_ROW, ecc, 2), FK_HAL_ERANGE);
    const uint16_t v = 0xABCD;
    assert_int_equal(fk_hal_otp_write_ecc(LAST_ROW, &v, 1), FK_HAL_OK);
    assert_int_equal(raw_row(LAST_ROW), 0x11ABCD);
}

static void test_persistence_and_format(void **state)
{
    fixture_t *f = *state;
    const uint32_t v = 0xABCDEF;
    assert_int_equal(fk_hal_otp_write_raw(0x7FF, &v, 1), FK_HAL_OK);
    fk_host_otp_close();
    uint32_t r;
    assert_int_equal(fk_hal_otp_read_raw(0, &r, 1), FK_HAL_EIO); /* closed */

    uint8_t b[ROW_BYTES];
    const int fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, sizeof b, 0x7FF * ROW_BYTES), (ssize_t)sizeof b);
    assert_int_equal(b[0], 0xEF); /* little-endian */
    assert_int_equal(b[1], 0xCD);
    assert_int_equal(b[2], 0xAB);
    assert_int_equal(b[3], 0x00);

    assert_int_equal(fk_host_otp_open(f->path), 0);
    assert_int_equal(raw_row(0x7FF), 0xABCDEF);
    fk_host_otp_close();

    /* A row with bits above 23 is not an OTP image: refused. */
    const uint8_t bad = 0x01;
    assert_int_equal(pwrite(fd, &bad, 1, 0x10 * ROW_BYTES + 3), 1);
    assert_int_equal(fk_host_otp_open(f->path), -1);
    /* Neither is a file of another size. */
    assert_int_equal(ftruncate(fd, OTP_BYTES - ROW_BYTES), 0);
    assert_int_equal(fk_host_otp_open(f->path), -1);
    close(fd);
    unlink(f->path);
    assert_int_equal(fk_host_otp_open(f->path), 0); /* fresh and blank again */
    assert_int_equal(raw_row(0x7FF), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_write_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecc_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecc_write_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecc_read_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
