/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_hid.c - the USB FIDO HID class (fido_hid.h).
 */
#include "fido_hid.h"

#include <string.h>

#include "hal.h"
#include "usb_std.h"
#include "util.h"

#define HID_SUBCLASS_NONE 0x00u
#define HID_PROTOCOL_NONE 0x00u
#define HID_BCD 0x0111u        /* HID 1.11 */
#define HID_COUNTRY_NONE 0x00u

/* Usage page FIDO Alliance (F1D0), usage CTAPHID (01): one application
 * collection with a 64-byte input report (usage 20, data in) and a 64-byte
 * output report (usage 21, data out), no report ids. */
const uint8_t fk_fido_hid_report_desc[FK_FIDO_HID_REPORT_DESC_LEN] = {
    0x06, 0xD0, 0xF1, /* Usage Page (FIDO Alliance) */
    0x09, 0x01,       /* Usage (CTAPHID) */
    0xA1, 0x01,       /* Collection (Application) */
    0x09, 0x20,       /*   Usage (Input Report Data) */
    0x15, 0x00,       /*   Logical Minimum (0) */
    0x26, 0xFF, 0x00, /*   Logical Maximum (255) */
    0x75, 0x08,       /*   Report Size (8) */
    0x95, 0x40,       /*   Report Count (64) */
    0x81, 0x02,       /*   Input (Data, Variable, Absolute) */
    0x09, 0x21,       /*   Usage (Output Report Data) */
    0x15, 0x00,       /*   Logical Minimum (0) */
    0x26, 0xFF, 0x00, /*   Logical Maximum (255) */
    0x75, 0x08,       /*   Report Size (8) */
    0x95, 0x40,       /*   Report Count (64) */
    0x91, 0x02,       /*   Output (Data, Variable, Absolute) */
    0xC0,             /* End Collection */
};

static uint64_t default_millis(void) { return fk_hal_millis(); }

/* ---- The CTAP endpoint's transport callbacks ------------------------------ */

/* One input report: wait (serving the bus) until the previous one was
 * taken, then start it. A host that stopped reading, or a device no longer
 * configured, loses the report (CTAPHID hosts resynchronise with INIT). */
static void hid_send(void *user, const uint8_t report[FK_CTAPHID_REPORT])
{
    fk_fido_hid_t *h = user;
    const uint64_t start = h->millis();
    /* After one timeout the host is taken for gone: the rest of the message
     * is dropped at once rather than waited for report by report (a client
     * killed in the middle of a long response closes hidraw, and the host
     * stops polling), until the host takes a report again. */
    while (h->configured && h->in_busy && !h->host_gone) {
        if (h->millis() - start >= FK_FIDO_HID_SEND_TIMEOUT_MS) {
            h->host_gone = true;
            break;
        }
        fk_usbd_service(h->usbd);
    }
    if (!h->configured || h->in_busy) {
        h->dropped++;
        return;
    }
    memcpy(h->tx, report, FK_FIDO_HID_REPORT);
    if (fk_usbd_ep_xfer(h->usbd, h->ep_in, h->tx, FK_FIDO_HID_REPORT) == FK_DCD_OK) {
        h->in_busy = true;
    } else {
        h->dropped++;
    }
    fk_wipe(h->tx, sizeof h->tx);
}

static uint32_t hid_clock(void *user)
{
    const fk_fido_hid_t *h = user;
    return (uint32_t)h->millis();
}

static void hid_wink(void *user)
{
    const fk_fido_hid_t *h = user;
    if (h->wink != NULL) h->wink();
}

static void arm_out(fk_fido_hid_t *h)
{
    if (h->configured) (void)fk_usbd_ep_xfer(h->usbd, h->ep_out, h->rx, FK_FIDO_HID_REPORT);
}

/* Take one report as it arrived; a short one is padded with zeros (the
 * length of a CTAPHID message comes from its BCNT only). */
static void take_report(fk_fido_hid_t *h, uint16_t len, uint8_t report[FK_FIDO_HID_REPORT])
{
    const size_t n = FK_MIN((size_t)len, (size_t)FK_FIDO_HID_REPORT);
    memset(report, 0, FK_FIDO_HID_REPORT);
    memcpy(report, h->rx, n);
    fk_wipe(h->rx, sizeof h->rx);
}

/* While the applet works: what the host sent meanwhile. */
static bool hid_pull(void *user, uint8_t report[FK_CTAPHID_REPORT])
{
    fk_fido_hid_t *h = user;
    fk_usbd_service(h->usbd);
    uint16_t len;
    if (!fk_usbd_ep_take_out(h->usbd, h->ep_out, &len)) return false;
    take_report(h, len, report);
    arm_out(h);
    return true;
}

/* ---- Class driver ------------------------------------------------------------ */

static void hid_attach(void *ctx, fk_usbd_t *usbd, uint8_t first_itf, uint8_t first_ep)
{
    fk_fido_hid_t *h = ctx;
    h->usbd = usbd;
    h->itf = first_itf;
    h->ep_out = first_ep;
    h->ep_in = (uint8_t)(first_ep | FK_USB_EP_DIR_IN);
}

/* The HID descriptor (HID 1.11 §6.2.1): one report descriptor. */
static void put_hid_desc(uint8_t p[FK_FIDO_HID_DESC_LEN])
{
    p[0] = FK_FIDO_HID_DESC_LEN;
    p[1] = FK_HID_DESC_HID;
    fk_put_le16(p + 2, HID_BCD);
    p[4] = HID_COUNTRY_NONE;
    p[5] = 1;
    p[6] = FK_HID_DESC_REPORT;
    fk_put_le16(p + 7, FK_FIDO_HID_REPORT_DESC_LEN);
}

static size_t hid_describe(void *ctx, uint8_t *buf, size_t cap)
{
    const fk_fido_hid_t *h = ctx;
    const size_t total =
        FK_USB_INTERFACE_DESC_LEN + FK_FIDO_HID_DESC_LEN + 2u * FK_USB_ENDPOINT_DESC_LEN;
    if (cap < total) return 0;
    uint8_t *p = buf;
    /* Interface: HID, two endpoints. */
    p[0] = FK_USB_INTERFACE_DESC_LEN;
    p[1] = FK_USB_DESC_INTERFACE;
    p[2] = h->itf;
    p[3] = 0; /* alternate setting */
    p[4] = 2; /* endpoints */
    p[5] = FK_USB_CLASS_HID;
    p[6] = HID_SUBCLASS_NONE;
    p[7] = HID_PROTOCOL_NONE;
    p[8] = 0; /* iInterface: the core fills in the class name's string */
    p += FK_USB_INTERFACE_DESC_LEN;
    put_hid_desc(p);
    p += FK_FIDO_HID_DESC_LEN;
    /* Interrupt IN, then interrupt OUT, 64 bytes each. */
    const uint8_t eps[2] = {h->ep_in, h->ep_out};
    for (size_t i = 0; i < 2u; i++) {
        p[0] = FK_USB_ENDPOINT_DESC_LEN;
        p[1] = FK_USB_DESC_ENDPOINT;
        p[2] = eps[i];
        p[3] = FK_USB_EP_ATTR_INTERRUPT;
        fk_put_le16(p + 4, FK_FIDO_HID_REPORT);
        p[6] = FK_FIDO_HID_INTERVAL_MS;
        p += FK_USB_ENDPOINT_DESC_LEN;
    }
    return total;
}

static void hid_configured(void *ctx)
{
    fk_fido_hid_t *h = ctx;
    h->configured = true;
    h->in_busy = false;
    h->host_gone = false;
    arm_out(h);
}

static void hid_deconfigured(void *ctx)
{
    fk_fido_hid_t *h = ctx;
    h->configured = false;
    h->in_busy = false;
    fk_wipe(h->rx, sizeof h->rx);
}

static bool hid_control(void *ctx, const fk_usb_setup_t *req, fk_usbd_stage_t stage)
{
    fk_fido_hid_t *h = ctx;
    if (stage != FK_USBD_STAGE_SETUP) return true;
    const uint8_t type = req->bmRequestType & FK_USB_REQ_TYPE_MASK;
    if (type == FK_USB_REQ_TYPE_STANDARD) {
        /* GET_DESCRIPTOR addressed to the interface. */
        const uint8_t desc = (uint8_t)(req->wValue >> 8);
        if ((req->wValue & 0xFFu) != 0u) return false;
        if (desc == FK_HID_DESC_REPORT) {
            fk_usbd_ctrl_in(h->usbd, fk_fido_hid_report_desc, sizeof fk_fido_hid_report_desc);
            return true;
        }
        if (desc == FK_HID_DESC_HID) {
            uint8_t *b = fk_usbd_ctrl_buf(h->usbd);
            put_hid_desc(b);
            fk_usbd_ctrl_in(h->usbd, b, FK_FIDO_HID_DESC_LEN);
            return true;
        }
        return false;
    }
    if (type != FK_USB_REQ_TYPE_CLASS) return false;
    switch (req->bRequest) {
    case FK_HID_REQ_SET_IDLE:
        /* Hosts send it at start; interrupt IN reports are only ever sent
         * when there is something to say, so any idle rate is honoured. */
        return (req->bmRequestType & FK_USB_REQ_DIR_IN) == 0u && req->wLength == 0u;
    default:
        /* GET/SET_REPORT over the control pipe, and the boot-protocol
         * requests: CTAPHID uses the interrupt endpoints only. */
        return false;
    }
}

static void hid_xfer(void *ctx, uint8_t ep, uint16_t len)
{
    fk_fido_hid_t *h = ctx;
    if (ep == h->ep_in) {
        h->in_busy = false;
        h->host_gone = false;
        return;
    }
    if (ep != h->ep_out) return;
    uint8_t report[FK_FIDO_HID_REPORT];
    take_report(h, len, report);
    /* Arm again before the request runs, so reports sent meanwhile (a
     * CANCEL) arrive and are kept for hid_pull. */
    arm_out(h);
    fk_ctap_ep_rx(&h->ctap, report);
    fk_wipe(report, sizeof report);
}

static void hid_halt(void *ctx, uint8_t ep, bool halted)
{
    fk_fido_hid_t *h = ctx;
    if (ep == h->ep_in) h->in_busy = false;
    if (ep == h->ep_out && !halted) arm_out(h);
}

static void hid_idle(void *ctx)
{
    fk_fido_hid_t *h = ctx;
    fk_ctap_ep_tick(&h->ctap);
}

const fk_usbd_class_ops_t fk_fido_hid_class_ops = {
    .n_interfaces = 1,
    .n_endpoints = 1,
    .attach = hid_attach,
    .describe = hid_describe,
    .configured = hid_configured,
    .deconfigured = hid_deconfigured,
    .control = hid_control,
    .xfer = hid_xfer,
    .halt = hid_halt,
    .idle = hid_idle,
};

int fk_fido_hid_init(fk_fido_hid_t *hid, fk_services_t *svc, const fk_applet_t *applet,
                     void *state, size_t state_len, const fk_fido_hid_config_t *cfg)
{
    memset(hid, 0, sizeof *hid);
    hid->millis = cfg != NULL && cfg->millis != NULL ? cfg->millis : default_millis;
    hid->wink = cfg != NULL ? cfg->wink : NULL;
    const fk_ctap_ep_config_t io = {
        .send = hid_send,
        .clock = hid_clock,
        .wink = hid_wink,
        .pull = hid_pull,
        .user = hid,
    };
    if (fk_ctap_ep_init(&hid->ctap, svc, applet, state, state_len, &io) != FK_CTAP_EP_OK)
        return FK_USBD_EINVAL;
    return FK_USBD_OK;
}

fk_usbd_class_t fk_fido_hid_class(fk_fido_hid_t *hid)
{
    const fk_usbd_class_t c = {&fk_fido_hid_class_ops, hid, "fusekey FIDO"};
    return c;
}

void fk_fido_hid_power_on(fk_fido_hid_t *hid) { fk_ctap_ep_power_on(&hid->ctap); }
