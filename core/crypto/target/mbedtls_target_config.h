/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbedtls_target_config.h - the mbedTLS 2.28 configuration of the firmware
 * (cmake/target_crypto.cmake builds Debian's mbedtls source package with it;
 * docs/crypto.md, "Target build").
 *
 * Only what core/crypto's firmware files (crypto.c, pk.c, sym.c, ec_tweak.c)
 * call, and what those features need inside mbedTLS. No file system, no
 * clock, no network, no entropy sources: the DRBG (HMAC-DRBG) is seeded from
 * fk_hal_random by crypto.c. No heap: every allocation mbedTLS makes goes to
 * the fixed crypto arena (core/crypto/arena.h).
 */
#ifndef FUSEKEY_MBEDTLS_TARGET_CONFIG_H
#define FUSEKEY_MBEDTLS_TARGET_CONFIG_H

#include <stddef.h>

/* --- System ------------------------------------------------------------- */
/* bn_mul.h's Thumb-2 multiply-accumulate (UMAAL on the M33's DSP extension). */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_PLATFORM_ENTROPY
/* MBEDTLS_HAVE_TIME, MBEDTLS_FS_IO, MBEDTLS_NET_C, MBEDTLS_ENTROPY_C: off. */

/* Allocation goes to the crypto arena, through macros (no function pointer
 * that a stray write could redirect). */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
void *fk_arena_calloc(size_t n, size_t size);
void fk_arena_free(void *p);
#define MBEDTLS_PLATFORM_CALLOC_MACRO fk_arena_calloc
#define MBEDTLS_PLATFORM_FREE_MACRO fk_arena_free

/* --- Hashes, MAC, KDF, DRBG --------------------------------------------- */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C /* SHA-224 and SHA-256 */
#define MBEDTLS_SHA512_C /* SHA-384 and SHA-512 */
#define MBEDTLS_HKDF_C
#define MBEDTLS_PKCS5_C /* PBKDF2 */
#define MBEDTLS_HMAC_DRBG_C

/* --- Symmetric ciphers (sym.c, crypto.c) -------------------------------- */
#define MBEDTLS_AES_C
/* The AES tables in flash, not built in RAM at first use. */
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_CIPHER_C /* CMAC goes through the cipher layer */
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_MODE_CFB
#define MBEDTLS_CIPHER_MODE_CTR
#define MBEDTLS_CIPHER_MODE_OFB
#define MBEDTLS_CIPHER_MODE_XTS
#define MBEDTLS_CMAC_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C

/* --- Public key (pk.c, ec_tweak.c) -------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21 /* PSS and OAEP */
#define MBEDTLS_OID_C     /* RSA's PKCS#1 v1.5 DigestInfo */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ASN1_PARSE_C /* ECDSA's DER signature helpers need both */
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_ECP_NIST_OPTIM /* fast reduction modulo the NIST primes */

/* The curves of core/crypto/pk.c's table. */
#define MBEDTLS_ECP_DP_SECP192R1_ENABLED
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_SECP192K1_ENABLED
#define MBEDTLS_ECP_DP_SECP256K1_ENABLED
#define MBEDTLS_ECP_DP_BP256R1_ENABLED
#define MBEDTLS_ECP_DP_BP384R1_ENABLED
#define MBEDTLS_ECP_DP_BP512R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_DP_CURVE448_ENABLED

/* Sizes. RSA up to 4096 bits (512-byte numbers; 1024 leaves room for the
 * products inside an exponentiation). */
#define MBEDTLS_MPI_MAX_SIZE 1024
/* mbedTLS's own default: a smaller table per exponentiation (RAM in the
 * arena) at a cost of about a tenth of the RSA private-key time. */
#define MBEDTLS_MPI_WINDOW_SIZE 2
#define MBEDTLS_ECP_MAX_BITS 521
/* Window 4 with the fixed-point comb: the base-point table a curve group
 * keeps makes a signature with a warm group about twice as fast
 * (4.6 M against 10.1 M instructions for a P-256 signature, docs/crypto.md),
 * for about twice the EC peak memory, which the arena is sized for. */
#define MBEDTLS_ECP_WINDOW_SIZE 4
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 1

#include "mbedtls/check_config.h"

#endif /* FUSEKEY_MBEDTLS_TARGET_CONFIG_H */
