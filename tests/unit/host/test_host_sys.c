/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_host_sys.c - entropy, time, serial, presence policies, LED, reboot
 * and panic of the host port.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal.h"
#include "host_port.h"

#define DRAW 64u
#define BIG_DRAW (1u << 20)
#define SLEEP_MS 20u
#define NS_PER_MS 1000000L
#define PRESENCE_TIMEOUT_MS 60000u

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0) return false;
    }
    return true;
}

static void test_random(void **state)
{
    (void)state;
    uint8_t a[DRAW] = {0}, b[DRAW] = {0};
    assert_int_equal(fk_hal_random(a, sizeof a), FK_HAL_OK);
    assert_int_equal(fk_hal_random(b, sizeof b), FK_HAL_OK);
    assert_false(all_zero(a, sizeof a));
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(fk_hal_random(a, 0), FK_HAL_OK);

    uint8_t *big = calloc(1, BIG_DRAW);
    assert_non_null(big);
    assert_int_equal(fk_hal_random(big, BIG_DRAW), FK_HAL_OK);
    assert_false(all_zero(big + BIG_DRAW - DRAW, DRAW)); /* the tail was filled too */
    free(big);
}

static void test_random_failure(void **state)
{
    (void)state;
    uint8_t a[DRAW];
    memset(a, 0xAA, sizeof a);
    fk_host_set_rng_failure(true);
    assert_int_equal(fk_hal_random(a, sizeof a), FK_HAL_EIO);
    assert_true(all_zero(a, sizeof a));
    fk_host_set_rng_failure(false);
    assert_int_equal(fk_hal_random(a, sizeof a), FK_HAL_OK);
}

static void test_millis(void **state)
{
    (void)state;
    const uint64_t t0 = fk_hal_millis();
    const struct timespec ts = {.tv_sec = 0, .tv_nsec = SLEEP_MS * NS_PER_MS};
    assert_int_equal(nanosleep(&ts, NULL), 0);
    const uint64_t t1 = fk_hal_millis();
    assert_true(t1 >= t0 + SLEEP_MS);
    assert_true(fk_hal_millis() >= t1);
}

static void test_serial(void **state)
{
    (void)state;
    uint8_t a[8], b[8];
    fk_hal_serial(a);
    fk_hal_serial(b);
    assert_memory_equal(a, b, sizeof a); /* stable */
    assert_false(all_zero(a, sizeof a));
    const uint8_t mine[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    fk_host_set_serial(mine);
    fk_hal_serial(b);
    assert_memory_equal(b, mine, sizeof mine);
}

static int keepalive_calls;
static void count_keepalive(void *arg)
{
    (void)arg;
    keepalive_calls++;
}

static void test_presence_policies(void **state)
{
    (void)state;
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, count_keepalive, NULL), FK_HAL_OK);
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, count_keepalive, NULL),
                     FK_HAL_EDENIED);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
}

/* REMOTE: the keepalive plays the other thread and answers during the
 * wait; a confirmation must come out as FK_HAL_OK (its code is 0, like
 * "no answer"), a refusal as FK_HAL_EDENIED. */
static bool remote_confirm;

static void answer_keepalive(void *arg)
{
    (void)arg;
    if (++keepalive_calls == 2) fk_host_presence_answer(remote_confirm);
}

static void test_presence_remote(void **state)
{
    (void)state;
    fk_host_set_presence(FK_HOST_PRESENCE_REMOTE);
    for (int i = 0; i < 2; i++) {
        remote_confirm = i == 0;
        keepalive_calls = 0;
        assert_int_equal(fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, answer_keepalive, NULL),
                         remote_confirm ? FK_HAL_OK : FK_HAL_EDENIED);
    }
    /* An answer given before the wait starts is forgotten: nobody answers
     * within the (short) timeout. */
    fk_host_presence_answer(true);
    fk_host_set_presence_timeout(SLEEP_MS);
    assert_int_equal(fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, NULL, NULL), FK_HAL_ETIMEOUT);
    fk_host_set_presence_timeout(0);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
}

/* fk_host_advance_clock: time jumps forward at once, and stays ahead. */
static void test_advance_clock(void **state)
{
    (void)state;
    const uint64_t before = fk_hal_millis();
    fk_host_advance_clock(11000u);
    const uint64_t after = fk_hal_millis();
    assert_true(after - before >= 11000u);
    assert_true(fk_hal_millis() >= after);
}

/* Run fn in a child process and return its exit status (-signal if killed). */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(fn());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* Without a controlling terminal, ASK answers with a timeout at once. */
static int ask_without_tty(void)
{
    if (setsid() < 0) return 100;
    fk_host_set_presence(FK_HOST_PRESENCE_ASK);
    const int rc = fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, count_keepalive, NULL);
    return rc == FK_HAL_ETIMEOUT ? 0 : 1;
}

/* After a cancel (the program is stopping), every policy times out. */
static int cancelled_presence(void)
{
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    fk_host_cancel_presence();
    if (fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, NULL, NULL) != FK_HAL_ETIMEOUT) return 1;
    fk_host_set_presence(FK_HOST_PRESENCE_ASK);
    if (fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, NULL, NULL) != FK_HAL_ETIMEOUT) return 2;
    return 0;
}

static void test_presence_no_tty(void **state)
{
    (void)state;
    assert_int_equal(in_child(ask_without_tty), 0);
    assert_int_equal(in_child(cancelled_presence), 0);
}

/* ---- ASK on a pseudo-terminal: the child's controlling terminal is a pty
 * whose master side this test plays the user on. */

#define PROMPT_MARK "[y/n]"
#define ANSWER_OK 10
#define ANSWER_DENIED 11
#define ANSWER_TIMEOUT 12
#define ASK_SHORT_MS 600u
#define IO_LIMIT_MS 10000

static char pty_slave[64];
static uint32_t child_timeout_ms;
static uint32_t child_override_ms;

static int ask_on_pty(void)
{
    if (setsid() < 0) return 100;
    const int s = open(pty_slave, O_RDWR); /* becomes the controlling terminal */
    if (s < 0) return 101;
    fk_host_set_presence(FK_HOST_PRESENCE_ASK);
    fk_host_set_presence_timeout(child_override_ms);
    keepalive_calls = 0;
    const int rc = fk_hal_presence_wait(child_timeout_ms, count_keepalive, NULL);
    if (rc == FK_HAL_OK) return ANSWER_OK;
    if (rc == FK_HAL_EDENIED) return ANSWER_DENIED;
    if (rc == FK_HAL_ETIMEOUT) return keepalive_calls > 0 ? ANSWER_TIMEOUT : 102;
    return 103;
}

/* In a background process group of the terminal, ASK must not touch the
 * terminal (the kernel would stop the process): it times out at once. */
static int ask_in_background(void)
{
    if (setsid() < 0) return 100;
    const int s = open(pty_slave, O_RDWR);
    if (s < 0) return 101;
    const pid_t pid = fork();
    if (pid < 0) return 102;
    if (pid == 0) {
        if (setpgid(0, 0) != 0) _exit(103);
        fk_host_set_presence(FK_HOST_PRESENCE_ASK);
        _exit(fk_hal_presence_wait(PRESENCE_TIMEOUT_MS, NULL, NULL) == FK_HAL_ETIMEOUT ? 0 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, WUNTRACED) != pid) return 104;
    if (WIFSTOPPED(status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return 105;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 106;
}

/* Read what the child prints until the prompt; its text into out. */
static void read_prompt(int master, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    while (strstr(out, PROMPT_MARK) == NULL) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        assert_int_equal(poll(&p, 1, IO_LIMIT_MS), 1);
        const ssize_t n = read(master, out + len, cap - 1 - len);
        assert_true(n > 0);
        len += (size_t)n;
        out[len] = '\0';
    }
}

/* Ask in a child on a fresh pty; type_ahead is written before the child
 * asks, answer after the prompt. Returns the child's status; the prompt's
 * text goes into prompt. */
static int ask_via_pty(const char *type_ahead, const char *answer, char *prompt, size_t cap)
{
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    assert_int_equal(ptsname_r(master, pty_slave, sizeof pty_slave), 0);
    const int keep = open(pty_slave, O_RDWR | O_NOCTTY); /* so typed-ahead input is queued */
    assert_true(keep >= 0);
    if (type_ahead != NULL) {
        const size_t n = strlen(type_ahead);
        assert_int_equal(write(master, type_ahead, n), (ssize_t)n);
    }
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(ask_on_pty());
    read_prompt(master, prompt, cap);
    if (answer != NULL) {
        assert_int_equal(write(master, answer, strlen(answer)), (ssize_t)strlen(answer));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(keep);
    close(master);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_presence_ask_background(void **state)
{
    (void)state;
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    assert_int_equal(ptsname_r(master, pty_slave, sizeof pty_slave), 0);
    assert_int_equal(in_child(ask_in_background), 0);
    close(master);
}

static void test_presence_ask(void **state)
{
    (void)state;
    char prompt[512];
    child_timeout_ms = PRESENCE_TIMEOUT_MS;
    child_override_ms = 0;
    assert_int_equal(ask_via_pty(NULL, "y", prompt, sizeof prompt), ANSWER_OK);
    assert_non_null(strstr(prompt, "(60 s)")); /* the core's timeout */
    assert_int_equal(ask_via_pty(NULL, "N", prompt, sizeof prompt), ANSWER_DENIED);
    assert_int_equal(ask_via_pty(NULL, "q\r Y", prompt, sizeof prompt), ANSWER_OK);

    /* The override replaces the core's timeout; a key typed before the
     * question does not answer it; the keepalive runs while waiting. */
    child_override_ms = ASK_SHORT_MS;
    assert_int_equal(ask_via_pty("y", NULL, prompt, sizeof prompt), ANSWER_TIMEOUT);
    assert_non_null(strstr(prompt, "(1 s)"));
}

static void test_platform(void **state)
{
    (void)state;
    assert_int_equal(fk_hal_platform(), FK_PLATFORM_EMULATION);
}

static void test_led(void **state)
{
    (void)state;
    assert_int_equal(fk_host_led_state(), FK_LED_OFF);
    fk_hal_led(FK_LED_PRESENCE);
    assert_int_equal(fk_host_led_state(), FK_LED_PRESENCE);
    fk_host_set_verbose(FK_HOST_VERBOSE_DETAIL); /* changes are logged, still recorded */
    fk_hal_led(FK_LED_ERROR);
    fk_host_set_verbose(0);
    assert_int_equal(fk_host_led_state(), FK_LED_ERROR);
    fk_hal_led(FK_LED_OFF);
}

static void test_reboot_flag(void **state)
{
    (void)state;
    fk_reboot_mode_t mode = FK_REBOOT_NORMAL;
    assert_false(fk_host_take_reboot(&mode));
    fk_hal_reboot(FK_REBOOT_BOOTLOADER);
    assert_true(fk_host_take_reboot(&mode));
    assert_int_equal(mode, FK_REBOOT_BOOTLOADER);
    assert_false(fk_host_take_reboot(&mode)); /* taken once */
    fk_hal_reboot(FK_REBOOT_NORMAL);
    assert_true(fk_host_take_reboot(&mode));
    assert_int_equal(mode, FK_REBOOT_NORMAL);
}

static int panic_pipe[2];
static int do_panic(void)
{
    dup2(panic_pipe[1], STDERR_FILENO);
    fk_hal_panic("some/file.c", 42);
}

static void test_panic(void **state)
{
    (void)state;
    assert_int_equal(pipe(panic_pipe), 0);
    assert_int_equal(in_child(do_panic), -SIGABRT);
    close(panic_pipe[1]);
    char buf[256] = {0};
    size_t len = 0;
    for (ssize_t n; (n = read(panic_pipe[0], buf + len, sizeof buf - 1 - len)) > 0;) {
        len += (size_t)n;
    }
    close(panic_pipe[0]);
    assert_non_null(strstr(buf, "some/file.c:42"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_random_failure),
        cmocka_unit_test(test_millis),
        cmocka_unit_test(test_serial),
        cmocka_unit_test(test_presence_policies),
        cmocka_unit_test(test_presence_remote),
        cmocka_unit_test(test_advance_clock),
        cmocka_unit_test(test_presence_no_tty),
        cmocka_unit_test(test_presence_ask),
        cmocka_unit_test(test_presence_ask_background),
        cmocka_unit_test(test_platform),
        cmocka_unit_test(test_led),
        cmocka_unit_test(test_reboot_flag),
        cmocka_unit_test(test_panic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
