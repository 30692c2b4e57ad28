/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ec_tweak.h - a new EC private key from an existing one and a public
 * offset: d' = (d + t) mod n, Q' = d' G = Q + t G. The SmartCard-HSM's
 * DERIVE EC KEY (docs/hsm.md) makes keys this way, e.g. for hierarchies
 * whose public keys a host can compute without the private ones.
 *
 * Conventions as in crypto.h and pk.h: FK_CRYPTO_OK or a negative
 * FK_CRYPTO_E* code; on failure the output is wiped.
 */
#ifndef FUSEKEY_EC_TWEAK_H
#define FUSEKEY_EC_TWEAK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/pk.h"

/* The key blob of d' = (d + t) mod n on key's curve into blob[0, cap),
 * *len its length. key is a parsed Weierstrass key (FK_PK_EC); t is a
 * big-endian unsigned integer of 1 to order_len bytes, reduced modulo the
 * group order n first (so t = n, or any multiple, changes nothing).
 * FK_CRYPTO_EINVAL for another key type, an empty or longer t, or a result
 * of zero (t = n - d mod n: no key); FK_CRYPTO_ERNG when the DRBG fails
 * while the public point is computed. */
int fk_pk_ec_tweak(const fk_pk_key_t *key, const uint8_t *t, size_t t_len, uint8_t *blob,
                   size_t cap, size_t *len);

#endif /* FUSEKEY_EC_TWEAK_H */
