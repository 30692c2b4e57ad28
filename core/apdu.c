/* SPDX-License-Identifier: Apache-2.0 */
#include "apdu.h"

#include <string.h>

#include "util.h"

#define APDU_HEADER_LEN 4u
#define APDU_SHORT_MAX 256u
#define APDU_EXT_MAX 65536u

fk_sw_t fk_apdu_parse(const uint8_t *buf, size_t len, fk_apdu_t *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    if (buf == NULL || len < APDU_HEADER_LEN) return FK_SW_WRONG_LENGTH;
    cmd->cla = buf[0];
    cmd->ins = buf[1];
    cmd->p1 = buf[2];
    cmd->p2 = buf[3];

    const uint8_t *body = buf + APDU_HEADER_LEN;
    size_t blen = len - APDU_HEADER_LEN;

    if (blen == 0) return FK_SW_OK; /* case 1 */

    if (blen == 1) { /* case 2 short */
        cmd->ne = body[0] ? body[0] : APDU_SHORT_MAX;
        return FK_SW_OK;
    }

    if (body[0] != 0) { /* short Lc */
        size_t lc = body[0];
        if (blen == 1 + lc) { /* case 3 short */
            cmd->data = body + 1;
            cmd->nc = lc;
            return FK_SW_OK;
        }
        if (blen == 2 + lc) { /* case 4 short */
            cmd->data = body + 1;
            cmd->nc = lc;
            cmd->ne = body[1 + lc] ? body[1 + lc] : APDU_SHORT_MAX;
            return FK_SW_OK;
        }
        return FK_SW_WRONG_LENGTH;
    }

    /* body[0] == 0: extended length fields follow. */
    if (blen == 3) { /* case 2 extended */
        size_t le = fk_be16(body + 1);
        cmd->ne = le ? le : APDU_EXT_MAX;
        cmd->extended = true;
        return FK_SW_OK;
    }
    if (blen < 3) return FK_SW_WRONG_LENGTH;

    size_t lc = fk_be16(body + 1);
    if (lc == 0) return FK_SW_WRONG_LENGTH;
    cmd->extended = true;
    if (blen == 3 + lc) { /* case 3 extended */
        cmd->data = body + 3;
        cmd->nc = lc;
        return FK_SW_OK;
    }
    if (blen == 5 + lc) { /* case 4 extended */
        size_t le = fk_be16(body + 3 + lc);
        cmd->data = body + 3;
        cmd->nc = lc;
        cmd->ne = le ? le : APDU_EXT_MAX;
        return FK_SW_OK;
    }
    cmd->extended = false;
    return FK_SW_WRONG_LENGTH;
}

bool fk_rbuf_put(fk_rbuf_t *r, const void *data, size_t n)
{
    if (n > fk_rbuf_room(r)) return false;
    if (n) memmove(r->p + r->len, data, n);
    r->len += n;
    return true;
}

bool fk_rbuf_put_u8(fk_rbuf_t *r, uint8_t v) { return fk_rbuf_put(r, &v, 1); }

uint8_t *fk_rbuf_reserve(fk_rbuf_t *r, size_t n)
{
    if (n > fk_rbuf_room(r)) return NULL;
    uint8_t *p = r->p + r->len;
    r->len += n;
    return p;
}
