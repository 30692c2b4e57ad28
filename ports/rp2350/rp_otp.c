/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_otp.c - the OTP functions of hal.h on the chip (docs/rp2350.md, "OTP";
 * docs/otp.md): the logical OTP interface (otp/otp_logical.h) over a row
 * access (otp/otp_rows.h) backed by the boot ROM's otp_access as secure
 * firmware, so the fuse map, its votes and the order of checks, writes and
 * read-backs are the same code as in the host port and the tools.
 *
 * The key page. rp_otp_init, at boot and before any host input, reads the
 * raw rows of both keys (DEVK 0xE80.., MKEK 0xE90..) into SRAM and then
 * locks page 58 through SW_LOCK58 until the next reset, so that nothing
 * running later - a bug reachable from the host included - can read it:
 *   - once the page's OTP lock word (PAGE58_LOCK1) is programmed - the
 *     production state - secure and non-secure code both lose the page
 *     (SW_LOCK58 = 0xF);
 *   - while it is blank, non-secure code only (0xC): the hardware lets
 *     secure code program a page's lock word only while the page is
 *     secure read-write for it, and `fusekey otp lock-page58`
 *     (fk_hal_otp_lock_keys) must still be able to write PAGE58_LOCK1.
 *     The page is readable from BOOTSEL in that state anyway.
 * From then on the row access serves the key rows from the copy (with the
 * error the boot read had, if any); every other row of page 58 answers
 * "not permitted", as the chip would; and the soft lock of page 58 is
 * reported as it was before this lock, so the logical layer still tells
 * "programmed, in force at the next reset" from "in force". The copy is
 * registered with fk_hal_panic's wipe.
 *
 * ECC reads are made raw and decoded here (otp/otp_ecc.h): the ROM's ECC
 * read does not report an uncorrectable row, and the row access must.
 */
#include <string.h>

#include "hal.h"
#include "otp_ecc.h"
#include "otp_hal.h"
#include "otp_logical.h"
#include "otp_map.h"
#include "otp_rows.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"
#include "rp_rom.h"
#include "util.h"

#define ROWS_TOTAL (FK_OTP_PAGES * FK_OTP_PAGE_ROWS)
#define KEY_FIRST FK_OTP_ROW_DEVK
#define KEY_ROWS (FK_OTP_ROW_MKEK + FK_OTP_KEY_ROWS - FK_OTP_ROW_DEVK)
#define SERIAL_LEN 8u
#define SOFT_LOCK_MASK 0xFu

_Static_assert(FK_OTP_ROW_MKEK == FK_OTP_ROW_DEVK + FK_OTP_KEY_ROWS, "keys are adjacent");
_Static_assert(FK_OTP_PAGE_OF(FK_OTP_ROW_DEVK) == FK_OTP_PAGE_KEYS, "keys in the key page");
_Static_assert(FK_HAL_OTP_KEY_LEN == FK_LOTP_KEY_BYTES, "one key length");
_Static_assert(FK_OTP_BOOTKEY_SLOTS < FK_HAL_NO_BOOT_KEY, "a slot number is not 'none'");
_Static_assert(SERIAL_LEN == 2u * FK_OTP_CHIPID_ROWS, "the CHIPID is 4 ECC rows");

static struct {
    bool locked;        /* SW_LOCK58 written: key rows come from keys[] */
    int keys_rc;        /* FK_OTP_ROWS_* of the boot read */
    uint8_t soft58;     /* SW_LOCK58 before this firmware's lock */
    uint32_t keys[KEY_ROWS];
    bool ready;         /* lotp usable */
    fk_lotp_t lotp;
    uint8_t serial[SERIAL_LEN];
} otp;

/* A ROM result as a row-access result. */
static int rom_result(int rc)
{
    switch (rc) {
    case 0:
        return FK_OTP_ROWS_OK;
    case RP_ROM_ERR_NOT_PERMITTED:
        return FK_OTP_ROWS_EPERM;
    case RP_ROM_ERR_INVALID_ARG:
        return FK_OTP_ROWS_ERANGE;
    default:
        return FK_OTP_ROWS_EIO;
    }
}

/* One raw row through the ROM. */
static int rom_read_raw(uint16_t row, uint32_t *out)
{
    uint32_t word = 0;
    const int rc = rom_result(rp_rom_otp_access((uint8_t *)&word, sizeof word, row));
    *out = rc == FK_OTP_ROWS_OK ? word & FK_OTP_ROW_MASK : 0u;
    word = 0;
    return rc;
}

static bool in_key_page(unsigned row) { return FK_OTP_PAGE_OF(row) == FK_OTP_PAGE_KEYS; }

/* One raw row as this firmware may see it now. */
static int read_one(uint16_t row, uint32_t *out)
{
    *out = 0;
    if (otp.locked && in_key_page(row)) {
        if (row < KEY_FIRST || row >= KEY_FIRST + KEY_ROWS) return FK_OTP_ROWS_EPERM;
        if (otp.keys_rc != FK_OTP_ROWS_OK) return otp.keys_rc;
        *out = otp.keys[row - KEY_FIRST];
        return FK_OTP_ROWS_OK;
    }
    return rom_read_raw(row, out);
}

static int span_ok(uint16_t row, size_t count)
{
    return count <= ROWS_TOTAL && row <= ROWS_TOTAL - count ? FK_OTP_ROWS_OK : FK_OTP_ROWS_ERANGE;
}

static int rows_read_raw(void *ctx, uint16_t row, uint32_t *out, size_t count)
{
    (void)ctx;
    int rc = span_ok(row, count);
    for (size_t i = 0; rc == FK_OTP_ROWS_OK && i < count; i++) {
        rc = read_one((uint16_t)(row + i), &out[i]);
    }
    return rc;
}

static int rows_read_ecc(void *ctx, uint16_t row, uint16_t *out, size_t count)
{
    (void)ctx;
    int rc = span_ok(row, count);
    for (size_t i = 0; rc == FK_OTP_ROWS_OK && i < count; i++) {
        uint32_t raw = 0;
        rc = read_one((uint16_t)(row + i), &raw);
        if (rc == FK_OTP_ROWS_OK && fk_otp_ecc_decode(raw, &out[i]) == FK_OTP_ECC_UNCORRECTABLE)
            rc = FK_OTP_ROWS_EIO;
        raw = 0;
    }
    return rc;
}

static int rows_write_raw(void *ctx, uint16_t row, const uint32_t *vals, size_t count)
{
    (void)ctx;
    int rc = span_ok(row, count);
    for (size_t i = 0; rc == FK_OTP_ROWS_OK && i < count; i++) {
        const uint16_t r = (uint16_t)(row + i);
        if (otp.locked && in_key_page(r)) return FK_OTP_ROWS_EPERM;
        uint32_t word = vals[i] & FK_OTP_ROW_MASK;
        rc = rom_result(rp_rom_otp_access((uint8_t *)&word, sizeof word, r | RP_ROM_OTP_CMD_WRITE));
    }
    return rc;
}

static int rows_write_ecc(void *ctx, uint16_t row, const uint16_t *vals, size_t count)
{
    (void)ctx;
    int rc = span_ok(row, count);
    for (size_t i = 0; rc == FK_OTP_ROWS_OK && i < count; i++) {
        const uint16_t r = (uint16_t)(row + i);
        if (otp.locked && in_key_page(r)) return FK_OTP_ROWS_EPERM;
        uint16_t half = vals[i];
        rc = rom_result(rp_rom_otp_access((uint8_t *)&half, sizeof half,
                                          r | RP_ROM_OTP_CMD_WRITE | RP_ROM_OTP_CMD_ECC));
    }
    return rc;
}

static int rows_read_soft_lock(void *ctx, unsigned page, uint8_t *value)
{
    (void)ctx;
    if (page >= FK_OTP_PAGES) return FK_OTP_ROWS_ERANGE;
    if (page == FK_OTP_PAGE_KEYS && otp.locked) {
        *value = otp.soft58;
    } else {
        *value = (uint8_t)(rp_rd32(RP_OTP_SW_LOCK(page)) & SOFT_LOCK_MASK);
    }
    return FK_OTP_ROWS_OK;
}

static const fk_otp_rows_ops_t rows_ops = {
    .read_raw = rows_read_raw,
    .write_raw = rows_write_raw,
    .read_ecc = rows_read_ecc,
    .write_ecc = rows_write_ecc,
    .read_soft_lock = rows_read_soft_lock,
};

/* The chip serial: CHIPID rows 3..0 most significant byte first (the
 * board id other tools print); the ROM's copy if the rows do not read. */
static void read_serial(void)
{
    uint16_t rows[FK_OTP_CHIPID_ROWS] = {0};
    if (rows_read_ecc(NULL, FK_OTP_ROW_CHIPID, rows, FK_OTP_CHIPID_ROWS) != FK_OTP_ROWS_OK) {
        uint32_t info[RP_ROM_SYS_INFO_WORDS] = {0};
        if (rp_rom_get_sys_info(info, RP_ROM_SYS_INFO_WORDS, RP_ROM_SYS_INFO_CHIP_INFO) >= 4) {
            rows[0] = (uint16_t)info[2];
            rows[1] = (uint16_t)(info[2] >> 16);
            rows[2] = (uint16_t)info[3];
            rows[3] = (uint16_t)(info[3] >> 16);
        }
    }
    fk_otp_chipid_bytes(rows, otp.serial);
}

int rp_otp_init(void)
{
    const fk_otp_rows_t rows = {.ops = &rows_ops, .ctx = NULL};
    fk_wipe(&otp, sizeof otp);
    (void)rp_secret_register(otp.keys, sizeof otp.keys);
    otp.soft58 = (uint8_t)(rp_rd32(RP_OTP_SW_LOCK(FK_OTP_PAGE_KEYS)) & SOFT_LOCK_MASK);
    otp.keys_rc = rom_result(rp_rom_otp_access((uint8_t *)otp.keys, sizeof otp.keys, KEY_FIRST));
    for (size_t i = 0; i < KEY_ROWS; i++) otp.keys[i] &= FK_OTP_ROW_MASK;
    if (otp.keys_rc != FK_OTP_ROWS_OK) fk_wipe(otp.keys, sizeof otp.keys);
    uint32_t lock_word = 0;
    const int lock_rc = rom_read_raw((uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), &lock_word);
    const bool lock_word_blank = lock_rc == FK_OTP_ROWS_OK && lock_word == 0u;
    rp_wr32(RP_OTP_SW_LOCK(FK_OTP_PAGE_KEYS),
            lock_word_blank ? RP_OTP_SW_LOCK_NSEC : RP_OTP_SW_LOCK_ALL);
    otp.locked = true;
    otp.ready = fk_lotp_init_rp2350(&otp.lotp, &rows) == FK_LOTP_OK;
    read_serial();
    if (!otp.ready) return FK_HAL_EIO;
    return otp.keys_rc == FK_OTP_ROWS_OK ? FK_HAL_OK
           : otp.keys_rc == FK_OTP_ROWS_EPERM ? FK_HAL_EPERM
                                              : FK_HAL_EIO;
}

void fk_hal_serial(uint8_t serial[8]) { memcpy(serial, otp.serial, SERIAL_LEN); }

/* hal.h's OTP functions: the shared mapping over the logical OTP (otp_hal.c). */
static fk_lotp_t *lotp_if_open(void) { return otp.ready ? &otp.lotp : NULL; }

int fk_hal_otp_key(fk_hal_otp_key_t which, uint8_t out[FK_HAL_OTP_KEY_LEN])
{
    return fk_otp_hal_key(lotp_if_open(), which, out);
}

int fk_hal_otp_state(fk_hal_otp_state_t *st) { return fk_otp_hal_state(lotp_if_open(), st); }

int fk_hal_otp_lock_keys(void) { return fk_otp_hal_lock_keys(lotp_if_open()); }

int fk_hal_otp_require_rollback(void) { return fk_otp_hal_require_rollback(lotp_if_open()); }
