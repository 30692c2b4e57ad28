/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal.c - picotool-compatible sealing (docs/boot.md "Sealing"; spec 6.7).
 *
 * The new block is built in a local word buffer from the last IMAGE_DEF of
 * the loop, checked against every limit, and only then written: the loop's
 * last link is patched to reach it, earlier blocks are marked IGNORED when a
 * rollback version is sealed (erratum E13), the image is hashed exactly as
 * the bootrom hashes it, signed and verified again. Any failure after the
 * first write puts back every word that was changed.
 */
#include "seal.h"

#include <string.h>

#include "bootrom.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "otp_map.h"
#include "picobin.h"
#include "util.h"

#define WORD_BYTES FK_PICOBIN_WORD_BYTES
#define VECTOR_SP 0u /* vector 0: initial stack pointer */
#define VECTOR_PC 1u /* vector 1: reset handler */
#define EC_POINT_LEN (1u + FK_PICOBIN_KEY_LEN)
#define MAX_PATCHES (1u + FK_PICOBIN_MAX_BLOCKS)
#define ADDRESS_SPACE ((uint64_t)UINT32_MAX + 1u)

/* The new block under construction (words 0 .. n-1). */
typedef struct builder {
    uint32_t w[FK_PICOBIN_MAX_BLOCK_WORDS];
    unsigned n;
    bool overflow;
} builder_t;

/* A word of the image changed by the seal, to undo on failure. */
typedef struct patch {
    uint32_t offset;
    uint32_t old;
} patch_t;

/* Resolved options. */
typedef struct plan {
    bool sign, hash;
    bool new_version; /* a VERSION item is (re)built at the end */
    uint16_t major, minor, rollback;
    unsigned n_rows;
    uint16_t rows[FK_SEAL_MAX_ROWS];
} plan_t;

static void put(builder_t *b, uint32_t w)
{
    if (b->n >= FK_PICOBIN_MAX_BLOCK_WORDS) {
        b->overflow = true;
        return;
    }
    b->w[b->n++] = w;
}

/* An item header with a one-byte size. */
static uint32_t header(uint32_t type, uint32_t size, uint32_t byte3)
{
    return type | (size << 8) | (byte3 << 24);
}

void fk_image_seal_opts_init(fk_image_seal_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
}

fk_boot_err_t fk_image_seal_pubkey(const uint8_t *key_blob, size_t len, uint8_t pubkey[64])
{
    fk_pk_key_t key;
    if (key_blob == NULL || pubkey == NULL) return FK_BOOT_EARG;
    if (fk_pk_parse(key_blob, len, &key) != FK_CRYPTO_OK || key.type != FK_PK_EC ||
        key.curve != FK_CURVE_SECP256K1 || key.pub.len != EC_POINT_LEN)
        return FK_BOOT_EKEY;
    memcpy(pubkey, key.pub.p + 1, FK_PICOBIN_KEY_LEN);
    return FK_BOOT_OK;
}

/* Sort and check the rollback rows (distinct triples, 3 apart, in OTP). */
static bool rows_valid(uint16_t *rows, unsigned n)
{
    if (n == 0u || n > FK_SEAL_MAX_ROWS) return false;
    for (unsigned i = 1; i < n; i++) /* insertion sort */
        for (unsigned j = i; j > 0u && rows[j - 1u] > rows[j]; j--) {
            uint16_t t = rows[j];
            rows[j] = rows[j - 1u];
            rows[j - 1u] = t;
        }
    for (unsigned i = 0; i < n; i++) {
        if ((uint32_t)rows[i] + FK_OTP_RBIT3_COPIES > FK_OTP_MODEL_ROWS) return false;
        if (i > 0u && (uint32_t)rows[i] - rows[i - 1u] < FK_SEAL_ROW_SPACING) return false;
    }
    return true;
}

/* Resolve the options against the source block's VERSION item. */
static fk_boot_err_t make_plan(const fk_image_seal_opts_t *o, const uint8_t *data,
                               const fk_picobin_block_t *src, const fk_picobin_def_t *def,
                               plan_t *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->sign = o->key_blob != NULL;
    pl->hash = o->hash_value;
    pl->new_version = o->set_major || o->set_minor || o->set_rollback || o->n_rows != 0u;
    pl->major = o->set_major ? o->major : (uint16_t)(def->major_minor >> 16);
    pl->minor = o->set_minor ? o->minor : (uint16_t)def->major_minor;

    if (o->n_rows != 0u) {
        if (o->n_rows > FK_SEAL_MAX_ROWS) return FK_BOOT_EROWS;
        pl->n_rows = o->n_rows;
        memcpy(pl->rows, o->rows, sizeof(uint16_t) * o->n_rows);
    } else if (!o->set_rollback && def->has_version && def->rows != 0u &&
               def->rows <= FK_SEAL_MAX_ROWS) {
        pl->n_rows = def->rows;
        for (unsigned i = 0; i < def->rows; i++)
            pl->rows[i] = fk_picobin_version_row(data, src, def, i);
    } else {
        pl->n_rows = FK_SEAL_DEFAULT_ROWS;
        pl->rows[0] = FK_OTP_ROW_BOOT_VERSION0;
        pl->rows[1] = FK_OTP_ROW_BOOT_VERSION1;
    }
    if (o->set_rollback) {
        pl->rollback = o->rollback;
    } else if (def->has_version && def->rows != 0u) {
        if (def->rows > FK_SEAL_MAX_ROWS) return FK_BOOT_EROWS;
        pl->rollback = def->rollback; /* kept from the block being copied */
    }
    if ((o->set_rollback || pl->rollback != 0u) && !pl->sign) return FK_BOOT_EROLLBACK_UNSIGNED;
    if (pl->rollback != 0u) {
        if (!rows_valid(pl->rows, pl->n_rows)) return FK_BOOT_EROWS;
        if ((uint32_t)pl->rollback >= FK_PICOBIN_ROLLBACK_BITS_PER_ROW * pl->n_rows)
            return FK_BOOT_EROLLBACK_RANGE;
    } else {
        pl->n_rows = 0;
    }
    return FK_BOOT_OK;
}

/* Append a VERSION item. */
static void put_version(builder_t *b, const plan_t *pl)
{
    const unsigned rows = pl->rollback != 0u ? pl->n_rows : 0u;
    const unsigned size = 2u + ((rows != 0u ? 1u : 0u) + rows + 1u) / 2u;
    put(b, header(FK_PICOBIN_ITEM_VERSION, size, rows));
    put(b, ((uint32_t)pl->major << 16) | pl->minor);
    if (rows == 0u) return;
    /* halfwords: rollback, row 0, row 1, ... zero-padded to whole words */
    uint16_t half[1u + FK_SEAL_MAX_ROWS + 1u];
    memset(half, 0, sizeof(half));
    half[0] = pl->rollback;
    for (unsigned i = 0; i < rows; i++) half[1u + i] = pl->rows[i];
    for (unsigned i = 0; i < size - 2u; i++)
        put(b, (uint32_t)half[2u * i] | ((uint32_t)half[2u * i + 1u] << 16));
}

/* Copy the source block's items after IMAGE_TYPE, leaving out what the
 * seal rebuilds; a relative LOAD_MAP is re-based to its new position. */
static void copy_items(builder_t *b, const uint8_t *data, const fk_picobin_block_t *src,
                       uint32_t new_addr, const plan_t *pl, bool *has_load_map, bool *has_vt,
                       bool *has_ep)
{
    unsigned i = 2;
    while (i < src->last) {
        const uint32_t h = fk_picobin_word(data, src, i);
        const uint32_t size = fk_picobin_item_size(h);
        const uint32_t type = h & FK_PICOBIN_ITEM_TYPE_MASK;
        if (size == 0u || i + size > src->last) return; /* parse() accepted the block */
        bool keep = type != FK_PICOBIN_ITEM_IGNORED && type != FK_PICOBIN_ITEM_HASH_DEF &&
                    type != FK_PICOBIN_ITEM_HASH_VALUE && type != FK_PICOBIN_ITEM_SIGNATURE &&
                    !(type == FK_PICOBIN_ITEM_VERSION && pl->new_version);
        if (keep) {
            const unsigned at = b->n;
            for (unsigned k = 0; k < size; k++) put(b, fk_picobin_word(data, src, i + k));
            if (type == FK_PICOBIN_ITEM_LOAD_MAP && !b->overflow) {
                *has_load_map = true;
                if (!((h >> 24) & FK_PICOBIN_LOAD_MAP_ABSOLUTE)) {
                    const uint32_t old_hdr = src->addr + WORD_BYTES * i;
                    const uint32_t new_hdr = new_addr + WORD_BYTES * at;
                    for (unsigned e = at + 1u; e + 2u < b->n; e += FK_PICOBIN_LOAD_MAP_ENTRY_WORDS)
                        if (b->w[e] != 0u) b->w[e] = b->w[e] + old_hdr - new_hdr;
                }
            }
            if (type == FK_PICOBIN_ITEM_VECTOR_TABLE) *has_vt = true;
            if (type == FK_PICOBIN_ITEM_ENTRY_POINT) *has_ep = true;
        }
        i += size;
    }
}

/* Build the new block (without key, signature or hash value, which are
 * zero) into b; *hash_def is its HASH_DEF index, *sig its SIGNATURE data
 * index (0 = none), *hv its HASH_VALUE data index (0 = none). */
static fk_boot_err_t build(builder_t *b, const fk_image_t *img, const fk_picobin_block_t *src,
                           const fk_picobin_def_t *def, const plan_t *pl, uint32_t new_off,
                           uint32_t first_off, unsigned *sig, unsigned *hv)
{
    const uint32_t new_addr = img->base + new_off;
    const bool exe = (def->flags & FK_IMAGE_TYPE_TYPE_MASK) == FK_IMAGE_TYPE_EXE;
    const bool arm = ((def->flags & FK_IMAGE_TYPE_CPU_MASK) >> FK_IMAGE_TYPE_CPU_SHIFT) ==
                     FK_IMAGE_TYPE_CPU_ARM;
    bool has_load_map = false, has_vt = false, has_ep = false;
    uint16_t flags = def->flags;

    memset(b, 0, sizeof(*b));
    *sig = 0;
    *hv = 0;
    if (pl->sign && exe && arm) flags |= FK_IMAGE_TYPE_EXTRA_SECURITY;
    put(b, FK_PICOBIN_START);
    put(b, FK_PICOBIN_IMAGE_TYPE_HEADER | ((uint32_t)flags << 16));
    copy_items(b, img->data, src, new_addr, pl, &has_load_map, &has_vt, &has_ep);
    if (pl->new_version) put_version(b, pl);

    if (pl->sign && exe && arm) {
        uint32_t vt = def->has_vector_table ? def->vector_table : img->base;
        if (!has_vt) {
            put(b, header(FK_PICOBIN_ITEM_VECTOR_TABLE, FK_PICOBIN_SIZE_VECTOR_TABLE, 0));
            put(b, vt);
        }
        if (!has_ep) {
            if (vt < img->base || (vt & FK_PICOBIN_WORD_MASK) != 0u ||
                (uint64_t)vt - img->base + WORD_BYTES * (VECTOR_PC + 1u) > img->len)
                return FK_BOOT_EVECTOR;
            const uint8_t *v = img->data + (vt - img->base);
            put(b, header(FK_PICOBIN_ITEM_ENTRY_POINT, FK_PICOBIN_SIZE_ENTRY_POINT, 0));
            put(b, fk_le32(v + WORD_BYTES * VECTOR_PC));
            put(b, fk_le32(v + WORD_BYTES * VECTOR_SP));
        }
    }
    if (pl->sign || pl->hash) {
        if (!has_load_map) { /* one relative entry over the whole image */
            const uint32_t hdr_addr = new_addr + WORD_BYTES * b->n;
            put(b, header(FK_PICOBIN_ITEM_LOAD_MAP, 1u + FK_PICOBIN_LOAD_MAP_ENTRY_WORDS, 1u));
            put(b, img->base - hdr_addr);
            put(b, img->base);
            put(b, new_off);
        }
        const unsigned hash_def = b->n;
        put(b, header(FK_PICOBIN_ITEM_HASH_DEF, FK_PICOBIN_SIZE_HASH_DEF, FK_PICOBIN_HASH_SHA256));
        put(b, hash_def + FK_PICOBIN_SIZE_HASH_DEF);
        if (pl->sign) {
            put(b, header(FK_PICOBIN_ITEM_SIGNATURE, FK_PICOBIN_SIZE_SIGNATURE,
                          FK_PICOBIN_SIG_SECP256K1));
            *sig = b->n;
            for (unsigned k = 0; k + 1u < FK_PICOBIN_SIZE_SIGNATURE; k++) put(b, 0);
        }
        if (pl->hash) {
            put(b, header(FK_PICOBIN_ITEM_HASH_VALUE, FK_PICOBIN_SIZE_HASH_VALUE_MAX, 0));
            *hv = b->n;
            for (unsigned k = 0; k + 1u < FK_PICOBIN_SIZE_HASH_VALUE_MAX; k++) put(b, 0);
        }
    }
    const unsigned last = b->n;
    put(b, (uint32_t)(FK_PICOBIN_ITEM_LAST | FK_PICOBIN_ITEM_2BS) | ((uint32_t)(last - 1u) << 8));
    put(b, (uint32_t)((int32_t)first_off - (int32_t)new_off));
    put(b, FK_PICOBIN_END);
    if (b->overflow || last > FK_PICOBIN_MAX_IMAGE_DEF_WORDS) return FK_BOOT_EBLOCK_SIZE;
    return FK_BOOT_OK;
}

/* Change one word of the image, remembering the old value. */
static void patch_word(fk_image_t *img, patch_t *patches, unsigned *n, uint32_t offset,
                       uint32_t value)
{
    patches[*n].offset = offset;
    patches[*n].old = fk_le32(img->data + offset);
    (*n)++;
    fk_put_le32(img->data + offset, value);
}

static void undo(fk_image_t *img, const patch_t *patches, unsigned n, size_t old_len)
{
    while (n-- > 0u) fk_put_le32(img->data + patches[n].offset, patches[n].old);
    if (img->len > old_len) memset(img->data + old_len, 0, img->len - old_len);
    img->len = old_len;
}

/* Sign hash with the key blob into sig (64 bytes r || s). */
static fk_boot_err_t sign(const fk_image_seal_opts_t *o, const uint8_t hash[32], uint8_t *sig)
{
    fk_pk_key_t key;
    size_t len = 0;
    if (fk_pk_parse(o->key_blob, o->key_blob_len, &key) != FK_CRYPTO_OK) return FK_BOOT_EKEY;
    if (fk_pk_ecdsa_sign(&key, hash, FK_PICOBIN_HASH_LEN, FK_SIG_PLAIN, sig, FK_PICOBIN_SIG_LEN,
                         &len) != FK_CRYPTO_OK ||
        len != FK_PICOBIN_SIG_LEN)
        return FK_BOOT_ESIGN;
    return FK_BOOT_OK;
}

/* The last IMAGE_DEF of the loop (NULL when there is none). */
static const fk_picobin_block_t *source_block(const fk_image_t *img, const fk_picobin_loop_t *loop)
{
    const fk_picobin_block_t *src = NULL;
    for (unsigned n = 0; n < loop->count; n++)
        if ((fk_picobin_word(img->data, &loop->blocks[n], 1) & FK_PICOBIN_HEADER_MASK) ==
            FK_PICOBIN_IMAGE_TYPE_HEADER)
            src = &loop->blocks[n];
    return src;
}

/* Check the sealed block the way a verifier does. */
static bool self_verify(const fk_image_t *img, uint32_t addr, const plan_t *pl,
                        fk_image_seal_info_t *info)
{
    fk_boot_info_t bi;
    fk_boot_inspect_at(img, addr, &bi);
    if (bi.loop != FK_BOOT_OK || !bi.has_block || bi.rejected != FK_BOOT_OK) return false;
    if ((pl->sign || pl->hash) && !bi.hash_ok) return false;
    if (pl->sign && !(bi.is_signed && bi.sig_ok && memcmp(bi.pubkey, info->pubkey, 64) == 0))
        return false;
    if (pl->hash && !bi.hash_value_ok) return false;
    memcpy(info->hash, bi.hash, sizeof(info->hash));
    return true;
}

fk_boot_err_t fk_image_seal(fk_image_t *img, const fk_image_seal_opts_t *opts,
                            fk_image_seal_info_t *info)
{
    static builder_t s_builder; /* 640 bytes kept off the stack (not reentrant) */
    fk_image_seal_info_t local;
    fk_picobin_loop_t loop;
    fk_picobin_def_t def;
    patch_t patches[MAX_PATCHES];
    plan_t pl;
    unsigned n_patches = 0, sig_idx, hv_idx;
    fk_boot_err_t rc;

    if (info == NULL) info = &local;
    memset(info, 0, sizeof(*info));
    if (img == NULL || img->data == NULL || opts == NULL) return FK_BOOT_EARG;
    if (img->len == 0u) return FK_BOOT_EEMPTY;
    if (img->has_family && !fk_uf2_family_is_rp2350(img->family)) return FK_BOOT_EFAMILY;
    if (opts->key_blob != NULL) {
        rc = fk_image_seal_pubkey(opts->key_blob, opts->key_blob_len, info->pubkey);
        if (rc != FK_BOOT_OK) return rc;
        fk_boot_fingerprint(info->pubkey, info->fingerprint);
        info->is_signed = true;
    }

    rc = fk_picobin_walk(img->data, img->len, img->base, &loop);
    if (rc == FK_BOOT_ENO_BLOCK) return FK_BOOT_ENO_IMAGE_DEF;
    if (rc != FK_BOOT_OK) return rc;
    const fk_picobin_block_t *src = source_block(img, &loop);
    if (src == NULL) return FK_BOOT_ENO_IMAGE_DEF;
    fk_picobin_parse(img->data, src, &def);
    if (!def.image_def) return FK_BOOT_ENO_IMAGE_DEF;
    if (def.rejected) return def.why;
    rc = make_plan(opts, img->data, src, &def, &pl);
    if (rc != FK_BOOT_OK) return rc;

    const size_t old_len = img->len;
    const uint32_t new_off = (uint32_t)((old_len + WORD_BYTES - 1u) & ~(size_t)(WORD_BYTES - 1u));
    rc = build(&s_builder, img, src, &def, &pl, new_off, loop.blocks[0].offset, &sig_idx, &hv_idx);
    if (rc != FK_BOOT_OK) return rc;
    const size_t new_len = new_off + WORD_BYTES * (size_t)s_builder.n;
    if (new_len > img->cap) return FK_BOOT_ETOO_BIG;
    if ((uint64_t)img->base + new_len > ADDRESS_SPACE) return FK_BOOT_EADDRESS;

    /* From here on the image changes; failures undo. */
    const fk_picobin_block_t *tail = &loop.blocks[loop.count - 1u];
    memset(img->data + old_len, 0, new_off - old_len);
    patch_word(img, patches, &n_patches, tail->offset + WORD_BYTES * (tail->last + 1u),
               new_off - tail->offset);
    if (pl.rollback != 0u && !opts->no_e13_workaround) {
        for (unsigned n = 0; n < loop.count; n++) {
            const fk_picobin_block_t *b = &loop.blocks[n];
            const uint32_t at = b->offset + WORD_BYTES;
            const uint32_t first = fk_le32(img->data + at);
            if (b->last < 2u || (first & FK_PICOBIN_ITEM_TYPE_MASK) == FK_PICOBIN_ITEM_PARTITION_TABLE)
                continue;
            patch_word(img, patches, &n_patches, at,
                       (first & ~FK_PICOBIN_ITEM_TYPE_BYTE) | (first & FK_PICOBIN_ITEM_2BS) |
                           FK_PICOBIN_ITEM_IGNORED);
            info->ignored_blocks++;
        }
    }
    for (unsigned k = 0; k < s_builder.n; k++)
        fk_put_le32(img->data + new_off + WORD_BYTES * k, s_builder.w[k]);
    img->len = new_len;

    fk_picobin_block_t nb;
    fk_picobin_def_t nd;
    uint8_t hash[FK_PICOBIN_HASH_LEN];
    rc = FK_BOOT_ESELF_VERIFY;
    if (fk_picobin_block_at(img->data, img->len, img->base, new_off, &nb)) {
        fk_picobin_parse(img->data, &nb, &nd);
        rc = nd.image_def && !nd.rejected ? FK_BOOT_OK : FK_BOOT_ESELF_VERIFY;
    }
    if (rc == FK_BOOT_OK && (pl.sign || pl.hash))
        rc = fk_picobin_hash(img->data, img->len, img->base, &nb, &nd, hash) == FK_BOOT_OK
                 ? FK_BOOT_OK
                 : FK_BOOT_ESELF_VERIFY;
    if (rc == FK_BOOT_OK && pl.sign) {
        uint8_t *item = img->data + new_off + WORD_BYTES * sig_idx;
        memcpy(item, info->pubkey, FK_PICOBIN_KEY_LEN);
        rc = sign(opts, hash, item + FK_PICOBIN_KEY_LEN);
    }
    if (rc == FK_BOOT_OK && pl.hash)
        memcpy(img->data + new_off + WORD_BYTES * hv_idx, hash, FK_PICOBIN_HASH_LEN);
    if (rc == FK_BOOT_OK && !self_verify(img, img->base + new_off, &pl, info))
        rc = FK_BOOT_ESELF_VERIFY;
    if (rc != FK_BOOT_OK) {
        undo(img, patches, n_patches, old_len);
        memset(info, 0, sizeof(*info));
        return rc;
    }
    info->block_addr = img->base + new_off;
    info->block_words = (uint16_t)s_builder.n;
    info->major = pl.major;
    info->minor = pl.minor;
    info->rollback = pl.rollback;
    info->n_rows = pl.n_rows;
    memcpy(info->rows, pl.rows, sizeof(info->rows));
    return FK_BOOT_OK;
}

fk_boot_err_t fk_image_seal_otp_json(const uint8_t fingerprint[32], char *out, size_t cap,
                                     size_t *len)
{
    fk_boot_text_t t;
    if (fingerprint == NULL || out == NULL || len == NULL) return FK_BOOT_EARG;
    *len = 0;
    fk_boot_text_init(&t, out, cap);
    fk_boot_text_str(&t, "{\n    \"boot_flags1\": {\n        \"key_valid\": 1\n    },\n"
                         "    \"bootkey0\": [");
    for (unsigned i = 0; i < FK_SHA256_LEN; i++) {
        if (i != 0u) fk_boot_text_str(&t, ", ");
        fk_boot_text_dec(&t, fingerprint[i]);
    }
    fk_boot_text_str(&t, "],\n    \"crit1\": {\n        \"secure_boot_enable\": 1\n    }\n}\n");
    if (t.overflow) return FK_BOOT_ESPACE;
    *len = t.len;
    return FK_BOOT_OK;
}
