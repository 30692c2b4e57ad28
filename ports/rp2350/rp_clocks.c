/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_clocks.c - the clock tree (docs/rp2350.md, "Clocks"): XOSC 12 MHz,
 * PLL_SYS 150 MHz and PLL_USB 48 MHz, clk_ref 12 MHz from XOSC, clk_sys
 * 150 MHz from PLL_SYS, clk_usb 48 MHz, clk_peri = clk_sys, and the 1 us
 * tick generators of TIMER0 and the watchdog.
 *
 * The order is the one that keeps every glitchless mux on a running clock:
 * both muxes leave anything PLL-derived before a PLL is reset, and each
 * divider is written before its source when the frequency goes up. The
 * entry state is not assumed: CLK_SYS_CTRL resets to SRC = clk_ref on A2
 * and to SRC = aux, AUXSRC = ROSC on A3, and a restart without a chip reset
 * finds the PLLs running; the same sequence is right for all three.
 */
#include "rp_mmio.h"
#include "rp_poll.h"
#include "rp_port.h"
#include "rp_regs.h"

/* At least three cycles of the slowest clock a glitchy aux mux may have
 * been running from (ROSC, ~12 MHz): ~40 cycles of clk_sys at 150 MHz. */
#define AUX_MUX_SETTLE_LOOPS 100u

static void xosc_start(void)
{
    rp_wr32(RP_XOSC_STARTUP, RP_XOSC_STARTUP_DELAY);
    rp_wr32(RP_XOSC_CTRL, RP_XOSC_CTRL_ENABLE_1_15MHZ);
    RP_POLL_UNTIL((rp_rd32(RP_XOSC_STATUS) & RP_XOSC_STATUS_STABLE) != 0u);
}

/* clk_sys and clk_ref onto clk_ref / ROSC: nothing may run from a PLL
 * while it is reset. */
static void muxes_off_plls(void)
{
    rp_clr(RP_CLK_SYS_CTRL, RP_CLK_SYS_SRC_AUX);
    RP_POLL_UNTIL(rp_rd32(RP_CLK_SYS_SELECTED) == 0x1u);
    rp_clr(RP_CLK_REF_CTRL, RP_CLK_REF_SRC_MASK);
    RP_POLL_UNTIL(rp_rd32(RP_CLK_REF_SELECTED) == 0x1u);
}

/* One PLL from the 12 MHz reference: REFDIV 1, the VCO, lock, postdividers. */
static void pll_start(uint32_t base, uint32_t reset_bit, uint32_t fbdiv, uint32_t prim)
{
    rp_resets_cycle(reset_bit);
    rp_wr32(base + RP_PLL_CS, 1u);
    rp_wr32(base + RP_PLL_FBDIV_INT, fbdiv);
    rp_clr(base + RP_PLL_PWR, RP_PLL_PWR_PD | RP_PLL_PWR_VCOPD);
    RP_POLL_UNTIL((rp_rd32(base + RP_PLL_CS) & RP_PLL_CS_LOCK) != 0u);
    rp_wr32(base + RP_PLL_PRIM, prim);
    rp_clr(base + RP_PLL_PWR, RP_PLL_PWR_POSTDIVPD);
}

static void settle(void)
{
    for (volatile uint32_t i = 0; i < AUX_MUX_SETTLE_LOOPS; i++) {
    }
}

/* An aux-only (glitchy) clock: stop it, change the source, start it. */
static void aux_clock(uint32_t ctrl, uint32_t div, uint32_t auxsrc)
{
    rp_clr(ctrl, RP_CLK_ENABLE);
    settle();
    rp_wr32(ctrl, auxsrc << RP_CLK_AUXSRC_SHIFT);
    rp_set(ctrl, RP_CLK_ENABLE);
    rp_wr32(div, RP_CLK_DIV_1);
}

void rp_ticks_init(void)
{
    rp_wr32(RP_TICKS_TIMER0_CYCLES, RP_TICKS_CYCLES_1US);
    rp_wr32(RP_TICKS_TIMER0_CTRL, RP_TICKS_CTRL_ENABLE);
    rp_wr32(RP_TICKS_WATCHDOG_CYCLES, RP_TICKS_CYCLES_1US);
    rp_wr32(RP_TICKS_WATCHDOG_CTRL, RP_TICKS_CTRL_ENABLE);
}

void rp_clocks_init(void)
{
    rp_wr32(RP_CLK_SYS_RESUS_CTRL, 0u);
    xosc_start();
    muxes_off_plls();
    pll_start(RP_PLL_SYS_BASE, RP_RESET_PLL_SYS, RP_PLL_SYS_FBDIV, RP_PLL_SYS_PRIM);
    pll_start(RP_PLL_USB_BASE, RP_RESET_PLL_USB, RP_PLL_USB_FBDIV, RP_PLL_USB_PRIM);

    /* clk_ref: divider first (the frequency only goes up), then XOSC. */
    rp_wr32(RP_CLK_REF_DIV, RP_CLK_DIV_1);
    rp_wr32(RP_CLK_REF_CTRL,
            (rp_rd32(RP_CLK_REF_CTRL) & ~RP_CLK_REF_SRC_MASK) | RP_CLK_REF_SRC_XOSC);
    RP_POLL_UNTIL(rp_rd32(RP_CLK_REF_SELECTED) == 0x4u);

    /* clk_sys: divider, AUXSRC while the glitchless mux is on clk_ref, then
     * the mux onto aux. */
    rp_wr32(RP_CLK_SYS_DIV, RP_CLK_DIV_1);
    rp_wr32(RP_CLK_SYS_CTRL, (rp_rd32(RP_CLK_SYS_CTRL) &
                              ~(RP_CLK_AUXSRC_MASK | RP_CLK_SYS_SRC_AUX)) |
                                 (RP_CLK_SYS_AUXSRC_PLL_SYS << RP_CLK_AUXSRC_SHIFT));
    rp_set(RP_CLK_SYS_CTRL, RP_CLK_SYS_SRC_AUX);
    RP_POLL_UNTIL(rp_rd32(RP_CLK_SYS_SELECTED) == 0x2u);

    aux_clock(RP_CLK_USB_CTRL, RP_CLK_USB_DIV, RP_CLK_USB_AUXSRC_PLL_USB);
    aux_clock(RP_CLK_PERI_CTRL, RP_CLK_PERI_DIV, RP_CLK_PERI_AUXSRC_CLK_SYS);
    rp_ticks_init();
}
