/* SPDX-License-Identifier: Apache-2.0 */
/*
 * picobin.h - the RP2350 image metadata blocks (docs/boot.md): finding the
 * block loop in an image, parsing an IMAGE_DEF the way the bootrom does, and
 * hashing exactly what the bootrom hashes.
 *
 *   word 0        0xFFFFDED3                  START
 *   word 1..      items; an IMAGE_DEF starts with IMAGE_TYPE (0x42)
 *   word L        0x000000FF | (L - 1) << 8   LAST (L - 1 = item words)
 *   word L + 1    link: signed byte offset of the next block's START
 *   word L + 2    0xAB123579                  END
 *
 * Item header: byte 0 = type; with bit 7 set the size is bytes 1-2, else
 * byte 1; the size counts words including the header. Bytes are little
 * endian throughout. Nothing here touches the OTP: the bootrom's OTP-bound
 * checks are in bootrom.c. Pure functions over caller-owned bytes; every
 * offset is checked against the image length.
 */
#ifndef FUSEKEY_PICOBIN_H
#define FUSEKEY_PICOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_err.h"

#define FK_PICOBIN_WORD_BYTES 4u
#define FK_PICOBIN_WORD_MASK (FK_PICOBIN_WORD_BYTES - 1u) /* alignment bits */
#define FK_PICOBIN_START 0xFFFFDED3u
#define FK_PICOBIN_END 0xAB123579u

/* Item types (byte 0 of the header, bit 7 = two-byte size). */
#define FK_PICOBIN_ITEM_IMAGE_TYPE 0x42u
#define FK_PICOBIN_ITEM_VECTOR_TABLE 0x03u
#define FK_PICOBIN_ITEM_ENTRY_POINT 0x44u
#define FK_PICOBIN_ITEM_ROLLING_WINDOW_DELTA 0x05u
#define FK_PICOBIN_ITEM_LOAD_MAP 0x06u
#define FK_PICOBIN_ITEM_HASH_DEF 0x47u
#define FK_PICOBIN_ITEM_VERSION 0x48u
#define FK_PICOBIN_ITEM_SIGNATURE 0x09u
#define FK_PICOBIN_ITEM_PARTITION_TABLE 0x0Au
#define FK_PICOBIN_ITEM_HASH_VALUE 0x4Bu
#define FK_PICOBIN_ITEM_SALT 0x0Cu
#define FK_PICOBIN_ITEM_IGNORED 0x7Eu
#define FK_PICOBIN_ITEM_LAST 0x7Fu
#define FK_PICOBIN_ITEM_TYPE_MASK 0x7Fu
#define FK_PICOBIN_ITEM_2BS 0x80u /* two-byte size */
#define FK_PICOBIN_ITEM_TYPE_BYTE 0xFFu /* byte 0 of a header */
/* Words of a block outside its items: START before, LAST, link, END after. */
#define FK_PICOBIN_BLOCK_TAIL_WORDS 3u

/* Word 1 of an IMAGE_DEF: IMAGE_TYPE, one word, flags in bits 31:16. */
#define FK_PICOBIN_IMAGE_TYPE_HEADER 0x0142u
#define FK_PICOBIN_HEADER_MASK 0xFFFFu /* type and one-byte size */

/* IMAGE_TYPE flags (16 bits). */
#define FK_IMAGE_TYPE_TYPE_MASK 0x000Fu
#define FK_IMAGE_TYPE_EXE 0x0001u
#define FK_IMAGE_TYPE_DATA 0x0002u
#define FK_IMAGE_TYPE_SECURITY_SHIFT 4u
#define FK_IMAGE_TYPE_SECURITY_MASK 0x0030u
#define FK_IMAGE_TYPE_SECURITY_NS 1u
#define FK_IMAGE_TYPE_SECURITY_S 2u
#define FK_IMAGE_TYPE_CPU_SHIFT 8u
#define FK_IMAGE_TYPE_CPU_MASK 0x0700u
#define FK_IMAGE_TYPE_CPU_ARM 0u
#define FK_IMAGE_TYPE_CPU_RISCV 1u
#define FK_IMAGE_TYPE_EXTRA_SECURITY 0x0800u
#define FK_IMAGE_TYPE_CHIP_SHIFT 12u
#define FK_IMAGE_TYPE_CHIP_MASK 0x7000u
#define FK_IMAGE_TYPE_CHIP_RP2350 1u
#define FK_IMAGE_TYPE_TBYB 0x8000u
/* TBYB as a bit of block word 1 (excluded from the hash). */
#define FK_PICOBIN_WORD1_TBYB ((uint32_t)FK_IMAGE_TYPE_TBYB << 16)

#define FK_PICOBIN_HASH_SHA256 0x01u
#define FK_PICOBIN_SIG_SECP256K1 0x01u
#define FK_PICOBIN_LOAD_MAP_ABSOLUTE 0x80u /* bit 7 of header byte 3 */
#define FK_PICOBIN_LOAD_MAP_COUNT_MASK 0x7Fu

/* Item sizes in words, header included. */
#define FK_PICOBIN_SIZE_IMAGE_TYPE 1u
#define FK_PICOBIN_SIZE_VECTOR_TABLE 2u
#define FK_PICOBIN_SIZE_ENTRY_POINT 3u
#define FK_PICOBIN_SIZE_ENTRY_POINT_LIMIT 4u
#define FK_PICOBIN_SIZE_ROLLING_WINDOW_DELTA 2u
#define FK_PICOBIN_SIZE_HASH_DEF 2u
#define FK_PICOBIN_SIZE_SIGNATURE 33u
#define FK_PICOBIN_SIZE_HASH_VALUE_MIN 2u
#define FK_PICOBIN_SIZE_HASH_VALUE_MAX 9u
#define FK_PICOBIN_LOAD_MAP_ENTRY_WORDS 3u
#define FK_PICOBIN_KEY_WORDS 16u /* public key X || Y, 64 bytes */
#define FK_PICOBIN_SIG_WORDS 16u /* signature r || s, 64 bytes */
#define FK_PICOBIN_KEY_LEN 64u
#define FK_PICOBIN_SIG_LEN 64u
#define FK_PICOBIN_HASH_LEN 32u

/* Rollback thermometer: 24 bits per RBIT-3 row triple. */
#define FK_PICOBIN_ROLLBACK_BITS_PER_ROW 24u

/* Limits of the bootrom: a block is read into a 0x280-byte buffer; an
 * IMAGE_DEF may be at most 0x180 bytes up to its LAST item; the first block
 * must start within the first 4 KiB of the image. */
#define FK_PICOBIN_MAX_BLOCK_WORDS (0x280u / 4u)
#define FK_PICOBIN_MAX_IMAGE_DEF_WORDS (0x180u / 4u)
#define FK_PICOBIN_FIRST_BLOCK_WINDOW 0x1000u
/* How many blocks this model follows before it calls the loop broken. */
#define FK_PICOBIN_MAX_BLOCKS 32u

/* Address ranges the bootrom accepts as load-map runtime addresses. */
#define FK_RP2350_XIP_BASE 0x10000000u
#define FK_RP2350_XIP_SIZE 0x02000000u /* two 16 MiB chip selects */
#define FK_RP2350_XIP_SRAM_BASE 0x13FFC000u
#define FK_RP2350_XIP_SRAM_END 0x14000000u
#define FK_RP2350_SRAM_BASE 0x20000000u
#define FK_RP2350_SRAM_END 0x20082000u

/* One block of the loop. */
typedef struct fk_picobin_block {
    uint32_t offset; /* byte offset of START in the image */
    uint32_t addr;   /* its address (image base + offset) */
    uint16_t last;   /* word index of the LAST item */
    int32_t link;    /* the link word */
} fk_picobin_block_t;

/* The block loop in link order, starting with the first block. */
typedef struct fk_picobin_loop {
    fk_picobin_block_t blocks[FK_PICOBIN_MAX_BLOCKS];
    unsigned count;
} fk_picobin_loop_t;

/* Word idx of a block (caller guarantees idx <= last + 2). */
uint32_t fk_picobin_word(const uint8_t *img, const fk_picobin_block_t *b, unsigned idx);

/* Size in words of an item from its header (0 is invalid). */
static inline uint32_t fk_picobin_item_size(uint32_t header)
{
    return (header & FK_PICOBIN_ITEM_2BS) ? (header >> 8) & 0xFFFFu : (header >> 8) & 0xFFu;
}

/* Check for a valid block (START, items of non-zero size, LAST whose size
 * matches, link, END, all within FK_PICOBIN_MAX_BLOCK_WORDS and the image) at
 * byte offset off; fills *b. */
bool fk_picobin_block_at(const uint8_t *img, size_t len, uint32_t base, uint32_t off,
                         fk_picobin_block_t *b);

/* Find the block loop as the bootrom does: the first valid block starting
 * at a word offset in the first 4 KiB, then the links, which must each lead
 * to a valid block, never below the first, until one returns to the first.
 * The image length must be below 4 GiB. */
fk_boot_err_t fk_picobin_walk(const uint8_t *img, size_t len, uint32_t base,
                              fk_picobin_loop_t *loop);

/* An IMAGE_DEF as the bootrom's parser sees it (item indices are block word
 * indices of the item's first data word; 0 = absent). */
typedef struct fk_picobin_def {
    bool image_def;      /* word 1 is a one-word IMAGE_TYPE, block not over size */
    uint16_t flags;      /* IMAGE_TYPE flags as stored (TBYB included) */
    bool rejected;       /* a structural check failed */
    fk_boot_err_t why;   /* FK_BOOT_R* reason when rejected */
    uint32_t hash_words; /* HASH_DEF(SHA-256) block words included */
    bool has_hash_def;   /* a HASH_DEF with SHA-256 */
    uint16_t hash_value; /* HASH_VALUE data index */
    uint8_t hash_value_words;
    uint16_t sig_key;    /* SIGNATURE key index (signature at +16), type secp256k1 */
    bool has_sig_item;   /* a SIGNATURE item of any type */
    uint16_t load_map;   /* LOAD_MAP header index */
    bool has_version;
    uint32_t major_minor;
    uint8_t rows;        /* rollback row count R */
    uint16_t rollback;   /* rollback version when rows > 0 */
    uint16_t version;    /* VERSION data index */
    bool has_vector_table;
    uint32_t vector_table;
    bool has_entry_point;
    uint32_t pc, sp;
    uint32_t window_delta; /* ROLLING_WINDOW_DELTA (0 when absent) */
    uint16_t sig_needed; /* block words the hash must cover when signed */
} fk_picobin_def_t;

/* Parse the block's items with the bootrom's structural rules. Never fails:
 * a block that is no IMAGE_DEF has image_def false; one that breaks a rule
 * has rejected set with the reason. Later items of the same type replace
 * earlier ones, as in the bootrom. */
void fk_picobin_parse(const uint8_t *img, const fk_picobin_block_t *b, fk_picobin_def_t *def);

/* Rollback row idx (< def->rows) of a parsed VERSION item. */
uint16_t fk_picobin_version_row(const uint8_t *img, const fk_picobin_block_t *b,
                                const fk_picobin_def_t *def, unsigned idx);

/* The SHA-256 the bootrom computes for a block (docs/boot.md "What is
 * hashed"): the load map's data and zero-fill sizes, then block words
 * 0 .. hash_words-1 with TBYB cleared in an executable's word 1. Needs
 * def->has_hash_def. FK_BOOT_RLOAD_MAP or FK_BOOT_RHASH_RANGE when a range
 * leaves the image. */
fk_boot_err_t fk_picobin_hash(const uint8_t *img, size_t len, uint32_t base,
                              const fk_picobin_block_t *b, const fk_picobin_def_t *def,
                              uint8_t out[FK_PICOBIN_HASH_LEN]);

#endif /* FUSEKEY_PICOBIN_H */
