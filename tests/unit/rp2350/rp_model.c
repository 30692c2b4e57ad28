/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_model.c - the RP2350 model behind rp_mmio.h, rp_cpu.h and rp_rom.h
 * when the port is built with RP_MMIO_MODEL (rp_model.h says what it models
 * and checks).
 */
#include "rp_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_regs.h"

rp_model_t rp_model;

#define SLOTS 4096u
#define ALIAS_SHIFT 12u
#define ALIAS_MASK 0x3000u
#define PERIPH_FIRST 0x40000000u
#define PERIPH_LAST 0x4FFFFFFFu
#define BOOTRAM_WORDS 256u
#define TIMER_DEFAULT_STEP_US 10u
#define WFI_US 100u
#define XOSC_STABLE_AFTER_READS 2u
#define OTP_ROWS 4096u

static struct {
    bool used;
    uint32_t addr;
    uint32_t value;
} regs[SLOTS];

static uint32_t pending_done;      /* blocks released whose RESET_DONE lags */
static unsigned pending_countdown;
static unsigned xosc_status_reads;
static uint32_t trng_index;
static uint32_t gpio_out;

/* The BOOTRAM XIP stub the ROM leaves after a flash boot: 12 bytes of code
 * (any non-zero words here) and the mode and divider it found. */
static const uint32_t bootram_stub[5] = {0x4B02B500u, 0x4798A102u, 0xBD00BF00u, 3u, 3u};

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(rp_model.last_violation, sizeof rp_model.last_violation, fmt, ap);
    va_end(ap);
    rp_model.violations++;
}

static void log_access(rp_model_op_t op, uint32_t addr, uint32_t value)
{
    if (rp_model.log_len >= RP_MODEL_LOG_CAP) {
        rp_model.log_overflow = true;
        return;
    }
    rp_model.log[rp_model.log_len++] = (rp_model_access_t){
        .op = op, .addr = addr, .value = value, .irq_masked = rp_model.irq_masked};
}

void rp_model_log_clear(void)
{
    rp_model.log_len = 0;
    rp_model.log_overflow = false;
}

long rp_model_find(size_t from, rp_model_op_t op, uint32_t addr, uint32_t mask, uint32_t want)
{
    for (size_t i = from; i < rp_model.log_len; i++) {
        const rp_model_access_t *a = &rp_model.log[i];
        if (a->op == op && a->addr == addr && (mask == 0u || (a->value & mask) == want))
            return (long)i;
    }
    return -1;
}

size_t rp_model_count(rp_model_op_t op, uint32_t addr)
{
    size_t n = 0;
    for (size_t i = 0; i < rp_model.log_len; i++)
        if (rp_model.log[i].op == op && rp_model.log[i].addr == addr) n++;
    return n;
}

/* ---- Core 1's ROM and the SIO FIFOs (spec §10.1, §10.2) -------------------- */

typedef struct fifo {
    uint32_t w[RP_SIO_FIFO_DEPTH];
    unsigned n;
} fifo_t;

static struct {
    fifo_t to_core1, to_core0;
    uint32_t sticky; /* core 0's WOF / ROE */
    unsigned seq;    /* launch words accepted after the 1 (0: waiting for 1) */
    uint32_t words[3];
} c1m;

static void fifo_push(fifo_t *f, uint32_t v)
{
    if (f->n == RP_SIO_FIFO_DEPTH) {
        violation("core 1's echo lost: core 0's RX FIFO full");
        return;
    }
    f->w[f->n++] = v;
}

static uint32_t fifo_pop(fifo_t *f)
{
    const uint32_t v = f->w[0];
    for (unsigned i = 1; i < f->n; i++) f->w[i - 1] = f->w[i];
    f->n--;
    return v;
}

/* Core 1's ROM answers a word from core 0. */
static void core1_rom_echo(uint32_t v)
{
    if (rp_model.core1_bad_echoes > 0u) {
        rp_model.core1_bad_echoes--;
        v ^= 0x80000000u;
    }
    fifo_push(&c1m.to_core0, v);
}

/* Core 1 wakes (SEV) in its ROM's launch loop and takes its words. */
static void core1_rom_run(void)
{
    if (rp_model.core1_in_reset || rp_model.core1_launched || rp_model.core1_mute) return;
    while (c1m.to_core1.n > 0u && !rp_model.core1_launched) {
        const uint32_t w = fifo_pop(&c1m.to_core1);
        if (w == 0u || (c1m.seq == 0u && w != 1u)) {
            /* Restart: drain, answer 0. */
            c1m.seq = 0;
            c1m.to_core1.n = 0;
            core1_rom_echo(0u);
            continue;
        }
        if (c1m.seq > 0u) c1m.words[c1m.seq - 1u] = w;
        c1m.seq++;
        core1_rom_echo(w);
        if (c1m.seq == 4u) {
            rp_model.core1_launched = true;
            rp_model.core1_launches++;
            rp_model.core1_vtor = c1m.words[0];
            rp_model.core1_sp = c1m.words[1];
            rp_model.core1_pc = c1m.words[2];
            c1m.seq = 0;
        }
    }
}

void rp_model_sev(void)
{
    rp_model.sevs++;
    core1_rom_run();
}

/* PSM FRCE_OFF written: core 1 held in reset, or released into its ROM. */
static void write_frce_off(uint32_t next)
{
    const bool hold = (next & RP_PSM_PROC1) != 0u;
    if (hold && !rp_model.core1_in_reset) {
        rp_model.core1_in_reset = true;
        rp_model.core1_launched = false;
        c1m.to_core1.n = 0;
        c1m.seq = 0;
    } else if (!hold && rp_model.core1_in_reset) {
        rp_model.core1_in_reset = false;
        rp_model.core1_resets++;
        if (!rp_model.core1_mute) fifo_push(&c1m.to_core0, 0u);
    }
    rp_model_poke(RP_PSM_FRCE_OFF, next);
}

static uint32_t read_fifo_st(void)
{
    return c1m.sticky | (c1m.to_core0.n > 0u ? RP_SIO_FIFO_VLD : 0u) |
           (c1m.to_core1.n < RP_SIO_FIFO_DEPTH ? RP_SIO_FIFO_RDY : 0u);
}

static uint32_t read_fifo_rd(void)
{
    if (c1m.to_core0.n == 0u) {
        c1m.sticky |= RP_SIO_FIFO_ROE;
        violation("SIO FIFO read while empty");
        return 0u;
    }
    return fifo_pop(&c1m.to_core0);
}

static void write_fifo_wr(uint32_t v)
{
    if (c1m.to_core1.n == RP_SIO_FIFO_DEPTH) {
        c1m.sticky |= RP_SIO_FIFO_WOF;
        violation("SIO FIFO written while full");
        return;
    }
    fifo_push(&c1m.to_core1, v);
}

/* ---- The register file ------------------------------------------------------ */

static uint32_t reset_value(uint32_t addr)
{
    switch (addr) {
    case RP_RESETS_RESET:
        return RP_RESET_ALL;
    case RP_CLK_SYS_CTRL:
        return rp_model.a3 ? (RP_CLK_SYS_SRC_AUX | (RP_CLK_SYS_AUXSRC_ROSC << RP_CLK_AUXSRC_SHIFT))
                           : 0u;
    case RP_CLK_REF_DIV:
    case RP_CLK_SYS_DIV:
    case RP_CLK_PERI_DIV:
    case RP_CLK_USB_DIV:
        return RP_CLK_DIV_1;
    case RP_PLL_SYS_BASE + RP_PLL_PWR:
    case RP_PLL_USB_BASE + RP_PLL_PWR:
        return 0x2Du;
    case RP_PLL_SYS_BASE + RP_PLL_CS:
    case RP_PLL_USB_BASE + RP_PLL_CS:
        return 1u;
    case RP_PLL_SYS_BASE + RP_PLL_PRIM:
    case RP_PLL_USB_BASE + RP_PLL_PRIM:
        return 0x77000u;
    case RP_TRNG_SAMPLE_CNT1:
        return 0xFFFFu;
    case RP_PADS_GPIO(RP_LED_GPIO):
        return 0x116u;
    default:
        break;
    }
    if (addr >= RP_BOOTRAM_BASE && addr < RP_BOOTRAM_BASE + 4u * BOOTRAM_WORDS) {
        const uint32_t i = (addr - RP_BOOTRAM_BASE) / 4u;
        return i < 5u ? bootram_stub[i] : 0u;
    }
    return 0u;
}

static unsigned slot_of(uint32_t addr)
{
    unsigned h = (unsigned)((addr * 2654435761u) >> 20) % SLOTS;
    while (regs[h].used && regs[h].addr != addr) h = (h + 1u) % SLOTS;
    return h;
}

uint32_t rp_model_peek(uint32_t addr)
{
    const unsigned s = slot_of(addr);
    return regs[s].used ? regs[s].value : reset_value(addr);
}

void rp_model_poke(uint32_t addr, uint32_t value)
{
    const unsigned s = slot_of(addr);
    regs[s].used = true;
    regs[s].addr = addr;
    regs[s].value = value;
}

/* The reset bit of the block holding addr, 0 for blocks not modelled so. */
static uint32_t block_reset_bit(uint32_t addr)
{
    static const struct {
        uint32_t base, bit;
    } blocks[] = {
        {RP_PLL_SYS_BASE, RP_RESET_PLL_SYS}, {RP_PLL_USB_BASE, RP_RESET_PLL_USB},
        {RP_TIMER0_BASE, RP_RESET_TIMER0},   {RP_TRNG_BASE, RP_RESET_TRNG},
        {RP_IO_BANK0_BASE, RP_RESET_IO_BANK0}, {RP_PADS_BANK0_BASE, RP_RESET_PADS_BANK0},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (addr >= blocks[i].base && addr < blocks[i].base + 0x4000u) return blocks[i].bit;
    return 0u;
}

static bool in_reset(uint32_t bit) { return (rp_model_peek(RP_RESETS_RESET) & bit) != 0u; }

static void check_not_in_reset(uint32_t addr)
{
    const uint32_t bit = block_reset_bit(addr);
    if (bit != 0u && in_reset(bit)) violation("access to 0x%08x while its block is in reset", addr);
}

static bool clk_sys_on_pll_sys(void)
{
    const uint32_t c = rp_model_peek(RP_CLK_SYS_CTRL);
    return (c & RP_CLK_SYS_SRC_AUX) != 0u &&
           ((c & RP_CLK_AUXSRC_MASK) >> RP_CLK_AUXSRC_SHIFT) == RP_CLK_SYS_AUXSRC_PLL_SYS;
}

static void pll_reset(uint32_t base)
{
    rp_model_poke(base + RP_PLL_CS, 1u);
    rp_model_poke(base + RP_PLL_PWR, 0x2Du);
    rp_model_poke(base + RP_PLL_FBDIV_INT, 0u);
    rp_model_poke(base + RP_PLL_PRIM, 0x77000u);
}

static void write_resets(uint32_t next)
{
    const uint32_t cur = rp_model_peek(RP_RESETS_RESET);
    const uint32_t into = next & ~cur, out = cur & ~next;
    if ((into & (RP_RESET_IO_QSPI | RP_RESET_PADS_QSPI)) != 0u)
        violation("QSPI pads or IO reset while executing from flash");
    if ((into & RP_RESET_PLL_SYS) != 0u) {
        if (clk_sys_on_pll_sys()) violation("PLL_SYS reset while clk_sys runs from it");
        pll_reset(RP_PLL_SYS_BASE);
    }
    if ((into & RP_RESET_PLL_USB) != 0u) pll_reset(RP_PLL_USB_BASE);
    if (out != 0u) {
        pending_done |= out;
        pending_countdown = rp_model.reset_done_delay;
    }
    pending_done &= ~into;
    rp_model_poke(RP_RESETS_RESET, next & RP_RESET_ALL);
}

static void write_clk_sys_ctrl(uint32_t next)
{
    const uint32_t cur = rp_model_peek(RP_CLK_SYS_CTRL);
    if ((cur & RP_CLK_SYS_SRC_AUX) != 0u && ((cur ^ next) & RP_CLK_AUXSRC_MASK) != 0u)
        violation("clk_sys AUXSRC changed while the glitchless mux selects aux");
    rp_model_poke(RP_CLK_SYS_CTRL, next);
}

static void write_reg(uint32_t addr, uint32_t next)
{
    check_not_in_reset(addr);
    if (addr == RP_RESETS_RESET) {
        write_resets(next);
    } else if (addr == RP_CLK_SYS_CTRL) {
        write_clk_sys_ctrl(next);
    } else if (addr >= RP_OTP_SW_LOCK(0) && addr < RP_OTP_SW_LOCK(FK_OTP_PAGES)) {
        (void)fk_otp_sw_lock(&rp_model.otp, FK_OTP_SECURE, (addr - RP_OTP_BASE) / 4u,
                             (uint8_t)next);
    } else if (addr == RP_TRNG_RNG_ICR) {
        /* W1C into RNG_ISR */
        rp_model_poke(RP_TRNG_BASE + 0x104u, rp_model_peek(RP_TRNG_BASE + 0x104u) & ~next);
    } else if (addr == RP_PSM_FRCE_OFF) {
        write_frce_off(next);
    } else if (addr == RP_SIO_FIFO_WR) {
        write_fifo_wr(next);
    } else if (addr == RP_SIO_FIFO_ST) {
        c1m.sticky &= ~next;
    } else if (addr == RP_SIO_GPIO_OUT_SET) {
        gpio_out |= next;
    } else if (addr == RP_SIO_GPIO_OUT_CLR) {
        gpio_out &= ~next;
    } else if (addr == RP_XOSC_CTRL) {
        xosc_status_reads = 0;
        rp_model_poke(addr, next);
    } else if (addr >= RP_BOOTRAM_BASE && addr < RP_BOOTRAM_BASE + 0x4000u) {
        violation("write to BOOTRAM 0x%08x", addr);
    } else {
        rp_model_poke(addr, next);
    }
}

static bool button_down(void)
{
    for (unsigned i = 0; i < rp_model.presses; i++)
        if (rp_model.now_us >= rp_model.press_us[i] && rp_model.now_us < rp_model.release_us[i])
            return true;
    return false;
}

static bool pll_locked(uint32_t base)
{
    const uint32_t pwr = rp_model_peek(base + RP_PLL_PWR);
    const uint32_t fb = rp_model_peek(base + RP_PLL_FBDIV_INT);
    return (pwr & (RP_PLL_PWR_PD | RP_PLL_PWR_VCOPD)) == 0u && fb >= 16u && fb <= 320u &&
           (rp_model_peek(base + RP_PLL_CS) & 0x3Fu) == 1u;
}

static uint32_t timer_read(bool high)
{
    const bool ticking = (rp_model_peek(RP_TICKS_TIMER0_CTRL) & RP_TICKS_CTRL_ENABLE) != 0u &&
                         rp_model_peek(RP_TICKS_TIMER0_CYCLES) == RP_TICKS_CYCLES_1US;
    if (!ticking) violation("TIMER0 read before its tick generator runs at 1 us");
    const uint32_t v = high ? (uint32_t)(rp_model.now_us >> 32) : (uint32_t)rp_model.now_us;
    if (ticking && !in_reset(RP_RESET_TIMER0)) rp_model.now_us += rp_model.us_per_timer_read;
    return v;
}

static uint32_t read_reg(uint32_t addr)
{
    check_not_in_reset(addr);
    switch (addr) {
    case RP_RESETS_RESET_DONE: {
        uint32_t done = ~rp_model_peek(RP_RESETS_RESET) & RP_RESET_ALL;
        if (pending_countdown > 0u) {
            pending_countdown--;
            done &= ~pending_done;
        } else {
            pending_done = 0;
        }
        return done;
    }
    case RP_XOSC_STATUS: {
        const uint32_t ctrl = rp_model_peek(RP_XOSC_CTRL);
        const bool on = ((ctrl >> 12) & 0xFFFu) == 0xFABu && rp_model_peek(RP_XOSC_STARTUP) != 0u;
        if (on && xosc_status_reads < XOSC_STABLE_AFTER_READS) {
            xosc_status_reads++;
            return 0u;
        }
        return on ? RP_XOSC_STATUS_STABLE : 0u;
    }
    case RP_PLL_SYS_BASE + RP_PLL_CS:
    case RP_PLL_USB_BASE + RP_PLL_CS: {
        const uint32_t base = addr - RP_PLL_CS;
        return rp_model_peek(addr) | (pll_locked(base) ? RP_PLL_CS_LOCK : 0u);
    }
    case RP_CLK_REF_SELECTED:
        return 1u << (rp_model_peek(RP_CLK_REF_CTRL) & RP_CLK_REF_SRC_MASK);
    case RP_CLK_SYS_SELECTED:
        return 1u << (rp_model_peek(RP_CLK_SYS_CTRL) & RP_CLK_SYS_SRC_AUX);
    case RP_TIMER_TIMERAWH:
        return timer_read(true);
    case RP_TIMER_TIMERAWL:
        return timer_read(false);
    case RP_TRNG_BUSY:
        return (rp_model_peek(RP_TRNG_RND_SOURCE_ENABLE) & 1u) != 0u && !rp_model.trng_stalled ? 0u
                                                                                      : 1u;
    case RP_SIO_CPUID:
        return 0u;
    case RP_SIO_FIFO_ST:
        return read_fifo_st();
    case RP_SIO_FIFO_RD:
        return read_fifo_rd();
    case RP_SIO_GPIO_HI_IN: {
        const uint32_t ss = rp_model_peek(RP_IO_QSPI_SS_CTRL);
        if (!rp_model.irq_masked) violation("BOOTSEL read with interrupts enabled");
        if (((ss & RP_IO_OEOVER_MASK) >> RP_IO_OEOVER_SHIFT) != RP_IO_OEOVER_DISABLE) {
            violation("BOOTSEL read while the chip select is driven");
            return 0xFFFFFFFFu;
        }
        return button_down() ? ~RP_SIO_HI_QSPI_CSN : 0xFFFFFFFFu;
    }
    default:
        break;
    }
    if (addr >= RP_TRNG_EHR_DATA0 && addr < RP_TRNG_EHR_DATA0 + 4u * RP_TRNG_EHR_WORDS) {
        if ((rp_model_peek(RP_TRNG_RND_SOURCE_ENABLE) & 1u) == 0u)
            violation("TRNG EHR read with the source off");
        rp_model.trng_words++;
        return rp_model.trng(trng_index++, rp_model.trng_arg);
    }
    if (addr >= RP_OTP_SW_LOCK(0) && addr < RP_OTP_SW_LOCK(FK_OTP_PAGES))
        return rp_model.otp.sw_lock[(addr - RP_OTP_BASE) / 4u];
    return rp_model_peek(addr);
}

static bool has_aliases(uint32_t addr)
{
    return addr >= PERIPH_FIRST && addr <= PERIPH_LAST &&
           !(addr >= RP_BOOTRAM_BASE && addr < RP_BOOTRAM_BASE + 0x4000u);
}

static bool in_xip(uint32_t addr)
{
    return addr >= RP_XIP_BASE && addr < RP_XIP_BASE + RP_MODEL_FLASH_SIZE;
}

static uint32_t xip_read(uint32_t addr, unsigned width)
{
    if (rp_model.xip != RP_XIP_FAST && rp_model.xip != RP_XIP_SLOW)
        violation("flash read at 0x%08x while XIP is off", addr);
    const uint32_t off = addr - RP_XIP_BASE;
    if (off % width != 0u || off + width > RP_MODEL_FLASH_SIZE) {
        violation("bad XIP read at 0x%08x", addr);
        return 0u;
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < width; i++) v |= (uint32_t)rp_model.flash[off + i] << (8u * i);
    return v;
}

uint32_t rp_model_rd32(uint32_t addr)
{
    if (addr % 4u != 0u) violation("unaligned 32-bit read at 0x%08x", addr);
    if (in_xip(addr)) return xip_read(addr, 4u);
    if (has_aliases(addr) && (addr & ALIAS_MASK) != 0u)
        violation("read through an alias at 0x%08x", addr);
    const uint32_t v = read_reg(addr);
    log_access(RP_OP_READ, addr, v);
    return v;
}

void rp_model_wr32(uint32_t addr, uint32_t value)
{
    if (addr % 4u != 0u) violation("unaligned 32-bit write at 0x%08x", addr);
    rp_model_op_t op = RP_OP_WRITE;
    uint32_t reg = addr;
    if (has_aliases(addr)) {
        reg = addr & ~ALIAS_MASK;
        op = (rp_model_op_t)(RP_OP_WRITE + ((addr & ALIAS_MASK) >> ALIAS_SHIFT));
    }
    log_access(op, reg, value);
    const uint32_t cur = rp_model_peek(reg);
    switch (op) {
    case RP_OP_XOR:
        write_reg(reg, cur ^ value);
        break;
    case RP_OP_SET:
        write_reg(reg, cur | value);
        break;
    case RP_OP_CLR:
        write_reg(reg, cur & ~value);
        break;
    default:
        write_reg(reg, value);
        break;
    }
}

uint16_t rp_model_rd16(uint32_t addr)
{
    if (in_xip(addr)) return (uint16_t)xip_read(addr, 2u);
    violation("16-bit register read at 0x%08x", addr);
    return 0;
}

void rp_model_wr16(uint32_t addr, uint16_t value)
{
    (void)value;
    violation("16-bit write at 0x%08x", addr);
}

uint8_t rp_model_rd8(uint32_t addr)
{
    if (in_xip(addr)) return (uint8_t)xip_read(addr, 1u);
    violation("8-bit register read at 0x%08x", addr);
    return 0;
}

void rp_model_wr8(uint32_t addr, uint8_t value)
{
    (void)value;
    violation("8-bit write at 0x%08x", addr);
}

/* ---- CPU ----------------------------------------------------------------------- */

uint32_t rp_model_irq_save(void)
{
    const uint32_t was = rp_model.irq_masked ? 1u : 0u;
    rp_model.irq_masked = true;
    rp_model.irq_mask_changes++;
    return was;
}

void rp_model_irq_restore(uint32_t primask)
{
    rp_model.irq_masked = (primask & 1u) != 0u;
    rp_model.irq_mask_changes++;
}

void rp_model_wfi(void) { rp_model.now_us += WFI_US; }

void rp_model_call_stub(const uint32_t *stub)
{
    log_access(RP_OP_ROM, RP_BOOTRAM_BASE, 0u);
    if (memcmp(stub, bootram_stub, sizeof bootram_stub) != 0)
        violation("called a stub that is not the BOOTRAM copy");
    if (!rp_model.irq_masked) violation("XIP stub called with interrupts enabled");
    if (rp_model.xip != RP_XIP_FLUSHED) violation("XIP stub called before the cache flush");
    rp_model.xip = RP_XIP_FAST;
    rp_model.stub_calls++;
}

void rp_model_halt(void)
{
    if (rp_model.halt != NULL) longjmp(*rp_model.halt, 1);
    abort();
}

/* ---- The boot ROM ----------------------------------------------------------------- */

static void rom_log(uint32_t code, uint32_t arg)
{
    log_access(RP_OP_ROM, code, arg);
    if (!rp_model.irq_masked && code != RP_ROM_FUNC_OTP_ACCESS && code != RP_ROM_FUNC_REBOOT &&
        code != RP_ROM_FUNC_GET_SYS_INFO)
        violation("flash ROM call %c%c with interrupts enabled", (char)code, (char)(code >> 8));
}

static void rom_connect_internal_flash(void)
{
    rom_log(RP_ROM_FUNC_CONNECT_INTERNAL_FLASH, 0);
    rp_model.xip = RP_XIP_CONNECTED;
}

static void rom_flash_exit_xip(void)
{
    rom_log(RP_ROM_FUNC_FLASH_EXIT_XIP, 0);
    if (rp_model.xip != RP_XIP_CONNECTED) violation("exit_xip before connect_internal_flash");
    rp_model.xip = RP_XIP_OFF;
}

static void rom_flash_range_erase(uint32_t offs, size_t count, uint32_t block_size, uint8_t cmd)
{
    rom_log(RP_ROM_FUNC_FLASH_RANGE_ERASE, offs);
    rp_model.erase_calls++;
    if (rp_model.xip != RP_XIP_OFF) violation("erase while XIP is on");
    if (offs % 4096u != 0u || count % 4096u != 0u || offs + count > RP_MODEL_FLASH_SIZE ||
        block_size != 4096u || cmd != 0x20u) {
        violation("bad erase 0x%x+0x%zx", offs, count);
        return;
    }
    if (rp_model.flash_dead) return;
    memset(rp_model.flash + offs, 0xFF, count);
}

static void rom_flash_range_program(uint32_t offs, const uint8_t *data, size_t count)
{
    rom_log(RP_ROM_FUNC_FLASH_RANGE_PROGRAM, offs);
    rp_model.program_calls++;
    rp_model.last_program_src = data;
    if (rp_model.xip != RP_XIP_OFF) violation("program while XIP is on");
    if (offs % 256u != 0u || count % 256u != 0u || offs + count > RP_MODEL_FLASH_SIZE) {
        violation("bad program 0x%x+0x%zx", offs, count);
        return;
    }
    if (rp_model.flash_dead) return;
    for (size_t i = 0; i < count; i++) rp_model.flash[offs + i] &= data[i];
}

static void rom_flash_flush_cache(void)
{
    rom_log(RP_ROM_FUNC_FLASH_FLUSH_CACHE, 0);
    if (rp_model.xip == RP_XIP_OFF) rp_model.xip = RP_XIP_FLUSHED;
}

static void rom_flash_enter_cmd_xip(void)
{
    rom_log(RP_ROM_FUNC_FLASH_ENTER_CMD_XIP, 0);
    if (rp_model.xip != RP_XIP_FLUSHED) violation("enter_cmd_xip before the cache flush");
    rp_model.xip = RP_XIP_SLOW;
}

static int rom_otp_access(uint8_t *buf, uint32_t len, uint32_t cmd)
{
    rom_log(RP_ROM_FUNC_OTP_ACCESS, cmd);
    rp_model.otp_calls++;
    if ((cmd & ~0x3FFFFu) != 0u) return RP_ROM_ERR_INVALID_ARG;
    const bool write = (cmd & RP_ROM_OTP_CMD_WRITE) != 0u;
    const bool ecc = (cmd & RP_ROM_OTP_CMD_ECC) != 0u;
    const uint16_t row = (uint16_t)(cmd & 0xFFFFu);
    const uint32_t unit = ecc ? 2u : 4u;
    if (len % unit != 0u || (uintptr_t)buf % unit != 0u) return RP_ROM_ERR_BAD_ALIGNMENT;
    const size_t count = len / unit;
    if (row >= OTP_ROWS || count > OTP_ROWS - row) return RP_ROM_ERR_INVALID_ARG;
    if (ecc) {
        uint16_t v[OTP_ROWS];
        memcpy(v, buf, len);
        const int rc = write ? fk_otp_write_ecc(&rp_model.otp, FK_OTP_SECURE, row, v, count)
                             : fk_otp_read_ecc(&rp_model.otp, FK_OTP_SECURE, row, v, count, NULL);
        if (!write) memcpy(buf, v, len);
        return rc;
    }
    uint32_t v[OTP_ROWS];
    memcpy(v, buf, len);
    const int rc = write ? fk_otp_write_raw(&rp_model.otp, FK_OTP_SECURE, row, v, count)
                         : fk_otp_read_raw(&rp_model.otp, FK_OTP_SECURE, row, v, count);
    if (!write) memcpy(buf, v, len);
    return rc;
}

static int rom_reboot(uint32_t flags, uint32_t delay_ms, uint32_t p0, uint32_t p1)
{
    rom_log(RP_ROM_FUNC_REBOOT, flags);
    rp_model.reboot_calls++;
    rp_model.reboot_flags = flags;
    rp_model.reboot_delay = delay_ms;
    rp_model.reboot_p0 = p0;
    rp_model.reboot_p1 = p1;
    return 0;
}

static int rom_get_sys_info(uint32_t *out, uint32_t out_words, uint32_t flags)
{
    rom_log(RP_ROM_FUNC_GET_SYS_INFO, flags);
    if (flags != RP_ROM_SYS_INFO_CHIP_INFO || out_words < 4u) return RP_ROM_ERR_INVALID_ARG;
    uint16_t id[4];
    (void)fk_otp_read_ecc(&rp_model.otp, FK_OTP_BOOTSEL, 0, id, 4, NULL);
    out[0] = RP_ROM_SYS_INFO_CHIP_INFO;
    out[1] = 0;
    out[2] = id[0] | (uint32_t)id[1] << 16;
    out[3] = id[2] | (uint32_t)id[3] << 16;
    return 4;
}

void *rp_model_rom_lookup(uint32_t code, uint32_t mask)
{
    log_access(RP_OP_ROM, 0x16u, code);
    if (mask != RP_RT_FLAG_FUNC_ARM_SEC) {
        violation("ROM lookup with mask 0x%x, not Arm Secure", mask);
        return NULL;
    }
    if (code == rp_model.missing_rom_code) return NULL;
    switch (code) {
    case RP_ROM_FUNC_CONNECT_INTERNAL_FLASH:
        return (void *)rom_connect_internal_flash;
    case RP_ROM_FUNC_FLASH_EXIT_XIP:
        return (void *)rom_flash_exit_xip;
    case RP_ROM_FUNC_FLASH_RANGE_ERASE:
        return (void *)rom_flash_range_erase;
    case RP_ROM_FUNC_FLASH_RANGE_PROGRAM:
        return (void *)rom_flash_range_program;
    case RP_ROM_FUNC_FLASH_FLUSH_CACHE:
        return (void *)rom_flash_flush_cache;
    case RP_ROM_FUNC_FLASH_ENTER_CMD_XIP:
        return (void *)rom_flash_enter_cmd_xip;
    case RP_ROM_FUNC_OTP_ACCESS:
        return (void *)rom_otp_access;
    case RP_ROM_FUNC_REBOOT:
        return (void *)rom_reboot;
    case RP_ROM_FUNC_GET_SYS_INFO:
        return (void *)rom_get_sys_info;
    default:
        return NULL;
    }
}

/* ---- Set-up ---------------------------------------------------------------------- */

/* A statistically good stand-in for the ring oscillator (splitmix64). */
static uint32_t good_trng(uint32_t index, void *arg)
{
    (void)arg;
    uint64_t z = (uint64_t)index * 0x9E3779B97F4A7C15ull + 0x1234567ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

void rp_model_press(uint64_t t0_us, uint64_t t1_us)
{
    if (rp_model.presses >= sizeof rp_model.press_us / sizeof rp_model.press_us[0]) abort();
    rp_model.press_us[rp_model.presses] = t0_us;
    rp_model.release_us[rp_model.presses] = t1_us;
    rp_model.presses++;
}

void rp_model_reset(bool a3)
{
    static const uint8_t chipid[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    static const uint8_t randid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    memset(&rp_model, 0, sizeof rp_model);
    memset(regs, 0, sizeof regs);
    pending_done = 0;
    pending_countdown = 0;
    xosc_status_reads = 0;
    trng_index = 0;
    gpio_out = 0;
    memset(&c1m, 0, sizeof c1m);
    rp_model.a3 = a3;
    rp_model.us_per_timer_read = TIMER_DEFAULT_STEP_US;
    rp_model.trng = good_trng;
    rp_model.xip = RP_XIP_FAST;
    memset(rp_model.flash, 0xFF, sizeof rp_model.flash);
    fk_otp_init(&rp_model.otp, FK_OTP_STEPPING_A2);
    if (fk_otp_factory(&rp_model.otp, chipid, randid) != FK_OTP_OK) abort();
}

uint32_t rp_model_gpio_out(void) { return gpio_out; }
