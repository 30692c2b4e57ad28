/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c - the chip as the tool sees it in BOOTSEL: opening the emulated
 * OTP, deriving the provisioning states from the OTP contents (every time,
 * never cached), writes that are read back and verified, and `status`.
 */
#include <stdlib.h>
#include <string.h>

#include "tool_internal.h"
#include "util.h"

#define ROWS_MAX 64u
#define BYTE_BITS 8u
#define BYTE_MASK 0xFFu
#define COPIES_MAX FK_OTP_CRIT_COPIES
/* Rows 0x40-0x53: CRIT1, BOOT_FLAGS0/1, the two thermometer triples. */
#define FLAGS_FIRST FK_OTP_ROW_CRIT1
#define FLAGS_ROWS (FK_OTP_ROW_BOOT_VERSION1 + FK_OTP_RBIT3_COPIES - FK_OTP_ROW_CRIT1)
#define PAGE58_ROWS (2u * FK_OTP_CHAFF_OFFSET) /* keys and their chaff: 0xE80-0xEBF */
#define BOOTKEY_ALL_ROWS (FK_OTP_BOOTKEY_SLOTS * FK_OTP_BOOTKEY_ROWS)
#define LOCK_BL_MASK 0x303030u /* the LOCK_BL field of the three byte copies */
#define SLOT_PRESENT_ROWS 2u
/* The highest rollback version the two default thermometer rows allow. */
#define MAX_ROLLBACK_VERSION (FK_OTP_ROLLBACK_BITS - 1u)

/* ---- Opening the chip ----------------------------------------------------- */

int fk_chip_open(fk_run_t *r, bool bootsel)
{
    if (r->chip != NULL) return FK_TOOL_EXIT_OK;
    if (r->t->chip != NULL) {
        r->chip = r->t->chip;
        return FK_TOOL_EXIT_OK;
    }
    if (r->otp_path == NULL) {
        fk_complain(r, "'%s' needs the chip: --otp PATH (the emulated chip's OTP file)", r->cmd);
        return FK_TOOL_EXIT_FAIL;
    }
    r->owned = malloc(sizeof *r->owned);
    if (r->owned == NULL) {
        fk_complain(r, "out of memory");
        return FK_TOOL_EXIT_FAIL;
    }
    char err[FK_RUN_ERR_CAP];
    /* No chip id: the tool never creates an OTP file (a mistyped path must
     * not become a fresh chip that then gets provisioned). */
    if (fk_otp_file_open(&r->file, r->otp_path, r->owned, r->stepping, NULL, err, sizeof err) !=
        0) {
        fk_complain(r, "%s", err);
        if (strstr(err, "in use") != NULL) {
            fk_complain(r, "a chip is either running firmware or in BOOTSEL: stop the virtual "
                           "device first (`fusekey reboot --bootsel`, or stop fusekey-sim)");
        }
        free(r->owned);
        r->owned = NULL;
        return FK_TOOL_EXIT_FAIL;
    }
    if (bootsel) fk_otp_enter_bootsel(r->owned);
    r->chip = r->owned;
    return FK_TOOL_EXIT_OK;
}

void fk_chip_close(fk_run_t *r)
{
    if (r->owned != NULL) {
        fk_otp_file_close(&r->file);
        fk_wipe(r->owned, sizeof *r->owned); /* it held the page-58 keys */
        free(r->owned);
        r->owned = NULL;
    }
    r->chip = NULL;
}

bool fk_no_chip(fk_run_t *r)
{
    if (r->dry_run) {
        fk_say(r, "no chip (--otp not given): a real board. This tool drives only the emulated "
                  "chip, so no preflight ran; check by hand what `%s` checks (docs/fusekey.md), "
                  "then these are the lines to run with the board in BOOTSEL:", r->cmd);
        return true;
    }
    fk_complain(r, "no chip: '%s' writes the OTP of the emulated chip only (--otp PATH, the OTP "
                   "file of a stopped fusekey-sim). For a real board only --dry-run is possible: "
                   "it prints the picotool command lines to run with the board in BOOTSEL.",
                r->cmd);
    return false;
}

/* ---- Deriving the state ---------------------------------------------------- */

/* Some of the n rows is not zero. */
static bool any_nonzero(const uint32_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (rows[i] != 0u) return true;
    }
    return false;
}

/* Presence, votes, ECC state and fingerprint of the four slots. */
static void read_slots(fk_tool_state_t *st, const uint32_t *rows)
{
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        fk_tool_slot_t *s = &st->slot[k];
        const uint32_t *sr = rows + k * FK_OTP_BOOTKEY_ROWS;
        s->present = any_nonzero(sr, SLOT_PRESENT_ROWS);
        for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS; i++) {
            uint16_t d = 0;
            const fk_otp_ecc_status_t es = fk_otp_ecc_decode(sr[i], &d);
            if (es == FK_OTP_ECC_UNCORRECTABLE) s->ecc_bad = true;
            if (es == FK_OTP_ECC_CORRECTED) s->ecc_fixed = true;
            s->fingerprint[2u * i] = (uint8_t)(d & BYTE_MASK);
            s->fingerprint[2u * i + 1u] = (uint8_t)(d >> BYTE_BITS);
        }
        s->valid = ((st->boot_flags1 >> k) & 1u) != 0u;
        s->revoked = ((st->boot_flags1 >> (FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT + k)) & 1u) != 0u;
    }
}

int fk_tool_read_state(fk_otp_t *otp, fk_otp_principal_t who, fk_tool_state_t *st)
{
    memset(st, 0, sizeof *st);
    uint32_t rows[ROWS_MAX];

    uint16_t cid[FK_OTP_CHIPID_ROWS];
    if (fk_otp_read_ecc(otp, who, FK_OTP_ROW_CHIPID, cid, FK_OTP_CHIPID_ROWS, NULL) == FK_OTP_OK)
        fk_otp_chipid_bytes(cid, st->chipid);

    /* Page 58: unreadable from the bootloader is the lock in effect. */
    st->page58_read_rc = fk_otp_read_raw(otp, who, FK_OTP_ROW_DEVK, rows, PAGE58_ROWS);
    if (st->page58_read_rc == FK_OTP_ENOT_PERMITTED) {
        st->keys = FK_KEYS_LOCKED;
    } else if (st->page58_read_rc == FK_OTP_OK) {
        st->devk_present = any_nonzero(rows, FK_OTP_KEY_ROWS);
        st->mkek_present = any_nonzero(rows + FK_OTP_KEY_ROWS, FK_OTP_KEY_ROWS);
        st->chaff_ok = true;
        for (unsigned i = 0; i < FK_OTP_CHAFF_OFFSET; i++) {
            if (rows[FK_OTP_CHAFF_OFFSET + i] != (rows[i] ^ FK_OTP_ROW_MASK)) st->chaff_ok = false;
        }
        st->keys = any_nonzero(rows, PAGE58_ROWS) ? FK_KEYS_BURNED : FK_KEYS_BLANK;
    } else {
        return st->page58_read_rc;
    }
    fk_wipe(rows, sizeof rows);
    st->page58_lock1_readable =
        fk_otp_read_raw(otp, who, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS),
                        &st->page58_lock1, 1) == FK_OTP_OK;

    int rc = fk_otp_read_raw(otp, who, FLAGS_FIRST, rows, FLAGS_ROWS);
    if (rc != FK_OTP_OK) return rc;
    memcpy(st->crit1_raw, rows, sizeof st->crit1_raw);
    st->crit1 = fk_otp_rbit8(st->crit1_raw);
    memcpy(st->bf0_raw, rows + (FK_OTP_ROW_BOOT_FLAGS0 - FLAGS_FIRST), sizeof st->bf0_raw);
    st->boot_flags0 = fk_otp_rbit3(st->bf0_raw);
    memcpy(st->bf1_raw, rows + (FK_OTP_ROW_BOOT_FLAGS1 - FLAGS_FIRST), sizeof st->bf1_raw);
    st->boot_flags1 = fk_otp_rbit3(st->bf1_raw);
    st->version0 = fk_otp_rbit3(rows + (FK_OTP_ROW_BOOT_VERSION0 - FLAGS_FIRST));
    st->version1 = fk_otp_rbit3(rows + (FK_OTP_ROW_BOOT_VERSION1 - FLAGS_FIRST));
    st->floor = fk_otp_rollback_floor(st->version0, st->version1);
    st->rollback_required = (st->boot_flags0 & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED) != 0u;

    rc = fk_otp_read_raw(otp, who, (uint16_t)FK_OTP_ROW_BOOTKEY(0), rows, BOOTKEY_ALL_ROWS);
    if (rc != FK_OTP_OK) return rc;
    read_slots(st, rows);
    st->valid_slots = fk_otp_valid_key_slots(st->boot_flags1);

    rc = fk_otp_read_raw(otp, who, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), &st->page1_lock1, 1);
    if (rc == FK_OTP_OK) {
        rc = fk_otp_read_raw(otp, who, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(2), &st->page2_lock1, 1);
    }
    if (rc != FK_OTP_OK) return rc;
    st->pages_bl_locked = ((st->page1_lock1 | st->page2_lock1) & LOCK_BL_MASK) != 0u;

    bool loaded = false;
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (st->slot[k].present && ((st->valid_slots >> k) & 1u) != 0u) loaded = true;
    }
    st->hardened = (st->crit1 & FK_OTP_CRIT1_DEBUG_DISABLE) != 0u &&
                   (st->crit1 & FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE) != 0u &&
                   (st->crit1 & FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK) ==
                       FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK;
    if ((st->crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) != 0u) {
        st->boot = st->pages_bl_locked ? FK_BOOT_LOCKED : FK_BOOT_ENFORCING;
    } else if (loaded) {
        st->boot = st->hardened ? FK_BOOT_HARDENED : FK_BOOT_KEY_LOADED;
    } else {
        st->boot = FK_BOOT_NO_KEY;
    }
    return FK_OTP_OK;
}

const char *fk_tool_keys_name(fk_tool_keys_state_t s)
{
    switch (s) {
    case FK_KEYS_BLANK:
        return "BLANK";
    case FK_KEYS_BURNED:
        return "KEYS_BURNED";
    case FK_KEYS_LOCKED:
        return "KEYS_LOCKED";
    default:
        return "?";
    }
}

const char *fk_tool_boot_name(fk_tool_boot_state_t s)
{
    switch (s) {
    case FK_BOOT_NO_KEY:
        return "NO_KEY";
    case FK_BOOT_KEY_LOADED:
        return "KEY_LOADED";
    case FK_BOOT_HARDENED:
        return "HARDENED";
    case FK_BOOT_ENFORCING:
        return "ENFORCING";
    case FK_BOOT_LOCKED:
        return "LOCKED";
    default:
        return "?";
    }
}

int fk_state(fk_run_t *r, fk_tool_state_t *st)
{
    const int rc = fk_tool_read_state(r->chip, FK_OTP_BOOTSEL, st);
    if (rc != FK_OTP_OK) {
        fk_complain(r, "cannot read the chip's OTP from BOOTSEL: %s", fk_otp_strerror(rc));
        return FK_TOOL_EXIT_FAIL;
    }
    return FK_TOOL_EXIT_OK;
}

/* ---- Printing the state ------------------------------------------------------ */

/* "yes" / "no". */
static const char *yes_no(bool b) { return b ? "yes" : "no"; }

/* A 2-bit lock level as a word. */
static const char *lock_level_name(unsigned level)
{
    switch (level) {
    case FK_OTP_LOCK_RW:
        return "read-write";
    case FK_OTP_LOCK_RO:
        return "read-only";
    default:
        return "inaccessible";
    }
}

void fk_chip_describe(fk_run_t *r, const fk_tool_state_t *st)
{
    char id[2u * sizeof st->chipid + 1u];
    for (size_t i = 0; i < sizeof st->chipid; i++) {
        (void)snprintf(id + 2u * i, 3, "%02x", st->chipid[i]);
    }
    if (r->otp_path != NULL) {
        fk_say(r, "chip: RP2350 %s in BOOTSEL (emulated: OTP file %s), chip id %s",
               r->chip->stepping == FK_OTP_STEPPING_A2 ? "A2" : "A3", r->otp_path, id);
    } else {
        fk_say(r, "chip: RP2350 %s in BOOTSEL, chip id %s",
               r->chip->stepping == FK_OTP_STEPPING_A2 ? "A2" : "A3", id);
    }
}

/* The copies of a redundant register, when they differ, and whether bit counts. */
static void print_copies(fk_run_t *r, const char *name, const uint32_t *raw, unsigned n,
                         uint32_t bit, const char *flag)
{
    unsigned have = 0;
    bool same = true;
    for (unsigned i = 0; i < n; i++) {
        if ((raw[i] & bit) != 0u) have++;
        if (raw[i] != raw[0]) same = false;
    }
    if (same) return;
    (void)fprintf(r->t->out, "  %s copies differ:", name);
    for (unsigned i = 0; i < n; i++) (void)fprintf(r->t->out, " 0x%06x", raw[i]);
    fk_say(r, " (%s in %u of %u copies%s)", flag, have, n,
           n == FK_OTP_RBIT3_COPIES ? (have >= 2u ? ": counts" : ": does not count")
                                    : (have >= FK_OTP_CRIT_VOTES ? ": counts" : ": does not count"));
}

/* The keys section of status. */
static void print_keys(fk_run_t *r, const fk_tool_state_t *st)
{
    fk_say(r, "keys: %s", fk_tool_keys_name(st->keys));
    const uint8_t lock1 = fk_otp_lock_byte(st->page58_lock1);
    switch (st->keys) {
    case FK_KEYS_BLANK:
        fk_say(r, "  page 58 (0xe80-0xebf): blank; next: `fusekey --otp FILE otp burn`");
        break;
    case FK_KEYS_BURNED:
        fk_say(r, "  DEVK (0xe80) %s, MKEK (0xe90) %s, chaff (0xea0, 0xeb0) %s",
               st->devk_present ? "present" : "BLANK", st->mkek_present ? "present" : "BLANK",
               st->chaff_ok ? "consistent" : "INCONSISTENT");
        if (!st->devk_present || !st->mkek_present || !st->chaff_ok) {
            fk_say(r, "  warning: page 58 is incomplete (an interrupted burn?)");
        }
        fk_say(r, "  page 58 readable from BOOTSEL: not locked; next: restart the device, then "
                  "`fusekey otp lock-page58`");
        break;
    case FK_KEYS_LOCKED:
        fk_say(r, "  page 58 refused to the bootloader (%s): the lock is in effect; only secure "
                  "firmware reads the keys", fk_otp_strerror(st->page58_read_rc));
        break;
    }
    if (st->page58_lock1_readable) {
        fk_say(r, "  PAGE58_LOCK1 (0xff5): 0x%06x (secure %s, non-secure %s, bootloader %s)",
               st->page58_lock1, lock_level_name(fk_otp_lock_field(lock1, FK_OTP_LOCK1_S_SHIFT)),
               lock_level_name(fk_otp_lock_field(lock1, FK_OTP_LOCK1_NS_SHIFT)),
               lock_level_name(fk_otp_lock_field(lock1, FK_OTP_LOCK1_BL_SHIFT)));
    }
}

/* The secure-boot section of status. */
static void print_boot(fk_run_t *r, const fk_tool_state_t *st)
{
    fk_say(r, "boot: %s", fk_tool_boot_name(st->boot));
    fk_say(r, "  CRIT1: SECURE_BOOT_ENABLE %s, DEBUG_DISABLE %s, GLITCH_DETECTOR_ENABLE %s, "
              "GLITCH_DETECTOR_SENS %u",
           yes_no((st->crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) != 0u),
           yes_no((st->crit1 & FK_OTP_CRIT1_DEBUG_DISABLE) != 0u),
           yes_no((st->crit1 & FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE) != 0u),
           (unsigned)((st->crit1 & FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK) >>
                      FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_SHIFT));
    print_copies(r, "CRIT1", st->crit1_raw, FK_OTP_CRIT_COPIES, FK_OTP_CRIT1_SECURE_BOOT_ENABLE,
                 "SECURE_BOOT_ENABLE");
    fk_say(r, "  KEY_VALID 0x%x, KEY_INVALID 0x%x, valid slots 0x%x",
           st->boot_flags1 & FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK,
           (st->boot_flags1 & FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK) >>
               FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT,
           st->valid_slots);
    print_copies(r, "BOOT_FLAGS1", st->bf1_raw, FK_OTP_RBIT3_COPIES,
                 FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK, "KEY_VALID bits");
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        const fk_tool_slot_t *s = &st->slot[k];
        if (!s->present) {
            fk_say(r, "  slot %u: empty%s%s", k, s->valid ? ", KEY_VALID set" : "",
                   s->revoked ? ", revoked" : "");
            continue;
        }
        char fp[2u * FK_TOOL_KEY_LEN + 1u];
        for (unsigned i = 0; i < FK_TOOL_KEY_LEN; i++) {
            (void)snprintf(fp + 2u * i, 3, "%02x", s->fingerprint[i]);
        }
        fk_say(r, "  slot %u: present, %s%s%s, fingerprint %s", k,
               s->revoked ? "revoked" : (s->valid ? "valid" : "not valid"),
               s->ecc_bad ? ", ECC UNCORRECTABLE" : "", s->ecc_fixed ? ", ECC corrected" : "",
               fp);
    }
    fk_say(r, "  PAGE1_LOCK1 0x%06x, PAGE2_LOCK1 0x%06x: bootloader %s", st->page1_lock1,
           st->page2_lock1, st->pages_bl_locked ? "read-only (locked)" : "read-write");
}

/* The rollback section of status. */
static void print_rollback(fk_run_t *r, const fk_tool_state_t *st)
{
    const unsigned left = st->floor < MAX_ROLLBACK_VERSION ? MAX_ROLLBACK_VERSION - st->floor : 0u;
    fk_say(r, "rollback: required %s, floor %u, %u of %u versions left",
           yes_no(st->rollback_required), st->floor, left, MAX_ROLLBACK_VERSION);
    fk_say(r, "  thermometer 0x4e-0x50: 0x%06x, 0x51-0x53: 0x%06x", st->version0, st->version1);
    print_copies(r, "BOOT_FLAGS0", st->bf0_raw, FK_OTP_RBIT3_COPIES,
                 FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED, "ROLLBACK_REQUIRED");
}

void fk_print_state(fk_run_t *r, const fk_tool_state_t *st, bool keys, bool boot)
{
    if (keys) print_keys(r, st);
    if (boot) {
        print_boot(r, st);
        print_rollback(r, st);
    }
}

/* `status`: the OTP state with --otp, else the firmware's view. */
int fk_cmd_status(fk_run_t *r)
{
    if (r->otp_path == NULL && r->t->chip == NULL) return fk_cmd_device_status(r, false);
    if (fk_chip_open(r, true) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_tool_state_t st;
    if (fk_state(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_chip_describe(r, &st);
    fk_print_state(r, &st, true, true);
    return FK_TOOL_EXIT_OK;
}

/* ---- Verified writes ---------------------------------------------------------- */

/* The first row of [row, row+n) that does not hold what a write wanted. */
static unsigned first_unwritten_ecc(fk_otp_t *otp, uint16_t row, const uint16_t *vals, size_t n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t d = 0;
        if (fk_otp_ecc_decode(otp->raw[row + i], &d) != FK_OTP_ECC_OK || d != vals[i]) return i;
    }
    return (unsigned)n;
}

int fk_write_ecc_verified(fk_run_t *r, uint16_t row, const uint16_t *vals, size_t n,
                          const char *what)
{
    FK_ASSERT(n > 0u && n <= ROWS_MAX);
    const uint16_t last = (uint16_t)(row + n - 1u);
    int rc = fk_otp_write_ecc(r->chip, FK_OTP_BOOTSEL, row, vals, n);
    if (rc != FK_OTP_OK) {
        const unsigned done = first_unwritten_ecc(r->chip, row, vals, n);
        fk_complain(r, "writing %s (ECC rows 0x%03x-0x%03x) failed at row 0x%03x: %s; %u row(s) "
                       "before it are programmed. Stopped.",
                    what, row, last, row + done, fk_otp_strerror(rc), done);
        return FK_TOOL_EXIT_FAIL;
    }
    uint16_t back[ROWS_MAX];
    uint32_t raw[ROWS_MAX];
    fk_otp_ecc_status_t worst = FK_OTP_ECC_OK;
    rc = fk_otp_read_ecc(r->chip, FK_OTP_BOOTSEL, row, back, n, &worst);
    if (rc == FK_OTP_OK) rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, row, raw, n);
    int result = FK_TOOL_EXIT_OK;
    if (rc != FK_OTP_OK) {
        fk_complain(r, "reading back %s failed: %s. Stopped.", what, fk_otp_strerror(rc));
        result = FK_TOOL_EXIT_FAIL;
    } else {
        for (unsigned i = 0; i < n; i++) {
            uint16_t d = 0;
            if (back[i] != vals[i] || fk_otp_ecc_decode(raw[i], &d) != FK_OTP_ECC_OK) {
                fk_complain(r, "verify of %s failed at row 0x%03x: it does not read back clean "
                               "what was written. Stopped.", what, row + i);
                result = FK_TOOL_EXIT_FAIL;
                break;
            }
        }
    }
    fk_wipe(back, sizeof back);
    fk_wipe(raw, sizeof raw);
    if (result == FK_TOOL_EXIT_OK) {
        fk_say(r, "  %s: ECC rows 0x%03x-0x%03x written and verified", what, row, last);
    }
    return result;
}

int fk_write_raw_verified(fk_run_t *r, uint16_t row, const uint32_t *vals, size_t n,
                          const char *what)
{
    FK_ASSERT(n > 0u && n <= ROWS_MAX);
    const uint16_t last = (uint16_t)(row + n - 1u);
    int rc = fk_otp_write_raw(r->chip, FK_OTP_BOOTSEL, row, vals, n);
    if (rc != FK_OTP_OK) {
        unsigned done = 0;
        while (done < n && r->chip->raw[row + done] == (vals[done] & FK_OTP_ROW_MASK)) done++;
        fk_complain(r, "writing %s (raw rows 0x%03x-0x%03x) failed at row 0x%03x: %s; %u row(s) "
                       "before it are programmed. Stopped.",
                    what, row, last, row + done, fk_otp_strerror(rc), done);
        return FK_TOOL_EXIT_FAIL;
    }
    uint32_t back[ROWS_MAX];
    rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, row, back, n);
    int result = FK_TOOL_EXIT_OK;
    if (rc != FK_OTP_OK) {
        fk_complain(r, "reading back %s failed: %s. Stopped.", what, fk_otp_strerror(rc));
        result = FK_TOOL_EXIT_FAIL;
    } else {
        for (unsigned i = 0; i < n; i++) {
            if (back[i] != (vals[i] & FK_OTP_ROW_MASK)) {
                fk_complain(r, "verify of %s failed at row 0x%03x. Stopped.", what, row + i);
                result = FK_TOOL_EXIT_FAIL;
                break;
            }
        }
    }
    fk_wipe(back, sizeof back);
    if (result == FK_TOOL_EXIT_OK) {
        if (n == 1u) {
            fk_say(r, "  %s: row 0x%03x written and verified", what, row);
        } else {
            fk_say(r, "  %s: raw rows 0x%03x-0x%03x written and verified", what, row, last);
        }
    }
    return result;
}

/* The vote of 3 (RBIT-3) or 8 (RBIT-8) copies. */
static uint32_t vote(const uint32_t *raw, unsigned copies)
{
    return copies == FK_OTP_RBIT3_COPIES ? fk_otp_rbit3(raw) : fk_otp_rbit8(raw);
}

bool fk_field_complete(fk_run_t *r, uint16_t first, unsigned copies, uint32_t bits)
{
    uint32_t raw[COPIES_MAX];
    FK_ASSERT(copies <= COPIES_MAX);
    if (fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, first, raw, copies) != FK_OTP_OK) return false;
    for (unsigned i = 0; i < copies; i++) {
        if ((raw[i] & bits) != bits) return false;
    }
    return true;
}

/* Read the copies and compute the picotool merge; refuse (printing why)
 * when the first row would carry bits the vote does not have. */
static int field_merge(fk_run_t *r, uint16_t first, unsigned copies, uint32_t mask, uint32_t bits,
                       const char *what, uint32_t *cur, uint32_t *value)
{
    FK_ASSERT(copies <= COPIES_MAX && (bits & ~mask) == 0u);
    const int rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, first, cur, copies);
    if (rc != FK_OTP_OK) {
        fk_complain(r, "reading %s (rows 0x%03x-0x%03x) failed: %s. Nothing written.", what, first,
                    first + copies - 1u, fk_otp_strerror(rc));
        return FK_TOOL_EXIT_FAIL;
    }
    *value = (cur[0] & ~mask) | bits;
    const uint32_t carried = *value & ~mask & ~vote(cur, copies);
    if (carried != 0u) {
        fk_complain(r, "row 0x%03x holds bits 0x%06x that the vote of its %u copies does not "
                       "have (a torn write?); merging it into the other copies, as picotool "
                       "does, would set them. Refused, nothing written; inspect with `otp get -r "
                       "0x%03x %u`.",
                    first, carried, copies, first, copies);
        return FK_TOOL_EXIT_FAIL;
    }
    return FK_TOOL_EXIT_OK;
}

int fk_field_precheck(fk_run_t *r, uint16_t first, unsigned copies, uint32_t mask, uint32_t bits,
                      const char *what)
{
    uint32_t cur[COPIES_MAX], value = 0;
    return field_merge(r, first, copies, mask, bits, what, cur, &value);
}

int fk_write_field(fk_run_t *r, uint16_t first, unsigned copies, uint32_t mask, uint32_t bits,
                   const char *what)
{
    const uint16_t last = (uint16_t)(first + copies - 1u);
    uint32_t cur[COPIES_MAX], value = 0;
    int rc = field_merge(r, first, copies, mask, bits, what, cur, &value);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    for (unsigned i = 0; i < copies; i++) {
        const uint32_t next = cur[i] | value;
        if (next == cur[i]) continue;
        const uint16_t row = (uint16_t)(first + i);
        rc = fk_otp_write_raw(r->chip, FK_OTP_BOOTSEL, row, &next, 1);
        uint32_t back = 0;
        if (rc == FK_OTP_OK) rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, row, &back, 1);
        if (rc != FK_OTP_OK) {
            fk_complain(r, "writing %s copy %u (row 0x%03x) failed: %s. Stopped after %u of %u "
                           "copies.", what, i, row, fk_otp_strerror(rc), i, copies);
            return FK_TOOL_EXIT_FAIL;
        }
        if (back != next) {
            fk_complain(r, "verify of %s copy %u (row 0x%03x) failed: reads 0x%06x, expected "
                           "0x%06x. Stopped.", what, i, row, back, next);
            return FK_TOOL_EXIT_FAIL;
        }
    }
    rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, first, cur, copies);
    if (rc != FK_OTP_OK || (vote(cur, copies) & bits) != bits) {
        fk_complain(r, "verify of %s failed: the vote of rows 0x%03x-0x%03x does not show 0x%06x. "
                       "Stopped.", what, first, last, bits);
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "  %s: rows 0x%03x-0x%03x written and verified (vote 0x%06x)", what, first, last,
           vote(cur, copies));
    return FK_TOOL_EXIT_OK;
}
