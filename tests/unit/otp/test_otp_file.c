/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_otp_file.c - the OTP image file: factory state on creation, reload,
 * write-through, the exclusive lock, refusal of files that are not OTP
 * images.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "otp_file.h"

#define ROW_BYTES 4u
#define DIR_CAP 64u
#define PATH_CAP 512u
#define ERR_CAP 256u
#define ROW_USER 0x123u

static const uint8_t k_chipid[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

typedef struct {
    char dir[DIR_CAP];
    char path[PATH_CAP];
} fixture_t;

static fk_otp_t g_otp, g_other;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    strcpy(f->dir, "fk-otp-file-XXXXXX");
    if (mkdtemp(f->dir) == NULL) return -1;
    snprintf(f->path, sizeof f->path, "%s/otp.bin", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        char p[PATH_CAP * 2];
        for (const struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (const struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
}

static uint32_t file_row(const char *path, uint16_t row)
{
    uint8_t b[ROW_BYTES];
    const int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, sizeof b, (off_t)row * ROW_BYTES), (ssize_t)sizeof b);
    close(fd);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void test_create_factory(void **state)
{
    fixture_t *f = *state;
    fk_otp_file_t of;
    char err[ERR_CAP];
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A3, k_chipid, err,
                                      sizeof err),
                     0);
    assert_int_equal(entries(f->dir), 1); /* no temporary file left */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, FK_OTP_FILE_SIZE);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(g_otp.stepping, FK_OTP_STEPPING_A3);

    uint16_t id[4];
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_CHIPID, id, 4, NULL),
                     FK_OTP_OK);
    assert_int_equal(id[0], 0xCDEF);
    assert_int_equal(id[3], 0x0123);
    uint16_t rid[8], any = 0;
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_RANDID, rid, 8, NULL),
                     FK_OTP_OK);
    for (unsigned i = 0; i < 8; i++) any |= rid[i];
    assert_int_not_equal(any, 0);
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++) {
        assert_int_equal(file_row(f->path, (uint16_t)r), g_otp.raw[r]);
    }
    assert_int_equal(g_otp.raw[FK_OTP_ROW_PAGE_LOCK1(0)], 0x151515);
    assert_int_equal(g_otp.raw[FK_OTP_ROW_PAGE_LOCK1(63)], 0x141414);
    /* Opened = reset: the factory locks are in force. */
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, 0), FK_OTP_LOCK_RO);
    fk_otp_file_close(&of);
    assert_int_equal(of.fd, -1);

    /* Another new chip has another RANDID. */
    char other[PATH_CAP * 2];
    snprintf(other, sizeof other, "%s/other.bin", f->dir);
    assert_int_equal(fk_otp_file_open(&of, other, &g_other, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     0);
    assert_memory_not_equal(&g_other.raw[FK_OTP_ROW_RANDID], &g_otp.raw[FK_OTP_ROW_RANDID],
                            FK_OTP_RANDID_ROWS * sizeof(uint32_t));
    fk_otp_file_close(&of);
    fk_otp_file_close(&of); /* closing twice does nothing */
}

/* Rows are written through as programmed, little-endian, and come back. */
static void test_write_through_and_reload(void **state)
{
    fixture_t *f = *state;
    fk_otp_file_t of;
    char err[ERR_CAP];
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     0);
    const uint32_t v = 0xABCDEF;
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, ROW_USER, &v, 1), FK_OTP_OK);
    assert_int_equal(file_row(f->path, ROW_USER), 0xABCDEF);
    const uint32_t lock = FK_OTP_LOCK1_PAGE58;
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE,
                                      (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), &lock, 1),
                     FK_OTP_OK);
    fk_otp_file_close(&of);
    /* Once closed the model cannot persist: the write fails. */
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, ROW_USER + 1u, &v, 1),
                     FK_OTP_EPERSIST);

    const uint8_t other_chip[8] = {0};
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_other, FK_OTP_STEPPING_A2, other_chip, err,
                                      sizeof err),
                     0);
    assert_int_equal(g_other.raw[ROW_USER], 0xABCDEF);
    assert_int_equal(g_other.raw[ROW_USER + 1u], 0);
    assert_memory_equal(&g_other.raw[0], &g_otp.raw[0], 12 * sizeof(uint32_t)); /* same chip */
    /* The page-58 lock written last session is in force now. */
    assert_int_equal(fk_otp_level(&g_other, FK_OTP_NONSECURE, FK_OTP_PAGE_KEYS),
                     FK_OTP_LOCK_INACCESSIBLE);
    fk_otp_file_close(&of);
}

static void test_in_use_refused(void **state)
{
    fixture_t *f = *state;
    fk_otp_file_t a, b;
    char err[ERR_CAP];
    assert_int_equal(fk_otp_file_open(&a, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     0);
    assert_int_equal(fk_otp_file_open(&b, f->path, &g_other, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     -1);
    assert_int_equal(b.fd, -1);
    assert_non_null(strstr(err, "is in use by another program"));
    assert_non_null(strstr(err, f->path));
    fk_otp_file_close(&a);
    assert_int_equal(fk_otp_file_open(&b, f->path, &g_other, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     0);
    fk_otp_file_close(&b);
}

static void test_bad_files_refused(void **state)
{
    fixture_t *f = *state;
    fk_otp_file_t of;
    char err[ERR_CAP];
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     0);
    fk_otp_file_close(&of);

    const int fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    const uint8_t high = 0x01;
    assert_int_equal(pwrite(fd, &high, 1, 0x10 * ROW_BYTES + 3), 1);
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     -1);
    assert_non_null(strstr(err, "bits above bit 23"));
    assert_int_equal(of.fd, -1);
    /* The model is left blank, not half loaded. */
    assert_int_equal(g_otp.raw[FK_OTP_ROW_PAGE_LOCK1(0)], 0);

    const uint8_t zero = 0;
    assert_int_equal(pwrite(fd, &zero, 1, 0x10 * ROW_BYTES + 3), 1);
    assert_int_equal(ftruncate(fd, FK_OTP_FILE_SIZE + ROW_BYTES), 0);
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     -1);
    assert_non_null(strstr(err, "bytes, expected"));
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     -1);
    assert_int_equal(ftruncate(fd, FK_OTP_FILE_SIZE), 0);
    close(fd);
    assert_int_equal(fk_otp_file_open(&of, f->path, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     0); /* an all-zero file is a blank array: accepted as is */
    assert_int_equal(g_otp.raw[FK_OTP_ROW_PAGE_LOCK1(0)], 0);
    fk_otp_file_close(&of);

    /* A directory is not an OTP file; a missing one without a chip id is
     * not created; a path in a missing directory cannot be. */
    assert_int_equal(fk_otp_file_open(&of, f->dir, &g_otp, FK_OTP_STEPPING_A2, k_chipid, err,
                                      sizeof err),
                     -1);
    char p[PATH_CAP * 2];
    snprintf(p, sizeof p, "%s/new.bin", f->dir);
    assert_int_equal(
        fk_otp_file_open(&of, p, &g_otp, FK_OTP_STEPPING_A2, NULL, err, sizeof err), -1);
    snprintf(p, sizeof p, "%s/missing/otp.bin", f->dir);
    assert_int_equal(fk_otp_file_open(&of, p, &g_otp, FK_OTP_STEPPING_A2, k_chipid, NULL, 0), -1);
    assert_int_equal(entries(f->dir), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_factory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_through_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_use_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
