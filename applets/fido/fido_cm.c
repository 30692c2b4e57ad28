/* SPDX-License-Identifier: Apache-2.0 */
/* fido_cm.c - credentialManagement (placeholder of the branch base: replaced). */
#include "fido_internal.h"

uint8_t fido_cmd_cred_mgmt(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                           fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP1_ERR_INVALID_COMMAND;
}
