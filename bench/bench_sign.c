/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_sign.c - fk-bench-sign: what the HSM applet adds to a signature.
 *
 * In one process, with no transport: the device over the host port (flash
 * and OTP images in a temporary directory), INITIALIZE, VERIFY, and
 * GENERATE ASYMMETRIC KEY PAIR of an EC P-256 and an RSA-2048 key through
 * fk_card_transceive. Then, in interleaved rounds (the side measured
 * first alternates), for each case:
 *
 *   applet  N COMPUTE SIGNATURE APDUs through fk_card_transceive;
 *   bare    N signatures by the crypto module itself (fk_pk_ecdsa_sign,
 *           fk_pk_rsa_sign_pkcs1, fk_pk_rsa_private) with the same key,
 *           opened once from its key object while the PIN is verified;
 *   open    N key-object opens + fk_pk_parse alone: the unsealing that every
 *           SIGN does before it signs (the main part of the difference).
 *
 * It prints the time per signature of each (median of rounds) and the
 * median of the per-round ratios applet / bare (target <= 1.3). Every
 * response is checked (9000, length); the first signatures of each case
 * are verified with the public key, and the applet's PKCS#1 v1.5
 * signatures (deterministic) must equal the bare ones. No threshold.
 *
 * Usage: fk-bench-sign [--rounds N] [--ec-count N] [--rsa-count N]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_device.h"
#include "bench_util.h"
#include "crypto/pk.h"
#include "card/card.h"
#include "fusekey_product.h"
#include "services/keyobj.h"
#include "services/services.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "tlv.h"
#include "util.h"

#define DEFAULT_ROUNDS 7u
#define DEFAULT_EC_COUNT 200u
#define DEFAULT_RSA_COUNT 40u
#define NS_PER_US 1000.0
#define TARGET_RATIO 1.3
#define WARMUP_COUNT 3u /* untimed signatures per side and case before the rounds */

#define CLA_PROPRIETARY 0x80u
#define INS_INITIALIZE 0x50u
#define INS_VERIFY 0x20u
#define INS_GENERATE 0x46u
#define INS_SIGN 0x68u
#define PIN_REF_USER 0x81u
#define ALG_RSA_RAW 0x20u
#define ALG_RSA_PKCS1_SHA256 0x33u
#define ALG_ECDSA 0x70u
#define SW_OK 0x9000u
#define SW_LEN 2u

#define EC_KEY_ID 0x01u
#define RSA_KEY_ID 0x02u
#define RSA_BITS 2048u
#define RSA_LEN (RSA_BITS / 8u)
#define DIGEST_LEN 32u
#define MESSAGE_LEN 64u
#define APDU_MAX (7u + RSA_LEN + 2u) /* extended case 4 with a modulus-sized block */
#define RESP_MAX 4096u
#define TEMPLATE_MAX 512u

static const char k_pin[] = "648219";
static const uint8_t k_so_pin[] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0xF0, 0x5E, 0x0B, 0x1E, 0x5E, 0x21, 0xA1, 0xC0};
#define PIN_LEN (sizeof(k_pin) - 1u)

/* id-TA-ECDSA-SHA-256 and id-TA-RSA-v1-5-SHA-256 (the template's key OIDs). */
static const uint8_t k_oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_rsa_e[] = {0x01, 0x00, 0x01};

static fk_services_t s_svc;
static fk_card_t s_dev; /* about 130 KiB: static, as on the device */
static fk_product_card_state_t s_state;
static uint8_t s_resp[RESP_MAX];
static size_t s_resp_len;

typedef struct sign_case {
    const char *name;
    uint8_t key_id, alg;
    unsigned count;
    uint8_t apdu[APDU_MAX];
    size_t apdu_len;
    const uint8_t *input; /* what the bare signature takes (a view into apdu) */
    size_t input_len;
    uint8_t blob[FK_PK_BLOB_MAX]; /* opened once for the bare signatures */
    fk_pk_key_t key;
    double *applet_ns, *bare_ns, *open_ns, *ratio; /* per round, per signature */
} sign_case_t;

typedef struct options {
    unsigned rounds, ec_count, rsa_count;
} options_t;

/* One APDU through the device; the status word (the response is in s_resp). */
static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    s_resp_len = fk_card_transceive(&s_dev, apdu, len, s_resp, sizeof(s_resp));
    if (s_resp_len < SW_LEN) return 0;
    return (uint16_t)((s_resp[s_resp_len - 2] << 8) | s_resp[s_resp_len - 1]);
}

/* Send an extended case 4 APDU (Le 0000) with data; the status word. */
static uint16_t xfer_ext(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                         size_t n)
{
    static uint8_t a[7u + TEMPLATE_MAX + 2u];
    if (n > TEMPLATE_MAX) return 0;
    a[0] = cla, a[1] = ins, a[2] = p1, a[3] = p2, a[4] = 0;
    a[5] = (uint8_t)(n >> 8), a[6] = (uint8_t)n;
    memcpy(a + 7, data, n);
    a[7 + n] = 0, a[8 + n] = 0;
    return xfer(a, 9 + n);
}

static bool check_sw(const char *what, uint16_t sw)
{
    if (sw == SW_OK) return true;
    fprintf(stderr, "fk-bench-sign: %s answered %04X\n", what, sw);
    return false;
}

/* INITIALIZE (options 0001, user PIN, SO-PIN, 3 tries), then VERIFY. */
static bool initialize_and_verify(void)
{
    uint8_t a[64];
    size_t n = 0;
    a[n++] = CLA_PROPRIETARY, a[n++] = INS_INITIALIZE, a[n++] = 0, a[n++] = 0, a[n++] = 0;
    static const uint8_t opts[] = {0x80, 0x02, 0x00, 0x01};
    memcpy(a + n, opts, sizeof(opts)), n += sizeof(opts);
    a[n++] = 0x81, a[n++] = PIN_LEN;
    memcpy(a + n, k_pin, PIN_LEN), n += PIN_LEN;
    a[n++] = 0x82, a[n++] = sizeof(k_so_pin);
    memcpy(a + n, k_so_pin, sizeof(k_so_pin)), n += sizeof(k_so_pin);
    a[n++] = 0x91, a[n++] = 0x01, a[n++] = 0x03;
    a[4] = (uint8_t)(n - 5);
    if (!check_sw("INITIALIZE", xfer(a, n))) return false;

    n = 0;
    a[n++] = 0x00, a[n++] = INS_VERIFY, a[n++] = 0, a[n++] = PIN_REF_USER, a[n++] = PIN_LEN;
    memcpy(a + n, k_pin, PIN_LEN), n += PIN_LEN;
    return check_sw("VERIFY", xfer(a, n));
}

/* A key template as OpenSC sends it: 5F29, 42, 7F49 {06, key parameters}, 5F20. */
static bool generate(uint8_t id, bool rsa)
{
    uint8_t t[TEMPLATE_MAX];
    fk_rbuf_t r = {t, 0, sizeof(t)};
    const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_SECP256R1);
    bool ok = fk_tlv_put(&r, 0x5F29, "\x00", 1) && fk_tlv_put(&r, 0x42, "FKBENCH00001", 12);
    fk_tlv_mark_t m = fk_tlv_begin(&r, 0x7F49);
    ok = ok && m.ok;
    if (rsa) {
        ok = ok && fk_tlv_put(&r, 0x06, k_oid_rsa, sizeof(k_oid_rsa)) &&
             fk_tlv_put(&r, 0x82, k_rsa_e, sizeof(k_rsa_e)) &&
             fk_tlv_put_uint(&r, 0x02, RSA_BITS, 2);
    } else {
        ok = ok && fk_tlv_put(&r, 0x06, k_oid_ec, sizeof(k_oid_ec)) &&
             fk_tlv_put(&r, 0x81, ci->p, ci->field_len) &&
             fk_tlv_put(&r, 0x82, ci->a, ci->field_len) &&
             fk_tlv_put(&r, 0x83, ci->b, ci->field_len) &&
             fk_tlv_put(&r, 0x84, ci->g, ci->g_len) &&
             fk_tlv_put(&r, 0x85, ci->n, ci->order_len) && fk_tlv_put(&r, 0x87, "\x01", 1);
    }
    ok = ok && fk_tlv_end(&r, m) && fk_tlv_put(&r, 0x5F20, "FKBENCH00001", 12);
    if (!ok) {
        fprintf(stderr, "fk-bench-sign: key template does not fit\n");
        return false;
    }
    return check_sw(rsa ? "GENERATE RSA-2048" : "GENERATE EC P-256",
                    xfer_ext(0x00, INS_GENERATE, id, 0x00, t, r.len));
}

/* Fill c->apdu: COMPUTE SIGNATURE of c->alg over random input, and point
 * c->input at the part the bare signature takes. */
static bool build_sign_apdu(sign_case_t *c)
{
    uint8_t *a = c->apdu;
    size_t in_len = c->alg == ALG_ECDSA ? DIGEST_LEN : c->alg == ALG_RSA_RAW ? RSA_LEN : MESSAGE_LEN;
    size_t hdr;

    a[0] = CLA_PROPRIETARY, a[1] = INS_SIGN, a[2] = c->key_id, a[3] = c->alg;
    if (in_len <= UINT8_MAX) { /* short case 4, Le 00 (256) */
        a[4] = (uint8_t)in_len;
        hdr = 5;
        c->apdu_len = hdr + in_len + 1;
        a[c->apdu_len - 1] = 0x00;
    } else { /* extended case 4, Le 0000 */
        a[4] = 0, a[5] = (uint8_t)(in_len >> 8), a[6] = (uint8_t)in_len;
        hdr = 7;
        c->apdu_len = hdr + in_len + 2;
        a[c->apdu_len - 2] = 0x00, a[c->apdu_len - 1] = 0x00;
    }
    if (fk_rng_bytes(a + hdr, in_len) != FK_CRYPTO_OK) return false;
    if (c->alg == ALG_RSA_RAW) a[hdr] = 0x00; /* below the modulus */
    c->input = a + hdr;
    c->input_len = in_len;
    return true;
}

/* One signature by the crypto module, as the applet makes it for c->alg. */
static int bare_sign(const sign_case_t *c, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t digest[DIGEST_LEN];
    int rc;
    switch (c->alg) {
    case ALG_ECDSA:
        return fk_pk_ecdsa_sign(&c->key, c->input, c->input_len, FK_SIG_DER, out, cap, out_len);
    case ALG_RSA_RAW:
        return fk_pk_rsa_private(&c->key, c->input, c->input_len, out, cap, out_len);
    default: /* ALG_RSA_PKCS1_SHA256: hashed, then PKCS#1 v1.5 */
        rc = fk_hash(FK_HASH_SHA256, c->input, c->input_len, digest);
        if (rc == FK_CRYPTO_OK)
            rc = fk_pk_rsa_sign_pkcs1(&c->key, FK_HASH_SHA256, digest, sizeof(digest), out, cap,
                                      out_len);
        return rc;
    }
}

/* Open key object CC<id> as SIGN does (with the session's master key; the
 * PIN is verified) and copy its blob: the key-object service's result. */
static int key_read(const fk_applet_ctx_t *ctx, uint8_t id, uint8_t *blob, size_t cap, size_t *len)
{
    const hsm_state_t *st = (const hsm_state_t *)ctx->state;
    fk_key_t key;
    int rc = fk_key_open(ctx, HSM_FID(HSM_PREFIX_KEY, id), st->mk, &key);
    *len = 0;
    if (rc != FK_KEY_OK) return rc;
    if (key.len > cap) {
        fk_key_close(&key);
        return FK_KEY_EINVAL;
    }
    memcpy(blob, key.material, key.len);
    *len = key.len;
    fk_key_close(&key);
    return FK_KEY_OK;
}

/* Open the case's key once for the bare signatures (the PIN is verified). */
static bool open_key(sign_case_t *c, const fk_applet_ctx_t *ctx)
{
    size_t len = 0;
    const int rc = key_read(ctx, c->key_id, c->blob, sizeof(c->blob), &len);
    if (rc != FK_KEY_OK || fk_pk_parse(c->blob, len, &c->key) != FK_CRYPTO_OK) {
        fprintf(stderr, "fk-bench-sign: %s: key %u does not open (%d)\n", c->name, c->key_id, rc);
        return false;
    }
    return true;
}

/* The applet's and the bare signature of the case verify with the public
 * key; PKCS#1 v1.5 and raw RSA signatures are deterministic and must match. */
static bool check_signatures(const sign_case_t *c)
{
    uint8_t bare[RSA_LEN], digest[DIGEST_LEN];
    size_t bare_len = 0;
    fk_pk_public_t pub;
    uint16_t sw = xfer(c->apdu, c->apdu_len);
    if (!check_sw(c->name, sw)) return false;
    size_t sig_len = s_resp_len - SW_LEN;
    if (bare_sign(c, bare, sizeof(bare), &bare_len) != FK_CRYPTO_OK) {
        fprintf(stderr, "fk-bench-sign: %s: bare signature failed\n", c->name);
        return false;
    }
    fk_pk_public_of(&c->key, &pub);
    bool ok;
    if (c->alg == ALG_ECDSA) {
        ok = fk_pk_ecdsa_verify(&pub, c->input, c->input_len, FK_SIG_DER, s_resp, sig_len) ==
                 FK_CRYPTO_OK &&
             fk_pk_ecdsa_verify(&pub, c->input, c->input_len, FK_SIG_DER, bare, bare_len) ==
                 FK_CRYPTO_OK;
    } else {
        ok = sig_len == bare_len && memcmp(s_resp, bare, bare_len) == 0;
        if (ok && c->alg == ALG_RSA_PKCS1_SHA256)
            ok = fk_hash(FK_HASH_SHA256, c->input, c->input_len, digest) == FK_CRYPTO_OK &&
                 fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, digest, sizeof(digest), s_resp,
                                        sig_len) == FK_CRYPTO_OK;
    }
    if (!ok) fprintf(stderr, "fk-bench-sign: %s: signatures do not check\n", c->name);
    return ok;
}

/* N signatures through the applet; ns per signature, or a negative value. */
static double time_applet(const sign_case_t *c, unsigned count)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < count; i++) {
        uint16_t sw = xfer(c->apdu, c->apdu_len);
        if (sw != SW_OK || s_resp_len <= SW_LEN) {
            fprintf(stderr, "fk-bench-sign: %s: SIGN answered %04X\n", c->name, sw);
            return -1.0;
        }
    }
    return (double)(now_ns() - t0) / count;
}

static double time_bare(const sign_case_t *c, unsigned count)
{
    uint8_t sig[RSA_LEN];
    size_t len;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < count; i++) {
        if (bare_sign(c, sig, sizeof(sig), &len) != FK_CRYPTO_OK) {
            fprintf(stderr, "fk-bench-sign: %s: bare signature failed\n", c->name);
            return -1.0;
        }
    }
    return (double)(now_ns() - t0) / count;
}

/* N key opens as SIGN does them: the key object opened, fk_pk_parse, wipe. */
static double time_open(const sign_case_t *c, const fk_applet_ctx_t *ctx)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    fk_pk_key_t key;
    size_t len;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < c->count; i++) {
        if (key_read(ctx, c->key_id, blob, sizeof(blob), &len) != FK_KEY_OK ||
            fk_pk_parse(blob, len, &key) != FK_CRYPTO_OK) {
            fprintf(stderr, "fk-bench-sign: %s: key open failed\n", c->name);
            return -1.0;
        }
        fk_wipe(blob, sizeof(blob));
    }
    fk_wipe(&key, sizeof(key));
    return (double)(now_ns() - t0) / c->count;
}

/* One round of a case: applet and bare (order alternating), then the opens. */
static bool run_round(sign_case_t *c, unsigned r, const fk_applet_ctx_t *ctx)
{
    double a, b;
    if (r % 2) {
        b = time_bare(c, c->count);
        a = time_applet(c, c->count);
    } else {
        a = time_applet(c, c->count);
        b = time_bare(c, c->count);
    }
    double o = time_open(c, ctx);
    if (a < 0 || b < 0 || o < 0) return false;
    c->applet_ns[r] = a;
    c->bare_ns[r] = b;
    c->open_ns[r] = o;
    c->ratio[r] = a / b;
    return true;
}

static bool parse_args(int argc, char **argv, options_t *o)
{
    *o = (options_t){DEFAULT_ROUNDS, DEFAULT_EC_COUNT, DEFAULT_RSA_COUNT};
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (ok && strcmp(argv[i], "--rounds") == 0) {
            ok = parse_count(v, &o->rounds);
        } else if (ok && strcmp(argv[i], "--ec-count") == 0) {
            ok = parse_count(v, &o->ec_count);
        } else if (ok && strcmp(argv[i], "--rsa-count") == 0) {
            ok = parse_count(v, &o->rsa_count);
        } else {
            ok = false;
        }
        if (!ok) return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    options_t o;
    if (!parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--rounds N] [--ec-count N] [--rsa-count N]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows while the rounds run */

    static sign_case_t cases[] = {
        {.name = "ECDSA P-256 (70, digest)", .key_id = EC_KEY_ID, .alg = ALG_ECDSA},
        {.name = "RSA-2048 PKCS#1 SHA-256 (33)", .key_id = RSA_KEY_ID,
         .alg = ALG_RSA_PKCS1_SHA256},
        {.name = "RSA-2048 raw (20)", .key_id = RSA_KEY_ID, .alg = ALG_RSA_RAW},
    };
    const size_t n_cases = FK_ARRAY_SIZE(cases);
    fk_applet_ctx_t ctx;
    bench_device_t w = {0};
    int status = 1;

    for (size_t i = 0; i < n_cases; i++) {
        sign_case_t *c = &cases[i];
        c->count = c->alg == ALG_ECDSA ? o.ec_count : o.rsa_count;
        c->applet_ns = calloc(o.rounds, sizeof(double));
        c->bare_ns = calloc(o.rounds, sizeof(double));
        c->open_ns = calloc(o.rounds, sizeof(double));
        c->ratio = calloc(o.rounds, sizeof(double));
        if (!c->applet_ns || !c->bare_ns || !c->open_ns || !c->ratio) {
            fprintf(stderr, "fk-bench-sign: out of memory\n");
            goto out;
        }
    }
    if (!bench_device_up(&w, "fk-bench-sign", k_serial, &s_svc, &s_dev, &s_state,
                         sizeof(s_state)) || !initialize_and_verify()) goto out;
    ctx = fk_card_applet_ctx(&s_dev, &fk_hsm_applet);
    uint64_t t0 = now_ns();
    if (!generate(EC_KEY_ID, false)) goto out;
    uint64_t t1 = now_ns();
    if (!generate(RSA_KEY_ID, true)) goto out;
    uint64_t t2 = now_ns();
    printf("fk-bench-sign: GENERATE through the applet: EC P-256 %.1f ms, RSA-2048 %.1f ms "
           "(one run each)\n",
           (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6);

    for (size_t i = 0; i < n_cases; i++) {
        if (!build_sign_apdu(&cases[i]) || !open_key(&cases[i], &ctx) ||
            !check_signatures(&cases[i]) || time_applet(&cases[i], WARMUP_COUNT) < 0 ||
            time_bare(&cases[i], WARMUP_COUNT) < 0)
            goto out;
    }
    printf("fk-bench-sign: %u rounds, per round %u ECDSA / %u RSA signatures per side, "
           "interleaved\n",
           o.rounds, o.ec_count, o.rsa_count);
    for (unsigned r = 0; r < o.rounds; r++) {
        for (size_t i = 0; i < n_cases; i++) {
            if (!run_round(&cases[i], r, &ctx)) goto out;
        }
    }

    printf("%-30s %11s %11s %11s %12s\n", "per signature (median)", "applet us", "bare us",
           "key open us", "applet/bare");
    for (size_t i = 0; i < n_cases; i++) {
        const sign_case_t *c = &cases[i];
        printf("%-30s %11.1f %11.1f %11.1f %12.3f\n", c->name,
               median(c->applet_ns, o.rounds) / NS_PER_US, median(c->bare_ns, o.rounds) / NS_PER_US,
               median(c->open_ns, o.rounds) / NS_PER_US, median(c->ratio, o.rounds));
    }
    for (size_t i = 0; i < n_cases; i++) {
        double m = median(cases[i].ratio, o.rounds);
        printf("applet sign / bare sign, %s (median of rounds): %.3f (target <= %.1f: %s)\n",
               cases[i].name, m, TARGET_RATIO, m <= TARGET_RATIO ? "met" : "NOT met");
    }
    status = 0;

out:
    for (size_t i = 0; i < n_cases; i++) {
        fk_wipe(cases[i].blob, sizeof(cases[i].blob));
        fk_wipe(&cases[i].key, sizeof(cases[i].key));
        free(cases[i].applet_ns);
        free(cases[i].bare_ns);
        free(cases[i].open_ns);
        free(cases[i].ratio);
    }
    bench_device_down(&w);
    return status;
}
