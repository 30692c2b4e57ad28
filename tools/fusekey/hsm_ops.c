/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_ops.c - using keys: sign (68) with every RSA and ECDSA form, verify
 * on the host with the public key of CE<id>, decrypt (62: raw, PKCS#1 v1.5,
 * OAEP) and its counterpart encrypt (on the host with the public key of
 * CE<id>), derive (62 80: ECDH, X25519, X448), and cipher (78: the basic AES
 * forms and the extended form of spec section 3.17 - AES in eight modes,
 * ChaCha20-Poly1305, HMAC, HKDF, PBKDF2 and ANSI X9.63).
 *
 * Every signature the card makes is checked on the host with the key's
 * public key before it is written out: a card that signs wrongly is an
 * error, not an output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "crypto/ed.h"
#include "crypto/pk.h"
#include "hsm_tool.h"
#include "tlv.h"
#include "util.h"

#define INS_SIGN 0x68u
#define INS_DECIPHER 0x62u
#define INS_CIPHER 0x78u
#define INPUT_MAX 65535u
#define RESP_NE 65536u
#define SIG_MAX 1024u

/* ---- Inputs and outputs ------------------------------------------------------------- */

/* --in FILE or --data HEX (one of them); malloc'd. */
static uint8_t *input(hsm_run_t *h, size_t *len)
{
    if (h->set[HO_IN] == h->set[HO_DATA]) {
        (void)hsm_fail(h, "give the input with --in FILE or --data HEX (one of them)");
        return NULL;
    }
    if (h->set[HO_IN]) return hsm_read_file(h, h->val[HO_IN], INPUT_MAX, len);
    uint8_t *b = malloc(INPUT_MAX);
    if (b == NULL) {
        (void)hsm_fail(h, "out of memory");
        return NULL;
    }
    if (hsm_unhex(h->val[HO_DATA], b, INPUT_MAX, len) != 0) {
        free(b);
        (void)hsm_fail(h, "--data takes hex bytes");
        return NULL;
    }
    return b;
}

/* The result: to --out, else hex on the output; into the JSON as "key". */
static int output(hsm_run_t *h, const char *key, const uint8_t *data, size_t len, bool secret)
{
    if (h->json) hj_hex(&h->js, key, data, len);
    if (h->set[HO_OUT]) {
        if (hsm_write_file(h, h->val[HO_OUT], data, len, secret, false) != 0) return FK_TOOL_EXIT_FAIL;
        hsm_say(h, "%s: %zu bytes written to %s", key, len, h->val[HO_OUT]);
        return FK_TOOL_EXIT_OK;
    }
    if (!h->json) {
        for (size_t i = 0; i < len; i++) (void)fprintf(h->base.t->out, "%02x", data[i]);
        (void)fputc('\n', h->base.t->out);
    }
    return FK_TOOL_EXIT_OK;
}

static bool key_id_arg(hsm_run_t *h, uint8_t *id) { return hsm_parse_key_id(h, h->pos[0], id); }

/* ---- Signature algorithms ------------------------------------------------------------- */

typedef enum sig_kind {
    SIG_RSA_RAW,      /* k-byte block */
    SIG_RSA_PKCS1_DI, /* DigestInfo in */
    SIG_RSA_PKCS1,    /* message in, hashed on the card */
    SIG_RSA_PSS_HASH, /* hash (or DigestInfo) in */
    SIG_RSA_PSS,      /* message in */
    SIG_ECDSA_HASH,   /* hash in */
    SIG_ECDSA,        /* message in */
    SIG_EDDSA,        /* message in, pure EdDSA (pico signs Edwards keys under 70) */
} sig_kind_t;

typedef struct sig_alg {
    const char *name;
    uint8_t p2;
    sig_kind_t kind;
    fk_hash_t hash;
} sig_alg_t;

static const sig_alg_t k_sig_algs[] = {
    {"rsa-raw", 0x20, SIG_RSA_RAW, FK_HASH_NONE},
    {"rsa-pkcs1", 0x30, SIG_RSA_PKCS1_DI, FK_HASH_NONE},
    {"rsa-pkcs1-sha1", 0x31, SIG_RSA_PKCS1, FK_HASH_SHA1},
    {"rsa-pkcs1-sha224", 0x32, SIG_RSA_PKCS1, FK_HASH_SHA224},
    {"rsa-pkcs1-sha256", 0x33, SIG_RSA_PKCS1, FK_HASH_SHA256},
    {"rsa-pkcs1-sha384", 0x34, SIG_RSA_PKCS1, FK_HASH_SHA384},
    {"rsa-pkcs1-sha512", 0x35, SIG_RSA_PKCS1, FK_HASH_SHA512},
    {"rsa-pss", 0x40, SIG_RSA_PSS_HASH, FK_HASH_NONE},
    {"rsa-pss-sha1", 0x41, SIG_RSA_PSS, FK_HASH_SHA1},
    {"rsa-pss-sha224", 0x42, SIG_RSA_PSS, FK_HASH_SHA224},
    {"rsa-pss-sha256", 0x43, SIG_RSA_PSS, FK_HASH_SHA256},
    {"rsa-pss-sha384", 0x44, SIG_RSA_PSS, FK_HASH_SHA384},
    {"rsa-pss-sha512", 0x45, SIG_RSA_PSS, FK_HASH_SHA512},
    {"ecdsa", 0x70, SIG_ECDSA_HASH, FK_HASH_NONE},
    {"ecdsa-sha1", 0x71, SIG_ECDSA, FK_HASH_SHA1},
    {"ecdsa-sha224", 0x72, SIG_ECDSA, FK_HASH_SHA224},
    {"ecdsa-sha256", 0x73, SIG_ECDSA, FK_HASH_SHA256},
    {"ecdsa-sha384", 0x74, SIG_ECDSA, FK_HASH_SHA384},
    {"ecdsa-sha512", 0x75, SIG_ECDSA, FK_HASH_SHA512},
    {"eddsa", 0x70, SIG_EDDSA, FK_HASH_NONE},
};

static const sig_alg_t *sig_alg(hsm_run_t *h)
{
    if (!h->set[HO_ALG]) {
        (void)hsm_fail(h, "--alg is needed (rsa-raw, rsa-pkcs1[-shaN], rsa-pss[-shaN], ecdsa[-shaN], eddsa)");
        return NULL;
    }
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_sig_algs); i++)
        if (strcmp(k_sig_algs[i].name, h->val[HO_ALG]) == 0) return &k_sig_algs[i];
    (void)hsm_fail(h, "unknown signature algorithm '%s' (rsa-raw, rsa-pkcs1, rsa-pkcs1-sha1/224/256/384/512, "
                      "rsa-pss, rsa-pss-sha1/.../512, ecdsa, ecdsa-sha1/.../512, eddsa)", h->val[HO_ALG]);
    return NULL;
}

/* A host public key as the crypto module takes it (spans into pub). */
static bool pk_public(const fk_host_pub_t *pub, fk_pk_public_t *pk)
{
    memset(pk, 0, sizeof *pk);
    if (pub->kind == FK_HOST_KEY_RSA) {
        pk->type = FK_PK_RSA;
        pk->n = (fk_bytes_t){pub->n, pub->n_len};
        pk->e = (fk_bytes_t){pub->e, pub->e_len};
        return true;
    }
    if (pub->kind == FK_HOST_KEY_EC) {
        pk->type = FK_PK_EC;
        pk->curve = pub->curve;
        pk->point = (fk_bytes_t){pub->point, pub->point_len};
        return true;
    }
    return false;
}

/* Verify sig over in with pub under alg (as the card was asked to sign).
 * FK_CRYPTO_OK, FK_CRYPTO_EAUTH, or EINVAL when the pair does not fit. */
static int verify_sig(const sig_alg_t *a, const fk_host_pub_t *pub, const uint8_t *in, size_t in_len,
                      const uint8_t *sig, size_t sig_len)
{
    fk_pk_public_t pk;
    uint8_t d[FK_HASH_MAX_LEN];
    if (a->kind == SIG_EDDSA) {
        if (pub->kind != FK_HOST_KEY_ED) return FK_CRYPTO_EINVAL;
        return fk_ed_verify(pub->curve, pub->point, in, in_len, sig, sig_len);
    }
    if (!pk_public(pub, &pk)) return FK_CRYPTO_EINVAL;
    const bool rsa = a->kind <= SIG_RSA_PSS;
    if (rsa != (pk.type == FK_PK_RSA)) return FK_CRYPTO_EINVAL;
    switch (a->kind) {
    case SIG_RSA_RAW: {
        /* Raw RSA: the signature raised to e must give back the block. The
         * crypto module verifies PKCS#1 blocks only, so a raw block is
         * checked as one when it is one, else not at all. */
        fk_hash_t hh = FK_HASH_NONE;
        const uint8_t *dig = NULL;
        if (in_len == pk.n.len && in_len > 11u && in[0] == 0x00 && in[1] == 0x01) {
            size_t i = 2;
            while (i < in_len && in[i] == 0xFF) i++;
            if (i < in_len && in[i] == 0x00 && i >= 10u &&
                fk_digestinfo_parse(in + i + 1u, in_len - i - 1u, &hh, &dig) == FK_CRYPTO_OK)
                return fk_pk_rsa_verify_pkcs1(&pk, FK_HASH_NONE, in + i + 1u, in_len - i - 1u, sig, sig_len);
        }
        return FK_CRYPTO_EINVAL;
    }
    case SIG_RSA_PKCS1_DI:
        return fk_pk_rsa_verify_pkcs1(&pk, FK_HASH_NONE, in, in_len, sig, sig_len);
    case SIG_RSA_PKCS1:
        if (fk_hash(a->hash, in, in_len, d) != FK_CRYPTO_OK) return FK_CRYPTO_EINVAL;
        return fk_pk_rsa_verify_pkcs1(&pk, a->hash, d, fk_hash_len(a->hash), sig, sig_len);
    case SIG_RSA_PSS_HASH: {
        fk_hash_t hh = fk_hash_from_len(in_len);
        const uint8_t *dig = in;
        size_t dl = in_len;
        if (hh == FK_HASH_NONE) {
            if (fk_digestinfo_parse(in, in_len, &hh, &dig) != FK_CRYPTO_OK) return FK_CRYPTO_EINVAL;
            dl = fk_hash_len(hh);
        }
        return fk_pk_rsa_verify_pss(&pk, hh, dig, dl, sig, sig_len);
    }
    case SIG_RSA_PSS:
        if (fk_hash(a->hash, in, in_len, d) != FK_CRYPTO_OK) return FK_CRYPTO_EINVAL;
        return fk_pk_rsa_verify_pss(&pk, a->hash, d, fk_hash_len(a->hash), sig, sig_len);
    case SIG_ECDSA_HASH:
    case SIG_ECDSA: {
        const uint8_t *m = in;
        size_t ml = in_len;
        if (a->kind == SIG_ECDSA) {
            if (fk_hash(a->hash, in, in_len, d) != FK_CRYPTO_OK) return FK_CRYPTO_EINVAL;
            m = d;
            ml = fk_hash_len(a->hash);
        }
        int rc = fk_pk_ecdsa_verify(&pk, m, ml, FK_SIG_DER, sig, sig_len);
        const fk_curve_info_t *ci = fk_curve_info(pk.curve);
        if (rc != FK_CRYPTO_OK && ci != NULL && sig_len == 2u * ci->order_len)
            rc = fk_pk_ecdsa_verify(&pk, m, ml, FK_SIG_PLAIN, sig, sig_len);
        return rc;
    }
    default:
        return FK_CRYPTO_EINVAL;
    }
}

/* DER ECDSA signature into r || s at the order's length. */
static bool der_to_plain(const uint8_t *der, size_t len, size_t half, uint8_t *out)
{
    const uint8_t *p = der, *end = der + len;
    fk_tlv_t seq, r, s;
    if (fk_tlv_next(&p, end, &seq) != FK_TLV_OK || seq.tag != 0x30u || p != end) return false;
    p = seq.value;
    end = seq.value + seq.len;
    if (fk_tlv_next(&p, end, &r) != FK_TLV_OK || fk_tlv_next(&p, end, &s) != FK_TLV_OK || p != end ||
        r.tag != 0x02u || s.tag != 0x02u)
        return false;
    const fk_tlv_t *v[2] = {&r, &s};
    memset(out, 0, 2u * half);
    for (unsigned k = 0; k < 2u; k++) {
        const uint8_t *b = v[k]->value;
        size_t n = v[k]->len;
        while (n > 0u && b[0] == 0u) {
            b++;
            n--;
        }
        if (n > half) return false;
        memcpy(out + k * half + half - n, b, n);
    }
    return true;
}

int hsm_cmd_sign(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!key_id_arg(h, &id)) return FK_TOOL_EXIT_USAGE;
    const sig_alg_t *a = sig_alg(h);
    if (a == NULL) return FK_TOOL_EXIT_USAGE;
    size_t len = 0;
    uint8_t *in = input(h, &len);
    if (in == NULL) return FK_TOOL_EXIT_FAIL;
    fk_host_pub_t pub;
    uint8_t sig[SIG_MAX], plain[2u * FK_EC_MAX_LEN];
    size_t sig_len = 0;
    int rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_key_public_of(h, id, &pub);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_apdu(h, 0x80, INS_SIGN, id, a->p2, in, len, RESP_NE);
    if (rc == FK_TOOL_EXIT_OK && h->sw != FK_SW_OK) {
        h->error_sw = h->sw;
        if (h->sw == FK_SW_WRONG_DATA)
            rc = hsm_fail(h, "6A80: the input does not fit %s with this key (an RSA block must be exactly "
                             "the modulus length and below it; a hash must have a hash's length)", a->name);
        else if (h->sw == FK_SW_FUNC_NOT_SUPPORTED)
            rc = hsm_fail(h, "6A81: %s is not an algorithm of key %u's kind", a->name, id);
        else if (h->sw == FK_SW_CONDITIONS_NOT_SATISFIED)
            rc = hsm_fail(h, "6985: key %u may not use %s (its algorithm list), or presence was declined", id, a->name);
        else if (h->sw == FK_SW_NOT_ENOUGH_MEMORY)
            rc = hsm_fail(h, "6A84: key %u's use counter is exhausted", id);
        else
            rc = hsm_sw_fail(h, "COMPUTE SIGNATURE");
    }
    if (rc == FK_TOOL_EXIT_OK) {
        if (h->resp_len == 0u || h->resp_len > sizeof sig) rc = hsm_fail(h, "the card's signature is %zu bytes", h->resp_len);
        else {
            sig_len = h->resp_len;
            memcpy(sig, h->resp, sig_len);
        }
    }
    if (rc == FK_TOOL_EXIT_OK) {
        const int v = verify_sig(a, &pub, in, len, sig, sig_len);
        if (v == FK_CRYPTO_OK) {
            hsm_say(h, "signature verified with key %u's public key (CE%02X)", id, id);
        } else if (v == FK_CRYPTO_EINVAL && a->kind == SIG_RSA_RAW) {
            hsm_say(h, "raw RSA result (not a PKCS#1 block: not checked)");
        } else {
            rc = hsm_fail(h, "the card's signature does NOT verify with key %u's public key", id);
        }
        if (h->json) hj_bool(&h->js, "verified", v == FK_CRYPTO_OK);
    }
    if (rc == FK_TOOL_EXIT_OK && h->set[HO_RAW]) {
        const fk_curve_info_t *ci = fk_curve_info(pub.curve);
        if (pub.kind != FK_HOST_KEY_EC || ci == NULL) {
            rc = hsm_fail(h, "--raw is for ECDSA signatures");
        } else if (!der_to_plain(sig, sig_len, ci->order_len, plain)) {
            rc = hsm_fail(h, "the card's ECDSA signature is not DER");
        } else {
            sig_len = 2u * ci->order_len;
            memcpy(sig, plain, sig_len);
        }
    }
    if (rc == FK_TOOL_EXIT_OK) rc = output(h, "signature", sig, sig_len, false);
    free(in);
    return rc;
}

int hsm_cmd_verify(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!key_id_arg(h, &id)) return FK_TOOL_EXIT_USAGE;
    const sig_alg_t *a = sig_alg(h);
    if (a == NULL) return FK_TOOL_EXIT_USAGE;
    if (!h->set[HO_SIG]) {
        (void)hsm_fail(h, "--sig FILE is needed");
        return FK_TOOL_EXIT_USAGE;
    }
    size_t len = 0, sig_len = 0;
    uint8_t *in = input(h, &len);
    if (in == NULL) return FK_TOOL_EXIT_FAIL;
    uint8_t *sig = hsm_read_file(h, h->val[HO_SIG], SIG_MAX, &sig_len);
    fk_host_pub_t pub;
    int rc = sig != NULL ? hsm_open(h) : FK_TOOL_EXIT_FAIL;
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_key_public_of(h, id, &pub);
    if (rc == FK_TOOL_EXIT_OK) {
        const int v = verify_sig(a, &pub, in, len, sig, sig_len);
        if (h->json) hj_bool(&h->js, "valid", v == FK_CRYPTO_OK);
        if (v == FK_CRYPTO_OK) {
            hsm_say(h, "signature valid (key %u, %s)", id, a->name);
        } else if (v == FK_CRYPTO_EAUTH) {
            (void)hsm_fail(h, "signature NOT valid (key %u, %s)", id, a->name);
            rc = FK_TOOL_EXIT_BAD_SIGNATURE;
        } else {
            rc = hsm_fail(h, "%s cannot be checked with key %u's public key (another kind of key, or a raw "
                             "RSA block that is no PKCS#1 signature)", a->name, id);
        }
    }
    free(in);
    free(sig);
    return rc;
}

/* ---- decrypt / derive ------------------------------------------------------------------ */

int hsm_cmd_decrypt(hsm_run_t *h)
{
    static const struct {
        const char *name;
        uint8_t p2;
    } algs[] = {{"rsa-raw", 0x21}, {"rsa-pkcs1", 0x22}, {"rsa-oaep", 0x23}, {"rsa-oaep-sha256", 0x23}};
    uint8_t id = 0;
    if (!key_id_arg(h, &id)) return FK_TOOL_EXIT_USAGE;
    int p2 = -1;
    for (size_t i = 0; h->set[HO_ALG] && i < FK_ARRAY_SIZE(algs); i++)
        if (strcmp(h->val[HO_ALG], algs[i].name) == 0) p2 = algs[i].p2;
    if (p2 < 0) {
        (void)hsm_fail(h, "--alg takes rsa-raw, rsa-pkcs1 or rsa-oaep (= rsa-oaep-sha256: SHA-256, MGF1-SHA-256, "
                          "empty label)");
        return FK_TOOL_EXIT_USAGE;
    }
    size_t len = 0;
    uint8_t *in = input(h, &len);
    if (in == NULL) return FK_TOOL_EXIT_FAIL;
    int rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_apdu(h, 0x80, INS_DECIPHER, id, (uint8_t)p2, in, len, RESP_NE);
    if (rc == FK_TOOL_EXIT_OK && h->sw != FK_SW_OK) {
        h->error_sw = h->sw;
        if (h->sw == FK_SW_WRONG_DATA)
            rc = hsm_fail(h, "6A80: the cryptogram does not decrypt (not the modulus length, or its padding "
                             "does not decode)");
        else
            rc = hsm_sw_fail(h, "DECIPHER");
    }
    if (rc == FK_TOOL_EXIT_OK) rc = output(h, "plaintext", h->resp, h->resp_len, true);
    fk_wipe(h->resp, h->resp_len);
    free(in);
    return rc;
}

/* ---- encrypt ------------------------------------------------------------------------------- */

/* The padding names of encrypt: those of decrypt (rsa-oaep is SHA-256 in
 * both) and OAEP with the other hashes. */
static const struct {
    const char *name;
    fk_hash_t hash; /* NONE: PKCS#1 v1.5 */
} k_enc_algs[] = {
    {"rsa-pkcs1", FK_HASH_NONE},         {"rsa-oaep", FK_HASH_SHA256},
    {"rsa-oaep-sha1", FK_HASH_SHA1},     {"rsa-oaep-sha256", FK_HASH_SHA256},
    {"rsa-oaep-sha384", FK_HASH_SHA384}, {"rsa-oaep-sha512", FK_HASH_SHA512},
};

int hsm_cmd_encrypt(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!key_id_arg(h, &id)) return FK_TOOL_EXIT_USAGE;
    int a = -1;
    for (size_t i = 0; h->set[HO_ALG] && i < FK_ARRAY_SIZE(k_enc_algs); i++)
        if (strcmp(h->val[HO_ALG], k_enc_algs[i].name) == 0) a = (int)i;
    if (a < 0) {
        (void)hsm_fail(h, "--alg takes rsa-pkcs1, rsa-oaep (= rsa-oaep-sha256), rsa-oaep-sha1, rsa-oaep-sha384 "
                          "or rsa-oaep-sha512");
        return FK_TOOL_EXIT_USAGE;
    }
    const char *name = k_enc_algs[a].name;
    const fk_hash_t hash = k_enc_algs[a].hash;
    if (hash == FK_HASH_NONE && h->set[HO_LABEL]) {
        (void)hsm_fail(h, "--label is OAEP's: %s takes none", name);
        return FK_TOOL_EXIT_USAGE;
    }
    const uint8_t *label = h->set[HO_LABEL] ? (const uint8_t *)h->val[HO_LABEL] : NULL;
    const size_t label_len = label != NULL ? strlen(h->val[HO_LABEL]) : 0u;
    size_t len = 0;
    uint8_t *in = input(h, &len);
    if (in == NULL) return FK_TOOL_EXIT_FAIL;
    fk_host_pub_t pub;
    fk_pk_public_t pk;
    uint8_t ct[FK_PK_RSA_MAX_LEN];
    size_t ct_len = 0;
    int rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_key_public_of(h, id, &pub);
    if (rc == FK_TOOL_EXIT_OK && pub.kind != FK_HOST_KEY_RSA) {
        if (pub.kind == FK_HOST_KEY_ED)
            (void)hsm_fail(h, "key %u is an EdDSA key: it only signs, it does not encrypt", id);
        else
            (void)hsm_fail(h, "key %u is an %s key: EC keys do not encrypt (use 'fusekey hsm derive' for a shared "
                              "secret with it)", id, pub.kind == FK_HOST_KEY_MONT ? "X25519/X448" : "EC");
        rc = FK_TOOL_EXIT_USAGE;
    }
    if (rc == FK_TOOL_EXIT_OK && !pk_public(&pub, &pk)) rc = hsm_fail(h, "key %u's public key is not usable", id);
    if (rc == FK_TOOL_EXIT_OK) {
        /* The padding's room: k - 11 (PKCS#1 v1.5), k - 2 hLen - 2 (OAEP). */
        const size_t k = pub.n_len, over = hash == FK_HASH_NONE ? 11u : 2u * fk_hash_len(hash) + 2u;
        if (k < over) {
            rc = hsm_fail(h, "%s needs a modulus of at least %zu bits; key %u has %zu", name, 8u * over, id, 8u * k);
        } else if (len > k - over) {
            rc = hsm_fail(h, "%zu bytes do not fit %s with key %u's %zu-bit modulus: at most %zu", len, name, id,
                          8u * k, k - over);
        }
    }
    if (rc == FK_TOOL_EXIT_OK) {
        const int e = hash == FK_HASH_NONE
                          ? fk_pk_rsa_encrypt_pkcs1(&pk, in, len, ct, sizeof ct, &ct_len)
                          : fk_pk_rsa_encrypt_oaep(&pk, hash, label, label_len, in, len, ct, sizeof ct, &ct_len);
        if (e == FK_CRYPTO_ERNG) rc = hsm_fail(h, "the random number generator failed");
        else if (e != FK_CRYPTO_OK) rc = hsm_fail(h, "key %u's public key (CE%02X) is not a usable RSA key", id, id);
    }
    if (rc == FK_TOOL_EXIT_OK && hash != FK_HASH_NONE && (hash != FK_HASH_SHA256 || label_len > 0u))
        hsm_progress(h, "note: a SmartCard-HSM's DECIPHER unpads OAEP with SHA-256 and an empty label only; this "
                        "ciphertext opens with decrypt --alg rsa-raw and the padding removed on the host");
    if (rc == FK_TOOL_EXIT_OK) rc = output(h, "ciphertext", ct, ct_len, false);
    fk_wipe(in, len);
    free(in);
    return rc;
}

int hsm_cmd_derive(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!key_id_arg(h, &id)) return FK_TOOL_EXIT_USAGE;
    if (!h->set[HO_PEER]) {
        (void)hsm_fail(h, "--peer PUBKEY is needed (a PEM or DER public key, or the raw point)");
        return FK_TOOL_EXIT_USAGE;
    }
    size_t plen = 0;
    uint8_t *pf = hsm_read_file(h, h->val[HO_PEER], 16384, &plen);
    if (pf == NULL) return FK_TOOL_EXIT_FAIL;
    fk_host_pub_t peer, own;
    const bool spki = fk_host_pub_from_spki(pf, plen, &peer) == FK_CRYPTO_OK;
    int rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_key_public_of(h, id, &own);
    const uint8_t *point = pf;
    size_t point_len = plen;
    if (rc == FK_TOOL_EXIT_OK && spki) {
        if (peer.kind != own.kind || peer.curve != own.curve) {
            rc = hsm_fail(h, "the peer's key is not on key %u's curve", id);
        } else {
            point = peer.point;
            point_len = peer.point_len;
        }
    }
    if (rc == FK_TOOL_EXIT_OK && own.kind != FK_HOST_KEY_EC && own.kind != FK_HOST_KEY_MONT)
        rc = hsm_fail(h, "key %u is not an ECDH key (EC, X25519, X448)", id);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_apdu(h, 0x80, INS_DECIPHER, id, HSM_ALG_ECDH, point, point_len, RESP_NE);
    if (rc == FK_TOOL_EXIT_OK && h->sw != FK_SW_OK) {
        h->error_sw = h->sw;
        rc = h->sw == FK_SW_WRONG_DATA ? hsm_fail(h, "6A80: the peer's point is not on key %u's curve", id)
                                       : hsm_sw_fail(h, "DECIPHER (ECDH)");
    }
    if (rc == FK_TOOL_EXIT_OK) {
        /* 04 || X (Weierstrass); X25519/X448 as 04 || u or u alone. */
        const uint8_t *z = h->resp;
        size_t zl = h->resp_len;
        const fk_curve_info_t *ci = fk_curve_info(own.curve);
        if (ci != NULL && zl == ci->field_len + 1u && z[0] == 0x04) {
            z++;
            zl--;
        }
        if (ci == NULL || zl != ci->field_len) rc = hsm_fail(h, "the card's shared secret is %zu bytes", h->resp_len);
        else rc = output(h, "shared_secret", z, zl, true);
    }
    fk_wipe(h->resp, h->resp_len);
    free(pf);
    return rc;
}

/* ---- cipher -------------------------------------------------------------------------- */

typedef enum cipher_kind {
    CK_AES_CBC_IV0, /* 78 10 / 11 */
    CK_AES_CMAC,    /* 78 18 */
    CK_AES_DERIVE,  /* 78 99 */
    CK_AES,         /* 51/52 with an AES OID */
    CK_AES_XTS,
    CK_CHACHAPOLY,
    CK_HMAC,
    CK_HKDF,
    CK_PBKDF2,
    CK_X963,
} cipher_kind_t;

typedef struct cipher_mode {
    const char *name;
    cipher_kind_t kind;
    uint8_t aes_mode;   /* last OID byte for AES-128 (ECB 01 ... CTR 09) */
    fk_hash_t hash;
    bool aead;          /* a 16-byte tag follows the data */
    bool nonce_required;
} cipher_mode_t;

static const cipher_mode_t k_modes[] = {
    {"aes-cbc-iv0", CK_AES_CBC_IV0, 0, FK_HASH_NONE, false, false},
    {"aes-cmac", CK_AES_CMAC, 0, FK_HASH_NONE, false, false},
    {"aes-derive", CK_AES_DERIVE, 0, FK_HASH_NONE, false, false},
    {"aes-ecb", CK_AES, 0x01, FK_HASH_NONE, false, false},
    {"aes-cbc", CK_AES, 0x02, FK_HASH_NONE, false, false},
    {"aes-ofb", CK_AES, 0x03, FK_HASH_NONE, false, false},
    {"aes-cfb", CK_AES, 0x04, FK_HASH_NONE, false, false},
    {"aes-gcm", CK_AES, 0x06, FK_HASH_NONE, true, true},
    {"aes-ccm", CK_AES, 0x07, FK_HASH_NONE, true, true},
    {"aes-ctr", CK_AES, 0x09, FK_HASH_NONE, false, false},
    {"aes-xts", CK_AES_XTS, 0, FK_HASH_NONE, false, false},
    {"chacha20-poly1305", CK_CHACHAPOLY, 0, FK_HASH_NONE, true, true},
    {"hmac-sha1", CK_HMAC, 0, FK_HASH_SHA1, false, false},
    {"hmac-sha224", CK_HMAC, 0, FK_HASH_SHA224, false, false},
    {"hmac-sha256", CK_HMAC, 0, FK_HASH_SHA256, false, false},
    {"hmac-sha384", CK_HMAC, 0, FK_HASH_SHA384, false, false},
    {"hmac-sha512", CK_HMAC, 0, FK_HASH_SHA512, false, false},
    {"hkdf-sha256", CK_HKDF, 0, FK_HASH_SHA256, false, false},
    {"hkdf-sha384", CK_HKDF, 0, FK_HASH_SHA384, false, false},
    {"hkdf-sha512", CK_HKDF, 0, FK_HASH_SHA512, false, false},
    {"pbkdf2", CK_PBKDF2, 0, FK_HASH_NONE, false, false},
    {"x963", CK_X963, 0, FK_HASH_NONE, false, false},
};

/* OIDs of the extended CIPHER form (content octets). */
static const uint8_t k_oid_aes[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};
static const uint8_t k_oid_xts[] = {0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01};
static const uint8_t k_oid_chachapoly[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x12};
static const uint8_t k_oid_hmac[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02};            /* + 07..0B */
static const uint8_t k_oid_hkdf[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03}; /* + 1D..1F */
static const uint8_t k_oid_pbkdf2[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C};
static const uint8_t k_oid_x963[] = {0x2B, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3F};

#define AES_OID_STEP 0x14u /* 128 -> 192 -> 256 bits */
#define PBKDF2_DEFAULT_ITER 10000u
#define KDF_DEFAULT_LEN 32u

/* The last byte of the HMAC OID of a hash (07 SHA-1 ... 0B SHA-512). */
static uint8_t hmac_oid_last(fk_hash_t hh) { return (uint8_t)(0x06u + (unsigned)hh); }

/* --hash NAME as a hash (default def). */
static bool hash_opt(hsm_run_t *h, fk_hash_t def, fk_hash_t *out)
{
    static const struct {
        const char *name;
        fk_hash_t h;
    } names[] = {{"sha1", FK_HASH_SHA1}, {"sha224", FK_HASH_SHA224}, {"sha256", FK_HASH_SHA256},
                 {"sha384", FK_HASH_SHA384}, {"sha512", FK_HASH_SHA512}};
    *out = def;
    if (!h->set[HO_HASH]) return true;
    for (size_t i = 0; i < FK_ARRAY_SIZE(names); i++) {
        if (strcmp(names[i].name, h->val[HO_HASH]) == 0) {
            *out = names[i].h;
            return true;
        }
    }
    (void)hsm_fail(h, "--hash takes sha1, sha224, sha256, sha384 or sha512");
    return false;
}

/* A hex option into out (optional: *len 0 when absent). */
static bool hex_opt(hsm_run_t *h, hsm_opt_t o, uint8_t *out, size_t cap, size_t *len)
{
    *len = 0;
    if (!h->set[o]) return true;
    if (hsm_unhex(h->val[o], out, cap, len) != 0) {
        (void)hsm_fail(h, "%s takes hex bytes (at most %zu)", o == HO_IV ? "--iv" : o == HO_AAD ? "--aad" : "--salt", cap);
        return false;
    }
    return true;
}

int hsm_cmd_cipher(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!key_id_arg(h, &id)) return FK_TOOL_EXIT_USAGE;
    const cipher_mode_t *m = NULL;
    for (size_t i = 0; h->set[HO_ALG] && i < FK_ARRAY_SIZE(k_modes); i++)
        if (strcmp(k_modes[i].name, h->val[HO_ALG]) == 0) m = &k_modes[i];
    if (m == NULL) {
        (void)hsm_fail(h, "--alg takes aes-cbc-iv0, aes-cmac, aes-derive, aes-ecb, aes-cbc, aes-ofb, aes-cfb, "
                          "aes-ctr, aes-gcm, aes-ccm, aes-xts, chacha20-poly1305, hmac-sha1/224/256/384/512, "
                          "hkdf-sha256/384/512, pbkdf2, x963");
        return FK_TOOL_EXIT_USAGE;
    }
    const bool kdf = m->kind == CK_HKDF || m->kind == CK_PBKDF2 || m->kind == CK_X963;
    const bool encrypting = !h->set[HO_DECRYPT];
    if (h->set[HO_DECRYPT] && (kdf || m->kind == CK_HMAC || m->kind == CK_AES_CMAC || m->kind == CK_AES_DERIVE)) {
        (void)hsm_fail(h, "--decrypt is for the ciphers, not %s", m->name);
        return FK_TOOL_EXIT_USAGE;
    }
    uint8_t iv[64], aad[1024], salt[256];
    size_t iv_len = 0, aad_len = 0, salt_len = 0;
    uint32_t out_len = 0, iterations = PBKDF2_DEFAULT_ITER;
    fk_hash_t hh = FK_HASH_SHA256;
    if (!hex_opt(h, HO_IV, iv, sizeof iv, &iv_len) || !hex_opt(h, HO_AAD, aad, sizeof aad, &aad_len) ||
        !hex_opt(h, HO_SALT, salt, sizeof salt, &salt_len) || !hash_opt(h, FK_HASH_SHA256, &hh))
        return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_LENGTH] && !hsm_opt_uint(h, HO_LENGTH, 1, 65535, &out_len)) return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_ITERATIONS] && !hsm_opt_uint(h, HO_ITERATIONS, 1, 1000000, &iterations)) return FK_TOOL_EXIT_USAGE;
    const bool takes_iv = m->kind == CK_AES ? m->aes_mode != 0x01u : m->kind == CK_AES_XTS || m->kind == CK_CHACHAPOLY;
    if ((iv_len > 0u && !takes_iv) || (aad_len > 0u && !m->aead) || (salt_len > 0u && m->kind != CK_HKDF && m->kind != CK_PBKDF2)) {
        (void)hsm_fail(h, "%s takes no %s", m->name, iv_len > 0u && !takes_iv ? "--iv" : aad_len > 0u && !m->aead ? "--aad" : "--salt");
        return FK_TOOL_EXIT_USAGE;
    }
    if (m->nonce_required && iv_len == 0u) {
        (void)hsm_fail(h, "%s needs a nonce: --iv HEX (12 bytes for ChaCha20-Poly1305 and usually GCM, 7-13 for CCM)", m->name);
        return FK_TOOL_EXIT_USAGE;
    }
    size_t len = 0;
    uint8_t *in = NULL;
    if (kdf && !h->set[HO_IN] && !h->set[HO_DATA]) {
        in = calloc(1, 1);
    } else {
        in = input(h, &len);
    }
    if (in == NULL) return FK_TOOL_EXIT_FAIL;

    int rc = hsm_open(h);
    hsm_prkd_t d;
    memset(&d, 0, sizeof d);
    if (rc == FK_TOOL_EXIT_OK && (m->kind == CK_AES || m->kind == CK_AES_XTS)) {
        rc = hsm_key_kind_of(h, id, &d);
        if (rc == FK_TOOL_EXIT_OK && (d.family != HSM_KEY_AES || d.bits == 0u))
            rc = hsm_fail(h, "key %u's size is not in its description C4%02X (an AES key made by this card "
                             "has one): the AES OID must name it", id, id);
        if (rc == FK_TOOL_EXIT_OK && m->kind == CK_AES && d.bits != 128u && d.bits != 192u && d.bits != 256u)
            rc = hsm_fail(h, "%s takes a 128-, 192- or 256-bit key; key %u has %u bits", m->name, id, d.bits);
        if (rc == FK_TOOL_EXIT_OK && m->kind == CK_AES_XTS && d.bits != 256u && d.bits != 512u)
            rc = hsm_fail(h, "aes-xts takes a 256- or 512-bit key (two halves); key %u has %u bits", id, d.bits);
    }
    uint8_t p2 = encrypting ? HSM_ALG_CIPHER_ENC : HSM_ALG_CIPHER_DEC;
    uint8_t *data = NULL;
    size_t data_len = 0, ne = RESP_NE;
    if (rc == FK_TOOL_EXIT_OK) {
        data = malloc(len + 2048u);
        if (data == NULL) rc = hsm_fail(h, "out of memory");
    }
    if (rc == FK_TOOL_EXIT_OK) {
        fk_rbuf_t r = {data, 0, len + 2048u};
        bool ok = true;
        uint8_t oid[16];
        size_t oid_len = 0;
        switch (m->kind) {
        case CK_AES_CBC_IV0:
        case CK_AES_CMAC:
        case CK_AES_DERIVE:
            p2 = m->kind == CK_AES_CMAC ? HSM_ALG_AES_CMAC : m->kind == CK_AES_DERIVE ? HSM_ALG_AES_DERIVE
                 : encrypting ? HSM_ALG_AES_CBC_ENC : HSM_ALG_AES_CBC_DEC;
            ok = fk_rbuf_put(&r, in, len);
            break;
        case CK_AES:
            memcpy(oid, k_oid_aes, sizeof k_oid_aes);
            oid[sizeof k_oid_aes] = (uint8_t)(m->aes_mode + AES_OID_STEP * (d.bits == 192u ? 1u : d.bits == 256u ? 2u : 0u));
            oid_len = sizeof k_oid_aes + 1u;
            break;
        case CK_AES_XTS:
            memcpy(oid, k_oid_xts, sizeof k_oid_xts);
            oid[sizeof k_oid_xts] = d.bits == 256u ? 0x01u : 0x02u;
            oid_len = sizeof k_oid_xts + 1u;
            break;
        case CK_CHACHAPOLY:
            memcpy(oid, k_oid_chachapoly, sizeof k_oid_chachapoly);
            oid_len = sizeof k_oid_chachapoly;
            break;
        case CK_HMAC:
            memcpy(oid, k_oid_hmac, sizeof k_oid_hmac);
            oid[sizeof k_oid_hmac] = hmac_oid_last(m->hash);
            oid_len = sizeof k_oid_hmac + 1u;
            break;
        case CK_HKDF:
            memcpy(oid, k_oid_hkdf, sizeof k_oid_hkdf);
            oid[sizeof k_oid_hkdf] = m->hash == FK_HASH_SHA256 ? 0x1Du : m->hash == FK_HASH_SHA384 ? 0x1Eu : 0x1Fu;
            oid_len = sizeof k_oid_hkdf + 1u;
            break;
        case CK_PBKDF2:
            memcpy(oid, k_oid_pbkdf2, sizeof k_oid_pbkdf2);
            oid_len = sizeof k_oid_pbkdf2;
            break;
        case CK_X963:
            memcpy(oid, k_oid_x963, sizeof k_oid_x963);
            oid_len = sizeof k_oid_x963;
            break;
        }
        if (oid_len > 0u) {
            ok = ok && fk_tlv_put(&r, 0x06u, oid, oid_len);
            switch (m->kind) {
            case CK_HKDF: /* 81 info, 82 salt */
                ok = ok && fk_tlv_put(&r, 0x81u, in, len);
                if (salt_len > 0u) ok = ok && fk_tlv_put(&r, 0x82u, salt, salt_len);
                ne = out_len ? out_len : fk_hash_len(m->hash);
                break;
            case CK_PBKDF2: { /* 81: the content of PBKDF2-params, PRF explicit */
                if (salt_len == 0u) {
                    ok = false;
                    break;
                }
                uint8_t params[320], it[4], prf[16];
                fk_rbuf_t pr = {params, 0, sizeof params};
                fk_put_be32(it, iterations);
                size_t skip = 0;
                while (skip < 3u && it[skip] == 0u) skip++;
                const bool pad = (it[skip] & 0x80u) != 0u;
                memcpy(prf, k_oid_hmac, sizeof k_oid_hmac);
                prf[sizeof k_oid_hmac] = hmac_oid_last(hh);
                uint8_t iv_int[5] = {0};
                memcpy(iv_int + (pad ? 1u : 0u), it + skip, 4u - skip);
                fk_tlv_mark_t alg;
                ok = fk_tlv_put(&pr, 0x04u, salt, salt_len) &&
                     fk_tlv_put(&pr, 0x02u, iv_int, 4u - skip + (pad ? 1u : 0u));
                if (ok && out_len) {
                    const uint8_t kl[3] = {0, (uint8_t)(out_len >> 8), (uint8_t)out_len};
                    const size_t off = out_len >= 0x8000u ? 0u : out_len >= 0x80u ? 1u : 2u;
                    ok = fk_tlv_put(&pr, 0x02u, kl + off, 3u - off);
                }
                alg = fk_tlv_begin(&pr, 0x30u);
                ok = ok && fk_tlv_put(&pr, 0x06u, prf, sizeof k_oid_hmac + 1u) && fk_tlv_put(&pr, 0x05u, NULL, 0) &&
                     fk_tlv_end(&pr, alg);
                ok = ok && fk_tlv_put(&r, 0x81u, params, pr.len);
                ne = out_len ? out_len : KDF_DEFAULT_LEN;
                break;
            }
            case CK_X963: { /* 81 the hash's HMAC OID, 83 shared info */
                uint8_t ho[16];
                memcpy(ho, k_oid_hmac, sizeof k_oid_hmac);
                ho[sizeof k_oid_hmac] = hmac_oid_last(hh);
                ok = ok && fk_tlv_put(&r, 0x81u, ho, sizeof k_oid_hmac + 1u);
                if (len > 0u) ok = ok && fk_tlv_put(&r, 0x83u, in, len);
                ne = out_len ? out_len : KDF_DEFAULT_LEN;
                break;
            }
            default: /* ciphers and HMAC: 81 data, 82 iv/nonce/tweak, 83 aad */
                ok = ok && fk_tlv_put(&r, 0x81u, in, len);
                if (iv_len > 0u) ok = ok && fk_tlv_put(&r, 0x82u, iv, iv_len);
                if (aad_len > 0u) ok = ok && fk_tlv_put(&r, 0x83u, aad, aad_len);
                if (m->kind == CK_HMAC) p2 = HSM_ALG_CIPHER_ENC;
                break;
            }
        }
        if (!ok) rc = m->kind == CK_PBKDF2 && salt_len == 0u ? hsm_fail(h, "pbkdf2 needs --salt HEX")
                                                             : hsm_fail(h, "the CIPHER data does not fit");
        data_len = r.len;
    }
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK)
        rc = kdf ? hsm_apdu_exact(h, 0x80, INS_CIPHER, id, p2, data, data_len, ne)
                 : hsm_apdu(h, 0x80, INS_CIPHER, id, p2, data, data_len, ne);
    if (rc == FK_TOOL_EXIT_OK && h->sw != FK_SW_OK) {
        h->error_sw = h->sw;
        if ((h->sw == FK_SW_WRONG_DATA || h->sw == FK_SW_EXEC_ERROR || h->sw == FK_SW_WRONG_LENGTH) && m->aead && !encrypting)
            rc = hsm_fail(h, "%04X: the tag does not verify (wrong key, nonce, AAD or a changed ciphertext)", h->sw);
        else if (h->sw == FK_SW_WRONG_LENGTH && kdf)
            rc = hsm_fail(h, "6700: the card does not derive %zu bytes with %s", ne, m->name);
        else if (h->sw == FK_SW_WRONG_LENGTH)
            rc = hsm_fail(h, "6700: the input's length does not suit %s (CBC and ECB take whole 16-byte blocks)", m->name);
        else if (h->sw == FK_SW_WRONG_P1P2 || h->sw == FK_SW_INCORRECT_P1P2)
            rc = hsm_fail(h, "%04X: the card does not have %s (CIPHER P2 %02X)", h->sw, m->name, p2);
        else
            rc = hsm_sw_fail(h, "CIPHER");
    }
    if (rc == FK_TOOL_EXIT_OK && kdf && h->resp_len != ne)
        rc = hsm_fail(h, "the card derived %zu bytes, not the %zu asked", h->resp_len, ne);
    if (rc == FK_TOOL_EXIT_OK) {
        const bool secret = !encrypting || kdf || m->kind == CK_AES_DERIVE;
        rc = output(h, kdf || m->kind == CK_AES_DERIVE ? "derived" : m->kind == CK_HMAC || m->kind == CK_AES_CMAC ? "mac"
                                                                   : encrypting ? "ciphertext" : "plaintext",
                    h->resp, h->resp_len, secret);
    }
    fk_wipe(h->resp, h->resp_len);
    if (data != NULL) {
        fk_wipe(data, data_len);
        free(data);
    }
    fk_wipe(in, len);
    free(in);
    return rc;
}
