/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the BER-TLV reader and writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tlv.h"

static void test_read_simple(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x54, 0x02, 0x00, 0x10, 0x7F, 0x21, 0x03, 1, 2, 3, 0x5F, 0x29, 0x01, 0x00};
    const uint8_t *p = buf, *end = buf + sizeof(buf);
    fk_tlv_t t;
    assert_int_equal(fk_tlv_next(&p, end, &t), FK_TLV_OK);
    assert_int_equal(t.tag, 0x54);
    assert_int_equal(t.len, 2);
    assert_int_equal(t.total, 4);
    assert_int_equal(fk_tlv_next(&p, end, &t), FK_TLV_OK);
    assert_int_equal(t.tag, 0x7F21);
    assert_true(fk_tlv_constructed(t.tag));
    assert_int_equal(t.len, 3);
    assert_int_equal(t.value[2], 3);
    assert_int_equal(fk_tlv_next(&p, end, &t), FK_TLV_OK);
    assert_int_equal(t.tag, 0x5F29);
    assert_false(fk_tlv_constructed(t.tag));
    assert_int_equal(fk_tlv_next(&p, end, &t), FK_TLV_END);
}

static void test_read_long_lengths(void **state)
{
    (void)state;
    uint8_t buf[4 + 300];
    memset(buf, 0xAB, sizeof(buf));
    buf[0] = 0x53;
    buf[1] = 0x82;
    buf[2] = 0x01;
    buf[3] = 0x2C; /* 300 */
    fk_tlv_t t;
    assert_int_equal(fk_tlv_find(buf, sizeof(buf), 0x53, &t), FK_TLV_OK);
    assert_int_equal(t.len, 300);
    /* 81 form */
    const uint8_t b2[] = {0x80, 0x81, 0x01, 0xEE};
    assert_int_equal(fk_tlv_find(b2, sizeof(b2), 0x80, &t), FK_TLV_OK);
    assert_int_equal(t.len, 1);
    assert_int_equal(t.value[0], 0xEE);
}

static void test_read_malformed(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[8];
        size_t n;
    } bad[] = {
        {{0x54}, 1},                         /* no length */
        {{0x54, 0x03, 0x00}, 3},             /* value runs past the end */
        {{0x7F}, 1},                         /* multi-byte tag cut */
        {{0x7F, 0x81}, 2},                   /* multi-byte tag continues past end */
        {{0x7F, 0x81, 0x81, 0x01, 0x00}, 5}, /* tag longer than 3 bytes */
        {{0x54, 0x80}, 2},                   /* indefinite length */
        {{0x54, 0x85, 0, 0, 0, 0, 1}, 7},    /* 5 length bytes */
        {{0x54, 0x82, 0x01}, 3},             /* length bytes cut */
        {{0x54, 0x84, 0xFF, 0xFF, 0xFF, 0xFF}, 6}, /* huge length */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *copy = test_malloc(bad[i].n);
        memcpy(copy, bad[i].b, bad[i].n);
        const uint8_t *p = copy;
        fk_tlv_t t;
        assert_int_equal(fk_tlv_next(&p, copy + bad[i].n, &t), FK_TLV_EMALFORMED);
        assert_ptr_equal(p, copy);
        test_free(copy);
    }
}

static void test_find(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x80, 0x01, 0x01, 0x81, 0x02, 0xAA, 0xBB, 0x82, 0x00};
    fk_tlv_t t;
    assert_int_equal(fk_tlv_find(buf, sizeof(buf), 0x81, &t), FK_TLV_OK);
    assert_int_equal(t.len, 2);
    assert_int_equal(fk_tlv_find(buf, sizeof(buf), 0x82, &t), FK_TLV_OK);
    assert_int_equal(t.len, 0);
    assert_int_equal(fk_tlv_find(buf, sizeof(buf), 0x83, &t), FK_TLV_END);
    const uint8_t broken[] = {0x80, 0x01, 0x01, 0x81, 0x05, 0xAA};
    assert_int_equal(fk_tlv_find(broken, sizeof(broken), 0x83, &t), FK_TLV_EMALFORMED);
}

static void test_write(void **state)
{
    (void)state;
    uint8_t mem[600];
    fk_rbuf_t r = {mem, 0, sizeof(mem)};
    assert_true(fk_tlv_put(&r, 0x5F29, "\x00", 1));
    assert_true(fk_tlv_put_uint(&r, 0x90, 0x01020304, 4));
    assert_memory_equal(mem, "\x5F\x29\x01\x00\x90\x04\x01\x02\x03\x04", 10);

    /* Constructed with a long body: the length must come out minimal (82 xx xx). */
    r.len = 0;
    fk_tlv_mark_t m = fk_tlv_begin(&r, 0x7F21);
    uint8_t body[300];
    memset(body, 0x5A, sizeof(body));
    assert_true(fk_tlv_put(&r, 0x04, body, sizeof(body)));
    assert_true(fk_tlv_end(&r, m));
    assert_int_equal(r.len, 2 + 3 + 1 + 3 + 300);
    assert_memory_equal(mem, "\x7F\x21\x82\x01\x30\x04\x82\x01\x2C", 9);

    /* Round trip through the reader. */
    fk_tlv_t outer, inner;
    assert_int_equal(fk_tlv_find(mem, r.len, 0x7F21, &outer), FK_TLV_OK);
    assert_int_equal(fk_tlv_find(outer.value, outer.len, 0x04, &inner), FK_TLV_OK);
    assert_memory_equal(inner.value, body, sizeof(body));

    /* Short body keeps a one-byte length. */
    r.len = 0;
    m = fk_tlv_begin(&r, 0x62);
    assert_true(fk_tlv_put(&r, 0x85, "\x00\x01\xFF\x04\x00", 5));
    assert_true(fk_tlv_end(&r, m));
    assert_memory_equal(mem, "\x62\x07\x85\x05\x00\x01\xFF\x04\x00", 9);
}

static void test_write_overflow(void **state)
{
    (void)state;
    uint8_t mem[8];
    fk_rbuf_t r = {mem, 0, sizeof(mem)};
    assert_false(fk_tlv_put(&r, 0x53, "0123456789", 10));
    assert_int_equal(r.len, 0);
    assert_true(fk_tlv_put(&r, 0x53, "012345", 6));
    assert_false(fk_tlv_put_header(&r, 0x7F21, 1));
    /* A constructed object whose length grows past the room fails. */
    uint8_t mem2[130];
    fk_rbuf_t r2 = {mem2, 0, sizeof(mem2)};
    fk_tlv_mark_t m = fk_tlv_begin(&r2, 0x30);
    assert_true(m.ok);
    assert_true(fk_rbuf_reserve(&r2, 128) != NULL);
    assert_false(fk_tlv_end(&r2, m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_simple),   cmocka_unit_test(test_read_long_lengths),
        cmocka_unit_test(test_read_malformed), cmocka_unit_test(test_find),
        cmocka_unit_test(test_write),         cmocka_unit_test(test_write_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
