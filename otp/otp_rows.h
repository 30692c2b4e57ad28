/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_rows.h - row access to one RP2350 OTP by one caller: what the RP2350
 * side of the logical OTP interface (otp_logical.h) needs, and nothing else.
 *
 * It is the bootrom's otp_access() as the chip offers it to secure firmware
 * (raw and ECC reads and writes of rows), plus the soft lock registers
 * SW_LOCKp, which secure firmware reads directly. Implementations:
 *   - the OTP model (otp_model.h: fk_otp_rows_of), for the host port, the
 *     tools and the tests, as any of its otp_access principals;
 *   - the RP2350 port, over the bootrom and the OTP registers.
 *
 * Rules every implementation keeps (docs/otp.md):
 *   - rows are processed one at a time, each checked against the caller's
 *     level on its page; the first row that fails ends the call with its
 *     error and the rows before it stay done (a write can be torn);
 *   - a span that passes the last row is refused before anything is done;
 *   - writes never OR for the caller: a row holding cur takes v only when
 *     cur & ~v == 0, and then holds v; rewriting what a row holds succeeds;
 *   - a lock row written takes effect at the next OTP reset.
 */
#ifndef FUSEKEY_OTP_ROWS_H
#define FUSEKEY_OTP_ROWS_H

#include <stddef.h>
#include <stdint.h>

/* Results. */
enum {
    FK_OTP_ROWS_OK = 0,
    FK_OTP_ROWS_EPERM = -1,  /* a page lock forbids this row to the caller, or the caller has
                                no access at all right now */
    FK_OTP_ROWS_EIO = -2,    /* a write would need a 1 -> 0 change or did not persist; an ECC
                                read met an uncorrectable row */
    FK_OTP_ROWS_ERANGE = -3, /* the span passes the last row (or the last page) */
};

typedef struct fk_otp_rows_ops {
    /* Read `count` raw rows (bits 23:0, bits 31:24 zero) from `row` on. */
    int (*read_raw)(void *ctx, uint16_t row, uint32_t *out, size_t count);
    /* Program `count` raw values from `row` on; bits 31:24 are ignored. */
    int (*write_raw)(void *ctx, uint16_t row, const uint32_t *vals, size_t count);
    /* Read `count` rows through ECC (16 data bits; a single-bit error is
     * corrected; an all-ones row reads 0x0000). FK_OTP_ROWS_EIO when any
     * row is uncorrectable: the guarded view's strictness, so that damaged
     * data is never taken for data. */
    int (*read_ecc)(void *ctx, uint16_t row, uint16_t *out, size_t count);
    /* Write `count` 16-bit values through ECC, with bit repair by polarity
     * (otp_ecc.h): FK_OTP_ROWS_EIO at a row where neither polarity fits. */
    int (*write_ecc)(void *ctx, uint16_t row, const uint16_t *vals, size_t count);
    /* The soft lock SW_LOCKp of `page` now: bits 1:0 secure, 3:2
     * non-secure, loaded from the page's LOCK1 at every OTP reset. */
    int (*read_soft_lock)(void *ctx, unsigned page, uint8_t *value);
} fk_otp_rows_ops_t;

/* One caller's access: the operations and their context (both owned by the
 * implementation's user, valid as long as the access is used). */
typedef struct fk_otp_rows {
    const fk_otp_rows_ops_t *ops;
    void *ctx;
} fk_otp_rows_t;

#endif /* FUSEKEY_OTP_ROWS_H */
