/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of WRAP KEY (80 72) and UNWRAP KEY (80 74)
 * (applets/hsm/hsm_wrap.c): the real device (services, card, product
 * applets) over the host port's file-backed flash and OTP, driven by APDUs,
 * the blobs checked with the codec (hsm_blob.h) under the DKEK the test
 * imported.
 *
 * - wrap and unwrap of EC, RSA, X25519 and AES keys: the restored key signs,
 *   decrypts and derives as the original, its request CE<id> carries the
 *   original public key, C4<id> is written, its algorithm list, use count
 *   and domain are the original's;
 * - both unwrap forms (extended data; case 1 after UPDATE BINARY of 2F10,
 *   which is emptied), a blob written the reference card's way;
 * - every check in its order and status word; a refused unwrap (changed
 *   KCV, CMAC, any byte, truncated, another domain's key, an occupied id)
 *   writes nothing;
 * - power cuts at every flash operation of an unwrap, and a full store:
 *   the key with all its records, or nothing and 2F10 still there;
 * - a flash dump after an unwrap holds neither the key nor the DKEK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/ed.h"
#include "crypto/pk.h"
#include "cvc.h"
#include "devrig.h"
#include "flashcut.h"
#include "hal.h"
#include "host_port.h"
#include "blob_vectors.h"
#include "hsm_blob.h"
#include "hsm_internal.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)

#define SW_OK 0x9000u
#define SW_WRONG_LENGTH 0x6700u
#define SW_SECURITY 0x6982u
#define SW_CONDITIONS 0x6985u
#define SW_WRONG_DATA 0x6A80u
#define SW_NOT_FOUND 0x6A82u
#define SW_NOT_ENOUGH_MEMORY 0x6A84u
#define SW_INCORRECT_P1P2 0x6A86u
#define SW_REF_NOT_FOUND 0x6A88u
#define SW_EXISTS 0x6A89u
#define SW_WRONG_P1P2 0x6B00u

#define ALG_ECDSA 0x70u
#define ALG_ECDH 0x80u
#define ALG_WRAP 0x92u

static fk_testdev_t g_dev;
static uint8_t g_out[65535];
static size_t g_out_len;
static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0x3A, 0x77, 0x12, 0x00, 0xC0, 0xFF, 0xEE, 0x01};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};
static char g_snap[FK_DEVRIG_PATH_CAP + 8];

/* Domain 0's DKEK: the single share the test imports (00 01 .. 1F, the
 * DKEK of the codec's known answers). Domain 2 gets another. */
static uint8_t g_dkek[32];
static uint8_t g_dkek2[32];

static uint8_t g_blob[HSM_BLOB_MAX];
static size_t g_blob_len;
static uint8_t g_plain[HSM_BLOB_PLAIN_MAX];
static uint8_t g_pk[FK_PK_BLOB_MAX], g_pk2[FK_PK_BLOB_MAX];


static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t n,
                     size_t ne)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, ne, ne > 256 || n > 255};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static uint16_t verify(void) { return send(0x00, 0x20, 0x00, 0x81, k_pin, 6, 0); }

/* WRAP as OpenSC sends it (case 2 extended, Le 0000); the blob into
 * g_blob. */
static uint16_t wrap(uint8_t id)
{
    const fk_devrig_cmd_t cmd = {0x80, 0x72, id, 0x92, NULL, 0, FK_DEVRIG_NE_EXT_MAX, true};
    const uint16_t sw = fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
    g_blob_len = 0;
    if (sw == SW_OK) {
        assert_true(g_out_len - 2 <= sizeof(g_blob));
        g_blob_len = g_out_len - 2;
        memcpy(g_blob, g_out, g_blob_len);
    }
    return sw;
}

/* UNWRAP as OpenSC 0.23 sends it: case 3 extended, no Le. */
static uint16_t unwrap(uint8_t id, const uint8_t *blob, size_t len)
{
    const fk_devrig_cmd_t cmd = {0x80, 0x74, id, 0x93, blob, len, 0, true};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

/* UPDATE BINARY of 2F10 as OpenSC 0.27 does it: FID 2F10 on every chunk. */
static void put_2f10(const uint8_t *blob, size_t len, size_t chunk)
{
    uint8_t body[300];
    for (size_t off = 0; off < len; off += chunk) {
        const size_t n = FK_MIN(chunk, len - off);
        size_t k = 0;
        body[k++] = 0x54, body[k++] = 0x02, body[k++] = (uint8_t)(off >> 8), body[k++] = (uint8_t)off;
        body[k++] = 0x53;
        if (n >= 0x80) body[k++] = 0x81;
        body[k++] = (uint8_t)n;
        memcpy(body + k, blob + off, n);
        assert_int_equal(send(0x00, 0xD7, 0x2F, 0x10, body, k + n, 0), SW_OK);
    }
}

static bool file_exists(uint16_t fid)
{
    uint32_t size;
    const fk_space_t sp = {&g_dev.svc.store, FK_NS_HSM};
    return fk_space_size(&sp, fid, &size) == FK_STORE_OK;
}

static size_t read_record(uint16_t fid, uint8_t *buf, size_t cap)
{
    uint32_t size = 0;
    const fk_space_t sp = {&g_dev.svc.store, FK_NS_HSM};
    if (fk_space_size(&sp, fid, &size) != FK_STORE_OK) return 0;
    assert_true(size <= cap);
    assert_int_equal(fk_space_read(&sp, fid, 0, buf, size), FK_STORE_OK);
    return size;
}

/* A context of the HSM in the card under test (its session included). */
static fk_applet_ctx_t hsm_ctx(void) { return fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet); }

static const hsm_state_t *session(void) { return (const hsm_state_t *)hsm_ctx().state; }

/* INITIALIZE with 92 = 1 and 97 = 3; domain 0 gets g_dkek (one share),
 * domain 2 g_dkek2 (created for one share). The user PIN is verified. */
static uint16_t init_device(void)
{
    uint8_t d[64];
    fk_rbuf_t r = {d, 0, sizeof(d)};
    static const uint8_t opts[] = {0x00, 0x01}, tries = 3, shares = 1, domains = 3;
    assert_true(fk_tlv_put(&r, 0x80, opts, 2) && fk_tlv_put(&r, 0x81, k_pin, 6) &&
                fk_tlv_put(&r, 0x82, k_so, 8) && fk_tlv_put(&r, 0x91, &tries, 1) &&
                fk_tlv_put(&r, 0x92, &shares, 1) && fk_tlv_put(&r, 0x97, &domains, 1));
    uint16_t sw = send(0x80, 0x50, 0x00, 0x00, d, r.len, 0);
    if (sw != SW_OK) return sw;
    if ((sw = send(0x80, 0x52, 0x00, 0x00, g_dkek, 32, 256)) != SW_OK) return sw;
    if ((sw = verify()) != SW_OK) return sw;
    if ((sw = send(0x80, 0x52, 0x01, 0x02, "\x01", 1, 256)) != SW_OK) return sw;
    return send(0x80, 0x52, 0x00, 0x02, g_dkek2, 32, 256);
}

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    for (size_t i = 0; i < 32; i++) g_dkek[i] = (uint8_t)i;
    for (size_t i = 0; i < 32; i++) g_dkek2[i] = (uint8_t)(0xC0 ^ (i * 7));
    if (fk_devrig_setup(&g_rig, "wrap") != 0) return -1;
    snprintf(g_snap, sizeof(g_snap), "%s.snap", g_rig.flash);
    return init_device() == SW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    unlink(g_snap);
    return fk_devrig_teardown(&g_rig);
}

static void restart(void)
{
    fk_flashcut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
}

/* GENERATE key `id` on `curve` with extra TLVs (90, 91, 92). */
static uint16_t generate_ec(uint8_t id, fk_curve_t curve, const uint8_t *extra, size_t extra_len)
{
    static uint8_t t[1024];
    const size_t n = fk_devrig_ec_template(t, sizeof(t), curve, "UTWRAP00001", extra, extra_len);
    return send(0x00, 0x46, id, 0x00, t, n, FK_DEVRIG_NE_EXT_MAX);
}

/* The key blob of CC<id> (user PIN verified) into buf. */
static size_t key_blob(uint8_t id, uint8_t *buf)
{
    size_t len = 0;
    assert_int_equal(fk_devrig_hsm_key(&g_dev, id, buf, FK_PK_BLOB_MAX, &len), FK_KEY_OK);
    return len;
}

static void key_policy(uint8_t id, fk_key_policy_t *pol, uint32_t *uses)
{
    const fk_applet_ctx_t ctx = hsm_ctx();
    assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, id), pol, uses), FK_KEY_OK);
}

/* ECDSA over a fixed digest with key id, checked against pub. */
static void ecdsa_checks(uint8_t id, const fk_pk_public_t *pub)
{
    uint8_t digest[32];
    fk_sha256("wrapped and back", 16, digest);
    assert_int_equal(send(0x80, 0x68, id, ALG_ECDSA, digest, 32, 256), SW_OK);
    assert_int_equal(fk_pk_ecdsa_verify(pub, digest, 32, FK_SIG_DER, g_out, g_out_len - 2),
                     FK_CRYPTO_OK);
}

/* The public key of the request in CE<id> equals the point / modulus of
 * the key blob blob. */
static void request_matches(uint8_t id, const uint8_t *blob, size_t len)
{
    static uint8_t ce[2048];
    fk_pk_key_t k;
    fk_pk_public_t pub;
    fk_cvc_request_t rq;
    fk_cvc_alg_t alg;
    const size_t n = read_record(HSM_FID(HSM_PREFIX_EECERT, id), ce, sizeof(ce));
    assert_true(n > 0);
    assert_int_equal(fk_cvc_parse_request(ce, n, &rq), 0);
    assert_true(rq.authenticated);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), 0);
    assert_int_equal(fk_pk_parse(blob, len, &k), FK_CRYPTO_OK);
    if (k.type == FK_PK_RSA) {
        assert_int_equal(pub.n.len, k.n.len);
        assert_memory_equal(pub.n.p, k.n.p, k.n.len);
    } else {
        assert_int_equal(pub.point.len, k.pub.len);
        assert_memory_equal(pub.point.p, k.pub.p, k.pub.len);
    }
    /* The default description is there too. */
    assert_true(file_exists(HSM_FID(HSM_PREFIX_PRKD, id)));
}

/* ---- EC --------------------------------------------------------------------- */

static void test_wrap_unwrap_ec(void **state)
{
    (void)state;
    static const uint8_t meta[] = {0x91, 0x03, ALG_ECDSA, ALG_ECDH, ALG_WRAP};
    assert_int_equal(generate_ec(0x01, FK_CURVE_SECP256R1, meta, sizeof(meta)), SW_OK);
    assert_int_equal(wrap(0x01), SW_OK);

    /* The blob opens under domain 0's DKEK and holds key 01. */
    hsm_blob_key_t bk;
    assert_int_equal(hsm_blob_decode(g_blob, g_blob_len, g_dkek, g_plain, sizeof(g_plain), &bk), 0);
    const size_t len = key_blob(0x01, g_pk);
    fk_pk_key_t orig;
    assert_int_equal(fk_pk_parse(g_pk, len, &orig), FK_CRYPTO_OK);
    assert_int_equal(bk.kind, HSM_BLOB_KIND_EC);
    assert_int_equal(bk.curve, FK_CURVE_SECP256R1);
    /* The blob holds the scalar as an integer: without its leading zero
     * bytes (one key in 256 has one). */
    assert_true(bk.priv.len >= 1 && bk.priv.len <= 32);
    for (size_t i = 0; i < 32u - bk.priv.len; i++) assert_int_equal(orig.d.p[i], 0);
    assert_memory_equal(bk.priv.p, orig.d.p + (32u - bk.priv.len), bk.priv.len);
    assert_memory_equal(bk.pub.p, orig.pub.p, orig.pub.len);
    assert_int_equal(bk.algs.len, 3);
    assert_memory_equal(bk.algs.p, meta + 2, 3);
    assert_false(bk.has_counter);

    /* Unwrapped at 02, it is key 01: same scalar, same request key, it
     * signs as 01; its list and domain came with it. */
    assert_int_equal(unwrap(0x02, g_blob, g_blob_len), SW_OK);
    assert_int_equal(g_out_len, 2);
    const size_t len2 = key_blob(0x02, g_pk2);
    assert_int_equal(len2, len);
    assert_memory_equal(g_pk2, g_pk, len);
    request_matches(0x02, g_pk, len);
    fk_pk_public_t pub;
    fk_pk_public_of(&orig, &pub);
    ecdsa_checks(0x02, &pub);
    fk_key_policy_t pol;
    key_policy(0x02, &pol, NULL);
    assert_int_equal(pol.kind, FK_KEY_EC);
    assert_int_equal(pol.domain, 0);
    assert_int_equal(pol.n_algs, 3);
    assert_memory_equal(pol.algs, meta + 2, 3);
    assert_false(pol.has_counter);
    assert_int_equal(send(0x80, 0x68, 0x02, 0x73, "m", 1, 256), SW_CONDITIONS); /* not listed */

    /* An occupied id is refused and stays as it is; after DELETE FILE of
     * CC<id> (sc-hsm-tool --force) the unwrap goes through. */
    assert_int_equal(unwrap(0x02, g_blob, g_blob_len), SW_EXISTS);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\xCC\x02", 2, 0), SW_OK);
    assert_int_equal(unwrap(0x02, g_blob, g_blob_len), SW_OK);
    ecdsa_checks(0x02, &pub);

    /* The same after a restart (the session gone, the PIN again). */
    restart();
    assert_int_equal(wrap(0x02), SW_SECURITY);
    assert_int_equal(verify(), SW_OK);
    ecdsa_checks(0x02, &pub);
    assert_int_equal(wrap(0x02), SW_OK);
}

/* Every curve: wrap, unwrap, the same scalar. */
static void test_every_curve(void **state)
{
    (void)state;
    uint8_t id = 0x20;
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        if (fk_curve_info((fk_curve_t)c)->montgomery) continue;
        assert_int_equal(generate_ec(id, (fk_curve_t)c, NULL, 0), SW_OK);
        assert_int_equal(wrap(id), SW_OK);
        assert_int_equal(unwrap((uint8_t)(id + 0x40), g_blob, g_blob_len), SW_OK);
        const size_t a = key_blob(id, g_pk), b = key_blob((uint8_t)(id + 0x40), g_pk2);
        assert_int_equal(a, b);
        assert_memory_equal(g_pk, g_pk2, a);
        request_matches((uint8_t)(id + 0x40), g_pk, a);
        id++;
    }
}

/* The reference card's blob of a P-256 key under DKEK 00..1F: imported,
 * its request carries the blob's point. */
static void test_foreign_blob(void **state)
{
    (void)state;
    assert_int_equal(unwrap(0x05, k_kat_pico_ec, sizeof(k_kat_pico_ec)), SW_OK);
    const size_t len = key_blob(0x05, g_pk);
    fk_pk_key_t k;
    assert_int_equal(fk_pk_parse(g_pk, len, &k), FK_CRYPTO_OK);
    assert_int_equal(k.curve, FK_CURVE_SECP256R1);
    assert_int_equal(k.d.p[0], 0x00);
    assert_int_equal(k.d.p[1], 0x00);
    for (size_t i = 2; i < 32; i++) assert_int_equal(k.d.p[i], 0x5D);
    request_matches(0x05, g_pk, len);
    /* Re-wrapped, it is written at full length (a, d). */
    assert_int_equal(wrap(0x05), SW_OK);
    assert_int_equal(g_blob_len, 363);
}

/* ---- RSA, X25519, AES ------------------------------------------------------- */

static void test_rsa(void **state)
{
    (void)state;
    static uint8_t t[512];
    const size_t n = fk_devrig_rsa_template(t, sizeof(t), 1024, "UTWRAP00001", NULL, 0);
    assert_int_equal(send(0x00, 0x46, 0x07, 0x00, t, n, FK_DEVRIG_NE_EXT_MAX), SW_OK);
    assert_int_equal(wrap(0x07), SW_OK);
    hsm_blob_header_t h;
    assert_int_equal(hsm_blob_parse_header(g_blob, g_blob_len, &h), 0);
    assert_int_equal(h.type, HSM_BLOB_TYPE_RSA);
    assert_int_equal(unwrap(0x08, g_blob, g_blob_len), SW_OK);
    const size_t len = key_blob(0x07, g_pk);
    request_matches(0x08, g_pk, len);

    /* PKCS#1 v1.5 with SHA-256 on the card, checked with 07's key. */
    fk_pk_key_t k;
    fk_pk_public_t pub;
    uint8_t digest[32];
    assert_int_equal(fk_pk_parse(g_pk, len, &k), FK_CRYPTO_OK);
    fk_pk_public_of(&k, &pub);
    assert_int_equal(send(0x80, 0x68, 0x08, 0x33, "rsa", 3, 256), SW_OK);
    fk_sha256("rsa", 3, digest);
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, digest, 32, g_out, g_out_len - 2),
                     FK_CRYPTO_OK);
    fk_key_policy_t pol;
    key_policy(0x08, &pol, NULL);
    assert_int_equal(pol.kind, FK_KEY_RSA);
    assert_int_equal(pol.size, 1024);
}

/* Put a key object directly (kinds GENERATE does not make), under the
 * session's master key. */
static void put_key(uint8_t id, const fk_key_policy_t *pol, const uint8_t *m, size_t len)
{
    const fk_applet_ctx_t ctx = hsm_ctx();
    assert_true(session()->mk_loaded);
    assert_int_equal(fk_key_put(&ctx, HSM_FID(HSM_PREFIX_KEY, id), pol, m, len, session()->mk),
                     FK_KEY_OK);
}

static void test_x25519(void **state)
{
    (void)state;
    size_t len, plen;
    fk_pk_key_t peer;
    static uint8_t peer_blob[256], z1[80];
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_X25519, g_pk, sizeof(g_pk), &len), 0);
    const fk_key_policy_t pol = {.kind = FK_KEY_MONT, .size = FK_CURVE_X25519,
                                 .domain = FK_KEY_NO_DOMAIN};
    put_key(0x30, &pol, g_pk, len);
    assert_int_equal(wrap(0x30), SW_OK);
    assert_int_equal(unwrap(0x31, g_blob, g_blob_len), SW_OK);
    assert_int_equal(key_blob(0x31, g_pk2), len);
    assert_memory_equal(g_pk2, g_pk, len);
    request_matches(0x31, g_pk, len);
    /* Both derive the same secret with a peer. */
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_X25519, peer_blob, sizeof(peer_blob), &plen), 0);
    assert_int_equal(fk_pk_parse(peer_blob, plen, &peer), FK_CRYPTO_OK);
    assert_int_equal(send(0x80, 0x62, 0x30, ALG_ECDH, peer.pub.p, peer.pub.len, 256), SW_OK);
    memcpy(z1, g_out, g_out_len - 2);
    assert_int_equal(send(0x80, 0x62, 0x31, ALG_ECDH, peer.pub.p, peer.pub.len, 256), SW_OK);
    assert_memory_equal(g_out, z1, 33);
}

/* Ed25519 and Ed448: the seed and public key travel; a blob whose public
 * key is not the seed's is refused before anything is written. (A good
 * Edwards blob imports once hsm_key_request makes Edwards requests.) */
static void test_edwards(void **state)
{
    (void)state;
    static const fk_curve_t twins[] = {FK_CURVE_X25519, FK_CURVE_X448};
    uint8_t m[2 * FK_ED_KEY_MAX];
    for (size_t i = 0; i < 2; i++) {
        const size_t klen = fk_ed_key_len(twins[i]);
        const uint8_t id = (uint8_t)(0x60 + 2 * i);
        assert_int_equal(fk_ed_generate(twins[i], m, m + klen), FK_CRYPTO_OK);
        const fk_key_policy_t pol = {.kind = FK_KEY_EDWARDS, .size = twins[i],
                                     .domain = FK_KEY_NO_DOMAIN};
        put_key(id, &pol, m, 2 * klen);
        assert_int_equal(wrap(id), SW_OK);
        hsm_blob_key_t bk;
        assert_int_equal(
            hsm_blob_decode(g_blob, g_blob_len, g_dkek, g_plain, sizeof(g_plain), &bk), 0);
        assert_int_equal(bk.kind, HSM_BLOB_KIND_EDWARDS);
        assert_int_equal(bk.curve, twins[i]);
        assert_memory_equal(bk.priv.p, m, klen);
        assert_memory_equal(bk.pub.p, m + klen, klen);

        /* A blob whose public key is not the seed's. */
        static uint8_t liar[HSM_BLOB_MAX], other[FK_ED_KEY_MAX];
        static const uint8_t rnd[8];
        memcpy(other, m + klen, klen);
        other[0] ^= 1;
        hsm_blob_key_t lk = bk;
        lk.pub = (fk_bytes_t){other, klen};
        size_t llen;
        assert_int_equal(hsm_blob_encode(&lk, g_dkek, rnd, liar, sizeof(liar), &llen), 0);
        assert_int_equal(unwrap((uint8_t)(id + 1), liar, llen), SW_WRONG_DATA);
        assert_false(file_exists(HSM_FID(HSM_PREFIX_KEY, id + 1)));

        /* The true blob restores a key that signs (pure EdDSA, P2 70) for
         * the same public key, with its request and description. */
        static const uint8_t msg[] = "restored edwards key";
        assert_int_equal(unwrap((uint8_t)(id + 1), g_blob, g_blob_len), SW_OK);
        assert_true(file_exists(HSM_FID(HSM_PREFIX_EECERT, id + 1)));
        assert_true(file_exists(HSM_FID(HSM_PREFIX_PRKD, id + 1)));
        assert_int_equal(send(0x80, 0x68, (uint8_t)(id + 1), ALG_ECDSA, msg, sizeof(msg), 256),
                         SW_OK);
        assert_int_equal(g_out_len - 2, fk_ed_sig_len(twins[i]));
        assert_int_equal(fk_ed_verify(twins[i], m + klen, msg, sizeof(msg), g_out, g_out_len - 2),
                         FK_CRYPTO_OK);
    }
}

static void test_aes(void **state)
{
    (void)state;
    uint8_t key[32];
    static uint8_t c4[128];
    assert_int_equal(fk_hal_random(key, sizeof(key)), FK_HAL_OK);
    const fk_key_policy_t pol = {.kind = FK_KEY_AES, .size = 256, .domain = 2,
                                 .has_counter = true, .counter = 9, .n_algs = 3,
                                 .algs = {0x10, 0x11, ALG_WRAP}};
    put_key(0x40, &pol, key, sizeof(key));
    /* A stale request at the target id (from a key deleted earlier). */
    assert_int_equal(send(0x00, 0xD7, 0xCE, 0x41, "\x54\x02\x00\x00\x53\x02\x67\x00", 8, 0),
                     SW_OK);
    assert_int_equal(wrap(0x40), SW_OK);
    hsm_blob_key_t bk;
    /* Domain 2's key: its DKEK, not domain 0's. */
    assert_int_equal(hsm_blob_decode(g_blob, g_blob_len, g_dkek, g_plain, sizeof(g_plain), &bk),
                     HSM_BLOB_EKCV);
    assert_int_equal(hsm_blob_decode(g_blob, g_blob_len, g_dkek2, g_plain, sizeof(g_plain), &bk),
                     0);
    assert_int_equal(bk.kind, HSM_BLOB_KIND_AES);
    assert_memory_equal(bk.priv.p, key, 32);
    assert_true(bk.has_counter);
    assert_int_equal(bk.counter, 9);

    assert_int_equal(unwrap(0x41, g_blob, g_blob_len), SW_OK);
    assert_int_equal(key_blob(0x41, g_pk2), 32);
    assert_memory_equal(g_pk2, key, 32);
    fk_key_policy_t back;
    uint32_t uses;
    key_policy(0x41, &back, &uses);
    assert_int_equal(back.kind, FK_KEY_AES);
    assert_int_equal(back.size, 256);
    assert_int_equal(back.domain, 2);
    assert_true(back.has_counter);
    assert_int_equal(uses, 9);
    assert_int_equal(back.n_algs, 3);
    /* No request for a secret key (the stale one went); a default
     * secret-key description. */
    assert_false(file_exists(HSM_FID(HSM_PREFIX_EECERT, 0x41)));
    const size_t n = read_record(HSM_FID(HSM_PREFIX_PRKD, 0x41), c4, sizeof(c4));
    assert_true(n > 2);
    assert_int_equal(c4[0], 0xA8);
}

/* ---- What travels: the use count, the domain --------------------------------- */

static void test_counter_and_domain(void **state)
{
    (void)state;
    static const uint8_t meta[] = {0x90, 0x04, 0x00, 0x00, 0x00, 0x05, 0x92, 0x01, 0x02};
    assert_int_equal(generate_ec(0x50, FK_CURVE_SECP256R1, meta, sizeof(meta)), SW_OK);
    const size_t len = key_blob(0x50, g_pk);
    fk_pk_key_t k;
    fk_pk_public_t pub;
    assert_int_equal(fk_pk_parse(g_pk, len, &k), FK_CRYPTO_OK);
    fk_pk_public_of(&k, &pub);
    ecdsa_checks(0x50, &pub);
    ecdsa_checks(0x50, &pub);
    /* The blob says what is left (3), under domain 2's DKEK. */
    assert_int_equal(wrap(0x50), SW_OK);
    hsm_blob_key_t bk;
    assert_int_equal(hsm_blob_decode(g_blob, g_blob_len, g_dkek2, g_plain, sizeof(g_plain), &bk),
                     0);
    assert_true(bk.has_counter);
    assert_int_equal(bk.counter, 3);
    /* WRAP spends no use. */
    assert_int_equal(wrap(0x50), SW_OK);
    assert_int_equal(unwrap(0x51, g_blob, g_blob_len), SW_OK);
    fk_key_policy_t pol;
    uint32_t uses;
    key_policy(0x51, &pol, &uses);
    assert_int_equal(pol.domain, 2);
    assert_int_equal(uses, 3);
    for (int i = 0; i < 3; i++) ecdsa_checks(0x51, &pub);
    uint8_t digest[32] = {1};
    assert_int_equal(send(0x80, 0x68, 0x51, ALG_ECDSA, digest, 32, 256), SW_NOT_ENOUGH_MEMORY);
    /* The restored key wraps under its domain's DKEK again. */
    assert_int_equal(wrap(0x51), SW_OK);
    uint8_t kcv2[8];
    hsm_blob_kcv(g_dkek2, kcv2);
    assert_memory_equal(g_blob, kcv2, 8);
    /* Domain 2 cannot be deleted while they are there. */
    assert_int_equal(send(0x80, 0x52, 0x03, 0x02, NULL, 0, 0), SW_EXISTS);
}

/* ---- Checks and refusals ----------------------------------------------------- */

static void test_wrap_checks(void **state)
{
    (void)state;
    static const uint8_t no_wrap[] = {0x91, 0x01, ALG_ECDSA};
    static const uint8_t in_dom1[] = {0x92, 0x01, 0x01};
    /* Domain 1 expects two shares, none imported yet. */
    assert_int_equal(send(0x80, 0x52, 0x01, 0x01, "\x02", 1, 256), SW_OK);
    assert_int_equal(generate_ec(0x01, FK_CURVE_SECP256R1, no_wrap, sizeof(no_wrap)), SW_OK);
    assert_int_equal(generate_ec(0x02, FK_CURVE_SECP256R1, NULL, 0), SW_OK);
    assert_int_equal(generate_ec(0x03, FK_CURVE_SECP256R1, in_dom1, sizeof(in_dom1)), SW_OK);
    /* P2, data. */
    assert_int_equal(send(0x80, 0x72, 0x02, 0x93, NULL, 0, 256), SW_WRONG_P1P2);
    assert_int_equal(send(0x80, 0x72, 0x02, 0x92, "x", 1, 256), SW_WRONG_LENGTH);
    /* The device key never; a missing key; no PIN. */
    assert_int_equal(wrap(0x00), SW_SECURITY);
    assert_int_equal(wrap(0x09), SW_NOT_FOUND);
    assert_int_equal(send(0x00, 0xA4, 0x04, 0x00, "\xE8\x2B\x06\x01\x04\x01\x81\xC3\x1F\x02\x01",
                          11, 256),
                     SW_OK);
    assert_int_equal(wrap(0x02), SW_SECURITY);
    assert_int_equal(verify(), SW_OK);
    /* A list without 92; a domain whose DKEK is not complete. */
    assert_int_equal(wrap(0x01), SW_CONDITIONS);
    assert_int_equal(wrap(0x03), SW_REF_NOT_FOUND);
    assert_int_equal(send(0x80, 0x52, 0x00, 0x01, g_dkek, 32, 256), SW_OK);
    assert_int_equal(wrap(0x03), SW_REF_NOT_FOUND);
    assert_int_equal(send(0x80, 0x52, 0x00, 0x01, g_dkek2, 32, 256), SW_OK);
    assert_int_equal(wrap(0x03), SW_OK);
    uint8_t dkek1[32], kcv[8];
    for (size_t i = 0; i < 32; i++) dkek1[i] = g_dkek[i] ^ g_dkek2[i];
    hsm_blob_kcv(dkek1, kcv);
    assert_memory_equal(g_blob, kcv, 8);
    /* Domain 0 cleared: its keys no longer wrap. */
    assert_int_equal(wrap(0x02), SW_OK);
    assert_int_equal(send(0x80, 0x52, 0x04, 0x00, NULL, 0, 256), SW_OK);
    assert_int_equal(wrap(0x02), SW_REF_NOT_FOUND);
}

/* Everything UNWRAP refuses, and that a refusal writes nothing. */
static void test_unwrap_refusals(void **state)
{
    (void)state;
    static uint8_t bad[4096];
    assert_int_equal(generate_ec(0x01, FK_CURVE_SECP256R1, NULL, 0), SW_OK);
    assert_int_equal(wrap(0x01), SW_OK);
    const unsigned long before = fk_flashcut_ops();

    assert_int_equal(send(0x80, 0x74, 0x02, 0x92, g_blob, g_blob_len, 0), SW_WRONG_P1P2);
    assert_int_equal(unwrap(0x00, g_blob, g_blob_len), SW_INCORRECT_P1P2);
    assert_int_equal(unwrap(0x01, g_blob, g_blob_len), SW_EXISTS);
    /* Changed KCV, MAC, a byte of the ciphertext, of the algorithm list. */
    const size_t positions[] = {0, 7, 9, g_blob_len - 1, g_blob_len - 17, g_blob_len / 2};
    for (size_t i = 0; i < FK_ARRAY_SIZE(positions); i++) {
        memcpy(bad, g_blob, g_blob_len);
        bad[positions[i]] ^= 0x10;
        assert_int_equal(unwrap(0x02, bad, g_blob_len), SW_WRONG_DATA);
    }
    /* Truncated, extended, empty of data but 2F10 absent, junk. */
    assert_int_equal(unwrap(0x02, g_blob, g_blob_len - 1), SW_WRONG_DATA);
    assert_int_equal(unwrap(0x02, g_blob, g_blob_len - 16), SW_WRONG_DATA);
    assert_int_equal(unwrap(0x02, g_blob, 20), SW_WRONG_DATA);
    assert_int_equal(send(0x80, 0x74, 0x02, 0x93, NULL, 0, 0), SW_NOT_FOUND);
    memset(bad, 0x5A, 4000);
    assert_int_equal(unwrap(0x02, bad, 4000), SW_WRONG_DATA);
    assert_int_equal(unwrap(0x02, bad, 1), SW_WRONG_DATA);
    /* A blob under a DKEK no domain has. */
    uint8_t other[32];
    memset(other, 0x33, sizeof(other));
    const size_t len = key_blob(0x01, g_pk);
    fk_pk_key_t k;
    assert_int_equal(fk_pk_parse(g_pk, len, &k), FK_CRYPTO_OK);
    const hsm_blob_key_t bk = {.kind = HSM_BLOB_KIND_EC, .curve = k.curve, .priv = k.d,
                               .pub = k.pub};
    size_t blen;
    static const uint8_t rnd[8];
    assert_int_equal(hsm_blob_encode(&bk, other, rnd, bad, sizeof(bad), &blen), 0);
    assert_int_equal(unwrap(0x02, bad, blen), SW_WRONG_DATA);
    /* An authentic blob whose point is not its scalar's. */
    static uint8_t wrong_pub[FK_EC_POINT_MAX];
    memcpy(wrong_pub, k.pub.p, k.pub.len);
    wrong_pub[k.pub.len - 1] ^= 1;
    hsm_blob_key_t liar = bk;
    liar.pub = (fk_bytes_t){wrong_pub, k.pub.len};
    assert_int_equal(hsm_blob_encode(&liar, g_dkek, rnd, bad, sizeof(bad), &blen), 0);
    assert_int_equal(unwrap(0x02, bad, blen), SW_WRONG_DATA);
    /* Nothing was written by any of them. */
    assert_int_equal(fk_flashcut_ops(), before);
    assert_false(file_exists(HSM_FID(HSM_PREFIX_KEY, 0x02)));
    assert_false(file_exists(HSM_FID(HSM_PREFIX_EECERT, 0x02)));
    assert_false(file_exists(HSM_FID(HSM_PREFIX_PRKD, 0x02)));
    /* Without the PIN. */
    assert_int_equal(send(0x00, 0xA4, 0x04, 0x00, "\xE8\x2B\x06\x01\x04\x01\x81\xC3\x1F\x02\x01",
                          11, 256),
                     SW_OK);
    assert_int_equal(unwrap(0x02, g_blob, g_blob_len), SW_SECURITY);
    assert_int_equal(fk_flashcut_ops(), before);
}

/* OpenSC 0.27's form: the blob in 2F10 in chunks, then 80 74 <id> 93
 * without data; 2F10 is gone afterwards. A failed case-1 unwrap leaves it. */
static void test_unwrap_2f10(void **state)
{
    (void)state;
    assert_int_equal(generate_ec(0x01, FK_CURVE_SECP384R1, NULL, 0), SW_OK);
    assert_int_equal(wrap(0x01), SW_OK);
    put_2f10(g_blob, g_blob_len, 230);
    assert_true(file_exists(HSM_FID_UNWRAP));
    assert_int_equal(send(0x80, 0x74, 0x01, 0x93, NULL, 0, 0), SW_EXISTS);
    assert_true(file_exists(HSM_FID_UNWRAP));
    assert_int_equal(send(0x80, 0x74, 0x0A, 0x93, NULL, 0, 0), SW_OK);
    assert_false(file_exists(HSM_FID_UNWRAP));
    const size_t len = key_blob(0x01, g_pk);
    request_matches(0x0A, g_pk, len);
    /* A damaged blob in 2F10: refused, 2F10 kept. */
    g_blob[20] ^= 1;
    put_2f10(g_blob, g_blob_len, 101);
    assert_int_equal(send(0x80, 0x74, 0x0B, 0x93, NULL, 0, 0), SW_WRONG_DATA);
    assert_true(file_exists(HSM_FID_UNWRAP));
    assert_false(file_exists(HSM_FID(HSM_PREFIX_KEY, 0x0B)));
}

/* ---- Power cuts, a full store, a flash dump ----------------------------------- */

/* After a cut: either key `id` is there with its request, description and
 * signature, and 2F10 is gone; or none of it, and 2F10 still holds the
 * blob. Returns true for the first. */
static bool unwrap_outcome(uint8_t id, const fk_pk_public_t *pub, const uint8_t *blob, size_t len)
{
    static uint8_t f[HSM_BLOB_MAX];
    if (file_exists(HSM_FID(HSM_PREFIX_KEY, id))) {
        assert_false(file_exists(HSM_FID_UNWRAP));
        assert_true(file_exists(HSM_FID(HSM_PREFIX_EECERT, id)));
        assert_true(file_exists(HSM_FID(HSM_PREFIX_PRKD, id)));
        ecdsa_checks(id, pub);
        return true;
    }
    assert_false(file_exists(HSM_FID(HSM_PREFIX_EECERT, id)));
    assert_false(file_exists(HSM_FID(HSM_PREFIX_PRKD, id)));
    assert_int_equal(read_record(HSM_FID_UNWRAP, f, sizeof(f)), len);
    assert_memory_equal(f, blob, len);
    return false;
}

static void test_unwrap_powercut(void **state)
{
    (void)state;
    static uint8_t blob[HSM_BLOB_MAX];
    assert_int_equal(generate_ec(0x01, FK_CURVE_SECP256R1, NULL, 0), SW_OK);
    assert_int_equal(wrap(0x01), SW_OK);
    const size_t blen = g_blob_len;
    memcpy(blob, g_blob, blen);
    const size_t len = key_blob(0x01, g_pk);
    fk_pk_key_t k;
    fk_pk_public_t pub;
    assert_int_equal(fk_pk_parse(g_pk, len, &k), FK_CRYPTO_OK);
    fk_pk_public_of(&k, &pub);
    put_2f10(blob, blen, 200);
    fk_devrig_snapshot(&g_rig, g_snap);

    int olds = 0, news = 0;
    for (long n = 0;; n++) {
        fk_devrig_restore(&g_rig, g_snap);
        assert_int_equal(verify(), SW_OK);
        fk_flashcut_arm(n);
        const uint16_t sw = send(0x80, 0x74, 0x02, 0x93, NULL, 0, 0);
        const bool was_cut = fk_flashcut_cut();
        restart();
        assert_int_equal(verify(), SW_OK);
        if (unwrap_outcome(0x02, &pub, blob, blen)) {
            news++;
        } else {
            olds++;
            assert_int_not_equal(sw, SW_OK);
        }
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
    print_message("unwrap cut at %d points\n", olds + news);
}

/* UPDATE BINARY of a pattern file: its status word. */
static uint16_t put_file(uint16_t fid, size_t len)
{
    static uint8_t body[40000];
    size_t n = 0;
    body[n++] = 0x54, body[n++] = 0x02, body[n++] = 0x00, body[n++] = 0x00;
    body[n++] = 0x53, body[n++] = 0x83;
    body[n++] = (uint8_t)(len >> 16), body[n++] = (uint8_t)(len >> 8), body[n++] = (uint8_t)len;
    for (size_t i = 0; i < len; i++) body[n++] = (uint8_t)(i * 13 + fid);
    return send(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, body, n, 0);
}

static void test_unwrap_full_store(void **state)
{
    (void)state;
    static uint8_t blob[HSM_BLOB_MAX];
    static const size_t sizes[] = {32768, 4096, 512, 64, 1};
    assert_int_equal(generate_ec(0x01, FK_CURVE_SECP521R1, NULL, 0), SW_OK);
    assert_int_equal(wrap(0x01), SW_OK);
    const size_t blen = g_blob_len;
    memcpy(blob, g_blob, blen);
    put_2f10(blob, blen, 250);
    unsigned fid = 0xCF10;
    for (size_t s = 0; s < FK_ARRAY_SIZE(sizes); s++) {
        while (put_file((uint16_t)fid, sizes[s]) == SW_OK) fid++;
    }
    assert_int_equal(send(0x80, 0x74, 0x02, 0x93, NULL, 0, 0), SW_NOT_ENOUGH_MEMORY);
    restart();
    assert_int_equal(verify(), SW_OK);
    assert_false(file_exists(HSM_FID(HSM_PREFIX_KEY, 0x02)));
    assert_false(file_exists(HSM_FID(HSM_PREFIX_EECERT, 0x02)));
    assert_true(file_exists(HSM_FID_UNWRAP));
    /* With room again, it comes complete. */
    for (unsigned f = 0xCF10; f < fid && f < 0xCF14; f++)
        assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, (uint8_t[]){0xCF, (uint8_t)f}, 2, 0), SW_OK);
    assert_int_equal(send(0x80, 0x74, 0x02, 0x93, NULL, 0, 0), SW_OK);
    assert_false(file_exists(HSM_FID_UNWRAP));
    assert_true(file_exists(HSM_FID(HSM_PREFIX_EECERT, 0x02)));
}

static bool in_flash(const void *needle, size_t len)
{
    static uint8_t img[FLASH_SIZE];
    const size_t got = fk_devrig_load_file(g_rig.flash, img, sizeof(img));
    return memmem(img, got, needle, len) != NULL;
}

static void test_flash_dump(void **state)
{
    (void)state;
    assert_int_equal(unwrap(0x05, k_kat_pico_ec, sizeof(k_kat_pico_ec)), SW_OK);
    const size_t len = key_blob(0x05, g_pk);
    fk_pk_key_t k;
    assert_int_equal(fk_pk_parse(g_pk, len, &k), FK_CRYPTO_OK);
    assert_int_equal(generate_ec(0x06, FK_CURVE_SECP256R1, NULL, 0), SW_OK);
    assert_int_equal(wrap(0x06), SW_OK);
    put_2f10(g_blob, g_blob_len, 250);
    assert_int_equal(send(0x80, 0x74, 0x07, 0x93, NULL, 0, 0), SW_OK);
    const size_t len6 = key_blob(0x06, g_pk2);
    fk_pk_key_t k6;
    assert_int_equal(fk_pk_parse(g_pk2, len6, &k6), FK_CRYPTO_OK);
    /* Neither scalar, nor either DKEK, nor Kenc, nor half of any. */
    uint8_t kenc[32], in[36];
    memcpy(in, g_dkek, 32);
    memcpy(in + 32, "\x00\x00\x00\x01", 4);
    fk_sha256(in, 36, kenc);
    const uint8_t *secrets[] = {k.d.p + 2, k6.d.p, g_dkek, g_dkek2, kenc};
    const size_t lens[] = {30, 32, 32, 32, 32};
    for (size_t i = 0; i < FK_ARRAY_SIZE(secrets); i++) {
        assert_false(in_flash(secrets[i], lens[i]));
        assert_false(in_flash(secrets[i], lens[i] / 2));
        assert_false(in_flash(secrets[i] + lens[i] / 2, lens[i] / 2));
    }
    /* The scan finds what is in the clear: the certificates. */
    assert_true(in_flash("FKDICA00001", 11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrap_unwrap_ec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x25519, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_and_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrap_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrap_2f10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrap_powercut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrap_full_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flash_dump, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
