/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the HSM applet's file commands (SELECT of files, READ BINARY
 * B0/B1, UPDATE BINARY D7, DELETE FILE, ENUMERATE OBJECTS, hsm_file_put),
 * sent through fk_card_transceive to the product's applets over the host
 * port's file-backed flash. Each test starts from a fresh flash image.
 *
 * Each device is initialized (INITIALIZE as sc-hsm-tool sends it); the tests
 * that need a verified user PIN send VERIFY, and a SELECT of the applet
 * clears it again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devrig.h"
#include "host_port.h"
#include "hsm/hsm_internal.h"
#include "seal/seal.h"
#include "services/ns.h"
#include "store/space.h"
#include "util.h"

#define SW_OK 0x9000
#define SW_END_OF_FILE 0x6282
#define SW_MEMORY_FAILURE 0x6581
#define SW_WRONG_LENGTH 0x6700
#define SW_SECURITY 0x6982
#define SW_NO_CURRENT_EF 0x6986
#define SW_WRONG_DATA 0x6A80
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_NOT_FOUND 0x6A82
#define SW_NOT_ENOUGH_MEMORY 0x6A84
#define SW_INCORRECT_P1P2 0x6A86
#define SW_WRONG_P1P2 0x6B00

#define FILE_MAX (128u * 1024u)
#define KIB64 (64u * 1024u)
#define EXT_NE_MAX 65536u

static fk_testdev_t g_dev;
static uint8_t g_out[EXT_NE_MAX + 2]; /* room for a whole 65536-byte answer */
static size_t g_out_len;

static const uint8_t k_hsm_aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
static const uint8_t k_serial[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};

/* The TokenInfo served while 2F03 was never written. */
static const uint8_t k_default_tokeninfo[] = {
    0x30, 0x19, 0x02, 0x01, 0x00, 0x0C, 0x07, 'f', 'u', 's', 'e', 'k', 'e', 'y', 0x80,
    0x07, 'f',  'u',  's',  'e',  'k',  'e',  'y', 0x03, 0x02, 0x05, 0x20};

static fk_devrig_t g_rig = {&g_dev, k_serial, fk_host_flash_open, fk_host_flash_close, 0};

static void initialize(void);

static int setup(void **state)
{
    (void)state;
    if (fk_devrig_setup(&g_rig, "hsmfiles") != 0) return -1;
    initialize();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fk_devrig_teardown(&g_rig);
}

/* ---- APDU helpers -------------------------------------------------------- */

static uint16_t xfer(const uint8_t *apdu, size_t len)
{
    return fk_devrig_xfer(&g_dev, apdu, len, g_out, sizeof(g_out), &g_out_len);
}

#define XFER(...)                                  \
    ({                                             \
        static const uint8_t a_[] = {__VA_ARGS__}; \
        xfer(a_, sizeof(a_));                      \
    })

static size_t resp_len(void) { return g_out_len - 2; }

/* Send CLA INS P1 P2 [Lc data] [Le]: short lengths unless `ext` or the
 * sizes need the extended form. ne 0 = no Le. */
static uint16_t send_apdu(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                          size_t nc, size_t ne, bool ext)
{
    const fk_devrig_cmd_t cmd = {cla, ins, p1, p2, data, nc, ne, ext};
    return fk_devrig_send(&g_dev, &cmd, g_out, sizeof(g_out), &g_out_len);
}

static uint16_t select_hsm(void)
{
    uint8_t a[5 + sizeof(k_hsm_aid) + 1] = {0x00, 0xA4, 0x04, 0x00, sizeof(k_hsm_aid)};
    memcpy(a + 5, k_hsm_aid, sizeof(k_hsm_aid));
    return xfer(a, sizeof(a));
}

static uint16_t select_fid(uint16_t fid)
{
    uint8_t d[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
    return send_apdu(0x00, 0xA4, 0x00, 0x00, d, 2, 256, false);
}

/* Bytes needed for an offset in tag 54 (at least 2, as clients send). */
static size_t offset_width(uint32_t offset)
{
    if (offset > 0xFFFFFFu) return 4;
    if (offset > 0xFFFFu) return 3;
    return 2;
}

static size_t put_offset(uint8_t *p, uint32_t offset, size_t width)
{
    p[0] = 0x54;
    p[1] = (uint8_t)width;
    for (size_t i = 0; i < width; i++) p[2 + i] = (uint8_t)(offset >> (8 * (width - 1 - i)));
    return 2 + width;
}

/* `54 offset 53 L data` with a BER length of `len_bytes` (0: shortest). */
static size_t odd_write_data(uint8_t *out, uint32_t offset, const uint8_t *data, size_t len,
                             size_t len_bytes)
{
    size_t n = put_offset(out, offset, offset_width(offset));
    out[n++] = 0x53;
    if (len_bytes == 0) len_bytes = len < 0x80 ? 0 : len <= 0xFF ? 1 : len <= 0xFFFF ? 2 : 3;
    if (len_bytes == 0) {
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(0x80 | len_bytes);
        for (size_t i = 0; i < len_bytes; i++) out[n++] = (uint8_t)(len >> (8 * (len_bytes - 1 - i)));
    }
    if (len) memcpy(out + n, data, len);
    return n + len;
}

/* UPDATE BINARY D7 of len bytes at offset into fid (0000 = current EF). */
static uint16_t update(uint16_t fid, uint32_t offset, const uint8_t *data, size_t len, bool ext)
{
    static uint8_t body[65535];
    assert_true(len + 12 <= sizeof(body));
    size_t n = odd_write_data(body, offset, data, len, 0);
    return send_apdu(0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, body, n, 0, ext);
}

/* READ BINARY B1 of fid (0000 = current EF) from offset, with Le ne. */
static uint16_t read_odd(uint16_t fid, uint32_t offset, size_t ne)
{
    uint8_t d[6];
    size_t n = put_offset(d, offset, offset_width(offset));
    return send_apdu(0x00, 0xB1, (uint8_t)(fid >> 8), (uint8_t)fid, d, n, ne, ne > 256);
}

/* Read a whole file with B1 FID 0000 in reads of `chunk` bytes, the way
 * OpenSC's loop does: until a read answers fewer bytes, then once more at
 * offset = size (answered 9000 with no data). Returns the length read. */
static size_t read_all(uint16_t fid, uint8_t *buf, size_t cap, size_t chunk)
{
    assert_int_equal(select_fid(fid), SW_OK);
    size_t have = 0;
    for (;;) {
        assert_int_equal(read_odd(0x0000, (uint32_t)have, chunk), SW_OK);
        size_t n = resp_len();
        assert_true(n <= chunk);
        assert_true(have + n <= cap);
        memcpy(buf + have, g_out, n);
        have += n;
        if (n < chunk) break;
    }
    assert_int_equal(read_odd(0x0000, (uint32_t)have, chunk), SW_OK);
    assert_int_equal(resp_len(), 0);
    return have;
}

/* Size announced by the FCP in g_out (tag 81, 2 or 3 bytes). */
static uint32_t fcp_size(void)
{
    size_t n = resp_len();
    assert_true(n >= 2);
    assert_int_equal(g_out[0], 0x62);
    assert_int_equal(g_out[1], n - 2);
    size_t i = 2;
    while (i + 2 <= n) {
        uint8_t tag = g_out[i], len = g_out[i + 1];
        assert_true(i + 2 + len <= n);
        if (tag == 0x81) {
            uint32_t v = 0;
            for (size_t k = 0; k < len; k++) v = (v << 8) | g_out[i + 2 + k];
            return v;
        }
        i += 2u + len;
    }
    fail_msg("no tag 81 in the FCP");
    return 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
}

/* INITIALIZE as sc-hsm-tool sends it: options 0001, user PIN 648219,
 * SO-PIN 3537363231383830, 3 tries. */
static void initialize(void)
{
    static const uint8_t init[] = {0x80, 0x50, 0x00, 0x00, 0x19, 0x80, 0x02, 0x00, 0x01, 0x81,
                                   0x06, '6',  '4',  '8',  '2',  '1',  '9',  0x82, 0x08, '5',
                                   '7',  '6',  '2',  '1',  '8',  '8',  '0',  0x91, 0x01, 0x03};
    assert_int_equal(xfer(init, sizeof(init)), SW_OK);
}

/* VERIFY the user PIN. */
static void login(void) { assert_int_equal(XFER(0x00, 0x20, 0x00, 0x81, 0x06, '6', '4', '8', '2', '1', '9'), SW_OK); }

/* The HSM's namespace in each partition. */
static fk_space_t hsm_main(void) { return (fk_space_t){&g_dev.svc.store, FK_NS_HSM}; }
static fk_space_t hsm_ctrs(void) { return (fk_space_t){&g_dev.svc.counters, FK_NS_HSM}; }

/* Size of the HSM's record `id` (0xFFFFFFFF when absent). */
static uint32_t stored_size(uint16_t id)
{
    uint32_t size = 0xFFFFFFFFu;
    const fk_space_t sp = hsm_main();
    if (fk_space_size(&sp, id, &size) != FK_STORE_OK) return 0xFFFFFFFFu;
    return size;
}

/* Size of the device seed, in the services' namespace (out of the HSM's reach). */
static uint32_t seed_size(void)
{
    uint32_t size = 0xFFFFFFFFu;
    const fk_space_t sp = {&g_dev.svc.store, FK_NS_SERVICES};
    if (fk_space_size(&sp, FK_ID_DEVICE_SEED, &size) != FK_STORE_OK) return 0xFFFFFFFFu;
    return size;
}

static void store_put(fk_space_t sp, uint16_t id, size_t len, uint32_t seed)
{
    uint8_t buf[256];
    assert_true(len <= sizeof(buf));
    fill(buf, len, seed);
    assert_int_equal(fk_space_write(&sp, id, buf, len), FK_STORE_OK);
}

/* Assert that record `id` holds exactly data[0, len). */
static void assert_stored(uint16_t id, const uint8_t *data, size_t len)
{
    assert_int_equal(stored_size(id), len);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    const fk_space_t sp = hsm_main();
    assert_int_equal(fk_space_read(&sp, id, 0, buf, len), FK_STORE_OK);
    assert_memory_equal(buf, data, len);
    free(buf);
}

/* ---- SELECT -------------------------------------------------------------- */

static void test_select_mf(void **state)
{
    (void)state;
    static const uint8_t mf_fcp[] = {0x62, 0x0E, 0x81, 0x02, 0x00, 0x00, 0x82, 0x01,
                                     0x38, 0x83, 0x02, 0x3F, 0x00, 0x8A, 0x01, 0x05};
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x00, 0x00), SW_OK);
    assert_int_equal(resp_len(), sizeof(mf_fcp));
    assert_memory_equal(g_out, mf_fcp, sizeof(mf_fcp));
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, mf_fcp, sizeof(mf_fcp));
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x02, 0x3F, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, mf_fcp, sizeof(mf_fcp));
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x0C), SW_OK);
    assert_int_equal(resp_len(), 0);

    /* Selecting the MF leaves no current EF. */
    assert_int_equal(select_fid(HSM_FID_TOKENINFO), SW_OK);
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x0C), SW_OK);
    assert_int_equal(read_odd(0x0000, 0, 16), SW_NO_CURRENT_EF);
}

static void test_select_ef_fcp(void **state)
{
    (void)state;
    uint8_t data[300];
    fill(data, sizeof(data), 1);
    login();
    assert_int_equal(update(0xCF00, 0, data, 26, false), SW_OK);
    assert_int_equal(update(0xC401, 0, data, sizeof(data), false), SW_OK);

    /* EF FCP: 62 L 81 02 <size> 82 01 01 83 02 <FID> 8A 01 05, exact size. */
    static const uint8_t cf00_fcp[] = {0x62, 0x0E, 0x81, 0x02, 0x00, 0x1A, 0x82, 0x01, 0x01,
                                       0x83, 0x02, 0xCF, 0x00, 0x8A, 0x01, 0x05};
    assert_int_equal(select_fid(0xCF00), SW_OK);
    assert_int_equal(resp_len(), sizeof(cf00_fcp));
    assert_memory_equal(g_out, cf00_fcp, sizeof(cf00_fcp));
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x04, 0x02, 0xC4, 0x01, 0x00), SW_OK);
    assert_int_equal(fcp_size(), sizeof(data));
    assert_int_equal(g_out[11], 0xC4);
    assert_int_equal(g_out[12], 0x01);

    /* Case 3 (no Le): the status alone, as a SmartCard-HSM answers; the EF
     * is selected all the same. */
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x00, 0x02, 0xCF, 0x00), SW_OK);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6985);

    /* P2 0C: no data, and the EF is selected. */
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x0C, 0x02, 0xCF, 0x00), SW_OK);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(0x0000, 0, 256), SW_OK);
    assert_int_equal(resp_len(), 26);
    assert_memory_equal(g_out, data, 26);

    /* Sizes of 0x8000 and more take 3 bytes, so that a signed reading of
     * tag 81 (OpenSC's) stays positive. */
    static uint8_t big[KIB64];
    fill(big, sizeof(big), 2);
    static const struct {
        uint32_t size;
        uint8_t enc[5];
    } sizes[] = {{0x7FFF, {0x81, 0x02, 0x7F, 0xFF}},
                 {0x8000, {0x81, 0x03, 0x00, 0x80, 0x00}},
                 {40000, {0x81, 0x03, 0x00, 0x9C, 0x40}},
                 {0xFFFF, {0x81, 0x03, 0x00, 0xFF, 0xFF}},
                 {0x10000, {0x81, 0x03, 0x01, 0x00, 0x00}}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(hsm_file_put(&(fk_applet_ctx_t[]){fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet)}[0], 0xCF70, big,
                                      sizes[i].size),
                         SW_OK);
        assert_int_equal(select_fid(0xCF70), SW_OK);
        size_t w = sizes[i].enc[1];
        assert_int_equal(resp_len(), 14 + w);
        assert_memory_equal(g_out + 2, sizes[i].enc, 2 + w);
        assert_int_equal(fcp_size(), sizes[i].size);
    }

    /* An empty file answers size 0. */
    assert_int_equal(update(0xC900, 0, NULL, 0, false), SW_OK);
    assert_int_equal(select_fid(0xC900), SW_OK);
    assert_int_equal(fcp_size(), 0);

    /* By path from the MF, with or without 3F00 in front. */
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x02, 0xCF, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, cf00_fcp, sizeof(cf00_fcp));
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x04, 0x04, 0x3F, 0x00, 0xCF, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, cf00_fcp, sizeof(cf00_fcp));
}

static void test_select_errors(void **state)
{
    (void)state;
    login();
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(update(0xCF01, 0, data, sizeof(data), false), SW_OK);
    assert_int_equal(select_fid(0xCF01), SW_OK);

    /* Missing files and ids that are not host files: 6A82, current EF kept. */
    static const uint16_t absent[] = {0xCF02, 0x2F00, 0x2F10, 0xCC01, 0x5015, 0xA000, 0x0000,
                                      FK_ID_DEVICE_SEED, HSM_ID_CONFIG, HSM_ID_USER_PIN, 0x10FF,
                                      0x1FFF, 0xC000, 0xC100, 0xCB00, 0xD000, 0xFFFF};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        assert_int_equal(select_fid(absent[i]), SW_NOT_FOUND);
    /* The device seed exists in the store (another namespace), yet is not a
     * file of the applet. */
    assert_int_not_equal(seed_size(), 0xFFFFFFFFu);
    assert_int_equal(read_odd(0x0000, 0, 256), SW_OK);
    assert_int_equal(resp_len(), sizeof(data));

    /* Paths: OpenSC's PKCS#15 probe, EF.DIR, a DF, longer paths. */
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x04, 0x50, 0x15, 0x49, 0x46, 0x00), SW_NOT_FOUND);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x02, 0x2F, 0x00, 0x00), SW_NOT_FOUND);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x02, 0x50, 0x15, 0x00), SW_NOT_FOUND);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x04, 0x50, 0x15, 0xCF, 0x01, 0x00), SW_NOT_FOUND);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x04, 0x3F, 0x00, 0x3F, 0x00, 0x00), SW_NOT_FOUND);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x06, 0x3F, 0x00, 0x50, 0x15, 0xCF, 0x01, 0x00),
                     SW_NOT_FOUND);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x03, 0x3F, 0x00, 0xCF, 0x00), SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x00), SW_WRONG_LENGTH);

    /* P1 and P2 outside the profile, lengths. */
    assert_int_equal(XFER(0x00, 0xA4, 0x01, 0x00, 0x02, 0xCF, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x00, 0xA4, 0x02, 0x00, 0x02, 0xCF, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x00, 0xA4, 0x09, 0x00, 0x02, 0xCF, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x00, 0xA4, 0x03, 0x00, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x80, 0xA4, 0x04, 0x00, 0x02, 0xCF, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x08, 0x02, 0xCF, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x01, 0x02, 0xCF, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x00, 0x01, 0xCF, 0x00), SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xA4, 0x00, 0x00, 0x03, 0xCF, 0x01, 0x00, 0x00), SW_WRONG_LENGTH);

    /* None of that changed the current EF. */
    assert_int_equal(read_odd(0x0000, 0, 256), SW_OK);
    assert_int_equal(resp_len(), sizeof(data));
    assert_memory_equal(g_out, data, sizeof(data));

    /* SELECT of the applet forgets it. */
    assert_int_equal(select_hsm(), SW_OK);
    assert_int_equal(read_odd(0x0000, 0, 256), SW_NO_CURRENT_EF);
}

/* ---- TokenInfo ----------------------------------------------------------- */

static void test_tokeninfo_default(void **state)
{
    (void)state;
    /* Never written: a default TokenInfo is served. */
    assert_int_equal(select_fid(HSM_FID_TOKENINFO), SW_OK);
    assert_int_equal(fcp_size(), sizeof(k_default_tokeninfo));
    assert_int_equal(read_odd(0x0000, 0, 256), SW_OK);
    assert_int_equal(resp_len(), sizeof(k_default_tokeninfo));
    assert_memory_equal(g_out, k_default_tokeninfo, sizeof(k_default_tokeninfo));
    /* Read with the FID in P1P2 and in pieces (0.27's Le FE style at a small scale). */
    assert_int_equal(read_odd(HSM_FID_TOKENINFO, 10, 5), SW_OK);
    assert_int_equal(resp_len(), 5);
    assert_memory_equal(g_out, k_default_tokeninfo + 10, 5);
    assert_int_equal(read_odd(HSM_FID_TOKENINFO, sizeof(k_default_tokeninfo), 256), SW_OK);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(HSM_FID_TOKENINFO, sizeof(k_default_tokeninfo) + 1, 256),
                     SW_END_OF_FILE);
    /* Nothing was stored for it. */
    assert_int_equal(stored_size(HSM_FID_TOKENINFO), 0xFFFFFFFFu);

    /* The write sc-hsm-tool --label sends right after INITIALIZE + VERIFY. */
    assert_int_equal(XFER(0x00, 0xD7, 0x2F, 0x03, 0x18, 0x54, 0x02, 0x00, 0x00, 0x53, 0x12, 0x30,
                          0x10, 0x02, 0x01, 0x00, 0x80, 0x07, 0x4D, 0x79, 0x4C, 0x61, 0x62, 0x65,
                          0x6C, 0x03, 0x02, 0x05, 0x20),
                     SW_SECURITY);
    assert_int_equal(stored_size(HSM_FID_TOKENINFO), 0xFFFFFFFFu);
    login();
    assert_int_equal(XFER(0x00, 0xD7, 0x2F, 0x03, 0x18, 0x54, 0x02, 0x00, 0x00, 0x53, 0x12, 0x30,
                          0x10, 0x02, 0x01, 0x00, 0x80, 0x07, 0x4D, 0x79, 0x4C, 0x61, 0x62, 0x65,
                          0x6C, 0x03, 0x02, 0x05, 0x20),
                     SW_OK);
    static const uint8_t written[] = {0x30, 0x10, 0x02, 0x01, 0x00, 0x80, 0x07, 0x4D, 0x79, 0x4C,
                                      0x61, 0x62, 0x65, 0x6C, 0x03, 0x02, 0x05, 0x20};
    uint8_t buf[64];
    assert_int_equal(read_all(HSM_FID_TOKENINFO, buf, sizeof(buf), 256), sizeof(written));
    assert_memory_equal(buf, written, sizeof(written));
    assert_int_equal(select_fid(HSM_FID_TOKENINFO), SW_OK);
    assert_int_equal(fcp_size(), sizeof(written));

    /* Deleted again: the default comes back. */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0x2F, 0x03), SW_OK);
    assert_int_equal(read_odd(HSM_FID_TOKENINFO, 0, 256), SW_OK);
    assert_int_equal(resp_len(), sizeof(k_default_tokeninfo));
    assert_memory_equal(g_out, k_default_tokeninfo, sizeof(k_default_tokeninfo));
    /* The default is not a stored file: deleting it finds nothing. */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0x2F, 0x03), SW_NOT_FOUND);
}

/* ---- Access rules -------------------------------------------------------- */

static void test_write_and_delete_need_pin(void **state)
{
    (void)state;
    uint8_t data[40];
    fill(data, sizeof(data), 7);
    static const uint16_t fids[] = {0x2F03, 0x2F10, 0xC401, 0xC800, 0xC900, 0xCA00,
                                    0xCD00, 0xCE01, 0xCF00};
    for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++) {
        assert_int_equal(update(fids[i], 0, data, sizeof(data), false), SW_SECURITY);
        assert_int_equal(update(fids[i], 0, NULL, 0, false), SW_SECURITY);
        assert_int_equal(stored_size(fids[i]), 0xFFFFFFFFu);
    }

    /* With the PIN they are written; without it they cannot be changed or deleted. */
    login();
    for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++)
        assert_int_equal(update(fids[i], 0, data, sizeof(data), false), SW_OK);
    assert_int_equal(select_hsm(), SW_OK); /* clears the verified PIN */
    uint8_t other[40];
    fill(other, sizeof(other), 8);
    for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++) {
        assert_int_equal(update(fids[i], 0, other, sizeof(other), false), SW_SECURITY);
        assert_int_equal(update(fids[i], sizeof(data), other, 1, false), SW_SECURITY);
        uint8_t d[2] = {(uint8_t)(fids[i] >> 8), (uint8_t)fids[i]};
        assert_int_equal(send_apdu(0x00, 0xE4, 0x02, 0x00, d, 2, 0, false), SW_SECURITY);
        assert_int_equal(select_fid(fids[i]), SW_OK);
        assert_int_equal(XFER(0x00, 0xE4, 0x00, 0x00), SW_SECURITY);
        assert_stored(fids[i], data, sizeof(data));
    }
    /* Public files stay readable without the PIN. */
    assert_int_equal(read_odd(0xCF00, 0, 256), SW_OK);
    assert_memory_equal(g_out, data, sizeof(data));

    /* Ids that are not host files are never written, PIN or not. */
    login();
    static const uint16_t refused[] = {0x0000 + 1, HSM_ID_CONFIG, HSM_ID_USER_PIN, 0x1FFF, 0x3F00,
                                       0x5015, 0xA000, 0xC000, 0xCB00, 0xD000};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        uint32_t before = stored_size(refused[i]);
        assert_int_equal(update(refused[i], 0, data, sizeof(data), false), SW_SECURITY);
        uint8_t d[2] = {(uint8_t)(refused[i] >> 8), (uint8_t)refused[i]};
        assert_int_equal(send_apdu(0x00, 0xE4, 0x02, 0x00, d, 2, 0, false), SW_SECURITY);
        assert_int_equal(stored_size(refused[i]), before);
    }
    /* The device seed is untouched. */
    assert_int_equal(seed_size(), 32);
}

static void test_key_never_readable(void **state)
{
    (void)state;
    /* A key record as hsm_pin.c stores it (content irrelevant here). */
    uint8_t key[200];
    fill(key, sizeof(key), 42);
    const fk_space_t sp = hsm_main();
    assert_int_equal(fk_space_write(&sp, 0xCC01, key, sizeof(key)), FK_STORE_OK);

    for (int pin = 0; pin < 2; pin++) {
        if (pin) login();
        /* SELECT answers the FCP with the stored size and nothing of the key. */
        assert_int_equal(select_fid(0xCC01), SW_OK);
        assert_int_equal(fcp_size(), sizeof(key));
        assert_int_equal(resp_len(), 16);
        assert_int_equal(XFER(0x00, 0xA4, 0x08, 0x00, 0x04, 0x3F, 0x00, 0xCC, 0x01, 0x00), SW_OK);
        assert_int_equal(resp_len(), 16);

        /* No read form reaches it: odd with FID or 0000, any offset, even INS. */
        static const uint32_t offsets[] = {0, 1, 100, 199, 200, 201, 0x10000};
        for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
            assert_int_equal(read_odd(0xCC01, offsets[i], 256), SW_SECURITY);
            assert_int_equal(resp_len(), 0);
            assert_int_equal(read_odd(0x0000, offsets[i], 256), SW_SECURITY);
            assert_int_equal(resp_len(), 0);
        }
        assert_int_equal(read_odd(0xCC01, 0, EXT_NE_MAX), SW_SECURITY);
        assert_int_equal(XFER(0x00, 0xB0, 0x00, 0x00, 0x00), SW_SECURITY);
        assert_int_equal(resp_len(), 0);
        assert_int_equal(XFER(0x00, 0xB0, 0x00, 0x10, 0x00, 0x00, 0x00), SW_SECURITY);
        /* A missing key id is refused the same way (no existence oracle). */
        assert_int_equal(read_odd(0xCC02, 0, 256), SW_SECURITY);

        /* Nor can it be overwritten or patched. */
        assert_int_equal(update(0xCC01, 0, key, 1, false), SW_SECURITY);
        assert_int_equal(update(0x0000, 0, key, 1, false), SW_SECURITY);
        assert_int_equal(update(0xCC01, 10, key, 1, false), SW_SECURITY);
        assert_int_equal(update(0xCC05, 0, NULL, 0, false), SW_SECURITY);
        assert_stored(0xCC01, key, sizeof(key));
        assert_int_equal(stored_size(0xCC05), 0xFFFFFFFFu);
    }
}

static void test_private_data_needs_pin(void **state)
{
    (void)state;
    uint8_t data[100];
    fill(data, sizeof(data), 3);
    login();
    assert_int_equal(update(0xCD01, 0, data, sizeof(data), false), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);

    assert_int_equal(select_fid(0xCD01), SW_OK); /* the FCP is free */
    assert_int_equal(fcp_size(), sizeof(data));
    assert_int_equal(read_odd(0x0000, 0, 256), SW_SECURITY);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(0xCD01, 0, 256), SW_SECURITY);
    assert_int_equal(XFER(0x00, 0xB0, 0x00, 0x00, 0x00), SW_SECURITY);
    assert_int_equal(read_odd(0xCD02, 0, 256), SW_SECURITY); /* absent: same answer */

    login();
    assert_int_equal(read_odd(0xCD01, 0, 256), SW_OK);
    assert_int_equal(resp_len(), sizeof(data));
    assert_memory_equal(g_out, data, sizeof(data));
    assert_int_equal(read_odd(0xCD02, 0, 256), SW_NOT_FOUND);
}

/* ---- READ BINARY ----------------------------------------------------------- */

static void test_read_binary_odd(void **state)
{
    (void)state;
    uint8_t data[1000];
    fill(data, sizeof(data), 5);
    login();
    assert_int_equal(update(0xCF05, 0, data, sizeof(data), true), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);

    /* Nothing selected yet: FID 0000 has no target. */
    assert_int_equal(read_odd(0x0000, 0, 256), SW_NO_CURRENT_EF);
    /* A named FID is read and becomes the current EF. */
    assert_int_equal(read_odd(0xCF05, 0, 100), SW_OK);
    assert_int_equal(resp_len(), 100);
    assert_memory_equal(g_out, data, 100);
    assert_int_equal(read_odd(0x0000, 100, 256), SW_OK);
    assert_int_equal(resp_len(), 256);
    assert_memory_equal(g_out, data + 100, 256);

    /* min(Ne, left); offset == size: 9000 empty; offset > size: 6282. */
    assert_int_equal(read_odd(0x0000, 900, 256), SW_OK);
    assert_int_equal(resp_len(), 100);
    assert_memory_equal(g_out, data + 900, 100);
    assert_int_equal(read_odd(0x0000, 1000, 256), SW_OK);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(0x0000, 1001, 256), SW_END_OF_FILE);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(0x0000, 0xFFFFFFFFu, 256), SW_END_OF_FILE);
    /* Extended Le: the whole file at once. */
    assert_int_equal(read_odd(0x0000, 0, EXT_NE_MAX), SW_OK);
    assert_int_equal(resp_len(), sizeof(data));
    assert_memory_equal(g_out, data, sizeof(data));

    /* Offset forms: 1 to 4 bytes. */
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x03, 0x54, 0x01, 0x0A, 0x04), SW_OK);
    assert_memory_equal(g_out, data + 10, 4);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x05, 0x54, 0x03, 0x00, 0x01, 0x00, 0x04), SW_OK);
    assert_memory_equal(g_out, data + 256, 4);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x06, 0x54, 0x04, 0x00, 0x00, 0x03, 0xE7, 0x04),
                     SW_OK);
    assert_int_equal(resp_len(), 1);
    assert_int_equal(g_out[0], data[999]);

    /* Missing or mis-sized 54: 6700; other malformed data: 6A80. */
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x00), SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xB1, 0xCF, 0x05, 0x00), SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x02, 0x54, 0x00, 0x00), SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x07, 0x54, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
                     SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x03, 0x55, 0x01, 0x00, 0x00), SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x04, 0x54, 0x03, 0x00, 0x00, 0x00), SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x06, 0x54, 0x01, 0x00, 0x54, 0x01, 0x00, 0x00),
                     SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x05, 0x54, 0x01, 0x00, 0x53, 0x00, 0x00),
                     SW_WRONG_DATA);

    /* Case 3 (no Le): no data asked for, the status alone; nothing pending. */
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x04, 0x54, 0x02, 0x03, 0x00), SW_OK);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), 0x6985);
    /* A short Le 00 after the same data: up to 256 bytes. */
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x04, 0x54, 0x02, 0x03, 0x00, 0x00), SW_OK);
    assert_int_equal(resp_len(), 232);
    assert_memory_equal(g_out, data + 768, 232);

    /* Absent files and non-files. */
    assert_int_equal(read_odd(0xCF06, 0, 256), SW_NOT_FOUND);
    assert_int_equal(read_odd(0x2F10, 0, 256), SW_NOT_FOUND);
    assert_int_equal(read_odd(FK_ID_DEVICE_SEED, 0, 256), SW_NOT_FOUND);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(HSM_ID_CONFIG, 0, 256), SW_NOT_FOUND);
    assert_int_equal(read_odd(0x3F00, 0, 256), SW_NOT_FOUND);
    /* A refused read does not change the current EF. */
    assert_int_equal(read_odd(0x0000, 0, 4), SW_OK);
    assert_memory_equal(g_out, data, 4);
}

static void test_read_binary_even(void **state)
{
    (void)state;
    uint8_t data[600];
    fill(data, sizeof(data), 9);
    login();
    assert_int_equal(update(0xC801, 0, data, sizeof(data), true), SW_OK);
    assert_int_equal(select_hsm(), SW_OK);

    assert_int_equal(XFER(0x00, 0xB0, 0x00, 0x00, 0x10), SW_NO_CURRENT_EF);
    assert_int_equal(select_fid(0xC801), SW_OK);
    assert_int_equal(XFER(0x00, 0xB0, 0x00, 0x00, 0x10), SW_OK);
    assert_int_equal(resp_len(), 16);
    assert_memory_equal(g_out, data, 16);
    assert_int_equal(XFER(0x00, 0xB0, 0x01, 0x02, 0x00), SW_OK); /* offset 258, Le 256 */
    assert_int_equal(resp_len(), 256);
    assert_memory_equal(g_out, data + 258, 256);
    assert_int_equal(XFER(0x00, 0xB0, 0x02, 0x50, 0x00), SW_OK); /* offset 592: 8 left */
    assert_int_equal(resp_len(), 8);
    assert_memory_equal(g_out, data + 592, 8);
    assert_int_equal(XFER(0x00, 0xB0, 0x02, 0x58, 0x00), SW_OK); /* offset == size */
    assert_int_equal(resp_len(), 0);
    assert_int_equal(XFER(0x00, 0xB0, 0x02, 0x59, 0x00), SW_WRONG_P1P2);
    assert_int_equal(XFER(0x00, 0xB0, 0x7F, 0xFF, 0x00), SW_WRONG_P1P2);
    /* Short EF identifiers are not supported; B0 carries no data. */
    assert_int_equal(XFER(0x00, 0xB0, 0x81, 0x00, 0x00), SW_FUNC_NOT_SUPPORTED);
    assert_int_equal(XFER(0x00, 0xB0, 0x00, 0x00, 0x01, 0x00, 0x00), SW_WRONG_LENGTH);
}

/* ---- UPDATE BINARY --------------------------------------------------------- */

static void test_update_offsets(void **state)
{
    (void)state;
    uint8_t a[100], b[10], c[30], expect[130];
    fill(a, sizeof(a), 11);
    fill(b, sizeof(b), 12);
    fill(c, sizeof(c), 13);
    login();

    assert_int_equal(update(0xCF10, 0, a, sizeof(a), false), SW_OK);
    assert_stored(0xCF10, a, sizeof(a));
    /* Inside the file: the rest is kept. */
    assert_int_equal(update(0xCF10, 50, b, sizeof(b), false), SW_OK);
    memcpy(expect, a, 100);
    memcpy(expect + 50, b, 10);
    assert_stored(0xCF10, expect, 100);
    /* Across the end: the file grows. */
    assert_int_equal(update(0xCF10, 95, c, sizeof(c), false), SW_OK);
    memcpy(expect + 95, c, 30);
    assert_stored(0xCF10, expect, 125);
    /* At the end: appended. */
    assert_int_equal(update(0x0000, 125, c, 5, false), SW_OK);
    memcpy(expect + 125, c, 5);
    assert_stored(0xCF10, expect, 130);
    /* Nothing at the end: no change. */
    assert_int_equal(update(0x0000, 130, NULL, 0, false), SW_OK);
    assert_stored(0xCF10, expect, 130);
    /* Past the end: refused, nothing changed. */
    assert_int_equal(update(0x0000, 131, c, 1, false), SW_WRONG_DATA);
    assert_int_equal(update(0x0000, 0xFFFFFFFFu, c, 1, false), SW_WRONG_DATA);
    assert_stored(0xCF10, expect, 130);
    /* Offset 0 replaces the whole content (truncates). */
    assert_int_equal(update(0x0000, 0, b, sizeof(b), false), SW_OK);
    assert_stored(0xCF10, b, sizeof(b));
    assert_int_equal(select_fid(0xCF10), SW_OK);
    assert_int_equal(fcp_size(), sizeof(b));
    /* An empty write at offset 0 leaves an empty file. */
    assert_int_equal(update(0x0000, 0, NULL, 0, false), SW_OK);
    assert_stored(0xCF10, NULL, 0);

    /* Offset > 0 on a file that does not exist: refused, not created. */
    assert_int_equal(update(0xCF11, 1, a, 1, false), SW_WRONG_DATA);
    assert_int_equal(stored_size(0xCF11), 0xFFFFFFFFu);
    /* FID 0000 with nothing selected. */
    assert_int_equal(select_hsm(), SW_OK);
    login();
    assert_int_equal(update(0x0000, 0, a, 1, false), SW_NO_CURRENT_EF);
}

/* OpenSC's "create file" is an empty write with the FID; the data follows
 * with FID 0000. */
static void test_empty_write_creates_and_selects(void **state)
{
    (void)state;
    uint8_t data[500];
    fill(data, sizeof(data), 21);
    login();
    assert_int_equal(XFER(0x00, 0xD7, 0xCE, 0x03, 0x06, 0x54, 0x02, 0x00, 0x00, 0x53, 0x00), SW_OK);
    assert_stored(0xCE03, NULL, 0);
    assert_int_equal(update(0x0000, 0, data, 255, true), SW_OK);
    assert_int_equal(update(0x0000, 255, data + 255, 245, false), SW_OK);
    assert_stored(0xCE03, data, sizeof(data));
    assert_int_equal(select_fid(0xCE03), SW_OK);
    assert_int_equal(fcp_size(), sizeof(data));
}

static void test_update_data_forms(void **state)
{
    (void)state;
    static uint8_t data[70000];
    static uint8_t body[65535];
    fill(data, sizeof(data), 31);
    login();

    /* 53 lengths in 1-byte, 81, 82 and 83 forms; 84 too. */
    static const size_t forms[][2] = {{0x7F, 0}, {0x7F, 1}, {0x80, 1}, {0xFF, 1}, {0x100, 2},
                                      {0x7F, 2}, {300, 3},  {300, 4}, {60000, 2}, {60000, 3}};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        size_t len = forms[i][0];
        size_t n = odd_write_data(body, 0, data + i, len, forms[i][1]);
        assert_int_equal(send_apdu(0x00, 0xD7, 0xCF, 0x20, body, n, 0, false), SW_OK);
        assert_stored(0xCF20, data + i, len);
    }
    /* 53 before 54 is accepted too. */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x20, 0x08, 0x53, 0x02, 0xAA, 0xBB, 0x54, 0x02, 0x00,
                          0x01),
                     SW_OK);
    static const uint8_t after[] = {0xAA, 0xBB};
    assert_int_equal(stored_size(0xCF20), 60000);
    uint8_t got[3];
    assert_int_equal(fk_space_read(&(const fk_space_t){&g_dev.svc.store, FK_NS_HSM}, 0xCF20, 0, got, 3), FK_STORE_OK);
    assert_int_equal(got[0], data[9]);
    assert_memory_equal(got + 1, after, 2);

    /* The largest write one extended APDU carries. */
    size_t max = 65535 - 4 - 4;
    size_t n = odd_write_data(body, 0, data, max, 0);
    assert_int_equal(n, 65535);
    assert_int_equal(send_apdu(0x00, 0xD7, 0xCF, 0x21, body, n, 0, true), SW_OK);
    assert_stored(0xCF21, data, max);

    /* Malformed data: nothing changes. */
    uint8_t before[4];
    assert_int_equal(fk_space_read(&(const fk_space_t){&g_dev.svc.store, FK_NS_HSM}, 0xCF21, 0, before, 4), FK_STORE_OK);
    /* no 54 */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x03, 0x53, 0x01, 0x00), SW_WRONG_LENGTH);
    /* 54 of 5 bytes, of 0 bytes */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x0A, 0x54, 0x05, 0, 0, 0, 0, 0, 0x53, 0x01, 0x00),
                     SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x05, 0x54, 0x00, 0x53, 0x01, 0x00), SW_WRONG_LENGTH);
    /* no 53 */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x04, 0x54, 0x02, 0x00, 0x00), SW_WRONG_DATA);
    /* 53 announcing more than present */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x07, 0x54, 0x02, 0x00, 0x00, 0x53, 0x02, 0x00),
                     SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x08, 0x54, 0x02, 0x00, 0x00, 0x53, 0x82, 0x01, 0x00),
                     SW_WRONG_DATA);
    /* indefinite and oversized length forms */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x07, 0x54, 0x02, 0x00, 0x00, 0x53, 0x80, 0x00),
                     SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x0C, 0x54, 0x02, 0x00, 0x00, 0x53, 0x85, 0, 0, 0,
                          0, 1, 0xAA),
                     SW_WRONG_DATA);
    /* bytes after 53 */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x08, 0x54, 0x02, 0x00, 0x00, 0x53, 0x01, 0xAA, 0xBB),
                     SW_WRONG_DATA);
    /* another tag, a repeated 53 or 54 */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x0A, 0x54, 0x02, 0x00, 0x00, 0x53, 0x01, 0xAA, 0x73,
                          0x01, 0xBB),
                     SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x0A, 0x54, 0x02, 0x00, 0x00, 0x53, 0x01, 0xAA, 0x53,
                          0x01, 0xBB),
                     SW_WRONG_DATA);
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21, 0x0B, 0x54, 0x02, 0x00, 0x00, 0x54, 0x02, 0x00, 0x00,
                          0x53, 0x01, 0xAA),
                     SW_WRONG_DATA);
    /* no data at all */
    assert_int_equal(XFER(0x00, 0xD7, 0xCF, 0x21), SW_WRONG_LENGTH);
    assert_stored(0xCF21, data, max);
    assert_int_equal(stored_size(0xCF22), 0xFFFFFFFFu);
}

/* A D7 assembled by command chaining (CLA 10) from two links. */
static void test_update_chained(void **state)
{
    (void)state;
    uint8_t data[400];
    static uint8_t body[420];
    fill(data, sizeof(data), 41);
    login();
    size_t n = odd_write_data(body, 0, data, sizeof(data), 0);
    assert_int_equal(send_apdu(0x10, 0xD7, 0xCF, 0x30, body, 200, 0, false), SW_OK);
    assert_int_equal(stored_size(0xCF30), 0xFFFFFFFFu);
    assert_int_equal(send_apdu(0x00, 0xD7, 0xCF, 0x30, body + 200, n - 200, 0, false), SW_OK);
    assert_stored(0xCF30, data, sizeof(data));
}

/* ---- Large files ---------------------------------------------------------- */

/* 64 KiB as OpenSC 0.23 writes it on a short-APDU reader: create, then 255
 * file bytes per APDU with an extended Lc and FID 0000, the last chunk with
 * a short Lc; read back with Le 00 (256 bytes per APDU). */
static void test_64k_opensc_023(void **state)
{
    (void)state;
    static uint8_t data[KIB64], back[KIB64 + 1];
    fill(data, sizeof(data), 64);
    login();
    assert_int_equal(update(0xCF40, 0, NULL, 0, false), SW_OK);
    size_t off = 0;
    while (off < sizeof(data)) {
        size_t n = FK_MIN((size_t)255, sizeof(data) - off);
        assert_int_equal(update(0x0000, (uint32_t)off, data + off, n, n == 255), SW_OK);
        off += n;
    }
    assert_int_equal(select_fid(0xCF40), SW_OK);
    assert_int_equal(fcp_size(), KIB64);
    assert_int_equal(read_all(0xCF40, back, sizeof(back), 256), KIB64);
    assert_memory_equal(back, data, KIB64);
}

/* 64 KiB as OpenSC 0.27 writes the 2F10 transfer file: chunks of 230 and 8
 * bytes with the FID itself on every chunk; read back with Le FE. */
static void test_64k_opensc_027(void **state)
{
    (void)state;
    static uint8_t data[KIB64], back[KIB64 + 1];
    fill(data, sizeof(data), 27);
    login();
    size_t off = 0;
    int i = 0;
    while (off < sizeof(data)) {
        size_t n = FK_MIN((size_t)(i++ % 2 ? 8 : 230), sizeof(data) - off);
        assert_int_equal(update(HSM_FID_UNWRAP, (uint32_t)off, data + off, n, false), SW_OK);
        off += n;
    }
    assert_int_equal(read_all(HSM_FID_UNWRAP, back, sizeof(back), 254), KIB64);
    assert_memory_equal(back, data, KIB64);
    /* Extended reads: 65536 bytes in one answer. */
    assert_int_equal(read_odd(HSM_FID_UNWRAP, 0, EXT_NE_MAX), SW_OK);
    assert_int_equal(resp_len(), KIB64);
    assert_memory_equal(g_out, data, KIB64);
}

/* 128 KiB, the largest file: extended chunks, reads with 3-byte offsets and
 * extended Le; the FCP gives the exact size; one byte more is refused. */
static void test_128k_roundtrip(void **state)
{
    (void)state;
    static uint8_t data[FILE_MAX], back[FILE_MAX];
    fill(data, sizeof(data), 128);
    login();
    size_t off = 0;
    while (off < sizeof(data)) {
        size_t n = FK_MIN((size_t)60000, sizeof(data) - off);
        assert_int_equal(update(off ? 0x0000 : 0xCF50, (uint32_t)off, data + off, n, true), SW_OK);
        off += n;
    }
    assert_int_equal(select_fid(0xCF50), SW_OK);
    assert_int_equal(fcp_size(), FILE_MAX);
    assert_int_equal(g_out[3], 3); /* 81 03 02 00 00 */

    /* Extended reads of 65536 at 0 and 65536, then the end. */
    assert_int_equal(read_odd(0x0000, 0, EXT_NE_MAX), SW_OK);
    assert_int_equal(resp_len(), EXT_NE_MAX);
    memcpy(back, g_out, EXT_NE_MAX);
    assert_int_equal(read_odd(0x0000, EXT_NE_MAX, EXT_NE_MAX), SW_OK);
    assert_int_equal(resp_len(), EXT_NE_MAX);
    memcpy(back + EXT_NE_MAX, g_out, EXT_NE_MAX);
    assert_memory_equal(back, data, FILE_MAX);
    assert_int_equal(read_odd(0x0000, FILE_MAX, EXT_NE_MAX), SW_OK);
    assert_int_equal(resp_len(), 0);
    assert_int_equal(read_odd(0x0000, FILE_MAX + 1, EXT_NE_MAX), SW_END_OF_FILE);
    /* Short reads with 3-byte and 4-byte offsets deep in the file. */
    assert_int_equal(read_odd(0x0000, 0x1FF00, 256), SW_OK);
    assert_int_equal(resp_len(), 256);
    assert_memory_equal(g_out, data + 0x1FF00, 256);
    assert_int_equal(XFER(0x00, 0xB1, 0x00, 0x00, 0x06, 0x54, 0x04, 0x00, 0x01, 0x23, 0x45, 0x10),
                     SW_OK);
    assert_int_equal(resp_len(), 16);
    assert_memory_equal(g_out, data + 0x12345, 16);
    /* Chunked reads of 1000 bytes with 61xx-free answers. */
    memset(back, 0, sizeof(back));
    assert_int_equal(read_all(0xCF50, back, sizeof(back), 1000), FILE_MAX);
    assert_memory_equal(back, data, FILE_MAX);

    /* A patch in the middle, then the limit: one byte more is refused. */
    uint8_t p[16] = {0};
    assert_int_equal(update(0x0000, 70000, p, sizeof(p), false), SW_OK);
    memset(data + 70000, 0, sizeof(p));
    assert_int_equal(update(0x0000, FILE_MAX, p, 1, false), SW_NOT_ENOUGH_MEMORY);
    assert_int_equal(update(0x0000, FILE_MAX - 8, p, 9, false), SW_NOT_ENOUGH_MEMORY);
    assert_stored(0xCF50, data, FILE_MAX);
    /* Replacing it by a file over the limit (offset 0, from a fresh file). */
    static uint8_t body[65535];
    size_t n = odd_write_data(body, 0, data, 60000, 0);
    assert_int_equal(send_apdu(0x00, 0xD7, 0xCF, 0x51, body, n, 0, true), SW_OK);
    n = odd_write_data(body, 60000, data, 60000, 0);
    assert_int_equal(send_apdu(0x00, 0xD7, 0xCF, 0x51, body, n, 0, true), SW_OK);
    n = odd_write_data(body, 120000, data, FILE_MAX - 120000 + 1, 0);
    assert_int_equal(send_apdu(0x00, 0xD7, 0xCF, 0x51, body, n, 0, true), SW_NOT_ENOUGH_MEMORY);
    assert_int_equal(stored_size(0xCF51), 120000);
    assert_stored(0xCF50, data, FILE_MAX);
}

/* ---- DELETE FILE ------------------------------------------------------------ */

static void test_delete_file(void **state)
{
    (void)state;
    uint8_t data[32];
    fill(data, sizeof(data), 51);
    login();
    assert_int_equal(update(0xCF00, 0, data, sizeof(data), false), SW_OK);
    assert_int_equal(update(0xC900, 0, data, sizeof(data), false), SW_OK);
    assert_int_equal(update(0xCF01, 0, data, sizeof(data), false), SW_OK);

    /* P1/P2 ignored: 02 00 (OpenSC) and 00 00 (pypicohsm). */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCF, 0x00), SW_OK);
    assert_int_equal(stored_size(0xCF00), 0xFFFFFFFFu);
    assert_int_equal(XFER(0x00, 0xE4, 0x00, 0x00, 0x02, 0xC9, 0x00), SW_OK);
    assert_int_equal(stored_size(0xC900), 0xFFFFFFFFu);
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCF, 0x00), SW_NOT_FOUND);
    assert_int_equal(select_fid(0xCF00), SW_NOT_FOUND);

    /* No data: the current EF, which is then no longer selected. */
    assert_int_equal(select_fid(0xCF01), SW_OK);
    assert_int_equal(XFER(0x00, 0xE4, 0x00, 0x00), SW_OK);
    assert_int_equal(stored_size(0xCF01), 0xFFFFFFFFu);
    assert_int_equal(XFER(0x00, 0xE4, 0x00, 0x00), SW_NO_CURRENT_EF);
    assert_int_equal(read_odd(0x0000, 0, 16), SW_NO_CURRENT_EF);

    /* Wrong lengths. */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x01, 0xCF), SW_WRONG_LENGTH);
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x03, 0xCF, 0x00, 0x00), SW_WRONG_LENGTH);
}

static void test_delete_key(void **state)
{
    (void)state;
    /* Key 1 with its use counter, description and certificate. */
    store_put(hsm_main(), 0xCC00, 64, 1);
    store_put(hsm_main(), 0xCC01, 64, 2);
    store_put(hsm_ctrs(), 0xCC01, 4, 4);
    store_put(hsm_main(), 0xC401, 40, 5);
    store_put(hsm_main(), 0xCE01, 90, 6);
    store_put(hsm_main(), 0xCC02, 64, 7); /* key 2: no counter */
    store_put(hsm_main(), 0x1201, 4, 8); /* an unrelated record */
    uint32_t sz;
    const fk_space_t ctrs = hsm_ctrs();

    /* Without the PIN nothing is deleted. */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x01), SW_SECURITY);
    assert_int_equal(stored_size(0xCC01), 64);

    login();
    /* The device key is never deleted. */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x00), SW_SECURITY);
    assert_int_equal(select_fid(0xCC00), SW_OK);
    assert_int_equal(XFER(0x00, 0xE4, 0x00, 0x00), SW_SECURITY);
    assert_int_equal(stored_size(0xCC00), 64);

    /* Key 1 goes (its policy is inside it) and its counter with it; C4/CE
     * stay. */
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x01), SW_OK);
    assert_int_equal(stored_size(0xCC01), 0xFFFFFFFFu);
    assert_int_equal(fk_space_size(&ctrs, 0xCC01, &sz), FK_STORE_ENOENT);
    assert_int_equal(stored_size(0xC401), 40);
    assert_int_equal(stored_size(0xCE01), 90);
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCC, 0x01), SW_NOT_FOUND);

    /* Key 2 without counter; selected first, deleted as the current EF. */
    assert_int_equal(select_fid(0xCC02), SW_OK);
    assert_int_equal(XFER(0x00, 0xE4, 0x00, 0x00), SW_OK);
    assert_int_equal(stored_size(0xCC02), 0xFFFFFFFFu);
    assert_int_equal(stored_size(0x1201), 4);
    assert_int_equal(stored_size(0xCC00), 64);
}

/* ---- ENUMERATE OBJECTS ------------------------------------------------------ */

static void test_enumerate(void **state)
{
    (void)state;
    /* Only the device key and its request, made at the first start (the
     * device seed and the other internal records are not listed, nor is
     * 2F02). */
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00), SW_OK);
    assert_int_equal(resp_len(), 4);
    assert_memory_equal(g_out, "\xCC\x00\xCE\x00", 4);

    static const uint16_t listed[] = {0xC400, 0xC401, 0xC800, 0xC900, 0xC901, 0xCA00, 0xCC00,
                                      0xCC01, 0xCC7F, 0xCD01, 0xCE00, 0xCE01, 0xCF00, 0xCFFF};
    static const uint16_t hidden[] = {0x0010, 0x1001, 0x1101, 0x2F02, 0x2F03,
                                      0x2F10, 0x3F00, 0xC000, 0xC3FF, 0xCB00, 0xD000, 0xFFFE};
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        store_put(hsm_main(), hidden[i], 8, (uint32_t)i);
    for (size_t i = sizeof(listed) / sizeof(listed[0]); i-- > 0;)
        store_put(hsm_main(), listed[i], 8, (uint32_t)i);
    store_put(hsm_ctrs(), 0xCC05, 4, 1); /* the counters partition is not listed */

    uint8_t expect[2 * sizeof(listed) / sizeof(listed[0])];
    for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
        expect[2 * i] = (uint8_t)(listed[i] >> 8);
        expect[2 * i + 1] = (uint8_t)listed[i];
    }

    /* OpenSC's extended form, the short fallback, CLA 00, no Le. */
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00), SW_OK);
    assert_int_equal(resp_len(), sizeof(expect));
    assert_memory_equal(g_out, expect, sizeof(expect));
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, expect, sizeof(expect));
    assert_int_equal(XFER(0x00, 0x58, 0x00, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, expect, sizeof(expect));
    /* Case 1 (no Le): the status alone. */
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00), SW_OK);
    assert_int_equal(resp_len(), 0);
    /* Le shorter than the list: the rest through GET RESPONSE. */
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00, 0x04), 0x6100 | (sizeof(expect) - 4));
    assert_memory_equal(g_out, expect, 4);
    assert_int_equal(XFER(0x00, 0xC0, 0x00, 0x00, 0x00), SW_OK);
    assert_memory_equal(g_out, expect + 4, sizeof(expect) - 4);

    assert_int_equal(XFER(0x80, 0x58, 0x01, 0x00, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x01, 0x00), SW_INCORRECT_P1P2);
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00, 0x01, 0x00, 0x00), SW_WRONG_LENGTH);

    /* Files written and deleted through the applet show up and go. */
    login();
    assert_int_equal(update(0xC902, 0, NULL, 0, false), SW_OK);
    assert_int_equal(XFER(0x00, 0xE4, 0x02, 0x00, 0x02, 0xCF, 0x00), SW_OK);
    assert_int_equal(XFER(0x80, 0x58, 0x00, 0x00, 0x00), SW_OK);
    assert_int_equal(resp_len(), sizeof(expect));
    assert_memory_equal(g_out, expect, 10);                     /* C400 .. C901 */
    assert_int_equal(g_out[10], 0xC9);
    assert_int_equal(g_out[11], 0x02);
    assert_memory_equal(g_out + 12, expect + 10, 2 * 7);        /* CA00 .. CE01 */
    assert_int_equal(g_out[26], 0xCF);
    assert_int_equal(g_out[27], 0xFF);
}

/* ---- hsm_file_put ------------------------------------------------------------- */

static void test_file_put(void **state)
{
    (void)state;
    static uint8_t data[FILE_MAX + 1];
    fill(data, sizeof(data), 61);
    fk_applet_ctx_t ctx = fk_card_applet_ctx(&g_dev.card, &fk_hsm_applet);

    /* No PIN needed: the card writes its own files. */
    assert_false(fk_pin_verified(&((const hsm_state_t *)fk_devrig_applet_state(&g_dev, &fk_hsm_applet))->pins, &hsm_user_pin));
    assert_int_equal(hsm_file_put(&ctx, 0xCE05, data, 300), SW_OK);
    assert_int_equal(read_odd(0xCE05, 0, EXT_NE_MAX), SW_OK);
    assert_int_equal(resp_len(), 300);
    assert_memory_equal(g_out, data, 300);
    /* Whole-file replacement. */
    assert_int_equal(hsm_file_put(&ctx, 0xCE05, data + 1, 10), SW_OK);
    assert_stored(0xCE05, data + 1, 10);
    assert_int_equal(hsm_file_put(&ctx, HSM_FID_DEVAUT, data, 0), SW_OK);
    assert_stored(HSM_FID_DEVAUT, NULL, 0);
    assert_int_equal(hsm_file_put(&ctx, 0xC405, data, FILE_MAX), SW_OK);
    assert_int_equal(stored_size(0xC405), FILE_MAX);
    /* Over the limit: refused, the old content kept. */
    assert_int_equal(hsm_file_put(&ctx, 0xCE05, data, FILE_MAX + 1), SW_NOT_ENOUGH_MEMORY);
    assert_stored(0xCE05, data + 1, 10);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_select_mf),
        T(test_select_ef_fcp),
        T(test_select_errors),
        T(test_tokeninfo_default),
        T(test_write_and_delete_need_pin),
        T(test_key_never_readable),
        T(test_private_data_needs_pin),
        T(test_read_binary_odd),
        T(test_read_binary_even),
        T(test_update_offsets),
        T(test_empty_write_creates_and_selects),
        T(test_update_data_forms),
        T(test_update_chained),
        T(test_64k_opensc_023),
        T(test_64k_opensc_027),
        T(test_128k_roundtrip),
        T(test_delete_file),
        T(test_delete_key),
        T(test_enumerate),
        T(test_file_put),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
