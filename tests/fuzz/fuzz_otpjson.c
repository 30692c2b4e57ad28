/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_otpjson.c - the otp.json a user passes to `fusekey secure-boot
 * load-key` (the only structured text file the tool reads): any input ends
 * in a fingerprint or a one-line refusal, never a crash or an over-read.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t fp[FK_TOOL_KEY_LEN];
    char err[256];
    bool crit1 = false, flags1 = false;
    /* An exact-size heap copy, so that ASan sees any read past the end. */
    char *text = malloc(size > 0 ? size : 1u);

    if (text == NULL) return 0;
    if (size > 0) memcpy(text, data, size);
    (void)fk_tool_json_bootkey(text, size, fp, &crit1, &flags1, err, sizeof(err));
    free(text);
    return 0;
}
