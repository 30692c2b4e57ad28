/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_pem.h - read an EC private key file (PEM or DER: SEC1 "EC PRIVATE
 * KEY", PKCS#8 "PRIVATE KEY", or encrypted PKCS#8 / legacy encrypted PEM
 * with a password) into a fusekey key blob (pk.h), e.g. the image-signing
 * key of `fusekey seal --sign KEY.pem`.
 *
 * Host tools only: it lives in its own library (fk_crypto_pem) that the
 * firmware never links. Uses a module-static scratch buffer for PEM text
 * (wiped after every call), so it is not reentrant.
 */
#ifndef FUSEKEY_PK_PEM_H
#define FUSEKEY_PK_PEM_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/pk.h"

/* The file is encrypted and no password was given (ask for one). */
#define FK_PK_PEM_ENEED_PASSWORD (-16)

/* Largest PEM text accepted (a PEM key of any curve is far smaller). */
#define FK_PK_PEM_MAX_LEN 16384u

/* Parse in[0, len) (PEM text with or without a NUL terminator, or DER) as an
 * EC private key on a curve of pk.h, decrypting it with password (pw_len
 * bytes; NULL / 0 for none), and write its blob (fk_pk_ec_import) into
 * blob[0, cap). Returns FK_CRYPTO_OK; FK_PK_PEM_ENEED_PASSWORD;
 * FK_CRYPTO_EAUTH for a wrong password; FK_CRYPTO_EINVAL for anything that
 * is not such a key (RSA, an unsupported curve, malformed input). The
 * private scalar is wiped from every intermediate buffer. */
int fk_pk_pem_load_ec(const uint8_t *in, size_t len, const uint8_t *pw, size_t pw_len,
                      uint8_t *blob, size_t cap, size_t *blob_len);

#endif /* FUSEKEY_PK_PEM_H */
