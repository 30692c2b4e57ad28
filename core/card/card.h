/* SPDX-License-Identifier: Apache-2.0 */
/*
 * card.h - a card: one APDU endpoint of the device, as a transport (vpcd on
 * the host, CCID over USB on the chip) sees it: power on and off, the
 * answer-to-reset, and one command APDU in for one response APDU out.
 *
 * A card owns its protocol state only: the APDU buffers (command chaining,
 * GET RESPONSE), the selected applet and the applets' volatile states. The
 * stores, sealing, presence and the clock belong to the services object it
 * is given, which other endpoints (another card, a CTAP endpoint) share.
 * Nothing here allocates: the caller provides the fk_card_t (usually a
 * static object, about 130 KiB of buffers) and the applet-state area.
 */
#ifndef FUSEKEY_CARD_H
#define FUSEKEY_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "applet.h"
#include "hal.h"
#include "product.h"
#include "services/services.h"

/* Largest command data (Nc) accepted, after chaining. */
#define FK_CARD_CMD_MAX 65535u
/* Bytes an APDU has beyond its data: header 4, extended Lc 3, extended Le 2. */
#define FK_CARD_APDU_OVERHEAD 9u
/* Largest response data one command may produce (Ne = 65536). */
#define FK_CARD_RESP_MAX 65536u
/* Each applet's state starts at a multiple of this in the state area. */
#define FK_CARD_STATE_ALIGN 8u

enum {
    FK_CARD_OK = 0,
    FK_CARD_ESTATE = -1, /* the applet-state area is too small or misaligned */
};

typedef struct fk_card {
    fk_services_t *svc;
    const fk_product_t *product;

    /* The applets' volatile states: applet i owns state[state_off[i], +size). */
    uint8_t *state;
    size_t state_len;
    size_t state_off[FK_PRODUCT_APPLETS_MAX];

    size_t selected; /* index into product->applets, or FK_PRODUCT_NO_DEFAULT */

    fk_keepalive_fn keepalive; /* the transport's keepalive for long commands */
    void *keepalive_arg;

    /* Command chaining: data of the links received so far, in cmd; the
     * rest of cmd is the receive area (fk_card_rx_area). */
    bool chaining;
    uint8_t chain_cla, chain_ins, chain_p1, chain_p2;
    size_t chain_len;
    uint8_t cmd[FK_CARD_CMD_MAX + FK_CARD_APDU_OVERHEAD];

    /* Response being built, and the part of it not yet delivered. */
    size_t resp_len;
    size_t resp_off;
    bool resp_pending;
    uint8_t resp[FK_CARD_RESP_MAX];
} fk_card_t;

/* Bytes of applet-state area a card of `product` needs (each applet's
 * state_size rounded up to FK_CARD_STATE_ALIGN). */
size_t fk_card_state_size(const fk_product_t *product);

/* Make a card of svc's product over svc. state (FK_CARD_STATE_ALIGN-aligned,
 * state_len >= fk_card_state_size) holds the applets' volatile states; the
 * caller keeps it alive as long as the card. The card starts powered off.
 * FK_CARD_ESTATE when the area does not fit. */
int fk_card_init(fk_card_t *card, fk_services_t *svc, void *state, size_t state_len);

/* Set the hook long-running commands call to keep the host waiting. */
void fk_card_set_keepalive(fk_card_t *card, fk_keepalive_fn fn, void *arg);

/* The product's answer-to-reset. Returns its length and points *atr at it. */
size_t fk_card_atr(const fk_card_t *card, const uint8_t **atr);

/* Power on (cold or warm reset) and power off. Both clear every volatile
 * state: selected applet, the applets' states (verified PINs, sessions),
 * chaining and pending responses. Power-on selects the product's default
 * applet. */
void fk_card_power_on(fk_card_t *card);
void fk_card_power_off(fk_card_t *card);

/* Process one command APDU of len bytes; write the response (data and SW1
 * SW2) into out, at most out_cap bytes (>= 2). Returns the response length.
 * Response data longer than out_cap - 2 is delivered with 61xx and GET
 * RESPONSE, as for a short Le. Never fails: malformed input gets its
 * status word. */
size_t fk_card_transceive(fk_card_t *card, const uint8_t *in, size_t len, uint8_t *out,
                          size_t out_cap);

/* Where a transport may receive the next command APDU, so that it needs no
 * APDU buffer of its own (a USB CCID class would otherwise keep a second
 * 64 KiB): up to *cap bytes at the returned address, inside the card's
 * command buffer after the data of the links already chained. Pass the
 * APDU received there to fk_card_transceive as `in`; the card wipes it
 * after use. *cap is always enough for the largest command the card can
 * still accept (a link that does not fit would be refused with 6700 by
 * fk_card_transceive anyway). Valid until the next fk_card_transceive,
 * fk_card_power_on or fk_card_power_off. */
uint8_t *fk_card_rx_area(fk_card_t *card, size_t *cap);

/* The context this card gives `applet` (one of its product's): the shared
 * services, the applet's records and its volatile state in this card. For
 * the card itself and for tests that look inside an applet. */
fk_applet_ctx_t fk_card_applet_ctx(fk_card_t *card, const fk_applet_t *applet);

#endif /* FUSEKEY_CARD_H */
