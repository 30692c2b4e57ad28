/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.h - an RP2350 image as one flat run of bytes at a base address,
 * read from UF2, ELF32 (Arm or RISC-V, little-endian) or BIN, and written
 * back as UF2 or BIN (docs/boot.md "Image files").
 *
 * The caller owns every buffer: the image lives in fk_image_t.data (cap
 * bytes), the input and output files in buffers the caller reads or writes.
 * Nothing is allocated. Input is hostile: every length and offset is
 * checked, and a refused input leaves the image empty (len 0) with the
 * input offset of the problem in err_at.
 */
#ifndef FUSEKEY_BOOT_IMAGE_H
#define FUSEKEY_BOOT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot_err.h"

/* UF2 block layout (512 bytes, little-endian words). */
#define FK_UF2_BLOCK_SIZE 512u
#define FK_UF2_MAGIC0 0x0A324655u
#define FK_UF2_MAGIC1 0x9E5D5157u
#define FK_UF2_MAGIC_END 0x0AB16F30u
#define FK_UF2_DATA_MAX 476u
#define FK_UF2_PAYLOAD 256u /* payload per block that this module writes */
#define FK_UF2_FLAG_NOT_MAIN_FLASH 0x00000001u
#define FK_UF2_FLAG_FILE_CONTAINER 0x00001000u
#define FK_UF2_FLAG_FAMILY 0x00002000u
#define FK_UF2_FLAG_MD5 0x00004000u
#define FK_UF2_FLAG_EXTENSION 0x00008000u

/* Family ids. */
#define FK_UF2_FAMILY_RP2040 0xE48BFF56u
#define FK_UF2_FAMILY_ABSOLUTE 0xE48BFF57u
#define FK_UF2_FAMILY_DATA 0xE48BFF58u
#define FK_UF2_FAMILY_RP2350_ARM_S 0xE48BFF59u
#define FK_UF2_FAMILY_RP2350_RISCV 0xE48BFF5Au
#define FK_UF2_FAMILY_RP2350_ARM_NS 0xE48BFF5Bu

/* The block an A2 sealer may prepend (erratum E10), which readers skip. */
#define FK_UF2_E10_TARGET 0x10FFFF00u

/* Default load address of a BIN: the start of flash (XIP). */
#define FK_IMAGE_DEFAULT_BASE 0x10000000u

typedef enum fk_image_format {
    FK_IMAGE_BIN = 0,
    FK_IMAGE_UF2 = 1,
    FK_IMAGE_ELF = 2,
} fk_image_format_t;

typedef struct fk_image {
    uint8_t *data;      /* caller's buffer */
    size_t cap;         /* its size */
    size_t len;         /* bytes of image */
    uint32_t base;      /* address of data[0] */
    uint32_t family;    /* UF2 family of the input; for ELF/BIN the natural
                           RP2350 family (Arm secure or RISC-V), not from the file */
    bool has_family;    /* family came from the input file */
    fk_image_format_t format;
    size_t err_at;      /* input byte offset of the problem after a refusal */
} fk_image_t;

/* An empty image over buf[0, cap). */
void fk_image_init(fk_image_t *img, uint8_t *buf, size_t cap);

/* UF2 when the input starts with a UF2 block's magic, ELF when it starts
 * with the ELF magic, BIN otherwise. */
fk_image_format_t fk_image_detect(const uint8_t *in, size_t len);

/* Load an input of the detected format. bin_base is the address of a BIN
 * (0 = FK_IMAGE_DEFAULT_BASE) and is ignored for UF2 and ELF. */
fk_boot_err_t fk_image_load(fk_image_t *img, const uint8_t *in, size_t len, uint32_t bin_base);

/* UF2: blocks must carry consecutive block numbers and one block count;
 * the E10 block (absolute family, target 0x10FFFF00) is skipped, as are
 * blocks flagged not-main-flash; payloads must be in ascending address order
 * and not overlap; gaps are zero-filled; all blocks must be of one family. */
fk_boot_err_t fk_image_load_uf2(fk_image_t *img, const uint8_t *in, size_t len);

/* ELF32 little-endian executable for Arm or RISC-V: every PT_LOAD segment's
 * file bytes at its physical address, flattened from the lowest to the
 * highest address (gaps zero-filled); segments must not overlap. */
fk_boot_err_t fk_image_load_elf(fk_image_t *img, const uint8_t *in, size_t len);

/* BIN: the bytes as they are, at base (0 = FK_IMAGE_DEFAULT_BASE). */
fk_boot_err_t fk_image_load_bin(fk_image_t *img, const uint8_t *in, size_t len, uint32_t base);

/* Bytes the UF2 form of img takes (a 512-byte block per 256 bytes). */
size_t fk_image_uf2_size(const fk_image_t *img);

/* Write img as UF2: 256-byte payloads at base, base + 256, ..., flags
 * FK_UF2_FLAG_FAMILY, block numbers 0..n-1 of n, the last payload padded
 * with zeros. family 0 = img->family. The base must be 256-byte aligned. */
fk_boot_err_t fk_image_write_uf2(const fk_image_t *img, uint32_t family, uint8_t *out,
                                 size_t cap, size_t *out_len);

/* Write img as BIN (its bytes). */
fk_boot_err_t fk_image_write_bin(const fk_image_t *img, uint8_t *out, size_t cap,
                                 size_t *out_len);

/* True for the three RP2350 families. */
bool fk_uf2_family_is_rp2350(uint32_t family);

/* A short name of a family id ("RP2350_ARM_S", ...; "unknown"). */
const char *fk_uf2_family_name(uint32_t family);

#endif /* FUSEKEY_BOOT_IMAGE_H */
