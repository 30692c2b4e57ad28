/* SPDX-License-Identifier: Apache-2.0 */
/*
 * powercut.c - the store's power-cut harness.
 *
 * A seeded workload of store operations (writes of 0 bytes to 70 KiB,
 * patches, deletes, streaming writes, aborted streams, enough churn for
 * many garbage collections) runs once on the simulated flash: the "golden"
 * run. Before selected program and erase operations of that run, the
 * harness forks the flash: it copies the image as a power cut at that
 * moment would leave it (the operation not done at all, or done as a
 * prefix, or as a random subset of its bit changes), and on the copy it
 *   1. mounts (sometimes cutting power again during the mount's own
 *      recovery writes, then mounting once more),
 *   2. checks every record: the one the interrupted operation touched is
 *      entirely old or entirely new, every other one is exactly as the model
 *      says, and no other id exists,
 *   3. runs a few more operations, mounts again and checks again.
 * Then the golden run continues as if nothing happened. Each fork is one
 * cut point; the run prints how many it exercised and how many failed.
 *
 * Which flash operations become cut points is drawn at random (seeded, so
 * runs repeat exactly): erases and the short programs of headers, commit
 * areas, dead flags and sector headers one in `every`, bulk payload and
 * zeroing programs one in BULK_FACTOR * `every`. Each chosen operation
 * gives two cut points: before it, and in the middle of it.
 *
 * usage: powercut [ops [every [seed]]]
 *   ops     operations in the workload (default 1000)
 *   every   sampling divisor (default 6); 0 = every flash operation
 *   seed    workload seed (default 1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_flash.h"
#include "store/store.h"

#define REGION_SIZE (512u * 1024u)
#define SECTOR_SIZE 4096u
#define PAGE_SIZE 256u
#define N_IDS 40u
#define ID_BASE 0x1000u
#define ID_STEP 37u
#define LIVE_BUDGET (200u * 1024u)
#define SMALL_MAX 512u
#define MEDIUM_MAX (8u * 1024u)
#define LARGE_MIN (40u * 1024u)
#define LARGE_MAX (70u * 1024u)
#define STREAM_MAX (20u * 1024u)
#define STREAM_CHUNK_MAX 3000u
#define META_MAX_LEN 32u
#define FOLLOW_UP_OPS 3u
#define NESTED_EVERY 5u
#define NESTED_MAX_OPS 12u
#define DEFAULT_OPS 1000u
#define DEFAULT_EVERY 6u
#define BULK_FACTOR 12u

/* One id's expected state. */
typedef struct obj {
    bool present;
    uint32_t len;
    uint8_t *data; /* owned by the model that holds it */
} obj_t;

typedef struct model {
    obj_t o[N_IDS];
} model_t;

/* The golden run's operation in progress: its id may be old or new. */
static struct {
    bool active;
    uint32_t k;
    obj_t before, after;
    uint32_t op_no;
} cur;

static fk_store_t golden;   /* the golden run's store */
static fk_store_t fork_st;  /* the store mounted on a fork */
static model_t model;
static uint8_t *fork_img;
static uint8_t readbuf[FK_STORE_MAX_RECORD];

static struct {
    uint32_t every;
    uint64_t golden_ops; /* flash operations of the golden run so far */
    uint64_t pick_rng;   /* chooses the cut points */
    uint64_t cut_points;
    uint64_t failures;
    uint64_t rng;        /* choices of the forks, not of the workload */
} h;

static uint16_t id_of(uint32_t k) { return (uint16_t)(ID_BASE + k * ID_STEP); }

static int k_of(uint16_t id)
{
    if (id < ID_BASE || (id - ID_BASE) % ID_STEP != 0u) return -1;
    uint32_t k = (id - ID_BASE) / ID_STEP;
    return k < N_IDS ? (int)k : -1;
}

static void fill_random(uint64_t *rng, uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) p[i] = (uint8_t)sim_rng_next(rng);
}

static uint32_t model_live(const model_t *m)
{
    uint32_t sum = 0;
    for (uint32_t k = 0; k < N_IDS; k++)
        if (m->o[k].present) sum += m->o[k].len;
    return sum;
}

/* ---------------------------------------------------------------------------
 * Checking a store against the model.
 * ------------------------------------------------------------------------- */

static bool obj_matches(const fk_store_t *s, uint16_t id, const obj_t *o)
{
    uint32_t size;
    int rc = fk_store_size(s, id, &size);
    if (!o->present) return rc == FK_STORE_ENOENT;
    if (rc != FK_STORE_OK || size != o->len) return false;
    if (fk_store_read(s, id, 0, readbuf, size) != FK_STORE_OK) return false;
    return size == 0u || memcmp(readbuf, o->data, size) == 0;
}

/* Check s against m; id cur.k (when with_cur) may be before or after.
 * Sets *took_new to which one it was. Prints what is wrong. */
static bool check_store(const fk_store_t *s, const model_t *m, bool with_cur, bool *took_new,
                        const char *what)
{
    fk_store_key_t key, from = 0;
    while (fk_store_first(s, from, &key) == FK_STORE_OK) {
        if (key > 0xFFFFu || k_of((uint16_t)key) < 0) {
            printf("  %s: unexpected key %06x\n", what, key);
            return false;
        }
        from = key + 1u;
    }
    for (uint32_t k = 0; k < N_IDS; k++) {
        if (with_cur && k == cur.k) {
            if (obj_matches(s, id_of(k), &cur.after)) {
                *took_new = true;
            } else if (obj_matches(s, id_of(k), &cur.before)) {
                *took_new = false;
            } else {
                printf("  %s: id %04x (op %u) is neither old nor new\n", what, id_of(k),
                       cur.op_no);
                return false;
            }
            continue;
        }
        if (!obj_matches(s, id_of(k), &m->o[k])) {
            printf("  %s: id %04x differs from the model\n", what, id_of(k));
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------------------
 * The forks.
 * ------------------------------------------------------------------------- */

/* A few operations on the forked store, tracked in fm (which owns what they
 * allocate: freed by the caller through `owned`). */
static bool follow_up(model_t *fm, uint8_t **owned, uint32_t *n_owned)
{
    for (uint32_t j = 0; j < FOLLOW_UP_OPS; j++) {
        const uint32_t k = sim_rng_below(&h.rng, N_IDS);
        obj_t *o = &fm->o[k];
        const uint32_t kind = sim_rng_below(&h.rng, 3);
        int rc;
        if (kind == 0u && o->present) {
            rc = fk_store_delete(&fork_st, id_of(k));
            o->present = false;
        } else if (kind == 1u && o->present && o->len > 0u) {
            const uint32_t off = sim_rng_below(&h.rng, o->len);
            uint8_t patch[16];
            const uint32_t n = 1u + sim_rng_below(&h.rng, sizeof patch);
            fill_random(&h.rng, patch, n);
            rc = fk_store_patch(&fork_st, id_of(k), off, patch, n, false);
            const uint32_t nl = off + n > o->len ? off + n : o->len;
            uint8_t *d = malloc(nl);
            if (d == NULL) abort();
            memcpy(d, o->data, o->len);
            memcpy(d + off, patch, n);
            o->data = d;
            o->len = nl;
            owned[(*n_owned)++] = d;
        } else {
            const uint32_t n = sim_rng_below(&h.rng, SMALL_MAX);
            uint8_t *d = malloc(n > 0u ? n : 1u);
            if (d == NULL) abort();
            fill_random(&h.rng, d, n);
            rc = fk_store_write(&fork_st, id_of(k), d, n);
            o->present = true;
            o->len = n;
            o->data = d;
            owned[(*n_owned)++] = d;
        }
        if (rc != FK_STORE_OK) {
            printf("  follow-up operation %u failed: %d\n", j, rc);
            return false;
        }
    }
    return true;
}

/* One cut point: the golden image as a cut before (or during) op leaves it. */
static void run_fork(const sim_op_t *op, sim_cut_mode_t mode)
{
    const uint32_t size = sim_flash_size();
    bool took_new = false, ok = true;
    uint8_t *owned[FOLLOW_UP_OPS];
    uint32_t n_owned = 0;

    h.cut_points++;
    memcpy(fork_img, sim_flash_data(), size);
    sim_flash_apply_cut(fork_img, op, mode, &h.rng);
    sim_flash_use_image(fork_img);

    if (h.cut_points % NESTED_EVERY == 0u) {
        /* Power fails again while the mount repairs the first cut. */
        sim_flash_cut_after(sim_rng_below(&h.rng, NESTED_MAX_OPS),
                            (sim_cut_mode_t)sim_rng_below(&h.rng, 3), sim_rng_next(&h.rng));
        (void)fk_store_mount(&fork_st, 0, size);
        sim_flash_power_on();
    }
    int rc = fk_store_mount(&fork_st, 0, size);
    if (rc != FK_STORE_OK) {
        printf("  mount failed: %d\n", rc);
        ok = false;
    }
    if (ok) ok = check_store(&fork_st, &model, cur.active, &took_new, "after the cut");

    model_t fm = model;
    if (ok && cur.active) fm.o[cur.k] = took_new ? cur.after : cur.before;
    if (ok) ok = follow_up(&fm, owned, &n_owned);
    if (ok) {
        rc = fk_store_mount(&fork_st, 0, size);
        if (rc != FK_STORE_OK) {
            printf("  second mount failed: %d\n", rc);
            ok = false;
        }
    }
    if (ok) ok = check_store(&fork_st, &fm, false, &took_new, "after the follow-up");
    for (uint32_t i = 0; i < n_owned; i++) free(owned[i]);

    if (!ok) {
        h.failures++;
        printf("FAIL cut point %llu: before flash op %llu (%s at 0x%x len %u), cut mode %d, "
               "workload op %u\n",
               (unsigned long long)h.cut_points, (unsigned long long)op->index,
               op->kind == SIM_OP_ERASE ? "erase" : "program", op->offset, op->len, (int)mode,
               cur.op_no);
    }
    sim_flash_use_image(NULL);
}

static void hook(void *arg, const sim_op_t *op)
{
    (void)arg;
    const uint64_t n = h.golden_ops++;
    const bool meta = op->kind == SIM_OP_ERASE || op->len <= META_MAX_LEN;
    if (h.every > 0u &&
        sim_rng_below(&h.pick_rng, meta ? h.every : h.every * BULK_FACTOR) != 0u)
        return;
    sim_flash_set_hook(NULL, NULL);
    run_fork(op, SIM_CUT_NONE);
    run_fork(op, (n & 1u) ? SIM_CUT_PREFIX : SIM_CUT_SCATTER);
    sim_flash_set_hook(hook, NULL);
}

/* ---------------------------------------------------------------------------
 * The workload.
 * ------------------------------------------------------------------------- */

static bool expect_ok(int rc, const char *what, uint32_t op_no)
{
    if (rc == FK_STORE_OK) return true;
    printf("FAIL golden run: %s returned %d at operation %u\n", what, rc, op_no);
    h.failures++;
    return false;
}

/* Choose the size of a new record, keeping the live data under budget. */
static uint32_t pick_size(uint64_t *rng)
{
    const uint32_t r = sim_rng_below(rng, 100);
    if (r < 60u) return sim_rng_below(rng, SMALL_MAX + 1u);
    if (r < 90u) return SMALL_MAX + sim_rng_below(rng, MEDIUM_MAX - SMALL_MAX);
    return LARGE_MIN + sim_rng_below(rng, LARGE_MAX - LARGE_MIN + 1u);
}

/* Run one workload operation on the golden store and the model. */
static bool workload_op(uint64_t *rng, uint32_t op_no)
{
    uint32_t k = sim_rng_below(rng, N_IDS);
    obj_t *o = &model.o[k];
    const uint32_t kind = sim_rng_below(rng, 100);
    obj_t after = {false, 0, NULL};
    int rc = FK_STORE_OK;

    /* Over budget: delete something large instead. */
    if (model_live(&model) > LIVE_BUDGET) {
        uint32_t best = 0;
        for (uint32_t i = 0; i < N_IDS; i++)
            if (model.o[i].present && model.o[i].len >= model.o[best].len) best = i;
        k = best;
        o = &model.o[k];
    }

    cur.active = true;
    cur.k = k;
    cur.before = *o;
    cur.op_no = op_no;

    if (model_live(&model) > LIVE_BUDGET || (kind < 12u && o->present)) {
        cur.after = after;
        rc = fk_store_delete(&golden, id_of(k));
        if (!expect_ok(rc, "delete", op_no)) return false;
    } else if (kind < 30u && o->present) {
        /* Patch: overwrite, extend or truncate. */
        const uint32_t off = sim_rng_below(rng, o->len + 1u);
        const uint32_t n = sim_rng_below(rng, 2u * SMALL_MAX);
        const bool trunc = sim_rng_below(rng, 4) == 0u;
        uint8_t *patch = malloc(n > 0u ? n : 1u);
        if (patch == NULL) abort();
        fill_random(rng, patch, n);
        const uint32_t end = off + n;
        after.present = true;
        after.len = trunc ? end : (end > o->len ? end : o->len);
        after.data = malloc(after.len > 0u ? after.len : 1u);
        if (after.data == NULL) abort();
        memcpy(after.data, o->data, o->len < after.len ? o->len : after.len);
        memcpy(after.data + off, patch, n);
        cur.after = after;
        rc = fk_store_patch(&golden, id_of(k), off, patch, n, trunc);
        free(patch);
        if (!expect_ok(rc, "patch", op_no)) return false;
    } else if (kind < 45u) {
        /* Streaming write in random chunks; one in five is abandoned. */
        const uint32_t total = sim_rng_below(rng, STREAM_MAX + 1u);
        const bool abandon = sim_rng_below(rng, 5) == 0u;
        after.present = true;
        after.len = total;
        after.data = malloc(total > 0u ? total : 1u);
        if (after.data == NULL) abort();
        fill_random(rng, after.data, total);
        cur.after = abandon ? cur.before : after;
        fk_store_txn_t t;
        rc = fk_store_begin(&golden, &t, id_of(k), total);
        if (!expect_ok(rc, "begin", op_no)) return false;
        const uint32_t stop = abandon ? sim_rng_below(rng, total + 1u) : total;
        for (uint32_t done = 0; done < stop;) {
            uint32_t c = 1u + sim_rng_below(rng, STREAM_CHUNK_MAX);
            if (c > stop - done) c = stop - done;
            rc = fk_store_append(&golden, &t, after.data + done, c);
            if (!expect_ok(rc, "append", op_no)) return false;
            done += c;
        }
        if (abandon) {
            fk_store_abort(&golden, &t);
            free(after.data);
            after = cur.before;
        } else {
            rc = fk_store_commit(&golden, &t);
            if (!expect_ok(rc, "commit", op_no)) return false;
        }
    } else {
        after.present = true;
        after.len = pick_size(rng);
        after.data = malloc(after.len > 0u ? after.len : 1u);
        if (after.data == NULL) abort();
        fill_random(rng, after.data, after.len);
        cur.after = after;
        rc = fk_store_write(&golden, id_of(k), after.data, after.len);
        if (!expect_ok(rc, "write", op_no)) return false;
    }
    cur.active = false;
    if (after.data != o->data) free(o->data);
    *o = after;
    return true;
}

int main(int argc, char **argv)
{
    const uint32_t n_ops = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : DEFAULT_OPS;
    h.every = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : DEFAULT_EVERY;
    const uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1u;
    uint64_t rng = seed;
    h.rng = seed ^ 0x5EEDu;
    h.pick_rng = seed ^ 0xC0FFEEu;
    const clock_t t0 = clock();

    if (sim_flash_init(REGION_SIZE, SECTOR_SIZE, PAGE_SIZE) != 0) return 2;
    fork_img = malloc(REGION_SIZE);
    if (fork_img == NULL) return 2;
    if (fk_store_mount(&golden, 0, REGION_SIZE) != FK_STORE_OK) return 2;

    sim_flash_set_hook(hook, NULL);
    uint32_t done = 0;
    for (; done < n_ops; done++)
        if (!workload_op(&rng, done)) break;
    sim_flash_set_hook(NULL, NULL);

    /* The final state, and a cut after the very last operation. */
    sim_op_t none = {SIM_OP_PROGRAM, 0, 0, NULL, h.golden_ops};
    run_fork(&none, SIM_CUT_NONE);
    bool took_new;
    if (fk_store_mount(&golden, 0, REGION_SIZE) != FK_STORE_OK ||
        !check_store(&golden, &model, false, &took_new, "final")) {
        printf("FAIL final remount\n");
        h.failures++;
    }
    fk_store_stats_t st;
    fk_store_stats(&golden, &st);

    const double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("powercut: %u operations, %llu flash operations, erase counts %u..%u\n", done,
           (unsigned long long)h.golden_ops, st.erase_min, st.erase_max);
    printf("powercut: %llu cut points, %llu failures (%.1f s)\n",
           (unsigned long long)h.cut_points, (unsigned long long)h.failures, secs);

    for (uint32_t k = 0; k < N_IDS; k++) free(model.o[k].data);
    free(fork_img);
    sim_flash_deinit();
    return h.failures == 0u && done == n_ops ? 0 : 1;
}
