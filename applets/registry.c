/* SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include "hsm/hsm.h"
#include "rescue/rescue.h"

const fk_applet_t *const fk_registry[] = {
    &fk_hsm_applet,
    &fk_rescue_applet,
};

const size_t fk_registry_len = sizeof(fk_registry) / sizeof(fk_registry[0]);
