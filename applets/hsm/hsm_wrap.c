/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_wrap.c - WRAP KEY (80 72) and UNWRAP KEY (80 74): a key leaves the
 * card, and comes back, only as a key blob under the DKEK of its key domain
 * (hsm_blob.h, docs/key-blob.md; the domains: hsm_dkek.c).
 *
 * WRAP opens the key with the session's master key, checks its algorithm
 * list, takes its domain's DKEK, and answers the blob; nothing is written.
 *
 * UNWRAP takes the blob from the command data or from the transfer EF
 * 2F10 (OpenSC 0.27 writes it there first), finds the domain whose KCV the
 * blob carries, has the codec check the CMAC before anything is decrypted,
 * imports the key, and writes in ONE store batch: the key object CC<id>
 * (policy: the blob's algorithm list and use counter, the domain), its
 * authenticated request CE<id> (asymmetric keys; a symmetric key has none,
 * and a stale one goes), the default description C4<id>, and the deletion
 * of 2F10. A power cut, a full store or any refusal leaves everything as
 * it was: the key not there, 2F10 still holding the blob.
 *
 * IMPLEMENTATION NOTE: the blob, its plain block, the imported key and the
 * request are kept in static buffers (as in hsm_keys.c) to keep every stack
 * frame small; the core is single-threaded. The plain block and the key are
 * wiped on every path, the DKEK too.
 */
#include <string.h>

#include "hsm_blob.h"
#include "hsm_internal.h"

#include "crypto/crypto.h"
#include "crypto/ed.h"
#include "crypto/pk.h"
#include "services/keyobj.h"
#include "store/space.h"
#include "util.h"

#define INS_WRAP 0x72u
#define INS_UNWRAP 0x74u
#define P2_WRAP 0x92u   /* the algorithm id of WRAP (and its P2) */
#define P2_UNWRAP 0x93u /* the algorithm id of UNWRAP (and its P2) */

_Static_assert(HSM_BLOB_DKEK_LEN == HSM_DKEK_LEN && HSM_BLOB_KCV_LEN == HSM_KCV_LEN,
               "the codec and the domains agree on the DKEK");
_Static_assert((int)HSM_BLOB_KIND_RSA == FK_KEY_RSA && (int)HSM_BLOB_KIND_EC == FK_KEY_EC &&
                   (int)HSM_BLOB_KIND_MONT == FK_KEY_MONT &&
                   (int)HSM_BLOB_KIND_EDWARDS == FK_KEY_EDWARDS &&
                   (int)HSM_BLOB_KIND_AES == FK_KEY_AES,
               "blob kinds are key-object kinds");
_Static_assert(HSM_BLOB_ALGS_MAX <= FK_KEY_ALGS_MAX, "a blob's list fits a key object");

static uint8_t s_in[HSM_BLOB_MAX];         /* a blob read from 2F10 */
static uint8_t s_plain[HSM_BLOB_PLAIN_MAX]; /* its plain block */
static uint8_t s_material[FK_PK_BLOB_MAX]; /* the key as the key object holds it */
static uint8_t s_req[HSM_KEY_REQUEST_MAX]; /* its request CE<id> */

/* ---- WRAP KEY (72) ---------------------------------------------------------- */

/* The codec's view of an open key (spans into its material). 6A81 for a
 * kind the blob cannot carry (HMAC), 6400 for a material that does not
 * parse. */
static fk_sw_t blob_key_of(const fk_key_t *key, fk_pk_key_t *pk, hsm_blob_key_t *bk)
{
    memset(bk, 0, sizeof(*bk));
    bk->kind = (hsm_blob_kind_t)key->pol.kind;
    switch (key->pol.kind) {
    case FK_KEY_RSA:
    case FK_KEY_EC:
    case FK_KEY_MONT:
        if (fk_pk_parse(key->material, key->len, pk) != FK_CRYPTO_OK) return FK_SW_EXEC_ERROR;
        if (pk->type == FK_PK_RSA) {
            bk->bits = pk->bits;
            bk->n = pk->n, bk->e = pk->e, bk->d = pk->d;
        } else {
            bk->curve = pk->curve;
            bk->priv = pk->d, bk->pub = pk->pub;
        }
        return FK_SW_OK;
    case FK_KEY_EDWARDS: {
        /* seed || public key, each of the same length */
        const size_t half = key->len / 2u;
        bk->curve = (fk_curve_t)key->pol.size;
        bk->priv = (fk_bytes_t){key->material, half};
        bk->pub = (fk_bytes_t){key->material + half, half};
        return FK_SW_OK;
    }
    case FK_KEY_AES:
        bk->bits = key->pol.size;
        bk->priv = (fk_bytes_t){key->material, key->len};
        return FK_SW_OK;
    default:
        return FK_SW_FUNC_NOT_SUPPORTED;
    }
}

/* Everything WRAP checks before it has the blob made, in order: the key
 * (not the device key: 6982; missing: 6A82), the user PIN (6982), the key
 * opens (6400), 92 in its list (6985), its domain's DKEK (6A88). */
static fk_sw_t wrap_key(const fk_applet_ctx_t *ctx, uint8_t id, fk_rbuf_t *resp)
{
    uint8_t dkek[HSM_DKEK_LEN], rnd[HSM_BLOB_RANDOM_LEN];
    uint32_t size;
    fk_key_t key;
    fk_pk_key_t pk;
    hsm_blob_key_t bk;
    fk_sw_t sw;

    if (id == HSM_DEVICE_KEY_ID) return FK_SW_SECURITY_NOT_SATISFIED;
    if (fk_space_size(&ctx->space, HSM_FID(HSM_PREFIX_KEY, id), &size) != FK_STORE_OK)
        return FK_SW_FILE_NOT_FOUND;
    if (!hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;
    const int rc = fk_key_open(ctx, HSM_FID(HSM_PREFIX_KEY, id), hsm_state(ctx)->mk, &key);
    if (rc == FK_KEY_ENOENT) return FK_SW_FILE_NOT_FOUND;
    if (rc != FK_KEY_OK) return FK_SW_EXEC_ERROR;

    memset(&pk, 0, sizeof(pk));
    sw = fk_key_allows(&key, P2_WRAP) ? FK_SW_OK : FK_SW_CONDITIONS_NOT_SATISFIED;
    if (sw == FK_SW_OK) sw = hsm_domain_dkek(ctx, key.pol.domain, dkek);
    if (sw == FK_SW_OK) sw = blob_key_of(&key, &pk, &bk);
    if (sw == FK_SW_OK) {
        bk.algs = (fk_bytes_t){key.pol.algs, key.pol.n_algs};
        bk.has_counter = key.pol.has_counter;
        bk.counter = key.uses_left; /* what is left travels, not the initial count */
        if (fk_rng_bytes(rnd, sizeof(rnd)) != FK_CRYPTO_OK) sw = FK_SW_EXEC_ERROR;
    }
    if (sw == FK_SW_OK) {
        size_t n = 0;
        const int brc = hsm_blob_encode(&bk, dkek, rnd, resp->p + resp->len, fk_rbuf_room(resp),
                                        &n);
        if (brc == HSM_BLOB_OK)
            resp->len += n;
        else
            sw = brc == HSM_BLOB_ENOSPC ? FK_SW_UNKNOWN : FK_SW_EXEC_ERROR;
    }
    fk_wipe(dkek, sizeof(dkek));
    fk_wipe(&bk, sizeof(bk));
    fk_wipe(&pk, sizeof(pk));
    fk_key_close(&key);
    return sw;
}

/* WRAP KEY (80 72 <id> 92): the key blob of key <id>. */
static fk_sw_t cmd_wrap(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p2 != P2_WRAP) return FK_SW_WRONG_P1P2;
    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    return wrap_key(ctx, cmd->p1, resp);
}

/* ---- UNWRAP KEY (74) ---------------------------------------------------------- */

/* The material and policy of a decoded key. RSA, EC and Montgomery keys are
 * imported (the math checked; a public point in the blob must be the
 * scalar's), an Edwards seed gets its public key computed (the blob's must
 * be the same); 6A80 for what does not import. */
static fk_sw_t material_of(const hsm_blob_key_t *bk, fk_key_policy_t *pol, size_t *len)
{
    fk_pk_key_t pk;
    int rc;

    *len = 0;
    pol->kind = (uint8_t)bk->kind;
    switch (bk->kind) {
    case HSM_BLOB_KIND_RSA: {
        const fk_pk_rsa_parts_t parts = {.n = bk->n, .e = bk->e, .d = bk->d, .p = bk->p,
                                         .q = bk->q};
        rc = fk_pk_rsa_import(&parts, s_material, sizeof(s_material), len);
        if (rc != FK_CRYPTO_OK) return rc == FK_CRYPTO_ERNG ? FK_SW_EXEC_ERROR : FK_SW_WRONG_DATA;
        if (fk_pk_parse(s_material, *len, &pk) != FK_CRYPTO_OK) return FK_SW_WRONG_DATA;
        pol->size = pk.bits;
        break;
    }
    case HSM_BLOB_KIND_EC:
    case HSM_BLOB_KIND_MONT:
        rc = fk_pk_ec_import(bk->curve, bk->priv.p, bk->priv.len, s_material, sizeof(s_material),
                             len);
        if (rc != FK_CRYPTO_OK) return rc == FK_CRYPTO_ERNG ? FK_SW_EXEC_ERROR : FK_SW_WRONG_DATA;
        if (fk_pk_parse(s_material, *len, &pk) != FK_CRYPTO_OK) return FK_SW_WRONG_DATA;
        if (bk->pub.len != 0 &&
            (bk->pub.len != pk.pub.len || memcmp(bk->pub.p, pk.pub.p, pk.pub.len) != 0)) {
            fk_wipe(&pk, sizeof(pk));
            return FK_SW_WRONG_DATA; /* the point is not the scalar's */
        }
        pol->size = (uint16_t)bk->curve;
        break;
    case HSM_BLOB_KIND_EDWARDS: {
        /* seed || public key, as the key object keeps it */
        const size_t klen = fk_ed_key_len(bk->curve);
        if (klen == 0 || bk->priv.len != klen) return FK_SW_WRONG_DATA;
        memcpy(s_material, bk->priv.p, klen);
        if (fk_ed_public(bk->curve, s_material, s_material + klen) != FK_CRYPTO_OK)
            return FK_SW_WRONG_DATA;
        if (bk->pub.len != 0 &&
            (bk->pub.len != klen || memcmp(bk->pub.p, s_material + klen, klen) != 0))
            return FK_SW_WRONG_DATA; /* the public key is not the seed's */
        *len = 2u * klen;
        pol->size = (uint16_t)bk->curve;
        return FK_SW_OK;
    }
    default: /* HSM_BLOB_KIND_AES */
        memcpy(s_material, bk->priv.p, bk->priv.len);
        *len = bk->priv.len;
        pol->size = bk->bits;
        return FK_SW_OK;
    }
    fk_wipe(&pk, sizeof(pk));
    return FK_SW_OK;
}

/* The blob: the command data, or (case 1) the content of 2F10. */
static fk_sw_t unwrap_input(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd,
                            const uint8_t **blob, size_t *len)
{
    uint32_t size = 0;

    if (cmd->nc != 0) {
        *blob = cmd->data;
        *len = cmd->nc;
        return cmd->nc <= HSM_BLOB_MAX ? FK_SW_OK : FK_SW_WRONG_DATA;
    }
    const int rc = fk_space_size(&ctx->space, HSM_FID_UNWRAP, &size);
    if (rc != FK_STORE_OK) return hsm_store_sw(rc);
    if (size > sizeof(s_in)) return FK_SW_WRONG_DATA;
    const fk_sw_t sw = hsm_store_sw(fk_space_read(&ctx->space, HSM_FID_UNWRAP, 0, s_in, size));
    *blob = s_in;
    *len = size;
    return sw;
}

/* The status word of the codec's answer. */
static fk_sw_t blob_sw(int rc)
{
    switch (rc) {
    case HSM_BLOB_OK: return FK_SW_OK;
    case HSM_BLOB_ECRYPTO: return FK_SW_EXEC_ERROR;
    default: return FK_SW_WRONG_DATA; /* not a blob, another DKEK, changed, malformed */
    }
}

/* Stage the unwrapped key in the open batch: the key object, its request
 * (or no request), its default description, 2F10 emptied. */
static fk_sw_t unwrap_stage(const fk_applet_ctx_t *ctx, uint8_t id, const fk_key_policy_t *pol,
                            size_t len, size_t req_len)
{
    const uint16_t ce = HSM_FID(HSM_PREFIX_EECERT, id);
    fk_sw_t sw = hsm_key_store(ctx, id, pol, s_material, len);
    if (sw == FK_SW_OK)
        sw = req_len > 0 ? hsm_file_put(ctx, ce, s_req, req_len)
                         : hsm_store_sw(fk_space_delete_range(&ctx->space, ce, ce));
    if (sw == FK_SW_OK) sw = hsm_default_prkd(ctx, id, pol);
    if (sw == FK_SW_OK)
        sw = hsm_store_sw(fk_space_delete_range(&ctx->space, HSM_FID_UNWRAP, HSM_FID_UNWRAP));
    return sw;
}

/*
 * UNWRAP KEY (80 74 <id> 93), the blob in the data or (no data) in 2F10.
 * Checks, in order, before anything is written: P2 (6B00), the id (00:
 * 6A86), the user PIN (6982), an occupied id (6A89: sc-hsm-tool --force
 * deletes CC<id> first), the blob (2F10 missing 6A82; not a blob, no
 * domain with its KCV, a CMAC that does not verify, a key that does not
 * import: 6A80). Then the request is made (6400) and the batch written
 * (6A84 full, 6581 flash).
 */
static fk_sw_t cmd_unwrap(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t id = cmd->p1;
    uint8_t dkek[HSM_DKEK_LEN], domain = 0;
    const uint8_t *blob = NULL;
    size_t blob_len = 0, len = 0, req_len = 0;
    uint32_t size;
    hsm_blob_header_t h;
    hsm_blob_key_t bk;
    fk_key_policy_t pol;
    fk_sw_t sw;

    (void)resp;
    if (cmd->p2 != P2_UNWRAP) return FK_SW_WRONG_P1P2;
    if (id == HSM_DEVICE_KEY_ID) return FK_SW_INCORRECT_P1P2;
    if (!hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;
    if (fk_space_size(&ctx->space, HSM_FID(HSM_PREFIX_KEY, id), &size) == FK_STORE_OK)
        return FK_SW_FILE_EXISTS;
    sw = unwrap_input(ctx, cmd, &blob, &blob_len);
    if (sw == FK_SW_OK) sw = blob_sw(hsm_blob_parse_header(blob, blob_len, &h));
    if (sw == FK_SW_OK) sw = hsm_domain_find(ctx, h.kcv, &domain, dkek);
    if (sw == FK_SW_OK)
        sw = blob_sw(hsm_blob_decode(blob, blob_len, dkek, s_plain, sizeof(s_plain), &bk));
    fk_wipe(dkek, sizeof(dkek));

    memset(&pol, 0, sizeof(pol));
    if (sw == FK_SW_OK) {
        pol.domain = domain;
        pol.n_algs = (uint8_t)bk.algs.len;
        if (bk.algs.len) memcpy(pol.algs, bk.algs.p, bk.algs.len);
        pol.has_counter = bk.has_counter;
        pol.counter = bk.counter;
        sw = material_of(&bk, &pol, &len);
    }
    fk_wipe(s_plain, sizeof(s_plain));
    fk_wipe(&bk, sizeof(bk));

    /* The request of an asymmetric key, before anything is written. */
    if (sw == FK_SW_OK && pol.kind != FK_KEY_AES) {
        sw = hsm_device_ensure(ctx);
        fk_rbuf_t r = {s_req, 0, sizeof(s_req)};
        if (sw == FK_SW_OK) sw = hsm_key_request(ctx, id, &pol, s_material, len, &r);
        req_len = r.len;
    }
    if (sw == FK_SW_OK) {
        sw = hsm_store_sw(fk_space_batch_begin(&ctx->space));
        if (sw == FK_SW_OK) sw = hsm_batch_end(ctx, unwrap_stage(ctx, id, &pol, len, req_len));
    }
    fk_wipe(s_material, sizeof(s_material));
    fk_wipe(s_in, sizeof(s_in));
    return sw;
}

const fk_command_t hsm_wrap_commands[] = {
    {INS_WRAP, cmd_wrap},
    {INS_UNWRAP, cmd_unwrap},
};
const size_t hsm_wrap_commands_len = FK_ARRAY_SIZE(hsm_wrap_commands);
