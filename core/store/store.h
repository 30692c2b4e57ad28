/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - a power-loss-safe, log-structured key-value store of 16-bit
 * file ids over the flash HAL (hal.h). The on-flash format is drawn in
 * docs/store.md.
 *
 * One fk_store_t manages one region of the flash data region. The device
 * mounts two: the main partition (long-lived records: keys, certificates,
 * data files) and the counters partition (high-churn records such as PIN
 * retry counters and key usage counters), so that counter churn never forces
 * compaction of the main partition.
 *
 * Guarantees:
 * - Every write, replace and delete is atomic: after a power cut at any point
 *   the next mount sees the record entirely old or entirely new.
 * - Every record carries a checksum; a record that fails it is never returned.
 * - A superseded or deleted record is physically destroyed (its bytes are
 *   programmed to zero, and its sector erased by garbage collection), so old
 *   sealed secrets do not linger in flash.
 * - Garbage collection spreads erases across the region's sectors.
 * - No dynamic allocation: fk_store_t holds everything, the caller owns it.
 * - A flash error (FK_STORE_EIO) in the middle of a write leaves the store
 *   unmounted (calls return FK_STORE_EINVAL) until fk_store_mount, which
 *   recovers exactly as after a power cut.
 *
 * Ids: 0x0000-0xFFFE; 0xFFFF is reserved. The id map of the product is in
 * docs/store.md.
 */
#ifndef FUSEKEY_STORE_H
#define FUSEKEY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest record the store accepts (data files of up to 128 KiB plus
 * framing by the layer above). */
#define FK_STORE_MAX_RECORD (128u * 1024u + 256u)

/* How many distinct live ids one partition can hold (RAM index size). */
#define FK_STORE_MAX_IDS 1024u

#define FK_STORE_ID_INVALID 0xFFFFu

enum {
    FK_STORE_OK = 0,
    FK_STORE_ENOENT = -1,   /* no record with that id */
    FK_STORE_ENOSPC = -2,   /* the region (or the index) is full even after GC */
    FK_STORE_EINVAL = -3,   /* bad argument (length, offset, id) */
    FK_STORE_EIO = -4,      /* the flash HAL failed */
    FK_STORE_ECORRUPT = -5, /* a record's checksum failed / unrecoverable region */
    FK_STORE_EBUSY = -6,    /* a transaction is open on this store */
};

/* One entry of the RAM index: where the live version of an id lives. */
typedef struct fk_store_entry {
    uint16_t id;
    uint32_t addr; /* offset of the record header inside the region */
    uint32_t len;  /* payload length */
} fk_store_entry_t;

typedef struct fk_store {
    uint32_t base;        /* region start inside the flash data region */
    uint32_t size;        /* region size, a multiple of the sector size */
    uint32_t sector_size;
    uint32_t page_size;
    uint32_t nsect;       /* sectors in the region */
    uint32_t tail;        /* oldest sector of the log (index in the region) */
    uint32_t tail_seq;    /* its sector sequence number */
    uint32_t head;        /* newest sector of the log */
    uint32_t head_seq;    /* its sequence number: tail_seq + log sectors - 1 */
    uint32_t head_off;    /* next write offset inside the head sector */
    uint32_t wr_left;     /* bytes of the record being written still ahead */
    uint32_t used;        /* bytes of live records (headers + padded payloads) */
    uint32_t erase_max;   /* highest erase count known in the region */
    uint32_t txn_addr;    /* header offset of the open streaming write */
    bool mounted;
    bool txn_open;
    size_t n_entries;
    fk_store_entry_t entries[FK_STORE_MAX_IDS]; /* sorted by id */
} fk_store_t;

/* A streaming write of one record (large records never sit in RAM). */
typedef struct fk_store_txn {
    uint16_t id;
    uint32_t addr;     /* header offset of the record being written */
    uint32_t total;    /* payload length announced by begin */
    uint32_t written;  /* payload bytes appended so far */
    uint32_t crc;      /* running payload checksum */
} fk_store_txn_t;

typedef struct fk_store_stats {
    uint32_t total;        /* bytes in the region */
    uint32_t used;         /* bytes of live records including framing */
    uint32_t free;         /* bytes that new records (32-byte header + payload
                            * rounded up to 32) can still take, when none is
                            * larger than the largest live record */
    uint32_t files;        /* live ids */
    uint32_t erase_min;    /* lowest and highest per-sector erase counts */
    uint32_t erase_max;
} fk_store_stats_t;

/* Mount the region [base, base+size) of the flash data region. A fully
 * erased region is formatted; an interrupted write, replace, delete or
 * garbage collection is rolled back or completed. Fails with
 * FK_STORE_ECORRUPT (changing nothing) when the region holds something that
 * is not a store, so that a wrong layout never wipes data. */
int fk_store_mount(fk_store_t *s, uint32_t base, uint32_t size);

/* Erase the whole region and start an empty store. On the region *s is
 * mounted on, this is atomic (a cut leaves the old store or an empty one);
 * on any other region it simply erases sector by sector. */
int fk_store_format(fk_store_t *s, uint32_t base, uint32_t size);

/* Payload size of the live record `id`, or FK_STORE_ENOENT. */
int fk_store_size(const fk_store_t *s, uint16_t id, uint32_t *size);

/* Copy len bytes of record `id` starting at offset into buf. offset+len must
 * not exceed the record size (FK_STORE_EINVAL). The record's checksum is
 * verified (whole payload) before any byte is returned: FK_STORE_ECORRUPT. */
int fk_store_read(const fk_store_t *s, uint16_t id, uint32_t offset, void *buf, size_t len);

/* Create or atomically replace record `id` with len bytes (len may be 0). */
int fk_store_write(fk_store_t *s, uint16_t id, const void *data, size_t len);

/* Atomically write `len` bytes at `offset` into record `id`: the new record
 * is old[0, offset) + data + (truncate ? nothing : old[offset+len, end)).
 * A missing record counts as empty; offset beyond the old size is
 * FK_STORE_EINVAL. Streams the old bytes from flash (no large buffer). */
int fk_store_patch(fk_store_t *s, uint16_t id, uint32_t offset, const void *data, size_t len,
                   bool truncate);

/* Atomically delete record `id` (FK_STORE_ENOENT if absent). */
int fk_store_delete(fk_store_t *s, uint16_t id);

/* Streaming write: begin reserves room for `total` payload bytes (running
 * garbage collection first if needed), append adds bytes in any chunking
 * (reads of other records and of the old version of `id` stay valid), commit
 * makes the new version live atomically, abort drops it. Nothing is visible
 * until commit; a power cut before commit leaves the old version. Other
 * writes return FK_STORE_EBUSY while a transaction is open; commit before
 * all `total` bytes were appended is FK_STORE_EINVAL (the transaction stays
 * open: append the rest or abort). */
int fk_store_begin(fk_store_t *s, fk_store_txn_t *t, uint16_t id, uint32_t total);
int fk_store_append(fk_store_t *s, fk_store_txn_t *t, const void *data, size_t len);
int fk_store_commit(fk_store_t *s, fk_store_txn_t *t);
void fk_store_abort(fk_store_t *s, fk_store_txn_t *t);

/* Iterate live ids in ascending order: the smallest id greater than `after`
 * (pass -1 to start). FK_STORE_ENOENT at the end. */
int fk_store_next(const fk_store_t *s, int32_t after, uint16_t *id);

/* Fill *st with usage figures. */
void fk_store_stats(const fk_store_t *s, fk_store_stats_t *st);

#endif /* FUSEKEY_STORE_H */
