/* SPDX-License-Identifier: Apache-2.0 */
/* hsm_pin.c - placeholder until the PIN module lands: nothing initialized. */
#include "hsm_internal.h"

const fk_command_t hsm_pin_commands[1] = {{0, NULL}};
const size_t hsm_pin_commands_len = 0;

bool hsm_initialized(const fk_applet_ctx_t *ctx)
{
    (void)ctx;
    return false;
}

uint16_t hsm_options(const fk_applet_ctx_t *ctx)
{
    (void)ctx;
    return 0;
}

fk_sw_t hsm_key_write(const fk_applet_ctx_t *ctx, uint8_t key_id, const uint8_t *blob, size_t len)
{
    (void)ctx, (void)key_id, (void)blob, (void)len;
    return FK_SW_SECURITY_NOT_SATISFIED;
}

fk_sw_t hsm_key_read(const fk_applet_ctx_t *ctx, uint8_t key_id, uint8_t *blob, size_t cap,
                     size_t *len)
{
    (void)ctx, (void)key_id, (void)blob, (void)cap, (void)len;
    return FK_SW_SECURITY_NOT_SATISFIED;
}
