/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usb_ccid.c - the CCID class over the real fusekey card, driven
 * through the device core and the fake controller with the message
 * sequences libccid sends at start-up and in use, checked byte by byte:
 * slot status, power on (the product's ATR), parameters, SELECT and data
 * commands, a 4 KiB extended APDU in 64-byte packets, a long response with
 * 61xx and GET RESPONSE, chained commands and chained responses
 * (wLevelParameter / bChainParameter), time extensions while the card
 * waits for the user, ABORT during a command and during a chain, power
 * off, a bus reset during a command, hostile headers, and the wiping of
 * the class's buffers.
 *
 * User presence is wrapped (fk_hal_presence_wait): the wait advances the
 * fake clock and plays the host from inside the card command, as the host
 * keeps polling bulk IN and EP0 while a real user takes their time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "hal.h"
#include "usb_rig.h"
#include "usb_std.h"

#define SW_OK 0x9000u

static const uint8_t k_hsm_aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
static const uint8_t k_rescue_aid[] = {0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21};

static uint8_t g_resp[10u + 65536u + 64u];
static uint8_t g_out[65536u + 2u];
static size_t g_out_len;

/* ---- The slow user ---------------------------------------------------------- */

typedef enum wait_mode {
    WAIT_AT_ONCE = 0,
    WAIT_SLOW,       /* 2.5 s, the host polls bulk IN and asks GET_STATUS */
    WAIT_SLOW_ABORT, /* the same, with an ABORT of the running command */
    WAIT_SLOW_RESET, /* the host resets the bus in the middle */
} wait_mode_t;

static wait_mode_t g_wait;
static uint8_t g_wait_seq;           /* bSeq of the command that waits */
static unsigned g_time_ext_seen;     /* time-extension messages the host read */
static uint64_t g_first_time_ext_at; /* fake clock when the first arrived */
static uint64_t g_wait_start;
static bool g_ep0_alive;

int __wrap_fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg);
int __wrap_fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg)
{
    (void)timeout_ms;
    if (g_wait == WAIT_AT_ONCE) return FK_HAL_OK;
    assert_non_null(keepalive);
    rig_set_nested(keepalive, arg);
    g_wait_start = fake_millis();
    for (int step = 0; step < 10; step++) {
        fake_clock_advance(250);
        keepalive(arg);
        /* The host keeps reading bulk IN, as libccid does while it waits. */
        uint8_t pkt[64];
        const int n = fake_host_in(1, pkt, sizeof pkt, NULL);
        if (n >= 0) {
            static const uint8_t te[7] = {0x80, 0, 0, 0, 0, 0x00, 0x00};
            assert_int_equal(n, 10);
            assert_memory_equal(pkt, te, 6);
            assert_int_equal(pkt[6], g_wait_seq);
            assert_int_equal(pkt[7], 0x80); /* time extension, ICC active */
            assert_int_equal(pkt[8], 0x01); /* BWT multiplier */
            assert_int_equal(pkt[9], 0x00);
            if (g_time_ext_seen++ == 0) g_first_time_ext_at = fake_millis();
        }
        if (step == 3) {
            /* EP0 answers while the card is busy. */
            uint8_t st[2] = {0xAA, 0xAA};
            fake_ctrl_result_t r = rig_control(0x80, FK_USB_GET_STATUS, 0, 0, 2, st, sizeof st);
            g_ep0_alive = r.status == FAKE_ACK && r.len == 2 && st[0] == 0 && st[1] == 0;
        }
        if (step == 4 && g_wait == WAIT_SLOW_ABORT) {
            fake_ctrl_result_t r = rig_control(0x21, FK_CCID_REQ_ABORT,
                                               (uint16_t)(g_wait_seq << 8), 0, 0, NULL, 0);
            assert_int_equal(r.status, FAKE_ACK);
        }
        if (step == 5 && g_wait == WAIT_SLOW_RESET) fake_host_bus_reset();
    }
    rig_set_nested(NULL, NULL);
    return FK_HAL_OK;
}

/* ---- Helpers -------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    g_wait = WAIT_AT_ONCE;
    g_time_ext_seen = 0;
    g_ep0_alive = false;
    if (rig_setup(NULL) != 0) return -1;
    rig_enumerate();
    return 0;
}

static int setup_small(void **state)
{
    (void)state;
    g_wait = WAIT_AT_ONCE;
    const fk_ccid_config_t cfg = {.max_message = FK_CCID_MSG_MIN};
    if (rig_setup(&cfg) != 0) return -1;
    rig_enumerate();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return rig_teardown();
}

static uint16_t apdu(uint8_t seq, const uint8_t *a, size_t len)
{
    return rig_apdu(seq, a, len, g_out, sizeof g_out, &g_out_len);
}

#define APDU(seq, ...)                                   \
    ({                                                   \
        static const uint8_t a_[] = {__VA_ARGS__};       \
        apdu((seq), a_, sizeof(a_));                     \
    })

static uint16_t select_aid(uint8_t seq, const uint8_t *aid, size_t aid_len)
{
    uint8_t a[5 + 16 + 1];
    a[0] = 0x00;
    a[1] = 0xA4;
    a[2] = 0x04;
    a[3] = 0x00;
    a[4] = (uint8_t)aid_len;
    memcpy(a + 5, aid, aid_len);
    a[5 + aid_len] = 0x00;
    return apdu(seq, a, 6 + aid_len);
}

/* A header-only answer: type, dwLength 0, seq, status, error, last byte. */
static void assert_header(const uint8_t *r, size_t n, uint8_t type, uint8_t seq, uint8_t status,
                          uint8_t error, uint8_t b9)
{
    const uint8_t want[10] = {type, 0, 0, 0, 0, 0, seq, status, error, b9};
    assert_int_equal(n, 10);
    assert_memory_equal(r, want, 10);
}

static size_t exchange(uint8_t type, uint8_t seq, uint8_t b7, uint16_t level, const void *data,
                       size_t len)
{
    return rig_exchange(type, seq, b7, level, data, len, g_resp, sizeof g_resp);
}

/* The same APDU straight into the card (for byte-by-byte comparison). */
static size_t direct(const uint8_t *a, size_t len, uint8_t *out, size_t cap)
{
    size_t n;
    fk_devrig_xfer(&rig_dev, a, len, out, cap, &n);
    return n;
}

/* INITIALIZE as sc-hsm-tool sends it (user PIN 648219), then VERIFY. */
static void initialize_and_login(uint8_t *seq)
{
    assert_int_equal(select_aid((*seq)++, k_hsm_aid, sizeof k_hsm_aid), SW_OK);
    assert_int_equal(APDU((*seq)++, 0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81,
                          0x06, '6', '4', '8', '2', '1', '9', 0x82, 0x08, '5', '7', '6', '2',
                          '1', '8', '8', '0', 0x91, 0x01, 0x03),
                     SW_OK);
    assert_int_equal(APDU((*seq)++, 0x00, 0x20, 0x00, 0x81, 0x06, '6', '4', '8', '2', '1', '9'),
                     SW_OK);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

/* UPDATE BINARY D7 of fid at offset 0 with data (extended APDU); into a. */
static size_t update_binary_apdu(uint8_t *a, uint16_t fid, const uint8_t *data, size_t len)
{
    size_t n = 0;
    a[n++] = 0x00;
    a[n++] = 0xD7;
    a[n++] = (uint8_t)(fid >> 8);
    a[n++] = (uint8_t)fid;
    const size_t body = 4 + 4 + len; /* 54 02 0000 53 82 LLLL data */
    a[n++] = 0x00;
    a[n++] = (uint8_t)(body >> 8);
    a[n++] = (uint8_t)body;
    a[n++] = 0x54;
    a[n++] = 0x02;
    a[n++] = 0x00;
    a[n++] = 0x00;
    a[n++] = 0x53;
    a[n++] = 0x82;
    a[n++] = (uint8_t)(len >> 8);
    a[n++] = (uint8_t)len;
    memcpy(a + n, data, len);
    return n + len;
}

/* ---- libccid's start-up and use -------------------------------------------- */

static void test_libccid_startup(void **state)
{
    (void)state;
    /* GetSlotStatus: present, not active. */
    size_t n = exchange(FK_CCID_PC_GET_SLOT_STATUS, 0, 0, 0, NULL, 0);
    assert_header(g_resp, n, 0x81, 0, 0x01, 0x00, 0x00);

    /* IccPowerOn (automatic voltage): the product's ATR. */
    n = exchange(FK_CCID_PC_ICC_POWER_ON, 1, 0, 0, NULL, 0);
    const uint8_t *atr;
    const size_t atr_len = fk_card_atr(&rig_dev.card, &atr);
    static const uint8_t k_atr[] = {0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45};
    assert_int_equal(n, 10 + atr_len);
    const uint8_t head[10] = {0x80, (uint8_t)atr_len, 0, 0, 0, 0, 1, 0x00, 0x00, 0x00};
    assert_memory_equal(g_resp, head, 10);
    assert_memory_equal(g_resp + 10, atr, atr_len);
    assert_memory_equal(g_resp + 10, k_atr, sizeof k_atr);

    n = exchange(FK_CCID_PC_GET_SLOT_STATUS, 2, 0, 0, NULL, 0);
    assert_header(g_resp, n, 0x81, 2, 0x00, 0x00, 0x00);

    /* GetParameters: T=1 with the ATR's values. */
    static const uint8_t params[17] = {0x82, 7, 0, 0, 0, 0, 3, 0x00, 0x00, 0x01,
                                       0x18, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00};
    n = exchange(FK_CCID_PC_GET_PARAMETERS, 3, 0, 0, NULL, 0);
    assert_int_equal(n, sizeof params);
    assert_memory_equal(g_resp, params, sizeof params);

    /* SetParameters T=1 as libccid builds it from the ATR: echoed. */
    static const uint8_t t1[7] = {0x18, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00};
    n = exchange(FK_CCID_PC_SET_PARAMETERS, 4, 1, 0, t1, sizeof t1);
    assert_int_equal(n, sizeof params);
    assert_int_equal(g_resp[6], 4);
    assert_memory_equal(g_resp + 7, params + 7, 10);
    /* ResetParameters: the same. */
    n = exchange(FK_CCID_PC_RESET_PARAMETERS, 5, 0, 0, NULL, 0);
    assert_int_equal(n, sizeof params);
    assert_memory_equal(g_resp + 7, params + 7, 10);

    /* SELECT the SmartCard-HSM: the same bytes the card gives directly. */
    uint8_t sel[5 + sizeof k_hsm_aid + 1] = {0x00, 0xA4, 0x04, 0x00, sizeof k_hsm_aid};
    memcpy(sel + 5, k_hsm_aid, sizeof k_hsm_aid);
    n = exchange(FK_CCID_PC_XFR_BLOCK, 6, 0, 0, sel, sizeof sel);
    assert_int_equal(g_resp[0], 0x80);
    assert_int_equal(fk_le32(g_resp + 1), n - 10);
    assert_int_equal(g_resp[6], 6);
    assert_int_equal(g_resp[7], 0);
    assert_int_equal(g_resp[8], 0);
    assert_int_equal(g_resp[9], 0);
    assert_true(n > 12); /* the FCI and 9000 */
    assert_int_equal(g_resp[n - 2], 0x90);
    assert_int_equal(g_resp[n - 1], 0x00);
    static uint8_t want[512];
    const size_t w = direct(sel, sizeof sel, want, sizeof want);
    assert_int_equal(w, n - 10);
    assert_memory_equal(g_resp + 10, want, w);

    /* A command returning data: GET CHALLENGE of 32 bytes. */
    assert_int_equal(APDU(7, 0x00, 0x84, 0x00, 0x00, 0x20), SW_OK);
    assert_int_equal(g_out_len, 34);
    /* The rescue applet's SELECT answer carries the chip serial. */
    assert_int_equal(select_aid(8, k_rescue_aid, sizeof k_rescue_aid), SW_OK);
    assert_int_equal(g_out_len, 12 + 2);
    assert_memory_equal(g_out + 4, rig_serial, 8);

    assert_int_equal(fake_dcd_toggle_errors(), 0);
    assert_int_equal(fake_dcd_start_errors(), 0);
}

/* A 4 KiB extended APDU: UPDATE BINARY of 4096 bytes in one XfrBlock of
 * 65 packets, then READ BINARY of all of it (4098 bytes, a ZLP after the
 * exact multiple: 4108 = 64 x 64 + 12... and a 61xx-free answer). */
static void test_extended_4k_apdu(void **state)
{
    (void)state;
    uint8_t seq = 0;
    rig_power_on(seq++);
    initialize_and_login(&seq);
    static uint8_t data[4096];
    static uint8_t a[4096 + 32];
    fill(data, sizeof data, 1);
    const size_t n = update_binary_apdu(a, 0xCF00, data, sizeof data);
    assert_true(n > 4096);
    assert_int_equal(apdu(seq++, a, n), SW_OK);
    /* Read it back: B1 CF00 offset 0, Le 0000. */
    assert_int_equal(APDU(seq++, 0x00, 0xB1, 0xCF, 0x00, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00,
                          0x00, 0x00),
                     SW_OK);
    assert_int_equal(g_out_len, 4098);
    assert_memory_equal(g_out, data, 4096);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* A response longer than the class takes at once: 61xx, GET RESPONSE. */
static void test_long_response_get_response(void **state)
{
    (void)state;
    rig_power_on(0);
    assert_int_equal(select_aid(1, k_hsm_aid, sizeof k_hsm_aid), SW_OK);
    /* GET CHALLENGE of 5000 bytes (extended Le). */
    uint16_t sw = APDU(2, 0x00, 0x84, 0x00, 0x00, 0x00, 0x13, 0x88);
    assert_int_equal(sw >> 8, 0x61);
    assert_int_equal(g_out_len, 4096 + 2);
    size_t total = g_out_len - 2;
    uint8_t seq = 3;
    while ((sw >> 8) == 0x61) {
        sw = APDU(seq++, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00);
        total += g_out_len - 2;
    }
    assert_int_equal(sw, SW_OK);
    assert_int_equal(total, 5000);
    /* A response message of exactly 64 bytes (10 + 52 + SW): ends with a
     * ZLP (checked by the rig's receive). */
    assert_int_equal(APDU(seq++, 0x00, 0x84, 0x00, 0x00, 52), SW_OK);
    assert_int_equal(g_out_len, 54);
}

/* Chained command: a 6000-byte UPDATE BINARY APDU in three XfrBlocks
 * (wLevelParameter 1, 3, 2), each link answered with an empty DataBlock
 * (bChainParameter 0x10), as libccid sends what exceeds
 * dwMaxCCIDMessageLength; then the data read back with GET RESPONSE. */
static void test_chained_command(void **state)
{
    (void)state;
    uint8_t seq = 0;
    rig_power_on(seq++);
    initialize_and_login(&seq);
    static uint8_t data[6000];
    static uint8_t a[6000 + 32];
    fill(data, sizeof data, 2);
    const size_t n = update_binary_apdu(a, 0xCF01, data, sizeof data);
    const size_t cut1 = 2000, cut2 = 4098;
    size_t r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, FK_CCID_CHAIN_BEGIN, a, cut1);
    assert_header(g_resp, r, 0x80, seq++, 0x00, 0x00, 0x10);
    r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, FK_CCID_CHAIN_MORE, a + cut1, cut2 - cut1);
    assert_header(g_resp, r, 0x80, seq++, 0x00, 0x00, 0x10);
    /* A GetSlotStatus in between changes nothing. */
    r = exchange(FK_CCID_PC_GET_SLOT_STATUS, seq, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, seq++, 0x00, 0x00, 0x00);
    r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, FK_CCID_CHAIN_END, a + cut2, n - cut2);
    assert_int_equal(r, 12);
    assert_int_equal(g_resp[6], seq++);
    assert_int_equal(g_resp[9], 0x00);
    assert_int_equal(g_resp[10], 0x90);
    assert_int_equal(g_resp[11], 0x00);

    /* Read back: 4096 + 61xx, then GET RESPONSE for the rest. */
    uint16_t sw = APDU(seq++, 0x00, 0xB1, 0xCF, 0x01, 0x00, 0x00, 0x04, 0x54, 0x02, 0x00, 0x00,
                       0x00, 0x00);
    assert_int_equal(sw >> 8, 0x61);
    static uint8_t back[6000];
    size_t have = g_out_len - 2;
    memcpy(back, g_out, have);
    sw = APDU(seq++, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00);
    assert_int_equal(sw, SW_OK);
    memcpy(back + have, g_out, g_out_len - 2);
    have += g_out_len - 2;
    assert_int_equal(have, sizeof data);
    assert_memory_equal(back, data, sizeof data);

    /* Chain errors: a continuation without a beginning, a level that does
     * not exist, a response request with no response pending. */
    r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, FK_CCID_CHAIN_END, a, 10);
    assert_header(g_resp, r, 0x80, seq++, 0x40, 0x08, 0x00);
    r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, 0x0055, a, 10);
    assert_header(g_resp, r, 0x80, seq++, 0x40, 0x08, 0x00);
    r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, FK_CCID_CHAIN_NEXT, NULL, 0);
    assert_header(g_resp, r, 0x80, seq++, 0x40, 0x08, 0x00);
    /* A new APDU in place of an unfinished chain replaces it. */
    r = exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, FK_CCID_CHAIN_BEGIN, a, 100);
    assert_header(g_resp, r, 0x80, seq++, 0x00, 0x00, 0x10);
    assert_int_equal(APDU(seq++, 0x00, 0x84, 0x00, 0x00, 0x08), SW_OK);
    assert_int_equal(g_out_len, 10);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* With the smallest message limit (271), a 1002-byte response goes out
 * chained: 261 bytes (01), 261 (03), 261 (03), 219 (02), each further part
 * asked for with an empty XfrBlock of level 0x10. */
static void test_chained_response(void **state)
{
    (void)state;
    rig_power_on(0);
    assert_int_equal(select_aid(1, k_hsm_aid, sizeof k_hsm_aid), SW_OK);
    static const uint8_t gc[] = {0x00, 0x84, 0x00, 0x00, 0x00, 0x03, 0xE8}; /* 1000 bytes */
    size_t r = exchange(FK_CCID_PC_XFR_BLOCK, 2, 0, 0, gc, sizeof gc);
    static const uint8_t chains[4] = {0x01, 0x03, 0x03, 0x02};
    static const size_t lens[4] = {261, 261, 261, 219};
    static uint8_t all[1002];
    size_t have = 0;
    for (int k = 0; k < 4; k++) {
        if (k > 0) r = exchange(FK_CCID_PC_XFR_BLOCK, (uint8_t)(2 + k), 0, FK_CCID_CHAIN_NEXT,
                                NULL, 0);
        assert_int_equal(r, 10 + lens[k]);
        assert_int_equal(g_resp[0], 0x80);
        assert_int_equal(g_resp[6], 2 + k);
        assert_int_equal(g_resp[7], 0);
        assert_int_equal(g_resp[9], chains[k]);
        memcpy(all + have, g_resp + 10, lens[k]);
        have += lens[k];
    }
    assert_int_equal(all[1000], 0x90);
    assert_int_equal(all[1001], 0x00);
    /* Nothing more to fetch. */
    r = exchange(FK_CCID_PC_XFR_BLOCK, 6, 0, FK_CCID_CHAIN_NEXT, NULL, 0);
    assert_header(g_resp, r, 0x80, 6, 0x40, 0x08, 0x00);
    /* A new command in the middle of a chained response drops the rest. */
    r = exchange(FK_CCID_PC_XFR_BLOCK, 7, 0, 0, gc, sizeof gc);
    assert_int_equal(g_resp[9], 0x01);
    assert_int_equal(APDU(8, 0x00, 0x84, 0x00, 0x00, 0x08), SW_OK);
    r = exchange(FK_CCID_PC_XFR_BLOCK, 9, 0, FK_CCID_CHAIN_NEXT, NULL, 0);
    assert_header(g_resp, r, 0x80, 9, 0x40, 0x08, 0x00);
    /* Commands longer than 261 bytes must come chained at this limit, and
     * do: a 300-byte APDU in two links. */
    static uint8_t big[4 + 3 + 290];
    big[0] = 0x00;
    big[1] = 0x84; /* GET CHALLENGE with data: the card refuses it, 6700 */
    big[4] = 0;
    big[5] = 0x01;
    big[6] = 0x22;
    r = exchange(FK_CCID_PC_XFR_BLOCK, 10, 0, FK_CCID_CHAIN_BEGIN, big, 261);
    assert_header(g_resp, r, 0x80, 10, 0x00, 0x00, 0x10);
    r = exchange(FK_CCID_PC_XFR_BLOCK, 11, 0, FK_CCID_CHAIN_END, big + 261, sizeof big - 261);
    assert_int_equal(r, 12);
    assert_int_equal(g_resp[10], 0x67);
}

/* ---- Time extensions and abort -------------------------------------------- */

/* Board configuration write (rescue applet): user presence first. */
static const uint8_t k_board_write[] = {0x80, 0x1C, 0x01, 0x00, 0x06, 0x00, 0x04,
                                        0x12, 0x34, 0x56, 0x78};

static void test_time_extension(void **state)
{
    (void)state;
    rig_power_on(0);
    assert_int_equal(select_aid(1, k_rescue_aid, sizeof k_rescue_aid), SW_OK);
    g_wait = WAIT_SLOW;
    g_wait_seq = 2;
    const size_t r = exchange(FK_CCID_PC_XFR_BLOCK, 2, 0, 0, k_board_write, sizeof k_board_write);
    /* 2.5 s of waiting: time extensions at 1 s and 2 s, none before. */
    assert_int_equal(g_time_ext_seen, 2);
    assert_int_equal(g_first_time_ext_at - g_wait_start, 1000);
    assert_int_equal(fk_ccid_time_extensions(&rig_ccid), 2);
    assert_true(g_ep0_alive);
    /* The answer carries the command's bSeq. */
    const uint8_t want[12] = {0x80, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0x90, 0x00};
    assert_int_equal(r, 12);
    assert_memory_equal(g_resp, want, 12);
    g_wait = WAIT_AT_ONCE;
    /* It was written: read it back. */
    assert_int_equal(APDU(3, 0x80, 0x1E, 0x01, 0x00, 0x00), SW_OK);
    assert_int_equal(g_out_len, 6 + 2);
    assert_memory_equal(g_out, k_board_write + 5, 6);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

static void test_abort_during_command(void **state)
{
    (void)state;
    rig_power_on(0);
    assert_int_equal(select_aid(1, k_rescue_aid, sizeof k_rescue_aid), SW_OK);
    g_wait = WAIT_SLOW_ABORT;
    g_wait_seq = 2;
    size_t r = exchange(FK_CCID_PC_XFR_BLOCK, 2, 0, 0, k_board_write, sizeof k_board_write);
    g_wait = WAIT_AT_ONCE;
    /* The aborted command: failed, CMD_ABORTED, same bSeq. */
    assert_header(g_resp, r, 0x80, 2, 0x40, 0xFF, 0x00);
    /* Until the bulk Abort, everything else is refused as aborted. */
    r = exchange(FK_CCID_PC_GET_SLOT_STATUS, 3, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 3, 0x40, 0xFF, 0x00);
    r = exchange(FK_CCID_PC_ABORT, 2, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 2, 0x00, 0x00, 0x00);
    /* Then the reader works again, no response was left behind. */
    assert_false(rig_bulk_in_pending());
    assert_int_equal(APDU(4, 0x80, 0x1E, 0x01, 0x00, 0x00), SW_OK);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

static void test_abort_during_chain(void **state)
{
    (void)state;
    rig_power_on(0);
    static uint8_t a[600];
    a[0] = 0x00;
    a[1] = 0x84;
    size_t r = exchange(FK_CCID_PC_XFR_BLOCK, 1, 0, FK_CCID_CHAIN_BEGIN, a, 300);
    assert_header(g_resp, r, 0x80, 1, 0x00, 0x00, 0x10);
    fake_ctrl_result_t c = rig_control(0x21, FK_CCID_REQ_ABORT, 2 << 8, 0, 0, NULL, 0);
    assert_int_equal(c.status, FAKE_ACK);
    /* libccid's next message would be the bulk Abort; a late link is
     * refused as aborted. */
    r = exchange(FK_CCID_PC_XFR_BLOCK, 3, 0, FK_CCID_CHAIN_END, a + 300, 300);
    assert_header(g_resp, r, 0x80, 3, 0x40, 0xFF, 0x00);
    r = exchange(FK_CCID_PC_ABORT, 2, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 2, 0x00, 0x00, 0x00);
    /* The chain is gone: its end is refused, a new command works. */
    r = exchange(FK_CCID_PC_XFR_BLOCK, 4, 0, FK_CCID_CHAIN_END, a + 300, 300);
    assert_header(g_resp, r, 0x80, 4, 0x40, 0x08, 0x00);
    assert_int_equal(select_aid(5, k_hsm_aid, sizeof k_hsm_aid), SW_OK);
    /* Nothing of the dropped chain is left in the card's command buffer,
     * where the class receives commands. */
    for (size_t i = 0; i < sizeof rig_dev.card.cmd; i++) assert_int_equal(rig_dev.card.cmd[i], 0);
}

/* A bus reset while the card works: the response is dropped, the card
 * powered off, and the host starts over. */
static void test_reset_during_command(void **state)
{
    (void)state;
    rig_power_on(0);
    assert_int_equal(select_aid(1, k_rescue_aid, sizeof k_rescue_aid), SW_OK);
    g_wait = WAIT_SLOW_RESET;
    g_wait_seq = 2;
    uint8_t msg[64];
    const size_t n = rig_msg(msg, sizeof msg, FK_CCID_PC_XFR_BLOCK, 0, 2, 0, 0, 0, k_board_write,
                             sizeof k_board_write);
    rig_bulk_send(msg, n);
    g_wait = WAIT_AT_ONCE;
    assert_false(rig_ccid.powered);
    assert_false(rig_bulk_in_pending());
    rig_enumerate();
    size_t r = exchange(FK_CCID_PC_GET_SLOT_STATUS, 9, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 9, 0x01, 0x00, 0x00);
    rig_power_on(10);
    assert_int_equal(select_aid(11, k_hsm_aid, sizeof k_hsm_aid), SW_OK);
}

/* ---- Power, hostile input, wiping ------------------------------------------ */

static void test_power_off(void **state)
{
    (void)state;
    /* XfrBlock before power on: ICC inactive, ICC_MUTE. */
    uint8_t sel[5 + sizeof k_hsm_aid] = {0x00, 0xA4, 0x04, 0x00, sizeof k_hsm_aid};
    memcpy(sel + 5, k_hsm_aid, sizeof k_hsm_aid);
    size_t r = exchange(FK_CCID_PC_XFR_BLOCK, 0, 0, 0, sel, sizeof sel);
    assert_header(g_resp, r, 0x80, 0, 0x41, 0xFE, 0x00);
    rig_power_on(1);
    assert_int_equal(apdu(2, sel, sizeof sel), SW_OK);
    r = exchange(FK_CCID_PC_ICC_POWER_OFF, 3, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 3, 0x01, 0x00, 0x00);
    r = exchange(FK_CCID_PC_XFR_BLOCK, 4, 0, 0, sel, sizeof sel);
    assert_header(g_resp, r, 0x80, 4, 0x41, 0xFE, 0x00);
    r = exchange(FK_CCID_PC_GET_SLOT_STATUS, 5, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 5, 0x01, 0x00, 0x00);
    /* Power off twice is fine; power on again works. */
    r = exchange(FK_CCID_PC_ICC_POWER_OFF, 6, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 6, 0x01, 0x00, 0x00);
    rig_power_on(7);
    assert_int_equal(apdu(8, sel, sizeof sel), SW_OK);
}

static void test_hostile_headers(void **state)
{
    (void)state;
    rig_power_on(0);
    uint8_t msg[128];
    size_t n, r;

    /* Bad slot: ICC absent, bError 5 (the bSlot offset). */
    n = rig_msg(msg, sizeof msg, FK_CCID_PC_GET_SLOT_STATUS, 1, 1, 0, 0, 0, NULL, 0);
    rig_bulk_send(msg, n);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    static const uint8_t bad_slot1[10] = {0x81, 0, 0, 0, 0, 1, 1, 0x42, 0x05, 0x00};
    assert_int_equal(r, 10);
    assert_memory_equal(g_resp, bad_slot1, 10); /* bSlot echoed */
    n = rig_msg(msg, sizeof msg, FK_CCID_PC_XFR_BLOCK, 3, 2, 0, 0, 0, "\x00\x84\x00\x00\x08", 5);
    rig_bulk_send(msg, n);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    static const uint8_t bad_slot3[10] = {0x80, 0, 0, 0, 0, 3, 2, 0x42, 0x05, 0x00};
    assert_int_equal(r, 10);
    assert_memory_equal(g_resp, bad_slot3, 10);

    /* Unknown message type: SlotStatus, command not supported (offset 0). */
    r = exchange(0x99, 3, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 3, 0x40, 0x00, 0x00);
    /* Reader functions this one lacks: failed, bError 0, their own type. */
    r = exchange(FK_CCID_PC_ESCAPE, 4, 0, 0, "\x01\x02", 2);
    assert_header(g_resp, r, 0x83, 4, 0x40, 0x00, 0x00);
    r = exchange(FK_CCID_PC_ICC_CLOCK, 5, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 5, 0x40, 0x00, 0x00);
    r = exchange(FK_CCID_PC_SECURE, 6, 0, 0, "\x00", 1);
    assert_header(g_resp, r, 0x80, 6, 0x40, 0x00, 0x00);
    r = exchange(FK_CCID_PC_SET_RATE_CLOCK, 7, 0, 0, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
    assert_header(g_resp, r, 0x84, 7, 0x40, 0x00, 0x00);
    r = exchange(FK_CCID_PC_MECHANICAL, 8, 1, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 8, 0x40, 0x00, 0x00);

    /* SetParameters T=0: refused on bProtocolNum (offset 7), T=1 kept. */
    r = exchange(FK_CCID_PC_SET_PARAMETERS, 9, 0, 0, "\x11\x00\x00\x0A\x00", 5);
    assert_int_equal(r, 17);
    assert_int_equal(g_resp[0], 0x82);
    assert_int_equal(g_resp[7], 0x40);
    assert_int_equal(g_resp[8], 0x07);
    assert_int_equal(g_resp[9], 0x01);
    /* T=1 with the wrong data length: dwLength (offset 1). */
    r = exchange(FK_CCID_PC_SET_PARAMETERS, 10, 1, 0, "\x18\x10\x00\x45\x00", 5);
    assert_header(g_resp, r, 0x82, 10, 0x40, 0x01, 0x01);
    /* IccPowerOn with a voltage that does not exist: offset 7. */
    r = exchange(FK_CCID_PC_ICC_POWER_ON, 11, 7, 0, NULL, 0);
    assert_header(g_resp, r, 0x80, 11, 0x40, 0x07, 0x00);

    /* dwLength beyond the command buffer, all of it sent: XFR_OVERRUN, and
     * nothing written past the buffer (ASan would say). */
    static uint8_t huge[10 + FK_CCID_APDU_MAX + 100];
    memset(huge, 0x5A, sizeof huge);
    n = rig_msg(huge, sizeof huge, FK_CCID_PC_XFR_BLOCK, 0, 12, 0, 0, 0, NULL, 0);
    fk_put_le32(huge + 1, FK_CCID_APDU_MAX + 100);
    (void)n;
    rig_bulk_send(huge, sizeof huge);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    assert_header(g_resp, r, 0x80, 12, 0x40, 0xFC, 0x00);
    /* dwLength 0xFFFFFFFF with the transfer ending at once: overrun too. */
    n = rig_msg(msg, sizeof msg, FK_CCID_PC_XFR_BLOCK, 0, 13, 0, 0, 0, "\x00\x84\x00\x00", 4);
    fk_put_le32(msg + 1, 0xFFFFFFFFu);
    rig_bulk_send(msg, n);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    assert_header(g_resp, r, 0x80, 13, 0x40, 0xFC, 0x00);
    /* A body cut short: dwLength (offset 1). */
    n = rig_msg(msg, sizeof msg, FK_CCID_PC_XFR_BLOCK, 0, 14, 0, 0, 0, "\x00\x84\x00\x00\x08", 5);
    fk_put_le32(msg + 1, 100);
    rig_bulk_send(msg, n);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    assert_header(g_resp, r, 0x80, 14, 0x40, 0x01, 0x00);
    /* A header cut short: no answer at all, and the next message is read
     * from its own start. */
    rig_bulk_send((const uint8_t *)"\x65\x00\x00", 3);
    rig_pump();
    assert_false(rig_bulk_in_pending());
    r = exchange(FK_CCID_PC_GET_SLOT_STATUS, 15, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 15, 0x00, 0x00, 0x00);
    /* Bytes past dwLength in the same transfer are dropped. */
    n = rig_msg(msg, sizeof msg, FK_CCID_PC_GET_SLOT_STATUS, 0, 16, 0, 0, 0, "junk!", 5);
    fk_put_le32(msg + 1, 0);
    rig_bulk_send(msg, n);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    assert_header(g_resp, r, 0x81, 16, 0x00, 0x00, 0x00);
    rig_pump();
    assert_false(rig_bulk_in_pending());
    /* A message of exactly 64 bytes, no ZLP after it: framed by dwLength. */
    uint8_t a54[54] = {0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x08};
    n = rig_msg(msg, sizeof msg, FK_CCID_PC_XFR_BLOCK, 0, 17, 0, 0, 0, a54, sizeof a54);
    assert_int_equal(n, 64);
    rig_bulk_send(msg, n);
    r = rig_bulk_recv(g_resp, sizeof g_resp);
    assert_int_equal(g_resp[0], 0x80);
    assert_int_equal(g_resp[6], 17);
    /* A ZLP between messages is ignored. */
    assert_int_equal(fake_host_out(1, NULL, 0), FAKE_ACK);
    rig_pump();
    assert_false(rig_bulk_in_pending());
    r = exchange(FK_CCID_PC_GET_SLOT_STATUS, 18, 0, 0, NULL, 0);
    assert_header(g_resp, r, 0x81, 18, 0x00, 0x00, 0x00);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
}

/* ISO 7816 command chaining (CLA bit 0x10) across XfrBlocks: the class
 * receives each link into the card's receive area, which starts after the
 * data the card keeps, so the chain arrives whole; then nothing of it is
 * left in the card's buffer. */
static void test_iso_chaining(void **state)
{
    (void)state;
    uint8_t seq = 0;
    rig_power_on(seq++);
    assert_int_equal(APDU(seq++, 0x10, 0xA4, 0x04, 0x00, 0x05, 0xE8, 0x2B, 0x06, 0x01, 0x04),
                     SW_OK);
    assert_int_equal(g_out_len, 2);
    assert_memory_equal(rig_dev.card.cmd, ((const uint8_t[]){0xE8, 0x2B, 0x06, 0x01, 0x04}), 5);
    assert_int_equal(APDU(seq++, 0x10, 0xA4, 0x04, 0x00, 0x03, 0x01, 0x81, 0xC3), SW_OK);
    assert_int_equal(APDU(seq++, 0x00, 0xA4, 0x04, 0x00, 0x03, 0x1F, 0x02, 0x01, 0x00), SW_OK);
    assert_int_equal(g_out[0], 0x62); /* the HSM's FCP: the AID arrived whole */
    for (size_t i = 0; i < sizeof rig_dev.card.cmd; i++) assert_int_equal(rig_dev.card.cmd[i], 0);
}

/* After each exchange the class's buffers hold nothing of it. */
static void test_buffers_wiped(void **state)
{
    (void)state;
    uint8_t seq = 0;
    rig_power_on(seq++);
    initialize_and_login(&seq);
    static const uint8_t pin[6] = {'6', '4', '8', '2', '1', '9'};
    for (size_t i = 0; i + sizeof pin <= sizeof rig_dev.card.cmd; i++)
        assert_false(memcmp(rig_dev.card.cmd + i, pin, sizeof pin) == 0);
    /* A response with random data: gone from the response buffer too. */
    assert_int_equal(APDU(seq++, 0x00, 0x84, 0x00, 0x00, 0x00, 0x10, 0x00), SW_OK);
    for (size_t i = 0; i < sizeof rig_ccid.resp; i++) assert_int_equal(rig_ccid.resp[i], 0);
    for (size_t i = 0; i < sizeof rig_dev.card.cmd; i++) assert_int_equal(rig_dev.card.cmd[i], 0);
    for (size_t i = 0; i < sizeof rig_ccid.tx_pkt; i++) assert_int_equal(rig_ccid.tx_pkt[i], 0);
    for (size_t i = 0; i < sizeof rig_ccid.rx_pkt; i++) assert_int_equal(rig_ccid.rx_pkt[i], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_libccid_startup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extended_4k_apdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_response_get_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chained_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chained_response, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_time_extension, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_during_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_during_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_during_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iso_chaining, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_wiped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
