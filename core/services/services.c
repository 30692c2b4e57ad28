/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services.c - the services object (services.h): the store partitions,
 * sealing and the start-up migration to the OTP root through the applets'
 * hooks, user presence and the clock.
 *
 * Flash layout of the data region:
 *
 *   0                     16 sectors                               size
 *   +---------------------+-----------------------------------------+
 *   | counters partition  | main partition                          |
 *   | (retry, usage ctrs) | (keys, certificates, data files, seeds) |
 *   +---------------------+-----------------------------------------+
 */
#include "services/services.h"

#include <limits.h>
#include <string.h>

#include "seal/seal.h"
#include "services/ns.h"
#include "util.h"

fk_applet_ctx_t fk_services_applet_ctx(fk_services_t *svc, const fk_applet_t *applet)
{
    FK_ASSERT(applet->ns != FK_NS_SERVICES && applet->ns <= FK_STORE_NS_MAX);
    fk_applet_ctx_t ctx = {
        .svc = svc,
        .space = {&svc->store, applet->ns},
        .counters = {&svc->counters, applet->ns},
        .state = NULL,
        .keepalive = NULL,
        .keepalive_arg = NULL,
    };
    return ctx;
}

/* ---- Migration to the OTP root (docs/migration.md) -------------------------
 * Due when the current root is OTP and the device seed still exists. Every
 * applet's hook moves what it sealed (one atomic store write per record,
 * idempotent) and counts what only a later event can move (a PIN verifier
 * needs its PIN). When every hook succeeded and nothing is pending, the seed
 * is deleted in one atomic store delete: from then on nothing of the old
 * root is left. Whatever fails keeps the seed, and the next run retries. */

/* Run the migration if it is due and record the outcome in svc->migration.
 * Returns false when a hook (or the seed deletion) failed. */
static bool migration_run(fk_services_t *svc)
{
    fk_migration_status_t st = {FK_MIGRATION_UNKNOWN, 0, 0};
    fk_root_t root;
    bool seed = false, retired = true;

    if (fk_seal_current_root(&root) != FK_SEAL_OK ||
        fk_seal_device_root_present(&svc->store, &seed) != FK_SEAL_OK ||
        fk_seal_device_root_retired(&retired) != FK_SEAL_OK)
        goto out;
    if (root != FK_ROOT_OTP) {
        st.state = FK_MIGRATION_NONE;
        goto out;
    }
    if (!seed) {
        st.state = FK_MIGRATION_DONE;
        goto out;
    }
    if (retired) {
        /* The key page is locked: nothing of the device root ever opens
         * again, so a seed here (put back by a flash writer) opens nothing
         * and moves nothing. It goes; no hook runs over records planted
         * with it. */
        st.state = FK_MIGRATION_IN_PROGRESS;
        if (fk_seal_forget_device_root(&svc->store) == FK_SEAL_OK)
            st.state = FK_MIGRATION_DONE;
        else
            st.failed++;
        goto out;
    }

    svc->migrating = true;
    for (size_t i = 0; i < svc->product->n_applets; i++) {
        const fk_applet_t *a = svc->product->applets[i];
        unsigned pending = 0;

        if (a->migrate == NULL) continue;
        const fk_applet_ctx_t ctx = fk_services_applet_ctx(svc, a);
        if (a->migrate(&ctx, &pending) != FK_SW_OK) st.failed++;
        st.pending = pending > UINT_MAX - st.pending ? UINT_MAX : st.pending + pending;
    }
    svc->migrating = false;

    st.state = FK_MIGRATION_IN_PROGRESS;
    if (st.failed == 0 && st.pending == 0) {
        if (fk_seal_forget_device_root(&svc->store) == FK_SEAL_OK)
            st.state = FK_MIGRATION_DONE;
        else
            st.failed++;
    }
out:
    svc->migration = st;
    return st.failed == 0;
}

void fk_services_migrated(fk_services_t *svc)
{
    /* Progress reported while the migration runs is counted by that run. */
    if (!svc->migrating) svc->migration_recheck = true;
}

void fk_services_after_command(fk_services_t *svc)
{
    if (!svc->migration_recheck) return;
    svc->migration_recheck = false;
    (void)migration_run(svc);
}

void fk_services_migration_state(const fk_services_t *svc, fk_migration_status_t *st)
{
    *st = svc->migration;
}

/* Mount both partitions of the data region. */
static int mount_stores(fk_services_t *svc)
{
    fk_flash_geometry_t geo;
    fk_hal_flash_geometry(&geo);
    const uint32_t counters_size = FK_COUNTERS_SECTORS * geo.sector_size;
    FK_ASSERT(geo.size > 2 * counters_size);

    if (fk_store_mount(&svc->counters, 0, counters_size) != FK_STORE_OK ||
        fk_store_mount(&svc->store, counters_size, geo.size - counters_size) != FK_STORE_OK)
        return FK_SERVICES_ESTORE;
    return FK_SERVICES_OK;
}

int fk_services_init(fk_services_t *svc, const fk_product_t *product)
{
    FK_ASSERT(product != NULL && product->n_applets <= FK_PRODUCT_APPLETS_MAX);
    memset(svc, 0, sizeof(*svc));
    svc->product = product;
    svc->boot_ms = fk_hal_millis();
    fk_rtc_init(&svc->rtc);

    int rc = mount_stores(svc);
    if (rc != FK_SERVICES_OK) return rc;
    svc->seal_rc = fk_seal_init(&svc->store, &svc->seal_info);
    const bool repair_failed = svc->seal_info.seed_damaged && !svc->seal_info.seed_repaired;
    if (svc->seal_rc == FK_SEAL_ESTORE || repair_failed) {
        /* A flash error leaves the store unmounted; a damaged seed stays
         * damaged. Either way start with what there is (see services.h). */
        rc = mount_stores(svc);
        if (rc != FK_SERVICES_OK) return rc;
    } else if (svc->seal_rc != FK_SEAL_OK) {
        return FK_SERVICES_ESEAL;
    }
    /* A failed hook may have met a flash error, which leaves a store
     * unmounted: mount both again (recovering as after a power cut) so the
     * device works with what it has. */
    if (!migration_run(svc)) return mount_stores(svc);
    return FK_SERVICES_OK;
}

int fk_services_reset_applet(fk_services_t *svc, const fk_applet_t *applet)
{
    const fk_applet_ctx_t ctx = fk_services_applet_ctx(svc, applet);
    int rc = fk_space_wipe(&ctx.space);
    if (rc == FK_STORE_OK) rc = fk_space_wipe(&ctx.counters);
    return rc == FK_STORE_OK ? FK_SERVICES_OK : FK_SERVICES_ESTORE;
}

int fk_services_presence(fk_services_t *svc, fk_keepalive_fn keepalive, void *arg)
{
    svc->presence_waiting = true;
    svc->presence_cancel = false;
    fk_hal_led(FK_LED_PRESENCE);
    if (keepalive != NULL) keepalive(arg);
    const int rc = svc->presence_cancel
                       ? FK_HAL_ECANCELED
                       : fk_hal_presence_wait(FK_PRESENCE_TIMEOUT_MS, keepalive, arg);
    fk_hal_led(FK_LED_ACTIVE);
    svc->presence_waiting = false;
    svc->presence_cancel = false;
    return rc;
}

void fk_services_presence_cancel(fk_services_t *svc)
{
    if (!svc->presence_waiting) return;
    svc->presence_cancel = true;
    fk_hal_presence_abort();
}

uint64_t fk_services_uptime_ms(const fk_services_t *svc)
{
    return fk_hal_millis() - svc->boot_ms;
}
