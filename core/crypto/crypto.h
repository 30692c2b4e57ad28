/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.h - the only door to mbedTLS. Nothing outside core/crypto/ includes
 * an mbedTLS header; everything cryptographic goes through these functions.
 *
 * Conventions: functions return FK_CRYPTO_OK (0) or a negative FK_CRYPTO_E*
 * code. Output buffers may alias input buffers where noted. Every function
 * wipes its intermediate secrets before returning, on every path.
 */
#ifndef FUSEKEY_CRYPTO_H
#define FUSEKEY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FK_CRYPTO_OK = 0,
    FK_CRYPTO_ERNG = -1,    /* the entropy source failed: nothing was produced */
    FK_CRYPTO_EAUTH = -2,   /* authentication tag / signature mismatch */
    FK_CRYPTO_EINVAL = -3,  /* bad argument or length */
    FK_CRYPTO_EFAIL = -4,   /* the library failed for another reason */
};

#define FK_SHA256_LEN 32u
#define FK_AEAD_KEY_LEN 32u
#define FK_AEAD_NONCE_LEN 12u
#define FK_AEAD_TAG_LEN 16u

/* ---- Random bits ---------------------------------------------------------
 * A deterministic random bit generator (HMAC-DRBG with SHA-256) seeded from
 * fk_hal_random() and the chip serial as personalization, reseeded from
 * fk_hal_random() at the library's reseed interval. The first call seeds it.
 * FK_CRYPTO_ERNG when the HAL's entropy source fails (out is then zeroed). */
int fk_rng_bytes(void *out, size_t len);

/* Forget the DRBG state (wiped); the next fk_rng_bytes() seeds anew. */
void fk_rng_forget(void);

/* ---- Hashes and MACs ---------------------------------------------------- */
void fk_sha256(const void *data, size_t len, uint8_t out[FK_SHA256_LEN]);

/* Streaming SHA-256 without exposing mbedTLS types: the context is an opaque,
 * suitably aligned block big enough for the library's context. */
typedef struct fk_sha256_ctx {
    _Alignas(8) uint8_t opaque[128];
} fk_sha256_ctx_t;
void fk_sha256_start(fk_sha256_ctx_t *ctx);
void fk_sha256_update(fk_sha256_ctx_t *ctx, const void *data, size_t len);
void fk_sha256_finish(fk_sha256_ctx_t *ctx, uint8_t out[FK_SHA256_LEN]); /* wipes ctx */

void fk_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[FK_SHA256_LEN]);

/* HKDF-SHA256 (RFC 5869), extract and expand; out_len <= 255*32. */
int fk_hkdf_sha256(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len,
                   const void *info, size_t info_len, void *out, size_t out_len);

/* HKDF-Expand alone (RFC 5869 section 2.3) from a pseudorandom key of at
 * least 32 bytes (e.g. a root key): derives per-purpose subkeys. */
int fk_hkdf_sha256_expand(const void *prk, size_t prk_len, const void *info, size_t info_len,
                          void *out, size_t out_len);

/* PBKDF2-HMAC-SHA256 (RFC 8018). */
int fk_pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
                     uint32_t iterations, void *out, size_t out_len);

/* ---- AEAD: ChaCha20-Poly1305 (RFC 8439) ----------------------------------
 * seal: ct (len bytes, may equal pt) and tag from pt.
 * open: pt (may equal ct) from ct if the tag verifies (constant time);
 *       else FK_CRYPTO_EAUTH and pt is zeroed (in place, the ct is lost). */
int fk_aead_seal(const uint8_t key[FK_AEAD_KEY_LEN], const uint8_t nonce[FK_AEAD_NONCE_LEN],
                 const void *aad, size_t aad_len, const void *pt, size_t len, void *ct,
                 uint8_t tag[FK_AEAD_TAG_LEN]);
int fk_aead_open(const uint8_t key[FK_AEAD_KEY_LEN], const uint8_t nonce[FK_AEAD_NONCE_LEN],
                 const void *aad, size_t aad_len, const void *ct, size_t len,
                 const uint8_t tag[FK_AEAD_TAG_LEN], void *pt);

#endif /* FUSEKEY_CRYPTO_H */
