/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - a power-loss-safe, log-structured key-value store over the
 * flash HAL (hal.h). The on-flash format (version 2) is drawn in
 * docs/store.md.
 *
 * One fk_store_t manages one region of the flash data region. The device
 * mounts two: the main partition (long-lived records: keys, certificates,
 * data files) and the counters partition (high-churn records such as PIN
 * retry counters and key usage counters), so that counter churn never forces
 * compaction of the main partition.
 *
 * Guarantees:
 * - Every write, replace, delete and range delete is atomic, and so is a
 *   batch of up to FK_STORE_BATCH_MAX of them: after a power cut at any point
 *   the next mount sees the state entirely before or entirely after.
 * - Every record carries checksums; a record that fails them is never
 *   returned. One flipped bit in a record or sector header is corrected; a
 *   damaged record costs that record only, never its neighbours.
 * - A superseded or deleted record is physically destroyed (its bytes are
 *   programmed to zero, and its sector erased by garbage collection), so old
 *   sealed secrets do not linger in flash.
 * - Garbage collection spreads erases across the region's sectors.
 * - No dynamic allocation: fk_store_t holds everything, the caller owns it
 *   (statically allocatable; not to be copied: it points into itself).
 * - A flash error (FK_STORE_EIO) in the middle of a write leaves the store
 *   unmounted (calls return FK_STORE_EINVAL) until fk_store_mount, which
 *   recovers exactly as after a power cut.
 *
 * Keys: a namespace (8 bits, 0x00-0xFE, one per owner) and an id (16 bits,
 * any value). The namespace map of the product is in docs/store-map.md.
 */
#ifndef FUSEKEY_STORE_H
#define FUSEKEY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest record the store accepts (data files of up to 128 KiB plus
 * framing by the layer above). */
#define FK_STORE_MAX_RECORD (128u * 1024u + 256u)

/* How many distinct live keys one partition can hold (RAM index size). */
#define FK_STORE_MAX_IDS 1024u

/* A record key: namespace in bits 16-23, id in bits 0-15. */
typedef uint32_t fk_store_key_t;
#define FK_STORE_NS_MAX 0xFEu /* namespaces 0x00..0xFE; 0xFF never a namespace */
#define FK_STORE_KEY(ns, id) ((fk_store_key_t)(((uint32_t)(ns) << 16) | (uint16_t)(id)))
#define FK_STORE_KEY_NS(k) ((uint8_t)((k) >> 16))
#define FK_STORE_KEY_ID(k) ((uint16_t)(k))
#define FK_STORE_KEY_LAST FK_STORE_KEY(FK_STORE_NS_MAX, 0xFFFFu)

/* Operations one batch may stage. */
#define FK_STORE_BATCH_MAX 32u

enum {
    FK_STORE_OK = 0,
    FK_STORE_ENOENT = -1,   /* no record with that key */
    FK_STORE_ENOSPC = -2,   /* the region, the index or the batch is full */
    FK_STORE_EINVAL = -3,   /* bad argument (length, offset, key), or not mounted */
    FK_STORE_EIO = -4,      /* the flash HAL failed */
    FK_STORE_ECORRUPT = -5, /* a record's checksum failed / unrecoverable region */
    FK_STORE_EBUSY = -6,    /* a stream or a batch is open on this store */
};

/* One entry of the RAM index: where the live version of a key lives. */
typedef struct fk_store_entry {
    fk_store_key_t key;
    uint32_t addr; /* offset of the record header inside the region */
    uint32_t len;  /* payload length */
} fk_store_entry_t;

/* One operation staged in the open batch (or, while mount replays the log,
 * one staged record waiting for its batch's commit marker). */
typedef struct fk_store_staged {
    uint32_t addr;      /* offset of its record header inside the region */
    fk_store_key_t key; /* the key, or the first key of a range */
    uint32_t arg;       /* payload length, or the last key of a range */
    uint8_t type;       /* record type (docs/store.md) */
} fk_store_staged_t;

/* Damage seen since mount (see fk_store_stats_t). Readers that hold a
 * const fk_store_t update it through fk_store_t.health. */
typedef struct fk_store_health {
    uint32_t repaired;
    uint32_t damaged;
} fk_store_health_t;

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
    uint32_t txn_written; /* payload bytes it holds so far */
    bool mounted;
    bool txn_open;
    bool batch_open;
    uint16_t batch_tag;   /* tag of the open batch */
    uint16_t next_tag;    /* tag the next batch gets */
    uint32_t batch_first; /* header offset of the batch's first record */
    uint32_t batch_bytes; /* footprint of every record written in the batch */
    uint32_t n_staged;
    fk_store_staged_t staged[FK_STORE_BATCH_MAX];
    fk_store_health_t health_since_mount;
    fk_store_health_t *health; /* = &health_since_mount */
    size_t n_entries;
    fk_store_entry_t entries[FK_STORE_MAX_IDS]; /* sorted by key */
} fk_store_t;

/* A streaming write of one record (large records never sit in RAM). */
typedef struct fk_store_txn {
    fk_store_key_t key;
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
    uint32_t files;        /* live keys */
    uint32_t erase_min;    /* lowest and highest per-sector erase counts */
    uint32_t erase_max;
    uint32_t repaired;     /* headers corrected by the mount (one flipped bit) */
    uint32_t damaged;      /* since mount: headers found damaged beyond repair
                            * by the mount, and reads that failed a checksum */
} fk_store_stats_t;

/* Mount the region [base, base+size) of the flash data region. A fully
 * erased region is formatted; an interrupted write, replace, delete, batch
 * or garbage collection is rolled back or completed. Fails with
 * FK_STORE_ECORRUPT (changing nothing) when the region holds something that
 * is not a version-2 store, so that a wrong layout never wipes data. */
int fk_store_mount(fk_store_t *s, uint32_t base, uint32_t size);

/* Erase the whole region and start an empty store. On the region *s is
 * mounted on, this is atomic (a cut leaves the old store or an empty one);
 * on any other region it simply erases sector by sector. FK_STORE_EBUSY
 * while a stream or a batch is open. */
int fk_store_format(fk_store_t *s, uint32_t base, uint32_t size);

/* Payload size of the live record `key`, or FK_STORE_ENOENT. */
int fk_store_size(const fk_store_t *s, fk_store_key_t key, uint32_t *size);

/* Copy len bytes of record `key` starting at offset into buf. offset+len
 * must not exceed the record size (FK_STORE_EINVAL). The record's checksum is
 * verified (whole payload) before any byte is returned: FK_STORE_ECORRUPT,
 * with buf wiped. */
int fk_store_read(const fk_store_t *s, fk_store_key_t key, uint32_t offset, void *buf,
                  size_t len);

/* Create or atomically replace record `key` with len bytes (len may be 0). */
int fk_store_write(fk_store_t *s, fk_store_key_t key, const void *data, size_t len);

/* Atomically write `len` bytes at `offset` into record `key`: the new record
 * is old[0, offset) + data + (truncate ? nothing : old[offset+len, end)).
 * A missing record counts as empty; offset beyond the old size is
 * FK_STORE_EINVAL. Streams the old bytes from flash (no large buffer). In a
 * batch, "old" is the record as the operations staged before left it. */
int fk_store_patch(fk_store_t *s, fk_store_key_t key, uint32_t offset, const void *data,
                   size_t len, bool truncate);

/* Atomically delete record `key` (FK_STORE_ENOENT if absent). */
int fk_store_delete(fk_store_t *s, fk_store_key_t key);

/* Atomically delete every live key in [first, last] with one marker record.
 * FK_STORE_OK also when there was none (then nothing is written). */
int fk_store_delete_range(fk_store_t *s, fk_store_key_t first, fk_store_key_t last);

/* Streaming write: begin reserves room for `total` payload bytes (running
 * garbage collection first if needed), append adds bytes in any chunking
 * (reads of other records and of the old version of `key` stay valid),
 * commit makes the new version live atomically (in a batch: stages it),
 * abort drops it. Nothing is visible until commit; a power cut before
 * commit leaves the old version. Other writes return FK_STORE_EBUSY while a
 * stream is open; commit before all `total` bytes were appended is
 * FK_STORE_EINVAL (the stream stays open: append the rest or abort). */
int fk_store_begin(fk_store_t *s, fk_store_txn_t *t, fk_store_key_t key, uint32_t total);
int fk_store_append(fk_store_t *s, fk_store_txn_t *t, const void *data, size_t len);
int fk_store_commit(fk_store_t *s, fk_store_txn_t *t);
void fk_store_abort(fk_store_t *s, fk_store_txn_t *t);

/* Batches. Between begin and commit, fk_store_write, fk_store_patch,
 * fk_store_delete, fk_store_delete_range and streaming writes stage their
 * operation instead of making it live; reads, fk_store_first and the stats
 * keep seeing the committed state. An operation that cannot be staged
 * returns its error (FK_STORE_ENOSPC also when FK_STORE_BATCH_MAX operations
 * are staged) and leaves the batch open with what was staged before. The
 * batch is admitted as a whole: what would be live after the commit must
 * fit the space policy and the index. commit makes every staged operation
 * live at once, in the order they were made (FK_STORE_EBUSY while a stream
 * is open, FK_STORE_EINVAL when no batch is open); abort (also of an open
 * stream) destroys them, none ever becomes live. A power cut leaves exactly
 * the state before the batch or exactly the state after it. */
int fk_store_batch_begin(fk_store_t *s);
int fk_store_batch_commit(fk_store_t *s);
void fk_store_batch_abort(fk_store_t *s);

/* The smallest live key >= from, in *key; FK_STORE_ENOENT when there is
 * none (also for any `from` above FK_STORE_KEY_LAST, so that iterating with
 * from = key + 1 ends cleanly). */
int fk_store_first(const fk_store_t *s, fk_store_key_t from, fk_store_key_t *key);

/* Fill *st with usage figures and the damage seen since mount. */
void fk_store_stats(const fk_store_t *s, fk_store_stats_t *st);

#endif /* FUSEKEY_STORE_H */
