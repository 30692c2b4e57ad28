/* SPDX-License-Identifier: Apache-2.0 */
/* fido_pin.c - clientPIN (placeholder of the branch base: replaced). */
#include "fido_internal.h"

const fk_pin_ref_t fido_pin_ref = {
    .id = FIDO_ID_PIN,
    .min_len = FIDO_PIN_HASH_LEN,
    .max_len = FIDO_PIN_HASH_LEN,
    .charset = FK_PIN_BYTES,
    .session_bit = 0,
};

bool fido_pin_is_set(const fk_applet_ctx_t *ctx)
{
    (void)ctx;
    return false;
}

uint8_t fido_token_verify(const fk_applet_ctx_t *ctx, uint64_t proto, const uint8_t *param,
                          size_t param_len, const uint8_t *msg, size_t msg_len)
{
    (void)ctx, (void)proto, (void)param, (void)param_len, (void)msg, (void)msg_len;
    return CTAP2_ERR_PIN_AUTH_INVALID;
}

uint8_t fido_token_permit(const fk_applet_ctx_t *ctx, uint8_t perm, const uint8_t *rpid_hash)
{
    (void)ctx, (void)perm, (void)rpid_hash;
    return CTAP2_ERR_PIN_AUTH_INVALID;
}

bool fido_token_user_present(const fk_applet_ctx_t *ctx)
{
    (void)ctx;
    return false;
}

void fido_token_clear_user_present(const fk_applet_ctx_t *ctx) { (void)ctx; }

uint8_t fido_pin_shared_secret(const fk_applet_ctx_t *ctx, uint64_t proto,
                               const fk_cbor_item_t *cose_key, uint8_t shared[FIDO_SHARED_MAX],
                               size_t *len)
{
    (void)ctx, (void)proto, (void)cose_key, (void)shared, (void)len;
    return CTAP1_ERR_OTHER;
}

uint8_t fido_pin_encrypt(uint64_t proto, const uint8_t *shared, const uint8_t *in, size_t len,
                         uint8_t *out, size_t *out_len)
{
    (void)proto, (void)shared, (void)in, (void)len, (void)out, (void)out_len;
    return CTAP1_ERR_OTHER;
}

uint8_t fido_pin_decrypt(uint64_t proto, const uint8_t *shared, const uint8_t *in, size_t len,
                         uint8_t *out, size_t *out_len)
{
    (void)proto, (void)shared, (void)in, (void)len, (void)out, (void)out_len;
    return CTAP1_ERR_OTHER;
}

bool fido_pin_verify(uint64_t proto, const uint8_t *key, size_t key_len, const uint8_t *msg,
                     size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    (void)proto, (void)key, (void)key_len, (void)msg, (void)msg_len, (void)sig, (void)sig_len;
    return false;
}

uint8_t fido_cmd_client_pin(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                            fk_cbor_writer_t *w)
{
    (void)ctx, (void)req, (void)w;
    return CTAP1_ERR_INVALID_COMMAND;
}
