/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the key domains and their DKEKs (applets/hsm/hsm_dkek.c,
 * MANAGE KEY DOMAIN 80 52): the real device (services, card, product
 * applets) over the host port's file-backed flash and OTP, driven by APDUs.
 *
 * - INITIALIZE's tags 92 and 97 and what each domain then reports; share
 *   import without a PIN, the KCV without a PIN, across a restart; every
 *   status word of the command's checks; create, delete (6A89 while a key
 *   belongs to the domain, 6A88 on success), clear.
 * - A flash dump holds neither a share nor the DKEK (nor half of either).
 * - Power cuts (tests/support/flashcut.h) at every flash operation of a
 *   share import, a domain create, delete and clear: the domain is exactly
 *   as before or exactly as after, and the DKEK completes to the right KCV.
 * - The migration to the OTP root re-seals the domain records.
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
#include "devrig.h"
#include "flashcut.h"
#include "hal.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "otp_model.h"
#include "seal/seal.h"
#include "services/ns.h"
#include "store/space.h"
#include "tlv.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)

#define SW_OK 0x9000u
#define SW_WRONG_LENGTH 0x6700u
#define SW_SECURITY 0x6982u
#define SW_NOT_ALLOWED 0x6986u
#define SW_WRONG_DATA 0x6A80u
#define SW_FUNC 0x6A81u
#define SW_INCORRECT_P1P2 0x6A86u
#define SW_REF_NOT_FOUND 0x6A88u
#define SW_EXISTS 0x6A89u
#define SW_WRONG_P1P2 0x6B00u
#define SW_INS 0x6D00u

#define INS_KEY_DOMAIN 0x52u
#define STATUS_LEN 10u

static fk_testdev_t g_dev;
static uint8_t g_out[4096];
static size_t g_out_len;
static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0xD1, 0x0E, 0x4E, 0x4B, 0x00, 0x01, 0x02, 0x03};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};
static char g_snap[FK_DEVRIG_PATH_CAP + 8];

static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t n,
                     size_t ne)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, ne, ne > 256 || n > 255};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

/* INITIALIZE with options 0001, the PINs, 3 tries, then the extra TLVs. */
static uint16_t initialize(const uint8_t *extra, size_t extra_len)
{
    uint8_t d[64];
    fk_rbuf_t r = {d, 0, sizeof(d)};
    static const uint8_t opts[] = {0x00, 0x01}, tries = 3;
    assert_true(fk_tlv_put(&r, 0x80, opts, 2) && fk_tlv_put(&r, 0x81, k_pin, 6) &&
                fk_tlv_put(&r, 0x82, k_so, 8) && fk_tlv_put(&r, 0x91, &tries, 1));
    assert_true(r.len + extra_len <= sizeof(d));
    if (extra_len) memcpy(d + r.len, extra, extra_len);
    return send(0x80, 0x50, 0x00, 0x00, d, r.len + extra_len, 0);
}

static uint16_t verify(void) { return send(0x00, 0x20, 0x00, 0x81, k_pin, 6, 0); }

/* MANAGE KEY DOMAIN as sc-hsm-tool sends it (short, Le 00). */
static uint16_t domain_cmd(uint8_t p1, uint8_t dom, const void *data, size_t n)
{
    return send(0x80, INS_KEY_DOMAIN, p1, dom, data, n, 256);
}

static uint16_t status(uint8_t dom) { return domain_cmd(0x00, dom, NULL, 0); }
static uint16_t import(uint8_t dom, const uint8_t share[32]) { return domain_cmd(0x00, dom, share, 32); }

/* The last answer is the status `total outstanding KCV`. */
static void expect_status(uint8_t total, uint8_t outstanding, const uint8_t *kcv)
{
    static const uint8_t zeros[8];
    assert_int_equal(g_out_len, STATUS_LEN + 2);
    assert_int_equal(g_out[0], total);
    assert_int_equal(g_out[1], outstanding);
    assert_memory_equal(g_out + 2, kcv != NULL ? kcv : zeros, 8);
}

/* SHA-256(dkek)[0..7]. */
static void kcv_of(const uint8_t dkek[32], uint8_t kcv[8])
{
    uint8_t h[32];
    fk_sha256(dkek, 32, h);
    memcpy(kcv, h, 8);
}

static int setup(void **state)
{
    (void)state;
    fk_flashcut_disarm();
    if (fk_devrig_setup(&g_rig, "dkek") != 0) return -1;
    snprintf(g_snap, sizeof(g_snap), "%s.snap", g_rig.flash);
    return 0;
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

/* True when needle occurs in the flash image. */
static bool in_flash(const void *needle, size_t len)
{
    static uint8_t img[FLASH_SIZE];
    const size_t got = fk_devrig_load_file(g_rig.flash, img, sizeof(img));
    return memmem(img, got, needle, len) != NULL;
}

/* GENERATE a P-256 key `id` in domain `dom` (tag 92; FF: none). */
static uint16_t generate_in(uint8_t id, uint8_t dom)
{
    static uint8_t t[1024];
    const uint8_t extra[] = {0x92, 0x01, dom};
    const size_t n = fk_devrig_ec_template(t, sizeof(t), FK_CURVE_SECP256R1, "UTDKEK00001", extra,
                                           dom == 0xFF ? 0 : sizeof(extra));
    return send(0x00, 0x46, id, 0x00, t, n, FK_DEVRIG_NE_EXT_MAX);
}

/* ---- Before INITIALIZE, and parameter checks ------------------------------------- */

static void test_uninitialized_and_parameters(void **state)
{
    (void)state;
    static const uint8_t share[40] = {1}; /* 33 bytes are sent once */
    /* A blank device: what sc-hsm-tool reads as "not initialized for key
     * shares" (it prints nothing then), for every form. */
    assert_int_equal(status(0), SW_INS);
    assert_int_equal(import(0, share), SW_INS);
    assert_int_equal(domain_cmd(0x01, 0, "\x01", 1), SW_INS);
    /* The parameters are judged first. */
    assert_int_equal(status(16), SW_WRONG_P1P2);
    assert_int_equal(status(0xFF), SW_WRONG_P1P2);
    assert_int_equal(domain_cmd(0x05, 0, NULL, 0), SW_INCORRECT_P1P2);

    /* Initialized without 92 and 97: domain 0 has no DKEK, as pico reports
     * it (00 00 and a zero KCV); nothing to import; no other domain. */
    assert_int_equal(initialize(NULL, 0), SW_OK);
    assert_int_equal(status(0), SW_OK);
    expect_status(0, 0, NULL);
    assert_int_equal(import(0, share), SW_NOT_ALLOWED);
    assert_int_equal(status(1), SW_INCORRECT_P1P2);
    assert_int_equal(status(15), SW_INCORRECT_P1P2);
    assert_int_equal(status(16), SW_WRONG_P1P2);
    assert_int_equal(domain_cmd(0x02, 0, share, 32), SW_FUNC); /* XKEK: not supported */
    /* Create, delete and clear need the user PIN. */
    assert_int_equal(domain_cmd(0x01, 0, "\x01", 1), SW_SECURITY);
    assert_int_equal(domain_cmd(0x03, 0, NULL, 0), SW_SECURITY);
    assert_int_equal(domain_cmd(0x04, 0, NULL, 0), SW_SECURITY);
    assert_int_equal(verify(), SW_OK);
    /* Domain 0 is configured (without shares): no create over it. */
    assert_int_equal(domain_cmd(0x01, 0, "\x01", 1), SW_INCORRECT_P1P2);
    /* Lengths. */
    assert_int_equal(import(0, share), SW_NOT_ALLOWED);
    assert_int_equal(domain_cmd(0x00, 0, share, 31), SW_WRONG_LENGTH);
    assert_int_equal(domain_cmd(0x00, 0, share, 33), SW_WRONG_LENGTH);
    assert_int_equal(domain_cmd(0x01, 0, "\x01\x01", 2), SW_WRONG_LENGTH);
    assert_int_equal(domain_cmd(0x01, 0, NULL, 0), SW_WRONG_LENGTH);
    assert_int_equal(domain_cmd(0x03, 0, "\x01", 1), SW_WRONG_LENGTH);
    assert_int_equal(domain_cmd(0x04, 0, "\x01", 1), SW_WRONG_LENGTH);
    /* Clear on a domain without shares leaves it without a DKEK. */
    assert_int_equal(domain_cmd(0x04, 0, NULL, 0), SW_OK);
    expect_status(0, 0, NULL);
    /* INITIALIZE takes 1-16 domains. */
    assert_int_equal(initialize((const uint8_t *)"\x97\x01\x11", 3), SW_WRONG_DATA);
    assert_int_equal(initialize((const uint8_t *)"\x97\x01\x00", 3), SW_WRONG_DATA);
    assert_int_equal(initialize((const uint8_t *)"\x97\x01\x10", 3), SW_OK);
    assert_int_equal(status(15), SW_REF_NOT_FOUND);
    assert_int_equal(status(0), SW_REF_NOT_FOUND);
    assert_int_equal(status(16), SW_WRONG_P1P2);
}

/* ---- Shares ------------------------------------------------------------------------ */

/* Two shares, imported without a PIN; the KCV without a PIN, after a
 * restart too; a third share is refused. */
static void test_two_shares(void **state)
{
    (void)state;
    uint8_t s1[32], s2[32], dkek[32], kcv[8];
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x02", 3), SW_OK);
    assert_int_equal(status(0), SW_OK);
    expect_status(2, 2, NULL);

    assert_int_equal(fk_hal_random(s1, sizeof(s1)), FK_HAL_OK);
    assert_int_equal(fk_hal_random(s2, sizeof(s2)), FK_HAL_OK);
    for (size_t i = 0; i < 32; i++) dkek[i] = s1[i] ^ s2[i];
    kcv_of(dkek, kcv);

    assert_int_equal(import(0, s1), SW_OK);
    expect_status(2, 1, NULL);
    restart();
    assert_int_equal(status(0), SW_OK);
    expect_status(2, 1, NULL);
    assert_int_equal(import(0, s2), SW_OK);
    expect_status(2, 0, kcv);
    assert_int_equal(import(0, s1), SW_NOT_ALLOWED);
    restart();
    assert_int_equal(status(0), SW_OK);
    expect_status(2, 0, kcv);
    /* Extended APDUs work as well (pypicokey sends everything so). */
    const fk_devrig_cmd_t ext = {0x80, INS_KEY_DOMAIN, 0x00, 0x00, NULL, 0, 65536, true};
    assert_int_equal(fk_devrig_send(&g_dev, &ext, g_out, sizeof(g_out), &g_out_len), SW_OK);
    expect_status(2, 0, kcv);

    /* Neither share nor the DKEK (nor half of either) is in the flash. */
    assert_false(in_flash(s1, 32));
    assert_false(in_flash(s2, 32));
    assert_false(in_flash(dkek, 32));
    assert_false(in_flash(s1, 16));
    assert_false(in_flash(s2 + 16, 16));
    assert_false(in_flash(dkek, 16));
    assert_false(in_flash(dkek + 16, 16));
    /* The record is sealed under the device's root. */
    const fk_space_t sp = {&g_dev.svc.store, FK_NS_HSM};
    fk_root_t root;
    assert_int_equal(fk_seal_record_root(&sp, HSM_ID_DOMAIN(0), &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_DEVICE);
}

/* The values the reference's tests use: two shares of 01 x 32 give DKEK 0;
 * one share gives KCV = SHA-256(share)[0..7]. */
static void test_known_kcv(void **state)
{
    (void)state;
    static const uint8_t kcv_zero[8] = {0x66, 0x68, 0x7A, 0xAD, 0xF8, 0x62, 0xBD, 0x77};
    uint8_t ones[32], kcv[8];
    memset(ones, 0x01, sizeof(ones));
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x02", 3), SW_OK);
    assert_int_equal(import(0, ones), SW_OK);
    assert_int_equal(import(0, ones), SW_OK);
    expect_status(2, 0, kcv_zero);
    assert_int_equal(import(0, ones), SW_NOT_ALLOWED);

    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x01", 3), SW_OK);
    assert_int_equal(import(0, ones), SW_OK);
    kcv_of(ones, kcv);
    expect_status(1, 0, kcv);
}

/* Tag 92 = 0: a random DKEK made on the card, complete at once. */
static void test_random_dkek(void **state)
{
    (void)state;
    static const uint8_t zeros[32];
    uint8_t first[8];
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x00", 3), SW_OK);
    assert_int_equal(status(0), SW_OK);
    assert_int_equal(g_out[0], 0);
    assert_int_equal(g_out[1], 0);
    assert_memory_not_equal(g_out + 2, zeros, 8);
    memcpy(first, g_out + 2, 8);
    assert_int_equal(import(0, zeros), SW_NOT_ALLOWED);
    /* Another INITIALIZE makes another. */
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x00", 3), SW_OK);
    assert_int_equal(status(0), SW_OK);
    assert_memory_not_equal(g_out + 2, first, 8);
    /* Clear leaves it without a DKEK. */
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(domain_cmd(0x04, 0, NULL, 0), SW_OK);
    expect_status(0, 0, NULL);
}

/* ---- Domains ----------------------------------------------------------------------- */

static void test_domains(void **state)
{
    (void)state;
    uint8_t s[32], kcv[8];
    assert_int_equal(fk_hal_random(s, sizeof(s)), FK_HAL_OK);
    kcv_of(s, kcv);
    /* 97 = 4 with 92 = 1: domain 0 for one share, 1-3 unconfigured. */
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x01\x97\x01\x04", 6), SW_OK);
    assert_int_equal(status(0), SW_OK);
    expect_status(1, 1, NULL);
    for (uint8_t d = 1; d < 4; d++) {
        assert_int_equal(status(d), SW_REF_NOT_FOUND);
        assert_int_equal(import(d, s), SW_REF_NOT_FOUND);
    }
    assert_int_equal(status(4), SW_INCORRECT_P1P2);

    /* Create domain 2 for three shares (PIN), not twice; beyond the count
     * nothing is created. */
    assert_int_equal(domain_cmd(0x01, 2, "\x03", 1), SW_SECURITY);
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(domain_cmd(0x01, 2, "\x03", 1), SW_OK);
    expect_status(3, 3, NULL);
    assert_int_equal(domain_cmd(0x01, 2, "\x01", 1), SW_INCORRECT_P1P2);
    assert_int_equal(domain_cmd(0x01, 4, "\x01", 1), SW_INCORRECT_P1P2);
    assert_int_equal(status(2), SW_OK);
    expect_status(3, 3, NULL);
    assert_int_equal(import(2, s), SW_OK);
    expect_status(3, 2, NULL);
    /* Clear: all three outstanding again; then three shares s, s, s give s. */
    assert_int_equal(domain_cmd(0x04, 2, NULL, 0), SW_OK);
    expect_status(3, 3, NULL);
    for (int i = 0; i < 3; i++) assert_int_equal(import(2, s), SW_OK);
    expect_status(3, 0, kcv);
    /* Clear of an unconfigured domain. */
    assert_int_equal(domain_cmd(0x04, 3, NULL, 0), SW_REF_NOT_FOUND);

    /* Delete: refused while a key belongs to the domain; 6A88 on success
     * (what pypicohsm expects); an unconfigured domain has nothing to
     * delete. */
    assert_int_equal(generate_in(0x10, 2), SW_OK);
    /* GENERATE (46 and 48) into an unconfigured domain or one beyond the
     * count is refused. */
    assert_int_equal(generate_in(0x12, 3), SW_REF_NOT_FOUND);
    assert_int_equal(generate_in(0x12, 9), SW_REF_NOT_FOUND);
    assert_int_equal(send(0x00, 0x48, 0x12, 0xB0, "\x92\x01\x03", 3, 0), SW_REF_NOT_FOUND);
    assert_int_equal(send(0x00, 0x48, 0x12, 0xB0, "\x92\x01\x02", 3, 0), SW_OK);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\xCC\x12", 2, 0), SW_OK);
    assert_int_equal(domain_cmd(0x03, 2, NULL, 0), SW_EXISTS);
    assert_int_equal(status(2), SW_OK);
    expect_status(3, 0, kcv);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\xCC\x10", 2, 0), SW_OK);
    assert_int_equal(domain_cmd(0x03, 2, NULL, 0), SW_REF_NOT_FOUND);
    assert_int_equal(status(2), SW_REF_NOT_FOUND);
    assert_int_equal(domain_cmd(0x03, 2, NULL, 0), SW_INCORRECT_P1P2);
    /* A key without a domain belongs to domain 0. */
    assert_int_equal(generate_in(0x11, 0xFF), SW_OK);
    assert_int_equal(domain_cmd(0x03, 0, NULL, 0), SW_EXISTS);
    assert_int_equal(domain_cmd(0x03, 1, NULL, 0), SW_INCORRECT_P1P2);
    assert_int_equal(send(0x00, 0xE4, 0x02, 0x00, "\xCC\x11", 2, 0), SW_OK);
    assert_int_equal(domain_cmd(0x03, 0, NULL, 0), SW_REF_NOT_FOUND);
    assert_int_equal(status(0), SW_REF_NOT_FOUND);
    /* A deleted domain can be created again; 0 shares: a random DKEK. */
    assert_int_equal(domain_cmd(0x01, 0, "\x00", 1), SW_OK);
    assert_int_equal(g_out[0], 0);
    assert_int_equal(g_out[1], 0);

    /* Re-INITIALIZE erases every domain. */
    assert_int_equal(domain_cmd(0x01, 3, "\x02", 1), SW_OK);
    assert_int_equal(initialize((const uint8_t *)"\x97\x01\x04", 3), SW_OK);
    for (uint8_t d = 0; d < 4; d++) assert_int_equal(status(d), SW_REF_NOT_FOUND);
}

/* hsm_domain_check and hsm_domain_dkek, the helpers the key modules use. */
static void test_helpers(void **state)
{
    (void)state;
    uint8_t s[32], dkek[32], dom = 0xEE;
    assert_int_equal(fk_hal_random(s, sizeof(s)), FK_HAL_OK);
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x01\x97\x01\x03", 6), SW_OK);
    const fk_applet_ctx_t ctx = fk_services_applet_ctx(&g_dev.svc, &fk_hsm_applet);
    assert_int_equal(hsm_domain_check(&ctx, 0xFF), SW_OK);
    assert_int_equal(hsm_domain_check(&ctx, 0), SW_OK);
    assert_int_equal(hsm_domain_check(&ctx, 1), SW_REF_NOT_FOUND);
    assert_int_equal(hsm_domain_check(&ctx, 3), SW_REF_NOT_FOUND);
    assert_int_equal(hsm_domain_check(&ctx, 16), SW_REF_NOT_FOUND);
    assert_int_equal(hsm_domain_dkek(&ctx, 0, dkek), SW_REF_NOT_FOUND); /* incomplete */
    assert_int_equal(hsm_domain_dkek(&ctx, 0xFF, dkek), SW_REF_NOT_FOUND);
    assert_int_equal(import(0, s), SW_OK);
    assert_int_equal(hsm_domain_dkek(&ctx, 0xFF, dkek), SW_OK);
    assert_memory_equal(dkek, s, 32);
    assert_int_equal(hsm_domain_dkek(&ctx, 1, dkek), SW_REF_NOT_FOUND);
    assert_int_equal(hsm_domain_find(&ctx, g_out + 2, &dom, dkek), SW_OK);
    assert_int_equal(dom, 0);
    assert_memory_equal(dkek, s, 32);
    uint8_t other[8] = {0};
    assert_int_equal(hsm_domain_find(&ctx, other, &dom, dkek), SW_WRONG_DATA);
    assert_int_equal(hsm_key_domain(0xFF), 0);
    assert_int_equal(hsm_key_domain(5), 5);
}

/* A refused command, and a status query, write nothing at all. */
static void test_refusals_write_nothing(void **state)
{
    (void)state;
    uint8_t s[32] = {7};
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x01\x97\x01\x02", 6), SW_OK);
    assert_int_equal(import(0, s), SW_OK);
    const unsigned long before = fk_flashcut_ops();
    assert_int_equal(status(0), SW_OK);
    assert_int_equal(import(0, s), SW_NOT_ALLOWED);
    assert_int_equal(import(1, s), SW_REF_NOT_FOUND);
    assert_int_equal(domain_cmd(0x00, 0, s, 16), SW_WRONG_LENGTH);
    assert_int_equal(domain_cmd(0x01, 1, "\x01", 1), SW_SECURITY);
    assert_int_equal(domain_cmd(0x03, 0, NULL, 0), SW_SECURITY);
    assert_int_equal(domain_cmd(0x04, 0, NULL, 0), SW_SECURITY);
    assert_int_equal(domain_cmd(0x02, 1, s, 32), SW_FUNC);
    assert_int_equal(status(2), SW_INCORRECT_P1P2);
    assert_int_equal(fk_flashcut_ops(), before);
}

/* ---- Power cuts -------------------------------------------------------------------- */

typedef enum { OP_IMPORT, OP_CREATE, OP_DELETE, OP_CLEAR } cut_op_t;

/* Run op on the snapshot cut after every number of flash operations;
 * `check` sees the status word of the cut command and judges what the
 * restarted device holds (returning true for "the new state"). */
static void cut_everywhere(cut_op_t op, const uint8_t s1[32], const uint8_t s2[32],
                           const uint8_t kcv[8])
{
    int olds = 0, news = 0;
    fk_devrig_snapshot(&g_rig, g_snap);
    for (long n = 0;; n++) {
        fk_devrig_restore(&g_rig, g_snap);
        if (op != OP_IMPORT) assert_int_equal(verify(), SW_OK);
        fk_flashcut_arm(n);
        uint16_t sw;
        switch (op) {
        case OP_IMPORT: sw = import(0, s2); break;
        case OP_CREATE: sw = domain_cmd(0x01, 1, "\x02", 1); break;
        case OP_DELETE: sw = domain_cmd(0x03, 1, NULL, 0); break;
        default: sw = domain_cmd(0x04, 0, NULL, 0); break;
        }
        const bool was_cut = fk_flashcut_cut();
        restart();
        bool is_new;
        switch (op) {
        case OP_IMPORT:
            /* Before: 2 shares, 1 outstanding; after: complete. Either way
             * the rest of the shares makes the right DKEK. */
            assert_int_equal(status(0), SW_OK);
            is_new = g_out[1] == 0;
            if (is_new) {
                expect_status(2, 0, kcv);
            } else {
                expect_status(2, 1, NULL);
                assert_int_equal(import(0, s2), SW_OK);
                expect_status(2, 0, kcv);
            }
            break;
        case OP_CREATE: {
            const uint16_t st = status(1);
            is_new = st == SW_OK;
            if (is_new) {
                expect_status(2, 2, NULL);
                assert_int_equal(import(1, s1), SW_OK);
                assert_int_equal(import(1, s2), SW_OK);
                expect_status(2, 0, kcv);
            } else {
                assert_int_equal(st, SW_REF_NOT_FOUND);
            }
            break;
        }
        case OP_DELETE: {
            const uint16_t st = status(1);
            is_new = st == SW_REF_NOT_FOUND;
            if (!is_new) {
                assert_int_equal(st, SW_OK);
                expect_status(2, 0, kcv);
            }
            break;
        }
        default:
            assert_int_equal(status(0), SW_OK);
            is_new = g_out[1] == 2;
            if (is_new) {
                expect_status(2, 2, NULL);
            } else {
                expect_status(2, 0, kcv);
            }
            break;
        }
        if (is_new) {
            news++;
        } else {
            olds++;
            assert_true(was_cut);
        }
        if (!was_cut) {
            assert_int_equal(sw, op == OP_DELETE ? SW_REF_NOT_FOUND : SW_OK);
            break;
        }
    }
    assert_true(olds >= 1 && news >= 1);
}

static void test_powercuts(void **state)
{
    (void)state;
    uint8_t s1[32], s2[32], dkek[32], kcv[8];
    assert_int_equal(fk_hal_random(s1, sizeof(s1)), FK_HAL_OK);
    assert_int_equal(fk_hal_random(s2, sizeof(s2)), FK_HAL_OK);
    for (size_t i = 0; i < 32; i++) dkek[i] = s1[i] ^ s2[i];
    kcv_of(dkek, kcv);

    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x02\x97\x01\x02", 6), SW_OK);
    assert_int_equal(import(0, s1), SW_OK);
    cut_everywhere(OP_IMPORT, s1, s2, kcv);

    fk_devrig_restore(&g_rig, g_snap);
    assert_int_equal(import(0, s2), SW_OK);
    cut_everywhere(OP_CREATE, s1, s2, kcv);

    fk_devrig_restore(&g_rig, g_snap);
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(domain_cmd(0x01, 1, "\x02", 1), SW_OK);
    assert_int_equal(import(1, s1), SW_OK);
    assert_int_equal(import(1, s2), SW_OK);
    cut_everywhere(OP_DELETE, s1, s2, kcv);
    cut_everywhere(OP_CLEAR, s1, s2, kcv);
}

/* ---- Migration to the OTP root ----------------------------------------------------- */

static void burn_mkek(void)
{
    fk_otp_t *m = fk_host_otp_model();
    uint16_t rows[FK_OTP_KEY_ROWS];
    uint16_t any = 0;
    assert_non_null(m);
    do {
        assert_int_equal(fk_hal_random(rows, sizeof(rows)), FK_HAL_OK);
        any = 0;
        for (size_t i = 0; i < FK_OTP_KEY_ROWS; i++) any |= rows[i];
    } while (any == 0);
    fk_otp_enter_bootsel(m);
    assert_int_equal(fk_otp_write_ecc(m, FK_OTP_BOOTSEL, FK_OTP_ROW_MKEK, rows, FK_OTP_KEY_ROWS),
                     FK_OTP_OK);
    fk_otp_reset(m);
}

/* The start that finds the MKEK moves every domain record to the OTP
 * root; the KCV and the imports carry on. */
static void test_migration(void **state)
{
    (void)state;
    uint8_t s1[32], s2[32], dkek[32], kcv[8];
    assert_int_equal(fk_hal_random(s1, sizeof(s1)), FK_HAL_OK);
    assert_int_equal(fk_hal_random(s2, sizeof(s2)), FK_HAL_OK);
    for (size_t i = 0; i < 32; i++) dkek[i] = s1[i] ^ s2[i];
    kcv_of(dkek, kcv);
    assert_int_equal(initialize((const uint8_t *)"\x92\x01\x01\x97\x01\x03", 6), SW_OK);
    assert_int_equal(import(0, s1), SW_OK);
    assert_int_equal(verify(), SW_OK);
    assert_int_equal(domain_cmd(0x01, 2, "\x02", 1), SW_OK);
    assert_int_equal(import(2, s1), SW_OK);

    burn_mkek();
    restart();
    const fk_space_t sp = {&g_dev.svc.store, FK_NS_HSM};
    fk_root_t root;
    assert_int_equal(fk_seal_record_root(&sp, HSM_ID_DOMAIN(0), &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
    assert_int_equal(fk_seal_record_root(&sp, HSM_ID_DOMAIN(2), &root), FK_SEAL_OK);
    assert_int_equal(root, FK_ROOT_OTP);
    kcv_of(s1, kcv);
    assert_int_equal(status(0), SW_OK);
    expect_status(1, 0, kcv);
    assert_int_equal(import(2, s2), SW_OK);
    kcv_of(dkek, kcv);
    expect_status(2, 0, kcv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_uninitialized_and_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_shares, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_kcv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_dkek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_write_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercuts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
