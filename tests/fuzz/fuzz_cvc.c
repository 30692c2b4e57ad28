/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the CV certificate parser on arbitrary bytes. The input
 * is parsed as a certificate chain (link by link) and as a request; every
 * span a successful parse returns must lie inside the input, and the
 * public key of each parsed object is extracted and, when that succeeds,
 * the object's self-signature checked (the result does not matter, only
 * that nothing reads outside the input or crashes). The HAL functions the
 * crypto module references are provided here: parsing and verifying need
 * no entropy, so the entropy source simply fails.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cvc.h"
#include "hal.h"

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

#define MAX_CHAIN 8

static const uint8_t *g_lo, *g_hi;

static void in_input(const fk_bytes_t *b)
{
    if (b->len == 0) return;
    if (b->p < g_lo || b->p > g_hi || (size_t)(g_hi - b->p) < b->len) abort();
}

static void check_cert(const fk_cvc_t *c)
{
    in_input(&c->cert);
    in_input(&c->body);
    in_input(&c->car);
    in_input(&c->key);
    in_input(&c->key_oid);
    for (size_t i = 0; i < FK_CVC_KEY_TAGS; i++) in_input(&c->key_el[i]);
    in_input(&c->chr);
    in_input(&c->chat_oid);
    in_input(&c->chat_rights);
    in_input(&c->effective);
    in_input(&c->expiry);
    in_input(&c->ext);
    in_input(&c->sig);
    if (c->chr.len == 0 || c->key_oid.len == 0 || c->sig.len == 0) abort();

    fk_pk_public_t pub;
    fk_cvc_alg_t alg;
    if (fk_cvc_public_key(c, FK_CURVE_SECP256R1, &pub, &alg) == FK_CVC_OK)
        (void)fk_cvc_verify(c, &pub, &alg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size;
    fk_cvc_t c;
    fk_cvc_request_t rq;

    g_lo = data;
    g_hi = data + size;
    for (int i = 0; i < MAX_CHAIN && fk_cvc_parse(p, left, &c) == FK_CVC_OK; i++) {
        check_cert(&c);
        if (c.cert.p != p || c.cert.len == 0 || c.cert.len > left) abort();
        p += c.cert.len;
        left -= c.cert.len;
    }
    if (fk_cvc_parse_request(data, size, &rq) == FK_CVC_OK) {
        check_cert(&rq.cert);
        in_input(&rq.whole);
        in_input(&rq.outer_car);
        in_input(&rq.outer_signed);
        in_input(&rq.outer_sig);
        if (rq.authenticated != (rq.outer_sig.len > 0)) abort();
    }
    return 0;
}
