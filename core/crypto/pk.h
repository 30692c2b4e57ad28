/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk.h - public-key cryptography: RSA (1024-4096), ECDSA and ECDH on nine
 * Weierstrass curves, X25519 and X448, the SHA-1/SHA-2 hashes they use, and
 * fusekey's private key blob (format in docs/keys.md).
 *
 * No mbedTLS type appears here. A private key lives in a blob that the
 * caller keeps (sealed at rest by the applet); fk_pk_parse() turns a blob
 * into an fk_pk_key_t whose spans point into it, and every private-key
 * operation takes that view. The caller wipes the blob after use.
 *
 * Conventions as in crypto.h: FK_CRYPTO_OK or a negative FK_CRYPTO_E* code;
 * FK_CRYPTO_EINVAL for any bad argument, length, key or peer point,
 * FK_CRYPTO_EAUTH for a signature that does not verify or a padding that does
 * not decode, FK_CRYPTO_ERNG when the random generator failed. On failure
 * every output buffer is wiped. Output buffers must not overlap inputs.
 */
#ifndef FUSEKEY_PK_H
#define FUSEKEY_PK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "hal.h"

/* A read-only byte span (len 0 = absent). */
typedef struct fk_bytes {
    const uint8_t *p;
    size_t len;
} fk_bytes_t;

/* ---- Hashes -------------------------------------------------------------- */

typedef enum fk_hash {
    FK_HASH_NONE = 0,
    FK_HASH_SHA1 = 1,
    FK_HASH_SHA224 = 2,
    FK_HASH_SHA256 = 3,
    FK_HASH_SHA384 = 4,
    FK_HASH_SHA512 = 5,
} fk_hash_t;

#define FK_HASH_MAX_LEN 64u

/* Digest length of h in bytes; 0 for FK_HASH_NONE or an unknown value. */
size_t fk_hash_len(fk_hash_t h);

/* The hash whose digest is len bytes long (20/28/32/48/64), else NONE. */
fk_hash_t fk_hash_from_len(size_t len);

/* One-shot hash of data into out (fk_hash_len(h) bytes). */
int fk_hash(fk_hash_t h, const void *data, size_t len, uint8_t *out);

/* The DER DigestInfo prefix of h (everything before the digest), or NULL. */
const uint8_t *fk_digestinfo_prefix(fk_hash_t h, size_t *len);

/* Recognise a DER DigestInfo (exact encoding, NULL parameters) of one of the
 * five hashes: on success *h and *digest (pointing into in) are set. */
int fk_digestinfo_parse(const uint8_t *in, size_t len, fk_hash_t *h, const uint8_t **digest);

/* ---- Curves -------------------------------------------------------------
 * The values are part of the key blob format: never renumber them. */
typedef enum fk_curve {
    FK_CURVE_NONE = 0,
    FK_CURVE_SECP192R1 = 1,
    FK_CURVE_SECP256R1 = 2,
    FK_CURVE_SECP384R1 = 3,
    FK_CURVE_SECP521R1 = 4,
    FK_CURVE_BP256R1 = 5,
    FK_CURVE_BP384R1 = 6,
    FK_CURVE_BP512R1 = 7,
    FK_CURVE_SECP192K1 = 8,
    FK_CURVE_SECP256K1 = 9,
    FK_CURVE_X25519 = 10,
    FK_CURVE_X448 = 11,
} fk_curve_t;

#define FK_CURVE_FIRST FK_CURVE_SECP192R1
#define FK_CURVE_LAST FK_CURVE_X448

#define FK_EC_MAX_LEN 66u                        /* bytes of the largest field / order (P-521) */
#define FK_EC_POINT_MAX (1u + 2u * FK_EC_MAX_LEN) /* 04 || X || Y */

/* Domain parameters, big-endian, each padded to its full length:
 * Weierstrass curves: p, a, b (field_len), g = 04||X||Y, n (order_len).
 * Montgomery curves (X25519/X448): p, g = the base point's u-coordinate
 * (field_len, big-endian), n = the prime order of the base point; a and b
 * are NULL. cofactor is h. */
typedef struct fk_curve_info {
    fk_curve_t id;
    bool montgomery;
    uint16_t bits;      /* bits of p */
    uint8_t field_len;  /* bytes of p */
    uint8_t order_len;  /* bytes of n */
    uint8_t cofactor;
    uint8_t oid_len;
    const uint8_t *oid; /* named-curve OID, content octets of the 06 object */
    const uint8_t *p, *a, *b, *g, *n;
    size_t g_len;
} fk_curve_info_t;

/* The parameters of c, or NULL for FK_CURVE_NONE / an unknown value. */
const fk_curve_info_t *fk_curve_info(fk_curve_t c);

/* The curve of a named-curve OID (content octets), or FK_CURVE_NONE. */
fk_curve_t fk_curve_from_oid(const uint8_t *oid, size_t len);

/* The curve of explicit domain parameters as a host sends them (tags 81,
 * 82, 83 of a key template); leading zero bytes of p and a are ignored.
 * Weierstrass: p must match, and a and g when given (not NULL), so that two
 * curves over one prime (brainpool r1 and t1) are never confused.
 * Montgomery primes: g is required and must be the base point u = 9 (X25519)
 * or 5 (X448), big- or little-endian with any zero padding; a is ignored
 * (pico's template puts the order there). FK_CURVE_NONE when nothing fits. */
fk_curve_t fk_curve_from_domain(const uint8_t *p, size_t p_len, const uint8_t *a, size_t a_len,
                                const uint8_t *g, size_t g_len);

/* ---- Key blobs ----------------------------------------------------------- */

typedef enum fk_pk_type {
    FK_PK_NONE = 0,
    FK_PK_RSA = 1,
    FK_PK_EC = 2,   /* a Weierstrass curve: ECDSA and ECDH */
    FK_PK_MONT = 3, /* X25519 / X448: ECDH only */
    /* Ed25519 / Ed448 (crypto/ed.h), curve = its Montgomery twin. Only a
     * public key (a CV certificate's, point = the RFC 8032 encoding) or an
     * applet's view of seed || public key has this type: no blob does, and
     * no fk_pk_* operation takes it. */
    FK_PK_EDWARDS = 4,
} fk_pk_type_t;

#define FK_PK_BLOB_VERSION 1u
#define FK_PK_RSA_MIN_BITS 1024u
#define FK_PK_RSA_MAX_BITS 4096u
#define FK_PK_RSA_MAX_LEN (FK_PK_RSA_MAX_BITS / 8u)
#define FK_PK_RSA_E_MAX_LEN 8u   /* public exponents of at most 64 bits */
#define FK_PK_RSA_E_MIN 3u

/* Header (4) plus length-prefixed components: RSA n, e, d (modulus length
 * each at most), p, q, dP, dQ, qInv (at most modulus length each). */
#define FK_PK_BLOB_HEADER 4u
#define FK_PK_BLOB_MAX                                                                  \
    (FK_PK_BLOB_HEADER + 8u * 2u + 2u * FK_PK_RSA_MAX_LEN + FK_PK_RSA_E_MAX_LEN + \
     5u * FK_PK_RSA_MAX_LEN)

/* A parsed key blob; every span points into the blob. */
typedef struct fk_pk_key {
    fk_pk_type_t type;
    fk_curve_t curve;           /* EC and MONT */
    uint16_t bits;              /* RSA: modulus bits; EC/MONT: field bits */
    fk_bytes_t n, e;            /* RSA public key: modulus (k bytes), exponent */
    fk_bytes_t pub;             /* EC: 04||X||Y; MONT: u-coordinate (RFC 7748 bytes) */
    fk_bytes_t d;               /* RSA: d (k bytes); EC: scalar (order_len, big-endian);
                                   MONT: scalar (RFC 7748 bytes) */
    fk_bytes_t p, q, dp, dq, qinv; /* RSA CRT components, equal lengths */
} fk_pk_key_t;

/* Check a blob's structure (version, type, curve, every length) and fill
 * *key. It does not check the mathematics (the blob was made or imported by
 * this module and is authenticated by sealing). */
int fk_pk_parse(const uint8_t *blob, size_t len, fk_pk_key_t *key);

/* A public key, e.g. from a key blob or out of a certificate. */
typedef struct fk_pk_public {
    fk_pk_type_t type;
    fk_curve_t curve; /* EC and MONT */
    fk_bytes_t n, e;  /* RSA */
    fk_bytes_t point; /* EC: 04||X||Y; MONT: u-coordinate */
} fk_pk_public_t;

/* The public half of a parsed key (spans into the same blob). */
void fk_pk_public_of(const fk_pk_key_t *key, fk_pk_public_t *pub);

/* Validate a public key: RSA modulus of 1024-4096 bits and an odd exponent
 * 3 <= e < n; an EC point on its curve (not infinity); a Montgomery
 * u-coordinate of the right length. */
int fk_pk_check_public(const fk_pk_public_t *pub);

/* ---- Generation and import ------------------------------------------------ */

/* RSA key pair of `bits` (a multiple of 8 in 1024..4096) with public exponent
 * e (odd, >= FK_PK_RSA_E_MIN) into blob[0, cap). The prime search calls
 * keepalive(arg) (if not NULL) at most every FK_PK_KEEPALIVE_MS, from the
 * random-number callback that the search calls for each candidate. */
#define FK_PK_KEEPALIVE_MS 200u
int fk_pk_rsa_generate(unsigned bits, uint32_t e, fk_keepalive_fn keepalive, void *arg,
                       uint8_t *blob, size_t cap, size_t *len);

/* EC key pair on any curve (Weierstrass or Montgomery) into blob. */
int fk_pk_ec_generate(fk_curve_t curve, uint8_t *blob, size_t cap, size_t *len);

/* RSA private key from big-endian components (leading zeros allowed), as an
 * unwrapped key brings them: n, e, d; or p, q, e; or all five. Derives the
 * rest, checks the key, and writes a blob. */
typedef struct fk_pk_rsa_parts {
    fk_bytes_t n, e, d, p, q;
} fk_pk_rsa_parts_t;
int fk_pk_rsa_import(const fk_pk_rsa_parts_t *parts, uint8_t *blob, size_t cap, size_t *len);

/* EC private key from its scalar: big-endian, at most order_len bytes, in
 * [1, n) (Weierstrass); exactly field_len RFC 7748 bytes (Montgomery,
 * clamped here). Computes the public point and writes a blob. */
int fk_pk_ec_import(fk_curve_t curve, const uint8_t *d, size_t d_len, uint8_t *blob,
                    size_t cap, size_t *len);

/* A Weierstrass private key from its scalar alone, for the private-key
 * operations below (ECDSA, ECDH) and nothing else: the scalar is checked to
 * be in [1, n) (else FK_CRYPTO_EINVAL), but no public point is computed, so
 * key->pub stays empty. For keys kept as a bare scalar (FIDO credential ids)
 * this saves a scalar multiplication per signature. key->d points into d,
 * which must outlive the key. Curves of mbedTLS only (not secp256k1, not
 * Montgomery curves: FK_CRYPTO_EINVAL). */
int fk_pk_ec_private_view(fk_curve_t curve, const uint8_t *d, size_t d_len, fk_pk_key_t *key);

/* ---- Private-key operations ---------------------------------------------
 * All take a parsed key of the right type (else FK_CRYPTO_EINVAL), use the
 * DRBG for blinding, and wipe their intermediate values. */

/* Raw RSA: out = in^d mod n. in is exactly k bytes (the modulus length) and,
 * as a big-endian integer, less than n; out is k bytes with leading zeros.
 * Used for SIGN 20 and DECIPHER 21. */
int fk_pk_rsa_private(const fk_pk_key_t *key, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t cap, size_t *out_len);

/* RSASSA-PKCS1-v1_5: with h = NONE, `in` is a complete DigestInfo (or any
 * data up to k - 11 bytes) padded as it is; otherwise `in` is a digest of
 * hash h, wrapped in its DigestInfo first. Output k bytes. */
int fk_pk_rsa_sign_pkcs1(const fk_pk_key_t *key, fk_hash_t h, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t cap, size_t *out_len);

/* RSASSA-PSS over a digest of hash h, MGF1 with h, salt length = digest
 * length, or the largest that fits when the modulus is too short for that
 * (SHA-512 with RSA-1024: emLen - hLen - 2). Output k bytes. */
int fk_pk_rsa_sign_pss(const fk_pk_key_t *key, fk_hash_t h, const uint8_t *hash, size_t hash_len,
                       uint8_t *out, size_t cap, size_t *out_len);

/* RSAES-PKCS1-v1_5 decryption: raw RSA, then the type-2 padding is removed
 * in constant time (mbedTLS's decoder); FK_CRYPTO_EAUTH for a bad padding.
 * in is exactly k bytes. */
int fk_pk_rsa_decrypt_pkcs1(const fk_pk_key_t *key, const uint8_t *in, size_t in_len,
                            uint8_t *out, size_t cap, size_t *out_len);

/* RSAES-OAEP decryption with hash h for the label and MGF1 (label may be
 * NULL when label_len is 0). FK_CRYPTO_EAUTH for a bad padding. */
int fk_pk_rsa_decrypt_oaep(const fk_pk_key_t *key, fk_hash_t h, const uint8_t *label,
                           size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t cap, size_t *out_len);

/* ---- Encryption with a public key -----------------------------------------
 * The counterparts of the two decryptions above, for a host that encrypts to
 * a key it holds only the public half of. pub is checked as by
 * fk_pk_check_public's RSA rules (else FK_CRYPTO_EINVAL, also for a key of
 * another type); the padding's random bytes come from the DRBG. out gets the
 * k-byte ciphertext (cap >= k, the modulus length); *out_len = k. */

/* RSAES-PKCS1-v1_5: a message of 0 to k - 11 bytes (longer: EINVAL). */
int fk_pk_rsa_encrypt_pkcs1(const fk_pk_public_t *pub, const uint8_t *in, size_t in_len,
                            uint8_t *out, size_t cap, size_t *out_len);

/* RSAES-OAEP with hash h (SHA-1..SHA-512) for the label and MGF1; label may
 * be NULL when label_len is 0. A message of 0 to k - 2 hLen - 2 bytes
 * (longer, or a modulus shorter than 2 hLen + 2: EINVAL). */
int fk_pk_rsa_encrypt_oaep(const fk_pk_public_t *pub, fk_hash_t h, const uint8_t *label,
                           size_t label_len, const uint8_t *in, size_t in_len, uint8_t *out,
                           size_t cap, size_t *out_len);

typedef enum fk_sig_format {
    FK_SIG_DER = 0,   /* SEQUENCE { INTEGER r, INTEGER s } */
    FK_SIG_PLAIN = 1, /* r || s, each order_len bytes (CV certificates) */
} fk_sig_format_t;

/* Largest DER ECDSA signature (P-521): 30 81 L { 02 L 00 r, 02 L 00 s }. */
#define FK_PK_ECDSA_DER_MAX (3u + 2u * (2u + 1u + FK_EC_MAX_LEN))

/* ECDSA over a digest of any non-zero length (truncated to the order's bit
 * length as SEC1 says), random k from the DRBG. */
int fk_pk_ecdsa_sign(const fk_pk_key_t *key, const uint8_t *hash, size_t hash_len,
                     fk_sig_format_t fmt, uint8_t *out, size_t cap, size_t *out_len);

/* ECDH. Weierstrass: peer = 04||X||Y, which must be a point on the curve
 * (else FK_CRYPTO_EINVAL); out = the shared X coordinate (field_len bytes).
 * Montgomery: peer = the raw u-coordinate (32/56 bytes), out = X25519/X448
 * per RFC 7748; an all-zero result (a low-order peer point) is rejected. */
int fk_pk_ecdh(const fk_pk_key_t *key, const uint8_t *peer, size_t peer_len, uint8_t *out,
               size_t cap, size_t *out_len);

/* ---- Warm curve groups ------------------------------------------------------
 * The EC operations above and below keep the curve groups (domain parameters
 * and a table of multiples of the base point: public data only) of the last
 * FK_PK_WARM_GROUPS curves they used, so that the next operation on the same
 * curve skips building them (docs/crypto.md). */
#ifndef FK_PK_WARM_GROUPS
#define FK_PK_WARM_GROUPS 3u
#endif

/* Drop every warm group and return its memory (the crypto arena on the
 * device). Never needed for correctness or secrecy; for tests and for a
 * caller that wants the memory back. */
void fk_pk_ec_forget(void);

/* How many groups are warm now (0 to FK_PK_WARM_GROUPS). */
size_t fk_pk_ec_warm_count(void);

/* ---- Verification ---------------------------------------------------------
 * FK_CRYPTO_OK when the signature is valid, FK_CRYPTO_EAUTH when it is not. */

/* PKCS#1 v1.5: h and in as for fk_pk_rsa_sign_pkcs1. */
int fk_pk_rsa_verify_pkcs1(const fk_pk_public_t *pub, fk_hash_t h, const uint8_t *in,
                           size_t in_len, const uint8_t *sig, size_t sig_len);

/* PSS with MGF1(h); any salt length is accepted. */
int fk_pk_rsa_verify_pss(const fk_pk_public_t *pub, fk_hash_t h, const uint8_t *hash,
                         size_t hash_len, const uint8_t *sig, size_t sig_len);

int fk_pk_ecdsa_verify(const fk_pk_public_t *pub, const uint8_t *hash, size_t hash_len,
                       fk_sig_format_t fmt, const uint8_t *sig, size_t sig_len);

#endif /* FUSEKEY_PK_H */
