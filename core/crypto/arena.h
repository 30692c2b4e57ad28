/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arena.h - the crypto arena: the only memory allocated at run time on the
 * device, a fixed static block that mbedTLS's calloc and free use
 * (core/crypto/target/mbedtls_target_config.h; docs/crypto.md, "Target
 * build"). Host builds use Debian's libmbedcrypto with the C library's heap
 * and do not hook it up (they build it, small, so rsa_gen.c links alike).
 *
 * Its size is the build setting FK_CRYPTO_ARENA_SIZE (bytes; CMake cache
 * variable of the same name). A second, smaller region
 * (FK_CRYPTO_WORKER_ARENA_SIZE, 12 KiB by default) serves the job the core
 * may run on the second core (hal.h): allocations go to the region of the
 * calling core, so each region is single-threaded and lock-free.
 */
#ifndef FUSEKEY_CRYPTO_ARENA_H
#define FUSEKEY_CRYPTO_ARENA_H

#include <stddef.h>

typedef struct fk_arena_stats {
    size_t size;       /* the arena's bytes */
    size_t in_use;     /* bytes held now, block headers included */
    size_t high_water; /* the most in_use has been since the last reset */
    size_t blocks;     /* allocations live now */
    size_t failures;   /* requests refused for lack of room */
} fk_arena_stats_t;

/* calloc for mbedTLS: n * size zeroed bytes, 8-byte aligned, or NULL when
 * the product overflows or the arena has no free block that large. */
void *fk_arena_calloc(size_t n, size_t size);

/* free for mbedTLS: NULL is ignored; the block's bytes are wiped before it
 * goes back. A pointer the arena did not hand out, or one freed twice, is a
 * broken invariant (FK_ASSERT). */
void fk_arena_free(void *p);

/* The main region's counters now. */
void fk_arena_stats(fk_arena_stats_t *st);

/* The second core's region's counters now. */
void fk_arena_worker_stats(fk_arena_stats_t *st);

/* Start a new high-water measurement (both regions) from what is in use now. */
void fk_arena_reset_high_water(void);

/* Wipe the second core's region and make it empty: only once no job runs
 * there any more (done or abandoned), e.g. after an abandoned job left its
 * blocks behind. */
void fk_arena_worker_reset(void);

#endif /* FUSEKEY_CRYPTO_ARENA_H */
