/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_map.h - the RP2350 OTP rows this product reads or writes, their bit
 * fields, and the redundancy votes that decide what a row "says".
 *
 * Pure data and pure functions, shared by the RP2350 side of the logical
 * OTP interface (otp_logical.c, which the ports put behind hal.h), the OTP
 * model, the bootrom model (boot/) and the fusekey tool, so that every one
 * of them agrees on the map. The portable core and the applets never see
 * it: they ask hal.h for what the device has (its keys, its OTP state). The
 * full table with encodings and who writes what is docs/otp.md.
 *
 * Encodings:
 *   ECC    one row = 16 data bits (otp/otp_ecc.h); keys and fingerprints
 *          are stored low byte first: bytes 2i, 2i+1 -> row base + i.
 *   RBIT-3 three consecutive raw rows, bitwise 2-of-3 vote.
 *   RBIT-8 eight consecutive raw rows, a bit counts when set in >= 3 rows.
 *   LOCK   a page-lock row holds three copies of one byte (bits 7:0,
 *          15:8, 23:16), bitwise 2-of-3 vote over the copies.
 */
#ifndef FUSEKEY_OTP_MAP_H
#define FUSEKEY_OTP_MAP_H

#include <stdbool.h>
#include <stdint.h>

#define FK_OTP_ROW_BITS 24u
#define FK_OTP_PAGE_ROWS 64u
#define FK_OTP_PAGES 64u
#define FK_OTP_PAGE_OF(row) ((unsigned)(row) >> 6)

/* ---- Factory rows (page 0, read-only) ------------------------------------ */
#define FK_OTP_ROW_CHIPID 0x000u /* 4 ECC rows: 64-bit public chip id, row 0 = bits 15:0 */
#define FK_OTP_CHIPID_ROWS 4u
#define FK_OTP_ROW_RANDID 0x004u /* 8 ECC rows: 128 random bits (public: BOOTSEL reads them) */
#define FK_OTP_RANDID_ROWS 8u

/* ---- Critical flags (RBIT-8) --------------------------------------------- */
#define FK_OTP_ROW_CRIT0 0x038u
#define FK_OTP_ROW_CRIT1 0x040u
#define FK_OTP_CRIT_COPIES 8u
#define FK_OTP_CRIT_VOTES 3u /* a critical bit is set when set in >= 3 of the 8 rows */
#define FK_OTP_CRIT1_SECURE_BOOT_ENABLE (1u << 0)
#define FK_OTP_CRIT1_SECURE_DEBUG_DISABLE (1u << 1)
#define FK_OTP_CRIT1_DEBUG_DISABLE (1u << 2)
#define FK_OTP_CRIT1_BOOT_ARCH (1u << 3)
#define FK_OTP_CRIT1_GLITCH_DETECTOR_ENABLE (1u << 4)
#define FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_SHIFT 5u
#define FK_OTP_CRIT1_GLITCH_DETECTOR_SENS_MASK (3u << 5)

/* ---- Boot flags and rollback thermometer (RBIT-3) ------------------------ */
#define FK_OTP_RBIT3_COPIES 3u
#define FK_OTP_ROW_BOOT_FLAGS0 0x048u
#define FK_OTP_BOOT_FLAGS0_ROLLBACK_REQUIRED (1u << 11)
#define FK_OTP_ROW_BOOT_FLAGS1 0x04Bu
#define FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK 0x00Fu   /* bit n: boot-key slot n valid */
#define FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT 8u
#define FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK 0xF00u /* bit 8+n: slot n revoked */
#define FK_OTP_ROW_BOOT_VERSION0 0x04Eu /* thermometer bits 0-23 */
#define FK_OTP_ROW_BOOT_VERSION1 0x051u /* thermometer bits 24-47 */
#define FK_OTP_ROLLBACK_BITS 48u       /* capacity the status reports */
#define FK_OTP_ROW_USB_BOOT_FLAGS 0x059u

/* ---- Boot-key fingerprints (ECC) ----------------------------------------- */
#define FK_OTP_BOOTKEY_SLOTS 4u
#define FK_OTP_BOOTKEY_ROWS 16u /* SHA-256 of the 64-byte public key */
#define FK_OTP_ROW_BOOTKEY(slot) (0x080u + FK_OTP_BOOTKEY_ROWS * (unsigned)(slot))

/* ---- This product's keys: page 58 (ECC) ---------------------------------- */
#define FK_OTP_PAGE_KEYS 58u
#define FK_OTP_ROW_DEVK 0xE80u   /* device key: secp256k1 scalar, 0 < d < n, big-endian bytes */
#define FK_OTP_ROW_MKEK 0xE90u   /* master key-encryption key: 32 random bytes */
#define FK_OTP_KEY_ROWS 16u      /* 32 bytes in 16 ECC rows */
#define FK_OTP_CHAFF_OFFSET 0x20u /* chaff of row r (raw complement) lives at r + 0x20 */
#define FK_OTP_ROW_DEVK_CHAFF (FK_OTP_ROW_DEVK + FK_OTP_CHAFF_OFFSET)
#define FK_OTP_ROW_MKEK_CHAFF (FK_OTP_ROW_MKEK + FK_OTP_CHAFF_OFFSET)
/* Older firmware kept its keys in page 59; this product never writes there. */
#define FK_OTP_ROW_LEGACY_DEVK 0xED0u
#define FK_OTP_ROW_LEGACY_MKEK 0xEF0u

/* ---- Page locks (three byte copies per row) ------------------------------ */
#define FK_OTP_ROW_PAGE_LOCK0(page) (0xF80u + 2u * (unsigned)(page))
#define FK_OTP_ROW_PAGE_LOCK1(page) (0xF81u + 2u * (unsigned)(page))
#define FK_OTP_ROW_LOCKS_FIRST 0xF80u
/* LOCK1 byte: three 2-bit thermometers, 0 read-write, 1 read-only,
 * 2 (reserved) and 3 inaccessible. */
#define FK_OTP_LOCK1_S_SHIFT 0u  /* secure firmware */
#define FK_OTP_LOCK1_NS_SHIFT 2u /* non-secure code */
#define FK_OTP_LOCK1_BL_SHIFT 4u /* the bootloader (BOOTSEL / PICOBOOT) */
#define FK_OTP_LOCK_RW 0u
#define FK_OTP_LOCK_RO 1u
#define FK_OTP_LOCK_INACCESSIBLE 3u
/* The two lock values the product writes. */
#define FK_OTP_LOCK1_PAGE58 0x3C3C3Cu     /* S read-write, NS and BL inaccessible */
#define FK_OTP_LOCK1_BOOT_PAGES 0x141414u /* S read-write, NS and BL read-only (pages 1, 2) */

/* ---- Votes ---------------------------------------------------------------- */

/* Bitwise 2-of-3 majority. */
static inline uint32_t fk_otp_maj3(uint32_t a, uint32_t b, uint32_t c)
{
    return (a & b) | (a & c) | (b & c);
}

/* The value of an RBIT-3 field from its three raw copies. */
static inline uint32_t fk_otp_rbit3(const uint32_t copies[FK_OTP_RBIT3_COPIES])
{
    return fk_otp_maj3(copies[0], copies[1], copies[2]);
}

/* The value of an RBIT-8 field: bit b is set when set in >= 3 of 8 rows. */
uint32_t fk_otp_rbit8(const uint32_t copies[FK_OTP_CRIT_COPIES]);

/* The byte a page-lock row says (2-of-3 vote over its three byte copies). */
static inline uint8_t fk_otp_lock_byte(uint32_t raw)
{
    return (uint8_t)fk_otp_maj3(raw & 0xFFu, (raw >> 8) & 0xFFu, (raw >> 16) & 0xFFu);
}

/* A 2-bit level (FK_OTP_LOCK_*) out of a LOCK1 byte, shift = *_SHIFT. */
static inline unsigned fk_otp_lock_field(uint8_t lock1, unsigned shift)
{
    return (lock1 >> shift) & 3u;
}

/* The rollback floor from the voted thermometer rows (bits 0-23, 24-47):
 * the index of the highest set bit plus one, 0 when no bit is set. (The
 * bootrom burns one bit per advance, so this is not a popcount.) */
unsigned fk_otp_rollback_floor(uint32_t version0, uint32_t version1);

/* The chip id from its FK_OTP_CHIPID_ROWS ECC rows (row i = bits 16i+15..16i)
 * as the 8 big-endian bytes tools print and USB uses as the serial. */
void fk_otp_chipid_bytes(const uint16_t rows[FK_OTP_CHIPID_ROWS], uint8_t chipid[8]);

/* Boot-key slots that count: KEY_VALID and not KEY_INVALID (bits 0-3). */
static inline unsigned fk_otp_valid_key_slots(uint32_t boot_flags1)
{
    return (boot_flags1 & FK_OTP_BOOT_FLAGS1_KEY_VALID_MASK) &
           ~((boot_flags1 & FK_OTP_BOOT_FLAGS1_KEY_INVALID_MASK) >>
             FK_OTP_BOOT_FLAGS1_KEY_INVALID_SHIFT);
}

#endif /* FUSEKEY_OTP_MAP_H */
