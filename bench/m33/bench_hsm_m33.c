/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_hsm_m33.c - the HSM's SIGN command end to end on a Cortex-M33, in
 * instructions under QEMU's -icount (bench/m33/run.sh, icount.h): the real
 * device (services, card, HSM applet, store) through the unit tests' device
 * rig on the m33 test port, one APDU in, one response out, as the CCID
 * transport would hand them over. The device is initialized, the user PIN
 * verified, and keys generated on the card; each SIGN's signature is then
 * verified with the key's public half. It runs as a cmocka group so that
 * the rig's assertions fail the program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "devrig.h"
#include "host_port.h"
#include "icount.h"
#include "services/keyobj.h"

#define ID_RSA 1u
#define ID_EC 2u

static fk_testdev_t g_dev;
static const uint8_t k_serial[8] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x81};
static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};
static const char k_pin[] = "648219";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static uint8_t g_out[4096];
static size_t g_out_len;
static uint8_t g_digest[32];

static uint16_t send(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t n)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, FK_DEVRIG_NE_EXT_MAX, true};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof g_out, &g_out_len);
}

/* INITIALIZE (options 0001, user PIN, SO-PIN, 3 tries), VERIFY PIN. */
static void initialize(void)
{
    uint8_t init[64];
    size_t n = 0;
    const uint8_t opts[] = {0x80, 0x02, 0x00, 0x01};
    memcpy(init + n, opts, sizeof opts), n += sizeof opts;
    init[n++] = 0x81, init[n++] = sizeof k_pin - 1;
    memcpy(init + n, k_pin, sizeof k_pin - 1), n += sizeof k_pin - 1;
    init[n++] = 0x82, init[n++] = sizeof k_so;
    memcpy(init + n, k_so, sizeof k_so), n += sizeof k_so;
    init[n++] = 0x91, init[n++] = 0x01, init[n++] = 0x03;
    assert_int_equal(send(0x80, 0x50, 0x00, 0x00, init, n), 0x9000);
    assert_int_equal(send(0x00, 0x20, 0x00, 0x81, k_pin, sizeof k_pin - 1), 0x9000);
}

static void sign_ec(void)
{
    assert_int_equal(send(0x80, 0x68, ID_EC, 0x70, g_digest, sizeof g_digest), 0x9000);
}

static void sign_rsa(void)
{
    assert_int_equal(send(0x80, 0x68, ID_RSA, 0x33, "message", 7), 0x9000);
}

/* The last response verifies with key id's public half. */
static void check_signature(uint8_t id)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;
    fk_pk_key_t key;
    fk_pk_public_t pub;
    assert_int_equal(fk_devrig_hsm_key(&g_dev, id, blob, sizeof blob, &len), FK_KEY_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), FK_CRYPTO_OK);
    fk_pk_public_of(&key, &pub);
    if (id == ID_EC) {
        assert_int_equal(fk_pk_ecdsa_verify(&pub, g_digest, 32, FK_SIG_DER, g_out, g_out_len - 2),
                         FK_CRYPTO_OK);
    } else {
        assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, g_digest, 32, g_out,
                                                g_out_len - 2),
                         FK_CRYPTO_OK);
    }
}

static void bench_sign(void **state)
{
    uint8_t t[1024];
    (void)state;
    fk_sha256("message", 7, g_digest);
    initialize();

    size_t n = fk_devrig_ec_template(t, sizeof t, FK_CURVE_SECP256R1, "UTBENCH0001", NULL, 0);
    uint32_t t0 = fk_icount_now();
    assert_int_equal(send(0x00, 0x46, ID_EC, 0x00, t, n), 0x9000);
    fk_icount_print("HSM GENERATE P-256 (APDU)", fk_icount_insns(t0, fk_icount_now()), "one run");
    fk_icount_measure("HSM SIGN ECDSA P-256 (APDU)", sign_ec, FK_ICOUNT_RUNS);
    check_signature(ID_EC);

    n = fk_devrig_rsa_template(t, sizeof t, 2048, "UTBENCH0001", NULL, 0);
    t0 = fk_icount_now();
    assert_int_equal(send(0x00, 0x46, ID_RSA, 0x00, t, n), 0x9000);
    fk_icount_print("HSM GENERATE RSA-2048 (APDU)", fk_icount_insns(t0, fk_icount_now()),
                    "one run");
    fk_icount_measure("HSM SIGN RSA-2048 SHA-256 (APDU)", sign_rsa, FK_ICOUNT_RUNS);
    check_signature(ID_RSA);
}

static int setup(void **state)
{
    (void)state;
    return fk_devrig_setup(&g_rig, "bench");
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bench_sign, setup, teardown),
    };
    fk_icount_calibrate();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
