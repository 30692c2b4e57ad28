/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_damage.c - the flash store against decayed and disturbed bits.
 *
 * A populated store (records of all sizes in several namespaces, spanning
 * sectors, replaced, deleted, range-deleted, written in batches, the log
 * wrapped around the region) is damaged one position at a time: every bit
 * of every record header in the log, every bit of every sector header, and
 * a sample of payload bits. After each single flipped bit the store must
 * mount, every other record must read back exactly, the damaged one must be
 * intact (headers: corrected and counted in stats.repaired) or report
 * FK_STORE_ECORRUPT with the damage counted (payloads), and a garbage
 * collection pass (writing until the ring has turned once) must keep every
 * other record. Then two flipped bits and whole destroyed headers: the
 * damaged record may be lost, its neighbours never; a sector whose part B
 * is destroyed in the middle of the log keeps the log whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_flash.h"
#include "store/store.h"
#include "util.h"

#define SECTOR 1024u
#define PAGE 256u
#define NSECT 40u
#define REGION (NSECT * SECTOR)
#define HDR 32u                 /* record and sector header size */
#define DATA_PER_SECTOR (SECTOR - HDR)
#define REC_MAGIC 0xA7u         /* docs/store.md, record header */
#define REC_VERSION 2u
#define REC_BODY 12u
#define REC_CHECKED 24u         /* bytes 0-23: header and commit area */
#define SECT_CHECKED 32u        /* parts A and B */
#define SECT_B 20u
#define BITS 8u
#define MAX_KEYS 48u
#define MAX_SLOTS 512u
#define PAYLOAD_SAMPLES 6u
#define FILLER FK_STORE_KEY(0xFE, 0xAAAA)
#define FILLER_LEN 300u
#define TURN_MAX_WRITES 2000u
#define NO_KEY 0xFFFFFFFFu /* above every key: skip none */

typedef struct mrec {
    fk_store_key_t key;
    bool present;
    uint32_t len;
    uint64_t seed;
} mrec_t;

static fk_store_t g_s;
static mrec_t g_model[MAX_KEYS];
static uint32_t g_nkeys;
static uint8_t g_base[REGION];
static uint8_t g_buf[FK_STORE_MAX_RECORD];
static uint8_t g_back[FK_STORE_MAX_RECORD];
static uint32_t g_slots[MAX_SLOTS];
static uint32_t g_nslots;
static uint64_t g_rng = 0xDA4A6Eu;

static void pattern(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    st = sim_rng_next(&st);
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)sim_rng_next(&st);
}

static mrec_t *model_of(fk_store_key_t key)
{
    for (uint32_t i = 0; i < g_nkeys; i++)
        if (g_model[i].key == key) return &g_model[i];
    assert_true(g_nkeys < MAX_KEYS);
    g_model[g_nkeys].key = key;
    return &g_model[g_nkeys++];
}

static void put(fk_store_key_t key, uint32_t len, uint64_t seed)
{
    pattern(g_buf, len, seed);
    assert_int_equal(fk_store_write(&g_s, key, g_buf, len), FK_STORE_OK);
    if (key == FILLER) return;
    mrec_t *m = model_of(key);
    m->present = true;
    m->len = len;
    m->seed = seed;
}

/* The model's view of a write or delete staged in the batch the caller
 * commits (the caller asserts the store's answer). */
static void model_put(fk_store_key_t key, uint32_t len, uint64_t seed)
{
    mrec_t *m = model_of(key);
    m->present = true;
    m->len = len;
    m->seed = seed;
}

static void model_del(fk_store_key_t first, fk_store_key_t last)
{
    for (uint32_t i = 0; i < g_nkeys; i++)
        if (g_model[i].key >= first && g_model[i].key <= last) g_model[i].present = false;
}

/* Whether the record of m reads back exactly as the model says. */
static bool intact(const fk_store_t *s, const mrec_t *m)
{
    uint32_t size;
    if (fk_store_size(s, m->key, &size) != FK_STORE_OK || size != m->len) return false;
    if (fk_store_read(s, m->key, 0, g_back, size) != FK_STORE_OK) return false;
    pattern(g_buf, size, m->seed);
    return size == 0u || memcmp(g_back, g_buf, size) == 0;
}

/* Every model record but `skip` (a key, or 0xFFFFFFFF for none) is exactly
 * as the model says, absent ones absent, and no other key exists. */
static void check_others(const fk_store_t *s, fk_store_key_t skip, const char *what,
                         uint32_t where)
{
    for (uint32_t i = 0; i < g_nkeys; i++) {
        const mrec_t *m = &g_model[i];
        if (m->key == skip) continue;
        uint32_t size;
        const bool ok =
            m->present ? intact(s, m) : fk_store_size(s, m->key, &size) == FK_STORE_ENOENT;
        if (!ok) fail_msg("%s at 0x%x: key %06x lost or changed", what, where, m->key);
    }
    fk_store_key_t key, from = 0;
    while (fk_store_first(s, from, &key) == FK_STORE_OK) {
        if (key != FILLER && key != skip) {
            bool known = false;
            for (uint32_t i = 0; i < g_nkeys; i++)
                known |= g_model[i].key == key && g_model[i].present;
            if (!known) fail_msg("%s at 0x%x: unexpected key %06x", what, where, key);
        }
        from = key + 1u;
    }
}

/* Write a filler record until every sector has been erased once more. */
static void turn_ring(fk_store_t *s)
{
    fk_store_stats_t st;
    fk_store_stats(s, &st);
    const uint32_t e0 = st.erase_min;
    for (uint32_t n = 0; st.erase_min <= e0; n++) {
        assert_true(n < TURN_MAX_WRITES);
        pattern(g_buf, FILLER_LEN, n);
        assert_int_equal(fk_store_write(s, FILLER, g_buf, FILLER_LEN), FK_STORE_OK);
        fk_store_stats(s, &st);
    }
}

static bool is_rec_header(const uint8_t *p)
{
    return p[0] == REC_MAGIC && p[1] == REC_VERSION &&
           fk_le32(p + REC_BODY) == fk_crc32(0, p, REC_BODY);
}

/* Flash offset of payload byte i of the record whose header is at addr. */
static uint32_t payload_off(uint32_t addr, uint32_t i)
{
    const uint32_t rel = (addr % SECTOR - HDR) + HDR + i;
    return ((addr / SECTOR + rel / DATA_PER_SECTOR) % NSECT) * SECTOR + HDR +
           rel % DATA_PER_SECTOR;
}

static int setup(void **state)
{
    (void)state;
    return sim_flash_init(REGION, SECTOR, PAGE) == 0 &&
                   fk_store_mount(&g_s, 0, REGION) == FK_STORE_OK
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    sim_flash_deinit();
    return 0;
}

/* Build the populated store and keep its image in g_base. */
static void populate(void)
{
    static const uint32_t sizes[] = {0, 1, 31, 32, 33, 100, 255, 500, 991, 992, 993, 1500, 2000,
                                     2500};
    g_nkeys = 0;
    memset(g_model, 0, sizeof g_model);
    for (uint32_t i = 0; i < 24; i++) {
        const fk_store_key_t key = FK_STORE_KEY(1u + i % 3u, i == 5u ? 0xFFFFu : i * 7u);
        put(key, sizes[i % FK_ARRAY_SIZE(sizes)], i);
    }
    /* Replacements, deletes, a range delete. */
    put(FK_STORE_KEY(1, 0), 700, 100);
    assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(2, 7)), FK_STORE_OK);
    model_del(FK_STORE_KEY(2, 7), FK_STORE_KEY(2, 7));
    assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(3, 20), FK_STORE_KEY(3, 60)),
                     FK_STORE_OK);
    model_del(FK_STORE_KEY(3, 20), FK_STORE_KEY(3, 60));
    /* Batches: writes, a patch, deletes, a range, a stream. */
    for (uint32_t b = 0; b < 3; b++) {
        assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
        const fk_store_key_t k1 = FK_STORE_KEY(4, b), k2 = FK_STORE_KEY(1, 3u * 7u);
        pattern(g_buf, 400u + b * 300u, 200u + b);
        assert_int_equal(fk_store_write(&g_s, k1, g_buf, 400u + b * 300u), FK_STORE_OK);
        model_put(k1, 400u + b * 300u, 200u + b);
        pattern(g_buf, 1200, 210u + b);
        fk_store_txn_t t;
        assert_int_equal(fk_store_begin(&g_s, &t, k2, 1200), FK_STORE_OK);
        assert_int_equal(fk_store_append(&g_s, &t, g_buf, 1200), FK_STORE_OK);
        assert_int_equal(fk_store_commit(&g_s, &t), FK_STORE_OK);
        model_put(k2, 1200, 210u + b);
        if (b == 1u) {
            assert_int_equal(fk_store_delete(&g_s, FK_STORE_KEY(2, 4u * 7u)), FK_STORE_OK);
            model_del(FK_STORE_KEY(2, 4u * 7u), FK_STORE_KEY(2, 4u * 7u));
            assert_int_equal(fk_store_delete_range(&g_s, FK_STORE_KEY(1, 50), FK_STORE_KEY(1, 80)),
                             FK_STORE_OK);
            model_del(FK_STORE_KEY(1, 50), FK_STORE_KEY(1, 80));
        }
        assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);
    }
    /* Churn until the log has wrapped around the region twice. */
    for (uint32_t i = 0; i < 220; i++) put(FK_STORE_KEY(0, 1), 200u + i % 50u, 1000u + i);
    /* A last batch, so that staged records of a batch are in the log. */
    assert_int_equal(fk_store_batch_begin(&g_s), FK_STORE_OK);
    pattern(g_buf, 1800, 300);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(4, 9), g_buf, 1800), FK_STORE_OK);
    model_put(FK_STORE_KEY(4, 9), 1800, 300);
    assert_int_equal(fk_store_write(&g_s, FK_STORE_KEY(2, 0), NULL, 0), FK_STORE_OK);
    model_put(FK_STORE_KEY(2, 0), 0, 301);
    assert_int_equal(fk_store_batch_commit(&g_s), FK_STORE_OK);

    fk_store_stats_t st;
    fk_store_stats(&g_s, &st);
    assert_true(st.erase_min >= 2u); /* wrapped */
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    check_others(&g_s, NO_KEY, "populated", 0);
    memcpy(g_base, sim_flash_data(), REGION);

    /* Every record header in the log. */
    g_nslots = 0;
    for (uint32_t s = 0; s < NSECT; s++) {
        for (uint32_t off = HDR; off + HDR <= SECTOR; off += HDR) {
            const uint32_t a = s * SECTOR + off;
            if (is_rec_header(g_base + a)) {
                assert_true(g_nslots < MAX_SLOTS);
                g_slots[g_nslots++] = a;
            }
        }
    }
}

/* Restore the populated image, flip the bits of mask at off, mount, and
 * return the stats of the mount. */
static void damaged_mount(uint32_t off, uint8_t mask, fk_store_stats_t *st)
{
    memcpy(sim_flash_data(), g_base, REGION);
    sim_flash_data()[off] ^= mask;
    if (fk_store_mount(&g_s, 0, REGION) != FK_STORE_OK)
        fail_msg("mount failed, flip at 0x%x", off);
    fk_store_stats(&g_s, st);
}

/* The live record whose header is at flash offset a, or NULL. */
static const mrec_t *live_at(uint32_t a)
{
    memcpy(sim_flash_data(), g_base, REGION);
    if (fk_store_mount(&g_s, 0, REGION) != FK_STORE_OK) return NULL;
    for (size_t i = 0; i < g_s.n_entries; i++) {
        if (g_s.entries[i].addr != a) continue;
        for (uint32_t j = 0; j < g_nkeys; j++)
            if (g_model[j].key == g_s.entries[i].key && g_model[j].present) return &g_model[j];
    }
    return NULL;
}

static void test_single_bit_anywhere(void **state)
{
    (void)state;
    populate();
    uint32_t flips = 0, turns = 0;
    fk_store_stats_t st;

    /* Record headers: every bit. */
    for (uint32_t k = 0; k < g_nslots; k++) {
        const uint32_t a = g_slots[k];
        for (uint32_t byte = 0; byte < HDR; byte++) {
            for (uint32_t bit = 0; bit < BITS; bit++) {
                damaged_mount(a + byte, (uint8_t)(1u << bit), &st);
                flips++;
                check_others(&g_s, NO_KEY, "record header flip", a + byte);
                if (byte < REC_CHECKED && st.repaired < 1u)
                    fail_msg("flip at 0x%x not counted as repaired", a + byte);
                assert_int_equal(st.damaged, 0);
                /* One garbage collection trip per header and a few bits. */
                if (byte % 8u == 0u && bit == byte / 8u) {
                    turn_ring(&g_s);
                    turns++;
                    check_others(&g_s, NO_KEY, "record header flip, after a trip", a + byte);
                }
            }
        }
    }
    /* Sector headers: every bit of every sector. */
    for (uint32_t s = 0; s < NSECT; s++) {
        const bool in_log = g_base[s * SECTOR + SECT_B] != 0xFFu;
        for (uint32_t byte = 0; byte < SECT_CHECKED; byte++) {
            for (uint32_t bit = 0; bit < BITS; bit++) {
                damaged_mount(s * SECTOR + byte, (uint8_t)(1u << bit), &st);
                flips++;
                check_others(&g_s, NO_KEY, "sector header flip", s * SECTOR + byte);
                if ((byte < SECT_B || in_log) && st.repaired < 1u)
                    fail_msg("flip at 0x%x not counted as repaired", s * SECTOR + byte);
                if (bit == byte % BITS) {
                    turn_ring(&g_s);
                    turns++;
                    check_others(&g_s, NO_KEY, "sector header flip, after a trip",
                                 s * SECTOR + byte);
                }
            }
        }
    }
    /* Payloads: a sample of bits of every live record. */
    memcpy(sim_flash_data(), g_base, REGION);
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    fk_store_entry_t live[MAX_KEYS];
    const size_t n_live = g_s.n_entries;
    memcpy(live, g_s.entries, n_live * sizeof live[0]);
    for (size_t i = 0; i < n_live; i++) {
        if (live[i].len == 0u) continue;
        for (uint32_t j = 0; j < PAYLOAD_SAMPLES; j++) {
            const uint32_t off = payload_off(live[i].addr, sim_rng_below(&g_rng, live[i].len));
            damaged_mount(off, (uint8_t)(1u << sim_rng_below(&g_rng, BITS)), &st);
            flips++;
            check_others(&g_s, live[i].key, "payload flip", off);
            assert_int_equal(fk_store_read(&g_s, live[i].key, 0, g_back, live[i].len),
                             FK_STORE_ECORRUPT);
            fk_store_stats(&g_s, &st);
            assert_true(st.damaged >= 1u);
            if (j == 0u) {
                turn_ring(&g_s);
                turns++;
                check_others(&g_s, live[i].key, "payload flip, after a trip", off);
                /* Copies keep the damage visible, never re-checksummed. */
                assert_int_equal(fk_store_read(&g_s, live[i].key, 0, g_back, live[i].len),
                                 FK_STORE_ECORRUPT);
            }
        }
    }
    printf("damage: %u record headers, %u single-bit flips, %u garbage collection trips\n",
           g_nslots, flips, turns);
}

/* The damaged record m (may be NULL: not a live one) is intact, corrupt or
 * gone; nothing else changed. */
static void check_victim(const mrec_t *m)
{
    if (m == NULL || intact(&g_s, m)) return;
    uint32_t size;
    const int rc = fk_store_size(&g_s, m->key, &size);
    if (rc == FK_STORE_ENOENT) return;
    assert_int_equal(rc, FK_STORE_OK);
    assert_int_equal(fk_store_read(&g_s, m->key, 0, g_back, size), FK_STORE_ECORRUPT);
}

static void test_two_bits_and_whole_headers(void **state)
{
    (void)state;
    populate();
    fk_store_stats_t st;
    uint8_t junk[HDR];
    uint32_t cases = 0;
    for (uint32_t k = 0; k < g_nslots; k++) {
        const uint32_t a = g_slots[k];
        const mrec_t *m = live_at(a);
        const fk_store_key_t skip = m != NULL ? m->key : NO_KEY;
        for (uint32_t how = 0; how < 5u; how++) {
            memcpy(sim_flash_data(), g_base, REGION);
            uint8_t *h = sim_flash_data() + a;
            switch (how) {
            case 0: /* two bits in the identity */
                h[4] ^= 0x01;
                h[9] ^= 0x10;
                break;
            case 1: /* two bits in the commit area */
                h[17] ^= 0x02;
                h[22] ^= 0x40;
                break;
            case 2:
                memset(h, 0x00, HDR);
                break;
            case 3:
                memset(h, 0xFF, HDR);
                break;
            default:
                pattern(junk, HDR, a);
                memcpy(h, junk, HDR);
                break;
            }
            if (fk_store_mount(&g_s, 0, REGION) != FK_STORE_OK)
                fail_msg("mount failed, header at 0x%x damaged (%u)", a, how);
            cases++;
            check_others(&g_s, skip, "damaged header", a);
            check_victim(m);
            fk_store_stats(&g_s, &st);
            if (how != 3u && m != NULL) assert_true(st.damaged >= 1u);
            turn_ring(&g_s);
            check_others(&g_s, skip, "damaged header, after a trip", a);
            check_victim(m);
            assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
            check_others(&g_s, skip, "damaged header, remounted", a);
        }
    }

    /* Part B, or the whole header, of a sector in the middle of the log;
     * two bits of part B at both edges of the log. */
    memcpy(sim_flash_data(), g_base, REGION);
    assert_int_equal(fk_store_mount(&g_s, 0, REGION), FK_STORE_OK);
    const uint32_t tail = g_s.tail, n = g_s.head_seq - g_s.tail_seq + 1u;
    assert_true(n >= 4u);
    for (uint32_t r = 0; r < n; r++) {
        const uint32_t sect = (tail + r) % NSECT;
        const bool middle = r > 0u && r < n - 1u;
        for (uint32_t how = 0; how < (middle ? 3u : 1u); how++) {
            memcpy(sim_flash_data(), g_base, REGION);
            uint8_t *h = sim_flash_data() + sect * SECTOR;
            if (how == 0u) {
                h[SECT_B] ^= 0x04;
                h[SECT_B + 5u] ^= 0x20;
            } else if (how == 1u) {
                memset(h + SECT_B, 0x00, HDR - SECT_B);
            } else {
                pattern(junk, HDR, sect);
                memcpy(h, junk, HDR);
            }
            if (fk_store_mount(&g_s, 0, REGION) != FK_STORE_OK)
                fail_msg("mount failed, sector %u header damaged (%u)", sect, how);
            cases++;
            check_others(&g_s, NO_KEY, "damaged sector header", sect * SECTOR);
            assert_int_equal(g_s.head_seq - g_s.tail_seq + 1u, n); /* the log stays whole */
            turn_ring(&g_s);
            check_others(&g_s, NO_KEY, "damaged sector header, after a trip",
                         sect * SECTOR);
        }
    }
    printf("damage: %u multi-bit cases\n", cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_bit_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_bits_and_whole_headers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
