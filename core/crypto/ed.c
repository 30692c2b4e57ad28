/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ed.c - EdDSA (RFC 8032, pure Ed25519 and Ed448) on top of libdecaf 1.0.
 *
 * Why libdecaf and not mbedTLS: mbedTLS 2.28 has X25519 and X448 (ECDH on
 * the Montgomery curves) but no Edwards arithmetic and no EdDSA at all.
 * libdecaf implements both Edwards curves with constant-time field and
 * scalar arithmetic, in portable C, and Debian packages it. (The firmware
 * build must cross-compile it as it does mbedTLS; not done yet.)
 *
 * IMPLEMENTATION NOTE: memory and secrets. libdecaf works on the stack and
 * references no allocator. A seed is expanded into a scheduled key pair
 * (decaf_ed*_derive_keypair) for one signature and destroyed after
 * (decaf_ed*_keypair_destroy zeroizes it); we use the key-pair API because
 * the older two-key signing call aborts the process when the public key
 * does not match. The derived public key is compared with the stored one
 * first (fk_ct_equal): a record whose halves disagree is refused rather than
 * signed with.
 *
 * IMPLEMENTATION NOTE: strictness. RFC 8032 (5.1.7, 5.2.7) rejects a
 * signature whose S is not below the group order L: otherwise anyone could
 * make a second valid signature from a first by adding L. libdecaf 1.0.2
 * rejects such signatures itself (test_ed checks S + L and S = L); we
 * compare S with L before calling it all the same, so that the rule does
 * not depend on the library's version. Ed448's last signature byte must be
 * zero for the same reason. Pure Ed25519 is asked for with
 * DECAF_ED25519_NO_CONTEXT (an empty context would mean
 * Ed25519ctx); Ed448 always has its dom4 prefix, with an empty context.
 */
#include "crypto/ed.h"

#include <string.h>

#include <decaf/ed255.h>
#include <decaf/ed448.h>

#include "crypto/crypto.h"
#include "util.h"

_Static_assert(FK_ED25519_KEY_LEN == DECAF_EDDSA_25519_PRIVATE_BYTES &&
                   FK_ED25519_KEY_LEN == DECAF_EDDSA_25519_PUBLIC_BYTES,
               "Ed25519 key sizes");
_Static_assert(FK_ED448_KEY_LEN == DECAF_EDDSA_448_PRIVATE_BYTES &&
                   FK_ED448_KEY_LEN == DECAF_EDDSA_448_PUBLIC_BYTES,
               "Ed448 key sizes");
_Static_assert(FK_ED25519_SIG_LEN == DECAF_EDDSA_25519_SIGNATURE_BYTES &&
                   FK_ED448_SIG_LEN == DECAF_EDDSA_448_SIGNATURE_BYTES,
               "EdDSA signature sizes");

/* The group orders, little-endian as S is encoded. */
static const uint8_t k_l25519[FK_ED25519_KEY_LEN] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
static const uint8_t k_l448[FK_ED448_KEY_LEN] = {
    0xf3, 0x44, 0x58, 0xab, 0x92, 0xc2, 0x78, 0x23, 0x55, 0x8f, 0xc5, 0x8d, 0x72, 0xc2, 0x6c,
    0x21, 0x90, 0x36, 0xd6, 0xae, 0x49, 0xdb, 0x4e, 0xc4, 0xe9, 0x23, 0xca, 0x7c, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00};

/* A non-NULL pointer for an empty message (libdecaf wants one). */
static const uint8_t k_empty[1];

size_t fk_ed_key_len(fk_curve_t twin)
{
    return twin == FK_CURVE_X25519 ? FK_ED25519_KEY_LEN : twin == FK_CURVE_X448 ? FK_ED448_KEY_LEN : 0;
}

size_t fk_ed_sig_len(fk_curve_t twin)
{
    return twin == FK_CURVE_X25519 ? FK_ED25519_SIG_LEN : twin == FK_CURVE_X448 ? FK_ED448_SIG_LEN : 0;
}

int fk_ed_public(fk_curve_t twin, const uint8_t *seed, uint8_t *pub)
{
    if (seed == NULL || pub == NULL) return FK_CRYPTO_EINVAL;
    switch (twin) {
    case FK_CURVE_X25519: decaf_ed25519_derive_public_key(pub, seed); return FK_CRYPTO_OK;
    case FK_CURVE_X448: decaf_ed448_derive_public_key(pub, seed); return FK_CRYPTO_OK;
    default: return FK_CRYPTO_EINVAL;
    }
}

int fk_ed_generate(fk_curve_t twin, uint8_t *seed, uint8_t *pub)
{
    const size_t n = fk_ed_key_len(twin);
    if (n == 0 || seed == NULL || pub == NULL) return FK_CRYPTO_EINVAL;
    if (fk_rng_bytes(seed, n) != FK_CRYPTO_OK) return FK_CRYPTO_ERNG; /* seed is zeroed */
    return fk_ed_public(twin, seed, pub);
}

int fk_ed_sign(fk_curve_t twin, const uint8_t *seed, const uint8_t *pub, const uint8_t *msg,
               size_t len, uint8_t *sig)
{
    const size_t n = fk_ed_key_len(twin);
    uint8_t derived[FK_ED_KEY_MAX];
    int rc = FK_CRYPTO_OK;

    if (n == 0 || seed == NULL || pub == NULL || sig == NULL || (msg == NULL && len != 0))
        return FK_CRYPTO_EINVAL;
    if (msg == NULL) msg = k_empty;

    if (twin == FK_CURVE_X25519) {
        decaf_eddsa_25519_keypair_t kp;
        decaf_ed25519_derive_keypair(kp, seed);
        decaf_ed25519_keypair_extract_public_key(derived, kp);
        if (!fk_ct_equal(derived, pub, n))
            rc = FK_CRYPTO_EINVAL;
        else
            decaf_ed25519_keypair_sign(sig, kp, msg, len, 0, DECAF_ED25519_NO_CONTEXT, 0);
        decaf_ed25519_keypair_destroy(kp);
    } else {
        decaf_eddsa_448_keypair_t kp;
        decaf_ed448_derive_keypair(kp, seed);
        decaf_ed448_keypair_extract_public_key(derived, kp);
        if (!fk_ct_equal(derived, pub, n))
            rc = FK_CRYPTO_EINVAL;
        else
            decaf_ed448_keypair_sign(sig, kp, msg, len, 0, NULL, 0);
        decaf_ed448_keypair_destroy(kp);
    }
    fk_wipe(derived, sizeof(derived));
    if (rc != FK_CRYPTO_OK) fk_wipe(sig, fk_ed_sig_len(twin));
    return rc;
}

/* S (little-endian, n bytes) < L: compare from the most significant byte.
 * Public values: no need for constant time. */
static bool scalar_canonical(const uint8_t *s, const uint8_t *l, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        if (s[i] != l[i]) return s[i] < l[i];
    }
    return false; /* S == L */
}

int fk_ed_verify(fk_curve_t twin, const uint8_t *pub, const uint8_t *msg, size_t len,
                 const uint8_t *sig, size_t sig_len)
{
    const size_t n = fk_ed_key_len(twin);
    decaf_error_t ok;

    if (n == 0 || pub == NULL || sig == NULL || (msg == NULL && len != 0)) return FK_CRYPTO_EINVAL;
    if (sig_len != fk_ed_sig_len(twin)) return FK_CRYPTO_EAUTH;
    if (msg == NULL) msg = k_empty;

    if (twin == FK_CURVE_X25519) {
        if (!scalar_canonical(sig + n, k_l25519, n)) return FK_CRYPTO_EAUTH;
        ok = decaf_ed25519_verify(sig, pub, msg, len, 0, DECAF_ED25519_NO_CONTEXT, 0);
    } else {
        if (!scalar_canonical(sig + n, k_l448, n)) return FK_CRYPTO_EAUTH;
        ok = decaf_ed448_verify(sig, pub, msg, len, 0, NULL, 0);
    }
    return ok == DECAF_SUCCESS ? FK_CRYPTO_OK : FK_CRYPTO_EAUTH;
}
