/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_rom.h - the boot ROM's functions (docs/rp2350.md, "Boot ROM calls"):
 * looked up once by their two-letter codes for Arm Secure callers, kept in
 * a table in SRAM, and called through typed wrappers.
 *
 * The flash wrappers are always inlined and read the table from SRAM, so a
 * function running from RAM while flash is unusable can call them. ROM code
 * uses the redundancy coprocessor: CPACR's CP7 bits must stay set.
 *
 * Built with RP_MMIO_MODEL, the lookup asks the test model
 * (rp_model_rom_lookup), which hands out host functions with the same
 * signatures.
 */
#ifndef FUSEKEY_RP_ROM_H
#define FUSEKEY_RP_ROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_cpu.h"

typedef void (*rp_rom_void_fn)(void);
typedef void (*rp_rom_erase_fn)(uint32_t offs, size_t count, uint32_t block_size,
                                uint8_t block_cmd);
typedef void (*rp_rom_program_fn)(uint32_t offs, const uint8_t *data, size_t count);
typedef int (*rp_rom_otp_access_fn)(uint8_t *buf, uint32_t len, uint32_t cmd);
typedef int (*rp_rom_reboot_fn)(uint32_t flags, uint32_t delay_ms, uint32_t p0, uint32_t p1);
typedef int (*rp_rom_sys_info_fn)(uint32_t *out, uint32_t out_words, uint32_t flags);

typedef struct rp_rom_table {
    rp_rom_void_fn connect_internal_flash;
    rp_rom_void_fn flash_exit_xip;
    rp_rom_erase_fn flash_range_erase;
    rp_rom_program_fn flash_range_program;
    rp_rom_void_fn flash_flush_cache;
    rp_rom_void_fn flash_enter_cmd_xip;
    rp_rom_otp_access_fn otp_access;
    rp_rom_reboot_fn reboot;
    rp_rom_sys_info_fn get_sys_info;
    bool ready; /* every entry above was found */
} rp_rom_table_t;

/* The table (in .data, i.e. SRAM). Filled by rp_rom_init. */
extern rp_rom_table_t rp_rom;

#ifdef RP_MMIO_MODEL
void *rp_model_rom_lookup(uint32_t code, uint32_t mask);
#endif

/* The ROM function with code (RP_ROM_CODE(c1, c2)) for Arm Secure callers;
 * NULL when the ROM has none. */
void *rp_rom_lookup(uint32_t code);

/* Look every function up. true when all were found (else rp_rom.ready is
 * false and the flash, OTP and reboot functions report an error). */
bool rp_rom_init(void);

/* ---- Flash: only from RAM, interrupts masked, flash idle (rp_flash.c) ---- */
RP_ALWAYS_INLINE void rp_rom_connect_internal_flash(void) { rp_rom.connect_internal_flash(); }
RP_ALWAYS_INLINE void rp_rom_flash_exit_xip(void) { rp_rom.flash_exit_xip(); }
RP_ALWAYS_INLINE void rp_rom_flash_range_erase(uint32_t offs, size_t count, uint32_t block_size,
                                               uint8_t cmd)
{
    rp_rom.flash_range_erase(offs, count, block_size, cmd);
}
RP_ALWAYS_INLINE void rp_rom_flash_range_program(uint32_t offs, const uint8_t *data, size_t count)
{
    rp_rom.flash_range_program(offs, data, count);
}
RP_ALWAYS_INLINE void rp_rom_flash_flush_cache(void) { rp_rom.flash_flush_cache(); }
RP_ALWAYS_INLINE void rp_rom_flash_enter_cmd_xip(void) { rp_rom.flash_enter_cmd_xip(); }

/* ---- Anywhere ---------------------------------------------------------------- */
/* otp_access(buf, len, cmd): cmd = row | RP_ROM_OTP_CMD_WRITE? | _ECC?;
 * 0 or a negative RP_ROM_ERR_*. */
int rp_rom_otp_access(uint8_t *buf, uint32_t len, uint32_t cmd);
/* reboot(flags, delay_ms, p0, p1); with RP_ROM_REBOOT_NO_RETURN it does not
 * return on success. */
int rp_rom_reboot(uint32_t flags, uint32_t delay_ms, uint32_t p0, uint32_t p1);
/* get_sys_info(out, words, flags): words written, or negative. */
int rp_rom_get_sys_info(uint32_t *out, uint32_t out_words, uint32_t flags);

#endif /* FUSEKEY_RP_ROM_H */
