/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcsc.c - the PC/SC transport of the fusekey tool (libpcsclite): pick a
 * reader (by name, or the first one holding a card), connect shared, send
 * APDUs (short or extended), follow 61xx with GET RESPONSE and repeat a 6Cxx
 * with the right Le. An extended Le lets the card answer up to 65536 bytes at
 * once, so the receive buffer holds that much.
 */
#include "pcsc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winscard.h>

#include "apdu.h"
#include "util.h"

#define SW_LEN 2u
#define RECV_CAP (65536u + SW_LEN)
#define SW1_MORE 0x61u
#define SW1_WRONG_LE 0x6Cu
#define GET_RESPONSE_LEN 5u
#define MAX_FOLLOW 64u
#define SHORT_APDU_HEADER 4u

typedef struct pcsc {
    SCARDCONTEXT ctx;
    SCARDHANDLE card;
    DWORD proto;
    bool have_ctx, have_card;
    uint8_t buf[RECV_CAP]; /* one answer (may hold secrets: wiped after each command) */
} pcsc_t;

static pcsc_t g_pcsc;

void *fk_pcsc_context(void) { return &g_pcsc; }

/* A PC/SC failure as a one-line reason. */
static void set_err(char *err, size_t cap, const char *what, LONG rv)
{
    (void)snprintf(err, cap, "%s: %s", what, pcsc_stringify_error(rv));
}

/* Disconnect (leaving the card as it is) and release the context. */
static void pcsc_disconnect(void *arg)
{
    pcsc_t *p = arg;
    if (p->have_card) (void)SCardDisconnect(p->card, SCARD_LEAVE_CARD);
    if (p->have_ctx) (void)SCardReleaseContext(p->ctx);
    p->have_card = false;
    p->have_ctx = false;
}

/* Connect shared to one reader, T=0 or T=1. */
static LONG connect_to(pcsc_t *p, const char *name)
{
    return SCardConnect(p->ctx, name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                        &p->card, &p->proto);
}

/* The named reader (exact or part of the name), else the first one with a card. */
static int pcsc_connect(void *arg, const char *reader, char *err, size_t cap)
{
    pcsc_t *p = arg;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_USER, NULL, NULL, &p->ctx);
    if (rv != SCARD_S_SUCCESS) {
        set_err(err, cap, "cannot reach pcscd", rv);
        return -1;
    }
    p->have_ctx = true;
    DWORD len = 0;
    rv = SCardListReaders(p->ctx, NULL, NULL, &len);
    if (rv != SCARD_S_SUCCESS || len == 0) {
        set_err(err, cap, "no smart-card reader", rv);
        pcsc_disconnect(p);
        return -1;
    }
    char *names = malloc(len);
    if (names == NULL) {
        (void)snprintf(err, cap, "out of memory");
        pcsc_disconnect(p);
        return -1;
    }
    rv = SCardListReaders(p->ctx, NULL, names, &len);
    LONG last = SCARD_E_NO_SMARTCARD;
    const char *chosen = NULL;
    for (const char *n = names; rv == SCARD_S_SUCCESS && *n != '\0'; n += strlen(n) + 1u) {
        if (reader != NULL && strcmp(n, reader) != 0 && strstr(n, reader) == NULL) continue;
        last = connect_to(p, n);
        if (last == SCARD_S_SUCCESS) {
            chosen = n;
            break;
        }
        if (reader != NULL) break;
    }
    if (chosen == NULL) {
        if (reader != NULL && last == SCARD_E_NO_SMARTCARD) {
            (void)snprintf(err, cap, "no reader named '%s' holds a card", reader);
        } else {
            set_err(err, cap, reader ? "cannot connect to the reader" : "no reader holds a card",
                    last);
        }
        free(names);
        pcsc_disconnect(p);
        return -1;
    }
    free(names);
    p->have_card = true;
    return 0;
}

/* One exchange; resp gets data and status word. */
static LONG exchange(pcsc_t *p, const uint8_t *cmd, size_t len, uint8_t *resp, DWORD *resp_len)
{
    const SCARD_IO_REQUEST *pci = p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    *resp_len = RECV_CAP;
    return SCardTransmit(p->card, pci, cmd, (DWORD)len, NULL, resp, resp_len);
}

/* One command, its 6Cxx repeat and 61xx GET RESPONSEs; the final SW. */
static int transmit_follow(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                         size_t resp_cap, size_t *resp_len, uint16_t *sw, char *err, size_t cap)
{
    pcsc_t *p = arg;
    uint8_t *buf = p->buf;
    uint8_t again[FK_TOOL_APDU_MAX];
    uint8_t get_response[GET_RESPONSE_LEN] = {0x00, FK_INS_GET_RESPONSE, 0, 0, 0};
    const uint8_t *send = cmd;
    size_t send_len = cmd_len;
    size_t have = 0;
    if (!p->have_card) {
        (void)snprintf(err, cap, "not connected");
        return -1;
    }
    for (unsigned round = 0; round < MAX_FOLLOW; round++) {
        DWORD n = 0;
        const LONG rv = exchange(p, send, send_len, buf, &n);
        if (rv != SCARD_S_SUCCESS) {
            set_err(err, cap, "the card did not answer", rv);
            return -1;
        }
        if (n < SW_LEN) {
            (void)snprintf(err, cap, "the card's answer is shorter than a status word");
            return -1;
        }
        const size_t data = n - SW_LEN;
        const uint8_t sw1 = buf[data], sw2 = buf[data + 1u];
        if (sw1 == SW1_WRONG_LE && cmd_len > SHORT_APDU_HEADER && cmd_len <= sizeof again &&
            send == cmd) {
            memcpy(again, cmd, cmd_len);
            again[cmd_len - 1u] = sw2; /* the Le the card asks for */
            send = again;
            continue;
        }
        if (have + data > resp_cap) {
            (void)snprintf(err, cap, "the card's answer is longer than expected");
            return -1;
        }
        memcpy(resp + have, buf, data);
        have += data;
        if (sw1 == SW1_MORE) {
            get_response[GET_RESPONSE_LEN - 1u] = sw2;
            send = get_response;
            send_len = GET_RESPONSE_LEN;
            continue;
        }
        *resp_len = have;
        *sw = (uint16_t)(sw1 << 8 | sw2);
        return 0;
    }
    (void)snprintf(err, cap, "the card's answer does not end");
    return -1;
}

/* transmit_follow, then the receive buffer wiped (answers carry plaintexts). */
static int pcsc_transmit(void *arg, const uint8_t *cmd, size_t cmd_len, uint8_t *resp,
                         size_t resp_cap, size_t *resp_len, uint16_t *sw, char *err, size_t cap)
{
    pcsc_t *p = arg;
    const int rc = transmit_follow(arg, cmd, cmd_len, resp, resp_cap, resp_len, sw, err, cap);
    fk_wipe(p->buf, sizeof p->buf);
    return rc;
}

const fk_tool_card_ops_t fk_pcsc_ops = {
    .connect = pcsc_connect,
    .transmit = pcsc_transmit,
    .disconnect = pcsc_disconnect,
};
