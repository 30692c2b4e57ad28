/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_config.c - the config record, authenticatorConfig (CTAP 2.1 §6.11)
 * and largeBlobs (§6.10).
 *
 * The config record (FIDO_ID_CONFIG, sealed) is versioned bytes:
 *   01 | flags | min_pin_len | pin_cp_len | n_rpids | n x (len | rpid)
 * Absent means the defaults; a record that does not open or parse fails
 * closed (CTAP1_ERR_OTHER), never the defaults in its place, so that a
 * damaged record cannot lower the minimum PIN length or drop alwaysUv.
 *
 * Large blobs: the serialized array lives in FIDO_ID_LARGE_BLOBS, plain
 * (the platform encrypts each blob under its credential's largeBlobKey).
 * A write arrives in fragments that accumulate in FIDO_ID_LARGE_BLOBS_NEW;
 * the last one is checked (the array's trailing LEFT(SHA-256, 16)) and the
 * whole array replaces the live one in one atomic store write.
 */
#include <string.h>

#include "crypto/crypto.h"
#include "fido_internal.h"
#include "seal/seal.h"
#include "store/store.h"
#include "util.h"

#define CFG_VERSION 1u
#define CFG_HEAD 5u
#define CFG_MAX (CFG_HEAD + FIDO_MINPIN_RPIDS_MAX * (1u + 64u))
#define MIN_PIN_MAX 63u /* a PIN has at most 63 bytes, so no more code points */
#define CFG_PARAMS_MAX 320u

/* ---- The config record ------------------------------------------------------ */

static void cfg_defaults(fido_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->min_pin_len = FIDO_MIN_PIN_DEFAULT;
}

static bool cfg_parse(const uint8_t *b, size_t len, fido_config_t *cfg)
{
    cfg_defaults(cfg);
    if (len < CFG_HEAD || b[0] != CFG_VERSION) return false;
    cfg->flags = b[1];
    cfg->min_pin_len = b[2];
    cfg->pin_cp_len = b[3];
    cfg->n_rpids = b[4];
    if (cfg->n_rpids > FIDO_MINPIN_RPIDS_MAX || cfg->min_pin_len < FIDO_MIN_PIN_DEFAULT ||
        cfg->min_pin_len > MIN_PIN_MAX)
        return false;
    size_t at = CFG_HEAD;
    for (unsigned i = 0; i < cfg->n_rpids; i++) {
        if (at >= len) return false;
        const uint8_t n = b[at++];
        if (n > sizeof cfg->rpids[i] || len - at < n) return false;
        cfg->rpid_len[i] = n;
        memcpy(cfg->rpids[i], b + at, n);
        at += n;
    }
    return at == len;
}

uint8_t fido_config_load(const fk_applet_ctx_t *ctx, fido_config_t *cfg)
{
    uint8_t buf[CFG_MAX];
    size_t len = 0;
    const int rc = fk_seal_load(&ctx->space, FIDO_ID_CONFIG, buf, sizeof buf, &len);
    if (rc == FK_SEAL_ENOENT) {
        cfg_defaults(cfg);
        return CTAP_OK;
    }
    const bool ok = rc == FK_SEAL_OK && cfg_parse(buf, len, cfg);
    fk_wipe(buf, sizeof buf);
    if (!ok) {
        cfg_defaults(cfg);
        return CTAP1_ERR_OTHER;
    }
    return CTAP_OK;
}

uint8_t fido_config_save(const fk_applet_ctx_t *ctx, const fido_config_t *cfg)
{
    uint8_t buf[CFG_MAX];
    FK_ASSERT(cfg->n_rpids <= FIDO_MINPIN_RPIDS_MAX);
    buf[0] = CFG_VERSION;
    buf[1] = cfg->flags;
    buf[2] = cfg->min_pin_len;
    buf[3] = cfg->pin_cp_len;
    buf[4] = cfg->n_rpids;
    size_t len = CFG_HEAD;
    for (unsigned i = 0; i < cfg->n_rpids; i++) {
        const uint8_t n = (uint8_t)FK_MIN(cfg->rpid_len[i], (uint8_t)sizeof cfg->rpids[i]);
        buf[len++] = n;
        memcpy(buf + len, cfg->rpids[i], n);
        len += n;
    }
    const int rc = fk_seal_store(&ctx->space, FIDO_ID_CONFIG, buf, len);
    fk_wipe(buf, sizeof buf);
    return rc == FK_SEAL_OK ? CTAP_OK : CTAP1_ERR_OTHER;
}

/* One change of the config record, alone (no batch of the caller's). */
static uint8_t cfg_commit(const fk_applet_ctx_t *ctx, const fido_config_t *cfg)
{
    return fido_config_save(ctx, cfg);
}

/* ---- Authentication shared by config and largeBlobs ------------------------- */

/* When a PIN is set or alwaysUv is on, the command needs a token with perm
 * whose pinUvAuthParam over msg verifies (CTAP 2.1 §6.10.2, §6.11). */
static uint8_t need_token(const fk_applet_ctx_t *ctx, const fido_config_t *cfg, bool has_param,
                          const uint8_t *param, size_t param_len, bool has_proto, uint64_t proto,
                          const uint8_t *msg, size_t msg_len, uint8_t perm)
{
    const bool protected_ = fido_pin_is_set(ctx) || (cfg->flags & FIDO_CFG_ALWAYS_UV) != 0u;
    if (!protected_ && !has_param) return CTAP_OK;
    if (!has_param) return CTAP2_ERR_PUAT_REQUIRED;
    if (!has_proto) return CTAP2_ERR_MISSING_PARAMETER;
    const uint8_t st = fido_token_verify(ctx, proto, param, param_len, msg, msg_len);
    if (st != CTAP_OK) return st;
    return fido_token_permit(ctx, perm, NULL);
}

/* ---- authenticatorConfig (0D) ---------------------------------------------------- */

enum { CFG_SUB_EP = 0x01, CFG_SUB_ALWAYS_UV = 0x02, CFG_SUB_MIN_PIN = 0x03 };

/* setMinPINLength's parameters {1 newMinPINLength, 2 minPinLengthRPIDs,
 * 3 forceChangePin} applied to cfg (only checks, nothing written). */
static uint8_t apply_min_pin(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *params,
                             fido_config_t *cfg)
{
    uint64_t new_min = cfg->min_pin_len;
    bool force = false;
    if (params != NULL) {
        fk_cbor_item_t v;
        if (fk_cbor_map_find_int(params, 1, &v) == FK_CBOR_OK) {
            if (fk_cbor_get_uint(&v, &new_min) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        }
        if (fk_cbor_map_find_int(params, 3, &v) == FK_CBOR_OK) {
            if (fk_cbor_get_bool(&v, &force) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        }
        if (fk_cbor_map_find_int(params, 2, &v) == FK_CBOR_OK) {
            fk_cbor_iter_t it;
            if (fk_cbor_array_iter(&v, &it) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            if (v.v > FIDO_MINPIN_RPIDS_MAX) return CTAP2_ERR_KEY_STORE_FULL;
            fk_cbor_item_t e;
            unsigned n = 0;
            while (fk_cbor_array_next(&it, &e) == FK_CBOR_OK) {
                const char *s = NULL;
                size_t len = 0;
                if (e.type != FK_CBOR_TEXT) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
                if (fk_cbor_get_text(&e, sizeof cfg->rpids[0], &s, &len) != FK_CBOR_OK)
                    return CTAP2_ERR_KEY_STORE_FULL; /* an RP id longer than we keep */
                memcpy(cfg->rpids[n], s, len);
                cfg->rpid_len[n] = (uint8_t)len;
                n++;
            }
            cfg->n_rpids = (uint8_t)n;
        }
    }
    /* The minimum only rises. */
    if (new_min < cfg->min_pin_len || new_min > MIN_PIN_MAX) return CTAP2_ERR_PIN_POLICY_VIOLATION;
    const bool pin_set = fido_pin_is_set(ctx);
    if (force && !pin_set) return CTAP2_ERR_PIN_NOT_SET;
    /* A PIN shorter than the new minimum must change. */
    if (pin_set && new_min > cfg->pin_cp_len) force = true;
    cfg->min_pin_len = (uint8_t)new_min;
    if (force) cfg->flags |= FIDO_CFG_FORCE_CHANGE;
    return CTAP_OK;
}

uint8_t fido_cmd_config(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req, fk_cbor_writer_t *w)
{
    (void)w;
    if (req == NULL) return CTAP2_ERR_MISSING_PARAMETER;
    fk_cbor_item_t v, params;
    uint64_t sub = 0, proto = 0;
    bool has_params = false, has_proto = false, has_param = false;
    const uint8_t *param = NULL;
    size_t param_len = 0;
    if (fk_cbor_map_find_int(req, 1, &v) != FK_CBOR_OK) return CTAP2_ERR_MISSING_PARAMETER;
    if (fk_cbor_get_uint(&v, &sub) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    if (fk_cbor_map_find_int(req, 2, &params) == FK_CBOR_OK) {
        if (params.type != FK_CBOR_MAP) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        has_params = true;
    }
    if (fk_cbor_map_find_int(req, 3, &v) == FK_CBOR_OK) {
        if (fk_cbor_get_uint(&v, &proto) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        has_proto = true;
    }
    if (fk_cbor_map_find_int(req, 4, &v) == FK_CBOR_OK) {
        if (fk_cbor_get_bytes(&v, 64, &param, &param_len) != FK_CBOR_OK)
            return v.type == FK_CBOR_BYTES ? CTAP1_ERR_INVALID_LENGTH : CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        has_param = true;
    }
    fido_config_t cfg;
    uint8_t st = fido_config_load(ctx, &cfg);
    if (st != CTAP_OK) return st;

    /* pinUvAuthParam = auth(token, 32 x FF || 0D || subCommand || subCommandParams).
     * The largest parameters this authenticator takes (4 RP ids of 64 bytes
     * and two small values) are under CFG_PARAMS_MAX bytes. */
    uint8_t msg[32 + 2 + CFG_PARAMS_MAX];
    size_t plen = has_params ? (size_t)(params.end - params.head) : 0u;
    if (plen > CFG_PARAMS_MAX) return CTAP2_ERR_LIMIT_EXCEEDED;
    memset(msg, 0xFF, 32);
    msg[32] = FIDO_CMD_CONFIG;
    msg[33] = (uint8_t)sub;
    if (plen != 0u) memcpy(msg + 34, params.head, plen);
    st = need_token(ctx, &cfg, has_param, param, param_len, has_proto, proto, msg, 34u + plen,
                    FIDO_PERM_ACFG);
    if (st != CTAP_OK) return st;

    switch (sub) {
    case CFG_SUB_EP:
        /* Only once the per-device key has a certificate from the user's CA
         * (docs/fido-attestation.md); before that the feature does not exist. */
        if (!fido_attest_ep_capable(ctx)) return CTAP1_ERR_INVALID_PARAMETER;
        cfg.flags |= FIDO_CFG_EP;
        return cfg_commit(ctx, &cfg);
    case CFG_SUB_ALWAYS_UV:
        cfg.flags ^= FIDO_CFG_ALWAYS_UV;
        return cfg_commit(ctx, &cfg);
    case CFG_SUB_MIN_PIN:
        st = apply_min_pin(ctx, has_params ? &params : NULL, &cfg);
        return st == CTAP_OK ? cfg_commit(ctx, &cfg) : st;
    default:
        return CTAP2_ERR_INVALID_SUBCOMMAND;
    }
}

/* ---- largeBlobs (0C) ------------------------------------------------------------ */

#define LB_FRAGMENT_MAX (FK_FIDO_MAX_MSG - 64u) /* maxFragmentLength */
#define LB_HASH_LEN 16u
#define LB_MIN (1u + LB_HASH_LEN)              /* an array head and the hash */
#define LB_CHUNK 128u /* streaming through a small stack buffer */

/* The empty array (80) and LEFT(SHA-256(80), 16): what an authenticator
 * holds before the first write (CTAP 2.1 §6.10.1). */
static const uint8_t k_empty_blobs[LB_MIN] = {0x80, 0x76, 0xBE, 0x8B, 0x52, 0x8D, 0x00, 0x75, 0xF7,
                                              0xAA, 0xE9, 0x8D, 0x6F, 0xA5, 0x7A, 0x6D, 0x3C};

typedef struct lb_req {
    bool has_get, has_set, has_offset, has_length, has_param, has_proto;
    uint64_t get, offset, length, proto;
    const uint8_t *set, *param;
    size_t set_len, param_len;
} lb_req_t;

static uint8_t lb_parse(const fk_cbor_item_t *req, lb_req_t *r)
{
    memset(r, 0, sizeof *r);
    if (req == NULL) return CTAP2_ERR_MISSING_PARAMETER;
    fk_cbor_iter_t it;
    fk_cbor_item_t k, v;
    if (fk_cbor_map_iter(req, &it) != FK_CBOR_OK) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
    while (fk_cbor_map_next(&it, &k, &v) == FK_CBOR_OK) {
        if (k.type != FK_CBOR_UINT) continue;
        fk_cbor_err_t e = FK_CBOR_OK;
        switch (k.v) {
        case 1: e = fk_cbor_get_uint(&v, &r->get); r->has_get = true; break;
        case 2:
            if (v.type != FK_CBOR_BYTES) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            if (v.v > LB_FRAGMENT_MAX) return CTAP1_ERR_INVALID_LENGTH;
            e = fk_cbor_get_bytes(&v, LB_FRAGMENT_MAX, &r->set, &r->set_len);
            r->has_set = true;
            break;
        case 3: e = fk_cbor_get_uint(&v, &r->offset); r->has_offset = true; break;
        case 4: e = fk_cbor_get_uint(&v, &r->length); r->has_length = true; break;
        case 5:
            if (v.type != FK_CBOR_BYTES) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
            e = fk_cbor_get_bytes(&v, 64, &r->param, &r->param_len);
            if (e == FK_CBOR_ERR_LIMIT) return CTAP1_ERR_INVALID_LENGTH;
            r->has_param = true;
            break;
        case 6: e = fk_cbor_get_uint(&v, &r->proto); r->has_proto = true; break;
        default: break;
        }
        if (e == FK_CBOR_ERR_UNEXPECTED_TYPE) return CTAP2_ERR_CBOR_UNEXPECTED_TYPE;
        if (e != FK_CBOR_OK) return CTAP1_ERR_INVALID_PARAMETER;
    }
    if (!r->has_offset) return CTAP2_ERR_MISSING_PARAMETER;
    if (r->has_get == r->has_set) return CTAP1_ERR_INVALID_PARAMETER;
    return CTAP_OK;
}

/* Size of the live array (the empty one when there is none). */
static uint8_t lb_size(const fk_applet_ctx_t *ctx, uint32_t *size)
{
    const int rc = fk_space_size(&ctx->space, FIDO_ID_LARGE_BLOBS, size);
    if (rc == FK_STORE_ENOENT) {
        *size = sizeof k_empty_blobs;
        return CTAP_OK;
    }
    return rc == FK_STORE_OK ? CTAP_OK : CTAP1_ERR_OTHER;
}

static uint8_t lb_get(const fk_applet_ctx_t *ctx, const lb_req_t *r, fk_cbor_writer_t *w)
{
    if (r->has_length) return CTAP1_ERR_INVALID_PARAMETER;
    if (r->get > LB_FRAGMENT_MAX) return CTAP1_ERR_INVALID_LENGTH;
    uint32_t size = 0;
    uint8_t st = lb_size(ctx, &size);
    if (st != CTAP_OK) return st;
    if (r->offset > size) return CTAP1_ERR_INVALID_PARAMETER;
    const size_t n = (size_t)FK_MIN(r->get, (uint64_t)(size - r->offset));
    /* The bytes go straight into the response: the writer's buffer after
     * the head of a byte string of n bytes. */
    fk_cbor_put_map(w, 1);
    fk_cbor_put_uint(w, 1);
    static const uint8_t none = 0;
    fk_cbor_put_bytes(w, &none, 0); /* placeholder head, replaced below */
    if (w->overflow) return CTAP2_ERR_REQUEST_TOO_LARGE;
    w->len -= 1u; /* drop the empty string's head; write the real one */
    uint8_t head[3];
    size_t hl;
    if (n < 24u) {
        head[0] = (uint8_t)(0x40u | n);
        hl = 1;
    } else if (n < 256u) {
        head[0] = 0x58;
        head[1] = (uint8_t)n;
        hl = 2;
    } else {
        head[0] = 0x59;
        fk_put_be16(head + 1, (uint16_t)n);
        hl = 3;
    }
    if (w->cap - w->len < hl + n) return CTAP2_ERR_REQUEST_TOO_LARGE;
    memcpy(w->buf + w->len, head, hl);
    uint8_t *dst = w->buf + w->len + hl;
    int rc = FK_STORE_OK;
    if (fk_space_size(&ctx->space, FIDO_ID_LARGE_BLOBS, &size) == FK_STORE_ENOENT) {
        memcpy(dst, k_empty_blobs + r->offset, n);
    } else if (n != 0u) {
        rc = fk_space_read(&ctx->space, FIDO_ID_LARGE_BLOBS, (uint32_t)r->offset, dst, n);
    }
    if (rc != FK_STORE_OK) return CTAP1_ERR_OTHER;
    w->len += hl + n;
    return CTAP_OK;
}

/* The staged array's trailing hash against LEFT(SHA-256(the rest), 16). */
static uint8_t lb_check_staged(const fk_applet_ctx_t *ctx, uint32_t total)
{
    fk_sha256_ctx_t h;
    uint8_t chunk[LB_CHUNK];
    fk_sha256_start(&h);
    const uint32_t body = total - LB_HASH_LEN;
    for (uint32_t at = 0; at < body;) {
        const size_t n = FK_MIN((size_t)(body - at), sizeof chunk);
        if (fk_space_read(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW, at, chunk, n) != FK_STORE_OK) {
            fk_sha256_finish(&h, chunk);
            return CTAP1_ERR_OTHER;
        }
        fk_sha256_update(&h, chunk, n);
        at += (uint32_t)n;
    }
    uint8_t digest[FK_SHA256_LEN], tail[LB_HASH_LEN];
    fk_sha256_finish(&h, digest);
    if (fk_space_read(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW, body, tail, sizeof tail) != FK_STORE_OK)
        return CTAP1_ERR_OTHER;
    return fk_ct_equal(digest, tail, LB_HASH_LEN) ? CTAP_OK : CTAP2_ERR_INTEGRITY_FAILURE;
}

/* The staged array becomes the live one: one streamed store write, atomic
 * at its commit. */
static uint8_t lb_commit(const fk_applet_ctx_t *ctx, uint32_t total)
{
    fk_store_txn_t t;
    uint8_t chunk[LB_CHUNK];
    int rc = fk_space_begin(&ctx->space, &t, FIDO_ID_LARGE_BLOBS, total);
    if (rc == FK_STORE_ENOSPC) return CTAP2_ERR_LARGE_BLOB_STORAGE_FULL;
    if (rc != FK_STORE_OK) return CTAP1_ERR_OTHER;
    for (uint32_t at = 0; at < total && rc == FK_STORE_OK;) {
        const size_t n = FK_MIN((size_t)(total - at), sizeof chunk);
        rc = fk_space_read(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW, at, chunk, n);
        if (rc == FK_STORE_OK) rc = fk_store_append(ctx->space.store, &t, chunk, n);
        at += (uint32_t)n;
    }
    if (rc == FK_STORE_OK) rc = fk_store_commit(ctx->space.store, &t);
    else fk_store_abort(ctx->space.store, &t);
    if (rc != FK_STORE_OK) return CTAP1_ERR_OTHER;
    (void)fk_space_delete(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW);
    return CTAP_OK;
}

static uint8_t lb_set(const fk_applet_ctx_t *ctx, const lb_req_t *r)
{
    fido_pin_session_t *ps = &fido_state(ctx)->ps;
    uint32_t expected = ps->lb_expected;
    if (r->offset == 0u) {
        if (!r->has_length) return CTAP1_ERR_INVALID_PARAMETER;
        if (r->length > FIDO_LARGE_BLOB_MAX) return CTAP2_ERR_LARGE_BLOB_STORAGE_FULL;
        if (r->length < LB_MIN) return CTAP1_ERR_INVALID_PARAMETER;
        expected = (uint32_t)r->length;
    } else {
        if (r->has_length) return CTAP1_ERR_INVALID_PARAMETER;
        if (ps->lb_expected == 0u || r->offset != ps->lb_next) return CTAP1_ERR_INVALID_SEQ;
    }
    fido_config_t cfg;
    uint8_t st = fido_config_load(ctx, &cfg);
    if (st != CTAP_OK) return st;
    /* pinUvAuthParam = auth(token, 32 x FF || 0C 00 || uint32LE(offset) || SHA-256(set)). */
    uint8_t msg[32 + 2 + 4 + FK_SHA256_LEN];
    memset(msg, 0xFF, 32);
    msg[32] = FIDO_CMD_LARGE_BLOBS;
    msg[33] = 0x00;
    fk_put_le32(msg + 34, (uint32_t)r->offset);
    fk_sha256(r->set, r->set_len, msg + 38);
    st = need_token(ctx, &cfg, r->has_param, r->param, r->param_len, r->has_proto, r->proto, msg,
                    sizeof msg, FIDO_PERM_LBW);
    if (st != CTAP_OK) return st;
    if (r->offset + r->set_len > expected) return CTAP1_ERR_INVALID_PARAMETER;

    /* A new write starts over; a fragment lands at its offset. */
    int rc;
    if (r->offset == 0u) {
        ps->lb_expected = 0;
        rc = fk_space_write(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW, r->set, r->set_len);
    } else {
        rc = fk_space_patch(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW, (uint32_t)r->offset, r->set,
                            r->set_len, false);
    }
    if (rc == FK_STORE_ENOSPC) return CTAP2_ERR_LARGE_BLOB_STORAGE_FULL;
    if (rc != FK_STORE_OK) return CTAP1_ERR_OTHER;
    ps->lb_expected = expected;
    ps->lb_next = (uint32_t)(r->offset + r->set_len);
    if (ps->lb_next < expected) return CTAP_OK;

    /* The last fragment: check the whole, then make it live. */
    ps->lb_expected = 0;
    ps->lb_next = 0;
    st = lb_check_staged(ctx, expected);
    if (st == CTAP_OK) st = lb_commit(ctx, expected);
    if (st != CTAP_OK) (void)fk_space_delete(&ctx->space, FIDO_ID_LARGE_BLOBS_NEW);
    return st;
}

uint8_t fido_cmd_large_blobs(const fk_applet_ctx_t *ctx, const fk_cbor_item_t *req,
                             fk_cbor_writer_t *w)
{
    lb_req_t r;
    const uint8_t st = lb_parse(req, &r);
    if (st != CTAP_OK) return st;
    return r.has_get ? lb_get(ctx, &r, w) : lb_set(ctx, &r);
}
