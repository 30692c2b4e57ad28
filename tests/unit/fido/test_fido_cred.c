/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the FIDO applet's credential formats (fido_cred.c) over the
 * real services, store and host port: credential ids (format, binding to
 * the RP, every tampered byte refused, survival across a restart, death at
 * reset), the signature counter (strictly increasing, on flash, failing
 * closed when its record is lost or damaged, never wrapping), resident
 * credential records (round trip, damage, count) and the UTF-8 cut; and
 * through the card (NFCCTAP_MSG APDUs): a declined presence leaves no
 * credential and no counter step, silent assertions need no presence, and
 * a lost counter record refuses assertions instead of restarting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "devrig.h"
#include "fido/fido_cred_int.h"
#include "util.h"
#include "host_port.h"
#include "seal/seal.h"
#include "services/services.h"
#include "store/space.h"

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0xF1, 0xD0, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "fido");
}

static int teardown(void **state)
{
    (void)state;
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    return fk_devrig_teardown(&g_rig);
}

static fk_applet_ctx_t ctx(void) { return fk_services_applet_ctx(&g_dev.svc, &fk_fido_applet); }

static void rp(uint8_t out[32], const char *id) { fk_sha256(id, strlen(id), out); }

static fido_cred_key_t new_key(uint8_t alg, uint8_t level, bool resident)
{
    fido_cred_key_t k;
    memset(&k, 0, sizeof k);
    k.alg = alg;
    k.cred_protect = level;
    k.resident = resident;
    k.hmac_secret = true;
    assert_int_equal(fido_cred_new_key(&k), CTAP_OK);
    return k;
}

/* ---- Credential ids ---------------------------------------------------------------- */

static void test_credid_round_trip_and_binding(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t a[32], b[32], id[FIDO_CRED_ID_LEN];
    rp(a, "a.example");
    rp(b, "b.example");
    for (uint8_t alg = FIDO_ALG_ES256; alg <= FIDO_ALG_EDDSA; alg++) {
        for (uint8_t level = 1; level <= 3; level++) {
            const fido_cred_key_t k = new_key(alg, level, level == 2);
            assert_int_equal(fido_credid_seal(&c, a, &k, id), CTAP_OK);
            assert_int_equal(id[0], 0x01);
            fido_cred_key_t got;
            assert_int_equal(fido_credid_open(&c, a, id, sizeof id, &got), CTAP_OK);
            assert_int_equal(got.alg, alg);
            assert_int_equal(got.cred_protect, level);
            assert_int_equal(got.resident, level == 2);
            assert_true(got.hmac_secret);
            assert_memory_equal(got.secret, k.secret, 32);
            /* Another RP: refused, and the key comes back wiped. */
            assert_int_equal(fido_credid_open(&c, b, id, sizeof id, &got),
                             CTAP2_ERR_INVALID_CREDENTIAL);
            static const uint8_t zero[32];
            assert_memory_equal(got.secret, zero, 32);
        }
    }
    /* credProtect 0 (a U2F key handle) is sealed as 1. */
    fido_cred_key_t u2f = new_key(FIDO_ALG_ES256, 0, false);
    u2f.hmac_secret = false;
    assert_int_equal(fido_credid_seal(&c, a, &u2f, id), CTAP_OK);
    fido_cred_key_t got;
    assert_int_equal(fido_credid_open(&c, a, id, sizeof id, &got), CTAP_OK);
    assert_int_equal(got.cred_protect, 1);
    assert_false(got.hmac_secret);
}

static void test_credid_tampered(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t a[32], id[FIDO_CRED_ID_LEN + 1];
    rp(a, "a.example");
    const fido_cred_key_t k = new_key(FIDO_ALG_EDDSA, 1, false);
    assert_int_equal(fido_credid_seal(&c, a, &k, id), CTAP_OK);
    fido_cred_key_t got;
    for (size_t i = 0; i < FIDO_CRED_ID_LEN; i++) {
        for (unsigned bit = 0; bit < 8; bit += 3) {
            id[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(fido_credid_open(&c, a, id, FIDO_CRED_ID_LEN, &got),
                             CTAP2_ERR_INVALID_CREDENTIAL);
            id[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(fido_credid_open(&c, a, id, FIDO_CRED_ID_LEN - 1, &got),
                     CTAP2_ERR_INVALID_CREDENTIAL);
    id[FIDO_CRED_ID_LEN] = 0;
    assert_int_equal(fido_credid_open(&c, a, id, FIDO_CRED_ID_LEN + 1, &got),
                     CTAP2_ERR_INVALID_CREDENTIAL);
    assert_int_equal(fido_credid_open(&c, a, id, FIDO_CRED_ID_LEN, &got), CTAP_OK);
}

static void test_credid_restart_and_reset(void **state)
{
    (void)state;
    fk_applet_ctx_t c = ctx();
    uint8_t a[32], id[FIDO_CRED_ID_LEN];
    rp(a, "a.example");
    const fido_cred_key_t k = new_key(FIDO_ALG_ES256, 1, false);
    assert_int_equal(fido_credid_seal(&c, a, &k, id), CTAP_OK);
    /* A restart keeps the master secret. */
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    c = ctx();
    fido_cred_key_t got;
    assert_int_equal(fido_credid_open(&c, a, id, sizeof id, &got), CTAP_OK);
    /* A reset makes a new one: the old id no longer opens. */
    assert_int_equal(fk_services_reset_applet(&g_dev.svc, &fk_fido_applet), FK_SERVICES_OK);
    c = ctx();
    assert_int_equal(fido_credid_open(&c, a, id, sizeof id, &got), CTAP2_ERR_INVALID_CREDENTIAL);
}

/* ---- Signature counter --------------------------------------------------------------- */

static void test_counter_increases_and_persists(void **state)
{
    (void)state;
    fk_applet_ctx_t c = ctx();
    uint8_t m[32];
    uint32_t v = 0, last = 0;
    assert_int_equal(fido_master(&c, m), CTAP_OK); /* makes the counter too */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fido_counter_next(&c, &v), CTAP_OK);
        assert_true(v > last);
        last = v;
    }
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
    c = ctx();
    assert_int_equal(fido_counter_next(&c, &v), CTAP_OK);
    assert_int_equal(v, last + 1u);
}

static void test_counter_fails_closed(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    uint8_t m[32];
    uint32_t v = 0;
    assert_int_equal(fido_master(&c, m), CTAP_OK);
    assert_int_equal(fido_counter_next(&c, &v), CTAP_OK);
    /* Lost: no restart from 0, ever (the master secret still exists). */
    assert_int_equal(fk_space_delete(&c.counters, FIDO_ID_SIGN_COUNTER), FK_STORE_OK);
    assert_int_equal(fido_counter_next(&c, &v), CTAP1_ERR_OTHER);
    assert_int_equal(fido_master(&c, m), CTAP_OK);
    assert_int_equal(fido_counter_next(&c, &v), CTAP1_ERR_OTHER);
    /* Damaged: another version, another length. */
    const uint8_t bad_version[5] = {2, 0, 0, 0, 9};
    assert_int_equal(fk_space_write(&c.counters, FIDO_ID_SIGN_COUNTER, bad_version, 5), FK_STORE_OK);
    assert_int_equal(fido_counter_next(&c, &v), CTAP1_ERR_OTHER);
    const uint8_t short_rec[4] = {1, 0, 0, 9};
    assert_int_equal(fk_space_write(&c.counters, FIDO_ID_SIGN_COUNTER, short_rec, 4), FK_STORE_OK);
    assert_int_equal(fido_counter_next(&c, &v), CTAP1_ERR_OTHER);
    /* At its end it stops rather than wrap. */
    const uint8_t last[5] = {1, 0xFF, 0xFF, 0xFF, 0xFE};
    assert_int_equal(fk_space_write(&c.counters, FIDO_ID_SIGN_COUNTER, last, 5), FK_STORE_OK);
    assert_int_equal(fido_counter_next(&c, &v), CTAP_OK);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_int_equal(fido_counter_next(&c, &v), CTAP1_ERR_OTHER);
}

/* ---- Resident credential records ------------------------------------------------------ */

static void test_rk_round_trip_and_damage(void **state)
{
    (void)state;
    const fk_applet_ctx_t c = ctx();
    static fido_rk_t rk, got;
    memset(&rk, 0, sizeof rk);
    rk.rec_id = FIDO_ID_RK_FIRST + 3u;
    rk.serial = 77;
    rp(rk.rpid_hash, "rk.example");
    memset(rk.cred_id, 0xA5, sizeof rk.cred_id);
    rk.cred_protect = 2;
    rk.flags = FIDO_RK_LBK;
    rk.rpid_len = FIDO_RPID_MAX;
    memset(rk.rpid, 'r', FIDO_RPID_MAX);
    rk.uid_len = FIDO_USER_ID_MAX;
    memset(rk.uid, 0x11, FIDO_USER_ID_MAX);
    rk.name_len = 3;
    memcpy(rk.name, "bob", 3);
    rk.blob_len = FIDO_CRED_BLOB_MAX;
    memset(rk.blob, 0x22, FIDO_CRED_BLOB_MAX);
    assert_int_equal(fido_rk_save(&c, &rk), CTAP_OK);
    assert_int_equal(fido_rk_load(&c, rk.rec_id, &got), CTAP_OK);
    assert_memory_equal(&got, &rk, sizeof rk);
    assert_int_equal(fido_rk_find(&c, rk.cred_id, FIDO_CRED_ID_LEN, &got), CTAP_OK);
    assert_int_equal(got.rec_id, rk.rec_id);
    unsigned used = 0, free_slots = 0;
    assert_int_equal(fido_rk_count(&c, &used, &free_slots), CTAP_OK);
    assert_int_equal(used, 1);
    assert_int_equal(free_slots, FIDO_RK_MAX - 1u);
    /* A record that is not a sealed credential does not load, and keeps its slot. */
    const uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(fk_space_write(&c.space, FIDO_ID_RK_FIRST, junk, sizeof junk), FK_STORE_OK);
    assert_int_equal(fido_rk_load(&c, FIDO_ID_RK_FIRST, &got), CTAP1_ERR_OTHER);
    assert_int_equal(fido_rk_count(&c, &used, &free_slots), CTAP_OK);
    assert_int_equal(used, 2);
    /* A sealed record moved to another id does not open there. */
    uint8_t rec[1024];
    uint32_t size = 0;
    assert_int_equal(fk_space_size(&c.space, rk.rec_id, &size), FK_STORE_OK);
    assert_true(size <= sizeof rec);
    assert_int_equal(fk_space_read(&c.space, rk.rec_id, 0, rec, size), FK_STORE_OK);
    assert_int_equal(fk_space_write(&c.space, FIDO_ID_RK_FIRST + 1u, rec, size), FK_STORE_OK);
    assert_int_equal(fido_rk_load(&c, FIDO_ID_RK_FIRST + 1u, &got), CTAP1_ERR_OTHER);
    /* Not found by an id of another length or content. */
    assert_int_equal(fido_rk_find(&c, rk.cred_id, FIDO_CRED_ID_LEN - 1, &got),
                     CTAP2_ERR_NO_CREDENTIALS);
    rk.cred_id[0] ^= 1;
    assert_int_equal(fido_rk_find(&c, rk.cred_id, FIDO_CRED_ID_LEN, &got), CTAP2_ERR_NO_CREDENTIALS);
}

static void test_utf8_cut(void **state)
{
    (void)state;
    /* 63 ASCII bytes then a 2-byte code point: cut before it, not inside. */
    char s[80];
    memset(s, 'a', 63);
    s[63] = (char)0xC3;
    s[64] = (char)0xA9;
    assert_int_equal(fido_utf8_cut(s, 65, 64), 63);
    assert_int_equal(fido_utf8_cut(s, 64 - 1, 64), 63);
    /* A 4-byte code point across the limit. */
    memset(s, 'a', 62);
    memcpy(s + 62, "\xF0\x9F\x98\x80", 4);
    assert_int_equal(fido_utf8_cut(s, 66, 64), 62);
    assert_int_equal(fido_utf8_cut(s, 66, 66), 66);
}

/* ---- Through the card ------------------------------------------------------------------ */

static uint8_t g_out[4096];
static size_t g_len;

static uint16_t send_apdu(uint8_t cla, uint8_t ins, uint8_t p1, const void *data, size_t nc,
                          size_t ne)
{
    static uint8_t a[FK_DEVRIG_APDU_MAX];
    const fk_devrig_cmd_t cmd = {cla, ins, p1, 0, data, nc, ne, ne > 256u};
    uint16_t sw = fk_devrig_xfer(&g_dev, a, fk_devrig_apdu(a, sizeof a, &cmd), g_out,
                                 sizeof g_out, &g_len);
    g_len -= 2;
    return sw;
}

static void select_fido(void)
{
    assert_int_equal(send_apdu(0x00, 0xA4, 0x04, fk_fido_aid, FK_FIDO_AID_LEN, 0), 0x9000);
}

/* One CTAP2 command: cmd || CBOR (written by build) -> the status byte;
 * the CBOR answer in g_out + 1, g_len - 1 bytes. */
static uint8_t ctap(uint8_t cmd, void (*build)(fk_cbor_writer_t *w))
{
    uint8_t msg[1024];
    fk_cbor_writer_t w;
    size_t n = 0;
    msg[0] = cmd;
    fk_cbor_writer_init(&w, msg + 1, sizeof msg - 1);
    build(&w);
    assert_int_equal(fk_cbor_writer_finish(&w, &n), FK_CBOR_OK);
    assert_int_equal(send_apdu(0x80, 0x10, 0x00, msg, n + 1, 65536), 0x9000);
    assert_true(g_len >= 1);
    return g_out[0];
}

static const uint8_t k_cdh[32] = {1, 2, 3};
static uint8_t g_cred_id[FIDO_CRED_ID_LEN];

static void put_rp_user(fk_cbor_writer_t *w)
{
    fk_cbor_put_uint(w, 1);
    fk_cbor_put_bytes(w, k_cdh, sizeof k_cdh);
    fk_cbor_put_uint(w, 2);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_cstr(w, "id");
    fk_cbor_put_cstr(w, "x.example");
    fk_cbor_put_uint(w, 3);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_cstr(w, "id");
    fk_cbor_put_bytes(w, "u", 1);
    fk_cbor_put_uint(w, 4);
    fk_cbor_put_array(w, 1);
    fk_cbor_put_map(w, 2);
    fk_cbor_put_cstr(w, "alg");
    fk_cbor_put_int(w, -7);
    fk_cbor_put_cstr(w, "type");
    fk_cbor_put_cstr(w, "public-key");
}

static void mc_rk(fk_cbor_writer_t *w)
{
    fk_cbor_put_map(w, 5);
    put_rp_user(w);
    fk_cbor_put_uint(w, 7);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_cstr(w, "rk");
    fk_cbor_put_bool(w, true);
}

static void ga_with(fk_cbor_writer_t *w, bool up)
{
    fk_cbor_put_map(w, 4);
    fk_cbor_put_uint(w, 1);
    fk_cbor_put_cstr(w, "x.example");
    fk_cbor_put_uint(w, 2);
    fk_cbor_put_bytes(w, k_cdh, sizeof k_cdh);
    fk_cbor_put_uint(w, 3);
    fk_cbor_put_array(w, 1);
    fk_cbor_put_map(w, 2);
    fk_cbor_put_cstr(w, "id");
    fk_cbor_put_bytes(w, g_cred_id, sizeof g_cred_id);
    fk_cbor_put_cstr(w, "type");
    fk_cbor_put_cstr(w, "public-key");
    fk_cbor_put_uint(w, 5);
    fk_cbor_put_map(w, 1);
    fk_cbor_put_cstr(w, "up");
    fk_cbor_put_bool(w, up);
}

static void ga_silent(fk_cbor_writer_t *w) { ga_with(w, false); }
static void ga_touch(fk_cbor_writer_t *w) { ga_with(w, true); }

/* authData (key 2) of the answer in g_out. */
static const uint8_t *auth_data(size_t *len)
{
    fk_cbor_item_t top, v;
    assert_int_equal(fk_cbor_decode(g_out + 1, g_len - 1, FK_CBOR_CANONICAL, &top), FK_CBOR_OK);
    assert_int_equal(fk_cbor_map_find_int(&top, 2, &v), FK_CBOR_OK);
    assert_int_equal(v.type, FK_CBOR_BYTES);
    *len = (size_t)v.v;
    return v.data;
}

static uint32_t stored_counter(void)
{
    const fk_applet_ctx_t c = ctx();
    uint8_t rec[5];
    assert_int_equal(fk_space_read(&c.counters, FIDO_ID_SIGN_COUNTER, 0, rec, 5), FK_STORE_OK);
    return fk_be32(rec + 1);
}

static void test_presence_declined_and_silent(void **state)
{
    (void)state;
    select_fido();
    size_t len;
    assert_int_equal(ctap(FIDO_CMD_MAKE_CREDENTIAL, mc_rk), CTAP_OK);
    const uint8_t *ad = auth_data(&len);
    assert_true(len > 55u + FIDO_CRED_ID_LEN);
    assert_int_equal(fk_be16(ad + 53), FIDO_CRED_ID_LEN);
    memcpy(g_cred_id, ad + 55, FIDO_CRED_ID_LEN);
    const uint32_t made = fk_be32(ad + 33);
    assert_int_equal(stored_counter(), made);

    /* Declined: no credential replaced or added, no counter step. */
    fk_host_set_presence(FK_HOST_PRESENCE_DENY);
    assert_int_equal(ctap(FIDO_CMD_MAKE_CREDENTIAL, mc_rk), CTAP2_ERR_OPERATION_DENIED);
    assert_int_equal(ctap(FIDO_CMD_GET_ASSERTION, ga_touch), CTAP2_ERR_OPERATION_DENIED);
    assert_int_equal(stored_counter(), made);
    const fk_applet_ctx_t c = ctx();
    static fido_rk_t rk;
    assert_int_equal(fido_rk_find(&c, g_cred_id, FIDO_CRED_ID_LEN, &rk), CTAP_OK);

    /* Silent: no presence needed, UP clear, the counter steps. */
    assert_int_equal(ctap(FIDO_CMD_GET_ASSERTION, ga_silent), CTAP_OK);
    ad = auth_data(&len);
    assert_int_equal(len, 37);
    assert_int_equal(ad[32] & FIDO_AD_UP, 0);
    assert_int_equal(fk_be32(ad + 33), made + 1u);
    assert_int_equal(stored_counter(), made + 1u);
}

static void test_lost_counter_refuses_assertions(void **state)
{
    (void)state;
    select_fido();
    assert_int_equal(ctap(FIDO_CMD_MAKE_CREDENTIAL, mc_rk), CTAP_OK);
    size_t len;
    memcpy(g_cred_id, auth_data(&len) + 55, FIDO_CRED_ID_LEN);
    const fk_applet_ctx_t c = ctx();
    assert_int_equal(fk_space_delete(&c.counters, FIDO_ID_SIGN_COUNTER), FK_STORE_OK);
    assert_int_equal(ctap(FIDO_CMD_GET_ASSERTION, ga_silent), CTAP1_ERR_OTHER);
    assert_int_equal(g_len, 1); /* the status alone: no signature */
    assert_int_equal(ctap(FIDO_CMD_MAKE_CREDENTIAL, mc_rk), CTAP1_ERR_OTHER);
    uint32_t size;
    assert_int_equal(fk_space_size(&c.counters, FIDO_ID_SIGN_COUNTER, &size), FK_STORE_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_credid_round_trip_and_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credid_tampered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credid_restart_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_increases_and_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_fails_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rk_round_trip_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence_declined_and_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_counter_refuses_assertions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
