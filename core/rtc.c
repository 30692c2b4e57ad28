/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtc.c - the volatile wall clock of rtc.h.
 *
 * IMPLEMENTATION NOTE: within 1970-2099 a year is a leap year exactly when
 * it is divisible by four (2000 is one, 2100 is out of range), so the
 * calendar arithmetic below needs no century rules. The clock state is an
 * fk_rtc_t owned by the services object.
 */
#include "rtc.h"

#include "hal.h"
#include "util.h"

#define SECONDS_PER_MINUTE 60u
#define MINUTES_PER_HOUR 60u
#define HOURS_PER_DAY 24u
#define SECONDS_PER_HOUR (SECONDS_PER_MINUTE * MINUTES_PER_HOUR)
#define SECONDS_PER_DAY (SECONDS_PER_HOUR * HOURS_PER_DAY)
#define MONTHS 12u
#define DAYS_PER_YEAR 365u
#define LEAP_CYCLE 4u
#define FEBRUARY 2u
#define DAYS_PER_WEEK 7u
#define EPOCH_WEEKDAY 4u /* 1970-01-01 was a Thursday */
#define MS_PER_S 1000

_Static_assert(FK_RTC_EPOCH_MAX ==
                   ((FK_RTC_YEAR_MAX + 1u - FK_RTC_YEAR_MIN) * DAYS_PER_YEAR +
                    (FK_RTC_YEAR_MAX + 1u - FK_RTC_YEAR_MIN + 1u) / LEAP_CYCLE) *
                           SECONDS_PER_DAY -
                       1u,
               "FK_RTC_EPOCH_MAX is the last second of FK_RTC_YEAR_MAX");

/* Days before the first of each month in a common year. */
static const uint16_t k_days_before_month[MONTHS] = {0,   31,  59,  90,  120, 151,
                                                     181, 212, 243, 273, 304, 334};
static const uint8_t k_days_in_month[MONTHS] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static bool is_leap(unsigned year) { return year % LEAP_CYCLE == 0u; }

static unsigned days_in_month(unsigned year, unsigned month)
{
    return k_days_in_month[month - 1u] + ((month == FEBRUARY && is_leap(year)) ? 1u : 0u);
}

/* Days from 1970-01-01 to the first day of `year`. */
static uint32_t days_before_year(unsigned year)
{
    const unsigned years = year - FK_RTC_YEAR_MIN;
    /* Leap years in [1970, year): 1972, 1976, ... */
    return (uint32_t)years * DAYS_PER_YEAR + (years + 1u) / LEAP_CYCLE;
}

static bool date_in_range(unsigned year, unsigned month, unsigned day)
{
    return year >= FK_RTC_YEAR_MIN && year <= FK_RTC_YEAR_MAX && month >= 1u && month <= MONTHS &&
           day >= 1u && day <= days_in_month(year, month);
}

/* Days from 1970-01-01 to the given (valid) date. */
static uint32_t days_from_civil(unsigned year, unsigned month, unsigned day)
{
    uint32_t days = days_before_year(year) + k_days_before_month[month - 1u] + (day - 1u);
    if (month > FEBRUARY && is_leap(year)) days++;
    return days;
}

uint8_t fk_rtc_weekday(uint16_t year, uint8_t month, uint8_t day)
{
    FK_ASSERT(date_in_range(year, month, day));
    return (uint8_t)((days_from_civil(year, month, day) + EPOCH_WEEKDAY) % DAYS_PER_WEEK);
}

int fk_rtc_civil_check(const fk_rtc_civil_t *t)
{
    if (!date_in_range(t->year, t->month, t->day)) return FK_RTC_EINVAL;
    if (t->hour >= HOURS_PER_DAY || t->minute >= MINUTES_PER_HOUR ||
        t->second >= SECONDS_PER_MINUTE)
        return FK_RTC_EINVAL;
    if (t->weekday != fk_rtc_weekday(t->year, t->month, t->day)) return FK_RTC_EINVAL;
    return FK_RTC_OK;
}

int fk_rtc_civil_to_epoch(const fk_rtc_civil_t *t, uint32_t *epoch)
{
    if (fk_rtc_civil_check(t) != FK_RTC_OK) return FK_RTC_EINVAL;
    *epoch = days_from_civil(t->year, t->month, t->day) * SECONDS_PER_DAY +
             (uint32_t)t->hour * SECONDS_PER_HOUR + (uint32_t)t->minute * SECONDS_PER_MINUTE +
             t->second;
    return FK_RTC_OK;
}

int fk_rtc_epoch_to_civil(uint32_t epoch, fk_rtc_civil_t *t)
{
    if (epoch > FK_RTC_EPOCH_MAX) return FK_RTC_EINVAL;
    uint32_t days = epoch / SECONDS_PER_DAY;
    const uint32_t secs = epoch % SECONDS_PER_DAY;

    t->weekday = (uint8_t)((days + EPOCH_WEEKDAY) % DAYS_PER_WEEK);
    t->hour = (uint8_t)(secs / SECONDS_PER_HOUR);
    t->minute = (uint8_t)(secs % SECONDS_PER_HOUR / SECONDS_PER_MINUTE);
    t->second = (uint8_t)(secs % SECONDS_PER_MINUTE);

    unsigned year = FK_RTC_YEAR_MIN;
    while (days >= DAYS_PER_YEAR + (is_leap(year) ? 1u : 0u)) {
        days -= DAYS_PER_YEAR + (is_leap(year) ? 1u : 0u);
        year++;
    }
    unsigned month = 1u;
    while (days >= days_in_month(year, month)) {
        days -= days_in_month(year, month);
        month++;
    }
    t->year = (uint16_t)year;
    t->month = (uint8_t)month;
    t->day = (uint8_t)(days + 1u);
    return FK_RTC_OK;
}

void fk_rtc_init(fk_rtc_t *rtc) { fk_rtc_clear(rtc); }

int fk_rtc_set_epoch(fk_rtc_t *rtc, uint32_t epoch)
{
    if (epoch > FK_RTC_EPOCH_MAX) return FK_RTC_EINVAL;
    rtc->offset_ms = (int64_t)epoch * MS_PER_S - (int64_t)fk_hal_millis();
    rtc->set = true;
    return FK_RTC_OK;
}

int fk_rtc_set_civil(fk_rtc_t *rtc, const fk_rtc_civil_t *t)
{
    uint32_t epoch;
    if (fk_rtc_civil_to_epoch(t, &epoch) != FK_RTC_OK) return FK_RTC_EINVAL;
    return fk_rtc_set_epoch(rtc, epoch);
}

int fk_rtc_now_epoch(const fk_rtc_t *rtc, uint32_t *epoch)
{
    if (!rtc->set) return FK_RTC_EUNSET;
    /* fk_hal_millis never goes back, so the sum stays >= the time set. */
    const int64_t now_s = ((int64_t)fk_hal_millis() + rtc->offset_ms) / MS_PER_S;
    if (now_s < 0 || now_s > (int64_t)FK_RTC_EPOCH_MAX) return FK_RTC_ERANGE;
    *epoch = (uint32_t)now_s;
    return FK_RTC_OK;
}

int fk_rtc_now_civil(const fk_rtc_t *rtc, fk_rtc_civil_t *t)
{
    uint32_t epoch;
    const int rc = fk_rtc_now_epoch(rtc, &epoch);
    if (rc != FK_RTC_OK) return rc;
    return fk_rtc_epoch_to_civil(epoch, t);
}

bool fk_rtc_is_set(const fk_rtc_t *rtc) { return rtc->set; }

void fk_rtc_clear(fk_rtc_t *rtc)
{
    rtc->set = false;
    rtc->offset_ms = 0;
}
