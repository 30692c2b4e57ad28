/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device.c - the card as a transport sees it: power, ATR, and the APDU
 * dispatcher (parsing, class checks, command chaining, GET RESPONSE, SELECT
 * by AID through the registry), and the start-up migration of sealed
 * secrets to the OTP root through the applets' hooks. It knows nothing
 * about any applet.
 *
 * Flash layout of the data region:
 *
 *   0                     16 sectors                               size
 *   +---------------------+-----------------------------------------+
 *   | counters partition  | main partition                          |
 *   | (retry, usage ctrs) | (keys, certificates, data files, seeds) |
 *   +---------------------+-----------------------------------------+
 */
#include "device.h"

#include <limits.h>
#include <string.h>

#include "seal/seal.h"
#include "util.h"

/* The SmartCard-HSM ATR: T=1, IFSC 254, historical bytes carrying "HSM1".
 * OpenSC and other middleware recognise the card by it (docs/apdu.md). */
static const uint8_t k_atr[] = {0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE,
                                0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D,
                                0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xFA};

#define SW_LEN 2u
#define CLA_RFU_FIRST 0x20u       /* 0x20-0x3F: reserved for future use */
#define CLA_RFU_LAST 0x3Fu
#define CLA_FURTHER_FIRST 0x40u   /* 0x40-0x7F: interindustry, channels 4-19 */
#define CLA_FURTHER_LAST 0x7Fu
#define AID_MIN_PARTIAL 5u        /* shortest right-truncated AID accepted (a RID) */

static void device_migrated(void *arg);

static fk_applet_ctx_t applet_ctx(fk_device_t *dev)
{
    fk_applet_ctx_t ctx = {
        .store = &dev->store,
        .counters = &dev->counters,
        .keepalive = dev->keepalive,
        .keepalive_arg = dev->keepalive_arg,
        .migrated = device_migrated,
        .migrated_arg = dev,
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

/* Run the migration if it is due and record the outcome in dev->migration.
 * Returns false when a hook (or the seed deletion) failed. */
static bool migration_run(fk_device_t *dev)
{
    fk_migration_status_t st = {FK_MIGRATION_UNKNOWN, 0, 0};
    fk_applet_ctx_t ctx;
    fk_root_t root;
    bool seed = false;

    /* A hook that reports progress while the migration runs needs no
     * nested run: the running one counts it. */
    if (dev->migrating) return true;
    if (fk_seal_current_root(&root) != FK_SEAL_OK ||
        fk_seal_device_root_present(&dev->store, &seed) != FK_SEAL_OK)
        goto out;
    if (root != FK_ROOT_OTP) {
        st.state = FK_MIGRATION_NONE;
        goto out;
    }
    if (!seed) {
        st.state = FK_MIGRATION_DONE;
        goto out;
    }

    dev->migrating = true;
    ctx = applet_ctx(dev);
    for (size_t i = 0; i < dev->n_applets; i++) {
        const fk_applet_t *a = dev->applets[i];
        unsigned pending = 0;

        if (a->migrate == NULL) continue;
        if (a->migrate(&ctx, &pending) != FK_SW_OK) st.failed++;
        st.pending = pending > UINT_MAX - st.pending ? UINT_MAX : st.pending + pending;
    }
    dev->migrating = false;

    st.state = FK_MIGRATION_IN_PROGRESS;
    if (st.failed == 0 && st.pending == 0) {
        if (fk_seal_forget_device_root(&dev->store) == FK_SEAL_OK)
            st.state = FK_MIGRATION_DONE;
        else
            st.failed++;
    }
out:
    dev->migration = st;
    return st.failed == 0;
}

/* fk_applet_ctx_t.migrated: a deferred secret moved; finish at once if it
 * was the last one. */
static void device_migrated(void *arg) { (void)migration_run((fk_device_t *)arg); }

void fk_device_migration_state(const fk_device_t *dev, fk_migration_status_t *st)
{
    *st = dev->migration;
}

static void reset_transport_state(fk_device_t *dev)
{
    /* Command and response data may hold PINs or secrets: wipe what was used. */
    fk_wipe(dev->cmd, dev->chain_len);
    fk_wipe(dev->resp, dev->resp_len);
    dev->chaining = false;
    dev->chain_len = 0;
    dev->resp_pending = false;
    dev->resp_len = 0;
    dev->resp_off = 0;
}

int fk_device_init(fk_device_t *dev, const fk_applet_t *const *applets, size_t n_applets)
{
    fk_flash_geometry_t geo;
    fk_hal_flash_geometry(&geo);
    uint32_t counters_size = FK_COUNTERS_SECTORS * geo.sector_size;
    FK_ASSERT(geo.size > 2 * counters_size);

    memset(dev, 0, sizeof(*dev));
    dev->applets = applets;
    dev->n_applets = n_applets;

    if (fk_store_mount(&dev->counters, 0, counters_size) != FK_STORE_OK) return FK_DEVICE_ESTORE;
    if (fk_store_mount(&dev->store, counters_size, geo.size - counters_size) != FK_STORE_OK)
        return FK_DEVICE_ESTORE;
    if (fk_seal_init(&dev->store) != FK_SEAL_OK) return FK_DEVICE_ESEAL;
    /* A failed hook may have met a flash error, which leaves a store
     * unmounted: mount both again (recovering as after a power cut) so the
     * device works with what it has. */
    if (!migration_run(dev) &&
        (fk_store_mount(&dev->counters, 0, counters_size) != FK_STORE_OK ||
         fk_store_mount(&dev->store, counters_size, geo.size - counters_size) != FK_STORE_OK))
        return FK_DEVICE_ESTORE;
    return FK_DEVICE_OK;
}

void fk_device_set_keepalive(fk_device_t *dev, fk_keepalive_fn fn, void *arg)
{
    dev->keepalive = fn;
    dev->keepalive_arg = arg;
}

size_t fk_device_atr(const uint8_t **atr)
{
    *atr = k_atr;
    return sizeof(k_atr);
}

/* Select applet `a` as the result of `cmd` (NULL: implicit selection at
 * power-on). Writes its answer into resp. */
static fk_sw_t select_applet(fk_device_t *dev, const fk_applet_t *a, const fk_apdu_t *cmd,
                             fk_rbuf_t *resp)
{
    fk_applet_ctx_t ctx = applet_ctx(dev);
    fk_sw_t sw = a->select(&ctx, cmd, resp);
    if (sw != FK_SW_OK) return sw; /* a refused SELECT leaves the current applet selected */
    if (dev->selected != NULL && dev->selected != a && dev->selected->deselect != NULL)
        dev->selected->deselect(&ctx);
    dev->selected = a;
    return sw;
}

void fk_device_power_off(fk_device_t *dev)
{
    fk_applet_ctx_t ctx = applet_ctx(dev);
    for (size_t i = 0; i < dev->n_applets; i++) {
        if (dev->applets[i]->power_off != NULL) dev->applets[i]->power_off(&ctx);
    }
    dev->selected = NULL;
    reset_transport_state(dev);
    fk_hal_led(FK_LED_OFF);
}

void fk_device_power_on(fk_device_t *dev)
{
    fk_device_power_off(dev);
    /* The first applet of the registry is selected implicitly, as the default
     * applet of a multi-application card is. */
    if (dev->n_applets > 0) {
        fk_rbuf_t scratch = {dev->resp, 0, sizeof(dev->resp)};
        (void)select_applet(dev, dev->applets[0], NULL, &scratch);
        fk_wipe(dev->resp, scratch.len);
    }
    fk_hal_led(FK_LED_IDLE);
}

/* Find the applet for a SELECT by AID: an exact match first, then the first
 * applet whose AID starts with the given bytes (right-truncated AID). */
static const fk_applet_t *find_applet(const fk_device_t *dev, const uint8_t *aid, size_t len)
{
    for (size_t i = 0; i < dev->n_applets; i++) {
        const fk_applet_t *a = dev->applets[i];
        if (a->aid_len == len && memcmp(a->aid, aid, len) == 0) return a;
    }
    if (len < AID_MIN_PARTIAL) return NULL;
    for (size_t i = 0; i < dev->n_applets; i++) {
        const fk_applet_t *a = dev->applets[i];
        if (a->aid_len > len && memcmp(a->aid, aid, len) == 0) return a;
    }
    return NULL;
}

static bool is_select_by_aid(const fk_apdu_t *cmd)
{
    return (cmd->cla & (uint8_t)~FK_CLA_CHAIN) == FK_CLA_ISO && cmd->ins == FK_INS_SELECT &&
           cmd->p1 == FK_SELECT_P1_AID;
}

/* Run one complete command (after chaining) and leave its response data in
 * dev->resp[0, dev->resp_len). */
static fk_sw_t execute(fk_device_t *dev, const fk_apdu_t *cmd)
{
    fk_rbuf_t resp = {dev->resp, 0, sizeof(dev->resp)};
    fk_sw_t sw;

    if (is_select_by_aid(cmd)) {
        const fk_applet_t *a = cmd->nc ? find_applet(dev, cmd->data, cmd->nc) : NULL;
        if (a == NULL) {
            /* Keep the current applet and its state: other middleware probes
             * foreign AIDs on the same connection. */
            sw = FK_SW_FILE_NOT_FOUND;
        } else {
            sw = select_applet(dev, a, cmd, &resp);
        }
    } else if (dev->selected == NULL) {
        sw = cmd->ins == FK_INS_SELECT ? FK_SW_FILE_NOT_FOUND : FK_SW_INS_NOT_SUPPORTED;
    } else {
        fk_applet_ctx_t ctx = applet_ctx(dev);
        sw = dev->selected->process(&ctx, cmd, &resp);
    }

    /* Data goes with success and warnings only (ISO 7816-4 5.6). */
    uint8_t sw1 = (uint8_t)(sw >> 8);
    if (!(sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63)) {
        fk_wipe(dev->resp, resp.len);
        resp.len = 0;
    }
    dev->resp_len = resp.len;
    dev->resp_off = 0;
    return sw;
}

/* Copy up to `ne` pending response bytes (bounded by the transport's room)
 * to out, followed by SW: `final_sw` when everything went, else 61xx. */
static size_t deliver(fk_device_t *dev, size_t ne, fk_sw_t final_sw, uint8_t *out, size_t out_cap)
{
    size_t left = dev->resp_len - dev->resp_off;
    size_t n = FK_MIN(left, ne);
    n = FK_MIN(n, out_cap - SW_LEN);
    memcpy(out, dev->resp + dev->resp_off, n);
    dev->resp_off += n;
    left -= n;
    fk_sw_t sw = final_sw;
    if (left > 0) {
        dev->resp_pending = true;
        sw = FK_SW_BYTES_REMAINING(left);
    } else {
        dev->resp_pending = false;
        fk_wipe(dev->resp, dev->resp_len);
        dev->resp_len = 0;
        dev->resp_off = 0;
    }
    fk_put_be16(out + n, sw);
    return n + SW_LEN;
}

static size_t status_only(uint8_t *out, fk_sw_t sw)
{
    fk_put_be16(out, sw);
    return SW_LEN;
}

/* Class byte checks common to every applet: logical channels are not
 * supported, 0x20-0x3F and 0xFF are invalid. */
static fk_sw_t check_cla(uint8_t cla)
{
    if (cla == FK_CLA_INVALID) return FK_SW_CLA_NOT_SUPPORTED;
    if (cla >= CLA_RFU_FIRST && cla <= CLA_RFU_LAST) return FK_SW_CLA_NOT_SUPPORTED;
    if (cla >= CLA_FURTHER_FIRST && cla <= CLA_FURTHER_LAST) return FK_SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
    if ((cla & FK_CLA_CHANNEL_MASK) != 0) return FK_SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
    return FK_SW_OK;
}

size_t fk_device_transceive(fk_device_t *dev, const uint8_t *in, size_t len, uint8_t *out,
                            size_t out_cap)
{
    FK_ASSERT(out != NULL && out_cap >= SW_LEN);
    fk_apdu_t cmd;
    fk_sw_t sw = fk_apdu_parse(in, len, &cmd);
    if (sw != FK_SW_OK) {
        reset_transport_state(dev);
        return status_only(out, sw);
    }
    sw = check_cla(cmd.cla);
    if (sw != FK_SW_OK) {
        reset_transport_state(dev);
        return status_only(out, sw);
    }

    fk_hal_led(FK_LED_ACTIVE);

    /* GET RESPONSE continues the pending response; anything else drops it. */
    if (cmd.ins == FK_INS_GET_RESPONSE && !(cmd.cla & FK_CLA_CHAIN) && !dev->chaining) {
        size_t n;
        if (!dev->resp_pending) {
            n = status_only(out, FK_SW_CONDITIONS_NOT_SATISFIED);
        } else if (cmd.p1 != 0 || cmd.p2 != 0) {
            n = status_only(out, FK_SW_WRONG_P1P2);
        } else {
            n = deliver(dev, cmd.ne ? cmd.ne : FK_DEVICE_RESP_MAX, FK_SW_OK, out, out_cap);
        }
        fk_hal_led(FK_LED_IDLE);
        return n;
    }
    if (dev->resp_pending) {
        fk_wipe(dev->resp, dev->resp_len);
        dev->resp_pending = false;
        dev->resp_len = 0;
        dev->resp_off = 0;
    }

    /* Command chaining (ISO 7816-4 5.3.3): collect the links' data. */
    uint8_t base_cla = cmd.cla & (uint8_t)~FK_CLA_CHAIN;
    bool more = (cmd.cla & FK_CLA_CHAIN) != 0;
    if (dev->chaining && (base_cla != dev->chain_cla || cmd.ins != dev->chain_ins ||
                          cmd.p1 != dev->chain_p1 || cmd.p2 != dev->chain_p2)) {
        reset_transport_state(dev);
        fk_hal_led(FK_LED_IDLE);
        return status_only(out, FK_SW_LAST_COMMAND_EXPECTED);
    }
    if (more || dev->chaining) {
        if (cmd.nc > sizeof(dev->cmd) - dev->chain_len) {
            reset_transport_state(dev);
            fk_hal_led(FK_LED_IDLE);
            return status_only(out, FK_SW_WRONG_LENGTH);
        }
        if (cmd.nc) memcpy(dev->cmd + dev->chain_len, cmd.data, cmd.nc);
        dev->chain_len += cmd.nc;
        if (more) {
            dev->chaining = true;
            dev->chain_cla = base_cla;
            dev->chain_ins = cmd.ins;
            dev->chain_p1 = cmd.p1;
            dev->chain_p2 = cmd.p2;
            fk_hal_led(FK_LED_IDLE);
            return status_only(out, FK_SW_OK);
        }
        /* Last link: run the whole command with its Le. */
        cmd.data = dev->chain_len ? dev->cmd : NULL;
        cmd.nc = dev->chain_len;
        dev->chaining = false;
    }
    cmd.cla = base_cla;

    sw = execute(dev, &cmd);
    if (cmd.data == dev->cmd) fk_wipe(dev->cmd, dev->chain_len);
    dev->chain_len = 0;

    /* Ne = 0 (cases 1 and 3) with data available: announce it with 61xx. */
    size_t n = deliver(dev, cmd.ne, sw, out, out_cap);
    fk_hal_led(FK_LED_IDLE);
    return n;
}
