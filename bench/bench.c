/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench.c - fk-bench: APDU round trips per second through pcscd + vpcd,
 * fusekey-sim against a do-nothing card (fk-null-card), in the same run.
 *
 * Both cards sit behind the same pcscd: fusekey-sim in vpcd slot 0, the null
 * card in slot 1. The program sends GET CHALLENGE (00 84 00 00 08) to each in
 * interleaved rounds (the card measured first alternates between rounds, so
 * drift of the machine hits both alike) and prints both rates and their ratio
 * sim/null; the per-round ratio's median is the figure to compare with the
 * target (>= 0.9: the core adds at most 10 % to the PC/SC path's own cost).
 * It checks every response (length and 9000) but applies no threshold.
 *
 * Usage: fk-bench [--rounds N] [--count N] [--warmup N] [--sim-reader NAME]
 *                 [--null-reader NAME] [--wait SECONDS]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <winscard.h>

#include "bench_util.h"

#define DEFAULT_ROUNDS 7u
#define DEFAULT_COUNT 3000u
#define DEFAULT_WARMUP 200u
#define DEFAULT_WAIT_S 30u
#define DEFAULT_SIM_READER "Virtual PCD 00 00"
#define DEFAULT_NULL_READER "Virtual PCD 00 01"
#define CHALLENGE_LEN 8u
#define SW_LEN 2u
#define SW1_OK 0x90u
#define SW2_OK 0x00u
#define SW1_MORE 0x61u
#define RECV_MAX 258u
#define NS_PER_US 1000.0
#define POLL_NS 20000000L /* 20 ms between attempts while waiting for a card */
#define TARGET_RATIO 0.9

static const uint8_t get_challenge[] = {0x00, 0x84, 0x00, 0x00, CHALLENGE_LEN};
static const uint8_t select_hsm[] = {0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01,
                                     0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00};

typedef struct card {
    const char *name;   /* "sim" or "null" */
    const char *reader; /* PC/SC reader name */
    SCARDHANDLE handle;
    const SCARD_IO_REQUEST *pci;
    uint64_t *lat_ns;   /* every round trip, for the median */
    size_t n_lat;
    double *round_rate; /* APDU/s of each round */
    uint64_t total_ns;
} card_t;

typedef struct options {
    unsigned rounds, count, warmup, wait_s;
    const char *sim_reader, *null_reader;
} options_t;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Median of n values (sorts them in place). */
static double median_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
}

/* Connect to reader, retrying for up to wait_s seconds while no card is there. */
static bool connect_card(SCARDCONTEXT ctx, card_t *c, unsigned wait_s)
{
    const struct timespec poll = {0, POLL_NS};
    uint64_t deadline = now_ns() + (uint64_t)wait_s * NS_PER_S;
    LONG rv;
    do {
        DWORD proto = 0;
        rv = SCardConnect(ctx, c->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                          &c->handle, &proto);
        if (rv == SCARD_S_SUCCESS) {
            c->pci = proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
            return true;
        }
        nanosleep(&poll, NULL);
    } while (now_ns() < deadline);
    fprintf(stderr, "fk-bench: no card in \"%s\": %s\n", c->reader, pcsc_stringify_error(rv));
    return false;
}

/* One APDU; checks the status word (9000 or 61xx for want_sw1 == SW1_MORE) and,
 * if want_len is not SIZE_MAX, the data length. */
static bool transmit(card_t *c, const uint8_t *cmd, size_t cmd_len, size_t want_len)
{
    uint8_t resp[RECV_MAX];
    DWORD resp_len = sizeof resp;
    LONG rv = SCardTransmit(c->handle, c->pci, cmd, (DWORD)cmd_len, NULL, resp, &resp_len);
    if (rv != SCARD_S_SUCCESS) {
        fprintf(stderr, "fk-bench: %s: SCardTransmit: %s\n", c->name, pcsc_stringify_error(rv));
        return false;
    }
    if (resp_len < SW_LEN) {
        fprintf(stderr, "fk-bench: %s: response of %lu bytes\n", c->name, (unsigned long)resp_len);
        return false;
    }
    uint8_t sw1 = resp[resp_len - 2], sw2 = resp[resp_len - 1];
    bool ok = (sw1 == SW1_OK && sw2 == SW2_OK) || (want_len == SIZE_MAX && sw1 == SW1_MORE);
    if (!ok || (want_len != SIZE_MAX && resp_len - SW_LEN != want_len)) {
        fprintf(stderr, "fk-bench: %s: unexpected response: %lu data bytes, SW %02X%02X\n",
                c->name, (unsigned long)(resp_len - SW_LEN), sw1, sw2);
        return false;
    }
    return true;
}

/* One round: count GET CHALLENGEs, timing each. */
static bool run_round(card_t *c, unsigned round, unsigned count)
{
    uint64_t start = now_ns();
    for (unsigned i = 0; i < count; i++) {
        uint64_t t0 = now_ns();
        if (!transmit(c, get_challenge, sizeof get_challenge, CHALLENGE_LEN)) {
            return false;
        }
        c->lat_ns[c->n_lat++] = now_ns() - t0;
    }
    uint64_t elapsed = now_ns() - start;
    c->total_ns += elapsed;
    c->round_rate[round] = (double)count * (double)NS_PER_S / (double)elapsed;
    return true;
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--rounds N] [--count N] [--warmup N] [--sim-reader NAME]\n"
            "          [--null-reader NAME] [--wait SECONDS]\n",
            prog);
    return 2;
}

static bool parse_args(int argc, char **argv, options_t *o)
{
    *o = (options_t){DEFAULT_ROUNDS, DEFAULT_COUNT, DEFAULT_WARMUP, DEFAULT_WAIT_S,
                     DEFAULT_SIM_READER, DEFAULT_NULL_READER};
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (ok && strcmp(a, "--rounds") == 0) {
            ok = parse_count(v, &o->rounds);
        } else if (ok && strcmp(a, "--count") == 0) {
            ok = parse_count(v, &o->count);
        } else if (ok && strcmp(a, "--warmup") == 0) {
            ok = parse_count(v, &o->warmup);
        } else if (ok && strcmp(a, "--wait") == 0) {
            ok = parse_count(v, &o->wait_s);
        } else if (ok && strcmp(a, "--sim-reader") == 0) {
            o->sim_reader = v;
        } else if (ok && strcmp(a, "--null-reader") == 0) {
            o->null_reader = v;
        } else {
            ok = false;
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Print one card's figures: rate over all rounds and median round trip. */
static void report_card(card_t *c, unsigned rounds, unsigned count)
{
    double rate = (double)rounds * count * (double)NS_PER_S / (double)c->total_ns;
    double med_us = median_u64(c->lat_ns, c->n_lat) / NS_PER_US;
    printf("%-5s %9.0f APDU/s overall, median round trip %7.1f us\n", c->name, rate, med_us);
}

int main(int argc, char **argv)
{
    options_t o;
    if (!parse_args(argc, argv, &o)) {
        return usage(argv[0]);
    }

    card_t sim = {.name = "sim", .reader = o.sim_reader};
    card_t null = {.name = "null", .reader = o.null_reader};
    card_t *cards[] = {&sim, &null};
    const size_t n_cards = sizeof cards / sizeof cards[0];
    double *ratios = calloc(o.rounds, sizeof *ratios);
    int status = 1;
    for (size_t i = 0; i < n_cards; i++) {
        cards[i]->lat_ns = calloc((size_t)o.rounds * o.count, sizeof *cards[i]->lat_ns);
        cards[i]->round_rate = calloc(o.rounds, sizeof *cards[i]->round_rate);
        if (cards[i]->lat_ns == NULL || cards[i]->round_rate == NULL || ratios == NULL) {
            fprintf(stderr, "fk-bench: out of memory\n");
            goto out_free;
        }
    }

    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) {
        fprintf(stderr, "fk-bench: SCardEstablishContext: %s\n", pcsc_stringify_error(rv));
        goto out_free;
    }
    size_t connected = 0;
    for (; connected < n_cards; connected++) {
        if (!connect_card(ctx, cards[connected], o.wait_s)) {
            goto out_disconnect;
        }
    }
    /* GET CHALLENGE needs the HSM applet selected; the null card answers anything. */
    if (!transmit(&sim, select_hsm, sizeof select_hsm, SIZE_MAX)) {
        goto out_disconnect;
    }
    for (size_t i = 0; i < n_cards; i++) {
        for (unsigned k = 0; k < o.warmup; k++) {
            if (!transmit(cards[i], get_challenge, sizeof get_challenge, CHALLENGE_LEN)) {
                goto out_disconnect;
            }
        }
    }

    printf("fk-bench: %u rounds x %u GET CHALLENGE (00 84 00 00 08) per card, interleaved\n",
           o.rounds, o.count);
    printf("round  sim APDU/s  null APDU/s  sim/null\n");
    for (unsigned r = 0; r < o.rounds; r++) {
        card_t *first = r % 2 ? &null : &sim;
        card_t *second = r % 2 ? &sim : &null;
        if (!run_round(first, r, o.count) || !run_round(second, r, o.count)) {
            goto out_disconnect;
        }
        ratios[r] = sim.round_rate[r] / null.round_rate[r];
        printf("%5u  %10.0f  %11.0f  %8.3f\n", r + 1, sim.round_rate[r], null.round_rate[r],
               ratios[r]);
    }
    report_card(&sim, o.rounds, o.count);
    report_card(&null, o.rounds, o.count);
    double ratio = median(ratios, o.rounds);
    printf("ratio sim/null (median of rounds): %.3f (target >= %.2f: %s)\n", ratio, TARGET_RATIO,
           ratio >= TARGET_RATIO ? "met" : "NOT met");
    status = 0;

out_disconnect:
    for (size_t i = 0; i < connected; i++) {
        SCardDisconnect(cards[i]->handle, SCARD_LEAVE_CARD);
    }
    SCardReleaseContext(ctx);
out_free:
    for (size_t i = 0; i < n_cards; i++) {
        free(cards[i]->lat_ns);
        free(cards[i]->round_rate);
    }
    free(ratios);
    return status;
}
