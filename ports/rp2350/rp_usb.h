/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_usb.h - the port-internal side of the RP2350 USB device controller
 * driver (rp_usb.c). The stack above uses only usb/dcd.h; this header is
 * for the port's vector table and start-up code.
 *
 * Preconditions for fk_dcd_init() (see docs/rp2350-usb.md):
 * - clk_usb runs at exactly 48 MHz from PLL_USB;
 * - RP2350-E12: clk_sys is at least 1.1 x clk_usb (>= 52.8 MHz) for as long
 *   as the controller is enabled - never USB with clk_sys on the ROSC;
 * - the vector table slot of USBCTRL_IRQ (IRQ 14, vector 30, table offset
 *   0x78) points at rp_usb_irq().
 * fk_dcd_init() resets the controller itself, so it may be called again
 * after a reboot from BOOTSEL mode left the controller running.
 */
#ifndef FUSEKEY_RP_USB_H
#define FUSEKEY_RP_USB_H

#include <stdbool.h>
#include <stdint.h>

#define RP_USB_IRQ 14u
#define RP_USB_CLK_USB_HZ 48000000u
#define RP_USB_MIN_CLK_SYS_HZ 52800000u /* RP2350-E12: 1.1 x clk_usb */

/* The USBCTRL_IRQ handler. It only records what the controller reports
 * (and copies received packets out of DPRAM); fk_dcd_poll() hands the
 * records to the stack in thread mode. */
void rp_usb_irq(void);

/* Whether the clock plan satisfies the driver's preconditions; the port's
 * clock set-up asserts it before calling fk_dcd_init(). */
static inline bool rp_usb_clocks_ok(uint32_t clk_sys_hz, uint32_t clk_usb_hz)
{
    return clk_usb_hz == RP_USB_CLK_USB_HZ && clk_sys_hz >= RP_USB_MIN_CLK_SYS_HZ;
}

#endif /* FUSEKEY_RP_USB_H */
