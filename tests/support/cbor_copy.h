/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers for core/cbor: re-encode a decoded item canonically (map
 * pairs sorted by key), and compare two decoded items by value. */
#ifndef FUSEKEY_TEST_CBOR_COPY_H
#define FUSEKEY_TEST_CBOR_COPY_H

#include <stdbool.h>

#include "cbor.h"

/* Write `it` and everything inside it to w, maps with sorted keys. */
fk_cbor_err_t cbor_copy(fk_cbor_writer_t *w, const fk_cbor_item_t *it);

/* True when a and b hold the same values (maps as sets of pairs). */
bool cbor_same(const fk_cbor_item_t *a, const fk_cbor_item_t *b);

#endif
