/* SPDX-License-Identifier: Apache-2.0 */
/* hsm_files.c - placeholder until the file module lands: no files. */
#include "hsm_internal.h"

static fk_sw_t cmd_select_file(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    (void)ctx;
    (void)resp;
    if (cmd->p1 != FK_SELECT_P1_FID && cmd->p1 != FK_SELECT_P1_PATH) return FK_SW_INCORRECT_P1P2;
    return FK_SW_FILE_NOT_FOUND;
}

const fk_command_t hsm_file_commands[] = {{FK_INS_SELECT, cmd_select_file}};
const size_t hsm_file_commands_len = 1;

fk_sw_t hsm_file_put(const fk_applet_ctx_t *ctx, uint16_t fid, const uint8_t *data, size_t len)
{
    (void)ctx, (void)fid, (void)data, (void)len;
    return FK_SW_MEMORY_FAILURE;
}
