/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_host.c - host-side cryptography of the SmartCard-HSM tooling (see
 * hsm_host.h) over mbedTLS: DKEK share files, Shamir password sharing,
 * public-key files and PKCS#12.
 *
 * IMPLEMENTATION NOTES
 * - The share file's key derivation runs 3 x 10^7 MD5 compressions of a
 *   16-byte message. Its padded block is the same every time but for the
 *   first 16 bytes, so the loop runs the MD5 compression function itself on
 *   one prepared block (no buffering, no finalisation per round).
 * - Shamir arithmetic is on 64-bit numbers with 128-bit products (GCC/Clang
 *   unsigned __int128); the prime is below 2^64. None of it is constant
 *   time: the shares are typed in by hand and printed on a screen.
 * - mbedTLS 2.28 decrypts PBES2 only with HMAC-SHA-1 as the PBKDF2 PRF, while
 *   OpenSSL 3 writes PKCS#12 files with HMAC-SHA-256; PBES2 is therefore done
 *   here (PBKDF2 with the PRF the file names, AES-CBC). Iteration counts are
 *   capped so that a hostile file cannot stall the tool for hours.
 * - The PKCS#12 walk uses module-static scratch buffers for decrypted bag
 *   contents (wiped after every call): not reentrant, host only.
 */
#include "crypto/hsm_host.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs12.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/rsa.h>

#include "crypto/pk_backend.h"
#include "util.h"

#define MD5_LEN 16u
#define MD5_BLOCK 64u
#define AES_BLOCK 16u
#define AES256_KEY 32u
#define PROGRESS_EVERY (1u << 20)
#define ASN1_SEQ (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define ASN1_SET (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)
#define ASN1_CTX0 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0)
#define ASN1_CTX0_PRIM (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0)
#define KDF_MAX_ITERATIONS 10000000
#define PEM_MAX (FK_P12_MAX + 1u)

/* ---- DKEK share files ------------------------------------------------------- */

static const uint8_t k_salted[FK_DKEK_SALT_LEN] = {'S', 'a', 'l', 't', 'e', 'd', '_', '_'};

/* MD5 of a 16-byte message in block: the compression function on the
 * prepared (padded) block, digest into out. */
static void md5_16(mbedtls_md5_context *ctx, const uint8_t block[MD5_BLOCK], uint8_t out[MD5_LEN])
{
    (void)mbedtls_md5_starts_ret(ctx);
    (void)mbedtls_internal_md5_process(ctx, block);
    for (unsigned i = 0; i < 4u; i++) fk_put_le32(out + 4u * i, ctx->state[i]);
}

/* EVP_BytesToKey(MD5) for AES-256-CBC: 48 bytes of key || iv into out. */
static void bytes_to_key(const uint8_t *pw, size_t pw_len, const uint8_t salt[FK_DKEK_SALT_LEN],
                         uint32_t count, fk_host_progress_fn progress, void *arg,
                         uint8_t out[AES256_KEY + AES_BLOCK])
{
    mbedtls_md5_context ctx;
    uint8_t d[MD5_LEN];
    uint8_t block[MD5_BLOCK];
    const uint64_t total = 3u * (uint64_t)count;
    uint64_t done = 0;

    /* The padded block of a 16-byte message: data, 0x80, zeros, 128 (bits) LE. */
    memset(block, 0, sizeof block);
    block[MD5_LEN] = 0x80u;
    block[MD5_BLOCK - 8u] = 8u * MD5_LEN;
    mbedtls_md5_init(&ctx);
    for (unsigned k = 0; k < 3u; k++) {
        (void)mbedtls_md5_starts_ret(&ctx);
        if (k > 0u) (void)mbedtls_md5_update_ret(&ctx, d, sizeof d);
        (void)mbedtls_md5_update_ret(&ctx, pw, pw_len);
        (void)mbedtls_md5_update_ret(&ctx, salt, FK_DKEK_SALT_LEN);
        (void)mbedtls_md5_finish_ret(&ctx, d);
        done++;
        for (uint32_t i = 1; i < count; i++) {
            memcpy(block, d, MD5_LEN);
            md5_16(&ctx, block, d);
            if (progress != NULL && (++done % PROGRESS_EVERY) == 0u) progress(arg, done, total);
        }
        memcpy(out + MD5_LEN * k, d, MD5_LEN);
    }
    if (progress != NULL) progress(arg, total, total);
    mbedtls_md5_free(&ctx);
    fk_wipe(d, sizeof d);
    fk_wipe(block, sizeof block);
}

int fk_dkek_file_seal(const uint8_t *pw, size_t pw_len, const uint8_t salt[FK_DKEK_SALT_LEN],
                      const uint8_t share[FK_DKEK_SHARE_LEN], uint32_t iterations,
                      fk_host_progress_fn progress, void *arg, uint8_t file[FK_DKEK_FILE_LEN])
{
    uint8_t kiv[AES256_KEY + AES_BLOCK];
    uint8_t plain[FK_DKEK_SHARE_LEN + AES_BLOCK];
    mbedtls_aes_context aes;
    int rc = FK_CRYPTO_EFAIL;

    if ((pw == NULL && pw_len != 0u) || salt == NULL || share == NULL || file == NULL ||
        iterations == 0u)
        return FK_CRYPTO_EINVAL;
    bytes_to_key(pw, pw_len, salt, iterations, progress, arg, kiv);
    memcpy(plain, share, FK_DKEK_SHARE_LEN);
    memset(plain + FK_DKEK_SHARE_LEN, AES_BLOCK, AES_BLOCK); /* PKCS#7: a whole block */
    memcpy(file, k_salted, sizeof k_salted);
    memcpy(file + sizeof k_salted, salt, FK_DKEK_SALT_LEN);
    mbedtls_aes_init(&aes);
    if (mbedtls_aes_setkey_enc(&aes, kiv, 8u * AES256_KEY) == 0 &&
        mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, sizeof plain, kiv + AES256_KEY, plain,
                              file + 2u * FK_DKEK_SALT_LEN) == 0)
        rc = FK_CRYPTO_OK;
    mbedtls_aes_free(&aes);
    fk_wipe(kiv, sizeof kiv);
    fk_wipe(plain, sizeof plain);
    if (rc != FK_CRYPTO_OK) fk_wipe(file, FK_DKEK_FILE_LEN);
    return rc;
}

int fk_dkek_file_open(const uint8_t *pw, size_t pw_len, const uint8_t *file, size_t file_len,
                      uint32_t iterations, fk_host_progress_fn progress, void *arg,
                      uint8_t share[FK_DKEK_SHARE_LEN])
{
    uint8_t kiv[AES256_KEY + AES_BLOCK];
    uint8_t plain[FK_DKEK_SHARE_LEN + AES_BLOCK];
    mbedtls_aes_context aes;
    int rc = FK_CRYPTO_EFAIL;

    if ((pw == NULL && pw_len != 0u) || file == NULL || share == NULL || iterations == 0u)
        return FK_CRYPTO_EINVAL;
    if (file_len != FK_DKEK_FILE_LEN || memcmp(file, k_salted, sizeof k_salted) != 0)
        return FK_CRYPTO_EINVAL;
    bytes_to_key(pw, pw_len, file + sizeof k_salted, iterations, progress, arg, kiv);
    mbedtls_aes_init(&aes);
    if (mbedtls_aes_setkey_dec(&aes, kiv, 8u * AES256_KEY) == 0 &&
        mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, sizeof plain, kiv + AES256_KEY,
                              file + 2u * FK_DKEK_SALT_LEN, plain) == 0) {
        /* The share is exactly 32 bytes, so the padding is one whole block of
         * 0x10; anything else is a wrong password (or a damaged file). */
        uint8_t diff = 0;
        for (unsigned i = 0; i < AES_BLOCK; i++) diff |= plain[FK_DKEK_SHARE_LEN + i] ^ AES_BLOCK;
        rc = diff == 0u ? FK_CRYPTO_OK : FK_CRYPTO_EAUTH;
    }
    if (rc == FK_CRYPTO_OK) memcpy(share, plain, FK_DKEK_SHARE_LEN);
    mbedtls_aes_free(&aes);
    fk_wipe(kiv, sizeof kiv);
    fk_wipe(plain, sizeof plain);
    return rc;
}

/* ---- Shamir over a 64-bit prime ------------------------------------------------ */

typedef unsigned __int128 u128;

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (uint64_t)(((u128)a * b) % m); }

/* (a + b) mod m for a, b < m: the sum may not fit 64 bits (m is near 2^64). */
static uint64_t addmod(uint64_t a, uint64_t b, uint64_t m) { return (uint64_t)(((u128)a + b) % m); }

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1u % m;
    b %= m;
    while (e != 0u) {
        if ((e & 1u) != 0u) r = mulmod(r, b, m);
        b = mulmod(b, b, m);
        e >>= 1;
    }
    return r;
}

bool fk_shamir_is_prime(uint64_t n)
{
    /* These twelve bases decide primality for every n < 2^64. */
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2u) return false;
    for (size_t i = 0; i < FK_ARRAY_SIZE(bases); i++) {
        if (n == bases[i]) return true;
        if (n % bases[i] == 0u) return false;
    }
    uint64_t d = n - 1u;
    unsigned s = 0;
    while ((d & 1u) == 0u) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < FK_ARRAY_SIZE(bases); i++) {
        uint64_t x = powmod(bases[i], d, n);
        if (x == 1u || x == n - 1u) continue;
        bool composite = true;
        for (unsigned r = 1; r < s; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1u) {
                composite = false;
                break;
            }
        }
        if (composite) return false;
    }
    return true;
}

/* 8 random bytes as a number. */
static int random_u64(fk_host_random_fn rnd, void *arg, uint64_t *v)
{
    uint8_t b[8];
    if (rnd(arg, b, sizeof b) != 0) return FK_CRYPTO_ERNG;
    uint64_t x = 0;
    for (unsigned i = 0; i < sizeof b; i++) x = (x << 8) | b[i];
    *v = x;
    fk_wipe(b, sizeof b);
    return FK_CRYPTO_OK;
}

int fk_shamir_prime(fk_host_random_fn rnd, void *arg, uint64_t *prime)
{
    /* About one odd 64-bit number in 22 is prime: 100000 draws never all fail
     * unless the source is broken. */
    if (rnd == NULL || prime == NULL) return FK_CRYPTO_EINVAL;
    for (unsigned tries = 0; tries < 100000u; tries++) {
        uint64_t v = 0;
        if (random_u64(rnd, arg, &v) != FK_CRYPTO_OK) return FK_CRYPTO_ERNG;
        v |= (UINT64_C(1) << 63) | 1u;
        if (fk_shamir_is_prime(v)) {
            *prime = v;
            return FK_CRYPTO_OK;
        }
    }
    return FK_CRYPTO_ERNG;
}

int fk_shamir_split(uint64_t secret, uint64_t prime, unsigned threshold, unsigned total,
                    fk_host_random_fn rnd, void *arg, uint64_t *y)
{
    uint64_t coef[FK_SHAMIR_MAX_SHARES];
    int rc = FK_CRYPTO_OK;

    if (rnd == NULL || y == NULL || threshold < 2u || threshold > total ||
        total > FK_SHAMIR_MAX_SHARES || prime <= total || secret >= prime ||
        !fk_shamir_is_prime(prime))
        return FK_CRYPTO_EINVAL;
    coef[0] = secret;
    for (unsigned k = 1; k < threshold && rc == FK_CRYPTO_OK; k++) {
        do { /* uniform below the prime */
            rc = random_u64(rnd, arg, &coef[k]);
        } while (rc == FK_CRYPTO_OK && coef[k] >= prime);
    }
    for (unsigned i = 0; i < total && rc == FK_CRYPTO_OK; i++) {
        const uint64_t x = i + 1u;
        uint64_t acc = 0;
        for (unsigned k = threshold; k-- > 0;) acc = addmod(mulmod(acc, x, prime), coef[k], prime);
        y[i] = acc;
    }
    fk_wipe(coef, sizeof coef);
    if (rc != FK_CRYPTO_OK) fk_wipe(y, total * sizeof *y);
    return rc;
}

int fk_shamir_combine(uint64_t prime, const uint64_t *x, const uint64_t *y, unsigned n,
                      uint64_t *secret)
{
    if (x == NULL || y == NULL || secret == NULL || n == 0u || n > FK_SHAMIR_MAX_SHARES ||
        !fk_shamir_is_prime(prime))
        return FK_CRYPTO_EINVAL;
    for (unsigned i = 0; i < n; i++) {
        if (x[i] == 0u || x[i] >= prime || y[i] >= prime) return FK_CRYPTO_EINVAL;
        for (unsigned j = 0; j < i; j++)
            if (x[j] == x[i]) return FK_CRYPTO_EINVAL;
    }
    uint64_t s = 0;
    for (unsigned i = 0; i < n; i++) {
        /* Lagrange basis at 0: prod x_j / (x_j - x_i) over j != i. */
        uint64_t num = 1, den = 1;
        for (unsigned j = 0; j < n; j++) {
            if (j == i) continue;
            num = mulmod(num, x[j], prime);
            den = mulmod(den, addmod(x[j], prime - x[i], prime), prime);
        }
        const uint64_t l = mulmod(num, powmod(den, prime - 2u, prime), prime);
        s = addmod(s, mulmod(y[i], l, prime), prime);
    }
    *secret = s;
    return FK_CRYPTO_OK;
}

/* ---- DER helpers ------------------------------------------------------------------ */

/* A cursor over DER; mbedTLS's parser wants non-const pointers. */
typedef struct der {
    unsigned char *p;
    const unsigned char *end;
} der_t;

static der_t der_of(const uint8_t *buf, size_t len)
{
    der_t d = {(unsigned char *)(uintptr_t)buf, buf + len};
    return d;
}

/* The next object with `tag`: its content in *in (and the cursor past it). */
static bool der_take(der_t *d, int tag, der_t *in)
{
    size_t len = 0;
    if (mbedtls_asn1_get_tag(&d->p, d->end, &len, tag) != 0) return false;
    in->p = d->p;
    in->end = d->p + len;
    d->p += len;
    return true;
}

/* Skip one object of any tag. */
static bool der_skip(der_t *d)
{
    size_t len = 0;
    if (d->p >= d->end) return false;
    unsigned char *q = d->p + 1;
    if (mbedtls_asn1_get_len(&q, d->end, &len) != 0) return false;
    d->p = q + len;
    return true;
}

static bool der_oid_is(const der_t *oid, const uint8_t *want, size_t len)
{
    return (size_t)(oid->end - oid->p) == len && memcmp(oid->p, want, len) == 0;
}

static size_t der_len(const der_t *d) { return (size_t)(d->end - d->p); }

/* ---- Curves and OIDs ---------------------------------------------------------- */

/* The Weierstrass curve of an mbedTLS group (FK_CURVE_NONE for any other). */
static fk_curve_t curve_of_group(mbedtls_ecp_group_id g)
{
    const fk_curve_t c = fk_pk_curve_of_group(g);
    const fk_curve_info_t *info = fk_curve_info(c);
    return info != NULL && !info->montgomery ? c : FK_CURVE_NONE;
}

/* id-X25519, id-X448, id-Ed25519, id-Ed448 (RFC 8410): 1.3.101.110-113. */
#define OID_RFC8410_LEN 3u
typedef struct rfc8410 {
    uint8_t last;
    fk_host_key_kind_t kind;
    fk_curve_t curve;
    size_t len;
} rfc8410_t;
static const rfc8410_t k_rfc8410[] = {
    {0x6E, FK_HOST_KEY_MONT, FK_CURVE_X25519, 32u},
    {0x6F, FK_HOST_KEY_MONT, FK_CURVE_X448, 56u},
    {0x70, FK_HOST_KEY_ED, FK_CURVE_X25519, 32u},
    {0x71, FK_HOST_KEY_ED, FK_CURVE_X448, 57u},
};

static const rfc8410_t *rfc8410_of(const der_t *oid)
{
    if (der_len(oid) != OID_RFC8410_LEN || oid->p[0] != 0x2B || oid->p[1] != 0x65) return NULL;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_rfc8410); i++)
        if (oid->p[2] == k_rfc8410[i].last) return &k_rfc8410[i];
    return NULL;
}

static const rfc8410_t *rfc8410_for(fk_host_key_kind_t kind, fk_curve_t curve)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_rfc8410); i++)
        if (k_rfc8410[i].kind == kind && k_rfc8410[i].curve == curve) return &k_rfc8410[i];
    return NULL;
}

/* ---- Public keys ---------------------------------------------------------------- */

/* PEM text (NUL-terminated copy) of in, for mbedTLS's PEM reader. */
static unsigned char s_pem[PEM_MAX];

/* DER of in: in itself, or the PEM object between the given markers, whose
 * decoded bytes stay in *ctx (free it after). */
static int pem_or_der(const uint8_t *in, size_t len, const char *begin, const char *end,
                      mbedtls_pem_context *ctx, const uint8_t **der, size_t *der_len)
{
    static const char marker[] = "-----BEGIN ";
    bool pem = false;
    for (size_t i = 0; i + sizeof marker - 1u <= len && !pem; i++)
        pem = memcmp(in + i, marker, sizeof marker - 1u) == 0;
    if (!pem) {
        *der = in;
        *der_len = len;
        return FK_CRYPTO_OK;
    }
    if (len >= sizeof s_pem) return FK_CRYPTO_EINVAL;
    memcpy(s_pem, in, len);
    s_pem[len] = '\0';
    size_t used = 0;
    const int rc = mbedtls_pem_read_buffer(ctx, begin, end, s_pem, NULL, 0, &used);
    fk_wipe(s_pem, len);
    if (rc != 0) return FK_CRYPTO_EINVAL;
    *der = ctx->buf;
    *der_len = ctx->buflen;
    return FK_CRYPTO_OK;
}

/* Big-endian bytes of an mbedTLS number without leading zeros (at least 1). */
static bool mpi_out(const mbedtls_mpi *x, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = mbedtls_mpi_size(x);
    if (n == 0u) n = 1u;
    if (n > cap || mbedtls_mpi_write_binary(x, out, n) != 0) return false;
    *len = n;
    return true;
}

/* The public half of an RSA or EC key mbedTLS parsed. */
static int pub_from_pk(const mbedtls_pk_context *pk, fk_host_pub_t *pub)
{
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
        const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
        const size_t bits = mbedtls_pk_get_bitlen(pk);
        if (bits < FK_PK_RSA_MIN_BITS || bits > FK_PK_RSA_MAX_BITS) return FK_HOST_EUNSUPPORTED;
        pub->kind = FK_HOST_KEY_RSA;
        if (!mpi_out(&rsa->N, pub->n, sizeof pub->n, &pub->n_len) ||
            !mpi_out(&rsa->E, pub->e, sizeof pub->e, &pub->e_len))
            return FK_HOST_EUNSUPPORTED;
        return FK_CRYPTO_OK;
    }
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY || mbedtls_pk_get_type(pk) == MBEDTLS_PK_ECKEY_DH) {
        const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
        pub->kind = FK_HOST_KEY_EC;
        pub->curve = curve_of_group(ec->grp.id);
        if (pub->curve == FK_CURVE_NONE) return FK_HOST_EUNSUPPORTED;
        if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED,
                                           &pub->point_len, pub->point, sizeof pub->point) != 0)
            return FK_CRYPTO_EINVAL;
        return FK_CRYPTO_OK;
    }
    return FK_HOST_EUNSUPPORTED;
}

/* A DER SubjectPublicKeyInfo. */
static int spki_der(const uint8_t *der, size_t len, fk_host_pub_t *pub)
{
    der_t d = der_of(der, len), spki, alg, oid, bits;
    memset(pub, 0, sizeof *pub);
    if (!der_take(&d, ASN1_SEQ, &spki) || d.p != d.end || !der_take(&spki, ASN1_SEQ, &alg) ||
        !der_take(&alg, MBEDTLS_ASN1_OID, &oid))
        return FK_CRYPTO_EINVAL;
    const rfc8410_t *r = rfc8410_of(&oid);
    if (r != NULL) {
        if (alg.p != alg.end || !der_take(&spki, MBEDTLS_ASN1_BIT_STRING, &bits) ||
            spki.p != spki.end || der_len(&bits) != r->len + 1u || bits.p[0] != 0u)
            return FK_CRYPTO_EINVAL;
        pub->kind = r->kind;
        pub->curve = r->curve;
        memcpy(pub->point, bits.p + 1, r->len);
        pub->point_len = r->len;
        return FK_CRYPTO_OK;
    }
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int rc = mbedtls_pk_parse_public_key(&pk, der, len) == 0 ? pub_from_pk(&pk, pub) : FK_CRYPTO_EINVAL;
    mbedtls_pk_free(&pk);
    if (rc == FK_CRYPTO_EINVAL) {
        /* An algorithm mbedTLS does not know is unsupported, not malformed. */
        static const uint8_t rsa[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01};
        static const uint8_t ec[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
        if (!der_oid_is(&oid, rsa, sizeof rsa) && !der_oid_is(&oid, ec, sizeof ec))
            rc = FK_HOST_EUNSUPPORTED;
    }
    if (rc != FK_CRYPTO_OK) memset(pub, 0, sizeof *pub);
    return rc;
}

int fk_host_pub_from_spki(const uint8_t *in, size_t len, fk_host_pub_t *pub)
{
    mbedtls_pem_context ctx;
    const uint8_t *der = NULL;
    size_t der_len = 0;
    if (in == NULL || pub == NULL || len == 0u) return FK_CRYPTO_EINVAL;
    mbedtls_pem_init(&ctx);
    int rc = pem_or_der(in, len, "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----", &ctx,
                        &der, &der_len);
    if (rc == FK_CRYPTO_OK) rc = spki_der(der, der_len, pub);
    mbedtls_pem_free(&ctx);
    return rc;
}

/* The SubjectPublicKeyInfo TLV of a DER certificate. */
static int cert_spki(const uint8_t *der, size_t len, const uint8_t **spki, size_t *spki_len)
{
    der_t d = der_of(der, len), cert, tbs;
    if (!der_take(&d, ASN1_SEQ, &cert) || !der_take(&cert, ASN1_SEQ, &tbs)) return FK_CRYPTO_EINVAL;
    if (tbs.p < tbs.end && *tbs.p == ASN1_CTX0 && !der_skip(&tbs)) return FK_CRYPTO_EINVAL; /* version */
    for (unsigned i = 0; i < 5u; i++) /* serial, signature, issuer, validity, subject */
        if (!der_skip(&tbs)) return FK_CRYPTO_EINVAL;
    const unsigned char *start = tbs.p;
    der_t inner;
    if (!der_take(&tbs, ASN1_SEQ, &inner)) return FK_CRYPTO_EINVAL;
    *spki = start;
    *spki_len = (size_t)(tbs.p - start);
    return FK_CRYPTO_OK;
}

int fk_host_pub_from_x509(const uint8_t *in, size_t len, fk_host_pub_t *pub)
{
    mbedtls_pem_context ctx;
    const uint8_t *der = NULL, *spki = NULL;
    size_t der_len = 0, spki_len = 0;
    if (in == NULL || pub == NULL || len == 0u) return FK_CRYPTO_EINVAL;
    mbedtls_pem_init(&ctx);
    int rc = pem_or_der(in, len, "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----", &ctx,
                        &der, &der_len);
    if (rc == FK_CRYPTO_OK) rc = cert_spki(der, der_len, &spki, &spki_len);
    if (rc == FK_CRYPTO_OK) rc = spki_der(spki, spki_len, pub);
    mbedtls_pem_free(&ctx);
    return rc;
}

/* A DER writer that appends; ok turns false when something does not fit. */
typedef struct dw {
    uint8_t *p;
    size_t len, cap;
    bool ok;
} dw_t;

static void dw_bytes(dw_t *w, const void *b, size_t n)
{
    if (!w->ok || n > w->cap - w->len) {
        w->ok = false;
        return;
    }
    memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void dw_header(dw_t *w, uint8_t tag, size_t n)
{
    uint8_t h[4] = {tag, 0, 0, 0};
    size_t hl = 2;
    if (n < 0x80u) {
        h[1] = (uint8_t)n;
    } else if (n <= 0xFFu) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    dw_bytes(w, h, hl);
}

/* Size of a header for content of n bytes. */
static size_t dw_hsize(size_t n) { return n < 0x80u ? 2u : (n <= 0xFFu ? 3u : 4u); }

/* An INTEGER from unsigned big-endian bytes (leading zeros dropped, a 00
 * added before a set top bit). */
static size_t int_size(const uint8_t *v, size_t n, size_t *skip, bool *pad)
{
    *skip = 0;
    while (*skip + 1u < n && v[*skip] == 0u) (*skip)++;
    *pad = (v[*skip] & 0x80u) != 0u;
    const size_t c = n - *skip + (*pad ? 1u : 0u);
    return dw_hsize(c) + c;
}

static void dw_int(dw_t *w, const uint8_t *v, size_t n)
{
    size_t skip;
    bool pad;
    (void)int_size(v, n, &skip, &pad);
    dw_header(w, MBEDTLS_ASN1_INTEGER, n - skip + (pad ? 1u : 0u));
    if (pad) dw_bytes(w, "\0", 1);
    dw_bytes(w, v + skip, n - skip);
}

int fk_host_spki_encode(const fk_host_pub_t *pub, uint8_t *out, size_t cap, size_t *len)
{
    static const uint8_t rsa_alg[] = {0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86,
                                      0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00};
    static const uint8_t ec_oid[] = {0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
    dw_t w = {out, 0, cap, true};
    if (pub == NULL || out == NULL || len == NULL) return FK_CRYPTO_EINVAL;
    *len = 0;
    switch (pub->kind) {
    case FK_HOST_KEY_RSA: {
        size_t s1, s2;
        bool p1, p2;
        if (pub->n_len == 0u || pub->e_len == 0u) return FK_CRYPTO_EINVAL;
        const size_t seq = int_size(pub->n, pub->n_len, &s1, &p1) + int_size(pub->e, pub->e_len, &s2, &p2);
        const size_t bits = 1u + dw_hsize(seq) + seq;
        dw_header(&w, 0x30, sizeof rsa_alg + dw_hsize(bits) + bits);
        dw_bytes(&w, rsa_alg, sizeof rsa_alg);
        dw_header(&w, MBEDTLS_ASN1_BIT_STRING, bits);
        dw_bytes(&w, "\0", 1);
        dw_header(&w, 0x30, seq);
        dw_int(&w, pub->n, pub->n_len);
        dw_int(&w, pub->e, pub->e_len);
        break;
    }
    case FK_HOST_KEY_EC: {
        const fk_curve_info_t *ci = fk_curve_info(pub->curve);
        if (ci == NULL || ci->montgomery || pub->point_len != 1u + 2u * ci->field_len) return FK_CRYPTO_EINVAL;
        const size_t alg = sizeof ec_oid + 2u + ci->oid_len;
        const size_t bits = 1u + pub->point_len;
        dw_header(&w, 0x30, dw_hsize(alg) + alg + dw_hsize(bits) + bits);
        dw_header(&w, 0x30, alg);
        dw_bytes(&w, ec_oid, sizeof ec_oid);
        dw_header(&w, MBEDTLS_ASN1_OID, ci->oid_len);
        dw_bytes(&w, ci->oid, ci->oid_len);
        dw_header(&w, MBEDTLS_ASN1_BIT_STRING, bits);
        dw_bytes(&w, "\0", 1);
        dw_bytes(&w, pub->point, pub->point_len);
        break;
    }
    case FK_HOST_KEY_MONT:
    case FK_HOST_KEY_ED: {
        const rfc8410_t *r = rfc8410_for(pub->kind, pub->curve);
        if (r == NULL || pub->point_len != r->len) return FK_CRYPTO_EINVAL;
        const uint8_t alg[] = {0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, r->last};
        dw_header(&w, 0x30, sizeof alg + dw_hsize(1u + r->len) + 1u + r->len);
        dw_bytes(&w, alg, sizeof alg);
        dw_header(&w, MBEDTLS_ASN1_BIT_STRING, 1u + r->len);
        dw_bytes(&w, "\0", 1);
        dw_bytes(&w, pub->point, r->len);
        break;
    }
    default:
        return FK_CRYPTO_EINVAL;
    }
    if (!w.ok) return FK_CRYPTO_EINVAL;
    *len = w.len;
    return FK_CRYPTO_OK;
}

/* ---- PKCS#12 -------------------------------------------------------------------- */

#define P12_MAX_CERTS 8u
#define P12_KEYID_MAX 64u
#define P12_PW_MAX 128u

static const uint8_t k_oid_data[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01};
static const uint8_t k_oid_encrypted[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x06};
static const uint8_t k_oid_bag_prefix[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01};
#define BAG_KEY 1u
#define BAG_SHROUDED_KEY 2u
#define BAG_CERT 3u
static const uint8_t k_oid_x509_cert[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x16, 0x01};
static const uint8_t k_oid_local_key_id[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x15};

typedef struct p12_cert {
    uint8_t der[FK_P12_CERT_MAX];
    size_t len;
    uint8_t key_id[P12_KEYID_MAX];
    size_t key_id_len;
} p12_cert_t;

typedef struct p12_walk {
    const uint8_t *pw;
    size_t pw_len;
    fk_p12_t *out;
    bool have_key;
    uint8_t key_id[P12_KEYID_MAX];
    size_t key_id_len;
    unsigned n_certs;
    int rc; /* the first hard error */
} p12_walk_t;

/* Decrypted contents (an encryptedData's SafeContents, a shrouded key). */
static uint8_t s_contents[FK_P12_MAX];
static uint8_t s_keybuf[FK_P12_MAX];
static p12_cert_t s_certs[P12_MAX_CERTS];

/* PBES2 (PBKDF2 + AES-CBC) decryption of in into out; *out_len without padding. */
static int pbes2_decrypt(der_t params, const uint8_t *pw, size_t pw_len, const uint8_t *in,
                         size_t len, uint8_t *out, size_t *out_len)
{
    static const uint8_t aes_cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};
    static const uint8_t pbkdf2[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C};
    der_t kdf, kdf_oid, kdf_params, enc, enc_oid, iv, salt, prf, prf_oid;
    int iterations = 0, declared = 0;
    mbedtls_md_type_t md = MBEDTLS_MD_SHA1;

    if (!der_take(&params, ASN1_SEQ, &kdf) || !der_take(&kdf, MBEDTLS_ASN1_OID, &kdf_oid) ||
        !der_oid_is(&kdf_oid, pbkdf2, sizeof pbkdf2) || !der_take(&kdf, ASN1_SEQ, &kdf_params) ||
        !der_take(&params, ASN1_SEQ, &enc) || !der_take(&enc, MBEDTLS_ASN1_OID, &enc_oid) ||
        !der_take(&enc, MBEDTLS_ASN1_OCTET_STRING, &iv) || der_len(&iv) != AES_BLOCK)
        return FK_HOST_EUNSUPPORTED;
    size_t key_len = 0;
    if (der_len(&enc_oid) == sizeof aes_cbc + 1u && memcmp(enc_oid.p, aes_cbc, sizeof aes_cbc) == 0) {
        switch (enc_oid.p[sizeof aes_cbc]) {
        case 0x02: key_len = 16; break;
        case 0x16: key_len = 24; break;
        case 0x2A: key_len = 32; break;
        default: break;
        }
    }
    if (key_len == 0u) return FK_HOST_EUNSUPPORTED;
    if (!der_take(&kdf_params, MBEDTLS_ASN1_OCTET_STRING, &salt) ||
        mbedtls_asn1_get_int(&kdf_params.p, kdf_params.end, &iterations) != 0 || iterations < 1)
        return FK_CRYPTO_EINVAL;
    if (iterations > KDF_MAX_ITERATIONS) return FK_HOST_EUNSUPPORTED;
    if (kdf_params.p < kdf_params.end && *kdf_params.p == MBEDTLS_ASN1_INTEGER) {
        if (mbedtls_asn1_get_int(&kdf_params.p, kdf_params.end, &declared) != 0 ||
            declared != (int)key_len)
            return FK_CRYPTO_EINVAL;
    }
    if (kdf_params.p < kdf_params.end) {
        mbedtls_asn1_buf o = {0};
        if (!der_take(&kdf_params, ASN1_SEQ, &prf) || !der_take(&prf, MBEDTLS_ASN1_OID, &prf_oid))
            return FK_CRYPTO_EINVAL;
        o.p = prf_oid.p;
        o.len = der_len(&prf_oid);
        o.tag = MBEDTLS_ASN1_OID;
        if (mbedtls_oid_get_md_hmac(&o, &md) != 0) return FK_HOST_EUNSUPPORTED;
    }
    if (len == 0u || len % AES_BLOCK != 0u) return FK_CRYPTO_EINVAL;

    return fk_pbes2_aes_cbc_decrypt(md, pw, pw_len, salt.p, der_len(&salt), (unsigned)iterations,
                                    key_len, iv.p, in, len, out, out_len);
}

/* Decrypt by an AlgorithmIdentifier (PBES2 or a PKCS#12 PBE) into out. */
static int pbe_decrypt(der_t alg, const uint8_t *pw, size_t pw_len, const uint8_t *in, size_t len,
                       uint8_t *out, size_t cap, size_t *out_len)
{
    static const uint8_t pbes2[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D};
    der_t oid, params;
    if (len > cap || !der_take(&alg, MBEDTLS_ASN1_OID, &oid) || !der_take(&alg, ASN1_SEQ, &params))
        return FK_CRYPTO_EINVAL;
    if (der_oid_is(&oid, pbes2, sizeof pbes2)) return pbes2_decrypt(params, pw, pw_len, in, len, out, out_len);

    mbedtls_asn1_buf o = {MBEDTLS_ASN1_OID, der_len(&oid), oid.p};
    mbedtls_md_type_t md;
    mbedtls_cipher_type_t cipher;
    if (mbedtls_oid_get_pkcs12_pbe_alg(&o, &md, &cipher) != 0) return FK_HOST_EUNSUPPORTED;
    /* The iteration count sits in the parameters; cap it as for PBES2. */
    der_t pp = params, salt;
    int iterations = 0;
    if (!der_take(&pp, MBEDTLS_ASN1_OCTET_STRING, &salt) ||
        mbedtls_asn1_get_int(&pp.p, pp.end, &iterations) != 0 || iterations < 1)
        return FK_CRYPTO_EINVAL;
    if (iterations > KDF_MAX_ITERATIONS) return FK_HOST_EUNSUPPORTED;
    mbedtls_asn1_buf pb = {ASN1_SEQ, der_len(&params), params.p};
    memset(out, 0, len);
    const int rc = mbedtls_pkcs12_pbe(&pb, MBEDTLS_PKCS12_PBE_DECRYPT, cipher, md, pw, pw_len, in, len, out);
    if (rc == MBEDTLS_ERR_PKCS12_PASSWORD_MISMATCH) return FK_CRYPTO_EAUTH;
    if (rc != 0) return FK_HOST_EUNSUPPORTED;
    /* mbedTLS does not say how long the plaintext is: it is one DER object,
     * followed by 1-8 bytes of padding that the library removed. */
    der_t d = der_of(out, len), body;
    if (!der_take(&d, ASN1_SEQ, &body)) return FK_CRYPTO_EAUTH;
    const size_t used = (size_t)(d.p - out);
    if (len - used < 1u || len - used > 8u) return FK_CRYPTO_EAUTH;
    *out_len = used;
    return FK_CRYPTO_OK;
}

/* The password as a PKCS#12 BMPString (UTF-16BE of its UTF-8, plus 00 00). */
static bool bmp_password(const uint8_t *pw, size_t pw_len, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < pw_len;) {
        uint32_t c = pw[i];
        size_t extra = 0;
        if (c >= 0xC0u && c < 0xE0u) {
            c &= 0x1Fu;
            extra = 1;
        } else if (c >= 0xE0u && c < 0xF0u) {
            c &= 0x0Fu;
            extra = 2;
        } else if (c >= 0x80u) {
            return false; /* a stray continuation byte, or a character outside the BMP */
        }
        if (extra > pw_len - i - 1u) return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((pw[i + k] & 0xC0u) != 0x80u) return false;
            c = (c << 6) | (pw[i + k] & 0x3Fu);
        }
        i += 1u + extra;
        if (n + 2u > cap) return false;
        out[n++] = (uint8_t)(c >> 8);
        out[n++] = (uint8_t)c;
    }
    if (n + 2u > cap) return false;
    out[n++] = 0;
    out[n++] = 0;
    *len = n;
    return true;
}

/* Verify the MAC over the AuthenticatedSafe octets. */
static int check_mac(der_t mac_data, const uint8_t *auth_safe, size_t len, const uint8_t *pw, size_t pw_len)
{
    der_t digest_info, alg, oid, digest, salt;
    int iterations = 1;
    if (!der_take(&mac_data, ASN1_SEQ, &digest_info) || !der_take(&digest_info, ASN1_SEQ, &alg) ||
        !der_take(&alg, MBEDTLS_ASN1_OID, &oid) ||
        !der_take(&digest_info, MBEDTLS_ASN1_OCTET_STRING, &digest) ||
        !der_take(&mac_data, MBEDTLS_ASN1_OCTET_STRING, &salt))
        return FK_CRYPTO_EINVAL;
    if (mac_data.p < mac_data.end &&
        (mbedtls_asn1_get_int(&mac_data.p, mac_data.end, &iterations) != 0 || iterations < 1))
        return FK_CRYPTO_EINVAL;
    if (iterations > KDF_MAX_ITERATIONS) return FK_HOST_EUNSUPPORTED;
    mbedtls_asn1_buf o = {MBEDTLS_ASN1_OID, der_len(&oid), oid.p};
    mbedtls_md_type_t md;
    if (mbedtls_oid_get_md_alg(&o, &md) != 0) return FK_HOST_EUNSUPPORTED;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    if (info == NULL || md == MBEDTLS_MD_MD5) return FK_HOST_EUNSUPPORTED;
    const size_t hlen = mbedtls_md_get_size(info);
    if (der_len(&digest) != hlen) return FK_CRYPTO_EINVAL;

    uint8_t bmp[2u * P12_PW_MAX + 2u], key[MBEDTLS_MD_MAX_SIZE], mac[MBEDTLS_MD_MAX_SIZE];
    size_t bmp_len = 0;
    if (!bmp_password(pw, pw_len, bmp, sizeof bmp, &bmp_len)) return FK_HOST_EUNSUPPORTED;
    int rc = FK_CRYPTO_EAUTH;
    /* An empty password is tried as the BMPString 00 00 and as no bytes at
     * all: tools disagree on which one an empty password is. */
    for (unsigned attempt = 0; attempt < (pw_len == 0u ? 2u : 1u) && rc == FK_CRYPTO_EAUTH; attempt++) {
        const size_t plen = attempt == 0u ? bmp_len : 0u;
        if (mbedtls_pkcs12_derivation(key, hlen, bmp, plen, salt.p, der_len(&salt), md,
                                      MBEDTLS_PKCS12_DERIVE_MAC_KEY, iterations) != 0 ||
            mbedtls_md_hmac(info, key, hlen, auth_safe, len, mac) != 0) {
            rc = FK_CRYPTO_EFAIL;
            break;
        }
        if (fk_ct_equal(mac, digest.p, hlen)) rc = FK_CRYPTO_OK;
    }
    fk_wipe(bmp, sizeof bmp);
    fk_wipe(key, sizeof key);
    return rc;
}

/* The localKeyId attribute of a bag's attribute set, if any. */
static void local_key_id(der_t attrs, uint8_t *id, size_t cap, size_t *len)
{
    der_t attr, oid, values, value;
    *len = 0;
    while (attrs.p < attrs.end && der_take(&attrs, ASN1_SEQ, &attr)) {
        if (!der_take(&attr, MBEDTLS_ASN1_OID, &oid) || !der_take(&attr, ASN1_SET, &values)) return;
        if (der_oid_is(&oid, k_oid_local_key_id, sizeof k_oid_local_key_id) &&
            der_take(&values, MBEDTLS_ASN1_OCTET_STRING, &value) && der_len(&value) <= cap) {
            memcpy(id, value.p, der_len(&value));
            *len = der_len(&value);
            return;
        }
    }
}

/* A PrivateKeyInfo (PKCS#8) into out. */
static int take_private_key(const uint8_t *der, size_t len, fk_p12_t *out)
{
    der_t d = der_of(der, len), pki, alg, oid, octets, inner;
    int version = 0;
    if (!der_take(&d, ASN1_SEQ, &pki) || mbedtls_asn1_get_int(&pki.p, pki.end, &version) != 0 ||
        !der_take(&pki, ASN1_SEQ, &alg) || !der_take(&alg, MBEDTLS_ASN1_OID, &oid))
        return FK_CRYPTO_EINVAL;
    const rfc8410_t *r = rfc8410_of(&oid);
    if (r != NULL) {
        if (!der_take(&pki, MBEDTLS_ASN1_OCTET_STRING, &octets) ||
            !der_take(&octets, MBEDTLS_ASN1_OCTET_STRING, &inner) || der_len(&inner) != r->len)
            return FK_CRYPTO_EINVAL;
        out->kind = r->kind;
        out->curve = r->curve;
        memcpy(out->d, inner.p, r->len);
        out->d_len = r->len;
        return FK_CRYPTO_OK;
    }

    mbedtls_pk_context pk;
    mbedtls_mpi N, P, Q, D, E;
    int rc = FK_HOST_EUNSUPPORTED;
    mbedtls_pk_init(&pk);
    mbedtls_mpi_init(&N);
    mbedtls_mpi_init(&P);
    mbedtls_mpi_init(&Q);
    mbedtls_mpi_init(&D);
    mbedtls_mpi_init(&E);
    if (mbedtls_pk_parse_key(&pk, der, len, NULL, 0) != 0) {
        rc = FK_CRYPTO_EINVAL;
    } else if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
        rc = pub_from_pk(&pk, &out->pub);
        if (rc == FK_CRYPTO_OK) {
            rc = FK_HOST_EUNSUPPORTED;
            if (mbedtls_rsa_export(mbedtls_pk_rsa(pk), &N, &P, &Q, &D, &E) == 0 &&
                mpi_out(&N, out->n, sizeof out->n, &out->n_len) &&
                mpi_out(&E, out->e, sizeof out->e, &out->e_len) &&
                mpi_out(&D, out->d, sizeof out->d, &out->d_len) &&
                mpi_out(&P, out->p, sizeof out->p, &out->p_len) &&
                mpi_out(&Q, out->q, sizeof out->q, &out->q_len)) {
                out->kind = FK_HOST_KEY_RSA;
                out->have_pub = true;
                rc = FK_CRYPTO_OK;
            }
        }
    } else if (mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECKEY)) {
        rc = pub_from_pk(&pk, &out->pub);
        const fk_curve_info_t *ci = fk_curve_info(out->pub.curve);
        if (rc == FK_CRYPTO_OK && ci != NULL &&
            mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, out->d, ci->order_len) == 0) {
            out->kind = FK_HOST_KEY_EC;
            out->curve = out->pub.curve;
            out->d_len = ci->order_len;
            out->have_pub = true;
        } else if (rc == FK_CRYPTO_OK) {
            rc = FK_HOST_EUNSUPPORTED;
        }
    }
    mbedtls_mpi_free(&N);
    mbedtls_mpi_free(&P);
    mbedtls_mpi_free(&Q);
    mbedtls_mpi_free(&D);
    mbedtls_mpi_free(&E);
    mbedtls_pk_free(&pk);
    return rc;
}

/* One SafeBag. */
static void take_bag(p12_walk_t *w, der_t bag)
{
    der_t oid, value, attrs = {NULL, NULL};
    if (!der_take(&bag, MBEDTLS_ASN1_OID, &oid) || !der_take(&bag, ASN1_CTX0, &value)) {
        w->rc = FK_CRYPTO_EINVAL;
        return;
    }
    if (bag.p < bag.end && !der_take(&bag, ASN1_SET, &attrs)) {
        w->rc = FK_CRYPTO_EINVAL;
        return;
    }
    if (der_len(&oid) != sizeof k_oid_bag_prefix + 1u ||
        memcmp(oid.p, k_oid_bag_prefix, sizeof k_oid_bag_prefix) != 0)
        return; /* not a bag of PKCS#12's list: ignored */
    const uint8_t type = oid.p[sizeof k_oid_bag_prefix];

    if (type == BAG_KEY || type == BAG_SHROUDED_KEY) {
        if (w->have_key) return; /* the first key only */
        const uint8_t *der = value.p;
        size_t len = der_len(&value);
        if (type == BAG_SHROUDED_KEY) {
            der_t epki, alg, data;
            if (!der_take(&value, ASN1_SEQ, &epki) || !der_take(&epki, ASN1_SEQ, &alg) ||
                !der_take(&epki, MBEDTLS_ASN1_OCTET_STRING, &data)) {
                w->rc = FK_CRYPTO_EINVAL;
                return;
            }
            const int rc = pbe_decrypt(alg, w->pw, w->pw_len, data.p, der_len(&data), s_keybuf,
                                       sizeof s_keybuf, &len);
            if (rc != FK_CRYPTO_OK) {
                w->rc = rc;
                return;
            }
            der = s_keybuf;
        }
        const int rc = take_private_key(der, len, w->out);
        fk_wipe(s_keybuf, sizeof s_keybuf);
        if (rc != FK_CRYPTO_OK) {
            w->rc = rc;
            return;
        }
        w->have_key = true;
        if (attrs.p != NULL) local_key_id(attrs, w->key_id, sizeof w->key_id, &w->key_id_len);
        return;
    }
    if (type == BAG_CERT) {
        der_t cert_bag, cert_oid, cert_value, octets;
        if (!der_take(&value, ASN1_SEQ, &cert_bag) || !der_take(&cert_bag, MBEDTLS_ASN1_OID, &cert_oid) ||
            !der_take(&cert_bag, ASN1_CTX0, &cert_value)) {
            w->rc = FK_CRYPTO_EINVAL;
            return;
        }
        if (!der_oid_is(&cert_oid, k_oid_x509_cert, sizeof k_oid_x509_cert)) return;
        if (!der_take(&cert_value, MBEDTLS_ASN1_OCTET_STRING, &octets)) {
            w->rc = FK_CRYPTO_EINVAL;
            return;
        }
        if (w->n_certs >= P12_MAX_CERTS || der_len(&octets) > FK_P12_CERT_MAX) return;
        p12_cert_t *c = &s_certs[w->n_certs++];
        memcpy(c->der, octets.p, der_len(&octets));
        c->len = der_len(&octets);
        if (attrs.p != NULL) local_key_id(attrs, c->key_id, sizeof c->key_id, &c->key_id_len);
    }
}

/* A SafeContents (SEQUENCE OF SafeBag). */
static void take_safe_contents(p12_walk_t *w, const uint8_t *buf, size_t len)
{
    der_t d = der_of(buf, len), seq, bag;
    if (!der_take(&d, ASN1_SEQ, &seq)) {
        w->rc = FK_CRYPTO_EINVAL;
        return;
    }
    while (seq.p < seq.end && w->rc == FK_CRYPTO_OK) {
        if (!der_take(&seq, ASN1_SEQ, &bag)) {
            w->rc = FK_CRYPTO_EINVAL;
            return;
        }
        take_bag(w, bag);
    }
}

/* One ContentInfo of the AuthenticatedSafe: plain data or encryptedData. */
static void take_content_info(p12_walk_t *w, der_t ci)
{
    der_t oid, content, octets;
    if (!der_take(&ci, MBEDTLS_ASN1_OID, &oid) || !der_take(&ci, ASN1_CTX0, &content)) {
        w->rc = FK_CRYPTO_EINVAL;
        return;
    }
    if (der_oid_is(&oid, k_oid_data, sizeof k_oid_data)) {
        if (!der_take(&content, MBEDTLS_ASN1_OCTET_STRING, &octets)) {
            w->rc = FK_CRYPTO_EINVAL;
            return;
        }
        take_safe_contents(w, octets.p, der_len(&octets));
        return;
    }
    if (!der_oid_is(&oid, k_oid_encrypted, sizeof k_oid_encrypted)) return; /* enveloped: ignored */
    der_t ed, eci, ct_oid, alg, data;
    int version = 0;
    if (!der_take(&content, ASN1_SEQ, &ed) || mbedtls_asn1_get_int(&ed.p, ed.end, &version) != 0 ||
        !der_take(&ed, ASN1_SEQ, &eci) || !der_take(&eci, MBEDTLS_ASN1_OID, &ct_oid) ||
        !der_take(&eci, ASN1_SEQ, &alg) || !der_take(&eci, ASN1_CTX0_PRIM, &data)) {
        w->rc = FK_CRYPTO_EINVAL;
        return;
    }
    size_t len = 0;
    const int rc = pbe_decrypt(alg, w->pw, w->pw_len, data.p, der_len(&data), s_contents,
                               sizeof s_contents, &len);
    if (rc == FK_HOST_EUNSUPPORTED) {
        /* Typically certificates under RC2-40 (legacy files): the key may
         * still be elsewhere; say so rather than fail. */
        w->out->cert_skipped = true;
        return;
    }
    if (rc != FK_CRYPTO_OK) {
        w->rc = rc;
        return;
    }
    take_safe_contents(w, s_contents, len);
    fk_wipe(s_contents, sizeof s_contents);
}

/* True when the certificate's public key is the key's (RSA, EC). */
static bool cert_matches(const p12_cert_t *c, const fk_p12_t *out)
{
    fk_host_pub_t pub;
    if (!out->have_pub || fk_host_pub_from_x509(c->der, c->len, &pub) != FK_CRYPTO_OK) return false;
    if (pub.kind != out->pub.kind) return false;
    if (pub.kind == FK_HOST_KEY_RSA)
        return pub.n_len == out->pub.n_len && memcmp(pub.n, out->pub.n, pub.n_len) == 0;
    return pub.curve == out->pub.curve && pub.point_len == out->pub.point_len &&
           memcmp(pub.point, out->pub.point, pub.point_len) == 0;
}

/* The certificate of the key: by localKeyId, else by public key, else the
 * only one (for keys whose public half is unknown here). */
static void choose_cert(p12_walk_t *w)
{
    const p12_cert_t *pick = NULL;
    for (unsigned i = 0; i < w->n_certs && pick == NULL; i++)
        if (w->key_id_len != 0u && s_certs[i].key_id_len == w->key_id_len &&
            memcmp(s_certs[i].key_id, w->key_id, w->key_id_len) == 0)
            pick = &s_certs[i];
    for (unsigned i = 0; i < w->n_certs && pick == NULL; i++)
        if (cert_matches(&s_certs[i], w->out)) pick = &s_certs[i];
    if (pick == NULL && w->n_certs == 1u && !w->out->have_pub) pick = &s_certs[0];
    if (pick == NULL) return;
    memcpy(w->out->cert, pick->der, pick->len);
    w->out->cert_len = pick->len;
    if (!w->out->have_pub && fk_host_pub_from_x509(pick->der, pick->len, &w->out->pub) == FK_CRYPTO_OK &&
        w->out->pub.kind == w->out->kind && w->out->pub.curve == w->out->curve)
        w->out->have_pub = true;
}

int fk_p12_read(const uint8_t *der, size_t len, const uint8_t *pw, size_t pw_len, fk_p12_t *out)
{
    der_t d, pfx, auth_safe, as_oid, as_content, octets, mac = {NULL, NULL};
    int version = 0;
    if (der == NULL || out == NULL || (pw == NULL && pw_len != 0u) || pw_len > P12_PW_MAX || len > FK_P12_MAX)
        return FK_CRYPTO_EINVAL;
    memset(out, 0, sizeof *out);
    d = der_of(der, len);
    if (!der_take(&d, ASN1_SEQ, &pfx) || mbedtls_asn1_get_int(&pfx.p, pfx.end, &version) != 0 ||
        version != 3 || !der_take(&pfx, ASN1_SEQ, &auth_safe) ||
        !der_take(&auth_safe, MBEDTLS_ASN1_OID, &as_oid) ||
        !der_oid_is(&as_oid, k_oid_data, sizeof k_oid_data) ||
        !der_take(&auth_safe, ASN1_CTX0, &as_content) ||
        !der_take(&as_content, MBEDTLS_ASN1_OCTET_STRING, &octets))
        return FK_CRYPTO_EINVAL; /* also BER (constructed OCTET STRINGs): not handled */
    if (pfx.p < pfx.end && !der_take(&pfx, ASN1_SEQ, &mac)) return FK_CRYPTO_EINVAL;

    int rc = FK_CRYPTO_OK;
    if (mac.p != NULL) rc = check_mac(mac, octets.p, der_len(&octets), pw, pw_len);
    p12_walk_t w = {pw, pw_len, out, false, {0}, 0, 0, FK_CRYPTO_OK};
    if (rc == FK_CRYPTO_OK) {
        der_t seq, ci;
        if (!der_take(&octets, ASN1_SEQ, &seq)) rc = FK_CRYPTO_EINVAL;
        while (rc == FK_CRYPTO_OK && seq.p < seq.end && w.rc == FK_CRYPTO_OK) {
            if (!der_take(&seq, ASN1_SEQ, &ci)) {
                rc = FK_CRYPTO_EINVAL;
                break;
            }
            take_content_info(&w, ci);
        }
        if (rc == FK_CRYPTO_OK) rc = w.rc;
        if (rc == FK_CRYPTO_OK && !w.have_key) rc = FK_CRYPTO_EINVAL;
        if (rc == FK_CRYPTO_OK) choose_cert(&w);
    }
    fk_wipe(s_contents, sizeof s_contents);
    fk_wipe(s_keybuf, sizeof s_keybuf);
    memset(s_certs, 0, sizeof s_certs);
    fk_wipe(&w, sizeof w);
    if (rc != FK_CRYPTO_OK) fk_p12_wipe(out);
    return rc;
}

void fk_p12_wipe(fk_p12_t *p12)
{
    if (p12 != NULL) fk_wipe(p12, sizeof *p12);
}
