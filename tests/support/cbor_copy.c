/* SPDX-License-Identifier: Apache-2.0 */
#include "cbor_copy.h"

#include <stdlib.h>
#include <string.h>

typedef struct pair {
    fk_cbor_item_t k, v;
} pair_t;

/* The order the writer demands: integers before text (major type), then
 * the shorter encoding (smaller value or length), then byte-wise; for the
 * shortest encodings of integers and text that is this order. */
static int key_cmp(const fk_cbor_item_t *x, const fk_cbor_item_t *y)
{
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    if (x->type == FK_CBOR_TEXT && x->v > 0) return memcmp(x->data, y->data, (size_t)x->v);
    return 0;
}

static int pair_cmp(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    return key_cmp(&x->k, &y->k);
}

fk_cbor_err_t cbor_copy(fk_cbor_writer_t *w, const fk_cbor_item_t *it)
{
    fk_cbor_iter_t iter;
    fk_cbor_err_t rc;
    switch (it->type) {
    case FK_CBOR_UINT: fk_cbor_put_uint(w, it->v); return FK_CBOR_OK;
    case FK_CBOR_NINT: fk_cbor_put_nint(w, it->v); return FK_CBOR_OK;
    case FK_CBOR_BYTES: fk_cbor_put_bytes(w, it->data, (size_t)it->v); return FK_CBOR_OK;
    case FK_CBOR_TEXT: fk_cbor_put_text(w, (const char *)it->data, (size_t)it->v); return FK_CBOR_OK;
    case FK_CBOR_BOOL: fk_cbor_put_bool(w, it->v != 0); return FK_CBOR_OK;
    case FK_CBOR_NULL: fk_cbor_put_null(w); return FK_CBOR_OK;
    case FK_CBOR_ARRAY: {
        fk_cbor_item_t e;
        fk_cbor_put_array(w, it->v);
        if ((rc = fk_cbor_array_iter(it, &iter)) != FK_CBOR_OK) return rc;
        while ((rc = fk_cbor_array_next(&iter, &e)) == FK_CBOR_OK)
            if ((rc = cbor_copy(w, &e)) != FK_CBOR_OK) return rc;
        return rc == FK_CBOR_ERR_MISSING ? FK_CBOR_OK : rc;
    }
    case FK_CBOR_MAP: {
        pair_t pairs[FK_CBOR_MAX_MAP_PAIRS];
        size_t n = 0;
        if (it->v > FK_CBOR_MAX_MAP_PAIRS) return FK_CBOR_ERR_LIMIT;
        if ((rc = fk_cbor_map_iter(it, &iter)) != FK_CBOR_OK) return rc;
        while ((rc = fk_cbor_map_next(&iter, &pairs[n].k, &pairs[n].v)) == FK_CBOR_OK) n++;
        if (rc != FK_CBOR_ERR_MISSING) return rc;
        qsort(pairs, n, sizeof(pairs[0]), pair_cmp);
        fk_cbor_put_map(w, n);
        for (size_t i = 0; i < n; i++) {
            if ((rc = cbor_copy(w, &pairs[i].k)) != FK_CBOR_OK) return rc;
            if ((rc = cbor_copy(w, &pairs[i].v)) != FK_CBOR_OK) return rc;
        }
        return FK_CBOR_OK;
    }
    }
    return FK_CBOR_ERR_INVALID;
}

bool cbor_same(const fk_cbor_item_t *a, const fk_cbor_item_t *b)
{
    if (a->type != b->type || a->v != b->v) return false;
    fk_cbor_iter_t ia, ib;
    fk_cbor_item_t ea, eb, ka, va, vb;
    switch (a->type) {
    case FK_CBOR_BYTES:
    case FK_CBOR_TEXT: return a->v == 0 || memcmp(a->data, b->data, (size_t)a->v) == 0;
    case FK_CBOR_ARRAY:
        if (fk_cbor_array_iter(a, &ia) != FK_CBOR_OK || fk_cbor_array_iter(b, &ib) != FK_CBOR_OK) return false;
        while (fk_cbor_array_next(&ia, &ea) == FK_CBOR_OK) {
            if (fk_cbor_array_next(&ib, &eb) != FK_CBOR_OK || !cbor_same(&ea, &eb)) return false;
        }
        return true;
    case FK_CBOR_MAP:
        if (fk_cbor_map_iter(a, &ia) != FK_CBOR_OK) return false;
        while (fk_cbor_map_next(&ia, &ka, &va) == FK_CBOR_OK) {
            fk_cbor_item_t kb;
            bool found = false;
            if (fk_cbor_map_iter(b, &ib) != FK_CBOR_OK) return false;
            while (!found && fk_cbor_map_next(&ib, &kb, &vb) == FK_CBOR_OK)
                found = key_cmp(&ka, &kb) == 0;
            if (!found || !cbor_same(&va, &vb)) return false;
        }
        return true;
    default: return true;
    }
}
