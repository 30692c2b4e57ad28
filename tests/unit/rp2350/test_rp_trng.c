/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_trng.c - fk_hal_random on the TRNG (rp_trng.c): raw mode set-up,
 * the conditioning as a known answer over a scripted source, the raw bits
 * spent per output bit, and every health check failing closed.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "rp_test.h"

#define WORDS_PER_BLOCK 96u

static uint32_t splitmix(uint32_t i)
{
    uint64_t z = (uint64_t)i * 0x9E3779B97F4A7C15ull + 0xABCDEFull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

static uint32_t src_good(uint32_t i, void *arg)
{
    (void)arg;
    return splitmix(i);
}

static uint32_t src_constant(uint32_t i, void *arg)
{
    (void)i;
    (void)arg;
    return 0xDEADBEEFu;
}

/* Good, but the word at *arg repeats `repeat` times in a row. */
static uint32_t repeat_at, repeat_times;
static uint32_t src_repeat(uint32_t i, void *arg)
{
    (void)arg;
    if (i >= repeat_at && i < repeat_at + repeat_times) return splitmix(repeat_at);
    return splitmix(i);
}

static uint32_t src_biased(uint32_t i, void *arg) /* 7 of 8 bits set */
{
    (void)arg;
    return splitmix(3u * i) | splitmix(3u * i + 1u) | splitmix(3u * i + 2u);
}

static uint32_t src_stuck_bit(uint32_t i, void *arg)
{
    (void)arg;
    return splitmix(i) & ~(1u << 5);
}

static int setup(void **state)
{
    (void)state;
    rp_test_boot();
    rp_trng_init();
    rp_model.trng = src_good;
    return 0;
}

static void expect_failure(size_t len)
{
    uint8_t buf[80];
    memset(buf, 0x55, sizeof buf);
    assert_int_equal(fk_hal_random(buf, len), FK_HAL_EIO);
    for (size_t i = 0; i < len; i++) assert_int_equal(buf[i], 0);
    assert_int_equal(rp_model_peek(RP_TRNG_RND_SOURCE_ENABLE), 0);
}

static void test_raw_mode_set_up(void **state)
{
    (void)state;
    assert_int_equal(rp_model_peek(RP_TRNG_DEBUG_CONTROL), 0xE); /* block's tests bypassed */
    assert_int_equal(rp_model_peek(RP_TRNG_SAMPLE_CNT1), 0);
    assert_int_equal(rp_model_peek(RP_TRNG_RND_SOURCE_ENABLE), 0); /* idle until asked */
    const size_t sw = FIND(0, RP_OP_WRITE, RP_TRNG_SW_RESET, 0xFFFFFFFFu, 1u);
    const size_t cfg = FIND(sw, RP_OP_WRITE, RP_TRNG_DEBUG_CONTROL, 0, 0);
    assert_true(rp_model_count(RP_OP_READ, RP_TRNG_SW_RESET) >= 2u && sw < cfg);
    ASSERT_NO_VIOLATION();
}

/* Output block 0 = SHA-256(be32(0) || the first 96 raw words). */
static void test_conditioning_known_answer(void **state)
{
    (void)state;
    uint32_t raw[WORDS_PER_BLOCK];
    for (uint32_t i = 0; i < WORDS_PER_BLOCK; i++) raw[i] = splitmix(i);
    const uint8_t counter[4] = {0, 0, 0, 0};
    fk_sha256_ctx_t ctx;
    uint8_t want[32];
    fk_sha256_start(&ctx);
    fk_sha256_update(&ctx, counter, sizeof counter);
    fk_sha256_update(&ctx, raw, sizeof raw);
    fk_sha256_finish(&ctx, want);

    uint8_t got[32];
    assert_int_equal(fk_hal_random(got, sizeof got), FK_HAL_OK);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(rp_model.trng_words, WORDS_PER_BLOCK);
    ASSERT_NO_VIOLATION();
}

static void test_good_source(void **state)
{
    (void)state;
    uint8_t a[100], b[100];
    memset(a, 0, sizeof a);
    assert_int_equal(fk_hal_random(a, sizeof a), FK_HAL_OK);
    /* >= 8 raw bits per output bit: 4 blocks of 96 words for 100 bytes. */
    assert_true(rp_model.trng_words * 32u >= 8u * 8u * sizeof a);
    assert_int_equal(rp_model.trng_words, 4u * WORDS_PER_BLOCK);
    assert_int_equal(rp_model_peek(RP_TRNG_RND_SOURCE_ENABLE), 0);
    assert_int_equal(fk_hal_random(b, sizeof b), FK_HAL_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(fk_hal_random(a, 0), FK_HAL_OK);
    ASSERT_NO_VIOLATION();
}

static void test_stuck_source_refused(void **state)
{
    (void)state;
    rp_model.trng = src_constant;
    expect_failure(32);
}

static void test_repetition_count(void **state)
{
    (void)state;
    uint8_t buf[64];
    rp_model.trng = src_repeat;
    repeat_at = 100;
    repeat_times = 2; /* twice in a row: fine */
    assert_int_equal(fk_hal_random(buf, sizeof buf), FK_HAL_OK);
    rp_test_boot();
    rp_trng_init();
    rp_model.trng = src_repeat;
    repeat_times = 3; /* three times: the source is stuck */
    expect_failure(64);
}

static void test_biased_source_refused(void **state)
{
    (void)state;
    rp_model.trng = src_biased;
    expect_failure(32);
}

static void test_stuck_bit_refused(void **state)
{
    (void)state;
    rp_model.trng = src_stuck_bit;
    expect_failure(32);
}

static void test_source_never_ready(void **state)
{
    (void)state;
    rp_model.trng_stalled = true;
    expect_failure(16);
    assert_int_equal(rp_model.trng_words, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_raw_mode_set_up, setup),
        cmocka_unit_test_setup(test_conditioning_known_answer, setup),
        cmocka_unit_test_setup(test_good_source, setup),
        cmocka_unit_test_setup(test_stuck_source_refused, setup),
        cmocka_unit_test_setup(test_repetition_count, setup),
        cmocka_unit_test_setup(test_biased_source_refused, setup),
        cmocka_unit_test_setup(test_stuck_bit_refused, setup),
        cmocka_unit_test_setup(test_source_never_ready, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
