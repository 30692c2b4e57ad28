/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctap_ep.c - the CTAP endpoint: CTAPHID messages to the FIDO applet's APDU
 * entry (ctap_ep.h).
 */
#include "ctap_ep.h"

#include <string.h>

#include "util.h"

/* The NFCCTAP_MSG header the applet takes CBOR messages in (fido.h). */
#define EP_CLA_NFCCTAP 0x80u
#define EP_INS_NFCCTAP_MSG 0x10u
#define EP_SW_LEN 2u
#define EP_CTAP1_ERR_OTHER 0x7Fu

/* A U2F request APDU. U2F's extended encoding (raw message formats v1.2)
 * keeps its three-byte Lc when there is no data: python-fido2 sends
 * VERSION as 00 03 00 00 | 00 00 00 | 00 00, a form ISO 7816 does not have
 * (the APDU layer refuses an Lc of zero). It is read as the extended case 2
 * it means; every other request goes through the APDU layer unchanged. */
static fk_sw_t ep_parse_u2f(const uint8_t *req, size_t len, fk_apdu_t *apdu)
{
    if (len == 9u && req[4] == 0u && req[5] == 0u && req[6] == 0u) {
        const uint8_t case2e[7] = {req[0], req[1], req[2], req[3], 0u, req[7], req[8]};
        return fk_apdu_parse(case2e, sizeof case2e, apdu); /* no data to point at */
    }
    return fk_apdu_parse(req, len, apdu);
}

/* ---- The transport's callbacks, forwarded (the layer's user is ep) ---- */

static void ep_send(void *user, const uint8_t report[FK_CTAPHID_REPORT])
{
    const fk_ctap_ep_t *ep = user;
    ep->io.send(ep->io.user, report);
}

static uint32_t ep_clock(void *user)
{
    const fk_ctap_ep_t *ep = user;
    return ep->io.clock(ep->io.user);
}

static void ep_wink(void *user)
{
    const fk_ctap_ep_t *ep = user;
    if (ep->io.wink != NULL) ep->io.wink(ep->io.user);
}

static bool ep_pull(void *user, uint8_t report[FK_CTAPHID_REPORT])
{
    const fk_ctap_ep_t *ep = user;
    return ep->io.pull != NULL && ep->io.pull(ep->io.user, report);
}

/* While the applet works: a KEEPALIVE for the host, then whatever the host
 * sent meanwhile; a CANCEL calls off the presence wait. */
static void ep_keepalive(void *arg)
{
    fk_ctap_ep_t *ep = arg;
    const uint8_t status = fk_services_presence_waiting(ep->svc) ? FK_CTAPHID_STATUS_UPNEEDED
                                                                  : FK_CTAPHID_STATUS_PROCESSING;
    (void)fk_ctaphid_keepalive(&ep->hid, status);
    if (fk_ctaphid_poll_cancel(&ep->hid)) fk_services_presence_cancel(ep->svc);
}

static fk_applet_ctx_t ep_ctx(fk_ctap_ep_t *ep)
{
    fk_applet_ctx_t ctx = fk_services_applet_ctx(ep->svc, ep->applet);
    ctx.state = ep->state;
    ctx.keepalive = ep_keepalive;
    ctx.keepalive_arg = ep;
    return ctx;
}

static int ep_handler(void *user, fk_ctaphid_t *hid, uint8_t cmd, const uint8_t *req, size_t len,
                      uint8_t *resp, size_t cap)
{
    (void)hid;
    fk_ctap_ep_t *ep = user;
    const fk_applet_ctx_t ctx = ep_ctx(ep);
    FK_ASSERT(cap >= EP_SW_LEN);
    fk_rbuf_t out = {.p = resp, .len = 0, .cap = cap};
    int n;
    if (cmd == FK_CTAPHID_CBOR) {
        const fk_apdu_t apdu = {
            .cla = EP_CLA_NFCCTAP,
            .ins = EP_INS_NFCCTAP_MSG,
            .p1 = 0x00,
            .p2 = 0x00,
            .data = req,
            .nc = len,
            .ne = FK_CTAPHID_MAX_MSG,
            .extended = true,
        };
        const fk_sw_t sw = ep->applet->process(&ctx, &apdu, &out);
        if (sw != FK_SW_OK || out.len == 0u) {
            fk_wipe(resp, cap);
            resp[0] = EP_CTAP1_ERR_OTHER;
            n = 1;
        } else {
            n = (int)out.len;
        }
    } else {
        /* MSG: a U2F request APDU (CTAP 2.1 §11.2.9.1.1), answered with
         * data || SW1 SW2. Only the U2F class (CLA 00) is served here. */
        fk_apdu_t apdu;
        fk_sw_t sw = ep_parse_u2f(req, len, &apdu);
        out.cap = cap - EP_SW_LEN;
        if (sw == FK_SW_OK) {
            sw = apdu.cla == 0x00u ? ep->applet->process(&ctx, &apdu, &out)
                                   : FK_SW_CLA_NOT_SUPPORTED;
        }
        if (sw != FK_SW_OK) {
            fk_wipe(resp, out.len);
            out.len = 0;
        }
        resp[out.len] = (uint8_t)(sw >> 8);
        resp[out.len + 1u] = (uint8_t)sw;
        n = (int)(out.len + EP_SW_LEN);
    }
    fk_services_after_command(ep->svc);
    return n;
}

int fk_ctap_ep_init(fk_ctap_ep_t *ep, fk_services_t *svc, const fk_applet_t *applet, void *state,
                    size_t state_len, const fk_ctap_ep_config_t *cfg)
{
    FK_ASSERT(cfg != NULL && cfg->send != NULL && cfg->clock != NULL);
    if (state == NULL || ((uintptr_t)state % 8u) != 0u || state_len < applet->state_size)
        return FK_CTAP_EP_ESTATE;
    memset(ep, 0, sizeof *ep);
    ep->svc = svc;
    ep->applet = applet;
    ep->state = state;
    ep->state_len = state_len;
    ep->io = *cfg;
    const fk_ctaphid_config_t hc = {
        .send = ep_send,
        .clock = ep_clock,
        .handler = ep_handler,
        .wink = ep_wink,
        .pull = ep_pull,
        .user = ep,
        .version_major = 0,
        .version_minor = 1,
        .version_build = 0,
        .first_cid = 0,
    };
    fk_ctaphid_init(&ep->hid, &hc);
    fk_ctap_ep_power_on(ep);
    return FK_CTAP_EP_OK;
}

void fk_ctap_ep_rx(fk_ctap_ep_t *ep, const uint8_t report[FK_CTAPHID_REPORT])
{
    fk_ctaphid_rx(&ep->hid, report);
}

void fk_ctap_ep_tick(fk_ctap_ep_t *ep) { fk_ctaphid_tick(&ep->hid); }

void fk_ctap_ep_power_on(fk_ctap_ep_t *ep)
{
    fk_ctaphid_reset(&ep->hid);
    fk_wipe(ep->state, ep->state_len);
}

void fk_ctap_ep_power_off(fk_ctap_ep_t *ep) { fk_ctap_ep_power_on(ep); }
