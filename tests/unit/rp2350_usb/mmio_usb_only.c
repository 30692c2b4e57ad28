/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmio_usb_only.c - the rp_model_* entry points of rp_mmio.h for a test
 * that links only the USB controller model: every access is checked for
 * natural alignment, then dispatched to the region that claims its
 * address; an address no region claims fails the test. A program that
 * links several port models replaces this file with one dispatcher over
 * all their region tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model_region.h"
#include "rp_mmio.h"
#include "usb_model.h"

static const rp_model_region_t *region_of(uint32_t addr, unsigned width)
{
    if (addr & (width - 1u)) fail_msg("unaligned %u-byte access at 0x%08x", width, addr);
    for (size_t k = 0; k < usbm_region_count; k++) {
        const rp_model_region_t *r = &usbm_regions[k];
        if (addr - r->base < r->size) return r;
    }
    fail_msg("%u-byte access to unmodelled address 0x%08x", width, addr);
    return NULL;
}

uint32_t rp_model_rd32(uint32_t addr) { return region_of(addr, 4)->rd(addr, 4); }
void rp_model_wr32(uint32_t addr, uint32_t value) { region_of(addr, 4)->wr(addr, 4, value); }
uint16_t rp_model_rd16(uint32_t addr) { return (uint16_t)region_of(addr, 2)->rd(addr, 2); }
void rp_model_wr16(uint32_t addr, uint16_t value) { region_of(addr, 2)->wr(addr, 2, value); }
uint8_t rp_model_rd8(uint32_t addr) { return (uint8_t)region_of(addr, 1)->rd(addr, 1); }
void rp_model_wr8(uint32_t addr, uint8_t value) { region_of(addr, 1)->wr(addr, 1, value); }
