/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootrom.c - the RP2350 bootrom's flash-boot decision over the OTP model
 * (docs/boot.md; spec rp2350-otp-and-boot.md section 7, A2 bootrom).
 *
 * One boot pass is eval(): read the chip state, walk the block loop, parse
 * every executable IMAGE_DEF with the OTP-bound checks (fingerprint, rollback
 * floor, ROLLBACK_REQUIRED, hash coverage), choose one, verify it, and
 * compute the burn it needs. Both entry points loop over passes: predict
 * applies its planned burns to an overlay of the rows it reads, run writes
 * them to the OTP and resets the OTP before the next pass.
 *
 * IMPLEMENTATION NOTE: reads. The OTP is read only through the model's
 * secure alias functions (const), exactly as the bootrom reads the rows:
 * guarded raw for the voted rows, guarded ECC for the fingerprints, and an
 * unguarded raw read (all ones when refused) to test a thermometer row. A
 * guarded read that faults ends the boot with FK_BOOT_FAULT.
 */
#include "bootrom.h"

#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "otp_map.h"
#include "picobin.h"
#include "util.h"

#define ALL_ONES 0xFFFFFFFFu
#define ROW_BITS_MASK ((1u << FK_OTP_ROW_BITS) - 1u)
#define THERMO_TOP_BIT 23u
#define RR_BIT 11u
#define OVERLAY_MAX (FK_OTP_RBIT3_COPIES * FK_BOOT_MAX_BURNS)
#define EC_POINT_UNCOMPRESSED 0x04u
#define NO_SLOT (-1)
#define WORD_BYTES FK_PICOBIN_WORD_BYTES

/* Burns predicted so far: rows read through the overlay see them. */
typedef struct overlay {
    uint16_t row[OVERLAY_MAX];
    uint32_t bits[OVERLAY_MAX];
    unsigned n;
} overlay_t;

typedef struct view {
    const fk_otp_t *otp; /* NULL: the ideal chip of fk_boot_inspect */
    const overlay_t *ov; /* predicted burns, or NULL */
} view_t;

/* One executable IMAGE_DEF with the results of the OTP-bound checks. */
typedef struct cand {
    fk_picobin_block_t blk;
    fk_picobin_def_t def;
    bool rejected;
    fk_boot_err_t why;
    int key_slot;
    bool has_rv;
    unsigned floor;      /* over its rows ... */
    bool floor_known;    /* ... when the secure rollback check read them */
    bool pend;           /* a thermometer bit to burn */
    uint16_t pend_row;
    uint8_t pend_bit;
    bool pend_reboot;
} cand_t;

/* The outcome of one boot pass. */
typedef struct pass {
    fk_boot_verdict_t verdict;
    fk_boot_err_t reason, cause;
    int otp_rc;
    uint16_t otp_row;
    bool secure, rr;
    unsigned default_floor;
    bool has;
    cand_t chosen;
    bool arch_switch;
} pass_t;

/* ---- Reading the OTP ------------------------------------------------------ */

static uint32_t ov_bits(const view_t *v, uint16_t row)
{
    uint32_t bits = 0;
    if (v->ov == NULL) return 0;
    for (unsigned i = 0; i < v->ov->n; i++)
        if (v->ov->row[i] == row) bits |= v->ov->bits[i];
    return bits;
}

static bool row_ok(uint32_t row) { return row < FK_OTP_MODEL_ROWS; }

/* Stop the pass with a fault at row. */
static bool fault(pass_t *p, fk_boot_err_t why, int rc, uint16_t row)
{
    p->verdict = FK_BOOT_FAULT;
    p->reason = why;
    p->otp_rc = rc;
    p->otp_row = row;
    return false;
}

/* Guarded secure raw read (false after a fault). */
static bool raw_guarded(const view_t *v, pass_t *p, uint16_t row, uint32_t *out)
{
    *out = 0;
    if (v->otp == NULL) return true;
    int rc = row_ok(row) ? fk_otp_alias_raw_guarded(v->otp, FK_OTP_SECURE, row, out)
                         : FK_OTP_EFAULT;
    if (rc != FK_OTP_OK) return fault(p, FK_BOOT_FOTP_READ, rc, row);
    *out |= ov_bits(v, row);
    return true;
}

/* Unguarded secure raw read: all ones when refused. */
static uint32_t raw_plain(const view_t *v, uint16_t row)
{
    if (v->otp == NULL) return 0;
    if (!row_ok(row)) return ALL_ONES;
    uint32_t r = fk_otp_alias_raw(v->otp, FK_OTP_SECURE, row);
    return r == ALL_ONES ? r : r | ov_bits(v, row);
}

/* Guarded secure ECC read (false after a fault, which tells an
 * uncorrectable row from a refused one). */
static bool ecc_guarded(const view_t *v, pass_t *p, uint16_t row, uint16_t *out)
{
    uint32_t raw;
    *out = 0;
    if (v->otp == NULL) return true;
    if (!row_ok(row)) return fault(p, FK_BOOT_FOTP_READ, FK_OTP_EFAULT, row);
    if (ov_bits(v, row) == 0u && fk_otp_alias_ecc_guarded(v->otp, FK_OTP_SECURE, row, out) == FK_OTP_OK)
        return true;
    if (fk_otp_alias_raw_guarded(v->otp, FK_OTP_SECURE, row, &raw) != FK_OTP_OK)
        return fault(p, FK_BOOT_FOTP_READ, FK_OTP_EFAULT, row);
    if (fk_otp_ecc_decode(raw | ov_bits(v, row), out) == FK_OTP_ECC_UNCORRECTABLE)
        return fault(p, FK_BOOT_FBOOTKEY_ECC, FK_OTP_EFAULT, row);
    return true;
}

/* RBIT-3 vote over guarded reads of row .. row + 2. */
static bool rbit3(const view_t *v, pass_t *p, uint16_t row, uint32_t *value)
{
    uint32_t c[FK_OTP_RBIT3_COPIES];
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++)
        if (!raw_guarded(v, p, (uint16_t)(row + i), &c[i])) return false;
    *value = fk_otp_rbit3(c) & ROW_BITS_MASK;
    return true;
}

/* RBIT-3 vote over unguarded reads (informational; unreadable = 0). */
static uint32_t rbit3_plain(const view_t *v, uint16_t row)
{
    uint32_t c[FK_OTP_RBIT3_COPIES];
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        c[i] = raw_plain(v, (uint16_t)(row + i));
        if (c[i] == ALL_ONES) return 0;
    }
    return fk_otp_rbit3(c) & ROW_BITS_MASK;
}

/* ---- Keys ----------------------------------------------------------------- */

void fk_boot_fingerprint(const uint8_t pubkey[64], uint8_t fp[32])
{
    fk_sha256(pubkey, FK_PICOBIN_KEY_LEN, fp);
}

void fk_boot_bootkey_rows(const uint8_t fp[32], uint16_t rows[16])
{
    for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS; i++)
        rows[i] = (uint16_t)(fp[2u * i] | (fp[2u * i + 1u] << 8));
}

/* The 64 key bytes of a SIGNATURE item. */
static const uint8_t *sig_key_bytes(const fk_image_t *img, const cand_t *c)
{
    return img->data + c->blk.offset + WORD_BYTES * c->def.sig_key;
}

/* The bootrom's fingerprint check: the first valid slot whose 16 rows
 * (all read, guarded) equal the key's fingerprint. False after a fault. */
static bool key_match(const view_t *v, pass_t *p, const uint8_t *key, int *slot)
{
    uint8_t fp[FK_SHA256_LEN];
    uint16_t want[FK_OTP_BOOTKEY_ROWS];
    uint32_t flags1;

    *slot = NO_SLOT;
    if (v->otp == NULL) {
        *slot = 0;
        return true;
    }
    fk_boot_fingerprint(key, fp);
    fk_boot_bootkey_rows(fp, want);
    if (!rbit3(v, p, FK_OTP_ROW_BOOT_FLAGS1, &flags1)) return false;
    const unsigned valid = fk_otp_valid_key_slots(flags1);
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        if (!(valid & (1u << k))) continue;
        bool match = true;
        for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS; i++) {
            uint16_t got;
            if (!ecc_guarded(v, p, (uint16_t)(FK_OTP_ROW_BOOTKEY(k) + i), &got)) return false;
            match = match && got == want[i];
        }
        if (match) {
            *slot = (int)k;
            return true;
        }
    }
    return true;
}

/* Why a key matched no valid slot (the model's explanation; the bootrom
 * only knows "no match"). Unguarded reads, no faults. */
static fk_boot_err_t key_diagnosis(const view_t *v, const uint8_t *key)
{
    uint8_t fp[FK_SHA256_LEN];
    uint16_t want[FK_OTP_BOOTKEY_ROWS];

    if (v->otp == NULL) return FK_BOOT_RKEY_UNKNOWN;
    fk_boot_fingerprint(key, fp);
    fk_boot_bootkey_rows(fp, want);
    const uint32_t flags1 = rbit3_plain(v, FK_OTP_ROW_BOOT_FLAGS1);
    for (unsigned k = 0; k < FK_OTP_BOOTKEY_SLOTS; k++) {
        bool match = true;
        for (unsigned i = 0; i < FK_OTP_BOOTKEY_ROWS && match; i++)
            match = fk_otp_alias_ecc(v->otp, FK_OTP_SECURE,
                                     (uint16_t)(FK_OTP_ROW_BOOTKEY(k) + i)) == want[i];
        if (!match) continue;
        if (flags1 & (1u << (FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT + k))) return FK_BOOT_RKEY_REVOKED;
        if (!(flags1 & (1u << k))) return FK_BOOT_RKEY_NOT_VALID;
    }
    if (fk_otp_valid_key_slots(flags1) == 0u) return FK_BOOT_RNO_VALID_KEY;
    return FK_BOOT_RKEY_UNKNOWN;
}

/* ---- Parsing with the OTP ------------------------------------------------- */

static unsigned highest_bit_plus_one(uint32_t v)
{
    unsigned n = 0;
    while (v != 0u) {
        n++;
        v >>= 1;
    }
    return n;
}

static void cand_reject(cand_t *c, fk_boot_err_t why)
{
    c->rejected = true;
    c->why = why;
}

/* The secure-mode rollback check of a VERSION item (spec 7.3). */
static bool version_check(const view_t *v, pass_t *p, const fk_image_t *img, cand_t *c)
{
    const unsigned rows = c->def.rows;
    const unsigned rv = c->def.rollback;
    unsigned floor = 0;

    c->pend = false;
    for (unsigned idx = rows; idx-- > 0u;) {
        const uint16_t r = fk_picobin_version_row(img->data, &c->blk, &c->def, idx);
        if (!row_ok((uint32_t)r + 2u) ||
            (int32_t)(raw_plain(v, r) | raw_plain(v, (uint16_t)(r + 2u))) < 0) {
            cand_reject(c, FK_BOOT_RTHERMO_UNREADABLE);
            return true;
        }
        uint32_t bits;
        if (!rbit3(v, p, r, &bits)) return false;
        const unsigned ri24 = FK_PICOBIN_ROLLBACK_BITS_PER_ROW * idx;
        if (bits != 0u && floor == 0u) floor = ri24 + highest_bit_plus_one(bits);
        if (ri24 + FK_PICOBIN_ROLLBACK_BITS_PER_ROW < rv && !(bits & (1u << THERMO_TOP_BIT))) {
            c->pend = true; /* the lowest such row wins */
            c->pend_row = r;
            c->pend_bit = THERMO_TOP_BIT;
            c->pend_reboot = true;
        }
    }
    c->floor = floor;
    c->floor_known = true;
    if (rv < floor) {
        cand_reject(c, FK_BOOT_RBELOW_FLOOR);
        c->pend = false;
        return true;
    }
    if (!c->pend && rv > floor) {
        const unsigned bit = rv - 1u;
        c->pend = true;
        c->pend_row = fk_picobin_version_row(img->data, &c->blk, &c->def,
                                             bit / FK_PICOBIN_ROLLBACK_BITS_PER_ROW);
        c->pend_bit = (uint8_t)(bit % FK_PICOBIN_ROLLBACK_BITS_PER_ROW);
        c->pend_reboot = false;
    }
    return true;
}

/* The OTP-bound checks of one structurally valid IMAGE_DEF, in item order
 * as the bootrom meets them (false after a fault). */
static bool otp_checks(const view_t *v, pass_t *p, const fk_image_t *img, cand_t *c)
{
    const bool sig_first = c->def.sig_key != 0u && c->def.sig_key < c->def.version;
    const bool versioned = c->def.has_version && c->def.rows != 0u;

    c->has_rv = versioned && c->def.rollback != 0u;
    if (sig_first && !key_match(v, p, sig_key_bytes(img, c), &c->key_slot)) return false;
    if (versioned && p->secure) {
        if (!version_check(v, p, img, c)) return false;
        if (c->rejected) return true;
    }
    if (!sig_first && c->def.sig_key != 0u && !key_match(v, p, sig_key_bytes(img, c), &c->key_slot))
        return false;
    if (!c->has_rv && p->rr) cand_reject(c, FK_BOOT_RROLLBACK_REQUIRED);
    else if (c->key_slot != NO_SLOT && c->def.hash_words < c->def.sig_needed)
        cand_reject(c, FK_BOOT_RNOT_ALL_SIGNED);
    return true;
}

static unsigned cand_cpu(const cand_t *c)
{
    return (c->def.flags & FK_IMAGE_TYPE_CPU_MASK) >> FK_IMAGE_TYPE_CPU_SHIFT;
}

/* Parse block blk into a fresh candidate c: true when it is an executable
 * IMAGE_DEF (c then carries the parse's own rejection, if any). */
static bool cand_load(const fk_image_t *img, const fk_picobin_block_t *blk, cand_t *c)
{
    memset(c, 0, sizeof(*c));
    c->blk = *blk;
    c->key_slot = NO_SLOT;
    fk_picobin_parse(img->data, &c->blk, &c->def);
    if (!c->def.image_def || (c->def.flags & FK_IMAGE_TYPE_TYPE_MASK) != FK_IMAGE_TYPE_EXE)
        return false;
    c->rejected = c->def.rejected;
    c->why = c->def.why;
    return true;
}

/* Scan the loop and choose an IMAGE_DEF (docs/boot.md). False after a fault or
 * a broken loop (p->verdict / p->reason set). */
static bool choose(const view_t *v, pass_t *p, const fk_image_t *img, fk_otp_stepping_t stepping,
                   unsigned boot_cpu, fk_picobin_loop_t *loop)
{
    cand_t c;
    bool e13 = false;

    fk_boot_err_t err = fk_picobin_walk(img->data, img->len, img->base, loop);
    if (err != FK_BOOT_OK) {
        p->verdict = FK_BOOT_REFUSED;
        p->reason = err;
        return false;
    }
    for (unsigned n = 0; n < loop->count; n++) {
        if (!cand_load(img, &loop->blocks[n], &c)) continue;
        if (!c.rejected && !otp_checks(v, p, img, &c)) return false;

        if (p->has) {
            const cand_t *ch = &p->chosen;
            if (ch->rejected && stepping == FK_OTP_STEPPING_A2) {
                e13 = e13 || !c.rejected;
                continue;
            }
            if (!ch->rejected) {
                if (p->secure && ch->key_slot != NO_SLOT && c.key_slot == NO_SLOT) continue;
                if (cand_cpu(&c) != boot_cpu && cand_cpu(ch) == boot_cpu) continue;
            }
        }
        p->chosen = c;
        p->has = true;
    }
    if (!p->has) {
        p->verdict = FK_BOOT_REFUSED;
        p->reason = FK_BOOT_ENO_IMAGE_DEF;
        return false;
    }
    if (p->chosen.rejected) {
        p->verdict = FK_BOOT_REFUSED;
        p->reason = e13 ? FK_BOOT_RE13 : p->chosen.why;
        p->cause = e13 ? p->chosen.why : FK_BOOT_OK;
        return false;
    }
    return true;
}

/* ECDSA secp256k1 over hash with the item's key and signature. */
static bool signature_ok(const uint8_t *key, const uint8_t *sig, const uint8_t hash[32])
{
    uint8_t point[1u + FK_PICOBIN_KEY_LEN];
    point[0] = EC_POINT_UNCOMPRESSED;
    memcpy(point + 1, key, FK_PICOBIN_KEY_LEN);
    fk_pk_public_t pub = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256K1};
    pub.point.p = point;
    pub.point.len = sizeof(point);
    return fk_pk_ecdsa_verify(&pub, hash, FK_PICOBIN_HASH_LEN, FK_SIG_PLAIN, sig,
                              FK_PICOBIN_SIG_LEN) == FK_CRYPTO_OK;
}

/* Verify the chosen block (spec 7.4); FK_BOOT_OK or why not. */
static fk_boot_err_t verify(const view_t *v, const pass_t *p, const fk_image_t *img)
{
    const cand_t *c = &p->chosen;
    uint8_t hash[FK_PICOBIN_HASH_LEN];
    fk_boot_err_t rc;

    if (p->secure) {
        if (!c->def.has_sig_item) return FK_BOOT_RUNSIGNED;
        if (c->def.sig_key == 0u) return FK_BOOT_RSIG_TYPE;
        if (c->key_slot == NO_SLOT) return key_diagnosis(v, sig_key_bytes(img, c));
        rc = fk_picobin_hash(img->data, img->len, img->base, &c->blk, &c->def, hash);
        if (rc != FK_BOOT_OK) return rc;
        const uint8_t *key = sig_key_bytes(img, c);
        /* The signature words follow the key words in the item. */
        return signature_ok(key, key + FK_PICOBIN_KEY_LEN, hash) ? FK_BOOT_OK
                                                                 : FK_BOOT_RSIG_INVALID;
    }
    if (c->def.hash_value == 0u) return FK_BOOT_OK;
    rc = fk_picobin_hash(img->data, img->len, img->base, &c->blk, &c->def, hash);
    if (rc != FK_BOOT_OK) return rc;
    const uint8_t *want = img->data + c->blk.offset + WORD_BYTES * c->def.hash_value;
    return memcmp(want, hash, WORD_BYTES * c->def.hash_value_words) == 0 ? FK_BOOT_OK : FK_BOOT_RHASH_VALUE;
}

/* One boot pass. */
static void eval(const view_t *v, const fk_image_t *img, fk_otp_stepping_t stepping, pass_t *p)
{
    fk_picobin_loop_t loop;
    uint32_t crit1 = 0, flags0 = 0;

    memset(p, 0, sizeof(*p));
    p->verdict = FK_BOOT_REFUSED;
    if (v->otp == NULL) {
        p->secure = true;
    } else {
        uint32_t c[FK_OTP_CRIT_COPIES];
        for (unsigned i = 0; i < FK_OTP_CRIT_COPIES; i++)
            if (!raw_guarded(v, p, (uint16_t)(FK_OTP_ROW_CRIT1 + i), &c[i])) return;
        crit1 = fk_otp_rbit8(c);
        if (!rbit3(v, p, FK_OTP_ROW_BOOT_FLAGS0, &flags0)) return;
        p->secure = (crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) != 0u;
        p->rr = (flags0 & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED) != 0u;
    }
    p->default_floor = fk_otp_rollback_floor(rbit3_plain(v, FK_OTP_ROW_BOOT_VERSION0),
                                             rbit3_plain(v, FK_OTP_ROW_BOOT_VERSION1));
    const unsigned boot_cpu = (!p->secure && (crit1 & FK_OTP_CRIT1_BOOT_ARCH))
                                  ? FK_IMAGE_TYPE_CPU_RISCV
                                  : FK_IMAGE_TYPE_CPU_ARM;
    if (!choose(v, p, img, stepping, boot_cpu, &loop)) return;

    fk_boot_err_t rc = verify(v, p, img);
    if (rc != FK_BOOT_OK) {
        p->reason = rc;
        return;
    }
    const uint16_t flags = p->chosen.def.flags;
    const unsigned security = (flags & FK_IMAGE_TYPE_SECURITY_MASK) >> FK_IMAGE_TYPE_SECURITY_SHIFT;
    if (cand_cpu(&p->chosen) == FK_IMAGE_TYPE_CPU_ARM && security == FK_IMAGE_TYPE_SECURITY_NS) {
        p->reason = FK_BOOT_RNONSECURE;
        return;
    }
    if (cand_cpu(&p->chosen) != boot_cpu) {
        if (p->secure) {
            p->reason = FK_BOOT_RWRONG_CPU;
            return;
        }
        p->arch_switch = true;
    }
    p->verdict = FK_BOOT_LAUNCH;
    p->reason = FK_BOOT_OK;
}

/* ---- Burns ---------------------------------------------------------------- */

/* What a secure raw read-or-write-then-write of row .. row + 2 would return
 * under the current page locks; the burn goes into the overlay. */
static int burn_predict(const fk_otp_t *otp, overlay_t *ov, const view_t *v, uint16_t row,
                        uint8_t bit, bool *changes)
{
    *changes = false;
    if (!row_ok((uint32_t)row + 2u)) return FK_OTP_EINVALID_ARG;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++)
        if (!(raw_plain(v, (uint16_t)(row + i)) & (1u << bit))) *changes = true;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        const unsigned level = fk_otp_level(otp, FK_OTP_SECURE, FK_OTP_PAGE_OF(row + i));
        if (level != FK_OTP_LOCK_RW) return FK_OTP_ENOT_PERMITTED;
    }
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        if (ov->n < OVERLAY_MAX) {
            ov->row[ov->n] = (uint16_t)(row + i);
            ov->bits[ov->n] = 1u << bit;
            ov->n++;
        }
    }
    return FK_OTP_OK;
}

/* The bootrom's RBIT-3 update: read the three rows, OR the bit into each,
 * write all three (secure otp_access, so a torn write stays torn). */
static int burn_run(fk_otp_t *otp, uint16_t row, uint8_t bit, bool *changes)
{
    uint32_t cur[FK_OTP_RBIT3_COPIES];
    *changes = false;
    if (!row_ok((uint32_t)row + 2u)) return FK_OTP_EINVALID_ARG;
    int rc = fk_otp_read_raw(otp, FK_OTP_SECURE, row, cur, FK_OTP_RBIT3_COPIES);
    if (rc != FK_OTP_OK) return rc;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        if (!(cur[i] & (1u << bit))) *changes = true;
        cur[i] |= 1u << bit;
    }
    return fk_otp_write_raw(otp, FK_OTP_SECURE, row, cur, FK_OTP_RBIT3_COPIES);
}

/* Burn (run) or plan (predict) one RBIT-3 bit and record it; false when it
 * failed (the result is then ABORTED). */
static bool burn(fk_otp_t *wotp, const fk_otp_t *otp, overlay_t *ov, const view_t *v,
                 fk_boot_result_t *res, uint16_t row, uint8_t bit, bool rr)
{
    bool changes;
    const int rc = wotp != NULL ? burn_run(wotp, row, bit, &changes)
                                : burn_predict(otp, ov, v, row, bit, &changes);
    if (res->n_burns < FK_BOOT_MAX_BURNS) {
        fk_boot_burn_t *b = &res->burns[res->n_burns++];
        b->row = row;
        b->bit = bit;
        b->rollback_required = rr;
        b->changes = changes;
        b->rc = rc;
    }
    if (rc == FK_OTP_OK) return true;
    res->verdict = FK_BOOT_ABORTED;
    res->reason = FK_BOOT_ABURN;
    res->otp_rc = rc;
    res->otp_row = row;
    return false;
}

/* Copy what a pass found into the result. */
static void take_pass(fk_boot_result_t *res, const pass_t *p, bool first)
{
    res->verdict = p->verdict;
    res->reason = p->reason;
    res->cause = p->cause;
    res->otp_rc = p->otp_rc;
    res->otp_row = p->otp_row;
    res->arch_switch = p->arch_switch;
    if (first) {
        res->secure = p->secure;
        res->rollback_required = p->rr;
        res->floor = p->default_floor;
    }
    res->has_block = p->has;
    res->key_slot = NO_SLOT;
    if (!p->has) return;
    const cand_t *c = &p->chosen;
    res->block_addr = c->blk.addr;
    res->image_flags = c->def.flags;
    res->key_slot = c->key_slot;
    res->has_rollback = c->has_rv;
    res->rollback = c->has_rv ? c->def.rollback : 0u;
    res->tbyb = (c->def.flags & FK_IMAGE_TYPE_TBYB) != 0u;
    if (first && c->floor_known) res->floor = c->floor;
}

/* The boot passes of predict (wotp NULL) and run. */
static void boot(fk_otp_t *wotp, const fk_otp_t *otp, const fk_image_t *img, fk_boot_result_t *res)
{
    overlay_t ov;
    pass_t p;

    memset(res, 0, sizeof(*res));
    memset(&ov, 0, sizeof(ov));
    res->key_slot = NO_SLOT;
    if (otp == NULL || img == NULL || img->data == NULL) {
        res->verdict = FK_BOOT_REFUSED;
        res->reason = FK_BOOT_EARG;
        return;
    }
    const view_t v = {.otp = otp, .ov = wotp != NULL ? NULL : &ov};
    for (unsigned pass = 1; pass <= FK_BOOT_MAX_PASSES; pass++) {
        res->passes = pass;
        eval(&v, img, otp->stepping, &p);
        take_pass(res, &p, pass == 1u);
        res->floor_after = res->floor;
        if (p.verdict != FK_BOOT_LAUNCH) return;
        const cand_t *c = &p.chosen;
        if (!p.secure || !c->pend) {
            if (pass > 1u) res->floor_after = FK_MAX(res->floor, (unsigned)res->rollback);
            return;
        }
        if (res->tbyb) return; /* the burn waits for explicit_buy() */
        if (!burn(wotp, otp, &ov, &v, res, c->pend_row, c->pend_bit, false)) return;
        if (!burn(wotp, otp, &ov, &v, res, FK_OTP_ROW_BOOT_FLAGS0, RR_BIT, true)) return;
        if (!c->pend_reboot) {
            res->floor_after = c->def.rollback;
            return;
        }
        res->burns[res->n_burns - 1u].reboot_after = true;
        if (wotp != NULL) fk_otp_reset(wotp);
    }
    res->verdict = FK_BOOT_REFUSED;
    res->reason = FK_BOOT_EPASSES;
}

void fk_boot_predict(const fk_otp_t *otp, const fk_image_t *img, fk_boot_result_t *res)
{
    boot(NULL, otp, img, res);
}

void fk_boot_run(fk_otp_t *otp, const fk_image_t *img, fk_boot_result_t *res)
{
    boot(otp, otp, img, res);
}

/* ---- Inspection ----------------------------------------------------------- */

/* Fill info from one candidate. */
static void inspect_fill(const fk_image_t *img, const cand_t *c, fk_boot_info_t *info)
{
    const fk_picobin_def_t *d = &c->def;
    info->has_block = true;
    info->block_addr = c->blk.addr;
    info->block_words = (uint16_t)(c->blk.last + FK_PICOBIN_BLOCK_TAIL_WORDS);
    info->image_flags = d->flags;
    info->rejected = c->rejected ? c->why : FK_BOOT_OK;
    info->has_version = d->has_version;
    info->major = (uint16_t)(d->major_minor >> 16);
    info->minor = (uint16_t)d->major_minor;
    info->rows = d->rows;
    info->rollback = d->rollback;
    for (unsigned i = 0; i < d->rows && i < FK_BOOT_MAX_PASSES; i++)
        info->row[i] = fk_picobin_version_row(img->data, &c->blk, d, i);
    info->has_vector_table = d->has_vector_table;
    info->vector_table = d->vector_table;
    info->has_entry_point = d->has_entry_point;
    info->pc = d->pc;
    info->sp = d->sp;
    info->has_hash_def = d->has_hash_def;
    info->hash_words = d->hash_words;
    info->hash_ok = d->has_hash_def && fk_picobin_hash(img->data, img->len, img->base, &c->blk, d,
                                                       info->hash) == FK_BOOT_OK;
    if (d->hash_value != 0u) {
        info->has_hash_value = true;
        info->hash_value_ok = info->hash_ok &&
                              memcmp(img->data + c->blk.offset + WORD_BYTES * d->hash_value, info->hash,
                                     WORD_BYTES * d->hash_value_words) == 0;
    }
    if (d->sig_key != 0u) {
        const uint8_t *key = sig_key_bytes(img, c);
        info->is_signed = true;
        memcpy(info->pubkey, key, FK_PICOBIN_KEY_LEN);
        fk_boot_fingerprint(key, info->fingerprint);
        info->all_signed = d->hash_words >= d->sig_needed;
        info->sig_ok = info->hash_ok && info->all_signed &&
                       signature_ok(key, key + FK_PICOBIN_KEY_LEN, info->hash);
    }
}

/* Start an inspection: clear *info and *p (an ideal secure chip), walk the
 * block loop. False when there is nothing further to inspect. */
static bool inspect_start(const fk_image_t *img, fk_boot_info_t *info, pass_t *p,
                          fk_picobin_loop_t *loop)
{
    memset(info, 0, sizeof(*info));
    if (img == NULL || img->data == NULL) {
        info->loop = FK_BOOT_EARG;
        return false;
    }
    memset(p, 0, sizeof(*p));
    p->secure = true;
    info->loop = fk_picobin_walk(img->data, img->len, img->base, loop);
    info->blocks = loop->count;
    return info->loop == FK_BOOT_OK;
}

void fk_boot_inspect(const fk_image_t *img, fk_boot_info_t *info)
{
    const view_t ideal = {.otp = NULL, .ov = NULL};
    fk_picobin_loop_t loop;
    pass_t p;

    if (!inspect_start(img, info, &p, &loop)) return;
    (void)choose(&ideal, &p, img, FK_OTP_STEPPING_A3, FK_IMAGE_TYPE_CPU_ARM, &loop);
    if (p.has) inspect_fill(img, &p.chosen, info);
}

void fk_boot_inspect_at(const fk_image_t *img, uint32_t addr, fk_boot_info_t *info)
{
    const view_t ideal = {.otp = NULL, .ov = NULL};
    fk_picobin_loop_t loop;
    pass_t p;
    cand_t c;

    if (!inspect_start(img, info, &p, &loop)) return;
    for (unsigned n = 0; n < loop.count; n++) {
        if (loop.blocks[n].addr != addr) continue;
        if (!cand_load(img, &loop.blocks[n], &c)) return;
        if (!c.rejected) (void)otp_checks(&ideal, &p, img, &c);
        inspect_fill(img, &c, info);
        return;
    }
}

/* ---- Description ---------------------------------------------------------- */

static void describe_burns(fk_boot_text_t *t, const fk_boot_result_t *res, const char *verb)
{
    for (unsigned i = 0; i < res->n_burns; i++) {
        const fk_boot_burn_t *b = &res->burns[i];
        if (i == 0u) {
            fk_boot_text_str(t, " ");
            fk_boot_text_str(t, verb);
            fk_boot_text_str(t, " OTP row ");
        } else {
            fk_boot_text_str(t, res->burns[i - 1u].reboot_after ? "; reboots, then row " : ", row ");
        }
        fk_boot_text_hex(t, b->row, 3);
        fk_boot_text_str(t, " bit ");
        fk_boot_text_dec(t, b->bit);
        fk_boot_text_str(t, b->rollback_required ? " (ROLLBACK_REQUIRED" : " (thermometer");
        if (!b->changes) fk_boot_text_str(t, ", already set");
        if (b->rc != FK_OTP_OK) {
            fk_boot_text_str(t, ", fails: ");
            fk_boot_text_str(t, fk_otp_strerror(b->rc));
        }
        fk_boot_text_str(t, ")");
    }
    if (res->n_burns > 0u) fk_boot_text_str(t, ".");
}

size_t fk_boot_describe(const fk_boot_result_t *res, char *out, size_t cap)
{
    fk_boot_text_t t;
    fk_boot_text_init(&t, out, cap);

    switch (res->verdict) {
    case FK_BOOT_LAUNCH:
        fk_boot_text_str(&t, "boots the IMAGE_DEF at ");
        fk_boot_text_hex(&t, res->block_addr, 8);
        fk_boot_text_str(&t, res->secure ? " (secure boot, key slot " : " (secure boot off");
        if (res->secure) fk_boot_text_dec(&t, (uint32_t)res->key_slot);
        if (res->has_rollback) {
            fk_boot_text_str(&t, ", rollback version ");
            fk_boot_text_dec(&t, res->rollback);
        }
        fk_boot_text_str(&t, ").");
        if (res->arch_switch) fk_boot_text_str(&t, " The bootrom first switches architecture.");
        describe_burns(&t, res, "Burns");
        if (res->tbyb && res->secure && res->has_rollback && res->rollback > res->floor)
            fk_boot_text_str(&t, " The rollback burn waits until the image is bought (TBYB).");
        if (res->floor_after != res->floor) {
            fk_boot_text_str(&t, " Rollback floor ");
            fk_boot_text_dec(&t, res->floor);
            fk_boot_text_str(&t, " -> ");
            fk_boot_text_dec(&t, res->floor_after);
            fk_boot_text_str(&t, ".");
        }
        break;
    case FK_BOOT_REFUSED:
        fk_boot_text_str(&t, "refused (the bootrom falls through to BOOTSEL): ");
        fk_boot_text_str(&t, fk_boot_strerror(res->reason));
        if (res->reason == FK_BOOT_RBELOW_FLOOR) {
            fk_boot_text_str(&t, " (version ");
            fk_boot_text_dec(&t, res->rollback);
            fk_boot_text_str(&t, ", floor ");
            fk_boot_text_dec(&t, res->floor);
            fk_boot_text_str(&t, ")");
        }
        if (res->cause != FK_BOOT_OK) {
            fk_boot_text_str(&t, ". The earlier IMAGE_DEF was rejected because ");
            fk_boot_text_str(&t, fk_boot_strerror(res->cause));
        }
        fk_boot_text_str(&t, ".");
        break;
    case FK_BOOT_FAULT:
        fk_boot_text_str(&t, "boot fault: ");
        fk_boot_text_str(&t, fk_boot_strerror(res->reason));
        fk_boot_text_str(&t, " (row ");
        fk_boot_text_hex(&t, res->otp_row, 3);
        fk_boot_text_str(&t, ").");
        break;
    case FK_BOOT_ABORTED:
        fk_boot_text_str(&t, "launch aborted: ");
        fk_boot_text_str(&t, fk_boot_strerror(res->reason));
        fk_boot_text_str(&t, ".");
        describe_burns(&t, res, "Tried to burn");
        break;
    }
    return t.overflow ? cap : t.len;
}
