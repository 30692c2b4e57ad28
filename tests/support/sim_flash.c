/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_flash.c - the in-memory NOR flash of sim_flash.h.
 */
#include "sim_flash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal.h"

#define ERASED 0xFFu
#define SIM_ERASE_BLOCK 8u

static struct {
    uint8_t *own;      /* the flash's own bytes */
    uint8_t *mem;      /* what the HAL serves: own or a forked image */
    uint32_t size, sector_size, page_size;
    uint32_t *erases;  /* per sector */
    uint64_t ops;
    bool armed;        /* a cut is pending */
    uint64_t cut_in;   /* operations still to complete before it */
    sim_cut_mode_t cut_mode;
    uint64_t cut_rng;
    bool dead;         /* the cut happened */
    sim_flash_hook_fn hook;
    void *hook_arg;
} sim;

int sim_flash_init(uint32_t size, uint32_t sector_size, uint32_t page_size)
{
    sim_flash_deinit();
    if (sector_size == 0u || page_size == 0u || size % sector_size != 0u ||
        sector_size % page_size != 0u)
        return -1;
    sim.own = malloc(size);
    sim.erases = calloc(size / sector_size, sizeof *sim.erases);
    if (sim.own == NULL || sim.erases == NULL) {
        sim_flash_deinit();
        return -1;
    }
    memset(sim.own, ERASED, size);
    sim.mem = sim.own;
    sim.size = size;
    sim.sector_size = sector_size;
    sim.page_size = page_size;
    return 0;
}

void sim_flash_deinit(void)
{
    free(sim.own);
    free(sim.erases);
    memset(&sim, 0, sizeof sim);
}

uint8_t *sim_flash_data(void) { return sim.mem; }
uint32_t sim_flash_size(void) { return sim.size; }
uint32_t sim_flash_sector_size(void) { return sim.sector_size; }
void sim_flash_use_image(uint8_t *image) { sim.mem = image != NULL ? image : sim.own; }
uint64_t sim_flash_op_count(void) { return sim.ops; }

uint32_t sim_flash_erase_count(uint32_t sector)
{
    return sector < sim.size / sim.sector_size ? sim.erases[sector] : 0u;
}

void sim_flash_cut_after(uint64_t ops_before, sim_cut_mode_t mode, uint64_t seed)
{
    sim.armed = true;
    sim.cut_in = ops_before;
    sim.cut_mode = mode;
    sim.cut_rng = seed;
}

void sim_flash_cut_disarm(void) { sim.armed = false; }
bool sim_flash_is_cut(void) { return sim.dead; }

void sim_flash_power_on(void)
{
    sim.dead = false;
    sim.armed = false;
}

void sim_flash_set_hook(sim_flash_hook_fn fn, void *arg)
{
    sim.hook = fn;
    sim.hook_arg = arg;
}

/* The value byte i of the operation would leave if it completed. */
static uint8_t target_byte(const uint8_t *image, const sim_op_t *op, uint32_t i)
{
    const uint8_t old = image[op->offset + i];
    return op->kind == SIM_OP_ERASE ? ERASED : (uint8_t)(old & op->data[i]);
}

void sim_flash_apply_cut(uint8_t *image, const sim_op_t *op, sim_cut_mode_t mode,
                         uint64_t *rng)
{
    if (mode == SIM_CUT_NONE || op->len == 0u) return;
    if (mode == SIM_CUT_PREFIX && op->kind == SIM_OP_ERASE) {
        /* Some stretch of the sector got erased, the rest kept its bits
         * (which may keep the sector header intact). */
        const uint32_t a = sim_rng_below(rng, op->len);
        const uint32_t b = a + sim_rng_below(rng, op->len - a + 1u);
        memset(image + op->offset + a, ERASED, b - a);
        return;
    }
    if (mode == SIM_CUT_PREFIX) {
        const uint32_t done = sim_rng_below(rng, op->len);
        for (uint32_t i = 0; i < done; i++) image[op->offset + i] = target_byte(image, op, i);
        /* The byte in flight: some of its bit changes happened. */
        const uint8_t old = image[op->offset + done];
        const uint8_t want = target_byte(image, op, done);
        const uint8_t mask = (uint8_t)sim_rng_next(rng);
        image[op->offset + done] = (uint8_t)((old & ~mask) | (want & mask));
        return;
    }
    if (op->kind == SIM_OP_ERASE) {
        /* Any mix of old and erased bits: each small block kept, erased, or
         * with a random part of its bits set. */
        for (uint32_t b = 0; b < op->len; b += SIM_ERASE_BLOCK) {
            const uint32_t how = sim_rng_below(rng, 3);
            for (uint32_t i = b; i < b + SIM_ERASE_BLOCK && i < op->len; i++) {
                uint8_t *p = image + op->offset + i;
                if (how == 1u) *p = ERASED;
                if (how == 2u) *p |= (uint8_t)sim_rng_next(rng);
            }
        }
        return;
    }
    for (uint32_t i = 0; i < op->len; i++) {
        const uint8_t old = image[op->offset + i];
        const uint8_t want = target_byte(image, op, i);
        if (old == want) continue;
        const uint8_t mask = (uint8_t)sim_rng_next(rng);
        image[op->offset + i] = (uint8_t)((old & ~mask) | (want & mask));
    }
}

/* Count the operation, call the hook, and apply an armed cut. Returns true
 * when the operation may proceed normally. */
static bool before_op(sim_op_t *op)
{
    op->index = sim.ops;
    if (sim.hook != NULL) sim.hook(sim.hook_arg, op);
    if (sim.armed) {
        if (sim.cut_in == 0u) {
            sim_flash_apply_cut(sim.mem, op, sim.cut_mode, &sim.cut_rng);
            sim.armed = false;
            sim.dead = true;
            return false;
        }
        sim.cut_in--;
    }
    sim.ops++;
    return true;
}

void fk_hal_flash_geometry(fk_flash_geometry_t *geo)
{
    geo->size = sim.size;
    geo->sector_size = sim.sector_size;
    geo->page_size = sim.page_size;
}

int fk_hal_flash_read(uint32_t offset, void *buf, size_t len)
{
    if (sim.dead || sim.mem == NULL) return FK_HAL_EIO;
    if (offset > sim.size || len > sim.size - offset) return FK_HAL_ERANGE;
    if (len > 0u) memcpy(buf, sim.mem + offset, len);
    return FK_HAL_OK;
}

int fk_hal_flash_erase(uint32_t offset)
{
    if (sim.dead || sim.mem == NULL) return FK_HAL_EIO;
    if (offset >= sim.size) return FK_HAL_ERANGE;
    if (offset % sim.sector_size != 0u) return FK_HAL_EALIGN;
    sim_op_t op = {SIM_OP_ERASE, offset, sim.sector_size, NULL, 0};
    if (!before_op(&op)) return FK_HAL_EIO;
    memset(sim.mem + offset, ERASED, sim.sector_size);
    if (sim.mem == sim.own) sim.erases[offset / sim.sector_size]++;
    return FK_HAL_OK;
}

int fk_hal_flash_program(uint32_t offset, const void *data, size_t len)
{
    if (sim.dead || sim.mem == NULL) return FK_HAL_EIO;
    if (offset > sim.size || len > sim.size - offset) return FK_HAL_ERANGE;
    if (len > sim.page_size || offset % sim.page_size + len > sim.page_size) return FK_HAL_EALIGN;
    if (len == 0u) return FK_HAL_OK;
    sim_op_t op = {SIM_OP_PROGRAM, offset, (uint32_t)len, (const uint8_t *)data, 0};
    if (!before_op(&op)) return FK_HAL_EIO;
    const uint8_t *in = (const uint8_t *)data;
    for (size_t i = 0; i < len; i++) sim.mem[offset + i] &= in[i];
    return FK_HAL_OK;
}

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "fk_hal_panic: %s:%d\n", file, line);
    abort();
}
