/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_otp_model.c - the RP2350 OTP model against the scenarios of the OTP
 * spec (rp2350-otp-and-boot.md section 9, items 2-13): bit repair on ECC
 * writes, the only-set-bits rule, torn writes, votes, page locks and soft
 * locks for every principal and both steppings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otp_model.h"

#define ROW_USER 0x100u    /* page 4: blank, no locks */
#define ROW_USER2 0x300u   /* page 12 */
#define PAGE_USER 4u
#define PAGE_USER2 12u
#define ALL_ONES_ROW 0xFFFFFFu
#define KEY_ROWS 16u

static const uint8_t k_chipid[8] = {0xF0, 0x5E, 0x0B, 0x1E, 0x5E, 0x21, 0xA1, 0xC0};
static const uint8_t k_randid[16] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,
                                     0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

/* A recorder for the persistence hook. */
typedef struct {
    unsigned calls;
    uint16_t last_row;
    uint32_t last_value;
    unsigned fail_after; /* fail the call numbered fail_after (1-based); 0: never */
} persist_log_t;

static int record_persist(void *arg, uint16_t row, uint32_t value)
{
    persist_log_t *log = arg;
    log->calls++;
    log->last_row = row;
    log->last_value = value;
    return log->fail_after != 0u && log->calls == log->fail_after ? -1 : 0;
}

static fk_otp_t g_otp; /* 16 KiB: not on the stack */
static persist_log_t g_log;

/* A new chip (factory state) of the given stepping, logging persistence. */
static void new_chip(fk_otp_stepping_t stepping)
{
    fk_otp_init(&g_otp, stepping);
    assert_int_equal(fk_otp_factory(&g_otp, k_chipid, k_randid), FK_OTP_OK);
    memset(&g_log, 0, sizeof g_log);
    g_otp.persist = record_persist;
    g_otp.persist_arg = &g_log;
}

static uint32_t raw(uint16_t row)
{
    uint32_t v = 0xDEADBEEF;
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, row, &v, 1), FK_OTP_OK);
    return v;
}

static void put_raw(uint16_t row, uint32_t v)
{
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, row, &v, 1), FK_OTP_OK);
}

/* ---- Factory state ------------------------------------------------------ */

static void test_factory(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    uint16_t id[4];
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_CHIPID, id, 4, NULL),
                     FK_OTP_OK);
    assert_int_equal(id[0], 0xA1C0); /* row 0 = bits 15:0 of the big-endian id */
    assert_int_equal(id[1], 0x5E21);
    assert_int_equal(id[2], 0x0B1E);
    assert_int_equal(id[3], 0xF05E);
    uint16_t rid[8];
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_RANDID, rid, 8, NULL),
                     FK_OTP_OK);
    assert_int_equal(rid[0], 0x3210); /* bytes 2i, 2i+1 -> low, high */
    assert_int_equal(rid[7], 0xEFCD);
    assert_int_equal(raw(FK_OTP_ROW_PAGE_LOCK1(0)), 0x151515);
    assert_int_equal(raw(FK_OTP_ROW_PAGE_LOCK1(1)), 0x040404);
    assert_int_equal(raw(FK_OTP_ROW_PAGE_LOCK1(2)), 0x040404);
    assert_int_equal(raw(FK_OTP_ROW_PAGE_LOCK1(62)), 0x040404);
    assert_int_equal(raw(FK_OTP_ROW_PAGE_LOCK1(63)), 0x141414);
    assert_int_equal(raw(FK_OTP_ROW_PAGE_LOCK1(58)), 0);
    /* The factory ends with a reset: the locks are in force. */
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, 0), FK_OTP_LOCK_RO);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, 1), FK_OTP_LOCK_RO);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, 1), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, 58), FK_OTP_LOCK_RW);
    const uint16_t v = 1;
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, 0x00C, &v, 1),
                     FK_OTP_ENOT_PERMITTED);
}

/* ---- ECC writes (scenario 2) -------------------------------------------- */

static void test_brbp_writes(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    put_raw(ROW_USER, 0x000001);
    const uint16_t v1234 = 0x1234;
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER, &v1234, 1), FK_OTP_OK);
    assert_int_equal(raw(ROW_USER), 0xE6EDCB);
    uint16_t d = 0;
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, ROW_USER, &d, 1, NULL), FK_OTP_OK);
    assert_int_equal(d, 0x1234);

    put_raw(ROW_USER + 1u, 0x000003);
    const uint16_t v2 = 0x0002;
    const unsigned calls = g_log.calls;
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER + 1u, &v2, 1),
                     FK_OTP_EUNSUPPORTED_MODIFICATION);
    assert_int_equal(raw(ROW_USER + 1u), 0x000003);
    assert_int_equal(g_log.calls, calls);

    const uint16_t v1 = 0x0001, vffff = 0xFFFF;
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER + 2u, &v1, 1), FK_OTP_OK);
    assert_int_equal(raw(ROW_USER + 2u), 0x230001);
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER + 2u, &vffff, 1),
                     FK_OTP_EUNSUPPORTED_MODIFICATION);

    /* Identical data again: success, nothing programmed. */
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER + 3u, &v1234, 1), FK_OTP_OK);
    assert_int_equal(raw(ROW_USER + 3u), 0x191234);
    const unsigned before = g_log.calls;
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER + 3u, &v1234, 1), FK_OTP_OK);
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, ROW_USER, &v1234, 1), FK_OTP_OK);
    assert_int_equal(g_log.calls, before);
}

/* ---- Raw writes (scenario 3) -------------------------------------------- */

static void test_raw_writes(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    put_raw(ROW_USER, 0x000001);
    assert_int_equal(g_log.calls, 1);
    assert_int_equal(g_log.last_row, ROW_USER);
    assert_int_equal(g_log.last_value, 0x000001);
    const uint32_t bit11 = 0x000800;
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, ROW_USER, &bit11, 1),
                     FK_OTP_EUNSUPPORTED_MODIFICATION);
    assert_int_equal(raw(ROW_USER), 0x000001);
    put_raw(ROW_USER, 0x000801);
    assert_int_equal(raw(ROW_USER), 0x000801);
    put_raw(ROW_USER, 0x000801); /* idempotent */
    assert_int_equal(g_log.calls, 2);
    put_raw(ROW_USER + 1u, 0xAB800001u); /* bits 31:24 ignored */
    assert_int_equal(raw(ROW_USER + 1u), 0x800001);
    assert_int_equal(g_log.last_value, 0x800001);
    assert_string_equal(fk_otp_strerror(FK_OTP_EUNSUPPORTED_MODIFICATION),
                        "unsupported modification");
    assert_string_equal(fk_otp_strerror(FK_OTP_ENOT_PERMITTED), "permission failure");
}

/* ---- Torn writes (scenario 4) ------------------------------------------- */

static void test_torn_ecc_write(void **state)
{
    (void)state;
    uint16_t key[KEY_ROWS];
    for (unsigned i = 0; i < KEY_ROWS; i++) key[i] = (uint16_t)(0x0202u * (i + 1u));
    for (unsigned k = 0; k < KEY_ROWS; k++) {
        new_chip(FK_OTP_STEPPING_A2);
        put_raw((uint16_t)(FK_OTP_ROW_MKEK + k), 0x000003); /* no polarity of key[k] fits */
        key[k] = 0x0002;
        const unsigned calls = g_log.calls;
        assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, key, KEY_ROWS),
                         FK_OTP_EUNSUPPORTED_MODIFICATION);
        assert_int_equal(g_log.calls - calls, k);
        for (unsigned i = 0; i < KEY_ROWS; i++) {
            const uint32_t want = i < k ? fk_otp_ecc_encode(key[i]) : i == k ? 0x000003 : 0;
            assert_int_equal(raw((uint16_t)(FK_OTP_ROW_MKEK + i)), want);
        }
        key[k] = (uint16_t)(0x0202u * (k + 1u));
    }
}

/* A refused row stops a write and a read in the middle; out-of-range
 * requests are refused before anything is done. */
static void test_access_errors(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    const uint32_t vals[3] = {0x000011, 0x000022, 0x000033};
    /* Row 0x03F (page 0, secure read-only) stops the write before 0x040. */
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, 0x03F, vals, 2),
                     FK_OTP_ENOT_PERMITTED);
    assert_int_equal(raw(0x040), 0);
    /* NS gateway: SEC | NSEC; page 1 is NS read-only at the factory. */
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_NS_GATEWAY, 0x050, vals, 1),
                     FK_OTP_ENOT_PERMITTED);
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_NS_GATEWAY, ROW_USER, vals, 1), FK_OTP_OK);
    uint32_t out[3] = {0};
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_NS_GATEWAY, 0x050, out, 1), FK_OTP_OK);

    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, 0xFFE, vals, 3), FK_OTP_EINVALID_ARG);
    assert_int_equal(raw(0xFFE), 0);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, 0x1000, out, 1), FK_OTP_EINVALID_ARG);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, 0, out, SIZE_MAX),
                     FK_OTP_EINVALID_ARG);
    /* Non-secure code has only the aliases; BOOTSEL only once entered. */
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_NONSECURE, ROW_USER, out, 1),
                     FK_OTP_EINVALID_ARG);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL, ROW_USER, out, 1),
                     FK_OTP_EINVALID_ARG);
    assert_int_equal(fk_otp_alias_raw(&g_otp, FK_OTP_BOOTSEL, ROW_USER), 0xFFFFFFFFu);
    assert_int_equal(fk_otp_alias_raw_guarded(&g_otp, FK_OTP_NS_GATEWAY, ROW_USER, out),
                     FK_OTP_EINVALID_ARG);
}

/* A failing persistence hook fails the access; the row stays programmed. */
static void test_persist_failure(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    g_log.fail_after = 2;
    const uint32_t vals[3] = {0x000001, 0x000002, 0x000004};
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, ROW_USER, vals, 3), FK_OTP_EPERSIST);
    assert_int_equal(raw(ROW_USER), 0x000001);
    assert_int_equal(raw(ROW_USER + 1u), 0x000002);
    assert_int_equal(raw(ROW_USER + 2u), 0);
}

/* ---- Destroyed rows and chaff (scenario 5) ------------------------------ */

static void test_all_ones_and_chaff(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    put_raw(ROW_USER, ALL_ONES_ROW);
    uint16_t d = 0xAAAA;
    fk_otp_ecc_status_t worst = FK_OTP_ECC_UNCORRECTABLE;
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, ROW_USER, &d, 1, &worst), FK_OTP_OK);
    assert_int_equal(d, 0x0000);
    assert_int_equal(worst, FK_OTP_ECC_OK);

    /* A key, one row of it written over a stray bit (BRBP), and its chaff
     * from the read-back raw rows. */
    uint16_t key[KEY_ROWS], got[KEY_ROWS];
    uint32_t rows[KEY_ROWS], chaff[KEY_ROWS];
    for (unsigned i = 0; i < KEY_ROWS; i++) key[i] = (uint16_t)(0x9E37u * (i + 7u));
    key[5] = 0x1234;
    put_raw(FK_OTP_ROW_MKEK + 5u, 0x000001);
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, key, KEY_ROWS),
                     FK_OTP_OK);
    assert_int_equal(raw(FK_OTP_ROW_MKEK + 5u), 0xE6EDCB);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, rows, KEY_ROWS),
                     FK_OTP_OK);
    for (unsigned i = 0; i < KEY_ROWS; i++) chaff[i] = rows[i] ^ ALL_ONES_ROW;
    assert_int_equal(
        fk_otp_write_raw(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK_CHAFF, chaff, KEY_ROWS),
        FK_OTP_OK);
    assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK_CHAFF, got, KEY_ROWS,
                                     &worst),
                     FK_OTP_OK);
    assert_int_equal(worst, FK_OTP_ECC_OK);
    assert_memory_equal(got, key, sizeof key);
}

/* ---- Votes (scenarios 6-8) ---------------------------------------------- */

static void test_rbit3(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    uint32_t v = 0xFFFFFFFF;
    put_raw(FK_OTP_ROW_BOOT_FLAGS0, FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS0, &v),
                     FK_OTP_OK);
    assert_int_equal(v & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED, 0);
    put_raw(FK_OTP_ROW_BOOT_FLAGS0 + 2u, FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS0, &v),
                     FK_OTP_OK);
    assert_int_equal(v, FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);

    put_raw(FK_OTP_ROW_BOOT_FLAGS1 + 1u, 0x1u); /* KEY_VALID slot 0, one copy */
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS1, &v),
                     FK_OTP_OK);
    assert_int_equal(fk_otp_valid_key_slots(v), 0);
    put_raw(FK_OTP_ROW_BOOT_FLAGS1, 0x1u);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS1, &v),
                     FK_OTP_OK);
    assert_int_equal(fk_otp_valid_key_slots(v), 1);

    uint32_t t0 = 0, t1 = 0;
    put_raw(FK_OTP_ROW_BOOT_VERSION0, 0x5u); /* bits 0, 2 in one copy only */
    put_raw(FK_OTP_ROW_BOOT_VERSION0 + 1u, 0x1u);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_VERSION0, &t0),
                     FK_OTP_OK);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_VERSION1, &t1),
                     FK_OTP_OK);
    assert_int_equal(fk_otp_rollback_floor(t0, t1), 1);
    put_raw(FK_OTP_ROW_BOOT_VERSION0 + 2u, 0x4u);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_VERSION0, &t0),
                     FK_OTP_OK);
    assert_int_equal(fk_otp_rollback_floor(t0, t1), 3);
}

static void test_rbit8(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    uint32_t v = 0xFFFFFFFF;
    for (unsigned i = 0; i < 2u; i++) {
        put_raw((uint16_t)(FK_OTP_ROW_CRIT1 + 3u * i), FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
    }
    assert_int_equal(fk_otp_read_rbit8(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_CRIT1, &v), FK_OTP_OK);
    assert_int_equal(v & FK_OTP_CRIT1_SECURE_BOOT_ENABLE, 0);
    put_raw(FK_OTP_ROW_CRIT1 + 7u, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
    assert_int_equal(fk_otp_read_rbit8(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_CRIT1, &v), FK_OTP_OK);
    assert_int_equal(v, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
    /* The vote of a refused row fails: as a non-secure bus fault, or -4. */
    put_raw(FK_OTP_ROW_PAGE_LOCK1(PAGE_USER), 0x0C0C0C);
    fk_otp_reset(&g_otp);
    assert_int_equal(fk_otp_read_rbit8(&g_otp, FK_OTP_NONSECURE, ROW_USER, &v), FK_OTP_EFAULT);
    assert_int_equal(fk_otp_read_rbit8(&g_otp, FK_OTP_NS_GATEWAY, ROW_USER, &v),
                     FK_OTP_ENOT_PERMITTED);
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, ROW_USER, &v), FK_OTP_OK);
}

static void test_lock_byte_vote(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    put_raw(FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), 0x3C3C00);
    put_raw(FK_OTP_ROW_PAGE_LOCK1(PAGE_USER), 0x3C0000);
    assert_int_equal(fk_otp_page_lock1(&g_otp, FK_OTP_PAGE_KEYS), 0x3C);
    assert_int_equal(fk_otp_page_lock1(&g_otp, PAGE_USER), 0x00);
    fk_otp_reset(&g_otp);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, FK_OTP_PAGE_KEYS),
                     FK_OTP_LOCK_INACCESSIBLE);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, FK_OTP_PAGE_KEYS), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, PAGE_USER), FK_OTP_LOCK_RW);
    fk_otp_enter_bootsel(&g_otp);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_BOOTSEL, FK_OTP_PAGE_KEYS),
                     FK_OTP_LOCK_INACCESSIBLE);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_BOOTSEL, PAGE_USER), FK_OTP_LOCK_RW);
}

/* ---- Page 58 (scenario 9) ------------------------------------------------ */

static void burn_mkek(void)
{
    uint16_t key[KEY_ROWS];
    uint32_t rows[KEY_ROWS];
    for (unsigned i = 0; i < KEY_ROWS; i++) key[i] = (uint16_t)(0x4321u + 0x1111u * i);
    assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, key, KEY_ROWS),
                     FK_OTP_OK);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, rows, KEY_ROWS),
                     FK_OTP_OK);
    for (unsigned i = 0; i < KEY_ROWS; i++) rows[i] ^= ALL_ONES_ROW;
    assert_int_equal(
        fk_otp_write_raw(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK_CHAFF, rows, KEY_ROWS), FK_OTP_OK);
}

static void test_page58_lock(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    burn_mkek();
    put_raw(FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), FK_OTP_LOCK1_PAGE58);
    uint32_t r = 0;
    uint16_t d = 0;
    /* No effect before a reset: every principal still reads. */
    assert_int_equal(fk_otp_alias_raw(&g_otp, FK_OTP_NONSECURE, FK_OTP_ROW_MKEK),
                     raw(FK_OTP_ROW_MKEK));
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, FK_OTP_PAGE_KEYS), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, FK_OTP_PAGE_KEYS), FK_OTP_LOCK_RW);

    fk_otp_reset(&g_otp);
    for (uint16_t row = FK_OTP_ROW_DEVK; row < FK_OTP_ROW_DEVK + 0x40u; row++) {
        assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, row, &r, 1), FK_OTP_OK);
        assert_int_equal(fk_otp_alias_raw(&g_otp, FK_OTP_NONSECURE, row), 0xFFFFFFFFu);
        assert_int_equal(fk_otp_alias_ecc(&g_otp, FK_OTP_NONSECURE, row), 0xFFFF);
        assert_int_equal(fk_otp_alias_raw_guarded(&g_otp, FK_OTP_NONSECURE, row, &r),
                         FK_OTP_EFAULT);
        assert_int_equal(fk_otp_alias_ecc_guarded(&g_otp, FK_OTP_NONSECURE, row, &d),
                         FK_OTP_EFAULT);
        assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_NS_GATEWAY, row, &r, 1),
                         FK_OTP_ENOT_PERMITTED);
    }
    assert_int_equal(fk_otp_alias_ecc_guarded(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, &d),
                     FK_OTP_OK);
    assert_int_equal(d, 0x4321);
    /* The lock word itself stays readable by everyone. */
    assert_int_equal(fk_otp_alias_raw(&g_otp, FK_OTP_NONSECURE,
                                      (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS)),
                     FK_OTP_LOCK1_PAGE58);

    fk_otp_enter_bootsel(&g_otp);
    for (uint16_t row = FK_OTP_ROW_DEVK; row < FK_OTP_ROW_DEVK + 0x40u; row++) {
        assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL, row, &r, 1),
                         FK_OTP_ENOT_PERMITTED);
        assert_int_equal(fk_otp_read_ecc(&g_otp, FK_OTP_BOOTSEL, row, &d, 1, NULL),
                         FK_OTP_ENOT_PERMITTED);
    }
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL,
                                     (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), &r, 1),
                     FK_OTP_OK);
    assert_int_equal(r, FK_OTP_LOCK1_PAGE58);
    /* Other pages stay readable from BOOTSEL. */
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL, ROW_USER, &r, 1), FK_OTP_OK);
}

/* ---- The page-58 lock word from BOOTSEL: E15 (scenario 10) ---------------- */

static void test_lock_word_stepping(void **state)
{
    (void)state;
    const uint16_t lock58 = (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    const uint32_t v = FK_OTP_LOCK1_PAGE58;

    new_chip(FK_OTP_STEPPING_A2);
    fk_otp_enter_bootsel(&g_otp);
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_BOOTSEL, lock58, &v, 1),
                     FK_OTP_ENOT_PERMITTED);
    assert_int_equal(raw(lock58), 0);
    /* Page 62 is BL read-write: the lock words of pages 0-31 are writable. */
    const uint32_t boot = FK_OTP_LOCK1_BOOT_PAGES;
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_BOOTSEL, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(1),
                                      &boot, 1),
                     FK_OTP_OK);
    fk_otp_reset(&g_otp);
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, lock58, &v, 1), FK_OTP_OK);

    new_chip(FK_OTP_STEPPING_A3);
    fk_otp_enter_bootsel(&g_otp);
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_BOOTSEL, lock58, &v, 1), FK_OTP_OK);
    assert_int_equal(raw(lock58), FK_OTP_LOCK1_PAGE58);
    /* Same BOOTSEL session: the keys are still readable (locks load at reset). */
    uint32_t r = 0;
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL, FK_OTP_ROW_MKEK, &r, 1), FK_OTP_OK);
    fk_otp_reset(&g_otp);
    fk_otp_enter_bootsel(&g_otp);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL, FK_OTP_ROW_MKEK, &r, 1),
                     FK_OTP_ENOT_PERMITTED);
    /* A3: a lock word is checked against its own page; page 58 is now BL
     * inaccessible, so its lock word is no longer writable from BOOTSEL. */
    const uint32_t more = 0x3D3D3D;
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_BOOTSEL, lock58, &more, 1),
                     FK_OTP_ENOT_PERMITTED);
}

/* ---- Boot pages locked (scenario 11) -------------------------------------- */

static void test_boot_pages_locked(void **state)
{
    (void)state;
    static uint32_t rows[0x80];
    const uint32_t lock = FK_OTP_LOCK1_BOOT_PAGES, one = 0x000001;
    for (int stepping = FK_OTP_STEPPING_A2; stepping <= FK_OTP_STEPPING_A3; stepping++) {
        new_chip((fk_otp_stepping_t)stepping);
        put_raw((uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), lock);
        put_raw((uint16_t)FK_OTP_ROW_PAGE_LOCK1(2), lock);
        fk_otp_reset(&g_otp);
        fk_otp_enter_bootsel(&g_otp);
        assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_BOOTSEL, 0x40, rows, 0x80), FK_OTP_OK);
        for (uint16_t row = 0x40; row < 0xC0; row += 0x0B) {
            assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_BOOTSEL, row, &one, 1),
                             FK_OTP_ENOT_PERMITTED);
        }
        const uint16_t key = 0x1234;
        assert_int_equal(fk_otp_write_ecc(&g_otp, FK_OTP_BOOTSEL, FK_OTP_ROW_BOOTKEY(1), &key, 1),
                         FK_OTP_ENOT_PERMITTED);
        assert_int_equal(raw(FK_OTP_ROW_BOOTKEY(1)), 0);
        if (stepping == FK_OTP_STEPPING_A3) {
            /* The lock words of pages 1 and 2 are now BOOTSEL read-only too. */
            const uint32_t more = 0x151515;
            assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_BOOTSEL,
                                              (uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), &more, 1),
                             FK_OTP_ENOT_PERMITTED);
        }
        fk_otp_reset(&g_otp);
        put_raw(FK_OTP_ROW_BOOT_FLAGS0, FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
        put_raw(FK_OTP_ROW_BOOT_VERSION0, 0x000001); /* the bootrom's thermometer burn */
    }
}

/* ---- Soft locks (scenario 12) --------------------------------------------- */

static void test_sw_lock(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    const uint32_t one = 0x000001;
    uint32_t r = 0;
    assert_int_equal(fk_otp_sw_lock(&g_otp, FK_OTP_SECURE, PAGE_USER, FK_OTP_LOCK_RO), FK_OTP_OK);
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, ROW_USER, &one, 1),
                     FK_OTP_ENOT_PERMITTED);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, ROW_USER, &r, 1), FK_OTP_OK);
    /* Writing 0 does not loosen; writing RO again does not either. */
    assert_int_equal(fk_otp_sw_lock(&g_otp, FK_OTP_SECURE, PAGE_USER, 0), FK_OTP_OK);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, PAGE_USER), FK_OTP_LOCK_RO);
    /* RO | 2 is 3: inaccessible. */
    assert_int_equal(fk_otp_sw_lock(&g_otp, FK_OTP_SECURE, PAGE_USER, 2), FK_OTP_OK);
    assert_int_equal(fk_otp_read_raw(&g_otp, FK_OTP_SECURE, ROW_USER, &r, 1),
                     FK_OTP_ENOT_PERMITTED);
    /* A value of 2 alone already counts as inaccessible. */
    assert_int_equal(fk_otp_sw_lock(&g_otp, FK_OTP_SECURE, PAGE_USER2, 2), FK_OTP_OK);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, PAGE_USER2), FK_OTP_LOCK_INACCESSIBLE);

    /* Non-secure code may raise NSEC only. */
    assert_int_equal(fk_otp_sw_lock(&g_otp, FK_OTP_NONSECURE, 20u, 0x0F), FK_OTP_OK);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, 20u), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, 20u), FK_OTP_LOCK_INACCESSIBLE);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NS_GATEWAY, 20u), FK_OTP_LOCK_INACCESSIBLE);
    assert_int_equal(fk_otp_sw_lock(&g_otp, FK_OTP_SECURE, FK_OTP_PAGES, 1), FK_OTP_EINVALID_ARG);

    fk_otp_reset(&g_otp);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, PAGE_USER), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_SECURE, PAGE_USER2), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, 20u), FK_OTP_LOCK_RW);
    assert_int_equal(fk_otp_level(&g_otp, FK_OTP_NONSECURE, 1u), FK_OTP_LOCK_RO); /* from OTP */
    put_raw(ROW_USER, one);
}

/* ---- A page made secure read-only (scenario 13) --------------------------- */

static void test_secure_read_only_page(void **state)
{
    (void)state;
    new_chip(FK_OTP_STEPPING_A2);
    put_raw((uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), 0x151515);
    const uint32_t bit = 0x000001;
    assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_VERSION0, &bit, 1),
                     FK_OTP_OK); /* before the reset: still writable */
    fk_otp_reset(&g_otp);
    const uint32_t next = 0x000003;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        assert_int_equal(fk_otp_write_raw(&g_otp, FK_OTP_SECURE,
                                          (uint16_t)(FK_OTP_ROW_BOOT_VERSION0 + i), &next, 1),
                         FK_OTP_ENOT_PERMITTED);
    }
    uint32_t v = 0;
    assert_int_equal(fk_otp_read_rbit3(&g_otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_VERSION0, &v),
                     FK_OTP_OK);
    assert_int_equal(v, 0);
    assert_int_equal(raw(FK_OTP_ROW_BOOT_VERSION0), 0x000001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_factory),
        cmocka_unit_test(test_brbp_writes),
        cmocka_unit_test(test_raw_writes),
        cmocka_unit_test(test_torn_ecc_write),
        cmocka_unit_test(test_access_errors),
        cmocka_unit_test(test_persist_failure),
        cmocka_unit_test(test_all_ones_and_chaff),
        cmocka_unit_test(test_rbit3),
        cmocka_unit_test(test_rbit8),
        cmocka_unit_test(test_lock_byte_vote),
        cmocka_unit_test(test_page58_lock),
        cmocka_unit_test(test_lock_word_stepping),
        cmocka_unit_test(test_boot_pages_locked),
        cmocka_unit_test(test_sw_lock),
        cmocka_unit_test(test_secure_read_only_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
