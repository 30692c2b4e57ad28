/* SPDX-License-Identifier: Apache-2.0 */
#include "applet.h"

#include "services/services.h"

fk_sw_t fk_dispatch(const fk_command_t *table, size_t n, const fk_applet_ctx_t *ctx,
                    const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].ins == cmd->ins) return table[i].handler(ctx, cmd, resp);
    }
    return FK_SW_INS_NOT_SUPPORTED;
}

fk_sw_t fk_applet_presence(const fk_applet_ctx_t *ctx)
{
    const int rc = fk_services_presence(ctx->svc, ctx->keepalive, ctx->keepalive_arg);
    if (rc == FK_HAL_OK) return FK_SW_OK;
    if (rc == FK_HAL_ETIMEOUT) return FK_SW_PRESENCE_TIMEOUT;
    return FK_SW_CONDITIONS_NOT_SATISFIED;
}
