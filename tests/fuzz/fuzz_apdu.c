/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the APDU parser on arbitrary bytes. Checks the parser's
 * promises: data lies inside the input, lengths are within the limits, and
 * a parsed APDU re-encodes to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"

static size_t encode(const fk_apdu_t *c, uint8_t *out)
{
    size_t n = 0;
    out[n++] = c->cla;
    out[n++] = c->ins;
    out[n++] = c->p1;
    out[n++] = c->p2;
    if (!c->extended) {
        if (c->nc) {
            out[n++] = (uint8_t)c->nc;
            memcpy(out + n, c->data, c->nc);
            n += c->nc;
        }
        if (c->ne) out[n++] = (uint8_t)(c->ne == 256 ? 0 : c->ne);
        return n;
    }
    out[n++] = 0;
    if (c->nc) {
        out[n++] = (uint8_t)(c->nc >> 8);
        out[n++] = (uint8_t)c->nc;
        memcpy(out + n, c->data, c->nc);
        n += c->nc;
    }
    if (c->ne) {
        size_t le = c->ne == 65536 ? 0 : c->ne;
        out[n++] = (uint8_t)(le >> 8);
        out[n++] = (uint8_t)le;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fk_apdu_t cmd;
    if (fk_apdu_parse(data, size, &cmd) != FK_SW_OK) return 0;
    if (cmd.nc > 65535 || cmd.ne > 65536) abort();
    if (cmd.nc && (cmd.data < data || cmd.data + cmd.nc > data + size)) abort();
    if (!cmd.extended && (cmd.nc > 255 || cmd.ne > 256)) abort();
    static uint8_t out[4 + 3 + 65535 + 2];
    size_t n = encode(&cmd, out);
    if (n != size || memcmp(out, data, size) != 0) abort();
    return 0;
}
