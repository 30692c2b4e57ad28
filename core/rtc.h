/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtc.h - the device's wall clock: set by the host (the rescue applet's
 * 80 1C 02), read by whatever needs the date (the rescue applet's 80 1E 04,
 * later certificate validity checks).
 *
 * The clock is volatile: it is kept as an offset to fk_hal_millis() and is
 * "never set" after every start of the firmware. The device's clock lives in
 * the services object. It counts UTC seconds
 * without leap seconds (Unix time) and covers 1970-01-01 00:00:00 to
 * 2099-12-31 23:59:59, the range in which every year divisible by four is a
 * leap year. Conversions between Unix time and the civil date are pure
 * functions, usable without the clock.
 */
#ifndef FUSEKEY_RTC_H
#define FUSEKEY_RTC_H

#include <stdbool.h>
#include <stdint.h>

#define FK_RTC_YEAR_MIN 1970u
#define FK_RTC_YEAR_MAX 2099u
/* Unix time of 2099-12-31 23:59:59, the last second the clock represents. */
#define FK_RTC_EPOCH_MAX 4102444799u

/* Weekdays, as C's struct tm counts them. */
#define FK_RTC_SUNDAY 0u
#define FK_RTC_SATURDAY 6u

enum {
    FK_RTC_OK = 0,
    FK_RTC_EINVAL = -1, /* a field out of range, a day the month lacks, a wrong weekday */
    FK_RTC_EUNSET = -2, /* the clock was never set since the firmware started */
    FK_RTC_ERANGE = -3, /* the clock ran past FK_RTC_EPOCH_MAX */
};

/* A civil date and time (UTC). */
typedef struct fk_rtc_civil {
    uint16_t year;   /* FK_RTC_YEAR_MIN..FK_RTC_YEAR_MAX */
    uint8_t month;   /* 1..12 */
    uint8_t day;     /* 1..days of the month */
    uint8_t weekday; /* 0 Sunday .. 6 Saturday */
    uint8_t hour;    /* 0..23 */
    uint8_t minute;  /* 0..59 */
    uint8_t second;  /* 0..59 */
} fk_rtc_civil_t;

/* ---- Conversions (pure) -------------------------------------------------- */

/* The weekday (0 Sunday) of a date; the date must be in range (asserted). */
uint8_t fk_rtc_weekday(uint16_t year, uint8_t month, uint8_t day);

/* FK_RTC_OK when every field of *t is in range, the day exists in that month
 * and the weekday is the one of that date; else FK_RTC_EINVAL. */
int fk_rtc_civil_check(const fk_rtc_civil_t *t);

/* Unix time of a civil date (checked as fk_rtc_civil_check does). */
int fk_rtc_civil_to_epoch(const fk_rtc_civil_t *t, uint32_t *epoch);

/* Civil date of a Unix time; FK_RTC_EINVAL above FK_RTC_EPOCH_MAX. */
int fk_rtc_epoch_to_civil(uint32_t epoch, fk_rtc_civil_t *t);

/* ---- The clock ------------------------------------------------------------ */

/* A clock: an offset to fk_hal_millis(). The device has one, owned by the
 * services object (core/services/services.h). */
typedef struct fk_rtc {
    bool set;
    int64_t offset_ms; /* Unix time in ms = fk_hal_millis() + offset_ms */
} fk_rtc_t;

/* A clock that was never set. */
void fk_rtc_init(fk_rtc_t *rtc);

/* Set the clock to a Unix time (FK_RTC_EINVAL above FK_RTC_EPOCH_MAX, the
 * clock unchanged). */
int fk_rtc_set_epoch(fk_rtc_t *rtc, uint32_t epoch);

/* Set the clock to a civil date (checked; the clock unchanged on error). */
int fk_rtc_set_civil(fk_rtc_t *rtc, const fk_rtc_civil_t *t);

/* The current Unix time: FK_RTC_EUNSET before the first set, FK_RTC_ERANGE
 * once the clock has run past FK_RTC_EPOCH_MAX. */
int fk_rtc_now_epoch(const fk_rtc_t *rtc, uint32_t *epoch);

/* The current civil date, with the same errors as fk_rtc_now_epoch. */
int fk_rtc_now_civil(const fk_rtc_t *rtc, fk_rtc_civil_t *t);

/* Whether the clock was set since the firmware started (or the last clear). */
bool fk_rtc_is_set(const fk_rtc_t *rtc);

/* Forget the time, as a reboot does. */
void fk_rtc_clear(fk_rtc_t *rtc);

#endif /* FUSEKEY_RTC_H */
