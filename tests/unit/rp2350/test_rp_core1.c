/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_rp_core1.c - hal.h's second core on the RP2350 (rp_core1.c) against
 * the model of the SIO FIFOs, PSM FRCE_OFF and core 1's boot ROM: the reset
 * before each launch (FRCE_OFF set, read back, cleared, the ROM's 0
 * popped), the launch handshake word by word (0, 0, 1, VTOR, SP, PC, each
 * echoed, SEV after each write, the FIFO drained before each 0), a wrong
 * echo restarting the sequence, the job's end published to core 0, flash
 * and BOOTSEL refused while a job runs, and a core 1 that never answers or
 * stops answering: parked in reset and single-core mode latched.
 */
#include <string.h>

#include "rp_test.h"

#define VTOR_IMAGE 0x10000000u

static int g_runs;
static int g_arg = 3;

static void job(void *arg) { g_runs += *(int *)arg; }

static int setup(void **state)
{
    (void)state;
    rp_test_boot();
    rp_model_poke(RP_PPB_VTOR, VTOR_IMAGE);
    rp_core1_init();
    g_runs = 0;
    return 0;
}

/* The FIFO words core 0 wrote since log entry `from`, in order. */
static size_t fifo_writes(size_t from, uint32_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = from; i < rp_model.log_len; i++) {
        const rp_model_access_t *a = &rp_model.log[i];
        if (a->op == RP_OP_WRITE && a->addr == RP_SIO_FIFO_WR && n < cap) out[n++] = a->value;
    }
    return n;
}

static void test_launch_and_job(void **state)
{
    (void)state;
    uint32_t w[32];

    rp_model_log_clear();
    assert_true(fk_hal_core1_done()); /* no job yet */
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_OK);
    ASSERT_NO_VIOLATION();

    /* Reset first: FRCE_OFF set through the SET alias, read back, cleared. */
    const size_t set = FIND(0, RP_OP_SET, RP_PSM_FRCE_OFF, RP_PSM_PROC1, RP_PSM_PROC1);
    const size_t rd = FIND(set, RP_OP_READ, RP_PSM_FRCE_OFF, RP_PSM_PROC1, RP_PSM_PROC1);
    const size_t clr = FIND(rd, RP_OP_CLR, RP_PSM_FRCE_OFF, RP_PSM_PROC1, RP_PSM_PROC1);
    assert_int_equal(rp_model.core1_resets, 1);
    /* Then exactly the six launch words, after the reset. */
    const size_t first = FIND(clr, RP_OP_WRITE, RP_SIO_FIFO_WR, 0u, 0u);
    assert_true(first > clr);
    assert_int_equal(fifo_writes(0, w, 32), 6);
    assert_int_equal(w[0], 0u);
    assert_int_equal(w[1], 0u);
    assert_int_equal(w[2], 1u);
    assert_int_equal(w[3], VTOR_IMAGE);
    assert_int_equal(rp_model.core1_launches, 1);
    assert_true(rp_model.core1_launched);
    assert_int_equal(rp_model.core1_vtor, VTOR_IMAGE);
    assert_int_equal(rp_model.core1_sp, w[4]);
    assert_int_equal(rp_model.core1_pc, w[5]);
    assert_int_equal(rp_model.core1_sp % 8u, 0u);
    assert_int_equal(rp_model.core1_pc & 1u, 1u); /* Thumb */
    assert_true(rp_model.sevs >= 6u);
    /* Every echo was read back: core 0's RX FIFO is empty, no error. */
    assert_int_equal(rp_model_rd32(RP_SIO_FIFO_ST) & (RP_SIO_FIFO_VLD | RP_SIO_FIFO_WOF |
                                                      RP_SIO_FIFO_ROE),
                     0u);

    /* The job runs: flash and BOOTSEL are off limits, done is false. */
    assert_true(rp_core1_busy());
    assert_false(fk_hal_core1_done());
    assert_int_equal(fk_hal_flash_erase(0), FK_HAL_ESTATE);
    assert_int_equal(fk_hal_flash_program(0, "x", 1), FK_HAL_ESTATE);
    assert_false(rp_button_raw());
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_ESTATE);

    /* Core 1 runs it (the trampoline's call) and reports; core 0 sees it
     * done and holds core 1 in reset. */
    rp_core1_main();
    assert_int_equal(g_runs, 3);
    assert_true(fk_hal_core1_done());
    assert_true(rp_model.core1_in_reset);
    assert_false(rp_core1_busy());
    assert_true(fk_hal_core1_done());

    /* A second job: a fresh reset and launch. */
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_OK);
    assert_int_equal(rp_model.core1_resets, 2);
    assert_int_equal(rp_model.core1_launches, 2);
    rp_core1_main();
    assert_true(fk_hal_core1_done());
    assert_int_equal(g_runs, 6);
    assert_int_equal(fk_hal_core_id(), 0);
    assert_int_equal(fk_hal_core1_start(NULL, NULL), FK_HAL_ERANGE);
    ASSERT_NO_VIOLATION();
}

/* A wrong echo restarts the sequence from its first 0; the launch still
 * succeeds with the right words. */
static void test_wrong_echo_restarts(void **state)
{
    (void)state;
    uint32_t w[64];

    rp_model.core1_bad_echoes = 1;
    rp_model_log_clear();
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_OK);
    const size_t n = fifo_writes(0, w, 64);
    assert_int_equal(n, 7); /* 0 (echo garbled), then 0, 0, 1, VTOR, SP, PC */
    assert_int_equal(w[1], 0u);
    assert_int_equal(w[3], 1u);
    assert_int_equal(rp_model.core1_launches, 1);
    assert_int_equal(rp_model.core1_vtor, VTOR_IMAGE);
    rp_core1_main();
    assert_true(fk_hal_core1_done());
    ASSERT_NO_VIOLATION();
}

/* A core 1 that never answers: the launch gives up after its polls, core 1
 * stays held in reset, single-core mode is latched: later starts answer
 * FK_HAL_ENOTSUP without touching the FIFO. */
static void test_mute_core1_latches(void **state)
{
    (void)state;
    uint32_t w[8];

    rp_model.core1_mute = true;
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_ETIMEOUT);
    assert_true(rp_model.core1_in_reset);
    assert_int_equal(rp_model.core1_launches, 0);
    assert_false(rp_core1_busy());
    assert_true(fk_hal_core1_done());
    rp_model_log_clear();
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_ENOTSUP);
    assert_int_equal(fifo_writes(0, w, 8), 0);
    assert_int_equal(rp_model_count(RP_OP_SET, RP_PSM_FRCE_OFF), 0);
    assert_int_equal(g_runs, 0);
    ASSERT_NO_VIOLATION();
}

/* Echoes that never come back right: the handshake is bounded. */
static void test_garbled_core1_latches(void **state)
{
    (void)state;
    rp_model.core1_bad_echoes = 1000;
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_ETIMEOUT);
    assert_true(rp_model.core1_in_reset);
    assert_int_equal(rp_model.core1_launches, 0);
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_ENOTSUP);
    ASSERT_NO_VIOLATION();
}

/* A job that stops answering: abandoning it holds core 1 in reset for good
 * and latches single-core mode; flash works again. */
static void test_abandon_latches(void **state)
{
    (void)state;
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_OK);
    assert_false(fk_hal_core1_done());
    fk_hal_core1_abandon();
    assert_true(rp_model.core1_in_reset);
    assert_false(rp_core1_busy());
    assert_true(fk_hal_core1_done());
    assert_int_equal(fk_hal_core1_start(job, &g_arg), FK_HAL_ENOTSUP);
    assert_int_equal(fk_hal_flash_erase(0), FK_HAL_OK);
    assert_int_equal(g_runs, 0);
    ASSERT_NO_VIOLATION();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_launch_and_job, setup),
        cmocka_unit_test_setup(test_wrong_echo_restarts, setup),
        cmocka_unit_test_setup(test_mute_core1_latches, setup),
        cmocka_unit_test_setup(test_garbled_core1_latches, setup),
        cmocka_unit_test_setup(test_abandon_latches, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
