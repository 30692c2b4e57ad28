/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dcd.h - the contract between the port-independent USB device stack
 * (usb/) and a USB device controller driver.
 *
 * A driver is one set of these functions, linked in: the RP2350 port's
 * (ports/rp2350/rp_usb.c) on the device, the fake controller
 * (tests/unit/usb/fake_dcd.c) in the stack's tests and fuzz target.
 * Nothing here has a default.
 *
 * Execution model. The controller's interrupt handler only records what
 * happened (and copies a received packet out of controller memory); it never
 * calls into the stack. The stack runs in thread mode: it takes the recorded
 * events one by one with fk_dcd_poll() and answers with the calls below.
 * Every function other than the interrupt handler is called from thread mode
 * only, by the stack's single thread.
 *
 * Transfers are packet-sized: one fk_dcd_ep_start() moves at most one packet
 * (at most the endpoint's max packet size), and each completes with exactly
 * one FK_DCD_EV_XFER event. At most one packet is in flight per endpoint
 * address, so the driver's event store cannot overflow: it needs one slot
 * per endpoint address, one SETUP (the latest wins, as on the wire) and one
 * flag each for bus reset, suspend and resume.
 *
 * Endpoint addresses are USB addresses: bit 7 set = IN (device to host),
 * bits 3:0 = endpoint number. 0x00 and 0x80 are the two directions of the
 * control endpoint, which is always open with max packet size
 * FK_DCD_EP0_MPS.
 *
 * Data toggles belong to the driver: a SETUP makes the next EP0 IN and OUT
 * packets DATA1; fk_dcd_ep_open() and fk_dcd_ep_clear_stall() make the next
 * packet of that endpoint DATA0; every completed packet flips it.
 *
 * Every function is **Required** unless marked **Optional** (an Optional
 * function must still exist; it may do nothing, as said).
 */
#ifndef FUSEKEY_USB_DCD_H
#define FUSEKEY_USB_DCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FK_DCD_EP0_MPS 64u
#define FK_DCD_EP_DIR_IN 0x80u
#define FK_DCD_EP_NUM_MASK 0x0Fu
/* Endpoint numbers a driver supports: 0 .. FK_DCD_EP_NUM_MAX (16 addresses
 * per direction on the RP2350). */
#define FK_DCD_EP_NUM_MAX 15u

enum {
    FK_DCD_OK = 0,
    FK_DCD_EINVAL = -1, /* bad endpoint address, type, size or length */
    FK_DCD_EBUSY = -2,  /* a packet is already in flight on that endpoint */
    FK_DCD_ENOMEM = -3, /* no controller buffer memory left for the endpoint */
    FK_DCD_ESTATE = -4, /* endpoint not open, or stalled */
};

/* Endpoint transfer types (the values of bmAttributes bits 1:0). */
typedef enum fk_dcd_ep_type {
    FK_DCD_EP_CONTROL = 0,
    FK_DCD_EP_ISO = 1, /* not supported by this stack; drivers may refuse it */
    FK_DCD_EP_BULK = 2,
    FK_DCD_EP_INTERRUPT = 3,
} fk_dcd_ep_type_t;

typedef enum fk_dcd_event_type {
    FK_DCD_EV_NONE = 0,
    /* The host reset the bus: the driver has already closed every endpoint
     * but EP0, forgotten any packet in flight (no XFER event follows for
     * it), set the device address to 0 and dropped every stall. */
    FK_DCD_EV_BUS_RESET,
    /* A SETUP packet arrived (setup[] holds its 8 bytes). The driver has
     * already cancelled any EP0 packet in flight in either direction (no
     * XFER event follows for it), dropped an EP0 stall and set both EP0
     * toggles to DATA1. */
    FK_DCD_EV_SETUP,
    /* The packet started on `ep` is done: for IN it was sent and
     * acknowledged; for OUT `len` bytes were received into the buffer given
     * to fk_dcd_ep_start() (len <= the length asked; a packet longer than
     * that is a protocol error the driver answers by stalling, not by
     * overrunning the buffer). */
    FK_DCD_EV_XFER,
    FK_DCD_EV_SUSPEND, /* the bus has been idle for 3 ms */
    FK_DCD_EV_RESUME,  /* activity after a suspend */
} fk_dcd_event_type_t;

typedef struct fk_dcd_event {
    fk_dcd_event_type_t type;
    uint8_t ep;       /* FK_DCD_EV_XFER: the endpoint address */
    uint16_t len;     /* FK_DCD_EV_XFER: bytes moved */
    uint8_t setup[8]; /* FK_DCD_EV_SETUP: the request, as received */
} fk_dcd_event_t;

/* **Required.** Bring the controller up in device mode, disconnected from
 * the bus (no pull-up), with every endpoint but EP0 closed, address 0.
 * FK_DCD_OK, or a negative code when the controller cannot be started. */
int fk_dcd_init(void);

/* **Required.** Connect to (pull-up on) or disconnect from the bus. */
void fk_dcd_connect(bool on);

/* **Required.** Take the oldest pending event: true and *ev filled, or
 * false when nothing is pending. Events of different kinds keep their
 * order where it matters: a bus reset or SETUP reported before an XFER of
 * a packet that completed after it is never reported. */
bool fk_dcd_poll(fk_dcd_event_t *ev);

/* **Optional.** Sleep until the controller (or any other interrupt) may
 * have something to report (WFI on a microcontroller); returns at once if
 * an event is already pending. A driver without sleep returns at once. */
void fk_dcd_wait(void);

/* **Required.** Use `addr` (0..127) as the device address from the next
 * transaction on. The stack calls it only after the status stage of
 * SET_ADDRESS has completed (the XFER of the zero-length EP0 IN). */
void fk_dcd_set_address(uint8_t addr);

/* **Required.** Open endpoint `ep` (never EP0) with `type` and max packet
 * size `mps` (bulk: 8, 16, 32 or 64; interrupt: 1..64), next toggle DATA0,
 * not stalled, nothing in flight. Opening an open endpoint reopens it.
 * FK_DCD_EINVAL, FK_DCD_ENOMEM. */
int fk_dcd_ep_open(uint8_t ep, fk_dcd_ep_type_t type, uint16_t mps);

/* **Required.** Close every endpoint but EP0 (SET_CONFIGURATION 0, a new
 * configuration, a bus reset): nothing in flight, no event follows for a
 * cancelled packet. */
void fk_dcd_ep_close_all(void);

/* **Required.** Start one packet on open endpoint `ep`.
 * IN: send len bytes (0 = a zero-length packet) from buf; len <= mps. The
 *   driver copies the bytes before returning, so buf may be reused at once.
 * OUT: accept one packet of up to len bytes into buf (len <= mps; the stack
 *   passes mps); buf must stay valid until the XFER event.
 * FK_DCD_EINVAL (len > mps, ep not open), FK_DCD_EBUSY (a packet is in
 * flight there), FK_DCD_ESTATE (the endpoint is stalled). */
int fk_dcd_ep_start(uint8_t ep, void *buf, uint16_t len);

/* **Required.** Stall endpoint `ep`: every token to it is answered STALL.
 * For EP0 (0x00 or 0x80) the stall lasts until the next SETUP, which the
 * driver accepts as usual. For other endpoints it lasts until
 * fk_dcd_ep_clear_stall(); a packet in flight is cancelled without an
 * event. */
void fk_dcd_ep_stall(uint8_t ep);

/* **Required.** Clear the stall of endpoint `ep` (not EP0) and reset its
 * toggle to DATA0 (CLEAR_FEATURE(ENDPOINT_HALT) is also issued on endpoints
 * that are not stalled, and resets the toggle all the same). */
void fk_dcd_ep_clear_stall(uint8_t ep);

/* **Required.** Whether endpoint `ep` is stalled now (GET_STATUS). EP0
 * reports false. */
bool fk_dcd_ep_stalled(uint8_t ep);

/* **Optional.** Signal remote wakeup (resume) on the bus; does nothing on a
 * driver without it. */
void fk_dcd_remote_wakeup(void);

#endif /* FUSEKEY_USB_DCD_H */
