/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the HSM applet's key module (applets/hsm/hsm_keys.c): the
 * real device over the host port, driven by APDUs. Besides the commands'
 * answers, they look at what a flash dump would show: no private key, PIN
 * or master key in the clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/ed.h"
#include "crypto/pk.h"
#include "cvc.h"
#include "devrig.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "store/space.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "tlv.h"
#include "util.h"

static fk_testdev_t g_dev;

/* The HSM's records in the main partition. */
static const fk_space_t g_hsm_sp = {&g_dev.svc.store, FK_NS_HSM};

/* The HSM's session in the card under test (read only). */
static const hsm_state_t *session(void)
{
    return (const hsm_state_t *)fk_devrig_applet_state(&g_dev, &fk_hsm_applet);
}
static uint8_t g_out[65535];
static size_t g_out_len;

static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80};

static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};

/* id-TA-RSA-v1-5-SHA-256 and id-TA-ECDSA-SHA-256 */

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    return fk_devrig_xfer(&g_dev, apdu, len, g_out, sizeof(g_out), &g_out_len);
}

/* An extended case 4 APDU with data, Le 0000. */
static uint16_t xfer_ext(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                         size_t n)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, FK_DEVRIG_NE_EXT_MAX, true};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static uint16_t verify_pin(void)
{
    uint8_t a[5 + sizeof(k_pin) - 1] = {0x00, 0x20, 0x00, 0x81, sizeof(k_pin) - 1};
    memcpy(a + 5, k_pin, sizeof(k_pin) - 1);
    return xfer(a, sizeof(a));
}

static int setup(void **state)
{
    (void)state;
    if (fk_devrig_setup(&g_rig, "keys") != 0) return -1;
    /* INITIALIZE: options 0001, user PIN, SO-PIN, 3 tries. */
    uint8_t init[64];
    size_t n = 0;
    init[n++] = 0x80, init[n++] = 0x50, init[n++] = 0x00, init[n++] = 0x00, init[n++] = 0;
    const uint8_t opts[] = {0x80, 0x02, 0x00, 0x01};
    memcpy(init + n, opts, sizeof(opts)), n += sizeof(opts);
    init[n++] = 0x81, init[n++] = sizeof(k_pin) - 1;
    memcpy(init + n, k_pin, sizeof(k_pin) - 1), n += sizeof(k_pin) - 1;
    init[n++] = 0x82, init[n++] = sizeof(k_so);
    memcpy(init + n, k_so, sizeof(k_so)), n += sizeof(k_so);
    init[n++] = 0x91, init[n++] = 0x01, init[n++] = 0x03;
    init[4] = (uint8_t)(n - 5);
    if (xfer(init, n) != 0x9000) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

/* A GENERATE ASYMMETRIC KEY PAIR template like OpenSC's, plus extra TLVs. */
static size_t rsa_template(uint8_t *t, unsigned bits, const uint8_t *extra, size_t extra_len)
{
    return fk_devrig_rsa_template(t, 512, bits, "UTTEST00001", extra, extra_len);
}

static size_t ec_template(uint8_t *t, fk_curve_t curve, const uint8_t *extra, size_t extra_len)
{
    return fk_devrig_ec_template(t, 1024, curve, "UTTEST00001", extra, extra_len);
}

/* The device certificate's public key, from 2F02. */
static void device_public(uint8_t *buf, size_t cap, fk_pk_public_t *pub)
{
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID_DEVAUT, &size), FK_STORE_OK);
    assert_true(size <= cap);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID_DEVAUT, 0, buf, size), FK_STORE_OK);
    fk_cvc_t dev, dica;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_parse(buf, size, &dev), 0);
    assert_int_equal(fk_cvc_parse(buf + dev.cert.len, size - dev.cert.len, &dica), 0);
    fk_pk_public_t dica_pub;
    assert_int_equal(fk_cvc_public_key(&dica, FK_CURVE_NONE, &dica_pub, &alg), 0);
    /* The chain verifies: the DICA signed itself and the device certificate. */
    assert_int_equal(fk_cvc_verify(&dica, &dica_pub, &alg), 0);
    assert_int_equal(fk_cvc_verify(&dev, &dica_pub, &alg), 0);
    assert_int_equal(fk_cvc_public_key(&dev, FK_CURVE_NONE, pub, &alg), 0);
    assert_memory_equal(dev.car.p, "FKDICA00001", 11);
    assert_true(fk_cvc_device_chr_ok(dev.chr.p, dev.chr.len));
}

/* Check a 46 response: an authenticated request whose inner signature is
 * the new key's and outer signature the device key's; it is also in CE<id>. */
static void check_request(uint8_t id)
{
    static uint8_t resp[2048], devaut[1024];
    size_t n = g_out_len - 2;
    assert_true(n <= sizeof(resp));
    memcpy(resp, g_out, n);
    fk_cvc_request_t rq;
    assert_int_equal(fk_cvc_parse_request(resp, n, &rq), 0);
    assert_true(rq.authenticated);
    fk_pk_public_t pub, dev;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), 0);
    assert_int_equal(fk_cvc_verify(&rq.cert, &pub, &alg), 0);
    device_public(devaut, sizeof(devaut), &dev);
    const fk_cvc_alg_t ecdsa = {FK_CVC_ECDSA, FK_HASH_SHA256};
    assert_int_equal(fk_cvc_verify_signature(&dev, &ecdsa, rq.outer_signed.p, rq.outer_signed.len,
                                             rq.outer_sig.p, rq.outer_sig.len),
                     0);
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, id), &size), FK_STORE_OK);
    assert_int_equal(size, n);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, id), &size), FK_STORE_OK);
}

/* True when needle occurs in the flash image file. */
static bool in_flash(const uint8_t *needle, size_t len)
{
    static uint8_t img[FK_HOST_FLASH_SIZE];
    size_t got = fk_devrig_load_file(g_rig.flash, img, sizeof(img));
    return memmem(img, got, needle, len) != NULL;
}

static void test_generate_sign_and_dump(void **state)
{
    (void)state;
    uint8_t t[1024];
    assert_int_equal(verify_pin(), 0x9000);

    size_t n = rsa_template(t, 1024, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x01, 0x00, t, n), 0x9000);
    assert_int_equal(g_out[0], 0x67);
    check_request(1);
    n = ec_template(t, FK_CURVE_SECP256R1, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x02, 0x00, t, n), 0x9000);
    check_request(2);

    /* Sign a SHA-256 digest with both keys and verify. */
    uint8_t digest[32];
    fk_sha256("message", 7, digest);
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t blen;
    fk_pk_key_t key;
    fk_pk_public_t pub;

    assert_int_equal(xfer_ext(0x80, 0x68, 0x02, 0x70, digest, sizeof(digest)), 0x9000);
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 2, blob, sizeof(blob), &blen), FK_KEY_OK);
    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    fk_pk_public_of(&key, &pub);
    assert_int_equal(fk_pk_ecdsa_verify(&pub, digest, 32, FK_SIG_DER, g_out, g_out_len - 2), 0);
    /* The flash holds neither the EC scalar nor the PIN nor the master key
     * (the scan does find what is stored in the clear: the certificates). */
    assert_true(in_flash((const uint8_t *)"FKDICA00001", 11));
    assert_false(in_flash(key.d.p, key.d.len));
    assert_false(in_flash((const uint8_t *)k_pin, sizeof(k_pin) - 1));
    assert_false(in_flash(k_so, sizeof(k_so)));
    assert_true(session()->mk_loaded);
    assert_false(in_flash(session()->mk, HSM_MK_LEN));

    assert_int_equal(xfer_ext(0x80, 0x68, 0x01, 0x33, (const uint8_t *)"message", 7), 0x9000);
    assert_int_equal(g_out_len - 2, 128);
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 1, blob, sizeof(blob), &blen), FK_KEY_OK);
    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    fk_pk_public_of(&key, &pub);
    assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, digest, 32, g_out, 128), 0);
    assert_false(in_flash(key.p.p, key.p.len));
    assert_false(in_flash(key.q.p, key.q.len));
    assert_false(in_flash(key.d.p, key.d.len));
    fk_wipe(blob, sizeof(blob));

    /* Wrong family, unknown key, algorithm unknown. */
    assert_int_equal(xfer_ext(0x80, 0x68, 0x02, 0x33, (const uint8_t *)"message", 7), 0x6A81);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x09, 0x70, digest, 32), 0x6A82);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x02, 0x99, digest, 32), 0x6A86);
    /* The device key does not sign for the host. */
    assert_int_equal(xfer_ext(0x80, 0x68, 0x00, 0x70, digest, 32), 0x6982);

    /* ECDH both ways. */
    uint8_t peer_blob[512], peer_pub[FK_EC_POINT_MAX];
    size_t plen;
    fk_pk_key_t peer;
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, peer_blob, sizeof(peer_blob), &plen), 0);
    assert_int_equal(fk_pk_parse(peer_blob, plen, &peer), 0);
    memcpy(peer_pub, peer.pub.p, peer.pub.len);
    assert_int_equal(xfer_ext(0x80, 0x62, 0x02, 0x80, peer_pub, peer.pub.len), 0x9000);
    assert_int_equal(g_out_len - 2, 33);
    assert_int_equal(g_out[0], 0x04);
    uint8_t z[66];
    size_t zlen;
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 2, blob, sizeof(blob), &blen), FK_KEY_OK);
    assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
    fk_pk_public_of(&key, &pub);
    assert_int_equal(fk_pk_ecdh(&peer, pub.point.p, pub.point.len, z, sizeof(z), &zlen), 0);
    assert_int_equal(zlen, 32);
    assert_memory_equal(g_out + 1, z, 32);
    fk_wipe(blob, sizeof(blob));
    /* A point not on the curve is refused. */
    peer_pub[10] ^= 1;
    assert_int_equal(xfer_ext(0x80, 0x62, 0x02, 0x80, peer_pub, peer.pub.len), 0x6A80);

    /* Without the PIN (a new SELECT logs out): 6982. */
    static const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01,
                                  0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00};
    assert_int_equal(xfer(sel, sizeof(sel)), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x02, 0x70, digest, 32), 0x6982);
    n = ec_template(t, FK_CURVE_SECP256R1, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x03, 0x00, t, n), 0x6982);
}

static void test_metadata(void **state)
{
    (void)state;
    uint8_t t[1024], digest[32];
    fk_sha256("m", 1, digest);
    assert_int_equal(verify_pin(), 0x9000);
    /* Two uses, ECDSA on a hash only. */
    static const uint8_t meta[] = {0x90, 0x04, 0x00, 0x00, 0x00, 0x02, 0x91, 0x01, 0x70};
    size_t n = ec_template(t, FK_CURVE_SECP256K1, meta, sizeof(meta));
    assert_int_equal(xfer_ext(0x00, 0x46, 0x05, 0x00, t, n), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x05, 0x73, (const uint8_t *)"m", 1), 0x6985);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x05, 0x70, digest, 32), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x05, 0x70, digest, 32), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x05, 0x70, digest, 32), 0x6A84);
    /* A new key on the same id starts without the old metadata. */
    n = ec_template(t, FK_CURVE_SECP256K1, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x05, 0x00, t, n), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x05, 0x73, (const uint8_t *)"m", 1), 0x9000);
}

static void test_template_errors(void **state)
{
    (void)state;
    uint8_t t[1024];
    assert_int_equal(verify_pin(), 0x9000);
    size_t n = ec_template(t, FK_CURVE_SECP256R1, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x00, 0x00, t, n), 0x6A86); /* the device key's id */
    /* No data at all (a fuzzer once found NULL + 0 here). */
    static const uint8_t no_data[] = {0x80, 0x46, 0x01, 0x00};
    assert_int_equal(xfer(no_data, sizeof(no_data)), 0x6700);
    static const uint8_t no_key[] = {0x5F, 0x29, 0x01, 0x00, 0x5F, 0x20, 0x02, 0x41, 0x42};
    assert_int_equal(xfer_ext(0x00, 0x46, 0x06, 0x00, no_key, sizeof(no_key)), 0x6700);
    /* An unknown prime. */
    n = ec_template(t, FK_CURVE_SECP256R1, NULL, 0);
    uint8_t *p = memchr(t, 0x81, n);
    assert_non_null(p);
    p[5] ^= 0x55;
    assert_int_equal(xfer_ext(0x00, 0x46, 0x06, 0x00, t, n), 0x6A81);
    /* RSA of an unsupported size; a truncated template. */
    n = rsa_template(t, 1000, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x06, 0x00, t, n), 0x6A81);
    n = rsa_template(t, 1024, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x06, 0x00, t, n - 3), 0x6A80);
    /* Nothing was created for key 6. */
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_KEY, 6), &size), FK_STORE_ENOENT);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, 6), &size), FK_STORE_ENOENT);
}

/* A Montgomery key template as pico's tools send it: id-RI-ECDH, 81 p,
 * 82 order, 83 base point. */
static size_t mont_template(uint8_t *t, fk_curve_t curve)
{
    static const uint8_t oid_ecdh[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};
    const fk_curve_info_t *ci = fk_curve_info(curve);
    fk_rbuf_t r = {t, 0, 1024};
    assert_true(fk_tlv_put(&r, 0x5F29, "\x00", 1));
    fk_tlv_mark_t m = fk_tlv_begin(&r, 0x7F49);
    assert_true(fk_tlv_put(&r, 0x06, oid_ecdh, sizeof(oid_ecdh)));
    assert_true(fk_tlv_put(&r, 0x81, ci->p, ci->field_len));
    assert_true(fk_tlv_put(&r, 0x82, ci->n, ci->order_len));
    assert_true(fk_tlv_put(&r, 0x83, ci->g, ci->g_len));
    assert_true(fk_tlv_end(&r, m));
    assert_true(fk_tlv_put(&r, 0x5F20, "UTTEST00001", 11));
    return r.len;
}

/* ECDH through GENERATE and DECIPHER on every curve, X25519 and X448
 * included: the card's result equals the peer's. */
static void test_ecdh_every_curve(void **state)
{
    (void)state;
    static uint8_t t[1024], blob[FK_PK_BLOB_MAX], peer_blob[512];
    assert_int_equal(verify_pin(), 0x9000);
    for (int c = FK_CURVE_FIRST; c <= FK_CURVE_LAST; c++) {
        const fk_curve_info_t *ci = fk_curve_info((fk_curve_t)c);
        print_message("curve %d\n", c);
        size_t n = ci->montgomery ? mont_template(t, (fk_curve_t)c) : ec_template(t, (fk_curve_t)c, NULL, 0);
        assert_int_equal(xfer_ext(0x00, 0x46, 0x20, 0x00, t, n), 0x9000);
        assert_int_equal(g_out[0], 0x67);

        size_t plen, blen, zlen;
        fk_pk_key_t peer, key;
        fk_pk_public_t pub;
        uint8_t peer_pub[FK_EC_POINT_MAX], z[FK_EC_MAX_LEN + 8];
        assert_int_equal(fk_pk_ec_generate((fk_curve_t)c, peer_blob, sizeof(peer_blob), &plen), 0);
        assert_int_equal(fk_pk_parse(peer_blob, plen, &peer), 0);
        memcpy(peer_pub, peer.pub.p, peer.pub.len);
        assert_int_equal(xfer_ext(0x80, 0x62, 0x20, 0x80, peer_pub, peer.pub.len), 0x9000);
        assert_int_equal(g_out[0], 0x04);
        assert_int_equal(fk_devrig_hsm_key(&g_dev, 0x20, blob, sizeof(blob), &blen), FK_KEY_OK);
        assert_int_equal(fk_pk_parse(blob, blen, &key), 0);
        fk_pk_public_of(&key, &pub);
        assert_int_equal(fk_pk_ecdh(&peer, pub.point.p, pub.point.len, z, sizeof(z), &zlen), 0);
        assert_int_equal(g_out_len - 3, zlen);
        assert_memory_equal(g_out + 1, z, zlen);
        fk_wipe(blob, sizeof(blob));
        /* Montgomery keys cannot sign. */
        if (ci->montgomery) {
            uint8_t digest[32] = {1};
            assert_int_equal(xfer_ext(0x80, 0x68, 0x20, 0x70, digest, 32), 0x6A81);
        }
    }
}

/* Option 0x0100 (press-to-confirm): every key use asks the user. */
static void test_press_to_confirm(void **state)
{
    (void)state;
    uint8_t init[40] = {0x80, 0x50, 0x00, 0x00, 0x00, 0x80, 0x02, 0x01, 0x01,
                        0x81, 0x06, '6', '4', '8', '2', '1', '9', 0x82, 0x08};
    memcpy(init + 19, k_so, 8);
    init[4] = 22;
    assert_int_equal(xfer(init, 27), 0x9000);
    assert_int_equal(verify_pin(), 0x9000);
    uint8_t t[1024], digest[32] = {7};
    size_t n = ec_template(t, FK_CURVE_SECP256R1, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x01, 0x00, t, n), 0x9000);
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x01, 0x70, digest, 32), 0x6985);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x01, 0x70, digest, 32), 0x9000);
}

static void test_device_identity_survives_initialize(void **state)
{
    (void)state;
    static uint8_t before[1024], after[1024];
    uint32_t s1, s2;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID_DEVAUT, &s1), FK_STORE_OK);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID_DEVAUT, 0, before, s1), FK_STORE_OK);
    /* Re-initialize with the SO-PIN. */
    uint8_t init[40] = {0x80, 0x50, 0x00, 0x00, 0x00, 0x81, 0x06, '1', '1', '1', '1', '1', '1', 0x82, 0x08};
    memcpy(init + 15, k_so, 8);
    init[4] = 18;
    assert_int_equal(xfer(init, 23), 0x9000);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID_DEVAUT, &s2), FK_STORE_OK);
    assert_int_equal(s1, s2);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID_DEVAUT, 0, after, s2), FK_STORE_OK);
    assert_memory_equal(before, after, s1);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_KEY, 0), &s2), FK_STORE_OK);
}

/* The HSM's context in the card under test (for the module's exported
 * helpers, which other commands call). */
static fk_applet_ctx_t hsm_ctx(void) { return fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet); }

/* Check an authenticated request made by hsm_key_request: it parses, its
 * public key is `expect` (point or modulus bytes), the key signed its body
 * (unless it is a Montgomery key: zeros) and the device key signed it all;
 * CAR, CHR and outer CAR are the device CHR. */
static void check_exported_request(const uint8_t *req, size_t len, const uint8_t *expect,
                                   size_t expect_len, bool montgomery)
{
    static uint8_t devaut[1024];
    fk_cvc_request_t rq;
    fk_pk_public_t pub, dev;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_parse_request(req, len, &rq), 0);
    assert_true(rq.authenticated);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), 0);
    const fk_bytes_t *got = pub.type == FK_PK_RSA ? &pub.n : &pub.point;
    assert_int_equal(got->len, expect_len);
    assert_memory_equal(got->p, expect, expect_len);
    if (montgomery) {
        for (size_t i = 0; i < rq.cert.sig.len; i++) assert_int_equal(rq.cert.sig.p[i], 0);
    } else {
        assert_int_equal(fk_cvc_verify(&rq.cert, &pub, &alg), 0);
    }
    device_public(devaut, sizeof(devaut), &dev);
    const fk_cvc_alg_t ecdsa = {FK_CVC_ECDSA, FK_HASH_SHA256};
    assert_int_equal(fk_cvc_verify_signature(&dev, &ecdsa, rq.outer_signed.p, rq.outer_signed.len,
                                             rq.outer_sig.p, rq.outer_sig.len),
                     0);
    assert_true(fk_cvc_device_chr_ok(rq.outer_car.p, rq.outer_car.len));
    assert_int_equal(rq.cert.car.len, rq.outer_car.len);
    assert_memory_equal(rq.cert.car.p, rq.outer_car.p, rq.outer_car.len);
    assert_int_equal(rq.cert.chr.len, rq.outer_car.len);
    assert_memory_equal(rq.cert.chr.p, rq.outer_car.p, rq.outer_car.len);
}

/* hsm_key_request, as UNWRAP and DERIVE call it: the request of a key the
 * caller holds (RSA, EC, X25519) or of a stored key object; refusals. */
static void test_key_request_export(void **state)
{
    (void)state;
    static uint8_t blob[FK_PK_BLOB_MAX], req[HSM_KEY_REQUEST_MAX], t[1024];
    fk_applet_ctx_t ctx = hsm_ctx();
    fk_rbuf_t out = {req, 0, sizeof(req)};
    fk_pk_key_t key;
    size_t len;

    /* Keys given by the caller, not stored anywhere. */
    static const struct {
        uint8_t kind;
        fk_curve_t curve;
    } k_kinds[] = {{FK_KEY_EC, FK_CURVE_SECP256R1}, {FK_KEY_EC, FK_CURVE_BP384R1},
                   {FK_KEY_MONT, FK_CURVE_X25519}, {FK_KEY_MONT, FK_CURVE_X448}};
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_kinds); i++) {
        assert_int_equal(fk_pk_ec_generate(k_kinds[i].curve, blob, sizeof(blob), &len), 0);
        assert_int_equal(fk_pk_parse(blob, len, &key), 0);
        const fk_key_policy_t pol = {.kind = k_kinds[i].kind, .size = k_kinds[i].curve,
                                     .domain = FK_KEY_NO_DOMAIN};
        out.len = 0;
        assert_int_equal(hsm_key_request(&ctx, 7, &pol, blob, len, &out), 0x9000);
        check_exported_request(req, out.len, key.pub.p, key.pub.len, k_kinds[i].kind == FK_KEY_MONT);
        /* The same material under the wrong policy, or damaged. */
        fk_key_policy_t wrong = pol;
        wrong.size = k_kinds[i].curve == FK_CURVE_SECP256R1 ? FK_CURVE_SECP384R1 : FK_CURVE_SECP256R1;
        size_t before = out.len;
        assert_int_equal(hsm_key_request(&ctx, 7, &wrong, blob, len, &out), 0x6A81);
        assert_int_equal(hsm_key_request(&ctx, 7, &pol, blob, len - 1, &out), 0x6A81);
        assert_int_equal(out.len, before);
    }
    assert_int_equal(fk_pk_rsa_generate(1024, 65537, NULL, NULL, blob, sizeof(blob), &len), 0);
    assert_int_equal(fk_pk_parse(blob, len, &key), 0);
    const fk_key_policy_t rsa = {.kind = FK_KEY_RSA, .size = 1024, .domain = FK_KEY_NO_DOMAIN};
    out.len = 0;
    assert_int_equal(hsm_key_request(&ctx, 7, &rsa, blob, len, &out), 0x9000);
    check_exported_request(req, out.len, key.n.p, key.n.len, false);
    /* No room: 6A84, nothing appended. */
    fk_rbuf_t small = {req, 0, 100};
    assert_int_equal(hsm_key_request(&ctx, 7, &rsa, blob, len, &small), 0x6A84);
    assert_int_equal(small.len, 0);
    fk_wipe(blob, sizeof(blob));

    /* Kinds without a public key. */
    static const uint8_t aes[32] = {1, 2, 3};
    const fk_key_policy_t aes_pol = {.kind = FK_KEY_AES, .size = 256, .domain = FK_KEY_NO_DOMAIN};
    assert_int_equal(hsm_key_request(&ctx, 7, &aes_pol, aes, sizeof(aes), &out), 0x6A81);

    /* A stored key: needs the user PIN; its request matches CE<id>. */
    assert_int_equal(hsm_key_request(&ctx, 3, NULL, NULL, 0, &out), 0x6982);
    assert_int_equal(verify_pin(), 0x9000);
    assert_int_equal(hsm_key_request(&ctx, 3, NULL, NULL, 0, &out), 0x6A82);
    size_t n = ec_template(t, FK_CURVE_SECP384R1, NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x03, 0x00, t, n), 0x9000);
    fk_cvc_request_t rq;
    assert_int_equal(fk_cvc_parse_request(g_out, g_out_len - 2, &rq), 0);
    const fk_bytes_t q = rq.cert.key_el[FK_CVC_KEY_INDEX(FK_CVC_EC_Q)];
    out.len = 0;
    assert_int_equal(hsm_key_request(&ctx, 3, NULL, NULL, 0, &out), 0x9000);
    check_exported_request(req, out.len, q.p, q.len, false);
}

/* hsm_default_prkd writes pico's default descriptions byte for byte (the
 * captures of the protocol specification, section 4.3) and one per kind. */
static void test_default_prkd_export(void **state)
{
    (void)state;
    static const uint8_t k_rsa1024_key06[] = {
        0x30, 0x19, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x07, 0x04, 0x01, 0x36, 0x03, 0x02, 0x02,
        0x74, 0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x04, 0x00};
    static const uint8_t k_p256_key05[] = {
        0xA0, 0x1A, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x08, 0x04, 0x01, 0x35, 0x03, 0x03, 0x07, 0x20,
        0x80, 0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x01, 0x00};
    static const uint8_t k_aes256_key30[] = {
        0xA8, 0x1F, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x09, 0x04, 0x02, 0x34, 0x38, 0x03, 0x03, 0x07,
        0xC0, 0x10, 0xA0, 0x06, 0x30, 0x04, 0x02, 0x02, 0x01, 0x00, 0xA1, 0x06, 0x30, 0x04, 0x30,
        0x02, 0x04, 0x00};
    static const uint8_t k_x25519_key200[] = {
        0xA0, 0x1C, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x0A, 0x04, 0x03, 0x32, 0x30, 0x30, 0x03, 0x03,
        0x07, 0x00, 0x80, 0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x01, 0x00};
    static const uint8_t k_ed448_key09[] = {
        0xA0, 0x19, 0x30, 0x02, 0x0C, 0x00, 0x30, 0x07, 0x04, 0x01, 0x39, 0x03, 0x02, 0x05, 0x20,
        0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x01, 0xC8};
    static const struct {
        uint8_t id;
        fk_key_policy_t pol;
        const uint8_t *want;
        size_t len;
    } k_cases[] = {
        {0x06, {.kind = FK_KEY_RSA, .size = 1024}, k_rsa1024_key06, sizeof(k_rsa1024_key06)},
        {0x05, {.kind = FK_KEY_EC, .size = FK_CURVE_SECP256R1}, k_p256_key05, sizeof(k_p256_key05)},
        {0x30, {.kind = FK_KEY_AES, .size = 256}, k_aes256_key30, sizeof(k_aes256_key30)},
        {200, {.kind = FK_KEY_MONT, .size = FK_CURVE_X25519}, k_x25519_key200, sizeof(k_x25519_key200)},
        {0x09, {.kind = FK_KEY_EDWARDS, .size = FK_CURVE_X448}, k_ed448_key09, sizeof(k_ed448_key09)},
    };
    fk_applet_ctx_t ctx = hsm_ctx();
    uint8_t got[64];
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_cases); i++) {
        const uint16_t fid = HSM_FID(HSM_PREFIX_PRKD, k_cases[i].id);
        assert_int_equal(hsm_default_prkd(&ctx, k_cases[i].id, &k_cases[i].pol), 0x9000);
        uint32_t size;
        assert_int_equal(fk_space_size(&g_hsm_sp, fid, &size), FK_STORE_OK);
        assert_int_equal(size, k_cases[i].len);
        assert_int_equal(fk_space_read(&g_hsm_sp, fid, 0, got, size), FK_STORE_OK);
        assert_memory_equal(got, k_cases[i].want, k_cases[i].len);
    }
    /* It replaces what is there; HMAC keys and impossible curves get none. */
    const fk_key_policy_t ec = {.kind = FK_KEY_EC, .size = FK_CURVE_SECP256R1};
    assert_int_equal(hsm_default_prkd(&ctx, 0x06, &ec), 0x9000);
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 6), &size), FK_STORE_OK);
    assert_int_equal(size, sizeof(k_p256_key05));
    const fk_key_policy_t hmac = {.kind = FK_KEY_HMAC, .size = 32};
    const fk_key_policy_t mont_on_p256 = {.kind = FK_KEY_MONT, .size = FK_CURVE_SECP256R1};
    const fk_key_policy_t ec_on_x25519 = {.kind = FK_KEY_EC, .size = FK_CURVE_X25519};
    assert_int_equal(hsm_default_prkd(&ctx, 0x41, &hmac), 0x6A81);
    assert_int_equal(hsm_default_prkd(&ctx, 0x41, &mont_on_p256), 0x6A81);
    assert_int_equal(hsm_default_prkd(&ctx, 0x41, &ec_on_x25519), 0x6A81);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 0x41), &size), FK_STORE_ENOENT);
}

/* ---- EdDSA and the Montgomery forms of Pico HSM's tools ---------------------- */

/* pycvc's base points, which pypicohsm puts into 83 (big-endian as printed
 * there): Ed25519's y = 4/5 and Ed448's value; X25519's and X448's u as
 * RFC 7748 bytes. */
static const uint8_t k_pycvc_ed25519_g[32] = {
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x58};
static const uint8_t k_pycvc_ed448_g[56] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
static const uint8_t k_oid_ecdsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_ri[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x05, 0x02, 0x03};
static const char k_ed_msg[] = "EdDSA signs the message itself";

/* A template as pypicohsm's key_generation builds it for curve25519,
 * curve448, ed25519 and ed448: 5F29, 42, 7F49 { OID, 81 p, 82 order,
 * 83 base point }, 5F20, then extra TLVs. */
static size_t pico_template(uint8_t *t, const uint8_t *oid, fk_curve_t twin, const uint8_t *g,
                            size_t g_len, const uint8_t *extra, size_t extra_len)
{
    const fk_curve_info_t *ci = fk_curve_info(twin);
    fk_rbuf_t r = {t, 0, 1024};
    assert_true(fk_tlv_put(&r, 0x5F29, "\x00", 1) && fk_tlv_put(&r, 0x42, "UTCA00001", 9));
    fk_tlv_mark_t m = fk_tlv_begin(&r, 0x7F49);
    assert_true(fk_tlv_put(&r, 0x06, oid, 10) && fk_tlv_put(&r, 0x81, ci->p, ci->field_len) &&
                fk_tlv_put(&r, 0x82, ci->n, ci->order_len) && fk_tlv_put(&r, 0x83, g, g_len) &&
                fk_tlv_end(&r, m));
    assert_true(fk_tlv_put(&r, 0x5F20, "UTCDUMMY00001", 13));
    assert_true(r.len + extra_len <= 1024);
    if (extra_len) memcpy(t + r.len, extra, extra_len);
    return r.len + extra_len;
}

/* The response to GENERATE of an EdDSA key: an authenticated request under
 * id-RI-ECDH with 81 p, 82 order, 83 the RFC 8032 base point, 84 the public
 * key, signed by the key (pure EdDSA over the 7F4E TLV) and the device. The
 * public key goes to pub (key length bytes). */
static void check_ed_request(const uint8_t *req, size_t len, fk_curve_t twin, uint8_t *pub)
{
    static uint8_t devaut[1024];
    const size_t kl = fk_ed_key_len(twin);
    const fk_curve_info_t *ci = fk_curve_info(twin);
    fk_cvc_request_t rq;
    fk_pk_public_t key, dev;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_parse_request(req, len, &rq), 0);
    assert_true(rq.authenticated);
    assert_int_equal(rq.cert.key_oid.len, sizeof(k_oid_ri));
    assert_memory_equal(rq.cert.key_oid.p, k_oid_ri, sizeof(k_oid_ri));
    const fk_bytes_t *el = rq.cert.key_el;
    assert_int_equal(el[FK_CVC_KEY_INDEX(0x81)].len, ci->field_len);
    assert_memory_equal(el[FK_CVC_KEY_INDEX(0x81)].p, ci->p, ci->field_len);
    assert_int_equal(el[FK_CVC_KEY_INDEX(0x82)].len, ci->order_len);
    assert_memory_equal(el[FK_CVC_KEY_INDEX(0x82)].p, ci->n, ci->order_len);
    assert_int_equal(el[FK_CVC_KEY_INDEX(0x83)].len, kl);
    /* RFC 8032's encoding of B: Ed25519 0x58 0x66.., Ed448 0x14 0xfa.. */
    assert_int_equal(el[FK_CVC_KEY_INDEX(0x83)].p[0], twin == FK_CURVE_X25519 ? 0x58 : 0x14);
    assert_int_equal(el[FK_CVC_KEY_INDEX(0x84)].len, kl);
    assert_int_equal(el[FK_CVC_KEY_INDEX(0x85)].len, 0);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &key, &alg), 0);
    assert_int_equal(key.type, FK_PK_EDWARDS);
    assert_int_equal(key.curve, twin);
    assert_int_equal(rq.cert.sig.len, fk_ed_sig_len(twin));
    assert_int_equal(fk_cvc_verify(&rq.cert, &key, &alg), 0);
    assert_int_equal(fk_ed_verify(twin, key.point.p, rq.cert.body.p, rq.cert.body.len,
                                  rq.cert.sig.p, rq.cert.sig.len),
                     0);
    device_public(devaut, sizeof(devaut), &dev);
    const fk_cvc_alg_t ecdsa = {FK_CVC_ECDSA, FK_HASH_SHA256};
    assert_int_equal(fk_cvc_verify_signature(&dev, &ecdsa, rq.outer_signed.p, rq.outer_signed.len,
                                             rq.outer_sig.p, rq.outer_sig.len),
                     0);
    memcpy(pub, key.point.p, kl);
}

/* Ed25519 and Ed448 in both OID forms: generated, signed with (70 over the
 * message, 73 over its SHA-256), refused for what EdDSA keys cannot do. */
static void test_eddsa_keys(void **state)
{
    (void)state;
    static uint8_t t[1024];
    assert_int_equal(verify_pin(), 0x9000);
    static const struct {
        fk_curve_t twin;
        const uint8_t *oid;
        const uint8_t *g;
        size_t g_len;
    } k_forms[] = {
        {FK_CURVE_X25519, k_oid_ecdsa, k_pycvc_ed25519_g, sizeof(k_pycvc_ed25519_g)},
        {FK_CURVE_X448, k_oid_ecdsa, k_pycvc_ed448_g, sizeof(k_pycvc_ed448_g)},
        {FK_CURVE_X25519, k_oid_ri, k_pycvc_ed25519_g, sizeof(k_pycvc_ed25519_g)},
        {FK_CURVE_X448, k_oid_ri, k_pycvc_ed448_g, sizeof(k_pycvc_ed448_g)},
    };
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_forms); i++) {
        const fk_curve_t twin = k_forms[i].twin;
        const uint8_t id = (uint8_t)(0x40 + i);
        uint8_t pub[FK_ED_KEY_MAX], digest[32];
        print_message("form %zu\n", i);
        size_t n = pico_template(t, k_forms[i].oid, twin, k_forms[i].g, k_forms[i].g_len, NULL, 0);
        assert_int_equal(xfer_ext(0x00, 0x46, id, 0x00, t, n), 0x9000);
        check_ed_request(g_out, g_out_len - 2, twin, pub);
        /* CE<id> holds the same request; C4<id> an EC description, usage sign. */
        static uint8_t ce[1024];
        uint32_t size;
        assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, id), &size), FK_STORE_OK);
        assert_int_equal(size, g_out_len - 2);
        assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, id), 0, ce, size), 0);
        assert_memory_equal(ce, g_out, size);
        uint8_t c4[64];
        assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, id), &size), FK_STORE_OK);
        assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, id), 0, c4, size), 0);
        assert_int_equal(c4[0], 0xA0);
        /* The key object: seed || public key, kind EDWARDS. */
        static uint8_t m[2 * FK_ED_KEY_MAX + 8];
        size_t ml;
        assert_int_equal(fk_devrig_hsm_key(&g_dev, id, m, sizeof(m), &ml), FK_KEY_OK);
        assert_int_equal(ml, 2 * fk_ed_key_len(twin));
        assert_memory_equal(m + ml / 2, pub, ml / 2);
        fk_wipe(m, sizeof(m));

        /* 70: pure EdDSA over the data as sent (the message). */
        assert_int_equal(xfer_ext(0x80, 0x68, id, 0x70, (const uint8_t *)k_ed_msg,
                                  sizeof(k_ed_msg) - 1),
                         0x9000);
        assert_int_equal(g_out_len - 2, fk_ed_sig_len(twin));
        assert_int_equal(fk_ed_verify(twin, pub, (const uint8_t *)k_ed_msg, sizeof(k_ed_msg) - 1,
                                      g_out, g_out_len - 2),
                         0);
        /* 73: the card hashes first, then signs the digest (as Pico HSM). */
        assert_int_equal(xfer_ext(0x80, 0x68, id, 0x73, (const uint8_t *)k_ed_msg,
                                  sizeof(k_ed_msg) - 1),
                         0x9000);
        fk_sha256(k_ed_msg, sizeof(k_ed_msg) - 1, digest);
        assert_int_equal(fk_ed_verify(twin, pub, digest, sizeof(digest), g_out, g_out_len - 2), 0);
        /* Not for EdDSA keys: RSA, ECDH, DERIVE. */
        assert_int_equal(xfer_ext(0x80, 0x68, id, 0x33, digest, 32), 0x6A81);
        assert_int_equal(xfer_ext(0x80, 0x62, id, 0x80, pub, fk_ed_key_len(twin)), 0x6A81);
        static const uint8_t derive[] = {0x98, 0x01};
        assert_int_equal(xfer_ext(0x80, 0x76, id, 0x7F, derive, sizeof(derive)), 0x6A81);
    }
    /* An algorithm list holds for EdDSA keys too. */
    static const uint8_t only70[] = {0x91, 0x01, 0x70};
    size_t n = pico_template(t, k_oid_ecdsa, FK_CURVE_X25519, k_pycvc_ed25519_g,
                             sizeof(k_pycvc_ed25519_g), only70, sizeof(only70));
    assert_int_equal(xfer_ext(0x00, 0x46, 0x50, 0x00, t, n), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x50, 0x73, (const uint8_t *)"m", 1), 0x6985);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x50, 0x70, (const uint8_t *)"m", 1), 0x9000);
    /* A base point that is neither: still EdDSA (Pico HSM's rule), but no
     * base point at all is refused. */
    static const uint8_t odd_g[] = {0x01, 0x02};
    n = pico_template(t, k_oid_ri, FK_CURVE_X448, odd_g, sizeof(odd_g), NULL, 0);
    assert_int_equal(xfer_ext(0x00, 0x46, 0x51, 0x00, t, n), 0x9000);
    uint8_t pub[FK_ED_KEY_MAX];
    check_ed_request(g_out, g_out_len - 2, FK_CURVE_X448, pub);
    {
        const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_X25519);
        fk_rbuf_t r = {t, 0, sizeof(t)};
        assert_true(fk_tlv_put(&r, 0x5F29, "\x00", 1));
        fk_tlv_mark_t mk = fk_tlv_begin(&r, 0x7F49);
        assert_true(fk_tlv_put(&r, 0x06, k_oid_ecdsa, 10) &&
                    fk_tlv_put(&r, 0x81, ci->p, ci->field_len) &&
                    fk_tlv_put(&r, 0x82, ci->n, ci->order_len) && fk_tlv_end(&r, mk));
        assert_true(fk_tlv_put(&r, 0x5F20, "UTCDUMMY00001", 13));
        assert_int_equal(xfer_ext(0x00, 0x46, 0x52, 0x00, t, r.len), 0x6A80);
    }
    /* The keys outlive a restart. */
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    assert_int_equal(verify_pin(), 0x9000);
    assert_int_equal(xfer_ext(0x80, 0x68, 0x51, 0x70, (const uint8_t *)"m", 1), 0x9000);
    assert_int_equal(fk_ed_verify(FK_CURVE_X448, pub, (const uint8_t *)"m", 1, g_out, g_out_len - 2), 0);
}

/* X25519 / X448 as pypicohsm sends them (id-TA-ECDSA, 83 = 09 00.. / 05 00..)
 * and as RFC 7748 bytes in the response: ECDH works with the request's key. */
static void test_montgomery_pico_form(void **state)
{
    (void)state;
    static uint8_t t[1024], peer_blob[256];
    assert_int_equal(verify_pin(), 0x9000);
    static const fk_curve_t k_curves[] = {FK_CURVE_X25519, FK_CURVE_X448};
    for (size_t i = 0; i < 2; i++) {
        const fk_curve_t c = k_curves[i];
        const fk_curve_info_t *ci = fk_curve_info(c);
        uint8_t u[56] = {0};
        u[0] = c == FK_CURVE_X25519 ? 9 : 5;
        size_t n = pico_template(t, k_oid_ecdsa, c, u, ci->field_len, NULL, 0);
        assert_int_equal(xfer_ext(0x00, 0x46, 0x60, 0x00, t, n), 0x9000);
        fk_cvc_request_t rq;
        fk_pk_public_t pub;
        fk_cvc_alg_t alg;
        assert_int_equal(fk_cvc_parse_request(g_out, g_out_len - 2, &rq), 0);
        assert_memory_equal(rq.cert.key_oid.p, k_oid_ri, sizeof(k_oid_ri));
        const fk_bytes_t g83 = rq.cert.key_el[FK_CVC_KEY_INDEX(0x83)];
        assert_int_equal(g83.len, ci->field_len);
        assert_memory_equal(g83.p, u, ci->field_len); /* u as RFC 7748 bytes, first byte 09/05 */
        assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), 0);
        assert_int_equal(pub.type, FK_PK_MONT);
        for (size_t j = 0; j < rq.cert.sig.len; j++) assert_int_equal(rq.cert.sig.p[j], 0);
        /* ECDH with the public key of the request. */
        static uint8_t q[56];
        memcpy(q, pub.point.p, pub.point.len);
        size_t plen, zlen;
        fk_pk_key_t peer;
        uint8_t z[56];
        assert_int_equal(fk_pk_ec_generate(c, peer_blob, sizeof(peer_blob), &plen), 0);
        assert_int_equal(fk_pk_parse(peer_blob, plen, &peer), 0);
        assert_int_equal(xfer_ext(0x80, 0x62, 0x60, 0x80, peer.pub.p, peer.pub.len), 0x9000);
        assert_int_equal(fk_pk_ecdh(&peer, q, ci->field_len, z, sizeof(z), &zlen), 0);
        assert_int_equal(g_out_len - 3, zlen);
        assert_memory_equal(g_out + 1, z, zlen);
        /* Montgomery keys do not sign. */
        assert_int_equal(xfer_ext(0x80, 0x68, 0x60, 0x70, z, 32), 0x6A81);
    }
}

/* hsm_key_request for EdDSA material given by the caller (an unwrapped key). */
static void test_key_request_eddsa(void **state)
{
    (void)state;
    static uint8_t req[HSM_KEY_REQUEST_MAX];
    fk_applet_ctx_t ctx = hsm_ctx();
    static const fk_curve_t k_twins[] = {FK_CURVE_X25519, FK_CURVE_X448};
    for (size_t i = 0; i < 2; i++) {
        const fk_curve_t twin = k_twins[i];
        const size_t kl = fk_ed_key_len(twin);
        uint8_t m[2 * FK_ED_KEY_MAX], pub[FK_ED_KEY_MAX];
        assert_int_equal(fk_ed_generate(twin, m, m + kl), 0);
        const fk_key_policy_t pol = {.kind = FK_KEY_EDWARDS, .size = twin, .domain = FK_KEY_NO_DOMAIN};
        fk_rbuf_t out = {req, 0, sizeof(req)};
        assert_int_equal(hsm_key_request(&ctx, 9, &pol, m, 2 * kl, &out), 0x9000);
        check_ed_request(req, out.len, twin, pub);
        assert_memory_equal(pub, m + kl, kl);
        /* A public key that is not the seed's: the key cannot sign it. */
        out.len = 0;
        m[kl] ^= 1;
        assert_int_equal(hsm_key_request(&ctx, 9, &pol, m, 2 * kl, &out), 0x6400);
        assert_int_equal(out.len, 0);
        assert_int_equal(hsm_key_request(&ctx, 9, &pol, m, 2 * kl - 1, &out), 0x6A81);
        fk_wipe(m, sizeof(m));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_sign_and_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ecdh_every_curve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_press_to_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_identity_survives_initialize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_request_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_prkd_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eddsa_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_montgomery_pico_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_request_eddsa, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
