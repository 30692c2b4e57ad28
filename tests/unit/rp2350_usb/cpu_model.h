/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_model.h - the host side of ports/rp2350/rp_irq.h for the driver
 * tests: a modelled PRIMASK, one interrupt line with its handler, sleeps
 * counted. Lifting the mask with the line raised runs the handler, as the
 * M33 would.
 */
#ifndef FUSEKEY_TEST_CPU_MODEL_H
#define FUSEKEY_TEST_CPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

/* Back to reset: unmasked, no handler, counters zero. */
void cpu_model_reset(void);
/* The interrupt: `raised` says whether the line is up and enabled in the
 * NVIC, `handler` runs it. */
void cpu_model_set_irq(bool (*raised)(void), void (*handler)(void));
/* Run the handler if the line is raised and interrupts are not masked;
 * true if it ran. Fails the test if the handler leaves the line raised. */
bool cpu_model_take_irq(void);
bool cpu_model_masked(void);
/* Number of rp_wfi() calls, and how many of them were made while masked. */
unsigned cpu_model_wfi_count(void);
unsigned cpu_model_wfi_masked_count(void);
/* Number of rp_irq_save() calls so far. */
unsigned cpu_model_save_count(void);

#endif /* FUSEKEY_TEST_CPU_MODEL_H */
