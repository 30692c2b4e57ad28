/* SPDX-License-Identifier: Apache-2.0 */
/*
 * space.h - one namespace of one store partition: the only view of the store
 * an applet gets. Every record key it makes is (its namespace, a 16-bit id),
 * so an applet cannot name, read, change or enumerate another's records.
 *
 * The namespaces of the product are in core/services/ns.h and
 * docs/store-map.md. Results are the store's (FK_STORE_*).
 */
#ifndef FUSEKEY_SPACE_H
#define FUSEKEY_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Ids of a space: 0x0000-0xFFFF. */
#define FK_SPACE_ID_LAST 0xFFFFu

typedef struct fk_space {
    fk_store_t *store;
    uint8_t ns;
} fk_space_t;

static inline fk_store_key_t fk_space_key(const fk_space_t *sp, uint16_t id)
{
    return FK_STORE_KEY(sp->ns, id);
}

static inline int fk_space_size(const fk_space_t *sp, uint16_t id, uint32_t *size)
{
    return fk_store_size(sp->store, fk_space_key(sp, id), size);
}

static inline int fk_space_read(const fk_space_t *sp, uint16_t id, uint32_t offset, void *buf,
                                size_t len)
{
    return fk_store_read(sp->store, fk_space_key(sp, id), offset, buf, len);
}

static inline int fk_space_write(const fk_space_t *sp, uint16_t id, const void *data, size_t len)
{
    return fk_store_write(sp->store, fk_space_key(sp, id), data, len);
}

static inline int fk_space_patch(const fk_space_t *sp, uint16_t id, uint32_t offset,
                                 const void *data, size_t len, bool truncate)
{
    return fk_store_patch(sp->store, fk_space_key(sp, id), offset, data, len, truncate);
}

static inline int fk_space_delete(const fk_space_t *sp, uint16_t id)
{
    return fk_store_delete(sp->store, fk_space_key(sp, id));
}

/* Delete every record with an id in [first, last] (one atomic operation). */
static inline int fk_space_delete_range(const fk_space_t *sp, uint16_t first, uint16_t last)
{
    return fk_store_delete_range(sp->store, fk_space_key(sp, first), fk_space_key(sp, last));
}

/* Delete every record of the namespace (one atomic operation). */
static inline int fk_space_wipe(const fk_space_t *sp)
{
    return fk_space_delete_range(sp, 0u, FK_SPACE_ID_LAST);
}

/* The smallest live id >= from (from up to 0x10000) in *id: FK_STORE_OK, or
 * FK_STORE_ENOENT when the namespace holds none. */
static inline int fk_space_first(const fk_space_t *sp, uint32_t from, uint16_t *id)
{
    fk_store_key_t key;
    if (from > FK_SPACE_ID_LAST) return FK_STORE_ENOENT;
    int rc = fk_store_first(sp->store, FK_STORE_KEY(sp->ns, from), &key);
    if (rc != FK_STORE_OK) return rc;
    if (FK_STORE_KEY_NS(key) != sp->ns) return FK_STORE_ENOENT;
    *id = FK_STORE_KEY_ID(key);
    return FK_STORE_OK;
}

/* Streaming write of one record (store.h: fk_store_begin and after). */
static inline int fk_space_begin(const fk_space_t *sp, fk_store_txn_t *t, uint16_t id,
                                 uint32_t total)
{
    return fk_store_begin(sp->store, t, fk_space_key(sp, id), total);
}

/* A batch on the space's partition (store.h): the writes and deletes made
 * through any space of that partition until the commit become live together
 * or not at all. */
static inline int fk_space_batch_begin(const fk_space_t *sp) { return fk_store_batch_begin(sp->store); }
static inline int fk_space_batch_commit(const fk_space_t *sp) { return fk_store_batch_commit(sp->store); }
static inline void fk_space_batch_abort(const fk_space_t *sp) { fk_store_batch_abort(sp->store); }

#endif /* FUSEKEY_SPACE_H */
