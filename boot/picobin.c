/* SPDX-License-Identifier: Apache-2.0 */
/*
 * picobin.c - block loop, IMAGE_DEF parsing and the image hash, following
 * the bootrom's rules (docs/boot.md). Every read of the image goes through
 * a bounds check; a hostile image yields an error or a rejected block.
 */
#include "picobin.h"

#include <string.h>

#include "crypto/crypto.h"
#include "util.h"

#define WORD_BYTES FK_PICOBIN_WORD_BYTES
#define WORD_MASK FK_PICOBIN_WORD_MASK
#define XIP_CS_SHIFT 25u          /* XIP: two 16 MiB chip selects, one 32 MiB window */
#define XIP_CS0_END (FK_RP2350_XIP_BASE + 0x01000000u)
#define LOAD_SPAN_SHIFT 27u       /* a load-map span must be under 128 MiB */
#define WORD1 1u                  /* IMAGE_TYPE word */
#define LINK_AFTER_LAST 1u        /* the link follows LAST ... */
#define END_AFTER_LAST 2u         /* ... and END follows the link */
#define ENTRY_RUNTIME 1u          /* load-map entry: storage, runtime, size */
#define ENTRY_SIZE 2u
#define FIRST_ITEM 2u             /* first item after IMAGE_TYPE */

uint32_t fk_picobin_word(const uint8_t *img, const fk_picobin_block_t *b, unsigned idx)
{
    return fk_le32(img + b->offset + WORD_BYTES * idx);
}

bool fk_picobin_block_at(const uint8_t *img, size_t len, uint32_t base, uint32_t off,
                         fk_picobin_block_t *b)
{
    if (off % WORD_BYTES != 0u || off >= len || len - off < WORD_BYTES) return false;
    if (fk_le32(img + off) != FK_PICOBIN_START) return false;
    size_t avail = (len - off) / WORD_BYTES;
    if (avail > FK_PICOBIN_MAX_BLOCK_WORDS) avail = FK_PICOBIN_MAX_BLOCK_WORDS;

    const uint8_t *w = img + off;
    size_t pos = 1;
    while (pos < avail) {
        uint32_t header = fk_le32(w + WORD_BYTES * pos);
        uint32_t size = fk_picobin_item_size(header);
        if (size == 0u) return false;
        if ((header & FK_PICOBIN_ITEM_TYPE_BYTE) == (FK_PICOBIN_ITEM_LAST | FK_PICOBIN_ITEM_2BS)) {
            if (pos - 1u != size || pos + END_AFTER_LAST >= avail) return false;
            if (fk_le32(w + WORD_BYTES * (pos + END_AFTER_LAST)) != FK_PICOBIN_END) return false;
            b->offset = off;
            b->addr = base + off;
            b->last = (uint16_t)pos;
            b->link = (int32_t)fk_le32(w + WORD_BYTES * (pos + LINK_AFTER_LAST));
            return true;
        }
        pos += size;
    }
    return false;
}

fk_boot_err_t fk_picobin_walk(const uint8_t *img, size_t len, uint32_t base,
                              fk_picobin_loop_t *loop)
{
    fk_picobin_block_t cur;
    bool found = false;

    loop->count = 0;
    if (img == NULL) return FK_BOOT_EARG;
    if ((uint64_t)len > UINT32_MAX || (uint64_t)base + len > (uint64_t)UINT32_MAX + 1u)
        return FK_BOOT_EADDRESS;
    size_t window = FK_MIN(len, (size_t)FK_PICOBIN_FIRST_BLOCK_WINDOW);
    for (uint32_t off = 0; off + WORD_BYTES <= window; off += WORD_BYTES) {
        if (fk_picobin_block_at(img, len, base, off, &cur)) {
            found = true;
            break;
        }
    }
    if (!found) return FK_BOOT_ENO_BLOCK;

    const uint32_t first = cur.offset;
    for (;;) {
        if (loop->count == FK_PICOBIN_MAX_BLOCKS) return FK_BOOT_ELOOP_LONG;
        loop->blocks[loop->count++] = cur;
        /* The bootrom divides the byte link by four (C division). */
        int64_t step_words = (int64_t)(cur.link / (int32_t)WORD_BYTES);
        if (loop->count > 1u && step_words == 0) return FK_BOOT_ELOOP_SELF;
        int64_t next = (int64_t)cur.offset + (int64_t)WORD_BYTES * step_words;
        if (next == (int64_t)first) return FK_BOOT_OK;
        if (next < (int64_t)first) return FK_BOOT_ELOOP_BACK;
        if (next >= (int64_t)len || !fk_picobin_block_at(img, len, base, (uint32_t)next, &cur))
            return FK_BOOT_ELOOP;
    }
}

/* Mark def rejected for reason r. */
static void reject(fk_picobin_def_t *def, fk_boot_err_t r)
{
    def->rejected = true;
    def->why = r;
}

/* Words of a VERSION item with R rollback rows, header included. */
static uint32_t version_size(uint32_t rows)
{
    return 2u + ((rows != 0u ? 1u : 0u) + rows + 1u) / 2u;
}

/* Check one item (type, size, data at word i) and record it in def.
 * Returns false when the item breaks a rule (def is then rejected);
 * *signed_only is set for SIGNATURE and HASH_VALUE, which the hash need
 * not cover. */
static bool parse_item(const uint8_t *img, const fk_picobin_block_t *b, uint32_t header,
                       uint32_t size, unsigned i, fk_picobin_def_t *def, bool *signed_only)
{
    const uint32_t type = header & FK_PICOBIN_ITEM_TYPE_MASK;
    const uint8_t byte3 = (uint8_t)(header >> 24);

    *signed_only = false;
    switch (type) {
    case FK_PICOBIN_ITEM_HASH_DEF:
        if (size != FK_PICOBIN_SIZE_HASH_DEF) return false;
        if (byte3 == FK_PICOBIN_HASH_SHA256) {
            def->has_hash_def = true;
            def->hash_words = fk_picobin_word(img, b, i);
        }
        return true;
    case FK_PICOBIN_ITEM_HASH_VALUE:
        if (size < FK_PICOBIN_SIZE_HASH_VALUE_MIN || size > FK_PICOBIN_SIZE_HASH_VALUE_MAX)
            return false;
        def->hash_value = (uint16_t)i;
        def->hash_value_words = (uint8_t)(size - 1u);
        *signed_only = true;
        return true;
    case FK_PICOBIN_ITEM_SIGNATURE:
        if (size != FK_PICOBIN_SIZE_SIGNATURE) return false;
        def->has_sig_item = true;
        def->sig_key = byte3 == FK_PICOBIN_SIG_SECP256K1 ? (uint16_t)i : 0u;
        *signed_only = true;
        return true;
    case FK_PICOBIN_ITEM_VERSION:
        if (size != version_size(byte3)) return false;
        def->has_version = true;
        def->version = (uint16_t)i;
        def->major_minor = fk_picobin_word(img, b, i);
        def->rows = byte3;
        def->rollback = byte3 != 0u ? (uint16_t)fk_picobin_word(img, b, i + 1u) : 0u;
        return true;
    case FK_PICOBIN_ITEM_VECTOR_TABLE:
        if (size != FK_PICOBIN_SIZE_VECTOR_TABLE) return false;
        def->has_vector_table = true;
        def->vector_table = fk_picobin_word(img, b, i);
        return true;
    case FK_PICOBIN_ITEM_ENTRY_POINT:
        if (size != FK_PICOBIN_SIZE_ENTRY_POINT && size != FK_PICOBIN_SIZE_ENTRY_POINT_LIMIT)
            return false;
        def->has_entry_point = true;
        def->pc = fk_picobin_word(img, b, i);
        def->sp = fk_picobin_word(img, b, i + 1u);
        return true;
    case FK_PICOBIN_ITEM_ROLLING_WINDOW_DELTA:
        if (size != FK_PICOBIN_SIZE_ROLLING_WINDOW_DELTA) return false;
        def->window_delta = fk_picobin_word(img, b, i);
        return true;
    case FK_PICOBIN_ITEM_LOAD_MAP:
        if (size != 1u + FK_PICOBIN_LOAD_MAP_ENTRY_WORDS * (byte3 & FK_PICOBIN_LOAD_MAP_COUNT_MASK))
            return false;
        def->load_map = (uint16_t)(i - 1u);
        return true;
    default:
        return true; /* unknown items are skipped (and must be hashed) */
    }
}

void fk_picobin_parse(const uint8_t *img, const fk_picobin_block_t *b, fk_picobin_def_t *def)
{
    memset(def, 0, sizeof(*def));
    const uint32_t word1 = fk_picobin_word(img, b, WORD1);
    if ((word1 & FK_PICOBIN_HEADER_MASK) != FK_PICOBIN_IMAGE_TYPE_HEADER) return;
    if (b->last < FIRST_ITEM || b->last > FK_PICOBIN_MAX_IMAGE_DEF_WORDS) return;
    def->image_def = true;
    def->flags = (uint16_t)(word1 >> 16);

    const unsigned chip = (def->flags & FK_IMAGE_TYPE_CHIP_MASK) >> FK_IMAGE_TYPE_CHIP_SHIFT;
    if ((def->flags & FK_IMAGE_TYPE_TYPE_MASK) == FK_IMAGE_TYPE_EXE &&
        chip != FK_IMAGE_TYPE_CHIP_RP2350) {
        reject(def, FK_BOOT_RNOT_RP2350);
        return;
    }

    unsigned i = FIRST_ITEM;
    while (i < b->last) {
        const uint32_t header = fk_picobin_word(img, b, i++);
        const uint32_t size = fk_picobin_item_size(header);
        if (size == 0u || (header & FK_PICOBIN_ITEM_TYPE_MASK) == FK_PICOBIN_ITEM_LAST) break;
        if (i - 1u + size > b->last) {
            reject(def, FK_BOOT_RBLOCK_SIZE);
            return;
        }
        bool signed_only;
        if (!parse_item(img, b, header, size, i, def, &signed_only)) {
            reject(def, FK_BOOT_RITEM_SIZE);
            return;
        }
        if (!signed_only) def->sig_needed = (uint16_t)(i + size - 1u);
        i += size - 1u;
    }
    if (i != b->last) {
        reject(def, FK_BOOT_RBLOCK_SIZE);
        return;
    }
    if (def->rows != 0u &&
        (uint32_t)def->rollback >= (uint32_t)def->rows * FK_PICOBIN_ROLLBACK_BITS_PER_ROW)
        reject(def, FK_BOOT_RROLLBACK_RANGE);
}

uint16_t fk_picobin_version_row(const uint8_t *img, const fk_picobin_block_t *b,
                                const fk_picobin_def_t *def, unsigned idx)
{
    /* Halfwords after major/minor: rollback, row 0, row 1, ... */
    const unsigned half = idx + 1u;
    const uint32_t w = fk_picobin_word(img, b, def->version + 1u + half / 2u);
    return (uint16_t)((half & 1u) ? w >> 16 : w);
}

/* SRAM or XIP SRAM (addresses that are never rolled). */
static bool is_sram(uint32_t a)
{
    return (a >= FK_RP2350_SRAM_BASE && a < FK_RP2350_SRAM_END) ||
           (a >= FK_RP2350_XIP_SRAM_BASE && a < FK_RP2350_XIP_SRAM_END);
}

/* A runtime or storage address the bootrom accepts. */
static bool valid_address(uint32_t a)
{
    return is_sram(a) || (a >> XIP_CS_SHIFT) == (FK_RP2350_XIP_BASE >> XIP_CS_SHIFT);
}

/* Hash one load-map entry (k) into ctx. */
static fk_boot_err_t hash_entry(const uint8_t *img, size_t len, uint32_t base,
                                const fk_picobin_block_t *b, const fk_picobin_def_t *def,
                                unsigned k, fk_sha256_ctx_t *ctx)
{
    const uint32_t header = fk_picobin_word(img, b, def->load_map);
    const bool absolute = ((header >> 24) & FK_PICOBIN_LOAD_MAP_ABSOLUTE) != 0u;
    const unsigned e = def->load_map + 1u + FK_PICOBIN_LOAD_MAP_ENTRY_WORDS * k;
    const uint32_t storage = fk_picobin_word(img, b, e);
    const uint32_t vma = fk_picobin_word(img, b, e + ENTRY_RUNTIME);
    uint32_t size = fk_picobin_word(img, b, e + ENTRY_SIZE);
    uint8_t word[WORD_BYTES];

    uint32_t to = vma < XIP_CS0_END ? vma + def->window_delta : vma;
    if (absolute) size -= vma;
    const uint32_t to_end = to + size;
    if ((to & WORD_MASK) != 0u || !valid_address(to) || !valid_address(to_end - (size != 0u ? 1u : 0u)) ||
        ((to_end - to) >> LOAD_SPAN_SHIFT) != 0u)
        return FK_BOOT_RLOAD_MAP;

    if (storage == 0u) { /* zero-fill: the (word-rounded) size is hashed */
        fk_put_le32(word, (size + WORD_MASK) & ~WORD_MASK);
        fk_sha256_update(ctx, word, sizeof(word));
        return FK_BOOT_OK;
    }
    uint32_t from;
    if (!absolute)
        from = storage + b->addr + WORD_BYTES * def->load_map;
    else
        from = is_sram(storage) ? storage : storage + def->window_delta;
    if ((from & WORD_MASK) != 0u || from < base || (uint64_t)from + size > (uint64_t)base + len)
        return FK_BOOT_RLOAD_MAP;

    const uint8_t *src = img + (from - base);
    fk_sha256_update(ctx, src, size & ~WORD_MASK);
    if ((size & WORD_MASK) != 0u) { /* the bootrom zero-pads a trailing partial word */
        memset(word, 0, sizeof(word));
        memcpy(word, src + (size & ~WORD_MASK), size & WORD_MASK);
        fk_sha256_update(ctx, word, sizeof(word));
    }
    return FK_BOOT_OK;
}

fk_boot_err_t fk_picobin_hash(const uint8_t *img, size_t len, uint32_t base,
                              const fk_picobin_block_t *b, const fk_picobin_def_t *def,
                              uint8_t out[FK_PICOBIN_HASH_LEN])
{
    fk_sha256_ctx_t ctx;
    uint8_t word[WORD_BYTES];
    fk_boot_err_t rc = FK_BOOT_OK;

    memset(out, 0, FK_PICOBIN_HASH_LEN);
    if (!def->has_hash_def) return FK_BOOT_RNO_HASH_DEF;
    if (def->hash_words > FK_PICOBIN_MAX_BLOCK_WORDS ||
        (uint64_t)b->offset + (uint64_t)WORD_BYTES * def->hash_words > len)
        return FK_BOOT_RHASH_RANGE;

    fk_sha256_start(&ctx);
    if (def->load_map != 0u) {
        const uint32_t header = fk_picobin_word(img, b, def->load_map);
        const unsigned n = (header >> 24) & FK_PICOBIN_LOAD_MAP_COUNT_MASK;
        for (unsigned k = 0; k < n && rc == FK_BOOT_OK; k++)
            rc = hash_entry(img, len, base, b, def, k, &ctx);
    }
    const bool exe = (def->flags & FK_IMAGE_TYPE_TYPE_MASK) == FK_IMAGE_TYPE_EXE;
    for (uint32_t i = 0; i < def->hash_words && rc == FK_BOOT_OK; i++) {
        uint32_t w = fk_picobin_word(img, b, i);
        if (i == WORD1 && exe) w &= ~FK_PICOBIN_WORD1_TBYB;
        fk_put_le32(word, w);
        fk_sha256_update(&ctx, word, sizeof(word));
    }
    fk_sha256_finish(&ctx, out);
    if (rc != FK_BOOT_OK) memset(out, 0, FK_PICOBIN_HASH_LEN);
    return rc;
}
