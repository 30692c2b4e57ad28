/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_ecc.h - the RP2350 OTP row code: the bootrom's 16 -> 22-bit SECDED
 * encoder, bit repair by polarity (BRBP) on writes, and the hardware's read
 * decode (BRBP first, then SECDED).
 *
 * A raw row holds 24 bits:
 *
 *    23   22   21      16 15                 0
 *   +----+----+----------+--------------------+
 *   |BRBP|BRBP| parity   |       data         |
 *   +----+----+----------+--------------------+
 *
 * Parity bits 16-20 cover data bits only; bit 21 makes the 22-bit codeword
 * of even parity. When a codeword cannot be programmed over what a row
 * already holds (it would need a 1 -> 0 change), the writer programs the
 * complement of the whole row instead, with both BRBP bits set; the reader
 * complements a row whose BRBP bits are both set before decoding.
 *
 * Pure functions without state, used by the OTP model (otp_model.h) and
 * its tests (docs/otp.md).
 */
#ifndef FUSEKEY_OTP_ECC_H
#define FUSEKEY_OTP_ECC_H

#include <stdbool.h>
#include <stdint.h>

#define FK_OTP_ROW_MASK 0xFFFFFFu      /* the 24 bits of a raw row */
#define FK_OTP_CODEWORD_MASK 0x3FFFFFu /* the 22 bits of an ECC codeword */
#define FK_OTP_BRBP_MASK 0xC00000u     /* the two bit-repair-by-polarity bits */
#define FK_OTP_DATA_MASK 0xFFFFu

typedef enum fk_otp_ecc_status {
    FK_OTP_ECC_OK = 0,          /* the codeword was intact */
    FK_OTP_ECC_CORRECTED,       /* one bit was wrong and has been corrected */
    FK_OTP_ECC_UNCORRECTABLE,   /* two (or more) bits wrong: data is unreliable */
} fk_otp_ecc_status_t;

/* The 22-bit codeword of data (bits 23:22 zero), as the bootrom encodes it. */
uint32_t fk_otp_ecc_encode(uint16_t data);

/* Decode a raw row (bits above 23 ignored): BRBP, then SECDED. *data gets
 * the corrected data, or for an uncorrectable row the BRBP-processed low
 * 16 bits (what the unguarded hardware view returns). */
fk_otp_ecc_status_t fk_otp_ecc_decode(uint32_t raw, uint16_t *data);

/* The raw value an ECC write of data must leave in a row holding cur, with
 * bit repair by polarity. Returns false (and leaves *next alone) when
 * neither the codeword nor its complement can be programmed over cur. */
bool fk_otp_ecc_write_value(uint32_t cur, uint16_t data, uint32_t *next);

#endif /* FUSEKEY_OTP_ECC_H */
