/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_control.c - the control socket of fusekey-sim (sim_control.h).
 */
#include "sim_control.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host_internal.h"
#include "host_port.h"
#include "local_socket.h"

#define MAX_WORDS 3u
#define PRESENCE_MS_MAX 3600000ul /* an hour, like --presence-timeout */
#define CLOCK_MS_MAX 0xFFFFFFFFul

/* ---- Commands ------------------------------------------------------------ */

/* A decimal number in [0, max]; false on anything else. */
static bool parse_ms(const char *s, unsigned long max, uint32_t *out)
{
    if (s == NULL || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end = NULL;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) return false;
    *out = (uint32_t)v;
    return true;
}

/* Split line into at most MAX_WORDS words (in buf); the count, or
 * MAX_WORDS + 1 when there are more. */
static unsigned split(const char *line, char *buf, size_t cap, const char *words[MAX_WORDS])
{
    snprintf(buf, cap, "%s", line);
    unsigned n = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t\r", &save); w != NULL; w = strtok_r(NULL, " \t\r", &save)) {
        if (n == MAX_WORDS) return MAX_WORDS + 1u;
        words[n++] = w;
    }
    return n;
}

static const char *cmd_presence(unsigned n, const char *const w[])
{
    static const struct {
        const char *name;
        fk_host_presence_t mode;
    } modes[] = {
        {"auto", FK_HOST_PRESENCE_AUTO},
        {"deny", FK_HOST_PRESENCE_DENY},
        {"timeout", FK_HOST_PRESENCE_TIMEOUT},
        {"remote", FK_HOST_PRESENCE_REMOTE},
    };
    if (n == 3 && strcmp(w[1], "delay") == 0) {
        uint32_t ms = 0;
        if (!parse_ms(w[2], PRESENCE_MS_MAX, &ms)) return "delay: expected milliseconds, 0-3600000";
        fk_host_set_presence_delay(ms);
        fk_host_set_presence(FK_HOST_PRESENCE_DELAY);
        return NULL;
    }
    if (n == 2) {
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            if (strcmp(w[1], modes[i].name) == 0) {
                fk_host_set_presence(modes[i].mode);
                return NULL;
            }
        }
    }
    return "presence: expected auto, deny, timeout, remote or delay <ms>";
}

void fk_simctl_execute(const char *line, const fk_simctl_hooks_t *hooks, char *answer)
{
    char buf[FK_SIMCTL_LINE_MAX + 1u];
    const char *w[MAX_WORDS] = {NULL, NULL, NULL};
    const unsigned n = split(line, buf, sizeof buf, w);
    const char *err = NULL;
    uint32_t ms = 0;
    if (n == 0) {
        err = "empty command";
    } else if (n > MAX_WORDS) {
        err = "too many words";
    } else if (strcmp(w[0], "presence") == 0) {
        err = cmd_presence(n, w);
    } else if (strcmp(w[0], "presence-timeout") == 0) {
        if (n == 2 && parse_ms(w[1], PRESENCE_MS_MAX, &ms))
            fk_host_set_presence_timeout(ms);
        else
            err = "presence-timeout: expected milliseconds, 0-3600000 (0: the command's own)";
    } else if (strcmp(w[0], "approve") == 0 || strcmp(w[0], "refuse") == 0) {
        if (n == 1)
            fk_host_presence_answer(w[0][0] == 'a');
        else
            err = "approve and refuse take no argument";
    } else if (strcmp(w[0], "clock") == 0) {
        if (n == 2 && parse_ms(w[1], CLOCK_MS_MAX, &ms))
            fk_host_advance_clock(ms);
        else
            err = "clock: expected milliseconds to advance by, 0-4294967295";
    } else if (strcmp(w[0], "power-cycle") == 0) {
        if (n != 1)
            err = "power-cycle takes no argument";
        else if (hooks->power_cycle(hooks->ctx) != 0)
            err = "the device did not start again";
    } else {
        err = "unknown command (presence, presence-timeout, approve, refuse, clock, power-cycle)";
    }
    if (err == NULL)
        snprintf(answer, FK_SIMCTL_ANSWER_MAX, "ok\n");
    else
        snprintf(answer, FK_SIMCTL_ANSWER_MAX, "error %s\n", err);
}

/* ---- The socket ---------------------------------------------------------- */

static void client_close(fk_simctl_client_t *cl)
{
    if (cl->fd >= 0) close(cl->fd);
    cl->fd = -1;
    cl->len = 0;
}

static bool send_line(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        const ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        s += n;
        len -= (size_t)n;
    }
    return true;
}

/* Read what client cl sent and answer every complete line. */
static void client_input(fk_simctl_t *c, fk_simctl_client_t *cl)
{
    char buf[FK_SIMCTL_LINE_MAX];
    const ssize_t n = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        client_close(cl);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (cl->len == FK_SIMCTL_LINE_MAX) {
                (void)send_line(cl->fd, "error line too long\n");
                client_close(cl);
                return;
            }
            cl->line[cl->len++] = buf[i];
            continue;
        }
        cl->line[cl->len] = '\0';
        cl->len = 0;
        char answer[FK_SIMCTL_ANSWER_MAX];
        fk_simctl_execute(cl->line, &c->hooks, answer);
        if (fk_host_verbose() >= FK_HOST_VERBOSE_EVENTS)
            fk_host_log("control: %s -> %.*s", cl->line, (int)strcspn(answer, "\n"), answer);
        if (!send_line(cl->fd, answer)) {
            client_close(cl);
            return;
        }
    }
}

static bool stopping(const fk_simctl_t *c)
{
    return atomic_load(&c->quit) || (c->stop != NULL && *c->stop != 0);
}

static void *simctl_main(void *arg)
{
    fk_simctl_t *c = arg;
    while (!stopping(c)) {
        struct pollfd pfd[1u + FK_SIMCTL_MAX_CLIENTS];
        pfd[0] = (struct pollfd){.fd = c->listen_fd, .events = POLLIN};
        for (unsigned i = 0; i < FK_SIMCTL_MAX_CLIENTS; i++)
            pfd[1u + i] = (struct pollfd){.fd = c->clients[i].fd, .events = POLLIN};
        if (poll(pfd, 1u + FK_SIMCTL_MAX_CLIENTS, (int)FK_SIMCTL_POLL_MS) <= 0) continue;
        for (unsigned i = 0; i < FK_SIMCTL_MAX_CLIENTS; i++) {
            if (pfd[1u + i].fd >= 0 && pfd[1u + i].revents != 0) client_input(c, &c->clients[i]);
        }
        if (pfd[0].revents == 0) continue;
        for (;;) {
            const int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) break;
            unsigned i = 0;
            while (i < FK_SIMCTL_MAX_CLIENTS && c->clients[i].fd >= 0) i++;
            if (i == FK_SIMCTL_MAX_CLIENTS) {
                (void)send_line(fd, "error too many control clients\n");
                close(fd);
                continue;
            }
            c->clients[i].fd = fd;
            c->clients[i].len = 0;
        }
    }
    return NULL;
}

int fk_simctl_open(fk_simctl_t *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->listen_fd = -1;
    for (unsigned i = 0; i < FK_SIMCTL_MAX_CLIENTS; i++) c->clients[i].fd = -1;
    if (strlen(path) >= sizeof c->path) {
        fk_host_log("control socket path too long (at most %zu bytes): %s", sizeof c->path - 1u,
                    path);
        return -1;
    }
    c->listen_fd = fk_local_listen(path, SOCK_STREAM, "control");
    if (c->listen_fd < 0) return -1;
    memcpy(c->path, path, strlen(path) + 1u);
    return 0;
}

int fk_simctl_start(fk_simctl_t *c, const fk_simctl_hooks_t *hooks, volatile sig_atomic_t *stop)
{
    c->hooks = *hooks;
    c->stop = stop;
    atomic_store(&c->quit, false);
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    const int rc = pthread_create(&c->thread, NULL, simctl_main, c);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (rc != 0) {
        fk_host_log("control: cannot start its thread: %s", strerror(rc));
        return -1;
    }
    c->running = true;
    return 0;
}

void fk_simctl_close(fk_simctl_t *c)
{
    if (c->running) {
        atomic_store(&c->quit, true);
        pthread_join(c->thread, NULL);
        c->running = false;
    }
    for (unsigned i = 0; i < FK_SIMCTL_MAX_CLIENTS; i++) client_close(&c->clients[i]);
    if (c->listen_fd >= 0) {
        close(c->listen_fd);
        c->listen_fd = -1;
        (void)unlink(c->path);
    }
}
