/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sym.h - symmetric cryptography for applets: AES in eight modes, AES-CMAC,
 * ChaCha20-Poly1305 with a caller's key (crypto.h has the sealing form),
 * HMAC with the SHA-1/SHA-2 family, and the key derivations HKDF, PBKDF2 and
 * ANSI X9.63. No mbedTLS type appears here (crypto.h's rule).
 *
 * Conventions as in crypto.h: FK_CRYPTO_OK or a negative FK_CRYPTO_E* code;
 * FK_CRYPTO_EINVAL for a bad key length, IV/nonce/tag length, data length or
 * hash; FK_CRYPTO_EAUTH for a tag that does not verify (the output is then
 * wiped: nothing of an unauthenticated plaintext leaves). out may equal in
 * (in place) unless noted; it must not overlap in otherwise. Every function
 * wipes its contexts and intermediate secrets on every path.
 */
#ifndef FUSEKEY_SYM_H
#define FUSEKEY_SYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "crypto/pk.h" /* fk_hash_t */
#include "hal.h"       /* fk_keepalive_fn */

#define FK_AES_BLOCK 16u
#define FK_AES_TAG_MAX 16u
#define FK_CMAC_LEN 16u

typedef enum fk_aes_mode {
    FK_AES_ECB = 1,    /* data a multiple of 16 bytes; no IV */
    FK_AES_CBC = 2,    /* data a multiple of 16 bytes; IV 16 bytes */
    FK_AES_CFB128 = 3, /* any length; IV 16 bytes */
    FK_AES_OFB = 4,    /* any length; IV 16 bytes */
    FK_AES_CTR = 5,    /* any length; IV = the initial 16-byte counter block */
    FK_AES_XTS = 6,    /* data >= 16 bytes (ciphertext stealing); IV = the 16-byte tweak;
                          key = two halves: 32 bytes (XTS-AES-128) or 64 (XTS-AES-256) */
    FK_AES_GCM = 7,    /* AEAD, fk_aes_aead_* only */
    FK_AES_CCM = 8,    /* AEAD, fk_aes_aead_* only */
} fk_aes_mode_t;

/* AES in a non-AEAD mode. key_len 16, 24 or 32 (XTS: 32 or 64). iv may be
 * NULL with iv_len 0 for ECB only. */
int fk_aes_crypt(fk_aes_mode_t mode, bool encrypt, const uint8_t *key, size_t key_len,
                 const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out);

/* AES-GCM (nonce of any length 1..64 bytes is accepted; 12 is the norm; tag
 * 4..16 bytes) or AES-CCM (nonce 7..13 bytes, tag 4..16, even). seal writes
 * len bytes of ciphertext and tag_len bytes of tag; open checks the tag in
 * constant time and writes the plaintext only when it verifies. */
int fk_aes_aead_seal(fk_aes_mode_t mode, const uint8_t *key, size_t key_len,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len);
int fk_aes_aead_open(fk_aes_mode_t mode, const uint8_t *key, size_t key_len,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t len, const uint8_t *tag, size_t tag_len,
                     uint8_t *out);

/* AES-CMAC (NIST SP 800-38B) over msg with a 16/24/32-byte key. */
int fk_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                uint8_t out[FK_CMAC_LEN]);

/* ChaCha20-Poly1305 (RFC 8439) with a 32-byte key and a 12-byte nonce, any
 * AAD; tag 16 bytes. (crypto.h's fk_aead_* are the same cipher, kept for
 * sealing.) */
int fk_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                       uint8_t tag[16]);
int fk_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                       uint8_t *out);

/* HMAC (RFC 2104) with hash h (SHA-1 .. SHA-512); out gets fk_hash_len(h). */
int fk_hmac(fk_hash_t h, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
            uint8_t *out);

/* HKDF (RFC 5869) with hash h: salt may be empty (then a zero block of the
 * hash length); out_len 1 .. 255 * hash length. */
int fk_hkdf(fk_hash_t h, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
            size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/* PBKDF2 (RFC 8018) with HMAC-h as PRF, 1 .. FK_PBKDF2_MAX_ITER iterations.
 * keepalive(arg) (if not NULL) is called at most every FK_PBKDF2_KEEPALIVE
 * iterations, so that a long run keeps its transport alive. */
#define FK_PBKDF2_MAX_ITER 10000000u
#define FK_PBKDF2_KEEPALIVE 1024u
int fk_pbkdf2(fk_hash_t h, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
              size_t salt_len, uint32_t iterations, fk_keepalive_fn keepalive, void *arg,
              uint8_t *out, size_t out_len);

/* ANSI X9.63 KDF (SEC 1 section 3.6.1) with hash h: out = H(Z || counter ||
 * shared_info) for counter = 1, 2, ... (32-bit big-endian). */
int fk_x963_kdf(fk_hash_t h, const uint8_t *z, size_t z_len, const uint8_t *shared_info,
                size_t info_len, uint8_t *out, size_t out_len);

#endif /* FUSEKEY_SYM_H */
