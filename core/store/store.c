/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the log-structured, power-loss-safe flash store of store.h.
 * docs/store.md explains the format (version 2) and the algorithms in full;
 * in short:
 *
 *   region: N sectors used as a ring. The log runs from the tail sector to
 *   the head sector in ring order; each sector of the log carries the
 *   sequence number of its predecessor plus one.
 *
 *     sector k:  +-----------+------------------------------------------+
 *                | header 32 | data: records back to back, 32-aligned;   |
 *                | A: magic, |  a record may run on into the data of     |
 *                |  erases   |  the next sectors of the log              |
 *                | B: seq,   |                                           |
 *                |  first_rec|                                           |
 *                +-----------+------------------------------------------+
 *
 *     record:    header 32 (type, namespace, id, batch tag, length, header
 *                check, then a commit area programmed last: payload CRC and
 *                a check over both, then a dead flag and an applied flag)
 *                | payload | padding to 32
 *
 * Writes append at the head; a record is live once its commit area checks;
 * the newest committed version of a key wins; the previous version is then
 * programmed to zero and flagged dead. A batch writes its records with a
 * batch tag; they wait for the batch's commit marker, and once it is
 * written and the old versions destroyed, each is flagged applied and then
 * counts like any other record. Garbage collection copies the live records
 * the index points into the tail sector to the head, retires the sector
 * (zeroes its header part B, so that no half-erased remains can rejoin the
 * log) and erases it.
 *
 * Damage: every header is a short codeword (CRC-32 over at most 28 bytes,
 * Hamming distance >= 4), so one flipped bit in it is located and corrected
 * on every read, and two are detected, never mistaken for one. Where a
 * record header cannot be corrected, the walk of its sector looks for the
 * next header that checks; a sector whose part B cannot be corrected stays
 * in the log when its neighbours' sequence numbers say it belongs there.
 *
 * IMPLEMENTATION NOTE: one thread of execution calls in (hal.h). Nothing
 * here is static and mutable: two fk_store_t on two regions are independent.
 * Program sources are always RAM buffers (the RP2350 cannot program from
 * flash it is programming). Checksums are CRC-32 (not keyed): they catch
 * torn writes and decayed bits, not an attacker who rewrites the flash;
 * integrity against that is the job of sealing (docs/sealing.md).
 */
#include <string.h>

#include "hal.h"
#include "store/store.h"
#include "util.h"

/* Geometry limits the format supports. */
#define MIN_SECTORS 4u
#define MIN_SECTOR_SIZE 256u
#define MAX_SECTOR_SIZE 65536u /* offsets and FIRST_NONE fit 16 bits */
#define MIN_PAGE_SIZE 32u

#define FMT_VERSION 2u
#define SECT_MAGIC 0x54534B46u /* "FKST" as stored (little-endian) */
#define SECT_MAGIC_LEN 4u
#define REC_MAGIC 0xA7u

/* Sector header: part A is programmed right after an erase, part B when
 * the sector joins the log. All fields little-endian. */
#define SH_SIZE 32u
#define SH_MAGIC 0u
#define SH_VERSION 4u
#define SH_LOG2 5u
#define SH_NSECT 8u
#define SH_ERASES 12u
#define SH_CRC_A 16u
#define SH_A_LEN 20u
#define SH_SEQ 20u
#define SH_FIRST 24u
#define SH_ZERO 26u /* two bytes programmed to zero with part B */
#define SH_ZERO_LEN 2u
#define SH_CRC_B 28u
#define SH_B_LEN 12u

/* Record header. */
#define RH_SIZE 32u
#define RH_MAGIC 0u
#define RH_VERSION 1u
#define RH_LEAD_LEN 2u /* magic and version */
#define RH_TYPE 2u
#define RH_NS 3u
#define RH_ID 4u
#define RH_TAG 6u
#define RH_ARG 8u
#define RH_HCRC 12u
#define RH_BODY_LEN 12u
#define RH_PCRC 16u /* also the end of what hcrc protects */
#define RH_CCRC 20u
#define RH_COMMIT_LEN 8u
#define RH_DEAD 24u
#define RH_APPLIED 25u

#define REC_ALIGN 32u
#define ERASED 0xFFu
#define BITS_PER_BYTE 8u
#define FIRST_NONE 0xFFFFu
#define SEQ_NONE 0xFFFFFFFFu
#define SEQ_LIMIT 0xFFFFFF00u
#define TAG_NONE 0xFFFFu /* batch tag of a record written outside a batch */
#define NS_NONE 0xFFu    /* namespace byte of markers that name no key */
#define ID_NONE 0xFFFFu
#define ADDR_NONE 0xFFFFFFFFu
/* The stored commit check has its top three bits clear: an erased commit
 * area is at least three bits away from any valid one, so neither a flipped
 * bit nor a correction can make it pass. */
#define CCRC_MASK 0x1FFFFFFFu
/* A flag byte (dead, applied) counts as programmed once at most this many
 * of its bits are still set: one flipped bit never changes what it says. */
#define FLAG_MAX_ONES 6u
/* A sector at an edge of the log whose part B is this many bits or fewer
 * from the part B the log needs there is taken as that part B. */
#define NEAR_MAX_BITS 2u
/* Stream copies and checks move this many bytes at a time (stack buffer). */
#define CHUNK 64u

/* Space policy, in sectors of data (docs/store.md, "Free space"): garbage
 * collection keeps the largest record + RESERVE_SECTORS free, and a write is
 * admitted only if that stays reachable with ADMIT_SECTORS of slack; a batch
 * adds BATCH_SLACK_SECTORS for the sector it pins but cannot collect. */
#define RESERVE_SECTORS 4u
#define ADMIT_SECTORS 5u
#define BATCH_SLACK_SECTORS 1u
#define SEQ_MARGIN_TRIPS 4u

enum rec_type { REC_DATA = 1, REC_DELETE = 2, REC_WIPE = 3, REC_RANGE = 4, REC_COMMIT = 5 };

/* A place in the region: sector index and byte offset inside it. */
typedef struct spos {
    uint32_t sect;
    uint32_t off;
} spos_t;

/* A record header as read from flash (after correction). */
typedef struct rec {
    uint8_t type;
    fk_store_key_t key; /* data, delete: the key; range: its first key;
                         * commit: NS_NONE and the offset of the batch's
                         * first record in its sector */
    uint32_t arg;       /* data: payload length; range: last key; commit:
                         * sequence number of that sector; else 0 */
    uint32_t len;       /* payload length (0 for markers) */
    uint16_t tag;       /* batch tag, TAG_NONE outside batches */
    uint32_t pcrc;
    uint32_t fixes;     /* codewords corrected (header, commit area) */
    bool blank;         /* all 0xFF: nothing written here */
    bool valid;         /* header fields check */
    bool committed;     /* commit area checks */
    bool dead;          /* superseded, deleted or abandoned */
    bool applied;       /* a staged record whose batch is fully applied */
} rec_t;

enum part_b { B_ERASED = 0, B_VALID, B_BAD };

/* A sector header as read from flash (after correction). */
typedef struct shdr {
    bool ours;     /* part A checks and describes this region */
    bool foreign;  /* part A checks but describes another layout or version */
    uint8_t b;     /* enum part_b (only when ours) */
    uint32_t fixes; /* parts corrected */
    uint32_t erases;
    uint32_t seq;
    uint16_t first;
} shdr_t;

/* Checks a (possibly corrected) header buffer. */
typedef bool (*check_fn)(const fk_store_t *s, const uint8_t *buf);

static uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static bool all_erased(const uint8_t *p, size_t len)
{
    uint8_t acc = ERASED;
    for (size_t i = 0; i < len; i++) acc &= p[i];
    return acc == ERASED;
}

static uint32_t popcount8(uint8_t v)
{
    uint32_t n = 0;
    for (; v != 0u; v &= (uint8_t)(v - 1u)) n++;
    return n;
}

/* Number of bits in which a and b differ. */
static uint32_t bit_distance(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++) n += popcount8((uint8_t)(a[i] ^ b[i]));
    return n;
}

static bool flag_set(uint8_t v) { return popcount8(v) <= FLAG_MAX_ONES; }

static uint32_t align_up(uint32_t v) { return (v + REC_ALIGN - 1u) & ~(REC_ALIGN - 1u); }

/* Bytes a record of payload length len occupies in the log. */
static uint32_t footprint(uint32_t len) { return RH_SIZE + align_up(len); }

/* Data bytes per sector. */
static uint32_t dsz(const fk_store_t *s) { return s->sector_size - SH_SIZE; }

static uint32_t ring_next(const fk_store_t *s, uint32_t sect) { return (sect + 1u) % s->nsect; }

static uint32_t ring_prev(const fk_store_t *s, uint32_t sect)
{
    return (sect + s->nsect - 1u) % s->nsect;
}

static uint32_t log_sectors(const fk_store_t *s) { return s->head_seq - s->tail_seq + 1u; }

/* Position of the sector `sect` counted from the tail (0 = tail). */
static uint32_t ring_rank(const fk_store_t *s, uint32_t sect)
{
    return (sect + s->nsect - s->tail) % s->nsect;
}

static uint32_t log2u(uint32_t v)
{
    uint32_t r = 0;
    while (v > 1u) {
        v >>= 1;
        r++;
    }
    return r;
}

/* The batch tag after tag (FFFF is never one). */
static uint16_t next_tag(uint16_t tag) { return tag >= TAG_NONE - 1u ? 0u : (uint16_t)(tag + 1u); }

/* Count damage beyond repair (also from const readers: see store.h). */
static void note_damage(const fk_store_t *s) { s->health->damaged++; }

/* Whether buf passes `ok`, correcting one flipped bit in bytes [lo, hi) if
 * that is what it takes (the fix stays in buf; *fixed says so). A bit is
 * corrected only when exactly one position makes the check pass. */
static bool check_fix(const fk_store_t *s, uint8_t *buf, uint32_t lo, uint32_t hi, check_fn ok,
                      bool *fixed)
{
    uint32_t hit = 0;
    bool found = false;
    *fixed = false;
    if (ok(s, buf)) return true;
    for (uint32_t bit = lo * BITS_PER_BYTE; bit < hi * BITS_PER_BYTE; bit++) {
        const uint8_t m = (uint8_t)(1u << (bit % BITS_PER_BYTE));
        buf[bit / BITS_PER_BYTE] ^= m;
        const bool good = ok(s, buf);
        buf[bit / BITS_PER_BYTE] ^= m;
        if (!good) continue;
        if (found) return false;
        found = true;
        hit = bit;
    }
    if (!found) return false;
    buf[hit / BITS_PER_BYTE] ^= (uint8_t)(1u << (hit % BITS_PER_BYTE));
    *fixed = true;
    return true;
}

/* ---------------------------------------------------------------------------
 * Flash access. Every HAL failure becomes FK_STORE_EIO.
 * ------------------------------------------------------------------------- */

static uint32_t abs_addr(const fk_store_t *s, uint32_t sect, uint32_t off)
{
    return s->base + sect * s->sector_size + off;
}

static int fl_read(const fk_store_t *s, uint32_t sect, uint32_t off, void *buf, size_t len)
{
    return fk_hal_flash_read(abs_addr(s, sect, off), buf, len) == FK_HAL_OK ? FK_STORE_OK
                                                                             : FK_STORE_EIO;
}

/* Program len bytes inside one sector, split at page boundaries. */
static int fl_prog(const fk_store_t *s, uint32_t sect, uint32_t off, const void *data,
                   size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    uint32_t a = abs_addr(s, sect, off);
    while (len > 0u) {
        size_t n = s->page_size - (a % s->page_size);
        if (n > len) n = len;
        if (fk_hal_flash_program(a, p, n) != FK_HAL_OK) return FK_STORE_EIO;
        a += (uint32_t)n;
        p += n;
        len -= n;
    }
    return FK_STORE_OK;
}

/* Program len zero bytes inside one sector. */
static int fl_zero(const fk_store_t *s, uint32_t sect, uint32_t off, size_t len)
{
    uint8_t zero[CHUNK];
    memset(zero, 0, sizeof zero);
    while (len > 0u) {
        size_t n = len < CHUNK ? len : CHUNK;
        int rc = fl_prog(s, sect, off, zero, n);
        if (rc != FK_STORE_OK) return rc;
        off += (uint32_t)n;
        len -= n;
    }
    return FK_STORE_OK;
}

/* *blank = whether [off, off+len) of the sector reads all 0xFF. */
static int fl_blank(const fk_store_t *s, uint32_t sect, uint32_t off, uint32_t len, bool *blank)
{
    uint8_t buf[CHUNK];
    *blank = false;
    while (len > 0u) {
        uint32_t n = len < CHUNK ? len : CHUNK;
        int rc = fl_read(s, sect, off, buf, n);
        if (rc != FK_STORE_OK) return rc;
        if (!all_erased(buf, n)) return FK_STORE_OK;
        off += n;
        len -= n;
    }
    *blank = true;
    return FK_STORE_OK;
}

/* The position delta data bytes after p, skipping sector headers and
 * wrapping around the ring. */
static spos_t sp_advance(const fk_store_t *s, spos_t p, uint32_t delta)
{
    const uint32_t d = dsz(s);
    const uint32_t rel = (p.off - SH_SIZE) + delta;
    p.sect = (p.sect + rel / d) % s->nsect;
    p.off = SH_SIZE + rel % d;
    return p;
}

static spos_t sp_of_addr(const fk_store_t *s, uint32_t addr)
{
    spos_t p = {addr / s->sector_size, addr % s->sector_size};
    return p;
}

/* Read len data bytes of the log starting at p (crossing sectors). */
static int st_read(const fk_store_t *s, spos_t p, uint8_t *buf, uint32_t len)
{
    while (len > 0u) {
        if (p.off >= s->sector_size) p = sp_advance(s, p, 0);
        uint32_t n = s->sector_size - p.off;
        if (n > len) n = len;
        int rc = fl_read(s, p.sect, p.off, buf, n);
        if (rc != FK_STORE_OK) return rc;
        p.off += n;
        buf += n;
        len -= n;
    }
    return FK_STORE_OK;
}

/* Program len zero bytes of the log starting at p (crossing sectors). */
static int st_zero(const fk_store_t *s, spos_t p, uint32_t len)
{
    while (len > 0u) {
        if (p.off >= s->sector_size) p = sp_advance(s, p, 0);
        uint32_t n = s->sector_size - p.off;
        if (n > len) n = len;
        int rc = fl_zero(s, p.sect, p.off, n);
        if (rc != FK_STORE_OK) return rc;
        p.off += n;
        len -= n;
    }
    return FK_STORE_OK;
}

/* ---------------------------------------------------------------------------
 * Sector headers.
 * ------------------------------------------------------------------------- */

static bool first_ok(const fk_store_t *s, uint16_t first)
{
    return first == FIRST_NONE || (first >= SH_SIZE && first % REC_ALIGN == 0u &&
                                   first <= s->sector_size - RH_SIZE);
}

/* Part A is ours in shape and checks (the layout is compared after). */
static bool part_a_ok(const fk_store_t *s, const uint8_t *h)
{
    (void)s;
    return fk_le32(h + SH_MAGIC) == SECT_MAGIC &&
           fk_le32(h + SH_CRC_A) == fk_crc32(0, h, SH_CRC_A);
}

/* Part B checks over part A as it stands in h. */
static bool part_b_ok(const fk_store_t *s, const uint8_t *h)
{
    const uint32_t seq = fk_le32(h + SH_SEQ);
    return seq <= SEQ_LIMIT && h[SH_ZERO] == 0u && h[SH_ZERO + 1u] == 0u &&
           first_ok(s, get_le16(h + SH_FIRST)) &&
           fk_le32(h + SH_CRC_B) == fk_crc32(0, h, SH_CRC_B);
}

/* Part A as this store writes it for a sector erased `erases` times (the
 * rest of h erased). */
static void canon_a(const fk_store_t *s, uint8_t h[SH_SIZE], uint32_t erases)
{
    memset(h, ERASED, SH_SIZE);
    fk_put_le32(h + SH_MAGIC, SECT_MAGIC);
    h[SH_VERSION] = (uint8_t)FMT_VERSION;
    h[SH_LOG2] = (uint8_t)log2u(s->sector_size);
    fk_put_le32(h + SH_NSECT, s->nsect);
    fk_put_le32(h + SH_ERASES, erases);
    fk_put_le32(h + SH_CRC_A, fk_crc32(0, h, SH_CRC_A));
}

/* Fill part B of h (part A already there). */
static void build_b(uint8_t h[SH_SIZE], uint32_t seq, uint16_t first)
{
    fk_put_le32(h + SH_SEQ, seq);
    put_le16(h + SH_FIRST, first);
    memset(h + SH_ZERO, 0, SH_ZERO_LEN);
    fk_put_le32(h + SH_CRC_B, fk_crc32(0, h, SH_CRC_B));
}

/* Read and decode a sector header, correcting one flipped bit in part A
 * and one in part B. */
static int read_shdr(const fk_store_t *s, uint32_t sect, shdr_t *h)
{
    uint8_t raw[SH_SIZE], magic[SECT_MAGIC_LEN];
    bool fixed;
    memset(h, 0, sizeof *h);
    h->b = B_BAD;
    int rc = fl_read(s, sect, 0, raw, sizeof raw);
    if (rc != FK_STORE_OK) return rc;
    /* Erased, zeroed or foreign bytes are not worth a correction attempt. */
    fk_put_le32(magic, SECT_MAGIC);
    if (bit_distance(raw + SH_MAGIC, magic, SECT_MAGIC_LEN) > 1u) return FK_STORE_OK;
    if (!check_fix(s, raw, 0, SH_A_LEN, part_a_ok, &fixed)) return FK_STORE_OK;
    h->fixes += fixed ? 1u : 0u;
    if (raw[SH_VERSION] != FMT_VERSION || raw[SH_LOG2] != log2u(s->sector_size) ||
        fk_le32(raw + SH_NSECT) != s->nsect) {
        h->foreign = true;
        return FK_STORE_OK;
    }
    h->ours = true;
    h->erases = fk_le32(raw + SH_ERASES);
    if (all_erased(raw + SH_SEQ, SH_B_LEN)) {
        h->b = B_ERASED;
        return FK_STORE_OK;
    }
    if (!check_fix(s, raw, SH_SEQ, SH_SIZE, part_b_ok, &fixed)) return FK_STORE_OK;
    h->fixes += fixed ? 1u : 0u;
    h->b = B_VALID;
    h->seq = fk_le32(raw + SH_SEQ);
    h->first = get_le16(raw + SH_FIRST);
    return FK_STORE_OK;
}

/* For a sector of ours whose part B does not check: whether it is within
 * NEAR_MAX_BITS of a part B with sequence number seq and one single
 * first_rec (then in *first). Only used where the log needs exactly that
 * sequence number (docs/store.md says why that is safe). */
static int near_b(const fk_store_t *s, uint32_t sect, uint32_t seq, bool *near, uint16_t *first)
{
    uint8_t raw[SH_SIZE], want[SH_SIZE];
    shdr_t h;
    uint32_t best = NEAR_MAX_BITS + 1u, ties = 0;
    *near = false;
    int rc = read_shdr(s, sect, &h);
    if (rc != FK_STORE_OK || !h.ours || h.b != B_BAD || seq > SEQ_LIMIT) return rc;
    rc = fl_read(s, sect, 0, raw, sizeof raw);
    if (rc != FK_STORE_OK) return rc;
    canon_a(s, want, h.erases);
    for (uint32_t f = SH_SIZE;; f += REC_ALIGN) {
        const uint16_t cand = f <= s->sector_size - RH_SIZE ? (uint16_t)f : (uint16_t)FIRST_NONE;
        build_b(want, seq, cand);
        const uint32_t dist = bit_distance(raw + SH_SEQ, want + SH_SEQ, SH_B_LEN);
        if (dist < best) {
            best = dist;
            ties = 1;
            *first = cand;
        } else if (dist == best) {
            ties++;
        }
        if (cand == FIRST_NONE) break;
    }
    *near = best <= NEAR_MAX_BITS && ties == 1u;
    return FK_STORE_OK;
}

/* Program part A (identity and erase count) into an erased sector. */
static int write_part_a(fk_store_t *s, uint32_t sect, uint32_t erases)
{
    uint8_t a[SH_SIZE];
    canon_a(s, a, erases);
    if (erases > s->erase_max) s->erase_max = erases;
    return fl_prog(s, sect, 0, a, SH_A_LEN);
}

/* Program part B: the sector joins the log with sequence number seq. The
 * check covers part A as it should read (a flipped bit in the flash copy
 * is not carried into part B's check). */
static int write_part_b(const fk_store_t *s, uint32_t sect, uint32_t seq, uint16_t first)
{
    uint8_t h[SH_SIZE];
    shdr_t sh;
    int rc = read_shdr(s, sect, &sh);
    if (rc != FK_STORE_OK) return rc;
    if (!sh.ours) return FK_STORE_EIO;
    canon_a(s, h, sh.erases);
    build_b(h, seq, first);
    return fl_prog(s, sect, SH_SEQ, h + SH_SEQ, SH_B_LEN);
}

/* Zero part B: the sector leaves the log for good. An interrupted erase
 * afterwards cannot bring back a part B that checks. */
static int retire(const fk_store_t *s, uint32_t sect)
{
    return fl_zero(s, sect, SH_SEQ, SH_B_LEN);
}

/* Erase a sector and stamp part A with its incremented erase count. */
static int erase_sector(fk_store_t *s, uint32_t sect)
{
    shdr_t h;
    int rc = read_shdr(s, sect, &h);
    if (rc != FK_STORE_OK) return rc;
    uint32_t erases = (h.ours ? h.erases : s->erase_max) + 1u;
    if (fk_hal_flash_erase(abs_addr(s, sect, 0)) != FK_HAL_OK) return FK_STORE_EIO;
    return write_part_a(s, sect, erases);
}

/* Bring a sector outside the log to the clean free state: part A valid,
 * everything else erased. Erases only when needed; *was_clean (optional)
 * tells whether the sector already was clean. */
static int make_clean(fk_store_t *s, uint32_t sect, bool *was_clean)
{
    uint8_t raw[SH_SIZE];
    bool rest_blank;
    if (was_clean != NULL) *was_clean = false;
    int rc = fl_read(s, sect, 0, raw, sizeof raw);
    if (rc == FK_STORE_OK) rc = fl_blank(s, sect, SH_SIZE, dsz(s), &rest_blank);
    if (rc != FK_STORE_OK) return rc;
    if (rest_blank && all_erased(raw + SH_SEQ, SH_B_LEN)) {
        shdr_t h;
        rc = read_shdr(s, sect, &h);
        if (rc != FK_STORE_OK) return rc;
        if (h.ours) {
            if (was_clean != NULL) *was_clean = true;
            return FK_STORE_OK;
        }
        if (all_erased(raw, SH_A_LEN)) return write_part_a(s, sect, s->erase_max);
    }
    return erase_sector(s, sect);
}

/* ---------------------------------------------------------------------------
 * Record headers.
 * ------------------------------------------------------------------------- */

static uint32_t commit_check(const uint8_t *hdr, uint32_t pcrc)
{
    uint8_t b[4];
    fk_put_le32(b, pcrc);
    return fk_crc32(fk_crc32(0, hdr, RH_BODY_LEN), b, sizeof b) & CCRC_MASK;
}

/* Bytes 0..15 of a record header check. */
static bool rec_hdr_ok(const fk_store_t *s, const uint8_t *h)
{
    (void)s;
    return h[RH_MAGIC] == REC_MAGIC && h[RH_VERSION] == FMT_VERSION &&
           fk_le32(h + RH_HCRC) == fk_crc32(0, h, RH_BODY_LEN);
}

/* The commit area of a record header checks (bytes 0..11 already do). */
static bool rec_commit_ok(const fk_store_t *s, const uint8_t *h)
{
    (void)s;
    return fk_le32(h + RH_CCRC) == commit_check(h, fk_le32(h + RH_PCRC));
}

/* Whether the decoded fields describe a record this format holds. */
static bool rec_fields_ok(const fk_store_t *s, const rec_t *r)
{
    const uint16_t id = FK_STORE_KEY_ID(r->key);
    switch (r->type) {
    case REC_DATA:
        return r->arg <= FK_STORE_MAX_RECORD && r->key <= FK_STORE_KEY_LAST;
    case REC_DELETE:
        return r->arg == 0u && r->key <= FK_STORE_KEY_LAST;
    case REC_RANGE:
        return r->key <= r->arg && r->arg <= FK_STORE_KEY_LAST;
    case REC_WIPE:
        return r->key == FK_STORE_KEY(NS_NONE, ID_NONE) && r->arg == 0u && r->tag == TAG_NONE;
    case REC_COMMIT:
        return FK_STORE_KEY_NS(r->key) == NS_NONE && r->tag != TAG_NONE && id >= SH_SIZE &&
               id % REC_ALIGN == 0u && id <= s->sector_size - RH_SIZE && r->arg <= SEQ_LIMIT;
    default:
        return false;
    }
}

/* Read and decode the record header at p, correcting one flipped bit in
 * the header and one in the commit area. */
static int read_rec(const fk_store_t *s, spos_t p, rec_t *r)
{
    static const uint8_t lead[RH_LEAD_LEN] = {REC_MAGIC, FMT_VERSION};
    uint8_t h[RH_SIZE];
    bool fixed;
    memset(r, 0, sizeof *r);
    int rc = fl_read(s, p.sect, p.off, h, RH_SIZE);
    if (rc != FK_STORE_OK) return rc;
    r->blank = all_erased(h, RH_SIZE);
    r->pcrc = fk_le32(h + RH_PCRC);
    if (bit_distance(h, lead, RH_LEAD_LEN) > 1u) return FK_STORE_OK;
    if (!check_fix(s, h, 0, RH_PCRC, rec_hdr_ok, &fixed)) return FK_STORE_OK;
    r->fixes = fixed ? 1u : 0u;
    r->type = h[RH_TYPE];
    r->key = FK_STORE_KEY(h[RH_NS], get_le16(h + RH_ID));
    r->tag = get_le16(h + RH_TAG);
    r->arg = fk_le32(h + RH_ARG);
    if (!rec_fields_ok(s, r)) return FK_STORE_OK;
    r->valid = true;
    r->len = r->type == REC_DATA ? r->arg : 0u;
    r->committed = check_fix(s, h, RH_PCRC, RH_PCRC + RH_COMMIT_LEN, rec_commit_ok, &fixed);
    if (r->committed && fixed) r->fixes++;
    r->pcrc = fk_le32(h + RH_PCRC);
    r->dead = flag_set(h[RH_DEAD]);
    r->applied = flag_set(h[RH_APPLIED]);
    return FK_STORE_OK;
}

/* A record written in a batch that has not been applied yet: it waits for
 * its batch's commit marker. */
static bool is_staged(const rec_t *r)
{
    return r->tag != TAG_NONE && r->type != REC_COMMIT && !r->applied;
}

/* ---------------------------------------------------------------------------
 * Walking the records of the log.
 * ------------------------------------------------------------------------- */

enum walk_status { WALK_END = 0, WALK_REC, WALK_BLANK, WALK_INVALID, WALK_OUT };

#define WALK_NONE 0xFFFFFFFFu
#define CARRY_UNKNOWN UINT64_MAX

typedef struct walk {
    uint32_t sect;
    uint32_t off;  /* header of the current record, or where the records end */
    uint32_t next; /* header offset after the current record */
    bool count;    /* count repairs and damage (the mount's first pass) */
    bool probing;  /* the first slot is a guess: no damage if it is none */
    rec_t r;
} walk_t;

/* Step to the next record whose header lies in the sector: WALK_REC with
 * w->r filled, else why the sector's records end (an erased slot, a slot
 * that is not a header, or the end of the sector); negative on a flash
 * error. Where a header is expected but none checks, the rest of the sector
 * is searched for the next one (resynchronisation). */
static int walk_next(const fk_store_t *s, walk_t *w)
{
    const uint32_t last_slot = s->sector_size - RH_SIZE;
    const bool probing = w->probing;
    w->probing = false;
    w->off = w->next;
    if (w->off == WALK_NONE || w->off > last_slot) return WALK_OUT;
    spos_t p = {w->sect, w->off};
    int rc = read_rec(s, p, &w->r);
    if (rc != FK_STORE_OK) return rc;
    if (!w->r.valid) {
        const bool blank = w->r.blank;
        bool rest_blank = true;
        for (p.off = w->off + RH_SIZE; p.off <= last_slot; p.off += RH_SIZE) {
            rc = read_rec(s, p, &w->r);
            if (rc != FK_STORE_OK) return rc;
            if (w->r.valid) break;
            rest_blank = rest_blank && w->r.blank;
        }
        if (!w->r.valid) {
            /* A header torn by a power cut is followed by erased bytes;
             * anything else after it means a damaged one. */
            if (w->count && !probing && !blank && !rest_blank) note_damage(s);
            return blank ? WALK_BLANK : WALK_INVALID;
        }
        if (w->count && !probing) note_damage(s);
        w->off = p.off;
    }
    if (w->count) s->health->repaired += w->r.fixes;
    w->next = w->off + footprint(w->r.len);
    return WALK_REC;
}

/* A walk over every record of the log, tail to head. */
typedef struct cursor {
    walk_t w;
    uint32_t rank;   /* of the sector being walked */
    uint32_t n;      /* log sectors */
    uint64_t carry;  /* stream position where the next header is due */
    bool in_sector;
    int end;         /* how the head sector's records end */
    uint32_t end_off;
} cursor_t;

/* Start a walk at the tail; `count` counts repairs and damage. */
static void cur_start(const fk_store_t *s, cursor_t *c, bool count)
{
    memset(c, 0, sizeof *c);
    c->n = log_sectors(s);
    c->carry = 0;
    c->w.count = count;
}

/* Set up the walk of the log sector at c->rank: from its first_rec, or for
 * a sector whose part B does not check (nor nearly), from where the record
 * before it ends, or else by looking for headers from its start. */
static int sector_start(const fk_store_t *s, cursor_t *c)
{
    const uint32_t sect = (s->tail + c->rank) % s->nsect;
    const uint64_t d = dsz(s), lo = (uint64_t)c->rank * d;
    shdr_t h;
    uint16_t first = FIRST_NONE;
    bool known = false;
    int rc = read_shdr(s, sect, &h);
    if (rc != FK_STORE_OK) return rc;
    if (h.ours && h.b == B_VALID) {
        first = h.first;
        known = true;
    } else {
        rc = near_b(s, sect, s->tail_seq + c->rank, &known, &first);
        if (rc != FK_STORE_OK) return rc;
    }
    c->w.sect = sect;
    c->w.off = 0;
    c->w.probing = false;
    if (known) {
        c->w.next = first == FIRST_NONE ? WALK_NONE : first;
    } else if (c->carry != CARRY_UNKNOWN) {
        if (c->carry >= lo + d)
            c->w.next = WALK_NONE;
        else
            c->w.next = SH_SIZE + (uint32_t)(c->carry > lo ? c->carry - lo : 0u);
    } else {
        c->w.next = SH_SIZE;
        c->w.probing = true;
    }
    return FK_STORE_OK;
}

/* The next record of the log: WALK_REC (c->w.r, at cur_addr), WALK_END
 * after the last one, negative on a flash error. */
static int cur_next(const fk_store_t *s, cursor_t *c)
{
    const uint64_t d = dsz(s);
    for (;;) {
        if (!c->in_sector) {
            if (c->rank >= c->n) return WALK_END;
            int rc = sector_start(s, c);
            if (rc != FK_STORE_OK) return rc;
            c->in_sector = true;
        }
        const int st = walk_next(s, &c->w);
        if (st < 0 || st == WALK_REC) return st;
        if (st == WALK_OUT) {
            if (c->w.off != WALK_NONE) c->carry = c->rank * d + (c->w.off - SH_SIZE);
        } else if (st == WALK_BLANK) {
            c->carry = (c->rank + 1u) * d;
        } else {
            c->carry = CARRY_UNKNOWN;
        }
        if (c->rank == c->n - 1u) {
            c->end = st;
            c->end_off = c->w.off;
        }
        c->rank++;
        c->in_sector = false;
    }
}

/* Header offset (in the region) of the cursor's current record. */
static uint32_t cur_addr(const fk_store_t *s, const cursor_t *c)
{
    return c->w.sect * s->sector_size + c->w.off;
}

/* ---------------------------------------------------------------------------
 * The RAM index: live keys sorted ascending.
 * ------------------------------------------------------------------------- */

/* First position whose key is >= key. */
static size_t idx_lower(const fk_store_t *s, uint64_t key)
{
    size_t lo = 0, hi = s->n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (s->entries[mid].key < key)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

static int idx_find(const fk_store_t *s, fk_store_key_t key)
{
    size_t i = idx_lower(s, key);
    return (i < s->n_entries && s->entries[i].key == key) ? (int)i : -1;
}

/* Insert or update key; FK_STORE_ENOSPC when a new key does not fit. */
static int idx_set(fk_store_t *s, fk_store_key_t key, uint32_t addr, uint32_t len)
{
    size_t i = idx_lower(s, key);
    if (i >= s->n_entries || s->entries[i].key != key) {
        if (s->n_entries >= FK_STORE_MAX_IDS) return FK_STORE_ENOSPC;
        memmove(&s->entries[i + 1u], &s->entries[i],
                (s->n_entries - i) * sizeof s->entries[0]);
        s->n_entries++;
        s->entries[i].key = key;
    }
    s->entries[i].addr = addr;
    s->entries[i].len = len;
    return FK_STORE_OK;
}

/* Remove positions [lo, hi). */
static void idx_cut(fk_store_t *s, size_t lo, size_t hi)
{
    memmove(&s->entries[lo], &s->entries[hi], (s->n_entries - hi) * sizeof s->entries[0]);
    s->n_entries -= hi - lo;
}

/* Largest footprint among live records, leaving out position skip (-1: none). */
static uint32_t max_footprint(const fk_store_t *s, int skip)
{
    uint32_t m = 0;
    for (size_t i = 0; i < s->n_entries; i++) {
        if ((int)i == skip) continue;
        uint32_t f = footprint(s->entries[i].len);
        if (f > m) m = f;
    }
    return m;
}

/* Whether the record r at addr is the indexed version of its key. */
static bool is_live(const fk_store_t *s, const rec_t *r, uint32_t addr)
{
    if (r->type != REC_DATA || !r->committed || r->dead) return false;
    int i = idx_find(s, r->key);
    return i >= 0 && s->entries[i].addr == addr;
}

/* ---------------------------------------------------------------------------
 * The staged operations of a batch.
 * ------------------------------------------------------------------------- */

/* Whether the staged operation op writes or deletes key. */
static bool op_affects(const fk_store_staged_t *op, fk_store_key_t key)
{
    return op->type == REC_RANGE ? (key >= op->key && key <= op->arg) : op->key == key;
}

/* Operation j of the staged ones followed by extra (may be NULL). */
static const fk_store_staged_t *op_at(const fk_store_t *s, const fk_store_staged_t *extra,
                                      uint32_t j)
{
    return j < s->n_staged ? &s->staged[j] : extra;
}

/* The last of the first `limit` operations that affects key, or -1. */
static int last_op(const fk_store_t *s, const fk_store_staged_t *extra, fk_store_key_t key,
                   uint32_t limit)
{
    for (uint32_t j = limit; j-- > 0u;)
        if (op_affects(op_at(s, extra, j), key)) return (int)j;
    return -1;
}

/* Whether key is live once the open batch (if any) commits; *addr and *len
 * (optional) give the version it then has. */
static bool current(const fk_store_t *s, fk_store_key_t key, uint32_t *addr, uint32_t *len)
{
    if (s->batch_open) {
        const int j = last_op(s, NULL, key, s->n_staged);
        if (j >= 0) {
            const fk_store_staged_t *op = &s->staged[j];
            if (op->type != REC_DATA) return false;
            if (addr != NULL) *addr = op->addr;
            if (len != NULL) *len = op->arg;
            return true;
        }
    }
    const int i = idx_find(s, key);
    if (i < 0) return false;
    if (addr != NULL) *addr = s->entries[i].addr;
    if (len != NULL) *len = s->entries[i].len;
    return true;
}

/* What would be live after the commit of the open batch plus extra. */
typedef struct figures {
    uint64_t live;   /* footprint bytes */
    uint32_t max_fp; /* largest footprint */
    uint32_t keys;
} figures_t;

/* Add one live record of payload length len to fg. */
static void count_live(figures_t *fg, uint32_t len)
{
    const uint32_t f = footprint(len);
    fg->live += f;
    if (f > fg->max_fp) fg->max_fp = f;
    fg->keys++;
}

/* Fill fg: every committed key as the staged operations (then extra) leave
 * it, and every new key they create. */
static void post_commit(const fk_store_t *s, const fk_store_staged_t *extra, figures_t *fg)
{
    const uint32_t n_ops = s->n_staged + (extra != NULL ? 1u : 0u);
    memset(fg, 0, sizeof *fg);
    for (size_t i = 0; i < s->n_entries; i++) {
        const int j = last_op(s, extra, s->entries[i].key, n_ops);
        if (j < 0)
            count_live(fg, s->entries[i].len);
        else if (op_at(s, extra, (uint32_t)j)->type == REC_DATA)
            count_live(fg, op_at(s, extra, (uint32_t)j)->arg);
    }
    for (uint32_t j = 0; j < n_ops; j++) {
        const fk_store_staged_t *op = op_at(s, extra, j);
        if (op->type == REC_DATA && idx_find(s, op->key) < 0 &&
            last_op(s, extra, op->key, n_ops) == (int)j)
            count_live(fg, op->arg);
    }
}

/* Whether some key in [first, last] is live once the open batch commits. */
static bool any_current_in(const fk_store_t *s, fk_store_key_t first, fk_store_key_t last)
{
    const size_t hi = idx_lower(s, (uint64_t)last + 1u);
    for (size_t i = idx_lower(s, first); i < hi; i++)
        if (current(s, s->entries[i].key, NULL, NULL)) return true;
    for (uint32_t j = 0; j < s->n_staged; j++) {
        const fk_store_staged_t *op = &s->staged[j];
        if (op->type == REC_DATA && op->key >= first && op->key <= last &&
            current(s, op->key, NULL, NULL))
            return true;
    }
    return false;
}

/* Whether the sector holds records of the open batch (which garbage
 * collection must leave where they are until the commit). */
static bool batch_pins(const fk_store_t *s, uint32_t sect)
{
    if (!s->batch_open || s->batch_first == ADDR_NONE) return false;
    return ring_rank(s, sect) >= ring_rank(s, s->batch_first / s->sector_size);
}

/* ---------------------------------------------------------------------------
 * Appending records at the head of the log.
 * ------------------------------------------------------------------------- */

/* Bytes that can be appended before the head would reach the tail. */
static uint32_t free_bytes(const fk_store_t *s)
{
    return (s->nsect - log_sectors(s)) * dsz(s) + (s->sector_size - s->head_off);
}

/* Bring the next sector into the log. Its first_rec says where the first
 * record starting in it will be, given the record being written. */
static int open_next(fk_store_t *s)
{
    if (log_sectors(s) >= s->nsect || s->head_seq >= SEQ_LIMIT) return FK_STORE_EIO;
    uint16_t first = SH_SIZE;
    if (s->wr_left >= dsz(s))
        first = FIRST_NONE;
    else if (s->wr_left > 0u)
        first = (uint16_t)(SH_SIZE + s->wr_left);
    const uint32_t n = ring_next(s, s->head);
    int rc = make_clean(s, n, NULL);
    if (rc == FK_STORE_OK) rc = write_part_b(s, n, s->head_seq + 1u, first);
    if (rc != FK_STORE_OK) return rc;
    s->head = n;
    s->head_seq++;
    s->head_off = SH_SIZE;
    return FK_STORE_OK;
}

static void build_hdr(uint8_t h[RH_SIZE], uint8_t type, fk_store_key_t key, uint16_t tag,
                      uint32_t arg)
{
    memset(h, ERASED, RH_SIZE);
    h[RH_MAGIC] = REC_MAGIC;
    h[RH_VERSION] = (uint8_t)FMT_VERSION;
    h[RH_TYPE] = type;
    h[RH_NS] = FK_STORE_KEY_NS(key);
    put_le16(h + RH_ID, FK_STORE_KEY_ID(key));
    put_le16(h + RH_TAG, tag);
    fk_put_le32(h + RH_ARG, arg);
    fk_put_le32(h + RH_HCRC, fk_crc32(0, h, RH_BODY_LEN));
}

/* Write a record header at the head. A marker is committed in the same
 * program; a data record (even an empty one: a stream of no bytes is not
 * live before its commit) by rec_commit. The caller has made room for the
 * whole record. */
static int rec_begin(fk_store_t *s, uint8_t type, fk_store_key_t key, uint16_t tag, uint32_t arg,
                     uint32_t *addr)
{
    uint8_t h[RH_SIZE];
    const uint32_t len = type == REC_DATA ? arg : 0u;
    s->wr_left = 0;
    if (s->head_off > s->sector_size - RH_SIZE) {
        int rc = open_next(s);
        if (rc != FK_STORE_OK) return rc;
    }
    build_hdr(h, type, key, tag, arg);
    if (type != REC_DATA) {
        fk_put_le32(h + RH_PCRC, 0);
        fk_put_le32(h + RH_CCRC, commit_check(h, 0));
    }
    *addr = s->head * s->sector_size + s->head_off;
    int rc = fl_prog(s, s->head, s->head_off, h, RH_SIZE);
    if (rc != FK_STORE_OK) return rc;
    s->head_off += RH_SIZE;
    s->wr_left = footprint(len) - RH_SIZE;
    return FK_STORE_OK;
}

/* Append payload bytes of the record being written. */
static int rec_append(fk_store_t *s, const uint8_t *data, uint32_t len)
{
    while (len > 0u) {
        if (s->head_off >= s->sector_size) {
            int rc = open_next(s);
            if (rc != FK_STORE_OK) return rc;
        }
        uint32_t n = s->sector_size - s->head_off;
        if (n > len) n = len;
        int rc = fl_prog(s, s->head, s->head_off, data, n);
        if (rc != FK_STORE_OK) return rc;
        s->head_off += n;
        s->wr_left -= n;
        data += n;
        len -= n;
    }
    return FK_STORE_OK;
}

/* Step the head over the record's padding (never crosses a sector). */
static void rec_finish(fk_store_t *s)
{
    FK_ASSERT(s->head_off + s->wr_left <= s->sector_size);
    s->head_off += s->wr_left;
    s->wr_left = 0;
}

/* Program the commit area of a data record: from here on it is complete. */
static int rec_commit(const fk_store_t *s, uint32_t addr, fk_store_key_t key, uint16_t tag,
                      uint32_t len, uint32_t pcrc)
{
    uint8_t h[RH_SIZE];
    build_hdr(h, REC_DATA, key, tag, len);
    fk_put_le32(h + RH_PCRC, pcrc);
    fk_put_le32(h + RH_CCRC, commit_check(h, pcrc));
    spos_t p = sp_of_addr(s, addr);
    return fl_prog(s, p.sect, p.off + RH_PCRC, h + RH_PCRC, RH_COMMIT_LEN);
}

/* Destroy a record: program the first zero_len payload bytes to zero, then
 * set the dead flag (in that order, so a cut leaves it visibly unfinished). */
static int kill(const fk_store_t *s, uint32_t addr, uint32_t zero_len)
{
    const spos_t h = sp_of_addr(s, addr);
    int rc = st_zero(s, sp_advance(s, h, RH_SIZE), zero_len);
    if (rc != FK_STORE_OK) return rc;
    return fl_zero(s, h.sect, h.off + RH_DEAD, 1);
}

/* Destroy the record of a staged operation (a marker: its flag only). */
static int kill_staged(const fk_store_t *s, const fk_store_staged_t *op)
{
    return kill(s, op->addr, op->type == REC_DATA ? op->arg : 0u);
}

/* Flag a staged record applied: its batch is committed and every version
 * it replaces destroyed, so it no longer needs the commit marker. */
static int set_applied(const fk_store_t *s, uint32_t addr)
{
    const spos_t h = sp_of_addr(s, addr);
    return fl_zero(s, h.sect, h.off + RH_APPLIED, 1);
}

/* A write failed half way: the RAM view no longer matches the flash, so the
 * store refuses further use until it is mounted again (which recovers). */
static int broken(fk_store_t *s, int rc)
{
    s->mounted = false;
    s->txn_open = false;
    s->batch_open = false;
    return rc == FK_STORE_OK ? FK_STORE_EIO : rc;
}

/* ---------------------------------------------------------------------------
 * Garbage collection and the space policy.
 * ------------------------------------------------------------------------- */

/* Copy the live record of index position i to the head and point the index
 * at the copy. The copy keeps the payload checksum as stored, so a record
 * damaged in flash stays detectably damaged; its header is fresh. */
static int copy_record(fk_store_t *s, size_t i)
{
    const fk_store_entry_t e = s->entries[i];
    uint8_t buf[CHUNK];
    uint32_t dst;
    rec_t r;
    int rc = read_rec(s, sp_of_addr(s, e.addr), &r);
    if (rc == FK_STORE_OK) rc = rec_begin(s, REC_DATA, e.key, TAG_NONE, e.len, &dst);
    spos_t p = sp_advance(s, sp_of_addr(s, e.addr), RH_SIZE);
    for (uint32_t done = 0; rc == FK_STORE_OK && done < e.len;) {
        uint32_t n = e.len - done < CHUNK ? e.len - done : CHUNK;
        rc = st_read(s, p, buf, n);
        if (rc == FK_STORE_OK) rc = rec_append(s, buf, n);
        p = sp_advance(s, p, n);
        done += n;
    }
    fk_wipe(buf, sizeof buf);
    if (rc != FK_STORE_OK) return rc;
    rec_finish(s);
    rc = rec_commit(s, dst, e.key, TAG_NONE, e.len, r.pcrc);
    if (rc != FK_STORE_OK) return rc;
    s->entries[i].addr = dst;
    return FK_STORE_OK;
}

/* Reclaim the tail sector, and the sectors after it that hold only the
 * continuation of records starting in it or whose part B is damaged: copy
 * every live record the index points into them to the head, zero what of
 * them lies in sectors that stay, retire and erase. FK_STORE_ENOSPC
 * (nothing changed) when the copies do not fit or the tail holds records of
 * the open batch. */
static int gc_step(fk_store_t *s)
{
    const uint32_t t = s->tail;
    const uint32_t d = dsz(s);

    if (s->tail_seq == s->head_seq || batch_pins(s, t)) return FK_STORE_ENOSPC;
    /* The new tail must be a sector the next mount can prove is in the
     * log: its part B checks (a damaged one is taken along instead). */
    uint32_t k = 1;
    for (;; k++) {
        shdr_t nh;
        const uint32_t n = (t + k) % s->nsect;
        int rc = read_shdr(s, n, &nh);
        if (rc != FK_STORE_OK) return rc;
        const bool sound = nh.ours && nh.b == B_VALID;
        if (sound && (nh.first != FIRST_NONE || s->tail_seq + k == s->head_seq)) break;
        if (s->tail_seq + k == s->head_seq || batch_pins(s, n)) return FK_STORE_ENOSPC;
    }

    uint64_t live = 0;
    for (size_t i = 0; i < s->n_entries; i++)
        if (ring_rank(s, s->entries[i].addr / s->sector_size) < k)
            live += footprint(s->entries[i].len);
    if (live > free_bytes(s)) return FK_STORE_ENOSPC;

    for (size_t i = 0; i < s->n_entries; i++) {
        const spos_t src = sp_of_addr(s, s->entries[i].addr);
        const uint32_t rank = ring_rank(s, src.sect);
        const uint32_t len = s->entries[i].len;
        if (rank >= k) continue;
        int rc = copy_record(s, i);
        if (rc != FK_STORE_OK) return rc;
        /* The part of the old copy in sectors that stay in the log. */
        const uint32_t ps = rank * d + (src.off - SH_SIZE) + RH_SIZE;
        const uint32_t pe = ps + len;
        const uint32_t keep_from = k * d;
        if (pe > keep_from) {
            const uint32_t from = ps > keep_from ? ps : keep_from;
            spos_t base = {t, SH_SIZE};
            rc = st_zero(s, sp_advance(s, base, from), pe - from);
            if (rc != FK_STORE_OK) return rc;
        }
    }

    for (uint32_t i = 0; i < k; i++) {
        int rc = retire(s, s->tail);
        if (rc != FK_STORE_OK) return rc;
        s->tail = ring_next(s, s->tail);
        s->tail_seq++;
    }
    for (uint32_t i = 0; i < k; i++) {
        int rc = erase_sector(s, (t + i) % s->nsect);
        if (rc != FK_STORE_OK) return rc;
    }
    return FK_STORE_OK;
}

/* One operation opens fewer than SEQ_MARGIN_TRIPS * N sectors; a log whose
 * sequence numbers are nearly used up (only a damaged region has one) takes
 * no more writes. */
static bool seq_exhausted(const fk_store_t *s)
{
    return (uint64_t)s->head_seq + (uint64_t)SEQ_MARGIN_TRIPS * s->nsect > SEQ_LIMIT;
}

static uint64_t capacity(const fk_store_t *s) { return (uint64_t)s->nsect * dsz(s); }

/* Whether a record of footprint f may be written, replacing position old
 * (-1: a new key). The write must be able to reach its room by garbage
 * collection; with `steady`, the store afterwards must still be able to
 * replace its largest record. docs/store.md derives the bounds. */
static bool admit(const fk_store_t *s, int old, uint32_t f, bool steady)
{
    const uint64_t d = dsz(s);
    const uint64_t cap = capacity(s);
    if (seq_exhausted(s)) return false;
    uint64_t m = max_footprint(s, -1);
    if (f > m) m = f;
    if ((uint64_t)s->used + f + m + ADMIT_SECTORS * d > cap) return false;
    if (!steady) return true;
    const uint64_t f_old = old >= 0 ? footprint(s->entries[old].len) : 0u;
    uint64_t m2 = max_footprint(s, old);
    if (f > m2) m2 = f;
    return (uint64_t)s->used - f_old + f + 2u * m2 + ADMIT_SECTORS * d <= cap;
}

/* Whether a staged write of len payload bytes to key may join the open
 * batch: what would be live after the commit must fit the space policy and
 * the index, and the log must hold the committed records, everything the
 * batch has written, this record and the commit marker with the slack
 * garbage collection needs (plus the sector the batch pins). */
static int batch_admit(const fk_store_t *s, fk_store_key_t key, uint32_t len)
{
    const uint64_t d = dsz(s);
    const uint64_t cap = capacity(s);
    const uint32_t f = footprint(len);
    const fk_store_staged_t extra = {ADDR_NONE, key, len, REC_DATA};
    figures_t fg;
    if (s->n_staged >= FK_STORE_BATCH_MAX || seq_exhausted(s)) return FK_STORE_ENOSPC;
    post_commit(s, &extra, &fg);
    if (fg.keys > FK_STORE_MAX_IDS) return FK_STORE_ENOSPC;
    if (fg.live + 2u * (uint64_t)fg.max_fp + ADMIT_SECTORS * d > cap) return FK_STORE_ENOSPC;
    uint64_t m = max_footprint(s, -1);
    if (f > m) m = f;
    const uint64_t pinned = (uint64_t)s->used + s->batch_bytes + f + RH_SIZE;
    if (pinned + m + (ADMIT_SECTORS + BATCH_SLACK_SECTORS) * d > cap) return FK_STORE_ENOSPC;
    return FK_STORE_OK;
}

/* Collect garbage until f bytes plus the reserve are free. */
static int make_room(fk_store_t *s, uint32_t f)
{
    uint64_t m = max_footprint(s, -1);
    if (f > m) m = f;
    const uint64_t goal = f + m + (uint64_t)RESERVE_SECTORS * dsz(s);
    for (uint32_t steps = 0; free_bytes(s) < goal; steps++) {
        if (steps > 2u * s->nsect) return FK_STORE_ENOSPC;
        int rc = gc_step(s);
        if (rc != FK_STORE_OK) return rc;
    }
    return FK_STORE_OK;
}

/* Make room for a marker record: garbage collection as for any write, but
 * a marker only frees space, so it is let through whenever it fits (with
 * `extra` bytes behind it: a batch keeps room for its commit marker). */
static int marker_room(fk_store_t *s, uint32_t extra)
{
    if (seq_exhausted(s)) return FK_STORE_ENOSPC;
    int rc = make_room(s, RH_SIZE);
    if (rc == FK_STORE_ENOSPC && free_bytes(s) >= RH_SIZE + extra) rc = FK_STORE_OK;
    return rc;
}

/* ---------------------------------------------------------------------------
 * Mount, recovery and format.
 * ------------------------------------------------------------------------- */

/* Check the geometry and reset *s to an unmounted store on the region. */
static int setup(fk_store_t *s, uint32_t base, uint32_t size)
{
    fk_flash_geometry_t geo;
    memset(s, 0, sizeof *s);
    s->health = &s->health_since_mount;
    s->batch_first = ADDR_NONE;
    fk_hal_flash_geometry(&geo);
    const uint32_t ss = geo.sector_size, ps = geo.page_size;
    if (ss < MIN_SECTOR_SIZE || ss > MAX_SECTOR_SIZE || (ss & (ss - 1u)) != 0u)
        return FK_STORE_EINVAL;
    if (ps < MIN_PAGE_SIZE || ps > ss || (ps & (ps - 1u)) != 0u) return FK_STORE_EINVAL;
    if (base % ss != 0u || size % ss != 0u || size / ss < MIN_SECTORS) return FK_STORE_EINVAL;
    if (base > geo.size || size > geo.size - base) return FK_STORE_EINVAL;
    s->base = base;
    s->size = size;
    s->sector_size = ss;
    s->page_size = ps;
    s->nsect = size / ss;
    return FK_STORE_OK;
}

/* Make sect, clean, the only sector of an empty log with sequence seq. */
static int start_log(fk_store_t *s, uint32_t sect, uint32_t seq)
{
    int rc = make_clean(s, sect, NULL);
    if (rc == FK_STORE_OK) rc = write_part_b(s, sect, seq, SH_SIZE);
    if (rc != FK_STORE_OK) return rc;
    s->tail = s->head = sect;
    s->tail_seq = s->head_seq = seq;
    s->head_off = SH_SIZE;
    s->wr_left = 0;
    s->used = 0;
    s->n_entries = 0;
    s->n_staged = 0;
    s->txn_open = false;
    s->batch_open = false;
    s->mounted = true;
    return FK_STORE_OK;
}

/* Clean every sector, `last` last, and start an empty log after the old
 * head's sequence number. Used by format and to finish an interrupted one. */
static int wipe_region(fk_store_t *s, uint32_t last)
{
    const uint32_t seq = s->head_seq + 1u;
    s->mounted = false;
    for (uint32_t i = 1; i <= s->nsect; i++) {
        int rc = make_clean(s, (last + i) % s->nsect, NULL);
        if (rc != FK_STORE_OK) return rc;
    }
    return start_log(s, ring_next(s, last), seq);
}

/* Mount of a region without a single sector header: format it if it is
 * entirely erased, else refuse without writing. */
static int format_blank(fk_store_t *s)
{
    for (uint32_t i = 0; i < s->nsect; i++) {
        bool blank;
        int rc = fl_blank(s, i, 0, s->sector_size, &blank);
        if (rc != FK_STORE_OK) return rc;
        if (!blank) return FK_STORE_ECORRUPT;
    }
    return wipe_region(s, s->nsect - 1u);
}

/* How many sectors before the tail belong to the log: 1 for a predecessor
 * whose part B names tail_seq - 1 (possibly after correction, or nearly at
 * this edge), j + 1 for a run of j sectors whose part B is damaged followed
 * by one that names tail_seq - j - 1 (only log sectors carry such numbers,
 * so the run is part of the log), 0 otherwise. */
static int older_run(fk_store_t *s, uint32_t *add)
{
    uint32_t p = ring_prev(s, s->tail);
    *add = 0;
    for (uint32_t j = 0; log_sectors(s) + j < s->nsect && j < s->tail_seq;
         j++, p = ring_prev(s, p)) {
        const uint32_t want = s->tail_seq - j - 1u;
        shdr_t h;
        bool near;
        uint16_t first;
        int rc = read_shdr(s, p, &h);
        if (rc != FK_STORE_OK) return rc;
        if (h.ours && h.b == B_ERASED) return FK_STORE_OK;
        if (h.ours && h.b == B_VALID) {
            if (h.seq == want) *add = j + 1u;
            break;
        }
        rc = near_b(s, p, want, &near, &first);
        if (rc != FK_STORE_OK) return rc;
        if (near) {
            s->health->repaired++;
            *add = j + 1u;
            break;
        }
    }
    s->health->damaged += *add > 0u ? *add - 1u : 0u;
    return FK_STORE_OK;
}

/* Find the log around the sector with the highest sequence number. */
static int find_log(fk_store_t *s)
{
    while (log_sectors(s) < s->nsect && s->tail_seq > 0u) {
        uint32_t add;
        int rc = older_run(s, &add);
        if (rc != FK_STORE_OK) return rc;
        if (add == 0u) break;
        s->tail = (s->tail + s->nsect - add) % s->nsect;
        s->tail_seq -= add;
    }
    while (log_sectors(s) < s->nsect) {
        bool near;
        uint16_t first;
        const uint32_t n = ring_next(s, s->head);
        int rc = near_b(s, n, s->head_seq + 1u, &near, &first);
        if (rc != FK_STORE_OK) return rc;
        if (!near) break;
        s->health->repaired++;
        s->head = n;
        s->head_seq++;
    }
    return FK_STORE_OK;
}

/* What the scan of the log found. */
typedef struct scan {
    uint32_t pending;   /* records to destroy or to flag applied */
    uint32_t unfinished; /* records neither committed nor dead */
    bool wipe;          /* a format was interrupted */
    bool have_last;     /* the log holds at least one record header */
    bool last_torn;     /* the last one is unfinished (not committed, not dead) */
    bool any_tag;       /* some record carries a batch tag */
    uint16_t max_tag;
    uint32_t last_addr;
    int end;            /* how the records of the head sector end */
    uint32_t end_off;
} scan_t;

/* Whether the record at rank r / offset off lies inside the log, given
 * log sectors n. */
static bool fits_log(const fk_store_t *s, uint32_t r, uint32_t off, uint32_t len, uint32_t n)
{
    const uint64_t d = dsz(s);
    return (uint64_t)r * d + (off - SH_SIZE) + footprint(len) <= (uint64_t)n * d;
}

/* Whether the records held in s->staged belong to another batch than r:
 * that batch never got its commit marker (batches follow one another). */
static bool held_elsewhere(const fk_store_t *s, const rec_t *r)
{
    return s->n_staged > 0u && s->batch_tag != r->tag;
}

/* Hold a staged record until its batch's commit marker; false when the
 * list is full (no batch stages that many: the record is an orphan). */
static bool hold(fk_store_t *s, const rec_t *r, uint32_t addr)
{
    if (s->n_staged >= FK_STORE_BATCH_MAX) return false;
    s->batch_tag = r->tag;
    s->staged[s->n_staged].addr = addr;
    s->staged[s->n_staged].key = r->key;
    s->staged[s->n_staged].arg = r->arg;
    s->staged[s->n_staged].type = r->type;
    s->n_staged++;
    return true;
}

/* Whether held record j belongs to the batch the commit marker c closes:
 * same tag, and not older than the batch's first record. */
static bool held_matches(const fk_store_t *s, uint32_t j, const rec_t *c)
{
    const spos_t p = sp_of_addr(s, s->staged[j].addr);
    const uint32_t seq = s->tail_seq + ring_rank(s, p.sect);
    const uint32_t first_off = FK_STORE_KEY_ID(c->key);
    return s->batch_tag == c->tag && (seq > c->arg || (seq == c->arg && p.off >= first_off));
}

/* Apply one data, delete or range record to the index during the scan;
 * *replaced tells whether an older version was superseded. */
static int replay_op(fk_store_t *s, uint8_t type, fk_store_key_t key, uint32_t arg,
                     uint32_t addr, bool *replaced)
{
    const int i = idx_find(s, key);
    *replaced = false;
    if (type == REC_DATA) {
        *replaced = i >= 0;
        return idx_set(s, key, addr, arg) == FK_STORE_OK ? FK_STORE_OK : FK_STORE_ECORRUPT;
    }
    const size_t lo = idx_lower(s, key);
    size_t hi = i >= 0 ? lo + 1u : lo;
    if (type == REC_RANGE) hi = idx_lower(s, (uint64_t)arg + 1u);
    *replaced = hi > lo;
    idx_cut(s, lo, hi);
    return FK_STORE_OK;
}

/* Replay the log from tail to head into the index (newest version wins,
 * a batch's records at its commit marker). Writes nothing.
 * FK_STORE_ECORRUPT if the region cannot be a store. */
static int scan_log(fk_store_t *s, scan_t *sc)
{
    cursor_t c;
    int st;
    memset(sc, 0, sizeof *sc);
    s->n_entries = 0;
    s->n_staged = 0;
    cur_start(s, &c, true);
    while ((st = cur_next(s, &c)) == WALK_REC) {
        const rec_t *r = &c.w.r;
        const uint32_t addr = cur_addr(s, &c);
        const bool usable = r->committed && fits_log(s, c.rank, c.w.off, r->len, c.n);
        bool replaced;
        sc->have_last = true;
        sc->last_addr = addr;
        sc->last_torn = !r->dead && !usable;
        if (r->tag != TAG_NONE && (!sc->any_tag || r->tag > sc->max_tag)) {
            sc->any_tag = true;
            sc->max_tag = r->tag;
        }
        if (r->dead) continue;
        if (!usable) {
            sc->pending++;
            sc->unfinished++;
            continue;
        }
        if (is_staged(r)) {
            if (held_elsewhere(s, r)) {
                sc->pending++;
                s->n_staged = 0;
            }
            if (!hold(s, r, addr)) sc->pending++;
            continue;
        }
        int rc = FK_STORE_OK;
        switch (r->type) {
        case REC_WIPE:
            s->n_entries = 0;
            s->n_staged = 0;
            sc->wipe = true;
            break;
        case REC_COMMIT:
            for (uint32_t j = 0; rc == FK_STORE_OK && j < s->n_staged; j++) {
                const fk_store_staged_t *op = &s->staged[j];
                if (held_matches(s, j, r))
                    rc = replay_op(s, op->type, op->key, op->arg, op->addr, &replaced);
                sc->pending++; /* to destroy, or to flag applied */
            }
            s->n_staged = 0;
            break;
        default:
            rc = replay_op(s, r->type, r->key, r->arg, addr, &replaced);
            if (replaced) sc->pending++;
            break;
        }
        if (rc != FK_STORE_OK) return rc;
    }
    if (st < 0) return st;
    /* Only the last record can be unfinished by a power cut: any other one
     * was damaged. */
    s->health->damaged += sc->unfinished - (sc->last_torn ? 1u : 0u);
    if (s->n_staged > 0u) sc->pending++; /* a batch that never committed */
    s->n_staged = 0;
    sc->end = c.end;
    sc->end_off = c.end_off;
    return FK_STORE_OK;
}

/* Drop the log sectors after the one holding the unfinished last record:
 * they hold nothing but its beginnings. Retired from the newest down, so a
 * cut leaves a shorter log that the next mount shortens further. */
static int unopen(fk_store_t *s, uint32_t keep_rank, scan_t *sc)
{
    while (ring_rank(s, s->head) > keep_rank) {
        int rc = retire(s, s->head);
        if (rc != FK_STORE_OK) return rc;
        s->head = ring_prev(s, s->head);
        s->head_seq--;
    }
    s->head_off = s->sector_size;
    /* Only a damaged region has live records reaching into them. */
    const uint32_t n = log_sectors(s);
    for (size_t i = s->n_entries; i-- > 0;) {
        const spos_t p = sp_of_addr(s, s->entries[i].addr);
        if (!fits_log(s, ring_rank(s, p.sect), p.off, s->entries[i].len, n)) {
            idx_cut(s, i, i + 1u);
            sc->pending++;
        }
    }
    return FK_STORE_OK;
}

/* Clean the free sectors next to the log (the ones an interrupted garbage
 * collection, unopen or sector opening may have left half erased). */
static int clean_free(fk_store_t *s)
{
    const uint32_t nfree = s->nsect - log_sectors(s);
    uint32_t x = ring_prev(s, s->tail);
    for (uint32_t k = 0; k < nfree; k++, x = ring_prev(s, x)) {
        bool was_clean;
        int rc = make_clean(s, x, &was_clean);
        if (rc != FK_STORE_OK) return rc;
        if (was_clean) break;
    }
    x = ring_next(s, s->head);
    for (uint32_t k = 0; k < nfree; k++, x = ring_next(s, x)) {
        bool was_clean;
        int rc = make_clean(s, x, &was_clean);
        if (rc != FK_STORE_OK) return rc;
        if (was_clean) break;
    }
    return FK_STORE_OK;
}

/* Destroy every held record (their batch never committed). */
static int drop_held(fk_store_t *s)
{
    int rc = FK_STORE_OK;
    for (uint32_t j = 0; rc == FK_STORE_OK && j < s->n_staged; j++)
        rc = kill_staged(s, &s->staged[j]);
    s->n_staged = 0;
    return rc;
}

/* At a commit marker during recovery: flag the held records of its batch
 * applied (a data record only while it is the live version; one the batch
 * or later writes replaced is destroyed), destroy the others. */
static int finish_batch(fk_store_t *s, const rec_t *c)
{
    int rc = FK_STORE_OK;
    for (uint32_t j = 0; rc == FK_STORE_OK && j < s->n_staged; j++) {
        const fk_store_staged_t *op = &s->staged[j];
        if (!held_matches(s, j, c)) {
            rc = kill_staged(s, op);
        } else if (op->type != REC_DATA) {
            rc = set_applied(s, op->addr);
        } else {
            const int i = idx_find(s, op->key);
            if (i >= 0 && s->entries[i].addr == op->addr)
                rc = set_applied(s, op->addr);
            else
                rc = kill(s, op->addr, op->arg);
        }
    }
    s->n_staged = 0;
    return rc;
}

/* Finish what a cut interrupted, in log order: destroy superseded and
 * deleted versions, the records of a batch that never committed and the
 * unfinished last record (its payload only up to the head), and flag the
 * records of a committed batch applied once what they replace is gone. */
static int finish_kills(fk_store_t *s, const scan_t *sc)
{
    const uint32_t d = dsz(s);
    const uint64_t head_rel = (uint64_t)(log_sectors(s) - 1u) * d + (s->head_off - SH_SIZE);
    cursor_t c;
    int st, rc = FK_STORE_OK;
    s->n_staged = 0;
    cur_start(s, &c, false);
    while (rc == FK_STORE_OK && (st = cur_next(s, &c)) == WALK_REC) {
        const rec_t *r = &c.w.r;
        const uint32_t addr = cur_addr(s, &c);
        if (r->dead) continue;
        if (!r->committed || !fits_log(s, c.rank, c.w.off, r->len, c.n)) {
            uint64_t z = 0;
            if (sc->last_torn && addr == sc->last_addr) {
                const uint64_t ps = (uint64_t)c.rank * d + (c.w.off - SH_SIZE) + RH_SIZE;
                z = ps < head_rel ? head_rel - ps : 0u;
                if (z > r->len) z = r->len;
            }
            rc = kill(s, addr, (uint32_t)z);
        } else if (is_staged(r)) {
            const fk_store_staged_t self = {addr, r->key, r->arg, r->type};
            if (held_elsewhere(s, r)) rc = drop_held(s);
            if (rc == FK_STORE_OK && !hold(s, r, addr)) rc = kill_staged(s, &self);
        } else if (r->type == REC_COMMIT) {
            rc = finish_batch(s, r);
        } else if (r->type == REC_DATA && !is_live(s, r, addr)) {
            rc = kill(s, addr, r->len);
        }
    }
    if (rc != FK_STORE_OK) return rc;
    if (st < 0) return st;
    return drop_held(s);
}

/* Rebuild the index from the log found by mount and complete or roll back
 * whatever a power cut interrupted. Writes only after the scan succeeded. */
static int recover(fk_store_t *s)
{
    scan_t sc;
    int rc = scan_log(s, &sc);
    if (rc != FK_STORE_OK) return rc;
    s->next_tag = sc.any_tag ? next_tag(sc.max_tag) : 0u;
    if (sc.wipe) return wipe_region(s, s->head);

    const uint32_t torn_sect = sp_of_addr(s, sc.last_addr).sect;
    const bool spans =
        sc.have_last && sc.last_torn && ring_rank(s, torn_sect) < log_sectors(s) - 1u;
    shdr_t th = {0};
    if (spans) rc = read_shdr(s, torn_sect, &th);
    if (rc != FK_STORE_OK) return rc;
    if (spans && th.ours && th.b == B_VALID) {
        rc = unopen(s, ring_rank(s, torn_sect), &sc);
    } else if (spans) {
        /* Its sector's part B is damaged: as the head it could not be
         * proven part of the log. The sectors after it stay, full. */
        s->head_off = s->sector_size;
    } else if (sc.end == WALK_BLANK) {
        bool blank;
        rc = fl_blank(s, s->head, sc.end_off, s->sector_size - sc.end_off, &blank);
        s->head_off = blank ? sc.end_off : s->sector_size;
    } else {
        s->head_off = s->sector_size;
    }
    if (rc == FK_STORE_OK) rc = clean_free(s);
    if (rc == FK_STORE_OK && sc.pending > 0u) rc = finish_kills(s, &sc);
    if (rc != FK_STORE_OK) return rc;
    s->used = 0;
    for (size_t i = 0; i < s->n_entries; i++) s->used += footprint(s->entries[i].len);
    s->mounted = true;
    return FK_STORE_OK;
}

int fk_store_mount(fk_store_t *s, uint32_t base, uint32_t size)
{
    if (s == NULL) return FK_STORE_EINVAL;
    int rc = setup(s, base, size);
    if (rc != FK_STORE_OK) return rc;

    bool any_ours = false, any_used = false;
    uint32_t best = 0, best_seq = 0;
    for (uint32_t i = 0; i < s->nsect; i++) {
        shdr_t h;
        rc = read_shdr(s, i, &h);
        if (rc != FK_STORE_OK) return rc;
        if (h.foreign) return FK_STORE_ECORRUPT;
        if (!h.ours) continue;
        any_ours = true;
        s->health->repaired += h.fixes;
        if (h.erases > s->erase_max) s->erase_max = h.erases;
        if (h.b == B_VALID && (!any_used || h.seq > best_seq)) {
            any_used = true;
            best = i;
            best_seq = h.seq;
        }
    }
    if (!any_ours) return format_blank(s);
    if (!any_used) return wipe_region(s, s->nsect - 1u);

    s->head = s->tail = best;
    s->head_seq = s->tail_seq = best_seq;
    rc = find_log(s);
    if (rc != FK_STORE_OK) return rc;
    return recover(s);
}

int fk_store_format(fk_store_t *s, uint32_t base, uint32_t size)
{
    if (s == NULL) return FK_STORE_EINVAL;
    if (s->mounted && s->base == base && s->size == size) {
        if (s->txn_open || s->batch_open) return FK_STORE_EBUSY;
        /* A wipe marker first: a cut during the erases below then still
         * ends in an empty store (mount finishes the wipe). */
        if (free_bytes(s) >= RH_SIZE) {
            uint32_t addr;
            int rc = rec_begin(s, REC_WIPE, FK_STORE_KEY(NS_NONE, ID_NONE), TAG_NONE, 0, &addr);
            if (rc != FK_STORE_OK) return broken(s, rc);
            rec_finish(s);
        }
        int rc = wipe_region(s, s->head);
        return rc == FK_STORE_OK ? rc : broken(s, rc);
    }
    int rc = setup(s, base, size);
    if (rc != FK_STORE_OK) return rc;
    for (uint32_t i = 0; i < s->nsect; i++) {
        shdr_t h;
        rc = read_shdr(s, i, &h);
        if (rc != FK_STORE_OK) return rc;
        if (h.ours && h.erases > s->erase_max) s->erase_max = h.erases;
    }
    rc = wipe_region(s, s->nsect - 1u);
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}

/* ---------------------------------------------------------------------------
 * Reading.
 * ------------------------------------------------------------------------- */

/* Verify the record of key at addr (header and whole payload checksum) and
 * copy [offset, offset+len) of its payload into buf (NULL: verify only).
 * A failed check wipes buf and counts as damage. */
static int read_payload(const fk_store_t *s, uint32_t addr, fk_store_key_t key, uint32_t rec_len,
                        uint32_t offset, void *buf, size_t len)
{
    rec_t r;
    spos_t p = sp_of_addr(s, addr);
    int rc = read_rec(s, p, &r);
    if (rc != FK_STORE_OK) return rc;
    if (!r.valid || !r.committed || r.dead || r.type != REC_DATA || r.key != key ||
        r.len != rec_len) {
        note_damage(s);
        if (len > 0u) fk_wipe(buf, len);
        return FK_STORE_ECORRUPT;
    }
    uint8_t chunk[CHUNK];
    uint8_t *out = (uint8_t *)buf;
    const uint32_t want_end = offset + (uint32_t)len;
    uint32_t crc = 0;
    p = sp_advance(s, p, RH_SIZE);
    for (uint32_t pos = 0; pos < rec_len;) {
        uint32_t n = rec_len - pos < CHUNK ? rec_len - pos : CHUNK;
        rc = st_read(s, p, chunk, n);
        if (rc != FK_STORE_OK) break;
        crc = fk_crc32(crc, chunk, n);
        const uint32_t lo = pos > offset ? pos : offset;
        const uint32_t hi = pos + n < want_end ? pos + n : want_end;
        if (out != NULL && lo < hi) memcpy(out + (lo - offset), chunk + (lo - pos), hi - lo);
        p = sp_advance(s, p, n);
        pos += n;
    }
    fk_wipe(chunk, sizeof chunk);
    if (rc == FK_STORE_OK && crc != r.pcrc) {
        note_damage(s);
        rc = FK_STORE_ECORRUPT;
    }
    if (rc != FK_STORE_OK && len > 0u) fk_wipe(buf, len);
    return rc;
}

int fk_store_size(const fk_store_t *s, fk_store_key_t key, uint32_t *size)
{
    if (s == NULL || size == NULL || !s->mounted || key > FK_STORE_KEY_LAST)
        return FK_STORE_EINVAL;
    int i = idx_find(s, key);
    if (i < 0) return FK_STORE_ENOENT;
    *size = s->entries[i].len;
    return FK_STORE_OK;
}

int fk_store_read(const fk_store_t *s, fk_store_key_t key, uint32_t offset, void *buf,
                  size_t len)
{
    if (s == NULL || !s->mounted || (buf == NULL && len > 0u) || key > FK_STORE_KEY_LAST)
        return FK_STORE_EINVAL;
    int i = idx_find(s, key);
    if (i < 0) return FK_STORE_ENOENT;
    const fk_store_entry_t *e = &s->entries[i];
    if (offset > e->len || len > e->len - offset) return FK_STORE_EINVAL;
    return read_payload(s, e->addr, key, e->len, offset, buf, len);
}

int fk_store_first(const fk_store_t *s, fk_store_key_t from, fk_store_key_t *key)
{
    if (s == NULL || key == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (from > FK_STORE_KEY_LAST) return FK_STORE_ENOENT;
    size_t i = idx_lower(s, from);
    if (i >= s->n_entries) return FK_STORE_ENOENT;
    *key = s->entries[i].key;
    return FK_STORE_OK;
}

/* Footprint bytes new records can still take, as long as none of them is
 * larger than the largest live record (a larger one needs more reserve). */
static uint32_t free_footprint(const fk_store_t *s)
{
    const uint64_t need = (uint64_t)s->used + 2u * (uint64_t)max_footprint(s, -1) +
                          (uint64_t)ADMIT_SECTORS * dsz(s);
    const uint64_t cap = capacity(s);
    return need < cap ? (uint32_t)(cap - need) : 0u;
}

void fk_store_stats(const fk_store_t *s, fk_store_stats_t *st)
{
    if (st == NULL) return;
    memset(st, 0, sizeof *st);
    if (s == NULL || !s->mounted) return;
    st->total = s->size;
    st->used = s->used;
    st->files = (uint32_t)s->n_entries;
    st->free = free_footprint(s);
    st->repaired = s->health->repaired;
    st->damaged = s->health->damaged;
    bool any = false;
    for (uint32_t i = 0; i < s->nsect; i++) {
        shdr_t h;
        if (read_shdr(s, i, &h) != FK_STORE_OK || !h.ours) continue;
        if (!any || h.erases < st->erase_min) st->erase_min = h.erases;
        if (!any || h.erases > st->erase_max) st->erase_max = h.erases;
        any = true;
    }
}

/* ---------------------------------------------------------------------------
 * Writing.
 * ------------------------------------------------------------------------- */

/* The new version of key at addr is committed: index it, then destroy the
 * version it replaces. */
static int publish(fk_store_t *s, fk_store_key_t key, uint32_t addr, uint32_t len)
{
    int i = idx_find(s, key);
    bool had = i >= 0;
    uint32_t old_addr = 0, old_len = 0;
    if (had) {
        old_addr = s->entries[i].addr;
        old_len = s->entries[i].len;
        s->used -= footprint(old_len);
    }
    if (idx_set(s, key, addr, len) != FK_STORE_OK) return FK_STORE_EIO;
    s->used += footprint(len);
    return had ? kill(s, old_addr, old_len) : FK_STORE_OK;
}

/* Drop index positions [lo, hi) and destroy their records. */
static int delete_positions(fk_store_t *s, size_t lo, size_t hi)
{
    int rc = FK_STORE_OK;
    for (size_t i = lo; rc == FK_STORE_OK && i < hi; i++) {
        s->used -= footprint(s->entries[i].len);
        rc = kill(s, s->entries[i].addr, s->entries[i].len);
    }
    idx_cut(s, lo, hi);
    return rc;
}

/* The tag a record written now carries. */
static uint16_t write_tag(const fk_store_t *s) { return s->batch_open ? s->batch_tag : TAG_NONE; }

/* A record of footprint f was written at addr in the open batch. */
static void batch_wrote(fk_store_t *s, uint32_t addr, uint32_t f)
{
    if (s->batch_first == ADDR_NONE) s->batch_first = addr;
    s->batch_bytes += f;
}

/* Add a written and committed record to the open batch's operations. */
static void stage(fk_store_t *s, uint8_t type, fk_store_key_t key, uint32_t arg, uint32_t addr)
{
    FK_ASSERT(s->n_staged < FK_STORE_BATCH_MAX);
    s->staged[s->n_staged].addr = addr;
    s->staged[s->n_staged].key = key;
    s->staged[s->n_staged].arg = arg;
    s->staged[s->n_staged].type = type;
    s->n_staged++;
}

int fk_store_begin(fk_store_t *s, fk_store_txn_t *t, fk_store_key_t key, uint32_t total)
{
    if (s == NULL || t == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (key > FK_STORE_KEY_LAST || total > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    const uint32_t f = footprint(total);
    if (s->batch_open) {
        int rc = batch_admit(s, key, total);
        if (rc != FK_STORE_OK) return rc;
    } else {
        const int old = idx_find(s, key);
        if (old < 0 && s->n_entries >= FK_STORE_MAX_IDS) return FK_STORE_ENOSPC;
        if (!admit(s, old, f, true)) return FK_STORE_ENOSPC;
    }
    int rc = make_room(s, f);
    if (rc == FK_STORE_ENOSPC) return rc;
    uint32_t addr = 0;
    if (rc == FK_STORE_OK) rc = rec_begin(s, REC_DATA, key, write_tag(s), total, &addr);
    if (rc != FK_STORE_OK) return broken(s, rc);
    if (s->batch_open) batch_wrote(s, addr, f);
    t->key = key;
    t->addr = addr;
    t->total = total;
    t->written = 0;
    t->crc = 0;
    s->txn_open = true;
    s->txn_addr = addr;
    s->txn_written = 0;
    return FK_STORE_OK;
}

/* Whether t is the stream open on s. */
static bool txn_ok(const fk_store_t *s, const fk_store_txn_t *t)
{
    return s != NULL && t != NULL && s->mounted && s->txn_open && t->addr == s->txn_addr;
}

int fk_store_append(fk_store_t *s, fk_store_txn_t *t, const void *data, size_t len)
{
    if (!txn_ok(s, t) || (data == NULL && len > 0u)) return FK_STORE_EINVAL;
    if (len > t->total - t->written) return FK_STORE_EINVAL;
    int rc = rec_append(s, (const uint8_t *)data, (uint32_t)len);
    if (rc != FK_STORE_OK) return broken(s, rc);
    t->crc = fk_crc32(t->crc, data, len);
    t->written += (uint32_t)len;
    s->txn_written = t->written;
    return FK_STORE_OK;
}

int fk_store_commit(fk_store_t *s, fk_store_txn_t *t)
{
    if (!txn_ok(s, t) || t->written != t->total) return FK_STORE_EINVAL;
    rec_finish(s);
    int rc = rec_commit(s, t->addr, t->key, write_tag(s), t->total, t->crc);
    s->txn_open = false;
    if (rc == FK_STORE_OK && s->batch_open)
        stage(s, REC_DATA, t->key, t->total, t->addr);
    else if (rc == FK_STORE_OK)
        rc = publish(s, t->key, t->addr, t->total);
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}

/* Destroy the open stream's record; the rest of its reserved space stays
 * unused. */
static int abort_stream(fk_store_t *s)
{
    int rc = kill(s, s->txn_addr, s->txn_written);
    if (s->head_off + s->wr_left <= s->sector_size)
        s->head_off += s->wr_left;
    else
        s->head_off = s->sector_size;
    s->wr_left = 0;
    s->txn_open = false;
    s->txn_written = 0;
    return rc;
}

void fk_store_abort(fk_store_t *s, fk_store_txn_t *t)
{
    if (!txn_ok(s, t)) return;
    int rc = abort_stream(s);
    t->written = 0;
    t->crc = 0;
    if (rc != FK_STORE_OK) (void)broken(s, rc);
}

int fk_store_write(fk_store_t *s, fk_store_key_t key, const void *data, size_t len)
{
    fk_store_txn_t t;
    if (len > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    if (data == NULL && len > 0u) return FK_STORE_EINVAL;
    int rc = fk_store_begin(s, &t, key, (uint32_t)len);
    if (rc != FK_STORE_OK) return rc;
    rc = fk_store_append(s, &t, data, len);
    if (rc != FK_STORE_OK) {
        fk_store_abort(s, &t);
        return rc;
    }
    return fk_store_commit(s, &t);
}

/* Append n bytes of the payload of the record at src, from offset from. */
static int copy_payload(fk_store_t *s, fk_store_txn_t *t, uint32_t src, uint32_t from, uint32_t n)
{
    uint8_t buf[CHUNK];
    int rc = FK_STORE_OK;
    spos_t p = sp_advance(s, sp_of_addr(s, src), RH_SIZE + from);
    while (rc == FK_STORE_OK && n > 0u) {
        uint32_t c = n < CHUNK ? n : CHUNK;
        rc = st_read(s, p, buf, c);
        if (rc == FK_STORE_OK) rc = fk_store_append(s, t, buf, c);
        p = sp_advance(s, p, c);
        n -= c;
    }
    fk_wipe(buf, sizeof buf);
    return rc;
}

int fk_store_patch(fk_store_t *s, fk_store_key_t key, uint32_t offset, const void *data,
                   size_t len, bool truncate)
{
    if (s == NULL || !s->mounted || (data == NULL && len > 0u)) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (key > FK_STORE_KEY_LAST || len > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    uint32_t src = 0, old_len = 0;
    const bool had = current(s, key, &src, &old_len);
    if (offset > old_len) return FK_STORE_EINVAL;
    const uint32_t end = offset + (uint32_t)len;
    if (end > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    const uint32_t new_len = truncate ? end : (end > old_len ? end : old_len);
    if (had) {
        /* Never carry damaged bytes into a record with a fresh checksum. */
        int rc = read_payload(s, src, key, old_len, 0, NULL, 0);
        if (rc != FK_STORE_OK) return rc;
    }
    fk_store_txn_t t;
    int rc = fk_store_begin(s, &t, key, new_len);
    if (rc != FK_STORE_OK) return rc;
    (void)current(s, key, &src, &old_len); /* garbage collection may have moved it */
    if (had) rc = copy_payload(s, &t, src, 0, offset);
    if (rc == FK_STORE_OK) rc = fk_store_append(s, &t, data, len);
    if (rc == FK_STORE_OK && had && !truncate && end < old_len)
        rc = copy_payload(s, &t, src, end, old_len - end);
    if (rc != FK_STORE_OK) {
        fk_store_abort(s, &t);
        return rc;
    }
    return fk_store_commit(s, &t);
}

/* Write a delete or range marker into the open batch. */
static int stage_marker(fk_store_t *s, uint8_t type, fk_store_key_t key, uint32_t arg)
{
    uint32_t addr;
    if (s->n_staged >= FK_STORE_BATCH_MAX) return FK_STORE_ENOSPC;
    int rc = marker_room(s, RH_SIZE);
    if (rc == FK_STORE_ENOSPC) return rc;
    if (rc == FK_STORE_OK) rc = rec_begin(s, type, key, s->batch_tag, arg, &addr);
    if (rc != FK_STORE_OK) return broken(s, rc);
    rec_finish(s);
    batch_wrote(s, addr, RH_SIZE);
    stage(s, type, key, arg, addr);
    return FK_STORE_OK;
}

int fk_store_delete(fk_store_t *s, fk_store_key_t key)
{
    if (s == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (key > FK_STORE_KEY_LAST) return FK_STORE_EINVAL;
    if (!current(s, key, NULL, NULL)) return FK_STORE_ENOENT;
    if (s->batch_open) return stage_marker(s, REC_DELETE, key, 0);
    int rc = marker_room(s, 0);
    if (rc == FK_STORE_ENOSPC) return rc;
    uint32_t addr;
    if (rc == FK_STORE_OK) rc = rec_begin(s, REC_DELETE, key, TAG_NONE, 0, &addr);
    if (rc != FK_STORE_OK) return broken(s, rc);
    rec_finish(s);
    const size_t i = (size_t)idx_find(s, key);
    rc = delete_positions(s, i, i + 1u);
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}

int fk_store_delete_range(fk_store_t *s, fk_store_key_t first, fk_store_key_t last)
{
    if (s == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (first > last || last > FK_STORE_KEY_LAST) return FK_STORE_EINVAL;
    if (s->batch_open) {
        if (!any_current_in(s, first, last)) return FK_STORE_OK;
        return stage_marker(s, REC_RANGE, first, last);
    }
    if (idx_lower(s, first) == idx_lower(s, (uint64_t)last + 1u)) return FK_STORE_OK;
    int rc = marker_room(s, 0);
    if (rc == FK_STORE_ENOSPC) return rc;
    uint32_t addr;
    if (rc == FK_STORE_OK) rc = rec_begin(s, REC_RANGE, first, TAG_NONE, last, &addr);
    if (rc != FK_STORE_OK) return broken(s, rc);
    rec_finish(s);
    rc = delete_positions(s, idx_lower(s, first), idx_lower(s, (uint64_t)last + 1u));
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}

/* ---------------------------------------------------------------------------
 * Batches.
 * ------------------------------------------------------------------------- */

/* Forget the open batch (its records are committed or destroyed). */
static void batch_close(fk_store_t *s)
{
    s->batch_open = false;
    s->n_staged = 0;
    s->batch_first = ADDR_NONE;
    s->batch_bytes = 0;
}

int fk_store_batch_begin(fk_store_t *s)
{
    if (s == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (s->batch_open || s->txn_open) return FK_STORE_EBUSY;
    batch_close(s);
    s->batch_open = true;
    s->batch_tag = s->next_tag;
    s->next_tag = next_tag(s->next_tag);
    return FK_STORE_OK;
}

/* Make the staged operations live in order and destroy what they replace,
 * then flag them applied. */
static int apply_staged(fk_store_t *s)
{
    int rc = FK_STORE_OK;
    for (uint32_t j = 0; rc == FK_STORE_OK && j < s->n_staged; j++) {
        const fk_store_staged_t *op = &s->staged[j];
        if (op->type == REC_DATA) {
            rc = publish(s, op->key, op->addr, op->arg);
        } else {
            const size_t lo = idx_lower(s, op->key);
            const uint64_t end = op->type == REC_RANGE ? op->arg : op->key;
            rc = delete_positions(s, lo, idx_lower(s, end + 1u));
        }
    }
    for (uint32_t j = 0; rc == FK_STORE_OK && j < s->n_staged; j++) {
        const fk_store_staged_t *op = &s->staged[j];
        const int i = op->type == REC_DATA ? idx_find(s, op->key) : -1;
        if (op->type != REC_DATA || (i >= 0 && s->entries[i].addr == op->addr))
            rc = set_applied(s, op->addr);
    }
    return rc;
}

int fk_store_batch_commit(fk_store_t *s)
{
    if (s == NULL || !s->mounted || !s->batch_open) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (s->n_staged == 0u) {
        batch_close(s);
        return FK_STORE_OK;
    }
    /* The marker names the batch's first record, so that records of an
     * older batch with the same tag can never be taken for this one's. */
    const spos_t first = sp_of_addr(s, s->batch_first);
    const uint32_t first_seq = s->tail_seq + ring_rank(s, first.sect);
    uint32_t addr;
    int rc = rec_begin(s, REC_COMMIT, FK_STORE_KEY(NS_NONE, first.off), s->batch_tag, first_seq,
                       &addr);
    if (rc == FK_STORE_OK) {
        rec_finish(s);
        rc = apply_staged(s);
    }
    batch_close(s);
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}

void fk_store_batch_abort(fk_store_t *s)
{
    if (s == NULL || !s->mounted || !s->batch_open) return;
    int rc = s->txn_open ? abort_stream(s) : FK_STORE_OK;
    for (uint32_t j = 0; rc == FK_STORE_OK && j < s->n_staged; j++)
        rc = kill_staged(s, &s->staged[j]);
    batch_close(s);
    if (rc != FK_STORE_OK) (void)broken(s, rc);
}
