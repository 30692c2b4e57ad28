/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_std.h - USB 2.0 constants the device stack and its class drivers use
 * (chapter 9 of the USB 2.0 specification: requests, descriptors, feature
 * selectors; class codes from the USB-IF list), and little-endian helpers
 * for descriptor and message fields.
 */
#ifndef FUSEKEY_USB_STD_H
#define FUSEKEY_USB_STD_H

#include <stdint.h>

#include "util.h" /* fk_le16 and the other byte-order helpers */

/* ---- The SETUP packet (USB 2.0 §9.3) ------------------------------------ */

#define FK_USB_SETUP_LEN 8u

/* bmRequestType: bit 7 direction, bits 6:5 type, bits 4:0 recipient. */
#define FK_USB_REQ_DIR_IN 0x80u
#define FK_USB_REQ_TYPE_MASK 0x60u
#define FK_USB_REQ_TYPE_STANDARD 0x00u
#define FK_USB_REQ_TYPE_CLASS 0x20u
#define FK_USB_REQ_TYPE_VENDOR 0x40u
#define FK_USB_REQ_RCPT_MASK 0x1Fu
#define FK_USB_REQ_RCPT_DEVICE 0x00u
#define FK_USB_REQ_RCPT_INTERFACE 0x01u
#define FK_USB_REQ_RCPT_ENDPOINT 0x02u
#define FK_USB_REQ_RCPT_OTHER 0x03u

/* Standard bRequest codes (USB 2.0 table 9-4). */
#define FK_USB_GET_STATUS 0x00u
#define FK_USB_CLEAR_FEATURE 0x01u
#define FK_USB_SET_FEATURE 0x03u
#define FK_USB_SET_ADDRESS 0x05u
#define FK_USB_GET_DESCRIPTOR 0x06u
#define FK_USB_SET_DESCRIPTOR 0x07u
#define FK_USB_GET_CONFIGURATION 0x08u
#define FK_USB_SET_CONFIGURATION 0x09u
#define FK_USB_GET_INTERFACE 0x0Au
#define FK_USB_SET_INTERFACE 0x0Bu
#define FK_USB_SYNCH_FRAME 0x0Cu

/* Feature selectors (table 9-6). */
#define FK_USB_FEATURE_ENDPOINT_HALT 0x00u
#define FK_USB_FEATURE_REMOTE_WAKEUP 0x01u
#define FK_USB_FEATURE_TEST_MODE 0x02u

/* GET_STATUS answer bits (figures 9-4 and 9-6). */
#define FK_USB_STATUS_SELF_POWERED 0x0001u
#define FK_USB_STATUS_REMOTE_WAKEUP 0x0002u
#define FK_USB_STATUS_HALT 0x0001u

/* Largest device address (7 bits). */
#define FK_USB_ADDR_MAX 127u

/* The SETUP packet, decoded (fields little-endian on the wire). */
typedef struct fk_usb_setup {
    uint8_t bmRequestType;
    uint8_t bRequest;
    uint16_t wValue;
    uint16_t wIndex;
    uint16_t wLength;
} fk_usb_setup_t;

/* ---- Descriptors (table 9-5) -------------------------------------------- */

#define FK_USB_DESC_DEVICE 0x01u
#define FK_USB_DESC_CONFIGURATION 0x02u
#define FK_USB_DESC_STRING 0x03u
#define FK_USB_DESC_INTERFACE 0x04u
#define FK_USB_DESC_ENDPOINT 0x05u
#define FK_USB_DESC_DEVICE_QUALIFIER 0x06u
#define FK_USB_DESC_OTHER_SPEED_CONFIG 0x07u
#define FK_USB_DESC_INTERFACE_POWER 0x08u
#define FK_USB_DESC_OTG 0x09u
#define FK_USB_DESC_DEBUG 0x0Au
#define FK_USB_DESC_IAD 0x0Bu
#define FK_USB_DESC_BOS 0x0Fu
/* Class-specific: CCID functional descriptor, HID descriptor. */
#define FK_USB_DESC_CS_FUNCTIONAL 0x21u

#define FK_USB_DEVICE_DESC_LEN 18u
#define FK_USB_CONFIG_DESC_LEN 9u
#define FK_USB_INTERFACE_DESC_LEN 9u
#define FK_USB_ENDPOINT_DESC_LEN 7u
#define FK_USB_IAD_LEN 8u

/* bcdUSB: 2.00 (a full-speed-only device may say 2.00; it then must STALL
 * GET_DESCRIPTOR(DEVICE_QUALIFIER), USB 2.0 §9.6.2). */
#define FK_USB_BCD_USB_200 0x0200u

/* Configuration bmAttributes (bit 7 always set). */
#define FK_USB_CONFIG_ATTR_ONE 0x80u
#define FK_USB_CONFIG_ATTR_SELF_POWERED 0x40u
#define FK_USB_CONFIG_ATTR_REMOTE_WAKEUP 0x20u

/* Endpoint bmAttributes bits 1:0 (the same values as fk_dcd_ep_type_t). */
#define FK_USB_EP_ATTR_CONTROL 0x00u
#define FK_USB_EP_ATTR_ISO 0x01u
#define FK_USB_EP_ATTR_BULK 0x02u
#define FK_USB_EP_ATTR_INTERRUPT 0x03u
#define FK_USB_EP_ATTR_TYPE_MASK 0x03u

#define FK_USB_EP_DIR_IN 0x80u
#define FK_USB_EP_NUM_MASK 0x0Fu

/* Full-speed limits (USB 2.0 §5.7.3, §5.8.3). */
#define FK_USB_FS_BULK_MPS 64u
#define FK_USB_FS_INTERRUPT_MPS_MAX 64u

/* String descriptors: index 0 is the LANGID list; English (US). */
#define FK_USB_LANGID_EN_US 0x0409u
/* bLength is one byte: at most (255 - 2) / 2 = 126 UTF-16 code units. */
#define FK_USB_STRING_DESC_MAX 254u

/* ---- Class codes (USB-IF defined class codes) ----------------------------- */

#define FK_USB_CLASS_PER_INTERFACE 0x00u /* bDeviceClass: each interface says */
#define FK_USB_CLASS_HID 0x03u
#define FK_USB_CLASS_SMART_CARD 0x0Bu
#define FK_USB_CLASS_MISC 0xEFu
#define FK_USB_CLASS_VENDOR 0xFFu

/* Decode the 8 bytes of a SETUP packet. */
static inline fk_usb_setup_t fk_usb_setup_decode(const uint8_t raw[FK_USB_SETUP_LEN])
{
    fk_usb_setup_t s;
    s.bmRequestType = raw[0];
    s.bRequest = raw[1];
    s.wValue = fk_le16(raw + 2);
    s.wIndex = fk_le16(raw + 4);
    s.wLength = fk_le16(raw + 6);
    return s;
}

#endif /* FUSEKEY_USB_STD_H */
