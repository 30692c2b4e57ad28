/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apdu.h - ISO/IEC 7816-4 command APDUs: parsing of cases 1-4 in short and
 * extended form, the status words and instruction bytes used by fusekey, and
 * a bounded response builder.
 */
#ifndef FUSEKEY_APDU_H
#define FUSEKEY_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Status words ------------------------------------------------------- */
typedef uint16_t fk_sw_t;

#define FK_SW_OK                      0x9000u
#define FK_SW_BYTES_REMAINING(n)      ((fk_sw_t)(0x6100u | ((n) > 0xFFu ? 0u : (n))))
#define FK_SW_END_OF_FILE             0x6282u
#define FK_SW_VERIFY_FAILED(n)        ((fk_sw_t)(0x63C0u | ((n) & 0x0Fu)))
#define FK_SW_EXEC_ERROR              0x6400u
#define FK_SW_MEMORY_FAILURE          0x6581u
#define FK_SW_PRESENCE_TIMEOUT        0x6600u
#define FK_SW_WRONG_LENGTH            0x6700u
#define FK_SW_LOGICAL_CHANNEL_NOT_SUPPORTED 0x6881u
#define FK_SW_SM_NOT_SUPPORTED        0x6882u
#define FK_SW_LAST_COMMAND_EXPECTED   0x6883u
#define FK_SW_CHAINING_NOT_SUPPORTED  0x6884u
#define FK_SW_SECURITY_NOT_SATISFIED  0x6982u
#define FK_SW_AUTH_BLOCKED            0x6983u
#define FK_SW_REF_DATA_NOT_USABLE     0x6984u
#define FK_SW_CONDITIONS_NOT_SATISFIED 0x6985u
#define FK_SW_COMMAND_NOT_ALLOWED     0x6986u
#define FK_SW_WRONG_DATA              0x6A80u
#define FK_SW_FUNC_NOT_SUPPORTED      0x6A81u
#define FK_SW_FILE_NOT_FOUND          0x6A82u
#define FK_SW_NOT_ENOUGH_MEMORY       0x6A84u
#define FK_SW_INCORRECT_P1P2          0x6A86u
#define FK_SW_REF_NOT_FOUND           0x6A88u
#define FK_SW_FILE_EXISTS             0x6A89u
#define FK_SW_WRONG_P1P2              0x6B00u
#define FK_SW_INS_NOT_SUPPORTED       0x6D00u
#define FK_SW_CLA_NOT_SUPPORTED       0x6E00u
#define FK_SW_UNKNOWN                 0x6F00u

/* ---- Class byte --------------------------------------------------------- */
#define FK_CLA_CHAIN        0x10u /* command chaining: more links follow */
#define FK_CLA_SM_MASK      0x0Cu /* secure messaging indication */
#define FK_CLA_CHANNEL_MASK 0x03u /* logical channel number */
#define FK_CLA_INVALID      0xFFu
#define FK_CLA_ISO          0x00u
#define FK_CLA_PROPRIETARY  0x80u

/* ---- Instruction bytes used by the core and the applets ----------------- */
#define FK_INS_SELECT            0xA4u
#define FK_INS_GET_RESPONSE      0xC0u
#define FK_INS_GET_CHALLENGE     0x84u
#define FK_INS_READ_BINARY       0xB0u
#define FK_INS_READ_BINARY_ODD   0xB1u
#define FK_INS_UPDATE_BINARY_ODD 0xD7u
#define FK_INS_DELETE_FILE       0xE4u
#define FK_INS_VERIFY            0x20u
#define FK_INS_CHANGE_REF_DATA   0x24u
#define FK_INS_RESET_RETRY       0x2Cu

/* SELECT P1 values */
#define FK_SELECT_P1_FID    0x00u
#define FK_SELECT_P1_AID    0x04u
#define FK_SELECT_P1_PATH   0x08u
/* SELECT P2 values */
#define FK_SELECT_P2_FCI    0x00u
#define FK_SELECT_P2_FCP    0x04u
#define FK_SELECT_P2_NONE   0x0Cu

/* ---- Parsed command ----------------------------------------------------- */
typedef struct fk_apdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data; /* Nc bytes (NULL when nc == 0) */
    size_t nc;           /* command data length, 0..65535 */
    size_t ne;           /* expected response length, 0..65536 (0 = none) */
    bool extended;       /* the APDU used extended length fields */
} fk_apdu_t;

/* Parse len bytes into *cmd (pointing into buf). Returns FK_SW_OK, or
 * FK_SW_WRONG_LENGTH for every malformed length encoding (too short,
 * Lc announcing more or fewer bytes than present, Lc of zero). */
fk_sw_t fk_apdu_parse(const uint8_t *buf, size_t len, fk_apdu_t *cmd);

/* ---- Response builder --------------------------------------------------- */
typedef struct fk_rbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
} fk_rbuf_t;

/* Append n bytes; false (and nothing appended) when it would not fit. */
bool fk_rbuf_put(fk_rbuf_t *r, const void *data, size_t n);
bool fk_rbuf_put_u8(fk_rbuf_t *r, uint8_t v);
/* Reserve n bytes at the end and return a pointer to them, or NULL. */
uint8_t *fk_rbuf_reserve(fk_rbuf_t *r, size_t n);
static inline size_t fk_rbuf_room(const fk_rbuf_t *r) { return r->cap - r->len; }

#endif /* FUSEKEY_APDU_H */
