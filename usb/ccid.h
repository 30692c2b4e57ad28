/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ccid.h - the USB CCID class (CCID 1.1, short and extended APDU level) over
 * one card (core/card/card.h): a smart-card reader with one slot and the
 * card always present, as a class driver of the device core (usbd.h).
 *
 * One interface (class 0x0B) with a bulk OUT endpoint for commands
 * (PC_to_RDR), a bulk IN endpoint for responses (RDR_to_PC) and an
 * interrupt IN endpoint for slot-change notifications. Messages are framed
 * by their dwLength, across as many 64-byte packets as they need; a
 * response that fills its last packet ends with a zero-length packet.
 *
 * One command at a time (bMaxCCIDBusySlots 1): while a card command runs,
 * the bulk OUT endpoint is not re-armed (the host is NAKed) and the class
 * keeps the host waiting with time extensions, sent from the card's
 * keepalive hook at most every FK_CCID_TIME_EXT_MS (docs/usb.md).
 *
 * Buffers (static, in the fk_ccid_t): the command buffer takes a whole
 * extended APDU (FK_CCID_APDU_MAX), in one message or chained with
 * wLevelParameter; the response buffer takes FK_CCID_RESP_MAX bytes, and
 * the card delivers longer responses with 61xx and GET RESPONSE. Both are
 * wiped after each exchange.
 */
#ifndef FUSEKEY_CCID_H
#define FUSEKEY_CCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/card.h"
#include "usbd.h"

/* ---- Wire format (CCID 1.1 §6) ------------------------------------------- */

#define FK_CCID_HDR_LEN 10u
#define FK_CCID_CLASS_DESC_LEN 0x36u

/* PC_to_RDR message types. */
#define FK_CCID_PC_ICC_POWER_ON 0x62u
#define FK_CCID_PC_ICC_POWER_OFF 0x63u
#define FK_CCID_PC_GET_SLOT_STATUS 0x65u
#define FK_CCID_PC_XFR_BLOCK 0x6Fu
#define FK_CCID_PC_GET_PARAMETERS 0x6Cu
#define FK_CCID_PC_RESET_PARAMETERS 0x6Du
#define FK_CCID_PC_SET_PARAMETERS 0x61u
#define FK_CCID_PC_ESCAPE 0x6Bu
#define FK_CCID_PC_ICC_CLOCK 0x6Eu
#define FK_CCID_PC_T0_APDU 0x6Au
#define FK_CCID_PC_SECURE 0x69u
#define FK_CCID_PC_MECHANICAL 0x71u
#define FK_CCID_PC_ABORT 0x72u
#define FK_CCID_PC_SET_RATE_CLOCK 0x73u

/* RDR_to_PC message types. */
#define FK_CCID_RDR_DATA_BLOCK 0x80u
#define FK_CCID_RDR_SLOT_STATUS 0x81u
#define FK_CCID_RDR_PARAMETERS 0x82u
#define FK_CCID_RDR_ESCAPE 0x83u
#define FK_CCID_RDR_RATE_CLOCK 0x84u
#define FK_CCID_RDR_NOTIFY_SLOT_CHANGE 0x50u
#define FK_CCID_RDR_HARDWARE_ERROR 0x51u

/* bStatus: bmICCStatus (bits 1:0) | bmCommandStatus (bits 7:6). */
#define FK_CCID_ICC_ACTIVE 0x00u
#define FK_CCID_ICC_INACTIVE 0x01u
#define FK_CCID_ICC_ABSENT 0x02u
#define FK_CCID_CMD_FAILED 0x40u
#define FK_CCID_CMD_TIME_EXT 0x80u

/* bError when the command failed. */
#define FK_CCID_ERR_CMD_ABORTED 0xFFu
#define FK_CCID_ERR_ICC_MUTE 0xFEu
#define FK_CCID_ERR_XFR_PARITY 0xFDu
#define FK_CCID_ERR_XFR_OVERRUN 0xFCu
#define FK_CCID_ERR_HW_ERROR 0xFBu
#define FK_CCID_ERR_BAD_ATR_TS 0xF8u
#define FK_CCID_ERR_BAD_ATR_TCK 0xF7u
#define FK_CCID_ERR_PROTOCOL_NOT_SUPPORTED 0xF6u
#define FK_CCID_ERR_CMD_SLOT_BUSY 0xE0u
#define FK_CCID_ERR_CMD_NOT_SUPPORTED 0x00u
/* 1..127: offset of the header field found bad. */
#define FK_CCID_ERR_OFFSET_SLOT 5u
#define FK_CCID_ERR_OFFSET_PARAM1 7u /* bPowerSelect, bProtocolNum, bBWI */
#define FK_CCID_ERR_OFFSET_LEVEL 8u  /* wLevelParameter */
#define FK_CCID_ERR_OFFSET_LENGTH 1u /* dwLength */

/* XfrBlock wLevelParameter / DataBlock bChainParameter (extended level). */
#define FK_CCID_CHAIN_NONE 0x00u  /* the whole APDU in this message */
#define FK_CCID_CHAIN_BEGIN 0x01u /* begins, continues in the next message */
#define FK_CCID_CHAIN_END 0x02u   /* continues and ends here */
#define FK_CCID_CHAIN_MORE 0x03u  /* continues, more follows */
#define FK_CCID_CHAIN_NEXT 0x10u  /* empty: send / expect the next part */

/* Class requests on the interface (bmRequestType 0x21 / 0xA1). */
#define FK_CCID_REQ_ABORT 0x01u
#define FK_CCID_REQ_GET_CLOCK_FREQUENCIES 0x02u
#define FK_CCID_REQ_GET_DATA_RATES 0x03u

/* ---- This reader ------------------------------------------------------- */

/* dwFeatures: automatic parameter configuration from the ATR, activation,
 * voltage, clock, baud rate, parameter negotiation and PPS (0x02..0x80:
 * the host negotiates nothing), and the short and extended APDU level. */
#define FK_CCID_FEATURES 0x000400FEu
#define FK_CCID_FEATURE_LEVEL_MASK 0x00070000u
#define FK_CCID_FEATURE_LEVEL_EXT_APDU 0x00040000u

/* The longest command APDU: header, extended Lc (3), 65535 data bytes,
 * extended Le (up to 3). The card's receive area holds it whole. */
#define FK_CCID_APDU_MAX (4u + 3u + 65535u + 3u)
/* Response data the class takes from the card in one exchange (4096 data
 * bytes and SW1 SW2; the card delivers longer ones with 61xx). */
#define FK_CCID_RESP_MAX (4096u + 2u)
/* dwMaxCCIDMessageLength: a whole response message; longer command APDUs
 * come chained (wLevelParameter), shorter limits chain responses too. */
#define FK_CCID_MSG_MAX (FK_CCID_HDR_LEN + FK_CCID_RESP_MAX)
/* The least a short-APDU-capable reader may declare: header, 261 bytes. */
#define FK_CCID_MSG_MIN (FK_CCID_HDR_LEN + 261u)

/* The default USB identity of a CCID device (docs/usb.md, "Default VID/PID"):
 * pcscd (hotplug_libudev.c) and libccid (ccid_usb.c, OpenUSBByName) accept
 * only a VID/PID listed in a driver's Info.plist, so the default is the
 * SmartCard-HSM token libccid lists (Nitrokey HSM). The board record of the
 * rescue applet overrides it (fk_rescue_usb_override). */
#define FK_CCID_DEFAULT_VID 0x20A0u
#define FK_CCID_DEFAULT_PID 0x4230u

/* Time extensions are sent at most this often while a command runs. */
#define FK_CCID_TIME_EXT_MS 1000u

/* Endpoints within the class's range (first endpoint number n): bulk OUT
 * n, bulk IN n | 0x80, interrupt IN (n + 1) | 0x80. */
#define FK_CCID_N_ENDPOINTS 2u
#define FK_CCID_BULK_MPS 64u
#define FK_CCID_INT_MPS 8u
#define FK_CCID_INT_INTERVAL_MS 16u

/* Fixed T=1 parameters (GetParameters): Fi/Di, TCCKS (LRC, direct), guard
 * time, BWI/CWI, clock stop, IFSC, NAD. */
#define FK_CCID_T1_PARAMS_LEN 7u

typedef struct fk_ccid_config {
    /* Milliseconds clock for time extensions; NULL = fk_hal_millis. */
    uint64_t (*millis)(void);
    /* dwMaxCCIDMessageLength, FK_CCID_MSG_MIN..FK_CCID_MSG_MAX;
     * 0 = FK_CCID_MSG_MAX. Responses longer than this less the header go
     * out chained. */
    uint32_t max_message;
} fk_ccid_config_t;

/* The class's state. Read it only through the functions below; about
 * 4.5 KiB (the response buffer), keep it static. */
typedef struct fk_ccid {
    fk_card_t *card;
    fk_usbd_t *usbd;
    uint64_t (*millis)(void);
    uint32_t max_message;
    uint8_t itf, ep_out, ep_in, ep_int;

    bool configured;
    bool powered;    /* the slot's ICC is active (IccPowerOn done) */
    bool busy;       /* a card command runs (inside fk_card_transceive) */
    bool reset_seen; /* the bus was reset / deconfigured while busy */
    bool power_off_pending; /* power the card off once the command is over */

    /* Receiving: the message being read, header first. */
    uint8_t rx_pkt[FK_CCID_BULK_MPS];
    bool rx_armed;
    uint8_t rx_hdr[FK_CCID_HDR_LEN];
    size_t rx_hdr_len;
    uint32_t rx_len;  /* dwLength of the message being read */
    uint32_t rx_got;  /* abData bytes received */
    size_t rx_base;   /* XfrBlock: where its abData goes in apdu[] */
    bool rx_discard;  /* too long: read and drop it, then answer overrun */

    /* Command APDU, possibly assembled from chained XfrBlocks: received
     * straight into the card's receive area (fk_card_rx_area), so the
     * device holds one 64 KiB command buffer, the card's. */
    bool chaining;
    size_t apdu_len;
    uint8_t *apdu;
    size_t apdu_cap;

    /* Response APDU and where its delivery stands (chained responses). */
    size_t resp_len;
    size_t resp_off;
    bool resp_chaining;
    uint8_t resp[FK_CCID_RESP_MAX];

    /* Sending: one message (header + a slice of data) as a packet train. */
    uint8_t tx_hdr[FK_CCID_HDR_LEN];
    const uint8_t *tx_data;
    size_t tx_data_len;
    size_t tx_off;  /* bytes of header + data sent */
    bool tx_active; /* a message is being sent */
    bool tx_zlp;    /* the message filled its last packet: a ZLP follows */
    bool in_busy;   /* a packet is in flight on bulk IN */
    uint8_t tx_pkt[FK_CCID_BULK_MPS];

    /* Time extensions while busy. */
    uint8_t busy_seq;
    uint64_t last_time_ext;
    unsigned time_ext_sent;

    /* ABORT (class request, then bulk Abort). */
    bool abort_pending;
    uint8_t abort_seq;
    bool abort_busy; /* the command running was aborted */

    /* Slot-change notification on the interrupt endpoint. */
    bool notify_pending;
    bool int_busy;
    uint8_t int_buf[2];
} fk_ccid_t;

/* Make a CCID reader of `card` (the card object must outlive it). The class
 * becomes the card's keepalive (fk_card_set_keepalive). cfg may be NULL for
 * the defaults. FK_USBD_OK, or FK_USBD_EINVAL for a max_message outside
 * FK_CCID_MSG_MIN..FK_CCID_MSG_MAX. */
int fk_ccid_init(fk_ccid_t *ccid, fk_card_t *card, const fk_ccid_config_t *cfg);

/* The class driver (give it to fk_usbd_init with the fk_ccid_t as ctx). */
extern const fk_usbd_class_ops_t fk_ccid_class_ops;

/* {&fk_ccid_class_ops, ccid, NULL}: this reader as an entry of the class
 * list (set .name to give its interface a string). */
fk_usbd_class_t fk_ccid_class(fk_ccid_t *ccid);

/* Whether the reader has nothing under way: no card command running, no
 * response (or part of one) still to leave. The firmware waits for this
 * before a reboot the card asked for, so the command's answer arrives. */
bool fk_ccid_idle(const fk_ccid_t *ccid);

/* Time extensions sent so far (diagnostics and tests). */
unsigned fk_ccid_time_extensions(const fk_ccid_t *ccid);

#endif /* FUSEKEY_CCID_H */
