/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DERIVE EC KEY (80 76) on the real device over the host port's flash: the
 * data exactly as CardContact's PKCS#11 module sends it (98 || t, no Le),
 * d' = (d + t) mod n checked with the test's own byte arithmetic, the new
 * key's request CE<dst> (signed by the new key and the device key), its
 * default description C4<dst>, its policy (the source's list and the uses
 * the source has left), every refusal with nothing written and no use
 * spent, a full store, and a power cut at every flash operation of a
 * derivation over an existing key: after the restart <dst> is the old key
 * (its request, description, list and count) or the new one complete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cvc.h"
#include "devrig.h"
#include "flashcut.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "services/ns.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)
#define SW_OK 0x9000u
#define ALG_ECDSA 0x70u
#define ALG_ECDSA_SHA256 0x73u
#define ALG_ECDH 0x80u
#define ALG_DERIVE 0x98u
#define SRC 0x01u
#define DST 0x02u

static fk_testdev_t g_dev;
static uint8_t g_out[65535];
static size_t g_out_len;
static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0x0D, 0xE1, 0x7A, 0x00, 0x76, 0x01, 0x02, 0x03};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};
static char g_snap[FK_DEVRIG_PATH_CAP + 8];

/* The tweak of sc-hsm-embedded's own test of this mechanism (32 bytes). */
static const uint8_t k_tweak[32] = {
    0xA9, 0xFB, 0x57, 0xDB, 0xA1, 0xEE, 0xA9, 0xBC, 0x3E, 0x66, 0x0A, 0x90, 0x9D, 0x83, 0x8D, 0x72,
    0x6E, 0x3B, 0xF6, 0x23, 0xD5, 0x26, 0x20, 0x28, 0x20, 0x13, 0x48, 0x1D, 0x1F, 0x6E, 0x53, 0x76};

static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t n,
                     size_t ne)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, ne, ne > 256 || n > 255};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static uint16_t initialize(void)
{
    uint8_t d[64];
    fk_rbuf_t r = {d, 0, sizeof(d)};
    static const uint8_t opts[] = {0x00, 0x01}, tries = 3;
    assert_true(fk_tlv_put(&r, 0x80, opts, 2) && fk_tlv_put(&r, 0x81, k_pin, 6) &&
                fk_tlv_put(&r, 0x82, k_so, 8) && fk_tlv_put(&r, 0x91, &tries, 1));
    return send(0x80, 0x50, 0x00, 0x00, d, r.len, 0);
}

static uint16_t verify(void) { return send(0x00, 0x20, 0x00, 0x81, k_pin, 6, 0); }

/* DERIVE EC KEY as sc-hsm-embedded sends it: 98 || t, case 3 (no Le). */
static uint16_t derive(uint8_t src, uint8_t dst, const uint8_t *t, size_t t_len)
{
    uint8_t d[1 + FK_EC_MAX_LEN + 8];
    assert_true(t_len < sizeof(d));
    d[0] = ALG_DERIVE;
    memcpy(d + 1, t, t_len);
    return send(0x80, 0x76, src, dst, d, 1 + t_len, 0);
}

/* GENERATE an EC key with extra TLVs (90 counter, 91 list). */
static uint16_t generate(fk_curve_t curve, uint8_t id, const uint8_t *extra, size_t extra_len)
{
    static uint8_t t[1024];
    const size_t n = fk_devrig_ec_template(t, sizeof(t), curve, "UTDERIVE001", extra, extra_len);
    return send(0x00, 0x46, id, 0x00, t, n, FK_DEVRIG_NE_EXT_MAX);
}

static fk_space_t hsm_main(void) { return (fk_space_t){&g_dev.svc.store, FK_NS_HSM}; }

/* Record `id` of the HSM into buf; its length (0 when absent). */
static size_t hsm_record(uint16_t id, uint8_t *buf, size_t cap)
{
    uint32_t size = 0;
    const fk_space_t sp = hsm_main();
    if (fk_space_size(&sp, id, &size) != FK_STORE_OK) return 0;
    assert_true(size <= cap);
    assert_int_equal(fk_space_read(&sp, id, 0, buf, size), FK_STORE_OK);
    return size;
}

static bool have_record(uint16_t id)
{
    uint32_t size;
    const fk_space_t sp = hsm_main();
    return fk_space_size(&sp, id, &size) == FK_STORE_OK;
}

/* The device key, from the first certificate of 2F02. */
static void device_public(uint8_t *buf, size_t cap, fk_pk_public_t *pub)
{
    const size_t n = hsm_record(HSM_FID_DEVAUT, buf, cap);
    fk_cvc_t dev;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_parse(buf, n, &dev), 0);
    assert_int_equal(fk_cvc_public_key(&dev, FK_CURVE_NONE, pub, &alg), 0);
}

/* The public key of the request CE<id> (copied into keep), checked: the new
 * key signed its body, the device key the request. */
static void request_key(uint8_t id, uint8_t *keep, size_t cap, fk_pk_public_t *pub)
{
    static uint8_t devaut[1024];
    fk_cvc_request_t rq;
    fk_cvc_alg_t alg;
    fk_pk_public_t dev;
    const size_t n = hsm_record(HSM_FID(HSM_PREFIX_EECERT, id), keep, cap);
    assert_true(n > 0);
    assert_int_equal(fk_cvc_parse_request(keep, n, &rq), 0);
    assert_true(rq.authenticated);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, pub, &alg), 0);
    assert_int_equal(fk_cvc_verify(&rq.cert, pub, &alg), 0);
    device_public(devaut, sizeof(devaut), &dev);
    const fk_cvc_alg_t ecdsa = {FK_CVC_ECDSA, FK_HASH_SHA256};
    assert_int_equal(fk_cvc_verify_signature(&dev, &ecdsa, rq.outer_signed.p, rq.outer_signed.len,
                                             rq.outer_sig.p, rq.outer_sig.len),
                     0);
}

/* SIGN (73, SHA-256 on the card) with key id; on 9000 the signature
 * verifies with pub. Returns the status word. */
static uint16_t sign_with(uint8_t id, const fk_pk_public_t *pub)
{
    static const char msg[] = "derived keys sign";
    uint8_t digest[32];
    const uint16_t sw = send(0x80, 0x68, id, ALG_ECDSA_SHA256, msg, sizeof(msg) - 1, 256);
    if (sw == SW_OK) {
        fk_sha256(msg, sizeof(msg) - 1, digest);
        assert_int_equal(fk_pk_ecdsa_verify(pub, digest, 32, FK_SIG_DER, g_out, g_out_len - 2), 0);
    }
    return sw;
}

/* ---- The test's own arithmetic: (d + t) mod n on big-endian bytes -------- */

static void sub_be(uint8_t *a, const uint8_t *b, size_t len)
{
    int borrow = 0;
    for (size_t i = len; i-- > 0;) {
        int v = (int)a[i] - (int)b[i] - borrow;
        borrow = v < 0;
        a[i] = (uint8_t)(v + (borrow ? 256 : 0));
    }
}

static void add_mod_be(const uint8_t *d, const uint8_t *t, size_t t_len, const uint8_t *n,
                       size_t len, uint8_t *out)
{
    uint8_t tt[FK_EC_MAX_LEN + 1] = {0}, nn[FK_EC_MAX_LEN + 1] = {0}, s[FK_EC_MAX_LEN + 1] = {0};
    memcpy(tt + 1 + len - t_len, t, t_len);
    memcpy(nn + 1, n, len);
    while (memcmp(tt, nn, len + 1) >= 0) sub_be(tt, nn, len + 1);
    int carry = 0;
    for (size_t i = len + 1; i-- > 0;) {
        int v = (i > 0 ? d[i - 1] : 0) + tt[i] + carry;
        s[i] = (uint8_t)v;
        carry = v >> 8;
    }
    if (memcmp(s, nn, len + 1) >= 0) sub_be(s, nn, len + 1);
    memcpy(out, s + 1, len);
}

/* The scalar of key id (the user PIN verified in the session) into d. */
static void key_scalar(uint8_t id, uint8_t *d, size_t *len, fk_curve_t *curve)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t blen;
    fk_pk_key_t k;
    assert_int_equal(fk_devrig_hsm_key(&g_dev, id, blob, sizeof(blob), &blen), 0);
    assert_int_equal(fk_pk_parse(blob, blen, &k), 0);
    memcpy(d, k.d.p, k.d.len);
    *len = k.d.len;
    *curve = k.curve;
    fk_wipe(blob, sizeof(blob));
}

/* ---- Fixtures ---------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    if (fk_devrig_setup(&g_rig, "derive") != 0) return -1;
    snprintf(g_snap, sizeof(g_snap), "%s.snap", g_rig.flash);
    return initialize() == SW_OK && verify() == SW_OK ? 0 : -1;
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

/* ---- Tests ------------------------------------------------------------------- */

/* The derived key: d' = d + t mod n on every Weierstrass curve (the
 * module's own tweak, a sum that wraps past n), its request and
 * description, and it signs under the request's key. */
static void test_derive_every_curve(void **state)
{
    (void)state;
    static const uint8_t list[] = {0x91, 0x02, ALG_ECDSA_SHA256, ALG_DERIVE};
    static uint8_t ce[2048], c4[128];
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        const fk_curve_info_t *ci = fk_curve_info((fk_curve_t)c);
        if (ci->montgomery) continue;
        print_message("curve %d\n", c);
        assert_int_equal(generate((fk_curve_t)c, SRC, list, sizeof(list)), SW_OK);
        uint8_t d[FK_EC_MAX_LEN], d2[FK_EC_MAX_LEN], want[FK_EC_MAX_LEN], t[FK_EC_MAX_LEN];
        size_t dl, dl2;
        fk_curve_t curve;
        key_scalar(SRC, d, &dl, &curve);
        /* The largest tweak the order allows: 2^(8 ol) - 1 (wraps past n). */
        memset(t, 0xFF, ci->order_len);
        const uint8_t *tw = ci->order_len == sizeof(k_tweak) ? k_tweak : t;
        assert_int_equal(derive(SRC, DST, tw, ci->order_len), SW_OK);
        assert_int_equal(g_out_len, 2); /* no response data */
        key_scalar(DST, d2, &dl2, &curve);
        assert_int_equal(curve, c);
        add_mod_be(d, tw, ci->order_len, ci->n, ci->order_len, want);
        assert_int_equal(dl2, ci->order_len);
        assert_memory_equal(d2, want, ci->order_len);
        fk_pk_public_t pub;
        request_key(DST, ce, sizeof(ce), &pub);
        assert_int_equal(sign_with(DST, &pub), SW_OK);
        /* The source's list: ECDH is not allowed, deriving again is. */
        uint8_t peer[FK_EC_POINT_MAX] = {0x04};
        assert_int_equal(send(0x80, 0x62, DST, ALG_ECDH, peer, ci->g_len, 256), 0x6985);
        const size_t n = hsm_record(HSM_FID(HSM_PREFIX_PRKD, DST), c4, sizeof(c4));
        assert_true(n > 0 && c4[0] == 0xA0); /* an EC private key description */
        fk_wipe(d, sizeof(d));
        fk_wipe(d2, sizeof(d2));
    }
}

/* What CardContact's module sends, byte for byte: 80 76 src dst 21 98 t. */
static void test_derive_module_apdu(void **state)
{
    (void)state;
    static const uint8_t list[] = {0x91, 0x03, 0xA0, ALG_ECDSA_SHA256, ALG_DERIVE};
    uint8_t apdu[5 + 1 + sizeof(k_tweak)] = {0x80, 0x76, SRC, 0x05, 1 + sizeof(k_tweak), ALG_DERIVE};
    memcpy(apdu + 6, k_tweak, sizeof(k_tweak));
    assert_int_equal(generate(FK_CURVE_SECP256R1, SRC, list, sizeof(list)), SW_OK);
    assert_int_equal(fk_devrig_xfer(&g_dev, apdu, sizeof(apdu), g_out, sizeof(g_out), &g_out_len),
                     SW_OK);
    assert_int_equal(g_out_len, 2);
    /* The module then reads CE05 and signs with 73. */
    fk_pk_public_t pub;
    static uint8_t ce[1024];
    request_key(0x05, ce, sizeof(ce), &pub);
    assert_int_equal(sign_with(0x05, &pub), SW_OK);
}

/* Every refusal, in the order checked: nothing written, no use spent. */
static void test_derive_refusals(void **state)
{
    (void)state;
    static const uint8_t two_uses[] = {0x90, 0x04, 0, 0, 0, 2};
    static const uint8_t no_derive[] = {0x91, 0x01, ALG_ECDSA};
    static uint8_t t[1024];
    assert_int_equal(generate(FK_CURVE_SECP256R1, SRC, two_uses, sizeof(two_uses)), SW_OK);
    assert_int_equal(generate(FK_CURVE_SECP256R1, 0x03, no_derive, sizeof(no_derive)), SW_OK);
    size_t n = fk_devrig_rsa_template(t, sizeof(t), 1024, "UTDERIVE001", NULL, 0);
    assert_int_equal(send(0x00, 0x46, 0x04, 0x00, t, n, FK_DEVRIG_NE_EXT_MAX), SW_OK);
    assert_int_equal(generate(FK_CURVE_SECP256R1, 0x06, NULL, 0), SW_OK);

    uint8_t d[FK_EC_MAX_LEN], neg[FK_EC_MAX_LEN];
    size_t dl;
    fk_curve_t curve;
    key_scalar(SRC, d, &dl, &curve);
    /* t = n - d: d' would be 0. */
    memcpy(neg, fk_curve_info(curve)->n, dl);
    sub_be(neg, d, dl);
    fk_wipe(d, sizeof(d));
    uint8_t long_t[33] = {1};

    assert_int_equal(derive(SRC, 0x00, k_tweak, 32), 0x6A86);         /* the device key's id */
    assert_int_equal(derive(SRC, SRC, k_tweak, 32), 0x6A86);          /* onto itself */
    assert_int_equal(send(0x80, 0x76, SRC, DST, NULL, 0, 0), 0x6700);  /* no data */
    assert_int_equal(send(0x80, 0x76, SRC, DST, k_tweak, 32, 0), 0x6A80); /* no 98 */
    static const uint8_t only98[] = {ALG_DERIVE};
    assert_int_equal(send(0x80, 0x76, SRC, DST, only98, 1, 0), 0x6700); /* no tweak */
    assert_int_equal(derive(0x00, DST, k_tweak, 32), 0x6982);         /* the device key */
    assert_int_equal(derive(0x09, DST, k_tweak, 32), 0x6A82);         /* no such key */
    assert_int_equal(derive(0x03, DST, k_tweak, 32), 0x6985);         /* 98 not in its list */
    assert_int_equal(derive(0x04, DST, k_tweak, 32), 0x6A81);         /* RSA */
    assert_int_equal(derive(SRC, DST, long_t, sizeof(long_t)), 0x6A80); /* longer than the order */
    assert_int_equal(derive(SRC, DST, neg, dl), 0x6A80);              /* d' = 0 */
    /* An X25519 source. */
    {
        static const uint8_t oid_ecdh[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};
        const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_X25519);
        fk_rbuf_t r = {t, 0, sizeof(t)};
        assert_true(fk_tlv_put(&r, 0x5F29, "\x00", 1));
        fk_tlv_mark_t m = fk_tlv_begin(&r, 0x7F49);
        assert_true(fk_tlv_put(&r, 0x06, oid_ecdh, sizeof(oid_ecdh)) &&
                    fk_tlv_put(&r, 0x81, ci->p, ci->field_len) &&
                    fk_tlv_put(&r, 0x82, ci->n, ci->order_len) &&
                    fk_tlv_put(&r, 0x83, ci->g, ci->g_len) && fk_tlv_end(&r, m));
        assert_true(fk_tlv_put(&r, 0x5F20, "UTDERIVE001", 11));
        assert_int_equal(send(0x00, 0x46, 0x07, 0x00, t, r.len, FK_DEVRIG_NE_EXT_MAX), SW_OK);
        assert_int_equal(derive(0x07, DST, k_tweak, 32), 0x6A81);
    }
    /* Without the PIN (a new SELECT logs out): 6982, after the key exists. */
    static const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04,
                                  0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00};
    assert_int_equal(fk_devrig_xfer(&g_dev, sel, sizeof(sel), g_out, sizeof(g_out), &g_out_len),
                     SW_OK);
    assert_int_equal(derive(SRC, DST, k_tweak, 32), 0x6982);
    assert_int_equal(derive(0x09, DST, k_tweak, 32), 0x6A82);
    assert_int_equal(verify(), SW_OK);

    /* Nothing was written for DST, and the source still has both uses. */
    assert_false(have_record(HSM_FID(HSM_PREFIX_KEY, DST)));
    assert_false(have_record(HSM_FID(HSM_PREFIX_EECERT, DST)));
    assert_false(have_record(HSM_FID(HSM_PREFIX_PRKD, DST)));
    static uint8_t ce[1024];
    fk_pk_public_t pub;
    request_key(SRC, ce, sizeof(ce), &pub);
    assert_int_equal(sign_with(SRC, &pub), SW_OK);
    assert_int_equal(sign_with(SRC, &pub), SW_OK);
    assert_int_equal(sign_with(SRC, &pub), 0x6A84);
    /* A used-up source derives nothing either. */
    assert_int_equal(derive(SRC, DST, k_tweak, 32), 0x6A84);
    assert_false(have_record(HSM_FID(HSM_PREFIX_KEY, DST)));
}

/* A source with a use counter: the derivation spends one use, and the new
 * key gets the uses the source has left. */
static void test_derive_counter(void **state)
{
    (void)state;
    static const uint8_t three[] = {0x90, 0x04, 0, 0, 0, 3};
    static uint8_t ce_src[1024], ce_dst[1024];
    fk_pk_public_t src, dst;
    assert_int_equal(generate(FK_CURVE_SECP384R1, SRC, three, sizeof(three)), SW_OK);
    assert_int_equal(derive(SRC, DST, k_tweak, 32), SW_OK);
    request_key(SRC, ce_src, sizeof(ce_src), &src);
    request_key(DST, ce_dst, sizeof(ce_dst), &dst);
    for (int i = 0; i < 2; i++) assert_int_equal(sign_with(DST, &dst), SW_OK);
    assert_int_equal(sign_with(DST, &dst), 0x6A84);
    for (int i = 0; i < 2; i++) assert_int_equal(sign_with(SRC, &src), SW_OK);
    assert_int_equal(sign_with(SRC, &src), 0x6A84);
    /* The counts are on flash. */
    restart();
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(sign_with(SRC, &src), 0x6A84);
    assert_int_equal(sign_with(DST, &dst), 0x6A84);
}

/* UPDATE BINARY of a whole file (a pattern): the status word. */
static uint16_t put_file(uint16_t fid, size_t len)
{
    static uint8_t body[65535];
    size_t n = 0;
    body[n++] = 0x54, body[n++] = 0x02, body[n++] = 0x00, body[n++] = 0x00;
    body[n++] = 0x53, body[n++] = 0x83;
    body[n++] = (uint8_t)(len >> 16), body[n++] = (uint8_t)(len >> 8), body[n++] = (uint8_t)len;
    for (size_t i = 0; i < len; i++) body[n++] = (uint8_t)(i * 29 + fid);
    return send(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, body, n, 0);
}

/* A full store: the derivation is refused (6A84) and DST is as before (the
 * new key, on P-521, needs more room than the old P-192 one it replaces). */
static void test_derive_full_store(void **state)
{
    (void)state;
    static uint8_t old_ce[2048], ce[2048], old_c4[128], c4[128];
    static const size_t sizes[] = {32768, 4096, 512, 64, 1};
    assert_int_equal(generate(FK_CURVE_SECP521R1, SRC, NULL, 0), SW_OK);
    assert_int_equal(generate(FK_CURVE_SECP192R1, DST, NULL, 0), SW_OK);
    const size_t old_len = hsm_record(HSM_FID(HSM_PREFIX_EECERT, DST), old_ce, sizeof(old_ce));
    const size_t old_c4_len = hsm_record(HSM_FID(HSM_PREFIX_PRKD, DST), old_c4, sizeof(old_c4));
    unsigned fid = 0xCF10;
    for (size_t s = 0; s < FK_ARRAY_SIZE(sizes); s++) {
        while (put_file((uint16_t)fid, sizes[s]) == SW_OK) fid++;
    }
    assert_int_equal(derive(SRC, DST, k_tweak, 32), 0x6A84);
    restart();
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(hsm_record(HSM_FID(HSM_PREFIX_EECERT, DST), ce, sizeof(ce)), old_len);
    assert_memory_equal(ce, old_ce, old_len);
    assert_int_equal(hsm_record(HSM_FID(HSM_PREFIX_PRKD, DST), c4, sizeof(c4)), old_c4_len);
    assert_memory_equal(c4, old_c4, old_c4_len);
    fk_pk_public_t pub;
    request_key(DST, ce, sizeof(ce), &pub);
    assert_int_equal(sign_with(DST, &pub), SW_OK); /* the old key, whole */
}

/* A derivation over an existing key, cut at every flash operation: after
 * the restart DST is the old key (request, description, list, count) or
 * the new one complete, and the source's use is spent whenever the new
 * key exists. */
static void test_derive_powercut(void **state)
{
    (void)state;
    static const uint8_t src_policy[] = {0x90, 0x04, 0, 0, 0, 10, 0x91, 0x02, ALG_ECDSA_SHA256,
                                         ALG_DERIVE};
    static const uint8_t old_policy[] = {0x90, 0x04, 0, 0, 0, 1, 0x91, 0x01, ALG_ECDH};
    static uint8_t old_ce[2048], old_c4[128], ce[2048], c4[128];
    int olds = 0, news = 0;
    assert_int_equal(generate(FK_CURVE_SECP256R1, SRC, src_policy, sizeof(src_policy)), SW_OK);
    assert_int_equal(generate(FK_CURVE_SECP256R1, DST, old_policy, sizeof(old_policy)), SW_OK);
    /* The old key's description as OpenSC writes its own (label "old"). */
    static const uint8_t prkd[] = {0x54, 0x02, 0x00, 0x00, 0x53, 0x0D, 0xA0, 0x0B, 0x30, 0x05,
                                   0x0C, 0x03, 'o',  'l',  'd',  0x30, 0x02, 0x04, 0x00};
    assert_int_equal(send(0x00, 0xD7, HSM_PREFIX_PRKD, DST, prkd, sizeof(prkd), 0), SW_OK);
    const size_t old_len = hsm_record(HSM_FID(HSM_PREFIX_EECERT, DST), old_ce, sizeof(old_ce));
    const size_t old_c4_len = hsm_record(HSM_FID(HSM_PREFIX_PRKD, DST), old_c4, sizeof(old_c4));
    fk_devrig_stop(&g_rig);
    fk_devrig_copy_file(g_rig.flash, g_snap);
    fk_devrig_start(&g_rig);

    for (long n = 0;; n++) {
        fk_devrig_stop(&g_rig);
        fk_devrig_copy_file(g_snap, g_rig.flash);
        fk_devrig_start(&g_rig);
        assert_int_equal(verify(), SW_OK);
        fk_flashcut_arm(n);
        const uint16_t sw = derive(SRC, DST, k_tweak, 32);
        const bool was_cut = fk_flashcut_cut();
        restart();
        assert_int_equal(verify(), SW_OK);
        fk_pk_public_t pub, src_pub;
        static uint8_t src_ce[1024];
        request_key(SRC, src_ce, sizeof(src_ce), &src_pub);
        const size_t len = hsm_record(HSM_FID(HSM_PREFIX_EECERT, DST), ce, sizeof(ce));
        const size_t c4_len = hsm_record(HSM_FID(HSM_PREFIX_PRKD, DST), c4, sizeof(c4));
        /* The source's uses left: 10, or 9 once the derivation was spent. */
        int src_uses = 0;
        while (sign_with(SRC, &src_pub) == SW_OK) src_uses++;
        if (len == old_len && memcmp(ce, old_ce, len) == 0) {
            olds++;
            assert_int_not_equal(sw, SW_OK);
            assert_int_equal(c4_len, old_c4_len);
            assert_memory_equal(c4, old_c4, old_c4_len);
            request_key(DST, ce, sizeof(ce), &pub);
            assert_int_equal(sign_with(DST, &pub), 0x6985); /* ECDH only, as before */
            assert_true(src_uses == 10 || src_uses == 9);
        } else {
            news++;
            request_key(DST, ce, sizeof(ce), &pub);
            assert_true(c4_len > 0 && c4[0] == 0xA0 && memcmp(c4, old_c4, c4_len) != 0);
            assert_int_equal(src_uses, 9);
            int dst_uses = 0;
            while (sign_with(DST, &pub) == SW_OK) dst_uses++;
            assert_int_equal(dst_uses, 9);
        }
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            break;
        }
    }
    print_message("%d cuts left the old key, %d the new one\n", olds, news);
    assert_true(olds >= 1 && news >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_derive_every_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_module_apdu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_full_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_powercut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
