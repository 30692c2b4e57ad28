/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake_dcd.c - the fake USB device controller (fake_dcd.h): usb/dcd.h for
 * the stack, a host side for the tests.
 */
#include "fake_dcd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usb_std.h"

#define N_EP 32u /* index: number, +16 for IN */
#define QUEUE_LEN 256u
#define NAK_RETRIES 16

typedef struct ep_state {
    bool open;
    fk_dcd_ep_type_t type;
    uint16_t mps;
    bool stalled;
    bool armed;
    uint8_t *out_buf;   /* OUT: where the packet goes */
    uint16_t len;       /* IN: bytes to send; OUT: room */
    uint8_t in_data[64];
    unsigned gen;       /* opens, closes and stalls so far */
    bool dev_toggle;    /* next PID the device sends / expects */
    bool host_toggle;   /* next PID the host expects / sends */
} ep_state_t;

static struct {
    bool initialised, connected, fail_init;
    uint8_t address;
    uint8_t host_address;
    unsigned set_address_calls, toggle_errors, start_errors, close_all_calls;
    ep_state_t ep[N_EP];
    fk_dcd_event_t queue[QUEUE_LEN];
    size_t q_head, q_count;
    void (*pump)(void);
    uint64_t now;
} f;

/* Interrupt IN endpoints the host polls on its own (fake_host_poll_in). */
static struct {
    fake_in_sink_fn sink;
    void *arg;
} g_poll[16];

static bool reachable(void);

static unsigned idx(uint8_t ep) { return (ep & 0x0Fu) + ((ep & 0x80u) ? 16u : 0u); }

static void push(const fk_dcd_event_t *ev)
{
    if (f.q_count == QUEUE_LEN) {
        fprintf(stderr, "fake_dcd: event queue overflow (the stack stopped polling)\n");
        abort();
    }
    f.queue[(f.q_head + f.q_count) % QUEUE_LEN] = *ev;
    f.q_count++;
}

static void ep0_reset(void)
{
    ep_state_t *in = &f.ep[idx(0x80)], *out = &f.ep[idx(0x00)];
    in->open = out->open = true;
    in->type = out->type = FK_DCD_EP_CONTROL;
    in->mps = out->mps = FK_DCD_EP0_MPS;
}

void fake_host_poll_in(uint8_t num, fake_in_sink_fn sink, void *arg)
{
    g_poll[num & 0x0Fu].sink = sink;
    g_poll[num & 0x0Fu].arg = arg;
}

void fake_dcd_reset(void)
{
    memset(&f, 0, sizeof f);
    memset(g_poll, 0, sizeof g_poll);
    ep0_reset();
}

void fake_host_set_pump(void (*pump)(void)) { f.pump = pump; }

void fake_host_pump(void)
{
    if (f.pump != NULL) f.pump();
}

/* ---- dcd.h ---------------------------------------------------------------- */

int fk_dcd_init(void)
{
    if (f.fail_init) {
        f.fail_init = false;
        return FK_DCD_EINVAL;
    }
    for (unsigned i = 0; i < N_EP; i++) memset(&f.ep[i], 0, sizeof f.ep[i]);
    ep0_reset();
    f.initialised = true;
    f.connected = false;
    f.address = 0;
    f.q_count = 0;
    return FK_DCD_OK;
}

void fk_dcd_connect(bool on) { f.connected = on; }

bool fk_dcd_poll(fk_dcd_event_t *ev)
{
    if (f.q_count == 0) return false;
    *ev = f.queue[f.q_head];
    f.q_head = (f.q_head + 1u) % QUEUE_LEN;
    f.q_count--;
    return true;
}

void fk_dcd_wait(void) {}

void fk_dcd_set_address(uint8_t addr)
{
    if (addr > 127u) abort();
    f.address = addr;
    f.set_address_calls++;
}

int fk_dcd_ep_open(uint8_t ep, fk_dcd_ep_type_t type, uint16_t mps)
{
    if ((ep & 0x0Fu) == 0 || (ep & 0x70u) != 0) return FK_DCD_EINVAL;
    if (type == FK_DCD_EP_BULK && mps != 8 && mps != 16 && mps != 32 && mps != 64)
        return FK_DCD_EINVAL;
    if (type == FK_DCD_EP_INTERRUPT && (mps == 0 || mps > 64)) return FK_DCD_EINVAL;
    if (type != FK_DCD_EP_BULK && type != FK_DCD_EP_INTERRUPT) return FK_DCD_EINVAL;
    ep_state_t *e = &f.ep[idx(ep)];
    const bool host_toggle = e->host_toggle;
    const unsigned gen = e->gen;
    memset(e, 0, sizeof *e);
    e->host_toggle = host_toggle; /* the host resets its own toggle */
    e->gen = gen + 1u;
    e->open = true;
    e->type = type;
    e->mps = mps;
    return FK_DCD_OK;
}

void fk_dcd_ep_close_all(void)
{
    f.close_all_calls++;
    for (unsigned i = 0; i < N_EP; i++) {
        if ((i & 0x0Fu) == 0) continue;
        const bool host_toggle = f.ep[i].host_toggle;
        const unsigned gen = f.ep[i].gen;
        memset(&f.ep[i], 0, sizeof f.ep[i]);
        f.ep[i].host_toggle = host_toggle;
        f.ep[i].gen = gen + 1u;
    }
}

int fk_dcd_ep_start(uint8_t ep, void *buf, uint16_t len)
{
    ep_state_t *e = &f.ep[idx(ep)];
    if ((ep & 0x70u) != 0 || !e->open || len > e->mps || (buf == NULL && len > 0)) {
        f.start_errors++;
        return FK_DCD_EINVAL;
    }
    if (e->stalled) {
        f.start_errors++;
        return FK_DCD_ESTATE;
    }
    if (e->armed) {
        f.start_errors++;
        return FK_DCD_EBUSY;
    }
    e->armed = true;
    e->len = len;
    if ((ep & 0x80u) && g_poll[ep & 0x0Fu].sink != NULL && reachable()) {
        /* The host's periodic schedule takes the packet at once. */
        const bool pid = e->dev_toggle;
        if (pid != e->host_toggle) f.toggle_errors++;
        e->dev_toggle = !pid;
        e->host_toggle = !pid;
        e->armed = false;
        g_poll[ep & 0x0Fu].sink(buf, len, g_poll[ep & 0x0Fu].arg);
        fk_dcd_event_t ev = {.type = FK_DCD_EV_XFER, .ep = ep, .len = len};
        push(&ev);
        return FK_DCD_OK;
    }
    if (ep & 0x80u) {
        if (len) memcpy(e->in_data, buf, len);
        /* The stack may reuse buf at once: scribble over nothing of its. */
    } else {
        e->out_buf = buf;
    }
    return FK_DCD_OK;
}

void fk_dcd_ep_stall(uint8_t ep)
{
    ep_state_t *e = &f.ep[idx(ep)];
    e->stalled = true;
    e->armed = false;
    e->gen++;
}

void fk_dcd_ep_clear_stall(uint8_t ep)
{
    if ((ep & 0x0Fu) == 0) return;
    ep_state_t *e = &f.ep[idx(ep)];
    e->stalled = false;
    e->dev_toggle = false;
}

bool fk_dcd_ep_stalled(uint8_t ep)
{
    if ((ep & 0x0Fu) == 0) return false;
    return f.ep[idx(ep)].stalled;
}

void fk_dcd_remote_wakeup(void) {}

/* ---- Host side ------------------------------------------------------------ */

void fake_host_set_address(uint8_t addr) { f.host_address = addr; }

static bool reachable(void) { return f.initialised && f.connected && f.host_address == f.address; }

void fake_host_bus_reset(void)
{
    for (unsigned i = 0; i < N_EP; i++) {
        const unsigned gen = f.ep[i].gen;
        memset(&f.ep[i], 0, sizeof f.ep[i]);
        f.ep[i].gen = gen + 1u;
    }
    ep0_reset();
    f.address = 0;
    f.host_address = 0;
    fk_dcd_event_t ev = {.type = FK_DCD_EV_BUS_RESET};
    push(&ev);
    fake_host_pump();
}

void fake_host_suspend(void)
{
    fk_dcd_event_t ev = {.type = FK_DCD_EV_SUSPEND};
    push(&ev);
    fake_host_pump();
}

void fake_host_resume(void)
{
    fk_dcd_event_t ev = {.type = FK_DCD_EV_RESUME};
    push(&ev);
    fake_host_pump();
}

int fake_host_setup(const uint8_t setup[8])
{
    if (!reachable()) return FAKE_NOREPLY;
    ep_state_t *in = &f.ep[idx(0x80)], *out = &f.ep[idx(0x00)];
    in->armed = out->armed = false;
    in->stalled = out->stalled = false;
    in->dev_toggle = out->dev_toggle = true;
    in->host_toggle = out->host_toggle = true;
    fk_dcd_event_t ev = {.type = FK_DCD_EV_SETUP};
    memcpy(ev.setup, setup, 8);
    push(&ev);
    fake_host_pump();
    return FAKE_ACK;
}

int fake_host_in(uint8_t num, uint8_t *buf, size_t cap, bool *data1)
{
    const uint8_t ep = (uint8_t)((num & 0x0Fu) | 0x80u);
    ep_state_t *e = &f.ep[idx(ep)];
    if (!reachable() || !e->open) return FAKE_NOREPLY;
    if (e->stalled) return FAKE_STALL;
    if (!e->armed) return FAKE_NAK;
    if (cap < e->len) abort(); /* the test's buffer: a test bug */
    const bool pid = e->dev_toggle;
    if (pid != e->host_toggle) f.toggle_errors++;
    e->dev_toggle = !pid;
    e->host_toggle = !pid;
    const int n = e->len;
    memcpy(buf, e->in_data, e->len);
    e->armed = false;
    if (data1 != NULL) *data1 = pid;
    fk_dcd_event_t ev = {.type = FK_DCD_EV_XFER, .ep = ep, .len = (uint16_t)n};
    push(&ev);
    fake_host_pump();
    return n;
}

int fake_host_out(uint8_t num, const void *data, size_t len)
{
    const uint8_t ep = (uint8_t)(num & 0x0Fu);
    ep_state_t *e = &f.ep[idx(ep)];
    if (!reachable() || !e->open) return FAKE_NOREPLY;
    if (e->stalled) return FAKE_STALL;
    if (len > e->mps) abort(); /* a host never sends more than wMaxPacketSize */
    if (!e->armed) return FAKE_NAK;
    if (len > e->len) {
        e->stalled = true; /* babble: the driver stalls rather than overrun */
        e->armed = false;
        return FAKE_STALL;
    }
    if (e->host_toggle != e->dev_toggle) f.toggle_errors++;
    e->dev_toggle = !e->dev_toggle;
    e->host_toggle = !e->host_toggle;
    if (len) memcpy(e->out_buf, data, len);
    e->armed = false;
    fk_dcd_event_t ev = {.type = FK_DCD_EV_XFER, .ep = ep, .len = (uint16_t)len};
    push(&ev);
    fake_host_pump();
    return FAKE_ACK;
}

void fake_host_reset_toggle(uint8_t ep) { f.ep[idx(ep)].host_toggle = false; }

static int in_retry(uint8_t num, uint8_t *buf, size_t cap, bool *data1)
{
    int rc = FAKE_NAK;
    for (int i = 0; i < NAK_RETRIES && rc == FAKE_NAK; i++) {
        rc = fake_host_in(num, buf, cap, data1);
        if (rc == FAKE_NAK) fake_host_pump();
    }
    return rc;
}

static int out_retry(uint8_t num, const void *data, size_t len)
{
    int rc = FAKE_NAK;
    for (int i = 0; i < NAK_RETRIES && rc == FAKE_NAK; i++) {
        rc = fake_host_out(num, data, len);
        if (rc == FAKE_NAK) fake_host_pump();
    }
    return rc;
}

fake_ctrl_result_t fake_host_control(const uint8_t setup[8], void *data, size_t cap)
{
    fake_ctrl_result_t r = {0};
    const uint16_t wlength = fk_le16(setup + 6);
    r.status = fake_host_setup(setup);
    if (r.status != FAKE_ACK) return r;
    uint8_t pkt[64];
    if (wlength > 0 && (setup[0] & 0x80u)) {
        r.stage = 1;
        for (;;) {
            const int n = in_retry(0, pkt, sizeof pkt, NULL);
            if (n < 0) {
                r.status = n;
                return r;
            }
            r.packets++;
            if (r.len + (size_t)n > cap) abort(); /* more than the test allowed for */
            memcpy((uint8_t *)data + r.len, pkt, (size_t)n);
            r.len += (size_t)n;
            if (r.len > wlength) abort(); /* a device may never send more than wLength */
            if (n == 0) r.zlp = true;
            if (n < 64 || r.len == wlength) break;
        }
        r.stage = 2;
        r.status = out_retry(0, NULL, 0);
        if (r.status != FAKE_ACK) return r;
    } else {
        if (wlength > 0) {
            r.stage = 1;
            for (size_t off = 0; off < wlength;) {
                const size_t n = wlength - off < 64 ? wlength - off : 64;
                r.status = out_retry(0, (const uint8_t *)data + off, n);
                if (r.status != FAKE_ACK) return r;
                off += n;
            }
        }
        r.stage = 2;
        const int n = in_retry(0, pkt, sizeof pkt, NULL);
        if (n < 0) {
            r.status = n;
            return r;
        }
        if (n != 0) abort(); /* a status stage is a zero-length packet */
        r.status = FAKE_ACK;
    }
    /* Requests after which the host starts the endpoints at DATA0. */
    const uint8_t type = setup[0], req = setup[1];
    if ((type == 0x00 && req == FK_USB_SET_CONFIGURATION) ||
        (type == 0x01 && req == FK_USB_SET_INTERFACE)) {
        for (unsigned i = 0; i < N_EP; i++) {
            if ((i & 0x0Fu) != 0) f.ep[i].host_toggle = false;
        }
    } else if (type == 0x02 && req == FK_USB_CLEAR_FEATURE && setup[2] == 0) {
        if ((setup[4] & 0x0Fu) != 0) f.ep[idx(setup[4])].host_toggle = false;
    }
    return r;
}

/* ---- Inspection ----------------------------------------------------------- */

uint8_t fake_dcd_address(void) { return f.address; }
unsigned fake_dcd_set_address_calls(void) { return f.set_address_calls; }
bool fake_dcd_connected(void) { return f.connected; }
bool fake_dcd_initialised(void) { return f.initialised; }
bool fake_dcd_ep_is_open(uint8_t ep) { return f.ep[idx(ep)].open; }
bool fake_dcd_ep_is_stalled(uint8_t ep) { return f.ep[idx(ep)].stalled; }
bool fake_dcd_ep_armed(uint8_t ep) { return f.ep[idx(ep)].armed; }
unsigned fake_dcd_ep_generation(uint8_t ep) { return f.ep[idx(ep)].gen; }
uint16_t fake_dcd_ep_mps(uint8_t ep) { return f.ep[idx(ep)].mps; }
fk_dcd_ep_type_t fake_dcd_ep_type(uint8_t ep) { return f.ep[idx(ep)].type; }
unsigned fake_dcd_toggle_errors(void) { return f.toggle_errors; }
unsigned fake_dcd_start_errors(void) { return f.start_errors; }
unsigned fake_dcd_close_all_calls(void) { return f.close_all_calls; }
void fake_dcd_fail_init(void) { f.fail_init = true; }

uint64_t fake_millis(void) { return f.now; }
void fake_clock_advance(uint64_t ms) { f.now += ms; }
