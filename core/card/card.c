/* SPDX-License-Identifier: Apache-2.0 */
/*
 * card.c - one APDU endpoint (card.h): power, ATR, and the dispatcher
 * (parsing, class checks, command chaining, GET RESPONSE, SELECT by AID
 * through the product's applet table). It knows nothing about any applet
 * beyond fk_applet_t, and nothing about the transport that feeds it.
 */
#include "card/card.h"

#include <string.h>

#include "util.h"

#define SW_LEN 2u
#define CLA_RFU_FIRST 0x20u       /* 0x20-0x3F: reserved for future use */
#define CLA_RFU_LAST 0x3Fu
#define CLA_FURTHER_FIRST 0x40u   /* 0x40-0x7F: interindustry, channels 4-19 */
#define CLA_FURTHER_LAST 0x7Fu
#define AID_MIN_PARTIAL 5u        /* shortest right-truncated AID accepted (a RID) */

static size_t align_state(size_t n)
{
    return (n + FK_CARD_STATE_ALIGN - 1u) & ~(size_t)(FK_CARD_STATE_ALIGN - 1u);
}

size_t fk_card_state_size(const fk_product_t *product)
{
    size_t total = 0;
    for (size_t i = 0; i < product->n_applets; i++) total += align_state(product->applets[i]->state_size);
    return total;
}

/* Index of `applet` in the product's table (it must be there). */
static size_t applet_index(const fk_card_t *card, const fk_applet_t *applet)
{
    for (size_t i = 0; i < card->product->n_applets; i++) {
        if (card->product->applets[i] == applet) return i;
    }
    FK_ASSERT(false);
    return 0;
}

static fk_applet_ctx_t ctx_of(fk_card_t *card, size_t i)
{
    const fk_applet_t *a = card->product->applets[i];
    fk_applet_ctx_t ctx = fk_services_applet_ctx(card->svc, a);
    ctx.state = a->state_size > 0 ? card->state + card->state_off[i] : NULL;
    ctx.keepalive = card->keepalive;
    ctx.keepalive_arg = card->keepalive_arg;
    return ctx;
}

fk_applet_ctx_t fk_card_applet_ctx(fk_card_t *card, const fk_applet_t *applet)
{
    return ctx_of(card, applet_index(card, applet));
}

static const fk_applet_t *selected_applet(const fk_card_t *card)
{
    return card->selected == FK_PRODUCT_NO_DEFAULT ? NULL : card->product->applets[card->selected];
}

static void reset_transport_state(fk_card_t *card)
{
    /* Command and response data may hold PINs or secrets: wipe what was used. */
    fk_wipe(card->cmd, card->chain_len);
    fk_wipe(card->resp, card->resp_len);
    card->chaining = false;
    card->chain_len = 0;
    card->resp_pending = false;
    card->resp_len = 0;
    card->resp_off = 0;
}

int fk_card_init(fk_card_t *card, fk_services_t *svc, void *state, size_t state_len)
{
    const fk_product_t *product = svc->product;
    FK_ASSERT(product != NULL && product->n_applets <= FK_PRODUCT_APPLETS_MAX);
    FK_ASSERT(product->default_applet == FK_PRODUCT_NO_DEFAULT ||
              product->default_applet < product->n_applets);
    if (state_len < fk_card_state_size(product)) return FK_CARD_ESTATE;
    if (state_len > 0 && ((uintptr_t)state % FK_CARD_STATE_ALIGN) != 0) return FK_CARD_ESTATE;

    memset(card, 0, sizeof(*card));
    card->svc = svc;
    card->product = product;
    card->state = (uint8_t *)state;
    card->state_len = state_len;
    size_t off = 0;
    for (size_t i = 0; i < product->n_applets; i++) {
        card->state_off[i] = off;
        off += align_state(product->applets[i]->state_size);
    }
    if (state_len > 0) fk_wipe(card->state, state_len);
    card->selected = FK_PRODUCT_NO_DEFAULT;
    return FK_CARD_OK;
}

void fk_card_set_keepalive(fk_card_t *card, fk_keepalive_fn fn, void *arg)
{
    card->keepalive = fn;
    card->keepalive_arg = arg;
}

size_t fk_card_atr(const fk_card_t *card, const uint8_t **atr)
{
    *atr = card->product->atr;
    return card->product->atr_len;
}

/* Select applet i as the result of `cmd` (NULL: implicit selection at
 * power-on). Writes its answer into resp. */
static fk_sw_t select_applet(fk_card_t *card, size_t i, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const fk_applet_t *a = card->product->applets[i];
    const fk_applet_ctx_t ctx = ctx_of(card, i);
    fk_sw_t sw = a->select(&ctx, cmd, resp);
    if (sw != FK_SW_OK) return sw; /* a refused SELECT leaves the current applet selected */
    const fk_applet_t *prev = selected_applet(card);
    if (prev != NULL && prev != a && prev->deselect != NULL) {
        const fk_applet_ctx_t pctx = ctx_of(card, card->selected);
        prev->deselect(&pctx);
    }
    card->selected = i;
    return sw;
}

void fk_card_power_off(fk_card_t *card)
{
    for (size_t i = 0; i < card->product->n_applets; i++) {
        const fk_applet_t *a = card->product->applets[i];
        if (a->power_off != NULL) {
            const fk_applet_ctx_t ctx = ctx_of(card, i);
            a->power_off(&ctx);
        }
    }
    if (card->state_len > 0) fk_wipe(card->state, card->state_len);
    card->selected = FK_PRODUCT_NO_DEFAULT;
    reset_transport_state(card);
    fk_hal_led(FK_LED_OFF);
}

void fk_card_power_on(fk_card_t *card)
{
    fk_card_power_off(card);
    /* The product's default applet is selected implicitly, as the default
     * applet of a multi-application card is. */
    if (card->product->default_applet != FK_PRODUCT_NO_DEFAULT) {
        fk_rbuf_t scratch = {card->resp, 0, sizeof(card->resp)};
        (void)select_applet(card, card->product->default_applet, NULL, &scratch);
        fk_wipe(card->resp, scratch.len);
    }
    fk_hal_led(FK_LED_IDLE);
}

/* Find the applet for a SELECT by AID: an exact match first, then the first
 * applet whose AID starts with the given bytes (right-truncated AID).
 * FK_PRODUCT_NO_DEFAULT when none matches. */
static size_t find_applet(const fk_card_t *card, const uint8_t *aid, size_t len)
{
    const fk_product_t *p = card->product;
    for (size_t i = 0; i < p->n_applets; i++) {
        const fk_applet_t *a = p->applets[i];
        if (a->aid_len == len && memcmp(a->aid, aid, len) == 0) return i;
    }
    if (len < AID_MIN_PARTIAL) return FK_PRODUCT_NO_DEFAULT;
    for (size_t i = 0; i < p->n_applets; i++) {
        const fk_applet_t *a = p->applets[i];
        if (a->aid_len > len && memcmp(a->aid, aid, len) == 0) return i;
    }
    return FK_PRODUCT_NO_DEFAULT;
}

static bool is_select_by_aid(const fk_apdu_t *cmd)
{
    return (cmd->cla & (uint8_t)~FK_CLA_CHAIN) == FK_CLA_ISO && cmd->ins == FK_INS_SELECT &&
           cmd->p1 == FK_SELECT_P1_AID;
}

/* Run one complete command (after chaining) and leave its response data in
 * card->resp[0, card->resp_len). */
static fk_sw_t execute(fk_card_t *card, const fk_apdu_t *cmd)
{
    fk_rbuf_t resp = {card->resp, 0, sizeof(card->resp)};
    fk_sw_t sw;

    if (is_select_by_aid(cmd)) {
        const size_t i = cmd->nc ? find_applet(card, cmd->data, cmd->nc) : FK_PRODUCT_NO_DEFAULT;
        if (i == FK_PRODUCT_NO_DEFAULT) {
            /* Keep the current applet and its state: other middleware probes
             * foreign AIDs on the same connection. */
            sw = FK_SW_FILE_NOT_FOUND;
        } else {
            sw = select_applet(card, i, cmd, &resp);
        }
    } else if (selected_applet(card) == NULL) {
        sw = cmd->ins == FK_INS_SELECT ? FK_SW_FILE_NOT_FOUND : FK_SW_INS_NOT_SUPPORTED;
    } else {
        const fk_applet_ctx_t ctx = ctx_of(card, card->selected);
        sw = selected_applet(card)->process(&ctx, cmd, &resp);
    }

    /* Data goes with success and warnings only (ISO 7816-4 5.6). */
    const uint8_t sw1 = (uint8_t)(sw >> 8);
    bool keep = sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
    /* No Le (cases 1 and 3): an applet that follows ISO 7816-4 strictly
     * answers the status alone. */
    const fk_applet_t *a = selected_applet(card);
    if (cmd->ne == 0 && a != NULL && a->no_le == FK_NO_LE_DROP) keep = false;
    if (!keep) {
        fk_wipe(card->resp, resp.len);
        resp.len = 0;
    }
    card->resp_len = resp.len;
    card->resp_off = 0;
    return sw;
}

/* Copy up to `ne` pending response bytes (bounded by the transport's room)
 * to out, followed by SW: `final_sw` when everything went, else 61xx. */
static size_t deliver(fk_card_t *card, size_t ne, fk_sw_t final_sw, uint8_t *out, size_t out_cap)
{
    size_t left = card->resp_len - card->resp_off;
    size_t n = FK_MIN(left, ne);
    n = FK_MIN(n, out_cap - SW_LEN);
    memcpy(out, card->resp + card->resp_off, n);
    card->resp_off += n;
    left -= n;
    fk_sw_t sw = final_sw;
    if (left > 0) {
        card->resp_pending = true;
        sw = FK_SW_BYTES_REMAINING(left);
    } else {
        card->resp_pending = false;
        fk_wipe(card->resp, card->resp_len);
        card->resp_len = 0;
        card->resp_off = 0;
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

uint8_t *fk_card_rx_area(fk_card_t *card, size_t *cap)
{
    FK_ASSERT(card->chain_len <= FK_CARD_CMD_MAX);
    *cap = sizeof card->cmd - card->chain_len;
    return card->cmd + card->chain_len;
}

static size_t transceive(fk_card_t *card, const uint8_t *in, size_t len, uint8_t *out,
                         size_t out_cap)
{
    fk_apdu_t cmd;
    fk_sw_t sw = fk_apdu_parse(in, len, &cmd);
    if (sw != FK_SW_OK) {
        reset_transport_state(card);
        return status_only(out, sw);
    }
    sw = check_cla(cmd.cla);
    if (sw != FK_SW_OK) {
        reset_transport_state(card);
        return status_only(out, sw);
    }

    fk_hal_led(FK_LED_ACTIVE);

    /* GET RESPONSE continues the pending response; anything else drops it. */
    if (cmd.ins == FK_INS_GET_RESPONSE && !(cmd.cla & FK_CLA_CHAIN) && !card->chaining) {
        size_t n;
        if (!card->resp_pending) {
            n = status_only(out, FK_SW_CONDITIONS_NOT_SATISFIED);
        } else if (cmd.p1 != 0 || cmd.p2 != 0) {
            n = status_only(out, FK_SW_WRONG_P1P2);
        } else {
            n = deliver(card, cmd.ne ? cmd.ne : FK_CARD_RESP_MAX, FK_SW_OK, out, out_cap);
        }
        fk_hal_led(FK_LED_IDLE);
        return n;
    }
    if (card->resp_pending) {
        fk_wipe(card->resp, card->resp_len);
        card->resp_pending = false;
        card->resp_len = 0;
        card->resp_off = 0;
    }

    /* Command chaining (ISO 7816-4 5.3.3): collect the links' data. */
    uint8_t base_cla = cmd.cla & (uint8_t)~FK_CLA_CHAIN;
    bool more = (cmd.cla & FK_CLA_CHAIN) != 0;
    if (card->chaining && (base_cla != card->chain_cla || cmd.ins != card->chain_ins ||
                           cmd.p1 != card->chain_p1 || cmd.p2 != card->chain_p2)) {
        reset_transport_state(card);
        fk_hal_led(FK_LED_IDLE);
        return status_only(out, FK_SW_LAST_COMMAND_EXPECTED);
    }
    if (more || card->chaining) {
        if (cmd.nc > FK_CARD_CMD_MAX - card->chain_len) {
            reset_transport_state(card);
            fk_hal_led(FK_LED_IDLE);
            return status_only(out, FK_SW_WRONG_LENGTH);
        }
        /* memmove: a link received in the card's own receive area lies in
         * cmd, just after the data chained so far. */
        if (cmd.nc) memmove(card->cmd + card->chain_len, cmd.data, cmd.nc);
        card->chain_len += cmd.nc;
        if (more) {
            card->chaining = true;
            card->chain_cla = base_cla;
            card->chain_ins = cmd.ins;
            card->chain_p1 = cmd.p1;
            card->chain_p2 = cmd.p2;
            fk_hal_led(FK_LED_IDLE);
            return status_only(out, FK_SW_OK);
        }
        /* Last link: run the whole command with its Le. */
        cmd.data = card->chain_len ? card->cmd : NULL;
        cmd.nc = card->chain_len;
        card->chaining = false;
    }
    cmd.cla = base_cla;

    sw = execute(card, &cmd);
    if (cmd.data == card->cmd) fk_wipe(card->cmd, card->chain_len);
    card->chain_len = 0;
    fk_services_after_command(card->svc);

    /* Ne = 0 (cases 1 and 3) with data kept: announce it with 61xx, or
     * send it as it is for an applet whose clients expect that. */
    size_t ne = cmd.ne;
    const fk_applet_t *a = selected_applet(card);
    if (ne == 0 && a != NULL && a->no_le == FK_NO_LE_SEND) ne = FK_CARD_RESP_MAX;
    size_t n = deliver(card, ne, sw, out, out_cap);
    fk_hal_led(FK_LED_IDLE);
    return n;
}

size_t fk_card_transceive(fk_card_t *card, const uint8_t *in, size_t len, uint8_t *out,
                          size_t out_cap)
{
    FK_ASSERT(out != NULL && out_cap >= SW_LEN);
    const uintptr_t base = (uintptr_t)card->cmd, at = (uintptr_t)in;
    const bool in_rx_area = at >= base && at < base + sizeof card->cmd;
    FK_ASSERT(!in_rx_area || len <= sizeof card->cmd - (at - base));
    const size_t n = transceive(card, in, len, out, out_cap);
    /* An APDU received in the receive area (fk_card_rx_area) is wiped once
     * done with, as a transport wipes its own buffer: everything past the
     * chained data the card still keeps. */
    if (in_rx_area) {
        const size_t end = (size_t)(at - base) + len;
        if (end > card->chain_len) fk_wipe(card->cmd + card->chain_len, end - card->chain_len);
    }
    return n;
}
