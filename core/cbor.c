/* SPDX-License-Identifier: Apache-2.0 */
#include "cbor.h"

#include <string.h>

#include "util.h"

#define MT_UINT 0u
#define MT_NINT 1u
#define MT_BYTES 2u
#define MT_TEXT 3u
#define MT_ARRAY 4u
#define MT_MAP 5u
#define MT_TAG 6u
#define MT_SIMPLE 7u

#define AI_1BYTE 24u
#define AI_2BYTES 25u
#define AI_4BYTES 26u
#define AI_8BYTES 27u
#define AI_INDEFINITE 31u

#define SIMPLE_FALSE 20u
#define SIMPLE_TRUE 21u
#define SIMPLE_NULL 22u

/* One item's head: major type, argument, and its size in bytes. */
typedef struct head {
    uint8_t major;
    uint64_t arg;
    size_t len;
    bool shortest;
} head_t;

/* Read the head at p. Everything outside the subset is INVALID: tags,
 * reserved and indefinite additional info, floats, undefined and other
 * simple values. */
static fk_cbor_err_t read_head(const uint8_t *p, const uint8_t *end, head_t *h)
{
    if (p >= end) return FK_CBOR_ERR_INVALID;
    uint8_t ib = p[0];
    uint8_t ai = ib & 0x1Fu;
    h->major = (uint8_t)(ib >> 5);
    if (h->major == MT_TAG) return FK_CBOR_ERR_INVALID;
    if (h->major == MT_SIMPLE) {
        if (ai != SIMPLE_FALSE && ai != SIMPLE_TRUE && ai != SIMPLE_NULL) return FK_CBOR_ERR_INVALID;
        h->arg = ai;
        h->len = 1;
        h->shortest = true;
        return FK_CBOR_OK;
    }
    if (ai < AI_1BYTE) {
        h->arg = ai;
        h->len = 1;
        h->shortest = true;
        return FK_CBOR_OK;
    }
    if (ai > AI_8BYTES) return FK_CBOR_ERR_INVALID; /* 28-30 reserved, 31 indefinite */
    size_t n = (size_t)1 << (ai - AI_1BYTE);
    if ((size_t)(end - p) - 1 < n) return FK_CBOR_ERR_INVALID;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[1 + i];
    h->arg = v;
    h->len = 1 + n;
    switch (ai) {
    case AI_1BYTE: h->shortest = v >= AI_1BYTE; break;
    case AI_2BYTES: h->shortest = v > 0xFFu; break;
    case AI_4BYTES: h->shortest = v > 0xFFFFu; break;
    default: h->shortest = v > 0xFFFFFFFFu; break;
    }
    return FK_CBOR_OK;
}

/* Bytes left from p to end. */
static uint64_t room(const uint8_t *p, const uint8_t *end) { return (uint64_t)(end - p); }

fk_cbor_err_t fk_cbor_skip(const uint8_t **pos, const uint8_t *end)
{
    const uint8_t *p = *pos;
    uint64_t pending = 1; /* items still to step over; each is at least one byte */
    while (pending > 0) {
        head_t h;
        fk_cbor_err_t rc = read_head(p, end, &h);
        if (rc != FK_CBOR_OK) return rc;
        p += h.len;
        pending--;
        switch (h.major) {
        case MT_BYTES:
        case MT_TEXT:
            if (h.arg > room(p, end)) return FK_CBOR_ERR_INVALID;
            p += h.arg;
            break;
        case MT_ARRAY:
            if (h.arg > room(p, end)) return FK_CBOR_ERR_INVALID;
            pending += h.arg;
            break;
        case MT_MAP:
            if (h.arg > room(p, end) / 2) return FK_CBOR_ERR_INVALID;
            pending += 2 * h.arg;
            break;
        default:
            break;
        }
        if (pending > room(p, end)) return FK_CBOR_ERR_INVALID;
    }
    *pos = p;
    return FK_CBOR_OK;
}

/* The item at p (which must end by `end`), without the whole-buffer checks. */
static fk_cbor_err_t item_at(const uint8_t *p, const uint8_t *end, uint8_t depth, fk_cbor_item_t *it)
{
    head_t h;
    fk_cbor_err_t rc = read_head(p, end, &h);
    if (rc != FK_CBOR_OK) return rc;
    const uint8_t *q = p;
    rc = fk_cbor_skip(&q, end);
    if (rc != FK_CBOR_OK) return rc;
    it->head = p;
    it->data = p + h.len;
    it->end = q;
    it->v = h.arg;
    it->depth = depth;
    switch (h.major) {
    case MT_UINT: it->type = FK_CBOR_UINT; break;
    case MT_NINT: it->type = FK_CBOR_NINT; break;
    case MT_BYTES: it->type = FK_CBOR_BYTES; break;
    case MT_TEXT: it->type = FK_CBOR_TEXT; break;
    case MT_ARRAY: it->type = FK_CBOR_ARRAY; break;
    case MT_MAP: it->type = FK_CBOR_MAP; break;
    default:
        if (h.arg == SIMPLE_NULL) {
            it->type = FK_CBOR_NULL;
            it->v = 0;
        } else {
            it->type = FK_CBOR_BOOL;
            it->v = h.arg == SIMPLE_TRUE;
        }
        break;
    }
    return FK_CBOR_OK;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80u) {
            i++;
            continue;
        }
        size_t k;
        uint8_t lo = 0x80u, hi = 0xBFu;
        if (c >= 0xC2u && c <= 0xDFu) {
            k = 1;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            k = 2;
            if (c == 0xE0u) lo = 0xA0u;
            if (c == 0xEDu) hi = 0x9Fu;
        } else if (c >= 0xF0u && c <= 0xF4u) {
            k = 3;
            if (c == 0xF0u) lo = 0x90u;
            if (c == 0xF4u) hi = 0x8Fu;
        } else {
            return false;
        }
        if (n - i - 1 < k) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0u) != 0x80u) return false;
        i += k + 1;
    }
    return true;
}

/* Canonical order of two decoded keys (integers or text): the order of
 * their shortest encodings. */
static int key_order(const fk_cbor_item_t *a, const fk_cbor_item_t *b)
{
    if (a->type != b->type) return a->type < b->type ? -1 : 1;
    if (a->v != b->v) return a->v < b->v ? -1 : 1; /* value, or text length */
    if (a->type == FK_CBOR_TEXT && a->v > 0) return memcmp(a->data, b->data, (size_t)a->v);
    return 0;
}

typedef struct frame {
    uint64_t left;          /* items still to read */
    bool is_map;
    const uint8_t *first;   /* first key of the map */
    fk_cbor_item_t prev;    /* previous key */
    bool have_prev;
} frame_t;

/* True when `key` equals one of the keys of the map whose pairs start at
 * `first` and run up to `stop`. */
static bool key_seen(const uint8_t *first, const uint8_t *stop, const uint8_t *end,
                     const fk_cbor_item_t *key)
{
    const uint8_t *p = first;
    while (p < stop) {
        fk_cbor_item_t k;
        if (item_at(p, end, 0, &k) != FK_CBOR_OK) return true; /* validated before: unreachable */
        if (key_order(&k, key) == 0) return true;
        p = k.end;
        if (fk_cbor_skip(&p, end) != FK_CBOR_OK) return true;
    }
    return false;
}

fk_cbor_err_t fk_cbor_decode(const uint8_t *buf, size_t len, unsigned flags, fk_cbor_item_t *top)
{
    const uint8_t *p = buf, *end = buf + len;
    frame_t st[FK_CBOR_MAX_DEPTH];
    unsigned depth = 0;
    bool canonical = (flags & FK_CBOR_CANONICAL) != 0;

    if (len == 0) return FK_CBOR_ERR_INVALID;
    for (;;) {
        head_t h;
        fk_cbor_err_t rc = read_head(p, end, &h);
        if (rc != FK_CBOR_OK) return rc;
        if (canonical && !h.shortest) return FK_CBOR_ERR_INVALID;

        bool is_key = false;
        if (depth > 0) {
            frame_t *f = &st[depth - 1];
            is_key = f->is_map && (f->left % 2) == 0;
            f->left--;
        }
        const uint8_t *item = p;
        p += h.len;
        switch (h.major) {
        case MT_BYTES:
        case MT_TEXT:
            if (h.arg > room(p, end)) return FK_CBOR_ERR_INVALID;
            if (h.major == MT_TEXT && !utf8_valid(p, (size_t)h.arg)) return FK_CBOR_ERR_INVALID;
            p += h.arg;
            break;
        case MT_ARRAY:
        case MT_MAP: {
            uint64_t items = h.arg;
            if (h.major == MT_MAP) {
                if (h.arg > room(p, end) / 2) return FK_CBOR_ERR_INVALID;
                items = 2 * h.arg;
            } else if (h.arg > room(p, end)) {
                return FK_CBOR_ERR_INVALID;
            }
            if (depth >= FK_CBOR_MAX_DEPTH) return FK_CBOR_ERR_INVALID;
            if (is_key) return FK_CBOR_ERR_UNEXPECTED_TYPE;
            if (h.major == MT_MAP && h.arg > FK_CBOR_MAX_MAP_PAIRS) return FK_CBOR_ERR_LIMIT;
            if (items > 0) {
                frame_t *f = &st[depth++];
                f->left = items;
                f->is_map = h.major == MT_MAP;
                f->first = p;
                f->have_prev = false;
            }
            break;
        }
        default:
            break;
        }

        if (is_key) {
            frame_t *f = &st[depth - 1];
            fk_cbor_item_t k;
            if (h.major != MT_UINT && h.major != MT_NINT && h.major != MT_TEXT)
                return FK_CBOR_ERR_UNEXPECTED_TYPE;
            k.type = (fk_cbor_type_t)h.major;
            k.v = h.arg;
            k.head = item;
            k.data = item + h.len;
            k.end = p;
            k.depth = (uint8_t)depth;
            if (f->have_prev) {
                int c = key_order(&f->prev, &k);
                if (c == 0) return FK_CBOR_ERR_INVALID;
                if (c > 0) {
                    if (canonical) return FK_CBOR_ERR_INVALID;
                    if (key_seen(f->first, item, end, &k)) return FK_CBOR_ERR_INVALID;
                }
            }
            /* Keep the greatest key seen so far: a later key above it is new. */
            if (!f->have_prev || key_order(&f->prev, &k) < 0) f->prev = k;
            f->have_prev = true;
        }

        while (depth > 0 && st[depth - 1].left == 0) depth--;
        if (depth == 0) break;
    }
    if (p != end) return FK_CBOR_ERR_INVALID; /* trailing bytes */
    return item_at(buf, end, 0, top);
}

/* ---- Walking a decoded item ---------------------------------------- */

fk_cbor_err_t fk_cbor_array_iter(const fk_cbor_item_t *array, fk_cbor_iter_t *it)
{
    if (array->type != FK_CBOR_ARRAY) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    it->p = array->data;
    it->end = array->end;
    it->left = array->v;
    it->depth = (uint8_t)(array->depth + 1);
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_map_iter(const fk_cbor_item_t *map, fk_cbor_iter_t *it)
{
    if (map->type != FK_CBOR_MAP) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    it->p = map->data;
    it->end = map->end;
    it->left = map->v;
    it->depth = (uint8_t)(map->depth + 1);
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_array_next(fk_cbor_iter_t *it, fk_cbor_item_t *elem)
{
    if (it->left == 0) return FK_CBOR_ERR_MISSING;
    fk_cbor_err_t rc = item_at(it->p, it->end, it->depth, elem);
    if (rc != FK_CBOR_OK) return rc;
    it->p = elem->end;
    it->left--;
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_map_next(fk_cbor_iter_t *it, fk_cbor_item_t *key, fk_cbor_item_t *value)
{
    if (it->left == 0) return FK_CBOR_ERR_MISSING;
    fk_cbor_err_t rc = item_at(it->p, it->end, it->depth, key);
    if (rc != FK_CBOR_OK) return rc;
    rc = item_at(key->end, it->end, it->depth, value);
    if (rc != FK_CBOR_OK) return rc;
    it->p = value->end;
    it->left--;
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_map_find_int(const fk_cbor_item_t *map, int64_t key, fk_cbor_item_t *value)
{
    fk_cbor_iter_t it;
    fk_cbor_item_t k, v;
    fk_cbor_err_t rc = fk_cbor_map_iter(map, &it);
    if (rc != FK_CBOR_OK) return rc;
    fk_cbor_type_t want = key < 0 ? FK_CBOR_NINT : FK_CBOR_UINT;
    uint64_t arg = key < 0 ? (uint64_t)(-1 - key) : (uint64_t)key;
    while ((rc = fk_cbor_map_next(&it, &k, &v)) == FK_CBOR_OK) {
        if (k.type == want && k.v == arg) {
            *value = v;
            return FK_CBOR_OK;
        }
    }
    return rc;
}

bool fk_cbor_is_text(const fk_cbor_item_t *it, const char *s)
{
    size_t n = strlen(s);
    return it->type == FK_CBOR_TEXT && it->v == n && memcmp(it->data, s, n) == 0;
}

fk_cbor_err_t fk_cbor_map_find_text(const fk_cbor_item_t *map, const char *key, fk_cbor_item_t *value)
{
    fk_cbor_iter_t it;
    fk_cbor_item_t k, v;
    fk_cbor_err_t rc = fk_cbor_map_iter(map, &it);
    if (rc != FK_CBOR_OK) return rc;
    while ((rc = fk_cbor_map_next(&it, &k, &v)) == FK_CBOR_OK) {
        if (fk_cbor_is_text(&k, key)) {
            *value = v;
            return FK_CBOR_OK;
        }
    }
    return rc;
}

fk_cbor_err_t fk_cbor_get_uint(const fk_cbor_item_t *it, uint64_t *out)
{
    if (it->type != FK_CBOR_UINT) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    *out = it->v;
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_get_int(const fk_cbor_item_t *it, int64_t *out)
{
    if (it->type != FK_CBOR_UINT && it->type != FK_CBOR_NINT) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    if (it->v > (uint64_t)INT64_MAX) return FK_CBOR_ERR_LIMIT;
    *out = it->type == FK_CBOR_UINT ? (int64_t)it->v : -1 - (int64_t)it->v;
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_get_bool(const fk_cbor_item_t *it, bool *out)
{
    if (it->type != FK_CBOR_BOOL) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    *out = it->v != 0;
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_get_bytes(const fk_cbor_item_t *it, size_t max_len, const uint8_t **p, size_t *len)
{
    if (it->type != FK_CBOR_BYTES) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    if (it->v > max_len) return FK_CBOR_ERR_LIMIT;
    *p = it->data;
    *len = (size_t)it->v;
    return FK_CBOR_OK;
}

fk_cbor_err_t fk_cbor_get_text(const fk_cbor_item_t *it, size_t max_len, const char **p, size_t *len)
{
    if (it->type != FK_CBOR_TEXT) return FK_CBOR_ERR_UNEXPECTED_TYPE;
    if (it->v > max_len) return FK_CBOR_ERR_LIMIT;
    *p = (const char *)it->data;
    *len = (size_t)it->v;
    return FK_CBOR_OK;
}

int fk_cbor_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (alen == 0 || blen == 0) return alen == blen ? 0 : (alen == 0 ? -1 : 1);
    uint8_t ma = (uint8_t)(a[0] >> 5), mb = (uint8_t)(b[0] >> 5);
    if (ma != mb) return ma < mb ? -1 : 1;
    if (alen != blen) return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

/* ---- Writer --------------------------------------------------------- */

void fk_cbor_writer_init(fk_cbor_writer_t *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
}

static void emit(fk_cbor_writer_t *w, const void *p, size_t n)
{
    if (w->overflow) return;
    if (n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (n > 0) memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* Account for one item in the open container; true when it is a map key. */
static bool begin_item(fk_cbor_writer_t *w)
{
    FK_ASSERT(!w->done);
    if (w->depth == 0) return false;
    fk_cbor_level_t *l = &w->lv[w->depth - 1];
    FK_ASSERT(l->left > 0);
    bool is_key = l->is_map && (l->left % 2) == 0;
    l->left--;
    if (is_key) w->cur_key_at = w->len;
    return is_key;
}

/* Close every container the last item completed. */
static void close_levels(fk_cbor_writer_t *w)
{
    while (w->depth > 0 && w->lv[w->depth - 1].left == 0) w->depth--;
    if (w->depth == 0) w->done = true;
}

/* After a key: it must sort after the previous key of the same map. */
static void end_key(fk_cbor_writer_t *w)
{
    fk_cbor_level_t *l = &w->lv[w->depth - 1];
    if (w->overflow) return;
    size_t at = w->cur_key_at, n = w->len - w->cur_key_at;
    if (l->have_key)
        FK_ASSERT(fk_cbor_key_cmp(w->buf + l->key_at, l->key_len, w->buf + at, n) < 0);
    l->key_at = at;
    l->key_len = n;
    l->have_key = true;
}

static void put_head(fk_cbor_writer_t *w, uint8_t major, uint64_t arg)
{
    uint8_t b[9];
    size_t n;
    uint8_t mt = (uint8_t)(major << 5);
    if (arg < AI_1BYTE) {
        b[0] = (uint8_t)(mt | arg);
        n = 1;
    } else {
        size_t k;
        uint8_t ai;
        if (arg <= 0xFFu) {
            k = 1;
            ai = AI_1BYTE;
        } else if (arg <= 0xFFFFu) {
            k = 2;
            ai = AI_2BYTES;
        } else if (arg <= 0xFFFFFFFFu) {
            k = 4;
            ai = AI_4BYTES;
        } else {
            k = 8;
            ai = AI_8BYTES;
        }
        b[0] = (uint8_t)(mt | ai);
        for (size_t i = 0; i < k; i++) b[1 + i] = (uint8_t)(arg >> (8 * (k - 1 - i)));
        n = 1 + k;
    }
    emit(w, b, n);
}

/* A scalar or string item: head, optional payload, bookkeeping. */
static void put_leaf(fk_cbor_writer_t *w, uint8_t major, uint64_t arg, const void *p, size_t n)
{
    bool is_key = begin_item(w);
    put_head(w, major, arg);
    emit(w, p, n);
    if (is_key) end_key(w);
    close_levels(w);
}

void fk_cbor_put_uint(fk_cbor_writer_t *w, uint64_t v) { put_leaf(w, MT_UINT, v, NULL, 0); }

void fk_cbor_put_nint(fk_cbor_writer_t *w, uint64_t n) { put_leaf(w, MT_NINT, n, NULL, 0); }

void fk_cbor_put_int(fk_cbor_writer_t *w, int64_t v)
{
    if (v >= 0)
        fk_cbor_put_uint(w, (uint64_t)v);
    else
        fk_cbor_put_nint(w, (uint64_t)(-1 - v));
}

void fk_cbor_put_bytes(fk_cbor_writer_t *w, const void *p, size_t len)
{
    put_leaf(w, MT_BYTES, len, p, len);
}

void fk_cbor_put_text(fk_cbor_writer_t *w, const char *p, size_t len)
{
    put_leaf(w, MT_TEXT, len, p, len);
}

void fk_cbor_put_cstr(fk_cbor_writer_t *w, const char *s) { fk_cbor_put_text(w, s, strlen(s)); }

void fk_cbor_put_bool(fk_cbor_writer_t *w, bool v)
{
    bool is_key = begin_item(w);
    FK_ASSERT(!is_key);
    uint8_t b = (uint8_t)((MT_SIMPLE << 5) | (v ? SIMPLE_TRUE : SIMPLE_FALSE));
    emit(w, &b, 1);
    close_levels(w);
}

void fk_cbor_put_null(fk_cbor_writer_t *w)
{
    bool is_key = begin_item(w);
    FK_ASSERT(!is_key);
    uint8_t b = (uint8_t)((MT_SIMPLE << 5) | SIMPLE_NULL);
    emit(w, &b, 1);
    close_levels(w);
}

static void put_container(fk_cbor_writer_t *w, uint8_t major, uint64_t count, uint64_t items)
{
    bool is_key = begin_item(w);
    FK_ASSERT(!is_key);
    put_head(w, major, count);
    if (items == 0) {
        close_levels(w);
        return;
    }
    FK_ASSERT(w->depth < FK_CBOR_MAX_DEPTH);
    fk_cbor_level_t *l = &w->lv[w->depth++];
    memset(l, 0, sizeof(*l));
    l->left = items;
    l->is_map = major == MT_MAP;
}

void fk_cbor_put_array(fk_cbor_writer_t *w, uint64_t count) { put_container(w, MT_ARRAY, count, count); }

void fk_cbor_put_map(fk_cbor_writer_t *w, uint64_t pairs)
{
    FK_ASSERT(pairs <= UINT64_MAX / 2);
    put_container(w, MT_MAP, pairs, 2 * pairs);
}

fk_cbor_err_t fk_cbor_writer_finish(fk_cbor_writer_t *w, size_t *len)
{
    FK_ASSERT(w->depth == 0);
    if (w->overflow) return FK_CBOR_ERR_LIMIT;
    *len = w->len;
    return FK_CBOR_OK;
}
