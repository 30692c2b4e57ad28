/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arena.c - the crypto arena (see arena.h).
 *
 * The arena is a run of blocks that tiles it from start to end. Each block
 * starts with an 8-byte header (its length, headers included, and whether it
 * is in use); payloads are 8-byte aligned. Allocation is first fit; a free
 * block absorbs the free blocks after it whenever a search or a free passes
 * over it, so neighbouring free blocks never stay apart for long.
 *
 * IMPLEMENTATION NOTE: mbedTLS's allocations are few (numbers of an RSA or EC
 * operation, a curve group's table) and live for one operation or one
 * session, so a linear search over a few dozen blocks is cheap next to the
 * arithmetic that follows it.
 */
#include "crypto/arena.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

#ifndef FK_CRYPTO_ARENA_SIZE
#define FK_CRYPTO_ARENA_SIZE (32u * 1024u)
#endif

#define ALIGN 8u
#define HDR ((uint32_t)sizeof(block_t))
#define USED 1u
#define MAGIC 0xA7E0A000u /* high bits of the flags word: a header, not data */
#define MAGIC_MASK 0xFFFFF000u

_Static_assert(FK_CRYPTO_ARENA_SIZE % ALIGN == 0, "arena size must be a multiple of 8");
_Static_assert(FK_CRYPTO_ARENA_SIZE >= 1024 && FK_CRYPTO_ARENA_SIZE < 0x10000000u,
               "arena size out of range");

typedef struct block {
    uint32_t len;   /* bytes of the block, this header included */
    uint32_t flags; /* MAGIC | USED */
} block_t;

_Static_assert(sizeof(block_t) == ALIGN, "block header must keep payloads aligned");

static union {
    uint64_t align;
    uint8_t bytes[FK_CRYPTO_ARENA_SIZE];
} arena;

static struct {
    bool ready;
    size_t in_use, high_water, blocks, failures;
} st;

static block_t *at(uint32_t off) { return (block_t *)(void *)(arena.bytes + off); }

static void init_once(void)
{
    if (st.ready) return;
    at(0)->len = FK_CRYPTO_ARENA_SIZE;
    at(0)->flags = MAGIC;
    st.ready = true;
}

/* Merge every free block that follows the free block at off into it. */
static void absorb_next(uint32_t off)
{
    block_t *b = at(off);
    while (off + b->len < FK_CRYPTO_ARENA_SIZE) {
        block_t *next = at(off + b->len);
        if (next->flags & USED) break;
        b->len += next->len;
    }
}

void *fk_arena_calloc(size_t n, size_t size)
{
    uint32_t need, off = 0;

    init_once();
    if (size != 0 && n > (FK_CRYPTO_ARENA_SIZE - HDR) / size) {
        st.failures++;
        return NULL;
    }
    /* A zero-byte request still gets a distinct block, as calloc may give. */
    need = (uint32_t)(((n * size + ALIGN - 1u) & ~(size_t)(ALIGN - 1u)) + HDR);
    if (need < HDR + ALIGN) need = HDR + ALIGN;

    while (off < FK_CRYPTO_ARENA_SIZE) {
        block_t *b = at(off);
        FK_ASSERT((b->flags & MAGIC_MASK) == MAGIC && b->len >= HDR);
        if (!(b->flags & USED)) {
            absorb_next(off);
            if (b->len >= need) {
                if (b->len - need >= HDR + ALIGN) {
                    block_t *rest = at(off + need);
                    rest->len = b->len - need;
                    rest->flags = MAGIC;
                    b->len = need;
                }
                b->flags = MAGIC | USED;
                st.in_use += b->len;
                st.blocks++;
                if (st.in_use > st.high_water) st.high_water = st.in_use;
                memset(b + 1, 0, b->len - HDR);
                return b + 1;
            }
        }
        off += b->len;
    }
    st.failures++;
    return NULL;
}

void fk_arena_free(void *p)
{
    block_t *b;
    uintptr_t off;

    if (p == NULL) return;
    off = (uintptr_t)p - (uintptr_t)arena.bytes;
    FK_ASSERT(st.ready && (uintptr_t)p >= (uintptr_t)arena.bytes + HDR &&
              off < FK_CRYPTO_ARENA_SIZE && off % ALIGN == 0);
    b = (block_t *)p - 1;
    FK_ASSERT(b->flags == (MAGIC | USED) && b->len >= HDR + ALIGN &&
              b->len <= FK_CRYPTO_ARENA_SIZE - (off - HDR));
    fk_wipe(p, b->len - HDR);
    b->flags = MAGIC;
    st.in_use -= b->len;
    st.blocks--;
    absorb_next((uint32_t)(off - HDR));
}

void fk_arena_stats(fk_arena_stats_t *out)
{
    out->size = FK_CRYPTO_ARENA_SIZE;
    out->in_use = st.in_use;
    out->high_water = st.high_water;
    out->blocks = st.blocks;
    out->failures = st.failures;
}

void fk_arena_reset_high_water(void) { st.high_water = st.in_use; }
