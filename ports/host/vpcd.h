/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vpcd.h - the card side of the vpcd protocol: pcscd's virtual reader
 * driver listens on a TCP port, the virtual card connects to it as a client
 * and answers its frames.
 *
 * Frame (both directions): a 2-byte big-endian payload length, then the
 * payload (1..65535 bytes). A 1-byte payload from the reader is a control
 * code (FK_VPCD_CTRL_*); only GET ATR is answered, with the ATR. A longer
 * payload is a command APDU, answered with the response APDU.
 *
 * Two layers: fk_vpcd_process turns one received frame into the reply frame
 * (no sockets; unit-testable), and fk_vpcd_serve is the socket loop around
 * it (connect, retry, reconnect, read and write whole frames).
 */
#ifndef FUSEKEY_VPCD_H
#define FUSEKEY_VPCD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define FK_VPCD_DEFAULT_HOST "127.0.0.1"
#define FK_VPCD_DEFAULT_PORT 35963u
#define FK_VPCD_HEADER_LEN 2u
#define FK_VPCD_PAYLOAD_MAX 65535u
#define FK_VPCD_FRAME_MAX (FK_VPCD_HEADER_LEN + FK_VPCD_PAYLOAD_MAX)

/* Control codes (1-byte payloads from the reader). */
#define FK_VPCD_CTRL_OFF 0x00u   /* power off, no reply */
#define FK_VPCD_CTRL_ON 0x01u    /* power on, no reply */
#define FK_VPCD_CTRL_RESET 0x02u /* warm reset, no reply */
#define FK_VPCD_CTRL_ATR 0x04u   /* reply with the ATR (empty: no card) */

/* The card behind the transport. A card endpoint (core/card/card.h) is adapted to this by the host
 * program; tests plug in a fake. power_on also serves as warm reset. */
typedef struct fk_vpcd_card {
    void *ctx;
    void (*power_on)(void *ctx);
    void (*power_off)(void *ctx);
    /* Point *atr at the ATR and return its length (at most 33 bytes in
     * practice; anything up to FK_VPCD_PAYLOAD_MAX is framed). */
    size_t (*atr)(void *ctx, const uint8_t **atr);
    /* Process one command APDU; write at most out_cap (>= 2) bytes of
     * response to out and return how many (>= 2). */
    size_t (*transceive)(void *ctx, const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);
} fk_vpcd_card_t;

enum {
    FK_VPCD_EPROTO = -1, /* malformed frame: the connection must be dropped */
};

/* Process one received frame of frame_len bytes (header and payload) and
 * write the reply frame (header and payload) into reply, which holds
 * reply_cap >= FK_VPCD_HEADER_LEN + 2 bytes; APDU responses are limited to
 * reply_cap - FK_VPCD_HEADER_LEN and FK_VPCD_PAYLOAD_MAX bytes. Returns the
 * reply frame's length, 0 when the frame needs no reply, or FK_VPCD_EPROTO
 * when the frame is malformed (length field zero or not matching
 * frame_len), in which case the card was not called. */
int fk_vpcd_process(const fk_vpcd_card_t *card, const uint8_t *frame, size_t frame_len,
                    uint8_t *reply, size_t reply_cap);

/* What the socket loop does after a frame has been answered. */
typedef enum fk_vpcd_action {
    FK_VPCD_CONTINUE = 0,
    FK_VPCD_RECONNECT, /* close the connection (the reader sees the card removed) and reconnect */
    FK_VPCD_STOP,      /* close the connection and return */
} fk_vpcd_action_t;

typedef struct fk_vpcd_options {
    const char *host; /* NULL: FK_VPCD_DEFAULT_HOST; a name or a numeric address */
    uint16_t port;    /* 0: FK_VPCD_DEFAULT_PORT */
    /* The loop returns soon after *stop becomes non-zero (NULL: never). A
     * frame whose first byte has arrived is still read, processed and
     * answered first. Set it from a signal handler installed without
     * SA_RESTART so that blocking calls wake up. */
    volatile sig_atomic_t *stop;
    /* Optional: called after each frame has been answered. */
    fk_vpcd_action_t (*after_frame)(void *ctx);
    void *after_ctx;
    /* The frame buffers, FK_VPCD_FRAME_MAX bytes each, owned by the caller
     * (static in a host program). Frames carry PINs and response secrets:
     * the loop wipes both buffers after every frame, so that between frames
     * (and whenever after_frame runs) they hold only zeros. */
    uint8_t *rx;
    uint8_t *tx;
} fk_vpcd_options_t;

/* Serve the card over vpcd until stopped: connect (retrying every
 * FK_VPCD_RETRY_MS until the reader listens), answer frames, and reconnect
 * whenever the reader closes the connection, restarts, or sends a malformed
 * or incomplete frame. The card is powered off whenever a connection ends.
 * Logs one line per connection and disconnection on stderr. Returns 0 when
 * stopped, -1 when the host cannot be resolved at all. */
#define FK_VPCD_RETRY_MS 200u
int fk_vpcd_serve(const fk_vpcd_card_t *card, const fk_vpcd_options_t *opt);

#endif /* FUSEKEY_VPCD_H */
