/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h - drives the fusekey tool library (tools/fusekey/tool.h) as a
 * user runs it: a command line, typed input, captured output, against an
 * in-memory chip in BOOTSEL, a scripted random source and a fake card.
 */
#ifndef FUSEKEY_TEST_TOOL_HARNESS_H
#define FUSEKEY_TEST_TOOL_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "otp_model.h"
#include "tool.h"

#define H_MAX_SCRIPT 8u
#define H_MAX_SENT 16u
#define H_MAX_REPLIES 8u
#define H_APDU_CAP 64u

typedef struct fake_reply {
    uint8_t ins, p1;
    uint16_t sw;
    uint8_t data[16];
    size_t len;
} fake_reply_t;

typedef struct fake_card {
    bool refuse_connect;
    fake_reply_t replies[H_MAX_REPLIES];
    unsigned n_replies;
    uint8_t sent[H_MAX_SENT][H_APDU_CAP];
    size_t sent_len[H_MAX_SENT];
    unsigned n_sent;
} fake_card_t;

typedef struct harness {
    fk_otp_t chip;
    fk_tool_t tool;
    char *out, *err;
    size_t out_len, err_len;
    /* random: scripted draws first, then a counter stream */
    uint8_t script[H_MAX_SCRIPT][32];
    unsigned n_script, next_script;
    uint32_t counter;
    bool random_fails;
    fake_card_t card;
} harness_t;

static int h_random(void *arg, void *buf, size_t len)
{
    harness_t *h = arg;
    if (h->random_fails) return -1;
    uint8_t *b = buf;
    if (h->next_script < h->n_script && len == 32u) {
        memcpy(b, h->script[h->next_script++], len);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        h->counter = h->counter * 1103515245u + 12345u;
        b[i] = (uint8_t)(h->counter >> 16);
    }
    return 0;
}

static int fake_connect(void *arg, const char *reader, char *err, size_t cap)
{
    fake_card_t *c = arg;
    (void)reader;
    if (c->refuse_connect) {
        (void)snprintf(err, cap, "no reader holds a card");
        return -1;
    }
    return 0;
}

static int fake_transmit(void *arg, const uint8_t *cmd, size_t n, uint8_t *resp, size_t cap,
                         size_t *resp_len, uint16_t *sw, char *err, size_t err_cap)
{
    fake_card_t *c = arg;
    (void)err;
    (void)err_cap;
    if (c->n_sent < H_MAX_SENT && n <= H_APDU_CAP) {
        memcpy(c->sent[c->n_sent], cmd, n);
        c->sent_len[c->n_sent++] = n;
    }
    *resp_len = 0;
    if (n >= 2 && cmd[1] == 0xA4) { /* SELECT: the rescue applet's 12 bytes */
        static const uint8_t answer[12] = {3, 1, 0, 1, 0xF0, 0x5E, 0x0B, 0x1E,
                                           0x5E, 0x21, 0xA1, 0xC0};
        memcpy(resp, answer, sizeof answer);
        *resp_len = sizeof answer;
        *sw = 0x9000;
        return 0;
    }
    for (unsigned i = 0; i < c->n_replies; i++) {
        if (n >= 3 && c->replies[i].ins == cmd[1] && c->replies[i].p1 == cmd[2]) {
            if (c->replies[i].len > cap) return -1;
            memcpy(resp, c->replies[i].data, c->replies[i].len);
            *resp_len = c->replies[i].len;
            *sw = c->replies[i].sw;
            return 0;
        }
    }
    *sw = 0x6D00;
    return 0;
}

static void fake_disconnect(void *arg) { (void)arg; }

static const fk_tool_card_ops_t fake_card_ops = {fake_connect, fake_transmit, fake_disconnect};

static inline void fake_reply(harness_t *h, uint8_t ins, uint8_t p1, uint16_t sw, const uint8_t *data,
                       size_t len)
{
    assert_true(h->card.n_replies < H_MAX_REPLIES && len <= sizeof h->card.replies[0].data);
    fake_reply_t *r = &h->card.replies[h->card.n_replies++];
    r->ins = ins;
    r->p1 = p1;
    r->sw = sw;
    if (len) memcpy(r->data, data, len);
    r->len = len;
}

/* Whether an APDU with this INS and P1 was sent. */
static inline bool card_sent(const harness_t *h, uint8_t ins, uint8_t p1)
{
    for (unsigned i = 0; i < h->card.n_sent; i++) {
        if (h->card.sent_len[i] >= 3 && h->card.sent[i][1] == ins && h->card.sent[i][2] == p1)
            return true;
    }
    return false;
}

/* A factory-fresh chip of the given stepping, in BOOTSEL. */
static inline harness_t *h_new(fk_otp_stepping_t stepping)
{
    harness_t *h = calloc(1, sizeof *h);
    assert_non_null(h);
    static const uint8_t chipid[8] = {0xF0, 0x5E, 0x0B, 0x1E, 0x5E, 0x21, 0xA1, 0xC0};
    static const uint8_t randid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    fk_otp_init(&h->chip, stepping);
    assert_int_equal(fk_otp_factory(&h->chip, chipid, randid), FK_OTP_OK);
    fk_otp_enter_bootsel(&h->chip);
    h->tool.random = h_random;
    h->tool.random_arg = h;
    h->tool.card = &fake_card_ops;
    h->tool.card_arg = &h->card;
    h->tool.chip = &h->chip;
    h->counter = 0x12345678u;
    return h;
}

static inline void h_free(harness_t *h)
{
    free(h->out);
    free(h->err);
    free(h);
}

/* A chip reset (locks loaded from OTP), then BOOTSEL again. */
static inline void h_reset_bootsel(harness_t *h)
{
    fk_otp_reset(&h->chip);
    fk_otp_enter_bootsel(&h->chip);
}

/* Run `fusekey ARGS...` with `input` typed on stdin; returns the exit code. */
static inline int h_run_argv(harness_t *h, const char *input, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"fusekey";
    for (; *args != NULL; args++) {
        assert_true(argc < 31);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    free(h->out);
    free(h->err);
    h->out = h->err = NULL;
    FILE *out = open_memstream(&h->out, &h->out_len);
    FILE *err = open_memstream(&h->err, &h->err_len);
    FILE *in = (input != NULL && *input != '\0') ? fmemopen((void *)input, strlen(input), "r")
                                                 : fopen("/dev/null", "r");
    assert_non_null(out);
    assert_non_null(err);
    assert_non_null(in);
    h->tool.out = out;
    h->tool.err = err;
    h->tool.in = in;
    const int rc = fk_tool_main(&h->tool, argc, argv);
    fclose(out);
    fclose(err);
    fclose(in);
    return rc;
}

#define RUN(h, input, ...) h_run_argv((h), (input), (const char *const[]){__VA_ARGS__, NULL})

static inline void assert_out_has(const harness_t *h, const char *s)
{
    if (h->out == NULL || strstr(h->out, s) == NULL) {
        print_error("expected in stdout: %s\n--- stdout:\n%s\n--- stderr:\n%s\n", s,
                    h->out ? h->out : "", h->err ? h->err : "");
        fail();
    }
}

static inline void assert_err_has(const harness_t *h, const char *s)
{
    if (h->err == NULL || strstr(h->err, s) == NULL) {
        print_error("expected in stderr: %s\n--- stdout:\n%s\n--- stderr:\n%s\n", s,
                    h->out ? h->out : "", h->err ? h->err : "");
        fail();
    }
}

/* A snapshot of the whole OTP. */
typedef struct snap {
    uint32_t raw[FK_OTP_MODEL_ROWS];
} snap_t;

static inline void snap_take(const harness_t *h, snap_t *s) { memcpy(s->raw, h->chip.raw, sizeof s->raw); }

static inline void assert_unchanged(const harness_t *h, const snap_t *s)
{
    for (unsigned r = 0; r < FK_OTP_MODEL_ROWS; r++) {
        if (s->raw[r] != h->chip.raw[r]) {
            print_error("OTP row 0x%03x changed: 0x%06x -> 0x%06x\n", r, s->raw[r],
                        h->chip.raw[r]);
            fail();
        }
    }
}

/* Write a temporary file; returns its path (static buffer per call site). */
static inline void h_write_file(char *path, size_t cap, const char *text)
{
    (void)snprintf(path, cap, "/tmp/fk-tool-test-XXXXXX");
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#endif /* FUSEKEY_TEST_TOOL_HARNESS_H */
