/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the HSM applet's secret keys (applets/hsm/hsm_cipher.c):
 * GENERATE SYMMETRIC KEY (48) and CIPHER (78) on the real device over the
 * host port, driven by APDUs.
 *
 * A generated key's value cannot be read back, so the known-answer tests put
 * keys of known value into the key-object service directly (fk_key_put under
 * the session's master key, as the applet stores them) and check every
 * output against published vectors: NIST SP 800-38A (CBC through P2 10/11
 * with the IV folded into the first block, ECB/CBC/CFB/OFB/CTR through the
 * extended form), IEEE 1619 and NIST XTSVS XTS-AES, McGrew-Viega GCM,
 * RFC 4493 CMAC, RFC 8439 ChaCha20-Poly1305, RFC 2202/4231 HMAC, RFC 5869
 * HKDF, RFC 6070/7914 PBKDF2, NIST CAVS X9.63. Where no published vector
 * fits the command (P2 99, HKDF-SHA-384/512, CCM with a 16-byte tag) the
 * expected bytes were computed with python3-cryptography (OpenSSL), not with
 * fusekey's own code. Generated keys are checked by relations (decryption
 * inverts encryption) and through their stored policy. Every refusal is
 * checked for its status word and for spending nothing; GENERATE over an
 * existing key is cut at every flash operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_hex.h"

#include "crypto/sym.h"
#include "devrig.h"
#include "flashcut.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)
#define SW_OK 0x9000u

static fk_testdev_t g_dev;
static uint8_t g_out[65538];
static size_t g_out_len;

static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0x53, 0x59, 0x4d, 0x00, 0x01, 0x02, 0x03, 0x04};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};
static char g_snap[FK_DEVRIG_PATH_CAP + 8];

static const fk_space_t g_hsm_sp = {&g_dev.svc.store, FK_NS_HSM};

/* ---- Helpers ------------------------------------------------------------ */

static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t n,
                     size_t ne)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, ne, ne > 256 || n > 255};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

/* CIPHER with an extended Le 0000 (any length back). */
static uint16_t cipher(uint8_t id, uint8_t p2, const void *data, size_t n)
{
    const fk_devrig_cmd_t cmd = {0x80, 0x78, id, p2, data, n, FK_DEVRIG_NE_EXT_MAX, true};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

/* CIPHER with a given Le (extended form). */
static uint16_t cipher_le(uint8_t id, uint8_t p2, const void *data, size_t n, size_t ne)
{
    const fk_devrig_cmd_t cmd = {0x80, 0x78, id, p2, data, n, ne, true};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static size_t out_len(void) { return g_out_len - 2; }

static void expect_out(const char *hex)
{
    static uint8_t want[1024];
    size_t n = fk_test_unhex(hex, want, sizeof(want));
    assert_int_equal(out_len(), n);
    assert_memory_equal(g_out, want, n);
}

static uint16_t verify_pin(void) { return send(0x00, 0x20, 0x00, 0x81, k_pin, 6, 0); }

static uint16_t initialize(uint16_t options)
{
    uint8_t init[40];
    size_t n = 0;
    init[n++] = 0x80, init[n++] = 0x02, init[n++] = (uint8_t)(options >> 8), init[n++] = (uint8_t)options;
    init[n++] = 0x81, init[n++] = 6;
    memcpy(init + n, k_pin, 6), n += 6;
    init[n++] = 0x82, init[n++] = 8;
    memcpy(init + n, k_so, 8), n += 8;
    init[n++] = 0x91, init[n++] = 0x01, init[n++] = 0x03;
    return send(0x80, 0x50, 0x00, 0x00, init, n, 0);
}

static uint16_t select_hsm(void)
{
    return send(0x00, 0xA4, 0x04, 0x00, fk_hsm_aid, sizeof(fk_hsm_aid), 0);
}

static fk_applet_ctx_t hsm_ctx(void) { return fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet); }

/* Store a key of known value as the applet does (under the session's MK). */
static void put_key(uint8_t id, uint8_t kind, const uint8_t *key, size_t len, const uint8_t *algs,
                    size_t n_algs, long counter)
{
    const fk_applet_ctx_t ctx = hsm_ctx();
    const hsm_state_t *st = (const hsm_state_t *)ctx.state;
    assert_true(st->mk_loaded);
    fk_key_policy_t pol = {.kind = kind,
                           .size = (uint16_t)(kind == FK_KEY_AES ? len * 8u : len),
                           .domain = FK_KEY_NO_DOMAIN,
                           .has_counter = counter >= 0,
                           .counter = counter >= 0 ? (uint32_t)counter : 0,
                           .n_algs = (uint8_t)n_algs};
    if (n_algs) memcpy(pol.algs, algs, n_algs);
    assert_int_equal(fk_key_put(&ctx, HSM_FID(HSM_PREFIX_KEY, id), &pol, key, len, st->mk), FK_KEY_OK);
}

static void put_aes(uint8_t id, const char *hex)
{
    uint8_t key[64];
    size_t n = fk_test_unhex(hex, key, sizeof(key));
    put_key(id, FK_KEY_AES, key, n, NULL, 0, -1);
}

/* The extended form: 06 oid, then 81/82/83 when given (NULL: absent). */
static size_t ext(uint8_t *buf, size_t cap, const uint8_t *oid, size_t oid_len, const void *in,
                  size_t in_len, const void *iv, size_t iv_len, const void *aad, size_t aad_len)
{
    fk_rbuf_t r = {buf, 0, cap};
    assert_true(fk_tlv_put(&r, 0x06, oid, oid_len));
    if (in != NULL) assert_true(fk_tlv_put(&r, 0x81, in, in_len));
    if (iv != NULL) assert_true(fk_tlv_put(&r, 0x82, iv, iv_len));
    if (aad != NULL) assert_true(fk_tlv_put(&r, 0x83, aad, aad_len));
    return r.len;
}

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    if (fk_devrig_setup(&g_rig, "cipher") != 0) return -1;
    snprintf(g_snap, sizeof(g_snap), "%s.snap", g_rig.flash);
    return initialize(0x0001) == SW_OK && verify_pin() == SW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    fk_card_set_keepalive(&g_dev.card, NULL, NULL);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    unlink(g_snap);
    return fk_devrig_teardown(&g_rig);
}

/* ---- Vectors ------------------------------------------------------------ */

#define K128 "2b7e151628aed2a6abf7158809cf4f3c"
#define K192 "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"
#define K256 "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
#define SP38A_PT                                                             \
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"       \
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
#define SP38A_IV "000102030405060708090a0b0c0d0e0f"
#define SP38A_CTR "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

static const uint8_t k_oid_aes_prefix[8] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01};

static size_t aes_oid(uint8_t *oid, uint8_t last)
{
    memcpy(oid, k_oid_aes_prefix, 8);
    oid[8] = last;
    return 9;
}

enum { ID_128 = 0x10, ID_192 = 0x11, ID_256 = 0x12, ID_512 = 0x13, ID_XTS128 = 0x14 };

/* ---- GENERATE SYMMETRIC KEY --------------------------------------------- */

static void test_generate(void **state)
{
    (void)state;
    /* Key 0x30 is 256 bits, as in the capture of pico's default C430. */
    static const uint8_t p2s[] = {0xB2, 0xB0, 0xB1, 0xB3};
    static const uint16_t bits[] = {256, 128, 192, 512};
    const fk_applet_ctx_t ctx = hsm_ctx();
    uint8_t a[64], b[64];
    size_t alen, blen;

    for (size_t i = 0; i < 4; i++) {
        const uint8_t id = (uint8_t)(0x30 + i);
        assert_int_equal(send(0x00, 0x48, id, p2s[i], NULL, 0, 0), SW_OK);
        assert_int_equal(out_len(), 0);
        fk_key_policy_t pol;
        uint32_t uses;
        assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, id), &pol, &uses), FK_KEY_OK);
        assert_int_equal(pol.kind, FK_KEY_AES);
        assert_int_equal(pol.size, bits[i]);
        assert_int_equal(pol.n_algs, 0);
        assert_false(pol.has_counter);
        assert_int_equal(pol.domain, FK_KEY_NO_DOMAIN);
        /* The material is under the master key: no key object opens without it. */
        fk_key_t k;
        assert_int_equal(fk_key_open(&ctx, HSM_FID(HSM_PREFIX_KEY, id), NULL, &k), FK_KEY_EDAMAGED);
        assert_int_equal(fk_devrig_hsm_key(&g_dev, id, a, sizeof(a), &alen), FK_KEY_OK);
        assert_int_equal(alen, bits[i] / 8u);
    }
    /* The default description of key 0x30 is pico's, byte for byte (spec 3.11). */
    static const char k_c430[] =
        "a81f30020c00300904023438030307c010a006300402020100a106300430020400";
    uint8_t want[64], c4[64];
    size_t wn = fk_test_unhex(k_c430, want, sizeof(want));
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 0x30), &size), FK_STORE_OK);
    assert_int_equal(size, wn);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 0x30), 0, c4, size), FK_STORE_OK);
    assert_memory_equal(c4, want, wn);
    /* 512 bits: 02 02 02 00 in the A0 part; key 0x33 -> "51". */
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 0x33), 0, c4, size), FK_STORE_OK);
    assert_memory_equal(c4 + 8, "\x04\x02" "51", 4);
    assert_memory_equal(c4 + 17, "\xA0\x06\x30\x04\x02\x02\x02\x00", 8);
    /* No request for a secret key. */
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, 0x30), &size), FK_STORE_ENOENT);

    /* Two keys of one size differ; a new key under an id replaces the old. */
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 0x30, a, sizeof(a), &alen), FK_KEY_OK);
    assert_int_equal(send(0x00, 0x48, 0x30, 0xB2, NULL, 0, 0), SW_OK);
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 0x30, b, sizeof(b), &blen), FK_KEY_OK);
    assert_int_equal(alen, blen);
    assert_memory_not_equal(a, b, alen);

    /* The metadata: counter, algorithms, domain, 93 accepted (ignored). */
    static const uint8_t meta[] = {0x91, 0x04, 0x10, 0x11, 0x18, 0x99, 0x90, 0x04, 0x00, 0x00,
                                   0x01, 0x02, 0x92, 0x01, 0x00, 0x93, 0x01, 0x07};
    /* A domain that is not configured (only domain 0 is here) is refused
     * and nothing is written. */
    static const uint8_t meta_dom3[] = {0x92, 0x01, 0x03};
    assert_int_equal(send(0x00, 0x48, 0x40, 0xB0, meta_dom3, sizeof(meta_dom3), 0), 0x6A88);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_KEY, 0x40), &size), FK_STORE_ENOENT);
    assert_int_equal(send(0x00, 0x48, 0x40, 0xB0, meta, sizeof(meta), 0), SW_OK);
    fk_key_policy_t pol;
    uint32_t uses;
    assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, 0x40), &pol, &uses), FK_KEY_OK);
    assert_int_equal(pol.n_algs, 4);
    assert_memory_equal(pol.algs, "\x10\x11\x18\x99", 4);
    assert_true(pol.has_counter);
    assert_int_equal(pol.counter, 0x102);
    assert_int_equal(uses, 0x102);
    assert_int_equal(pol.domain, 0);
    /* CardContact's module sends exactly this (spec 9, row 28). */
    static const uint8_t emb[] = {0x91, 0x04, 0x10, 0x11, 0x18, 0x99};
    assert_int_equal(send(0x00, 0x48, 0x41, 0xB2, emb, sizeof(emb), 0), SW_OK);
}

static void test_generate_errors(void **state)
{
    (void)state;
    uint32_t size;
    assert_int_equal(send(0x00, 0x48, 0x00, 0xB0, NULL, 0, 0), 0x6A86); /* the device key's id */
    assert_int_equal(send(0x00, 0x48, 0x05, 0xB4, NULL, 0, 0), 0x6A86);
    assert_int_equal(send(0x00, 0x48, 0x05, 0x00, NULL, 0, 0), 0x6A86);
    static const uint8_t bad[][6] = {
        {0x94, 0x01, 0x00},                   /* unknown tag */
        {0x90, 0x03, 0x00, 0x00, 0x01},       /* counter not 4 bytes */
        {0x91, 0x00},                         /* empty list */
        {0x92, 0x02, 0x00, 0x01},             /* domain not 1 byte */
        {0x93, 0x00},                         /* wrap key id not 1 byte */
        {0x92, 0x01, 0x00, 0x92, 0x01, 0x01}, /* twice */
        {0x91, 0x05, 0x10},                   /* truncated */
    };
    static const size_t lens[] = {3, 5, 2, 4, 2, 6, 3};
    for (size_t i = 0; i < FK_ARRAY_SIZE(bad); i++)
        assert_int_equal(send(0x00, 0x48, 0x05, 0xB0, bad[i], lens[i], 0), 0x6A80);
    uint8_t long_list[20] = {0x91, 17};
    assert_int_equal(send(0x00, 0x48, 0x05, 0xB0, long_list, 19, 0), 0x6A80);
    /* No PIN in a new session. */
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(send(0x00, 0x48, 0x05, 0xB0, NULL, 0, 0), 0x6982);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_KEY, 5), &size), FK_STORE_ENOENT);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 5), &size), FK_STORE_ENOENT);
}

/* Option 0200: every new key gets a use counter by default. */
static void test_generate_default_counter(void **state)
{
    (void)state;
    assert_int_equal(initialize(0x0201), SW_OK);
    assert_int_equal(verify_pin(), SW_OK);
    assert_int_equal(send(0x00, 0x48, 0x01, 0xB0, NULL, 0, 0), SW_OK);
    const fk_applet_ctx_t ctx = hsm_ctx();
    fk_key_policy_t pol;
    uint32_t uses;
    assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, 1), &pol, &uses), FK_KEY_OK);
    assert_true(pol.has_counter);
    assert_int_equal(uses, 0xFFFFFFFEu);
}

/* 48 over a key pair: the key becomes a secret key, the pair's request
 * CE<id> goes, the description C4<id> stays (the host rewrites it). */
static void test_generate_over_key_pair(void **state)
{
    (void)state;
    uint8_t t[1024], c4[256];
    uint32_t ce_size, c4_size;
    size_t n = fk_devrig_ec_template(t, sizeof(t), FK_CURVE_SECP256R1, "UTTEST00001", NULL, 0);
    assert_int_equal(send(0x00, 0x46, 0x07, 0x00, t, n, 65536), SW_OK);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, 7), &ce_size), FK_STORE_OK);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 7), &c4_size), FK_STORE_OK);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 7), 0, c4, c4_size), FK_STORE_OK);
    assert_int_equal(cipher(7, 0x18, "x", 1), 0x6A81); /* an EC key */

    assert_int_equal(send(0x00, 0x48, 0x07, 0xB2, NULL, 0, 0), SW_OK);
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, 7), &ce_size), FK_STORE_ENOENT);
    uint8_t c4_after[256];
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 7), &size), FK_STORE_OK);
    assert_int_equal(size, c4_size);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_PRKD, 7), 0, c4_after, size), FK_STORE_OK);
    assert_memory_equal(c4, c4_after, size);
    assert_int_equal(cipher(7, 0x18, "x", 1), SW_OK);
    /* SIGN refuses the secret key (hsm_keys.c answers 6400 today: it parses
     * the material as a key pair before it looks at the kind). */
    uint8_t digest[32] = {1};
    assert_int_not_equal(send(0x80, 0x68, 0x07, 0x70, digest, 32, 65536), SW_OK);
}


/* ---- Generated keys: relations ------------------------------------------ */

/* 11 inverts 10 and 52 inverts 51 in every mode the key's size allows;
 * XTS with a 256-bit and a 512-bit key; CMAC is deterministic. */
static void test_generated_roundtrips(void **state)
{
    (void)state;
    static uint8_t data[300], enc[400], req[1024];
    uint8_t oid[16], iv[16] = {9, 8, 7}, aad[5] = {1, 2, 3, 4, 5}, mac[16];
    size_t n, enc_len;
    for (size_t i = 0; i < sizeof(data); i++) data[i] = (uint8_t)(i * 7 + 1);

    static const uint8_t p2s[] = {0xB0, 0xB1, 0xB2};
    static const uint8_t groups[] = {0x00, 0x14, 0x28};
    static const uint8_t modes[] = {1, 2, 3, 4, 9, 6, 7}; /* ECB CBC OFB CFB CTR GCM CCM */
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(send(0x00, 0x48, 0x20, p2s[k], NULL, 0, 0), SW_OK);
        assert_int_equal(cipher(0x20, 0x10, data, 64), SW_OK);
        assert_int_equal(out_len(), 64);
        memcpy(enc, g_out, 64);
        assert_memory_not_equal(enc, data, 64);
        assert_int_equal(cipher(0x20, 0x11, enc, 64), SW_OK);
        assert_int_equal(out_len(), 64);
        assert_memory_equal(g_out, data, 64);
        assert_int_equal(cipher(0x20, 0x18, data, 50), SW_OK);
        memcpy(mac, g_out, 16);
        assert_int_equal(cipher(0x20, 0x18, data, 50), SW_OK);
        assert_memory_equal(g_out, mac, 16);

        for (size_t m = 0; m < sizeof(modes); m++) {
            const bool block = modes[m] <= 2, aead = modes[m] == 6 || modes[m] == 7;
            const size_t len = block ? 64 : 37;
            const size_t ivl = modes[m] == 1 ? 0 : aead ? 12 : 16;
            aes_oid(oid, (uint8_t)(groups[k] + modes[m]));
            n = ext(req, sizeof(req), oid, 9, data, len, ivl ? iv : NULL, ivl, aead ? aad : NULL, 5);
            assert_int_equal(cipher(0x20, 0x51, req, n), SW_OK);
            enc_len = out_len();
            assert_int_equal(enc_len, len + (aead ? 16 : 0));
            memcpy(enc, g_out, enc_len);
            n = ext(req, sizeof(req), oid, 9, enc, enc_len, ivl ? iv : NULL, ivl, aead ? aad : NULL, 5);
            assert_int_equal(cipher(0x20, 0x52, req, n), SW_OK);
            assert_int_equal(out_len(), len);
            assert_memory_equal(g_out, data, len);
        }
    }
    /* XTS-AES-128 with the 256-bit key, XTS-AES-256 with a 512-bit one. */
    static const uint8_t xts[] = {0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01, 0x01};
    assert_int_equal(send(0x00, 0x48, 0x21, 0xB3, NULL, 0, 0), SW_OK);
    for (uint8_t id = 0x20; id <= 0x21; id++) {
        memcpy(oid, xts, sizeof(xts));
        oid[8] = id == 0x20 ? 1 : 2;
        n = ext(req, sizeof(req), oid, 9, data, 45, iv, 16, NULL, 0);
        assert_int_equal(cipher(id, 0x51, req, n), SW_OK);
        memcpy(enc, g_out, 45);
        n = ext(req, sizeof(req), oid, 9, enc, 45, iv, 16, NULL, 0);
        assert_int_equal(cipher(id, 0x52, req, n), SW_OK);
        assert_memory_equal(g_out, data, 45);
    }
    /* The 512-bit key does nothing else that needs an AES key. */
    assert_int_equal(cipher(0x21, 0x10, data, 16), 0x6A81);
    assert_int_equal(cipher(0x21, 0x18, data, 16), 0x6A81);
}

/* ---- P2 10, 11, 18, 99 against known answers ---------------------------- */

static void test_basic_forms(void **state)
{
    (void)state;
    static const char *const keys[3] = {K128, K192, K256};
    static const char *const cbc[3] = {
        "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
        "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
        "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd",
        "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"};
    static const char *const cmac[3][4] = {
        {"bb1d6929e95937287fa37d129b756746", "070a16b46b4d4144f79bdd9dd04a287c",
         "dfa66747de9ae63030ca32611497c827", "51f0bebf7e3b9d92fc49741779363cfe"},
        {"d17ddf46adaacde531cac483de7a9367", "9e99a7bf31e710900662f65e617c5184",
         "8a1de5be2eb31aad089a82e6ee908b0e", "a1d5df0eed790f794d77589659f39a11"},
        {"028962f61b7bf89efc6b551f4667d983", "28a7023f452e8f82bd4bf28d8c37c35c",
         "aaf3d8f1de5640c232f5b169b9c911e6", "e1992190549f6ed5696a2c056c315410"}};
    static const size_t mac_lens[4] = {0, 16, 40, 64};
    uint8_t pt[64], x[64], ct[64], iv[16];
    fk_test_unhex(SP38A_PT, pt, sizeof(pt));
    fk_test_unhex(SP38A_IV, iv, sizeof(iv));

    for (uint8_t k = 0; k < 3; k++) {
        put_aes(ID_128 + k, keys[k]);
        /* SP 800-38A CBC: IV 0 on the card, the IV folded into the first
         * block by the host (as CardContact's module does). */
        memcpy(x, pt, 64);
        for (size_t i = 0; i < 16; i++) x[i] ^= iv[i];
        assert_int_equal(cipher(ID_128 + k, 0x10, x, 64), SW_OK);
        expect_out(cbc[k]);
        fk_test_unhex(cbc[k], ct, sizeof(ct));
        assert_int_equal(cipher(ID_128 + k, 0x11, ct, 64), SW_OK);
        assert_int_equal(out_len(), 64);
        assert_memory_equal(g_out, x, 64);
        /* RFC 4493 / SP 800-38B CMAC (the empty message too). */
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(cipher(ID_128 + k, 0x18, mac_lens[i] ? pt : NULL, mac_lens[i]), SW_OK);
            expect_out(cmac[k][i]);
        }
    }
    /* 99: HKDF-SHA-256 (ikm = key, no salt, info = data), output as long as
     * the data. Expected bytes computed with python3-cryptography. */
    uint8_t info[32];
    for (size_t i = 0; i < 32; i++) info[i] = (uint8_t)i;
    assert_int_equal(cipher(ID_128, 0x99, info, 32), SW_OK);
    expect_out("7a98a7a58c3da9f030c85117990b4ca724f775a451d626532727d9d92d589115");
    assert_int_equal(cipher(ID_128, 0x99, "fkdrv", 5), SW_OK);
    expect_out("f9bfd56b7b");
    /* Without Le (case 3) the answer is the status alone (docs/hsm.md). */
    assert_int_equal(send(0x80, 0x78, ID_128, 0x18, pt, 16, 0), SW_OK);
    assert_int_equal(out_len(), 0);
    /* A short Le smaller than the output: 61xx and GET RESPONSE. */
    assert_int_equal(send(0x80, 0x78, ID_128, 0x10, x, 64, 16), 0x6130);
    assert_int_equal(out_len(), 16);
}

/* ---- The extended form (51/52) against known answers -------------------- */

typedef struct mode_kat {
    uint8_t oid_off; /* within the key size's group */
    const char *iv;
    const char *ct[3];
} mode_kat_t;

static void test_ext_aes_sp800_38a(void **state)
{
    (void)state;
    static const mode_kat_t kats[] = {
        {1, NULL,
         {"3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
          "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4",
          "bd334f1d6e45f25ff712a214571fa5cc974104846d0ad3ad7734ecb3ecee4eef"
          "ef7afd2270e2e60adce0ba2face6444e9a4b41ba738d6c72fb16691603c18e0e",
          "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
          "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7"}},
        {2, SP38A_IV,
         {"7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
          "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
          "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"
          "571b242012fb7ae07fa9baac3df102e008b0e27988598881d920a9e64f5615cd",
          "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
          "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"}},
        {3, SP38A_IV,
         {"3b3fd92eb72dad20333449f8e83cfb4a7789508d16918f03f53c52dac54ed825"
          "9740051e9c5fecf64344f7a82260edcc304c6528f659c77866a510d9c1d6ae5e",
          "cdc80d6fddf18cab34c25909c99a4174fcc28b8d4c63837c09e81700c1100401"
          "8d9a9aeac0f6596f559c6d4daf59a5f26d9f200857ca6c3e9cac524bd9acc92a",
          "dc7e84bfda79164b7ecd8486985d38604febdc6740d20b3ac88f6ad82a4fb08d"
          "71ab47a086e86eedf39d1c5bba97c4080126141d67f37be8538f5a8be740e484"}},
        {4, SP38A_IV,
         {"3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b"
          "26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6",
          "cdc80d6fddf18cab34c25909c99a417467ce7f7f81173621961a2b70171d3d7a"
          "2e1e8a1dd59b88b1c8e60fed1efac4c9c05f9f9ca9834fa042ae8fba584b09ff",
          "dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b"
          "df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471"}},
        {9, SP38A_CTR,
         {"874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
          "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
          "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94"
          "1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050",
          "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
          "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"}},
    };
    static const char *const keys[3] = {K128, K192, K256};
    static const uint8_t groups[3] = {0x00, 0x14, 0x28};
    static uint8_t req[512];
    uint8_t pt[64], ct[64], iv[16], oid[9];
    fk_test_unhex(SP38A_PT, pt, sizeof(pt));

    for (uint8_t k = 0; k < 3; k++) {
        put_aes(ID_128 + k, keys[k]);
        for (size_t m = 0; m < FK_ARRAY_SIZE(kats); m++) {
            aes_oid(oid, (uint8_t)(groups[k] + kats[m].oid_off));
            size_t ivl = kats[m].iv ? fk_test_unhex(kats[m].iv, iv, sizeof(iv)) : 0;
            fk_test_unhex(kats[m].ct[k], ct, sizeof(ct));
            size_t n = ext(req, sizeof(req), oid, 9, pt, 64, ivl ? iv : NULL, ivl, NULL, 0);
            assert_int_equal(cipher(ID_128 + k, 0x51, req, n), SW_OK);
            expect_out(kats[m].ct[k]);
            n = ext(req, sizeof(req), oid, 9, ct, 64, ivl ? iv : NULL, ivl, NULL, 0);
            assert_int_equal(cipher(ID_128 + k, 0x52, req, n), SW_OK);
            assert_int_equal(out_len(), 64);
            assert_memory_equal(g_out, pt, 64);
        }
    }
    /* No 82: a zero IV, the same as 82 with 16 zero bytes. */
    uint8_t zero[16] = {0}, first[64];
    aes_oid(oid, 0x02);
    size_t n = ext(req, sizeof(req), oid, 9, pt, 64, NULL, 0, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), SW_OK);
    memcpy(first, g_out, 64);
    n = ext(req, sizeof(req), oid, 9, pt, 64, zero, 16, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), SW_OK);
    assert_memory_equal(g_out, first, 64);
    /* ... and the same as P2 10. */
    assert_int_equal(cipher(ID_128, 0x10, pt, 64), SW_OK);
    assert_memory_equal(g_out, first, 64);
}

static void test_ext_xts(void **state)
{
    (void)state;
    static uint8_t req[256];
    uint8_t oid[9] = {0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01, 0x01}, tweak[16], pt[48];
    /* IEEE 1619 vectors 15 and 18 (ciphertext stealing), XTS-AES-128: the
     * key is Key1 || Key2, an AES-256 key object. */
    put_aes(ID_XTS128, "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0");
    fk_test_unhex("9a785634120000000000000000000000", tweak, sizeof(tweak));
    fk_test_unhex("000102030405060708090a0b0c0d0e0f10111213", pt, sizeof(pt));
    size_t n = ext(req, sizeof(req), oid, 9, pt, 17, tweak, 16, NULL, 0);
    assert_int_equal(cipher(ID_XTS128, 0x51, req, n), SW_OK);
    expect_out("6c1625db4671522d3d7599601de7ca09ed");
    n = ext(req, sizeof(req), oid, 9, pt, 20, tweak, 16, NULL, 0);
    assert_int_equal(cipher(ID_XTS128, 0x51, req, n), SW_OK);
    expect_out("9d84c813f719aa2c7be3f66171c7c5c2edbf9dac");
    uint8_t ct[20];
    memcpy(ct, g_out, 20);
    n = ext(req, sizeof(req), oid, 9, ct, 20, tweak, 16, NULL, 0);
    assert_int_equal(cipher(ID_XTS128, 0x52, req, n), SW_OK);
    assert_memory_equal(g_out, pt, 20);
    /* IEEE 1619 vector 2: the tweak 3333333333 and no more. */
    put_aes(ID_XTS128, "1111111111111111111111111111111122222222222222222222222222222222");
    fk_test_unhex("33333333330000000000000000000000", tweak, sizeof(tweak));
    memset(pt, 0x44, 32);
    n = ext(req, sizeof(req), oid, 9, pt, 32, tweak, 16, NULL, 0);
    assert_int_equal(cipher(ID_XTS128, 0x51, req, n), SW_OK);
    expect_out("c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0");
    /* NIST XTSVS XTSGenAES256 count 113: a 512-bit key. */
    put_aes(ID_512, "a8647d60a8d1bec3305178f11fd3e193ef0bd62354815bb1d9b3fcc555a7a8ae"
                    "dc7861a9a7242348a1890498e845bd4101d75899db5087205f9f3386a82dd63d");
    fk_test_unhex("878013b84337862ee5fe8558ec03ce8e", tweak, sizeof(tweak));
    fk_test_unhex("ff5574a4a0e796c53d2fb8b859401fe624c26d6c9ad53adfcb0bf5b5deda9745"
          "e06133c5477f51e9ccc2e2294abf3107",
          pt, sizeof(pt));
    oid[8] = 2;
    n = ext(req, sizeof(req), oid, 9, pt, 48, tweak, 16, NULL, 0);
    assert_int_equal(cipher(ID_512, 0x51, req, n), SW_OK);
    expect_out("0d555965bf178dea351710b48e9d88005a2b4c26439c923ea2a4e5124da610d3"
               "5f7bbdd3e0495b5ea52807bc726ba72c");
    /* The OID's key size must be the key's. */
    oid[8] = 1;
    n = ext(req, sizeof(req), oid, 9, pt, 48, tweak, 16, NULL, 0);
    assert_int_equal(cipher(ID_512, 0x51, req, n), 0x6A81);
}

static void test_ext_aead(void **state)
{
    (void)state;
    static uint8_t req[512], ct_tag[160];
    uint8_t oid[11], nonce[64], aad[20], pt[64];
    const size_t al = fk_test_unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, sizeof(aad));
    fk_test_unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
          pt, sizeof(pt));
    size_t nl = fk_test_unhex("cafebabefacedbaddecaf888", nonce, sizeof(nonce));

    /* GCM test case 4 (AES-128) and 16 (AES-256): 60 bytes with AAD. */
    put_aes(ID_128, "feffe9928665731c6d6a8f9467308308");
    put_aes(ID_256, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    aes_oid(oid, 0x06);
    size_t n = ext(req, sizeof(req), oid, 9, pt, 60, nonce, nl, aad, al);
    assert_int_equal(cipher(ID_128, 0x51, req, n), SW_OK);
    expect_out("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
               "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
               "5bc94fbc3221a5db94fae95ae7121a47");
    memcpy(ct_tag, g_out, 76);
    n = ext(req, sizeof(req), oid, 9, ct_tag, 76, nonce, nl, aad, al);
    assert_int_equal(cipher(ID_128, 0x52, req, n), SW_OK);
    assert_int_equal(out_len(), 60);
    assert_memory_equal(g_out, pt, 60);
    /* A flipped tag bit, AAD byte or nonce byte: 6A80 and nothing else. */
    for (int what = 0; what < 3; what++) {
        uint8_t *victim = what == 0 ? ct_tag + 75 : what == 1 ? aad : nonce;
        *victim ^= 0x01;
        n = ext(req, sizeof(req), oid, 9, ct_tag, 76, nonce, nl, aad, al);
        assert_int_equal(cipher(ID_128, 0x52, req, n), 0x6A80);
        assert_int_equal(out_len(), 0);
        *victim ^= 0x01;
    }
    aes_oid(oid, 0x2E);
    n = ext(req, sizeof(req), oid, 9, pt, 60, nonce, nl, aad, al);
    assert_int_equal(cipher(ID_256, 0x51, req, n), SW_OK);
    expect_out("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
               "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
               "76fc6ece0f4e1768cddf8853bb2d551b");
    /* GCM test case 6: a 60-byte nonce. */
    nl = fk_test_unhex("9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
               "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b",
               nonce, sizeof(nonce));
    aes_oid(oid, 0x06);
    n = ext(req, sizeof(req), oid, 9, pt, 60, nonce, nl, aad, al);
    assert_int_equal(cipher(ID_128, 0x51, req, n), SW_OK);
    expect_out("8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7"
               "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5"
               "619cc5aefffe0bfa462af43c1699d050");

    /* CCM with a 16-byte tag: no published vector has one; the expected
     * bytes were computed with python3-cryptography (OpenSSL). */
    put_aes(ID_128, K128);
    nl = fk_test_unhex("cafebabefacedbaddecaf888", nonce, sizeof(nonce));
    aes_oid(oid, 0x07);
    n = ext(req, sizeof(req), oid, 9, pt, 64, nonce, nl, aad, al);
    assert_int_equal(cipher(ID_128, 0x51, req, n), SW_OK);
    expect_out("534d4416f1192ad1673c7c29c46aad3a276edd769eacc944a548446314cbb599"
               "01afb304d4ecebfa3dd2a7939851a0d92ac5aec1a07e1df616b38b5f55422198"
               "81a7d777e102ae05b78b2098693f7bbd");
    memcpy(ct_tag, g_out, 80);
    ct_tag[3] ^= 0x80;
    n = ext(req, sizeof(req), oid, 9, ct_tag, 80, nonce, nl, aad, al);
    assert_int_equal(cipher(ID_128, 0x52, req, n), 0x6A80);
    assert_int_equal(out_len(), 0);

    /* ChaCha20-Poly1305, RFC 8439 section 2.8.2 (a 256-bit key). */
    static const char sunscreen[] =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
        "future, sunscreen would be it.";
    static const uint8_t chacha[11] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x12};
    put_aes(ID_256, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    nl = fk_test_unhex("070000004041424344454647", nonce, sizeof(nonce));
    uint8_t caad[12];
    fk_test_unhex("50515253c0c1c2c3c4c5c6c7", caad, sizeof(caad));
    n = ext(req, sizeof(req), chacha, 11, sunscreen, 114, nonce, nl, caad, 12);
    assert_int_equal(cipher(ID_256, 0x51, req, n), SW_OK);
    expect_out("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
               "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
               "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
               "3ff4def08e4b7a9de576d26586cec64b6116"
               "1ae10b594f09e26a7e902ecbd0600691");
    memcpy(ct_tag, g_out, 130);
    n = ext(req, sizeof(req), chacha, 11, ct_tag, 130, nonce, nl, caad, 12);
    assert_int_equal(cipher(ID_256, 0x52, req, n), SW_OK);
    assert_int_equal(out_len(), 114);
    assert_memory_equal(g_out, sunscreen, 114);
    ct_tag[0] ^= 1;
    n = ext(req, sizeof(req), chacha, 11, ct_tag, 130, nonce, nl, caad, 12);
    assert_int_equal(cipher(ID_256, 0x52, req, n), 0x6A80);
    assert_int_equal(out_len(), 0);
}

static const uint8_t k_oid_hmac_sha1[8] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x02, 0x07};

static void test_ext_hmac(void **state)
{
    (void)state;
    static uint8_t req[256];
    uint8_t oid[8];
    memcpy(oid, k_oid_hmac_sha1, 8);
    /* RFC 2202 / RFC 4231 test case 2 with the generic-secret key "Jefe". */
    put_key(0x50, FK_KEY_HMAC, (const uint8_t *)"Jefe", 4, NULL, 0, -1);
    static const char *const want[5] = {
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
        "8e2240ca5e69e2c78b3239ecfab21649",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"};
    for (uint8_t h = 0; h < 5; h++) {
        oid[7] = (uint8_t)(0x07 + h);
        size_t n = ext(req, sizeof(req), oid, 8, "what do ya want for nothing?", 28, NULL, 0, NULL, 0);
        assert_int_equal(cipher(0x50, 0x51, req, n), SW_OK);
        expect_out(want[h]);
        /* A one-way function: not in the decrypt direction. */
        assert_int_equal(cipher(0x50, 0x52, req, n), 0x6A81);
    }
    /* RFC 4231 test case 1 with a 20-byte generic secret. */
    uint8_t k0b[20];
    memset(k0b, 0x0b, sizeof(k0b));
    put_key(0x51, FK_KEY_HMAC, k0b, 20, NULL, 0, -1);
    oid[7] = 0x09;
    size_t n = ext(req, sizeof(req), oid, 8, "Hi There", 8, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x51, 0x51, req, n), SW_OK);
    expect_out("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* An empty message is a message. */
    n = ext(req, sizeof(req), oid, 8, "", 0, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x51, 0x51, req, n), SW_OK);
    assert_int_equal(out_len(), 32);
}

static void test_ext_hkdf(void **state)
{
    (void)state;
    static uint8_t req[256];
    uint8_t ikm[22], salt[13], info[10];
    uint8_t oid[11] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x1C};
    memset(ikm, 0x0b, sizeof(ikm));
    for (size_t i = 0; i < 13; i++) salt[i] = (uint8_t)i;
    for (size_t i = 0; i < 10; i++) info[i] = (uint8_t)(0xf0 + i);
    /* RFC 5869 A.1: IKM 22 x 0b as a generic secret, info in 81, salt in
     * 82, L = Le = 42. */
    put_key(0x52, FK_KEY_HMAC, ikm, 22, NULL, 0, -1);
    size_t n = ext(req, sizeof(req), oid, 11, info, 10, salt, 13, NULL, 0);
    assert_int_equal(cipher_le(0x52, 0x51, req, n, 42), SW_OK);
    expect_out("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    /* Le left to the card (0000 or short 00): the hash length. */
    assert_int_equal(cipher(0x52, 0x51, req, n), SW_OK);
    expect_out("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    assert_int_equal(send(0x80, 0x78, 0x52, 0x51, req, n, 256), SW_OK);
    assert_int_equal(out_len(), 32);
    /* 255 x 32 bytes at most. */
    assert_int_equal(cipher_le(0x52, 0x51, req, n, 255 * 32), SW_OK);
    assert_int_equal(out_len(), 255 * 32);
    assert_int_equal(cipher_le(0x52, 0x51, req, n, 255 * 32 + 1), 0x6700);
    /* 1D is SHA-256 as well: the OID Pico HSM's tools send for it. */
    oid[10] = 0x1D;
    n = ext(req, sizeof(req), oid, 11, info, 10, salt, 13, NULL, 0);
    assert_int_equal(cipher_le(0x52, 0x51, req, n, 42), SW_OK);
    expect_out("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    /* Nothing beyond 1F. */
    oid[10] = 0x20;
    n = ext(req, sizeof(req), oid, 11, info, 10, salt, 13, NULL, 0);
    assert_int_equal(cipher(0x52, 0x51, req, n), 0x6A81);

    /* SHA-384 (1E) and SHA-512 (1F) with an AES-256 key: computed with
     * python3-cryptography (RFC 5869 has no vectors for them). */
    put_aes(ID_256, K256);
    oid[10] = 0x1E;
    n = ext(req, sizeof(req), oid, 11, info, 10, salt, 13, NULL, 0);
    assert_int_equal(cipher(ID_256, 0x51, req, n), SW_OK);
    expect_out("d62f8096fd5ec3389afb6c4db0de8bed1ebfaa9f422b7bb2bda4e400c3f36d2f"
               "be3ba313bac486db5e944497cc9bbe8a");
    oid[10] = 0x1F;
    n = ext(req, sizeof(req), oid, 11, info, 10, salt, 13, NULL, 0);
    assert_int_equal(cipher_le(ID_256, 0x51, req, n, 100), SW_OK);
    expect_out("a8d2c9848a42b72ed478430656930bfac3071a5d1f03f8350d851e13198f812e"
               "04da758d1f12a735d5e869660e22177567b85d60ac8c5e839efac3c5ced5d94e"
               "0a36fb59cbd7b72a216ee4b7ea80893f22b1c0125f56f0a08c49e12c766196b4"
               "c181ba4f");
}

static unsigned g_keepalives;
static void count_keepalive(void *arg)
{
    (void)arg;
    g_keepalives++;
}

/* PBKDF2-params as pico's client sends them (no outer SEQUENCE) or as
 * RFC 8018 writes them (with it). */
static size_t pbkdf2_params(uint8_t *p, const char *salt, uint32_t iterations, int key_len,
                            int prf_last, bool sequence, bool null_param)
{
    uint8_t body[96];
    fk_rbuf_t r = {body, 0, sizeof(body)};
    assert_true(fk_tlv_put(&r, 0x04, salt, strlen(salt)));
    uint8_t it[5] = {0};
    size_t il = 0;
    if (iterations >> 24) it[il++] = (uint8_t)(iterations >> 24);
    if (iterations >> 16) it[il++] = (uint8_t)(iterations >> 16);
    if (iterations >> 8) it[il++] = (uint8_t)(iterations >> 8);
    it[il++] = (uint8_t)iterations;
    if (it[0] & 0x80) {
        memmove(it + 1, it, il++);
        it[0] = 0;
    }
    assert_true(fk_tlv_put(&r, 0x02, it, il));
    if (key_len > 0) {
        uint8_t kl = (uint8_t)key_len;
        assert_true(fk_tlv_put(&r, 0x02, &kl, 1));
    }
    if (prf_last > 0) {
        uint8_t alg[14];
        fk_rbuf_t a = {alg, 0, sizeof(alg)};
        uint8_t oid[8];
        memcpy(oid, k_oid_hmac_sha1, 8);
        oid[7] = (uint8_t)prf_last;
        assert_true(fk_tlv_put(&a, 0x06, oid, 8));
        if (null_param) assert_true(fk_tlv_put(&a, 0x05, NULL, 0));
        assert_true(fk_tlv_put(&r, 0x30, alg, a.len));
    }
    fk_rbuf_t out = {p, 0, 128};
    if (sequence) assert_true(fk_tlv_put(&out, 0x30, body, r.len));
    else assert_true(fk_rbuf_put(&out, body, r.len));
    return out.len;
}

static void test_ext_pbkdf2(void **state)
{
    (void)state;
    static uint8_t req[256];
    uint8_t params[128];
    static const uint8_t oid[9] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C};
    /* RFC 6070: P = "password" (a generic secret), S = "salt". */
    put_key(0x53, FK_KEY_HMAC, (const uint8_t *)"password", 8, NULL, 0, -1);
    size_t pl = pbkdf2_params(params, "salt", 1, 20, -1, false, false);
    size_t n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), SW_OK);
    expect_out("0c60c80f961f0e71f3a9b524af6012062fe037a6");
    /* keyLength absent: Le, else 32 bytes. */
    pl = pbkdf2_params(params, "salt", 2, -1, 0x07, true, true);
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher_le(0x53, 0x51, req, n, 20), SW_OK);
    expect_out("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    assert_int_equal(cipher(0x53, 0x51, req, n), SW_OK);
    assert_int_equal(out_len(), 32);
    assert_memory_equal(g_out, "\xea\x6c\x01\x4d\xc7\x2d\x6f\x8c", 8);
    /* 4096 iterations, and the keepalive every 1024 of them. */
    fk_card_set_keepalive(&g_dev.card, count_keepalive, NULL);
    g_keepalives = 0;
    pl = pbkdf2_params(params, "salt", 4096, 20, 0x07, false, false);
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), SW_OK);
    expect_out("4b007901b765489abead49d926f721d065a429c1");
    assert_int_equal(g_keepalives, 4095u / FK_PBKDF2_KEEPALIVE);
    fk_card_set_keepalive(&g_dev.card, NULL, NULL);
    /* RFC 7914 section 11: HMAC-SHA-256, P = "passwd", 64 bytes. */
    put_key(0x54, FK_KEY_HMAC, (const uint8_t *)"passwd", 6, NULL, 0, -1);
    pl = pbkdf2_params(params, "salt", 1, 64, 0x09, true, false);
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x54, 0x51, req, n), SW_OK);
    expect_out("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
               "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    /* Bounds: 0 or more than 1,000,000 iterations, an unknown PRF, trailing
     * bytes, a keyLength of 0. */
    pl = pbkdf2_params(params, "salt", 0, 20, -1, false, false);
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), 0x6A80);
    pl = pbkdf2_params(params, "salt", 1000001, 20, -1, false, false);
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), 0x6A80);
    pl = pbkdf2_params(params, "salt", 1, 20, 0x0C, false, false);
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), 0x6A81);
    pl = pbkdf2_params(params, "salt", 1, 20, -1, false, false);
    params[pl++] = 0x00;
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), 0x6A80);
    pl = pbkdf2_params(params, "salt", 1, 0, -1, false, false);
    params[pl - 1] = 0x00; /* keyLength 0 written as 02 01 00 */
    n = ext(req, sizeof(req), oid, 9, params, pl, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x53, 0x51, req, n), 0x6A80);
}

/* PBES2-params: 30 { 30 { 06 id-PBKDF2, PBKDF2-params }, 30 { 06 aes-CBC, 04 IV } },
 * or their content alone (sequence false). */
static size_t pbes2_params(uint8_t *p, const char *salt, uint32_t iterations, int key_len,
                           int prf_last, uint8_t aes_last, size_t iv_len, bool sequence)
{
    static const uint8_t k_pbkdf2[9] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C};
    uint8_t kdf_params[128], body[256], iv[16], oid[9];
    for (size_t i = 0; i < sizeof(iv); i++) iv[i] = (uint8_t)i;
    size_t kl = pbkdf2_params(kdf_params, salt, iterations, key_len, prf_last, true, false);
    fk_rbuf_t r = {body, 0, sizeof(body)};
    uint8_t kdf[160];
    fk_rbuf_t k = {kdf, 0, sizeof(kdf)};
    assert_true(fk_tlv_put(&k, 0x06, k_pbkdf2, 9) && fk_rbuf_put(&k, kdf_params, kl));
    assert_true(fk_tlv_put(&r, 0x30, kdf, k.len));
    uint8_t enc[40];
    fk_rbuf_t e = {enc, 0, sizeof(enc)};
    aes_oid(oid, aes_last);
    assert_true(fk_tlv_put(&e, 0x06, oid, 9) && fk_tlv_put(&e, 0x04, iv, iv_len));
    assert_true(fk_tlv_put(&r, 0x30, enc, e.len));
    fk_rbuf_t out = {p, 0, 300};
    if (sequence) assert_true(fk_tlv_put(&out, 0x30, body, r.len));
    else assert_true(fk_rbuf_put(&out, body, r.len));
    return out.len;
}

/* PBES2 (PBKDF2 + AES-CBC with PKCS#7 padding) with the password "password"
 * as a generic secret. The expected bytes were computed with
 * python3-cryptography (PBKDF2HMAC, then AES-CBC with its PKCS#7 padder). */
static void test_ext_pbes2(void **state)
{
    (void)state;
    static uint8_t req[512];
    static const uint8_t oid[9] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D};
    static const char fox[] = "The quick brown fox jumps over the lazy dog";
    uint8_t params[300], ct[64];
    put_key(0x55, FK_KEY_HMAC, (const uint8_t *)"password", 8, NULL, 0, -1);

    /* HMAC-SHA-256, 1000 iterations, AES-128-CBC, the SEQUENCE form. */
    size_t pl = pbes2_params(params, "saltsalt", 1000, -1, 0x09, 0x02, 16, true);
    size_t n = ext(req, sizeof(req), oid, 9, fox, 43, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), SW_OK);
    expect_out("bb6309dc832973a70d4f5cb15f750004799ad61b89eaff42eaa6951cd858c38f"
               "8d283a523b699dd49d3937e63946a676");
    memcpy(ct, g_out, 48);
    n = ext(req, sizeof(req), oid, 9, ct, 48, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x52, req, n), SW_OK);
    assert_int_equal(out_len(), 43);
    assert_memory_equal(g_out, fox, 43);
    /* Paddings that do not verify: a last byte 00, 11, and 02 after 03: 6A80,
     * nothing out. Sixteen bytes of 10 are an empty plaintext. */
    static const char *const bad[] = {"d332fa1b221c0d388b90c0c44326e5d1", "152840860afcced2322755d0eb47b6a5",
                                      "af54d0702e8a85d8ac76c31487632106"};
    for (size_t i = 0; i < 3; i++) {
        fk_test_unhex(bad[i], ct, sizeof(ct));
        n = ext(req, sizeof(req), oid, 9, ct, 16, NULL, 0, params, pl);
        assert_int_equal(cipher(0x55, 0x52, req, n), 0x6A80);
        assert_int_equal(out_len(), 0);
    }
    fk_test_unhex("d6618dc22095fd700798e1f951826f2a", ct, sizeof(ct));
    n = ext(req, sizeof(req), oid, 9, ct, 16, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x52, req, n), SW_OK);
    assert_int_equal(out_len(), 0);

    /* The default PRF (HMAC-SHA-1), keyLength 32 given, AES-256-CBC, the
     * content form: the empty message and a whole block. */
    pl = pbes2_params(params, "saltsalt", 2, 32, -1, 0x2A, 16, false);
    n = ext(req, sizeof(req), oid, 9, "", 0, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), SW_OK);
    expect_out("7bc1fcc56ac367bbe6e7b1ed8c86f87a");
    uint8_t block[16];
    for (size_t i = 0; i < 16; i++) block[i] = (uint8_t)i;
    n = ext(req, sizeof(req), oid, 9, block, 16, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), SW_OK);
    expect_out("0e1ec96ed3db0a0397adf784d5dc30df4158270487bd7dcf09ce2859c4c27d11");

    /* Refusals: a keyLength that is not the scheme's, a scheme or KDF we do
     * not have, an IV of 15 bytes, no parameters, an IV in 82, a
     * ciphertext not of whole blocks. */
    pl = pbes2_params(params, "saltsalt", 2, 16, -1, 0x2A, 16, true);
    n = ext(req, sizeof(req), oid, 9, fox, 43, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), 0x6A80);
    pl = pbes2_params(params, "saltsalt", 2, -1, -1, 0x06, 16, true); /* AES-GCM */
    n = ext(req, sizeof(req), oid, 9, fox, 43, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), 0x6A81);
    pl = pbes2_params(params, "saltsalt", 2, -1, -1, 0x02, 16, true);
    uint8_t *kdf_oid = memchr(params, 0x0C, pl); /* id-PBKDF2's last byte */
    assert_non_null(kdf_oid);
    *kdf_oid = 0x0B;
    n = ext(req, sizeof(req), oid, 9, fox, 43, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), 0x6A81);
    pl = pbes2_params(params, "saltsalt", 2, -1, -1, 0x02, 15, true);
    n = ext(req, sizeof(req), oid, 9, fox, 43, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), 0x6A80);
    pl = pbes2_params(params, "saltsalt", 2, -1, -1, 0x02, 16, true);
    n = ext(req, sizeof(req), oid, 9, fox, 43, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x55, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, fox, 43, "iv", 2, params, pl);
    assert_int_equal(cipher(0x55, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, ct, 17, NULL, 0, params, pl);
    assert_int_equal(cipher(0x55, 0x52, req, n), 0x6A80);
}

static void test_ext_x963(void **state)
{
    (void)state;
    static uint8_t req[256];
    static const uint8_t oid[7] = {0x2B, 0x81, 0x05, 0x10, 0x86, 0x48, 0x3F};
    uint8_t hash_oid[10];
    /* NIST CAVS ansx963_2001 [SHA-1] and [SHA-256], Z of 192 bits (an
     * AES-192 key object), no SharedInfo, 128 bits out (Le = 16). The hash
     * is named by its hmacWithSHAx OID in 81, as pico's client sends it. */
    put_aes(ID_192, "1c7d7b5f0597b03d06a018466ed1a93e30ed4b04dc64ccdd");
    size_t n = ext(req, sizeof(req), oid, 7, k_oid_hmac_sha1, 8, NULL, 0, NULL, 0);
    assert_int_equal(cipher_le(ID_192, 0x51, req, n, 16), SW_OK);
    expect_out("bf71dffd8f4d99223936beb46fee8ccc");
    put_aes(ID_192, "96c05619d56c328ab95fe84b18264b08725b85e33fd34f08");
    memcpy(hash_oid, k_oid_hmac_sha1, 8);
    hash_oid[7] = 0x09;
    n = ext(req, sizeof(req), oid, 7, hash_oid, 8, NULL, 0, NULL, 0);
    assert_int_equal(cipher_le(ID_192, 0x51, req, n, 16), SW_OK);
    expect_out("443024c3dae66b95e6f5670601558f71");
    /* The hash OID as a whole 06 TLV is the same; without Le: 32 bytes,
     * whose first 16 are the same. */
    uint8_t tlv[10] = {0x06, 0x08};
    memcpy(tlv + 2, hash_oid, 8);
    n = ext(req, sizeof(req), oid, 7, tlv, 10, NULL, 0, NULL, 0);
    assert_int_equal(cipher(ID_192, 0x51, req, n), SW_OK);
    assert_int_equal(out_len(), 32);
    assert_memory_equal(g_out, "\x44\x30\x24\xc3\xda\xe6\x6b\x95", 8);
    /* No hash, a hash OID that is not an HMAC one, an IV: 6A80. */
    n = ext(req, sizeof(req), oid, 7, NULL, 0, NULL, 0, "si", 2);
    assert_int_equal(cipher(ID_192, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 7, oid, 7, NULL, 0, NULL, 0);
    assert_int_equal(cipher(ID_192, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 7, hash_oid, 8, "iv", 2, NULL, 0);
    assert_int_equal(cipher(ID_192, 0x51, req, n), 0x6A80);
}

/* ---- Refusals ------------------------------------------------------------ */

static void test_cipher_errors(void **state)
{
    (void)state;
    static uint8_t req[256];
    uint8_t oid[11], data[64] = {0}, t[1024];
    put_aes(ID_128, K128);
    put_aes(ID_256, K256);

    assert_int_equal(cipher(ID_128, 0x12, data, 16), 0x6A86);      /* unknown P2 */
    assert_int_equal(cipher(ID_128, 0x10, NULL, 0), 0x6700);       /* no data */
    assert_int_equal(cipher(ID_128, 0x10, data, 15), 0x6A80);      /* not blocks */
    assert_int_equal(cipher(ID_128, 0x11, data, 17), 0x6A80);
    assert_int_equal(cipher(0x77, 0x10, data, 16), 0x6A82);        /* no key */
    assert_int_equal(cipher(0x00, 0x10, data, 16), 0x6982);        /* the device key */
    size_t n = fk_devrig_ec_template(t, sizeof(t), FK_CURVE_SECP256R1, "UTTEST00001", NULL, 0);
    assert_int_equal(send(0x00, 0x46, 0x60, 0x00, t, n, 65536), SW_OK);
    assert_int_equal(cipher(0x60, 0x18, data, 16), 0x6A81);        /* an EC key */
    aes_oid(oid, 0x02);
    n = ext(req, sizeof(req), oid, 9, data, 16, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x60, 0x51, req, n), 0x6A81);
    assert_int_equal(cipher(ID_256, 0x51, req, n), 0x6A81);        /* AES-128 OID, 256-bit key */

    /* Malformed extended forms. */
    static const uint8_t no_oid[] = {0x81, 0x01, 0x00};
    assert_int_equal(cipher(ID_128, 0x51, no_oid, sizeof(no_oid)), 0x6A80);
    uint8_t dup[32];
    n = ext(dup, sizeof(dup), oid, 9, data, 16, NULL, 0, NULL, 0);
    dup[n++] = 0x81, dup[n++] = 0x00;
    assert_int_equal(cipher(ID_128, 0x51, dup, n), 0x6A80);
    n = ext(dup, sizeof(dup), oid, 9, data, 16, NULL, 0, NULL, 0);
    dup[n++] = 0x84, dup[n++] = 0x00;                               /* unknown tag */
    assert_int_equal(cipher(ID_128, 0x51, dup, n), 0x6A80);
    n = ext(dup, sizeof(dup), oid, 9, data, 16, NULL, 0, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, dup, n - 1), 0x6A80);     /* truncated */
    n = ext(req, sizeof(req), oid, 9, NULL, 0, NULL, 0, NULL, 0);   /* no input */
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    static const uint8_t unknown[] = {0x2A, 0x03, 0x04};
    n = ext(req, sizeof(req), unknown, 3, data, 16, NULL, 0, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A81);
    static const uint8_t slip21[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xA8, 0x78, 0x05, 0x8D, 0x6B};
    n = ext(req, sizeof(req), slip21, sizeof(slip21), data, 16, data, 16, "l", 1);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A81);
    aes_oid(oid, 0x05);                                              /* no such mode */
    n = ext(req, sizeof(req), oid, 9, data, 16, NULL, 0, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A81);

    /* IV, nonce and tag lengths: 6A80. */
    aes_oid(oid, 0x02);
    n = ext(req, sizeof(req), oid, 9, data, 16, data, 15, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, data, 16, data, 17, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, data, 16, NULL, 0, data, 4);   /* AAD for CBC */
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, data, 20, NULL, 0, NULL, 0);   /* CBC on 20 bytes */
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    aes_oid(oid, 0x01);
    n = ext(req, sizeof(req), oid, 9, data, 16, data, 16, NULL, 0);  /* an IV for ECB */
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    aes_oid(oid, 0x06);
    n = ext(req, sizeof(req), oid, 9, data, 16, NULL, 0, NULL, 0);   /* GCM without nonce */
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, data, 16, data, 0, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, data, 15, data, 12, NULL, 0);  /* shorter than a tag */
    assert_int_equal(cipher(ID_128, 0x52, req, n), 0x6A80);
    aes_oid(oid, 0x07);
    n = ext(req, sizeof(req), oid, 9, data, 16, data, 6, NULL, 0);   /* CCM nonce 6 */
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), oid, 9, data, 16, data, 14, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A80);
    static const uint8_t chacha[11] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x12};
    n = ext(req, sizeof(req), chacha, 11, data, 16, data, 11, NULL, 0);
    assert_int_equal(cipher(ID_256, 0x51, req, n), 0x6A80);
    n = ext(req, sizeof(req), chacha, 11, data, 16, data, 12, NULL, 0);
    assert_int_equal(cipher(ID_128, 0x51, req, n), 0x6A81);           /* not a 256-bit key */
    static const uint8_t xts[9] = {0x2B, 0x6F, 0x02, 0x8C, 0x53, 0x00, 0x00, 0x01, 0x01};
    n = ext(req, sizeof(req), xts, 9, data, 15, data, 16, NULL, 0);  /* less than a block */
    assert_int_equal(cipher(ID_256, 0x51, req, n), 0x6A80);
    /* 99 beyond 255 x 32 bytes of output. */
    static uint8_t big[255 * 32 + 1];
    assert_int_equal(cipher(ID_128, 0x99, big, sizeof(big)), 0x6A80);

    /* Nothing above spent a use or wrote a record: a one-use key still works once. */
    put_key(0x61, FK_KEY_AES, data, 16, NULL, 0, 1);
    assert_int_equal(cipher(0x61, 0x10, data, 15), 0x6A80);
    assert_int_equal(cipher(0x61, 0x12, data, 16), 0x6A86);
    assert_int_equal(cipher(0x61, 0x18, data, 16), SW_OK);
    assert_int_equal(cipher(0x61, 0x18, data, 16), 0x6A84);           /* used up */

    /* Algorithms outside the key's list: 6985, and nothing spent. */
    static const uint8_t only_cmac[] = {0x18};
    put_key(0x62, FK_KEY_AES, data, 16, only_cmac, 1, 2);
    assert_int_equal(cipher(0x62, 0x10, data, 16), 0x6985);
    aes_oid(oid, 0x02);
    n = ext(req, sizeof(req), oid, 9, data, 16, NULL, 0, NULL, 0);
    assert_int_equal(cipher(0x62, 0x51, req, n), 0x6985);
    assert_int_equal(cipher(0x62, 0x18, data, 16), SW_OK);
    assert_int_equal(cipher(0x62, 0x18, data, 16), SW_OK);
    assert_int_equal(cipher(0x62, 0x18, data, 16), 0x6A84);

    /* No PIN in a new session. */
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(cipher(ID_128, 0x10, data, 16), 0x6982);
    assert_int_equal(cipher(0x77, 0x10, data, 16), 0x6A82);
}

/* Press-to-confirm: a use asks; a refused command asks nobody. */
static void test_press_to_confirm(void **state)
{
    (void)state;
    uint8_t data[32] = {0};
    assert_int_equal(initialize(0x0101), SW_OK);
    assert_int_equal(verify_pin(), SW_OK);
    put_key(0x01, FK_KEY_AES, data, 16, NULL, 0, 1);
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(cipher(0x01, 0x10, data, 15), 0x6A80); /* the input first */
    assert_int_equal(cipher(0x01, 0x10, data, 16), 0x6985); /* declined */
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    assert_int_equal(cipher(0x01, 0x10, data, 16), SW_OK);  /* the one use is still there */
    assert_int_equal(cipher(0x01, 0x10, data, 16), 0x6A84);
}

/* The pure check: an output larger than the response room is 6700 (no APDU
 * can make one today: commands are at most 65535 bytes). */
static void test_prepare_room(void **state)
{
    (void)state;
    static uint8_t req[256];
    uint8_t oid[9], data[64] = {0}, nonce[12] = {0};
    hsm_cipher_t c;
    aes_oid(oid, 0x06);
    size_t n = ext(req, sizeof(req), oid, 9, data, 64, nonce, 12, NULL, 0);
    fk_apdu_t cmd = {0x80, 0x78, 0x01, 0x51, req, n, 0, true};
    assert_int_equal(hsm_cipher_prepare(&cmd, FK_KEY_AES, 16, 80, &c), SW_OK);
    assert_int_equal(c.out_len, 80);
    assert_int_equal(hsm_cipher_prepare(&cmd, FK_KEY_AES, 16, 79, &c), 0x6700);
    fk_apdu_t cbc = {0x80, 0x78, 0x01, 0x10, data, 64, 0, false};
    assert_int_equal(hsm_cipher_prepare(&cbc, FK_KEY_AES, 32, 63, &c), 0x6700);
    assert_int_equal(hsm_cipher_prepare(&cbc, FK_KEY_AES, 64, 64, &c), 0x6A81);
    assert_int_equal(hsm_cipher_prepare(&cbc, FK_KEY_HMAC, 16, 64, &c), 0x6A81);
    assert_int_equal(hsm_cipher_prepare(&cbc, FK_KEY_EC, 16, 64, &c), 0x6A81);
}

/* ---- Atomicity of GENERATE SYMMETRIC KEY -------------------------------- */

static void restart(void)
{
    fk_flashcut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
}

static size_t read_record(uint16_t fid, uint8_t *buf, size_t cap)
{
    uint32_t size;
    if (fk_space_size(&g_hsm_sp, fid, &size) != FK_STORE_OK) return 0;
    assert_true(size <= cap);
    assert_int_equal(fk_space_read(&g_hsm_sp, fid, 0, buf, size), FK_STORE_OK);
    return size;
}

/* The key pair at id 1 (ECDSA only, one use) is there exactly as before. */
static void expect_old_pair(const uint8_t *ce, size_t ce_len, const uint8_t *c4, size_t c4_len)
{
    static uint8_t buf[2048];
    const fk_applet_ctx_t ctx = hsm_ctx();
    fk_key_policy_t pol;
    uint32_t uses;
    assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, 1), &pol, &uses), FK_KEY_OK);
    assert_int_equal(pol.kind, FK_KEY_EC);
    assert_int_equal(pol.n_algs, 1);
    assert_int_equal(pol.algs[0], 0x70);
    assert_int_equal(uses, 1);
    assert_int_equal(read_record(HSM_FID(HSM_PREFIX_EECERT, 1), buf, sizeof(buf)), ce_len);
    assert_memory_equal(buf, ce, ce_len);
    assert_int_equal(read_record(HSM_FID(HSM_PREFIX_PRKD, 1), buf, sizeof(buf)), c4_len);
    assert_memory_equal(buf, c4, c4_len);
    uint8_t digest[32] = {3};
    assert_int_equal(send(0x80, 0x68, 0x01, 0x70, digest, 32, 65536), SW_OK);
    assert_int_equal(send(0x80, 0x68, 0x01, 0x70, digest, 32, 65536), 0x6A84);
}

/* The new secret key: its list and count, no request, the old description. */
static void expect_new_secret(const uint8_t *c4, size_t c4_len)
{
    static uint8_t buf[2048];
    const fk_applet_ctx_t ctx = hsm_ctx();
    fk_key_policy_t pol;
    uint32_t uses;
    assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, 1), &pol, &uses), FK_KEY_OK);
    assert_int_equal(pol.kind, FK_KEY_AES);
    assert_int_equal(pol.size, 256);
    assert_int_equal(pol.n_algs, 2);
    assert_int_equal(uses, 3);
    assert_int_equal(read_record(HSM_FID(HSM_PREFIX_EECERT, 1), buf, sizeof(buf)), 0);
    assert_int_equal(read_record(HSM_FID(HSM_PREFIX_PRKD, 1), buf, sizeof(buf)), c4_len);
    assert_memory_equal(buf, c4, c4_len);
    uint8_t data[16] = {0};
    assert_int_equal(cipher(0x01, 0x18, data, 16), SW_OK);
}

static const uint8_t k_new_meta[] = {0x91, 0x02, 0x10, 0x18, 0x90, 0x04, 0x00, 0x00, 0x00, 0x03};

static void make_old_pair(uint8_t *ce, size_t *ce_len, uint8_t *c4, size_t *c4_len)
{
    static uint8_t t[1024];
    static const uint8_t meta[] = {0x90, 0x04, 0x00, 0x00, 0x00, 0x01, 0x91, 0x01, 0x70};
    size_t n = fk_devrig_ec_template(t, sizeof(t), FK_CURVE_SECP256R1, "UTTEST00001", meta, sizeof(meta));
    assert_int_equal(send(0x00, 0x46, 0x01, 0x00, t, n, 65536), SW_OK);
    *ce_len = read_record(HSM_FID(HSM_PREFIX_EECERT, 1), ce, 2048);
    *c4_len = read_record(HSM_FID(HSM_PREFIX_PRKD, 1), c4, 256);
    assert_true(*ce_len > 0 && *c4_len > 0);
}

/* 48 over a key pair cut at every flash operation: the pair with its
 * request, description, list and count, or the secret key complete. */
static void test_generate_powercut(void **state)
{
    (void)state;
    static uint8_t ce[2048], c4[256];
    size_t ce_len, c4_len;
    int olds = 0, news = 0;
    make_old_pair(ce, &ce_len, c4, &c4_len);
    fk_devrig_stop(&g_rig);
    fk_devrig_copy_file(g_rig.flash, g_snap);
    fk_devrig_start(&g_rig);
    for (long n = 0;; n++) {
        fk_devrig_stop(&g_rig);
        fk_devrig_copy_file(g_snap, g_rig.flash);
        fk_devrig_start(&g_rig);
        assert_int_equal(verify_pin(), SW_OK);
        fk_flashcut_arm(n);
        const uint16_t sw = send(0x00, 0x48, 0x01, 0xB2, k_new_meta, sizeof(k_new_meta), 0);
        const bool was_cut = fk_flashcut_cut();
        restart();
        assert_int_equal(verify_pin(), SW_OK);
        const fk_applet_ctx_t ctx = hsm_ctx();
        fk_key_policy_t pol;
        assert_int_equal(fk_key_info(&ctx, HSM_FID(HSM_PREFIX_KEY, 1), &pol, NULL), FK_KEY_OK);
        if (pol.kind == FK_KEY_EC) {
            olds++;
            assert_int_not_equal(sw, SW_OK);
            expect_old_pair(ce, ce_len, c4, c4_len);
        } else {
            news++;
            expect_new_secret(c4, c4_len);
        }
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            break;
        }
    }
    print_message("48 over a key pair: %d cuts left the pair, %d the secret key\n", olds, news);
    assert_true(olds >= 1 && news >= 1);
}

/* A full store: 48 over a secret key (one use, CMAC only) with a larger
 * key is refused with 6A84 and changes nothing. (Over a key pair the
 * request CE<id> goes, which frees more than the secret key takes.) */
static void test_generate_full_store(void **state)
{
    (void)state;
    static uint8_t c4[256], body[40000], c4_after[256];
    /* The old key has no list and no counter, the new one the longest list:
     * its record is then exactly 64 bytes longer (48 of key, 16 of list),
     * more than the store's slack once 1-byte files no longer fit (a file's
     * footprint is 64 bytes), whatever else the image holds. */
    static const uint8_t big_meta[] = {0x91, 0x10, 0x10, 0x11, 0x18, 0x99, 0x51, 0x52, 0x10, 0x11,
                                       0x18, 0x99, 0x51, 0x52, 0x10, 0x11, 0x18, 0x99,
                                       0x90, 0x04, 0x00, 0x00, 0x00, 0x03};
    uint8_t msg[16] = {1, 2, 3}, mac[16];
    assert_int_equal(send(0x00, 0x48, 0x01, 0xB0, NULL, 0, 0), SW_OK);
    const size_t c4_len = read_record(HSM_FID(HSM_PREFIX_PRKD, 1), c4, sizeof(c4));
    /* The old key's CMAC, computed now. */
    const fk_applet_ctx_t ctx = hsm_ctx();
    uint8_t key[16];
    size_t key_len;
    assert_int_equal(fk_devrig_hsm_key(&g_dev, 1, key, sizeof(key), &key_len), FK_KEY_OK);
    assert_int_equal(fk_aes_cmac(key, key_len, msg, sizeof(msg), mac), FK_CRYPTO_OK);
    (void)ctx;

    static const size_t sizes[] = {32768, 4096, 512, 64, 1};
    unsigned fid = 0xCF10;
    for (size_t s = 0; s < FK_ARRAY_SIZE(sizes); s++) {
        for (;;) {
            size_t n = 0, len = sizes[s];
            body[n++] = 0x54, body[n++] = 0x02, body[n++] = 0x00, body[n++] = 0x00;
            body[n++] = 0x53, body[n++] = 0x82, body[n++] = (uint8_t)(len >> 8), body[n++] = (uint8_t)len;
            memset(body + n, 0x5A, len);
            uint16_t sw = send(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, body, n + len, 0);
            if (sw != SW_OK) {
                assert_int_equal(sw, 0x6A84);
                break;
            }
            fid++;
            assert_true(fid <= 0xCFFF);
        }
    }
    assert_int_equal(send(0x00, 0x48, 0x01, 0xB3, big_meta, sizeof(big_meta), 0), 0x6A84);
    restart();
    assert_int_equal(verify_pin(), SW_OK);
    const fk_applet_ctx_t ctx2 = hsm_ctx();
    fk_key_policy_t pol;
    uint32_t uses;
    assert_int_equal(fk_key_info(&ctx2, HSM_FID(HSM_PREFIX_KEY, 1), &pol, &uses), FK_KEY_OK);
    assert_int_equal(pol.kind, FK_KEY_AES);
    assert_int_equal(pol.size, 128);
    assert_int_equal(pol.n_algs, 0);
    assert_false(pol.has_counter);
    assert_int_equal(read_record(HSM_FID(HSM_PREFIX_PRKD, 1), c4_after, sizeof(c4_after)), c4_len);
    assert_memory_equal(c4_after, c4, c4_len);
    assert_int_equal(cipher(0x01, 0x18, msg, sizeof(msg)), SW_OK);
    assert_memory_equal(g_out, mac, 16);
    fk_wipe(key, sizeof(key));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_default_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_over_key_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_roundtrips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_aes_sp800_38a, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_xts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_aead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_hmac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_hkdf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_pbkdf2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_pbes2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ext_x963, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cipher_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_press_to_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_powercut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_full_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
