/* SPDX-License-Identifier: Apache-2.0 */
/*
 * card.c - the commands the running firmware carries out, through its
 * rescue applet: the page-58 lock and ROLLBACK_REQUIRED (the two rows
 * BOOTSEL cannot write once the pages are locked), reboot, and the device's
 * own view of its state. Every status word maps to a precise message.
 */
#include <string.h>

#include "apdu.h"
#include "crypto/crypto.h"
#include "rescue.h"
#include "tool_internal.h"
#include "util.h"

#define SELECT_ANSWER_LEN 12u /* platform, product, major, minor, serial(8) */
#define SELECT_PLATFORM 0u
#define SELECT_MAJOR 2u
#define SELECT_MINOR 3u
#define SERIAL_OFFSET 4u
#define SERIAL_LEN 8u
#define APDU_HEADER 4u
#define RESP_CAP 1024u

/* The rescue applet's AID (applets/rescue). */
static const uint8_t k_rescue_aid[FK_RESCUE_AID_LEN] = {0xA0, 0x58, 0x3F, 0xC1,
                                                       0x9B, 0x7E, 0x4F, 0x21};

typedef struct reply {
    uint8_t data[RESP_CAP];
    size_t len;
    uint16_t sw;
} reply_t;

/* An APDU as the dry runs print it: "   APDU 80 1B ...". */
static void print_apdu(fk_run_t *r, const uint8_t *a, size_t n, const char *note)
{
    (void)fputs("   APDU", r->t->out);
    for (size_t i = 0; i < n; i++) (void)fprintf(r->t->out, " %02X", a[i]);
    fk_say(r, "%s", note);
}

/* Send one APDU; FK_TOOL_EXIT_FAIL after printing a transport failure. */
static int send_apdu(fk_run_t *r, const uint8_t *a, size_t n, reply_t *rep)
{
    char err[FK_RUN_ERR_CAP];
    if (r->t->card->transmit(r->t->card_arg, a, n, rep->data, sizeof rep->data, &rep->len,
                             &rep->sw, err, sizeof err) != 0) {
        fk_complain(r, "talking to the device failed: %s", err);
        return FK_TOOL_EXIT_FAIL;
    }
    return FK_TOOL_EXIT_OK;
}

/* The platform byte of the SELECT answer as a word. */
static const char *platform_name(uint8_t p)
{
    static const char *const names[] = {"RP2040", "RP2350", "ESP32", "emulation"};
    return p < FK_ARRAY_SIZE(names) ? names[p] : "unknown platform";
}

/* Connect and select the rescue applet; prints what answered. */
static int card_open(fk_run_t *r)
{
    char err[FK_RUN_ERR_CAP];
    if (r->t->card->connect(r->t->card_arg, r->reader, err, sizeof err) != 0) {
        fk_complain(r, "%s. '%s' talks to the running device (emulated: fusekey-sim behind "
                       "pcscd); is it running%s?", err, r->cmd, r->reader ? " in that reader" : "");
        return FK_TOOL_EXIT_FAIL;
    }
    r->card_open = true;
    uint8_t select[APDU_HEADER + 1u + FK_RESCUE_AID_LEN + 1u] = {
        0x00, FK_INS_SELECT, 0x04, 0x04, FK_RESCUE_AID_LEN};
    memcpy(select + APDU_HEADER + 1u, k_rescue_aid, FK_RESCUE_AID_LEN);
    reply_t rep;
    if (send_apdu(r, select, sizeof select, &rep) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (rep.sw != FK_SW_OK || rep.len < SELECT_ANSWER_LEN) {
        fk_complain(r, "the card has no rescue applet (SELECT answered %04X): not a fusekey "
                       "device?", rep.sw);
        return FK_TOOL_EXIT_FAIL;
    }
    char serial[2u * SERIAL_LEN + 1u];
    for (unsigned i = 0; i < SERIAL_LEN; i++) {
        (void)snprintf(serial + 2u * i, 3, "%02X", rep.data[SERIAL_OFFSET + i]);
    }
    fk_say(r, "device: fusekey firmware %u.%u on %s, serial %s", rep.data[SELECT_MAJOR],
           rep.data[SELECT_MINOR], platform_name(rep.data[SELECT_PLATFORM]), serial);
    return FK_TOOL_EXIT_OK;
}

/* A status word that no command expects, as a sentence. */
static const char *generic_sw(uint16_t sw)
{
    switch (sw) {
    case FK_SW_EXEC_ERROR:
        return "the device's OTP read, write or read-back failed";
    case FK_SW_REF_DATA_NOT_USABLE:
        return "the device did not accept the confirmation payload";
    case FK_SW_INCORRECT_P1P2:
        return "the device does not know this P1/P2";
    case FK_SW_INS_NOT_SUPPORTED:
        return "the device's firmware does not have this command (too old?)";
    case FK_SW_CLA_NOT_SUPPORTED:
        return "the device refused the class byte (is the rescue applet selected?)";
    case FK_SW_WRONG_LENGTH:
        return "the device refused the command's length";
    case FK_SW_SECURITY_NOT_SATISFIED:
        return "the device requires authentication first";
    case FK_SW_PRESENCE_TIMEOUT:
        return "no user presence in time";
    case FK_SW_CONDITIONS_NOT_SATISFIED:
        return "conditions not satisfied";
    default:
        return "unexpected status";
    }
}

/* Secure-boot status from 1E 03: 0 ok, -1 not available. */
static int read_boot_info(fk_run_t *r, bool *enabled, bool *locked, unsigned *slot)
{
    const uint8_t a[] = {FK_RESCUE_CLA, FK_RESCUE_INS_READ, FK_RESCUE_INFO_BOOT, 0x00, 0x00};
    reply_t rep;
    if (send_apdu(r, a, sizeof a, &rep) != FK_TOOL_EXIT_OK) return -1;
    if (rep.sw != FK_SW_OK || rep.len < FK_RESCUE_BOOT_INFO_LEN) return -1;
    *enabled = rep.data[0] != 0u;
    *locked = rep.data[1] != 0u;
    *slot = rep.data[2];
    return 0;
}

/* Rollback status from 1E 06: 0 ok, -1 not available (printed). */
static int read_rollback_info(fk_run_t *r, bool *required, unsigned *floor, unsigned *capacity)
{
    const uint8_t a[] = {FK_RESCUE_CLA, FK_RESCUE_INS_READ, FK_RESCUE_INFO_ROLLBACK, 0x00, 0x00};
    reply_t rep;
    if (send_apdu(r, a, sizeof a, &rep) != FK_TOOL_EXIT_OK) return -1;
    if (rep.sw != FK_SW_OK || rep.len < FK_RESCUE_ROLLBACK_INFO_LEN) {
        fk_complain(r, "the device does not report its rollback state (%04X: %s)", rep.sw,
                    generic_sw(rep.sw));
        return -1;
    }
    *required = rep.data[0] != 0u;
    *floor = rep.data[1];
    *capacity = rep.data[2];
    return 0;
}

/* ---- otp lock-page58 ------------------------------------------------------------- */

static const uint8_t k_lock58[] = {FK_RESCUE_CLA, FK_RESCUE_INS_OTP, FK_RESCUE_OTP_LOCK58, 0x00,
                                   FK_RESCUE_MAGIC_LEN, 'L', 'O', 'C', 'K', '5', '8', 0x00};
static const uint8_t k_rollbk[] = {FK_RESCUE_CLA, FK_RESCUE_INS_OTP, FK_RESCUE_OTP_ROLLBACK, 0x00,
                                   FK_RESCUE_MAGIC_LEN, 'R', 'O', 'L', 'L', 'B', 'K', 0x00};

/* `otp lock-page58`: the firmware writes PAGE58_LOCK1 = 0x3C3C3C. */
int fk_cmd_lock_page58(fk_run_t *r)
{
    if (card_open(r) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_say(r, "%s: the firmware writes PAGE58_LOCK1 (0x%03x) = 0x%06x (page 58: bootloader and "
              "non-secure code inaccessible, secure firmware read-write), with user presence, "
              "and reads it back:", r->dry_run ? "dry run, nothing is sent" : "plan",
           FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), FK_OTP_LOCK1_PAGE58);
    print_apdu(r, k_lock58, sizeof k_lock58, "   (\"LOCK58\")");
    if (r->dry_run) {
        fk_say(r, "dry run: nothing sent. The device refuses (6985) unless an OTP master key is "
                  "provisioned, and (6986) until every secret is under it (verify the user PIN "
                  "and the SO-PIN once); it writes nothing when the lock is already there.");
        return FK_TOOL_EXIT_OK;
    }
    if (!fk_confirm(r, FK_TOKEN_LOCK58,
                    "from the device's next reset, page 58 (the device and master keys) can "
                    "never again be read over BOOTSEL or by non-secure code")) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "confirm user presence on the device if it asks");
    reply_t rep;
    if (send_apdu(r, k_lock58, sizeof k_lock58, &rep) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    switch (rep.sw) {
    case FK_SW_OK:
        fk_say(r, "page-58 lock in place (0x%06x, read back by the firmware). It takes effect at "
                  "the device's next reset; from then on a BOOTSEL read of page 58 fails with a "
                  "permission failure: that is the lock working.", FK_OTP_LOCK1_PAGE58);
        return FK_TOOL_EXIT_OK;
    case FK_SW_CONDITIONS_NOT_SATISFIED:
        fk_complain(r, "refused by the device (6985): no OTP master key is provisioned (run "
                       "`fusekey --otp FILE otp burn` with the device stopped, then restart it), "
                       "or PAGE58_LOCK1 already holds another lock value (see `fusekey --otp "
                       "FILE status`), or user presence was declined. Nothing written.");
        return FK_TOOL_EXIT_FAIL;
    case FK_SW_COMMAND_NOT_ALLOWED:
        fk_complain(r, "refused by the device (6986): not every secret is under the OTP master "
                       "key yet. From the lock on nothing sealed under the old device root opens, "
                       "so the device locks only once the migration is done: verify the user PIN "
                       "and the SO-PIN once each (e.g. `pkcs11-tool -l --test` and `sc-hsm-tool` "
                       "asking for the SO-PIN), check with `fusekey status`, and run this again. "
                       "Nothing written.");
        return FK_TOOL_EXIT_FAIL;
    case FK_SW_EXEC_ERROR:
        fk_complain(r, "the device's OTP write or its read-back failed (6400): stop the device "
                       "and check `fusekey --otp FILE otp get -r 0x%03x`.",
                    FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS));
        return FK_TOOL_EXIT_FAIL;
    default:
        fk_complain(r, "refused by the device (%04X): %s. Nothing written.", rep.sw,
                    generic_sw(rep.sw));
        return FK_TOOL_EXIT_FAIL;
    }
}

/* ---- otp rollback-require --------------------------------------------------------- */

/* `otp rollback-require`: the firmware sets ROLLBACK_REQUIRED, unless set. */
int fk_cmd_rollback_require(fk_run_t *r)
{
    if (card_open(r) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    bool required = false;
    unsigned floor = 0, capacity = 0;
    if (read_rollback_info(r, &required, &floor, &capacity) != 0) return FK_TOOL_EXIT_FAIL;
    fk_say(r, "rollback: required %s, floor %u of %u", required ? "yes" : "no", floor, capacity);
    if (required) {
        fk_say(r, "ROLLBACK_REQUIRED is already set: nothing to do. (The bootrom sets it itself "
                  "at the first secure boot of an image with a rollback version.)");
        return FK_TOOL_EXIT_OK;
    }
    bool enabled = false, locked = false;
    unsigned slot = 0;
    const bool boot_known = read_boot_info(r, &enabled, &locked, &slot) == 0;
    fk_say(r, "%s: the firmware sets ROLLBACK_REQUIRED (BOOT_FLAGS0 bit 11) in each of the three "
              "copies 0x%03x-0x%03x that lacks it (cur | 0x800), with user presence:",
           r->dry_run ? "dry run, nothing is sent" : "plan", FK_OTP_ROW_BOOT_FLAGS0,
           FK_OTP_ROW_BOOT_FLAGS0 + FK_OTP_RBIT3_COPIES - 1u);
    print_apdu(r, k_rollbk, sizeof k_rollbk, "   (\"ROLLBK\")");
    fk_say(r, "From then on every image must carry a rollback version >= %u: a versionless image "
              "no longer boots (seal recovery images with --rollback too).", floor);
    if (boot_known && !enabled) {
        fk_say(r, "The device reports secure boot disabled: it will refuse (6985); "
                  "`fusekey secure-boot enable` comes first.");
    }
    if (r->dry_run) {
        fk_say(r, "dry run: nothing sent.");
        return FK_TOOL_EXIT_OK;
    }
    if (!fk_confirm(r, FK_TOKEN_ROLLBACK,
                    "from now on the bootrom refuses every image without a rollback version")) {
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "confirm user presence on the device if it asks");
    reply_t rep;
    if (send_apdu(r, k_rollbk, sizeof k_rollbk, &rep) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    switch (rep.sw) {
    case FK_SW_OK:
        break;
    case FK_SW_CONDITIONS_NOT_SATISFIED:
        if (boot_known && !enabled) {
            fk_complain(r, "refused by the device (6985): secure boot is not enabled. `fusekey "
                           "secure-boot enable` comes first. Nothing written.");
        } else {
            fk_complain(r, "refused by the device (6985): user presence was declined%s. Nothing "
                           "written.", boot_known ? "" : " (or secure boot is not enabled)");
        }
        return FK_TOOL_EXIT_FAIL;
    case FK_SW_EXEC_ERROR:
        fk_complain(r, "the device's OTP write or its read-back failed (6400): some copies of "
                       "BOOT_FLAGS0 may be written; check `fusekey --otp FILE status` with the "
                       "device stopped.");
        return FK_TOOL_EXIT_FAIL;
    default:
        fk_complain(r, "refused by the device (%04X): %s. Nothing written.", rep.sw,
                    generic_sw(rep.sw));
        return FK_TOOL_EXIT_FAIL;
    }
    if (read_rollback_info(r, &required, &floor, &capacity) != 0 || !required) {
        fk_complain(r, "the device answered 9000 but does not report ROLLBACK_REQUIRED set");
        return FK_TOOL_EXIT_FAIL;
    }
    fk_say(r, "ROLLBACK_REQUIRED set (verified: the device reports it); floor %u.", floor);
    return FK_TOOL_EXIT_OK;
}

/* ---- reboot ------------------------------------------------------------------------------- */

/* `reboot [--bootsel]` through the rescue applet. */
int fk_cmd_reboot(fk_run_t *r)
{
    if (card_open(r) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    const uint8_t a[] = {FK_RESCUE_CLA, FK_RESCUE_INS_REBOOT,
                         r->opt_bootsel ? FK_RESCUE_REBOOT_BOOTSEL : FK_RESCUE_REBOOT_NORMAL, 0x00};
    if (r->dry_run) {
        print_apdu(r, a, sizeof a, "");
        fk_say(r, "dry run: nothing sent.");
        return FK_TOOL_EXIT_OK;
    }
    if (r->opt_bootsel) fk_say(r, "confirm user presence on the device if it asks");
    reply_t rep;
    if (send_apdu(r, a, sizeof a, &rep) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (rep.sw == FK_SW_OK) {
        fk_say(r, r->opt_bootsel ? "rebooting into BOOTSEL. An emulated device stops here: its "
                                   "OTP file is now free for `fusekey --otp FILE ...`."
                                 : "rebooting.");
        return FK_TOOL_EXIT_OK;
    }
    fk_complain(r, "refused by the device (%04X): %s", rep.sw,
                rep.sw == FK_SW_CONDITIONS_NOT_SATISFIED ? "user presence was declined"
                                                         : generic_sw(rep.sw));
    return FK_TOOL_EXIT_FAIL;
}

/* ---- The device's own view ----------------------------------------------------------------- */

/* The migration to the OTP root from 1E 07, as a sentence (nothing printed
 * when the firmware does not report it). */
static void say_migration(fk_run_t *r)
{
    static const char *const states[] = {
        "unknown (the OTP or the store could not be read)",
        "none (no OTP master key: the device root seals)",
        "in progress",
        "done (everything under the OTP master key, the device seed deleted)",
    };
    const uint8_t a[] = {FK_RESCUE_CLA, FK_RESCUE_INS_READ, FK_RESCUE_INFO_MIGRATION, 0x00, 0x00};
    reply_t rep;
    if (send_apdu(r, a, sizeof a, &rep) != FK_TOOL_EXIT_OK) return;
    if (rep.sw != FK_SW_OK || rep.len < FK_RESCUE_MIGRATION_INFO_LEN ||
        rep.data[0] >= FK_ARRAY_SIZE(states))
        return;
    fk_say(r, "migration to the OTP master key: %s", states[rep.data[0]]);
    if (rep.data[0] == FK_RESCUE_MIGRATION_IN_PROGRESS) {
        fk_say(r, "  %u secret(s) wait for their PIN (verify the user PIN and the SO-PIN once), "
                  "%u record(s) could not be moved; `otp lock-page58` waits for it to finish",
               rep.data[1], rep.data[2]);
    }
}

/* The flash figures and health from 1E 02 01, as two lines (nothing
 * printed when the firmware does not report them). */
static void say_flash(fk_run_t *r)
{
    const uint8_t a[] = {FK_RESCUE_CLA, FK_RESCUE_INS_READ, FK_RESCUE_INFO_FLASH,
                         FK_RESCUE_FLASH_HEALTH, 0x00};
    reply_t rep;
    if (send_apdu(r, a, sizeof a, &rep) != FK_TOOL_EXIT_OK) return;
    if (rep.sw != FK_SW_OK || rep.len < FK_RESCUE_FLASH_HEALTH_LEN) return;
    uint32_t f[FK_RESCUE_FLASH_HEALTH_LEN / 4];
    for (size_t i = 0; i < FK_ARRAY_SIZE(f); i++) f[i] = fk_be32(rep.data + 4 * i);
    fk_say(r, "flash store: %lu records, %lu bytes used, %lu free of %lu",
           (unsigned long)f[3], (unsigned long)f[1], (unsigned long)f[0], (unsigned long)f[2]);
    fk_say(r, "flash health: %lu damaged header(s) repaired, %lu damaged record(s) since the "
              "start; sector erases %lu to %lu",
           (unsigned long)f[5], (unsigned long)f[6], (unsigned long)f[7], (unsigned long)f[8]);
}

/* `status` / `secure-boot status` without --otp: the firmware's own view. */
int fk_cmd_device_status(fk_run_t *r, bool secure_boot_only)
{
    if (card_open(r) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_say(r, "(the running firmware's view; `--otp FILE` reads the emulated chip's OTP itself)");
    bool enabled = false, locked = false, required = false;
    unsigned slot = 0, floor = 0, capacity = 0;
    if (read_boot_info(r, &enabled, &locked, &slot) == 0) {
        if (slot == FK_RESCUE_NO_BOOT_KEY) {
            fk_say(r, "secure boot: enabled %s, locked %s, no valid boot key",
                   enabled ? "yes" : "no", locked ? "yes" : "no");
        } else {
            fk_say(r, "secure boot: enabled %s, locked %s, boot key slot %u",
                   enabled ? "yes" : "no", locked ? "yes" : "no", slot);
        }
    } else {
        fk_say(r, "secure boot: not reported by this firmware");
    }
    if (read_rollback_info(r, &required, &floor, &capacity) == 0) {
        fk_say(r, "rollback: required %s, floor %u of %u", required ? "yes" : "no", floor, capacity);
    }
    if (secure_boot_only) return FK_TOOL_EXIT_OK;
    say_migration(r);
    say_flash(r);
    const uint8_t a[] = {FK_RESCUE_CLA, FK_RESCUE_INS_DEVKEY, FK_RESCUE_DEVKEY_PUBLIC, 0x00, 0x00};
    reply_t rep;
    if (send_apdu(r, a, sizeof a, &rep) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (rep.sw == FK_SW_OK && rep.len == FK_RESCUE_PUBKEY_LEN) {
        uint8_t d[FK_SHA256_LEN];
        fk_sha256(rep.data, rep.len, d);
        (void)fputs("device key: secp256k1, SHA-256 of the public key ", r->t->out);
        for (size_t i = 0; i < sizeof d; i++) (void)fprintf(r->t->out, "%02x", d[i]);
        fk_say(r, "%s", "");
    } else {
        fk_say(r, "device key: not reported (%04X)", rep.sw);
    }
    return FK_TOOL_EXIT_OK;
}
