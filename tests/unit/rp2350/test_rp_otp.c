/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_otp.c - the OTP functions of hal.h on the chip (rp_otp.c): the
 * logical OTP layer over the ROM's otp_access (modelled over the OTP model
 * of otp/), the key rows read once at boot and page 58 locked by SW_LOCK58
 * after, the two firmware writes through that lock, the serial.
 */
#include <string.h>

#include "otp_logical.h"
#include "otp_model.h"
#include "rp_test.h"

static uint8_t mkek[32], devk[32];

static int setup(void **state)
{
    (void)state;
    rp_test_boot();
    for (unsigned i = 0; i < 32u; i++) {
        mkek[i] = (uint8_t)(0xA0u + i);
        devk[i] = (uint8_t)(1u + i); /* a valid secp256k1 scalar */
    }
    return 0;
}

/* What `fusekey otp burn` leaves: both keys and their chaff. */
static void provision(void)
{
    fk_otp_accessor_t acc;
    fk_otp_rows_t rows;
    fk_lotp_t lotp;
    assert_int_equal(fk_otp_rows_of(&rows, &acc, &rp_model.otp, FK_OTP_SECURE), FK_OTP_OK);
    assert_int_equal(fk_lotp_init_rp2350(&lotp, &rows), FK_LOTP_OK);
    assert_int_equal(fk_lotp_keys_provision(&lotp, mkek, devk), FK_LOTP_OK);
}

/* The production state: keys burnt, page 58 locked in OTP (after a reset). */
static void provision_and_lock(void)
{
    provision();
    const uint32_t lock = 0x3C3C3Cu;
    assert_int_equal(fk_otp_write_raw(&rp_model.otp, FK_OTP_SECURE, 0xFF5, &lock, 1), FK_OTP_OK);
    fk_otp_reset(&rp_model.otp);
    assert_int_equal(rp_model.otp.sw_lock[58], 0xC); /* non-secure locked out by OTP */
}

static void test_keys_read_at_boot_then_page_locked(void **state)
{
    (void)state;
    provision_and_lock();
    uint8_t before[FK_OTP_PAGES];
    memcpy(before, rp_model.otp.sw_lock, sizeof before);
    rp_model_log_clear();
    assert_int_equal(rp_otp_init(), FK_HAL_OK);

    /* The key rows were read, then SW_LOCK58 written: secure and
     * non-secure inaccessible; no other page touched. */
    const size_t read = FIND(0, RP_OP_ROM, RP_ROM_FUNC_OTP_ACCESS, 0xFFFFFFFFu, 0xE80u);
    const size_t lock = FIND(0, RP_OP_WRITE, RP_OTP_SW_LOCK(58), 0xFFFFFFFFu, 0xFu);
    assert_true(read < lock);
    assert_int_equal(rp_model.otp.sw_lock[58], 0xF);
    for (unsigned p = 0; p < FK_OTP_PAGES; p++)
        if (p != 58u) assert_int_equal(rp_model.otp.sw_lock[p], before[p]);

    /* The chip now refuses page 58 to everybody, this firmware included... */
    uint32_t word = 0;
    assert_int_equal(rp_rom_otp_access((uint8_t *)&word, 4, 0xE90), RP_ROM_ERR_NOT_PERMITTED);
    /* ...and the HAL still has the keys from the boot read. */
    uint8_t out[32];
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, out), FK_HAL_OK);
    assert_memory_equal(out, mkek, 32);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_DEVK, out), FK_HAL_OK);
    assert_memory_equal(out, devk, 32);
    ASSERT_NO_VIOLATION();
}

/* Before lock-page58, secure code keeps the page (the hardware would
 * refuse it the lock word otherwise); non-secure code loses it. */
static void test_unlocked_page_stays_secure_writable(void **state)
{
    (void)state;
    provision();
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    assert_int_equal(rp_model.otp.sw_lock[58], 0xC);
    FIND(0, RP_OP_WRITE, RP_OTP_SW_LOCK(58), 0xFFFFFFFFu, 0xCu);
    uint8_t out[32];
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, out), FK_HAL_OK);
    assert_memory_equal(out, mkek, 32);
}

static void test_keys_absent(void **state)
{
    (void)state;
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    uint8_t out[32];
    memset(out, 0x55, sizeof out);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, out), FK_HAL_ENOENT);
    for (unsigned i = 0; i < 32u; i++) assert_int_equal(out[i], 0);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_DEVK, out), FK_HAL_ENOENT);
}

static void test_damaged_key_is_an_error(void **state)
{
    (void)state;
    provision();
    /* Two more bits in MKEK's first row: a double error ECC cannot fix. */
    uint32_t raw = 0;
    assert_int_equal(fk_otp_read_raw(&rp_model.otp, FK_OTP_SECURE, 0xE90, &raw, 1), FK_OTP_OK);
    assert_int_equal(raw & 3u, 0u);
    raw |= 3u;
    assert_int_equal(fk_otp_write_raw(&rp_model.otp, FK_OTP_SECURE, 0xE90, &raw, 1), FK_OTP_OK);
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    uint8_t out[32];
    memset(out, 0x55, sizeof out);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, out), FK_HAL_EIO);
    for (unsigned i = 0; i < 32u; i++) assert_int_equal(out[i], 0);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_DEVK, out), FK_HAL_OK);
    assert_memory_equal(out, devk, 32);
}

static void test_state_and_lock_keys(void **state)
{
    (void)state;
    provision();
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    fk_hal_otp_state_t st;
    assert_int_equal(fk_hal_otp_state(&st), FK_HAL_OK);
    assert_int_equal(st.keys_lock, FK_HAL_KEYS_UNLOCKED);
    assert_false(st.secure_boot);
    assert_int_equal(st.boot_key, FK_HAL_NO_BOOT_KEY);
    assert_int_equal(st.rollback_capacity, 48);

    /* The lock needs the MKEK, which only the boot copy can show now. */
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_OK);
    uint32_t raw = 0;
    assert_int_equal(fk_otp_read_raw(&rp_model.otp, FK_OTP_SECURE, 0xFF5, &raw, 1), FK_OTP_OK);
    assert_int_equal(raw, 0x3C3C3Cu);
    assert_int_equal(fk_hal_otp_state(&st), FK_HAL_OK);
    assert_int_equal(st.keys_lock, FK_HAL_KEYS_LOCKED);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_OK); /* idempotent */

    /* After a reset the OTP lock is in force for non-secure code; the
     * secure firmware still reads its keys, then locks itself out. */
    fk_otp_reset(&rp_model.otp);
    assert_int_equal(rp_model.otp.sw_lock[58], 0xC);
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    assert_int_equal(rp_model.otp.sw_lock[58], 0xF);
    assert_int_equal(fk_hal_otp_state(&st), FK_HAL_OK);
    assert_int_equal(st.keys_lock, FK_HAL_KEYS_LOCKED);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_OK); /* already there: nothing written */
    uint8_t out[32];
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, out), FK_HAL_OK);
    assert_memory_equal(out, mkek, 32);
    ASSERT_NO_VIOLATION();
}

static void test_lock_keys_without_mkek_writes_nothing(void **state)
{
    (void)state;
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_ESTATE);
    uint32_t raw = 1;
    assert_int_equal(fk_otp_read_raw(&rp_model.otp, FK_OTP_SECURE, 0xFF5, &raw, 1), FK_OTP_OK);
    assert_int_equal(raw, 0u);
}

static void test_require_rollback(void **state)
{
    (void)state;
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_ESTATE);
    uint32_t flags[3] = {1, 1, 1};
    assert_int_equal(fk_otp_read_raw(&rp_model.otp, FK_OTP_SECURE, 0x48, flags, 3), FK_OTP_OK);
    assert_int_equal(flags[0] | flags[1] | flags[2], 0u);

    /* Secure boot on (CRIT1 bit 0 in all eight rows): now it writes. */
    const uint32_t on[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(fk_otp_write_raw(&rp_model.otp, FK_OTP_SECURE, 0x40, on, 8), FK_OTP_OK);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_OK);
    assert_int_equal(fk_otp_read_raw(&rp_model.otp, FK_OTP_SECURE, 0x48, flags, 3), FK_OTP_OK);
    assert_int_equal(fk_otp_maj3(flags[0], flags[1], flags[2]) & 0x800u, 0x800u);
    fk_hal_otp_state_t st;
    assert_int_equal(fk_hal_otp_state(&st), FK_HAL_OK);
    assert_true(st.secure_boot);
    assert_true(st.rollback_required);
}

/* A page 58 some other firmware locked against secure code too. */
static void test_page_inaccessible_to_secure_firmware(void **state)
{
    (void)state;
    provision();
    const uint32_t lock = 0x3F3F3Fu;
    assert_int_equal(fk_otp_write_raw(&rp_model.otp, FK_OTP_SECURE, 0xFF5, &lock, 1), FK_OTP_OK);
    fk_otp_reset(&rp_model.otp);
    assert_int_equal(rp_otp_init(), FK_HAL_EPERM);
    uint8_t out[32];
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, out), FK_HAL_EPERM);
    fk_hal_otp_state_t st;
    assert_int_equal(fk_hal_otp_state(&st), FK_HAL_OK);
    assert_int_equal(st.keys_lock, FK_HAL_KEYS_LOCK_OTHER);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_EIO); /* never written over */
}

static void test_serial_is_the_chip_id(void **state)
{
    (void)state;
    assert_int_equal(rp_otp_init(), FK_HAL_OK);
    static const uint8_t want[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    uint8_t serial[8];
    fk_hal_serial(serial);
    assert_memory_equal(serial, want, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_keys_read_at_boot_then_page_locked, setup),
        cmocka_unit_test_setup(test_unlocked_page_stays_secure_writable, setup),
        cmocka_unit_test_setup(test_keys_absent, setup),
        cmocka_unit_test_setup(test_damaged_key_is_an_error, setup),
        cmocka_unit_test_setup(test_state_and_lock_keys, setup),
        cmocka_unit_test_setup(test_lock_keys_without_mkek_writes_nothing, setup),
        cmocka_unit_test_setup(test_require_rollback, setup),
        cmocka_unit_test_setup(test_page_inaccessible_to_secure_firmware, setup),
        cmocka_unit_test_setup(test_serial_is_the_chip_id, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
