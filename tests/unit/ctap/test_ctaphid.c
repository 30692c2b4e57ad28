/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctaphid.c - the CTAPHID framing layer (ctap/ctaphid.c) byte by byte:
 * channel allocation as python-fido2 and libfido2 open a device, INIT on
 * CID 0, on the broadcast CID and on an allocated CID (resynchronisation),
 * reassembly up to 7609 bytes, SEQ errors, stray continuations, channel
 * busy, LOCK, the MSG timeout, the commands answered by the layer, the
 * handler for CBOR and MSG with keepalives and CANCEL while it runs, and
 * the wiping of the buffers. Time is injected: nothing here sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctaphid.h"
#include "util.h"

#define OUT_MAX 1024

static fk_ctaphid_t g_hid;
static uint32_t g_now;
static uint8_t g_out[OUT_MAX][FK_CTAPHID_REPORT];
static uint32_t g_out_ms[OUT_MAX];
static size_t g_nout, g_rd;
static int g_winks;

/* Reports the transport receives while the handler runs, each released
 * once the injected clock reaches its time. */
typedef struct {
    uint32_t at;
    uint8_t r[FK_CTAPHID_REPORT];
} pending_t;
static pending_t g_pend[16];
static size_t g_npend, g_pend_rd;

typedef enum { H_ECHO, H_SLOW, H_AUTO_UP, H_FLIP, H_FAIL, H_HUGE } hmode_t;
static hmode_t g_mode;
static uint8_t g_last_cmd;
static size_t g_last_len;
static int g_handler_calls;
static uint32_t g_presence_at; /* H_SLOW: when the user touches */

static void on_send(void *user, const uint8_t report[FK_CTAPHID_REPORT])
{
    (void)user;
    assert_true(g_nout < OUT_MAX);
    memcpy(g_out[g_nout], report, FK_CTAPHID_REPORT);
    g_out_ms[g_nout] = g_now;
    g_nout++;
}

static uint32_t on_clock(void *user)
{
    (void)user;
    return g_now;
}

static void on_wink(void *user)
{
    (void)user;
    g_winks++;
}

static bool on_pull(void *user, uint8_t report[FK_CTAPHID_REPORT])
{
    (void)user;
    if (g_pend_rd >= g_npend || g_pend[g_pend_rd].at > g_now) return false;
    memcpy(report, g_pend[g_pend_rd++].r, FK_CTAPHID_REPORT);
    return true;
}

static int on_request(void *user, fk_ctaphid_t *hid, uint8_t cmd, const uint8_t *req, size_t len,
                      uint8_t *resp, size_t cap)
{
    (void)user;
    g_handler_calls++;
    g_last_cmd = cmd;
    g_last_len = len;
    assert_ptr_equal(hid, &g_hid);
    assert_int_equal(cap, FK_CTAPHID_MAX_MSG);
    switch (g_mode) {
    case H_ECHO:
        resp[0] = 0x00;
        memcpy(resp + 1, req, len < cap - 1 ? len : cap - 1);
        return (int)(len < cap - 1 ? len + 1 : cap);
    case H_SLOW: { /* a request waiting for the user, 10 ms per turn */
        uint32_t t0 = g_now;
        for (;;) {
            uint32_t t = g_now;
            if (fk_ctaphid_poll_cancel(hid)) {
                resp[0] = FK_CTAP2_ERR_KEEPALIVE_CANCEL;
                return 1;
            }
            if (t >= g_presence_at) break;
            fk_ctaphid_keepalive(hid, t - t0 < 300 ? FK_CTAPHID_STATUS_PROCESSING
                                              : FK_CTAPHID_STATUS_UPNEEDED);
            g_now += 10;
        }
        resp[0] = 0x00;
        return 1;
    }
    case H_AUTO_UP: /* presence answered at once: UPNEEDED is still shown */
        assert_true(fk_ctaphid_keepalive(hid, FK_CTAPHID_STATUS_UPNEEDED));
        resp[0] = 0x00;
        return 1;
    case H_FLIP: /* a careless caller: 1000 turns of 1 ms, status flipping */
        for (unsigned i = 0; i < 1000; i++) {
            fk_ctaphid_keepalive(hid, i & 1 ? FK_CTAPHID_STATUS_UPNEEDED
                                            : FK_CTAPHID_STATUS_PROCESSING);
            g_now += 1;
        }
        resp[0] = 0x00;
        return 1;
    case H_FAIL:
        return -(int)FK_CTAPHID_ERR_INVALID_PAR;
    case H_HUGE:
        return (int)cap + 1;
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    g_now = 1000;
    g_nout = g_rd = 0;
    g_npend = g_pend_rd = 0;
    g_winks = 0;
    g_mode = H_ECHO;
    g_handler_calls = 0;
    g_presence_at = 0;
    fk_ctaphid_config_t cfg = {
        .send = on_send, .clock = on_clock, .handler = on_request, .wink = on_wink,
        .pull = on_pull, .user = NULL, .version_major = 1, .version_minor = 2,
        .version_build = 3, .first_cid = 0x10000001u,
    };
    fk_ctaphid_init(&g_hid, &cfg);
    return 0;
}

/* ---- packets ---- */


static void mk_init(uint8_t *r, uint32_t cid, uint8_t cmd, uint16_t bcnt, const uint8_t *d,
                    size_t n, uint8_t pad)
{
    memset(r, pad, FK_CTAPHID_REPORT);
    fk_put_be32(r, cid);
    r[4] = cmd;
    r[5] = (uint8_t)(bcnt >> 8);
    r[6] = (uint8_t)bcnt;
    if (n) memcpy(r + 7, d, n);
}

static void mk_cont(uint8_t *r, uint32_t cid, uint8_t seq, const uint8_t *d, size_t n, uint8_t pad)
{
    memset(r, pad, FK_CTAPHID_REPORT);
    fk_put_be32(r, cid);
    r[4] = seq;
    if (n) memcpy(r + 5, d, n);
}

static void rx_init(uint32_t cid, uint8_t cmd, uint16_t bcnt, const uint8_t *d, size_t n)
{
    uint8_t r[FK_CTAPHID_REPORT];
    mk_init(r, cid, cmd, bcnt, d, n, 0x00);
    fk_ctaphid_rx(&g_hid, r);
}

/* Sends a message; stop_before = number of packets to send (SIZE_MAX: all). */
static void send_msg_part(uint32_t cid, uint8_t cmd, const uint8_t *d, size_t len, uint8_t pad,
                          size_t packets)
{
    uint8_t r[FK_CTAPHID_REPORT];
    size_t n = len < 57 ? len : 57;
    if (packets == 0) return;
    mk_init(r, cid, cmd, (uint16_t)len, d, n, pad);
    fk_ctaphid_rx(&g_hid, r);
    size_t off = n, sent = 1;
    for (uint8_t seq = 0; off < len && sent < packets; seq++, sent++) {
        n = len - off < 59 ? len - off : 59;
        mk_cont(r, cid, seq, d + off, n, pad);
        fk_ctaphid_rx(&g_hid, r);
        off += n;
    }
}

static void send_msg(uint32_t cid, uint8_t cmd, const uint8_t *d, size_t len, uint8_t pad)
{
    send_msg_part(cid, cmd, d, len, pad, SIZE_MAX);
}

static void assert_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) fail_msg("byte %zu is %02x, not zero", i, p[i]);
}

/* Reads the next message from the outbox: checks the CID, the command,
 * the continuations' SEQ and the zero padding; returns its length. */
static size_t read_msg(uint32_t cid, uint8_t cmd, uint8_t *out, size_t cap)
{
    assert_true(g_rd < g_nout);
    const uint8_t *r = g_out[g_rd++];
    assert_int_equal(fk_be32(r), cid);
    assert_int_equal(r[4], cmd);
    size_t len = (size_t)r[5] << 8 | r[6];
    assert_true(len <= FK_CTAPHID_MAX_MSG && len <= cap);
    size_t n = len < 57 ? len : 57;
    if (n) memcpy(out, r + 7, n);
    assert_zero(r + 7 + n, 57 - n);
    size_t off = n;
    for (uint8_t seq = 0; off < len; seq++) {
        assert_true(g_rd < g_nout);
        r = g_out[g_rd++];
        assert_int_equal(fk_be32(r), cid);
        assert_int_equal(r[4], seq);
        n = len - off < 59 ? len - off : 59;
        memcpy(out + off, r + 5, n);
        assert_zero(r + 5 + n, 59 - n);
        off += n;
    }
    return len;
}

static void expect_error(uint32_t cid, uint8_t code)
{
    uint8_t b[8];
    assert_int_equal(read_msg(cid, FK_CTAPHID_ERROR, b, sizeof b), 1);
    assert_int_equal(b[0], code);
}

static void expect_nothing(void)
{
    assert_int_equal(g_rd, g_nout);
}

/* INIT on the broadcast CID with an 8-byte nonce; returns the new CID. */
static uint32_t open_channel(uint8_t pad)
{
    static uint8_t salt;
    uint8_t nonce[8] = {0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, salt++};
    uint8_t r[FK_CTAPHID_REPORT], b[64];
    mk_init(r, FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, 8, nonce, 8, pad);
    fk_ctaphid_rx(&g_hid, r);
    assert_int_equal(read_msg(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, b, sizeof b), 17);
    assert_memory_equal(b, nonce, 8);
    uint32_t cid = fk_be32(b + 8);
    assert_true(cid != 0 && cid != FK_CTAPHID_CID_BROADCAST);
    return cid;
}

static void assert_wiped(void)
{
    assert_zero(g_hid.msg, sizeof g_hid.msg);
    assert_zero(g_hid.resp, sizeof g_hid.resp);
}

/* ---- tests ---- */

/* python-fido2 0.9.1's constructor: INIT on FFFFFFFF, 8-byte random nonce,
 * zero padded; one 17-byte reply on FFFFFFFF, version fields from the
 * configuration, capabilities WINK|LOCK|CBOR with NMSG clear. */
static void test_init_python_fido2(void **state)
{
    (void)state;
    static const uint8_t r[FK_CTAPHID_REPORT] = {0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0x00, 0x08,
                                                 0x6C, 0x3E, 0x1A, 0x99, 0x02, 0x47, 0xD0, 0x5B};
    fk_ctaphid_rx(&g_hid, r);
    assert_int_equal(g_nout, 1);
    static const uint8_t want[FK_CTAPHID_REPORT] = {
        0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0x00, 0x11, 0x6C, 0x3E, 0x1A, 0x99, 0x02, 0x47,
        0xD0, 0x5B, 0x10, 0x00, 0x00, 0x01, 0x02, 0x01, 0x02, 0x03, 0x07};
    assert_memory_equal(g_out[0], want, FK_CTAPHID_REPORT);
}

/* libfido2's fido_dev_open: the same INIT (its own nonce); then a CBOR
 * request on the new channel (GetInfo, 0x04) reaches the handler. Three
 * INITs give three distinct CIDs. */
static void test_init_libfido2_and_unique_cids(void **state)
{
    (void)state;
    uint8_t r[FK_CTAPHID_REPORT] = {0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0x00, 0x08,
                                    1, 2, 3, 4, 5, 6, 7, 8};
    fk_ctaphid_rx(&g_hid, r);
    uint8_t b[64];
    assert_int_equal(read_msg(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, b, sizeof b), 17);
    uint32_t c1 = fk_be32(b + 8);
    assert_int_equal(b[12], 2);
    assert_int_equal(b[16] & FK_CTAPHID_CAP_NMSG, 0);
    uint32_t c2 = open_channel(0x00), c3 = open_channel(0xEE);
    assert_true(c1 != c2 && c2 != c3 && c1 != c3);
    uint8_t getinfo = 0x04;
    send_msg(c3, FK_CTAPHID_CBOR, &getinfo, 1, 0x00);
    assert_int_equal(g_last_cmd, FK_CTAPHID_CBOR);
    assert_int_equal(g_last_len, 1);
    assert_int_equal(read_msg(c3, FK_CTAPHID_CBOR, b, sizeof b), 2);
    assert_int_equal(b[0], 0x00);
    assert_int_equal(b[1], 0x04);
    expect_nothing();
}

/* CID 0 is reserved (INIT and PING -> INVALID_CHANNEL), only INIT may use
 * the broadcast CID, a CID never handed out is invalid, and INIT carries
 * exactly 8 bytes. */
static void test_invalid_channels(void **state)
{
    (void)state;
    uint8_t nonce[8] = {0};
    rx_init(0, FK_CTAPHID_INIT, 8, nonce, 8);
    expect_error(0, FK_CTAPHID_ERR_INVALID_CHANNEL);
    rx_init(0, FK_CTAPHID_PING, 1, nonce, 1);
    expect_error(0, FK_CTAPHID_ERR_INVALID_CHANNEL);
    rx_init(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_PING, 1, nonce, 1);
    expect_error(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_ERR_INVALID_CHANNEL);
    rx_init(0x12345678, FK_CTAPHID_PING, 1, nonce, 1);
    expect_error(0x12345678, FK_CTAPHID_ERR_INVALID_CHANNEL);
    rx_init(0x12345678, FK_CTAPHID_INIT, 8, nonce, 8);
    expect_error(0x12345678, FK_CTAPHID_ERR_INVALID_CHANNEL);
    rx_init(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, 7, nonce, 7);
    expect_error(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_ERR_INVALID_LEN);
    uint32_t cid = open_channel(0);
    rx_init(cid + 1, FK_CTAPHID_PING, 1, nonce, 1); /* next, not yet issued */
    expect_error(cid + 1, FK_CTAPHID_ERR_INVALID_CHANNEL);
    expect_nothing();
}

/* The largest message: a 7609-byte PING (1 init + 128 continuations)
 * padded with EE comes back whole; BCNT 7610 -> INVALID_LEN; an empty PING
 * is an empty echo. */
static void test_ping_limits(void **state)
{
    (void)state;
    uint32_t cid = open_channel(0xEE);
    static uint8_t d[FK_CTAPHID_MAX_MSG], back[FK_CTAPHID_MAX_MSG];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(i * 7 + 3);
    send_msg(cid, FK_CTAPHID_PING, d, sizeof d, 0xEE);
    size_t first = g_rd;
    assert_int_equal(read_msg(cid, FK_CTAPHID_PING, back, sizeof back), FK_CTAPHID_MAX_MSG);
    assert_int_equal(g_rd - first, 129);
    assert_memory_equal(back, d, sizeof d);
    rx_init(cid, FK_CTAPHID_PING, FK_CTAPHID_MAX_MSG + 1, d, 57);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_LEN);
    rx_init(cid, FK_CTAPHID_PING, 0, NULL, 0);
    assert_int_equal(read_msg(cid, FK_CTAPHID_PING, back, sizeof back), 0);
    expect_nothing();
    assert_wiped();
}

/* A 512-byte PING missing its last continuation, then INIT on the same CID:
 * answered on that CID with the same CID, and the channel works again. */
static void test_resync_by_init(void **state)
{
    (void)state;
    uint32_t cid = open_channel(0);
    uint8_t d[512], back[512], b[64];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)i;
    /* 512 = 57 + 7*59 + 42: 9 packets; send 8 */
    send_msg_part(cid, FK_CTAPHID_PING, d, sizeof d, 0, 8);
    expect_nothing();
    uint8_t nonce[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    rx_init(cid, FK_CTAPHID_INIT, 8, nonce, 8);
    assert_int_equal(read_msg(cid, FK_CTAPHID_INIT, b, sizeof b), 17);
    assert_memory_equal(b, nonce, 8);
    assert_int_equal(fk_be32(b + 8), cid);
    assert_zero(g_hid.msg, sizeof g_hid.msg);
    send_msg(cid, FK_CTAPHID_PING, d, sizeof d, 0);
    assert_int_equal(read_msg(cid, FK_CTAPHID_PING, back, sizeof back), 512);
    assert_memory_equal(back, d, 512);
    expect_nothing();
}

/* Continuations with nothing in progress, or from another CID during a
 * message, are ignored without a reply. */
static void test_stray_continuation(void **state)
{
    (void)state;
    uint32_t a = open_channel(0), b = open_channel(0);
    uint8_t r[FK_CTAPHID_REPORT], d[100], back[100];
    mk_cont(r, a, 0, NULL, 0, 0xEE);
    fk_ctaphid_rx(&g_hid, r);
    mk_cont(r, 0, 5, NULL, 0, 0);
    fk_ctaphid_rx(&g_hid, r);
    expect_nothing();
    memset(d, 0x5A, sizeof d);
    send_msg_part(a, FK_CTAPHID_PING, d, sizeof d, 0, 1);
    mk_cont(r, b, 0, d, 59, 0);
    fk_ctaphid_rx(&g_hid, r);
    expect_nothing();
    mk_cont(r, a, 0, d + 57, 43, 0);
    fk_ctaphid_rx(&g_hid, r);
    assert_int_equal(read_msg(a, FK_CTAPHID_PING, back, sizeof back), 100);
    assert_memory_equal(back, d, 100);
    expect_nothing();
}

/* A SEQ out of order -> INVALID_SEQ and the message is dropped; a new
 * request on the channel in the middle of a message -> INVALID_SEQ. */
static void test_wrong_seq(void **state)
{
    (void)state;
    uint32_t cid = open_channel(0);
    uint8_t r[FK_CTAPHID_REPORT], d[200];
    memset(d, 1, sizeof d);
    send_msg_part(cid, FK_CTAPHID_PING, d, sizeof d, 0, 2); /* seq 0 sent */
    mk_cont(r, cid, 2, d, 59, 0);
    fk_ctaphid_rx(&g_hid, r);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_SEQ);
    mk_cont(r, cid, 1, d, 59, 0); /* now stray */
    fk_ctaphid_rx(&g_hid, r);
    expect_nothing();
    assert_zero(g_hid.msg, sizeof g_hid.msg);
    send_msg_part(cid, FK_CTAPHID_PING, d, sizeof d, 0, 1);
    rx_init(cid, FK_CTAPHID_PING, 1, d, 1);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_SEQ);
    /* CANCEL in the middle of a message drops it without a reply */
    send_msg_part(cid, FK_CTAPHID_PING, d, sizeof d, 0, 2);
    rx_init(cid, FK_CTAPHID_CANCEL, 0, NULL, 0);
    expect_nothing();
    assert_zero(g_hid.msg, sizeof g_hid.msg);
    mk_cont(r, cid, 1, d, 59, 0);
    fk_ctaphid_rx(&g_hid, r);
    expect_nothing();
    /* a repeated seq 0 */
    send_msg_part(cid, FK_CTAPHID_PING, d, sizeof d, 0, 2);
    mk_cont(r, cid, 0, d, 59, 0);
    fk_ctaphid_rx(&g_hid, r);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_SEQ);
    expect_nothing();
}

/* While one channel is in a transaction another channel's requests get
 * CHANNEL_BUSY, its CANCEL nothing, and INIT on the broadcast CID is still
 * answered; the first message completes. */
static void test_channel_busy(void **state)
{
    (void)state;
    uint32_t a = open_channel(0), b = open_channel(0);
    uint8_t d[100], back[100];
    memset(d, 0x33, sizeof d);
    send_msg_part(a, FK_CTAPHID_PING, d, sizeof d, 0, 1);
    rx_init(b, FK_CTAPHID_PING, 1, d, 1);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    rx_init(b, FK_CTAPHID_CBOR, 1, d, 1);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    rx_init(b, FK_CTAPHID_CANCEL, 0, NULL, 0);
    expect_nothing();
    uint32_t c = open_channel(0);
    assert_true(c != a && c != b);
    uint8_t nonce[8] = {4, 4, 4, 4, 4, 4, 4, 4};
    rx_init(b, FK_CTAPHID_INIT, 8, nonce, 8); /* resynchronising b is harmless */
    assert_int_equal(read_msg(b, FK_CTAPHID_INIT, back, sizeof back), 17);
    assert_int_equal(fk_be32(back + 8), b);
    uint8_t r[FK_CTAPHID_REPORT];
    mk_cont(r, a, 0, d + 57, 43, 0);
    fk_ctaphid_rx(&g_hid, r);
    assert_int_equal(read_msg(a, FK_CTAPHID_PING, back, sizeof back), 100);
    expect_nothing();
    assert_int_equal(g_handler_calls, 0);
}

/* LOCK: 0-10 s on one channel; the others (their INITs too) get
 * CHANNEL_BUSY until it expires or is released. */
static void test_lock(void **state)
{
    (void)state;
    uint32_t a = open_channel(0), b = open_channel(0);
    uint8_t s = 2, b8[8] = {0}, back[8];
    send_msg(a, FK_CTAPHID_LOCK, &s, 1, 0);
    assert_int_equal(read_msg(a, FK_CTAPHID_LOCK, back, sizeof back), 0);
    rx_init(b, FK_CTAPHID_PING, 1, b8, 1);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    rx_init(b, FK_CTAPHID_INIT, 8, b8, 8);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    rx_init(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, 8, b8, 8);
    expect_error(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_ERR_CHANNEL_BUSY);
    rx_init(a, FK_CTAPHID_PING, 1, b8, 1);
    assert_int_equal(read_msg(a, FK_CTAPHID_PING, back, sizeof back), 1);
    g_now += 1999;
    rx_init(b, FK_CTAPHID_PING, 1, b8, 1);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    g_now += 1;
    rx_init(b, FK_CTAPHID_PING, 1, b8, 1);
    assert_int_equal(read_msg(b, FK_CTAPHID_PING, back, sizeof back), 1);
    /* bounds and release */
    s = 11;
    send_msg(a, FK_CTAPHID_LOCK, &s, 1, 0);
    expect_error(a, FK_CTAPHID_ERR_INVALID_PAR);
    rx_init(a, FK_CTAPHID_LOCK, 0, NULL, 0);
    expect_error(a, FK_CTAPHID_ERR_INVALID_LEN);
    s = 10;
    send_msg(a, FK_CTAPHID_LOCK, &s, 1, 0);
    assert_int_equal(read_msg(a, FK_CTAPHID_LOCK, back, sizeof back), 0);
    rx_init(b, FK_CTAPHID_PING, 1, b8, 1);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    s = 0;
    send_msg(a, FK_CTAPHID_LOCK, &s, 1, 0);
    assert_int_equal(read_msg(a, FK_CTAPHID_LOCK, back, sizeof back), 0);
    rx_init(b, FK_CTAPHID_PING, 1, b8, 1);
    assert_int_equal(read_msg(b, FK_CTAPHID_PING, back, sizeof back), 1);
    expect_nothing();
}

/* Commands: unknown ones, KEEPALIVE and ERROR from the host and vendor
 * commands -> INVALID_CMD; empty MSG and CBOR -> INVALID_LEN; WINK -> an
 * empty reply and the hook; CANCEL with nothing pending -> nothing. */
static void test_commands(void **state)
{
    (void)state;
    uint32_t cid = open_channel(0);
    uint8_t d[8] = {0}, back[8];
    static const uint8_t bad[] = {0x80, 0x82, 0x85, 0x87, 0x92, 0xBB, 0xBF, 0xBC, 0xC0, 0xFF};
    for (size_t i = 0; i < sizeof bad; i++) {
        rx_init(cid, bad[i], 1, d, 1);
        expect_error(cid, FK_CTAPHID_ERR_INVALID_CMD);
    }
    rx_init(cid, FK_CTAPHID_MSG, 0, NULL, 0);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_LEN);
    rx_init(cid, FK_CTAPHID_CBOR, 0, NULL, 0);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_LEN);
    rx_init(cid, FK_CTAPHID_WINK, 0, NULL, 0);
    assert_int_equal(read_msg(cid, FK_CTAPHID_WINK, back, sizeof back), 0);
    assert_int_equal(g_winks, 1);
    rx_init(cid, FK_CTAPHID_WINK, 1, d, 1);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_LEN);
    rx_init(cid, FK_CTAPHID_CANCEL, 0, NULL, 0);
    expect_nothing();
    assert_int_equal(g_handler_calls, 0);
}

/* A missing continuation ends with MSG_TIMEOUT after 750 ms of injected
 * time, noticed by the tick or by the next report. */
static void test_timeout(void **state)
{
    (void)state;
    uint32_t a = open_channel(0), b = open_channel(0);
    uint8_t d[100], back[100];
    memset(d, 0x77, sizeof d);
    send_msg_part(a, FK_CTAPHID_PING, d, sizeof d, 0, 1);
    g_now += 750;
    fk_ctaphid_tick(&g_hid);
    expect_nothing();
    g_now += 1;
    fk_ctaphid_tick(&g_hid);
    expect_error(a, FK_CTAPHID_ERR_MSG_TIMEOUT);
    assert_zero(g_hid.msg, sizeof g_hid.msg);
    fk_ctaphid_tick(&g_hid);
    expect_nothing();
    /* each continuation restarts the wait */
    send_msg_part(a, FK_CTAPHID_PING, d, sizeof d, 0, 1);
    g_now += 800;
    rx_init(b, FK_CTAPHID_PING, 3, d, 3);
    expect_error(a, FK_CTAPHID_ERR_MSG_TIMEOUT);
    assert_int_equal(read_msg(b, FK_CTAPHID_PING, back, sizeof back), 3);
    expect_nothing();
    /* the clock may wrap */
    g_now = 0xFFFFFF00u;
    send_msg_part(a, FK_CTAPHID_PING, d, sizeof d, 0, 1);
    g_now += 0x200; /* 512 ms later, wrapped */
    fk_ctaphid_tick(&g_hid);
    expect_nothing();
    uint8_t r[FK_CTAPHID_REPORT];
    mk_cont(r, a, 0, d + 57, 43, 0);
    fk_ctaphid_rx(&g_hid, r);
    assert_int_equal(read_msg(a, FK_CTAPHID_PING, back, sizeof back), 100);
    expect_nothing();
}

/* CBOR and MSG reach the handler with their command; a long response goes
 * out as init + continuations; a handler error is an ERROR reply; an
 * impossible length is ERROR OTHER; both buffers are wiped afterwards. */
static void test_handler(void **state)
{
    (void)state;
    uint32_t cid = open_channel(0);
    uint8_t d[300], back[400];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)(0xC0 ^ i);
    send_msg(cid, FK_CTAPHID_CBOR, d, sizeof d, 0xEE);
    assert_int_equal(g_last_len, 300);
    assert_int_equal(read_msg(cid, FK_CTAPHID_CBOR, back, sizeof back), 301);
    assert_int_equal(back[0], 0);
    assert_memory_equal(back + 1, d, 300);
    assert_wiped();
    static const uint8_t u2f_version[] = {0x00, 0x03, 0x00, 0x00, 0x00};
    send_msg(cid, FK_CTAPHID_MSG, u2f_version, sizeof u2f_version, 0);
    assert_int_equal(g_last_cmd, FK_CTAPHID_MSG);
    assert_int_equal(read_msg(cid, FK_CTAPHID_MSG, back, sizeof back), 6);
    g_mode = H_FAIL;
    send_msg(cid, FK_CTAPHID_CBOR, d, 1, 0);
    expect_error(cid, FK_CTAPHID_ERR_INVALID_PAR);
    g_mode = H_HUGE;
    send_msg(cid, FK_CTAPHID_CBOR, d, 1, 0);
    expect_error(cid, FK_CTAPHID_ERR_OTHER);
    assert_wiped();
    expect_nothing();
}

/* A request waiting for the user: PROCESSING every 100 ms of injected
 * time, UPNEEDED at once when the wait starts and then every 100 ms, on
 * the busy channel, and nothing after the response. */
static void test_keepalive_cadence(void **state)
{
    (void)state;
    uint32_t cid = open_channel(0);
    g_mode = H_SLOW;
    g_presence_at = g_now + 1000;
    uint32_t t0 = g_now;
    uint8_t cmd = 0x01, back[8];
    send_msg(cid, FK_CTAPHID_CBOR, &cmd, 1, 0);
    size_t ka = 0;
    uint32_t last = t0;
    while (g_rd < g_nout && g_out[g_rd][4] == FK_CTAPHID_KEEPALIVE) {
        uint32_t at = g_out_ms[g_rd];
        assert_int_equal(read_msg(cid, FK_CTAPHID_KEEPALIVE, back, sizeof back), 1);
        assert_int_equal(back[0], at - t0 < 300 ? FK_CTAPHID_STATUS_PROCESSING
                                                : FK_CTAPHID_STATUS_UPNEEDED);
        if (at - t0 == 300) assert_int_equal(back[0], FK_CTAPHID_STATUS_UPNEEDED);
        else assert_int_equal(at - last, 100);
        last = at;
        ka++;
    }
    /* PROCESSING at 100 and 200, UPNEEDED at 300 (at once) ... 900 */
    assert_int_equal(ka, 9);
    assert_int_equal(read_msg(cid, FK_CTAPHID_CBOR, back, sizeof back), 1);
    assert_int_equal(back[0], 0x00);
    expect_nothing();
    assert_false(fk_ctaphid_keepalive(&g_hid, FK_CTAPHID_STATUS_PROCESSING));
    expect_nothing();
    /* presence answered automatically still shows UPNEEDED once */
    g_mode = H_AUTO_UP;
    send_msg(cid, FK_CTAPHID_CBOR, &cmd, 1, 0);
    assert_int_equal(read_msg(cid, FK_CTAPHID_KEEPALIVE, back, sizeof back), 1);
    assert_int_equal(back[0], FK_CTAPHID_STATUS_UPNEEDED);
    assert_int_equal(read_msg(cid, FK_CTAPHID_CBOR, back, sizeof back), 1);
    expect_nothing();
    /* a handler that alternates the status on every call sends at most
     * two keepalives per 100 ms */
    g_mode = H_FLIP;
    send_msg(cid, FK_CTAPHID_CBOR, &cmd, 1, 0);
    size_t n = 0;
    uint32_t prev = 0;
    while (g_rd < g_nout && g_out[g_rd][4] == FK_CTAPHID_KEEPALIVE) {
        uint32_t at = g_out_ms[g_rd];
        read_msg(cid, FK_CTAPHID_KEEPALIVE, back, sizeof back);
        if (n > 0) assert_true(at - prev >= 100);
        prev = at;
        n++;
    }
    /* 1000 ms in 1 ms turns: the prompt at once, then one per 100 ms */
    assert_int_equal(n, 10);
    assert_int_equal(read_msg(cid, FK_CTAPHID_CBOR, back, sizeof back), 1);
    expect_nothing();
}

static void pend(uint32_t at, uint32_t cid, uint8_t cmd, uint16_t bcnt, const uint8_t *d, size_t n)
{
    assert_true(g_npend < 16);
    g_pend[g_npend].at = at;
    mk_init(g_pend[g_npend].r, cid, cmd, bcnt, d, n, 0xEE);
    g_npend++;
}

/* CANCEL during a slow request ends it with KEEPALIVE_CANCEL (0x2D);
 * meanwhile INIT on the broadcast CID is answered, another channel's
 * requests get CHANNEL_BUSY, its CANCEL nothing, continuations nothing. */
static void test_cancel_during_handler(void **state)
{
    (void)state;
    uint32_t a = open_channel(0), b = open_channel(0);
    g_mode = H_SLOW;
    g_presence_at = g_now + 30000;
    uint32_t t0 = g_now;
    uint8_t nonce[8] = {1, 1, 2, 3, 5, 8, 13, 21}, d[4] = {0x01, 0xA0, 0, 0}, back[64];
    pend(t0 + 120, FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, 8, nonce, 8);
    pend(t0 + 130, b, FK_CTAPHID_PING, 1, d, 1);
    pend(t0 + 140, b, FK_CTAPHID_CANCEL, 0, NULL, 0);
    pend(t0 + 150, b, FK_CTAPHID_CBOR, 1, d, 1);
    pend(t0 + 160, 0, FK_CTAPHID_PING, 1, d, 1);
    g_npend++;
    g_pend[g_npend - 1].at = t0 + 170;
    mk_cont(g_pend[g_npend - 1].r, a, 0, d, 4, 0); /* a continuation: ignored */
    pend(t0 + 450, a, FK_CTAPHID_CANCEL, 0, NULL, 0);
    send_msg(a, FK_CTAPHID_CBOR, d, 2, 0);
    assert_int_equal(read_msg(a, FK_CTAPHID_KEEPALIVE, back, sizeof back), 1); /* 100 */
    assert_int_equal(read_msg(FK_CTAPHID_CID_BROADCAST, FK_CTAPHID_INIT, back, sizeof back), 17);
    assert_memory_equal(back, nonce, 8);
    uint32_t c = fk_be32(back + 8);
    assert_true(c != a && c != b);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    expect_error(b, FK_CTAPHID_ERR_CHANNEL_BUSY);
    expect_error(0, FK_CTAPHID_ERR_INVALID_CHANNEL);
    assert_int_equal(read_msg(a, FK_CTAPHID_KEEPALIVE, back, sizeof back), 1); /* 200 */
    assert_int_equal(back[0], FK_CTAPHID_STATUS_PROCESSING);
    assert_int_equal(read_msg(a, FK_CTAPHID_KEEPALIVE, back, sizeof back), 1); /* 300 */
    assert_int_equal(back[0], FK_CTAPHID_STATUS_UPNEEDED);
    assert_int_equal(read_msg(a, FK_CTAPHID_KEEPALIVE, back, sizeof back), 1); /* 400 */
    assert_int_equal(read_msg(a, FK_CTAPHID_CBOR, back, sizeof back), 1);
    assert_int_equal(back[0], FK_CTAP2_ERR_KEEPALIVE_CANCEL);
    assert_int_equal(g_now - t0, 450);
    expect_nothing();
    assert_wiped();
    assert_false(fk_ctaphid_cancelled(&g_hid));
    /* idle again: a late CANCEL gets nothing, a PING its echo */
    rx_init(a, FK_CTAPHID_CANCEL, 0, NULL, 0);
    expect_nothing();
    rx_init(b, FK_CTAPHID_PING, 1, d, 1);
    assert_int_equal(read_msg(b, FK_CTAPHID_PING, back, sizeof back), 1);
    expect_nothing();
}

/* INIT on the busy channel while the handler runs resynchronises it: the
 * INIT is answered, the request counts as cancelled, its response and any
 * keepalive after it are dropped. */
static void test_init_during_handler(void **state)
{
    (void)state;
    uint32_t a = open_channel(0);
    g_mode = H_SLOW;
    g_presence_at = g_now + 30000;
    uint32_t t0 = g_now;
    uint8_t nonce[8] = {7, 7, 7, 7, 7, 7, 7, 7}, d = 0x02, back[64];
    pend(t0 + 50, a, FK_CTAPHID_INIT, 8, nonce, 8);
    send_msg(a, FK_CTAPHID_CBOR, &d, 1, 0);
    assert_int_equal(read_msg(a, FK_CTAPHID_INIT, back, sizeof back), 17);
    assert_int_equal(fk_be32(back + 8), a);
    expect_nothing();
    assert_wiped();
    rx_init(a, FK_CTAPHID_PING, 1, &d, 1);
    assert_int_equal(read_msg(a, FK_CTAPHID_PING, back, sizeof back), 1);
    expect_nothing();
}

/* Allocation skips 0 and FFFFFFFF when the counter wraps, and a wrapped
 * CID is still known as allocated. */
static void test_cid_wrap(void **state)
{
    (void)state;
    fk_ctaphid_config_t cfg = g_hid.cfg;
    cfg.first_cid = 0xFFFFFFFEu;
    fk_ctaphid_init(&g_hid, &cfg);
    uint8_t d = 0x42, back[8];
    assert_int_equal(open_channel(0), 0xFFFFFFFEu);
    assert_int_equal(open_channel(0), 1);
    rx_init(1, FK_CTAPHID_PING, 1, &d, 1);
    assert_int_equal(read_msg(1, FK_CTAPHID_PING, back, sizeof back), 1);
    rx_init(0xFFFFFFFEu, FK_CTAPHID_PING, 1, &d, 1);
    assert_int_equal(read_msg(0xFFFFFFFEu, FK_CTAPHID_PING, back, sizeof back), 1);
    rx_init(2, FK_CTAPHID_PING, 1, &d, 1);
    expect_error(2, FK_CTAPHID_ERR_INVALID_CHANNEL);
    rx_init(0xFFFFFFFDu, FK_CTAPHID_PING, 1, &d, 1);
    expect_error(0xFFFFFFFDu, FK_CTAPHID_ERR_INVALID_CHANNEL);
    expect_nothing();
}

/* Outside a handler, keepalive and poll_cancel do nothing. */
static void test_idle_hooks(void **state)
{
    (void)state;
    assert_false(fk_ctaphid_keepalive(&g_hid, FK_CTAPHID_STATUS_UPNEEDED));
    assert_false(fk_ctaphid_poll_cancel(&g_hid));
    assert_false(fk_ctaphid_cancelled(&g_hid));
    expect_nothing();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_init_python_fido2, setup),
        cmocka_unit_test_setup(test_init_libfido2_and_unique_cids, setup),
        cmocka_unit_test_setup(test_invalid_channels, setup),
        cmocka_unit_test_setup(test_ping_limits, setup),
        cmocka_unit_test_setup(test_resync_by_init, setup),
        cmocka_unit_test_setup(test_stray_continuation, setup),
        cmocka_unit_test_setup(test_wrong_seq, setup),
        cmocka_unit_test_setup(test_channel_busy, setup),
        cmocka_unit_test_setup(test_lock, setup),
        cmocka_unit_test_setup(test_commands, setup),
        cmocka_unit_test_setup(test_timeout, setup),
        cmocka_unit_test_setup(test_handler, setup),
        cmocka_unit_test_setup(test_keepalive_cadence, setup),
        cmocka_unit_test_setup(test_cancel_during_handler, setup),
        cmocka_unit_test_setup(test_init_during_handler, setup),
        cmocka_unit_test_setup(test_cid_wrap, setup),
        cmocka_unit_test_setup(test_idle_hooks, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
