/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tool_image.c - the fusekey tool's image commands over the boot
 * module: seal (keys from PEM files, plain and encrypted, the fingerprint
 * file), image verify on a blank and on a secure chip, image boot burning
 * the rollback thermometer (and not on a dry run).
 */
#include "harness.h"
#include "image.h"

/* Test-only secp256k1 keys (never used for anything else). */
static const char k_key_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHQCAQEEIG3MovNgpzBGDjHRzrkkzN9Fts6N7YDVK+CLQHPwwR7boAcGBSuBBAAK\n"
    "oUQDQgAE4D6uZPYC85i6Rm+Q36vxGYckGsL3NSUa0EyeDzZESZJPrtnt3cpdODJF\n"
    "53y+/KDL2GgRSZ8ds33k/iW0163waw==\n"
    "-----END EC PRIVATE KEY-----\n";
/* The same key, encrypted (traditional PEM, AES-256-CBC), password "fusekey-test". */
static const char k_key_enc_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-256-CBC,F6918014E6F64330271C6B0B1A040651\n"
    "\n"
    "g2BN/xofSPptiPepVy3Ei7UStlU+w0uSnKCC7ycmxzwHya15BEoXWpMBlbuAl1ss\n"
    "xeZwAGYRQ13CGcSs0ZvoIjhesj/5wupnkijZ8VLBOl4Cjkq/CA1LFlqgd8H7TZme\n"
    "IXJCNZy8swJZpZrWH6uaFlqgh5W8xZd9BSrmB2VQhWU=\n"
    "-----END EC PRIVATE KEY-----\n";
static const char k_foreign_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHQCAQEEIJCaycH4Vdw7Nu5MZP893F3dlbsBdOWnz5I2TQnDcGKWoAcGBSuBBAAK\n"
    "oUQDQgAEh1+0MnZoGIDYGsCkjaMM9gSMCjI5ZC5iopOiZ7oaEaWIktIR4NK8UCFG\n"
    "zTU6/utxM3bhRk+PbS1KTNU/LUbn4g==\n"
    "-----END EC PRIVATE KEY-----\n";
static const char k_p256_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIKszwtNTDbZ5hQbDlMMnu44G/6WzDS/KhcMBvMcsfPWVoAoGCCqGSM49\n"
    "AwEHoUQDQgAEe5gdemCC9n7KSQ5FOLgvyUBA9w4mWQVpeT6H4rlSPjkg86aMHv1D\n"
    "238yyfkzsKqnyKJuB0yQg5I8Kht7rKHurw==\n"
    "-----END EC PRIVATE KEY-----\n";

#define IMG_LEN 256u

typedef struct files {
    char dir[64];
    char app[128], key[128], key_enc[128], foreign[128], p256[128];
} files_t;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void write_to(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A directory with the synthetic SDK image (BIN at 0x10000000) and the keys. */
static void files_make(files_t *f)
{
    (void)snprintf(f->dir, sizeof f->dir, "/tmp/fk-tool-image-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    static const uint32_t block[] = {0xFFFFDED3u, 0x10210142u, 0x000001FFu, 0x00000000u,
                                     0xAB123579u};
    uint8_t img[IMG_LEN];
    for (unsigned i = 0; i < IMG_LEN; i++) img[i] = (uint8_t)(0xA5u ^ (i * 7u));
    put32(img, 0x20082000u);
    put32(img + 4, 0x100000F1u);
    for (unsigned i = 0; i < 5; i++) put32(img + 0x40 + 4 * i, block[i]);
    (void)snprintf(f->app, sizeof f->app, "%s/app.bin", f->dir);
    write_to(f->app, img, sizeof img);
    (void)snprintf(f->key, sizeof f->key, "%s/key.pem", f->dir);
    write_to(f->key, k_key_pem, strlen(k_key_pem));
    (void)snprintf(f->key_enc, sizeof f->key_enc, "%s/key_enc.pem", f->dir);
    write_to(f->key_enc, k_key_enc_pem, strlen(k_key_enc_pem));
    (void)snprintf(f->foreign, sizeof f->foreign, "%s/foreign.pem", f->dir);
    write_to(f->foreign, k_foreign_pem, strlen(k_foreign_pem));
    (void)snprintf(f->p256, sizeof f->p256, "%s/p256.pem", f->dir);
    write_to(f->p256, k_p256_pem, strlen(k_p256_pem));
}

static const char *in_dir(const files_t *f, const char *name)
{
    static char paths[8][160];
    static unsigned next;
    char *p = paths[next++ % 8u];
    (void)snprintf(p, sizeof paths[0], "%s/%s", f->dir, name);
    return p;
}

static void files_remove(files_t *f)
{
    char cmd[128];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_seal_and_verify_blank(void **state)
{
    (void)state;
    files_t f;
    files_make(&f);
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    h->tool.chip = NULL; /* no --otp: image verify uses a factory-fresh chip */
    const char *out = in_dir(&f, "signed.uf2");
    const char *json = in_dir(&f, "otp.json");
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.key, "--major", "1", "--minor", "2",
                         "--rollback", "1", "--otp-json", json, f.app, out),
                     FK_TOOL_EXIT_OK);
    assert_out_has(h, "rollback version 1 in rows 0x04e 0x051");
    assert_out_has(h, "boot-key fingerprint");
    /* The fingerprint file is what load-key reads. */
    FILE *jf = fopen(json, "r");
    assert_non_null(jf);
    char text[2048];
    const size_t n = fread(text, 1, sizeof text, jf);
    fclose(jf);
    uint8_t fp[32];
    bool crit1 = false, flags1 = false;
    char err[128];
    assert_int_equal(fk_tool_json_bootkey(text, n, fp, &crit1, &flags1, err, sizeof err), 0);
    assert_true(crit1);
    char fp_hex[65];
    for (int i = 0; i < 32; i++) (void)snprintf(fp_hex + 2 * i, 3, "%02x", fp[i]);
    assert_out_has(h, fp_hex);
    /* On a blank chip both images boot. */
    assert_int_equal(RUN(h, NULL, "image", "verify", out), FK_TOOL_EXIT_OK);
    assert_out_has(h, "signature verified");
    assert_out_has(h, "verdict: boots");
    assert_int_equal(RUN(h, NULL, "image", "verify", f.app), FK_TOOL_EXIT_OK);
    assert_out_has(h, "not signed");
    /* The encrypted key: the right password gives the same fingerprint, a wrong one fails. */
    const char *out2 = in_dir(&f, "signed2.bin");
    assert_int_equal(RUN(h, "fusekey-test\n", "seal", "--sign", f.key_enc, f.app, out2),
                     FK_TOOL_EXIT_OK);
    assert_out_has(h, fp_hex);
    /* Without --otp-json the fingerprint file is OUT.otp.json, with the same key. */
    jf = fopen(in_dir(&f, "signed2.bin.otp.json"), "r");
    assert_non_null(jf);
    const size_t n2 = fread(text, 1, sizeof text, jf);
    fclose(jf);
    uint8_t fp2[32];
    assert_int_equal(fk_tool_json_bootkey(text, n2, fp2, &crit1, &flags1, err, sizeof err), 0);
    assert_memory_equal(fp2, fp, sizeof fp);
    assert_int_equal(RUN(h, "wrong\n", "seal", "--sign", f.key_enc, f.app, out2),
                     FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "wrong password");
    /* Refusals. */
    assert_int_equal(RUN(h, NULL, "seal", "--rollback", "1", f.app, out2), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "seal", "--otp-json", json, f.app, out2), FK_TOOL_EXIT_USAGE);
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.p256, f.app, out2), FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.key, "--rollback", "48", f.app, out2),
                     FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.key, in_dir(&f, "missing"), out2),
                     FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "image", "boot", out), FK_TOOL_EXIT_FAIL);
    assert_err_has(h, "--otp");
    h_free(h);
    files_remove(&f);
}

static void test_secure_chip(void **state)
{
    (void)state;
    files_t f;
    files_make(&f);
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    const char *json = in_dir(&f, "otp.json");
    const char *signed_ = in_dir(&f, "signed.uf2");
    const char *foreign = in_dir(&f, "foreign.uf2");
    const char *r1 = in_dir(&f, "r1.uf2");
    const char *r2 = in_dir(&f, "r2.uf2");
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.key, "--otp-json", json, f.app, signed_),
                     FK_TOOL_EXIT_OK);
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.foreign, f.app, foreign), FK_TOOL_EXIT_OK);
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.key, "--rollback", "1", f.app, r1),
                     FK_TOOL_EXIT_OK);
    assert_int_equal(RUN(h, NULL, "seal", "--sign", f.key, "--rollback", "2", f.app, r2),
                     FK_TOOL_EXIT_OK);
    /* Secure boot through the tool's stages. */
    assert_int_equal(RUN(h, NULL, "secure-boot", "load-key", json, "--yes-i-understand",
                         "LOAD-BOOTKEY"),
                     FK_TOOL_EXIT_OK);
    assert_int_equal(RUN(h, NULL, "secure-boot", "harden", "--yes-i-understand",
                         "HARDEN-SECURE-BOOT"),
                     FK_TOOL_EXIT_OK);
    assert_int_equal(RUN(h, NULL, "secure-boot", "enable", "--yes-i-understand",
                         "ENABLE-SECURE-BOOT"),
                     FK_TOOL_EXIT_OK);

    assert_int_equal(RUN(h, NULL, "image", "verify", f.app), FK_TOOL_EXIT_FAIL);
    assert_out_has(h, "not signed");
    assert_int_equal(RUN(h, NULL, "image", "boot", foreign), FK_TOOL_EXIT_FAIL);
    assert_out_has(h, "in no boot-key slot");
    assert_int_equal(RUN(h, NULL, "image", "boot", signed_), FK_TOOL_EXIT_OK);
    assert_out_has(h, "key slot 0");

    /* A dry run of a burning boot burns nothing. */
    snap_t s;
    snap_take(h, &s);
    assert_int_equal(RUN(h, NULL, "image", "boot", r2, "--dry-run"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "nothing burned");
    assert_unchanged(h, &s);
    /* The real boot: thermometer bit 1 in all three copies, ROLLBACK_REQUIRED set. */
    assert_int_equal(RUN(h, NULL, "image", "boot", r2), FK_TOOL_EXIT_OK);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(h->chip.raw[FK_OTP_ROW_BOOT_VERSION0 + i], 0x2);
        assert_int_equal(h->chip.raw[FK_OTP_ROW_BOOT_FLAGS0 + i], 0x800);
    }
    assert_int_equal(RUN(h, NULL, "image", "boot", r1), FK_TOOL_EXIT_FAIL);
    assert_out_has(h, "below the OTP rollback floor");
    assert_int_equal(RUN(h, NULL, "image", "verify", signed_), FK_TOOL_EXIT_FAIL);
    assert_out_has(h, "ROLLBACK_REQUIRED");
    h_reset_bootsel(h);
    assert_int_equal(RUN(h, NULL, "status"), FK_TOOL_EXIT_OK);
    assert_out_has(h, "rollback: required yes, floor 2");
    h_free(h);
    files_remove(&f);
}

/* `image uf2`: the BIN's bytes, unchanged, in 256-byte UF2 payloads of the
 * RP2350 Arm-secure family; the result reads back as the same image and
 * boots; a UF2 of a UF2 is the same file; bad inputs are refused. */
static void test_uf2(void **state)
{
    (void)state;
    files_t f;
    files_make(&f);
    harness_t *h = h_new(FK_OTP_STEPPING_A2);
    h->tool.chip = NULL;
    const char *uf2 = in_dir(&f, "app.uf2");
    assert_int_equal(RUN(h, NULL, "image", "uf2", f.app, uf2), FK_TOOL_EXIT_OK);
    assert_out_has(h, "1 UF2 block(s) for 0x10000000..0x10000100, family RP2350_ARM_S");
    static uint8_t bin[IMG_LEN], file[2 * FK_UF2_BLOCK_SIZE], img_buf[IMG_LEN];
    FILE *fp = fopen(f.app, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(bin, 1, sizeof bin, fp), IMG_LEN);
    fclose(fp);
    fp = fopen(uf2, "rb");
    assert_non_null(fp);
    const size_t n = fread(file, 1, sizeof file, fp);
    fclose(fp);
    assert_int_equal(n, FK_UF2_BLOCK_SIZE);
    fk_image_t img;
    fk_image_init(&img, img_buf, sizeof img_buf);
    assert_int_equal(fk_image_load(&img, file, n, 0), FK_BOOT_OK);
    assert_int_equal(img.format, FK_IMAGE_UF2);
    assert_int_equal(img.family, FK_UF2_FAMILY_RP2350_ARM_S);
    assert_int_equal(img.base, 0x10000000u);
    assert_int_equal(img.len, IMG_LEN);
    assert_memory_equal(img_buf, bin, IMG_LEN);
    assert_int_equal(RUN(h, NULL, "image", "verify", uf2), FK_TOOL_EXIT_OK);
    assert_out_has(h, "verdict: boots");
    const char *again = in_dir(&f, "again.uf2");
    assert_int_equal(RUN(h, NULL, "image", "uf2", uf2, again), FK_TOOL_EXIT_OK);
    static uint8_t file2[2 * FK_UF2_BLOCK_SIZE];
    fp = fopen(again, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(file2, 1, sizeof file2, fp), n);
    fclose(fp);
    assert_memory_equal(file2, file, n);
    assert_int_equal(RUN(h, NULL, "image", "uf2", in_dir(&f, "missing"), again),
                     FK_TOOL_EXIT_FAIL);
    assert_int_equal(RUN(h, NULL, "image", "uf2", f.app), FK_TOOL_EXIT_USAGE);
    h_free(h);
    files_remove(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_and_verify_blank),
        cmocka_unit_test(test_uf2),
        cmocka_unit_test(test_secure_chip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
