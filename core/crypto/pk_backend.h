/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_backend.h - what the crypto module's own files share about mbedTLS.
 * Included only inside core/crypto/ (it names mbedTLS types).
 */
#ifndef FUSEKEY_PK_BACKEND_H
#define FUSEKEY_PK_BACKEND_H

#include <mbedtls/ecp.h>
#include <mbedtls/md.h>

#include "crypto/pk.h"

/* The curve of an mbedTLS group (Weierstrass or Montgomery), FK_CURVE_NONE
 * for a group fusekey does not know. */
fk_curve_t fk_pk_curve_of_group(mbedtls_ecp_group_id g);

/* PBES2 with PBKDF2 and AES-CBC, once its parameters are read (host key
 * files: pk_pem.c, hsm_host.c; defined in pk_pem.c): key = PBKDF2-HMAC-md(pw,
 * salt, iterations) of key_len bytes (16, 24, 32), out = AES-CBC decryption
 * of in (len a nonzero multiple of 16, iv 16 bytes) without its PKCS#7
 * padding (*out_len). FK_CRYPTO_EAUTH when the padding does not decode (a
 * wrong password), FK_CRYPTO_EFAIL when the library fails; out[0, len) is
 * wiped on failure. */
int fk_pbes2_aes_cbc_decrypt(mbedtls_md_type_t md, const uint8_t *pw, size_t pw_len,
                             const uint8_t *salt, size_t salt_len, unsigned iterations,
                             size_t key_len, const uint8_t *iv, const uint8_t *in, size_t len,
                             uint8_t *out, size_t *out_len);

#endif /* FUSEKEY_PK_BACKEND_H */
