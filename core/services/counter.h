/* SPDX-License-Identifier: Apache-2.0 */
/*
 * counter.h - counters bound to a generation: the retry counter of a PIN and
 * the use counter of a key live in the high-churn partition, apart from the
 * record they count for, and each value is tied to the generation of that
 * record. A new PIN or a new key under the same id gets a new generation, so
 * a counter left from an earlier one never applies to it, and a command that
 * replaces such a record can prepare the new counter before it commits the
 * record: until the commit the old generation keeps its own value.
 *
 * Record (counters partition, under the id of the record it counts for),
 * version 1:
 *   version(1) = 1 | slots(1) = 1 or 2 | slots x { generation(8), value(4, BE) }
 * A missing record, a missing slot for the generation asked for, or a record
 * that does not read back is "no value": callers fail closed (a PIN with no
 * value is blocked, a key with no value is used up).
 */
#ifndef FUSEKEY_COUNTER_H
#define FUSEKEY_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/space.h"

#define FK_GEN_LEN 8u

/* A generation: 8 random bytes, never all zero. */
typedef struct fk_gen {
    uint8_t b[FK_GEN_LEN];
} fk_gen_t;

enum {
    FK_COUNTER_OK = 0,
    FK_COUNTER_ENOENT = -1, /* no value for this generation (or no record at all) */
    FK_COUNTER_EDAMAGED = -2, /* the record exists but does not read back, or is malformed */
    FK_COUNTER_ESTORE = -3,   /* the store refused the write (full, flash error) */
    FK_COUNTER_ERNG = -4,     /* no entropy for a new generation */
};

/* A fresh generation from the DRBG. */
int fk_gen_new(fk_gen_t *gen);

/* Equal generations (public values: a plain comparison). */
bool fk_gen_equal(const fk_gen_t *a, const fk_gen_t *b);

/* The value bound to gen in counter `id` of the counters space. */
int fk_counter_get(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t *value);

/* Bind value to a new generation gen in counter `id` (one atomic write; on
 * flash when it returns FK_COUNTER_OK): the slot of `keep` (the generation
 * in force, may be NULL) is kept as it is when it exists; any other slot is
 * dropped. */
int fk_counter_set(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t value,
                   const fk_gen_t *keep);

/* Change the value bound to gen (a spent try or use, a restore) and keep the
 * other slot as it is: a generation prepared for a record not yet committed
 * keeps its value. One atomic write. */
int fk_counter_update(const fk_space_t *ctrs, uint16_t id, const fk_gen_t *gen, uint32_t value);

#endif /* FUSEKEY_COUNTER_H */
