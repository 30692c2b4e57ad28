/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image.c - UF2, ELF32 and BIN in, UF2 and BIN out. Each loader validates
 * the whole input in a first pass (lengths, offsets, address ranges) and
 * copies only when everything holds, so a refused input never leaves a
 * half-loaded image.
 */
#include "image.h"

#include <string.h>

#include "util.h"

#define ADDRESS_SPACE ((uint64_t)UINT32_MAX + 1u)

/* UF2 block fields (byte offsets). */
#define UF2_OFF_MAGIC0 0u
#define UF2_OFF_MAGIC1 4u
#define UF2_OFF_FLAGS 8u
#define UF2_OFF_TARGET 12u
#define UF2_OFF_SIZE 16u
#define UF2_OFF_BLOCK_NO 20u
#define UF2_OFF_NUM_BLOCKS 24u
#define UF2_OFF_FAMILY 28u
#define UF2_OFF_DATA 32u
#define UF2_OFF_MAGIC_END (FK_UF2_BLOCK_SIZE - 4u)

/* ELF32 header and program header fields. */
#define ELF_HEADER_LEN 52u
#define ELF_PHDR_LEN 32u
#define ELF_MAX_PHDRS 256u
#define ELF_EI_CLASS 4u
#define ELF_EI_DATA 5u
#define ELF_EI_VERSION 6u
#define ELF_CLASS32 1u
#define ELF_DATA_LE 1u
#define ELF_VERSION_CURRENT 1u
#define ELF_OFF_TYPE 16u
#define ELF_OFF_MACHINE 18u
#define ELF_OFF_PHOFF 28u
#define ELF_OFF_PHENTSIZE 42u
#define ELF_OFF_PHNUM 44u
#define ELF_ET_EXEC 2u
#define ELF_EM_ARM 40u
#define ELF_EM_RISCV 243u
#define ELF_PT_LOAD 1u
#define ELF_PH_TYPE 0u
#define ELF_PH_OFFSET 4u
#define ELF_PH_PADDR 12u
#define ELF_PH_FILESZ 16u

static const uint8_t k_elf_magic[4] = {0x7F, 'E', 'L', 'F'};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

void fk_image_init(fk_image_t *img, uint8_t *buf, size_t cap)
{
    memset(img, 0, sizeof(*img));
    img->data = buf;
    img->cap = buf != NULL ? cap : 0u;
    img->base = FK_IMAGE_DEFAULT_BASE;
    img->family = FK_UF2_FAMILY_RP2350_ARM_S;
}

fk_image_format_t fk_image_detect(const uint8_t *in, size_t len)
{
    if (in != NULL && len >= 8u && fk_le32(in + UF2_OFF_MAGIC0) == FK_UF2_MAGIC0 &&
        fk_le32(in + UF2_OFF_MAGIC1) == FK_UF2_MAGIC1)
        return FK_IMAGE_UF2;
    if (in != NULL && len >= sizeof(k_elf_magic) && memcmp(in, k_elf_magic, sizeof(k_elf_magic)) == 0)
        return FK_IMAGE_ELF;
    return FK_IMAGE_BIN;
}

/* Reset img before a load. */
static void image_clear(fk_image_t *img, fk_image_format_t fmt)
{
    img->len = 0;
    img->err_at = 0;
    img->has_family = false;
    img->family = FK_UF2_FAMILY_RP2350_ARM_S;
    img->format = fmt;
}

/* Record a refusal at input offset `at`. */
static fk_boot_err_t refuse(fk_image_t *img, fk_boot_err_t err, size_t at)
{
    img->len = 0;
    img->err_at = at;
    return err;
}

fk_boot_err_t fk_image_load(fk_image_t *img, const uint8_t *in, size_t len, uint32_t bin_base)
{
    switch (fk_image_detect(in, len)) {
    case FK_IMAGE_UF2:
        return fk_image_load_uf2(img, in, len);
    case FK_IMAGE_ELF:
        return fk_image_load_elf(img, in, len);
    default:
        return fk_image_load_bin(img, in, len, bin_base);
    }
}

/* ---- UF2 ------------------------------------------------------------------ */

typedef struct uf2_block {
    uint32_t flags, target, size, block_no, num_blocks, family;
} uf2_block_t;

static void uf2_fields(const uint8_t *p, uf2_block_t *b)
{
    b->flags = fk_le32(p + UF2_OFF_FLAGS);
    b->target = fk_le32(p + UF2_OFF_TARGET);
    b->size = fk_le32(p + UF2_OFF_SIZE);
    b->block_no = fk_le32(p + UF2_OFF_BLOCK_NO);
    b->num_blocks = fk_le32(p + UF2_OFF_NUM_BLOCKS);
    b->family = fk_le32(p + UF2_OFF_FAMILY);
}

/* The block a sealer for A2 chips prepends (erratum E10). */
static bool uf2_is_e10(const uf2_block_t *b)
{
    return (b->flags & FK_UF2_FLAG_FAMILY) != 0u && b->family == FK_UF2_FAMILY_ABSOLUTE &&
           b->target == FK_UF2_E10_TARGET;
}

fk_boot_err_t fk_image_load_uf2(fk_image_t *img, const uint8_t *in, size_t len)
{
    uf2_block_t b;
    uint32_t expected = 0, total = 0, family = 0;
    bool have_family = false, counted = false, have_data = false;
    uint64_t lo = 0, hi = 0;

    if (img == NULL || (in == NULL && len != 0u)) return FK_BOOT_EARG;
    image_clear(img, FK_IMAGE_UF2);
    if (len == 0u) return refuse(img, FK_BOOT_EEMPTY, 0);
    if (len % FK_UF2_BLOCK_SIZE != 0u)
        return refuse(img, FK_BOOT_EUF2_SIZE, len - len % FK_UF2_BLOCK_SIZE);

    for (size_t off = 0; off < len; off += FK_UF2_BLOCK_SIZE) {
        const uint8_t *p = in + off;
        if (fk_le32(p + UF2_OFF_MAGIC0) != FK_UF2_MAGIC0 ||
            fk_le32(p + UF2_OFF_MAGIC1) != FK_UF2_MAGIC1 ||
            fk_le32(p + UF2_OFF_MAGIC_END) != FK_UF2_MAGIC_END)
            return refuse(img, FK_BOOT_EUF2_MAGIC, off);
        uf2_fields(p, &b);
        if (b.flags & FK_UF2_FLAG_FILE_CONTAINER) return refuse(img, FK_BOOT_EUF2_CONTAINER, off);
        if (uf2_is_e10(&b)) continue;
        if (b.size == 0u || b.size > FK_UF2_DATA_MAX) return refuse(img, FK_BOOT_EUF2_PAYLOAD, off);
        if (!counted) {
            total = b.num_blocks;
            counted = true;
        }
        if (b.block_no != expected || b.num_blocks != total || b.block_no >= b.num_blocks)
            return refuse(img, FK_BOOT_EUF2_ORDER, off);
        expected++;

        const bool has = (b.flags & FK_UF2_FLAG_FAMILY) != 0u;
        const uint32_t fam = has ? b.family : 0u;
        if (expected == 1u) {
            have_family = has;
            family = fam;
        } else if (has != have_family || fam != family) {
            return refuse(img, FK_BOOT_EUF2_FAMILY_MIXED, off);
        }
        if (b.flags & FK_UF2_FLAG_NOT_MAIN_FLASH) continue;
        if ((uint64_t)b.target + b.size > ADDRESS_SPACE) return refuse(img, FK_BOOT_EADDRESS, off);
        if (have_data && b.target < hi) return refuse(img, FK_BOOT_EUF2_OVERLAP, off);
        if (!have_data) lo = b.target;
        hi = (uint64_t)b.target + b.size;
        have_data = true;
    }
    if (expected == 0u) return refuse(img, FK_BOOT_EUF2_EMPTY, 0);
    if (expected != total) return refuse(img, FK_BOOT_EUF2_MISSING, len);
    if (!have_data) return refuse(img, FK_BOOT_EUF2_EMPTY, 0);
    if (hi - lo > img->cap) return refuse(img, FK_BOOT_ETOO_BIG, 0);

    memset(img->data, 0, (size_t)(hi - lo));
    for (size_t off = 0; off < len; off += FK_UF2_BLOCK_SIZE) {
        uf2_fields(in + off, &b);
        if (uf2_is_e10(&b) || (b.flags & FK_UF2_FLAG_NOT_MAIN_FLASH)) continue;
        memcpy(img->data + (b.target - (uint32_t)lo), in + off + UF2_OFF_DATA, b.size);
    }
    img->base = (uint32_t)lo;
    img->len = (size_t)(hi - lo);
    img->has_family = have_family;
    if (have_family) img->family = family;
    return FK_BOOT_OK;
}

/* ---- ELF ------------------------------------------------------------------ */

typedef struct elf_seg {
    uint32_t offset, paddr, filesz;
} elf_seg_t;

/* Program header i as a loadable segment with file data (false otherwise). */
static bool elf_seg(const uint8_t *in, uint32_t phoff, uint32_t phentsize, unsigned i,
                    elf_seg_t *s)
{
    const uint8_t *ph = in + phoff + (size_t)phentsize * i;
    if (fk_le32(ph + ELF_PH_TYPE) != ELF_PT_LOAD) return false;
    s->offset = fk_le32(ph + ELF_PH_OFFSET);
    s->paddr = fk_le32(ph + ELF_PH_PADDR);
    s->filesz = fk_le32(ph + ELF_PH_FILESZ);
    return s->filesz != 0u;
}

fk_boot_err_t fk_image_load_elf(fk_image_t *img, const uint8_t *in, size_t len)
{
    elf_seg_t s, t;
    uint64_t lo = 0, hi = 0;
    bool any = false;

    if (img == NULL || (in == NULL && len != 0u)) return FK_BOOT_EARG;
    image_clear(img, FK_IMAGE_ELF);
    if (len == 0u) return refuse(img, FK_BOOT_EEMPTY, 0);
    if (len < ELF_HEADER_LEN || memcmp(in, k_elf_magic, sizeof(k_elf_magic)) != 0 ||
        in[ELF_EI_CLASS] != ELF_CLASS32 || in[ELF_EI_DATA] != ELF_DATA_LE ||
        in[ELF_EI_VERSION] != ELF_VERSION_CURRENT || le16(in + ELF_OFF_TYPE) != ELF_ET_EXEC)
        return refuse(img, FK_BOOT_EELF_HEADER, 0);
    const uint16_t machine = le16(in + ELF_OFF_MACHINE);
    if (machine != ELF_EM_ARM && machine != ELF_EM_RISCV)
        return refuse(img, FK_BOOT_EELF_MACHINE, ELF_OFF_MACHINE);

    const uint32_t phoff = fk_le32(in + ELF_OFF_PHOFF);
    const uint32_t phentsize = le16(in + ELF_OFF_PHENTSIZE);
    const unsigned phnum = le16(in + ELF_OFF_PHNUM);
    if (phnum == 0u) return refuse(img, FK_BOOT_EELF_EMPTY, ELF_OFF_PHNUM);
    if (phentsize < ELF_PHDR_LEN || phnum > ELF_MAX_PHDRS ||
        (uint64_t)phoff + (uint64_t)phentsize * phnum > len)
        return refuse(img, FK_BOOT_EELF_PHDR, ELF_OFF_PHOFF);

    for (unsigned i = 0; i < phnum; i++) {
        const size_t at = phoff + (size_t)phentsize * i;
        if (!elf_seg(in, phoff, phentsize, i, &s)) continue;
        if ((uint64_t)s.offset + s.filesz > len) return refuse(img, FK_BOOT_EELF_SEGMENT, at);
        if ((uint64_t)s.paddr + s.filesz > ADDRESS_SPACE) return refuse(img, FK_BOOT_EADDRESS, at);
        for (unsigned j = 0; j < i; j++) {
            if (!elf_seg(in, phoff, phentsize, j, &t)) continue;
            if ((uint64_t)s.paddr < (uint64_t)t.paddr + t.filesz &&
                (uint64_t)t.paddr < (uint64_t)s.paddr + s.filesz)
                return refuse(img, FK_BOOT_EELF_OVERLAP, at);
        }
        const uint64_t end = (uint64_t)s.paddr + s.filesz;
        if (!any || s.paddr < lo) lo = s.paddr;
        if (!any || end > hi) hi = end;
        any = true;
    }
    if (!any) return refuse(img, FK_BOOT_EELF_EMPTY, ELF_OFF_PHOFF);
    if (hi - lo > img->cap) return refuse(img, FK_BOOT_ETOO_BIG, 0);

    memset(img->data, 0, (size_t)(hi - lo));
    for (unsigned i = 0; i < phnum; i++) {
        if (!elf_seg(in, phoff, phentsize, i, &s)) continue;
        memcpy(img->data + (s.paddr - (uint32_t)lo), in + s.offset, s.filesz);
    }
    img->base = (uint32_t)lo;
    img->len = (size_t)(hi - lo);
    img->family = machine == ELF_EM_RISCV ? FK_UF2_FAMILY_RP2350_RISCV : FK_UF2_FAMILY_RP2350_ARM_S;
    return FK_BOOT_OK;
}

/* ---- BIN ------------------------------------------------------------------ */

fk_boot_err_t fk_image_load_bin(fk_image_t *img, const uint8_t *in, size_t len, uint32_t base)
{
    if (img == NULL || (in == NULL && len != 0u)) return FK_BOOT_EARG;
    image_clear(img, FK_IMAGE_BIN);
    if (base == 0u) base = FK_IMAGE_DEFAULT_BASE;
    if (len == 0u) return refuse(img, FK_BOOT_EEMPTY, 0);
    if ((uint64_t)base + len > ADDRESS_SPACE) return refuse(img, FK_BOOT_EADDRESS, 0);
    if (len > img->cap) return refuse(img, FK_BOOT_ETOO_BIG, 0);
    memcpy(img->data, in, len);
    img->base = base;
    img->len = len;
    return FK_BOOT_OK;
}

/* ---- Output --------------------------------------------------------------- */

size_t fk_image_uf2_size(const fk_image_t *img)
{
    return (img->len + FK_UF2_PAYLOAD - 1u) / FK_UF2_PAYLOAD * FK_UF2_BLOCK_SIZE;
}

fk_boot_err_t fk_image_write_uf2(const fk_image_t *img, uint32_t family, uint8_t *out,
                                 size_t cap, size_t *out_len)
{
    if (img == NULL || out_len == NULL) return FK_BOOT_EARG;
    *out_len = 0;
    if (family == 0u) family = img->family;
    if (family == 0u) return FK_BOOT_EARG;
    if (img->len == 0u) return FK_BOOT_EEMPTY;
    if (img->base % FK_UF2_PAYLOAD != 0u) return FK_BOOT_EBASE;
    const size_t blocks = (img->len + FK_UF2_PAYLOAD - 1u) / FK_UF2_PAYLOAD;
    if ((uint64_t)img->base + (uint64_t)blocks * FK_UF2_PAYLOAD > ADDRESS_SPACE ||
        blocks > UINT32_MAX)
        return FK_BOOT_EADDRESS;
    if (out == NULL || cap / FK_UF2_BLOCK_SIZE < blocks) return FK_BOOT_ESPACE;

    for (size_t i = 0; i < blocks; i++) {
        uint8_t *p = out + i * FK_UF2_BLOCK_SIZE;
        const size_t off = i * FK_UF2_PAYLOAD;
        const size_t n = FK_MIN((size_t)FK_UF2_PAYLOAD, img->len - off);
        memset(p, 0, FK_UF2_BLOCK_SIZE);
        fk_put_le32(p + UF2_OFF_MAGIC0, FK_UF2_MAGIC0);
        fk_put_le32(p + UF2_OFF_MAGIC1, FK_UF2_MAGIC1);
        fk_put_le32(p + UF2_OFF_FLAGS, FK_UF2_FLAG_FAMILY);
        fk_put_le32(p + UF2_OFF_TARGET, img->base + (uint32_t)off);
        fk_put_le32(p + UF2_OFF_SIZE, FK_UF2_PAYLOAD);
        fk_put_le32(p + UF2_OFF_BLOCK_NO, (uint32_t)i);
        fk_put_le32(p + UF2_OFF_NUM_BLOCKS, (uint32_t)blocks);
        fk_put_le32(p + UF2_OFF_FAMILY, family);
        memcpy(p + UF2_OFF_DATA, img->data + off, n);
        fk_put_le32(p + UF2_OFF_MAGIC_END, FK_UF2_MAGIC_END);
    }
    *out_len = blocks * FK_UF2_BLOCK_SIZE;
    return FK_BOOT_OK;
}

fk_boot_err_t fk_image_write_bin(const fk_image_t *img, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    if (img == NULL || out_len == NULL) return FK_BOOT_EARG;
    *out_len = 0;
    if (img->len == 0u) return FK_BOOT_EEMPTY;
    if (out == NULL || cap < img->len) return FK_BOOT_ESPACE;
    memcpy(out, img->data, img->len);
    *out_len = img->len;
    return FK_BOOT_OK;
}

bool fk_uf2_family_is_rp2350(uint32_t family)
{
    return family == FK_UF2_FAMILY_RP2350_ARM_S || family == FK_UF2_FAMILY_RP2350_RISCV ||
           family == FK_UF2_FAMILY_RP2350_ARM_NS;
}

const char *fk_uf2_family_name(uint32_t family)
{
    switch (family) {
    case FK_UF2_FAMILY_RP2040: return "RP2040";
    case FK_UF2_FAMILY_ABSOLUTE: return "ABSOLUTE";
    case FK_UF2_FAMILY_DATA: return "DATA";
    case FK_UF2_FAMILY_RP2350_ARM_S: return "RP2350_ARM_S";
    case FK_UF2_FAMILY_RP2350_RISCV: return "RP2350_RISCV";
    case FK_UF2_FAMILY_RP2350_ARM_NS: return "RP2350_ARM_NS";
    default: return "unknown";
    }
}
