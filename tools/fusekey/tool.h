/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool.h - the `fusekey` command-line tool as a library (fk_tool), so that
 * the unit tests drive exactly what a user runs; main.c only fills in the
 * defaults and calls fk_tool_main(). User guide: docs/fusekey.md.
 *
 * Two ways to reach a chip:
 *   BOOTSEL   the OTP seen as picotool sees it on a board in BOOTSEL. The
 *             tool drives the emulated chip only (--otp PATH: fusekey-sim's
 *             OTP file, which can be opened only while the virtual device is
 *             stopped, like a real chip that is either running or in
 *             BOOTSEL); for a real board it prints the picotool lines.
 *   firmware  the running device's rescue applet over PC/SC, for the two
 *             rows BOOTSEL cannot write (page-58 lock, ROLLBACK_REQUIRED).
 *
 * Every irreversible command has a dry run (same read-only preflight, the
 * exact write commands printed, nothing written) and otherwise needs a typed
 * token; states are derived from the OTP contents every time.
 */
#ifndef FUSEKEY_TOOL_H
#define FUSEKEY_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "otp_model.h"

/* Exit codes. */
#define FK_TOOL_EXIT_OK 0
#define FK_TOOL_EXIT_FAIL 1  /* refused, aborted or failed */
#define FK_TOOL_EXIT_USAGE 2 /* bad command line */

/* Typed confirmation tokens. */
#define FK_TOKEN_BURN "BURN-OTP-PAGE58"
#define FK_TOKEN_LOCK58 "LOCK-PAGE58"
#define FK_TOKEN_ROLLBACK "ROLLBACK-REQUIRED"
#define FK_TOKEN_LOAD_KEY "LOAD-BOOTKEY"
#define FK_TOKEN_HARDEN "HARDEN-SECURE-BOOT"
#define FK_TOKEN_ENABLE "ENABLE-SECURE-BOOT"
#define FK_TOKEN_LOCK "LOCK-SECURE-BOOT"
#define FK_TOKEN_REVOKE "REVOKE-BOOTKEY"
#define FK_TOKEN_WRITE_ROW "WRITE-OTP-ROW"

#define FK_TOOL_KEY_LEN 32u /* DEVK, MKEK and fingerprints */
#define FK_TOOL_APDU_MAX 512u

/* Entropy source: fill buf with len bytes, 0 on success. */
typedef int (*fk_tool_random_fn)(void *arg, void *buf, size_t len);

/* The transport to the running device (PC/SC by default; tests plug in a
 * fake card). Each returns 0 or -1 with a one-line reason in err. */
typedef struct fk_tool_card_ops {
    /* Connect to reader (NULL: the first reader holding a card). */
    int (*connect)(void *arg, const char *reader, char *err, size_t err_cap);
    /* One APDU; *sw gets the status word, resp the data (61xx followed). */
    int (*transmit)(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                    size_t resp_cap, size_t *resp_len, uint16_t *sw, char *err, size_t err_cap);
    void (*disconnect)(void *arg);
} fk_tool_card_ops_t;

typedef struct fk_tool {
    FILE *out; /* results, plans, dry-run lines */
    FILE *err; /* refusals, errors, the confirmation prompt */
    FILE *in;  /* where a typed confirmation is read */
    fk_tool_random_fn random;
    void *random_arg;
    const fk_tool_card_ops_t *card;
    void *card_arg;
    /* A chip already in BOOTSEL (tests). NULL: --otp PATH opens one. */
    fk_otp_t *chip;
} fk_tool_t;

/* stdout/stderr/stdin, the kernel's random source, PC/SC. */
void fk_tool_defaults(fk_tool_t *t);

/* Run one command line (argv[0] is the program name). Returns an exit code. */
int fk_tool_main(fk_tool_t *t, int argc, char **argv);

/* `fusekey fido attestation ...` (fido_attest_cmd.c, docs/fido-attestation.md). */
int fk_fido_main(fk_tool_t *t, int argc, char **argv);

/* ---- What the OTP says (derived each time, never cached) ------------------- */

typedef enum fk_tool_keys_state {
    FK_KEYS_BLANK = 0,  /* page 58 key and chaff rows all zero */
    FK_KEYS_BURNED,     /* keys written, page readable from BOOTSEL */
    FK_KEYS_LOCKED,     /* page 58 refused to the bootloader: the lock is in effect */
} fk_tool_keys_state_t;

typedef enum fk_tool_boot_state {
    FK_BOOT_NO_KEY = 0, /* no present, valid boot-key slot */
    FK_BOOT_KEY_LOADED, /* a fingerprint loaded and KEY_VALID */
    FK_BOOT_HARDENED,   /* + DEBUG_DISABLE and the glitch detector */
    FK_BOOT_ENFORCING,  /* SECURE_BOOT_ENABLE (3 of 8 CRIT1 rows) */
    FK_BOOT_LOCKED,     /* + pages 1 and 2 bootloader-locked */
} fk_tool_boot_state_t;

typedef struct fk_tool_slot {
    bool present;  /* either of the slot's first two raw rows is non-zero */
    bool valid;    /* KEY_VALID bit (vote) */
    bool revoked;  /* KEY_INVALID bit (vote) */
    bool ecc_bad;  /* a row of the slot is uncorrectable */
    bool ecc_fixed; /* a row needed a single-bit correction */
    uint8_t fingerprint[FK_TOOL_KEY_LEN];
} fk_tool_slot_t;

typedef struct fk_tool_state {
    uint8_t chipid[8];
    /* page 58 */
    fk_tool_keys_state_t keys;
    bool devk_present, mkek_present, chaff_ok;
    int page58_read_rc;      /* BOOTSEL read of 0xE80-0xEBF */
    uint32_t page58_lock1;   /* raw 0xFF5 (when readable) */
    bool page58_lock1_readable;
    /* secure boot */
    uint32_t crit1_raw[FK_OTP_CRIT_COPIES];
    uint32_t crit1;          /* RBIT-8 vote */
    uint32_t bf1_raw[FK_OTP_RBIT3_COPIES];
    uint32_t boot_flags1;    /* vote */
    fk_tool_slot_t slot[FK_OTP_BOOTKEY_SLOTS];
    unsigned valid_slots;    /* KEY_VALID & ~KEY_INVALID */
    uint32_t page1_lock1, page2_lock1; /* raw */
    bool pages_bl_locked;
    bool hardened;
    fk_tool_boot_state_t boot;
    /* rollback */
    uint32_t bf0_raw[FK_OTP_RBIT3_COPIES];
    uint32_t boot_flags0;    /* vote */
    bool rollback_required;
    uint32_t version0, version1; /* votes of the thermometer rows */
    unsigned floor;
} fk_tool_state_t;

/* Read the chip's state through `who` (BOOTSEL for the tool). Returns
 * FK_OTP_OK or the first read error of the secure-boot pages (page 58 being
 * unreadable is not an error: it is the KEYS_LOCKED state). */
int fk_tool_read_state(fk_otp_t *otp, fk_otp_principal_t who, fk_tool_state_t *st);

const char *fk_tool_keys_name(fk_tool_keys_state_t s);
const char *fk_tool_boot_name(fk_tool_boot_state_t s);

/* Draw a secp256k1 private scalar: 32 random bytes, redrawn until
 * 0 < d < n. *draws (may be NULL) gets the number of draws. 0, or -1 when
 * the random source fails or never yields a valid scalar. */
int fk_tool_draw_devk(fk_tool_random_fn random, void *arg, uint8_t out[FK_TOOL_KEY_LEN],
                      unsigned *draws);

/* The boot-key fingerprint of a seal otp.json text: the 32 bytes of the
 * top-level "bootkey0" array. *has_crit1 / *has_flags1 tell whether the
 * file also carries "crit1" / "boot_flags1" (which load-key never writes).
 * 0, or -1 with a one-line reason in err. */
int fk_tool_json_bootkey(const char *text, size_t len, uint8_t fp[FK_TOOL_KEY_LEN],
                         bool *has_crit1, bool *has_flags1, char *err, size_t err_cap);

#endif /* FUSEKEY_TOOL_H */
