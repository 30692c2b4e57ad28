/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_admin.c - `fusekey hsm` commands that manage the device rather than
 * its keys: status, initialize (with every option of INITIALIZE DEVICE), the
 * user PIN and SO-PIN, the clock (through the rescue applet, as pico does it)
 * and the device certificate chain in 2F02 (show with verified signatures,
 * enroll = the device's request CE00 for an external CA, install an issued
 * chain).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apdu.h"
#include "cvc.h"
#include "hsm_tool.h"
#include "rescue.h"
#include "tlv.h"
#include "util.h"

#define INS_INITIALIZE 0x50u
#define INS_MANAGE_DKEK 0x52u
#define PIN_USER 0x81u
#define PIN_SO 0x88u
#define SO_PIN_LEN 8u
#define USER_PIN_MIN 6u
#define USER_PIN_MAX 16u
#define RETRIES_DEFAULT 3u
#define RETRIES_MAX 10u
#define FID_DEVAUT 0x2F02u
#define FID_TOKENINFO 0x2F03u
#define FID_DEVICE_REQUEST 0xCE00u
#define CHAIN_MAX 8u
#define RTC_EPOCH_MAX 4102444799u /* 2099-12-31 23:59:59, the device's range */

#define OPT_RRC 0x0001u
#define OPT_TRANSPORT 0x0002u
#define OPT_RRC_COUNTER_ONLY 0x0020u
#define OPT_PRESS_TO_CONFIRM 0x0100u
#define OPT_USE_COUNTERS 0x0200u

/* ---- Options of the device ---------------------------------------------------------- */

static const struct {
    uint16_t bit;
    const char *name;
} k_option_names[] = {
    {0x0001, "reset-retry-counter"}, {0x0002, "transport-pin"},  {0x0004, "session-pin"},
    {0x0008, "pka-replaceable"},     {0x0010, "pin-and-pka"},    {0x0020, "unblock-counter-only"},
    {0x0100, "press-to-confirm"},    {0x0200, "key-use-counters"}, {0x0400, "secure-lock"},
};

/* "reset-retry-counter, press-to-confirm" into buf. */
static const char *options_text(uint16_t o, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_option_names); i++) {
        if ((o & k_option_names[i].bit) == 0u) continue;
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0u, "%s%s", n ? ", " : "", k_option_names[i].name);
    }
    if (n == 0u) (void)snprintf(buf, cap, "none");
    return buf;
}

static void json_options(hsm_run_t *h, uint16_t o)
{
    hj_uint(&h->js, "options", o);
    hj_begin_array(&h->js, "option_names");
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_option_names); i++)
        if ((o & k_option_names[i].bit) != 0u) hj_string(&h->js, NULL, k_option_names[i].name);
    hj_end_array(&h->js);
}

/* ---- PIN states ------------------------------------------------------------------------ */

static const char *pin_state_text(const hsm_pin_state_t *st, char *buf, size_t cap)
{
    if (!st->initialized) (void)snprintf(buf, cap, "not set (device not initialized)");
    else if (st->blocked) (void)snprintf(buf, cap, "blocked");
    else if (st->transport) (void)snprintf(buf, cap, "transport PIN: to be changed before use");
    else if (st->verified) (void)snprintf(buf, cap, "verified in this session");
    else if (st->tries >= 0) (void)snprintf(buf, cap, "%d tries left", st->tries);
    else (void)snprintf(buf, cap, "unknown (%04X)", st->sw);
    return buf;
}

static void json_pin(hsm_run_t *h, const char *key, const hsm_pin_state_t *st)
{
    hj_begin_object(&h->js, key);
    hj_bool(&h->js, "initialized", st->initialized);
    hj_bool(&h->js, "blocked", st->blocked);
    hj_bool(&h->js, "transport", st->transport);
    hj_bool(&h->js, "verified", st->verified);
    if (st->tries >= 0) hj_int(&h->js, "tries_left", st->tries);
    else hj_null(&h->js, "tries_left");
    hj_end_object(&h->js);
}

/* ---- The device certificate ------------------------------------------------------------ */

/* Characters of a CAR/CHR span as a C string. */
static void ref_text(const fk_bytes_t *b, char *out, size_t cap)
{
    const size_t n = FK_MIN(b->len, cap - 1u);
    memcpy(out, b->p, n);
    out[n] = '\0';
}

/* "2026-01-01" from six date digits. */
static void date_text(const fk_bytes_t *b, char *out, size_t cap)
{
    if (b->len != FK_CVC_DATE_LEN) {
        (void)snprintf(out, cap, "-");
        return;
    }
    (void)snprintf(out, cap, "20%u%u-%u%u-%u%u", b->p[0], b->p[1], b->p[2], b->p[3], b->p[4], b->p[5]);
}

/* A chain of CV certificates: parsed in order. */
typedef struct chain {
    fk_cvc_t c[CHAIN_MAX];
    unsigned n;
} chain_t;

static int chain_parse(hsm_run_t *h, const uint8_t *buf, size_t len, chain_t *ch)
{
    size_t off = 0;
    ch->n = 0;
    while (off < len) {
        if (ch->n >= CHAIN_MAX) return hsm_fail(h, "more than %u certificates in the chain", CHAIN_MAX);
        if (fk_cvc_parse(buf + off, len - off, &ch->c[ch->n]) != FK_CVC_OK)
            return hsm_fail(h, "certificate %u of the chain (at byte %zu) is not a well-formed CV "
                               "certificate (7F21)", ch->n + 1u, off);
        off += ch->c[ch->n].cert.len;
        ch->n++;
    }
    if (ch->n == 0u) return hsm_fail(h, "the chain is empty");
    return FK_TOOL_EXIT_OK;
}

/* The key algorithm of a certificate as words. */
static void key_text(const fk_cvc_t *c, const fk_pk_public_t *pub, char *out, size_t cap)
{
    if (pub->type == FK_PK_RSA) {
        (void)snprintf(out, cap, "RSA-%zu", 8u * pub->n.len);
        return;
    }
    for (const hsm_curve_t *const *cv = hsm_curves(); *cv != NULL; cv++) {
        if ((*cv)->id == pub->curve && (*cv)->family != HSM_KEY_ED) {
            (void)snprintf(out, cap, "EC %s", (*cv)->name);
            return;
        }
    }
    (void)c;
    (void)snprintf(out, cap, "unknown");
}

/* Verify certificate i of the chain: issued by the certificate whose CHR is
 * its CAR (in the chain), or self-signed. Fills *issuer_index (-1 when the
 * issuer is not in the chain). Returns FK_CVC_OK, FK_CVC_EVERIFY, or another
 * error (no issuer: FK_CVC_EUNSUPPORTED). */
static int verify_in_chain(const chain_t *ch, unsigned i, const fk_curve_t *curves, int *issuer_index)
{
    const fk_cvc_t *c = &ch->c[i];
    *issuer_index = -1;
    for (unsigned k = 0; k < ch->n; k++) {
        const fk_cvc_t *is = &ch->c[k];
        if (is->chr.len != c->car.len || memcmp(is->chr.p, c->car.p, c->car.len) != 0) continue;
        fk_pk_public_t pub;
        fk_cvc_alg_t alg;
        const fk_curve_t inherited = k + 1u < ch->n ? curves[k + 1u] : FK_CURVE_NONE;
        if (fk_cvc_public_key(is, inherited, &pub, &alg) != FK_CVC_OK) return FK_CVC_EUNSUPPORTED;
        *issuer_index = (int)k;
        return fk_cvc_verify(c, &pub, &alg);
    }
    return FK_CVC_EUNSUPPORTED;
}

/* Print (and put into JSON) a chain; returns FK_TOOL_EXIT_OK when every
 * certificate verifies against an issuer in the chain, 1 otherwise. */
static int show_chain(hsm_run_t *h, const chain_t *ch)
{
    fk_curve_t curves[CHAIN_MAX] = {FK_CURVE_NONE};
    int rc = FK_TOOL_EXIT_OK;
    /* Curves from the end, so that a certificate without domain parameters
     * inherits its issuer's. */
    for (unsigned k = ch->n; k-- > 0;) {
        fk_pk_public_t pub;
        fk_cvc_alg_t alg;
        const fk_curve_t inh = k + 1u < ch->n ? curves[k + 1u] : FK_CURVE_NONE;
        if (fk_cvc_public_key(&ch->c[k], inh, &pub, &alg) == FK_CVC_OK) curves[k] = pub.curve;
    }
    if (h->json) hj_begin_array(&h->js, "certificates");
    for (unsigned i = 0; i < ch->n; i++) {
        const fk_cvc_t *c = &ch->c[i];
        char car[FK_CVC_CHR_MAX + 1], chr[FK_CVC_CHR_MAX + 1], eff[32], exp[32], key[48];
        fk_pk_public_t pub;
        fk_cvc_alg_t alg;
        ref_text(&c->car, car, sizeof car);
        ref_text(&c->chr, chr, sizeof chr);
        date_text(&c->effective, eff, sizeof eff);
        date_text(&c->expiry, exp, sizeof exp);
        const fk_curve_t inh = i + 1u < ch->n ? curves[i + 1u] : FK_CURVE_NONE;
        if (fk_cvc_public_key(c, inh, &pub, &alg) == FK_CVC_OK) key_text(c, &pub, key, sizeof key);
        else (void)snprintf(key, sizeof key, "unsupported");
        int issuer = -1;
        const int v = verify_in_chain(ch, i, curves, &issuer);
        const char *verdict = v == FK_CVC_OK ? "valid" : v == FK_CVC_EVERIFY ? "INVALID" : "not verifiable";
        if (v != FK_CVC_OK) rc = FK_TOOL_EXIT_FAIL;
        const bool self = issuer == (int)i;
        hsm_say(h, "certificate %u: CHR %s, CAR %s%s", i + 1u, chr, car, self ? " (self-signed)" : "");
        hsm_say(h, "  key: %s; valid from %s to %s", key, eff, exp);
        if (issuer < 0) {
            hsm_say(h, "  signature: %s (issuer %s is not in the chain)", verdict, car);
        } else {
            hsm_say(h, "  signature: %s (checked with the key of %s)", verdict, self ? "itself" : car);
        }
        if (h->json) {
            hj_begin_object(&h->js, NULL);
            hj_string(&h->js, "chr", chr);
            hj_string(&h->js, "car", car);
            hj_string(&h->js, "key", key);
            hj_string(&h->js, "effective", eff);
            hj_string(&h->js, "expiry", exp);
            hj_bool(&h->js, "self_signed", self);
            hj_string(&h->js, "signature", v == FK_CVC_OK ? "valid" : v == FK_CVC_EVERIFY ? "invalid" : "unverifiable");
            hj_end_object(&h->js);
        }
    }
    if (h->json) hj_end_array(&h->js);
    return rc;
}

/* ---- status ------------------------------------------------------------------------------- */

int hsm_cmd_status(hsm_run_t *h)
{
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    char ob[256], b1[64], b2[64];
    hsm_pin_state_t user, so;
    if (hsm_pin_state(h, PIN_USER, &user) != FK_TOOL_EXIT_OK || hsm_pin_state(h, PIN_SO, &so) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    hsm_say(h, "card: SmartCard-HSM applet version %u.%u", h->major, h->minor);
    hsm_say(h, "options: %04X (%s)", h->options, options_text(h->options, ob, sizeof ob));
    hsm_say(h, "initialized: %s", user.initialized ? "yes" : "no (`fusekey hsm initialize`)");
    hsm_say(h, "user PIN: %s", pin_state_text(&user, b1, sizeof b1));
    hsm_say(h, "SO-PIN: %s", pin_state_text(&so, b2, sizeof b2));
    if (h->json) {
        char v[8];
        (void)snprintf(v, sizeof v, "%u.%u", h->major, h->minor);
        hj_string(&h->js, "version", v);
        json_options(h, h->options);
        hj_bool(&h->js, "initialized", user.initialized);
        json_pin(h, "user_pin", &user);
        json_pin(h, "so_pin", &so);
    }
    /* DKEK of domain 0 */
    if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, 0x00, 0x00, NULL, 0, 256) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw == FK_SW_OK && h->resp_len >= 10u) {
        const uint8_t *r = h->resp;
        if (r[0] == 0u) {
            hsm_say(h, "DKEK: none configured");
        } else if (r[1] > 0u) {
            hsm_say(h, "DKEK: %u share(s), import pending, %u still missing", r[0], r[1]);
        } else {
            hsm_say(h, "DKEK: %u share(s), key check value %02X%02X%02X%02X%02X%02X%02X%02X", r[0], r[2],
                    r[3], r[4], r[5], r[6], r[7], r[8], r[9]);
        }
        if (h->json) {
            hj_begin_object(&h->js, "dkek");
            hj_uint(&h->js, "shares", r[0]);
            hj_uint(&h->js, "outstanding", r[1]);
            hj_hex(&h->js, "kcv", r + 2, 8);
            hj_end_object(&h->js);
        }
    } else {
        char b[160];
        hsm_say(h, "DKEK: not available (%s)", hsm_sw_text(h->sw, b, sizeof b));
        if (h->json) hj_null(&h->js, "dkek");
    }
    /* The device certificate */
    uint8_t *chain = NULL;
    size_t chain_len = 0;
    const int rrc = hsm_file_read(h, FID_DEVAUT, &chain, &chain_len);
    if (rrc == FK_TOOL_EXIT_FAIL) return FK_TOOL_EXIT_FAIL;
    fk_cvc_t dev;
    if (rrc == 0 && fk_cvc_parse(chain, chain_len, &dev) == FK_CVC_OK) {
        char chr[FK_CVC_CHR_MAX + 1];
        ref_text(&dev.chr, chr, sizeof chr);
        const size_t serial = dev.chr.len > 5u ? dev.chr.len - 5u : 0u;
        hsm_say(h, "device: %s (token serial %.*s)", chr, (int)serial, chr);
        if (h->json) hj_string(&h->js, "device_chr", chr);
    } else {
        hsm_say(h, "device: no device certificate in 2F02");
        if (h->json) hj_null(&h->js, "device_chr");
    }
    free(chain);
    /* Keys */
    uint16_t *fids = NULL;
    size_t n = 0;
    if (hsm_enumerate(h, &fids, &n) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    unsigned keys = 0;
    for (size_t i = 0; i < n; i++)
        if ((fids[i] >> 8) == 0xCCu && (fids[i] & 0xFFu) != 0u) keys++;
    free(fids);
    hsm_say(h, "keys: %u", keys);
    if (h->json) hj_uint(&h->js, "keys", keys);
    return FK_TOOL_EXIT_OK;
}

/* ---- initialize ----------------------------------------------------------------------------- */

/* The SO-PIN as 8 bytes: 16 hex digits (as sc-hsm-tool takes it) or exactly
 * 8 characters (as pico's tools take it). */
static bool so_pin_bytes(const char *s, uint8_t out[SO_PIN_LEN])
{
    size_t n = 0;
    if (strlen(s) == 2u * SO_PIN_LEN && hsm_unhex(s, out, SO_PIN_LEN, &n) == 0 && n == SO_PIN_LEN) return true;
    if (strlen(s) == SO_PIN_LEN) {
        memcpy(out, s, SO_PIN_LEN);
        return true;
    }
    return false;
}

/* Ask for and decode an SO-PIN. */
static int get_so_pin(hsm_run_t *h, hsm_opt_t opt, const char *env, const char *prompt, bool confirm,
                      uint8_t out[SO_PIN_LEN])
{
    char *s = hsm_secret(h, opt, env, prompt, confirm);
    if (s == NULL) return FK_TOOL_EXIT_FAIL;
    const bool ok = so_pin_bytes(s, out);
    hsm_forget(s);
    if (!ok) return hsm_fail(h, "an SO-PIN is 16 hexadecimal digits (8 bytes) or exactly 8 characters");
    return FK_TOOL_EXIT_OK;
}

/* Ask for a user PIN of 6-16 characters. NULL after printing why. */
static char *get_user_pin(hsm_run_t *h, hsm_opt_t opt, const char *env, const char *prompt, bool confirm)
{
    char *s = hsm_secret(h, opt, env, prompt, confirm);
    if (s == NULL) return NULL;
    const size_t n = strlen(s);
    if (n < USER_PIN_MIN || n > USER_PIN_MAX) {
        hsm_forget(s);
        (void)hsm_fail(h, "a user PIN has 6 to 16 characters (this one has %zu)", n);
        return NULL;
    }
    return s;
}

/* The answer to a PIN command, as a sentence; FK_TOOL_EXIT_OK on 9000. */
static int pin_answer(hsm_run_t *h, const char *which, const char *what)
{
    h->error_sw = h->sw;
    if (h->sw == FK_SW_OK) {
        h->error_sw = 0;
        return FK_TOOL_EXIT_OK;
    }
    if ((h->sw & 0xFFF0u) == 0x63C0u)
        return hsm_fail(h, "%04X: wrong %s, %u tries left%s; %s not done", h->sw, which, h->sw & 0x0Fu,
                        (h->sw & 0x0Fu) == 0u ? " (now blocked)" : "", what);
    switch (h->sw) {
    case FK_SW_AUTH_BLOCKED:
        return hsm_fail(h, "6983: the %s is blocked; %s not done", which, what);
    case FK_SW_REF_NOT_FOUND:
        return hsm_fail(h, "6A88: the device is not initialized (`fusekey hsm initialize`)");
    case FK_SW_COMMAND_NOT_ALLOWED:
        return hsm_fail(h, "6986: the device does not allow this: it was initialized without the "
                           "option it needs (RESET RETRY COUNTER: without --no-unblock; the counter-only "
                           "form: --unblock-counter-only)");
    case FK_SW_WRONG_LENGTH:
        return hsm_fail(h, "6700: the device refused the length (a user PIN has 6-16 characters, an "
                           "SO-PIN 8 bytes)");
    default:
        return hsm_sw_fail(h, what);
    }
}

int hsm_cmd_initialize(hsm_run_t *h)
{
    uint32_t retries = RETRIES_DEFAULT, shares = 0, domains = 0, base = OPT_RRC;
    if (h->set[HO_RETRIES] && !hsm_opt_uint(h, HO_RETRIES, 1, RETRIES_MAX, &retries)) return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_DKEK_SHARES] && !hsm_opt_uint(h, HO_DKEK_SHARES, 0, 255, &shares)) return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_KEY_DOMAINS] && !hsm_opt_uint(h, HO_KEY_DOMAINS, 1, 255, &domains)) return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_OPTIONS]) {
        uint8_t ob[2];
        size_t n = 0;
        if (hsm_unhex(h->val[HO_OPTIONS], ob, sizeof ob, &n) != 0 || n != 2u) {
            (void)hsm_fail(h, "--options takes 4 hex digits (e.g. 0001), not '%s'", h->val[HO_OPTIONS]);
            return FK_TOOL_EXIT_USAGE;
        }
        base = fk_be16(ob);
    }
    uint16_t options = (uint16_t)base;
    if (h->set[HO_NO_UNBLOCK]) options &= (uint16_t)~OPT_RRC;
    if (h->set[HO_TRANSPORT_PIN]) options |= OPT_TRANSPORT;
    if (h->set[HO_UNBLOCK_COUNTER_ONLY]) options |= OPT_RRC_COUNTER_ONLY;
    if (h->set[HO_PRESS_TO_CONFIRM]) options |= OPT_PRESS_TO_CONFIRM;
    if (h->set[HO_KEY_USE_COUNTERS]) options |= OPT_USE_COUNTERS;
    if (h->set[HO_UNBLOCK_COUNTER_ONLY] && (options & OPT_RRC) == 0u) {
        (void)hsm_fail(h, "--unblock-counter-only needs RESET RETRY COUNTER (drop --no-unblock)");
        return FK_TOOL_EXIT_USAGE;
    }
    if (h->set[HO_LABEL] && (strlen(h->val[HO_LABEL]) == 0u || strlen(h->val[HO_LABEL]) > 64u)) {
        (void)hsm_fail(h, "--label takes 1-64 characters");
        return FK_TOOL_EXIT_USAGE;
    }

    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    hsm_pin_state_t st;
    if (hsm_pin_state(h, PIN_USER, &st) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t so[SO_PIN_LEN];
    char *pin = NULL;
    int rc = get_so_pin(h, HO_SO_PIN, "FUSEKEY_SO_PIN",
                        st.initialized ? "SO-PIN (16 hex digits or 8 characters): "
                                       : "New SO-PIN (16 hex digits or 8 characters): ",
                        !st.initialized, so);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    pin = get_user_pin(h, HO_PIN, "FUSEKEY_PIN", "New user PIN (6-16 characters): ", true);
    if (pin == NULL) {
        fk_wipe(so, sizeof so);
        return FK_TOOL_EXIT_FAIL;
    }
    const size_t pin_len = strlen(pin);
    /* sc-hsm-tool's rule: short PINs get few tries. */
    if ((pin_len == 6u && retries > 3u) || (pin_len == 7u && retries > 5u)) {
        rc = hsm_fail(h, "%u tries are too many for a %zu-character PIN (at most %u): use a longer PIN",
                      retries, pin_len, pin_len == 6u ? 3u : 5u);
        goto done;
    }
    char ob[256];
    hsm_say(h, "plan: INITIALIZE with options %04X (%s), user PIN retries %u%s", options,
            options_text(options, ob, sizeof ob), retries,
            (options & OPT_TRANSPORT) ? ", the user PIN a transport PIN" : "");
    if (h->set[HO_DKEK_SHARES]) hsm_say(h, "      DKEK of domain 0 from %u share(s)%s", shares, shares == 0u ? " (0: a random DKEK made by the card, if it supports that)" : "");
    if (h->set[HO_KEY_DOMAINS]) hsm_say(h, "      %u key domain(s)", domains);
    if (st.initialized &&
        !fk_confirm(&h->base, FK_TOKEN_HSM_INIT,
                    "re-initializing erases every key, certificate, data object and DKEK of the "
                    "device (its device key and certificate stay)")) {
        rc = FK_TOOL_EXIT_FAIL;
        goto done;
    }
    {
        uint8_t data[64];
        fk_rbuf_t r = {data, 0, sizeof data};
        const uint8_t o[2] = {(uint8_t)(options >> 8), (uint8_t)options};
        const uint8_t rt = (uint8_t)retries, sh = (uint8_t)shares, dm = (uint8_t)domains;
        bool ok = fk_tlv_put(&r, 0x80u, o, 2) && fk_tlv_put(&r, 0x81u, pin, pin_len) &&
                  fk_tlv_put(&r, 0x82u, so, SO_PIN_LEN) && fk_tlv_put(&r, 0x91u, &rt, 1);
        if (h->set[HO_DKEK_SHARES]) ok = ok && fk_tlv_put(&r, 0x92u, &sh, 1);
        if (h->set[HO_KEY_DOMAINS]) ok = ok && fk_tlv_put(&r, 0x97u, &dm, 1);
        rc = ok ? hsm_apdu(h, 0x80, INS_INITIALIZE, 0x00, 0x00, data, r.len, 0) : hsm_fail(h, "internal: INITIALIZE data");
        fk_wipe(data, sizeof data);
    }
    if (rc != FK_TOOL_EXIT_OK) goto done;
    if (h->sw == FK_SW_WRONG_DATA) {
        h->error_sw = h->sw;
        rc = hsm_fail(h, "6A80: the device refused the INITIALIZE data (an option or value it does "
                         "not take); nothing changed");
        goto done;
    }
    rc = pin_answer(h, "SO-PIN", "INITIALIZE");
    if (rc != FK_TOOL_EXIT_OK) goto done;
    hsm_say(h, "initialized: options %04X, user PIN with %u tries", options, retries);
    if (h->json) {
        json_options(h, options);
        hj_uint(&h->js, "retries", retries);
        if (h->set[HO_DKEK_SHARES]) hj_uint(&h->js, "dkek_shares", shares);
        if (h->set[HO_KEY_DOMAINS]) hj_uint(&h->js, "key_domains", domains);
    }
    if (h->set[HO_LABEL]) {
        /* TokenInfo as sc-hsm-tool writes it: 30 { 02 01 00, 80 label, 03 02 05 20 }. */
        if ((options & OPT_TRANSPORT) != 0u) {
            hsm_say(h, "label not written: the transport PIN must be changed before the PIN works");
        } else if (hsm_apdu(h, 0x00, FK_INS_VERIFY, 0x00, PIN_USER, (const uint8_t *)pin, pin_len, 0) ==
                       FK_TOOL_EXIT_OK && h->sw == FK_SW_OK) {
            uint8_t ti[96];
            fk_rbuf_t r = {ti, 0, sizeof ti};
            static const uint8_t version = 0, flags[] = {0x05, 0x20};
            const char *label = h->val[HO_LABEL];
            fk_tlv_mark_t m = fk_tlv_begin(&r, 0x30u);
            const bool ok = fk_tlv_put(&r, 0x02u, &version, 1) && fk_tlv_put(&r, 0x80u, label, strlen(label)) &&
                            fk_tlv_put(&r, 0x03u, flags, sizeof flags) && fk_tlv_end(&r, m);
            rc = ok ? hsm_file_write(h, FID_TOKENINFO, ti, r.len) : hsm_fail(h, "internal: TokenInfo");
            if (rc == FK_TOOL_EXIT_OK) hsm_say(h, "label: %s", label);
        } else {
            rc = hsm_sw_fail(h, "VERIFY with the new PIN (for the label)");
        }
    }
done:
    fk_wipe(so, sizeof so);
    hsm_forget(pin);
    return rc;
}

/* ---- pin --------------------------------------------------------------------------------- */

int hsm_cmd_pin_status(hsm_run_t *h)
{
    hsm_pin_state_t user, so;
    char b1[64], b2[64];
    if (hsm_open(h) != FK_TOOL_EXIT_OK || hsm_pin_state(h, PIN_USER, &user) != FK_TOOL_EXIT_OK ||
        hsm_pin_state(h, PIN_SO, &so) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    hsm_say(h, "user PIN: %s", pin_state_text(&user, b1, sizeof b1));
    hsm_say(h, "SO-PIN: %s", pin_state_text(&so, b2, sizeof b2));
    if (h->json) {
        json_pin(h, "user_pin", &user);
        json_pin(h, "so_pin", &so);
    }
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_pin_change(hsm_run_t *h)
{
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    int rc;
    if (h->set[HO_SO]) {
        uint8_t data[2u * SO_PIN_LEN];
        rc = get_so_pin(h, HO_SO_PIN, "FUSEKEY_SO_PIN", "Current SO-PIN: ", false, data);
        if (rc == FK_TOOL_EXIT_OK)
            rc = get_so_pin(h, HO_NEW_SO_PIN, "FUSEKEY_NEW_SO_PIN", "New SO-PIN: ", true, data + SO_PIN_LEN);
        if (rc == FK_TOOL_EXIT_OK) rc = hsm_apdu(h, 0x00, FK_INS_CHANGE_REF_DATA, 0x00, PIN_SO, data, sizeof data, 0);
        fk_wipe(data, sizeof data);
        if (rc == FK_TOOL_EXIT_OK) rc = pin_answer(h, "SO-PIN", "the change");
        if (rc == FK_TOOL_EXIT_OK) hsm_say(h, "SO-PIN changed");
        return rc;
    }
    char *old = hsm_secret(h, HO_PIN, "FUSEKEY_PIN", "Current user PIN: ", false);
    if (old == NULL) return FK_TOOL_EXIT_FAIL;
    char *neu = get_user_pin(h, HO_NEW_PIN, "FUSEKEY_NEW_PIN", "New user PIN (6-16 characters): ", true);
    if (neu == NULL) {
        hsm_forget(old);
        return FK_TOOL_EXIT_FAIL;
    }
    uint8_t data[2u * 256u];
    const size_t lo = strlen(old), ln = strlen(neu);
    rc = lo + ln <= sizeof data ? FK_TOOL_EXIT_OK : hsm_fail(h, "the PINs are too long");
    if (rc == FK_TOOL_EXIT_OK) {
        memcpy(data, old, lo);
        memcpy(data + lo, neu, ln);
        rc = hsm_apdu(h, 0x00, FK_INS_CHANGE_REF_DATA, 0x00, PIN_USER, data, lo + ln, 0);
    }
    fk_wipe(data, sizeof data);
    hsm_forget(old);
    hsm_forget(neu);
    if (rc == FK_TOOL_EXIT_OK) rc = pin_answer(h, "user PIN", "the change");
    if (rc == FK_TOOL_EXIT_OK) hsm_say(h, "user PIN changed");
    return rc;
}

int hsm_cmd_pin_unblock(hsm_run_t *h)
{
    if (h->set[HO_COUNTER_ONLY] && h->set[HO_NEW_PIN]) {
        (void)hsm_fail(h, "--counter-only keeps the PIN: it takes no --new-pin");
        return FK_TOOL_EXIT_USAGE;
    }
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t data[SO_PIN_LEN + USER_PIN_MAX];
    int rc = get_so_pin(h, HO_SO_PIN, "FUSEKEY_SO_PIN", "SO-PIN: ", false, data);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    size_t len = SO_PIN_LEN;
    uint8_t p1 = 0x01; /* counter only */
    if (!h->set[HO_COUNTER_ONLY]) {
        char *neu = get_user_pin(h, HO_NEW_PIN, "FUSEKEY_NEW_PIN", "New user PIN (6-16 characters): ", true);
        if (neu == NULL) {
            fk_wipe(data, sizeof data);
            return FK_TOOL_EXIT_FAIL;
        }
        memcpy(data + SO_PIN_LEN, neu, strlen(neu));
        len += strlen(neu);
        hsm_forget(neu);
        p1 = 0x00;
    }
    rc = hsm_apdu(h, 0x00, FK_INS_RESET_RETRY, p1, PIN_USER, data, len, 0);
    fk_wipe(data, sizeof data);
    if (rc == FK_TOOL_EXIT_OK) rc = pin_answer(h, "SO-PIN", "the unblock");
    if (rc == FK_TOOL_EXIT_OK)
        hsm_say(h, p1 == 0x00 ? "user PIN set and unblocked" : "user PIN unblocked (its tries restored)");
    return rc;
}

/* ---- rtc ------------------------------------------------------------------------------------- */

/* The rescue applet's AID (applets/rescue; the tool does not link the applet). */
static const uint8_t k_rescue_aid[FK_RESCUE_AID_LEN] = {0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21};

/* Connect and select the rescue applet (the clock lives there, as on pico). */
static int rescue_open(hsm_run_t *h)
{
    char err[FK_RUN_ERR_CAP];
    const fk_tool_t *t = h->base.t;
    if (t->card->connect(t->card_arg, h->base.reader, err, sizeof err) != 0)
        return hsm_fail(h, "%s. '%s' talks to the device through pcscd; is it present?", err, h->base.cmd);
    h->card_open = true;
    if (hsm_apdu(h, 0x00, FK_INS_SELECT, FK_SELECT_P1_AID, FK_SELECT_P2_FCP, k_rescue_aid,
                 FK_RESCUE_AID_LEN, 256) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) {
        h->error_sw = h->sw;
        return hsm_fail(h, "the card has no rescue applet (SELECT answered %04X): its clock is not "
                           "reachable this way", h->sw);
    }
    return FK_TOOL_EXIT_OK;
}

/* ISO 8601 UTC text of a Unix time. */
static void iso_time(uint32_t t, char *out, size_t cap)
{
    const time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0u)
        (void)snprintf(out, cap, "%lu", (unsigned long)t);
}

int hsm_cmd_rtc_get(hsm_run_t *h)
{
    if (rescue_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (hsm_apdu(h, FK_RESCUE_CLA, FK_RESCUE_INS_READ, FK_RESCUE_INFO_RTC, FK_RESCUE_RTC_EPOCH, NULL, 0,
                 FK_RESCUE_RTC_EPOCH_LEN) != FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw == FK_SW_CONDITIONS_NOT_SATISFIED) {
        h->error_sw = h->sw;
        return hsm_fail(h, "6985: the device's clock was never set since it started (`fusekey hsm rtc set`)");
    }
    if (h->sw != FK_SW_OK) return hsm_sw_fail(h, "reading the clock");
    if (h->resp_len != FK_RESCUE_RTC_EPOCH_LEN) return hsm_fail(h, "the clock's answer is %zu bytes, not 4", h->resp_len);
    const uint32_t t = fk_be32(h->resp);
    char iso[40];
    iso_time(t, iso, sizeof iso);
    hsm_say(h, "device clock: %s (Unix time %lu)", iso, (unsigned long)t);
    if (h->json) {
        hj_uint(&h->js, "epoch", t);
        hj_string(&h->js, "utc", iso);
    }
    return FK_TOOL_EXIT_OK;
}

/* "now", a Unix time, or YYYY-MM-DDTHH:MM:SS[Z] (UTC). */
static bool parse_time(const char *s, uint32_t *out)
{
    if (strcmp(s, "now") == 0) {
        const time_t now = time(NULL);
        if (now < 0 || (uint64_t)now > RTC_EPOCH_MAX) return false;
        *out = (uint32_t)now;
        return true;
    }
    uint32_t v = 0;
    if (fk_parse_uint(s, RTC_EPOCH_MAX, &v)) {
        *out = v;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL) end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0)) return false;
    const time_t t = timegm(&tm);
    if (t < 0 || (uint64_t)t > RTC_EPOCH_MAX) return false;
    *out = (uint32_t)t;
    return true;
}

int hsm_cmd_rtc_set(hsm_run_t *h)
{
    uint32_t t = 0;
    const char *arg = h->npos > 0 ? h->pos[0] : "now";
    if (!parse_time(arg, &t)) {
        (void)hsm_fail(h, "a time is 'now', a Unix time up to %lu, or YYYY-MM-DDTHH:MM:SS (UTC), not '%s'",
                       (unsigned long)RTC_EPOCH_MAX, arg);
        return FK_TOOL_EXIT_USAGE;
    }
    if (rescue_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t d[FK_RESCUE_RTC_EPOCH_LEN];
    fk_put_be32(d, t);
    if (hsm_apdu(h, FK_RESCUE_CLA, FK_RESCUE_INS_WRITE, FK_RESCUE_CONFIG_RTC, FK_RESCUE_RTC_EPOCH, d, sizeof d, 0) !=
        FK_TOOL_EXIT_OK)
        return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return hsm_sw_fail(h, "setting the clock");
    char iso[40];
    iso_time(t, iso, sizeof iso);
    hsm_say(h, "device clock set to %s (Unix time %lu)", iso, (unsigned long)t);
    if (h->json) {
        hj_uint(&h->js, "epoch", t);
        hj_string(&h->js, "utc", iso);
    }
    return FK_TOOL_EXIT_OK;
}

/* ---- Device certificates ----------------------------------------------------------------------- */

int hsm_cmd_cert_show(hsm_run_t *h)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (h->set[HO_CHAIN]) {
        buf = hsm_read_file(h, h->val[HO_CHAIN], 64u * 1024u, &len);
        if (buf == NULL) return FK_TOOL_EXIT_FAIL;
    } else {
        if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        const int rc = hsm_file_read(h, FID_DEVAUT, &buf, &len);
        if (rc == HSM_FILE_ABSENT) return hsm_fail(h, "the device has no certificate file 2F02");
        if (rc != FK_TOOL_EXIT_OK) return rc;
    }
    chain_t *ch = malloc(sizeof *ch);
    int rc = ch != NULL ? chain_parse(h, buf, len, ch) : hsm_fail(h, "out of memory");
    if (rc == FK_TOOL_EXIT_OK) {
        rc = show_chain(h, ch);
        if (rc != FK_TOOL_EXIT_OK) (void)hsm_fail(h, "the chain does not verify");
    }
    free(ch);
    free(buf);
    return rc;
}

int hsm_cmd_cert_enroll(hsm_run_t *h)
{
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t *req = NULL, *chain = NULL;
    size_t req_len = 0, chain_len = 0;
    int rc = hsm_file_read(h, FID_DEVICE_REQUEST, &req, &req_len);
    if (rc == HSM_FILE_ABSENT) return hsm_fail(h, "the device has no request CE00 for its device key (a firmware without it)");
    if (rc != FK_TOOL_EXIT_OK) return rc;
    fk_cvc_request_t rq;
    if (fk_cvc_parse_request(req, req_len, &rq) != FK_CVC_OK) {
        free(req);
        return hsm_fail(h, "CE00 is not a well-formed request");
    }
    char chr[FK_CVC_CHR_MAX + 1], car[FK_CVC_CHR_MAX + 1];
    ref_text(&rq.cert.chr, chr, sizeof chr);
    ref_text(&rq.outer_car, car, sizeof car);
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    const bool inner_ok = fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg) == FK_CVC_OK &&
                          fk_cvc_verify(&rq.cert, &pub, &alg) == FK_CVC_OK;
    hsm_say(h, "device request: CHR %s, inner signature %s%s%s", chr, inner_ok ? "valid" : "INVALID",
            rq.authenticated ? ", authenticated by " : "", rq.authenticated ? car : "");
    /* The outer signature with the key of the current device certificate. */
    if (rq.authenticated && hsm_file_read(h, FID_DEVAUT, &chain, &chain_len) == 0) {
        fk_cvc_t dev;
        fk_pk_public_t dpub;
        fk_cvc_alg_t dalg;
        if (fk_cvc_parse(chain, chain_len, &dev) == FK_CVC_OK &&
            fk_cvc_public_key(&dev, FK_CURVE_NONE, &dpub, &dalg) == FK_CVC_OK) {
            const bool outer_ok = fk_cvc_verify_signature(&dpub, &dalg, rq.outer_signed.p, rq.outer_signed.len,
                                                          rq.outer_sig.p, rq.outer_sig.len) == FK_CVC_OK;
            hsm_say(h, "  outer signature: %s (with the key of the device certificate)", outer_ok ? "valid" : "INVALID");
            if (h->json) hj_bool(&h->js, "outer_signature_valid", outer_ok);
        }
    }
    free(chain);
    if (!inner_ok) {
        free(req);
        return hsm_fail(h, "the request's inner signature does not verify: not written");
    }
    rc = hsm_write_file(h, h->pos[0], req, req_len, false, !h->set[HO_FORCE]);
    if (rc == FK_TOOL_EXIT_OK) hsm_say(h, "request written to %s (%zu bytes): have a CA issue a device "
                                          "certificate for it, then `fusekey hsm cert install`", h->pos[0], req_len);
    if (h->json) {
        hj_string(&h->js, "chr", chr);
        hj_string(&h->js, "file", h->pos[0]);
        hj_uint(&h->js, "bytes", req_len);
    }
    free(req);
    return rc;
}

int hsm_cmd_cert_install(hsm_run_t *h)
{
    size_t len = 0;
    uint8_t *buf = hsm_read_file(h, h->pos[0], 8192u, &len);
    if (buf == NULL) return FK_TOOL_EXIT_FAIL;
    chain_t *ch = malloc(sizeof *ch);
    uint8_t *cur = NULL, *back = NULL;
    size_t cur_len = 0, back_len = 0;
    int rc = ch != NULL ? chain_parse(h, buf, len, ch) : hsm_fail(h, "out of memory");
    if (rc != FK_TOOL_EXIT_OK) goto out;
    if (!fk_cvc_device_chr_ok(ch->c[0].chr.p, ch->c[0].chr.len)) {
        rc = hsm_fail(h, "the first certificate's CHR is not a device CHR (2 letters, a mnemonic, 5 "
                         "characters of sequence; 8-16 in all): OpenSC would not bind the token");
        goto out;
    }
    if (ch->n < 2u) {
        rc = hsm_fail(h, "the chain has one certificate: a device certificate and its issuer's are needed");
        goto out;
    }
    /* Every certificate but a root must verify with its issuer in the chain. */
    fk_curve_t curves[CHAIN_MAX] = {FK_CURVE_NONE};
    for (unsigned k = ch->n; k-- > 0;) {
        fk_pk_public_t pub;
        fk_cvc_alg_t alg;
        if (fk_cvc_public_key(&ch->c[k], k + 1u < ch->n ? curves[k + 1u] : FK_CURVE_NONE, &pub, &alg) == FK_CVC_OK)
            curves[k] = pub.curve;
    }
    for (unsigned i = 0; i < ch->n; i++) {
        int issuer = -1;
        const int v = verify_in_chain(ch, i, curves, &issuer);
        const bool last = i + 1u == ch->n;
        if (v == FK_CVC_OK || (last && issuer < 0)) continue; /* a root kept elsewhere */
        rc = hsm_fail(h, "certificate %u of the chain does not verify with %s: not installed", i + 1u,
                      issuer < 0 ? "an issuer in the chain" : "its issuer");
        goto out;
    }
    if (hsm_open(h) != FK_TOOL_EXIT_OK) {
        rc = FK_TOOL_EXIT_FAIL;
        goto out;
    }
    /* The device certificate must carry this device's key. */
    const int r0 = hsm_file_read(h, FID_DEVAUT, &cur, &cur_len);
    if (r0 == FK_TOOL_EXIT_FAIL) {
        rc = r0;
        goto out;
    }
    fk_cvc_t dev;
    fk_pk_public_t now_pub, new_pub;
    fk_cvc_alg_t a1, a2;
    if (r0 != 0 || fk_cvc_parse(cur, cur_len, &dev) != FK_CVC_OK ||
        fk_cvc_public_key(&dev, FK_CURVE_NONE, &now_pub, &a1) != FK_CVC_OK) {
        rc = hsm_fail(h, "the device has no readable certificate in 2F02 to compare its key with");
        goto out;
    }
    if (fk_cvc_public_key(&ch->c[0], ch->n > 1u ? curves[1] : FK_CURVE_NONE, &new_pub, &a2) != FK_CVC_OK ||
        new_pub.type != now_pub.type || new_pub.point.len != now_pub.point.len ||
        memcmp(new_pub.point.p, now_pub.point.p, now_pub.point.len) != 0) {
        rc = hsm_fail(h, "the new device certificate is not for this device's key: not installed");
        goto out;
    }
    char chr[FK_CVC_CHR_MAX + 1];
    ref_text(&ch->c[0].chr, chr, sizeof chr);
    hsm_say(h, "plan: write a chain of %u certificates (device %s) to 2F02", ch->n, chr);
    if (!fk_confirm(&h->base, FK_TOKEN_HSM_CERTS,
                    "the device's certificate chain in 2F02 is replaced (keep a copy of the old one: "
                    "`fusekey hsm cert show` names it; sc-hsm-tool and OpenSC read it)")) {
        rc = FK_TOOL_EXIT_FAIL;
        goto out;
    }
    rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_file_write(h, FID_DEVAUT, buf, len);
    if (rc == FK_TOOL_EXIT_OK) {
        const int rb = hsm_file_read(h, FID_DEVAUT, &back, &back_len);
        if (rb != 0 || back_len != len || memcmp(back, buf, len) != 0)
            rc = hsm_fail(h, "2F02 does not read back as written");
    }
    if (rc == FK_TOOL_EXIT_OK) hsm_say(h, "installed: 2F02 holds the new chain (read back)");
    if (h->json) {
        hj_string(&h->js, "device_chr", chr);
        hj_uint(&h->js, "certificates", ch->n);
    }
out:
    free(ch);
    free(buf);
    free(cur);
    free(back);
    return rc;
}
