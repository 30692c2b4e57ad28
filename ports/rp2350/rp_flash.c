/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_flash.c - the flash data region of hal.h on the Pico 2's 4 MiB QSPI
 * flash, through the boot ROM's flash routines (docs/rp2350.md, "Flash").
 *
 *   offset 0x000000          0x100000                         0x3FF000 0x400000
 *          +-----------------+--------------------------------+--------+
 *          | image area      | data region (hal.h offsets 0..)| last   |
 *          | 1 MiB (linker   | 3 MiB - 4 KiB, 767 sectors     | sector |
 *          | FLASH region)   |                                | unused |
 *          +-----------------+--------------------------------+--------+
 *
 * The last sector is left alone: a UF2 for A2 chips may carry a block that
 * erases it (RP2350-E10).
 *
 * IMPLEMENTATION NOTE. While the ROM erases or programs, flash cannot be
 * read: no instruction, literal, vector or data may come from the XIP
 * window. So the functions that run the sequence live in .ramfunc (copied
 * to SRAM at startup), interrupts are masked from before the first ROM call
 * until the fast read mode is back, the ROM pointers come from a table in
 * SRAM, the data to program is first copied into a bounce buffer in SRAM
 * (the caller's may be a constant in flash), and core 1 is parked in the
 * ROM (it is never launched) and DMA is unused, so neither fetches from
 * flash. After the flush, the ROM's XIP set-up stub, copied from BOOTRAM at
 * startup, brings the fast read mode back; without one (an image started
 * by a debugger) the ROM's slow serial mode is entered instead.
 * check_ramfunc.sh (this directory) checks that the RAM functions reference no flash
 * address.
 */
#include <string.h>

#include "hal.h"
#include "rp_cpu.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"
#include "rp_rom.h"
#include "util.h"

#define ERASED 0xFFu

_Static_assert(RP_FLASH_DATA_SIZE % RP_FLASH_SECTOR == 0u, "whole sectors");
_Static_assert(RP_FLASH_DATA_OFFSET + RP_FLASH_DATA_SIZE <= RP_FLASH_SIZE - RP_FLASH_SECTOR,
               "the last sector stays out of the data region");
_Static_assert(RP_FLASH_DATA_OFFSET % RP_FLASH_SECTOR == 0u, "the region starts on a sector");

/* SRAM (.bss): the XIP restore stub and the program bounce buffer. */
static uint32_t xip_stub[RP_BOOTRAM_STUB_BYTES / 4u];
static bool xip_stub_valid;
static uint8_t bounce[RP_FLASH_PAGE] __attribute__((aligned(4)));

void rp_flash_init(void)
{
    uint32_t any = 0;
    for (uint32_t i = 0; i < RP_BOOTRAM_STUB_BYTES / 4u; i++) {
        xip_stub[i] = rp_rd32(RP_BOOTRAM_BASE + 4u * i);
        if (i < 3u) any |= xip_stub[i];
    }
    xip_stub_valid = any != 0u;
}

/* Back to reading flash through XIP (interrupts still masked). */
RP_ALWAYS_INLINE void xip_restore(void)
{
    rp_rom_flash_flush_cache();
    if (xip_stub_valid) {
        rp_cpu_call_stub(xip_stub);
    } else {
        rp_rom_flash_enter_cmd_xip();
    }
}

/* Erase one 4 KiB sector at flash offset off (from 0). */
static RP_RAMFUNC void ram_erase_sector(uint32_t off)
{
    const uint32_t primask = rp_cpu_irq_save();
    rp_rom_connect_internal_flash();
    rp_rom_flash_exit_xip();
    rp_rom_flash_range_erase(off, RP_FLASH_SECTOR, RP_FLASH_SECTOR, RP_FLASH_SECTOR_ERASE_CMD);
    xip_restore();
    rp_cpu_irq_restore(primask);
}

/* Program the bounce buffer as the 256-byte page at flash offset off. */
static RP_RAMFUNC void ram_program_page(uint32_t off)
{
    const uint32_t primask = rp_cpu_irq_save();
    rp_rom_connect_internal_flash();
    rp_rom_flash_exit_xip();
    rp_rom_flash_range_program(off, bounce, RP_FLASH_PAGE);
    xip_restore();
    rp_cpu_irq_restore(primask);
}

/* Copy len bytes of flash from data-region offset off, through XIP. */
static void xip_read(uint32_t off, uint8_t *out, size_t len)
{
    const uint32_t base = RP_XIP_BASE + RP_FLASH_DATA_OFFSET + off;
    for (size_t i = 0; i < len; i++) out[i] = rp_rd8(base + (uint32_t)i);
}

void fk_hal_flash_geometry(fk_flash_geometry_t *geo)
{
    geo->size = RP_FLASH_DATA_SIZE;
    geo->sector_size = RP_FLASH_SECTOR;
    geo->page_size = RP_FLASH_PAGE;
}

int fk_hal_flash_read(uint32_t offset, void *buf, size_t len)
{
    if (offset > RP_FLASH_DATA_SIZE || len > RP_FLASH_DATA_SIZE - offset) return FK_HAL_ERANGE;
    xip_read(offset, (uint8_t *)buf, len);
    return FK_HAL_OK;
}

int fk_hal_flash_erase(uint32_t offset)
{
    if (offset >= RP_FLASH_DATA_SIZE) return FK_HAL_ERANGE;
    if (offset % RP_FLASH_SECTOR != 0u) return FK_HAL_EALIGN;
    if (rp_core1_busy()) return FK_HAL_ESTATE; /* core 1 executes from flash */
    if (!rp_rom.ready) return FK_HAL_EIO;
    ram_erase_sector(RP_FLASH_DATA_OFFSET + offset);
    for (uint32_t i = 0; i < RP_FLASH_SECTOR; i++) {
        if (rp_rd8(RP_XIP_BASE + RP_FLASH_DATA_OFFSET + offset + i) != ERASED) return FK_HAL_EIO;
    }
    return FK_HAL_OK;
}

int fk_hal_flash_program(uint32_t offset, const void *data, size_t len)
{
    uint8_t old[RP_FLASH_PAGE];
    if (offset > RP_FLASH_DATA_SIZE || len > RP_FLASH_DATA_SIZE - offset) return FK_HAL_ERANGE;
    if (len > RP_FLASH_PAGE || offset % RP_FLASH_PAGE + len > RP_FLASH_PAGE) return FK_HAL_EALIGN;
    if (len == 0u) return FK_HAL_OK;
    if (rp_core1_busy()) return FK_HAL_ESTATE; /* core 1 executes from flash */
    if (!rp_rom.ready) return FK_HAL_EIO;
    const uint32_t page = offset - offset % RP_FLASH_PAGE;
    const size_t at = offset % RP_FLASH_PAGE;
    /* Bytes outside the span are programmed as 0xFF: they stay as they are. */
    memset(bounce, ERASED, sizeof bounce);
    memcpy(bounce + at, data, len);
    xip_read(page, old, sizeof old);
    ram_program_page(RP_FLASH_DATA_OFFSET + page);
    int rc = FK_HAL_OK;
    for (size_t i = 0; i < RP_FLASH_PAGE; i++) {
        const uint8_t want = (uint8_t)(old[i] & bounce[i]);
        const uint32_t at_xip = RP_XIP_BASE + RP_FLASH_DATA_OFFSET + page + (uint32_t)i;
        if (rp_rd8(at_xip) != want) rc = FK_HAL_EIO;
    }
    fk_wipe(bounce, sizeof bounce);
    fk_wipe(old, sizeof old);
    return rc;
}
