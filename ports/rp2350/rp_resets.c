/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_resets.c - the RESETS block (docs/rp2350.md, "Clocks and resets"):
 * 1 = held in reset; a block is usable only once RESET_DONE shows it.
 */
#include "rp_mmio.h"
#include "rp_poll.h"
#include "rp_port.h"
#include "rp_regs.h"

void rp_resets_reset(uint32_t mask) { rp_set(RP_RESETS_RESET, mask); }

void rp_resets_release(uint32_t mask)
{
    rp_clr(RP_RESETS_RESET, mask);
    RP_POLL_UNTIL((rp_rd32(RP_RESETS_RESET_DONE) & mask) == mask);
}

void rp_resets_cycle(uint32_t mask)
{
    rp_resets_reset(mask);
    rp_resets_release(mask);
}
