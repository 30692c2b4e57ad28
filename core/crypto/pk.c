/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk.c - RSA, ECDSA, ECDH, X25519/X448 and the private key blob on top of
 * mbedTLS 2.28 (rsa, ecp, ecdsa, ecdh, md), with X25519 and X448 on
 * libdecaf 1.0 (its Montgomery ladder and fixed-base tables are several
 * times faster than mbedTLS's generic ones; see "Montgomery curves" below)
 * and secp256k1 on libsecp256k1 (pk_k1.c; see "secp256k1" below).
 *
 * IMPLEMENTATION NOTE: memory. As in crypto.c our code allocates nothing:
 * the mbedTLS contexts (an RSA context is about 400 bytes, an EC key pair
 * about 350) live on the stack for one operation and are freed before
 * returning, which zeroizes every bignum limb mbedTLS allocated; only the
 * warm curve groups (public data, "Warm curve groups" below) and
 * libsecp256k1's context (pk_k1.c) outlive a call. The RSA
 * decryption paddings of mbedTLS use a MBEDTLS_MPI_MAX_SIZE (1 KiB) buffer
 * on their own stack; the RP2350 build must leave room for it.
 *
 * IMPLEMENTATION NOTE: keys. A private key is only ever a blob held by the
 * caller (docs/keys.md). Each operation loads it into a context, uses it
 * and frees the context, so no key outlives the call in this module. RSA
 * blobs carry the CRT values, written straight into the context's DP, DQ
 * and QP members (public fields in mbedTLS 2.28) so that mbedtls_rsa_complete
 * has nothing to deduce: loading costs no modular inversion.
 *
 * IMPLEMENTATION NOTE: side channels. Every private-key operation is given
 * the DRBG as random source, so mbedTLS blinds it: RSA base and exponent
 * blinding (mbedtls_rsa_private, which also checks its result with the
 * public key against fault attacks), randomized projective coordinates in
 * EC scalar multiplication, and a blinded inversion in ECDSA. ECDSA nonces
 * come from the DRBG. PKCS#1 v1.5 and OAEP decoding are mbedTLS's
 * constant-time decoders; only the final ok/bad result is observable.
 * Blinding, not the bignum arithmetic, is what keeps exponent and scalar
 * from leaking: we do not assume mbedTLS's multi-precision code runs in
 * constant time on every core (the RP2350's XIP cache included).
 *
 * IMPLEMENTATION NOTE: keepalive. RSA prime search has no progress callback
 * in mbedTLS; it asks the random generator for each prime candidate and each
 * Miller-Rabin witness, so our RNG callback calls the keepalive hook when
 * FK_PK_KEEPALIVE_MS have passed since the last call. On a slow core one
 * Miller-Rabin round of a 2048-bit prime can itself take longer than that.
 */
#include "crypto/pk.h"
#include "crypto/pk_backend.h"
#include "crypto/pk_k1.h"
#include "crypto/rsa_gen.h"

#include <limits.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/hmac_drbg.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>

#include <decaf/point_255.h>
#include <decaf/point_448.h>

#include "hal.h"
#include "util.h"

#define DER_SEQUENCE 0x30u
#define DER_INTEGER 0x02u
#define DER_LEN_1BYTE 0x81u   /* long form, one length byte */
#define DER_SHORT_MAX 0x7Fu
#define EC_POINT_UNCOMPRESSED 0x04u
#define PKCS1_V15_OVERHEAD 11u /* 00 01 FF*8 00 */
#define PSS_OVERHEAD 2u        /* 0x01 separator and 0xBC trailer */
#define BLOB_OFF_VERSION 0u
#define BLOB_OFF_TYPE 1u
#define BLOB_OFF_PARAM 2u
#define COMPONENT_LEN_BYTES 2u

_Static_assert(FK_PK_BLOB_MAX <= 4096u - 100u, "an RSA-4096 blob must fit a sealed record");

/* A non-NULL pointer to hand mbedTLS for zero-length inputs. */
static const uint8_t k_empty[1];

/* ---- Random bits for mbedTLS, with the keepalive hook -------------------- */

typedef struct rng_ctx {
    fk_keepalive_fn keepalive;
    void *arg;
    uint64_t last_ms;
    bool failed; /* fk_rng_bytes failed at least once */
} rng_ctx_t;

static void rng_init(rng_ctx_t *r, fk_keepalive_fn keepalive, void *arg)
{
    r->keepalive = keepalive;
    r->arg = arg;
    r->last_ms = keepalive != NULL ? fk_hal_millis() : 0;
    r->failed = false;
}

/* rsa_gen's tick while core 0 waits for the second core: the keepalive
 * when it is due. */
static void rng_tick(void *ctx)
{
    rng_ctx_t *r = (rng_ctx_t *)ctx;
    if (r->keepalive != NULL) {
        uint64_t now = fk_hal_millis();
        if (now - r->last_ms >= FK_PK_KEEPALIVE_MS) {
            r->keepalive(r->arg);
            r->last_ms = now;
        }
    }
}

/* mbedTLS f_rng: DRBG bytes; calls the keepalive hook when it is due. */
static int rng_cb(void *ctx, unsigned char *out, size_t len)
{
    rng_ctx_t *r = (rng_ctx_t *)ctx;

    rng_tick(r);
    if (fk_rng_bytes(out, len) != FK_CRYPTO_OK) {
        r->failed = true;
        return MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED;
    }
    return 0;
}

/* Map an mbedTLS failure: a failed RNG wins over whatever mbedTLS said. */
static int lib_error(const rng_ctx_t *r)
{
    return (r != NULL && r->failed) ? FK_CRYPTO_ERNG : FK_CRYPTO_EFAIL;
}

/* ---- Hashes -------------------------------------------------------------- */

static const struct {
    mbedtls_md_type_t md;
    uint8_t len;
    uint8_t prefix_len;
    uint8_t prefix[19];
} k_hashes[] = {
    [FK_HASH_SHA1] = {MBEDTLS_MD_SHA1, 20, 15,
                      {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05,
                       0x00, 0x04, 0x14}},
    [FK_HASH_SHA224] = {MBEDTLS_MD_SHA224, 28, 19,
                        {0x30, 0x2D, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1C}},
    [FK_HASH_SHA256] = {MBEDTLS_MD_SHA256, 32, 19,
                        {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}},
    [FK_HASH_SHA384] = {MBEDTLS_MD_SHA384, 48, 19,
                        {0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}},
    [FK_HASH_SHA512] = {MBEDTLS_MD_SHA512, 64, 19,
                        {0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                         0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}},
};

static bool hash_ok(fk_hash_t h) { return h >= FK_HASH_SHA1 && h <= FK_HASH_SHA512; }

size_t fk_hash_len(fk_hash_t h) { return hash_ok(h) ? k_hashes[h].len : 0; }

static mbedtls_md_type_t hash_md(fk_hash_t h)
{
    return hash_ok(h) ? k_hashes[h].md : MBEDTLS_MD_NONE;
}

fk_hash_t fk_hash_from_len(size_t len)
{
    for (int h = FK_HASH_SHA1; h <= FK_HASH_SHA512; h++)
        if (k_hashes[h].len == len) return (fk_hash_t)h;
    return FK_HASH_NONE;
}

int fk_hash(fk_hash_t h, const void *data, size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *md;

    if (!hash_ok(h) || out == NULL || (data == NULL && len)) return FK_CRYPTO_EINVAL;
    md = mbedtls_md_info_from_type(hash_md(h));
    if (md == NULL) return FK_CRYPTO_EFAIL;
    if (mbedtls_md(md, (const unsigned char *)(data != NULL ? data : k_empty), len, out) != 0) {
        fk_wipe(out, k_hashes[h].len);
        return FK_CRYPTO_EFAIL;
    }
    return FK_CRYPTO_OK;
}

const uint8_t *fk_digestinfo_prefix(fk_hash_t h, size_t *len)
{
    if (!hash_ok(h)) return NULL;
    if (len != NULL) *len = k_hashes[h].prefix_len;
    return k_hashes[h].prefix;
}

int fk_digestinfo_parse(const uint8_t *in, size_t len, fk_hash_t *h, const uint8_t **digest)
{
    if (in == NULL || h == NULL || digest == NULL) return FK_CRYPTO_EINVAL;
    for (int i = FK_HASH_SHA1; i <= FK_HASH_SHA512; i++) {
        size_t pl = k_hashes[i].prefix_len;
        if (len == pl + k_hashes[i].len && memcmp(in, k_hashes[i].prefix, pl) == 0) {
            *h = (fk_hash_t)i;
            *digest = in + pl;
            return FK_CRYPTO_OK;
        }
    }
    return FK_CRYPTO_EINVAL;
}

/* ---- Curves ---------------------------------------------------------------
 * Domain parameters: SEC 2 v2 (secp*), RFC 5639 (brainpool), RFC 7748
 * (Curve25519/448). tests/unit/pk compares them with OpenSSL's explicit
 * parameters and mbedTLS's groups. */

/* secp192r1: 192-bit field, order 24 bytes, cofactor 1 */
static const uint8_t k_secp192r1_p[24] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};
static const uint8_t k_secp192r1_a[24] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC,
};
static const uint8_t k_secp192r1_b[24] = {
    0x64, 0x21, 0x05, 0x19, 0xE5, 0x9C, 0x80, 0xE7, 0x0F, 0xA7, 0xE9, 0xAB,
    0x72, 0x24, 0x30, 0x49, 0xFE, 0xB8, 0xDE, 0xEC, 0xC1, 0x46, 0xB9, 0xB1,
};
static const uint8_t k_secp192r1_g[49] = {
    0x04, 0x18, 0x8D, 0xA8, 0x0E, 0xB0, 0x30, 0x90, 0xF6, 0x7C, 0xBF, 0x20,
    0xEB, 0x43, 0xA1, 0x88, 0x00, 0xF4, 0xFF, 0x0A, 0xFD, 0x82, 0xFF, 0x10,
    0x12, 0x07, 0x19, 0x2B, 0x95, 0xFF, 0xC8, 0xDA, 0x78, 0x63, 0x10, 0x11,
    0xED, 0x6B, 0x24, 0xCD, 0xD5, 0x73, 0xF9, 0x77, 0xA1, 0x1E, 0x79, 0x48,
    0x11,
};
static const uint8_t k_secp192r1_n[24] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x99, 0xDE, 0xF8, 0x36, 0x14, 0x6B, 0xC9, 0xB1, 0xB4, 0xD2, 0x28, 0x31,
};

/* secp256r1: 256-bit field, order 32 bytes, cofactor 1 */
static const uint8_t k_secp256r1_p[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};
static const uint8_t k_secp256r1_a[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC,
};
static const uint8_t k_secp256r1_b[32] = {
    0x5A, 0xC6, 0x35, 0xD8, 0xAA, 0x3A, 0x93, 0xE7, 0xB3, 0xEB, 0xBD, 0x55,
    0x76, 0x98, 0x86, 0xBC, 0x65, 0x1D, 0x06, 0xB0, 0xCC, 0x53, 0xB0, 0xF6,
    0x3B, 0xCE, 0x3C, 0x3E, 0x27, 0xD2, 0x60, 0x4B,
};
static const uint8_t k_secp256r1_g[65] = {
    0x04, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6,
    0xE5, 0x63, 0xA4, 0x40, 0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33,
    0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2, 0x96, 0x4F, 0xE3, 0x42,
    0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB, 0x4A, 0x7C, 0x0F, 0x9E,
    0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31, 0x5E, 0xCE, 0xCB, 0xB6, 0x40,
    0x68, 0x37, 0xBF, 0x51, 0xF5,
};
static const uint8_t k_secp256r1_n[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84,
    0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
};

/* secp384r1: 384-bit field, order 48 bytes, cofactor 1 */
static const uint8_t k_secp384r1_p[48] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
};
static const uint8_t k_secp384r1_a[48] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFC,
};
static const uint8_t k_secp384r1_b[48] = {
    0xB3, 0x31, 0x2F, 0xA7, 0xE2, 0x3E, 0xE7, 0xE4, 0x98, 0x8E, 0x05, 0x6B,
    0xE3, 0xF8, 0x2D, 0x19, 0x18, 0x1D, 0x9C, 0x6E, 0xFE, 0x81, 0x41, 0x12,
    0x03, 0x14, 0x08, 0x8F, 0x50, 0x13, 0x87, 0x5A, 0xC6, 0x56, 0x39, 0x8D,
    0x8A, 0x2E, 0xD1, 0x9D, 0x2A, 0x85, 0xC8, 0xED, 0xD3, 0xEC, 0x2A, 0xEF,
};
static const uint8_t k_secp384r1_g[97] = {
    0x04, 0xAA, 0x87, 0xCA, 0x22, 0xBE, 0x8B, 0x05, 0x37, 0x8E, 0xB1, 0xC7,
    0x1E, 0xF3, 0x20, 0xAD, 0x74, 0x6E, 0x1D, 0x3B, 0x62, 0x8B, 0xA7, 0x9B,
    0x98, 0x59, 0xF7, 0x41, 0xE0, 0x82, 0x54, 0x2A, 0x38, 0x55, 0x02, 0xF2,
    0x5D, 0xBF, 0x55, 0x29, 0x6C, 0x3A, 0x54, 0x5E, 0x38, 0x72, 0x76, 0x0A,
    0xB7, 0x36, 0x17, 0xDE, 0x4A, 0x96, 0x26, 0x2C, 0x6F, 0x5D, 0x9E, 0x98,
    0xBF, 0x92, 0x92, 0xDC, 0x29, 0xF8, 0xF4, 0x1D, 0xBD, 0x28, 0x9A, 0x14,
    0x7C, 0xE9, 0xDA, 0x31, 0x13, 0xB5, 0xF0, 0xB8, 0xC0, 0x0A, 0x60, 0xB1,
    0xCE, 0x1D, 0x7E, 0x81, 0x9D, 0x7A, 0x43, 0x1D, 0x7C, 0x90, 0xEA, 0x0E,
    0x5F,
};
static const uint8_t k_secp384r1_n[48] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37, 0x2D, 0xDF, 0x58, 0x1A, 0x0D, 0xB2,
    0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC, 0xC5, 0x29, 0x73,
};

/* secp521r1: 521-bit field, order 66 bytes, cofactor 1 */
static const uint8_t k_secp521r1_p[66] = {
    0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};
static const uint8_t k_secp521r1_a[66] = {
    0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC,
};
static const uint8_t k_secp521r1_b[66] = {
    0x00, 0x51, 0x95, 0x3E, 0xB9, 0x61, 0x8E, 0x1C, 0x9A, 0x1F, 0x92, 0x9A,
    0x21, 0xA0, 0xB6, 0x85, 0x40, 0xEE, 0xA2, 0xDA, 0x72, 0x5B, 0x99, 0xB3,
    0x15, 0xF3, 0xB8, 0xB4, 0x89, 0x91, 0x8E, 0xF1, 0x09, 0xE1, 0x56, 0x19,
    0x39, 0x51, 0xEC, 0x7E, 0x93, 0x7B, 0x16, 0x52, 0xC0, 0xBD, 0x3B, 0xB1,
    0xBF, 0x07, 0x35, 0x73, 0xDF, 0x88, 0x3D, 0x2C, 0x34, 0xF1, 0xEF, 0x45,
    0x1F, 0xD4, 0x6B, 0x50, 0x3F, 0x00,
};
static const uint8_t k_secp521r1_g[133] = {
    0x04, 0x00, 0xC6, 0x85, 0x8E, 0x06, 0xB7, 0x04, 0x04, 0xE9, 0xCD, 0x9E,
    0x3E, 0xCB, 0x66, 0x23, 0x95, 0xB4, 0x42, 0x9C, 0x64, 0x81, 0x39, 0x05,
    0x3F, 0xB5, 0x21, 0xF8, 0x28, 0xAF, 0x60, 0x6B, 0x4D, 0x3D, 0xBA, 0xA1,
    0x4B, 0x5E, 0x77, 0xEF, 0xE7, 0x59, 0x28, 0xFE, 0x1D, 0xC1, 0x27, 0xA2,
    0xFF, 0xA8, 0xDE, 0x33, 0x48, 0xB3, 0xC1, 0x85, 0x6A, 0x42, 0x9B, 0xF9,
    0x7E, 0x7E, 0x31, 0xC2, 0xE5, 0xBD, 0x66, 0x01, 0x18, 0x39, 0x29, 0x6A,
    0x78, 0x9A, 0x3B, 0xC0, 0x04, 0x5C, 0x8A, 0x5F, 0xB4, 0x2C, 0x7D, 0x1B,
    0xD9, 0x98, 0xF5, 0x44, 0x49, 0x57, 0x9B, 0x44, 0x68, 0x17, 0xAF, 0xBD,
    0x17, 0x27, 0x3E, 0x66, 0x2C, 0x97, 0xEE, 0x72, 0x99, 0x5E, 0xF4, 0x26,
    0x40, 0xC5, 0x50, 0xB9, 0x01, 0x3F, 0xAD, 0x07, 0x61, 0x35, 0x3C, 0x70,
    0x86, 0xA2, 0x72, 0xC2, 0x40, 0x88, 0xBE, 0x94, 0x76, 0x9F, 0xD1, 0x66,
    0x50,
};
static const uint8_t k_secp521r1_n[66] = {
    0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFA, 0x51, 0x86,
    0x87, 0x83, 0xBF, 0x2F, 0x96, 0x6B, 0x7F, 0xCC, 0x01, 0x48, 0xF7, 0x09,
    0xA5, 0xD0, 0x3B, 0xB5, 0xC9, 0xB8, 0x89, 0x9C, 0x47, 0xAE, 0xBB, 0x6F,
    0xB7, 0x1E, 0x91, 0x38, 0x64, 0x09,
};

/* bp256r1: 256-bit field, order 32 bytes, cofactor 1 */
static const uint8_t k_bp256r1_p[32] = {
    0xA9, 0xFB, 0x57, 0xDB, 0xA1, 0xEE, 0xA9, 0xBC, 0x3E, 0x66, 0x0A, 0x90,
    0x9D, 0x83, 0x8D, 0x72, 0x6E, 0x3B, 0xF6, 0x23, 0xD5, 0x26, 0x20, 0x28,
    0x20, 0x13, 0x48, 0x1D, 0x1F, 0x6E, 0x53, 0x77,
};
static const uint8_t k_bp256r1_a[32] = {
    0x7D, 0x5A, 0x09, 0x75, 0xFC, 0x2C, 0x30, 0x57, 0xEE, 0xF6, 0x75, 0x30,
    0x41, 0x7A, 0xFF, 0xE7, 0xFB, 0x80, 0x55, 0xC1, 0x26, 0xDC, 0x5C, 0x6C,
    0xE9, 0x4A, 0x4B, 0x44, 0xF3, 0x30, 0xB5, 0xD9,
};
static const uint8_t k_bp256r1_b[32] = {
    0x26, 0xDC, 0x5C, 0x6C, 0xE9, 0x4A, 0x4B, 0x44, 0xF3, 0x30, 0xB5, 0xD9,
    0xBB, 0xD7, 0x7C, 0xBF, 0x95, 0x84, 0x16, 0x29, 0x5C, 0xF7, 0xE1, 0xCE,
    0x6B, 0xCC, 0xDC, 0x18, 0xFF, 0x8C, 0x07, 0xB6,
};
static const uint8_t k_bp256r1_g[65] = {
    0x04, 0x8B, 0xD2, 0xAE, 0xB9, 0xCB, 0x7E, 0x57, 0xCB, 0x2C, 0x4B, 0x48,
    0x2F, 0xFC, 0x81, 0xB7, 0xAF, 0xB9, 0xDE, 0x27, 0xE1, 0xE3, 0xBD, 0x23,
    0xC2, 0x3A, 0x44, 0x53, 0xBD, 0x9A, 0xCE, 0x32, 0x62, 0x54, 0x7E, 0xF8,
    0x35, 0xC3, 0xDA, 0xC4, 0xFD, 0x97, 0xF8, 0x46, 0x1A, 0x14, 0x61, 0x1D,
    0xC9, 0xC2, 0x77, 0x45, 0x13, 0x2D, 0xED, 0x8E, 0x54, 0x5C, 0x1D, 0x54,
    0xC7, 0x2F, 0x04, 0x69, 0x97,
};
static const uint8_t k_bp256r1_n[32] = {
    0xA9, 0xFB, 0x57, 0xDB, 0xA1, 0xEE, 0xA9, 0xBC, 0x3E, 0x66, 0x0A, 0x90,
    0x9D, 0x83, 0x8D, 0x71, 0x8C, 0x39, 0x7A, 0xA3, 0xB5, 0x61, 0xA6, 0xF7,
    0x90, 0x1E, 0x0E, 0x82, 0x97, 0x48, 0x56, 0xA7,
};

/* bp384r1: 384-bit field, order 48 bytes, cofactor 1 */
static const uint8_t k_bp384r1_p[48] = {
    0x8C, 0xB9, 0x1E, 0x82, 0xA3, 0x38, 0x6D, 0x28, 0x0F, 0x5D, 0x6F, 0x7E,
    0x50, 0xE6, 0x41, 0xDF, 0x15, 0x2F, 0x71, 0x09, 0xED, 0x54, 0x56, 0xB4,
    0x12, 0xB1, 0xDA, 0x19, 0x7F, 0xB7, 0x11, 0x23, 0xAC, 0xD3, 0xA7, 0x29,
    0x90, 0x1D, 0x1A, 0x71, 0x87, 0x47, 0x00, 0x13, 0x31, 0x07, 0xEC, 0x53,
};
static const uint8_t k_bp384r1_a[48] = {
    0x7B, 0xC3, 0x82, 0xC6, 0x3D, 0x8C, 0x15, 0x0C, 0x3C, 0x72, 0x08, 0x0A,
    0xCE, 0x05, 0xAF, 0xA0, 0xC2, 0xBE, 0xA2, 0x8E, 0x4F, 0xB2, 0x27, 0x87,
    0x13, 0x91, 0x65, 0xEF, 0xBA, 0x91, 0xF9, 0x0F, 0x8A, 0xA5, 0x81, 0x4A,
    0x50, 0x3A, 0xD4, 0xEB, 0x04, 0xA8, 0xC7, 0xDD, 0x22, 0xCE, 0x28, 0x26,
};
static const uint8_t k_bp384r1_b[48] = {
    0x04, 0xA8, 0xC7, 0xDD, 0x22, 0xCE, 0x28, 0x26, 0x8B, 0x39, 0xB5, 0x54,
    0x16, 0xF0, 0x44, 0x7C, 0x2F, 0xB7, 0x7D, 0xE1, 0x07, 0xDC, 0xD2, 0xA6,
    0x2E, 0x88, 0x0E, 0xA5, 0x3E, 0xEB, 0x62, 0xD5, 0x7C, 0xB4, 0x39, 0x02,
    0x95, 0xDB, 0xC9, 0x94, 0x3A, 0xB7, 0x86, 0x96, 0xFA, 0x50, 0x4C, 0x11,
};
static const uint8_t k_bp384r1_g[97] = {
    0x04, 0x1D, 0x1C, 0x64, 0xF0, 0x68, 0xCF, 0x45, 0xFF, 0xA2, 0xA6, 0x3A,
    0x81, 0xB7, 0xC1, 0x3F, 0x6B, 0x88, 0x47, 0xA3, 0xE7, 0x7E, 0xF1, 0x4F,
    0xE3, 0xDB, 0x7F, 0xCA, 0xFE, 0x0C, 0xBD, 0x10, 0xE8, 0xE8, 0x26, 0xE0,
    0x34, 0x36, 0xD6, 0x46, 0xAA, 0xEF, 0x87, 0xB2, 0xE2, 0x47, 0xD4, 0xAF,
    0x1E, 0x8A, 0xBE, 0x1D, 0x75, 0x20, 0xF9, 0xC2, 0xA4, 0x5C, 0xB1, 0xEB,
    0x8E, 0x95, 0xCF, 0xD5, 0x52, 0x62, 0xB7, 0x0B, 0x29, 0xFE, 0xEC, 0x58,
    0x64, 0xE1, 0x9C, 0x05, 0x4F, 0xF9, 0x91, 0x29, 0x28, 0x0E, 0x46, 0x46,
    0x21, 0x77, 0x91, 0x81, 0x11, 0x42, 0x82, 0x03, 0x41, 0x26, 0x3C, 0x53,
    0x15,
};
static const uint8_t k_bp384r1_n[48] = {
    0x8C, 0xB9, 0x1E, 0x82, 0xA3, 0x38, 0x6D, 0x28, 0x0F, 0x5D, 0x6F, 0x7E,
    0x50, 0xE6, 0x41, 0xDF, 0x15, 0x2F, 0x71, 0x09, 0xED, 0x54, 0x56, 0xB3,
    0x1F, 0x16, 0x6E, 0x6C, 0xAC, 0x04, 0x25, 0xA7, 0xCF, 0x3A, 0xB6, 0xAF,
    0x6B, 0x7F, 0xC3, 0x10, 0x3B, 0x88, 0x32, 0x02, 0xE9, 0x04, 0x65, 0x65,
};

/* bp512r1: 512-bit field, order 64 bytes, cofactor 1 */
static const uint8_t k_bp512r1_p[64] = {
    0xAA, 0xDD, 0x9D, 0xB8, 0xDB, 0xE9, 0xC4, 0x8B, 0x3F, 0xD4, 0xE6, 0xAE,
    0x33, 0xC9, 0xFC, 0x07, 0xCB, 0x30, 0x8D, 0xB3, 0xB3, 0xC9, 0xD2, 0x0E,
    0xD6, 0x63, 0x9C, 0xCA, 0x70, 0x33, 0x08, 0x71, 0x7D, 0x4D, 0x9B, 0x00,
    0x9B, 0xC6, 0x68, 0x42, 0xAE, 0xCD, 0xA1, 0x2A, 0xE6, 0xA3, 0x80, 0xE6,
    0x28, 0x81, 0xFF, 0x2F, 0x2D, 0x82, 0xC6, 0x85, 0x28, 0xAA, 0x60, 0x56,
    0x58, 0x3A, 0x48, 0xF3,
};
static const uint8_t k_bp512r1_a[64] = {
    0x78, 0x30, 0xA3, 0x31, 0x8B, 0x60, 0x3B, 0x89, 0xE2, 0x32, 0x71, 0x45,
    0xAC, 0x23, 0x4C, 0xC5, 0x94, 0xCB, 0xDD, 0x8D, 0x3D, 0xF9, 0x16, 0x10,
    0xA8, 0x34, 0x41, 0xCA, 0xEA, 0x98, 0x63, 0xBC, 0x2D, 0xED, 0x5D, 0x5A,
    0xA8, 0x25, 0x3A, 0xA1, 0x0A, 0x2E, 0xF1, 0xC9, 0x8B, 0x9A, 0xC8, 0xB5,
    0x7F, 0x11, 0x17, 0xA7, 0x2B, 0xF2, 0xC7, 0xB9, 0xE7, 0xC1, 0xAC, 0x4D,
    0x77, 0xFC, 0x94, 0xCA,
};
static const uint8_t k_bp512r1_b[64] = {
    0x3D, 0xF9, 0x16, 0x10, 0xA8, 0x34, 0x41, 0xCA, 0xEA, 0x98, 0x63, 0xBC,
    0x2D, 0xED, 0x5D, 0x5A, 0xA8, 0x25, 0x3A, 0xA1, 0x0A, 0x2E, 0xF1, 0xC9,
    0x8B, 0x9A, 0xC8, 0xB5, 0x7F, 0x11, 0x17, 0xA7, 0x2B, 0xF2, 0xC7, 0xB9,
    0xE7, 0xC1, 0xAC, 0x4D, 0x77, 0xFC, 0x94, 0xCA, 0xDC, 0x08, 0x3E, 0x67,
    0x98, 0x40, 0x50, 0xB7, 0x5E, 0xBA, 0xE5, 0xDD, 0x28, 0x09, 0xBD, 0x63,
    0x80, 0x16, 0xF7, 0x23,
};
static const uint8_t k_bp512r1_g[129] = {
    0x04, 0x81, 0xAE, 0xE4, 0xBD, 0xD8, 0x2E, 0xD9, 0x64, 0x5A, 0x21, 0x32,
    0x2E, 0x9C, 0x4C, 0x6A, 0x93, 0x85, 0xED, 0x9F, 0x70, 0xB5, 0xD9, 0x16,
    0xC1, 0xB4, 0x3B, 0x62, 0xEE, 0xF4, 0xD0, 0x09, 0x8E, 0xFF, 0x3B, 0x1F,
    0x78, 0xE2, 0xD0, 0xD4, 0x8D, 0x50, 0xD1, 0x68, 0x7B, 0x93, 0xB9, 0x7D,
    0x5F, 0x7C, 0x6D, 0x50, 0x47, 0x40, 0x6A, 0x5E, 0x68, 0x8B, 0x35, 0x22,
    0x09, 0xBC, 0xB9, 0xF8, 0x22, 0x7D, 0xDE, 0x38, 0x5D, 0x56, 0x63, 0x32,
    0xEC, 0xC0, 0xEA, 0xBF, 0xA9, 0xCF, 0x78, 0x22, 0xFD, 0xF2, 0x09, 0xF7,
    0x00, 0x24, 0xA5, 0x7B, 0x1A, 0xA0, 0x00, 0xC5, 0x5B, 0x88, 0x1F, 0x81,
    0x11, 0xB2, 0xDC, 0xDE, 0x49, 0x4A, 0x5F, 0x48, 0x5E, 0x5B, 0xCA, 0x4B,
    0xD8, 0x8A, 0x27, 0x63, 0xAE, 0xD1, 0xCA, 0x2B, 0x2F, 0xA8, 0xF0, 0x54,
    0x06, 0x78, 0xCD, 0x1E, 0x0F, 0x3A, 0xD8, 0x08, 0x92,
};
static const uint8_t k_bp512r1_n[64] = {
    0xAA, 0xDD, 0x9D, 0xB8, 0xDB, 0xE9, 0xC4, 0x8B, 0x3F, 0xD4, 0xE6, 0xAE,
    0x33, 0xC9, 0xFC, 0x07, 0xCB, 0x30, 0x8D, 0xB3, 0xB3, 0xC9, 0xD2, 0x0E,
    0xD6, 0x63, 0x9C, 0xCA, 0x70, 0x33, 0x08, 0x70, 0x55, 0x3E, 0x5C, 0x41,
    0x4C, 0xA9, 0x26, 0x19, 0x41, 0x86, 0x61, 0x19, 0x7F, 0xAC, 0x10, 0x47,
    0x1D, 0xB1, 0xD3, 0x81, 0x08, 0x5D, 0xDA, 0xDD, 0xB5, 0x87, 0x96, 0x82,
    0x9C, 0xA9, 0x00, 0x69,
};

/* secp192k1: 192-bit field, order 24 bytes, cofactor 1 */
static const uint8_t k_secp192k1_p[24] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xEE, 0x37,
};
static const uint8_t k_secp192k1_a[24] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t k_secp192k1_b[24] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
};
static const uint8_t k_secp192k1_g[49] = {
    0x04, 0xDB, 0x4F, 0xF1, 0x0E, 0xC0, 0x57, 0xE9, 0xAE, 0x26, 0xB0, 0x7D,
    0x02, 0x80, 0xB7, 0xF4, 0x34, 0x1D, 0xA5, 0xD1, 0xB1, 0xEA, 0xE0, 0x6C,
    0x7D, 0x9B, 0x2F, 0x2F, 0x6D, 0x9C, 0x56, 0x28, 0xA7, 0x84, 0x41, 0x63,
    0xD0, 0x15, 0xBE, 0x86, 0x34, 0x40, 0x82, 0xAA, 0x88, 0xD9, 0x5E, 0x2F,
    0x9D,
};
static const uint8_t k_secp192k1_n[24] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0x26, 0xF2, 0xFC, 0x17, 0x0F, 0x69, 0x46, 0x6A, 0x74, 0xDE, 0xFD, 0x8D,
};

/* secp256k1: 256-bit field, order 32 bytes, cofactor 1 */
static const uint8_t k_secp256k1_p[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFC, 0x2F,
};
static const uint8_t k_secp256k1_a[32] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t k_secp256k1_b[32] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
};
static const uint8_t k_secp256k1_g[65] = {
    0x04, 0x79, 0xBE, 0x66, 0x7E, 0xF9, 0xDC, 0xBB, 0xAC, 0x55, 0xA0, 0x62,
    0x95, 0xCE, 0x87, 0x0B, 0x07, 0x02, 0x9B, 0xFC, 0xDB, 0x2D, 0xCE, 0x28,
    0xD9, 0x59, 0xF2, 0x81, 0x5B, 0x16, 0xF8, 0x17, 0x98, 0x48, 0x3A, 0xDA,
    0x77, 0x26, 0xA3, 0xC4, 0x65, 0x5D, 0xA4, 0xFB, 0xFC, 0x0E, 0x11, 0x08,
    0xA8, 0xFD, 0x17, 0xB4, 0x48, 0xA6, 0x85, 0x54, 0x19, 0x9C, 0x47, 0xD0,
    0x8F, 0xFB, 0x10, 0xD4, 0xB8,
};
static const uint8_t k_secp256k1_n[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B,
    0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
};

/* x25519: 255-bit field, order 32 bytes */
static const uint8_t k_x25519_p[32] = {
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xED,
};
static const uint8_t k_x25519_g[32] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
};
static const uint8_t k_x25519_n[32] = {
    0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x14, 0xDE, 0xF9, 0xDE, 0xA2, 0xF7, 0x9C, 0xD6,
    0x58, 0x12, 0x63, 0x1A, 0x5C, 0xF5, 0xD3, 0xED,
};

/* x448: 448-bit field, order 56 bytes */
static const uint8_t k_x448_p[56] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};
static const uint8_t k_x448_g[56] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
};
static const uint8_t k_x448_n[56] = {
    0x3F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0x7C, 0xCA, 0x23, 0xE9, 0xC4, 0x4E, 0xDB, 0x49,
    0xAE, 0xD6, 0x36, 0x90, 0x21, 0x6C, 0xC2, 0x72, 0x8D, 0xC5, 0x8F, 0x55,
    0x23, 0x78, 0xC2, 0x92, 0xAB, 0x58, 0x44, 0xF3,
};


/* Named-curve OIDs (content octets). */
static const uint8_t k_oid_secp192r1[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x01};
static const uint8_t k_oid_secp256r1[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const uint8_t k_oid_secp384r1[] = {0x2B, 0x81, 0x04, 0x00, 0x22};
static const uint8_t k_oid_secp521r1[] = {0x2B, 0x81, 0x04, 0x00, 0x23};
static const uint8_t k_oid_bp256r1[] = {0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07};
static const uint8_t k_oid_bp384r1[] = {0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B};
static const uint8_t k_oid_bp512r1[] = {0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D};
static const uint8_t k_oid_secp192k1[] = {0x2B, 0x81, 0x04, 0x00, 0x1F};
static const uint8_t k_oid_secp256k1[] = {0x2B, 0x81, 0x04, 0x00, 0x0A};
static const uint8_t k_oid_x25519[] = {0x2B, 0x65, 0x6E};
static const uint8_t k_oid_x448[] = {0x2B, 0x65, 0x6F};

#define WEIERSTRASS(id_, name, bits_, cof)                                                   \
    {                                                                                        \
        .id = (id_), .montgomery = false, .bits = (bits_),                                   \
        .field_len = (uint8_t)sizeof(k_##name##_p), .order_len = (uint8_t)sizeof(k_##name##_n), \
        .cofactor = (cof), .oid_len = (uint8_t)sizeof(k_oid_##name), .oid = k_oid_##name,     \
        .p = k_##name##_p, .a = k_##name##_a, .b = k_##name##_b, .g = k_##name##_g,           \
        .n = k_##name##_n, .g_len = sizeof(k_##name##_g)                                      \
    }
#define MONTGOMERY(id_, name, bits_, cof)                                                    \
    {                                                                                        \
        .id = (id_), .montgomery = true, .bits = (bits_),                                    \
        .field_len = (uint8_t)sizeof(k_##name##_p), .order_len = (uint8_t)sizeof(k_##name##_n), \
        .cofactor = (cof), .oid_len = (uint8_t)sizeof(k_oid_##name), .oid = k_oid_##name,     \
        .p = k_##name##_p, .a = NULL, .b = NULL, .g = k_##name##_g, .n = k_##name##_n,        \
        .g_len = sizeof(k_##name##_g)                                                         \
    }

#define COFACTOR_ONE 1u
#define COFACTOR_X25519 8u
#define COFACTOR_X448 4u

static const fk_curve_info_t k_curves[] = {
    [FK_CURVE_SECP192R1] = WEIERSTRASS(FK_CURVE_SECP192R1, secp192r1, 192, COFACTOR_ONE),
    [FK_CURVE_SECP256R1] = WEIERSTRASS(FK_CURVE_SECP256R1, secp256r1, 256, COFACTOR_ONE),
    [FK_CURVE_SECP384R1] = WEIERSTRASS(FK_CURVE_SECP384R1, secp384r1, 384, COFACTOR_ONE),
    [FK_CURVE_SECP521R1] = WEIERSTRASS(FK_CURVE_SECP521R1, secp521r1, 521, COFACTOR_ONE),
    [FK_CURVE_BP256R1] = WEIERSTRASS(FK_CURVE_BP256R1, bp256r1, 256, COFACTOR_ONE),
    [FK_CURVE_BP384R1] = WEIERSTRASS(FK_CURVE_BP384R1, bp384r1, 384, COFACTOR_ONE),
    [FK_CURVE_BP512R1] = WEIERSTRASS(FK_CURVE_BP512R1, bp512r1, 512, COFACTOR_ONE),
    [FK_CURVE_SECP192K1] = WEIERSTRASS(FK_CURVE_SECP192K1, secp192k1, 192, COFACTOR_ONE),
    [FK_CURVE_SECP256K1] = WEIERSTRASS(FK_CURVE_SECP256K1, secp256k1, 256, COFACTOR_ONE),
    [FK_CURVE_X25519] = MONTGOMERY(FK_CURVE_X25519, x25519, 255, COFACTOR_X25519),
    [FK_CURVE_X448] = MONTGOMERY(FK_CURVE_X448, x448, 448, COFACTOR_X448),
};

static const mbedtls_ecp_group_id k_group_ids[] = {
    [FK_CURVE_NONE] = MBEDTLS_ECP_DP_NONE,
    [FK_CURVE_SECP192R1] = MBEDTLS_ECP_DP_SECP192R1,
    [FK_CURVE_SECP256R1] = MBEDTLS_ECP_DP_SECP256R1,
    [FK_CURVE_SECP384R1] = MBEDTLS_ECP_DP_SECP384R1,
    [FK_CURVE_SECP521R1] = MBEDTLS_ECP_DP_SECP521R1,
    [FK_CURVE_BP256R1] = MBEDTLS_ECP_DP_BP256R1,
    [FK_CURVE_BP384R1] = MBEDTLS_ECP_DP_BP384R1,
    [FK_CURVE_BP512R1] = MBEDTLS_ECP_DP_BP512R1,
    [FK_CURVE_SECP192K1] = MBEDTLS_ECP_DP_SECP192K1,
    [FK_CURVE_SECP256K1] = MBEDTLS_ECP_DP_SECP256K1,
    [FK_CURVE_X25519] = MBEDTLS_ECP_DP_CURVE25519,
    [FK_CURVE_X448] = MBEDTLS_ECP_DP_CURVE448,
};

_Static_assert(FK_ARRAY_SIZE(k_curves) == FK_CURVE_LAST + 1, "one entry per curve");
_Static_assert(FK_ARRAY_SIZE(k_group_ids) == FK_CURVE_LAST + 1, "one group per curve");

fk_curve_t fk_pk_curve_of_group(mbedtls_ecp_group_id g)
{
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++)
        if (g != MBEDTLS_ECP_DP_NONE && k_group_ids[c] == g) return (fk_curve_t)c;
    return FK_CURVE_NONE;
}

const fk_curve_info_t *fk_curve_info(fk_curve_t c)
{
    if (c < FK_CURVE_FIRST || c > FK_CURVE_LAST) return NULL;
    return &k_curves[c];
}

fk_curve_t fk_curve_from_oid(const uint8_t *oid, size_t len)
{
    if (oid == NULL) return FK_CURVE_NONE;
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++)
        if (k_curves[c].oid_len == len && memcmp(k_curves[c].oid, oid, len) == 0)
            return (fk_curve_t)c;
    return FK_CURVE_NONE;
}

/* Skip leading zero bytes. */
static void strip_leading(const uint8_t **p, size_t *len)
{
    while (*len > 0 && (*p)[0] == 0) {
        (*p)++;
        (*len)--;
    }
}

/* Equal as unsigned big-endian integers (leading zeros ignored). */
static bool int_equal(const uint8_t *x, size_t xl, const uint8_t *y, size_t yl)
{
    strip_leading(&x, &xl);
    strip_leading(&y, &yl);
    return xl == yl && (xl == 0 || memcmp(x, y, xl) == 0);
}

/* True when b holds the small integer v in big- or little-endian form, with
 * any zero padding. */
static bool small_int_either_order(const uint8_t *b, size_t len, uint8_t v)
{
    size_t first = 0, last = len;
    while (first < len && b[first] == 0) first++;
    while (last > first && b[last - 1] == 0) last--;
    return last - first == 1 && b[first] == v;
}

fk_curve_t fk_curve_from_domain(const uint8_t *p, size_t p_len, const uint8_t *a, size_t a_len,
                                const uint8_t *g, size_t g_len)
{
    if (p == NULL) return FK_CURVE_NONE;
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        const fk_curve_info_t *ci = &k_curves[c];
        if (!int_equal(p, p_len, ci->p, ci->field_len)) continue;
        if (ci->montgomery) {
            /* The base point u sits in the last byte of the big-endian g. */
            if (g == NULL || !small_int_either_order(g, g_len, ci->g[ci->g_len - 1u]))
                continue;
            return (fk_curve_t)c;
        }
        if (a != NULL && !int_equal(a, a_len, ci->a, ci->field_len)) continue;
        if (g != NULL && (g_len != ci->g_len || memcmp(g, ci->g, g_len) != 0)) continue;
        return (fk_curve_t)c;
    }
    return FK_CURVE_NONE;
}

/* ---- Key blobs --------------------------------------------------------------
 * version(1) type(1) param(2, big-endian: RSA modulus bits, EC curve id)
 * then components, each a 2-byte big-endian length and the bytes:
 *   RSA:  n, e, d, p, q, dP, dQ, qInv
 *   EC:   d, Q           MONT: d, u
 * docs/keys.md has the details. */

typedef struct blob_reader {
    const uint8_t *p;
    const uint8_t *end;
    bool ok;
} blob_reader_t;

static fk_bytes_t read_component(blob_reader_t *r)
{
    fk_bytes_t b = {NULL, 0};
    size_t n;

    if (!r->ok || (size_t)(r->end - r->p) < COMPONENT_LEN_BYTES) {
        r->ok = false;
        return b;
    }
    n = fk_be16(r->p);
    r->p += COMPONENT_LEN_BYTES;
    if (n == 0 || (size_t)(r->end - r->p) < n) {
        r->ok = false;
        return b;
    }
    b.p = r->p;
    b.len = n;
    r->p += n;
    return b;
}

static size_t bitlen_of(const uint8_t *p, size_t len)
{
    strip_leading(&p, &len);
    if (len == 0) return 0;
    size_t bits = 8u * (len - 1u);
    for (uint8_t top = p[0]; top != 0; top >>= 1) bits++;
    return bits;
}

static int parse_rsa(blob_reader_t *r, uint16_t bits, fk_pk_key_t *k)
{
    size_t klen = ((size_t)bits + 7u) / 8u;

    if (bits < FK_PK_RSA_MIN_BITS || bits > FK_PK_RSA_MAX_BITS) return FK_CRYPTO_EINVAL;
    k->n = read_component(r);
    k->e = read_component(r);
    k->d = read_component(r);
    k->p = read_component(r);
    k->q = read_component(r);
    k->dp = read_component(r);
    k->dq = read_component(r);
    k->qinv = read_component(r);
    if (!r->ok) return FK_CRYPTO_EINVAL;
    if (k->n.len != klen || bitlen_of(k->n.p, k->n.len) != bits) return FK_CRYPTO_EINVAL;
    if (k->e.len > FK_PK_RSA_E_MAX_LEN || k->e.p[0] == 0 || (k->e.p[k->e.len - 1] & 1u) == 0)
        return FK_CRYPTO_EINVAL;
    if (k->d.len != klen) return FK_CRYPTO_EINVAL;
    size_t h = k->p.len;
    if (h > klen || k->q.len != h || k->dp.len != h || k->dq.len != h || k->qinv.len != h)
        return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

static int parse_ec(blob_reader_t *r, fk_pk_type_t type, uint16_t param, fk_pk_key_t *k)
{
    const fk_curve_info_t *ci = fk_curve_info((fk_curve_t)param);

    if (ci == NULL || ci->montgomery != (type == FK_PK_MONT)) return FK_CRYPTO_EINVAL;
    k->curve = ci->id;
    k->bits = ci->bits;
    k->d = read_component(r);
    k->pub = read_component(r);
    if (!r->ok) return FK_CRYPTO_EINVAL;
    if (ci->montgomery) {
        if (k->d.len != ci->field_len || k->pub.len != ci->field_len) return FK_CRYPTO_EINVAL;
    } else {
        if (k->d.len != ci->order_len || k->pub.len != ci->g_len ||
            k->pub.p[0] != EC_POINT_UNCOMPRESSED)
            return FK_CRYPTO_EINVAL;
    }
    return FK_CRYPTO_OK;
}

int fk_pk_parse(const uint8_t *blob, size_t len, fk_pk_key_t *key)
{
    blob_reader_t r;
    uint16_t param;
    int rc;

    if (key == NULL) return FK_CRYPTO_EINVAL;
    memset(key, 0, sizeof(*key));
    if (blob == NULL || len < FK_PK_BLOB_HEADER || len > FK_PK_BLOB_MAX) return FK_CRYPTO_EINVAL;
    if (blob[BLOB_OFF_VERSION] != FK_PK_BLOB_VERSION) return FK_CRYPTO_EINVAL;
    param = fk_be16(blob + BLOB_OFF_PARAM);
    r.p = blob + FK_PK_BLOB_HEADER;
    r.end = blob + len;
    r.ok = true;
    switch (blob[BLOB_OFF_TYPE]) {
    case FK_PK_RSA:
        key->type = FK_PK_RSA;
        key->bits = param;
        rc = parse_rsa(&r, param, key);
        break;
    case FK_PK_EC:
    case FK_PK_MONT:
        key->type = (fk_pk_type_t)blob[BLOB_OFF_TYPE];
        rc = parse_ec(&r, key->type, param, key);
        break;
    default:
        rc = FK_CRYPTO_EINVAL;
        break;
    }
    if (rc == FK_CRYPTO_OK && r.p != r.end) rc = FK_CRYPTO_EINVAL;
    if (rc != FK_CRYPTO_OK) memset(key, 0, sizeof(*key));
    return rc;
}

void fk_pk_public_of(const fk_pk_key_t *key, fk_pk_public_t *pub)
{
    memset(pub, 0, sizeof(*pub));
    pub->type = key->type;
    pub->curve = key->curve;
    pub->n = key->n;
    pub->e = key->e;
    pub->point = key->pub;
}

/* Blob writer: each failure sticks; the caller wipes a failed blob. */
typedef struct blob_writer {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool ok;
} blob_writer_t;

static void bw_init(blob_writer_t *w, uint8_t *blob, size_t cap, fk_pk_type_t type,
                    uint16_t param)
{
    w->p = blob;
    w->cap = cap;
    w->len = FK_PK_BLOB_HEADER;
    w->ok = blob != NULL && cap >= FK_PK_BLOB_HEADER;
    if (!w->ok) return;
    blob[BLOB_OFF_VERSION] = FK_PK_BLOB_VERSION;
    blob[BLOB_OFF_TYPE] = (uint8_t)type;
    fk_put_be16(blob + BLOB_OFF_PARAM, param);
}

/* Reserve one component of width bytes; NULL (and the writer failed) when
 * it does not fit. */
static uint8_t *bw_component(blob_writer_t *w, size_t width)
{
    if (!w->ok || width == 0 || width > UINT16_MAX ||
        w->cap - w->len < COMPONENT_LEN_BYTES + width) {
        w->ok = false;
        return NULL;
    }
    uint8_t *dst = w->p + w->len + COMPONENT_LEN_BYTES;
    fk_put_be16(w->p + w->len, (uint16_t)width);
    w->len += COMPONENT_LEN_BYTES + width;
    return dst;
}

static void bw_mpi(blob_writer_t *w, const mbedtls_mpi *x, size_t width, bool little_endian)
{
    uint8_t *dst = bw_component(w, width);
    if (dst == NULL) return;
    int rc = little_endian ? mbedtls_mpi_write_binary_le(x, dst, width)
                           : mbedtls_mpi_write_binary(x, dst, width);
    if (rc != 0) w->ok = false;
}

static void bw_point(blob_writer_t *w, const mbedtls_ecp_group *grp, const mbedtls_ecp_point *q,
                     size_t width)
{
    size_t olen = 0;
    uint8_t *dst = bw_component(w, width);
    if (dst == NULL) return;
    if (mbedtls_ecp_point_write_binary(grp, q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, dst,
                                       width) != 0 ||
        olen != width)
        w->ok = false;
}

/* Finish a blob: it must parse (a self-check of writer against parser). */
static int bw_finish(blob_writer_t *w, size_t *len)
{
    fk_pk_key_t check;

    if (w->ok && fk_pk_parse(w->p, w->len, &check) == FK_CRYPTO_OK) {
        *len = w->len;
        return FK_CRYPTO_OK;
    }
    if (w->p != NULL) fk_wipe(w->p, FK_MIN(w->len, w->cap));
    *len = 0;
    return FK_CRYPTO_EINVAL;
}

/* ---- RSA ------------------------------------------------------------------ */

/* Write the complete private key in rsa as a blob. */
static int rsa_write_blob(const mbedtls_rsa_context *rsa, uint8_t *blob, size_t cap, size_t *len)
{
    blob_writer_t w;
    size_t bits = mbedtls_mpi_bitlen(&rsa->N);
    size_t klen = mbedtls_mpi_size(&rsa->N);
    size_t h = FK_MAX(mbedtls_mpi_size(&rsa->P), mbedtls_mpi_size(&rsa->Q));

    if (bits < FK_PK_RSA_MIN_BITS || bits > FK_PK_RSA_MAX_BITS) return FK_CRYPTO_EINVAL;
    bw_init(&w, blob, cap, FK_PK_RSA, (uint16_t)bits);
    bw_mpi(&w, &rsa->N, klen, false);
    bw_mpi(&w, &rsa->E, mbedtls_mpi_size(&rsa->E), false);
    bw_mpi(&w, &rsa->D, klen, false);
    bw_mpi(&w, &rsa->P, h, false);
    bw_mpi(&w, &rsa->Q, h, false);
    bw_mpi(&w, &rsa->DP, h, false);
    bw_mpi(&w, &rsa->DQ, h, false);
    bw_mpi(&w, &rsa->QP, h, false);
    return bw_finish(&w, len);
}

/* Load a parsed private key into rsa (initialized here; the caller frees it
 * on every path). */
static int rsa_load_private(mbedtls_rsa_context *rsa, const fk_pk_key_t *k)
{
    mbedtls_rsa_init(rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    if (k == NULL || k->type != FK_PK_RSA) return FK_CRYPTO_EINVAL;
    if (mbedtls_rsa_import_raw(rsa, k->n.p, k->n.len, k->p.p, k->p.len, k->q.p, k->q.len,
                               k->d.p, k->d.len, k->e.p, k->e.len) != 0 ||
        mbedtls_mpi_read_binary(&rsa->DP, k->dp.p, k->dp.len) != 0 ||
        mbedtls_mpi_read_binary(&rsa->DQ, k->dq.p, k->dq.len) != 0 ||
        mbedtls_mpi_read_binary(&rsa->QP, k->qinv.p, k->qinv.len) != 0)
        return FK_CRYPTO_EFAIL;
    if (mbedtls_rsa_complete(rsa) != 0) return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

/* Load and check an RSA public key (the caller frees rsa). */
static int rsa_load_public(mbedtls_rsa_context *rsa, const fk_pk_public_t *pub)
{
    mbedtls_rsa_init(rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    if (pub == NULL || pub->type != FK_PK_RSA || pub->n.p == NULL || pub->e.p == NULL)
        return FK_CRYPTO_EINVAL;
    size_t bits = bitlen_of(pub->n.p, pub->n.len);
    if (bits < FK_PK_RSA_MIN_BITS || bits > FK_PK_RSA_MAX_BITS) return FK_CRYPTO_EINVAL;
    if (bitlen_of(pub->e.p, pub->e.len) > 8u * FK_PK_RSA_E_MAX_LEN) return FK_CRYPTO_EINVAL;
    if (mbedtls_rsa_import_raw(rsa, pub->n.p, pub->n.len, NULL, 0, NULL, 0, NULL, 0, pub->e.p,
                               pub->e.len) != 0)
        return FK_CRYPTO_EFAIL;
    if (mbedtls_rsa_complete(rsa) != 0 || mbedtls_rsa_check_pubkey(rsa) != 0)
        return FK_CRYPTO_EINVAL;
    if (mbedtls_mpi_cmp_int(&rsa->E, (mbedtls_mpi_sint)FK_PK_RSA_E_MIN) < 0)
        return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

int fk_pk_rsa_generate(unsigned bits, uint32_t e, fk_keepalive_fn keepalive, void *arg,
                       uint8_t *blob, size_t cap, size_t *len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    int rc;

    if (len == NULL) return FK_CRYPTO_EINVAL;
    *len = 0;
    if (bits < FK_PK_RSA_MIN_BITS || bits > FK_PK_RSA_MAX_BITS || bits % 8u != 0)
        return FK_CRYPTO_EINVAL;
    if (e < FK_PK_RSA_E_MIN || (e & 1u) == 0 || e > (uint32_t)INT_MAX) return FK_CRYPTO_EINVAL;

    rng_init(&rng, keepalive, arg);
    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    /* Both cores search primes when the port has two (rsa_gen.c). */
    if (fk_rsa_gen(&rsa, bits, e, rng_cb, &rng, rng_tick) != 0)
        rc = lib_error(&rng);
    else if (mbedtls_mpi_bitlen(&rsa.N) != bits)
        rc = FK_CRYPTO_EFAIL;
    else
        rc = rsa_write_blob(&rsa, blob, cap, len);
    mbedtls_rsa_free(&rsa);
    return rc;
}

int fk_pk_rsa_import(const fk_pk_rsa_parts_t *parts, uint8_t *blob, size_t cap, size_t *len)
{
    mbedtls_rsa_context rsa;
    int rc;

    if (len == NULL) return FK_CRYPTO_EINVAL;
    *len = 0;
    if (parts == NULL || parts->e.p == NULL) return FK_CRYPTO_EINVAL;
    if (parts->n.len > FK_PK_RSA_MAX_LEN + 1u || parts->d.len > FK_PK_RSA_MAX_LEN + 1u ||
        parts->p.len > FK_PK_RSA_MAX_LEN || parts->q.len > FK_PK_RSA_MAX_LEN ||
        bitlen_of(parts->e.p, parts->e.len) > 8u * FK_PK_RSA_E_MAX_LEN)
        return FK_CRYPTO_EINVAL;

    mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, MBEDTLS_MD_NONE);
    if (mbedtls_rsa_import_raw(&rsa, parts->n.len ? parts->n.p : NULL, parts->n.len,
                               parts->p.len ? parts->p.p : NULL, parts->p.len,
                               parts->q.len ? parts->q.p : NULL, parts->q.len,
                               parts->d.len ? parts->d.p : NULL, parts->d.len, parts->e.p,
                               parts->e.len) != 0)
        rc = FK_CRYPTO_EFAIL;
    else if (mbedtls_rsa_complete(&rsa) != 0 || mbedtls_rsa_check_privkey(&rsa) != 0 ||
             mbedtls_mpi_cmp_int(&rsa.E, (mbedtls_mpi_sint)FK_PK_RSA_E_MIN) < 0)
        rc = FK_CRYPTO_EINVAL;
    else
        rc = rsa_write_blob(&rsa, blob, cap, len);
    mbedtls_rsa_free(&rsa);
    return rc;
}

/* Common argument checks of the RSA private operations: the modulus length
 * k, and out must hold k bytes. */
static int rsa_out_check(const fk_pk_key_t *key, uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len != NULL) *out_len = 0;
    if (key == NULL || key->type != FK_PK_RSA || out == NULL || out_len == NULL)
        return FK_CRYPTO_EINVAL;
    if (cap < key->n.len) return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

/* A k-byte input that is below n as a big-endian integer (the input is a
 * ciphertext or a padded block: public data, memcmp is fine). */
static bool rsa_input_ok(const fk_pk_key_t *key, const uint8_t *in, size_t in_len)
{
    return in != NULL && in_len == key->n.len && memcmp(in, key->n.p, in_len) < 0;
}

/* Finish a private operation: on failure wipe the k bytes of out. */
static int rsa_done(mbedtls_rsa_context *rsa, int rc, const fk_pk_key_t *key, uint8_t *out,
                    size_t *out_len, size_t produced)
{
    mbedtls_rsa_free(rsa);
    if (rc != FK_CRYPTO_OK) {
        fk_wipe(out, key->n.len);
        *out_len = 0;
        return rc;
    }
    *out_len = produced;
    return FK_CRYPTO_OK;
}

int fk_pk_rsa_private(const fk_pk_key_t *key, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    int rc = rsa_out_check(key, out, cap, out_len);

    if (rc != FK_CRYPTO_OK) return rc;
    if (!rsa_input_ok(key, in, in_len)) return FK_CRYPTO_EINVAL;
    rng_init(&rng, NULL, NULL);
    rc = rsa_load_private(&rsa, key);
    if (rc == FK_CRYPTO_OK && mbedtls_rsa_private(&rsa, rng_cb, &rng, in, out) != 0)
        rc = lib_error(&rng);
    return rsa_done(&rsa, rc, key, out, out_len, key->n.len);
}

int fk_pk_rsa_sign_pkcs1(const fk_pk_key_t *key, fk_hash_t h, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    int rc = rsa_out_check(key, out, cap, out_len);

    if (rc != FK_CRYPTO_OK) return rc;
    if (in == NULL || in_len == 0 || in_len > UINT_MAX) return FK_CRYPTO_EINVAL;
    if (h == FK_HASH_NONE ? in_len + PKCS1_V15_OVERHEAD > key->n.len : in_len != fk_hash_len(h))
        return FK_CRYPTO_EINVAL;
    if (h != FK_HASH_NONE) {
        size_t pl;
        (void)fk_digestinfo_prefix(h, &pl);
        if (pl + in_len + PKCS1_V15_OVERHEAD > key->n.len) return FK_CRYPTO_EINVAL;
    }
    rng_init(&rng, NULL, NULL);
    rc = rsa_load_private(&rsa, key);
    if (rc == FK_CRYPTO_OK &&
        mbedtls_rsa_rsassa_pkcs1_v15_sign(&rsa, rng_cb, &rng, MBEDTLS_RSA_PRIVATE, hash_md(h),
                                          (unsigned int)in_len, in, out) != 0)
        rc = lib_error(&rng);
    return rsa_done(&rsa, rc, key, out, out_len, key->n.len);
}

int fk_pk_rsa_sign_pss(const fk_pk_key_t *key, fk_hash_t h, const uint8_t *hash, size_t hash_len,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    int rc = rsa_out_check(key, out, cap, out_len);

    if (rc != FK_CRYPTO_OK) return rc;
    if (!hash_ok(h) || hash == NULL || hash_len != fk_hash_len(h)) return FK_CRYPTO_EINVAL;
    /* mbedTLS needs room for the digest, the two framing bytes and a salt of
     * at least hLen - 2 bytes (so the salt is shortened only for SHA-512 on
     * RSA-1024). */
    if (hash_len + PSS_OVERHEAD + (hash_len - PSS_OVERHEAD) > key->n.len) return FK_CRYPTO_EINVAL;
    rng_init(&rng, NULL, NULL);
    rc = rsa_load_private(&rsa, key);
    if (rc == FK_CRYPTO_OK) mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, (int)hash_md(h));
    if (rc == FK_CRYPTO_OK &&
        mbedtls_rsa_rsassa_pss_sign_ext(&rsa, rng_cb, &rng, hash_md(h), (unsigned int)hash_len,
                                        hash, MBEDTLS_RSA_SALT_LEN_ANY, out) != 0)
        rc = lib_error(&rng);
    return rsa_done(&rsa, rc, key, out, out_len, key->n.len);
}

/* Map the result of an mbedTLS decryption with padding. */
static int decrypt_error(int mbed_rc, const rng_ctx_t *rng)
{
    if (mbed_rc == MBEDTLS_ERR_RSA_INVALID_PADDING) return FK_CRYPTO_EAUTH;
    if (mbed_rc == MBEDTLS_ERR_RSA_OUTPUT_TOO_LARGE) return FK_CRYPTO_EINVAL;
    return lib_error(rng);
}

int fk_pk_rsa_decrypt_pkcs1(const fk_pk_key_t *key, const uint8_t *in, size_t in_len,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    size_t olen = 0;
    int rc;

    if (out_len != NULL) *out_len = 0;
    if (key == NULL || key->type != FK_PK_RSA || out == NULL || out_len == NULL || cap == 0)
        return FK_CRYPTO_EINVAL;
    if (!rsa_input_ok(key, in, in_len)) return FK_CRYPTO_EINVAL;
    rng_init(&rng, NULL, NULL);
    rc = rsa_load_private(&rsa, key);
    if (rc == FK_CRYPTO_OK) {
        int m = mbedtls_rsa_rsaes_pkcs1_v15_decrypt(&rsa, rng_cb, &rng, MBEDTLS_RSA_PRIVATE,
                                                    &olen, in, out, cap);
        if (m != 0) rc = decrypt_error(m, &rng);
    }
    mbedtls_rsa_free(&rsa);
    if (rc != FK_CRYPTO_OK) {
        fk_wipe(out, FK_MIN(cap, key->n.len));
        return rc;
    }
    *out_len = olen;
    return FK_CRYPTO_OK;
}

int fk_pk_rsa_decrypt_oaep(const fk_pk_key_t *key, fk_hash_t h, const uint8_t *label,
                           size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    size_t olen = 0;
    int rc;

    if (out_len != NULL) *out_len = 0;
    if (key == NULL || key->type != FK_PK_RSA || out == NULL || out_len == NULL || cap == 0)
        return FK_CRYPTO_EINVAL;
    if (!hash_ok(h) || (label == NULL && label_len)) return FK_CRYPTO_EINVAL;
    if (!rsa_input_ok(key, in, in_len)) return FK_CRYPTO_EINVAL;
    rng_init(&rng, NULL, NULL);
    rc = rsa_load_private(&rsa, key);
    if (rc == FK_CRYPTO_OK) mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, (int)hash_md(h));
    if (rc == FK_CRYPTO_OK) {
        int m = mbedtls_rsa_rsaes_oaep_decrypt(&rsa, rng_cb, &rng, MBEDTLS_RSA_PRIVATE,
                                               label != NULL ? label : k_empty, label_len, &olen,
                                               in, out, cap);
        if (m != 0) rc = decrypt_error(m, &rng);
    }
    mbedtls_rsa_free(&rsa);
    if (rc != FK_CRYPTO_OK) {
        fk_wipe(out, FK_MIN(cap, key->n.len));
        return rc;
    }
    *out_len = olen;
    return FK_CRYPTO_OK;
}

int fk_pk_rsa_verify_pkcs1(const fk_pk_public_t *pub, fk_hash_t h, const uint8_t *in,
                           size_t in_len, const uint8_t *sig, size_t sig_len)
{
    mbedtls_rsa_context rsa;
    int rc;

    if (in == NULL || in_len == 0 || in_len > UINT_MAX || sig == NULL) return FK_CRYPTO_EINVAL;
    if (h != FK_HASH_NONE && in_len != fk_hash_len(h)) return FK_CRYPTO_EINVAL;
    rc = rsa_load_public(&rsa, pub);
    if (rc == FK_CRYPTO_OK) {
        if (sig_len != rsa.len ||
            mbedtls_rsa_rsassa_pkcs1_v15_verify(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, hash_md(h),
                                                (unsigned int)in_len, in, sig) != 0)
            rc = FK_CRYPTO_EAUTH;
    }
    mbedtls_rsa_free(&rsa);
    return rc;
}

int fk_pk_rsa_verify_pss(const fk_pk_public_t *pub, fk_hash_t h, const uint8_t *hash,
                         size_t hash_len, const uint8_t *sig, size_t sig_len)
{
    mbedtls_rsa_context rsa;
    int rc;

    if (!hash_ok(h) || hash == NULL || hash_len != fk_hash_len(h) || sig == NULL)
        return FK_CRYPTO_EINVAL;
    rc = rsa_load_public(&rsa, pub);
    if (rc == FK_CRYPTO_OK) {
        if (sig_len != rsa.len ||
            mbedtls_rsa_rsassa_pss_verify_ext(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, hash_md(h),
                                              (unsigned int)hash_len, hash, hash_md(h),
                                              MBEDTLS_RSA_SALT_LEN_ANY, sig) != 0)
            rc = FK_CRYPTO_EAUTH;
    }
    mbedtls_rsa_free(&rsa);
    return rc;
}

/* ---- RSA encryption with a public key ----------------------------------------- */

/* Load pub for an encryption into an rsa context (the caller frees it on
 * every path) and check out: it must hold the k-byte ciphertext. */
static int rsa_encrypt_begin(mbedtls_rsa_context *rsa, const fk_pk_public_t *pub, uint8_t *out,
                             size_t cap, size_t *out_len)
{
    if (out_len != NULL) *out_len = 0;
    int rc = rsa_load_public(rsa, pub);
    if (rc != FK_CRYPTO_OK) return rc;
    if (out == NULL || out_len == NULL || cap < rsa->len) return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

/* Finish an encryption: on failure wipe what out may hold. */
static int rsa_encrypt_done(mbedtls_rsa_context *rsa, int rc, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    const size_t k = rsa->len;
    mbedtls_rsa_free(rsa);
    if (rc != FK_CRYPTO_OK) {
        if (out != NULL) fk_wipe(out, FK_MIN(cap, k != 0 ? k : cap));
        if (out_len != NULL) *out_len = 0;
        return rc;
    }
    *out_len = k;
    return FK_CRYPTO_OK;
}

int fk_pk_rsa_encrypt_pkcs1(const fk_pk_public_t *pub, const uint8_t *in, size_t in_len,
                            uint8_t *out, size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    int rc = rsa_encrypt_begin(&rsa, pub, out, cap, out_len);

    /* EINVAL for a message longer than k - 11 (the 00 02 PS(8+) 00 frame),
     * before mbedTLS would say the same as a generic bad input. */
    if (rc == FK_CRYPTO_OK &&
        ((in == NULL && in_len != 0) || in_len > rsa.len || rsa.len - in_len < PKCS1_V15_OVERHEAD))
        rc = FK_CRYPTO_EINVAL;
    rng_init(&rng, NULL, NULL);
    if (rc == FK_CRYPTO_OK &&
        mbedtls_rsa_rsaes_pkcs1_v15_encrypt(&rsa, rng_cb, &rng, MBEDTLS_RSA_PUBLIC, in_len,
                                            in != NULL ? in : k_empty, out) != 0)
        rc = lib_error(&rng);
    return rsa_encrypt_done(&rsa, rc, out, cap, out_len);
}

int fk_pk_rsa_encrypt_oaep(const fk_pk_public_t *pub, fk_hash_t h, const uint8_t *label,
                           size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t cap, size_t *out_len)
{
    mbedtls_rsa_context rsa;
    rng_ctx_t rng;
    int rc = rsa_encrypt_begin(&rsa, pub, out, cap, out_len);
    const size_t hl = fk_hash_len(h);

    if (rc == FK_CRYPTO_OK && (!hash_ok(h) || (label == NULL && label_len != 0) ||
                               (in == NULL && in_len != 0)))
        rc = FK_CRYPTO_EINVAL;
    /* At most k - 2 hLen - 2 bytes (RFC 8017 7.1.1); none at all when the
     * modulus is too short for the hash (SHA-512 with RSA-1024). */
    if (rc == FK_CRYPTO_OK && (rsa.len < 2u * hl + 2u || in_len > rsa.len - 2u * hl - 2u))
        rc = FK_CRYPTO_EINVAL;
    rng_init(&rng, NULL, NULL);
    if (rc == FK_CRYPTO_OK) mbedtls_rsa_set_padding(&rsa, MBEDTLS_RSA_PKCS_V21, (int)hash_md(h));
    if (rc == FK_CRYPTO_OK &&
        mbedtls_rsa_rsaes_oaep_encrypt(&rsa, rng_cb, &rng, MBEDTLS_RSA_PUBLIC,
                                       label != NULL ? label : k_empty, label_len, in_len,
                                       in != NULL ? in : k_empty, out) != 0)
        rc = lib_error(&rng);
    return rsa_encrypt_done(&rsa, rc, out, cap, out_len);
}

/* ---- Elliptic curves --------------------------------------------------------- */

static mbedtls_ecp_group_id group_id(fk_curve_t c)
{
    return fk_curve_info(c) != NULL ? k_group_ids[c] : MBEDTLS_ECP_DP_NONE;
}

/* ---- Warm curve groups ------------------------------------------------------
 * IMPLEMENTATION NOTE: warm groups. Loading a curve group is cheap, but
 * mbedTLS also hangs on it the comb table of multiples of the base point that
 * its first multiplication by G builds (MBEDTLS_ECP_FIXED_POINT_OPTIM), and
 * building that table is about half of an ECDSA signature. The groups of the
 * last FK_PK_WARM_GROUPS curves used stay loaded here between operations,
 * table included; key generation, import, ECDSA, ECDH and the public-key
 * check all take their group from here. A group holds the public domain
 * parameters and public multiples of G only: nothing secret is kept, and
 * freeing it (mbedTLS's free, the arena's wipe) is not needed for secrecy.
 * Ownership: the slots own their groups; operations borrow a pointer for one
 * call and never free it. mbedTLS attaches the table to the group only once
 * it is complete (ecp.c, ecp_mul_comb), so a failed multiplication leaves the
 * group as it was; still, a group whose operation failed inside the library
 * is dropped (warm_drop), so that nothing half-made is ever reused. When a
 * load runs out of memory, the other warm groups are dropped and the load is
 * tried once more. On the device the groups live in the crypto arena, whose
 * budget counts them (docs/crypto.md, "The crypto arena"); the slots are
 * static, so a reset starts with none. */

typedef struct warm_group {
    mbedtls_ecp_group grp;
    fk_curve_t curve; /* FK_CURVE_NONE: the slot is empty */
    uint32_t used;    /* when last used (g_warm_clock), for LRU eviction */
} warm_group_t;

static warm_group_t g_warm[FK_PK_WARM_GROUPS];
static uint32_t g_warm_clock;

static void warm_free_slot(warm_group_t *w)
{
    if (w->curve != FK_CURVE_NONE) mbedtls_ecp_group_free(&w->grp);
    memset(w, 0, sizeof(*w));
}

void fk_pk_ec_forget(void)
{
    for (size_t i = 0; i < FK_PK_WARM_GROUPS; i++) warm_free_slot(&g_warm[i]);
    fk_k1_forget();
}

size_t fk_pk_ec_warm_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < FK_PK_WARM_GROUPS; i++) n += g_warm[i].curve != FK_CURVE_NONE;
    return n;
}

/* Drop the warm group grp (after a failed operation). */
static void warm_drop(const mbedtls_ecp_group *grp)
{
    for (size_t i = 0; i < FK_PK_WARM_GROUPS; i++)
        if (g_warm[i].curve != FK_CURVE_NONE && &g_warm[i].grp == grp) warm_free_slot(&g_warm[i]);
}

/* The group of curve c, loaded into a slot if it is not warm yet (the least
 * recently used slot is reused); NULL when it cannot be loaded. */
static mbedtls_ecp_group *warm_group(fk_curve_t c)
{
    warm_group_t *slot = NULL;

    if (group_id(c) == MBEDTLS_ECP_DP_NONE) return NULL;
    for (size_t i = 0; i < FK_PK_WARM_GROUPS; i++) {
        warm_group_t *w = &g_warm[i];
        if (w->curve == c) {
            w->used = ++g_warm_clock;
            return &w->grp;
        }
        if (slot == NULL || (slot->curve != FK_CURVE_NONE &&
                             (w->curve == FK_CURVE_NONE || w->used < slot->used)))
            slot = w;
    }
    warm_free_slot(slot);
    for (int attempt = 0; attempt < 2; attempt++) {
        mbedtls_ecp_group_init(&slot->grp);
        int rc = mbedtls_ecp_group_load(&slot->grp, group_id(c));
        if (rc == 0) {
            slot->curve = c;
            slot->used = ++g_warm_clock;
            return &slot->grp;
        }
        mbedtls_ecp_group_free(&slot->grp);
        if (rc != MBEDTLS_ERR_MPI_ALLOC_FAILED && rc != MBEDTLS_ERR_ECP_ALLOC_FAILED) break;
        for (size_t i = 0; i < FK_PK_WARM_GROUPS; i++)
            if (&g_warm[i] != slot) warm_free_slot(&g_warm[i]);
    }
    memset(slot, 0, sizeof(*slot));
    return NULL;
}

/* Read a private scalar of Weierstrass curve ci into d (group grp):
 * big-endian in [1, n), as mbedtls_ecp_read_key reads it. */
static int ec_read_key(const mbedtls_ecp_group *grp, mbedtls_mpi *d, const fk_curve_info_t *ci,
                       const uint8_t *k, size_t len)
{
    int rc;

    if (ci->montgomery) return FK_CRYPTO_EINVAL;
    rc = mbedtls_mpi_read_binary(d, k, len);
    if (rc == MBEDTLS_ERR_MPI_ALLOC_FAILED) return FK_CRYPTO_EFAIL;
    if (rc == 0) rc = mbedtls_ecp_check_privkey(grp, d);
    return rc == 0 ? FK_CRYPTO_OK : FK_CRYPTO_EINVAL;
}

/* ---- Montgomery curves (X25519, X448) on libdecaf --------------------------
 * RFC 7748 on libdecaf's constant-time field arithmetic: decaf_x*() is the
 * Montgomery ladder of RFC 7748 section 5 (it clamps the scalar itself and
 * reports an all-zero result), decaf_x*_derive_public_key() multiplies the
 * base point through libdecaf's precomputed table. What RFC 7748 asks of the
 * caller is done here: the top bit of an X25519 u-coordinate is masked, and
 * a u-coordinate not below p is reduced (the peer's point is public, so
 * these branches leak nothing). Scalars are stored clamped, as mbedTLS
 * stored them before (docs/keys.md): the blob format is unchanged.
 * Nothing is allocated; every copy of a scalar is wiped. */

/* Clamp an RFC 7748 scalar of curve ci in place (section 5). */
static void mont_clamp(const fk_curve_info_t *ci, uint8_t *k)
{
    if (ci->id == FK_CURVE_X25519) {
        k[0] &= 0xF8u;
        k[31] &= 0x7Fu;
        k[31] |= 0x40u;
    } else {
        k[0] &= 0xFCu;
        k[55] |= 0x80u;
    }
}

/* u = the peer's u-coordinate as RFC 7748 section 5 decodes it: X25519's
 * bit 255 masked, then reduced modulo p (at most one subtraction). */
static void mont_decode_u(const fk_curve_info_t *ci, const uint8_t *in, uint8_t *u)
{
    const size_t n = ci->field_len;
    int cmp = 0;

    memcpy(u, in, n);
    if (ci->id == FK_CURVE_X25519) u[n - 1u] &= 0x7Fu;
    /* Compare u (little-endian) with p (big-endian in the curve table). */
    for (size_t i = 0; i < n && cmp == 0; i++) {
        uint8_t a = u[n - 1u - i], b = ci->p[i];
        cmp = a < b ? -1 : a > b ? 1 : 0;
    }
    if (cmp >= 0) {
        unsigned borrow = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned d = (unsigned)u[i] - ci->p[n - 1u - i] - borrow;
            u[i] = (uint8_t)d;
            borrow = (d >> 8) & 1u;
        }
    }
}

/* The public u-coordinate of the clamped scalar k. */
static void mont_public(const fk_curve_info_t *ci, const uint8_t *k, uint8_t *pub)
{
    if (ci->id == FK_CURVE_X25519)
        decaf_x25519_derive_public_key(pub, k);
    else
        decaf_x448_derive_public_key(pub, k);
}

/* out = X25519/X448(k, peer); false (out all zero) for a low-order peer. */
static bool mont_shared(const fk_curve_info_t *ci, const uint8_t *k, const uint8_t *peer,
                        uint8_t *out)
{
    uint8_t u[DECAF_X448_PUBLIC_BYTES];
    decaf_error_t e;
    uint8_t acc = 0;

    mont_decode_u(ci, peer, u);
    if (ci->id == FK_CURVE_X25519)
        e = decaf_x25519(out, u, k);
    else
        e = decaf_x448(out, u, k);
    for (size_t i = 0; i < ci->field_len; i++) acc |= out[i];
    if (e != DECAF_SUCCESS || acc == 0) {
        fk_wipe(out, ci->field_len);
        return false;
    }
    return true;
}

_Static_assert(DECAF_X25519_PUBLIC_BYTES == 32 && DECAF_X25519_PRIVATE_BYTES == 32 &&
                   DECAF_X448_PUBLIC_BYTES == 56 && DECAF_X448_PRIVATE_BYTES == 56,
               "RFC 7748 sizes");

/* A blob for the Montgomery key pair of the scalar k (clamped here). */
static int mont_key_blob(const fk_curve_info_t *ci, const uint8_t *k, uint8_t *blob, size_t cap,
                         size_t *len)
{
    uint8_t d[DECAF_X448_PRIVATE_BYTES], pub[DECAF_X448_PUBLIC_BYTES];
    blob_writer_t w;
    uint8_t *dst;
    int rc;

    memcpy(d, k, ci->field_len);
    mont_clamp(ci, d);
    mont_public(ci, d, pub);
    bw_init(&w, blob, cap, FK_PK_MONT, (uint16_t)ci->id);
    if ((dst = bw_component(&w, ci->field_len)) != NULL) memcpy(dst, d, ci->field_len);
    if ((dst = bw_component(&w, ci->field_len)) != NULL) memcpy(dst, pub, ci->field_len);
    rc = bw_finish(&w, len);
    fk_wipe(d, sizeof(d));
    return rc;
}

static int mont_generate(const fk_curve_info_t *ci, uint8_t *blob, size_t cap, size_t *len)
{
    uint8_t k[DECAF_X448_PRIVATE_BYTES];
    int rc = fk_rng_bytes(k, ci->field_len);

    if (rc == FK_CRYPTO_OK) rc = mont_key_blob(ci, k, blob, cap, len);
    fk_wipe(k, sizeof(k));
    return rc;
}

/* ---- secp256k1 on libsecp256k1 ----------------------------------------------
 * FK_CURVE_SECP256K1 goes to pk_k1.c (libsecp256k1), which produces the same
 * blobs, signatures and secrets as the mbedTLS path of the other curves:
 * the key d (32 bytes) and 04 || X || Y, r and s of 32 bytes encoded below,
 * the X coordinate as the ECDH secret. Nothing of it is in a warm group. */

static bool is_k1(const fk_curve_info_t *ci) { return ci->id == FK_CURVE_SECP256K1; }

/* The 32-byte digest ECDSA on secp256k1 uses: the leftmost 256 bits of a
 * longer hash, a shorter one as the integer it is (SEC 1 section 4.1.3,
 * as mbedTLS truncates); libsecp256k1 reduces it modulo n. */
static void k1_digest(const uint8_t *hash, size_t len, uint8_t h[32])
{
    memset(h, 0, 32);
    if (len >= 32u)
        memcpy(h, hash, 32);
    else
        memcpy(h + 32u - len, hash, len);
}

/* A blob for the secp256k1 key pair (d, q). */
static int k1_key_blob(const fk_curve_info_t *ci, const uint8_t *d, const uint8_t *q,
                       uint8_t *blob, size_t cap, size_t *len)
{
    blob_writer_t w;
    uint8_t *dst;

    bw_init(&w, blob, cap, FK_PK_EC, (uint16_t)ci->id);
    if ((dst = bw_component(&w, FK_K1_SCALAR)) != NULL) memcpy(dst, d, FK_K1_SCALAR);
    if ((dst = bw_component(&w, FK_K1_POINT)) != NULL) memcpy(dst, q, FK_K1_POINT);
    return bw_finish(&w, len);
}

static int k1_generate(const fk_curve_info_t *ci, uint8_t *blob, size_t cap, size_t *len)
{
    uint8_t d[FK_K1_SCALAR], q[FK_K1_POINT];
    int rc = fk_k1_generate(d, q);
    if (rc == FK_CRYPTO_OK) rc = k1_key_blob(ci, d, q, blob, cap, len);
    fk_wipe(d, sizeof(d));
    return rc;
}

static int k1_import(const fk_curve_info_t *ci, const uint8_t *k, size_t k_len, uint8_t *blob,
                     size_t cap, size_t *len)
{
    uint8_t d[FK_K1_SCALAR] = {0}, q[FK_K1_POINT];
    memcpy(d + FK_K1_SCALAR - k_len, k, k_len);
    int rc = fk_k1_public(d, q);
    if (rc == FK_CRYPTO_OK) rc = k1_key_blob(ci, d, q, blob, cap, len);
    fk_wipe(d, sizeof(d));
    return rc;
}

/* Write the key pair (d, Q) of Weierstrass curve ci as a blob. */
static int ec_write_blob(const mbedtls_ecp_group *grp, const mbedtls_mpi *d,
                         const mbedtls_ecp_point *q, const fk_curve_info_t *ci, uint8_t *blob,
                         size_t cap, size_t *len)
{
    blob_writer_t w;

    bw_init(&w, blob, cap, FK_PK_EC, (uint16_t)ci->id);
    bw_mpi(&w, d, ci->order_len, false);
    bw_point(&w, grp, q, ci->g_len);
    return bw_finish(&w, len);
}

int fk_pk_ec_generate(fk_curve_t curve, uint8_t *blob, size_t cap, size_t *len)
{
    const fk_curve_info_t *ci = fk_curve_info(curve);
    mbedtls_ecp_group *grp;
    mbedtls_ecp_point q;
    mbedtls_mpi d;
    rng_ctx_t rng;
    int rc;

    if (len == NULL) return FK_CRYPTO_EINVAL;
    *len = 0;
    if (ci == NULL) return FK_CRYPTO_EINVAL;
    if (ci->montgomery) return mont_generate(ci, blob, cap, len);
    if (is_k1(ci)) return k1_generate(ci, blob, cap, len);
    grp = warm_group(curve);
    if (grp == NULL) return FK_CRYPTO_EFAIL;
    rng_init(&rng, NULL, NULL);
    mbedtls_mpi_init(&d);
    mbedtls_ecp_point_init(&q);
    if (mbedtls_ecp_gen_keypair(grp, &d, &q, rng_cb, &rng) != 0) {
        rc = lib_error(&rng);
        warm_drop(grp);
    } else {
        rc = ec_write_blob(grp, &d, &q, ci, blob, cap, len);
    }
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&q);
    return rc;
}

int fk_pk_ec_import(fk_curve_t curve, const uint8_t *d, size_t d_len, uint8_t *blob, size_t cap,
                    size_t *len)
{
    const fk_curve_info_t *ci = fk_curve_info(curve);
    mbedtls_ecp_group *grp;
    mbedtls_ecp_point q;
    mbedtls_mpi x;
    rng_ctx_t rng;
    int rc = FK_CRYPTO_OK;

    if (len == NULL) return FK_CRYPTO_EINVAL;
    *len = 0;
    if (ci == NULL || d == NULL || d_len == 0) return FK_CRYPTO_EINVAL;
    if (ci->montgomery ? d_len != ci->field_len : d_len > ci->order_len) return FK_CRYPTO_EINVAL;
    if (ci->montgomery) return mont_key_blob(ci, d, blob, cap, len);
    if (is_k1(ci)) return k1_import(ci, d, d_len, blob, cap, len);
    grp = warm_group(curve);
    if (grp == NULL) return FK_CRYPTO_EFAIL;
    rng_init(&rng, NULL, NULL);
    mbedtls_mpi_init(&x);
    mbedtls_ecp_point_init(&q);
    rc = ec_read_key(grp, &x, ci, d, d_len);
    if (rc == FK_CRYPTO_OK && mbedtls_ecp_mul(grp, &q, &x, &grp->G, rng_cb, &rng) != 0) {
        rc = lib_error(&rng);
        warm_drop(grp);
    }
    if (rc == FK_CRYPTO_OK) rc = ec_write_blob(grp, &x, &q, ci, blob, cap, len);
    mbedtls_mpi_free(&x);
    mbedtls_ecp_point_free(&q);
    return rc;
}

int fk_pk_ec_private_view(fk_curve_t curve, const uint8_t *d, size_t d_len, fk_pk_key_t *key)
{
    const fk_curve_info_t *ci = fk_curve_info(curve);
    mbedtls_ecp_group *grp;
    mbedtls_mpi x;
    int rc;

    if (key == NULL) return FK_CRYPTO_EINVAL;
    memset(key, 0, sizeof(*key));
    if (ci == NULL || d == NULL || d_len == 0 || d_len > ci->order_len || ci->montgomery ||
        is_k1(ci))
        return FK_CRYPTO_EINVAL;
    grp = warm_group(curve);
    if (grp == NULL) return FK_CRYPTO_EFAIL;
    mbedtls_mpi_init(&x);
    rc = ec_read_key(grp, &x, ci, d, d_len);
    mbedtls_mpi_free(&x);
    if (rc != FK_CRYPTO_OK) return rc;
    key->type = FK_PK_EC;
    key->curve = curve;
    key->bits = ci->bits;
    key->d.p = d;
    key->d.len = d_len;
    return FK_CRYPTO_OK;
}

/* The warm group of a parsed EC/MONT key and its private scalar in d
 * (initialized here; the caller frees it, also on failure). */
static int ec_load_private(mbedtls_ecp_group **grp, mbedtls_mpi *d, const fk_pk_key_t *key,
                           fk_pk_type_t type)
{
    mbedtls_mpi_init(d);
    *grp = NULL;
    if (key == NULL || key->type != type || fk_curve_info(key->curve) == NULL)
        return FK_CRYPTO_EINVAL;
    *grp = warm_group(key->curve);
    if (*grp == NULL) return FK_CRYPTO_EFAIL;
    return ec_read_key(*grp, d, fk_curve_info(key->curve), key->d.p, key->d.len);
}

/* Load a public point into q (group grp already loaded) and check that it
 * is a valid point of the group (not infinity, on the curve). */
static int ec_load_point(const mbedtls_ecp_group *grp, mbedtls_ecp_point *q,
                         const fk_curve_info_t *ci, const uint8_t *pt, size_t len)
{
    if (pt == NULL || ci->montgomery || len != ci->g_len || pt[0] != EC_POINT_UNCOMPRESSED)
        return FK_CRYPTO_EINVAL;
    if (mbedtls_ecp_point_read_binary(grp, q, pt, len) != 0) return FK_CRYPTO_EINVAL;
    if (mbedtls_ecp_check_pubkey(grp, q) != 0) return FK_CRYPTO_EINVAL;
    return FK_CRYPTO_OK;
}

int fk_pk_check_public(const fk_pk_public_t *pub)
{
    const fk_curve_info_t *ci;
    const mbedtls_ecp_group *grp;
    mbedtls_ecp_point q;
    int rc;

    if (pub == NULL) return FK_CRYPTO_EINVAL;
    if (pub->type == FK_PK_RSA) {
        mbedtls_rsa_context rsa;
        rc = rsa_load_public(&rsa, pub);
        mbedtls_rsa_free(&rsa);
        return rc;
    }
    ci = fk_curve_info(pub->curve);
    if (ci == NULL || (pub->type != FK_PK_EC && pub->type != FK_PK_MONT) ||
        ci->montgomery != (pub->type == FK_PK_MONT))
        return FK_CRYPTO_EINVAL;
    /* Every u-coordinate of the right length is one (RFC 7748 section 5). */
    if (ci->montgomery)
        return pub->point.p != NULL && pub->point.len == ci->field_len ? FK_CRYPTO_OK
                                                                       : FK_CRYPTO_EINVAL;
    if (is_k1(ci))
        return pub->point.p != NULL && pub->point.len == FK_K1_POINT
                   ? fk_k1_check_point(pub->point.p)
                   : FK_CRYPTO_EINVAL;
    grp = warm_group(pub->curve);
    if (grp == NULL) return FK_CRYPTO_EFAIL;
    mbedtls_ecp_point_init(&q);
    rc = ec_load_point(grp, &q, ci, pub->point.p, pub->point.len);
    mbedtls_ecp_point_free(&q);
    return rc;
}

/* Bytes of the minimal DER INTEGER of the big-endian value v[0, len). */
static size_t der_int_size(const uint8_t *v, size_t len)
{
    strip_leading(&v, &len);
    bool pad = len == 0 || (v[0] & 0x80u) != 0;
    return 2u + len + (pad ? 1u : 0u);
}

/* Write that INTEGER at out; returns its size. */
static size_t der_put_int(uint8_t *out, const uint8_t *v, size_t len)
{
    size_t n = 0;
    strip_leading(&v, &len);
    bool pad = len == 0 || (v[0] & 0x80u) != 0;
    out[n++] = DER_INTEGER;
    out[n++] = (uint8_t)(len + (pad ? 1u : 0u));
    if (pad) out[n++] = 0;
    if (len) memcpy(out + n, v, len);
    return n + len;
}

/* DER SEQUENCE { INTEGER r, INTEGER s } from fixed-width r and s into
 * out[0, cap): its size, or 0 when it does not fit. */
static size_t der_signature(uint8_t *out, size_t cap, const uint8_t *r, const uint8_t *s,
                            size_t width)
{
    size_t body = der_int_size(r, width) + der_int_size(s, width);
    size_t n = body > DER_SHORT_MAX ? 3u : 2u;
    if (n + body > cap) return 0;
    out[0] = DER_SEQUENCE;
    if (n == 3u) out[1] = DER_LEN_1BYTE;
    out[n - 1u] = (uint8_t)body;
    n += der_put_int(out + n, r, width);
    n += der_put_int(out + n, s, width);
    return n;
}

/* Read one DER length at *p (short form or 81 xx): false when malformed. */
static bool der_len(const uint8_t **p, const uint8_t *end, size_t *len)
{
    if (*p >= end) return false;
    uint8_t b = *(*p)++;
    if (b <= DER_SHORT_MAX) {
        *len = b;
        return true;
    }
    if (b != DER_LEN_1BYTE || *p >= end) return false;
    *len = *(*p)++;
    return *len > DER_SHORT_MAX; /* minimal encoding only */
}

/* Read a positive DER INTEGER of at most width bytes into out[width]
 * (left-padded with zeros). */
static bool der_get_int(const uint8_t **p, const uint8_t *end, uint8_t *out, size_t width)
{
    size_t len;
    if (*p >= end || *(*p)++ != DER_INTEGER) return false;
    if (!der_len(p, end, &len) || len == 0 || (size_t)(end - *p) < len) return false;
    const uint8_t *v = *p;
    *p += len;
    if (v[0] & 0x80u) return false;                               /* negative */
    if (len > 1 && v[0] == 0 && (v[1] & 0x80u) == 0) return false; /* not minimal */
    if (v[0] == 0) {
        v++;
        len--;
    }
    if (len > width) return false;
    memset(out, 0, width - len);
    memcpy(out + width - len, v, len);
    return true;
}

/* Split a signature in either format into fixed-width r and s. */
static bool sig_split(const uint8_t *sig, size_t sig_len, fk_sig_format_t fmt, size_t width,
                      uint8_t *r, uint8_t *s)
{
    if (fmt == FK_SIG_PLAIN) {
        if (sig_len != 2u * width) return false;
        memcpy(r, sig, width);
        memcpy(s, sig + width, width);
        return true;
    }
    const uint8_t *p = sig, *end = sig + sig_len;
    size_t len;
    if (sig_len == 0 || *p++ != DER_SEQUENCE || !der_len(&p, end, &len) ||
        len != (size_t)(end - p))
        return false;
    return der_get_int(&p, end, r, width) && der_get_int(&p, end, s, width) && p == end;
}

/* The signature (r, s), each width bytes, in format fmt into out[0, cap). */
static int ecdsa_encode(const uint8_t *rb, const uint8_t *sb, size_t w, fk_sig_format_t fmt,
                        uint8_t *out, size_t cap, size_t *out_len)
{
    if (fmt == FK_SIG_PLAIN) {
        if (cap < 2u * w) return FK_CRYPTO_EINVAL;
        memcpy(out, rb, w);
        memcpy(out + w, sb, w);
        *out_len = 2u * w;
        return FK_CRYPTO_OK;
    }
    *out_len = der_signature(out, cap, rb, sb, w);
    return *out_len != 0 ? FK_CRYPTO_OK : FK_CRYPTO_EINVAL;
}

int fk_pk_ecdsa_sign(const fk_pk_key_t *key, const uint8_t *hash, size_t hash_len,
                     fk_sig_format_t fmt, uint8_t *out, size_t cap, size_t *out_len)
{
    mbedtls_ecp_group *grp = NULL;
    mbedtls_mpi d, r, s;
    rng_ctx_t rng;
    uint8_t rb[FK_EC_MAX_LEN], sb[FK_EC_MAX_LEN];
    const fk_curve_info_t *ci;
    size_t w;
    int rc;

    if (out_len != NULL) *out_len = 0;
    if (key == NULL || key->type != FK_PK_EC || out == NULL || out_len == NULL ||
        hash == NULL || hash_len == 0 || (fmt != FK_SIG_DER && fmt != FK_SIG_PLAIN))
        return FK_CRYPTO_EINVAL;
    ci = fk_curve_info(key->curve);
    if (ci == NULL) return FK_CRYPTO_EINVAL;
    w = ci->order_len;
    if (fmt == FK_SIG_PLAIN && cap < 2u * w) return FK_CRYPTO_EINVAL;
    if (is_k1(ci)) {
        uint8_t h[32];
        if (key->d.len != FK_K1_SCALAR) return FK_CRYPTO_EINVAL;
        k1_digest(hash, hash_len, h);
        rc = fk_k1_sign(key->d.p, h, rb, sb);
        if (rc == FK_CRYPTO_OK) rc = ecdsa_encode(rb, sb, w, fmt, out, cap, out_len);
        fk_wipe(rb, sizeof(rb));
        fk_wipe(sb, sizeof(sb));
        return rc;
    }

    rng_init(&rng, NULL, NULL);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc = ec_load_private(&grp, &d, key, FK_PK_EC);
    if (rc == FK_CRYPTO_OK &&
        mbedtls_ecdsa_sign(grp, &r, &s, &d, hash, hash_len, rng_cb, &rng) != 0) {
        rc = lib_error(&rng);
        warm_drop(grp);
    }
    if (rc == FK_CRYPTO_OK && (mbedtls_mpi_write_binary(&r, rb, w) != 0 ||
                               mbedtls_mpi_write_binary(&s, sb, w) != 0))
        rc = FK_CRYPTO_EFAIL;
    if (rc == FK_CRYPTO_OK) rc = ecdsa_encode(rb, sb, w, fmt, out, cap, out_len);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&d);
    fk_wipe(rb, sizeof(rb));
    fk_wipe(sb, sizeof(sb));
    return rc;
}

int fk_pk_ecdsa_verify(const fk_pk_public_t *pub, const uint8_t *hash, size_t hash_len,
                       fk_sig_format_t fmt, const uint8_t *sig, size_t sig_len)
{
    const fk_curve_info_t *ci;
    mbedtls_ecp_group *grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    uint8_t rb[FK_EC_MAX_LEN], sb[FK_EC_MAX_LEN];
    int rc, m;

    if (pub == NULL || pub->type != FK_PK_EC || hash == NULL || hash_len == 0 || sig == NULL)
        return FK_CRYPTO_EINVAL;
    ci = fk_curve_info(pub->curve);
    if (ci == NULL || ci->montgomery) return FK_CRYPTO_EINVAL;
    if (is_k1(ci)) {
        uint8_t h[32];
        if (pub->point.p == NULL || pub->point.len != FK_K1_POINT) return FK_CRYPTO_EINVAL;
        rc = fk_k1_check_point(pub->point.p);
        if (rc != FK_CRYPTO_OK) return rc;
        if (!sig_split(sig, sig_len, fmt, ci->order_len, rb, sb)) return FK_CRYPTO_EAUTH;
        k1_digest(hash, hash_len, h);
        return fk_k1_verify(pub->point.p, h, rb, sb);
    }
    grp = warm_group(pub->curve);
    if (grp == NULL) return FK_CRYPTO_EFAIL;
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    rc = ec_load_point(grp, &q, ci, pub->point.p, pub->point.len);
    if (rc == FK_CRYPTO_OK && !sig_split(sig, sig_len, fmt, ci->order_len, rb, sb))
        rc = FK_CRYPTO_EAUTH;
    if (rc == FK_CRYPTO_OK && (mbedtls_mpi_read_binary(&r, rb, ci->order_len) != 0 ||
                               mbedtls_mpi_read_binary(&s, sb, ci->order_len) != 0))
        rc = FK_CRYPTO_EFAIL;
    if (rc == FK_CRYPTO_OK && (m = mbedtls_ecdsa_verify(grp, hash, hash_len, &q, &r, &s)) != 0) {
        /* A signature that does not verify is an answer; running out of
         * memory is a failure, and its group is not kept. */
        if (m == MBEDTLS_ERR_ECP_ALLOC_FAILED || m == MBEDTLS_ERR_MPI_ALLOC_FAILED) {
            rc = FK_CRYPTO_EFAIL;
            warm_drop(grp);
        } else {
            rc = FK_CRYPTO_EAUTH;
        }
    }
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    mbedtls_ecp_point_free(&q);
    return rc;
}

int fk_pk_ecdh(const fk_pk_key_t *key, const uint8_t *peer, size_t peer_len, uint8_t *out,
               size_t cap, size_t *out_len)
{
    const fk_curve_info_t *ci;
    mbedtls_ecp_group *grp = NULL;
    mbedtls_ecp_point q;
    mbedtls_mpi d, z;
    rng_ctx_t rng;
    int rc;

    if (out_len != NULL) *out_len = 0;
    if (key == NULL || (key->type != FK_PK_EC && key->type != FK_PK_MONT) || out == NULL ||
        out_len == NULL)
        return FK_CRYPTO_EINVAL;
    ci = fk_curve_info(key->curve);
    if (ci == NULL || cap < ci->field_len) return FK_CRYPTO_EINVAL;
    if (ci->montgomery) {
        if (key->type != FK_PK_MONT || key->d.len != ci->field_len || peer == NULL ||
            peer_len != ci->field_len)
            return FK_CRYPTO_EINVAL;
        uint8_t k[DECAF_X448_PRIVATE_BYTES];
        memcpy(k, key->d.p, ci->field_len);
        mont_clamp(ci, k);
        bool ok = mont_shared(ci, k, peer, out);
        fk_wipe(k, sizeof(k));
        if (!ok) return FK_CRYPTO_EINVAL;
        *out_len = ci->field_len;
        return FK_CRYPTO_OK;
    }
    if (is_k1(ci)) {
        if (key->type != FK_PK_EC || key->d.len != FK_K1_SCALAR || peer == NULL ||
            peer_len != FK_K1_POINT)
            return FK_CRYPTO_EINVAL;
        rc = fk_k1_ecdh(key->d.p, peer, out);
        if (rc != FK_CRYPTO_OK) return rc;
        *out_len = ci->field_len;
        return FK_CRYPTO_OK;
    }

    rng_init(&rng, NULL, NULL);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&z);
    rc = ec_load_private(&grp, &d, key, key->type);
    if (rc == FK_CRYPTO_OK) rc = ec_load_point(grp, &q, ci, peer, peer_len);
    if (rc == FK_CRYPTO_OK && mbedtls_ecdh_compute_shared(grp, &z, &q, &d, rng_cb, &rng) != 0) {
        rc = lib_error(&rng);
        warm_drop(grp);
    }
    if (rc == FK_CRYPTO_OK && mbedtls_mpi_write_binary(&z, out, ci->field_len) != 0)
        rc = FK_CRYPTO_EFAIL;
    mbedtls_mpi_free(&z);
    mbedtls_mpi_free(&d);
    mbedtls_ecp_point_free(&q);
    if (rc != FK_CRYPTO_OK) {
        fk_wipe(out, ci->field_len);
        return rc;
    }
    *out_len = ci->field_len;
    return FK_CRYPTO_OK;
}
