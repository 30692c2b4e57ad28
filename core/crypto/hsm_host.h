/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_host.h - the host side of the SmartCard-HSM tooling (`fusekey hsm`,
 * docs/fusekey-hsm.md): DKEK share files as sc-hsm-tool writes them, the
 * n-of-m password sharing that may protect them (Shamir over a 64-bit
 * prime), PKCS#12 key files for import, and public keys out of X.509
 * certificates and SubjectPublicKeyInfo files (and back).
 *
 * Host tools only: its own library (fk_crypto_hsm_host), never linked by
 * the firmware. mbedTLS allocates while it parses; everything it held is
 * freed and zeroized. Conventions as in crypto.h: FK_CRYPTO_OK or a negative
 * code; every secret intermediate is wiped on every path; on failure the
 * outputs are wiped.
 */
#ifndef FUSEKEY_HSM_HOST_H
#define FUSEKEY_HSM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/pk.h"

/* An input that names an algorithm, a curve or a structure this module does
 * not handle (as opposed to FK_CRYPTO_EINVAL: malformed). */
#define FK_HOST_EUNSUPPORTED (-17)

/* Random bytes (the tool's source): 0 on success. */
typedef int (*fk_host_random_fn)(void *arg, void *buf, size_t len);
/* Progress of a long computation: done of total steps. */
typedef void (*fk_host_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* ---- DKEK share files ----------------------------------------------------------
 * The 64-byte file of `sc-hsm-tool --create-dkek-share`:
 *
 *   offset  size  content
 *   0       8     "Salted__"
 *   8       8     salt
 *   16      48    AES-256-CBC(key, iv) of the 32-byte share || 16 x 0x10 (PKCS#7)
 *
 * key || iv = EVP_BytesToKey(MD5, salt, password, count): D1 = MD5^count(pw ||
 * salt), Di = MD5^count(Di-1 || pw || salt), key = D1 || D2, iv = D3, where
 * MD5^count hashes once and then re-hashes its own output count-1 times.
 * sc-hsm-tool uses count = FK_DKEK_FILE_ITERATIONS; tests use fewer. */
#define FK_DKEK_SHARE_LEN 32u
#define FK_DKEK_FILE_LEN 64u
#define FK_DKEK_SALT_LEN 8u
#define FK_DKEK_FILE_ITERATIONS 10000000u
#define FK_DKEK_KCV_LEN 8u

/* Encrypt a share into file[64]. progress (may be NULL) is called about
 * every million hashes. */
int fk_dkek_file_seal(const uint8_t *pw, size_t pw_len, const uint8_t salt[FK_DKEK_SALT_LEN],
                      const uint8_t share[FK_DKEK_SHARE_LEN], uint32_t iterations,
                      fk_host_progress_fn progress, void *arg, uint8_t file[FK_DKEK_FILE_LEN]);

/* Decrypt a share file. FK_CRYPTO_EINVAL when the input is not a share file
 * (not 64 bytes, no "Salted__"); FK_CRYPTO_EAUTH when the padding does not
 * decode (a wrong password, or a damaged file). */
int fk_dkek_file_open(const uint8_t *pw, size_t pw_len, const uint8_t *file, size_t file_len,
                      uint32_t iterations, fk_host_progress_fn progress, void *arg,
                      uint8_t share[FK_DKEK_SHARE_LEN]);

/* ---- n-of-m password sharing (Shamir over a prime below 2^64) ---------------
 * The secret is a password of at most 8 bytes read as a big-endian number,
 * smaller than the prime. Share i (1-based) is the point (i, P(i)) of a
 * random polynomial P of degree threshold-1 with P(0) = secret, mod prime. */
#define FK_SHAMIR_MAX_SHARES 255u

/* Deterministic primality test (Miller-Rabin with the bases that decide every
 * 64-bit number). */
bool fk_shamir_is_prime(uint64_t n);

/* A random prime with its top bit set (so it exceeds every 63-bit secret). */
int fk_shamir_prime(fk_host_random_fn rnd, void *arg, uint64_t *prime);

/* y[i] = P(i + 1) for i < total; 2 <= threshold <= total <= 255, secret <
 * prime, prime a prime. FK_CRYPTO_ERNG when rnd fails. The polynomial is
 * wiped. */
int fk_shamir_split(uint64_t secret, uint64_t prime, unsigned threshold, unsigned total,
                    fk_host_random_fn rnd, void *arg, uint64_t *y);

/* P(0) from n points (x distinct, 0 < x < prime, y < prime) by Lagrange
 * interpolation. With fewer points than the threshold the result is a wrong
 * secret, which only the share file's padding reveals. */
int fk_shamir_combine(uint64_t prime, const uint64_t *x, const uint64_t *y, unsigned n,
                      uint64_t *secret);

/* ---- Public keys -------------------------------------------------------------- */

typedef enum fk_host_key_kind {
    FK_HOST_KEY_NONE = 0,
    FK_HOST_KEY_RSA,
    FK_HOST_KEY_EC,   /* a Weierstrass curve of pk.h */
    FK_HOST_KEY_MONT, /* X25519 / X448 */
    FK_HOST_KEY_ED,   /* Ed25519 / Ed448 (curve: the Montgomery twin, as ed.h names them) */
} fk_host_key_kind_t;

typedef struct fk_host_pub {
    fk_host_key_kind_t kind;
    fk_curve_t curve;
    uint8_t n[FK_PK_RSA_MAX_LEN]; /* RSA modulus, no leading zero */
    size_t n_len;
    uint8_t e[FK_PK_RSA_E_MAX_LEN];
    size_t e_len;
    uint8_t point[FK_EC_POINT_MAX]; /* EC 04||X||Y; MONT u / ED A, RFC 7748 / 8032 bytes */
    size_t point_len;
} fk_host_pub_t;

/* A SubjectPublicKeyInfo, DER or PEM ("PUBLIC KEY"). */
int fk_host_pub_from_spki(const uint8_t *in, size_t len, fk_host_pub_t *pub);

/* The subject public key of an X.509 certificate, DER or PEM. */
int fk_host_pub_from_x509(const uint8_t *in, size_t len, fk_host_pub_t *pub);

/* DER SubjectPublicKeyInfo of pub into out[0, cap). */
int fk_host_spki_encode(const fk_host_pub_t *pub, uint8_t *out, size_t cap, size_t *len);

/* ---- PKCS#12 ---------------------------------------------------------------------
 * One private key and, when the file has one, its certificate. Supported:
 * the MAC with HMAC-SHA-1/-224/-256/-384/-512 (key by the PKCS#12 KDF), bags
 * encrypted with PBES2 (PBKDF2 with any of those HMACs, AES-128/192/256-CBC)
 * or pbeWithSHAAnd3-KeyTripleDES-CBC, plain bags; RSA, EC on the curves of
 * pk.h, X25519/X448 and Ed25519/Ed448 keys. */
#define FK_P12_MAX (64u * 1024u)
#define FK_P12_CERT_MAX 8192u

typedef struct fk_p12 {
    fk_host_key_kind_t kind;
    fk_curve_t curve;
    /* RSA: n, e, d, p, q (big-endian, no leading zeros). EC: d padded to the
     * order length. MONT/ED: the raw private key (RFC 7748 / RFC 8032). */
    uint8_t n[FK_PK_RSA_MAX_LEN], e[FK_PK_RSA_E_MAX_LEN], d[FK_PK_RSA_MAX_LEN];
    uint8_t p[FK_PK_RSA_MAX_LEN / 2u], q[FK_PK_RSA_MAX_LEN / 2u];
    size_t n_len, e_len, d_len, p_len, q_len;
    fk_host_pub_t pub;          /* the key's public half (ED: from the certificate only) */
    bool have_pub;
    uint8_t cert[FK_P12_CERT_MAX]; /* DER X.509 certificate of the key, if any */
    size_t cert_len;
    bool cert_skipped;          /* a certificate bag could not be decrypted (e.g. RC2) */
} fk_p12_t;

/* Read a PKCS#12 file (DER) with its password (raw bytes, e.g. UTF-8; may be
 * empty). FK_CRYPTO_EAUTH: the MAC does not verify or a bag does not decrypt
 * (a wrong password); FK_HOST_EUNSUPPORTED: an algorithm or key type outside
 * the list above; FK_CRYPTO_EINVAL: anything malformed, or no private key. */
int fk_p12_read(const uint8_t *der, size_t len, const uint8_t *pw, size_t pw_len, fk_p12_t *out);

/* Wipe everything of a p12 result. */
void fk_p12_wipe(fk_p12_t *p12);

#endif /* FUSEKEY_HSM_HOST_H */
