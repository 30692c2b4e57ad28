/* SPDX-License-Identifier: Apache-2.0 */
/* fido_cred.c - credentials (placeholder of the branch base: replaced). */
#include "fido_internal.h"

uint8_t fido_master(const fk_applet_ctx_t *ctx, uint8_t master[32])
{
    (void)ctx;
    (void)master;
    return CTAP1_ERR_OTHER;
}

uint8_t fido_credid_seal(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                         const fido_cred_key_t *key, uint8_t id[FIDO_CRED_ID_LEN])
{
    (void)ctx, (void)rpid_hash, (void)key, (void)id;
    return CTAP1_ERR_OTHER;
}

uint8_t fido_credid_open(const fk_applet_ctx_t *ctx, const uint8_t rpid_hash[32],
                         const uint8_t *id, size_t len, fido_cred_key_t *key)
{
    (void)ctx, (void)rpid_hash, (void)id, (void)len, (void)key;
    return CTAP2_ERR_INVALID_CREDENTIAL;
}

uint8_t fido_counter_next(const fk_applet_ctx_t *ctx, uint32_t *value)
{
    (void)ctx, (void)value;
    return CTAP1_ERR_OTHER;
}

uint8_t fido_cmd_make_credential(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                                 fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP1_ERR_INVALID_COMMAND;
}

uint8_t fido_cmd_get_assertion(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                               fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP1_ERR_INVALID_COMMAND;
}

uint8_t fido_cmd_get_next_assertion(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                                    fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP2_ERR_NOT_ALLOWED;
}

uint8_t fido_rk_count(const fk_applet_ctx_t *ctx, unsigned *used, unsigned *free_slots)
{
    (void)ctx;
    *used = 0;
    *free_slots = FIDO_RK_MAX;
    return CTAP_OK;
}
