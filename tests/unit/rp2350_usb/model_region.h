/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model_region.h - one modelled address range of the RP2350, as the
 * rp_model_* dispatcher (mmio_usb_only.c here; a shared dispatcher once
 * several port models are linked together) sees it.
 *
 * rd/wr get the absolute address and the access width in bytes (1, 2, 4);
 * the dispatcher has already checked natural alignment.
 */
#ifndef FUSEKEY_TEST_MODEL_REGION_H
#define FUSEKEY_TEST_MODEL_REGION_H

#include <stddef.h>
#include <stdint.h>

typedef struct rp_model_region {
    const char *name;
    uint32_t base;
    uint32_t size;
    uint32_t (*rd)(uint32_t addr, unsigned width);
    void (*wr)(uint32_t addr, unsigned width, uint32_t value);
} rp_model_region_t;

#endif /* FUSEKEY_TEST_MODEL_REGION_H */
