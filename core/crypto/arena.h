/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arena.h - the crypto arena: the only memory allocated at run time on the
 * device, a fixed static block that mbedTLS's calloc and free use
 * (core/crypto/target/mbedtls_target_config.h; docs/crypto.md, "Target
 * build"). Host builds use Debian's libmbedcrypto with the C library's heap
 * and do not link it.
 *
 * Its size is the build setting FK_CRYPTO_ARENA_SIZE (bytes; CMake cache
 * variable of the same name). Single-threaded, like the core.
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

/* The arena's counters now. */
void fk_arena_stats(fk_arena_stats_t *st);

/* Start a new high-water measurement from what is in use now. */
void fk_arena_reset_high_water(void);

#endif /* FUSEKEY_CRYPTO_ARENA_H */
