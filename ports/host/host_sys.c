/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_sys.c - entropy, time, identity, user presence, LED, reboot and
 * panic of hal.h on Linux, and the second core as a thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"
#include "fileio.h"
#include "host_internal.h"
#include "host_port.h"
#include "util.h"

#define MS_PER_S 1000u
#define NS_PER_MS 1000000u

/* Presence: the keepalive runs at least this often while the user is asked
 * (hal.h asks for 500 ms at most). */
#define PRESENCE_KEEPALIVE_MS 250u
/* ... and while a DELAY, TIMEOUT or REMOTE wait runs (a CTAPHID host wants a
 * keepalive about every 100 ms; the endpoint rate-limits what it sends). */
#define PRESENCE_TICK_MS 50u
#define TTY_PATH "/dev/tty"

/* Serial: FNV-1a 64 over a domain string and the machine id. */
#define FNV64_OFFSET 0xCBF29CE484222325ull
#define FNV64_PRIME 0x100000001B3ull
#define SERIAL_DOMAIN "fusekey-serial-v1:"
#define SERIAL_BYTES 8u
#define BITS_PER_BYTE 8u
#define MACHINE_ID_MAX 256u
#define HOSTNAME_MAX 256u

static struct {
    int verbose;
    _Atomic int presence;         /* fk_host_presence_t */
    _Atomic uint32_t presence_timeout_ms; /* 0: the core's */
    _Atomic uint32_t presence_delay_ms;   /* DELAY mode */
    bool rng_fail;
    bool serial_set;
    uint8_t serial[SERIAL_BYTES];
    fk_led_state_t led;
    bool reboot_pending;
    fk_reboot_mode_t reboot_mode;
} sys = {.presence = FK_HOST_PRESENCE_AUTO, .led = FK_LED_OFF};

static volatile sig_atomic_t presence_cancelled;
/* The running wait was called off (fk_hal_presence_abort). */
static atomic_bool presence_aborted;
/* REMOTE mode: the answer another thread gave. Its own codes, not HAL
 * results: FK_HAL_OK is 0, which would read as "no answer yet". */
enum { ANSWER_NONE = 0, ANSWER_CONFIRM, ANSWER_REFUSE };
static atomic_int presence_answer;

void fk_host_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", program_invocation_short_name, line);
}

void fk_host_set_verbose(int level) { sys.verbose = level; }
int fk_host_verbose(void) { return sys.verbose; }

/* ---- Entropy, time, identity ------------------------------------------ */

void fk_host_set_rng_failure(bool fail) { sys.rng_fail = fail; }

int fk_hal_random(void *buf, size_t len)
{
    if (sys.rng_fail) {
        fk_wipe(buf, len);
        return FK_HAL_EIO;
    }
    return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
}

/* What fk_host_advance_clock added to the monotonic clock (tests of
 * time-dependent behaviour, e.g. the FIDO reset window, need no sleeping). */
static _Atomic uint64_t clock_offset_ms;

void fk_host_advance_clock(uint32_t ms) { atomic_fetch_add(&clock_offset_ms, (uint64_t)ms); }

uint64_t fk_hal_millis(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) fk_hal_panic(__FILE__, __LINE__);
    return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)ts.tv_nsec / NS_PER_MS +
           atomic_load(&clock_offset_ms);
}

void fk_host_set_serial(const uint8_t serial[8])
{
    memcpy(sys.serial, serial, SERIAL_BYTES);
    sys.serial_set = true;
}

static uint64_t fnv1a64(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return h;
}

/* Read a machine id file (trailing whitespace dropped); its length, 0 if none. */
static size_t read_machine_id(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r')) n--;
    return n;
}

/* The default serial: a hash of the machine id (or, without one, of the host
 * name), so each host has a stable serial that does not reveal the id. */
static void derive_serial(uint8_t serial[SERIAL_BYTES])
{
    char id[MACHINE_ID_MAX];
    size_t n = read_machine_id("/etc/machine-id", id, sizeof id);
    if (n == 0) n = read_machine_id("/var/lib/dbus/machine-id", id, sizeof id);
    if (n == 0) {
        if (gethostname(id, sizeof id) != 0) id[0] = '\0';
        id[sizeof id - 1] = '\0';
        n = strlen(id);
    }
    uint64_t h = fnv1a64(FNV64_OFFSET, SERIAL_DOMAIN, strlen(SERIAL_DOMAIN));
    h = fnv1a64(h, id, n);
    for (unsigned i = 0; i < SERIAL_BYTES; i++) {
        serial[i] = (uint8_t)(h >> (BITS_PER_BYTE * (SERIAL_BYTES - 1u - i)));
    }
}

void fk_hal_serial(uint8_t serial[8])
{
    if (!sys.serial_set) {
        derive_serial(sys.serial);
        sys.serial_set = true;
    }
    memcpy(serial, sys.serial, SERIAL_BYTES);
}

fk_platform_t fk_hal_platform(void) { return FK_PLATFORM_EMULATION; }

/* ---- User presence ------------------------------------------------------ */

void fk_host_set_presence(fk_host_presence_t mode) { atomic_store(&sys.presence, (int)mode); }
void fk_host_set_presence_timeout(uint32_t timeout_ms)
{
    atomic_store(&sys.presence_timeout_ms, timeout_ms);
}
void fk_host_set_presence_delay(uint32_t delay_ms) { atomic_store(&sys.presence_delay_ms, delay_ms); }
void fk_host_presence_answer(bool confirm)
{
    atomic_store(&presence_answer, confirm ? ANSWER_CONFIRM : ANSWER_REFUSE);
}
void fk_hal_presence_abort(void) { atomic_store(&presence_aborted, true); }
void fk_host_cancel_presence(void) { presence_cancelled = 1; }

/* Write a NUL-terminated message to the terminal (best effort). */
static void tty_say(int fd, const char *msg)
{
    size_t len = strlen(msg);
    while (len > 0) {
        const ssize_t n = write(fd, msg, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        msg += n;
        len -= (size_t)n;
    }
}

/* Ask on the controlling terminal; a key press of y or n answers. Keys typed
 * before the question are discarded, so nothing typed ahead can confirm. */
static int presence_ask(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg)
{
    const int fd = open(TTY_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        fk_host_log("user presence requested but there is no terminal to ask on: timed out");
        return FK_HAL_ETIMEOUT;
    }
    /* A background job that touched the terminal would be stopped by the
     * kernel (SIGTTIN/SIGTTOU), and the reader with it. */
    if (tcgetpgrp(fd) != getpgrp()) {
        close(fd);
        fk_host_log("user presence requested but this program runs in the background of its "
                    "terminal: timed out (bring it to the foreground, or use another policy)");
        return FK_HAL_ETIMEOUT;
    }
    struct termios saved;
    const bool raw = tcgetattr(fd, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        (void)tcsetattr(fd, TCSANOW, &t);
        (void)tcflush(fd, TCIFLUSH);
    }
    char prompt[128];
    (void)snprintf(prompt, sizeof prompt, "\nfusekey: confirm user presence? [y/n] (%u s) ",
                   (unsigned)((timeout_ms + MS_PER_S - 1u) / MS_PER_S));
    tty_say(fd, prompt);

    const uint64_t start = fk_hal_millis();
    uint64_t last_keepalive = start;
    int result = FK_HAL_ETIMEOUT;
    for (;;) {
        const uint64_t now = fk_hal_millis();
        if (presence_cancelled || now - start >= timeout_ms) break;
        if (keepalive != NULL && now - last_keepalive >= PRESENCE_KEEPALIVE_MS) {
            keepalive(arg);
            last_keepalive = now;
            if (atomic_load(&presence_aborted)) {
                result = FK_HAL_ECANCELED;
                break;
            }
        }
        const uint64_t left = timeout_ms - (now - start);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        const int pr = poll(&pfd, 1, (int)FK_MIN(left, (uint64_t)PRESENCE_KEEPALIVE_MS));
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) break;
        if (pr == 0) continue;
        char c;
        const ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* hang-up: nobody to answer */
        if (c == 'y' || c == 'Y') {
            result = FK_HAL_OK;
            break;
        }
        if (c == 'n' || c == 'N') {
            result = FK_HAL_EDENIED;
            break;
        }
    }
    tty_say(fd, result == FK_HAL_OK         ? "yes\n"
                : result == FK_HAL_EDENIED   ? "no\n"
                : result == FK_HAL_ECANCELED ? "called off by the host\n"
                                             : "timed out\n");
    if (raw) (void)tcsetattr(fd, TCSANOW, &saved);
    close(fd);
    return result;
}

/* DELAY, TIMEOUT and REMOTE: wait without a terminal, calling keepalive
 * every PRESENCE_TICK_MS, until confirm_after_ms passes (confirmed; UINT64_MAX:
 * never), another thread answers (REMOTE), the wait is called off or
 * timeout_ms passes. */
static int presence_sleep(uint32_t timeout_ms, uint64_t confirm_after_ms, fk_keepalive_fn keepalive,
                          void *arg)
{
    const uint64_t start = fk_hal_millis();
    for (;;) {
        if (keepalive != NULL) keepalive(arg);
        if (atomic_load(&presence_aborted)) return FK_HAL_ECANCELED;
        if (presence_cancelled) return FK_HAL_ETIMEOUT;
        const int answer = atomic_exchange(&presence_answer, ANSWER_NONE);
        if (answer != ANSWER_NONE) return answer == ANSWER_CONFIRM ? FK_HAL_OK : FK_HAL_EDENIED;
        const uint64_t waited = fk_hal_millis() - start;
        if (waited >= confirm_after_ms && confirm_after_ms < timeout_ms) return FK_HAL_OK;
        if (waited >= timeout_ms) return FK_HAL_ETIMEOUT;
        const struct timespec tick = {.tv_sec = 0, .tv_nsec = (long)PRESENCE_TICK_MS * NS_PER_MS};
        (void)nanosleep(&tick, NULL);
    }
}

int fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg)
{
    atomic_store(&presence_aborted, false);
    atomic_store(&presence_answer, ANSWER_NONE);
    if (presence_cancelled) return FK_HAL_ETIMEOUT;
    const uint32_t forced = atomic_load(&sys.presence_timeout_ms);
    switch ((fk_host_presence_t)atomic_load(&sys.presence)) {
    case FK_HOST_PRESENCE_AUTO:
        return FK_HAL_OK;
    case FK_HOST_PRESENCE_DENY:
        return FK_HAL_EDENIED;
    case FK_HOST_PRESENCE_DELAY:
        if (forced != 0u) timeout_ms = forced;
        return presence_sleep(timeout_ms, atomic_load(&sys.presence_delay_ms), keepalive, arg);
    case FK_HOST_PRESENCE_TIMEOUT:
        if (forced != 0u) timeout_ms = forced;
        return presence_sleep(timeout_ms, UINT64_MAX, keepalive, arg);
    case FK_HOST_PRESENCE_REMOTE:
        if (forced != 0u) timeout_ms = forced;
        return presence_sleep(timeout_ms, UINT64_MAX, keepalive, arg);
    case FK_HOST_PRESENCE_ASK:
        break;
    }
    if (forced != 0u) timeout_ms = forced;
    return presence_ask(timeout_ms, keepalive, arg);
}

/* ---- LED, reboot, panic ------------------------------------------------- */

static const char *led_name(fk_led_state_t state)
{
    switch (state) {
    case FK_LED_OFF: return "off";
    case FK_LED_IDLE: return "idle";
    case FK_LED_ACTIVE: return "active";
    case FK_LED_PRESENCE: return "presence";
    case FK_LED_ERROR: return "error";
    }
    return "unknown";
}

void fk_hal_led(fk_led_state_t state)
{
    if (state != sys.led && sys.verbose >= FK_HOST_VERBOSE_DETAIL) {
        fk_host_log("led: %s", led_name(state));
    }
    sys.led = state;
}

fk_led_state_t fk_host_led_state(void) { return sys.led; }

void fk_hal_reboot(fk_reboot_mode_t mode)
{
    sys.reboot_pending = true;
    sys.reboot_mode = mode;
}

bool fk_host_take_reboot(fk_reboot_mode_t *mode)
{
    if (!sys.reboot_pending) return false;
    sys.reboot_pending = false;
    *mode = sys.reboot_mode;
    return true;
}

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "%s: panic: broken invariant at %s:%d\n", program_invocation_short_name,
            file, line);
    abort();
}

/* ---------------------------------------------------------------------------
 * The second core on Linux: each job runs on a thread of
 * its own, so the core's two-core code really runs in parallel in the
 * tests. host_port.h's fk_host_set_core1 turns the second core off, makes
 * it mute at launch, or makes it accept a job and stop answering.
 *
 * The job's end is published by a release store of `done` after fn
 * returns; fk_hal_core1_done reads it with acquire and then joins the
 * thread. A thread cannot be stopped by force: fk_hal_core1_abandon of a
 * job whose fn runs waits for fn to return (the contract, "fn writes
 * nothing after abandon", holds; only the waiting differs from a chip).
 * A hanging job (FK_HOST_CORE1_HANG) never calls fn and leaves when it is
 * abandoned.
 * (In this file, not one of its own, so that every program that links the
 * port's other functions gets these too.)
 * ------------------------------------------------------------------------- */

static struct {
    fk_host_core1_t mode;
    bool latched;
    bool running; /* a thread was started and not joined yet */
    pthread_t thread;
    fk_core1_fn fn;
    void *arg;
    atomic_bool done;
    atomic_bool released; /* abandon: a hanging thread may leave */
    atomic_uint jobs;
} c1;

static _Thread_local unsigned t_core_id;

unsigned fk_hal_core_id(void) { return t_core_id; }

static void *core1_main(void *unused)
{
    (void)unused;
    t_core_id = 1;
    if (c1.mode == FK_HOST_CORE1_HANG) {
        /* Stopped answering: wait, without running fn, until abandoned. */
        while (!atomic_load_explicit(&c1.released, memory_order_acquire)) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        return NULL;
    }
    c1.fn(c1.arg);
    atomic_fetch_add_explicit(&c1.jobs, 1u, memory_order_relaxed);
    atomic_store_explicit(&c1.done, true, memory_order_release);
    return NULL;
}

static void reap(void)
{
    if (c1.running) {
        (void)pthread_join(c1.thread, NULL);
        c1.running = false;
    }
}

int fk_hal_core1_start(fk_core1_fn fn, void *arg)
{
    if (fn == NULL) return FK_HAL_ERANGE;
    if (c1.latched || c1.mode == FK_HOST_CORE1_NONE) return FK_HAL_ENOTSUP;
    if (c1.running && !fk_hal_core1_done()) return FK_HAL_ESTATE;
    reap();
    if (c1.mode == FK_HOST_CORE1_MUTE) {
        c1.latched = true;
        return FK_HAL_ETIMEOUT;
    }
    c1.fn = fn;
    c1.arg = arg;
    atomic_store_explicit(&c1.done, false, memory_order_relaxed);
    atomic_store_explicit(&c1.released, false, memory_order_relaxed);
    /* pthread_create orders every earlier write before the thread's start. */
    if (pthread_create(&c1.thread, NULL, core1_main, NULL) != 0) {
        c1.latched = true;
        return FK_HAL_ETIMEOUT;
    }
    c1.running = true;
    return FK_HAL_OK;
}

bool fk_hal_core1_done(void)
{
    if (!c1.running) return true;
    if (!atomic_load_explicit(&c1.done, memory_order_acquire)) {
        /* The caller polls: give the job's thread the CPU meanwhile. */
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
        return false;
    }
    reap();
    return true;
}

void fk_hal_core1_abandon(void)
{
    if (!c1.running) return;
    atomic_store_explicit(&c1.released, true, memory_order_release);
    reap();
    c1.latched = true;
}

void fk_host_set_core1(fk_host_core1_t mode)
{
    fk_hal_core1_abandon();
    c1.mode = mode;
    c1.latched = false;
}

bool fk_host_core1_latched(void) { return c1.latched; }

unsigned fk_host_core1_jobs(void) { return atomic_load_explicit(&c1.jobs, memory_order_relaxed); }
