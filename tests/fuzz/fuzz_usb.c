/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the USB device stack (device core + CCID class over the
 * real card and host port) on the fake controller. Each input starts from a
 * configured device (bus reset, SET_ADDRESS, SET_CONFIGURATION) and is a
 * sequence of host operations, one opcode byte each:
 *
 *   0        bus reset (and the host follows the device to address 0)
 *   1 s[8]   a SETUP packet to EP0
 *   2        an IN transaction on EP0
 *   3 n d[n] an OUT transaction on EP0 (n mod 65 bytes)
 *   4 n d[n] an OUT transaction on bulk endpoint 1 (n mod 65 bytes)
 *   5        an IN transaction on bulk endpoint 1
 *   6        an IN transaction on interrupt endpoint 2
 *   7        the host adopts the device's current address
 *   8 t      the clock moves t * 100 ms
 *   9 h l d  a whole bulk message: (h << 8 | l) bytes as a packet train
 *   10       suspend, 11 resume
 *   F0-FF, even: n d[n]  an OUT transaction on the FIDO HID endpoint 3 (n mod 65 bytes)
 *   F0-FF, odd           an IN transaction on the FIDO HID endpoint 3 (usually NAKed:
 *                        the host polls that interrupt endpoint on its own, as a host
 *                        controller does, and checks every report is 64 bytes)
 * The device is the firmware's composite one: CCID and FIDO HID (over the
 * CTAP endpoint and the real FIDO applet, presence confirmed at once).
 *
 * Checked beyond the sanitizers: the fake controller aborts on a contract
 * breach (a packet longer than its endpoint allows, more data than wLength
 * in a control transfer the helper runs, an address above 127), and every
 * bulk IN message the host reassembles has a response type, a dwLength
 * within dwMaxCCIDMessageLength and the framing the header announces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "card/card.h"
#include "ccid.h"
#include "fido_hid.h"
#include "fake_dcd.h"
#include "fusekey_product.h"
#include "fuzz_images.h"
#include "host_port.h"
#include "services/services.h"
#include "usb_std.h"
#include "usbd.h"

static fk_services_t g_svc;
static fk_card_t g_card;
static fk_product_card_state_t g_state;
static fk_usbd_t g_usbd;
static fk_ccid_t g_ccid;
static fk_fido_hid_t g_fido;
static _Alignas(8) uint8_t g_fido_state[FK_FIDO_STATE_SIZE];
static int g_ready;

/* The host's view of the bulk IN message being reassembled. */
static size_t g_in_left;   /* bytes still announced */
static bool g_in_open;     /* inside a message */
static bool g_in_need_zlp; /* the message filled its last packet */

static void pump(void) { fk_usbd_task(&g_usbd); }

static void init_once(void)
{
    fuzz_open_images("usb");
    if (fk_services_init(&g_svc, &fk_product) != FK_SERVICES_OK) abort();
    if (fk_card_init(&g_card, &g_svc, &g_state, sizeof(g_state)) != FK_CARD_OK) abort();
    g_ready = 1;
}

static void control(uint8_t type, uint8_t req, uint16_t value)
{
    uint8_t s[8] = {type, req, (uint8_t)value, (uint8_t)(value >> 8), 0, 0, 0, 0};
    if (fake_host_control(s, NULL, 0).status != FAKE_ACK) abort();
}

static void bulk_in_check(const uint8_t *p, int n)
{
    if (n < 0) return;
    if (!g_in_open) {
        if (n == 0) abort(); /* a ZLP outside a message that needed one */
        if (n < (int)FK_CCID_HDR_LEN) abort();
        if (p[0] < FK_CCID_RDR_DATA_BLOCK || p[0] > FK_CCID_RDR_RATE_CLOCK) abort();
        const uint32_t len = fk_le32(p + 1);
        if (len > g_ccid.max_message - FK_CCID_HDR_LEN) abort();
        g_in_left = FK_CCID_HDR_LEN + len;
        g_in_open = true;
        g_in_need_zlp = false;
    }
    if (n == 0) {
        if (!g_in_need_zlp) abort();
        g_in_open = false;
        return;
    }
    if ((size_t)n > g_in_left) abort(); /* more than the header announced */
    g_in_left -= (size_t)n;
    if (g_in_left == 0) {
        if (n == 64) {
            g_in_need_zlp = true;
        } else {
            g_in_open = false;
        }
    } else if (n < 64) {
        abort(); /* a short packet inside a message */
    }
}

static void hid_sink(const void *report, size_t len, void *arg)
{
    (void)report;
    (void)arg;
    if (len != FK_FIDO_HID_REPORT) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) init_once();
    fake_dcd_reset();
    fake_host_set_pump(pump);
    fake_host_poll_in(3, hid_sink, NULL);
    g_in_open = false;
    const fk_ccid_config_t cfg = {.millis = fake_millis,
                                  .max_message = size > 0 && (data[0] & 1) ? FK_CCID_MSG_MIN : 0};
    if (fk_ccid_init(&g_ccid, &g_card, &cfg) != FK_USBD_OK) abort();
    const fk_usbd_identity_t id = {.vid = 0x1209, .pid = 0xF05E, .manufacturer = "fusekey",
                                   .product = "fusekey HSM", .serial = {1, 2, 3, 4, 5, 6, 7, 8}};
    const fk_fido_hid_config_t fcfg = {.millis = fake_millis, .wink = NULL};
    if (fk_fido_hid_init(&g_fido, &g_svc, &fk_fido_applet, g_fido_state, sizeof g_fido_state,
                         &fcfg) != FK_USBD_OK)
        abort();
    const fk_usbd_class_t classes[] = {fk_ccid_class(&g_ccid), fk_fido_hid_class(&g_fido)};
    if (fk_usbd_init(&g_usbd, &id, classes, 2) != FK_USBD_OK) abort();
    fk_usbd_connect(&g_usbd, true);
    fake_host_bus_reset();
    control(0x00, FK_USB_SET_ADDRESS, 9);
    fake_host_set_address(9);
    control(0x00, FK_USB_SET_CONFIGURATION, 1);

    uint8_t pkt[64];
    unsigned gen = fake_dcd_ep_generation(0x81);
    size_t i = size > 0 ? 1 : 0;
    while (i < size) {
        const uint8_t op = data[i++];
        if (op >= 0xF0u) {
            if (op & 1u) {
                fake_host_in(3, pkt, sizeof pkt, NULL);
            } else {
                if (i >= size) return 0;
                size_t n = data[i++] % 65u;
                if (n > size - i) n = size - i;
                fake_host_out(3, data + i, n);
                i += n;
            }
            continue;
        }
        switch (op % 12u) {
        case 0:
            fake_host_bus_reset();
            g_in_open = false;
            break;
        case 1:
            if (size - i < 8) return 0;
            fake_host_setup(data + i);
            i += 8;
            break;
        case 2: fake_host_in(0, pkt, sizeof pkt, NULL); break;
        case 3:
        case 4: {
            if (i >= size) return 0;
            size_t n = data[i++] % 65u;
            if (n > size - i) n = size - i;
            fake_host_out(op % 12u == 3 ? 0 : 1, data + i, n);
            i += n;
            break;
        }
        case 5: {
            const int n = fake_host_in(1, pkt, sizeof pkt, NULL);
            bulk_in_check(pkt, n);
            break;
        }
        case 6: fake_host_in(2, pkt, sizeof pkt, NULL); break;
        case 7: fake_host_set_address(fake_dcd_address()); break;
        case 8:
            if (i >= size) return 0;
            fake_clock_advance(100u * data[i++]);
            pump();
            break;
        case 9: {
            if (size - i < 2) return 0;
            size_t n = ((size_t)data[i] << 8) | data[i + 1];
            i += 2;
            if (n > size - i) n = size - i;
            size_t off = 0;
            do {
                const size_t k = n - off < 64 ? n - off : 64;
                if (fake_host_out(1, data + i + off, k) != FAKE_ACK) break;
                off += k;
            } while (off < n);
            i += n;
            break;
        }
        case 10: fake_host_suspend(); break;
        default: fake_host_resume(); break;
        }
        /* A reset, a new configuration or a halt ends whatever message
         * the host was reading. */
        if (fake_dcd_ep_generation(0x81) != gen) {
            gen = fake_dcd_ep_generation(0x81);
            g_in_open = false;
        }
    }
    fk_usbd_connect(&g_usbd, false);
    return 0;
}
