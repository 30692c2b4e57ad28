/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of core/seal over the real store and the host port's
 * file-backed flash and OTP: round trips, binding to the file id, tamper
 * detection, the device and OTP roots and the move between them, PIN
 * verifiers, and what reaches the flash file.
 *
 * Each "device" is a pair of files (flash image, OTP image) in a fresh
 * temporary directory plus a chip serial.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "hal.h"
#include "host_port.h"
#include "otp_model.h"
#include "seal/seal.h"
#include "services/ns.h"
#include "store/space.h"
#include "store/store.h"

#define FLASH_SIZE (256u * 1024u)
#define REGION_BASE 0u
#define REGION_SIZE FLASH_SIZE
#define FID_A 0x0101u
#define FID_B 0x0102u
#define PATH_CAP 256u
#define MKEK_BYTES 32u

static fk_store_t g_store;
/* The records under test live in one applet's namespace; the seed in the
 * services' own. */
static const fk_space_t g_sp = {&g_store, FK_NS_HSM};
static const fk_space_t g_seed_sp = {&g_store, FK_NS_SERVICES};
#define SEED FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED)
#define SEED_COPY FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED_COPY)
static fk_seal_init_info_t g_init_info;
static char g_dir[PATH_CAP];
static const uint8_t k_serial_1[8] = {0xE1, 0x10, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
static const uint8_t k_serial_2[8] = {0xE2, 0x10, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
static const char k_secret[] = "private key material: d = 0x1d2c3b4a59687786950a1b2c3d4e5f60";

/* ---- Devices ------------------------------------------------------------ */

static void dev_path(char *out, const char *name, const char *ext)
{
    int n = snprintf(out, PATH_CAP, "%s/%s.%s", g_dir, name, ext);
    assert_true(n > 0 && (size_t)n < PATH_CAP);
}

/* Open (creating when absent) device `name`, mount its store and run
 * fk_seal_init; returns fk_seal_init's result. */
static int dev_open(const char *name, const uint8_t serial[8])
{
    char path[PATH_CAP];

    dev_path(path, name, "flash");
    assert_int_equal(fk_host_flash_open(path, FLASH_SIZE), 0);
    dev_path(path, name, "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    fk_host_set_serial(serial);
    assert_int_equal(fk_store_mount(&g_store, REGION_BASE, REGION_SIZE), FK_STORE_OK);
    return fk_seal_init(&g_store, &g_init_info);
}

static void dev_close(void)
{
    fk_host_flash_close();
    fk_host_otp_close();
}

static void copy_file(const char *from_name, const char *to_name, const char *ext)
{
    char from[PATH_CAP], to[PATH_CAP], buf[4096];
    size_t n;
    FILE *in, *out;

    dev_path(from, from_name, ext);
    dev_path(to, to_name, ext);
    in = fopen(from, "rb");
    out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static fk_otp_t *otp_model(void)
{
    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    return m;
}

/* Burn an MKEK into the open OTP image as `fusekey otp burn` does: ECC rows
 * from BOOTSEL, then the reset of the next start. */
static void provision_mkek(uint8_t fill)
{
    uint16_t rows[FK_OTP_KEY_ROWS];
    for (size_t i = 0; i < FK_OTP_KEY_ROWS; i++) rows[i] = (uint16_t)(fill * 0x0101u + i);
    fk_otp_enter_bootsel(otp_model());
    assert_int_equal(
        fk_otp_write_ecc(otp_model(), FK_OTP_BOOTSEL, FK_OTP_ROW_MKEK, rows, FK_OTP_KEY_ROWS),
        FK_OTP_OK);
    fk_otp_reset(otp_model());
}

/* Add bits to a raw row of the open OTP image (cur | bits). */
static void otp_or(uint16_t row, uint32_t bits)
{
    const uint32_t v = otp_model()->raw[row] | bits;
    assert_int_equal(fk_otp_write_raw(otp_model(), FK_OTP_SECURE, row, &v, 1), FK_OTP_OK);
}

/* True when the needle occurs anywhere in device `name`'s flash file. */
static bool flash_contains(const char *name, const void *needle, size_t len)
{
    static uint8_t image[FLASH_SIZE];
    char path[PATH_CAP];
    FILE *f;

    dev_path(path, name, "flash");
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(image, 1, sizeof(image), f), sizeof(image));
    fclose(f);
    return memmem(image, sizeof(image), needle, len) != NULL;
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

/* The raw record `key` as the store holds it. */
static size_t read_raw_key(fk_store_key_t key, uint8_t *buf, size_t cap)
{
    uint32_t size = 0;
    assert_int_equal(fk_store_size(&g_store, key, &size), FK_STORE_OK);
    assert_true(size <= cap);
    assert_int_equal(fk_store_read(&g_store, key, 0, buf, size), FK_STORE_OK);
    return size;
}

/* The raw sealed record `fid` of the test namespace. */
static size_t read_raw(uint16_t fid, uint8_t *buf, size_t cap)
{
    return read_raw_key(fk_space_key(&g_sp, fid), buf, cap);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(g_dir, sizeof(g_dir), "%s/fk-seal-XXXXXX", tmp != NULL ? tmp : "/tmp");
    assert_true(n > 0 && (size_t)n < sizeof(g_dir));
    assert_non_null(mkdtemp(g_dir));
    fk_host_set_rng_failure(false);
    fk_rng_forget();
    return 0;
}

static int teardown(void **state)
{
    static const char *const names[] = {"d1", "d2", "d3", "d4"};
    static const char *const exts[] = {"flash", "otp"};
    char path[PATH_CAP];
    (void)state;

    dev_close();
    fk_host_set_rng_failure(false);
    fk_rng_forget();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (size_t j = 0; j < sizeof(exts) / sizeof(exts[0]); j++) {
            dev_path(path, names[i], exts[j]);
            (void)unlink(path);
        }
    }
    assert_int_equal(rmdir(g_dir), 0);
    return 0;
}

/* ---- Records ------------------------------------------------------------ */

static void test_round_trip(void **state)
{
    uint8_t rec[256], pt[256];
    size_t rec_len = 0, pt_len = 0;
    fk_root_t root;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_DEVICE);

    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, sizeof(k_secret), rec, sizeof(rec),
                             &rec_len),
                     FK_SEAL_OK);
    assert_int_equal(rec_len, sizeof(k_secret) + FK_SEAL_OVERHEAD);
    assert_int_equal(rec[0], FK_SEAL_VERSION);
    assert_int_equal(rec[1], FK_ROOT_DEVICE);
    assert_null(memmem(rec, rec_len, k_secret, 16));
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_OK);
    assert_int_equal(pt_len, sizeof(k_secret));
    assert_memory_equal(pt, k_secret, sizeof(k_secret));

    /* Through the store, and an empty secret. */
    assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, sizeof(k_secret)), FK_SEAL_OK);
    memset(pt, 0, sizeof(pt));
    assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_int_equal(pt_len, sizeof(k_secret));
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
    assert_int_equal(fk_seal_store(&g_sp, FID_A, NULL, 0), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_int_equal(pt_len, 0);

    /* Two seals of the same secret differ (fresh nonce). */
    uint8_t rec2[256];
    size_t rec2_len = 0;
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, sizeof(k_secret), rec2, sizeof(rec2),
                             &rec2_len),
                     FK_SEAL_OK);
    assert_memory_not_equal(rec, rec2, rec_len);

    assert_int_equal(fk_seal_load(&g_sp, 0x0777, pt, sizeof(pt), &pt_len), FK_SEAL_ENOENT);
}

static void test_moved_to_other_fid(void **state)
{
    uint8_t rec[256], pt[256];
    size_t rec_len = 0, pt_len = 1;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, sizeof(k_secret), rec, sizeof(rec),
                             &rec_len),
                     FK_SEAL_OK);
    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_unseal(&g_sp, FID_B, rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);
    assert_int_equal(pt_len, 0);
    assert_true(all_zero(pt, sizeof(pt)));

    /* The same move done inside the store. */
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, sizeof(k_secret)), FK_SEAL_OK);
    rec_len = read_raw(FID_A, rec, sizeof(rec));
    assert_int_equal(fk_space_write(&g_sp, FID_B, rec, rec_len), FK_STORE_OK);
    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len), FK_SEAL_EAUTH);
    assert_true(all_zero(pt, sizeof(pt)));
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
}

static void test_tamper_every_bit(void **state)
{
    uint8_t rec[128], bad[128], pt[128];
    size_t rec_len = 0, pt_len = 0;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, 40, rec, sizeof(rec), &rec_len),
                     FK_SEAL_OK);
    for (size_t i = 0; i < rec_len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(bad, rec, rec_len);
            bad[i] ^= (uint8_t)(1u << bit);
            memset(pt, 0xA5, sizeof(pt));
            int rc = fk_unseal(&g_sp, FID_A, bad, rec_len, pt, sizeof(pt), &pt_len);
            if (i < 2)
                assert_int_equal(rc, FK_SEAL_EFORMAT); /* version and root byte */
            else
                assert_int_equal(rc, FK_SEAL_EAUTH);
            assert_int_equal(pt_len, 0);
            assert_true(all_zero(pt, sizeof(pt)));
        }
    }
    /* The root byte switched to the other known root: still refused. */
    memcpy(bad, rec, rec_len);
    bad[1] = FK_ROOT_OTP;
    assert_int_equal(fk_unseal(&g_sp, FID_A, bad, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);
    /* Truncated and extended records. */
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len - 1, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);
    memcpy(bad, rec, rec_len);
    bad[rec_len] = 0;
    assert_int_equal(fk_unseal(&g_sp, FID_A, bad, rec_len + 1, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);

    /* A tampered stored record is refused by fk_seal_load too. */
    rec[rec_len / 2] ^= 0x01;
    assert_int_equal(fk_space_write(&g_sp, FID_B, rec, rec_len), FK_STORE_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len), FK_SEAL_EAUTH);
}

static void test_version_and_short(void **state)
{
    uint8_t rec[128], pt[128];
    size_t rec_len = 0, pt_len = 0;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, 20, rec, sizeof(rec), &rec_len),
                     FK_SEAL_OK);
    for (unsigned v = 0; v < 256; v++) {
        if (v == FK_SEAL_VERSION) continue;
        uint8_t bad[128];
        memcpy(bad, rec, rec_len);
        bad[0] = (uint8_t)v;
        memset(pt, 0xA5, sizeof(pt));
        assert_int_equal(fk_unseal(&g_sp, FID_A, bad, rec_len, pt, sizeof(pt), &pt_len),
                         FK_SEAL_EFORMAT);
        assert_true(all_zero(pt, sizeof(pt)));
    }
    for (size_t n = 0; n < FK_SEAL_OVERHEAD; n++) {
        memset(pt, 0xA5, sizeof(pt));
        assert_int_equal(fk_unseal(&g_sp, FID_A, rec, n, pt, sizeof(pt), &pt_len),
                         FK_SEAL_EFORMAT);
        assert_true(all_zero(pt, sizeof(pt)));
        /* Stored short records too. */
        assert_int_equal(fk_space_write(&g_sp, FID_B, rec, n), FK_STORE_OK);
        assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len),
                         FK_SEAL_EFORMAT);
    }
    assert_int_equal(fk_unseal(&g_sp, FID_A, NULL, 0, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EFORMAT);
}

static void test_buffers_too_small(void **state)
{
    static uint8_t big[FK_SEAL_MAX_PLAINTEXT + 1];
    uint8_t rec[128], pt[128];
    size_t rec_len = 7, pt_len = 7;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, 40, rec, 40 + FK_SEAL_OVERHEAD - 1,
                             &rec_len),
                     FK_SEAL_ENOSPC);
    assert_int_equal(rec_len, 0);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, 40, rec, 40 + FK_SEAL_OVERHEAD,
                             &rec_len),
                     FK_SEAL_OK);
    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len, pt, 39, &pt_len), FK_SEAL_ENOSPC);
    assert_int_equal(pt_len, 0);
    assert_true(all_zero(pt, 39));
    assert_int_equal(pt[39], 0xA5); /* nothing beyond pt_cap touched */
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len, pt, 40, &pt_len), FK_SEAL_OK);

    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 40), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, 39, &pt_len), FK_SEAL_ENOSPC);
    assert_true(all_zero(pt, 39));

    /* The static-buffer functions stop at FK_SEAL_MAX_PLAINTEXT. */
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (uint8_t)(i * 7u);
    assert_int_equal(fk_seal_store(&g_sp, FID_B, big, sizeof(big)), FK_SEAL_ENOSPC);
    uint32_t size;
    assert_int_equal(fk_space_size(&g_sp, FID_B, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_seal_store(&g_sp, FID_B, big, FK_SEAL_MAX_PLAINTEXT), FK_SEAL_OK);
    static uint8_t back[FK_SEAL_MAX_PLAINTEXT];
    assert_int_equal(fk_seal_load(&g_sp, FID_B, back, sizeof(back), &pt_len), FK_SEAL_OK);
    assert_int_equal(pt_len, FK_SEAL_MAX_PLAINTEXT);
    assert_memory_equal(back, big, FK_SEAL_MAX_PLAINTEXT);

    /* A stored record larger than any sealed record is not one. */
    static uint8_t huge[FK_SEAL_MAX_PLAINTEXT + FK_SEAL_OVERHEAD + 1];
    memset(huge, 0, sizeof(huge));
    huge[0] = FK_SEAL_VERSION;
    huge[1] = FK_ROOT_DEVICE;
    assert_int_equal(fk_space_write(&g_sp, FID_B, huge, sizeof(huge)), FK_STORE_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_B, back, sizeof(back), &pt_len),
                     FK_SEAL_EFORMAT);
}

static void test_seed_survives_remount(void **state)
{
    uint8_t seed1[32], seed2[32], pt[128], rec[128];
    size_t pt_len = 0, rec_len = 0;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    read_raw_key(SEED, seed1, sizeof(seed1));
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, sizeof(k_secret)), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_B, k_secret, 30, rec, sizeof(rec), &rec_len),
                     FK_SEAL_OK);
    dev_close();
    fk_rng_forget();

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(read_raw_key(SEED, seed2, sizeof(seed2)), sizeof(seed2));
    assert_memory_equal(seed1, seed2, sizeof(seed1));
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
    assert_int_equal(fk_unseal(&g_sp, FID_B, rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, 30);

    /* fk_seal_init again changes nothing. */
    assert_int_equal(fk_seal_init(&g_store, &g_init_info), FK_SEAL_OK);
    read_raw_key(SEED, seed2, sizeof(seed2));
    assert_memory_equal(seed1, seed2, sizeof(seed1));
}

static void test_seed_record_guarded(void **state)
{
    uint8_t seed1[32], seed2[32];
    bool resealed = true;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_true(g_init_info.seed_created);
    read_raw_key(SEED, seed1, sizeof(seed1));
    read_raw_key(SEED_COPY, seed2, sizeof(seed2));
    assert_memory_equal(seed1, seed2, sizeof(seed1));
    assert_int_not_equal(fk_seal_store(&g_seed_sp, FK_ID_DEVICE_SEED, k_secret, 8), FK_SEAL_OK);
    assert_int_not_equal(fk_seal_store(&g_seed_sp, FK_ID_DEVICE_SEED_COPY, k_secret, 8),
                         FK_SEAL_OK);
    assert_int_not_equal(fk_seal_reseal(&g_seed_sp, FK_ID_DEVICE_SEED, &resealed), FK_SEAL_OK);
    assert_int_not_equal(fk_seal_reseal(&g_seed_sp, FK_ID_DEVICE_SEED_COPY, &resealed),
                         FK_SEAL_OK);
    assert_false(resealed);
    read_raw_key(SEED, seed2, sizeof(seed2));
    assert_memory_equal(seed1, seed2, sizeof(seed1));
    read_raw_key(SEED_COPY, seed2, sizeof(seed2));
    assert_memory_equal(seed1, seed2, sizeof(seed1));
}

/* Write `len` bytes of `seed` as seed record `key` (len 0: delete it). */
static void put_seed(fk_store_key_t key, const uint8_t *seed, size_t len)
{
    if (len == 0)
        assert_int_equal(fk_store_delete(&g_store, key), FK_STORE_OK);
    else
        assert_int_equal(fk_store_write(&g_store, key, seed, len), FK_STORE_OK);
}

static void assert_seed_is(const uint8_t seed[32])
{
    uint8_t raw[32];
    assert_int_equal(read_raw_key(SEED, raw, sizeof(raw)), sizeof(raw));
    assert_memory_equal(raw, seed, sizeof(raw));
    assert_int_equal(read_raw_key(SEED_COPY, raw, sizeof(raw)), sizeof(raw));
    assert_memory_equal(raw, seed, sizeof(raw));
}

/* One lost or damaged seed record costs nothing: sealing works from the
 * other and the next start writes it again. */
static void test_seed_copy_repairs(void **state)
{
    uint8_t seed[32], other[33], pt[64]; /* other: also a record one byte too long */
    size_t pt_len = 0;
    static const struct {
        fk_store_key_t key;
        size_t len; /* 0: deleted; 31: wrong size */
    } k_damage[] = {{SEED, 0}, {SEED_COPY, 0}, {SEED, 31}, {SEED_COPY, 31}, {SEED_COPY, 33}};
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    read_raw_key(SEED, seed, sizeof(seed));
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 8), FK_SEAL_OK);
    memset(other, 0x5A, sizeof(other));

    for (size_t i = 0; i < sizeof(k_damage) / sizeof(k_damage[0]); i++) {
        put_seed(k_damage[i].key, other, k_damage[i].len);
        /* Before any repair, the intact copy opens everything. */
        assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
        assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, 8), FK_SEAL_OK);
        assert_int_equal(fk_seal_init(&g_store, &g_init_info), FK_SEAL_OK);
        assert_true(g_init_info.seed_repaired);
        assert_false(g_init_info.seed_created);
        assert_seed_is(seed);
        /* Nothing left to repair. */
        assert_int_equal(fk_seal_init(&g_store, &g_init_info), FK_SEAL_OK);
        assert_false(g_init_info.seed_repaired);
        assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    }
}

/* A seed neither of whose records can be read, or whose copies disagree,
 * is reported and never replaced: the records sealed under it stay there,
 * unopenable, and open again once the seed is back. */
static void test_seed_unreadable_never_replaced(void **state)
{
    uint8_t seed[32], other[32], pt[64];
    size_t pt_len = 0;
    uint32_t size = 0;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    read_raw_key(SEED, seed, sizeof(seed));
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 8), FK_SEAL_OK);
    memset(other, 0x5A, sizeof(other));

    /* Both copies the wrong size; one wrong, the other gone; two that differ. */
    for (int round = 0; round < 3; round++) {
        put_seed(SEED, other, round == 2 ? 32 : 31);
        put_seed(SEED_COPY, other, round == 0 ? 31 : 0);
        if (round == 2) put_seed(SEED_COPY, seed, 32);
        assert_int_equal(fk_seal_init(&g_store, &g_init_info), FK_SEAL_ESTORE);
        assert_false(g_init_info.seed_created);
        assert_false(g_init_info.seed_repaired);
        assert_int_equal(fk_store_size(&g_store, SEED, &size), FK_STORE_OK);
        assert_int_equal(size, round == 2 ? 32u : 31u);
        assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, 8), FK_SEAL_ESTORE);
        assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_ESTORE);
        bool present = false;
        assert_int_equal(fk_seal_device_root_present(&g_store, &present), FK_SEAL_OK);
        assert_true(present);
        /* Restored, everything opens again. */
        put_seed(SEED, seed, 32);
        put_seed(SEED_COPY, seed, 32);
        assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    }

    /* Both records gone: a fresh seed, and what the old one sealed is lost
     * (never opened under the new one). */
    put_seed(SEED, seed, 0);
    put_seed(SEED_COPY, seed, 0);
    assert_int_equal(fk_seal_init(&g_store, &g_init_info), FK_SEAL_OK);
    assert_true(g_init_info.seed_created);
    read_raw_key(SEED, other, sizeof(other));
    assert_memory_not_equal(other, seed, sizeof(seed));
    assert_seed_is(other);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_EAUTH);
}

/* A bit flipped in the flash bytes of one seed record: the store's checksum
 * refuses that record, the copy carries on, the next start repairs. */
static void test_seed_bit_flip_in_flash(void **state)
{
    static uint8_t image[FLASH_SIZE];
    char path[PATH_CAP];
    uint8_t seed[32], pt[64];
    size_t pt_len = 0;
    FILE *f;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    read_raw_key(SEED, seed, sizeof(seed));
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 8), FK_SEAL_OK);
    dev_close();

    dev_path(path, "d1", "flash");
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fread(image, 1, sizeof(image), f), sizeof(image));
    uint8_t *hit = memmem(image, sizeof(image), seed, sizeof(seed));
    assert_non_null(hit);
    /* Only two copies in the whole image (no stale one left behind). */
    uint8_t *second = memmem(hit + 1, sizeof(image) - (size_t)(hit + 1 - image), seed, 32);
    assert_non_null(second);
    assert_null(memmem(second + 1, sizeof(image) - (size_t)(second + 1 - image), seed, 32));
    hit[7] ^= 0x10u;
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(image, 1, sizeof(image), f), sizeof(image));
    assert_int_equal(fclose(f), 0);

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_true(g_init_info.seed_repaired);
    assert_seed_is(seed);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, 8);
}

/* ---- Roots -------------------------------------------------------------- */

static void test_mkek_provisioning(void **state)
{
    uint8_t raw[128], pt[128];
    size_t pt_len = 0;
    fk_root_t root;
    bool resealed = false;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, sizeof(k_secret)), FK_SEAL_OK);
    assert_int_equal(fk_seal_reseal(&g_sp, FID_A, &resealed), FK_SEAL_OK);
    assert_false(resealed); /* already under the current root */

    provision_mkek(0x5A);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
    assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, 33), FK_SEAL_OK);
    read_raw(FID_A, raw, sizeof(raw));
    assert_int_equal(raw[1], FK_ROOT_DEVICE);
    read_raw(FID_B, raw, sizeof(raw));
    assert_int_equal(raw[1], FK_ROOT_OTP);

    dev_close();
    fk_rng_forget();
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
    assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_int_equal(pt_len, 33);
    assert_memory_equal(pt, k_secret, 33);

    /* Migration step: the device-root record moves to the OTP root. */
    assert_int_equal(fk_seal_reseal(&g_sp, FID_A, &resealed), FK_SEAL_OK);
    assert_true(resealed);
    read_raw(FID_A, raw, sizeof(raw));
    assert_int_equal(raw[1], FK_ROOT_OTP);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
    assert_int_equal(fk_seal_reseal(&g_sp, FID_A, &resealed), FK_SEAL_OK);
    assert_false(resealed);
    assert_int_equal(fk_seal_reseal(&g_sp, FID_B, &resealed), FK_SEAL_OK);
    assert_false(resealed);
    assert_int_equal(fk_seal_reseal(&g_sp, 0x0777, &resealed), FK_SEAL_ENOENT);
}

/* The seal-level steps of the migration (docs/migration.md): a record's
 * and a verifier's root read without opening them, and the deletion of the
 * seed, refused while the device root is current. Afterwards device-root
 * records and verifiers never open, and no new seed is made. */
static void test_forget_device_root(void **state)
{
    static const char pin[] = "20481024";
    uint8_t pt[128], dev_rec[128], seed[32], v_dev[FK_PIN_VERIFIER_LEN], v_otp[FK_PIN_VERIFIER_LEN];
    size_t rec_len = 0, pt_len = 0;
    uint32_t size = 0;
    fk_root_t root;
    bool present = false;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_device_root_present(&g_store, &present), FK_SEAL_OK);
    assert_true(present);
    assert_int_equal(fk_store_read(&g_store, SEED, 0, seed, sizeof(seed)),
                     FK_STORE_OK);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, sizeof(k_secret)), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_B, k_secret, 40, dev_rec, sizeof(dev_rec), &rec_len),
                     FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_A, pin, 8, v_dev), FK_SEAL_OK);

    /* Roots read from headers; what is not a sealed record is said so. */
    assert_int_equal(fk_seal_record_root(&g_sp, FID_A, &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_DEVICE);
    assert_int_equal(fk_seal_record_root(&g_sp, 0x0777, &root), FK_SEAL_ENOENT);
    assert_int_equal(fk_space_write(&g_sp, 0x0778, "short", 5), FK_STORE_OK);
    assert_int_equal(fk_seal_record_root(&g_sp, 0x0778, &root), FK_SEAL_EFORMAT);
    memset(pt, FK_ROOT_DEVICE, sizeof(pt));
    pt[0] = FK_SEAL_VERSION + 1u;
    assert_int_equal(fk_space_write(&g_sp, 0x0779, pt, 64), FK_STORE_OK);
    assert_int_equal(fk_seal_record_root(&g_sp, 0x0779, &root), FK_SEAL_EFORMAT);
    assert_int_equal(fk_pin_verifier_root(v_dev, &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_DEVICE);
    memcpy(v_otp, v_dev, sizeof(v_otp));
    v_otp[1] = 0x7F;
    assert_int_equal(fk_pin_verifier_root(v_otp, &root), FK_SEAL_EFORMAT);

    /* Without the MKEK the seed is the only root: refused, nothing changes. */
    assert_int_equal(fk_seal_forget_device_root(&g_store), FK_SEAL_ESTATE);
    assert_int_equal(fk_seal_device_root_present(&g_store, &present), FK_SEAL_OK);
    assert_true(present);

    provision_mkek(0x3C);
    assert_int_equal(fk_seal_reseal(&g_sp, FID_A, NULL), FK_SEAL_OK);
    assert_int_equal(fk_seal_record_root(&g_sp, FID_A, &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_A, pin, 8, v_otp), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_root(v_otp, &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
    /* Until the seed goes, the old root still opens. */
    assert_int_equal(fk_unseal(&g_sp, FID_B, dev_rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v_dev), FK_SEAL_OK);

    assert_int_equal(fk_seal_forget_device_root(&g_store), FK_SEAL_OK);
    assert_int_equal(fk_seal_device_root_present(&g_store, &present), FK_SEAL_OK);
    assert_false(present);
    assert_int_equal(fk_seal_forget_device_root(&g_store), FK_SEAL_OK); /* idempotent */
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
    assert_int_equal(fk_unseal(&g_sp, FID_B, dev_rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v_dev), FK_SEAL_EAUTH);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v_otp), FK_SEAL_OK);
    dev_close();
    assert_false(flash_contains("d1", seed, sizeof(seed)));

    /* A restart makes no new seed under the OTP root. */
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_store_size(&g_store, SEED, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_size(&g_store, SEED_COPY, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
}

static void test_mkek_from_the_start(void **state)
{
    char path[PATH_CAP];
    uint8_t pt[64], raw[64];
    size_t pt_len = 0;
    uint32_t size = 0;
    (void)state;

    dev_path(path, "d1", "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    provision_mkek(0x11);
    fk_host_otp_close();

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    /* No weaker root material is created when an MKEK is there. */
    assert_int_equal(fk_store_size(&g_store, SEED, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_size(&g_store, SEED_COPY, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 24), FK_SEAL_OK);
    read_raw(FID_A, raw, sizeof(raw));
    assert_int_equal(raw[1], FK_ROOT_OTP);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, 24);

    /* A device-root record cannot open here: there is no seed. */
    raw[1] = FK_ROOT_DEVICE;
    assert_int_equal(fk_unseal(&g_sp, FID_A, raw, 24 + FK_SEAL_OVERHEAD, pt, sizeof(pt),
                               &pt_len),
                     FK_SEAL_EAUTH);
}

static void test_device_record_on_other_device(void **state)
{
    uint8_t rec[128], pt[128];
    size_t rec_len = 0, pt_len = 0;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, sizeof(k_secret), rec, sizeof(rec),
                             &rec_len),
                     FK_SEAL_OK);
    dev_close();

    /* A fresh device (its own seed), even with the same serial. */
    assert_int_equal(dev_open("d2", k_serial_1), FK_SEAL_OK);
    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);
    assert_true(all_zero(pt, sizeof(pt)));
    dev_close();

    /* The whole flash of d1 on a chip with another serial. */
    copy_file("d1", "d3", "flash");
    assert_int_equal(dev_open("d3", k_serial_2), FK_SEAL_OK);
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EAUTH);
    dev_close();

    /* The weakness of the device root, documented: the flash image plus the
     * serial is all it takes. */
    copy_file("d1", "d4", "flash");
    assert_int_equal(dev_open("d4", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec, rec_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
}

static void test_otp_record_other_mkek(void **state)
{
    char path[PATH_CAP];
    uint8_t pt[128];
    size_t pt_len = 0;
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    provision_mkek(0x21);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, sizeof(k_secret)), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    dev_close();

    /* Same flash and serial, another MKEK. */
    copy_file("d1", "d2", "flash");
    dev_path(path, "d2", "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    provision_mkek(0x22);
    fk_host_otp_close();
    assert_int_equal(dev_open("d2", k_serial_1), FK_SEAL_OK);
    memset(pt, 0xA5, sizeof(pt));
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_EAUTH);
    assert_true(all_zero(pt, sizeof(pt)));
    dev_close();

    /* Same flash and serial, no MKEK at all. */
    copy_file("d1", "d3", "flash");
    assert_int_equal(dev_open("d3", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_EAUTH);
    dev_close();

    /* Back on d1 it still opens. */
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, sizeof(k_secret));
}

static void test_otp_read_error(void **state)
{
    static const uint32_t k_two_bit_error = 0x000003u; /* uncorrectable */
    uint8_t rec_dev[128], rec_otp[128], pt[128], ver[FK_PIN_VERIFIER_LEN];
    size_t dev_len = 0, otp_len = 0, pt_len = 0;
    uint8_t mkek[FK_HAL_OTP_KEY_LEN];
    fk_root_t root;
    uint32_t size;
    char path[PATH_CAP];
    (void)state;

    /* Records of both roots, made on healthy devices sharing d1's flash. */
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, 20, rec_dev, sizeof(rec_dev), &dev_len),
                     FK_SEAL_OK);
    dev_close();
    copy_file("d1", "d2", "flash");
    dev_path(path, "d2", "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    provision_mkek(0x31);
    fk_host_otp_close();
    assert_int_equal(dev_open("d2", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal(&g_sp, FID_A, k_secret, 20, rec_otp, sizeof(rec_otp), &otp_len),
                     FK_SEAL_OK);
    assert_int_equal(rec_otp[1], FK_ROOT_OTP);
    dev_close();

    /* d1's MKEK rows become unreadable. */
    dev_path(path, "d1", "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    otp_or(FK_OTP_ROW_MKEK + 3, k_two_bit_error);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, mkek), FK_HAL_EIO);
    fk_host_otp_close();

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_EOTP);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_EOTP);
    assert_int_equal(fk_seal(&g_sp, FID_B, k_secret, 20, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EOTP);
    assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, 20), FK_SEAL_EOTP);
    assert_int_equal(fk_space_size(&g_sp, FID_B, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_B, "1234", 4, ver), FK_SEAL_EOTP);
    assert_true(all_zero(ver, sizeof(ver)));
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec_otp, otp_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_EOTP);
    /* A record that names the device root needs no OTP read. */
    assert_int_equal(fk_unseal(&g_sp, FID_A, rec_dev, dev_len, pt, sizeof(pt), &pt_len),
                     FK_SEAL_OK);
    assert_memory_equal(pt, k_secret, 20);
}

/* MKEK rows that are programmed but hold no key (destroyed to all ones,
 * which reads 0x0000 through ECC; a stray bit) and rows the firmware may not
 * read are never "no MKEK": the device root is not taken instead. */
static void test_otp_damaged_never_absent(void **state)
{
    char path[PATH_CAP];
    fk_root_t root;
    uint32_t size;
    (void)state;

    dev_path(path, "d1", "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++) otp_or((uint16_t)(FK_OTP_ROW_MKEK + i), 0xFFFFFF);
    fk_host_otp_close();
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_EOTP);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_EOTP);
    assert_int_equal(fk_store_size(&g_store, SEED, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_size(&g_store, SEED_COPY, &size), FK_STORE_ENOENT);
    dev_close();

    dev_path(path, "d2", "otp");
    assert_int_equal(fk_host_otp_open(path), 0);
    otp_or(FK_OTP_ROW_MKEK + 15u, 0x000001); /* one bit: corrected to 0x0000 */
    fk_host_otp_close();
    assert_int_equal(dev_open("d2", k_serial_1), FK_SEAL_EOTP);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_EOTP);
    dev_close();

    /* A healthy device whose page 58 is closed to the firmware. */
    assert_int_equal(dev_open("d3", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_DEVICE);
    assert_int_equal(
        fk_otp_sw_lock(otp_model(), FK_OTP_SECURE, FK_OTP_PAGE_KEYS, FK_OTP_LOCK_INACCESSIBLE),
        FK_OTP_OK);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_EOTP);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 20), FK_SEAL_EOTP);
    assert_int_equal(fk_space_size(&g_sp, FID_A, &size), FK_STORE_ENOENT);
}

/* ---- PIN verifiers ------------------------------------------------------ */

static void test_pin_verifier(void **state)
{
    static const char pin[] = "31415926";
    uint8_t v1[FK_PIN_VERIFIER_LEN], v2[FK_PIN_VERIFIER_LEN], bad[FK_PIN_VERIFIER_LEN];
    (void)state;

    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_A, pin, 8, v1), FK_SEAL_OK);
    assert_int_equal(v1[1], FK_ROOT_DEVICE);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v1), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, "31415927", 8, v1), FK_SEAL_EAUTH);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 7, v1), FK_SEAL_EAUTH);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, NULL, 0, v1), FK_SEAL_EAUTH);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_B, pin, 8, v1), FK_SEAL_EAUTH);

    /* The PIN is not in the verifier, and the salt makes every one unique. */
    assert_null(memmem(v1, sizeof(v1), pin, 8));
    assert_null(memmem(v1, sizeof(v1), pin, 4));
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_A, pin, 8, v2), FK_SEAL_OK);
    assert_memory_not_equal(v1, v2, sizeof(v1));
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v2), FK_SEAL_OK);

    /* Every bit of salt and tag matters; version and root are checked. */
    for (size_t i = 2; i < sizeof(v1); i++) {
        memcpy(bad, v1, sizeof(v1));
        bad[i] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, bad), FK_SEAL_EAUTH);
    }
    memcpy(bad, v1, sizeof(v1));
    bad[0] ^= 0x80;
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, bad), FK_SEAL_EFORMAT);
    memcpy(bad, v1, sizeof(v1));
    bad[1] = 0x7F;
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, bad), FK_SEAL_EFORMAT);
    memcpy(bad, v1, sizeof(v1));
    bad[1] = FK_ROOT_OTP; /* no MKEK here */
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, bad), FK_SEAL_EAUTH);

    /* An empty PIN is a PIN like any other. */
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_B, NULL, 0, v2), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_B, NULL, 0, v2), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_B, "0", 1, v2), FK_SEAL_EAUTH);

    /* After the MKEK: old verifiers still check, new ones use the OTP root. */
    provision_mkek(0x44);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v1), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_A, pin, 8, v2), FK_SEAL_OK);
    assert_int_equal(v2[1], FK_ROOT_OTP);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v2), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, "00000000", 8, v2), FK_SEAL_EAUTH);
    dev_close();

    /* On another device the verifier is worthless. */
    assert_int_equal(dev_open("d2", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v1), FK_SEAL_EAUTH);
    assert_int_equal(fk_pin_verifier_check(&g_sp, FID_A, pin, 8, v2), FK_SEAL_EAUTH);
}

/* ---- Flash contents and entropy failure --------------------------------- */

static void test_plaintext_never_in_flash(void **state)
{
    uint8_t secret[64], pt[64];
    size_t pt_len = 0;
    (void)state;

    assert_int_equal(fk_rng_bytes(secret, sizeof(secret)), FK_CRYPTO_OK);
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, secret, sizeof(secret)), FK_SEAL_OK);
    /* Replace it a few times (superseded versions must not leak either). */
    for (int i = 0; i < 3; i++)
        assert_int_equal(fk_seal_store(&g_sp, FID_A, secret, sizeof(secret)), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_memory_equal(pt, secret, sizeof(secret));
    dev_close();
    for (size_t off = 0; off + 8 <= sizeof(secret); off += 8)
        assert_false(flash_contains("d1", secret + off, 8));

    /* Control: the same bytes written unsealed are found by the scan. */
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_OK);
    assert_int_equal(fk_space_write(&g_sp, FID_B, secret, sizeof(secret)), FK_STORE_OK);
    dev_close();
    assert_true(flash_contains("d1", secret, sizeof(secret)));
}

static void test_rng_failure(void **state)
{
    uint8_t pt[64], rec[128], ver[FK_PIN_VERIFIER_LEN];
    size_t pt_len = 0, rec_len = 5;
    uint32_t size = 0;
    (void)state;

    /* A fresh device cannot even create its seed. */
    fk_host_set_rng_failure(true);
    assert_int_equal(dev_open("d1", k_serial_1), FK_SEAL_ERNG);
    assert_int_equal(fk_store_size(&g_store, SEED, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_store_size(&g_store, SEED_COPY, &size), FK_STORE_ENOENT);
    fk_host_set_rng_failure(false);
    assert_int_equal(fk_seal_init(&g_store, &g_init_info), FK_SEAL_OK);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, k_secret, 16), FK_SEAL_OK);

    /* Entropy gone (and the DRBG must seed again). */
    fk_rng_forget();
    fk_host_set_rng_failure(true);
    assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, 16), FK_SEAL_ERNG);
    assert_int_equal(fk_space_size(&g_sp, FID_B, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_seal_store(&g_sp, FID_A, "replacement", 11), FK_SEAL_ERNG);
    memset(rec, 0xA5, sizeof(rec));
    assert_int_equal(fk_seal(&g_sp, FID_B, k_secret, 16, rec, sizeof(rec), &rec_len),
                     FK_SEAL_ERNG);
    assert_int_equal(rec_len, 0);
    assert_true(all_zero(rec, 16 + FK_SEAL_OVERHEAD));
    memset(ver, 0xA5, sizeof(ver));
    assert_int_equal(fk_pin_verifier_make(&g_sp, FID_B, "1234", 4, ver), FK_SEAL_ERNG);
    assert_true(all_zero(ver, sizeof(ver)));
    /* Opening needs no entropy: the old record is intact. */
    assert_int_equal(fk_seal_load(&g_sp, FID_A, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
    assert_int_equal(pt_len, 16);
    assert_memory_equal(pt, k_secret, 16);

    fk_host_set_rng_failure(false);
    assert_int_equal(fk_seal_store(&g_sp, FID_B, k_secret, 16), FK_SEAL_OK);
    assert_int_equal(fk_seal_load(&g_sp, FID_B, pt, sizeof(pt), &pt_len), FK_SEAL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_to_other_fid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_every_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_survives_remount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_record_guarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_copy_repairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_unreadable_never_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_bit_flip_in_flash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkek_provisioning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget_device_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkek_from_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_record_on_other_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otp_record_other_mkek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otp_read_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_otp_damaged_never_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pin_verifier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_never_in_flash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rng_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
