/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FIDO applet's own records and primitives, on the real device over the
 * host port's flash:
 * - the config record: absent means the defaults; one that does not open,
 *   or opens to an unknown version, makes every command that depends on it
 *   answer CTAP1_ERR_OTHER (U2F: 6F00) instead of falling back to the
 *   defaults (which could drop alwaysUv or lower the minimum PIN length);
 *   its bytes are the documented layout;
 * - the attestation pair: a certificate without its key, or a key without
 *   its certificate, is refused (6F00), and nothing new is made over it;
 * - PIN/UV auth protocols 1 and 2: encrypt/decrypt round trips and lengths,
 *   a random IV under protocol 2, authenticate's 16 / 32 bytes;
 * - changePIN cut at every flash operation: afterwards the old PIN with
 *   forcePINChange, or the new PIN without it (the PIN record and the config
 *   record change in one batch). The platform's side of protocol 1 is done
 *   here with the crypto module;
 * - a large-blob array written in two fragments, cut at every flash
 *   operation: afterwards the old array or the new one, whole.
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
#include "crypto/pk.h"
#include "ctap_client.h"
#include "devrig.h"
#include "fido_internal.h"
#include "flashcut.h"
#include "host_port.h"
#include "seal/seal.h"
#include "services/ns.h"
#include "store/space.h"

#define SW_OK 0x9000u

static fk_testdev_t g_dev;
static uint8_t g_out[8192];
static size_t g_out_len;
static const uint8_t k_serial[8] = {0xF1, 0xD0, 0x00, 0x01, 0x22, 0x33, 0x44, 0x55};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 512u * 1024u};

static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, const void *data, size_t n)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, 0x00, data, n, 65536u, true};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static void select_fido(void)
{
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01};
    assert_int_equal(send(0x00, 0xA4, 0x04, aid, sizeof aid), SW_OK);
}

/* One CTAP2 message; returns its status byte. */
static uint8_t ctap(const uint8_t *msg, size_t n)
{
    assert_int_equal(send(0x80, 0x10, 0x00, msg, n), SW_OK);
    assert_true(g_out_len >= 3u);
    return g_out[0];
}

static uint8_t get_info(void)
{
    static const uint8_t m[] = {FIDO_CMD_GET_INFO};
    return ctap(m, sizeof m);
}

static uint8_t toggle_always_uv(void)
{
    static const uint8_t m[] = {FIDO_CMD_CONFIG, 0xA1, 0x01, 0x02};
    return ctap(m, sizeof m);
}

static uint8_t large_blob_write_empty(void)
{
    /* {2: the empty array, 3: 0, 4: 17} */
    static const uint8_t m[] = {FIDO_CMD_LARGE_BLOBS, 0xA3, 0x02, 0x51, 0x80, 0x76, 0xBE, 0x8B,
                                0x52, 0x8D, 0x00, 0x75, 0xF7, 0xAA, 0xE9, 0x8D, 0x6F, 0xA5,
                                0x7A, 0x6D, 0x3C, 0x03, 0x00, 0x04, 0x11};
    return ctap(m, sizeof m);
}

static uint8_t get_retries(void)
{
    static const uint8_t m[] = {FIDO_CMD_CLIENT_PIN, 0xA2, 0x01, 0x02, 0x02, 0x01};
    return ctap(m, sizeof m);
}

static uint16_t u2f_register(void)
{
    uint8_t d[64];
    for (size_t i = 0; i < sizeof d; i++) d[i] = (uint8_t)i;
    return send(0x00, 0x01, 0x00, d, sizeof d);
}

static fk_space_t fido_space(void) { return (fk_space_t){&g_dev.svc.store, FK_NS_FIDO}; }

static int setup(void **state)
{
    (void)state;
    if (fk_devrig_setup(&g_rig, "fido") != 0) return -1;
    select_fido();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

static void test_config_record(void **state)
{
    (void)state;
    const fk_space_t sp = fido_space();
    uint32_t size = 0;
    /* Absent: the defaults. */
    assert_int_equal(fk_space_size(&sp, FIDO_ID_CONFIG, &size), FK_STORE_ENOENT);
    assert_int_equal(get_info(), CTAP_OK);
    /* Written by authenticatorConfig in the documented layout. */
    assert_int_equal(toggle_always_uv(), CTAP_OK);
    uint8_t rec[64];
    size_t len = 0;
    assert_int_equal(fk_seal_load(&sp, FIDO_ID_CONFIG, rec, sizeof rec, &len), FK_SEAL_OK);
    static const uint8_t want[] = {0x01, FIDO_CFG_ALWAYS_UV, FIDO_MIN_PIN_DEFAULT, 0x00, 0x00};
    assert_int_equal(len, sizeof want);
    assert_memory_equal(rec, want, sizeof want);

    /* A record that does not open: everything that reads it fails closed. */
    static const uint8_t junk[] = {0x02, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                   15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
    assert_int_equal(fk_space_write(&sp, FIDO_ID_CONFIG, junk, sizeof junk), FK_STORE_OK);
    assert_int_equal(get_info(), CTAP1_ERR_OTHER);
    assert_int_equal(toggle_always_uv(), CTAP1_ERR_OTHER);
    assert_int_equal(large_blob_write_empty(), CTAP1_ERR_OTHER);
    assert_int_equal(send(0x00, 0x03, 0x00, NULL, 0), 0x6F00u); /* U2F VERSION */
    /* What does not read it still works. */
    assert_int_equal(get_retries(), CTAP_OK);

    /* One that opens to a version this firmware does not know: the same. */
    static const uint8_t v2[] = {0x02, 0x00, 0x04, 0x00, 0x00};
    assert_int_equal(fk_seal_store(&sp, FIDO_ID_CONFIG, v2, sizeof v2), FK_SEAL_OK);
    assert_int_equal(get_info(), CTAP1_ERR_OTHER);
    /* A minimum PIN length below the default is damage too. */
    static const uint8_t low[] = {0x01, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(fk_seal_store(&sp, FIDO_ID_CONFIG, low, sizeof low), FK_SEAL_OK);
    assert_int_equal(get_info(), CTAP1_ERR_OTHER);
    /* Gone again: the defaults. */
    assert_int_equal(fk_space_delete(&sp, FIDO_ID_CONFIG), FK_STORE_OK);
    assert_int_equal(get_info(), CTAP_OK);
    assert_int_equal(large_blob_write_empty(), CTAP_OK);
}

/* Half a batch pair (a key without its chain, or a chain without its key)
 * fails closed: U2F refuses before presence and makes no per-device pair in
 * its place; refused imports write nothing. */
static void test_batch_pair_half(void **state)
{
    (void)state;
    const fk_space_t sp = fido_space();
    uint32_t size = 0;
    static uint8_t big[32u + FIDO_ATT_CHAIN_MAX + 1u];
    memset(big, 0x30, sizeof big);
    assert_int_equal(send(0x80, FK_FIDO_INS_ATTEST, 0x10, big, sizeof big), 0x6700u);
    assert_int_equal(send(0x80, FK_FIDO_INS_ATTEST, 0x10, big, 40), 0x6A80u);
    assert_int_equal(send(0x80, FK_FIDO_INS_ATTEST, 0x11, big, 40), 0x6A80u);
    assert_int_equal(send(0x80, FK_FIDO_INS_ATTEST, 0x7F, NULL, 0), 0x6A86u);
    assert_int_equal(send(0x80, FK_FIDO_INS_ATTEST, 0x01, big, 1), 0x6700u);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_BATCH_KEY, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_BATCH_CERT, &size), FK_STORE_ENOENT);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_EP_CERT, &size), FK_STORE_ENOENT);
    /* A chain without its key. */
    assert_int_equal(fk_space_write(&sp, FIDO_ID_BATCH_CERT, big, 100), FK_STORE_OK);
    assert_int_equal(u2f_register(), 0x6F00u);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_ATT_CERT, &size), FK_STORE_ENOENT);
    assert_int_equal(send(0x80, FK_FIDO_INS_ATTEST, 0x01, NULL, 0), SW_OK);
    assert_int_equal(g_out_len, 1u + 2u); /* flags and the status word */
    assert_int_equal(g_out[0], 0x00u); /* not counted as installed */
    /* A key without its chain. */
    assert_int_equal(fk_space_delete(&sp, FIDO_ID_BATCH_CERT), FK_STORE_OK);
    static const uint8_t rec[] = {0x01, 0x00};
    assert_int_equal(fk_seal_store(&sp, FIDO_ID_BATCH_KEY, rec, sizeof rec), FK_SEAL_OK);
    assert_int_equal(u2f_register(), 0x6F00u);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_ATT_CERT, &size), FK_STORE_ENOENT);
    /* Gone: the per-device pair again. */
    assert_int_equal(fk_space_delete(&sp, FIDO_ID_BATCH_KEY), FK_STORE_OK);
    assert_int_equal(u2f_register(), SW_OK);
}

static void test_attestation_pair(void **state)
{
    (void)state;
    const fk_space_t sp = fido_space();
    uint32_t size = 0;
    assert_int_equal(u2f_register(), SW_OK);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_ATT_CERT, &size), FK_STORE_OK);
    uint8_t cert[FIDO_ATT_CERT_MAX];
    assert_true(size <= sizeof cert);
    assert_int_equal(fk_space_read(&sp, FIDO_ID_ATT_CERT, 0, cert, size), FK_STORE_OK);
    /* The certificate without its key: refused, and not replaced. */
    assert_int_equal(fk_space_delete(&sp, FIDO_ID_ATT_KEY), FK_STORE_OK);
    assert_int_equal(u2f_register(), 0x6F00u);
    uint8_t again[FIDO_ATT_CERT_MAX];
    assert_int_equal(fk_space_read(&sp, FIDO_ID_ATT_CERT, 0, again, size), FK_STORE_OK);
    assert_memory_equal(cert, again, size);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_ATT_KEY, &size), FK_STORE_ENOENT);
    /* Neither: a new pair. Then the key without its certificate: refused. */
    assert_int_equal(fk_space_delete(&sp, FIDO_ID_ATT_CERT), FK_STORE_OK);
    assert_int_equal(u2f_register(), SW_OK);
    assert_int_equal(fk_space_delete(&sp, FIDO_ID_ATT_CERT), FK_STORE_OK);
    assert_int_equal(u2f_register(), 0x6F00u);
    assert_int_equal(fk_space_size(&sp, FIDO_ID_ATT_CERT, &size), FK_STORE_ENOENT);
}

/* ---- The platform's side: the C client with PIN/UV auth protocol 1 ------------- */

static fk_cc_t g_cc;

static fk_cc_t *client(void)
{
    fk_cc_init(&g_cc, fk_cc_card_xfer, &g_dev);
    g_cc.proto = 1;
    return &g_cc;
}

static uint8_t set_pin(const char *pin) { return fk_cc_set_pin(client(), pin); }

static uint8_t change_pin(const char *old, const char *pin)
{
    return fk_cc_change_pin(client(), old, pin);
}

/* getPinUvAuthTokenUsingPinWithPermissions (acfg), kept in g_cc. */
static uint8_t acfg_token(const char *pin)
{
    return fk_cc_get_token(client(), pin, FIDO_PERM_ACFG, NULL);
}

/* setMinPINLength {1: len} with the acfg token of the last acfg_token. */
static uint8_t set_min_pin_length(uint8_t len) { return fk_cc_set_min_pin_length(&g_cc, len); }

/* The length of a message: its command byte and the writer's CBOR. */
static size_t cbor_done(fk_cbor_writer_t *w)
{
    size_t n = 0;
    assert_int_equal(fk_cbor_writer_finish(w, &n), FK_CBOR_OK);
    return 1u + n;
}

/* forcePINChange (getInfo key 0C). */
static bool force_change(void)
{
    assert_int_equal(get_info(), CTAP_OK);
    fk_cbor_item_t top, v;
    bool b = false;
    assert_int_equal(fk_cbor_decode(g_out + 1, g_out_len - 3u, 0, &top), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_int(&top, 0x0C, &v), FK_CBOR_OK);
    assert_int_equal(fk_cbor_get_bool(&v, &b), FK_CBOR_OK);
    return b;
}

static void restart(void)
{
    fk_flashcut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    select_fido();
}

static void test_change_pin_powercut(void **state)
{
    (void)state;
    static char snap[FK_DEVRIG_PATH_CAP + 8];
    snprintf(snap, sizeof snap, "%s/snap.bin", g_rig.dir);
    /* PIN 1234, then a minimum of 6: the PIN must change. */
    assert_int_equal(set_pin("1234"), CTAP_OK);
    assert_int_equal(acfg_token("1234"), CTAP_OK);
    assert_int_equal(set_min_pin_length(6), CTAP_OK);
    assert_true(force_change());
    fk_devrig_snapshot(&g_rig, snap);
    select_fido();
    int olds = 0, news = 0;
    for (long n = 0;; n++) {
        fk_devrig_restore(&g_rig, snap);
        select_fido();
        fk_flashcut_arm(n);
        const uint8_t st = change_pin("1234", "654321");
        const bool was_cut = fk_flashcut_cut();
        restart();
        if (acfg_token("654321") == CTAP_OK) {
            /* The new PIN, and with it the end of forcePINChange. */
            news++;
            assert_false(force_change());
            assert_int_equal(acfg_token("1234"), CTAP2_ERR_PIN_INVALID);
        } else {
            /* The old PIN, still to be changed (proven, then refused). */
            olds++;
            assert_int_not_equal(st, CTAP_OK);
            assert_true(force_change());
            assert_int_equal(acfg_token("1234"), CTAP2_ERR_PIN_POLICY_VIOLATION);
        }
        if (!was_cut) {
            assert_int_equal(st, CTAP_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
    unlink(snap);
}

/* A serialized large-blob array: CBOR array of one byte string of n bytes
 * `fill`, then LEFT(SHA-256, 16). */
static size_t blob_array(uint8_t fill, size_t n, uint8_t *out)
{
    assert_true(n >= 24u && n < 256u);
    out[0] = 0x81;
    out[1] = 0x58;
    out[2] = (uint8_t)n;
    memset(out + 3, fill, n);
    uint8_t h[32];
    fk_sha256(out, 3u + n, h);
    memcpy(out + 3u + n, h, 16);
    return 3u + n + 16u;
}

/* largeBlobs set of data[off, off + n) (with length total when off is 0). */
static uint8_t blob_set(const uint8_t *data, size_t off, size_t n, size_t total)
{
    uint8_t msg[512];
    fk_cbor_writer_t w;
    msg[0] = FIDO_CMD_LARGE_BLOBS;
    fk_cbor_writer_init(&w, msg + 1, sizeof msg - 1u);
    fk_cbor_put_map(&w, off == 0u ? 3 : 2);
    fk_cbor_put_uint(&w, 2);
    fk_cbor_put_bytes(&w, data + off, n);
    fk_cbor_put_uint(&w, 3);
    fk_cbor_put_uint(&w, off);
    if (off == 0u) {
        fk_cbor_put_uint(&w, 4);
        fk_cbor_put_uint(&w, total);
    }
    return ctap(msg, cbor_done(&w));
}

/* The whole live array into out; its length. */
static size_t blob_get(uint8_t *out, size_t cap)
{
    static const uint8_t m[] = {FIDO_CMD_LARGE_BLOBS, 0xA2, 0x01, 0x19, 0x04, 0x00, 0x03, 0x00};
    assert_int_equal(ctap(m, sizeof m), CTAP_OK);
    fk_cbor_item_t top, v;
    assert_int_equal(fk_cbor_decode(g_out + 1, g_out_len - 3u, 0, &top), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_int(&top, 1, &v), FK_CBOR_OK);
    assert_true(v.v <= cap);
    memcpy(out, v.data, (size_t)v.v);
    return (size_t)v.v;
}

static void test_large_blob_powercut(void **state)
{
    (void)state;
    static char snap[FK_DEVRIG_PATH_CAP + 8];
    snprintf(snap, sizeof snap, "%s/snap.bin", g_rig.dir);
    uint8_t a[256], b[256], got[512];
    const size_t alen = blob_array(0xAA, 40, a), blen = blob_array(0xBB, 200, b);
    assert_int_equal(blob_set(a, 0, alen, alen), CTAP_OK);
    fk_devrig_snapshot(&g_rig, snap);
    int olds = 0, news = 0;
    for (long n = 0;; n++) {
        fk_devrig_restore(&g_rig, snap);
        select_fido();
        fk_flashcut_arm(n);
        uint8_t st = blob_set(b, 0, 100, blen);
        if (st == CTAP_OK) st = blob_set(b, 100, blen - 100u, 0);
        const bool was_cut = fk_flashcut_cut();
        restart();
        const size_t len = blob_get(got, sizeof got);
        if (len == alen && memcmp(got, a, alen) == 0) {
            olds++;
            assert_int_not_equal(st, CTAP_OK);
        } else {
            news++;
            assert_int_equal(len, blen);
            assert_memory_equal(got, b, blen);
        }
        if (!was_cut) {
            assert_int_equal(st, CTAP_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
    unlink(snap);
}

static void test_protocol_primitives(void **state)
{
    (void)state;
    uint8_t shared[FIDO_SHARED_MAX], pt[32], ct[48], ct2[48], back[48];
    size_t n = 0;
    for (size_t i = 0; i < sizeof shared; i++) shared[i] = (uint8_t)(0xA0 + i);
    for (size_t i = 0; i < sizeof pt; i++) pt[i] = (uint8_t)i;

    /* Protocol 1: no IV in the output, the same ciphertext every time. */
    assert_int_equal(fido_pin_encrypt(1, shared, pt, sizeof pt, ct, &n), CTAP_OK);
    assert_int_equal(n, 32);
    assert_int_equal(fido_pin_encrypt(1, shared, pt, sizeof pt, ct2, &n), CTAP_OK);
    assert_memory_equal(ct, ct2, 32);
    assert_int_equal(fido_pin_decrypt(1, shared, ct, 32, back, &n), CTAP_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(back, pt, 32);
    /* Protocol 2: IV first, a new one every time, the AES key is the second half. */
    assert_int_equal(fido_pin_encrypt(2, shared, pt, sizeof pt, ct, &n), CTAP_OK);
    assert_int_equal(n, 48);
    assert_int_equal(fido_pin_encrypt(2, shared, pt, sizeof pt, ct2, &n), CTAP_OK);
    assert_memory_not_equal(ct, ct2, 16);
    assert_int_equal(fido_pin_decrypt(2, shared, ct2, 48, back, &n), CTAP_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(back, pt, 32);
    /* Lengths that are not whole blocks (plus the IV), unknown protocols. */
    assert_int_equal(fido_pin_decrypt(1, shared, ct, 15, back, &n), CTAP1_ERR_INVALID_LENGTH);
    assert_int_equal(fido_pin_decrypt(2, shared, ct, 16, back, &n), CTAP1_ERR_INVALID_LENGTH);
    assert_int_equal(fido_pin_decrypt(2, shared, ct, 40, back, &n), CTAP1_ERR_INVALID_LENGTH);
    assert_int_equal(fido_pin_encrypt(1, shared, pt, 0, ct, &n), CTAP1_ERR_INVALID_LENGTH);
    assert_int_equal(fido_pin_encrypt(3, shared, pt, 32, ct, &n), CTAP1_ERR_INVALID_PARAMETER);

    /* authenticate: protocol 1 LEFT(HMAC(shared), 16), protocol 2 HMAC(shared[0:32]). */
    uint8_t mac1[32], mac2[32];
    fk_hmac_sha256(shared, 32, pt, sizeof pt, mac1);
    fk_hmac_sha256(shared, 32, pt, sizeof pt, mac2);
    assert_true(fido_pin_verify(1, shared, 32, pt, sizeof pt, mac1, 16));
    assert_false(fido_pin_verify(1, shared, 32, pt, sizeof pt, mac1, 32));
    assert_true(fido_pin_verify(2, shared, 64, pt, sizeof pt, mac2, 32));
    assert_false(fido_pin_verify(2, shared, 64, pt, sizeof pt, mac2, 16));
    mac2[31] ^= 1;
    assert_false(fido_pin_verify(2, shared, 64, pt, sizeof pt, mac2, 32));
    assert_false(fido_pin_verify(3, shared, 32, pt, sizeof pt, mac1, 16));
    assert_false(fido_pin_verify(1, shared, 32, pt, sizeof pt, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_pair_half, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attestation_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_primitives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_pin_powercut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_blob_powercut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
