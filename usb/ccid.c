/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ccid.c - the CCID class over one card (ccid.h, docs/usb.md).
 *
 * A message's life:
 *
 *   bulk OUT packets --> header (10 bytes), then dwLength bytes of abData
 *        |               (XfrBlock data straight into the card's
 *        |               receive area, fk_card_rx_area, appended
 *        |               when it continues a chain; other messages keep
 *        |               their first bytes in rx_small[])
 *        v  message complete (or the host's transfer ended short)
 *   process: check type, slot, state; run the card for an XfrBlock
 *        |               (busy: time extensions from the keepalive)
 *        v
 *   bulk IN packet train: header + data in 64-byte packets, a ZLP when the
 *        |               message fills its last packet
 *        v  train done
 *   wipe the buffers, re-arm bulk OUT for the next message
 *
 * The bulk OUT endpoint is armed only while the class can take a message:
 * not while a card command runs nor while a response is being sent, so
 * the host is simply NAKed (CCID allows one command at a time).
 *
 * IMPLEMENTATION NOTE: the keepalive runs inside fk_card_transceive(), so
 * everything the nested fk_usbd_service() may call here (IN completions,
 * the ABORT request, deconfigured/configured, halt) must leave apdu[] and
 * resp[] alone while `busy` is set; their effects are applied when the
 * card returns.
 */
#include "ccid.h"

#include <string.h>

#include "hal.h"
#include "util.h"

#define SLOT 0u
#define OFF_TYPE 0u
#define OFF_LEN 1u
#define OFF_SLOT 5u
#define OFF_SEQ 6u
#define OFF_P1 7u
#define OFF_P2 8u
#define OFF_P3 9u

#define POWER_SELECT_MAX 3u /* 0 automatic, 1 5 V, 2 3 V, 3 1.8 V */
#define PROTOCOL_T0 0u
#define PROTOCOL_T1 1u
#define CLOCK_RUNNING 0u
#define NOTIFY_ICC_PRESENT_CHANGED 0x03u
#define TIME_EXT_BWT_FACTOR 1u

/* T=1 parameters of the answer-to-reset: Fi/Di 0x18, LRC and direct
 * convention, guard time 0, BWI 4 / CWI 5, no clock stop, IFSC 254, NAD 0. */
static const uint8_t k_t1_params[FK_CCID_T1_PARAMS_LEN] = {0x18, 0x10, 0x00, 0x45,
                                                           0x00, 0xFE, 0x00};

static uint64_t now_ms(const fk_ccid_t *c) { return c->millis ? c->millis() : fk_hal_millis(); }

static uint8_t icc_status(const fk_ccid_t *c)
{
    return c->powered ? FK_CCID_ICC_ACTIVE : FK_CCID_ICC_INACTIVE;
}

/* ---- Sending -------------------------------------------------------------- */

static void arm_out(fk_ccid_t *c);

static void tx_done(fk_ccid_t *c)
{
    c->tx_active = false;
    if (!c->resp_chaining && c->resp_len > 0) {
        fk_wipe(c->resp, c->resp_len);
        c->resp_len = 0;
        c->resp_off = 0;
    }
    arm_out(c);
}

/* Send the next packet of the message under way, if the endpoint is free. */
static void tx_kick(fk_ccid_t *c)
{
    if (!c->tx_active || c->in_busy || !c->configured) return;
    const size_t total = FK_CCID_HDR_LEN + c->tx_data_len;
    if (c->tx_off == total && !c->tx_zlp) {
        tx_done(c);
        return;
    }
    size_t n = 0;
    while (n < FK_CCID_BULK_MPS && c->tx_off + n < total) {
        const size_t at = c->tx_off + n;
        c->tx_pkt[n++] = at < FK_CCID_HDR_LEN ? c->tx_hdr[at] : c->tx_data[at - FK_CCID_HDR_LEN];
    }
    if (n == 0) c->tx_zlp = false; /* this is the closing zero-length packet */
    if (fk_usbd_ep_xfer(c->usbd, c->ep_in, c->tx_pkt, (uint16_t)n) != FK_DCD_OK) {
        /* Stalled by the host or deconfigured: the message is lost to it. */
        c->tx_zlp = false;
        c->tx_off = total;
        tx_done(c);
        return;
    }
    c->in_busy = true;
    c->tx_off += n;
    if (c->tx_off == total && n == FK_CCID_BULK_MPS) c->tx_zlp = true;
    fk_wipe(c->tx_pkt, n);
}

/* Start a response message: header fields, then len bytes of data (which
 * must stay valid until the train is done). */
static void send(fk_ccid_t *c, uint8_t type, const uint8_t *hdr_in, uint8_t b7, uint8_t b8,
                 uint8_t b9, const uint8_t *data, size_t len)
{
    FK_ASSERT(!c->tx_active);
    uint8_t *h = c->tx_hdr;
    h[OFF_TYPE] = type;
    fk_put_le32(h + OFF_LEN, (uint32_t)len);
    h[OFF_SLOT] = hdr_in[OFF_SLOT];
    h[OFF_SEQ] = hdr_in[OFF_SEQ];
    h[OFF_P1] = b7;
    h[OFF_P2] = b8;
    h[OFF_P3] = b9;
    c->tx_data = data;
    c->tx_data_len = len;
    c->tx_off = 0;
    c->tx_zlp = false;
    c->tx_active = true;
    tx_kick(c);
}

/* A failure answered with the response type of the command. */
static void send_error(fk_ccid_t *c, const uint8_t *hdr, uint8_t status, uint8_t error)
{
    uint8_t type;
    uint8_t b9 = 0;
    switch (hdr[OFF_TYPE]) {
    case FK_CCID_PC_ICC_POWER_ON:
    case FK_CCID_PC_XFR_BLOCK:
    case FK_CCID_PC_SECURE: type = FK_CCID_RDR_DATA_BLOCK; break;
    case FK_CCID_PC_GET_PARAMETERS:
    case FK_CCID_PC_RESET_PARAMETERS:
    case FK_CCID_PC_SET_PARAMETERS:
        type = FK_CCID_RDR_PARAMETERS;
        b9 = PROTOCOL_T1;
        break;
    case FK_CCID_PC_ESCAPE: type = FK_CCID_RDR_ESCAPE; break;
    case FK_CCID_PC_SET_RATE_CLOCK: type = FK_CCID_RDR_RATE_CLOCK; break;
    default:
        type = FK_CCID_RDR_SLOT_STATUS;
        b9 = CLOCK_RUNNING;
        break;
    }
    send(c, type, hdr, (uint8_t)(FK_CCID_CMD_FAILED | status), error, b9, NULL, 0);
}

static void send_slot_status(fk_ccid_t *c, const uint8_t *hdr)
{
    send(c, FK_CCID_RDR_SLOT_STATUS, hdr, icc_status(c), 0, CLOCK_RUNNING, NULL, 0);
}

/* Send the next part of the response in resp[] (first part: resp_off 0). */
static void send_response_part(fk_ccid_t *c, const uint8_t *hdr)
{
    const size_t chunk = c->max_message - FK_CCID_HDR_LEN;
    const size_t left = c->resp_len - c->resp_off;
    const size_t n = FK_MIN(left, chunk);
    const bool first = c->resp_off == 0, last = n == left;
    const uint8_t chain = first ? (last ? FK_CCID_CHAIN_NONE : FK_CCID_CHAIN_BEGIN)
                                : (last ? FK_CCID_CHAIN_END : FK_CCID_CHAIN_MORE);
    const uint8_t *data = c->resp + c->resp_off;
    c->resp_off += n;
    c->resp_chaining = !last;
    send(c, FK_CCID_RDR_DATA_BLOCK, hdr, FK_CCID_ICC_ACTIVE, 0, chain, data, n);
}

static void notify_kick(fk_ccid_t *c)
{
    if (!c->configured || !c->notify_pending || c->int_busy) return;
    c->int_buf[0] = FK_CCID_RDR_NOTIFY_SLOT_CHANGE;
    c->int_buf[1] = NOTIFY_ICC_PRESENT_CHANGED;
    if (fk_usbd_ep_xfer(c->usbd, c->ep_int, c->int_buf, sizeof c->int_buf) == FK_DCD_OK) {
        c->int_busy = true;
        c->notify_pending = false;
    }
}

/* ---- Receiving ------------------------------------------------------------ */

static void rx_reset(fk_ccid_t *c)
{
    c->rx_hdr_len = 0;
    c->rx_len = 0;
    c->rx_got = 0;
    c->rx_base = 0;
    c->rx_discard = false;
}

static void arm_out(fk_ccid_t *c)
{
    if (!c->configured || c->rx_armed || c->busy || c->tx_active) return;
    if (fk_usbd_ep_xfer(c->usbd, c->ep_out, c->rx_pkt, FK_CCID_BULK_MPS) == FK_DCD_OK)
        c->rx_armed = true;
}

/* Forget a command chain (abort, power off, an out-of-order message). */
static void chain_drop(fk_ccid_t *c)
{
    if (c->apdu != NULL) fk_wipe(c->apdu, c->apdu_len);
    c->apdu_len = 0;
    c->chaining = false;
}

static void resp_drop(fk_ccid_t *c)
{
    if (c->tx_active) return; /* being sent: tx_done wipes it */
    fk_wipe(c->resp, c->resp_len);
    c->resp_len = 0;
    c->resp_off = 0;
    c->resp_chaining = false;
}

/* Whether an XfrBlock with this wLevelParameter continues the chain. */
static bool continues_chain(const fk_ccid_t *c, const uint8_t *hdr)
{
    const uint16_t level = fk_le16(hdr + OFF_P2);
    return c->chaining && (level == FK_CCID_CHAIN_END || level == FK_CCID_CHAIN_MORE);
}

/* The header is complete: decide where the abData goes. */
static void rx_header_done(fk_ccid_t *c)
{
    const uint8_t *h = c->rx_hdr;
    c->rx_len = fk_le32(h + OFF_LEN);
    c->rx_got = 0;
    c->rx_discard = false;
    c->rx_base = 0;
    if (h[OFF_TYPE] != FK_CCID_PC_XFR_BLOCK) return; /* no other command's data is used */
    c->rx_base = continues_chain(c, h) ? c->apdu_len : 0;
    if (c->rx_base == 0) {
        if (c->apdu_len > 0) chain_drop(c);
        /* A new APDU: received where the card wants its next command. */
        c->apdu = fk_card_rx_area(c->card, &c->apdu_cap);
    }
    if (c->rx_len > FK_MIN(c->apdu_cap, (size_t)FK_CCID_APDU_MAX) - c->rx_base)
        c->rx_discard = true;
}

static void rx_data(fk_ccid_t *c, const uint8_t *p, size_t n)
{
    if (c->rx_hdr[OFF_TYPE] == FK_CCID_PC_XFR_BLOCK && !c->rx_discard)
        memcpy(c->apdu + c->rx_base + c->rx_got, p, n);
    c->rx_got += (uint32_t)n;
}

static void process(fk_ccid_t *c);
static void process_truncated(fk_ccid_t *c);

static void on_out(fk_ccid_t *c, uint16_t len)
{
    c->rx_armed = false;
    const uint8_t *p = c->rx_pkt;
    size_t left = FK_MIN((size_t)len, sizeof c->rx_pkt);
    const bool short_packet = len < FK_CCID_BULK_MPS;
    bool complete = false;

    if (c->rx_hdr_len == 0 && left == 0) { /* a ZLP between messages */
        arm_out(c);
        return;
    }
    if (c->rx_hdr_len < FK_CCID_HDR_LEN) {
        const size_t k = FK_MIN(left, FK_CCID_HDR_LEN - c->rx_hdr_len);
        memcpy(c->rx_hdr + c->rx_hdr_len, p, k);
        c->rx_hdr_len += k;
        p += k;
        left -= k;
        if (c->rx_hdr_len == FK_CCID_HDR_LEN) rx_header_done(c);
    }
    if (c->rx_hdr_len == FK_CCID_HDR_LEN) {
        const size_t k = FK_MIN(left, (size_t)(c->rx_len - c->rx_got));
        rx_data(c, p, k);
        /* Bytes past dwLength in the same transfer are not part of any
         * message: they are dropped. */
        complete = c->rx_got == c->rx_len;
    }
    fk_wipe(c->rx_pkt, sizeof c->rx_pkt);

    if (complete) {
        process(c);
    } else if (short_packet) {
        process_truncated(c); /* the host's transfer ended inside the message */
    } else {
        arm_out(c);
    }
}

/* ---- Commands ------------------------------------------------------------- */

/* Run the assembled APDU through the card and answer with its response. */
static void xfr_execute(fk_ccid_t *c, const uint8_t *hdr)
{
    c->busy = true;
    c->busy_seq = hdr[OFF_SEQ];
    c->abort_busy = false;
    c->reset_seen = false;
    c->last_time_ext = now_ms(c);
    const size_t n = fk_card_transceive(c->card, c->apdu, c->apdu_len, c->resp, sizeof c->resp);
    c->busy = false;
    FK_ASSERT(n >= 2 && n <= sizeof c->resp);
    /* The card wiped what it received in its area (and keeps the data of an
     * ISO chain there, which must not be touched). */
    c->apdu_len = 0;
    c->resp_len = n;
    c->resp_off = 0;

    if (c->reset_seen) { /* the host reset or reconfigured the device meanwhile */
        c->reset_seen = false;
        resp_drop(c);
        if (c->power_off_pending) {
            c->power_off_pending = false;
            fk_card_power_off(c->card);
            c->powered = false;
        }
        return;
    }
    if (c->abort_busy) {
        c->abort_busy = false;
        resp_drop(c);
        send_error(c, hdr, icc_status(c), FK_CCID_ERR_CMD_ABORTED);
        return;
    }
    send_response_part(c, hdr);
}

static void cmd_xfr_block(fk_ccid_t *c, const uint8_t *hdr)
{
    const uint16_t level = fk_le16(hdr + OFF_P2);
    if (!c->powered) {
        chain_drop(c);
        send_error(c, hdr, FK_CCID_ICC_INACTIVE, FK_CCID_ERR_ICC_MUTE);
        return;
    }
    if (level == FK_CCID_CHAIN_NEXT) {
        if (c->rx_len != 0 || !c->resp_chaining) {
            send_error(c, hdr, icc_status(c), FK_CCID_ERR_OFFSET_LEVEL);
            return;
        }
        send_response_part(c, hdr);
        return;
    }
    /* A new command ends whatever response was still being fetched. */
    resp_drop(c);
    switch (level) {
    case FK_CCID_CHAIN_NONE:
    case FK_CCID_CHAIN_BEGIN:
        /* (An unfinished chain was dropped when this header arrived.) */
        c->apdu_len = c->rx_len;
        if (level == FK_CCID_CHAIN_BEGIN) {
            c->chaining = true;
            send(c, FK_CCID_RDR_DATA_BLOCK, hdr, icc_status(c), 0, FK_CCID_CHAIN_NEXT, NULL, 0);
            return;
        }
        break;
    case FK_CCID_CHAIN_MORE:
    case FK_CCID_CHAIN_END:
        if (!c->chaining) {
            send_error(c, hdr, icc_status(c), FK_CCID_ERR_OFFSET_LEVEL);
            return;
        }
        c->apdu_len += c->rx_len;
        if (level == FK_CCID_CHAIN_MORE) {
            send(c, FK_CCID_RDR_DATA_BLOCK, hdr, icc_status(c), 0, FK_CCID_CHAIN_NEXT, NULL, 0);
            return;
        }
        c->chaining = false;
        break;
    default:
        chain_drop(c);
        send_error(c, hdr, icc_status(c), FK_CCID_ERR_OFFSET_LEVEL);
        return;
    }
    xfr_execute(c, hdr);
}

static void cmd_power_on(fk_ccid_t *c, const uint8_t *hdr)
{
    if (hdr[OFF_P1] > POWER_SELECT_MAX) {
        send_error(c, hdr, icc_status(c), FK_CCID_ERR_OFFSET_PARAM1);
        return;
    }
    chain_drop(c);
    resp_drop(c);
    fk_card_power_on(c->card);
    c->powered = true;
    const uint8_t *atr;
    const size_t n = fk_card_atr(c->card, &atr);
    send(c, FK_CCID_RDR_DATA_BLOCK, hdr, FK_CCID_ICC_ACTIVE, 0, FK_CCID_CHAIN_NONE, atr, n);
}

static void cmd_power_off(fk_ccid_t *c, const uint8_t *hdr)
{
    chain_drop(c);
    resp_drop(c);
    if (c->powered) fk_card_power_off(c->card);
    c->powered = false;
    send_slot_status(c, hdr);
}

static void send_parameters(fk_ccid_t *c, const uint8_t *hdr)
{
    send(c, FK_CCID_RDR_PARAMETERS, hdr, icc_status(c), 0, PROTOCOL_T1, k_t1_params,
         sizeof k_t1_params);
}

static void cmd_set_parameters(fk_ccid_t *c, const uint8_t *hdr)
{
    /* The reader configures itself from the ATR (dwFeatures): T=1 is the
     * only protocol; its parameters are fixed and echoed back. */
    if (hdr[OFF_P1] != PROTOCOL_T1) {
        send(c, FK_CCID_RDR_PARAMETERS, hdr, (uint8_t)(FK_CCID_CMD_FAILED | icc_status(c)),
             FK_CCID_ERR_OFFSET_PARAM1, PROTOCOL_T1, k_t1_params, sizeof k_t1_params);
        return;
    }
    if (c->rx_len != FK_CCID_T1_PARAMS_LEN) {
        send_error(c, hdr, icc_status(c), FK_CCID_ERR_OFFSET_LENGTH);
        return;
    }
    send_parameters(c, hdr);
}

static void cmd_abort(fk_ccid_t *c, const uint8_t *hdr)
{
    /* The second half of an abort (the first is the class request): the
     * command it named is already answered or dropped. */
    c->abort_pending = false;
    chain_drop(c);
    resp_drop(c);
    send_slot_status(c, hdr);
}

static bool known_type(uint8_t t)
{
    switch (t) {
    case FK_CCID_PC_ICC_POWER_ON:
    case FK_CCID_PC_ICC_POWER_OFF:
    case FK_CCID_PC_GET_SLOT_STATUS:
    case FK_CCID_PC_XFR_BLOCK:
    case FK_CCID_PC_GET_PARAMETERS:
    case FK_CCID_PC_RESET_PARAMETERS:
    case FK_CCID_PC_SET_PARAMETERS:
    case FK_CCID_PC_ESCAPE:
    case FK_CCID_PC_ICC_CLOCK:
    case FK_CCID_PC_T0_APDU:
    case FK_CCID_PC_SECURE:
    case FK_CCID_PC_MECHANICAL:
    case FK_CCID_PC_ABORT:
    case FK_CCID_PC_SET_RATE_CLOCK: return true;
    default: return false;
    }
}

/* A whole message is in: answer it. */
static void process(fk_ccid_t *c)
{
    uint8_t hdr[FK_CCID_HDR_LEN];
    memcpy(hdr, c->rx_hdr, sizeof hdr);
    const bool discard = c->rx_discard;
    const uint8_t type = hdr[OFF_TYPE];
    /* XfrBlock data of this message that must go if it is refused. */
    const size_t base = c->rx_base, got = type == FK_CCID_PC_XFR_BLOCK && !discard ? c->rx_got : 0;
    rx_reset(c);

    uint8_t status = 0, error = 0;
    bool refuse = true;
    if (!known_type(type)) {
        status = icc_status(c);
        error = FK_CCID_ERR_CMD_NOT_SUPPORTED; /* also the offset of bMessageType */
    } else if (hdr[OFF_SLOT] != SLOT) {
        status = FK_CCID_ICC_ABSENT;
        error = FK_CCID_ERR_OFFSET_SLOT;
    } else if (discard) { /* longer than the command buffer: nothing was kept */
        status = icc_status(c);
        error = FK_CCID_ERR_XFR_OVERRUN;
    } else if (c->abort_pending && type != FK_CCID_PC_ABORT) {
        status = icc_status(c);
        error = FK_CCID_ERR_CMD_ABORTED;
    } else {
        refuse = false;
    }
    if (refuse) {
        if (type == FK_CCID_PC_XFR_BLOCK) {
            fk_wipe(c->apdu + base, got);
            chain_drop(c);
        }
        send_error(c, hdr, status, error);
        return;
    }
    c->rx_len = fk_le32(hdr + OFF_LEN); /* the data length, for the commands */
    switch (type) {
    case FK_CCID_PC_ICC_POWER_ON: cmd_power_on(c, hdr); break;
    case FK_CCID_PC_ICC_POWER_OFF: cmd_power_off(c, hdr); break;
    case FK_CCID_PC_GET_SLOT_STATUS: send_slot_status(c, hdr); break;
    case FK_CCID_PC_XFR_BLOCK: cmd_xfr_block(c, hdr); break;
    case FK_CCID_PC_GET_PARAMETERS: send_parameters(c, hdr); break;
    case FK_CCID_PC_RESET_PARAMETERS: send_parameters(c, hdr); break;
    case FK_CCID_PC_SET_PARAMETERS: cmd_set_parameters(c, hdr); break;
    case FK_CCID_PC_ABORT: cmd_abort(c, hdr); break;
    default:
        /* Escape, IccClock, T0APDU, Secure, Mechanical, SetDataRateAndClock:
         * a reader function this one does not have. */
        send_error(c, hdr, icc_status(c), FK_CCID_ERR_CMD_NOT_SUPPORTED);
        break;
    }
    c->rx_len = 0;
}

/* The host's transfer ended before dwLength bytes: answer a message whose
 * header arrived with a dwLength error; forget a header cut short. */
static void process_truncated(fk_ccid_t *c)
{
    if (c->rx_hdr_len < FK_CCID_HDR_LEN) {
        rx_reset(c);
        arm_out(c);
        return;
    }
    uint8_t hdr[FK_CCID_HDR_LEN];
    memcpy(hdr, c->rx_hdr, sizeof hdr);
    const uint8_t error = c->rx_discard ? FK_CCID_ERR_XFR_OVERRUN : FK_CCID_ERR_OFFSET_LENGTH;
    if (hdr[OFF_TYPE] == FK_CCID_PC_XFR_BLOCK) {
        if (!c->rx_discard) fk_wipe(c->apdu + c->rx_base, c->rx_got);
        chain_drop(c);
    }
    rx_reset(c);
    send_error(c, hdr, icc_status(c), error);
}

/* ---- Keepalive: time extensions ------------------------------------------ */

static void keepalive(void *arg)
{
    fk_ccid_t *c = arg;
    if (!c->busy || c->usbd == NULL) return;
    fk_usbd_service(c->usbd);
    if (!c->configured || c->reset_seen || c->abort_busy || c->in_busy) return;
    const uint64_t now = now_ms(c);
    if (now - c->last_time_ext < FK_CCID_TIME_EXT_MS) return;
    uint8_t h[FK_CCID_HDR_LEN] = {FK_CCID_RDR_DATA_BLOCK, 0, 0, 0, 0, SLOT, c->busy_seq,
                                  FK_CCID_CMD_TIME_EXT | FK_CCID_ICC_ACTIVE, TIME_EXT_BWT_FACTOR,
                                  0};
    if (fk_usbd_ep_xfer(c->usbd, c->ep_in, h, sizeof h) == FK_DCD_OK) {
        c->in_busy = true;
        c->last_time_ext = now;
        c->time_ext_sent++;
    }
}

/* ---- Class driver ---------------------------------------------------------- */

static void ccid_attach(void *ctx, fk_usbd_t *usbd, uint8_t first_itf, uint8_t first_ep)
{
    fk_ccid_t *c = ctx;
    c->usbd = usbd;
    c->itf = first_itf;
    c->ep_out = first_ep;
    c->ep_in = (uint8_t)(first_ep | FK_USB_EP_DIR_IN);
    c->ep_int = (uint8_t)((first_ep + 1u) | FK_USB_EP_DIR_IN);
}

static size_t ccid_describe(void *ctx, uint8_t *buf, size_t cap)
{
    const fk_ccid_t *c = ctx;
    const size_t len = FK_USB_INTERFACE_DESC_LEN + FK_CCID_CLASS_DESC_LEN + 3u * FK_USB_ENDPOINT_DESC_LEN;
    if (cap < len) return 0;
    uint8_t *p = buf;
    /* Interface: smart card class, subclass 0, protocol 0 (bulk CCID). */
    const uint8_t itf[FK_USB_INTERFACE_DESC_LEN] = {
        FK_USB_INTERFACE_DESC_LEN, FK_USB_DESC_INTERFACE, c->itf, 0, 3, FK_USB_CLASS_SMART_CARD,
        0, 0, 0};
    memcpy(p, itf, sizeof itf);
    p += sizeof itf;

    /* CCID functional descriptor (CCID 1.1 §5.1). */
    memset(p, 0, FK_CCID_CLASS_DESC_LEN);
    p[0] = FK_CCID_CLASS_DESC_LEN;
    p[1] = FK_USB_DESC_CS_FUNCTIONAL;
    fk_put_le16(p + 2, 0x0110);      /* bcdCCID 1.10 */
    p[4] = 0;                            /* bMaxSlotIndex: one slot */
    p[5] = 0x07;                         /* bVoltageSupport: 5 V, 3 V, 1.8 V */
    fk_put_le32(p + 6, 0x00000002);  /* dwProtocols: T=1 */
    fk_put_le32(p + 10, 4000);       /* dwDefaultClock, kHz */
    fk_put_le32(p + 14, 4000);       /* dwMaximumClock */
    p[18] = 0;                           /* bNumClockSupported */
    fk_put_le32(p + 19, 10752);      /* dwDataRate: 4 MHz / 372 */
    fk_put_le32(p + 23, 10752);      /* dwMaxDataRate */
    p[27] = 0;                           /* bNumDataRatesSupported */
    fk_put_le32(p + 28, 254);        /* dwMaxIFSD */
    fk_put_le32(p + 32, 0);          /* dwSynchProtocols */
    fk_put_le32(p + 36, 0);          /* dwMechanical */
    fk_put_le32(p + 40, FK_CCID_FEATURES);
    fk_put_le32(p + 44, c->max_message);
    p[48] = 0xFF;                        /* bClassGetResponse: echo the CLA */
    p[49] = 0xFF;                        /* bClassEnvelope */
    fk_put_le16(p + 50, 0);          /* wLcdLayout: none */
    p[52] = 0;                           /* bPINSupport: none */
    p[53] = 1;                           /* bMaxCCIDBusySlots */
    p += FK_CCID_CLASS_DESC_LEN;

    const uint8_t eps[3][FK_USB_ENDPOINT_DESC_LEN] = {
        {FK_USB_ENDPOINT_DESC_LEN, FK_USB_DESC_ENDPOINT, c->ep_out, FK_USB_EP_ATTR_BULK,
         FK_CCID_BULK_MPS, 0, 0},
        {FK_USB_ENDPOINT_DESC_LEN, FK_USB_DESC_ENDPOINT, c->ep_in, FK_USB_EP_ATTR_BULK,
         FK_CCID_BULK_MPS, 0, 0},
        {FK_USB_ENDPOINT_DESC_LEN, FK_USB_DESC_ENDPOINT, c->ep_int, FK_USB_EP_ATTR_INTERRUPT,
         FK_CCID_INT_MPS, 0, FK_CCID_INT_INTERVAL_MS},
    };
    memcpy(p, eps, sizeof eps);
    return len;
}

static void ccid_configured(void *ctx)
{
    fk_ccid_t *c = ctx;
    c->configured = true;
    c->rx_armed = false;
    c->in_busy = false;
    c->int_busy = false;
    c->tx_active = false;
    c->notify_pending = true;
    notify_kick(c);
    arm_out(c); /* not while a command runs: then after it */
}

static void ccid_deconfigured(void *ctx)
{
    fk_ccid_t *c = ctx;
    c->configured = false;
    c->rx_armed = false;
    c->in_busy = false;
    c->int_busy = false;
    c->notify_pending = false;
    c->abort_pending = false;
    c->tx_active = false;
    c->tx_zlp = false;
    /* A partial message and a pending chain die with the configuration;
     * the host starts over with IccPowerOn. */
    if (c->busy) {
        c->reset_seen = true;
        c->power_off_pending = c->powered;
        return;
    }
    if (c->rx_hdr_len == FK_CCID_HDR_LEN && c->rx_hdr[OFF_TYPE] == FK_CCID_PC_XFR_BLOCK &&
        !c->rx_discard)
        fk_wipe(c->apdu + c->rx_base, c->rx_got);
    rx_reset(c);
    chain_drop(c);
    resp_drop(c);
    if (c->powered) fk_card_power_off(c->card);
    c->powered = false;
}

static bool ccid_control(void *ctx, const fk_usb_setup_t *req, fk_usbd_stage_t stage)
{
    fk_ccid_t *c = ctx;
    if ((req->bmRequestType & FK_USB_REQ_TYPE_MASK) != FK_USB_REQ_TYPE_CLASS ||
        (req->bmRequestType & FK_USB_REQ_RCPT_MASK) != FK_USB_REQ_RCPT_INTERFACE ||
        (req->wIndex & 0xFFu) != c->itf)
        return false;
    if (req->bRequest != FK_CCID_REQ_ABORT || (req->bmRequestType & FK_USB_REQ_DIR_IN) ||
        req->wLength != 0 || (req->wValue & 0xFFu) != SLOT)
        return false; /* GET_CLOCK_FREQUENCIES / GET_DATA_RATES: the counts are 0 */
    if (stage != FK_USBD_STAGE_SETUP) return true;
    const uint8_t seq = (uint8_t)(req->wValue >> 8);
    c->abort_pending = true;
    c->abort_seq = seq;
    if (c->busy && c->busy_seq == seq) c->abort_busy = true;
    if (!c->busy) {
        /* A chain under way is dropped; a response being fetched too. */
        chain_drop(c);
        resp_drop(c);
    }
    return true;
}

static void ccid_xfer(void *ctx, uint8_t ep, uint16_t len)
{
    fk_ccid_t *c = ctx;
    if (ep == c->ep_out) {
        on_out(c, len);
    } else if (ep == c->ep_in) {
        c->in_busy = false;
        tx_kick(c);
    } else if (ep == c->ep_int) {
        c->int_busy = false;
        notify_kick(c);
    }
}

static void ccid_halt(void *ctx, uint8_t ep, bool halted)
{
    fk_ccid_t *c = ctx;
    if (ep == c->ep_out) {
        c->rx_armed = false;
        if (!halted && !c->busy) arm_out(c);
    } else if (ep == c->ep_in) {
        c->in_busy = false;
        if (halted && c->tx_active) {
            /* The response is lost to the host; so is the rest of a chain. */
            c->tx_active = false;
            c->tx_zlp = false;
            c->resp_chaining = false;
            if (!c->busy) {
                resp_drop(c);
                arm_out(c);
            }
        }
    } else if (ep == c->ep_int) {
        c->int_busy = false;
    }
}

static void ccid_idle(void *ctx)
{
    fk_ccid_t *c = ctx;
    notify_kick(c);
    arm_out(c);
}

const fk_usbd_class_ops_t fk_ccid_class_ops = {
    .n_interfaces = 1,
    .n_endpoints = FK_CCID_N_ENDPOINTS,
    .attach = ccid_attach,
    .describe = ccid_describe,
    .configured = ccid_configured,
    .deconfigured = ccid_deconfigured,
    .control = ccid_control,
    .xfer = ccid_xfer,
    .halt = ccid_halt,
    .idle = ccid_idle,
};

int fk_ccid_init(fk_ccid_t *ccid, fk_card_t *card, const fk_ccid_config_t *cfg)
{
    const uint32_t max = cfg != NULL && cfg->max_message != 0 ? cfg->max_message : FK_CCID_MSG_MAX;
    if (max < FK_CCID_MSG_MIN || max > FK_CCID_MSG_MAX) return FK_USBD_EINVAL;
    memset(ccid, 0, sizeof *ccid);
    ccid->card = card;
    ccid->millis = cfg != NULL ? cfg->millis : NULL;
    ccid->max_message = max;
    fk_card_set_keepalive(card, keepalive, ccid);
    return FK_USBD_OK;
}

fk_usbd_class_t fk_ccid_class(fk_ccid_t *ccid)
{
    fk_usbd_class_t cl = {&fk_ccid_class_ops, ccid, NULL};
    return cl;
}

unsigned fk_ccid_time_extensions(const fk_ccid_t *ccid) { return ccid->time_ext_sent; }

bool fk_ccid_idle(const fk_ccid_t *ccid)
{
    return !ccid->busy && !ccid->tx_active && !ccid->in_busy;
}
