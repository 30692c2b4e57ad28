/* SPDX-License-Identifier: Apache-2.0 */
/* fido_config.c - config and large blobs (placeholder of the branch base: replaced). */
#include <string.h>

#include "fido_internal.h"

uint8_t fido_config_load(const fk_applet_ctx_t *ctx, fido_config_t *cfg)
{
    (void)ctx;
    memset(cfg, 0, sizeof *cfg);
    cfg->min_pin_len = FIDO_MIN_PIN_DEFAULT;
    return CTAP_OK;
}

uint8_t fido_config_save(const fk_applet_ctx_t *ctx, const fido_config_t *cfg)
{
    (void)ctx, (void)cfg;
    return CTAP1_ERR_OTHER;
}

uint8_t fido_cmd_config(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP1_ERR_INVALID_COMMAND;
}

uint8_t fido_cmd_large_blobs(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                             fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP1_ERR_INVALID_COMMAND;
}
