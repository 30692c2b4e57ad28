/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_otp_ecc.c - the RP2350 OTP row code against the spec's vectors
 * (rp2350-otp-and-boot.md 1.3-1.6) and exhaustively against its claims.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "otp_ecc.h"

#define CODEWORD_BITS 22u
#define ALL_DATA 0x10000u

typedef struct {
    uint16_t data;
    uint32_t code;
} encode_vector_t;

static const encode_vector_t encode_vectors[] = {
    {0x0000, 0x000000}, {0x0001, 0x230001}, {0x0002, 0x250002}, {0x0080, 0x2C0080},
    {0x8000, 0x158000}, {0x1234, 0x191234}, {0xABCD, 0x11ABCD}, {0x00FF, 0x0300FF},
    {0xFF00, 0x1DFF00}, {0x5555, 0x035555}, {0xAAAA, 0x1DAAAA}, {0xDEAD, 0x07DEAD},
    {0xBEEF, 0x0EBEEF}, {0xFFFF, 0x1EFFFF},
};

typedef struct {
    uint32_t raw;
    fk_otp_ecc_status_t status;
    uint16_t data; /* checked unless uncorrectable */
} decode_vector_t;

static const decode_vector_t decode_vectors[] = {
    {0x191234, FK_OTP_ECC_OK, 0x1234},
    {0x191235, FK_OTP_ECC_CORRECTED, 0x1234}, /* data bit 0 */
    {0x1B1234, FK_OTP_ECC_CORRECTED, 0x1234}, /* parity bit 17 */
    {0x391234, FK_OTP_ECC_CORRECTED, 0x1234}, /* bit 21 */
    {0x191237, FK_OTP_ECC_UNCORRECTABLE, 0},  /* two errors */
    {0xE6EDCB, FK_OTP_ECC_OK, 0x1234},        /* BRBP-inverted 191234 */
    {0x66EDCB, FK_OTP_ECC_UNCORRECTABLE, 0},  /* inverted row that lost bit 23 */
    {0x591234, FK_OTP_ECC_OK, 0x1234},        /* one BRBP bit alone is ignored */
    {0x991234, FK_OTP_ECC_OK, 0x1234},
    {0xD91234, FK_OTP_ECC_UNCORRECTABLE, 0},  /* spurious 11 on a non-inverted row */
    {0xFFFFFF, FK_OTP_ECC_OK, 0x0000},        /* a destroyed row reads as zero */
    {0x000000, FK_OTP_ECC_OK, 0x0000},
};

static void test_encode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof encode_vectors / sizeof encode_vectors[0]; i++) {
        assert_int_equal(fk_otp_ecc_encode(encode_vectors[i].data), encode_vectors[i].code);
    }
}

static void test_decode_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decode_vectors / sizeof decode_vectors[0]; i++) {
        const decode_vector_t *v = &decode_vectors[i];
        uint16_t data = 0xA5A5;
        assert_int_equal(fk_otp_ecc_decode(v->raw, &data), v->status);
        if (v->status != FK_OTP_ECC_UNCORRECTABLE) assert_int_equal(data, v->data);
    }
}

static unsigned popcount32(uint32_t v)
{
    unsigned n = 0;
    for (; v != 0u; v &= v - 1u) n++;
    return n;
}

/* Every codeword: 22 bits, even parity, decodes to its data, plain and
 * BRBP-inverted; every single-bit error in either form is corrected. */
static void test_exhaustive_single_errors(void **state)
{
    (void)state;
    for (uint32_t x = 0; x < ALL_DATA; x++) {
        const uint32_t e = fk_otp_ecc_encode((uint16_t)x);
        assert_int_equal(e & ~FK_OTP_CODEWORD_MASK, 0);
        assert_int_equal(e & FK_OTP_DATA_MASK, x);
        assert_int_equal(popcount32(e) % 2u, 0);
        const uint32_t forms[2] = {e, e ^ FK_OTP_ROW_MASK};
        for (unsigned f = 0; f < 2; f++) {
            uint16_t d = 0;
            assert_int_equal(fk_otp_ecc_decode(forms[f], &d), FK_OTP_ECC_OK);
            assert_int_equal(d, x);
            for (unsigned b = 0; b < CODEWORD_BITS; b++) {
                d = 0;
                assert_int_equal(fk_otp_ecc_decode(forms[f] ^ (1u << b), &d), FK_OTP_ECC_CORRECTED);
                assert_int_equal(d, x);
            }
        }
    }
}

/* Every double-bit error in the 22 codeword bits of every codeword is
 * detected, plain and BRBP-inverted (counted, then asserted once: 30
 * million decodes). */
static void test_double_errors_detected(void **state)
{
    (void)state;
    unsigned long missed = 0, checked = 0;
    for (uint32_t x = 0; x < ALL_DATA; x++) {
        const uint32_t e = fk_otp_ecc_encode((uint16_t)x);
        for (unsigned a = 0; a < CODEWORD_BITS; a++) {
            for (unsigned b = a + 1u; b < CODEWORD_BITS; b++) {
                uint16_t d;
                const uint32_t bad = e ^ (1u << a) ^ (1u << b);
                missed += fk_otp_ecc_decode(bad, &d) != FK_OTP_ECC_UNCORRECTABLE;
                missed += fk_otp_ecc_decode(bad ^ FK_OTP_ROW_MASK, &d) != FK_OTP_ECC_UNCORRECTABLE;
                checked += 2u;
            }
        }
    }
    assert_int_equal(checked, 2ul * ALL_DATA * (CODEWORD_BITS * (CODEWORD_BITS - 1u) / 2u));
    assert_int_equal(missed, 0);
}

/* The spec's write vectors: BRBP when the codeword does not fit. */
static void test_write_vectors(void **state)
{
    (void)state;
    uint32_t next = 0x123456;
    assert_true(fk_otp_ecc_write_value(0x000001, 0x1234, &next));
    assert_int_equal(next, 0xE6EDCB);
    uint16_t d = 0;
    assert_int_equal(fk_otp_ecc_decode(next, &d), FK_OTP_ECC_OK);
    assert_int_equal(d, 0x1234);

    next = 0x123456;
    assert_false(fk_otp_ecc_write_value(0x000003, 0x0002, &next));
    assert_int_equal(next, 0x123456);
    assert_false(fk_otp_ecc_write_value(0x230001, 0xFFFF, &next));
    assert_int_equal(next, 0x123456);

    assert_true(fk_otp_ecc_write_value(0x191234, 0x1234, &next)); /* idempotent */
    assert_int_equal(next, 0x191234);
    assert_true(fk_otp_ecc_write_value(0x000000, 0xBEEF, &next));
    assert_int_equal(next, 0x0EBEEF);
}

/* On a blank row every value is written plainly; on a row holding the
 * complement of a codeword's zero bits, only BRBP can succeed. */
static void test_write_blank_and_inverted(void **state)
{
    (void)state;
    for (uint32_t x = 0; x < ALL_DATA; x++) {
        uint32_t next = 0;
        assert_true(fk_otp_ecc_write_value(0, (uint16_t)x, &next));
        assert_int_equal(next, fk_otp_ecc_encode((uint16_t)x));
    }
    const uint32_t e = fk_otp_ecc_encode(0x00FF);
    const uint32_t stray = (~e) & FK_OTP_CODEWORD_MASK & (0u - (~e & FK_OTP_CODEWORD_MASK));
    uint32_t next = 0;
    assert_true(fk_otp_ecc_write_value(stray, 0x00FF, &next));
    assert_int_equal(next, e ^ FK_OTP_ROW_MASK);
    uint16_t d = 0;
    assert_int_equal(fk_otp_ecc_decode(next, &d), FK_OTP_ECC_OK);
    assert_int_equal(d, 0x00FF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_exhaustive_single_errors),
        cmocka_unit_test(test_double_errors_detected),
        cmocka_unit_test(test_write_vectors),
        cmocka_unit_test(test_write_blank_and_inverted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
