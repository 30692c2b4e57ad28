/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usb_fido_hid.c - the FIDO HID class in the composite device (CCID +
 * FIDO HID) on the fake controller, over the real FIDO applet: descriptors
 * as Linux's HID driver reads them, CTAPHID through the interrupt
 * endpoints, keepalives and CANCEL while the applet waits for the user,
 * and the card on the same device meanwhile.
 *
 * The host polls the interrupt IN endpoint on its own (fake_host_poll_in),
 * as a host controller does, so the class may send a whole CTAPHID response
 * from inside the request. User presence is wrapped: the test plays the
 * host from inside the wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cbor.h"
#include "usb_rig.h"
#include "usb_std.h"

#define EP_HID 3u
#define ITF_HID 1u
#define CID_BROADCAST 0xFFFFFFFFu
#define MAX_REPORTS 160u

/* ---- Input reports the host collected --------------------------------------- */

static uint8_t g_in[MAX_REPORTS][64];
static size_t g_in_count;

static void sink(const void *data, size_t len, void *arg)
{
    (void)arg;
    assert_int_equal(len, 64);
    assert_true(g_in_count < MAX_REPORTS);
    memcpy(g_in[g_in_count++], data, 64);
}

/* ---- Presence, played from inside the wait ---------------------------------- */

typedef enum { WAIT_AT_ONCE, WAIT_CANCEL } wait_mode_t;
static wait_mode_t g_wait;
static size_t g_upneeded_at_wait; /* UPNEEDED keepalives seen when the wait began */
static uint32_t g_cid;

static void put_init(uint8_t r[64], uint32_t cid, uint8_t cmd, const void *data, size_t len,
                     size_t total)
{
    memset(r, 0, 64);
    fk_put_be32(r, cid);
    r[4] = cmd;
    r[5] = (uint8_t)(total >> 8);
    r[6] = (uint8_t)total;
    if (len > 0) memcpy(r + 7, data, len);
}

static size_t count_keepalives(uint8_t status)
{
    size_t n = 0;
    for (size_t i = 0; i < g_in_count; i++) {
        if (g_in[i][4] == 0xBB && g_in[i][7] == status) n++;
    }
    return n;
}

int __wrap_fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg);
int __wrap_fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg)
{
    (void)timeout_ms;
    g_upneeded_at_wait = count_keepalives(0x02);
    if (g_wait == WAIT_AT_ONCE) return FK_HAL_OK;
    assert_non_null(keepalive);
    rig_set_nested(keepalive, arg);
    for (int step = 0; step < 10; step++) {
        fake_clock_advance(150);
        keepalive(arg);
        if (step == 2) {
            /* EP0 still answers while the applet waits. */
            uint8_t st[2] = {0xAA, 0xAA};
            const fake_ctrl_result_t r = rig_control(0x80, FK_USB_GET_STATUS, 0, 0, 2, st, 2);
            assert_int_equal(r.status, FAKE_ACK);
            /* The user gives up waiting on the host's side: CANCEL. */
            uint8_t c[64];
            put_init(c, g_cid, 0x91, NULL, 0, 0);
            assert_int_equal(fake_host_out(EP_HID, c, 64), FAKE_ACK);
        }
        if (rig_dev.svc.presence_cancel) {
            rig_set_nested(NULL, NULL);
            return FK_HAL_ECANCELED;
        }
    }
    rig_set_nested(NULL, NULL);
    return FK_HAL_ETIMEOUT;
}

/* ---- CTAPHID through the interrupt endpoints -------------------------------- */

static void send_report(const uint8_t r[64])
{
    int rc = FAKE_NAK;
    for (int i = 0; i < 16 && rc == FAKE_NAK; i++) {
        rc = fake_host_out(EP_HID, r, 64);
        if (rc == FAKE_NAK) rig_pump();
    }
    assert_int_equal(rc, FAKE_ACK);
}

/* Send one message (init + continuation packets). */
static void send_msg(uint32_t cid, uint8_t cmd, const uint8_t *data, size_t len)
{
    uint8_t r[64];
    const size_t first = len < 57 ? len : 57;
    put_init(r, cid, cmd, data, first, len);
    send_report(r);
    size_t off = first;
    for (uint8_t seq = 0; off < len; seq++) {
        memset(r, 0, 64);
        fk_put_be32(r, cid);
        r[4] = seq;
        const size_t n = len - off < 59 ? len - off : 59;
        memcpy(r + 5, data + off, n);
        send_report(r);
        off += n;
    }
}

/* The response message on cid (skipping keepalives) from the collected
 * reports; returns its command and fills out/len. */
static uint8_t recv_msg(uint32_t cid, uint8_t *out, size_t cap, size_t *len)
{
    size_t i = 0;
    while (i < g_in_count && (fk_be32(g_in[i]) != cid || g_in[i][4] == 0xBB)) i++;
    assert_true(i < g_in_count);
    const uint8_t cmd = g_in[i][4];
    const size_t total = (size_t)g_in[i][5] << 8 | g_in[i][6];
    assert_true(total <= cap);
    size_t got = total < 57 ? total : 57;
    memcpy(out, g_in[i] + 7, got);
    uint8_t seq = 0;
    for (i++; got < total; i++) {
        assert_true(i < g_in_count);
        assert_int_equal(fk_be32(g_in[i]), cid);
        assert_int_equal(g_in[i][4], seq++);
        const size_t n = total - got < 59 ? total - got : 59;
        memcpy(out + got, g_in[i] + 5, n);
        got += n;
    }
    *len = total;
    return cmd;
}

static uint32_t ctaphid_init(void)
{
    static const uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    g_in_count = 0;
    send_msg(CID_BROADCAST, 0x86, nonce, sizeof nonce);
    uint8_t resp[64];
    size_t len;
    assert_int_equal(recv_msg(CID_BROADCAST, resp, sizeof resp, &len), 0x86);
    assert_int_equal(len, 17);
    assert_memory_equal(resp, nonce, 8);
    assert_int_equal(resp[12], 2); /* CTAPHID protocol version */
    assert_int_equal(resp[16] & 0x04, 0x04); /* CBOR */
    assert_int_equal(resp[16] & 0x08, 0);    /* MSG served */
    const uint32_t cid = fk_be32(resp + 8);
    assert_true(cid != 0 && cid != CID_BROADCAST);
    return cid;
}

static int setup(void **state)
{
    (void)state;
    g_wait = WAIT_AT_ONCE;
    g_in_count = 0;
    if (rig_setup_fido(NULL) != 0) return -1;
    rig_enumerate();
    fake_host_poll_in(EP_HID, sink, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_host_poll_in(EP_HID, NULL, NULL);
    return rig_teardown();
}

/* ---- Tests ------------------------------------------------------------------ */

/* The configuration has the HID interface as Linux's usbhid expects it, and
 * the report descriptor says FIDO (usage page F1D0, 64-byte reports). */
static void test_descriptors(void **state)
{
    (void)state;
    size_t len;
    const uint8_t *cfg = fk_usbd_config_descriptor(&rig_usbd, &len);
    assert_int_equal(cfg[4], 2); /* bNumInterfaces: CCID and FIDO HID */
    const uint8_t *itf = NULL, *hid = NULL;
    size_t eps = 0;
    for (size_t i = 0; i + 2 <= len; i += cfg[i]) {
        const uint8_t *d = cfg + i;
        if (d[1] == FK_USB_DESC_INTERFACE && d[5] == FK_USB_CLASS_HID) itf = d;
        if (itf != NULL && d[1] == FK_HID_DESC_HID) hid = d;
        if (itf != NULL && d[1] == FK_USB_DESC_ENDPOINT) {
            assert_int_equal(d[3], FK_USB_EP_ATTR_INTERRUPT);
            assert_int_equal(fk_le16(d + 4), 64);
            assert_true(d[2] == 0x83 || d[2] == 0x03);
            eps++;
        }
    }
    assert_non_null(itf);
    assert_int_equal(itf[2], ITF_HID);
    assert_int_equal(itf[4], 2);
    assert_int_equal(itf[6], 0); /* no boot subclass */
    assert_true(itf[8] != 0);    /* named */
    assert_non_null(hid);
    assert_int_equal(hid[0], 9);
    assert_int_equal(hid[5], 1);
    assert_int_equal(hid[6], FK_HID_DESC_REPORT);
    assert_int_equal(fk_le16(hid + 7), FK_FIDO_HID_REPORT_DESC_LEN);
    assert_int_equal(eps, 2);

    /* GET_DESCRIPTOR(report) to the interface, as usbhid asks for it. */
    uint8_t buf[256];
    fake_ctrl_result_t r = rig_control(0x81, FK_USB_GET_DESCRIPTOR, 0x2200, ITF_HID, 255, buf,
                                       sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, FK_FIDO_HID_REPORT_DESC_LEN);
    static const uint8_t page[] = {0x06, 0xD0, 0xF1, 0x09, 0x01};
    assert_memory_equal(buf, page, sizeof page);
    /* The HID descriptor alone. */
    r = rig_control(0x81, FK_USB_GET_DESCRIPTOR, 0x2100, ITF_HID, 9, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, 9);
    assert_memory_equal(buf, hid, 9);
    /* The CCID interface has no class descriptors to give. */
    r = rig_control(0x81, FK_USB_GET_DESCRIPTOR, 0x2200, 0, 255, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_STALL);
    /* SET_IDLE is accepted, GET_REPORT over EP0 is not. */
    r = rig_control(0x21, FK_HID_REQ_SET_IDLE, 0, ITF_HID, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    r = rig_control(0xA1, FK_HID_REQ_GET_REPORT, 0x0100, ITF_HID, 64, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_STALL);
}

/* INIT, then a PING long enough for continuation packets both ways. */
static void test_init_ping(void **state)
{
    (void)state;
    const uint32_t cid = ctaphid_init();
    static uint8_t data[1000], back[1000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
    g_in_count = 0;
    send_msg(cid, 0x81, data, sizeof data);
    size_t len;
    assert_int_equal(recv_msg(cid, back, sizeof back, &len), 0x81);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(fake_dcd_toggle_errors(), 0);
    assert_int_equal(rig_fido.dropped, 0);
}

/* getInfo through the FIDO applet: status 0 and a canonical CBOR map whose
 * versions include FIDO_2_1. */
static void test_get_info(void **state)
{
    (void)state;
    const uint32_t cid = ctaphid_init();
    g_in_count = 0;
    const uint8_t req = 0x04;
    send_msg(cid, 0x90, &req, 1);
    static uint8_t resp[2048];
    size_t len;
    assert_int_equal(recv_msg(cid, resp, sizeof resp, &len), 0x90);
    assert_true(len > 1);
    assert_int_equal(resp[0], 0x00);
    fk_cbor_item_t top, versions, v;
    assert_int_equal(fk_cbor_decode(resp + 1, len - 1, FK_CBOR_CANONICAL, &top), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_int(&top, 1, &versions), FK_CBOR_OK);
    fk_cbor_iter_t it;
    assert_int_equal(fk_cbor_array_iter(&versions, &it), FK_CBOR_OK);
    bool found = false;
    while (fk_cbor_array_next(&it, &v) == FK_CBOR_OK) found = found || fk_cbor_is_text(&v, "FIDO_2_1");
    assert_true(found);
}

/* A selection waits for the user: UPNEEDED goes out before the wait
 * begins, EP0 is served during it, and the host's CANCEL ends it with
 * KEEPALIVE_CANCEL (2D). */
static void test_cancel_presence(void **state)
{
    (void)state;
    g_cid = ctaphid_init();
    g_wait = WAIT_CANCEL;
    g_in_count = 0;
    const uint8_t req = 0x0B; /* authenticatorSelection */
    send_msg(g_cid, 0x90, &req, 1);
    assert_true(g_upneeded_at_wait >= 1);
    uint8_t resp[8];
    size_t len;
    assert_int_equal(recv_msg(g_cid, resp, sizeof resp, &len), 0x90);
    assert_int_equal(len, 1);
    assert_int_equal(resp[0], 0x2D);
    assert_false(rig_dev.svc.presence_waiting);
}

/* The card answers on the CCID interface of the same device: SELECT of the
 * FIDO AID without Le gives the U2F version string at once. */
static void test_card_beside(void **state)
{
    (void)state;
    (void)ctaphid_init();
    rig_power_on(1);
    static const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00,
                                  0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};
    uint8_t out[64];
    size_t n;
    assert_int_equal(rig_apdu(2, sel, sizeof sel, out, sizeof out, &n), 0x9000);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "U2F_V2", 6);
}

/* A clock that moves 10 ms each time it is read, so a wait on it ends. */
static uint64_t ticking_millis(void)
{
    fake_clock_advance(10);
    return fake_millis();
}

static int setup_not_reading(void **state)
{
    (void)state;
    g_in_count = 0;
    g_wait = WAIT_AT_ONCE;
    if (rig_setup_fido(ticking_millis) != 0) return -1;
    rig_enumerate();
    return 0; /* the host does not poll the HID IN endpoint */
}

/* A host that stops reading (its client gone) costs one send timeout, not
 * one per report of the response; once the host reads again, responses
 * flow. */
static void test_host_stops_reading(void **state)
{
    (void)state;
    static const uint8_t nonce[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    send_msg(CID_BROADCAST, 0x86, nonce, sizeof nonce); /* its one report waits unread */
    static uint8_t data[1000];
    memset(data, 0x5A, sizeof data);
    const uint64_t t0 = fake_millis();
    send_msg(1, 0x81, data, sizeof data); /* 17 reports, none taken */
    const uint64_t spent = fake_millis() - t0;
    assert_true(spent >= FK_FIDO_HID_SEND_TIMEOUT_MS);
    assert_true(spent < 2u * FK_FIDO_HID_SEND_TIMEOUT_MS);
    assert_int_equal(rig_fido.dropped, 17); /* 57 + 16 x 59 bytes: every report of it */
    /* The host reads again: the INIT answer that waited, then a PING. */
    uint8_t pkt[64];
    assert_int_equal(fake_host_in(EP_HID, pkt, sizeof pkt, NULL), 64);
    assert_int_equal(pkt[4], 0x86);
    fake_host_poll_in(EP_HID, sink, NULL);
    g_in_count = 0;
    send_msg(1, 0x81, data, 100);
    uint8_t back[100];
    size_t len;
    assert_int_equal(recv_msg(1, back, sizeof back, &len), 0x81);
    assert_int_equal(len, 100);
    assert_memory_equal(back, data, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_ping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_presence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_card_beside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_stops_reading, setup_not_reading, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
