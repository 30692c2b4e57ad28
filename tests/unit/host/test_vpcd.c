/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vpcd.c - the vpcd transport: the frame engine against a fake card,
 * and the socket loop against a tiny in-test reader (a TCP server on an
 * ephemeral port of 127.0.0.1 playing vpcd's part).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "host_port.h"
#include "vpcd.h"

#define INS_FILL 0xFEu /* fake card: answer with as many bytes as allowed */
#define INS_STOP 0xFFu /* fake card: answer 9000, then ask the loop to stop */
/* Safety limit so a broken transport fails the test instead of hanging it. */
#define IO_LIMIT_S 10
#define IO_LIMIT_MS (IO_LIMIT_S * 1000)
#define NS_PER_MS 1000000L
#define REFUSED_WAIT_MS 300L

/* ---- The fake card ------------------------------------------------------ */

typedef struct fake_card {
    int power_on;
    int power_off;
    int transceives;
    size_t last_len;
    size_t last_cap;
    uint8_t last_cmd[FK_VPCD_PAYLOAD_MAX];
    const uint8_t *atr;
    size_t atr_len;
    bool stop;
} fake_card_t;

static fake_card_t fake;
static const uint8_t card_atr[] = {0x3B, 0x80, 0x80, 0x01, 0x01};

static void fake_on(void *ctx) { ((fake_card_t *)ctx)->power_on++; }
static void fake_off(void *ctx) { ((fake_card_t *)ctx)->power_off++; }

static size_t fake_atr(void *ctx, const uint8_t **atr)
{
    const fake_card_t *c = ctx;
    *atr = c->atr;
    return c->atr_len;
}

/* Echo the command reversed, then 90 00 (INS_FILL: fill out_cap). */
static size_t fake_transceive(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    fake_card_t *c = ctx;
    c->transceives++;
    c->last_len = len;
    c->last_cap = cap;
    memcpy(c->last_cmd, in, len);
    size_t n = 0;
    if (len >= 2 && in[1] == INS_FILL) {
        n = cap - 2;
        memset(out, 0x5A, n);
    } else if (len >= 2 && in[1] == INS_STOP) {
        c->stop = true;
    } else {
        n = len < cap - 2 ? len : cap - 2;
        for (size_t i = 0; i < n; i++) out[i] = in[len - 1 - i];
    }
    out[n] = 0x90;
    out[n + 1] = 0x00;
    return n + 2;
}

/* The loop's frame buffers (vpcd.h: the caller's). */
static uint8_t loop_rx[FK_VPCD_FRAME_MAX];
static uint8_t loop_tx[FK_VPCD_FRAME_MAX];
static int dirty_after_frame; /* frames after which a buffer still held bytes */

static bool all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) acc |= p[i];
    return acc == 0;
}

/* After each frame: the buffers hold nothing of it any more. */
static fk_vpcd_action_t fake_after(void *ctx)
{
    if (!all_zero(loop_rx, sizeof loop_rx) || !all_zero(loop_tx, sizeof loop_tx))
        dirty_after_frame++;
    return ((fake_card_t *)ctx)->stop ? FK_VPCD_STOP : FK_VPCD_CONTINUE;
}

static const fk_vpcd_card_t card = {
    .ctx = &fake,
    .power_on = fake_on,
    .power_off = fake_off,
    .atr = fake_atr,
    .transceive = fake_transceive,
};

static int reset_fake(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    fake.atr = card_atr;
    fake.atr_len = sizeof card_atr;
    return 0;
}

/* ---- Frame engine ------------------------------------------------------- */

static uint8_t frame[FK_VPCD_FRAME_MAX];
static uint8_t reply[FK_VPCD_FRAME_MAX];

/* Build a frame with a correct header around payload; returns its length. */
static size_t make_frame(const uint8_t *payload, size_t len)
{
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, payload, len);
    return len + 2;
}

static int process(size_t frame_len)
{
    return fk_vpcd_process(&card, frame, frame_len, reply, sizeof reply);
}

static void test_control_codes(void **state)
{
    (void)state;
    const uint8_t on = FK_VPCD_CTRL_ON, off = FK_VPCD_CTRL_OFF, rst = FK_VPCD_CTRL_RESET;
    assert_int_equal(process(make_frame(&on, 1)), 0);
    assert_int_equal(fake.power_on, 1);
    assert_int_equal(process(make_frame(&off, 1)), 0);
    assert_int_equal(fake.power_off, 1);
    assert_int_equal(process(make_frame(&rst, 1)), 0); /* warm reset = power on again */
    assert_int_equal(fake.power_on, 2);
    const uint8_t unknown = 0x03;
    assert_int_equal(process(make_frame(&unknown, 1)), 0);
    assert_int_equal(fake.power_on, 2);
    assert_int_equal(fake.power_off, 1);
    assert_int_equal(fake.transceives, 0);
}

static void test_atr_reply(void **state)
{
    (void)state;
    const uint8_t atr = FK_VPCD_CTRL_ATR;
    assert_int_equal(process(make_frame(&atr, 1)), 2 + (int)sizeof card_atr);
    assert_int_equal(reply[0], 0);
    assert_int_equal(reply[1], sizeof card_atr);
    assert_memory_equal(reply + 2, card_atr, sizeof card_atr);

    fake.atr_len = 0; /* no card: an empty ATR */
    assert_int_equal(process(make_frame(&atr, 1)), 2);
    assert_int_equal(reply[0], 0);
    assert_int_equal(reply[1], 0);
}

static void test_apdu(void **state)
{
    (void)state;
    const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    assert_int_equal(process(make_frame(select, sizeof select)), 2 + 5 + 2);
    assert_int_equal(fake.transceives, 1);
    assert_int_equal(fake.last_len, sizeof select);
    assert_memory_equal(fake.last_cmd, select, sizeof select);
    assert_int_equal(fake.last_cap, FK_VPCD_PAYLOAD_MAX);
    const uint8_t want[] = {0x00, 0x07, 0x00, 0x00, 0x04, 0xA4, 0x00, 0x90, 0x00};
    assert_memory_equal(reply, want, sizeof want);

    const uint8_t shortest[] = {0x00, 0xA4}; /* 2 bytes: an APDU, for the card to judge */
    assert_int_equal(process(make_frame(shortest, sizeof shortest)), 2 + 2 + 2);
    assert_int_equal(fake.last_len, 2);
}

static void test_apdu_limits(void **state)
{
    (void)state;
    static uint8_t big[FK_VPCD_PAYLOAD_MAX];
    memset(big, 0x11, sizeof big);
    big[1] = INS_FILL;
    assert_int_equal(process(make_frame(big, sizeof big)), (int)FK_VPCD_FRAME_MAX);
    assert_int_equal(fake.last_len, FK_VPCD_PAYLOAD_MAX);
    assert_memory_equal(fake.last_cmd, big, sizeof big);
    assert_int_equal(reply[0], 0xFF);
    assert_int_equal(reply[1], 0xFF);
    assert_int_equal(reply[FK_VPCD_FRAME_MAX - 2], 0x90);

    /* A smaller reply buffer limits what the card may answer. */
    const uint8_t fill[] = {0x00, INS_FILL, 0x00, 0x00};
    const size_t f = make_frame(fill, sizeof fill);
    assert_int_equal(fk_vpcd_process(&card, frame, f, reply, 2 + 10), 2 + 10);
    assert_int_equal(fake.last_cap, 10);
    assert_int_equal(reply[1], 10);
}

static void test_malformed(void **state)
{
    (void)state;
    const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x00};
    const size_t len = make_frame(select, sizeof select);
    assert_int_equal(process(0), FK_VPCD_EPROTO);
    assert_int_equal(process(1), FK_VPCD_EPROTO);
    assert_int_equal(process(len - 1), FK_VPCD_EPROTO); /* shorter than announced */
    assert_int_equal(process(len + 1), FK_VPCD_EPROTO); /* longer than announced */
    frame[0] = 0;
    frame[1] = 0; /* zero-length frame */
    assert_int_equal(process(2), FK_VPCD_EPROTO);
    assert_int_equal(process(3), FK_VPCD_EPROTO);
    assert_int_equal(fake.transceives, 0);
    assert_int_equal(fake.power_on + fake.power_off, 0);
}

/* ---- Socket loop against an in-test reader ------------------------------ */

static void sleep_ms(long ms)
{
    const struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * NS_PER_MS};
    nanosleep(&ts, NULL);
}

/* A TCP socket bound to an ephemeral port of 127.0.0.1 (not yet listening). */
static int reader_bind(uint16_t *port)
{
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Accept the card's next connection (fails the test after IO_LIMIT_S). */
static int reader_accept(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, IO_LIMIT_MS), 1);
    const int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    const struct timeval tv = {.tv_sec = IO_LIMIT_S};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

static void send_bytes(int fd, const uint8_t *p, size_t len)
{
    assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Send a frame as vpcd does: length and body in two writes. */
static void reader_send(int fd, const uint8_t *payload, size_t len)
{
    const uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    send_bytes(fd, hdr, sizeof hdr);
    send_bytes(fd, payload, len);
}

static void recv_exact(int fd, uint8_t *p, size_t len)
{
    size_t got = 0;
    while (got < len) {
        const ssize_t n = recv(fd, p + got, len - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
}

/* Receive one reply frame; returns its payload length. */
static size_t reader_recv(int fd, uint8_t *payload)
{
    uint8_t hdr[2];
    recv_exact(fd, hdr, sizeof hdr);
    const size_t len = (size_t)hdr[0] << 8 | hdr[1];
    recv_exact(fd, payload, len);
    return len;
}

/* The card must close the connection (no further bytes). */
static void reader_expect_eof(int fd)
{
    uint8_t b;
    assert_int_equal(recv(fd, &b, 1, 0), 0);
}

static void reader_expect_atr(int fd)
{
    const uint8_t get_atr = FK_VPCD_CTRL_ATR;
    uint8_t buf[64];
    reader_send(fd, &get_atr, 1);
    assert_int_equal(reader_recv(fd, buf), sizeof card_atr);
    assert_memory_equal(buf, card_atr, sizeof card_atr);
}

typedef struct {
    uint16_t port;
    volatile sig_atomic_t *stop;
    int rc;
} client_args_t;

static void *client_main(void *arg)
{
    client_args_t *a = arg;
    const fk_vpcd_options_t opt = {
        .host = "127.0.0.1",
        .port = a->port,
        .stop = a->stop,
        .after_frame = fake_after,
        .after_ctx = &fake,
        .rx = loop_rx,
        .tx = loop_tx,
    };
    a->rc = fk_vpcd_serve(&card, &opt);
    return NULL;
}

static void test_socket_loop(void **state)
{
    (void)state;
    fk_host_set_verbose(FK_HOST_VERBOSE_DETAIL);
    client_args_t args = {.rc = -99};
    const int lfd = reader_bind(&args.port);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, client_main, &args), 0);
    /* The card starts before the reader listens: its connects are refused
     * until then, and it keeps retrying. */
    sleep_ms(REFUSED_WAIT_MS);
    assert_int_equal(listen(lfd, 4), 0);

    int fd = reader_accept(lfd);
    const uint8_t on = FK_VPCD_CTRL_ON;
    reader_send(fd, &on, 1); /* no reply */
    reader_expect_atr(fd);
    const uint8_t apdu[] = {0x80, 0x01, 0x02, 0x03};
    static uint8_t buf[FK_VPCD_PAYLOAD_MAX];
    reader_send(fd, apdu, sizeof apdu);
    assert_int_equal(reader_recv(fd, buf), 6);
    const uint8_t want[] = {0x03, 0x02, 0x01, 0x80, 0x90, 0x00};
    assert_memory_equal(buf, want, sizeof want);

    /* The reader goes away (pcscd restart): the card reconnects. */
    close(fd);
    fd = reader_accept(lfd);
    reader_expect_atr(fd);

    /* A zero-length frame: the card drops the connection and comes back. */
    const uint8_t zero[2] = {0, 0};
    send_bytes(fd, zero, sizeof zero);
    reader_expect_eof(fd);
    close(fd);
    fd = reader_accept(lfd);

    /* A frame cut short: announced 10 bytes, 3 sent, then the write side closed. */
    const uint8_t cut[5] = {0x00, 0x0A, 0x00, 0xA4, 0x04};
    send_bytes(fd, cut, sizeof cut);
    shutdown(fd, SHUT_WR);
    reader_expect_eof(fd);
    close(fd);
    fd = reader_accept(lfd);

    /* A large APDU in one frame, answered with the largest response. */
    static uint8_t big[FK_VPCD_PAYLOAD_MAX];
    memset(big, 0x22, sizeof big);
    big[1] = INS_FILL;
    reader_send(fd, big, sizeof big);
    assert_int_equal(reader_recv(fd, buf), FK_VPCD_PAYLOAD_MAX);
    assert_int_equal(buf[FK_VPCD_PAYLOAD_MAX - 2], 0x90);

    /* The card's after-frame hook stops the loop: reply first, then close. */
    const uint8_t stop[] = {0x00, INS_STOP, 0x00, 0x00};
    reader_send(fd, stop, sizeof stop);
    assert_int_equal(reader_recv(fd, buf), 2);
    assert_int_equal(buf[0], 0x90);
    reader_expect_eof(fd);
    close(fd);
    assert_int_equal(pthread_join(thread, NULL), 0);
    close(lfd);
    fk_host_set_verbose(0);

    assert_int_equal(args.rc, 0);
    /* No frame (a PIN, a response secret) stays in the transport's buffers. */
    assert_int_equal(dirty_after_frame, 0);
    assert_true(all_zero(loop_rx, sizeof loop_rx) && all_zero(loop_tx, sizeof loop_tx));
    assert_int_equal(fake.power_on, 1);
    assert_int_equal(fake.power_off, 4); /* one per connection that ended */
    assert_int_equal(fake.last_len, sizeof stop);
}

/* ---- Stop on a signal (in a child process, as the simulator runs) ------- */

static volatile sig_atomic_t child_stop;
static void on_term(int sig)
{
    (void)sig;
    child_stop = 1;
}

static void test_signal_stops_loop(void **state)
{
    (void)state;
    uint16_t port = 0;
    const int lfd = reader_bind(&port);
    assert_int_equal(listen(lfd, 1), 0);
    fflush(NULL);
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_term; /* no SA_RESTART */
        sigaction(SIGTERM, &sa, NULL);
        const fk_vpcd_options_t opt = {.host = "127.0.0.1", .port = port, .stop = &child_stop,
                                       .rx = loop_rx, .tx = loop_tx};
        const int rc = fk_vpcd_serve(&card, &opt);
        _exit(rc == 0 && fake.power_off == 1 ? 0 : 1);
    }
    const int fd = reader_accept(lfd);
    reader_expect_atr(fd); /* the card is in its loop */
    assert_int_equal(kill(pid, SIGTERM), 0);
    reader_expect_eof(fd);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fd);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_control_codes, reset_fake),
        cmocka_unit_test_setup(test_atr_reply, reset_fake),
        cmocka_unit_test_setup(test_apdu, reset_fake),
        cmocka_unit_test_setup(test_apdu_limits, reset_fake),
        cmocka_unit_test_setup(test_malformed, reset_fake),
        cmocka_unit_test_setup(test_socket_loop, reset_fake),
        cmocka_unit_test_setup(test_signal_stops_loop, reset_fake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
