/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctaphid.h - the CTAPHID framing layer (CTAP 2.1 §11.2), port independent.
 *
 * A byte-level state machine fed 64-byte output reports of the host and
 * emitting 64-byte input reports through a callback. It allocates channels,
 * reassembles messages of up to 7609 bytes, arbitrates between channels
 * (one transaction at a time, LOCK), answers INIT, PING, WINK, LOCK and the
 * errors itself, and hands complete CBOR and MSG requests to the
 * application's handler. Time comes from a clock callback; nothing here
 * sleeps, allocates or includes an OS header. See docs/ctaphid.md.
 *
 * While the handler runs (a user-presence wait may take seconds) it calls
 * back into the layer: fk_ctaphid_keepalive() to send KEEPALIVE on the busy
 * channel (rate-limited to one per ~100 ms) and fk_ctaphid_poll_cancel() to
 * drain the reports the transport has received meanwhile: CANCEL (or INIT)
 * on the busy channel marks the request cancelled, INIT on another channel
 * is answered, any other request gets CHANNEL_BUSY.
 */
#ifndef FK_CTAPHID_H
#define FK_CTAPHID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FK_CTAPHID_REPORT 64u
#define FK_CTAPHID_INIT_DATA 57u          /* payload bytes of an init packet */
#define FK_CTAPHID_CONT_DATA 59u          /* payload bytes of a continuation */
#define FK_CTAPHID_MAX_SEQ 128u
#define FK_CTAPHID_MAX_MSG (FK_CTAPHID_INIT_DATA + FK_CTAPHID_MAX_SEQ * FK_CTAPHID_CONT_DATA) /* 7609 */

#define FK_CTAPHID_CID_BROADCAST 0xFFFFFFFFu

/* Commands as they appear on the wire (bit 7 set). */
#define FK_CTAPHID_PING 0x81u
#define FK_CTAPHID_MSG 0x83u
#define FK_CTAPHID_LOCK 0x84u
#define FK_CTAPHID_INIT 0x86u
#define FK_CTAPHID_WINK 0x88u
#define FK_CTAPHID_CBOR 0x90u
#define FK_CTAPHID_CANCEL 0x91u
#define FK_CTAPHID_KEEPALIVE 0xBBu
#define FK_CTAPHID_ERROR 0xBFu

/* ERROR payloads. */
#define FK_CTAPHID_ERR_INVALID_CMD 0x01u
#define FK_CTAPHID_ERR_INVALID_PAR 0x02u
#define FK_CTAPHID_ERR_INVALID_LEN 0x03u
#define FK_CTAPHID_ERR_INVALID_SEQ 0x04u
#define FK_CTAPHID_ERR_MSG_TIMEOUT 0x05u
#define FK_CTAPHID_ERR_CHANNEL_BUSY 0x06u
#define FK_CTAPHID_ERR_LOCK_REQUIRED 0x0Au
#define FK_CTAPHID_ERR_INVALID_CHANNEL 0x0Bu
#define FK_CTAPHID_ERR_OTHER 0x7Fu

/* KEEPALIVE payloads. */
#define FK_CTAPHID_STATUS_PROCESSING 0x01u
#define FK_CTAPHID_STATUS_UPNEEDED 0x02u

/* CTAP2 status a cancelled CBOR request ends with. */
#define FK_CTAP2_ERR_KEEPALIVE_CANCEL 0x2Du

/* INIT capabilities: WINK, LOCK, CBOR; NMSG clear because MSG is served. */
#define FK_CTAPHID_CAP_WINK 0x01u
#define FK_CTAPHID_CAP_LOCK 0x02u
#define FK_CTAPHID_CAP_CBOR 0x04u
#define FK_CTAPHID_CAP_NMSG 0x08u
#define FK_CTAPHID_PROTOCOL_VERSION 2u

#define FK_CTAPHID_MSG_TIMEOUT_MS 750u    /* a missing continuation */
#define FK_CTAPHID_KEEPALIVE_MS 100u      /* keepalive period */
#define FK_CTAPHID_LOCK_MAX_S 10u

typedef struct fk_ctaphid fk_ctaphid_t;

/* Emits one 64-byte input report (required); the transport queues it. */
typedef void (*fk_ctaphid_send_fn)(void *user, const uint8_t report[FK_CTAPHID_REPORT]);

/* Milliseconds of a monotonic clock that may wrap (required). */
typedef uint32_t (*fk_ctaphid_clock_fn)(void *user);

/* Serves a complete CBOR or MSG request (required): cmd is FK_CTAPHID_CBOR
 * or FK_CTAPHID_MSG, req/len the message (len >= 1). Writes the response
 * (status || CBOR, or the U2F response APDU) into resp (cap bytes) and
 * returns its length, or a negative CTAPHID error code (-FK_CTAPHID_ERR_*)
 * to answer with ERROR. req is wiped by the layer once this returns. */
typedef int (*fk_ctaphid_handler_fn)(void *user, fk_ctaphid_t *hid, uint8_t cmd,
                                     const uint8_t *req, size_t len, uint8_t *resp, size_t cap);

/* Optional: shows the user which device this is (WINK). */
typedef void (*fk_ctaphid_wink_fn)(void *user);

/* Optional: fetches one output report the transport received while the
 * handler runs; returns false when none is pending. */
typedef bool (*fk_ctaphid_pull_fn)(void *user, uint8_t report[FK_CTAPHID_REPORT]);

typedef struct {
    fk_ctaphid_send_fn send;
    fk_ctaphid_clock_fn clock;
    fk_ctaphid_handler_fn handler;
    fk_ctaphid_wink_fn wink;              /* may be NULL */
    fk_ctaphid_pull_fn pull;              /* may be NULL */
    void *user;                           /* passed to every callback */
    uint8_t version_major, version_minor, version_build;
    uint32_t first_cid;                   /* first CID INIT hands out (0 or FFFFFFFF: 1) */
} fk_ctaphid_config_t;

typedef enum {
    FK_CTAPHID_IDLE = 0,  /* waiting for an init packet */
    FK_CTAPHID_RECV,      /* reassembling a message of one channel */
    FK_CTAPHID_BUSY,      /* the handler runs for one channel */
} fk_ctaphid_state_t;

struct fk_ctaphid {
    fk_ctaphid_config_t cfg;
    fk_ctaphid_state_t state;
    uint32_t next_cid;          /* next CID to allocate */
    uint32_t issued;            /* how many CIDs were allocated (saturating) */
    /* the transaction */
    uint32_t cid;
    uint8_t cmd;
    uint8_t seq;                /* next expected SEQ */
    uint16_t bcnt, got;
    uint32_t last_ms;           /* last packet of the message */
    bool cancelled;             /* CANCEL (or INIT) seen on the busy channel */
    bool aborted;               /* INIT resynchronised the busy channel: drop the response */
    bool ka_sent;
    uint8_t ka_status;
    uint32_t ka_ms;             /* last keepalive, or the handler's start */
    /* LOCK */
    uint32_t lock_cid;          /* 0: no lock */
    uint32_t lock_start_ms, lock_ms;
    uint8_t msg[FK_CTAPHID_MAX_MSG];
    uint8_t resp[FK_CTAPHID_MAX_MSG];
};

/* Initialises hid for cfg (send, clock and handler required). */
void fk_ctaphid_init(fk_ctaphid_t *hid, const fk_ctaphid_config_t *cfg);

/* Feeds one 64-byte output report of the host. May emit reports and, when
 * a CBOR or MSG request completes, run the handler before it returns. */
void fk_ctaphid_rx(fk_ctaphid_t *hid, const uint8_t report[FK_CTAPHID_REPORT]);

/* Lets time pass without a report: a message whose continuation is missing
 * for more than FK_CTAPHID_MSG_TIMEOUT_MS ends with ERROR MSG_TIMEOUT. */
void fk_ctaphid_tick(fk_ctaphid_t *hid);

/* From the handler: a KEEPALIVE with status on the busy channel, sent when
 * FK_CTAPHID_KEEPALIVE_MS passed since the last one (or since the handler
 * started), and at once when the status becomes UPNEEDED (the user's
 * prompt); so at most two per period. Call it as often as you like.
 * Returns true when one was sent. */
bool fk_ctaphid_keepalive(fk_ctaphid_t *hid, uint8_t status);

/* From the handler: drains the transport's pending reports through the
 * layer and returns true once the running request was cancelled. */
bool fk_ctaphid_poll_cancel(fk_ctaphid_t *hid);

/* True once the running request was cancelled (no draining). */
bool fk_ctaphid_cancelled(const fk_ctaphid_t *hid);

/* Wipes every buffer and forgets every channel, transaction and lock. */
void fk_ctaphid_reset(fk_ctaphid_t *hid);

#endif
