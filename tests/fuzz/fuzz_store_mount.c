/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_store_mount.c - the flash store's mount over arbitrary flash
 * contents (libFuzzer). The flash is simulated: 16 sectors of 512 bytes.
 *
 * Input byte 0 chooses how the image is made from the rest:
 *   bit 0 clear: the rest is the image itself (padded with erased bytes);
 *   bit 0 set:   a valid store built by a fixed workload (namespaced keys,
 *                spanning records, replacements, deletes, a range delete,
 *                batches, an aborted batch and an aborted stream, garbage
 *                collection), damaged by the rest read as (offset 16-bit
 *                LE, xor byte) triples; bits 2-3 pick the store: 0 as the
 *                workload left it, 1 cut just after the wipe marker of a
 *                format, 2 cut just after the marker of a delete (before
 *                the old version is gone), 3 cut just after the commit
 *                marker of a batch (before anything it replaces is gone);
 *   bit 1 set:   power also fails during the first mount, after
 *                (byte 0 >> 4) flash operations; then it mounts again.
 *
 * For a damaged store, every record of the template whose bytes the damage
 * did not touch (its header, its payload, the headers of the sectors it
 * spans, and for a batch not yet applied its commit marker) must read back
 * exactly as in the template after the mount: damage elsewhere costs it
 * nothing. This holds for what flash can do to itself, not for damage that
 * forges a checksum: when the damage turns some header slot into a header
 * that checks (or nearly) and differs from the template's, or brings a
 * dead record back, the check is skipped.
 *
 * When the mount succeeds, every record is read, the keys walked, the stats
 * taken and a few writes, a patch and a delete made; then the store is
 * mounted again and must hold exactly what the first mount plus those
 * operations left. Any inconsistency aborts (a finding), as does any
 * sanitizer report.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_flash.h"
#include "store/store.h"
#include "util.h"

#define FZ_SECTOR 512u
#define FZ_PAGE 128u
#define FZ_SECTORS 16u
#define FZ_SIZE (FZ_SECTOR * FZ_SECTORS)
#define FZ_DATA (FZ_SECTOR - HDR_LEN)
#define FZ_MAX_IDS 64u
#define FZ_REC_MAX FZ_SIZE
#define NEW_KEY FK_STORE_KEY(0x42, 0x4242)
#define NEW_LEN 100u

/* The format, as docs/store.md draws it. */
#define HDR_LEN 32u
#define REC_MAGIC 0xA7u
#define REC_VERSION 2u
#define REC_BODY 12u
#define REC_HCRC 12u
#define REC_PCRC 16u
#define REC_CCRC 20u
#define REC_DEAD 24u
#define REC_CCRC_MASK 0x1FFFFFFFu
#define REC_TYPE 2u
#define REC_TYPE_DELETE 2u
#define REC_TYPE_WIPE 3u
#define REC_TYPE_COMMIT 5u
#define FLAG_MAX_ONES 6u
#define SECT_MAGIC 0x54534B46u
#define SECT_CRC_A 16u
#define SECT_A_LEN 20u
#define SECT_SEQ 20u
#define SECT_FIRST 24u
#define SECT_ZERO 26u
#define SECT_CRC_B 28u
#define FIRST_NONE 0xFFFFu
#define NEAR_BITS 2u
#define BITS 8u

#define N_TEMPLATES 4u
#define T_PLAIN 0u
#define T_WIPE 1u
#define T_DELETE 2u
#define T_BATCH 3u

typedef struct seen {
    fk_store_key_t key;
    uint32_t size;
    int read_rc;
    uint32_t sum;
} seen_t;

/* A record of a template: where it lives and what it holds. */
typedef struct trec {
    fk_store_key_t key;
    uint32_t addr, len, sum;
    bool needs_marker; /* staged in the captured batch: lives by its marker */
} trec_t;

typedef struct tmpl {
    uint8_t image[FZ_SIZE];
    trec_t rec[FZ_MAX_IDS];
    uint32_t n;
    uint32_t marker;     /* flash offset of the commit marker (T_BATCH) */
    uint32_t head_seq;   /* of the log */
} tmpl_t;

static fk_store_t g_s;
static tmpl_t g_t[N_TEMPLATES];
static bool g_ready;
static uint8_t g_buf[FZ_REC_MAX];
static seen_t g_seen[FZ_MAX_IDS];
static bool g_touched[FZ_SIZE];

/* Capture of the image right after a marker record of one type is
 * programmed (before the flash operation that follows it). */
static struct {
    uint8_t type;
    bool next;
    bool done;
    uint32_t offset;
    uint8_t *dst;
} g_cap;

static void capture_hook(void *arg, const sim_op_t *op)
{
    (void)arg;
    if (g_cap.done) return;
    if (g_cap.next) {
        memcpy(g_cap.dst, sim_flash_data(), FZ_SIZE);
        g_cap.done = true;
        return;
    }
    if (op->kind == SIM_OP_PROGRAM && op->len == HDR_LEN && op->data[0] == REC_MAGIC &&
        op->data[REC_TYPE] == g_cap.type) {
        g_cap.next = true;
        g_cap.offset = op->offset;
    }
}

static void capture_start(uint8_t type, uint8_t *dst)
{
    memset(&g_cap, 0, sizeof g_cap);
    g_cap.type = type;
    g_cap.dst = dst;
    sim_flash_set_hook(capture_hook, NULL);
}

static void capture_end(void)
{
    sim_flash_set_hook(NULL, NULL);
    if (!g_cap.done) abort();
}

static uint32_t checksum(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    for (uint32_t i = 0; i < n; i++) p[i] = (uint8_t)(seed * 31u + i * 7u);
}

static fk_store_key_t wkey(uint32_t i) { return FK_STORE_KEY(1u + i % 2u, i); }

/* Note the live records of g_s (mounted on the flash) into t. */
static void note_records(tmpl_t *t, const fk_store_t *s)
{
    t->n = 0;
    t->head_seq = s->head_seq;
    for (size_t i = 0; i < s->n_entries && t->n < FZ_MAX_IDS; i++) {
        trec_t *r = &t->rec[t->n++];
        r->key = s->entries[i].key;
        r->addr = s->entries[i].addr;
        r->len = s->entries[i].len;
        if (fk_store_read(s, r->key, 0, g_buf, r->len) != FK_STORE_OK) abort();
        r->sum = checksum(g_buf, r->len);
    }
}

/* A store with spanning records, replacements, deletes, a range delete,
 * batches, an aborted batch and stream, and garbage collection behind it;
 * then the three captured variants. */
static void build_templates(void)
{
    if (sim_flash_init(FZ_SIZE, FZ_SECTOR, FZ_PAGE) != 0) abort();
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    for (uint32_t i = 0; i < 60; i++) {
        const uint32_t len = (i * 37u) % 700u;
        fill(g_buf, len, i);
        (void)fk_store_write(&g_s, wkey(i % 7u), g_buf, len);
        if (i % 9u == 8u) (void)fk_store_delete(&g_s, wkey(i % 5u));
        if (i % 20u == 10u) {
            if (fk_store_batch_begin(&g_s) != FK_STORE_OK) abort();
            fill(g_buf, 300, i + 1000u);
            (void)fk_store_write(&g_s, FK_STORE_KEY(3, i), g_buf, 300);
            (void)fk_store_patch(&g_s, wkey(1), 3, "batch", 5, false);
            (void)fk_store_delete(&g_s, wkey(2));
            if (fk_store_batch_commit(&g_s) != FK_STORE_OK) abort();
        }
    }
    (void)fk_store_delete_range(&g_s, FK_STORE_KEY(3, 0), FK_STORE_KEY(3, 15));
    fk_store_txn_t t;
    if (fk_store_begin(&g_s, &t, FK_STORE_KEY(1, 9), 600) == FK_STORE_OK) {
        (void)fk_store_append(&g_s, &t, g_buf, 200);
        fk_store_abort(&g_s, &t);
    }
    if (fk_store_batch_begin(&g_s) != FK_STORE_OK) abort();
    (void)fk_store_write(&g_s, FK_STORE_KEY(2, 77), "aborted", 7);
    fk_store_batch_abort(&g_s);
    (void)fk_store_patch(&g_s, wkey(3), 0, "patch", 5, false);
    memcpy(g_t[T_PLAIN].image, sim_flash_data(), FZ_SIZE);
    note_records(&g_t[T_PLAIN], &g_s);

    /* Cut after a delete marker: the victim may be either way. */
    capture_start(REC_TYPE_DELETE, g_t[T_DELETE].image);
    fk_store_key_t victim;
    if (fk_store_first(&g_s, 0, &victim) != FK_STORE_OK) abort();
    if (fk_store_delete(&g_s, victim) != FK_STORE_OK) abort();
    capture_end();
    note_records(&g_t[T_DELETE], &g_s);

    /* Cut after a batch's commit marker: the state after the batch. */
    capture_start(REC_TYPE_COMMIT, g_t[T_BATCH].image);
    if (fk_store_batch_begin(&g_s) != FK_STORE_OK) abort();
    fill(g_buf, 250, 4242);
    if (fk_store_write(&g_s, wkey(4), g_buf, 250) != FK_STORE_OK) abort();
    if (fk_store_write(&g_s, FK_STORE_KEY(4, 1), g_buf + 1, 90) != FK_STORE_OK) abort();
    if (fk_store_delete_range(&g_s, wkey(5), wkey(5)) != FK_STORE_OK) abort();
    if (fk_store_batch_commit(&g_s) != FK_STORE_OK) abort();
    capture_end();
    g_t[T_BATCH].marker = g_cap.offset;
    note_records(&g_t[T_BATCH], &g_s);
    for (uint32_t i = 0; i < g_t[T_BATCH].n; i++) {
        trec_t *r = &g_t[T_BATCH].rec[i];
        r->needs_marker = r->key == wkey(4) || r->key == FK_STORE_KEY(4, 1);
    }

    memcpy(sim_flash_data(), g_t[T_PLAIN].image, FZ_SIZE);
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    capture_start(REC_TYPE_WIPE, g_t[T_WIPE].image);
    if (fk_store_format(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    capture_end();
    g_t[T_WIPE].n = 0;
    g_ready = true;
}

/* ---------------------------------------------------------------------------
 * What the damage touched, and whether it forged a checksum.
 * ------------------------------------------------------------------------- */

static uint32_t popcount8(uint8_t v)
{
    uint32_t n = 0;
    for (; v != 0u; v &= (uint8_t)(v - 1u)) n++;
    return n;
}

static uint32_t distance(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++) d += popcount8((uint8_t)(a[i] ^ b[i]));
    return d;
}

static bool rec_hdr_ok(const uint8_t *h)
{
    return h[0] == REC_MAGIC && h[1] == REC_VERSION &&
           fk_le32(h + REC_HCRC) == fk_crc32(0, h, REC_BODY);
}

static bool rec_commit_ok(const uint8_t *h)
{
    uint32_t c = fk_crc32(0, h, REC_BODY);
    c = fk_crc32(c, h + REC_PCRC, 4) & REC_CCRC_MASK;
    return fk_le32(h + REC_CCRC) == c;
}

/* Whether h passes ok with at most one bit of [lo, hi) flipped; the fixed
 * bytes in out (which may be h). */
static bool fixable(const uint8_t *h, uint32_t lo, uint32_t hi, bool (*ok)(const uint8_t *),
                    uint8_t *out)
{
    memmove(out, h, HDR_LEN);
    if (ok(out)) return true;
    for (uint32_t b = lo * BITS; b < hi * BITS; b++) {
        out[b / BITS] ^= (uint8_t)(1u << (b % BITS));
        if (ok(out)) return true;
        out[b / BITS] ^= (uint8_t)(1u << (b % BITS));
    }
    return false;
}

/* Whether the damaged slot d (a 32-byte record header position) says
 * something the template slot t did not: a header that checks with other
 * fields, a commit that checks, or a dead record alive again. */
static bool rec_slot_forged(const uint8_t *t, const uint8_t *d)
{
    uint8_t ft[HDR_LEN], fd[HDR_LEN];
    if (!fixable(d, 0, REC_PCRC, rec_hdr_ok, fd)) return false;
    if (!fixable(t, 0, REC_PCRC, rec_hdr_ok, ft)) return true;
    if (memcmp(ft, fd, REC_PCRC) != 0) return true;
    const bool cd = fixable(fd, REC_PCRC, REC_DEAD, rec_commit_ok, fd);
    const bool ct = fixable(ft, REC_PCRC, REC_DEAD, rec_commit_ok, ft);
    if (cd && (!ct || memcmp(ft + REC_PCRC, fd + REC_PCRC, REC_DEAD - REC_PCRC) != 0)) return true;
    return popcount8(t[REC_DEAD]) <= FLAG_MAX_ONES && popcount8(d[REC_DEAD]) > FLAG_MAX_ONES;
}

static bool part_a_ok(const uint8_t *h)
{
    return fk_le32(h) == SECT_MAGIC && fk_le32(h + SECT_CRC_A) == fk_crc32(0, h, SECT_CRC_A);
}

static bool part_b_ok(const uint8_t *h)
{
    return h[SECT_ZERO] == 0u && h[SECT_ZERO + 1u] == 0u &&
           fk_le32(h + SECT_CRC_B) == fk_crc32(0, h, SECT_CRC_B);
}

/* Whether the damaged sector header d checks (or nearly: part B within
 * NEAR_BITS of one with a sequence number the log could use) where the
 * template's t says otherwise. */
static bool sect_forged(const tmpl_t *tp, const uint8_t *t, const uint8_t *d)
{
    uint8_t ft[HDR_LEN], fd[HDR_LEN], want[HDR_LEN];
    if (!fixable(d, 0, SECT_A_LEN, part_a_ok, fd)) return false;
    const bool at = fixable(t, 0, SECT_A_LEN, part_a_ok, ft);
    if (!at || memcmp(ft, fd, SECT_A_LEN) != 0) return true;
    const bool bt = fixable(ft, SECT_SEQ, HDR_LEN, part_b_ok, ft);
    if (fixable(fd, SECT_SEQ, HDR_LEN, part_b_ok, fd))
        return !bt || memcmp(ft + SECT_SEQ, fd + SECT_SEQ, HDR_LEN - SECT_SEQ) != 0;
    memcpy(want, fd, SECT_A_LEN);
    const uint32_t lo = tp->head_seq > 2u * FZ_SECTORS ? tp->head_seq - 2u * FZ_SECTORS : 0u;
    for (uint32_t seq = lo; seq <= tp->head_seq + 1u; seq++) {
        for (uint32_t f = HDR_LEN;; f += HDR_LEN) {
            const uint16_t first = f <= FZ_SECTOR - HDR_LEN ? (uint16_t)f : (uint16_t)FIRST_NONE;
            fk_put_le32(want + SECT_SEQ, seq);
            want[SECT_FIRST] = (uint8_t)first;
            want[SECT_FIRST + 1u] = (uint8_t)(first >> 8);
            want[SECT_ZERO] = 0;
            want[SECT_ZERO + 1u] = 0;
            fk_put_le32(want + SECT_CRC_B, fk_crc32(0, want, SECT_CRC_B));
            const bool same = bt && memcmp(ft + SECT_SEQ, want + SECT_SEQ, HDR_LEN - SECT_SEQ) == 0;
            if (!same && distance(d + SECT_SEQ, want + SECT_SEQ, HDR_LEN - SECT_SEQ) <= NEAR_BITS)
                return true;
            if (first == FIRST_NONE) break;
        }
    }
    return false;
}

/* Whether the damage forged a header anywhere. */
static bool damage_forged(const tmpl_t *tp, const uint8_t *flash)
{
    for (uint32_t off = 0; off < FZ_SIZE; off += HDR_LEN) {
        bool hit = false;
        for (uint32_t i = 0; i < HDR_LEN; i++) hit |= g_touched[off + i];
        if (!hit) continue;
        if (off % FZ_SECTOR == 0u ? sect_forged(tp, tp->image + off, flash + off)
                                  : rec_slot_forged(tp->image + off, flash + off))
            return true;
    }
    return false;
}

static bool sector_touched(uint32_t sect)
{
    for (uint32_t i = 0; i < HDR_LEN; i++)
        if (g_touched[sect * FZ_SECTOR + i]) return true;
    return false;
}

/* Whether the damage touched record r: its header, payload, the headers
 * of the sectors it spans, or (for a batch not applied yet) the marker. */
static bool rec_touched(const tmpl_t *tp, const trec_t *r)
{
    uint32_t sect = r->addr / FZ_SECTOR;
    for (uint32_t i = 0; i < HDR_LEN; i++)
        if (g_touched[r->addr + i]) return true;
    if (sector_touched(sect)) return true;
    const uint32_t rel0 = r->addr % FZ_SECTOR - HDR_LEN + HDR_LEN;
    for (uint32_t i = 0; i < r->len; i++) {
        const uint32_t rel = rel0 + i;
        const uint32_t s = (sect + rel / FZ_DATA) % FZ_SECTORS;
        if (g_touched[s * FZ_SECTOR + HDR_LEN + rel % FZ_DATA] || sector_touched(s)) return true;
    }
    if (r->needs_marker) {
        for (uint32_t i = 0; i < HDR_LEN; i++)
            if (g_touched[tp->marker + i]) return true;
        if (sector_touched(tp->marker / FZ_SECTOR)) return true;
    }
    return false;
}

/* Every untouched record of the template reads back as it was. */
static void check_healthy(const tmpl_t *tp, const fk_store_t *s)
{
    for (uint32_t i = 0; i < tp->n; i++) {
        const trec_t *r = &tp->rec[i];
        if (rec_touched(tp, r)) continue;
        uint32_t size;
        if (fk_store_size(s, r->key, &size) != FK_STORE_OK || size != r->len) abort();
        if (fk_store_read(s, r->key, 0, g_buf, size) != FK_STORE_OK) abort();
        if (checksum(g_buf, size) != r->sum) abort();
    }
}

/* ---------------------------------------------------------------------------
 * Consistency of two mounts.
 * ------------------------------------------------------------------------- */

/* Note every key with its size, read result and a checksum of its bytes. */
static uint32_t survey(const fk_store_t *s)
{
    uint32_t n = 0;
    fk_store_key_t key, from = 0;
    while (fk_store_first(s, from, &key) == FK_STORE_OK) {
        if (key < from || key > FK_STORE_KEY_LAST) abort();
        from = key + 1u;
        uint32_t size = 0;
        if (fk_store_size(s, key, &size) != FK_STORE_OK) abort();
        if (size > FZ_REC_MAX) abort(); /* cannot fit the region */
        const int rc = fk_store_read(s, key, 0, g_buf, size);
        if (rc != FK_STORE_OK && rc != FK_STORE_ECORRUPT) abort();
        if (n < FZ_MAX_IDS) {
            g_seen[n].key = key;
            g_seen[n].size = size;
            g_seen[n].read_rc = rc;
            g_seen[n].sum = rc == FK_STORE_OK ? checksum(g_buf, size) : 0u;
        }
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) build_templates();
    if (size == 0u) return 0;
    const uint8_t mode = data[0];
    data++;
    size--;

    uint8_t *flash = sim_flash_data();
    const tmpl_t *tp = NULL;
    sim_flash_power_on();
    memset(g_touched, 0, sizeof g_touched);
    if (mode & 1u) {
        tp = &g_t[(mode >> 2) & 3u];
        memcpy(flash, tp->image, FZ_SIZE);
        for (size_t i = 0; i + 3u <= size; i += 3u) {
            const uint32_t off = (uint32_t)(data[i] | (data[i + 1] << 8)) % FZ_SIZE;
            flash[off] ^= data[i + 2];
            g_touched[off] = true;
        }
        for (uint32_t i = 0; i < FZ_SIZE; i++) g_touched[i] = flash[i] != tp->image[i];
        if (damage_forged(tp, flash)) tp = NULL;
    } else {
        memset(flash, 0xFF, FZ_SIZE);
        memcpy(flash, data, size < FZ_SIZE ? size : FZ_SIZE);
    }

    if (mode & 2u) {
        sim_flash_cut_after(mode >> 4, SIM_CUT_SCATTER, size);
        (void)fk_store_mount(&g_s, 0, FZ_SIZE);
        sim_flash_power_on();
    }
    int rc = fk_store_mount(&g_s, 0, FZ_SIZE);
    if (rc != FK_STORE_OK) {
        if (rc != FK_STORE_ECORRUPT) abort();
        /* Damage that forges no header refuses a store only when it
         * destroyed everything (every sector header). */
        for (uint32_t i = 0; tp != NULL && i < tp->n; i++)
            if (!rec_touched(tp, &tp->rec[i])) abort();
        return 0;
    }
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    if (st.files > FK_STORE_MAX_IDS || st.used > FZ_SIZE) abort();
    if (tp != NULL) check_healthy(tp, &g_s);

    /* A mount after a mount finds the same records. */
    const uint32_t n1 = survey(&g_s);
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    static seen_t first[FZ_MAX_IDS];
    memcpy(first, g_seen, sizeof first);
    if (survey(&g_s) != n1 || memcmp(first, g_seen, sizeof first) != 0) abort();

    /* Writes on whatever was found, then a remount keeps them. */
    uint8_t rec[NEW_LEN];
    fill(rec, NEW_LEN, mode);
    const int wrc = fk_store_write(&g_s, NEW_KEY, rec, NEW_LEN);
    if (wrc != FK_STORE_OK && wrc != FK_STORE_ENOSPC) abort();
    if (wrc == FK_STORE_OK) {
        if (fk_store_read(&g_s, NEW_KEY, 0, g_buf, NEW_LEN) != FK_STORE_OK) abort();
        if (memcmp(g_buf, rec, NEW_LEN) != 0) abort();
        rc = fk_store_patch(&g_s, NEW_KEY, 10, "xyz", 3, false);
        if (rc != FK_STORE_OK && rc != FK_STORE_ENOSPC) abort();
        if (rc == FK_STORE_OK) memcpy(rec + 10, "xyz", 3);
    }
    fk_store_key_t victim;
    if (fk_store_first(&g_s, 0, &victim) == FK_STORE_OK && victim != NEW_KEY) {
        rc = fk_store_delete(&g_s, victim);
        if (rc != FK_STORE_OK && rc != FK_STORE_ENOSPC) abort();
    }
    const uint32_t n2 = survey(&g_s);
    memcpy(first, g_seen, sizeof first);
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    if (survey(&g_s) != n2 || memcmp(first, g_seen, sizeof first) != 0) abort();
    if (wrc == FK_STORE_OK) {
        if (fk_store_read(&g_s, NEW_KEY, 0, g_buf, NEW_LEN) != FK_STORE_OK) abort();
        if (memcmp(g_buf, rec, NEW_LEN) != 0) abort();
    }
    return 0;
}
