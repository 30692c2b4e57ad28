/* SPDX-License-Identifier: Apache-2.0 */
/*
 * esp32s3_efuse.h - a model of the ESP32-S3 eFuse array, as far as the
 * product's logical OTP interface (otp_logical.h) needs it.
 *
 *   BLOCK0      system fuses, 192 bits, programmable bit by bit (0 -> 1):
 *               WR_DIS (bits 0-31), RD_DIS (32-38), key purposes,
 *               secure-boot, JTAG, download-mode and anti-rollback fields
 *   BLOCK1..3   MAC / system data / user data
 *   BLOCK4..9   KEY0..KEY5, 256 bits each
 *   BLOCK10     SYS_DATA_PART2
 *
 * Rules of the model:
 *   - a BLOCK0 burn only adds ones; it is refused (and changes nothing)
 *     when a bit it would add belongs to a field whose WR_DIS bit is set;
 *   - BLOCK1..10 are protected by a Reed-Solomon code on the chip, which
 *     means a block is programmed once, as a whole: a write to a block that
 *     holds any non-zero bit, or whose WR_DIS bit is set, is refused. The
 *     code itself is not modelled;
 *   - a block whose RD_DIS bit is set cannot be read (by software or over
 *     download mode).
 * Only the BLOCK0 fields the product touches carry their write protection
 * (table in esp32s3_efuse.c); docs/esp32s3.md has the map and its sources.
 * Portable C, no OS header, no allocation: the caller owns the fk_efuse_t.
 */
#ifndef FUSEKEY_ESP32S3_EFUSE_H
#define FUSEKEY_ESP32S3_EFUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FK_EFUSE_BLOCK0_WORDS 6u
#define FK_EFUSE_BLOCK0_BITS (32u * FK_EFUSE_BLOCK0_WORDS)
#define FK_EFUSE_BLOCKS 11u      /* BLOCK0 .. BLOCK10 */
#define FK_EFUSE_BLOCK_BYTES 32u /* BLOCK1..10 (BLOCK1 has 24 on the chip; modelled as 32) */
#define FK_EFUSE_FIELD_MAX_BITS 32u

/* ---- Blocks ---------------------------------------------------------------- */
#define FK_EFUSE_BLOCK_FIRST_DATA 1u
#define FK_EFUSE_BLOCK_KEY0 4u
#define FK_EFUSE_KEY_BLOCKS 6u
#define FK_EFUSE_BLOCK_KEY(n) (FK_EFUSE_BLOCK_KEY0 + (unsigned)(n))
#define FK_EFUSE_BLOCK_SYS_DATA2 10u

/* ---- BLOCK0 bit numbers ---------------------------------------------------- */
/* WR_DIS: one bit per protected field or block. */
#define FK_EFUSE_WR_DIS 0u
#define FK_EFUSE_WR_DIS_BITS 32u
#define FK_EFUSE_WR_DIS_RD_DIS 0u        /* protects RD_DIS itself */
#define FK_EFUSE_WR_DIS_GROUP1 2u        /* ... SOFT_DIS_JTAG, DIS_PAD_JTAG ... */
#define FK_EFUSE_WR_DIS_REVOKE(n) (5u + (unsigned)(n))       /* SECURE_BOOT_KEY_REVOKEn */
#define FK_EFUSE_WR_DIS_KEY_PURPOSE(n) (8u + (unsigned)(n))  /* KEY_PURPOSE_n */
#define FK_EFUSE_WR_DIS_SECURE_BOOT_EN 15u
#define FK_EFUSE_WR_DIS_AGGRESSIVE_REVOKE 16u
#define FK_EFUSE_WR_DIS_GROUP3 18u       /* DIS_DOWNLOAD_MODE ... SECURE_VERSION */
#define FK_EFUSE_WR_DIS_BLOCK(b) (19u + (unsigned)(b))       /* BLOCK1..10 -> 20..29 */
#define FK_EFUSE_WR_DIS_KEY(n) FK_EFUSE_WR_DIS_BLOCK(FK_EFUSE_BLOCK_KEY(n)) /* 23..28 */
/* RD_DIS: one bit per readable-protectable block (KEY0..5, SYS_DATA2). */
#define FK_EFUSE_RD_DIS 32u
#define FK_EFUSE_RD_DIS_BITS 7u
/* RD_DIS bit of BLOCK4..10 (32..38); of KEY0..5 (32..37). */
#define FK_EFUSE_RD_DIS_BLOCK(b) (FK_EFUSE_RD_DIS + (unsigned)(b) - FK_EFUSE_BLOCK_KEY0)
#define FK_EFUSE_RD_DIS_KEY(n) FK_EFUSE_RD_DIS_BLOCK(FK_EFUSE_BLOCK_KEY(n))
/* Debug. */
#define FK_EFUSE_SOFT_DIS_JTAG 48u   /* 3 bits: odd count of ones = off (HMAC can re-enable) */
#define FK_EFUSE_SOFT_DIS_JTAG_BITS 3u
#define FK_EFUSE_DIS_PAD_JTAG 51u    /* a.k.a. HARD_DIS_JTAG: permanent */
#define FK_EFUSE_DIS_USB_JTAG 118u
#define FK_EFUSE_DIS_USB_SERIAL_JTAG 119u /* the whole USB-Serial-JTAG block (console, download) */
/* Secure boot. */
#define FK_EFUSE_SECURE_BOOT_KEY_REVOKE(n) (85u + (unsigned)(n)) /* n = 0..2 */
#define FK_EFUSE_KEY_PURPOSE(n) (88u + 4u * (unsigned)(n))       /* 4 bits per key block */
#define FK_EFUSE_KEY_PURPOSE_BITS 4u
#define FK_EFUSE_SECURE_BOOT_EN 116u
#define FK_EFUSE_SECURE_BOOT_AGGRESSIVE_REVOKE 117u
/* Download mode (never burned by this product). */
#define FK_EFUSE_DIS_DOWNLOAD_MODE 128u
#define FK_EFUSE_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE 132u
#define FK_EFUSE_ENABLE_SECURITY_DOWNLOAD 133u
/* Anti-rollback: a 16-bit thermometer; the version is the number of ones. */
#define FK_EFUSE_SECURE_VERSION 142u
#define FK_EFUSE_SECURE_VERSION_BITS 16u

/* Secure Boot V2 digest slots (SECURE_BOOT_DIGEST0..2). */
#define FK_EFUSE_DIGEST_SLOTS 3u

/* KEY_PURPOSE_n values. */
typedef enum fk_efuse_purpose {
    FK_EFUSE_PURPOSE_USER = 0,
    FK_EFUSE_PURPOSE_XTS_AES_256_KEY_1 = 2,
    FK_EFUSE_PURPOSE_XTS_AES_256_KEY_2 = 3,
    FK_EFUSE_PURPOSE_XTS_AES_128_KEY = 4,
    FK_EFUSE_PURPOSE_HMAC_DOWN_ALL = 5,
    FK_EFUSE_PURPOSE_HMAC_DOWN_JTAG = 6,
    FK_EFUSE_PURPOSE_HMAC_DOWN_DIGITAL_SIGNATURE = 7,
    FK_EFUSE_PURPOSE_HMAC_UP = 8,
    FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0 = 9,
    FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST1 = 10,
    FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST2 = 11,
} fk_efuse_purpose_t;

/* Results. */
enum {
    FK_EFUSE_OK = 0,
    FK_EFUSE_EINVAL = -1,        /* block or bit range out of range, value wider than the field */
    FK_EFUSE_EWRITE_DISABLED = -2, /* WR_DIS forbids the change */
    FK_EFUSE_EREAD_DISABLED = -3,  /* RD_DIS hides the block */
    FK_EFUSE_EREPEATED = -4,     /* already programmed (a block or a purpose is set once) */
};

typedef struct fk_efuse {
    uint32_t block0[FK_EFUSE_BLOCK0_WORDS];               /* bit b = word b/32, bit b%32 */
    uint8_t data[FK_EFUSE_BLOCKS - 1u][FK_EFUSE_BLOCK_BYTES]; /* BLOCK1..10 */
} fk_efuse_t;

/* A blank chip: every fuse zero. */
void fk_efuse_init(fk_efuse_t *e);

/* Read nbits (1..32) of BLOCK0 from first_bit (BLOCK0 is never read-protected). */
int fk_efuse_read_field(const fk_efuse_t *e, unsigned first_bit, unsigned nbits, uint32_t *value);

/* One BLOCK0 bit (false for a bit past the block). */
bool fk_efuse_bit(const fk_efuse_t *e, unsigned bit);

/* Program the ones of value into nbits of BLOCK0 from first_bit (existing
 * ones stay: fuses only go 0 -> 1). All or nothing: FK_EFUSE_EWRITE_DISABLED
 * when a bit to add is write-disabled. Burning ones already set succeeds. */
int fk_efuse_burn_field(fk_efuse_t *e, unsigned first_bit, unsigned nbits, uint32_t value);

/* True when WR_DIS forbids adding ones to BLOCK0 bit `bit`. */
bool fk_efuse_bit_write_disabled(const fk_efuse_t *e, unsigned bit);

/* Read BLOCK1..10. FK_EFUSE_EREAD_DISABLED (out zeroed, as the chip reads
 * zeros) when RD_DIS hides the block. */
int fk_efuse_read_block(const fk_efuse_t *e, unsigned block, uint8_t out[FK_EFUSE_BLOCK_BYTES]);

/* Program BLOCK1..10 once, as a whole. Refused, nothing changed, when the
 * block is write-disabled (FK_EFUSE_EWRITE_DISABLED) or already holds any
 * one bit (FK_EFUSE_EREPEATED). An all-zero write programs nothing. */
int fk_efuse_write_block(fk_efuse_t *e, unsigned block, const uint8_t data[FK_EFUSE_BLOCK_BYTES]);

/* True when a block holds only zeros (a read-protected block counts as
 * programmed: the chip cannot tell, so neither does the model's caller). */
bool fk_efuse_block_empty(const fk_efuse_t *e, unsigned block);

/* KEY_PURPOSE_n of key block n (0..5); 0xFF for n out of range. */
unsigned fk_efuse_key_purpose(const fk_efuse_t *e, unsigned key);

/* Set KEY_PURPOSE_n of a USER block (as the ESP-IDF API does, the bits are
 * not ORed into another purpose: FK_EFUSE_EREPEATED). Setting the purpose
 * it already has succeeds; write-disabled -> FK_EFUSE_EWRITE_DISABLED. */
int fk_efuse_set_key_purpose(fk_efuse_t *e, unsigned key, fk_efuse_purpose_t purpose);

/* A key block is unused iff its purpose is USER, neither it nor its purpose
 * is write- or read-disabled, and it holds only zeros. */
bool fk_efuse_key_unused(const fk_efuse_t *e, unsigned key);

/* The first unused key block (KEY0..5); false when there is none. */
bool fk_efuse_find_unused_key(const fk_efuse_t *e, unsigned *key);

#endif /* FUSEKEY_ESP32S3_EFUSE_H */
