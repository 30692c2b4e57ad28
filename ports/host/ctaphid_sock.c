/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctaphid_sock.c - the CTAPHID socket of fusekey-sim (ctaphid_sock.h).
 *
 * One thread owns every descriptor here: the listening socket, the client
 * connections and the wake pipe. The endpoint's callbacks (send, pull) run
 * on that thread too, from inside fk_ctap_ep_rx or fk_ctap_ep_tick, so no
 * state of this file is shared between threads except `quit` and the pipe.
 */
#include "ctaphid_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hal.h"
#include "host_internal.h"
#include "host_port.h"
#include "local_socket.h"
#include "util.h"

#define MS_PER_S 1000u
#define US_PER_MS 1000u
/* A datagram one byte longer than a report shows up as too long. */
#define RX_BUF (FK_CTAPHID_REPORT + 1u)
#define HDR_CMD 4u
#define HDR_BCNT 5u
#define INIT_PAYLOAD 7u
#define INIT_NEW_CID (INIT_PAYLOAD + 8u) /* after the nonce */
#define INIT_ANSWER_LEN 17u

/* ---- Connections ------------------------------------------------------- */

static fk_hidsock_conn_t *conn_by_id(fk_hidsock_t *s, uint64_t id, int *index)
{
    for (unsigned i = 0; i < FK_HIDSOCK_MAX_CONN; i++) {
        if (s->conns[i].fd >= 0 && s->conns[i].id == id) {
            if (index != NULL) *index = (int)i;
            return &s->conns[i];
        }
    }
    return NULL;
}

/* Close connection i. Channels it owned stay remembered as owned by a
 * connection that is gone, so what the endpoint still sends on them (the
 * answer to a request whose client left) is dropped, not misdelivered. */
static void conn_close(fk_hidsock_t *s, unsigned i, const char *why)
{
    fk_hidsock_conn_t *c = &s->conns[i];
    if (c->fd < 0) return;
    close(c->fd);
    if (fk_host_verbose() >= FK_HOST_VERBOSE_EVENTS)
        fk_host_log("ctaphid: client %llu %s", (unsigned long long)c->id, why);
    c->fd = -1;
    c->dead = false;
    if (s->current == (int)i) s->current = -1;
}

static void accept_pending(fk_hidsock_t *s)
{
    for (;;) {
        const int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN: none left (the listening socket does not block) */
        unsigned i = 0;
        while (i < FK_HIDSOCK_MAX_CONN && s->conns[i].fd >= 0) i++;
        if (i == FK_HIDSOCK_MAX_CONN) {
            fk_host_log("ctaphid: more than %u clients: connection refused", FK_HIDSOCK_MAX_CONN);
            close(fd);
            continue;
        }
        /* Sends block while the client's queue is full (it reads what came
         * before), but never for longer than this. */
        const struct timeval tv = {
            .tv_sec = FK_HIDSOCK_SEND_TIMEOUT_MS / MS_PER_S,
            .tv_usec = (FK_HIDSOCK_SEND_TIMEOUT_MS % MS_PER_S) * US_PER_MS,
        };
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        s->conns[i] = (fk_hidsock_conn_t){
            .fd = fd, .id = ++s->next_id, .gen = s->dev.generation(s->dev.ctx), .dead = false};
        if (fk_host_verbose() >= FK_HOST_VERBOSE_EVENTS)
            fk_host_log("ctaphid: client %llu connected", (unsigned long long)s->next_id);
    }
}

/* Close what a power cycle left over and what failed to take a report. */
static void close_stale(fk_hidsock_t *s)
{
    const unsigned gen = s->dev.generation(s->dev.ctx);
    for (unsigned i = 0; i < FK_HIDSOCK_MAX_CONN; i++) {
        if (s->conns[i].fd < 0) continue;
        if (s->conns[i].gen != gen) conn_close(s, i, "closed: the device was power-cycled");
        else if (s->conns[i].dead) conn_close(s, i, "dropped: it stopped reading");
    }
}

/* Receive one report of connection i without blocking: 1 with the report,
 * 0 when none is pending (or a malformed datagram was dropped), -1 when
 * the connection ended (and is closed). */
static int conn_recv(fk_hidsock_t *s, unsigned i, uint8_t report[FK_CTAPHID_REPORT])
{
    uint8_t buf[RX_BUF];
    const ssize_t n = recv(s->conns[i].fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        fk_wipe(buf, sizeof buf);
        conn_close(s, i, n == 0 ? "disconnected" : "lost");
        return -1;
    }
    if (n < 0) return 0;
    if ((size_t)n != FK_CTAPHID_REPORT) {
        /* Not a report (hostile or confused client): nothing to answer. */
        fk_wipe(buf, sizeof buf);
        if (fk_host_verbose() >= FK_HOST_VERBOSE_EVENTS)
            fk_host_log("ctaphid: client %llu sent %zd bytes, not a %u-byte report: dropped",
                        (unsigned long long)s->conns[i].id, n, FK_CTAPHID_REPORT);
        return 0;
    }
    memcpy(report, buf, FK_CTAPHID_REPORT);
    fk_wipe(buf, sizeof buf);
    return 1;
}

/* ---- Channel owners ---------------------------------------------------- */

static int cid_find(const fk_hidsock_t *s, uint32_t cid)
{
    for (unsigned i = 0; i < FK_HIDSOCK_MAX_CIDS; i++) {
        if (s->cids[i].conn_id != 0u && s->cids[i].cid == cid) return (int)i;
    }
    return -1;
}

/* Remember that conn_id owns cid. force: an INIT answer just allocated it
 * to that client; otherwise (a report the client sent) a channel stays
 * with its owner while that owner is connected. */
static void cid_bind(fk_hidsock_t *s, uint32_t cid, uint64_t conn_id, bool force)
{
    if (cid == 0u || cid == FK_CTAPHID_CID_BROADCAST || conn_id == 0u) return;
    int e = cid_find(s, cid);
    if (e >= 0) {
        if (!force && s->cids[e].conn_id != conn_id && conn_by_id(s, s->cids[e].conn_id, NULL))
            return;
    } else {
        /* A free entry, else the oldest, preferring owners that are gone. */
        uint64_t best = UINT64_MAX;
        for (unsigned i = 0; i < FK_HIDSOCK_MAX_CIDS; i++) {
            uint64_t rank = s->cids[i].conn_id == 0u ? 0u : s->cids[i].age + 1u;
            if (rank != 0u && conn_by_id(s, s->cids[i].conn_id, NULL) != NULL)
                rank += UINT64_MAX / 2u;
            if (rank < best) {
                best = rank;
                e = (int)i;
            }
        }
    }
    s->cids[e].cid = cid;
    s->cids[e].conn_id = conn_id;
    s->cids[e].age = ++s->cid_clock;
}

/* ---- The endpoint's callbacks ------------------------------------------ */

static void sock_send(void *user, const uint8_t report[FK_CTAPHID_REPORT])
{
    fk_hidsock_t *s = user;
    const uint32_t cid = fk_be32(report);
    int to = s->current;
    if (cid == FK_CTAPHID_CID_BROADCAST) {
        /* An INIT answer on the broadcast channel: the new CID belongs to
         * the client that asked. */
        const unsigned len = (unsigned)report[HDR_BCNT] << 8 | report[HDR_BCNT + 1u];
        if (report[HDR_CMD] == FK_CTAPHID_INIT && len == INIT_ANSWER_LEN && to >= 0)
            cid_bind(s, fk_be32(report + INIT_NEW_CID), s->conns[to].id, true);
    } else {
        const int e = cid_find(s, cid);
        if (e >= 0 && conn_by_id(s, s->cids[e].conn_id, &to) == NULL) to = -1; /* owner gone */
    }
    if (to < 0 || s->conns[to].dead) return;
    const ssize_t n = send(s->conns[to].fd, report, FK_CTAPHID_REPORT, MSG_NOSIGNAL);
    if (n != (ssize_t)FK_CTAPHID_REPORT) s->conns[to].dead = true;
}

static uint32_t sock_clock(void *user)
{
    (void)user;
    return (uint32_t)fk_hal_millis();
}

static void sock_wink(void *user)
{
    (void)user;
    fk_host_log("ctaphid: WINK (a device would blink its LED now)");
}

/* A report one of the clients sent while the endpoint works, if any. */
static bool sock_pull(void *user, uint8_t report[FK_CTAPHID_REPORT])
{
    fk_hidsock_t *s = user;
    accept_pending(s);
    for (unsigned k = 0; k < FK_HIDSOCK_MAX_CONN; k++) {
        const unsigned i = (s->next_pull + k) % FK_HIDSOCK_MAX_CONN;
        if (s->conns[i].fd < 0 || s->conns[i].dead) continue;
        if (conn_recv(s, i, report) == 1) {
            s->next_pull = i + 1u;
            s->current = (int)i;
            cid_bind(s, fk_be32(report), s->conns[i].id, false);
            return true;
        }
    }
    return false;
}

fk_ctap_ep_config_t fk_hidsock_ep_config(fk_hidsock_t *s)
{
    return (fk_ctap_ep_config_t){
        .send = sock_send, .clock = sock_clock, .wink = sock_wink, .pull = sock_pull, .user = s};
}

/* ---- The thread -------------------------------------------------------- */

/* Feed one report of connection i to the endpoint (device lock held). */
static void feed(fk_hidsock_t *s, unsigned i, const uint8_t report[FK_CTAPHID_REPORT])
{
    s->current = (int)i;
    cid_bind(s, fk_be32(report), s->conns[i].id, false);
    fk_ctap_ep_rx(s->dev.ep, report);
    s->current = -1;
    if (s->dev.after_report != NULL) s->dev.after_report(s->dev.ctx);
    close_stale(s);
}

static bool stopping(const fk_hidsock_t *s)
{
    return atomic_load(&s->quit) || (s->dev.stop != NULL && *s->dev.stop != 0);
}

static void *hidsock_main(void *arg)
{
    fk_hidsock_t *s = arg;
    uint64_t last_tick = fk_hal_millis();
    while (!stopping(s)) {
        struct pollfd pfd[2u + FK_HIDSOCK_MAX_CONN];
        uint64_t ids[FK_HIDSOCK_MAX_CONN];
        pfd[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (unsigned i = 0; i < FK_HIDSOCK_MAX_CONN; i++) {
            pfd[2u + i] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
            ids[i] = s->conns[i].id;
        }
        (void)poll(pfd, 2u + FK_HIDSOCK_MAX_CONN, (int)FK_HIDSOCK_TICK_MS);
        if (pfd[0].revents != 0) {
            char drain[16];
            while (read(s->wake[0], drain, sizeof drain) > 0) {
            }
        }
        if (stopping(s)) break;
        accept_pending(s);

        pthread_mutex_lock(s->dev.lock);
        close_stale(s);
        for (unsigned i = 0; i < FK_HIDSOCK_MAX_CONN; i++) {
            /* Only connections polled above, and still the same ones (a
             * command's pull may have closed or replaced them meanwhile). */
            if (pfd[2u + i].fd < 0 || pfd[2u + i].revents == 0) continue;
            if (s->conns[i].fd < 0 || s->conns[i].id != ids[i] || s->conns[i].dead) continue;
            uint8_t report[FK_CTAPHID_REPORT];
            if (conn_recv(s, i, report) == 1) feed(s, i, report);
            fk_wipe(report, sizeof report);
        }
        const uint64_t now = fk_hal_millis();
        if (now - last_tick >= FK_HIDSOCK_TICK_MS) {
            fk_ctap_ep_tick(s->dev.ep);
            last_tick = now;
            close_stale(s);
        }
        pthread_mutex_unlock(s->dev.lock);
    }
    return NULL;
}

int fk_hidsock_open(fk_hidsock_t *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    s->current = -1;
    for (unsigned i = 0; i < FK_HIDSOCK_MAX_CONN; i++) s->conns[i].fd = -1;
    if (strlen(path) >= sizeof s->path) {
        fk_host_log("CTAPHID socket path too long (at most %zu bytes): %s", sizeof s->path - 1u,
                    path);
        return -1;
    }
    memcpy(s->path, path, strlen(path) + 1u);
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        fk_host_log("ctaphid: pipe: %s", strerror(errno));
        return -1;
    }
    s->listen_fd = fk_local_listen(path, SOCK_SEQPACKET, "CTAPHID");
    if (s->listen_fd < 0) {
        s->path[0] = '\0'; /* not ours to remove */
        fk_hidsock_close(s);
        return -1;
    }
    return 0;
}

int fk_hidsock_start(fk_hidsock_t *s, const fk_hidsock_device_t *dev)
{
    FK_ASSERT(dev->lock != NULL && dev->ep != NULL && dev->generation != NULL);
    s->dev = *dev;
    atomic_store(&s->quit, false);
    /* The thread blocks the stop signals: they go to the main thread,
     * whose blocking calls they interrupt. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &saved);
    const int rc = pthread_create(&s->thread, NULL, hidsock_main, s);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (rc != 0) {
        fk_host_log("ctaphid: cannot start its thread: %s", strerror(rc));
        return -1;
    }
    s->running = true;
    return 0;
}

void fk_hidsock_wake(fk_hidsock_t *s)
{
    if (s->wake[1] >= 0) (void)!write(s->wake[1], "w", 1);
}

void fk_hidsock_close(fk_hidsock_t *s)
{
    if (s->running) {
        atomic_store(&s->quit, true);
        fk_hidsock_wake(s);
        pthread_join(s->thread, NULL);
        s->running = false;
    }
    for (unsigned i = 0; i < FK_HIDSOCK_MAX_CONN; i++) conn_close(s, i, "closed: stopping");
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
        if (s->path[0] != '\0') (void)unlink(s->path);
    }
    for (unsigned i = 0; i < 2u; i++) {
        if (s->wake[i] >= 0) close(s->wake[i]);
        s->wake[i] = -1;
    }
}
