/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_core1.c - hal.h's second core on the RP2350: core 1 stays parked in
 * the ROM for now, so the core works on core 0 alone.
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
