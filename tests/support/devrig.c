/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devrig.c - the device rig of the unit tests (see devrig.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devrig.h"
#include "host_port.h"
#include "hsm/hsm_internal.h"
#include "services/keyobj.h"
#include "tlv.h"

#define SHORT_LC_MAX 255u
#define EXT_LC_MAX 65535u
#define COPY_CHUNK 8192u

int fk_devrig_dir_create(fk_devrig_t *rig, const char *tag)
{
    int n = snprintf(rig->dir, sizeof(rig->dir), "/tmp/fk-%s-XXXXXX", tag);
    if (n < 0 || (size_t)n >= sizeof(rig->dir) || mkdtemp(rig->dir) == NULL) return -1;
    snprintf(rig->flash, sizeof(rig->flash), "%s/flash.bin", rig->dir);
    snprintf(rig->otp, sizeof(rig->otp), "%s/otp.bin", rig->dir);
    return 0;
}

int fk_devrig_dir_remove(const fk_devrig_t *rig)
{
    char cmd[FK_DEVRIG_DIR_CAP + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rig->dir);
    return system(cmd) == 0 ? 0 : -1;
}

int fk_devrig_boot(fk_devrig_t *rig)
{
    assert_int_equal(rig->flash_open(rig->flash, rig->flash_size), 0);
    fk_host_set_serial(rig->serial);
    assert_int_equal(fk_host_otp_open(rig->otp), 0);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    return fk_devrig_init(rig->dev);
}

int fk_devrig_init(fk_testdev_t *dev)
{
    const int rc = fk_services_init(&dev->svc, &fk_product);
    if (rc != FK_SERVICES_OK) return rc;
    assert_int_equal(fk_card_init(&dev->card, &dev->svc, &dev->state, sizeof(dev->state)),
                     FK_CARD_OK);
    return rc;
}

const void *fk_devrig_applet_state(fk_testdev_t *dev, const fk_applet_t *applet)
{
    const fk_applet_ctx_t ctx = fk_card_applet_ctx(&dev->card, applet);
    assert_non_null(ctx.state);
    return ctx.state;
}

int fk_devrig_hsm_key(fk_testdev_t *dev, uint8_t id, uint8_t *blob, size_t cap, size_t *len)
{
    const fk_applet_ctx_t ctx = fk_card_applet_ctx(&dev->card, &fk_hsm_applet);
    const hsm_state_t *st = (const hsm_state_t *)ctx.state;
    fk_key_t key;
    int rc = fk_key_open(&ctx, HSM_FID(HSM_PREFIX_KEY, id), st->mk_loaded ? st->mk : NULL, &key);
    *len = 0;
    if (rc != FK_KEY_OK) return rc;
    assert_true(key.len <= cap);
    memcpy(blob, key.material, key.len);
    *len = key.len;
    fk_key_close(&key);
    return FK_KEY_OK;
}

void fk_devrig_start(fk_devrig_t *rig)
{
    assert_int_equal(fk_devrig_boot(rig), FK_SERVICES_OK);
    fk_card_power_on(&rig->dev->card);
}

void fk_devrig_stop(fk_devrig_t *rig)
{
    fk_card_power_off(&rig->dev->card);
    rig->flash_close();
    fk_host_otp_close();
}

int fk_devrig_setup(fk_devrig_t *rig, const char *tag)
{
    if (fk_devrig_dir_create(rig, tag) != 0) return -1;
    fk_devrig_start(rig);
    return 0;
}

int fk_devrig_teardown(fk_devrig_t *rig)
{
    fk_devrig_stop(rig);
    return fk_devrig_dir_remove(rig);
}

uint16_t fk_devrig_xfer(fk_testdev_t *dev, const uint8_t *apdu, size_t len, uint8_t *out,
                        size_t cap, size_t *out_len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len > 0) memcpy(copy, apdu, len);
    *out_len = fk_card_transceive(&dev->card, copy, len, out, cap);
    free(copy);
    assert_true(*out_len >= 2);
    return (uint16_t)((out[*out_len - 2] << 8) | out[*out_len - 1]);
}

size_t fk_devrig_apdu(uint8_t *buf, size_t cap, const fk_devrig_cmd_t *cmd)
{
    const bool ext = cmd->ext || cmd->nc > SHORT_LC_MAX || cmd->ne > FK_DEVRIG_NE_SHORT_MAX;
    const size_t lc_len = cmd->nc == 0 ? 0 : ext ? 3 : 1;
    const size_t le_len = cmd->ne == 0 ? 0 : !ext ? 1 : cmd->nc == 0 ? 3 : 2;
    size_t n = 0;

    if (cmd->nc > EXT_LC_MAX || cmd->ne > FK_DEVRIG_NE_EXT_MAX) return 0;
    if (cap < 4 + lc_len + cmd->nc + le_len) return 0;
    buf[n++] = cmd->cla;
    buf[n++] = cmd->ins;
    buf[n++] = cmd->p1;
    buf[n++] = cmd->p2;
    if (cmd->nc > 0) {
        if (ext) {
            buf[n++] = 0;
            buf[n++] = (uint8_t)(cmd->nc >> 8);
        }
        buf[n++] = (uint8_t)cmd->nc;
        memcpy(buf + n, cmd->data, cmd->nc);
        n += cmd->nc;
    }
    if (cmd->ne > 0) {
        /* 256 and 65536 wrap to 00 and 0000. */
        if (ext) {
            if (cmd->nc == 0) buf[n++] = 0;
            buf[n++] = (uint8_t)(cmd->ne >> 8);
        }
        buf[n++] = (uint8_t)cmd->ne;
    }
    return n;
}

uint16_t fk_devrig_send(fk_testdev_t *dev, const fk_devrig_cmd_t *cmd, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    static uint8_t buf[FK_DEVRIG_APDU_MAX];
    const size_t n = fk_devrig_apdu(buf, sizeof(buf), cmd);
    assert_true(n > 0);
    return fk_devrig_xfer(dev, buf, n, out, cap, out_len);
}

void fk_devrig_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    uint8_t buf[COPY_CHUNK];
    size_t n;
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

void fk_devrig_snapshot(fk_devrig_t *rig, const char *path)
{
    fk_devrig_stop(rig);
    fk_devrig_copy_file(rig->flash, path);
    fk_devrig_start(rig);
}

void fk_devrig_restore(fk_devrig_t *rig, const char *path)
{
    fk_devrig_stop(rig);
    fk_devrig_copy_file(path, rig->flash);
    fk_devrig_start(rig);
}

size_t fk_devrig_load_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

void fk_devrig_file_xor(const char *path, long offset, uint8_t mask)
{
    FILE *f = fopen(path, "r+b");
    uint8_t b;
    assert_non_null(f);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    assert_int_equal(fread(&b, 1, 1, f), 1);
    b ^= mask;
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    assert_int_equal(fwrite(&b, 1, 1, f), 1);
    assert_int_equal(fclose(f), 0);
}

/* The SmartCard-HSM's key-type OIDs (id-TA-RSA-v1-5-SHA-256, id-TA-ECDSA-SHA-256). */
static const uint8_t k_oid_rsa[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02};
static const uint8_t k_oid_ec[] = {0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03};
#define CHR_LEN 11u

/* The common head of a template: 5F29, 42, and 7F49 opened with its OID. */
static fk_tlv_mark_t template_head(fk_rbuf_t *r, const uint8_t *oid, size_t oid_len)
{
    assert_true(fk_tlv_put(r, 0x5F29, "\x00", 1));
    assert_true(fk_tlv_put(r, 0x42, "UTCA00001", 9));
    fk_tlv_mark_t m = fk_tlv_begin(r, 0x7F49);
    assert_true(fk_tlv_put(r, 0x06, oid, oid_len));
    return m;
}

/* Close 7F49, then 5F20 chr and the extra TLVs. */
static size_t template_tail(fk_rbuf_t *r, fk_tlv_mark_t m, const char *chr, const uint8_t *extra,
                            size_t extra_len)
{
    assert_int_equal(strlen(chr), CHR_LEN);
    assert_true(fk_tlv_end(r, m));
    assert_true(fk_tlv_put(r, 0x5F20, chr, CHR_LEN));
    assert_true(fk_rbuf_put(r, extra, extra_len));
    return r->len;
}

size_t fk_devrig_rsa_template(uint8_t *t, size_t cap, unsigned bits, const char *chr,
                              const uint8_t *extra, size_t extra_len)
{
    fk_rbuf_t r = {t, 0, cap};
    fk_tlv_mark_t m = template_head(&r, k_oid_rsa, sizeof(k_oid_rsa));
    assert_true(fk_tlv_put(&r, 0x82, "\x01\x00\x01", 3));
    assert_true(fk_tlv_put_uint(&r, 0x02, bits, 2));
    return template_tail(&r, m, chr, extra, extra_len);
}

size_t fk_devrig_ec_template(uint8_t *t, size_t cap, fk_curve_t curve, const char *chr,
                             const uint8_t *extra, size_t extra_len)
{
    const fk_curve_info_t *ci = fk_curve_info(curve);
    fk_rbuf_t r = {t, 0, cap};
    assert_non_null(ci);
    fk_tlv_mark_t m = template_head(&r, k_oid_ec, sizeof(k_oid_ec));
    assert_true(fk_tlv_put(&r, 0x81, ci->p, ci->field_len));
    assert_true(fk_tlv_put(&r, 0x82, ci->a, ci->field_len));
    assert_true(fk_tlv_put(&r, 0x83, ci->b, ci->field_len));
    assert_true(fk_tlv_put(&r, 0x84, ci->g, ci->g_len));
    assert_true(fk_tlv_put(&r, 0x85, ci->n, ci->order_len));
    assert_true(fk_tlv_put(&r, 0x87, "\x01", 1));
    return template_tail(&r, m, chr, extra, extra_len);
}
