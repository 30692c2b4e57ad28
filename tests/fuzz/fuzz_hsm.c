/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_hsm.c - libFuzzer target: the SmartCard-HSM applet in a personalized
 * state, through the whole device over the host port.
 *
 * Once per process the harness personalizes a small flash (FZ_FLASH_SIZE):
 * INITIALIZE (user PIN 648219, SO-PIN 3537363231383830, options 0001, 3
 * tries), VERIFY, an EC P-256 key 01 and an RSA-1024 key 02 generated with
 * OpenSC's templates, a public data file CF01 and a private one CD01. The
 * flash and OTP images are then saved, with the services object as it
 * stands (the store indexes) and the HSM's session with the user PIN
 * verified. Every input starts from exactly that state: the images are
 * written back, the host port reopens them, the services object is put
 * back, and a card over it powers on.
 *
 * Input: byte 0 bit 0 set starts with the user PIN verified (the saved
 * session is put back into the card: no PBKDF2 per input, so the fuzzer
 * spends its time in the commands; the other bits are ignored). The
 * rest is a sequence of APDUs, each prefixed by a 2-byte big-endian length,
 * each copied into a heap buffer of exactly its length so the sanitizers
 * catch any over-read; length 0 power-cycles the card. Every response must
 * be 2 bytes at least and fit the output buffer. After the input the flash
 * must still mount (no command sequence may leave an unmountable store).
 *
 * RSA key generation above 1024 bits takes seconds under the sanitizers, so
 * the harness puts a filter in front of the applet (a copy of its product
 * entry): a GENERATE ASYMMETRIC KEY PAIR whose template asks for more than
 * 1024 bits is answered 6A81 without reaching the applet. The filter sees
 * the command as the applet would, after chaining and length decoding.
 *
 * The images live in memory files (memfd), reopened through /proc/self/fd,
 * so a crashing run leaves nothing behind and no flush touches a disk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crypto/pk.h"
#include "cvc.h"
#include "card/card.h"
#include "fusekey_product.h"
#include "host_port.h"
#include "hsm/hsm.h"
#include "services/services.h"
#include "tlv.h"

#define FZ_FLASH_SIZE (256u * 1024u) /* > 2 x the 64 KiB counters partition */
#define FZ_OTP_SIZE (FK_OTP_MODEL_ROWS * 4u) /* 4 bytes a row (host_port.h) */
#define FZ_FLAG_VERIFY 0x01u
#define FZ_LEN_PREFIX 2u
#define FZ_RSA_BITS_MAX 1024u
#define FZ_INTEGER_LEN_MAX 2u /* the applet reads the key size from 1-2 bytes */

#define INS_INITIALIZE 0x50u
#define INS_GENERATE_ASYM 0x46u
#define PIN_REF_USER 0x81u
#define TAG_DISCRETIONARY 0x53u
#define TAG_OFFSET 0x54u
#define TAG_INTEGER 0x02u

static const char k_pin[] = "648219";
static const uint8_t k_so_pin[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static const uint8_t k_serial[8] = {0xF0, 0x5E, 0x0B, 0x1E, 0xF0, 0x22, 0x00, 0x01};
/* INITIALIZE: options 0001 (RESET RETRY COUNTER allowed), 3 tries. */
static const uint8_t k_options[] = {0x00, 0x01};
static const uint8_t k_user_tries = 3;
/* id-TA-ECDSA-SHA-256 and id-TA-RSA-v1-5-SHA-256 */
static const uint8_t k_oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
static const uint8_t k_oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_rsa_e[] = {0x01, 0x00, 0x01};
static const char k_car[] = "UTCA00001";
static const char k_chr[] = "UTFUZZ00001";
static const char k_public_data[] = "fusekey fuzz public data object";
static const char k_private_data[] = "fusekey fuzz private data object";

static fk_services_t g_svc;
static fk_services_t g_svc_saved;
static fk_card_t g_dev;
static fk_product_card_state_t g_state;
static fk_product_card_state_t g_state_verified;
static uint8_t g_out[65535];
static int g_ready;

static int g_flash_fd = -1, g_otp_fd = -1;
static char g_flash_path[64], g_otp_path[64];
static uint8_t g_flash_image[FZ_FLASH_SIZE];
static uint8_t g_otp_image[FZ_OTP_SIZE];

static fk_applet_t g_hsm_filtered;
static const fk_applet_t *g_applets[FK_PRODUCT_APPLETS_MAX];
static fk_product_t g_product;

/* Report a broken harness or a broken promise of the device, and stop. */
static void fail(const char *what)
{
    fprintf(stderr, "fuzz_hsm: %s\n", what);
    abort();
}

/* ---- The RSA size filter ---------------------------------------------- */

/* True when a 7F49 of the template carries a key size (tag 02, 1-2 bytes)
 * above FZ_RSA_BITS_MAX. A template that does not parse is let through:
 * the applet refuses it before generating anything. */
static bool rsa_template_too_big(const uint8_t *data, size_t len)
{
    if (data == NULL) return false;
    const uint8_t *p = data, *end = data + len;
    fk_tlv_t t;
    while (fk_tlv_next(&p, end, &t) == FK_TLV_OK) {
        if (t.tag != FK_CVC_TAG_PUBKEY) continue;
        const uint8_t *q = t.value, *qend = t.value + t.len;
        fk_tlv_t x;
        while (fk_tlv_next(&q, qend, &x) == FK_TLV_OK) {
            if (x.tag != TAG_INTEGER || x.len == 0 || x.len > FZ_INTEGER_LEN_MAX) continue;
            uint32_t bits = 0;
            for (size_t i = 0; i < x.len; i++) bits = (bits << 8) | x.value[i];
            if (bits > FZ_RSA_BITS_MAX) return true;
        }
    }
    return false;
}

/* The HSM applet's process, except slow RSA key generation. */
static fk_sw_t filtered_process(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->ins == INS_GENERATE_ASYM && rsa_template_too_big(cmd->data, cmd->nc))
        return FK_SW_FUNC_NOT_SUPPORTED;
    return fk_hsm_applet.process(ctx, cmd, resp);
}

/* The fusekey product with the HSM entry behind the filter. */
static void build_product(void)
{
    g_hsm_filtered = fk_hsm_applet;
    g_hsm_filtered.process = filtered_process;
    for (size_t i = 0; i < fk_product.n_applets; i++)
        g_applets[i] = fk_product.applets[i] == &fk_hsm_applet ? &g_hsm_filtered
                                                               : fk_product.applets[i];
    g_product = fk_product;
    g_product.applets = g_applets;
}

/* Start the services on the open images and a powered card over them. */
static void start(const char *what)
{
    if (fk_services_init(&g_svc, &g_product) != FK_SERVICES_OK) fail(what);
    if (fk_card_init(&g_dev, &g_svc, &g_state, sizeof(g_state)) != FK_CARD_OK) fail(what);
    fk_card_power_on(&g_dev);
}

/* ---- APDUs ---------------------------------------------------------------- */

/* Send len bytes from a heap copy of exactly that length; check the
 * response's size and return its status word. */
static uint16_t transceive(const uint8_t *apdu, size_t len)
{
    uint8_t *copy = malloc(len);
    if (copy == NULL) fail("out of memory");
    memcpy(copy, apdu, len);
    size_t r = fk_card_transceive(&g_dev, copy, len, g_out, sizeof(g_out));
    free(copy);
    if (r < 2 || r > sizeof(g_out)) fail("response length out of bounds");
    return (uint16_t)((g_out[r - 2] << 8) | g_out[r - 1]);
}

/* Send an extended case 4 APDU (Le 0000) and require 9000. */
static void send_ok(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                    size_t n, const char *what)
{
    static uint8_t apdu[4 + 3 + 1024 + 2];
    if (n > sizeof(apdu) - 9) fail("personalization APDU too long");
    size_t k = 0;
    apdu[k++] = cla, apdu[k++] = ins, apdu[k++] = p1, apdu[k++] = p2;
    apdu[k++] = 0, apdu[k++] = (uint8_t)(n >> 8), apdu[k++] = (uint8_t)n;
    memcpy(apdu + k, data, n), k += n;
    apdu[k++] = 0, apdu[k++] = 0;
    if (transceive(apdu, k) != FK_SW_OK) fail(what);
}

/* VERIFY with the user PIN; returns the status word. */
static uint16_t verify_user_pin(void)
{
    uint8_t a[5 + sizeof(k_pin) - 1] = {0x00, FK_INS_VERIFY, 0x00, PIN_REF_USER,
                                        sizeof(k_pin) - 1};
    memcpy(a + 5, k_pin, sizeof(k_pin) - 1);
    return transceive(a, sizeof(a));
}

/* ---- Personalization ---------------------------------------------------- */

/* Stop unless a step of the personalization succeeded. */
static void check(bool ok, const char *what)
{
    if (!ok) fail(what);
}

/* INITIALIZE DEVICE with the fixed PINs, options and retry limit. */
static void initialize(void)
{
    uint8_t d[64];
    fk_rbuf_t r = {d, 0, sizeof(d)};
    check(fk_tlv_put(&r, 0x80, k_options, sizeof(k_options)) &&
              fk_tlv_put(&r, 0x81, k_pin, sizeof(k_pin) - 1) &&
              fk_tlv_put(&r, 0x82, k_so_pin, sizeof(k_so_pin)) &&
              fk_tlv_put(&r, 0x91, &k_user_tries, 1),
          "INITIALIZE data");
    send_ok(FK_CLA_PROPRIETARY, INS_INITIALIZE, 0, 0, d, r.len, "INITIALIZE");
}

/* GENERATE ASYMMETRIC KEY PAIR with the template OpenSC sends: profile,
 * CAR, 7F49 {OID, key parameters}, CHR. bits 0 means EC P-256. */
static void generate(uint8_t id, unsigned bits)
{
    static uint8_t t[1024];
    fk_rbuf_t r = {t, 0, sizeof(t)};
    static const uint8_t profile = 0x00, cofactor = 0x01;
    bool ok = fk_tlv_put(&r, FK_CVC_TAG_PROFILE, &profile, 1) &&
              fk_tlv_put(&r, FK_CVC_TAG_CAR, k_car, sizeof(k_car) - 1);
    fk_tlv_mark_t m = fk_tlv_begin(&r, FK_CVC_TAG_PUBKEY);
    ok = ok && m.ok;
    if (bits == 0) {
        const fk_curve_info_t *ci = fk_curve_info(FK_CURVE_SECP256R1);
        check(ci != NULL, "P-256 parameters");
        ok = ok && fk_tlv_put(&r, FK_CVC_TAG_OID, k_oid_ec, sizeof(k_oid_ec)) &&
             fk_tlv_put(&r, 0x81, ci->p, ci->field_len) &&
             fk_tlv_put(&r, 0x82, ci->a, ci->field_len) &&
             fk_tlv_put(&r, 0x83, ci->b, ci->field_len) && fk_tlv_put(&r, 0x84, ci->g, ci->g_len) &&
             fk_tlv_put(&r, 0x85, ci->n, ci->order_len) && fk_tlv_put(&r, 0x87, &cofactor, 1);
    } else {
        ok = ok && fk_tlv_put(&r, FK_CVC_TAG_OID, k_oid_rsa, sizeof(k_oid_rsa)) &&
             fk_tlv_put(&r, FK_CVC_RSA_E, k_rsa_e, sizeof(k_rsa_e)) &&
             fk_tlv_put_uint(&r, TAG_INTEGER, bits, 2);
    }
    ok = ok && fk_tlv_end(&r, m) && fk_tlv_put(&r, FK_CVC_TAG_CHR, k_chr, sizeof(k_chr) - 1);
    check(ok, "key template");
    send_ok(FK_CLA_ISO, INS_GENERATE_ASYM, id, 0, t, r.len, "GENERATE ASYMMETRIC KEY PAIR");
}

/* UPDATE BINARY (D7) of a whole file: 54 00 00 53 <data>. */
static void write_file(uint16_t fid, const char *text)
{
    uint8_t d[128];
    static const uint8_t offset[] = {0x00, 0x00};
    fk_rbuf_t r = {d, 0, sizeof(d)};
    check(fk_tlv_put(&r, TAG_OFFSET, offset, sizeof(offset)) &&
              fk_tlv_put(&r, TAG_DISCRETIONARY, text, strlen(text)),
          "UPDATE BINARY data");
    send_ok(FK_CLA_ISO, FK_INS_UPDATE_BINARY_ODD, (uint8_t)(fid >> 8), (uint8_t)fid, d, r.len,
            "UPDATE BINARY");
}

/* A memory file of size bytes filled with fill, and a path that opens it. */
static int make_image(const char *name, size_t size, uint8_t fill, char *path, size_t cap)
{
    static uint8_t buf[FZ_FLASH_SIZE];
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0 || size > sizeof(buf)) fail("memfd_create");
    memset(buf, fill, size);
    if (pwrite(fd, buf, size, 0) != (ssize_t)size) fail("image write");
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* Copy a memory file into its saved image, and back. */
static void save(int fd, uint8_t *image, size_t size)
{
    if (pread(fd, image, size, 0) != (ssize_t)size) fail("image read");
}

static void restore(int fd, const uint8_t *image, size_t size)
{
    if (pwrite(fd, image, size, 0) != (ssize_t)size) fail("image write");
}

/* Let the host port load the images afresh (its in-memory copies too). */
static void open_images(void)
{
    if (fk_host_flash_open(g_flash_path, FZ_FLASH_SIZE) != 0) fail("flash open");
    if (fk_host_otp_open(g_otp_path) != 0) fail("OTP open");
}

static void close_images(void)
{
    fk_host_flash_close();
    fk_host_otp_close();
}

/* Personalize the device once and save the images every input starts from. */
static void init_once(void)
{
    build_product();
    g_flash_fd = make_image("fk-fuzz-hsm-flash", FZ_FLASH_SIZE, 0xFF, g_flash_path,
                            sizeof(g_flash_path));
    g_otp_fd = make_image("fk-fuzz-hsm-otp", FZ_OTP_SIZE, 0x00, g_otp_path, sizeof(g_otp_path));
    fk_host_set_serial(k_serial);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    open_images();
    start("device init");

    initialize();
    if (verify_user_pin() != FK_SW_OK) fail("VERIFY");
    generate(0x01, 0);
    generate(0x02, FZ_RSA_BITS_MAX);
    write_file(0xCF01, k_public_data);
    write_file(0xCD01, k_private_data);
    /* A fresh start on the saved images, then the PIN verified once: the
     * session every VERIFY-flagged input begins with. */
    fk_card_power_off(&g_dev);
    close_images();
    open_images();
    start("restart");
    if (verify_user_pin() != FK_SW_OK) fail("VERIFY");
    g_state_verified = g_state;
    g_svc_saved = g_svc;

    fk_card_power_off(&g_dev);
    close_images();
    save(g_flash_fd, g_flash_image, sizeof(g_flash_image));
    save(g_otp_fd, g_otp_image, sizeof(g_otp_image));
    g_ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One session on the personalized device (input format above). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) init_once();
    restore(g_flash_fd, g_flash_image, sizeof(g_flash_image));
    restore(g_otp_fd, g_otp_image, sizeof(g_otp_image));
    open_images();
    /* The services as the personalization left them (the same flash, so
     * the same store indexes), and a card over them. */
    g_svc = g_svc_saved;
    if (fk_card_init(&g_dev, &g_svc, &g_state, sizeof(g_state)) != FK_CARD_OK) fail("card");
    fk_card_power_on(&g_dev);
    if (size > 0 && (data[0] & FZ_FLAG_VERIFY)) g_state = g_state_verified;

    size_t i = 1;
    while (i + FZ_LEN_PREFIX <= size) {
        size_t n = ((size_t)data[i] << 8) | data[i + 1];
        i += FZ_LEN_PREFIX;
        if (n > size - i) n = size - i;
        if (n == 0) {
            fk_card_power_off(&g_dev);
            fk_card_power_on(&g_dev);
            continue;
        }
        (void)transceive(data + i, n);
        i += n;
    }
    fk_card_power_off(&g_dev);

    /* Whatever the commands did, the flash still mounts. */
    start("mount after the input");
    fk_card_power_off(&g_dev);
    close_images();
    return 0;
}
