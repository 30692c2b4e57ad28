/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyobj.h - the key-object service: a key and everything that limits it
 * (kind, size or curve, allowed algorithms, use counter, key domain, flags)
 * are one sealed record in the applet's main space, written atomically; the
 * live use count is a counter in the applet's counters space under the same
 * id, bound to the key's generation (counter.h), so that a count left from
 * an earlier key under the same id never applies to a new one.
 *
 * Key material by kind (docs/key-objects.md):
 *   RSA, EC, MONT  the crypto module's private key blob (crypto/pk.h)
 *   EDWARDS        seed || public key (Ed25519: 32 || 32, Ed448: 57 || 57)
 *   AES            the key bytes (128, 192, 256 bits; 512: two 256-bit halves, XTS)
 *   HMAC           the key bytes (1..FK_KEY_HMAC_MAX)
 * An applet may also encrypt the material under a key of its own (a KEK:
 * the HSM's master key, which only a verified PIN brings into RAM), inside
 * the seal.
 *
 * A key is opened for one operation: fk_key_open (no effect: it only reads),
 * the applet's checks, presence, fk_key_spend (one use, on flash before the
 * key is used), the operation, fk_key_close (wiped). One key is open at a
 * time; the material lives in this module's work area meanwhile.
 */
#ifndef FUSEKEY_KEYOBJ_H
#define FUSEKEY_KEYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "services/counter.h"

typedef enum fk_key_kind {
    FK_KEY_RSA = 1,
    FK_KEY_EC = 2,      /* a Weierstrass curve: ECDSA, ECDH */
    FK_KEY_MONT = 3,    /* X25519 / X448: ECDH */
    FK_KEY_EDWARDS = 4, /* Ed25519 / Ed448: EdDSA */
    FK_KEY_AES = 5,
    FK_KEY_HMAC = 6,    /* a generic secret for HMAC and KDFs */
} fk_key_kind_t;

#define FK_KEY_ALGS_MAX 16u
#define FK_KEY_NO_DOMAIN 0xFFu
#define FK_KEY_KEK_LEN 32u
#define FK_KEY_HMAC_MAX 128u
#define FK_KEY_ED25519_LEN 32u
#define FK_KEY_ED448_LEN 57u

/* Everything that limits a key. */
typedef struct fk_key_policy {
    uint8_t kind;      /* fk_key_kind_t */
    uint16_t size;     /* RSA: modulus bits; EC, MONT: fk_curve_t; EDWARDS: the curve id of
                        * its Montgomery twin (FK_CURVE_X25519 Ed25519, FK_CURVE_X448 Ed448);
                        * AES: key bits (128, 192, 256, 512); HMAC: key bytes */
    uint16_t flags;    /* the applet's own */
    uint8_t domain;    /* key domain, FK_KEY_NO_DOMAIN when none */
    bool has_counter;  /* the key may be used `counter` times */
    uint32_t counter;
    uint8_t n_algs;    /* 0: every algorithm of its kind */
    uint8_t algs[FK_KEY_ALGS_MAX]; /* the applet's algorithm ids */
} fk_key_policy_t;

/* An open key (fk_key_open .. fk_key_close). */
typedef struct fk_key {
    uint16_t id;
    fk_key_policy_t pol;
    fk_gen_t gen;
    uint32_t uses_left;       /* with pol.has_counter; 0 also when the count is missing */
    const uint8_t *material;  /* into the service's work area */
    size_t len;
} fk_key_t;

enum {
    FK_KEY_OK = 0,
    FK_KEY_ENOENT = -1,   /* no key with that id */
    FK_KEY_EDAMAGED = -2, /* the record does not open (damaged, another KEK) or is malformed */
    FK_KEY_EUSED = -3,    /* fk_key_spend: no use left */
    FK_KEY_EINVAL = -4,   /* fk_key_put: a policy or material that does not fit its kind */
    FK_KEY_ESTORE = -5,   /* the store refused a write (full, flash error) */
    FK_KEY_ECRYPTO = -6,  /* no entropy, or the crypto library failed */
    FK_KEY_ENOSPC = -7,   /* fk_key_put: the store is full (nothing changed) */
};

/* Open key `id` of the applet (kek: the applet's 32-byte key the material is
 * encrypted under, or NULL). Reads only. On failure *key is zeroed and
 * nothing stays in RAM. */
int fk_key_open(const fk_applet_ctx_t *ctx, uint16_t id, const uint8_t *kek, fk_key_t *key);

/* Whether the key's list allows algorithm alg (an empty list allows all). */
bool fk_key_allows(const fk_key_t *key, uint8_t alg);

/* Spend one use of the open key, on flash before it returns (nothing to do
 * for a key without counter). FK_KEY_EUSED when none is left. */
int fk_key_spend(const fk_applet_ctx_t *ctx, fk_key_t *key);

/* Wipe the open key (the work area and *key). */
void fk_key_close(fk_key_t *key);

/* The policy and uses left (may be NULL) of key `id` without keeping its
 * material: FK_KEY_OK, FK_KEY_ENOENT, FK_KEY_EDAMAGED. */
int fk_key_info(const fk_applet_ctx_t *ctx, uint16_t id, fk_key_policy_t *pol,
                uint32_t *uses_left);

/* Store key `id`: the policy and material are checked against the kind
 * first (FK_KEY_EINVAL, nothing written); then a new generation's use
 * counter is written (the current key keeps its own), then the sealed record:
 * staged when the caller has a batch open on the main partition, so that the
 * old key, with its own policy and count, stays in force until the commit. */
int fk_key_put(const fk_applet_ctx_t *ctx, uint16_t id, const fk_key_policy_t *pol,
               const uint8_t *material, size_t len, const uint8_t *kek);

/* Delete key `id` (staged in an open batch). FK_KEY_ENOENT when absent. Its
 * counter record may stay: it is bound to a generation no later key has. */
int fk_key_delete(const fk_applet_ctx_t *ctx, uint16_t id);

/* The migration hook's part for one key: re-seal its record under the
 * current root (applet.h, docs/migration.md). FK_KEY_ENOENT counts as done. */
int fk_key_migrate(const fk_applet_ctx_t *ctx, uint16_t id);

#endif /* FUSEKEY_KEYOBJ_H */
