/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_k1.c - ECDSA and ECDH on secp256k1 with libsecp256k1 0.2 (pk_k1.h).
 *
 * Why: libsecp256k1 is written for this one curve (a dedicated field, the
 * GLV endomorphism, precomputed tables) and is constant time; on the
 * Cortex-M33 it signs several times faster than mbedTLS's generic code
 * (docs/crypto.md). pk.c routes FK_CURVE_SECP256K1 here and keeps mbedTLS
 * for the other curves; the key blobs and signatures are byte for byte what
 * the mbedTLS path produced (test_pk_backends checks it).
 *
 * IMPLEMENTATION NOTE: context and memory. One context, built with the
 * preallocated API in a static buffer on first use (libsecp256k1 allocates
 * nothing then; its tables are constants), randomized with 32 bytes from
 * the DRBG, and kept warm. The randomization blinds the fixed-base
 * multiplication of signing and key generation; the blinding values are the
 * only thing it keeps, and fk_k1_forget wipes them. ECDH uses libsecp256k1's
 * constant-time variable-base multiplication.
 *
 * IMPLEMENTATION NOTE: nonces. As mbedTLS's ECDSA did in pk.c, the nonce is
 * random: libsecp256k1's nonce hook is given 32 bytes from the DRBG (not its
 * RFC 6979 default), asked again when a value falls outside [1, n). A failed
 * DRBG fails the signature. libsecp256k1 returns s in the lower half of the
 * order (s or n - s, both valid ECDSA); verification normalizes first, so a
 * signature with a high s from elsewhere verifies as ECDSA says it must.
 *
 * IMPLEMENTATION NOTE: misuse. libsecp256k1 calls its "illegal argument" and
 * "internal error" callbacks for a broken invariant (a NULL pointer, a bad
 * context). On the device they are ours (USE_EXTERNAL_DEFAULT_CALLBACKS,
 * cmake/target_secp256k1.cmake): they stop the device with fk_hal_panic.
 */
#include "crypto/pk_k1.h"

#include <stdbool.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_preallocated.h>

#include "crypto/crypto.h"
#include "hal.h"
#include "util.h"

#define K1_CTX_BYTES 512u
#define K1_KEYGEN_TRIES 16

/* The device's callbacks for libsecp256k1 (used when it is built with
 * USE_EXTERNAL_DEFAULT_CALLBACKS; the host's library keeps its own). */
void secp256k1_default_illegal_callback_fn(const char *str, void *data);
void secp256k1_default_error_callback_fn(const char *str, void *data);

void secp256k1_default_illegal_callback_fn(const char *str, void *data)
{
    (void)str;
    (void)data;
    fk_hal_panic(__FILE__, __LINE__);
}

void secp256k1_default_error_callback_fn(const char *str, void *data)
{
    (void)str;
    (void)data;
    fk_hal_panic(__FILE__, __LINE__);
}

static _Alignas(16) uint8_t g_ctx_mem[K1_CTX_BYTES];
static secp256k1_context *g_ctx;

void fk_k1_forget(void)
{
    if (g_ctx != NULL) secp256k1_context_preallocated_destroy(g_ctx);
    g_ctx = NULL;
    fk_wipe(g_ctx_mem, sizeof(g_ctx_mem));
}

/* The warm context, built and randomized on first use; NULL when the DRBG
 * fails (nothing is kept then). */
static const secp256k1_context *k1_ctx(void)
{
    uint8_t seed[32];

    if (g_ctx != NULL) return g_ctx;
    FK_ASSERT(secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE) <= sizeof(g_ctx_mem));
    g_ctx = secp256k1_context_preallocated_create(g_ctx_mem, SECP256K1_CONTEXT_NONE);
    FK_ASSERT(g_ctx != NULL);
    if (fk_rng_bytes(seed, sizeof(seed)) != FK_CRYPTO_OK ||
        !secp256k1_context_randomize(g_ctx, seed))
        fk_k1_forget();
    fk_wipe(seed, sizeof(seed));
    return g_ctx;
}

static int serialize_point(const secp256k1_context *ctx, const secp256k1_pubkey *pk,
                           uint8_t q[FK_K1_POINT])
{
    size_t len = FK_K1_POINT;
    if (!secp256k1_ec_pubkey_serialize(ctx, q, &len, pk, SECP256K1_EC_UNCOMPRESSED) ||
        len != FK_K1_POINT)
        return FK_CRYPTO_EFAIL;
    return FK_CRYPTO_OK;
}

int fk_k1_public(const uint8_t d[FK_K1_SCALAR], uint8_t q[FK_K1_POINT])
{
    const secp256k1_context *ctx = k1_ctx();
    secp256k1_pubkey pk;

    if (ctx == NULL) return FK_CRYPTO_ERNG;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, d)) return FK_CRYPTO_EINVAL;
    return serialize_point(ctx, &pk, q);
}

int fk_k1_generate(uint8_t d[FK_K1_SCALAR], uint8_t q[FK_K1_POINT])
{
    const secp256k1_context *ctx = k1_ctx();

    if (ctx == NULL) return FK_CRYPTO_ERNG;
    /* Uniform in [1, n): a value outside is drawn again (probability
     * below 2^-127 each time). */
    for (int i = 0; i < K1_KEYGEN_TRIES; i++) {
        if (fk_rng_bytes(d, FK_K1_SCALAR) != FK_CRYPTO_OK) break;
        if (secp256k1_ec_seckey_verify(ctx, d)) {
            int rc = fk_k1_public(d, q);
            if (rc != FK_CRYPTO_OK) fk_wipe(d, FK_K1_SCALAR);
            return rc;
        }
    }
    fk_wipe(d, FK_K1_SCALAR);
    return FK_CRYPTO_ERNG;
}

/* libsecp256k1's nonce hook: 32 bytes from the DRBG, whatever the attempt
 * (a value outside [1, n) makes it ask again). 0 stops the signature. */
static int k1_nonce(unsigned char *nonce32, const unsigned char *msg32,
                    const unsigned char *key32, const unsigned char *algo16, void *data,
                    unsigned int attempt)
{
    bool *failed = data;
    (void)msg32;
    (void)key32;
    (void)algo16;
    (void)attempt;
    if (fk_rng_bytes(nonce32, 32) != FK_CRYPTO_OK) {
        *failed = true;
        return 0;
    }
    return 1;
}

int fk_k1_sign(const uint8_t d[FK_K1_SCALAR], const uint8_t h[32], uint8_t r[32], uint8_t s[32])
{
    const secp256k1_context *ctx = k1_ctx();
    secp256k1_ecdsa_signature sig;
    uint8_t rs[64];
    bool rng_failed = false;

    if (ctx == NULL) return FK_CRYPTO_ERNG;
    if (!secp256k1_ec_seckey_verify(ctx, d)) return FK_CRYPTO_EINVAL;
    if (!secp256k1_ecdsa_sign(ctx, &sig, h, d, k1_nonce, &rng_failed))
        return rng_failed ? FK_CRYPTO_ERNG : FK_CRYPTO_EFAIL;
    if (!secp256k1_ecdsa_signature_serialize_compact(ctx, rs, &sig)) return FK_CRYPTO_EFAIL;
    memcpy(r, rs, 32);
    memcpy(s, rs + 32, 32);
    return FK_CRYPTO_OK;
}

int fk_k1_check_point(const uint8_t q[FK_K1_POINT])
{
    const secp256k1_context *ctx = k1_ctx();
    secp256k1_pubkey pk;

    if (ctx == NULL) return FK_CRYPTO_ERNG;
    /* Only the uncompressed encoding (libsecp256k1 also reads 06/07). */
    if (q[0] != 0x04u || !secp256k1_ec_pubkey_parse(ctx, &pk, q, FK_K1_POINT))
        return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

int fk_k1_verify(const uint8_t q[FK_K1_POINT], const uint8_t h[32], const uint8_t r[32],
                 const uint8_t s[32])
{
    const secp256k1_context *ctx = k1_ctx();
    secp256k1_ecdsa_signature sig;
    secp256k1_pubkey pk;
    uint8_t rs[64];

    if (ctx == NULL) return FK_CRYPTO_ERNG;
    if (q[0] != 0x04u || !secp256k1_ec_pubkey_parse(ctx, &pk, q, FK_K1_POINT))
        return FK_CRYPTO_EINVAL;
    memcpy(rs, r, 32);
    memcpy(rs + 32, s, 32);
    /* r or s not below n: not a signature. */
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rs)) return FK_CRYPTO_EAUTH;
    (void)secp256k1_ecdsa_signature_normalize(ctx, &sig, &sig);
    return secp256k1_ecdsa_verify(ctx, &sig, h, &pk) ? FK_CRYPTO_OK : FK_CRYPTO_EAUTH;
}

/* libsecp256k1's ECDH hook: the shared secret is the X coordinate itself,
 * as SEC 1 and mbedTLS define it (not libsecp256k1's default hash). */
static int k1_copy_x(unsigned char *output, const unsigned char *x32, const unsigned char *y32,
                     void *data)
{
    (void)y32;
    (void)data;
    memcpy(output, x32, 32);
    return 1;
}

int fk_k1_ecdh(const uint8_t d[FK_K1_SCALAR], const uint8_t peer[FK_K1_POINT], uint8_t x[32])
{
    const secp256k1_context *ctx = k1_ctx();
    secp256k1_pubkey pk;

    if (ctx == NULL) return FK_CRYPTO_ERNG;
    if (peer[0] != 0x04u || !secp256k1_ec_pubkey_parse(ctx, &pk, peer, FK_K1_POINT))
        return FK_CRYPTO_EINVAL;
    if (!secp256k1_ecdh(ctx, x, &pk, d, k1_copy_x, NULL)) {
        fk_wipe(x, 32);
        return FK_CRYPTO_EINVAL;
    }
    return FK_CRYPTO_OK;
}
