/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm.h - the SmartCard-HSM compatible applet (protocol: docs/hsm.md).
 */
#ifndef FUSEKEY_HSM_H
#define FUSEKEY_HSM_H

#include "applet.h"

/* E8 2B 06 01 04 01 81 C3 1F 02 01 */
#define FK_HSM_AID_LEN 11u
extern const uint8_t fk_hsm_aid[FK_HSM_AID_LEN];

/* The SmartCard-HSM protocol version this applet implements (FCP tag 85). */
#define FK_HSM_VERSION_MAJOR 4u
#define FK_HSM_VERSION_MINOR 0u

/* Bytes of volatile state a card keeps for this applet (its session). */
#define FK_HSM_STATE_SIZE 64u

extern const fk_applet_t fk_hsm_applet;

#endif /* FUSEKEY_HSM_H */
