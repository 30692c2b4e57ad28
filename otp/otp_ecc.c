/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_ecc.c - RP2350 OTP row code (see otp_ecc.h and docs/otp.md).
 */
#include "otp_ecc.h"

#include <stddef.h>

#define ECC_PARITY_BITS 6u
#define ECC_SYNDROME_BITS 5u /* parity bits 16..20; bit 21 is the overall parity */
#define ECC_FIRST_PARITY_BIT 16u
#define ECC_DATA_BITS 16u

/* Parity masks of the encoder, applied in order to the word being built:
 * mask i sets parity bit 16 + i. Masks 0-4 touch data bits only; mask 5
 * covers data and parity bits 16-20, which makes the codeword even. */
static const uint32_t ecc_masks[ECC_PARITY_BITS] = {
    0x00AD5Bu, 0x00366Du, 0x00C78Eu, 0x0007F0u, 0x00F800u, 0x1FFFFFu,
};

/* Syndrome of a flipped data bit i: which of masks 0-4 contain bit i. */
static const uint8_t ecc_data_syndrome[ECC_DATA_BITS] = {
    0x03, 0x05, 0x06, 0x07, 0x09, 0x0A, 0x0B, 0x0C,
    0x0D, 0x0E, 0x0F, 0x11, 0x12, 0x13, 0x14, 0x15,
};

/* 1 when v has an odd number of set bits. */
static uint32_t parity32(uint32_t v)
{
    v ^= v >> 16;
    v ^= v >> 8;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return v & 1u;
}

uint32_t fk_otp_ecc_encode(uint16_t data)
{
    uint32_t p = data;
    for (unsigned i = 0; i < ECC_PARITY_BITS; i++) {
        p |= parity32(p & ecc_masks[i]) << (ECC_FIRST_PARITY_BIT + i);
    }
    return p;
}

/* True when v has exactly one bit set. */
static bool is_single_bit(uint32_t v) { return v != 0u && (v & (v - 1u)) == 0u; }

fk_otp_ecc_status_t fk_otp_ecc_decode(uint32_t raw, uint16_t *data)
{
    raw &= FK_OTP_ROW_MASK;
    if ((raw & FK_OTP_BRBP_MASK) == FK_OTP_BRBP_MASK) {
        raw ^= FK_OTP_ROW_MASK;
    }
    const uint32_t w = raw & FK_OTP_CODEWORD_MASK;

    uint32_t syndrome = 0;
    for (unsigned j = 0; j < ECC_SYNDROME_BITS; j++) {
        const uint32_t check = ecc_masks[j] | (1u << (ECC_FIRST_PARITY_BIT + j));
        syndrome |= parity32(w & check) << j;
    }
    const uint32_t overall = parity32(w);

    *data = (uint16_t)(w & FK_OTP_DATA_MASK);
    if (overall == 0u) {
        return syndrome == 0u ? FK_OTP_ECC_OK : FK_OTP_ECC_UNCORRECTABLE;
    }
    /* Odd overall parity: one flipped bit, located by the syndrome. Zero
     * means bit 21 itself, a single bit means one of parity bits 16-20;
     * both leave the data intact. */
    if (syndrome == 0u || is_single_bit(syndrome)) {
        return FK_OTP_ECC_CORRECTED;
    }
    for (unsigned i = 0; i < ECC_DATA_BITS; i++) {
        if (ecc_data_syndrome[i] == syndrome) {
            *data = (uint16_t)((w ^ (1u << i)) & FK_OTP_DATA_MASK);
            return FK_OTP_ECC_CORRECTED;
        }
    }
    return FK_OTP_ECC_UNCORRECTABLE;
}

bool fk_otp_ecc_write_value(uint32_t cur, uint16_t data, uint32_t *next)
{
    cur &= FK_OTP_ROW_MASK;
    uint32_t e = fk_otp_ecc_encode(data);
    if ((cur & ~e) != 0u) {
        e ^= FK_OTP_ROW_MASK; /* the complement, with both BRBP bits set */
    }
    if ((cur & ~e) != 0u) {
        return false;
    }
    *next = cur | e;
    return true;
}
