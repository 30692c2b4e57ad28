/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.h - the applets this product carries, as one const table. The
 * first entry is the default applet, selected implicitly at power-on.
 */
#ifndef FUSEKEY_REGISTRY_H
#define FUSEKEY_REGISTRY_H

#include <stddef.h>

#include "applet.h"

extern const fk_applet_t *const fk_registry[];
extern const size_t fk_registry_len;

#endif /* FUSEKEY_REGISTRY_H */
