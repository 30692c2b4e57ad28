/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyobj.c - the key-object service (keyobj.h; the record format is in
 * docs/key-objects.md).
 *
 *   main space, id           sealed { version, kind, size, generation, flags,
 *                                     domain, counter, algorithms,
 *                                     material, in the clear or under a KEK }
 *   counters space, same id  uses left, bound to the generation (counter.h)
 *
 * IMPLEMENTATION NOTE: one static work area (s_work) holds the record of the
 * open key (the material decrypted in place) and another (s_put) the record
 * being written, instead of 4 KiB stack frames. The core is single-threaded
 * (hal.h); one key is open at a time (asserted); both areas are wiped after
 * every use.
 */
#include "services/keyobj.h"

#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "seal/seal.h"
#include "util.h"

#define KEYREC_VERSION 1u
#define WRAP_PLAIN 0u
#define WRAP_KEK 1u

#define OFF_VERSION 0u
#define OFF_KIND 1u
#define OFF_SIZE 2u
#define OFF_GEN 4u
#define OFF_FLAGS (OFF_GEN + FK_GEN_LEN)
#define OFF_DOMAIN (OFF_FLAGS + 2u)
#define OFF_HAS_COUNTER (OFF_DOMAIN + 1u)
#define OFF_COUNTER (OFF_HAS_COUNTER + 1u)
#define OFF_N_ALGS (OFF_COUNTER + 4u)
#define OFF_ALGS (OFF_N_ALGS + 1u)
#define KEYREC_HEAD_MAX (OFF_ALGS + FK_KEY_ALGS_MAX + 1u) /* + the wrap byte */
#define KEK_OVERHEAD (FK_AEAD_NONCE_LEN + FK_AEAD_TAG_LEN)
#define MATERIAL_MAX (FK_SEAL_MAX_PLAINTEXT - KEYREC_HEAD_MAX - KEK_OVERHEAD)
#define KEY_LEN 32u

_Static_assert(OFF_ALGS == 21u, "key record layout (docs/key-objects.md)");
_Static_assert(FK_PK_BLOB_MAX <= MATERIAL_MAX, "the largest key blob fits one sealed record");

static const char k_kek_salt[] = "fusekey key kek v1";
#define LABEL_LEN(s) (sizeof(s) - 1u)
#define KEK_AAD_MAX (KEYREC_HEAD_MAX + 3u)

static uint8_t s_work[FK_SEAL_MAX_PLAINTEXT];
static uint8_t s_put[FK_SEAL_MAX_PLAINTEXT];
static bool s_open;

/* Material lengths a kind allows (the pk blobs are checked by fk_pk_parse). */
static bool material_fits(const fk_key_policy_t *pol, const uint8_t *m, size_t len)
{
    fk_pk_key_t key;
    bool ok;

    switch (pol->kind) {
    case FK_KEY_RSA:
    case FK_KEY_EC:
    case FK_KEY_MONT:
        ok = fk_pk_parse(m, len, &key) == FK_CRYPTO_OK &&
             key.type == (pol->kind == FK_KEY_RSA  ? FK_PK_RSA
                          : pol->kind == FK_KEY_EC ? FK_PK_EC
                                                   : FK_PK_MONT) &&
             (pol->kind == FK_KEY_RSA ? key.bits == pol->size : key.curve == pol->size);
        fk_wipe(&key, sizeof(key));
        return ok;
    case FK_KEY_EDWARDS:
        return (pol->size == FK_CURVE_X25519 && len == 2u * FK_KEY_ED25519_LEN) ||
               (pol->size == FK_CURVE_X448 && len == 2u * FK_KEY_ED448_LEN);
    case FK_KEY_AES:
        return (pol->size == 128u || pol->size == 192u || pol->size == 256u || pol->size == 512u) &&
               len * 8u == pol->size;
    case FK_KEY_HMAC:
        return len >= 1u && len <= FK_KEY_HMAC_MAX && len == pol->size;
    default:
        return false;
    }
}

static bool policy_fits(const fk_key_policy_t *pol)
{
    return pol->n_algs <= FK_KEY_ALGS_MAX && pol->kind >= FK_KEY_RSA && pol->kind <= FK_KEY_HMAC;
}

/* Write the record head of pol and gen into rec; returns its length (the
 * wrap byte included). */
static size_t head_put(uint8_t *rec, const fk_key_policy_t *pol, const fk_gen_t *gen, uint8_t wrap)
{
    rec[OFF_VERSION] = KEYREC_VERSION;
    rec[OFF_KIND] = pol->kind;
    fk_put_be16(rec + OFF_SIZE, pol->size);
    memcpy(rec + OFF_GEN, gen->b, FK_GEN_LEN);
    fk_put_be16(rec + OFF_FLAGS, pol->flags);
    rec[OFF_DOMAIN] = pol->domain;
    rec[OFF_HAS_COUNTER] = pol->has_counter ? 1u : 0u;
    fk_put_be32(rec + OFF_COUNTER, pol->has_counter ? pol->counter : 0u);
    rec[OFF_N_ALGS] = pol->n_algs;
    memcpy(rec + OFF_ALGS, pol->algs, pol->n_algs);
    rec[OFF_ALGS + pol->n_algs] = wrap;
    return OFF_ALGS + pol->n_algs + 1u;
}

/* Parse a record head of n bytes; *head_len gets its length. */
static bool head_get(const uint8_t *rec, size_t n, fk_key_policy_t *pol, fk_gen_t *gen,
                     size_t *head_len)
{
    memset(pol, 0, sizeof(*pol));
    if (n < OFF_ALGS + 1u || rec[OFF_VERSION] != KEYREC_VERSION) return false;
    pol->kind = rec[OFF_KIND];
    pol->size = fk_be16(rec + OFF_SIZE);
    memcpy(gen->b, rec + OFF_GEN, FK_GEN_LEN);
    pol->flags = fk_be16(rec + OFF_FLAGS);
    pol->domain = rec[OFF_DOMAIN];
    if (rec[OFF_HAS_COUNTER] > 1u) return false;
    pol->has_counter = rec[OFF_HAS_COUNTER] == 1u;
    pol->counter = fk_be32(rec + OFF_COUNTER);
    pol->n_algs = rec[OFF_N_ALGS];
    if (!policy_fits(pol) || n < OFF_ALGS + pol->n_algs + 1u) return false;
    memcpy(pol->algs, rec + OFF_ALGS, pol->n_algs);
    *head_len = OFF_ALGS + pol->n_algs + 1u;
    return rec[*head_len - 1u] == WRAP_PLAIN || rec[*head_len - 1u] == WRAP_KEK;
}

/* The AEAD key of the material under kek: HKDF(salt, kek, info = ns || id). */
static bool kek_key(const fk_applet_ctx_t *ctx, uint16_t id, const uint8_t *kek, uint8_t key[KEY_LEN])
{
    uint8_t info[3];
    info[0] = ctx->space.ns;
    fk_put_be16(info + 1, id);
    return fk_hkdf_sha256(k_kek_salt, LABEL_LEN(k_kek_salt), kek, FK_KEY_KEK_LEN, info,
                          sizeof(info), key, KEY_LEN) == FK_CRYPTO_OK;
}

/* AAD of the material under a KEK: the record head, then ns || id. */
static size_t kek_aad(const fk_applet_ctx_t *ctx, uint16_t id, const uint8_t *rec, size_t head_len,
                      uint8_t aad[KEK_AAD_MAX])
{
    memcpy(aad, rec, head_len);
    aad[head_len] = ctx->space.ns;
    fk_put_be16(aad + head_len + 1u, id);
    return head_len + 3u;
}

/* Load and open record `id` into s_work: policy, generation, material (in
 * place). FK_KEY_OK, FK_KEY_ENOENT or FK_KEY_EDAMAGED (s_work wiped). */
static int load(const fk_applet_ctx_t *ctx, uint16_t id, const uint8_t *kek, fk_key_t *key)
{
    uint8_t k[KEY_LEN], aad[KEK_AAD_MAX];
    size_t n = 0, head_len = 0;
    int rc = fk_seal_load(&ctx->space, id, s_work, sizeof(s_work), &n);

    if (rc == FK_SEAL_ENOENT) return FK_KEY_ENOENT;
    rc = FK_KEY_EDAMAGED;
    if (rc == FK_KEY_EDAMAGED && n > 0 && head_get(s_work, n, &key->pol, &key->gen, &head_len)) {
        uint8_t *m = s_work + head_len;
        size_t len = n - head_len;
        if (s_work[head_len - 1u] == WRAP_PLAIN) {
            /* A key stored in the clear (inside the seal) opens without a KEK. */
            rc = kek == NULL ? FK_KEY_OK : FK_KEY_EDAMAGED;
        } else if (kek != NULL && len > KEK_OVERHEAD && kek_key(ctx, id, kek, k)) {
            len -= KEK_OVERHEAD;
            const size_t aad_len = kek_aad(ctx, id, s_work, head_len, aad);
            if (fk_aead_open(k, m, aad, aad_len, m + FK_AEAD_NONCE_LEN, len,
                             m + FK_AEAD_NONCE_LEN + len, m + FK_AEAD_NONCE_LEN) == FK_CRYPTO_OK) {
                m += FK_AEAD_NONCE_LEN;
                rc = FK_KEY_OK;
            }
        }
        if (rc == FK_KEY_OK && !material_fits(&key->pol, m, len)) rc = FK_KEY_EDAMAGED;
        if (rc == FK_KEY_OK) {
            key->id = id;
            key->material = m;
            key->len = len;
        }
    }
    fk_wipe(k, sizeof(k));
    if (rc != FK_KEY_OK) {
        fk_wipe(s_work, sizeof(s_work));
        memset(key, 0, sizeof(*key));
    }
    return rc;
}

/* The uses left of an opened key: its bound counter, 0 when missing. */
static uint32_t uses_of(const fk_applet_ctx_t *ctx, const fk_key_t *key)
{
    uint32_t v = 0;
    if (!key->pol.has_counter) return 0;
    if (fk_counter_get(&ctx->counters, key->id, &key->gen, &v) != FK_COUNTER_OK) return 0;
    return v;
}

int fk_key_open(const fk_applet_ctx_t *ctx, uint16_t id, const uint8_t *kek, fk_key_t *key)
{
    FK_ASSERT(!s_open);
    const int rc = load(ctx, id, kek, key);
    if (rc != FK_KEY_OK) return rc;
    key->uses_left = uses_of(ctx, key);
    s_open = true;
    return FK_KEY_OK;
}

bool fk_key_allows(const fk_key_t *key, uint8_t alg)
{
    if (key->pol.n_algs == 0) return true;
    for (size_t i = 0; i < key->pol.n_algs; i++) {
        if (key->pol.algs[i] == alg) return true;
    }
    return false;
}

int fk_key_spend(const fk_applet_ctx_t *ctx, fk_key_t *key)
{
    if (!key->pol.has_counter) return FK_KEY_OK;
    if (key->uses_left == 0) return FK_KEY_EUSED;
    if (fk_counter_update(&ctx->counters, key->id, &key->gen, key->uses_left - 1u) != FK_COUNTER_OK)
        return FK_KEY_ESTORE;
    key->uses_left--;
    return FK_KEY_OK;
}

void fk_key_close(fk_key_t *key)
{
    fk_wipe(s_work, sizeof(s_work));
    fk_wipe(key, sizeof(*key));
    s_open = false;
}

int fk_key_info(const fk_applet_ctx_t *ctx, uint16_t id, fk_key_policy_t *pol,
                uint32_t *uses_left)
{
    fk_key_t key;
    size_t n = 0, head_len = 0;
    int rc;

    FK_ASSERT(!s_open);
    /* The head alone: the material is not opened (nor kept). */
    rc = fk_seal_load(&ctx->space, id, s_work, sizeof(s_work), &n);
    if (rc == FK_SEAL_ENOENT) {
        rc = FK_KEY_ENOENT;
    } else if (rc == FK_SEAL_OK && head_get(s_work, n, &key.pol, &key.gen, &head_len)) {
        key.id = id;
        *pol = key.pol;
        if (uses_left != NULL) *uses_left = uses_of(ctx, &key);
        rc = FK_KEY_OK;
    } else {
        rc = FK_KEY_EDAMAGED;
    }
    fk_wipe(s_work, sizeof(s_work));
    fk_wipe(&key, sizeof(key));
    return rc;
}

int fk_key_put(const fk_applet_ctx_t *ctx, uint16_t id, const fk_key_policy_t *pol,
               const uint8_t *material, size_t len, const uint8_t *kek)
{
    uint8_t k[KEY_LEN], aad[KEK_AAD_MAX];
    fk_key_policy_t cur_pol;
    fk_gen_t gen, cur;
    bool have_cur = false;
    size_t n;
    int rc = FK_KEY_ECRYPTO;

    FK_ASSERT(!s_open);
    if (!policy_fits(pol) || material == NULL || len > MATERIAL_MAX ||
        !material_fits(pol, material, len))
        return FK_KEY_EINVAL;
    /* The current key keeps its own count until the new record commits. */
    if (fk_seal_load(&ctx->space, id, s_work, sizeof(s_work), &n) == FK_SEAL_OK)
        have_cur = head_get(s_work, n, &cur_pol, &cur, &n);
    fk_wipe(s_work, sizeof(s_work));
    if (fk_gen_new(&gen) != FK_COUNTER_OK) return FK_KEY_ECRYPTO;

    n = head_put(s_put, pol, &gen, kek != NULL ? WRAP_KEK : WRAP_PLAIN);
    if (kek == NULL) {
        memcpy(s_put + n, material, len);
        n += len;
        rc = FK_KEY_OK;
    } else if (fk_rng_bytes(s_put + n, FK_AEAD_NONCE_LEN) == FK_CRYPTO_OK &&
               kek_key(ctx, id, kek, k)) {
        const size_t aad_len = kek_aad(ctx, id, s_put, n, aad);
        uint8_t *nonce = s_put + n;
        if (fk_aead_seal(k, nonce, aad, aad_len, material, len, nonce + FK_AEAD_NONCE_LEN,
                         nonce + FK_AEAD_NONCE_LEN + len) == FK_CRYPTO_OK) {
            n += KEK_OVERHEAD + len;
            rc = FK_KEY_OK;
        }
    }
    if (rc == FK_KEY_OK && pol->has_counter &&
        fk_counter_set(&ctx->counters, id, &gen, pol->counter, have_cur ? &cur : NULL) !=
            FK_COUNTER_OK)
        rc = FK_KEY_ESTORE;
    if (rc == FK_KEY_OK) {
        const int src = fk_seal_store(&ctx->space, id, s_put, n);
        if (src != FK_SEAL_OK) rc = src == FK_SEAL_EFULL ? FK_KEY_ENOSPC : FK_KEY_ESTORE;
    }
    fk_wipe(k, sizeof(k));
    fk_wipe(s_put, sizeof(s_put));
    return rc;
}

int fk_key_delete(const fk_applet_ctx_t *ctx, uint16_t id)
{
    const int rc = fk_space_delete(&ctx->space, id);
    if (rc == FK_STORE_ENOENT) return FK_KEY_ENOENT;
    return rc == FK_STORE_OK ? FK_KEY_OK : FK_KEY_ESTORE;
}

int fk_key_migrate(const fk_applet_ctx_t *ctx, uint16_t id)
{
    const int rc = fk_seal_reseal(&ctx->space, id, NULL);
    if (rc == FK_SEAL_OK || rc == FK_SEAL_ENOENT) return FK_KEY_OK;
    return rc == FK_SEAL_ESTORE ? FK_KEY_ESTORE : FK_KEY_EDAMAGED;
}
