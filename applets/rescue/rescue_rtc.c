/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue_rtc.c - set and read the device clock (core/rtc.h) in the two
 * forms of the rescue protocol:
 *
 *   civil (P2 01): year(2, big-endian) month day weekday hour minute second
 *   epoch (P2 02): Unix time, u32 big-endian
 */
#include "rescue.h"
#include "rescue_internal.h"
#include "rtc.h"
#include "services/services.h"
#include "util.h"

#define CIVIL_OFF_YEAR 0u
#define CIVIL_OFF_MONTH 2u
#define CIVIL_OFF_DAY 3u
#define CIVIL_OFF_WEEKDAY 4u
#define CIVIL_OFF_HOUR 5u
#define CIVIL_OFF_MINUTE 6u
#define CIVIL_OFF_SECOND 7u

_Static_assert(CIVIL_OFF_SECOND + 1u == FK_RESCUE_RTC_CIVIL_LEN, "civil form layout");

static bool rtc_form_ok(uint8_t p2)
{
    return p2 == FK_RESCUE_RTC_CIVIL || p2 == FK_RESCUE_RTC_EPOCH;
}

fk_sw_t rescue_rtc_set(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    if (!rtc_form_ok(cmd->p2)) return FK_SW_INCORRECT_P1P2;
    if (cmd->p2 == FK_RESCUE_RTC_EPOCH) {
        if (cmd->nc != FK_RESCUE_RTC_EPOCH_LEN) return FK_SW_WRONG_LENGTH;
        return fk_rtc_set_epoch(&ctx->svc->rtc, fk_be32(cmd->data)) == FK_RTC_OK ? FK_SW_OK : FK_SW_WRONG_DATA;
    }
    if (cmd->nc != FK_RESCUE_RTC_CIVIL_LEN) return FK_SW_WRONG_LENGTH;
    const uint8_t *d = cmd->data;
    const fk_rtc_civil_t t = {
        .year = fk_be16(d + CIVIL_OFF_YEAR),
        .month = d[CIVIL_OFF_MONTH],
        .day = d[CIVIL_OFF_DAY],
        .weekday = d[CIVIL_OFF_WEEKDAY],
        .hour = d[CIVIL_OFF_HOUR],
        .minute = d[CIVIL_OFF_MINUTE],
        .second = d[CIVIL_OFF_SECOND],
    };
    return fk_rtc_set_civil(&ctx->svc->rtc, &t) == FK_RTC_OK ? FK_SW_OK : FK_SW_WRONG_DATA;
}

fk_sw_t rescue_rtc_get(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (!rtc_form_ok(cmd->p2)) return FK_SW_INCORRECT_P1P2;
    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    fk_rtc_civil_t t;
    uint32_t epoch;
    /* Never set, or run past the last representable second: no time to give. */
    if (fk_rtc_now_epoch(&ctx->svc->rtc, &epoch) != FK_RTC_OK) return FK_SW_CONDITIONS_NOT_SATISFIED;
    if (cmd->p2 == FK_RESCUE_RTC_EPOCH) {
        uint8_t *p = fk_rbuf_reserve(resp, FK_RESCUE_RTC_EPOCH_LEN);
        if (p == NULL) return FK_SW_UNKNOWN;
        fk_put_be32(p, epoch);
        return FK_SW_OK;
    }
    if (fk_rtc_epoch_to_civil(epoch, &t) != FK_RTC_OK) return FK_SW_UNKNOWN;
    uint8_t *p = fk_rbuf_reserve(resp, FK_RESCUE_RTC_CIVIL_LEN);
    if (p == NULL) return FK_SW_UNKNOWN;
    fk_put_be16(p + CIVIL_OFF_YEAR, t.year);
    p[CIVIL_OFF_MONTH] = t.month;
    p[CIVIL_OFF_DAY] = t.day;
    p[CIVIL_OFF_WEEKDAY] = t.weekday;
    p[CIVIL_OFF_HOUR] = t.hour;
    p[CIVIL_OFF_MINUTE] = t.minute;
    p[CIVIL_OFF_SECOND] = t.second;
    return FK_SW_OK;
}
