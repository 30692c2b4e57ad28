/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hex.h - hex strings into bytes for the unit tests' known-answer
 * vectors, on the host and on the Cortex-M33. A cmocka assertion fails the
 * test for an odd length, a string longer than cap bytes or a character
 * that is not hex. Include after <cmocka.h>.
 */
#ifndef FUSEKEY_TEST_HEX_H
#define FUSEKEY_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decode hex into out (cap bytes); returns the byte count. */
static inline size_t fk_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    const size_t n = strlen(hex) / 2;
    assert_true(strlen(hex) % 2 == 0 && n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

#endif /* FUSEKEY_TEST_HEX_H */
