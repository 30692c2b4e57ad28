/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctap_ep.h - the CTAP endpoint: the FIDO applet behind CTAPHID
 * (docs/ctaphid.md, docs/fido.md).
 *
 * The second kind of endpoint beside a card (core/card): it owns a CTAPHID
 * layer and its own copy of the FIDO applet's volatile state, and uses the
 * same services object as the cards. A transport (the USB FIDO HID class on
 * the device, a local socket in fusekey-sim) feeds it 64-byte output reports
 * and sends the input reports it emits.
 *
 * A complete CBOR message is handed to the applet as the NFCCTAP_MSG APDU
 * (80 10 00 00, extended length) and answered with the applet's
 * status || CBOR; a MSG payload is a U2F APDU, answered with data || SW1 SW2.
 * While the applet works, the endpoint's keepalive sends KEEPALIVE
 * (UPNEEDED while the services wait for the user, PROCESSING otherwise),
 * drains the transport's reports and, when the host cancels, calls the
 * presence wait off (the applet then answers KEEPALIVE_CANCEL).
 */
#ifndef FK_CTAP_EP_H
#define FK_CTAP_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "ctaphid.h"
#include "services/services.h"

/* What the transport gives the endpoint. */
typedef struct fk_ctap_ep_config {
    fk_ctaphid_send_fn send;   /* required: emits one input report */
    fk_ctaphid_clock_fn clock; /* required: milliseconds, may wrap */
    fk_ctaphid_wink_fn wink;   /* optional */
    fk_ctaphid_pull_fn pull;   /* optional: reports received while the applet works */
    void *user;                /* passed to the four callbacks */
} fk_ctap_ep_config_t;

typedef struct fk_ctap_ep {
    fk_services_t *svc;
    const fk_applet_t *applet; /* the FIDO applet */
    void *state;               /* its volatile state (applet->state_size bytes) */
    size_t state_len;
    fk_ctap_ep_config_t io;    /* the transport's callbacks */
    fk_ctaphid_t hid;
} fk_ctap_ep_t;

enum {
    FK_CTAP_EP_OK = 0,
    FK_CTAP_EP_ESTATE = -1, /* the state area is too small or misaligned */
};

/* Make an endpoint for applet over svc; state (8-byte aligned, at least
 * applet->state_size bytes) holds the applet's volatile state and lives as
 * long as the endpoint. The endpoint starts powered on (state zeroed, no
 * channel allocated). */
int fk_ctap_ep_init(fk_ctap_ep_t *ep, fk_services_t *svc, const fk_applet_t *applet, void *state,
                    size_t state_len, const fk_ctap_ep_config_t *cfg);

/* One output report of the host (may run a command before it returns). */
void fk_ctap_ep_rx(fk_ctap_ep_t *ep, const uint8_t report[FK_CTAPHID_REPORT]);

/* Let time pass: a message missing its continuation times out. Call it
 * every few tens of milliseconds while idle. */
void fk_ctap_ep_tick(fk_ctap_ep_t *ep);

/* Power-up of the endpoint (device start, USB reset or, in the simulator,
 * a simulated power cycle): channels, locks and the applet's volatile state
 * (PIN/UV auth session, key agreement key) are wiped. */
void fk_ctap_ep_power_on(fk_ctap_ep_t *ep);

/* Power-off: everything wiped as above; the endpoint stays usable after
 * fk_ctap_ep_power_on. */
void fk_ctap_ep_power_off(fk_ctap_ep_t *ep);

#endif /* FK_CTAP_EP_H */
