/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_cipher.c - the HSM's secret keys: GENERATE SYMMETRIC KEY (48) and
 * CIPHER (78) over the key-object service (docs/hsm-cipher.md).
 *
 * A secret key is a key object CC<id> of kind AES (128, 192, 256 bits, or
 * 512: two 256-bit halves for XTS-AES-256) with its algorithm list, use
 * counter and domain, encrypted under the master key like every user key.
 * CIPHER also takes a key of kind HMAC (a generic secret) for HMAC and the
 * key derivations.
 *
 * CIPHER follows SIGN's order (hsm_keys.c): the key exists, the user PIN,
 * the key opens, P2 is in the key's list, the key is a secret key; then the
 * input is checked against the key (hsm_cipher_prepare, a pure function the
 * fuzz target drives without a card); only then are the use counter, the
 * presence prompt and the spent use (on flash) dealt with, and the key used.
 * A refused command spends nothing and writes nothing. The key is open for
 * the one command and wiped after; a failed authentication tag or PBES2
 * padding leaves no output behind.
 */
#include <string.h>

#include "crypto/sym.h"
#include "hsm.h"
#include "hsm_internal.h"
#include "services/keyobj.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define INS_GENERATE_SYM 0x48u
#define INS_CIPHER 0x78u

/* P2 of GENERATE SYMMETRIC KEY: the key size. */
#define GEN_AES_128 0xB0u
#define GEN_AES_192 0xB1u
#define GEN_AES_256 0xB2u
#define GEN_AES_512 0xB3u /* two 256-bit halves (XTS-AES-256) */

/* Metadata tag of 48 besides 90/91/92 (hsm_internal.h). */
#define TAG_WRAP_KEY 0x93u /* CardContact's wrapping key id: accepted, not used */

/* Extended form TLVs. */
#define TAG_OID 0x06u
#define TAG_INPUT 0x81u
#define TAG_IV 0x82u
#define TAG_AAD 0x83u
#define TAG_SEQUENCE 0x30u
#define TAG_OCTETS 0x04u
#define TAG_INTEGER 0x02u
#define TAG_NULL 0x05u

#define AEAD_TAG_LEN 16u
#define CHACHA_KEY_LEN 32u
#define CHACHA_NONCE_LEN 12u
#define KDF_DEFAULT_LEN 32u
#define HKDF_MAX_BLOCKS 255u
#define PBKDF2_MAX_ITERATIONS 1000000u
#define PBKDF2_MAX_OUT 256u
#define SHORT_LE_MAX 256u
#define EXT_LE_MAX 65536u
#define KEY_BITS_MAX 512u
#define AES_KEY_MAX_BYTES 32u /* CBC, CMAC: AES-128, -192, -256 */

/* ---- Object identifiers (content bytes) --------------------------------- */

/* NIST AES arc 2.16.840.1.101.3.4.1, then one byte: the mode and key size
 * (HSM_AES_OID_* below). */
static const uint8_t k_oid_aes[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};
#define AES_OID_GROUP_128 0x00u
#define AES_OID_GROUP_192 0x14u
#define AES_OID_GROUP_256 0x28u
#define AES_OID_ECB 1u
#define AES_OID_CBC 2u
#define AES_OID_OFB 3u
#define AES_OID_CFB 4u
#define AES_OID_GCM 6u
#define AES_OID_CCM 7u
#define AES_OID_CTR 9u /* not a registered OID: the module's own choice */

/* XTS-AES-128 / -256 (IEEE 1619 arc 1.3.111.2.1619.0.1.1 / .2). */
static const uint8_t k_oid_xts[] = {0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01};
#define XTS_OID_128 1u
#define XTS_OID_256 2u
/* id-alg-AEADChaCha20Poly1305 (RFC 8103). */
static const uint8_t k_oid_chachapoly[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D,
                                           0x01, 0x09, 0x10, 0x03, 0x12};
/* hmacWithSHA1 .. hmacWithSHA512 (RFC 8018): 1.2.840.113549.2.7 .. 11. */
static const uint8_t k_oid_hmac[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02};
#define HMAC_OID_SHA1 0x07u
#define HMAC_OID_SHA512 0x0Bu
/* HKDF's OIDs, as the SmartCard-HSM world's clients send them: the arc of
 * RFC 8619 with last byte 1D SHA-256, 1E SHA-384, 1F SHA-512 (one above
 * RFC 8619's 1C/1D/1E: what Pico HSM's tools send and mean). 1C, RFC 8619's
 * id-alg-hkdf-with-sha256, is taken as SHA-256 too; it is unambiguous. */
static const uint8_t k_oid_hkdf[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03};
#define HKDF_OID_RFC_SHA256 0x1Cu
#define HKDF_OID_SHA256 0x1Du
#define HKDF_OID_SHA512 0x1Fu
/* id-PBKDF2 and id-PBES2 (RFC 8018). */
static const uint8_t k_oid_pkcs5[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05};
#define PKCS5_OID_PBKDF2 0x0Cu
#define PKCS5_OID_PBES2 0x0Du
/* The ANSI X9.63 KDF as the clients name it. */
static const uint8_t k_oid_x963[] = {0x2B, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3F};
/* The SLIP-21 node cipher: needs a BIP32 node, not implemented. */
static const uint8_t k_oid_slip21[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x83,
                                       0xA8, 0x78, 0x05, 0x8D, 0x6B};

/* ---- Parsing and checking CIPHER (pure) --------------------------------- */

/* OID in `oid` equals prefix followed by one byte; that byte in *last. */
static bool oid_with_last(fk_bytes_t oid, const uint8_t *prefix, size_t n, uint8_t *last)
{
    if (oid.len != n + 1u || memcmp(oid.p, prefix, n) != 0) return false;
    *last = oid.p[n];
    return true;
}

static bool oid_is(fk_bytes_t oid, const uint8_t *ref, size_t n)
{
    return oid.len == n && memcmp(oid.p, ref, n) == 0;
}

/* The hash of an hmacWithSHAx OID (content bytes, or a whole 06 TLV). */
static fk_hash_t hmac_oid_hash(fk_bytes_t oid)
{
    uint8_t last;
    if (oid.len >= 2u && oid.p[0] == TAG_OID && oid.p[1] == oid.len - 2u)
        oid = (fk_bytes_t){oid.p + 2, oid.len - 2u};
    if (!oid_with_last(oid, k_oid_hmac, sizeof(k_oid_hmac), &last)) return FK_HASH_NONE;
    if (last < HMAC_OID_SHA1 || last > HMAC_OID_SHA512) return FK_HASH_NONE;
    return (fk_hash_t)(FK_HASH_SHA1 + (last - HMAC_OID_SHA1));
}

/* The four TLVs of the extended form, each at most once, nothing else. */
typedef struct ext_tlvs {
    fk_bytes_t oid, input, iv, aad;
    bool has_oid, has_input, has_iv, has_aad;
} ext_tlvs_t;

static fk_sw_t ext_parse(const uint8_t *data, size_t len, ext_tlvs_t *t)
{
    fk_tlv_t x;
    int rc;

    memset(t, 0, sizeof(*t));
    if (len == 0 || data == NULL) return FK_SW_WRONG_DATA;
    const uint8_t *p = data, *end = data + len;
    while ((rc = fk_tlv_next(&p, end, &x)) == FK_TLV_OK) {
        fk_bytes_t *v;
        bool *seen;
        switch (x.tag) {
        case TAG_OID: v = &t->oid, seen = &t->has_oid; break;
        case TAG_INPUT: v = &t->input, seen = &t->has_input; break;
        case TAG_IV: v = &t->iv, seen = &t->has_iv; break;
        case TAG_AAD: v = &t->aad, seen = &t->has_aad; break;
        default: return FK_SW_WRONG_DATA;
        }
        if (*seen) return FK_SW_WRONG_DATA;
        *seen = true;
        *v = (fk_bytes_t){x.value, x.len};
    }
    if (rc != FK_TLV_END || !t->has_oid || t->oid.len == 0) return FK_SW_WRONG_DATA;
    return FK_SW_OK;
}

/* Le as a requested output length: 0 when the client left it to the card
 * (no Le, or the largest Le of its form: short 00 or extended 0000). */
static size_t le_request(const fk_apdu_t *cmd)
{
    if (cmd->ne == 0 || cmd->ne == EXT_LE_MAX) return 0;
    if (cmd->ne == SHORT_LE_MAX && !cmd->extended) return 0;
    return cmd->ne;
}

/* A non-negative DER INTEGER of at most 4 bytes (a leading 00 allowed). */
static bool der_u32(const fk_tlv_t *t, uint32_t *v)
{
    size_t n = t->len;
    const uint8_t *p = t->value;
    if (n == 0 || (p[0] & 0x80u)) return false;
    if (n > 1 && p[0] == 0 && !(p[1] & 0x80u)) return false; /* not minimal */
    if (p[0] == 0) p++, n--;
    if (n > 4) return false;
    *v = 0;
    for (size_t i = 0; i < n; i++) *v = (*v << 8) | p[i];
    return true;
}

/* PBKDF2-params (RFC 8018 A.2): the SEQUENCE, or its content alone as
 * pico's client sends it: 04 salt, 02 iterations, [02 keyLength],
 * [30 { 06 hmacWithSHAx [05 00] }]. Fills c's hash, salt and iterations;
 * *key_len gets keyLength, 0 when absent. */
static fk_sw_t parse_pbkdf2_params(fk_bytes_t in, hsm_cipher_t *c, size_t *key_len)
{
    fk_tlv_t t;

    if (in.len == 0 || in.p == NULL) return FK_SW_WRONG_DATA;
    const uint8_t *p = in.p, *end = in.p + in.len;
    if (in.p[0] == TAG_SEQUENCE) {
        if (fk_tlv_next(&p, end, &t) != FK_TLV_OK || p != end) return FK_SW_WRONG_DATA;
        p = t.value;
        end = t.value + t.len;
    }
    *key_len = 0;
    c->hash = FK_HASH_SHA1; /* the default PRF */
    if (fk_tlv_next(&p, end, &t) != FK_TLV_OK || t.tag != TAG_OCTETS) return FK_SW_WRONG_DATA;
    c->salt = (fk_bytes_t){t.value, t.len};
    if (fk_tlv_next(&p, end, &t) != FK_TLV_OK || t.tag != TAG_INTEGER || !der_u32(&t, &c->iterations))
        return FK_SW_WRONG_DATA;
    if (c->iterations == 0 || c->iterations > PBKDF2_MAX_ITERATIONS) return FK_SW_WRONG_DATA;
    int rc = fk_tlv_next(&p, end, &t);
    if (rc == FK_TLV_OK && t.tag == TAG_INTEGER) {
        uint32_t kl;
        if (!der_u32(&t, &kl) || kl == 0 || kl > PBKDF2_MAX_OUT) return FK_SW_WRONG_DATA;
        *key_len = kl;
        rc = fk_tlv_next(&p, end, &t);
    }
    if (rc == FK_TLV_OK && t.tag == TAG_SEQUENCE) {
        const uint8_t *q = t.value, *qend = t.value + t.len;
        fk_tlv_t oid, null;
        if (fk_tlv_next(&q, qend, &oid) != FK_TLV_OK || oid.tag != TAG_OID) return FK_SW_WRONG_DATA;
        if (q != qend && (fk_tlv_next(&q, qend, &null) != FK_TLV_OK || null.tag != TAG_NULL ||
                          null.len != 0 || q != qend))
            return FK_SW_WRONG_DATA;
        c->hash = hmac_oid_hash((fk_bytes_t){oid.value, oid.len});
        if (c->hash == FK_HASH_NONE) return FK_SW_FUNC_NOT_SUPPORTED;
        rc = fk_tlv_next(&p, end, &t);
    }
    return rc == FK_TLV_END ? FK_SW_OK : FK_SW_WRONG_DATA;
}

/* An IV given in 82: exactly FK_AES_BLOCK bytes, or absent / empty (zero). */
static fk_sw_t take_block_iv(const ext_tlvs_t *t, hsm_cipher_t *c)
{
    memset(c->iv_buf, 0, sizeof(c->iv_buf));
    if (t->has_iv && t->iv.len != 0) {
        if (t->iv.len != FK_AES_BLOCK) return FK_SW_WRONG_DATA;
        memcpy(c->iv_buf, t->iv.p, FK_AES_BLOCK);
    }
    c->iv = (fk_bytes_t){c->iv_buf, FK_AES_BLOCK};
    return FK_SW_OK;
}

/* PBES2-params (RFC 8018 A.4) from 83, the SEQUENCE or its content:
 * 30 { 06 id-PBKDF2, PBKDF2-params }, 30 { 06 aesNNN-CBC-PAD, 04 IV(16) }.
 * The scheme gives the key length; a keyLength in the PBKDF2 parameters
 * must say the same. */
static fk_sw_t parse_pbes2_params(fk_bytes_t in, hsm_cipher_t *c)
{
    const uint8_t *p, *end;
    fk_tlv_t t, kdf, enc, oid, iv;
    uint8_t last;
    size_t key_len;
    fk_sw_t sw;

    if (in.len == 0 || in.p == NULL) return FK_SW_WRONG_DATA;
    p = in.p;
    end = in.p + in.len;
    if (fk_tlv_next(&p, end, &t) != FK_TLV_OK || t.tag != TAG_SEQUENCE) return FK_SW_WRONG_DATA;
    if (p == end) { /* the SEQUENCE itself: descend */
        p = t.value;
        end = t.value + t.len;
    } else { /* its content */
        p = in.p;
    }
    if (fk_tlv_next(&p, end, &kdf) != FK_TLV_OK || kdf.tag != TAG_SEQUENCE ||
        fk_tlv_next(&p, end, &enc) != FK_TLV_OK || enc.tag != TAG_SEQUENCE || p != end)
        return FK_SW_WRONG_DATA;

    const uint8_t *q = kdf.value, *qend = kdf.value + kdf.len;
    if (fk_tlv_next(&q, qend, &oid) != FK_TLV_OK || oid.tag != TAG_OID) return FK_SW_WRONG_DATA;
    if (!oid_with_last((fk_bytes_t){oid.value, oid.len}, k_oid_pkcs5, sizeof(k_oid_pkcs5), &last) ||
        last != PKCS5_OID_PBKDF2)
        return FK_SW_FUNC_NOT_SUPPORTED;
    if ((sw = parse_pbkdf2_params((fk_bytes_t){q, (size_t)(qend - q)}, c, &key_len)) != FK_SW_OK)
        return sw;

    q = enc.value;
    qend = enc.value + enc.len;
    if (fk_tlv_next(&q, qend, &oid) != FK_TLV_OK || oid.tag != TAG_OID) return FK_SW_WRONG_DATA;
    if (!oid_with_last((fk_bytes_t){oid.value, oid.len}, k_oid_aes, sizeof(k_oid_aes), &last) ||
        (last != AES_OID_GROUP_128 + AES_OID_CBC && last != AES_OID_GROUP_192 + AES_OID_CBC &&
         last != AES_OID_GROUP_256 + AES_OID_CBC))
        return FK_SW_FUNC_NOT_SUPPORTED;
    c->key_len = last == AES_OID_GROUP_128 + AES_OID_CBC   ? 16u
                 : last == AES_OID_GROUP_192 + AES_OID_CBC ? 24u : 32u;
    if (fk_tlv_next(&q, qend, &iv) != FK_TLV_OK || iv.tag != TAG_OCTETS || iv.len != FK_AES_BLOCK ||
        q != qend)
        return FK_SW_WRONG_DATA;
    if (key_len != 0 && key_len != c->key_len) return FK_SW_WRONG_DATA;
    c->iv = (fk_bytes_t){iv.value, iv.len};
    return FK_SW_OK;
}

/* A TLV that the algorithm does not use must be absent or empty. */
static bool unused(bool has, fk_bytes_t v) { return !has || v.len == 0; }

/* Resolve the OID of the extended form into c (its algorithm, mode, hash,
 * the key length it needs); the input checks follow in ext_inputs. */
static fk_sw_t ext_algorithm(fk_bytes_t oid, hsm_cipher_t *c)
{
    uint8_t last;

    if (oid_with_last(oid, k_oid_aes, sizeof(k_oid_aes), &last)) {
        uint8_t group = last > AES_OID_GROUP_256 ? AES_OID_GROUP_256
                        : last > AES_OID_GROUP_192 ? AES_OID_GROUP_192 : AES_OID_GROUP_128;
        c->key_len = group == AES_OID_GROUP_128 ? 16u : group == AES_OID_GROUP_192 ? 24u : 32u;
        switch (last - group) {
        case AES_OID_ECB: c->alg = HSM_CIPHER_AES, c->mode = FK_AES_ECB; return FK_SW_OK;
        case AES_OID_CBC: c->alg = HSM_CIPHER_AES, c->mode = FK_AES_CBC; return FK_SW_OK;
        case AES_OID_OFB: c->alg = HSM_CIPHER_AES, c->mode = FK_AES_OFB; return FK_SW_OK;
        case AES_OID_CFB: c->alg = HSM_CIPHER_AES, c->mode = FK_AES_CFB128; return FK_SW_OK;
        case AES_OID_CTR: c->alg = HSM_CIPHER_AES, c->mode = FK_AES_CTR; return FK_SW_OK;
        case AES_OID_GCM: c->alg = HSM_CIPHER_AEAD, c->mode = FK_AES_GCM; return FK_SW_OK;
        case AES_OID_CCM: c->alg = HSM_CIPHER_AEAD, c->mode = FK_AES_CCM; return FK_SW_OK;
        default: return FK_SW_FUNC_NOT_SUPPORTED;
        }
    }
    if (oid_with_last(oid, k_oid_xts, sizeof(k_oid_xts), &last) &&
        (last == XTS_OID_128 || last == XTS_OID_256)) {
        c->alg = HSM_CIPHER_AES, c->mode = FK_AES_XTS;
        c->key_len = last == XTS_OID_128 ? 32u : 64u;
        return FK_SW_OK;
    }
    if (oid_is(oid, k_oid_chachapoly, sizeof(k_oid_chachapoly))) {
        c->alg = HSM_CIPHER_CHACHAPOLY, c->key_len = CHACHA_KEY_LEN;
        return FK_SW_OK;
    }
    if ((c->hash = hmac_oid_hash(oid)) != FK_HASH_NONE) {
        c->alg = HSM_CIPHER_HMAC;
        return FK_SW_OK;
    }
    if (oid_with_last(oid, k_oid_hkdf, sizeof(k_oid_hkdf), &last) &&
        last >= HKDF_OID_RFC_SHA256 && last <= HKDF_OID_SHA512) {
        c->alg = HSM_CIPHER_HKDF;
        c->hash = last == HKDF_OID_RFC_SHA256
                      ? FK_HASH_SHA256
                      : (fk_hash_t)(FK_HASH_SHA256 + (last - HKDF_OID_SHA256));
        return FK_SW_OK;
    }
    if (oid_with_last(oid, k_oid_pkcs5, sizeof(k_oid_pkcs5), &last) &&
        (last == PKCS5_OID_PBKDF2 || last == PKCS5_OID_PBES2)) {
        c->alg = last == PKCS5_OID_PBKDF2 ? HSM_CIPHER_PBKDF2 : HSM_CIPHER_PBES2;
        return FK_SW_OK;
    }
    if (oid_is(oid, k_oid_x963, sizeof(k_oid_x963))) {
        c->alg = HSM_CIPHER_X963;
        return FK_SW_OK;
    }
    /* The SLIP-21 node cipher needs a BIP32 node loaded by 4A, which this
     * applet does not have; anything else is unknown. Both: 6A81. */
    if (oid_is(oid, k_oid_slip21, sizeof(k_oid_slip21))) return FK_SW_FUNC_NOT_SUPPORTED;
    return FK_SW_FUNC_NOT_SUPPORTED;
}

/* The inputs of the extended form for c's algorithm, and its output
 * length. 6A80 for a missing or malformed input. */
static fk_sw_t ext_inputs(const fk_apdu_t *cmd, const ext_tlvs_t *t, hsm_cipher_t *c)
{
    const size_t le = le_request(cmd);
    const size_t hl = fk_hash_len(c->hash);
    fk_sw_t sw;

    switch (c->alg) {
    case HSM_CIPHER_AES:
        if (!t->has_input || !unused(t->has_aad, t->aad)) return FK_SW_WRONG_DATA;
        c->in = t->input;
        if (c->mode == FK_AES_ECB) {
            if (!unused(t->has_iv, t->iv)) return FK_SW_WRONG_DATA;
            c->iv = (fk_bytes_t){NULL, 0};
        } else if ((sw = take_block_iv(t, c)) != FK_SW_OK) {
            return sw;
        }
        if ((c->mode == FK_AES_ECB || c->mode == FK_AES_CBC) && c->in.len % FK_AES_BLOCK != 0)
            return FK_SW_WRONG_DATA;
        if (c->mode == FK_AES_XTS && c->in.len < FK_AES_BLOCK) return FK_SW_WRONG_DATA;
        c->out_len = c->in.len;
        return FK_SW_OK;
    case HSM_CIPHER_AEAD:
    case HSM_CIPHER_CHACHAPOLY:
        if (!t->has_input || !t->has_iv) return FK_SW_WRONG_DATA;
        c->in = t->input;
        c->iv = t->iv;
        c->aad = t->has_aad ? t->aad : (fk_bytes_t){NULL, 0};
        if (c->alg == HSM_CIPHER_CHACHAPOLY ? c->iv.len != CHACHA_NONCE_LEN
            : c->mode == FK_AES_GCM         ? c->iv.len < 1u || c->iv.len > 64u
                                            : c->iv.len < 7u || c->iv.len > 13u)
            return FK_SW_WRONG_DATA;
        if (!c->encrypt && c->in.len < AEAD_TAG_LEN) return FK_SW_WRONG_DATA;
        c->out_len = c->encrypt ? c->in.len + AEAD_TAG_LEN : c->in.len - AEAD_TAG_LEN;
        return FK_SW_OK;
    case HSM_CIPHER_HMAC:
        if (!t->has_input || !unused(t->has_iv, t->iv) || !unused(t->has_aad, t->aad))
            return FK_SW_WRONG_DATA;
        c->in = t->input;
        c->out_len = hl;
        return FK_SW_OK;
    case HSM_CIPHER_HKDF:
        if (!unused(t->has_aad, t->aad)) return FK_SW_WRONG_DATA;
        c->info = t->has_input ? t->input : (fk_bytes_t){NULL, 0};
        c->salt = t->has_iv ? t->iv : (fk_bytes_t){NULL, 0};
        c->out_len = le ? le : hl;
        return c->out_len <= HKDF_MAX_BLOCKS * hl ? FK_SW_OK : FK_SW_WRONG_LENGTH;
    case HSM_CIPHER_PBKDF2:
        if (!t->has_input || !unused(t->has_iv, t->iv) || !unused(t->has_aad, t->aad))
            return FK_SW_WRONG_DATA;
        if ((sw = parse_pbkdf2_params(t->input, c, &c->out_len)) != FK_SW_OK) return sw;
        if (c->out_len == 0) c->out_len = le ? le : KDF_DEFAULT_LEN;
        return c->out_len <= PBKDF2_MAX_OUT ? FK_SW_OK : FK_SW_WRONG_LENGTH;
    case HSM_CIPHER_PBES2:
        if (!t->has_input || !t->has_aad || !unused(t->has_iv, t->iv)) return FK_SW_WRONG_DATA;
        if ((sw = parse_pbes2_params(t->aad, c)) != FK_SW_OK) return sw;
        c->in = t->input;
        if (c->encrypt) {
            c->out_len = (c->in.len / FK_AES_BLOCK + 1u) * FK_AES_BLOCK; /* PKCS#7 padding */
        } else {
            if (c->in.len == 0 || c->in.len % FK_AES_BLOCK != 0) return FK_SW_WRONG_DATA;
            c->out_len = c->in.len; /* at most: the padding comes off */
        }
        return FK_SW_OK;
    case HSM_CIPHER_X963:
        if (!t->has_input || !unused(t->has_iv, t->iv)) return FK_SW_WRONG_DATA;
        c->hash = hmac_oid_hash(t->input);
        if (c->hash == FK_HASH_NONE) return FK_SW_WRONG_DATA;
        c->info = t->has_aad ? t->aad : (fk_bytes_t){NULL, 0};
        c->out_len = le ? le : KDF_DEFAULT_LEN;
        return FK_SW_OK;
    default:
        return FK_SW_FUNC_NOT_SUPPORTED;
    }
}

/* The key fits the algorithm: AES modes, CMAC and ChaCha20-Poly1305 need an
 * AES key of their exact length; HMAC and the KDFs take any secret. */
static bool key_fits(const hsm_cipher_t *c, uint8_t kind, size_t key_len)
{
    switch (c->alg) {
    case HSM_CIPHER_AES:
    case HSM_CIPHER_AEAD:
    case HSM_CIPHER_CHACHAPOLY:
    case HSM_CIPHER_CMAC:
        return kind == FK_KEY_AES && key_len == c->key_len;
    default:
        return kind == FK_KEY_AES || kind == FK_KEY_HMAC;
    }
}

fk_sw_t hsm_cipher_prepare(const fk_apdu_t *cmd, uint8_t key_kind, size_t key_len, size_t room,
                           hsm_cipher_t *c)
{
    fk_sw_t sw = FK_SW_OK;

    memset(c, 0, sizeof(*c));
    const fk_bytes_t data = {cmd->data, cmd->nc};
    switch (cmd->p2) {
    case HSM_ALG_AES_CBC_ENCRYPT:
    case HSM_ALG_AES_CBC_DECRYPT:
        c->alg = HSM_CIPHER_AES;
        c->mode = FK_AES_CBC;
        c->encrypt = cmd->p2 == HSM_ALG_AES_CBC_ENCRYPT;
        c->in = data;
        c->iv = (fk_bytes_t){c->iv_buf, FK_AES_BLOCK}; /* zero */
        c->key_len = key_len; /* any AES key length: 128, 192 or 256 bits */
        if (!key_fits(c, key_kind, key_len) || key_len > AES_KEY_MAX_BYTES) return FK_SW_FUNC_NOT_SUPPORTED;
        if (data.len == 0 || data.len % FK_AES_BLOCK != 0) return FK_SW_WRONG_DATA;
        c->out_len = data.len;
        break;
    case HSM_ALG_AES_CMAC:
        c->alg = HSM_CIPHER_CMAC;
        c->in = data;
        c->key_len = key_len;
        if (!key_fits(c, key_kind, key_len) || key_len > AES_KEY_MAX_BYTES) return FK_SW_FUNC_NOT_SUPPORTED;
        c->out_len = FK_CMAC_LEN;
        break;
    case HSM_ALG_AES_DERIVE:
        /* HKDF-SHA-256 (ikm = the key, no salt, info = data) with as many
         * output bytes as data bytes, as pico does (docs/hsm-cipher.md). */
        c->alg = HSM_CIPHER_HKDF;
        c->hash = FK_HASH_SHA256;
        c->info = data;
        if (!key_fits(c, key_kind, key_len)) return FK_SW_FUNC_NOT_SUPPORTED;
        if (data.len == 0 || data.len > HKDF_MAX_BLOCKS * FK_SHA256_LEN) return FK_SW_WRONG_DATA;
        c->out_len = data.len;
        break;
    case HSM_ALG_EXT_ENCRYPT:
    case HSM_ALG_EXT_DECRYPT: {
        ext_tlvs_t t;
        c->encrypt = cmd->p2 == HSM_ALG_EXT_ENCRYPT;
        if ((sw = ext_parse(cmd->data, cmd->nc, &t)) != FK_SW_OK) return sw;
        if ((sw = ext_algorithm(t.oid, c)) != FK_SW_OK) return sw;
        /* MACs and key derivations are one-way: extended encrypt only. */
        if (!c->encrypt && c->alg != HSM_CIPHER_AES && c->alg != HSM_CIPHER_AEAD &&
            c->alg != HSM_CIPHER_CHACHAPOLY && c->alg != HSM_CIPHER_PBES2)
            return FK_SW_FUNC_NOT_SUPPORTED;
        if (!key_fits(c, key_kind, key_len)) return FK_SW_FUNC_NOT_SUPPORTED;
        if ((sw = ext_inputs(cmd, &t, c)) != FK_SW_OK) return sw;
        break;
    }
    default:
        return FK_SW_INCORRECT_P1P2;
    }
    return c->out_len <= room ? FK_SW_OK : FK_SW_WRONG_LENGTH;
}

/* The PKCS#7 padding of the last block: its last byte n in 1..16 and the n
 * last bytes all n. No branch or index depends on the block's bytes; *pad
 * gets n (meaningful only when it is valid). */
static bool pkcs7_pad_ok(const uint8_t last[FK_AES_BLOCK], size_t *pad)
{
    const uint32_t n = last[FK_AES_BLOCK - 1u];
    uint32_t bad = ((n - 1u) >> 8) | ((FK_AES_BLOCK - n) >> 8); /* n == 0 or n > 16 */
    for (uint32_t i = 0; i < FK_AES_BLOCK; i++) {
        const uint32_t in_pad = (((FK_AES_BLOCK - 1u) - i) - n) >> 31; /* 15 - i < n */
        bad |= (0u - in_pad) & (uint32_t)(last[i] ^ n);
    }
    *pad = n;
    return bad == 0;
}

/* PBES2 (RFC 8018 6.2): the key from PBKDF2 over the secret, then AES-CBC
 * with PKCS#7 padding. A bad padding is FK_CRYPTO_EAUTH. */
static int pbes2_run(const hsm_cipher_t *c, const uint8_t *key, size_t key_len,
                     fk_keepalive_fn keepalive, void *arg, uint8_t *out, size_t *out_len)
{
    uint8_t dk[AES_KEY_MAX_BYTES];
    size_t pad = 0;
    int rc = fk_pbkdf2(c->hash, key, key_len, c->salt.p, c->salt.len, c->iterations, keepalive, arg,
                       dk, c->key_len);
    if (rc == FK_CRYPTO_OK && c->encrypt) {
        pad = c->out_len - c->in.len;
        if (c->in.len) memcpy(out, c->in.p, c->in.len);
        memset(out + c->in.len, (int)pad, pad);
        rc = fk_aes_crypt(FK_AES_CBC, true, dk, c->key_len, c->iv.p, c->iv.len, out, c->out_len, out);
        *out_len = c->out_len;
    } else if (rc == FK_CRYPTO_OK) {
        rc = fk_aes_crypt(FK_AES_CBC, false, dk, c->key_len, c->iv.p, c->iv.len, c->in.p, c->in.len,
                          out);
        if (rc == FK_CRYPTO_OK && !pkcs7_pad_ok(out + c->in.len - FK_AES_BLOCK, &pad))
            rc = FK_CRYPTO_EAUTH;
        *out_len = c->in.len - pad;
    }
    fk_wipe(dk, sizeof(dk));
    return rc;
}

fk_sw_t hsm_cipher_run(const hsm_cipher_t *c, const uint8_t *key, size_t key_len,
                       fk_keepalive_fn keepalive, void *arg, uint8_t *out, size_t *out_len)
{
    int rc;

    *out_len = c->out_len;
    switch (c->alg) {
    case HSM_CIPHER_AES:
        rc = fk_aes_crypt(c->mode, c->encrypt, key, key_len, c->iv.p, c->iv.len, c->in.p, c->in.len, out);
        break;
    case HSM_CIPHER_AEAD:
        rc = c->encrypt ? fk_aes_aead_seal(c->mode, key, key_len, c->iv.p, c->iv.len, c->aad.p,
                                           c->aad.len, c->in.p, c->in.len, out, out + c->in.len,
                                           AEAD_TAG_LEN)
                        : fk_aes_aead_open(c->mode, key, key_len, c->iv.p, c->iv.len, c->aad.p,
                                           c->aad.len, c->in.p, c->out_len, c->in.p + c->out_len,
                                           AEAD_TAG_LEN, out);
        break;
    case HSM_CIPHER_CHACHAPOLY:
        rc = c->encrypt ? fk_chachapoly_seal(key, c->iv.p, c->aad.p, c->aad.len, c->in.p, c->in.len,
                                             out, out + c->in.len)
                        : fk_chachapoly_open(key, c->iv.p, c->aad.p, c->aad.len, c->in.p, c->out_len,
                                             c->in.p + c->out_len, out);
        break;
    case HSM_CIPHER_CMAC:
        rc = fk_aes_cmac(key, key_len, c->in.p, c->in.len, out);
        break;
    case HSM_CIPHER_HMAC:
        rc = fk_hmac(c->hash, key, key_len, c->in.p, c->in.len, out);
        break;
    case HSM_CIPHER_HKDF:
        rc = fk_hkdf(c->hash, c->salt.p, c->salt.len, key, key_len, c->info.p, c->info.len, out,
                     c->out_len);
        break;
    case HSM_CIPHER_PBKDF2:
        rc = fk_pbkdf2(c->hash, key, key_len, c->salt.p, c->salt.len, c->iterations, keepalive, arg,
                       out, c->out_len);
        break;
    case HSM_CIPHER_PBES2:
        rc = pbes2_run(c, key, key_len, keepalive, arg, out, out_len);
        break;
    case HSM_CIPHER_X963:
        rc = fk_x963_kdf(c->hash, key, key_len, c->info.p, c->info.len, out, c->out_len);
        break;
    default:
        rc = FK_CRYPTO_EINVAL;
        break;
    }
    if (rc == FK_CRYPTO_OK) return FK_SW_OK;
    fk_wipe(out, c->out_len); /* nothing of a failed operation leaves */
    *out_len = 0;
    /* One answer for every tag or padding that does not verify. */
    return rc == FK_CRYPTO_EAUTH ? FK_SW_WRONG_DATA : FK_SW_EXEC_ERROR;
}

/* ---- The key: hsm_key_open's checks, then a secret key (6A81 for a key
 * pair) ------------------------------------------------------------------ */
static fk_sw_t secret_key_open(const fk_applet_ctx_t *ctx, uint8_t id, uint8_t alg, fk_key_t *key)
{
    fk_sw_t sw = hsm_key_open(ctx, id, alg, key);
    if (sw != FK_SW_OK) return sw;
    if (key->pol.kind != FK_KEY_AES && key->pol.kind != FK_KEY_HMAC) {
        fk_key_close(key);
        return FK_SW_FUNC_NOT_SUPPORTED;
    }
    return FK_SW_OK;
}

static bool cipher_p2_known(uint8_t p2)
{
    return p2 == HSM_ALG_AES_CBC_ENCRYPT || p2 == HSM_ALG_AES_CBC_DECRYPT || p2 == HSM_ALG_AES_CMAC ||
           p2 == HSM_ALG_AES_DERIVE || p2 == HSM_ALG_EXT_ENCRYPT || p2 == HSM_ALG_EXT_DECRYPT;
}

/* ---- CIPHER (78) -------------------------------------------------------- */

static fk_sw_t cmd_cipher(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (!cipher_p2_known(cmd->p2)) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc == 0 && cmd->p2 != HSM_ALG_AES_CMAC) return FK_SW_WRONG_LENGTH;

    fk_key_t key;
    hsm_cipher_t c;
    fk_sw_t sw = secret_key_open(ctx, cmd->p1, cmd->p2, &key);
    if (sw != FK_SW_OK) return sw;
    sw = hsm_cipher_prepare(cmd, key.pol.kind, key.len, fk_rbuf_room(resp), &c);
    if (sw == FK_SW_OK) sw = hsm_key_use(ctx, &key);
    if (sw == FK_SW_OK) {
        size_t n = 0;
        sw = hsm_cipher_run(&c, key.material, key.len, ctx->keepalive, ctx->keepalive_arg,
                            resp->p + resp->len, &n);
        if (sw == FK_SW_OK) resp->len += n;
    }
    fk_key_close(&key);
    fk_wipe(&c, sizeof(c));
    return sw;
}

/* ---- GENERATE SYMMETRIC KEY (48) ---------------------------------------- */

/* The metadata of 48: 90 counter, 91 algorithms, 92 domain, 93 (ignored),
 * each at most once. */
static fk_sw_t parse_metadata(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_key_policy_t *pol)
{
    const uint8_t *p = NULL, *end = NULL;
    bool seen[4] = {false, false, false, false};
    fk_tlv_t t;
    int rc;

    if (cmd->nc > 0) p = cmd->data, end = cmd->data + cmd->nc;
    while ((rc = fk_tlv_next(&p, end, &t)) == FK_TLV_OK) {
        if (t.tag < HSM_TAG_USE_COUNTER || t.tag > TAG_WRAP_KEY ||
            seen[t.tag - HSM_TAG_USE_COUNTER])
            return FK_SW_WRONG_DATA;
        seen[t.tag - HSM_TAG_USE_COUNTER] = true;
        if (t.tag == TAG_WRAP_KEY) {
            if (t.len != 1) return FK_SW_WRONG_DATA;
            continue;
        }
        fk_sw_t sw = hsm_key_metadata(&t, pol);
        if (sw != FK_SW_OK) return sw;
    }
    if (rc != FK_TLV_END) return FK_SW_WRONG_DATA;
    return hsm_key_policy_finish(ctx, pol);
}

/* Stage the new key in the open batch: the key object under the session's
 * MK, a default description C4<id> when there is none, and no request
 * CE<id> (one left by an earlier key pair under this id would describe a
 * public key the secret key does not have). */
static fk_sw_t generate_sym_stage(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                                  const uint8_t *key, size_t len)
{
    uint32_t size;
    fk_sw_t sw = hsm_key_store(ctx, id, pol, key, len);
    if (sw == FK_SW_OK &&
        fk_space_size(&ctx->space, HSM_FID(HSM_PREFIX_PRKD, id), &size) != FK_STORE_OK)
        sw = hsm_default_prkd(ctx, id, pol);
    if (sw == FK_SW_OK &&
        fk_space_size(&ctx->space, HSM_FID(HSM_PREFIX_EECERT, id), &size) == FK_STORE_OK)
        sw = hsm_store_sw(fk_space_delete(&ctx->space, HSM_FID(HSM_PREFIX_EECERT, id)));
    return sw;
}

/*
 * GENERATE SYMMETRIC KEY (48): a random AES key from the DRBG, stored with
 * its policy as key object CC<id>, in one batch with its default
 * description: over an existing id a power cut or a full store leaves the
 * old key exactly (material, list, count, files) or the new one complete.
 */
static fk_sw_t cmd_generate_sym(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    static uint8_t s_key[KEY_BITS_MAX / 8u];
    const uint8_t id = cmd->p1;
    fk_key_policy_t pol = {.kind = FK_KEY_AES, .domain = FK_KEY_NO_DOMAIN};
    (void)resp;

    switch (cmd->p2) {
    case GEN_AES_128: pol.size = 128; break;
    case GEN_AES_192: pol.size = 192; break;
    case GEN_AES_256: pol.size = 256; break;
    case GEN_AES_512: pol.size = 512; break;
    default: return FK_SW_INCORRECT_P1P2;
    }
    if (id == HSM_DEVICE_KEY_ID) return FK_SW_INCORRECT_P1P2;
    if (!hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;
    fk_sw_t sw = parse_metadata(ctx, cmd, &pol);
    if (sw != FK_SW_OK) return sw;

    const size_t len = pol.size / 8u;
    if (fk_rng_bytes(s_key, len) != FK_CRYPTO_OK) return FK_SW_EXEC_ERROR;
    sw = hsm_store_sw(fk_space_batch_begin(&ctx->space));
    if (sw == FK_SW_OK) sw = hsm_batch_end(ctx, generate_sym_stage(ctx, id, &pol, s_key, len));
    fk_wipe(s_key, sizeof(s_key));
    return sw;
}

const fk_command_t hsm_cipher_commands[] = {
    {INS_GENERATE_SYM, cmd_generate_sym},
    {INS_CIPHER, cmd_cipher},
};
const size_t hsm_cipher_commands_len = FK_ARRAY_SIZE(hsm_cipher_commands);
