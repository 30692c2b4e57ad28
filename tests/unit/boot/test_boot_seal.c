/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_boot_seal.c - sealing and the signature block: the known answers of
 * spec rp2350-otp-and-boot.md 6.8 (fingerprint of G, BOOTKEY rows, first raw
 * rows, the example block layout), the hash recomputed independently, the
 * refusals picotool makes, HASH_VALUE, re-sealing, otp.json, and key files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot_test.h"
#include "crypto/pk_pem.h"

static uint8_t g_buf[TB_IMG_CAP];
static fk_image_t g_img;
static tb_key_t g_key, g_other;

static int setup(void **state)
{
    (void)state;
    tb_key_new(&g_key);
    tb_key_new(&g_other);
    return 0;
}

static uint32_t word_at(const fk_image_t *img, uint32_t addr)
{
    return fk_le32(img->data + (addr - img->base));
}

/* ---- Known answers ------------------------------------------------------------ */

static void test_fingerprint_of_g(void **state)
{
    (void)state;
    static const uint8_t one[1] = {1};
    static const uint8_t gx_gy[64] = {
        0x79, 0xBE, 0x66, 0x7E, 0xF9, 0xDC, 0xBB, 0xAC, 0x55, 0xA0, 0x62, 0x95, 0xCE,
        0x87, 0x0B, 0x07, 0x02, 0x9B, 0xFC, 0xDB, 0x2D, 0xCE, 0x28, 0xD9, 0x59, 0xF2,
        0x81, 0x5B, 0x16, 0xF8, 0x17, 0x98, 0x48, 0x3A, 0xDA, 0x77, 0x26, 0xA3, 0xC4,
        0x65, 0x5D, 0xA4, 0xFB, 0xFC, 0x0E, 0x11, 0x08, 0xA8, 0xFD, 0x17, 0xB4, 0x48,
        0xA6, 0x85, 0x54, 0x19, 0x9C, 0x47, 0xD0, 0x8F, 0xFB, 0x10, 0xD4, 0xB8};
    static const uint8_t want_fp[32] = {
        0x09, 0xc0, 0xb2, 0xd1, 0xa4, 0x86, 0xc4, 0x39, 0xa8, 0x7b, 0xcb,
        0xa6, 0xb4, 0x6a, 0x7a, 0x1a, 0x23, 0xf3, 0x89, 0x7c, 0xc8, 0x3a,
        0x94, 0x52, 0x1a, 0x96, 0xda, 0x5c, 0x23, 0xbc, 0x58, 0xdb};
    static const uint16_t want_rows[16] = {0xc009, 0xd1b2, 0x86a4, 0x39c4, 0x7ba8, 0xa6cb,
                                           0x6ab4, 0x1a7a, 0xf323, 0x7c89, 0x3ac8, 0x5294,
                                           0x961a, 0x5cda, 0xbc23, 0xdb58};
    static const uint32_t want_raw[4] = {0x05C009, 0x14D1B2, 0x1486A4, 0x1C39C4};
    uint8_t blob[TB_BLOB_CAP], pub[64], fp[32];
    uint16_t rows[16];
    size_t len;

    /* The public key of private key 1 is G, as the key blob carries it. */
    assert_int_equal(fk_pk_ec_import(FK_CURVE_SECP256K1, one, 1, blob, sizeof(blob), &len), 0);
    assert_int_equal(fk_image_seal_pubkey(blob, len, pub), FK_BOOT_OK);
    assert_memory_equal(pub, gx_gy, 64);
    fk_boot_fingerprint(pub, fp);
    assert_memory_equal(fp, want_fp, 32);
    fk_boot_bootkey_rows(fp, rows);
    assert_memory_equal(rows, want_rows, sizeof(rows));
    for (unsigned i = 0; i < 4; i++) assert_int_equal(fk_otp_ecc_encode(rows[i]), want_raw[i]);

    /* Written into a blank slot through the OTP model, the rows read back. */
    fk_otp_t otp;
    fk_otp_init(&otp, FK_OTP_STEPPING_A2);
    assert_int_equal(fk_otp_write_ecc(&otp, FK_OTP_SECURE, FK_OTP_ROW_BOOTKEY(0), rows, 16), 0);
    for (unsigned i = 0; i < 4; i++) assert_int_equal(otp.raw[FK_OTP_ROW_BOOTKEY(0) + i], want_raw[i]);
}

/* The example block of spec 6.8: 256-byte image at 0x10000000, sealed with
 * --major 1 --minor 0 --rollback 1, new block at 0x10000100. */
static void test_example_block_layout(void **state)
{
    (void)state;
    fk_image_seal_info_t info;
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 1, &info), FK_BOOT_OK);

    const uint32_t b = 0x10000100u;
    static const struct {
        unsigned idx;
        uint32_t word;
    } want[] = {
        {0, 0xFFFFDED3u},  {1, 0x18210142u},  {2, 0x02000448u},  {3, 0x00010000u},
        {4, 0x004E0001u},  {5, 0x00000051u},  {6, 0x00000203u},  {7, 0x10000000u},
        {8, 0x00000344u},  {9, TB_SDK_PC},    {10, TB_SDK_SP},   {11, 0x01000406u},
        {12, 0xFFFFFED4u}, {13, 0x10000000u}, {14, 0x00000100u}, {15, 0x01000247u},
        {16, 0x00000011u}, {17, 0x01002109u}, {50, 0x000031FFu}, {51, 0xFFFFFF40u},
        {52, 0xAB123579u},
    };
    assert_int_equal(info.block_addr, b);
    assert_int_equal(info.block_words, 53);
    assert_int_equal(g_img.len, TB_SDK_LEN + 53u * 4u);
    for (unsigned i = 0; i < FK_ARRAY_SIZE(want); i++)
        assert_int_equal(word_at(&g_img, b + 4u * want[i].idx), want[i].word);
    /* Key packed byte by byte into words 18-33 (LSB first). */
    assert_memory_equal(g_img.data + 0x100 + 18 * 4, g_key.pub, 64);
    assert_memory_equal(info.pubkey, g_key.pub, 64);
    assert_memory_equal(info.fingerprint, g_key.fp, 32);

    /* The SDK block: linked to the new block, marked IGNORED (E13). */
    assert_int_equal(word_at(&g_img, 0x10000040u + 4u), 0x1021017Eu);
    assert_int_equal(word_at(&g_img, 0x10000040u + 12u), 0x000000C0u);
    assert_int_equal(info.ignored_blocks, 1);

    /* H = SHA-256(256 image bytes || words 0-16), recomputed here. */
    uint8_t hin[TB_SDK_LEN + 68u], h[32];
    memcpy(hin, g_img.data, TB_SDK_LEN);
    memcpy(hin + TB_SDK_LEN, g_img.data + 0x100, 68);
    fk_sha256(hin, sizeof(hin), h);
    assert_memory_equal(h, info.hash, 32);

    /* The signature verifies over H with the key (r || s as stored). */
    uint8_t point[65];
    point[0] = 0x04;
    memcpy(point + 1, g_key.pub, 64);
    fk_pk_public_t pub = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256K1};
    pub.point.p = point;
    pub.point.len = sizeof(point);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, h, 32, FK_SIG_PLAIN, g_img.data + 0x100 + 34 * 4, 64),
                     FK_CRYPTO_OK);

    /* TBYB is not hashed: setting it leaves H unchanged. */
    fk_boot_info_t bi;
    g_img.data[0x100 + 7] |= 0x80;
    fk_boot_inspect(&g_img, &bi);
    assert_true(bi.has_block);
    assert_memory_equal(bi.hash, h, 32);
    assert_true(bi.sig_ok);
}

/* ---- Sealing behaviour -------------------------------------------------------- */

static void test_seal_and_verify(void **state)
{
    (void)state;
    fk_image_seal_info_t info;
    fk_boot_info_t bi;

    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, -1, &info), FK_BOOT_OK);
    assert_true(info.is_signed);
    assert_int_equal(info.rollback, 0);
    assert_int_equal(info.ignored_blocks, 0); /* no rollback: no E13 marking */
    fk_boot_inspect(&g_img, &bi);
    assert_int_equal(bi.loop, FK_BOOT_OK);
    assert_int_equal(bi.blocks, 2);
    assert_true(bi.has_block);
    assert_int_equal(bi.block_addr, info.block_addr);
    assert_true(bi.is_signed && bi.all_signed && bi.sig_ok && bi.hash_ok);
    assert_false(bi.has_version);
    assert_int_equal(bi.image_flags, TB_SDK_FLAGS | FK_IMAGE_TYPE_EXTRA_SECURITY);
    assert_true(bi.has_entry_point);
    assert_int_equal(bi.pc, TB_SDK_PC);
    assert_int_equal(bi.sp, TB_SDK_SP);
    /* The SDK block keeps its IMAGE_TYPE. */
    assert_int_equal(word_at(&g_img, 0x10000044u), 0x10210142u);

    /* Any change to a hashed byte breaks it. */
    g_img.data[0x80] ^= 1;
    fk_boot_inspect(&g_img, &bi);
    assert_false(bi.sig_ok);
}

static void test_seal_hash_value(void **state)
{
    (void)state;
    fk_image_seal_opts_t o;
    fk_image_seal_info_t info;
    fk_boot_info_t bi;

    /* --hash without a key: HASH_DEF + HASH_VALUE, no signature. */
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    fk_image_seal_opts_init(&o);
    o.hash_value = true;
    assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
    assert_false(info.is_signed);
    fk_boot_inspect_at(&g_img, info.block_addr, &bi);
    assert_true(bi.has_hash_value && bi.hash_value_ok);
    assert_false(bi.is_signed);
    assert_memory_equal(g_img.data + (info.block_addr - g_img.base) + 4u * (bi.block_words - 11u),
                        info.hash, 32);

    /* --sign --hash: both, HASH_VALUE after the signature. */
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    o.key_blob = g_key.blob;
    o.key_blob_len = g_key.len;
    assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
    fk_boot_inspect(&g_img, &bi);
    assert_true(bi.sig_ok && bi.hash_value_ok);
    assert_int_equal(bi.block_words, 53 - 4 + 9); /* no VERSION, plus HASH_VALUE */
}

static void assert_refused_unchanged(fk_image_seal_opts_t *o, fk_boot_err_t want)
{
    uint8_t before[TB_SDK_LEN];
    fk_image_seal_info_t info;
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    memcpy(before, g_img.data, TB_SDK_LEN);
    assert_int_equal(fk_image_seal(&g_img, o, &info), want);
    assert_int_equal(g_img.len, TB_SDK_LEN);
    assert_memory_equal(g_img.data, before, TB_SDK_LEN);
    assert_string_not_equal(fk_boot_strerror(want), "unknown error");
}

static void test_seal_refusals(void **state)
{
    (void)state;
    fk_image_seal_opts_t o;
    uint8_t p256[TB_BLOB_CAP];
    size_t p256_len;

    /* A rollback version needs a signature. */
    fk_image_seal_opts_init(&o);
    o.set_rollback = true;
    o.rollback = 1;
    assert_refused_unchanged(&o, FK_BOOT_EROLLBACK_UNSIGNED);

    /* 48 does not fit two rows (max 47); with three rows it does. */
    o.key_blob = g_key.blob;
    o.key_blob_len = g_key.len;
    o.rollback = 48;
    assert_refused_unchanged(&o, FK_BOOT_EROLLBACK_RANGE);
    o.n_rows = 3;
    o.rows[0] = 0x4E;
    o.rows[1] = 0x51;
    o.rows[2] = 0x54;
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_OK);

    /* Rows closer than 3, or running off the OTP. */
    o.rollback = 1;
    o.n_rows = 2;
    o.rows[0] = 0x4E;
    o.rows[1] = 0x50;
    assert_refused_unchanged(&o, FK_BOOT_EROWS);
    o.rows[1] = 0xFFE;
    assert_refused_unchanged(&o, FK_BOOT_EROWS);
    /* Given unsorted, they are sorted (picotool sorts too). */
    o.rows[0] = 0x51;
    o.rows[1] = 0x4E;
    fk_image_seal_info_t info;
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
    assert_int_equal(info.rows[0], 0x4E);
    assert_int_equal(info.rows[1], 0x51);

    /* A key on another curve. */
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, p256, sizeof(p256), &p256_len), 0);
    fk_image_seal_opts_init(&o);
    o.key_blob = p256;
    o.key_blob_len = p256_len;
    assert_refused_unchanged(&o, FK_BOOT_EKEY);

    /* No IMAGE_DEF: a plain blob of bytes, and an image whose only block is
     * not an IMAGE_DEF (a first item that is IGNORED). */
    fk_image_seal_opts_init(&o);
    o.key_blob = g_key.blob;
    o.key_blob_len = g_key.len;
    uint8_t zeros[512] = {0};
    fk_image_init(&g_img, g_buf, sizeof(g_buf));
    assert_int_equal(fk_image_load_bin(&g_img, zeros, sizeof(zeros), 0), FK_BOOT_OK);
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_ENO_IMAGE_DEF);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    g_img.data[TB_SDK_BLOCK_OFF + 4] = 0x7E;
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_ENO_IMAGE_DEF);

    /* An RP2040 IMAGE_DEF (chip field 0). */
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    g_img.data[TB_SDK_BLOCK_OFF + 7] = 0x00;
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_RNOT_RP2350);

    /* A UF2 of another family. */
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    g_img.has_family = true;
    g_img.family = FK_UF2_FAMILY_RP2040;
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_EFAMILY);

    /* No room for the block. */
    tb_load_sdk(&g_img, g_buf, TB_SDK_LEN + 100u);
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_ETOO_BIG);
    assert_int_equal(g_img.len, TB_SDK_LEN);
}

static void test_reseal(void **state)
{
    (void)state;
    fk_image_seal_info_t first, second;
    fk_image_seal_opts_t o;
    fk_boot_info_t bi;

    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 2, &first), FK_BOOT_OK);
    /* Again with another key and only a new minor version: rollback 2 and
     * its rows are kept; the loop grows to three blocks. */
    fk_image_seal_opts_init(&o);
    o.key_blob = g_other.blob;
    o.key_blob_len = g_other.len;
    o.set_minor = true;
    o.minor = 7;
    assert_int_equal(fk_image_seal(&g_img, &o, &second), FK_BOOT_OK);
    assert_true(second.block_addr > first.block_addr);
    assert_int_equal(second.rollback, 2);
    assert_int_equal(second.major, 1);
    assert_int_equal(second.minor, 7);
    assert_int_equal(second.ignored_blocks, 2);
    fk_boot_info_t bi2;
    fk_boot_inspect(&g_img, &bi2);
    assert_int_equal(bi2.blocks, 3);
    fk_boot_inspect_at(&g_img, second.block_addr, &bi);
    assert_true(bi.sig_ok);
    assert_memory_equal(bi.fingerprint, g_other.fp, 32);
    assert_int_equal(bi.rollback, 2);
    assert_int_equal(bi.rows, 2);
    assert_int_equal(bi.row[1], 0x51);
    /* The copied LOAD_MAP was moved: it still covers the image from its start. */
    assert_true(bi.hash_ok);
}

static void test_otp_json(void **state)
{
    (void)state;
    static const uint8_t fp[32] = {9, 192, 178, 209, 164, 134, 196, 57, 168, 123, 203,
                                   166, 180, 106, 122, 26, 35, 243, 137, 124, 200, 58,
                                   148, 82, 26, 150, 218, 92, 35, 188, 88, 219};
    char json[1024];
    size_t len;

    assert_int_equal(fk_image_seal_otp_json(fp, json, sizeof(json), &len), FK_BOOT_OK);
    assert_int_equal(strlen(json), len);
    assert_non_null(strstr(json, "\"bootkey0\": [9, 192, 178, 209, 164, 134, 196, 57, 168, 123, "
                                 "203, 166, 180, 106, 122, 26, 35, 243, 137, 124, 200, 58, 148, 82, "
                                 "26, 150, 218, 92, 35, 188, 88, 219]"));
    assert_non_null(strstr(json, "\"crit1\": {\n        \"secure_boot_enable\": 1\n    }"));
    assert_non_null(strstr(json, "\"boot_flags1\": {\n        \"key_valid\": 1\n    }"));
    /* picotool's key order: boot_flags1, bootkey0, crit1. */
    assert_true(strstr(json, "boot_flags1") < strstr(json, "bootkey0"));
    assert_true(strstr(json, "bootkey0") < strstr(json, "crit1"));
    assert_int_equal(fk_image_seal_otp_json(fp, json, 40, &len), FK_BOOT_ESPACE);
}

/* ---- Key files ------------------------------------------------------------------ */

static const char k_pem_sec1[] = "-----BEGIN EC PRIVATE KEY-----\n"
                                 "MHQCAQEEII61ajD8lXP5eHkHlbFUVfUlzTyF3YNI41nnsH7bWzO9oAcGBSuBBAAK\n"
                                 "oUQDQgAEqqslQ3dQPoRr0ZfM0Z6pA5qmQLHBMv5XFAJonYEi+jKQfOzEjk/LQss6\n"
                                 "m/nyB/wvNt7gXRDGaodRKDZCjpe+aw==\n"
                                 "-----END EC PRIVATE KEY-----\n";
static const char k_pem_pkcs8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGEAgEAMBAGByqGSM49AgEGBSuBBAAKBG0wawIBAQQgjrVqMPyVc/l4eQeVsVRV\n"
    "9SXNPIXdg0jjWeewfttbM72hRANCAASqqyVDd1A+hGvRl8zRnqkDmqZAscEy/lcU\n"
    "AmidgSL6MpB87MSOT8tCyzqb+fIH/C823uBdEMZqh1EoNkKOl75r\n"
    "-----END PRIVATE KEY-----\n";
static const char k_pem_pkcs8_enc[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjjbWFynHq++AICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEJ/vtOd/ZjWbz1jnvAgCCHcEgZD1\n"
    "Xm7GUvKwmJIDukCjA4yc5d74IJxLkGQNfOirAnOV2p1XLMt1FVEC2xoACbJ0zQ5N\n"
    "bP8saKuqd9h1XTIEM3VlZdeoFJpo4MGP65SewPQ09y1yTJOulLaqP1qIb+6dxNl2\n"
    "dlz3p10d9Hu1vXyXLXAvA8eTV4mF5yKLfzCbOYkegPgdE13mD2oXyhLTkixXYqw=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";
static const char k_pem_legacy_enc[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,D189CD20D3A365BD18CA6B5FD56BF71F\n"
    "\n"
    "cNCqXLnO+zNTRwcFJt8LNWiXRkN1orw92hz6sxAsYB2laVSSdgG99hgYaNbp6T7b\n"
    "N4u7jQedmX7Ad+3EqAjnShflbKAxXwlItVqS53L5vtM6vMnEvf9G+6aljXM8F67T\n"
    "kh/2ItUCxg7fnQJKXIipXkcm3LP+UakGH3tCw8At7j0=\n"
    "-----END EC PRIVATE KEY-----\n";
static const char k_pem_rsa[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIBUwIBADANBgkqhkiG9w0BAQEFAASCAT0wggE5AgEAAkEAxyd78WabfwYhcvZ7\n"
    "bCpoAXYFSgn/o0Je7ZFA/NyK/NpxqmFFbsx+RTJwy9+XnG/zbWfyRvN1zi1qiaQ+\n"
    "PfafJwIDAQABAkBVEwzjRo3OaXQIhDqdLlBXr276/eJyf3vFyHMWka/d60ILltyx\n"
    "J8Rbw8aSmRcy0ogQE1co9aTZJv05zl8yx/eBAiEA5U+48UxKSqqss5L30ZN3BajX\n"
    "Bdm1Apeztie49DSUilcCIQDeVTxjbHZfnA6yhSu3cRcdXeahL5F/xQQgIUq1YOsv\n"
    "sQIgG3IjTJ449h7fdM7OYoMn58GBmu2nwJuvosm2VWRFsxkCID/Rv6/aZnAzX5Sm\n"
    "3VGeyL/JQHZsLRu79d8zLzq5Q0lBAiA9tozq85jSDJUE1OPEO3hRujuNJbstNHn4\n"
    "Yz1aXGcjAw==\n"
    "-----END PRIVATE KEY-----\n";
static const uint8_t k_der_sec1[] = {
    0x30, 0x74, 0x02, 0x01, 0x01, 0x04, 0x20, 0x8e, 0xb5, 0x6a, 0x30, 0xfc, 0x95, 0x73, 0xf9,
    0x78, 0x79, 0x07, 0x95, 0xb1, 0x54, 0x55, 0xf5, 0x25, 0xcd, 0x3c, 0x85, 0xdd, 0x83, 0x48,
    0xe3, 0x59, 0xe7, 0xb0, 0x7e, 0xdb, 0x5b, 0x33, 0xbd, 0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81,
    0x04, 0x00, 0x0a, 0xa1, 0x44, 0x03, 0x42, 0x00, 0x04, 0xaa, 0xab, 0x25, 0x43, 0x77, 0x50,
    0x3e, 0x84, 0x6b, 0xd1, 0x97, 0xcc, 0xd1, 0x9e, 0xa9, 0x03, 0x9a, 0xa6, 0x40, 0xb1, 0xc1,
    0x32, 0xfe, 0x57, 0x14, 0x02, 0x68, 0x9d, 0x81, 0x22, 0xfa, 0x32, 0x90, 0x7c, 0xec, 0xc4,
    0x8e, 0x4f, 0xcb, 0x42, 0xcb, 0x3a, 0x9b, 0xf9, 0xf2, 0x07, 0xfc, 0x2f, 0x36, 0xde, 0xe0,
    0x5d, 0x10, 0xc6, 0x6a, 0x87, 0x51, 0x28, 0x36, 0x42, 0x8e, 0x97, 0xbe, 0x6b};
/* X || Y of the key above (from the openssl command line). */
static const uint8_t k_pem_pub[64] = {
    0xaa, 0xab, 0x25, 0x43, 0x77, 0x50, 0x3e, 0x84, 0x6b, 0xd1, 0x97, 0xcc, 0xd1, 0x9e, 0xa9, 0x03,
    0x9a, 0xa6, 0x40, 0xb1, 0xc1, 0x32, 0xfe, 0x57, 0x14, 0x02, 0x68, 0x9d, 0x81, 0x22, 0xfa, 0x32,
    0x90, 0x7c, 0xec, 0xc4, 0x8e, 0x4f, 0xcb, 0x42, 0xcb, 0x3a, 0x9b, 0xf9, 0xf2, 0x07, 0xfc, 0x2f,
    0x36, 0xde, 0xe0, 0x5d, 0x10, 0xc6, 0x6a, 0x87, 0x51, 0x28, 0x36, 0x42, 0x8e, 0x97, 0xbe, 0x6b};

static int pem_load(const void *in, size_t len, const char *pw, uint8_t pub[64])
{
    uint8_t blob[TB_BLOB_CAP];
    size_t blob_len;
    int rc = fk_pk_pem_load_ec(in, len, (const uint8_t *)pw, pw != NULL ? strlen(pw) : 0, blob,
                               sizeof(blob), &blob_len);
    if (rc == FK_CRYPTO_OK && pub != NULL) {
        if (fk_image_seal_pubkey(blob, blob_len, pub) != FK_BOOT_OK) rc = -100;
    }
    return rc;
}

static void test_key_files(void **state)
{
    (void)state;
    uint8_t pub[64];
    static const char pw[] = "fusekey-test";

    assert_int_equal(pem_load(k_pem_sec1, strlen(k_pem_sec1), NULL, pub), FK_CRYPTO_OK);
    assert_memory_equal(pub, k_pem_pub, 64);
    /* With its NUL terminator counted, as a file read into a C string. */
    assert_int_equal(pem_load(k_pem_sec1, sizeof(k_pem_sec1), NULL, pub), FK_CRYPTO_OK);
    assert_int_equal(pem_load(k_pem_pkcs8, strlen(k_pem_pkcs8), NULL, pub), FK_CRYPTO_OK);
    assert_memory_equal(pub, k_pem_pub, 64);
    assert_int_equal(pem_load(k_der_sec1, sizeof(k_der_sec1), NULL, pub), FK_CRYPTO_OK);
    assert_memory_equal(pub, k_pem_pub, 64);

    /* Encrypted: the password is needed, a wrong one is refused. */
    assert_int_equal(pem_load(k_pem_pkcs8_enc, strlen(k_pem_pkcs8_enc), NULL, pub),
                     FK_PK_PEM_ENEED_PASSWORD);
    assert_int_equal(pem_load(k_pem_pkcs8_enc, strlen(k_pem_pkcs8_enc), "wrong", pub),
                     FK_CRYPTO_EAUTH);
    assert_int_equal(pem_load(k_pem_pkcs8_enc, strlen(k_pem_pkcs8_enc), pw, pub), FK_CRYPTO_OK);
    assert_memory_equal(pub, k_pem_pub, 64);
    assert_int_equal(pem_load(k_pem_legacy_enc, strlen(k_pem_legacy_enc), NULL, pub),
                     FK_PK_PEM_ENEED_PASSWORD);
    assert_int_equal(pem_load(k_pem_legacy_enc, strlen(k_pem_legacy_enc), "wrong", pub),
                     FK_CRYPTO_EAUTH);
    assert_int_equal(pem_load(k_pem_legacy_enc, strlen(k_pem_legacy_enc), pw, pub), FK_CRYPTO_OK);
    assert_memory_equal(pub, k_pem_pub, 64);

    /* Not an EC key, or not a key at all. */
    assert_int_equal(pem_load(k_pem_rsa, strlen(k_pem_rsa), NULL, NULL), FK_CRYPTO_EINVAL);
    assert_int_equal(pem_load("hello", 5, NULL, NULL), FK_CRYPTO_EINVAL);
    assert_int_equal(pem_load(k_der_sec1, sizeof(k_der_sec1) - 9, NULL, NULL), FK_CRYPTO_EINVAL);

    /* A key from a file signs an image that verifies. */
    uint8_t blob[TB_BLOB_CAP];
    size_t blob_len;
    fk_image_seal_opts_t o;
    fk_image_seal_info_t info;
    assert_int_equal(fk_pk_pem_load_ec((const uint8_t *)k_pem_sec1, strlen(k_pem_sec1), NULL, 0,
                                       blob, sizeof(blob), &blob_len),
                     FK_CRYPTO_OK);
    tb_load_sdk(&g_img, g_buf, sizeof(g_buf));
    fk_image_seal_opts_init(&o);
    o.key_blob = blob;
    o.key_blob_len = blob_len;
    assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
    assert_memory_equal(info.pubkey, k_pem_pub, 64);
    fk_wipe(blob, sizeof(blob));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_of_g),
        cmocka_unit_test(test_example_block_layout),
        cmocka_unit_test(test_seal_and_verify),
        cmocka_unit_test(test_seal_hash_value),
        cmocka_unit_test(test_seal_refusals),
        cmocka_unit_test(test_reseal),
        cmocka_unit_test(test_otp_json),
        cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
