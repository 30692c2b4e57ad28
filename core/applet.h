/* SPDX-License-Identifier: Apache-2.0 */
/*
 * applet.h - the contract between the dispatcher and an applet.
 *
 * The product's registry is a const table of these (applets/registry.c).
 * The dispatcher knows nothing about any applet beyond this structure.
 */
#ifndef FUSEKEY_APPLET_H
#define FUSEKEY_APPLET_H

#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "hal.h"
#include "store/store.h"

/* What a handler may use: the services of the device, nothing global. */
typedef struct fk_applet_ctx {
    fk_store_t *store;    /* main partition */
    fk_store_t *counters; /* high-churn partition (retry and usage counters) */
    fk_keepalive_fn keepalive; /* call during long operations (may be NULL) */
    void *keepalive_arg;
    /* Call after moving a deferred secret to the current sealing root (a
     * PIN verifier on a successful VERIFY): the device finishes the
     * migration, deleting the old root once nothing needs it any more.
     * May be NULL (no migration to finish). */
    void (*migrated)(void *arg);
    void *migrated_arg;
} fk_applet_ctx_t;

typedef struct fk_applet {
    const char *name;
    const uint8_t *aid;
    size_t aid_len;
    /* Selected by AID (cmd is the SELECT). Clears the applet's volatile state
     * and writes its FCI/FCP or whatever it answers into resp. */
    fk_sw_t (*select)(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);
    /* Every command while selected (including a re-SELECT of non-AID form). */
    fk_sw_t (*process)(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp);
    /* Another applet is being selected. */
    void (*deselect)(const fk_applet_ctx_t *ctx);
    /* Card power-off or reset: forget every volatile state. */
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

/* How long an applet waits for the user to confirm presence. */
#define FK_PRESENCE_TIMEOUT_MS 15000u

/* Ask the user to confirm presence (LED shows it, the transport is kept
 * alive): FK_SW_OK when confirmed, 6600 on timeout, 6985 when declined. */
fk_sw_t fk_applet_presence(const fk_applet_ctx_t *ctx);

#endif /* FUSEKEY_APPLET_H */
