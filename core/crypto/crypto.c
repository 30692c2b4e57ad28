/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c - fusekey's primitives on top of mbedTLS 2.28 (the only file set
 * of the firmware that includes mbedTLS headers).
 *
 * IMPLEMENTATION NOTE: memory. Our own code never allocates: every context
 * lives on the stack (a few hundred bytes at most) or, for the DRBG, in one
 * module-static object. mbedTLS itself allocates internally: an
 * mbedtls_md_context_t (HMAC-DRBG, HKDF, PBKDF2) holds heap blocks, and the
 * bignum code used later by RSA/ECC does too. On the host that is the C
 * library allocator; on the RP2350 build mbedTLS is configured with
 * MBEDTLS_PLATFORM_MEMORY and a static memory pool (memory_buffer_alloc), so
 * the firmware has no heap either. An allocation failure inside mbedTLS
 * surfaces as FK_CRYPTO_EFAIL. SHA-256 and HMAC-SHA256 cannot fail: they
 * work on mbedtls_sha256_context directly, which allocates nothing.
 *
 * IMPLEMENTATION NOTE: random bits. One HMAC-DRBG (SHA-256) per device, kept
 * in module-static state and seeded on first use from fk_hal_random() with
 * the chip serial and a label as personalization. Prediction resistance is
 * off; the DRBG reseeds from fk_hal_random() at the library's default
 * interval. If the entropy source fails while seeding or reseeding, the
 * whole DRBG state is wiped, the caller's buffer is zeroed and
 * FK_CRYPTO_ERNG is returned: no byte ever comes from an unseeded or failed
 * generator. The next call tries to seed again from scratch.
 *
 * IMPLEMENTATION NOTE: constant time. Tag verification relies on mbedTLS's
 * constant-time comparison in mbedtls_chachapoly_auth_decrypt; our own
 * comparisons use fk_ct_equal. We assume no secret-dependent table lookups
 * in the SHA-256 and ChaCha20/Poly1305 code (true of mbedTLS's portable
 * implementations).
 */
#include "crypto/crypto.h"

#include <limits.h>
#include <string.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/hmac_drbg.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>

#include "hal.h"
#include "util.h"

#define SHA256_BLOCK_LEN 64u
#define HMAC_IPAD 0x36u
#define HMAC_OPAD 0x5Cu
#define HKDF_MAX_OUT (255u * FK_SHA256_LEN)
#define SERIAL_LEN 8u

_Static_assert(UINT_MAX >= UINT32_MAX, "PBKDF2 iteration counts are passed as unsigned int");

/* Personalization string: chip serial followed by this label. */
static const char k_drbg_label[] = "fusekey drbg v1";

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((fk_sha256_ctx_t *)0)->opaque),
               "fk_sha256_ctx_t too small for mbedtls_sha256_context");
_Static_assert(_Alignof(mbedtls_sha256_context) <= _Alignof(fk_sha256_ctx_t),
               "fk_sha256_ctx_t not aligned enough for mbedtls_sha256_context");

/* A non-NULL pointer to hand mbedTLS for zero-length inputs. */
static const uint8_t k_empty[1];

static const void *nonnull(const void *p) { return p != NULL ? p : k_empty; }

/* ---- Random bits -------------------------------------------------------- */

static mbedtls_hmac_drbg_context s_drbg;
static bool s_drbg_seeded; /* s_drbg holds a successfully seeded state */

/* Output pool for small requests (see fk_rng_bytes); the unread tail is
 * s_pool[sizeof(s_pool) - s_pool_left, sizeof(s_pool)). */
#define RNG_POOL_LEN 128u
static uint8_t s_pool[RNG_POOL_LEN];
static size_t s_pool_left;

/* mbedTLS entropy callback: fk_hal_random or a library error. */
static int drbg_entropy(void *arg, unsigned char *buf, size_t len)
{
    (void)arg;
    if (fk_hal_random(buf, len) != FK_HAL_OK) {
        fk_wipe(buf, len);
        return MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED;
    }
    return 0;
}

void fk_rng_forget(void)
{
    fk_wipe(s_pool, sizeof(s_pool));
    s_pool_left = 0;
    if (s_drbg_seeded) mbedtls_hmac_drbg_free(&s_drbg);
    fk_wipe(&s_drbg, sizeof(s_drbg));
    s_drbg_seeded = false;
}

/* Seed the DRBG if it is not seeded: true when it is ready. */
static bool drbg_ready(void)
{
    uint8_t pers[SERIAL_LEN + sizeof(k_drbg_label) - 1u];
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    int rc;

    if (s_drbg_seeded) return true;
    fk_hal_serial(pers);
    memcpy(pers + SERIAL_LEN, k_drbg_label, sizeof(k_drbg_label) - 1u);
    mbedtls_hmac_drbg_init(&s_drbg);
    rc = mbedtls_hmac_drbg_seed(&s_drbg, md, drbg_entropy, NULL, pers, sizeof(pers));
    fk_wipe(pers, sizeof(pers));
    if (rc != 0) {
        /* Frees whatever the failed seed set up and zeroizes the state. */
        mbedtls_hmac_drbg_free(&s_drbg);
        fk_wipe(&s_drbg, sizeof(s_drbg));
        return false;
    }
    mbedtls_hmac_drbg_set_prediction_resistance(&s_drbg, MBEDTLS_HMAC_DRBG_PR_OFF);
    s_drbg_seeded = true;
    return true;
}

/* Fill out[0, len) straight from the DRBG. */
static int drbg_generate(uint8_t *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t n = FK_MIN(len - done, (size_t)MBEDTLS_HMAC_DRBG_MAX_REQUEST);
        if (mbedtls_hmac_drbg_random(&s_drbg, p + done, n) != 0) return FK_CRYPTO_ERNG;
        done += n;
    }
    return FK_CRYPTO_OK;
}

int fk_rng_bytes(void *out, size_t len)
{
    uint8_t *p = (uint8_t *)out;

    if (len == 0) return FK_CRYPTO_OK;
    if (out == NULL) return FK_CRYPTO_EINVAL;
    if (!drbg_ready()) {
        fk_wipe(out, len);
        return FK_CRYPTO_ERNG;
    }
    /* Small requests (challenges, nonces, salts) are served from a pool that
     * one DRBG call refills: each HMAC-DRBG call pays for a state update of
     * three HMACs however few bytes it returns. Bytes leave the pool once and
     * are wiped from it as they go. */
    while (len > 0) {
        if (len >= sizeof(s_pool)) {
            if (drbg_generate(p, len) != FK_CRYPTO_OK) goto fail;
            return FK_CRYPTO_OK;
        }
        if (s_pool_left == 0) {
            if (drbg_generate(s_pool, sizeof(s_pool)) != FK_CRYPTO_OK) goto fail;
            s_pool_left = sizeof(s_pool);
        }
        size_t n = FK_MIN(len, s_pool_left);
        uint8_t *src = s_pool + sizeof(s_pool) - s_pool_left;
        memcpy(p, src, n);
        fk_wipe(src, n);
        s_pool_left -= n;
        p += n;
        len -= n;
    }
    return FK_CRYPTO_OK;

fail:
    /* Only a failed reseed gets here: drop the state entirely. */
    fk_rng_forget();
    fk_wipe(out, (size_t)(p - (uint8_t *)out) + len);
    return FK_CRYPTO_ERNG;
}

/* ---- SHA-256 ------------------------------------------------------------ */

void fk_sha256(const void *data, size_t len, uint8_t out[FK_SHA256_LEN])
{
    mbedtls_sha256_context c;

    FK_ASSERT(out != NULL && (data != NULL || len == 0));
    mbedtls_sha256_init(&c);
    (void)mbedtls_sha256_starts_ret(&c, 0);
    (void)mbedtls_sha256_update_ret(&c, (const unsigned char *)nonnull(data), len);
    (void)mbedtls_sha256_finish_ret(&c, out);
    mbedtls_sha256_free(&c);
}

/* The opaque block is copied in and out of a real mbedtls_sha256_context
 * rather than accessed through a cast, so no object is ever read through an
 * lvalue of a type it does not have (this assumes the context is plain
 * bytes, true of the software SHA-256; an accelerated SHA256_ALT context
 * must be checked). The local copy is wiped each time. */
static void ctx_load(mbedtls_sha256_context *c, const fk_sha256_ctx_t *ctx)
{
    memcpy(c, ctx->opaque, sizeof(*c));
}

static void ctx_save(fk_sha256_ctx_t *ctx, mbedtls_sha256_context *c)
{
    memcpy(ctx->opaque, c, sizeof(*c));
    fk_wipe(c, sizeof(*c));
}

void fk_sha256_start(fk_sha256_ctx_t *ctx)
{
    mbedtls_sha256_context c;

    fk_wipe(ctx, sizeof(*ctx));
    mbedtls_sha256_init(&c);
    (void)mbedtls_sha256_starts_ret(&c, 0);
    ctx_save(ctx, &c);
}

void fk_sha256_update(fk_sha256_ctx_t *ctx, const void *data, size_t len)
{
    mbedtls_sha256_context c;

    FK_ASSERT(data != NULL || len == 0);
    ctx_load(&c, ctx);
    (void)mbedtls_sha256_update_ret(&c, (const unsigned char *)nonnull(data), len);
    ctx_save(ctx, &c);
}

void fk_sha256_finish(fk_sha256_ctx_t *ctx, uint8_t out[FK_SHA256_LEN])
{
    mbedtls_sha256_context c;

    ctx_load(&c, ctx);
    (void)mbedtls_sha256_finish_ret(&c, out);
    mbedtls_sha256_free(&c);
    fk_wipe(&c, sizeof(c));
    fk_wipe(ctx, sizeof(*ctx));
}

/* ---- HMAC-SHA256 (RFC 2104), on the SHA-256 context: no allocation ------ */

void fk_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[FK_SHA256_LEN])
{
    uint8_t pad[SHA256_BLOCK_LEN];
    uint8_t inner[FK_SHA256_LEN];
    mbedtls_sha256_context c;

    FK_ASSERT(out != NULL && (key != NULL || key_len == 0) && (data != NULL || len == 0));
    memset(pad, 0, sizeof(pad));
    if (key_len > SHA256_BLOCK_LEN)
        fk_sha256(key, key_len, pad);
    else if (key_len > 0)
        memcpy(pad, key, key_len);

    for (size_t i = 0; i < sizeof(pad); i++) pad[i] ^= HMAC_IPAD;
    mbedtls_sha256_init(&c);
    (void)mbedtls_sha256_starts_ret(&c, 0);
    (void)mbedtls_sha256_update_ret(&c, pad, sizeof(pad));
    (void)mbedtls_sha256_update_ret(&c, (const unsigned char *)nonnull(data), len);
    (void)mbedtls_sha256_finish_ret(&c, inner);

    for (size_t i = 0; i < sizeof(pad); i++) pad[i] ^= (uint8_t)(HMAC_IPAD ^ HMAC_OPAD);
    (void)mbedtls_sha256_starts_ret(&c, 0);
    (void)mbedtls_sha256_update_ret(&c, pad, sizeof(pad));
    (void)mbedtls_sha256_update_ret(&c, inner, sizeof(inner));
    (void)mbedtls_sha256_finish_ret(&c, out);
    mbedtls_sha256_free(&c);

    fk_wipe(pad, sizeof(pad));
    fk_wipe(inner, sizeof(inner));
}

/* ---- Key derivation ----------------------------------------------------- */

int fk_hkdf_sha256(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len,
                   const void *info, size_t info_len, void *out, size_t out_len)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

    if (out == NULL || out_len == 0 || out_len > HKDF_MAX_OUT) return FK_CRYPTO_EINVAL;
    if ((salt == NULL && salt_len) || (ikm == NULL && ikm_len) || (info == NULL && info_len))
        return FK_CRYPTO_EINVAL;
    if (mbedtls_hkdf(md, (const unsigned char *)nonnull(salt), salt_len,
                     (const unsigned char *)nonnull(ikm), ikm_len,
                     (const unsigned char *)nonnull(info), info_len, (unsigned char *)out,
                     out_len) != 0) {
        fk_wipe(out, out_len);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

int fk_hkdf_sha256_expand(const void *prk, size_t prk_len, const void *info, size_t info_len,
                          void *out, size_t out_len)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

    if (out == NULL || out_len == 0 || out_len > HKDF_MAX_OUT) return FK_CRYPTO_EINVAL;
    if (prk == NULL || prk_len < FK_SHA256_LEN || (info == NULL && info_len))
        return FK_CRYPTO_EINVAL;
    if (mbedtls_hkdf_expand(md, (const unsigned char *)prk, prk_len,
                            (const unsigned char *)nonnull(info), info_len,
                            (unsigned char *)out, out_len) != 0) {
        fk_wipe(out, out_len);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

int fk_pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
                     uint32_t iterations, void *out, size_t out_len)
{
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_md_context_t c;
    int rc;

    if (out == NULL || out_len == 0) return FK_CRYPTO_EINVAL;
#if SIZE_MAX > UINT32_MAX
    if (out_len > UINT32_MAX) return FK_CRYPTO_EINVAL; /* mbedTLS takes a uint32_t */
#endif
    if (iterations == 0) return FK_CRYPTO_EINVAL;
    if ((pw == NULL && pw_len) || (salt == NULL && salt_len)) return FK_CRYPTO_EINVAL;

    mbedtls_md_init(&c);
    rc = mbedtls_md_setup(&c, md, 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&c, (const unsigned char *)nonnull(pw), pw_len,
                                       (const unsigned char *)nonnull(salt), salt_len,
                                       (unsigned int)iterations, (uint32_t)out_len,
                                       (unsigned char *)out);
    mbedtls_md_free(&c); /* zeroizes the HMAC state it allocated */
    if (rc != 0) {
        fk_wipe(out, out_len);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

/* ---- ChaCha20-Poly1305 -------------------------------------------------- */

int fk_aead_seal(const uint8_t key[FK_AEAD_KEY_LEN], const uint8_t nonce[FK_AEAD_NONCE_LEN],
                 const void *aad, size_t aad_len, const void *pt, size_t len, void *ct,
                 uint8_t tag[FK_AEAD_TAG_LEN])
{
    mbedtls_chachapoly_context c;
    uint8_t dummy[1];
    int rc;

    if (key == NULL || nonce == NULL || tag == NULL) return FK_CRYPTO_EINVAL;
    if ((aad == NULL && aad_len) || (len && (pt == NULL || ct == NULL))) return FK_CRYPTO_EINVAL;

    mbedtls_chachapoly_init(&c);
    rc = mbedtls_chachapoly_setkey(&c, key);
    if (rc == 0)
        rc = mbedtls_chachapoly_encrypt_and_tag(
            &c, len, nonce, (const unsigned char *)nonnull(aad), aad_len,
            (const unsigned char *)nonnull(pt), ct != NULL ? (unsigned char *)ct : dummy, tag);
    mbedtls_chachapoly_free(&c);
    if (rc != 0) {
        if (len) fk_wipe(ct, len);
        fk_wipe(tag, FK_AEAD_TAG_LEN);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

int fk_aead_open(const uint8_t key[FK_AEAD_KEY_LEN], const uint8_t nonce[FK_AEAD_NONCE_LEN],
                 const void *aad, size_t aad_len, const void *ct, size_t len,
                 const uint8_t tag[FK_AEAD_TAG_LEN], void *pt)
{
    mbedtls_chachapoly_context c;
    uint8_t dummy[1];
    int rc;

    if (key == NULL || nonce == NULL || tag == NULL) return FK_CRYPTO_EINVAL;
    if ((aad == NULL && aad_len) || (len && (pt == NULL || ct == NULL))) {
        if (len && pt != NULL) fk_wipe(pt, len);
        return FK_CRYPTO_EINVAL;
    }

    mbedtls_chachapoly_init(&c);
    rc = mbedtls_chachapoly_setkey(&c, key);
    if (rc == 0)
        rc = mbedtls_chachapoly_auth_decrypt(
            &c, len, nonce, (const unsigned char *)nonnull(aad), aad_len, tag,
            (const unsigned char *)nonnull(ct), pt != NULL ? (unsigned char *)pt : dummy);
    mbedtls_chachapoly_free(&c);
    if (rc != 0) {
        if (len) fk_wipe(pt, len);
        return rc == MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED ? FK_CRYPTO_EAUTH : FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}
