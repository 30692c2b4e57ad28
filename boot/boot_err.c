/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_err.c - the sentences behind fk_boot_err_t and the bounded text
 * builder.
 */
#include "boot_err.h"

#include <string.h>

static const char *const k_messages[FK_BOOT_ERR_COUNT] = {
    [FK_BOOT_OK] = "ok",
    [FK_BOOT_EARG] = "invalid argument",
    [FK_BOOT_ESPACE] = "the output buffer is too small",

    [FK_BOOT_EEMPTY] = "the input is empty",
    [FK_BOOT_EUF2_SIZE] = "UF2 file is truncated: its length is not a multiple of 512 bytes",
    [FK_BOOT_EUF2_MAGIC] = "UF2 block has a bad magic number",
    [FK_BOOT_EUF2_PAYLOAD] = "UF2 block payload size is zero or larger than 476 bytes",
    [FK_BOOT_EUF2_ORDER] = "UF2 block numbers are out of sequence or disagree on the block count",
    [FK_BOOT_EUF2_MISSING] = "UF2 file is truncated: it holds fewer blocks than it declares",
    [FK_BOOT_EUF2_FAMILY_MIXED] = "UF2 file mixes blocks of different families",
    [FK_BOOT_EUF2_CONTAINER] = "UF2 file-container blocks are not supported",
    [FK_BOOT_EUF2_OVERLAP] =
        "UF2 blocks overlap or are not in ascending address order",
    [FK_BOOT_EUF2_EMPTY] = "UF2 file holds no flash data",
    [FK_BOOT_EELF_HEADER] = "not a 32-bit little-endian ELF executable",
    [FK_BOOT_EELF_MACHINE] = "ELF file is not for Arm or RISC-V",
    [FK_BOOT_EELF_PHDR] = "ELF program headers are malformed or lie outside the file",
    [FK_BOOT_EELF_SEGMENT] = "ELF segment data lies outside the file",
    [FK_BOOT_EELF_OVERLAP] = "ELF loadable segments overlap",
    [FK_BOOT_EELF_EMPTY] = "ELF file has no loadable data",
    [FK_BOOT_EADDRESS] = "image addresses run past the end of the 32-bit address space",
    [FK_BOOT_ETOO_BIG] = "the image does not fit the image buffer",
    [FK_BOOT_EBASE] = "the image does not start on a 256-byte boundary, which UF2 output needs",

    [FK_BOOT_ENO_BLOCK] = "no valid block (START ... LAST, link, END) starts in the first 4 KiB",
    [FK_BOOT_ELOOP] = "block loop broken: a link leads to no valid block inside the image",
    [FK_BOOT_ELOOP_BACK] = "block loop broken: a link goes below the first block",
    [FK_BOOT_ELOOP_SELF] = "block loop broken: a block other than the first links to itself",
    [FK_BOOT_ELOOP_LONG] = "block loop never closes back on the first block",
    [FK_BOOT_ENO_IMAGE_DEF] = "the image has no IMAGE_DEF block (not a binary built for the RP2350)",

    [FK_BOOT_EFAMILY] = "the UF2 family is not an RP2350 family (RP2350_ARM_S, _ARM_NS or _RISCV)",
    [FK_BOOT_EROLLBACK_UNSIGNED] = "a rollback version requires signing (--sign)",
    [FK_BOOT_EROLLBACK_RANGE] =
        "the rollback version does not fit the rows: it must be below 24 x the number of rows",
    [FK_BOOT_EROWS] =
        "rollback rows must be distinct, at least 3 apart and inside the OTP (first rows of "
        "RBIT-3 triples)",
    [FK_BOOT_EKEY] = "the signing key is not a secp256k1 private key",
    [FK_BOOT_ESIGN] = "signing failed",
    [FK_BOOT_ESELF_VERIFY] = "the sealed image does not verify (internal error)",
    [FK_BOOT_EBLOCK_SIZE] = "the new IMAGE_DEF block would be larger than 0x180 bytes",
    [FK_BOOT_EVECTOR] = "the vector table (initial SP and reset PC) is not inside the image",
    [FK_BOOT_ELOAD_MAP_COPY] = "the existing LOAD_MAP cannot be moved to the new block",

    [FK_BOOT_RNOT_RP2350] = "the executable IMAGE_DEF is not for the RP2350",
    [FK_BOOT_RITEM_SIZE] = "an item of the IMAGE_DEF has a wrong size",
    [FK_BOOT_RBLOCK_SIZE] = "the IMAGE_DEF items do not add up to the block size",
    [FK_BOOT_RROLLBACK_RANGE] = "the rollback version is too big for its OTP rows (24 per row)",
    [FK_BOOT_RTHERMO_UNREADABLE] = "a rollback (thermometer) OTP row cannot be read",
    [FK_BOOT_RBELOW_FLOOR] = "the rollback version is below the OTP rollback floor",
    [FK_BOOT_RROLLBACK_REQUIRED] =
        "the image has no rollback version but OTP says ROLLBACK_REQUIRED",
    [FK_BOOT_RNOT_ALL_SIGNED] =
        "not everything is signed: HASH_DEF does not cover every item before the signature",
    [FK_BOOT_RE13] =
        "an earlier IMAGE_DEF was rejected and stays chosen (A2 erratum E13); seal with a "
        "rollback version so that earlier blocks are marked IGNORED",

    [FK_BOOT_RUNSIGNED] = "the image is not signed, and secure boot requires a signature",
    [FK_BOOT_RSIG_TYPE] = "the signature is not of type secp256k1",
    [FK_BOOT_RNO_VALID_KEY] = "no boot-key slot is valid (KEY_VALID and not KEY_INVALID)",
    [FK_BOOT_RKEY_UNKNOWN] = "the image is signed by a key whose fingerprint is in no boot-key slot",
    [FK_BOOT_RKEY_REVOKED] = "the signing key's boot-key slot is revoked (KEY_INVALID)",
    [FK_BOOT_RKEY_NOT_VALID] = "the signing key's boot-key slot is not marked KEY_VALID",
    [FK_BOOT_RNO_HASH_DEF] = "the image needs a hash but has no SHA-256 HASH_DEF",
    [FK_BOOT_RHASH_RANGE] = "HASH_DEF covers words past the block or the image",
    [FK_BOOT_RLOAD_MAP] = "a LOAD_MAP entry is misaligned or outside the image",
    [FK_BOOT_RSIG_INVALID] =
        "the signature does not verify: the image or its signed block was modified",
    [FK_BOOT_RHASH_VALUE] = "HASH_VALUE does not match the image",
    [FK_BOOT_RNONSECURE] = "an Arm image marked non-secure cannot be launched",
    [FK_BOOT_RWRONG_CPU] = "the image is not for the Arm cores, which secure boot requires",

    [FK_BOOT_FOTP_READ] = "a guarded OTP read faulted (page locked against secure code)",
    [FK_BOOT_FBOOTKEY_ECC] = "uncorrectable ECC error in a valid boot-key slot: the bootrom faults",
    [FK_BOOT_ABURN] = "burning the rollback OTP bits failed, so the launch was aborted",
    [FK_BOOT_EPASSES] = "the model stopped after too many rollback reboots",
};

const char *fk_boot_strerror(fk_boot_err_t err)
{
    if ((unsigned)err >= (unsigned)FK_BOOT_ERR_COUNT || k_messages[err] == NULL)
        return "unknown error";
    return k_messages[err];
}

void fk_boot_text_init(fk_boot_text_t *t, char *buf, size_t cap)
{
    t->p = buf;
    t->cap = cap;
    t->len = 0;
    t->overflow = false;
    if (cap > 0) buf[0] = '\0';
}

/* Append n bytes of s, truncating at cap - 1. */
static void text_put(fk_boot_text_t *t, const char *s, size_t n)
{
    if (t->cap == 0) {
        t->overflow = t->overflow || n > 0;
        return;
    }
    size_t room = t->cap - 1u - t->len;
    if (n > room) {
        n = room;
        t->overflow = true;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void fk_boot_text_str(fk_boot_text_t *t, const char *s)
{
    text_put(t, s, strlen(s));
}

void fk_boot_text_dec(fk_boot_text_t *t, uint32_t v)
{
    char d[10];
    size_t n = 0;
    do {
        d[sizeof(d) - 1u - n] = (char)('0' + v % 10u);
        v /= 10u;
        n++;
    } while (v != 0u);
    text_put(t, d + sizeof(d) - n, n);
}

void fk_boot_text_hex(fk_boot_text_t *t, uint32_t v, unsigned digits)
{
    static const char k_hex[] = "0123456789ABCDEF";
    char d[2 + 8];
    unsigned n = 1;
    while (n < 8u && (v >> (4u * n)) != 0u) n++;
    if (digits > 8u) digits = 8u;
    if (n < digits) n = digits;
    d[0] = '0';
    d[1] = 'x';
    for (unsigned i = 0; i < n; i++) d[2u + i] = k_hex[(v >> (4u * (n - 1u - i))) & 0xFu];
    text_put(t, d, 2u + n);
}

void fk_boot_text_bytes(fk_boot_text_t *t, const uint8_t *b, size_t n)
{
    static const char k_hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char d[2] = {k_hex[b[i] >> 4], k_hex[b[i] & 0xFu]};
        text_put(t, d, 2);
    }
}
