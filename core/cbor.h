/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cbor.h - the CBOR subset CTAP2 uses (docs/cbor.md): unsigned and negative
 * integers, byte and text strings, arrays, maps, true/false/null, all with
 * definite lengths, nesting depth at most 4.
 *
 * Decoding: fk_cbor_decode() checks a whole buffer once (well-formed, inside
 * the subset, UTF-8, depth, no duplicate map keys, nothing after the top
 * item) and returns its top item; items point into the caller's buffer and
 * are walked with the iterators and typed getters below. Nothing is copied
 * or allocated; every step re-checks its bounds against the item's end.
 *
 * Encoding: a writer into a caller's buffer, always canonical (shortest
 * heads; map keys must be added in CTAP2 canonical order, checked with
 * FK_ASSERT). Output overflow is sticky: nothing is written past the
 * buffer and fk_cbor_writer_finish() reports it once.
 *
 * Errors are the CTAP2 status bytes themselves.
 */
#ifndef FUSEKEY_CBOR_H
#define FUSEKEY_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fk_cbor_err {
    FK_CBOR_OK = 0x00,
    FK_CBOR_ERR_UNEXPECTED_TYPE = 0x11, /* CTAP2_ERR_CBOR_UNEXPECTED_TYPE */
    FK_CBOR_ERR_INVALID = 0x12,         /* CTAP2_ERR_INVALID_CBOR */
    FK_CBOR_ERR_MISSING = 0x14,         /* CTAP2_ERR_MISSING_PARAMETER */
    FK_CBOR_ERR_LIMIT = 0x15,           /* CTAP2_ERR_LIMIT_EXCEEDED */
} fk_cbor_err_t;

#define FK_CBOR_MAX_DEPTH 4u        /* containers nested at most this deep */
#define FK_CBOR_MAX_MAP_PAIRS 128u  /* pairs in one map (bounds the duplicate check) */

/* Decoder flags. Requests are decoded with 0: any key order and
 * non-shortest heads are accepted (CTAP 2.1 requires clients to encode
 * canonically but fido.md names no authenticator check; duplicate keys are
 * always rejected). FK_CBOR_CANONICAL also rejects non-shortest heads and
 * keys out of canonical order, as a client checks a response. */
#define FK_CBOR_CANONICAL 0x01u

typedef enum fk_cbor_type {
    FK_CBOR_UINT = 0,
    FK_CBOR_NINT = 1,   /* value -1 - v */
    FK_CBOR_BYTES = 2,
    FK_CBOR_TEXT = 3,
    FK_CBOR_ARRAY = 4,
    FK_CBOR_MAP = 5,
    FK_CBOR_BOOL = 6,
    FK_CBOR_NULL = 7,
} fk_cbor_type_t;

/* One decoded item. */
typedef struct fk_cbor_item {
    fk_cbor_type_t type;
    uint64_t v;            /* integer argument, string length, element/pair count, bool 0/1 */
    const uint8_t *head;   /* first byte of the item */
    const uint8_t *data;   /* string bytes, or first element of a container */
    const uint8_t *end;    /* one past the whole item */
    uint8_t depth;         /* containers around it (0 for the top item) */
} fk_cbor_item_t;

/* Check buf[0, len) as one item of the subset with nothing after it and
 * return it in *top. FK_CBOR_ERR_INVALID for anything malformed or outside
 * the subset (indefinite lengths, tags, floats, undefined, reserved values,
 * bad UTF-8, depth over 4, duplicate keys, trailing bytes); map keys that
 * are neither integers nor text -> FK_CBOR_ERR_UNEXPECTED_TYPE; a map over
 * FK_CBOR_MAX_MAP_PAIRS -> FK_CBOR_ERR_LIMIT. */
fk_cbor_err_t fk_cbor_decode(const uint8_t *buf, size_t len, unsigned flags, fk_cbor_item_t *top);

/* Step *pos (inside [*pos, end)) past one complete item without checking
 * more than its structure: the primitive for unknown keys. */
fk_cbor_err_t fk_cbor_skip(const uint8_t **pos, const uint8_t *end);

/* Iteration over an array's elements or a map's pairs. */
typedef struct fk_cbor_iter {
    const uint8_t *p, *end;
    uint64_t left;
    uint8_t depth;
} fk_cbor_iter_t;

fk_cbor_err_t fk_cbor_array_iter(const fk_cbor_item_t *array, fk_cbor_iter_t *it);
fk_cbor_err_t fk_cbor_map_iter(const fk_cbor_item_t *map, fk_cbor_iter_t *it);
/* FK_CBOR_OK with the next element / pair, FK_CBOR_ERR_MISSING at the end. */
fk_cbor_err_t fk_cbor_array_next(fk_cbor_iter_t *it, fk_cbor_item_t *elem);
fk_cbor_err_t fk_cbor_map_next(fk_cbor_iter_t *it, fk_cbor_item_t *key, fk_cbor_item_t *value);

/* The value of an integer or text key in a map; FK_CBOR_ERR_MISSING when absent. */
fk_cbor_err_t fk_cbor_map_find_int(const fk_cbor_item_t *map, int64_t key, fk_cbor_item_t *value);
fk_cbor_err_t fk_cbor_map_find_text(const fk_cbor_item_t *map, const char *key, fk_cbor_item_t *value);

/* Typed getters: FK_CBOR_ERR_UNEXPECTED_TYPE on another type; the int
 * getters FK_CBOR_ERR_LIMIT for a value outside the C type. */
fk_cbor_err_t fk_cbor_get_uint(const fk_cbor_item_t *it, uint64_t *out);
fk_cbor_err_t fk_cbor_get_int(const fk_cbor_item_t *it, int64_t *out);
fk_cbor_err_t fk_cbor_get_bool(const fk_cbor_item_t *it, bool *out);
/* Strings: a pointer into the buffer and the length; FK_CBOR_ERR_LIMIT over max_len. */
fk_cbor_err_t fk_cbor_get_bytes(const fk_cbor_item_t *it, size_t max_len, const uint8_t **p, size_t *len);
fk_cbor_err_t fk_cbor_get_text(const fk_cbor_item_t *it, size_t max_len, const char **p, size_t *len);
bool fk_cbor_is_text(const fk_cbor_item_t *it, const char *s);

/* CTAP2 canonical order of two encoded keys: lower major type first, then
 * the shorter encoding, then byte-wise. <0, 0, >0. */
int fk_cbor_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ---- Writer --------------------------------------------------------- */
typedef struct fk_cbor_level {
    uint64_t left;       /* items still to write in this container */
    size_t key_at, key_len; /* last key written (maps) */
    bool is_map, have_key;
} fk_cbor_level_t;

typedef struct fk_cbor_writer {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;                 /* sticky */
    bool done;                     /* the one top-level item is complete */
    unsigned depth;                /* open containers */
    size_t cur_key_at;             /* start of the key being written */
    fk_cbor_level_t lv[FK_CBOR_MAX_DEPTH];
} fk_cbor_writer_t;

void fk_cbor_writer_init(fk_cbor_writer_t *w, uint8_t *buf, size_t cap);
void fk_cbor_put_uint(fk_cbor_writer_t *w, uint64_t v);
void fk_cbor_put_int(fk_cbor_writer_t *w, int64_t v);
/* A negative integer -1 - n (covers down to -2^64). */
void fk_cbor_put_nint(fk_cbor_writer_t *w, uint64_t n);
void fk_cbor_put_bytes(fk_cbor_writer_t *w, const void *p, size_t len);
void fk_cbor_put_text(fk_cbor_writer_t *w, const char *p, size_t len);
void fk_cbor_put_cstr(fk_cbor_writer_t *w, const char *s);
void fk_cbor_put_bool(fk_cbor_writer_t *w, bool v);
void fk_cbor_put_null(fk_cbor_writer_t *w);
/* Containers of a known count; the next `count` items (pairs: 2*count,
 * key then value, keys in canonical order) are theirs. */
void fk_cbor_put_array(fk_cbor_writer_t *w, uint64_t count);
void fk_cbor_put_map(fk_cbor_writer_t *w, uint64_t pairs);
/* FK_CBOR_OK and the encoded length, or FK_CBOR_ERR_LIMIT if the buffer
 * was too small. Asserts that every container is complete. */
fk_cbor_err_t fk_cbor_writer_finish(fk_cbor_writer_t *w, size_t *len);

#endif /* FUSEKEY_CBOR_H */
