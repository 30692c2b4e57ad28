/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c - the log-structured, power-loss-safe flash store of store.h.
 * docs/store.md explains the format and the algorithms in full; in short:
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
 *     record:    header 32 (id, length, header check, then a commit area
 *                programmed last: payload CRC and a check over both, then
 *                a dead flag) | payload | padding to 32
 *
 * Writes append at the head; a record is live once its commit area checks;
 * the newest committed version of an id wins; the previous version is then
 * programmed to zero and flagged dead. Garbage collection copies the live
 * records of the tail sector to the head, retires the tail sector (zeroes
 * its header part B, so that no half-erased remains can rejoin the log) and
 * erases it.
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

#define FMT_VERSION 1u
#define SECT_MAGIC 0x54534B46u /* "FKST" as stored (little-endian) */
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
#define SH_CRC_B 28u
#define SH_B_LEN 12u

/* Record header. */
#define RH_SIZE 32u
#define RH_MAGIC 0u
#define RH_VERSION 1u
#define RH_TYPE 2u
#define RH_ID 4u
#define RH_LEN 8u
#define RH_HCRC 12u
#define RH_BODY_LEN 12u
#define RH_PCRC 16u
#define RH_CCRC 20u
#define RH_COMMIT_LEN 8u
#define RH_DEAD 24u

#define REC_ALIGN 32u
#define ERASED 0xFFu
#define FIRST_NONE 0xFFFFu
#define SEQ_NONE 0xFFFFFFFFu
#define SEQ_LIMIT 0xFFFFFF00u
/* The stored commit check has its top bit clear, so erased bytes never pass. */
#define CCRC_MASK 0x7FFFFFFFu
/* Stream copies and checks move this many bytes at a time (stack buffer). */
#define CHUNK 64u

/* Space policy, in sectors of data (docs/store.md, "Free space"): garbage
 * collection keeps the largest record + RESERVE_SECTORS free, and a write is
 * admitted only if that stays reachable with ADMIT_SECTORS of slack. */
#define RESERVE_SECTORS 4u
#define ADMIT_SECTORS 5u
#define SEQ_MARGIN_TRIPS 4u

enum rec_type { REC_DATA = 1, REC_DELETE = 2, REC_WIPE = 3 };

/* A place in the region: sector index and byte offset inside it. */
typedef struct spos {
    uint32_t sect;
    uint32_t off;
} spos_t;

/* A record header as read from flash. */
typedef struct rec {
    uint8_t type;
    uint16_t id;
    uint32_t len;
    uint32_t pcrc;
    bool blank;     /* all 0xFF: nothing written here */
    bool valid;     /* header fields check */
    bool committed; /* commit area checks */
    bool dead;      /* superseded, deleted or abandoned */
} rec_t;

/* A sector header as read from flash. */
typedef struct shdr {
    bool ours;    /* part A checks and describes this region */
    bool foreign; /* part A checks but describes another layout or version */
    bool used;    /* part B checks: the sector belongs to the log */
    uint32_t erases;
    uint32_t seq;
    uint16_t first;
} shdr_t;


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
 * Headers.
 * ------------------------------------------------------------------------- */

static int read_shdr(const fk_store_t *s, uint32_t sect, shdr_t *h)
{
    uint8_t raw[SH_SIZE];
    memset(h, 0, sizeof *h);
    int rc = fl_read(s, sect, 0, raw, sizeof raw);
    if (rc != FK_STORE_OK) return rc;
    if (fk_le32(raw + SH_MAGIC) != SECT_MAGIC) return FK_STORE_OK;
    if (fk_le32(raw + SH_CRC_A) != fk_crc32(0, raw, SH_CRC_A)) return FK_STORE_OK;
    if (raw[SH_VERSION] != FMT_VERSION || raw[SH_LOG2] != log2u(s->sector_size) ||
        fk_le32(raw + SH_NSECT) != s->nsect) {
        h->foreign = true;
        return FK_STORE_OK;
    }
    h->ours = true;
    h->erases = fk_le32(raw + SH_ERASES);
    h->seq = fk_le32(raw + SH_SEQ);
    h->first = get_le16(raw + SH_FIRST);
    const bool first_ok = h->first == FIRST_NONE ||
                          (h->first >= SH_SIZE && h->first % REC_ALIGN == 0u &&
                           h->first <= s->sector_size - RH_SIZE);
    h->used = h->seq != SEQ_NONE && first_ok &&
              fk_le32(raw + SH_CRC_B) == fk_crc32(0, raw, SH_CRC_B);
    return FK_STORE_OK;
}

/* Program part A (identity and erase count) into an erased sector. */
static int write_part_a(fk_store_t *s, uint32_t sect, uint32_t erases)
{
    uint8_t a[SH_A_LEN];
    memset(a, ERASED, sizeof a);
    fk_put_le32(a + SH_MAGIC, SECT_MAGIC);
    a[SH_VERSION] = (uint8_t)FMT_VERSION;
    a[SH_LOG2] = (uint8_t)log2u(s->sector_size);
    fk_put_le32(a + SH_NSECT, s->nsect);
    fk_put_le32(a + SH_ERASES, erases);
    fk_put_le32(a + SH_CRC_A, fk_crc32(0, a, SH_CRC_A));
    if (erases > s->erase_max) s->erase_max = erases;
    return fl_prog(s, sect, 0, a, sizeof a);
}

/* Program part B: the sector joins the log with sequence number seq. The
 * check covers part A as it stands in flash. */
static int write_part_b(const fk_store_t *s, uint32_t sect, uint32_t seq, uint16_t first)
{
    uint8_t h[SH_SIZE];
    int rc = fl_read(s, sect, 0, h, SH_A_LEN);
    if (rc != FK_STORE_OK) return rc;
    memset(h + SH_SEQ, ERASED, SH_B_LEN);
    fk_put_le32(h + SH_SEQ, seq);
    put_le16(h + SH_FIRST, first);
    fk_put_le32(h + SH_CRC_B, fk_crc32(0, h, SH_CRC_B));
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

static uint32_t commit_check(const uint8_t *hdr, uint32_t pcrc)
{
    uint8_t b[4];
    fk_put_le32(b, pcrc);
    return fk_crc32(fk_crc32(0, hdr, RH_BODY_LEN), b, sizeof b) & CCRC_MASK;
}

static int read_rec(const fk_store_t *s, spos_t p, rec_t *r)
{
    uint8_t h[RH_SIZE];
    int rc = fl_read(s, p.sect, p.off, h, RH_SIZE);
    r->blank = r->valid = r->committed = r->dead = false;
    if (rc != FK_STORE_OK) return rc;
    r->blank = all_erased(h, RH_SIZE);
    if (h[RH_MAGIC] != REC_MAGIC || h[RH_VERSION] != FMT_VERSION) return FK_STORE_OK;
    if (fk_le32(h + RH_HCRC) != fk_crc32(0, h, RH_BODY_LEN)) return FK_STORE_OK;
    r->type = h[RH_TYPE];
    r->id = get_le16(h + RH_ID);
    r->len = fk_le32(h + RH_LEN);
    switch (r->type) {
    case REC_DATA:
        if (r->len > FK_STORE_MAX_RECORD || r->id == FK_STORE_ID_INVALID) return FK_STORE_OK;
        break;
    case REC_DELETE:
        if (r->len != 0u || r->id == FK_STORE_ID_INVALID) return FK_STORE_OK;
        break;
    case REC_WIPE:
        if (r->len != 0u) return FK_STORE_OK;
        break;
    default:
        return FK_STORE_OK;
    }
    r->valid = true;
    r->pcrc = fk_le32(h + RH_PCRC);
    r->committed = fk_le32(h + RH_CCRC) == commit_check(h, r->pcrc);
    r->dead = h[RH_DEAD] != ERASED;
    return FK_STORE_OK;
}

/* ---------------------------------------------------------------------------
 * Walking the records of one sector.
 * ------------------------------------------------------------------------- */

enum walk_status { WALK_REC = 1, WALK_BLANK, WALK_INVALID, WALK_OUT };

#define WALK_NONE 0xFFFFFFFFu

typedef struct walk {
    uint32_t sect;
    uint32_t off;  /* header of the current record, or where the records end */
    uint32_t next; /* header offset after the current record */
    rec_t r;
} walk_t;

static void walk_start(walk_t *w, uint32_t sect, uint16_t first)
{
    w->sect = sect;
    w->off = 0;
    w->next = first == FIRST_NONE ? WALK_NONE : first;
}

/* Step to the next record whose header lies in the sector: WALK_REC with
 * w->r filled, else why the sector's records end (an erased header, one
 * that does not check, or the end of the sector); negative on a flash
 * error. A record running past the sector end is returned, then OUT. */
static int walk_next(const fk_store_t *s, walk_t *w)
{
    w->off = w->next;
    if (w->off == WALK_NONE || w->off > s->sector_size - RH_SIZE) return WALK_OUT;
    spos_t p = {w->sect, w->off};
    int rc = read_rec(s, p, &w->r);
    if (rc != FK_STORE_OK) return rc;
    if (w->r.blank) return WALK_BLANK;
    if (!w->r.valid) return WALK_INVALID;
    w->next = w->off + footprint(w->r.len);
    return WALK_REC;
}

/* ---------------------------------------------------------------------------
 * The RAM index: live ids sorted ascending.
 * ------------------------------------------------------------------------- */

/* First position whose id is >= id. */
static size_t idx_lower(const fk_store_t *s, uint32_t id)
{
    size_t lo = 0, hi = s->n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (s->entries[mid].id < id)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

static int idx_find(const fk_store_t *s, uint16_t id)
{
    size_t i = idx_lower(s, id);
    return (i < s->n_entries && s->entries[i].id == id) ? (int)i : -1;
}

/* Insert or update id; FK_STORE_ENOSPC when a new id does not fit. */
static int idx_set(fk_store_t *s, uint16_t id, uint32_t addr, uint32_t len)
{
    size_t i = idx_lower(s, id);
    if (i >= s->n_entries || s->entries[i].id != id) {
        if (s->n_entries >= FK_STORE_MAX_IDS) return FK_STORE_ENOSPC;
        memmove(&s->entries[i + 1u], &s->entries[i],
                (s->n_entries - i) * sizeof s->entries[0]);
        s->n_entries++;
        s->entries[i].id = id;
    }
    s->entries[i].addr = addr;
    s->entries[i].len = len;
    return FK_STORE_OK;
}

static void idx_remove(fk_store_t *s, size_t i)
{
    memmove(&s->entries[i], &s->entries[i + 1u], (s->n_entries - i - 1u) * sizeof s->entries[0]);
    s->n_entries--;
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

static bool is_live(const fk_store_t *s, const rec_t *r, uint32_t addr)
{
    if (r->type != REC_DATA || !r->committed || r->dead) return false;
    int i = idx_find(s, r->id);
    return i >= 0 && s->entries[i].addr == addr;
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

static void build_hdr(uint8_t h[RH_SIZE], uint8_t type, uint16_t id, uint32_t len)
{
    memset(h, ERASED, RH_SIZE);
    h[RH_MAGIC] = REC_MAGIC;
    h[RH_VERSION] = (uint8_t)FMT_VERSION;
    h[RH_TYPE] = type;
    put_le16(h + RH_ID, id);
    fk_put_le32(h + RH_LEN, len);
    fk_put_le32(h + RH_HCRC, fk_crc32(0, h, RH_BODY_LEN));
}

/* Write a record header at the head. A zero-length record is committed in
 * the same program. The caller has made room for the whole record. */
static int rec_begin(fk_store_t *s, uint8_t type, uint16_t id, uint32_t len, uint32_t *addr)
{
    uint8_t h[RH_SIZE];
    s->wr_left = 0;
    if (s->head_off > s->sector_size - RH_SIZE) {
        int rc = open_next(s);
        if (rc != FK_STORE_OK) return rc;
    }
    build_hdr(h, type, id, len);
    if (len == 0u) {
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

/* Program the commit area: from here on the record is the live version. */
static int rec_commit(const fk_store_t *s, uint32_t addr, uint8_t type, uint16_t id,
                      uint32_t len, uint32_t pcrc)
{
    uint8_t h[RH_SIZE];
    if (len == 0u) return FK_STORE_OK;
    build_hdr(h, type, id, len);
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

/* A write failed half way: the RAM view no longer matches the flash, so the
 * store refuses further use until it is mounted again (which recovers). */
static int broken(fk_store_t *s, int rc)
{
    s->mounted = false;
    s->txn_open = false;
    return rc == FK_STORE_OK ? FK_STORE_EIO : rc;
}

/* ---------------------------------------------------------------------------
 * Garbage collection.
 * ------------------------------------------------------------------------- */

/* Copy the live record at src to the head, keeping its payload checksum (a
 * record damaged in flash stays detectably damaged), and point the index at
 * the copy. */
static int copy_record(fk_store_t *s, uint32_t src, const rec_t *r)
{
    uint8_t buf[CHUNK];
    uint32_t dst;
    int rc = rec_begin(s, REC_DATA, r->id, r->len, &dst);
    spos_t p = sp_advance(s, sp_of_addr(s, src), RH_SIZE);
    for (uint32_t done = 0; rc == FK_STORE_OK && done < r->len;) {
        uint32_t n = r->len - done < CHUNK ? r->len - done : CHUNK;
        rc = st_read(s, p, buf, n);
        if (rc == FK_STORE_OK) rc = rec_append(s, buf, n);
        p = sp_advance(s, p, n);
        done += n;
    }
    fk_wipe(buf, sizeof buf);
    if (rc != FK_STORE_OK) return rc;
    rec_finish(s);
    rc = rec_commit(s, dst, REC_DATA, r->id, r->len, r->pcrc);
    if (rc != FK_STORE_OK) return rc;
    return idx_set(s, r->id, dst, r->len);
}

/* Reclaim the tail sector, and the sectors after it that hold only the
 * continuation of records starting in it: copy its live records to the
 * head, zero what of them lies in sectors that stay, retire and erase.
 * FK_STORE_ENOSPC (nothing changed) when the copies do not fit. */
static int gc_step(fk_store_t *s)
{
    const uint32_t t = s->tail;
    const uint32_t d = dsz(s);
    shdr_t h;
    walk_t w;
    int st;

    if (s->tail_seq == s->head_seq) return FK_STORE_ENOSPC;
    int rc = read_shdr(s, t, &h);
    if (rc != FK_STORE_OK) return rc;
    if (!h.used) return FK_STORE_ECORRUPT;

    uint64_t live = 0;
    walk_start(&w, t, h.first);
    while ((st = walk_next(s, &w)) == WALK_REC) {
        if (is_live(s, &w.r, t * s->sector_size + w.off)) live += footprint(w.r.len);
    }
    if (st < 0) return st;
    if (live > free_bytes(s)) return FK_STORE_ENOSPC;

    uint32_t k = 1;
    while (s->tail_seq + k < s->head_seq) {
        shdr_t nh;
        rc = read_shdr(s, (t + k) % s->nsect, &nh);
        if (rc != FK_STORE_OK) return rc;
        if (!nh.used || nh.first != FIRST_NONE) break;
        k++;
    }

    walk_start(&w, t, h.first);
    while ((st = walk_next(s, &w)) == WALK_REC) {
        const uint32_t addr = t * s->sector_size + w.off;
        if (!is_live(s, &w.r, addr)) continue;
        rc = copy_record(s, addr, &w.r);
        if (rc != FK_STORE_OK) return rc;
        /* The part of the old copy in sectors that stay in the log. */
        const uint32_t ps = (w.off - SH_SIZE) + RH_SIZE;
        const uint32_t pe = ps + w.r.len;
        const uint32_t keep_from = k * d;
        if (pe > keep_from) {
            const uint32_t from = ps > keep_from ? ps : keep_from;
            spos_t base = {t, SH_SIZE};
            rc = st_zero(s, sp_advance(s, base, from), pe - from);
            if (rc != FK_STORE_OK) return rc;
        }
    }
    if (st < 0) return st;

    for (uint32_t i = 0; i < k; i++) {
        rc = retire(s, s->tail);
        if (rc != FK_STORE_OK) return rc;
        s->tail = ring_next(s, s->tail);
        s->tail_seq++;
    }
    for (uint32_t i = 0; i < k; i++) {
        rc = erase_sector(s, (t + i) % s->nsect);
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
 * (-1: a new id). The write must be able to reach its room by garbage
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

/* ---------------------------------------------------------------------------
 * Mount, recovery and format.
 * ------------------------------------------------------------------------- */

/* Check the geometry and reset *s to an unmounted store on the region. */
static int setup(fk_store_t *s, uint32_t base, uint32_t size)
{
    fk_flash_geometry_t geo;
    memset(s, 0, sizeof *s);
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
    s->txn_open = false;
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

/* What the scan of the log found. */
typedef struct scan {
    uint32_t pending;   /* records whose destruction must be completed */
    bool wipe;          /* a format was interrupted */
    bool have_last;     /* the log holds at least one record header */
    bool last_torn;     /* the last one is unfinished (not committed, not dead) */
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

/* Replay the log from tail to head into the index (newest version wins).
 * Writes nothing. FK_STORE_ECORRUPT if the region cannot be a store. */
static int scan_log(fk_store_t *s, scan_t *sc)
{
    const uint32_t n = log_sectors(s);
    memset(sc, 0, sizeof *sc);
    s->n_entries = 0;
    for (uint32_t r = 0; r < n; r++) {
        const uint32_t sect = (s->tail + r) % s->nsect;
        shdr_t h;
        walk_t w;
        int st, rc = read_shdr(s, sect, &h);
        if (rc != FK_STORE_OK) return rc;
        walk_start(&w, sect, h.first);
        while ((st = walk_next(s, &w)) == WALK_REC) {
            const uint32_t addr = sect * s->sector_size + w.off;
            const bool usable = w.r.committed && fits_log(s, r, w.off, w.r.len, n);
            sc->have_last = true;
            sc->last_addr = addr;
            sc->last_torn = !w.r.dead && !usable;
            if (w.r.dead) continue;
            if (!usable) {
                sc->pending++;
                continue;
            }
            int i = idx_find(s, w.r.id);
            switch (w.r.type) {
            case REC_DATA:
                if (i >= 0) sc->pending++;
                if (idx_set(s, w.r.id, addr, w.r.len) != FK_STORE_OK) return FK_STORE_ECORRUPT;
                break;
            case REC_DELETE:
                if (i >= 0) {
                    idx_remove(s, (size_t)i);
                    sc->pending++;
                }
                break;
            default: /* REC_WIPE */
                s->n_entries = 0;
                sc->wipe = true;
                break;
            }
        }
        if (st < 0) return st;
        if (r == n - 1u) {
            sc->end = st;
            sc->end_off = w.off;
        }
    }
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
            idx_remove(s, i);
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

/* Finish what a cut interrupted: destroy superseded and deleted versions,
 * and the unfinished last record (its payload only up to the head). */
static int finish_kills(fk_store_t *s, const scan_t *sc)
{
    const uint32_t n = log_sectors(s);
    const uint32_t d = dsz(s);
    const uint64_t head_rel = (uint64_t)(n - 1u) * d + (s->head_off - SH_SIZE);
    for (uint32_t r = 0; r < n; r++) {
        const uint32_t sect = (s->tail + r) % s->nsect;
        shdr_t h;
        walk_t w;
        int st, rc = read_shdr(s, sect, &h);
        if (rc != FK_STORE_OK) return rc;
        walk_start(&w, sect, h.first);
        while ((st = walk_next(s, &w)) == WALK_REC) {
            const uint32_t addr = sect * s->sector_size + w.off;
            if (w.r.dead) continue;
            if (w.r.committed && fits_log(s, r, w.off, w.r.len, n)) {
                if (w.r.type == REC_DATA && !is_live(s, &w.r, addr)) rc = kill(s, addr, w.r.len);
            } else if (sc->last_torn && addr == sc->last_addr) {
                const uint64_t ps = (uint64_t)r * d + (w.off - SH_SIZE) + RH_SIZE;
                uint64_t z = ps < head_rel ? head_rel - ps : 0u;
                if (z > w.r.len) z = w.r.len;
                rc = kill(s, addr, (uint32_t)z);
            } else {
                rc = kill(s, addr, 0);
            }
            if (rc != FK_STORE_OK) return rc;
        }
        if (st < 0) return st;
    }
    return FK_STORE_OK;
}

/* Rebuild the index from the log found by mount and complete or roll back
 * whatever a power cut interrupted. Writes only after the scan succeeded. */
static int recover(fk_store_t *s)
{
    scan_t sc;
    int rc = scan_log(s, &sc);
    if (rc != FK_STORE_OK) return rc;
    if (sc.wipe) return wipe_region(s, s->head);

    const uint32_t torn_rank = ring_rank(s, sp_of_addr(s, sc.last_addr).sect);
    if (sc.have_last && sc.last_torn && torn_rank < log_sectors(s) - 1u) {
        rc = unopen(s, torn_rank, &sc);
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
        if (h.erases > s->erase_max) s->erase_max = h.erases;
        if (h.used && (!any_used || h.seq > best_seq)) {
            any_used = true;
            best = i;
            best_seq = h.seq;
        }
    }
    if (!any_ours) return format_blank(s);
    if (!any_used) return wipe_region(s, s->nsect - 1u);

    /* The log: back from the newest sector while the sequence descends. */
    s->head = s->tail = best;
    s->head_seq = s->tail_seq = best_seq;
    while (log_sectors(s) < s->nsect && s->tail_seq > 0u) {
        shdr_t h;
        const uint32_t p = ring_prev(s, s->tail);
        rc = read_shdr(s, p, &h);
        if (rc != FK_STORE_OK) return rc;
        if (!h.used || h.seq != s->tail_seq - 1u) break;
        s->tail = p;
        s->tail_seq--;
    }
    return recover(s);
}

int fk_store_format(fk_store_t *s, uint32_t base, uint32_t size)
{
    if (s == NULL) return FK_STORE_EINVAL;
    if (s->mounted && s->base == base && s->size == size) {
        if (s->txn_open) return FK_STORE_EBUSY;
        /* A wipe marker first: a cut during the erases below then still
         * ends in an empty store (mount finishes the wipe). */
        if (free_bytes(s) >= RH_SIZE) {
            uint32_t addr;
            int rc = rec_begin(s, REC_WIPE, FK_STORE_ID_INVALID, 0, &addr);
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

int fk_store_size(const fk_store_t *s, uint16_t id, uint32_t *size)
{
    if (s == NULL || size == NULL || !s->mounted) return FK_STORE_EINVAL;
    int i = idx_find(s, id);
    if (i < 0) return FK_STORE_ENOENT;
    *size = s->entries[i].len;
    return FK_STORE_OK;
}

int fk_store_read(const fk_store_t *s, uint16_t id, uint32_t offset, void *buf, size_t len)
{
    if (s == NULL || !s->mounted || (buf == NULL && len > 0u)) return FK_STORE_EINVAL;
    int i = idx_find(s, id);
    if (i < 0) return FK_STORE_ENOENT;
    const fk_store_entry_t *e = &s->entries[i];
    if (offset > e->len || len > e->len - offset) return FK_STORE_EINVAL;

    rec_t r;
    spos_t p = sp_of_addr(s, e->addr);
    int rc = read_rec(s, p, &r);
    if (rc != FK_STORE_OK) return rc;
    if (!r.valid || !r.committed || r.dead || r.type != REC_DATA || r.id != id || r.len != e->len)
        return FK_STORE_ECORRUPT;

    uint8_t chunk[CHUNK];
    uint8_t *out = (uint8_t *)buf;
    const uint32_t want_end = offset + (uint32_t)len;
    uint32_t crc = 0;
    p = sp_advance(s, p, RH_SIZE);
    for (uint32_t pos = 0; pos < e->len;) {
        uint32_t n = e->len - pos < CHUNK ? e->len - pos : CHUNK;
        rc = st_read(s, p, chunk, n);
        if (rc != FK_STORE_OK) break;
        crc = fk_crc32(crc, chunk, n);
        const uint32_t lo = pos > offset ? pos : offset;
        const uint32_t hi = pos + n < want_end ? pos + n : want_end;
        if (lo < hi) memcpy(out + (lo - offset), chunk + (lo - pos), hi - lo);
        p = sp_advance(s, p, n);
        pos += n;
    }
    fk_wipe(chunk, sizeof chunk);
    if (rc == FK_STORE_OK && crc != r.pcrc) rc = FK_STORE_ECORRUPT;
    if (rc != FK_STORE_OK && len > 0u) fk_wipe(buf, len);
    return rc;
}

int fk_store_next(const fk_store_t *s, int32_t after, uint16_t *id)
{
    if (s == NULL || id == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (after >= (int32_t)FK_STORE_ID_INVALID) return FK_STORE_ENOENT;
    const uint32_t from = after < 0 ? 0u : (uint32_t)after + 1u;
    size_t i = idx_lower(s, from);
    if (i >= s->n_entries) return FK_STORE_ENOENT;
    *id = s->entries[i].id;
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

/* The new version of id at addr is committed: index it, then destroy the
 * version it replaces. */
static int publish(fk_store_t *s, uint16_t id, uint32_t addr, uint32_t len)
{
    int i = idx_find(s, id);
    bool had = i >= 0;
    uint32_t old_addr = 0, old_len = 0;
    if (had) {
        old_addr = s->entries[i].addr;
        old_len = s->entries[i].len;
        s->used -= footprint(old_len);
    }
    if (idx_set(s, id, addr, len) != FK_STORE_OK) return FK_STORE_EIO;
    s->used += footprint(len);
    return had ? kill(s, old_addr, old_len) : FK_STORE_OK;
}

int fk_store_begin(fk_store_t *s, fk_store_txn_t *t, uint16_t id, uint32_t total)
{
    if (s == NULL || t == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (id == FK_STORE_ID_INVALID || total > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    const int old = idx_find(s, id);
    if (old < 0 && s->n_entries >= FK_STORE_MAX_IDS) return FK_STORE_ENOSPC;
    const uint32_t f = footprint(total);
    if (!admit(s, old, f, true)) return FK_STORE_ENOSPC;
    int rc = make_room(s, f);
    if (rc == FK_STORE_ENOSPC) return rc;
    uint32_t addr = 0;
    if (rc == FK_STORE_OK) rc = rec_begin(s, REC_DATA, id, total, &addr);
    if (rc != FK_STORE_OK) return broken(s, rc);
    t->id = id;
    t->addr = addr;
    t->total = total;
    t->written = 0;
    t->crc = 0;
    s->txn_open = true;
    s->txn_addr = addr;
    return FK_STORE_OK;
}

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
    return FK_STORE_OK;
}

int fk_store_commit(fk_store_t *s, fk_store_txn_t *t)
{
    if (!txn_ok(s, t) || t->written != t->total) return FK_STORE_EINVAL;
    rec_finish(s);
    int rc = rec_commit(s, t->addr, REC_DATA, t->id, t->total, t->crc);
    s->txn_open = false;
    if (rc == FK_STORE_OK) rc = publish(s, t->id, t->addr, t->total);
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}

void fk_store_abort(fk_store_t *s, fk_store_txn_t *t)
{
    if (!txn_ok(s, t)) return;
    int rc = kill(s, t->addr, t->written);
    /* The rest of the reserved space stays unused. */
    if (s->head_off + s->wr_left <= s->sector_size)
        s->head_off += s->wr_left;
    else
        s->head_off = s->sector_size;
    s->wr_left = 0;
    s->txn_open = false;
    t->written = 0;
    t->crc = 0;
    if (rc != FK_STORE_OK) (void)broken(s, rc);
}

int fk_store_write(fk_store_t *s, uint16_t id, const void *data, size_t len)
{
    fk_store_txn_t t;
    if (len > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    if (data == NULL && len > 0u) return FK_STORE_EINVAL;
    int rc = fk_store_begin(s, &t, id, (uint32_t)len);
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

int fk_store_patch(fk_store_t *s, uint16_t id, uint32_t offset, const void *data, size_t len,
                   bool truncate)
{
    if (s == NULL || !s->mounted || (data == NULL && len > 0u)) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (id == FK_STORE_ID_INVALID || len > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    int i = idx_find(s, id);
    const uint32_t old_len = i >= 0 ? s->entries[i].len : 0u;
    if (offset > old_len) return FK_STORE_EINVAL;
    const uint32_t end = offset + (uint32_t)len;
    if (end > FK_STORE_MAX_RECORD) return FK_STORE_EINVAL;
    const uint32_t new_len = truncate ? end : (end > old_len ? end : old_len);
    if (i >= 0) {
        /* Never carry damaged bytes into a record with a fresh checksum. */
        int rc = fk_store_read(s, id, 0, NULL, 0);
        if (rc != FK_STORE_OK) return rc;
    }
    fk_store_txn_t t;
    int rc = fk_store_begin(s, &t, id, new_len);
    if (rc != FK_STORE_OK) return rc;
    uint32_t src = 0;
    i = idx_find(s, id); /* garbage collection may have moved it */
    if (i >= 0) src = s->entries[i].addr;
    if (i >= 0) rc = copy_payload(s, &t, src, 0, offset);
    if (rc == FK_STORE_OK) rc = fk_store_append(s, &t, data, len);
    if (rc == FK_STORE_OK && i >= 0 && !truncate && end < old_len)
        rc = copy_payload(s, &t, src, end, old_len - end);
    if (rc != FK_STORE_OK) {
        fk_store_abort(s, &t);
        return rc;
    }
    return fk_store_commit(s, &t);
}

int fk_store_delete(fk_store_t *s, uint16_t id)
{
    if (s == NULL || !s->mounted) return FK_STORE_EINVAL;
    if (s->txn_open) return FK_STORE_EBUSY;
    if (id == FK_STORE_ID_INVALID) return FK_STORE_EINVAL;
    if (idx_find(s, id) < 0) return FK_STORE_ENOENT;
    if (seq_exhausted(s)) return FK_STORE_ENOSPC;
    int rc = make_room(s, RH_SIZE);
    /* A delete only frees space: let it through whenever its marker fits. */
    if (rc == FK_STORE_ENOSPC && free_bytes(s) >= RH_SIZE) rc = FK_STORE_OK;
    if (rc == FK_STORE_ENOSPC) return rc;
    uint32_t addr;
    if (rc == FK_STORE_OK) rc = rec_begin(s, REC_DELETE, id, 0, &addr);
    if (rc != FK_STORE_OK) return broken(s, rc);
    rec_finish(s);
    const int i = idx_find(s, id);
    const uint32_t old_addr = s->entries[i].addr, old_len = s->entries[i].len;
    s->used -= footprint(old_len);
    idx_remove(s, (size_t)i);
    rc = kill(s, old_addr, old_len);
    return rc == FK_STORE_OK ? rc : broken(s, rc);
}
