/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_otp_logical.c - the logical OTP interface (otp/otp_logical.h).
 *
 * One test sequence - provision the keys, read them back, lock them, load
 * boot-key digests, disable debug, enable secure boot, revoke, lock the
 * boot configuration, read the rollback state - runs unchanged against the
 * RP2350 and the ESP32-S3 implementation, asserting where the chips differ
 * through what fk_lotp_caps() reports. Then the RP2350 mapping is checked
 * row by row against otp/otp_map.h (the ESP32-S3 mapping is checked bit by
 * bit in test_esp32s3_efuse.c), over the OTP model's row access and over a
 * row access that fails or loses chosen writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otp_logical.h"
#include "otp_model.h"

#define DIGEST_A 0xA1u
#define DIGEST_B 0xB2u
#define DIGEST_C 0xC3u
#define DIGEST_D 0xD4u
#define THERMO_BITS_0_AND_2 0x000005u /* thermometer bits 0 and 2: floor 3 */
#define LOCK1_OTHER 0x3D3D3Du         /* a lock value the product never writes */
#define ROW_ALL_ONES 0xFFFFFFu
#define BOOT_FLAGS1_DOUBLE_TAP (1u << 19)

typedef struct {
    fk_otp_t otp;
    fk_otp_accessor_t secure; /* the access behind lotp on the RP2350 */
    unsigned programmed;      /* RP2350 rows programmed (changed) since setup */
    fk_efuse_t efuse;
    fk_lotp_t lotp;
} fixture_t;

static fixture_t g_fx;

static const uint8_t k_chipid[8] = {0x46, 0x4B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t k_randid[16] = {0x52, 0x41, 0x4E, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* The order of secp256k1 (big-endian): the smallest DEVK that is refused. */
static const uint8_t k_order[FK_LOTP_KEY_BYTES] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
};

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(seed + 7u * i + 1u);
}

static void make_keys(uint8_t mkek[FK_LOTP_KEY_BYTES], uint8_t devk[FK_LOTP_KEY_BYTES])
{
    fill(mkek, FK_LOTP_KEY_BYTES, 0x10);
    fill(devk, FK_LOTP_KEY_BYTES, 0x20); /* top byte 0x21 < 0xFF: a valid scalar */
}

static void make_digest(uint8_t d[FK_LOTP_DIGEST_BYTES], uint8_t seed)
{
    fill(d, FK_LOTP_DIGEST_BYTES, seed);
}

/* The model's persistence hook: counts the rows programmed. */
static int count_programmed(void *arg, uint16_t row, uint32_t value)
{
    (void)row;
    (void)value;
    (*(unsigned *)arg)++;
    return 0;
}

/* A factory-fresh RP2350 (A2), driven as secure firmware. */
static int setup_rp2350(void **state)
{
    memset(&g_fx, 0, sizeof(g_fx));
    fk_otp_init(&g_fx.otp, FK_OTP_STEPPING_A2);
    assert_int_equal(fk_otp_factory(&g_fx.otp, k_chipid, k_randid), FK_OTP_OK);
    g_fx.otp.persist = count_programmed;
    g_fx.otp.persist_arg = &g_fx.programmed;
    fk_otp_rows_t rows;
    assert_int_equal(fk_otp_rows_of(&rows, &g_fx.secure, &g_fx.otp, FK_OTP_SECURE), FK_OTP_OK);
    assert_int_equal(fk_lotp_init_rp2350(&g_fx.lotp, &rows), FK_LOTP_OK);
    *state = &g_fx;
    return 0;
}

/* A blank ESP32-S3. */
static int setup_esp32s3(void **state)
{
    memset(&g_fx, 0, sizeof(g_fx));
    fk_efuse_init(&g_fx.efuse);
    assert_int_equal(fk_lotp_init_esp32s3(&g_fx.lotp, &g_fx.efuse), FK_LOTP_OK);
    *state = &g_fx;
    return 0;
}

/* ---- The same sequence on both chips ----------------------------------------- */

static void test_caps(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_caps_t caps;
    fk_lotp_caps(&fx->lotp, &caps);
    assert_int_equal(caps.chip, fx->lotp.chip);
    if (caps.chip == FK_LOTP_CHIP_RP2350) {
        assert_int_equal(caps.bootkey_slots, 4);
        assert_int_equal(caps.rollback_capacity, 48);
        assert_true(caps.key_chaff && caps.key_read_lock && caps.key_lock_at_reset);
        assert_true(caps.rollback_required_flag && caps.glitch_detector);
    } else {
        assert_int_equal(caps.chip, FK_LOTP_CHIP_ESP32S3);
        assert_int_equal(caps.bootkey_slots, 3);
        assert_int_equal(caps.rollback_capacity, 16);
        assert_false(caps.key_chaff || caps.key_read_lock || caps.key_lock_at_reset);
        assert_false(caps.rollback_required_flag || caps.glitch_detector);
    }
}

/* An RP2350 handle over the fixture's model as `who`; *acc holds the access. */
static void rp_handle(fixture_t *fx, fk_lotp_t *l, fk_otp_accessor_t *acc, fk_otp_principal_t who)
{
    fk_otp_rows_t rows;
    assert_int_equal(fk_otp_rows_of(&rows, acc, &fx->otp, who), FK_OTP_OK);
    assert_int_equal(fk_lotp_init_rp2350(l, &rows), FK_LOTP_OK);
}

static void test_init_refuses_alias_principal(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_t other;
    fk_otp_accessor_t acc;
    fk_otp_rows_t rows;
    /* Non-secure code has only the aliases, no otp_access. */
    assert_int_equal(fk_otp_rows_of(&rows, &acc, &fx->otp, FK_OTP_NONSECURE), FK_OTP_EINVALID_ARG);
    assert_int_equal(fk_otp_rows_of(&rows, &acc, NULL, FK_OTP_SECURE), FK_OTP_EINVALID_ARG);
    assert_int_equal(fk_lotp_init_rp2350(&other, NULL), FK_LOTP_EARG);
    /* A row access without every operation is refused. */
    assert_int_equal(fk_otp_rows_of(&rows, &acc, &fx->otp, FK_OTP_SECURE), FK_OTP_OK);
    fk_otp_rows_ops_t partial = *rows.ops;
    partial.read_soft_lock = NULL;
    rows.ops = &partial;
    assert_int_equal(fk_lotp_init_rp2350(&other, &rows), FK_LOTP_EARG);
    rows.ops = NULL;
    assert_int_equal(fk_lotp_init_rp2350(&other, &rows), FK_LOTP_EARG);
    assert_int_equal(fk_lotp_init_esp32s3(&other, NULL), FK_LOTP_EARG);
}

static void expect_key(fk_lotp_t *l, fk_lotp_key_t which, const uint8_t *want)
{
    uint8_t got[FK_LOTP_KEY_BYTES];
    fk_lotp_key_state_t st = FK_LOTP_KEY_UNREADABLE;
    assert_int_equal(fk_lotp_key_read(l, which, got, &st), FK_LOTP_OK);
    if (want == NULL) {
        assert_int_equal(st, FK_LOTP_KEY_ABSENT);
    } else {
        assert_int_equal(st, FK_LOTP_KEY_PRESENT);
        assert_memory_equal(got, want, FK_LOTP_KEY_BYTES);
    }
}

static void test_keys_refused_values_change_nothing(void **state)
{
    fixture_t *fx = *state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t zero[FK_LOTP_KEY_BYTES] = {0};
    make_keys(mkek, devk);

    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, zero), FK_LOTP_EARG);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, k_order), FK_LOTP_EARG);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, zero, devk), FK_LOTP_EARG);
    expect_key(&fx->lotp, FK_LOTP_MKEK, NULL);
    expect_key(&fx->lotp, FK_LOTP_DEVK, NULL);

    /* n - 1 is the largest valid scalar. */
    memcpy(devk, k_order, sizeof(devk));
    devk[FK_LOTP_KEY_BYTES - 1]--;
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_OK);
    expect_key(&fx->lotp, FK_LOTP_DEVK, devk);
}

static void test_logical_sequence(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_t *l = &fx->lotp;
    fk_lotp_caps_t caps;
    fk_lotp_keys_lock_t kl;
    fk_lotp_boot_t boot;
    fk_lotp_debug_t dbg;
    fk_lotp_rollback_t rb;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t other[FK_LOTP_KEY_BYTES];
    uint8_t da[FK_LOTP_DIGEST_BYTES];
    uint8_t db[FK_LOTP_DIGEST_BYTES];
    unsigned slot = 99;
    fk_lotp_caps(l, &caps);
    make_keys(mkek, devk);
    make_digest(da, DIGEST_A);
    make_digest(db, DIGEST_B);

    /* A blank chip: no keys, no boot keys, nothing can be enabled yet. */
    expect_key(l, FK_LOTP_MKEK, NULL);
    expect_key(l, FK_LOTP_DEVK, NULL);
    assert_int_equal(fk_lotp_boot_state(l, &boot), FK_LOTP_OK);
    assert_false(boot.secure_boot);
    assert_false(boot.locked);
    assert_int_equal(boot.slot_count, caps.bootkey_slots);
    for (unsigned s = 0; s < boot.slot_count; s++) assert_false(boot.slot[s].present);
    assert_int_equal(fk_lotp_secure_boot_enable(l), FK_LOTP_ESTATE);
    assert_int_equal(fk_lotp_secure_boot_lock(l), FK_LOTP_ESTATE);
    assert_int_equal(fk_lotp_debug_disable(l), FK_LOTP_ESTATE);
    assert_int_equal(fk_lotp_bootkey_revoke(l, 0), FK_LOTP_ESTATE);
    assert_int_equal(fk_lotp_keys_lock(l),
                     caps.key_read_lock ? FK_LOTP_ESTATE : FK_LOTP_EUNSUPPORTED);
    assert_int_equal(fk_lotp_rollback_require(l),
                     caps.rollback_required_flag ? FK_LOTP_ESTATE : FK_LOTP_EUNSUPPORTED);

    /* Keys: written once, read back, a second provisioning refused. */
    assert_int_equal(fk_lotp_keys_provision(l, mkek, devk), FK_LOTP_OK);
    expect_key(l, FK_LOTP_MKEK, mkek);
    expect_key(l, FK_LOTP_DEVK, devk);
    fill(other, sizeof(other), 0x55);
    assert_int_equal(fk_lotp_keys_provision(l, other, devk), FK_LOTP_ESTATE);
    expect_key(l, FK_LOTP_MKEK, mkek);

    /* Protection of the keys: the chips differ here. */
    assert_int_equal(fk_lotp_keys_lock_state(l, &kl), FK_LOTP_OK);
    assert_false(kl.read_locked);
    assert_int_equal(kl.value, FK_LOTP_LOCK_NONE);
    assert_int_equal(kl.write_locked, !caps.key_read_lock); /* ESP32-S3: WR_DIS at provisioning */
    assert_int_equal(fk_lotp_keys_lock(l), caps.key_read_lock ? FK_LOTP_OK : FK_LOTP_EUNSUPPORTED);
    assert_int_equal(fk_lotp_keys_lock(l), caps.key_read_lock ? FK_LOTP_OK : FK_LOTP_EUNSUPPORTED);
    assert_int_equal(fk_lotp_keys_lock_state(l, &kl), FK_LOTP_OK);
    assert_int_equal(kl.read_locked, caps.key_read_lock);
    assert_true(kl.write_locked);
    assert_int_equal(kl.pending_reset, caps.key_lock_at_reset);
    assert_int_equal(kl.value, caps.key_read_lock ? FK_LOTP_LOCK_OURS : FK_LOTP_LOCK_NONE);
    expect_key(l, FK_LOTP_MKEK, mkek); /* the firmware itself still reads them */

    /* Boot keys. */
    assert_int_equal(fk_lotp_bootkey_load(l, FK_LOTP_SLOT_ANY, da, &slot), FK_LOTP_OK);
    assert_int_equal(slot, 0);
    assert_int_equal(fk_lotp_bootkey_load(l, 0, db, NULL), FK_LOTP_ESTATE);
    assert_int_equal(fk_lotp_bootkey_load(l, caps.bootkey_slots, db, NULL), FK_LOTP_EARG);
    assert_int_equal(fk_lotp_bootkey_load(l, FK_LOTP_SLOT_ANY, db, &slot), FK_LOTP_OK);
    assert_int_equal(slot, 1);
    assert_int_equal(fk_lotp_boot_state(l, &boot), FK_LOTP_OK);
    for (unsigned s = 0; s < 2; s++) {
        assert_true(boot.slot[s].present && boot.slot[s].valid);
        assert_false(boot.slot[s].revoked);
        assert_int_not_equal(boot.slot[s].where, 0);
    }
    assert_int_not_equal(boot.slot[0].where, boot.slot[1].where);
    assert_false(boot.slot[2].present);
    assert_false(boot.secure_boot);

    /* Debug off for good, then secure boot on (idempotent). */
    assert_int_equal(fk_lotp_debug(l, &dbg), FK_LOTP_OK);
    assert_false(dbg.disabled || dbg.partly || dbg.glitch_detector);
    assert_int_equal(fk_lotp_debug_disable(l), FK_LOTP_OK);
    assert_int_equal(fk_lotp_debug(l, &dbg), FK_LOTP_OK);
    assert_true(dbg.disabled && dbg.partly);
    assert_int_equal(dbg.glitch_detector, caps.glitch_detector);
    assert_int_equal(fk_lotp_debug_disable(l), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(l), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(l), FK_LOTP_OK);
    assert_int_equal(fk_lotp_boot_state(l, &boot), FK_LOTP_OK);
    assert_true(boot.secure_boot);
    assert_false(boot.locked);

    /* Revoke: slot 1 goes, the last valid key cannot. */
    assert_int_equal(fk_lotp_bootkey_revoke(l, caps.bootkey_slots), FK_LOTP_EARG);
    assert_int_equal(fk_lotp_bootkey_revoke(l, 1), FK_LOTP_OK);
    assert_int_equal(fk_lotp_bootkey_revoke(l, 0), FK_LOTP_ESTATE);
    assert_int_equal(fk_lotp_bootkey_revoke(l, 1), FK_LOTP_OK); /* already: no-op */
    assert_int_equal(fk_lotp_boot_state(l, &boot), FK_LOTP_OK);
    assert_true(boot.slot[0].valid);
    assert_true(boot.slot[1].present && boot.slot[1].revoked);
    assert_false(boot.slot[1].valid);

    /* Lock: every slot but the live one revoked; nothing can be loaded. */
    assert_int_equal(fk_lotp_secure_boot_lock(l), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_lock(l), FK_LOTP_OK);
    assert_int_equal(fk_lotp_boot_state(l, &boot), FK_LOTP_OK);
    assert_true(boot.secure_boot && boot.locked);
    assert_true(boot.slot[0].valid && !boot.slot[0].revoked);
    for (unsigned s = 1; s < boot.slot_count; s++) {
        assert_true(boot.slot[s].revoked);
        assert_false(boot.slot[s].valid);
    }
    assert_int_equal(fk_lotp_bootkey_load(l, FK_LOTP_SLOT_ANY, db, NULL), FK_LOTP_EFULL);
    assert_int_equal(fk_lotp_bootkey_revoke(l, 0), FK_LOTP_ESTATE);

    /* Rollback: untouched so far. */
    assert_int_equal(fk_lotp_rollback(l, &rb), FK_LOTP_OK);
    assert_true(rb.supported);
    assert_false(rb.required);
    assert_int_equal(rb.floor, 0);
    assert_int_equal(rb.capacity, caps.rollback_capacity);
    /* With secure boot on, versionless images can be refused where the chip
     * has the fuse for it; twice is once. */
    const int want = caps.rollback_required_flag ? FK_LOTP_OK : FK_LOTP_EUNSUPPORTED;
    assert_int_equal(fk_lotp_rollback_require(l), want);
    assert_int_equal(fk_lotp_rollback_require(l), want);
    assert_int_equal(fk_lotp_rollback(l, &rb), FK_LOTP_OK);
    assert_int_equal(rb.required, caps.rollback_required_flag);

    /* The keys survived all of it. */
    expect_key(l, FK_LOTP_MKEK, mkek);
    expect_key(l, FK_LOTP_DEVK, devk);
}

static void test_all_slots_then_full(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_caps_t caps;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    unsigned slot = 99;
    fk_lotp_caps(&fx->lotp, &caps);
    make_keys(mkek, devk);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_OK);
    for (unsigned s = 0; s < caps.bootkey_slots; s++) {
        make_digest(d, (uint8_t)(DIGEST_C + s));
        assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, FK_LOTP_SLOT_ANY, d, &slot), FK_LOTP_OK);
        assert_int_equal(slot, s);
    }
    make_digest(d, DIGEST_D);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, FK_LOTP_SLOT_ANY, d, NULL), FK_LOTP_EFULL);
}

static void test_explicit_slot(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_boot_t boot;
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    make_digest(d, DIGEST_C);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, 2, d, NULL), FK_LOTP_OK);
    assert_int_equal(fk_lotp_boot_state(&fx->lotp, &boot), FK_LOTP_OK);
    assert_false(boot.slot[0].present || boot.slot[1].present);
    assert_true(boot.slot[2].present && boot.slot[2].valid);
    /* A revoked, never-loaded slot is not free. */
    assert_int_equal(fk_lotp_bootkey_revoke(&fx->lotp, 0), FK_LOTP_OK);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, 0, d, NULL), FK_LOTP_ESTATE);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(fk_lotp_strerror(FK_LOTP_EUNSUPPORTED), "not supported by this chip");
    assert_string_equal(fk_lotp_strerror(FK_LOTP_ESTATE), "refused in this state");
    assert_string_equal(fk_lotp_strerror(12345), "unknown error");
}

/* ---- RP2350: the rows behind the interface ----------------------------------- */

static uint32_t raw(const fixture_t *fx, unsigned row) { return fx->otp.raw[row]; }

static void test_rp_key_rows_and_chaff(void **state)
{
    fixture_t *fx = *state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    make_keys(mkek, devk);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_OK);
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++) {
        uint16_t d = 0;
        assert_int_equal(fk_otp_ecc_decode(raw(fx, FK_OTP_ROW_DEVK + i), &d), FK_OTP_ECC_OK);
        assert_int_equal(d, devk[2 * i] | (devk[2 * i + 1] << 8));
        assert_int_equal(fk_otp_ecc_decode(raw(fx, FK_OTP_ROW_MKEK + i), &d), FK_OTP_ECC_OK);
        assert_int_equal(d, mkek[2 * i] | (mkek[2 * i + 1] << 8));
        /* Chaff: the raw complement of the read-back row, 32 rows later. */
        assert_int_equal(raw(fx, FK_OTP_ROW_DEVK_CHAFF + i),
                         ~raw(fx, FK_OTP_ROW_DEVK + i) & ROW_ALL_ONES);
        assert_int_equal(raw(fx, FK_OTP_ROW_MKEK_CHAFF + i),
                         ~raw(fx, FK_OTP_ROW_MKEK + i) & ROW_ALL_ONES);
        /* ...which decodes to the key itself. */
        assert_int_equal(fk_otp_ecc_decode(raw(fx, FK_OTP_ROW_MKEK_CHAFF + i), &d), FK_OTP_ECC_OK);
        assert_int_equal(d, mkek[2 * i] | (mkek[2 * i + 1] << 8));
    }
    assert_int_equal(raw(fx, FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS)), 0); /* lock is separate */
}

static void test_rp_provision_preflight(void **state)
{
    fixture_t *fx = *state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint32_t one = 1;
    make_keys(mkek, devk);
    /* One stray bit in the last chaff row: nothing at all is written. */
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK_CHAFF + 15, &one, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_ESTATE);
    for (unsigned r = FK_OTP_ROW_DEVK; r < FK_OTP_ROW_MKEK_CHAFF + 15; r++)
        assert_int_equal(raw(fx, r), 0);
}

static void test_rp_provision_bootsel_then_lock(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_t bootsel;
    fk_lotp_t secure;
    fk_otp_accessor_t acc_bootsel;
    fk_otp_accessor_t acc_secure;
    fk_lotp_keys_lock_t kl;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint8_t got[FK_LOTP_KEY_BYTES];
    fk_lotp_key_state_t st = FK_LOTP_KEY_ABSENT;
    const unsigned lock_row = FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    make_keys(mkek, devk);

    /* `otp burn` runs from BOOTSEL. */
    fk_otp_enter_bootsel(&fx->otp);
    rp_handle(fx, &bootsel, &acc_bootsel, FK_OTP_BOOTSEL);
    assert_int_equal(fk_lotp_keys_provision(&bootsel, mkek, devk), FK_LOTP_OK);
    expect_key(&bootsel, FK_LOTP_MKEK, mkek);
    /* A2 (E15): the bootloader cannot write PAGE58_LOCK1. */
    assert_int_equal(fk_lotp_keys_lock(&bootsel), FK_LOTP_EPERM);
    assert_int_equal(raw(fx, lock_row), 0);

    /* The firmware can; the lock counts from the next reset on. */
    fk_otp_reset(&fx->otp);
    rp_handle(fx, &secure, &acc_secure, FK_OTP_SECURE);
    assert_int_equal(fk_lotp_keys_lock(&secure), FK_LOTP_OK);
    assert_int_equal(raw(fx, lock_row), FK_OTP_LOCK1_PAGE58);
    assert_int_equal(fk_lotp_keys_lock_state(&secure, &kl), FK_LOTP_OK);
    assert_true(kl.read_locked && kl.pending_reset);
    expect_key(&secure, FK_LOTP_MKEK, mkek);

    fk_otp_reset(&fx->otp);
    assert_int_equal(fk_lotp_keys_lock_state(&secure, &kl), FK_LOTP_OK);
    assert_true(kl.read_locked && kl.write_locked);
    assert_false(kl.pending_reset);
    expect_key(&secure, FK_LOTP_DEVK, devk);
    fk_otp_enter_bootsel(&fx->otp);
    assert_int_equal(fk_lotp_key_read(&bootsel, FK_LOTP_MKEK, got, &st), FK_LOTP_EPERM);
    assert_int_equal(st, FK_LOTP_KEY_UNREADABLE);
    for (size_t i = 0; i < sizeof(got); i++) assert_int_equal(got[i], 0);
    assert_int_equal(fk_lotp_keys_provision(&bootsel, mkek, devk), FK_LOTP_EPERM);
}

static void test_rp_keys_lock_a3_bootsel(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_t bootsel;
    fk_otp_accessor_t acc_bootsel;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    make_keys(mkek, devk);
    fx->otp.stepping = FK_OTP_STEPPING_A3;
    fk_otp_enter_bootsel(&fx->otp);
    rp_handle(fx, &bootsel, &acc_bootsel, FK_OTP_BOOTSEL);
    assert_int_equal(fk_lotp_keys_provision(&bootsel, mkek, devk), FK_LOTP_OK);
    assert_int_equal(fk_lotp_keys_lock(&bootsel), FK_LOTP_OK);
    assert_int_equal(raw(fx, FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS)), FK_OTP_LOCK1_PAGE58);
}

static void test_rp_keys_lock_other_value(void **state)
{
    fixture_t *fx = *state;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    uint32_t v = LOCK1_OTHER;
    const uint16_t lock_row = (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    make_keys(mkek, devk);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_OK);
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, lock_row, &v, 1), FK_OTP_OK);
    assert_int_equal(fk_lotp_keys_lock(&fx->lotp), FK_LOTP_ESTATE);
    assert_int_equal(raw(fx, lock_row), LOCK1_OTHER);
}

static void test_rp_destroyed_key(void **state)
{
    fixture_t *fx = *state;
    uint32_t ones[FK_OTP_KEY_ROWS];
    uint8_t got[FK_LOTP_KEY_BYTES];
    fk_lotp_key_state_t st = FK_LOTP_KEY_ABSENT;
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++) ones[i] = ROW_ALL_ONES;
    /* All-ones rows decode to zero through ECC: still not "absent". */
    assert_int_equal(
        fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, ones, FK_OTP_KEY_ROWS),
        FK_OTP_OK);
    assert_int_equal(fk_lotp_key_read(&fx->lotp, FK_LOTP_MKEK, got, &st), FK_LOTP_EIO);
    assert_int_equal(st, FK_LOTP_KEY_UNREADABLE);
}

static void test_rp_boot_rows(void **state)
{
    fixture_t *fx = *state;
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    uint32_t tap = BOOT_FLAGS1_DOUBLE_TAP;
    make_digest(d, DIGEST_A);
    /* One copy of BOOT_FLAGS1 holds another bit: it must get cur|KEY_VALID. */
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS1 + 1, &tap, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, 1, d, NULL), FK_LOTP_OK);
    for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS; i++) {
        uint16_t v = 0;
        assert_int_equal(fk_otp_ecc_decode(raw(fx, FK_OTP_ROW_BOOTKEY(1) + i), &v), FK_OTP_ECC_OK);
        assert_int_equal(v, d[2 * i] | (d[2 * i + 1] << 8));
    }
    assert_int_equal(raw(fx, FK_OTP_ROW_BOOT_FLAGS1), 1u << 1);
    assert_int_equal(raw(fx, FK_OTP_ROW_BOOT_FLAGS1 + 1), BOOT_FLAGS1_DOUBLE_TAP | (1u << 1));
    assert_int_equal(raw(fx, FK_OTP_ROW_BOOT_FLAGS1 + 2), 1u << 1);

    assert_int_equal(fk_lotp_debug_disable(&fx->lotp), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(&fx->lotp), FK_LOTP_OK);
    for (unsigned i = 0; i < FK_OTP_CRIT_COPIES; i++) {
        const uint32_t c = raw(fx, FK_OTP_ROW_CRIT1 + i);
        assert_int_equal(c & FK_OTP_CRIT1_SECURE_BOOT_ENABLE, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
        assert_int_equal(c & FK_OTP_CRIT1_DEBUG_DISABLE, FK_OTP_CRIT1_DEBUG_DISABLE);
        assert_int_equal(c & FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK,
                         FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK);
    }
    assert_int_equal(fk_lotp_secure_boot_lock(&fx->lotp), FK_LOTP_OK);
    /* KEY_INVALID = every slot but the live one (never a fixed 0xE, which would
     * revoke a live key outside slot 0). */
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        assert_int_equal(
            (raw(fx, FK_OTP_ROW_BOOT_FLAGS1 + i) & FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK) >>
                FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT,
            0xDu);
    }
    assert_int_equal(raw(fx, FK_OTP_ROW_PAGE_LOCK1(1)), FK_OTP_LOCK1_BOOT_PAGES);
    assert_int_equal(raw(fx, FK_OTP_ROW_PAGE_LOCK1(2)), FK_OTP_LOCK1_BOOT_PAGES);
}

static void test_rp_interrupted_key_valid(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_boot_t boot;
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    uint16_t rows[FK_OTP_BOOTKEY_ROWS];
    uint32_t kv = 1;
    make_digest(d, DIGEST_A);
    for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS; i++)
        rows[i] = (uint16_t)(d[2 * i] | (d[2 * i + 1] << 8));
    assert_int_equal(
        fk_otp_write_ecc(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOTKEY(0), rows, FK_OTP_BOOTKEY_ROWS),
        FK_OTP_OK);
    /* KEY_VALID in 1 of 3 copies does not count. */
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS1, &kv, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_boot_state(&fx->lotp, &boot), FK_LOTP_OK);
    assert_true(boot.slot[0].present);
    assert_false(boot.slot[0].valid);
    assert_int_equal(fk_lotp_secure_boot_enable(&fx->lotp), FK_LOTP_ESTATE);
    /* 2 of 3 do. */
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS1 + 2, &kv, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_boot_state(&fx->lotp, &boot), FK_LOTP_OK);
    assert_true(boot.slot[0].valid);
    assert_int_equal(fk_lotp_secure_boot_enable(&fx->lotp), FK_LOTP_OK);
}

static void test_rp_bootsel_after_boot_lock(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_t bootsel;
    fk_otp_accessor_t acc_bootsel;
    fk_lotp_boot_t boot;
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    make_digest(d, DIGEST_A);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, FK_LOTP_SLOT_ANY, d, NULL), FK_LOTP_OK);
    make_digest(d, DIGEST_B);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, FK_LOTP_SLOT_ANY, d, NULL), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(&fx->lotp), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_lock(&fx->lotp), FK_LOTP_OK);
    fk_otp_reset(&fx->otp);
    fk_otp_enter_bootsel(&fx->otp);
    rp_handle(fx, &bootsel, &acc_bootsel, FK_OTP_BOOTSEL);
    /* Pages 1 and 2 are bootloader read-only now: reads work, writes do not. */
    assert_int_equal(fk_lotp_boot_state(&bootsel, &boot), FK_LOTP_OK);
    assert_true(boot.locked && boot.slot[1].valid);
    assert_int_equal(fk_lotp_bootkey_revoke(&bootsel, 1), FK_LOTP_EPERM);
    assert_int_equal(fk_lotp_boot_state(&bootsel, &boot), FK_LOTP_OK);
    assert_true(boot.slot[1].valid);
}

static void test_rp_rollback_state(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_rollback_t rb;
    uint32_t t = THERMO_BITS_0_AND_2;
    uint32_t rr = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE,
                                          (uint16_t)(FK_OTP_ROW_BOOT_VERSION0 + i), &t, 1),
                         FK_OTP_OK);
    }
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS0, &rr, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_rollback(&fx->lotp, &rb), FK_LOTP_OK);
    assert_int_equal(rb.floor, 3); /* highest bit + 1, not a popcount */
    assert_false(rb.required);     /* 1 of 3 copies */
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS0 + 1, &rr, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_rollback(&fx->lotp, &rb), FK_LOTP_OK);
    assert_true(rb.required);
    assert_int_equal(rb.capacity, FK_OTP_ROLLBACK_BITS);
}

/* ---- RP2350: the logical layer over a row access that fails ------------------ */

/* A row access passing everything to the fixture's secure access, except
 * writes that would change rows [first, first + count): refused
 * (FK_OTP_ROWS_EIO, nothing written) or, with `lose`, reported done without
 * being written. Rewriting what such a row holds still succeeds. */
typedef struct {
    fk_otp_rows_t inner;
    unsigned first;
    unsigned count;
    bool lose;
} faulty_t;

static bool faulty_hit(const faulty_t *f, unsigned row)
{
    return row >= f->first && row - f->first < f->count;
}

static int faulty_read_raw(void *ctx, uint16_t row, uint32_t *out, size_t count)
{
    const faulty_t *f = ctx;
    return f->inner.ops->read_raw(f->inner.ctx, row, out, count);
}

static int faulty_read_ecc(void *ctx, uint16_t row, uint16_t *out, size_t count)
{
    const faulty_t *f = ctx;
    return f->inner.ops->read_ecc(f->inner.ctx, row, out, count);
}

static int faulty_read_soft_lock(void *ctx, unsigned page, uint8_t *value)
{
    const faulty_t *f = ctx;
    return f->inner.ops->read_soft_lock(f->inner.ctx, page, value);
}

static int faulty_write_raw(void *ctx, uint16_t row, const uint32_t *vals, size_t count)
{
    faulty_t *f = ctx;
    for (size_t i = 0; i < count; i++) {
        const uint16_t r = (uint16_t)(row + i);
        uint32_t cur = 0;
        int rc = f->inner.ops->read_raw(f->inner.ctx, r, &cur, 1);
        if (rc != FK_OTP_ROWS_OK) return rc;
        if (faulty_hit(f, r) && cur != (vals[i] & ROW_ALL_ONES)) {
            if (f->lose) continue;
            return FK_OTP_ROWS_EIO;
        }
        rc = f->inner.ops->write_raw(f->inner.ctx, r, &vals[i], 1);
        if (rc != FK_OTP_ROWS_OK) return rc;
    }
    return FK_OTP_ROWS_OK;
}

static int faulty_write_ecc(void *ctx, uint16_t row, const uint16_t *vals, size_t count)
{
    faulty_t *f = ctx;
    for (size_t i = 0; i < count; i++) {
        const uint16_t r = (uint16_t)(row + i);
        if (faulty_hit(f, r)) {
            if (f->lose) continue;
            return FK_OTP_ROWS_EIO;
        }
        const int rc = f->inner.ops->write_ecc(f->inner.ctx, r, &vals[i], 1);
        if (rc != FK_OTP_ROWS_OK) return rc;
    }
    return FK_OTP_ROWS_OK;
}

static const fk_otp_rows_ops_t k_faulty_ops = {
    .read_raw = faulty_read_raw,
    .write_raw = faulty_write_raw,
    .read_ecc = faulty_read_ecc,
    .write_ecc = faulty_write_ecc,
    .read_soft_lock = faulty_read_soft_lock,
};

/* *l: a handle whose writes to `count` rows from `first` fail (or are lost). */
static void faulty_handle(fixture_t *fx, faulty_t *f, fk_lotp_t *l, unsigned first,
                          unsigned count, bool lose)
{
    memset(f, 0, sizeof(*f));
    f->inner = fx->lotp.u.rp2350;
    f->first = first;
    f->count = count;
    f->lose = lose;
    const fk_otp_rows_t rows = {&k_faulty_ops, f};
    assert_int_equal(fk_lotp_init_rp2350(l, &rows), FK_LOTP_OK);
}

/* A chip with secure boot on: a digest in slot 0, KEY_VALID, CRIT1. */
static void rp_secure_boot_on(fixture_t *fx)
{
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    make_digest(d, DIGEST_A);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, 0, d, NULL), FK_LOTP_OK);
    assert_int_equal(fk_lotp_secure_boot_enable(&fx->lotp), FK_LOTP_OK);
}

static uint32_t rr_copies(const fixture_t *fx)
{
    uint32_t got = 0;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        if (raw(fx, FK_OTP_ROW_BOOT_FLAGS0 + i) & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED)
            got |= 1u << i;
    }
    return got;
}

static void test_rp_rollback_require_rows(void **state)
{
    fixture_t *fx = *state;
    uint32_t other = 1u; /* another BOOT_FLAGS0 option in copy 1 */
    assert_int_equal(
        fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_BOOT_FLAGS0 + 1, &other, 1),
        FK_OTP_OK);
    /* Without secure boot: refused, nothing written. */
    fx->programmed = 0;
    assert_int_equal(fk_lotp_rollback_require(&fx->lotp), FK_LOTP_ESTATE);
    assert_int_equal(fx->programmed, 0);
    assert_int_equal(rr_copies(fx), 0);

    rp_secure_boot_on(fx);
    fx->programmed = 0;
    assert_int_equal(fk_lotp_rollback_require(&fx->lotp), FK_LOTP_OK);
    assert_int_equal(fx->programmed, FK_OTP_RBIT3_COPIES);
    assert_int_equal(rr_copies(fx), 7);
    /* Each copy got cur | bit: copy 1 keeps its option. */
    assert_int_equal(raw(fx, FK_OTP_ROW_BOOT_FLAGS0 + 1),
                     FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED | other);
    /* Already set: nothing written. */
    fx->programmed = 0;
    assert_int_equal(fk_lotp_rollback_require(&fx->lotp), FK_LOTP_OK);
    assert_int_equal(fx->programmed, 0);
}

/* Two copies of three are the flag, here and for the bootrom: set by the
 * vote means done, nothing written. */
static void test_rp_rollback_require_vote(void **state)
{
    fixture_t *fx = *state;
    const uint32_t rr = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    rp_secure_boot_on(fx);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE,
                                          (uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + 1 + i), &rr, 1),
                         FK_OTP_OK);
    }
    fx->programmed = 0;
    assert_int_equal(fk_lotp_rollback_require(&fx->lotp), FK_LOTP_OK);
    assert_int_equal(fx->programmed, 0);
    assert_int_equal(rr_copies(fx), 6); /* copy 0 left as it was */
}

/* A copy that cannot be written does not matter while the two others take
 * the bit. */
static void test_rp_rollback_require_torn(void **state)
{
    fixture_t *fx = *state;
    faulty_t f;
    fk_lotp_t l;
    rp_secure_boot_on(fx);
    /* Copy 0 refuses the write: copies 1 and 2 still carry the vote. */
    faulty_handle(fx, &f, &l, FK_OTP_ROW_BOOT_FLAGS0, 1, false);
    assert_int_equal(fk_lotp_rollback_require(&l), FK_LOTP_OK);
    assert_int_equal(rr_copies(fx), 6);
}

static void test_rp_rollback_require_lost(void **state)
{
    fixture_t *fx = *state;
    faulty_t f;
    fk_lotp_t l;
    fk_lotp_rollback_t rb;
    rp_secure_boot_on(fx);
    /* Copies 0 and 1 lose their writes: one copy of three is not the flag,
     * the read-back says so. */
    faulty_handle(fx, &f, &l, FK_OTP_ROW_BOOT_FLAGS0, 2, true);
    assert_int_equal(fk_lotp_rollback_require(&l), FK_LOTP_EIO);
    assert_int_equal(rr_copies(fx), 4);
    assert_int_equal(fk_lotp_rollback(&fx->lotp, &rb), FK_LOTP_OK);
    assert_false(rb.required);
    /* Copies 0 and 1 refuse: the first error is what the caller hears. */
    faulty_handle(fx, &f, &l, FK_OTP_ROW_BOOT_FLAGS0, 2, false);
    assert_int_equal(fk_lotp_rollback_require(&l), FK_LOTP_EIO);
    /* A working chip finishes the job from there. */
    assert_int_equal(fk_lotp_rollback_require(&fx->lotp), FK_LOTP_OK);
    assert_int_equal(rr_copies(fx), 7);
}

static void test_rp_keys_lock_lost_write(void **state)
{
    fixture_t *fx = *state;
    faulty_t f;
    fk_lotp_t l;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    const unsigned lock_row = FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    make_keys(mkek, devk);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_OK);
    faulty_handle(fx, &f, &l, lock_row, 1, true);
    assert_int_equal(fk_lotp_keys_lock(&l), FK_LOTP_EIO);
    assert_int_equal(raw(fx, lock_row), 0);
    faulty_handle(fx, &f, &l, lock_row, 1, false);
    assert_int_equal(fk_lotp_keys_lock(&l), FK_LOTP_EIO);
    assert_int_equal(raw(fx, lock_row), 0);
    assert_int_equal(fk_lotp_keys_lock(&fx->lotp), FK_LOTP_OK);
}

/* The lock value is compared raw and whole, as fk_lotp_keys_lock writes it:
 * one copy of three, or two, is another value, whatever the vote says. */
static void test_rp_keys_lock_value(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_keys_lock_t kl;
    uint8_t mkek[FK_LOTP_KEY_BYTES];
    uint8_t devk[FK_LOTP_KEY_BYTES];
    const uint16_t lock_row = (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    const uint32_t two_copies = FK_OTP_LOCK1_PAGE58 & 0x00FFFFu;
    make_keys(mkek, devk);
    assert_int_equal(fk_lotp_keys_provision(&fx->lotp, mkek, devk), FK_LOTP_OK);
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, lock_row, &two_copies, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_keys_lock_state(&fx->lotp, &kl), FK_LOTP_OK);
    assert_true(kl.read_locked); /* the vote already says 0x3C */
    assert_int_equal(kl.value, FK_LOTP_LOCK_OTHER);
    assert_int_equal(fk_lotp_keys_lock(&fx->lotp), FK_LOTP_ESTATE);
    assert_int_equal(raw(fx, lock_row), two_copies);
}

/* A damaged MKEK is not an MKEK to lock the page over. */
static void test_rp_keys_lock_damaged_mkek(void **state)
{
    fixture_t *fx = *state;
    const uint32_t ones = ROW_ALL_ONES;
    assert_int_equal(fk_otp_write_raw(&fx->otp, FK_OTP_SECURE, FK_OTP_ROW_MKEK, &ones, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_keys_lock(&fx->lotp), FK_LOTP_ESTATE);
    assert_int_equal(raw(fx, FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS)), 0);
}

/* Boot-key rows the accessor cannot read: the state is still read (the
 * flags count), the slots say so, and nothing is loaded or enabled. */
static void test_rp_unreadable_slots(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_boot_t boot;
    uint8_t d[FK_LOTP_DIGEST_BYTES];
    make_digest(d, DIGEST_B);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, 1, d, NULL), FK_LOTP_OK);
    /* The secure level of page 2 (boot-key rows) raised to inaccessible. */
    assert_int_equal(fk_otp_sw_lock(&fx->otp, FK_OTP_SECURE, FK_OTP_PAGE_OF(FK_OTP_ROW_BOOTKEY(0)),
                                    FK_OTP_LOCK_INACCESSIBLE),
                     FK_OTP_OK);
    assert_int_equal(fk_lotp_boot_state(&fx->lotp, &boot), FK_LOTP_OK);
    for (unsigned s = 0; s < boot.slot_count; s++) {
        assert_true(boot.slot[s].unreadable);
        assert_false(boot.slot[s].present);
        assert_int_equal(boot.slot[s].valid, s == 1);
    }
    assert_false(boot.secure_boot);
    assert_int_equal(fk_lotp_bootkey_load(&fx->lotp, FK_LOTP_SLOT_ANY, d, NULL), FK_LOTP_EPERM);
    assert_int_equal(fk_lotp_secure_boot_enable(&fx->lotp), FK_LOTP_EPERM);
}

/* ---- ESP32-S3: the interface's own answers ------------------------------------ */

static void test_esp_rollback_state(void **state)
{
    fixture_t *fx = *state;
    fk_lotp_rollback_t rb;
    /* ESP-IDF counts the ones of SECURE_VERSION. */
    assert_int_equal(
        fk_efuse_burn_field(&fx->efuse, FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS, 0x5),
        FK_EFUSE_OK);
    assert_int_equal(fk_lotp_rollback(&fx->lotp, &rb), FK_LOTP_OK);
    assert_int_equal(rb.floor, 2);
    assert_false(rb.required);
    assert_int_equal(
        fk_efuse_burn_field(&fx->efuse, FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS, 0x7),
        FK_EFUSE_OK);
    assert_int_equal(fk_lotp_rollback(&fx->lotp, &rb), FK_LOTP_OK);
    assert_int_equal(rb.floor, 3);
    assert_int_equal(rb.capacity, 16);
}

static void test_esp_foreign_key_block(void **state)
{
    fixture_t *fx = *state;
    uint8_t got[FK_LOTP_KEY_BYTES];
    fk_lotp_key_state_t st = FK_LOTP_KEY_ABSENT;
    /* KEY3 used for something else: not our key, and not provisionable. */
    assert_int_equal(fk_efuse_set_key_purpose(&fx->efuse, 3, FK_EFUSE_PURPOSE_HMAC_UP),
                     FK_EFUSE_OK);
    assert_int_equal(fk_lotp_key_read(&fx->lotp, FK_LOTP_MKEK, got, &st), FK_LOTP_ESTATE);
    assert_int_equal(st, FK_LOTP_KEY_UNREADABLE);
    /* A read-protected KEY4: not readable, and a lock this product never
     * writes. */
    assert_int_equal(fk_efuse_burn_field(&fx->efuse, FK_EFUSE_RD_DIS_KEY(4), 1, 1), FK_EFUSE_OK);
    assert_int_equal(fk_lotp_key_read(&fx->lotp, FK_LOTP_DEVK, got, &st), FK_LOTP_EPERM);
    assert_int_equal(st, FK_LOTP_KEY_UNREADABLE);
    fk_lotp_keys_lock_t kl;
    assert_int_equal(fk_lotp_keys_lock_state(&fx->lotp, &kl), FK_LOTP_OK);
    assert_int_equal(kl.value, FK_LOTP_LOCK_OTHER);
}

#define BOTH(fn) cmocka_unit_test_setup(fn, setup_rp2350), cmocka_unit_test_setup(fn, setup_esp32s3)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_caps),
        BOTH(test_keys_refused_values_change_nothing),
        BOTH(test_logical_sequence),
        BOTH(test_all_slots_then_full),
        BOTH(test_explicit_slot),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test_setup(test_init_refuses_alias_principal, setup_rp2350),
        cmocka_unit_test_setup(test_rp_key_rows_and_chaff, setup_rp2350),
        cmocka_unit_test_setup(test_rp_provision_preflight, setup_rp2350),
        cmocka_unit_test_setup(test_rp_provision_bootsel_then_lock, setup_rp2350),
        cmocka_unit_test_setup(test_rp_keys_lock_a3_bootsel, setup_rp2350),
        cmocka_unit_test_setup(test_rp_keys_lock_other_value, setup_rp2350),
        cmocka_unit_test_setup(test_rp_destroyed_key, setup_rp2350),
        cmocka_unit_test_setup(test_rp_boot_rows, setup_rp2350),
        cmocka_unit_test_setup(test_rp_interrupted_key_valid, setup_rp2350),
        cmocka_unit_test_setup(test_rp_bootsel_after_boot_lock, setup_rp2350),
        cmocka_unit_test_setup(test_rp_rollback_state, setup_rp2350),
        cmocka_unit_test_setup(test_rp_rollback_require_rows, setup_rp2350),
        cmocka_unit_test_setup(test_rp_rollback_require_vote, setup_rp2350),
        cmocka_unit_test_setup(test_rp_rollback_require_torn, setup_rp2350),
        cmocka_unit_test_setup(test_rp_rollback_require_lost, setup_rp2350),
        cmocka_unit_test_setup(test_rp_keys_lock_lost_write, setup_rp2350),
        cmocka_unit_test_setup(test_rp_keys_lock_value, setup_rp2350),
        cmocka_unit_test_setup(test_rp_keys_lock_damaged_mkek, setup_rp2350),
        cmocka_unit_test_setup(test_rp_unreadable_slots, setup_rp2350),
        cmocka_unit_test_setup(test_esp_rollback_state, setup_esp32s3),
        cmocka_unit_test_setup(test_esp_foreign_key_block, setup_esp32s3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
