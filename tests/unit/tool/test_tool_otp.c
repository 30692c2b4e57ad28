/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tool_otp.c - the fusekey tool's state derivation and its BOOTSEL OTP
 * commands (otp burn, otp get, otp set) against in-memory chips; the
 * command line itself (usage errors, a real board without --otp).
 * Spec scenarios 14 and 15, and 16 for the burn.
 */
#include "harness.h"

#define PAGE58_ROWS 0x40u

static const uint8_t k_n_secp256k1[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};

/* ---- State derivation --------------------------------------------------------- */

static void test_state_fresh(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    fk_tool_state_t st;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.keys, FK_KEYS_BLANK);
    assert_int_equal(st.boot, FK_BOOT_NO_KEY);
    assert_false(st.rollback_required);
    assert_int_equal(st.floor, 0);
    assert_false(st.pages_bl_locked);
    assert_int_equal(st.chipid[0], 0xF0);
    assert_int_equal(st.chipid[7], 0xC0);
    h_free(h);
}

static void test_state_boot_ladder(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    fk_tool_state_t st;
    /* A fingerprint in slot 2 without KEY_VALID: still NO_KEY. */
    h->chip.raw[FK_OTP_ROW_BOOTKEY(2)] = fk_otp_ecc_encode(0x1234);
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_NO_KEY);
    assert_true(st.slot[2].present);
    assert_false(st.slot[2].valid);
    /* KEY_VALID bit 2 in one copy of three: does not count. */
    h->chip.raw[FK_OTP_ROW_BOOT_FLAGS1] = 1u << 2;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_NO_KEY);
    /* Two copies: the key is loaded. */
    h->chip.raw[FK_OTP_ROW_BOOT_FLAGS1 + 2] = 1u << 2;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_KEY_LOADED);
    assert_int_equal(st.valid_slots, 1u << 2);
    /* Hardening bits in 3 of 8 CRIT1 rows. */
    const uint32_t hard = FK_OTP_CRIT1_DEBUG_DISABLE | FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE |
                          FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK;
    for (unsigned i = 0; i < 3; i++) h->chip.raw[FK_OTP_ROW_CRIT1 + 2 * i] = hard;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_HARDENED);
    /* SECURE_BOOT_ENABLE in 2 of 8: not enforcing; in 3 of 8: enforcing. */
    h->chip.raw[FK_OTP_ROW_CRIT1 + 1] |= FK_OTP_CRIT1_SECURE_BOOT_ENABLE;
    h->chip.raw[FK_OTP_ROW_CRIT1 + 7] |= FK_OTP_CRIT1_SECURE_BOOT_ENABLE;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_HARDENED);
    h->chip.raw[FK_OTP_ROW_CRIT1 + 3] |= FK_OTP_CRIT1_SECURE_BOOT_ENABLE;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_ENFORCING);
    /* Page 1 bootloader-locked: LOCKED. */
    h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(1)] = FK_OTP_LOCK1_BOOT_PAGES;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.boot, FK_BOOT_LOCKED);
    /* Revoking the only slot: no valid slot left. */
    for (unsigned i = 0; i < 3; i++) h->chip.raw[FK_OTP_ROW_BOOT_FLAGS1 + i] |= 1u << (8 + 2);
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.valid_slots, 0);
    assert_true(st.slot[2].revoked);
    h_free(h);
}

static void test_state_rollback(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    fk_tool_state_t st;
    /* An interrupted burn: ROLLBACK_REQUIRED in one copy of three. */
    h->chip.raw[FK_OTP_ROW_BOOT_FLAGS0 + 1] = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_false(st.rollback_required);
    assert_int_equal(RUN(h, NULL, "status"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "rollback: required no");
    assert_out_has(h, "ROLLBACK_REQUIRED in 1 of 3 copies: does not count");
    h->chip.raw[FK_OTP_ROW_BOOT_FLAGS0 + 2] = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED | 0x1u;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_true(st.rollback_required);
    /* Thermometer bits {0, 2}: floor 3, not a popcount. */
    for (unsigned i = 0; i < 3; i++) h->chip.raw[FK_OTP_ROW_BOOT_VERSION0 + i] = 0x5;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.floor, 3);
    for (unsigned i = 0; i < 3; i++) h->chip.raw[FK_OTP_ROW_BOOT_VERSION1 + i] = 0x1;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    assert_int_equal(st.floor, 25);
    assert_int_equal(RUN(h, NULL, "status"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "rollback: required yes, floor 25, 22 of 47 versions left");
    h_free(h);
}

/* ---- otp burn ------------------------------------------------------------------ */

static const char *const k_burn_lines[] = {
    "   picotool otp load -e -s 0xe80 devk.bin\n",
    "   picotool otp load -e -s 0xe90 mkek.bin\n",
    "   picotool otp load -r -s 0xea0 devk_chaff.bin\n",
    "   picotool otp load -r -s 0xeb0 mkek_chaff.bin\n",
};

static void test_burn_dry_run(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, "BURN-OTP-PAGE58\n", "otp", "burn", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_unchanged(h, &s);
    for (size_t i = 0; i < sizeof(k_burn_lines) / sizeof(k_burn_lines[0]); i++) assert_out_has(h, k_burn_lines[i]);
    /* The lock is the firmware's, after the migration: never in the plan. */
    assert_null(strstr(h->out, "picotool otp set -r 0xff5"));
    assert_out_has(h, "dry run: nothing written");
    assert_null(strstr(h->err, "Type")); /* no token asked */
    h_free(h);
}

static void test_burn_wrong_tokens(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, "BURN-OTP-PAGE5\n", "otp", "burn"), FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "nothing written");
    assert_int_equal(RUN(h, "burn-otp-page58\n", "otp", "burn"), FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, "", "otp", "burn"), FK_TOOL_EXIT_FAIL); /* no answer at all */
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "LOCK-PAGE58"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "not the token");
    assert_unchanged(h, &s);
    h_free(h);
}

/* --yes-i-understand is compared whole: a token padded far past any buffer
 * with trailing garbage, a prefix, a token with more after it or around it
 * is refused, and nothing is written; the exact token is accepted. */
static void test_yes_token_exact(void **state)
{
    (void)state;
    enum { PAD = 120 };
    char padded[sizeof("BURN-OTP-PAGE58") + PAD + sizeof("garbage")];
    const size_t tok = strlen("BURN-OTP-PAGE58");
    memcpy(padded, "BURN-OTP-PAGE58", tok);
    memset(padded + tok, ' ', PAD);
    memcpy(padded + tok + PAD, "garbage", sizeof("garbage"));
    const char *const wrong[] = {padded, "BURN-OTP-PAGE5", "BURN-OTP-PAGE58X",
                                 "BURN-OTP-PAGE58 ", " BURN-OTP-PAGE58", "BURN-OTP-PAGE58\n"};
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    snap_take(h, &s);
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", wrong[i]),
                         FK_TOOL_EXIT_FAIL);
        assert_err_has(h, "not the token");
        assert_err_has(h, "nothing written");
        assert_unchanged(h, &s);
    }
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58"),
                     FK_TOOL_EXIT_OK);
    h_free(h);
}

/* Rows of a key as written: ECC data bytes 2i, 2i+1 of the key. */
static void assert_key_rows(const harness_t *h, uint16_t row, const uint8_t key[32])
{
    for (unsigned i = 0; i < 16; i++) {
        uint16_t d = 0;
        const uint32_t raw = h->chip.raw[row + i];
        assert_int_equal(fk_otp_ecc_decode(raw, &d), FK_OTP_ECC_OK);
        assert_int_equal(d, key[2 * i] | key[2 * i + 1] << 8);
        /* The chaff: the read-back raw row, complemented. */
        assert_int_equal(h->chip.raw[row + 0x20 + i], raw ^ 0xFFFFFFu);
    }
}

static void test_burn_writes_keys_and_chaff(void **state)
{
    (void)state;
    for (int stepping = FK_OTP_STEPPING_A2; stepping <= FK_OTP_STEPPING_A3; stepping++) {
        harness_t *h = h_new((fk_otp_stepping_t)stepping);
        /* First draw: the MKEK; then DEVK draws 0, n and all-ones (all refused), then a
         * valid scalar. */
        memset(h->script[0], 0xA5, 32);
        memset(h->script[1], 0x00, 32);
        memcpy(h->script[2], k_n_secp256k1, 32);
        memset(h->script[3], 0xFF, 32);
        memcpy(h->script[4], k_n_secp256k1, 32);
        h->script[4][31] = 0x40; /* n - 1 */
        h->n_script = 5;
        assert_int_equal(RUN(h, "  BURN-OTP-PAGE58  \n", "otp", "burn"), FK_TOOL_EXIT_OK);
        assert_key_rows(h, FK_OTP_ROW_MKEK, h->script[0]);
        assert_key_rows(h, FK_OTP_ROW_DEVK, h->script[4]);
        /* The keys are never shown. */
        assert_null(strstr(h->out, "a5a5"));
        assert_null(strstr(h->out, "A5A5"));
        /* No lock on either stepping (A3's BOOTSEL could write it): a lock
         * before the device moved its secrets to the MKEK would lose them. */
        assert_int_equal(h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(58)], 0);
        assert_out_has(h, "lock-page58");
        assert_int_equal(RUN(h, NULL, "status"), FK_TOOL_EXIT_OK);
        assert_out_has(h, "keys: KEYS_BURNED");
        /* A second burn: aborts, nothing written. */
        snap_t s;
        snap_take(h, &s);
        assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58"),
                         FK_TOOL_EXIT_FAIL);
        assert_unchanged(h, &s);
        h_free(h);
    }
}

static void test_burn_preflight_any_row(void **state)
{
    (void)state;
    /* Scenario 14: a non-zero row anywhere among the 66 aborts with nothing written. */
    static const uint16_t rows[] = {0xE80, 0xE8F, 0xE90, 0xEA7, 0xEB0, 0xEBF, 0xFF4, 0xFF5};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        harness_t *h = h_new(FK_OTP_STEPPING_A2);
        h->chip.raw[rows[i]] = 0x000100;
        snap_t s;
        snap_take(h, &s);
        assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58"),
                         FK_TOOL_EXIT_FAIL);
        assert_err_has(h, "not blank");
        assert_unchanged(h, &s);
        assert_int_equal(RUN(h, NULL, "otp", "burn", "--dry-run"), FK_TOOL_EXIT_FAIL);
        assert_unchanged(h, &s);
        h_free(h);
    }
    /* An unreadable page 58 (locked): aborts too. */
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(58)] = FK_OTP_LOCK1_PAGE58;
    h_reset_bootsel(h);
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "permission failure");
    assert_unchanged(h, &s);
    h_free(h);
}

static void test_burn_random_failure(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    h->random_fails = true;
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "random source failed");
    assert_unchanged(h, &s);
    h_free(h);
}

static int always_n(void *arg, void *buf, size_t len)
{
    (void)arg;
    assert_int_equal(len, 32);
    memcpy(buf, k_n_secp256k1, 32);
    return 0;
}

static void test_devk_generator(void **state)
{
    (void)state;
    /* Scenario 15: never 0, never >= n. */
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    memset(h->script[0], 0x00, 32);
    memcpy(h->script[1], k_n_secp256k1, 32);
    memcpy(h->script[2], k_n_secp256k1, 32);
    h->script[2][31] = 0x42; /* n + 1 */
    memset(h->script[3], 0x00, 32);
    h->script[3][31] = 0x01; /* 1: the smallest valid scalar */
    h->n_script = 4;
    uint8_t d[32];
    unsigned draws = 0;
    assert_int_equal(fk_tool_draw_devk(h_random, h, d, &draws), 0);
    assert_int_equal(draws, 4);
    assert_memory_equal(d, h->script[3], 32);
    /* Many draws from the stream: every one in range. */
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(fk_tool_draw_devk(h_random, h, d, NULL), 0);
        assert_true(memcmp(d, k_n_secp256k1, 32) < 0);
        uint8_t acc = 0;
        for (int k = 0; k < 32; k++) acc |= d[k];
        assert_true(acc != 0);
    }
    /* A source that only ever gives n, and one that fails: refused. */
    assert_int_equal(fk_tool_draw_devk(always_n, NULL, d, &draws), -1);
    assert_true(draws > 1);
    h->random_fails = true;
    assert_int_equal(fk_tool_draw_devk(h_random, h, d, NULL), -1);
    h_free(h);
}

/* ---- otp get / otp set ------------------------------------------------------------ */

static void test_otp_get(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    assert_int_equal(RUN(h, NULL, "otp", "get", "-r", "0xf83"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "0xf83: 0x040404");
    assert_int_equal(RUN(h, NULL, "otp", "get", "-e", "0x000", "2"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "0x000: 0xa1c0");
    assert_out_has(h, "0x001: 0x5e21");
    /* Page 58 after the lock and a reset: a permission failure, non-zero exit. */
    h->chip.raw[0xE80] = fk_otp_ecc_encode(0xBEEF);
    h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(58)] = FK_OTP_LOCK1_PAGE58;
    assert_int_equal(RUN(h, NULL, "otp", "get", "-e", "0xe80"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "0xe80: 0xbeef"); /* the lock is not in effect before a reset */
    h_reset_bootsel(h);
    assert_int_equal(RUN(h, NULL, "otp", "get", "-e", "0xe80"), FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "permission failure");
    assert_null(strstr(h->out, "beef"));
    assert_int_equal(RUN(h, NULL, "otp", "get", "-r", "0xe7f", "2"), FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "row 0xe80");
    assert_int_equal(RUN(h, NULL, "otp", "get", "-r", "0x1000"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "otp", "get", "-r", "-e", "0x10"), FK_TOOL_EXIT_USAGE);
    h_free(h);
}

static void test_otp_set(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    snap_take(h, &s);
    /* Dry run and wrong tokens: nothing written. */
    assert_int_equal(RUN(h, NULL, "otp", "set", "-r", "0x48", "0x800", "--dry-run"),
                     FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp set -r 0x048 0x000800\n");
    assert_int_equal(RUN(h, "WRITE-OTP\n", "otp", "set", "-r", "0x48", "0x800"), FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "otp", "set", "-r", "0x48", "0x800", "--yes-i-understand",
                         "WRITE-OTP-ROWS"),
                     FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    /* One copy of BOOT_FLAGS0 only. */
    assert_int_equal(RUN(h, "WRITE-OTP-ROW\n", "otp", "set", "-r", "0x48", "0x800"),
                     FK_TOOL_EXIT_OK);
    assert_int_equal(h->chip.raw[0x48], 0x800);
    assert_int_equal(h->chip.raw[0x49], 0);
    assert_int_equal(h->chip.raw[0x4A], 0);
    /* A value lacking a bit the row holds: "Cannot clear bits", unless -s. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, "WRITE-OTP-ROW\n", "otp", "set", "-r", "0x48", "0x1"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "Cannot clear bits");
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, "WRITE-OTP-ROW\n", "otp", "set", "-r", "-s", "0x48", "0x1"),
                     FK_TOOL_EXIT_OK);
    assert_int_equal(h->chip.raw[0x48], 0x801);
    /* ECC rows: refused. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, "WRITE-OTP-ROW\n", "otp", "set", "-r", "0x80", "0x1"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "Cannot modify OTP ECC row");
    assert_int_equal(RUN(h, "WRITE-OTP-ROW\n", "otp", "set", "-r", "0xe91", "0x1"),
                     FK_TOOL_EXIT_FAIL);
    /* A row the bootloader may not write (page 0 is read-only). */
    assert_int_equal(RUN(h, "WRITE-OTP-ROW\n", "otp", "set", "-r", "0x20", "0x1"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "permission failure");
    assert_unchanged(h, &s);
    /* Raw only, and 24 bits. */
    assert_int_equal(RUN(h, NULL, "otp", "set", "0x48", "0x800"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "otp", "set", "-r", "0x48", "0x1000000"), FK_TOOL_EXIT_USAGE);
    h_free(h);
}

/* ---- Command line ---------------------------------------------------------------- */

static void test_usage(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "frobnicate"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "otp"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--frob"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--slot", "1"), FK_TOOL_EXIT_USAGE);
    assert_err_has(h, "does not apply");
    assert_int_equal(RUN(h, NULL, "otp", "burn", "extra"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", "x.json", "--slot", "4"),
                     FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "--stepping", "a4", "status"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "--dry-run", "--dry-run", "status"), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "--help"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "secure-boot load-key");
    assert_unchanged(h, &s);
    h_free(h);
}

static void test_real_board_without_otp(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    h->tool.chip = NULL; /* no --otp: a real board */
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--yes-i-understand", "BURN-OTP-PAGE58"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "only --dry-run is possible");
    assert_int_equal(RUN(h, NULL, "otp", "burn", "--dry-run"), FK_TOOL_EXIT_OK);
    for (size_t i = 0; i < sizeof(k_burn_lines) / sizeof(k_burn_lines[0]); i++) assert_out_has(h, k_burn_lines[i]);
    /* The lock is the firmware's, after the migration: never in the plan. */
    assert_null(strstr(h->out, "picotool otp set -r 0xff5"));
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp set OTP_DATA_CRIT1.SECURE_BOOT_ENABLE 1\n");
    assert_int_equal(RUN(h, NULL, "secure-boot", "harden"), FK_TOOL_EXIT_FAIL);
    h_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_fresh),
        cmocka_unit_test(test_state_boot_ladder),
        cmocka_unit_test(test_state_rollback),
        cmocka_unit_test(test_burn_dry_run),
        cmocka_unit_test(test_burn_wrong_tokens),
        cmocka_unit_test(test_yes_token_exact),
        cmocka_unit_test(test_burn_writes_keys_and_chaff),
        cmocka_unit_test(test_burn_preflight_any_row),
        cmocka_unit_test(test_burn_random_failure),
        cmocka_unit_test(test_devk_generator),
        cmocka_unit_test(test_otp_get),
        cmocka_unit_test(test_otp_set),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_real_board_without_otp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
