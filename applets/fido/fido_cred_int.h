/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_cred_int.h - what fido_cred.c gives fido_assert.c and fido_cm.c
 * and fido_u2f.c beyond fido_internal.h: new credential keys, points,
 * signatures, CredRandom.
 */
#ifndef FUSEKEY_FIDO_CRED_INT_H
#define FUSEKEY_FIDO_CRED_INT_H

#include "fido_internal.h"

/* The largest signature of a credential (a DER ECDSA P-256 signature is at
 * most 72 bytes, Ed25519's 64). */
#define FIDO_SIG_MAX 80u

/* A fresh secret for key->alg into key->secret. */
uint8_t fido_cred_new_key(fido_cred_key_t *key);

/* The public point 04 || x || y of an ES256 credential key. */
uint8_t fido_cred_point(const fido_cred_key_t *key, uint8_t pub[65]);

/* Sign msg with a credential key: DER ECDSA over SHA-256(msg) (ES256) or
 * Ed25519 over msg (EdDSA). */
uint8_t fido_cred_sign(const fido_cred_key_t *key, const uint8_t *msg, size_t len,
                       uint8_t sig[FIDO_SIG_MAX], size_t *sig_len);

/* hmac-secret's CredRandom of a credential, one with and one without UV. */
uint8_t fido_cred_random(const fk_applet_ctx_t *ctx, const uint8_t cred_id[FIDO_CRED_ID_LEN],
                         bool uv, uint8_t out[32]);

#endif /* FUSEKEY_FIDO_CRED_INT_H */
