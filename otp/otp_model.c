/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_model.c - the RP2350 OTP model of otp_model.h: rows that only go
 * 0 -> 1, the bootrom's otp_access() rules, page locks and soft locks, the
 * data aliases and the redundancy votes (docs/otp.md).
 */
#include "otp_model.h"

#include <string.h>

#define SW_LOCK_SEC_SHIFT 0u  /* SW_LOCKp bits 1:0 */
#define SW_LOCK_NSEC_SHIFT 2u /* SW_LOCKp bits 3:2 */
#define SW_LOCK_FIELD_MASK 3u
#define SW_LOCK_MASK 0x0Fu
#define SW_LOCK_NSEC_MASK (SW_LOCK_FIELD_MASK << SW_LOCK_NSEC_SHIFT)
/* The LOCK1 byte's S and NS fields sit where SW_LOCK's SEC and NSEC do. */
#define LOCK1_S_NS_MASK 0x0Fu
#define LOCK_LEVEL_RESERVED 2u /* a thermometer value of 2 counts as inaccessible */
#define ALL_ONES_RAW 0xFFFFFFFFu
#define ALL_ONES_ECC 0xFFFFu
#define BITS_PER_BYTE 8u
#define LOCK_ROWS_PER_PAGE 2u

/* Factory values of the LOCK1 rows (datasheet; docs/otp.md). */
#define FACTORY_LOCK1_PAGE0 0x151515u    /* S, NS, BL read-only */
#define FACTORY_LOCK1_PAGES_RO 0x040404u /* NS read-only: pages 1, 2 and 62 */
#define FACTORY_LOCK1_PAGE63 0x141414u   /* NS and BL read-only */
#define FACTORY_PAGE_CRIT 1u
#define FACTORY_PAGE_BOOTKEYS 2u
#define FACTORY_PAGE_LOCKS_LOW 62u
#define FACTORY_PAGE_LOCKS_HIGH 63u
#define FACTORY_PAGE_CHIP 0u
#define CHIPID_BYTES 8u

/* A 2-bit thermometer field as an effective level: 2 becomes 3. */
static unsigned norm_level(unsigned field)
{
    field &= SW_LOCK_FIELD_MASK;
    return field == LOCK_LEVEL_RESERVED ? FK_OTP_LOCK_INACCESSIBLE : field;
}

/* A level allows reads when read-write or read-only, writes only when
 * read-write. */
static bool level_reads(unsigned level) { return (level & LOCK_LEVEL_RESERVED) == 0u; }
static bool level_writes(unsigned level) { return level == FK_OTP_LOCK_RW; }

/* Rows 0xF80-0xFFF hold the page locks. */
static bool is_lock_row(uint16_t row) { return row >= FK_OTP_ROW_LOCKS_FIRST; }

/* The page whose lock a lock row holds. */
static unsigned lock_row_page(uint16_t row)
{
    return (unsigned)(row - FK_OTP_ROW_LOCKS_FIRST) / LOCK_ROWS_PER_PAGE;
}

void fk_otp_init(fk_otp_t *otp, fk_otp_stepping_t stepping)
{
    memset(otp, 0, sizeof *otp);
    otp->stepping = stepping;
    otp->in_bootsel = false;
    otp->persist = NULL;
    otp->persist_arg = NULL;
}

/* Set row to value (already checked) and hand it to the persistence hook. */
static int program_row(fk_otp_t *otp, uint16_t row, uint32_t value)
{
    if (value == otp->raw[row]) return FK_OTP_OK; /* nothing to program */
    otp->raw[row] = value;
    if (otp->persist != NULL && otp->persist(otp->persist_arg, row, value) != 0) {
        return FK_OTP_EPERSIST;
    }
    return FK_OTP_OK;
}

/* Program val24 over a row without any permission check (1 -> 0 refused). */
static int program_raw(fk_otp_t *otp, uint16_t row, uint32_t val)
{
    const uint32_t v = val & FK_OTP_ROW_MASK;
    if ((otp->raw[row] & ~v) != 0u) return FK_OTP_EUNSUPPORTED_MODIFICATION;
    return program_row(otp, row, v);
}

/* Program data through ECC with bit repair, without permission check. */
static int program_ecc(fk_otp_t *otp, uint16_t row, uint16_t data)
{
    uint32_t next = 0;
    if (!fk_otp_ecc_write_value(otp->raw[row], data, &next)) {
        return FK_OTP_EUNSUPPORTED_MODIFICATION;
    }
    return program_row(otp, row, next);
}

/* The CHIPID is the 64-bit id whose big-endian bytes are chipid[0..7]
 * (the serial as printed); row i holds bits 16i+15..16i. RANDID bytes are
 * stored like the keys: bytes 2i, 2i+1 -> low, high byte of row i. */
int fk_otp_factory(fk_otp_t *otp, const uint8_t chipid[8], const uint8_t randid[16])
{
    int rc = FK_OTP_OK;
    for (unsigned i = 0; i < FK_OTP_CHIPID_ROWS && rc == FK_OTP_OK; i++) {
        const unsigned lo = CHIPID_BYTES - 1u - 2u * i;
        const uint16_t v = (uint16_t)(chipid[lo] | (unsigned)chipid[lo - 1u] << BITS_PER_BYTE);
        rc = program_ecc(otp, (uint16_t)(FK_OTP_ROW_CHIPID + i), v);
    }
    for (unsigned i = 0; i < FK_OTP_RANDID_ROWS && rc == FK_OTP_OK; i++) {
        const uint16_t v =
            (uint16_t)(randid[2u * i] | (unsigned)randid[2u * i + 1u] << BITS_PER_BYTE);
        rc = program_ecc(otp, (uint16_t)(FK_OTP_ROW_RANDID + i), v);
    }
    static const struct {
        uint8_t page;
        uint32_t lock1;
    } factory_locks[] = {
        {FACTORY_PAGE_CHIP, FACTORY_LOCK1_PAGE0},
        {FACTORY_PAGE_CRIT, FACTORY_LOCK1_PAGES_RO},
        {FACTORY_PAGE_BOOTKEYS, FACTORY_LOCK1_PAGES_RO},
        {FACTORY_PAGE_LOCKS_LOW, FACTORY_LOCK1_PAGES_RO},
        {FACTORY_PAGE_LOCKS_HIGH, FACTORY_LOCK1_PAGE63},
    };
    for (size_t i = 0; i < sizeof factory_locks / sizeof factory_locks[0] && rc == FK_OTP_OK;
         i++) {
        rc = program_raw(otp, (uint16_t)FK_OTP_ROW_PAGE_LOCK1(factory_locks[i].page),
                         factory_locks[i].lock1);
    }
    fk_otp_reset(otp);
    return rc;
}

uint8_t fk_otp_page_lock1(const fk_otp_t *otp, unsigned page)
{
    if (page >= FK_OTP_PAGES) return UINT8_MAX;
    return fk_otp_lock_byte(otp->raw[FK_OTP_ROW_PAGE_LOCK1(page)]);
}

void fk_otp_reset(fk_otp_t *otp)
{
    for (unsigned p = 0; p < FK_OTP_PAGES; p++) {
        otp->sw_lock[p] = (uint8_t)(fk_otp_page_lock1(otp, p) & LOCK1_S_NS_MASK);
    }
    otp->in_bootsel = false;
}

void fk_otp_enter_bootsel(fk_otp_t *otp)
{
    for (unsigned p = 0; p < FK_OTP_PAGES; p++) {
        const unsigned bl = fk_otp_lock_field(fk_otp_page_lock1(otp, p), FK_OTP_LOCK1_BL_SHIFT);
        otp->sw_lock[p] |= (uint8_t)(SW_LOCK_NSEC_MASK | (bl << SW_LOCK_SEC_SHIFT));
    }
    otp->in_bootsel = true;
}

int fk_otp_sw_lock(fk_otp_t *otp, fk_otp_principal_t who, unsigned page, uint8_t value)
{
    if (page >= FK_OTP_PAGES) return FK_OTP_EINVALID_ARG;
    uint8_t v = (uint8_t)(value & SW_LOCK_MASK);
    if (who == FK_OTP_NONSECURE || who == FK_OTP_NS_GATEWAY) v &= SW_LOCK_NSEC_MASK;
    otp->sw_lock[page] |= v;
    return FK_OTP_OK;
}

unsigned fk_otp_level(const fk_otp_t *otp, fk_otp_principal_t who, unsigned page)
{
    if (page >= FK_OTP_PAGES) return FK_OTP_LOCK_INACCESSIBLE;
    const unsigned sec = norm_level(otp->sw_lock[page] >> SW_LOCK_SEC_SHIFT);
    const unsigned nsec = norm_level(otp->sw_lock[page] >> SW_LOCK_NSEC_SHIFT);
    switch (who) {
    case FK_OTP_SECURE:
        return sec;
    case FK_OTP_NONSECURE:
        return nsec;
    case FK_OTP_NS_GATEWAY:
        return norm_level(sec | nsec);
    case FK_OTP_BOOTSEL:
        /* PICOBOOT exists only in BOOTSEL, where SEC was raised to BL. */
        return otp->in_bootsel ? sec : FK_OTP_LOCK_INACCESSIBLE;
    default:
        return FK_OTP_LOCK_INACCESSIBLE;
    }
}

/* Principals that may call otp_access: not NONSECURE (it has only the
 * aliases), and BOOTSEL only while the chip is in BOOTSEL. */
static bool access_principal(const fk_otp_t *otp, fk_otp_principal_t who)
{
    switch (who) {
    case FK_OTP_SECURE:
    case FK_OTP_NS_GATEWAY:
        return true;
    case FK_OTP_BOOTSEL:
        return otp->in_bootsel;
    default:
        return false;
    }
}

/* otp_access()'s check of one row: lock rows are always readable; a write
 * to one is checked against page row>>6 on A2 (erratum E15, plus the
 * hardware's own check of the locked page's secure level) and against the
 * page it locks on A3. Other rows: the level of their own page. */
static bool access_allowed(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, bool write)
{
    if (is_lock_row(row)) {
        if (!write) return true;
        const unsigned page = lock_row_page(row);
        if (otp->stepping == FK_OTP_STEPPING_A2) {
            const unsigned hw = norm_level(otp->sw_lock[page] >> SW_LOCK_SEC_SHIFT);
            return level_writes(fk_otp_level(otp, who, FK_OTP_PAGE_OF(row))) &&
                   level_writes(hw);
        }
        return level_writes(fk_otp_level(otp, who, page));
    }
    const unsigned level = fk_otp_level(otp, who, FK_OTP_PAGE_OF(row));
    return write ? level_writes(level) : level_reads(level);
}

/* The common argument checks of otp_access(). */
static int access_check(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, size_t count)
{
    if (!access_principal(otp, who)) return FK_OTP_EINVALID_ARG;
    if (row >= FK_OTP_MODEL_ROWS || count > FK_OTP_MODEL_ROWS - row) return FK_OTP_EINVALID_ARG;
    return FK_OTP_OK;
}

int fk_otp_read_raw(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, uint32_t *out,
                    size_t count)
{
    int rc = access_check(otp, who, row, count);
    if (rc != FK_OTP_OK) return rc;
    for (size_t i = 0; i < count; i++) {
        const uint16_t r = (uint16_t)(row + i);
        if (!access_allowed(otp, who, r, false)) return FK_OTP_ENOT_PERMITTED;
        out[i] = otp->raw[r];
    }
    return FK_OTP_OK;
}

int fk_otp_write_raw(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, const uint32_t *vals,
                     size_t count)
{
    int rc = access_check(otp, who, row, count);
    for (size_t i = 0; i < count && rc == FK_OTP_OK; i++) {
        const uint16_t r = (uint16_t)(row + i);
        rc = access_allowed(otp, who, r, true) ? program_raw(otp, r, vals[i])
                                               : FK_OTP_ENOT_PERMITTED;
    }
    return rc;
}

int fk_otp_read_ecc(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, uint16_t *out,
                    size_t count, fk_otp_ecc_status_t *worst)
{
    fk_otp_ecc_status_t w = FK_OTP_ECC_OK;
    int rc = access_check(otp, who, row, count);
    for (size_t i = 0; i < count && rc == FK_OTP_OK; i++) {
        const uint16_t r = (uint16_t)(row + i);
        if (!access_allowed(otp, who, r, false)) {
            rc = FK_OTP_ENOT_PERMITTED;
        } else {
            const fk_otp_ecc_status_t s = fk_otp_ecc_decode(otp->raw[r], &out[i]);
            if (s > w) w = s;
        }
    }
    if (worst != NULL) *worst = w;
    return rc;
}

int fk_otp_write_ecc(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, const uint16_t *vals,
                     size_t count)
{
    int rc = access_check(otp, who, row, count);
    for (size_t i = 0; i < count && rc == FK_OTP_OK; i++) {
        const uint16_t r = (uint16_t)(row + i);
        rc = access_allowed(otp, who, r, true) ? program_ecc(otp, r, vals[i])
                                               : FK_OTP_ENOT_PERMITTED;
    }
    return rc;
}

/* ---- Data aliases ---------------------------------------------------------- */

/* Only firmware reads the data aliases. */
static bool alias_principal(fk_otp_principal_t who)
{
    return who == FK_OTP_SECURE || who == FK_OTP_NONSECURE;
}

/* Whether `who` may read row through a data alias (SECURE: SW_LOCK.SEC,
 * NONSECURE: SW_LOCK.NSEC; lock rows always). Other principals: never. */
static bool alias_allowed(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row)
{
    if (!alias_principal(who) || row >= FK_OTP_MODEL_ROWS) return false;
    if (is_lock_row(row)) return true;
    return level_reads(fk_otp_level(otp, who, FK_OTP_PAGE_OF(row)));
}

uint32_t fk_otp_alias_raw(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row)
{
    return alias_allowed(otp, who, row) ? otp->raw[row] : ALL_ONES_RAW;
}

uint16_t fk_otp_alias_ecc(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row)
{
    uint16_t data = ALL_ONES_ECC;
    if (alias_allowed(otp, who, row)) (void)fk_otp_ecc_decode(otp->raw[row], &data);
    return data;
}

int fk_otp_alias_raw_guarded(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row,
                             uint32_t *out)
{
    if (!alias_principal(who)) return FK_OTP_EINVALID_ARG;
    if (!alias_allowed(otp, who, row)) return FK_OTP_EFAULT;
    *out = otp->raw[row];
    return FK_OTP_OK;
}

int fk_otp_alias_ecc_guarded(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row,
                             uint16_t *out)
{
    if (!alias_principal(who)) return FK_OTP_EINVALID_ARG;
    if (!alias_allowed(otp, who, row)) return FK_OTP_EFAULT;
    uint16_t data = 0;
    if (fk_otp_ecc_decode(otp->raw[row], &data) == FK_OTP_ECC_UNCORRECTABLE) return FK_OTP_EFAULT;
    *out = data;
    return FK_OTP_OK;
}

/* ---- Votes ------------------------------------------------------------------- */

/* Read n consecutive raw rows as `who` reads a vote: alias principals
 * through the guarded raw alias (a refused row faults, as in the bootrom),
 * the others through otp_access(). */
static int read_copies(fk_otp_t *otp, fk_otp_principal_t who, uint16_t first, uint32_t *out,
                       size_t n)
{
    if (!alias_principal(who)) return fk_otp_read_raw(otp, who, first, out, n);
    if (first >= FK_OTP_MODEL_ROWS || n > FK_OTP_MODEL_ROWS - first) return FK_OTP_EINVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        const int rc = fk_otp_alias_raw_guarded(otp, who, (uint16_t)(first + i), &out[i]);
        if (rc != FK_OTP_OK) return rc;
    }
    return FK_OTP_OK;
}

int fk_otp_read_rbit3(fk_otp_t *otp, fk_otp_principal_t who, uint16_t first_row, uint32_t *value)
{
    uint32_t copies[FK_OTP_RBIT3_COPIES];
    const int rc = read_copies(otp, who, first_row, copies, FK_OTP_RBIT3_COPIES);
    if (rc == FK_OTP_OK) *value = fk_otp_rbit3(copies);
    return rc;
}

int fk_otp_read_rbit8(fk_otp_t *otp, fk_otp_principal_t who, uint16_t first_row, uint32_t *value)
{
    uint32_t copies[FK_OTP_CRIT_COPIES];
    const int rc = read_copies(otp, who, first_row, copies, FK_OTP_CRIT_COPIES);
    if (rc == FK_OTP_OK) *value = fk_otp_rbit8(copies);
    return rc;
}

/* ---- Row access ---------------------------------------------------------------- */

/* A model result of otp_access as a row-access result. */
static int rows_result(uint16_t row, size_t count, int rc)
{
    switch (rc) {
    case FK_OTP_OK:
        return FK_OTP_ROWS_OK;
    case FK_OTP_ENOT_PERMITTED:
        return FK_OTP_ROWS_EPERM;
    case FK_OTP_EINVALID_ARG:
        /* Out of range, or a principal without access now (BOOTSEL). */
        return row >= FK_OTP_MODEL_ROWS || count > FK_OTP_MODEL_ROWS - row ? FK_OTP_ROWS_ERANGE
                                                                            : FK_OTP_ROWS_EPERM;
    default:
        return FK_OTP_ROWS_EIO;
    }
}

static int rows_read_raw(void *ctx, uint16_t row, uint32_t *out, size_t count)
{
    const fk_otp_accessor_t *a = ctx;
    return rows_result(row, count, fk_otp_read_raw(a->otp, a->who, row, out, count));
}

static int rows_write_raw(void *ctx, uint16_t row, const uint32_t *vals, size_t count)
{
    const fk_otp_accessor_t *a = ctx;
    return rows_result(row, count, fk_otp_write_raw(a->otp, a->who, row, vals, count));
}

static int rows_read_ecc(void *ctx, uint16_t row, uint16_t *out, size_t count)
{
    const fk_otp_accessor_t *a = ctx;
    fk_otp_ecc_status_t worst = FK_OTP_ECC_OK;
    const int rc = rows_result(row, count,
                               fk_otp_read_ecc(a->otp, a->who, row, out, count, &worst));
    if (rc != FK_OTP_ROWS_OK) return rc;
    return worst == FK_OTP_ECC_UNCORRECTABLE ? FK_OTP_ROWS_EIO : FK_OTP_ROWS_OK;
}

static int rows_write_ecc(void *ctx, uint16_t row, const uint16_t *vals, size_t count)
{
    const fk_otp_accessor_t *a = ctx;
    return rows_result(row, count, fk_otp_write_ecc(a->otp, a->who, row, vals, count));
}

static int rows_read_soft_lock(void *ctx, unsigned page, uint8_t *value)
{
    const fk_otp_accessor_t *a = ctx;
    if (page >= FK_OTP_PAGES) return FK_OTP_ROWS_ERANGE;
    *value = a->otp->sw_lock[page];
    return FK_OTP_ROWS_OK;
}

static const fk_otp_rows_ops_t k_rows_ops = {
    .read_raw = rows_read_raw,
    .write_raw = rows_write_raw,
    .read_ecc = rows_read_ecc,
    .write_ecc = rows_write_ecc,
    .read_soft_lock = rows_read_soft_lock,
};

int fk_otp_rows_of(fk_otp_rows_t *rows, fk_otp_accessor_t *acc, fk_otp_t *otp,
                   fk_otp_principal_t who)
{
    if (rows == NULL || acc == NULL || otp == NULL) return FK_OTP_EINVALID_ARG;
    if (who != FK_OTP_SECURE && who != FK_OTP_NS_GATEWAY && who != FK_OTP_BOOTSEL)
        return FK_OTP_EINVALID_ARG;
    acc->otp = otp;
    acc->who = who;
    rows->ops = &k_rows_ops;
    rows->ctx = acc;
    return FK_OTP_OK;
}

const char *fk_otp_strerror(int rc)
{
    switch (rc) {
    case FK_OTP_OK:
        return "ok";
    case FK_OTP_ENOT_PERMITTED:
        return "permission failure";
    case FK_OTP_EINVALID_ARG:
        return "invalid argument";
    case FK_OTP_EBAD_ALIGNMENT:
        return "bad alignment";
    case FK_OTP_EUNSUPPORTED_MODIFICATION:
        return "unsupported modification";
    case FK_OTP_EFAULT:
        return "bus fault";
    case FK_OTP_EPERSIST:
        return "the OTP row could not be saved";
    default:
        return "unknown error";
    }
}
