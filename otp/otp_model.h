/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_model.h - a faithful model of the RP2350 OTP: 4096 rows of 24 bits
 * that can only go 0 -> 1, the ECC view with the bootrom's encoder and bit
 * repair, page locks with separate secure / non-secure / bootloader levels,
 * the soft locks (SW_LOCK) loaded at every OTP reset, and the bootrom's
 * otp_access() rules (row by row, stopping at the first failure).
 *
 * Used by the host port (the firmware's OTP, docs/host-sim.md), the bootrom
 * model (boot/) and the fusekey tool (BOOTSEL access, as picotool has on a
 * real board). Portable C, no OS header, no allocation: the caller owns the
 * fk_otp_t. The facts behind every rule are in docs/otp.md.
 */
#ifndef FUSEKEY_OTP_MODEL_H
#define FUSEKEY_OTP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otp_ecc.h"
#include "otp_map.h"
#include "otp_rows.h"

#define FK_OTP_MODEL_ROWS 4096u

/* Bootrom API results (the values of the RP2350 bootrom, so that a tool
 * can print what picotool would). */
enum {
    FK_OTP_OK = 0,
    FK_OTP_ENOT_PERMITTED = -4,            /* a page lock forbids it (PICOBOOT status 10) */
    FK_OTP_EINVALID_ARG = -5,              /* rows out of range, bad flags (status 11) */
    FK_OTP_EBAD_ALIGNMENT = -11,           /* buffer length not a multiple of the row size (5) */
    FK_OTP_EUNSUPPORTED_MODIFICATION = -18, /* a write would need a 1 -> 0 change (17) */
    FK_OTP_EFAULT = -100,                  /* a guarded alias read faulted (model only) */
    FK_OTP_EPERSIST = -101,                /* the persistence hook failed (model only) */
};

typedef enum fk_otp_stepping {
    FK_OTP_STEPPING_A2 = 0, /* erratum E15: otp_access checks lock rows against pages 62/63 */
    FK_OTP_STEPPING_A3 = 1, /* A3 and later: each lock row checked against its own page */
} fk_otp_stepping_t;

/* Who accesses the OTP. */
typedef enum fk_otp_principal {
    FK_OTP_SECURE = 0,  /* secure firmware: direct reads and the bootrom API */
    FK_OTP_NONSECURE,   /* non-secure code reading the data aliases directly */
    FK_OTP_NS_GATEWAY,  /* non-secure code through the bootrom's NS otp_access */
    FK_OTP_BOOTSEL,     /* PICOBOOT (picotool) while the chip is in BOOTSEL */
} fk_otp_principal_t;

/* Called after each row is programmed (value = the row's new raw content),
 * e.g. to write it through to a file. A non-zero return fails the access
 * with FK_OTP_EPERSIST; the row stays programmed in the model. */
typedef int (*fk_otp_persist_fn)(void *arg, uint16_t row, uint32_t value);

typedef struct fk_otp {
    uint32_t raw[FK_OTP_MODEL_ROWS]; /* bits 23:0 of each row; 31:24 always 0 */
    uint8_t sw_lock[FK_OTP_PAGES];   /* SW_LOCKp: bits 1:0 SEC, 3:2 NSEC */
    fk_otp_stepping_t stepping;
    bool in_bootsel;                 /* BOOTSEL entered since the last reset */
    fk_otp_persist_fn persist;       /* may be NULL */
    void *persist_arg;
} fk_otp_t;

/* A blank array (all rows zero, no locks) of the given stepping. */
void fk_otp_init(fk_otp_t *otp, fk_otp_stepping_t stepping);

/* Program what the factory programs on a new chip: CHIPID and RANDID (ECC),
 * and the factory page locks (page 0 0x151515; pages 1, 2 and 62 0x040404;
 * page 63 0x141414). Unchecked (the factory is not a principal), persisted,
 * then an OTP reset. */
int fk_otp_factory(fk_otp_t *otp, const uint8_t chipid[8], const uint8_t randid[16]);

/* OTP reset (power-on or chip reset): SW_LOCK of every page loaded from
 * its LOCK1 row (2-of-3 vote: SEC = S field, NSEC = NS field); BOOTSEL
 * mode left. Lock rows written since the last reset take effect here. */
void fk_otp_reset(fk_otp_t *otp);

/* The bootrom entering BOOTSEL: for every page, SW_LOCK |= NSEC inaccessible
 * and SEC raised to the page's BL level. Then serve PICOBOOT requests with
 * principal FK_OTP_BOOTSEL. */
void fk_otp_enter_bootsel(fk_otp_t *otp);

/* Write SW_LOCKp (ORed in: it can only tighten). Non-secure principals may
 * only raise NSEC. FK_OTP_EINVALID_ARG for a page >= 64. */
int fk_otp_sw_lock(fk_otp_t *otp, fk_otp_principal_t who, unsigned page, uint8_t value);

/* The effective level (FK_OTP_LOCK_RW / RO / INACCESSIBLE, 2 counting as
 * inaccessible) of `who` on `page` right now. */
unsigned fk_otp_level(const fk_otp_t *otp, fk_otp_principal_t who, unsigned page);

/* ---- otp_access(): the bootrom API and PICOBOOT OTP_READ / OTP_WRITE ------
 * Rows are processed one at a time: the permission check and, for writes,
 * the 1 -> 0 check are made per row; the first failure stops the access and
 * is returned, rows done before it stay done (a torn write). Rows past
 * FK_OTP_MODEL_ROWS: FK_OTP_EINVALID_ARG before anything is done. Rewriting
 * what a row already holds succeeds. Lock rows (0xF80-0xFFF) are checked
 * against page row>>6 on A2 (erratum E15) and against their own page on A3.
 * NONSECURE is not a principal of otp_access (FK_OTP_EINVALID_ARG). */
int fk_otp_read_raw(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, uint32_t *out,
                    size_t count);
/* Raw write: bits 31:24 of each value are ignored; the row becomes cur|val. */
int fk_otp_write_raw(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, const uint32_t *vals,
                     size_t count);
/* ECC read: the decoded 16 bits of each row. Like the bootrom, it does not
 * report ECC errors; *worst (may be NULL) gets the worst row status seen,
 * for callers that want the guarded alias's strictness. */
int fk_otp_read_ecc(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, uint16_t *out,
                    size_t count, fk_otp_ecc_status_t *worst);
/* ECC write with bit repair by polarity (otp_ecc.h). */
int fk_otp_write_ecc(fk_otp_t *otp, fk_otp_principal_t who, uint16_t row, const uint16_t *vals,
                     size_t count);

/* ---- Memory-mapped data aliases (direct reads by firmware) ----------------
 * Unguarded: a refused read returns all ones (0xFFFFFFFF raw, 0xFFFF ECC).
 * Guarded: FK_OTP_EFAULT (a bus fault) when refused or, for ECC, when the
 * row is uncorrectable. Lock rows are always readable. BOOTSEL and the NS
 * gateway are not alias principals (FK_OTP_EINVALID_ARG / all ones). */
uint32_t fk_otp_alias_raw(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row);
uint16_t fk_otp_alias_ecc(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row);
int fk_otp_alias_raw_guarded(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row,
                             uint32_t *out);
int fk_otp_alias_ecc_guarded(const fk_otp_t *otp, fk_otp_principal_t who, uint16_t row,
                             uint16_t *out);

/* ---- Votes over the model (secure guarded raw reads, as the bootrom) ------
 * Fields of otp_map.h. Return FK_OTP_OK or the read error. */
int fk_otp_read_rbit3(fk_otp_t *otp, fk_otp_principal_t who, uint16_t first_row, uint32_t *value);
int fk_otp_read_rbit8(fk_otp_t *otp, fk_otp_principal_t who, uint16_t first_row, uint32_t *value);
/* The voted LOCK1 byte of a page as programmed (not the soft lock). */
uint8_t fk_otp_page_lock1(const fk_otp_t *otp, unsigned page);

/* ---- Row access (otp_rows.h) ---------------------------------------------
 * The model as one otp_access principal behind the row-access interface of
 * the logical OTP layer: reads and writes go through fk_otp_read_raw /
 * _write_raw / _read_ecc / _write_ecc as `who` (ECC reads strict: an
 * uncorrectable row is FK_OTP_ROWS_EIO), soft locks are the model's
 * SW_LOCKp. Results: ENOT_PERMITTED, and a principal without access now
 * (BOOTSEL outside BOOTSEL), are FK_OTP_ROWS_EPERM; rows or pages past the
 * end FK_OTP_ROWS_ERANGE; a 1 -> 0 change or a failed persistence hook
 * FK_OTP_ROWS_EIO. */
typedef struct fk_otp_accessor {
    fk_otp_t *otp;
    fk_otp_principal_t who;
} fk_otp_accessor_t;

/* Fill *rows with the access of `who` on otp; *acc (the caller's) holds the
 * pair and must outlive every use of *rows. FK_OTP_EINVALID_ARG (nothing
 * filled) for NULL arguments or FK_OTP_NONSECURE, which has no otp_access. */
int fk_otp_rows_of(fk_otp_rows_t *rows, fk_otp_accessor_t *acc, fk_otp_t *otp,
                   fk_otp_principal_t who);

/* A short name for an error code ("permission failure", ...). */
const char *fk_otp_strerror(int rc);

#endif /* FUSEKEY_OTP_MODEL_H */
