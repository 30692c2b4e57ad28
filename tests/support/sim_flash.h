/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_flash.h - an in-memory NOR flash implementing the flash part of hal.h
 * for the store's tests and fuzz target, with power-cut injection.
 *
 * Semantics (as hal.h): erase sets a whole sector to 0xFF, program can only
 * clear bits (new = old & data) and never crosses a page. A power cut stops
 * the flash at an operation: that operation is done not at all, as a prefix,
 * or as a random subset of its bit changes, and every later program, erase
 * or read fails with FK_HAL_EIO until sim_flash_power_on().
 *
 * The program linking this file also gets fk_hal_panic (prints, aborts):
 * store tests link no port.
 */
#ifndef FUSEKEY_SIM_FLASH_H
#define FUSEKEY_SIM_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sim_op_kind {
    SIM_OP_PROGRAM = 0,
    SIM_OP_ERASE,
} sim_op_kind_t;

/* One program or erase, as the hook sees it before it happens. */
typedef struct sim_op {
    sim_op_kind_t kind;
    uint32_t offset;
    uint32_t len;         /* program: bytes; erase: the sector size */
    const uint8_t *data;  /* program only */
    uint64_t index;       /* 0 for the first operation since sim_flash_init */
} sim_op_t;

typedef enum sim_cut_mode {
    SIM_CUT_NONE = 0, /* the operation does not happen at all */
    SIM_CUT_PREFIX,   /* program: only its first bytes happen (the next one
                       * partly); erase: only a random stretch is erased */
    SIM_CUT_SCATTER,  /* program: a random subset of its bit changes happens;
                       * erase: 8-byte blocks kept, erased or partly set */
} sim_cut_mode_t;

/* A small deterministic generator (splitmix64) for tests and the flash. */
static inline uint64_t sim_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform value in [0, n) (n > 0). */
static inline uint32_t sim_rng_below(uint64_t *state, uint32_t n)
{
    return (uint32_t)(sim_rng_next(state) % n);
}

/* Create (or re-create) the flash, fully erased. Returns 0 or -1. */
int sim_flash_init(uint32_t size, uint32_t sector_size, uint32_t page_size);
void sim_flash_deinit(void);

/* The flash bytes, for tests that inspect or damage them. */
uint8_t *sim_flash_data(void);
uint32_t sim_flash_size(void);
uint32_t sim_flash_sector_size(void);

/* Serve the HAL from another buffer of sim_flash_size() bytes (NULL: back
 * to the flash's own). The power-cut harness forks images this way. */
void sim_flash_use_image(uint8_t *image);

/* Programs and erases done so far (failed ones not counted). */
uint64_t sim_flash_op_count(void);

/* Erases done on one sector since sim_flash_init. */
uint32_t sim_flash_erase_count(uint32_t sector);

/* Arm a power cut: `ops_before` more operations complete, the next one is
 * cut as `mode` (random choices from seed), then the flash is dead. */
void sim_flash_cut_after(uint64_t ops_before, sim_cut_mode_t mode, uint64_t seed);
void sim_flash_cut_disarm(void);
bool sim_flash_is_cut(void);
/* Power comes back: the flash works again (a pending cut is disarmed). */
void sim_flash_power_on(void);

/* Apply `op` to image as a power cut in `mode` would leave it. */
void sim_flash_apply_cut(uint8_t *image, const sim_op_t *op, sim_cut_mode_t mode,
                         uint64_t *rng);

/* Called before every program and erase (not while a cut is in force). */
typedef void (*sim_flash_hook_fn)(void *arg, const sim_op_t *op);
void sim_flash_set_hook(sim_flash_hook_fn fn, void *arg);

#endif /* FUSEKEY_SIM_FLASH_H */
