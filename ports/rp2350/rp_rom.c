/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_rom.c - boot ROM function lookup (docs/rp2350.md, "Boot ROM calls"):
 * the u16 at 0x16 points at the ROM's lookup function, which takes a
 * two-letter code and the kind of caller (Arm Secure) and returns the
 * function's address with the Thumb bit set, or NULL.
 */
#include "rp_rom.h"

#include "rp_mmio.h"
#include "rp_regs.h"

rp_rom_table_t rp_rom;

void *rp_rom_lookup(uint32_t code)
{
#ifdef RP_MMIO_MODEL
    return rp_model_rom_lookup(code, RP_RT_FLAG_FUNC_ARM_SEC);
#else
    typedef void *(*lookup_fn)(uint32_t code, uint32_t mask);
    /* ROM memory, not a register. The empty asm hides the small constant
     * address from GCC 12, which takes any access below 4 KiB for a NULL
     * dereference (-Warray-bounds). */
    uintptr_t where = RP_ROM_LOOKUP_PTR;
    __asm__("" : "+r"(where));
    const lookup_fn lookup = (lookup_fn)(uintptr_t)(*(const volatile uint16_t *)where);
    return lookup(code, RP_RT_FLAG_FUNC_ARM_SEC);
#endif
}

bool rp_rom_init(void)
{
    rp_rom_table_t t;
    t.connect_internal_flash = (rp_rom_void_fn)rp_rom_lookup(RP_ROM_FUNC_CONNECT_INTERNAL_FLASH);
    t.flash_exit_xip = (rp_rom_void_fn)rp_rom_lookup(RP_ROM_FUNC_FLASH_EXIT_XIP);
    t.flash_range_erase = (rp_rom_erase_fn)rp_rom_lookup(RP_ROM_FUNC_FLASH_RANGE_ERASE);
    t.flash_range_program = (rp_rom_program_fn)rp_rom_lookup(RP_ROM_FUNC_FLASH_RANGE_PROGRAM);
    t.flash_flush_cache = (rp_rom_void_fn)rp_rom_lookup(RP_ROM_FUNC_FLASH_FLUSH_CACHE);
    t.flash_enter_cmd_xip = (rp_rom_void_fn)rp_rom_lookup(RP_ROM_FUNC_FLASH_ENTER_CMD_XIP);
    t.otp_access = (rp_rom_otp_access_fn)rp_rom_lookup(RP_ROM_FUNC_OTP_ACCESS);
    t.reboot = (rp_rom_reboot_fn)rp_rom_lookup(RP_ROM_FUNC_REBOOT);
    t.get_sys_info = (rp_rom_sys_info_fn)rp_rom_lookup(RP_ROM_FUNC_GET_SYS_INFO);
    t.ready = t.connect_internal_flash != NULL && t.flash_exit_xip != NULL &&
              t.flash_range_erase != NULL && t.flash_range_program != NULL &&
              t.flash_flush_cache != NULL && t.flash_enter_cmd_xip != NULL &&
              t.otp_access != NULL && t.reboot != NULL && t.get_sys_info != NULL;
    rp_rom = t;
    return t.ready;
}

int rp_rom_otp_access(uint8_t *buf, uint32_t len, uint32_t cmd)
{
    if (!rp_rom.ready) return RP_ROM_ERR_INVALID_ARG;
    return rp_rom.otp_access(buf, len, cmd);
}

int rp_rom_reboot(uint32_t flags, uint32_t delay_ms, uint32_t p0, uint32_t p1)
{
    if (!rp_rom.ready) return RP_ROM_ERR_INVALID_ARG;
    return rp_rom.reboot(flags, delay_ms, p0, p1);
}

int rp_rom_get_sys_info(uint32_t *out, uint32_t out_words, uint32_t flags)
{
    if (!rp_rom.ready) return RP_ROM_ERR_INVALID_ARG;
    return rp_rom.get_sys_info(out, out_words, flags);
}
