/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services.h - the services object: what every applet and every endpoint of
 * the device shares. It owns the two store partitions, sealing and the
 * migration to the OTP root, user presence and the wall clock; the PIN and
 * key-object services work on the store records it hands each applet.
 *
 *   endpoints (cards, later a CTAP endpoint)      transports move bytes into them
 *        |  one fk_services_t, shared
 *   services: stores | sealing + migration | presence | clock
 *        |
 *   store, crypto, HAL
 *
 * One object per device, usually static (the store indexes make it about
 * 25 KiB); nothing here allocates. Endpoints keep their own protocol state
 * (a card's APDU buffers, chaining, selected applet) and never share it.
 */
#ifndef FUSEKEY_SERVICES_H
#define FUSEKEY_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "hal.h"
#include "product.h"
#include "rtc.h"
#include "seal/seal.h"
#include "store/store.h"

/* Size of the counters partition at the start of the data region. */
#define FK_COUNTERS_SECTORS 16u

enum {
    FK_SERVICES_OK = 0,
    FK_SERVICES_ESTORE = -1, /* a store partition could not be mounted */
    FK_SERVICES_ESEAL = -2,  /* sealing could not be prepared */
};

/* The migration of sealed secrets from the device root to the OTP root
 * (docs/migration.md), as of its last run: at fk_services_init and whenever
 * an applet reports a deferred secret moved (fk_services_migrated). */
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

typedef struct fk_services {
    const fk_product_t *product; /* its applets' migration hooks */
    fk_store_t store;            /* main partition */
    fk_store_t counters;         /* high-churn partition */
    fk_rtc_t rtc;                /* the wall clock (volatile) */
    int seal_rc;                 /* fk_seal_init's result at the start */
    fk_seal_init_info_t seal_info;   /* what it did to the device seed */
    fk_migration_status_t migration; /* outcome of the last migration run */
    bool migrating;                  /* a run is under way (no nested run) */
    bool migration_recheck;          /* a deferred secret moved: look again after the command */
    uint64_t boot_ms;                /* fk_hal_millis() when the device started (power-up) */
    bool presence_waiting;           /* fk_services_presence runs */
    bool presence_cancel;            /* ... and was called off */
} fk_services_t;

/* Mount both store partitions, prepare sealing, and run the migration to
 * the OTP root when it is due (docs/migration.md). A migration that fails
 * does not fail the start: the device works with what it has and retries at
 * the next start. Nor does a device seed that cannot be read
 * (svc->seal_rc = FK_SEAL_ESTORE): the device starts, every operation that
 * needs the seed fails, and the rest (the rescue applet, key-less commands)
 * keeps working. FK_SERVICES_OK, FK_SERVICES_ESTORE (a partition cannot be
 * mounted) or FK_SERVICES_ESEAL (the OTP or the RNG failed). */
int fk_services_init(fk_services_t *svc, const fk_product_t *product);

/* The migration's state as of its last run (FK_MIGRATION_UNKNOWN before
 * fk_services_init). Reads nothing from flash or OTP. */
void fk_services_migration_state(const fk_services_t *svc, fk_migration_status_t *st);

/* An applet moved a deferred secret to the current root (a PIN verifier on
 * a successful check, a new PIN): the migration is looked at again, and
 * finished if that was the last, once the command is over
 * (fk_services_after_command), never inside it. */
void fk_services_migrated(fk_services_t *svc);

/* Called by every endpoint after each command: runs what the command left
 * for later (the migration check above). */
void fk_services_after_command(fk_services_t *svc);

/* The context the services give `applet` outside any endpoint: its store
 * records, no volatile state, no keepalive. */
fk_applet_ctx_t fk_services_applet_ctx(fk_services_t *svc, const fk_applet_t *applet);

/* Reset one applet to its factory state: every record of its namespace, in
 * both partitions, deleted (one atomic range delete per partition, the main
 * partition first). Nothing of any other namespace changes. */
int fk_services_reset_applet(fk_services_t *svc, const fk_applet_t *applet);

/* How long the device waits for the user to confirm presence. */
#define FK_PRESENCE_TIMEOUT_MS 15000u

/* Wait for the user to confirm presence, showing it on the LED and calling
 * keepalive (may be NULL) while waiting: once before the wait starts (so a
 * CTAPHID endpoint sends UPNEEDED at once, also when the port confirms at
 * once), then as the port calls it. FK_HAL_OK, FK_HAL_ETIMEOUT,
 * FK_HAL_EDENIED, or FK_HAL_ECANCELED when the endpoint called the wait off
 * (fk_services_presence_cancel from its keepalive). */
int fk_services_presence(fk_services_t *svc, fk_keepalive_fn keepalive, void *arg);

/* True while fk_services_presence waits for the user (an endpoint's
 * keepalive tells the host "user presence needed" rather than "busy"). */
static inline bool fk_services_presence_waiting(const fk_services_t *svc)
{
    return svc->presence_waiting;
}

/* From an endpoint's keepalive: the request being served was cancelled by
 * the host. A presence wait in progress ends with FK_HAL_ECANCELED; outside
 * a wait nothing happens. */
void fk_services_presence_cancel(fk_services_t *svc);

/* Milliseconds since the device started (fk_services_init): the power-up
 * the FIDO reset window counts from. */
uint64_t fk_services_uptime_ms(const fk_services_t *svc);

#endif /* FUSEKEY_SERVICES_H */
