/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the rescue applet (docs/rescue.md) through the device
 * (fk_card_transceive), over the host port's file-backed flash and OTP.
 * Every test starts from a blank flash and a new OTP image; OTP states are
 * set up through the host port's OTP model, the way the fusekey tool or the
 * bootrom would have left them: keys burnt through ECC from BOOTSEL (then a
 * reset), flags and damage as raw writes.
 *
 * OTP lock rows take effect only at the next OTP reset; the lock tests check
 * what the firmware sees (the value it wrote reads back, and the firmware
 * still reads page 58 after a reset), never that the lock is effective
 * before one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "crypto/pk.h"
#include "devrig.h"
#include "host_port.h"
#include "otphook.h"
#include "otp_map.h"
#include "otp_model.h"
#include "rescue/rescue.h"
#include "rtc.h"
#include "seal/seal.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "store/space.h"

#define SW_OK 0x9000
#define SW_EXEC_ERROR 0x6400
#define SW_WRONG_LENGTH 0x6700
#define SW_REF_DATA_NOT_USABLE 0x6984
#define SW_CONDITIONS 0x6985
#define SW_WRONG_DATA 0x6A80
#define SW_P1P2 0x6A86
#define SW_INS 0x6D00
#define SW_CLA 0x6E00

#define LOCK58_ROW ((uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS))
#define RR FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED

static fk_testdev_t g_dev;
static uint8_t g_out[1024];
static size_t g_len; /* response data length (without the SW) */

static const uint8_t k_serial[8] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE};
/* secp256k1: the order n, and the generator G = 04 || X || Y (public key of d = 1). */
static const uint8_t k_order[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
static const uint8_t k_generator[65] = {
    0x04, 0x79, 0xBE, 0x66, 0x7E, 0xF9, 0xDC, 0xBB, 0xAC, 0x55, 0xA0, 0x62, 0x95, 0xCE, 0x87,
    0x0B, 0x07, 0x02, 0x9B, 0xFC, 0xDB, 0x2D, 0xCE, 0x28, 0xD9, 0x59, 0xF2, 0x81, 0x5B, 0x16,
    0xF8, 0x17, 0x98, 0x48, 0x3A, 0xDA, 0x77, 0x26, 0xA3, 0xC4, 0x65, 0x5D, 0xA4, 0xFB, 0xFC,
    0x0E, 0x11, 0x08, 0xA8, 0xFD, 0x17, 0xB4, 0x48, 0xA6, 0x85, 0x54, 0x19, 0x9C, 0x47, 0xD0,
    0x8F, 0xFB, 0x10, 0xD4, 0xB8};

static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};

/* ---- Rig -------------------------------------------------------------------- */

static void drain_reboot(void)
{
    fk_reboot_mode_t mode;
    while (fk_host_take_reboot(&mode)) {
    }
}

static uint16_t xfer(const uint8_t *apdu, size_t len);

static int setup(void **state)
{
    (void)state;
    fk_rtc_clear(&g_dev.svc.rtc);
    drain_reboot();
    if (fk_devrig_setup(&g_rig, "rescue") != 0) return -1;
    uint8_t sel[5 + FK_RESCUE_AID_LEN + 1] = {0x00, 0xA4, 0x04, 0x04, FK_RESCUE_AID_LEN};
    memcpy(sel + 5, fk_rescue_aid, FK_RESCUE_AID_LEN);
    return xfer(sel, sizeof(sel)) == SW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fk_devrig_stop(&g_rig);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    drain_reboot();
    return fk_devrig_dir_remove(&g_rig);
}

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    size_t n;
    uint16_t sw = fk_devrig_xfer(&g_dev, apdu, len, g_out, sizeof(g_out), &n);
    g_len = n - 2;
    return sw;
}

/* CLA INS P1 P2 [Lc data] Le=00. */
static uint16_t apdu_cla(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                         size_t nc)
{
    uint8_t a[5 + 255 + 1];
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, nc, FK_DEVRIG_NE_SHORT_MAX, false};
    assert_true(nc <= 255);
    return xfer(a, fk_devrig_apdu(a, sizeof(a), &cmd));
}

static uint16_t apdu(uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t nc)
{
    return apdu_cla(FK_RESCUE_CLA, ins, p1, p2, data, nc);
}

/* ---- OTP helpers ------------------------------------------------------------ */

static fk_otp_t *otp_model(void)
{
    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    return m;
}

static uint32_t otp_raw(uint16_t row)
{
    uint32_t v = 0;
    assert_int_equal(fk_otp_read_raw(otp_model(), FK_OTP_SECURE, row, &v, 1), FK_OTP_OK);
    return v;
}

/* Add bits to a raw row as secure code writes it (the write API never ORs:
 * write cur | bits). */
static void otp_or(uint16_t row, uint32_t bits)
{
    const uint32_t v = otp_raw(row) | bits;
    assert_int_equal(fk_otp_write_raw(otp_model(), FK_OTP_SECURE, row, &v, 1), FK_OTP_OK);
    assert_int_equal(otp_raw(row), v);
}

static void otp_rbit3(uint16_t first, uint32_t c0, uint32_t c1, uint32_t c2)
{
    otp_or(first, c0);
    otp_or((uint16_t)(first + 1), c1);
    otp_or((uint16_t)(first + 2), c2);
}

/* SECURE_BOOT_ENABLE in the first `copies` of the eight CRIT1 rows. */
static void crit1_secure_boot(unsigned copies)
{
    for (unsigned i = 0; i < copies; i++)
        otp_or((uint16_t)(FK_OTP_ROW_CRIT1 + i), FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
}

/* 32 key bytes into 16 ECC rows, byte 2i low, as `fusekey otp burn` writes
 * them from BOOTSEL; then the reset of the next start. */
static void otp_key(uint16_t row, const uint8_t key[32])
{
    uint16_t rows[FK_OTP_KEY_ROWS];
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++)
        rows[i] = (uint16_t)(key[2 * i] | key[2 * i + 1] << 8);
    fk_otp_enter_bootsel(otp_model());
    assert_int_equal(fk_otp_write_ecc(otp_model(), FK_OTP_BOOTSEL, row, rows, FK_OTP_KEY_ROWS),
                     FK_OTP_OK);
    fk_otp_reset(otp_model());
}

static void burn_mkek(void)
{
    uint8_t mkek[32];
    for (unsigned i = 0; i < sizeof(mkek); i++) mkek[i] = (uint8_t)(0x5A ^ (i * 37u));
    otp_key(FK_OTP_ROW_MKEK, mkek);
    fk_root_t root;
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
}

/* ---- Device key helpers -------------------------------------------------- */

static void get_pubkey(uint8_t pub[65])
{
    assert_int_equal(apdu(FK_RESCUE_INS_DEVKEY, FK_RESCUE_DEVKEY_PUBLIC, 0, NULL, 0), SW_OK);
    assert_int_equal(g_len, 65);
    memcpy(pub, g_out, 65);
    assert_int_equal(pub[0], 0x04);
    const fk_pk_public_t p = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256K1, .point = {pub, 65}};
    assert_int_equal(fk_pk_check_public(&p), FK_CRYPTO_OK);
}

static int verify(const uint8_t pub[65], const uint8_t hash[32], const uint8_t sig[64])
{
    const fk_pk_public_t p = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256K1, .point = {pub, 65}};
    return fk_pk_ecdsa_verify(&p, hash, 32, FK_SIG_PLAIN, sig, 64);
}

/* Sign a hash through 10 01 and check the signature with pub (and that a
 * changed hash does not verify). */
static void sign_and_verify(const uint8_t pub[65])
{
    uint8_t hash[32], sig[64];
    assert_int_equal(fk_hash(FK_HASH_SHA256, "rescue", 6, hash), FK_CRYPTO_OK);
    assert_int_equal(apdu(FK_RESCUE_INS_DEVKEY, FK_RESCUE_DEVKEY_SIGN, 0, hash, 32), SW_OK);
    assert_int_equal(g_len, 64);
    memcpy(sig, g_out, 64);
    assert_int_equal(verify(pub, hash, sig), FK_CRYPTO_OK);
    hash[31] ^= 1;
    assert_int_equal(verify(pub, hash, sig), FK_CRYPTO_EAUTH);
}

/* The rescue applet's records in the main partition. */
static fk_space_t rescue_sp(void) { return (fk_space_t){&g_dev.svc.store, FK_NS_RESCUE}; }

static bool devkey_record(uint8_t *buf, size_t cap, uint32_t *len)
{
    const fk_space_t sp = rescue_sp();
    if (fk_space_size(&sp, FK_ID_RESCUE_DEVKEY, len) != FK_STORE_OK) return false;
    assert_true(*len <= cap);
    assert_int_equal(fk_space_read(&sp, FK_ID_RESCUE_DEVKEY, 0, buf, *len), FK_STORE_OK);
    return true;
}

static fk_sw_t run_migrate(void)
{
    fk_applet_ctx_t ctx = fk_services_applet_ctx(&g_dev.svc, &fk_rescue_applet);
    unsigned pending = 0;
    assert_non_null(fk_rescue_applet.migrate);
    fk_sw_t sw = fk_rescue_applet.migrate(&ctx, &pending);
    assert_int_equal(pending, 0);
    return sw;
}

/* A fresh secp256k1 scalar and its public key, made by the crypto module. */
static void new_scalar(uint8_t d[32], uint8_t pub[65])
{
    uint8_t blob[256];
    size_t len = 0;
    fk_pk_key_t key;
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256K1, blob, sizeof(blob), &len), FK_CRYPTO_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    assert_int_equal(key.d.len, 32);
    assert_int_equal(key.pub.len, 65);
    memcpy(d, key.d.p, 32);
    memcpy(pub, key.pub.p, 65);
}

/* ---- Class, instruction ------------------------------------------------------ */

static void test_class_and_instructions(void **state)
{
    (void)state;
    static const uint8_t ins[] = {0x10, 0x1B, 0x1C, 0x1E, 0x1F};
    for (size_t i = 0; i < sizeof(ins); i++) {
        assert_int_equal(apdu_cla(0x00, ins[i], 0x01, 0x00, NULL, 0), SW_CLA);
        assert_int_equal(apdu_cla(0xA0, ins[i], 0x01, 0x00, NULL, 0), SW_CLA);
    }
    /* 1D: secure boot is enabled by the host tool in BOOTSEL, never here. */
    assert_int_equal(apdu(FK_RESCUE_INS_SECURE_BOOT, 0x00, 0x01, NULL, 0), SW_INS);
    assert_int_equal(apdu(FK_RESCUE_INS_SECURE_BOOT, 0x00, 0x00, NULL, 0), SW_INS);
    assert_int_equal(otp_raw(FK_OTP_ROW_CRIT1), 0);
    assert_int_equal(apdu(0x99, 0x00, 0x00, NULL, 0), SW_INS);
    /* Still selected and answering. */
    assert_int_equal(apdu(FK_RESCUE_INS_READ, FK_RESCUE_INFO_BOOT, 0, NULL, 0), SW_OK);
}

/* ---- Device key ----------------------------------------------------------- */

static void test_devkey_flash_form(void **state)
{
    (void)state;
    uint8_t rec[256];
    uint32_t len;
    assert_false(devkey_record(rec, sizeof(rec), &len));
    uint8_t pub[65], again[65];
    get_pubkey(pub);
    /* Created on first need: a key object of the applet (EC secp256k1,
     * no list, no counter), sealed. */
    assert_true(devkey_record(rec, sizeof(rec), &len));
    fk_key_policy_t pol;
    const fk_applet_ctx_t rctx = fk_services_applet_ctx(&g_dev.svc, &fk_rescue_applet);
    assert_int_equal(fk_key_info(&rctx, FK_ID_RESCUE_DEVKEY, &pol, NULL), FK_KEY_OK);
    assert_int_equal(pol.kind, FK_KEY_EC);
    assert_int_equal(pol.size, FK_CURVE_SECP256K1);
    assert_false(pol.has_counter);
    assert_int_equal(pol.n_algs, 0);
    get_pubkey(again);
    assert_memory_equal(pub, again, 65);
    sign_and_verify(pub);
    /* Two signatures of one hash differ (random k) and both verify. */
    uint8_t hash[32] = {1, 2, 3}, s1[64];
    assert_int_equal(apdu(FK_RESCUE_INS_DEVKEY, FK_RESCUE_DEVKEY_SIGN, 0, hash, 32), SW_OK);
    memcpy(s1, g_out, 64);
    assert_int_equal(apdu(FK_RESCUE_INS_DEVKEY, FK_RESCUE_DEVKEY_SIGN, 0, hash, 32), SW_OK);
    assert_memory_not_equal(s1, g_out, 64);
    assert_int_equal(verify(pub, hash, s1), FK_CRYPTO_OK);
    assert_int_equal(verify(pub, hash, g_out), FK_CRYPTO_OK);
    /* The key survives a restart of the device. */
    fk_card_power_off(&g_dev.card);
    assert_int_equal(fk_devrig_init(&g_dev), FK_SERVICES_OK);
    fk_card_power_on(&g_dev.card);
    assert_int_equal(xfer((const uint8_t *)"\x00\xA4\x04\x0C\x08\xA0\x58\x3F\xC1\x9B\x7E\x4F\x21",
                          13),
                     SW_OK);
    get_pubkey(again);
    assert_memory_equal(pub, again, 65);
}

static void test_devkey_command_errors(void **state)
{
    (void)state;
    uint8_t data[40] = {0};
    uint8_t rec[256];
    uint32_t len;
    assert_int_equal(apdu(0x10, 0x01, 0x00, data, 31), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x10, 0x01, 0x00, data, 33), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x10, 0x01, 0x00, NULL, 0), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x10, 0x02, 0x00, data, 1), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x10, 0x01, 0x01, data, 32), SW_P1P2);
    assert_int_equal(apdu(0x10, 0x02, 0x01, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x10, 0x00, 0x00, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x10, 0x04, 0x00, NULL, 0), SW_P1P2);
    /* 10 03 (certificate chain write) is refused and touches no file: the
     * HSM applet's chain 2F02, if it has made one, is what it was. */
    uint32_t before = 0, after = 0;
    const int had_chain = fk_space_size(&(const fk_space_t){&g_dev.svc.store, FK_NS_HSM}, 0x2F02, &before);
    assert_int_equal(apdu(0x10, FK_RESCUE_DEVKEY_CHAIN, 0x00, data, sizeof(data)), SW_P1P2);
    assert_int_equal(fk_space_size(&(const fk_space_t){&g_dev.svc.store, FK_NS_HSM}, 0x2F02, &after), had_chain);
    assert_int_equal(after, before);
    /* None of these created the key. */
    assert_false(devkey_record(rec, sizeof(rec), &len));

    /* Declined presence: 6985, and still no key in the store. */
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(apdu(0x10, 0x01, 0x00, data, 32), SW_CONDITIONS);
    assert_int_equal(g_len, 0);
    assert_false(devkey_record(rec, sizeof(rec), &len));
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    uint8_t pub[65];
    get_pubkey(pub);
    sign_and_verify(pub);
}

/* The OTP key replaces the flash key as soon as it is burnt, and the
 * migration then deletes the flash key. */
static void test_devkey_moves_to_otp(void **state)
{
    (void)state;
    uint8_t flash_pub[65], d[32], otp_pub[65], got[65];
    get_pubkey(flash_pub);
    new_scalar(d, otp_pub);
    assert_memory_not_equal(flash_pub, otp_pub, 65);
    otp_key(FK_OTP_ROW_DEVK, d);

    get_pubkey(got);
    assert_memory_equal(got, otp_pub, 65);
    sign_and_verify(otp_pub);

    uint8_t rec[256];
    uint32_t len;
    assert_true(devkey_record(rec, sizeof(rec), &len)); /* still there until the migration */
    assert_int_equal(run_migrate(), SW_OK);
    assert_false(devkey_record(rec, sizeof(rec), &len));
    assert_int_equal(run_migrate(), SW_OK); /* idempotent */
    get_pubkey(got);
    assert_memory_equal(got, otp_pub, 65);
    assert_false(devkey_record(rec, sizeof(rec), &len)); /* never recreated */
}

/* DEVK = 1: the public key is the generator (a known answer). */
static void test_devkey_otp_known_answer(void **state)
{
    (void)state;
    uint8_t d[32] = {0};
    d[31] = 1;
    otp_key(FK_OTP_ROW_DEVK, d);
    uint8_t pub[65];
    get_pubkey(pub);
    assert_memory_equal(pub, k_generator, 65);
    sign_and_verify(k_generator);
}

/* The three ways a burnt DEVK can be unusable: each is 6400, never the
 * flash key. */
static void devkey_unusable(void)
{
    uint8_t hash[32] = {0}, rec[256];
    uint32_t len;
    assert_int_equal(apdu(0x10, 0x02, 0x00, NULL, 0), SW_EXEC_ERROR);
    assert_int_equal(g_len, 0);
    assert_int_equal(apdu(0x10, 0x01, 0x00, hash, 32), SW_EXEC_ERROR);
    assert_int_equal(g_len, 0);
    assert_false(devkey_record(rec, sizeof(rec), &len));
}

static void test_devkey_otp_scalar_out_of_range(void **state)
{
    (void)state;
    otp_key(FK_OTP_ROW_DEVK, k_order); /* d = n */
    devkey_unusable();
}

static void test_devkey_otp_destroyed_rows(void **state)
{
    (void)state;
    /* All ones: the ECC view reads 0x0000 from each row, so the scalar is 0. */
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++)
        otp_or((uint16_t)(FK_OTP_ROW_DEVK + i), 0xFFFFFF);
    devkey_unusable();
}

static void test_devkey_otp_uncorrectable_row(void **state)
{
    (void)state;
    uint8_t d[32] = {0};
    d[31] = 1;
    otp_key(FK_OTP_ROW_DEVK, d);
    get_pubkey((uint8_t[65]){0});
    /* Row 1 holds the codeword of 0x0000; two flipped data bits make it
     * uncorrectable (SECDED detects every double error). */
    const uint16_t row = FK_OTP_ROW_DEVK + 1;
    assert_int_equal(otp_raw(row), 0);
    otp_or(row, 0x000003);
    uint16_t ecc;
    assert_int_equal(fk_otp_ecc_decode(otp_raw(row), &ecc), FK_OTP_ECC_UNCORRECTABLE);
    devkey_unusable();
}

static void test_devkey_otp_unreadable(void **state)
{
    (void)state;
    fk_host_otp_close();
    uint8_t rec[256];
    uint32_t len;
    assert_int_equal(apdu(0x10, 0x02, 0x00, NULL, 0), SW_EXEC_ERROR);
    assert_false(devkey_record(rec, sizeof(rec), &len));
    assert_int_equal(fk_host_otp_open(g_rig.otp), 0);
}

/* Without a DEVK the migration reseals the flash key under the OTP master
 * key, once. */
static void test_migrate_reseals_flash_key(void **state)
{
    (void)state;
    uint8_t rec[256], rec2[256];
    uint32_t len, len2;
    assert_int_equal(run_migrate(), SW_OK); /* nothing to do */
    assert_false(devkey_record(rec, sizeof(rec), &len));

    uint8_t pub[65], got[65];
    get_pubkey(pub);
    assert_true(devkey_record(rec, sizeof(rec), &len));
    assert_int_equal(rec[1], FK_ROOT_DEVICE);
    assert_int_equal(run_migrate(), SW_OK); /* same root: nothing written */
    assert_true(devkey_record(rec2, sizeof(rec2), &len2));
    assert_int_equal(len2, len);
    assert_memory_equal(rec, rec2, len);

    burn_mkek();
    assert_int_equal(run_migrate(), SW_OK);
    assert_true(devkey_record(rec, sizeof(rec), &len));
    assert_int_equal(rec[1], FK_ROOT_OTP);
    assert_int_equal(run_migrate(), SW_OK); /* idempotent: no second write */
    assert_true(devkey_record(rec2, sizeof(rec2), &len2));
    assert_int_equal(len2, len);
    assert_memory_equal(rec, rec2, len);
    get_pubkey(got);
    assert_memory_equal(got, pub, 65);
    sign_and_verify(pub);
}

static void test_migrate_otp_unreadable(void **state)
{
    (void)state;
    uint8_t pub[65], rec[256];
    uint32_t len;
    get_pubkey(pub);
    fk_host_otp_close();
    assert_int_equal(run_migrate(), SW_EXEC_ERROR);
    assert_int_equal(fk_host_otp_open(g_rig.otp), 0);
    assert_true(devkey_record(rec, sizeof(rec), &len));
}

/* A burnt DEVK wins even damaged: the migration drops the flash key, and
 * the device key answers 6400 from then on, never the flash key. */
static void test_migrate_damaged_devk(void **state)
{
    (void)state;
    uint8_t pub[65], rec[256];
    uint32_t len;
    get_pubkey(pub);
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++)
        otp_or((uint16_t)(FK_OTP_ROW_DEVK + i), 0xFFFFFF);
    assert_int_equal(run_migrate(), SW_OK);
    assert_false(devkey_record(rec, sizeof(rec), &len));
    devkey_unusable();
}

/* A DEVK the firmware may not read fails the hook; the flash key stays. */
static void test_migrate_devk_locked(void **state)
{
    (void)state;
    uint8_t pub[65], rec[256];
    uint32_t len;
    get_pubkey(pub);
    assert_int_equal(
        fk_otp_sw_lock(otp_model(), FK_OTP_SECURE, FK_OTP_PAGE_KEYS, FK_OTP_LOCK_INACCESSIBLE),
        FK_OTP_OK);
    assert_int_equal(run_migrate(), SW_EXEC_ERROR);
    assert_true(devkey_record(rec, sizeof(rec), &len));
    assert_int_equal(apdu(0x10, 0x02, 0x00, NULL, 0), SW_EXEC_ERROR);
}

/* ---- Clock ------------------------------------------------------------------ */

static uint32_t read_epoch(void)
{
    assert_int_equal(apdu(FK_RESCUE_INS_READ, FK_RESCUE_INFO_RTC, FK_RESCUE_RTC_EPOCH, NULL, 0),
                     SW_OK);
    assert_int_equal(g_len, 4);
    return (uint32_t)g_out[0] << 24 | (uint32_t)g_out[1] << 16 | (uint32_t)g_out[2] << 8 | g_out[3];
}

/* Read the civil form; check it against the C library and return its Unix time. */
static uint32_t read_civil(void)
{
    assert_int_equal(apdu(FK_RESCUE_INS_READ, FK_RESCUE_INFO_RTC, FK_RESCUE_RTC_CIVIL, NULL, 0),
                     SW_OK);
    assert_int_equal(g_len, 8);
    struct tm tm = {
        .tm_year = ((g_out[0] << 8) | g_out[1]) - 1900,
        .tm_mon = g_out[2] - 1,
        .tm_mday = g_out[3],
        .tm_hour = g_out[5],
        .tm_min = g_out[6],
        .tm_sec = g_out[7],
    };
    const time_t t = timegm(&tm);
    struct tm check;
    assert_non_null(gmtime_r(&t, &check));
    assert_int_equal(check.tm_wday, g_out[4]);
    assert_int_equal(check.tm_mday, g_out[3]); /* the date existed */
    return (uint32_t)t;
}

static void set_epoch(uint32_t e, uint16_t want)
{
    uint8_t b[4] = {(uint8_t)(e >> 24), (uint8_t)(e >> 16), (uint8_t)(e >> 8), (uint8_t)e};
    assert_int_equal(apdu(FK_RESCUE_INS_WRITE, FK_RESCUE_CONFIG_RTC, FK_RESCUE_RTC_EPOCH, b, 4),
                     want);
}

static uint16_t set_civil(uint16_t y, uint8_t mo, uint8_t d, uint8_t wd, uint8_t h, uint8_t mi,
                          uint8_t s)
{
    const uint8_t b[8] = {(uint8_t)(y >> 8), (uint8_t)y, mo, d, wd, h, mi, s};
    return apdu(FK_RESCUE_INS_WRITE, FK_RESCUE_CONFIG_RTC, FK_RESCUE_RTC_CIVIL, b, 8);
}

static void assert_never_set(void)
{
    assert_int_equal(apdu(0x1E, 0x04, 0x01, NULL, 0), SW_CONDITIONS);
    assert_int_equal(apdu(0x1E, 0x04, 0x02, NULL, 0), SW_CONDITIONS);
}

/* The clock read back lies between the time set and that time plus the
 * whole seconds that passed, measured around the exchange. */
static void assert_clock_near(uint32_t set, uint64_t t0_ms, uint32_t got)
{
    const uint64_t elapsed_s = (fk_hal_millis() - t0_ms) / 1000u + 1u;
    assert_true(got >= set);
    assert_true(got - set <= elapsed_s);
}

static void test_rtc_civil_round_trip(void **state)
{
    (void)state;
    assert_never_set();
    const uint32_t when = 1709210096u; /* 2024-02-29 12:34:56, a Thursday */
    const uint64_t t0 = fk_hal_millis();
    assert_int_equal(set_civil(2024, 2, 29, 4, 12, 34, 56), SW_OK);
    assert_clock_near(when, t0, read_epoch());
    assert_clock_near(when, t0, read_civil());
}

static void test_rtc_epoch_round_trip(void **state)
{
    (void)state;
    static const uint32_t k[] = {0u, 951782399u, 1700000000u, FK_RTC_EPOCH_MAX - 100u};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        const uint64_t t0 = fk_hal_millis();
        set_epoch(k[i], SW_OK);
        assert_clock_near(k[i], t0, read_epoch());
        assert_clock_near(k[i], t0, read_civil());
    }
}

static void test_rtc_invalid(void **state)
{
    (void)state;
    fk_store_stats_t before;
    fk_store_stats(&g_dev.svc.store, &before);
    uint8_t b[9] = {0x07, 0xE8, 2, 29, 4, 12, 34, 56, 0};
    /* Lengths, P2. */
    assert_int_equal(apdu(0x1C, 0x02, 0x01, b, 7), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x1C, 0x02, 0x01, b, 9), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x1C, 0x02, 0x01, NULL, 0), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x1C, 0x02, 0x02, b, 3), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x1C, 0x02, 0x02, b, 5), SW_WRONG_LENGTH);
    assert_int_equal(apdu(0x1C, 0x02, 0x00, b, 8), SW_P1P2);
    assert_int_equal(apdu(0x1C, 0x02, 0x03, b, 4), SW_P1P2);
    assert_int_equal(apdu(0x1C, 0x03, 0x01, b, 8), SW_P1P2);
    assert_int_equal(apdu(0x1E, 0x04, 0x00, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x1E, 0x04, 0x03, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x1E, 0x04, 0x01, b, 1), SW_WRONG_LENGTH);
    /* Fields. */
    assert_int_equal(set_civil(1969, 12, 31, 3, 23, 59, 59), SW_WRONG_DATA);
    assert_int_equal(set_civil(2100, 1, 1, 5, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 0, 1, 1, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 13, 1, 1, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 1, 0, 1, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 1, 32, 1, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2023, 2, 29, 3, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 4, 31, 3, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 2, 29, 4, 24, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 2, 29, 4, 0, 60, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 2, 29, 4, 0, 0, 60), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 2, 29, 7, 0, 0, 0), SW_WRONG_DATA);
    assert_int_equal(set_civil(2024, 2, 29, 3, 0, 0, 0), SW_WRONG_DATA); /* a Thursday */
    set_epoch(FK_RTC_EPOCH_MAX + 1u, SW_WRONG_DATA);
    set_epoch(UINT32_MAX, SW_WRONG_DATA);
    /* None of these set the clock. */
    assert_never_set();

    /* Nor do they change a clock that was set. */
    const uint64_t t0 = fk_hal_millis();
    set_epoch(1234567890u, SW_OK);
    assert_int_equal(set_civil(2024, 2, 30, 5, 0, 0, 0), SW_WRONG_DATA);
    set_epoch(FK_RTC_EPOCH_MAX + 1u, SW_WRONG_DATA);
    assert_int_equal(apdu(0x1C, 0x02, 0x02, b, 5), SW_WRONG_LENGTH);
    assert_clock_near(1234567890u, t0, read_epoch());
    /* The clock is volatile: nothing of this reached the store. */
    fk_store_stats_t after;
    fk_store_stats(&g_dev.svc.store, &after);
    assert_int_equal(after.used, before.used);
    assert_int_equal(after.files, before.files);
}

/* ---- Reboot ------------------------------------------------------------------- */

static void test_reboot(void **state)
{
    (void)state;
    fk_reboot_mode_t mode = FK_REBOOT_BOOTLOADER;
    uint8_t b = 0;
    assert_int_equal(apdu(0x1F, 0x02, 0x00, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x1F, 0x00, 0x01, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x1F, 0x00, 0x00, &b, 1), SW_WRONG_LENGTH);
    assert_false(fk_host_take_reboot(&mode));

    set_epoch(1700000000u, SW_OK);
    assert_int_equal(apdu(0x1F, FK_RESCUE_REBOOT_NORMAL, 0x00, NULL, 0), SW_OK);
    assert_true(fk_host_take_reboot(&mode));
    assert_int_equal(mode, FK_REBOOT_NORMAL);
    assert_never_set(); /* the clock does not survive a reboot */

    /* BOOTSEL needs the user. */
    set_epoch(1700000000u, SW_OK);
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(apdu(0x1F, FK_RESCUE_REBOOT_BOOTSEL, 0x00, NULL, 0), SW_CONDITIONS);
    assert_false(fk_host_take_reboot(&mode));
    read_epoch(); /* a refused reboot forgets nothing */
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(apdu(0x1F, FK_RESCUE_REBOOT_BOOTSEL, 0x00, NULL, 0), SW_OK);
    assert_true(fk_host_take_reboot(&mode));
    assert_int_equal(mode, FK_REBOOT_BOOTLOADER);
}

/* ---- Flash figures, configuration ------------------------------------------ */

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_flash_info(void **state)
{
    (void)state;
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_FLASH, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, FK_RESCUE_FLASH_INFO_LEN);
    uint32_t f[5];
    for (int i = 0; i < 5; i++) f[i] = be32_at(g_out + 4 * i);
    fk_store_stats_t a, b;
    fk_store_stats(&g_dev.svc.store, &a);
    fk_store_stats(&g_dev.svc.counters, &b);
    assert_int_equal(f[0], a.free + b.free);
    assert_int_equal(f[1], a.used + b.used);
    assert_int_equal(f[2], a.total + b.total);
    assert_int_equal(f[3], a.files + b.files);
    assert_int_equal(f[4], FK_HOST_FLASH_SIZE);
    assert_true(f[0] + f[1] <= f[2]);
    assert_true(f[2] <= f[4]);

    /* A new record shows. */
    static const uint8_t phy[] = {0x04, 0x01, 0x19};
    assert_int_equal(apdu(0x1C, 0x01, 0x00, phy, sizeof(phy)), SW_OK);
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_FLASH, 0x00, NULL, 0), SW_OK);
    assert_int_equal(be32_at(g_out + 12), f[3] + 1);
    assert_true(be32_at(g_out + 4) > f[1]);
    assert_int_equal(apdu(0x1E, 0x01, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, sizeof(phy));
    assert_memory_equal(g_out, phy, sizeof(phy));
}

/* Where the header of the record whose payload is `payload` starts in the
 * flash file (the payload follows its 32-byte header). */
static long header_of(const void *payload, size_t len)
{
    static uint8_t image[FK_HOST_FLASH_SIZE];
    assert_int_equal(fk_devrig_load_file(g_rig.flash, image, sizeof(image)), sizeof(image));
    const uint8_t *hit = memmem(image, sizeof(image), payload, len);
    assert_non_null(hit);
    assert_null(memmem(hit + 1, sizeof(image) - (size_t)(hit + 1 - image), payload, len));
    return (long)(hit - image) - 32;
}

static void restart_rescue(void)
{
    fk_devrig_start(&g_rig);
    uint8_t sel[5 + FK_RESCUE_AID_LEN] = {0x00, 0xA4, 0x04, 0x0C, FK_RESCUE_AID_LEN};
    memcpy(sel + 5, fk_rescue_aid, FK_RESCUE_AID_LEN);
    assert_int_equal(xfer(sel, sizeof(sel)), SW_OK);
}

/* 1E 02 01: the five figures of 1E 02 00, then what the flash has been
 * through: one flipped header bit is repaired (and the record reads back),
 * two cost the record, and the count of damage shows it. */
static void test_flash_health(void **state)
{
    (void)state;
    uint8_t plain[FK_RESCUE_FLASH_INFO_LEN];
    uint32_t f[9];
    static const uint8_t phy[] = {0x04, 0x01, 0x19, 0x06, 0x02, 0x3A, 0x5C};

    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_FLASH, 0x00, NULL, 0), SW_OK);
    memcpy(plain, g_out, sizeof(plain));
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_FLASH, FK_RESCUE_FLASH_HEALTH, NULL, 0), SW_OK);
    assert_int_equal(g_len, FK_RESCUE_FLASH_HEALTH_LEN);
    assert_memory_equal(g_out, plain, sizeof(plain));
    for (int i = 0; i < 9; i++) f[i] = be32_at(g_out + 4 * i);
    assert_int_equal(f[5], 0); /* repaired */
    assert_int_equal(f[6], 0); /* damaged */
    assert_true(f[7] <= f[8]);

    assert_int_equal(apdu(0x1C, 0x01, 0x00, phy, sizeof(phy)), SW_OK);
    fk_devrig_stop(&g_rig);
    const long hdr = header_of(phy, sizeof(phy));
    fk_devrig_file_xor(g_rig.flash, hdr + 8, 0x04); /* one bit of the payload length */
    restart_rescue();
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_FLASH, FK_RESCUE_FLASH_HEALTH, NULL, 0), SW_OK);
    assert_int_equal(be32_at(g_out + 20), 1);
    assert_int_equal(be32_at(g_out + 24), 0);
    assert_int_equal(apdu(0x1E, 0x01, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, sizeof(phy));
    assert_memory_equal(g_out, phy, sizeof(phy));

    /* A second bit in the same header: beyond repair, the record is lost
     * (and only it: the device key still signs). */
    fk_devrig_stop(&g_rig);
    fk_devrig_file_xor(g_rig.flash, hdr + 4, 0x01);
    restart_rescue();
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_FLASH, FK_RESCUE_FLASH_HEALTH, NULL, 0), SW_OK);
    assert_true(be32_at(g_out + 24) >= 1);
    assert_int_equal(apdu(0x1E, 0x01, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, 0);
    uint8_t hash[FK_RESCUE_HASH_LEN] = {1, 2, 3};
    assert_int_equal(apdu(FK_RESCUE_INS_DEVKEY, FK_RESCUE_DEVKEY_SIGN, 0x00, hash, sizeof(hash)),
                     SW_OK);
}

static void test_read_info_errors(void **state)
{
    (void)state;
    uint8_t b = 0;
    static const uint8_t p1s[] = {0x01, 0x02, 0x03, 0x06, 0x07};
    for (size_t i = 0; i < sizeof(p1s); i++) {
        /* 1E 02 has a P2 01 (the flash's health), never a 02. */
        assert_int_equal(apdu(0x1E, p1s[i], p1s[i] == 0x02 ? 0x02 : 0x01, NULL, 0), SW_P1P2);
        assert_int_equal(apdu(0x1E, p1s[i], 0x80, NULL, 0), SW_P1P2);
        assert_int_equal(apdu(0x1E, p1s[i], 0x00, &b, 1), SW_WRONG_LENGTH);
    }
    assert_int_equal(apdu(0x1E, 0x00, 0x00, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x1E, 0x05, 0x00, NULL, 0), SW_P1P2);
    assert_int_equal(apdu(0x1E, 0x08, 0x00, NULL, 0), SW_P1P2);
    /* Presence declined on the configuration write: 6985, nothing stored. */
    static const uint8_t phy[] = {0x04, 0x01, 0x19};
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(apdu(0x1C, 0x01, 0x00, phy, sizeof(phy)), SW_CONDITIONS);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(apdu(0x1E, 0x01, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, 0);
}

/* ---- Secure-boot and anti-rollback status --------------------------------- */

static void boot_status(uint8_t enabled, uint8_t locked, uint8_t slot)
{
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_BOOT, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, 3);
    assert_int_equal(g_out[0], enabled);
    assert_int_equal(g_out[1], locked);
    assert_int_equal(g_out[2], slot);
}

static void test_boot_status(void **state)
{
    (void)state;
    boot_status(0, 0, 0xFF);
    /* SECURE_BOOT_ENABLE counts from 3 of the 8 CRIT1 rows on. */
    crit1_secure_boot(2);
    boot_status(0, 0, 0xFF);
    crit1_secure_boot(3);
    boot_status(1, 0, 0xFF);
    /* KEY_VALID by the 2-of-3 vote; KEY_INVALID revokes; lowest valid slot. */
    const uint16_t bf1 = FK_OTP_ROW_BOOT_FLAGS1;
    otp_rbit3(bf1, 0x001, 0, 0);
    boot_status(1, 0, 0xFF);
    otp_rbit3(bf1, 0, 0x001, 0);
    boot_status(1, 0, 0);
    otp_rbit3(bf1, 0x100, 0x100, 0); /* slot 0 revoked */
    boot_status(1, 0, 0xFF);
    otp_rbit3(bf1, 0x004, 0, 0x004); /* slot 2 valid */
    boot_status(1, 0, 2);
    otp_rbit3(bf1, 0x00A, 0x00A, 0); /* slots 1 and 3 valid too */
    boot_status(1, 0, 1);
    otp_rbit3(bf1, 0x200, 0, 0x200); /* slot 1 revoked */
    boot_status(1, 0, 2);
    /* Pages 1/2 bootloader lock: LOCK_BL of either, by the byte vote. */
    otp_or((uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), 0x040404); /* factory: NS read-only only */
    boot_status(1, 0, 2);
    otp_or((uint16_t)FK_OTP_ROW_PAGE_LOCK1(2), 0x100000); /* one byte copy of three */
    boot_status(1, 0, 2);
    otp_or((uint16_t)FK_OTP_ROW_PAGE_LOCK1(2), 0x001000); /* two: BL read-only */
    boot_status(1, 1, 2);
}

static void test_boot_status_page1_lock(void **state)
{
    (void)state;
    otp_or((uint16_t)FK_OTP_ROW_PAGE_LOCK1(1), FK_OTP_LOCK1_BOOT_PAGES);
    boot_status(0, 1, 0xFF);
}

/* Boot-key rows the firmware cannot read do not change the answer: it
 * comes from the flags. */
static void test_boot_status_unreadable_boot_keys(void **state)
{
    (void)state;
    crit1_secure_boot(3);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS1, 0x002, 0x002, 0);
    assert_int_equal(fk_otp_sw_lock(otp_model(), FK_OTP_SECURE,
                                    FK_OTP_PAGE_OF(FK_OTP_ROW_BOOTKEY(0)), FK_OTP_LOCK_INACCESSIBLE),
                     FK_OTP_OK);
    boot_status(1, 0, 1);
}

static void rollback_status(uint8_t required, uint8_t floor_)
{
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_ROLLBACK, 0x00, NULL, 0), SW_OK);
    assert_int_equal(g_len, 3);
    assert_int_equal(g_out[0], required);
    assert_int_equal(g_out[1], floor_);
    assert_int_equal(g_out[2], 48);
}

static void test_rollback_status(void **state)
{
    (void)state;
    rollback_status(0, 0);
    otp_rbit3(FK_OTP_ROW_BOOT_VERSION0, 0x5, 0, 0); /* one copy: not a vote */
    rollback_status(0, 0);
    otp_rbit3(FK_OTP_ROW_BOOT_VERSION0, 0, 0x5, 0); /* bits {0, 2}: floor 3, not 2 */
    rollback_status(0, 3);
    otp_rbit3(FK_OTP_ROW_BOOT_VERSION0, 0x800000, 0, 0x800000); /* bit 23 */
    rollback_status(0, 24);
    otp_rbit3(FK_OTP_ROW_BOOT_VERSION1, 0x1, 0x1, 0); /* bit 24 */
    rollback_status(0, 25);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS0, RR, 0, 0);
    rollback_status(0, 25);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS0, 0, 0, RR);
    rollback_status(1, 25);
}

static void test_status_otp_unreadable(void **state)
{
    (void)state;
    fk_host_otp_close();
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_BOOT, 0x00, NULL, 0), SW_EXEC_ERROR);
    assert_int_equal(apdu(0x1E, FK_RESCUE_INFO_ROLLBACK, 0x00, NULL, 0), SW_EXEC_ERROR);
    assert_int_equal(apdu(0x1B, 0x58, 0x00, FK_RESCUE_MAGIC_LOCK58, 6), SW_EXEC_ERROR);
    assert_int_equal(apdu(0x1B, 0x48, 0x00, FK_RESCUE_MAGIC_ROLLBACK, 6), SW_EXEC_ERROR);
    assert_int_equal(fk_host_otp_open(g_rig.otp), 0);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
}

/* ---- 1B 58: the page-58 lock (spec scenario 17) ------------------------------ */

/* The MKEK burnt as the tool does it, then the device started again: the
 * migration to the OTP root runs at that start (nothing to move on a device
 * whose HSM was never initialized: it is done at once). */
static void burn_mkek_and_restart(void)
{
    burn_mkek();
    fk_card_power_off(&g_dev.card);
    assert_int_equal(fk_devrig_init(&g_dev), FK_SERVICES_OK);
    fk_card_power_on(&g_dev.card);
    uint8_t sel[5 + FK_RESCUE_AID_LEN + 1] = {0x00, 0xA4, 0x04, 0x04, FK_RESCUE_AID_LEN};
    memcpy(sel + 5, fk_rescue_aid, FK_RESCUE_AID_LEN);
    assert_int_equal(xfer(sel, sizeof(sel)), SW_OK);
    fk_migration_status_t st;
    fk_services_migration_state(&g_dev.svc, &st);
    assert_int_equal(st.state, FK_MIGRATION_DONE);
}

static uint16_t lock58(void)
{
    return apdu(FK_RESCUE_INS_OTP, FK_RESCUE_OTP_LOCK58, 0x00, FK_RESCUE_MAGIC_LOCK58,
                FK_RESCUE_MAGIC_LEN);
}

static void test_lock58_blank_writes(void **state)
{
    (void)state;
    uint8_t d[32], pub[65], got[65];
    new_scalar(d, pub);
    otp_key(FK_OTP_ROW_DEVK, d);
    burn_mkek_and_restart();
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
    assert_int_equal(lock58(), SW_OK);
    assert_int_equal(g_len, 0);
    assert_int_equal(otp_raw(LOCK58_ROW), FK_OTP_LOCK1_PAGE58);
    /* Idempotent: no write and no presence (a declined one would say 6985). */
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(lock58(), SW_OK);
    assert_int_equal(otp_raw(LOCK58_ROW), FK_OTP_LOCK1_PAGE58);

    /* After a restart (the lock loaded at the OTP reset) the firmware, the
     * secure principal, still reads page 58: its key and its master key. */
    fk_card_power_off(&g_dev.card);
    fk_host_otp_close();
    assert_int_equal(fk_host_otp_open(g_rig.otp), 0);
    assert_int_equal(fk_devrig_init(&g_dev), FK_SERVICES_OK);
    fk_card_power_on(&g_dev.card);
    assert_int_equal(xfer((const uint8_t *)"\x00\xA4\x04\x0C\x08\xA0\x58\x3F\xC1\x9B\x7E\x4F\x21",
                          13),
                     SW_OK);
    assert_int_equal(lock58(), SW_OK);
    fk_root_t root;
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
    get_pubkey(got);
    assert_memory_equal(got, pub, 65);
}

static void test_lock58_refusals(void **state)
{
    (void)state;
    /* No MKEK: 6985, nothing written, nothing asked. */
    assert_int_equal(lock58(), SW_CONDITIONS);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
    /* Magic: exactly "LOCK58". */
    static const char *const bad[] = {"LOCK57", "lock58", "LOCK5", "LOCK580", "ROLLBK"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(apdu(0x1B, 0x58, 0x00, bad[i], strlen(bad[i])), SW_REF_DATA_NOT_USABLE);
    assert_int_equal(apdu(0x1B, 0x58, 0x00, NULL, 0), SW_REF_DATA_NOT_USABLE);
    /* P1/P2 first. */
    assert_int_equal(apdu(0x1B, 0x58, 0x01, FK_RESCUE_MAGIC_LOCK58, 6), SW_P1P2);
    assert_int_equal(apdu(0x1B, 0x58, 0x01, "LOCK57", 6), SW_P1P2);
    assert_int_equal(apdu(0x1B, 0x59, 0x00, FK_RESCUE_MAGIC_LOCK58, 6), SW_P1P2);
    assert_int_equal(apdu(0x1B, 0x00, 0x00, FK_RESCUE_MAGIC_LOCK58, 6), SW_P1P2);

    burn_mkek_and_restart();
    assert_int_equal(apdu(0x1B, 0x58, 0x00, "LOCK57", 6), SW_REF_DATA_NOT_USABLE);
    assert_int_equal(apdu(0x1B, 0x58, 0x01, FK_RESCUE_MAGIC_LOCK58, 6), SW_P1P2);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
    /* Declined presence: 6985, nothing written. */
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(lock58(), SW_CONDITIONS);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(lock58(), SW_OK);
    assert_int_equal(otp_raw(LOCK58_ROW), FK_OTP_LOCK1_PAGE58);
}

/* Any other lock value: 6985, never ORed into (0x040404 | 0x3C3C3C would
 * have been a valid write). */
static void test_lock58_other_value_040404(void **state)
{
    (void)state;
    burn_mkek_and_restart();
    otp_or(LOCK58_ROW, 0x040404);
    assert_int_equal(lock58(), SW_CONDITIONS);
    assert_int_equal(otp_raw(LOCK58_ROW), 0x040404);
}

static void test_lock58_other_value_3d3d3d(void **state)
{
    (void)state;
    burn_mkek_and_restart();
    otp_or(LOCK58_ROW, 0x3D3D3D);
    assert_int_equal(lock58(), SW_CONDITIONS);
    assert_int_equal(otp_raw(LOCK58_ROW), 0x3D3D3D);
}

/* Two copies of the lock byte read 0x3C by the vote, but the row is not
 * the value this product writes: 6985, never ORed into. */
static void test_lock58_other_value_two_copies(void **state)
{
    (void)state;
    burn_mkek_and_restart();
    otp_or(LOCK58_ROW, 0x003C3C);
    assert_int_equal(lock58(), SW_CONDITIONS);
    assert_int_equal(otp_raw(LOCK58_ROW), 0x003C3C);
}

/* An MKEK that cannot be read (an uncorrectable row): 6400, nothing written. */
static void test_lock58_mkek_damaged(void **state)
{
    (void)state;
    burn_mkek_and_restart();
    uint32_t bits = 0x000003;
    while (otp_raw(FK_OTP_ROW_MKEK + 3) & bits) bits <<= 2;
    otp_or(FK_OTP_ROW_MKEK + 3, bits);
    assert_int_equal(lock58(), SW_EXEC_ERROR);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
}

/* A lock write that does not read back (lost, or refused): 6400; one that
 * took but reported failing is there at the next try: 9000, no write. */
static void test_lock58_write_fails(void **state)
{
    (void)state;
    burn_mkek_and_restart();
    fk_otphook_rows(LOCK58_ROW, 1, 0xFFFFFF, false);
    assert_int_equal(lock58(), SW_EXEC_ERROR);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
    fk_otphook_rows(LOCK58_ROW, 1, 0xFFFFFF, true);
    assert_int_equal(lock58(), SW_EXEC_ERROR);
    assert_int_equal(otp_raw(LOCK58_ROW), 0);
    fk_otphook_rows(LOCK58_ROW, 1, 0, true);
    assert_int_equal(lock58(), SW_EXEC_ERROR);
    assert_int_equal(otp_raw(LOCK58_ROW), FK_OTP_LOCK1_PAGE58);
    fk_otphook_off();
    fk_host_set_presence(FK_HOST_PRESENCE_DENY); /* not asked again */
    assert_int_equal(lock58(), SW_OK);
}

/* The lock value without an MKEK: the MKEK check comes first. */
static void test_lock58_locked_without_mkek(void **state)
{
    (void)state;
    otp_or(LOCK58_ROW, FK_OTP_LOCK1_PAGE58);
    assert_int_equal(lock58(), SW_CONDITIONS);
}

/* ---- 1B 48: ROLLBACK_REQUIRED (spec scenario 18) ----------------------------- */

static uint16_t rollback_require(void)
{
    return apdu(FK_RESCUE_INS_OTP, FK_RESCUE_OTP_ROLLBACK, 0x00, FK_RESCUE_MAGIC_ROLLBACK,
                FK_RESCUE_MAGIC_LEN);
}

static void assert_flags0(uint32_t c0, uint32_t c1, uint32_t c2)
{
    assert_int_equal(otp_raw(FK_OTP_ROW_BOOT_FLAGS0), c0);
    assert_int_equal(otp_raw(FK_OTP_ROW_BOOT_FLAGS0 + 1), c1);
    assert_int_equal(otp_raw(FK_OTP_ROW_BOOT_FLAGS0 + 2), c2);
}

static void test_rollback_secure_boot_off(void **state)
{
    (void)state;
    assert_int_equal(rollback_require(), SW_CONDITIONS);
    crit1_secure_boot(2); /* 2 of 8: not enabled */
    assert_int_equal(rollback_require(), SW_CONDITIONS);
    assert_flags0(0, 0, 0);
    crit1_secure_boot(3);
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(RR, RR, RR);
    rollback_status(1, 0);
}

static void test_rollback_two_of_three(void **state)
{
    (void)state;
    crit1_secure_boot(FK_OTP_CRIT_COPIES);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS0, RR, 0, RR);
    fk_host_set_presence(FK_HOST_PRESENCE_DENY); /* not even asked */
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(RR, 0, RR);
}

static void test_rollback_one_of_three(void **state)
{
    (void)state;
    crit1_secure_boot(3);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS0, 0, RR, 0);
    rollback_status(0, 0);
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(RR, RR, RR);
    rollback_status(1, 0);
}

static void test_rollback_keeps_other_bits(void **state)
{
    (void)state;
    crit1_secure_boot(3);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS0, 0x1, 0x2 | RR, 0x30004);
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(0x1 | RR, 0x2 | RR, 0x30004 | RR);
}

/* A copy that cannot be written does not matter while the vote of the
 * other two has the bit; when it has not, 6400. */
static void test_rollback_torn(void **state)
{
    (void)state;
    crit1_secure_boot(3);
    fk_otphook_rows(FK_OTP_ROW_BOOT_FLAGS0, 1, RR, true);
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(0, RR, RR);
    fk_otphook_off();
}

static void test_rollback_write_lost(void **state)
{
    (void)state;
    crit1_secure_boot(3);
    fk_otphook_rows(FK_OTP_ROW_BOOT_FLAGS0 + 1, 2, RR, false);
    assert_int_equal(rollback_require(), SW_EXEC_ERROR);
    assert_flags0(RR, 0, 0);
    rollback_status(0, 0);
    fk_otphook_off();
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(RR, RR, RR);
}

static void test_rollback_refusals(void **state)
{
    (void)state;
    /* The magic before the state. */
    assert_int_equal(apdu(0x1B, 0x48, 0x00, "ROLLBA", 6), SW_REF_DATA_NOT_USABLE);
    assert_int_equal(apdu(0x1B, 0x48, 0x00, FK_RESCUE_MAGIC_LOCK58, 6), SW_REF_DATA_NOT_USABLE);
    assert_int_equal(apdu(0x1B, 0x48, 0x00, "ROLLBKX", 7), SW_REF_DATA_NOT_USABLE);
    assert_int_equal(apdu(0x1B, 0x48, 0x00, NULL, 0), SW_REF_DATA_NOT_USABLE);
    assert_int_equal(apdu(0x1B, 0x48, 0x01, FK_RESCUE_MAGIC_ROLLBACK, 6), SW_P1P2);
    assert_int_equal(apdu(0x1B, 0x49, 0x00, FK_RESCUE_MAGIC_ROLLBACK, 6), SW_P1P2);
    crit1_secure_boot(3);
    otp_rbit3(FK_OTP_ROW_BOOT_FLAGS0, 0x1, 0, 0);
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(rollback_require(), SW_CONDITIONS);
    assert_flags0(0x1, 0, 0);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(rollback_require(), SW_OK);
    assert_flags0(0x1 | RR, RR, RR);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_class_and_instructions),
        T(test_devkey_flash_form),
        T(test_devkey_command_errors),
        T(test_devkey_moves_to_otp),
        T(test_devkey_otp_known_answer),
        T(test_devkey_otp_scalar_out_of_range),
        T(test_devkey_otp_destroyed_rows),
        T(test_devkey_otp_uncorrectable_row),
        T(test_devkey_otp_unreadable),
        T(test_migrate_reseals_flash_key),
        T(test_migrate_otp_unreadable),
        T(test_migrate_damaged_devk),
        T(test_migrate_devk_locked),
        T(test_rtc_civil_round_trip),
        T(test_rtc_epoch_round_trip),
        T(test_rtc_invalid),
        T(test_reboot),
        T(test_flash_info),
        T(test_flash_health),
        T(test_read_info_errors),
        T(test_boot_status),
        T(test_boot_status_page1_lock),
        T(test_boot_status_unreadable_boot_keys),
        T(test_rollback_status),
        T(test_status_otp_unreadable),
        T(test_lock58_blank_writes),
        T(test_lock58_refusals),
        T(test_lock58_other_value_040404),
        T(test_lock58_other_value_3d3d3d),
        T(test_lock58_other_value_two_copies),
        T(test_lock58_mkek_damaged),
        T(test_lock58_write_fails),
        T(test_lock58_locked_without_mkek),
        T(test_rollback_secure_boot_off),
        T(test_rollback_two_of_three),
        T(test_rollback_one_of_three),
        T(test_rollback_keeps_other_bits),
        T(test_rollback_torn),
        T(test_rollback_write_lost),
        T(test_rollback_refusals),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
