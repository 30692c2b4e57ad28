/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hal_one_core.c - hal.h's second-core functions for the tests that bring
 * their own HAL functions instead of a port: a device with one core, so
 * the core's two-core code takes its single-core path.
 */
#include "hal.h"

int fk_hal_core1_start(fk_core1_fn fn, void *arg)
{
    (void)fn;
    (void)arg;
    return FK_HAL_ENOTSUP;
}

bool fk_hal_core1_done(void) { return true; }

void fk_hal_core1_abandon(void) {}

unsigned fk_hal_core_id(void) { return 0; }
