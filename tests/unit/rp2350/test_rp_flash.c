/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_flash.c - the flash data region (rp_flash.c) against the ROM
 * model: where the region lies, the ROM call sequence (connect, exit XIP,
 * erase or program, flush, XIP restore) with interrupts masked from the
 * first call to the last, the bounce buffer, and the alignment and range
 * checks of hal.h.
 */
#include <string.h>

#include "rp_test.h"

#define DATA_BASE RP_FLASH_DATA_OFFSET

static int setup(void **state)
{
    (void)state;
    rp_test_boot();
    rp_model_log_clear();
    return 0;
}

/* The ROM calls of one write, in order, all with interrupts masked, and
 * interrupts enabled again afterwards. */
static void check_write_sequence(uint32_t op_code, bool stub)
{
    const size_t conn = FIND(0, RP_OP_ROM, RP_ROM_FUNC_CONNECT_INTERNAL_FLASH, 0, 0);
    const size_t exit = FIND(conn, RP_OP_ROM, RP_ROM_FUNC_FLASH_EXIT_XIP, 0, 0);
    const size_t op = FIND(exit, RP_OP_ROM, op_code, 0, 0);
    const size_t flush = FIND(op, RP_OP_ROM, RP_ROM_FUNC_FLASH_FLUSH_CACHE, 0, 0);
    const size_t restore = stub ? FIND(flush, RP_OP_ROM, RP_BOOTRAM_BASE, 0, 0)
                                : FIND(flush, RP_OP_ROM, RP_ROM_FUNC_FLASH_ENTER_CMD_XIP, 0, 0);
    for (size_t i = conn; i <= restore; i++) {
        if (!rp_model.log[i].irq_masked) fail_msg("log entry %zu with interrupts enabled", i);
    }
    assert_false(rp_model.irq_masked);
    assert_int_equal(rp_model.xip, stub ? RP_XIP_FAST : RP_XIP_SLOW);
    ASSERT_NO_VIOLATION();
}

static void test_geometry(void **state)
{
    (void)state;
    fk_flash_geometry_t geo;
    fk_hal_flash_geometry(&geo);
    assert_int_equal(geo.sector_size, 4096);
    assert_int_equal(geo.page_size, 256);
    assert_int_equal(geo.size, 3u * 1024u * 1024u - 4096u);
    /* Image area below, the last sector of the 4 MiB above. */
    assert_int_equal(DATA_BASE, 0x100000);
    assert_int_equal(DATA_BASE + geo.size, 0x3FF000);
}

static void test_erase_sequence(void **state)
{
    (void)state;
    memset(rp_model.flash + DATA_BASE, 0x00, 3u * 4096u);
    assert_int_equal(fk_hal_flash_erase(4096), FK_HAL_OK);
    check_write_sequence(RP_ROM_FUNC_FLASH_RANGE_ERASE, true);
    const long e = rp_model_find(0, RP_OP_ROM, RP_ROM_FUNC_FLASH_RANGE_ERASE, 0, 0);
    assert_int_equal(rp_model.log[e].value, DATA_BASE + 4096u); /* a flash offset, not an address */
    for (uint32_t i = 0; i < 3u * 4096u; i++) {
        const uint8_t want = i >= 4096u && i < 2u * 4096u ? 0xFF : 0x00;
        if (rp_model.flash[DATA_BASE + i] != want) fail_msg("flash byte 0x%x", DATA_BASE + i);
    }
}

static void test_program_through_bounce_buffer(void **state)
{
    (void)state;
    static const uint8_t data[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    assert_int_equal(fk_hal_flash_program(0x210, data, sizeof data), FK_HAL_OK);
    check_write_sequence(RP_ROM_FUNC_FLASH_RANGE_PROGRAM, true);
    const long p = rp_model_find(0, RP_OP_ROM, RP_ROM_FUNC_FLASH_RANGE_PROGRAM, 0, 0);
    assert_int_equal(rp_model.log[p].value, DATA_BASE + 0x200u); /* the whole page */
    assert_non_null(rp_model.last_program_src);
    assert_ptr_not_equal(rp_model.last_program_src, data); /* copied to SRAM first */
    assert_memory_equal(rp_model.flash + DATA_BASE + 0x210, data, sizeof data);
    for (uint32_t i = 0; i < 256u; i++) {
        if (i >= 0x10u && i < 0x20u) continue;
        if (rp_model.flash[DATA_BASE + 0x200 + i] != 0xFF) fail_msg("page byte %u changed", i);
    }
    /* NOR: bits only clear. */
    const uint8_t hi = 0xF0, lo = 0x0F;
    assert_int_equal(fk_hal_flash_program(0x300, &hi, 1), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_program(0x300, &lo, 1), FK_HAL_OK);
    uint8_t back = 0xAA;
    assert_int_equal(fk_hal_flash_read(0x300, &back, 1), FK_HAL_OK);
    assert_int_equal(back, 0x00);
    ASSERT_NO_VIOLATION();
}

static void test_alignment_and_range(void **state)
{
    (void)state;
    fk_flash_geometry_t geo;
    fk_hal_flash_geometry(&geo);
    const uint8_t two[2] = {0, 0};
    uint8_t buf[2];
    memset(rp_model.flash + 0x3FF000, 0x00, 4096);
    assert_int_equal(fk_hal_flash_erase(1), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_erase(2048), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_erase(geo.size), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_erase(0xFFFFF000u), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_program(255, two, 2), FK_HAL_EALIGN); /* crosses a page */
    assert_int_equal(fk_hal_flash_program(0, two, 257), FK_HAL_EALIGN);
    assert_int_equal(fk_hal_flash_program(geo.size - 1u, two, 2), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_read(geo.size - 1u, buf, 2), FK_HAL_ERANGE);
    assert_int_equal(fk_hal_flash_read(0xFFFFFFFFu, buf, 2), FK_HAL_ERANGE);
    assert_int_equal(rp_model.erase_calls + rp_model.program_calls, 0);
    /* The last sector of the region is the last one before the reserved one. */
    assert_int_equal(fk_hal_flash_erase(geo.size - 4096u), FK_HAL_OK);
    assert_int_equal(fk_hal_flash_program(geo.size - 2u, two, 2), FK_HAL_OK);
    for (uint32_t i = 0; i < 4096u; i++) assert_int_equal(rp_model.flash[0x3FF000 + i], 0x00);
    ASSERT_NO_VIOLATION();
}

static void test_read_through_xip(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 100u; i++) rp_model.flash[DATA_BASE + 0x1234 + i] = (uint8_t)(i * 7u);
    uint8_t buf[100];
    assert_int_equal(fk_hal_flash_read(0x1234, buf, sizeof buf), FK_HAL_OK);
    for (uint32_t i = 0; i < 100u; i++) assert_int_equal(buf[i], (uint8_t)(i * 7u));
    assert_int_equal(rp_model.erase_calls + rp_model.program_calls, 0);
    ASSERT_NO_VIOLATION();
}

/* No XIP stub in BOOTRAM (an image started by a debugger): the ROM's slow
 * serial XIP mode instead. */
static void test_without_stub_slow_xip(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 64u; i++) rp_model_poke(RP_BOOTRAM_BASE + 4u * i, 0u);
    rp_flash_init();
    rp_model_log_clear();
    assert_int_equal(fk_hal_flash_erase(0), FK_HAL_OK);
    check_write_sequence(RP_ROM_FUNC_FLASH_RANGE_ERASE, false);
    assert_int_equal(rp_model.stub_calls, 0);
}

static void test_rom_function_missing(void **state)
{
    (void)state;
    rp_model.missing_rom_code = RP_ROM_FUNC_FLASH_RANGE_PROGRAM;
    assert_false(rp_rom_init());
    const uint8_t b = 0;
    assert_int_equal(fk_hal_flash_erase(0), FK_HAL_EIO);
    assert_int_equal(fk_hal_flash_program(0, &b, 1), FK_HAL_EIO);
    assert_int_equal(rp_model.erase_calls + rp_model.program_calls, 0);
    assert_int_equal(rp_model_count(RP_OP_ROM, RP_ROM_FUNC_CONNECT_INTERNAL_FLASH), 0);
}

/* A write the chip did not carry out is reported, not assumed. */
static void test_failed_write_detected(void **state)
{
    (void)state;
    const uint8_t zero = 0;
    memset(rp_model.flash + DATA_BASE, 0x00, 4096);
    rp_model.flash_dead = true;
    assert_int_equal(fk_hal_flash_erase(0), FK_HAL_EIO);
    assert_int_equal(fk_hal_flash_program(4096, &zero, 1), FK_HAL_EIO);
    assert_false(rp_model.irq_masked);
    ASSERT_NO_VIOLATION();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_geometry, setup),
        cmocka_unit_test_setup(test_erase_sequence, setup),
        cmocka_unit_test_setup(test_program_through_bounce_buffer, setup),
        cmocka_unit_test_setup(test_alignment_and_range, setup),
        cmocka_unit_test_setup(test_read_through_xip, setup),
        cmocka_unit_test_setup(test_without_stub_slow_xip, setup),
        cmocka_unit_test_setup(test_rom_function_missing, setup),
        cmocka_unit_test_setup(test_failed_write_detected, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
