/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_esp32s3_efuse.c - the ESP32-S3 eFuse model (otp/esp32s3_efuse.h) and
 * the fuses the logical interface burns on it: spec scenarios 28 (the two
 * keys in KEY3/KEY4) and 29 (the secure-boot digest and the lock), bit by
 * bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "esp32s3_efuse.h"
#include "otp_logical.h"

#define MKEK_BLOCK 7u /* KEY3 */
#define DEVK_BLOCK 8u /* KEY4 */
#define MKEK_KEY 3u
#define DEVK_KEY 4u
#define SEED_MKEK 0x10u
#define SEED_DEVK 0x20u
#define SEED_DIGEST 0x40u
#define SEED_OTHER 0x77u

static fk_efuse_t g_e;
static fk_lotp_t g_l;

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(seed + 5u * i + 1u);
}

static int setup(void **state)
{
    (void)state;
    fk_efuse_init(&g_e);
    assert_int_equal(fk_lotp_init_esp32s3(&g_l, &g_e), FK_LOTP_OK);
    return 0;
}

static void provision(uint8_t mkek[FK_LOTP_KEY_BYTES], uint8_t devk[FK_LOTP_KEY_BYTES])
{
    fill(mkek, FK_LOTP_KEY_BYTES, SEED_MKEK);
    fill(devk, FK_LOTP_KEY_BYTES, SEED_DEVK);
    assert_int_equal(fk_lotp_keys_provision(&g_l, mkek, devk), FK_LOTP_OK);
}

static bool bit(unsigned b) { return fk_efuse_bit(&g_e, b); }

/* ---- The model ------------------------------------------------------------------ */

static void test_map_constants(void **state)
{
    (void)state;
    assert_int_equal(FK_EFUSE_BLOCK_KEY(MKEK_KEY), MKEK_BLOCK);
    assert_int_equal(FK_EFUSE_BLOCK_KEY(DEVK_KEY), DEVK_BLOCK);
    assert_int_equal(FK_EFUSE_WR_DIS_KEY(MKEK_KEY), 26);
    assert_int_equal(FK_EFUSE_WR_DIS_KEY(DEVK_KEY), 27);
    assert_int_equal(FK_EFUSE_WR_DIS_KEY_PURPOSE(MKEK_KEY), 11);
    assert_int_equal(FK_EFUSE_WR_DIS_KEY_PURPOSE(DEVK_KEY), 12);
    assert_int_equal(FK_EFUSE_RD_DIS_KEY(MKEK_KEY), 35);
    assert_int_equal(FK_EFUSE_RD_DIS_KEY(DEVK_KEY), 36);
    assert_int_equal(FK_EFUSE_RD_DIS_BLOCK(FK_EFUSE_BLOCK_SYS_DATA2), 38);
    assert_int_equal(FK_EFUSE_KEY_PURPOSE(MKEK_KEY), 100);
    assert_int_equal(FK_EFUSE_KEY_PURPOSE(DEVK_KEY), 104);
    assert_int_equal(FK_EFUSE_SECURE_BOOT_KEY_REVOKE(2), 87);
}

static void test_block0_bits_only_go_up(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_int_equal(
        fk_efuse_burn_field(&g_e, FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS, 0x3),
        FK_EFUSE_OK);
    /* Burning 0x4 adds a bit; the two earlier ones stay. */
    assert_int_equal(
        fk_efuse_burn_field(&g_e, FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS, 0x4),
        FK_EFUSE_OK);
    assert_int_equal(
        fk_efuse_read_field(&g_e, FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS, &v),
        FK_EFUSE_OK);
    assert_int_equal(v, 0x7);
    /* A value wider than the field, a range past BLOCK0: refused. */
    assert_int_equal(
        fk_efuse_burn_field(&g_e, FK_EFUSE_KEY_PURPOSE(0), FK_EFUSE_KEY_PURPOSE_BITS, 0x10),
        FK_EFUSE_EINVAL);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_BLOCK0_BITS - 1, 2, 1), FK_EFUSE_EINVAL);
    assert_int_equal(fk_efuse_read_field(&g_e, 0, 33, &v), FK_EFUSE_EINVAL);
    assert_false(fk_efuse_bit(&g_e, FK_EFUSE_BLOCK0_BITS));
}

static void test_wr_dis_freezes_field(void **state)
{
    (void)state;
    fk_efuse_t before;
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, 0, FK_EFUSE_PURPOSE_USER), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_KEY_PURPOSE(0), 1, 1), FK_EFUSE_OK);
    memcpy(&before, &g_e, sizeof(before));
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, 0, FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0),
                     FK_EFUSE_EWRITE_DISABLED);
    assert_memory_equal(&before, &g_e, sizeof(before));
    /* WR_DIS bit 18 freezes SECURE_VERSION and DIS_DOWNLOAD_MODE; bit 15 SECURE_BOOT_EN. */
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_GROUP3, 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_SECURE_VERSION + 15, 1, 1),
                     FK_EFUSE_EWRITE_DISABLED);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_DIS_DOWNLOAD_MODE, 1, 1),
                     FK_EFUSE_EWRITE_DISABLED);
    assert_true(fk_efuse_bit_write_disabled(&g_e, FK_EFUSE_SECURE_VERSION));
    assert_false(fk_efuse_bit_write_disabled(&g_e, FK_EFUSE_SECURE_BOOT_EN));
    /* WR_DIS bit 0 freezes RD_DIS. */
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_RD_DIS, 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_RD_DIS_KEY(5), 1, 1),
                     FK_EFUSE_EWRITE_DISABLED);
}

static void test_purpose_set_once(void **state)
{
    (void)state;
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, 1, FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0),
                     FK_EFUSE_OK);
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, 1, FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0),
                     FK_EFUSE_OK);
    /* 9 | 10 would read as 11: the API refuses instead of ORing. */
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, 1, FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST1),
                     FK_EFUSE_EREPEATED);
    assert_int_equal(fk_efuse_key_purpose(&g_e, 1), FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0);
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, FK_EFUSE_KEY_BLOCKS, FK_EFUSE_PURPOSE_USER),
                     FK_EFUSE_EINVAL);
    assert_int_equal(fk_efuse_key_purpose(&g_e, FK_EFUSE_KEY_BLOCKS), 0xFF);
}

static void test_block_written_once(void **state)
{
    (void)state;
    uint8_t a[FK_EFUSE_BLOCK_BYTES];
    uint8_t b[FK_EFUSE_BLOCK_BYTES];
    uint8_t got[FK_EFUSE_BLOCK_BYTES];
    fill(a, sizeof(a), SEED_MKEK);
    fill(b, sizeof(b), SEED_OTHER);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(1), a), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(1), b), FK_EFUSE_EREPEATED);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(1), a), FK_EFUSE_EREPEATED);
    assert_int_equal(fk_efuse_read_block(&g_e, FK_EFUSE_BLOCK_KEY(1), got), FK_EFUSE_OK);
    assert_memory_equal(got, a, sizeof(a));
    /* A blank but write-disabled block. */
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_KEY(2), 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(2), b),
                     FK_EFUSE_EWRITE_DISABLED);
    assert_true(fk_efuse_block_empty(&g_e, FK_EFUSE_BLOCK_KEY(2)));
    /* BLOCK0 is not a data block. */
    assert_int_equal(fk_efuse_write_block(&g_e, 0, b), FK_EFUSE_EINVAL);
    assert_int_equal(fk_efuse_read_block(&g_e, FK_EFUSE_BLOCKS, got), FK_EFUSE_EINVAL);
}

static void test_rd_dis_hides_block(void **state)
{
    (void)state;
    uint8_t a[FK_EFUSE_BLOCK_BYTES];
    uint8_t got[FK_EFUSE_BLOCK_BYTES];
    fill(a, sizeof(a), SEED_OTHER);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(5), a), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_RD_DIS_KEY(5), 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_read_block(&g_e, FK_EFUSE_BLOCK_KEY(5), got),
                     FK_EFUSE_EREAD_DISABLED);
    for (size_t i = 0; i < sizeof(got); i++) assert_int_equal(got[i], 0);
    assert_false(fk_efuse_block_empty(&g_e, FK_EFUSE_BLOCK_KEY(5)));
    /* Blocks 1..3 have no RD_DIS bit. */
    assert_int_equal(fk_efuse_read_block(&g_e, 3, got), FK_EFUSE_OK);
}

static void test_unused_definition(void **state)
{
    (void)state;
    uint8_t a[FK_EFUSE_BLOCK_BYTES];
    unsigned k = 99;
    fill(a, sizeof(a), SEED_OTHER);
    for (unsigned n = 0; n < FK_EFUSE_KEY_BLOCKS; n++) assert_true(fk_efuse_key_unused(&g_e, n));
    /* Each condition alone makes a block used. */
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, 0, FK_EFUSE_PURPOSE_HMAC_UP), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_KEY(1), 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_KEY_PURPOSE(2), 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_RD_DIS_KEY(3), 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(4), a), FK_EFUSE_OK);
    for (unsigned n = 0; n < 5; n++) assert_false(fk_efuse_key_unused(&g_e, n));
    assert_true(fk_efuse_find_unused_key(&g_e, &k));
    assert_int_equal(k, 5);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(5), a), FK_EFUSE_OK);
    assert_false(fk_efuse_find_unused_key(&g_e, &k));
    assert_false(fk_efuse_key_unused(&g_e, FK_EFUSE_KEY_BLOCKS));
}

/* ---- Scenario 28: MKEK in KEY3, DEVK in KEY4 ----------------------------------- */

static void test_scenario28_keys(void **state)
{
    (void)state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t got[FK_EFUSE_BLOCK_BYTES];
    uint8_t other[FK_EFUSE_BLOCK_BYTES];
    uint32_t rd_dis = 0xFF;
    provision(mkek, devk);

    assert_int_equal(fk_efuse_key_purpose(&g_e, MKEK_KEY), FK_EFUSE_PURPOSE_USER);
    assert_int_equal(fk_efuse_key_purpose(&g_e, DEVK_KEY), FK_EFUSE_PURPOSE_USER);
    assert_true(bit(26) && bit(27)); /* key data write-disabled */
    assert_true(bit(11) && bit(12)); /* their purposes write-disabled */
    assert_int_equal(fk_efuse_read_field(&g_e, FK_EFUSE_RD_DIS, FK_EFUSE_RD_DIS_BITS, &rd_dis),
                     FK_EFUSE_OK);
    assert_int_equal(rd_dis, 0); /* RD_DIS clear: the firmware must read its USER keys */
    assert_int_equal(fk_efuse_read_block(&g_e, MKEK_BLOCK, got), FK_EFUSE_OK);
    assert_memory_equal(got, mkek, sizeof(got));
    assert_int_equal(fk_efuse_read_block(&g_e, DEVK_BLOCK, got), FK_EFUSE_OK);
    assert_memory_equal(got, devk, sizeof(got));
    /* No other WR_DIS bit was burned. */
    for (unsigned b = 0; b < FK_EFUSE_WR_DIS_BITS; b++) {
        if (b != 26 && b != 27 && b != 11 && b != 12) assert_false(bit(b));
    }

    /* A second write of either block fails and changes nothing. */
    fill(other, sizeof(other), SEED_OTHER);
    assert_int_not_equal(fk_efuse_write_block(&g_e, MKEK_BLOCK, other), FK_EFUSE_OK);
    assert_int_not_equal(fk_efuse_write_block(&g_e, DEVK_BLOCK, other), FK_EFUSE_OK);
    assert_int_equal(fk_lotp_keys_provision(&g_l, other, devk), FK_LOTP_ESTATE);
    assert_int_equal(fk_efuse_read_block(&g_e, MKEK_BLOCK, got), FK_EFUSE_OK);
    assert_memory_equal(got, mkek, sizeof(got));
    /* Nor can the purpose be changed. */
    assert_int_equal(fk_efuse_set_key_purpose(&g_e, MKEK_KEY, FK_EFUSE_PURPOSE_HMAC_UP),
                     FK_EFUSE_EWRITE_DISABLED);
    /* The weaker guarantee, stated: no read lock exists for these keys. */
    assert_int_equal(fk_lotp_keys_lock(&g_l), FK_LOTP_EUNSUPPORTED);
    assert_false(bit(FK_EFUSE_RD_DIS_KEY(MKEK_KEY)) || bit(FK_EFUSE_RD_DIS_KEY(DEVK_KEY)));
}

static void test_scenario28_key4_taken(void **state)
{
    (void)state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    fk_efuse_t before;
    fill(mkek, sizeof(mkek), SEED_MKEK);
    fill(devk, sizeof(devk), SEED_DEVK);
    /* KEY4 write-protected by someone: the preflight refuses, KEY3 untouched. */
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_KEY(DEVK_KEY), 1, 1), FK_EFUSE_OK);
    memcpy(&before, &g_e, sizeof(before));
    assert_int_equal(fk_lotp_keys_provision(&g_l, mkek, devk), FK_LOTP_ESTATE);
    assert_memory_equal(&before, &g_e, sizeof(before));
}

/* ---- Scenario 29: the secure-boot digest and the lock ---------------------------- */

static void test_scenario29_digest_and_lock(void **state)
{
    (void)state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    uint8_t got[FK_EFUSE_BLOCK_BYTES];
    unsigned slot = 99;
    uint32_t soft = 0;
    provision(mkek, devk);
    fill(digest, sizeof(digest), SEED_DIGEST);

    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, &slot), FK_LOTP_OK);
    assert_int_equal(slot, 0);
    /* The first unused key block (KEY0 = BLOCK4), purpose SECURE_BOOT_DIGEST0 = 9. */
    assert_int_equal(fk_efuse_key_purpose(&g_e, 0), FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0);
    assert_int_equal(fk_efuse_read_block(&g_e, FK_EFUSE_BLOCK_KEY(0), got), FK_EFUSE_OK);
    assert_memory_equal(got, digest, sizeof(got));
    assert_false(bit(FK_EFUSE_WR_DIS_KEY(0)) || bit(FK_EFUSE_WR_DIS_KEY_PURPOSE(0))); /* not yet */
    assert_false(bit(FK_EFUSE_SECURE_BOOT_EN));

    assert_int_equal(fk_lotp_secure_boot_enable(&g_l), FK_LOTP_OK);
    assert_true(bit(116));
    assert_int_equal(fk_lotp_secure_boot_lock(&g_l), FK_LOTP_OK);

    /* The unused digests are revoked, the live one is not. */
    assert_false(bit(85));
    assert_true(bit(86) && bit(87));
    /* The digest block and its purpose are write-disabled. */
    assert_true(bit(FK_EFUSE_WR_DIS_KEY(0)) && bit(FK_EFUSE_WR_DIS_KEY_PURPOSE(0)));
    /* JTAG off: SOFT_DIS_JTAG odd, pad, USB JTAG, USB-Serial-JTAG. */
    assert_int_equal(
        fk_efuse_read_field(&g_e, FK_EFUSE_SOFT_DIS_JTAG, FK_EFUSE_SOFT_DIS_JTAG_BITS, &soft),
        FK_EFUSE_OK);
    assert_int_equal(__builtin_popcount(soft) & 1, 1);
    assert_true(bit(51) && bit(118) && bit(119));
    /* Download mode stays open; the revoke bits stay burnable. */
    assert_false(bit(128));
    assert_false(bit(FK_EFUSE_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE));
    assert_false(bit(FK_EFUSE_ENABLE_SECURITY_DOWNLOAD));
    for (unsigned n = 0; n < FK_EFUSE_DIGEST_SLOTS; n++)
        assert_false(bit(FK_EFUSE_WR_DIS_REVOKE(n)));
    /* And the keys are untouched and still readable. */
    assert_int_equal(fk_efuse_read_block(&g_e, MKEK_BLOCK, got), FK_EFUSE_OK);
    assert_memory_equal(got, mkek, sizeof(got));
}

static void test_scenario29_first_free_block(void **state)
{
    (void)state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    uint8_t user[FK_EFUSE_BLOCK_BYTES];
    provision(mkek, devk);
    /* KEY0 holds user data: not unused, so the digest goes to KEY1. */
    fill(user, sizeof(user), SEED_OTHER);
    assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(0), user), FK_EFUSE_OK);
    fill(digest, sizeof(digest), SEED_DIGEST);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, 2, digest, NULL), FK_LOTP_OK);
    assert_int_equal(fk_efuse_key_purpose(&g_e, 0), FK_EFUSE_PURPOSE_USER);
    assert_int_equal(fk_efuse_key_purpose(&g_e, 1), FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST2);
    /* Next: KEY2, then KEY5 (KEY3/KEY4 hold our keys); then no block is left. */
    digest[0] ^= 1u;
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_OK);
    assert_int_equal(fk_efuse_key_purpose(&g_e, 2), FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0);
    digest[0] ^= 2u;
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_OK);
    assert_int_equal(fk_efuse_key_purpose(&g_e, 5), FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST1);
    assert_int_equal(fk_efuse_key_purpose(&g_e, MKEK_KEY), FK_EFUSE_PURPOSE_USER);
    assert_int_equal(fk_efuse_key_purpose(&g_e, DEVK_KEY), FK_EFUSE_PURPOSE_USER);
}

static void test_scenario29_no_block_left(void **state)
{
    (void)state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    uint8_t user[FK_EFUSE_BLOCK_BYTES];
    fk_efuse_t before;
    provision(mkek, devk);
    fill(user, sizeof(user), SEED_OTHER);
    for (unsigned k = 0; k < FK_EFUSE_KEY_BLOCKS; k++) {
        if (k != MKEK_KEY && k != DEVK_KEY)
            assert_int_equal(fk_efuse_write_block(&g_e, FK_EFUSE_BLOCK_KEY(k), user), FK_EFUSE_OK);
    }
    memcpy(&before, &g_e, sizeof(before));
    fill(digest, sizeof(digest), SEED_DIGEST);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_EFULL);
    assert_memory_equal(&before, &g_e, sizeof(before));
}

static void test_lock_refused_whole(void **state)
{
    (void)state;
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    fk_efuse_t before;
    fill(digest, sizeof(digest), SEED_DIGEST);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(&g_l), FK_LOTP_OK);
    /* REVOKE1 write-disabled: the lock cannot revoke slot 1, so it burns nothing. */
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_REVOKE(1), 1, 1), FK_EFUSE_OK);
    memcpy(&before, &g_e, sizeof(before));
    assert_int_equal(fk_lotp_secure_boot_lock(&g_l), FK_LOTP_EPERM);
    assert_memory_equal(&before, &g_e, sizeof(before));
}

static void test_lock_before_enable_refused(void **state)
{
    (void)state;
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    uint8_t zero[FK_LOTP_DIGEST_BYTES] = {0};
    fill(digest, sizeof(digest), SEED_DIGEST);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, zero, NULL), FK_LOTP_EARG);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_lock(&g_l), FK_LOTP_ESTATE);
    assert_false(bit(86) || bit(87));
    /* SECURE_BOOT_EN write-disabled before it was set. */
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_SECURE_BOOT_EN, 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(&g_l), FK_LOTP_EPERM);
    assert_false(bit(FK_EFUSE_SECURE_BOOT_EN));
}

static void test_soft_jtag_made_odd(void **state)
{
    (void)state;
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    uint32_t soft = 0;
    fk_lotp_debug_t dbg;
    fill(digest, sizeof(digest), SEED_DIGEST);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_OK);
    /* Two ones (even): JTAG is not soft-disabled; one more bit makes it odd. */
    assert_int_equal(
        fk_efuse_burn_field(&g_e, FK_EFUSE_SOFT_DIS_JTAG, FK_EFUSE_SOFT_DIS_JTAG_BITS, 0x3),
        FK_EFUSE_OK);
    assert_int_equal(fk_lotp_debug(&g_l, &dbg), FK_LOTP_OK);
    assert_false(dbg.partly || dbg.disabled);
    assert_int_equal(fk_lotp_debug_disable(&g_l), FK_LOTP_OK);
    assert_int_equal(
        fk_efuse_read_field(&g_e, FK_EFUSE_SOFT_DIS_JTAG, FK_EFUSE_SOFT_DIS_JTAG_BITS, &soft),
        FK_EFUSE_OK);
    assert_int_equal(soft, 0x7);
    assert_int_equal(fk_lotp_debug(&g_l, &dbg), FK_LOTP_OK);
    assert_true(dbg.partly && dbg.disabled);
    assert_false(dbg.glitch_detector);
    /* The group write-protect freezes pad JTAG: a fresh chip with WR_DIS 2. */
    fk_efuse_init(&g_e);
    assert_int_equal(fk_lotp_bootkey_load(&g_l, FK_LOTP_SLOT_ANY, digest, NULL), FK_LOTP_OK);
    assert_int_equal(fk_efuse_burn_field(&g_e, FK_EFUSE_WR_DIS_GROUP1, 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_lotp_debug_disable(&g_l), FK_LOTP_EPERM);
    assert_false(bit(FK_EFUSE_DIS_PAD_JTAG) || bit(FK_EFUSE_DIS_USB_JTAG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_map_constants, setup),
        cmocka_unit_test_setup(test_block0_bits_only_go_up, setup),
        cmocka_unit_test_setup(test_wr_dis_freezes_field, setup),
        cmocka_unit_test_setup(test_purpose_set_once, setup),
        cmocka_unit_test_setup(test_block_written_once, setup),
        cmocka_unit_test_setup(test_rd_dis_hides_block, setup),
        cmocka_unit_test_setup(test_unused_definition, setup),
        cmocka_unit_test_setup(test_scenario28_keys, setup),
        cmocka_unit_test_setup(test_scenario28_key4_taken, setup),
        cmocka_unit_test_setup(test_scenario29_digest_and_lock, setup),
        cmocka_unit_test_setup(test_scenario29_first_free_block, setup),
        cmocka_unit_test_setup(test_scenario29_no_block_left, setup),
        cmocka_unit_test_setup(test_lock_refused_whole, setup),
        cmocka_unit_test_setup(test_lock_before_enable_refused, setup),
        cmocka_unit_test_setup(test_soft_jtag_made_odd, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
