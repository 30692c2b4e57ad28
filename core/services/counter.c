/* SPDX-License-Identifier: Apache-2.0 */
/*
 * counter.c - counters bound to a generation (counter.h).
 */
#include "services/counter.h"

#include <string.h>

#include "crypto/crypto.h"
#include "util.h"

#define CTR_VERSION 1u
#define CTR_SLOTS_MAX 2u
#define CTR_HEADER 2u
#define CTR_SLOT_LEN (FK_GEN_LEN + 4u)
#define CTR_LEN_MAX (CTR_HEADER + CTR_SLOTS_MAX * CTR_SLOT_LEN)

int fk_gen_new(fk_gen_t *gen)
{
    static const fk_gen_t zero = {{0}};
    do {
        if (fk_rng_bytes(gen->b, sizeof(gen->b)) != FK_CRYPTO_OK) return FK_COUNTER_ERNG;
    } while (fk_gen_equal(gen, &zero));
    return FK_COUNTER_OK;
}

bool fk_gen_equal(const fk_gen_t *a, const fk_gen_t *b)
{
    return memcmp(a->b, b->b, FK_GEN_LEN) == 0;
}

/* Read counter `id` into rec; *n gets its slot count (0 when absent). */
static int load(const fk_space_t *ctrs, uint16_t id, uint8_t rec[CTR_LEN_MAX], unsigned *n)
{
    uint32_t size = 0;
    int rc = fk_space_size(ctrs, id, &size);

    *n = 0;
    if (rc == FK_STORE_ENOENT) return FK_COUNTER_OK;
    if (rc != FK_STORE_OK || size < CTR_HEADER + CTR_SLOT_LEN || size > CTR_LEN_MAX)
        return FK_COUNTER_EDAMAGED;
    if (fk_space_read(ctrs, id, 0, rec, size) != FK_STORE_OK) return FK_COUNTER_EDAMAGED;
    if (rec[0] != CTR_VERSION || rec[1] == 0u || rec[1] > CTR_SLOTS_MAX ||
        size != CTR_HEADER + rec[1] * CTR_SLOT_LEN)
        return FK_COUNTER_EDAMAGED;
    *n = rec[1];
    return FK_COUNTER_OK;
}

/* The slot of gen in rec (n slots), or NULL. */
static const uint8_t *find(const uint8_t *rec, unsigned n, const fk_gen_t *gen)
{
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *slot = rec + CTR_HEADER + i * CTR_SLOT_LEN;
        if (memcmp(slot, gen->b, FK_GEN_LEN) == 0) return slot;
    }
    return NULL;
}

int fk_counter_get(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t *value)
{
    uint8_t rec[CTR_LEN_MAX];
    unsigned n;
    int rc = load(ctrs, id, rec, &n);

    if (rc != FK_COUNTER_OK) return rc;
    const uint8_t *slot = find(rec, n, gen);
    if (slot == NULL) return FK_COUNTER_ENOENT;
    *value = fk_be32(slot + FK_GEN_LEN);
    return FK_COUNTER_OK;
}

/* Write counter `id`: gen bound to value, plus `other` (a whole slot, may
 * be NULL). */
static int store(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t value,
                 const uint8_t *other)
{
    uint8_t rec[CTR_LEN_MAX];
    const unsigned slots = other != NULL ? 2u : 1u;

    rec[0] = CTR_VERSION;
    rec[1] = (uint8_t)slots;
    memcpy(rec + CTR_HEADER, gen->b, FK_GEN_LEN);
    fk_put_be32(rec + CTR_HEADER + FK_GEN_LEN, value);
    if (other != NULL) memcpy(rec + CTR_HEADER + CTR_SLOT_LEN, other, CTR_SLOT_LEN);
    return fk_space_write(ctrs, id, rec, CTR_HEADER + slots * CTR_SLOT_LEN) == FK_STORE_OK
               ? FK_COUNTER_OK
               : FK_COUNTER_ESTORE;
}

int fk_counter_set(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t value,
                   const fk_gen_t *keep)
{
    uint8_t old[CTR_LEN_MAX];
    unsigned n = 0;
    const uint8_t *slot = NULL;

    /* A damaged old record has nothing worth keeping. */
    if (keep != NULL && !fk_gen_equal(keep, gen) && load(ctrs, id, old, &n) == FK_COUNTER_OK)
        slot = find(old, n, keep);
    return store(ctrs, id, gen, value, slot);
}

int fk_counter_update(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t value)
{
    uint8_t old[CTR_LEN_MAX];
    unsigned n = 0;
    const uint8_t *other = NULL;

    if (load(ctrs, id, old, &n) == FK_COUNTER_OK) {
        for (unsigned i = 0; i < n && other == NULL; i++) {
            const uint8_t *s = old + CTR_HEADER + i * CTR_SLOT_LEN;
            if (memcmp(s, gen->b, FK_GEN_LEN) != 0) other = s;
        }
    }
    return store(ctrs, id, gen, value, other);
}
