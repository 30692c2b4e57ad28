/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pk_backend.h - what the crypto module's own files share about mbedTLS.
 * Included only inside core/crypto/ (it names mbedTLS types).
 */
#ifndef FUSEKEY_PK_BACKEND_H
#define FUSEKEY_PK_BACKEND_H

#include <mbedtls/ecp.h>

#include "crypto/pk.h"

/* The curve of an mbedTLS group (Weierstrass or Montgomery), FK_CURVE_NONE
 * for a group fusekey does not know. */
fk_curve_t fk_pk_curve_of_group(mbedtls_ecp_group_id g);

#endif /* FUSEKEY_PK_BACKEND_H */
