/* SPDX-License-Identifier: Apache-2.0 */
/* bench_device.c - the in-process device of the applet benchmarks. */
#include "bench_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fusekey_product.h"
#include "host_port.h"

#define TMPDIR_MAX 32u

bool bench_device_up(bench_device_t *d, const char *prog, const uint8_t serial[8],
                     fk_services_t *svc, fk_card_t *card, void *state, size_t state_size)
{
    memset(d, 0, sizeof(*d));
    const char *tmp = getenv("TMPDIR");
    const int n = snprintf(d->dir, sizeof(d->dir), "%s/%s.XXXXXX",
                           tmp != NULL && *tmp != '\0' && strlen(tmp) < TMPDIR_MAX ? tmp : "/tmp",
                           prog);
    if (n < 0 || (size_t)n >= sizeof(d->dir) || mkdtemp(d->dir) == NULL) {
        d->dir[0] = '\0';
        fprintf(stderr, "%s: cannot create a temporary directory\n", prog);
        return false;
    }
    snprintf(d->flash, sizeof(d->flash), "%s/flash.bin", d->dir);
    snprintf(d->otp, sizeof(d->otp), "%s/otp.bin", d->dir);
    if (fk_host_flash_open(d->flash, 0) != 0 || fk_host_otp_open(d->otp) != 0) {
        fprintf(stderr, "%s: cannot open the flash and OTP images\n", prog);
        return false;
    }
    fk_host_set_serial(serial);
    fk_host_set_presence(FK_HOST_PRESENCE_AUTO);
    if (fk_services_init(svc, &fk_product) != FK_SERVICES_OK ||
        fk_card_init(card, svc, state, state_size) != FK_CARD_OK) {
        fprintf(stderr, "%s: device does not start\n", prog);
        return false;
    }
    fk_card_power_on(card);
    d->card = card;
    return true;
}

void bench_device_down(bench_device_t *d)
{
    if (d->card != NULL) fk_card_power_off(d->card);
    d->card = NULL;
    fk_host_flash_close();
    fk_host_otp_close();
    if (d->dir[0] != '\0') {
        (void)unlink(d->flash);
        (void)unlink(d->otp);
        (void)rmdir(d->dir);
    }
}
