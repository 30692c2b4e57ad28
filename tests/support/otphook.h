/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otphook.h - OTP writes that misbehave, for unit tests over the host
 * port's OTP (fk_host_otp_model). The hook sits between the model and its
 * file: rows [first, first + count) lose the bits `lose` of each write and,
 * with `fail`, report it as failed; the file gets what the model then holds.
 * Every row programmed while the hook is in is counted.
 */
#ifndef FUSEKEY_TEST_OTPHOOK_H
#define FUSEKEY_TEST_OTPHOOK_H

#include <stdbool.h>
#include <stdint.h>

/* Put the hook in (again, after the OTP image was reopened) and set what
 * misbehaves; resets the count. */
void fk_otphook_rows(uint16_t first, unsigned count, uint32_t lose, bool fail);

/* Take the hook out: writes reach the file as the port made them. */
void fk_otphook_off(void);

/* Rows programmed since the last fk_otphook_rows. */
unsigned fk_otphook_programmed(void);

#endif /* FUSEKEY_TEST_OTPHOOK_H */
