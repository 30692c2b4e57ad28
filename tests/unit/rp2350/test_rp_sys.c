/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_sys.c - reboot and panic (rp_sys.c): a reboot is only recorded
 * until main.c performs it through the ROM (normal and BOOTSEL with the
 * ROM's argument order), and a panic masks interrupts, wipes the
 * registered secrets, keeps its line, lights the LED and reboots.
 */
#include <string.h>

#include "rp_test.h"

static int setup(void **state)
{
    (void)state;
    rp_test_boot();
    rp_led_init();
    return 0;
}

static void test_platform(void **state)
{
    (void)state;
    assert_int_equal(fk_hal_platform(), FK_PLATFORM_RP2350);
}

/* Every ROM function the port uses, looked up for Arm Secure callers. */
static void test_rom_lookup(void **state)
{
    (void)state;
    static const uint32_t codes[] = {
        RP_ROM_FUNC_CONNECT_INTERNAL_FLASH, RP_ROM_FUNC_FLASH_EXIT_XIP,
        RP_ROM_FUNC_FLASH_RANGE_ERASE,      RP_ROM_FUNC_FLASH_RANGE_PROGRAM,
        RP_ROM_FUNC_FLASH_FLUSH_CACHE,      RP_ROM_FUNC_FLASH_ENTER_CMD_XIP,
        RP_ROM_FUNC_OTP_ACCESS,             RP_ROM_FUNC_REBOOT,
        RP_ROM_FUNC_GET_SYS_INFO,
    };
    rp_model_log_clear();
    assert_true(rp_rom_init());
    assert_true(rp_rom.ready);
    assert_int_equal(rp_model_count(RP_OP_ROM, 0x16u), sizeof codes / sizeof codes[0]);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        FIND(0, RP_OP_ROM, 0x16u, 0xFFFFFFFFu, codes[i]);
    assert_int_equal(RP_ROM_FUNC_OTP_ACCESS, 0x414Fu); /* 'O','A' */
    ASSERT_NO_VIOLATION(); /* the model checks the Arm-Secure mask */

    rp_model.missing_rom_code = RP_ROM_FUNC_REBOOT;
    assert_false(rp_rom_init());
    assert_int_equal(rp_rom_reboot(0x100u, 10u, 0u, 0u), RP_ROM_ERR_INVALID_ARG);
    assert_int_equal(rp_model.reboot_calls, 0);
}

static void test_reboot_is_deferred(void **state)
{
    (void)state;
    fk_reboot_mode_t mode = FK_REBOOT_NORMAL;
    assert_false(rp_reboot_pending(&mode));
    fk_hal_reboot(FK_REBOOT_BOOTLOADER);
    assert_int_equal(rp_model.reboot_calls, 0); /* the response is not out yet */
    assert_true(rp_reboot_pending(&mode));
    assert_int_equal(mode, FK_REBOOT_BOOTLOADER);

    rp_reboot_now(mode);
    assert_int_equal(rp_model.reboot_calls, 1);
    assert_int_equal(rp_model.reboot_flags, 0x102u); /* BOOTSEL, no return */
    assert_int_equal(rp_model.reboot_delay, 10u);
    assert_int_equal(rp_model.reboot_p0, 0x20u); /* flags: activity pin valid */
    assert_int_equal(rp_model.reboot_p1, 25u);   /* the pin: the LED */

    rp_reboot_now(FK_REBOOT_NORMAL);
    assert_int_equal(rp_model.reboot_flags, 0x100u);
    assert_int_equal(rp_model.reboot_p0, 0u);
    assert_int_equal(rp_model.reboot_p1, 0u);
}

/* The last test: a panic does not return and stays latched. */
static void test_panic(void **state)
{
    (void)state;
    static uint8_t secret[48];
    jmp_buf halted;
    memset(secret, 0xA5, sizeof secret);
    assert_true(rp_secret_register(secret, sizeof secret));
    rp_model.halt = &halted;
    if (setjmp(halted) == 0) {
        fk_hal_panic("somewhere.c", 4242);
        fail_msg("fk_hal_panic returned");
    }
    rp_model.halt = NULL;
    for (size_t i = 0; i < sizeof secret; i++) assert_int_equal(secret[i], 0);
    assert_true(rp_model.irq_masked);
    assert_int_equal(rp_model_peek(RP_WATCHDOG_SCRATCH(0)), 4242u);
    assert_int_equal(rp_model_peek(RP_WATCHDOG_SCRATCH(1)), RP_PANIC_MAGIC);
    assert_true((rp_model_gpio_out() & (1u << RP_LED_GPIO)) != 0u);
    assert_int_equal(rp_model.reboot_calls, 1);
    assert_int_equal(rp_model.reboot_flags, 0x100u);
    const long reboot = rp_model_find(0, RP_OP_ROM, RP_ROM_FUNC_REBOOT, 0, 0);
    assert_true(reboot >= 0 && rp_model.log[reboot].irq_masked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_platform, setup),
        cmocka_unit_test_setup(test_rom_lookup, setup),
        cmocka_unit_test_setup(test_reboot_is_deferred, setup),
        cmocka_unit_test_setup(test_panic, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
