/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_image.c - an image file as a user (or an attacker) hands it to the
 * fusekey tool: detected and loaded as UF2 / ELF / BIN, inspected, written
 * back as UF2 and BIN, and shown to the bootrom model on two chips: one
 * without secure boot and one enforcing with a boot key in slot 0 and a
 * rollback floor. The boot run burns a private copy of the OTP, which is
 * restored for every input. Any crash or sanitizer report is a bug: every
 * malformed input must end in an fk_boot_err_t.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot.h"
#include "otp_model.h"

#define IMAGE_CAP (256u * 1024u)
#define OUT_CAP (2u * IMAGE_CAP + 4096u)
#define TEXT_CAP 1024u

static uint8_t s_image[IMAGE_CAP];
static uint8_t s_out[OUT_CAP];
static fk_otp_t s_open_chip, s_secure_chip, s_scratch;
static int s_ready;

/* The secp256k1 generator as a boot key (private key 1), so that an input
 * signed with it reaches the signature check. */
static const uint8_t k_pubkey_g[64] = {
    0x79, 0xBE, 0x66, 0x7E, 0xF9, 0xDC, 0xBB, 0xAC, 0x55, 0xA0, 0x62, 0x95, 0xCE,
    0x87, 0x0B, 0x07, 0x02, 0x9B, 0xFC, 0xDB, 0x2D, 0xCE, 0x28, 0xD9, 0x59, 0xF2,
    0x81, 0x5B, 0x16, 0xF8, 0x17, 0x98, 0x48, 0x3A, 0xDA, 0x77, 0x26, 0xA3, 0xC4,
    0x65, 0x5D, 0xA4, 0xFB, 0xFC, 0x0E, 0x11, 0x08, 0xA8, 0xFD, 0x17, 0xB4, 0x48,
    0xA6, 0x85, 0x54, 0x19, 0x9C, 0x47, 0xD0, 0x8F, 0xFB, 0x10, 0xD4, 0xB8,
};

/* A chip with secure boot enabled, slot 0 holding G's fingerprint, and a
 * rollback floor of 2 with ROLLBACK_REQUIRED set. */
static void make_secure_chip(fk_otp_t *otp)
{
    uint8_t fp[32];
    uint16_t rows[FK_OTP_BOOTKEY_ROWS];
    uint32_t v;

    fk_otp_init(otp, FK_OTP_STEPPING_A2);
    fk_boot_fingerprint(k_pubkey_g, fp);
    fk_boot_bootkey_rows(fp, rows);
    (void)fk_otp_write_ecc(otp, FK_OTP_SECURE, FK_OTP_ROW_BOOTKEY(0), rows, FK_OTP_BOOTKEY_ROWS);
    v = 1u; /* KEY_VALID slot 0 */
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++)
        (void)fk_otp_write_raw(otp, FK_OTP_SECURE, (uint16_t)(FK_OTP_ROW_BOOT_FLAGS1 + i), &v, 1);
    v = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++)
        (void)fk_otp_write_raw(otp, FK_OTP_SECURE, (uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + i), &v, 1);
    v = 1u << 1; /* thermometer bit 1: floor 2 */
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++)
        (void)fk_otp_write_raw(otp, FK_OTP_SECURE, (uint16_t)(FK_OTP_ROW_BOOT_VERSION0 + i), &v, 1);
    v = FK_OTP_CRIT1_SECURE_BOOT_ENABLE;
    for (unsigned i = 0; i < FK_OTP_CRIT_COPIES; i++)
        (void)fk_otp_write_raw(otp, FK_OTP_SECURE, (uint16_t)(FK_OTP_ROW_CRIT1 + i), &v, 1);
    fk_otp_reset(otp);
}

static void run_chip(const fk_otp_t *chip, const fk_image_t *img)
{
    static fk_boot_result_t res;
    static char text[TEXT_CAP];

    fk_boot_predict(chip, img, &res);
    (void)fk_boot_describe(&res, text, sizeof(text));
    memcpy(&s_scratch, chip, sizeof(s_scratch));
    fk_boot_run(&s_scratch, img, &res);
    (void)fk_boot_describe(&res, text, sizeof(text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fk_image_t img;
    static fk_boot_info_t info;
    size_t out_len = 0;

    if (!s_ready) {
        fk_otp_init(&s_open_chip, FK_OTP_STEPPING_A3);
        make_secure_chip(&s_secure_chip);
        s_ready = 1;
    }
    fk_image_init(&img, s_image, sizeof(s_image));
    (void)fk_image_detect(data, size);
    if (fk_image_load(&img, data, size, 0) != FK_BOOT_OK) return 0;
    fk_boot_inspect(&img, &info);
    (void)fk_image_write_uf2(&img, 0, s_out, sizeof(s_out), &out_len);
    (void)fk_image_write_bin(&img, s_out, sizeof(s_out), &out_len);
    run_chip(&s_open_chip, &img);
    run_chip(&s_secure_chip, &img);
    return 0;
}
