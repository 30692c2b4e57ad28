/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tool_secureboot.c - the staged secure-boot commands of the fusekey
 * tool against in-memory chips: each stage's preconditions, tokens, dry
 * runs and writes, and the hardening beyond the plain flow (fingerprint
 * before KEY_VALID, crit1 never taken from the json, enable only with a
 * clean valid slot, lock revoking exactly the slots not valid).
 * Spec scenarios 16, 19 and 20.
 */
#include "harness.h"

/* The spec's known answer: the fingerprint of the generator point. */
static const uint8_t k_fp_g[32] = {0x09, 0xc0, 0xb2, 0xd1, 0xa4, 0x86, 0xc4, 0x39,
                                   0xa8, 0x7b, 0xcb, 0xa6, 0xb4, 0x6a, 0x7a, 0x1a,
                                   0x23, 0xf3, 0x89, 0x7c, 0xc8, 0x3a, 0x94, 0x52,
                                   0x1a, 0x96, 0xda, 0x5c, 0x23, 0xbc, 0x58, 0xdb};

typedef struct json_file {
    char path[64];
} json_file_t;

/* An otp.json as seal writes it (with crit1 and boot_flags1 when full). */
static void make_json(json_file_t *f, const uint8_t fp[32], bool full)
{
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof text, "{\"bootkey0\": [");
    for (int i = 0; i < 32; i++) n += (size_t)snprintf(text + n, sizeof text - n, "%s%u", i ? ", " : "", fp[i]);
    (void)snprintf(text + n, sizeof text - n, "]%s}\n",
                   full ? ", \"crit1\": {\"secure_boot_enable\": 1}, "
                          "\"boot_flags1\": {\"key_valid\": 1}"
                        : "");
    h_write_file(f->path, sizeof f->path, text);
}

static void other_fp(uint8_t fp[32], uint8_t seed)
{
    for (int i = 0; i < 32; i++) fp[i] = (uint8_t)(seed + 7 * i);
}

/* Run a stage with its token; asserts success. */
static void stage(harness_t *h, const char *const *args)
{
    const int rc = h_run_argv(h, NULL, args);
    if (rc != FK_TOOL_EXIT_OK) {
        print_error("stage failed (%d):\n%s\n%s\n", rc, h->out, h->err);
        fail();
    }
}

#define STAGE(h, ...) stage((h), (const char *const[]){__VA_ARGS__, NULL})

static void load_key(harness_t *h, const uint8_t fp[32], const char *slot)
{
    json_file_t j;
    make_json(&j, fp, false);
    STAGE(h, "secure-boot", "load-key", j.path, "--slot", slot, "--yes-i-understand",
          "LOAD-BOOTKEY");
    unlink(j.path);
}

static void to_hardened(harness_t *h)
{
    load_key(h, k_fp_g, "0");
    STAGE(h, "secure-boot", "harden", "--yes-i-understand", "HARDEN-SECURE-BOOT");
}

static void to_enforcing(harness_t *h)
{
    to_hardened(h);
    STAGE(h, "secure-boot", "enable", "--yes-i-understand", "ENABLE-SECURE-BOOT");
}

static fk_tool_state_t state_of(harness_t *h)
{
    fk_tool_state_t st;
    assert_int_equal(fk_tool_read_state(&h->chip, FK_OTP_BOOTSEL, &st), FK_OTP_OK);
    return st;
}

/* The rows the chip programmed, in order (persistence hook). */
typedef struct order {
    uint16_t rows[256];
    unsigned n;
} order_t;

static int record_row(void *arg, uint16_t row, uint32_t value)
{
    order_t *o = arg;
    (void)value;
    if (o->n < 256) o->rows[o->n++] = row;
    return 0;
}

/* ---- load-key ------------------------------------------------------------------------ */

static void test_load_key(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    json_file_t j;
    make_json(&j, k_fp_g, true);
    order_t order = {0};
    h->chip.persist = record_row;
    h->chip.persist_arg = &order;

    assert_int_equal(RUN(h, "LOAD-BOOTKEY\n", "secure-boot", "load-key", j.path), FK_TOOL_EXIT_OK);
    /* The spec's raw rows of this fingerprint. */
    assert_int_equal(h->chip.raw[0x80], 0x05C009);
    assert_int_equal(h->chip.raw[0x81], 0x14D1B2);
    assert_int_equal(h->chip.raw[0x82], 0x1486A4);
    assert_int_equal(h->chip.raw[0x83], 0x1C39C4);
    for (unsigned i = 0; i < 3; i++) assert_int_equal(h->chip.raw[0x4B + i], 0x1);
    /* Scenario 19: the json's crit1 is not written. */
    for (unsigned i = 0; i < 8; i++) assert_int_equal(h->chip.raw[0x40 + i], 0);
    assert_out_has(h, "crit1 (secure_boot_enable) is ignored");
    assert_out_has(h, "   picotool otp set OTP_DATA_BOOT_FLAGS1.KEY_VALID 0x1\n");
    fk_tool_state_t st = state_of(h);
    assert_int_equal(st.boot, FK_BOOT_KEY_LOADED);
    assert_memory_equal(st.slot[0].fingerprint, k_fp_g, 32);
    /* The fingerprint rows before KEY_VALID. */
    unsigned last_key = 0, first_flag = 0;
    for (unsigned i = 0; i < order.n; i++) {
        if (order.rows[i] >= 0x80 && order.rows[i] < 0x90) last_key = i + 1;
        if (order.rows[i] >= 0x4B && order.rows[i] <= 0x4D && first_flag == 0) first_flag = i + 1;
    }
    assert_true(last_key > 0 && first_flag > last_key);
    unlink(j.path);
    h_free(h);
}

static void test_load_key_refusals(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    json_file_t j, k;
    make_json(&j, k_fp_g, false);
    uint8_t fp2[32];
    other_fp(fp2, 3);
    make_json(&k, fp2, false);
    snap_t s;

    /* Dry run and wrong tokens (scenario 16): nothing written. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", j.path, "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp load bootkey0.json\n");
    assert_out_has(h, "{\"bootkey0\":[9,192,178,");
    assert_int_equal(RUN(h, "LOAD-BOOTKEYS\n", "secure-boot", "load-key", j.path),
                     FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", j.path, "--yes-i-understand",
                         "ENABLE-SECURE-BOOT"),
                     FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);

    /* Scenario 19: into a valid slot, refused. */
    load_key(h, k_fp_g, "0");
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", k.path, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "already holds a valid key");
    /* The same key into another slot: refused. */
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", j.path, "--slot", "1",
                         "--yes-i-understand", "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "already in slot 0");
    /* A present slot with another fingerprint (no KEY_VALID): refused. */
    h->chip.raw[FK_OTP_ROW_BOOTKEY(2)] = fk_otp_ecc_encode(0x7777);
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", k.path, "--slot", "2",
                         "--yes-i-understand", "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "not empty");
    /* A revoked slot: refused. */
    for (unsigned i = 0; i < 3; i++) h->chip.raw[0x4B + i] |= 1u << (8 + 3);
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", k.path, "--slot", "3",
                         "--yes-i-understand", "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "revoked");
    assert_unchanged(h, &s);
    /* A json without bootkey0, or broken: refused. */
    json_file_t bad;
    h_write_file(bad.path, sizeof bad.path, "{\"bootkey1\": [1, 2]}");
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", bad.path, "--slot", "1",
                         "--yes-i-understand", "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "no bootkey0");
    unlink(bad.path);
    h_write_file(bad.path, sizeof bad.path, "{\"bootkey0\": [1, 2, 3]}");
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", bad.path, "--slot", "1",
                         "--yes-i-understand", "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    unlink(bad.path);
    assert_unchanged(h, &s);
    /* Pages 1 and 2 bootloader-locked: refused. */
    h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(2)] = FK_OTP_LOCK1_BOOT_PAGES;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", k.path, "--slot", "1",
                         "--yes-i-understand", "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "locked against the bootloader");
    assert_unchanged(h, &s);
    unlink(j.path);
    unlink(k.path);
    h_free(h);
}

static void test_load_key_resume_and_torn_flags(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    /* An interrupted load-key: the rows are there, KEY_VALID is not. */
    for (unsigned i = 0; i < 16; i++) {
        h->chip.raw[0x80 + i] = fk_otp_ecc_encode((uint16_t)(k_fp_g[2 * i] | k_fp_g[2 * i + 1] << 8));
    }
    load_key(h, k_fp_g, "0");
    assert_out_has(h, "finishing it");
    assert_int_equal(state_of(h).boot, FK_BOOT_KEY_LOADED);

    /* BOOT_FLAGS1 copy 0 carries a bit the vote lacks: merging it as picotool does would set
     * it everywhere, so the stage is refused before anything is written. */
    harness_t *g = h_new(FK_OTP_STEPPING_A2);
    g->chip.raw[0x4B] = 1u << 1; /* a stray KEY_VALID bit for slot 1 in one copy */
    json_file_t j;
    make_json(&j, k_fp_g, false);
    snap_t s;
    snap_take(g, &s);
    assert_int_equal(RUN(g, NULL, "secure-boot", "load-key", j.path, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_OK);
    /* KEY_VALID is a field of its own: its stray bit stays in copy 0 only. */
    assert_int_equal(g->chip.raw[0x4B], 0x3);
    assert_int_equal(g->chip.raw[0x4C], 0x1);
    assert_int_equal(state_of(g).valid_slots, 0x1);
    /* A stray bit outside the field (DOUBLE_TAP, bit 19) would be carried: refused. */
    harness_t *f = h_new(FK_OTP_STEPPING_A2);
    f->chip.raw[0x4B] = 1u << 19;
    snap_take(f, &s);
    assert_int_equal(RUN(f, NULL, "secure-boot", "load-key", j.path, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(f, "torn write");
    assert_unchanged(f, &s);
    unlink(j.path);
    h_free(f);
    h_free(g);
    h_free(h);
}

/* ---- harden / enable ---------------------------------------------------------------------- */

static void test_harden(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "harden", "--yes-i-understand",
                         "HARDEN-SECURE-BOOT"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "load-key` comes first");
    assert_unchanged(h, &s);
    load_key(h, k_fp_g, "0");
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "harden", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp set OTP_DATA_CRIT1.DEBUG_DISABLE 1\n");
    assert_out_has(h, "   picotool otp set OTP_DATA_CRIT1.GLITCH_DETECTOR_ENABLE 1\n");
    assert_out_has(h, "   picotool otp set OTP_DATA_CRIT1.GLITCH_DETECTOR_SENS 3\n");
    assert_int_equal(RUN(h, "HARDEN\n", "secure-boot", "harden"), FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, "HARDEN-SECURE-BOOT\n", "secure-boot", "harden"), FK_TOOL_EXIT_OK);
    for (unsigned i = 0; i < 8; i++) assert_int_equal(h->chip.raw[0x40 + i], 0x74);
    assert_int_equal(state_of(h).boot, FK_BOOT_HARDENED);
    assert_int_equal(RUN(h, NULL, "secure-boot", "harden"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "already hardened");
    h_free(h);
}

static void test_enable(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    /* Scenario 20: enable with no key, refused. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable", "--yes-i-understand",
                         "ENABLE-SECURE-BOOT"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "load-key` comes first");
    assert_unchanged(h, &s);
    /* A key but not hardened: the order is refused. */
    load_key(h, k_fp_g, "0");
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable", "--yes-i-understand",
                         "ENABLE-SECURE-BOOT"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "harden` comes first");
    assert_unchanged(h, &s);
    STAGE(h, "secure-boot", "harden", "--yes-i-understand", "HARDEN-SECURE-BOOT");
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp set OTP_DATA_CRIT1.SECURE_BOOT_ENABLE 1\n");
    assert_int_equal(RUN(h, "ENABLE-SECURE-BOOT.\n", "secure-boot", "enable"), FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, "ENABLE-SECURE-BOOT\n", "secure-boot", "enable"), FK_TOOL_EXIT_OK);
    for (unsigned i = 0; i < 8; i++) assert_int_equal(h->chip.raw[0x40 + i], 0x75);
    assert_int_equal(state_of(h).boot, FK_BOOT_ENFORCING);
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "already enabled");
    h_free(h);
}

static void test_enable_needs_clean_slot(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    to_hardened(h);
    /* A second valid slot whose fingerprint row is uncorrectable: the bootrom would fault. */
    const uint32_t good = fk_otp_ecc_encode(0x1234);
    h->chip.raw[FK_OTP_ROW_BOOTKEY(1)] = good;
    h->chip.raw[FK_OTP_ROW_BOOTKEY(1) + 1] = good ^ 0x3; /* two bits wrong */
    for (unsigned i = 0; i < 3; i++) h->chip.raw[0x4B + i] |= 1u << 1;
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable", "--yes-i-understand",
                         "ENABLE-SECURE-BOOT"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "uncorrectable");
    assert_unchanged(h, &s);
    h_free(h);
}

/* ---- lock / revoke / rotate ------------------------------------------------------------------- */

static void test_lock(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    snap_t s;
    /* Not enabled: refused. */
    load_key(h, k_fp_g, "1");
    STAGE(h, "secure-boot", "harden", "--yes-i-understand", "HARDEN-SECURE-BOOT");
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "lock", "--yes-i-understand",
                         "LOCK-SECURE-BOOT"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "enable` comes first");
    assert_unchanged(h, &s);
    STAGE(h, "secure-boot", "enable", "--yes-i-understand", "ENABLE-SECURE-BOOT");
    /* The live key is in slot 1: KEY_INVALID = 0xD, never the fixed 0xE. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "lock", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp set OTP_DATA_BOOT_FLAGS1.KEY_INVALID 0xd\n");
    assert_out_has(h, "   picotool otp set -r OTP_DATA_PAGE1_LOCK1 0x141414\n");
    assert_out_has(h, "   picotool otp set -r OTP_DATA_PAGE2_LOCK1 0x141414\n");
    assert_int_equal(RUN(h, "LOCK\n", "secure-boot", "lock"), FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, "LOCK-SECURE-BOOT\n", "secure-boot", "lock"), FK_TOOL_EXIT_OK);
    fk_tool_state_t st = state_of(h);
    assert_int_equal((st.boot_flags1 >> 8) & 0xF, 0xD);
    assert_int_equal(st.valid_slots, 0x2);
    assert_int_equal(st.boot, FK_BOOT_LOCKED);
    assert_int_equal(h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(1)], 0x141414);
    assert_int_equal(h->chip.raw[FK_OTP_ROW_PAGE_LOCK1(2)], 0x141414);
    assert_int_equal(RUN(h, NULL, "secure-boot", "lock"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "already locked");
    /* After a reset the pages are bootloader-read-only: no more key changes. */
    h_reset_bootsel(h);
    snap_take(h, &s);
    uint8_t fp2[32];
    other_fp(fp2, 9);
    json_file_t j;
    make_json(&j, fp2, false);
    assert_int_equal(RUN(h, NULL, "secure-boot", "rotate", j.path, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "secure-boot", "revoke", "0", "--yes-i-understand",
                         "REVOKE-BOOTKEY"),
                     FK_TOOL_EXIT_OK); /* slot 0 was revoked by the lock already */
    assert_out_has(h, "already revoked");
    assert_unchanged(h, &s);
    /* Still readable from BOOTSEL. */
    assert_int_equal(RUN(h, NULL, "secure-boot", "status"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "boot: LOCKED");
    unlink(j.path);
    h_free(h);
}

static void test_revoke_and_rotate(void **state)
{
    (void)state;
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    to_enforcing(h);
    snap_t s;
    snap_take(h, &s);
    /* Scenario 20: revoking the last valid slot is refused. */
    assert_int_equal(RUN(h, NULL, "secure-boot", "revoke", "0", "--yes-i-understand",
                         "REVOKE-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "no valid key");
    assert_unchanged(h, &s);
    /* Rotate: a new key into the first free slot. */
    uint8_t fp2[32];
    other_fp(fp2, 5);
    json_file_t j, same;
    make_json(&j, fp2, true);
    make_json(&same, k_fp_g, false);
    assert_int_equal(RUN(h, NULL, "secure-boot", "rotate", same.path, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, "LOAD-BOOTKEY\n", "secure-boot", "rotate", j.path), FK_TOOL_EXIT_OK);
    fk_tool_state_t st = state_of(h);
    assert_int_equal(st.valid_slots, 0x3);
    assert_memory_equal(st.slot[1].fingerprint, fp2, 32);
    assert_out_has(h, "revoke OLD_SLOT");
    /* Now the old key may go; wrong token first. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, "REVOKE\n", "secure-boot", "revoke", "0"), FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "revoke", "0", "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "   picotool otp set OTP_DATA_BOOT_FLAGS1.KEY_INVALID 0x1\n");
    assert_unchanged(h, &s);
    assert_int_equal(RUN(h, "REVOKE-BOOTKEY\n", "secure-boot", "revoke", "0"), FK_TOOL_EXIT_OK);
    st = state_of(h);
    assert_int_equal(st.valid_slots, 0x2);
    assert_true(st.slot[0].revoked);
    /* And slot 1 is now the last one. */
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "secure-boot", "revoke", "1", "--yes-i-understand",
                         "REVOKE-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_unchanged(h, &s);
    /* Rotate without any valid key to rotate from: refused. */
    harness_t *g = h_new(FK_OTP_STEPPING_A2);
    snap_take(g, &s);
    assert_int_equal(RUN(g, NULL, "secure-boot", "rotate", j.path, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(g, "no valid key to rotate from");
    assert_unchanged(g, &s);
    unlink(j.path);
    unlink(same.path);
    h_free(g);
    h_free(h);
}

/* ---- the json reader ------------------------------------------------------------------------------ */

static void test_json(void **state)
{
    (void)state;
    uint8_t fp[32];
    bool c = false, f = false;
    char err[128];
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof text, "{ \"boot_flags1\": {\"key_valid\": 1}, \"x\": [true, null, -1.5e3, \"a\\\"b\"], \"bootkey0\": [");
    for (int i = 0; i < 32; i++) n += (size_t)snprintf(text + n, sizeof text - n, "%s%d", i ? "," : "", 255 - i);
    (void)snprintf(text + n, sizeof text - n, "] }");
    assert_int_equal(fk_tool_json_bootkey(text, strlen(text), fp, &c, &f, err, sizeof err), 0);
    assert_false(c);
    assert_true(f);
    assert_int_equal(fp[0], 255);
    assert_int_equal(fp[31], 224);
    static const char *const bad[] = {
        "", "[]", "{", "{\"bootkey0\": [1]}", "{\"bootkey0\": 5}",
        "{\"bootkey0\": [256,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}",
        "{\"bootkey0\": [1.5,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}",
        "{\"a\": 01}", "{\"a\": [1,]}", "{\"a\": \"\x01\"}", "{} x",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(fk_tool_json_bootkey(bad[i], strlen(bad[i]), fp, &c, &f, err, sizeof err),
                         -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_key),
        cmocka_unit_test(test_load_key_refusals),
        cmocka_unit_test(test_load_key_resume_and_torn_flags),
        cmocka_unit_test(test_harden),
        cmocka_unit_test(test_enable),
        cmocka_unit_test(test_enable_needs_clean_slot),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_revoke_and_rotate),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
