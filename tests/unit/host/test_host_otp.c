/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_host_otp.c - the host port's OTP: a new file in the factory state,
 * the OTP functions of hal.h over the RP2350 OTP model (the root keys
 * absent, present, damaged and locked; the state against crafted rows; the
 * two firmware writes with their preconditions, idempotence, a foreign
 * lock, torn writes and lost writes), file format and persistence.
 *
 * Rows are set up through the model (fk_host_otp_model()): keys as the
 * bootloader burns them (`fusekey otp burn` from BOOTSEL, then a reset),
 * flags and damage as raw writes of the secure principal.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hal.h"
#include "host_port.h"
#include "otphook.h"
#include "otp_model.h"
#include "tmpdir.h"
#include "util.h"

#define ROW_BYTES 4u
#define OTP_BYTES (FK_OTP_MODEL_ROWS * ROW_BYTES)
#define SERIAL_LEN 8u
#define KEY_LEN FK_HAL_OTP_KEY_LEN
#define FILL 0xA5u
#define TWO_BIT_ERROR 0x000003u /* two data bits of a zero codeword: uncorrectable */
#define ONE_BIT_ERROR 0x000001u /* one data bit: corrected */
#define ALL_ONES 0xFFFFFFu
#define LOCK1_OTHER 0x3D3D3Du  /* a lock value this product never writes */
#define LOCK1_ONE_COPY 0x00003Cu
#define LOCK1_ALL_CLOSED 0x3F3F3Fu /* S, NS and BL inaccessible */
#define LOCK1_BL_RO_TWO 0x001010u /* BL read-only in two byte copies of three */
#define LOCK1_BL_RO_ONE 0x000010u
#define THERMO_BITS_0_AND_2 0x000005u
#define THERMO_BIT_6 0x000040u /* in VERSION1: version bit 30 */
#define SLOT_VALID(s) (1u << (s))
#define SLOT_INVALID(s) (1u << (FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT + (s)))
#define ROLLBACK_CAPACITY 48u
#define LOCK_ROW_58 ((uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS))
#define PAGE_BOOTKEYS 2u

static const uint8_t k_serial[SERIAL_LEN] = {0xF0, 0x5E, 0x0B, 0x1E, 0x5E, 0x21, 0xA1, 0xC0};

typedef struct {
    tmpdir_t tmp;
    char path[TMPPATH_CAP];
} fixture_t;

/* ---- Rig ------------------------------------------------------------------ */

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    tmpdir_make(&f->tmp);
    tmpdir_path(&f->tmp, "otp.bin", f->path);
    fk_host_set_serial(k_serial);
    if (fk_host_otp_open(f->path) != 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fk_host_otp_close();
    tmpdir_remove(&f->tmp);
    free(f);
    return 0;
}

static fk_otp_t *model(void)
{
    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    return m;
}

/* The raw row as stored in the file (4 bytes little-endian). */
static uint32_t file_row(const char *path, uint16_t row)
{
    uint8_t b[ROW_BYTES];
    const int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, sizeof b, (off_t)row * ROW_BYTES), (ssize_t)sizeof b);
    close(fd);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t raw_row(uint16_t row) { return model()->raw[row]; }

/* Add bits to a raw row as secure firmware writes it (cur | bits). */
static void or_row(uint16_t row, uint32_t bits)
{
    const uint32_t v = raw_row(row) | bits;
    assert_int_equal(fk_otp_write_raw(model(), FK_OTP_SECURE, row, &v, 1), FK_OTP_OK);
}

/* The same bits in each of `copies` rows from `first` on. */
static void or_copies(uint16_t first, unsigned copies, uint32_t bits)
{
    for (unsigned i = 0; i < copies; i++) or_row((uint16_t)(first + i), bits);
}

static void make_key(uint8_t key[KEY_LEN], uint8_t seed)
{
    for (unsigned i = 0; i < KEY_LEN; i++) key[i] = (uint8_t)(seed + 13u * i + 1u);
}

/* Burn a key as `fusekey otp burn` does: BOOTSEL, ECC rows (bytes 2i, 2i+1
 * low byte first), then the reset of the next start. */
static void burn_key(uint16_t row, const uint8_t key[KEY_LEN])
{
    uint16_t rows[FK_OTP_KEY_ROWS];
    for (unsigned i = 0; i < FK_OTP_KEY_ROWS; i++)
        rows[i] = (uint16_t)(key[2 * i] | key[2 * i + 1] << 8);
    fk_otp_enter_bootsel(model());
    assert_int_equal(fk_otp_write_ecc(model(), FK_OTP_BOOTSEL, row, rows, FK_OTP_KEY_ROWS),
                     FK_OTP_OK);
    fk_otp_reset(model());
}

static void expect_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) assert_int_equal(p[i], 0);
}

/* fk_hal_otp_key's result for `which`; a failure leaves out all zero. */
static int read_key(fk_hal_otp_key_t which, uint8_t out[KEY_LEN])
{
    memset(out, FILL, KEY_LEN);
    const int rc = fk_hal_otp_key(which, out);
    if (rc != FK_HAL_OK) expect_zero(out, KEY_LEN);
    return rc;
}

static fk_hal_otp_state_t read_state(void)
{
    fk_hal_otp_state_t st;
    memset(&st, FILL, sizeof st);
    assert_int_equal(fk_hal_otp_state(&st), FK_HAL_OK);
    return st;
}

/* A chip with secure boot on, as `fusekey secure-boot enable` leaves it. */
static void secure_boot_on(void)
{
    or_copies(FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, SLOT_VALID(0));
    or_copies(FK_OTP_ROW_CRIT1, FK_OTP_CRIT_COPIES, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
}

/* ---- Factory state ---------------------------------------------------------- */

/* A new file is a new chip: CHIPID = the serial (big-endian, row 0 =
 * bits 15:0), 128 random RANDID bits, the factory page locks, the rest
 * blank; the firmware sees no key, no lock, no secure boot. */
static void test_factory_state(void **state)
{
    fixture_t *f = *state;
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, OTP_BYTES);

    uint8_t chipid[SERIAL_LEN];
    assert_int_equal(fk_host_otp_chipid(chipid), 0);
    assert_memory_equal(chipid, k_serial, SERIAL_LEN);
    uint16_t randid[FK_OTP_RANDID_ROWS] = {0};
    assert_int_equal(fk_otp_read_ecc(model(), FK_OTP_SECURE, FK_OTP_ROW_RANDID, randid,
                                     FK_OTP_RANDID_ROWS, NULL),
                     FK_OTP_OK);
    uint16_t any = 0;
    for (unsigned i = 0; i < FK_OTP_RANDID_ROWS; i++) any |= randid[i];
    assert_int_not_equal(any, 0);

    static const struct {
        unsigned page;
        uint32_t lock1;
    } factory[] = {{0, 0x151515}, {1, 0x040404}, {2, 0x040404}, {62, 0x040404}, {63, 0x141414}};
    for (size_t i = 0; i < FK_ARRAY_SIZE(factory); i++)
        assert_int_equal(raw_row((uint16_t)FK_OTP_ROW_PAGE_LOCK1(factory[i].page)),
                         factory[i].lock1);
    for (unsigned r = FK_OTP_ROW_RANDID + FK_OTP_RANDID_ROWS; r < FK_OTP_MODEL_ROWS; r++) {
        bool is_factory = false;
        for (size_t i = 0; i < FK_ARRAY_SIZE(factory); i++)
            is_factory = is_factory || r == FK_OTP_ROW_PAGE_LOCK1(factory[i].page);
        if (!is_factory) assert_int_equal(raw_row((uint16_t)r), 0);
    }
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++)
        assert_int_equal(file_row(f->path, (uint16_t)r), raw_row((uint16_t)r));

    uint8_t key[KEY_LEN];
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, key), FK_HAL_ENOENT);
    assert_int_equal(read_key(FK_HAL_OTP_DEVK, key), FK_HAL_ENOENT);
    const fk_hal_otp_state_t s = read_state();
    assert_int_equal(s.keys_lock, FK_HAL_KEYS_UNLOCKED);
    assert_false(s.secure_boot);
    assert_false(s.boot_locked); /* factory 0x040404: the bootloader may still write */
    assert_int_equal(s.boot_key, FK_HAL_NO_BOOT_KEY);
    assert_false(s.rollback_required);
    assert_int_equal(s.rollback_floor, 0);
    assert_int_equal(s.rollback_capacity, ROLLBACK_CAPACITY);
}

/* ---- Root keys -------------------------------------------------------------- */

static void test_keys_present(void **state)
{
    (void)state;
    uint8_t mkek[KEY_LEN], devk[KEY_LEN], got[KEY_LEN];
    make_key(mkek, 0x10);
    make_key(devk, 0x20);
    burn_key(FK_OTP_ROW_MKEK, mkek);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_OK);
    assert_memory_equal(got, mkek, KEY_LEN);
    assert_int_equal(read_key(FK_HAL_OTP_DEVK, got), FK_HAL_ENOENT);
    burn_key(FK_OTP_ROW_DEVK, devk);
    assert_int_equal(read_key(FK_HAL_OTP_DEVK, got), FK_HAL_OK);
    assert_memory_equal(got, devk, KEY_LEN);
    /* Byte order: bytes 0 and 1 are the low and high byte of the first row. */
    assert_int_equal(raw_row(FK_OTP_ROW_DEVK) & FK_OTP_DATA_MASK, devk[0] | devk[1] << 8);
    /* A single-bit error is corrected. */
    const uint16_t row = (uint16_t)(FK_OTP_ROW_MKEK + 4u);
    uint32_t flip = 1u;
    while (raw_row(row) & flip) flip <<= 1;
    or_row(row, flip);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_OK);
    assert_memory_equal(got, mkek, KEY_LEN);
    /* A key the device does not have. */
    assert_int_equal(read_key((fk_hal_otp_key_t)2, got), FK_HAL_ENOENT);
}

/* Programmed but damaged is never "absent": an uncorrectable row, rows
 * destroyed to all ones (which read 0x0000 through ECC), or a stray bit in
 * otherwise blank rows are FK_HAL_EIO. */
static void test_keys_damaged(void **state)
{
    (void)state;
    uint8_t key[KEY_LEN], got[KEY_LEN];
    make_key(key, 0x30);
    burn_key(FK_OTP_ROW_DEVK, key);
    uint32_t bits = TWO_BIT_ERROR;
    while (raw_row(FK_OTP_ROW_DEVK + 7u) & bits) bits <<= 2;
    or_row((uint16_t)(FK_OTP_ROW_DEVK + 7u), bits);
    assert_int_equal(read_key(FK_HAL_OTP_DEVK, got), FK_HAL_EIO);

    or_copies(FK_OTP_ROW_MKEK, FK_OTP_KEY_ROWS, ALL_ONES);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_EIO);
}

static void test_key_stray_bit(void **state)
{
    (void)state;
    uint8_t got[KEY_LEN];
    or_row((uint16_t)(FK_OTP_ROW_MKEK + 9u), ONE_BIT_ERROR);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_EIO);
    or_row((uint16_t)(FK_OTP_ROW_DEVK + 2u), TWO_BIT_ERROR);
    assert_int_equal(read_key(FK_HAL_OTP_DEVK, got), FK_HAL_EIO);
}

/* A lock that forbids the firmware its own key page: FK_HAL_EPERM, whether
 * a key is there or not (it cannot know). */
static void test_keys_locked(void **state)
{
    fixture_t *f = *state;
    uint8_t key[KEY_LEN], got[KEY_LEN];
    make_key(key, 0x40);
    burn_key(FK_OTP_ROW_MKEK, key);
    /* The soft lock: the secure level of page 58 raised for this session. */
    assert_int_equal(
        fk_otp_sw_lock(model(), FK_OTP_SECURE, FK_OTP_PAGE_KEYS, FK_OTP_LOCK_INACCESSIBLE),
        FK_OTP_OK);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_EPERM);
    assert_int_equal(read_key(FK_HAL_OTP_DEVK, got), FK_HAL_EPERM);
    /* A LOCK1 that closes page 58 to secure code too, from the next start. */
    fk_host_otp_close();
    assert_int_equal(fk_host_otp_open(f->path), 0);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_OK);
    or_row(LOCK_ROW_58, LOCK1_ALL_CLOSED);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_OK); /* not yet */
    fk_host_otp_close();
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_EPERM); /* no image open */
    assert_int_equal(fk_host_otp_open(f->path), 0);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_EPERM);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_LOCK_OTHER);
}

/* ---- State -------------------------------------------------------------------- */

/* Each field against crafted rows, through the votes the boot ROM uses. */
static void test_state_secure_boot(void **state)
{
    (void)state;
    or_copies(FK_OTP_ROW_CRIT1, 2, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
    assert_false(read_state().secure_boot); /* 2 of 8 */
    or_copies((uint16_t)(FK_OTP_ROW_CRIT1 + 5u), 1, FK_OTP_CRIT1_SECURE_BOOT_ENABLE);
    assert_true(read_state().secure_boot); /* 3 of 8 */
}

static void test_state_boot_key(void **state)
{
    (void)state;
    /* Slot 1 valid in one copy of three: not valid. */
    or_row(FK_OTP_ROW_BOOT_FLAGS1, SLOT_VALID(1));
    assert_int_equal(read_state().boot_key, FK_HAL_NO_BOOT_KEY);
    or_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS1 + 1u), SLOT_VALID(2));
    or_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS1 + 2u), SLOT_VALID(2));
    assert_int_equal(read_state().boot_key, 2);
    or_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS1 + 2u), SLOT_VALID(1));
    assert_int_equal(read_state().boot_key, 1); /* the first valid slot */
    or_copies(FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, SLOT_INVALID(1));
    assert_int_equal(read_state().boot_key, 2); /* revoked does not count */
    or_copies(FK_OTP_ROW_BOOT_FLAGS1, FK_OTP_RBIT3_COPIES, SLOT_INVALID(2));
    assert_int_equal(read_state().boot_key, FK_HAL_NO_BOOT_KEY);
}

/* "Boot locked": the BL field of page 1's or page 2's LOCK1, by the byte
 * vote, is not read-write. */
static void test_state_boot_locked(void **state)
{
    (void)state;
    const uint16_t page1 = (uint16_t)FK_OTP_ROW_PAGE_LOCK1(1);
    const uint16_t page2 = (uint16_t)FK_OTP_ROW_PAGE_LOCK1(2);
    or_row(page2, LOCK1_BL_RO_ONE);
    assert_false(read_state().boot_locked);
    or_row(page2, LOCK1_BL_RO_TWO);
    assert_true(read_state().boot_locked);
    /* Page 1 alone does it too (a fresh file for a clean page 2). */
    fk_host_otp_close();
    fixture_t *f = *state;
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(fk_host_otp_open(f->path), 0);
    assert_false(read_state().boot_locked);
    or_row(page1, FK_OTP_LOCK1_BOOT_PAGES);
    assert_true(read_state().boot_locked);
}

static void test_state_rollback(void **state)
{
    (void)state;
    or_copies(FK_OTP_ROW_BOOT_VERSION0, FK_OTP_RBIT3_COPIES, THERMO_BITS_0_AND_2);
    fk_hal_otp_state_t s = read_state();
    assert_int_equal(s.rollback_floor, 3); /* highest bit + 1, not a count */
    assert_int_equal(s.rollback_capacity, ROLLBACK_CAPACITY);
    or_copies(FK_OTP_ROW_BOOT_VERSION1, 1, THERMO_BIT_6);
    assert_int_equal(read_state().rollback_floor, 3); /* one copy of three */
    or_copies((uint16_t)(FK_OTP_ROW_BOOT_VERSION1 + 1u), 1, THERMO_BIT_6);
    assert_int_equal(read_state().rollback_floor, 31);
    or_row(FK_OTP_ROW_BOOT_FLAGS0, FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
    assert_false(read_state().rollback_required);
    or_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + 2u), FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
    assert_true(read_state().rollback_required);
}

/* The key lock is compared raw and whole: only 0x3C3C3C is ours. */
static void test_state_keys_lock(void **state)
{
    fixture_t *f = *state;
    or_row(LOCK_ROW_58, LOCK1_ONE_COPY);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_LOCK_OTHER);
    or_row(LOCK_ROW_58, FK_OTP_LOCK1_PAGE58);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_LOCKED);
    fk_host_otp_close();
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(fk_host_otp_open(f->path), 0);
    or_row(LOCK_ROW_58, LOCK1_OTHER);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_LOCK_OTHER);
}

/* Boot-key rows the firmware cannot read do not hide the flags. */
static void test_state_unreadable_boot_keys(void **state)
{
    (void)state;
    secure_boot_on();
    assert_int_equal(fk_otp_sw_lock(model(), FK_OTP_SECURE, PAGE_BOOTKEYS, FK_OTP_LOCK_INACCESSIBLE),
                     FK_OTP_OK);
    const fk_hal_otp_state_t s = read_state();
    assert_true(s.secure_boot);
    assert_int_equal(s.boot_key, 0);
}

static void test_state_unreadable(void **state)
{
    (void)state;
    fk_hal_otp_state_t s;
    /* Page 1 (CRIT1, the boot flags) closed to the firmware. */
    assert_int_equal(fk_otp_sw_lock(model(), FK_OTP_SECURE, 1, FK_OTP_LOCK_INACCESSIBLE),
                     FK_OTP_OK);
    assert_int_equal(fk_hal_otp_state(&s), FK_HAL_EPERM);
    fk_host_otp_close();
    assert_int_equal(fk_hal_otp_state(&s), FK_HAL_EPERM);
}

/* ---- The page-58 lock ----------------------------------------------------------- */

static void test_lock_keys(void **state)
{
    fixture_t *f = *state;
    uint8_t key[KEY_LEN], got[KEY_LEN];
    /* No MKEK: refused, nothing written. */
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_ESTATE);
    assert_int_equal(fk_otphook_programmed(), 0);
    make_key(key, 0x50);
    burn_key(FK_OTP_ROW_DEVK, key);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_ESTATE); /* a DEVK is not enough */
    assert_int_equal(raw_row(LOCK_ROW_58), 0);

    burn_key(FK_OTP_ROW_MKEK, key);
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_OK);
    assert_int_equal(fk_otphook_programmed(), 1);
    assert_int_equal(raw_row(LOCK_ROW_58), FK_OTP_LOCK1_PAGE58);
    assert_int_equal(file_row(f->path, LOCK_ROW_58), FK_OTP_LOCK1_PAGE58);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_LOCKED);
    /* Idempotent: nothing written the second time. */
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_OK);
    assert_int_equal(fk_otphook_programmed(), 0);

    /* In force from the next start: the firmware keeps its keys, the
     * bootloader and non-secure code lose them. */
    fk_host_otp_close();
    assert_int_equal(fk_host_otp_open(f->path), 0);
    assert_int_equal(read_key(FK_HAL_OTP_MKEK, got), FK_HAL_OK);
    assert_memory_equal(got, key, KEY_LEN);
    assert_int_equal(fk_otp_alias_raw(model(), FK_OTP_NONSECURE, FK_OTP_ROW_MKEK), 0xFFFFFFFFu);
    fk_otp_enter_bootsel(model());
    uint16_t row = 0;
    assert_int_equal(fk_otp_read_ecc(model(), FK_OTP_BOOTSEL, FK_OTP_ROW_MKEK, &row, 1, NULL),
                     FK_OTP_ENOT_PERMITTED);
}

/* Another lock value, or a damaged MKEK: refused, nothing written. */
static void test_lock_keys_refused(void **state)
{
    fixture_t *f = *state;
    uint8_t key[KEY_LEN];
    make_key(key, 0x60);
    burn_key(FK_OTP_ROW_MKEK, key);
    or_row(LOCK_ROW_58, LOCK1_ONE_COPY);
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_ESTATE);
    assert_int_equal(fk_otphook_programmed(), 0);
    assert_int_equal(raw_row(LOCK_ROW_58), LOCK1_ONE_COPY);

    fk_host_otp_close();
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(fk_host_otp_open(f->path), 0);
    or_copies(FK_OTP_ROW_MKEK, FK_OTP_KEY_ROWS, ALL_ONES);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_ESTATE);
    assert_int_equal(raw_row(LOCK_ROW_58), 0);
}

/* A lock write that fails or does not take: FK_HAL_EIO, and the state says
 * what the row holds. */
static void test_lock_keys_write_fails(void **state)
{
    (void)state;
    uint8_t key[KEY_LEN];
    make_key(key, 0x70);
    burn_key(FK_OTP_ROW_MKEK, key);
    /* Lost: reported done, the row still blank (the read-back catches it). */
    fk_otphook_rows(LOCK_ROW_58, 1, ALL_ONES, false);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_EIO);
    assert_int_equal(raw_row(LOCK_ROW_58), 0);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_UNLOCKED);
    /* Refused by the chip, nothing programmed. */
    fk_otphook_rows(LOCK_ROW_58, 1, ALL_ONES, true);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_EIO);
    assert_int_equal(raw_row(LOCK_ROW_58), 0);
    /* Programmed, but the write reported failing: EIO now, done next time. */
    fk_otphook_rows(LOCK_ROW_58, 1, 0, true);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_EIO);
    assert_int_equal(read_state().keys_lock, FK_HAL_KEYS_LOCKED);
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_OK);
    assert_int_equal(fk_otphook_programmed(), 0);
    fk_host_otp_close();
    assert_int_equal(fk_hal_otp_lock_keys(), FK_HAL_EIO);
}

/* ---- ROLLBACK_REQUIRED ------------------------------------------------------------ */

static uint32_t rr_copies(void)
{
    uint32_t got = 0;
    for (unsigned i = 0; i < FK_OTP_RBIT3_COPIES; i++) {
        if (raw_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + i)) & FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED)
            got |= 1u << i;
    }
    return got;
}

static void test_require_rollback(void **state)
{
    fixture_t *f = *state;
    const uint32_t other = 1u; /* another BOOT_FLAGS0 option, in copy 2 */
    or_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + 2u), other);
    /* Without secure boot: refused, nothing written. */
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_ESTATE);
    assert_int_equal(fk_otphook_programmed(), 0);

    secure_boot_on();
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_OK);
    assert_int_equal(fk_otphook_programmed(), FK_OTP_RBIT3_COPIES);
    assert_int_equal(rr_copies(), 7);
    assert_int_equal(raw_row((uint16_t)(FK_OTP_ROW_BOOT_FLAGS0 + 2u)),
                     FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED | other);
    assert_int_equal(file_row(f->path, FK_OTP_ROW_BOOT_FLAGS0),
                     FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED);
    assert_true(read_state().rollback_required);
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_OK);
    assert_int_equal(fk_otphook_programmed(), 0);
}

/* Torn writes: what counts is the vote read back. */
static void test_require_rollback_torn(void **state)
{
    (void)state;
    const uint32_t rr = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    secure_boot_on();
    /* Copy 0 refuses: two of three still carry the flag. */
    fk_otphook_rows(FK_OTP_ROW_BOOT_FLAGS0, 1, rr, true);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_OK);
    assert_int_equal(rr_copies(), 6);
    assert_true(read_state().rollback_required);
}

static void test_require_rollback_lost(void **state)
{
    (void)state;
    const uint32_t rr = FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED;
    secure_boot_on();
    /* Copies 0 and 1 lose the bit silently: the read-back vote says no. */
    fk_otphook_rows(FK_OTP_ROW_BOOT_FLAGS0, 2, rr, false);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_EIO);
    assert_int_equal(rr_copies(), 4);
    assert_false(read_state().rollback_required);
    /* Copies 0 and 1 refuse. */
    fk_otphook_rows(FK_OTP_ROW_BOOT_FLAGS0, 2, rr, true);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_EIO);
    /* The chip working again finishes the job. */
    fk_otphook_rows(0, 0, 0, false);
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_OK);
    assert_int_equal(fk_otphook_programmed(), 2);
    assert_int_equal(rr_copies(), 7);
    fk_host_otp_close();
    assert_int_equal(fk_hal_otp_require_rollback(), FK_HAL_EIO);
}

/* ---- The file ----------------------------------------------------------------------- */

/* The stepping and chip id of an explicit open; a second open is refused. */
static void test_open_chip(void **state)
{
    fixture_t *f = *state;
    fk_host_otp_close();
    static const uint8_t chip[SERIAL_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t id[SERIAL_LEN];
    assert_int_equal(fk_host_otp_chipid(id), -1); /* nothing open */
    char path[TMPPATH_CAP];
    tmpdir_path(&f->tmp, "a3.bin", path);
    assert_int_equal(fk_host_otp_open_chip(path, FK_OTP_STEPPING_A3, chip), 0);
    assert_int_equal(model()->stepping, FK_OTP_STEPPING_A3);
    assert_int_equal(fk_host_otp_open(f->path), -1);
    assert_int_equal(fk_host_otp_chipid(id), 0);
    assert_memory_equal(id, chip, SERIAL_LEN);
    assert_int_equal(raw_row(FK_OTP_ROW_CHIPID) & FK_OTP_DATA_MASK, 0x0708);
    /* An uncorrectable CHIPID row (a defect: page 0 is read-only) is not a
     * chip id. */
    uint32_t bits = TWO_BIT_ERROR;
    while (raw_row(FK_OTP_ROW_CHIPID + 1u) & bits) bits <<= 2;
    model()->raw[FK_OTP_ROW_CHIPID + 1u] |= bits;
    assert_int_equal(fk_host_otp_chipid(id), -1);
    expect_zero(id, SERIAL_LEN);
}

static void test_persistence_and_format(void **state)
{
    fixture_t *f = *state;
    const uint16_t row = 0x7FF;
    or_row(row, 0xABCDEF);
    fk_host_otp_close();
    assert_null(fk_host_otp_model());

    uint8_t b[ROW_BYTES];
    const int fd = open(f->path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, sizeof b, row * ROW_BYTES), (ssize_t)sizeof b);
    assert_int_equal(b[0], 0xEF); /* little-endian */
    assert_int_equal(b[1], 0xCD);
    assert_int_equal(b[2], 0xAB);
    assert_int_equal(b[3], 0x00);

    assert_int_equal(fk_host_otp_open(f->path), 0);
    assert_int_equal(raw_row(row), 0xABCDEF);
    fk_host_otp_close();

    /* A row with bits above 23 is not an OTP image: refused. */
    const uint8_t bad = 0x01;
    assert_int_equal(pwrite(fd, &bad, 1, 0x10 * ROW_BYTES + 3), 1);
    assert_int_equal(fk_host_otp_open(f->path), -1);
    /* Neither is a file of another size. */
    assert_int_equal(ftruncate(fd, OTP_BYTES - ROW_BYTES), 0);
    assert_int_equal(fk_host_otp_open(f->path), -1);
    close(fd);
    unlink(f->path);
    assert_int_equal(fk_host_otp_open(f->path), 0); /* a new chip again */
    assert_int_equal(raw_row(row), 0);
    assert_int_equal(raw_row((uint16_t)FK_OTP_ROW_PAGE_LOCK1(63)), 0x141414);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_factory_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_present, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_stray_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_secure_boot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_boot_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_boot_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_keys_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_unreadable_boot_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_keys_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_keys_write_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_rollback_torn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_rollback_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_chip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_format, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
