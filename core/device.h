/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device.h - what a transport (vpcd on the host, CCID over USB on the chip)
 * sees of the fusekey core: power the card on and off, read the ATR, and
 * exchange one command APDU for one response APDU.
 *
 * The device owns the two store partitions, the APDU buffers (command
 * chaining and GET RESPONSE state) and the applet registry. It allocates
 * nothing: the caller provides the fk_device_t, usually as a static object.
 */
#ifndef FUSEKEY_DEVICE_H
#define FUSEKEY_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "applet.h"
#include "hal.h"
#include "store/store.h"

/* Largest command data (Nc) accepted, after chaining. */
#define FK_DEVICE_CMD_MAX 65535u
/* Largest response data one command may produce (Ne = 65536). */
#define FK_DEVICE_RESP_MAX 65536u

/* Size of the counters partition at the start of the data region. */
#define FK_COUNTERS_SECTORS 16u

enum {
    FK_DEVICE_OK = 0,
    FK_DEVICE_ESTORE = -1, /* a store partition could not be mounted */
    FK_DEVICE_ESEAL = -2,  /* sealing could not be prepared */
};

/* The migration of sealed secrets from the device root to the OTP root
 * (docs/migration.md), as of its last run: at fk_device_init and whenever an
 * applet reports a deferred secret moved (fk_applet_ctx_t.migrated). */
typedef enum fk_migration_state {
    FK_MIGRATION_UNKNOWN = 0, /* not run yet, or the OTP or the store could not be read */
    FK_MIGRATION_NONE,        /* no OTP master key: the device root is current */
    FK_MIGRATION_IN_PROGRESS, /* OTP root current; the device seed is still kept */
    FK_MIGRATION_DONE,        /* OTP root current; the device seed is deleted */
} fk_migration_state_t;

typedef struct fk_migration_status {
    fk_migration_state_t state;
    unsigned pending; /* in progress: secrets that move only later (PIN verifiers) */
    unsigned failed;  /* in progress: applet hooks (or the seed deletion) that failed */
} fk_migration_status_t;

typedef struct fk_device {
    fk_store_t store;    /* main partition */
    fk_store_t counters; /* high-churn partition */

    const fk_applet_t *const *applets; /* the registry: a const table */
    size_t n_applets;
    const fk_applet_t *selected; /* NULL when no applet is selected */

    fk_keepalive_fn keepalive; /* transport's keepalive for long commands */
    void *keepalive_arg;

    fk_migration_status_t migration; /* outcome of the last migration run */
    bool migrating;                  /* a run is under way (no nested run) */

    /* Command chaining: data of the links received so far. */
    bool chaining;
    uint8_t chain_cla, chain_ins, chain_p1, chain_p2;
    size_t chain_len;
    uint8_t cmd[FK_DEVICE_CMD_MAX];

    /* Response being built, and the part of it not yet delivered. */
    size_t resp_len;
    size_t resp_off;
    bool resp_pending;
    uint8_t resp[FK_DEVICE_RESP_MAX];
} fk_device_t;

/* Mount the stores, prepare sealing, remember the registry, and run the
 * migration to the OTP root when it is due (docs/migration.md). Leaves the
 * card powered off. A migration that fails does not fail the start: the
 * device works with what it has and retries at the next start. */
int fk_device_init(fk_device_t *dev, const fk_applet_t *const *applets, size_t n_applets);

/* The migration's state as of its last run (FK_MIGRATION_UNKNOWN before
 * fk_device_init). Reads nothing from flash or OTP. */
void fk_device_migration_state(const fk_device_t *dev, fk_migration_status_t *st);

/* Set the hook long-running commands call to keep the host waiting. */
void fk_device_set_keepalive(fk_device_t *dev, fk_keepalive_fn fn, void *arg);

/* The answer-to-reset. Returns its length and points *atr at it. */
size_t fk_device_atr(const uint8_t **atr);

/* Power on (cold or warm reset) and power off. Both clear every volatile
 * state: selected applet, verified PINs, chaining and pending responses. */
void fk_device_power_on(fk_device_t *dev);
void fk_device_power_off(fk_device_t *dev);

/* Process one command APDU of len bytes; write the response (data and SW1
 * SW2) into out, at most out_cap bytes (>= 2). Returns the response length.
 * Response data longer than out_cap - 2 is delivered with 61xx and GET
 * RESPONSE, as for a short Le. Never fails: malformed input gets its
 * status word. */
size_t fk_device_transceive(fk_device_t *dev, const uint8_t *in, size_t len, uint8_t *out,
                            size_t out_cap);

#endif /* FUSEKEY_DEVICE_H */
