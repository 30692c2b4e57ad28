/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_k1.h - secp256k1 on libsecp256k1, for pk.c only (core/crypto/ internal;
 * no library type appears here). Fixed sizes: a private scalar is 32 bytes
 * big-endian in [1, n), a public point 65 bytes (04 || X || Y), a digest 32
 * bytes already truncated or padded as SEC 1 says, r and s 32 bytes each.
 * FK_CRYPTO_* codes as in pk.h; no output is written on failure beyond what
 * is wiped.
 */
#ifndef FUSEKEY_PK_K1_H
#define FUSEKEY_PK_K1_H

#include <stdint.h>

#define FK_K1_SCALAR 32u
#define FK_K1_POINT 65u

/* A random key pair from the DRBG (FK_CRYPTO_ERNG when it fails). */
int fk_k1_generate(uint8_t d[FK_K1_SCALAR], uint8_t q[FK_K1_POINT]);

/* The public point of d; FK_CRYPTO_EINVAL when d is not in [1, n). */
int fk_k1_public(const uint8_t d[FK_K1_SCALAR], uint8_t q[FK_K1_POINT]);

/* ECDSA with a random nonce from the DRBG; (r, s) with s in the lower half. */
int fk_k1_sign(const uint8_t d[FK_K1_SCALAR], const uint8_t h[32], uint8_t r[32], uint8_t s[32]);

/* FK_CRYPTO_EINVAL for a point not on the curve, FK_CRYPTO_EAUTH for a
 * signature that does not verify (either half of the order accepted). */
int fk_k1_verify(const uint8_t q[FK_K1_POINT], const uint8_t h[32], const uint8_t r[32],
                 const uint8_t s[32]);

/* x = the X coordinate of d * peer; FK_CRYPTO_EINVAL for a bad point or scalar. */
int fk_k1_ecdh(const uint8_t d[FK_K1_SCALAR], const uint8_t peer[FK_K1_POINT], uint8_t x[32]);

/* FK_CRYPTO_OK when q is a point of the curve (uncompressed encoding). */
int fk_k1_check_point(const uint8_t q[FK_K1_POINT]);

/* Destroy the warm context (its blinding values); the next call builds a
 * new one. */
void fk_k1_forget(void);

#endif /* FUSEKEY_PK_K1_H */
