/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctaphid_sock.h - fusekey-sim's CTAPHID transport: a local socket in place
 * of the USB FIDO HID interface (docs/host-sim.md, "The CTAPHID socket").
 *
 * An AF_UNIX SOCK_SEQPACKET socket; every datagram is one 64-byte HID
 * report without a report id, in both directions. Several clients may be
 * connected at once, as several processes may open one hidraw device: the
 * reports of all of them go into the one CTAP endpoint, and each report the
 * endpoint emits goes to the connection that owns its channel id (learnt
 * from the INIT answer that allocated it and from the reports each
 * connection sends; a CID no connection owns is answered to the sender of
 * the report being processed).
 *
 * The socket runs on a thread of its own. It takes the device lock for
 * every report it feeds the endpoint and for the endpoint's clock ticks,
 * so the endpoint never runs core code beside the card. While a command
 * waits (user presence), the endpoint's pull callback hands it what other
 * connections send meanwhile (CANCEL, INIT, requests that get
 * CHANNEL_BUSY), without blocking.
 */
#ifndef FUSEKEY_CTAPHID_SOCK_H
#define FUSEKEY_CTAPHID_SOCK_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctap_ep.h"

#define FK_HIDSOCK_MAX_CONN 8u   /* clients at once; more are closed at once */
#define FK_HIDSOCK_MAX_CIDS 32u  /* channel owners remembered */
#define FK_HIDSOCK_TICK_MS 50u   /* the endpoint's clock tick while idle */
#define FK_HIDSOCK_SEND_TIMEOUT_MS 2000u /* a client that reads nothing for this long is dropped */

/* What the socket needs of the device around it. */
typedef struct fk_hidsock_device {
    pthread_mutex_t *lock; /* held whenever core code runs */
    fk_ctap_ep_t *ep;      /* the endpoint the reports go to */
    /* The device's power generation (called under the lock): connections
     * opened before the current one are closed, as a power cycle makes a
     * USB device disappear from its host. */
    unsigned (*generation)(void *ctx);
    /* Under the lock after each report: what the command left for later
     * (a reboot it asked for). May be NULL. */
    void (*after_report)(void *ctx);
    void *ctx;
    volatile sig_atomic_t *stop; /* the simulator stops: the thread ends soon after */
} fk_hidsock_device_t;

typedef struct fk_hidsock_conn {
    int fd;       /* -1: free */
    uint64_t id;  /* unique over the program's life (channels remember it) */
    unsigned gen; /* the power generation it was opened in */
    bool dead;    /* a send failed: closed at the next safe point */
} fk_hidsock_conn_t;

typedef struct fk_hidsock {
    int listen_fd;
    int wake[2]; /* a pipe: wakes the thread (power cycle, stop) */
    char path[108];
    fk_hidsock_device_t dev;
    fk_hidsock_conn_t conns[FK_HIDSOCK_MAX_CONN];
    uint64_t next_id;
    struct {
        uint32_t cid;
        uint64_t conn_id; /* 0: free entry */
        uint64_t age;     /* for replacing the oldest entry */
    } cids[FK_HIDSOCK_MAX_CIDS];
    uint64_t cid_clock;
    int current;  /* the connection whose report is being processed, -1: none */
    unsigned next_pull; /* round robin over the connections in pull */
    pthread_t thread;
    bool running;
    atomic_bool quit;
} fk_hidsock_t;

/* Listen at path (a stale socket file there is replaced). 0, or -1 with a
 * message on stderr. */
int fk_hidsock_open(fk_hidsock_t *s, const char *path);

/* The transport callbacks for fk_ctap_ep_init (send, clock, wink, pull). */
fk_ctap_ep_config_t fk_hidsock_ep_config(fk_hidsock_t *s);

/* Start serving on a thread of its own (signals stay with the caller's
 * thread). 0, or -1 with a message on stderr. */
int fk_hidsock_start(fk_hidsock_t *s, const fk_hidsock_device_t *dev);

/* Wake the thread, e.g. after a power cycle, so that stale connections are
 * closed at once rather than at their next report. Thread-safe. */
void fk_hidsock_wake(fk_hidsock_t *s);

/* Stop the thread (it finishes the report it is processing), close every
 * connection and remove the socket file. Safe when never started. */
void fk_hidsock_close(fk_hidsock_t *s);

#endif /* FUSEKEY_CTAPHID_SOCK_H */
