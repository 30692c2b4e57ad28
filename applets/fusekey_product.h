/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fusekey_product.h - fusekey as a product (core/product.h): the SmartCard-HSM
 * applet, selected at power-on, the rescue applet and the FIDO applet, behind the
 * SmartCard-HSM answer-to-reset.
 */
#ifndef FUSEKEY_FUSEKEY_PRODUCT_H
#define FUSEKEY_FUSEKEY_PRODUCT_H

#include <stdint.h>

#include "fido/fido.h"
#include "hsm/hsm.h"
#include "product.h"
#include "rescue/rescue.h"

extern const fk_product_t fk_product;

/* Bytes of applet state one card of this product keeps
 * (fk_card_state_size(&fk_product); each size is a multiple of
 * FK_CARD_STATE_ALIGN). */
#define FK_PRODUCT_STATE_SIZE (FK_HSM_STATE_SIZE + FK_RESCUE_STATE_SIZE + FK_FIDO_STATE_SIZE)

/* The applet-state area of one card, suitably aligned; a host program or
 * test keeps one per card (usually static). */
typedef struct fk_product_card_state {
    _Alignas(8) uint8_t bytes[FK_PRODUCT_STATE_SIZE];
} fk_product_card_state_t;

#endif /* FUSEKEY_FUSEKEY_PRODUCT_H */
