/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ec_tweak.c - d' = (d + t) mod n for DERIVE EC KEY (ec_tweak.h), on
 * mbedTLS 2.28's bignums; the new public point comes from fk_pk_ec_import.
 *
 * The reduction is modulo the group order n, not the field prime p: a
 * scalar only means something modulo n, and Q' = Q + t G holds for every t
 * only then. (Pico HSM reduces modulo p, which gives the same key whenever
 * d + t stays below n, and a key whose public point is not Q + t G, or a
 * scalar >= n, otherwise.)
 *
 * IMPLEMENTATION NOTE: side channels. d is secret, t and n are not. The
 * sum is reduced by one conditional subtraction done without a branch:
 * both s and s - n are computed and mbedTLS's constant-time comparison and
 * conditional assignment pick one, on operands grown to the same number of
 * limbs. The zero test of the result is a branch, taken only when the
 * command is refused anyway. As elsewhere in the crypto module (pk.c), we
 * do not claim more of mbedTLS's multi-precision code than that.
 */
#include "crypto/ec_tweak.h"

#include <string.h>

#include <mbedtls/bignum.h>

#include "util.h"

int fk_pk_ec_tweak(const fk_pk_key_t *key, const uint8_t *t, size_t t_len, uint8_t *blob,
                   size_t cap, size_t *len)
{
    const fk_curve_info_t *ci;
    mbedtls_mpi n, s, u, tw;
    uint8_t d2[FK_EC_MAX_LEN];
    unsigned lt = 0;
    int rc = FK_CRYPTO_OK;

    if (len == NULL) return FK_CRYPTO_EINVAL;
    *len = 0;
    if (key == NULL || key->type != FK_PK_EC || t == NULL || t_len == 0) return FK_CRYPTO_EINVAL;
    ci = fk_curve_info(key->curve);
    if (ci == NULL || ci->montgomery || t_len > ci->order_len || key->d.len != ci->order_len)
        return FK_CRYPTO_EINVAL;

    mbedtls_mpi_init(&n);
    mbedtls_mpi_init(&s);
    mbedtls_mpi_init(&u);
    mbedtls_mpi_init(&tw);
    const size_t limbs = (ci->order_len + sizeof(mbedtls_mpi_uint)) / sizeof(mbedtls_mpi_uint) + 1u;
    /* t mod n (public), then s = d + t < 2n and u = s - n. */
    if (mbedtls_mpi_read_binary(&n, ci->n, ci->order_len) != 0 ||
        mbedtls_mpi_read_binary(&tw, t, t_len) != 0 || mbedtls_mpi_mod_mpi(&tw, &tw, &n) != 0 ||
        mbedtls_mpi_read_binary(&s, key->d.p, key->d.len) != 0 ||
        mbedtls_mpi_add_mpi(&s, &s, &tw) != 0 || mbedtls_mpi_grow(&s, limbs) != 0 ||
        mbedtls_mpi_grow(&n, limbs) != 0 || mbedtls_mpi_sub_mpi(&u, &s, &n) != 0 ||
        mbedtls_mpi_grow(&u, limbs) != 0 || mbedtls_mpi_lt_mpi_ct(&s, &n, &lt) != 0 ||
        mbedtls_mpi_safe_cond_assign(&s, &u, (unsigned char)(lt ^ 1u)) != 0 ||
        mbedtls_mpi_write_binary(&s, d2, ci->order_len) != 0)
        rc = FK_CRYPTO_EFAIL;
    else if (mbedtls_mpi_cmp_int(&s, 0) == 0)
        rc = FK_CRYPTO_EINVAL;
    mbedtls_mpi_free(&n);
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&u);
    mbedtls_mpi_free(&tw);
    if (rc == FK_CRYPTO_OK) rc = fk_pk_ec_import(ci->id, d2, ci->order_len, blob, cap, len);
    fk_wipe(d2, sizeof(d2));
    if (rc != FK_CRYPTO_OK && blob != NULL) fk_wipe(blob, cap);
    return rc;
}
