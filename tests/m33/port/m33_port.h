/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_port.h - the test port of the Cortex-M33 test programs (tests/m33):
 * hal.h and the part of ports/host's host_port.h that the unit tests use,
 * over the host's files through semihosting, a test random generator and a
 * fake clock. Only for test programs on QEMU.
 */
#ifndef FUSEKEY_M33_PORT_H
#define FUSEKEY_M33_PORT_H

#include <stdint.h>

/* Seed the tests' random generator (done from the host's clock otherwise). */
void fk_m33_seed(uint64_t seed);

/* What fk_hal_core_id answers from now on (0 by default): a test can run
 * code "as the second core", e.g. to measure the crypto arena's second
 * region. The board has one core: fk_hal_core1_start says FK_HAL_ENOTSUP. */
void fk_m33_set_core_id(unsigned id);

#endif /* FUSEKEY_M33_PORT_H */
