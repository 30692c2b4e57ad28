/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the APDU parser and the response builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apdu.h"

typedef struct vector {
    const char *name;
    uint8_t bytes[16];
    size_t len;
    fk_sw_t sw;
    size_t nc;
    size_t ne;
    bool extended;
} vector_t;

static const vector_t k_vectors[] = {
    {"case 1", {0x00, 0xA4, 0x04, 0x00}, 4, FK_SW_OK, 0, 0, false},
    {"case 2 short", {0x00, 0x84, 0x00, 0x00, 0x08}, 5, FK_SW_OK, 0, 8, false},
    {"case 2 short Le 00 = 256", {0x00, 0x84, 0x00, 0x00, 0x00}, 5, FK_SW_OK, 0, 256, false},
    {"case 3 short", {0x00, 0xA4, 0x04, 0x00, 0x02, 0xAA, 0xBB}, 7, FK_SW_OK, 2, 0, false},
    {"case 4 short", {0x00, 0xA4, 0x04, 0x00, 0x02, 0xAA, 0xBB, 0x10}, 8, FK_SW_OK, 2, 16, false},
    {"case 4 short Le 00", {0x00, 0xA4, 0x04, 0x00, 0x01, 0xAA, 0x00}, 7, FK_SW_OK, 1, 256, false},
    {"case 2 extended", {0x00, 0x84, 0x00, 0x00, 0x00, 0x04, 0x00}, 7, FK_SW_OK, 0, 1024, true},
    {"case 2 extended Le 0000", {0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}, 7, FK_SW_OK, 0, 65536, true},
    {"case 3 extended", {0x00, 0xD7, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB}, 9, FK_SW_OK, 2, 0, true},
    {"case 4 extended", {0x00, 0x68, 0x01, 0x20, 0x00, 0x00, 0x01, 0xAA, 0x02, 0x00}, 10, FK_SW_OK, 1, 512, true},
    {"case 4 extended Le 0000", {0x00, 0x68, 0x01, 0x20, 0x00, 0x00, 0x01, 0xAA, 0x00, 0x00}, 10, FK_SW_OK, 1, 65536, true},
    {"too short 0", {0}, 0, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"too short 3", {0x00, 0xA4, 0x04}, 3, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"Lc more than present", {0x00, 0x20, 0x00, 0x81, 0x06, 1, 2, 3, 4, 5}, 10, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"Lc fewer than present", {0x00, 0x20, 0x00, 0x81, 0x02, 1, 2, 3, 4, 5}, 10, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"extended 6 bytes", {0x00, 0x84, 0x00, 0x00, 0x00, 0x04}, 6, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"extended Lc 0", {0x00, 0xD7, 0x00, 0x00, 0x00, 0x00, 0x00, 0xAA}, 8, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"extended Lc short of data", {0x00, 0xD7, 0x00, 0x00, 0x00, 0x00, 0x05, 0xAA}, 8, FK_SW_WRONG_LENGTH, 0, 0, false},
    {"extended Lc with 1-byte Le", {0x00, 0xD7, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA, 0x00}, 9, FK_SW_WRONG_LENGTH, 0, 0, false},
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(k_vectors) / sizeof(k_vectors[0]); i++) {
        const vector_t *v = &k_vectors[i];
        /* Exact-size copy so that ASan catches any over-read. */
        uint8_t *buf = v->len ? test_malloc(v->len) : NULL;
        if (v->len) memcpy(buf, v->bytes, v->len);
        fk_apdu_t cmd;
        fk_sw_t sw = fk_apdu_parse(buf, v->len, &cmd);
        print_message("%s\n", v->name);
        assert_int_equal(sw, v->sw);
        if (sw == FK_SW_OK) {
            assert_int_equal(cmd.cla, v->bytes[0]);
            assert_int_equal(cmd.ins, v->bytes[1]);
            assert_int_equal(cmd.nc, v->nc);
            assert_int_equal(cmd.ne, v->ne);
            assert_int_equal(cmd.extended, v->extended);
            if (v->nc) {
                assert_non_null(cmd.data);
                assert_true(cmd.data >= buf && cmd.data + cmd.nc <= buf + v->len);
            } else {
                assert_null(cmd.data);
            }
        }
        if (buf) test_free(buf);
    }
}

static void test_max_extended(void **state)
{
    (void)state;
    size_t len = 4 + 3 + 65535 + 2;
    uint8_t *buf = test_calloc(1, len);
    buf[1] = 0xD7;
    buf[5] = 0xFF;
    buf[6] = 0xFF;
    fk_apdu_t cmd;
    assert_int_equal(fk_apdu_parse(buf, len, &cmd), FK_SW_OK);
    assert_int_equal(cmd.nc, 65535);
    assert_int_equal(cmd.ne, 65536);
    assert_int_equal(fk_apdu_parse(buf, len - 2, &cmd), FK_SW_OK);
    assert_int_equal(cmd.ne, 0);
    assert_int_equal(fk_apdu_parse(buf, len - 1, &cmd), FK_SW_WRONG_LENGTH);
    test_free(buf);
}

static void test_rbuf(void **state)
{
    (void)state;
    uint8_t mem[4];
    fk_rbuf_t r = {mem, 0, sizeof(mem)};
    assert_true(fk_rbuf_put(&r, "ab", 2));
    assert_false(fk_rbuf_put(&r, "cde", 3));
    assert_int_equal(r.len, 2);
    assert_true(fk_rbuf_put_u8(&r, 'c'));
    assert_null(fk_rbuf_reserve(&r, 2));
    uint8_t *p = fk_rbuf_reserve(&r, 1);
    assert_non_null(p);
    *p = 'd';
    assert_memory_equal(mem, "abcd", 4);
    assert_false(fk_rbuf_put_u8(&r, 'e'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_max_extended),
        cmocka_unit_test(test_rbuf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
