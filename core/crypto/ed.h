/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ed.h - EdDSA (RFC 8032): Ed25519 and Ed448, pure (the message itself is
 * signed, no pre-hash, empty context). No backend type appears here.
 *
 * A key is named by the curve id of its Montgomery twin, as the key-object
 * service does (keyobj.h): FK_CURVE_X25519 for Ed25519, FK_CURVE_X448 for
 * Ed448; anything else is FK_CRYPTO_EINVAL. The private key is the RFC 8032
 * seed (32 / 57 bytes), the public key its encoded point (32 / 57 bytes),
 * a signature 64 / 114 bytes.
 *
 * Conventions as in crypto.h: FK_CRYPTO_OK or a negative FK_CRYPTO_E* code;
 * FK_CRYPTO_EAUTH for a signature that does not verify. Intermediate
 * secrets are wiped on every path.
 */
#ifndef FUSEKEY_ED_H
#define FUSEKEY_ED_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/pk.h" /* fk_curve_t */

#define FK_ED25519_KEY_LEN 32u
#define FK_ED448_KEY_LEN 57u
#define FK_ED_KEY_MAX FK_ED448_KEY_LEN
#define FK_ED25519_SIG_LEN 64u
#define FK_ED448_SIG_LEN 114u
#define FK_ED_SIG_MAX FK_ED448_SIG_LEN

/* Key length (seed and public key) of the curve, 0 when it has no EdDSA. */
size_t fk_ed_key_len(fk_curve_t twin);
/* Signature length of the curve, 0 when it has no EdDSA. */
size_t fk_ed_sig_len(fk_curve_t twin);

/* A new key: a random seed from the DRBG (FK_CRYPTO_ERNG when it fails) and
 * its public key. */
int fk_ed_generate(fk_curve_t twin, uint8_t *seed, uint8_t *pub);

/* The public key of a seed. */
int fk_ed_public(fk_curve_t twin, const uint8_t *seed, uint8_t *pub);

/* Sign msg with seed (pub is the seed's public key, as stored beside it).
 * sig gets fk_ed_sig_len(twin) bytes. */
int fk_ed_sign(fk_curve_t twin, const uint8_t *seed, const uint8_t *pub, const uint8_t *msg,
               size_t len, uint8_t *sig);

/* Verify a signature: FK_CRYPTO_OK or FK_CRYPTO_EAUTH (also for a public key
 * that does not decode). */
int fk_ed_verify(fk_curve_t twin, const uint8_t *pub, const uint8_t *msg, size_t len,
                 const uint8_t *sig, size_t sig_len);

#endif /* FUSEKEY_ED_H */
