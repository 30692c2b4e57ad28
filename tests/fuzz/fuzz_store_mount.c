/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_store_mount.c - the flash store's mount over arbitrary flash
 * contents (libFuzzer). The flash is simulated: 16 sectors of 512 bytes.
 *
 * Input byte 0 chooses how the image is made from the rest:
 *   bit 0 clear: the rest is the image itself (padded with erased bytes);
 *   bit 0 set:   a valid store built by a fixed workload, damaged by the
 *                rest read as (offset 16-bit LE, xor byte) triples; bits
 *                2-3 pick the store: 0 or 3 as the workload left it, 1 cut
 *                just after the wipe marker of a format, 2 cut just after
 *                the marker of a delete (before the old version is gone);
 *   bit 1 set:   power also fails during the first mount, after
 *                (byte 0 >> 4) flash operations; then it mounts again.
 * When the mount succeeds, every record is read, the ids walked, the stats
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

#define FZ_SECTOR 512u
#define FZ_PAGE 128u
#define FZ_SECTORS 16u
#define FZ_SIZE (FZ_SECTOR * FZ_SECTORS)
#define FZ_MAX_IDS 64u
#define FZ_REC_MAX FZ_SIZE
#define NEW_ID 0x4242u
#define NEW_LEN 100u

typedef struct seen {
    uint16_t id;
    uint32_t size;
    int read_rc;
    uint32_t sum;
} seen_t;

#define N_TEMPLATES 3u
#define REC_MAGIC_BYTE 0xA7u /* docs/store.md: record header byte 0 */
#define REC_TYPE_DELETE 2u
#define REC_TYPE_WIPE 3u
#define REC_HDR_LEN 32u

static fk_store_t g_s;
static uint8_t g_template[N_TEMPLATES][FZ_SIZE];

/* Capture of the image right after a marker record of one type is
 * programmed (before the flash operation that follows it). */
static struct {
    uint8_t type;
    bool next;
    bool done;
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
    if (op->kind == SIM_OP_PROGRAM && op->len == REC_HDR_LEN &&
        op->data[0] == REC_MAGIC_BYTE && op->data[2] == g_cap.type)
        g_cap.next = true;
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
static bool g_ready;
static uint8_t g_buf[FZ_REC_MAX];
static seen_t g_seen[FZ_MAX_IDS];

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

/* A store with spanning records, replacements, deletes, an aborted stream
 * and a few garbage collections behind it. */
static void build_template(void)
{
    if (sim_flash_init(FZ_SIZE, FZ_SECTOR, FZ_PAGE) != 0) abort();
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    for (uint32_t i = 0; i < 60; i++) {
        const uint32_t len = (i * 37u) % 700u;
        fill(g_buf, len, i);
        (void)fk_store_write(&g_s, (uint16_t)(i % 7u), g_buf, len);
        if (i % 9u == 8u) (void)fk_store_delete(&g_s, (uint16_t)(i % 5u));
    }
    fk_store_txn_t t;
    if (fk_store_begin(&g_s, &t, 9, 600) == FK_STORE_OK) {
        (void)fk_store_append(&g_s, &t, g_buf, 200);
        fk_store_abort(&g_s, &t);
    }
    (void)fk_store_patch(&g_s, 3, 0, "patch", 5, false);
    memcpy(g_template[0], sim_flash_data(), FZ_SIZE);

    capture_start(REC_TYPE_DELETE, g_template[2]);
    fk_store_key_t victim;
    if (fk_store_first(&g_s, 0, &victim) != FK_STORE_OK) abort();
    if (fk_store_delete(&g_s, victim) != FK_STORE_OK) abort();
    capture_end();

    memcpy(sim_flash_data(), g_template[0], FZ_SIZE);
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    capture_start(REC_TYPE_WIPE, g_template[1]);
    if (fk_store_format(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    capture_end();
    g_ready = true;
}

/* Note every id with its size, read result and a checksum of its bytes. */
static uint32_t survey(const fk_store_t *s)
{
    uint32_t n = 0;
    uint16_t id;
    int32_t after = -1;
    while (fk_store_next(s, after, &id) == FK_STORE_OK) {
        if ((int32_t)id <= after) abort();
        after = id;
        uint32_t size = 0;
        if (fk_store_size(s, id, &size) != FK_STORE_OK) abort();
        if (size > FZ_REC_MAX) abort(); /* cannot fit the region */
        const int rc = fk_store_read(s, id, 0, g_buf, size);
        if (rc != FK_STORE_OK && rc != FK_STORE_ECORRUPT) abort();
        if (n < FZ_MAX_IDS) {
            g_seen[n].id = id;
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
    if (!g_ready) build_template();
    if (size == 0u) return 0;
    const uint8_t mode = data[0];
    data++;
    size--;

    uint8_t *flash = sim_flash_data();
    sim_flash_power_on();
    if (mode & 1u) {
        const uint32_t which = (mode >> 2) & 3u;
        memcpy(flash, g_template[which < N_TEMPLATES ? which : 0u], FZ_SIZE);
        for (size_t i = 0; i + 3u <= size; i += 3u)
            flash[(data[i] | (data[i + 1] << 8)) % FZ_SIZE] ^= data[i + 2];
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
        return 0;
    }
    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    if (st.files > FK_STORE_MAX_IDS || st.used > FZ_SIZE) abort();

    /* A mount after a mount finds the same records. */
    const uint32_t n1 = survey(&g_s);
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    static seen_t first[FZ_MAX_IDS];
    memcpy(first, g_seen, sizeof first);
    if (survey(&g_s) != n1 || memcmp(first, g_seen, sizeof first) != 0) abort();

    /* Writes on whatever was found, then a remount keeps them. */
    uint8_t rec[NEW_LEN];
    fill(rec, NEW_LEN, mode);
    const int wrc = fk_store_write(&g_s, NEW_ID, rec, NEW_LEN);
    if (wrc != FK_STORE_OK && wrc != FK_STORE_ENOSPC) abort();
    if (wrc == FK_STORE_OK) {
        if (fk_store_read(&g_s, NEW_ID, 0, g_buf, NEW_LEN) != FK_STORE_OK) abort();
        if (memcmp(g_buf, rec, NEW_LEN) != 0) abort();
        rc = fk_store_patch(&g_s, NEW_ID, 10, "xyz", 3, false);
        if (rc != FK_STORE_OK && rc != FK_STORE_ENOSPC) abort();
        if (rc == FK_STORE_OK) memcpy(rec + 10, "xyz", 3);
    }
    uint16_t victim;
    if (fk_store_next(&g_s, -1, &victim) == FK_STORE_OK && victim != NEW_ID) {
        rc = fk_store_delete(&g_s, victim);
        if (rc != FK_STORE_OK && rc != FK_STORE_ENOSPC) abort();
    }
    const uint32_t n2 = survey(&g_s);
    memcpy(first, g_seen, sizeof first);
    if (fk_store_mount(&g_s, 0, FZ_SIZE) != FK_STORE_OK) abort();
    if (survey(&g_s) != n2 || memcmp(first, g_seen, sizeof first) != 0) abort();
    if (wrc == FK_STORE_OK) {
        if (fk_store_read(&g_s, NEW_ID, 0, g_buf, NEW_LEN) != FK_STORE_OK) abort();
        if (memcmp(g_buf, rec, NEW_LEN) != 0) abort();
    }
    return 0;
}
