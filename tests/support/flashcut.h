/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flashcut.h - power cuts between flash operations, for unit tests that run
 * the real device over the host port's flash. The test is linked with
 * --wrap=fk_hal_flash_program and --wrap=fk_hal_flash_erase (CMake:
 * fk_use_flashcut(target)); flashcut.c provides the wrappers. Once armed
 * with a budget of n operations, the (n+1)-th and every later program or
 * erase fails with FK_HAL_EIO and does nothing, as on a board whose power
 * went away between two operations. A cut inside one operation is the
 * store's concern (its own power-cut harness).
 */
#ifndef FUSEKEY_TEST_FLASHCUT_H
#define FUSEKEY_TEST_FLASHCUT_H

#include <stdbool.h>

/* Let `ops` more operations succeed, then fail every one; clears the cut
 * flag. A negative budget disarms. */
void fk_flashcut_arm(long ops);

/* Every operation succeeds again. */
void fk_flashcut_disarm(void);

/* An operation was refused since the last arm. */
bool fk_flashcut_cut(void);

/* Operations that succeeded since the program started. */
unsigned long fk_flashcut_ops(void);

#endif /* FUSEKEY_TEST_FLASHCUT_H */
