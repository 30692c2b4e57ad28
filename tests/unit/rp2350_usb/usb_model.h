/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_model.h - a model of the RP2350 USB device controller for the
 * driver tests, written from the register facts in docs/rp2350-usb.md,
 * plus a USB host on the wire that drives it.
 *
 * Address ranges it claims (usbm_regions):
 *   0x50100000 +4 KiB     USB DPRAM: 8/16/32-bit, naturally aligned only
 *   0x50110000 +16 KiB    USBCTRL registers with XOR/SET/CLR aliases
 *   0x40020000 +16 KiB    RESETS (only the USBCTRL bit may change)
 *   0xE000E100, E180, E280  NVIC ISER0, ICER0, ICPR0 (bit 14 only)
 * Everything the driver must not do fails the running test at once:
 * an unaligned wide access, an atomic alias on DPRAM, USBCTRL reset with
 * its interrupt enabled, an NVIC write to another interrupt (0x50101000-
 * 0x50103FFF), an unknown register, a register access while USBCTRL is in
 * reset, giving a buffer with AVAILABLE in the same write that changed its
 * other fields, rewriting a buffer the controller owns outside an EP_ABORT,
 * an IN buffer without FULL or an OUT buffer with FULL, two enabled
 * endpoints sharing DPRAM, a buffer outside the data area.
 *
 * Not modelled: timing (the clk_usb settle rule can only be checked as
 * "two writes"), the PHY and line states, SOF, double buffering, ISO, host
 * mode, error interrupts other than DATA_SEQ_ERROR.
 */
#ifndef FUSEKEY_TEST_USB_MODEL_H
#define FUSEKEY_TEST_USB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model_region.h"

#define USBM_DPRAM 0x50100000u
#define USBM_REGS 0x50110000u

/* Register offsets from USBM_REGS. */
#define USBM_ADDR_ENDP 0x00u
#define USBM_MAIN_CTRL 0x40u
#define USBM_SOF_RD 0x48u
#define USBM_SIE_CTRL 0x4Cu
#define USBM_SIE_STATUS 0x50u
#define USBM_BUFF_STATUS 0x58u
#define USBM_BUFF_CPU_SHOULD_HANDLE 0x5Cu
#define USBM_EP_ABORT 0x60u
#define USBM_EP_ABORT_DONE 0x64u
#define USBM_EP_STALL_ARM 0x68u
#define USBM_USB_MUXING 0x74u
#define USBM_USB_PWR 0x78u
#define USBM_LINESTATE_TUNING 0x88u
#define USBM_INTR 0x8Cu
#define USBM_INTE 0x90u
#define USBM_INTF 0x94u
#define USBM_INTS 0x98u

extern const rp_model_region_t usbm_regions[];
extern const size_t usbm_region_count;

/* The state a reboot from BOOTSEL leaves: controller out of reset and
 * running with stale registers and interrupts raised and enabled, DPRAM
 * full of 0xA5, pull-up on. */
void usbm_reset(void);

/* Outcome of one transaction as the host sees it. */
typedef enum usbm_result {
    USBM_ACK,    /* data moved (IN: *len bytes received) */
    USBM_NAK,    /* no buffer available */
    USBM_STALL,  /* endpoint stalled */
    USBM_NORESP, /* no device answers (not connected, other address, disabled) */
    USBM_SEQERR, /* OUT with the wrong PID: ACKed and dropped, DATA_SEQ_ERROR set */
    USBM_BADPID, /* IN data with a PID the host did not expect: dropped by the host */
} usbm_result_t;

/* Host side. The host tracks its own data toggles per endpoint and uses
 * the address set with usbm_host_address() (0 after a bus reset). */
usbm_result_t usbm_setup(const uint8_t setup[8]);
usbm_result_t usbm_in(uint8_t num, uint8_t *buf, size_t cap, size_t *len);
usbm_result_t usbm_out(uint8_t num, const void *data, size_t len);
/* OUT with PID `pid` (0/1) whatever the host's toggle says. */
usbm_result_t usbm_out_pid(uint8_t num, const void *data, size_t len, unsigned pid);
void usbm_bus_reset(void);
void usbm_suspend(void);
void usbm_resume(void);
void usbm_host_address(uint8_t addr);
/* A block that never leaves reset (RESET_DONE stays 0 for USBCTRL). */
void usbm_reset_done_stuck(bool stuck);
/* The host's next PID for endpoint address ep (bit 7 = IN); set it as
 * SET_CONFIGURATION / CLEAR_FEATURE(HALT) do on the host side. */
unsigned usbm_host_toggle(uint8_t ep);
void usbm_host_set_toggle(uint8_t ep, unsigned pid);
/* PID of the last data packet that moved (IN or OUT). */
unsigned usbm_last_pid(void);

/* Interrupt line: INTS != 0 and IRQ 14 enabled in the NVIC. */
bool usbm_irq_raised(void);

/* Inspection without side effects. */
uint32_t usbm_reg(uint32_t off);
uint32_t usbm_dpram32(uint32_t off);
uint8_t usbm_dpram8(uint32_t off);
uint32_t usbm_resets(void);
uint32_t usbm_resets_done(void);
uint32_t usbm_nvic_iser0(void);
unsigned usbm_remote_wakeups(void);

typedef struct usbm_stats {
    unsigned dpram_rd[5], dpram_wr[5]; /* by width 1, 2, 4 */
    unsigned handoffs;                 /* buffers given with AVAILABLE */
    unsigned aborts;                   /* EP_ABORT bits set */
    unsigned reset_done_polls;         /* RESET_DONE reads */
} usbm_stats_t;
const usbm_stats_t *usbm_stats(void);
void usbm_stats_clear(void);

/* Log of register writes (not DPRAM), oldest first. */
typedef struct usbm_write {
    uint32_t addr;
    uint32_t value;
} usbm_write_t;
size_t usbm_reg_writes(const usbm_write_t **log);
void usbm_reg_writes_clear(void);

#endif /* FUSEKEY_TEST_USB_MODEL_H */
