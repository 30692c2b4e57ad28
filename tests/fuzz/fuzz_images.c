/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_images.c - the fuzz targets' flash and OTP images (fuzz_images.h). */
#include "fuzz_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host_port.h"

void fuzz_open_images(const char *tag)
{
    char path[96];
    snprintf(path, sizeof(path), "/tmp/fk-fuzz-%s-%d.flash", tag, (int)getpid());
    unlink(path);
    if (fk_host_flash_open(path, 0) != 0) abort();
    unlink(path); /* the open descriptor keeps it alive */
    snprintf(path, sizeof(path), "/tmp/fk-fuzz-%s-%d.otp", tag, (int)getpid());
    unlink(path);
    if (fk_host_otp_open(path) != 0) abort();
    unlink(path);
}
