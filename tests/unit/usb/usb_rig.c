/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_rig.c - the USB tests' device and host (usb_rig.h).
 */
#include "usb_rig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "host_port.h"
#include "usb_std.h"

#define RECV_NAK_LIMIT 64

fk_testdev_t rig_dev;
fk_usbd_t rig_usbd;
fk_ccid_t rig_ccid;
fk_fido_hid_t rig_fido;
static _Alignas(8) uint8_t g_fido_state[FK_FIDO_STATE_SIZE];
const uint8_t rig_serial[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

static fk_devrig_t g_rig = {&rig_dev, rig_serial, fk_host_flash_open, fk_host_flash_close, 0};
static void (*g_nested)(void *);
static void *g_nested_arg;

void rig_set_nested(void (*keepalive)(void *), void *arg)
{
    g_nested = keepalive;
    g_nested_arg = arg;
}

void rig_pump(void)
{
    if (g_nested != NULL) {
        g_nested(g_nested_arg);
    } else {
        fk_usbd_task(&rig_usbd);
    }
}

static int setup(const fk_ccid_config_t *cfg, bool fido, uint64_t (*fido_millis)(void))
{
    if (fk_devrig_dir_create(&g_rig, "usb") != 0) return -1;
    if (fk_devrig_boot(&g_rig) != 0) return -1;
    fake_dcd_reset();
    fake_host_set_pump(rig_pump);
    g_nested = NULL;
    fk_ccid_config_t c = {.millis = fake_millis};
    if (cfg != NULL) c.max_message = cfg->max_message;
    if (fk_ccid_init(&rig_ccid, &rig_dev.card, &c) != FK_USBD_OK) return -1;
    const fk_fido_hid_config_t fc = {.millis = fido_millis != NULL ? fido_millis : fake_millis,
                                    .wink = NULL};
    if (fido && fk_fido_hid_init(&rig_fido, &rig_dev.svc, &fk_fido_applet, g_fido_state,
                                 sizeof g_fido_state, &fc) != FK_USBD_OK)
        return -1;
    const fk_usbd_identity_t id = {
        .vid = RIG_VID,
        .pid = RIG_PID,
        .bcd_device = RIG_BCD,
        .manufacturer = RIG_MANUFACTURER,
        .product = RIG_PRODUCT,
        .serial = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF},
    };
    const fk_usbd_class_t classes[] = {fk_ccid_class(&rig_ccid), fk_fido_hid_class(&rig_fido)};
    if (fk_usbd_init(&rig_usbd, &id, classes, fido ? 2 : 1) != FK_USBD_OK) return -1;
    fk_usbd_connect(&rig_usbd, true);
    return 0;
}

int rig_setup(const fk_ccid_config_t *cfg) { return setup(cfg, false, NULL); }

int rig_setup_fido(uint64_t (*millis)(void)) { return setup(NULL, true, millis); }

int rig_teardown(void)
{
    fake_host_set_pump(NULL);
    return fk_devrig_teardown(&g_rig);
}

void rig_setup_packet(uint8_t out[8], uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                      uint16_t length)
{
    out[0] = type;
    out[1] = req;
    fk_put_le16(out + 2, value);
    fk_put_le16(out + 4, index);
    fk_put_le16(out + 6, length);
}

fake_ctrl_result_t rig_control(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                               uint16_t length, void *buf, size_t cap)
{
    uint8_t s[8];
    rig_setup_packet(s, type, req, value, index, length);
    return fake_host_control(s, buf, cap);
}

void rig_enumerate(void)
{
    uint8_t buf[512];
    fake_host_bus_reset();
    fake_ctrl_result_t r = rig_control(0x80, FK_USB_GET_DESCRIPTOR, 0x0100, 0, 64, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    fake_host_bus_reset();
    r = rig_control(0x00, FK_USB_SET_ADDRESS, RIG_ADDRESS, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    fake_host_set_address(RIG_ADDRESS);
    r = rig_control(0x80, FK_USB_GET_DESCRIPTOR, 0x0200, 0, 9, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    const uint16_t total = fk_le16(buf + 2);
    r = rig_control(0x80, FK_USB_GET_DESCRIPTOR, 0x0200, 0, total, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(r.len, total);
    r = rig_control(0x00, FK_USB_SET_CONFIGURATION, 1, 0, 0, NULL, 0);
    assert_int_equal(r.status, FAKE_ACK);
    assert_true(fk_usbd_configured(&rig_usbd));
    bool d1;
    const int n = fake_host_in(2, buf, sizeof buf, &d1);
    assert_int_equal(n, 2);
    assert_int_equal(buf[0], 0x50);
    assert_int_equal(buf[1], 0x03);
}

void rig_bulk_send(const uint8_t *msg, size_t len)
{
    size_t off = 0;
    do {
        const size_t n = len - off < 64 ? len - off : 64;
        int rc = FAKE_NAK;
        for (int i = 0; i < RECV_NAK_LIMIT && rc == FAKE_NAK; i++) {
            rc = fake_host_out(1, msg + off, n);
            if (rc == FAKE_NAK) rig_pump();
        }
        assert_int_equal(rc, FAKE_ACK);
        off += n;
    } while (off < len);
}

bool rig_bulk_in_pending(void) { return fake_dcd_ep_armed(0x81); }

size_t rig_bulk_recv(uint8_t *buf, size_t cap)
{
    size_t len = 0;
    uint8_t pkt[64];
    for (;;) {
        int n = FAKE_NAK;
        for (int i = 0; i < RECV_NAK_LIMIT && n == FAKE_NAK; i++) {
            n = fake_host_in(1, pkt, sizeof pkt, NULL);
            if (n == FAKE_NAK) rig_pump();
        }
        assert_true(n >= 0);
        assert_true(len + (size_t)n <= cap);
        memcpy(buf + len, pkt, (size_t)n);
        len += (size_t)n;
        if (n < 64) {
            /* A ZLP only after a message that filled its last packet. */
            if (n == 0) {
                assert_true(len > 0 && len % 64 == 0);
            }
            break;
        }
        if (len >= 10 && len == 10u + fk_le32(buf + 1)) {
            /* Exactly full: the ZLP must follow. */
            n = FAKE_NAK;
            for (int i = 0; i < RECV_NAK_LIMIT && n == FAKE_NAK; i++) {
                n = fake_host_in(1, pkt, sizeof pkt, NULL);
                if (n == FAKE_NAK) rig_pump();
            }
            assert_int_equal(n, 0);
            break;
        }
    }
    assert_true(len >= 10);
    assert_int_equal(len, 10u + fk_le32(buf + 1));
    return len;
}

size_t rig_msg(uint8_t *out, size_t cap, uint8_t type, uint8_t slot, uint8_t seq, uint8_t b7,
               uint8_t b8, uint8_t b9, const void *data, size_t len)
{
    assert_true(10u + len <= cap);
    out[0] = type;
    fk_put_le32(out + 1, (uint32_t)len);
    out[5] = slot;
    out[6] = seq;
    out[7] = b7;
    out[8] = b8;
    out[9] = b9;
    if (len) memcpy(out + 10, data, len);
    return 10u + len;
}

size_t rig_exchange(uint8_t type, uint8_t seq, uint8_t b7, uint16_t level, const void *data,
                    size_t len, uint8_t *resp, size_t cap)
{
    static uint8_t msg[10u + FK_CCID_APDU_MAX + 16u];
    const size_t n = rig_msg(msg, sizeof msg, type, 0, seq, b7, (uint8_t)level,
                             (uint8_t)(level >> 8), data, len);
    rig_bulk_send(msg, n);
    return rig_bulk_recv(resp, cap);
}

uint16_t rig_apdu(uint8_t seq, const uint8_t *apdu, size_t len, uint8_t *out, size_t cap,
                  size_t *out_len)
{
    static uint8_t resp[10u + FK_CCID_RESP_MAX];
    const size_t n = rig_exchange(FK_CCID_PC_XFR_BLOCK, seq, 0, 0, apdu, len, resp, sizeof resp);
    assert_int_equal(resp[0], FK_CCID_RDR_DATA_BLOCK);
    assert_int_equal(resp[5], 0);
    assert_int_equal(resp[6], seq);
    assert_int_equal(resp[7], 0);
    assert_int_equal(resp[8], 0);
    assert_int_equal(resp[9], 0);
    assert_true(n >= 12);
    assert_true(n - 10 <= cap);
    memcpy(out, resp + 10, n - 10);
    *out_len = n - 10;
    return (uint16_t)((resp[n - 2] << 8) | resp[n - 1]);
}

void rig_power_on(uint8_t seq)
{
    uint8_t resp[128];
    const size_t n = rig_exchange(FK_CCID_PC_ICC_POWER_ON, seq, 0, 0, NULL, 0, resp, sizeof resp);
    const uint8_t *atr;
    const size_t atr_len = fk_card_atr(&rig_dev.card, &atr);
    assert_int_equal(n, 10 + atr_len);
    assert_int_equal(resp[0], 0x80);
    assert_int_equal(resp[6], seq);
    assert_int_equal(resp[7], 0);
    assert_int_equal(resp[8], 0);
    assert_memory_equal(resp + 10, atr, atr_len);
}
