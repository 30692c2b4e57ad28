/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the CTAPHID layer (ctap/ctaphid.c) fed reports of any
 * order and content, with time passing, and a trivial echo handler that
 * waits a few turns sending keepalives and draining reports that arrived
 * meanwhile (so CANCEL, INIT and busy replies are reached from inside it).
 * Every emitted report must be well formed: an init packet of a command
 * the device sends with BCNT <= 7609 followed by exactly its continuations
 * in SEQ order, zero padding, one-byte ERROR and KEEPALIVE payloads with
 * known values, INIT replies with fresh distinct CIDs; the buffers are
 * wiped whenever no transaction is in progress.
 *
 * Input: a sequence of operations, each one byte then its operands:
 *   op % 4 == 0: a report (64 bytes) delivered now; op bits 2-3 replace its
 *                CID with 0, FFFFFFFF or the last allocated CID, or keep it
 *   op % 4 == 1: time passes (next byte * 4 ms), then a tick
 *   op % 4 == 2: a report (64 bytes) that arrives while the handler runs
 *   op % 4 == 3: the handler's number of turns (next byte % 16)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctaphid.h"
#include "util.h"

#define MAX_CIDS 4096
#define MAX_PEND 8

static fk_ctaphid_t g_hid;
static uint32_t g_now;
static uint32_t g_cids[MAX_CIDS];
static size_t g_ncids;
static uint32_t g_last_cid;
/* the message being emitted */
static bool g_in_msg;
static uint32_t g_msg_cid;
static uint8_t g_msg_seq;
static size_t g_msg_left;
static uint8_t g_pend[MAX_PEND][FK_CTAPHID_REPORT];
static size_t g_npend, g_pend_rd;
static unsigned g_turns;

static void zero_from(const uint8_t *p, size_t from)
{
    for (size_t i = from; i < FK_CTAPHID_REPORT; i++)
        if (p[i] != 0) abort();
}

static void on_send(void *user, const uint8_t r[FK_CTAPHID_REPORT])
{
    (void)user;
    uint32_t cid = fk_be32(r);
    if (g_in_msg) {
        if (cid != g_msg_cid || r[4] != g_msg_seq) abort();
        size_t n = g_msg_left < FK_CTAPHID_CONT_DATA ? g_msg_left : FK_CTAPHID_CONT_DATA;
        zero_from(r, 5 + n);
        g_msg_left -= n;
        g_msg_seq++;
        g_in_msg = g_msg_left > 0;
        return;
    }
    uint8_t cmd = r[4];
    size_t len = (size_t)r[5] << 8 | r[6];
    if (len > FK_CTAPHID_MAX_MSG) abort();
    switch (cmd) {
    case FK_CTAPHID_PING:
    case FK_CTAPHID_MSG:
    case FK_CTAPHID_CBOR:
        break;
    case FK_CTAPHID_LOCK:
    case FK_CTAPHID_WINK:
        if (len != 0) abort();
        break;
    case FK_CTAPHID_INIT: {
        if (len != 17 || r[7 + 12] != FK_CTAPHID_PROTOCOL_VERSION) abort();
        if (r[7 + 16] != (FK_CTAPHID_CAP_WINK | FK_CTAPHID_CAP_LOCK | FK_CTAPHID_CAP_CBOR)) abort();
        uint32_t ncid = fk_be32(r + 7 + 8);
        if (ncid == 0 || ncid == FK_CTAPHID_CID_BROADCAST) abort();
        if (cid == FK_CTAPHID_CID_BROADCAST) {
            for (size_t i = 0; i < g_ncids; i++)
                if (g_cids[i] == ncid) abort();
            if (g_ncids < MAX_CIDS) g_cids[g_ncids++] = ncid;
            g_last_cid = ncid;
        } else if (ncid != cid) {
            abort();
        }
        break;
    }
    case FK_CTAPHID_KEEPALIVE:
        if (len != 1 || (r[7] != FK_CTAPHID_STATUS_PROCESSING && r[7] != FK_CTAPHID_STATUS_UPNEEDED))
            abort();
        if (cid != g_hid.cid || g_hid.state != FK_CTAPHID_BUSY) abort();
        break;
    case FK_CTAPHID_ERROR:
        if (len != 1) abort();
        switch (r[7]) {
        case FK_CTAPHID_ERR_INVALID_CMD:
        case FK_CTAPHID_ERR_INVALID_PAR:
        case FK_CTAPHID_ERR_INVALID_LEN:
        case FK_CTAPHID_ERR_INVALID_SEQ:
        case FK_CTAPHID_ERR_MSG_TIMEOUT:
        case FK_CTAPHID_ERR_CHANNEL_BUSY:
        case FK_CTAPHID_ERR_INVALID_CHANNEL:
            break;
        default:
            abort();
        }
        break;
    default:
        abort();
    }
    size_t n = len < FK_CTAPHID_INIT_DATA ? len : FK_CTAPHID_INIT_DATA;
    zero_from(r, 7 + n);
    if (len > n) {
        g_in_msg = true;
        g_msg_cid = cid;
        g_msg_seq = 0;
        g_msg_left = len - n;
    }
}

static uint32_t on_clock(void *user)
{
    (void)user;
    return g_now;
}

static bool on_pull(void *user, uint8_t r[FK_CTAPHID_REPORT])
{
    (void)user;
    if (g_pend_rd >= g_npend) return false;
    memcpy(r, g_pend[g_pend_rd++], FK_CTAPHID_REPORT);
    return true;
}

static int on_request(void *user, fk_ctaphid_t *hid, uint8_t cmd, const uint8_t *req, size_t len,
                      uint8_t *resp, size_t cap)
{
    (void)user;
    if (len == 0 || len > FK_CTAPHID_MAX_MSG || cap != FK_CTAPHID_MAX_MSG) abort();
    if (cmd != FK_CTAPHID_CBOR && cmd != FK_CTAPHID_MSG) abort();
    for (unsigned i = 0; i < g_turns; i++) {
        fk_ctaphid_keepalive(hid, i & 1 ? FK_CTAPHID_STATUS_UPNEEDED
                                        : FK_CTAPHID_STATUS_PROCESSING);
        if (fk_ctaphid_poll_cancel(hid)) {
            resp[0] = FK_CTAP2_ERR_KEEPALIVE_CANCEL;
            return 1;
        }
        g_now += 60;
    }
    memcpy(resp, req, len);
    return (int)len;
}

/* After each operation: no message half emitted; when a transaction has
 * just ended (or force), both buffers are all zero. */
static fk_ctaphid_state_t g_prev;

static void check_idle(bool force)
{
    if (g_in_msg) abort();
    bool ended = g_prev != FK_CTAPHID_IDLE && g_hid.state == FK_CTAPHID_IDLE;
    g_prev = g_hid.state;
    if (!ended && !force) return;
    for (size_t i = 0; i < sizeof g_hid.resp; i++)
        if (g_hid.resp[i]) abort();
    if (g_hid.state == FK_CTAPHID_IDLE)
        for (size_t i = 0; i < sizeof g_hid.msg; i++)
            if (g_hid.msg[i]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_ctaphid_config_t cfg = {
        .send = on_send, .clock = on_clock, .handler = on_request, .pull = on_pull,
        .version_major = 1, .first_cid = 0xFFFFFFF0u, /* exercises the wrap */
    };
    g_now = 0xFFFFF000u;
    g_ncids = 0;
    g_last_cid = 0;
    g_in_msg = false;
    g_npend = g_pend_rd = 0;
    g_turns = 0;
    g_prev = FK_CTAPHID_IDLE;
    fk_ctaphid_init(&g_hid, &cfg);

    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        uint8_t r[FK_CTAPHID_REPORT];
        switch (op & 3) {
        case 0:
        case 2: {
            memset(r, 0, sizeof r);
            size_t n = size - i < sizeof r ? size - i : sizeof r;
            memcpy(r, data + i, n);
            i += n;
            switch ((op >> 2) & 3) {
            case 1: memset(r, 0, 4); break;
            case 2: memset(r, 0xFF, 4); break;
            case 3:
                r[0] = (uint8_t)(g_last_cid >> 24);
                r[1] = (uint8_t)(g_last_cid >> 16);
                r[2] = (uint8_t)(g_last_cid >> 8);
                r[3] = (uint8_t)g_last_cid;
                break;
            default: break;
            }
            if ((op & 3) == 0) {
                fk_ctaphid_rx(&g_hid, r);
                check_idle(false);
            } else {
                if (g_npend == MAX_PEND) g_npend = g_pend_rd = 0;
                memcpy(g_pend[g_npend++], r, sizeof r);
            }
            break;
        }
        case 1:
            if (i < size) g_now += 4u * data[i++];
            fk_ctaphid_tick(&g_hid);
            check_idle(false);
            break;
        default:
            if (i < size) g_turns = data[i++] % 16u;
            break;
        }
    }
    check_idle(true);
    fk_ctaphid_reset(&g_hid);
    return 0;
}
