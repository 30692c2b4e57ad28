/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_mmio.h - every register and controller-memory access of the RP2350
 * port goes through these few functions, so that the drivers can run on the
 * host against a model of the chip (tests/unit/rp2350*: registers, USB DPRAM
 * and the boot ROM written from the datasheet facts in docs/rp2350.md).
 *
 * On the chip (no RP_MMIO_MODEL) they are plain volatile accesses of the
 * width named. Built with RP_MMIO_MODEL they call the model, which the test
 * program links in and which checks every access: width, alignment (USB
 * DPRAM is Device memory on the M33: an unaligned access faults there, so
 * the model fails the test), and that the address is a register at all.
 *
 * Atomic aliases: for ordinary peripheral registers, a write to addr + 0x1000
 * XORs, + 0x2000 sets and + 0x3000 clears bits (rp_xor/rp_set/rp_clr). SIO,
 * the PPB, USB DPRAM and BOOTRAM have no aliases: never use them there.
 */
#ifndef FUSEKEY_RP_MMIO_H
#define FUSEKEY_RP_MMIO_H

#include <stdint.h>

#define RP_ALIAS_XOR 0x1000u
#define RP_ALIAS_SET 0x2000u
#define RP_ALIAS_CLR 0x3000u

#ifdef RP_MMIO_MODEL

uint32_t rp_model_rd32(uint32_t addr);
void rp_model_wr32(uint32_t addr, uint32_t value);
uint16_t rp_model_rd16(uint32_t addr);
void rp_model_wr16(uint32_t addr, uint16_t value);
uint8_t rp_model_rd8(uint32_t addr);
void rp_model_wr8(uint32_t addr, uint8_t value);

static inline uint32_t rp_rd32(uint32_t addr) { return rp_model_rd32(addr); }
static inline void rp_wr32(uint32_t addr, uint32_t value) { rp_model_wr32(addr, value); }
static inline uint16_t rp_rd16(uint32_t addr) { return rp_model_rd16(addr); }
static inline void rp_wr16(uint32_t addr, uint16_t value) { rp_model_wr16(addr, value); }
static inline uint8_t rp_rd8(uint32_t addr) { return rp_model_rd8(addr); }
static inline void rp_wr8(uint32_t addr, uint8_t value) { rp_model_wr8(addr, value); }

#else

static inline uint32_t rp_rd32(uint32_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }
static inline void rp_wr32(uint32_t addr, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)addr = value;
}
static inline uint16_t rp_rd16(uint32_t addr) { return *(volatile uint16_t *)(uintptr_t)addr; }
static inline void rp_wr16(uint32_t addr, uint16_t value)
{
    *(volatile uint16_t *)(uintptr_t)addr = value;
}
static inline uint8_t rp_rd8(uint32_t addr) { return *(volatile uint8_t *)(uintptr_t)addr; }
static inline void rp_wr8(uint32_t addr, uint8_t value)
{
    *(volatile uint8_t *)(uintptr_t)addr = value;
}

#endif

/* Atomic bit operations on peripheral registers that have the aliases. */
static inline void rp_set(uint32_t addr, uint32_t mask) { rp_wr32(addr + RP_ALIAS_SET, mask); }
static inline void rp_clr(uint32_t addr, uint32_t mask) { rp_wr32(addr + RP_ALIAS_CLR, mask); }
static inline void rp_xor(uint32_t addr, uint32_t mask) { rp_wr32(addr + RP_ALIAS_XOR, mask); }

#endif /* FUSEKEY_RP_MMIO_H */
