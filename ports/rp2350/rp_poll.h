/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_poll.h - waiting for a hardware status bit with a bound: a block that
 * never becomes ready (a dead crystal, a PLL that does not lock) ends in
 * fk_hal_panic instead of a silent hang. The bound is generous: about a
 * second at the slowest clock the port runs from (the ring oscillator).
 */
#ifndef FUSEKEY_RP_POLL_H
#define FUSEKEY_RP_POLL_H

#include "hal.h"

#define RP_POLL_LIMIT 10000000u

#define RP_POLL_UNTIL(cond)                                               \
    do {                                                                  \
        uint32_t rp_poll_n_ = 0;                                          \
        while (!(cond)) {                                                 \
            if (++rp_poll_n_ >= RP_POLL_LIMIT) fk_hal_panic(__FILE__, __LINE__); \
        }                                                                 \
    } while (0)

#endif /* FUSEKEY_RP_POLL_H */
