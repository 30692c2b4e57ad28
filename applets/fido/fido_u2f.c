/* SPDX-License-Identifier: Apache-2.0 */
/* fido_u2f.c - U2F (placeholder of the branch base: replaced). */
#include "fido_internal.h"

fk_sw_t fido_u2f(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)ctx, (void)cmd, (void)resp;
    return FK_SW_INS_NOT_SUPPORTED;
}
