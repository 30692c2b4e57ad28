/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usb_model.c - the RP2350 USB device controller, RESETS (USBCTRL bit) and
 * NVIC ISER0 as the driver sees them, and a host on the wire. Facts:
 * docs/rp2350-usb.md; what is checked and what is not: usb_model.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "usb_model.h"

#define DPRAM_SIZE 0x1000u
#define DPRAM_ALIAS_END 0x4000u
#define REGS_SPAN 0x4000u
#define REG_WORDS (0x120u / 4u)

#define RESETS_BASE 0x40020000u
#define RESETS_USBCTRL (1u << 28)
#define RESETS_ALL 0x1FFFFFFFu
#define NVIC_ISER0 0xE000E100u
#define NVIC_ICER0 0xE000E180u
#define NVIC_ICPR0 0xE000E280u
#define USB_IRQ 14u

#define ALIAS_XOR 0x1000u
#define ALIAS_SET 0x2000u
#define ALIAS_CLR 0x3000u

#define MAIN_CONTROLLER_EN (1u << 0)
#define MAIN_HOST_NDEVICE (1u << 1)
#define MAIN_PHY_ISO (1u << 2)
#define SIE_CTRL_EP0_INT_1BUF (1u << 29)
#define SIE_CTRL_TRANSCEIVER_PD (1u << 18)
#define SIE_CTRL_PULLUP_EN (1u << 16)
#define SIE_CTRL_RESUME (1u << 12)
#define ST_DATA_SEQ_ERROR (1u << 31)
#define ST_BUS_RESET (1u << 19)
#define ST_SETUP_REC (1u << 17)
#define ST_CONNECTED (1u << 16)
#define ST_RESUME (1u << 11)
#define ST_SUSPENDED (1u << 4)

#define BC_FULL (1u << 15)
#define BC_PID (1u << 13)
#define BC_STALL (1u << 11)
#define BC_AVAILABLE (1u << 10)
#define BC_LEN 0x3FFu
#define BC1_AVAILABLE (1u << 26)

#define EPC_ENABLE (1u << 31)
#define EPC_DOUBLE (1u << 30)
#define EPC_IRQ_BUF (1u << 29)

typedef enum { R_NONE, R_RW, R_RO, R_W1C } reg_kind_t;

static struct {
    uint8_t dpram[DPRAM_SIZE];
    uint32_t reg[REG_WORDS];
    uint32_t resets, resets_done;
    unsigned done_delay; /* RESET_DONE polls before USBCTRL reports ready */
    bool done_stuck;     /* USBCTRL never reports ready */
    uint32_t iser0;
    unsigned toggle[32]; /* host toggles, index 2n = IN, 2n + 1 = OUT */
    uint8_t host_addr;
    unsigned last_pid;
    unsigned wakeups;
    usbm_stats_t st;
    usbm_write_t log[512];
    size_t nlog;
} m;

static reg_kind_t reg_kind(uint32_t off)
{
    switch (off) {
    case USBM_ADDR_ENDP:
    case USBM_MAIN_CTRL:
    case USBM_SIE_CTRL:
    case USBM_EP_ABORT:
    case USBM_EP_STALL_ARM:
    case USBM_USB_MUXING:
    case USBM_USB_PWR:
    case USBM_LINESTATE_TUNING:
    case USBM_INTE:
    case USBM_INTF:
        return R_RW;
    case USBM_SOF_RD:
    case USBM_BUFF_CPU_SHOULD_HANDLE:
    case USBM_INTR:
    case USBM_INTS:
        return R_RO;
    case USBM_SIE_STATUS:
    case USBM_BUFF_STATUS:
    case USBM_EP_ABORT_DONE:
        return R_W1C;
    default:
        return R_NONE;
    }
}

static uint32_t *R(uint32_t off) { return &m.reg[off / 4u]; }

static void log_write(uint32_t addr, uint32_t value)
{
    if (m.nlog < sizeof m.log / sizeof m.log[0]) m.log[m.nlog++] = (usbm_write_t){addr, value};
}

static uint32_t word_at(uint32_t off)
{
    return (uint32_t)m.dpram[off] | ((uint32_t)m.dpram[off + 1] << 8) |
           ((uint32_t)m.dpram[off + 2] << 16) | ((uint32_t)m.dpram[off + 3] << 24);
}

static void put_word(uint32_t off, uint32_t v)
{
    for (unsigned k = 0; k < 4; k++) m.dpram[off + k] = (uint8_t)(v >> (8 * k));
}

static void usb_regs_to_reset_values(void)
{
    memset(m.reg, 0, sizeof m.reg);
    *R(USBM_MAIN_CTRL) = MAIN_PHY_ISO;
    *R(USBM_SIE_CTRL) = 1u << 15; /* PULLDOWN_EN */
    *R(USBM_USB_MUXING) = 1u;     /* TO_PHY */
    *R(USBM_LINESTATE_TUNING) = 0xF8u;
}

void usbm_reset(void)
{
    memset(&m, 0, sizeof m);
    memset(m.dpram, 0xA5, sizeof m.dpram);
    m.resets = 0;
    m.resets_done = RESETS_ALL;
    usb_regs_to_reset_values();
    /* Stale state of a previous firmware (e.g. the BOOTSEL bootloader). */
    *R(USBM_ADDR_ENDP) = 0x12u;
    *R(USBM_MAIN_CTRL) = MAIN_CONTROLLER_EN;
    *R(USBM_SIE_CTRL) = SIE_CTRL_EP0_INT_1BUF | SIE_CTRL_PULLUP_EN;
    *R(USBM_SIE_STATUS) = ST_SETUP_REC | ST_SUSPENDED;
    *R(USBM_BUFF_STATUS) = 0x3u;
    *R(USBM_EP_STALL_ARM) = 0x3u;
    *R(USBM_USB_MUXING) = 0x9u;
    *R(USBM_USB_PWR) = 0xCu;
    *R(USBM_INTE) = 0xFFFFFu;
    m.iser0 = 1u << USB_IRQ; /* and its interrupt enabled */
}

static bool usb_out_of_reset(void)
{
    return !(m.resets & RESETS_USBCTRL) && (m.resets_done & RESETS_USBCTRL);
}

static uint32_t intr_raw(void)
{
    uint32_t st = *R(USBM_SIE_STATUS), raw = 0;
    if (*R(USBM_BUFF_STATUS)) raw |= 1u << 4;
    if (st & ST_BUS_RESET) raw |= 1u << 12;
    if (st & ST_SUSPENDED) raw |= 1u << 14;
    if (st & ST_RESUME) raw |= 1u << 15;
    if (st & ST_SETUP_REC) raw |= 1u << 16;
    return raw;
}

static uint32_t ints(void) { return (intr_raw() | *R(USBM_INTF)) & *R(USBM_INTE); }

/* ---- USBCTRL registers ----------------------------------------------- */

static uint32_t regs_rd(uint32_t addr, unsigned width)
{
    uint32_t alias = (addr - USBM_REGS) & 0x3000u, off = (addr - USBM_REGS) & 0xFFFu;
    if (width != 4) fail_msg("%u-byte access to USB register 0x%08x", width, addr);
    if (alias) fail_msg("read through an atomic alias: 0x%08x", addr);
    if (!usb_out_of_reset()) fail_msg("USB register 0x%08x read while USBCTRL is in reset", addr);
    switch (off) {
    case USBM_INTR:
        return intr_raw();
    case USBM_INTS:
        return ints();
    case USBM_SOF_RD:
        return 0;
    case USBM_SIE_STATUS:
        return *R(off) | ((*R(USBM_SIE_CTRL) & SIE_CTRL_PULLUP_EN) ? ST_CONNECTED : 0u);
    default:
        if (reg_kind(off) == R_NONE) fail_msg("read of an unmodelled USB register 0x%08x", addr);
        return *R(off);
    }
}

static void regs_wr(uint32_t addr, unsigned width, uint32_t v)
{
    uint32_t alias = (addr - USBM_REGS) & 0x3000u, off = (addr - USBM_REGS) & 0xFFFu;
    if (width != 4) fail_msg("%u-byte access to USB register 0x%08x", width, addr);
    if (!usb_out_of_reset()) fail_msg("USB register 0x%08x written while USBCTRL is in reset", addr);
    log_write(addr, v);
    reg_kind_t kind = reg_kind(off);
    uint32_t *r = R(off), old = *r;
    switch (kind) {
    case R_NONE:
        fail_msg("write to an unmodelled USB register 0x%08x", addr);
        return;
    case R_RO:
        fail_msg("write to read-only USB register 0x%08x", addr);
        return;
    case R_W1C:
        if (alias != 0 && alias != ALIAS_CLR)
            fail_msg("SET/XOR alias on write-1-to-clear register 0x%08x", addr);
        *r = old & ~v;
        return;
    case R_RW:
        break;
    }
    uint32_t nv = alias == 0 ? v : alias == ALIAS_SET ? (old | v) : alias == ALIAS_CLR ? (old & ~v)
                                                                                      : (old ^ v);
    if (off == USBM_EP_ABORT) {
        uint32_t started = nv & ~old;
        for (uint32_t b = started; b; b &= b - 1) m.st.aborts++;
        /* No transaction is ever half done in the model: idle at once. */
        *R(USBM_EP_ABORT_DONE) |= started;
    }
    if (off == USBM_SIE_CTRL && (nv & SIE_CTRL_RESUME)) {
        m.wakeups++;
        nv &= ~SIE_CTRL_RESUME; /* self-clearing */
    }
    *r = nv;
}

/* ---- DPRAM ------------------------------------------------------------ */

/* A write that touches buffer control word `woff` (0x80..0xFC). */
static void bc_check(uint32_t woff, uint32_t old, uint32_t nv)
{
    unsigned slot = (woff - 0x80u) / 4u;
    uint32_t bit = 1u << slot;
    bool owned = (*R(USBM_MAIN_CTRL) & MAIN_CONTROLLER_EN) && (old & BC_AVAILABLE);
    if (nv & BC1_AVAILABLE) fail_msg("buffer 1 of slot %u made available (single-buffered)", slot);
    if (owned && !((*R(USBM_EP_ABORT) & bit) && (*R(USBM_EP_ABORT_DONE) & bit)))
        fail_msg("buffer control of EP%u %s rewritten while the controller owns it (no EP_ABORT)",
                 slot / 2u, (slot & 1u) ? "OUT" : "IN");
    if ((nv & BC_AVAILABLE) && !(old & BC_AVAILABLE)) {
        if ((old & ~BC_AVAILABLE) != (nv & ~BC_AVAILABLE))
            fail_msg("EP%u %s: AVAILABLE set in the same write that changed the other fields "
                     "(0x%08x -> 0x%08x)",
                     slot / 2u, (slot & 1u) ? "OUT" : "IN", old, nv);
        m.st.handoffs++;
    }
}

static uint32_t dpram_rd(uint32_t addr, unsigned width)
{
    uint32_t off = addr - USBM_DPRAM;
    if (off >= DPRAM_SIZE) fail_msg("atomic alias used on DPRAM: 0x%08x", addr);
    if (!usb_out_of_reset()) fail_msg("DPRAM read while USBCTRL is in reset");
    m.st.dpram_rd[width]++;
    uint32_t v = 0;
    for (unsigned k = 0; k < width; k++) v |= (uint32_t)m.dpram[off + k] << (8 * k);
    return v;
}

static void dpram_wr(uint32_t addr, unsigned width, uint32_t v)
{
    uint32_t off = addr - USBM_DPRAM;
    if (off >= DPRAM_SIZE) fail_msg("atomic alias used on DPRAM: 0x%08x", addr);
    if (!usb_out_of_reset()) fail_msg("DPRAM written while USBCTRL is in reset");
    m.st.dpram_wr[width]++;
    if (off >= 0x80u && off < 0x100u) {
        uint32_t woff = off & ~3u, old = word_at(woff), nv = old;
        for (unsigned k = 0; k < width; k++) {
            unsigned sh = 8u * ((off & 3u) + k);
            nv = (nv & ~(0xFFu << sh)) | (((v >> (8 * k)) & 0xFFu) << sh);
        }
        bc_check(woff, old, nv);
    }
    for (unsigned k = 0; k < width; k++) m.dpram[off + k] = (uint8_t)(v >> (8 * k));
}

/* ---- RESETS and NVIC -------------------------------------------------- */

static uint32_t resets_rd(uint32_t addr, unsigned width)
{
    uint32_t off = addr - RESETS_BASE;
    if (width != 4) fail_msg("%u-byte access to RESETS", width);
    if (off == 0x0u) return m.resets;
    if (off == 0x8u) {
        m.st.reset_done_polls++;
        if (!(m.resets & RESETS_USBCTRL) && !(m.resets_done & RESETS_USBCTRL)) {
            if (m.done_delay) {
                m.done_delay--;
            } else if (!m.done_stuck) {
                m.resets_done |= RESETS_USBCTRL;
            }
        }
        return m.resets_done;
    }
    fail_msg("read of RESETS offset 0x%x", off);
    return 0;
}

static void resets_wr(uint32_t addr, unsigned width, uint32_t v)
{
    uint32_t alias = (addr - RESETS_BASE) & 0x3000u, off = (addr - RESETS_BASE) & 0xFFFu;
    if (width != 4) fail_msg("%u-byte access to RESETS", width);
    if (off != 0) fail_msg("write to RESETS offset 0x%x (only RESET is written)", off);
    log_write(addr, v);
    uint32_t old = m.resets;
    uint32_t nv = alias == 0 ? v : alias == ALIAS_SET ? (old | v) : alias == ALIAS_CLR ? (old & ~v)
                                                                                      : (old ^ v);
    nv &= RESETS_ALL;
    if ((nv ^ old) & ~RESETS_USBCTRL) fail_msg("the USB driver changed the reset of another block");
    if ((nv & RESETS_USBCTRL) && (m.iser0 & (1u << USB_IRQ)))
        fail_msg("USBCTRL put into reset with its interrupt enabled: the handler could run "
                 "against a block in reset");
    if ((nv & RESETS_USBCTRL) && !(old & RESETS_USBCTRL)) {
        m.resets_done &= ~RESETS_USBCTRL;
        usb_regs_to_reset_values(); /* DPRAM keeps its contents */
    }
    if (!(nv & RESETS_USBCTRL) && (old & RESETS_USBCTRL)) m.done_delay = 2;
    m.resets = nv;
}

static uint32_t nvic_rd(uint32_t addr, unsigned width)
{
    if (width != 4) fail_msg("%u-byte access to the NVIC", width);
    /* ISER0 and ICER0 both read the enables; pending is not modelled. */
    return addr == NVIC_ICPR0 ? 0u : m.iser0;
}

static void nvic_wr(uint32_t addr, unsigned width, uint32_t v)
{
    if (width != 4) fail_msg("%u-byte access to the NVIC", width);
    log_write(addr, v);
    if (v & ~(1u << USB_IRQ)) fail_msg("the USB driver touched another interrupt: 0x%08x", v);
    if (addr == NVIC_ISER0) m.iser0 |= v; /* write-1-to-enable */
    if (addr == NVIC_ICER0) m.iser0 &= ~v; /* write-1-to-disable */
}

const rp_model_region_t usbm_regions[] = {
    {"USB DPRAM", USBM_DPRAM, DPRAM_ALIAS_END, dpram_rd, dpram_wr},
    {"USBCTRL", USBM_REGS, REGS_SPAN, regs_rd, regs_wr},
    {"RESETS", RESETS_BASE, 0x4000u, resets_rd, resets_wr},
    {"NVIC ISER0", NVIC_ISER0, 4u, nvic_rd, nvic_wr},
    {"NVIC ICER0", NVIC_ICER0, 4u, nvic_rd, nvic_wr},
    {"NVIC ICPR0", NVIC_ICPR0, 4u, nvic_rd, nvic_wr},
};
const size_t usbm_region_count = sizeof usbm_regions / sizeof usbm_regions[0];

/* ---- the host on the wire -------------------------------------------- */

static bool device_answers(void)
{
    if (!usb_out_of_reset()) return false;
    uint32_t main = *R(USBM_MAIN_CTRL), sie = *R(USBM_SIE_CTRL);
    if (!(main & MAIN_CONTROLLER_EN) || (main & (MAIN_HOST_NDEVICE | MAIN_PHY_ISO))) return false;
    if (!(sie & SIE_CTRL_PULLUP_EN) || (sie & SIE_CTRL_TRANSCEIVER_PD)) return false;
    if ((*R(USBM_USB_MUXING) & 0x9u) != 0x9u || (*R(USBM_USB_PWR) & 0xCu) != 0xCu) return false;
    return (*R(USBM_ADDR_ENDP) & 0x7Fu) == m.host_addr;
}

/* DPRAM buffer of endpoint num/dir, or false if the endpoint is disabled. */
static bool ep_buffer(uint8_t num, bool in, uint32_t *boff, bool *irq)
{
    if (num == 0) {
        *boff = 0x100u;
        *irq = (*R(USBM_SIE_CTRL) & SIE_CTRL_EP0_INT_1BUF) != 0;
        return true;
    }
    uint32_t epc = word_at(8u * num + (in ? 0u : 4u));
    if (!(epc & EPC_ENABLE)) return false;
    uint32_t off = epc & 0xFFC0u, type = (epc >> 26) & 3u;
    if (epc & EPC_DOUBLE) fail_msg("EP%u: double buffering is not modelled", num);
    if (type == 0u || type == 1u) fail_msg("EP%u: control/iso type on a data endpoint", num);
    if (off < 0x180u || off + 64u > DPRAM_SIZE) fail_msg("EP%u: buffer 0x%x outside the data area", num, off);
    for (uint32_t c = 0x08u; c < 0x80u; c += 4u) {
        uint32_t other = word_at(c);
        if (c != 8u * num + (in ? 0u : 4u) && (other & EPC_ENABLE) && (other & 0xFFC0u) == off)
            fail_msg("EP%u %s shares DPRAM buffer 0x%x with control word 0x%x", num, in ? "IN" : "OUT", off, c);
    }
    *boff = off;
    *irq = (epc & EPC_IRQ_BUF) != 0;
    return true;
}

static bool stalled(uint8_t num, bool in, uint32_t bc)
{
    if (!(bc & BC_STALL)) return false;
    return num != 0 || (*R(USBM_EP_STALL_ARM) & (in ? 1u : 2u));
}

usbm_result_t usbm_setup(const uint8_t setup[8])
{
    if (!device_answers()) return USBM_NORESP;
    memcpy(m.dpram, setup, 8);
    *R(USBM_SIE_STATUS) |= ST_SETUP_REC;
    /* The next SETUP clears EP_STALL_ARM in hardware, which ends an EP0
     * stall. The STALL bits in buffer control are left for the driver (the
     * stricter reading of the facts). */
    *R(USBM_EP_STALL_ARM) = 0;
    m.toggle[0] = m.toggle[1] = 1;
    return USBM_ACK;
}

usbm_result_t usbm_in(uint8_t num, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (num > 15) fail_msg("no endpoint %u", num);
    if (!device_answers()) return USBM_NORESP;
    uint32_t boff, bcoff = 0x80u + 8u * num;
    unsigned slot = 2u * num;
    bool irq;
    if (!ep_buffer(num, true, &boff, &irq)) return USBM_NORESP;
    uint32_t bc = word_at(bcoff);
    if (*R(USBM_EP_ABORT) & (1u << slot)) return USBM_NAK;
    if (stalled(num, true, bc)) return USBM_STALL;
    if (!(bc & BC_AVAILABLE)) return USBM_NAK;
    if (!(bc & BC_FULL)) fail_msg("EP%u IN buffer made available without FULL", num);
    size_t n = bc & BC_LEN;
    if (n > 64u) fail_msg("EP%u IN LENGTH %zu exceeds the buffer", num, n);
    if (n > cap) fail_msg("EP%u IN: %zu bytes babble past the host's %zu", num, n, cap);
    memcpy(buf, &m.dpram[boff], n);
    *len = n;
    unsigned pid = (bc & BC_PID) ? 1u : 0u;
    m.last_pid = pid;
    put_word(bcoff, bc & ~(BC_AVAILABLE | BC_FULL));
    if (irq) *R(USBM_BUFF_STATUS) |= 1u << slot;
    if (pid != m.toggle[slot]) return USBM_BADPID;
    m.toggle[slot] ^= 1u;
    return USBM_ACK;
}

usbm_result_t usbm_out_pid(uint8_t num, const void *data, size_t len, unsigned pid)
{
    if (num > 15) fail_msg("no endpoint %u", num);
    if (len > 64u) fail_msg("the host model sends at most 64 bytes");
    if (!device_answers()) return USBM_NORESP;
    uint32_t boff, bcoff = 0x84u + 8u * num;
    unsigned slot = 2u * num + 1u;
    bool irq;
    if (!ep_buffer(num, false, &boff, &irq)) return USBM_NORESP;
    uint32_t bc = word_at(bcoff);
    if (*R(USBM_EP_ABORT) & (1u << slot)) return USBM_NAK;
    if (stalled(num, false, bc)) return USBM_STALL;
    if (!(bc & BC_AVAILABLE)) return USBM_NAK;
    if (bc & BC_FULL) fail_msg("EP%u OUT buffer made available with FULL set", num);
    if (pid != ((bc & BC_PID) ? 1u : 0u)) {
        /* A retransmission: ACKed, dropped, buffer left as it was. */
        *R(USBM_SIE_STATUS) |= ST_DATA_SEQ_ERROR;
        return USBM_SEQERR;
    }
    if (len > (bc & BC_LEN))
        fail_msg("EP%u OUT: %zu bytes but LENGTH %u armed (undefined on the chip)", num, len,
                 (unsigned)(bc & BC_LEN));
    if (len) memcpy(&m.dpram[boff], data, len);
    put_word(bcoff, (bc & ~(BC_AVAILABLE | BC_LEN)) | BC_FULL | (uint32_t)len);
    if (irq) *R(USBM_BUFF_STATUS) |= 1u << slot;
    m.last_pid = pid;
    m.toggle[slot] = pid ^ 1u;
    return USBM_ACK;
}

usbm_result_t usbm_out(uint8_t num, const void *data, size_t len)
{
    return usbm_out_pid(num, data, len, m.toggle[2u * num + 1u]);
}

void usbm_bus_reset(void)
{
    if (usb_out_of_reset() && (*R(USBM_MAIN_CTRL) & MAIN_CONTROLLER_EN))
        *R(USBM_SIE_STATUS) |= ST_BUS_RESET;
    m.host_addr = 0;
    memset(m.toggle, 0, sizeof m.toggle);
}

void usbm_suspend(void) { *R(USBM_SIE_STATUS) |= ST_SUSPENDED; }
void usbm_resume(void) { *R(USBM_SIE_STATUS) |= ST_RESUME; }
void usbm_host_address(uint8_t addr) { m.host_addr = addr; }
void usbm_reset_done_stuck(bool stuck) { m.done_stuck = stuck; }

static unsigned toggle_slot(uint8_t ep)
{
    return 2u * (ep & 0x0Fu) + ((ep & 0x80u) ? 0u : 1u);
}

unsigned usbm_host_toggle(uint8_t ep) { return m.toggle[toggle_slot(ep)]; }
void usbm_host_set_toggle(uint8_t ep, unsigned pid) { m.toggle[toggle_slot(ep)] = pid & 1u; }
unsigned usbm_last_pid(void) { return m.last_pid; }

bool usbm_irq_raised(void)
{
    return usb_out_of_reset() && ints() != 0 && (m.iser0 & (1u << USB_IRQ));
}

uint32_t usbm_reg(uint32_t off)
{
    if (off == USBM_INTS) return ints();
    if (off == USBM_INTR) return intr_raw();
    return *R(off);
}

uint32_t usbm_dpram32(uint32_t off) { return word_at(off); }
uint8_t usbm_dpram8(uint32_t off) { return m.dpram[off]; }
uint32_t usbm_resets(void) { return m.resets; }
uint32_t usbm_resets_done(void) { return m.resets_done; }
uint32_t usbm_nvic_iser0(void) { return m.iser0; }
unsigned usbm_remote_wakeups(void) { return m.wakeups; }
const usbm_stats_t *usbm_stats(void) { return &m.st; }
void usbm_stats_clear(void) { memset(&m.st, 0, sizeof m.st); }

size_t usbm_reg_writes(const usbm_write_t **log)
{
    *log = m.log;
    return m.nlog;
}

void usbm_reg_writes_clear(void) { m.nlog = 0; }
