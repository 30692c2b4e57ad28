/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_images.h - the flash and OTP images a fuzz target's device runs on:
 * new files under /tmp, opened through the host port and unlinked at once
 * (the open descriptors keep them alive for the process), so nothing is
 * left behind however the fuzzer ends. Aborts when they do not open.
 */
#ifndef FUSEKEY_FUZZ_IMAGES_H
#define FUSEKEY_FUZZ_IMAGES_H

/* /tmp/fk-fuzz-<tag>-<pid>.flash (the default size) and .otp. */
void fuzz_open_images(const char *tag);

#endif /* FUSEKEY_FUZZ_IMAGES_H */
