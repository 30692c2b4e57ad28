/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_rig.h - the USB tests' device: the real fusekey device of the test
 * rig (tests/support/devrig.h) behind the CCID class and the device core,
 * on the fake controller, with a host side that enumerates it as Linux does
 * and exchanges CCID messages as libccid does.
 */
#ifndef FUSEKEY_USB_RIG_H
#define FUSEKEY_USB_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccid.h"
#include "devrig.h"
#include "fake_dcd.h"
#include "fido_hid.h"
#include "usbd.h"

/* The identity the tests give the device. */
#define RIG_VID 0x1209u
#define RIG_PID 0xF05Eu
#define RIG_BCD 0x0102u
#define RIG_MANUFACTURER "fusekey"
#define RIG_PRODUCT "fusekey HSM"
#define RIG_ADDRESS 5u

extern fk_testdev_t rig_dev;
extern fk_usbd_t rig_usbd;
extern fk_ccid_t rig_ccid;
extern fk_fido_hid_t rig_fido;
extern const uint8_t rig_serial[8];

/* Start the device (fresh scratch directory, card not yet powered by the
 * CCID class) on a reset fake controller, the CCID class with cfg (NULL:
 * defaults) and the fake clock, and connect it. 0 or -1 (cmocka setup). */
int rig_setup(const fk_ccid_config_t *cfg);
/* The same, as the composite device of the firmware: CCID (interface 0,
 * endpoints 1-2) and FIDO HID (interface 1, endpoint 3 both ways) over the
 * FIDO applet of the same device; millis (NULL: fake_millis) is the FIDO
 * class's clock. */
int rig_setup_fido(uint64_t (*millis)(void));
int rig_teardown(void);

/* The pump the fake host runs after each transaction: fk_usbd_task, or,
 * while the test plays the host from inside a card command, the card's
 * keepalive hook (rig_set_nested(keepalive, arg); NULL to stop), so that
 * only what the keepalive itself services moves. */
void rig_pump(void);
void rig_set_nested(void (*keepalive)(void *), void *arg);

/* A SETUP packet from its fields. */
void rig_setup_packet(uint8_t out[8], uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                      uint16_t length);

/* A control transfer; returns its result (data into buf, cap bytes). */
fake_ctrl_result_t rig_control(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                               uint16_t length, void *buf, size_t cap);

/* The whole enumeration up to SET_CONFIGURATION 1 (asserted), then read the
 * slot-change notification (asserted: 50 03). */
void rig_enumerate(void);

/* Bulk OUT: the message in 64-byte packets (no ZLP after a full last
 * packet, as libusb sends it). Asserts every packet was taken. */
void rig_bulk_send(const uint8_t *msg, size_t len);

/* Bulk IN: read one message (packets until a short one), assert the ZLP
 * rule (a ZLP after a message that fills its last packet, none otherwise)
 * and dwLength; returns its length (header included). Asserts it came
 * within a bounded number of NAKs. */
size_t rig_bulk_recv(uint8_t *buf, size_t cap);

/* Whether an IN packet is waiting on bulk IN (without taking it). */
bool rig_bulk_in_pending(void);

/* A PC_to_RDR message: header fields and data. Returns its length in out. */
size_t rig_msg(uint8_t *out, size_t cap, uint8_t type, uint8_t slot, uint8_t seq, uint8_t b7,
               uint8_t b8, uint8_t b9, const void *data, size_t len);

/* Send a message and read the answer into resp (cap bytes); returns the
 * answer's length. */
size_t rig_exchange(uint8_t type, uint8_t seq, uint8_t b7, uint16_t level, const void *data,
                    size_t len, uint8_t *resp, size_t cap);

/* XfrBlock of one APDU (level 0) with seq; the response APDU (data and SW)
 * into out (cap), its length in *out_len; asserts a DataBlock with status 0
 * and chain 0 and the same seq. Returns the SW. */
uint16_t rig_apdu(uint8_t seq, const uint8_t *apdu, size_t len, uint8_t *out, size_t cap,
                  size_t *out_len);

/* IccPowerOn (asserted: the product's ATR). */
void rig_power_on(uint8_t seq);

#endif /* FUSEKEY_USB_RIG_H */
