/* SPDX-License-Identifier: Apache-2.0 */
#include "applet.h"

fk_sw_t fk_dispatch(const fk_command_t *table, size_t n, const fk_applet_ctx_t *ctx,
                    const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].ins == cmd->ins) return table[i].handler(ctx, cmd, resp);
    }
    return FK_SW_INS_NOT_SUPPORTED;
}
