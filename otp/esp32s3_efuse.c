/* SPDX-License-Identifier: Apache-2.0 */
/*
 * esp32s3_efuse.c - the ESP32-S3 eFuse model of esp32s3_efuse.h.
 *
 * IMPLEMENTATION NOTE: write protection is modelled for the BLOCK0 fields
 * the product reads or burns, with the WR_DIS bit the ESP-IDF eFuse table
 * gives each. DIS_USB_JTAG and DIS_USB_SERIAL_JTAG have no WR_DIS bit named
 * there, so the model protects them with none. Fields not in the table
 * below are burnable at any time in the model.
 */
#include "esp32s3_efuse.h"

#include <string.h>

typedef struct {
    uint8_t first;  /* first BLOCK0 bit of the field */
    uint8_t count;  /* its width */
    uint8_t wr_dis; /* the WR_DIS bit that protects it */
} protected_field_t;

static const protected_field_t k_protected[] = {
    {FK_EFUSE_RD_DIS, FK_EFUSE_RD_DIS_BITS, FK_EFUSE_WR_DIS_RD_DIS},
    {FK_EFUSE_SOFT_DIS_JTAG, FK_EFUSE_SOFT_DIS_JTAG_BITS, FK_EFUSE_WR_DIS_GROUP1},
    {FK_EFUSE_DIS_PAD_JTAG, 1, FK_EFUSE_WR_DIS_GROUP1},
    {FK_EFUSE_SECURE_BOOT_KEY_REVOKE(0), 1, FK_EFUSE_WR_DIS_REVOKE(0)},
    {FK_EFUSE_SECURE_BOOT_KEY_REVOKE(1), 1, FK_EFUSE_WR_DIS_REVOKE(1)},
    {FK_EFUSE_SECURE_BOOT_KEY_REVOKE(2), 1, FK_EFUSE_WR_DIS_REVOKE(2)},
    {FK_EFUSE_KEY_PURPOSE(0), FK_EFUSE_KEY_PURPOSE_BITS, FK_EFUSE_WR_DIS_KEY_PURPOSE(0)},
    {FK_EFUSE_KEY_PURPOSE(1), FK_EFUSE_KEY_PURPOSE_BITS, FK_EFUSE_WR_DIS_KEY_PURPOSE(1)},
    {FK_EFUSE_KEY_PURPOSE(2), FK_EFUSE_KEY_PURPOSE_BITS, FK_EFUSE_WR_DIS_KEY_PURPOSE(2)},
    {FK_EFUSE_KEY_PURPOSE(3), FK_EFUSE_KEY_PURPOSE_BITS, FK_EFUSE_WR_DIS_KEY_PURPOSE(3)},
    {FK_EFUSE_KEY_PURPOSE(4), FK_EFUSE_KEY_PURPOSE_BITS, FK_EFUSE_WR_DIS_KEY_PURPOSE(4)},
    {FK_EFUSE_KEY_PURPOSE(5), FK_EFUSE_KEY_PURPOSE_BITS, FK_EFUSE_WR_DIS_KEY_PURPOSE(5)},
    {FK_EFUSE_SECURE_BOOT_EN, 1, FK_EFUSE_WR_DIS_SECURE_BOOT_EN},
    {FK_EFUSE_SECURE_BOOT_AGGRESSIVE_REVOKE, 1, FK_EFUSE_WR_DIS_AGGRESSIVE_REVOKE},
    {FK_EFUSE_DIS_DOWNLOAD_MODE, 1, FK_EFUSE_WR_DIS_GROUP3},
    {FK_EFUSE_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE, 1, FK_EFUSE_WR_DIS_GROUP3},
    {FK_EFUSE_ENABLE_SECURITY_DOWNLOAD, 1, FK_EFUSE_WR_DIS_GROUP3},
    {FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS, FK_EFUSE_WR_DIS_GROUP3},
};

static bool range_ok(unsigned first_bit, unsigned nbits)
{
    return nbits >= 1u && nbits <= FK_EFUSE_FIELD_MAX_BITS && first_bit < FK_EFUSE_BLOCK0_BITS &&
           nbits <= FK_EFUSE_BLOCK0_BITS - first_bit;
}

static bool data_block_ok(unsigned block)
{
    return block >= FK_EFUSE_BLOCK_FIRST_DATA && block < FK_EFUSE_BLOCKS;
}

static uint32_t field_mask(unsigned nbits)
{
    return nbits >= 32u ? 0xFFFFFFFFu : ((1u << nbits) - 1u);
}

void fk_efuse_init(fk_efuse_t *e) { memset(e, 0, sizeof(*e)); }

bool fk_efuse_bit(const fk_efuse_t *e, unsigned bit)
{
    if (bit >= FK_EFUSE_BLOCK0_BITS) return false;
    return ((e->block0[bit / 32u] >> (bit % 32u)) & 1u) != 0u;
}

int fk_efuse_read_field(const fk_efuse_t *e, unsigned first_bit, unsigned nbits, uint32_t *value)
{
    if (!range_ok(first_bit, nbits)) return FK_EFUSE_EINVAL;
    uint32_t v = 0;
    for (unsigned i = 0; i < nbits; i++) {
        if (fk_efuse_bit(e, first_bit + i)) v |= 1u << i;
    }
    *value = v;
    return FK_EFUSE_OK;
}

bool fk_efuse_bit_write_disabled(const fk_efuse_t *e, unsigned bit)
{
    for (size_t i = 0; i < sizeof(k_protected) / sizeof(k_protected[0]); i++) {
        const protected_field_t *f = &k_protected[i];
        if (bit >= f->first && bit < (unsigned)f->first + f->count)
            return fk_efuse_bit(e, f->wr_dis);
    }
    return false;
}

int fk_efuse_burn_field(fk_efuse_t *e, unsigned first_bit, unsigned nbits, uint32_t value)
{
    if (!range_ok(first_bit, nbits) || (value & ~field_mask(nbits)) != 0u) return FK_EFUSE_EINVAL;
    /* Check every bit first, so that a refused burn changes nothing. */
    for (unsigned i = 0; i < nbits; i++) {
        const unsigned bit = first_bit + i;
        if (((value >> i) & 1u) != 0u && !fk_efuse_bit(e, bit) &&
            fk_efuse_bit_write_disabled(e, bit))
            return FK_EFUSE_EWRITE_DISABLED;
    }
    for (unsigned i = 0; i < nbits; i++) {
        const unsigned bit = first_bit + i;
        if (((value >> i) & 1u) != 0u) e->block0[bit / 32u] |= 1u << (bit % 32u);
    }
    return FK_EFUSE_OK;
}

static bool read_disabled(const fk_efuse_t *e, unsigned block)
{
    return block >= FK_EFUSE_BLOCK_KEY0 && fk_efuse_bit(e, FK_EFUSE_RD_DIS_BLOCK(block));
}

static bool raw_block_empty(const fk_efuse_t *e, unsigned block)
{
    uint8_t any = 0;
    for (unsigned i = 0; i < FK_EFUSE_BLOCK_BYTES; i++) any |= e->data[block - 1u][i];
    return any == 0u;
}

int fk_efuse_read_block(const fk_efuse_t *e, unsigned block, uint8_t out[FK_EFUSE_BLOCK_BYTES])
{
    if (!data_block_ok(block)) return FK_EFUSE_EINVAL;
    if (read_disabled(e, block)) {
        memset(out, 0, FK_EFUSE_BLOCK_BYTES);
        return FK_EFUSE_EREAD_DISABLED;
    }
    memcpy(out, e->data[block - 1u], FK_EFUSE_BLOCK_BYTES);
    return FK_EFUSE_OK;
}

int fk_efuse_write_block(fk_efuse_t *e, unsigned block, const uint8_t data[FK_EFUSE_BLOCK_BYTES])
{
    if (!data_block_ok(block)) return FK_EFUSE_EINVAL;
    if (fk_efuse_bit(e, FK_EFUSE_WR_DIS_BLOCK(block))) return FK_EFUSE_EWRITE_DISABLED;
    if (!raw_block_empty(e, block)) return FK_EFUSE_EREPEATED;
    memcpy(e->data[block - 1u], data, FK_EFUSE_BLOCK_BYTES);
    return FK_EFUSE_OK;
}

bool fk_efuse_block_empty(const fk_efuse_t *e, unsigned block)
{
    if (!data_block_ok(block) || read_disabled(e, block)) return false;
    return raw_block_empty(e, block);
}

unsigned fk_efuse_key_purpose(const fk_efuse_t *e, unsigned key)
{
    uint32_t v = 0;
    if (key >= FK_EFUSE_KEY_BLOCKS) return 0xFFu;
    (void)fk_efuse_read_field(e, FK_EFUSE_KEY_PURPOSE(key), FK_EFUSE_KEY_PURPOSE_BITS, &v);
    return (unsigned)v;
}

int fk_efuse_set_key_purpose(fk_efuse_t *e, unsigned key, fk_efuse_purpose_t purpose)
{
    if (key >= FK_EFUSE_KEY_BLOCKS || (unsigned)purpose >= (1u << FK_EFUSE_KEY_PURPOSE_BITS))
        return FK_EFUSE_EINVAL;
    const unsigned cur = fk_efuse_key_purpose(e, key);
    if (cur == (unsigned)purpose) return FK_EFUSE_OK;
    if (cur != FK_EFUSE_PURPOSE_USER) return FK_EFUSE_EREPEATED;
    return fk_efuse_burn_field(e, FK_EFUSE_KEY_PURPOSE(key), FK_EFUSE_KEY_PURPOSE_BITS,
                               (uint32_t)purpose);
}

bool fk_efuse_key_unused(const fk_efuse_t *e, unsigned key)
{
    if (key >= FK_EFUSE_KEY_BLOCKS) return false;
    return fk_efuse_key_purpose(e, key) == FK_EFUSE_PURPOSE_USER &&
           !fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY(key)) &&
           !fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY_PURPOSE(key)) &&
           !fk_efuse_bit(e, FK_EFUSE_RD_DIS_KEY(key)) &&
           fk_efuse_block_empty(e, FK_EFUSE_BLOCK_KEY(key));
}

bool fk_efuse_find_unused_key(const fk_efuse_t *e, unsigned *key)
{
    for (unsigned k = 0; k < FK_EFUSE_KEY_BLOCKS; k++) {
        if (fk_efuse_key_unused(e, k)) {
            *key = k;
            return true;
        }
    }
    return false;
}
