/* SPDX-License-Identifier: Apache-2.0 */
#include "fusekey_product.h"

#include "card/card.h"
#include "util.h"

/* The SmartCard-HSM ATR: T=1, IFSC 254, historical bytes carrying "HSM1".
 * OpenSC and other middleware recognise the card by it (docs/apdu.md). */
static const uint8_t k_atr[] = {0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE,
                                0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D,
                                0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xFA};

static const fk_applet_t *const k_applets[] = {
    &fk_hsm_applet,
    &fk_rescue_applet,
    &fk_fido_applet,
};

_Static_assert(FK_HSM_STATE_SIZE % FK_CARD_STATE_ALIGN == 0u, "aligned state");
_Static_assert(FK_FIDO_STATE_SIZE % FK_CARD_STATE_ALIGN == 0u, "aligned state");
_Static_assert(FK_RESCUE_STATE_SIZE % FK_CARD_STATE_ALIGN == 0u, "aligned state");
_Static_assert(FK_ARRAY_SIZE(k_applets) <= FK_PRODUCT_APPLETS_MAX, "applet table");

const fk_product_t fk_product = {
    .name = "fusekey",
    .atr = k_atr,
    .atr_len = sizeof(k_atr),
    .applets = k_applets,
    .n_applets = FK_ARRAY_SIZE(k_applets),
    .default_applet = 0, /* the HSM */
};
