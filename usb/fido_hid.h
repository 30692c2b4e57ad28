/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_hid.h - the USB FIDO HID class (CTAP 2.1 §11.2): the CTAP endpoint
 * (ctap/ctap_ep.h) as a class driver of the device core (usbd.h), beside
 * the CCID class in the composite device (docs/usb.md).
 *
 * One HID interface (class 3, no boot subclass) whose report descriptor
 * says usage page F1D0, usage 01 (CTAPHID): 64-byte input and output
 * reports, no report ids. One endpoint number carries both directions:
 * interrupt OUT for the host's reports, interrupt IN for the device's.
 *
 * Reports from the host go to the CTAP endpoint as they arrive; a complete
 * request runs the FIDO applet inside the xfer callback. While it runs
 * (a presence wait), the class keeps the bus served through
 * fk_usbd_service(): the endpoint's keepalives go out on the IN endpoint
 * and the reports the host sends meanwhile (CANCEL, INIT, another
 * channel's request) are taken with fk_usbd_ep_take_out() and answered.
 * Input reports are sent one at a time: sending waits (serving the bus)
 * until the previous one was taken, and gives up on a host that stops
 * reading for FK_FIDO_HID_SEND_TIMEOUT_MS: that report and the rest are
 * dropped until the host takes a report again.
 */
#ifndef FUSEKEY_FIDO_HID_H
#define FUSEKEY_FIDO_HID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctap_ep.h"
#include "usbd.h"

#define FK_FIDO_HID_REPORT 64u
#define FK_FIDO_HID_INTERVAL_MS 5u          /* bInterval of both endpoints */
#define FK_FIDO_HID_SEND_TIMEOUT_MS 1000u   /* a host that stops reading */
#define FK_FIDO_HID_REPORT_DESC_LEN 34u
#define FK_FIDO_HID_DESC_LEN 9u

/* HID class requests and descriptor types (HID 1.11 §7). */
#define FK_HID_DESC_HID 0x21u
#define FK_HID_DESC_REPORT 0x22u
#define FK_HID_REQ_GET_REPORT 0x01u
#define FK_HID_REQ_GET_IDLE 0x02u
#define FK_HID_REQ_GET_PROTOCOL 0x03u
#define FK_HID_REQ_SET_REPORT 0x09u
#define FK_HID_REQ_SET_IDLE 0x0Au
#define FK_HID_REQ_SET_PROTOCOL 0x0Bu

extern const uint8_t fk_fido_hid_report_desc[FK_FIDO_HID_REPORT_DESC_LEN];

typedef struct fk_fido_hid_config {
    /* Milliseconds clock (CTAPHID timeouts, keepalive pacing, the send
     * timeout); NULL = fk_hal_millis. */
    uint64_t (*millis)(void);
    /* Optional: show the user which device this is (CTAPHID WINK). */
    void (*wink)(void);
} fk_fido_hid_config_t;

typedef struct fk_fido_hid {
    fk_usbd_t *usbd;
    uint8_t itf;
    uint8_t ep_out, ep_in;       /* addresses */
    uint64_t (*millis)(void);
    void (*wink)(void);
    bool configured;
    bool in_busy;                /* an input report is in flight */
    bool host_gone;              /* a send timed out: drop at once until the host reads again */
    unsigned dropped;            /* input reports given up on (host not reading) */
    uint8_t rx[FK_FIDO_HID_REPORT];  /* the OUT endpoint's buffer */
    uint8_t tx[FK_FIDO_HID_REPORT];
    fk_ctap_ep_t ctap;           /* the CTAP endpoint (CTAPHID layer, FIDO state) */
} fk_fido_hid_t;

/* Make the class for `applet` (the FIDO applet) over svc; state (8-byte
 * aligned, applet->state_size bytes) is the applet's volatile state for
 * this endpoint. FK_USBD_OK, or FK_USBD_EINVAL when the state does not fit. */
int fk_fido_hid_init(fk_fido_hid_t *hid, fk_services_t *svc, const fk_applet_t *applet,
                     void *state, size_t state_len, const fk_fido_hid_config_t *cfg);

extern const fk_usbd_class_ops_t fk_fido_hid_class_ops;

/* {&fk_fido_hid_class_ops, hid, name}: this function as an entry of the
 * class list. */
fk_usbd_class_t fk_fido_hid_class(fk_fido_hid_t *hid);

/* Power cycle of the function as the user sees it (device start): CTAPHID
 * channels and the applet's volatile state wiped. */
void fk_fido_hid_power_on(fk_fido_hid_t *hid);

#endif /* FUSEKEY_FIDO_HID_H */
