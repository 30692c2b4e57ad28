/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_boot_rom.c - the bootrom model against the boot-decision scenarios
 * of spec rp2350-otp-and-boot.md section 9 (21-26): secure boot on and off,
 * keys in slots, revocation, tampering, TBYB, hash coverage, the rollback
 * table of section 7.5 row by row (two-pass rv 25, rv 48), the floor from
 * the highest bit, ROLLBACK_REQUIRED set by the first versioned boot, a burn
 * refused by a page lock, and erratum E13 on A2 against A3. Every run is
 * compared with its prediction, and predictions never change the OTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot_test.h"

#define ROW_V0 FK_OTP_ROW_BOOT_VERSION0
#define ROW_V1 FK_OTP_ROW_BOOT_VERSION1
#define ROW_BF0 FK_OTP_ROW_BOOT_FLAGS0
#define RR FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED

static uint8_t g_buf[TB_IMG_CAP];
static fk_image_t g_img;
static tb_key_t g_key, g_other;
static fk_otp_t g_otp, g_before;

static int setup(void **state)
{
    (void)state;
    tb_key_new(&g_key);
    tb_key_new(&g_other);
    return 0;
}

/* Predict (checking the OTP is untouched), then run and check the run did
 * what was predicted. Returns the run's result in *res. */
static void boot_checked(fk_otp_t *otp, const fk_image_t *img, fk_boot_result_t *res)
{
    fk_boot_result_t pred;
    char text[600];

    memcpy(&g_before, otp, sizeof(g_before));
    fk_boot_predict(otp, img, &pred);
    assert_memory_equal(g_before.raw, otp->raw, sizeof(otp->raw));
    fk_boot_run(otp, img, res);
    assert_int_equal(res->verdict, pred.verdict);
    assert_int_equal(res->reason, pred.reason);
    assert_int_equal(res->n_burns, pred.n_burns);
    assert_int_equal(res->passes, pred.passes);
    assert_int_equal(res->floor_after, pred.floor_after);
    for (unsigned i = 0; i < res->n_burns; i++) {
        assert_int_equal(res->burns[i].row, pred.burns[i].row);
        assert_int_equal(res->burns[i].bit, pred.burns[i].bit);
        assert_int_equal(res->burns[i].rc, pred.burns[i].rc);
        assert_int_equal(res->burns[i].changes, pred.burns[i].changes);
    }
    /* Whatever happened has a sentence. */
    assert_true(fk_boot_describe(res, text, sizeof(text)) < sizeof(text));
    assert_true(strlen(text) > 10u);
    if (res->verdict != FK_BOOT_LAUNCH)
        assert_non_null(strstr(text, fk_boot_strerror(res->reason)));
}

static void expect(fk_otp_t *otp, fk_boot_verdict_t verdict, fk_boot_err_t reason)
{
    fk_boot_result_t res;
    boot_checked(otp, &g_img, &res);
    assert_int_equal(res.verdict, verdict);
    assert_int_equal(res.reason, reason);
}

static bool otp_changed(const fk_otp_t *otp)
{
    return memcmp(g_before.raw, otp->raw, sizeof(otp->raw)) != 0;
}

/* ---- Scenario 21: secure boot off ----------------------------------------------- */

static void test_nonsecure_boots_anything(void **state)
{
    (void)state;
    fk_boot_result_t res;

    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_false(res.secure);
    assert_int_equal(res.block_addr, 0x10000040u);
    assert_false(otp_changed(&g_otp));

    /* A versioned image on a non-secure chip: boots, burns nothing. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 5, NULL), FK_BOOT_OK);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.n_burns, 0);
    assert_true(res.has_rollback);
    assert_false(otp_changed(&g_otp));

    /* Two of eight CRIT1 copies do not make a chip secure; three do. */
    tb_otp_secure_copies(&g_otp, 2);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);
    tb_otp_secure_copies(&g_otp, 3);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RUNSIGNED);

    /* Without secure boot a HASH_VALUE is still checked. */
    fk_image_seal_opts_t o;
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    fk_image_seal_opts_init(&o);
    o.hash_value = true;
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_OK);
    expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);
    g_img.data[0x90] ^= 0x10;
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RHASH_VALUE);
}

/* ---- Scenario 22: keys ------------------------------------------------------------ */

static void test_secure_keys(void **state)
{
    (void)state;
    fk_boot_result_t res;

    /* Unsigned image on a secure chip. */
    tb_otp_secure(&g_otp, g_key.fp);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RUNSIGNED);

    /* Signed by a key in no slot. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_other, -1, NULL), FK_BOOT_OK);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RKEY_UNKNOWN);

    /* Signed by the key of slot 0. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, -1, NULL), FK_BOOT_OK);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_true(res.secure);
    assert_int_equal(res.key_slot, 0);
    assert_int_equal(res.block_addr, 0x10000100u);
    assert_false(otp_changed(&g_otp)); /* no rollback version: nothing burnt */

    /* Key in slot 2 with KEY_VALID bit 2 boots; KEY_INVALID bit 2 stops it. */
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    tb_otp_load_key(&g_otp, 0, g_other.fp, true);
    tb_otp_load_key(&g_otp, 2, g_key.fp, true);
    tb_otp_secure_copies(&g_otp, FK_OTP_CRIT_COPIES);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.key_slot, 2);
    tb_otp_rbit3(&g_otp, FK_OTP_ROW_BOOT_FLAGS1, 1u << (FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT + 2));
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RKEY_REVOKED);
    /* ... while slot 0's key still boots its own images. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_other, -1, NULL), FK_BOOT_OK);
    expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);

    /* Key fused but KEY_VALID never set; and no key at all. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, -1, NULL), FK_BOOT_OK);
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    tb_otp_load_key(&g_otp, 1, g_key.fp, false);
    tb_otp_secure_copies(&g_otp, FK_OTP_CRIT_COPIES);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RKEY_NOT_VALID);
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    tb_otp_secure_copies(&g_otp, FK_OTP_CRIT_COPIES);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RNO_VALID_KEY);

    /* KEY_VALID voted from 2 of 3 copies only. */
    tb_otp_load_key(&g_otp, 0, g_key.fp, false);
    tb_otp_or(&g_otp, FK_OTP_ROW_BOOT_FLAGS1, 1);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RKEY_NOT_VALID);
    tb_otp_or(&g_otp, FK_OTP_ROW_BOOT_FLAGS1 + 2, 1);
    expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);
}

static void test_bootkey_ecc_fault(void **state)
{
    (void)state;
    fk_boot_result_t res;

    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, -1, NULL), FK_BOOT_OK);
    tb_otp_secure(&g_otp, g_key.fp);
    /* Two more bits in a row of the valid slot: uncorrectable. */
    const uint16_t row = (uint16_t)(FK_OTP_ROW_BOOTKEY(0) + 5);
    uint32_t raw = g_otp.raw[row];
    unsigned set = 0;
    for (unsigned bit = 0; bit < 22u && set < 2u; bit++)
        if (!(raw & (1u << bit))) {
            raw |= 1u << bit;
            set++;
        }
    tb_otp_or(&g_otp, row, raw);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_FAULT);
    assert_int_equal(res.reason, FK_BOOT_FBOOTKEY_ECC);
    assert_int_equal(res.otp_row, row);

    /* The same damage in a slot that is not valid is never read. */
    tb_otp_secure(&g_otp, g_other.fp);
    tb_otp_load_key(&g_otp, 3, g_key.fp, true);
    tb_otp_or(&g_otp, (uint16_t)(FK_OTP_ROW_BOOTKEY(1) + 2), 0x3u);
    tb_otp_or(&g_otp, (uint16_t)(FK_OTP_ROW_BOOTKEY(1) + 2), 0x30000u);
    expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);
}

/* ---- Scenario 23: tampering, TBYB, coverage ----------------------------------------- */

static void test_tampering(void **state)
{
    (void)state;
    const size_t blk = 0x100;
    fk_boot_result_t res;

    tb_otp_secure(&g_otp, g_key.fp);
    static const struct {
        size_t at;
        const char *what;
    } flips[] = {
        {0x90, "image byte"},        {0x44 + 2, "SDK block word"},
        {blk + 4 * 3, "VERSION"},    {blk + 4 * 9, "ENTRY_POINT pc"},
        {blk + 4 * 34 + 5, "sig r"}, {blk + 4 * 49 + 3, "sig s"},
    };
    for (unsigned i = 0; i < FK_ARRAY_SIZE(flips); i++) {
        assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 1, NULL), FK_BOOT_OK);
        expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);
        g_img.data[flips[i].at] ^= 0x01;
        boot_checked(&g_otp, &g_img, &res);
        if (res.verdict == FK_BOOT_LAUNCH) fail_msg("flipped %s still boots", flips[i].what);
        assert_int_equal(res.reason, FK_BOOT_RSIG_INVALID);
    }
    /* A flipped key byte no longer matches the fused fingerprint. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 1, NULL), FK_BOOT_OK);
    g_img.data[blk + 4 * 18] ^= 0x01;
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RKEY_UNKNOWN);

    /* TBYB is outside the hash: set or cleared, the image verifies. */
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 1, NULL), FK_BOOT_OK);
    g_img.data[blk + 7] |= 0x80;
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_true(res.tbyb);
    g_img.data[blk + 7] &= 0x7F;
    expect(&g_otp, FK_BOOT_LAUNCH, FK_BOOT_OK);

    /* HASH_DEF one word short: "not everything is signed". */
    assert_int_equal(fk_le32(g_img.data + blk + 4 * 16), 17);
    fk_put_le32(g_img.data + blk + 4 * 16, 16);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RNOT_ALL_SIGNED);

    /* An Arm image marked non-secure cannot launch (sealed as such). */
    tb_otp_secure(&g_otp, g_key.fp);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    g_img.data[TB_SDK_BLOCK_OFF + 6] = 0x11; /* security NS */
    fk_image_seal_opts_t o;
    fk_image_seal_opts_init(&o);
    o.key_blob = g_key.blob;
    o.key_blob_len = g_key.len;
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_OK);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RNONSECURE);
}

/* ---- Scenarios 24 and 25: rollback ----------------------------------------------------- */

/* A secure chip with thermometer bits (rows 0x4E/0x51 as one 48-bit value)
 * and ROLLBACK_REQUIRED as given. */
static void rollback_chip(uint64_t bits, bool rr)
{
    tb_otp_secure(&g_otp, g_key.fp);
    if (bits & 0xFFFFFFu) tb_otp_rbit3(&g_otp, ROW_V0, (uint32_t)(bits & 0xFFFFFFu));
    if (bits >> 24) tb_otp_rbit3(&g_otp, ROW_V1, (uint32_t)(bits >> 24));
    if (rr) tb_otp_rbit3(&g_otp, ROW_BF0, RR);
}

/* Seal at rv (< 0: signed, versionless) and boot on the current chip. */
static void boot_rv(int rv, fk_boot_result_t *res)
{
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, rv, NULL), FK_BOOT_OK);
    boot_checked(&g_otp, &g_img, res);
}

static void assert_thermo(uint32_t v0, uint32_t v1)
{
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(g_otp.raw[ROW_V0 + i], v0);
        assert_int_equal(g_otp.raw[ROW_V1 + i], v1);
    }
}

static void test_rollback_table(void **state)
{
    (void)state;
    fk_boot_result_t res;

    /* floor 0, versionless / rv 0, RR clear: boots, nothing burnt. */
    rollback_chip(0, false);
    boot_rv(-1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_false(otp_changed(&g_otp));
    boot_rv(0, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_false(res.has_rollback);
    assert_false(otp_changed(&g_otp));

    /* floor 0, rv 1: boots, bit 0 of 0x4E-0x50, ROLLBACK_REQUIRED set. */
    boot_rv(1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.n_burns, 2);
    assert_int_equal(res.burns[0].row, ROW_V0);
    assert_int_equal(res.burns[0].bit, 0);
    assert_true(res.burns[1].rollback_required);
    assert_int_equal(res.burns[1].row, ROW_BF0);
    assert_int_equal(res.burns[1].bit, 11);
    assert_int_equal(res.floor, 0);
    assert_int_equal(res.floor_after, 1);
    assert_thermo(1, 0);
    assert_true(tb_rbit3(&g_otp, ROW_BF0) & RR);

    /* floor 1, rv 1: boots, unchanged. */
    boot_rv(1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.n_burns, 0);
    assert_false(otp_changed(&g_otp));

    /* floor 1, RR set: versionless and rv 0 refused. */
    boot_rv(-1, &res);
    assert_int_equal(res.verdict, FK_BOOT_REFUSED);
    assert_int_equal(res.reason, FK_BOOT_RROLLBACK_REQUIRED);
    boot_rv(0, &res);
    assert_int_equal(res.reason, FK_BOOT_RROLLBACK_REQUIRED);

    /* floor 3 (bits 0 and 2), rv 2: refused; rv 3 boots as is; rv 5 adds bit 4. */
    rollback_chip(0x5, true);
    boot_rv(2, &res);
    assert_int_equal(res.verdict, FK_BOOT_REFUSED);
    assert_int_equal(res.reason, FK_BOOT_RBELOW_FLOOR);
    assert_int_equal(res.floor, 3);
    boot_rv(3, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.n_burns, 0);
    boot_rv(5, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.burns[0].bit, 4);
    assert_int_equal(res.floor_after, 5);
    assert_thermo(0x15, 0);
    assert_int_equal(fk_otp_rollback_floor(tb_rbit3(&g_otp, ROW_V0), tb_rbit3(&g_otp, ROW_V1)), 5);
    assert_true(res.burns[1].rollback_required);
    assert_false(res.burns[1].changes); /* RR was already set: rewritten unchanged */

    /* floor 0, rv 25: bit 23 of 0x4E and a reboot, then bit 0 of 0x51. */
    rollback_chip(0, false);
    boot_rv(25, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.passes, 2);
    assert_int_equal(res.n_burns, 4);
    assert_int_equal(res.burns[0].row, ROW_V0);
    assert_int_equal(res.burns[0].bit, 23);
    assert_true(res.burns[1].rollback_required && res.burns[1].reboot_after);
    assert_int_equal(res.burns[2].row, ROW_V1);
    assert_int_equal(res.burns[2].bit, 0);
    assert_true(res.burns[3].rollback_required);
    assert_int_equal(res.floor_after, 25);
    assert_thermo(1u << 23, 1);
    assert_int_equal(fk_otp_rollback_floor(tb_rbit3(&g_otp, ROW_V0), tb_rbit3(&g_otp, ROW_V1)), 25);

    /* rv 48 with the default rows: the sealer refuses it, and an image that
     * carries it anyway is rejected at parse time. */
    rollback_chip(0, false);
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 48, NULL), FK_BOOT_EROLLBACK_RANGE);
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 47, NULL), FK_BOOT_OK);
    fk_put_le32(g_img.data + 0x100 + 4 * 4, 0x004E0030u); /* rollback 48 */
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RROLLBACK_RANGE);
    assert_false(otp_changed(&g_otp));
    /* ... also with secure boot off. */
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RROLLBACK_RANGE);

    /* rv 47: the whole budget, two passes. */
    rollback_chip(0, false);
    boot_rv(47, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.floor_after, 47);
    assert_thermo(1u << 23, 1u << 22);
}

static void test_rollback_required_first_boot(void **state)
{
    (void)state;
    fk_boot_result_t res;

    /* A fresh secure chip: the first boot of --rollback 1 sets RR. */
    rollback_chip(0, false);
    assert_false(tb_rbit3(&g_otp, ROW_BF0) & RR);
    boot_rv(1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_true(tb_rbit3(&g_otp, ROW_BF0) & RR);
    /* From now on: versionless and rv 0 refused, rv = floor boots without a
     * burn, a higher rv raises the floor, a lower one is refused. */
    boot_rv(-1, &res);
    assert_int_equal(res.reason, FK_BOOT_RROLLBACK_REQUIRED);
    boot_rv(0, &res);
    assert_int_equal(res.reason, FK_BOOT_RROLLBACK_REQUIRED);
    boot_rv(1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_false(otp_changed(&g_otp));
    boot_rv(2, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_thermo(0x3, 0);
    boot_rv(1, &res);
    assert_int_equal(res.verdict, FK_BOOT_REFUSED);
    assert_int_equal(res.reason, FK_BOOT_RBELOW_FLOOR);

    /* RR from 2 of 3 copies counts, 1 of 3 does not. */
    rollback_chip(0, false);
    tb_otp_or(&g_otp, ROW_BF0, RR);
    boot_rv(-1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    tb_otp_or(&g_otp, ROW_BF0 + 1, RR);
    boot_rv(-1, &res);
    assert_int_equal(res.reason, FK_BOOT_RROLLBACK_REQUIRED);
    /* RR is not gated on secure boot (A2 code). */
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    tb_otp_rbit3(&g_otp, ROW_BF0, RR);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    expect(&g_otp, FK_BOOT_REFUSED, FK_BOOT_RROLLBACK_REQUIRED);

    /* TBYB: the image boots, the burn waits. */
    rollback_chip(0, false);
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 3, NULL), FK_BOOT_OK);
    g_img.data[0x100 + 7] |= 0x80;
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_true(res.tbyb);
    assert_int_equal(res.n_burns, 0);
    assert_false(otp_changed(&g_otp));
}

static void test_burn_refused_by_lock(void **state)
{
    (void)state;
    fk_boot_result_t res, pred;

    /* Page 1 made secure-read-only by mistake (0x151515), effective after a
     * reset: the floor advance fails and the image does not launch. */
    rollback_chip(0, false);
    tb_otp_or(&g_otp, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), 0x151515u);
    fk_otp_reset(&g_otp);
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 1, NULL), FK_BOOT_OK);
    fk_boot_predict(&g_otp, &g_img, &pred);
    assert_int_equal(pred.verdict, FK_BOOT_ABORTED);
    assert_int_equal(pred.burns[0].rc, FK_OTP_ENOT_PERMITTED);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_ABORTED);
    assert_int_equal(res.reason, FK_BOOT_ABURN);
    assert_int_equal(res.otp_rc, FK_OTP_ENOT_PERMITTED);
    assert_int_equal(res.otp_row, ROW_V0);
    assert_false(otp_changed(&g_otp));
    /* An image at the floor needs no burn and still boots. */
    boot_rv(-1, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);

    /* The production lock of pages 1 and 2 (0x141414) keeps secure writes. */
    rollback_chip(0, false);
    tb_otp_or(&g_otp, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), FK_OTP_LOCK1_BOOT_PAGES);
    tb_otp_or(&g_otp, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(2), FK_OTP_LOCK1_BOOT_PAGES);
    fk_otp_reset(&g_otp);
    boot_rv(2, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_thermo(0x2, 0);
}

/* ---- Scenario 26: E13 ---------------------------------------------------------------- */

static void test_e13(void **state)
{
    (void)state;
    fk_image_seal_opts_t o;
    fk_image_seal_info_t info;
    fk_boot_result_t res;

    for (unsigned a3 = 0; a3 < 2; a3++) {
        const fk_otp_stepping_t step = a3 ? FK_OTP_STEPPING_A3 : FK_OTP_STEPPING_A2;
        /* A secure chip with RR set (floor 1), so the SDK's versionless
         * IMAGE_DEF is rejected. */
        tb_otp_fresh(&g_otp, step);
        tb_otp_load_key(&g_otp, 0, g_key.fp, true);
        tb_otp_secure_copies(&g_otp, FK_OTP_CRIT_COPIES);
        tb_otp_rbit3(&g_otp, ROW_V0, 1);
        tb_otp_rbit3(&g_otp, ROW_BF0, RR);

        /* Sealed without the workaround: the SDK block stays an IMAGE_DEF. */
        tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
        fk_image_seal_opts_init(&o);
        o.key_blob = g_key.blob;
        o.key_blob_len = g_key.len;
        o.set_rollback = true;
        o.rollback = 1;
        o.no_e13_workaround = true;
        assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
        assert_int_equal(info.ignored_blocks, 0);
        boot_checked(&g_otp, &g_img, &res);
        if (a3) {
            assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
            assert_int_equal(res.block_addr, info.block_addr);
        } else {
            assert_int_equal(res.verdict, FK_BOOT_REFUSED);
            assert_int_equal(res.reason, FK_BOOT_RE13);
            assert_int_equal(res.cause, FK_BOOT_RROLLBACK_REQUIRED);
        }

        /* With the workaround (the default): boots on both. */
        o.no_e13_workaround = false;
        tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
        assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
        assert_int_equal(info.ignored_blocks, 1);
        boot_checked(&g_otp, &g_img, &res);
        assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
        assert_int_equal(res.block_addr, info.block_addr);
    }
}

/* Which of two signed IMAGE_DEFs wins: the later one, unless only the
 * earlier one's key is fused (secure mode keeps a key-matched block). */
static void test_block_choice(void **state)
{
    (void)state;
    fk_image_seal_opts_t o;
    fk_image_seal_info_t first, second;
    fk_boot_result_t res;

    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, -1, &first), FK_BOOT_OK);
    fk_image_seal_opts_init(&o);
    o.key_blob = g_other.blob;
    o.key_blob_len = g_other.len;
    assert_int_equal(fk_image_seal(&g_img, &o, &second), FK_BOOT_OK);

    tb_otp_secure(&g_otp, g_key.fp);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_LAUNCH);
    assert_int_equal(res.block_addr, first.block_addr);
    /* Both keys fused: the later block. */
    tb_otp_load_key(&g_otp, 1, g_other.fp, true);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.block_addr, second.block_addr);
    assert_int_equal(res.key_slot, 1);
    /* Non-secure: the later block too. */
    tb_otp_fresh(&g_otp, FK_OTP_STEPPING_A2);
    boot_checked(&g_otp, &g_img, &res);
    assert_int_equal(res.block_addr, second.block_addr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonsecure_boots_anything),
        cmocka_unit_test(test_secure_keys),
        cmocka_unit_test(test_bootkey_ecc_fault),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_rollback_table),
        cmocka_unit_test(test_rollback_required_first_boot),
        cmocka_unit_test(test_burn_refused_by_lock),
        cmocka_unit_test(test_e13),
        cmocka_unit_test(test_block_choice),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
