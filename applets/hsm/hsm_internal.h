/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hsm_internal.h - what the HSM applet's source files share: the session
 * state, the store ids of its records, and each module's commands and
 * services.
 *
 *   hsm.c        selection, session state, dispatch, GET CHALLENGE
 *   hsm_pin.c    INITIALIZE, VERIFY, CHANGE REFERENCE DATA, RESET RETRY
 *                COUNTER; the master key wrapped under the PINs; key blobs;
 *                the migration to the OTP root
 *   hsm_files.c  SELECT of files, READ/UPDATE BINARY, DELETE FILE,
 *                ENUMERATE OBJECTS; access rules per FID prefix
 *   hsm_keys.c   device key and certificate, GENERATE ASYMMETRIC KEY PAIR,
 *                COMPUTE SIGNATURE, DECIPHER
 */
#ifndef FUSEKEY_HSM_INTERNAL_H
#define FUSEKEY_HSM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"

/* ---- Store ids -----------------------------------------------------------
 * Host-visible files use their FID as store id (2Fxx, C4xx ... CFxx; CCxx
 * holds a sealed private key and is never readable). Internal records live
 * in 0x1000-0x1FFF (docs/store.md) and are never selectable. */
#define HSM_FID_DIR 0x2F00u
#define HSM_FID_DEVAUT 0x2F02u   /* device CV certificate chain */
#define HSM_FID_TOKENINFO 0x2F03u
#define HSM_FID_UNWRAP 0x2F10u

#define HSM_PREFIX_PRKD 0xC4u    /* PKCS#15 private key description */
#define HSM_PREFIX_CD 0xC8u      /* PKCS#15 certificate description */
#define HSM_PREFIX_DCOD 0xC9u    /* PKCS#15 data object description */
#define HSM_PREFIX_CA 0xCAu      /* CA certificate */
#define HSM_PREFIX_KEY 0xCCu     /* private / secret key (sealed, never readable) */
#define HSM_PREFIX_PRIVDATA 0xCDu /* private data object (user PIN to read) */
#define HSM_PREFIX_EECERT 0xCEu  /* end-entity certificate / request of key CCxx */
#define HSM_PREFIX_DATA 0xCFu    /* public data object */
#define HSM_FID(prefix, id) ((uint16_t)(((prefix) << 8) | (id)))
#define HSM_DEVICE_KEY_ID 0x00u

#define HSM_ID_CONFIG 0x1000u       /* options, retry limits, initialized flag */
#define HSM_ID_USER_PIN 0x1081u     /* user PIN: length, verifier, MK wrapped under it */
#define HSM_ID_SO_PIN 0x1088u       /* SO-PIN: the same (docs/hsm-pin.md) */
#define HSM_ID_MK_USER 0x1090u      /* reserved: the MK wraps live in the PIN records */
#define HSM_ID_MK_SO 0x1091u        /* reserved: the MK wraps live in the PIN records */
#define HSM_ID_KEY_META(id) ((uint16_t)(0x1100u | (id)))  /* allowed algorithms etc. */
/* Counters partition */
#define HSM_CTR_USER_PIN 0x1082u    /* user PIN tries left */
#define HSM_CTR_SO_PIN 0x1089u      /* SO-PIN tries left */
#define HSM_CTR_KEY_USE(id) ((uint16_t)(0x1200u | (id))) /* key usage counter */

#define HSM_MK_LEN 32u

/* ---- Session (volatile; cleared on SELECT, deselect, power-off) ---------- */
typedef struct hsm_state {
    bool user_verified;
    bool so_verified;
    uint16_t current_ef;       /* selected EF, 0 when none */
    bool mk_loaded;            /* mk holds the master key (user PIN verified) */
    bool so_mk_loaded;         /* mk holds it from the SO-PIN (no user rights) */
    uint8_t mk[HSM_MK_LEN];
} hsm_state_t;

/* The session of the card running the command (ctx->state; never NULL
 * inside a command). */
hsm_state_t *hsm_state(const fk_applet_ctx_t *ctx);
void hsm_session_clear(const fk_applet_ctx_t *ctx); /* wipes the master key too */

/* ---- Module command tables (dispatched by hsm.c) ------------------------- */
extern const fk_command_t hsm_pin_commands[];
extern const size_t hsm_pin_commands_len;
extern const fk_command_t hsm_file_commands[];
extern const size_t hsm_file_commands_len;
extern const fk_command_t hsm_key_commands[];
extern const size_t hsm_key_commands_len;

/* ---- Services of hsm_pin.c ----------------------------------------------- */
/* True once INITIALIZE has run (a user PIN exists). */
bool hsm_initialized(const fk_applet_ctx_t *ctx);
/* Device options of INITIALIZE tag 80 (0 before the first INITIALIZE). */
uint16_t hsm_options(const fk_applet_ctx_t *ctx);
/* Store a private key blob as CC<id>: encrypted under the session's master
 * key (6982 without a verified user PIN), then sealed. One atomic write.
 * 1..HSM_KEY_BLOB_MAX bytes (6A84 above). Key id 00, the device key, is
 * refused (6A86): it is sealed without the MK and survives re-initialize. */
#define HSM_KEY_OVERHEAD 29u
#define HSM_KEY_BLOB_MAX (4096u - HSM_KEY_OVERHEAD) /* FK_SEAL_MAX_PLAINTEXT - overhead */
fk_sw_t hsm_key_write(const fk_applet_ctx_t *ctx, uint8_t key_id, const uint8_t *blob, size_t len);
/* Read and open CC<id> into blob (the caller wipes it after use). 6A82 when
 * absent, 6982 without a verified user PIN, 6A86 for key id 00, 6400 when
 * it does not open (or cap is too small). */
fk_sw_t hsm_key_read(const fk_applet_ctx_t *ctx, uint8_t key_id, uint8_t *blob, size_t cap,
                     size_t *len);
/* The applet's migrate hook (fk_applet_t.migrate, docs/migration.md):
 * re-seal the PIN records and every CCxx under the current root and add to
 * *pending the PIN verifiers still under another root (each moves at the
 * next successful check of its PIN). 6581 when a record could not be moved
 * or read; the others are moved all the same. */
fk_sw_t hsm_migrate(const fk_applet_ctx_t *ctx, unsigned *pending);

/* ---- Services of hsm_files.c --------------------------------------------- */
/* Write a whole file as the card itself (no access check), e.g. CE<id> after
 * key generation. One atomic write. */
fk_sw_t hsm_file_put(const fk_applet_ctx_t *ctx, uint16_t fid, const uint8_t *data, size_t len);

/* ---- Services of hsm_keys.c ---------------------------------------------- */
/* Make sure the device key CC00 and its certificate chain 2F02 exist
 * (generated on the first start; kept across INITIALIZE). */
fk_sw_t hsm_device_ensure(const fk_applet_ctx_t *ctx);

#endif /* FUSEKEY_HSM_INTERNAL_H */
