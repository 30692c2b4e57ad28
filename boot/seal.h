/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.h - sealing an RP2350 image the way `picotool seal` does (docs/boot.md
 * "Sealing"): a new IMAGE_DEF block appended after the image and linked into
 * the block loop, carrying the version, rollback version and rows, the
 * vector table and entry point, a LOAD_MAP over the image, HASH_DEF, a
 * secp256k1 SIGNATURE and optionally HASH_VALUE. Also the boot-key
 * fingerprint and the otp.json text that records it.
 *
 * (Not to be confused with core/seal/, which seals secrets at rest.)
 */
#ifndef FUSEKEY_BOOT_SEAL_H
#define FUSEKEY_BOOT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_err.h"
#include "image.h"

#define FK_SEAL_MAX_ROWS 8u
#define FK_SEAL_ROW_SPACING 3u /* rows are the first of RBIT-3 triples */
#define FK_SEAL_DEFAULT_ROWS 2u /* 0x4E and 0x51: rollback versions 1..47 */

typedef struct fk_image_seal_opts {
    const uint8_t *key_blob; /* fk_pk key blob (crypto/pk.h) of a secp256k1 private
                                key; NULL: do not sign */
    size_t key_blob_len;
    bool hash_value;         /* append HASH_VALUE (picotool --hash) */
    bool set_major, set_minor, set_rollback; /* which of the three were given */
    uint16_t major, minor;
    uint16_t rollback;       /* 0 gives a VERSION item without rows */
    unsigned n_rows;         /* 0: the default rows 0x4E, 0x51 */
    uint16_t rows[FK_SEAL_MAX_ROWS];
    bool no_e13_workaround;  /* leave earlier blocks as they are even with a
                                rollback version (tests only: on an A2 chip with
                                ROLLBACK_REQUIRED such an image does not boot) */
} fk_image_seal_opts_t;

typedef struct fk_image_seal_info {
    uint32_t block_addr;      /* the new block */
    uint16_t block_words;     /* its size in words, START to END */
    uint8_t hash[32];         /* the image hash (when hashed or signed) */
    bool is_signed;
    uint8_t pubkey[64];       /* X || Y */
    uint8_t fingerprint[32];  /* SHA-256 of pubkey: the BOOTKEY rows */
    unsigned ignored_blocks;  /* earlier blocks marked IGNORED (E13 workaround) */
    uint16_t major, minor;
    uint16_t rollback;        /* 0: no rollback version */
    unsigned n_rows;
    uint16_t rows[FK_SEAL_MAX_ROWS];
} fk_image_seal_info_t;

/* Defaults: no signature, no HASH_VALUE, no version change, default rows. */
void fk_image_seal_opts_init(fk_image_seal_opts_t *opts);

/* Seal img in place (its buffer must have room for the padding to a word
 * and the new block, at most 0x180 + 12 bytes). Refused, with the image
 * unchanged: a UF2 of a non-RP2350 family, an image without an IMAGE_DEF
 * block, a broken block loop, a rollback version without a key, a rollback
 * version >= 24 x rows, rows not sorted-able into distinct triples at least
 * 3 apart, a key that is not secp256k1, a vector table outside the image.
 * The result is signed, then verified again before success is returned;
 * info (may be NULL) describes it. Not reentrant (one static work area). */
fk_boot_err_t fk_image_seal(fk_image_t *img, const fk_image_seal_opts_t *opts,
                            fk_image_seal_info_t *info);

/* The 64-byte public key X || Y of a secp256k1 key blob. */
fk_boot_err_t fk_image_seal_pubkey(const uint8_t *key_blob, size_t len, uint8_t pubkey[64]);

/* The otp.json text `picotool seal` writes next to a signed image (keys in
 * picotool's sorted order): boot_flags1.key_valid = 1, bootkey0 = the 32
 * fingerprint bytes, crit1.secure_boot_enable = 1. It enables secure boot:
 * never load it into OTP as it is (docs/boot.md). */
fk_boot_err_t fk_image_seal_otp_json(const uint8_t fingerprint[32], char *out, size_t cap,
                                     size_t *len);

#endif /* FUSEKEY_BOOT_SEAL_H */
