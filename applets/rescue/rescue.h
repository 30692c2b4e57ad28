/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue.h - the rescue applet: device identity and maintenance commands
 * that work whatever state the HSM applet is in.
 */
#ifndef FUSEKEY_RESCUE_H
#define FUSEKEY_RESCUE_H

#include "applet.h"

/* A0 58 3F C1 9B 7E 4F 21 */
#define FK_RESCUE_AID_LEN 8u
extern const uint8_t fk_rescue_aid[FK_RESCUE_AID_LEN];

/* Store id of the board configuration record (main partition). */
#define FK_ID_PHY_CONFIG 0x0010u

/* Product byte of the SELECT answer. */
#define FK_RESCUE_PRODUCT_HSM 1u

extern const fk_applet_t fk_rescue_applet;

#endif /* FUSEKEY_RESCUE_H */
