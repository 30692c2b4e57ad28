/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sim_control.h - fusekey-sim's control socket: what a test (or a person
 * at a shell) does to the virtual device from outside, that a user does to
 * a real one: answer presence requests, unplug and replug it, let time pass
 * (docs/host-sim.md, "The control socket").
 *
 * An AF_UNIX stream socket, one command per line, each answered with
 * "ok\n" or "error <why>\n":
 *
 *   presence auto|deny|timeout|remote   the policy for the next presence waits
 *   presence delay <ms>                 confirm <ms> after a wait starts
 *   presence-timeout <ms>               how long waits last (0: the command's own)
 *   approve | refuse                    the user's answer to a REMOTE wait in progress
 *   clock <ms>                          advance the device clock by <ms>
 *   power-cycle                         cold power cycle of the whole device
 *
 * Commands about presence take effect at once, also while a wait runs;
 * power-cycle waits for the command in progress (the device lock).
 */
#ifndef FUSEKEY_SIM_CONTROL_H
#define FUSEKEY_SIM_CONTROL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define FK_SIMCTL_MAX_CLIENTS 4u
#define FK_SIMCTL_LINE_MAX 128u   /* a longer line is refused and the client dropped */
#define FK_SIMCTL_ANSWER_MAX 160u
#define FK_SIMCTL_POLL_MS 100u

/* What the commands need of the simulator beyond the host port. */
typedef struct fk_simctl_hooks {
    /* Cold power cycle of the whole virtual device; 0, or -1 when the
     * device could not start again (the simulator then stops). */
    int (*power_cycle)(void *ctx);
    void *ctx;
} fk_simctl_hooks_t;

/* Carry out one command line (without its newline) and write the answer
 * line, newline included, into answer (FK_SIMCTL_ANSWER_MAX bytes). */
void fk_simctl_execute(const char *line, const fk_simctl_hooks_t *hooks, char *answer);

typedef struct fk_simctl_client {
    int fd; /* -1: free */
    size_t len;
    char line[FK_SIMCTL_LINE_MAX + 1u];
} fk_simctl_client_t;

typedef struct fk_simctl {
    int listen_fd;
    char path[108];
    fk_simctl_hooks_t hooks;
    fk_simctl_client_t clients[FK_SIMCTL_MAX_CLIENTS];
    volatile sig_atomic_t *stop;
    pthread_t thread;
    bool running;
    atomic_bool quit;
} fk_simctl_t;

/* Listen at path (a stale socket file there is replaced). 0, or -1 with a
 * message on stderr. */
int fk_simctl_open(fk_simctl_t *c, const char *path);

/* Serve commands on a thread of its own until *stop or fk_simctl_close. */
int fk_simctl_start(fk_simctl_t *c, const fk_simctl_hooks_t *hooks, volatile sig_atomic_t *stop);

/* Stop the thread, close the clients, remove the socket file. */
void fk_simctl_close(fk_simctl_t *c);

#endif /* FUSEKEY_SIM_CONTROL_H */
