/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_dcd.h - a fake USB device controller for the stack's tests and fuzz
 * target: it implements usb/dcd.h for the device side and gives the test a
 * host side that acts on the bus as a host controller does, one
 * transaction at a time (SETUP, IN, OUT, bus reset), addressed to a device
 * address, with the data toggles, stalls and the device address checked.
 *
 * Events are queued in the order the host caused them, as the contract
 * promises; the test runs the stack (fk_usbd_task) between transactions
 * through the pump it registers, as a host waits for its device.
 *
 * A fake millisecond clock is here too: tests give fake_millis to the CCID
 * class as its clock and move it with fake_clock_advance.
 */
#ifndef FUSEKEY_FAKE_DCD_H
#define FUSEKEY_FAKE_DCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcd.h"

/* Results of a host transaction. */
#define FAKE_ACK 0       /* OUT accepted / SETUP taken */
#define FAKE_NAK (-1)    /* the endpoint had nothing armed: try again later */
#define FAKE_STALL (-2)  /* the endpoint answered STALL */
#define FAKE_NOREPLY (-3) /* nobody at that address, endpoint not open, or not connected */

/* Back to a powered-off controller: no endpoint, empty queue, address 0,
 * disconnected, counters zero, host toggles DATA0, clock 0, no pump. */
void fake_dcd_reset(void);

/* The function the host side calls after each transaction to let the
 * device run (usually: fk_usbd_task until the queue is empty). */
void fake_host_set_pump(void (*pump)(void));
/* Run the pump once (also done by every host transaction below). */
void fake_host_pump(void);

/* ---- Host transactions ------------------------------------------------- */

/* The device address the host talks to (0 after a reset). */
void fake_host_set_address(uint8_t addr);

/* Drive a bus reset: the controller forgets its address, stalls, open
 * endpoints and packets in flight; the host's toggles go to DATA0. */
void fake_host_bus_reset(void);
/* Suspend / resume events. */
void fake_host_suspend(void);
void fake_host_resume(void);

/* Send a SETUP packet to EP0 (always taken by a connected device at the
 * address). FAKE_ACK or FAKE_NOREPLY. */
int fake_host_setup(const uint8_t setup[8]);

/* An IN transaction on endpoint number `num` (bit 7 ignored): the packet's
 * bytes into buf (cap >= 64), its length returned, *data1 its PID; or
 * FAKE_NAK, FAKE_STALL, FAKE_NOREPLY. A toggle that differs from what the
 * host expects counts as a toggle error (fake_dcd_toggle_errors). */
int fake_host_in(uint8_t num, uint8_t *buf, size_t cap, bool *data1);

/* An OUT transaction of len bytes to endpoint number `num`: FAKE_ACK,
 * FAKE_NAK (nothing armed), FAKE_STALL (stalled, or longer than the buffer
 * armed: the driver stalls), FAKE_NOREPLY. */
int fake_host_out(uint8_t num, const void *data, size_t len);

/* The host resets its own toggle of endpoint address ep to DATA0 (after it
 * sent SET_CONFIGURATION, SET_INTERFACE or CLEAR_FEATURE(HALT)). */
void fake_host_reset_toggle(uint8_t ep);

/* The host polls interrupt IN endpoint number `num` on its own, as a host
 * controller's periodic schedule does: every packet the device starts
 * there is taken at once (toggles checked), handed to sink and completed.
 * NULL stops it. */
typedef void (*fake_in_sink_fn)(const void *data, size_t len, void *arg);
void fake_host_poll_in(uint8_t num, fake_in_sink_fn sink, void *arg);

/* ---- A whole control transfer, as a host stack does it ------------------ */

typedef struct fake_ctrl_result {
    int status;   /* FAKE_ACK, or FAKE_STALL in the stage that stalled, or FAKE_NOREPLY */
    int stage;    /* 0 setup, 1 data, 2 status: where it ended */
    size_t len;   /* IN: bytes received */
    size_t packets; /* IN data packets, the ZLP included */
    bool zlp;     /* the IN data stage ended with a zero-length packet */
} fake_ctrl_result_t;

/* SETUP, then the data stage (IN: read packets until wLength bytes or a
 * short packet, into data of cap bytes; OUT: wLength bytes of data in
 * 64-byte packets), then the status stage. A NAK is retried after a pump,
 * up to a fixed number of times (then FAKE_NAK). Resets the host toggles
 * of the endpoints a SET_CONFIGURATION / SET_INTERFACE / CLEAR_FEATURE
 * (HALT) touched, once it succeeded. */
fake_ctrl_result_t fake_host_control(const uint8_t setup[8], void *data, size_t cap);

/* ---- What the controller saw ------------------------------------------- */

uint8_t fake_dcd_address(void);         /* the address the controller answers to */
unsigned fake_dcd_set_address_calls(void);
bool fake_dcd_connected(void);
bool fake_dcd_initialised(void);
bool fake_dcd_ep_is_open(uint8_t ep);
bool fake_dcd_ep_is_stalled(uint8_t ep);
bool fake_dcd_ep_armed(uint8_t ep);     /* a packet is in flight there */
/* Counts every open, close, stall and bus reset of ep: a change means
 * whatever was in flight there is gone. */
unsigned fake_dcd_ep_generation(uint8_t ep);
uint16_t fake_dcd_ep_mps(uint8_t ep);
fk_dcd_ep_type_t fake_dcd_ep_type(uint8_t ep);
unsigned fake_dcd_toggle_errors(void);  /* toggles the host did not expect */
unsigned fake_dcd_start_errors(void);   /* fk_dcd_ep_start calls refused */
unsigned fake_dcd_close_all_calls(void);
/* Make fk_dcd_init fail (the next call only). */
void fake_dcd_fail_init(void);

/* ---- Clock ---------------------------------------------------------------- */

uint64_t fake_millis(void);
void fake_clock_advance(uint64_t ms);

#endif /* FUSEKEY_FAKE_DCD_H */
