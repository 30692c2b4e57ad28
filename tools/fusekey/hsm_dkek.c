/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_dkek.c - DKEK shares and key domains: share files byte-compatible
 * with `sc-hsm-tool --create-dkek-share` (password-protected, or with the
 * password split n-of-m by Shamir over a 64-bit prime and printed in
 * sc-hsm-tool's form), their import (MANAGE KEY DOMAIN 52 P1 00) and the
 * domains themselves (52 P1 01 create, 03 delete, 04 clear). Formats and
 * arithmetic: core/crypto/hsm_host.h; protocol: spec sections 3.15 and 6.
 *
 * Randomness: salts, shares, share passwords and polynomial coefficients
 * are the card's GET CHALLENGE bytes XORed with the host's own random
 * bytes, so neither source alone decides them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "crypto/crypto.h"
#include "hsm_tool.h"
#include "util.h"

#define INS_MANAGE_DKEK 0x52u
#define P1_IMPORT 0x00u
#define P1_CREATE 0x01u
#define P1_DELETE 0x03u
#define P1_CLEAR 0x04u
#define DKEK_STATUS_MIN 10u
#define PASSWORD_MIN 6u
#define PWD_SECRET_LEN 8u
#define PWD_TOTAL_MIN 3u
#define PWD_THRESHOLD_MIN 2u
#define CHALLENGE_MAX 256u
#define MAX_DOMAINS 256u

/* ---- Randomness ------------------------------------------------------------------------ */

/* len bytes: the card's challenge XOR the host's random source. */
static int mixed_random(hsm_run_t *h, uint8_t *out, size_t len)
{
    const fk_tool_t *t = h->base.t;
    while (len > 0u) {
        const size_t n = FK_MIN(len, CHALLENGE_MAX);
        uint8_t host[CHALLENGE_MAX];
        if (hsm_apdu(h, 0x00, FK_INS_GET_CHALLENGE, 0x00, 0x00, NULL, 0, n) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        if (h->sw != FK_SW_OK || h->resp_len != n) return hsm_sw_fail(h, "GET CHALLENGE");
        if (t->random(t->random_arg, host, n) != 0) return hsm_fail(h, "the host's random source failed");
        for (size_t i = 0; i < n; i++) out[i] = h->resp[i] ^ host[i];
        fk_wipe(host, n);
        fk_wipe(h->resp, n);
        out += n;
        len -= n;
    }
    return FK_TOOL_EXIT_OK;
}

/* fk_host_random_fn over mixed_random. */
static int random_cb(void *arg, void *buf, size_t len)
{
    return mixed_random(arg, buf, len) == FK_TOOL_EXIT_OK ? 0 : -1;
}

/* ---- Progress -------------------------------------------------------------------------- */

typedef struct progress {
    hsm_run_t *h;
    const char *what;
    unsigned last; /* tenths printed */
} progress_t;

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
    progress_t *p = arg;
    const unsigned tenth = total ? (unsigned)(done * 10u / total) : 10u;
    if (tenth > p->last) {
        p->last = tenth;
        hsm_progress(p->h, "%s: %u%%", p->what, tenth * 10u);
    }
}

/* ---- Printing shares -------------------------------------------------------------------- */

/* "12:AB:..." of the big-endian bytes of v without leading zeros. */
static void hex_colon(uint64_t v, char *out, size_t cap)
{
    uint8_t b[8];
    size_t skip = 0, n = 0;
    for (unsigned i = 0; i < 8u; i++) b[i] = (uint8_t)(v >> (56u - 8u * i));
    while (skip < 7u && b[skip] == 0u) skip++;
    out[0] = '\0';
    for (size_t i = skip; i < 8u; i++)
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0u, "%s%02X", i > skip ? ":" : "", b[i]);
    fk_wipe(b, sizeof b);
}

/* A hex number of at most 8 bytes (colons and blanks allowed). */
static bool parse_u64_hex(const char *s, uint64_t *v)
{
    uint8_t b[16];
    size_t n = 0;
    if (hsm_unhex(s, b, sizeof b, &n) != 0 || n == 0u) return false;
    size_t skip = 0;
    while (skip < n && b[skip] == 0u) skip++;
    if (n - skip > 8u) return false;
    uint64_t x = 0;
    for (size_t i = skip; i < n; i++) x = x << 8 | b[i];
    *v = x;
    fk_wipe(b, sizeof b);
    return true;
}

/* ---- Passwords ---------------------------------------------------------------------------- */

/* The password of a share file: typed/given, or rebuilt from n-of-m shares
 * (--pwd-shares-threshold). Into pw (cap bytes); FK_TOOL_EXIT_OK. */
static int share_password(hsm_run_t *h, bool creating, uint8_t *pw, size_t cap, size_t *pw_len)
{
    if (!h->set[HO_PWD_THRESHOLD]) {
        if (h->set[HO_PRIME] || h->n_shares > 0u) {
            (void)hsm_fail(h, "--prime and --pwd-share go with --pwd-shares-threshold");
            return FK_TOOL_EXIT_USAGE;
        }
        char *s = hsm_secret(h, HO_PASSWORD, "FUSEKEY_DKEK_PASSWORD",
                             creating ? "Password for the DKEK share: " : "Password of the DKEK share: ",
                             creating);
        if (s == NULL) return FK_TOOL_EXIT_FAIL;
        const size_t n = strlen(s);
        int rc = FK_TOOL_EXIT_OK;
        if (creating && n < PASSWORD_MIN) rc = hsm_fail(h, "a share password has at least %u characters", PASSWORD_MIN);
        else if (n > cap) rc = hsm_fail(h, "the password is too long");
        if (rc == FK_TOOL_EXIT_OK) {
            memcpy(pw, s, n);
            *pw_len = n;
        }
        hsm_forget(s);
        return rc;
    }
    if (h->set[HO_PASSWORD]) {
        (void)hsm_fail(h, "--password and --pwd-shares-threshold exclude each other");
        return FK_TOOL_EXIT_USAGE;
    }
    uint32_t t = 0;
    if (!hsm_opt_uint(h, HO_PWD_THRESHOLD, PWD_THRESHOLD_MIN, FK_SHAMIR_MAX_SHARES, &t)) return FK_TOOL_EXIT_USAGE;
    uint64_t prime = 0, x[FK_SHAMIR_MAX_SHARES], y[FK_SHAMIR_MAX_SHARES];
    char *line = NULL;
    int rc = FK_TOOL_EXIT_OK;
    if (h->set[HO_PRIME]) {
        if (!parse_u64_hex(h->val[HO_PRIME], &prime)) {
            (void)hsm_fail(h, "--prime takes the prime in hex (as printed: 12:AB:...), not '%s'", h->val[HO_PRIME]);
            return FK_TOOL_EXIT_USAGE;
        }
    } else {
        hsm_progress(h, "The share's password is rebuilt from %u password shares.", t);
        line = hsm_ask(h, "Prime: ");
        if (line == NULL || !parse_u64_hex(line, &prime)) rc = hsm_fail(h, "no prime given (hex, as printed)");
        hsm_forget(line);
        if (rc != FK_TOOL_EXIT_OK) return rc;
    }
    if (h->n_shares > t) {
        (void)hsm_fail(h, "%u --pwd-share given, the threshold is %u", h->n_shares, t);
        return FK_TOOL_EXIT_USAGE;
    }
    for (unsigned i = 0; i < t && rc == FK_TOOL_EXIT_OK; i++) {
        char *id_s = NULL, *val_s = NULL;
        const char *id_txt, *val_txt;
        char buf[128];
        if (i < h->n_shares) {
            const char *colon = strchr(h->shares[i], ':');
            if (colon == NULL || (size_t)(colon - h->shares[i]) >= 16u) {
                (void)hsm_fail(h, "--pwd-share takes ID:VALUE (e.g. 2:5A:19:...), not '%s'", h->shares[i]);
                return FK_TOOL_EXIT_USAGE;
            }
            (void)snprintf(buf, sizeof buf, "%.*s", (int)(colon - h->shares[i]), h->shares[i]);
            id_txt = buf;
            val_txt = colon + 1;
        } else {
            char p[48];
            (void)snprintf(p, sizeof p, "Share %u of %u, ID: ", i + 1u, t);
            id_s = hsm_ask(h, p);
            (void)snprintf(p, sizeof p, "Share %u of %u, value: ", i + 1u, t);
            val_s = id_s != NULL ? hsm_ask_secret(h, p) : NULL;
            if (id_s == NULL || val_s == NULL) {
                hsm_forget(id_s);
                hsm_forget(val_s);
                return hsm_fail(h, "share %u of %u not given", i + 1u, t);
            }
            id_txt = id_s;
            val_txt = val_s;
        }
        uint32_t id = 0;
        if (!fk_parse_uint(id_txt, FK_SHAMIR_MAX_SHARES, &id) || id == 0u) {
            rc = hsm_fail(h, "a share ID is a number 1-255 (as printed), not '%s'", id_txt);
        } else if (!parse_u64_hex(val_txt, &y[i])) {
            rc = hsm_fail(h, "share %u: the value is hex (as printed: 5A:19:...)", id);
        }
        x[i] = id;
        hsm_forget(id_s);
        hsm_forget(val_s);
    }
    uint64_t secret = 0;
    if (rc == FK_TOOL_EXIT_OK) {
        const int c = fk_shamir_combine(prime, x, y, t, &secret);
        if (c != FK_CRYPTO_OK) rc = hsm_fail(h, "the shares do not combine: the prime is not prime, a value is "
                                                "not below it, or an ID is repeated");
    }
    if (rc == FK_TOOL_EXIT_OK) {
        /* The password: the secret's big-endian bytes without leading zeros. */
        uint8_t b[8];
        size_t skip = 0;
        for (unsigned i = 0; i < 8u; i++) b[i] = (uint8_t)(secret >> (56u - 8u * i));
        while (skip < 7u && b[skip] == 0u) skip++;
        *pw_len = 8u - skip;
        memcpy(pw, b + skip, *pw_len);
        fk_wipe(b, sizeof b);
    }
    fk_wipe(x, sizeof x);
    fk_wipe(y, sizeof y);
    fk_wipe(&secret, sizeof secret);
    return rc;
}

/* ---- DKEK status ------------------------------------------------------------------------------ */

/* Print the answer of MANAGE KEY DOMAIN: total, outstanding, KCV. */
static int dkek_report(hsm_run_t *h, unsigned domain)
{
    if (h->resp_len < DKEK_STATUS_MIN)
        return hsm_fail(h, "the card's DKEK status is %zu bytes (at least 10 expected)", h->resp_len);
    const uint8_t *r = h->resp;
    hsm_say(h, "domain %u: DKEK shares %u", domain, r[0]);
    if (r[1] > 0u) {
        hsm_say(h, "DKEK import pending, %u share(s) still missing", r[1]);
    } else if (r[0] > 0u) {
        hsm_say(h, "DKEK key check value: %02X%02X%02X%02X%02X%02X%02X%02X", r[2], r[3], r[4], r[5], r[6],
                r[7], r[8], r[9]);
    }
    if (h->json) {
        hj_uint(&h->js, "domain", domain);
        hj_uint(&h->js, "shares", r[0]);
        hj_uint(&h->js, "outstanding", r[1]);
        hj_hex(&h->js, "kcv", r + 2, 8);
        if (h->resp_len > DKEK_STATUS_MIN) hj_hex(&h->js, "xkek_uid", r + DKEK_STATUS_MIN, h->resp_len - DKEK_STATUS_MIN);
    }
    return FK_TOOL_EXIT_OK;
}

/* A refused MANAGE KEY DOMAIN as a sentence. */
static int dkek_refused(hsm_run_t *h, unsigned domain, const char *what)
{
    h->error_sw = h->sw;
    switch (h->sw) {
    case FK_SW_INS_NOT_SUPPORTED:
        return hsm_fail(h, "6D00: the card has no DKEK support (MANAGE KEY DOMAIN)");
    case FK_SW_REF_NOT_FOUND:
        return hsm_fail(h, "6A88: key domain %u is not configured (initialize with --dkek-shares, or "
                           "--key-domains and `fusekey hsm domain create`)", domain);
    case FK_SW_INCORRECT_P1P2:
        return hsm_fail(h, "6A86: key domain %u is beyond the domains the device was initialized with, "
                           "or already in use", domain);
    case FK_SW_WRONG_P1P2:
        return hsm_fail(h, "6B00: the device is not initialized, or domain %u is out of range", domain);
    case FK_SW_COMMAND_NOT_ALLOWED:
        return hsm_fail(h, "6986: key domain %u expects no further share (its DKEK is complete; `fusekey "
                           "hsm domain clear` starts again)", domain);
    case FK_SW_FILE_EXISTS:
        return hsm_fail(h, "6A89: key domain %u still holds keys: delete them first", domain);
    default:
        return hsm_sw_fail(h, what);
    }
}

static bool domain_opt(hsm_run_t *h, unsigned *domain)
{
    uint32_t d = 0;
    if (h->set[HO_DOMAIN] && !hsm_opt_uint(h, HO_DOMAIN, 0, 255, &d)) return false;
    *domain = d;
    return true;
}

int hsm_cmd_dkek_status(hsm_run_t *h)
{
    unsigned d = 0;
    if (!domain_opt(h, &d)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_IMPORT, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return dkek_refused(h, d, "DKEK status");
    return dkek_report(h, d);
}

/* ---- create-share ---------------------------------------------------------------------------------- */

/* Split a fresh 8-byte password n-of-m and print the shares. */
static int pwd_shares(hsm_run_t *h, uint8_t pw[PWD_SECRET_LEN])
{
    uint32_t total = 0, t = 0;
    if (!h->set[HO_PWD_TOTAL] || !h->set[HO_PWD_THRESHOLD]) {
        (void)hsm_fail(h, "password shares need both --pwd-shares-total and --pwd-shares-threshold");
        return FK_TOOL_EXIT_USAGE;
    }
    if (!hsm_opt_uint(h, HO_PWD_TOTAL, PWD_TOTAL_MIN, FK_SHAMIR_MAX_SHARES, &total) ||
        !hsm_opt_uint(h, HO_PWD_THRESHOLD, PWD_THRESHOLD_MIN, total, &t))
        return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_PASSWORD]) {
        (void)hsm_fail(h, "--password and password shares exclude each other");
        return FK_TOOL_EXIT_USAGE;
    }
    /* A 63-bit secret whose first byte is not zero, so that the password is
     * always 8 bytes, also for sc-hsm-tool (which drops leading zero bytes of
     * the rebuilt secret). */
    do {
        if (mixed_random(h, pw, PWD_SECRET_LEN) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        pw[0] &= 0x7Fu;
    } while (pw[0] == 0u);
    uint64_t secret = 0, prime = 0, y[FK_SHAMIR_MAX_SHARES];
    for (unsigned i = 0; i < PWD_SECRET_LEN; i++) secret = secret << 8 | pw[i];
    int rc = fk_shamir_prime(random_cb, h, &prime) == FK_CRYPTO_OK &&
                     fk_shamir_split(secret, prime, t, total, random_cb, h, y) == FK_CRYPTO_OK
                 ? FK_TOOL_EXIT_OK
                 : hsm_fail(h, "making the password shares failed (random source)");
    if (rc == FK_TOOL_EXIT_OK) {
        char ph[32], vh[32];
        hex_colon(prime, ph, sizeof ph);
        hsm_say(h, "The share's password is a random 64-bit number, split %u-of-%u. Give each key "
                   "custodian one share (prime, ID and value); any %u of them rebuild it.", t, total, t);
        if (h->json) {
            hj_uint(&h->js, "threshold", t);
            hj_string(&h->js, "prime", ph);
            hj_begin_array(&h->js, "password_shares");
        }
        for (unsigned i = 0; i < total; i++) {
            hex_colon(y[i], vh, sizeof vh);
            hsm_say(h, "share %u of %u: prime %s  id %u  value %s", i + 1u, total, ph, i + 1u, vh);
            if (h->json) {
                hj_begin_object(&h->js, NULL);
                hj_uint(&h->js, "id", i + 1u);
                hj_string(&h->js, "value", vh);
                hj_end_object(&h->js);
            }
            fk_wipe(vh, sizeof vh);
        }
        if (h->json) hj_end_array(&h->js);
    }
    fk_wipe(y, sizeof y);
    fk_wipe(&secret, sizeof secret);
    return rc;
}

int hsm_cmd_dkek_create(hsm_run_t *h)
{
    const bool split = h->set[HO_PWD_TOTAL] || h->set[HO_PWD_THRESHOLD];
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t pw[256], salt[FK_DKEK_SALT_LEN], share[FK_DKEK_SHARE_LEN], file[FK_DKEK_FILE_LEN], kcv[FK_SHA256_LEN];
    size_t pw_len = 0;
    int rc;
    if (split) {
        rc = pwd_shares(h, pw);
        pw_len = PWD_SECRET_LEN;
    } else {
        rc = share_password(h, true, pw, sizeof pw, &pw_len);
    }
    if (rc == FK_TOOL_EXIT_OK) rc = mixed_random(h, salt, sizeof salt);
    if (rc == FK_TOOL_EXIT_OK) rc = mixed_random(h, share, sizeof share);
    if (rc == FK_TOOL_EXIT_OK) {
        progress_t p = {h, "enciphering the DKEK share", 0};
        hsm_progress(h, "enciphering the DKEK share (a deliberately slow key derivation), please wait...");
        if (fk_dkek_file_seal(pw, pw_len, salt, share, FK_DKEK_FILE_ITERATIONS, progress_cb, &p, file) != FK_CRYPTO_OK)
            rc = hsm_fail(h, "enciphering the share failed");
    }
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_write_file(h, h->pos[0], file, sizeof file, true, !h->set[HO_FORCE]);
    if (rc == FK_TOOL_EXIT_OK) {
        fk_sha256(share, sizeof share, kcv);
        hsm_say(h, "DKEK share created and saved to %s", h->pos[0]);
        hsm_say(h, "share key check value: %02X%02X%02X%02X%02X%02X%02X%02X (the DKEK's, when it is the only share)",
                kcv[0], kcv[1], kcv[2], kcv[3], kcv[4], kcv[5], kcv[6], kcv[7]);
        if (h->json) {
            hj_string(&h->js, "file", h->pos[0]);
            hj_hex(&h->js, "share_kcv", kcv, FK_DKEK_KCV_LEN);
        }
    }
    fk_wipe(pw, sizeof pw);
    fk_wipe(share, sizeof share);
    fk_wipe(file, sizeof file);
    return rc;
}

int hsm_share_file_open(hsm_run_t *h, const char *path, uint8_t share[FK_DKEK_SHARE_LEN])
{
    size_t len = 0;
    uint8_t *file = hsm_read_file(h, path, 4096, &len);
    if (file == NULL) return FK_TOOL_EXIT_FAIL;
    int rc = FK_TOOL_EXIT_OK;
    if (len != FK_DKEK_FILE_LEN || memcmp(file, "Salted__", 8) != 0) {
        rc = hsm_fail(h, "%s is not a DKEK share file (64 bytes starting \"Salted__\")", path);
    }
    uint8_t pw[256];
    size_t pw_len = 0;
    if (rc == FK_TOOL_EXIT_OK) rc = share_password(h, false, pw, sizeof pw, &pw_len);
    if (rc == FK_TOOL_EXIT_OK) {
        progress_t p = {h, "deciphering the DKEK share", 0};
        hsm_progress(h, "deciphering the DKEK share %s, please wait...", path);
        const int c = fk_dkek_file_open(pw, pw_len, file, len, FK_DKEK_FILE_ITERATIONS, progress_cb, &p, share);
        if (c == FK_CRYPTO_EAUTH) rc = hsm_fail(h, "%s does not decrypt: wrong password (or shares), or a damaged file", path);
        else if (c != FK_CRYPTO_OK) rc = hsm_fail(h, "%s is not a DKEK share file", path);
    }
    fk_wipe(pw, sizeof pw);
    fk_wipe(file, len);
    free(file);
    return rc;
}

int hsm_cmd_dkek_check(hsm_run_t *h)
{
    uint8_t share[FK_DKEK_SHARE_LEN], kcv[FK_SHA256_LEN];
    const int rc = hsm_share_file_open(h, h->pos[0], share);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    fk_sha256(share, sizeof share, kcv);
    fk_wipe(share, sizeof share);
    hsm_say(h, "%s: a DKEK share; its key check value %02X%02X%02X%02X%02X%02X%02X%02X", h->pos[0], kcv[0],
            kcv[1], kcv[2], kcv[3], kcv[4], kcv[5], kcv[6], kcv[7]);
    if (h->json) hj_hex(&h->js, "share_kcv", kcv, FK_DKEK_KCV_LEN);
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_dkek_import(hsm_run_t *h)
{
    unsigned d = 0;
    if (!domain_opt(h, &d)) return FK_TOOL_EXIT_USAGE;
    uint8_t share[FK_DKEK_SHARE_LEN];
    int rc = hsm_share_file_open(h, h->pos[0], share);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_IMPORT, (uint8_t)d, share, sizeof share, 256);
    fk_wipe(share, sizeof share);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    if (h->sw != FK_SW_OK) return dkek_refused(h, d, "the DKEK share import");
    hsm_say(h, "DKEK share imported");
    return dkek_report(h, d);
}

/* ---- Key domains ----------------------------------------------------------------------------------- */

static bool domain_arg(hsm_run_t *h, unsigned *d)
{
    uint32_t v = 0;
    if (!fk_parse_uint(h->pos[0], 255, &v)) {
        (void)hsm_fail(h, "a key domain is a number 0-255, not '%s'", h->pos[0]);
        return false;
    }
    *d = v;
    return true;
}

int hsm_cmd_domain_create(hsm_run_t *h)
{
    unsigned d = 0;
    uint32_t shares = 0;
    if (!domain_arg(h, &d)) return FK_TOOL_EXIT_USAGE;
    if (!h->set[HO_SHARES]) {
        (void)hsm_fail(h, "'hsm domain create' needs --shares K (the number of DKEK shares of the domain)");
        return FK_TOOL_EXIT_USAGE;
    }
    if (!hsm_opt_uint(h, HO_SHARES, 1, 255, &shares)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK || hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    const uint8_t k = (uint8_t)shares;
    if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_CREATE, (uint8_t)d, &k, 1, 256) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return dkek_refused(h, d, "creating the key domain");
    hsm_say(h, "key domain %u created for %u DKEK share(s)", d, shares);
    return dkek_report(h, d);
}

int hsm_cmd_domain_list(hsm_run_t *h)
{
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->json) hj_begin_array(&h->js, "domains");
    unsigned shown = 0;
    for (unsigned d = 0; d < MAX_DOMAINS; d++) {
        if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_IMPORT, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK)
            return FK_TOOL_EXIT_FAIL;
        if (h->sw == FK_SW_INCORRECT_P1P2 || h->sw == FK_SW_WRONG_P1P2) break; /* past the last one */
        if (h->sw == FK_SW_INS_NOT_SUPPORTED) {
            if (h->json) hj_end_array(&h->js);
            return dkek_refused(h, d, "listing key domains");
        }
        if (h->json) hj_begin_object(&h->js, NULL);
        if (h->sw == FK_SW_REF_NOT_FOUND) {
            hsm_say(h, "domain %u: not configured", d);
            if (h->json) {
                hj_uint(&h->js, "domain", d);
                hj_bool(&h->js, "configured", false);
            }
        } else if (h->sw == FK_SW_OK && h->resp_len >= DKEK_STATUS_MIN) {
            const uint8_t *r = h->resp;
            if (r[1] > 0u) {
                hsm_say(h, "domain %u: %u share(s), %u still missing", d, r[0], r[1]);
            } else {
                hsm_say(h, "domain %u: %u share(s), KCV %02X%02X%02X%02X%02X%02X%02X%02X", d, r[0], r[2], r[3],
                        r[4], r[5], r[6], r[7], r[8], r[9]);
            }
            if (h->json) {
                hj_uint(&h->js, "domain", d);
                hj_bool(&h->js, "configured", true);
                hj_uint(&h->js, "shares", r[0]);
                hj_uint(&h->js, "outstanding", r[1]);
                hj_hex(&h->js, "kcv", r + 2, 8);
            }
        } else {
            if (h->json) {
                hj_end_object(&h->js);
                hj_end_array(&h->js);
            }
            return hsm_sw_fail(h, "key domain status");
        }
        if (h->json) hj_end_object(&h->js);
        shown++;
    }
    if (h->json) hj_end_array(&h->js);
    if (shown == 0u) hsm_say(h, "no key domains");
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_domain_clear(hsm_run_t *h)
{
    unsigned d = 0;
    if (!domain_arg(h, &d)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    char what[160];
    (void)snprintf(what, sizeof what, "the DKEK of key domain %u is forgotten: its keys cannot be wrapped or "
                                      "unwrapped until all its shares are imported again", d);
    if (!fk_confirm(&h->base, FK_TOKEN_HSM_CLEAR_DKEK, what)) return FK_TOOL_EXIT_FAIL;
    if (hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_CLEAR, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return dkek_refused(h, d, "clearing the DKEK");
    hsm_say(h, "DKEK of key domain %u cleared", d);
    return h->resp_len >= DKEK_STATUS_MIN ? dkek_report(h, d) : FK_TOOL_EXIT_OK;
}

int hsm_cmd_domain_delete(hsm_run_t *h)
{
    unsigned d = 0;
    if (!domain_arg(h, &d)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    /* It must exist now: pico answers 6A88 to a successful delete, which
     * then tells nothing unless the domain was there before. */
    if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_IMPORT, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return dkek_refused(h, d, "key domain status");
    char what[128];
    (void)snprintf(what, sizeof what, "key domain %u and its DKEK are deleted", d);
    if (!fk_confirm(&h->base, FK_TOKEN_HSM_DELETE_DOMAIN, what)) return FK_TOOL_EXIT_FAIL;
    if (hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_DELETE, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw == FK_SW_REF_NOT_FOUND) {
        if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, P1_IMPORT, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK)
            return FK_TOOL_EXIT_FAIL;
        if (h->sw == FK_SW_OK) return hsm_fail(h, "the card answered 6A88 to the delete, but domain %u is still there", d);
    } else if (h->sw != FK_SW_OK) {
        return dkek_refused(h, d, "deleting the key domain");
    }
    hsm_say(h, "key domain %u deleted", d);
    if (h->json) hj_uint(&h->js, "domain", d);
    return FK_TOOL_EXIT_OK;
}
