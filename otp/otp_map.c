/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_map.c - the redundancy votes of otp_map.h that are not one-liners.
 */
#include "otp_map.h"

uint32_t fk_otp_rbit8(const uint32_t copies[FK_OTP_CRIT_COPIES])
{
    uint32_t out = 0;
    for (unsigned bit = 0; bit < FK_OTP_ROW_BITS; bit++) {
        unsigned votes = 0;
        for (unsigned i = 0; i < FK_OTP_CRIT_COPIES; i++) votes += (copies[i] >> bit) & 1u;
        if (votes >= FK_OTP_CRIT_VOTES) out |= 1u << bit;
    }
    return out;
}

void fk_otp_chipid_bytes(const uint16_t rows[FK_OTP_CHIPID_ROWS], uint8_t chipid[8])
{
    for (unsigned i = 0; i < FK_OTP_CHIPID_ROWS; i++) {
        chipid[7u - 2u * i] = (uint8_t)rows[i];
        chipid[6u - 2u * i] = (uint8_t)(rows[i] >> 8);
    }
}

unsigned fk_otp_rollback_floor(uint32_t version0, uint32_t version1)
{
    const uint32_t halves[2] = {version1, version0}; /* highest half first */
    for (unsigned h = 0; h < 2u; h++) {
        const uint32_t v = halves[h] & ((1u << FK_OTP_ROW_BITS) - 1u);
        if (v == 0u) continue;
        unsigned top = FK_OTP_ROW_BITS - 1u;
        while (((v >> top) & 1u) == 0u) top--;
        return (1u - h) * FK_OTP_ROW_BITS + top + 1u;
    }
    return 0;
}
