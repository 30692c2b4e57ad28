/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pin.c - the PIN service (pin.h; record format and write orders in
 * docs/pin.md).
 *
 *   main space, id          sealed { version, flags, length, limit, generation,
 *                                    verifier, [secret wrapped under the PIN] }
 *   counters space, same id  tries left, bound to the generation (counter.h)
 *
 * IMPLEMENTATION NOTE: retry counters. A try is spent by writing the
 * decremented counter (one atomic store write that has returned, hence is on
 * flash) before the verifier is computed. A correct PIN restores the counter
 * with a second write. A new PIN (fk_pin_set) gets a new generation whose
 * counter is written before its record, keeping the old generation's value:
 * a cut before the record leaves the old PIN with its own tries.
 *
 * IMPLEMENTATION NOTE: constant time. The PIN is compared only through
 * fk_pin_verifier_check (fk_ct_equal over HMAC tags) and the secret is opened
 * by the AEAD's constant-time tag check. What is read depends only on the
 * command; PREFIX splits by the stored length, which no answer reveals.
 */
#include "services/pin.h"

#include <string.h>

#include "crypto/crypto.h"
#include "seal/seal.h"
#include "services/counter.h"
#include "services/services.h"
#include "util.h"

#define PINREC_VERSION 1u
#define PINREC_F_SECRET 0x80u /* a wrapped secret follows the verifier */
#define PINREC_F_PUBLIC (FK_PIN_F_MUST_CHANGE)
#define WRAP_SALT_LEN 16u

#define OFF_VERSION 0u
#define OFF_FLAGS 1u
#define OFF_LEN 2u
#define OFF_LIMIT 3u
#define OFF_GEN 4u
#define OFF_VERIFIER (OFF_GEN + FK_GEN_LEN)
#define OFF_SALT (OFF_VERIFIER + FK_PIN_VERIFIER_LEN)
#define OFF_NONCE (OFF_SALT + WRAP_SALT_LEN)
#define OFF_SECRET (OFF_NONCE + FK_AEAD_NONCE_LEN)
#define OFF_TAG (OFF_SECRET + FK_PIN_SECRET_LEN)
#define PINREC_LEN_PLAIN OFF_SALT
#define PINREC_LEN_SECRET (OFF_TAG + FK_AEAD_TAG_LEN)

_Static_assert(PINREC_LEN_PLAIN == 62u, "PIN record layout (docs/pin.md)");
_Static_assert(PINREC_LEN_SECRET == 138u, "PIN record layout (docs/pin.md)");
_Static_assert(PINREC_LEN_SECRET + FK_SEAL_OVERHEAD <= FK_PIN_RECORD_MAX, "FK_PIN_RECORD_MAX");
_Static_assert(FK_PIN_LIMIT_MAX <= 0x0Fu, "63Cx carries at most 15 tries");

/* PBKDF2 work factor of the wrapping key: the verifier's, so that the wrap
 * is no cheaper to attack offline than the verifier (docs/sealing.md). */
#define WRAP_PBKDF2_ITERATIONS 4096u
#define KEY_LEN 32u

static const char k_label_wrap[] = "fusekey pin wrap v1";
#define LABEL_LEN(s) (sizeof(s) - 1u)
#define WRAP_INFO_LEN (LABEL_LEN(k_label_wrap) + 3u)
#define WRAP_AAD_LEN (OFF_VERIFIER + 3u)

/* A loaded PIN record. */
typedef struct pinrec {
    uint8_t b[PINREC_LEN_SECRET];
    size_t len;
} pinrec_t;

static void rec_gen(const pinrec_t *r, fk_gen_t *gen) { memcpy(gen->b, r->b + OFF_GEN, FK_GEN_LEN); }

/* The PIN's rules: length and characters. */
static bool rules_ok(const fk_pin_ref_t *ref, const uint8_t *pin, size_t len)
{
    if (len < ref->min_len || len > ref->max_len || (pin == NULL && len > 0)) return false;
    for (size_t i = 0; i < len; i++) {
        if (ref->charset == FK_PIN_DIGITS && (pin[i] < '0' || pin[i] > '9')) return false;
        if (ref->charset == FK_PIN_PRINTABLE && (pin[i] < 0x20u || pin[i] > 0x7Eu)) return false;
    }
    return true;
}

/* Load and open the record of ref: FK_PIN_OK, FK_PIN_ENOENT or
 * FK_PIN_EDAMAGED (r wiped). */
static int rec_load(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, pinrec_t *r)
{
    size_t n = 0;
    const int rc = fk_seal_load(&ctx->space, ref->id, r->b, sizeof(r->b), &n);

    r->len = 0;
    if (rc == FK_SEAL_ENOENT) return FK_PIN_ENOENT;
    if (rc == FK_SEAL_OK && r->b[OFF_VERSION] == PINREC_VERSION &&
        n == ((r->b[OFF_FLAGS] & PINREC_F_SECRET) ? PINREC_LEN_SECRET : PINREC_LEN_PLAIN) &&
        (r->b[OFF_FLAGS] & ~(PINREC_F_SECRET | PINREC_F_PUBLIC)) == 0 &&
        r->b[OFF_LEN] >= ref->min_len && r->b[OFF_LEN] <= ref->max_len &&
        r->b[OFF_LIMIT] >= 1u && r->b[OFF_LIMIT] <= FK_PIN_LIMIT_MAX) {
        r->len = n;
        return FK_PIN_OK;
    }
    fk_wipe(r, sizeof(*r));
    return FK_PIN_EDAMAGED;
}

/* Tries left of the loaded record: 0 when the counter has no value for its
 * generation or does not read (fail closed), never above the limit. */
static uint8_t tries_left(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const pinrec_t *r)
{
    fk_gen_t gen;
    uint32_t v = 0;
    rec_gen(r, &gen);
    if (fk_counter_get(&ctx->counters, ref->id, &gen, &v) != FK_COUNTER_OK) return 0;
    return v > r->b[OFF_LIMIT] ? r->b[OFF_LIMIT] : (uint8_t)v;
}

static void fill_status(const pinrec_t *r, uint8_t tries, fk_pin_status_t *st)
{
    if (st == NULL) return;
    st->len = r->b[OFF_LEN];
    st->limit = r->b[OFF_LIMIT];
    st->tries = tries;
    st->flags = r->b[OFF_FLAGS] & PINREC_F_PUBLIC;
}

static int set_tries(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const pinrec_t *r,
                     uint8_t tries)
{
    fk_gen_t gen;
    rec_gen(r, &gen);
    return fk_counter_update(&ctx->counters, ref->id, &gen, tries) == FK_COUNTER_OK
               ? FK_PIN_OK
               : FK_PIN_ESTORE;
}

/* The key wrapping the secret: HKDF-Expand(PBKDF2(pin, salt), label || ns || id). */
static bool wrap_key(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const uint8_t *pin,
                     size_t len, const uint8_t salt[WRAP_SALT_LEN], uint8_t key[KEY_LEN])
{
    uint8_t prk[KEY_LEN];
    uint8_t info[WRAP_INFO_LEN];
    bool ok;

    memcpy(info, k_label_wrap, LABEL_LEN(k_label_wrap));
    info[LABEL_LEN(k_label_wrap)] = ctx->space.ns;
    fk_put_be16(info + LABEL_LEN(k_label_wrap) + 1u, ref->id);
    ok = fk_pbkdf2_sha256(pin, len, salt, WRAP_SALT_LEN, WRAP_PBKDF2_ITERATIONS, prk,
                          sizeof(prk)) == FK_CRYPTO_OK &&
         fk_hkdf_sha256_expand(prk, sizeof(prk), info, sizeof(info), key, KEY_LEN) ==
             FK_CRYPTO_OK;
    fk_wipe(prk, sizeof(prk));
    if (!ok) fk_wipe(key, KEY_LEN);
    return ok;
}

/* AAD of the wrap: the record's head (version .. generation) and ns || id,
 * so neither the length, the limit, the flags nor the generation can be
 * changed without breaking it. */
static void wrap_aad(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const uint8_t *rec,
                     uint8_t aad[WRAP_AAD_LEN])
{
    memcpy(aad, rec, OFF_VERIFIER);
    aad[OFF_VERIFIER] = ctx->space.ns;
    fk_put_be16(aad + OFF_VERIFIER + 1u, ref->id);
}

/* Open the secret of r with pin (already verified); secret wiped on failure. */
static int secret_open(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const pinrec_t *r,
                       const uint8_t *pin, size_t len, uint8_t secret[FK_PIN_SECRET_LEN])
{
    uint8_t key[KEY_LEN], aad[WRAP_AAD_LEN];
    int rc = FK_PIN_EDAMAGED;

    if (r->b[OFF_FLAGS] & PINREC_F_SECRET) {
        wrap_aad(ctx, ref, r->b, aad);
        if (!wrap_key(ctx, ref, pin, len, r->b + OFF_SALT, key))
            rc = FK_PIN_ECRYPTO;
        else if (fk_aead_open(key, r->b + OFF_NONCE, aad, sizeof(aad), r->b + OFF_SECRET,
                              FK_PIN_SECRET_LEN, r->b + OFF_TAG, secret) == FK_CRYPTO_OK)
            rc = FK_PIN_OK;
    }
    fk_wipe(key, sizeof(key));
    if (rc != FK_PIN_OK) fk_wipe(secret, FK_PIN_SECRET_LEN);
    return rc;
}

/* True when the verifier in r is under another root than the current one. */
static bool verifier_outdated(const pinrec_t *r)
{
    fk_root_t vroot, root;
    return fk_pin_verifier_root(r->b + OFF_VERIFIER, &vroot) == FK_SEAL_OK &&
           fk_seal_current_root(&root) == FK_SEAL_OK && vroot != root;
}

/* After pin was proven against r (as stored) and the tries were restored:
 * when its verifier is under another root than the current one, write the
 * record again with a verifier made under the current root; everything else
 * stays as it is. One atomic write, so a cut leaves the old or the new
 * record, both accepting the same PIN and opening the same secret. A failure
 * changes nothing and is retried at the next proof. */
static void verifier_migrate(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref,
                             const pinrec_t *r, const uint8_t *pin, size_t len)
{
    pinrec_t next;
    bool moved;

    if (!verifier_outdated(r)) return;
    next = *r;
    moved = fk_pin_verifier_make(&ctx->space, ref->id, pin, len, next.b + OFF_VERIFIER) ==
                FK_SEAL_OK &&
            fk_seal_store(&ctx->space, ref->id, next.b, next.len) == FK_SEAL_OK;
    fk_wipe(&next, sizeof(next));
    if (moved) fk_services_migrated(ctx->svc);
}

int fk_pin_status(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, fk_pin_status_t *st)
{
    pinrec_t r;
    const int rc = rec_load(ctx, ref, &r);

    if (rc == FK_PIN_OK) fill_status(&r, tries_left(ctx, ref, &r), st);
    fk_wipe(&r, sizeof(r));
    return rc;
}

int fk_pin_check(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, fk_pin_session_t *session,
                 const uint8_t *data, size_t len, unsigned flags, size_t *used,
                 uint8_t secret[FK_PIN_SECRET_LEN], fk_pin_status_t *st)
{
    pinrec_t r;
    size_t n = len;
    uint8_t left;
    int rc;

    if (used != NULL) *used = 0;
    fk_pin_session_drop(session, ref);
    /* The rules are public: refusing outside them reveals nothing. */
    if (!(flags & FK_PIN_CHECK_PREFIX) && !rules_ok(ref, data, len)) return FK_PIN_EFORMAT;
    rc = rec_load(ctx, ref, &r);
    if (rc != FK_PIN_OK) return rc;
    left = tries_left(ctx, ref, &r);
    fill_status(&r, left, st);
    if ((r.b[OFF_FLAGS] & FK_PIN_F_MUST_CHANGE) && !(flags & FK_PIN_CHECK_FOR_CHANGE)) {
        rc = FK_PIN_EMUSTCHANGE;
        goto out;
    }
    if (left == 0) {
        rc = FK_PIN_EBLOCKED;
        goto out;
    }
    if (flags & FK_PIN_CHECK_PREFIX) n = FK_MIN(len, (size_t)r.b[OFF_LEN]);
    if (used != NULL) *used = n;

    /* The try is on flash before anything is compared. */
    left--;
    rc = set_tries(ctx, ref, &r, left);
    if (rc != FK_PIN_OK) goto out;
    fill_status(&r, left, st);
    rc = fk_pin_verifier_check(&ctx->space, ref->id, data, n, r.b + OFF_VERIFIER);
    if (rc != FK_SEAL_OK) {
        rc = rc == FK_SEAL_EAUTH ? (left == 0 ? FK_PIN_EBLOCKED : FK_PIN_EWRONG) : FK_PIN_ECRYPTO;
        goto out;
    }
    if (secret != NULL) {
        rc = secret_open(ctx, ref, &r, data, n, secret);
        if (rc != FK_PIN_OK) goto out;
    }
    rc = set_tries(ctx, ref, &r, r.b[OFF_LIMIT]);
    if (rc != FK_PIN_OK) goto out;
    fill_status(&r, r.b[OFF_LIMIT], st);
    session->verified |= 1u << ref->session_bit;
    /* After the restore: a cut in the rewrite costs no try. */
    verifier_migrate(ctx, ref, &r, data, n);
out:
    if (rc != FK_PIN_OK && secret != NULL) fk_wipe(secret, FK_PIN_SECRET_LEN);
    fk_wipe(&r, sizeof(r));
    return rc;
}

/* Build the record of a new PIN into r (wiped on failure). */
static int rec_build(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const uint8_t *pin,
                     size_t len, uint8_t limit, uint8_t flags,
                     const uint8_t secret[FK_PIN_SECRET_LEN], const fk_gen_t *gen, pinrec_t *r)
{
    uint8_t key[KEY_LEN], aad[WRAP_AAD_LEN];
    int rc = FK_PIN_ECRYPTO;

    memset(r, 0, sizeof(*r));
    r->b[OFF_VERSION] = PINREC_VERSION;
    r->b[OFF_FLAGS] = (uint8_t)((flags & PINREC_F_PUBLIC) | (secret != NULL ? PINREC_F_SECRET : 0u));
    r->b[OFF_LEN] = (uint8_t)len;
    r->b[OFF_LIMIT] = limit;
    memcpy(r->b + OFF_GEN, gen->b, FK_GEN_LEN);
    if (fk_pin_verifier_make(&ctx->space, ref->id, pin, len, r->b + OFF_VERIFIER) != FK_SEAL_OK)
        goto out;
    r->len = PINREC_LEN_PLAIN;
    if (secret == NULL) {
        rc = FK_PIN_OK;
        goto out;
    }
    if (fk_rng_bytes(r->b + OFF_SALT, WRAP_SALT_LEN + FK_AEAD_NONCE_LEN) != FK_CRYPTO_OK ||
        !wrap_key(ctx, ref, pin, len, r->b + OFF_SALT, key))
        goto out;
    wrap_aad(ctx, ref, r->b, aad);
    if (fk_aead_seal(key, r->b + OFF_NONCE, aad, sizeof(aad), secret, FK_PIN_SECRET_LEN,
                     r->b + OFF_SECRET, r->b + OFF_TAG) == FK_CRYPTO_OK) {
        r->len = PINREC_LEN_SECRET;
        rc = FK_PIN_OK;
    }
out:
    fk_wipe(key, sizeof(key));
    if (rc != FK_PIN_OK) fk_wipe(r, sizeof(*r));
    return rc;
}

int fk_pin_set(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, const uint8_t *pin, size_t len,
               uint8_t limit, uint8_t flags, const uint8_t secret[FK_PIN_SECRET_LEN])
{
    pinrec_t r;
    fk_gen_t gen, cur;
    bool have_cur = false;
    int rc;

    if (!rules_ok(ref, pin, len) || limit < 1u || limit > FK_PIN_LIMIT_MAX ||
        (flags & ~PINREC_F_PUBLIC) != 0)
        return FK_PIN_EFORMAT;
    /* The current generation keeps its tries until the new record commits. */
    if (rec_load(ctx, ref, &r) == FK_PIN_OK) {
        rec_gen(&r, &cur);
        have_cur = true;
    }
    fk_wipe(&r, sizeof(r));
    if (fk_gen_new(&gen) != FK_COUNTER_OK) return FK_PIN_ECRYPTO;
    rc = rec_build(ctx, ref, pin, len, limit, flags, secret, &gen, &r);
    if (rc == FK_PIN_OK &&
        fk_counter_set(&ctx->counters, ref->id, &gen, limit, have_cur ? &cur : NULL) !=
            FK_COUNTER_OK)
        rc = FK_PIN_ESTORE;
    if (rc == FK_PIN_OK && fk_seal_store(&ctx->space, ref->id, r.b, r.len) != FK_SEAL_OK)
        rc = FK_PIN_ESTORE;
    fk_wipe(&r, sizeof(r));
    /* A new verifier is under the current root: the migration may be done
     * (the services look once the command is over, outside any batch). */
    if (rc == FK_PIN_OK) fk_services_migrated(ctx->svc);
    return rc;
}

int fk_pin_reset_tries(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref)
{
    pinrec_t r;
    int rc = rec_load(ctx, ref, &r);

    if (rc == FK_PIN_OK) rc = set_tries(ctx, ref, &r, r.b[OFF_LIMIT]);
    fk_wipe(&r, sizeof(r));
    return rc;
}

int fk_pin_root(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, fk_root_t *root)
{
    pinrec_t r;
    int rc = rec_load(ctx, ref, &r);

    if (rc == FK_PIN_OK && fk_pin_verifier_root(r.b + OFF_VERIFIER, root) != FK_SEAL_OK)
        rc = FK_PIN_EDAMAGED;
    fk_wipe(&r, sizeof(r));
    return rc;
}

int fk_pin_migrate(const fk_applet_ctx_t *ctx, const fk_pin_ref_t *ref, unsigned *pending)
{
    pinrec_t r;
    int rc = fk_seal_reseal(&ctx->space, ref->id, NULL);

    if (rc == FK_SEAL_ENOENT) return FK_PIN_OK;
    if (rc != FK_SEAL_OK) return FK_PIN_EDAMAGED;
    rc = rec_load(ctx, ref, &r);
    if (rc == FK_PIN_OK && verifier_outdated(&r)) (*pending)++;
    fk_wipe(&r, sizeof(r));
    return rc == FK_PIN_ENOENT ? FK_PIN_OK : rc;
}
