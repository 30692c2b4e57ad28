/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the wall clock (core/rtc.c): the civil <-> Unix time
 * conversions against the C library's timegm/gmtime_r over every day of
 * 1970-2099, the range limits, and the clock itself over a millisecond
 * counter this test drives (it provides fk_hal_millis and fk_hal_panic, the
 * only HAL functions rtc.c uses).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hal.h"
#include "rtc.h"

#define SECONDS_PER_DAY 86400u
#define DAYS_1970_2099 47482u /* 1970-01-01 .. 2099-12-31 */

static uint64_t g_millis;
static fk_rtc_t g_rtc; /* the clock under test */

uint64_t fk_hal_millis(void) { return g_millis; }

void fk_hal_panic(const char *file, int line)
{
    mock_assert(0, "fk_hal_panic", file, line);
    abort();
}

static int setup(void **state)
{
    (void)state;
    fk_rtc_clear(&g_rtc);
    g_millis = 123456789u; /* an arbitrary origin, as on a device that has run a while */
    return 0;
}

/* The civil date the C library gives for a Unix time. */
static fk_rtc_civil_t libc_civil(uint32_t epoch)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    fk_rtc_civil_t c = {
        .year = (uint16_t)(tm.tm_year + 1900),
        .month = (uint8_t)(tm.tm_mon + 1),
        .day = (uint8_t)tm.tm_mday,
        .weekday = (uint8_t)tm.tm_wday,
        .hour = (uint8_t)tm.tm_hour,
        .minute = (uint8_t)tm.tm_min,
        .second = (uint8_t)tm.tm_sec,
    };
    return c;
}

static void assert_civil_equal(const fk_rtc_civil_t *a, const fk_rtc_civil_t *b)
{
    assert_int_equal(a->year, b->year);
    assert_int_equal(a->month, b->month);
    assert_int_equal(a->day, b->day);
    assert_int_equal(a->weekday, b->weekday);
    assert_int_equal(a->hour, b->hour);
    assert_int_equal(a->minute, b->minute);
    assert_int_equal(a->second, b->second);
}

/* Every day of the range, at a time of day that moves through the day, both
 * directions, against the C library. */
static void test_every_day_matches_libc(void **state)
{
    (void)state;
    for (uint32_t day = 0; day < DAYS_1970_2099; day++) {
        const uint32_t epoch = day * SECONDS_PER_DAY + (day * 7919u) % SECONDS_PER_DAY;
        const fk_rtc_civil_t want = libc_civil(epoch);
        fk_rtc_civil_t got;
        assert_int_equal(fk_rtc_epoch_to_civil(epoch, &got), FK_RTC_OK);
        assert_civil_equal(&got, &want);
        uint32_t back = 0;
        assert_int_equal(fk_rtc_civil_to_epoch(&want, &back), FK_RTC_OK);
        assert_int_equal(back, epoch);
        assert_int_equal(fk_rtc_weekday(want.year, want.month, want.day), want.weekday);
    }
}

static void test_known_dates(void **state)
{
    (void)state;
    static const struct {
        uint32_t epoch;
        fk_rtc_civil_t civil;
    } k[] = {
        {0u, {1970, 1, 1, 4, 0, 0, 0}},                 /* a Thursday */
        {951782400u, {2000, 2, 29, 2, 0, 0, 0}},        /* 2000 is a leap year */
        {1709210096u, {2024, 2, 29, 4, 12, 34, 56}},
        {FK_RTC_EPOCH_MAX, {2099, 12, 31, 4, 23, 59, 59}},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        fk_rtc_civil_t c;
        uint32_t e = 1;
        assert_int_equal(fk_rtc_epoch_to_civil(k[i].epoch, &c), FK_RTC_OK);
        assert_civil_equal(&c, &k[i].civil);
        assert_int_equal(fk_rtc_civil_to_epoch(&k[i].civil, &e), FK_RTC_OK);
        assert_int_equal(e, k[i].epoch);
    }
}

static void test_invalid_civil(void **state)
{
    (void)state;
    const fk_rtc_civil_t good = {2024, 2, 29, 4, 12, 34, 56};
    assert_int_equal(fk_rtc_civil_check(&good), FK_RTC_OK);
    fk_rtc_civil_t bad[] = {good, good, good, good, good, good, good, good,
                            good, good, good, good, good, good, good};
    bad[0].year = 1969;
    bad[1].year = 2100;
    bad[2].month = 0;
    bad[3].month = 13;
    bad[4].day = 0;
    bad[5].day = 30; /* 2024-02-30 */
    bad[6].hour = 24;
    bad[7].minute = 60;
    bad[8].second = 60;
    bad[9].weekday = 7;
    bad[10].weekday = 3; /* 2024-02-29 is a Thursday */
    bad[11].year = 2023; /* 2023-02-29 does not exist */
    bad[11].weekday = 3;
    bad[12].month = 4;   /* April 31 */
    bad[12].day = 31;
    bad[13].year = 2100; /* 2100 is not a leap year either, and out of range */
    bad[13].day = 28;
    bad[14].day = 32;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t e = 77;
        assert_int_equal(fk_rtc_civil_check(&bad[i]), FK_RTC_EINVAL);
        assert_int_equal(fk_rtc_civil_to_epoch(&bad[i], &e), FK_RTC_EINVAL);
        assert_int_equal(e, 77); /* untouched */
        assert_int_equal(fk_rtc_set_civil(&g_rtc, &bad[i]), FK_RTC_EINVAL);
        assert_false(fk_rtc_is_set(&g_rtc));
    }
    fk_rtc_civil_t c;
    assert_int_equal(fk_rtc_epoch_to_civil(FK_RTC_EPOCH_MAX + 1u, &c), FK_RTC_EINVAL);
    assert_int_equal(fk_rtc_epoch_to_civil(UINT32_MAX, &c), FK_RTC_EINVAL);
}

static void test_weekday_asserts_on_invalid_date(void **state)
{
    (void)state;
    expect_assert_failure(fk_rtc_weekday(2023, 2, 29));
    expect_assert_failure(fk_rtc_weekday(1969, 12, 31));
}

static void test_clock_unset_then_set(void **state)
{
    (void)state;
    uint32_t e = 5;
    fk_rtc_civil_t c;
    assert_false(fk_rtc_is_set(&g_rtc));
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_EUNSET);
    assert_int_equal(fk_rtc_now_civil(&g_rtc, &c), FK_RTC_EUNSET);
    assert_int_equal(e, 5);

    assert_int_equal(fk_rtc_set_epoch(&g_rtc, 1700000000u), FK_RTC_OK);
    assert_true(fk_rtc_is_set(&g_rtc));
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_OK);
    assert_int_equal(e, 1700000000u);

    /* The clock follows the millisecond counter, whole seconds only. */
    g_millis += 999;
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_OK);
    assert_int_equal(e, 1700000000u);
    g_millis += 1;
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_OK);
    assert_int_equal(e, 1700000001u);
    g_millis += 86400u * 1000u;
    assert_int_equal(fk_rtc_now_civil(&g_rtc, &c), FK_RTC_OK);
    const fk_rtc_civil_t want = libc_civil(1700000001u + 86400u);
    assert_civil_equal(&c, &want);

    /* A failed set leaves the clock as it was. */
    assert_int_equal(fk_rtc_set_epoch(&g_rtc, FK_RTC_EPOCH_MAX + 1u), FK_RTC_EINVAL);
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_OK);
    assert_int_equal(e, 1700000001u + 86400u);

    fk_rtc_clear(&g_rtc);
    assert_false(fk_rtc_is_set(&g_rtc));
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_EUNSET);
}

static void test_clock_set_civil(void **state)
{
    (void)state;
    const fk_rtc_civil_t t = {2031, 12, 31, 3, 23, 59, 58};
    assert_int_equal(fk_rtc_set_civil(&g_rtc, &t), FK_RTC_OK);
    g_millis += 2000;
    fk_rtc_civil_t c;
    assert_int_equal(fk_rtc_now_civil(&g_rtc, &c), FK_RTC_OK);
    const fk_rtc_civil_t want = {2032, 1, 1, 4, 0, 0, 0};
    assert_civil_equal(&c, &want);
}

static void test_clock_runs_out_of_range(void **state)
{
    (void)state;
    uint32_t e;
    assert_int_equal(fk_rtc_set_epoch(&g_rtc, FK_RTC_EPOCH_MAX), FK_RTC_OK);
    g_millis += 999;
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_OK);
    assert_int_equal(e, FK_RTC_EPOCH_MAX);
    g_millis += 1;
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_ERANGE);
    fk_rtc_civil_t c;
    assert_int_equal(fk_rtc_now_civil(&g_rtc, &c), FK_RTC_ERANGE);
    /* Setting it again brings it back. */
    assert_int_equal(fk_rtc_set_epoch(&g_rtc, 0), FK_RTC_OK);
    assert_int_equal(fk_rtc_now_epoch(&g_rtc, &e), FK_RTC_OK);
    assert_int_equal(e, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_day_matches_libc, setup),
        cmocka_unit_test_setup(test_known_dates, setup),
        cmocka_unit_test_setup(test_invalid_civil, setup),
        cmocka_unit_test_setup(test_weekday_asserts_on_invalid_date, setup),
        cmocka_unit_test_setup(test_clock_unset_then_set, setup),
        cmocka_unit_test_setup(test_clock_set_civil, setup),
        cmocka_unit_test_setup(test_clock_runs_out_of_range, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
