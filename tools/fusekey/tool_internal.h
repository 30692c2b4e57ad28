/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool_internal.h - what the parts of the fusekey tool share: the parsed
 * command line and the chip of one run, output helpers, the confirmation
 * and dry-run framework, verified OTP writes, and the command entry points.
 */
#ifndef FUSEKEY_TOOL_INTERNAL_H
#define FUSEKEY_TOOL_INTERNAL_H

#include <stdarg.h>

#include "otp_file.h"
#include "tool.h"

#define FK_RUN_MAX_POS 8u
#define FK_RUN_ERR_CAP 512u

/* Positional words and options of one command line, and the chip it uses. */
typedef struct fk_run {
    fk_tool_t *t;
    const char *cmd; /* "secure-boot enable", for messages */
    /* global options */
    const char *otp_path;
    fk_otp_stepping_t stepping;
    const char *reader;
    bool dry_run;
    const char *yes;
    /* command options */
    bool has_slot;
    unsigned slot;
    bool opt_raw, opt_ecc, opt_setbits, opt_bootsel, opt_hash;
    const char *sign_key;
    const char *otp_json;
    bool has_major, has_minor, has_rollback;
    unsigned major, minor, rollback;
    const char *pos[FK_RUN_MAX_POS];
    unsigned npos;
    /* the chip */
    fk_otp_t *chip;
    fk_otp_t *owned;
    fk_otp_file_t file;
    /* the device */
    bool card_open;
} fk_run_t;

/* ---- Output (cli.c) ----------------------------------------------------- */
void fk_say(fk_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fk_complain(fk_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One picotool command line of a plan: "   picotool ..." on the output. */
void fk_plan(fk_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Numbers (cli.c) ------------------------------------------------------ */
/* A decimal or 0x-hex number <= max, the whole string; false otherwise. */
bool fk_parse_uint(const char *s, uint32_t max, uint32_t *out);

/* ---- Confirmation (confirm.c) --------------------------------------------
 * The command's token, from --yes-i-understand or typed on the input
 * (trimmed). False (with the reason printed, "nothing written") when it
 * does not match or no answer comes. */
bool fk_confirm(fk_run_t *r, const char *token, const char *what);

/* ---- The chip (state.c) ------------------------------------------------------
 * Open the chip: the preset one, or the --otp file (reset, then BOOTSEL when
 * bootsel). Returns FK_TOOL_EXIT_OK, or FK_TOOL_EXIT_FAIL after printing why
 * (including "no chip" when there is no --otp). */
int fk_chip_open(fk_run_t *r, bool bootsel);
void fk_chip_close(fk_run_t *r);
/* Without --otp: prints the refusal for a real board (only --dry-run
 * possible) when !dry_run; true when the plan may still be printed. */
bool fk_no_chip(fk_run_t *r);
void fk_chip_describe(fk_run_t *r, const fk_tool_state_t *st);

/* Verified writes through BOOTSEL: each writes, re-reads and compares, and
 * prints the first mismatch or error (FK_TOOL_EXIT_FAIL); what names the
 * data in messages. */
int fk_write_ecc_verified(fk_run_t *r, uint16_t row, const uint16_t *vals, size_t n,
                          const char *what);
int fk_write_raw_verified(fk_run_t *r, uint16_t row, const uint32_t *vals, size_t n,
                          const char *what);
/* A field of a redundant register (RBIT-3 / RBIT-8, `copies` rows from
 * `first`): value = (first row & ~mask) | bits, as picotool merges it; each
 * copy gets cur | value; then the vote must show bits. Refuses (before any
 * write) when the first row would carry bits into the other copies that the
 * vote does not have. */
int fk_write_field(fk_run_t *r, uint16_t first, unsigned copies, uint32_t mask, uint32_t bits,
                   const char *what);
/* The refusal check of fk_write_field alone, for a stage's preflight. */
int fk_field_precheck(fk_run_t *r, uint16_t first, unsigned copies, uint32_t mask, uint32_t bits,
                      const char *what);
/* Read `copies` rows and tell whether every copy already holds bits. */
bool fk_field_complete(fk_run_t *r, uint16_t first, unsigned copies, uint32_t bits);
/* The state, or FK_TOOL_EXIT_FAIL after printing the read error. */
int fk_state(fk_run_t *r, fk_tool_state_t *st);
void fk_print_state(fk_run_t *r, const fk_tool_state_t *st, bool keys, bool boot);

/* ---- Commands ------------------------------------------------------------- */
int fk_cmd_status(fk_run_t *r);                 /* state.c */
int fk_cmd_otp_burn(fk_run_t *r);               /* otp_cmds.c */
int fk_cmd_otp_get(fk_run_t *r);
int fk_cmd_otp_set(fk_run_t *r);
int fk_cmd_sb_status(fk_run_t *r);              /* secureboot.c */
int fk_cmd_sb_load_key(fk_run_t *r, bool rotate);
int fk_cmd_sb_harden(fk_run_t *r);
int fk_cmd_sb_enable(fk_run_t *r);
int fk_cmd_sb_lock(fk_run_t *r);
int fk_cmd_sb_revoke(fk_run_t *r);
int fk_cmd_lock_page58(fk_run_t *r);            /* card.c */
int fk_cmd_rollback_require(fk_run_t *r);
int fk_cmd_reboot(fk_run_t *r);
int fk_cmd_device_status(fk_run_t *r, bool secure_boot_only);
int fk_cmd_seal(fk_run_t *r);                   /* image.c */
int fk_cmd_image_verify(fk_run_t *r);
int fk_cmd_image_boot(fk_run_t *r);
int fk_cmd_image_uf2(fk_run_t *r);

/* Read a whole (small) file into a malloc'd buffer with a NUL after it.
 * NULL after printing why. */
char *fk_read_file(fk_run_t *r, const char *path, size_t max, size_t *len);

#endif /* FUSEKEY_TOOL_INTERNAL_H */
