/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctaphid.c - CTAPHID framing: channels, reassembly, arbitration, the
 * commands the layer answers itself, keepalive and cancel (docs/ctaphid.md).
 *
 * Input is hostile: every field of every report is checked and a bad packet
 * ends in a precise ERROR reply or is ignored, never in a read or write
 * outside the buffers. The message and response buffers may carry PINs:
 * both are wiped after every transaction, on abort and on timeout.
 */
#include "ctaphid.h"

#include <string.h>

#include "util.h"

static uint32_t now(const fk_ctaphid_t *hid)
{
    return hid->cfg.clock(hid->cfg.user);
}

/* Sends a message as an init packet and continuations, zero padded. */
static void emit(fk_ctaphid_t *hid, uint32_t cid, uint8_t cmd, const uint8_t *data, size_t len)
{
    uint8_t r[FK_CTAPHID_REPORT];
    if (len > FK_CTAPHID_MAX_MSG) return; /* callers never do this */
    memset(r, 0, sizeof r);
    fk_put_be32(r, cid);
    r[4] = cmd;
    r[5] = (uint8_t)(len >> 8);
    r[6] = (uint8_t)len;
    size_t n = len < FK_CTAPHID_INIT_DATA ? len : FK_CTAPHID_INIT_DATA;
    if (n) memcpy(r + 7, data, n);
    hid->cfg.send(hid->cfg.user, r);
    size_t off = n;
    for (uint8_t seq = 0; off < len; seq++) {
        memset(r, 0, sizeof r);
        fk_put_be32(r, cid);
        r[4] = seq;
        n = len - off < FK_CTAPHID_CONT_DATA ? len - off : FK_CTAPHID_CONT_DATA;
        memcpy(r + 5, data + off, n);
        hid->cfg.send(hid->cfg.user, r);
        off += n;
    }
    fk_wipe(r, sizeof r);
}

static void emit_error(fk_ctaphid_t *hid, uint32_t cid, uint8_t code)
{
    emit(hid, cid, FK_CTAPHID_ERROR, &code, 1);
}

/* Ends the transaction and wipes the message. */
static void end_transaction(fk_ctaphid_t *hid)
{
    fk_wipe(hid->msg, sizeof hid->msg);
    hid->state = FK_CTAPHID_IDLE;
    hid->cid = 0;
    hid->cmd = 0;
    hid->bcnt = hid->got = 0;
    hid->seq = 0;
}

/* True when cid was handed out by INIT. */
static bool allocated(const fk_ctaphid_t *hid, uint32_t cid)
{
    /* CIDs are handed out in the ring 1..FFFFFFFE (0 and FFFFFFFF skipped). */
    const uint32_t ring = 0xFFFFFFFEu;
    if (cid == 0 || cid == FK_CTAPHID_CID_BROADCAST) return false;
    uint32_t i = cid - 1, f = hid->cfg.first_cid - 1;
    uint32_t d = i >= f ? i - f : i + (ring - f);
    return d < hid->issued;
}

static bool locked_by_other(fk_ctaphid_t *hid, uint32_t cid)
{
    if (hid->lock_cid == 0) return false;
    if (now(hid) - hid->lock_start_ms >= hid->lock_ms) {
        hid->lock_cid = 0;
        return false;
    }
    return hid->lock_cid != cid;
}

static void check_timeout(fk_ctaphid_t *hid)
{
    if (hid->state != FK_CTAPHID_RECV) return;
    if (now(hid) - hid->last_ms <= FK_CTAPHID_MSG_TIMEOUT_MS) return;
    uint32_t cid = hid->cid;
    end_transaction(hid);
    emit_error(hid, cid, FK_CTAPHID_ERR_MSG_TIMEOUT);
}

static uint32_t allocate_cid(fk_ctaphid_t *hid)
{
    uint32_t cid = hid->next_cid;
    hid->next_cid++;
    if (hid->next_cid == FK_CTAPHID_CID_BROADCAST) hid->next_cid = 1;
    if (hid->next_cid == 0) hid->next_cid = 1;
    if (hid->issued < 0xFFFFFFFEu) hid->issued++; /* saturates: every CID issued */
    return cid;
}

/* INIT: an 8-byte nonce; a new channel on the broadcast CID, a
 * resynchronisation on an allocated one. */
static void do_init(fk_ctaphid_t *hid, uint32_t cid, const uint8_t *nonce)
{
    uint8_t r[17];
    uint32_t ncid = cid;
    if (cid == FK_CTAPHID_CID_BROADCAST) {
        ncid = allocate_cid(hid);
    } else if (hid->state == FK_CTAPHID_RECV && hid->cid == cid) {
        end_transaction(hid);
    } else if (hid->state == FK_CTAPHID_BUSY && hid->cid == cid) {
        hid->cancelled = true;
        hid->aborted = true;
    }
    memcpy(r, nonce, 8);
    fk_put_be32(r + 8, ncid);
    r[12] = FK_CTAPHID_PROTOCOL_VERSION;
    r[13] = hid->cfg.version_major;
    r[14] = hid->cfg.version_minor;
    r[15] = hid->cfg.version_build;
    r[16] = FK_CTAPHID_CAP_WINK | FK_CTAPHID_CAP_LOCK | FK_CTAPHID_CAP_CBOR;
    emit(hid, cid, FK_CTAPHID_INIT, r, sizeof r);
}

/* Runs a complete message of hid->cid (state RECV, got == bcnt). */
static void dispatch(fk_ctaphid_t *hid)
{
    uint32_t cid = hid->cid;
    size_t len = hid->bcnt;
    switch (hid->cmd) {
    case FK_CTAPHID_PING:
        emit(hid, cid, FK_CTAPHID_PING, hid->msg, len);
        end_transaction(hid);
        return;
    case FK_CTAPHID_CBOR:
    case FK_CTAPHID_MSG: {
        hid->state = FK_CTAPHID_BUSY;
        hid->cancelled = false;
        hid->aborted = false;
        hid->ka_sent = false;
        hid->ka_status = 0;
        hid->ka_ms = now(hid);
        int n = hid->cfg.handler(hid->cfg.user, hid, hid->cmd, hid->msg, len, hid->resp,
                                 sizeof hid->resp);
        uint8_t cmd = hid->cmd;
        bool aborted = hid->aborted;
        end_transaction(hid);
        hid->cancelled = false;
        hid->aborted = false;
        if (!aborted) {
            if (n < 0) {
                uint8_t code = n >= -0x7F ? (uint8_t)-n : FK_CTAPHID_ERR_OTHER;
                emit_error(hid, cid, code);
            } else if ((size_t)n > sizeof hid->resp) {
                emit_error(hid, cid, FK_CTAPHID_ERR_OTHER);
            } else {
                emit(hid, cid, cmd, hid->resp, (size_t)n);
            }
        }
        fk_wipe(hid->resp, sizeof hid->resp);
        return;
    }
    default: /* only commands accepted by on_init_packet get here */
        end_transaction(hid);
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_CMD);
        return;
    }
}

/* An init packet while the handler runs (from fk_ctaphid_poll_cancel). */
static void busy_init_packet(fk_ctaphid_t *hid, uint32_t cid, uint8_t cmd, uint16_t bcnt,
                             const uint8_t *report)
{
    if (cid == 0) {
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_CHANNEL);
        return;
    }
    if (cmd == FK_CTAPHID_CANCEL && cid == hid->cid) {
        hid->cancelled = true;
        return;
    }
    if (cmd == FK_CTAPHID_INIT && (cid == FK_CTAPHID_CID_BROADCAST || allocated(hid, cid))) {
        if (bcnt != 8) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_LEN);
            return;
        }
        if (locked_by_other(hid, cid)) {
            emit_error(hid, cid, FK_CTAPHID_ERR_CHANNEL_BUSY);
            return;
        }
        do_init(hid, cid, report + 7);
        return;
    }
    if (cmd == FK_CTAPHID_CANCEL) return; /* nothing pending on that channel */
    emit_error(hid, cid, FK_CTAPHID_ERR_CHANNEL_BUSY);
}

static void on_init_packet(fk_ctaphid_t *hid, uint32_t cid, const uint8_t *report)
{
    uint8_t cmd = report[4];
    uint16_t bcnt = (uint16_t)(report[5] << 8 | report[6]);

    if (hid->state == FK_CTAPHID_BUSY) {
        busy_init_packet(hid, cid, cmd, bcnt, report);
        return;
    }
    if (cid == 0) {
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_CHANNEL);
        return;
    }
    if (cmd == FK_CTAPHID_INIT) {
        if (cid != FK_CTAPHID_CID_BROADCAST && !allocated(hid, cid)) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_CHANNEL);
        } else if (bcnt != 8) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_LEN);
        } else if (locked_by_other(hid, cid)) {
            emit_error(hid, cid, FK_CTAPHID_ERR_CHANNEL_BUSY);
        } else {
            do_init(hid, cid, report + 7);
        }
        return;
    }
    if (!allocated(hid, cid)) {
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_CHANNEL);
        return;
    }
    if (hid->state == FK_CTAPHID_RECV && hid->cid != cid) {
        if (cmd != FK_CTAPHID_CANCEL) emit_error(hid, cid, FK_CTAPHID_ERR_CHANNEL_BUSY);
        return;
    }
    if (locked_by_other(hid, cid)) {
        if (cmd != FK_CTAPHID_CANCEL) emit_error(hid, cid, FK_CTAPHID_ERR_CHANNEL_BUSY);
        return;
    }
    if (hid->state == FK_CTAPHID_RECV) {
        /* A new request on the channel in the middle of a message. */
        end_transaction(hid);
        if (cmd != FK_CTAPHID_CANCEL) emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_SEQ);
        return;
    }

    switch (cmd) {
    case FK_CTAPHID_CANCEL:
        return; /* nothing pending: no reply */
    case FK_CTAPHID_WINK:
        if (bcnt != 0) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_LEN);
            return;
        }
        if (hid->cfg.wink) hid->cfg.wink(hid->cfg.user);
        emit(hid, cid, FK_CTAPHID_WINK, NULL, 0);
        return;
    case FK_CTAPHID_LOCK:
        if (bcnt != 1) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_LEN);
        } else if (report[7] > FK_CTAPHID_LOCK_MAX_S) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_PAR);
        } else {
            if (report[7] == 0) {
                hid->lock_cid = 0;
            } else {
                hid->lock_cid = cid;
                hid->lock_start_ms = now(hid);
                hid->lock_ms = 1000u * report[7];
            }
            emit(hid, cid, FK_CTAPHID_LOCK, NULL, 0);
        }
        return;
    case FK_CTAPHID_PING:
        break;
    case FK_CTAPHID_CBOR:
    case FK_CTAPHID_MSG:
        if (bcnt == 0) {
            emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_LEN);
            return;
        }
        break;
    default:
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_CMD);
        return;
    }
    if (bcnt > FK_CTAPHID_MAX_MSG) {
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_LEN);
        return;
    }
    hid->state = FK_CTAPHID_RECV;
    hid->cid = cid;
    hid->cmd = cmd;
    hid->bcnt = bcnt;
    hid->seq = 0;
    hid->last_ms = now(hid);
    size_t n = bcnt < FK_CTAPHID_INIT_DATA ? bcnt : FK_CTAPHID_INIT_DATA;
    memcpy(hid->msg, report + 7, n);
    hid->got = (uint16_t)n;
    if (hid->got == hid->bcnt) dispatch(hid);
}

static void on_cont_packet(fk_ctaphid_t *hid, uint32_t cid, const uint8_t *report)
{
    if (hid->state != FK_CTAPHID_RECV || cid != hid->cid) return; /* stray: ignored */
    uint8_t seq = report[4];
    if (seq != hid->seq) {
        end_transaction(hid);
        emit_error(hid, cid, FK_CTAPHID_ERR_INVALID_SEQ);
        return;
    }
    /* seq < 128 here, and the total never exceeds bcnt <= FK_CTAPHID_MAX_MSG */
    size_t left = (size_t)hid->bcnt - hid->got;
    size_t n = left < FK_CTAPHID_CONT_DATA ? left : FK_CTAPHID_CONT_DATA;
    memcpy(hid->msg + hid->got, report + 5, n);
    hid->got = (uint16_t)(hid->got + n);
    hid->seq++;
    hid->last_ms = now(hid);
    if (hid->got == hid->bcnt) dispatch(hid);
}

void fk_ctaphid_init(fk_ctaphid_t *hid, const fk_ctaphid_config_t *cfg)
{
    memset(hid, 0, sizeof *hid);
    hid->cfg = *cfg;
    if (hid->cfg.first_cid == 0 || hid->cfg.first_cid == FK_CTAPHID_CID_BROADCAST)
        hid->cfg.first_cid = 1;
    hid->next_cid = hid->cfg.first_cid;
}

void fk_ctaphid_rx(fk_ctaphid_t *hid, const uint8_t report[FK_CTAPHID_REPORT])
{
    check_timeout(hid);
    uint32_t cid = fk_be32(report);
    if (report[4] & 0x80u)
        on_init_packet(hid, cid, report);
    else
        on_cont_packet(hid, cid, report);
}

void fk_ctaphid_tick(fk_ctaphid_t *hid)
{
    check_timeout(hid);
}

bool fk_ctaphid_keepalive(fk_ctaphid_t *hid, uint8_t status)
{
    if (hid->state != FK_CTAPHID_BUSY || hid->aborted) return false;
    uint32_t t = now(hid);
    /* Every 100 ms; a prompt for the user (UPNEEDED after anything else)
     * at once, so at most two in any 100 ms. */
    bool due = t - hid->ka_ms >= FK_CTAPHID_KEEPALIVE_MS;
    bool prompt = status == FK_CTAPHID_STATUS_UPNEEDED &&
                  (!hid->ka_sent || hid->ka_status != FK_CTAPHID_STATUS_UPNEEDED);
    if (!due && !prompt) return false;
    emit(hid, hid->cid, FK_CTAPHID_KEEPALIVE, &status, 1);
    hid->ka_sent = true;
    hid->ka_status = status;
    hid->ka_ms = t;
    return true;
}

bool fk_ctaphid_poll_cancel(fk_ctaphid_t *hid)
{
    if (hid->state != FK_CTAPHID_BUSY) return false;
    if (hid->cfg.pull) {
        uint8_t r[FK_CTAPHID_REPORT];
        while (hid->cfg.pull(hid->cfg.user, r)) fk_ctaphid_rx(hid, r);
        fk_wipe(r, sizeof r);
    }
    return hid->cancelled;
}

bool fk_ctaphid_cancelled(const fk_ctaphid_t *hid)
{
    return hid->state == FK_CTAPHID_BUSY && hid->cancelled;
}

void fk_ctaphid_reset(fk_ctaphid_t *hid)
{
    fk_ctaphid_config_t cfg = hid->cfg;
    fk_wipe(hid, sizeof *hid);
    fk_ctaphid_init(hid, &cfg);
}
