/* SPDX-License-Identifier: Apache-2.0 */
/* flashcut.c - see flashcut.h. */
#include "flashcut.h"

#include <stddef.h>
#include <stdint.h>

#include "hal.h"

int __real_fk_hal_flash_program(uint32_t offset, const void *data, size_t len);
int __real_fk_hal_flash_erase(uint32_t offset);
int __wrap_fk_hal_flash_program(uint32_t offset, const void *data, size_t len);
int __wrap_fk_hal_flash_erase(uint32_t offset);

static long s_left = -1; /* operations that still succeed; negative: all */
static bool s_cut;
static unsigned long s_ops;

void fk_flashcut_arm(long ops)
{
    s_left = ops;
    s_cut = false;
}

void fk_flashcut_disarm(void) { s_left = -1; }

bool fk_flashcut_cut(void) { return s_cut; }

unsigned long fk_flashcut_ops(void) { return s_ops; }

/* Count one operation; false once the power is gone. */
static bool op_allowed(void)
{
    if (s_left == 0) {
        s_cut = true;
        return false;
    }
    if (s_left > 0) s_left--;
    s_ops++;
    return true;
}

int __wrap_fk_hal_flash_program(uint32_t offset, const void *data, size_t len)
{
    return op_allowed() ? __real_fk_hal_flash_program(offset, data, len) : FK_HAL_EIO;
}

int __wrap_fk_hal_flash_erase(uint32_t offset)
{
    return op_allowed() ? __real_fk_hal_flash_erase(offset) : FK_HAL_EIO;
}
