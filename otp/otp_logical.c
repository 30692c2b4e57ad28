/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_logical.c - the logical OTP interface of otp_logical.h, for the
 * RP2350 (over a row access, otp_rows.h, with the fuse map of otp_map.h)
 * and the ESP32-S3 (over esp32s3_efuse.h). The mapping of each operation
 * is docs/esp32s3.md.
 *
 * Each operation runs in three phases: read the state and refuse what is
 * out of order; preflight every row or fuse it will program (blank where it
 * must be blank, writable by this accessor); program, then read back.
 * Nothing is programmed before the preflight has passed, so a refused
 * operation changes nothing. (A write the chip fails half-way - power cut,
 * a worn fuse - cannot be undone on either chip; the read-back reports it.)
 */
#include "otp_logical.h"

#include <string.h>

#include "otp_ecc.h"
#include "otp_map.h"
#include "util.h"

#define BITS_PER_BYTE 8u
#define RP_SLOT_MASK ((1u << FK_OTP_BOOTKEY_SLOTS) - 1u)
#define RP_DEBUG_BITS                                                                              \
    (FK_OTP_CRIT1_DEBUG_DISABLE | FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE |                            \
     FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK)
#define RP_PAGE_LOCK_BOOT1 1u /* pages whose LOCK1 the secure-boot lock writes */
#define RP_PAGE_LOCK_BOOT2 2u

/* ESP32-S3: the two key blocks (KEY3 = BLOCK7, KEY4 = BLOCK8). */
#define ESP_KEY_MKEK 3u
#define ESP_KEY_DEVK 4u
#define ESP_BURN_MAX 16u /* most BLOCK0 bits one operation burns */

/* The order of secp256k1, big-endian. */
static const uint8_t k_secp256k1_n[FK_LOTP_KEY_BYTES] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
};

/* True when 0 < d < n, without a branch on the key's bytes. */
static bool devk_in_range(const uint8_t d[FK_LOTP_KEY_BYTES])
{
    unsigned borrow = 0;
    unsigned any = 0;
    for (size_t i = FK_LOTP_KEY_BYTES; i-- > 0;) {
        const unsigned diff = (unsigned)d[i] - k_secp256k1_n[i] - borrow;
        borrow = (diff >> BITS_PER_BYTE) & 1u;
        any |= d[i];
    }
    return (borrow & (unsigned)((any + 0xFFu) >> BITS_PER_BYTE)) != 0u;
}

static bool all_zero(const uint8_t *p, size_t len)
{
    uint8_t any = 0;
    for (size_t i = 0; i < len; i++) any |= p[i];
    return any == 0u;
}

static unsigned popcount32(uint32_t v)
{
    unsigned n = 0;
    for (; v != 0u; v &= v - 1u) n++;
    return n;
}

/* ==== RP2350 ================================================================ */

/* A row-access result as a logical one. Rows and pages of the fuse map are
 * never out of range, so anything but a refusal is the chip failing. */
static int rp_err(int rc)
{
    switch (rc) {
    case FK_OTP_ROWS_OK:
        return FK_LOTP_OK;
    case FK_OTP_ROWS_EPERM:
        return FK_LOTP_EPERM;
    default:
        return FK_LOTP_EIO;
    }
}

static int rp_read_raw(const fk_lotp_t *c, unsigned row, uint32_t *out, size_t count)
{
    const fk_otp_rows_t *r = &c->u.rp2350;
    return rp_err(r->ops->read_raw(r->ctx, (uint16_t)row, out, count));
}

static int rp_write_raw(const fk_lotp_t *c, unsigned row, uint32_t value)
{
    const fk_otp_rows_t *r = &c->u.rp2350;
    return rp_err(r->ops->write_raw(r->ctx, (uint16_t)row, &value, 1));
}

/* Whether this accessor may program `row` now: rewriting what the row holds
 * runs the bootrom's permission check and programs nothing. */
static int rp_probe_write(const fk_lotp_t *c, unsigned row)
{
    uint32_t cur = 0;
    int rc = rp_read_raw(c, row, &cur, 1);
    if (rc == FK_LOTP_OK) rc = rp_write_raw(c, row, cur);
    fk_wipe(&cur, sizeof(cur));
    return rc;
}

/* The vote of a redundant field: RBIT-3 over 3 copies, RBIT-8 over 8. */
static uint32_t rp_vote(const uint32_t *copies, unsigned count)
{
    return count == FK_OTP_RBIT3_COPIES ? fk_otp_rbit3(copies) : fk_otp_rbit8(copies);
}

/* Read the `count` raw copies of a redundant field and vote them. */
static int rp_read_voted(const fk_lotp_t *c, unsigned first, unsigned count, uint32_t *v)
{
    uint32_t copies[FK_OTP_CRIT_COPIES] = {0};
    const int rc = rp_read_raw(c, first, copies, count);
    if (rc == FK_LOTP_OK) *v = rp_vote(copies, count);
    return rc;
}

static int rp_flags1(const fk_lotp_t *c, uint32_t *v)
{
    return rp_read_voted(c, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, v);
}

static int rp_crit1(const fk_lotp_t *c, uint32_t *v)
{
    return rp_read_voted(c, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, v);
}

/* The voted LOCK1 byte of a page as programmed (not the soft lock). */
static int rp_lock1(const fk_lotp_t *c, unsigned page, uint8_t *lock1)
{
    uint32_t raw = 0;
    const int rc = rp_read_raw(c, FK_OTP_ROW_PAGE_LOCK1(page), &raw, 1);
    if (rc == FK_LOTP_OK) *lock1 = fk_otp_lock_byte(raw);
    return rc;
}

/* Add `bits` to a redundant field of `copies` rows: each copy lacking one
 * of them is written cur|bits (the bootrom API never ORs). Nothing is
 * written when the vote already has them all, or when the first copy is
 * not writable by this accessor. A copy whose write fails stays as it was
 * and the others are still written: what counts, here and for the bootrom,
 * is the vote read back afterwards (FK_LOTP_OK when it has every bit). */
static int rp_burn_copies(const fk_lotp_t *c, unsigned first, unsigned copies, uint32_t bits)
{
    uint32_t cur[FK_OTP_CRIT_COPIES] = {0};
    int rc = rp_read_raw(c, first, cur, copies);
    if (rc != FK_LOTP_OK) return rc;
    if ((rp_vote(cur, copies) & bits) == bits) return FK_LOTP_OK;
    rc = rp_probe_write(c, first);
    if (rc != FK_LOTP_OK) return rc;
    int first_err = FK_LOTP_OK;
    for (unsigned i = 0; i < copies; i++) {
        if ((cur[i] & bits) == bits) continue;
        rc = rp_write_raw(c, first + i, cur[i] | bits);
        if (first_err == FK_LOTP_OK) first_err = rc;
    }
    rc = rp_read_raw(c, first, cur, copies);
    if (rc != FK_LOTP_OK) return rc;
    if ((rp_vote(cur, copies) & bits) == bits) return FK_LOTP_OK;
    return first_err != FK_LOTP_OK ? first_err : FK_LOTP_EIO;
}

static unsigned rp_key_row(fk_lotp_key_t which)
{
    return which == FK_LOTP_MKEK ? FK_OTP_ROW_MKEK : FK_OTP_ROW_DEVK;
}

/* Bytes 2i and 2i+1 -> the data of ECC row i (low byte first). */
static void bytes_to_rows(const uint8_t *b, uint16_t *rows, size_t count)
{
    for (size_t i = 0; i < count; i++) rows[i] = (uint16_t)(b[2 * i] | (b[2 * i + 1] << 8));
}

static void rows_to_bytes(const uint16_t *rows, uint8_t *b, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        b[2 * i] = (uint8_t)rows[i];
        b[2 * i + 1] = (uint8_t)(rows[i] >> 8);
    }
}

/* Read 16 ECC rows into 32 bytes; FK_LOTP_EIO when one is uncorrectable. */
static int rp_read_ecc_bytes(const fk_lotp_t *c, unsigned row, uint8_t out[FK_LOTP_KEY_BYTES])
{
    const fk_otp_rows_t *r = &c->u.rp2350;
    uint16_t data[FK_OTP_KEY_ROWS] = {0};
    const int rc = rp_err(r->ops->read_ecc(r->ctx, (uint16_t)row, data, FK_OTP_KEY_ROWS));
    if (rc == FK_LOTP_OK) rows_to_bytes(data, out, FK_OTP_KEY_ROWS);
    fk_wipe(data, sizeof(data));
    return rc;
}

/* Program 32 bytes as 16 ECC rows and read them back. */
static int rp_write_ecc_bytes(const fk_lotp_t *c, unsigned row, const uint8_t in[FK_LOTP_KEY_BYTES])
{
    const fk_otp_rows_t *r = &c->u.rp2350;
    uint16_t data[FK_OTP_KEY_ROWS];
    uint8_t back[FK_LOTP_KEY_BYTES];
    bytes_to_rows(in, data, FK_OTP_KEY_ROWS);
    int rc = rp_err(r->ops->write_ecc(r->ctx, (uint16_t)row, data, FK_OTP_KEY_ROWS));
    if (rc == FK_LOTP_OK) rc = rp_read_ecc_bytes(c, row, back);
    if (rc == FK_LOTP_OK && !fk_ct_equal(back, in, sizeof(back))) rc = FK_LOTP_EIO;
    fk_wipe(data, sizeof(data));
    fk_wipe(back, sizeof(back));
    return rc;
}

/* Whether `count` raw rows from `row` are all zero; read errors returned. */
static int rp_rows_blank(const fk_lotp_t *c, unsigned row, size_t count, bool *blank)
{
    uint32_t raw[FK_OTP_KEY_ROWS];
    uint32_t any = 0;
    *blank = false;
    while (count > 0) {
        const size_t n = FK_MIN(count, FK_ARRAY_SIZE(raw));
        const int rc = rp_read_raw(c, row, raw, n);
        if (rc != FK_LOTP_OK) {
            fk_wipe(raw, sizeof(raw));
            return rc;
        }
        for (size_t i = 0; i < n; i++) any |= raw[i];
        row += (unsigned)n;
        count -= n;
    }
    fk_wipe(raw, sizeof(raw));
    *blank = any == 0u;
    return FK_LOTP_OK;
}

/* A key is absent only while every raw row is blank; programmed rows that
 * do not decode, or decode to zero (e.g. destroyed to all ones), are a
 * damaged key (FK_LOTP_EIO), never an absent one. */
static int rp_key_read(fk_lotp_t *c, fk_lotp_key_t which, uint8_t key[FK_LOTP_KEY_BYTES],
                       fk_lotp_key_state_t *state)
{
    const unsigned row = rp_key_row(which);
    bool blank = false;
    int rc = rp_rows_blank(c, row, FK_OTP_KEY_ROWS, &blank);
    if (rc == FK_LOTP_OK && blank) {
        *state = FK_LOTP_KEY_ABSENT;
        return FK_LOTP_OK;
    }
    if (rc == FK_LOTP_OK) rc = rp_read_ecc_bytes(c, row, key);
    if (rc == FK_LOTP_OK && all_zero(key, FK_LOTP_KEY_BYTES)) rc = FK_LOTP_EIO;
    if (rc != FK_LOTP_OK) {
        fk_wipe(key, FK_LOTP_KEY_BYTES);
        *state = FK_LOTP_KEY_UNREADABLE;
        return rc;
    }
    *state = FK_LOTP_KEY_PRESENT;
    return FK_LOTP_OK;
}

/* Write the raw complement of a key's 16 rows (as read back) 32 rows later. */
static int rp_write_chaff(const fk_lotp_t *c, unsigned row)
{
    const fk_otp_rows_t *r = &c->u.rp2350;
    uint32_t raw[FK_OTP_KEY_ROWS] = {0};
    uint32_t chaff[FK_OTP_KEY_ROWS];
    uint32_t back[FK_OTP_KEY_ROWS] = {0};
    int rc = rp_read_raw(c, row, raw, FK_OTP_KEY_ROWS);
    for (size_t i = 0; i < FK_OTP_KEY_ROWS; i++) chaff[i] = ~raw[i] & FK_OTP_ROW_MASK;
    if (rc == FK_LOTP_OK) {
        rc = rp_err(r->ops->write_raw(r->ctx, (uint16_t)(row + FK_OTP_CHAFF_OFFSET), chaff,
                                      FK_OTP_KEY_ROWS));
    }
    if (rc == FK_LOTP_OK) rc = rp_read_raw(c, row + FK_OTP_CHAFF_OFFSET, back, FK_OTP_KEY_ROWS);
    if (rc == FK_LOTP_OK && !fk_ct_equal(back, chaff, sizeof(back))) rc = FK_LOTP_EIO;
    fk_wipe(raw, sizeof(raw));
    fk_wipe(chaff, sizeof(chaff));
    fk_wipe(back, sizeof(back));
    return rc;
}

static int rp_keys_provision(fk_lotp_t *c, const uint8_t mkek[FK_LOTP_KEY_BYTES],
                             const uint8_t devk[FK_LOTP_KEY_BYTES])
{
    /* Preflight: the whole key page (keys and chaff) and its lock rows blank. */
    const unsigned page_first = FK_OTP_ROW_DEVK;
    const unsigned page_rows = FK_OTP_CHAFF_OFFSET * 2u;
    bool blank = false;
    int rc = rp_rows_blank(c, page_first, page_rows, &blank);
    if (rc != FK_LOTP_OK) return rc;
    if (!blank) return FK_LOTP_ESTATE;
    rc = rp_rows_blank(c, FK_OTP_ROW_PAGE_LOCK0(FK_OTP_PAGE_KEYS), 2, &blank);
    if (rc != FK_LOTP_OK) return rc;
    if (!blank) return FK_LOTP_ESTATE;
    rc = rp_probe_write(c, page_first);
    if (rc != FK_LOTP_OK) return rc;

    rc = rp_write_ecc_bytes(c, FK_OTP_ROW_DEVK, devk);
    if (rc == FK_LOTP_OK) rc = rp_write_ecc_bytes(c, FK_OTP_ROW_MKEK, mkek);
    if (rc == FK_LOTP_OK) rc = rp_write_chaff(c, FK_OTP_ROW_DEVK);
    if (rc == FK_LOTP_OK) rc = rp_write_chaff(c, FK_OTP_ROW_MKEK);
    return rc;
}

/* The lock value of the key page, compared raw and whole: one copy of
 * three is another value, not ours. */
static fk_lotp_lock_value_t rp_lock_value(uint32_t raw)
{
    if (raw == 0u) return FK_LOTP_LOCK_NONE;
    return raw == FK_OTP_LOCK1_PAGE58 ? FK_LOTP_LOCK_OURS : FK_LOTP_LOCK_OTHER;
}

static int rp_keys_lock(fk_lotp_t *c)
{
    uint8_t key[FK_LOTP_KEY_BYTES];
    fk_lotp_key_state_t state = FK_LOTP_KEY_ABSENT;
    const unsigned row = FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS);
    uint32_t cur = 0;
    int rc = rp_key_read(c, FK_LOTP_MKEK, key, &state);
    fk_wipe(key, sizeof(key));
    if (rc == FK_LOTP_EPERM) return rc;
    if (state != FK_LOTP_KEY_PRESENT) return FK_LOTP_ESTATE;
    rc = rp_read_raw(c, row, &cur, 1);
    if (rc != FK_LOTP_OK) return rc;
    switch (rp_lock_value(cur)) {
    case FK_LOTP_LOCK_OURS:
        return FK_LOTP_OK;
    case FK_LOTP_LOCK_OTHER:
        return FK_LOTP_ESTATE; /* never OR into another lock value */
    default:
        break;
    }
    rc = rp_write_raw(c, row, FK_OTP_LOCK1_PAGE58);
    if (rc == FK_LOTP_OK) rc = rp_read_raw(c, row, &cur, 1);
    if (rc == FK_LOTP_OK && cur != FK_OTP_LOCK1_PAGE58) rc = FK_LOTP_EIO;
    return rc;
}

static bool level_hides(unsigned level) { return (level & 2u) != 0u; }

static int rp_keys_lock_state(fk_lotp_t *c, fk_lotp_keys_lock_t *out)
{
    const fk_otp_rows_t *r = &c->u.rp2350;
    uint32_t raw = 0;
    uint8_t soft = 0;
    int rc = rp_read_raw(c, FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), &raw, 1);
    if (rc == FK_LOTP_OK) rc = rp_err(r->ops->read_soft_lock(r->ctx, FK_OTP_PAGE_KEYS, &soft));
    if (rc != FK_LOTP_OK) return rc;
    const uint8_t lock1 = fk_otp_lock_byte(raw);
    const unsigned ns = fk_otp_lock_field(lock1, FK_OTP_LOCK1_NS_SHIFT);
    const unsigned bl = fk_otp_lock_field(lock1, FK_OTP_LOCK1_BL_SHIFT);
    out->read_locked = level_hides(ns) && level_hides(bl);
    out->write_locked = ns != FK_OTP_LOCK_RW && bl != FK_OTP_LOCK_RW;
    /* The non-secure soft lock (SW_LOCK.NSEC, where LOCK1's NS field sits)
     * is loaded from LOCK1 at reset. */
    out->pending_reset =
        out->read_locked && !level_hides(fk_otp_lock_field(soft, FK_OTP_LOCK1_NS_SHIFT));
    out->value = rp_lock_value(raw);
    return FK_LOTP_OK;
}

/* One slot's state; *usable = valid, present and its rows decode. Digest
 * rows this accessor cannot read: an error when `strict`, else the slot is
 * reported unreadable (present and usable unknown, both false). */
static int rp_slot(const fk_lotp_t *c, unsigned s, uint32_t flags1, bool strict,
                   fk_lotp_slot_t *out, bool *usable)
{
    uint8_t digest[FK_LOTP_DIGEST_BYTES];
    bool blank = false;
    const unsigned row = FK_OTP_ROW_BOOTKEY(s);
    memset(out, 0, sizeof(*out));
    *usable = false;
    out->valid = ((fk_otp_valid_key_slots(flags1) >> s) & 1u) != 0u;
    out->revoked = ((flags1 >> (FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT + s)) & 1u) != 0u;
    const int rc = rp_rows_blank(c, row, FK_OTP_BOOTKEY_ROWS, &blank);
    if (rc != FK_LOTP_OK) {
        out->unreadable = true;
        return strict ? rc : FK_LOTP_OK;
    }
    out->present = !blank;
    out->where = out->present ? (uint16_t)row : 0u;
    *usable = out->present && out->valid && rp_read_ecc_bytes(c, row, digest) == FK_LOTP_OK;
    return FK_LOTP_OK;
}

/* The slots usable now (bit s = slot s) and, optionally, each slot's state. */
static int rp_slots(const fk_lotp_t *c, uint32_t flags1, bool strict, fk_lotp_slot_t *slots,
                    unsigned *usable)
{
    *usable = 0;
    for (unsigned s = 0; s < FK_OTP_BOOTKEY_SLOTS; s++) {
        fk_lotp_slot_t tmp;
        bool ok = false;
        const int rc = rp_slot(c, s, flags1, strict, slots != NULL ? &slots[s] : &tmp, &ok);
        if (rc != FK_LOTP_OK) return rc;
        if (ok) *usable |= 1u << s;
    }
    return FK_LOTP_OK;
}

/* Page 1 or 2 closed to the bootloader: the BL field of either LOCK1 byte
 * (2-of-3 vote) is not read-write. */
static int rp_boot_pages_locked(const fk_lotp_t *c, bool *locked)
{
    uint8_t l1 = 0;
    uint8_t l2 = 0;
    int rc = rp_lock1(c, RP_PAGE_LOCK_BOOT1, &l1);
    if (rc == FK_LOTP_OK) rc = rp_lock1(c, RP_PAGE_LOCK_BOOT2, &l2);
    if (rc != FK_LOTP_OK) return rc;
    *locked = fk_otp_lock_field(l1, FK_OTP_LOCK1_BL_SHIFT) != FK_OTP_LOCK_RW ||
              fk_otp_lock_field(l2, FK_OTP_LOCK1_BL_SHIFT) != FK_OTP_LOCK_RW;
    return FK_LOTP_OK;
}

static int rp_boot_state(fk_lotp_t *c, fk_lotp_boot_t *out)
{
    uint32_t crit1 = 0;
    uint32_t flags1 = 0;
    unsigned usable = 0;
    bool locked = false;
    int rc = rp_crit1(c, &crit1);
    if (rc == FK_LOTP_OK) rc = rp_boot_pages_locked(c, &locked);
    if (rc == FK_LOTP_OK) rc = rp_flags1(c, &flags1);
    if (rc == FK_LOTP_OK) rc = rp_slots(c, flags1, false, out->slot, &usable);
    if (rc != FK_LOTP_OK) return rc;
    out->secure_boot = (crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) != 0u;
    out->locked = locked;
    out->slot_count = FK_OTP_BOOTKEY_SLOTS;
    return FK_LOTP_OK;
}

static int rp_bootkey_load(fk_lotp_t *c, unsigned slot, const uint8_t digest[FK_LOTP_DIGEST_BYTES],
                           unsigned *loaded)
{
    fk_lotp_slot_t slots[FK_OTP_BOOTKEY_SLOTS];
    uint32_t flags1 = 0;
    unsigned usable = 0;
    unsigned s = FK_OTP_BOOTKEY_SLOTS;
    if (slot != FK_LOTP_SLOT_ANY && slot >= FK_OTP_BOOTKEY_SLOTS) return FK_LOTP_EARG;
    int rc = rp_flags1(c, &flags1);
    if (rc == FK_LOTP_OK) rc = rp_slots(c, flags1, true, slots, &usable);
    if (rc != FK_LOTP_OK) return rc;
    for (unsigned i = 0; i < FK_OTP_BOOTKEY_SLOTS; i++) {
        const bool free_slot = !slots[i].present && !slots[i].valid && !slots[i].revoked;
        if (slot == FK_LOTP_SLOT_ANY && free_slot) {
            s = i;
            break;
        }
        if (slot == i) {
            if (!free_slot) return FK_LOTP_ESTATE;
            s = i;
            break;
        }
    }
    if (s == FK_OTP_BOOTKEY_SLOTS) return FK_LOTP_EFULL;
    rc = rp_probe_write(c, FK_OTP_ROW_BOOTKEY(s));
    if (rc == FK_LOTP_OK) rc = rp_probe_write(c, FK_OTP_ROW_BOOT_FLAGS1);
    if (rc != FK_LOTP_OK) return rc;
    /* The digest first, verified, and only then KEY_VALID. */
    rc = rp_write_ecc_bytes(c, FK_OTP_ROW_BOOTKEY(s), digest);
    if (rc == FK_LOTP_OK)
        rc = rp_burn_copies(c, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, 1u << s);
    if (rc == FK_LOTP_OK && loaded != NULL) *loaded = s;
    return rc;
}

/* The slots that would let an image boot right now. */
static int rp_usable(const fk_lotp_t *c, unsigned *usable)
{
    uint32_t flags1 = 0;
    int rc = rp_flags1(c, &flags1);
    if (rc == FK_LOTP_OK) rc = rp_slots(c, flags1, true, NULL, usable);
    return rc;
}

static int rp_secure_boot_enable(fk_lotp_t *c)
{
    uint32_t crit1 = 0;
    unsigned usable = 0;
    int rc = rp_crit1(c, &crit1);
    if (rc != FK_LOTP_OK) return rc;
    if ((crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) != 0u) return FK_LOTP_OK;
    rc = rp_usable(c, &usable);
    if (rc != FK_LOTP_OK) return rc;
    if (usable == 0u) return FK_LOTP_ESTATE;
    return rp_burn_copies(c, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
}

static int rp_secure_boot_lock(fk_lotp_t *c)
{
    static const unsigned lock_rows[] = {FK_OTP_ROW_PAGE_LOCK1(RP_PAGE_LOCK_BOOT1),
                                         FK_OTP_ROW_PAGE_LOCK1(RP_PAGE_LOCK_BOOT2)};
    uint32_t crit1 = 0;
    uint32_t flags1 = 0;
    uint32_t cur[FK_ARRAY_SIZE(lock_rows)] = {0};
    unsigned usable = 0;
    int rc = rp_crit1(c, &crit1);
    if (rc == FK_LOTP_OK) rc = rp_flags1(c, &flags1);
    if (rc == FK_LOTP_OK) rc = rp_slots(c, flags1, true, NULL, &usable);
    if (rc != FK_LOTP_OK) return rc;
    if ((crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) == 0u || usable == 0u) return FK_LOTP_ESTATE;
    const uint32_t invalid = ((~usable & RP_SLOT_MASK) << FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT);
    /* Preflight: lock rows blank, factory or already ours; everything writable. */
    for (size_t i = 0; i < FK_ARRAY_SIZE(lock_rows); i++) {
        rc = rp_read_raw(c, lock_rows[i], &cur[i], 1);
        if (rc != FK_LOTP_OK) return rc;
        if ((cur[i] & ~FK_OTP_LOCK1_BOOT_PAGES) != 0u) return FK_LOTP_ESTATE;
        if (cur[i] != FK_OTP_LOCK1_BOOT_PAGES) {
            rc = rp_probe_write(c, lock_rows[i]);
            if (rc != FK_LOTP_OK) return rc;
        }
    }
    if ((flags1 & invalid) != invalid) {
        rc = rp_probe_write(c, FK_OTP_ROW_BOOT_FLAGS1);
        if (rc != FK_LOTP_OK) return rc;
    }
    rc = rp_burn_copies(c, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, invalid);
    for (size_t i = 0; i < FK_ARRAY_SIZE(lock_rows) && rc == FK_LOTP_OK; i++) {
        if (cur[i] == FK_OTP_LOCK1_BOOT_PAGES) continue;
        rc = rp_write_raw(c, lock_rows[i], FK_OTP_LOCK1_BOOT_PAGES);
        if (rc == FK_LOTP_OK) rc = rp_read_raw(c, lock_rows[i], &cur[i], 1);
        if (rc == FK_LOTP_OK && cur[i] != FK_OTP_LOCK1_BOOT_PAGES) rc = FK_LOTP_EIO;
    }
    return rc;
}

static int rp_bootkey_revoke(fk_lotp_t *c, unsigned slot)
{
    uint32_t flags1 = 0;
    unsigned usable = 0;
    if (slot >= FK_OTP_BOOTKEY_SLOTS) return FK_LOTP_EARG;
    int rc = rp_flags1(c, &flags1);
    if (rc != FK_LOTP_OK) return rc;
    const uint32_t bit = 1u << (FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT + slot);
    if ((flags1 & bit) != 0u) return FK_LOTP_OK;
    rc = rp_slots(c, flags1, true, NULL, &usable);
    if (rc != FK_LOTP_OK) return rc;
    if ((usable & ~(1u << slot)) == 0u) return FK_LOTP_ESTATE;
    return rp_burn_copies(c, FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, bit);
}

static int rp_rollback(fk_lotp_t *c, fk_lotp_rollback_t *out)
{
    uint32_t v0 = 0;
    uint32_t v1 = 0;
    uint32_t flags0 = 0;
    int rc = rp_read_voted(c, FK_OTP_ROW_BOOT_VERSION0, FK_OTP_RBIT3_COPIES, &v0);
    if (rc == FK_LOTP_OK) rc = rp_read_voted(c, FK_OTP_ROW_BOOT_VERSION1, FK_OTP_RBIT3_COPIES, &v1);
    if (rc == FK_LOTP_OK) rc = rp_read_voted(c, FK_OTP_ROW_BOOT_FLAGS0, FK_OTP_RBIT3_COPIES, &flags0);
    if (rc != FK_LOTP_OK) return rc;
    out->supported = true;
    out->required = (flags0 & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED) != 0u;
    out->floor = fk_otp_rollback_floor(v0, v1);
    out->capacity = FK_OTP_ROLLBACK_BITS;
    return FK_LOTP_OK;
}

/* ROLLBACK_REQUIRED in BOOT_FLAGS0, only with secure boot on (the A2
 * bootrom applies it either way: on an open board it would only refuse a
 * developer's unversioned images). */
static int rp_rollback_require(fk_lotp_t *c)
{
    uint32_t crit1 = 0;
    const int rc = rp_crit1(c, &crit1);
    if (rc != FK_LOTP_OK) return rc;
    if ((crit1 & FK_OTP_CRIT1_SECURE_BOOT_ENABLE) == 0u) return FK_LOTP_ESTATE;
    return rp_burn_copies(c, FK_OTP_ROW_BOOT_FLAGS0, FK_OTP_RBIT3_COPIES,
                          FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
}

static int rp_debug(fk_lotp_t *c, fk_lotp_debug_t *out)
{
    uint32_t crit1 = 0;
    const int rc = rp_crit1(c, &crit1);
    if (rc != FK_LOTP_OK) return rc;
    out->disabled = (crit1 & FK_OTP_CRIT1_DEBUG_DISABLE) != 0u;
    out->partly = (crit1 & (FK_OTP_CRIT1_DEBUG_DISABLE | FK_OTP_CRIT1_SECURE_DEBUG_DISABLE)) != 0u;
    out->glitch_detector = (crit1 & FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE) != 0u;
    return FK_LOTP_OK;
}

static int rp_debug_disable(fk_lotp_t *c)
{
    unsigned usable = 0;
    int rc = rp_usable(c, &usable);
    if (rc != FK_LOTP_OK) return rc;
    if (usable == 0u) return FK_LOTP_ESTATE;
    return rp_burn_copies(c, FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, RP_DEBUG_BITS);
}

/* ==== ESP32-S3 ============================================================== */

static unsigned esp_key_block(fk_lotp_key_t which)
{
    return which == FK_LOTP_MKEK ? ESP_KEY_MKEK : ESP_KEY_DEVK;
}

/* A list of BLOCK0 bits to burn, applied all or nothing. */
typedef struct {
    uint8_t bit[ESP_BURN_MAX];
    unsigned count;
    bool overflow; /* more bits than the plan holds: refuse it whole */
} esp_burn_t;

static void esp_plan(esp_burn_t *plan, const fk_efuse_t *e, unsigned bit)
{
    if (fk_efuse_bit(e, bit)) return;
    for (unsigned i = 0; i < plan->count; i++) {
        if (plan->bit[i] == bit) return;
    }
    if (plan->count == ESP_BURN_MAX) {
        plan->overflow = true;
        return;
    }
    plan->bit[plan->count++] = (uint8_t)bit;
}

/* Preflight every planned bit (write-disabled -> EPERM), burn, verify. */
static int esp_apply(fk_efuse_t *e, const esp_burn_t *plan)
{
    if (plan->overflow) return FK_LOTP_EIO;
    for (unsigned i = 0; i < plan->count; i++) {
        if (fk_efuse_bit_write_disabled(e, plan->bit[i])) return FK_LOTP_EPERM;
    }
    for (unsigned i = 0; i < plan->count; i++) {
        if (fk_efuse_burn_field(e, plan->bit[i], 1, 1) != FK_EFUSE_OK) return FK_LOTP_EIO;
    }
    for (unsigned i = 0; i < plan->count; i++) {
        if (!fk_efuse_bit(e, plan->bit[i])) return FK_LOTP_EIO;
    }
    return FK_LOTP_OK;
}

static int esp_key_read(fk_lotp_t *c, fk_lotp_key_t which, uint8_t key[FK_LOTP_KEY_BYTES],
                        fk_lotp_key_state_t *state)
{
    const fk_efuse_t *e = c->u.esp32s3;
    const unsigned k = esp_key_block(which);
    int rc = FK_LOTP_OK;
    if (fk_efuse_key_purpose(e, k) != FK_EFUSE_PURPOSE_USER) {
        rc = FK_LOTP_ESTATE;
    } else if (fk_efuse_read_block(e, FK_EFUSE_BLOCK_KEY(k), key) != FK_EFUSE_OK) {
        rc = FK_LOTP_EPERM;
    }
    if (rc != FK_LOTP_OK) {
        fk_wipe(key, FK_LOTP_KEY_BYTES);
        *state = FK_LOTP_KEY_UNREADABLE;
        return rc;
    }
    *state = all_zero(key, FK_LOTP_KEY_BYTES) ? FK_LOTP_KEY_ABSENT : FK_LOTP_KEY_PRESENT;
    return FK_LOTP_OK;
}

/* Program one key block and compare what reads back. */
static int esp_write_key(fk_efuse_t *e, unsigned k, const uint8_t key[FK_LOTP_KEY_BYTES])
{
    uint8_t back[FK_EFUSE_BLOCK_BYTES];
    int rc = fk_efuse_write_block(e, FK_EFUSE_BLOCK_KEY(k), key) == FK_EFUSE_OK ? FK_LOTP_OK
                                                                                : FK_LOTP_EIO;
    if (rc == FK_LOTP_OK && fk_efuse_read_block(e, FK_EFUSE_BLOCK_KEY(k), back) != FK_EFUSE_OK)
        rc = FK_LOTP_EIO;
    if (rc == FK_LOTP_OK && !fk_ct_equal(back, key, FK_LOTP_KEY_BYTES)) rc = FK_LOTP_EIO;
    fk_wipe(back, sizeof(back));
    return rc;
}

static int esp_keys_provision(fk_lotp_t *c, const uint8_t mkek[FK_LOTP_KEY_BYTES],
                              const uint8_t devk[FK_LOTP_KEY_BYTES])
{
    fk_efuse_t *e = c->u.esp32s3;
    esp_burn_t plan = {.count = 0};
    if (!fk_efuse_key_unused(e, ESP_KEY_MKEK) || !fk_efuse_key_unused(e, ESP_KEY_DEVK))
        return FK_LOTP_ESTATE;
    /* Purpose USER is the blank value: nothing to burn for it. */
    esp_plan(&plan, e, FK_EFUSE_WR_DIS_KEY(ESP_KEY_MKEK));
    esp_plan(&plan, e, FK_EFUSE_WR_DIS_KEY_PURPOSE(ESP_KEY_MKEK));
    esp_plan(&plan, e, FK_EFUSE_WR_DIS_KEY(ESP_KEY_DEVK));
    esp_plan(&plan, e, FK_EFUSE_WR_DIS_KEY_PURPOSE(ESP_KEY_DEVK));
    int rc = esp_write_key(e, ESP_KEY_MKEK, mkek);
    if (rc == FK_LOTP_OK) rc = esp_write_key(e, ESP_KEY_DEVK, devk);
    if (rc == FK_LOTP_OK) rc = esp_apply(e, &plan);
    return rc;
}

static int esp_keys_lock_state(fk_lotp_t *c, fk_lotp_keys_lock_t *out)
{
    const fk_efuse_t *e = c->u.esp32s3;
    out->write_locked = fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY(ESP_KEY_MKEK)) &&
                        fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY_PURPOSE(ESP_KEY_MKEK)) &&
                        fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY(ESP_KEY_DEVK)) &&
                        fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY_PURPOSE(ESP_KEY_DEVK));
    out->read_locked = fk_efuse_bit(e, FK_EFUSE_RD_DIS_KEY(ESP_KEY_MKEK)) &&
                       fk_efuse_bit(e, FK_EFUSE_RD_DIS_KEY(ESP_KEY_DEVK));
    out->pending_reset = false;
    /* This product never read-disables them (fk_lotp_keys_lock is unsupported). */
    out->value = fk_efuse_bit(e, FK_EFUSE_RD_DIS_KEY(ESP_KEY_MKEK)) ||
                         fk_efuse_bit(e, FK_EFUSE_RD_DIS_KEY(ESP_KEY_DEVK))
                     ? FK_LOTP_LOCK_OTHER
                     : FK_LOTP_LOCK_NONE;
    return FK_LOTP_OK;
}

/* Digest slot n: the first key block whose purpose is SECURE_BOOT_DIGESTn.
 * *usable = present, not revoked, and the block reads non-zero. */
static void esp_slot(const fk_efuse_t *e, unsigned n, fk_lotp_slot_t *out, unsigned *key,
                     bool *usable)
{
    uint8_t digest[FK_EFUSE_BLOCK_BYTES];
    memset(out, 0, sizeof(*out));
    *usable = false;
    *key = FK_EFUSE_KEY_BLOCKS;
    for (unsigned k = 0; k < FK_EFUSE_KEY_BLOCKS; k++) {
        if (fk_efuse_key_purpose(e, k) == FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0 + n) {
            *key = k;
            break;
        }
    }
    out->present = *key < FK_EFUSE_KEY_BLOCKS;
    out->revoked = fk_efuse_bit(e, FK_EFUSE_SECURE_BOOT_KEY_REVOKE(n));
    out->valid = out->present && !out->revoked;
    if (!out->present) return;
    out->where = (uint16_t)FK_EFUSE_BLOCK_KEY(*key);
    const bool readable = fk_efuse_read_block(e, out->where, digest) == FK_EFUSE_OK;
    out->unreadable = !readable;
    *usable = out->valid && readable && !all_zero(digest, sizeof(digest));
}

static unsigned esp_usable(const fk_efuse_t *e)
{
    unsigned usable = 0;
    for (unsigned n = 0; n < FK_EFUSE_DIGEST_SLOTS; n++) {
        fk_lotp_slot_t s;
        unsigned k = 0;
        bool ok = false;
        esp_slot(e, n, &s, &k, &ok);
        if (ok) usable |= 1u << n;
    }
    return usable;
}

static int esp_boot_state(fk_lotp_t *c, fk_lotp_boot_t *out)
{
    const fk_efuse_t *e = c->u.esp32s3;
    bool locked = true;
    unsigned usable = 0;
    memset(out->slot, 0, sizeof(out->slot));
    for (unsigned n = 0; n < FK_EFUSE_DIGEST_SLOTS; n++) {
        unsigned k = 0;
        bool ok = false;
        esp_slot(e, n, &out->slot[n], &k, &ok);
        if (ok) {
            usable |= 1u << n;
            locked = locked && fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY(k)) &&
                     fk_efuse_bit(e, FK_EFUSE_WR_DIS_KEY_PURPOSE(k));
        } else {
            locked = locked && out->slot[n].revoked;
        }
    }
    out->secure_boot = fk_efuse_bit(e, FK_EFUSE_SECURE_BOOT_EN);
    out->locked = out->secure_boot && usable != 0u && locked;
    out->slot_count = FK_EFUSE_DIGEST_SLOTS;
    return FK_LOTP_OK;
}

static int esp_bootkey_load(fk_lotp_t *c, unsigned slot, const uint8_t digest[FK_LOTP_DIGEST_BYTES],
                            unsigned *loaded)
{
    fk_efuse_t *e = c->u.esp32s3;
    uint8_t back[FK_EFUSE_BLOCK_BYTES];
    unsigned n = FK_EFUSE_DIGEST_SLOTS;
    unsigned k = 0;
    if (slot != FK_LOTP_SLOT_ANY && slot >= FK_EFUSE_DIGEST_SLOTS) return FK_LOTP_EARG;
    for (unsigned i = 0; i < FK_EFUSE_DIGEST_SLOTS; i++) {
        fk_lotp_slot_t s;
        unsigned blk = 0;
        bool ok = false;
        esp_slot(e, i, &s, &blk, &ok);
        const bool free_slot = !s.present && !s.revoked;
        if (slot == FK_LOTP_SLOT_ANY && free_slot) {
            n = i;
            break;
        }
        if (slot == i) {
            if (!free_slot) return FK_LOTP_ESTATE;
            n = i;
            break;
        }
    }
    if (n == FK_EFUSE_DIGEST_SLOTS || !fk_efuse_find_unused_key(e, &k)) return FK_LOTP_EFULL;
    /* An unused block's data and purpose are writable: no other preflight. */
    if (fk_efuse_write_block(e, FK_EFUSE_BLOCK_KEY(k), digest) != FK_EFUSE_OK) return FK_LOTP_EIO;
    if (fk_efuse_read_block(e, FK_EFUSE_BLOCK_KEY(k), back) != FK_EFUSE_OK ||
        memcmp(back, digest, sizeof(back)) != 0)
        return FK_LOTP_EIO;
    if (fk_efuse_set_key_purpose(
            e, k, (fk_efuse_purpose_t)(FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0 + n)) != FK_EFUSE_OK ||
        fk_efuse_key_purpose(e, k) != FK_EFUSE_PURPOSE_SECURE_BOOT_DIGEST0 + n)
        return FK_LOTP_EIO;
    if (loaded != NULL) *loaded = n;
    return FK_LOTP_OK;
}

static int esp_secure_boot_enable(fk_lotp_t *c)
{
    fk_efuse_t *e = c->u.esp32s3;
    esp_burn_t plan = {.count = 0};
    if (fk_efuse_bit(e, FK_EFUSE_SECURE_BOOT_EN)) return FK_LOTP_OK;
    if (esp_usable(e) == 0u) return FK_LOTP_ESTATE;
    esp_plan(&plan, e, FK_EFUSE_SECURE_BOOT_EN);
    return esp_apply(e, &plan);
}

/* Plan the JTAG fuses: SOFT_DIS_JTAG to an odd count of ones (one more bit
 * when even), DIS_PAD_JTAG, DIS_USB_JTAG, DIS_USB_SERIAL_JTAG. */
static void esp_plan_debug(esp_burn_t *plan, const fk_efuse_t *e)
{
    uint32_t soft = 0;
    (void)fk_efuse_read_field(e, FK_EFUSE_SOFT_DIS_JTAG, FK_EFUSE_SOFT_DIS_JTAG_BITS, &soft);
    if ((popcount32(soft) & 1u) == 0u) {
        unsigned i = 0;
        while (((soft >> i) & 1u) != 0u) i++;
        esp_plan(plan, e, FK_EFUSE_SOFT_DIS_JTAG + i);
    }
    esp_plan(plan, e, FK_EFUSE_DIS_PAD_JTAG);
    esp_plan(plan, e, FK_EFUSE_DIS_USB_JTAG);
    esp_plan(plan, e, FK_EFUSE_DIS_USB_SERIAL_JTAG);
}

static int esp_secure_boot_lock(fk_lotp_t *c)
{
    fk_efuse_t *e = c->u.esp32s3;
    esp_burn_t plan = {.count = 0};
    if (!fk_efuse_bit(e, FK_EFUSE_SECURE_BOOT_EN)) return FK_LOTP_ESTATE;
    if (esp_usable(e) == 0u) return FK_LOTP_ESTATE;
    for (unsigned n = 0; n < FK_EFUSE_DIGEST_SLOTS; n++) {
        fk_lotp_slot_t s;
        unsigned k = 0;
        bool ok = false;
        esp_slot(e, n, &s, &k, &ok);
        if (ok) {
            esp_plan(&plan, e, FK_EFUSE_WR_DIS_KEY(k));
            esp_plan(&plan, e, FK_EFUSE_WR_DIS_KEY_PURPOSE(k));
        } else {
            esp_plan(&plan, e, FK_EFUSE_SECURE_BOOT_KEY_REVOKE(n));
        }
    }
    esp_plan_debug(&plan, e);
    return esp_apply(e, &plan);
}

static int esp_bootkey_revoke(fk_lotp_t *c, unsigned slot)
{
    fk_efuse_t *e = c->u.esp32s3;
    esp_burn_t plan = {.count = 0};
    if (slot >= FK_EFUSE_DIGEST_SLOTS) return FK_LOTP_EARG;
    if (fk_efuse_bit(e, FK_EFUSE_SECURE_BOOT_KEY_REVOKE(slot))) return FK_LOTP_OK;
    if ((esp_usable(e) & ~(1u << slot)) == 0u) return FK_LOTP_ESTATE;
    esp_plan(&plan, e, FK_EFUSE_SECURE_BOOT_KEY_REVOKE(slot));
    return esp_apply(e, &plan);
}

static int esp_rollback(fk_lotp_t *c, fk_lotp_rollback_t *out)
{
    uint32_t v = 0;
    (void)fk_efuse_read_field(c->u.esp32s3, FK_EFUSE_SECURE_VERSION, FK_EFUSE_SECURE_VERSION_BITS,
                              &v);
    out->supported = true;
    out->required = false;
    out->floor = popcount32(v);
    out->capacity = FK_EFUSE_SECURE_VERSION_BITS;
    return FK_LOTP_OK;
}

static int esp_debug(fk_lotp_t *c, fk_lotp_debug_t *out)
{
    const fk_efuse_t *e = c->u.esp32s3;
    uint32_t soft = 0;
    (void)fk_efuse_read_field(e, FK_EFUSE_SOFT_DIS_JTAG, FK_EFUSE_SOFT_DIS_JTAG_BITS, &soft);
    const bool pad = fk_efuse_bit(e, FK_EFUSE_DIS_PAD_JTAG);
    const bool usb = fk_efuse_bit(e, FK_EFUSE_DIS_USB_JTAG);
    const bool usb_serial = fk_efuse_bit(e, FK_EFUSE_DIS_USB_SERIAL_JTAG);
    out->disabled = pad && (usb || usb_serial);
    out->partly = (popcount32(soft) & 1u) != 0u || pad || usb || usb_serial;
    out->glitch_detector = false;
    return FK_LOTP_OK;
}

static int esp_debug_disable(fk_lotp_t *c)
{
    fk_efuse_t *e = c->u.esp32s3;
    esp_burn_t plan = {.count = 0};
    if (esp_usable(e) == 0u) return FK_LOTP_ESTATE;
    esp_plan_debug(&plan, e);
    return esp_apply(e, &plan);
}

/* ==== Public interface ====================================================== */

int fk_lotp_init_rp2350(fk_lotp_t *ctx, const fk_otp_rows_t *rows)
{
    if (ctx == NULL || rows == NULL || rows->ops == NULL) return FK_LOTP_EARG;
    const fk_otp_rows_ops_t *ops = rows->ops;
    if (ops->read_raw == NULL || ops->write_raw == NULL || ops->read_ecc == NULL ||
        ops->write_ecc == NULL || ops->read_soft_lock == NULL)
        return FK_LOTP_EARG;
    memset(ctx, 0, sizeof(*ctx));
    ctx->chip = FK_LOTP_CHIP_RP2350;
    ctx->u.rp2350 = *rows;
    return FK_LOTP_OK;
}

int fk_lotp_init_esp32s3(fk_lotp_t *ctx, fk_efuse_t *efuse)
{
    if (ctx == NULL || efuse == NULL) return FK_LOTP_EARG;
    memset(ctx, 0, sizeof(*ctx));
    ctx->chip = FK_LOTP_CHIP_ESP32S3;
    ctx->u.esp32s3 = efuse;
    return FK_LOTP_OK;
}

void fk_lotp_caps(const fk_lotp_t *ctx, fk_lotp_caps_t *caps)
{
    memset(caps, 0, sizeof(*caps));
    caps->chip = ctx->chip;
    if (ctx->chip == FK_LOTP_CHIP_RP2350) {
        caps->bootkey_slots = FK_OTP_BOOTKEY_SLOTS;
        caps->rollback_capacity = FK_OTP_ROLLBACK_BITS;
        caps->key_chaff = true;
        caps->key_read_lock = true;
        caps->key_lock_at_reset = true;
        caps->rollback_required_flag = true;
        caps->glitch_detector = true;
    } else if (ctx->chip == FK_LOTP_CHIP_ESP32S3) {
        caps->bootkey_slots = FK_EFUSE_DIGEST_SLOTS;
        caps->rollback_capacity = FK_EFUSE_SECURE_VERSION_BITS;
    }
}

static bool is_rp(const fk_lotp_t *ctx) { return ctx->chip == FK_LOTP_CHIP_RP2350; }
static bool is_esp(const fk_lotp_t *ctx) { return ctx->chip == FK_LOTP_CHIP_ESP32S3; }

int fk_lotp_key_read(fk_lotp_t *ctx, fk_lotp_key_t which, uint8_t key[FK_LOTP_KEY_BYTES],
                     fk_lotp_key_state_t *state)
{
    memset(key, 0, FK_LOTP_KEY_BYTES);
    *state = FK_LOTP_KEY_UNREADABLE;
    if (which != FK_LOTP_MKEK && which != FK_LOTP_DEVK) return FK_LOTP_EARG;
    if (is_rp(ctx)) return rp_key_read(ctx, which, key, state);
    if (is_esp(ctx)) return esp_key_read(ctx, which, key, state);
    return FK_LOTP_EARG;
}

int fk_lotp_keys_provision(fk_lotp_t *ctx, const uint8_t mkek[FK_LOTP_KEY_BYTES],
                           const uint8_t devk[FK_LOTP_KEY_BYTES])
{
    if (!devk_in_range(devk) || all_zero(mkek, FK_LOTP_KEY_BYTES)) return FK_LOTP_EARG;
    if (is_rp(ctx)) return rp_keys_provision(ctx, mkek, devk);
    if (is_esp(ctx)) return esp_keys_provision(ctx, mkek, devk);
    return FK_LOTP_EARG;
}

int fk_lotp_keys_lock(fk_lotp_t *ctx)
{
    if (is_rp(ctx)) return rp_keys_lock(ctx);
    if (is_esp(ctx)) return FK_LOTP_EUNSUPPORTED;
    return FK_LOTP_EARG;
}

int fk_lotp_keys_lock_state(fk_lotp_t *ctx, fk_lotp_keys_lock_t *out)
{
    memset(out, 0, sizeof(*out));
    if (is_rp(ctx)) return rp_keys_lock_state(ctx, out);
    if (is_esp(ctx)) return esp_keys_lock_state(ctx, out);
    return FK_LOTP_EARG;
}

int fk_lotp_boot_state(fk_lotp_t *ctx, fk_lotp_boot_t *out)
{
    memset(out, 0, sizeof(*out));
    if (is_rp(ctx)) return rp_boot_state(ctx, out);
    if (is_esp(ctx)) return esp_boot_state(ctx, out);
    return FK_LOTP_EARG;
}

int fk_lotp_bootkey_load(fk_lotp_t *ctx, unsigned slot, const uint8_t digest[FK_LOTP_DIGEST_BYTES],
                         unsigned *loaded)
{
    if (all_zero(digest, FK_LOTP_DIGEST_BYTES)) return FK_LOTP_EARG; /* would read as absent */
    if (is_rp(ctx)) return rp_bootkey_load(ctx, slot, digest, loaded);
    if (is_esp(ctx)) return esp_bootkey_load(ctx, slot, digest, loaded);
    return FK_LOTP_EARG;
}

int fk_lotp_secure_boot_enable(fk_lotp_t *ctx)
{
    if (is_rp(ctx)) return rp_secure_boot_enable(ctx);
    if (is_esp(ctx)) return esp_secure_boot_enable(ctx);
    return FK_LOTP_EARG;
}

int fk_lotp_secure_boot_lock(fk_lotp_t *ctx)
{
    if (is_rp(ctx)) return rp_secure_boot_lock(ctx);
    if (is_esp(ctx)) return esp_secure_boot_lock(ctx);
    return FK_LOTP_EARG;
}

int fk_lotp_bootkey_revoke(fk_lotp_t *ctx, unsigned slot)
{
    if (is_rp(ctx)) return rp_bootkey_revoke(ctx, slot);
    if (is_esp(ctx)) return esp_bootkey_revoke(ctx, slot);
    return FK_LOTP_EARG;
}

int fk_lotp_rollback(fk_lotp_t *ctx, fk_lotp_rollback_t *out)
{
    memset(out, 0, sizeof(*out));
    if (is_rp(ctx)) return rp_rollback(ctx, out);
    if (is_esp(ctx)) return esp_rollback(ctx, out);
    return FK_LOTP_EARG;
}

int fk_lotp_rollback_require(fk_lotp_t *ctx)
{
    if (is_rp(ctx)) return rp_rollback_require(ctx);
    if (is_esp(ctx)) return FK_LOTP_EUNSUPPORTED;
    return FK_LOTP_EARG;
}

int fk_lotp_debug(fk_lotp_t *ctx, fk_lotp_debug_t *out)
{
    memset(out, 0, sizeof(*out));
    if (is_rp(ctx)) return rp_debug(ctx, out);
    if (is_esp(ctx)) return esp_debug(ctx, out);
    return FK_LOTP_EARG;
}

int fk_lotp_debug_disable(fk_lotp_t *ctx)
{
    if (is_rp(ctx)) return rp_debug_disable(ctx);
    if (is_esp(ctx)) return esp_debug_disable(ctx);
    return FK_LOTP_EARG;
}

const char *fk_lotp_strerror(int rc)
{
    switch (rc) {
    case FK_LOTP_OK:
        return "ok";
    case FK_LOTP_EUNSUPPORTED:
        return "not supported by this chip";
    case FK_LOTP_EARG:
        return "invalid argument";
    case FK_LOTP_EPERM:
        return "locked against this accessor";
    case FK_LOTP_ESTATE:
        return "refused in this state";
    case FK_LOTP_EFULL:
        return "no free slot";
    case FK_LOTP_EIO:
        return "write failed or read-back differs";
    default:
        return "unknown error";
    }
}
