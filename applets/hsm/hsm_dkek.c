/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_dkek.c - key domains and their device key encryption keys (DKEK):
 * MANAGE KEY DOMAIN (80 52), the records INITIALIZE writes for them, and
 * the DKEK that WRAP and UNWRAP (hsm_wrap.c) ask for. docs/key-domains.md
 * gives the command, docs/dkek.md the shares, the record and the KCV.
 *
 *   main space (FK_NS_HSM)
 *   HSM_ID_DOMAIN(d)  0x1090 + d, d = 0..15: domain d, sealed
 *                     { version, total, outstanding, flags, value(32) }
 *                     absent: the domain is not configured
 *
 * IMPLEMENTATION NOTE: a domain record is sealed under the device's root
 * (core/seal) and not under the master key, which only a verified PIN
 * brings into RAM: sc-hsm-tool imports shares without a PIN and expects the
 * KCV of a complete DKEK without one. The DKEK never leaves the card except
 * inside the WRAP blob, and WRAP and UNWRAP need the PIN.
 *
 * IMPLEMENTATION NOTE: every command here changes at most one record, with
 * one store operation (a write or a delete): a power cut leaves the domain
 * as before or as after the command. A share is XORed into the value and
 * the outstanding count lowered in that same write.
 */
#include <string.h>

#include "hsm_internal.h"

#include "crypto/crypto.h"
#include "seal/seal.h"
#include "services/keyobj.h"
#include "store/space.h"
#include "util.h"

#define INS_MANAGE_KEY_DOMAIN 0x52u

/* MANAGE KEY DOMAIN P1 */
#define P1_IMPORT 0x00u /* no data: status; 32 bytes: import a share */
#define P1_CREATE 0x01u /* 1 byte: create a DKEK domain expecting n shares */
#define P1_XKEK 0x02u   /* create an XKEK domain (not supported) */
#define P1_DELETE 0x03u /* delete the domain */
#define P1_CLEAR 0x04u  /* forget the DKEK: every share outstanding again */

#define SHARE_LEN HSM_DKEK_LEN
#define STATUS_LEN (2u + HSM_KCV_LEN)

/* ---- The domain record (sealed, docs/dkek.md) ----------------------------- */
#define DOMAIN_VERSION 1u
#define DOMAIN_REC_LEN (4u + HSM_DKEK_LEN)
#define DOMAIN_F_COMPLETE 0x01u /* value is the DKEK */

typedef struct domain_rec {
    uint8_t total;       /* shares the DKEK is made of (0: none; random or no DKEK) */
    uint8_t outstanding; /* shares still to import */
    bool complete;       /* value is the DKEK */
    uint8_t value[HSM_DKEK_LEN]; /* the DKEK, or the XOR of the shares so far */
} domain_rec_t;

_Static_assert(HSM_ID_DOMAIN_LAST < HSM_ID_INTERNAL_LAST && HSM_ID_DOMAIN_FIRST > HSM_ID_SO_PIN,
               "domain records are internal ids (erased by INITIALIZE)");

static fk_sw_t seal_sw(int rc)
{
    switch (rc) {
    case FK_SEAL_OK: return FK_SW_OK;
    case FK_SEAL_EFULL: return FK_SW_NOT_ENOUGH_MEMORY;
    case FK_SEAL_ERNG:
    case FK_SEAL_ECRYPTO: return FK_SW_EXEC_ERROR;
    default: return FK_SW_MEMORY_FAILURE;
    }
}

/* Read domain d: FK_SW_OK, 6A88 when it has no record (not configured),
 * 6581 when the record does not open or breaks an invariant. *rec is
 * wiped on failure. */
static fk_sw_t domain_load(const fk_applet_ctx_t *ctx, uint8_t d, domain_rec_t *rec)
{
    uint8_t b[DOMAIN_REC_LEN];
    size_t n = 0;
    fk_sw_t sw = FK_SW_MEMORY_FAILURE;
    const int rc = fk_seal_load(&ctx->space, HSM_ID_DOMAIN(d), b, sizeof(b), &n);

    memset(rec, 0, sizeof(*rec));
    if (rc == FK_SEAL_ENOENT) return FK_SW_REF_NOT_FOUND;
    if (rc == FK_SEAL_OK && n == DOMAIN_REC_LEN && b[0] == DOMAIN_VERSION &&
        (b[3] & ~DOMAIN_F_COMPLETE) == 0 && b[2] <= b[1]) {
        rec->total = b[1];
        rec->outstanding = b[2];
        rec->complete = (b[3] & DOMAIN_F_COMPLETE) != 0;
        memcpy(rec->value, b + 4, HSM_DKEK_LEN);
        /* Shares: complete exactly when none is outstanding. No shares:
         * nothing outstanding, with or without a DKEK. */
        const bool ok = rec->total > 0 ? rec->complete == (rec->outstanding == 0)
                                       : rec->outstanding == 0;
        sw = ok ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
    }
    fk_wipe(b, sizeof(b));
    if (sw != FK_SW_OK) fk_wipe(rec, sizeof(*rec));
    return sw;
}

/* Seal and write domain d (one store write, staged in an open batch). */
static fk_sw_t domain_store(const fk_applet_ctx_t *ctx, uint8_t d, const domain_rec_t *rec)
{
    uint8_t b[DOMAIN_REC_LEN];

    b[0] = DOMAIN_VERSION;
    b[1] = rec->total;
    b[2] = rec->outstanding;
    b[3] = rec->complete ? DOMAIN_F_COMPLETE : 0u;
    memcpy(b + 4, rec->value, HSM_DKEK_LEN);
    const fk_sw_t sw = seal_sw(fk_seal_store(&ctx->space, HSM_ID_DOMAIN(d), b, sizeof(b)));
    fk_wipe(b, sizeof(b));
    return sw;
}

/* A fresh domain expecting `shares` shares; with none, a random DKEK made
 * here (complete at once). 6400 without entropy. */
static fk_sw_t domain_new(uint8_t shares, domain_rec_t *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->total = shares;
    rec->outstanding = shares;
    if (shares > 0) return FK_SW_OK;
    rec->complete = true;
    return fk_rng_bytes(rec->value, sizeof(rec->value)) == FK_CRYPTO_OK ? FK_SW_OK
                                                                        : FK_SW_EXEC_ERROR;
}

static void kcv_of(const uint8_t dkek[HSM_DKEK_LEN], uint8_t kcv[HSM_KCV_LEN])
{
    uint8_t h[FK_SHA256_LEN];
    fk_sha256(dkek, HSM_DKEK_LEN, h);
    memcpy(kcv, h, HSM_KCV_LEN);
    fk_wipe(h, sizeof(h));
}

/* <total> <outstanding> <KCV>: the KCV of a complete DKEK, zeros otherwise. */
static fk_sw_t put_status(const domain_rec_t *rec, fk_rbuf_t *resp)
{
    uint8_t *out = fk_rbuf_reserve(resp, STATUS_LEN);
    if (out == NULL) return FK_SW_UNKNOWN;
    out[0] = rec->total;
    out[1] = rec->outstanding;
    if (rec->complete)
        kcv_of(rec->value, out + 2);
    else
        memset(out + 2, 0, HSM_KCV_LEN);
    return FK_SW_OK;
}

/* The count of configured domains is public; the domain's own checks. */
static bool domain_in_range(const fk_applet_ctx_t *ctx, uint8_t d)
{
    return d < HSM_DOMAINS_MAX && d < hsm_key_domains(ctx);
}

/* ---- Exported helpers ----------------------------------------------------- */

uint8_t hsm_key_domain(uint8_t pol_domain)
{
    return pol_domain == FK_KEY_NO_DOMAIN ? 0u : pol_domain;
}

fk_sw_t hsm_domain_check(const fk_applet_ctx_t *ctx, uint8_t domain)
{
    domain_rec_t rec;

    if (domain == FK_KEY_NO_DOMAIN) return FK_SW_OK;
    if (!domain_in_range(ctx, domain)) return FK_SW_REF_NOT_FOUND;
    const fk_sw_t sw = domain_load(ctx, domain, &rec);
    fk_wipe(&rec, sizeof(rec));
    return sw;
}

fk_sw_t hsm_domain_dkek(const fk_applet_ctx_t *ctx, uint8_t domain, uint8_t dkek[HSM_DKEK_LEN])
{
    domain_rec_t rec;
    const uint8_t d = hsm_key_domain(domain);
    fk_sw_t sw = FK_SW_REF_NOT_FOUND;

    memset(dkek, 0, HSM_DKEK_LEN);
    if (!domain_in_range(ctx, d)) return sw;
    sw = domain_load(ctx, d, &rec);
    if (sw == FK_SW_OK && !rec.complete) sw = FK_SW_REF_NOT_FOUND;
    if (sw == FK_SW_OK) memcpy(dkek, rec.value, HSM_DKEK_LEN);
    fk_wipe(&rec, sizeof(rec));
    return sw;
}

fk_sw_t hsm_domain_find(const fk_applet_ctx_t *ctx, const uint8_t kcv[HSM_KCV_LEN],
                        uint8_t *domain, uint8_t dkek[HSM_DKEK_LEN])
{
    const uint8_t count = hsm_key_domains(ctx);
    uint8_t mine[HSM_KCV_LEN];
    domain_rec_t rec;
    fk_sw_t sw = FK_SW_WRONG_DATA;

    memset(dkek, 0, HSM_DKEK_LEN);
    for (uint8_t d = 0; d < count && d < HSM_DOMAINS_MAX && sw == FK_SW_WRONG_DATA; d++) {
        const fk_sw_t lsw = domain_load(ctx, d, &rec);
        if (lsw == FK_SW_MEMORY_FAILURE) {
            sw = lsw;
        } else if (lsw == FK_SW_OK && rec.complete) {
            kcv_of(rec.value, mine);
            if (fk_ct_equal(mine, kcv, HSM_KCV_LEN)) {
                *domain = d;
                memcpy(dkek, rec.value, HSM_DKEK_LEN);
                sw = FK_SW_OK;
            }
        }
        fk_wipe(&rec, sizeof(rec));
    }
    return sw;
}

fk_sw_t hsm_domains_init(const fk_applet_ctx_t *ctx, bool has_shares, uint8_t shares,
                         bool has_domains)
{
    domain_rec_t rec;
    fk_sw_t sw;

    if (!has_shares && has_domains) return FK_SW_OK; /* every domain unconfigured */
    /* Domain 0: the shares of tag 92, or (neither 92 nor 97) no DKEK at all. */
    if (has_shares) {
        sw = domain_new(shares, &rec);
    } else {
        memset(&rec, 0, sizeof(rec));
        sw = FK_SW_OK;
    }
    if (sw == FK_SW_OK) sw = domain_store(ctx, 0, &rec);
    fk_wipe(&rec, sizeof(rec));
    return sw;
}

fk_sw_t hsm_domains_migrate(const fk_applet_ctx_t *ctx)
{
    fk_sw_t sw = FK_SW_OK;
    for (uint8_t d = 0; d < HSM_DOMAINS_MAX; d++) {
        const int rc = fk_seal_reseal(&ctx->space, HSM_ID_DOMAIN(d), NULL);
        if (rc != FK_SEAL_OK && rc != FK_SEAL_ENOENT) sw = FK_SW_MEMORY_FAILURE;
    }
    return sw;
}

/* ---- MANAGE KEY DOMAIN (52) ----------------------------------------------- */

/* P1 00: the status, or (32 bytes) one share XORed into the DKEK. No PIN:
 * custodians import their shares without it. */
static fk_sw_t domain_import(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t d = cmd->p2;
    domain_rec_t rec;
    fk_sw_t sw;

    if (cmd->nc != 0 && cmd->nc != SHARE_LEN) return FK_SW_WRONG_LENGTH;
    sw = domain_load(ctx, d, &rec);
    if (sw == FK_SW_OK && cmd->nc == SHARE_LEN) {
        if (rec.outstanding == 0) {
            sw = FK_SW_COMMAND_NOT_ALLOWED;
        } else {
            for (size_t i = 0; i < SHARE_LEN; i++) rec.value[i] ^= cmd->data[i];
            rec.outstanding--;
            rec.complete = rec.outstanding == 0;
            sw = domain_store(ctx, d, &rec);
        }
    }
    if (sw == FK_SW_OK) sw = put_status(&rec, resp);
    fk_wipe(&rec, sizeof(rec));
    return sw;
}

/* P1 01: configure an unconfigured domain for n shares (0: a random DKEK). */
static fk_sw_t domain_create(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t d = cmd->p2;
    domain_rec_t rec;

    if (cmd->nc != 1) return FK_SW_WRONG_LENGTH;
    fk_sw_t sw = domain_load(ctx, d, &rec);
    if (sw == FK_SW_OK) sw = FK_SW_INCORRECT_P1P2; /* already configured */
    if (sw == FK_SW_REF_NOT_FOUND) sw = domain_new(cmd->data[0], &rec);
    if (sw == FK_SW_OK) sw = domain_store(ctx, d, &rec);
    if (sw == FK_SW_OK) sw = put_status(&rec, resp);
    fk_wipe(&rec, sizeof(rec));
    return sw;
}

/* Whether any key (the device key aside) belongs to domain d: 6A89 when
 * one does, 6581 when a key's policy cannot be read. */
static fk_sw_t domain_empty(const fk_applet_ctx_t *ctx, uint8_t d)
{
    const uint16_t last = HSM_FID(HSM_PREFIX_KEY, 0xFFu);
    uint32_t from = HSM_FID(HSM_PREFIX_KEY, 0x01u);
    fk_key_policy_t pol;
    uint16_t id;
    int rc;

    while ((rc = fk_space_first(&ctx->space, from, &id)) == FK_STORE_OK && id <= last) {
        const int krc = fk_key_info(ctx, id, &pol, NULL);
        if (krc != FK_KEY_OK && krc != FK_KEY_ENOENT) return FK_SW_MEMORY_FAILURE;
        if (krc == FK_KEY_OK && hsm_key_domain(pol.domain) == d) return FK_SW_FILE_EXISTS;
        from = (uint32_t)id + 1u;
    }
    return rc == FK_STORE_OK || rc == FK_STORE_ENOENT ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
}

/* P1 03: delete a configured domain that no key belongs to. On success the
 * answer is 6A88, as pypicohsm expects (docs/key-domains.md). */
static fk_sw_t domain_delete(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd)
{
    const uint8_t d = cmd->p2;
    domain_rec_t rec;

    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    fk_sw_t sw = domain_load(ctx, d, &rec);
    fk_wipe(&rec, sizeof(rec));
    if (sw == FK_SW_REF_NOT_FOUND) return FK_SW_INCORRECT_P1P2; /* nothing to delete */
    if (sw == FK_SW_OK) sw = domain_empty(ctx, d);
    if (sw == FK_SW_OK) sw = hsm_store_sw(fk_space_delete(&ctx->space, HSM_ID_DOMAIN(d)));
    return sw == FK_SW_OK ? FK_SW_REF_NOT_FOUND : sw;
}

/* P1 04: forget the DKEK (or the shares imported so far): every share is
 * outstanding again. A domain without shares is left without a DKEK. */
static fk_sw_t domain_clear(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    const uint8_t d = cmd->p2;
    domain_rec_t rec;

    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    fk_sw_t sw = domain_load(ctx, d, &rec);
    if (sw == FK_SW_OK) {
        const uint8_t total = rec.total;
        fk_wipe(&rec, sizeof(rec));
        rec.total = total;
        rec.outstanding = total;
        sw = domain_store(ctx, d, &rec);
    }
    if (sw == FK_SW_OK) sw = put_status(&rec, resp);
    fk_wipe(&rec, sizeof(rec));
    return sw;
}

/*
 * MANAGE KEY DOMAIN (80 52 P1 <domain>). Checks, in order: P1 (6A86), the
 * domain number (>= 16: 6B00), an initialized device (6D00, which
 * sc-hsm-tool reads as "not initialized for key shares"), the configured
 * count (6A86), XKEK (6A81), the user PIN for P1 01/03/04 (6982), then the
 * command's own.
 */
static fk_sw_t cmd_manage_key_domain(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd,
                                     fk_rbuf_t *resp)
{
    if (cmd->p1 > P1_CLEAR) return FK_SW_INCORRECT_P1P2;
    if (cmd->p2 >= HSM_DOMAINS_MAX) return FK_SW_WRONG_P1P2;
    if (!hsm_initialized(ctx)) return FK_SW_INS_NOT_SUPPORTED;
    if (!domain_in_range(ctx, cmd->p2)) return FK_SW_INCORRECT_P1P2;
    if (cmd->p1 == P1_XKEK) return FK_SW_FUNC_NOT_SUPPORTED;
    if (cmd->p1 != P1_IMPORT && !hsm_user_ready(ctx)) return FK_SW_SECURITY_NOT_SATISFIED;

    switch (cmd->p1) {
    case P1_IMPORT: return domain_import(ctx, cmd, resp);
    case P1_CREATE: return domain_create(ctx, cmd, resp);
    case P1_DELETE: return domain_delete(ctx, cmd);
    default: return domain_clear(ctx, cmd, resp);
    }
}

const fk_command_t hsm_dkek_commands[] = {
    {INS_MANAGE_KEY_DOMAIN, cmd_manage_key_domain},
};
const size_t hsm_dkek_commands_len = FK_ARRAY_SIZE(hsm_dkek_commands);
