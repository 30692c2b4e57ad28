/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_test.h - what the boot module's tests share: a synthetic SDK image
 * (a vector table at 0x10000000 and the IMAGE_DEF block an SDK binary
 * carries), OTP set-up in the states the scenarios need, keys, and a
 * deterministic random generator for the hostile-input loops.
 *
 * Header-only (static functions); each test program includes it once. The
 * HAL the crypto module needs is in tests/support/crypto_test_hal.c.
 */
#ifndef FUSEKEY_BOOT_TEST_H
#define FUSEKEY_BOOT_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "otp_ecc.h"
#include "otp_map.h"
#include "otp_model.h"
#include "util.h"

#define TB_SDK_LEN 256u              /* the synthetic image: 256 bytes ... */
#define TB_SDK_BLOCK_OFF 0x40u       /* ... with its IMAGE_DEF at 0x10000040 */
#define TB_SDK_SP 0x20082000u        /* initial stack pointer (vector 0) */
#define TB_SDK_PC 0x100000F1u        /* reset handler, Thumb (vector 1) */
#define TB_SDK_FLAGS 0x1021u         /* EXE, secure, Arm, RP2350 */
#define TB_IMG_CAP (64u * 1024u)
#define TB_BLOB_CAP 256u

/* The synthetic SDK binary: vector table, an IMAGE_DEF block
 * (START, IMAGE_TYPE 0x1021, LAST, link 0, END) and filler "code". */
static inline void tb_sdk_image(uint8_t out[TB_SDK_LEN])
{
    static const uint32_t block[] = {0xFFFFDED3u, 0x10210142u, 0x000001FFu, 0x00000000u,
                                     0xAB123579u};
    for (unsigned i = 0; i < TB_SDK_LEN; i++) out[i] = (uint8_t)(0xA5u ^ (i * 7u));
    fk_put_le32(out, TB_SDK_SP);
    fk_put_le32(out + 4, TB_SDK_PC);
    for (unsigned i = 2; i < 16; i++) fk_put_le32(out + 4u * i, 0x10000101u + 2u * i);
    for (unsigned i = 0; i < FK_ARRAY_SIZE(block); i++)
        fk_put_le32(out + TB_SDK_BLOCK_OFF + 4u * i, block[i]);
}

/* img over buf holding the synthetic SDK image as a BIN at 0x10000000. */
static inline void tb_load_sdk(fk_image_t *img, uint8_t *buf, size_t cap)
{
    uint8_t sdk[TB_SDK_LEN];
    tb_sdk_image(sdk);
    fk_image_init(img, buf, cap);
    FK_ASSERT(fk_image_load_bin(img, sdk, sizeof(sdk), 0) == FK_BOOT_OK);
}

/* ---- Keys -------------------------------------------------------------------- */

typedef struct tb_key {
    uint8_t blob[TB_BLOB_CAP];
    size_t len;
    uint8_t pub[64];
    uint8_t fp[32];
} tb_key_t;

static inline void tb_key_new(tb_key_t *k)
{
    FK_ASSERT(fk_pk_ec_generate(FK_CURVE_SECP256K1, k->blob, sizeof(k->blob), &k->len) ==
              FK_CRYPTO_OK);
    FK_ASSERT(fk_image_seal_pubkey(k->blob, k->len, k->pub) == FK_BOOT_OK);
    fk_boot_fingerprint(k->pub, k->fp);
}

/* ---- Sealing shortcuts --------------------------------------------------------- */

/* Seal the SDK image into img with key (may be NULL), rollback rv (< 0: no
 * version options). */
static inline fk_boot_err_t tb_seal(fk_image_t *img, uint8_t *buf, size_t cap, const tb_key_t *key,
                             int rv, fk_image_seal_info_t *info)
{
    fk_image_seal_opts_t o;
    tb_load_sdk(img, buf, cap);
    fk_image_seal_opts_init(&o);
    if (key != NULL) {
        o.key_blob = key->blob;
        o.key_blob_len = key->len;
    }
    if (rv >= 0) {
        o.set_major = true;
        o.major = 1;
        o.set_rollback = true;
        o.rollback = (uint16_t)rv;
    }
    return fk_image_seal(img, &o, info);
}

/* ---- OTP states ---------------------------------------------------------------- */

/* OR bits into one raw row as secure firmware (cur | bits). */
static inline void tb_otp_or(fk_otp_t *otp, uint16_t row, uint32_t bits)
{
    uint32_t cur = 0;
    FK_ASSERT(fk_otp_read_raw(otp, FK_OTP_SECURE, row, &cur, 1) == FK_OTP_OK);
    cur |= bits;
    FK_ASSERT(fk_otp_write_raw(otp, FK_OTP_SECURE, row, &cur, 1) == FK_OTP_OK);
}

/* OR bits into all three copies of an RBIT-3 field. */
static inline void tb_otp_rbit3(fk_otp_t *otp, uint16_t row, uint32_t bits)
{
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) tb_otp_or(otp, (uint16_t)(row + i), bits);
}

/* A factory-fresh chip (page locks as shipped), A2 unless told. */
static inline void tb_otp_fresh(fk_otp_t *otp, fk_otp_stepping_t stepping)
{
    static const uint8_t chipid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t randid[16] = {9, 10, 11, 12, 13, 14, 15, 16};
    fk_otp_init(otp, stepping);
    FK_ASSERT(fk_otp_factory(otp, chipid, randid) == FK_OTP_OK);
}

/* Fuse fp into boot-key slot (ECC rows), optionally marking it valid. */
static inline void tb_otp_load_key(fk_otp_t *otp, unsigned slot, const uint8_t fp[32], bool valid)
{
    uint16_t rows[FK_OTP_BOOTKEY_ROWS];
    fk_boot_bootkey_rows(fp, rows);
    FK_ASSERT(fk_otp_write_ecc(otp, FK_OTP_SECURE, (uint16_t)FK_OTP_ROW_BOOTKEY(slot), rows,
                               FK_OTP_BOOTKEY_ROWS) == FK_OTP_OK);
    if (valid) tb_otp_rbit3(otp, FK_OTP_ROW_BOOT_FLAGS1, 1u << slot);
}

/* CRIT1.SECURE_BOOT_ENABLE in `copies` of the 8 rows. */
static inline void tb_otp_secure_copies(fk_otp_t *otp, unsigned copies)
{
    for (unsigned i = 0; i < copies; i++)
        tb_otp_or(otp, (uint16_t)(FK_OTP_ROW_CRIT1 + i), FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
}

/* A secure chip with key fp in slot 0 (the usual production state). */
static inline void tb_otp_secure(fk_otp_t *otp, const uint8_t fp[32])
{
    tb_otp_fresh(otp, FK_OTP_STEPPING_A2);
    tb_otp_load_key(otp, 0, fp, true);
    tb_otp_secure_copies(otp, FK_OTP_CRIT_COPIES);
}

/* The voted value of an RBIT-3 field (test's own reading). */
static inline uint32_t tb_rbit3(const fk_otp_t *otp, uint16_t row)
{
    return fk_otp_maj3(otp->raw[row], otp->raw[row + 1u], otp->raw[row + 2u]);
}

/* ---- Deterministic random bits for the hostile-input loops ---------------------- */

static uint64_t g_tb_rng = 0x9E3779B97F4A7C15ull;

static inline uint32_t tb_rand(void)
{
    g_tb_rng ^= g_tb_rng << 13;
    g_tb_rng ^= g_tb_rng >> 7;
    g_tb_rng ^= g_tb_rng << 17;
    return (uint32_t)(g_tb_rng >> 16);
}

#endif /* FUSEKEY_BOOT_TEST_H */
