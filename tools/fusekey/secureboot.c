/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secureboot.c - the staged secure-boot provisioning, in BOOTSEL:
 *
 *   NO_KEY --load-key--> KEY_LOADED --harden--> HARDENED --enable--> ENFORCING --lock--> LOCKED
 *                 (revoke / rotate while pages 1 and 2 are not bootloader-locked)
 *
 * Each stage checks its preconditions against the state read from the OTP,
 * prints its picotool-equivalent lines, asks its token, writes, and reads
 * back. Beyond the plain flow: the fingerprint rows are written and
 * verified before KEY_VALID, load-key takes only the fingerprint from the
 * json (never crit1), enable needs a present, valid, ECC-clean slot, and
 * lock revokes exactly the slots that are not valid now.
 */
#include <stdlib.h>
#include <string.h>

#include "tool_internal.h"
#include "util.h"

#define BYTE_BITS 8u
#define JSON_MAX (64u * 1024u)
#define SLOT_MASK ((1u << FK_OTP_BOOTKEY_SLOTS) - 1u)
#define KI_SHIFT FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT
#define SENS_MAX (FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK >> FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_SHIFT)

/* The voted KEY_VALID bits. */
static unsigned key_valid(const fk_tool_state_t *st)
{
    return st->boot_flags1 & FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK;
}

/* The voted KEY_INVALID bits (slot n at bit n). */
static unsigned key_invalid(const fk_tool_state_t *st)
{
    return (st->boot_flags1 & FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK) >> KI_SHIFT;
}

/* Slots holding a fingerprint that counts: present, valid, not revoked. */
static unsigned live_slots(const fk_tool_state_t *st)
{
    unsigned m = 0;
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (st->slot[k].present && ((st->valid_slots >> k) & 1u) != 0u) m |= 1u << k;
    }
    return m;
}

/* Open the chip in BOOTSEL and read its state; prints the chip line. */
static int stage_open(fk_run_t *r, fk_tool_state_t *st)
{
    if (fk_chip_open(r, true) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (fk_state(r, st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_chip_describe(r, st);
    fk_say(r, "boot state: %s", fk_tool_boot_name(st->boot));
    return FK_TOOL_EXIT_OK;
}

/* No emulated chip given: the command is for a real board. */
static bool real_board(fk_run_t *r) { return r->otp_path == NULL && r->t->chip == NULL; }

/* A stage's refusal: nothing was written. */
static int refuse(fk_run_t *r, const char *why)
{
    fk_complain(r, "%s: refused, nothing written. %s", r->cmd, why);
    return FK_TOOL_EXIT_FAIL;
}

/* The refusal once pages 1 and 2 are bootloader-locked. */
static int refuse_pages_locked(fk_run_t *r)
{
    return refuse(r, "Pages 1 and 2 are locked against the bootloader (`secure-boot lock` ran): "
                     "the key slots and boot flags can no longer be changed from BOOTSEL.");
}

/* The end of every dry run. */
static int dry_run_end(fk_run_t *r)
{
    fk_say(r, "dry run: nothing written.");
    return FK_TOOL_EXIT_OK;
}

/* n bytes as lower-case hex into out (2n + 1 bytes). */
static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) (void)snprintf(out + 2u * i, 3, "%02x", b[i]);
}

/* ---- secure-boot status ------------------------------------------------------ */

/* `secure-boot status`. */
int fk_cmd_sb_status(fk_run_t *r)
{
    if (real_board(r)) return fk_cmd_device_status(r, true);
    fk_tool_state_t st;
    if (fk_chip_open(r, true) != FK_TOOL_EXIT_OK || fk_state(r, &st) != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_chip_describe(r, &st);
    fk_print_state(r, &st, false, true);
    return FK_TOOL_EXIT_OK;
}

/* ---- load-key / rotate ---------------------------------------------------------- */

/* The picotool lines of load-key: the fingerprint rows, then KEY_VALID. */
static void load_plan(fk_run_t *r, unsigned slot, const uint8_t fp[FK_TOOL_KEY_LEN],
                      const char *kv_text)
{
    fk_plan(r, "otp load bootkey%u.json", slot);
    (void)fprintf(r->t->out, "      bootkey%u.json: {\"bootkey%u\":[", slot, slot);
    for (unsigned i = 0; i < FK_TOOL_KEY_LEN; i++) {
        (void)fprintf(r->t->out, "%s%u", i ? "," : "", fp[i]);
    }
    fk_say(r, "]}   (16 ECC rows 0x%03x-0x%03x)", FK_OTP_ROW_BOOTKEY(slot),
           FK_OTP_ROW_BOOTKEY(slot) + FK_OTP_BOOTKEY_ROWS - 1u);
    fk_plan(r, "otp set OTP_DATA_BOOT_FLAGS1.KEY_VALID %s", kv_text);
    fk_say(r, "The fingerprint rows are written and read back before KEY_VALID is set (a "
              "combined json would set KEY_VALID first).");
}

/* Read the json's fingerprint; notes what of the file is ignored. */
static int load_json(fk_run_t *r, uint8_t fp[FK_TOOL_KEY_LEN])
{
    size_t len = 0;
    char *text = fk_read_file(r, r->pos[0], JSON_MAX, &len);
    if (text == NULL) return FK_TOOL_EXIT_FAIL;
    bool crit1 = false, flags1 = false;
    char err[FK_RUN_ERR_CAP];
    const int rc = fk_tool_json_bootkey(text, len, fp, &crit1, &flags1, err, sizeof err);
    free(text);
    if (rc != 0) {
        fk_complain(r, "%s: %s", r->pos[0], err);
        return FK_TOOL_EXIT_FAIL;
    }
    char h[2u * FK_TOOL_KEY_LEN + 1u];
    hex(h, fp, FK_TOOL_KEY_LEN);
    fk_say(r, "boot-key fingerprint from %s: %s", r->pos[0], h);
    if (crit1) {
        fk_say(r, "note: the file's crit1 (secure_boot_enable) is ignored: only `secure-boot "
                  "enable` turns secure boot on, after the key is proven.");
    }
    if (flags1) {
        fk_say(r, "note: the file's boot_flags1 is ignored: KEY_VALID is set for the target slot "
                  "after its fingerprint rows are verified.");
    }
    return FK_TOOL_EXIT_OK;
}

/* The slot rotate loads into: --slot, or the first one never used. */
static int rotate_target(fk_run_t *r, const fk_tool_state_t *st, unsigned *slot)
{
    if (live_slots(st) == 0u) {
        return refuse(r, "There is no valid key to rotate from: use `secure-boot load-key`.");
    }
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        const unsigned s = r->has_slot ? r->slot : k;
        const bool used = st->slot[s].present || ((key_valid(st) >> s) & 1u) != 0u ||
                          ((key_invalid(st) >> s) & 1u) != 0u;
        if (!used) {
            *slot = s;
            return FK_TOOL_EXIT_OK;
        }
        if (r->has_slot) {
            char why[128];
            (void)snprintf(why, sizeof why, "Slot %u is not free (present, valid or revoked).", s);
            return refuse(r, why);
        }
    }
    return refuse(r, "No free slot is left (all four are present, valid or revoked).");
}

/* `secure-boot load-key` and `rotate`. */
int fk_cmd_sb_load_key(fk_run_t *r, bool rotate)
{
    uint8_t fp[FK_TOOL_KEY_LEN];
    if (load_json(r, fp) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    char text[200];

    if (real_board(r)) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        const unsigned slot = r->has_slot ? r->slot : 0u;
        (void)snprintf(text, sizeof text, "<KEY_VALID now | 0x%x>", 1u << slot);
        load_plan(r, slot, fp, text);
        return FK_TOOL_EXIT_OK;
    }
    fk_tool_state_t st;
    if (stage_open(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (st.pages_bl_locked) return refuse_pages_locked(r);

    unsigned slot = r->has_slot ? r->slot : 0u;
    if (rotate && rotate_target(r, &st, &slot) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (k != slot && st.slot[k].present &&
            memcmp(st.slot[k].fingerprint, fp, FK_TOOL_KEY_LEN) == 0) {
            (void)snprintf(text, sizeof text, "This fingerprint is already in slot %u.", k);
            return refuse(r, text);
        }
    }
    const fk_tool_slot_t *s = &st.slot[slot];
    if (s->revoked) {
        (void)snprintf(text, sizeof text,
                       "Slot %u is revoked (KEY_INVALID): it can never hold a valid key.", slot);
        return refuse(r, text);
    }
    if (s->valid) {
        (void)snprintf(text, sizeof text,
                       "Slot %u already holds a valid key (KEY_VALID); a new key goes into a free "
                       "slot (`secure-boot rotate`).", slot);
        return refuse(r, text);
    }
    if (s->present) {
        if (memcmp(s->fingerprint, fp, FK_TOOL_KEY_LEN) != 0 || s->ecc_bad) {
            (void)snprintf(text, sizeof text,
                           "Slot %u is not empty: it holds another fingerprint. Choose another "
                           "--slot.", slot);
            return refuse(r, text);
        }
        fk_say(r, "slot %u already holds this fingerprint without KEY_VALID (an interrupted "
                  "load-key): finishing it", slot);
    }

    const unsigned new_kv = key_valid(&st) | (1u << slot);
    if (fk_field_precheck(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                          FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK, new_kv,
                          "BOOT_FLAGS1") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "%s: fingerprint into slot %u, then KEY_VALID 0x%x:",
           r->dry_run ? "dry run, nothing is written" : "plan", slot, new_kv);
    (void)snprintf(text, sizeof text, "0x%x", new_kv);
    load_plan(r, slot, fp, text);
    if (r->dry_run) return dry_run_end(r);
    (void)snprintf(text, sizeof text, "the boot-key fingerprint is fused into slot %u and marked "
                   "valid", slot);
    if (!fk_confirm(r, FK_TOKEN_LOAD_KEY, text)) return FK_TOOL_EXIT_FAIL;

    uint16_t rows[FK_OTP_BOOTKEY_ROWS];
    for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS; i++) {
        rows[i] = (uint16_t)(fp[2u * i] | (unsigned)fp[2u * i + 1u] << BYTE_BITS);
    }
    (void)snprintf(text, sizeof text, "BOOTKEY%u", slot);
    if (fk_write_ecc_verified(r, (uint16_t)FK_OTP_ROW_BOOTKEY(slot), rows, FK_OTP_BOOTKEY_ROWS,
                              text) != FK_TOOL_EXIT_OK ||
        fk_write_field(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                       FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK, new_kv,
                       "BOOT_FLAGS1.KEY_VALID") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_tool_state_t after;
    if (fk_state(r, &after) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (!after.slot[slot].present || ((after.valid_slots >> slot) & 1u) == 0u ||
        memcmp(after.slot[slot].fingerprint, fp, FK_TOOL_KEY_LEN) != 0) {
        fk_complain(r, "verify failed: slot %u does not read back as this valid key. Stopped.",
                    slot);
        return FK_TOOL_EXIT_FAIL;
    }
    if (rotate) {
        fk_say(r, "slot %u: valid. Next: seal your images with the new key, flash one, prove it "
                  "boots (`fusekey image verify`), then `fusekey secure-boot revoke OLD_SLOT`.",
               slot);
    } else {
        fk_say(r, "slot %u: valid (not enforcing yet: any image still boots). Next: `fusekey "
                  "secure-boot harden`.", slot);
    }
    return FK_TOOL_EXIT_OK;
}

/* ---- harden ------------------------------------------------------------------------ */

static const struct crit_field {
    const char *name;
    uint32_t mask;
    uint32_t bits;
    unsigned value;
} k_harden[] = {
    {"DEBUG_DISABLE", FK_OTP_CRIT1_DEBUG_DISABLE, FK_OTP_CRIT1_DEBUG_DISABLE, 1},
    {"GLITCH_DETECTOR_ENABLE", FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE,
     FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE, 1},
    {"GLITCH_DETECTOR_SENS", FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK,
     FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK, SENS_MAX},
};

/* `secure-boot harden`: DEBUG_DISABLE and the glitch detector. */
int fk_cmd_sb_harden(fk_run_t *r)
{
    if (real_board(r)) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        for (size_t i = 0; i < FK_ARRAY_SIZE(k_harden); i++) {
            fk_plan(r, "otp set OTP_DATA_CRIT1.%s %u", k_harden[i].name, k_harden[i].value);
        }
        return FK_TOOL_EXIT_OK;
    }
    fk_tool_state_t st;
    if (stage_open(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (st.pages_bl_locked) return refuse_pages_locked(r);
    if (live_slots(&st) == 0u) {
        return refuse(r, "No boot key is loaded: `fusekey secure-boot load-key` comes first.");
    }
    bool todo[FK_ARRAY_SIZE(k_harden)];
    bool any = false;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_harden); i++) {
        todo[i] = !fk_field_complete(r, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, k_harden[i].bits);
        any = any || todo[i];
        if (todo[i] && fk_field_precheck(r, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, k_harden[i].mask,
                                         k_harden[i].bits, "CRIT1") != FK_TOOL_EXIT_OK) {
            return FK_TOOL_EXIT_FAIL;
        }
    }
    if (!any) {
        fk_say(r, "already hardened: nothing to write. Next: `fusekey secure-boot enable`.");
        return FK_TOOL_EXIT_OK;
    }
    fk_say(r, "%s: DEBUG_DISABLE and the glitch detector at full sensitivity (each into all 8 "
              "CRIT1 rows 0x040-0x047):", r->dry_run ? "dry run, nothing is written" : "plan");
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_harden); i++) {
        if (todo[i]) {
            fk_plan(r, "otp set OTP_DATA_CRIT1.%s %u", k_harden[i].name, k_harden[i].value);
        } else {
            fk_say(r, "   (OTP_DATA_CRIT1.%s already set)", k_harden[i].name);
        }
    }
    if (r->dry_run) return dry_run_end(r);
    if (!fk_confirm(r, FK_TOKEN_HARDEN,
                    "debug access (SWD) is disabled for good and the glitch detector enabled")) {
        return FK_TOOL_EXIT_FAIL;
    }
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_harden); i++) {
        if (!todo[i]) continue;
        char what[48];
        (void)snprintf(what, sizeof what, "CRIT1.%s", k_harden[i].name);
        if (fk_write_field(r, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, k_harden[i].mask,
                           k_harden[i].bits, what) != FK_TOOL_EXIT_OK) {
            return FK_TOOL_EXIT_FAIL;
        }
    }
    fk_tool_state_t after;
    if (fk_state(r, &after) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (!after.hardened) {
        fk_complain(r, "verify failed: CRIT1 does not read back hardened. Stopped.");
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "hardened (still not enforcing: any image boots; the flags act from the next "
              "reset). Next: reboot, check the device works, then `fusekey secure-boot enable`.");
    return FK_TOOL_EXIT_OK;
}

/* ---- enable --------------------------------------------------------------------------- */

/* `secure-boot enable`: SECURE_BOOT_ENABLE, only on a proven, hardened chip. */
int fk_cmd_sb_enable(fk_run_t *r)
{
    if (real_board(r)) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        fk_plan(r, "otp set OTP_DATA_CRIT1.SECURE_BOOT_ENABLE 1");
        return FK_TOOL_EXIT_OK;
    }
    fk_tool_state_t st;
    if (stage_open(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (fk_field_complete(r, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES,
                          FK_OTP_CRIT1_SECURE_BOOT_ENABLE)) {
        fk_say(r, "secure boot is already enabled: nothing to write.");
        return FK_TOOL_EXIT_OK;
    }
    if (st.pages_bl_locked) return refuse_pages_locked(r);
    const unsigned live = live_slots(&st);
    if (live == 0u) {
        return refuse(r, "No boot key is loaded: enabling now would make every image unbootable. "
                         "`fusekey secure-boot load-key` comes first.");
    }
    char why[160];
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (((st.valid_slots >> k) & 1u) != 0u && st.slot[k].ecc_bad) {
            (void)snprintf(why, sizeof why,
                           "Slot %u is valid but a fingerprint row is uncorrectable: the bootrom "
                           "faults on it and nothing would boot.", k);
            return refuse(r, why);
        }
    }
    if (!st.hardened) {
        return refuse(r, "The chip is not hardened: `fusekey secure-boot harden` comes first.");
    }
    if (fk_field_precheck(r, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, FK_OTP_CRIT1_SECURE_BOOT_ENABLE,
                          FK_OTP_CRIT1_SECURE_BOOT_ENABLE, "CRIT1") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "%s: SECURE_BOOT_ENABLE into all 8 CRIT1 rows 0x040-0x047 (valid key slots 0x%x):",
           r->dry_run ? "dry run, nothing is written" : "plan", live);
    fk_plan(r, "otp set OTP_DATA_CRIT1.SECURE_BOOT_ENABLE 1");
    if (r->dry_run) return dry_run_end(r);
    if (!fk_confirm(r, FK_TOKEN_ENABLE,
                    "from the next reset the chip boots only images signed with the key of a "
                    "valid slot, for ever; losing that signing key means no new firmware")) {
        return FK_TOOL_EXIT_FAIL;
    }
    if (fk_write_field(r, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, FK_OTP_CRIT1_SECURE_BOOT_ENABLE,
                       FK_OTP_CRIT1_SECURE_BOOT_ENABLE,
                       "CRIT1.SECURE_BOOT_ENABLE") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_tool_state_t after;
    if (fk_state(r, &after) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (after.boot != FK_BOOT_ENFORCING) {
        fk_complain(r, "verify failed: the chip does not read back ENFORCING. Stopped.");
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "enabled: from the next reset only signed images boot. Check it now: an unsigned "
              "image must be refused (`fusekey image verify`), your signed one must boot. Next, "
              "optional: `fusekey secure-boot lock`.");
    return FK_TOOL_EXIT_OK;
}

/* ---- lock ------------------------------------------------------------------------------- */

/* "0, 2" for a slot mask ("none" for 0). */
static void slot_list(char *out, size_t cap, unsigned mask)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (((mask >> k) & 1u) == 0u) continue;
        const int w = snprintf(out + n, cap - n, "%s%u", n ? ", " : "", k);
        if (w < 0 || (size_t)w >= cap - n) break;
        n += (size_t)w;
    }
    if (n == 0u) (void)snprintf(out, cap, "none");
}

/* `secure-boot lock`: revoke the slots not valid, lock pages 1 and 2. */
int fk_cmd_sb_lock(fk_run_t *r)
{
    static const uint8_t pages[] = {1, 2};
    if (real_board(r)) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        fk_plan(r, "otp set OTP_DATA_BOOT_FLAGS1.KEY_INVALID <KEY_INVALID now | every slot not "
                   "valid now>");
        for (size_t i = 0; i < sizeof pages; i++) {
            fk_plan(r, "otp set -r OTP_DATA_PAGE%u_LOCK1 0x%06x", pages[i], FK_OTP_LOCK1_BOOT_PAGES);
        }
        return FK_TOOL_EXIT_OK;
    }
    fk_tool_state_t st;
    if (stage_open(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if ((st.crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) == 0u) {
        return refuse(r, "Secure boot is not enabled: `fusekey secure-boot enable` comes first.");
    }
    if (live_slots(&st) == 0u) return refuse(r, "No valid key is left to keep.");
    const unsigned ki_new = key_invalid(&st) | (~st.valid_slots & SLOT_MASK);
    const uint32_t lock_raw[2] = {st.page1_lock1, st.page2_lock1};
    char why[200];
    bool pages_todo = false;
    for (size_t i = 0; i < sizeof pages; i++) {
        if ((lock_raw[i] & ~FK_OTP_LOCK1_BOOT_PAGES) != 0u) {
            (void)snprintf(why, sizeof why,
                           "Cannot clear bits: PAGE%u_LOCK1 holds 0x%06x, which 0x%06x does not "
                           "contain.", pages[i], lock_raw[i], FK_OTP_LOCK1_BOOT_PAGES);
            return refuse(r, why);
        }
        if (lock_raw[i] != FK_OTP_LOCK1_BOOT_PAGES) pages_todo = true;
    }
    const bool ki_todo = !fk_field_complete(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                                            ki_new << KI_SHIFT);
    if (!ki_todo && !pages_todo) {
        fk_say(r, "already locked: nothing to write.");
        return FK_TOOL_EXIT_OK;
    }
    if (ki_todo && fk_field_precheck(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                                     FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK, ki_new << KI_SHIFT,
                                     "BOOT_FLAGS1") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    char keep[32], revoke[32];
    slot_list(keep, sizeof keep, st.valid_slots);
    slot_list(revoke, sizeof revoke, ki_new & ~key_invalid(&st));
    fk_say(r, "%s: revoke the slots that are not valid now (%s), keep the valid ones (%s), then "
              "make pages 1 and 2 bootloader-read-only:",
           r->dry_run ? "dry run, nothing is written" : "plan", revoke, keep);
    fk_plan(r, "otp set OTP_DATA_BOOT_FLAGS1.KEY_INVALID 0x%x", ki_new);
    for (size_t i = 0; i < sizeof pages; i++) {
        fk_plan(r, "otp set -r OTP_DATA_PAGE%u_LOCK1 0x%06x", pages[i], FK_OTP_LOCK1_BOOT_PAGES);
    }
    fk_say(r, "After this no key can be loaded, rotated or revoked any more.");
    if (r->dry_run) return dry_run_end(r);
    if (!fk_confirm(r, FK_TOKEN_LOCK,
                    "unused key slots are revoked and the key and flag pages locked against the "
                    "bootloader: no key rotation from then on")) {
        return FK_TOOL_EXIT_FAIL;
    }
    if (ki_todo && fk_write_field(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                                  FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK, ki_new << KI_SHIFT,
                                  "BOOT_FLAGS1.KEY_INVALID") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_tool_state_t mid;
    if (fk_state(r, &mid) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (key_invalid(&mid) != ki_new || mid.valid_slots != st.valid_slots) {
        fk_complain(r, "verify failed: KEY_INVALID reads 0x%x, expected 0x%x (valid slots 0x%x, "
                       "were 0x%x). Stopped before the page locks.",
                    key_invalid(&mid), ki_new, mid.valid_slots, st.valid_slots);
        return FK_TOOL_EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof pages; i++) {
        if (lock_raw[i] == FK_OTP_LOCK1_BOOT_PAGES) continue;
        const uint32_t v = FK_OTP_LOCK1_BOOT_PAGES;
        char what[32];
        (void)snprintf(what, sizeof what, "PAGE%u_LOCK1", pages[i]);
        if (fk_write_raw_verified(r, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(pages[i]), &v, 1, what) !=
            FK_TOOL_EXIT_OK) {
            return FK_TOOL_EXIT_FAIL;
        }
    }
    fk_say(r, "locked: unused slots revoked; pages 1 and 2 become bootloader-read-only at the "
              "next reset (the bootrom and secure firmware still write the rollback rows).");
    return FK_TOOL_EXIT_OK;
}

/* ---- revoke ------------------------------------------------------------------------------- */

/* `secure-boot revoke N`, never the last valid key. */
int fk_cmd_sb_revoke(fk_run_t *r)
{
    uint32_t n = 0;
    if (!fk_parse_uint(r->pos[0], FK_OTP_BOOTKEY_SLOTS - 1u, &n)) {
        (void)fprintf(r->t->err, "fusekey: secure-boot revoke takes a slot 0-3, not '%s'\n",
                      r->pos[0]);
        return FK_TOOL_EXIT_USAGE;
    }
    if (real_board(r)) {
        if (!fk_no_chip(r)) return FK_TOOL_EXIT_FAIL;
        fk_plan(r, "otp set OTP_DATA_BOOT_FLAGS1.KEY_INVALID <KEY_INVALID now | 0x%x>", 1u << n);
        return FK_TOOL_EXIT_OK;
    }
    fk_tool_state_t st;
    if (stage_open(r, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    const unsigned ki_new = key_invalid(&st) | (1u << n);
    if (fk_field_complete(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, (1u << n) << KI_SHIFT)) {
        fk_say(r, "slot %u is already revoked: nothing to write.", n);
        return FK_TOOL_EXIT_OK;
    }
    if (st.pages_bl_locked) return refuse_pages_locked(r);
    if ((key_valid(&st) & ~ki_new & SLOT_MASK) == 0u) {
        return refuse(r, "Revoking this slot would leave no valid key and nothing would boot. "
                         "Load the new key first (`secure-boot rotate`), prove it boots, then "
                         "revoke the old one.");
    }
    if (fk_field_precheck(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                          FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK, ki_new << KI_SHIFT,
                          "BOOT_FLAGS1") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "%s: KEY_INVALID for slot %u:", r->dry_run ? "dry run, nothing is written" : "plan",
           n);
    fk_plan(r, "otp set OTP_DATA_BOOT_FLAGS1.KEY_INVALID 0x%x", ki_new);
    if (r->dry_run) return dry_run_end(r);
    char what[96];
    (void)snprintf(what, sizeof what, "images signed with the key of slot %u never boot again", n);
    if (!fk_confirm(r, FK_TOKEN_REVOKE, what)) return FK_TOOL_EXIT_FAIL;
    if (fk_write_field(r, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES,
                       FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK, ki_new << KI_SHIFT,
                       "BOOT_FLAGS1.KEY_INVALID") != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_tool_state_t after;
    if (fk_state(r, &after) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (!after.slot[n].revoked) {
        fk_complain(r, "verify failed: slot %u does not read back revoked. Stopped.", n);
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "slot %u revoked; valid slots now 0x%x.", n, after.valid_slots);
    return FK_TOOL_EXIT_OK;
}
