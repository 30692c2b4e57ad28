/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_sys.c - hal.h's entropy, time, identity, presence, LED, reboot and
 * panic for the test programs on the board, with the controls of
 * host_port.h the unit tests use, behaving as ports/host does (a virtual
 * device: platform "emulation", presence confirmed or declined at once).
 *
 * fk_hal_millis is a fake clock: each call advances it by one millisecond,
 * so time moves forward, never back, and identically in every run.
 * FK_HOST_PRESENCE_ASK has no terminal here and times out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "hal.h"
#include "host_internal.h"
#include "host_port.h"
#include "m33_port.h"
#include "util.h"

#define SERIAL_BYTES 8u

static struct {
    int verbose;
    fk_host_presence_t presence;
    bool presence_cancelled;
    bool presence_aborted;
    bool rng_fail;
    uint8_t serial[SERIAL_BYTES];
    fk_led_state_t led;
    bool reboot_pending;
    fk_reboot_mode_t reboot_mode;
    uint64_t millis;
} sys = {
    .presence = FK_HOST_PRESENCE_AUTO,
    .led = FK_LED_OFF,
    .serial = {0x46, 0x4B, 0x4D, 0x33, 0x00, 0x00, 0x00, 0x01}, /* "FKM3" 0001 */
};

void fk_host_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "m33: %s\n", line);
}

void fk_host_set_verbose(int level) { sys.verbose = level; }
int fk_host_verbose(void) { return sys.verbose; }

void fk_host_set_rng_failure(bool fail) { sys.rng_fail = fail; }

int fk_hal_random(void *buf, size_t len)
{
    if (sys.rng_fail) {
        fk_wipe(buf, len);
        return FK_HAL_EIO;
    }
    return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
}

uint64_t fk_hal_millis(void) { return ++sys.millis; }

void fk_host_set_serial(const uint8_t serial[8]) { memcpy(sys.serial, serial, SERIAL_BYTES); }
void fk_hal_serial(uint8_t serial[8]) { memcpy(serial, sys.serial, SERIAL_BYTES); }

fk_platform_t fk_hal_platform(void) { return FK_PLATFORM_EMULATION; }

void fk_host_set_presence(fk_host_presence_t mode) { sys.presence = mode; }
void fk_host_set_presence_timeout(uint32_t timeout_ms) { (void)timeout_ms; }
void fk_host_cancel_presence(void) { sys.presence_cancelled = true; }

void fk_hal_presence_abort(void) { sys.presence_aborted = true; }

int fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg)
{
    (void)timeout_ms;
    sys.presence_aborted = false;
    if (sys.presence_cancelled) return FK_HAL_ETIMEOUT;
    switch (sys.presence) {
    case FK_HOST_PRESENCE_AUTO:
        return FK_HAL_OK;
    case FK_HOST_PRESENCE_DENY:
        return FK_HAL_EDENIED;
    case FK_HOST_PRESENCE_DELAY: /* no time passes here: the "user" confirms at once */
        return FK_HAL_OK;
    case FK_HOST_PRESENCE_ASK:
    case FK_HOST_PRESENCE_TIMEOUT:
    case FK_HOST_PRESENCE_REMOTE:
        break;
    }
    if (keepalive != NULL) keepalive(arg);
    if (sys.presence_aborted) return FK_HAL_ECANCELED;
    return FK_HAL_ETIMEOUT;
}

void fk_hal_led(fk_led_state_t state) { sys.led = state; }
fk_led_state_t fk_host_led_state(void) { return sys.led; }

void fk_hal_reboot(fk_reboot_mode_t mode)
{
    sys.reboot_pending = true;
    sys.reboot_mode = mode;
}

bool fk_host_take_reboot(fk_reboot_mode_t *mode)
{
    if (!sys.reboot_pending) return false;
    sys.reboot_pending = false;
    *mode = sys.reboot_mode;
    return true;
}

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "m33: panic: broken invariant at %s:%d\n", file, line);
    abort();
}

/* The board has one core: no second core for hal.h's jobs. */
int fk_hal_core1_start(fk_core1_fn fn, void *arg)
{
    (void)fn;
    (void)arg;
    return FK_HAL_ENOTSUP;
}

bool fk_hal_core1_done(void) { return true; }

void fk_hal_core1_abandon(void) {}

static unsigned s_core_id;

void fk_m33_set_core_id(unsigned id) { s_core_id = id; }

unsigned fk_hal_core_id(void) { return s_core_id; }
