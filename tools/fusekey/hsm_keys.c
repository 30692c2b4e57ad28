/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_keys.c - keys on the card: generate (GENERATE ASYMMETRIC KEY PAIR 46
 * for RSA, EC, Edwards and Montgomery keys, GENERATE SYMMETRIC KEY 48 for
 * AES), list (ENUMERATE with the kind and size from C4 and CE), delete (CC,
 * C4, CE), export the public key, wrap (72) into sc-hsm-tool's wrap file and
 * unwrap (74) from one, in both transport forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apdu.h"
#include "crypto/ed.h"
#include "cvc.h"
#include "hsm_blob.h"
#include "hsm_tool.h"
#include "util.h"

#define INS_GENERATE_ASYM 0x46u
#define INS_GENERATE_SYM 0x48u
#define INS_WRAP 0x72u
#define INS_UNWRAP 0x74u
#define PREFIX_PRKD 0xC4u
#define PREFIX_KEY 0xCCu
#define PREFIX_CE 0xCEu
#define FID_DEVAUT 0x2F02u
#define FID_UNWRAP 0x2F10u
#define FID(prefix, id) ((uint16_t)((prefix) << 8 | (id)))
#define TEMPLATE_MAX 1024u
#define PRKD_MAX 256u
#define SPKI_MAX 1024u
#define RSA_E_DEFAULT 65537u
#define SERIAL_SUFFIX 5u
#define KCV_LEN 8u
#define CHR_MAX 16u

/* P2 of GENERATE SYMMETRIC KEY by AES key size. */
static uint8_t aes_p2(unsigned bits)
{
    return bits == 128u ? 0xB0u : bits == 192u ? 0xB1u : bits == 256u ? 0xB2u : 0xB3u;
}

/* ---- Shared helpers -------------------------------------------------------------------- */

int hsm_key_public_of(hsm_run_t *h, uint8_t id, fk_host_pub_t *pub)
{
    uint8_t *ce = NULL;
    size_t len = 0;
    char err[160];
    const int rc = hsm_file_read(h, FID(PREFIX_CE, id), &ce, &len);
    if (rc == HSM_FILE_ABSENT) return hsm_fail(h, "key %u has no public key on the card (no CE%02X: an AES key, or none)", id, id);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    const int p = hsm_ce_public(ce, len, pub, err, sizeof err);
    free(ce);
    if (p != 0) return hsm_fail(h, "CE%02X: %s", id, err);
    return FK_TOOL_EXIT_OK;
}

int hsm_key_kind_of(hsm_run_t *h, uint8_t id, hsm_prkd_t *d)
{
    uint8_t *c4 = NULL;
    size_t len = 0;
    memset(d, 0, sizeof *d);
    const int rc = hsm_file_read(h, FID(PREFIX_PRKD, id), &c4, &len);
    if (rc == HSM_FILE_ABSENT) return FK_TOOL_EXIT_OK;
    if (rc != FK_TOOL_EXIT_OK) return rc;
    (void)hsm_prkd_parse(c4, len, d);
    free(c4);
    return FK_TOOL_EXIT_OK;
}

/* The key ids present (CC<id>, 1-255) as a 256-entry map. */
static int key_map(hsm_run_t *h, bool present[256])
{
    uint16_t *fids = NULL;
    size_t n = 0;
    memset(present, 0, 256u * sizeof *present);
    if (hsm_enumerate(h, &fids, &n) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    for (size_t i = 0; i < n; i++)
        if ((fids[i] >> 8) == PREFIX_KEY) present[fids[i] & 0xFFu] = true;
    free(fids);
    return FK_TOOL_EXIT_OK;
}

/* "EC secp256r1", "RSA-2048", "Ed25519" ... of a public key. */
static void pub_text(const fk_host_pub_t *pub, char *out, size_t cap)
{
    switch (pub->kind) {
    case FK_HOST_KEY_RSA:
        (void)snprintf(out, cap, "RSA-%zu", 8u * pub->n_len);
        return;
    case FK_HOST_KEY_ED:
        (void)snprintf(out, cap, "%s", pub->curve == FK_CURVE_X25519 ? "Ed25519" : "Ed448");
        return;
    case FK_HOST_KEY_MONT:
        (void)snprintf(out, cap, "%s", pub->curve == FK_CURVE_X25519 ? "X25519" : "X448");
        return;
    case FK_HOST_KEY_EC:
        for (const hsm_curve_t *const *c = hsm_curves(); *c != NULL; c++) {
            if ((*c)->id == pub->curve && (*c)->family == HSM_KEY_EC) {
                (void)snprintf(out, cap, "EC %s", (*c)->name);
                return;
            }
        }
        break;
    default:
        break;
    }
    (void)snprintf(out, cap, "unknown");
}

/* The device CHR of 2F02 minus its sequence, for key CHRs ("" if none). */
static void device_serial(hsm_run_t *h, char *out, size_t cap)
{
    uint8_t *chain = NULL;
    size_t len = 0;
    fk_cvc_t dev;
    out[0] = '\0';
    if (hsm_file_read(h, FID_DEVAUT, &chain, &len) == 0 && fk_cvc_parse(chain, len, &dev) == FK_CVC_OK &&
        dev.chr.len > SERIAL_SUFFIX) {
        const size_t n = FK_MIN(dev.chr.len - SERIAL_SUFFIX, cap - 1u);
        memcpy(out, dev.chr.p, n);
        out[n] = '\0';
    }
    free(chain);
}

/* Check a generation response: the inner signature with the new key (keys
 * that can sign) and the outer one with the device certificate's key. */
static void check_request(hsm_run_t *h, const uint8_t *req, size_t len, fk_host_pub_t *pub,
                          bool *inner_ok, bool *outer_ok)
{
    char err[160];
    fk_cvc_request_t rq;
    *inner_ok = *outer_ok = false;
    if (hsm_ce_public(req, len, pub, err, sizeof err) != 0) return;
    if (fk_cvc_parse_request(req, len, &rq) != FK_CVC_OK) return;
    fk_pk_public_t pk;
    fk_cvc_alg_t alg;
    if (pub->kind == FK_HOST_KEY_ED) /* pure EdDSA over the body */
        *inner_ok = fk_ed_verify(pub->curve, pub->point, rq.cert.body.p, rq.cert.body.len, rq.cert.sig.p,
                                 rq.cert.sig.len) == FK_CRYPTO_OK;
    else if (fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pk, &alg) == FK_CVC_OK && alg.scheme != FK_CVC_ECDH)
        *inner_ok = fk_cvc_verify(&rq.cert, &pk, &alg) == FK_CVC_OK;
    uint8_t *chain = NULL;
    size_t clen = 0;
    fk_cvc_t dev;
    fk_pk_public_t dpub;
    fk_cvc_alg_t dalg;
    if (rq.authenticated && hsm_file_read(h, FID_DEVAUT, &chain, &clen) == 0 &&
        fk_cvc_parse(chain, clen, &dev) == FK_CVC_OK &&
        fk_cvc_public_key(&dev, FK_CURVE_NONE, &dpub, &dalg) == FK_CVC_OK)
        *outer_ok = fk_cvc_verify_signature(&dpub, &dalg, rq.outer_signed.p, rq.outer_signed.len,
                                            rq.outer_sig.p, rq.outer_sig.len) == FK_CVC_OK;
    free(chain);
}

/* The answer to a key command as a sentence. */
static int key_refused(hsm_run_t *h, uint8_t id, const char *what)
{
    h->error_sw = h->sw;
    switch (h->sw) {
    case FK_SW_FILE_NOT_FOUND:
        return hsm_fail(h, "6A82: there is no key %u", id);
    case FK_SW_FUNC_NOT_SUPPORTED:
        return hsm_fail(h, "6A81: the card does not support this (%s)", what);
    case FK_SW_INS_NOT_SUPPORTED:
        return hsm_fail(h, "6D00: the card's firmware does not have %s", what);
    case FK_SW_CONDITIONS_NOT_SATISFIED:
        return hsm_fail(h, "6985: key %u does not allow this (its algorithm list), or presence was declined", id);
    case FK_SW_REF_NOT_FOUND:
        return hsm_fail(h, "6A88: the key's domain has no complete DKEK (import its shares: `fusekey hsm "
                           "dkek import`)");
    case FK_SW_NOT_ENOUGH_MEMORY:
        return hsm_fail(h, "6A84: the card is full, or key %u's use counter is exhausted", id);
    default:
        return hsm_sw_fail(h, what);
    }
}

/* ---- PEM --------------------------------------------------------------------------------- */

/* Base64 of in with line breaks every 64 characters, into a malloc'd string. */
static char *pem_text(const char *label, const uint8_t *in, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const size_t chars = (len + 2u) / 3u * 4u;
    const size_t cap = chars + chars / 64u + 2u + 2u * strlen(label) + 64u;
    char *out = malloc(cap);
    if (out == NULL) return NULL;
    size_t n = (size_t)snprintf(out, cap, "-----BEGIN %s-----\n", label), col = 0;
    for (size_t i = 0; i < len; i += 3u) {
        const uint32_t v = (uint32_t)in[i] << 16 | (i + 1u < len ? (uint32_t)in[i + 1u] << 8 : 0u) |
                           (i + 2u < len ? in[i + 2u] : 0u);
        const char q[4] = {b64[v >> 18 & 63u], b64[v >> 12 & 63u], i + 1u < len ? b64[v >> 6 & 63u] : '=',
                           i + 2u < len ? b64[v & 63u] : '='};
        for (unsigned k = 0; k < 4u; k++) {
            out[n++] = q[k];
            if (++col == 64u) {
                out[n++] = '\n';
                col = 0;
            }
        }
    }
    if (col != 0u) out[n++] = '\n';
    (void)snprintf(out + n, cap - n, "-----END %s-----\n", label);
    return out;
}

/* ---- generate ----------------------------------------------------------------------------- */

/* The metadata options (--use-counter, --algorithms, --domain). */
static int key_meta(hsm_run_t *h, hsm_key_meta_t *m)
{
    memset(m, 0, sizeof *m);
    char err[160];
    uint32_t v = 0;
    if (h->set[HO_USE_COUNTER]) {
        if (!hsm_opt_uint(h, HO_USE_COUNTER, 1, UINT32_MAX, &v)) return FK_TOOL_EXIT_USAGE;
        m->has_counter = true;
        m->counter = v;
    }
    if (h->set[HO_ALGORITHMS] &&
        !hsm_alg_list_parse(h->val[HO_ALGORITHMS], m->algorithms, sizeof m->algorithms, &m->n_algorithms, err,
                            sizeof err)) {
        (void)hsm_fail(h, "--algorithms: %s", err);
        return FK_TOOL_EXIT_USAGE;
    }
    if (h->set[HO_DOMAIN]) {
        if (!hsm_opt_uint(h, HO_DOMAIN, 0, 255, &v)) return FK_TOOL_EXIT_USAGE;
        m->has_domain = true;
        m->domain = (uint8_t)v;
    }
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_key_generate(hsm_run_t *h)
{
    hsm_key_type_t type;
    hsm_key_meta_t meta;
    char err[400];
    uint32_t e = RSA_E_DEFAULT, idv = 0;
    if (!hsm_key_type_parse(h->pos[0], &type, err, sizeof err)) {
        (void)hsm_fail(h, "%s", err);
        return FK_TOOL_EXIT_USAGE;
    }
    int rc = key_meta(h, &meta);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    if (h->set[HO_EXPONENT]) {
        if (type.family != HSM_KEY_RSA) {
            (void)hsm_fail(h, "--exponent is for RSA keys");
            return FK_TOOL_EXIT_USAGE;
        }
        if (!hsm_opt_uint(h, HO_EXPONENT, 3, UINT32_MAX, &e) || e % 2u == 0u) {
            (void)hsm_fail(h, "--exponent takes an odd number of at least 3");
            return FK_TOOL_EXIT_USAGE;
        }
    }
    if (h->set[HO_ID] && !hsm_opt_uint(h, HO_ID, 1, 255, &idv)) return FK_TOOL_EXIT_USAGE;
    if (h->set[HO_LABEL] && (strlen(h->val[HO_LABEL]) == 0u || strlen(h->val[HO_LABEL]) > 64u)) {
        (void)hsm_fail(h, "--label takes 1-64 characters");
        return FK_TOOL_EXIT_USAGE;
    }
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    bool present[256];
    if (key_map(h, present) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t id = (uint8_t)idv;
    if (id != 0u && present[id]) return hsm_fail(h, "key %u exists: `fusekey hsm key delete %u` first, or choose another --id", id, id);
    for (unsigned k = 1; id == 0u && k < 256u; k++)
        if (!present[k]) id = (uint8_t)k;
    if (id == 0u) return hsm_fail(h, "all 255 key ids are in use");
    if (hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;

    char kind[48];
    if (type.family == HSM_KEY_AES) {
        uint8_t data[64];
        size_t len = 0;
        (void)hsm_key_meta_tlvs(&meta, data, sizeof data, &len);
        (void)snprintf(kind, sizeof kind, "AES-%u", type.bits);
        if (hsm_apdu(h, 0x00, INS_GENERATE_SYM, id, aes_p2(type.bits), data, len, 0) != FK_TOOL_EXIT_OK)
            return FK_TOOL_EXIT_FAIL;
        if (h->sw != FK_SW_OK) return key_refused(h, id, "GENERATE SYMMETRIC KEY");
        hsm_say(h, "key %u: %s generated", id, kind);
    } else {
        uint8_t tmpl[TEMPLATE_MAX];
        size_t len = 0;
        char serial[CHR_MAX + 1], chr[CHR_MAX + 8];
        device_serial(h, serial, CHR_MAX - SERIAL_SUFFIX + 1u);
        (void)snprintf(chr, sizeof chr, "%s%05u", serial[0] != '\0' ? serial : "UTCDUMMY", id);
        if (hsm_key_template(&type, e, chr, &meta, false, tmpl, sizeof tmpl, &len) != 0)
            return hsm_fail(h, "internal: the key template does not fit");
        if (type.family == HSM_KEY_RSA) {
            hsm_progress(h, "generating an RSA-%u key on the card (a prime search: seconds to minutes)...", type.bits);
        }
        const time_t t0 = time(NULL);
        if (hsm_apdu(h, 0x00, INS_GENERATE_ASYM, id, 0x00, tmpl, len, 65536u) != FK_TOOL_EXIT_OK)
            return FK_TOOL_EXIT_FAIL;
        if (h->sw == FK_SW_FUNC_NOT_SUPPORTED && type.family == HSM_KEY_MONT) {
            /* pico's form (id-TA-ECDSA, 83 = the base point) refused: some
             * cards take a Montgomery template only under id-RI-ECDH. */
            if (hsm_key_template(&type, e, chr, &meta, true, tmpl, sizeof tmpl, &len) != 0 ||
                hsm_apdu(h, 0x00, INS_GENERATE_ASYM, id, 0x00, tmpl, len, 65536u) != FK_TOOL_EXIT_OK)
                return FK_TOOL_EXIT_FAIL;
        }
        if (type.family == HSM_KEY_RSA) hsm_progress(h, "done after %ld s", (long)(time(NULL) - t0));
        if (h->sw != FK_SW_OK) return key_refused(h, id, h->pos[0]);
        uint8_t *req = malloc(h->resp_len + 1u);
        if (req == NULL) return hsm_fail(h, "out of memory");
        const size_t req_len = h->resp_len;
        memcpy(req, h->resp, req_len);
        fk_host_pub_t pub;
        bool inner_ok = false, outer_ok = false;
        check_request(h, req, req_len, &pub, &inner_ok, &outer_ok);
        free(req);
        if (pub.kind == FK_HOST_KEY_NONE) return hsm_fail(h, "key %u was generated, but its request does not decode", id);
        pub_text(&pub, kind, sizeof kind);
        const bool signs = pub.kind != FK_HOST_KEY_MONT;
        hsm_say(h, "key %u: %s generated; request in CE%02X (%s%s)", id, kind, id,
                signs ? (inner_ok ? "self-signature valid, " : "self-signature INVALID, ") : "",
                outer_ok ? "device signature valid" : "device signature not verified");
        if (signs && !inner_ok) return hsm_fail(h, "the request's self-signature does not verify");
        if (h->json) {
            uint8_t spki[SPKI_MAX];
            size_t sl = 0;
            if (fk_host_spki_encode(&pub, spki, sizeof spki, &sl) == FK_CRYPTO_OK) hj_hex(&h->js, "spki", spki, sl);
            hj_bool(&h->js, "device_signature_valid", outer_ok);
        }
    }
    if (h->set[HO_LABEL]) {
        uint8_t prkd[PRKD_MAX];
        size_t pl = 0;
        if (hsm_prkd_build(type.family, type.bits, h->val[HO_LABEL], id, prkd, sizeof prkd, &pl) != 0)
            return hsm_fail(h, "internal: the key description does not fit");
        if (hsm_file_write(h, FID(PREFIX_PRKD, id), prkd, pl) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        hsm_say(h, "label: %s (C4%02X)", h->val[HO_LABEL], id);
    }
    if (h->json) {
        hj_uint(&h->js, "id", id);
        hj_string(&h->js, "type", kind);
    }
    return FK_TOOL_EXIT_OK;
}

/* ---- list / delete / public ---------------------------------------------------------------------- */

int hsm_cmd_key_list(hsm_run_t *h)
{
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    bool present[256];
    if (key_map(h, present) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    unsigned n = 0;
    if (h->json) hj_begin_array(&h->js, "keys");
    for (unsigned id = h->set[HO_ALL] ? 0u : 1u; id < 256u; id++) {
        if (!present[id]) continue;
        hsm_prkd_t d;
        fk_host_pub_t pub;
        char kind[48], err[160];
        uint8_t *ce = NULL;
        size_t ce_len = 0;
        if (hsm_key_kind_of(h, (uint8_t)id, &d) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        const int rc = hsm_file_read(h, FID(PREFIX_CE, id), &ce, &ce_len);
        if (rc == FK_TOOL_EXIT_FAIL) return rc;
        memset(&pub, 0, sizeof pub);
        if (rc == 0 && hsm_ce_public(ce, ce_len, &pub, err, sizeof err) == 0) {
            pub_text(&pub, kind, sizeof kind);
        } else if (d.family == HSM_KEY_AES) {
            (void)snprintf(kind, sizeof kind, d.bits ? "AES-%u" : "AES", d.bits);
        } else if (d.family == HSM_KEY_RSA) {
            (void)snprintf(kind, sizeof kind, d.bits ? "RSA-%u" : "RSA", d.bits);
        } else if (d.family == HSM_KEY_EC) {
            (void)snprintf(kind, sizeof kind, d.bits ? "EC, %u bits" : "EC", d.bits);
        } else {
            (void)snprintf(kind, sizeof kind, "unknown (no C4/CE)");
        }
        free(ce);
        hsm_say(h, "key %u: %s%s%s%s", id, kind, d.label[0] ? ", label \"" : "", d.label, d.label[0] ? "\"" : "");
        if (h->json) {
            hj_begin_object(&h->js, NULL);
            hj_uint(&h->js, "id", id);
            hj_string(&h->js, "type", kind);
            if (d.bits) hj_uint(&h->js, "bits", d.bits);
            hj_string(&h->js, "label", d.label);
            hj_bool(&h->js, "public_key", pub.kind != FK_HOST_KEY_NONE);
            hj_end_object(&h->js);
        }
        n++;
    }
    if (h->json) hj_end_array(&h->js);
    if (n == 0u) hsm_say(h, "no keys");
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_key_delete(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!hsm_parse_key_id(h, h->pos[0], &id)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    bool present[256];
    if (key_map(h, present) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (!present[id]) return hsm_fail(h, "there is no key %u", id);
    char what[128];
    (void)snprintf(what, sizeof what, "key %u is destroyed (CC%02X, its description C4%02X and its "
                                      "certificate CE%02X)", id, id, id, id);
    if (!fk_confirm(&h->base, FK_TOKEN_HSM_DELETE_KEY, what)) return FK_TOOL_EXIT_FAIL;
    if (hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    int rc = hsm_file_delete(h, FID(PREFIX_KEY, id));
    if (rc == HSM_FILE_ABSENT) return hsm_fail(h, "there is no key %u", id);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    rc = hsm_file_delete(h, FID(PREFIX_PRKD, id));
    if (rc == FK_TOOL_EXIT_FAIL) return rc;
    rc = hsm_file_delete(h, FID(PREFIX_CE, id));
    if (rc == FK_TOOL_EXIT_FAIL) return rc;
    hsm_say(h, "key %u deleted", id);
    if (h->json) hj_uint(&h->js, "id", id);
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_key_public(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!hsm_parse_key_id(h, h->pos[0], &id)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    fk_host_pub_t pub;
    if (hsm_key_public_of(h, id, &pub) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t spki[SPKI_MAX];
    size_t len = 0;
    if (fk_host_spki_encode(&pub, spki, sizeof spki, &len) != FK_CRYPTO_OK)
        return hsm_fail(h, "key %u's public key cannot be written as SubjectPublicKeyInfo", id);
    char *pem = pem_text("PUBLIC KEY", spki, len);
    if (pem == NULL) return hsm_fail(h, "out of memory");
    int rc = FK_TOOL_EXIT_OK;
    char kind[48];
    pub_text(&pub, kind, sizeof kind);
    if (h->set[HO_OUT]) {
        rc = hsm_write_file(h, h->val[HO_OUT], (const uint8_t *)pem, strlen(pem), false, false);
        if (rc == FK_TOOL_EXIT_OK) hsm_say(h, "key %u: %s public key written to %s", id, kind, h->val[HO_OUT]);
    } else if (!h->json) {
        (void)fputs(pem, h->base.t->out);
    }
    if (h->json) {
        hj_uint(&h->js, "id", id);
        hj_string(&h->js, "type", kind);
        hj_hex(&h->js, "spki", spki, len);
        hj_string(&h->js, "pem", pem);
    }
    free(pem);
    return rc;
}

/* ---- wrap / unwrap ---------------------------------------------------------------------------------- */

/* A file of the card as a malloc'd copy (NULL, 0 when absent). */
static int optional_file(hsm_run_t *h, uint16_t fid, uint8_t **data, size_t *len)
{
    const int rc = hsm_file_read(h, fid, data, len);
    if (rc == HSM_FILE_ABSENT) {
        *data = NULL;
        *len = 0;
        return FK_TOOL_EXIT_OK;
    }
    return rc;
}

int hsm_cmd_key_wrap(hsm_run_t *h)
{
    uint8_t id = 0;
    if (!hsm_parse_key_id(h, h->pos[0], &id)) return FK_TOOL_EXIT_USAGE;
    if (hsm_open(h) != FK_TOOL_EXIT_OK || hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (hsm_apdu(h, 0x80, INS_WRAP, id, HSM_ALG_WRAP, NULL, 0, 65536u) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    if (h->sw != FK_SW_OK) return key_refused(h, id, "WRAP KEY");
    if (h->resp_len < KCV_LEN + 1u) return hsm_fail(h, "the wrapped key is only %zu bytes", h->resp_len);
    const size_t blob_len = h->resp_len;
    uint8_t *blob = malloc(blob_len);
    uint8_t *c4 = NULL, *ce = NULL, *file = NULL;
    size_t c4_len = 0, ce_len = 0, file_len = 0;
    int rc = blob != NULL ? FK_TOOL_EXIT_OK : hsm_fail(h, "out of memory");
    if (rc == FK_TOOL_EXIT_OK) memcpy(blob, h->resp, blob_len);
    if (rc == FK_TOOL_EXIT_OK) rc = optional_file(h, FID(PREFIX_PRKD, id), &c4, &c4_len);
    if (rc == FK_TOOL_EXIT_OK) rc = optional_file(h, FID(PREFIX_CE, id), &ce, &ce_len);
    /* Files hold exactly their TLV; keep that TLV only, as sc-hsm-tool does. */
    if (rc == FK_TOOL_EXIT_OK) {
        c4_len = c4_len ? hsm_tlv_size(c4, c4_len) : 0u;
        ce_len = ce_len ? hsm_tlv_size(ce, ce_len) : 0u;
        if (hsm_wrap_file_build(blob, blob_len, c4, c4_len, ce, ce_len, &file, &file_len) != 0)
            rc = hsm_fail(h, "out of memory");
    }
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_write_file(h, h->pos[1], file, file_len, false, !h->set[HO_FORCE]);
    if (rc == FK_TOOL_EXIT_OK) {
        hsm_say(h, "key %u wrapped into %s: blob %zu bytes (type %u, DKEK KCV %02X%02X%02X%02X%02X%02X%02X%02X)%s%s",
                id, h->pos[1], blob_len, blob[KCV_LEN], blob[0], blob[1], blob[2], blob[3], blob[4], blob[5], blob[6],
                blob[7], c4_len ? ", with its description" : "", ce_len ? " and certificate" : "");
        if (h->json) {
            hj_uint(&h->js, "id", id);
            hj_string(&h->js, "file", h->pos[1]);
            hj_uint(&h->js, "blob_bytes", blob_len);
            hj_hex(&h->js, "kcv", blob, KCV_LEN);
        }
    }
    free(blob);
    free(c4);
    free(ce);
    free(file);
    return rc;
}

/* UNWRAP KEY of blob into key id: extended Lc (default) or through 2F10. */
static int unwrap_blob(hsm_run_t *h, uint8_t id, const uint8_t *blob, size_t len)
{
    if (h->set[HO_VIA_2F10]) {
        if (hsm_file_write(h, FID_UNWRAP, blob, len) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
        if (hsm_apdu(h, 0x80, INS_UNWRAP, id, HSM_ALG_UNWRAP, NULL, 0, 0) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    } else if (hsm_apdu_ext_nole(h, 0x80, INS_UNWRAP, id, HSM_ALG_UNWRAP, blob, len) != FK_TOOL_EXIT_OK) {
        return FK_TOOL_EXIT_FAIL;
    }
    if (h->sw == FK_SW_WRONG_DATA || h->sw == FK_SW_EXEC_ERROR) {
        h->error_sw = h->sw;
        return hsm_fail(h, "%04X: the wrapped key does not match the DKEK (its KCV or MAC), or is damaged", h->sw);
    }
    if (h->sw != FK_SW_OK) return key_refused(h, id, "UNWRAP KEY");
    return FK_TOOL_EXIT_OK;
}

/* The target id must be free, or (--force, confirmed) is cleared first. */
static int make_room(hsm_run_t *h, uint8_t id)
{
    bool present[256];
    if (key_map(h, present) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    uint8_t *f = NULL;
    size_t fl = 0;
    int rc_c4 = hsm_file_read(h, FID(PREFIX_PRKD, id), &f, &fl);
    free(f);
    f = NULL;
    int rc_ce = rc_c4 == FK_TOOL_EXIT_FAIL ? rc_c4 : hsm_file_read(h, FID(PREFIX_CE, id), &f, &fl);
    free(f);
    if (rc_c4 == FK_TOOL_EXIT_FAIL || rc_ce == FK_TOOL_EXIT_FAIL) return FK_TOOL_EXIT_FAIL;
    if (!present[id] && rc_c4 == HSM_FILE_ABSENT && rc_ce == HSM_FILE_ABSENT) return FK_TOOL_EXIT_OK;
    if (!h->set[HO_FORCE])
        return hsm_fail(h, "key id %u is in use (%s): delete it first, choose another id, or --force", id,
                        present[id] ? "a key" : "a description or certificate");
    char what[128];
    (void)snprintf(what, sizeof what, "what key id %u holds now (the key, C4%02X, CE%02X) is replaced", id, id, id);
    if (!fk_confirm(&h->base, FK_TOKEN_HSM_OVERWRITE_KEY, what)) return FK_TOOL_EXIT_FAIL;
    if (hsm_login(h) != FK_TOOL_EXIT_OK) return FK_TOOL_EXIT_FAIL;
    const uint16_t fids[] = {FID(PREFIX_KEY, id), FID(PREFIX_PRKD, id), FID(PREFIX_CE, id)};
    for (size_t i = 0; i < FK_ARRAY_SIZE(fids); i++)
        if (hsm_file_delete(h, fids[i]) == FK_TOOL_EXIT_FAIL) return FK_TOOL_EXIT_FAIL;
    return FK_TOOL_EXIT_OK;
}

int hsm_cmd_key_unwrap(hsm_run_t *h)
{
    uint8_t id = 0;
    char err[160];
    if (!hsm_parse_key_id(h, h->pos[0], &id)) return FK_TOOL_EXIT_USAGE;
    size_t len = 0;
    uint8_t *file = hsm_read_file(h, h->pos[1], 16u * 1024u, &len);
    if (file == NULL) return FK_TOOL_EXIT_FAIL;
    hsm_wrap_file_t w;
    int rc = FK_TOOL_EXIT_OK;
    if (hsm_wrap_file_parse(file, len, &w, err, sizeof err) != 0) rc = hsm_fail(h, "%s: %s", h->pos[1], err);
    if (rc == FK_TOOL_EXIT_OK && w.blob_len < KCV_LEN + 1u) rc = hsm_fail(h, "%s: the key blob is too short", h->pos[1]);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = make_room(h, id);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK) rc = unwrap_blob(h, id, w.blob, w.blob_len);
    /* The description and certificate of the file replace what the card made. */
    if (rc == FK_TOOL_EXIT_OK && w.prkd_len > 0u) rc = hsm_file_write(h, FID(PREFIX_PRKD, id), w.prkd, w.prkd_len);
    if (rc == FK_TOOL_EXIT_OK && w.cert_len > 0u) rc = hsm_file_write(h, FID(PREFIX_CE, id), w.cert, w.cert_len);
    if (rc == FK_TOOL_EXIT_OK) {
        hsm_say(h, "key %u unwrapped from %s (blob type %u, DKEK KCV %02X%02X%02X%02X%02X%02X%02X%02X, %s)", id,
                h->pos[1], w.blob[KCV_LEN], w.blob[0], w.blob[1], w.blob[2], w.blob[3], w.blob[4], w.blob[5],
                w.blob[6], w.blob[7], h->set[HO_VIA_2F10] ? "through 2F10" : "extended APDU");
        if (h->json) {
            hj_uint(&h->js, "id", id);
            hj_hex(&h->js, "kcv", w.blob, KCV_LEN);
            hj_bool(&h->js, "description", w.prkd_len > 0u);
            hj_bool(&h->js, "certificate", w.cert_len > 0u);
        }
    }
    free(file);
    return rc;
}

/* ---- import (PKCS#12, the blob made on the host) ------------------------------------------------- */

#define INS_MANAGE_DKEK 0x52u
#define DKEK_STATUS_MIN 10u
#define MAX_DOMAINS 256u

/* The DKEK as the XOR of every --dkek-share file. */
static int dkek_from_shares(hsm_run_t *h, uint8_t dkek[HSM_BLOB_DKEK_LEN])
{
    memset(dkek, 0, HSM_BLOB_DKEK_LEN);
    for (unsigned i = 0; i < h->n_dkek_files; i++) {
        uint8_t share[FK_DKEK_SHARE_LEN];
        if (hsm_share_file_open(h, h->dkek_files[i], share) != FK_TOOL_EXIT_OK) {
            fk_wipe(dkek, HSM_BLOB_DKEK_LEN);
            return FK_TOOL_EXIT_FAIL;
        }
        for (unsigned k = 0; k < HSM_BLOB_DKEK_LEN; k++) dkek[k] ^= share[k];
        fk_wipe(share, sizeof share);
    }
    return FK_TOOL_EXIT_OK;
}

/* The key domain whose complete DKEK has this KCV (-1: none). */
static int domain_of_kcv(hsm_run_t *h, const uint8_t kcv[HSM_BLOB_KCV_LEN], int *domain)
{
    *domain = -1;
    for (unsigned d = 0; d < MAX_DOMAINS && *domain < 0; d++) {
        if (hsm_apdu(h, 0x80, INS_MANAGE_DKEK, 0x00, (uint8_t)d, NULL, 0, 256) != FK_TOOL_EXIT_OK)
            return FK_TOOL_EXIT_FAIL;
        if (h->sw == FK_SW_INCORRECT_P1P2 || h->sw == FK_SW_WRONG_P1P2 || h->sw == FK_SW_INS_NOT_SUPPORTED) break;
        if (h->sw == FK_SW_OK && h->resp_len >= DKEK_STATUS_MIN && h->resp[0] > 0u && h->resp[1] == 0u &&
            memcmp(h->resp + 2, kcv, HSM_BLOB_KCV_LEN) == 0)
            *domain = (int)d;
    }
    return FK_TOOL_EXIT_OK;
}

/* The blob's view of a PKCS#12 key; pub gets the public half it needs
 * (computed for Montgomery and Edwards keys). */
static int p12_blob_key(hsm_run_t *h, const fk_p12_t *p, const hsm_key_meta_t *meta, hsm_blob_key_t *k,
                        uint8_t *pub, size_t cap, uint8_t *scratch, size_t scratch_cap)
{
    memset(k, 0, sizeof *k);
    k->algs = (fk_bytes_t){meta->algorithms, meta->n_algorithms};
    k->has_counter = meta->has_counter;
    k->counter = meta->counter;
    switch (p->kind) {
    case FK_HOST_KEY_RSA: {
        unsigned bits = (unsigned)(8u * p->n_len);
        for (uint8_t top = p->n[0]; top != 0u && (top & 0x80u) == 0u; top <<= 1) bits--;
        if (bits < 1024u || bits > 4096u) return hsm_fail(h, "an RSA key of %u bits: the card takes 1024-4096", bits);
        k->kind = HSM_BLOB_KIND_RSA;
        k->bits = (uint16_t)bits;
        k->n = (fk_bytes_t){p->n, p->n_len};
        k->e = (fk_bytes_t){p->e, p->e_len};
        k->d = (fk_bytes_t){p->d, p->d_len};
        return FK_TOOL_EXIT_OK;
    }
    case FK_HOST_KEY_EC:
        k->kind = HSM_BLOB_KIND_EC;
        k->curve = p->curve;
        k->priv = (fk_bytes_t){p->d, p->d_len};
        if (!p->have_pub || p->pub.point_len > cap) return hsm_fail(h, "the file's EC key has no public point");
        memcpy(pub, p->pub.point, p->pub.point_len);
        k->pub = (fk_bytes_t){pub, p->pub.point_len};
        return FK_TOOL_EXIT_OK;
    case FK_HOST_KEY_MONT: {
        size_t bl = 0;
        fk_pk_key_t pk;
        k->kind = HSM_BLOB_KIND_MONT;
        k->curve = p->curve;
        k->priv = (fk_bytes_t){p->d, p->d_len};
        if (fk_pk_ec_import(p->curve, p->d, p->d_len, scratch, scratch_cap, &bl) != FK_CRYPTO_OK ||
            fk_pk_parse(scratch, bl, &pk) != FK_CRYPTO_OK || pk.pub.len > cap)
            return hsm_fail(h, "the file's X25519/X448 key is not valid");
        memcpy(pub, pk.pub.p, pk.pub.len);
        k->pub = (fk_bytes_t){pub, pk.pub.len};
        fk_wipe(scratch, bl);
        return FK_TOOL_EXIT_OK;
    }
    case FK_HOST_KEY_ED: {
        const size_t n = fk_ed_key_len(p->curve);
        k->kind = HSM_BLOB_KIND_EDWARDS;
        k->curve = p->curve;
        k->priv = (fk_bytes_t){p->d, p->d_len};
        if (n == 0u || n > cap || p->d_len != n || fk_ed_public(p->curve, p->d, pub) != FK_CRYPTO_OK)
            return hsm_fail(h, "the file's EdDSA key is not valid");
        k->pub = (fk_bytes_t){pub, n};
        if (p->have_pub && (p->pub.point_len != n || memcmp(p->pub.point, pub, n) != 0))
            return hsm_fail(h, "the file's certificate is not for its Ed25519/Ed448 key");
        return FK_TOOL_EXIT_OK;
    }
    default:
        return hsm_fail(h, "the file holds no key this tool imports");
    }
}

int hsm_cmd_key_import(hsm_run_t *h)
{
    uint8_t id = 0;
    hsm_key_meta_t meta;
    if (!hsm_parse_key_id(h, h->pos[0], &id)) return FK_TOOL_EXIT_USAGE;
    int rc = key_meta(h, &meta);
    if (rc != FK_TOOL_EXIT_OK) return rc;
    if (h->n_dkek_files == 0u) {
        (void)hsm_fail(h, "--dkek-share FILE is needed, once per share of the DKEK the key is to be made under");
        return FK_TOOL_EXIT_USAGE;
    }
    if (h->set[HO_LABEL] && (strlen(h->val[HO_LABEL]) == 0u || strlen(h->val[HO_LABEL]) > 64u)) {
        (void)hsm_fail(h, "--label takes 1-64 characters");
        return FK_TOOL_EXIT_USAGE;
    }
    size_t file_len = 0;
    uint8_t *file = hsm_read_file(h, h->pos[1], FK_P12_MAX, &file_len);
    if (file == NULL) return FK_TOOL_EXIT_FAIL;
    fk_p12_t *p = calloc(1, sizeof *p);
    uint8_t *blob = malloc(HSM_BLOB_MAX), *scratch = malloc(FK_PK_BLOB_MAX);
    uint8_t dkek[HSM_BLOB_DKEK_LEN], kcv[HSM_BLOB_KCV_LEN], rnd[HSM_BLOB_RANDOM_LEN], pub[FK_EC_POINT_MAX];
    size_t blob_len = 0;
    char kind[48] = "";
    hsm_blob_key_t k;
    memset(dkek, 0, sizeof dkek);
    rc = p != NULL && blob != NULL && scratch != NULL ? FK_TOOL_EXIT_OK : hsm_fail(h, "out of memory");
    if (rc == FK_TOOL_EXIT_OK) {
        char *pw = hsm_secret(h, HO_P12_PASSWORD, "FUSEKEY_P12_PASSWORD", "Password of the PKCS#12 file: ", false);
        if (pw == NULL) {
            rc = FK_TOOL_EXIT_FAIL;
        } else {
            const int r = fk_p12_read(file, file_len, (const uint8_t *)pw, strlen(pw), p);
            hsm_forget(pw);
            if (r == FK_CRYPTO_EAUTH) rc = hsm_fail(h, "%s: wrong password (its MAC or a bag does not decrypt)", h->pos[1]);
            else if (r == FK_HOST_EUNSUPPORTED)
                rc = hsm_fail(h, "%s: an algorithm or key type this tool does not read (PBES2/AES, 3DES; "
                                 "RSA, EC, X25519/X448, Ed25519/Ed448)", h->pos[1]);
            else if (r != FK_CRYPTO_OK) rc = hsm_fail(h, "%s is not a PKCS#12 file with a private key", h->pos[1]);
        }
    }
    if (rc == FK_TOOL_EXIT_OK) rc = p12_blob_key(h, p, &meta, &k, pub, sizeof pub, scratch, FK_PK_BLOB_MAX);
    if (rc == FK_TOOL_EXIT_OK && p->cert_skipped)
        hsm_progress(h, "note: a certificate bag of %s could not be decrypted (e.g. RC2): the key comes without it", h->pos[1]);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_open(h);
    if (rc == FK_TOOL_EXIT_OK) rc = dkek_from_shares(h, dkek);
    int domain = -1;
    if (rc == FK_TOOL_EXIT_OK) {
        hsm_blob_kcv(dkek, kcv);
        rc = domain_of_kcv(h, kcv, &domain);
        if (rc == FK_TOOL_EXIT_OK && domain < 0)
            rc = hsm_fail(h, "no key domain of the card has this DKEK (KCV %02X%02X%02X%02X%02X%02X%02X%02X) complete: "
                             "import its shares first (`fusekey hsm dkek import`)", kcv[0], kcv[1], kcv[2], kcv[3],
                          kcv[4], kcv[5], kcv[6], kcv[7]);
    }
    if (rc == FK_TOOL_EXIT_OK && h->base.t->random(h->base.t->random_arg, rnd, sizeof rnd) != 0)
        rc = hsm_fail(h, "the host's random source failed");
    if (rc == FK_TOOL_EXIT_OK) {
        const int e = hsm_blob_encode(&k, dkek, rnd, blob, HSM_BLOB_MAX, &blob_len);
        if (e != HSM_BLOB_OK) rc = hsm_fail(h, "the key cannot be written as a key blob (%d)", e);
    }
    fk_wipe(dkek, sizeof dkek);
    if (rc == FK_TOOL_EXIT_OK) rc = make_room(h, id);
    if (rc == FK_TOOL_EXIT_OK) rc = hsm_login(h);
    if (rc == FK_TOOL_EXIT_OK) rc = unwrap_blob(h, id, blob, blob_len);
    if (rc == FK_TOOL_EXIT_OK && p->cert_len > 0u) rc = hsm_file_write(h, FID(PREFIX_CE, id), p->cert, p->cert_len);
    if (rc == FK_TOOL_EXIT_OK && h->set[HO_LABEL]) {
        uint8_t prkd[PRKD_MAX];
        size_t pl = 0;
        const hsm_key_family_t fam = p->kind == FK_HOST_KEY_RSA ? HSM_KEY_RSA : HSM_KEY_EC;
        const fk_curve_info_t *ci = fk_curve_info(p->curve);
        const unsigned bits = p->kind == FK_HOST_KEY_RSA ? k.bits : ci != NULL ? 8u * ci->field_len : 0u;
        rc = hsm_prkd_build(fam, bits, h->val[HO_LABEL], id, prkd, sizeof prkd, &pl) == 0
                 ? hsm_file_write(h, FID(PREFIX_PRKD, id), prkd, pl)
                 : hsm_fail(h, "internal: the key description does not fit");
    }
    /* What the card now says the public key is must be the file's. */
    if (rc == FK_TOOL_EXIT_OK) {
        fk_host_pub_t now;
        rc = hsm_key_public_of(h, id, &now);
        const bool same = rc == FK_TOOL_EXIT_OK &&
                          (p->kind == FK_HOST_KEY_RSA ? now.n_len == p->n_len && memcmp(now.n, p->n, p->n_len) == 0
                                                      : now.point_len == k.pub.len &&
                                                            memcmp(now.point, k.pub.p, k.pub.len) == 0);
        if (rc == FK_TOOL_EXIT_OK && !same) rc = hsm_fail(h, "key %u's public key on the card is not the file's", id);
        if (rc == FK_TOOL_EXIT_OK) pub_text(&now, kind, sizeof kind);
    }
    if (rc == FK_TOOL_EXIT_OK) {
        hsm_say(h, "key %u imported from %s: %s, through a blob under the DKEK of key domain %d (KCV "
                   "%02X%02X%02X%02X%02X%02X%02X%02X)%s",
                id, h->pos[1], kind, domain, kcv[0], kcv[1], kcv[2], kcv[3], kcv[4], kcv[5], kcv[6], kcv[7],
                p->cert_len > 0u ? "; its certificate in CE" : "");
        if (h->json) {
            hj_uint(&h->js, "id", id);
            hj_string(&h->js, "type", kind);
            hj_uint(&h->js, "domain", (unsigned)domain);
            hj_hex(&h->js, "kcv", kcv, sizeof kcv);
            hj_bool(&h->js, "certificate", p->cert_len > 0u);
        }
    }
    if (p != NULL) {
        fk_p12_wipe(p);
        free(p);
    }
    if (blob != NULL) {
        fk_wipe(blob, HSM_BLOB_MAX);
        free(blob);
    }
    if (scratch != NULL) {
        fk_wipe(scratch, FK_PK_BLOB_MAX);
        free(scratch);
    }
    fk_wipe(&k, sizeof k);
    fk_wipe(file, file_len);
    free(file);
    return rc;
}
