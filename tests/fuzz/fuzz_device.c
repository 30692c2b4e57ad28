/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the whole device (dispatcher and applets) over the host
 * port. The input is a sequence of APDUs, each prefixed by a 2-byte
 * big-endian length; every APDU is copied into a buffer of exactly its
 * length so the sanitizers catch any over-read. A length of 0 power-cycles
 * the card.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "card/card.h"
#include "fusekey_product.h"
#include "fuzz_images.h"
#include "host_port.h"
#include "services/services.h"

static fk_services_t g_svc;
static fk_card_t g_dev;
static fk_product_card_state_t g_state;
static uint8_t g_out[65535];
static int g_ready;

static void init_once(void)
{
    fuzz_open_images("device");
    if (fk_services_init(&g_svc, &fk_product) != FK_SERVICES_OK) abort();
    if (fk_card_init(&g_dev, &g_svc, &g_state, sizeof(g_state)) != FK_CARD_OK) abort();
    g_ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) init_once();
    fk_card_power_on(&g_dev);
    size_t i = 0;
    while (i + 2 <= size) {
        size_t n = ((size_t)data[i] << 8) | data[i + 1];
        i += 2;
        if (n > size - i) n = size - i;
        if (n == 0) {
            fk_card_power_off(&g_dev);
            fk_card_power_on(&g_dev);
            continue;
        }
        uint8_t *apdu = malloc(n);
        if (apdu == NULL) abort();
        memcpy(apdu, data + i, n);
        size_t r = fk_card_transceive(&g_dev, apdu, n, g_out, sizeof(g_out));
        free(apdu);
        if (r < 2 || r > sizeof(g_out)) abort();
        i += n;
    }
    fk_card_power_off(&g_dev);
    return 0;
}
