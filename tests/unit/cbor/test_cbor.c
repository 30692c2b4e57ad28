/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the CBOR subset (core/cbor.c): RFC 8949 Appendix A
 * examples, every malformed form, canonical key order, a makeCredential
 * request as python-fido2 encodes it, and random round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cbor.h"
#include "cbor_copy.h"

/* A broken invariant in the writer is a cmocka assertion here. */
void fk_hal_panic(const char *file, int line)
{
    mock_assert(0, "fk_hal_panic", file, line);
    abort();
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (h[0] && h[1]) {
        unsigned v;
        if (h[0] == ' ') {
            h++;
            continue;
        }
        if (sscanf(h, "%2x", &v) != 1 || n >= cap) abort();
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

/* Decode in a heap copy of exactly len bytes so ASan sees any overread. */
static fk_cbor_err_t decode_exact(const uint8_t *buf, size_t len, unsigned flags)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, buf, len);
    fk_cbor_item_t top;
    fk_cbor_err_t rc = fk_cbor_decode(copy, len, flags, &top);
    free(copy);
    return rc;
}

/* RFC 8949 Appendix A examples inside the subset. */
static const char *const rfc_examples[] = {
    "00", "01", "0a", "17", "1818", "1819", "1864", "1903e8", "1a000f4240",
    "1b000000e8d4a51000", "1bffffffffffffffff", "20", "29", "3863", "3903e7",
    "3bffffffffffffffff", "f4", "f5", "f6", "40", "4401020304", "60", "6161",
    "6449455446", "62225c", "62c3bc", "63e6b0b4", "64f0908591", "80", "83010203",
    "8301820203820405",
    "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
    "a0", "a201020304", "a26161016162820203", "826161a161626163",
    "a56161614161626142616361436164614461656145",
};

static void test_rfc_examples_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc_examples) / sizeof(rfc_examples[0]); i++) {
        uint8_t in[64], out[64];
        size_t n = unhex(rfc_examples[i], in, sizeof(in)), m = 0;
        fk_cbor_item_t top;
        assert_int_equal(fk_cbor_decode(in, n, FK_CBOR_CANONICAL, &top), FK_CBOR_OK);
        assert_ptr_equal(top.end, in + n);
        fk_cbor_writer_t w;
        fk_cbor_writer_init(&w, out, sizeof(out));
        assert_int_equal(cbor_copy(&w, &top), FK_CBOR_OK);
        assert_int_equal(fk_cbor_writer_finish(&w, &m), FK_CBOR_OK);
        assert_int_equal(m, n);
        assert_memory_equal(out, in, n);
        assert_int_equal(decode_exact(in, n, 0), FK_CBOR_OK);
    }
}

static void test_integer_range(void **state)
{
    (void)state;
    uint8_t b[9];
    fk_cbor_item_t it;
    uint64_t u;
    int64_t s;
    size_t n = unhex("1bffffffffffffffff", b, sizeof(b));
    assert_int_equal(fk_cbor_decode(b, n, 0, &it), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_uint(&it, &u), FK_CBOR_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(fk_cbor_get_int(&it, &s), FK_CBOR_ERR_LIMIT);
    n = unhex("3bffffffffffffffff", b, sizeof(b)); /* -2^64 */
    assert_int_equal(fk_cbor_decode(b, n, 0, &it), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_int(&it, &s), FK_CBOR_ERR_LIMIT);
    assert_int_equal(fk_cbor_get_uint(&it, &u), FK_CBOR_ERR_UNEXPECTED_TYPE);
    n = unhex("3b7fffffffffffffff", b, sizeof(b)); /* INT64_MIN */
    assert_int_equal(fk_cbor_decode(b, n, 0, &it), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_int(&it, &s), FK_CBOR_OK);
    assert_true(s == INT64_MIN);
    n = unhex("1b7fffffffffffffff", b, sizeof(b));
    assert_int_equal(fk_cbor_decode(b, n, 0, &it), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_int(&it, &s), FK_CBOR_OK);
    assert_true(s == INT64_MAX);
}

static void test_truncated_everywhere(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc_examples) / sizeof(rfc_examples[0]); i++) {
        uint8_t in[64];
        size_t n = unhex(rfc_examples[i], in, sizeof(in));
        for (size_t k = 0; k < n; k++) assert_int_equal(decode_exact(in, k, 0), FK_CBOR_ERR_INVALID);
    }
}

struct bad {
    const char *hex;
    fk_cbor_err_t rc;
};

static const struct bad bad_inputs[] = {
    /* indefinite lengths and the break code */
    {"5f4100ff", FK_CBOR_ERR_INVALID}, {"7f6161ff", FK_CBOR_ERR_INVALID},
    {"9f01ff", FK_CBOR_ERR_INVALID}, {"bf0101ff", FK_CBOR_ERR_INVALID}, {"ff", FK_CBOR_ERR_INVALID},
    /* tags */
    {"c074323031332d30332d32315432303a30343a30305a", FK_CBOR_ERR_INVALID},
    {"c11a514b67b0", FK_CBOR_ERR_INVALID}, {"d82076687474703a2f2f7777772e6578616d706c652e636f6d", FK_CBOR_ERR_INVALID},
    /* floats, undefined, other simple values */
    {"f90000", FK_CBOR_ERR_INVALID}, {"fa47c35000", FK_CBOR_ERR_INVALID},
    {"fb3ff199999999999a", FK_CBOR_ERR_INVALID}, {"f7", FK_CBOR_ERR_INVALID},
    {"f0", FK_CBOR_ERR_INVALID}, {"f8ff", FK_CBOR_ERR_INVALID}, {"f818", FK_CBOR_ERR_INVALID},
    /* reserved additional information */
    {"1c", FK_CBOR_ERR_INVALID}, {"1d", FK_CBOR_ERR_INVALID}, {"1e", FK_CBOR_ERR_INVALID},
    {"3c", FK_CBOR_ERR_INVALID}, {"5d", FK_CBOR_ERR_INVALID}, {"7e", FK_CBOR_ERR_INVALID},
    {"9c", FK_CBOR_ERR_INVALID}, {"bd", FK_CBOR_ERR_INVALID}, {"1f", FK_CBOR_ERR_INVALID},
    {"3f", FK_CBOR_ERR_INVALID},
    /* lengths and counts past the end */
    {"4201", FK_CBOR_ERR_INVALID}, {"5affffffff00", FK_CBOR_ERR_INVALID},
    {"7bffffffffffffffff00", FK_CBOR_ERR_INVALID}, {"9affffffff00", FK_CBOR_ERR_INVALID},
    {"9bffffffffffffffff00", FK_CBOR_ERR_INVALID}, {"bbffffffffffffffff0000", FK_CBOR_ERR_INVALID},
    {"bb800000000000000000", FK_CBOR_ERR_INVALID}, {"a201", FK_CBOR_ERR_INVALID},
    /* bad UTF-8: lone continuation, bad second byte, overlong, surrogate, above U+10FFFF, 0xFF */
    {"6180", FK_CBOR_ERR_INVALID}, {"62c328", FK_CBOR_ERR_INVALID}, {"62c080", FK_CBOR_ERR_INVALID},
    {"63e08080", FK_CBOR_ERR_INVALID}, {"63eda080", FK_CBOR_ERR_INVALID},
    {"64f4908080", FK_CBOR_ERR_INVALID}, {"61ff", FK_CBOR_ERR_INVALID}, {"62e282", FK_CBOR_ERR_INVALID},
    /* depth 5 */
    {"818181818100", FK_CBOR_ERR_INVALID}, {"a101a101a101a101a10101", FK_CBOR_ERR_INVALID},
    {"8181818180", FK_CBOR_ERR_INVALID},
    /* trailing bytes */
    {"0000", FK_CBOR_ERR_INVALID}, {"a000", FK_CBOR_ERR_INVALID}, {"a10102ff", FK_CBOR_ERR_INVALID},
    /* duplicate keys, in order, out of order, in another encoding */
    {"a201000100", FK_CBOR_ERR_INVALID}, {"a2616100616100", FK_CBOR_ERR_INVALID},
    {"a3010002000100", FK_CBOR_ERR_INVALID}, {"a2010018010a", FK_CBOR_ERR_INVALID},
    {"a3616200616100616200", FK_CBOR_ERR_INVALID}, {"a22000390000f6", FK_CBOR_ERR_INVALID},
    /* keys that are neither integers nor text */
    {"a14000", FK_CBOR_ERR_UNEXPECTED_TYPE}, {"a18000", FK_CBOR_ERR_UNEXPECTED_TYPE},
    {"a1a000", FK_CBOR_ERR_UNEXPECTED_TYPE}, {"a1f500", FK_CBOR_ERR_UNEXPECTED_TYPE},
    {"a1f600", FK_CBOR_ERR_UNEXPECTED_TYPE},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
        uint8_t in[64];
        size_t n = unhex(bad_inputs[i].hex, in, sizeof(in));
        if (decode_exact(in, n, 0) != bad_inputs[i].rc) fail_msg("input %s", bad_inputs[i].hex);
        if (decode_exact(in, n, FK_CBOR_CANONICAL) != bad_inputs[i].rc) fail_msg("canonical %s", bad_inputs[i].hex);
    }
    assert_int_equal(decode_exact(NULL, 0, 0), FK_CBOR_ERR_INVALID);
    /* Depth 4 is allowed. */
    uint8_t d4[] = {0x81, 0x81, 0x81, 0x81, 0x00};
    assert_int_equal(decode_exact(d4, sizeof(d4), FK_CBOR_CANONICAL), FK_CBOR_OK);
}

/* A map over FK_CBOR_MAX_MAP_PAIRS is a limit, not a walk of n^2 keys. */
static void test_map_pair_limit(void **state)
{
    (void)state;
    static uint8_t buf[3 + 2 * 3 * 200];
    for (size_t pairs = FK_CBOR_MAX_MAP_PAIRS; pairs <= FK_CBOR_MAX_MAP_PAIRS + 1; pairs++) {
        size_t n = 0;
        buf[n++] = 0xB8;
        buf[n++] = (uint8_t)pairs;
        for (size_t k = pairs; k-- > 0;) { /* descending: out of canonical order */
            buf[n++] = 0x19;
            buf[n++] = (uint8_t)(k >> 8);
            buf[n++] = (uint8_t)k;
            buf[n++] = 0x00;
        }
        fk_cbor_err_t want = pairs > FK_CBOR_MAX_MAP_PAIRS ? FK_CBOR_ERR_LIMIT : FK_CBOR_OK;
        assert_int_equal(decode_exact(buf, n, 0), want);
        assert_int_equal(decode_exact(buf, n, FK_CBOR_CANONICAL),
                         want == FK_CBOR_OK ? FK_CBOR_ERR_INVALID : want);
    }
}

/* Requests: any key order and non-shortest heads; responses: only canonical. */
static void test_lenient_and_canonical(void **state)
{
    (void)state;
    static const char *const lenient_only[] = {
        "1817", "190001", "1a00000001", "1b0000000000000001", "3817", "5800", "780161",
        "9800", "b800", "a203000100", "a2616200616100", "a220000100", "a262616100616200",
    };
    for (size_t i = 0; i < sizeof(lenient_only) / sizeof(lenient_only[0]); i++) {
        uint8_t in[32];
        size_t n = unhex(lenient_only[i], in, sizeof(in));
        if (decode_exact(in, n, 0) != FK_CBOR_OK) fail_msg("lenient %s", lenient_only[i]);
        if (decode_exact(in, n, FK_CBOR_CANONICAL) != FK_CBOR_ERR_INVALID) fail_msg("canonical %s", lenient_only[i]);
    }
}

static void test_key_order(void **state)
{
    (void)state;
    uint8_t x[32], out[128];
    /* 1, 3, -1, -2, -3 and the getInfo-style option names. */
    static const char *const sorted[] = {"01", "03", "20", "21", "22"};
    static const char *const names[] = {"rk", "up", "uv", "plat", "clientPin"};
    for (size_t i = 0; i + 1 < 5; i++) {
        uint8_t a[4], b[4];
        size_t na = unhex(sorted[i], a, 4), nb = unhex(sorted[i + 1], b, 4);
        assert_true(fk_cbor_key_cmp(a, na, b, nb) < 0);
        assert_true(fk_cbor_key_cmp(b, nb, a, na) > 0);
    }
    for (size_t i = 0; i + 1 < 5; i++) {
        uint8_t a[16], b[16];
        fk_cbor_writer_t w;
        size_t na, nb;
        fk_cbor_writer_init(&w, a, sizeof(a));
        fk_cbor_put_cstr(&w, names[i]);
        assert_int_equal(fk_cbor_writer_finish(&w, &na), FK_CBOR_OK);
        fk_cbor_writer_init(&w, b, sizeof(b));
        fk_cbor_put_cstr(&w, names[i + 1]);
        assert_int_equal(fk_cbor_writer_finish(&w, &nb), FK_CBOR_OK);
        assert_true(fk_cbor_key_cmp(a, na, b, nb) < 0);
    }
    /* Major type first: 24 (two bytes) sorts before -1 (one byte). */
    size_t n1 = unhex("1818", x, sizeof(x));
    uint8_t m1[] = {0x20};
    assert_true(fk_cbor_key_cmp(x, n1, m1, 1) < 0);
    assert_int_equal(fk_cbor_key_cmp(m1, 1, m1, 1), 0);

    /* The COSE key of fido.md §7 comes out byte for byte. */
    uint8_t xy[32];
    memset(xy, 0xAB, sizeof(xy));
    fk_cbor_writer_t w;
    size_t n;
    fk_cbor_writer_init(&w, out, sizeof(out));
    fk_cbor_put_map(&w, 5);
    fk_cbor_put_int(&w, 1); fk_cbor_put_int(&w, 2);
    fk_cbor_put_int(&w, 3); fk_cbor_put_int(&w, -25);
    fk_cbor_put_int(&w, -1); fk_cbor_put_int(&w, 1);
    fk_cbor_put_int(&w, -2); fk_cbor_put_bytes(&w, xy, 32);
    fk_cbor_put_int(&w, -3); fk_cbor_put_bytes(&w, xy, 32);
    assert_int_equal(fk_cbor_writer_finish(&w, &n), FK_CBOR_OK);
    uint8_t want[128];
    size_t wn = unhex("a5 0102 0338 18 2001 21 5820", want, sizeof(want));
    memcpy(want + wn, xy, 32);
    wn += 32;
    want[wn++] = 0x22;
    want[wn++] = 0x58;
    want[wn++] = 0x20;
    memcpy(want + wn, xy, 32);
    wn += 32;
    assert_int_equal(n, wn);
    assert_memory_equal(out, want, wn);
    assert_int_equal(decode_exact(out, n, FK_CBOR_CANONICAL), FK_CBOR_OK);

    /* Options map in canonical order. */
    fk_cbor_writer_init(&w, out, sizeof(out));
    fk_cbor_put_map(&w, 5);
    for (size_t i = 0; i < 5; i++) {
        fk_cbor_put_cstr(&w, names[i]);
        fk_cbor_put_bool(&w, i % 2 == 0);
    }
    assert_int_equal(fk_cbor_writer_finish(&w, &n), FK_CBOR_OK);
    assert_int_equal(decode_exact(out, n, FK_CBOR_CANONICAL), FK_CBOR_OK);
}

static void test_writer_asserts(void **state)
{
    (void)state;
    uint8_t out[64];
    fk_cbor_writer_t w;
    /* Keys out of order, a repeated key, a container as key, too deep,
     * too many items, an unfinished container, two top-level items. */
    fk_cbor_writer_init(&w, out, sizeof(out));
    fk_cbor_put_map(&w, 2);
    fk_cbor_put_int(&w, -1);
    fk_cbor_put_int(&w, 0);
    expect_assert_failure(fk_cbor_put_int(&w, 3));
    fk_cbor_writer_init(&w, out, sizeof(out));
    fk_cbor_put_map(&w, 2);
    fk_cbor_put_cstr(&w, "up");
    fk_cbor_put_int(&w, 0);
    expect_assert_failure(fk_cbor_put_cstr(&w, "up"));
    fk_cbor_writer_init(&w, out, sizeof(out));
    fk_cbor_put_map(&w, 1);
    expect_assert_failure(fk_cbor_put_array(&w, 0));
    fk_cbor_writer_init(&w, out, sizeof(out));
    for (int i = 0; i < 4; i++) fk_cbor_put_array(&w, 1);
    expect_assert_failure(fk_cbor_put_array(&w, 1));
    fk_cbor_writer_init(&w, out, sizeof(out));
    fk_cbor_put_array(&w, 1);
    size_t n;
    expect_assert_failure(fk_cbor_writer_finish(&w, &n));
    fk_cbor_put_null(&w);
    assert_int_equal(fk_cbor_writer_finish(&w, &n), FK_CBOR_OK);
    expect_assert_failure(fk_cbor_put_null(&w));
}

static void test_writer_overflow(void **state)
{
    (void)state;
    uint8_t out[16];
    uint8_t data[10] = {0};
    memset(out, 0xEE, sizeof(out));
    fk_cbor_writer_t w;
    fk_cbor_writer_init(&w, out, 5);
    fk_cbor_put_array(&w, 3);
    fk_cbor_put_bytes(&w, data, sizeof(data)); /* does not fit */
    fk_cbor_put_uint(&w, 1);                    /* would fit: still refused */
    fk_cbor_put_uint(&w, 2);
    size_t n = 99;
    assert_int_equal(fk_cbor_writer_finish(&w, &n), FK_CBOR_ERR_LIMIT);
    assert_int_equal(n, 99);
    assert_int_equal(out[0], 0x83);
    assert_int_equal(out[1], 0x4A);
    for (size_t i = 2; i < sizeof(out); i++) assert_int_equal(out[i], 0xEE); /* nothing after the head */
}

/* authenticatorMakeCredential as python-fido2 encodes it (fido.md §6):
 * {1: clientDataHash, 2: rp, 3: user, 4: pubKeyCredParams, 7: options},
 * plus an unknown key 0x10 the authenticator must skip. */
static void test_make_credential_request(void **state)
{
    (void)state;
    uint8_t req[256];
    size_t n = unhex(
        "a6"
        "01 5820 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "02 a2 626964 6b6578616d706c652e636f6d 646e616d65 674578616d706c65"
        "03 a3 626964 4401020304 646e616d65 6361406b 6b646973706c61794e616d65 6341204b"
        "04 82 a2 63616c67 26 6474797065 6a7075626c69632d6b6579"
        "   a2 63616c67 27 6474797065 6a7075626c69632d6b6579"
        "07 a1 62726b f5"
        "10 a1 01 82 f6 a0",
        req, sizeof(req));
    fk_cbor_item_t top, v, e, k, x;
    const uint8_t *b;
    const char *t;
    size_t len;
    int64_t alg;
    bool rk;
    assert_int_equal(decode_exact(req, n, 0), FK_CBOR_OK);
    assert_int_equal(fk_cbor_decode(req, n, 0, &top), FK_CBOR_OK);
    assert_int_equal(top.type, FK_CBOR_MAP);

    assert_int_equal(fk_cbor_map_find_int(&top, 1, &v), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_bytes(&v, 32, &b, &len), FK_CBOR_OK);
    assert_int_equal(len, 32);
    assert_int_equal(b[31], 0x1f);
    assert_int_equal(fk_cbor_get_bytes(&v, 31, &b, &len), FK_CBOR_ERR_LIMIT);
    assert_int_equal(fk_cbor_get_text(&v, 64, &t, &len), FK_CBOR_ERR_UNEXPECTED_TYPE);

    assert_int_equal(fk_cbor_map_find_int(&top, 2, &v), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_text(&v, "id", &x), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_text(&x, 255, &t, &len), FK_CBOR_OK);
    assert_int_equal(len, 11);
    assert_memory_equal(t, "example.com", 11);
    assert_int_equal(fk_cbor_map_find_text(&v, "name", &x), FK_CBOR_OK);
    assert_true(fk_cbor_is_text(&x, "Example"));
    assert_int_equal(fk_cbor_map_find_text(&v, "icon", &x), FK_CBOR_ERR_MISSING);

    assert_int_equal(fk_cbor_map_find_int(&top, 3, &v), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_text(&v, "id", &x), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_bytes(&x, 64, &b, &len), FK_CBOR_OK);
    assert_int_equal(len, 4);
    assert_int_equal(fk_cbor_map_find_text(&v, "displayName", &x), FK_CBOR_OK);
    assert_true(fk_cbor_is_text(&x, "A K"));

    assert_int_equal(fk_cbor_map_find_int(&top, 4, &v), FK_CBOR_OK);
    fk_cbor_iter_t it;
    assert_int_equal(fk_cbor_map_iter(&v, &it), FK_CBOR_ERR_UNEXPECTED_TYPE);
    assert_int_equal(fk_cbor_array_iter(&v, &it), FK_CBOR_OK);
    int64_t algs[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fk_cbor_array_next(&it, &e), FK_CBOR_OK);
        assert_int_equal(e.depth, 2);
        assert_int_equal(fk_cbor_map_find_text(&e, "alg", &x), FK_CBOR_OK);
        assert_int_equal(fk_cbor_get_int(&x, &alg), FK_CBOR_OK);
        algs[i] = alg;
        assert_int_equal(fk_cbor_map_find_text(&e, "type", &x), FK_CBOR_OK);
        assert_true(fk_cbor_is_text(&x, "public-key"));
    }
    assert_int_equal(fk_cbor_array_next(&it, &e), FK_CBOR_ERR_MISSING);
    assert_true(algs[0] == -7 && algs[1] == -8);

    assert_int_equal(fk_cbor_map_find_int(&top, 7, &v), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_text(&v, "rk", &x), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_bool(&x, &rk), FK_CBOR_OK);
    assert_true(rk);
    assert_int_equal(fk_cbor_map_find_text(&v, "uv", &x), FK_CBOR_ERR_MISSING);
    assert_int_equal(fk_cbor_get_uint(&x, (uint64_t[1]){0}), FK_CBOR_ERR_UNEXPECTED_TYPE);

    /* Walking the top map in order, skipping what is unknown. */
    int64_t seen[8];
    size_t ns = 0;
    assert_int_equal(fk_cbor_map_iter(&top, &it), FK_CBOR_OK);
    while (fk_cbor_map_next(&it, &k, &v) == FK_CBOR_OK) {
        assert_int_equal(fk_cbor_get_int(&k, &seen[ns]), FK_CBOR_OK);
        ns++;
    }
    assert_int_equal(ns, 6);
    assert_true(seen[0] == 1 && seen[4] == 7 && seen[5] == 16);
    const uint8_t *p = req + 1;
    for (int i = 0; i < 12; i++) assert_int_equal(fk_cbor_skip(&p, req + n), FK_CBOR_OK);
    assert_ptr_equal(p, req + n);
    assert_int_equal(fk_cbor_skip(&p, req + n), FK_CBOR_ERR_INVALID);

    /* A wrong type where a map is expected. */
    assert_int_equal(fk_cbor_map_find_int(&x, 1, &v), FK_CBOR_ERR_UNEXPECTED_TYPE);
}

/* ---- Random structures within the subset ------------------------------ */
static uint64_t g_rng = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static uint64_t rnd_int(void)
{
    static const uint64_t widths[] = {24, 256, 65536, 1ull << 32, 0};
    uint64_t m = widths[rnd() % 5];
    return m ? rnd() % m : rnd();
}

static void gen(fk_cbor_writer_t *w, unsigned depth)
{
    unsigned kind = (unsigned)(rnd() % (depth < FK_CBOR_MAX_DEPTH ? 8 : 6));
    char text[40];
    uint8_t bytes[300];
    switch (kind) {
    case 0: fk_cbor_put_uint(w, rnd_int()); break;
    case 1: fk_cbor_put_nint(w, rnd_int()); break;
    case 2: {
        size_t n = (size_t)(rnd() % sizeof(bytes));
        for (size_t i = 0; i < n; i++) bytes[i] = (uint8_t)rnd();
        fk_cbor_put_bytes(w, bytes, n);
        break;
    }
    case 3: {
        size_t n = (size_t)(rnd() % 30);
        for (size_t i = 0; i < n; i++) text[i] = (char)('a' + rnd() % 26);
        if (n >= 2 && rnd() % 2) memcpy(text, "\xc3\xbc", 2);
        fk_cbor_put_text(w, text, n);
        break;
    }
    case 4: fk_cbor_put_bool(w, rnd() % 2); break;
    case 5: fk_cbor_put_null(w); break;
    case 6: {
        uint64_t n = rnd() % 6;
        fk_cbor_put_array(w, n);
        for (uint64_t i = 0; i < n; i++) gen(w, depth + 1);
        break;
    }
    default: {
        /* Keys in canonical order: increasing uints, then increasing
         * nints, then texts of increasing length. */
        uint64_t nu = rnd() % 4, nn = rnd() % 4, nt = rnd() % 4;
        fk_cbor_put_map(w, nu + nn + nt);
        uint64_t k = 0;
        for (uint64_t i = 0; i < nu; i++) {
            k += 1 + rnd() % 300;
            fk_cbor_put_uint(w, k);
            gen(w, depth + 1);
        }
        k = 0;
        for (uint64_t i = 0; i < nn; i++) {
            k += 1 + rnd() % 30;
            fk_cbor_put_nint(w, k);
            gen(w, depth + 1);
        }
        for (uint64_t i = 0; i < nt; i++) {
            for (uint64_t j = 0; j <= i; j++) text[j] = (char)('a' + rnd() % 26);
            fk_cbor_put_text(w, text, (size_t)i + 1);
            gen(w, depth + 1);
        }
        break;
    }
    }
}

static void test_random_round_trips(void **state)
{
    (void)state;
    static uint8_t a[1 << 16], b[1 << 16];
    for (int round = 0; round < 3000; round++) {
        fk_cbor_writer_t w;
        size_t na, nb;
        fk_cbor_writer_init(&w, a, sizeof(a));
        gen(&w, 0);
        assert_int_equal(fk_cbor_writer_finish(&w, &na), FK_CBOR_OK);
        fk_cbor_item_t top, top2;
        assert_int_equal(fk_cbor_decode(a, na, FK_CBOR_CANONICAL, &top), FK_CBOR_OK);
        fk_cbor_writer_init(&w, b, sizeof(b));
        assert_int_equal(cbor_copy(&w, &top), FK_CBOR_OK);
        assert_int_equal(fk_cbor_writer_finish(&w, &nb), FK_CBOR_OK);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        assert_int_equal(fk_cbor_decode(b, nb, FK_CBOR_CANONICAL, &top2), FK_CBOR_OK);
        assert_true(cbor_same(&top, &top2));
        /* Every proper prefix is malformed. */
        if (na < 64)
            for (size_t k = 0; k < na; k++) assert_int_equal(decode_exact(a, k, 0), FK_CBOR_ERR_INVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples_round_trip),
        cmocka_unit_test(test_integer_range),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_map_pair_limit),
        cmocka_unit_test(test_lenient_and_canonical),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_writer_asserts),
        cmocka_unit_test(test_writer_overflow),
        cmocka_unit_test(test_make_credential_request),
        cmocka_unit_test(test_random_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
