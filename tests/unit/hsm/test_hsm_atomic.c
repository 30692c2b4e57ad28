/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HSM's commands that change several records, and the device's records
 * under flipped bits: the real device (services, card, product applets) over
 * the host port's file-backed flash and OTP, driven by APDUs.
 *
 * - GENERATE over an existing key id (the key object with its policy, its
 *   request CE<id>, its description, its use counter), re-INITIALIZE and a
 *   PIN change on a full store: the old state stays exactly, or the new one
 *   is there complete.
 * - GENERATE over an existing key id cut at every flash program and erase:
 *   after the restart the key, its request, its list and its count are all
 *   the old ones or all the new ones.
 * - Bit flips: a populated image, one bit flipped at a time in record
 *   headers, sealed keys, PIN records, the device seed, payloads and sector
 *   headers: the device starts, every other record reads back exactly, the
 *   damage is counted or repaired, neither the SO-PIN nor the user PIN can be
 *   passed with a wrong value, and when nothing was lost the right PIN works.
 *
 * Power cuts (tests/support/flashcut.h): from the n-th flash operation on
 * every program and erase fails, as after a power cut; the test then starts
 * a new device on the same flash file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cvc.h"
#include "devrig.h"
#include "flashcut.h"
#include "hal.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "services/ns.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)
#define COUNTERS_SIZE (FK_COUNTERS_SECTORS * FK_HOST_SECTOR_SIZE)
#define SW_OK 0x9000u
#define SW_NOT_ENOUGH_MEMORY 0x6A84u
#define SW_CONDITIONS 0x6985u
#define ALG_ECDSA 0x70u
#define ALG_ECDH 0x80u
#define KEY 0x01u

static fk_testdev_t g_dev;
static uint8_t g_out[65535];
static size_t g_out_len;
static const char k_pin[] = "648219";
static const char k_pin2[] = "271828";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_so_bad[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x31};
static const uint8_t k_serial[8] = {0x0A, 0x70, 0x41, 0xC0, 0x00, 0x11, 0x22, 0x33};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};
static char g_snap[FK_DEVRIG_PATH_CAP + 8];

static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t n,
                     size_t ne)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, ne, ne > 256 || n > 255};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static uint16_t initialize(const uint8_t so[8], const char *pin)
{
    uint8_t d[64];
    fk_rbuf_t r = {d, 0, sizeof(d)};
    static const uint8_t opts[] = {0x00, 0x01}, tries = 3;
    assert_true(fk_tlv_put(&r, 0x80, opts, 2) && fk_tlv_put(&r, 0x81, pin, strlen(pin)) &&
                fk_tlv_put(&r, 0x82, so, 8) && fk_tlv_put(&r, 0x91, &tries, 1));
    return send(0x80, 0x50, 0x00, 0x00, d, r.len, 0);
}

static uint16_t verify(const char *pin) { return send(0x00, 0x20, 0x00, 0x81, pin, strlen(pin), 0); }

/* GENERATE an EC key `id` on `curve` with extra TLVs (90 counter, 91 list). */
static uint16_t generate_on(fk_curve_t curve, uint8_t id, const uint8_t *extra, size_t extra_len)
{
    static uint8_t t[1024];
    const size_t n = fk_devrig_ec_template(t, sizeof(t), curve, "UTATOMIC001", extra, extra_len);
    return send(0x00, 0x46, id, 0x00, t, n, FK_DEVRIG_NE_EXT_MAX);
}

static uint16_t generate(uint8_t id, const uint8_t *extra, size_t extra_len)
{
    return generate_on(FK_CURVE_SECP256R1, id, extra, extra_len);
}

static const uint8_t k_old_policy[] = {0x90, 0x04, 0x00, 0x00, 0x00, 0x01, /* one use */
                                       0x91, 0x01, ALG_ECDSA};              /* ECDSA only */
static const uint8_t k_new_policy[] = {0x90, 0x04, 0x00, 0x00, 0x00, 0x03, /* three uses */
                                       0x91, 0x02, ALG_ECDSA, ALG_ECDH};

/* The HSM's records, main partition. */
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

/* The public key of the request in CE<id> (held in req, len bytes). */
static void request_key(const uint8_t *req, size_t len, fk_pk_public_t *pub)
{
    fk_cvc_request_t rq;
    fk_cvc_alg_t alg;
    assert_int_equal(fk_cvc_parse_request(req, len, &rq), 0);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, pub, &alg), 0);
}

/* SIGN a fixed digest with key id and ECDSA; on 9000 the signature verifies
 * with pub. Returns the status word. */
static uint16_t sign_with(uint8_t id, const fk_pk_public_t *pub)
{
    uint8_t digest[32];
    fk_sha256("atomic", 6, digest);
    const uint16_t sw = send(0x80, 0x68, id, ALG_ECDSA, digest, sizeof(digest), 256);
    if (sw == SW_OK)
        assert_int_equal(fk_pk_ecdsa_verify(pub, digest, sizeof(digest), FK_SIG_DER, g_out,
                                            g_out_len - 2),
                         FK_CRYPTO_OK);
    return sw;
}

/* ECDH of key id with a fresh peer point on `curve`: the status word. */
static uint16_t ecdh_on(fk_curve_t curve, uint8_t id)
{
    static uint8_t blob[512];
    size_t len;
    fk_pk_key_t peer;
    assert_int_equal(fk_pk_ec_generate(curve, blob, sizeof(blob), &len), 0);
    assert_int_equal(fk_pk_parse(blob, len, &peer), 0);
    return send(0x80, 0x62, id, ALG_ECDH, peer.pub.p, peer.pub.len, 256);
}

static uint16_t ecdh_with(uint8_t id) { return ecdh_on(FK_CURVE_SECP256R1, id); }

/* Key KEY is the new one (three uses, ECDSA and ECDH) with request req:
 * ECDH spends one use, two signatures the rest. */
static void expect_new_key(fk_curve_t curve, const uint8_t *req, size_t len)
{
    fk_pk_public_t pub;
    request_key(req, len, &pub);
    assert_int_equal(ecdh_on(curve, KEY), SW_OK);
    for (int i = 0; i < 2; i++) assert_int_equal(sign_with(KEY, &pub), SW_OK);
    assert_int_equal(sign_with(KEY, &pub), SW_NOT_ENOUGH_MEMORY);
    assert_int_equal(ecdh_on(curve, KEY), SW_NOT_ENOUGH_MEMORY);
}

/* UPDATE BINARY of a whole file of len bytes (a pattern): the status word. */
static uint16_t put_file(uint16_t fid, size_t len)
{
    static uint8_t body[65535];
    size_t n = 0;
    assert_true(len + 9 <= sizeof(body));
    body[n++] = 0x54, body[n++] = 0x02, body[n++] = 0x00, body[n++] = 0x00;
    body[n++] = 0x53, body[n++] = 0x83;
    body[n++] = (uint8_t)(len >> 16), body[n++] = (uint8_t)(len >> 8), body[n++] = (uint8_t)len;
    for (size_t i = 0; i < len; i++) body[n++] = (uint8_t)(i * 31 + fid);
    return send(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, body, n, 0);
}

/* Fill the main partition with data files until not even a small one fits;
 * returns the number of files written. */
static unsigned fill_store(void)
{
    static const size_t sizes[] = {32768, 4096, 512, 64, 1};
    unsigned fid = 0xCF10, files = 0;
    for (size_t s = 0; s < FK_ARRAY_SIZE(sizes); s++) {
        uint16_t sw;
        while ((sw = put_file((uint16_t)fid, sizes[s])) == SW_OK) {
            fid++;
            files++;
            assert_true(fid <= 0xCFFF);
        }
        assert_int_equal(sw, SW_NOT_ENOUGH_MEMORY);
    }
    return files;
}

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    if (fk_devrig_setup(&g_rig, "atomic") != 0) return -1;
    snprintf(g_snap, sizeof(g_snap), "%s.snap", g_rig.flash);
    return initialize(k_so, k_pin) == SW_OK && verify(k_pin) == SW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    unlink(g_snap);
    return fk_devrig_teardown(&g_rig);
}

/* Power off, and a new device on the same files. */
static void restart(void)
{
    fk_flashcut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
}

/* Key KEY is the old one: its request, its one ECDSA use, no ECDH. */
static void expect_old_key(const uint8_t *old_req, size_t old_len)
{
    static uint8_t ce[2048];
    fk_pk_public_t pub;
    assert_int_equal(hsm_record(HSM_FID(HSM_PREFIX_EECERT, KEY), ce, sizeof(ce)), old_len);
    assert_memory_equal(ce, old_req, old_len);
    request_key(ce, old_len, &pub);
    assert_int_equal(ecdh_with(KEY), SW_CONDITIONS);
    assert_int_equal(sign_with(KEY, &pub), SW_OK);
    assert_int_equal(sign_with(KEY, &pub), SW_NOT_ENOUGH_MEMORY);
}

/* A full store: GENERATE over a key with one use and an ECDSA-only list
 * (the new key larger, a P-521 one, so its records cannot take the old
 * ones' room) is refused and leaves that key exactly as it was, never its
 * private key with another policy. */
static void test_generate_full_store(void **state)
{
    (void)state;
    static uint8_t old_req[2048];
    assert_int_equal(generate(KEY, k_old_policy, sizeof(k_old_policy)), SW_OK);
    const size_t old_len = hsm_record(HSM_FID(HSM_PREFIX_EECERT, KEY), old_req, sizeof(old_req));
    assert_true(old_len > 0);
    assert_true(fill_store() > 0);

    assert_int_equal(generate_on(FK_CURVE_SECP521R1, KEY, k_new_policy, sizeof(k_new_policy)),
                     SW_NOT_ENOUGH_MEMORY);
    assert_int_equal(g_out_len, 2); /* no request leaves the card */
    restart();
    assert_int_equal(verify(k_pin), SW_OK);
    expect_old_key(old_req, old_len);

    /* With room again, the new key comes complete. */
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\xCF\x10", 2, 0), SW_OK);
    assert_int_equal(generate_on(FK_CURVE_SECP521R1, KEY, k_new_policy, sizeof(k_new_policy)),
                     SW_OK);
    static uint8_t ce[2048];
    const size_t n = hsm_record(HSM_FID(HSM_PREFIX_EECERT, KEY), ce, sizeof(ce));
    expect_new_key(FK_CURVE_SECP521R1, ce, n);
}

/* GENERATE over an existing key cut at every flash operation: afterwards
 * the key object, its request, its list and its count are all old or all
 * new. */
static void test_generate_powercut(void **state)
{
    (void)state;
    static uint8_t old_req[2048], ce[2048];
    int olds = 0, news = 0;
    assert_int_equal(generate(KEY, k_old_policy, sizeof(k_old_policy)), SW_OK);
    const size_t old_len = hsm_record(HSM_FID(HSM_PREFIX_EECERT, KEY), old_req, sizeof(old_req));
    fk_devrig_snapshot(&g_rig, g_snap);
    for (long n = 0;; n++) {
        fk_devrig_restore(&g_rig, g_snap);
        assert_int_equal(verify(k_pin), SW_OK);
        fk_flashcut_arm(n);
        const uint16_t sw = generate(KEY, k_new_policy, sizeof(k_new_policy));
        const bool was_cut = fk_flashcut_cut();
        restart();
        assert_int_equal(verify(k_pin), SW_OK);
        const size_t len = hsm_record(HSM_FID(HSM_PREFIX_EECERT, KEY), ce, sizeof(ce));
        if (len == old_len && memcmp(ce, old_req, len) == 0) {
            olds++;
            assert_int_not_equal(sw, SW_OK);
            expect_old_key(old_req, old_len);
        } else {
            news++;
            expect_new_key(FK_CURVE_SECP256R1, ce, len);
        }
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
}

/* Re-INITIALIZE and a PIN change on a full store: the old device (or PIN)
 * exactly, or the new one complete. */
static void test_reinit_and_change_full_store(void **state)
{
    (void)state;
    assert_int_equal(generate(KEY, k_old_policy, sizeof(k_old_policy)), SW_OK);
    fill_store();
    fk_devrig_snapshot(&g_rig, g_snap);

    /* CHANGE: the old PIN or the new one works, and the key with it. */
    const uint16_t sw = send(0x00, 0x24, 0x00, 0x81, "648219271828", 12, 0);
    restart();
    if (sw == SW_OK) {
        assert_int_equal(verify(k_pin), 0x63C2);
        assert_int_equal(verify(k_pin2), SW_OK);
    } else {
        assert_int_equal(verify(k_pin2), 0x63C2);
        assert_int_equal(verify(k_pin), SW_OK);
    }
    assert_int_equal(ecdh_with(KEY), SW_CONDITIONS); /* the key opens: its own answer */

    fk_devrig_restore(&g_rig, g_snap);
    const uint16_t isw = initialize(k_so, k_pin2);
    restart();
    if (isw == SW_OK) {
        assert_int_equal(verify(k_pin2), SW_OK);
        assert_int_equal(hsm_record(HSM_FID(HSM_PREFIX_KEY, KEY), g_out, sizeof(g_out)), 0);
        assert_int_equal(hsm_record(0xCF10, g_out, sizeof(g_out)), 0);
    } else {
        assert_int_equal(verify(k_pin), SW_OK);
        assert_true(hsm_record(HSM_FID(HSM_PREFIX_KEY, KEY), g_out, sizeof(g_out)) > 0);
        assert_true(hsm_record(0xCF10, g_out, sizeof(g_out)) > 0);
    }
}

/* ---- Bit flips ------------------------------------------------------------- */

#define REF_MAX 64u
#define REF_DATA_MAX 4096u

/* One record of the populated image as it should read back. */
typedef struct ref_rec {
    bool counters;     /* which partition */
    fk_store_key_t key;
    uint32_t addr;     /* header offset in its partition */
    uint32_t len;
    uint8_t data[REF_DATA_MAX];
} ref_rec_t;

static ref_rec_t g_ref[REF_MAX];
static size_t g_nref;

/* Note every live record of partition s (its index gives the addresses). */
static void collect(const fk_store_t *s, bool counters)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        ref_rec_t *r = &g_ref[g_nref++];
        assert_true(g_nref <= REF_MAX);
        r->counters = counters;
        r->key = s->entries[i].key;
        r->addr = s->entries[i].addr;
        r->len = s->entries[i].len;
        assert_true(r->len <= REF_DATA_MAX);
        assert_int_equal(fk_store_read(s, r->key, 0, r->data, r->len), FK_STORE_OK);
    }
}

/* The byte range [lo, hi) of the image a record covers (header and payload,
 * padded; payloads that run over sector headers are counted whole). */
static void rec_span(const ref_rec_t *r, uint32_t *lo, uint32_t *hi)
{
    const uint32_t base = r->counters ? 0u : COUNTERS_SIZE;
    const uint32_t pad = (r->len + 31u) & ~31u;
    *lo = base + r->addr;
    *hi = *lo + 32u + pad + 32u * (1u + pad / (FK_HOST_SECTOR_SIZE - 32u));
}

/* One flip: the device starts, every record the flip cannot have touched
 * reads back exactly, the one it may have reads back exactly or not at all
 * (and then the damage is counted), and no PIN is passed with a wrong value. */
static void check_flip(uint32_t off, unsigned bit)
{
    static uint8_t buf[REF_DATA_MAX];
    fk_devrig_stop(&g_rig);
    fk_devrig_copy_file(g_snap, g_rig.flash);
    fk_devrig_file_xor(g_rig.flash, (long)off, (uint8_t)(1u << bit));
    assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
    fk_card_power_on(&g_dev.card);
    bool lost = false;
    for (size_t i = 0; i < g_nref; i++) {
        const ref_rec_t *r = &g_ref[i];
        const fk_store_t *s = r->counters ? &g_dev.svc.counters : &g_dev.svc.store;
        uint32_t lo, hi, size = 0;
        rec_span(r, &lo, &hi);
        const bool touched = off >= lo && off < hi;
        int rc = fk_store_size(s, r->key, &size);
        if (rc == FK_STORE_OK && size == r->len) rc = fk_store_read(s, r->key, 0, buf, r->len);
        const bool same = rc == FK_STORE_OK && size == r->len && memcmp(buf, r->data, r->len) == 0;
        if (!touched) {
            if (!same) fail_msg("flip at %u.%u cost record %06x (off %u..%u)", off, bit, r->key, lo, hi);
        } else if (!same) {
            lost = true;
        }
    }
    if (lost) {
        fk_store_stats_t a, c;
        fk_store_stats(&g_dev.svc.store, &a);
        fk_store_stats(&g_dev.svc.counters, &c);
        assert_true(a.damaged + c.damaged + a.repaired + c.repaired > 0);
    }
    /* The doors stay shut: a wrong SO-PIN never initializes, a wrong user
     * PIN never verifies. */
    assert_int_not_equal(initialize(k_so_bad, k_pin2), SW_OK);
    assert_int_not_equal(verify("000000"), SW_OK);
    /* And when the flip cost nothing, the right PIN still opens the keys. */
    if (!lost) {
        assert_int_equal(verify(k_pin), SW_OK);
        assert_int_equal(ecdh_with(KEY), SW_CONDITIONS);
    }
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

static void test_bitflips(void **state)
{
    (void)state;
    /* A populated device: keys (one with a counter), data files, PINs. */
    assert_int_equal(generate(KEY, k_old_policy, sizeof(k_old_policy)), SW_OK);
    assert_int_equal(generate(2, NULL, 0), SW_OK);
    assert_int_equal(put_file(0xCF01, 300), SW_OK);
    assert_int_equal(put_file(0xCD01, 100), SW_OK);
    g_nref = 0;
    collect(&g_dev.svc.store, false);
    collect(&g_dev.svc.counters, true);
    fk_devrig_snapshot(&g_rig, g_snap);

    /* A deep run flips every bit of every record header; CI a sample. */
    const char *deep_env = getenv("FK_DEEP");
    const bool deep = deep_env != NULL && strcmp(deep_env, "0") != 0 && deep_env[0] != '\0';
    unsigned flips = 0;
    for (size_t i = 0; i < g_nref; i++) {
        const ref_rec_t *r = &g_ref[i];
        const uint32_t base = (r->counters ? 0u : COUNTERS_SIZE) + r->addr;
        const uint16_t id = FK_STORE_KEY_ID(r->key);
        const bool vital = !r->counters && (id == HSM_ID_SO_PIN || id == HSM_ID_USER_PIN ||
                                            id == HSM_ID_CONFIG);
        /* Header: every bit of the vital records (the PINs, the
         * configuration), a sample of the others. */
        const unsigned header_bits = deep || vital ? 26u * 8u : 6u;
        for (unsigned k = 0; k < header_bits; k++) {
            const unsigned b = deep || vital ? k : rnd(26u * 8u);
            check_flip(base + b / 8u, b % 8u);
            flips++;
        }
        /* Payload: a few bits (sealed keys and PIN records included). */
        for (unsigned k = 0; k < (deep ? 64u : 3u) && r->len > 0; k++) {
            const uint32_t p = rnd(r->len * 8u);
            check_flip(base + 32u + p / 8u, p % 8u);
            flips++;
        }
    }
    /* Sector headers of both partitions. */
    for (uint32_t sect = 0; sect < FLASH_SIZE / FK_HOST_SECTOR_SIZE; sect += deep ? 1u : 7u) {
        const unsigned b = rnd(32u * 8u);
        check_flip(sect * FK_HOST_SECTOR_SIZE + b / 8u, b % 8u);
        flips++;
    }
    print_message("%u single-bit flips checked\n", flips);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_full_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_powercut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_and_change_full_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bitflips, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
