/* SPDX-License-Identifier: Apache-2.0 */
/*
 * null_card.c - fk-null-card, a do-nothing virtual card for pcscd's vpcd
 * reader. It answers every command APDU with NULL_CARD_REPLY_LEN fixed bytes
 * and 9000, with the socket settings of fusekey-sim's transport (TCP_NODELAY,
 * TCP_QUICKACK before every recv, one write per reply), so that fk-bench's
 * ratio fusekey-sim / null card isolates the cost of the fusekey core.
 *
 * vpcd protocol: every message is a 2-byte big-endian length and a payload.
 * A 1-byte payload is a control code (power off/on, reset: no reply; get ATR:
 * reply with the ATR); anything longer is a command APDU.
 *
 * Usage: fk-null-card [--host ADDR] [--port N]   (default 127.0.0.1:35964,
 * vpcd slot 1). Reconnects whenever pcscd goes away; SIGINT/SIGTERM stop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NULL_CARD_DEFAULT_HOST "127.0.0.1"
#define NULL_CARD_DEFAULT_PORT 35964
#define NULL_CARD_REPLY_LEN 8u
#define VPCD_HEADER_LEN 2u
#define VPCD_MAX_PAYLOAD 65535u
#define VPCD_CTRL_OFF 0x00u
#define VPCD_CTRL_ON 0x01u
#define VPCD_CTRL_RESET 0x02u
#define VPCD_CTRL_ATR 0x04u
#define SW1_OK 0x90u
#define SW2_OK 0x00u
#define RETRY_DELAY_NS 20000000L /* 20 ms between connection attempts */

/* The same ATR as fusekey-sim (T=1, TA1 18, IFSC 254), so that pcscd treats
 * both cards alike and the comparison measures the card, not the protocol
 * parameters pcscd derives from the ATR. */
static const uint8_t null_card_atr[] = {0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE,
                                        0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D,
                                        0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xFA};

static volatile sig_atomic_t stop_requested;

/* Signal handler: ask the main loop to stop (recv/connect return EINTR). */
static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Install on_stop for SIGINT/SIGTERM without SA_RESTART, so blocking calls return. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Read exactly n bytes, re-arming TCP_QUICKACK before every recv. false on EOF/error. */
static bool read_exact(int fd, uint8_t *buf, size_t n)
{
    const int one = 1;
    size_t got = 0;
    while (got < n) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0) {
            return false;
        }
        got += (size_t)r;
    }
    return true;
}

/* Send one framed message (header and payload in a single write). */
static bool send_frame(int fd, uint8_t *frame, size_t payload_len)
{
    frame[0] = (uint8_t)(payload_len >> 8);
    frame[1] = (uint8_t)payload_len;
    size_t total = VPCD_HEADER_LEN + payload_len;
    size_t sent = 0;
    while (sent < total) {
        ssize_t w = send(fd, frame + sent, total - sent, MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        sent += (size_t)w;
    }
    return true;
}

/* Serve one vpcd connection until it closes or a stop is requested. */
static void serve(int fd)
{
    static uint8_t in[VPCD_MAX_PAYLOAD];
    static uint8_t out[VPCD_HEADER_LEN + VPCD_MAX_PAYLOAD];
    uint8_t hdr[VPCD_HEADER_LEN];

    while (!stop_requested) {
        if (!read_exact(fd, hdr, sizeof hdr)) {
            return;
        }
        size_t len = ((size_t)hdr[0] << 8) | hdr[1];
        if (len == 0 || !read_exact(fd, in, len)) {
            return;
        }
        uint8_t *payload = out + VPCD_HEADER_LEN;
        if (len == 1) {
            if (in[0] == VPCD_CTRL_ATR) {
                memcpy(payload, null_card_atr, sizeof null_card_atr);
                if (!send_frame(fd, out, sizeof null_card_atr)) {
                    return;
                }
            }
            /* VPCD_CTRL_OFF, VPCD_CTRL_ON, VPCD_CTRL_RESET: nothing to do, no reply. */
            continue;
        }
        for (size_t i = 0; i < NULL_CARD_REPLY_LEN; i++) {
            payload[i] = (uint8_t)i;
        }
        payload[NULL_CARD_REPLY_LEN] = SW1_OK;
        payload[NULL_CARD_REPLY_LEN + 1] = SW2_OK;
        if (!send_frame(fd, out, NULL_CARD_REPLY_LEN + 2)) {
            return;
        }
    }
}

/* Connect to vpcd at addr, with TCP_NODELAY set; -1 if not possible now. */
static int connect_vpcd(const struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
        close(fd);
        return -1;
    }
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--host ADDR] [--port N]\n", prog);
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = NULL_CARD_DEFAULT_HOST;
    long port = NULL_CARD_DEFAULT_PORT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end = NULL;
            port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || port <= 0 || port > UINT16_MAX) {
                return usage(argv[0]);
            }
        } else {
            return usage(argv[0]);
        }
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "fk-null-card: bad IPv4 address %s\n", host);
        return 2;
    }

    install_signals();
    const struct timespec retry = {0, RETRY_DELAY_NS};
    while (!stop_requested) {
        int fd = connect_vpcd(&addr);
        if (fd < 0) {
            nanosleep(&retry, NULL);
            continue;
        }
        serve(fd);
        close(fd);
    }
    return 0;
}
