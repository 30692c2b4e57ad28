/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the migration from the device root to the OTP root
 * (docs/migration.md): the real device (fk_services_init, the fusekey
 * product, fk_card_transceive) over the host port's file-backed flash
 * and OTP, driven by APDUs as a host would.
 *
 * A "device" is a pair of files (flash image, OTP image). Restarting it is
 * closing both and running fk_services_init again on the same files, which is
 * where the migration runs.
 *
 * Power cuts: the program is linked with --wrap for fk_hal_flash_program and
 * fk_hal_flash_erase (see CMakeLists.txt). A cut at operation k leaves that
 * operation not done at all, done as a prefix, or as a random subset of its
 * bit changes (an erase: a stretch or a random mix of erased and old
 * blocks), the same three outcomes as tests/support/sim_flash.c; every
 * later program and erase then fails, as on a board without power. The host
 * flash writes each operation through to its file, so the file then holds
 * what the chip's flash would. A "glitch" fails one operation only and lets
 * the next ones work (a flash error, not a power cut).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "cvc.h"
#include "devrig.h"
#include "services/keyobj.h"
#include "services/ns.h"
#include "services/pin.h"
#include "store/space.h"
#include "hal.h"
#include "host_port.h"
#include "hsm_internal.h"
#include "otp_model.h"
#include "rescue.h"
#include "seal/seal.h"
#include "sim_flash.h"
#include "store/store.h"
#include "tlv.h"
#include "util.h"

#define FLASH_SIZE (512u * 1024u)
#define COUNTERS_SIZE (FK_COUNTERS_SECTORS * FK_HOST_SECTOR_SIZE)
#define SEED_LEN 32u

#define SW_OK 0x9000u
#define SW_SECURITY 0x6982u
#define SW_CONDITIONS 0x6985u
#define SW_NOT_ALLOWED 0x6986u
#define SW_TRIES(n) ((uint16_t)(0x63C0u | (n)))

#define REF_USER 0x81u
#define REF_SO 0x88u
#define USER_TRIES 3u
#define SO_TRIES 15u
#define OPT_RRC 0x0001u
#define OPT_RRC_COUNTER_ONLY 0x0020u

#define KEY_RSA 0x01u
#define KEY_EC 0x02u
#define KEY_SPARE 0x33u
#define ALG_RSA_PKCS1_SHA256 0x33u
#define ALG_ECDSA 0x70u
#define INS_SIGN 0x68u
#define INS_GENERATE 0x46u

/* A sealed record (docs/sealing.md): version, root, 12-byte nonce, then
 * the ciphertext; the scan looks for 32 bytes of it. */
#define SEAL_OFF_ROOT 1u
#define SEAL_HEADER_LEN 14u
#define RECORD_PIECE_LEN 32u

/* The PIN record's plaintext (docs/hsm-pin.md): the verifier at offset 3. */
#define PINREC_LEN 129u
#define PINREC_OFF_VERIFIER 3u

static fk_testdev_t g_dev;

/* The HSM's records in the main partition. */
static const fk_space_t g_hsm_sp = {&g_dev.svc.store, FK_NS_HSM};

/* The HSM's session in the card under test (read only). */
static const hsm_state_t *session(void)
{
    return (const hsm_state_t *)fk_devrig_applet_state(&g_dev, &fk_hsm_applet);
}
static uint8_t g_out[65536 + 2];
static size_t g_out_len;

static const uint8_t k_serial[8] = {0x5E, 0xA1, 0x0F, 0x7B, 0x22, 0x91, 0x3C, 0x04};
static const char k_pin[] = "648219";
static const char k_pin2[] = "771203";
static const char k_pin_bad[] = "000000";
static const uint8_t k_so[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_so_bad[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x31};
static const char k_message[] = "migrated message";

static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, FLASH_SIZE};

/* id-TA-RSA-v1-5-SHA-256 and id-TA-ECDSA-SHA-256 */

/* ---- Flash cuts and glitches (--wrap) --------------------------------------- */

int __real_fk_hal_flash_program(uint32_t offset, const void *data, size_t len);
int __real_fk_hal_flash_erase(uint32_t offset);
int __wrap_fk_hal_flash_program(uint32_t offset, const void *data, size_t len);
int __wrap_fk_hal_flash_erase(uint32_t offset);

typedef enum cut_mode {
    CUT_WHOLE = 0, /* the operation does not happen */
    CUT_PREFIX,    /* program: a prefix of its bytes; erase: a stretch of the sector */
    CUT_SCATTER,   /* program: a random subset of its bit changes; erase: a mix of blocks */
    CUT_MODES,
} cut_mode_t;

static unsigned long g_ops;    /* flash operations tried since the last arm */
static long g_cut_at = -1;     /* operation that loses the power; -1 none */
static long g_glitch_at = -1;  /* operation that fails alone; -1 none */
static cut_mode_t g_cut_mode;
static bool g_dead;            /* the power is gone: every operation fails */
static uint64_t g_rng;

static void arm(long cut_at, cut_mode_t mode, long glitch_at)
{
    g_ops = 0;
    g_cut_at = cut_at;
    g_cut_mode = mode;
    g_glitch_at = glitch_at;
    g_dead = false;
    g_rng = 0x6D69677261746531ull ^ ((uint64_t)cut_at << 8) ^ (uint64_t)mode;
}

static void disarm(void) { arm(-1, CUT_WHOLE, -1); }

/* Program the bytes of src over [off, off+len) of the flash, page by page
 * (after an erase: restores what a partial erase left). */
static void program_span(uint32_t off, const uint8_t *src, size_t len)
{
    while (len > 0) {
        size_t n = FK_HOST_PAGE_SIZE - off % FK_HOST_PAGE_SIZE;
        if (n > len) n = len;
        assert_int_equal(__real_fk_hal_flash_program(off, src, n), FK_HAL_OK);
        off += (uint32_t)n;
        src += n;
        len -= n;
    }
}

static void cut_program(uint32_t offset, const uint8_t *data, size_t len)
{
    uint8_t v[FK_HOST_PAGE_SIZE];

    assert_true(len <= sizeof(v));
    if (g_cut_mode == CUT_PREFIX) {
        size_t n = sim_rng_below(&g_rng, (uint32_t)len);
        if (n > 0) assert_int_equal(__real_fk_hal_flash_program(offset, data, n), FK_HAL_OK);
    } else if (g_cut_mode == CUT_SCATTER) {
        assert_int_equal(fk_hal_flash_read(offset, v, len), FK_HAL_OK);
        for (size_t i = 0; i < len; i++) {
            const uint8_t clears = (uint8_t)(v[i] & ~data[i]);
            v[i] = (uint8_t)(v[i] & ~(clears & (uint8_t)sim_rng_next(&g_rng)));
        }
        assert_int_equal(__real_fk_hal_flash_program(offset, v, len), FK_HAL_OK);
    }
}

static void cut_erase(uint32_t offset)
{
    static uint8_t old[FK_HOST_SECTOR_SIZE];
    const size_t block = 8;

    if (g_cut_mode == CUT_WHOLE) return;
    assert_int_equal(fk_hal_flash_read(offset, old, sizeof(old)), FK_HAL_OK);
    assert_int_equal(__real_fk_hal_flash_erase(offset), FK_HAL_OK);
    if (g_cut_mode == CUT_PREFIX) {
        /* Only [a, b) got erased. */
        uint32_t a = sim_rng_below(&g_rng, FK_HOST_SECTOR_SIZE);
        uint32_t b = a + sim_rng_below(&g_rng, FK_HOST_SECTOR_SIZE - a + 1u);
        program_span(offset, old, a);
        program_span(offset + b, old + b, FK_HOST_SECTOR_SIZE - b);
        return;
    }
    for (size_t i = 0; i < sizeof(old); i += block) {
        uint8_t v[8];
        switch (sim_rng_below(&g_rng, 3)) {
        case 0: /* kept */
            program_span(offset + (uint32_t)i, old + i, block);
            break;
        case 1: /* erased */
            break;
        default: /* partly erased: some bits back to 1 */
            for (size_t j = 0; j < block; j++) v[j] = (uint8_t)(old[i + j] | sim_rng_next(&g_rng));
            program_span(offset + (uint32_t)i, v, block);
            break;
        }
    }
}

/* Decide the fate of the next operation: true when it runs normally. */
static bool op_runs(void)
{
    const long idx = (long)g_ops++;
    if (g_dead) return false;
    if (idx == g_glitch_at) return false;
    return idx != g_cut_at;
}

int __wrap_fk_hal_flash_program(uint32_t offset, const void *data, size_t len)
{
    const bool was_dead = g_dead;
    if (op_runs()) return __real_fk_hal_flash_program(offset, data, len);
    if (!was_dead && (long)g_ops - 1 == g_cut_at) {
        cut_program(offset, data, len);
        g_dead = true;
    }
    return FK_HAL_EIO;
}

int __wrap_fk_hal_flash_erase(uint32_t offset)
{
    const bool was_dead = g_dead;
    if (op_runs()) return __real_fk_hal_flash_erase(offset);
    if (!was_dead && (long)g_ops - 1 == g_cut_at) {
        cut_erase(offset);
        g_dead = true;
    }
    return FK_HAL_EIO;
}

/* ---- The device ------------------------------------------------------------ */

static void set_paths(const char *dir, const char *otp_name)
{
    snprintf(g_rig.flash, sizeof(g_rig.flash), "%s/flash.bin", dir);
    snprintf(g_rig.otp, sizeof(g_rig.otp), "%s/%s", dir, otp_name);
}

static void dev_restart(void)
{
    disarm();
    fk_devrig_stop(&g_rig);
    fk_devrig_start(&g_rig);
}

/* A restart that must not write to the flash at all. */
static void restart_writes_nothing(void)
{
    fk_devrig_stop(&g_rig);
    disarm();
    assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
    assert_int_equal(g_ops, 0);
    fk_card_power_on(&g_dev.card);
}

static fk_applet_ctx_t ctx_of(void)
{
    fk_applet_ctx_t ctx = fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet);
    return ctx;
}

static int setup(void **state)
{
    (void)state;
    disarm();
    return fk_devrig_setup(&g_rig, "migrate");
}

static int teardown(void **state)
{
    (void)state;
    disarm();
    return fk_devrig_teardown(&g_rig);
}

/* Save / restore the stopped device's two files under a name. */
static void snapshot(const char *name, bool restore)
{
    char fsnap[FK_DEVRIG_PATH_CAP + 16], osnap[FK_DEVRIG_PATH_CAP + 16];
    snprintf(fsnap, sizeof(fsnap), "%s.%s", g_rig.flash, name);
    snprintf(osnap, sizeof(osnap), "%s.%s", g_rig.otp, name);
    fk_devrig_copy_file(restore ? fsnap : g_rig.flash, restore ? g_rig.flash : fsnap);
    fk_devrig_copy_file(restore ? osnap : g_rig.otp, restore ? g_rig.otp : osnap);
}

/* The whole flash image file (FLASH_SIZE bytes, static). */
static const uint8_t *flash_image(const char *path)
{
    static uint8_t img[FLASH_SIZE];
    assert_int_equal(fk_devrig_load_file(path, img, sizeof(img)), sizeof(img));
    return img;
}

static bool image_contains(const char *path, const void *needle, size_t len)
{
    return memmem(flash_image(path), FLASH_SIZE, needle, len) != NULL;
}

/* ---- The OTP master key -------------------------------------------------------- */

static fk_otp_t *otp_model(void)
{
    fk_otp_t *m = fk_host_otp_model();
    assert_non_null(m);
    return m;
}

/* Burn a random, non-zero MKEK through the ECC view, as `otp burn` does
 * from BOOTSEL; then the reset of the next start. */
static void burn_mkek(void)
{
    uint16_t rows[FK_OTP_KEY_ROWS];
    uint16_t any = 0;
    do {
        assert_int_equal(fk_hal_random(rows, sizeof(rows)), FK_HAL_OK);
        any = 0;
        for (size_t i = 0; i < FK_OTP_KEY_ROWS; i++) any |= rows[i];
    } while (any == 0);
    fk_otp_enter_bootsel(otp_model());
    assert_int_equal(
        fk_otp_write_ecc(otp_model(), FK_OTP_BOOTSEL, FK_OTP_ROW_MKEK, rows, FK_OTP_KEY_ROWS),
        FK_OTP_OK);
    fk_otp_reset(otp_model());
}

/* ---- APDUs ------------------------------------------------------------------ */

/* Send cmd to the device; g_out holds the answer. */
static uint16_t send(const fk_devrig_cmd_t *cmd)
{
    return fk_devrig_send(&g_dev, cmd, g_out, sizeof(g_out), &g_out_len);
}

/* Extended case 4 with Le 0000 (case 2/3 forms with n == 0 / no Le are not needed). */
static uint16_t xfer_ext(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                         size_t n)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, n, FK_DEVRIG_NE_EXT_MAX, true};
    return send(&cmd);
}

/* Short case 3 (or case 1 without data). */
static uint16_t send3(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                      size_t nc)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, nc, 0, false};
    assert_true(nc <= 255);
    return send(&cmd);
}

static uint16_t verify(uint8_t ref, const void *pin, size_t len)
{
    return send3(0x00, 0x20, 0x00, ref, pin, len);
}

static uint16_t verify_user(const char *pin) { return verify(REF_USER, pin, strlen(pin)); }
static uint16_t verify_so(const uint8_t so[8]) { return verify(REF_SO, so, 8); }

/* INITIALIZE: options, user PIN k_pin, SO-PIN k_so (82 must be the current
 * SO-PIN when re-initializing), 3 tries. */
static uint16_t initialize(uint16_t options)
{
    uint8_t d[64];
    size_t n = 0;
    d[n++] = 0x80, d[n++] = 2, d[n++] = (uint8_t)(options >> 8), d[n++] = (uint8_t)options;
    d[n++] = 0x81, d[n++] = sizeof(k_pin) - 1;
    memcpy(d + n, k_pin, sizeof(k_pin) - 1), n += sizeof(k_pin) - 1;
    d[n++] = 0x82, d[n++] = sizeof(k_so);
    memcpy(d + n, k_so, sizeof(k_so)), n += sizeof(k_so);
    d[n++] = 0x91, d[n++] = 1, d[n++] = USER_TRIES;
    return send3(0x80, 0x50, 0x00, 0x00, d, n);
}

/* GENERATE ASYMMETRIC KEY PAIR templates like OpenSC's. */
static size_t rsa_template(uint8_t *t, size_t cap)
{
    return fk_devrig_rsa_template(t, cap, 1024, "UTMIGRATE01", NULL, 0);
}

static size_t ec_template(uint8_t *t, size_t cap)
{
    return fk_devrig_ec_template(t, cap, FK_CURVE_SECP256R1, "UTMIGRATE02", NULL, 0);
}

/* The public key of key `id`, from the request the card stored in CE<id>
 * (buf holds the request; pub points into it). */
static void key_public(uint8_t id, uint8_t *buf, size_t cap, fk_pk_public_t *pub)
{
    fk_cvc_request_t rq;
    fk_cvc_alg_t alg;
    uint32_t size;
    assert_int_equal(fk_space_size(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, id), &size),
                     FK_STORE_OK);
    assert_true(size <= cap);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_FID(HSM_PREFIX_EECERT, id), 0, buf, size),
                     FK_STORE_OK);
    assert_int_equal(fk_cvc_parse_request(buf, size, &rq), 0);
    assert_int_equal(fk_cvc_public_key(&rq.cert, FK_CURVE_NONE, pub, &alg), 0);
}

/* COMPUTE SIGNATURE with key `id` (user PIN verified): the answer's SW; on
 * 9000 the signature is checked against the key's public key. */
static uint16_t sign_and_check(uint8_t id)
{
    static uint8_t req[2048];
    uint8_t digest[FK_SHA256_LEN];
    fk_pk_public_t pub;
    uint16_t sw;

    fk_sha256(k_message, sizeof(k_message) - 1, digest);
    if (id == KEY_RSA)
        sw = xfer_ext(0x80, INS_SIGN, id, ALG_RSA_PKCS1_SHA256, k_message, sizeof(k_message) - 1);
    else
        sw = xfer_ext(0x80, INS_SIGN, id, ALG_ECDSA, digest, sizeof(digest));
    if (sw != SW_OK) return sw;
    key_public(id, req, sizeof(req), &pub);
    if (id == KEY_RSA)
        assert_int_equal(fk_pk_rsa_verify_pkcs1(&pub, FK_HASH_SHA256, digest, sizeof(digest),
                                                g_out, g_out_len - 2),
                         0);
    else
        assert_int_equal(
            fk_pk_ecdsa_verify(&pub, digest, sizeof(digest), FK_SIG_DER, g_out, g_out_len - 2), 0);
    return sw;
}

/* ---- What the store holds ------------------------------------------------------ */

/* The PIN of record rec_id. */
static const fk_pin_ref_t *pin_of(uint16_t rec_id)
{
    return rec_id == HSM_ID_SO_PIN ? &hsm_so_pin : &hsm_user_pin;
}

/* The tries of the PIN of record rec_id, as the store holds them. */
static uint8_t tries_left(uint16_t rec_id)
{
    fk_pin_status_t st;
    const fk_applet_ctx_t ctx = fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet);
    assert_int_equal(fk_pin_status(&ctx, pin_of(rec_id), &st), FK_PIN_OK);
    return st.tries;
}

static fk_root_t record_root(uint16_t fid)
{
    fk_root_t root = 0;
    assert_int_equal(fk_seal_record_root(&g_hsm_sp, fid, &root), FK_SEAL_OK);
    return root;
}

/* The root of the verifier inside PIN record rec_id. */
static fk_root_t verifier_root(uint16_t rec_id)
{
    fk_root_t root = 0;
    const fk_applet_ctx_t ctx = fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet);
    assert_int_equal(fk_pin_root(&ctx, pin_of(rec_id), &root), FK_PIN_OK);
    return root;
}

static bool seed_present(void)
{
    bool present = false;
    assert_int_equal(fk_seal_device_root_present(&g_dev.svc.store, &present), FK_SEAL_OK);
    return present;
}

static void expect_state(fk_migration_state_t state, unsigned pending, unsigned failed)
{
    fk_migration_status_t st;
    fk_services_migration_state(&g_dev.svc, &st);
    assert_int_equal(st.state, state);
    assert_int_equal(st.pending, pending);
    assert_int_equal(st.failed, failed);
}

/* The sealed records of this test's device. */
static const uint16_t k_sealed[] = {
    HSM_ID_USER_PIN,
    HSM_ID_SO_PIN,
    HSM_FID(HSM_PREFIX_KEY, HSM_DEVICE_KEY_ID),
    HSM_FID(HSM_PREFIX_KEY, KEY_RSA),
    HSM_FID(HSM_PREFIX_KEY, KEY_EC),
};

static void expect_records_under(fk_root_t root, bool with_rsa)
{
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_sealed); i++) {
        if (!with_rsa && k_sealed[i] == HSM_FID(HSM_PREFIX_KEY, KEY_RSA)) continue;
        assert_int_equal(record_root(k_sealed[i]), root);
    }
}

/* ---- Secrets a flash dump must not show ------------------------------------------ */

#define NEEDLES_MAX 24u
#define NEEDLE_MAX 160u

typedef struct needle {
    const char *what;
    size_t len;
    uint8_t bytes[NEEDLE_MAX];
} needle_t;

static needle_t g_needles[NEEDLES_MAX];
static size_t g_n_needles;

static void needle_add(const char *what, const void *p, size_t len)
{
    assert_true(g_n_needles < NEEDLES_MAX);
    assert_true(len > 0 && len <= NEEDLE_MAX);
    g_needles[g_n_needles].what = what;
    g_needles[g_n_needles].len = len;
    memcpy(g_needles[g_n_needles].bytes, p, len);
    g_n_needles++;
}

static const needle_t *needle_find(const char *what)
{
    for (size_t i = 0; i < g_n_needles; i++) {
        if (strcmp(g_needles[i].what, what) == 0) return &g_needles[i];
    }
    fail_msg("no needle %s", what);
    return NULL;
}

/* None of the needles is in the flash image at path. */
static void expect_no_needle(const char *path)
{
    for (size_t i = 0; i < g_n_needles; i++) {
        if (image_contains(path, g_needles[i].bytes, g_needles[i].len))
            fail_msg("%s found in the flash image", g_needles[i].what);
    }
}

/* Collect the secrets of the running device: the PINs, the MK and every
 * private key (user PIN verified), the device key, and (while it is under
 * the device root) the seed and a piece of each sealed record. */
static void collect_needles(bool device_root)
{
    static uint8_t blob[FK_PK_BLOB_MAX];
    size_t len = 0;
    fk_pk_key_t key;

    g_n_needles = 0;
    needle_add("user PIN", k_pin, sizeof(k_pin) - 1);
    needle_add("SO-PIN", k_so, sizeof(k_so));
    assert_true(session()->mk_loaded);
    needle_add("master key", session()->mk, HSM_MK_LEN);

    assert_int_equal(fk_devrig_hsm_key(&g_dev, KEY_RSA, blob, sizeof(blob), &len), FK_KEY_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), 0);
    needle_add("RSA d", key.d.p, key.d.len);
    needle_add("RSA p", key.p.p, key.p.len);
    needle_add("RSA q", key.q.p, key.q.len);
    assert_int_equal(fk_devrig_hsm_key(&g_dev, KEY_EC, blob, sizeof(blob), &len), FK_KEY_OK);
    assert_int_equal(fk_pk_parse(blob, len, &key), 0);
    needle_add("EC scalar", key.d.p, key.d.len);
    {
        const fk_applet_ctx_t ctx = fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet);
        fk_key_t dev;
        assert_int_equal(fk_key_open(&ctx, HSM_FID(HSM_PREFIX_KEY, HSM_DEVICE_KEY_ID), NULL, &dev),
                         FK_KEY_OK);
        memcpy(blob, dev.material, dev.len);
        len = dev.len;
        fk_key_close(&dev);
    }
    assert_int_equal(fk_pk_parse(blob, len, &key), 0);
    needle_add("device key scalar", key.d.p, key.d.len);
    fk_wipe(blob, sizeof(blob));

    if (device_root) {
        uint8_t seed[SEED_LEN];
        uint8_t rec[SEAL_HEADER_LEN + RECORD_PIECE_LEN];
        assert_int_equal(fk_store_read(&g_dev.svc.store,
                                       FK_STORE_KEY(FK_NS_SERVICES, FK_ID_DEVICE_SEED), 0, seed,
                                       sizeof(seed)),
                         FK_STORE_OK);
        needle_add("device seed", seed, sizeof(seed));
        /* A piece of the ciphertext of each device-root record: superseded
         * versions must be destroyed. */
        for (size_t i = 0; i < FK_ARRAY_SIZE(k_sealed); i++) {
            assert_int_equal(fk_space_read(&g_hsm_sp, k_sealed[i], 0, rec, sizeof(rec)),
                             FK_STORE_OK);
            assert_int_equal(rec[SEAL_OFF_ROOT], FK_ROOT_DEVICE);
            needle_add("a device-root record", rec + SEAL_HEADER_LEN, RECORD_PIECE_LEN);
        }
    }
}

/* ---- Provisioning ---------------------------------------------------------------- */

/* INITIALIZE, VERIFY, generate the keys (RSA-1024 optional, P-256) and sign
 * with them, all under the device root. */
static void provision(uint16_t options, bool with_rsa)
{
    uint8_t t[1024];
    size_t n;

    expect_state(FK_MIGRATION_NONE, 0, 0);
    assert_int_equal(initialize(options), SW_OK);
    assert_int_equal(verify_user(k_pin), SW_OK);
    if (with_rsa) {
        n = rsa_template(t, sizeof(t));
        assert_int_equal(xfer_ext(0x00, INS_GENERATE, KEY_RSA, 0x00, t, n), SW_OK);
        assert_int_equal(sign_and_check(KEY_RSA), SW_OK);
    }
    n = ec_template(t, sizeof(t));
    assert_int_equal(xfer_ext(0x00, INS_GENERATE, KEY_EC, 0x00, t, n), SW_OK);
    assert_int_equal(sign_and_check(KEY_EC), SW_OK);
    expect_records_under(FK_ROOT_DEVICE, with_rsa);
    assert_true(seed_present());
}

/* Burn the MKEK and restart: the start-up migration runs. Both verifiers
 * wait for their PINs. */
static void burn_and_restart(bool with_rsa)
{
    burn_mkek();
    dev_restart();
    expect_state(FK_MIGRATION_IN_PROGRESS, 2, 0);
    expect_records_under(FK_ROOT_OTP, with_rsa);
    assert_int_equal(verifier_root(HSM_ID_USER_PIN), FK_ROOT_DEVICE);
    assert_int_equal(verifier_root(HSM_ID_SO_PIN), FK_ROOT_DEVICE);
    assert_true(seed_present());
}

/* Everything still works, and the migration completes: the user PIN opens
 * the keys and they sign, the SO-PIN verifies, the seed is gone. */
static void expect_all_works_and_completes(bool with_rsa)
{
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(tries_left(HSM_ID_USER_PIN), USER_TRIES);
    if (with_rsa) assert_int_equal(sign_and_check(KEY_RSA), SW_OK);
    assert_int_equal(sign_and_check(KEY_EC), SW_OK);
    assert_int_equal(verify_so(k_so), SW_OK);
    assert_int_equal(tries_left(HSM_ID_SO_PIN), SO_TRIES);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());
    expect_records_under(FK_ROOT_OTP, with_rsa);
    assert_int_equal(verifier_root(HSM_ID_USER_PIN), FK_ROOT_OTP);
    assert_int_equal(verifier_root(HSM_ID_SO_PIN), FK_ROOT_OTP);
}

/* ---- (a) the migration, step by step ---------------------------------------------- */

static void test_migration(void **state)
{
    uint8_t before[PINREC_LEN + FK_SEAL_OVERHEAD], after[sizeof(before)];
    const needle_t *seed;
    (void)state;

    provision(OPT_RRC, true);
    collect_needles(true);
    seed = needle_find("device seed");
    /* The scan works: the seed and the records are there while the device
     * root is in use. */
    for (size_t i = 0; i < g_n_needles; i++) {
        if (strcmp(g_needles[i].what, "a device-root record") == 0)
            assert_true(image_contains(g_rig.flash, g_needles[i].bytes, g_needles[i].len));
    }
    assert_true(image_contains(g_rig.flash, seed->bytes, seed->len));

    /* A restart without an MKEK moves nothing and writes nothing. */
    restart_writes_nothing();
    expect_state(FK_MIGRATION_NONE, 0, 0);
    expect_records_under(FK_ROOT_DEVICE, true);

    burn_and_restart(true);
    /* Every old device-root record is destroyed, the seed still there. */
    for (size_t i = 0; i < g_n_needles; i++) {
        if (strcmp(g_needles[i].what, "a device-root record") == 0)
            assert_false(image_contains(g_rig.flash, g_needles[i].bytes, g_needles[i].len));
    }
    assert_true(image_contains(g_rig.flash, seed->bytes, seed->len));
    /* A second start has nothing left to re-seal: it writes nothing. */
    restart_writes_nothing();
    expect_state(FK_MIGRATION_IN_PROGRESS, 2, 0);

    /* Keys need the PIN, as before. */
    assert_int_equal(sign_and_check(KEY_EC), SW_SECURITY);
    /* A wrong PIN costs a try and moves nothing. */
    assert_int_equal(verify_user(k_pin_bad), SW_TRIES(USER_TRIES - 1));
    assert_int_equal(tries_left(HSM_ID_USER_PIN), USER_TRIES - 1);
    assert_int_equal(verifier_root(HSM_ID_USER_PIN), FK_ROOT_DEVICE);
    expect_state(FK_MIGRATION_IN_PROGRESS, 2, 0);
    /* The right one verifies, restores the tries, and moves its verifier. */
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(tries_left(HSM_ID_USER_PIN), USER_TRIES);
    assert_int_equal(verifier_root(HSM_ID_USER_PIN), FK_ROOT_OTP);
    expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
    assert_true(seed_present());
    assert_int_equal(sign_and_check(KEY_RSA), SW_OK);
    assert_int_equal(sign_and_check(KEY_EC), SW_OK);

    /* After a restart the moved verifier still takes the PIN, and a wrong
     * PIN still costs a try. */
    dev_restart();
    expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
    assert_int_equal(verify_user(k_pin_bad), SW_TRIES(USER_TRIES - 1));
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(tries_left(HSM_ID_USER_PIN), USER_TRIES);
    assert_int_equal(sign_and_check(KEY_RSA), SW_OK);

    /* The SO-PIN: a wrong one costs a try, the right one moves the last
     * verifier, and the seed goes at once. */
    assert_int_equal(verify_so(k_so_bad), SW_TRIES(SO_TRIES - 1));
    assert_true(seed_present());
    assert_int_equal(verify_so(k_so), SW_OK);
    assert_int_equal(tries_left(HSM_ID_SO_PIN), SO_TRIES);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());
    assert_false(image_contains(g_rig.flash, seed->bytes, seed->len));

    /* A verified PIN under the OTP root is not written again. */
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_ID_SO_PIN, 0, before, sizeof(before)),
                     FK_STORE_OK);
    assert_int_equal(verify_so(k_so), SW_OK);
    assert_int_equal(fk_space_read(&g_hsm_sp, HSM_ID_SO_PIN, 0, after, sizeof(after)),
                     FK_STORE_OK);
    assert_memory_equal(before, after, sizeof(before));

    /* Restarts keep it done: no new seed is made on an OTP-root device. */
    dev_restart();
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());
    expect_all_works_and_completes(true);
    assert_int_equal(fk_seal_forget_device_root(&g_dev.svc.store), FK_SEAL_OK);

    fk_devrig_stop(&g_rig);
    expect_no_needle(g_rig.flash);
    fk_devrig_start(&g_rig);
}

/* The other successful PIN checks move verifiers too: CHANGE REFERENCE
 * DATA (user), RESET RETRY COUNTER with the SO-PIN alone (SO). */
static void test_change_and_unblock_migrate(void **state)
{
    (void)state;
    provision(OPT_RRC | OPT_RRC_COUNTER_ONLY, false);
    burn_and_restart(false);

    /* CHANGE: a new record, its verifier under the OTP root. */
    uint8_t d[32];
    memcpy(d, k_pin, sizeof(k_pin) - 1);
    memcpy(d + sizeof(k_pin) - 1, k_pin2, sizeof(k_pin2) - 1);
    assert_int_equal(send3(0x00, 0x24, 0x00, REF_USER, d, sizeof(k_pin) + sizeof(k_pin2) - 2),
                     SW_OK);
    assert_int_equal(verifier_root(HSM_ID_USER_PIN), FK_ROOT_OTP);
    expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
    assert_true(seed_present());

    /* RESET RETRY COUNTER P1 01: the SO-PIN proven, its verifier moved. */
    assert_int_equal(send3(0x00, 0x2C, 0x01, REF_USER, k_so, sizeof(k_so)), SW_OK);
    assert_int_equal(verifier_root(HSM_ID_SO_PIN), FK_ROOT_OTP);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());

    /* The MK survived both: the new PIN opens the key. */
    dev_restart();
    assert_int_equal(verify_user(k_pin2), SW_OK);
    assert_int_equal(sign_and_check(KEY_EC), SW_OK);
    assert_int_equal(verify_so(k_so), SW_OK);
}

/* RESET RETRY COUNTER with SO-PIN and new user PIN moves both at once;
 * re-INITIALIZE (SO-PIN proven) makes both records anew. */
static void test_unblock_and_reinitialize_migrate(void **state)
{
    uint8_t d[32];
    (void)state;
    provision(OPT_RRC, false);
    burn_and_restart(false);
    snapshot("burned", false);

    memcpy(d, k_so, sizeof(k_so));
    memcpy(d + sizeof(k_so), k_pin2, sizeof(k_pin2) - 1);
    assert_int_equal(send3(0x00, 0x2C, 0x00, REF_USER, d, sizeof(k_so) + sizeof(k_pin2) - 1),
                     SW_OK);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());
    assert_int_equal(verify_user(k_pin2), SW_OK);
    assert_int_equal(sign_and_check(KEY_EC), SW_OK);

    fk_devrig_stop(&g_rig);
    snapshot("burned", true);
    fk_devrig_start(&g_rig);
    expect_state(FK_MIGRATION_IN_PROGRESS, 2, 0);
    assert_int_equal(initialize(OPT_RRC), SW_OK);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());
    assert_int_equal(verifier_root(HSM_ID_USER_PIN), FK_ROOT_OTP);
    assert_int_equal(verifier_root(HSM_ID_SO_PIN), FK_ROOT_OTP);
    assert_int_equal(verify_user(k_pin), SW_OK);
    /* The device key outlives re-initialization, under the OTP root. */
    assert_int_equal(record_root(HSM_FID(HSM_PREFIX_KEY, HSM_DEVICE_KEY_ID)), FK_ROOT_OTP);
}

/* ---- (b) power cuts --------------------------------------------------------------- */

/* Run `action` once without cuts from snapshot `snap` and count its flash
 * operations; then for each of them and each cut mode: restore the
 * snapshot, cut the power there during `action`, restart without cuts and
 * run `check`. */
static void cut_everywhere(const char *snap, bool started, void (*action)(void),
                           void (*check)(void))
{
    unsigned long total;

    fk_devrig_stop(&g_rig);
    snapshot(snap, true);
    if (started) fk_devrig_start(&g_rig);
    arm(-1, CUT_WHOLE, -1);
    action();
    total = g_ops;
    assert_true(total > 0);
    print_message("cutting %s at each of %lu flash operations, %d ways\n", snap, total,
                  (int)CUT_MODES);
    for (unsigned long k = 0; k < total; k++) {
        for (int mode = 0; mode < CUT_MODES; mode++) {
            disarm();
            fk_devrig_stop(&g_rig);
            snapshot(snap, true);
            if (started) fk_devrig_start(&g_rig);
            arm((long)k, (cut_mode_t)mode, -1);
            action();
            assert_true(g_dead);
            dev_restart();
            check();
        }
    }
}

static void action_boot(void) { (void)fk_devrig_boot(&g_rig); }

/* After a cut anywhere in the start-up migration, the next start finishes
 * it: every record under the OTP root, both verifiers waiting, the tries
 * untouched; then everything works and the migration completes. */
static void check_boot(void)
{
    expect_state(FK_MIGRATION_IN_PROGRESS, 2, 0);
    expect_records_under(FK_ROOT_OTP, true);
    assert_true(seed_present());
    assert_int_equal(tries_left(HSM_ID_USER_PIN), USER_TRIES);
    assert_int_equal(tries_left(HSM_ID_SO_PIN), SO_TRIES);
    expect_all_works_and_completes(true);
}

static void test_powercut_startup(void **state)
{
    (void)state;
    provision(OPT_RRC, true);
    burn_mkek();
    fk_devrig_stop(&g_rig);
    snapshot("burned", false);
    fk_devrig_start(&g_rig);
    cut_everywhere("burned", false, action_boot, check_boot);
}

static void action_verify_user(void) { (void)verify_user(k_pin); }
static void action_verify_so(void) { (void)verify_so(k_so); }

/* After a cut in a VERIFY that moves the user verifier: the try is spent
 * only if the cut came before the tries were restored, and never once the
 * verifier moved. */
static void check_verify_user(void)
{
    const uint8_t left = tries_left(HSM_ID_USER_PIN);
    const fk_root_t vroot = verifier_root(HSM_ID_USER_PIN);

    assert_true(left == USER_TRIES || left == USER_TRIES - 1);
    if (vroot == FK_ROOT_OTP) {
        assert_int_equal(left, USER_TRIES);
        expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
    } else {
        expect_state(FK_MIGRATION_IN_PROGRESS, 2, 0);
    }
    assert_true(seed_present());
    expect_all_works_and_completes(true);
}

/* The same for the SO verifier, the last one: once it moved, the seed is
 * gone (by the VERIFY itself, or at the next start if the cut hit the
 * deletion). */
static void check_verify_so(void)
{
    const uint8_t left = tries_left(HSM_ID_SO_PIN);
    const fk_root_t vroot = verifier_root(HSM_ID_SO_PIN);

    assert_true(left == SO_TRIES || left == SO_TRIES - 1);
    if (vroot == FK_ROOT_OTP) {
        assert_int_equal(left, SO_TRIES);
        expect_state(FK_MIGRATION_DONE, 0, 0);
        assert_false(seed_present());
    } else {
        expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
        assert_true(seed_present());
    }
    expect_all_works_and_completes(true);
}

static void test_powercut_lazy_verify(void **state)
{
    (void)state;
    provision(OPT_RRC, true);
    burn_and_restart(true);
    fk_devrig_stop(&g_rig);
    snapshot("both", false);
    fk_devrig_start(&g_rig);
    cut_everywhere("both", true, action_verify_user, check_verify_user);

    /* From a device whose user verifier moved: the SO one, and with it the
     * deletion of the seed. */
    disarm();
    fk_devrig_stop(&g_rig);
    snapshot("both", true);
    fk_devrig_start(&g_rig);
    assert_int_equal(verify_user(k_pin), SW_OK);
    expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
    fk_devrig_stop(&g_rig);
    snapshot("so", false);
    fk_devrig_start(&g_rig);
    cut_everywhere("so", true, action_verify_so, check_verify_so);
}

/* A flash error (not a power cut) in the start-up migration does not stop
 * the device: it starts, works with what it has, and the next start
 * finishes the job. */
static void test_flash_error_during_migration(void **state)
{
    unsigned long total;
    fk_migration_status_t st;
    (void)state;

    provision(OPT_RRC, false);
    burn_mkek();
    fk_devrig_stop(&g_rig);
    snapshot("burned", false);
    arm(-1, CUT_WHOLE, -1);
    assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
    total = g_ops;
    assert_true(total > 0);
    for (unsigned long k = 0; k < total; k++) {
        disarm();
        fk_devrig_stop(&g_rig);
        snapshot("burned", true);
        arm(-1, CUT_WHOLE, (long)k);
        assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_OK);
        fk_card_power_on(&g_dev.card);
        fk_services_migration_state(&g_dev.svc, &st);
        assert_int_equal(st.state, FK_MIGRATION_IN_PROGRESS);
        assert_true(st.failed > 0);
        assert_true(seed_present());
        assert_int_equal(verify_user(k_pin), SW_OK);
        assert_int_equal(sign_and_check(KEY_EC), SW_OK);
        dev_restart();
        expect_records_under(FK_ROOT_OTP, false);
        fk_services_migration_state(&g_dev.svc, &st);
        assert_int_equal(st.state, FK_MIGRATION_IN_PROGRESS);
        assert_int_equal(st.failed, 0);
    }
}

/* ---- (c) a flash copy on another chip ----------------------------------------------- */

/* The copied flash on a chip whose OTP is blank or holds another MKEK:
 * the device starts but nothing opens, and no answer tells a right PIN from
 * a wrong one. */
static void check_copy_opens_nothing(fk_migration_state_t expected)
{
    static const uint16_t k_records[] = {HSM_ID_USER_PIN, HSM_ID_SO_PIN,
                                         HSM_FID(HSM_PREFIX_KEY, HSM_DEVICE_KEY_ID),
                                         HSM_FID(HSM_PREFIX_KEY, KEY_RSA),
                                         HSM_FID(HSM_PREFIX_KEY, KEY_EC)};
    static uint8_t buf[FK_SEAL_MAX_PLAINTEXT];
    uint16_t right, wrong;
    size_t n;

    fk_devrig_start(&g_rig);
    expect_state(expected, 0, 0);
    right = verify_user(k_pin);
    wrong = verify_user(k_pin_bad);
    assert_int_not_equal(right, SW_OK);
    assert_int_equal(right, wrong);
    assert_int_equal(g_out_len, 2);
    right = verify_so(k_so);
    wrong = verify_so(k_so_bad);
    assert_int_not_equal(right, SW_OK);
    assert_int_equal(right, wrong);
    assert_false(session()->mk_loaded);
    assert_int_equal(sign_and_check(KEY_RSA), SW_SECURITY);
    assert_int_equal(sign_and_check(KEY_EC), SW_SECURITY);
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_records); i++) {
        assert_int_equal(record_root(k_records[i]), FK_ROOT_OTP);
        assert_int_equal(fk_seal_load(&g_hsm_sp, k_records[i], buf, sizeof(buf), &n),
                         FK_SEAL_EAUTH);
    }
    fk_devrig_stop(&g_rig);
}

static void test_flash_copy_opens_nothing(void **state)
{
    char dir2[sizeof(g_rig.dir) + 8];
    char copy[FK_DEVRIG_PATH_CAP], original[FK_DEVRIG_PATH_CAP];
    (void)state;

    provision(OPT_RRC, true);
    collect_needles(true);
    burn_and_restart(true);
    assert_int_equal(verify_user(k_pin), SW_OK);
    assert_int_equal(verify_so(k_so), SW_OK);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    fk_devrig_stop(&g_rig);

    /* The original: no secret in the clear, no trace of the device root,
     * and the scan does find what is stored in the clear. */
    expect_no_needle(g_rig.flash);
    assert_true(image_contains(g_rig.flash, "FKDICA00001", 11));

    snprintf(dir2, sizeof(dir2), "%s/copy", g_rig.dir);
    assert_int_equal(mkdir(dir2, 0700), 0);
    snprintf(copy, sizeof(copy), "%s/flash.bin", dir2);
    snprintf(original, sizeof(original), "%s", g_rig.flash);

    /* A blank OTP: the device root is current again, a new seed is made. */
    fk_devrig_copy_file(original, copy);
    set_paths(dir2, "otp-blank.bin");
    check_copy_opens_nothing(FK_MIGRATION_NONE);
    expect_no_needle(copy);

    /* Another chip's MKEK. */
    fk_devrig_copy_file(original, copy);
    set_paths(dir2, "otp-other.bin");
    assert_int_equal(fk_host_otp_open(g_rig.otp), 0);
    burn_mkek();
    fk_host_otp_close();
    check_copy_opens_nothing(FK_MIGRATION_DONE);
    expect_no_needle(copy);

    /* The original still works on its own chip. */
    set_paths(g_rig.dir, "otp.bin");
    fk_devrig_start(&g_rig);
    expect_all_works_and_completes(true);
}

/* ---- (c') the key-page lock: only once nothing is left to move ------------------- */

static uint16_t select_applet(const fk_applet_t *a)
{
    return send3(0x00, 0xA4, 0x04, 0x0C, a->aid, a->aid_len);
}

/* The rescue applet's 1E 07 answer (state, pending, failed); HSM selected again. */
static void rescue_migration(uint8_t out[FK_RESCUE_MIGRATION_INFO_LEN])
{
    const fk_devrig_cmd_t cmd = {FK_RESCUE_CLA, FK_RESCUE_INS_READ, FK_RESCUE_INFO_MIGRATION,
                                 0x00, NULL, 0, FK_DEVRIG_NE_SHORT_MAX, false};
    assert_int_equal(select_applet(&fk_rescue_applet), SW_OK);
    assert_int_equal(send(&cmd), SW_OK);
    assert_int_equal(g_out_len, FK_RESCUE_MIGRATION_INFO_LEN + 2);
    memcpy(out, g_out, FK_RESCUE_MIGRATION_INFO_LEN);
    assert_int_equal(select_applet(&fk_hsm_applet), SW_OK);
}

/* The rescue applet's 1B 58 (lock the key page): its SW; HSM selected again. */
static uint16_t rescue_lock58(void)
{
    assert_int_equal(select_applet(&fk_rescue_applet), SW_OK);
    const uint16_t sw = send3(FK_RESCUE_CLA, FK_RESCUE_INS_OTP, FK_RESCUE_OTP_LOCK58, 0x00,
                              FK_RESCUE_MAGIC_LOCK58, FK_RESCUE_MAGIC_LEN);
    assert_int_equal(select_applet(&fk_hsm_applet), SW_OK);
    return sw;
}

static uint32_t lock58_row(void)
{
    uint32_t v = 0;
    assert_int_equal(fk_otp_read_raw(otp_model(), FK_OTP_SECURE,
                                     (uint16_t)FK_OTP_ROW_PAGE_LOCK1(FK_OTP_PAGE_KEYS), &v, 1),
                     FK_OTP_OK);
    return v;
}

/* While a verifier still waits for its PIN, the key page is not locked:
 * the lock would retire the device root and lose that PIN for good. The
 * host sees why (1E 07) and what is left; once the last PIN is given the
 * lock goes through. */
static void test_lock_waits_for_migration(void **state)
{
    uint8_t m[FK_RESCUE_MIGRATION_INFO_LEN];
    (void)state;

    provision(OPT_RRC, false);
    rescue_migration(m);
    assert_int_equal(m[0], FK_RESCUE_MIGRATION_NONE);
    assert_int_equal(rescue_lock58(), SW_CONDITIONS); /* no MKEK yet */

    burn_and_restart(false);
    rescue_migration(m);
    assert_int_equal(m[0], FK_RESCUE_MIGRATION_IN_PROGRESS);
    assert_int_equal(m[1], 2);
    assert_int_equal(m[2], 0);
    assert_int_equal(rescue_lock58(), SW_NOT_ALLOWED);
    assert_int_equal(lock58_row(), 0);

    assert_int_equal(verify_user(k_pin), SW_OK);
    rescue_migration(m);
    assert_int_equal(m[0], FK_RESCUE_MIGRATION_IN_PROGRESS);
    assert_int_equal(m[1], 1);
    assert_int_equal(rescue_lock58(), SW_NOT_ALLOWED);
    assert_int_equal(lock58_row(), 0);
    /* Nor after a restart, which finds the same. */
    dev_restart();
    expect_state(FK_MIGRATION_IN_PROGRESS, 1, 0);
    assert_int_equal(rescue_lock58(), SW_NOT_ALLOWED);

    assert_int_equal(verify_so(k_so), SW_OK);
    rescue_migration(m);
    assert_int_equal(m[0], FK_RESCUE_MIGRATION_DONE);
    assert_int_equal(m[1], 0);
    assert_int_equal(rescue_lock58(), SW_OK);
    assert_int_equal(lock58_row(), FK_OTP_LOCK1_PAGE58);
    /* Locked, the device works on as before. */
    dev_restart();
    expect_all_works_and_completes(false);
}

/* The planted-record attack: a flash image kept from before the migration
 * (its seed, its device-root PIN verifiers for a PIN the attacker knows,
 * its keys) written back onto the locked device. The device root is
 * retired by the lock: the start deletes the seed and runs no hook, so
 * nothing of the old image is re-sealed under the OTP root, no old PIN
 * opens anything, no old key signs. */
static void test_planted_records_after_lock(void **state)
{
    static uint8_t buf[FK_SEAL_MAX_PLAINTEXT];
    size_t n;
    (void)state;

    provision(OPT_RRC, false);
    fk_devrig_stop(&g_rig);
    snapshot("before", false);
    fk_devrig_start(&g_rig);

    burn_and_restart(false);
    expect_all_works_and_completes(false);
    assert_int_equal(rescue_lock58(), SW_OK);
    /* The owner changes the PIN afterwards; the attacker knows the old one. */
    assert_int_equal(send3(0x00, 0x24, 0x00, REF_USER, "648219771203", 12), SW_OK);
    fk_devrig_stop(&g_rig);

    /* The old flash written back, on this chip as it is now. */
    char old[FK_DEVRIG_PATH_CAP + 16];
    snprintf(old, sizeof(old), "%s.before", g_rig.flash);
    fk_devrig_copy_file(old, g_rig.flash);
    fk_devrig_start(&g_rig);
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_false(seed_present());
    /* Nothing was re-sealed: the old records (the PIN records among them)
     * are still the device root's, and none opens. */
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_sealed); i++) {
        if (k_sealed[i] == HSM_FID(HSM_PREFIX_KEY, KEY_RSA)) continue;
        assert_int_equal(record_root(k_sealed[i]), FK_ROOT_DEVICE);
        assert_int_not_equal(fk_seal_load(&g_hsm_sp, k_sealed[i], buf, sizeof(buf), &n),
                             FK_SEAL_OK);
    }
    /* The old PINs open nothing, and say no more than a wrong one. */
    const uint16_t right = verify_user(k_pin), wrong = verify_user(k_pin_bad);
    assert_int_not_equal(right, SW_OK);
    assert_int_equal(right, wrong);
    assert_int_not_equal(verify_so(k_so), SW_OK);
    assert_false(session()->mk_loaded);
    assert_int_equal(sign_and_check(KEY_EC), SW_SECURITY);
    /* A restart finds the same, and writes nothing. */
    restart_writes_nothing();
    expect_state(FK_MIGRATION_DONE, 0, 0);
    assert_int_equal(record_root(HSM_ID_USER_PIN), FK_ROOT_DEVICE);
}

/* ---- (d) an MKEK that cannot be read ------------------------------------------------- */

/* Set two bits of an MKEK row that are clear: an uncorrectable row. */
static void damage_mkek_row(unsigned i)
{
    uint32_t raw = 0, add = 0;
    unsigned set = 0;
    uint8_t mkek[FK_HAL_OTP_KEY_LEN];

    assert_int_equal(fk_otp_read_raw(otp_model(), FK_OTP_SECURE, (uint16_t)(FK_OTP_ROW_MKEK + i),
                                     &raw, 1),
                     FK_OTP_OK);
    for (unsigned b = 0; b < 22 && set < 2; b++) {
        if (!(raw & (1u << b))) {
            add |= 1u << b;
            set++;
        }
    }
    assert_int_equal(set, 2);
    /* The whole new value, as the bootrom's write wants it. */
    add |= raw;
    assert_int_equal(fk_otp_write_raw(otp_model(), FK_OTP_SECURE,
                                      (uint16_t)(FK_OTP_ROW_MKEK + i), &add, 1),
                     FK_OTP_OK);
    assert_int_equal(fk_hal_otp_key(FK_HAL_OTP_MKEK, mkek), FK_HAL_EIO);
}

static void test_unreadable_mkek(void **state)
{
    static uint8_t image[FLASH_SIZE];
    static uint8_t buf[FK_SEAL_MAX_PLAINTEXT];
    fk_applet_ctx_t ctx;
    fk_root_t root;
    unsigned pending = 0;
    size_t n;
    (void)state;

    provision(OPT_RRC, false);
    burn_and_restart(false);
    damage_mkek_row(5);
    fk_devrig_stop(&g_rig);
    memcpy(image, flash_image(g_rig.flash), sizeof(image));

    /* The device does not start on the device root instead. */
    assert_int_equal(fk_devrig_boot(&g_rig), FK_SERVICES_ESEAL);
    /* What the firmware would meet on its store: errors, never a fallback. */
    assert_int_equal(fk_store_mount(&g_dev.svc.store, COUNTERS_SIZE, FLASH_SIZE - COUNTERS_SIZE),
                     FK_STORE_OK);
    assert_int_equal(fk_store_mount(&g_dev.svc.counters, 0, COUNTERS_SIZE), FK_STORE_OK);
    assert_int_equal(fk_seal_current_root(&root), FK_SEAL_EOTP);
    for (size_t i = 0; i < FK_ARRAY_SIZE(k_sealed); i++) {
        if (k_sealed[i] == HSM_FID(HSM_PREFIX_KEY, KEY_RSA)) continue;
        assert_int_equal(record_root(k_sealed[i]), FK_ROOT_OTP);
        assert_int_equal(fk_seal_load(&g_hsm_sp, k_sealed[i], buf, sizeof(buf), &n),
                         FK_SEAL_EOTP);
        assert_int_equal(fk_seal_reseal(&g_hsm_sp, k_sealed[i], NULL), FK_SEAL_EOTP);
    }
    assert_int_equal(fk_seal_store(&g_hsm_sp, HSM_FID(HSM_PREFIX_KEY, KEY_SPARE), "x", 1),
                     FK_SEAL_EOTP);
    assert_int_equal(fk_seal_forget_device_root(&g_dev.svc.store), FK_SEAL_EOTP);
    ctx = ctx_of();
    assert_int_not_equal(hsm_migrate(&ctx, &pending), SW_OK);
    assert_int_equal(pending, 0);
    assert_true(seed_present());
    fk_host_flash_close();
    fk_host_otp_close();
    /* Nothing was written: no record sealed under the device root, no seed. */
    assert_memory_equal(flash_image(g_rig.flash), image, sizeof(image));

    /* Give the test's teardown a running device on a fresh pair. */
    set_paths(g_rig.dir, "otp-fresh.bin");
    assert_int_equal(unlink(g_rig.flash), 0);
    fk_devrig_start(&g_rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_and_unblock_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unblock_and_reinitialize_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flash_copy_opens_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_mkek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_waits_for_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_records_after_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flash_error_during_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_startup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_powercut_lazy_verify, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
