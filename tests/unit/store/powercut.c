/* SPDX-License-Identifier: Apache-2.0 */
/*
 * powercut.c - the store's power-cut harness.
 *
 * A seeded workload of store operations (writes of 0 bytes up to large
 * records, patches, deletes, range deletes, streaming writes, aborted
 * streams, and batches of several of these, committed or aborted; enough
 * churn for many garbage collections) runs once on the simulated flash: the
 * "golden" run. Before selected program and erase operations of that run,
 * the harness forks the flash: it copies the image as a power cut at that
 * moment would leave it (the operation not done at all, or done as a
 * prefix, or as a random subset of its bit changes), and on the copy it
 *   1. mounts (sometimes cutting power again during the mount's own
 *      recovery writes, then mounting once more),
 *   2. checks every record: the whole store is exactly as the model says
 *      before the interrupted workload operation or exactly as after it
 *      (for a batch: all of its operations or none), and no other key
 *      exists,
 *   3. runs a few more operations, mounts again and checks again.
 * Then the golden run continues as if nothing happened. Each fork is one
 * cut point; the run prints how many it exercised and how many failed.
 *
 * Which flash operations become cut points is drawn at random (seeded, so
 * runs repeat exactly): erases and the short programs of headers, commit
 * areas, flags and sector headers one in `every`, bulk payload and zeroing
 * programs one in BULK_FACTOR * `every`; every = 0 takes every single one.
 * Each chosen operation gives two cut points: before it, and in the middle
 * of it.
 *
 * usage: powercut [ops [every [seed [profile]]]]
 *   ops      operations in the workload (default 1000)
 *   every    sampling divisor (default 6); 0 = every flash operation
 *   seed     workload seed (default 1)
 *   profile  "large" (default: 512 KiB region, records up to 70 KiB) or
 *            "small" (64 KiB region of 1 KiB sectors, records up to 6 KiB:
 *            small enough to cut at every flash operation in CI)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_flash.h"
#include "store/store.h"

#define N_IDS 40u
#define N_NS 3u
#define NS_BASE 1u
#define ID_BASE 0x1000u
#define ID_STEP 37u
#define META_MAX_LEN 32u
#define FOLLOW_UP_OPS 3u
#define NESTED_EVERY 5u
#define NESTED_MAX_OPS 12u
#define DEFAULT_OPS 1000u
#define DEFAULT_EVERY 6u
#define BULK_FACTOR 12u
#define BATCH_OPS_MAX 6u
#define PATCH_MAX 16u
#define PERCENT 100u

/* Sizes and limits of one run. */
typedef struct profile {
    const char *name;
    uint32_t region, sector, page;
    uint32_t n_ids;        /* keys the workload uses (<= N_IDS) */
    uint32_t live_budget;  /* payload bytes kept live at most */
    uint32_t small_max, medium_max, large_min, large_max;
    uint32_t stream_max, chunk_max;
} profile_t;

static const profile_t k_profiles[] = {
    {"large", 512u * 1024u, 4096u, 256u, 40u, 200u * 1024u, 512u, 8u * 1024u, 40u * 1024u,
     70u * 1024u, 20u * 1024u, 3000u},
    {"small", 64u * 1024u, 1024u, 256u, 12u, 14u * 1024u, 200u, 1500u, 3000u, 6u * 1024u,
     3000u, 700u},
};

/* One key's expected state. */
typedef struct obj {
    bool present;
    uint32_t len;
    uint8_t *data; /* owned by the model that holds it */
} obj_t;

typedef struct model {
    obj_t o[N_IDS];
} model_t;

static const profile_t *g_p;
static fk_store_t golden;   /* the golden run's store */
static fk_store_t fork_st;  /* the store mounted on a fork */
static model_t model;       /* the state before the operation in progress */
static uint8_t *fork_img;
static uint8_t readbuf[FK_STORE_MAX_RECORD];

/* The golden run's operation in progress: the store may be as `model` or,
 * once `after` is complete (for a batch: when it is being committed), as
 * `after` says. */
static struct {
    bool active;
    bool complete;
    model_t after;
    uint32_t op_no;
} cur;

static struct {
    uint32_t every;
    uint64_t golden_ops; /* flash operations of the golden run so far */
    uint64_t pick_rng;   /* chooses the cut points */
    uint64_t cut_points;
    uint64_t failures;
    uint64_t rng;        /* choices of the forks, not of the workload */
} h;

static fk_store_key_t key_of(uint32_t k)
{
    return FK_STORE_KEY(NS_BASE + k % N_NS, ID_BASE + (k / N_NS) * ID_STEP);
}

static int k_of(fk_store_key_t key)
{
    const uint32_t ns = FK_STORE_KEY_NS(key), id = FK_STORE_KEY_ID(key);
    if (ns < NS_BASE || ns >= NS_BASE + N_NS || id < ID_BASE || (id - ID_BASE) % ID_STEP != 0u)
        return -1;
    const uint32_t k = (id - ID_BASE) / ID_STEP * N_NS + (ns - NS_BASE);
    return k < g_p->n_ids ? (int)k : -1;
}

static uint8_t *alloc(uint32_t len)
{
    uint8_t *p = malloc(len > 0u ? len : 1u);
    if (p == NULL) abort();
    return p;
}

static void fill_random(uint64_t *rng, uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) p[i] = (uint8_t)sim_rng_next(rng);
}

static uint32_t model_live(const model_t *m)
{
    uint32_t sum = 0;
    for (uint32_t k = 0; k < g_p->n_ids; k++)
        if (m->o[k].present) sum += m->o[k].len;
    return sum;
}

/* ---------------------------------------------------------------------------
 * Checking a store against the model.
 * ------------------------------------------------------------------------- */

static bool obj_matches(const fk_store_t *s, fk_store_key_t key, const obj_t *o)
{
    uint32_t size;
    int rc = fk_store_size(s, key, &size);
    if (!o->present) return rc == FK_STORE_ENOENT;
    if (rc != FK_STORE_OK || size != o->len) return false;
    if (fk_store_read(s, key, 0, readbuf, size) != FK_STORE_OK) return false;
    return size == 0u || memcmp(readbuf, o->data, size) == 0;
}

/* Whether s holds exactly what m says (and no other key). */
static bool store_is(const fk_store_t *s, const model_t *m)
{
    fk_store_key_t key, from = 0;
    while (fk_store_first(s, from, &key) == FK_STORE_OK) {
        if (k_of(key) < 0) return false;
        from = key + 1u;
    }
    for (uint32_t k = 0; k < g_p->n_ids; k++)
        if (!obj_matches(s, key_of(k), &m->o[k])) return false;
    return true;
}

/* Print where s and m differ. */
static void explain(const fk_store_t *s, const model_t *m, const char *what)
{
    fk_store_key_t key, from = 0;
    while (fk_store_first(s, from, &key) == FK_STORE_OK) {
        if (k_of(key) < 0) printf("  %s: unexpected key %06x\n", what, key);
        from = key + 1u;
    }
    for (uint32_t k = 0; k < g_p->n_ids; k++)
        if (!obj_matches(s, key_of(k), &m->o[k]))
            printf("  %s: key %06x differs from the model\n", what, key_of(k));
}

/* ---------------------------------------------------------------------------
 * The forks.
 * ------------------------------------------------------------------------- */

/* A few operations on the forked store, tracked in fm (which owns what they
 * allocate: freed by the caller through `owned`). */
static bool follow_up(model_t *fm, uint8_t **owned, uint32_t *n_owned)
{
    for (uint32_t j = 0; j < FOLLOW_UP_OPS; j++) {
        const uint32_t k = sim_rng_below(&h.rng, g_p->n_ids);
        obj_t *o = &fm->o[k];
        const uint32_t kind = sim_rng_below(&h.rng, 3);
        int rc;
        if (kind == 0u && o->present) {
            rc = fk_store_delete(&fork_st, key_of(k));
            o->present = false;
        } else if (kind == 1u && o->present && o->len > 0u) {
            const uint32_t off = sim_rng_below(&h.rng, o->len);
            uint8_t patch[PATCH_MAX];
            const uint32_t n = 1u + sim_rng_below(&h.rng, sizeof patch);
            fill_random(&h.rng, patch, n);
            rc = fk_store_patch(&fork_st, key_of(k), off, patch, n, false);
            const uint32_t nl = off + n > o->len ? off + n : o->len;
            uint8_t *d = alloc(nl);
            memcpy(d, o->data, o->len);
            memcpy(d + off, patch, n);
            o->data = d;
            o->len = nl;
            owned[(*n_owned)++] = d;
        } else {
            const uint32_t n = sim_rng_below(&h.rng, g_p->small_max);
            uint8_t *d = alloc(n);
            fill_random(&h.rng, d, n);
            rc = fk_store_write(&fork_st, key_of(k), d, n);
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
    if (ok && cur.active && cur.complete && store_is(&fork_st, &cur.after)) {
        took_new = true;
    } else if (ok && !store_is(&fork_st, &model)) {
        printf("  after the cut: neither the state before operation %u nor after it\n",
               cur.op_no);
        explain(&fork_st, &model, "before");
        if (cur.active && cur.complete) explain(&fork_st, &cur.after, "after");
        ok = false;
    }

    model_t fm = took_new ? cur.after : model;
    if (ok) ok = follow_up(&fm, owned, &n_owned);
    if (ok) {
        rc = fk_store_mount(&fork_st, 0, size);
        if (rc != FK_STORE_OK) {
            printf("  second mount failed: %d\n", rc);
            ok = false;
        }
    }
    if (ok && !store_is(&fork_st, &fm)) {
        explain(&fork_st, &fm, "after the follow-up");
        ok = false;
    }
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

/* Set key k of the operation's outcome, freeing a buffer only the outcome
 * held (a batch may change a key more than once). */
static void set_after(uint32_t k, obj_t o)
{
    obj_t *a = &cur.after.o[k];
    if (a->data != NULL && a->data != model.o[k].data && a->data != o.data) free(a->data);
    *a = o;
}

/* The operation is done: its outcome becomes the model (commit = true), or
 * it is dropped (an abort). */
static void settle(bool commit)
{
    for (uint32_t k = 0; k < g_p->n_ids; k++) {
        obj_t *a = &cur.after.o[k], *m = &model.o[k];
        if (a->data == m->data) continue;
        if (commit) {
            free(m->data);
        } else {
            free(a->data);
            *a = *m;
        }
    }
    if (commit) model = cur.after;
    cur.active = false;
}

/* Choose the size of a new record, keeping the live data under budget. */
static uint32_t pick_size(uint64_t *rng, bool in_batch)
{
    const uint32_t r = sim_rng_below(rng, PERCENT);
    if (r < 60u) return sim_rng_below(rng, g_p->small_max + 1u);
    if (r < 90u || in_batch)
        return g_p->small_max + sim_rng_below(rng, g_p->medium_max - g_p->small_max);
    return g_p->large_min + sim_rng_below(rng, g_p->large_max - g_p->large_min + 1u);
}

static bool do_write(uint64_t *rng, uint32_t k, bool in_batch, uint32_t op_no)
{
    obj_t o = {true, pick_size(rng, in_batch), NULL};
    o.data = alloc(o.len);
    fill_random(rng, o.data, o.len);
    set_after(k, o);
    return expect_ok(fk_store_write(&golden, key_of(k), o.data, o.len), "write", op_no);
}

/* Patch key k (present in the outcome so far): overwrite, extend or
 * truncate. The outcome is set before the store is called, as in every
 * operation below: the forks taken during the call check against it. */
static bool do_patch(uint64_t *rng, uint32_t k, uint32_t op_no)
{
    const obj_t old = cur.after.o[k];
    const uint32_t off = sim_rng_below(rng, old.len + 1u);
    const uint32_t n = sim_rng_below(rng, 2u * g_p->small_max);
    const bool trunc = sim_rng_below(rng, 4) == 0u;
    uint8_t *patch = alloc(n);
    fill_random(rng, patch, n);
    const uint32_t end = off + n;
    obj_t o = {true, trunc ? end : (end > old.len ? end : old.len), NULL};
    o.data = alloc(o.len);
    memcpy(o.data, old.data, old.len < o.len ? old.len : o.len);
    memcpy(o.data + off, patch, n);
    set_after(k, o);
    const int rc = fk_store_patch(&golden, key_of(k), off, patch, n, trunc);
    free(patch);
    return expect_ok(rc, "patch", op_no);
}

/* A streaming write in random chunks; one in five is abandoned. */
static bool do_stream(uint64_t *rng, uint32_t k, uint32_t op_no)
{
    const uint32_t total = sim_rng_below(rng, g_p->stream_max + 1u);
    const bool abandon = sim_rng_below(rng, 5) == 0u;
    uint8_t *data = alloc(total);
    fill_random(rng, data, total);
    fk_store_txn_t t;
    int rc = fk_store_begin(&golden, &t, key_of(k), total);
    if (!expect_ok(rc, "begin", op_no)) {
        free(data);
        return false;
    }
    const uint32_t stop = abandon ? sim_rng_below(rng, total + 1u) : total;
    for (uint32_t done = 0; done < stop;) {
        uint32_t c = 1u + sim_rng_below(rng, g_p->chunk_max);
        if (c > stop - done) c = stop - done;
        rc = fk_store_append(&golden, &t, data + done, c);
        if (!expect_ok(rc, "append", op_no)) {
            free(data);
            return false;
        }
        done += c;
    }
    if (abandon) {
        fk_store_abort(&golden, &t);
        free(data);
        return true;
    }
    obj_t o = {true, total, data};
    set_after(k, o);
    return expect_ok(fk_store_commit(&golden, &t), "commit", op_no);
}

/* Delete a random range of keys: a whole namespace or part of one. */
static bool do_range(uint64_t *rng, uint32_t op_no)
{
    const uint32_t ns = NS_BASE + sim_rng_below(rng, N_NS);
    fk_store_key_t first = FK_STORE_KEY(ns, 0), last = FK_STORE_KEY(ns, 0xFFFFu);
    if (sim_rng_below(rng, 2) == 0u) {
        const uint32_t a = ID_BASE + sim_rng_below(rng, g_p->n_ids / N_NS * ID_STEP);
        first = FK_STORE_KEY(ns, a);
        last = FK_STORE_KEY(ns, a + sim_rng_below(rng, 4u * ID_STEP));
    }
    for (uint32_t k = 0; k < g_p->n_ids; k++) {
        if (key_of(k) < first || key_of(k) > last) continue;
        obj_t gone = {false, 0, NULL};
        set_after(k, gone);
    }
    return expect_ok(fk_store_delete_range(&golden, first, last), "delete_range", op_no);
}

static bool do_delete(uint32_t k, uint32_t op_no)
{
    obj_t gone = {false, 0, NULL};
    set_after(k, gone);
    return expect_ok(fk_store_delete(&golden, key_of(k)), "delete", op_no);
}

/* A batch of a few operations on random keys, committed or aborted. */
static bool do_batch(uint64_t *rng, uint32_t op_no)
{
    const uint32_t n = 1u + sim_rng_below(rng, BATCH_OPS_MAX);
    const bool abort_it = sim_rng_below(rng, 6) == 0u;
    cur.complete = false;
    if (!expect_ok(fk_store_batch_begin(&golden), "batch_begin", op_no)) return false;
    for (uint32_t j = 0; j < n; j++) {
        const uint32_t k = sim_rng_below(rng, g_p->n_ids);
        const uint32_t kind = sim_rng_below(rng, PERCENT);
        const bool present = cur.after.o[k].present;
        bool ok;
        if (kind < 20u && present)
            ok = do_delete(k, op_no);
        else if (kind < 40u && present)
            ok = do_patch(rng, k, op_no);
        else if (kind < 50u)
            ok = do_range(rng, op_no);
        else if (kind < 60u)
            ok = do_stream(rng, k, op_no);
        else
            ok = do_write(rng, k, true, op_no);
        if (!ok) return false;
    }
    if (abort_it) {
        fk_store_batch_abort(&golden);
        settle(false);
        return true;
    }
    cur.complete = true;
    return expect_ok(fk_store_batch_commit(&golden), "batch_commit", op_no);
}

/* Run one workload operation on the golden store and the model. */
static bool workload_op(uint64_t *rng, uint32_t op_no)
{
    uint32_t k = sim_rng_below(rng, g_p->n_ids);
    const uint32_t kind = sim_rng_below(rng, PERCENT);
    const bool over = model_live(&model) > g_p->live_budget;

    /* Over budget: delete something large instead. */
    if (over) {
        uint32_t best = 0;
        for (uint32_t i = 0; i < g_p->n_ids; i++)
            if (model.o[i].present && model.o[i].len >= model.o[best].len) best = i;
        k = best;
    }
    cur.active = true;
    cur.complete = true;
    cur.after = model;
    cur.op_no = op_no;

    const bool present = model.o[k].present;
    bool ok;
    if (over || (kind < 10u && present))
        ok = do_delete(k, op_no);
    else if (kind < 25u && present)
        ok = do_patch(rng, k, op_no);
    else if (kind < 30u)
        ok = do_range(rng, op_no);
    else if (kind < 42u)
        ok = do_batch(rng, op_no);
    else if (kind < 55u)
        ok = do_stream(rng, k, op_no);
    else
        ok = do_write(rng, k, false, op_no);
    if (!ok) return false;
    if (cur.active) settle(true);
    return true;
}

int main(int argc, char **argv)
{
    const uint32_t n_ops = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : DEFAULT_OPS;
    h.every = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : DEFAULT_EVERY;
    const uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1u;
    g_p = &k_profiles[0];
    for (size_t i = 0; argc > 4 && i < sizeof k_profiles / sizeof k_profiles[0]; i++)
        if (strcmp(argv[4], k_profiles[i].name) == 0) g_p = &k_profiles[i];
    if (argc > 4 && strcmp(argv[4], g_p->name) != 0) {
        fprintf(stderr, "unknown profile %s\n", argv[4]);
        return 2;
    }
    uint64_t rng = seed;
    h.rng = seed ^ 0x5EEDu;
    h.pick_rng = seed ^ 0xC0FFEEu;
    const clock_t t0 = clock();

    if (sim_flash_init(g_p->region, g_p->sector, g_p->page) != 0) return 2;
    fork_img = malloc(g_p->region);
    if (fork_img == NULL) return 2;
    if (fk_store_mount(&golden, 0, g_p->region) != FK_STORE_OK) return 2;

    sim_flash_set_hook(hook, NULL);
    uint32_t done = 0;
    for (; done < n_ops; done++)
        if (!workload_op(&rng, done)) break;
    sim_flash_set_hook(NULL, NULL);

    /* The final state, and a cut after the very last operation. */
    sim_op_t none = {SIM_OP_PROGRAM, 0, 0, NULL, h.golden_ops};
    run_fork(&none, SIM_CUT_NONE);
    if (fk_store_mount(&golden, 0, g_p->region) != FK_STORE_OK || !store_is(&golden, &model)) {
        printf("FAIL final remount\n");
        h.failures++;
    }
    fk_store_stats_t st;
    fk_store_stats(&golden, &st);

    const double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("powercut (%s): %u operations, %llu flash operations, erase counts %u..%u\n",
           g_p->name, done, (unsigned long long)h.golden_ops, st.erase_min, st.erase_max);
    printf("powercut: %llu cut points, %llu failures (%.1f s)\n",
           (unsigned long long)h.cut_points, (unsigned long long)h.failures, secs);

    for (uint32_t k = 0; k < g_p->n_ids; k++) free(model.o[k].data);
    free(fork_img);
    sim_flash_deinit();
    return h.failures == 0u && done == n_ops ? 0 : 1;
}
