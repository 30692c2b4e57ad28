/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctap_client.c - the platform's side of CTAP2 for the C tests
 * (ctap_client.h).
 */
#include "ctap_client.h"

#include <string.h>

#include "cbor.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "crypto/sym.h"
#include "devrig.h"
#include "util.h"

#define CMD_MAKE_CREDENTIAL 0x01u
#define CMD_GET_ASSERTION 0x02u
#define CMD_CLIENT_PIN 0x06u
#define CMD_CRED_MGMT 0x0Au
#define CMD_CONFIG 0x0Du
#define ERR_TRANSPORT 0xFFu
#define ERR_CLIENT 0xFEu /* the response did not read as expected */

void fk_cc_init(fk_cc_t *c, fk_cc_xfer_fn xfer, void *arg)
{
    memset(c, 0, sizeof *c);
    c->xfer = xfer;
    c->arg = arg;
    c->proto = 2;
}

uint8_t fk_cc_call(fk_cc_t *c, uint8_t cmd, const uint8_t *cbor, size_t len)
{
    if (len + 1u > sizeof c->req) return ERR_TRANSPORT;
    c->req[0] = cmd;
    if (len > 0u) memcpy(c->req + 1, cbor, len);
    c->resp_len = c->xfer(c->arg, c->req, len + 1u, c->resp, sizeof c->resp);
    if (c->resp_len == 0u) return ERR_TRANSPORT;
    return c->resp[0];
}

/* The response body as a decoded map (the client's strict reading). */
static bool body(const fk_cc_t *c, fk_cbor_item_t *top)
{
    return c->resp_len > 1u &&
           fk_cbor_decode(c->resp + 1, c->resp_len - 1u, FK_CBOR_CANONICAL, top) == FK_CBOR_OK &&
           top->type == FK_CBOR_MAP;
}

static bool get_bytes(const fk_cbor_item_t *map, int64_t key, const uint8_t **p, size_t *len)
{
    fk_cbor_item_t v;
    return fk_cbor_map_find_int(map, key, &v) == FK_CBOR_OK &&
           fk_cbor_get_bytes(&v, FK_CC_MSG_MAX, p, len) == FK_CBOR_OK;
}

/* ---- PIN/UV auth protocols 1 and 2 (CTAP 2.1 §6.5.6-7), the platform's half ---- */

static void put_cose_platform(fk_cbor_writer_t *w, const uint8_t pub[65])
{
    fk_cbor_put_map(w, 5);
    fk_cbor_put_uint(w, 1);
    fk_cbor_put_uint(w, 2); /* EC2 */
    fk_cbor_put_uint(w, 3);
    fk_cbor_put_int(w, -25);
    fk_cbor_put_int(w, -1);
    fk_cbor_put_uint(w, 1); /* P-256 */
    fk_cbor_put_int(w, -2);
    fk_cbor_put_bytes(w, pub + 1, 32);
    fk_cbor_put_int(w, -3);
    fk_cbor_put_bytes(w, pub + 33, 32);
}

/* getKeyAgreement, then ECDH with a fresh platform key: c->shared. */
static uint8_t key_agreement(fk_cc_t *c)
{
    uint8_t buf[64];
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, 2);
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_uint(&w, c->proto);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_uint(&w, 2); /* getKeyAgreement */
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    uint8_t st = fk_cc_call(c, CMD_CLIENT_PIN, buf, n);
    if (st != 0) return st;
    fk_cbor_item_t top, key;
    const uint8_t *x, *y;
    size_t xl, yl;
    if (!body(c, &top) || fk_cbor_map_find_int(&top, 1, &key) != FK_CBOR_OK ||
        key.type != FK_CBOR_MAP || !get_bytes(&key, -2, &x, &xl) || !get_bytes(&key, -3, &y, &yl) ||
        xl != 32 || yl != 32)
        return ERR_CLIENT;
    uint8_t peer[65];
    peer[0] = 0x04;
    memcpy(peer + 1, x, 32);
    memcpy(peer + 33, y, 32);

    uint8_t blob[256];
    size_t blob_len;
    fk_pk_key_t k;
    uint8_t z[32];
    size_t zl;
    if (fk_pk_ec_generate(FK_CURVE_SECP256R1, blob, sizeof blob, &blob_len) != FK_CRYPTO_OK ||
        fk_pk_parse(blob, blob_len, &k) != FK_CRYPTO_OK || k.pub.len != 65 ||
        fk_pk_ecdh(&k, peer, sizeof peer, z, sizeof z, &zl) != FK_CRYPTO_OK || zl != 32) {
        fk_wipe(blob, sizeof blob);
        return ERR_CLIENT;
    }
    memcpy(c->platform_pub, k.pub.p, 65);
    fk_wipe(blob, sizeof blob);
    if (c->proto == 1u) {
        fk_sha256(z, zl, c->shared);
    } else {
        static const uint8_t salt[32] = {0};
        static const char hmac_info[] = "CTAP2 HMAC key", aes_info[] = "CTAP2 AES key";
        if (fk_hkdf_sha256(salt, sizeof salt, z, zl, hmac_info, strlen(hmac_info), c->shared,
                           32) != 0 ||
            fk_hkdf_sha256(salt, sizeof salt, z, zl, aes_info, strlen(aes_info), c->shared + 32,
                           32) != 0)
            return ERR_CLIENT;
    }
    fk_wipe(z, sizeof z);
    c->have_shared = true;
    return 0;
}

/* enc(): protocol 2 a random IV, then AES-256-CBC with the AES half of the
 * key; protocol 1 AES-256-CBC with a zero IV. Returns the output length
 * (0 on failure). */
static size_t encrypt(const fk_cc_t *c, const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t zero_iv[16] = {0};
    if (c->proto == 1u)
        return fk_aes_crypt(FK_AES_CBC, true, c->shared, 32, zero_iv, 16, in, len, out) ==
                       FK_CRYPTO_OK
                   ? len
                   : 0;
    if (fk_rng_bytes(out, 16) != FK_CRYPTO_OK) return 0;
    return fk_aes_crypt(FK_AES_CBC, true, c->shared + 32, 32, out, 16, in, len, out + 16) ==
                   FK_CRYPTO_OK
               ? len + 16u
               : 0;
}

static size_t decrypt(const fk_cc_t *c, const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t zero_iv[16] = {0};
    if (len % 16 != 0 || len == 0) return 0;
    if (c->proto == 1u)
        return fk_aes_crypt(FK_AES_CBC, false, c->shared, 32, zero_iv, 16, in, len, out) ==
                       FK_CRYPTO_OK
                   ? len
                   : 0;
    if (len < 32) return 0;
    return fk_aes_crypt(FK_AES_CBC, false, c->shared + 32, 32, in, 16, in + 16, len - 16, out) ==
                   FK_CRYPTO_OK
               ? len - 16u
               : 0;
}

/* authenticate(): HMAC-SHA-256 with the HMAC key; protocol 1 keeps 16 bytes.
 * Returns the length. */
static size_t authenticate(const fk_cc_t *c, const uint8_t *key, size_t key_len, const uint8_t *msg,
                           size_t len, uint8_t mac[32])
{
    fk_hmac_sha256(key, key_len, msg, len, mac);
    return c->proto == 1u ? 16u : 32u;
}

static size_t pin_hash_enc(const fk_cc_t *c, const char *pin, uint8_t out[32])
{
    uint8_t h[32];
    fk_sha256(pin, strlen(pin), h);
    const size_t n = encrypt(c, h, 16, out);
    fk_wipe(h, sizeof h);
    return n;
}

uint8_t fk_cc_set_pin(fk_cc_t *c, const char *pin)
{
    uint8_t st = key_agreement(c);
    if (st != 0) return st;
    uint8_t padded[64] = {0}, enc[80], mac[32], buf[256];
    memcpy(padded, pin, strlen(pin));
    const size_t enc_len = encrypt(c, padded, sizeof padded, enc);
    if (enc_len == 0) return ERR_CLIENT;
    const size_t mac_len = authenticate(c, c->shared, 32, enc, enc_len, mac);
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, 5);
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_uint(&w, c->proto);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_uint(&w, 3); /* setPIN */
    fk_cbor_put_uint(&w, 3);
    put_cose_platform(&w, c->platform_pub);
    fk_cbor_put_uint(&w, 4);
    fk_cbor_put_bytes(&w, mac, mac_len);
    fk_cbor_put_uint(&w, 5);
    fk_cbor_put_bytes(&w, enc, enc_len);
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    return fk_cc_call(c, CMD_CLIENT_PIN, buf, n);
}

uint8_t fk_cc_change_pin(fk_cc_t *c, const char *cur, const char *pin)
{
    uint8_t st = key_agreement(c);
    if (st != 0) return st;
    uint8_t padded[64] = {0}, enc[80 + 32], mac[32], buf[320];
    memcpy(padded, pin, strlen(pin));
    const size_t new_len = encrypt(c, padded, sizeof padded, enc);
    if (new_len == 0) return ERR_CLIENT;
    /* newPinEnc || pinHashEnc is what is authenticated. */
    const size_t hash_len = pin_hash_enc(c, cur, enc + new_len);
    if (hash_len == 0) return ERR_CLIENT;
    const size_t mac_len = authenticate(c, c->shared, 32, enc, new_len + hash_len, mac);
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, 6);
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_uint(&w, c->proto);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_uint(&w, 4); /* changePIN */
    fk_cbor_put_uint(&w, 3);
    put_cose_platform(&w, c->platform_pub);
    fk_cbor_put_uint(&w, 4);
    fk_cbor_put_bytes(&w, mac, mac_len);
    fk_cbor_put_uint(&w, 5);
    fk_cbor_put_bytes(&w, enc, new_len);
    fk_cbor_put_uint(&w, 6);
    fk_cbor_put_bytes(&w, enc + new_len, hash_len);
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    return fk_cc_call(c, CMD_CLIENT_PIN, buf, n);
}

uint8_t fk_cc_get_token(fk_cc_t *c, const char *pin, uint8_t perms, const char *rp_id)
{
    c->have_token = false;
    uint8_t st = key_agreement(c);
    if (st != 0) return st;
    uint8_t phe[32], buf[512];
    const size_t phe_len = pin_hash_enc(c, pin, phe);
    if (phe_len == 0) return ERR_CLIENT;
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, rp_id != NULL ? 6 : 5);
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_uint(&w, c->proto);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_uint(&w, 9); /* getPinUvAuthTokenUsingPinWithPermissions */
    fk_cbor_put_uint(&w, 3);
    put_cose_platform(&w, c->platform_pub);
    fk_cbor_put_uint(&w, 6);
    fk_cbor_put_bytes(&w, phe, phe_len);
    fk_cbor_put_uint(&w, 9);
    fk_cbor_put_uint(&w, perms);
    if (rp_id != NULL) {
        fk_cbor_put_uint(&w, 0x0A);
        fk_cbor_put_cstr(&w, rp_id);
    }
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    st = fk_cc_call(c, CMD_CLIENT_PIN, buf, n);
    if (st != 0) return st;
    fk_cbor_item_t top;
    const uint8_t *enc;
    size_t len;
    uint8_t plain[64];
    if (!body(c, &top) || !get_bytes(&top, 2, &enc, &len) || len > sizeof plain ||
        decrypt(c, enc, len, plain) != 32u)
        return ERR_CLIENT;
    memcpy(c->token, plain, 32);
    fk_wipe(plain, sizeof plain);
    c->have_token = true;
    return 0;
}

uint8_t fk_cc_pin_retries(fk_cc_t *c, unsigned *retries)
{
    static const uint8_t req[] = {0xA2, 0x01, 0x02, 0x02, 0x01}; /* {1: 2, 2: getPINRetries} */
    const uint8_t st = fk_cc_call(c, CMD_CLIENT_PIN, req, sizeof req);
    if (st != 0) return st;
    fk_cbor_item_t top, v;
    uint64_t r;
    if (!body(c, &top) || fk_cbor_map_find_int(&top, 3, &v) != FK_CBOR_OK ||
        fk_cbor_get_uint(&v, &r) != FK_CBOR_OK)
        return ERR_CLIENT;
    *retries = (unsigned)r;
    return 0;
}

/* ---- makeCredential, getAssertion, credentialManagement --------------------- */

static void put_token_param(fk_cc_t *c, fk_cbor_writer_t *w, uint64_t key, const uint8_t *msg,
                            size_t len)
{
    uint8_t mac[32];
    const size_t mac_len = authenticate(c, c->token, sizeof c->token, msg, len, mac);
    fk_cbor_put_uint(w, key);
    fk_cbor_put_bytes(w, mac, mac_len);
    fk_cbor_put_uint(w, key + 1u);
    fk_cbor_put_uint(w, c->proto);
}

static uint32_t counter_of(const uint8_t *auth_data, size_t len)
{
    return len >= 37u ? fk_be32(auth_data + 33) : 0u;
}

uint8_t fk_cc_make_credential(fk_cc_t *c, const uint8_t cdh[32], const char *rp_id,
                              const uint8_t *user_id, size_t user_id_len, int alg, bool rk,
                              bool with_token, uint8_t *id, size_t *id_len, uint32_t *counter)
{
    static uint8_t buf[1024];
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, 4u + (rk ? 1u : 0u) + (with_token ? 2u : 0u));
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_bytes(&w, cdh, 32);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_map(&w, 1);
    fk_cbor_put_cstr(&w, "id");
    fk_cbor_put_cstr(&w, rp_id);
    fk_cbor_put_uint(&w, 3);
    fk_cbor_put_map(&w, 2);
    fk_cbor_put_cstr(&w, "id");
    fk_cbor_put_bytes(&w, user_id, user_id_len);
    fk_cbor_put_cstr(&w, "name");
    fk_cbor_put_cstr(&w, "user");
    fk_cbor_put_uint(&w, 4);
    fk_cbor_put_array(&w, 1);
    fk_cbor_put_map(&w, 2);
    fk_cbor_put_cstr(&w, "alg");
    fk_cbor_put_int(&w, alg);
    fk_cbor_put_cstr(&w, "type");
    fk_cbor_put_cstr(&w, "public-key");
    if (rk) {
        fk_cbor_put_uint(&w, 7);
        fk_cbor_put_map(&w, 1);
        fk_cbor_put_cstr(&w, "rk");
        fk_cbor_put_bool(&w, true);
    }
    if (with_token) put_token_param(c, &w, 8, cdh, 32);
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    const uint8_t st = fk_cc_call(c, CMD_MAKE_CREDENTIAL, buf, n);
    if (st != 0) return st;
    fk_cbor_item_t top;
    const uint8_t *ad;
    size_t ad_len;
    if (!body(c, &top) || !get_bytes(&top, 2, &ad, &ad_len) || ad_len < 55u) return ERR_CLIENT;
    const size_t cl = fk_be16(ad + 53);
    if (ad_len < 55u + cl || cl > FK_CC_CRED_ID_MAX) return ERR_CLIENT;
    if (id != NULL) memcpy(id, ad + 55, cl);
    if (id_len != NULL) *id_len = cl;
    if (counter != NULL) *counter = counter_of(ad, ad_len);
    return 0;
}

uint8_t fk_cc_get_assertion(fk_cc_t *c, const uint8_t cdh[32], const char *rp_id,
                            const uint8_t *id, size_t id_len, bool up, bool with_token,
                            uint32_t *counter, unsigned *count)
{
    static uint8_t buf[1024];
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, 2u + (id_len > 0u ? 1u : 0u) + (up ? 0u : 1u) + (with_token ? 2u : 0u));
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_cstr(&w, rp_id);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_bytes(&w, cdh, 32);
    if (id_len > 0u) {
        fk_cbor_put_uint(&w, 3);
        fk_cbor_put_array(&w, 1);
        fk_cbor_put_map(&w, 2);
        fk_cbor_put_cstr(&w, "id");
        fk_cbor_put_bytes(&w, id, id_len);
        fk_cbor_put_cstr(&w, "type");
        fk_cbor_put_cstr(&w, "public-key");
    }
    if (!up) {
        fk_cbor_put_uint(&w, 5);
        fk_cbor_put_map(&w, 1);
        fk_cbor_put_cstr(&w, "up");
        fk_cbor_put_bool(&w, false);
    }
    if (with_token) put_token_param(c, &w, 6, cdh, 32);
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    const uint8_t st = fk_cc_call(c, CMD_GET_ASSERTION, buf, n);
    if (st != 0) return st;
    fk_cbor_item_t top, v;
    const uint8_t *ad;
    size_t ad_len;
    if (!body(c, &top) || !get_bytes(&top, 2, &ad, &ad_len) || ad_len < 37u) return ERR_CLIENT;
    if (counter != NULL) *counter = counter_of(ad, ad_len);
    if (count != NULL) {
        uint64_t k = 1;
        if (fk_cbor_map_find_int(&top, 5, &v) == FK_CBOR_OK && fk_cbor_get_uint(&v, &k) != FK_CBOR_OK)
            return ERR_CLIENT;
        *count = (unsigned)k;
    }
    return 0;
}

/* A subcommand's params map, written by put(arg) into w. */
typedef void (*put_params_fn)(fk_cbor_writer_t *w, const void *arg);

/* credentialManagement (cmd 0A, pinUvAuthParam over subCmd || params) or
 * authenticatorConfig (cmd 0D, over 32 x FF || 0D || subCmd || params):
 * {1: sub, [2: params], 3: protocol, 4: pinUvAuthParam} with the token. The
 * params are encoded once for the authenticated message and once in the
 * request (the same bytes: the writer is canonical). */
static uint8_t token_command(fk_cc_t *c, uint8_t cmd, uint8_t sub, put_params_fn put,
                             const void *arg)
{
    uint8_t msg[320], buf[400], mac[32];
    size_t m = 0;
    if (cmd == CMD_CONFIG) {
        memset(msg, 0xFF, 32);
        msg[32] = CMD_CONFIG;
        m = 33;
    }
    msg[m++] = sub;
    size_t params_len = 0;
    if (put != NULL) {
        fk_cbor_writer_t pw;
        fk_cbor_writer_init(&pw, msg + m, sizeof msg - m);
        put(&pw, arg);
        if (fk_cbor_writer_finish(&pw, &params_len) != FK_CBOR_OK) return ERR_CLIENT;
    }
    const size_t mac_len = authenticate(c, c->token, sizeof c->token, msg, m + params_len, mac);
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, buf, sizeof buf);
    fk_cbor_put_map(&w, put != NULL ? 4 : 3);
    fk_cbor_put_uint(&w, 1);
    fk_cbor_put_uint(&w, sub);
    if (put != NULL) {
        fk_cbor_put_uint(&w, 2);
        put(&w, arg);
    }
    fk_cbor_put_uint(&w, 3);
    fk_cbor_put_uint(&w, c->proto);
    fk_cbor_put_uint(&w, 4);
    fk_cbor_put_bytes(&w, mac, mac_len);
    size_t n;
    if (fk_cbor_writer_finish(&w, &n) != FK_CBOR_OK) return ERR_CLIENT;
    return fk_cc_call(c, cmd, buf, n);
}

typedef struct cred_ref {
    const uint8_t *id;
    size_t len;
} cred_ref_t;

static void put_credential_id(fk_cbor_writer_t *w, const void *arg)
{
    const cred_ref_t *r = arg;
    fk_cbor_put_map(w, 1);
    fk_cbor_put_uint(w, 2); /* credentialID */
    fk_cbor_put_map(w, 2);
    fk_cbor_put_cstr(w, "id");
    fk_cbor_put_bytes(w, r->id, r->len);
    fk_cbor_put_cstr(w, "type");
    fk_cbor_put_cstr(w, "public-key");
}

uint8_t fk_cc_delete_credential(fk_cc_t *c, const uint8_t *id, size_t id_len)
{
    const cred_ref_t r = {id, id_len};
    return token_command(c, CMD_CRED_MGMT, 0x06, put_credential_id, &r);
}

uint8_t fk_cc_creds_metadata(fk_cc_t *c, unsigned *existing, unsigned *remaining)
{
    const uint8_t st = token_command(c, CMD_CRED_MGMT, 0x01, NULL, NULL);
    if (st != 0) return st;
    fk_cbor_item_t top, v;
    uint64_t e, r;
    if (!body(c, &top) || fk_cbor_map_find_int(&top, 1, &v) != FK_CBOR_OK ||
        fk_cbor_get_uint(&v, &e) != FK_CBOR_OK || fk_cbor_map_find_int(&top, 2, &v) != FK_CBOR_OK ||
        fk_cbor_get_uint(&v, &r) != FK_CBOR_OK)
        return ERR_CLIENT;
    *existing = (unsigned)e;
    *remaining = (unsigned)r;
    return 0;
}

static void put_min_pin_length(fk_cbor_writer_t *w, const void *arg)
{
    fk_cbor_put_map(w, 1);
    fk_cbor_put_uint(w, 1); /* newMinPINLength */
    fk_cbor_put_uint(w, *(const uint8_t *)arg);
}

uint8_t fk_cc_set_min_pin_length(fk_cc_t *c, uint8_t len)
{
    return token_command(c, CMD_CONFIG, 0x03, put_min_pin_length, &len);
}

/* ---- Transport over a card ------------------------------------------------------ */

size_t fk_cc_card_xfer(void *testdev, const uint8_t *req, size_t len, uint8_t *resp, size_t cap)
{
    static uint8_t apdu[FK_CC_MSG_MAX + 16], out[FK_CC_MSG_MAX + 16];
    const fk_devrig_cmd_t cmd = {
        .cla = 0x80, .ins = 0x10, .p1 = 0x00, .p2 = 0x00,
        .data = req, .nc = len, .ne = 65536, .ext = true,
    };
    const size_t n = fk_devrig_apdu(apdu, sizeof apdu, &cmd);
    if (n == 0) return 0;
    size_t got;
    const uint16_t sw = fk_devrig_xfer((fk_testdev_t *)testdev, apdu, n, out, sizeof out, &got);
    if (sw != 0x9000 || got < 3 || got - 2 > cap) return 0;
    memcpy(resp, out, got - 2);
    return got - 2;
}
