/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the HSM applet's PIN module (applets/hsm/hsm_pin.c): the
 * real device (fk_card_transceive, the fusekey product) over the host
 * port's file-backed flash and OTP, driven by APDUs.
 *
 * Power cuts: the program is linked with --wrap for fk_hal_flash_program and
 * fk_hal_flash_erase (see CMakeLists.txt). After a chosen number of flash
 * operations the wrappers fail every further one, as a device that lost
 * power would never complete them; the test then "powers up" a new device
 * on the same flash file (fk_services_init mounts and recovers). Because the
 * host flash writes each operation through to the file, the file then holds
 * exactly what the chip's flash would hold after a cut between two flash
 * operations (a cut inside one operation is the store's concern, covered by
 * its own power-cut harness). fk_pin_verifier_check is wrapped too, to see
 * what the counters partition holds at the moment a PIN is compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devrig.h"
#include "flashcut.h"
#include "hal.h"
#include "host_port.h"
#include "hsm.h"
#include "hsm_internal.h"
#include "seal/seal.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "services/pin.h"
#include "store/space.h"
#include "store/store.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)
#define COUNTERS_SIZE (FK_COUNTERS_SECTORS * FK_HOST_SECTOR_SIZE)

#define SW_OK 0x9000u
#define SW_BLOCKED 0x6983u
#define SW_TRANSPORT 0x6984u
#define SW_REF_NOT_FOUND 0x6A88u
#define SW_WRONG_DATA 0x6A80u
#define SW_WRONG_LENGTH 0x6700u
#define SW_WRONG_P1P2 0x6B00u
#define SW_NOT_ALLOWED 0x6986u
#define SW_SECURITY 0x6982u
#define SW_TRIES(n) ((uint16_t)(0x63C0u | (n)))

#define REF_USER 0x81u
#define REF_SO 0x88u
#define OPT_RRC 0x0001u
#define OPT_TRANSPORT 0x0002u
#define OPT_RRC_COUNTER_ONLY 0x0020u

static fk_testdev_t g_dev;

/* The HSM's session in the card under test (read only). */
static const hsm_state_t *session(void)
{
    return (const hsm_state_t *)fk_devrig_applet_state(&g_dev, &fk_hsm_applet);
}
static uint8_t g_out[65536 + 2];
static size_t g_out_len;

static const uint8_t k_hsm_aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
static const uint8_t k_serial[8] = {0x70, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
static const char k_pin[] = "648219";
static const char k_pin2[] = "123456";
/* "57621880": what sc-hsm-tool makes of --so-pin 3537363231383830 */
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_so2[8] = {0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18};
static const uint8_t k_so_bad[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x31};

static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};

/* ---- Flash fault injection and probes (--wrap) ---------------------------- */

int __real_fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                                 const uint8_t verifier[FK_PIN_VERIFIER_LEN]);
int __wrap_fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                                 const uint8_t verifier[FK_PIN_VERIFIER_LEN]);

static void cut_after(long ops) { fk_flashcut_arm(ops); }
static void cut_disarm(void) { fk_flashcut_disarm(); }

/* What a freshly mounted counters partition says at each PIN comparison. */
static bool g_probe;
static int g_probe_checks;
static int g_probe_tries[4];
static fk_services_t g_probe_svc;

/* The tries of PIN `ref` as freshly mounted partitions hold them (-1 when
 * there is no PIN). */
static int durable_tries(const fk_pin_ref_t *ref)
{
    fk_pin_status_t st;
    unsigned long before = fk_flashcut_ops();
    /* A mount of a healthy store writes nothing; the probe must not either. */
    if (fk_store_mount(&g_probe_svc.counters, 0, COUNTERS_SIZE) != FK_STORE_OK ||
        fk_store_mount(&g_probe_svc.store, COUNTERS_SIZE, FLASH_SIZE - COUNTERS_SIZE) !=
            FK_STORE_OK)
        return -1;
    assert_int_equal(fk_flashcut_ops(), before);
    g_probe_svc.product = &fk_product;
    const fk_applet_ctx_t c = fk_services_applet_ctx(&g_probe_svc, &fk_hsm_applet);
    if (fk_pin_status(&c, ref, &st) != FK_PIN_OK) return -1;
    return st.tries;
}

int __wrap_fk_pin_verifier_check(const fk_space_t *sp, uint16_t id, const void *pin, size_t pin_len,
                                 const uint8_t verifier[FK_PIN_VERIFIER_LEN])
{
    if (g_probe && g_probe_checks < (int)FK_ARRAY_SIZE(g_probe_tries))
        g_probe_tries[g_probe_checks++] =
            durable_tries(id == HSM_ID_SO_PIN ? &hsm_so_pin : &hsm_user_pin);
    return __real_fk_pin_verifier_check(sp, id, pin, pin_len, verifier);
}

/* ---- The device ---------------------------------------------------------- */

/* Power off, and power up a new device on the same flash (mount, recovery). */
static void dev_cycle(void)
{
    cut_disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
}

static int setup(void **state)
{
    (void)state;
    cut_disarm();
    g_probe = false;
    return fk_devrig_setup(&g_rig, "hsm-pin");
}

static int teardown(void **state)
{
    (void)state;
    cut_disarm();
    return fk_devrig_teardown(&g_rig);
}


/* True when needle occurs anywhere in the flash file. */
static bool flash_contains(const void *needle, size_t len)
{
    static uint8_t img[FLASH_SIZE];
    assert_int_equal(fk_devrig_load_file(g_rig.flash, img, sizeof(img)), FLASH_SIZE);
    return memmem(img, FLASH_SIZE, needle, len) != NULL;
}

/* ---- APDUs --------------------------------------------------------------- */

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    return fk_devrig_xfer(&g_dev, apdu, len, g_out, sizeof(g_out), &g_out_len);
}

/* Short APDU; le < 0: no Le (0 asks for up to 256 bytes). */
static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t nc,
                     int le)
{
    assert_true(nc <= 255u);
    const size_t ne = le < 0 ? 0u : le == 0 ? FK_DEVRIG_NE_SHORT_MAX : (size_t)le;
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, nc, ne, false};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static uint16_t select_hsm(void)
{
    return send(0x00, 0xA4, 0x04, 0x00, k_hsm_aid, sizeof(k_hsm_aid), 0);
}

static uint16_t verify(uint8_t ref, const void *pin, size_t len)
{
    return send(0x00, 0x20, 0x00, ref, pin, len, -1);
}

static uint16_t verify_user(const char *pin) { return verify(REF_USER, pin, strlen(pin)); }
static uint16_t status_user(void) { return verify(REF_USER, NULL, 0); }
static uint16_t status_so(void) { return verify(REF_SO, NULL, 0); }

static uint16_t change(uint8_t ref, const void *old_pin, size_t old_len, const void *new_pin,
                       size_t new_len)
{
    uint8_t d[64];
    assert_true(old_len + new_len <= sizeof(d));
    memcpy(d, old_pin, old_len);
    memcpy(d + old_len, new_pin, new_len);
    return send(0x00, 0x24, 0x00, ref, d, old_len + new_len, -1);
}

static uint16_t change_user(const char *old_pin, const char *new_pin)
{
    return change(REF_USER, old_pin, strlen(old_pin), new_pin, strlen(new_pin));
}

/* RESET RETRY COUNTER: so (may be NULL) || pin (may be NULL). */
static uint16_t reset_retry(uint8_t p1, const uint8_t *so, const char *pin)
{
    uint8_t d[64];
    size_t n = 0;
    if (so != NULL) {
        memcpy(d, so, 8);
        n = 8;
    }
    if (pin != NULL) {
        memcpy(d + n, pin, strlen(pin));
        n += strlen(pin);
    }
    return send(0x00, 0x2C, p1, REF_USER, d, n, -1);
}

/* A TLV list for INITIALIZE. */
typedef struct tlvs {
    uint8_t b[255];
    size_t n;
} tlvs_t;

static void tlv_add(tlvs_t *t, uint8_t tag, const void *v, size_t len)
{
    assert_true(t->n + 2 + len <= sizeof(t->b));
    t->b[t->n++] = tag;
    t->b[t->n++] = (uint8_t)len;
    memcpy(t->b + t->n, v, len);
    t->n += len;
}

static void tlv_add_u8(tlvs_t *t, uint8_t tag, uint8_t v) { tlv_add(t, tag, &v, 1); }

static void tlv_add_u16(tlvs_t *t, uint8_t tag, uint16_t v)
{
    const uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    tlv_add(t, tag, b, 2);
}

static uint16_t initialize_tlvs(const tlvs_t *t)
{
    return send(0x80, 0x50, 0x00, 0x00, t->b, t->n, -1);
}

/* INITIALIZE with options, user PIN, SO-PIN and retry count (0: no 91). */
static uint16_t initialize(uint16_t options, const char *pin, const uint8_t so[8], uint8_t tries)
{
    tlvs_t t = {{0}, 0};
    tlv_add_u16(&t, 0x80, options);
    tlv_add(&t, 0x81, pin, strlen(pin));
    tlv_add(&t, 0x82, so, 8);
    if (tries != 0) tlv_add_u8(&t, 0x91, tries);
    return initialize_tlvs(&t);
}

static void init_default(void) { assert_int_equal(initialize(OPT_RRC, k_pin, k_so, 3), SW_OK); }

/* The options bytes of the FCP's tag 85 (after a SELECT). */
static uint16_t fcp_options(void)
{
    assert_int_equal(select_hsm(), SW_OK);
    for (size_t i = 2; i + 2 <= g_out_len - 2; i += 2u + g_out[i + 1]) {
        if (g_out[i] == 0x85) {
            assert_int_equal(g_out[i + 1], 5);
            return (uint16_t)((g_out[i + 2] << 8) | g_out[i + 3]);
        }
    }
    fail_msg("no tag 85 in the FCP");
    return 0;
}

/* The HSM's namespace in each partition, and the services' own. */
static fk_space_t hsm_main(void) { return (fk_space_t){&g_dev.svc.store, FK_NS_HSM}; }
static fk_space_t hsm_ctrs(void) { return (fk_space_t){&g_dev.svc.counters, FK_NS_HSM}; }

static bool store_has(fk_space_t sp, uint16_t id)
{
    uint32_t size;
    return fk_space_size(&sp, id, &size) == FK_STORE_OK;
}

static void store_put(fk_space_t sp, uint16_t id)
{
    const uint8_t v[4] = {(uint8_t)(id >> 8), (uint8_t)id, 0x5A, 0xA5};
    assert_int_equal(fk_space_write(&sp, id, v, sizeof(v)), FK_STORE_OK);
}

/* The user PIN's tries as the flash holds them (-1 when there is none). */
static int user_tries_on_flash(void) { return durable_tries(&hsm_user_pin); }

/* Store m as the HSM's key object CC<id> (a generic secret), encrypted under
 * the master key of the session as a generated key is: the key-object
 * service's result (FK_KEY_EINVAL without a master key in the session). */
static int hsm_put(uint8_t id, const uint8_t *m, size_t len)
{
    const fk_applet_ctx_t ctx = fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet);
    fk_key_policy_t p;
    memset(&p, 0, sizeof(p));
    p.kind = FK_KEY_HMAC;
    p.size = (uint16_t)len;
    p.domain = FK_KEY_NO_DOMAIN;
    if (!session()->mk_loaded) return FK_KEY_EINVAL;
    return fk_key_put(&ctx, HSM_FID(HSM_PREFIX_KEY, id), &p, m, len, session()->mk);
}

/* Open the HSM's key object CC<id> with the session's master key. */
static int hsm_get(uint8_t id, uint8_t *out, size_t cap, size_t *len)
{
    return fk_devrig_hsm_key(&g_dev, id, out, cap, len);
}

/* ---- Tests ---------------------------------------------------------------- */

static void test_blank_card(void **state)
{
    (void)state;
    assert_int_equal(fcp_options(), 0x0000);
    assert_false(hsm_initialized(&(fk_applet_ctx_t[]){fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet)}[0]));
    assert_int_equal(status_user(), SW_REF_NOT_FOUND);
    assert_int_equal(status_so(), SW_REF_NOT_FOUND);
    assert_int_equal(verify_user(k_pin), SW_REF_NOT_FOUND);
    assert_int_equal(verify(REF_SO, k_so, 8), SW_REF_NOT_FOUND);
    assert_int_equal(change_user(k_pin, k_pin2), SW_REF_NOT_FOUND);
    assert_int_equal(reset_retry(0x00, k_so, k_pin), SW_REF_NOT_FOUND);
    /* The biometric probes of OpenSC's bind. */
    assert_int_equal(verify(0x85, NULL, 0), SW_REF_NOT_FOUND);
    assert_int_equal(verify(0x86, NULL, 0), SW_REF_NOT_FOUND);
}

static void test_version_info(void **state)
{
    (void)state;
    fk_store_stats_t st;
    /* Case 1, short Le and the extended form pypicohsm sends. */
    assert_int_equal(send(0x80, 0x50, 0x00, 0x00, NULL, 0, 0), SW_OK);
    assert_int_equal(g_out_len, 7 + 2);
    fk_store_stats(&g_dev.svc.store, &st);
    assert_int_equal(((uint32_t)g_out[0] << 24) | ((uint32_t)g_out[1] << 16) |
                         ((uint32_t)g_out[2] << 8) | g_out[3],
                     st.free);
    assert_true(st.free > 0);
    assert_int_equal(g_out[4], 0);
    assert_int_equal(g_out[5], FK_HSM_VERSION_MAJOR);
    assert_int_equal(g_out[6], FK_HSM_VERSION_MINOR);
    static const uint8_t ext[] = {0x80, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(xfer(ext, sizeof(ext)), SW_OK);
    assert_int_equal(g_out_len, 7 + 2);
    assert_int_equal(g_out[5], FK_HSM_VERSION_MAJOR);
    /* Case 1 (no Le): the status alone, as a SmartCard-HSM answers. */
    assert_int_equal(send(0x80, 0x50, 0x00, 0x00, NULL, 0, -1), SW_OK);
    assert_int_equal(g_out_len, 2);
    /* Wrong P1/P2. */
    assert_int_equal(send(0x80, 0x50, 0x01, 0x00, NULL, 0, 0), 0x6A86);
    /* Also after initialization; less free memory then. */
    init_default();
    assert_int_equal(send(0x80, 0x50, 0x00, 0x00, NULL, 0, 0), SW_OK);
    fk_store_stats(&g_dev.svc.store, &st);
    assert_int_equal(((uint32_t)g_out[0] << 24) | ((uint32_t)g_out[1] << 16) |
                         ((uint32_t)g_out[2] << 8) | g_out[3],
                     st.free);
}

static void test_initialize_validation(void **state)
{
    (void)state;
    static const uint8_t pin17[17] = "12345678901234567";
    static const uint8_t aid17[17] = {0};
    struct {
        const char *what;
        tlvs_t t;
    } bad[32];
    size_t n = 0;
#define BAD(name) (bad[n].what = (name), bad[n].t.n = 0, &bad[n++].t)
    tlvs_t *t;

    t = BAD("no user PIN");
    tlv_add_u16(t, 0x80, 1);
    tlv_add(t, 0x82, k_so, 8);
    t = BAD("no SO-PIN");
    tlv_add(t, 0x81, k_pin, 6);
    t = BAD("user PIN of 5");
    tlv_add(t, 0x81, k_pin, 5);
    tlv_add(t, 0x82, k_so, 8);
    t = BAD("user PIN of 17");
    tlv_add(t, 0x81, pin17, 17);
    tlv_add(t, 0x82, k_so, 8);
    t = BAD("SO-PIN of 7");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 7);
    t = BAD("SO-PIN of 9");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, pin17, 9);
    t = BAD("options of 1 byte");
    tlv_add_u8(t, 0x80, 1);
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    t = BAD("retry 0");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u8(t, 0x91, 0);
    t = BAD("retry 11");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u8(t, 0x91, 11);
    t = BAD("retry of 2 bytes");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x91, 3);
    t = BAD("DKEK shares of 2 bytes");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x92, 1);
    t = BAD("PKA of 1 byte");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u8(t, 0x93, 1);
    t = BAD("PKA 0 keys");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x93, 0x0001);
    t = BAD("PKA 91 keys");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x93, 0x5B01);
    t = BAD("PKA required > total");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x93, 0x0203);
    t = BAD("PKA 0 required");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x93, 0x0200);
    t = BAD("bio AID of 17");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add(t, 0x95, aid17, 17);
    t = BAD("0 key domains");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u8(t, 0x97, 0);
    t = BAD("key domains of 2 bytes");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x97, 1);
    t = BAD("repeated user PIN");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add(t, 0x81, k_pin2, 6);
    t = BAD("repeated options");
    tlv_add_u16(t, 0x80, 1);
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u16(t, 0x80, 1);
    t = BAD("unknown tag 83");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add_u8(t, 0x83, 1);
    t = BAD("unknown constructed tag");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    tlv_add(t, 0xA0, "\x80\x00", 2);
    t = BAD("value past the end");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    t->b[t->n++] = 0x91;
    t->b[t->n++] = 0x02;
    t->b[t->n++] = 0x03;
    t = BAD("padding byte");
    tlv_add(t, 0x81, k_pin, 6);
    tlv_add(t, 0x82, k_so, 8);
    t->b[t->n++] = 0x00;
#undef BAD
    for (size_t i = 0; i < n; i++) {
        uint16_t sw = initialize_tlvs(&bad[i].t);
        if (sw != SW_WRONG_DATA) fail_msg("%s: %04X", bad[i].what, sw);
        assert_int_equal(status_user(), SW_REF_NOT_FOUND);
    }
    assert_int_equal(send(0x80, 0x50, 0x00, 0x01, k_pin, 6, -1), 0x6A86);
    assert_int_equal(fcp_options(), 0);
    /* Nothing was written: the same INITIALIZE with valid data works. */
    init_default();
    assert_int_equal(status_user(), SW_TRIES(3));
}

static void test_initialize_opensc_forms(void **state)
{
    (void)state;
    /* sc-hsm-tool --initialize --so-pin 3537363231383830 --pin 648219 */
    static const uint8_t tool[] = {0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81,
                                   0x06, 0x36, 0x34, 0x38, 0x32, 0x31, 0x39, 0x82, 0x08, 0x35,
                                   0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30, 0x91, 0x01, 0x03};
    assert_int_equal(xfer(tool, sizeof(tool)), SW_OK);
    assert_int_equal(fcp_options(), 0x0001);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(status_so(), SW_TRIES(15));
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(status_user(), SW_OK);

    /* ... --dkek-shares 1 (tag 92), re-initializing with the same SO-PIN. */
    uint8_t with_dkek[sizeof(tool) + 3];
    memcpy(with_dkek, tool, sizeof(tool));
    with_dkek[4] = 0x1C;
    memcpy(with_dkek + sizeof(tool), "\x92\x01\x01", 3);
    assert_int_equal(xfer(with_dkek, sizeof(with_dkek)), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3)); /* the session was logged out */

    /* --pin-retry 5 with an 8-digit PIN, no options, all optional tags. */
    tlvs_t t = {{0}, 0};
    tlv_add(&t, 0x81, "64821900", 8);
    tlv_add(&t, 0x82, k_so, 8);
    tlv_add_u8(&t, 0x91, 5);
    tlv_add_u8(&t, 0x92, 0);
    tlv_add_u16(&t, 0x93, 0x0302);
    tlv_add(&t, 0x95, "\xA0\x00\x00\x01\x67\x45\x53\x49", 8);
    tlv_add(&t, 0x96, "", 0);
    tlv_add_u8(&t, 0x97, 4);
    assert_int_equal(initialize_tlvs(&t), SW_OK);
    assert_int_equal(fcp_options(), 0x0000);
    assert_int_equal(status_user(), SW_TRIES(5));
    assert_int_equal(verify_user(k_pin), SW_TRIES(4));
    assert_int_equal(verify_user("64821900"), SW_OK);

    /* No 91: three tries. Option 0004 (session PIN, not implemented) is not
     * kept: OpenSC would otherwise use commands the applet lacks. */
    assert_int_equal(initialize(0x0005, k_pin, k_so, 0), SW_OK);
    assert_int_equal(fcp_options(), 0x0001);
    assert_int_equal(status_user(), SW_TRIES(3));

    /* pkcs11-tool --init-token: 81 = first 6 bytes of the binary SO-PIN. */
    assert_int_equal(verify(REF_SO, k_so_bad, 8), SW_TRIES(14));
    tlvs_t b = {{0}, 0};
    tlv_add_u16(&b, 0x80, OPT_RRC);
    tlv_add(&b, 0x81, k_so2, 6);
    tlv_add(&b, 0x82, k_so, 8);
    tlv_add_u8(&b, 0x91, 3);
    assert_int_equal(initialize_tlvs(&b), SW_OK);
    assert_int_equal(status_so(), SW_TRIES(15));
    assert_int_equal(verify(REF_USER, k_so2, 6), SW_OK);
    /* A binary PIN with every kind of byte, 16 long. */
    static const uint8_t bin16[16] = {0x00, 0xFF, 0x80, 0x7F, 0x01, 0x20, 0x9F, 0x00,
                                      0x00, 0x63, 0xC3, 0x90, 0x00, 0x0A, 0x0D, 0xFE};
    assert_int_equal(change(REF_USER, k_so2, 6, bin16, 16), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(verify(REF_USER, bin16, 16), SW_OK);
    assert_int_equal(verify(REF_USER, bin16, 15), SW_TRIES(2));
}

static void test_verify_sequence_and_unblock(void **state)
{
    (void)state;
    init_default();
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(verify_user("000000"), SW_TRIES(2));
    assert_int_equal(verify_user("000000"), SW_TRIES(1));
    assert_int_equal(status_user(), SW_TRIES(1));
    assert_int_equal(verify_user("000000"), SW_BLOCKED);
    assert_int_equal(status_user(), SW_BLOCKED);
    assert_int_equal(verify_user(k_pin), SW_BLOCKED);   /* correct, but blocked */
    assert_int_equal(status_user(), SW_BLOCKED);
    dev_cycle();
    assert_int_equal(status_user(), SW_BLOCKED);       /* durable */
    assert_int_equal(verify_user(k_pin), SW_BLOCKED);

    /* The SO unblocks with a new PIN (C_InitPIN). */
    assert_int_equal(reset_retry(0x00, k_so, k_pin2), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));      /* no user rights from 2C */
    assert_int_equal(status_so(), SW_TRIES(15));
    assert_int_equal(verify_user(k_pin), SW_TRIES(2)); /* the old PIN is gone */
    assert_int_equal(verify_user(k_pin2), SW_OK);
    assert_int_equal(status_user(), SW_OK);
    /* A correct PIN restores the counter. */
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));
}

static void test_verify_errors_and_session(void **state)
{
    (void)state;
    init_default();
    assert_int_equal(send(0x00, 0x20, 0x01, REF_USER, k_pin, 6, -1), SW_WRONG_P1P2);
    assert_int_equal(send(0x00, 0x20, 0x01, REF_USER, NULL, 0, -1), SW_WRONG_P1P2);
    static const uint8_t refs[] = {0x00, 0x01, 0x80, 0x82, 0x85, 0x86, 0x89, 0xFF};
    for (size_t i = 0; i < sizeof(refs); i++) {
        assert_int_equal(verify(refs[i], NULL, 0), SW_REF_NOT_FOUND);
        assert_int_equal(verify(refs[i], k_pin, 6), SW_REF_NOT_FOUND);
    }
    /* Lengths no PIN can have cost no try. */
    assert_int_equal(verify(REF_USER, k_pin, 5), SW_WRONG_LENGTH);
    assert_int_equal(verify(REF_USER, "12345678901234567", 17), SW_WRONG_LENGTH);
    assert_int_equal(verify(REF_SO, k_so, 7), SW_WRONG_LENGTH);
    assert_int_equal(verify(REF_SO, "123456789", 9), SW_WRONG_LENGTH);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(status_so(), SW_TRIES(15));

    /* Verified, then a failed VERIFY clears it. CLA 80 works too. */
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_true(fk_pin_verified(&session()->pins, &hsm_user_pin) && session()->mk_loaded);
    assert_int_equal(send(0x80, 0x20, 0x00, REF_USER, NULL, 0, -1), SW_OK);
    assert_int_equal(verify_user("999999"), SW_TRIES(2));
    assert_false(fk_pin_verified(&session()->pins, &hsm_user_pin) || session()->mk_loaded);
    assert_int_equal(status_user(), SW_TRIES(2));
    /* SELECT logs out; so does a power cycle. */
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(verify_user(k_pin), SW_OK);
    fk_card_power_off(&g_dev.card);
    fk_card_power_on(&g_dev.card);
    assert_int_equal(status_user(), SW_TRIES(3));

    /* The SO-PIN: 15 tries, VERIFY opens an SO session without user rights. */
    assert_int_equal(verify(REF_SO, k_so_bad, 8), SW_TRIES(14));
    assert_int_equal(status_so(), SW_TRIES(14));
    assert_int_equal(verify(REF_SO, k_so, 8), SW_OK);
    assert_int_equal(status_so(), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_false(session()->mk_loaded);
    assert_true(session()->so_mk_loaded);
    assert_int_equal(verify(REF_SO, k_so_bad, 8), SW_TRIES(14));
    assert_false(fk_pin_verified(&session()->pins, &hsm_so_pin) || session()->so_mk_loaded);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(verify(REF_SO, k_so, 8), SW_OK);
    assert_int_equal(status_so(), SW_OK);
}

static void test_change_pin(void **state)
{
    (void)state;
    init_default();
    /* pkcs11-tool --login --change-pin: status, VERIFY, CHANGE. */
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(verify_user(k_pin), SW_OK);
    static const uint8_t captured[] = {0x00, 0x24, 0x00, 0x81, 0x0C, 0x36, 0x34, 0x38, 0x32,
                                       0x31, 0x39, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36};
    assert_int_equal(xfer(captured, sizeof(captured)), SW_OK);
    assert_int_equal(status_user(), SW_OK); /* the old PIN was proven */
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_TRIES(2));
    assert_int_equal(verify_user(k_pin2), SW_OK);

    /* Lengths: the split follows the stored length (6), new 6..16. */
    assert_int_equal(change_user(k_pin2, "0123456789ABCDEF"), SW_OK);
    assert_int_equal(change_user("0123456789ABCDEF", "abcdefg"), SW_OK);
    assert_int_equal(verify_user("abcdefg"), SW_OK);
    /* New PIN too short / too long: refused after the old PIN was proven,
     * counter restored, PIN unchanged. */
    assert_int_equal(change_user("abcdefg", "12345"), SW_WRONG_LENGTH);
    assert_int_equal(change_user("abcdefg", "12345678901234567"), SW_WRONG_LENGTH);
    assert_int_equal(change_user("abcdefg", ""), SW_WRONG_LENGTH);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));
    /* Data too long to be old || new: no try spent. */
    assert_int_equal(send(0x00, 0x24, 0x00, REF_USER, "0123456789ABCDEF0123456789ABCDEF!", 33, -1),
                     SW_WRONG_LENGTH);
    assert_int_equal(send(0x00, 0x24, 0x00, REF_USER, NULL, 0, -1), SW_WRONG_LENGTH);
    assert_int_equal(status_user(), SW_TRIES(3));
    /* Wrong old PIN (also one shorter than the stored one): a try each. */
    assert_int_equal(change_user("abcdefX", "123456"), SW_TRIES(2));
    assert_int_equal(change_user("abc", ""), SW_TRIES(1));
    assert_int_equal(verify_user("abcdefg"), SW_OK);
    assert_int_equal(send(0x00, 0x24, 0x01, REF_USER, "abcdefg123456", 13, -1), SW_WRONG_P1P2);
    assert_int_equal(send(0x00, 0x24, 0x00, 0x85, "abcdefg123456", 13, -1), SW_REF_NOT_FOUND);

    /* SO-PIN: 8 || 8, as pkcs11-tool --login-type so --change-pin sends. */
    assert_int_equal(change(REF_SO, k_so_bad, 8, k_so2, 8), SW_TRIES(14));
    assert_int_equal(change(REF_SO, k_so, 8, k_so2, 7), SW_WRONG_LENGTH);
    assert_int_equal(status_so(), SW_TRIES(14));
    assert_int_equal(change(REF_SO, k_so, 8, k_so2, 8), SW_OK);
    assert_int_equal(status_so(), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(status_so(), SW_TRIES(15));
    assert_int_equal(verify(REF_SO, k_so, 8), SW_TRIES(14));
    assert_int_equal(reset_retry(0x00, k_so2, "654321"), SW_OK);
    assert_int_equal(verify_user("654321"), SW_OK);
    /* Blocked: CHANGE answers 6983 and spends nothing more. */
    for (int left = 2; left >= 0; left--)
        assert_int_equal(change_user("000000", "111111"), left ? SW_TRIES(left) : SW_BLOCKED);
    assert_int_equal(change_user("654321", "111111"), SW_BLOCKED);
}

static void test_reset_retry_forms(void **state)
{
    (void)state;
    init_default(); /* options 0001 */
    assert_int_equal(send(0x00, 0x2C, 0x00, 0x82, k_so, 8, -1), SW_REF_NOT_FOUND);
    assert_int_equal(send(0x00, 0x2C, 0x00, 0x88, k_so, 8, -1), SW_REF_NOT_FOUND);
    assert_int_equal(send(0x00, 0x2C, 0x04, REF_USER, k_so, 8, -1), SW_WRONG_P1P2);
    assert_int_equal(reset_retry(0x01, k_so, NULL), SW_NOT_ALLOWED);
    assert_int_equal(reset_retry(0x03, NULL, NULL), SW_NOT_ALLOWED);
    assert_int_equal(reset_retry(0x00, k_so, NULL), SW_WRONG_LENGTH); /* SO-PIN only */
    assert_int_equal(reset_retry(0x00, k_so, "12345"), SW_WRONG_LENGTH);
    assert_int_equal(reset_retry(0x00, k_so, "12345678901234567"), SW_WRONG_LENGTH);
    assert_int_equal(status_so(), SW_TRIES(15));
    assert_int_equal(reset_retry(0x00, k_so_bad, k_pin2), SW_TRIES(14));
    assert_int_equal(verify_user(k_pin), SW_OK); /* unchanged */
    /* The captured C_InitPIN APDU. */
    static const uint8_t init_pin[] = {0x00, 0x2C, 0x00, 0x81, 0x0E, 0x35, 0x37, 0x36, 0x32, 0x31,
                                       0x38, 0x38, 0x30, 0x36, 0x34, 0x38, 0x32, 0x31, 0x39};
    assert_int_equal(xfer(init_pin, sizeof(init_pin)), SW_OK);
    assert_int_equal(status_so(), SW_TRIES(15));
    /* P1 02/03 need an SO session. */
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(reset_retry(0x02, NULL, k_pin2), SW_SECURITY);
    assert_int_equal(verify(REF_SO, k_so, 8), SW_OK);
    assert_int_equal(reset_retry(0x02, NULL, "12345"), SW_WRONG_LENGTH);
    assert_int_equal(reset_retry(0x02, NULL, k_pin2), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_TRIES(2));
    assert_int_equal(verify_user(k_pin2), SW_OK);

    /* Without option 0001 every form is refused. */
    assert_int_equal(initialize(0x0000, k_pin, k_so, 3), SW_OK);
    assert_int_equal(reset_retry(0x00, k_so, k_pin2), SW_NOT_ALLOWED);
    assert_int_equal(reset_retry(0x01, k_so, NULL), SW_NOT_ALLOWED);
    assert_int_equal(status_so(), SW_TRIES(15));

    /* Option 0021: the counter-only forms. */
    assert_int_equal(initialize(OPT_RRC | OPT_RRC_COUNTER_ONLY, k_pin, k_so, 3), SW_OK);
    assert_int_equal(fcp_options(), 0x0021);
    for (int i = 0; i < 3; i++) verify_user("000000");
    assert_int_equal(status_user(), SW_BLOCKED);
    assert_int_equal(reset_retry(0x01, k_so, "x"), SW_WRONG_LENGTH);
    assert_int_equal(reset_retry(0x01, k_so_bad, NULL), SW_TRIES(14));
    assert_int_equal(status_user(), SW_BLOCKED);
    assert_int_equal(reset_retry(0x01, k_so, NULL), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(status_so(), SW_TRIES(15));
    for (int i = 0; i < 3; i++) verify_user("000000");
    assert_int_equal(reset_retry(0x03, NULL, NULL), SW_SECURITY);
    assert_int_equal(verify(REF_SO, k_so, 8), SW_OK);
    assert_int_equal(send(0x00, 0x2C, 0x03, REF_USER, "x", 1, -1), SW_WRONG_LENGTH);
    assert_int_equal(reset_retry(0x03, NULL, NULL), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_OK);

    /* A blocked SO-PIN: 15 wrong tries, then nothing works, not even re-init. */
    assert_int_equal(select_hsm(), SW_OK);
    for (int left = 14; left >= 0; left--)
        assert_int_equal(verify(REF_SO, k_so_bad, 8), left ? SW_TRIES(left) : SW_BLOCKED);
    assert_int_equal(status_so(), SW_BLOCKED);
    assert_int_equal(verify(REF_SO, k_so, 8), SW_BLOCKED);
    assert_int_equal(reset_retry(0x01, k_so, NULL), SW_BLOCKED);
    assert_int_equal(initialize(OPT_RRC, k_pin2, k_so, 3), SW_BLOCKED);
    assert_int_equal(verify_user(k_pin), SW_OK); /* the user PIN still works */
}

static void test_transport_pin(void **state)
{
    (void)state;
    assert_int_equal(initialize(OPT_RRC | OPT_TRANSPORT, k_pin, k_so, 3), SW_OK);
    assert_int_equal(fcp_options(), 0x0003);
    assert_int_equal(status_user(), SW_TRANSPORT);
    assert_int_equal(verify_user(k_pin), SW_TRANSPORT);
    assert_int_equal(verify_user("000000"), SW_TRANSPORT);
    assert_int_equal(status_so(), SW_TRIES(15));
    /* The transport PIN itself costs tries when wrong in CHANGE. */
    assert_int_equal(change_user("000000", k_pin2), SW_TRIES(2));
    assert_int_equal(status_user(), SW_TRANSPORT);
    dev_cycle();
    assert_int_equal(status_user(), SW_TRANSPORT);
    assert_int_equal(change_user(k_pin, k_pin2), SW_OK);
    assert_int_equal(status_user(), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(verify_user(k_pin2), SW_OK);
    dev_cycle();
    assert_int_equal(status_user(), SW_TRIES(3)); /* cleared for good */
    assert_int_equal(fcp_options(), 0x0003);      /* the option stays */
    /* A PIN the SO sets is a transport PIN again. */
    assert_int_equal(reset_retry(0x00, k_so, "777777"), SW_OK);
    assert_int_equal(status_user(), SW_TRANSPORT);
    assert_int_equal(change_user("777777", "888888"), SW_OK);
    assert_int_equal(verify_user("888888"), SW_OK);
    /* Counter-only resets keep the state of the PIN. */
    assert_int_equal(initialize(OPT_RRC | OPT_TRANSPORT | OPT_RRC_COUNTER_ONLY, k_pin, k_so, 3),
                     SW_OK);
    assert_int_equal(reset_retry(0x01, k_so, NULL), SW_OK);
    assert_int_equal(status_user(), SW_TRANSPORT);
}

/* Host objects and internal records of a used card (in the HSM's
 * namespace), and the ones that make up the device identity. */
static const uint16_t k_user_objects[] = {
    0xC401, 0xC4FE, 0xC801, 0xC900, 0xC901, 0xCA00, 0xCA01, 0xCC01, 0xCCFF, 0xCD00, 0xCD01,
    0xCE01, 0xCF00, 0xCF01, HSM_FID_TOKENINFO, HSM_FID_UNWRAP, 0x0010, 0x1050, 0x1FFF,
};
static const uint16_t k_device_objects[] = {0xC400, 0xCC00, 0xCE00, HSM_FID_DEVAUT, 0x2F01,
                                            0xB000, 0xD001};
/* Key use counters sit under the key's id in the counters partition. */
static const uint16_t k_user_counters[] = {0xCC01, 0xCCFF};
static const uint16_t k_device_counters[] = {0xCC00, 0x1300, 0x2000};
/* A record of another applet's namespace, the same id as a user object. */
static const fk_space_t k_rescue_main = {NULL, FK_NS_RESCUE};
#define OTHER_NS_ID 0x0010u

static void put_objects(void)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_user_objects); i++) store_put(hsm_main(), k_user_objects[i]);
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_device_objects); i++)
        store_put(hsm_main(), k_device_objects[i]);
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_user_counters); i++)
        store_put(hsm_ctrs(), k_user_counters[i]);
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_device_counters); i++)
        store_put(hsm_ctrs(), k_device_counters[i]);
    store_put((fk_space_t){&g_dev.svc.store, k_rescue_main.ns}, OTHER_NS_ID);
}

/* How many of the user objects (main partition) are present. */
static size_t user_main_present(void)
{
    size_t n = 0;
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_user_objects); i++)
        n += store_has(hsm_main(), k_user_objects[i]);
    return n;
}

/* How many of the user objects and counters are present. */
static size_t user_objects_present(void)
{
    size_t n = user_main_present();
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_user_counters); i++)
        n += store_has(hsm_ctrs(), k_user_counters[i]);
    return n;
}

#define USER_OBJECTS_ALL (FK_ARRAY_SIZE(k_user_objects) + FK_ARRAY_SIZE(k_user_counters))

static void assert_device_objects_kept(void)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_device_objects); i++)
        assert_true(store_has(hsm_main(), k_device_objects[i]));
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_device_counters); i++)
        assert_true(store_has(hsm_ctrs(), k_device_counters[i]));
    /* Other namespaces are out of reach: the seed, the other applet's record. */
    assert_true(store_has((fk_space_t){&g_dev.svc.store, FK_NS_SERVICES}, FK_ID_DEVICE_SEED));
    assert_true(store_has((fk_space_t){&g_dev.svc.store, k_rescue_main.ns}, OTHER_NS_ID));
}

static void test_reinit_wrong_so_changes_nothing(void **state)
{
    (void)state;
    init_default();
    put_objects();
    assert_int_equal(initialize(OPT_RRC | OPT_TRANSPORT, k_pin2, k_so_bad, 5), SW_TRIES(14));
    assert_int_equal(initialize(0x0000, k_pin2, k_so2, 5), SW_TRIES(13));
    assert_int_equal(user_objects_present(), USER_OBJECTS_ALL);
    assert_device_objects_kept();
    assert_int_equal(fcp_options(), OPT_RRC);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(status_so(), SW_TRIES(13));
    assert_int_equal(verify_user(k_pin2), SW_TRIES(2));
    assert_int_equal(verify_user(k_pin), SW_OK);
    /* Malformed data is refused before the SO-PIN is even looked at. */
    tlvs_t t = {{0}, 0};
    tlv_add(&t, 0x81, k_pin2, 6);
    tlv_add(&t, 0x82, k_so_bad, 8);
    tlv_add_u8(&t, 0x91, 0);
    assert_int_equal(initialize_tlvs(&t), SW_WRONG_DATA);
    assert_int_equal(status_so(), SW_TRIES(13));
    /* The right SO-PIN restores its 15 tries with the new state. */
    assert_int_equal(initialize(OPT_RRC, k_pin2, k_so, 3), SW_OK);
    assert_int_equal(status_so(), SW_TRIES(15));
}

/* Whether the device is initialized never follows from one record: with
 * the SO-PIN record gone (damaged, or deleted by a flash writer), or with
 * both PIN records and the configuration gone while a key or a file is
 * left, INITIALIZE is refused whatever SO-PIN it brings, and changes
 * nothing. */
static void test_reinit_needs_so_pin_record(void **state)
{
    (void)state;
    static const uint16_t k_gone[][3] = {
        {HSM_ID_SO_PIN, HSM_ID_SO_PIN, HSM_ID_SO_PIN},
        {HSM_ID_SO_PIN, HSM_ID_USER_PIN, HSM_ID_CONFIG},
    };
    for (size_t round = 0; round < FK_ARRAY_SIZE(k_gone); round++) {
        init_default();
        put_objects();
        const fk_space_t sp = hsm_main();
        for (size_t i = 0; i < 3; i++) {
            const int rc = fk_space_delete(&sp, k_gone[round][i]);
            assert_true(rc == FK_STORE_OK || rc == FK_STORE_ENOENT);
        }
        dev_cycle();
        assert_int_not_equal(initialize(OPT_RRC, k_pin2, k_so, 3), SW_OK);
        assert_int_not_equal(initialize(OPT_RRC, k_pin2, k_so_bad, 3), SW_OK);
        assert_int_equal(user_objects_present(), USER_OBJECTS_ALL);
        assert_device_objects_kept();
        assert_false(store_has(sp, HSM_ID_SO_PIN));
        if (round == 0) assert_int_equal(verify_user(k_pin), SW_OK);
        /* Back to a blank HSM for the next round: the applet's reset. */
        assert_int_equal(fk_services_reset_applet(&g_dev.svc, &fk_hsm_applet), FK_SERVICES_OK);
        dev_cycle();
    }
}

static void test_reinit_wipes_user_objects(void **state)
{
    (void)state;
    static const uint8_t blob[] = "a private key";
    uint8_t out[64];
    size_t len;

    assert_int_equal(initialize(OPT_RRC, k_pin, k_so, 5), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(hsm_put(2, blob, sizeof(blob)), FK_KEY_OK);
    put_objects();
    assert_int_equal(verify_user("000000"), SW_TRIES(4));
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(initialize(OPT_RRC | OPT_RRC_COUNTER_ONLY, k_pin2, k_so, 3), SW_OK);
    assert_false(fk_pin_verified(&session()->pins, &hsm_user_pin) || session()->mk_loaded);
    assert_int_equal(user_objects_present(), 0);
    assert_false(store_has(hsm_main(), 0xCC02));
    assert_device_objects_kept();
    assert_int_equal(fcp_options(), 0x0021);
    assert_int_equal(status_user(), SW_TRIES(3));
    assert_int_equal(status_so(), SW_TRIES(15));
    assert_int_equal(verify_user(k_pin), SW_TRIES(2));
    assert_int_equal(verify_user(k_pin2), SW_OK);
    assert_int_equal(hsm_get(2, out, sizeof(out), &len), FK_KEY_ENOENT);
    /* What survives across a restart as well. */
    dev_cycle();
    assert_int_equal(user_objects_present(), 0);
    assert_device_objects_kept();
    assert_int_equal(status_user(), SW_TRIES(3));
}

static void test_mk_survives_change_and_unblock(void **state)
{
    (void)state;
    uint8_t blob[100], out[128];
    uint8_t mk[HSM_MK_LEN];
    size_t len = 0;

    for (size_t i = 0; i < sizeof(blob); i++) blob[i] = (uint8_t)(i * 7 + 3);
    init_default();
    assert_int_equal(hsm_put(1, blob, sizeof(blob)), FK_KEY_EINVAL); /* no MK without the PIN */
    assert_int_equal(verify_user(k_pin), SW_OK);
    memcpy(mk, session()->mk, sizeof(mk));
    assert_int_equal(hsm_put(1, blob, sizeof(blob)), FK_KEY_OK);
    assert_int_equal(hsm_put(0xFF, blob, 1), FK_KEY_OK);

    /* User PIN change. */
    assert_int_equal(change_user(k_pin, k_pin2), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(hsm_get(1, out, sizeof(out), &len), FK_KEY_EDAMAGED); /* no MK: no key */
    dev_cycle();
    assert_int_equal(verify_user(k_pin2), SW_OK);
    assert_memory_equal(session()->mk, mk, sizeof(mk));
    assert_int_equal(hsm_get(1, out, sizeof(out), &len), FK_KEY_OK);
    assert_int_equal(len, sizeof(blob));
    assert_memory_equal(out, blob, sizeof(blob));

    /* SO unblock with a new PIN (2C 00). */
    assert_int_equal(select_hsm(), SW_OK);
    for (int i = 0; i < 3; i++) verify_user("000000");
    assert_int_equal(reset_retry(0x00, k_so, "24680246"), SW_OK);
    assert_int_equal(verify_user("24680246"), SW_OK);
    assert_int_equal(hsm_get(1, out, sizeof(out), &len), FK_KEY_OK);
    assert_memory_equal(out, blob, sizeof(blob));

    /* SO-PIN change, then 2C 02 in an SO session: the SO session holds the
     * MK for that, but gives no key use (SIGN answers 6982). */
    assert_int_equal(change(REF_SO, k_so, 8, k_so2, 8), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(verify(REF_SO, k_so2, 8), SW_OK);
    static const uint8_t sign[5 + 32] = {0x80, 0x68, 0x01, 0x70, 0x20};
    assert_int_equal(xfer(sign, sizeof(sign)), SW_SECURITY);
    assert_int_equal(reset_retry(0x02, NULL, "13579135"), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(verify_user("13579135"), SW_OK);
    assert_memory_equal(session()->mk, mk, sizeof(mk));
    assert_int_equal(hsm_get(1, out, sizeof(out), &len), FK_KEY_OK);
    assert_memory_equal(out, blob, sizeof(blob));
    assert_int_equal(hsm_get(0xFF, out, sizeof(out), &len), FK_KEY_OK);
    assert_int_equal(len, 1);

    /* A re-initialize makes a new MK. */
    assert_int_equal(initialize(OPT_RRC, k_pin, k_so2, 3), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_memory_not_equal(session()->mk, mk, sizeof(mk));
}

static void test_no_secret_in_flash(void **state)
{
    (void)state;
    static const char pin_a[] = "Zq8#pX!2vBn4";
    static const char pin_b[] = "Wk3$rT9@mLp7";
    static const uint8_t so_a[8] = {0xD3, 0x1F, 0x4A, 0x9C, 0x27, 0xE8, 0x65, 0xB0};
    static const uint8_t so_b[8] = {0x8E, 0x52, 0x07, 0xF1, 0xAC, 0x39, 0x6D, 0xC4};
    static const uint8_t key[] = "-----PRIVATE KEY d=0x6e4f2a1b9c8d7e6f5a4b3c2d1e0f-----";
    uint8_t mk[HSM_MK_LEN];

    assert_int_equal(initialize(OPT_RRC, pin_a, so_a, 3), SW_OK);
    assert_int_equal(verify_user(pin_a), SW_OK);
    memcpy(mk, session()->mk, sizeof(mk));
    assert_int_equal(hsm_put(3, key, sizeof(key)), FK_KEY_OK);
    assert_int_equal(change_user(pin_a, pin_b), SW_OK);
    assert_int_equal(change(REF_SO, so_a, 8, so_b, 8), SW_OK);
    assert_int_equal(reset_retry(0x00, so_b, pin_a), SW_OK);
    fk_devrig_stop(&g_rig);
    const void *secrets[] = {pin_a, pin_b, so_a, so_b, mk, key};
    const size_t lens[] = {strlen(pin_a), strlen(pin_b), 8, 8, sizeof(mk), 16};
    for (size_t i = 0; i < FK_ARRAY_SIZE(secrets); i++) {
        assert_false(flash_contains(secrets[i], lens[i]));
        /* no half of it either */
        assert_false(flash_contains((const uint8_t *)secrets[i] + lens[i] / 2, lens[i] / 2));
    }
    fk_devrig_start(&g_rig);
    /* Control: the scan does find what is stored in the clear. */
    store_put(hsm_main(), 0xCF42);
    const uint8_t marker[4] = {0xCF, 0x42, 0x5A, 0xA5};
    assert_true(flash_contains(marker, sizeof(marker)));
}

static void test_counter_durable_before_compare(void **state)
{
    (void)state;
    init_default();
    g_probe = true;
    g_probe_checks = 0;
    assert_int_equal(verify_user("000000"), SW_TRIES(2));
    assert_int_equal(g_probe_checks, 1);
    assert_int_equal(g_probe_tries[0], 2); /* already spent when compared */
    g_probe_checks = 0;
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(g_probe_checks, 1);
    assert_int_equal(g_probe_tries[0], 1);
    assert_int_equal(user_tries_on_flash(), 3); /* restored afterwards */
    g_probe_checks = 0;
    assert_int_equal(change_user(k_pin, k_pin2), SW_OK);
    assert_int_equal(g_probe_tries[0], 2);
    g_probe_checks = 0;
    assert_int_equal(verify(REF_SO, k_so_bad, 8), SW_TRIES(14));
    assert_int_equal(g_probe_tries[0], 14);
    g_probe_checks = 0;
    assert_int_equal(reset_retry(0x00, k_so, k_pin), SW_OK);
    assert_int_equal(g_probe_tries[0], 13);
    g_probe_checks = 0;
    assert_int_equal(initialize(OPT_RRC, k_pin, k_so_bad, 3), SW_TRIES(14));
    assert_int_equal(g_probe_tries[0], 14);
    g_probe = false;
}

/* A wrong (or right) VERIFY cut after each possible number of flash
 * operations: a response that tells the result of the comparison (63Cx,
 * 6983, 9000) comes only after the spent try is on flash, and after the
 * restart the try is spent or the comparison never happened. */
static void powercut_verify(const char *pin, bool correct)
{
    int cuts = 0;
    for (long n = 0;; n++) {
        /* Known state: 3 tries. */
        assert_int_equal(select_hsm(), SW_OK);
        if (status_user() != SW_TRIES(3)) assert_int_equal(reset_retry(0x01, k_so, NULL), SW_OK);
        assert_int_equal(status_user(), SW_TRIES(3));
        cut_after(n);
        uint16_t sw = verify_user(pin);
        bool was_cut = fk_flashcut_cut();
        assert_int_equal(fk_pin_verified(&session()->pins, &hsm_user_pin), sw == SW_OK);
        assert_int_equal(session()->mk_loaded, sw == SW_OK);
        dev_cycle();
        int left = user_tries_on_flash();
        if (!was_cut) {
            assert_int_equal(sw, correct ? SW_OK : SW_TRIES(2));
            assert_int_equal(left, correct ? 3 : 2);
            break;
        }
        cuts++;
        assert_true(left == 2 || left == 3);
        if (correct) {
            /* a cut costs the try, or nothing was spent yet, or the restore made it */
            assert_true(sw == 0x6581 || sw == SW_OK);
            if (sw == SW_OK) assert_int_equal(left, 3);
        } else {
            if (sw == SW_TRIES(2)) assert_int_equal(left, 2);
            else assert_int_equal(sw, 0x6581);
        }
    }
    assert_true(cuts >= 2);
}

static void test_powercut_verify(void **state)
{
    (void)state;
    assert_int_equal(initialize(OPT_RRC | OPT_RRC_COUNTER_ONLY, k_pin, k_so, 3), SW_OK);
    powercut_verify("000000", false);
    powercut_verify(k_pin, true);
}

/* CHANGE and RESET RETRY COUNTER cut at every point: afterwards exactly the
 * old or the new PIN works, and it opens the MK (a key written before reads
 * back): verifier and wrap never disagree. */
static void powercut_pin_write(bool by_so)
{
    static const uint8_t blob[] = "key material";
    uint8_t out[32];
    size_t len;
    char snap[FK_DEVRIG_PATH_CAP + 8];

    assert_int_equal(initialize(OPT_RRC, k_pin, k_so, 3), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(hsm_put(5, blob, sizeof(blob)), FK_KEY_OK);
    snprintf(snap, sizeof(snap), "%s.snap", g_rig.flash);
    fk_devrig_stop(&g_rig);
    fk_devrig_copy_file(g_rig.flash, snap);
    fk_devrig_start(&g_rig);
    int olds = 0, news = 0;
    for (long n = 0;; n++) {
        fk_devrig_stop(&g_rig);
        fk_devrig_copy_file(snap, g_rig.flash);
        fk_devrig_start(&g_rig);
        cut_after(n);
        uint16_t sw = by_so ? reset_retry(0x00, k_so, k_pin2) : change_user(k_pin, k_pin2);
        bool was_cut = fk_flashcut_cut();
        dev_cycle();
        uint16_t old_sw = verify_user(k_pin);
        if (old_sw == SW_OK) {
            olds++;
            assert_int_not_equal(sw, SW_OK);
        } else {
            assert_int_equal(verify_user(k_pin2), SW_OK);
            news++;
        }
        assert_int_equal(hsm_get(5, out, sizeof(out), &len), FK_KEY_OK);
        assert_memory_equal(out, blob, sizeof(blob));
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
    unlink(snap);
}

static void test_powercut_change(void **state)
{
    (void)state;
    powercut_pin_write(false);
}

static void test_powercut_reset_retry(void **state)
{
    (void)state;
    powercut_pin_write(true);
}

/* Re-initialize cut after each number of flash operations. After the
 * restart the device is exactly the old one (old PIN, all objects) or
 * exactly the new one, never anything in between; the device identity
 * survives in every case. */
static void test_powercut_reinit(void **state)
{
    (void)state;
    char snap[FK_DEVRIG_PATH_CAP + 8];
    int olds = 0, news = 0;

    init_default();
    put_objects();
    snprintf(snap, sizeof(snap), "%s.snap", g_rig.flash);
    fk_devrig_stop(&g_rig);
    fk_devrig_copy_file(g_rig.flash, snap);
    fk_devrig_start(&g_rig);
    for (long n = 0;; n++) {
        fk_devrig_stop(&g_rig);
        fk_devrig_copy_file(snap, g_rig.flash);
        fk_devrig_start(&g_rig);
        cut_after(n);
        uint16_t sw = initialize(OPT_RRC | OPT_TRANSPORT, k_pin2, k_so, 4);
        bool was_cut = fk_flashcut_cut();
        dev_cycle();
        assert_device_objects_kept();
        uint16_t status = status_user();
        if (status == SW_TRIES(3)) {
            olds++;
            assert_int_not_equal(sw, SW_OK);
            assert_int_equal(fcp_options(), OPT_RRC);
            assert_int_equal(user_objects_present(), USER_OBJECTS_ALL);
            assert_int_equal(verify_user(k_pin), SW_OK);
        } else {
            news++;
            assert_int_equal(status, SW_TRANSPORT);
            assert_int_equal(fcp_options(), OPT_RRC | OPT_TRANSPORT);
            /* The erased keys' use counters go after the commit: a cut there
             * may leave them, bound to generations no key has. */
            assert_int_equal(user_main_present(), 0);
            if (!was_cut) assert_int_equal(user_objects_present(), 0);
            assert_int_equal(status_so(), SW_TRIES(15));
            assert_int_equal(change_user(k_pin2, k_pin), SW_OK);
            assert_int_equal(status_user(), SW_OK);
        }
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
    unlink(snap);
}

/* An INITIALIZE interrupted on a blank device leaves it blank. */
static void test_powercut_first_initialize(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        cut_after(n);
        uint16_t sw = initialize(OPT_RRC, k_pin, k_so, 3);
        bool was_cut = fk_flashcut_cut();
        dev_cycle();
        uint16_t status = status_user();
        if (!was_cut) {
            assert_int_equal(sw, SW_OK);
            assert_int_equal(status, SW_TRIES(3));
            break;
        }
        assert_true(status == SW_REF_NOT_FOUND || status == SW_TRIES(3));
        if (status == SW_REF_NOT_FOUND) {
            /* Nothing committed: no PIN record, no configuration (a retry
             * counter prepared for the new PIN may be there: it belongs to
             * no PIN and does not make the device "owned"). */
            assert_false(store_has(hsm_main(), HSM_ID_SO_PIN));
            assert_false(store_has(hsm_main(), HSM_ID_USER_PIN));
            assert_false(store_has(hsm_main(), HSM_ID_CONFIG));
        } else {
            /* complete although the last write's clean-up was cut */
            assert_int_equal(verify_user(k_pin), SW_OK);
            assert_int_equal(initialize(OPT_RRC, k_pin, k_so_bad, 3), SW_TRIES(14));
            break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blank_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_opensc_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_sequence_and_unblock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_errors_and_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_retry_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_wrong_so_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_needs_so_pin_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reinit_wipes_user_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mk_survives_change_and_unblock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_in_flash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_durable_before_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_reset_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_reinit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_first_initialize, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
