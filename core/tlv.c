/* SPDX-License-Identifier: Apache-2.0 */
#include "tlv.h"

#include <string.h>

#define TLV_TAG_MORE 0x1Fu        /* low bits of a first tag byte: more bytes follow */
#define TLV_TAG_CONT 0x80u        /* in later tag bytes: another byte follows */
#define TLV_CONSTRUCTED 0x20u
#define TLV_LEN_LONG 0x80u        /* long length form marker */
#define TLV_LEN_MAX_BYTES 4u

static uint8_t tag_first_byte(uint32_t tag)
{
    if (tag > 0xFFFFu) return (uint8_t)(tag >> 16);
    if (tag > 0xFFu) return (uint8_t)(tag >> 8);
    return (uint8_t)tag;
}

bool fk_tlv_constructed(uint32_t tag) { return (tag_first_byte(tag) & TLV_CONSTRUCTED) != 0; }

int fk_tlv_next(const uint8_t **pos, const uint8_t *end, fk_tlv_t *out)
{
    const uint8_t *p = *pos;
    if (p >= end) return FK_TLV_END;

    /* Tag */
    uint32_t tag = *p++;
    if ((tag & TLV_TAG_MORE) == TLV_TAG_MORE) {
        size_t n = 1;
        for (;;) {
            if (p >= end || n >= FK_TLV_MAX_TAG_BYTES) return FK_TLV_EMALFORMED;
            uint8_t b = *p++;
            tag = (tag << 8) | b;
            n++;
            if (!(b & TLV_TAG_CONT)) break;
        }
    }

    /* Length */
    if (p >= end) return FK_TLV_EMALFORMED;
    size_t len = *p++;
    if (len & TLV_LEN_LONG) {
        size_t nbytes = len & ~(size_t)TLV_LEN_LONG;
        if (nbytes == 0 || nbytes > TLV_LEN_MAX_BYTES) return FK_TLV_EMALFORMED;
        if ((size_t)(end - p) < nbytes) return FK_TLV_EMALFORMED;
        len = 0;
        while (nbytes--) len = (len << 8) | *p++;
    }
    if ((size_t)(end - p) < len) return FK_TLV_EMALFORMED;

    out->tag = tag;
    out->value = p;
    out->len = len;
    out->total = (size_t)(p + len - *pos);
    *pos = p + len;
    return FK_TLV_OK;
}

int fk_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, fk_tlv_t *out)
{
    const uint8_t *p = buf;
    const uint8_t *end = buf + len;
    fk_tlv_t t;
    int rc;
    while ((rc = fk_tlv_next(&p, end, &t)) == FK_TLV_OK) {
        if (t.tag == tag) {
            *out = t;
            return FK_TLV_OK;
        }
    }
    return rc;
}

size_t fk_tlv_tag_size(uint32_t tag)
{
    if (tag > 0xFFFFu) return 3;
    if (tag > 0xFFu) return 2;
    return 1;
}

size_t fk_tlv_len_size(size_t len)
{
    if (len < 0x80u) return 1;
    if (len <= 0xFFu) return 2;
    if (len <= 0xFFFFu) return 3;
    if (len <= 0xFFFFFFu) return 4;
    return 5;
}

static void write_len(uint8_t *p, size_t len)
{
    size_t n = fk_tlv_len_size(len);
    if (n == 1) {
        p[0] = (uint8_t)len;
        return;
    }
    p[0] = (uint8_t)(TLV_LEN_LONG | (n - 1));
    for (size_t i = n - 1; i >= 1; i--) {
        p[i] = (uint8_t)len;
        len >>= 8;
    }
}

bool fk_tlv_put_header(fk_rbuf_t *r, uint32_t tag, size_t len)
{
    size_t ts = fk_tlv_tag_size(tag);
    size_t ls = fk_tlv_len_size(len);
    uint8_t *p = fk_rbuf_reserve(r, ts + ls);
    if (p == NULL) return false;
    for (size_t i = 0; i < ts; i++) p[i] = (uint8_t)(tag >> (8 * (ts - 1 - i)));
    write_len(p + ts, len);
    return true;
}

bool fk_tlv_put(fk_rbuf_t *r, uint32_t tag, const void *value, size_t len)
{
    size_t before = r->len;
    if (len > fk_rbuf_room(r)) return false;
    if (!fk_tlv_put_header(r, tag, len) || !fk_rbuf_put(r, value, len)) {
        r->len = before;
        return false;
    }
    return true;
}

bool fk_tlv_put_uint(fk_rbuf_t *r, uint32_t tag, uint32_t value, size_t width)
{
    uint8_t b[4];
    if (width == 0 || width > sizeof(b)) return false;
    for (size_t i = 0; i < width; i++) b[i] = (uint8_t)(value >> (8 * (width - 1 - i)));
    return fk_tlv_put(r, tag, b, width);
}

fk_tlv_mark_t fk_tlv_begin(fk_rbuf_t *r, uint32_t tag)
{
    fk_tlv_mark_t m = {0, false};
    size_t before = r->len;
    if (!fk_tlv_put_header(r, tag, 0)) {
        r->len = before;
        return m;
    }
    m.at = r->len - 1;
    m.ok = true;
    return m;
}

bool fk_tlv_end(fk_rbuf_t *r, fk_tlv_mark_t mark)
{
    if (!mark.ok || mark.at >= r->len) return false;
    size_t content = r->len - (mark.at + 1);
    size_t ls = fk_tlv_len_size(content);
    if (ls > 1) {
        size_t extra = ls - 1;
        if (extra > fk_rbuf_room(r)) return false;
        memmove(r->p + mark.at + 1 + extra, r->p + mark.at + 1, content);
        r->len += extra;
    }
    write_len(r->p + mark.at, content);
    return true;
}
