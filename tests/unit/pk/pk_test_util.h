/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_test_util.h - what the pk and cvc unit tests share: the test's HAL
 * (real entropy, a controllable clock and entropy failure), a scratch
 * directory, the `openssl` command line as an independent implementation,
 * and small DER helpers to hand our keys to it and read its keys back.
 *
 * Header-only (static functions) so that each test program stays one file
 * plus this header; include it from exactly one translation unit.
 */
#ifndef FUSEKEY_PK_TEST_UTIL_H
#define FUSEKEY_PK_TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "fileio.h"
#include "hal.h"
#include "util.h"

/* ---- The test's HAL --------------------------------------------------------- */

static bool g_entropy_fails;    /* fk_hal_random fails */
static bool g_fake_clock;       /* fk_hal_millis advances g_clock_step per call */
static uint64_t g_clock_ms;
static uint64_t g_clock_step = 50;

int fk_hal_random(void *buf, size_t len)
{
    if (g_entropy_fails) return FK_HAL_EIO;
    return fk_file_random(buf, len) == 0 ? FK_HAL_OK : FK_HAL_EIO;
}

void fk_hal_serial(uint8_t serial[8])
{
    static const uint8_t k_serial[8] = {0x46, 0x4B, 0x50, 0x4B, 0x00, 0x00, 0x00, 0x01};
    memcpy(serial, k_serial, sizeof(k_serial));
}

uint64_t fk_hal_millis(void)
{
    if (g_fake_clock) {
        g_clock_ms += g_clock_step;
        return g_clock_ms;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fk_hal_panic(const char *file, int line)
{
    fprintf(stderr, "panic at %s:%d\n", file, line);
    abort();
}

/* ---- Scratch directory and the openssl command line ------------------------ */

static char g_dir[64];

static void tu_dir_create(void)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/fk-pk-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static void tu_dir_remove(void)
{
    char cmd[128];
    if (g_dir[0] == 0) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
}

static void tu_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static void tu_write(const char *name, const void *data, size_t len)
{
    char path[160];
    tu_path(path, sizeof(path), name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) abort();
    fclose(f);
}

/* Read a whole scratch file; returns its length (aborts if it exceeds cap). */
static size_t tu_read(const char *name, uint8_t *buf, size_t cap)
{
    char path[160];
    tu_path(path, sizeof(path), name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, cap, f);
    uint8_t extra;
    if (n == cap && fread(&extra, 1, 1, f) == 1) abort();
    fclose(f);
    return n;
}

/* Run a shell command inside the scratch directory (stderr to err.log);
 * returns its exit status. */
__attribute__((format(printf, 1, 2))) static int tu_sh(const char *fmt, ...)
{
    char cmd[1024], full[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "cd '%s' && { %s ; } 2>>err.log >/dev/null", g_dir, cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- DER ------------------------------------------------------------------- */

typedef struct dbuf {
    uint8_t b[4200];
    size_t n;
} dbuf_t;

static void d_raw(dbuf_t *d, const void *p, size_t len)
{
    if (d->n + len > sizeof(d->b)) abort();
    if (len) memcpy(d->b + d->n, p, len);
    d->n += len;
}

static void d_hdr(dbuf_t *d, uint8_t tag, size_t len)
{
    uint8_t h[4];
    size_t n = 0;
    h[n++] = tag;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else if (len <= 0xFF) {
        h[n++] = 0x81;
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 0x82;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    }
    d_raw(d, h, n);
}

static void d_tlv(dbuf_t *d, uint8_t tag, const void *v, size_t len)
{
    d_hdr(d, tag, len);
    d_raw(d, v, len);
}

/* A positive INTEGER from big-endian bytes. */
static void d_int(dbuf_t *d, const uint8_t *v, size_t len)
{
    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }
    bool pad = (v[0] & 0x80) != 0;
    d_hdr(d, 0x02, len + pad);
    if (pad) d_raw(d, "", 1);
    d_raw(d, v, len);
}

/* Read the TLV at *p (one-byte tags, lengths up to 82 xx xx). */
static bool d_next(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **v,
                   size_t *len)
{
    if (end - *p < 2) return false;
    *tag = *(*p)++;
    size_t l = *(*p)++;
    if (l & 0x80) {
        size_t nb = l & 0x7F;
        if (nb == 0 || nb > 2 || (size_t)(end - *p) < nb) return false;
        l = 0;
        while (nb--) l = (l << 8) | *(*p)++;
    }
    if ((size_t)(end - *p) < l) return false;
    *v = *p;
    *len = l;
    *p += l;
    return true;
}

/* Strip a DER INTEGER's sign byte. */
static void d_unsign(const uint8_t **v, size_t *len)
{
    if (*len > 1 && (*v)[0] == 0) {
        (*v)++;
        (*len)--;
    }
}

static const uint8_t k_oid_rsa_encryption[] = {0x2A, 0x86, 0x48, 0x86, 0xF7,
                                               0x0D, 0x01, 0x01, 0x01};
static const uint8_t k_oid_ec_public_key[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};

/* SubjectPublicKeyInfo (DER) of a public key, for `openssl -pubin`. */
static size_t tu_spki(const fk_pk_public_t *pub, uint8_t *out, size_t cap)
{
    dbuf_t alg = {.n = 0}, key = {.n = 0}, bits = {.n = 0}, body = {.n = 0}, spki = {.n = 0};

    if (pub->type == FK_PK_RSA) {
        d_tlv(&alg, 0x06, k_oid_rsa_encryption, sizeof(k_oid_rsa_encryption));
        d_tlv(&alg, 0x05, NULL, 0);
        dbuf_t ints = {.n = 0};
        d_int(&ints, pub->n.p, pub->n.len);
        d_int(&ints, pub->e.p, pub->e.len);
        d_tlv(&key, 0x30, ints.b, ints.n);
    } else {
        const fk_curve_info_t *ci = fk_curve_info(pub->curve);
        if (pub->type == FK_PK_EC) {
            d_tlv(&alg, 0x06, k_oid_ec_public_key, sizeof(k_oid_ec_public_key));
            d_tlv(&alg, 0x06, ci->oid, ci->oid_len);
        } else {
            d_tlv(&alg, 0x06, ci->oid, ci->oid_len);
        }
        d_raw(&key, pub->point.p, pub->point.len);
    }
    d_raw(&bits, "", 1); /* no unused bits */
    d_raw(&bits, key.b, key.n);
    d_tlv(&body, 0x30, alg.b, alg.n);
    d_tlv(&body, 0x03, bits.b, bits.n);
    d_tlv(&spki, 0x30, body.b, body.n);
    if (spki.n > cap) abort();
    memcpy(out, spki.b, spki.n);
    return spki.n;
}

static void tu_write_pub(const char *name, const fk_pk_public_t *pub)
{
    uint8_t der[1200];
    size_t n = tu_spki(pub, der, sizeof(der));
    tu_write(name, der, n);
}

/* OpenSSL's name of a curve. */
__attribute__((unused)) static const char *tu_curve_name(fk_curve_t c)
{
    switch (c) {
    case FK_CURVE_SECP192R1: return "prime192v1";
    case FK_CURVE_SECP256R1: return "prime256v1";
    case FK_CURVE_SECP384R1: return "secp384r1";
    case FK_CURVE_SECP521R1: return "secp521r1";
    case FK_CURVE_BP256R1: return "brainpoolP256r1";
    case FK_CURVE_BP384R1: return "brainpoolP384r1";
    case FK_CURVE_BP512R1: return "brainpoolP512r1";
    case FK_CURVE_SECP192K1: return "secp192k1";
    case FK_CURVE_SECP256K1: return "secp256k1";
    case FK_CURVE_X25519: return "X25519";
    case FK_CURVE_X448: return "X448";
    default: return "?";
    }
}

__attribute__((unused)) static const char *tu_hash_name(fk_hash_t h)
{
    switch (h) {
    case FK_HASH_SHA1: return "sha1";
    case FK_HASH_SHA224: return "sha224";
    case FK_HASH_SHA256: return "sha256";
    case FK_HASH_SHA384: return "sha384";
    case FK_HASH_SHA512: return "sha512";
    default: return "?";
    }
}

/* Generate an RSA key with openssl and read its PKCS#1 RSAPrivateKey DER
 * into the five parts (spans into *der). */
static bool tu_openssl_rsa(unsigned bits, dbuf_t *der, fk_pk_rsa_parts_t *parts)
{
    if (tu_sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%u -out rsa.pem && "
              "openssl rsa -in rsa.pem -traditional -outform DER -out rsa.der",
              bits) != 0)
        return false;
    der->n = tu_read("rsa.der", der->b, sizeof(der->b));
    const uint8_t *p = der->b, *end = der->b + der->n, *v = NULL;
    uint8_t tag = 0;
    size_t len = 0;
    if (!d_next(&p, end, &tag, &v, &len) || tag != 0x30) return false;
    p = v;
    end = v + len;
    fk_bytes_t ints[6];
    for (int i = 0; i < 6; i++) { /* version, n, e, d, p, q */
        if (!d_next(&p, end, &tag, &v, &len) || tag != 0x02) return false;
        d_unsign(&v, &len);
        ints[i].p = v;
        ints[i].len = len;
    }
    parts->n = ints[1];
    parts->e = ints[2];
    parts->d = ints[3];
    parts->p = ints[4];
    parts->q = ints[5];
    return true;
}

#endif /* FUSEKEY_PK_TEST_UTIL_H */
