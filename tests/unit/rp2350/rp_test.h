/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_test.h - what the RP2350 register tests share: the model, the port's
 * internal headers and an assertion that the model saw no broken rule.
 */
#ifndef FUSEKEY_TEST_RP_TEST_H
#define FUSEKEY_TEST_RP_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rp_model.h"
#include "rp_port.h"
#include "rp_regs.h"
#include "rp_rom.h"

#define ASSERT_NO_VIOLATION()                                                   \
    do {                                                                        \
        if (rp_model.violations != 0u)                                          \
            fail_msg("%u model violation(s), last: %s", rp_model.violations,    \
                     rp_model.last_violation);                                  \
    } while (0)

/* Index of a log entry that must exist. */
#define FIND(from, op, addr, mask, want) \
    rp_find_or_fail((from), (op), (addr), (mask), (want), #addr)

static inline size_t rp_find_or_fail(size_t from, rp_model_op_t op, uint32_t addr, uint32_t mask,
                                     uint32_t want, const char *name)
{
    const long i = rp_model_find(from, op, addr, mask, want);
    if (i < 0)
        fail_msg("no access op %d to %s (0x%08x) from log entry %zu", (int)op, name, addr, from);
    return (size_t)i;
}

/* A chip after the boot the port does: model reset, ROM table, clocks and
 * timer (the order of rp_startup.c and main.c). */
static inline void rp_test_boot(void)
{
    rp_model_reset(false);
    assert_true(rp_rom_init());
    rp_flash_init();
    rp_clocks_init();
    rp_timer_init();
}

#endif /* FUSEKEY_TEST_RP_TEST_H */
