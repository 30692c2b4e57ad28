/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_err.h - every outcome of the boot module that is not plain success:
 * why an input file was refused, why an image cannot be sealed, and why the
 * bootrom model refuses an image. One enum so that a tool can print any of
 * them with fk_boot_strerror(); the sentences are meant for users.
 *
 * Also a tiny bounded text builder (no stdio) that the module uses for the
 * otp.json text and for describing a boot decision.
 */
#ifndef FUSEKEY_BOOT_ERR_H
#define FUSEKEY_BOOT_ERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fk_boot_err {
    FK_BOOT_OK = 0,

    /* Arguments and buffers. */
    FK_BOOT_EARG,  /* a NULL pointer or an impossible option */
    FK_BOOT_ESPACE, /* the caller's buffer is too small */

    /* Reading images (UF2 / ELF / BIN). */
    FK_BOOT_EEMPTY,
    FK_BOOT_EUF2_SIZE,
    FK_BOOT_EUF2_MAGIC,
    FK_BOOT_EUF2_PAYLOAD,
    FK_BOOT_EUF2_ORDER,
    FK_BOOT_EUF2_MISSING,
    FK_BOOT_EUF2_FAMILY_MIXED,
    FK_BOOT_EUF2_CONTAINER,
    FK_BOOT_EUF2_OVERLAP,
    FK_BOOT_EUF2_EMPTY,
    FK_BOOT_EELF_HEADER,
    FK_BOOT_EELF_MACHINE,
    FK_BOOT_EELF_PHDR,
    FK_BOOT_EELF_SEGMENT,
    FK_BOOT_EELF_OVERLAP,
    FK_BOOT_EELF_EMPTY,
    FK_BOOT_EADDRESS,
    FK_BOOT_ETOO_BIG,
    FK_BOOT_EBASE,

    /* The block loop (shared by the sealer and the bootrom model). */
    FK_BOOT_ENO_BLOCK,
    FK_BOOT_ELOOP,
    FK_BOOT_ELOOP_BACK,
    FK_BOOT_ELOOP_SELF,
    FK_BOOT_ELOOP_LONG,
    FK_BOOT_ENO_IMAGE_DEF,

    /* Sealing refusals. */
    FK_BOOT_EFAMILY,
    FK_BOOT_EROLLBACK_UNSIGNED,
    FK_BOOT_EROLLBACK_RANGE,
    FK_BOOT_EROWS,
    FK_BOOT_EKEY,
    FK_BOOT_ESIGN,
    FK_BOOT_ESELF_VERIFY,
    FK_BOOT_EBLOCK_SIZE,
    FK_BOOT_EVECTOR,
    FK_BOOT_ELOAD_MAP_COPY,

    /* The bootrom rejects an IMAGE_DEF while parsing it. */
    FK_BOOT_RNOT_RP2350,
    FK_BOOT_RITEM_SIZE,
    FK_BOOT_RBLOCK_SIZE,
    FK_BOOT_RROLLBACK_RANGE,
    FK_BOOT_RTHERMO_UNREADABLE,
    FK_BOOT_RBELOW_FLOOR,
    FK_BOOT_RROLLBACK_REQUIRED,
    FK_BOOT_RNOT_ALL_SIGNED,
    FK_BOOT_RE13,

    /* The chosen IMAGE_DEF does not verify or may not launch. */
    FK_BOOT_RUNSIGNED,
    FK_BOOT_RSIG_TYPE,
    FK_BOOT_RNO_VALID_KEY,
    FK_BOOT_RKEY_UNKNOWN,
    FK_BOOT_RKEY_REVOKED,
    FK_BOOT_RKEY_NOT_VALID,
    FK_BOOT_RNO_HASH_DEF,
    FK_BOOT_RHASH_RANGE,
    FK_BOOT_RLOAD_MAP,
    FK_BOOT_RSIG_INVALID,
    FK_BOOT_RHASH_VALUE,
    FK_BOOT_RNONSECURE,
    FK_BOOT_RWRONG_CPU,

    /* The bootrom faults or abandons the launch. */
    FK_BOOT_FOTP_READ,
    FK_BOOT_FBOOTKEY_ECC,
    FK_BOOT_ABURN,
    FK_BOOT_EPASSES,

    FK_BOOT_ERR_COUNT
} fk_boot_err_t;

/* One sentence (no trailing newline) for any code; never NULL. */
const char *fk_boot_strerror(fk_boot_err_t err);

/* ---- Bounded text ---------------------------------------------------------
 * Appends never write past cap - 1 and always leave a NUL terminator (when
 * cap > 0); an append that does not fit sets `overflow` and is truncated. */
typedef struct fk_boot_text {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
} fk_boot_text_t;

void fk_boot_text_init(fk_boot_text_t *t, char *buf, size_t cap);
void fk_boot_text_str(fk_boot_text_t *t, const char *s);
void fk_boot_text_dec(fk_boot_text_t *t, uint32_t v);
/* "0x" and at least `digits` upper-case hex digits. */
void fk_boot_text_hex(fk_boot_text_t *t, uint32_t v, unsigned digits);
/* Two lower-case hex digits per byte, no prefix. */
void fk_boot_text_bytes(fk_boot_text_t *t, const uint8_t *b, size_t n);

#endif /* FUSEKEY_BOOT_ERR_H */
