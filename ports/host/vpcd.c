/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vpcd.c - the card side of pcscd's vpcd protocol (see vpcd.h and
 * docs/host-sim.md).
 *
 * IMPLEMENTATION NOTE: vpcd writes a frame's length and body in two send()
 * calls without TCP_NODELAY. Unless the card acknowledges at once, Nagle's
 * algorithm and delayed ACKs stall every APDU for about 40 ms. So the card
 * sets TCP_NODELAY on each connection, re-arms TCP_QUICKACK before every
 * recv() (the kernel clears it on its own), and sends a reply's length and
 * body in one write.
 */
#include "vpcd.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"
#include "host_internal.h"
#include "host_port.h"
#include "util.h"

#define VPCD_CTRL_LEN 1u
#define VPCD_SW_LEN 2u
/* How often a loop waiting for the reader looks at the stop flag. */
#define VPCD_POLL_MS 250u
/* A frame whose first byte has arrived must be complete within this. */
#define VPCD_FRAME_TIMEOUT_MS 5000u
#define VPCD_PORT_STR_LEN 8u
#define NS_PER_MS 1000000L
#define MS_PER_S 1000u

/* ---- Frame engine ------------------------------------------------------- */

/* Answer a control code; returns the reply frame's length (0: no reply). */
static int process_control(const fk_vpcd_card_t *card, uint8_t code, uint8_t *reply,
                           size_t reply_cap)
{
    const int verbose = fk_host_verbose();
    switch (code) {
    case FK_VPCD_CTRL_OFF:
        if (verbose >= FK_HOST_VERBOSE_EVENTS) fk_host_log("vpcd: power off");
        card->power_off(card->ctx);
        return 0;
    case FK_VPCD_CTRL_ON:
        if (verbose >= FK_HOST_VERBOSE_EVENTS) fk_host_log("vpcd: power on");
        card->power_on(card->ctx);
        return 0;
    case FK_VPCD_CTRL_RESET:
        if (verbose >= FK_HOST_VERBOSE_EVENTS) fk_host_log("vpcd: reset");
        card->power_on(card->ctx);
        return 0;
    case FK_VPCD_CTRL_ATR: {
        const uint8_t *atr = NULL;
        const size_t len = card->atr(card->ctx, &atr);
        FK_ASSERT(len <= FK_VPCD_PAYLOAD_MAX && len <= reply_cap - FK_VPCD_HEADER_LEN);
        if (verbose >= FK_HOST_VERBOSE_DETAIL) fk_host_log("vpcd: ATR (%zu bytes)", len);
        fk_put_be16(reply, (uint16_t)len);
        if (len > 0u) memcpy(reply + FK_VPCD_HEADER_LEN, atr, len);
        return (int)(FK_VPCD_HEADER_LEN + len);
    }
    default:
        /* Not part of the protocol: ignored, as by the reference card. */
        if (verbose >= FK_HOST_VERBOSE_EVENTS) {
            fk_host_log("vpcd: unknown control code 0x%02x ignored", code);
        }
        return 0;
    }
}

int fk_vpcd_process(const fk_vpcd_card_t *card, const uint8_t *frame, size_t frame_len,
                    uint8_t *reply, size_t reply_cap)
{
    FK_ASSERT(reply_cap >= FK_VPCD_HEADER_LEN + VPCD_SW_LEN);
    if (frame_len <= FK_VPCD_HEADER_LEN) return FK_VPCD_EPROTO;
    const size_t len = fk_be16(frame);
    if (len == 0u || len != frame_len - FK_VPCD_HEADER_LEN) return FK_VPCD_EPROTO;
    const uint8_t *payload = frame + FK_VPCD_HEADER_LEN;

    if (len == VPCD_CTRL_LEN) return process_control(card, payload[0], reply, reply_cap);

    const size_t cap = FK_MIN(reply_cap - FK_VPCD_HEADER_LEN, (size_t)FK_VPCD_PAYLOAD_MAX);
    const size_t n = card->transceive(card->ctx, payload, len, reply + FK_VPCD_HEADER_LEN, cap);
    FK_ASSERT(n >= VPCD_SW_LEN && n <= cap);
    if (fk_host_verbose() >= FK_HOST_VERBOSE_DETAIL) {
        fk_host_log("vpcd: APDU %zu bytes -> %zu bytes", len, n);
    }
    fk_put_be16(reply, (uint16_t)n);
    return (int)(FK_VPCD_HEADER_LEN + n);
}

/* ---- Socket loop -------------------------------------------------------- */

typedef enum read_result {
    READ_OK,
    READ_STOP,   /* stop requested while no frame was in progress */
    READ_CLOSED, /* the reader closed the connection between frames */
    READ_BROKEN, /* zero length, closed or timed out inside a frame */
    READ_ERROR,  /* socket error */
} read_result_t;

static bool stop_requested(const fk_vpcd_options_t *opt)
{
    return opt->stop != NULL && *opt->stop != 0;
}

/* Sleep ms milliseconds; a signal ends the sleep early. */
static void sleep_ms(unsigned ms)
{
    const struct timespec ts = {.tv_sec = ms / MS_PER_S,
                                .tv_nsec = (long)(ms % MS_PER_S) * NS_PER_MS};
    (void)nanosleep(&ts, NULL);
}

/* Receive exactly len bytes. *deadline (fk_hal_millis time) bounds the wait;
 * 0 means "not started": it is set VPCD_FRAME_TIMEOUT_MS after the first
 * byte arrives, and until then a stop request ends the wait (READ_STOP).
 * Blocking recv() calls with the socket's receive timeout (VPCD_POLL_MS,
 * set at connect) do the waiting: one system call per read besides the
 * TCP_QUICKACK re-arm, because those calls are most of a virtual card's
 * round-trip time. A signal (SIGTERM) interrupts the wait. */
static read_result_t recv_exact(int fd, uint8_t *buf, size_t len, uint64_t *deadline,
                                const fk_vpcd_options_t *opt)
{
    static const int one = 1;
    size_t done = 0;
    while (done < len) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        const ssize_t n = recv(fd, buf + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            if (*deadline == 0) *deadline = fk_hal_millis() + VPCD_FRAME_TIMEOUT_MS;
            continue;
        }
        if (n == 0) return *deadline == 0 ? READ_CLOSED : READ_BROKEN;
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) return READ_ERROR;
        /* Interrupted or timed out: stop between frames, give up on a frame
         * that does not complete in time. */
        if (*deadline == 0) {
            if (stop_requested(opt)) return READ_STOP;
        } else if (fk_hal_millis() >= *deadline) {
            return READ_BROKEN;
        }
    }
    return READ_OK;
}

/* Read one whole frame into buf (FK_VPCD_FRAME_MAX bytes). Waits for the
 * frame's start as long as no stop is requested; once started, the frame
 * must complete within VPCD_FRAME_TIMEOUT_MS. */
static read_result_t read_frame(int fd, const fk_vpcd_options_t *opt, uint8_t *buf,
                                size_t *frame_len)
{
    if (stop_requested(opt)) return READ_STOP;
    uint64_t deadline = 0;
    read_result_t rc = recv_exact(fd, buf, FK_VPCD_HEADER_LEN, &deadline, opt);
    if (rc != READ_OK) return rc;
    const size_t len = fk_be16(buf);
    if (len == 0u) return READ_BROKEN;
    rc = recv_exact(fd, buf + FK_VPCD_HEADER_LEN, len, &deadline, opt);
    if (rc != READ_OK) return rc == READ_ERROR ? READ_ERROR : READ_BROKEN;
    *frame_len = FK_VPCD_HEADER_LEN + len;
    return READ_OK;
}

/* Send len bytes (one write in the normal case). 0, or -1 on failure. */
static int send_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0u) {
        const ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One connection attempt. 0 and *fd_out when connected, 1 when the reader
 * is not there (yet), -1 when the host name cannot be resolved. */
static int connect_once(const char *host, const char *port, int *fd_out)
{
    const struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV,
    };
    struct addrinfo *res = NULL;
    const int gai = getaddrinfo(host, port, &hints, &res);
    if (gai == EAI_AGAIN || gai == EAI_SYSTEM) return 1;
    if (gai != 0) {
        fk_host_log("vpcd: cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int result = 1;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            *fd_out = fd;
            result = 0;
            break;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return result;
}

/* Answer frames on one connection until it ends; returns why it ended. */
static const char *serve_connection(int fd, const fk_vpcd_card_t *card,
                                    const fk_vpcd_options_t *opt, fk_vpcd_action_t *action)
{
    uint8_t *const rx = opt->rx;
    uint8_t *const tx = opt->tx;
    *action = FK_VPCD_CONTINUE;
    for (;;) {
        size_t len = 0;
        const read_result_t rr = read_frame(fd, opt, rx, &len);
        if (rr != READ_OK) fk_wipe(rx, FK_VPCD_FRAME_MAX); /* a partial frame may hold a PIN */
        switch (rr) {
        case READ_OK:
            break;
        case READ_STOP:
            *action = FK_VPCD_STOP;
            return "stopping";
        case READ_CLOSED:
            return "closed by the reader";
        case READ_BROKEN:
            return "malformed or incomplete frame";
        case READ_ERROR:
            return strerror(errno);
        }
        const int n = fk_vpcd_process(card, rx, len, tx, FK_VPCD_FRAME_MAX);
        /* Frames carry PINs and response secrets: neither buffer keeps a
         * frame once it is answered. */
        fk_wipe(rx, len);
        const bool sent = n <= 0 || send_all(fd, tx, (size_t)n) == 0;
        if (n > 0) fk_wipe(tx, (size_t)n);
        if (n < 0) return "malformed frame";
        if (!sent) return "send failed";
        if (opt->after_frame != NULL) {
            *action = opt->after_frame(opt->after_ctx);
            if (*action == FK_VPCD_STOP) return "stopping";
            if (*action == FK_VPCD_RECONNECT) return "device restart";
        }
    }
}

int fk_vpcd_serve(const fk_vpcd_card_t *card, const fk_vpcd_options_t *opt)
{
    static const int one = 1;
    FK_ASSERT(opt->rx != NULL && opt->tx != NULL);
    const char *host = opt->host != NULL ? opt->host : FK_VPCD_DEFAULT_HOST;
    char port[VPCD_PORT_STR_LEN];
    (void)snprintf(port, sizeof port, "%u", opt->port != 0u ? opt->port : FK_VPCD_DEFAULT_PORT);

    bool waiting_logged = false;
    while (!stop_requested(opt)) {
        int fd = -1;
        const int rc = connect_once(host, port, &fd);
        if (rc < 0) return -1;
        if (rc > 0) {
            if (!waiting_logged && fk_host_verbose() >= FK_HOST_VERBOSE_EVENTS) {
                fk_host_log("vpcd: waiting for the reader at %s:%s", host, port);
            }
            waiting_logged = true;
            sleep_ms(FK_VPCD_RETRY_MS);
            continue;
        }
        waiting_logged = false;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const struct timeval rcv_timeout = {.tv_sec = VPCD_POLL_MS / MS_PER_S,
                                            .tv_usec = (VPCD_POLL_MS % MS_PER_S) * 1000};
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout, sizeof rcv_timeout);
        fk_host_log("connected to vpcd at %s:%s", host, port);

        fk_vpcd_action_t action = FK_VPCD_CONTINUE;
        const char *why = serve_connection(fd, card, opt, &action);
        close(fd);
        card->power_off(card->ctx);
        fk_host_log("disconnected from vpcd (%s)", why);
        if (action == FK_VPCD_STOP) break;
        sleep_ms(FK_VPCD_RETRY_MS);
    }
    return 0;
}
