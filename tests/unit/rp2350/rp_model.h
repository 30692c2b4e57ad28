/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_model.h - a model of the RP2350 registers, boot ROM and flash the
 * port's drivers touch (ports/rp2350, built with RP_MMIO_MODEL), written
 * from the facts in docs/rp2350.md, for the register-sequence tests.
 *
 * What it models: a sparse register file with the XOR/SET/CLR aliases of
 * peripheral registers (none for SIO, the PPB and BOOTRAM); RESETS with
 * RESET_DONE following RESET; XOSC STABLE after enable; PLL LOCK after
 * power-up; CLK_*_SELECTED following the SRC fields (with the A2 or A3
 * reset value of CLK_SYS_CTRL); the tick generators and TIMER0's raw
 * count, which advances on every read; BOOTRAM holding an XIP stub; the
 * boot ROM's lookup with fake flash, otp_access (over the OTP model of
 * otp/otp_model.h), reboot and get_sys_info; the TRNG's EHR fed from a
 * scripted source; the BOOTSEL button on GPIO_HI_IN; the interrupt mask;
 * the SIO FIFOs between the cores (depth 4, VLD/RDY, sticky WOF/ROE) with
 * core 1's boot ROM on the other side (on each SEV it takes its words: a 0
 * restarts it and is echoed, the first non-zero must be 1, then VTOR, SP
 * and PC are echoed and it launches; out of sequence it answers 0) and
 * PSM FRCE_OFF holding core 1 in reset (on release its ROM pushes a 0).
 *
 * What it checks: every access is logged, and every breach of a rule the
 * drivers must keep is counted as a violation with a message (a block
 * used while in reset, a PLL reset while clk_sys runs from it, a glitchless
 * mux source changed while selected, the timer read before its tick runs,
 * a flash routine called with interrupts enabled or out of order, flash
 * read while XIP is off, the button read without the chip-select override
 * or with interrupts enabled, a narrow or unaligned register access, a FIFO
 * written while full or read while empty).
 */
#ifndef FUSEKEY_TEST_RP_MODEL_H
#define FUSEKEY_TEST_RP_MODEL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otp_model.h"

#define RP_MODEL_FLASH_SIZE (4u * 1024u * 1024u)
#define RP_MODEL_LOG_CAP 65536u

typedef enum rp_model_op {
    RP_OP_READ = 0,
    RP_OP_WRITE,  /* a plain write */
    RP_OP_XOR,    /* a write through the XOR alias (value = mask) */
    RP_OP_SET,    /* through the SET alias */
    RP_OP_CLR,    /* through the CLR alias */
    RP_OP_ROM,    /* a ROM call: addr = its two-letter code */
} rp_model_op_t;

typedef struct rp_model_access {
    rp_model_op_t op;
    uint32_t addr;  /* the register (alias offset removed) or ROM code */
    uint32_t value; /* read or written value; ROM: first argument */
    bool irq_masked;
} rp_model_access_t;

typedef enum rp_model_xip {
    RP_XIP_FAST = 0,  /* the boot mode (or restored by the BOOTRAM stub) */
    RP_XIP_SLOW,      /* the ROM's serial command mode (enter_cmd_xip) */
    RP_XIP_CONNECTED, /* connect_internal_flash: not readable */
    RP_XIP_OFF,       /* exit_xip: erase/program allowed */
    RP_XIP_FLUSHED,   /* flush_cache after a write: still not readable */
} rp_model_xip_t;

typedef uint32_t (*rp_model_trng_fn)(uint32_t index, void *arg);

typedef struct rp_model {
    bool a3;                 /* stepping: A3 reset value of CLK_SYS_CTRL */
    uint64_t now_us;         /* TIMER0's count */
    uint32_t us_per_timer_read;
    unsigned reset_done_delay; /* RESET_DONE reads before a released block shows */
    unsigned violations;
    char last_violation[160];
    bool irq_masked;
    unsigned irq_mask_changes;
    rp_model_xip_t xip;
    unsigned stub_calls;
    uint8_t flash[RP_MODEL_FLASH_SIZE];
    const uint8_t *last_program_src;
    uint32_t erase_calls, program_calls;
    bool flash_dead; /* erase and program return without changing anything */
    fk_otp_t otp;
    unsigned otp_calls;
    uint32_t reboot_calls, reboot_flags, reboot_delay, reboot_p0, reboot_p1;
    uint32_t missing_rom_code; /* the lookup answers NULL for this code (0: none) */
    rp_model_trng_fn trng;
    void *trng_arg;
    uint32_t trng_words; /* EHR words read */
    bool trng_stalled;   /* TRNG_BUSY never clears */
    /* BOOTSEL held down from press_us[i] (inclusive) to release_us[i]. */
    uint64_t press_us[8], release_us[8];
    unsigned presses;
    /* Core 1 and the SIO FIFOs (spec §10): core 1's ROM echoes the launch
     * sequence on each SEV; FRCE_OFF holds it in reset. */
    bool core1_mute;            /* its ROM never answers (no echo, no restart 0) */
    unsigned core1_bad_echoes;  /* the next this many echoes come back wrong */
    bool core1_in_reset;        /* PSM FRCE_OFF holds it */
    bool core1_launched;        /* branched to the PC it was given */
    unsigned core1_launches, core1_resets, sevs;
    uint32_t core1_vtor, core1_sp, core1_pc;
    jmp_buf *halt; /* rp_model_halt longjmps here (1) */
    size_t log_len;
    bool log_overflow;
    rp_model_access_t log[RP_MODEL_LOG_CAP];
} rp_model_t;

extern rp_model_t rp_model;

/* A fresh chip: every register at its reset value, flash erased, the OTP a
 * new chip's (CHIPID 0x0123456789ABCDEF), the ROM complete, a good TRNG
 * source, the button up, interrupts enabled, the log empty. */
void rp_model_reset(bool a3);

/* The raw value of a register (no side effects, no log). */
uint32_t rp_model_peek(uint32_t addr);
void rp_model_poke(uint32_t addr, uint32_t value);

/* Index of the first log entry at or after `from` matching op and addr
 * (and value & mask == want when mask != 0); -1 when none. */
long rp_model_find(size_t from, rp_model_op_t op, uint32_t addr, uint32_t mask, uint32_t want);
/* Number of log entries matching op and addr. */
size_t rp_model_count(rp_model_op_t op, uint32_t addr);
void rp_model_log_clear(void);

/* The SIO GPIO output bits (GPIO_OUT_SET / _CLR so far). */
uint32_t rp_model_gpio_out(void);

/* The BOOTSEL button is down from t0 to t1 (microseconds of TIMER0). */
void rp_model_press(uint64_t t0_us, uint64_t t1_us);

#endif /* FUSEKEY_TEST_RP_MODEL_H */
