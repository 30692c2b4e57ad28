/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cvc.h - card verifiable certificates (TR-03110 style, docs/cvc.md): build
 * and sign certificate bodies, certificates `7F21` and authenticated
 * requests `67`; parse them robustly; verify their signatures.
 *
 * Building appends to an fk_rbuf_t; on failure nothing is appended (the
 * buffer's length is restored). Parsing never copies: every span points
 * into the parsed buffer, and every length is checked against the bytes
 * present. Functions return FK_CVC_OK or a negative FK_CVC_E* code.
 */
#ifndef FUSEKEY_CVC_H
#define FUSEKEY_CVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "crypto/pk.h"

enum {
    FK_CVC_OK = 0,
    FK_CVC_EINVAL = -1,      /* a bad field or argument (length, characters, key) */
    FK_CVC_ESPACE = -2,      /* the output buffer is too small */
    FK_CVC_EMALFORMED = -3,  /* the input is not a well-formed certificate / request */
    FK_CVC_EUNSUPPORTED = -4,/* unknown algorithm OID or curve */
    FK_CVC_ESIGN = -5,       /* the signer failed */
    FK_CVC_EVERIFY = -6,     /* the signature does not verify */
};

/* ---- Tags ------------------------------------------------------------------ */
#define FK_CVC_TAG_CERT 0x7F21u
#define FK_CVC_TAG_BODY 0x7F4Eu
#define FK_CVC_TAG_PROFILE 0x5F29u
#define FK_CVC_TAG_CAR 0x42u
#define FK_CVC_TAG_PUBKEY 0x7F49u
#define FK_CVC_TAG_CHR 0x5F20u
#define FK_CVC_TAG_CHAT 0x7F4Cu
#define FK_CVC_TAG_EFFECTIVE 0x5F25u
#define FK_CVC_TAG_EXPIRY 0x5F24u
#define FK_CVC_TAG_EXT 0x65u
#define FK_CVC_TAG_SIG 0x5F37u
#define FK_CVC_TAG_REQUEST 0x67u
#define FK_CVC_TAG_OID 0x06u
#define FK_CVC_TAG_RIGHTS 0x53u
/* Inside 7F49: RSA 81 n, 82 e; EC 81 p, 82 a, 83 b, 84 G, 85 n, 86 Q, 87 h;
 * Montgomery and Edwards keys (id-RI-ECDH, as Pico HSM writes them): 81 p,
 * 82 order, 83 base point, 84 public key; the base point is u = 9 / 5 as
 * RFC 7748 bytes for X25519 / X448 and the RFC 8032 encoding of B for
 * Ed25519 / Ed448, the public key the RFC 7748 u resp. RFC 8032 encoding. */
#define FK_CVC_RSA_N 0x81u
#define FK_CVC_RSA_E 0x82u
#define FK_CVC_EC_P 0x81u
#define FK_CVC_EC_A 0x82u
#define FK_CVC_EC_B 0x83u
#define FK_CVC_EC_G 0x84u
#define FK_CVC_EC_N 0x85u
#define FK_CVC_EC_Q 0x86u
#define FK_CVC_EC_H 0x87u
#define FK_CVC_MONT_P 0x81u
#define FK_CVC_MONT_N 0x82u
#define FK_CVC_MONT_G 0x83u
#define FK_CVC_MONT_Q 0x84u
#define FK_CVC_KEY_TAG_FIRST 0x81u
#define FK_CVC_KEY_TAG_LAST 0x87u
#define FK_CVC_KEY_TAGS (FK_CVC_KEY_TAG_LAST - FK_CVC_KEY_TAG_FIRST + 1u)
#define FK_CVC_KEY_INDEX(tag) ((tag) - FK_CVC_KEY_TAG_FIRST)

#define FK_CVC_PROFILE 0x00u
#define FK_CVC_CAR_MAX 16u    /* characters of a CAR */
#define FK_CVC_CHR_MAX 20u    /* characters of a CHR (OpenSC's limit) */
#define FK_CVC_DATE_LEN 6u    /* YYMMDD, one digit 0-9 per byte */
#define FK_CVC_SIG_MAX FK_PK_RSA_MAX_LEN

/* ---- Algorithms (the OID of 7F49) ------------------------------------------ */

typedef enum fk_cvc_scheme {
    FK_CVC_NONE = 0,
    FK_CVC_RSA_V15 = 1, /* RSASSA-PKCS1-v1_5 */
    FK_CVC_RSA_PSS = 2, /* RSASSA-PSS, MGF1 with the same hash */
    FK_CVC_ECDSA = 3,   /* ECDSA, plain r || s */
    FK_CVC_ECDH = 4,    /* id-RI-ECDH: X25519/X448 keys (cannot sign), Ed25519/Ed448 keys
                         * (pure EdDSA over the message) */
} fk_cvc_scheme_t;

typedef struct fk_cvc_alg {
    fk_cvc_scheme_t scheme;
    fk_hash_t hash;
} fk_cvc_alg_t;

/* The algorithm an OID (content octets) names. FK_CVC_EUNSUPPORTED when it
 * is none of the id-TA RSA/ECDSA OIDs or id-RI-ECDH-SHA-256. */
int fk_cvc_alg_from_oid(const uint8_t *oid, size_t len, fk_cvc_alg_t *alg);

/* The OID of an algorithm into *oid (static storage); FK_CVC_EUNSUPPORTED
 * for a combination without one (e.g. RSA PSS with SHA-384). */
int fk_cvc_oid_of(const fk_cvc_alg_t *alg, fk_bytes_t *oid);

/* ---- Signing ---------------------------------------------------------------
 * A signer writes the signature of msg in certificate form: plain r || s
 * (ECDSA) or k bytes (RSA). Its length is always known beforehand: len,
 * which the builder reserves (FK_CVC_ESPACE when it does not fit) and which
 * sign must produce exactly (len bytes at sig, *sig_len = len, return 0).
 * With sign == NULL the builder writes len zero bytes instead (the
 * placeholder a key that cannot sign gets in its request, e.g. X25519). */
typedef int (*fk_cvc_sign_fn)(void *arg, const uint8_t *msg, size_t len, uint8_t *sig,
                              size_t cap, size_t *sig_len);
typedef struct fk_cvc_signer {
    fk_cvc_sign_fn sign;
    void *arg;
    size_t len;
} fk_cvc_signer_t;

/* A private key held by this device and the algorithm to sign with (the
 * OID of the key's own certificate). */
typedef struct fk_cvc_key_signer {
    const fk_pk_key_t *key;
    fk_cvc_alg_t alg;
} fk_cvc_key_signer_t;

/* An EdDSA key held by this device (crypto/ed.h): its Montgomery twin's
 * curve id, seed and public key. It signs pure EdDSA over the whole
 * message, as an Edwards key signs the body of its request. */
typedef struct fk_cvc_ed_signer {
    fk_curve_t twin;
    const uint8_t *seed;
    const uint8_t *pub;
} fk_cvc_ed_signer_t;

/* The fk_cvc_sign_fn of an EdDSA signer (arg: const fk_cvc_ed_signer_t *). */
int fk_cvc_sign_with_ed(void *arg, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                        size_t *sig_len);

/* A signer for es (which must outlive it): fk_cvc_sign_with_ed with the
 * curve's signature length (64 / 114), or len 0 for another curve. */
fk_cvc_signer_t fk_cvc_signer_for_ed(const fk_cvc_ed_signer_t *es);

/* The fk_cvc_sign_fn of a key signer (arg: const fk_cvc_key_signer_t *). */
int fk_cvc_sign_with_key(void *arg, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
                         size_t *sig_len);

/* A signer for ks (which must outlive it): fk_cvc_sign_with_key with the
 * key's signature length, or len 0 (refused by the builders) when the key
 * cannot sign with ks->alg. */
fk_cvc_signer_t fk_cvc_signer_for_key(const fk_cvc_key_signer_t *ks);

/* ---- Building ---------------------------------------------------------------- */

/* The fields of a certificate body. car may be absent (NULL: no 42 object,
 * allowed in requests); chr is required. CAR: 1-16, CHR: 1-20 printable
 * characters. The CHAT (7F4C: role OID and rights) and the dates
 * (5F25/5F24, both or none) belong to certificates, not requests; ext is
 * the content of an optional 65 object (well-formed TLVs). */
typedef struct fk_cvc_fields {
    fk_bytes_t car;
    fk_bytes_t chr;
    fk_bytes_t key_oid;       /* the 06 object of 7F49 */
    bool domain_params;       /* EC keys: write 81-85 and 87 besides 86 */
    fk_bytes_t chat_oid;      /* optional */
    fk_bytes_t chat_rights;   /* with chat_oid */
    const uint8_t *effective; /* optional, FK_CVC_DATE_LEN digits */
    const uint8_t *expiry;    /* with effective */
    fk_bytes_t ext;           /* optional */
} fk_cvc_fields_t;

/* Append the public key object 7F49 of pub: RSA 06 81 n 82 e; EC 06 [81 p
 * 82 a 83 b 84 G 85 n] 86 Q [87 h] with p, a, b, n at full field length;
 * Montgomery and Edwards 06 81 p 82 order 83 G 84 public key (above). */
int fk_cvc_put_pubkey(fk_rbuf_t *r, const fk_bytes_t *oid, const fk_pk_public_t *pub,
                      bool domain_params);

/* Append the certificate body 7F4E (5F29, 42, 7F49, 5F20, 7F4C, 5F25,
 * 5F24, 65 in that order). */
int fk_cvc_put_body(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub);

/* Append a certificate 7F21 { 7F4E, 5F37 } whose signature over the
 * complete 7F4E TLV comes from signer. */
int fk_cvc_build_cert(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub,
                      const fk_cvc_signer_t *signer);

/* Append an authenticated request
 *   67 { 7F21 { 7F4E, 5F37 inner }, 42 outer_car, 5F37 outer }
 * where inner signs the 7F4E TLV (the new key itself) and outer signs the
 * 7F21 TLV followed by the 42 TLV (the device key). With outer == NULL only
 * the 7F21 is appended (an unauthenticated request). */
int fk_cvc_build_request(fk_rbuf_t *r, const fk_cvc_fields_t *f, const fk_pk_public_t *pub,
                         const fk_cvc_signer_t *inner, const fk_bytes_t *outer_car,
                         const fk_cvc_signer_t *outer);

/* ---- Parsing ----------------------------------------------------------------- */

typedef struct fk_cvc {
    fk_bytes_t cert;           /* the whole 7F21 TLV */
    fk_bytes_t body;           /* the whole 7F4E TLV: the signature input */
    fk_bytes_t car;            /* absent in some requests */
    fk_bytes_t key;            /* the content of 7F49 */
    fk_bytes_t key_oid;
    fk_bytes_t key_el[FK_CVC_KEY_TAGS]; /* 81..87, len 0 when absent */
    fk_bytes_t chr;
    fk_bytes_t chat_oid, chat_rights; /* absent without 7F4C */
    fk_bytes_t effective, expiry;     /* absent or FK_CVC_DATE_LEN digits */
    fk_bytes_t ext;            /* the content of 65 */
    fk_bytes_t sig;
} fk_cvc_t;

/* Parse the certificate 7F21 that starts buf (trailing bytes are allowed
 * and not looked at: c->cert.len is the certificate's size, so a chain is
 * parsed by moving on by it). Checks the structure: the tags in order, each
 * at most once, lengths, a profile of 00, printable CAR/CHR, digit dates,
 * 7F49 holding an OID and only 81-87, 7F4C holding 06 and 53, nothing else
 * in 7F21 than 7F4E and 5F37. *c is zeroed on failure. */
int fk_cvc_parse(const uint8_t *buf, size_t len, fk_cvc_t *c);

typedef struct fk_cvc_request {
    fk_cvc_t cert;             /* the inner request 7F21 */
    bool authenticated;        /* wrapped in 67 with an outer signature */
    fk_bytes_t outer_car;      /* 42 of 67 */
    fk_bytes_t outer_signed;   /* the 7F21 TLV and the 42 TLV: the outer signature input */
    fk_bytes_t outer_sig;      /* 5F37 of 67 */
    fk_bytes_t whole;          /* the 67 (or bare 7F21) TLV */
} fk_cvc_request_t;

/* Parse a request: 67 { 7F21, 42, 5F37 } or a bare 7F21, at the start of
 * buf (trailing bytes allowed, as for fk_cvc_parse). */
int fk_cvc_parse_request(const uint8_t *buf, size_t len, fk_cvc_request_t *rq);

/* The public key of a parsed certificate and the algorithm its OID names.
 * An EC curve comes from the domain parameters 81/82 (and 84 if present)
 * when the certificate has them, else it is `inherited` (the issuer's
 * curve, as TR-03110 says); FK_CVC_EUNSUPPORTED when neither names one.
 * Under id-RI-ECDH, 81 must be the Curve25519 or Curve448 prime: 83 equal
 * to u = 9 / 5 (either byte order) makes an X25519 / X448 key (FK_PK_MONT),
 * anything else an Ed25519 / Ed448 key (FK_PK_EDWARDS, 84 of 32 / 57
 * bytes). The key is validated (fk_pk_check_public; an Edwards point only
 * by its length, fk_ed_verify refuses one that does not decode). Spans
 * point into the certificate. */
int fk_cvc_public_key(const fk_cvc_t *c, fk_curve_t inherited, fk_pk_public_t *pub,
                      fk_cvc_alg_t *alg);

/* Verify a signature in certificate form over msg with pub under alg
 * (an Edwards key under id-RI-ECDH: pure EdDSA over msg). FK_CVC_EVERIFY
 * when it does not verify. */
int fk_cvc_verify_signature(const fk_pk_public_t *pub, const fk_cvc_alg_t *alg,
                            const uint8_t *msg, size_t len, const uint8_t *sig, size_t sig_len);

/* Verify a certificate's signature (over its 7F4E TLV) with the issuer's
 * key and algorithm (for a self-signed certificate or a request's inner
 * signature: the certificate's own). */
int fk_cvc_verify(const fk_cvc_t *c, const fk_pk_public_t *issuer, const fk_cvc_alg_t *alg);

/* ---- Holder references ----------------------------------------------------- */

/* True when chr is a valid device CHR (docs/cvc.md, spec section 1.4):
 * 8-16 characters: country (2 upper-case letters), a mnemonic of
 * upper-case letters and digits, and a 5-character sequence number of
 * upper-case letters and digits. (OpenSC derives the token serial as the
 * CHR minus its last 5 characters and needs at least 8.) */
bool fk_cvc_device_chr_ok(const uint8_t *chr, size_t len);

/* Compose a device CHR: country (2) + mnemonic (1-9) + seq as 5 decimal
 * digits into out (FK_CVC_CAR_MAX bytes); returns its length, 0 when the
 * parts are invalid. */
size_t fk_cvc_device_chr(uint8_t out[FK_CVC_CAR_MAX], const char *country, const char *mnemonic,
                         uint32_t seq);

#endif /* FUSEKEY_CVC_H */
