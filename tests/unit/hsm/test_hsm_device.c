/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device identity of the HSM applet: the device key CC00, its chain
 * 2F02 and its authenticated request CE00, on the real device over the host
 * port's flash.
 *
 * - CE00 after the first start: the device key signs its body and the
 *   request, with the device CHR as CAR, CHR and outer CAR; INITIALIZE
 *   keeps it; a missing CE00 comes back at the next selection without
 *   touching 2F02; a new device key brings a new chain and request.
 * - An issued chain (a test CA's certificate for the device key, then the
 *   CA's own) written to 2F02 with UPDATE BINARY: accepted with the user
 *   PIN, with or without domain parameters; its CHR becomes the outer CAR
 *   of new requests. Every other chain is refused with 6A80 and 2F02 keeps
 *   what it had; CE00 and 2F02 are never written or deleted otherwise.
 * - A power cut at every flash operation while the identity is made: after
 *   the restart the key, the chain and the request belong together.
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

#define SW_OK 0x9000u
#define FID_CE00 0xCE00u
#define FID_CC00 0xCC00u

static fk_testdev_t g_dev;
static uint8_t g_out[65535];
static size_t g_out_len;
static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0x0C, 0xE0, 0x0D, 0xE5, 0x11, 0x22, 0x33, 0x44};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 512u * 1024u};
static char g_snap[FK_DEVRIG_PATH_CAP + 8];

static const uint8_t k_oid_ecdsa_sha256[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_role_at[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x02};
static const uint8_t k_rights[] = {0x00};
static const uint8_t k_from[FK_CVC_DATE_LEN] = {2, 6, 0, 3, 0, 1};
static const uint8_t k_until[FK_CVC_DATE_LEN] = {3, 6, 0, 3, 0, 1};
static const char k_ca_chr[] = "DETESTCA00001";
static const char k_dev_chr[] = "DETSTDEV400007"; /* the token serial becomes DETSTDEV4 */

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

static uint16_t select_hsm(void)
{
    static const uint8_t aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
    return send(0x00, 0xA4, 0x04, 0x00, aid, sizeof(aid), 256);
}

/* UPDATE BINARY of fid: 54 <offset> 53 <data>, extended. */
static uint16_t update(uint16_t fid, uint32_t offset, const uint8_t *data, size_t len)
{
    static uint8_t body[4200];
    size_t n = 0;
    assert_true(len + 12 <= sizeof(body));
    body[n++] = 0x54, body[n++] = 0x03;
    body[n++] = (uint8_t)(offset >> 16), body[n++] = (uint8_t)(offset >> 8), body[n++] = (uint8_t)offset;
    body[n++] = 0x53, body[n++] = 0x82, body[n++] = (uint8_t)(len >> 8), body[n++] = (uint8_t)len;
    if (len) memcpy(body + n, data, len);
    n += len;
    return send(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, body, n, 0);
}

static fk_space_t hsm_main(void) { return (fk_space_t){&g_dev.svc.store, FK_NS_HSM}; }

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

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    if (fk_devrig_setup(&g_rig, "device") != 0) return -1;
    snprintf(g_snap, sizeof(g_snap), "%s.snap", g_rig.flash);
    return initialize() == SW_OK ? 0 : -1;
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

/* The device key's public point, straight from CC00. */
static void device_point(uint8_t *point, size_t *len)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t blen;
    fk_pk_key_t k;
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 0x00, blob, sizeof(blob), &blen), 0);
    assert_int_equal(fk_pk_parse(blob, blen, &k), 0);
    memcpy(point, k.pub.p, k.pub.len);
    *len = k.pub.len;
    fk_wipe(blob, sizeof(blob));
}

/* CE00: a request for the device key (point), self-signed, CAR = CHR =
 * outer CAR = chr. */
static void check_device_request(const uint8_t *point, size_t point_len, const char *chr)
{
    static uint8_t ce[1024];
    fk_cvc_request_t rq;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    const size_t n = hsm_record(FID_CE00, ce, sizeof(ce));
    assert_true(n > 0);
    assert_int_equal(fk_cvc_parse_request(ce, n, &rq), 0);
    assert_int_equal(rq.whole.len, n);
    assert_true(rq.authenticated);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, &pub, &alg), 0);
    assert_int_equal(pub.type, FK_PK_EC);
    assert_int_equal(pub.curve, FK_CURVE_SECP256R1);
    assert_int_equal(pub.point.len, point_len);
    assert_memory_equal(pub.point.p, point, point_len);
    assert_int_equal(alg.scheme, FK_CVC_ECDSA);
    assert_true(rq.cert.key_el[FK_CVC_KEY_INDEX(FK_CVC_EC_P)].len > 0); /* domain parameters */
    assert_int_equal(fk_cvc_verify(&rq.cert, &pub, &alg), 0);
    assert_int_equal(fk_cvc_verify_signature(&pub, &alg, rq.outer_signed.p, rq.outer_signed.len,
                                             rq.outer_sig.p, rq.outer_sig.len),
                     0);
    const size_t cl = strlen(chr);
    assert_int_equal(rq.cert.car.len, cl);
    assert_memory_equal(rq.cert.car.p, chr, cl);
    assert_int_equal(rq.cert.chr.len, cl);
    assert_memory_equal(rq.cert.chr.p, chr, cl);
    assert_int_equal(rq.outer_car.len, cl);
    assert_memory_equal(rq.outer_car.p, chr, cl);
}

/* The CHR of the first certificate of 2F02, as a C string in out. */
static void chain_chr(char *out, size_t cap)
{
    static uint8_t chain[4096];
    fk_cvc_t c;
    const size_t n = hsm_record(HSM_FID_DEVAUT, chain, sizeof(chain));
    assert_int_equal(fk_cvc_parse(chain, n, &c), 0);
    assert_true(c.chr.len < cap);
    memcpy(out, c.chr.p, c.chr.len);
    out[c.chr.len] = '\0';
}

/* The key of the first certificate of 2F02 is CC00's. */
static void check_chain_key(const uint8_t *point, size_t point_len)
{
    static uint8_t chain[4096];
    fk_cvc_t c;
    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    const size_t n = hsm_record(HSM_FID_DEVAUT, chain, sizeof(chain));
    assert_int_equal(fk_cvc_parse(chain, n, &c), 0);
    assert_int_equal(fk_cvc_public_key(&c, FK_CURVE_SECP256R1, &pub, &alg), 0);
    assert_int_equal(pub.point.len, point_len);
    assert_memory_equal(pub.point.p, point, point_len);
}

static void test_device_request(void **state)
{
    (void)state;
    static uint8_t before[1024], after[1024];
    uint8_t point[FK_EC_POINT_MAX];
    size_t plen;
    char chr[32];
    device_point(point, &plen);
    chain_chr(chr, sizeof(chr));
    assert_int_equal(strlen(chr), 16);
    assert_memory_equal(chr, "FK", 2);
    check_device_request(point, plen, chr);
    check_chain_key(point, plen);

    /* Anyone reads it (no PIN); the host never writes or deletes it. */
    assert_int_equal(send(0x00, 0xB1, 0xCE, 0x00, "\x54\x02\x00\x00", 4, 65536), SW_OK);
    const size_t n = hsm_record(FID_CE00, before, sizeof(before));
    assert_int_equal(g_out_len - 2, n);
    assert_memory_equal(g_out, before, n);
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(update(FID_CE00, 0, before, 10), 0x6982);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\xCE\x00", 2, 0), 0x6982);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\x2F\x02", 2, 0), 0x6982);
    assert_int_equal(send(0x00, 0xA4, 0x00, 0x00, "\xCE\x00", 2, 256), SW_OK);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, NULL, 0, 0), 0x6982); /* the selected EF */

    /* INITIALIZE keeps it byte for byte. */
    assert_int_equal(initialize(), SW_OK);
    assert_int_equal(hsm_record(FID_CE00, after, sizeof(after)), n);
    assert_memory_equal(after, before, n);

    /* Gone (a damaged record): the next selection makes it again, 2F02 as
     * it was. */
    static uint8_t chain[1024], chain2[1024];
    const size_t cl = hsm_record(HSM_FID_DEVAUT, chain, sizeof(chain));
    const fk_space_t sp = hsm_main();
    assert_int_equal(fk_space_delete(&sp, FID_CE00), FK_STORE_OK);
    assert_int_equal(select_hsm(), SW_OK);
    check_device_request(point, plen, chr);
    assert_int_equal(hsm_record(HSM_FID_DEVAUT, chain2, sizeof(chain2)), cl);
    assert_memory_equal(chain2, chain, cl);

    /* A new device key (the old one lost): a new chain and request. */
    assert_int_equal(fk_space_delete(&sp, FID_CC00), FK_STORE_OK);
    assert_int_equal(select_hsm(), SW_OK);
    uint8_t point2[FK_EC_POINT_MAX];
    size_t plen2;
    device_point(point2, &plen2);
    assert_memory_not_equal(point2, point, plen);
    check_device_request(point2, plen2, chr);
    check_chain_key(point2, plen2);
}

/* ---- Issued chains --------------------------------------------------------- */

/* A test CA (P-256) and the chain it issues for a public key. */
static uint8_t g_ca_blob[256];
static fk_pk_key_t g_ca;

static void make_ca(void)
{
    size_t len;
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, g_ca_blob, sizeof(g_ca_blob), &len), 0);
    assert_int_equal(fk_pk_parse(g_ca_blob, len, &g_ca), 0);
}

/* Append the CA's certificate for pub (holder chr) to r: with the domain
 * parameters or without, with a role and dates unless bare. */
static void issue_as(fk_rbuf_t *r, const fk_pk_public_t *pub, const char *chr, const uint8_t *oid,
                     size_t oid_len, bool domain, bool bare)
{
    const fk_cvc_key_signer_t ks = {&g_ca, {FK_CVC_ECDSA, FK_HASH_SHA256}};
    const fk_cvc_signer_t signer = fk_cvc_signer_for_key(&ks);
    const fk_cvc_fields_t f = {
        .car = {(const uint8_t *)k_ca_chr, strlen(k_ca_chr)},
        .chr = {(const uint8_t *)chr, strlen(chr)},
        .key_oid = {oid, oid_len},
        .domain_params = domain,
        .chat_oid = {bare ? NULL : k_oid_role_at, bare ? 0 : sizeof(k_oid_role_at)},
        .chat_rights = {bare ? NULL : k_rights, bare ? 0 : sizeof(k_rights)},
        .effective = bare ? NULL : k_from,
        .expiry = bare ? NULL : k_until,
    };
    assert_int_equal(fk_cvc_build_cert(r, &f, pub, &signer), 0);
}

static void issue(fk_rbuf_t *r, const fk_pk_public_t *pub, const char *chr, const uint8_t *oid,
                  size_t oid_len, bool domain)
{
    issue_as(r, pub, chr, oid, oid_len, domain, false);
}

/* The chain device certificate || CA certificate for the point given. */
static size_t issued_chain(uint8_t *out, size_t cap, const uint8_t *point, size_t plen,
                           const char *chr, bool domain)
{
    fk_rbuf_t r = {out, 0, cap};
    const fk_pk_public_t dev = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256R1, .point = {point, plen}};
    fk_pk_public_t ca;
    fk_pk_public_of(&g_ca, &ca);
    issue(&r, &dev, chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), domain);
    issue(&r, &ca, k_ca_chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), true);
    return r.len;
}

static void test_issued_chain(void **state)
{
    (void)state;
    static uint8_t chain[4096], bad[4096], old[4096], now[4096];
    uint8_t point[FK_EC_POINT_MAX];
    size_t plen;
    char chr[32];
    make_ca();
    device_point(point, &plen);
    const size_t old_len = hsm_record(HSM_FID_DEVAUT, old, sizeof(old));
    size_t n = issued_chain(chain, sizeof(chain), point, plen, k_dev_chr, true);

    /* Without the PIN: 6982. */
    assert_int_equal(update(HSM_FID_DEVAUT, 0, chain, n), 0x6982);
    assert_int_equal(verify(), SW_OK);

    /* Refused chains, 2F02 untouched after each. */
    size_t m;
    uint8_t other[FK_PK_BLOB_MAX];
    size_t olen;
    fk_pk_key_t ok;
    assert_int_equal(fk_pk_ec_generate(FK_CURVE_SECP256R1, other, sizeof(other), &olen), 0);
    assert_int_equal(fk_pk_parse(other, olen, &ok), 0);
    /* another key */
    m = issued_chain(bad, sizeof(bad), ok.pub.p, ok.pub.len, k_dev_chr, true);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, m), 0x6A80);
    /* a CHR OpenSC cannot take a serial from */
    m = issued_chain(bad, sizeof(bad), point, plen, "DE1234", true);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, m), 0x6A80);
    m = issued_chain(bad, sizeof(bad), point, plen, "de-test-00001", true);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, m), 0x6A80);
    /* trailing bytes, a truncated second certificate, the CA first */
    memcpy(bad, chain, n);
    bad[n] = 0x00;
    assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, n + 1), 0x6A80);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, chain, n - 1), 0x6A80);
    fk_cvc_t first;
    assert_int_equal(fk_cvc_parse(chain, n, &first), 0);
    memcpy(bad, chain + first.cert.len, n - first.cert.len);
    memcpy(bad + n - first.cert.len, chain, first.cert.len);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, n), 0x6A80);
    /* a corrupted length, not a certificate at all, empty, offset writes */
    memcpy(bad, chain, n);
    bad[3] ^= 0x01;
    assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, n), 0x6A80);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, (const uint8_t *)"not a chain", 11), 0x6A80);
    assert_int_equal(update(HSM_FID_DEVAUT, 0, NULL, 0), 0x6A80);
    assert_int_equal(update(HSM_FID_DEVAUT, 10, chain, 20), 0x6A80);
    assert_int_equal(update(HSM_FID_DEVAUT, (uint32_t)old_len, chain, n), 0x6A80);
    /* the CA's own key under the device's CHR */
    {
        fk_rbuf_t r = {bad, 0, sizeof(bad)};
        fk_pk_public_t ca;
        fk_pk_public_of(&g_ca, &ca);
        issue(&r, &ca, k_dev_chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), true);
        assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, r.len), 0x6A80);
    }
    /* Nine certificates, or more than HSM_DEVAUT_MAX bytes. */
    {
        fk_rbuf_t r = {bad, 0, sizeof(bad)};
        const fk_pk_public_t dev = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256R1,
                                    .point = {point, plen}};
        fk_pk_public_t ca;
        fk_pk_public_of(&g_ca, &ca);
        issue_as(&r, &dev, k_dev_chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), false, true);
        for (int i = 0; i < 7; i++)
            issue_as(&r, &ca, k_ca_chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), false, true);
        const size_t eight = r.len;
        issue_as(&r, &ca, k_ca_chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), false, true);
        assert_true(r.len <= HSM_DEVAUT_MAX);
        assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, r.len), 0x6A80);
        /* Eight are fine (and put back the old chain afterwards). */
        assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, eight), SW_OK);
        assert_int_equal(update(HSM_FID_DEVAUT, 0, old, old_len), SW_OK);
        /* The full chain padded past the limit with one more certificate. */
        memcpy(bad, chain, n);
        r.len = n;
        while (r.len <= HSM_DEVAUT_MAX)
            issue(&r, &ca, k_ca_chr, k_oid_ecdsa_sha256, sizeof(k_oid_ecdsa_sha256), true);
        assert_int_equal(update(HSM_FID_DEVAUT, 0, bad, r.len), 0x6A80);
    }
    assert_int_equal(hsm_record(HSM_FID_DEVAUT, now, sizeof(now)), old_len);
    assert_memory_equal(now, old, old_len);

    /* The issued chain: accepted, read back whole. */
    assert_int_equal(update(HSM_FID_DEVAUT, 0, chain, n), SW_OK);
    assert_int_equal(hsm_record(HSM_FID_DEVAUT, now, sizeof(now)), n);
    assert_memory_equal(now, chain, n);
    chain_chr(chr, sizeof(chr));
    assert_string_equal(chr, k_dev_chr);
    /* Its CHR is the outer CAR of every new request; the next selection
     * keeps it (it is not rebuilt). */
    static uint8_t t[1024];
    size_t tl = fk_devrig_ec_template(t, sizeof(t), FK_CURVE_SECP256R1, "UTDEVICE001", NULL, 0);
    assert_int_equal(send(0x00, 0x46, 0x01, 0x00, t, tl, 65536), SW_OK);
    fk_cvc_request_t rq;
    assert_int_equal(fk_cvc_parse_request(g_out, g_out_len - 2, &rq), 0);
    assert_int_equal(rq.outer_car.len, strlen(k_dev_chr));
    assert_memory_equal(rq.outer_car.p, k_dev_chr, strlen(k_dev_chr));
    const fk_pk_public_t dev = {.type = FK_PK_EC, .curve = FK_CURVE_SECP256R1, .point = {point, plen}};
    const fk_cvc_alg_t ecdsa = {FK_CVC_ECDSA, FK_HASH_SHA256};
    assert_int_equal(fk_cvc_verify_signature(&dev, &ecdsa, rq.outer_signed.p, rq.outer_signed.len,
                                             rq.outer_sig.p, rq.outer_sig.len),
                     0);
    restart();
    assert_int_equal(hsm_record(HSM_FID_DEVAUT, now, sizeof(now)), n);
    assert_memory_equal(now, chain, n);
    /* INITIALIZE keeps it. */
    assert_int_equal(initialize(), SW_OK);
    assert_int_equal(hsm_record(HSM_FID_DEVAUT, now, sizeof(now)), n);

    /* A certificate without domain parameters (the curve inherited from
     * the device key) is accepted too, through FID 0000 after a SELECT. */
    assert_int_equal(verify(), SW_OK);
    n = issued_chain(chain, sizeof(chain), point, plen, "DETSTDEV400008", false);
    assert_int_equal(send(0x00, 0xA4, 0x00, 0x00, "\x2F\x02", 2, 256), SW_OK);
    assert_int_equal(update(0x0000, 0, chain, n), SW_OK);
    chain_chr(chr, sizeof(chr));
    assert_string_equal(chr, "DETSTDEV400008");
    fk_wipe(other, sizeof(other));
}

/* The identity made while the power fails at every flash operation: after
 * the restart the key, its chain and its request belong together, and the
 * request is never there without the chain. */
static void test_identity_powercut(void **state)
{
    (void)state;
    const fk_space_t sp0 = hsm_main();
    assert_int_equal(fk_space_delete(&sp0, FID_CE00), FK_STORE_OK);
    assert_int_equal(fk_space_delete(&sp0, HSM_FID_DEVAUT), FK_STORE_OK);
    assert_int_equal(fk_space_delete(&sp0, FID_CC00), FK_STORE_OK);
    fk_devrig_stop(&g_rig);
    fk_devrig_copy_file(g_rig.flash, g_snap);
    int partial = 0, whole = 0;
    for (long n = 0;; n++) {
        fk_devrig_copy_file(g_snap, g_rig.flash);
        assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
        fk_flashcut_arm(n);
        fk_card_power_on(&g_dev.card); /* the implicit selection makes the identity */
        const bool was_cut = fk_flashcut_cut();
        fk_flashcut_disarm();
        fk_devrig_stop(&g_rig);
        /* What the cut left, before anything repairs it. */
        assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
        const bool key = have_record(FID_CC00), chain = have_record(HSM_FID_DEVAUT),
                   req = have_record(FID_CE00);
        assert_true(chain == req);      /* one batch */
        assert_true(key || !chain);     /* never files without their key */
        if (key && chain) whole++; else partial++;
        /* The next start completes it, consistently. */
        fk_card_power_on(&g_dev.card);
        uint8_t point[FK_EC_POINT_MAX];
        size_t plen;
        char chr[32];
        device_point(point, &plen);
        chain_chr(chr, sizeof(chr));
        check_chain_key(point, plen);
        check_device_request(point, plen, chr);
        fk_devrig_stop(&g_rig);
        if (!was_cut) break;
    }
    print_message("%d cuts left a partial identity, %d a whole one\n", partial, whole);
    assert_true(partial >= 1 && whole >= 1);
    fk_devrig_start(&g_rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_device_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issued_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_powercut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
