/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_usb.c - the RP2350 USB device controller driver behind usb/dcd.h.
 * Register facts: docs/rp2350-usb.md (from rp2350-bare-metal.md section 3).
 *
 * DESIGN
 *
 * Endpoints are single-buffered with one packet in flight per endpoint
 * address, exactly the dcd.h model. Each of the 32 endpoint addresses has a
 * slot indexed like the BUFF_STATUS bit map: index 2n = EPn IN, 2n+1 = EPn
 * OUT. The same index gives every per-endpoint DPRAM word:
 *     endpoint control (n >= 1)  DPRAM + 4 * index
 *     buffer control             DPRAM + 0x80 + 4 * index
 *
 * DPRAM map (4 KiB at 0x50100000):
 *     0x000-0x007  last SETUP packet (written by the controller)
 *     0x008-0x07F  EP1..15 endpoint control words
 *     0x080-0x0FF  EP0..15 buffer control words
 *     0x100-0x13F  EP0 buffer, shared by EP0 IN and EP0 OUT (fixed by the
 *                  hardware; EP0 has no endpoint control word)
 *     0x140-0x17F  unused (EP0 second buffer, EP0 is single-buffered)
 *     0x180-...    one 64-byte buffer per open endpoint, handed out in
 *                  fk_dcd_ep_open() order, all returned by
 *                  fk_dcd_ep_close_all() (or a bus reset). Reopening an open
 *                  endpoint keeps its buffer. 30 endpoints x 64 bytes fit,
 *                  so FK_DCD_ENOMEM only happens with a smaller pool
 *                  (RP_USB_POOL_END, overridable for tests).
 * Consequence of the shared EP0 buffer: an EP0 OUT packet with data
 * overwrites an EP0 IN packet still waiting in the buffer. A control
 * transfer only ever moves data in one direction (the other carries the
 * zero-length status), and a SETUP cancels all EP0 traffic anyway, so the
 * stack may keep the status OUT armed during an IN data stage; only a host
 * that breaks the protocol can corrupt the IN data it is itself reading.
 *
 * Handing a buffer to the controller: the buffer control word is written
 * with everything except AVAILABLE, then, after at least one clk_usb
 * period, written again with AVAILABLE (bc_give). Every packet sets LAST
 * (each packet is a whole transfer here). IN data is copied into DPRAM
 * before the first write. OUT buffers are always armed with LENGTH = mps;
 * the length the caller asked for is checked in software: a longer packet is
 * clamped to it, the endpoint stalled and the completion reported with the
 * clamped length. DPRAM is Device memory on the M33: it is only ever
 * touched with naturally aligned accesses (dpram_put/dpram_get: aligned
 * words, bytes for the tail), never through the atomic aliases.
 *
 * Data toggles are the driver's: a next-PID bit per endpoint address,
 * DATA1 for both EP0 directions after a SETUP, DATA0 after open and
 * clear_stall, flipped on each completed packet. A host OUT packet with the
 * wrong PID (a retransmission) is acknowledged and dropped by the
 * controller, which raises SIE_STATUS.DATA_SEQ_ERROR; the buffer stays
 * armed and nothing is reported (the driver does not enable that interrupt).
 *
 * Cancelling a buffer the controller may own (stall, reopen, close, SETUP,
 * bus reset, clear_stall while in flight) goes through EP_ABORT: set the
 * bit, wait for EP_ABORT_DONE, rewrite buffer control, clear both. Its
 * BUFF_STATUS bit is then cleared and any unreported completion of that
 * endpoint dropped, so no event follows for a cancelled packet. Only
 * clear_stall keeps the packet: it re-arms it with DATA0 (or reports it if
 * it had already completed).
 *
 * Interrupt handler and thread mode: rp_usb_irq() reads INTS once and
 * handles, in this order, BUFF_STATUS (per bit: clear, then record the
 * completion; OUT data is copied into the caller's buffer here), BUS_RESET,
 * SETUP_REQ, suspend and resume. It only records: every record carries a
 * sequence number from one counter, and fk_dcd_poll() hands out the oldest
 * record first. A bus reset drops every unreported completion and SETUP; a
 * SETUP drops unreported EP0 completions and the previous SETUP; so an XFER
 * is never reported after a reset or SETUP that came later, and other
 * endpoints' completions keep their place. All thread-mode functions work on
 * the shared state with interrupts masked (rp_irq_save/rp_irq_restore).
 * An endpoint is "in flight" from fk_dcd_ep_start() until its XFER event
 * has been polled, so a record is never overwritten.
 *
 * Races with events not yet reported: when a bus reset has happened (its
 * event is pending, or SIE_STATUS.BUS_RESET is set and the handler has not
 * run yet), fk_dcd_ep_open/ep_start/ep_stall do nothing and report success
 * (no error the stack could not foresee): the pending reset cancels
 * whatever they would have done. Likewise for EP0 calls when a SETUP is
 * pending: a stale data stage or stall can never be applied to the new
 * request. What no driver can close: an EP0 IN buffer the stack left armed
 * for an older request, taken by an IN token that follows a new SETUP before
 * the handler has run (a window of the interrupt latency).
 *
 * Suspend and resume are reported (INTE includes them). The controller
 * reports a suspend soon after connect on an idle bus; with VBUS detection
 * forced on (USB_PWR), a disconnect looks like a suspend.
 */
#include "dcd.h"
#include "rp_irq.h"
#include "rp_mmio.h"
#include "rp_usb.h"
#include "util.h"

/* ---- register and DPRAM facts -------------------------------------- */

#define USB_DPRAM 0x50100000u
#define USB_DPRAM_SIZE 0x1000u
#define USB_REGS 0x50110000u

#define REG_ADDR_ENDP (USB_REGS + 0x00u)
#define REG_MAIN_CTRL (USB_REGS + 0x40u)
#define REG_SIE_CTRL (USB_REGS + 0x4Cu)
#define REG_SIE_STATUS (USB_REGS + 0x50u)
#define REG_BUFF_STATUS (USB_REGS + 0x58u)
#define REG_EP_ABORT (USB_REGS + 0x60u)
#define REG_EP_ABORT_DONE (USB_REGS + 0x64u)
#define REG_EP_STALL_ARM (USB_REGS + 0x68u)
#define REG_USB_MUXING (USB_REGS + 0x74u)
#define REG_USB_PWR (USB_REGS + 0x78u)
#define REG_INTE (USB_REGS + 0x90u)
#define REG_INTS (USB_REGS + 0x98u)

#define MAIN_CTRL_CONTROLLER_EN (1u << 0)
#define SIE_CTRL_EP0_INT_1BUF (1u << 29)
#define SIE_CTRL_PULLUP_EN (1u << 16)
#define SIE_CTRL_RESUME (1u << 12)
#define SIE_STATUS_BUS_RESET (1u << 19)
#define SIE_STATUS_SETUP_REC (1u << 17)
#define SIE_STATUS_RESUME (1u << 11)
#define SIE_STATUS_SUSPENDED (1u << 4)
#define USB_MUXING_TO_PHY_SOFTCON 0x9u
#define USB_PWR_VBUS_FORCED 0xCu /* VBUS_DETECT | VBUS_DETECT_OVERRIDE_EN */

#define INT_BUFF_STATUS (1u << 4)
#define INT_BUS_RESET (1u << 12)
#define INT_DEV_SUSPEND (1u << 14)
#define INT_DEV_RESUME (1u << 15)
#define INT_SETUP_REQ (1u << 16)
#define INT_ENABLED (INT_BUFF_STATUS | INT_BUS_RESET | INT_DEV_SUSPEND | INT_DEV_RESUME | INT_SETUP_REQ)

#define BC_FULL (1u << 15)
#define BC_LAST (1u << 14)
#define BC_PID_DATA1 (1u << 13)
#define BC_STALL (1u << 11)
#define BC_AVAILABLE (1u << 10)
#define BC_LENGTH_MASK 0x3FFu

#define EPC_ENABLE (1u << 31)
#define EPC_IRQ_PER_BUFFER (1u << 29)
#define EPC_TYPE_SHIFT 26u

#define STALL_ARM_EP0_IN (1u << 0)
#define STALL_ARM_EP0_OUT (1u << 1)

#define RESETS_RESET 0x40020000u
#define RESETS_RESET_DONE 0x40020008u
#define RESETS_USBCTRL (1u << 28)
#define NVIC_ISER0 0xE000E100u /* write 1: enable */
#define NVIC_ICER0 0xE000E180u /* write 1: disable */
#define NVIC_ICPR0 0xE000E280u /* write 1: clear pending */

#define DPRAM_EP0_BUF 0x100u
#define DPRAM_POOL_START 0x180u
#ifndef RP_USB_POOL_END
#define RP_USB_POOL_END USB_DPRAM_SIZE
#endif
#define EP_BUF_SIZE 64u

/* clk_sys cycles between the two buffer-control writes: one clk_usb period
 * is 3.125 cycles at 150 MHz; 12 covers clk_sys up to 576 MHz. */
#define BC_SETTLE_CYCLES 12u
/* Polls of RESET_DONE / EP_ABORT_DONE before giving up. Both complete in a
 * few cycles (abort: at most one packet time, ~6 us at 150 MHz). */
#define SPIN_LIMIT 100000u

#define EP_SLOTS 32u

_Static_assert(DPRAM_POOL_START + 30u * EP_BUF_SIZE <= USB_DPRAM_SIZE,
               "every endpoint address fits its 64-byte buffer");
_Static_assert(RP_USB_POOL_END <= USB_DPRAM_SIZE, "pool inside DPRAM");

/* ---- driver state --------------------------------------------------- */

typedef struct rp_ep {
    uint8_t *out_buf;  /* OUT: where the packet goes, valid until its event */
    uint32_t done_seq; /* sequence number of the completion record */
    uint16_t mps;
    uint16_t buf_off;  /* DPRAM offset of the endpoint's buffer */
    uint16_t len;      /* IN: bytes sent; OUT: bytes the caller accepts */
    uint16_t done_len; /* completion record: bytes moved */
    uint8_t open;
    uint8_t stalled;
    uint8_t pid;   /* next data PID, 0 or 1 */
    uint8_t armed; /* buffer handed to the controller */
    uint8_t done;  /* completion recorded, not yet reported */
} rp_ep_t;

typedef struct rp_usb_state {
    rp_ep_t ep[EP_SLOTS];
    uint32_t seq; /* last sequence number handed out */
    uint32_t reset_seq, setup_seq, suspend_seq, resume_seq;
    uint8_t reset_pending, setup_pending, suspend_pending, resume_pending;
    uint8_t setup[8];
    uint16_t pool_next; /* first free DPRAM buffer offset */
} rp_usb_state_t;

static rp_usb_state_t g_usb;

static unsigned ep_index(uint8_t ep)
{
    return ((ep & FK_DCD_EP_NUM_MASK) * 2u) + ((ep & FK_DCD_EP_DIR_IN) ? 0u : 1u);
}

static bool ep_addr_valid(uint8_t ep) { return (ep & 0x70u) == 0u; }
static bool idx_is_out(unsigned i) { return (i & 1u) != 0u; }
static bool idx_is_ep0(unsigned i) { return i < 2u; }
static uint32_t bc_addr(unsigned i) { return USB_DPRAM + 0x80u + 4u * i; }
static uint32_t epc_addr(unsigned i) { return USB_DPRAM + 4u * i; }

/* ---- DPRAM copies: naturally aligned accesses only ------------------ */

/* Copy len bytes from RAM (any alignment) to DPRAM offset off (word
 * aligned): whole words with 32-bit stores, the tail with byte stores. */
static void dpram_put(uint32_t off, const uint8_t *src, uint16_t len)
{
    FK_ASSERT((off & 3u) == 0u && off + len <= USB_DPRAM_SIZE);
    uint32_t a = USB_DPRAM + off;
    uint16_t n = 0;
    for (; (uint16_t)(n + 4u) <= len; n = (uint16_t)(n + 4u)) {
        uint32_t w = (uint32_t)src[n] | ((uint32_t)src[n + 1u] << 8) |
                     ((uint32_t)src[n + 2u] << 16) | ((uint32_t)src[n + 3u] << 24);
        rp_wr32(a + n, w);
    }
    for (; n < len; n++) rp_wr8(a + n, src[n]);
}

/* Copy len bytes from DPRAM offset off (word aligned) to RAM (any
 * alignment): whole words with 32-bit loads, the tail with byte loads. */
static void dpram_get(uint8_t *dst, uint32_t off, uint16_t len)
{
    FK_ASSERT((off & 3u) == 0u && off + len <= USB_DPRAM_SIZE);
    uint32_t a = USB_DPRAM + off;
    uint16_t n = 0;
    for (; (uint16_t)(n + 4u) <= len; n = (uint16_t)(n + 4u)) {
        uint32_t w = rp_rd32(a + n);
        dst[n] = (uint8_t)w;
        dst[n + 1u] = (uint8_t)(w >> 8);
        dst[n + 2u] = (uint8_t)(w >> 16);
        dst[n + 3u] = (uint8_t)(w >> 24);
    }
    for (; n < len; n++) dst[n] = rp_rd8(a + n);
}

/* ---- buffer control ------------------------------------------------- */

/* Hand a buffer to the controller: everything but AVAILABLE first, then,
 * a clk_usb period later, the same word with AVAILABLE. */
static void bc_give(unsigned i, uint32_t ctrl)
{
    uint32_t a = bc_addr(i);
    rp_wr32(a, ctrl);
    rp_delay_cycles(BC_SETTLE_CYCLES);
    rp_wr32(a, ctrl | BC_AVAILABLE);
}

/* Arm endpoint slot i for its next packet (state already set up). */
static void ep_arm(unsigned i)
{
    rp_ep_t *e = &g_usb.ep[i];
    uint32_t ctrl = BC_LAST | (e->pid ? BC_PID_DATA1 : 0u);
    if (idx_is_out(i)) {
        ctrl |= e->mps;
    } else {
        ctrl |= BC_FULL | e->len;
    }
    e->armed = 1;
    bc_give(i, ctrl);
}

static void abort_begin(unsigned i)
{
    uint32_t bit = 1u << i;
    rp_set(REG_EP_ABORT, bit);
    for (uint32_t n = 0; n < SPIN_LIMIT; n++) {
        if (rp_rd32(REG_EP_ABORT_DONE) & bit) break;
    }
}

static void abort_end(unsigned i)
{
    uint32_t bit = 1u << i;
    rp_wr32(REG_EP_ABORT_DONE, bit); /* write-1-to-clear */
    rp_clr(REG_EP_ABORT, bit);
}

/* Take endpoint slot i back from the controller and leave its buffer
 * control word at `ctrl` (0, or BC_STALL); forget its packet and any
 * unreported completion. */
static void ep_cancel(unsigned i, uint32_t ctrl)
{
    rp_ep_t *e = &g_usb.ep[i];
    if (e->armed) {
        abort_begin(i);
        rp_wr32(bc_addr(i), ctrl);
        abort_end(i);
    } else {
        rp_wr32(bc_addr(i), ctrl);
    }
    rp_wr32(REG_BUFF_STATUS, 1u << i);
    e->armed = 0;
    e->done = 0;
}

/* Stall slot i in hardware (its buffer is not armed, or is cancelled). */
static void ep_stall_hw(unsigned i)
{
    if (idx_is_ep0(i)) rp_set(REG_EP_STALL_ARM, idx_is_out(i) ? STALL_ARM_EP0_OUT : STALL_ARM_EP0_IN);
    ep_cancel(i, BC_STALL);
    g_usb.ep[i].stalled = 1;
}

static uint32_t next_seq(void) { return ++g_usb.seq; }

/* True when sequence number a was handed out before b (wrap-safe). */
static bool seq_before(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

/* The controller finished the packet on slot i: record its completion.
 * Called from the interrupt handler, and from clear_stall with interrupts
 * masked. */
static void ep_complete(unsigned i)
{
    rp_ep_t *e = &g_usb.ep[i];
    if (!e->armed) return; /* cancelled: a stale status bit */
    uint32_t ctrl = rp_rd32(bc_addr(i));
    if (ctrl & BC_AVAILABLE) return; /* still the controller's */
    e->armed = 0;
    e->pid ^= 1u;
    uint16_t len = e->len;
    if (idx_is_out(i)) {
        uint16_t got = (uint16_t)(ctrl & BC_LENGTH_MASK);
        if (got > e->len) {
            /* Longer than the caller accepts: a protocol error. */
            ep_stall_hw(i);
        } else {
            len = got;
        }
        dpram_get(e->out_buf, e->buf_off, len);
    }
    e->done = 1;
    e->done_len = len;
    e->done_seq = next_seq();
}

/* Whether a bus reset is pending (reported or not yet handled). */
static bool reset_pending(void)
{
    return g_usb.reset_pending || (rp_rd32(REG_SIE_STATUS) & SIE_STATUS_BUS_RESET) != 0u;
}

/* Whether a SETUP is pending (reported or not yet handled). */
static bool setup_pending(void)
{
    return g_usb.setup_pending || (rp_rd32(REG_SIE_STATUS) & SIE_STATUS_SETUP_REC) != 0u;
}

/* Reset slot i's software state to closed. */
static void ep_forget(unsigned i)
{
    rp_ep_t *e = &g_usb.ep[i];
    e->out_buf = 0;
    e->open = 0;
    e->stalled = 0;
    e->pid = 0;
    e->armed = 0;
    e->done = 0;
    e->len = 0;
    e->mps = 0;
    e->buf_off = 0;
}

static void ep0_open(void)
{
    for (unsigned i = 0; i < 2u; i++) {
        ep_forget(i);
        g_usb.ep[i].open = 1;
        g_usb.ep[i].mps = FK_DCD_EP0_MPS;
        g_usb.ep[i].buf_off = DPRAM_EP0_BUF;
    }
}

/* Close every endpoint but EP0 (interrupts masked or in the handler). */
static void close_all_locked(void)
{
    for (unsigned i = 2; i < EP_SLOTS; i++) {
        if (!g_usb.ep[i].open) continue;
        ep_cancel(i, 0);
        rp_wr32(epc_addr(i), 0);
        ep_forget(i);
    }
    g_usb.pool_next = DPRAM_POOL_START;
}

/* ---- interrupt handler --------------------------------------------- */

static void irq_buff_status(void)
{
    uint32_t st = rp_rd32(REG_BUFF_STATUS);
    for (unsigned i = 0; i < EP_SLOTS; i++) {
        uint32_t bit = 1u << i;
        if (!(st & bit)) continue;
        rp_wr32(REG_BUFF_STATUS, bit);
        ep_complete(i);
    }
}

static void irq_bus_reset(void)
{
    rp_wr32(REG_ADDR_ENDP, 0);
    close_all_locked();
    for (unsigned i = 0; i < 2u; i++) ep_cancel(i, 0);
    rp_wr32(REG_EP_STALL_ARM, 0);
    ep0_open();
    g_usb.setup_pending = 0;
    g_usb.reset_pending = 1;
    g_usb.reset_seq = next_seq();
    rp_wr32(REG_SIE_STATUS, SIE_STATUS_BUS_RESET);
}

static void irq_setup(void)
{
    /* Acknowledge first: a SETUP arriving while this runs sets the bit
     * again and is read on the next pass (the latest wins, as on the wire). */
    rp_wr32(REG_SIE_STATUS, SIE_STATUS_SETUP_REC);
    uint32_t w0 = rp_rd32(USB_DPRAM);
    uint32_t w1 = rp_rd32(USB_DPRAM + 4u);
    for (unsigned k = 0; k < 4u; k++) {
        g_usb.setup[k] = (uint8_t)(w0 >> (8u * k));
        g_usb.setup[4u + k] = (uint8_t)(w1 >> (8u * k));
    }
    for (unsigned i = 0; i < 2u; i++) {
        ep_cancel(i, 0);
        g_usb.ep[i].stalled = 0;
        g_usb.ep[i].pid = 1;
    }
    rp_clr(REG_EP_STALL_ARM, STALL_ARM_EP0_IN | STALL_ARM_EP0_OUT);
    g_usb.setup_pending = 1;
    g_usb.setup_seq = next_seq();
}

void rp_usb_irq(void)
{
    uint32_t ints = rp_rd32(REG_INTS);
    if (ints & INT_BUFF_STATUS) irq_buff_status();
    if (ints & INT_BUS_RESET) irq_bus_reset();
    if (ints & INT_SETUP_REQ) irq_setup();
    if (ints & INT_DEV_SUSPEND) {
        rp_wr32(REG_SIE_STATUS, SIE_STATUS_SUSPENDED);
        g_usb.suspend_pending = 1;
        g_usb.suspend_seq = next_seq();
    }
    if (ints & INT_DEV_RESUME) {
        rp_wr32(REG_SIE_STATUS, SIE_STATUS_RESUME);
        g_usb.resume_pending = 1;
        g_usb.resume_seq = next_seq();
    }
}

/* ---- dcd.h ------------------------------------------------------------ */

int fk_dcd_init(void)
{
    /* No handler may run while the block is in reset or the state is
     * rebuilt (a running controller, e.g. after BOOTSEL, may have it
     * pending). */
    rp_wr32(NVIC_ICER0, 1u << RP_USB_IRQ);
    rp_set(RESETS_RESET, RESETS_USBCTRL);
    rp_clr(RESETS_RESET, RESETS_USBCTRL);
    bool done = false;
    for (uint32_t n = 0; n < SPIN_LIMIT && !done; n++) {
        done = (rp_rd32(RESETS_RESET_DONE) & RESETS_USBCTRL) != 0u;
    }
    if (!done) return FK_DCD_ESTATE;

    /* The controller is in its reset state: no interrupt until INTE. */
    for (uint32_t off = 0; off < USB_DPRAM_SIZE; off += 4u) rp_wr32(USB_DPRAM + off, 0);
    g_usb = (rp_usb_state_t){0};
    ep0_open();
    g_usb.pool_next = DPRAM_POOL_START;

    rp_wr32(REG_USB_MUXING, USB_MUXING_TO_PHY_SOFTCON);
    rp_wr32(REG_USB_PWR, USB_PWR_VBUS_FORCED);
    rp_wr32(REG_MAIN_CTRL, MAIN_CTRL_CONTROLLER_EN); /* device, PHY_ISO off */
    rp_wr32(REG_SIE_CTRL, SIE_CTRL_EP0_INT_1BUF);    /* also PULLDOWN_EN off */
    rp_wr32(REG_INTE, INT_ENABLED);
    rp_wr32(NVIC_ICPR0, 1u << RP_USB_IRQ); /* forget a stale pending bit */
    rp_wr32(NVIC_ISER0, 1u << RP_USB_IRQ);
    return FK_DCD_OK;
}

void fk_dcd_connect(bool on)
{
    if (on) {
        rp_set(REG_SIE_CTRL, SIE_CTRL_PULLUP_EN);
    } else {
        rp_clr(REG_SIE_CTRL, SIE_CTRL_PULLUP_EN);
    }
}

bool fk_dcd_poll(fk_dcd_event_t *ev)
{
    FK_ASSERT(ev != 0);
    uint32_t s = rp_irq_save();
    /* The oldest record wins; kinds: 0 reset, 1 setup, 2 suspend,
     * 3 resume, 4 + i completion of slot i. */
    unsigned best = ~0u;
    uint32_t best_seq = 0;
    const uint8_t pending[4] = {g_usb.reset_pending, g_usb.setup_pending, g_usb.suspend_pending,
                                g_usb.resume_pending};
    const uint32_t seqs[4] = {g_usb.reset_seq, g_usb.setup_seq, g_usb.suspend_seq,
                              g_usb.resume_seq};
    for (unsigned k = 0; k < 4u; k++) {
        if (pending[k] && (best == ~0u || seq_before(seqs[k], best_seq))) {
            best = k;
            best_seq = seqs[k];
        }
    }
    for (unsigned i = 0; i < EP_SLOTS; i++) {
        const rp_ep_t *e = &g_usb.ep[i];
        if (e->done && (best == ~0u || seq_before(e->done_seq, best_seq))) {
            best = 4u + i;
            best_seq = e->done_seq;
        }
    }
    *ev = (fk_dcd_event_t){.type = FK_DCD_EV_NONE};
    switch (best) {
    case ~0u:
        break;
    case 0:
        ev->type = FK_DCD_EV_BUS_RESET;
        g_usb.reset_pending = 0;
        break;
    case 1:
        ev->type = FK_DCD_EV_SETUP;
        for (unsigned k = 0; k < 8u; k++) ev->setup[k] = g_usb.setup[k];
        g_usb.setup_pending = 0;
        break;
    case 2:
        ev->type = FK_DCD_EV_SUSPEND;
        g_usb.suspend_pending = 0;
        break;
    case 3:
        ev->type = FK_DCD_EV_RESUME;
        g_usb.resume_pending = 0;
        break;
    default: {
        unsigned i = best - 4u;
        rp_ep_t *e = &g_usb.ep[i];
        ev->type = FK_DCD_EV_XFER;
        ev->ep = (uint8_t)((i >> 1) | (idx_is_out(i) ? 0u : FK_DCD_EP_DIR_IN));
        ev->len = e->done_len;
        e->done = 0;
        if (idx_is_out(i)) e->out_buf = 0;
        break;
    }
    }
    rp_irq_restore(s);
    return ev->type != FK_DCD_EV_NONE;
}

void fk_dcd_wait(void)
{
    uint32_t s = rp_irq_save();
    bool any = g_usb.reset_pending || g_usb.setup_pending || g_usb.suspend_pending ||
               g_usb.resume_pending;
    for (unsigned i = 0; i < EP_SLOTS && !any; i++) any = g_usb.ep[i].done != 0u;
    /* WFI with interrupts masked still wakes on a pending interrupt, which
     * then runs when the mask is lifted: no lost wake-up. */
    if (!any) rp_wfi();
    rp_irq_restore(s);
}

void fk_dcd_set_address(uint8_t addr)
{
    if (addr > 127u) return; /* not an address: keep the current one */
    rp_wr32(REG_ADDR_ENDP, addr);
}

int fk_dcd_ep_open(uint8_t ep, fk_dcd_ep_type_t type, uint16_t mps)
{
    if (!ep_addr_valid(ep) || (ep & FK_DCD_EP_NUM_MASK) == 0u) return FK_DCD_EINVAL;
    if (type == FK_DCD_EP_BULK) {
        if (mps != 8u && mps != 16u && mps != 32u && mps != 64u) return FK_DCD_EINVAL;
    } else if (type == FK_DCD_EP_INTERRUPT) {
        if (mps < 1u || mps > 64u) return FK_DCD_EINVAL;
    } else {
        return FK_DCD_EINVAL;
    }
    unsigned i = ep_index(ep);
    int rc = FK_DCD_OK;
    uint32_t s = rp_irq_save();
    rp_ep_t *e = &g_usb.ep[i];
    if (reset_pending()) {
        /* Cancelled by the pending reset, which closes everything. */
    } else if (!e->open && g_usb.pool_next + EP_BUF_SIZE > RP_USB_POOL_END) {
        rc = FK_DCD_ENOMEM;
    } else {
        uint16_t buf_off;
        if (e->open) {
            buf_off = e->buf_off;
            ep_cancel(i, 0);
        } else {
            buf_off = g_usb.pool_next;
            g_usb.pool_next = (uint16_t)(g_usb.pool_next + EP_BUF_SIZE);
            rp_wr32(bc_addr(i), 0);
        }
        ep_forget(i);
        e->open = 1;
        e->mps = mps;
        e->buf_off = buf_off;
        rp_wr32(epc_addr(i), EPC_ENABLE | EPC_IRQ_PER_BUFFER | ((uint32_t)type << EPC_TYPE_SHIFT) |
                                 buf_off);
    }
    rp_irq_restore(s);
    return rc;
}

void fk_dcd_ep_close_all(void)
{
    uint32_t s = rp_irq_save();
    close_all_locked();
    rp_irq_restore(s);
}

int fk_dcd_ep_start(uint8_t ep, void *buf, uint16_t len)
{
    if (!ep_addr_valid(ep) || (len != 0u && buf == 0)) return FK_DCD_EINVAL;
    unsigned i = ep_index(ep);
    int rc = FK_DCD_OK;
    uint32_t s = rp_irq_save();
    rp_ep_t *e = &g_usb.ep[i];
    if (reset_pending() || (idx_is_ep0(i) && setup_pending())) {
        /* Started before an event the stack has not seen yet, which
         * cancels it: accepted, no XFER will follow. */
    } else if (!e->open || len > e->mps) {
        rc = FK_DCD_EINVAL;
    } else if (e->stalled) {
        rc = FK_DCD_ESTATE;
    } else if (e->armed || e->done) {
        rc = FK_DCD_EBUSY;
    } else {
        e->len = len;
        if (idx_is_out(i)) {
            e->out_buf = buf;
        } else {
            dpram_put(e->buf_off, buf, len);
        }
        ep_arm(i);
    }
    rp_irq_restore(s);
    return rc;
}

void fk_dcd_ep_stall(uint8_t ep)
{
    if (!ep_addr_valid(ep)) return;
    unsigned i = ep_index(ep);
    uint32_t s = rp_irq_save();
    if (reset_pending() || (idx_is_ep0(i) && setup_pending())) {
        /* The pending event ends the request this stall was meant for. */
    } else if (g_usb.ep[i].open) {
        ep_stall_hw(i);
    }
    rp_irq_restore(s);
}

void fk_dcd_ep_clear_stall(uint8_t ep)
{
    if (!ep_addr_valid(ep)) return;
    unsigned i = ep_index(ep);
    if (idx_is_ep0(i)) return;
    uint32_t s = rp_irq_save();
    rp_ep_t *e = &g_usb.ep[i];
    if (e->open) {
        if (e->armed) {
            /* A packet in flight on a endpoint that was not stalled: keep
             * it, but with DATA0 - or report it if it already completed. */
            abort_begin(i);
            if (rp_rd32(bc_addr(i)) & BC_AVAILABLE) {
                rp_wr32(bc_addr(i), 0);
                abort_end(i);
                rp_wr32(REG_BUFF_STATUS, 1u << i);
                e->pid = 0;
                ep_arm(i);
            } else {
                abort_end(i);
                rp_wr32(REG_BUFF_STATUS, 1u << i);
                ep_complete(i);
                e->pid = 0;
            }
        } else {
            rp_wr32(bc_addr(i), 0);
            e->pid = 0;
        }
        e->stalled = 0;
    }
    rp_irq_restore(s);
}

bool fk_dcd_ep_stalled(uint8_t ep)
{
    if (!ep_addr_valid(ep)) return false;
    unsigned i = ep_index(ep);
    if (idx_is_ep0(i)) return false;
    uint32_t s = rp_irq_save();
    bool stalled = g_usb.ep[i].open && g_usb.ep[i].stalled;
    rp_irq_restore(s);
    return stalled;
}

void fk_dcd_remote_wakeup(void) { rp_set(REG_SIE_CTRL, SIE_CTRL_RESUME); }
