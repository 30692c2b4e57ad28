/* SPDX-License-Identifier: Apache-2.0 */
/*
 * product.h - the description of a product: which applets it has, which
 * one a card selects at power-on, and the answer-to-reset its cards give.
 *
 * The core knows no applet and no ATR of its own: a product
 * (applets/fusekey_product.c for fusekey) hands this description to the
 * services object and to each card endpoint. It is a const table, fixed at build time.
 */
#ifndef FUSEKEY_PRODUCT_H
#define FUSEKEY_PRODUCT_H

#include <stddef.h>
#include <stdint.h>

struct fk_applet;

/* No applet is selected at power-on. */
#define FK_PRODUCT_NO_DEFAULT ((size_t)-1)
/* The most applets one product may have (cards keep a table this long). */
#define FK_PRODUCT_APPLETS_MAX 16u

typedef struct fk_product {
    const char *name;
    const uint8_t *atr; /* the answer-to-reset of the product's cards */
    size_t atr_len;
    const struct fk_applet *const *applets;
    size_t n_applets;      /* at most FK_PRODUCT_APPLETS_MAX */
    size_t default_applet; /* index selected implicitly at power-on, or FK_PRODUCT_NO_DEFAULT */
} fk_product_t;

#endif /* FUSEKEY_PRODUCT_H */
