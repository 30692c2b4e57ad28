/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_host_otp.c - the host port's OTP: a new file in the factory state,
 * raw and ECC views, the only-set-bits rule row by row (torn writes), page
 * locks as the secure firmware sees them, file format and persistence.
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
#define SERIAL_LEN 8u
#define LOCK1_PAGE0 0x000F81u
#define LOCK1_PAGE1 0x000F83u
#define LOCK1_PAGE2 0x000F85u
#define LOCK1_PAGE10 0x000F95u
#define LOCK1_PAGE11 0x000F97u
#define LOCK1_PAGE58 0x000FF5u
#define LOCK1_PAGE62 0x000FFDu
#define LOCK1_PAGE63 0x000FFFu
#define ROW_PAGE10 0x280u
#define ROW_PAGE11 0x2C0u
#define ROW_MKEK 0xE90u

static const uint8_t k_serial[SERIAL_LEN] = {0xF0, 0x5E, 0x0B, 0x1E, 0x5E, 0x21, 0xA1, 0xC0};

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
    fk_host_set_serial(k_serial);
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

/* A new file is a new chip: CHIPID = the serial (big-endian, row 0 =
 * bits 15:0), 128 random RANDID bits, the factory page locks, the rest
 * blank. */
static void test_factory_state(void **state)
{
    fixture_t *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, OTP_BYTES);
    assert_non_null(fk_host_otp_model());

    uint16_t chipid[4] = {0};
    assert_int_equal(fk_hal_otp_read_ecc(0, chipid, 4), FK_HAL_OK);
    for (unsigned i = 0; i < 4; i++) {
        const unsigned lo = SERIAL_LEN - 1u - 2u * i;
        assert_int_equal(chipid[i], k_serial[lo] | k_serial[lo - 1u] << 8);
    }
    uint16_t randid[8] = {0};
    assert_int_equal(fk_hal_otp_read_ecc(4, randid, 8), FK_HAL_OK);
    uint16_t any = 0;
    for (unsigned i = 0; i < 8; i++) any |= randid[i];
    assert_int_not_equal(any, 0);

    static uint32_t rows[FK_OTP_ROWS];
    assert_int_equal(fk_hal_otp_read_raw(0, rows, FK_OTP_ROWS), FK_HAL_OK);
    assert_int_equal(rows[LOCK1_PAGE0], 0x151515);
    assert_int_equal(rows[LOCK1_PAGE1], 0x040404);
    assert_int_equal(rows[LOCK1_PAGE2], 0x040404);
    assert_int_equal(rows[LOCK1_PAGE62], 0x040404);
    assert_int_equal(rows[LOCK1_PAGE63], 0x141414);
    for (unsigned i = 0x0C; i < FK_OTP_ROWS; i++) {
        const bool factory = i == LOCK1_PAGE0 || i == LOCK1_PAGE1 || i == LOCK1_PAGE2 ||
                             i == LOCK1_PAGE62 || i == LOCK1_PAGE63;
        if (!factory) assert_int_equal(rows[i], 0);
    }
    for (unsigned i = 0; i < FK_OTP_ROWS; i++) {
        assert_int_equal(file_row(f->path, (uint16_t)i), rows[i]);
    }
    /* Below the lock words every row reads 0 through ECC. */
    static uint16_t ecc[FK_OTP_ROWS];
    assert_int_equal(fk_hal_otp_read_ecc(0x0C, ecc, LOCK1_PAGE0 - 1u - 0x0C), FK_HAL_OK);
    for (unsigned i = 0; i < LOCK1_PAGE0 - 1u - 0x0C; i++) assert_int_equal(ecc[i], 0);
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

/* Rows are written one at a time, like the bootrom's otp_access: the first
 * row that would need a 1 -> 0 change stops the write with FK_HAL_EIO, and
 * the rows before it stay programmed, in memory and in the file. */
static void test_raw_write_torn(void **state)
{
    fixture_t *f = *state;
    const uint32_t setup_rows[3] = {0x000000, 0x000000, 0x0000F0};
    assert_int_equal(fk_hal_otp_write_raw(0x200, setup_rows, 3), FK_HAL_OK);
    const uint32_t vals[4] = {0x111111, 0x222222, 0x00000F, 0x333333}; /* row 2 would lose 0xF0 */
    assert_int_equal(fk_hal_otp_write_raw(0x200, vals, 4), FK_HAL_EIO);
    assert_int_equal(raw_row(0x200), 0x111111);
    assert_int_equal(raw_row(0x201), 0x222222);
    assert_int_equal(raw_row(0x202), 0x0000F0);
    assert_int_equal(raw_row(0x203), 0);
    assert_int_equal(file_row(f->path, 0x200), 0x111111);
    assert_int_equal(file_row(f->path, 0x201), 0x222222);
    assert_int_equal(file_row(f->path, 0x202), 0x0000F0);
    assert_int_equal(file_row(f->path, 0x203), 0);
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

    /* A row holding 0001 cannot take FFFF: the row before it is written
     * (a torn write), the one after it is not. */
    const uint16_t first = 0x0001;
    assert_int_equal(fk_hal_otp_write_ecc(0x411, &first, 1), FK_HAL_OK);
    assert_int_equal(raw_row(0x411), 0x230001);
    const uint16_t vals[3] = {0x5555, 0xFFFF, 0x1234};
    assert_int_equal(fk_hal_otp_write_ecc(0x410, vals, 3), FK_HAL_EIO);
    assert_int_equal(raw_row(0x410), 0x035555);
    assert_int_equal(file_row(f->path, 0x410), 0x035555);
    assert_int_equal(raw_row(0x411), 0x230001);
    assert_int_equal(raw_row(0x412), 0);
    assert_int_equal(file_row(f->path, 0x412), 0);
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
    assert_int_equal(fk_hal_otp_write_ecc(LAST_ROW - 0x80u, &v, 1), FK_HAL_OK);
    assert_int_equal(raw_row(LAST_ROW - 0x80u), 0x11ABCD);
    /* The last row is page 63's lock word (0x141414): ECC data does not fit. */
    assert_int_equal(raw_row(LAST_ROW), 0x141414);
    assert_int_equal(fk_hal_otp_write_ecc(LAST_ROW, &v, 1), FK_HAL_EIO);
    assert_int_equal(raw_row(LAST_ROW), 0x141414);
}

/* The firmware is the secure principal: page 0 (factory 0x151515) is
 * read-only to it, the NS-only lock of pages 1 and 2 does not bind it. */
static void test_factory_locks(void **state)
{
    (void)state;
    const uint32_t bit = 0x000001;
    uint32_t r = 0;
    assert_int_equal(fk_hal_otp_read_raw(0x00C, &r, 1), FK_HAL_OK);
    assert_int_equal(fk_hal_otp_write_raw(0x00C, &bit, 1), FK_HAL_EPERM);
    assert_int_equal(raw_row(0x00C), 0);
    const uint16_t v = 0x0001;
    assert_int_equal(fk_hal_otp_write_ecc(0x03F, &v, 1), FK_HAL_EPERM);
    const uint32_t rr = 0x000800; /* ROLLBACK_REQUIRED copy */
    assert_int_equal(fk_hal_otp_write_raw(0x048, &rr, 1), FK_HAL_OK);
    assert_int_equal(raw_row(0x048), 0x000800);
}

/* Lock words take effect at the next OTP reset (here: the next open).
 * After it, a read-only page refuses writes and an inaccessible page
 * refuses reads (FK_HAL_EPERM); the page-58 lock leaves the firmware its
 * keys while BOOTSEL can no longer read them. */
static void test_page_locks(void **state)
{
    fixture_t *f = *state;
    static const uint16_t mkek[16] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666,
                                      0x7777, 0x8888, 0x9999, 0xAAAA, 0xBBBB, 0xCCCC,
                                      0xDDDD, 0xEEEE, 0x0F0F, 0xF0F0};
    assert_int_equal(fk_hal_otp_write_ecc(ROW_MKEK, mkek, 16), FK_HAL_OK);
    const uint32_t ro = 0x010101, gone = 0x030303, page58 = 0x3C3C3C;
    assert_int_equal(fk_hal_otp_write_raw(LOCK1_PAGE10, &ro, 1), FK_HAL_OK);
    assert_int_equal(fk_hal_otp_write_raw(LOCK1_PAGE11, &gone, 1), FK_HAL_OK);
    assert_int_equal(fk_hal_otp_write_raw(LOCK1_PAGE58, &page58, 1), FK_HAL_OK);
    const uint32_t one = 0x000001;
    assert_int_equal(fk_hal_otp_write_raw(ROW_PAGE10, &one, 1), FK_HAL_OK); /* not yet */

    fk_host_otp_close();
    assert_null(fk_host_otp_model());
    assert_int_equal(fk_host_otp_open(f->path), 0);
    const uint32_t three = 0x000003;
    assert_int_equal(fk_hal_otp_write_raw(ROW_PAGE10, &three, 1), FK_HAL_EPERM);
    assert_int_equal(raw_row(ROW_PAGE10), 0x000001);
    uint32_t r = 0;
    assert_int_equal(fk_hal_otp_read_raw(ROW_PAGE11, &r, 1), FK_HAL_EPERM);
    uint16_t e = 0;
    assert_int_equal(fk_hal_otp_read_ecc(ROW_PAGE11 + 5u, &e, 1), FK_HAL_EPERM);
    /* A read that reaches a refused row fails as a whole. */
    uint32_t span[2] = {0};
    assert_int_equal(fk_hal_otp_read_raw(ROW_PAGE11 - 1u, span, 2), FK_HAL_EPERM);

    uint16_t got[16] = {0};
    assert_int_equal(fk_hal_otp_read_ecc(ROW_MKEK, got, 16), FK_HAL_OK);
    assert_memory_equal(got, mkek, sizeof mkek);

    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    assert_int_equal(fk_otp_alias_raw(m, FK_OTP_NONSECURE, ROW_MKEK), 0xFFFFFFFFu);
    fk_otp_enter_bootsel(m);
    assert_int_equal(fk_otp_read_ecc(m, FK_OTP_BOOTSEL, ROW_MKEK, got, 1, NULL),
                     FK_OTP_ENOT_PERMITTED);
}

/* The stepping and chip id of an explicit open; a second open is refused. */
static void test_open_chip(void **state)
{
    fixture_t *f = *state;
    fk_host_otp_close();
    static const uint8_t chip[SERIAL_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
    char path[TMPPATH_CAP];
    tmpdir_path(&f->tmp, "a3.bin", path);
    assert_int_equal(fk_host_otp_open_chip(path, FK_OTP_STEPPING_A3, chip), 0);
    assert_int_equal(fk_host_otp_model()->stepping, FK_OTP_STEPPING_A3);
    assert_int_equal(fk_host_otp_open(f->path), -1);
    uint16_t id[4] = {0};
    assert_int_equal(fk_hal_otp_read_ecc(0, id, 4), FK_HAL_OK);
    assert_int_equal(id[0], 0x0708);
    assert_int_equal(id[3], 0x0102);
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
    assert_int_equal(fk_host_otp_open(f->path), 0); /* a new chip again */
    assert_int_equal(raw_row(0x7FF), 0);
    assert_int_equal(raw_row(LOCK1_PAGE63), 0x141414);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_factory_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_write_torn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecc_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecc_write_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecc_read_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_factory_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_locks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_chip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
