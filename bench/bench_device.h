/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_device.h - the in-process device the applet benchmarks drive: flash
 * and OTP images in a temporary directory, the services and one card of the
 * product, powered on; removed again at the end.
 */
#ifndef FUSEKEY_BENCH_DEVICE_H
#define FUSEKEY_BENCH_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/card.h"
#include "services/services.h"

typedef struct bench_device {
    char dir[64], flash[96], otp[96];
    fk_card_t *card; /* set once the card is powered on */
} bench_device_t;

/* Start the device: prog names the program in messages and the directory;
 * serial is the chip serial the host port reports. The caller owns svc,
 * card and state (the card is large: keep it static). False, with a
 * message on stderr, when anything fails; bench_device_down cleans up
 * either way. */
bool bench_device_up(bench_device_t *d, const char *prog, const uint8_t serial[8],
                     fk_services_t *svc, fk_card_t *card, void *state, size_t state_size);

/* Power the card off, close the images and remove the directory. */
void bench_device_down(bench_device_t *d);

#endif /* FUSEKEY_BENCH_DEVICE_H */
