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
 * IMPLEMENTATION NOTE: two cores. The arena is two regions with the same
 * layout: the main one, and a smaller one for the job the core may run on
 * the second core (hal.h "Second core": the RSA prime search of
 * rsa_gen.c). An allocation goes to the region of the core that asks
 * (fk_hal_core_id), a free to the region that holds the block, so each
 * region is only ever touched by one core and neither needs a lock. A job
 * abandoned on a stopped core leaves its blocks behind in its own region
 * only; fk_arena_worker_reset wipes that region and makes it empty again.
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

#include "hal.h"
#include "util.h"

#ifndef FK_CRYPTO_ARENA_SIZE
#define FK_CRYPTO_ARENA_SIZE (32u * 1024u)
#endif
#ifndef FK_CRYPTO_WORKER_ARENA_SIZE
#define FK_CRYPTO_WORKER_ARENA_SIZE (12u * 1024u)
#endif

#define ALIGN 8u
#define HDR ((uint32_t)sizeof(block_t))
#define USED 1u
#define MAGIC 0xA7E0A000u /* high bits of the flags word: a header, not data */
#define MAGIC_MASK 0xFFFFF000u

_Static_assert(FK_CRYPTO_ARENA_SIZE % ALIGN == 0, "arena size must be a multiple of 8");
_Static_assert(FK_CRYPTO_ARENA_SIZE >= 1024 && FK_CRYPTO_ARENA_SIZE < 0x10000000u,
               "arena size out of range");
_Static_assert(FK_CRYPTO_WORKER_ARENA_SIZE % ALIGN == 0, "worker arena size must be a multiple of 8");
_Static_assert(FK_CRYPTO_WORKER_ARENA_SIZE >= 1024 && FK_CRYPTO_WORKER_ARENA_SIZE < 0x10000000u,
               "worker arena size out of range");

typedef struct block {
    uint32_t len;   /* bytes of the block, this header included */
    uint32_t flags; /* MAGIC | USED */
} block_t;

_Static_assert(sizeof(block_t) == ALIGN, "block header must keep payloads aligned");

typedef struct region {
    uint8_t *bytes;
    uint32_t size;
    bool ready;
    size_t in_use, high_water, blocks, failures;
} region_t;

static union {
    uint64_t align;
    uint8_t bytes[FK_CRYPTO_ARENA_SIZE];
} arena;

static union {
    uint64_t align;
    uint8_t bytes[FK_CRYPTO_WORKER_ARENA_SIZE];
} worker_arena;

static region_t main_region = {arena.bytes, FK_CRYPTO_ARENA_SIZE, false, 0, 0, 0, 0};
static region_t worker_region = {worker_arena.bytes, FK_CRYPTO_WORKER_ARENA_SIZE, false, 0, 0, 0, 0};

static block_t *at(const region_t *r, uint32_t off) { return (block_t *)(void *)(r->bytes + off); }

static void init_once(region_t *r)
{
    if (r->ready) return;
    at(r, 0)->len = r->size;
    at(r, 0)->flags = MAGIC;
    r->ready = true;
}

/* Merge every free block that follows the free block at off into it. */
static void absorb_next(const region_t *r, uint32_t off)
{
    block_t *b = at(r, off);
    while (off + b->len < r->size) {
        block_t *next = at(r, off + b->len);
        if (next->flags & USED) break;
        b->len += next->len;
    }
}

static void *region_calloc(region_t *r, size_t n, size_t size)
{
    uint32_t need, off = 0;

    init_once(r);
    if (size != 0 && n > (r->size - HDR) / size) {
        r->failures++;
        return NULL;
    }
    /* A zero-byte request still gets a distinct block, as calloc may give. */
    need = (uint32_t)(((n * size + ALIGN - 1u) & ~(size_t)(ALIGN - 1u)) + HDR);
    if (need < HDR + ALIGN) need = HDR + ALIGN;

    while (off < r->size) {
        block_t *b = at(r, off);
        FK_ASSERT((b->flags & MAGIC_MASK) == MAGIC && b->len >= HDR);
        if (!(b->flags & USED)) {
            absorb_next(r, off);
            if (b->len >= need) {
                if (b->len - need >= HDR + ALIGN) {
                    block_t *rest = at(r, off + need);
                    rest->len = b->len - need;
                    rest->flags = MAGIC;
                    b->len = need;
                }
                b->flags = MAGIC | USED;
                r->in_use += b->len;
                r->blocks++;
                if (r->in_use > r->high_water) r->high_water = r->in_use;
                memset(b + 1, 0, b->len - HDR);
                return b + 1;
            }
        }
        off += b->len;
    }
    r->failures++;
    return NULL;
}

static bool holds(const region_t *r, const void *p)
{
    return (uintptr_t)p >= (uintptr_t)r->bytes && (uintptr_t)p < (uintptr_t)r->bytes + r->size;
}

static void region_free(region_t *r, void *p)
{
    block_t *b;
    uintptr_t off = (uintptr_t)p - (uintptr_t)r->bytes;

    FK_ASSERT(r->ready && off >= HDR && off % ALIGN == 0);
    b = (block_t *)p - 1;
    FK_ASSERT(b->flags == (MAGIC | USED) && b->len >= HDR + ALIGN &&
              b->len <= r->size - (off - HDR));
    fk_wipe(p, b->len - HDR);
    b->flags = MAGIC;
    r->in_use -= b->len;
    r->blocks--;
    absorb_next(r, (uint32_t)(off - HDR));
}

void *fk_arena_calloc(size_t n, size_t size)
{
    return region_calloc(fk_hal_core_id() == 0 ? &main_region : &worker_region, n, size);
}

void fk_arena_free(void *p)
{
    if (p == NULL) return;
    if (holds(&worker_region, p))
        region_free(&worker_region, p);
    else {
        FK_ASSERT(holds(&main_region, p));
        region_free(&main_region, p);
    }
}

static void region_stats(const region_t *r, fk_arena_stats_t *out)
{
    out->size = r->size;
    out->in_use = r->in_use;
    out->high_water = r->high_water;
    out->blocks = r->blocks;
    out->failures = r->failures;
}

void fk_arena_stats(fk_arena_stats_t *out) { region_stats(&main_region, out); }

void fk_arena_worker_stats(fk_arena_stats_t *out) { region_stats(&worker_region, out); }

void fk_arena_reset_high_water(void)
{
    main_region.high_water = main_region.in_use;
    worker_region.high_water = worker_region.in_use;
}

void fk_arena_worker_reset(void)
{
    fk_wipe(worker_region.bytes, worker_region.size);
    worker_region.ready = false;
    worker_region.in_use = 0;
    worker_region.blocks = 0;
}
