/* SPDX-License-Identifier: Apache-2.0 */
/* otphook.c - see otphook.h. */
#include "otphook.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "host_port.h"
#include "otp_model.h"

static struct {
    fk_otp_persist_fn file; /* the port's write-through */
    void *file_arg;
    uint16_t first;         /* rows [first, first + count) misbehave */
    unsigned count;
    uint32_t lose;          /* bits of such a write that do not take */
    bool fail;              /* and the write reports an error */
    unsigned programmed;    /* rows programmed since fk_otphook_rows */
} s_hook;

static int hook(void *arg, uint16_t row, uint32_t value)
{
    fk_otp_t *m = arg;
    s_hook.programmed++;
    if (row < s_hook.first || (unsigned)(row - s_hook.first) >= s_hook.count)
        return s_hook.file(s_hook.file_arg, row, value);
    m->raw[row] = value & ~s_hook.lose;
    const int rc = s_hook.file(s_hook.file_arg, row, m->raw[row]);
    return s_hook.fail ? -1 : rc;
}

void fk_otphook_rows(uint16_t first, unsigned count, uint32_t lose, bool fail)
{
    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    if (m->persist != hook) {
        s_hook.file = m->persist;
        s_hook.file_arg = m->persist_arg;
        m->persist = hook;
        m->persist_arg = m;
    }
    s_hook.first = first;
    s_hook.count = count;
    s_hook.lose = lose;
    s_hook.fail = fail;
    s_hook.programmed = 0;
}

void fk_otphook_off(void)
{
    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    if (m->persist != hook) return;
    m->persist = s_hook.file;
    m->persist_arg = s_hook.file_arg;
}

unsigned fk_otphook_programmed(void) { return s_hook.programmed; }
