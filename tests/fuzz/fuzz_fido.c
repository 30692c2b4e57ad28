/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the FIDO applet's CTAP2 request decoders and commands,
 * as the CTAP endpoint hands them over (NFCCTAP_MSG), over the real
 * services and store of the host port. The input is a sequence of CTAP
 * messages (command byte || CBOR), each prefixed by a 2-byte big-endian
 * length and copied into a buffer of exactly its length, so the sanitizers
 * catch any over-read; a length of 0 powers the endpoint off and on (the
 * applet's volatile state wiped). User presence is confirmed at once.
 *
 * Checked for every response: at least the status byte; a success with a
 * body is exactly one canonical CBOR map (no trailing bytes), as strict
 * clients decode it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cbor.h"
#include "fido/fido.h"
#include "fusekey_product.h"
#include "fuzz_images.h"
#include "host_port.h"
#include "services/services.h"
#include "util.h"

static fk_services_t g_svc;
static _Alignas(8) uint8_t g_state[FK_FIDO_STATE_SIZE];
static uint8_t g_out[FK_FIDO_MAX_MSG];
static int g_ready;

static void init_once(void)
{
    fuzz_open_images("fido");
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    if (fk_services_init(&g_svc, &fk_product) != FK_SERVICES_OK) abort();
    g_ready = 1;
}

static void one(const uint8_t *msg, size_t len)
{
    fk_applet_ctx_t ctx = fk_services_applet_ctx(&g_svc, &fk_fido_applet);
    ctx.state = g_state;
    const fk_apdu_t apdu = {
        .cla = FK_FIDO_CLA_NFCCTAP, .ins = FK_FIDO_INS_NFCCTAP_MSG, .p1 = 0, .p2 = 0,
        .data = msg, .nc = len, .ne = FK_FIDO_MAX_MSG, .extended = true,
    };
    fk_rbuf_t out = {.p = g_out, .len = 0, .cap = sizeof g_out};
    const fk_sw_t sw = fk_fido_applet.process(&ctx, &apdu, &out);
    fk_services_after_command(&g_svc);
    if (sw != FK_SW_OK || out.len < 1 || out.len > sizeof g_out) abort();
    if (g_out[0] == 0x00 && out.len > 1) {
        fk_cbor_item_t top;
        if (fk_cbor_decode(g_out + 1, out.len - 1, FK_CBOR_CANONICAL, &top) != FK_CBOR_OK ||
            top.type != FK_CBOR_MAP)
            abort();
    }
    if (g_out[0] != 0x00 && out.len != 1) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) init_once();
    size_t i = 0;
    while (i + 2 <= size) {
        size_t n = ((size_t)data[i] << 8) | data[i + 1];
        i += 2;
        if (n > size - i) n = size - i;
        if (n == 0) {
            fk_wipe(g_state, sizeof g_state);
            continue;
        }
        uint8_t *msg = malloc(n);
        if (msg == NULL) abort();
        memcpy(msg, data + i, n);
        one(msg, n);
        free(msg);
        i += n;
    }
    return 0;
}
