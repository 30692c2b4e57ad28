/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto_test_hal.c - the HAL functions the crypto module calls, for the
 * tests that run it without a device (boot, the EC tweak, the backends'
 * cross-check): real entropy, a fixed serial, a monotonic clock, panic =
 * abort. Tests that need more control of the HAL bring their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "hal.h"
#include "util.h"

int fk_hal_random(void *buf, size_t len)
{
    return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
}

void fk_hal_serial(uint8_t serial[8])
{
    static const uint8_t k_serial[8] = {0x46, 0x4B, 0x54, 0x45, 0x53, 0x54, 0x00, 0x01};
    memcpy(serial, k_serial, sizeof(k_serial));
}

uint64_t fk_hal_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "panic at %s:%d\n", file, line);
    abort();
}
