/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_blob.h - the SmartCard-HSM key blob that WRAP KEY (72) answers and
 * UNWRAP KEY (74) takes: an encoder and a decoder, and nothing else. They
 * are pure (no applet context, no store, no random generator): the applet
 * and the host tool link the same code. The format, with fusekey's choices
 * for Edwards and Montgomery keys and the use counter, is docs/key-blob.md.
 *
 *   KCV(8) type(1) | u16 len + algorithm OID | u16 len + allowed algorithms |
 *   u16 len + access conditions | u16 len + key OID |
 *   AES-256-CBC(Kenc, IV 0, random(8) u16 keysize components padding) |
 *   AES-256-CMAC(Kmac, everything before)
 *
 *   KCV = SHA-256(DKEK)[0..7]   Kenc = SHA-256(DKEK || 00000001)
 *                               Kmac = SHA-256(DKEK || 00000002)
 *
 * The decoder takes what other cards write as well as what fusekey writes:
 * empty header fields, integers without leading zeros or with extra ones,
 * EC blobs with an empty coefficient a (a = p - 3), plain blocks with or
 * without padding, RSA keys as d, n, e (type 5) or in CRT form (type 6).
 * It checks the KCV and the CMAC before it decrypts anything.
 */
#ifndef FUSEKEY_HSM_BLOB_H
#define FUSEKEY_HSM_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/pk.h" /* fk_bytes_t, fk_curve_t */

#define HSM_BLOB_DKEK_LEN 32u
#define HSM_BLOB_KCV_LEN 8u
#define HSM_BLOB_RANDOM_LEN 8u /* the random head of the plain block */
#define HSM_BLOB_MAC_LEN 16u
#define HSM_BLOB_BLOCK 16u

/* Blob key types (byte 8). */
#define HSM_BLOB_TYPE_RSA 5u     /* keysize = modulus bits; d, n, e */
#define HSM_BLOB_TYPE_RSA_CRT 6u /* keysize = modulus bits; dP, dQ, p, qInv, q, n, e */
#define HSM_BLOB_TYPE_EC 12u     /* keysize = 8 x field bytes; a, b, p, n, G, d, Q */
#define HSM_BLOB_TYPE_AES 15u    /* keysize = key bytes; the key */

/* Limits of what the decoder takes. */
#define HSM_BLOB_FIELD_MAX 64u  /* algorithm OID, access conditions, key OID */
#define HSM_BLOB_ALGS_MAX 16u   /* allowed algorithms (what a key object keeps) */
#define HSM_BLOB_PLAIN_MAX 2048u /* the plain block: an RSA-4096 key in CRT form fits */
#define HSM_BLOB_HEAD_MAX \
    (HSM_BLOB_KCV_LEN + 1u + 3u * (2u + HSM_BLOB_FIELD_MAX) + 2u + HSM_BLOB_ALGS_MAX)
#define HSM_BLOB_MAX (HSM_BLOB_HEAD_MAX + HSM_BLOB_PLAIN_MAX + HSM_BLOB_MAC_LEN)

/* What kind of key a blob holds. The values are those of the key-object
 * service's kinds (fk_key_kind_t) for the same keys. */
typedef enum hsm_blob_kind {
    HSM_BLOB_KIND_RSA = 1,
    HSM_BLOB_KIND_EC = 2,      /* a Weierstrass curve */
    HSM_BLOB_KIND_MONT = 3,    /* X25519, X448 */
    HSM_BLOB_KIND_EDWARDS = 4, /* Ed25519, Ed448 */
    HSM_BLOB_KIND_AES = 5,
} hsm_blob_kind_t;

/* A key with its metadata, as spans. For the encoder they point at the
 * caller's key; for the decoder into the caller's plain-block buffer. */
typedef struct hsm_blob_key {
    hsm_blob_kind_t kind;
    fk_curve_t curve; /* EC, MONT; EDWARDS: its Montgomery twin (X25519: Ed25519) */
    uint16_t bits;    /* RSA: modulus bits; AES: key bits (128, 192, 256, 512) */
    /* RSA: n, e and d (type 5), or n, e, p, q and the CRT values (type 6:
     * the decoder fills p, q, dp, dq, qinv and leaves d empty). Big-endian;
     * the decoder's spans may carry leading zeros. */
    fk_bytes_t n, e, d, p, q, dp, dq, qinv;
    /* EC: the scalar d (big-endian); MONT: the scalar as RFC 7748 bytes;
     * EDWARDS: the RFC 8032 seed; AES: the key. */
    fk_bytes_t priv;
    /* EC: Q = 04 || X || Y; MONT: u (RFC 7748 bytes); EDWARDS: the encoded
     * point (RFC 8032). The decoder leaves it empty when the blob has none. */
    fk_bytes_t pub;
    fk_bytes_t algs;  /* allowed algorithm ids, empty: every one */
    bool has_counter; /* fusekey's extension: the uses left travel along */
    uint32_t counter;
} hsm_blob_key_t;

/* The clear part of a blob (spans into it). */
typedef struct hsm_blob_header {
    const uint8_t *kcv; /* HSM_BLOB_KCV_LEN bytes */
    uint8_t type;
    fk_bytes_t oid, algs, access, key_oid;
    fk_bytes_t cipher; /* the encrypted plain block, a multiple of 16 bytes */
    const uint8_t *mac;
} hsm_blob_header_t;

enum {
    HSM_BLOB_OK = 0,
    HSM_BLOB_EFORMAT = -1, /* not a blob: truncated, lengths that do not add up, an unknown
                            * type, a field over its limit */
    HSM_BLOB_EKCV = -2,    /* made under another DKEK */
    HSM_BLOB_EMAC = -3,    /* the CMAC does not verify: changed or damaged */
    HSM_BLOB_EKEY = -4,    /* the (authentic) plain block does not hold a key this decoder
                            * takes: components, curve, size, padding */
    HSM_BLOB_ENOSPC = -5,  /* the output buffer is too small */
    HSM_BLOB_EINVAL = -6,  /* the encoder's key is not one it can write */
    HSM_BLOB_ECRYPTO = -7, /* the crypto module failed */
};

/* The key check value of a DKEK: SHA-256(DKEK)[0..7]. */
void hsm_blob_kcv(const uint8_t dkek[HSM_BLOB_DKEK_LEN], uint8_t kcv[HSM_BLOB_KCV_LEN]);

/* Split a blob into its clear fields (no key needed, nothing decrypted):
 * HSM_BLOB_OK or HSM_BLOB_EFORMAT. */
int hsm_blob_parse_header(const uint8_t *blob, size_t len, hsm_blob_header_t *h);

/* Open a blob made under dkek: the KCV, then the CMAC, are checked before
 * anything is decrypted; the plain block goes to plain (cap bytes, at
 * least the ciphertext's length) and *key gets spans into it. The caller
 * wipes plain after use; on failure it is wiped here and *key is zeroed. */
int hsm_blob_decode(const uint8_t *blob, size_t len, const uint8_t dkek[HSM_BLOB_DKEK_LEN],
                    uint8_t *plain, size_t cap, hsm_blob_key_t *key);

/* Write the blob of key under dkek into out (cap bytes), *out_len its
 * length. random: the 8 bytes the plain block starts with (the caller's
 * DRBG). RSA keys are written as type 5 (d and n at modulus length), EC
 * keys with a, d and Q at full length. On failure out is wiped. */
int hsm_blob_encode(const hsm_blob_key_t *key, const uint8_t dkek[HSM_BLOB_DKEK_LEN],
                    const uint8_t random[HSM_BLOB_RANDOM_LEN], uint8_t *out, size_t cap,
                    size_t *out_len);

#endif /* FUSEKEY_HSM_BLOB_H */
