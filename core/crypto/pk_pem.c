/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_pem.c - EC private key files through mbedTLS's key parser (see
 * pk_pem.h). mbedTLS allocates while parsing (host only); everything it
 * held is freed and zeroized by mbedtls_pk_free.
 *
 * IMPLEMENTATION NOTE: mbedTLS 2.28 decrypts PKCS#8 (PBES2) only with the
 * PBKDF2 PRF hmacWithSHA1, while OpenSSL 3 writes hmacWithSHA256 by default.
 * When the library reports the scheme unavailable, this file decrypts
 * PBES2 itself: PBKDF2 with any HMAC mbedTLS knows, AES-128/192/256-CBC,
 * then the plain PKCS#8 goes through the same parser. The iteration count
 * is capped so that a hostile file cannot stall the tool.
 */
#include "crypto/pk_pem.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>

#include "crypto/pk_backend.h"
#include "util.h"

static const char k_pem_begin[] = "-----BEGIN ";
static const char k_pem_enc_begin[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
static const char k_pem_enc_end[] = "-----END ENCRYPTED PRIVATE KEY-----";

#define PBKDF2_MAX_ITERATIONS 10000000
#define AES_BLOCK 16u
#define AES_MAX_KEY 32u

/* PEM text with its NUL terminator, as mbedtls_pk_parse_key wants it. */
static unsigned char s_pem[FK_PK_PEM_MAX_LEN + 1u];
/* Decrypted PKCS#8 of the PBES2 fallback. */
static unsigned char s_plain[FK_PK_PEM_MAX_LEN];

typedef struct aes_oid {
    const char *oid;
    size_t oid_len;
    uint32_t key_len;
} aes_oid_t;

#define AES_CBC_OID(last) MBEDTLS_OID_AES last
static const aes_oid_t k_aes_cbc[] = {
    {AES_CBC_OID("\x02"), sizeof(AES_CBC_OID("\x02")) - 1u, 16u},
    {AES_CBC_OID("\x16"), sizeof(AES_CBC_OID("\x16")) - 1u, 24u},
    {AES_CBC_OID("\x2A"), sizeof(AES_CBC_OID("\x2A")) - 1u, 32u},
};

/* True when in looks like PEM text (a BEGIN line anywhere). */
static bool is_pem(const uint8_t *in, size_t len)
{
    const size_t n = sizeof(k_pem_begin) - 1u;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(in + i, k_pem_begin, n) == 0) return true;
    return false;
}

/* PBKDF2-params: salt, iterations, optional key length and PRF. */
static int pbkdf2_params(const mbedtls_asn1_buf *params, uint32_t key_len, const unsigned char **salt,
                         size_t *salt_len, int *iterations, mbedtls_md_type_t *md)
{
    unsigned char *p = params->p;
    const unsigned char *end = params->p + params->len;
    mbedtls_asn1_buf prf, prf_params;
    int declared;

    if (params->tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) return -1;
    if (mbedtls_asn1_get_tag(&p, end, salt_len, MBEDTLS_ASN1_OCTET_STRING) != 0) return -1;
    *salt = p;
    p += *salt_len;
    if (mbedtls_asn1_get_int(&p, end, iterations) != 0 || *iterations < 1 ||
        *iterations > PBKDF2_MAX_ITERATIONS)
        return -1;
    if (p < end && *p == MBEDTLS_ASN1_INTEGER) {
        if (mbedtls_asn1_get_int(&p, end, &declared) != 0 || declared != (int)key_len) return -1;
    }
    *md = MBEDTLS_MD_SHA1;
    if (p < end) {
        if (mbedtls_asn1_get_alg(&p, end, &prf, &prf_params) != 0 ||
            mbedtls_oid_get_md_hmac(&prf, md) != 0)
            return -1;
    }
    return p == end ? 0 : -1;
}

int fk_pbes2_aes_cbc_decrypt(mbedtls_md_type_t md, const uint8_t *pw, size_t pw_len,
                             const uint8_t *salt, size_t salt_len, unsigned iterations,
                             size_t key_len, const uint8_t *iv, const uint8_t *in, size_t len,
                             uint8_t *out, size_t *out_len)
{
    uint8_t key[AES_MAX_KEY], iv_copy[AES_BLOCK];
    mbedtls_md_context_t md_ctx;
    mbedtls_aes_context aes;
    int rc = FK_CRYPTO_EFAIL;

    if (key_len > sizeof(key) || len == 0u || len % AES_BLOCK != 0u) return FK_CRYPTO_EINVAL;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    mbedtls_md_init(&md_ctx);
    mbedtls_aes_init(&aes);
    memcpy(iv_copy, iv, AES_BLOCK);
    if (info != NULL && mbedtls_md_setup(&md_ctx, info, 1) == 0 &&
        mbedtls_pkcs5_pbkdf2_hmac(&md_ctx, pw, pw_len, salt, salt_len, iterations,
                                  (uint32_t)key_len, key) == 0 &&
        mbedtls_aes_setkey_dec(&aes, key, (unsigned)(8u * key_len)) == 0 &&
        mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, len, iv_copy, in, out) == 0) {
        const unsigned pad = out[len - 1u];
        bool ok = pad >= 1u && pad <= AES_BLOCK;
        for (unsigned i = 1; ok && i <= pad; i++) ok = out[len - i] == pad;
        rc = ok ? FK_CRYPTO_OK : FK_CRYPTO_EAUTH;
        if (ok) *out_len = len - pad;
    }
    mbedtls_md_free(&md_ctx);
    mbedtls_aes_free(&aes);
    fk_wipe(key, sizeof(key));
    if (rc != FK_CRYPTO_OK) fk_wipe(out, len);
    return rc;
}

/* Decrypt a PBES2 EncryptedPrivateKeyInfo (DER) into s_plain. Returns
 * FK_CRYPTO_OK with *plain_len, FK_CRYPTO_EAUTH when the padding is wrong
 * (a wrong password), FK_CRYPTO_EINVAL for anything not understood. */
static int pbes2_decrypt(const unsigned char *der, size_t der_len, const uint8_t *pw, size_t pw_len,
                         size_t *plain_len)
{
    unsigned char *p = (unsigned char *)der;
    const unsigned char *end = der + der_len;
    mbedtls_asn1_buf alg, params, kdf, kdf_params, enc, iv;
    const unsigned char *salt = NULL;
    size_t len, salt_len = 0;
    int iterations = 0, rc = FK_CRYPTO_EINVAL;
    mbedtls_md_type_t md = MBEDTLS_MD_NONE;
    uint32_t key_len = 0;

    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
        return FK_CRYPTO_EINVAL;
    end = p + len;
    if (mbedtls_asn1_get_alg(&p, end, &alg, &params) != 0 ||
        MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBES2, &alg) != 0 ||
        params.tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return FK_CRYPTO_EINVAL;
    unsigned char *q = params.p;
    const unsigned char *qend = params.p + params.len;
    if (mbedtls_asn1_get_alg(&q, qend, &kdf, &kdf_params) != 0 ||
        MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBKDF2, &kdf) != 0 ||
        mbedtls_asn1_get_alg(&q, qend, &enc, &iv) != 0 || q != qend)
        return FK_CRYPTO_EINVAL;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_aes_cbc); i++)
        if (enc.len == k_aes_cbc[i].oid_len && memcmp(enc.p, k_aes_cbc[i].oid, enc.len) == 0)
            key_len = k_aes_cbc[i].key_len;
    if (key_len == 0u || iv.tag != MBEDTLS_ASN1_OCTET_STRING || iv.len != AES_BLOCK) return FK_CRYPTO_EINVAL;
    if (pbkdf2_params(&kdf_params, key_len, &salt, &salt_len, &iterations, &md) != 0)
        return FK_CRYPTO_EINVAL;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 || len == 0u ||
        len % AES_BLOCK != 0u || len > sizeof(s_plain))
        return FK_CRYPTO_EINVAL;

    rc = fk_pbes2_aes_cbc_decrypt(md, pw, pw_len, salt, salt_len, (unsigned)iterations, key_len,
                                  iv.p, p, len, s_plain, plain_len);
    if (rc != FK_CRYPTO_OK) fk_wipe(s_plain, sizeof(s_plain));
    return rc;
}

/* The PBES2 fallback: DER of buf (PEM with its NUL, or DER), decrypt,
 * parse the plain PKCS#8 into pk. */
static int parse_pbes2(mbedtls_pk_context *pk, const unsigned char *buf, size_t buf_len, bool pem,
                       const uint8_t *pw, size_t pw_len)
{
    mbedtls_pem_context ctx;
    const unsigned char *der = buf;
    size_t der_len = buf_len, used, plain_len = 0;
    int rc;

    mbedtls_pem_init(&ctx);
    if (pem) {
        if (mbedtls_pem_read_buffer(&ctx, k_pem_enc_begin, k_pem_enc_end, buf, NULL, 0, &used) != 0) {
            mbedtls_pem_free(&ctx);
            return FK_CRYPTO_EINVAL;
        }
        der = ctx.buf;
        der_len = ctx.buflen;
    }
    rc = pbes2_decrypt(der, der_len, pw, pw_len, &plain_len);
    mbedtls_pem_free(&ctx);
    if (rc != FK_CRYPTO_OK) return rc;
    mbedtls_pk_free(pk);
    mbedtls_pk_init(pk);
    /* Garbage that happened to pad correctly is a wrong password too. */
    rc = mbedtls_pk_parse_key(pk, s_plain, plain_len, NULL, 0) == 0 ? FK_CRYPTO_OK : FK_CRYPTO_EAUTH;
    fk_wipe(s_plain, sizeof(s_plain));
    return rc;
}

static int map_error(int rc)
{
    switch (rc) {
    case MBEDTLS_ERR_PK_PASSWORD_REQUIRED:
        return FK_PK_PEM_ENEED_PASSWORD;
    case MBEDTLS_ERR_PK_PASSWORD_MISMATCH:
        return FK_CRYPTO_EAUTH;
    default:
        return FK_CRYPTO_EINVAL;
    }
}

int fk_pk_pem_load_ec(const uint8_t *in, size_t len, const uint8_t *pw, size_t pw_len,
                      uint8_t *blob, size_t cap, size_t *blob_len)
{
    mbedtls_pk_context pk;
    uint8_t d[FK_EC_MAX_LEN];
    const unsigned char *buf = in;
    size_t buf_len = len;
    int rc;

    if (blob_len != NULL) *blob_len = 0;
    if (in == NULL || len == 0u || blob == NULL || blob_len == NULL || (pw == NULL && pw_len != 0u))
        return FK_CRYPTO_EINVAL;
    if (is_pem(in, len) && in[len - 1u] != '\0') {
        if (len > FK_PK_PEM_MAX_LEN) return FK_CRYPTO_EINVAL;
        memcpy(s_pem, in, len);
        s_pem[len] = '\0';
        buf = s_pem;
        buf_len = len + 1u;
    }

    mbedtls_pk_init(&pk);
    rc = mbedtls_pk_parse_key(&pk, buf, buf_len, pw_len != 0u ? pw : NULL, pw_len);
    if (rc == MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE && pw_len != 0u) {
        rc = parse_pbes2(&pk, buf, buf_len, is_pem(in, len), pw, pw_len);
    } else if (rc != 0) {
        rc = map_error(rc);
    }
    if (buf == s_pem) fk_wipe(s_pem, buf_len);
    if (rc != 0) {
        mbedtls_pk_free(&pk);
        return rc;
    }
    rc = FK_CRYPTO_EINVAL;
    if (mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECKEY)) {
        const mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
        const fk_curve_t curve = fk_pk_curve_of_group(ec->grp.id);
        const fk_curve_info_t *info = fk_curve_info(curve);
        if (info != NULL && !info->montgomery &&
            mbedtls_mpi_write_binary(&ec->d, d, info->order_len) == 0)
            rc = fk_pk_ec_import(curve, d, info->order_len, blob, cap, blob_len);
        fk_wipe(d, sizeof(d));
    }
    mbedtls_pk_free(&pk);
    return rc;
}
