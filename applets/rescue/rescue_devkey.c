/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue_devkey.c - the device key (secp256k1): sign a hash after user
 * presence, give the public key, and move to the OTP key at migration.
 *
 * Two forms (docs/rescue.md):
 *   OTP    the 32-byte big-endian scalar the port reads as the OTP DEVK
 *          (fk_hal_otp_key), burnt by `fusekey otp burn`. It wins as soon as
 *          it is programmed at all: damaged counts as programmed.
 *   flash  while the OTP DEVK was never programmed: a key generated on first
 *          need and kept as key object FK_ID_RESCUE_DEVKEY of the applet's
 *          namespace (core/services/keyobj.h: EC secp256k1, sealed).
 * A DEVK that cannot be read, is damaged or is not a valid scalar is an
 * error (6400), never a reason to fall back to the flash key. Every key is
 * opened for one operation and wiped before the handler returns.
 */
#include <string.h>

#include "crypto/pk.h"
#include "hal.h"
#include "rescue.h"
#include "rescue_internal.h"
#include "services/keyobj.h"
#include "util.h"

#define DEVKEY_CURVE FK_CURVE_SECP256K1
#define DEVKEY_LEN 32u
/* A secp256k1 key blob: header(4), scalar(2 + 32), point(2 + 65). */
#define DEVKEY_BLOB_MAX 128u

_Static_assert(FK_HAL_OTP_KEY_LEN == DEVKEY_LEN, "the OTP DEVK is a 32-byte scalar");
_Static_assert(FK_RESCUE_SIG_LEN == 2u * DEVKEY_LEN, "r || s");
_Static_assert(FK_RESCUE_PUBKEY_LEN == 1u + 2u * DEVKEY_LEN, "04 || X || Y");

/* The flash key: a key object (no list, no counter, no domain). */
static const fk_key_policy_t k_flash_policy = {
    .kind = FK_KEY_EC, .size = DEVKEY_CURVE, .domain = FK_KEY_NO_DOMAIN};

/* The flash key's scalar into d, the key made first when there is none
 * yet; d wiped on failure. */
static fk_sw_t flash_devk_read(const fk_applet_ctx_t *ctx, uint8_t d[DEVKEY_LEN])
{
    uint8_t blob[DEVKEY_BLOB_MAX];
    fk_pk_key_t pk;
    fk_key_t key;
    size_t len = 0;
    fk_sw_t sw = FK_SW_EXEC_ERROR;
    int rc = fk_key_open(ctx, FK_ID_RESCUE_DEVKEY, NULL, &key);

    if (rc == FK_KEY_ENOENT) {
        if (fk_pk_ec_generate(DEVKEY_CURVE, blob, sizeof(blob), &len) == FK_CRYPTO_OK) {
            rc = fk_key_put(ctx, FK_ID_RESCUE_DEVKEY, &k_flash_policy, blob, len, NULL);
            if (rc == FK_KEY_OK && fk_pk_parse(blob, len, &pk) == FK_CRYPTO_OK &&
                pk.d.len == DEVKEY_LEN) {
                memcpy(d, pk.d.p, DEVKEY_LEN);
                sw = FK_SW_OK;
            } else if (rc == FK_KEY_ESTORE || rc == FK_KEY_ENOSPC) {
                sw = FK_SW_MEMORY_FAILURE;
            }
        }
    } else if (rc == FK_KEY_OK) {
        if (fk_pk_parse(key.material, key.len, &pk) == FK_CRYPTO_OK && pk.d.len == DEVKEY_LEN) {
            memcpy(d, pk.d.p, DEVKEY_LEN);
            sw = FK_SW_OK;
        }
        fk_key_close(&key);
    }
    fk_wipe(blob, sizeof(blob));
    fk_wipe(&pk, sizeof(pk));
    if (sw != FK_SW_OK) fk_wipe(d, DEVKEY_LEN);
    return sw;
}

/* Open the device key (OTP form when provisioned, else the flash form,
 * created on first need) into blob and parse it into *key. On failure blob
 * is wiped and the status is 6400 (6581 when the store cannot be written). */
static fk_sw_t devkey_open(const fk_applet_ctx_t *ctx, uint8_t blob[DEVKEY_BLOB_MAX],
                           fk_pk_key_t *key)
{
    uint8_t d[DEVKEY_LEN];
    size_t len = 0;
    fk_sw_t sw;

    const int rc = fk_hal_otp_key(FK_HAL_OTP_DEVK, d);
    if (rc == FK_HAL_ENOENT)
        sw = flash_devk_read(ctx, d);
    else
        sw = rc == FK_HAL_OK ? FK_SW_OK : FK_SW_EXEC_ERROR;
    /* The import refuses 0 and scalars >= n. */
    if (sw == FK_SW_OK && (fk_pk_ec_import(DEVKEY_CURVE, d, sizeof(d), blob, DEVKEY_BLOB_MAX,
                                           &len) != FK_CRYPTO_OK ||
                           fk_pk_parse(blob, len, key) != FK_CRYPTO_OK))
        sw = FK_SW_EXEC_ERROR;
    fk_wipe(d, sizeof(d));
    if (sw != FK_SW_OK) {
        fk_wipe(blob, DEVKEY_BLOB_MAX);
        memset(key, 0, sizeof(*key));
    }
    return sw;
}

/* 80 10 01 00 <hash(32)>: user presence, then r || s over the hash. */
static fk_sw_t devkey_sign(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t blob[DEVKEY_BLOB_MAX];
    fk_pk_key_t key;

    if (cmd->nc != FK_RESCUE_HASH_LEN) return FK_SW_WRONG_LENGTH;
    /* Presence first: a declined request must not create the flash key. */
    fk_sw_t sw = fk_applet_presence(ctx);
    if (sw != FK_SW_OK) return sw;
    sw = devkey_open(ctx, blob, &key);
    if (sw != FK_SW_OK) return sw;
    uint8_t *sig = fk_rbuf_reserve(resp, FK_RESCUE_SIG_LEN);
    size_t n = 0;
    if (sig == NULL) {
        sw = FK_SW_UNKNOWN;
    } else if (fk_pk_ecdsa_sign(&key, cmd->data, cmd->nc, FK_SIG_PLAIN, sig, FK_RESCUE_SIG_LEN,
                                &n) != FK_CRYPTO_OK ||
               n != FK_RESCUE_SIG_LEN) {
        sw = FK_SW_EXEC_ERROR;
    }
    fk_wipe(blob, sizeof(blob));
    fk_wipe(&key, sizeof(key));
    return sw;
}

/* 80 10 02 00: the public key 04 || X || Y. */
static fk_sw_t devkey_public(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    uint8_t blob[DEVKEY_BLOB_MAX];
    fk_pk_key_t key;

    if (cmd->nc != 0) return FK_SW_WRONG_LENGTH;
    fk_sw_t sw = devkey_open(ctx, blob, &key);
    if (sw != FK_SW_OK) return sw;
    if (key.pub.len != FK_RESCUE_PUBKEY_LEN)
        sw = FK_SW_EXEC_ERROR;
    else if (!fk_rbuf_put(resp, key.pub.p, key.pub.len))
        sw = FK_SW_UNKNOWN;
    fk_wipe(blob, sizeof(blob));
    fk_wipe(&key, sizeof(key));
    return sw;
}

fk_sw_t rescue_cmd_devkey(const fk_applet_ctx_t *ctx, const fk_apdu_t *cmd, fk_rbuf_t *resp)
{
    if (cmd->p2 != 0) return FK_SW_INCORRECT_P1P2;
    switch (cmd->p1) {
    case FK_RESCUE_DEVKEY_SIGN:
        return devkey_sign(ctx, cmd, resp);
    case FK_RESCUE_DEVKEY_PUBLIC:
        return devkey_public(ctx, cmd, resp);
    default:
        /* FK_RESCUE_DEVKEY_CHAIN included: 2F02 certifies the HSM applet's
         * own device key, not this one (docs/rescue.md). */
        return FK_SW_INCORRECT_P1P2;
    }
}

fk_sw_t rescue_migrate(const fk_applet_ctx_t *ctx, unsigned *pending)
{
    uint8_t d[DEVKEY_LEN];
    int rc;

    (void)pending; /* nothing here waits for a PIN */
    rc = fk_hal_otp_key(FK_HAL_OTP_DEVK, d);
    fk_wipe(d, sizeof(d));
    /* Programmed, damaged or not, the OTP key is the device key now: the
     * flash one is obsolete. A DEVK that cannot be read fails the hook. */
    if (rc == FK_HAL_OK || rc == FK_HAL_EIO) {
        rc = fk_key_delete(ctx, FK_ID_RESCUE_DEVKEY);
        return rc == FK_KEY_OK || rc == FK_KEY_ENOENT ? FK_SW_OK : FK_SW_MEMORY_FAILURE;
    }
    if (rc != FK_HAL_ENOENT) return FK_SW_EXEC_ERROR;
    rc = fk_key_migrate(ctx, FK_ID_RESCUE_DEVKEY);
    if (rc == FK_KEY_OK) return FK_SW_OK;
    return rc == FK_KEY_ESTORE ? FK_SW_MEMORY_FAILURE : FK_SW_EXEC_ERROR;
}
