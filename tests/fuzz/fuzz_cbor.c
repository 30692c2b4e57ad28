/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the CBOR decoder (core/cbor.c) on arbitrary bytes, in
 * request (lenient) and response (canonical) mode. What decodes is written
 * again canonically; that must decode in canonical mode to the same values,
 * and a canonical input must come back byte for byte. libFuzzer hands over
 * exactly `size` bytes, so ASan sees any read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cbor.h"
#include "cbor_copy.h"

/* A writer invariant broken while re-encoding is a finding. */
void fk_hal_panic(const char *file, int line)
{
    (void)file;
    (void)line;
    abort();
}

static uint8_t g_out[1 << 17];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_cbor_item_t top, back;
    fk_cbor_err_t lenient = fk_cbor_decode(data, size, 0, &top);
    fk_cbor_err_t strict = fk_cbor_decode(data, size, FK_CBOR_CANONICAL, &back);
    if (strict == FK_CBOR_OK && lenient != FK_CBOR_OK) abort();
    if (lenient != FK_CBOR_OK) {
        if (lenient != FK_CBOR_ERR_INVALID && lenient != FK_CBOR_ERR_UNEXPECTED_TYPE &&
            lenient != FK_CBOR_ERR_LIMIT)
            abort();
        return 0;
    }
    if (top.head != data || top.end != data + size) abort();

    fk_cbor_writer_t w;
    size_t n;
    fk_cbor_writer_init(&w, g_out, sizeof(g_out));
    if (cbor_copy(&w, &top) != FK_CBOR_OK) abort();
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) abort(); /* never longer than the input */
    if (n > size) abort();
    if (fk_cbor_decode(g_out, n, FK_CBOR_CANONICAL, &back) != FK_CBOR_OK) abort();
    if (!cbor_same(&top, &back) || !cbor_same(&back, &top)) abort();
    if (strict == FK_CBOR_OK && (n != size || memcmp(g_out, data, size) != 0)) abort();
    return 0;
}
