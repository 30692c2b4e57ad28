/* SPDX-License-Identifier: Apache-2.0 */
/*
 * applet.h - the contract between an applet, the card endpoints that run
 * its commands and the services object that runs its migration.
 *
 * A product lists its applets in a const table (core/product.h). Neither a
 * card nor the services object knows anything of an applet beyond this
 * structure, and an applet reaches nothing but what its context gives it:
 * the shared services, its own store records and its own volatile state.
 */
#ifndef FUSEKEY_APPLET_H
#define FUSEKEY_APPLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "hal.h"
#include "store/space.h"

struct fk_services;

/* What a handler may use; nothing global. */
typedef struct fk_applet_ctx {
    struct fk_services *svc; /* the shared services (core/services/services.h) */
    fk_space_t space;        /* the applet's namespace of the main partition */
    fk_space_t counters;     /* ... of the high-churn partition (retry and use counters) */
    /* The applet's volatile state in the card running the command:
     * fk_applet_t.state_size bytes, all zero after power-on and reset. NULL
     * outside a card (the start-up migration). */
    void *state;
    fk_keepalive_fn keepalive; /* the endpoint's keepalive for long work (may be NULL) */
    void *keepalive_arg;
} fk_applet_ctx_t;

/* What a card answers when a command without Le (case 1 or 3) produced
 * response data. */
typedef enum fk_no_le {
    FK_NO_LE_ANNOUNCE = 0, /* 61xx: the data waits for GET RESPONSE */
    FK_NO_LE_DROP,         /* the status alone (9000): no data was asked for (ISO 7816-4) */
    FK_NO_LE_SEND,         /* the data at once, as if Le had been 00/0000: the FIDO
                              binding answers its SELECT (sent without Le) so, and
                              python-fido2 and other NFC clients need it (docs/fido.md) */
} fk_no_le_t;

typedef struct fk_applet {
    const char *name;
    const uint8_t *aid;
    size_t aid_len;
    uint8_t ns;        /* its store namespace (core/services/ns.h), in both partitions */
    size_t state_size; /* bytes of volatile state a card keeps for it (may be 0) */
    fk_no_le_t no_le;
    /* Selected by AID (cmd is the SELECT; NULL for the implicit selection
     * at power-on). Writes its FCI/FCP or whatever it answers into resp. */
    fk_sw_t (*select)(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);
    /* Every command while selected (including a re-SELECT of non-AID form). */
    fk_sw_t (*process)(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);
    /* Another applet is being selected (may be NULL). */
    void (*deselect)(const fk_applet_ctx_t *ctx);
    /* Card power-off or reset (may be NULL); the card wipes ctx->state
     * afterwards in any case. */
    void (*power_off)(const fk_applet_ctx_t *ctx);
    /* Migration to the OTP master key (docs/migration.md), run at start while
     * the device root still exists: re-seal every record this applet sealed
     * under another root than the current one, one atomic store write each,
     * so that a power cut at any point loses nothing and a second run
     * finishes the job. Add to *pending the secrets that can only move later
     * (a PIN verifier needs the PIN). FK_SW_OK, or an error status word (the
     * migration is retried at the next start). NULL: the applet seals
     * nothing. */
    fk_sw_t (*migrate)(const fk_applet_ctx_t *ctx, unsigned *pending);
} fk_applet_t;

/* Applets dispatch their instructions by a const table {INS, handler}. */
typedef fk_sw_t (*fk_handler_fn)(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);

typedef struct fk_command {
    uint8_t ins;
    fk_handler_fn handler;
} fk_command_t;

/* Run the handler of cmd->ins from table[0, n); FK_SW_INS_NOT_SUPPORTED if
 * the table has none. */
fk_sw_t fk_dispatch(const fk_command_t *table, size_t n, const fk_applet_ctx_t *ctx,
                    const fk_apdu_t *cmd, fk_rbuf_t *resp);

/* Ask the user to confirm presence (core/services/services.h), keeping the
 * endpoint alive: FK_SW_OK when confirmed, 6600 on timeout, 6985 when
 * declined. */
fk_sw_t fk_applet_presence(const fk_applet_ctx_t *ctx);

#endif /* FUSEKEY_APPLET_H */
