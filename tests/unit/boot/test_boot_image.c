/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_boot_image.c - image files and the block loop: UF2 round trip, the
 * E10 block, ELF and BIN loading, every malformed input the loaders and the
 * block walker must refuse, and a hostile-input loop that feeds random
 * mutations of a sealed image (UF2, BIN and ELF forms) through every entry
 * point under the sanitizers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot_test.h"

#define UF2_MAX (16u * FK_UF2_BLOCK_SIZE)
#define E10_EXTENSION 0x9957E304u
#define HOSTILE_ROUNDS 3000u

static uint8_t g_buf[TB_IMG_CAP];
static uint8_t g_buf2[TB_IMG_CAP];
static uint8_t g_file[UF2_MAX + FK_UF2_BLOCK_SIZE];
static fk_image_t g_img, g_img2;
static tb_key_t g_key;

static int setup(void **state)
{
    (void)state;
    tb_key_new(&g_key);
    return 0;
}

/* ---- UF2 ------------------------------------------------------------------------ */

/* One UF2 block at out. */
static void uf2_block(uint8_t *out, uint32_t flags, uint32_t target, uint32_t size, uint32_t no,
                      uint32_t num, uint32_t family, const uint8_t *data)
{
    memset(out, 0, FK_UF2_BLOCK_SIZE);
    fk_put_le32(out, FK_UF2_MAGIC0);
    fk_put_le32(out + 4, FK_UF2_MAGIC1);
    fk_put_le32(out + 8, flags);
    fk_put_le32(out + 12, target);
    fk_put_le32(out + 16, size);
    fk_put_le32(out + 20, no);
    fk_put_le32(out + 24, num);
    fk_put_le32(out + 28, family);
    if (data != NULL) memcpy(out + 32, data, size > FK_UF2_DATA_MAX ? FK_UF2_DATA_MAX : size);
    fk_put_le32(out + 508, FK_UF2_MAGIC_END);
}

/* The sealed SDK image as UF2 in g_file; returns its length. */
static size_t sealed_uf2(void)
{
    size_t len;
    assert_int_equal(tb_seal(&g_img, g_buf, sizeof(g_buf), &g_key, 1, NULL), FK_BOOT_OK);
    assert_int_equal(fk_image_write_uf2(&g_img, FK_UF2_FAMILY_RP2350_ARM_S, g_file, UF2_MAX, &len),
                     FK_BOOT_OK);
    return len;
}

static void test_uf2_round_trip(void **state)
{
    (void)state;
    const size_t len = sealed_uf2();
    fk_boot_info_t a, b;

    assert_int_equal(len, 2u * FK_UF2_BLOCK_SIZE); /* 468 bytes: two 256-byte payloads */
    assert_int_equal(fk_image_uf2_size(&g_img), len);
    for (unsigned i = 0; i < 2; i++) {
        const uint8_t *p = g_file + i * FK_UF2_BLOCK_SIZE;
        assert_int_equal(fk_le32(p + 8), FK_UF2_FLAG_FAMILY);
        assert_int_equal(fk_le32(p + 12), 0x10000000u + 256u * i);
        assert_int_equal(fk_le32(p + 16), 256);
        assert_int_equal(fk_le32(p + 20), i);
        assert_int_equal(fk_le32(p + 24), 2);
        assert_int_equal(fk_le32(p + 28), FK_UF2_FAMILY_RP2350_ARM_S);
        assert_int_equal(fk_le32(p + 508), FK_UF2_MAGIC_END);
    }
    /* The tail of the last payload is zero. */
    for (unsigned i = 32 + (468 - 256); i < 32 + 476; i++) assert_int_equal(g_file[512 + i], 0);

    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    assert_int_equal(fk_image_detect(g_file, len), FK_IMAGE_UF2);
    assert_int_equal(fk_image_load(&g_img2, g_file, len, 0), FK_BOOT_OK);
    assert_int_equal(g_img2.format, FK_IMAGE_UF2);
    assert_int_equal(g_img2.base, 0x10000000u);
    assert_int_equal(g_img2.len, 512);
    assert_true(g_img2.has_family);
    assert_int_equal(g_img2.family, FK_UF2_FAMILY_RP2350_ARM_S);
    assert_memory_equal(g_img2.data, g_img.data, g_img.len);
    fk_boot_inspect(&g_img, &a);
    fk_boot_inspect(&g_img2, &b);
    assert_true(a.sig_ok && b.sig_ok);
    assert_int_equal(a.block_addr, b.block_addr);

    /* BIN out is the bytes. */
    size_t bin_len;
    assert_int_equal(fk_image_write_bin(&g_img, g_file, sizeof(g_file), &bin_len), FK_BOOT_OK);
    assert_int_equal(bin_len, g_img.len);
    assert_memory_equal(g_file, g_img.data, bin_len);
    assert_int_equal(fk_image_write_bin(&g_img, g_file, 10, &bin_len), FK_BOOT_ESPACE);

    /* Output refusals: a small buffer, a base not on a 256-byte boundary. */
    assert_int_equal(fk_image_write_uf2(&g_img, 0, g_file, 600, &bin_len), FK_BOOT_ESPACE);
    g_img.base += 4;
    assert_int_equal(fk_image_write_uf2(&g_img, 0, g_file, UF2_MAX, &bin_len), FK_BOOT_EBASE);
}

static void test_uf2_e10_and_flags(void **state)
{
    (void)state;
    uint8_t ef[256];
    size_t len = sealed_uf2();

    /* Prepend the E10 block (absolute family, 0x10FFFF00, 0xEF payload,
     * block 0 of 2, extension word after the payload). */
    memmove(g_file + FK_UF2_BLOCK_SIZE, g_file, len);
    memset(ef, 0xEF, sizeof(ef));
    uf2_block(g_file, FK_UF2_FLAG_FAMILY | FK_UF2_FLAG_EXTENSION, FK_UF2_E10_TARGET, 256, 0, 2,
              FK_UF2_FAMILY_ABSOLUTE, ef);
    fk_put_le32(g_file + 32 + 256, E10_EXTENSION);
    len += FK_UF2_BLOCK_SIZE;
    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    assert_int_equal(fk_image_load_uf2(&g_img2, g_file, len), FK_BOOT_OK);
    assert_int_equal(g_img2.base, 0x10000000u);
    assert_int_equal(g_img2.len, 512);
    assert_int_equal(g_img2.family, FK_UF2_FAMILY_RP2350_ARM_S);
    assert_memory_equal(g_img2.data, g_img.data, g_img.len);

    /* A not-main-flash block is skipped (its data is not flash). */
    uf2_block(g_file, FK_UF2_FLAG_FAMILY | FK_UF2_FLAG_NOT_MAIN_FLASH, 0x20000000u, 256, 0, 3,
              FK_UF2_FAMILY_RP2350_ARM_S, ef);
    for (unsigned i = 1; i < 3; i++) {
        fk_put_le32(g_file + i * 512 + 20, i);
        fk_put_le32(g_file + i * 512 + 24, 3);
    }
    assert_int_equal(fk_image_load_uf2(&g_img2, g_file, len), FK_BOOT_OK);
    assert_int_equal(g_img2.base, 0x10000000u);

    /* Only the E10 block: nothing to load. */
    uf2_block(g_file, FK_UF2_FLAG_FAMILY, FK_UF2_E10_TARGET, 256, 0, 2, FK_UF2_FAMILY_ABSOLUTE, ef);
    assert_int_equal(fk_image_load_uf2(&g_img2, g_file, 512), FK_BOOT_EUF2_EMPTY);
}

/* Load g_file[0, len) as UF2 and expect err (image left empty). */
static void expect_uf2(size_t len, fk_boot_err_t err)
{
    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    assert_int_equal(fk_image_load_uf2(&g_img2, g_file, len), err);
    assert_int_equal(g_img2.len, 0);
    assert_string_not_equal(fk_boot_strerror(err), "unknown error");
}

static void test_uf2_malformed(void **state)
{
    (void)state;
    uint8_t page[256] = {1, 2, 3};
    size_t len = sealed_uf2();

    expect_uf2(0, FK_BOOT_EEMPTY);
    expect_uf2(len - 100, FK_BOOT_EUF2_SIZE);
    assert_int_equal(g_img2.err_at, 512);
    expect_uf2(len - 512, FK_BOOT_EUF2_MISSING); /* says 2 blocks, holds 1 */

    static const unsigned magic_off[] = {0, 4, 508};
    for (unsigned i = 0; i < FK_ARRAY_SIZE(magic_off); i++) {
        len = sealed_uf2();
        g_file[512 + magic_off[i]] ^= 0x40;
        expect_uf2(len, FK_BOOT_EUF2_MAGIC);
        assert_int_equal(g_img2.err_at, 512);
    }
    len = sealed_uf2();
    fk_put_le32(g_file + 16, 0);
    expect_uf2(len, FK_BOOT_EUF2_PAYLOAD);
    fk_put_le32(g_file + 16, FK_UF2_DATA_MAX + 1u);
    expect_uf2(len, FK_BOOT_EUF2_PAYLOAD);

    len = sealed_uf2();
    fk_put_le32(g_file + 512 + 20, 0); /* two blocks numbered 0 */
    expect_uf2(len, FK_BOOT_EUF2_ORDER);
    len = sealed_uf2();
    fk_put_le32(g_file + 512 + 24, 3); /* disagree on the count */
    expect_uf2(len, FK_BOOT_EUF2_ORDER);

    len = sealed_uf2();
    fk_put_le32(g_file + 512 + 28, FK_UF2_FAMILY_RP2350_RISCV);
    expect_uf2(len, FK_BOOT_EUF2_FAMILY_MIXED);
    len = sealed_uf2();
    fk_put_le32(g_file + 512 + 8, 0); /* second block without a family */
    expect_uf2(len, FK_BOOT_EUF2_FAMILY_MIXED);

    len = sealed_uf2();
    fk_put_le32(g_file + 512 + 12, 0x10000080u); /* overlaps the first */
    expect_uf2(len, FK_BOOT_EUF2_OVERLAP);
    len = sealed_uf2();
    fk_put_le32(g_file + 12, 0x10000200u); /* descending */
    expect_uf2(len, FK_BOOT_EUF2_OVERLAP);

    len = sealed_uf2();
    fk_put_le32(g_file + 8, FK_UF2_FLAG_FAMILY | FK_UF2_FLAG_FILE_CONTAINER);
    expect_uf2(len, FK_BOOT_EUF2_CONTAINER);

    /* Address wrap and a span larger than the buffer. */
    uf2_block(g_file, FK_UF2_FLAG_FAMILY, 0xFFFFFF80u, 256, 0, 1, FK_UF2_FAMILY_RP2350_ARM_S, page);
    expect_uf2(512, FK_BOOT_EADDRESS);
    uf2_block(g_file, FK_UF2_FLAG_FAMILY, 0x10000000u, 256, 0, 2, FK_UF2_FAMILY_RP2350_ARM_S, page);
    uf2_block(g_file + 512, FK_UF2_FLAG_FAMILY, 0x20000000u, 256, 1, 2, FK_UF2_FAMILY_RP2350_ARM_S,
              page);
    expect_uf2(1024, FK_BOOT_ETOO_BIG);

    /* A UF2 of another family loads, and sealing it is refused. */
    uint8_t sdk[TB_SDK_LEN];
    tb_sdk_image(sdk);
    uf2_block(g_file, FK_UF2_FLAG_FAMILY, 0x10000000u, 256, 0, 1, FK_UF2_FAMILY_RP2040, sdk);
    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    assert_int_equal(fk_image_load(&g_img2, g_file, 512, 0), FK_BOOT_OK);
    fk_image_seal_opts_t o;
    fk_image_seal_opts_init(&o);
    o.key_blob = g_key.blob;
    o.key_blob_len = g_key.len;
    assert_int_equal(fk_image_seal(&g_img2, &o, NULL), FK_BOOT_EFAMILY);
    assert_string_equal(fk_uf2_family_name(g_img2.family), "RP2040");
}

/* ---- ELF ------------------------------------------------------------------------ */

typedef struct seg {
    uint32_t type, paddr, vaddr, filesz, memsz;
    const uint8_t *data;
} seg_t;

/* An ELF32 LE executable with the given program headers; data follows the
 * headers in order. */
static size_t make_elf(uint8_t *out, const seg_t *segs, unsigned n, uint16_t machine)
{
    uint32_t off = 52u + 32u * n;
    memset(out, 0, off);
    static const uint8_t ident[8] = {0x7F, 'E', 'L', 'F', 1, 1, 1, 0};
    memcpy(out, ident, sizeof(ident));
    out[16] = 2; /* ET_EXEC */
    out[18] = (uint8_t)machine;
    out[19] = (uint8_t)(machine >> 8);
    out[20] = 1;
    fk_put_le32(out + 28, 52);
    out[40] = 52;
    out[42] = 32;
    out[44] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *ph = out + 52 + 32 * i;
        fk_put_le32(ph, segs[i].type);
        fk_put_le32(ph + 4, off);
        fk_put_le32(ph + 8, segs[i].vaddr);
        fk_put_le32(ph + 12, segs[i].paddr);
        fk_put_le32(ph + 16, segs[i].filesz);
        fk_put_le32(ph + 20, segs[i].memsz);
        if (segs[i].data != NULL) memcpy(out + off, segs[i].data, segs[i].filesz);
        off += segs[i].filesz;
    }
    return off;
}

/* The SDK image split into two loadable segments, a .data image in flash
 * (vaddr in RAM), a bss segment and a note. */
static size_t sdk_elf(uint8_t *out)
{
    static uint8_t sdk[TB_SDK_LEN];
    static const uint8_t data[16] = {0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7,
                                     0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF};
    tb_sdk_image(sdk);
    const seg_t segs[] = {
        {1, 0x10000000u, 0x10000000u, 128, 128, sdk},
        {4, 0, 0, 8, 8, data}, /* PT_NOTE */
        {1, 0x10000080u, 0x10000080u, 128, 128, sdk + 128},
        {1, 0x10000110u, 0x20000000u, 16, 16, data}, /* .data: loaded after a gap */
        {1, 0x20000010u, 0x20000010u, 0, 0x400, NULL}, /* .bss */
    };
    return make_elf(out, segs, FK_ARRAY_SIZE(segs), 40);
}

static void expect_elf(size_t len, fk_boot_err_t err)
{
    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    assert_int_equal(fk_image_load_elf(&g_img2, g_file, len), err);
    assert_int_equal(g_img2.len, 0);
}

static void test_elf(void **state)
{
    (void)state;
    size_t len = sdk_elf(g_file);
    uint8_t sdk[TB_SDK_LEN];
    tb_sdk_image(sdk);

    fk_image_init(&g_img, g_buf, sizeof(g_buf));
    assert_int_equal(fk_image_detect(g_file, len), FK_IMAGE_ELF);
    assert_int_equal(fk_image_load(&g_img, g_file, len, 0x12345600u), FK_BOOT_OK);
    assert_int_equal(g_img.format, FK_IMAGE_ELF);
    assert_int_equal(g_img.base, 0x10000000u);
    assert_int_equal(g_img.len, 0x120);
    assert_false(g_img.has_family);
    assert_int_equal(g_img.family, FK_UF2_FAMILY_RP2350_ARM_S);
    assert_memory_equal(g_img.data, sdk, TB_SDK_LEN);
    for (unsigned i = 0x100; i < 0x110; i++) assert_int_equal(g_img.data[i], 0); /* gap */
    assert_int_equal(g_img.data[0x110], 0xD0);

    /* It seals and verifies like the BIN. */
    fk_image_seal_opts_t o;
    fk_image_seal_info_t info;
    fk_boot_info_t bi;
    fk_image_seal_opts_init(&o);
    o.key_blob = g_key.blob;
    o.key_blob_len = g_key.len;
    assert_int_equal(fk_image_seal(&g_img, &o, &info), FK_BOOT_OK);
    assert_int_equal(info.block_addr, 0x10000120u);
    fk_boot_inspect(&g_img, &bi);
    assert_true(bi.sig_ok);

    /* Malformed. */
    expect_elf(0, FK_BOOT_EEMPTY);
    expect_elf(40, FK_BOOT_EELF_HEADER);
    len = sdk_elf(g_file);
    g_file[4] = 2; /* 64-bit */
    expect_elf(len, FK_BOOT_EELF_HEADER);
    len = sdk_elf(g_file);
    g_file[5] = 2; /* big-endian */
    expect_elf(len, FK_BOOT_EELF_HEADER);
    len = sdk_elf(g_file);
    g_file[18] = 62; /* x86-64 */
    expect_elf(len, FK_BOOT_EELF_MACHINE);
    len = sdk_elf(g_file);
    expect_elf(52 + 32 * 3, FK_BOOT_EELF_PHDR); /* headers cut off */
    len = sdk_elf(g_file);
    g_file[42] = 16; /* phentsize too small */
    expect_elf(len, FK_BOOT_EELF_PHDR);
    len = sdk_elf(g_file);
    expect_elf(len - 8, FK_BOOT_EELF_SEGMENT); /* last data cut off */
    len = sdk_elf(g_file);
    fk_put_le32(g_file + 52 + 32 * 2 + 4, 0xFFFFFFF0u); /* offset past the end */
    expect_elf(len, FK_BOOT_EELF_SEGMENT);
    assert_int_equal(g_img2.err_at, 52 + 32 * 2);
    len = sdk_elf(g_file);
    fk_put_le32(g_file + 52 + 32 * 2 + 12, 0x10000040u); /* overlaps segment 0 */
    expect_elf(len, FK_BOOT_EELF_OVERLAP);
    len = sdk_elf(g_file);
    fk_put_le32(g_file + 52 + 32 * 3 + 12, 0xFFFFFFF8u); /* wraps */
    expect_elf(len, FK_BOOT_EADDRESS);
    len = sdk_elf(g_file);
    fk_put_le32(g_file + 52 + 32 * 3 + 12, 0x20000000u); /* 256 MiB apart */
    expect_elf(len, FK_BOOT_ETOO_BIG);
    const seg_t none[] = {{6, 0, 0, 4, 4, sdk}};
    len = make_elf(g_file, none, 1, 243);
    expect_elf(len, FK_BOOT_EELF_EMPTY);
    len = make_elf(g_file, none, 0, 243);
    expect_elf(len, FK_BOOT_EELF_EMPTY);

    /* RISC-V: the natural family follows the machine. */
    const seg_t rv[] = {{1, 0x10000000u, 0x10000000u, 64, 64, sdk}};
    len = make_elf(g_file, rv, 1, 243);
    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    assert_int_equal(fk_image_load_elf(&g_img2, g_file, len), FK_BOOT_OK);
    assert_int_equal(g_img2.family, FK_UF2_FAMILY_RP2350_RISCV);
}

/* ---- BIN ------------------------------------------------------------------------ */

static void test_bin(void **state)
{
    (void)state;
    uint8_t sdk[TB_SDK_LEN];
    tb_sdk_image(sdk);

    fk_image_init(&g_img, g_buf, sizeof(g_buf));
    assert_int_equal(fk_image_detect(sdk, sizeof(sdk)), FK_IMAGE_BIN);
    assert_int_equal(fk_image_load(&g_img, sdk, sizeof(sdk), 0), FK_BOOT_OK);
    assert_int_equal(g_img.base, FK_IMAGE_DEFAULT_BASE);
    assert_int_equal(g_img.format, FK_IMAGE_BIN);
    assert_int_equal(fk_image_load(&g_img, sdk, sizeof(sdk), 0x10040000u), FK_BOOT_OK);
    assert_int_equal(g_img.base, 0x10040000u);
    assert_int_equal(fk_image_load_bin(&g_img, sdk, 0, 0), FK_BOOT_EEMPTY);
    assert_int_equal(fk_image_load_bin(&g_img, sdk, sizeof(sdk), 0xFFFFFF80u), FK_BOOT_EADDRESS);
    fk_image_init(&g_img, g_buf, 100);
    assert_int_equal(fk_image_load_bin(&g_img, sdk, sizeof(sdk), 0), FK_BOOT_ETOO_BIG);
    assert_int_equal(g_img.len, 0);
}

/* ---- The block loop --------------------------------------------------------------- */

/* A minimal block (IMAGE_TYPE only) at off with the given link. */
static void put_block(uint8_t *img, uint32_t off, int32_t link)
{
    fk_put_le32(img + off, FK_PICOBIN_START);
    fk_put_le32(img + off + 4, 0x10210142u);
    fk_put_le32(img + off + 8, 0x000001FFu);
    fk_put_le32(img + off + 12, (uint32_t)link);
    fk_put_le32(img + off + 16, FK_PICOBIN_END);
}

static fk_boot_err_t walk(uint8_t *img, size_t len)
{
    fk_picobin_loop_t loop;
    return fk_picobin_walk(img, len, 0x10000000u, &loop);
}

static void test_block_loop(void **state)
{
    (void)state;
    static uint8_t img[0x2000];
    fk_picobin_loop_t loop;

    memset(img, 0, sizeof(img));
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ENO_BLOCK);
    put_block(img, 0x1000, 0); /* past the first 4 KiB */
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ENO_BLOCK);

    /* A loop of three that closes. */
    memset(img, 0, sizeof(img));
    put_block(img, 0x100, 0x100);
    put_block(img, 0x200, 0x100);
    put_block(img, 0x300, -0x200);
    assert_int_equal(fk_picobin_walk(img, sizeof(img), 0x10000000u, &loop), FK_BOOT_OK);
    assert_int_equal(loop.count, 3);
    assert_int_equal(loop.blocks[2].addr, 0x10000300u);

    /* Never closes: 0x300 links back to 0x200, not to the first. */
    put_block(img, 0x300, -0x100);
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ELOOP_LONG);
    /* Below the first block. */
    put_block(img, 0x300, -0x240);
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ELOOP_BACK);
    /* Into nothing, and past the end of the image. */
    put_block(img, 0x300, 0x40);
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ELOOP);
    put_block(img, 0x300, 0x10000);
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ELOOP);
    /* A later block linking to itself. */
    put_block(img, 0x300, 0);
    assert_int_equal(walk(img, sizeof(img)), FK_BOOT_ELOOP_SELF);
    /* The image ends inside the last block. */
    put_block(img, 0x300, -0x200);
    assert_int_equal(walk(img, 0x30C), FK_BOOT_ELOOP);

    /* Invalid first candidates are skipped: a LAST of the wrong size, a
     * missing END, a zero-sized item; the valid block after them is found. */
    memset(img, 0, sizeof(img));
    put_block(img, 0x10, 0);
    fk_put_le32(img + 0x18, 0x000002FFu);
    put_block(img, 0x40, 0);
    fk_put_le32(img + 0x50, 0);
    put_block(img, 0x80, 0);
    fk_put_le32(img + 0x84, 0x00000042u);
    put_block(img, 0xC0, 0);
    assert_int_equal(fk_picobin_walk(img, sizeof(img), 0x10000000u, &loop), FK_BOOT_OK);
    assert_int_equal(loop.count, 1);
    assert_int_equal(loop.blocks[0].offset, 0xC0);

    /* A broken loop refuses sealing and booting with the same reason. */
    fk_otp_t otp;
    fk_boot_result_t res;
    fk_image_seal_opts_t o;
    memset(img, 0, sizeof(img));
    put_block(img, 0x100, 0x100);
    put_block(img, 0x200, 0x100);
    put_block(img, 0x300, -0x100);
    fk_image_init(&g_img, g_buf, sizeof(g_buf));
    assert_int_equal(fk_image_load_bin(&g_img, img, sizeof(img), 0), FK_BOOT_OK);
    fk_image_seal_opts_init(&o);
    o.hash_value = true;
    assert_int_equal(fk_image_seal(&g_img, &o, NULL), FK_BOOT_ELOOP_LONG);
    tb_otp_fresh(&otp, FK_OTP_STEPPING_A2);
    fk_boot_predict(&otp, &g_img, &res);
    assert_int_equal(res.verdict, FK_BOOT_REFUSED);
    assert_int_equal(res.reason, FK_BOOT_ELOOP_LONG);
}

/* ---- Hostile input ---------------------------------------------------------------- */

/* Apply a few random changes to buf[0, *len) (within cap). */
static void mutate(uint8_t *buf, size_t *len, size_t cap, size_t hot_lo, size_t hot_hi)
{
    static const uint32_t k_words[] = {0,          0xFFFFFFFFu, FK_PICOBIN_START, FK_PICOBIN_END,
                                       0x000031FFu, 0x7FFFFFFFu, 0x80000000u,     4,
                                       0x01000406u, 0x01002109u, 0x10000000u,     0xFFFFFF40u};
    const unsigned n = 1u + tb_rand() % 8u;
    for (unsigned k = 0; k < n && *len > 0u; k++) {
        size_t at = (tb_rand() & 1u) && hot_hi > hot_lo && hot_hi <= *len
                        ? hot_lo + tb_rand() % (hot_hi - hot_lo)
                        : tb_rand() % *len;
        switch (tb_rand() % 6u) {
        case 0:
            buf[at] ^= (uint8_t)(1u << (tb_rand() % 8u));
            break;
        case 1:
            buf[at] = (uint8_t)tb_rand();
            break;
        case 2:
            at &= ~(size_t)3;
            if (at + 4u <= *len) fk_put_le32(buf + at, k_words[tb_rand() % FK_ARRAY_SIZE(k_words)]);
            break;
        case 3:
            *len = tb_rand() % (*len + 1u);
            break;
        case 4:
            if (*len + 64u <= cap) {
                for (unsigned i = 0; i < 64u; i++) buf[*len + i] = (uint8_t)tb_rand();
                *len += 64u;
            }
            break;
        default:
            at &= ~(size_t)3;
            if (at + 4u <= *len) fk_put_le32(buf + at, tb_rand());
            break;
        }
    }
}

/* Everything a tool does with an input, on a mutated one. */
static void exercise(const uint8_t *in, size_t len, const fk_otp_t *secure_otp)
{
    static fk_otp_t otp;
    fk_boot_result_t res;
    fk_boot_info_t bi;
    char text[512];
    size_t out_len;

    fk_image_init(&g_img2, g_buf2, sizeof(g_buf2));
    if (fk_image_load(&g_img2, in, len, 0) != FK_BOOT_OK) {
        assert_int_equal(g_img2.len, 0);
        return;
    }
    assert_true(g_img2.len <= g_img2.cap);
    fk_boot_inspect(&g_img2, &bi);
    fk_boot_predict(secure_otp, &g_img2, &res);
    (void)fk_boot_describe(&res, text, sizeof(text));
    assert_true(strlen(text) < sizeof(text));
    memcpy(&otp, secure_otp, sizeof(otp));
    fk_boot_run(&otp, &g_img2, &res);
    (void)fk_image_write_uf2(&g_img2, 0, g_file, sizeof(g_file), &out_len);

    fk_image_seal_opts_t o;
    fk_image_seal_opts_init(&o);
    o.hash_value = true;
    o.set_major = true;
    o.major = 3;
    (void)fk_image_seal(&g_img2, &o, NULL);
    fk_boot_inspect(&g_img2, &bi);
}

static void test_hostile_inputs(void **state)
{
    (void)state;
    static uint8_t seed_uf2[UF2_MAX], seed_bin[TB_IMG_CAP], seed_elf[1024];
    static uint8_t work[UF2_MAX + 1024];
    static fk_otp_t otp;
    size_t uf2_len, bin_len, elf_len;

    uf2_len = sealed_uf2();
    memcpy(seed_uf2, g_file, uf2_len);
    bin_len = g_img.len;
    memcpy(seed_bin, g_img.data, bin_len);
    elf_len = sdk_elf(seed_elf);
    tb_otp_secure(&otp, g_key.fp);

    for (unsigned round = 0; round < HOSTILE_ROUNDS; round++) {
        size_t len;
        switch (round % 3u) {
        case 0:
            len = uf2_len;
            memcpy(work, seed_uf2, len);
            mutate(work, &len, sizeof(work), 32, 32 + 256);
            break;
        case 1:
            len = bin_len;
            memcpy(work, seed_bin, len);
            mutate(work, &len, sizeof(work), 0x40, bin_len);
            break;
        default:
            len = elf_len;
            memcpy(work, seed_elf, len);
            mutate(work, &len, sizeof(work), 0, 52 + 32 * 5);
            break;
        }
        exercise(work, len, &otp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uf2_round_trip),  cmocka_unit_test(test_uf2_e10_and_flags),
        cmocka_unit_test(test_uf2_malformed),   cmocka_unit_test(test_elf),
        cmocka_unit_test(test_bin),             cmocka_unit_test(test_block_loop),
        cmocka_unit_test(test_hostile_inputs),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
