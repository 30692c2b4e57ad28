/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sim_control.c - the control socket's commands (sim_control.h): each
 * one's answer and its effect on the host port, without a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hal.h"
#include "host_port.h"
#include "sim_control.h"

#define WAIT_MS 60000u

static int power_cycles;
static int power_cycle_rc;

static int fake_power_cycle(void *ctx)
{
    (void)ctx;
    power_cycles++;
    return power_cycle_rc;
}

static const fk_simctl_hooks_t hooks = {.power_cycle = fake_power_cycle, .ctx = NULL};

/* The answer to line. */
static const char *run(const char *line)
{
    static char answer[FK_SIMCTL_ANSWER_MAX];
    memset(answer, 0xAA, sizeof answer);
    fk_simctl_execute(line, &hooks, answer);
    return answer;
}

static void assert_error(const char *line)
{
    const char *a = run(line);
    assert_memory_equal(a, "error ", 6);
    assert_true(a[strlen(a) - 1] == '\n');
}

static void test_presence_policies(void **state)
{
    (void)state;
    assert_string_equal(run("presence deny"), "ok\n");
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, NULL, NULL), FK_HAL_EDENIED);
    assert_string_equal(run("presence auto"), "ok\n");
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, NULL, NULL), FK_HAL_OK);
    /* timeout with a short forced timeout: nobody answers */
    assert_string_equal(run("presence timeout"), "ok\n");
    assert_string_equal(run("presence-timeout 20"), "ok\n");
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, NULL, NULL), FK_HAL_ETIMEOUT);
    /* delay shorter than the timeout: confirmed */
    assert_string_equal(run("presence-timeout 5000"), "ok\n");
    assert_string_equal(run("presence delay 10"), "ok\n");
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, NULL, NULL), FK_HAL_OK);
    assert_string_equal(run("presence-timeout 0"), "ok\n");
    assert_string_equal(run("presence auto"), "ok\n");
}

/* approve and refuse reach a REMOTE wait in progress (here from its
 * keepalive, as another thread would). */
static const char *remote_answer;
static int keepalives;

static void answering_keepalive(void *arg)
{
    (void)arg;
    if (++keepalives == 2) assert_string_equal(run(remote_answer), "ok\n");
}

static void test_remote_answers(void **state)
{
    (void)state;
    assert_string_equal(run("presence remote"), "ok\n");
    remote_answer = "approve";
    keepalives = 0;
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, answering_keepalive, NULL), FK_HAL_OK);
    remote_answer = "refuse";
    keepalives = 0;
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, answering_keepalive, NULL), FK_HAL_EDENIED);
    assert_string_equal(run("presence auto"), "ok\n");
}

static void test_clock(void **state)
{
    (void)state;
    const uint64_t before = fk_hal_millis();
    assert_string_equal(run("clock 11000"), "ok\n");
    assert_true(fk_hal_millis() - before >= 11000u);
    assert_string_equal(run("  clock\t0 "), "ok\n");
}

static void test_power_cycle(void **state)
{
    (void)state;
    power_cycles = 0;
    power_cycle_rc = 0;
    assert_string_equal(run("power-cycle"), "ok\n");
    assert_int_equal(power_cycles, 1);
    power_cycle_rc = -1;
    assert_error("power-cycle");
    assert_int_equal(power_cycles, 2);
    assert_error("power-cycle now");
    assert_int_equal(power_cycles, 2);
    power_cycle_rc = 0;
}

static void test_refused_lines(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "   ", "presence", "presence ask", "presence delay", "presence delay -1",
        "presence delay 3600001", "presence delay 10x", "presence auto now",
        "presence-timeout", "presence-timeout 0x10", "approve yes", "refuse 1",
        "clock", "clock 4294967296", "clock +5", "clock 1 2", "reboot", "PRESENCE auto",
        "a b c d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_error(bad[i]);
    /* none of them changed the policy */
    assert_int_equal(fk_hal_presence_wait(WAIT_MS, NULL, NULL), FK_HAL_OK);
}

int main(void)
{
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presence_policies),
        cmocka_unit_test(test_remote_answers),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_power_cycle),
        cmocka_unit_test(test_refused_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
