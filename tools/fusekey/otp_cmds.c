/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_cmds.c - the BOOTSEL OTP commands: `otp burn` (the device key, the
 * OTP master key and their chaff into page 58), `otp get` and `otp set`.
 */
#include <string.h>

#include "crypto/pk.h"
#include "tool_internal.h"
#include "util.h"

#define BYTE_BITS 8u
#define PAGE58_ROWS (2u * FK_OTP_CHAFF_OFFSET) /* 0xE80-0xEBF: keys and chaff */
#define LOCK_ROWS 2u                           /* PAGE58_LOCK0, PAGE58_LOCK1 */
#define BURN_PREFLIGHT_ROWS (PAGE58_ROWS + LOCK_ROWS)
#define DEVK_MAX_DRAWS 64u
#define ROW_MAX (FK_OTP_MODEL_ROWS - 1u)

/* ---- The device key ---------------------------------------------------------- */

/* d < n, in time independent of the bytes (big-endian, 32 bytes). */
static bool below(const uint8_t d[FK_TOOL_KEY_LEN], const uint8_t *n)
{
    unsigned borrow = 0;
    for (size_t i = FK_TOOL_KEY_LEN; i-- > 0;) {
        const unsigned diff = (unsigned)d[i] - (unsigned)n[i] - borrow;
        borrow = (diff >> BYTE_BITS) & 1u;
    }
    return borrow != 0u;
}

/* Some byte of d is not zero (time independent of the bytes). */
static bool nonzero(const uint8_t d[FK_TOOL_KEY_LEN])
{
    uint8_t acc = 0;
    for (size_t i = 0; i < FK_TOOL_KEY_LEN; i++) acc |= d[i];
    return acc != 0u;
}

int fk_tool_draw_devk(fk_tool_random_fn random, void *arg, uint8_t out[FK_TOOL_KEY_LEN],
                      unsigned *draws)
{
    const fk_curve_info_t *k1 = fk_curve_info(FK_CURVE_SECP256K1);
    FK_ASSERT(k1 != NULL && k1->order_len == FK_TOOL_KEY_LEN);
    for (unsigned i = 1; i <= DEVK_MAX_DRAWS; i++) {
        if (draws != NULL) *draws = i;
        if (random(arg, out, FK_TOOL_KEY_LEN) != 0) break;
        if (nonzero(out) && below(out, k1->n)) return 0;
    }
    fk_wipe(out, FK_TOOL_KEY_LEN);
    return -1;
}

/* ---- otp burn ------------------------------------------------------------------ */

/* The picotool lines of a burn, and what their files hold. */
static void burn_plan(fk_run_t *r)
{
    fk_plan(r, "otp load -e -s 0x%03x devk.bin", FK_OTP_ROW_DEVK);
    fk_plan(r, "otp load -e -s 0x%03x mkek.bin", FK_OTP_ROW_MKEK);
    fk_plan(r, "otp load -r -s 0x%03x devk_chaff.bin", FK_OTP_ROW_DEVK_CHAFF);
    fk_plan(r, "otp load -r -s 0x%03x mkek_chaff.bin", FK_OTP_ROW_MKEK_CHAFF);
    fk_say(r, "devk.bin, mkek.bin: 32 random bytes each (16 ECC rows; the device key redrawn "
              "until 0 < d < n of secp256k1); *_chaff.bin: the 16 raw rows of each key read back "
              "and complemented (XOR 0xffffff), 4 bytes little-endian per row.");
    fk_say(r, "The page-58 lock (PAGE58_LOCK1 0x%03x = 0x%06x) is not written here, on any "
              "stepping: it retires the device root for good, so the firmware writes it once "
              "everything sealed has moved to the new master key (`fusekey otp lock-page58`).",
           FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), FK_OTP_LOCK1_PAGE58);
}

/* Pack 32 key bytes into 16 ECC data words: bytes 2i, 2i+1 -> row i. */
static void key_rows(const uint8_t key[FK_TOOL_KEY_LEN], uint16_t rows[FK_OTP_KEY_ROWS])
{
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++) {
        rows[i] = (uint16_t)(key[2u * i] | (unsigned)key[2u * i + 1u] << BYTE_BITS);
    }
}

/* The burn preflight: every one of the 66 target rows readable and zero. */
static int burn_preflight(fk_run_t *r)
{
    static const struct {
        uint16_t row;
        uint16_t count;
    } spans[] = {
        {FK_OTP_ROW_DEVK, PAGE58_ROWS},
        {FK_OTP_ROW_PAGE_LOCK0(FK_OTP_PAGE_KEYS), LOCK_ROWS},
    };
    uint32_t rows[PAGE58_ROWS];
    int result = FK_TOOL_EXIT_OK;
    for (size_t s = 0; s < FK_ARRAY_SIZE(spans) && result == FK_TOOL_EXIT_OK; s++) {
        const int rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, spans[s].row, rows, spans[s].count);
        if (rc != FK_OTP_OK) {
            fk_complain(r, "preflight: reading rows 0x%03x-0x%03x failed: %s (page 58 already "
                           "locked?). Aborted, nothing written.",
                        spans[s].row, spans[s].row + spans[s].count - 1u, fk_otp_strerror(rc));
            result = FK_TOOL_EXIT_FAIL;
            break;
        }
        for (unsigned i = 0; i < spans[s].count; i++) {
            if (rows[i] != 0u) {
                fk_complain(r, "preflight: row 0x%03x is not blank: this chip is already "
                               "provisioned (or an earlier burn was interrupted). Aborted, "
                               "nothing written.", spans[s].row + i);
                result = FK_TOOL_EXIT_FAIL;
                break;
            }
        }
    }
    fk_wipe(rows, sizeof rows);
    if (result == FK_TOOL_EXIT_OK) {
        fk_say(r, "preflight: the %u target rows (0x%03x-0x%03x, 0x%03x, 0x%03x) are blank",
               BURN_PREFLIGHT_ROWS, FK_OTP_ROW_DEVK, FK_OTP_ROW_DEVK + PAGE58_ROWS - 1u,
               FK_OTP_ROW_PAGE_LOCK0(FK_OTP_PAGE_KEYS), FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS));
    }
    return result;
}

/* Write one key (ECC, verified) and its chaff (raw complement of the rows
 * read back, verified). */
static int burn_key(fk_run_t *r, uint16_t row, const uint8_t key[FK_TOOL_KEY_LEN],
                    const char *name, const char *chaff_name)
{
    uint16_t data[FK_OTP_KEY_ROWS];
    uint32_t chaff[FK_OTP_KEY_ROWS];
    key_rows(key, data);
    int result = fk_write_ecc_verified(r, row, data, FK_OTP_KEY_ROWS, name);
    if (result == FK_TOOL_EXIT_OK) {
        const int rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, row, chaff, FK_OTP_KEY_ROWS);
        if (rc != FK_OTP_OK) {
            fk_complain(r, "reading back %s for its chaff failed: %s. Stopped.", name,
                        fk_otp_strerror(rc));
            result = FK_TOOL_EXIT_FAIL;
        } else {
            for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++) chaff[i] ^= FK_OTP_ROW_MASK;
            result = fk_write_raw_verified(r, (uint16_t)(row + FK_OTP_CHAFF_OFFSET), chaff,
                                           FK_OTP_KEY_ROWS, chaff_name);
        }
    }
    fk_wipe(data, sizeof data);
    fk_wipe(chaff, sizeof chaff);
    return result;
}

/* `otp burn`: preflight, keys, plan, token, verified writes. The page-58
 * lock is never written here, although BOOTSEL could on an A3 chip: a lock
 * retires the device root for good (docs/sealing.md), so it must come after
 * the device has started on the new master key and moved everything it
 * sealed before; the firmware writes it (`otp lock-page58`, which waits for
 * that migration). */
int fk_cmd_otp_burn(fk_run_t *r)
{
    if (r->otp_path == NULL && r->t->chip == NULL) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        burn_plan(r);
        return FK_TOOL_EXIT_OK;
    }
    if (fk_chip_open(r, true) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_tool_state_t st;
    if (fk_state(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_chip_describe(r, &st);
    if (burn_preflight(r) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;

    uint8_t devk[FK_TOOL_KEY_LEN], mkek[FK_TOOL_KEY_LEN];
    if (r->t->random(r->t->random_arg, mkek, sizeof mkek) != 0 ||
        fk_tool_draw_devk(r->t->random, r->t->random_arg, devk, NULL) != 0) {
        fk_wipe(mkek, sizeof mkek);
        fk_complain(r, "the random source failed: aborted, nothing written");
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "%s: the writes, as picotool lines for a board in BOOTSEL:",
           r->dry_run ? "dry run, nothing is written" : "plan");
    burn_plan(r);

    int result = FK_TOOL_EXIT_OK;
    if (r->dry_run) {
        fk_say(r, "dry run: nothing written (the keys drawn for the preflight are wiped).");
    } else if (!fk_confirm(r, FK_TOKEN_BURN,
                           "random device and master keys are fused into page 58. They are "
                           "generated here, never stored or shown, and forgotten: the fuses are "
                           "the only copy.")) {
        result = FK_TOOL_EXIT_FAIL;
    } else {
        result = burn_key(r, FK_OTP_ROW_DEVK, devk, "DEVK", "DEVK chaff");
        if (result == FK_TOOL_EXIT_OK) {
            result = burn_key(r, FK_OTP_ROW_MKEK, mkek, "MKEK", "MKEK chaff");
        }
    }
    fk_wipe(devk, sizeof devk);
    fk_wipe(mkek, sizeof mkek);
    if (result == FK_TOOL_EXIT_OK && !r->dry_run) {
        fk_say(r, "burned: DEVK and MKEK are in OTP and nowhere else. Next: start the device (it "
                  "migrates every sealed object to the OTP master key; verify the user PIN and "
                  "the SO-PIN once), then run `fusekey otp lock-page58`: until that lock is in "
                  "effect page 58 is readable over BOOTSEL.");
    }
    return result;
}

/* ---- otp get / otp set ------------------------------------------------------------ */

/* Rows of the fuse map that hold ECC data. */
static const char *ecc_row_name(uint16_t row)
{
    if (row < FK_OTP_ROW_CHIPID + FK_OTP_CHIPID_ROWS) return "CHIPID";
    if (row >= FK_OTP_ROW_RANDID && row < FK_OTP_ROW_RANDID + FK_OTP_RANDID_ROWS) return "RANDID";
    if (row >= FK_OTP_ROW_BOOTKEY(0) &&
        row < FK_OTP_ROW_BOOTKEY(0) + FK_OTP_BOOTKEY_SLOTS * FK_OTP_BOOTKEY_ROWS) {
        return "BOOTKEY";
    }
    if (row >= FK_OTP_ROW_DEVK && row < FK_OTP_ROW_DEVK + FK_OTP_KEY_ROWS) return "DEVK";
    if (row >= FK_OTP_ROW_MKEK && row < FK_OTP_ROW_MKEK + FK_OTP_KEY_ROWS) return "MKEK";
    return NULL;
}

/* `otp get`: BOOTSEL reads, all or nothing. */
int fk_cmd_otp_get(fk_run_t *r)
{
    uint32_t row = 0, count = 1;
    if (r->opt_raw && r->opt_ecc) {
        (void)fputs("fusekey: otp get takes -r or -e, not both\n", r->t->err);
        return FK_TOOL_EXIT_USAGE;
    }
    if (!fk_parse_uint(r->pos[0], ROW_MAX, &row) ||
        (r->npos > 1 && (!fk_parse_uint(r->pos[1], FK_OTP_MODEL_ROWS - row, &count) || count == 0))) {
        (void)fprintf(r->t->err, "fusekey: otp get: ROW is 0-0x%x and COUNT 1-%u rows from it\n",
                      ROW_MAX, FK_OTP_MODEL_ROWS - row);
        return FK_TOOL_EXIT_USAGE;
    }
    if (r->otp_path == NULL && r->t->chip == NULL) {
        fk_say(r, "no chip (--otp not given). On a real board in BOOTSEL:");
        fk_plan(r, "otp get %s0x%03x", r->opt_ecc ? "-e " : "-r ", row);
        fk_complain(r, "this tool reads the emulated chip only (--otp PATH)");
        return r->dry_run ? FK_TOOL_EXIT_OK : FK_TOOL_EXIT_FAIL;
    }
    if (fk_chip_open(r, true) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;

    /* All rows first, so that a refused row prints nothing but the error. */
    for (uint32_t i = 0; i < count; i++) {
        uint32_t v = 0;
        const int rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, (uint16_t)(row + i), &v, 1);
        if (rc != FK_OTP_OK) {
            fk_complain(r, "ERROR: %s reading OTP row 0x%03x (page %u)%s", fk_otp_strerror(rc),
                        row + i, FK_OTP_PAGE_OF(row + i),
                        rc == FK_OTP_ENOT_PERMITTED ? ": the page is locked against the bootloader"
                                                    : "");
            return FK_TOOL_EXIT_FAIL;
        }
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint16_t rw = (uint16_t)(row + i);
        uint32_t v = 0;
        (void)fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, rw, &v, 1);
        if (!r->opt_ecc) {
            fk_say(r, "0x%03x: 0x%06x", rw, v);
            continue;
        }
        uint16_t d = 0;
        const fk_otp_ecc_status_t es = fk_otp_ecc_decode(v, &d);
        fk_say(r, "0x%03x: 0x%04x%s", rw, d,
               es == FK_OTP_ECC_CORRECTED      ? " (ECC: one bit corrected)"
               : es == FK_OTP_ECC_UNCORRECTABLE ? " (ECC: UNCORRECTABLE)"
                                                : "");
    }
    return FK_TOOL_EXIT_OK;
}

/* `otp set -r`: one raw row, picotool's refusals, token WRITE-OTP-ROW. */
int fk_cmd_otp_set(fk_run_t *r)
{
    uint32_t row = 0, value = 0;
    if (!r->opt_raw || r->opt_ecc) {
        (void)fputs("fusekey: otp set writes raw rows only (-r): ECC rows are written by the "
                    "commands that own them (otp burn, secure-boot load-key)\n",
                    r->t->err);
        return FK_TOOL_EXIT_USAGE;
    }
    if (!fk_parse_uint(r->pos[0], ROW_MAX, &row) ||
        !fk_parse_uint(r->pos[1], FK_OTP_ROW_MASK, &value)) {
        (void)fprintf(r->t->err, "fusekey: otp set: ROW is 0-0x%x and VALUE 0-0x%06x (24 bits)\n",
                      ROW_MAX, FK_OTP_ROW_MASK);
        return FK_TOOL_EXIT_USAGE;
    }
    const char *ecc = ecc_row_name((uint16_t)row);
    if (ecc != NULL) {
        fk_complain(r, "Cannot modify OTP ECC row(s): row 0x%03x is an ECC row (%s); a raw write "
                       "would break its code. Refused, nothing written.", row, ecc);
        return FK_TOOL_EXIT_FAIL;
    }
    if (r->otp_path == NULL && r->t->chip == NULL) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        fk_plan(r, "otp set -r %s0x%03x 0x%06x", r->opt_setbits ? "-s " : "", row, value);
        return FK_TOOL_EXIT_OK;
    }
    if (fk_chip_open(r, true) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;

    uint32_t cur = 0;
    const int rc = fk_otp_read_raw(r->chip, FK_OTP_BOOTSEL, (uint16_t)row, &cur, 1);
    if (rc != FK_OTP_OK) {
        fk_complain(r, "ERROR: %s reading OTP row 0x%03x. Nothing written.", fk_otp_strerror(rc),
                    row);
        return FK_TOOL_EXIT_FAIL;
    }
    const uint32_t next = r->opt_setbits ? (cur | value) : value;
    if ((cur & ~next) != 0u) {
        fk_complain(r, "Cannot clear bits: row 0x%03x holds 0x%06x and 0x%06x lacks 0x%06x (OTP "
                       "bits only go from 0 to 1; -s sets the given bits and keeps the others). "
                       "Refused, nothing written.", row, cur, value, cur & ~next);
        return FK_TOOL_EXIT_FAIL;
    }
    if (next == cur) {
        fk_say(r, "row 0x%03x already holds 0x%06x: nothing to write", row, cur);
        return FK_TOOL_EXIT_OK;
    }
    fk_say(r, "%s: row 0x%03x from 0x%06x to 0x%06x, this one row only (the other copies of a "
              "redundant register are not touched):",
           r->dry_run ? "dry run, nothing is written" : "plan", row, cur, next);
    fk_plan(r, "otp set -r %s0x%03x 0x%06x", r->opt_setbits ? "-s " : "", row, value);
    if (r->dry_run) {
        fk_say(r, "dry run: nothing written.");
        return FK_TOOL_EXIT_OK;
    }
    char what[64];
    (void)snprintf(what, sizeof what, "OTP row 0x%03x becomes 0x%06x", row, next);
    if (!fk_confirm(r, FK_TOKEN_WRITE_ROW, what)) return FK_TOOL_EXIT_FAIL;
    (void)snprintf(what, sizeof what, "row 0x%03x", row);
    return fk_write_raw_verified(r, (uint16_t)row, &next, 1, what);
}
