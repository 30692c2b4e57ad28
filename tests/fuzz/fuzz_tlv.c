/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the BER-TLV reader on arbitrary bytes, descending into
 * constructed objects, and re-encoding what it read with the writer: the
 * writer's output must parse back to the same tags and values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlv.h"

#define MAX_DEPTH 8

static uint8_t g_out[1 << 17];

static void walk(const uint8_t *buf, size_t len, int depth)
{
    const uint8_t *p = buf, *end = buf + len;
    fk_tlv_t t;
    while (fk_tlv_next(&p, end, &t) == FK_TLV_OK) {
        if (t.value < buf || t.value + t.len > end || t.total > len) abort();
        if (fk_tlv_constructed(t.tag) && depth < MAX_DEPTH) walk(t.value, t.len, depth + 1);

        fk_rbuf_t r = {g_out, 0, sizeof(g_out)};
        if (!fk_tlv_put(&r, t.tag, t.value, t.len)) continue;
        const uint8_t *q = g_out;
        fk_tlv_t back;
        if (fk_tlv_next(&q, g_out + r.len, &back) != FK_TLV_OK) abort();
        if (back.tag != t.tag || back.len != t.len || memcmp(back.value, t.value, t.len) != 0) abort();
        if (q != g_out + r.len) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size, 0);
    return 0;
}
