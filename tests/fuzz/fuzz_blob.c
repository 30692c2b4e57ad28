/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the key blob decoder (applets/hsm/hsm_blob.c) under a
 * fixed DKEK (00 01 .. 1F). The first input byte picks what the rest is:
 *
 *   even  a whole blob, decoded as it is: the clear fields, the KCV and the
 *         CMAC meet arbitrary bytes;
 *   odd   n = the next byte, then n bytes of clear part (type and fields,
 *         after the KCV) and a plain block: the target encrypts and MACs
 *         them under the DKEK, so that the decoder's parser of the plain
 *         block meets arbitrary contents behind an authentic MAC.
 *
 * Checked: every span a successful decode returns lies in the plain-block
 * buffer or the blob; a failed decode leaves the plain buffer untouched or
 * wiped; a decoded key that the encoder takes encodes and decodes back to
 * the same key. The HAL functions the crypto module references are here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/sym.h"
#include "hal.h"
#include "hsm_blob.h"

int fk_hal_random(void *buf, size_t len)
{
    memset(buf, 0, len);
    return FK_HAL_EIO;
}

void fk_hal_serial(uint8_t serial[8]) { memset(serial, 0, 8); }

uint64_t fk_hal_millis(void) { return 0; }

void fk_hal_panic(const char *file, int line)
{
    (void)file;
    (void)line;
    abort();
}

#define FILL 0xA5u

static const uint8_t k_random[HSM_BLOB_RANDOM_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static uint8_t g_dkek[HSM_BLOB_DKEK_LEN];
static uint8_t g_blob[HSM_BLOB_MAX + 64];
static uint8_t g_blob2[HSM_BLOB_MAX + 64];
static uint8_t g_plain[HSM_BLOB_PLAIN_MAX];
static uint8_t g_plain2[HSM_BLOB_PLAIN_MAX];

static void derive(uint8_t i, uint8_t out[32])
{
    uint8_t in[HSM_BLOB_DKEK_LEN + 4] = {0};
    memcpy(in, g_dkek, HSM_BLOB_DKEK_LEN);
    in[HSM_BLOB_DKEK_LEN + 3] = i;
    fk_sha256(in, sizeof(in), out);
}

/* An authentic blob: KCV || clear || AES-CBC(plain zero-padded) || CMAC. */
static size_t make_blob(const uint8_t *clear, size_t clear_len, const uint8_t *plain,
                        size_t plain_len)
{
    static const uint8_t iv[16];
    uint8_t k[32];
    size_t n = HSM_BLOB_KCV_LEN;
    hsm_blob_kcv(g_dkek, g_blob);
    memcpy(g_blob + n, clear, clear_len);
    n += clear_len;
    const size_t start = n;
    memcpy(g_blob + n, plain, plain_len);
    n += plain_len;
    while ((n - start) % 16 != 0 || n == start) g_blob[n++] = 0;
    derive(1, k);
    if (fk_aes_crypt(FK_AES_CBC, true, k, 32, iv, 16, g_blob + start, n - start, g_blob + start) !=
        FK_CRYPTO_OK)
        abort();
    derive(2, k);
    if (fk_aes_cmac(k, 32, g_blob, n, g_blob + n) != FK_CRYPTO_OK) abort();
    return n + HSM_BLOB_MAC_LEN;
}

static void inside(fk_bytes_t b, const uint8_t *lo, size_t len)
{
    if (b.len == 0) return;
    if (b.p < lo || b.p + b.len > lo + len) abort();
}

static void same(fk_bytes_t a, fk_bytes_t b, bool integer)
{
    if (integer) {
        while (a.len && a.p[0] == 0) a.p++, a.len--;
        while (b.len && b.p[0] == 0) b.p++, b.len--;
    }
    if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0)) abort();
}

static void check(const uint8_t *blob, size_t len)
{
    hsm_blob_key_t key, back;
    hsm_blob_header_t h;
    memset(g_plain, FILL, sizeof(g_plain));
    const int rc = hsm_blob_decode(blob, len, g_dkek, g_plain, sizeof(g_plain), &key);
    if (rc != HSM_BLOB_OK) {
        for (size_t i = 0; i < sizeof(g_plain); i++) {
            if (g_plain[i] != FILL && g_plain[i] != 0) abort();
        }
        return;
    }
    if (hsm_blob_parse_header(blob, len, &h) != HSM_BLOB_OK) abort();
    const fk_bytes_t spans[] = {key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qinv,
                                key.priv, key.pub};
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
        inside(spans[i], g_plain, h.cipher.len);
    inside(key.algs, blob, len);
    if (key.kind < HSM_BLOB_KIND_RSA || key.kind > HSM_BLOB_KIND_AES) abort();

    /* What the encoder takes comes back the same. */
    size_t n2 = 0;
    if (hsm_blob_encode(&key, g_dkek, k_random, g_blob2, sizeof(g_blob2), &n2) != HSM_BLOB_OK)
        return;
    if (hsm_blob_decode(g_blob2, n2, g_dkek, g_plain2, sizeof(g_plain2), &back) != HSM_BLOB_OK)
        abort();
    if (back.kind != key.kind || back.curve != key.curve || back.bits != key.bits ||
        back.has_counter != key.has_counter || (key.has_counter && back.counter != key.counter))
        abort();
    same(back.algs, key.algs, false);
    const bool integers = key.kind == HSM_BLOB_KIND_RSA || key.kind == HSM_BLOB_KIND_EC;
    same(back.n, key.n, true);
    same(back.e, key.e, true);
    same(back.d, key.d, true);
    same(back.priv, key.priv, integers);
    same(back.pub, key.pub, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < HSM_BLOB_DKEK_LEN; i++) g_dkek[i] = (uint8_t)i;
    if (size < 1) return 0;
    if ((data[0] & 1u) == 0) {
        check(data + 1, size - 1);
        return 0;
    }
    if (size < 2) return 0;
    size_t clear = data[1];
    const uint8_t *rest = data + 2;
    size_t rest_len = size - 2;
    if (clear > rest_len) clear = rest_len;
    const size_t plain_len = rest_len - clear;
    if (plain_len > HSM_BLOB_PLAIN_MAX - 16u) return 0;
    const size_t len = make_blob(rest, clear, rest + clear, plain_len);
    check(g_blob, len);
    return 0;
}
