/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_keys.c - the device identity (the device key CC00, its certificate
 * chain 2F02 and its request CE00), GENERATE ASYMMETRIC KEY PAIR (RSA, EC,
 * X25519/X448, Ed25519/Ed448), COMPUTE SIGNATURE, DECIPHER and DERIVE EC KEY
 * (docs/hsm.md) over the key-object service (core/services/keyobj.h); the
 * request CE<id> and default description C4<id> of every new key.
 *
 * Every key is a key object CC<id>: the key (a blob of crypto/pk.h; for
 * EdDSA seed || public key) and everything that limits it (algorithm list,
 * use counter, domain) in one sealed record. User keys are also encrypted
 * under the master key that only a verified PIN unlocks;
 * the device key CC00 is not (it must work before any PIN exists and survive
 * INITIALIZE).
 *
 * A private-key command checks everything first (the key exists, the PIN,
 * the algorithm in the key's list and of the key's kind, the input, uses
 * left), then asks for presence when the device wants it, then spends the
 * use on flash, then uses the key; a refused command spends nothing and
 * writes nothing. The key is open for that one command and wiped after.
 */
#include <string.h>

#include "crypto/ec_tweak.h"
#include "crypto/ed.h"
#include "crypto/pk.h"
#include "cvc.h"
#include "hal.h"
#include "hsm.h"
#include "hsm_internal.h"
#include "services/keyobj.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define INS_GENERATE_ASYM 0x46u
#define INS_SIGN 0x68u
#define INS_DECIPHER 0x62u
#define INS_DERIVE_EC 0x76u

/* Algorithm identifiers (P2 of SIGN and DECIPHER; entries of tag 91). */
#define ALG_RSA_RAW 0x20u
#define ALG_RSA_DECRYPT_RAW 0x21u
#define ALG_RSA_DECRYPT_PKCS1 0x22u
#define ALG_RSA_DECRYPT_OAEP 0x23u
#define ALG_RSA_PKCS1_DI 0x30u     /* DigestInfo given */
#define ALG_RSA_PKCS1_SHA1 0x31u   /* .. 0x35: message, hashed on the card */
#define ALG_RSA_PKCS1_SHA512 0x35u
#define ALG_RSA_PSS 0x40u          /* hash or DigestInfo given */
#define ALG_RSA_PSS_SHA1 0x41u     /* .. 0x45 */
#define ALG_RSA_PSS_SHA512 0x45u
#define ALG_ECDSA 0x70u            /* hash given */
#define ALG_ECDSA_SHA1 0x71u       /* .. 0x75 */
#define ALG_ECDSA_SHA512 0x75u
#define ALG_ECDH 0x80u
#define ALG_EC_DERIVE 0x98u        /* DERIVE EC KEY */

/* Template and metadata tags of GENERATE ASYMMETRIC KEY PAIR. */
#define TAG_OUTER_CAR 0x45u
#define TAG_INTEGER 0x02u

#define RSA_DEFAULT_E 65537u
#define RSA_BITS_STEP 512u
#define RSA_PKCS1_OVERHEAD 11u /* 00 01 FF..FF (8 at least) 00 */

#define DEVICE_COUNTRY "FK"
#define DEVICE_SEQ 1u
#define SERIAL_LEN 8u
#define MNEMONIC_DIGITS 9u

/* Private key of the development device-issuer CA (DICA). It is public on
 * purpose: it lets every virtual or self-built device carry a certificate
 * chain that OpenSC decodes, and proves nothing about where a device came
 * from. A production issuer keeps its key offline and writes the chain
 * through the rescue applet instead (docs/hsm.md, "Device identity"). */
static const uint8_t k_dica_scalar[32] = {
    0x65, 0x2f, 0x8d, 0x88, 0x33, 0x63, 0x5a, 0xf1, 0xe9, 0x92, 0x2d, 0x89, 0x18, 0x5f, 0x37, 0xb2,
    0x84, 0xb1, 0x58, 0x6b, 0x36, 0x60, 0xe1, 0x33, 0xe4, 0xe0, 0x1f, 0xbf, 0x0c, 0x06, 0x42, 0x7c};
static const char k_dica_chr[] = "FKDICA00001";

/* id-TA-ECDSA-SHA-256 and the id-AT role with no rights, as self-issued
 * SmartCard-HSM device certificates carry them. */
static const uint8_t k_oid_ecdsa_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_role_at[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x02};
static const uint8_t k_rights_none[] = {0x00};
static const uint8_t k_cert_effective[FK_CVC_DATE_LEN] = {2, 6, 0, 1, 0, 1}; /* 2026-01-01 */
static const uint8_t k_cert_expiry[FK_CVC_DATE_LEN] = {4, 9, 1, 2, 3, 1};    /* 2049-12-31 */

/* A key being generated (wiped after). Static rather than on the stack,
 * like the issuer-key and certificate buffers below, to keep every frame
 * small. */
static uint8_t s_blob[FK_PK_BLOB_MAX];
#define EC_BLOB_MAX (FK_PK_BLOB_HEADER + 4u * FK_EC_POINT_MAX)
static uint8_t s_dica_blob[EC_BLOB_MAX]; /* the issuer key while it signs */
static uint8_t s_chain[1024];            /* 2F02 or CE00 being built (public) */
static uint8_t s_cert[1024];             /* the first certificate of 2F02 (public) */

#define DEVICE_KEY_FID HSM_FID(HSM_PREFIX_KEY, HSM_DEVICE_KEY_ID)
#define DEVICE_REQUEST_FID HSM_FID(HSM_PREFIX_EECERT, HSM_DEVICE_KEY_ID)

/* The device key's policy: EC P-256, no list, no counter, no domain. */
static const fk_key_policy_t k_device_policy = {
    .kind = FK_KEY_EC, .size = FK_CURVE_SECP256R1, .domain = FK_KEY_NO_DOMAIN};

/* ---- Device identity --------------------------------------------------- */

/* The CHR the device makes for itself: country, 9 hex digits of the chip
 * serial, sequence. */
static size_t serial_chr(uint8_t out[FK_CVC_CAR_MAX])
{
    static const char hex[] = "0123456789ABCDEF";
    uint8_t serial[SERIAL_LEN];
    char mnemonic[MNEMONIC_DIGITS + 1];
    fk_hal_serial(serial);
    for (size_t i = 0; i < MNEMONIC_DIGITS; i++) {
        size_t nib = 2 * SERIAL_LEN - MNEMONIC_DIGITS + i; /* the low 36 bits */
        uint8_t b = serial[nib / 2];
        mnemonic[i] = hex[(nib % 2) ? (b & 0x0F) : (b >> 4)];
    }
    mnemonic[MNEMONIC_DIGITS] = '\0';
    return fk_cvc_device_chr(out, DEVICE_COUNTRY, mnemonic, DEVICE_SEQ);
}

/* The device's CHR, the outer CAR of every request: the holder of the
 * first certificate in 2F02 (the one an issuer gave the device once an
 * issued chain is there), else serial_chr's. */
static size_t device_chr(const fk_applet_ctx_t *ctx, uint8_t out[FK_CVC_CAR_MAX])
{
    uint32_t size;
    fk_cvc_t c;
    if (fk_space_size(&ctx->space, HSM_FID_DEVAUT, &size) == FK_STORE_OK && size > 0) {
        const size_t n = FK_MIN((size_t)size, sizeof(s_cert));
        if (fk_space_read(&ctx->space, HSM_FID_DEVAUT, 0, s_cert, n) == FK_STORE_OK &&
            fk_cvc_parse(s_cert, n, &c) == FK_CVC_OK && fk_cvc_device_chr_ok(c.chr.p, c.chr.len)) {
            memcpy(out, c.chr.p, c.chr.len);
            return c.chr.len;
        }
    }
    return serial_chr(out);
}

/* Open the device key and parse it into *pk (close *key after use). */
static fk_sw_t device_key_open(const fk_applet_ctx_t *ctx, fk_key_t *key, fk_pk_key_t *pk)
{
    const int rc = fk_key_open(ctx, DEVICE_KEY_FID, NULL, key);
    if (rc != FK_KEY_OK) return rc == FK_KEY_ENOENT ? FK_SW_FILE_NOT_FOUND : FK_SW_MEMORY_FAILURE;
    if (fk_pk_parse(key->material, key->len, pk) != FK_CRYPTO_OK) {
        fk_key_close(key);
        return FK_SW_MEMORY_FAILURE;
    }
    return FK_SW_OK;
}

/* Write 2F02: the device certificate issued by the development DICA, then
 * the DICA's self-signed certificate. One store write (staged in an open
 * batch). */
static fk_sw_t write_devaut(const fk_applet_ctx_t *ctx)
{
    uint8_t chr[FK_CVC_CAR_MAX];
    size_t chr_len = serial_chr(chr);
    size_t blob_len;
    fk_key_t key;
    fk_pk_key_t device, dica;
    fk_sw_t sw;

    if (chr_len == 0) return FK_SW_UNKNOWN;
    sw = device_key_open(ctx, &key, &device);
    if (sw != FK_SW_OK) return sw;
    sw = FK_SW_MEMORY_FAILURE;
    if (fk_pk_ec_import(FK_CURVE_SECP256R1, k_dica_scalar, sizeof(k_dica_scalar), s_dica_blob,
                        sizeof(s_dica_blob), &blob_len) != FK_CRYPTO_OK ||
        fk_pk_parse(s_dica_blob, blob_len, &dica) != FK_CRYPTO_OK)
        goto out;

    fk_pk_public_t dev_pub, dica_pub;
    fk_pk_public_of(&device, &dev_pub);
    fk_pk_public_of(&dica, &dica_pub);
    const fk_cvc_key_signer_t ks = {&dica, {FK_CVC_ECDSA, FK_HASH_SHA256}};
    const fk_cvc_signer_t signer = fk_cvc_signer_for_key(&ks);
    fk_cvc_fields_t f = {
        .car = {(const uint8_t *)k_dica_chr, sizeof(k_dica_chr) - 1},
        .chr = {chr, chr_len},
        .key_oid = {k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256)},
        .domain_params = true,
        .chat_oid = {k_oid_role_at, sizeof(k_oid_role_at)},
        .chat_rights = {k_rights_none, sizeof(k_rights_none)},
        .effective = k_cert_effective,
        .expiry = k_cert_expiry,
    };
    fk_rbuf_t r = {s_chain, 0, sizeof(s_chain)};
    if (fk_cvc_build_cert(&r, &f, &dev_pub, &signer) != 0) goto out;
    f.chr = f.car;
    if (fk_cvc_build_cert(&r, &f, &dica_pub, &signer) != 0) goto out;
    sw = hsm_file_put(ctx, HSM_FID_DEVAUT, s_chain, r.len);
out:
    fk_wipe(s_dica_blob, sizeof(s_dica_blob));
    fk_wipe(&dica, sizeof(dica));
    fk_wipe(&device, sizeof(device));
    fk_key_close(&key);
    return sw;
}

/* Write CE00, the device key's authenticated request: the device key signs
 * its own body and the request (what a host sends to an issuer). One store
 * write (staged in an open batch). */
static fk_sw_t write_device_request(const fk_applet_ctx_t *ctx)
{
    fk_rbuf_t r = {s_chain, 0, sizeof(s_chain)};
    fk_sw_t sw = hsm_key_request(ctx, HSM_DEVICE_KEY_ID, NULL, NULL, 0, &r);
    if (sw == FK_SW_OK) sw = hsm_file_put(ctx, DEVICE_REQUEST_FID, s_chain, r.len);
    return sw;
}

/*
 * The device key CC00, its chain 2F02 and its request CE00 (docs/hsm.md,
 * "Device identity"). The key is one write; a new key makes its chain and
 * request obsolete, which are then written again together in one batch. A
 * cut between the key and the batch leaves a key without them: the next
 * start makes them. A chain or request that exists is never rewritten
 * (2F02 may hold a chain an issuer made).
 */
fk_sw_t hsm_device_ensure(const fk_applet_ctx_t *ctx)
{
    uint32_t size;
    fk_sw_t sw;

    bool have_key = fk_space_size(&ctx->space, DEVICE_KEY_FID, &size) == FK_STORE_OK;
    bool have_chain = fk_space_size(&ctx->space, HSM_FID_DEVAUT, &size) == FK_STORE_OK && size > 0;
    bool have_request =
        fk_space_size(&ctx->space, DEVICE_REQUEST_FID, &size) == FK_STORE_OK && size > 0;
    if (have_key && have_chain && have_request) return FK_SW_OK;

    if (!have_key) {
        size_t len;
        int rc = fk_pk_ec_generate(FK_CURVE_SECP256R1, s_blob, sizeof(s_blob), &len);
        if (rc == FK_CRYPTO_OK) rc = fk_key_put(ctx, DEVICE_KEY_FID, &k_device_policy, s_blob, len, NULL);
        fk_wipe(s_blob, sizeof(s_blob));
        if (rc != FK_KEY_OK) return FK_SW_MEMORY_FAILURE;
        have_chain = have_request = false; /* they named another key */
    }
    sw = hsm_store_sw(fk_space_batch_begin(&ctx->space));
    if (sw != FK_SW_OK) return sw;
    if (!have_chain) sw = write_devaut(ctx);
    if (sw == FK_SW_OK && !have_request) sw = write_device_request(ctx);
    return hsm_batch_end(ctx, sw);
}

#define DEVAUT_CERTS_MAX 8u /* device, issuer, root, and room for longer chains */

fk_sw_t hsm_device_chain_check(const fk_applet_ctx_t *ctx, uint32_t offset, const uint8_t *data,
                               size_t len)
{
    fk_cvc_t first = {0}, c;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    fk_key_t key;
    fk_pk_key_t device;

    if (offset != 0 || data == NULL || len == 0 || len > HSM_DEVAUT_MAX) return FK_SW_WRONG_DATA;
    /* Certificates back to back, filling the data exactly. */
    size_t at = 0, n = 0;
    while (at < len) {
        if (++n > DEVAUT_CERTS_MAX || fk_cvc_parse(data + at, len - at, &c) != FK_CVC_OK)
            return FK_SW_WRONG_DATA;
        if (n == 1) first = c;
        at += c.cert.len;
    }
    /* The first one names the device and holds its key (a certificate
     * without domain parameters inherits the device key's curve). */
    if (!fk_cvc_device_chr_ok(first.chr.p, first.chr.len) ||
        fk_cvc_public_key(&first, FK_CURVE_SECP256R1, &pub, &alg) != FK_CVC_OK ||
        pub.type != FK_PK_EC || pub.curve != FK_CURVE_SECP256R1)
        return FK_SW_WRONG_DATA;
    fk_sw_t sw = device_key_open(ctx, &key, &device);
    if (sw != FK_SW_OK) return sw;
    const bool same = device.pub.len == pub.point.len &&
                      memcmp(device.pub.p, pub.point.p, pub.point.len) == 0;
    fk_wipe(&device, sizeof(device));
    fk_key_close(&key);
    return same ? FK_SW_OK : FK_SW_WRONG_DATA;
}

/* ---- Common checks before a private-key operation -------------------------
 * key_open checks what needs no input: the key must exist (6A82), the user
 * PIN be verified (6982), the key open (6400 when it does not), the algorithm
 * be in the key's list (6985) and of the key's kind (6A81). The command then
 * checks its input against the key, and key_use does the rest: uses left
 * (6A84), presence when the device asks for it (6600, 6985), one use spent
 * on flash. Until key_use nothing is written and nobody is asked. */

/* True when the algorithm belongs to the key's family. */
static bool alg_fits_key(uint8_t alg, const fk_pk_key_t *key);

/* An EdDSA key object seen as a key: type FK_PK_EDWARDS, its twin's curve,
 * d the seed and pub the public key (spans into the open key's material). */
static fk_sw_t edwards_view(const fk_key_t *key, fk_pk_key_t *pk)
{
    const fk_curve_t twin = (fk_curve_t)key->pol.size;
    const size_t kl = fk_ed_key_len(twin);
    memset(pk, 0, sizeof(*pk));
    if (kl == 0 || key->len != 2u * kl) return FK_SW_EXEC_ERROR;
    pk->type = FK_PK_EDWARDS;
    pk->curve = twin;
    pk->d = (fk_bytes_t){key->material, kl};
    pk->pub = (fk_bytes_t){key->material + kl, kl};
    return FK_SW_OK;
}

fk_sw_t hsm_key_open(const fk_applet_ctx_t *ctx, uint8_t id, uint8_t alg, fk_key_t *key)
{
    uint32_t size;

    if (id == HSM_DEVICE_KEY_ID) return FK_SW_SECURITY_NOT_SATISFIED;
    if (fk_space_size(&ctx->space, HSM_FID(HSM_PREFIX_KEY, id), &size) != FK_STORE_OK)
        return FK_SW_FILE_NOT_FOUND;
    if (!hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;
    const int rc = fk_key_open(ctx, HSM_FID(HSM_PREFIX_KEY, id), hsm_state(ctx)->mk, key);
    if (rc == FK_KEY_ENOENT) return FK_SW_FILE_NOT_FOUND;
    if (rc != FK_KEY_OK) return FK_SW_EXEC_ERROR;
    if (!fk_key_allows(key, alg)) {
        fk_key_close(key);
        return FK_SW_CONDITIONS_NOT_SATISFIED;
    }
    return FK_SW_OK;
}

/* hsm_key_open, then the key seen as a private key of alg's family (6A81
 * for another kind, AES and HMAC keys included). */
static fk_sw_t key_open(const fk_applet_ctx_t *ctx, uint8_t id, uint8_t alg, fk_key_t *key,
                        fk_pk_key_t *pk)
{
    fk_sw_t sw = hsm_key_open(ctx, id, alg, key);
    if (sw != FK_SW_OK) return sw;
    const uint8_t kind = key->pol.kind;
    if (kind == FK_KEY_EDWARDS)
        sw = edwards_view(key, pk);
    else if (kind != FK_KEY_RSA && kind != FK_KEY_EC && kind != FK_KEY_MONT)
        sw = FK_SW_FUNC_NOT_SUPPORTED; /* no private key: AES, HMAC */
    else if (fk_pk_parse(key->material, key->len, pk) != FK_CRYPTO_OK)
        sw = FK_SW_EXEC_ERROR;
    if (sw == FK_SW_OK && !alg_fits_key(alg, pk)) sw = FK_SW_FUNC_NOT_SUPPORTED;
    if (sw != FK_SW_OK) {
        fk_wipe(pk, sizeof(*pk));
        fk_key_close(key);
    }
    return sw;
}

fk_sw_t hsm_key_store(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                      const uint8_t *material, size_t len)
{
    const int rc = fk_key_put(ctx, HSM_FID(HSM_PREFIX_KEY, id), pol, material, len,
                              hsm_state(ctx)->mk);
    if (rc == FK_KEY_OK) return FK_SW_OK;
    if (rc == FK_KEY_ENOSPC) return FK_SW_NOT_ENOUGH_MEMORY;
    return rc == FK_KEY_ECRYPTO ? FK_SW_EXEC_ERROR : FK_SW_MEMORY_FAILURE;
}

fk_sw_t hsm_key_use(const fk_applet_ctx_t *ctx, fk_key_t *key)
{
    if (key->pol.has_counter && key->uses_left == 0)
        return FK_SW_NOT_ENOUGH_MEMORY; /* used up (as clients expect: 6A84) */
    if (hsm_options(ctx) & HSM_OPT_PRESS_TO_CONFIRM) {
        fk_sw_t sw = fk_applet_presence(ctx);
        if (sw != FK_SW_OK) return sw;
    }
    return fk_key_spend(ctx, key) == FK_KEY_OK ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
}

static void key_end(fk_key_t *key, fk_pk_key_t *pk)
{
    fk_wipe(pk, sizeof(*pk));
    fk_key_close(key);
}

/* An RSA input block: exactly the modulus length and, as a number, below
 * the modulus (public values: a plain comparison). */
static bool rsa_block_ok(const fk_pk_key_t *key, const uint8_t *in, size_t len)
{
    return len == key->n.len && memcmp(in, key->n.p, len) < 0;
}

/* Map a crypto error of a private-key operation to a status word. */
static fk_sw_t crypto_sw(int rc)
{
    switch (rc) {
    case FK_CRYPTO_OK: return FK_SW_OK;
    case FK_CRYPTO_EINVAL: return FK_SW_WRONG_DATA;
    case FK_CRYPTO_EAUTH: return FK_SW_WRONG_DATA;
    default: return FK_SW_EXEC_ERROR;
    }
}

/* Reserve room for an output of at most max bytes, run op, trim. */
typedef int (*key_op_fn)(const fk_pk_key_t *key, const fk_apdu_t *cmd, uint8_t *out, size_t cap,
                         size_t *out_len);

static fk_sw_t run_op(const fk_pk_key_t *key, const fk_apdu_t *cmd, fk_rbuf_t *resp, key_op_fn op)
{
    size_t room = fk_rbuf_room(resp);
    uint8_t *out = resp->p + resp->len;
    size_t n = 0;
    int rc = op(key, cmd, out, room, &n);
    if (rc != FK_CRYPTO_OK) return crypto_sw(rc);
    resp->len += n;
    return FK_SW_OK;
}

/* ---- COMPUTE SIGNATURE (68) ------------------------------------------------ */

static fk_hash_t hash_of_alg(uint8_t alg, uint8_t first)
{
    return (fk_hash_t)(FK_HASH_SHA1 + (alg - first));
}

static int op_sign(const fk_pk_key_t *key, const fk_apdu_t *cmd, uint8_t *out, size_t cap,
                   size_t *out_len)
{
    const uint8_t alg = cmd->p2;
    uint8_t digest[FK_HASH_MAX_LEN];
    const uint8_t *in = cmd->data;
    size_t in_len = cmd->nc;
    fk_hash_t h = FK_HASH_NONE;
    int rc = FK_CRYPTO_EINVAL;

    /* Hash on the card when the algorithm says so. */
    if ((alg >= ALG_RSA_PKCS1_SHA1 && alg <= ALG_RSA_PKCS1_SHA512) ||
        (alg >= ALG_RSA_PSS_SHA1 && alg <= ALG_RSA_PSS_SHA512) ||
        (alg >= ALG_ECDSA_SHA1 && alg <= ALG_ECDSA_SHA512)) {
        uint8_t first = alg >= ALG_ECDSA ? ALG_ECDSA_SHA1
                        : alg >= ALG_RSA_PSS ? ALG_RSA_PSS_SHA1 : ALG_RSA_PKCS1_SHA1;
        h = hash_of_alg(alg, first);
        rc = fk_hash(h, in, in_len, digest);
        if (rc != FK_CRYPTO_OK) return rc;
        in = digest;
        in_len = fk_hash_len(h);
    }

    /* EdDSA keys: pure EdDSA over the input (70: the data as sent; 71-75:
     * its digest, as Pico HSM signs). */
    if (key->type == FK_PK_EDWARDS) {
        const size_t sl = fk_ed_sig_len(key->curve);
        rc = cap < sl ? FK_CRYPTO_EINVAL
                      : fk_ed_sign(key->curve, key->d.p, key->pub.p, in, in_len, out);
        if (rc == FK_CRYPTO_OK) *out_len = sl;
        fk_wipe(digest, sizeof(digest));
        return rc;
    }

    /* The caller has checked that the algorithm belongs to the key's family. */
    switch (alg) {
    case ALG_RSA_RAW:
        rc = fk_pk_rsa_private(key, in, in_len, out, cap, out_len);
        break;
    case ALG_RSA_PKCS1_DI:
        rc = fk_pk_rsa_sign_pkcs1(key, FK_HASH_NONE, in, in_len, out, cap, out_len);
        break;
    case ALG_RSA_PSS: {
        /* A bare hash, or a DigestInfo wrapping it (OpenSC 0.23). */
        const uint8_t *d = in;
        fk_hash_t ph = fk_hash_from_len(in_len);
        if (fk_digestinfo_parse(in, in_len, &ph, &d) == FK_CRYPTO_OK) in_len = fk_hash_len(ph);
        rc = ph != FK_HASH_NONE ? fk_pk_rsa_sign_pss(key, ph, d, in_len, out, cap, out_len)
                                : FK_CRYPTO_EINVAL;
        break;
    }
    case ALG_ECDSA:
        rc = fk_pk_ecdsa_sign(key, in, in_len, FK_SIG_DER, out, cap, out_len);
        break;
    default: /* hashed on the card above */
        if (alg <= ALG_RSA_PKCS1_SHA512)
            rc = fk_pk_rsa_sign_pkcs1(key, h, in, in_len, out, cap, out_len);
        else if (alg <= ALG_RSA_PSS_SHA512)
            rc = fk_pk_rsa_sign_pss(key, h, in, in_len, out, cap, out_len);
        else
            rc = fk_pk_ecdsa_sign(key, in, in_len, FK_SIG_DER, out, cap, out_len);
        break;
    }
    fk_wipe(digest, sizeof(digest));
    return rc;
}

static bool sign_alg_known(uint8_t alg)
{
    return alg == ALG_RSA_RAW || alg == ALG_RSA_PKCS1_DI || alg == ALG_RSA_PSS || alg == ALG_ECDSA ||
           (alg >= ALG_RSA_PKCS1_SHA1 && alg <= ALG_RSA_PKCS1_SHA512) ||
           (alg >= ALG_RSA_PSS_SHA1 && alg <= ALG_RSA_PSS_SHA512) ||
           (alg >= ALG_ECDSA_SHA1 && alg <= ALG_ECDSA_SHA512);
}

/* True when the algorithm belongs to the key's family. */
static bool alg_fits_key(uint8_t alg, const fk_pk_key_t *key)
{
    bool ec_alg = alg >= ALG_ECDSA && alg <= ALG_ECDSA_SHA512;
    if (key->type == FK_PK_EDWARDS) return ec_alg; /* EdDSA under the ECDSA ids, as pico */
    if (alg == ALG_ECDH) return key->type == FK_PK_EC || key->type == FK_PK_MONT;
    if (alg == ALG_EC_DERIVE) return key->type == FK_PK_EC;
    return ec_alg ? key->type == FK_PK_EC : key->type == FK_PK_RSA;
}

/* SIGN's input against the key (before any effect): 6A80 when it cannot
 * work. */
static fk_sw_t sign_input_check(const fk_pk_key_t *key, const fk_apdu_t *cmd)
{
    switch (cmd->p2) {
    case ALG_RSA_RAW:
        return rsa_block_ok(key, cmd->data, cmd->nc) ? FK_SW_OK : FK_SW_WRONG_DATA;
    case ALG_RSA_PKCS1_DI:
        return cmd->nc + RSA_PKCS1_OVERHEAD <= key->n.len ? FK_SW_OK : FK_SW_WRONG_DATA;
    case ALG_RSA_PSS: {
        /* A bare hash, or a DigestInfo wrapping one. */
        fk_hash_t h = fk_hash_from_len(cmd->nc);
        const uint8_t *d;
        if (fk_digestinfo_parse(cmd->data, cmd->nc, &h, &d) == FK_CRYPTO_OK) return FK_SW_OK;
        return h != FK_HASH_NONE ? FK_SW_OK : FK_SW_WRONG_DATA;
    }
    default: /* a message hashed on the card, or an ECDSA hash of any length */
        return FK_SW_OK;
    }
}

/* A private-key command: the key's checks, the input's, then the use, then
 * the operation. */
typedef fk_sw_t (*input_check_fn)(const fk_pk_key_t *key, const fk_apdu_t *cmd);

static fk_sw_t key_command(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp,
                           input_check_fn check, key_op_fn op)
{
    fk_key_t key;
    fk_pk_key_t pk;
    fk_sw_t sw = key_open(ctx, cmd->p1, cmd->p2, &key, &pk);

    if (sw != FK_SW_OK) return sw;
    sw = check(&pk, cmd);
    if (sw == FK_SW_OK) sw = hsm_key_use(ctx, &key);
    if (sw == FK_SW_OK) sw = run_op(&pk, cmd, resp, op);
    key_end(&key, &pk);
    return sw;
}

static fk_sw_t cmd_sign(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (!sign_alg_known(cmd->p2)) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc == 0) return FK_SW_WRONG_LENGTH;
    return key_command(ctx, cmd, resp, sign_input_check, op_sign);
}

/* ---- DECIPHER (62) ------------------------------------------------------- */

#define ECDH_OUTPUT_PREFIX 0x04u

static int op_decipher(const fk_pk_key_t *key, const fk_apdu_t *cmd, uint8_t *out, size_t cap,
                       size_t *out_len)
{
    switch (cmd->p2) {
    case ALG_RSA_DECRYPT_RAW:
        return fk_pk_rsa_private(key, cmd->data, cmd->nc, out, cap, out_len);
    case ALG_RSA_DECRYPT_PKCS1:
        return fk_pk_rsa_decrypt_pkcs1(key, cmd->data, cmd->nc, out, cap, out_len);
    case ALG_RSA_DECRYPT_OAEP:
        return fk_pk_rsa_decrypt_oaep(key, FK_HASH_SHA256, NULL, 0, cmd->data, cmd->nc, out, cap,
                                      out_len);
    case ALG_ECDH: {
        /* 04 || shared X, as the clients expect (they drop the first byte). */
        if (cap < 1) return FK_CRYPTO_EINVAL;
        size_t n = 0;
        int rc = fk_pk_ecdh(key, cmd->data, cmd->nc, out + 1, cap - 1, &n);
        if (rc != FK_CRYPTO_OK) return rc;
        out[0] = ECDH_OUTPUT_PREFIX;
        *out_len = n + 1;
        return FK_CRYPTO_OK;
    }
    default:
        return FK_CRYPTO_EINVAL;
    }
}

/* DECIPHER's input against the key (before any effect): an RSA block below
 * the modulus, a peer point on the key's curve. 6A80 when not. */
static fk_sw_t decipher_input_check(const fk_pk_key_t *key, const fk_apdu_t *cmd)
{
    if (cmd->p2 != ALG_ECDH)
        return rsa_block_ok(key, cmd->data, cmd->nc) ? FK_SW_OK : FK_SW_WRONG_DATA;
    const fk_pk_public_t peer = {.type = key->type,
                                 .curve = key->curve,
                                 .point = {cmd->data, cmd->nc}};
    return fk_pk_check_public(&peer) == FK_CRYPTO_OK ? FK_SW_OK : FK_SW_WRONG_DATA;
}

static fk_sw_t cmd_decipher(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t alg = cmd->p2;
    if (alg != ALG_RSA_DECRYPT_RAW && alg != ALG_RSA_DECRYPT_PKCS1 && alg != ALG_RSA_DECRYPT_OAEP &&
        alg != ALG_ECDH)
        return FK_SW_INCORRECT_P1P2;
    if (cmd->nc == 0) return FK_SW_WRONG_LENGTH;
    return key_command(ctx, cmd, resp, decipher_input_check, op_decipher);
}

/* ---- GENERATE ASYMMETRIC KEY PAIR (46) ------------------------------------ */

typedef struct gen_template {
    fk_bytes_t car, chr, oid;
    fk_cvc_alg_t alg;
    fk_pk_type_t type;
    fk_curve_t curve;
    unsigned bits;
    uint32_t e;
    fk_key_policy_t pol; /* algorithm list, use counter, domain (kind and size: the key's) */
} gen_template_t;

static uint32_t be_uint(const uint8_t *p, size_t len)
{
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) v = (v << 8) | p[i];
    return v;
}

/* The Montgomery curve (X25519, X448) whose prime p is, leading zeros
 * ignored; FK_CURVE_NONE for any other. */
static fk_curve_t twin_of_prime(const uint8_t *p, size_t len)
{
    static const fk_curve_t k_twins[] = {FK_CURVE_X25519, FK_CURVE_X448};
    while (len > 0 && p[0] == 0) p++, len--;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_twins); i++) {
        const fk_curve_info_t *ci = fk_curve_info(k_twins[i]);
        if (len == ci->field_len && memcmp(p, ci->p, len) == 0) return k_twins[i];
    }
    return FK_CURVE_NONE;
}

/* Parse the public key template 7F49. */
static fk_sw_t parse_pubkey_template(const fk_tlv_t *t, gen_template_t *g)
{
    fk_tlv_t el[FK_CVC_KEY_TAGS];
    fk_tlv_t oid = {0}, bits = {0};
    memset(el, 0, sizeof(el));
    const uint8_t *p = t->value, *end = t->value + t->len;
    fk_tlv_t x;
    int rc;
    while ((rc = fk_tlv_next(&p, end, &x)) == FK_TLV_OK) {
        if (x.tag == FK_CVC_TAG_OID) oid = x;
        else if (x.tag == TAG_INTEGER) bits = x;
        else if (x.tag >= FK_CVC_KEY_TAG_FIRST && x.tag <= FK_CVC_KEY_TAG_LAST)
            el[FK_CVC_KEY_INDEX(x.tag)] = x;
        else
            return FK_SW_WRONG_DATA;
    }
    if (rc != FK_TLV_END || oid.len == 0) return FK_SW_WRONG_DATA;
    g->oid = (fk_bytes_t){oid.value, oid.len};
    if (fk_cvc_alg_from_oid(oid.value, oid.len, &g->alg) != 0) return FK_SW_FUNC_NOT_SUPPORTED;

    if (g->alg.scheme == FK_CVC_RSA_V15 || g->alg.scheme == FK_CVC_RSA_PSS) {
        g->type = FK_PK_RSA;
        if (bits.len == 0 || bits.len > 2) return FK_SW_WRONG_DATA;
        g->bits = be_uint(bits.value, bits.len);
        if (g->bits < FK_PK_RSA_MIN_BITS || g->bits > FK_PK_RSA_MAX_BITS || g->bits % RSA_BITS_STEP)
            return FK_SW_FUNC_NOT_SUPPORTED;
        const fk_tlv_t *e = &el[FK_CVC_KEY_INDEX(FK_CVC_RSA_E)];
        if (e->len == 0) {
            g->e = RSA_DEFAULT_E;
        } else {
            /* Leading zeros allowed; at most 32 bits. */
            size_t skip = 0;
            while (skip < e->len && e->value[skip] == 0) skip++;
            if (e->len - skip > 4) return FK_SW_WRONG_DATA;
            g->e = be_uint(e->value + skip, e->len - skip);
            if (g->e < FK_PK_RSA_E_MIN || (g->e & 1u) == 0) return FK_SW_WRONG_DATA;
        }
        return FK_SW_OK;
    }

    const fk_tlv_t *prime = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_P)];
    if (prime->len == 0) return FK_SW_WRONG_DATA;

    /* The Curve25519 / Curve448 prime, under id-RI-ECDH or, as pypicohsm
     * sends it, id-TA-ECDSA, in Pico HSM's form 81 p, 82 order, 83 base
     * point: u = 9 / 5 (either byte order) makes an X25519 / X448 key, any
     * other base point (pypicohsm sends Ed25519's and Ed448's) an EdDSA key
     * named by its Montgomery twin. */
    const fk_curve_t twin = twin_of_prime(prime->value, prime->len);
    if (twin != FK_CURVE_NONE) {
        const fk_tlv_t *base = &el[FK_CVC_KEY_INDEX(FK_CVC_MONT_G)];
        if (base->len == 0) return FK_SW_WRONG_DATA;
        g->curve = twin;
        g->type = fk_curve_from_domain(prime->value, prime->len, NULL, 0, base->value,
                                       base->len) == twin
                      ? FK_PK_MONT
                      : FK_PK_EDWARDS;
        g->bits = fk_curve_info(twin)->bits;
        return FK_SW_OK;
    }
    const fk_tlv_t *a = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_A)];
    const fk_tlv_t *gen = &el[FK_CVC_KEY_INDEX(FK_CVC_EC_G)];
    g->curve = fk_curve_from_domain(prime->value, prime->len, a->len ? a->value : NULL, a->len,
                                    gen->len ? gen->value : NULL, gen->len);
    if (g->curve == FK_CURVE_NONE) return FK_SW_FUNC_NOT_SUPPORTED;
    /* id-RI-ECDH on a Weierstrass curve */
    if (g->alg.scheme != FK_CVC_ECDSA) return FK_SW_WRONG_DATA;
    g->type = FK_PK_EC;
    g->bits = fk_curve_info(g->curve)->bits;
    return FK_SW_OK;
}

static fk_sw_t parse_template(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, gen_template_t *g)
{
    bool have_key = false;
    memset(g, 0, sizeof(*g));
    g->pol.domain = FK_KEY_NO_DOMAIN;
    if (cmd->nc == 0) return FK_SW_WRONG_LENGTH; /* no template, so no 7F49 */
    const uint8_t *p = cmd->data, *end = cmd->data + cmd->nc;
    fk_tlv_t t;
    int rc;
    while ((rc = fk_tlv_next(&p, end, &t)) == FK_TLV_OK) {
        switch (t.tag) {
        case FK_CVC_TAG_PROFILE:
            if (t.len != 1 || t.value[0] != FK_CVC_PROFILE) return FK_SW_WRONG_DATA;
            break;
        case FK_CVC_TAG_CAR:
            if (t.len == 0 || t.len > FK_CVC_CAR_MAX) return FK_SW_WRONG_DATA;
            g->car = (fk_bytes_t){t.value, t.len};
            break;
        case FK_CVC_TAG_CHR:
            if (t.len == 0 || t.len > FK_CVC_CHR_MAX) return FK_SW_WRONG_DATA;
            g->chr = (fk_bytes_t){t.value, t.len};
            break;
        case FK_CVC_TAG_PUBKEY: {
            if (have_key) return FK_SW_WRONG_DATA;
            fk_sw_t sw = parse_pubkey_template(&t, g);
            if (sw != FK_SW_OK) return sw;
            have_key = true;
            break;
        }
        case TAG_OUTER_CAR:
            break; /* the outer signature is always the device key's */
        case HSM_TAG_USE_COUNTER:
        case HSM_TAG_ALGORITHMS:
        case HSM_TAG_KEY_DOMAIN: {
            fk_sw_t sw = hsm_key_metadata(&t, &g->pol);
            if (sw != FK_SW_OK) return sw;
            break;
        }
        default:
            return FK_SW_WRONG_DATA;
        }
    }
    if (rc != FK_TLV_END) return FK_SW_WRONG_DATA;
    if (!have_key) return FK_SW_WRONG_LENGTH; /* no 7F49: what clients expect */
    return hsm_key_policy_finish(ctx, &g->pol);
}

fk_sw_t hsm_key_metadata(const fk_tlv_t *t, fk_key_policy_t *pol)
{
    switch (t->tag) {
    case HSM_TAG_USE_COUNTER:
        if (t->len != 4) return FK_SW_WRONG_DATA;
        pol->has_counter = true;
        pol->counter = fk_be32(t->value);
        return FK_SW_OK;
    case HSM_TAG_ALGORITHMS:
        if (t->len == 0 || t->len > FK_KEY_ALGS_MAX) return FK_SW_WRONG_DATA;
        pol->n_algs = (uint8_t)t->len;
        memcpy(pol->algs, t->value, t->len);
        return FK_SW_OK;
    case HSM_TAG_KEY_DOMAIN:
        if (t->len != 1) return FK_SW_WRONG_DATA;
        pol->domain = t->value[0];
        return FK_SW_OK;
    default:
        return FK_SW_WRONG_DATA;
    }
}

fk_sw_t hsm_key_policy_finish(const fk_applet_ctx_t *ctx, fk_key_policy_t *pol)
{
    if (!pol->has_counter && (hsm_options(ctx) & HSM_OPT_KEY_USE_COUNTER)) {
        pol->has_counter = true;
        pol->counter = HSM_DEFAULT_USE_COUNTER;
    }
    return hsm_domain_check(ctx, pol->domain);
}

/* ---- Requests and descriptions ---------------------------------------------
 * Every key the applet makes gets an authenticated request CE<id> (its
 * public key, signed by itself and by the device key) and a default
 * PKCS#15 description C4<id>; hsm_key_request and hsm_default_prkd serve
 * GENERATE, DERIVE EC KEY and UNWRAP alike (hsm_internal.h). */

/* id-TA-RSA-v1-5-SHA-256 and id-RI-ECDH-SHA-256: the OIDs of requests for
 * RSA keys and for X25519/X448 keys (EC keys: id-TA-ECDSA-SHA-256 above). */
static const uint8_t k_oid_rsa_v15_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07,
                                               0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_oid_ri_ecdh_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07,
                                               0x02, 0x02, 0x05, 0x02, 0x03};

/* What a request carries besides the key: CAR and CHR (len 0: the device
 * CHR) and, for RSA and EC keys, the OID (len 0: v1.5 resp. ECDSA with
 * SHA-256); the OID also says how the key signs its body. */
typedef struct req_params {
    fk_bytes_t car, chr, oid;
} req_params_t;

/* Parse the key blob of a policy of kind RSA, EC or MONT into *pk; false
 * when it does not parse or is not of the policy's kind and size. */
static bool blob_of_policy(const fk_key_policy_t *pol, const uint8_t *m, size_t len,
                           fk_pk_key_t *pk)
{
    if (m == NULL || fk_pk_parse(m, len, pk) != FK_CRYPTO_OK) return false;
    switch (pol->kind) {
    case FK_KEY_RSA: return pk->type == FK_PK_RSA && pk->bits == pol->size;
    case FK_KEY_EC: return pk->type == FK_PK_EC && pk->curve == pol->size;
    case FK_KEY_MONT: return pk->type == FK_PK_MONT && pk->curve == pol->size;
    default: return false;
    }
}

/* The status word of a CVC builder's result. */
static fk_sw_t cvc_sw(int rc)
{
    switch (rc) {
    case FK_CVC_OK: return FK_SW_OK;
    case FK_CVC_ESPACE: return FK_SW_NOT_ENOUGH_MEMORY;
    case FK_CVC_ESIGN: return FK_SW_EXEC_ERROR;
    default: return FK_SW_FUNC_NOT_SUPPORTED;
    }
}

/* Append the authenticated request of the key (pol, material) to out: the
 * key signs its body, the device key the whole. */
static fk_sw_t build_request(const fk_applet_ctx_t *ctx, const fk_key_policy_t *pol,
                             const uint8_t *material, size_t len, const req_params_t *rp,
                             fk_rbuf_t *out)
{
    fk_pk_key_t key;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    fk_bytes_t oid = rp->oid;
    fk_cvc_signer_t inner = {NULL, NULL, 0};
    fk_cvc_key_signer_t inner_ks;
    fk_cvc_ed_signer_t inner_es;
    fk_sw_t sw;

    memset(&key, 0, sizeof(key));
    if (pol->kind == FK_KEY_EDWARDS) {
        /* seed || public key; the key signs its body with pure EdDSA. */
        const fk_curve_t twin = (fk_curve_t)pol->size;
        const size_t kl = fk_ed_key_len(twin);
        if (kl == 0 || material == NULL || len != 2u * kl) return FK_SW_FUNC_NOT_SUPPORTED;
        pub = (fk_pk_public_t){.type = FK_PK_EDWARDS, .curve = twin, .point = {material + kl, kl}};
        oid = (fk_bytes_t){k_oid_ri_ecdh_sha256, sizeof(k_oid_ri_ecdh_sha256)};
        inner_es = (fk_cvc_ed_signer_t){twin, material, material + kl};
        inner = fk_cvc_signer_for_ed(&inner_es);
    } else {
        if (!blob_of_policy(pol, material, len, &key)) {
            fk_wipe(&key, sizeof(key));
            return FK_SW_FUNC_NOT_SUPPORTED;
        }
        fk_pk_public_of(&key, &pub);
        if (key.type == FK_PK_MONT) {
            oid = (fk_bytes_t){k_oid_ri_ecdh_sha256, sizeof(k_oid_ri_ecdh_sha256)};
            inner.len = 2u * fk_curve_info(key.curve)->field_len; /* cannot sign: zeros */
        } else {
            if (oid.len == 0)
                oid = key.type == FK_PK_RSA
                          ? (fk_bytes_t){k_oid_rsa_v15_sha256, sizeof(k_oid_rsa_v15_sha256)}
                          : (fk_bytes_t){k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256)};
            if (fk_cvc_alg_from_oid(oid.p, oid.len, &alg) != FK_CVC_OK) {
                fk_wipe(&key, sizeof(key));
                return FK_SW_FUNC_NOT_SUPPORTED;
            }
            inner_ks = (fk_cvc_key_signer_t){&key, alg};
            inner = fk_cvc_signer_for_key(&inner_ks);
        }
    }

    fk_key_t dev;
    fk_pk_key_t device;
    sw = device_key_open(ctx, &dev, &device);
    if (sw == FK_SW_OK) {
        uint8_t chr[FK_CVC_CAR_MAX];
        const fk_bytes_t device_ref = {chr, device_chr(ctx, chr)};
        const fk_cvc_fields_t f = {
            .car = rp->car.len ? rp->car : device_ref,
            .chr = rp->chr.len ? rp->chr : device_ref,
            .key_oid = oid,
            .domain_params = true,
        };
        const fk_cvc_key_signer_t outer_ks = {&device, {FK_CVC_ECDSA, FK_HASH_SHA256}};
        const fk_cvc_signer_t outer = fk_cvc_signer_for_key(&outer_ks);
        sw = cvc_sw(fk_cvc_build_request(out, &f, &pub, &inner, &device_ref, &outer));
        fk_wipe(&device, sizeof(device));
        fk_key_close(&dev);
    }
    fk_wipe(&key, sizeof(key));
    return sw;
}

fk_sw_t hsm_key_request(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                        const uint8_t *material, size_t len, fk_rbuf_t *out)
{
    static const req_params_t k_defaults;
    fk_key_policy_t stored;
    fk_key_t key;
    fk_sw_t sw;

    if (out == NULL) return FK_SW_UNKNOWN;
    if (pol != NULL) return build_request(ctx, pol, material, len, &k_defaults, out);

    /* The key object CC<id>: its material leaves the key service's work
     * area (which the device key will take) for this module's own. */
    const uint8_t *kek = NULL;
    if (id != HSM_DEVICE_KEY_ID) {
        if (!hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;
        kek = hsm_state(ctx)->mk;
    }
    int rc = fk_key_open(ctx, HSM_FID(HSM_PREFIX_KEY, id), kek, &key);
    if (rc == FK_KEY_ENOENT) return FK_SW_FILE_NOT_FOUND;
    if (rc != FK_KEY_OK) return FK_SW_EXEC_ERROR;
    if (key.len > sizeof(s_blob)) {
        fk_key_close(&key);
        return FK_SW_EXEC_ERROR;
    }
    stored = key.pol;
    size_t n = key.len;
    memcpy(s_blob, key.material, n);
    fk_key_close(&key);
    sw = build_request(ctx, &stored, s_blob, n, &k_defaults, out);
    fk_wipe(s_blob, sizeof(s_blob));
    return sw;
}

/* PKCS#15 key usage bit strings (BIT STRING contents: unused bits, bytes). */
static const uint8_t k_usage_rsa[] = {0x02, 0x74};       /* decrypt, sign, signRecover, unwrap */
static const uint8_t k_usage_ec[] = {0x07, 0x20, 0x80};  /* sign, derive */
static const uint8_t k_usage_mont[] = {0x07, 0x00, 0x80}; /* derive */
static const uint8_t k_usage_ed[] = {0x05, 0x20};        /* sign */
static const uint8_t k_usage_aes[] = {0x07, 0xC0, 0x10}; /* encrypt, decrypt, verify... as pico */

#define P15_PRKD_RSA 0x30u     /* PrivateKeyObject: privateRSAKey */
#define P15_PRKD_EC 0xA0u      /* [0] privateECKey */
#define P15_SKD_GENERIC 0xA8u  /* SecretKeyObject: [8] genericSecretKey */
#define P15_TAG_LABEL 0x0Cu
#define P15_TAG_ID 0x04u
#define P15_TAG_USAGE 0x03u
#define P15_TAG_PATH 0x04u
#define P15_TAG_CLASS 0xA0u
#define P15_TAG_TYPE 0xA1u
#define P15_SIZE_WIDTH 2u
#define PRKD_MAX 64u

fk_sw_t hsm_default_prkd(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol)
{
    const uint8_t *usage;
    size_t usage_len;
    uint32_t tag, bits;
    const fk_curve_info_t *ci = NULL;

    if (pol == NULL) return FK_SW_FUNC_NOT_SUPPORTED;
    if (pol->kind == FK_KEY_EC || pol->kind == FK_KEY_MONT || pol->kind == FK_KEY_EDWARDS) {
        ci = fk_curve_info((fk_curve_t)pol->size);
        if (ci == NULL || ci->montgomery != (pol->kind != FK_KEY_EC))
            return FK_SW_FUNC_NOT_SUPPORTED;
    }
    switch (pol->kind) {
    case FK_KEY_RSA:
        tag = P15_PRKD_RSA, usage = k_usage_rsa, usage_len = sizeof(k_usage_rsa);
        bits = pol->size;
        break;
    case FK_KEY_EC:
        tag = P15_PRKD_EC, usage = k_usage_ec, usage_len = sizeof(k_usage_ec);
        bits = 8u * ci->order_len;
        break;
    case FK_KEY_MONT:
        tag = P15_PRKD_EC, usage = k_usage_mont, usage_len = sizeof(k_usage_mont);
        bits = 8u * ci->field_len;
        break;
    case FK_KEY_EDWARDS:
        tag = P15_PRKD_EC, usage = k_usage_ed, usage_len = sizeof(k_usage_ed);
        bits = 8u * (ci->id == FK_CURVE_X25519 ? FK_KEY_ED25519_LEN : FK_KEY_ED448_LEN);
        break;
    case FK_KEY_AES:
        tag = P15_SKD_GENERIC, usage = k_usage_aes, usage_len = sizeof(k_usage_aes);
        bits = pol->size;
        break;
    default:
        return FK_SW_FUNC_NOT_SUPPORTED;
    }

    /* The ID: the key id in ASCII decimal, as OpenSC's tools name it. */
    uint8_t idtxt[3];
    size_t idlen = 0;
    if (id >= 100) idtxt[idlen++] = (uint8_t)('0' + id / 100);
    if (id >= 10) idtxt[idlen++] = (uint8_t)('0' + (id / 10) % 10);
    idtxt[idlen++] = (uint8_t)('0' + id % 10);

    /* outer { 30 { 0C label }, 30 { 04 id, 03 usage },
     *         [AES: A0 { 30 { 02 bits } }], A1 { 30 { 30 { 04 path } [02 bits] } } } */
    uint8_t buf[PRKD_MAX];
    fk_rbuf_t r = {buf, 0, sizeof(buf)};
    const bool secret = pol->kind == FK_KEY_AES;
    fk_tlv_mark_t outer = fk_tlv_begin(&r, tag);
    fk_tlv_mark_t common = {0, false};
    bool ok = outer.ok && fk_tlv_put_header(&r, 0x30, 2) && fk_tlv_put(&r, P15_TAG_LABEL, NULL, 0);
    if (ok) common = fk_tlv_begin(&r, 0x30);
    ok = ok && common.ok && fk_tlv_put(&r, P15_TAG_ID, idtxt, idlen) &&
         fk_tlv_put(&r, P15_TAG_USAGE, usage, usage_len) && fk_tlv_end(&r, common);
    if (ok && secret) {
        fk_tlv_mark_t cls = fk_tlv_begin(&r, P15_TAG_CLASS);
        fk_tlv_mark_t s = fk_tlv_begin(&r, 0x30);
        ok = cls.ok && s.ok && fk_tlv_put_uint(&r, TAG_INTEGER, bits, P15_SIZE_WIDTH) &&
             fk_tlv_end(&r, s) && fk_tlv_end(&r, cls);
    }
    if (ok) {
        fk_tlv_mark_t a1 = fk_tlv_begin(&r, P15_TAG_TYPE);
        fk_tlv_mark_t s = fk_tlv_begin(&r, 0x30);
        ok = a1.ok && s.ok && fk_tlv_put_header(&r, 0x30, 2) &&
             fk_tlv_put(&r, P15_TAG_PATH, NULL, 0) &&
             (secret || fk_tlv_put_uint(&r, TAG_INTEGER, bits, P15_SIZE_WIDTH)) &&
             fk_tlv_end(&r, s) && fk_tlv_end(&r, a1);
    }
    ok = ok && fk_tlv_end(&r, outer);
    if (!ok) return FK_SW_UNKNOWN;
    return hsm_file_put(ctx, HSM_FID(HSM_PREFIX_PRKD, id), buf, r.len);
}

/* ---- GENERATE ASYMMETRIC KEY PAIR (46): the key's policy and staging ------- */

/* The key's kind and size in the policy, from the template. */
static void policy_of_template(gen_template_t *g)
{
    switch (g->type) {
    case FK_PK_RSA: g->pol.kind = FK_KEY_RSA; break;
    case FK_PK_EC: g->pol.kind = FK_KEY_EC; break;
    case FK_PK_MONT: g->pol.kind = FK_KEY_MONT; break;
    default: g->pol.kind = FK_KEY_EDWARDS; break;
    }
    g->pol.size = g->type == FK_PK_RSA ? (uint16_t)g->bits : (uint16_t)g->curve;
}

/* Stage the new key in the open batch: the key object (blob and policy,
 * under the session's MK), its request CE<id>, and a default description
 * C4<id> when there is none. */
static fk_sw_t generate_stage(const fk_applet_ctx_t *ctx, uint8_t id, const gen_template_t *g,
                              const uint8_t *blob, size_t blob_len, const uint8_t *req,
                              size_t req_len)
{
    uint32_t size;
    fk_sw_t sw = hsm_key_store(ctx, id, &g->pol, blob, blob_len);
    if (sw == FK_SW_OK) sw = hsm_file_put(ctx, HSM_FID(HSM_PREFIX_EECERT, id), req, req_len);
    if (sw == FK_SW_OK &&
        fk_space_size(&ctx->space, HSM_FID(HSM_PREFIX_PRKD, id), &size) != FK_STORE_OK)
        sw = hsm_default_prkd(ctx, id, &g->pol);
    return sw;
}

/*
 * GENERATE ASYMMETRIC KEY PAIR (46): the key, its request CE<id>, a default
 * C4<id> and the key's policy and use counter are one batch: over an
 * existing id, a power cut or a full store leaves the old key exactly as it
 * was (its blob, list, counter and request) or the new one complete.
 */
static fk_sw_t cmd_generate(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t id = cmd->p1;
    if (id == HSM_DEVICE_KEY_ID || cmd->p2 != HSM_DEVICE_KEY_ID) return FK_SW_INCORRECT_P1P2;
    if (!hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;

    gen_template_t g;
    fk_sw_t sw = parse_template(ctx, cmd, &g);
    if (sw != FK_SW_OK) return sw;
    sw = hsm_device_ensure(ctx);
    if (sw != FK_SW_OK) return sw;

    size_t blob_len = 0;
    int rc;
    switch (g.type) {
    case FK_PK_RSA:
        rc = fk_pk_rsa_generate(g.bits, g.e, ctx->keepalive, ctx->keepalive_arg, s_blob,
                                sizeof(s_blob), &blob_len);
        break;
    case FK_PK_EDWARDS: /* the material is seed || public key */
        blob_len = 2u * fk_ed_key_len(g.curve);
        rc = fk_ed_generate(g.curve, s_blob, s_blob + blob_len / 2u);
        break;
    default:
        rc = fk_pk_ec_generate(g.curve, s_blob, sizeof(s_blob), &blob_len);
        break;
    }
    if (rc != FK_CRYPTO_OK) {
        fk_wipe(s_blob, sizeof(s_blob));
        return rc == FK_CRYPTO_ERNG ? FK_SW_EXEC_ERROR : FK_SW_WRONG_DATA;
    }

    const size_t start = resp->len;
    policy_of_template(&g);
    const req_params_t rp = {g.car, g.chr, g.oid};
    sw = build_request(ctx, &g.pol, s_blob, blob_len, &rp, resp);
    if (sw == FK_SW_OK) sw = hsm_store_sw(fk_space_batch_begin(&ctx->space));
    if (sw == FK_SW_OK)
        sw = hsm_batch_end(ctx, generate_stage(ctx, id, &g, s_blob, blob_len, resp->p + start,
                                               resp->len - start));
    if (sw != FK_SW_OK) resp->len = start;
    fk_wipe(s_blob, sizeof(s_blob));
    return sw;
}

/* ---- DERIVE EC KEY (76) ---------------------------------------------------
 * 80 76 <src> <dst> Lc 98 <t>, as CardContact's PKCS#11 module sends it for
 * CKM_SC_HSM_EC_DERIVE: the algorithm id 98 as a bare first byte, then the
 * mechanism parameter t unchanged (no TLV, no length). The new key
 * d' = (d + t) mod n (ec_tweak.h) goes to <dst> with the source's policy,
 * its request CE<dst> and a default C4<dst>, in one batch. */

#define DERIVE_DATA_MIN 2u /* 98 and at least one byte of t */

/* The derived key's policy: the source's kind, curve, algorithm list,
 * domain and flags, and a use counter when the source has one, holding the
 * uses the source has left once this derivation is spent (a derived key is
 * never more usable than its source was). */
static void derived_policy(const fk_key_t *src, fk_key_policy_t *pol)
{
    *pol = src->pol;
    if (src->pol.has_counter) pol->counter = src->uses_left;
}

/* Stage the derived key in the open batch: the key object under the
 * session's MK, its request CE<dst>, the default description C4<dst> (a
 * description of whatever key held the id before would be wrong). */
static fk_sw_t derive_stage(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                            const uint8_t *blob, size_t blob_len, const uint8_t *req,
                            size_t req_len)
{
    fk_sw_t sw = hsm_key_store(ctx, id, pol, blob, blob_len);
    if (sw == FK_SW_OK) sw = hsm_file_put(ctx, HSM_FID(HSM_PREFIX_EECERT, id), req, req_len);
    if (sw == FK_SW_OK) sw = hsm_default_prkd(ctx, id, pol);
    return sw;
}

/*
 * DERIVE EC KEY (76). Checks first (the ids, the data, the source key, its
 * list, its kind, the tweak, a non-zero result), then the source's use
 * (counter, presence), then one batch for the new key, its request and its
 * description: a power cut or a full store leaves <dst> as it was or the
 * new key complete. No response data (the request is in CE<dst>).
 */
static fk_sw_t cmd_derive(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t src = cmd->p1, dst = cmd->p2;
    if (dst == HSM_DEVICE_KEY_ID || dst == src) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc == 0) return FK_SW_WRONG_LENGTH;
    if (cmd->data[0] != ALG_EC_DERIVE) return FK_SW_WRONG_DATA;
    if (cmd->nc < DERIVE_DATA_MIN) return FK_SW_WRONG_LENGTH;
    const uint8_t *t = cmd->data + 1;
    const size_t t_len = cmd->nc - 1u;

    fk_key_t key;
    fk_pk_key_t pk;
    fk_key_policy_t pol;
    size_t blob_len = 0;
    fk_sw_t sw = key_open(ctx, src, ALG_EC_DERIVE, &key, &pk);
    if (sw != FK_SW_OK) return sw;
    int rc = t_len > fk_curve_info(pk.curve)->order_len
                 ? FK_CRYPTO_EINVAL
                 : fk_pk_ec_tweak(&pk, t, t_len, s_blob, sizeof(s_blob), &blob_len);
    if (rc != FK_CRYPTO_OK) sw = rc == FK_CRYPTO_EINVAL ? FK_SW_WRONG_DATA : FK_SW_EXEC_ERROR;
    if (sw == FK_SW_OK) sw = hsm_key_use(ctx, &key);
    if (sw == FK_SW_OK) derived_policy(&key, &pol);
    key_end(&key, &pk); /* the device key is opened next (one key open at a time) */
    if (sw == FK_SW_OK) sw = hsm_device_ensure(ctx);

    /* The request is built in the response buffer and stored from there. */
    const size_t start = resp->len;
    if (sw == FK_SW_OK) {
        static const req_params_t k_defaults;
        sw = build_request(ctx, &pol, s_blob, blob_len, &k_defaults, resp);
    }
    if (sw == FK_SW_OK) {
        sw = hsm_store_sw(fk_space_batch_begin(&ctx->space));
        if (sw == FK_SW_OK)
            sw = hsm_batch_end(ctx, derive_stage(ctx, dst, &pol, s_blob, blob_len, resp->p + start,
                                                 resp->len - start));
    }
    fk_wipe(resp->p + start, resp->len - start);
    resp->len = start;
    fk_wipe(s_blob, sizeof(s_blob));
    return sw;
}

const fk_command_t hsm_key_commands[] = {
    {INS_GENERATE_ASYM, cmd_generate},
    {INS_SIGN, cmd_sign},
    {INS_DECIPHER, cmd_decipher},
    {INS_DERIVE_EC, cmd_derive},
};
const size_t hsm_key_commands_len = FK_ARRAY_SIZE(hsm_key_commands);
