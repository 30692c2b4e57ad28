/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_cipher.c - fk-bench-cipher: what the HSM applet adds to CIPHER.
 *
 * In one process, with no transport: the device over the host port (flash
 * and OTP images in a temporary directory), INITIALIZE, VERIFY and GENERATE
 * SYMMETRIC KEY (AES-256) through fk_card_transceive. Then, in interleaved
 * rounds (the side measured first alternates), for each case:
 *
 *   applet  N CIPHER APDUs (80 78 01 51, the extended form) through
 *           fk_card_transceive;
 *   bare    N calls of core/crypto/sym.h with the same key, opened once from
 *           its key object while the PIN is verified;
 *   open    N key-object opens alone: the unsealing every CIPHER does first.
 *
 * Cases: AES-256-GCM sealing 4 KiB (12-byte nonce, 16 bytes of AAD) against
 * fk_aes_aead_seal, printed also as throughput; HKDF-SHA-256 (32 bytes of
 * info, 16 of salt, 32 out) against fk_hkdf; PBKDF2-HMAC-SHA-256 (16-byte
 * salt, 1000 iterations, 32 out) against fk_pbkdf2. It prints the time per
 * call of each (median of rounds) and the median of the per-round ratios
 * applet / bare. All three are deterministic: before timing, the applet's
 * output must equal the bare one byte for byte. No threshold.
 *
 * Usage: fk-bench-cipher [--rounds N] [--gcm-count N] [--hkdf-count N]
 *                        [--pbkdf2-count N] [--pbkdf2-iter N]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_device.h"
#include "bench_util.h"
#include "card/card.h"
#include "crypto/sym.h"
#include "fusekey_product.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "services/keyobj.h"
#include "services/services.h"
#include "tlv.h"
#include "util.h"

#define DEFAULT_ROUNDS 7u
#define DEFAULT_GCM_COUNT 200u
#define DEFAULT_HKDF_COUNT 500u
#define DEFAULT_PBKDF2_COUNT 20u
#define DEFAULT_PBKDF2_ITER 1000u
#define NS_PER_US 1000.0
#define WARMUP_COUNT 3u

#define KEY_ID 0x01u
#define GEN_AES_256 0xB2u
#define GCM_LEN 4096u
#define NONCE_LEN 12u
#define AAD_LEN 16u
#define TAG_LEN 16u
#define INFO_LEN 32u
#define SALT_LEN 16u
#define KDF_OUT 32u
#define KEY_LEN 32u
#define SW_OK 0x9000u
#define SW_LEN 2u
#define APDU_MAX (7u + GCM_LEN + 64u + 2u)
#define RESP_MAX (GCM_LEN + TAG_LEN + SW_LEN)

static const char k_pin[] = "648219";
static const uint8_t k_so_pin[] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0xF0, 0x5E, 0x0B, 0x1E, 0xC1, 0xFE, 0xE5, 0x01};
#define PIN_LEN (sizeof(k_pin) - 1u)

static const uint8_t k_oid_aes256_gcm[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2E};
static const uint8_t k_oid_hkdf_sha256[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D,
                                            0x01, 0x09, 0x10, 0x03, 0x1C};
static const uint8_t k_oid_pbkdf2[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C};
static const uint8_t k_oid_hmac_sha256[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x09};

static fk_services_t s_svc;
static fk_card_t s_dev; /* about 130 KiB: static, as on the device */
static fk_product_card_state_t s_state;
static uint8_t s_resp[RESP_MAX];
static size_t s_resp_len;
static uint8_t s_key[KEY_LEN]; /* the key, opened once for the bare calls */

typedef enum { CASE_GCM, CASE_HKDF, CASE_PBKDF2 } case_kind_t;

typedef struct cipher_case {
    const char *name;
    case_kind_t kind;
    unsigned count;
    uint8_t apdu[APDU_MAX];
    size_t apdu_len;
    /* The inputs, as the bare call takes them. */
    uint8_t data[GCM_LEN], nonce[NONCE_LEN], aad[AAD_LEN], info[INFO_LEN], salt[SALT_LEN];
    uint32_t iterations;
    size_t out_len;
    double *applet_ns, *bare_ns, *open_ns, *ratio;
} cipher_case_t;

typedef struct options {
    unsigned rounds, gcm_count, hkdf_count, pbkdf2_count, pbkdf2_iter;
} options_t;

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    s_resp_len = fk_card_transceive(&s_dev, apdu, len, s_resp, sizeof(s_resp));
    if (s_resp_len < SW_LEN) return 0;
    return (uint16_t)((s_resp[s_resp_len - 2] << 8) | s_resp[s_resp_len - 1]);
}

static bool check_sw(const char *what, uint16_t sw)
{
    if (sw == SW_OK) return true;
    fprintf(stderr, "fk-bench-cipher: %s answered %04X\n", what, sw);
    return false;
}

/* INITIALIZE (options 0001, user PIN, SO-PIN, 3 tries), VERIFY, and the
 * AES-256 key. */
static bool personalize(void)
{
    uint8_t a[64];
    size_t n = 0;
    a[n++] = 0x80, a[n++] = 0x50, a[n++] = 0, a[n++] = 0, a[n++] = 0;
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
    a[n++] = 0x00, a[n++] = 0x20, a[n++] = 0, a[n++] = 0x81, a[n++] = PIN_LEN;
    memcpy(a + n, k_pin, PIN_LEN), n += PIN_LEN;
    if (!check_sw("VERIFY", xfer(a, n))) return false;
    const uint8_t gen[] = {0x00, 0x48, KEY_ID, GEN_AES_256};
    return check_sw("GENERATE SYMMETRIC KEY", xfer(gen, sizeof(gen)));
}

/* A DER INTEGER of a non-negative value, minimal (X.690 8.3.2). */
static bool put_der_uint(fk_rbuf_t *r, uint32_t v)
{
    uint8_t b[5];
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8)
        if (n > 0 || (v >> shift) != 0 || shift == 0) b[n++] = (uint8_t)(v >> shift);
    if (b[0] & 0x80u) {
        memmove(b + 1, b, n++);
        b[0] = 0;
    }
    return fk_tlv_put(r, 0x02, b, n);
}

/* The case's CIPHER APDU: 80 78 01 51, extended Lc, the TLVs, Le 0000. */
static bool build_apdu(cipher_case_t *c)
{
    uint8_t *a = c->apdu;
    fk_rbuf_t r = {a + 7, 0, sizeof(c->apdu) - 9};
    bool ok;
    if (fk_rng_bytes(c->data, sizeof(c->data)) != FK_CRYPTO_OK ||
        fk_rng_bytes(c->nonce, sizeof(c->nonce)) != FK_CRYPTO_OK ||
        fk_rng_bytes(c->aad, sizeof(c->aad)) != FK_CRYPTO_OK ||
        fk_rng_bytes(c->info, sizeof(c->info)) != FK_CRYPTO_OK ||
        fk_rng_bytes(c->salt, sizeof(c->salt)) != FK_CRYPTO_OK)
        return false;
    switch (c->kind) {
    case CASE_GCM:
        ok = fk_tlv_put(&r, 0x06, k_oid_aes256_gcm, sizeof(k_oid_aes256_gcm)) &&
             fk_tlv_put(&r, 0x81, c->data, GCM_LEN) && fk_tlv_put(&r, 0x82, c->nonce, NONCE_LEN) &&
             fk_tlv_put(&r, 0x83, c->aad, AAD_LEN);
        c->out_len = GCM_LEN + TAG_LEN;
        break;
    case CASE_HKDF:
        ok = fk_tlv_put(&r, 0x06, k_oid_hkdf_sha256, sizeof(k_oid_hkdf_sha256)) &&
             fk_tlv_put(&r, 0x81, c->info, INFO_LEN) && fk_tlv_put(&r, 0x82, c->salt, SALT_LEN);
        c->out_len = KDF_OUT;
        break;
    default: { /* PBKDF2-params: salt, iterations, keyLength, PRF */
        uint8_t params[64], prf[16];
        fk_rbuf_t p = {params, 0, sizeof(params)}, f = {prf, 0, sizeof(prf)};
        ok = fk_tlv_put(&f, 0x06, k_oid_hmac_sha256, sizeof(k_oid_hmac_sha256)) &&
             fk_tlv_put(&p, 0x04, c->salt, SALT_LEN) && put_der_uint(&p, c->iterations) &&
             put_der_uint(&p, KDF_OUT) && fk_tlv_put(&p, 0x30, prf, f.len) &&
             fk_tlv_put(&r, 0x06, k_oid_pbkdf2, sizeof(k_oid_pbkdf2)) &&
             fk_tlv_put(&r, 0x81, params, p.len);
        c->out_len = KDF_OUT;
        break;
    }
    }
    if (!ok) return false;
    a[0] = 0x80, a[1] = 0x78, a[2] = KEY_ID, a[3] = HSM_ALG_EXT_ENCRYPT;
    a[4] = 0, a[5] = (uint8_t)(r.len >> 8), a[6] = (uint8_t)r.len;
    a[7 + r.len] = 0, a[8 + r.len] = 0;
    c->apdu_len = 9 + r.len;
    return true;
}

/* One bare call of the case into out (c->out_len bytes). */
static int bare_call(const cipher_case_t *c, uint8_t *out)
{
    switch (c->kind) {
    case CASE_GCM:
        return fk_aes_aead_seal(FK_AES_GCM, s_key, KEY_LEN, c->nonce, NONCE_LEN, c->aad, AAD_LEN,
                                c->data, GCM_LEN, out, out + GCM_LEN, TAG_LEN);
    case CASE_HKDF:
        return fk_hkdf(FK_HASH_SHA256, c->salt, SALT_LEN, s_key, KEY_LEN, c->info, INFO_LEN, out,
                       KDF_OUT);
    default:
        return fk_pbkdf2(FK_HASH_SHA256, s_key, KEY_LEN, c->salt, SALT_LEN, c->iterations, NULL,
                         NULL, out, KDF_OUT);
    }
}

/* Open the key object as CIPHER does (the PIN is verified) and keep its
 * material for the bare calls. */
static bool open_key(const fk_applet_ctx_t *ctx)
{
    const hsm_state_t *st = (const hsm_state_t *)ctx->state;
    fk_key_t key;
    int rc = fk_key_open(ctx, HSM_FID(HSM_PREFIX_KEY, KEY_ID), st->mk, &key);
    if (rc != FK_KEY_OK || key.len != KEY_LEN) {
        fprintf(stderr, "fk-bench-cipher: the key does not open (%d)\n", rc);
        if (rc == FK_KEY_OK) fk_key_close(&key);
        return false;
    }
    memcpy(s_key, key.material, KEY_LEN);
    fk_key_close(&key);
    return true;
}

/* The applet's output equals the bare one. */
static bool check_case(const cipher_case_t *c)
{
    static uint8_t bare[GCM_LEN + TAG_LEN];
    if (!check_sw(c->name, xfer(c->apdu, c->apdu_len))) return false;
    if (bare_call(c, bare) != FK_CRYPTO_OK) {
        fprintf(stderr, "fk-bench-cipher: %s: bare call failed\n", c->name);
        return false;
    }
    if (s_resp_len - SW_LEN != c->out_len || memcmp(s_resp, bare, c->out_len) != 0) {
        fprintf(stderr, "fk-bench-cipher: %s: the applet's output differs from the bare one\n",
                c->name);
        return false;
    }
    return true;
}

static double time_applet(const cipher_case_t *c, unsigned count)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < count; i++) {
        uint16_t sw = xfer(c->apdu, c->apdu_len);
        if (sw != SW_OK || s_resp_len - SW_LEN != c->out_len) {
            fprintf(stderr, "fk-bench-cipher: %s: CIPHER answered %04X\n", c->name, sw);
            return -1.0;
        }
    }
    return (double)(now_ns() - t0) / count;
}

static double time_bare(const cipher_case_t *c, unsigned count)
{
    static uint8_t out[GCM_LEN + TAG_LEN];
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < count; i++) {
        if (bare_call(c, out) != FK_CRYPTO_OK) {
            fprintf(stderr, "fk-bench-cipher: %s: bare call failed\n", c->name);
            return -1.0;
        }
    }
    return (double)(now_ns() - t0) / count;
}

static double time_open(const cipher_case_t *c, const fk_applet_ctx_t *ctx)
{
    const hsm_state_t *st = (const hsm_state_t *)ctx->state;
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < c->count; i++) {
        fk_key_t key;
        if (fk_key_open(ctx, HSM_FID(HSM_PREFIX_KEY, KEY_ID), st->mk, &key) != FK_KEY_OK) {
            fprintf(stderr, "fk-bench-cipher: key open failed\n");
            return -1.0;
        }
        fk_key_close(&key);
    }
    return (double)(now_ns() - t0) / c->count;
}

static bool run_round(cipher_case_t *c, unsigned r, const fk_applet_ctx_t *ctx)
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
    *o = (options_t){DEFAULT_ROUNDS, DEFAULT_GCM_COUNT, DEFAULT_HKDF_COUNT, DEFAULT_PBKDF2_COUNT,
                     DEFAULT_PBKDF2_ITER};
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned *dst = NULL;
        if (strcmp(argv[i], "--rounds") == 0) dst = &o->rounds;
        else if (strcmp(argv[i], "--gcm-count") == 0) dst = &o->gcm_count;
        else if (strcmp(argv[i], "--hkdf-count") == 0) dst = &o->hkdf_count;
        else if (strcmp(argv[i], "--pbkdf2-count") == 0) dst = &o->pbkdf2_count;
        else if (strcmp(argv[i], "--pbkdf2-iter") == 0) dst = &o->pbkdf2_iter;
        if (dst == NULL || v == NULL || !parse_count(v, dst)) return false;
    }
    return o->pbkdf2_iter <= FK_PBKDF2_MAX_ITER;
}

int main(int argc, char **argv)
{
    options_t o;
    if (!parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: %s [--rounds N] [--gcm-count N] [--hkdf-count N] "
                        "[--pbkdf2-count N] [--pbkdf2-iter N]\n",
                argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    static cipher_case_t cases[] = {
        {.name = "AES-256-GCM seal, 4 KiB", .kind = CASE_GCM},
        {.name = "HKDF-SHA-256, 32 bytes", .kind = CASE_HKDF},
        {.name = "PBKDF2-HMAC-SHA-256, 32 bytes", .kind = CASE_PBKDF2},
    };
    const size_t n_cases = FK_ARRAY_SIZE(cases);
    fk_applet_ctx_t ctx;
    bench_device_t w = {0};
    int status = 1;

    cases[CASE_GCM].count = o.gcm_count;
    cases[CASE_HKDF].count = o.hkdf_count;
    cases[CASE_PBKDF2].count = o.pbkdf2_count;
    cases[CASE_PBKDF2].iterations = o.pbkdf2_iter;
    for (size_t i = 0; i < n_cases; i++) {
        cipher_case_t *c = &cases[i];
        c->applet_ns = calloc(o.rounds, sizeof(double));
        c->bare_ns = calloc(o.rounds, sizeof(double));
        c->open_ns = calloc(o.rounds, sizeof(double));
        c->ratio = calloc(o.rounds, sizeof(double));
        if (!c->applet_ns || !c->bare_ns || !c->open_ns || !c->ratio) {
            fprintf(stderr, "fk-bench-cipher: out of memory\n");
            goto out;
        }
    }
    if (!bench_device_up(&w, "fk-bench-cipher", k_serial, &s_svc, &s_dev, &s_state,
                         sizeof(s_state)) || !personalize()) goto out;
    ctx = fk_card_applet_ctx(&s_dev, &fk_hsm_applet);
    if (!open_key(&ctx)) goto out;
    for (size_t i = 0; i < n_cases; i++) {
        if (!build_apdu(&cases[i]) || !check_case(&cases[i]) ||
            time_applet(&cases[i], WARMUP_COUNT) < 0 || time_bare(&cases[i], WARMUP_COUNT) < 0)
            goto out;
    }
    printf("fk-bench-cipher: %u rounds, per round %u GCM / %u HKDF / %u PBKDF2 (%u iterations) "
           "calls per side, interleaved; applet outputs equal the bare ones\n",
           o.rounds, o.gcm_count, o.hkdf_count, o.pbkdf2_count, o.pbkdf2_iter);
    for (unsigned r = 0; r < o.rounds; r++) {
        for (size_t i = 0; i < n_cases; i++) {
            if (!run_round(&cases[i], r, &ctx)) goto out;
        }
    }

    printf("%-32s %11s %11s %11s %12s\n", "per call (median)", "applet us", "bare us",
           "key open us", "applet/bare");
    for (size_t i = 0; i < n_cases; i++) {
        const cipher_case_t *c = &cases[i];
        printf("%-32s %11.1f %11.1f %11.1f %12.3f\n", c->name,
               median(c->applet_ns, o.rounds) / NS_PER_US, median(c->bare_ns, o.rounds) / NS_PER_US,
               median(c->open_ns, o.rounds) / NS_PER_US, median(c->ratio, o.rounds));
    }
    const double gcm_a = median(cases[CASE_GCM].applet_ns, o.rounds);
    const double gcm_b = median(cases[CASE_GCM].bare_ns, o.rounds);
    printf("AES-256-GCM 4 KiB throughput: applet %.1f MB/s, bare %.1f MB/s, ratio applet/bare "
           "%.3f (time, median of rounds)\n",
           GCM_LEN * 1e3 / gcm_a, GCM_LEN * 1e3 / gcm_b, median(cases[CASE_GCM].ratio, o.rounds));
    for (size_t i = 1; i < n_cases; i++)
        printf("%s: applet / bare %.3f (time per call, median of rounds)\n", cases[i].name,
               median(cases[i].ratio, o.rounds));
    status = 0;

out:
    fk_wipe(s_key, sizeof(s_key));
    for (size_t i = 0; i < n_cases; i++) {
        free(cases[i].applet_ns);
        free(cases[i].bare_ns);
        free(cases[i].open_ns);
        free(cases[i].ratio);
    }
    bench_device_down(&w);
    return status;
}
