/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sym.c - AES in eight modes, AES-CMAC, ChaCha20-Poly1305 with a caller's
 * key, HMAC over SHA-1/SHA-2, HKDF, PBKDF2 and the ANSI X9.63 KDF on top of
 * mbedTLS 2.28 (aes, gcm, ccm, cmac, sha1, sha256, sha512).
 *
 * IMPLEMENTATION NOTE: memory. As in crypto.c our code allocates nothing.
 * The AES, SHA and HMAC contexts live on the stack (an HMAC over SHA-512 is
 * two SHA-512 states, about 450 bytes; PBKDF2 keeps one such HMAC and one
 * work state). The HMAC family is built here on the plain hash contexts
 * rather than on mbedtls_md, whose contexts are heap blocks: HMAC, HKDF,
 * PBKDF2 and X9.63 never allocate. mbedTLS's GCM, CCM and CMAC go through
 * its cipher layer, which allocates one AES context per operation (on the
 * RP2350 from the static pool crypto.c describes); a failed allocation is
 * FK_CRYPTO_EFAIL.
 *
 * IMPLEMENTATION NOTE: HMAC state. HMAC(K, m) = H(K^opad || H(K^ipad || m)).
 * The two keyed states after the first block are computed once per key and
 * cloned for every message (mbedtls_shaX_clone), so a PBKDF2 iteration costs
 * two one-block compressions plus the two finalisations instead of four.
 * The clones and the keyed states are wiped (mbedtls_shaX_free zeroizes).
 *
 * IMPLEMENTATION NOTE: XTS. mbedTLS's mbedtls_aes_crypt_xts reads the last
 * partial block of its input after it has written the same bytes of its
 * output (ciphertext stealing), so it is wrong in place whenever the length
 * is not a multiple of 16. sym.h promises in-place operation, so XTS is
 * built here from two AES-ECB contexts (IEEE 1619-2007 section 5): the
 * partial tail is copied before anything is written. The tweak update (a
 * multiplication by x in GF(2^128)) has no secret-dependent branch.
 *
 * IMPLEMENTATION NOTE: constant time. GCM, CCM and ChaCha20-Poly1305 tags
 * are checked by mbedTLS in constant time, and the plaintext is zeroed (by
 * mbedTLS and again here) when they do not verify. mbedTLS's portable AES
 * indexes lookup tables with key and data bytes. We assume, as gnuk does,
 * that those loads take the same time whatever the index: true of SRAM
 * without a data cache, which is where an mbedTLS built without
 * MBEDTLS_AES_ROM_TABLES keeps them (generated at first use). The RP2350's
 * XIP cache only caches flash; re-check this for any port whose tables or
 * SRAM sit behind a cache.
 */
#include "crypto/sym.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/ccm.h>
#include <mbedtls/cipher.h>
#include <mbedtls/cmac.h>
#include <mbedtls/gcm.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

#include "util.h"

#define AES_KEY_MIN 16u
#define AES_KEY_MID 24u
#define AES_KEY_MAX 32u
#define XTS_KEY_128 32u
#define XTS_KEY_256 64u
#define XTS_MAX_LEN (1u << 24) /* IEEE 1619: at most 2^20 blocks per data unit */
#define XTS_POLY 0x87u         /* x^128 = x^7 + x^2 + x + 1 */
#define GCM_NONCE_MAX 64u
#define AEAD_TAG_MIN 4u
#define CCM_NONCE_MIN 7u
#define CCM_NONCE_MAX 13u
#define CCM_AAD_MAX 0xFEFFu    /* mbedTLS 2.28 encodes AAD lengths below 2^16 - 2^8 only */
#define CCM_BLOCK_LEN_Q(n) (15u - (n)) /* bytes of the message length field */
#define HMAC_IPAD 0x36u
#define HMAC_OPAD 0x5Cu
#define MD_BLOCK_MAX 128u
#define HKDF_MAX_BLOCKS 255u
#define COUNTER_LEN 4u

/* A non-NULL pointer to hand mbedTLS for zero-length inputs. */
static const uint8_t k_empty[1];

static const void *nonnull(const void *p) { return p != NULL ? p : k_empty; }

static bool aes_key_len_ok(size_t n) { return n == AES_KEY_MIN || n == AES_KEY_MID || n == AES_KEY_MAX; }

/* in and out are the same buffer or do not overlap at all. */
static bool no_partial_overlap(const void *in, const void *out, size_t len)
{
    const uintptr_t a = (uintptr_t)in, b = (uintptr_t)out;
    if (len == 0 || a == b) return true;
    return a + len <= b || b + len <= a;
}

/* A span of len bytes is either present or empty. */
static bool span_ok(const void *p, size_t len) { return p != NULL || len == 0; }

/* ---- Hashes on the plain mbedTLS contexts (no allocation) --------------- */

typedef struct md {
    fk_hash_t h;
    union {
        mbedtls_sha1_context sha1;
        mbedtls_sha256_context sha256;
        mbedtls_sha512_context sha512;
    } u;
} md_t;

static size_t md_len(fk_hash_t h)
{
    switch (h) {
    case FK_HASH_SHA1: return 20;
    case FK_HASH_SHA224: return 28;
    case FK_HASH_SHA256: return 32;
    case FK_HASH_SHA384: return 48;
    case FK_HASH_SHA512: return 64;
    default: return 0;
    }
}

static size_t md_block(fk_hash_t h)
{
    return (h == FK_HASH_SHA384 || h == FK_HASH_SHA512) ? 128u : 64u;
}

/* The software SHA implementations cannot fail (their _ret forms only fail
 * for hardware accelerators), so the results are not checked. */
static void md_start(md_t *m, fk_hash_t h)
{
    m->h = h;
    switch (h) {
    case FK_HASH_SHA1:
        mbedtls_sha1_init(&m->u.sha1);
        (void)mbedtls_sha1_starts_ret(&m->u.sha1);
        break;
    case FK_HASH_SHA224:
    case FK_HASH_SHA256:
        mbedtls_sha256_init(&m->u.sha256);
        (void)mbedtls_sha256_starts_ret(&m->u.sha256, h == FK_HASH_SHA224);
        break;
    default:
        mbedtls_sha512_init(&m->u.sha512);
        (void)mbedtls_sha512_starts_ret(&m->u.sha512, h == FK_HASH_SHA384);
        break;
    }
}

static void md_update(md_t *m, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)nonnull(data);
    switch (m->h) {
    case FK_HASH_SHA1: (void)mbedtls_sha1_update_ret(&m->u.sha1, p, len); break;
    case FK_HASH_SHA224:
    case FK_HASH_SHA256: (void)mbedtls_sha256_update_ret(&m->u.sha256, p, len); break;
    default: (void)mbedtls_sha512_update_ret(&m->u.sha512, p, len); break;
    }
}

/* Wipe the context (mbedTLS's free zeroizes it). */
static void md_free(md_t *m)
{
    switch (m->h) {
    case FK_HASH_SHA1: mbedtls_sha1_free(&m->u.sha1); break;
    case FK_HASH_SHA224:
    case FK_HASH_SHA256: mbedtls_sha256_free(&m->u.sha256); break;
    default: mbedtls_sha512_free(&m->u.sha512); break;
    }
    fk_wipe(m, sizeof(*m));
}

/* The digest into out (md_len bytes); the context is wiped. */
static void md_finish(md_t *m, uint8_t *out)
{
    switch (m->h) {
    case FK_HASH_SHA1: (void)mbedtls_sha1_finish_ret(&m->u.sha1, out); break;
    case FK_HASH_SHA224:
    case FK_HASH_SHA256: (void)mbedtls_sha256_finish_ret(&m->u.sha256, out); break;
    default: (void)mbedtls_sha512_finish_ret(&m->u.sha512, out); break;
    }
    md_free(m);
}

static void md_clone(md_t *dst, const md_t *src)
{
    dst->h = src->h;
    switch (src->h) {
    case FK_HASH_SHA1:
        mbedtls_sha1_init(&dst->u.sha1);
        mbedtls_sha1_clone(&dst->u.sha1, &src->u.sha1);
        break;
    case FK_HASH_SHA224:
    case FK_HASH_SHA256:
        mbedtls_sha256_init(&dst->u.sha256);
        mbedtls_sha256_clone(&dst->u.sha256, &src->u.sha256);
        break;
    default:
        mbedtls_sha512_init(&dst->u.sha512);
        mbedtls_sha512_clone(&dst->u.sha512, &src->u.sha512);
        break;
    }
}

/* ---- HMAC with the keyed states kept (RFC 2104) ------------------------- */

typedef struct hmac {
    md_t inner; /* after K ^ ipad */
    md_t outer; /* after K ^ opad */
} hmac_t;

static void hmac_setup(hmac_t *hm, fk_hash_t h, const uint8_t *key, size_t key_len)
{
    uint8_t pad[MD_BLOCK_MAX];
    const size_t block = md_block(h);

    memset(pad, 0, sizeof(pad));
    if (key_len > block) {
        md_t k;
        md_start(&k, h);
        md_update(&k, key, key_len);
        md_finish(&k, pad);
    } else if (key_len > 0) {
        memcpy(pad, key, key_len);
    }
    for (size_t i = 0; i < block; i++) pad[i] ^= HMAC_IPAD;
    md_start(&hm->inner, h);
    md_update(&hm->inner, pad, block);
    for (size_t i = 0; i < block; i++) pad[i] ^= (uint8_t)(HMAC_IPAD ^ HMAC_OPAD);
    md_start(&hm->outer, h);
    md_update(&hm->outer, pad, block);
    fk_wipe(pad, sizeof(pad));
}

/* HMAC of a || b || c (any may be empty) into out; out may equal a, b or c
 * (they are read completely before out is written). */
static void hmac_run(const hmac_t *hm, const uint8_t *a, size_t a_len, const uint8_t *b,
                     size_t b_len, const uint8_t *c, size_t c_len, uint8_t *out)
{
    uint8_t inner[FK_HASH_MAX_LEN];
    const size_t n = md_len(hm->inner.h);
    md_t w;

    md_clone(&w, &hm->inner);
    md_update(&w, a, a_len);
    md_update(&w, b, b_len);
    md_update(&w, c, c_len);
    md_finish(&w, inner);
    md_clone(&w, &hm->outer);
    md_update(&w, inner, n);
    md_finish(&w, out);
    fk_wipe(inner, sizeof(inner));
}

static void hmac_free(hmac_t *hm)
{
    md_free(&hm->inner);
    md_free(&hm->outer);
}

int fk_hmac(fk_hash_t h, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
            uint8_t *out)
{
    hmac_t hm;

    if (md_len(h) == 0 || out == NULL || !span_ok(key, key_len) || !span_ok(msg, len))
        return FK_CRYPTO_EINVAL;
    hmac_setup(&hm, h, key, key_len);
    hmac_run(&hm, msg, len, NULL, 0, NULL, 0, out);
    hmac_free(&hm);
    return FK_CRYPTO_OK;
}

/* ---- Key derivation ----------------------------------------------------- */

int fk_hkdf(fk_hash_t h, const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
            size_t ikm_len, const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    const size_t n = md_len(h);
    uint8_t prk[FK_HASH_MAX_LEN], t[FK_HASH_MAX_LEN];
    hmac_t hm;

    if (n == 0 || out == NULL || out_len == 0 || out_len > HKDF_MAX_BLOCKS * n)
        return FK_CRYPTO_EINVAL;
    if (!span_ok(salt, salt_len) || !span_ok(ikm, ikm_len) || !span_ok(info, info_len))
        return FK_CRYPTO_EINVAL;

    /* Extract: an empty salt is HashLen zero bytes, the same HMAC key as none. */
    hmac_setup(&hm, h, salt, salt_len);
    hmac_run(&hm, ikm, ikm_len, NULL, 0, NULL, 0, prk);
    hmac_free(&hm);

    /* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
    hmac_setup(&hm, h, prk, n);
    size_t done = 0, t_len = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        hmac_run(&hm, t, t_len, info, info_len, &i, 1, t);
        t_len = n;
        size_t take = FK_MIN(n, out_len - done);
        memcpy(out + done, t, take);
        done += take;
    }
    hmac_free(&hm);
    fk_wipe(prk, sizeof(prk));
    fk_wipe(t, sizeof(t));
    return FK_CRYPTO_OK;
}

int fk_pbkdf2(fk_hash_t h, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
              size_t salt_len, uint32_t iterations, fk_keepalive_fn keepalive, void *arg,
              uint8_t *out, size_t out_len)
{
    const size_t n = md_len(h);
    uint8_t u[FK_HASH_MAX_LEN], t[FK_HASH_MAX_LEN], ctr[COUNTER_LEN];
    uint32_t since_keepalive = 0;
    hmac_t hm;

    if (n == 0 || out == NULL || out_len == 0) return FK_CRYPTO_EINVAL;
    if (iterations == 0 || iterations > FK_PBKDF2_MAX_ITER) return FK_CRYPTO_EINVAL;
    if (!span_ok(pw, pw_len) || !span_ok(salt, salt_len)) return FK_CRYPTO_EINVAL;
    if ((out_len - 1) / n >= UINT32_MAX) return FK_CRYPTO_EINVAL; /* blocks are numbered in 32 bits */

    hmac_setup(&hm, h, pw, pw_len);
    size_t done = 0;
    for (uint32_t block = 1; done < out_len; block++) {
        fk_put_be32(ctr, block);
        hmac_run(&hm, salt, salt_len, ctr, sizeof(ctr), NULL, 0, u);
        memcpy(t, u, n);
        for (uint32_t i = 1; i < iterations; i++) {
            hmac_run(&hm, u, n, NULL, 0, NULL, 0, u);
            for (size_t k = 0; k < n; k++) t[k] ^= u[k];
            if (keepalive != NULL && ++since_keepalive == FK_PBKDF2_KEEPALIVE) {
                keepalive(arg);
                since_keepalive = 0;
            }
        }
        size_t take = FK_MIN(n, out_len - done);
        memcpy(out + done, t, take);
        done += take;
    }
    hmac_free(&hm);
    fk_wipe(u, sizeof(u));
    fk_wipe(t, sizeof(t));
    return FK_CRYPTO_OK;
}

int fk_x963_kdf(fk_hash_t h, const uint8_t *z, size_t z_len, const uint8_t *shared_info,
                size_t info_len, uint8_t *out, size_t out_len)
{
    const size_t n = md_len(h);
    uint8_t block[FK_HASH_MAX_LEN], ctr[COUNTER_LEN];

    if (n == 0 || out == NULL || out_len == 0) return FK_CRYPTO_EINVAL;
    if (!span_ok(z, z_len) || !span_ok(shared_info, info_len)) return FK_CRYPTO_EINVAL;
    if ((out_len - 1) / n >= UINT32_MAX) return FK_CRYPTO_EINVAL; /* SEC 1: keydatalen < hashlen * (2^32 - 1) */

    size_t done = 0;
    for (uint32_t counter = 1; done < out_len; counter++) {
        md_t m;
        fk_put_be32(ctr, counter);
        md_start(&m, h);
        md_update(&m, z, z_len);
        md_update(&m, ctr, sizeof(ctr));
        md_update(&m, shared_info, info_len);
        md_finish(&m, block);
        size_t take = FK_MIN(n, out_len - done);
        memcpy(out + done, block, take);
        done += take;
    }
    fk_wipe(block, sizeof(block));
    return FK_CRYPTO_OK;
}

/* ---- AES, non-AEAD modes ------------------------------------------------ */

/* Multiply the tweak by x in GF(2^128), IEEE 1619 byte order (byte 0 is the
 * least significant), without branching on its value. */
static void xts_mul_x(uint8_t t[FK_AES_BLOCK])
{
    uint8_t carry = 0;
    for (size_t i = 0; i < FK_AES_BLOCK; i++) {
        uint8_t b = t[i];
        t[i] = (uint8_t)((b << 1) | carry);
        carry = (uint8_t)(b >> 7);
    }
    t[0] ^= (uint8_t)(XTS_POLY & (0u - (unsigned)carry));
}

/* One XTS block: out = E_K1(in ^ t) ^ t (or D_K1). out may equal in. */
static int xts_block(mbedtls_aes_context *k1, int mode, const uint8_t t[FK_AES_BLOCK],
                     const uint8_t *in, uint8_t *out)
{
    uint8_t b[FK_AES_BLOCK];
    for (size_t i = 0; i < FK_AES_BLOCK; i++) b[i] = (uint8_t)(in[i] ^ t[i]);
    int rc = mbedtls_aes_crypt_ecb(k1, mode, b, b);
    for (size_t i = 0; i < FK_AES_BLOCK; i++) out[i] = (uint8_t)(b[i] ^ t[i]);
    fk_wipe(b, sizeof(b));
    return rc;
}

/* XTS-AES (IEEE 1619-2007) with ciphertext stealing for a partial last
 * block; in place allowed. The lengths are checked by the caller. */
static int aes_xts(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t tweak[FK_AES_BLOCK],
                   const uint8_t *in, size_t len, uint8_t *out)
{
    const int mode = encrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT;
    const unsigned bits = (unsigned)(key_len / 2u * 8u);
    const size_t rem = len % FK_AES_BLOCK;
    size_t full = len / FK_AES_BLOCK;
    mbedtls_aes_context k1, k2;
    uint8_t t[FK_AES_BLOCK], t_next[FK_AES_BLOCK], cc[FK_AES_BLOCK], tail[FK_AES_BLOCK];
    int rc;

    mbedtls_aes_init(&k1);
    mbedtls_aes_init(&k2);
    rc = encrypt ? mbedtls_aes_setkey_enc(&k1, key, bits) : mbedtls_aes_setkey_dec(&k1, key, bits);
    if (rc == 0) rc = mbedtls_aes_setkey_enc(&k2, key + key_len / 2u, bits);
    memcpy(t, tweak, FK_AES_BLOCK);
    if (rc == 0) rc = mbedtls_aes_crypt_ecb(&k2, MBEDTLS_AES_ENCRYPT, t, t);

    if (rem != 0) full -= 1; /* the last full block takes part in the stealing */
    for (size_t j = 0; rc == 0 && j < full; j++) {
        rc = xts_block(&k1, mode, t, in + j * FK_AES_BLOCK, out + j * FK_AES_BLOCK);
        xts_mul_x(t);
    }
    if (rc == 0 && rem != 0) {
        /* Encryption: CC = E(P[m-1]) under T[m-1]; C[m] = CC's first rem
         * bytes; C[m-1] = E(P[m] || CC's rest) under T[m]. Decryption
         * swaps the two tweaks. The tail is saved before any write. */
        const size_t last = full * FK_AES_BLOCK;
        memcpy(t_next, t, sizeof(t));
        xts_mul_x(t_next);
        memcpy(tail, in + last + FK_AES_BLOCK, rem);
        rc = xts_block(&k1, mode, encrypt ? t : t_next, in + last, cc);
        if (rc == 0) {
            memcpy(out + last + FK_AES_BLOCK, cc, rem);
            memcpy(cc, tail, rem);
            rc = xts_block(&k1, mode, encrypt ? t_next : t, cc, out + last);
        }
    }
    mbedtls_aes_free(&k1);
    mbedtls_aes_free(&k2);
    fk_wipe(t, sizeof(t));
    fk_wipe(t_next, sizeof(t_next));
    fk_wipe(cc, sizeof(cc));
    fk_wipe(tail, sizeof(tail));
    return rc;
}

/* The other modes on one AES context; iv (16 bytes, copied: mbedTLS
 * updates it) unless ECB. */
static int aes_classic(fk_aes_mode_t mode, bool encrypt, const uint8_t *key, size_t key_len,
                       const uint8_t *iv, const uint8_t *in, size_t len, uint8_t *out)
{
    const int dir = encrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT;
    const unsigned bits = (unsigned)(key_len * 8u);
    /* CFB and OFB use the forward cipher both ways, as CTR does. */
    const bool dec_key = !encrypt && (mode == FK_AES_ECB || mode == FK_AES_CBC);
    uint8_t v[FK_AES_BLOCK], stream[FK_AES_BLOCK];
    size_t off = 0;
    mbedtls_aes_context c;
    int rc;

    if (iv != NULL) memcpy(v, iv, sizeof(v));
    else memset(v, 0, sizeof(v));
    memset(stream, 0, sizeof(stream));
    mbedtls_aes_init(&c);
    rc = dec_key ? mbedtls_aes_setkey_dec(&c, key, bits) : mbedtls_aes_setkey_enc(&c, key, bits);
    if (rc == 0 && len > 0) {
        switch (mode) {
        case FK_AES_ECB:
            for (size_t i = 0; rc == 0 && i < len; i += FK_AES_BLOCK)
                rc = mbedtls_aes_crypt_ecb(&c, dir, in + i, out + i);
            break;
        case FK_AES_CBC:
            rc = mbedtls_aes_crypt_cbc(&c, dir, len, v, in, out);
            break;
        case FK_AES_CFB128:
            rc = mbedtls_aes_crypt_cfb128(&c, dir, len, &off, v, in, out);
            break;
        case FK_AES_OFB:
            rc = mbedtls_aes_crypt_ofb(&c, len, &off, v, in, out);
            break;
        default: /* FK_AES_CTR */
            rc = mbedtls_aes_crypt_ctr(&c, len, &off, v, stream, in, out);
            break;
        }
    }
    mbedtls_aes_free(&c);
    fk_wipe(v, sizeof(v));
    fk_wipe(stream, sizeof(stream));
    return rc;
}

int fk_aes_crypt(fk_aes_mode_t mode, bool encrypt, const uint8_t *key, size_t key_len,
                 const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out)
{
    int rc;

    if (key == NULL || (len > 0 && (in == NULL || out == NULL)) || !no_partial_overlap(in, out, len))
        return FK_CRYPTO_EINVAL;
    switch (mode) {
    case FK_AES_ECB:
        if (!aes_key_len_ok(key_len) || iv_len != 0 || len % FK_AES_BLOCK != 0) return FK_CRYPTO_EINVAL;
        break;
    case FK_AES_CBC:
        if (len % FK_AES_BLOCK != 0) return FK_CRYPTO_EINVAL;
        /* fall through */
    case FK_AES_CFB128:
    case FK_AES_OFB:
    case FK_AES_CTR:
        if (!aes_key_len_ok(key_len) || iv == NULL || iv_len != FK_AES_BLOCK) return FK_CRYPTO_EINVAL;
        break;
    case FK_AES_XTS:
        if ((key_len != XTS_KEY_128 && key_len != XTS_KEY_256) || iv == NULL ||
            iv_len != FK_AES_BLOCK || len < FK_AES_BLOCK || len > XTS_MAX_LEN)
            return FK_CRYPTO_EINVAL;
        break;
    default:
        return FK_CRYPTO_EINVAL; /* the AEAD modes have their own functions */
    }

    rc = mode == FK_AES_XTS ? aes_xts(encrypt, key, key_len, iv, in, len, out)
                            : aes_classic(mode, encrypt, key, key_len, mode == FK_AES_ECB ? NULL : iv,
                                          in, len, out);
    if (rc != 0) {
        if (len > 0) fk_wipe(out, len);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

/* ---- AES, AEAD modes ---------------------------------------------------- */

/* The nonce, tag and length rules of GCM / CCM (sym.h). */
static bool aead_args_ok(fk_aes_mode_t mode, size_t key_len, size_t nonce_len, size_t aad_len,
                         size_t len, size_t tag_len)
{
    if (!aes_key_len_ok(key_len) || tag_len < AEAD_TAG_MIN || tag_len > FK_AES_TAG_MAX) return false;
    if (mode == FK_AES_GCM) return nonce_len >= 1 && nonce_len <= GCM_NONCE_MAX;
    if (mode != FK_AES_CCM) return false;
    if (nonce_len < CCM_NONCE_MIN || nonce_len > CCM_NONCE_MAX || tag_len % 2 != 0) return false;
    if (aad_len > CCM_AAD_MAX) return false;
    /* The message length must fit the q = 15 - nonce_len bytes CCM gives it. */
    const size_t q = CCM_BLOCK_LEN_Q(nonce_len);
    return q >= sizeof(size_t) || len < ((size_t)1 << (8u * q));
}

static bool aead_spans_ok(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                          size_t aad_len, const uint8_t *in, size_t len, const uint8_t *out,
                          const uint8_t *tag)
{
    return key != NULL && nonce != NULL && tag != NULL && span_ok(aad, aad_len) &&
           (len == 0 || (in != NULL && out != NULL)) && no_partial_overlap(in, out, len);
}

typedef enum { AEAD_SEAL, AEAD_OPEN } aead_dir_t;

/* One GCM or CCM operation; tag is written (seal) or checked (open). */
static int aes_aead(aead_dir_t dir, fk_aes_mode_t mode, const uint8_t *key, size_t key_len,
                    const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                    const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag_out,
                    const uint8_t *tag_in, size_t tag_len)
{
    const unsigned bits = (unsigned)(key_len * 8u);
    uint8_t dummy[1];
    uint8_t *o = out != NULL ? out : dummy;
    const unsigned char *i = (const unsigned char *)nonnull(in);
    const unsigned char *a = (const unsigned char *)nonnull(aad);
    int rc;

    if (mode == FK_AES_GCM) {
        mbedtls_gcm_context c;
        mbedtls_gcm_init(&c);
        rc = mbedtls_gcm_setkey(&c, MBEDTLS_CIPHER_ID_AES, key, bits);
        if (rc == 0)
            rc = dir == AEAD_SEAL
                     ? mbedtls_gcm_crypt_and_tag(&c, MBEDTLS_GCM_ENCRYPT, len, nonce, nonce_len, a,
                                                 aad_len, i, o, tag_len, tag_out)
                     : mbedtls_gcm_auth_decrypt(&c, len, nonce, nonce_len, a, aad_len, tag_in,
                                                tag_len, i, o);
        mbedtls_gcm_free(&c);
        if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED) return FK_CRYPTO_EAUTH;
    } else {
        mbedtls_ccm_context c;
        mbedtls_ccm_init(&c);
        rc = mbedtls_ccm_setkey(&c, MBEDTLS_CIPHER_ID_AES, key, bits);
        if (rc == 0)
            rc = dir == AEAD_SEAL
                     ? mbedtls_ccm_encrypt_and_tag(&c, len, nonce, nonce_len, a, aad_len, i, o,
                                                   tag_out, tag_len)
                     : mbedtls_ccm_auth_decrypt(&c, len, nonce, nonce_len, a, aad_len, i, o,
                                                tag_in, tag_len);
        mbedtls_ccm_free(&c);
        if (rc == MBEDTLS_ERR_CCM_AUTH_FAILED) return FK_CRYPTO_EAUTH;
    }
    return rc == 0 ? FK_CRYPTO_OK : FK_CRYPTO_EFAIL;
}

int fk_aes_aead_seal(fk_aes_mode_t mode, const uint8_t *key, size_t key_len,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag, size_t tag_len)
{
    if (!aead_spans_ok(key, nonce, aad, aad_len, in, len, out, tag) ||
        !aead_args_ok(mode, key_len, nonce_len, aad_len, len, tag_len))
        return FK_CRYPTO_EINVAL;
    int rc = aes_aead(AEAD_SEAL, mode, key, key_len, nonce, nonce_len, aad, aad_len, in, len, out,
                      tag, NULL, tag_len);
    if (rc != FK_CRYPTO_OK) {
        if (len > 0) fk_wipe(out, len);
        fk_wipe(tag, tag_len);
    }
    return rc;
}

int fk_aes_aead_open(fk_aes_mode_t mode, const uint8_t *key, size_t key_len,
                     const uint8_t *nonce, size_t nonce_len, const uint8_t *aad, size_t aad_len,
                     const uint8_t *in, size_t len, const uint8_t *tag, size_t tag_len,
                     uint8_t *out)
{
    if (!aead_spans_ok(key, nonce, aad, aad_len, in, len, out, tag) ||
        !aead_args_ok(mode, key_len, nonce_len, aad_len, len, tag_len))
        return FK_CRYPTO_EINVAL;
    int rc = aes_aead(AEAD_OPEN, mode, key, key_len, nonce, nonce_len, aad, aad_len, in, len, out,
                      NULL, tag, tag_len);
    if (rc != FK_CRYPTO_OK && len > 0) fk_wipe(out, len); /* nothing unauthenticated leaves */
    return rc;
}

/* ---- AES-CMAC (NIST SP 800-38B) ----------------------------------------- */

int fk_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                uint8_t out[FK_CMAC_LEN])
{
    mbedtls_cipher_type_t type;

    if (key == NULL || out == NULL || !span_ok(msg, len)) return FK_CRYPTO_EINVAL;
    switch (key_len) {
    case AES_KEY_MIN: type = MBEDTLS_CIPHER_AES_128_ECB; break;
    case AES_KEY_MID: type = MBEDTLS_CIPHER_AES_192_ECB; break;
    case AES_KEY_MAX: type = MBEDTLS_CIPHER_AES_256_ECB; break;
    default: return FK_CRYPTO_EINVAL;
    }
    /* mbedTLS sets the cipher up, MACs and frees (zeroizing) its contexts. */
    if (mbedtls_cipher_cmac(mbedtls_cipher_info_from_type(type), key, key_len * 8u,
                            (const unsigned char *)nonnull(msg), len, out) != 0) {
        fk_wipe(out, FK_CMAC_LEN);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

/* ---- ChaCha20-Poly1305 with a caller's key ------------------------------ */

int fk_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                       uint8_t tag[16])
{
    if (!no_partial_overlap(in, out, len)) return FK_CRYPTO_EINVAL;
    return fk_aead_seal(key, nonce, aad, aad_len, in, len, out, tag);
}

int fk_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                       uint8_t *out)
{
    if (!no_partial_overlap(in, out, len)) return FK_CRYPTO_EINVAL;
    return fk_aead_open(key, nonce, aad, aad_len, in, len, tag, out);
}
