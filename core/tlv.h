/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlv.h - BER-TLV (ISO/IEC 7816-4 / X.690 subset) reading and writing.
 *
 * Tags are kept as their encoded bytes read big-endian into a uint32_t
 * (so 0x7F21, 0x5F29, 0x85), at most 3 bytes. Lengths use the definite form:
 * one byte below 0x80, or 0x81-0x84 followed by 1-4 length bytes. The
 * reader checks every length against the bytes actually present; the
 * writer always emits the shortest length form.
 */
#ifndef FUSEKEY_TLV_H
#define FUSEKEY_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"

#define FK_TLV_MAX_TAG_BYTES 3u

enum {
    FK_TLV_OK = 0,
    FK_TLV_END = 1,       /* no more TLVs in the buffer */
    FK_TLV_EMALFORMED = -1,
};

typedef struct fk_tlv {
    uint32_t tag;
    const uint8_t *value; /* points into the parsed buffer */
    size_t len;
    size_t total;         /* bytes of tag + length + value */
} fk_tlv_t;

/* True when the tag's first byte marks a constructed object. */
bool fk_tlv_constructed(uint32_t tag);

/* Read the TLV at *pos (inside [*pos, end)). On FK_TLV_OK fills *out and
 * advances *pos past it. FK_TLV_END when *pos == end; FK_TLV_EMALFORMED for
 * a truncated tag, an indefinite or oversized length, or a value running past
 * end (then *pos is left unchanged). Padding bytes 00 and FF between objects
 * are not skipped: callers that accept them say so. */
int fk_tlv_next(const uint8_t **pos, const uint8_t *end, fk_tlv_t *out);

/* Find the first TLV with `tag` among the objects at the top level of
 * buf[0, len). FK_TLV_OK, FK_TLV_END (not present) or FK_TLV_EMALFORMED
 * (the buffer is not a well-formed sequence up to the match). */
int fk_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, fk_tlv_t *out);

/* Encoded sizes. */
size_t fk_tlv_tag_size(uint32_t tag);
size_t fk_tlv_len_size(size_t len);

/* Append tag and length; the caller appends the value. */
bool fk_tlv_put_header(fk_rbuf_t *r, uint32_t tag, size_t len);

/* Append a whole TLV. */
bool fk_tlv_put(fk_rbuf_t *r, uint32_t tag, const void *value, size_t len);

/* Append an unsigned integer value as a TLV of exactly `width` bytes, big endian. */
bool fk_tlv_put_uint(fk_rbuf_t *r, uint32_t tag, uint32_t value, size_t width);

/* Constructed objects of unknown length: begin writes the tag and a
 * placeholder, end fills in the length of everything appended since and
 * moves it so the length takes its shortest form. */
typedef struct fk_tlv_mark {
    size_t at;      /* offset of the placeholder length byte */
    bool ok;
} fk_tlv_mark_t;
fk_tlv_mark_t fk_tlv_begin(fk_rbuf_t *r, uint32_t tag);
bool fk_tlv_end(fk_rbuf_t *r, fk_tlv_mark_t mark);

#endif /* FUSEKEY_TLV_H */
