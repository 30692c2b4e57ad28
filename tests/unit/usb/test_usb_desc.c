/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_usb_desc.c - descriptor conformance: the descriptors the device
 * sends, walked and checked against the rules of USB 2.0 chapter 9 and of
 * CCID 1.1 §5 (lengths, totals, interface and endpoint numbering, full-speed
 * packet sizes, class codes, the CCID functional descriptor with its
 * exchange level and message length coherent with the class's buffers),
 * for the device as shipped, with the smallest message limit, and as a
 * composite device. The checker itself is shown to catch broken
 * descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "usb_rig.h"
#include "usb_std.h"

static char g_why[160];

#define FAIL(...)                                         \
    do {                                                  \
        snprintf(g_why, sizeof g_why, __VA_ARGS__);       \
        return g_why;                                     \
    } while (0)

static const char *check_device(const uint8_t *d, size_t len)
{
    if (len != 18 || d[0] != 18 || d[1] != FK_USB_DESC_DEVICE) FAIL("device: length or type");
    if (fk_le16(d + 2) != 0x0200 && fk_le16(d + 2) != 0x0110) FAIL("device: bcdUSB");
    if (d[7] != 8 && d[7] != 16 && d[7] != 32 && d[7] != 64) FAIL("device: bMaxPacketSize0");
    if (d[4] != 0 && d[4] != FK_USB_CLASS_MISC) FAIL("device: bDeviceClass");
    if (d[17] != 1) FAIL("device: bNumConfigurations");
    return NULL;
}

/* The CCID functional descriptor d (after interface itf). */
static const char *check_ccid(const uint8_t *d)
{
    if (d[0] != 0x36 || d[1] != 0x21) FAIL("ccid: bLength/bDescriptorType");
    if (fk_le16(d + 2) != 0x0110) FAIL("ccid: bcdCCID");
    if (d[4] != 0) FAIL("ccid: bMaxSlotIndex (one slot)");
    if (d[5] == 0 || (d[5] & ~0x07u) != 0) FAIL("ccid: bVoltageSupport");
    const uint32_t protocols = fk_le32(d + 6);
    if (protocols == 0 || (protocols & ~3u) != 0) FAIL("ccid: dwProtocols");
    if (fk_le32(d + 10) == 0 || fk_le32(d + 14) < fk_le32(d + 10))
        FAIL("ccid: clocks");
    /* No lists: GET_CLOCK_FREQUENCIES / GET_DATA_RATES are stalled. */
    if (d[18] != 0 || d[27] != 0) FAIL("ccid: bNumClockSupported/bNumDataRatesSupported");
    if (fk_le32(d + 19) == 0 || fk_le32(d + 23) < fk_le32(d + 19))
        FAIL("ccid: data rates");
    const uint32_t ifsd = fk_le32(d + 28);
    if (ifsd == 0 || ifsd > 254) FAIL("ccid: dwMaxIFSD");
    const uint32_t features = fk_le32(d + 40);
    const uint32_t level = features & 0x00070000u;
    if (level != 0x00010000u && level != 0x00020000u && level != 0x00040000u)
        FAIL("ccid: dwFeatures must name exactly one exchange level (0x%08x)", features);
    if ((features & 0x00000002u) == 0) FAIL("ccid: automatic parameters from the ATR expected");
    const uint32_t max_msg = fk_le32(d + 44);
    if (level != 0x00010000u && max_msg < 10u + 261u)
        FAIL("ccid: dwMaxCCIDMessageLength %u below a short APDU", max_msg);
    if (level == 0x00040000u) {
        /* Whatever the host may send in one message fits the command
         * buffer, the command buffer takes the longest extended APDU
         * (longer messages come chained), and a whole response message
         * fits what the class sends in one piece. */
        if (max_msg - 10u > FK_CCID_APDU_MAX) FAIL("ccid: messages longer than the buffer");
        if (FK_CCID_APDU_MAX < 4u + 3u + 65535u + 2u) FAIL("ccid: buffer below an extended APDU");
        if (max_msg > FK_CCID_MSG_MAX) FAIL("ccid: responses longer than the response buffer");
    }
    if (d[48] != 0xFF || d[49] != 0xFF) FAIL("ccid: bClassGetResponse/bClassEnvelope");
    if (fk_le16(d + 50) != 0 || d[52] != 0) FAIL("ccid: no LCD and no PIN pad");
    if (d[53] < 1) FAIL("ccid: bMaxCCIDBusySlots");
    return NULL;
}

/* Walk a configuration descriptor. */
static const char *check_config(const uint8_t *c, size_t len)
{
    if (len < 9 || c[0] != 9 || c[1] != FK_USB_DESC_CONFIGURATION) FAIL("config: header");
    if (fk_le16(c + 2) != len) FAIL("config: wTotalLength %u vs %zu", fk_le16(c + 2), len);
    if (c[5] == 0) FAIL("config: bConfigurationValue 0");
    if ((c[7] & 0x80u) == 0 || (c[7] & 0x1Fu) != 0) FAIL("config: bmAttributes");
    if (c[8] > 250) FAIL("config: bMaxPower");

    size_t sum = 0, i = 0;
    unsigned n_itf = 0, itf_expected = 0;
    uint32_t eps_seen = 0;
    int eps_left = -1; /* endpoints the current interface still announces */
    int ccid_itf = 0;  /* 1 after a CCID interface until its class descriptor */
    unsigned ccid_bulk_out = 0, ccid_bulk_in = 0, ccid_int_in = 0;
    uint8_t cur_class = 0;
    while (i < len) {
        const uint8_t *d = c + i;
        if (len - i < 2 || d[0] < 2 || d[0] > len - i) FAIL("descriptor at %zu runs past the end", i);
        sum += d[0];
        switch (d[1]) {
        case FK_USB_DESC_CONFIGURATION:
            if (i != 0) FAIL("a second configuration descriptor");
            break;
        case FK_USB_DESC_INTERFACE:
            if (d[0] != 9) FAIL("interface: bLength");
            if (eps_left > 0) FAIL("interface %u: endpoints missing", itf_expected - 1);
            if (ccid_itf == 1) FAIL("ccid: no class descriptor");
            if (cur_class == FK_USB_CLASS_SMART_CARD &&
                (ccid_bulk_out != 1 || ccid_bulk_in != 1 || ccid_int_in > 1))
                FAIL("ccid: endpoints");
            if (d[3] == 0) {
                if (d[2] != itf_expected) FAIL("interface numbers not 0..n-1");
                itf_expected++;
                n_itf++;
            }
            eps_left = d[4];
            cur_class = d[5];
            if (d[5] != FK_USB_CLASS_SMART_CARD && d[5] != FK_USB_CLASS_HID &&
                d[5] != FK_USB_CLASS_VENDOR)
                FAIL("interface: class 0x%02x", d[5]);
            if (d[5] == FK_USB_CLASS_SMART_CARD) {
                if (d[6] != 0 || d[7] != 0) FAIL("ccid: subclass/protocol (bulk CCID)");
                if (d[4] != 2 && d[4] != 3) FAIL("ccid: bNumEndpoints");
                ccid_itf = 1;
                ccid_bulk_out = ccid_bulk_in = ccid_int_in = 0;
            }
            break;
        case FK_USB_DESC_CS_FUNCTIONAL:
            if (cur_class == FK_USB_CLASS_SMART_CARD) {
                if (ccid_itf != 1) FAIL("ccid: class descriptor out of place");
                const char *why = check_ccid(d);
                if (why) return why;
                ccid_itf = 2;
            }
            break;
        case FK_USB_DESC_ENDPOINT: {
            if (d[0] != 7) FAIL("endpoint: bLength");
            if (eps_left <= 0) FAIL("endpoint not announced by its interface");
            if (cur_class == FK_USB_CLASS_SMART_CARD && ccid_itf != 2)
                FAIL("ccid: endpoint before the class descriptor");
            eps_left--;
            const unsigned num = d[2] & 0x0Fu;
            if (num < 1 || (d[2] & 0x70u) != 0) FAIL("endpoint: address 0x%02x", d[2]);
            const uint32_t bit = 1u << (num + ((d[2] & 0x80u) ? 16u : 0u));
            if (eps_seen & bit) FAIL("endpoint 0x%02x twice", d[2]);
            eps_seen |= bit;
            const uint16_t mps = fk_le16(d + 4);
            switch (d[3] & 3u) {
            case FK_USB_EP_ATTR_BULK:
                if (mps != 8 && mps != 16 && mps != 32 && mps != 64) FAIL("bulk: mps %u", mps);
                if ((d[3] & ~3u) != 0) FAIL("bulk: bmAttributes");
                if (cur_class == FK_USB_CLASS_SMART_CARD) {
                    if (d[2] & 0x80u) ccid_bulk_in++;
                    else ccid_bulk_out++;
                }
                break;
            case FK_USB_EP_ATTR_INTERRUPT:
                if (mps == 0 || mps > 64) FAIL("interrupt: mps %u", mps);
                if (d[6] == 0) FAIL("interrupt: bInterval 0");
                if (cur_class == FK_USB_CLASS_SMART_CARD) {
                    if (!(d[2] & 0x80u) || mps < 2) FAIL("ccid: interrupt endpoint");
                    ccid_int_in++;
                }
                break;
            default: FAIL("endpoint type %u at full speed here", d[3] & 3u);
            }
            break;
        }
        default: break;
        }
        i += d[0];
    }
    if (eps_left > 0) FAIL("last interface: endpoints missing");
    if (ccid_itf == 1) FAIL("ccid: no class descriptor");
    if (cur_class == FK_USB_CLASS_SMART_CARD &&
        (ccid_bulk_out != 1 || ccid_bulk_in != 1 || ccid_int_in > 1))
        FAIL("ccid: endpoints");
    if (sum != len) FAIL("sum of bLength %zu vs %zu", sum, len);
    if (c[4] != n_itf) FAIL("bNumInterfaces %u vs %u", c[4], n_itf);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    return rig_setup(NULL);
}

static int teardown(void **state)
{
    (void)state;
    return rig_teardown();
}

/* Fetch and check everything the host can read, as it reads it. */
static void check_device_over_the_bus(void)
{
    static uint8_t buf[1024];
    rig_enumerate();
    fake_ctrl_result_t r =
        rig_control(0x80, FK_USB_GET_DESCRIPTOR, 0x0100, 0, 255, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    const char *why = check_device(buf, r.len);
    if (why) fail_msg("%s", why);
    const uint8_t strings[3] = {buf[14], buf[15], buf[16]};

    r = rig_control(0x80, FK_USB_GET_DESCRIPTOR, 0x0200, 0, 1023, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    why = check_config(buf, r.len);
    if (why) fail_msg("%s", why);
    /* Strings the interfaces name. */
    uint8_t itf_strings[8];
    size_t n_itf_strings = 0;
    for (size_t i = 0; i < r.len && n_itf_strings < sizeof itf_strings; i += buf[i]) {
        if (buf[i + 1] == FK_USB_DESC_INTERFACE && buf[i + 8] != 0)
            itf_strings[n_itf_strings++] = buf[i + 8];
    }
    size_t len;
    const uint8_t *mine = fk_usbd_config_descriptor(&rig_usbd, &len);
    assert_int_equal(len, r.len);
    assert_memory_equal(mine, buf, len);

    /* String 0 and every string referenced: even bLength, what was sent. */
    r = rig_control(0x80, FK_USB_GET_DESCRIPTOR, 0x0300, 0, 255, buf, sizeof buf);
    assert_int_equal(r.status, FAKE_ACK);
    assert_int_equal(buf[0], r.len);
    assert_int_equal(buf[1], 3);
    assert_int_equal(r.len % 2, 0);
    assert_int_equal(fk_le16(buf + 2), 0x0409);
    uint8_t all[3 + 8];
    size_t n_all = 0;
    for (int k = 0; k < 3; k++) all[n_all++] = strings[k];
    for (size_t k = 0; k < n_itf_strings; k++) all[n_all++] = itf_strings[k];
    for (size_t k = 0; k < n_all; k++) {
        if (all[k] == 0) continue;
        r = rig_control(0x80, FK_USB_GET_DESCRIPTOR, (uint16_t)(0x0300 | all[k]), 0x0409,
                        255, buf, sizeof buf);
        assert_int_equal(r.status, FAKE_ACK);
        assert_int_equal(buf[0], r.len);
        assert_int_equal(buf[1], 3);
        assert_int_equal(r.len % 2, 0);
        assert_true(r.len >= 4);
        for (size_t i = 3; i < r.len; i += 2) assert_int_equal(buf[i], 0); /* ASCII */
    }
}

static void test_shipped_descriptors(void **state)
{
    (void)state;
    check_device_over_the_bus();
    size_t len;
    const uint8_t *c = fk_usbd_config_descriptor(&rig_usbd, &len);
    /* The values the document promises (docs/usb.md). */
    assert_int_equal(fk_le32(c + 18 + 40), FK_CCID_FEATURES);
    assert_int_equal(fk_le32(c + 18 + 44), FK_CCID_MSG_MAX);
}

static void test_smallest_message_limit(void **state)
{
    (void)state;
    fk_ccid_config_t cfg = {.max_message = FK_CCID_MSG_MIN};
    assert_int_equal(rig_teardown(), 0);
    assert_int_equal(rig_setup(&cfg), 0);
    check_device_over_the_bus();
    size_t len;
    const uint8_t *c = fk_usbd_config_descriptor(&rig_usbd, &len);
    assert_int_equal(fk_le32(c + 18 + 44), 271);
}

static size_t dummy_describe(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    /* A HID-like interface 1 with an interrupt pair on endpoint 3. */
    static const uint8_t d[] = {9, 4, 1, 0, 2, 0x03, 0, 0, 0, 9, 0x21, 0x11, 0x01, 0, 1, 0x22, 34, 0,
                                7, 5, 0x83, 3, 64, 0, 5, 7, 5, 0x03, 3, 64, 0, 5};
    if (cap < sizeof d) return 0;
    memcpy(buf, d, sizeof d);
    return sizeof d;
}
static void dummy_attach(void *ctx, fk_usbd_t *u, uint8_t itf, uint8_t ep)
{
    (void)ctx;
    (void)u;
    assert_int_equal(itf, 1);
    assert_int_equal(ep, 3);
}
static void dummy_void(void *ctx) { (void)ctx; }
static void dummy_xfer(void *ctx, uint8_t ep, uint16_t len)
{
    (void)ctx;
    (void)ep;
    (void)len;
}

static void test_composite_descriptors(void **state)
{
    (void)state;
    static const fk_usbd_class_ops_t hid = {.n_interfaces = 1,
                                            .n_endpoints = 1,
                                            .attach = dummy_attach,
                                            .describe = dummy_describe,
                                            .configured = dummy_void,
                                            .deconfigured = dummy_void,
                                            .xfer = dummy_xfer};
    const fk_usbd_identity_t id = {.vid = RIG_VID, .pid = RIG_PID, .manufacturer = "m",
                                   .product = "p", .serial = {1}};
    const fk_usbd_class_t classes[] = {{&fk_ccid_class_ops, &rig_ccid, "fusekey CCID"},
                                       {&hid, NULL, "fusekey FIDO"}};
    assert_int_equal(fk_usbd_init(&rig_usbd, &id, classes, 2), FK_USBD_OK);
    fk_usbd_connect(&rig_usbd, true);
    check_device_over_the_bus();
}

/* The checker catches what it is there to catch. */
static void test_checker_catches_breakage(void **state)
{
    (void)state;
    size_t len;
    const uint8_t *good = fk_usbd_config_descriptor(&rig_usbd, &len);
    assert_null(check_config(good, len));
    static const struct {
        size_t off;
        uint8_t value;
    } breaks[] = {
        {2, 0x5C},            /* wTotalLength */
        {4, 2},               /* bNumInterfaces */
        {7, 0x00},            /* bmAttributes without bit 7 */
        {9 + 2, 1},           /* interface number 1 without 0 */
        {9 + 4, 2},           /* bNumEndpoints 2 for 3 endpoints */
        {9 + 5, 0x0A},        /* a class code this device has no business with */
        {18 + 0, 0x35},       /* CCID bLength */
        {18 + 4, 1},          /* bMaxSlotIndex */
        {18 + 42, 0x06},      /* two exchange levels */
        {18 + 42, 0x00},      /* character level */
        {18 + 44, 0x00},      /* dwMaxCCIDMessageLength 4096 + ... - low byte: 0x1000 */
        {18 + 18, 1},         /* bNumClockSupported */
        {72 + 2, 0x81},       /* bulk OUT now a second 0x81 */
        {72 + 4, 0x40 + 1},   /* bulk mps 65 */
        {86 + 4, 65},         /* interrupt mps 65 */
        {86 + 6, 0},          /* interrupt bInterval 0 */
        {72 + 2, 0x00},       /* endpoint 0 */
    };
    static uint8_t bad[256];
    for (size_t k = 0; k < sizeof breaks / sizeof breaks[0]; k++) {
        memcpy(bad, good, len);
        bad[breaks[k].off] = breaks[k].value;
        if (breaks[k].off == 18 + 44) fk_put_le32(bad + 18 + 44, 200); /* below 271 */
        if (check_config(bad, len) == NULL) fail_msg("break %zu not caught", k);
    }
    /* A truncated descriptor set. */
    memcpy(bad, good, len);
    fk_put_le16(bad + 2, (uint16_t)(len - 1));
    assert_non_null(check_config(bad, len - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shipped_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smallest_message_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_composite_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checker_catches_breakage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
