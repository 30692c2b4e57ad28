/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the device layer (dispatch, SELECT by AID, chaining, GET
 * RESPONSE, class checks, power cycling) with the product's real applets over
 * the host port's file-backed flash and OTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devrig.h"
#include "host_port.h"
#include "version.h"

static fk_testdev_t g_dev;
static uint8_t g_out[65535];
static size_t g_out_len;

static const uint8_t k_hsm_aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
static const uint8_t k_serial[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "device");
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    return fk_devrig_xfer(&g_dev, apdu, len, g_out, sizeof(g_out), &g_out_len);
}

#define XFER(...)                                      \
    ({                                                 \
        static const uint8_t a_[] = {__VA_ARGS__};     \
        xfer(a_, sizeof(a_));                          \
    })

static uint16_t select_hsm(uint8_t le)
{
    uint8_t a[5 + sizeof(k_hsm_aid) + 1] = {0x00, 0xA4, 0x04, 0x00, sizeof(k_hsm_aid)};
    memcpy(a + 5, k_hsm_aid, sizeof(k_hsm_aid));
    a[sizeof(a) - 1] = le;
    return xfer(a, sizeof(a));
}

static void test_atr(void **state)
{
    (void)state;
    const uint8_t *atr;
    size_t n = fk_card_atr(&g_dev.card, &atr);
    assert_int_equal(n, 24);
    uint8_t x = 0;
    for (size_t i = 1; i < n; i++) x ^= atr[i];
    assert_int_equal(x, 0); /* TCK */
    assert_memory_equal(atr + 10, "\x31\x81\x54\x48\x53\x4D\x31", 7);
}

static void test_select_hsm_fcp(void **state)
{
    (void)state;
    assert_int_equal(select_hsm(0x00), 0x9000);
    size_t n = g_out_len - 2;
    assert_true(n > 2);
    assert_int_equal(g_out[0], 0x62);
    assert_int_equal(g_out[1], n - 2);
    /* 85 of exactly 5 bytes, a direct child of 62, ending with the version. */
    size_t i = 2;
    bool found = false;
    while (i + 2 <= n) {
        uint8_t tag = g_out[i], len = g_out[i + 1];
        assert_true(i + 2 + len <= n);
        assert_int_not_equal(tag, 0xA5);
        if (tag == 0x85) {
            assert_int_equal(len, 5);
            assert_int_equal(g_out[i + 2 + 3], 4);
            found = true;
        }
        i += 2u + len;
    }
    assert_int_equal(i, n);
    assert_true(found);

    /* P2 = 04 gives the same answer, P2 = 0C none, another P2 is refused. */
    uint8_t first[64];
    memcpy(first, g_out, g_out_len);
    size_t first_len = g_out_len;
    uint8_t a[5 + sizeof(k_hsm_aid) + 1] = {0x00, 0xA4, 0x04, 0x04, sizeof(k_hsm_aid)};
    memcpy(a + 5, k_hsm_aid, sizeof(k_hsm_aid));
    assert_int_equal(xfer(a, sizeof(a)), 0x9000);
    assert_int_equal(g_out_len, first_len);
    assert_memory_equal(g_out, first, first_len);
    a[3] = 0x0C;
    assert_int_equal(xfer(a, sizeof(a) - 1), 0x9000);
    assert_int_equal(g_out_len, 2);
    a[3] = 0x10;
    assert_int_equal(xfer(a, sizeof(a)), 0x6A86);
    /* A refused SELECT of another applet leaves the current one selected. */
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x7F, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21, 0x00),
                     0x6A86);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
}

/* A command without Le that produces data: the HSM answers its status
 * alone, as a SmartCard-HSM does (CardContact's PKCS#11 module relies on it
 * for GENERATE); the rescue applet announces the data with 61xx and gives
 * it with GET RESPONSE. */
static void test_case3_no_le(void **state)
{
    (void)state;
    uint8_t a[5 + sizeof(k_hsm_aid)] = {0x00, 0xA4, 0x04, 0x00, sizeof(k_hsm_aid)};
    memcpy(a + 5, k_hsm_aid, sizeof(k_hsm_aid));
    assert_int_equal(xfer(a, sizeof(a)), 0x9000);
    assert_int_equal(g_out_len, 2);
    /* Nothing is pending: GET RESPONSE is refused. */
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6985);
    /* GET CHALLENGE with Le still answers data. */
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
    assert_int_equal(g_out_len, 10);

    uint16_t sw = XFER(0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21);
    assert_int_equal(sw & 0xFF00, 0x6100);
    uint8_t avail = (uint8_t)sw;
    uint8_t gr[] = {0x00, 0xC0, 0x00, 0x00, avail};
    assert_int_equal(xfer(gr, sizeof(gr)), 0x9000);
    assert_int_equal(g_out_len, avail + 2u);
    /* Nothing left: another GET RESPONSE is refused. */
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6985);
}

static void test_response_longer_than_le(void **state)
{
    (void)state;
    assert_int_equal(select_hsm(0x00), 0x9000);
    uint8_t full[64];
    size_t full_len = g_out_len - 2;
    memcpy(full, g_out, full_len);

    /* Ask for 8 bytes: 8 bytes + 61xx, then the rest in two GET RESPONSEs. */
    uint16_t sw = select_hsm(0x08);
    assert_int_equal(g_out_len, 10);
    assert_int_equal(sw, 0x6100 | (full_len - 8));
    uint8_t got[64];
    memcpy(got, g_out, 8);
    size_t have = 8;
    sw = XFER(0x00, 0xC0, 0x00, 0x00, 0x04);
    assert_int_equal(sw, 0x6100 | (full_len - 12));
    memcpy(got + have, g_out, 4);
    have += 4;
    uint8_t gr[] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)(full_len - have)};
    assert_int_equal(xfer(gr, sizeof(gr)), 0x9000);
    memcpy(got + have, g_out, g_out_len - 2);
    have += g_out_len - 2;
    assert_int_equal(have, full_len);
    assert_memory_equal(got, full, full_len);

    /* Another command drops a pending response. */
    select_hsm(0x08);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6985);
    /* GET RESPONSE with P1/P2 set is refused. */
    select_hsm(0x08);
    assert_int_equal(XFER(0x00, 0xC0, 0x01, 0x00, 0x00), 0x6B00);
}

static void test_get_challenge(void **state)
{
    (void)state;
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
    assert_int_equal(g_out_len, 10);
    uint8_t first[8];
    memcpy(first, g_out, 8);
    assert_int_equal(XFER(0x80, 0x84, 0x00, 0x00, 0x08), 0x9000);
    assert_memory_not_equal(first, g_out, 8);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 258);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x00, 0x04, 0x00), 0x9000);
    assert_int_equal(g_out_len, 1026);
    /* 65536 bytes: more than the transport's frame, so 61xx and GET RESPONSE. */
    uint16_t sw = XFER(0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00);
    assert_int_equal(g_out_len, sizeof(g_out));
    assert_int_equal(sw, 0x6103);
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 5);
    /* Errors */
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00), 0x6700);
    assert_int_equal(XFER(0x00, 0x84, 0x01, 0x00, 0x08), 0x6A86);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x01, 0xAA, 0x08), 0x6700);
}

static void test_unknown_aid_keeps_selection(void **state)
{
    (void)state;
    /* Select the rescue applet, probe foreign AIDs, and check it is still the
     * one answering (it requires CLA 80, the HSM would answer a CLA 00 GET
     * CHALLENGE). */
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x04, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21, 0x00),
                     0x9000);
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x07, 0x62, 0x76, 0x01, 0xFF, 0x00, 0x00, 0x00), 0x6A82);
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x06, 0xA0, 0x00, 0x00, 0x00, 0x01, 0x01), 0x6A82);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x6E00);
    /* Power cycle: the default applet (HSM) is selected again. */
    fk_card_power_off(&g_dev.card);
    fk_card_power_on(&g_dev.card);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
}

static void test_partial_aid(void **state)
{
    (void)state;
    /* A right-truncated AID (at least a RID) selects the applet it starts. */
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x00), 0x9000);
    assert_int_equal(g_out_len, 14);
    /* Shorter prefixes do not. */
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x58, 0x00), 0x6A82);
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x00), 0x6A82);
}

static void test_rescue_select(void **state)
{
    (void)state;
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x04, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21, 0x00),
                     0x9000);
    assert_int_equal(g_out_len, 14);
    assert_int_equal(g_out[0], 3); /* emulation */
    assert_int_equal(g_out[1], 1); /* HSM */
    assert_int_equal(g_out[2], FK_VERSION_MAJOR);
    assert_int_equal(g_out[3], FK_VERSION_MINOR);
    assert_memory_equal(g_out + 4, k_serial, 8);
    assert_int_equal(XFER(0x00, 0x1E, 0x02, 0x00, 0x00), 0x6E00);
}

static uint16_t select_rescue(void)
{
    return XFER(0x00, 0xA4, 0x04, 0x04, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21, 0x00);
}

static void test_rescue_config(void **state)
{
    (void)state;
    assert_int_equal(select_rescue(), 0x9000);
    /* Valid: VID/PID, options, product string. */
    assert_int_equal(XFER(0x80, 0x1C, 0x01, 0x00, 0x0E, 0x00, 0x04, 0x20, 0xA0, 0x42, 0x42, 0x06, 0x02,
                          0x00, 0x01, 0x09, 0x02, 0x41, 0x00),
                     0x9000);
    assert_int_equal(XFER(0x80, 0x1E, 0x01, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 14 + 2);
    assert_memory_equal(g_out, "\x00\x04\x20\xA0\x42\x42\x06\x02\x00\x01\x09\x02\x41\x00", 14);

    /* Invalid lists are refused and change nothing. */
    static const uint8_t bad[][8] = {
        {0x80, 0x1C, 0x01, 0x00, 0x03, 0x04, 0x02, 0x01},       /* wrong length for LED GPIO */
        {0x80, 0x1C, 0x01, 0x00, 0x03, 0x07, 0x01, 0x01},       /* unknown tag */
        {0x80, 0x1C, 0x01, 0x00, 0x03, 0x04, 0x05, 0x01},       /* item runs past the end */
        {0x80, 0x1C, 0x01, 0x00, 0x03, 0x09, 0x01, 0x41},       /* product without NUL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(xfer(bad[i], 8), 0x6A80);
    assert_int_equal(XFER(0x80, 0x1C, 0x01, 0x00, 0x06, 0x04, 0x01, 0x05, 0x04, 0x01, 0x06), 0x6A80);
    assert_int_equal(XFER(0x80, 0x1C, 0x05, 0x00, 0x03, 0x04, 0x01, 0x05), 0x6A86);
    assert_int_equal(XFER(0x80, 0x1E, 0x01, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 14 + 2);

    /* Presence declined or timed out: refused, nothing written. */
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_not_equal(XFER(0x80, 0x1C, 0x01, 0x00, 0x03, 0x04, 0x01, 0x05), 0x9000);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(XFER(0x80, 0x1E, 0x01, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 14 + 2);

    /* The record survives a re-initialisation (a reboot). */
    fk_card_power_off(&g_dev.card);
    assert_int_equal(fk_devrig_init(&g_dev), FK_SERVICES_OK);
    fk_card_power_on(&g_dev.card);
    assert_int_equal(select_rescue(), 0x9000);
    assert_int_equal(XFER(0x80, 0x1E, 0x01, 0x00, 0x00), 0x9000);
    assert_memory_equal(g_out, "\x00\x04\x20\xA0\x42\x42", 6);
}

static void test_rescue_flash_stats(void **state)
{
    (void)state;
    assert_int_equal(select_rescue(), 0x9000);
    assert_int_equal(XFER(0x80, 0x1E, 0x02, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 20 + 2);
    uint32_t v[5];
    for (int i = 0; i < 5; i++)
        v[i] = (uint32_t)g_out[4 * i] << 24 | (uint32_t)g_out[4 * i + 1] << 16 |
               (uint32_t)g_out[4 * i + 2] << 8 | g_out[4 * i + 3];
    assert_true(v[0] > 0 && v[1] > 0);       /* free, used (the seal seed at least) */
    assert_true(v[0] + v[1] <= v[2]);        /* within the total */
    assert_true(v[3] >= 1);                  /* files */
    assert_int_equal(v[4], FK_HOST_FLASH_SIZE);
    /* The migration to the OTP root: none without an OTP master key. */
    assert_int_equal(XFER(0x80, 0x1E, 0x07, 0x00, 0x00), 0x9000);
    assert_int_equal(g_out_len, 3 + 2);
    assert_memory_equal(g_out, "\x01\x00\x00", 3);
    assert_int_equal(XFER(0x80, 0x1E, 0x08, 0x00, 0x00), 0x6A86);
    assert_int_equal(XFER(0x80, 0x55, 0x00, 0x00, 0x00), 0x6D00);
}

static void test_chaining(void **state)
{
    (void)state;
    /* SELECT by AID in two links. */
    assert_int_equal(XFER(0x10, 0xA4, 0x04, 0x00, 0x05, 0xE8, 0x2B, 0x06, 0x01, 0x04), 0x9000);
    assert_int_equal(g_out_len, 2);
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x06, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00), 0x9000);
    assert_int_equal(g_out[0], 0x62);

    /* Three links, the middle one extended. */
    assert_int_equal(XFER(0x10, 0xA4, 0x04, 0x00, 0x03, 0xE8, 0x2B, 0x06), 0x9000);
    assert_int_equal(XFER(0x10, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x04, 0x01, 0x04, 0x01, 0x81), 0x9000);
    assert_int_equal(XFER(0x00, 0xA4, 0x04, 0x00, 0x04, 0xC3, 0x1F, 0x02, 0x01, 0x00), 0x9000);
    assert_int_equal(g_out[0], 0x62);

    /* A chain interrupted by another command. */
    assert_int_equal(XFER(0x10, 0xA4, 0x04, 0x00, 0x03, 0xE8, 0x2B, 0x06), 0x9000);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x6883);
    /* ... is dropped: the next command runs normally. */
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);

    /* A chain longer than the command buffer. */
    static uint8_t big[7 + 65535];
    big[0] = 0x10;
    big[1] = 0xD7;
    big[5] = 0xFF;
    big[6] = 0xFF;
    assert_int_equal(xfer(big, sizeof(big)), 0x9000);
    big[5] = 0x00;
    big[6] = 0x01;
    assert_int_equal(xfer(big, 8), 0x6700);
    /* Chain state is gone. */
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
}

/* n bytes at p are all zero. */
static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return false;
    return true;
}

/* A transport that receives straight into the card (fk_card_rx_area): a
 * whole extended APDU fits; chained links land after the data kept; every
 * byte received is wiped once processed, chained data only at the end. */
static void test_rx_area(void **state)
{
    (void)state;
    fk_card_t *card = &g_dev.card;
    size_t cap = 0;
    uint8_t *rx = fk_card_rx_area(card, &cap);
    assert_int_equal(cap, FK_CARD_CMD_MAX + FK_CARD_APDU_OVERHEAD);
    assert_ptr_equal(rx, card->cmd);

    /* SELECT of the HSM, received in place. */
    uint8_t sel[5 + sizeof(k_hsm_aid) + 1] = {0x00, 0xA4, 0x04, 0x00, sizeof(k_hsm_aid)};
    memcpy(sel + 5, k_hsm_aid, sizeof(k_hsm_aid));
    memcpy(rx, sel, sizeof sel);
    g_out_len = fk_card_transceive(card, rx, sizeof sel, g_out, sizeof g_out);
    assert_int_equal(g_out[g_out_len - 2], 0x90);
    assert_int_equal(g_out[0], 0x62);
    assert_true(all_zero(card->cmd, sizeof sel));

    /* The same SELECT in two links, each received in the area. */
    rx = fk_card_rx_area(card, &cap);
    static const uint8_t link1[] = {0x10, 0xA4, 0x04, 0x00, 0x05, 0xE8, 0x2B, 0x06, 0x01, 0x04};
    memcpy(rx, link1, sizeof link1);
    g_out_len = fk_card_transceive(card, rx, sizeof link1, g_out, sizeof g_out);
    assert_int_equal(g_out_len, 2);
    assert_int_equal(g_out[0], 0x90);
    /* The data kept: the link's 5 bytes, nothing else left in the area. */
    assert_memory_equal(card->cmd, link1 + 5, 5);
    assert_true(all_zero(card->cmd + 5, sizeof link1));
    uint8_t *rx2 = fk_card_rx_area(card, &cap);
    assert_ptr_equal(rx2, card->cmd + 5);
    assert_int_equal(cap, FK_CARD_CMD_MAX + FK_CARD_APDU_OVERHEAD - 5);
    static const uint8_t link2[] = {0x00, 0xA4, 0x04, 0x00, 0x06, 0x01, 0x81, 0xC3,
                                    0x1F, 0x02, 0x01, 0x00};
    memcpy(rx2, link2, sizeof link2);
    g_out_len = fk_card_transceive(card, rx2, sizeof link2, g_out, sizeof g_out);
    assert_int_equal(g_out[0], 0x62);
    assert_int_equal(g_out[g_out_len - 2], 0x90);
    assert_true(all_zero(card->cmd, 5 + sizeof link2));
    rx = fk_card_rx_area(card, &cap);
    assert_ptr_equal(rx, card->cmd);

    /* The largest extended command fits the area: 7 + 65535 + 2 bytes,
     * refused by the applet, never by the buffer. */
    memset(rx, 0x5A, 7 + 65535 + 2);
    rx[0] = 0x00;
    rx[1] = 0xD7; /* UPDATE BINARY, odd INS */
    rx[2] = 0xCC;
    rx[3] = 0x01;
    rx[4] = 0x00;
    rx[5] = 0xFF;
    rx[6] = 0xFF;
    rx[7 + 65535] = 0x00;
    rx[7 + 65535 + 1] = 0x00;
    g_out_len = fk_card_transceive(card, rx, 7 + 65535 + 2, g_out, sizeof g_out);
    assert_int_equal(g_out_len, 2);
    assert_int_not_equal(g_out[0] << 8 | g_out[1], 0x6700);
    assert_true(all_zero(card->cmd, 7 + 65535 + 2));
}

static void test_malformed(void **state)
{
    (void)state;
    assert_int_equal(XFER(0x00, 0xA4, 0x04), 0x6700);
    assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81, 0x06, 0x31, 0x32, 0x33, 0x34, 0x35), 0x6700);
    assert_int_equal(XFER(0xFF, 0x84, 0x00, 0x00, 0x08), 0x6E00);
    assert_int_equal(XFER(0x20, 0x84, 0x00, 0x00, 0x08), 0x6E00);
    assert_int_equal(XFER(0x01, 0x84, 0x00, 0x00, 0x08), 0x6881);
    assert_int_equal(XFER(0x40, 0x84, 0x00, 0x00, 0x08), 0x6881);
    assert_int_equal(XFER(0x00, 0x01, 0x00, 0x00), 0x6D00);
    /* A chain whose assembled command is a GET CHALLENGE with data. */
    assert_int_equal(XFER(0x90, 0x84, 0x00, 0x00, 0x01, 0xAA), 0x9000);
    assert_int_equal(XFER(0x80, 0x84, 0x00, 0x00, 0x08), 0x6700);
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x00, 0x02, 0xCF, 0x02, 0x00), 0x6A82);
    assert_int_equal(XFER(0x00, 0xA4, 0x09, 0x00, 0x02, 0x2F, 0x02, 0x00), 0x6A86);
    /* Still alive */
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
}

static void test_persistent_across_reinit(void **state)
{
    (void)state;
    /* A second init over the same flash mounts what the first one wrote. */
    fk_card_power_off(&g_dev.card);
    assert_int_equal(fk_devrig_init(&g_dev), FK_SERVICES_OK);
    fk_card_power_on(&g_dev.card);
    assert_int_equal(select_hsm(0x00), 0x9000);
}

/* A second endpoint over the same services object shares the stores but
 * none of the first card's state: selection, sessions, chaining, pending
 * responses. */
static fk_card_t g_card2;
static fk_product_card_state_t g_state2;

static uint16_t xfer2(const uint8_t *apdu, size_t len)
{
    g_out_len = fk_card_transceive(&g_card2, apdu, len, g_out, sizeof(g_out));
    assert_true(g_out_len >= 2);
    return (uint16_t)((g_out[g_out_len - 2] << 8) | g_out[g_out_len - 1]);
}

#define XFER2(...)                                     \
    ({                                                 \
        static const uint8_t a_[] = {__VA_ARGS__};     \
        xfer2(a_, sizeof(a_));                         \
    })

static void test_second_endpoint(void **state)
{
    (void)state;
    assert_int_equal(fk_card_init(&g_card2, &g_dev.svc, &g_state2, sizeof(g_state2)), FK_CARD_OK);
    fk_card_power_on(&g_card2);

    /* INITIALIZE and VERIFY on the first card. */
    assert_int_equal(XFER(0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, '6',
                          '4', '8', '2', '1', '9', 0x82, 0x08, '5', '7', '6', '2', '1', '8', '8',
                          '0', 0x91, 0x01, 0x03),
                     0x9000);
    assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81, 0x06, '6', '4', '8', '2', '1', '9'), 0x9000);
    assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81), 0x9000);
    /* The second card sees the initialized device but no verified PIN. */
    assert_int_equal(XFER2(0x00, 0x20, 0x00, 0x81), 0x63C3);
    /* The rescue applet selected on the second card leaves the first alone. */
    assert_int_equal(XFER2(0x00, 0xA4, 0x04, 0x04, 0x08, 0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F,
                           0x21, 0x00),
                     0x9000);
    assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81), 0x9000);
    /* A pending response and an open chain of one card are not the other's. */
    assert_int_equal(select_hsm(0x01) & 0xFF00, 0x6100);
    assert_int_equal(XFER2(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6985);
    assert_int_equal(XFER2(0x90, 0xA4, 0x04, 0x00, 0x05, 0xE8, 0x2B, 0x06, 0x01, 0x04), 0x9000);
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x9000);
    assert_int_equal(XFER(0x00, 0x84, 0x00, 0x00, 0x08), 0x9000);
    /* (That SELECT logged the first card out.) Powering the second card off
     * does not log the first out. */
    assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81, 0x06, '6', '4', '8', '2', '1', '9'), 0x9000);
    fk_card_power_off(&g_card2);
    assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81), 0x9000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atr),
        cmocka_unit_test(test_select_hsm_fcp),
        cmocka_unit_test(test_case3_no_le),
        cmocka_unit_test(test_response_longer_than_le),
        cmocka_unit_test(test_get_challenge),
        cmocka_unit_test(test_unknown_aid_keeps_selection),
        cmocka_unit_test(test_partial_aid),
        cmocka_unit_test(test_rescue_select),
        cmocka_unit_test(test_rescue_config),
        cmocka_unit_test(test_rescue_flash_stats),
        cmocka_unit_test(test_chaining),
        cmocka_unit_test(test_rx_area),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_persistent_across_reinit),
        cmocka_unit_test(test_second_endpoint), /* last: it initializes the HSM */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
