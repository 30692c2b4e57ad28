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

#endif /* FUSEKEY_M33_PORT_H */
