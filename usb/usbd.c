/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usbd.c - the USB device core: descriptors built from the class list, the
 * EP0 control state machine with the standard requests of USB 2.0 chapter
 * 9, and the dispatch of controller events to the class drivers
 * (docs/usb.md).
 *
 * EP0, as this file drives it:
 *
 *   SETUP --> request accepted?  no --> STALL both directions (until the
 *      |                                 next SETUP)
 *      +-- wLength 0 ---------------------------> STATUS_IN: ZLP IN
 *      +-- IN, data -> DATA_IN: 64-byte packets [+ ZLP] -> STATUS_OUT:
 *      |                                         host's ZLP OUT
 *      +-- OUT, data -> DATA_OUT: packets until wLength -> STATUS_IN
 *   STATUS_IN done -> SET_ADDRESS takes effect; the request is over.
 *
 * The controller driver owns the toggles and cancels whatever EP0 had in
 * flight when a SETUP arrives, so a new SETUP simply restarts the machine.
 */
#include "usbd.h"

#include <string.h>

#include "util.h"

enum {
    EP0_IDLE = 0,
    EP0_DATA_IN,
    EP0_DATA_OUT,
    EP0_STATUS_IN,
    EP0_STATUS_OUT,
    EP0_STALLED,
};

#define NO_OWNER FK_USBD_CLASSES_MAX
#define EP0_OUT 0x00u
#define EP0_IN 0x80u
#define CONFIG_VALUE 1u
/* bMaxPower counts 2 mA units; a bus-powered device takes at most 500 mA. */
#define MAX_POWER_MA_LIMIT 500u
#define MAX_POWER_MA_MIN 2u

/* ---- Descriptors ---------------------------------------------------------- */

static bool string_ok(const char *s)
{
    if (s == NULL) return false;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (n >= FK_USBD_STRING_MAX) return false;
        if ((unsigned char)s[n] < 0x20u || (unsigned char)s[n] > 0x7Eu) return false;
    }
    return n > 0;
}

static void build_device_descriptor(fk_usbd_t *usbd)
{
    uint8_t *d = usbd->device_desc;
    d[0] = FK_USB_DEVICE_DESC_LEN;
    d[1] = FK_USB_DESC_DEVICE;
    fk_put_le16(d + 2, FK_USB_BCD_USB_200);
    d[4] = FK_USB_CLASS_PER_INTERFACE; /* bDeviceClass: every function says its own */
    d[5] = 0;                          /* bDeviceSubClass */
    d[6] = 0;                          /* bDeviceProtocol */
    d[7] = (uint8_t)FK_DCD_EP0_MPS;
    fk_put_le16(d + 8, usbd->id.vid);
    fk_put_le16(d + 10, usbd->id.pid);
    fk_put_le16(d + 12, usbd->id.bcd_device);
    d[14] = FK_USBD_STR_MANUFACTURER;
    d[15] = FK_USBD_STR_PRODUCT;
    d[16] = FK_USBD_STR_SERIAL;
    d[17] = 1; /* bNumConfigurations */
}

/* Check what class k wrote: well-formed descriptors, only its own interface
 * and endpoint numbers, each endpoint once, as many interfaces as it said. */
static bool class_descriptors_ok(const fk_usbd_t *usbd, size_t k, const uint8_t *p, size_t len)
{
    const fk_usbd_class_ops_t *ops = usbd->classes[k].ops;
    const unsigned itf0 = usbd->first_itf[k], ep0 = usbd->first_ep[k];
    uint32_t itf_seen = 0, ep_seen = 0; /* bit per interface offset; bit per (dir, number) */
    size_t i = 0;
    while (i < len) {
        if (len - i < 2u || p[i] < 2u || p[i] > len - i) return false;
        const uint8_t *d = p + i;
        if (d[1] == FK_USB_DESC_INTERFACE) {
            if (d[0] != FK_USB_INTERFACE_DESC_LEN) return false;
            if (d[2] < itf0 || d[2] >= itf0 + ops->n_interfaces) return false;
            if (d[3] == 0) itf_seen |= 1u << (d[2] - itf0);
        } else if (d[1] == FK_USB_DESC_ENDPOINT) {
            if (d[0] != FK_USB_ENDPOINT_DESC_LEN) return false;
            const unsigned num = d[2] & FK_USB_EP_NUM_MASK;
            if ((d[2] & 0x70u) != 0 || num < ep0 || num >= ep0 + ops->n_endpoints) return false;
            const unsigned type = d[3] & FK_USB_EP_ATTR_TYPE_MASK;
            const uint16_t mps = fk_le16(d + 4);
            if (type == FK_USB_EP_ATTR_BULK) {
                if (mps != 8u && mps != 16u && mps != 32u && mps != 64u) return false;
            } else if (type == FK_USB_EP_ATTR_INTERRUPT) {
                if (mps == 0 || mps > FK_USB_FS_INTERRUPT_MPS_MAX) return false;
            } else {
                return false; /* control and isochronous: not for this stack */
            }
            const uint32_t bit = 1u << ((num & 0x0Fu) + ((d[2] & FK_USB_EP_DIR_IN) ? 16u : 0u));
            if (ep_seen & bit) return false;
            ep_seen |= bit;
        } else if (d[1] == FK_USB_DESC_CONFIGURATION || d[1] == FK_USB_DESC_DEVICE) {
            return false;
        }
        i += d[0];
    }
    return itf_seen == (ops->n_interfaces >= 32u ? 0xFFFFFFFFu : (1u << ops->n_interfaces) - 1u);
}

/* Give the interfaces in p[0, len) without a string the function's name. */
static void name_interfaces(uint8_t *p, size_t len, uint8_t index)
{
    for (size_t i = 0; i < len; i += p[i]) {
        if (p[i + 1] == FK_USB_DESC_INTERFACE && p[i + 8] == 0) p[i + 8] = index;
    }
}

static int build_config_descriptor(fk_usbd_t *usbd)
{
    uint8_t *c = usbd->config_desc;
    size_t len = FK_USB_CONFIG_DESC_LEN;
    for (size_t k = 0; k < usbd->n_classes; k++) {
        const fk_usbd_class_t *cl = &usbd->classes[k];
        const size_t n = cl->ops->describe(cl->ctx, c + len, sizeof usbd->config_desc - len);
        if (n == 0 || n > sizeof usbd->config_desc - len) return FK_USBD_EINVAL;
        if (!class_descriptors_ok(usbd, k, c + len, n)) return FK_USBD_EINVAL;
        if (cl->name != NULL) name_interfaces(c + len, n, (uint8_t)(FK_USBD_STR_CLASS0 + k));
        len += n;
    }
    const unsigned ma = usbd->id.max_power_ma ? usbd->id.max_power_ma : FK_USBD_MAX_POWER_MA_DEFAULT;
    c[0] = FK_USB_CONFIG_DESC_LEN;
    c[1] = FK_USB_DESC_CONFIGURATION;
    fk_put_le16(c + 2, (uint16_t)len);
    c[4] = usbd->n_interfaces;
    c[5] = CONFIG_VALUE;
    c[6] = 0; /* iConfiguration */
    c[7] = FK_USB_CONFIG_ATTR_ONE; /* bus powered, no remote wakeup */
    c[8] = (uint8_t)((ma + 1u) / 2u);
    usbd->config_len = len;
    return FK_USBD_OK;
}

/* The endpoint descriptor of address ep in the configuration, or NULL. */
static const uint8_t *find_endpoint(const fk_usbd_t *usbd, uint8_t ep)
{
    size_t i = FK_USB_CONFIG_DESC_LEN;
    while (i + 2u <= usbd->config_len) {
        const uint8_t *d = usbd->config_desc + i;
        if (d[1] == FK_USB_DESC_ENDPOINT && d[2] == ep) return d;
        i += d[0];
    }
    return NULL;
}

/* The class owning endpoint number num (1..15), or NO_OWNER. */
static size_t owner_of_ep(const fk_usbd_t *usbd, uint8_t ep)
{
    const unsigned num = ep & FK_USB_EP_NUM_MASK;
    for (size_t k = 0; k < usbd->n_classes; k++) {
        const unsigned first = usbd->first_ep[k];
        if (num >= first && num < first + usbd->classes[k].ops->n_endpoints) return k;
    }
    return NO_OWNER;
}

static size_t owner_of_itf(const fk_usbd_t *usbd, unsigned itf)
{
    for (size_t k = 0; k < usbd->n_classes; k++) {
        const unsigned first = usbd->first_itf[k];
        if (itf >= first && itf < first + usbd->classes[k].ops->n_interfaces) return k;
    }
    return NO_OWNER;
}

/* Open every endpoint class k (or all classes, k = NO_OWNER) describes. */
static void open_endpoints(fk_usbd_t *usbd, size_t k)
{
    size_t i = FK_USB_CONFIG_DESC_LEN;
    while (i + 2u <= usbd->config_len) {
        const uint8_t *d = usbd->config_desc + i;
        if (d[1] == FK_USB_DESC_ENDPOINT && (k == NO_OWNER || owner_of_ep(usbd, d[2]) == k)) {
            const int rc = fk_dcd_ep_open(d[2], (fk_dcd_ep_type_t)(d[3] & FK_USB_EP_ATTR_TYPE_MASK),
                                          fk_le16(d + 4));
            /* The descriptors were checked at init; a driver that cannot
             * open them is a port that cannot run this device. */
            FK_ASSERT(rc == FK_DCD_OK);
        }
        i += d[0];
    }
}

int fk_usbd_init(fk_usbd_t *usbd, const fk_usbd_identity_t *id, const fk_usbd_class_t *classes,
                 size_t n)
{
    memset(usbd, 0, sizeof *usbd);
    if (id == NULL || !string_ok(id->manufacturer) || !string_ok(id->product)) return FK_USBD_EINVAL;
    if (id->max_power_ma != 0 &&
        (id->max_power_ma < MAX_POWER_MA_MIN || id->max_power_ma > MAX_POWER_MA_LIMIT))
        return FK_USBD_EINVAL;
    if (n == 0 || n > FK_USBD_CLASSES_MAX || classes == NULL) return FK_USBD_EINVAL;
    usbd->id = *id;

    unsigned itf = 0, ep = 1;
    for (size_t k = 0; k < n; k++) {
        const fk_usbd_class_ops_t *ops = classes[k].ops;
        if (ops == NULL || ops->attach == NULL || ops->describe == NULL || ops->configured == NULL ||
            ops->deconfigured == NULL || ops->xfer == NULL || ops->n_interfaces == 0)
            return FK_USBD_EINVAL;
        if (classes[k].name != NULL && !string_ok(classes[k].name)) return FK_USBD_EINVAL;
        if (itf + ops->n_interfaces > 32u || ep + ops->n_endpoints > FK_DCD_EP_NUM_MAX + 1u)
            return FK_USBD_EINVAL;
        usbd->classes[k] = classes[k];
        usbd->first_itf[k] = (uint8_t)itf;
        usbd->first_ep[k] = (uint8_t)ep;
        itf += ops->n_interfaces;
        ep += ops->n_endpoints;
    }
    usbd->n_classes = n;
    usbd->n_interfaces = (uint8_t)itf;
    usbd->n_endpoints = (uint8_t)(ep - 1u);

    for (size_t k = 0; k < n; k++) {
        usbd->classes[k].ops->attach(usbd->classes[k].ctx, usbd, usbd->first_itf[k],
                                     usbd->first_ep[k]);
    }
    build_device_descriptor(usbd);
    const int rc = build_config_descriptor(usbd);
    if (rc != FK_USBD_OK) return rc;

    usbd->ep0.owner = NO_OWNER;
    usbd->state = FK_USBD_DETACHED;
    if (fk_dcd_init() != FK_DCD_OK) return FK_USBD_EDCD;
    return FK_USBD_OK;
}

/* ---- Configuration -------------------------------------------------------- */

static void deconfigure(fk_usbd_t *usbd)
{
    const bool was = usbd->config != 0;
    usbd->config = 0;
    usbd->deferred_mask = 0;
    if (usbd->state == FK_USBD_CONFIGURED) usbd->state = FK_USBD_ADDRESSED;
    fk_dcd_ep_close_all();
    if (!was) return;
    for (size_t k = 0; k < usbd->n_classes; k++) {
        usbd->classes[k].ops->deconfigured(usbd->classes[k].ctx);
    }
}

static void configure(fk_usbd_t *usbd)
{
    open_endpoints(usbd, NO_OWNER);
    usbd->config = CONFIG_VALUE;
    usbd->state = FK_USBD_CONFIGURED;
    for (size_t k = 0; k < usbd->n_classes; k++) {
        usbd->classes[k].ops->configured(usbd->classes[k].ctx);
    }
}

void fk_usbd_connect(fk_usbd_t *usbd, bool on)
{
    if (!on) deconfigure(usbd);
    fk_dcd_connect(on);
    usbd->state = on ? FK_USBD_DEFAULT : FK_USBD_DETACHED;
    usbd->suspended = false;
    usbd->address_pending = false;
    usbd->ep0.phase = EP0_IDLE;
}

/* ---- EP0 ------------------------------------------------------------------ */

static void ep0_stall(fk_usbd_t *usbd)
{
    fk_dcd_ep_stall(EP0_IN);
    fk_dcd_ep_stall(EP0_OUT);
    usbd->ep0.phase = EP0_STALLED;
}

static void ep0_status_in(fk_usbd_t *usbd)
{
    usbd->ep0.phase = EP0_STATUS_IN;
    if (fk_dcd_ep_start(EP0_IN, usbd->ep0.buf, 0) != FK_DCD_OK) ep0_stall(usbd);
}

static void ep0_status_out(fk_usbd_t *usbd)
{
    usbd->ep0.phase = EP0_STATUS_OUT;
    if (fk_dcd_ep_start(EP0_OUT, usbd->ep0.buf, (uint16_t)FK_DCD_EP0_MPS) != FK_DCD_OK)
        ep0_stall(usbd);
}

/* Send the next packet of the IN data stage (or its final ZLP). */
static void ep0_send_next(fk_usbd_t *usbd)
{
    const size_t left = usbd->ep0.in_len - usbd->ep0.in_off;
    const size_t n = FK_MIN(left, (size_t)FK_DCD_EP0_MPS);
    if (n == 0) usbd->ep0.in_zlp = false; /* this packet is the ZLP */
    /* The driver copies the bytes at once, so the cast away from const is
     * only the contract's single buffer type. */
    if (fk_dcd_ep_start(EP0_IN, (void *)(uintptr_t)(usbd->ep0.in + usbd->ep0.in_off), (uint16_t)n) !=
        FK_DCD_OK) {
        ep0_stall(usbd);
        return;
    }
    usbd->ep0.in_off += n;
}

static void ep0_receive_next(fk_usbd_t *usbd)
{
    if (fk_dcd_ep_start(EP0_OUT, usbd->ep0.buf, (uint16_t)FK_DCD_EP0_MPS) != FK_DCD_OK)
        ep0_stall(usbd);
}

void fk_usbd_ctrl_in(fk_usbd_t *usbd, const void *data, size_t len)
{
    usbd->ep0.in = data != NULL ? data : usbd->ep0.buf;
    usbd->ep0.in_len = data != NULL ? len : 0;
}

void fk_usbd_ctrl_out(fk_usbd_t *usbd, void *buf, size_t len)
{
    usbd->ep0.out = buf;
    usbd->ep0.out_len = len;
}

uint8_t *fk_usbd_ctrl_buf(fk_usbd_t *usbd) { return usbd->ep0.buf; }

/* A string descriptor into ep0.buf: 0 = LANGID list, then the identity's
 * strings. Returns its length, 0 for an index without a string. */
static size_t string_descriptor(fk_usbd_t *usbd, uint8_t index)
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t *b = usbd->ep0.buf;
    char serial[2u * FK_USBD_SERIAL_LEN + 1u];
    const char *s;
    switch (index) {
    case 0:
        b[0] = 4;
        b[1] = FK_USB_DESC_STRING;
        fk_put_le16(b + 2, FK_USB_LANGID_EN_US);
        return 4;
    case FK_USBD_STR_MANUFACTURER: s = usbd->id.manufacturer; break;
    case FK_USBD_STR_PRODUCT: s = usbd->id.product; break;
    case FK_USBD_STR_SERIAL:
        for (size_t i = 0; i < FK_USBD_SERIAL_LEN; i++) {
            serial[2 * i] = hex[usbd->id.serial[i] >> 4];
            serial[2 * i + 1] = hex[usbd->id.serial[i] & 0x0Fu];
        }
        serial[2u * FK_USBD_SERIAL_LEN] = '\0';
        s = serial;
        break;
    default:
        if (index < FK_USBD_STR_CLASS0 || index - FK_USBD_STR_CLASS0 >= usbd->n_classes) return 0;
        s = usbd->classes[index - FK_USBD_STR_CLASS0].name;
        if (s == NULL) return 0;
        break;
    }
    size_t n = 0;
    for (; s[n] != '\0' && n < FK_USBD_STRING_MAX; n++) {
        b[2 + 2 * n] = (uint8_t)s[n]; /* ASCII is its own UTF-16 code unit */
        b[3 + 2 * n] = 0;
    }
    b[0] = (uint8_t)(2u + 2u * n);
    b[1] = FK_USB_DESC_STRING;
    return b[0];
}

static bool get_descriptor(fk_usbd_t *usbd, const fk_usb_setup_t *r)
{
    const uint8_t type = (uint8_t)(r->wValue >> 8), index = (uint8_t)r->wValue;
    switch (type) {
    case FK_USB_DESC_DEVICE:
        if (index != 0) return false;
        fk_usbd_ctrl_in(usbd, usbd->device_desc, sizeof usbd->device_desc);
        return true;
    case FK_USB_DESC_CONFIGURATION:
        if (index != 0) return false;
        fk_usbd_ctrl_in(usbd, usbd->config_desc, usbd->config_len);
        return true;
    case FK_USB_DESC_STRING: {
        /* Any LANGID is answered in the only language there is. */
        const size_t n = string_descriptor(usbd, index);
        if (n == 0) return false;
        fk_usbd_ctrl_in(usbd, usbd->ep0.buf, n);
        return true;
    }
    default:
        /* DEVICE_QUALIFIER and OTHER_SPEED: a full-speed-only device must
         * stall them (USB 2.0 §9.6.2). BOS: only bcdUSB >= 2.01 devices
         * have one; this one has nothing to put there. */
        return false;
    }
}

static bool is_in(const fk_usb_setup_t *r) { return (r->bmRequestType & FK_USB_REQ_DIR_IN) != 0; }

/* Whether ep names an endpoint the host may address now. */
static bool endpoint_valid(const fk_usbd_t *usbd, uint16_t windex)
{
    if (windex > 0xFFu) return false;
    const uint8_t ep = (uint8_t)windex;
    if ((ep & FK_USB_EP_NUM_MASK) == 0) return (ep & 0x70u) == 0;
    return usbd->state == FK_USBD_CONFIGURED && find_endpoint(usbd, ep) != NULL;
}

static bool std_device(fk_usbd_t *usbd, const fk_usb_setup_t *r)
{
    uint8_t *b = usbd->ep0.buf;
    switch (r->bRequest) {
    case FK_USB_GET_STATUS:
        if (!is_in(r) || r->wValue != 0 || r->wIndex != 0 || r->wLength != 2) return false;
        fk_put_le16(b, 0); /* bus powered, remote wakeup off */
        fk_usbd_ctrl_in(usbd, b, 2);
        return true;
    case FK_USB_SET_ADDRESS:
        if (is_in(r) || r->wValue > FK_USB_ADDR_MAX || r->wIndex != 0 || r->wLength != 0)
            return false;
        if (usbd->state == FK_USBD_CONFIGURED) return false;
        usbd->pending_address = (uint8_t)r->wValue;
        usbd->address_pending = true;
        return true;
    case FK_USB_GET_DESCRIPTOR:
        if (!is_in(r)) return false;
        return get_descriptor(usbd, r);
    case FK_USB_GET_CONFIGURATION:
        if (!is_in(r) || r->wValue != 0 || r->wIndex != 0 || r->wLength != 1) return false;
        if (usbd->state != FK_USBD_ADDRESSED && usbd->state != FK_USBD_CONFIGURED) return false;
        b[0] = usbd->config;
        fk_usbd_ctrl_in(usbd, b, 1);
        return true;
    case FK_USB_SET_CONFIGURATION:
        if (is_in(r) || r->wValue > CONFIG_VALUE || r->wIndex != 0 || r->wLength != 0) return false;
        if (usbd->state != FK_USBD_ADDRESSED && usbd->state != FK_USBD_CONFIGURED) return false;
        deconfigure(usbd);
        if (r->wValue == CONFIG_VALUE) {
            configure(usbd);
        } else {
            usbd->state = FK_USBD_ADDRESSED;
        }
        return true;
    default:
        /* CLEAR/SET_FEATURE: no remote wakeup, no test mode at full speed;
         * SET_DESCRIPTOR: the descriptors are fixed. */
        return false;
    }
}

static bool std_interface(fk_usbd_t *usbd, const fk_usb_setup_t *r)
{
    if (usbd->state != FK_USBD_CONFIGURED || r->wIndex >= usbd->n_interfaces) return false;
    uint8_t *b = usbd->ep0.buf;
    switch (r->bRequest) {
    case FK_USB_GET_DESCRIPTOR: {
        /* Class descriptors of an interface (HID class and report
         * descriptors): the class that owns it answers, or nobody. */
        if (!is_in(r)) return false;
        const size_t k = owner_of_itf(usbd, r->wIndex);
        const fk_usbd_class_t *cl = k == NO_OWNER ? NULL : &usbd->classes[k];
        const bool ok = cl != NULL && cl->ops->control != NULL &&
                        cl->ops->control(cl->ctx, r, FK_USBD_STAGE_SETUP);
        if (ok) usbd->ep0.owner = k;
        return ok;
    }
    case FK_USB_GET_STATUS:
        if (!is_in(r) || r->wValue != 0 || r->wLength != 2) return false;
        fk_put_le16(b, 0);
        fk_usbd_ctrl_in(usbd, b, 2);
        return true;
    case FK_USB_GET_INTERFACE:
        if (!is_in(r) || r->wValue != 0 || r->wLength != 1) return false;
        b[0] = 0; /* alternate setting 0 is the only one */
        fk_usbd_ctrl_in(usbd, b, 1);
        return true;
    case FK_USB_SET_INTERFACE: {
        if (is_in(r) || r->wValue != 0 || r->wLength != 0) return false;
        /* Selecting alternate 0 again restarts the function's endpoints at
         * DATA0 (USB 2.0 §9.1.1.5), which the class sees as a new start. */
        const size_t k = owner_of_itf(usbd, r->wIndex);
        FK_ASSERT(k != NO_OWNER);
        usbd->deferred_mask = 0;
        open_endpoints(usbd, k);
        usbd->classes[k].ops->deconfigured(usbd->classes[k].ctx);
        usbd->classes[k].ops->configured(usbd->classes[k].ctx);
        return true;
    }
    default: return false;
    }
}

static bool std_endpoint(fk_usbd_t *usbd, const fk_usb_setup_t *r)
{
    if (usbd->state != FK_USBD_ADDRESSED && usbd->state != FK_USBD_CONFIGURED) return false;
    if (!endpoint_valid(usbd, r->wIndex)) return false;
    const uint8_t ep = (uint8_t)r->wIndex;
    const bool ep0 = (ep & FK_USB_EP_NUM_MASK) == 0;
    switch (r->bRequest) {
    case FK_USB_GET_STATUS:
        if (!is_in(r) || r->wValue != 0 || r->wLength != 2) return false;
        fk_put_le16(usbd->ep0.buf, fk_dcd_ep_stalled(ep) ? FK_USB_STATUS_HALT : 0);
        fk_usbd_ctrl_in(usbd, usbd->ep0.buf, 2);
        return true;
    case FK_USB_CLEAR_FEATURE:
    case FK_USB_SET_FEATURE: {
        if (is_in(r) || r->wValue != FK_USB_FEATURE_ENDPOINT_HALT || r->wLength != 0) return false;
        const bool set = r->bRequest == FK_USB_SET_FEATURE;
        if (ep0) return !set; /* EP0 has no halt feature to set; clearing is harmless */
        const size_t k = owner_of_ep(usbd, ep);
        FK_ASSERT(k != NO_OWNER);
        if (set) {
            fk_dcd_ep_stall(ep);
        } else {
            fk_dcd_ep_clear_stall(ep);
        }
        if ((ep & FK_USB_EP_DIR_IN) == 0) usbd->deferred_mask &= (uint16_t)~(1u << ep);
        if (usbd->classes[k].ops->halt != NULL)
            usbd->classes[k].ops->halt(usbd->classes[k].ctx, ep, set);
        return true;
    }
    default: return false;
    }
}

/* A class or vendor request: the class owning the recipient, or NO_OWNER. */
static size_t class_owner(const fk_usbd_t *usbd, const fk_usb_setup_t *r)
{
    if (usbd->state != FK_USBD_CONFIGURED) return NO_OWNER;
    switch (r->bmRequestType & FK_USB_REQ_RCPT_MASK) {
    case FK_USB_REQ_RCPT_INTERFACE: return owner_of_itf(usbd, r->wIndex & 0xFFu);
    case FK_USB_REQ_RCPT_ENDPOINT:
        if (!endpoint_valid(usbd, r->wIndex) || (r->wIndex & FK_USB_EP_NUM_MASK) == 0)
            return NO_OWNER;
        return owner_of_ep(usbd, (uint8_t)r->wIndex);
    default: return NO_OWNER;
    }
}

static void ep0_setup(fk_usbd_t *usbd, const uint8_t raw[8])
{
    const fk_usb_setup_t r = fk_usb_setup_decode(raw);
    usbd->ep0.req = r;
    usbd->ep0.owner = NO_OWNER;
    usbd->ep0.in = NULL;
    usbd->ep0.in_len = usbd->ep0.in_off = 0;
    usbd->ep0.in_zlp = false;
    usbd->ep0.out = NULL;
    usbd->ep0.out_len = usbd->ep0.out_off = 0;
    usbd->address_pending = false;

    bool ok;
    if ((r.bmRequestType & FK_USB_REQ_TYPE_MASK) == FK_USB_REQ_TYPE_STANDARD) {
        switch (r.bmRequestType & FK_USB_REQ_RCPT_MASK) {
        case FK_USB_REQ_RCPT_DEVICE: ok = std_device(usbd, &r); break;
        case FK_USB_REQ_RCPT_INTERFACE: ok = std_interface(usbd, &r); break;
        case FK_USB_REQ_RCPT_ENDPOINT: ok = std_endpoint(usbd, &r); break;
        default: ok = false; break;
        }
    } else {
        const size_t k = class_owner(usbd, &r);
        const fk_usbd_class_t *cl = k == NO_OWNER ? NULL : &usbd->classes[k];
        ok = cl != NULL && cl->ops->control != NULL &&
             cl->ops->control(cl->ctx, &r, FK_USBD_STAGE_SETUP);
        if (ok) usbd->ep0.owner = k;
    }
    if (!ok) {
        usbd->address_pending = false;
        ep0_stall(usbd);
        return;
    }

    if (r.wLength == 0) {
        ep0_status_in(usbd);
    } else if (is_in(&r)) {
        if (usbd->ep0.in == NULL) { /* accepted without data: a class bug or a misdirected request */
            ep0_stall(usbd);
            return;
        }
        usbd->ep0.in_len = FK_MIN(usbd->ep0.in_len, (size_t)r.wLength);
        usbd->ep0.in_zlp = usbd->ep0.in_len < r.wLength && usbd->ep0.in_len % FK_DCD_EP0_MPS == 0;
        usbd->ep0.phase = EP0_DATA_IN;
        ep0_send_next(usbd);
    } else {
        if (usbd->ep0.out == NULL || usbd->ep0.out_len != r.wLength) {
            ep0_stall(usbd);
            return;
        }
        usbd->ep0.phase = EP0_DATA_OUT;
        ep0_receive_next(usbd);
    }
}

static void ep0_class_done(fk_usbd_t *usbd)
{
    const size_t k = usbd->ep0.owner;
    usbd->ep0.owner = NO_OWNER;
    if (k == NO_OWNER) return;
    const fk_usbd_class_t *cl = &usbd->classes[k];
    (void)cl->ops->control(cl->ctx, &usbd->ep0.req, FK_USBD_STAGE_DONE);
}

static void ep0_in_done(fk_usbd_t *usbd)
{
    switch (usbd->ep0.phase) {
    case EP0_DATA_IN:
        if (usbd->ep0.in_off < usbd->ep0.in_len || usbd->ep0.in_zlp) {
            ep0_send_next(usbd);
        } else {
            ep0_status_out(usbd);
        }
        break;
    case EP0_STATUS_IN:
        usbd->ep0.phase = EP0_IDLE;
        if (usbd->address_pending) {
            usbd->address_pending = false;
            fk_dcd_set_address(usbd->pending_address);
            usbd->state = usbd->pending_address != 0 ? FK_USBD_ADDRESSED : FK_USBD_DEFAULT;
        }
        ep0_class_done(usbd);
        break;
    default: break; /* a completion from before the last SETUP: nothing to do */
    }
}

static void ep0_out_done(fk_usbd_t *usbd, uint16_t len)
{
    switch (usbd->ep0.phase) {
    case EP0_DATA_OUT: {
        const size_t left = usbd->ep0.out_len - usbd->ep0.out_off;
        if (len > left || (len < FK_DCD_EP0_MPS && len < left)) {
            ep0_stall(usbd); /* more than wLength, or a short packet before it */
            return;
        }
        memcpy(usbd->ep0.out + usbd->ep0.out_off, usbd->ep0.buf, len);
        usbd->ep0.out_off += len;
        if (usbd->ep0.out_off < usbd->ep0.out_len) {
            ep0_receive_next(usbd);
            return;
        }
        const fk_usbd_class_t *cl = &usbd->classes[usbd->ep0.owner];
        if (!cl->ops->control(cl->ctx, &usbd->ep0.req, FK_USBD_STAGE_DATA)) {
            usbd->ep0.owner = NO_OWNER;
            ep0_stall(usbd);
            return;
        }
        ep0_status_in(usbd);
        break;
    }
    case EP0_STATUS_OUT:
        usbd->ep0.phase = EP0_IDLE;
        ep0_class_done(usbd);
        break;
    default: break;
    }
}

/* ---- Event dispatch ------------------------------------------------------- */

static void bus_reset(fk_usbd_t *usbd)
{
    deconfigure(usbd);
    usbd->state = FK_USBD_DEFAULT;
    usbd->suspended = false;
    usbd->address_pending = false;
    usbd->ep0.phase = EP0_IDLE;
    usbd->ep0.owner = NO_OWNER;
}

static void deliver_xfer(fk_usbd_t *usbd, uint8_t ep, uint16_t len)
{
    if (usbd->state != FK_USBD_CONFIGURED) return;
    const size_t k = owner_of_ep(usbd, ep);
    if (k == NO_OWNER) return;
    usbd->classes[k].ops->xfer(usbd->classes[k].ctx, ep, len);
}

static void dispatch(fk_usbd_t *usbd, const fk_dcd_event_t *ev, bool nested)
{
    switch (ev->type) {
    case FK_DCD_EV_BUS_RESET: bus_reset(usbd); break;
    case FK_DCD_EV_SETUP: ep0_setup(usbd, ev->setup); break;
    case FK_DCD_EV_XFER:
        if (ev->ep == EP0_IN) {
            ep0_in_done(usbd);
        } else if (ev->ep == EP0_OUT) {
            ep0_out_done(usbd, ev->len);
        } else if ((ev->ep & FK_USB_EP_DIR_IN) == 0 && nested) {
            const unsigned num = ev->ep & FK_USB_EP_NUM_MASK;
            usbd->deferred_mask |= (uint16_t)(1u << num);
            usbd->deferred_len[num] = ev->len;
        } else {
            deliver_xfer(usbd, ev->ep, ev->len);
        }
        break;
    case FK_DCD_EV_SUSPEND: usbd->suspended = true; break;
    case FK_DCD_EV_RESUME: usbd->suspended = false; break;
    default: break;
    }
}

static void drain(fk_usbd_t *usbd, bool nested)
{
    fk_dcd_event_t ev;
    while (fk_dcd_poll(&ev)) dispatch(usbd, &ev, nested);
}

void fk_usbd_task(fk_usbd_t *usbd)
{
    FK_ASSERT(usbd->depth == 0);
    usbd->depth = 1;
    /* OUT completions kept while a class was busy, oldest endpoint first. */
    for (unsigned num = 1; num <= FK_DCD_EP_NUM_MAX && usbd->deferred_mask != 0; num++) {
        if ((usbd->deferred_mask & (1u << num)) == 0) continue;
        usbd->deferred_mask &= (uint16_t)~(1u << num);
        deliver_xfer(usbd, (uint8_t)num, usbd->deferred_len[num]);
    }
    drain(usbd, false);
    for (size_t k = 0; k < usbd->n_classes; k++) {
        if (usbd->classes[k].ops->idle != NULL) usbd->classes[k].ops->idle(usbd->classes[k].ctx);
    }
    usbd->depth = 0;
}

void fk_usbd_service(fk_usbd_t *usbd)
{
    const bool nested = usbd->depth > 0;
    usbd->depth++;
    drain(usbd, nested);
    usbd->depth--;
}

/* ---- Class endpoints and queries ------------------------------------------ */

int fk_usbd_ep_xfer(fk_usbd_t *usbd, uint8_t ep, void *buf, uint16_t len)
{
    if (usbd->state != FK_USBD_CONFIGURED) return FK_DCD_ESTATE;
    return fk_dcd_ep_start(ep, buf, len);
}

bool fk_usbd_ep_take_out(fk_usbd_t *usbd, uint8_t ep, uint16_t *len)
{
    const unsigned num = ep & FK_USB_EP_NUM_MASK;
    if ((ep & FK_USB_EP_DIR_IN) != 0 || num == 0u || num > FK_DCD_EP_NUM_MAX) return false;
    const uint16_t bit = (uint16_t)(1u << num);
    if ((usbd->deferred_mask & bit) == 0u) return false;
    usbd->deferred_mask &= (uint16_t)~bit;
    *len = usbd->deferred_len[num];
    return usbd->state == FK_USBD_CONFIGURED;
}

void fk_usbd_ep_stall(fk_usbd_t *usbd, uint8_t ep)
{
    if (usbd->state != FK_USBD_CONFIGURED) return;
    fk_dcd_ep_stall(ep);
}

fk_usbd_state_t fk_usbd_state(const fk_usbd_t *usbd) { return usbd->state; }
bool fk_usbd_suspended(const fk_usbd_t *usbd) { return usbd->suspended; }
bool fk_usbd_configured(const fk_usbd_t *usbd) { return usbd->state == FK_USBD_CONFIGURED; }

const uint8_t *fk_usbd_device_descriptor(const fk_usbd_t *usbd, size_t *len)
{
    *len = sizeof usbd->device_desc;
    return usbd->device_desc;
}

const uint8_t *fk_usbd_config_descriptor(const fk_usbd_t *usbd, size_t *len)
{
    *len = usbd->config_len;
    return usbd->config_desc;
}
