/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue.h - the rescue applet: device identity and maintenance commands
 * that work whatever state the HSM applet is in (docs/rescue.md).
 *
 * The command bytes are public so that host tools build the same APDUs.
 */
#ifndef FUSEKEY_RESCUE_H
#define FUSEKEY_RESCUE_H

#include <stdbool.h>
#include <stdint.h>

#include "applet.h"

/* A0 58 3F C1 9B 7E 4F 21 */
#define FK_RESCUE_AID_LEN 8u
extern const uint8_t fk_rescue_aid[FK_RESCUE_AID_LEN];

/* Record ids (the applet's namespace FK_NS_RESCUE, main partition;
 * docs/store-map.md). */
#define FK_ID_PHY_CONFIG 0x0010u   /* board configuration record (PHY items) */
#define FK_ID_RESCUE_DEVKEY 0x0011u /* the device key (a key object) while the OTP has none */

/* Product byte of the SELECT answer. */
#define FK_RESCUE_PRODUCT_HSM 1u

/* ---- Commands (CLA 80) --------------------------------------------------- */
#define FK_RESCUE_CLA 0x80u

#define FK_RESCUE_INS_DEVKEY 0x10u
#define FK_RESCUE_DEVKEY_SIGN 0x01u   /* P1: sign a 32-byte hash -> r || s */
#define FK_RESCUE_DEVKEY_PUBLIC 0x02u /* P1: the public key 04 || X || Y */
#define FK_RESCUE_DEVKEY_CHAIN 0x03u  /* P1: certificate chain write (refused, 6A86) */
#define FK_RESCUE_HASH_LEN 32u
#define FK_RESCUE_SIG_LEN 64u
#define FK_RESCUE_PUBKEY_LEN 65u

#define FK_RESCUE_INS_OTP 0x1Bu
#define FK_RESCUE_OTP_LOCK58 0x58u   /* P1: lock OTP page 58 (PAGE58_LOCK1 = 0x3C3C3C) */
#define FK_RESCUE_OTP_ROLLBACK 0x48u /* P1: set ROLLBACK_REQUIRED in BOOT_FLAGS0 */
/* The exact command data each of them requires (no terminator). */
#define FK_RESCUE_MAGIC_LEN 6u
#define FK_RESCUE_MAGIC_LOCK58 "LOCK58"
#define FK_RESCUE_MAGIC_ROLLBACK "ROLLBK"

#define FK_RESCUE_INS_WRITE 0x1Cu
#define FK_RESCUE_INS_SECURE_BOOT 0x1Du /* not implemented: 6D00 (docs/rescue.md) */
#define FK_RESCUE_INS_READ 0x1Eu
#define FK_RESCUE_CONFIG_PHY 0x01u     /* 1C / 1E P1: board configuration */
#define FK_RESCUE_CONFIG_RTC 0x02u     /* 1C P1: set the clock */
#define FK_RESCUE_INFO_FLASH 0x02u     /* 1E P1: flash figures, 5 x u32 */
#define FK_RESCUE_INFO_BOOT 0x03u      /* 1E P1: secure-boot status, 3 bytes */
#define FK_RESCUE_INFO_RTC 0x04u       /* 1E P1: read the clock */
#define FK_RESCUE_INFO_ROLLBACK 0x06u  /* 1E P1: anti-rollback status, 3 bytes */
#define FK_RESCUE_INFO_MIGRATION 0x07u /* 1E P1: migration to the OTP root: state pending failed */
#define FK_RESCUE_RTC_CIVIL 0x01u      /* P2 of 1C 02 / 1E 04: year(2) mon day wday h m s */
#define FK_RESCUE_RTC_EPOCH 0x02u      /* P2 of 1C 02 / 1E 04: u32 Unix time */
#define FK_RESCUE_RTC_CIVIL_LEN 8u
#define FK_RESCUE_RTC_EPOCH_LEN 4u
#define FK_RESCUE_FLASH_INFO_LEN 20u
#define FK_RESCUE_FLASH_HEALTH 0x01u   /* P2 of 1E 02: the figures and the flash's health */
#define FK_RESCUE_FLASH_HEALTH_LEN 36u
#define FK_RESCUE_BOOT_INFO_LEN 3u
#define FK_RESCUE_ROLLBACK_INFO_LEN 3u
#define FK_RESCUE_MIGRATION_INFO_LEN 3u
/* State byte of 1E 07 (fk_migration_state_t). */
#define FK_RESCUE_MIGRATION_UNKNOWN 0u
#define FK_RESCUE_MIGRATION_NONE 1u
#define FK_RESCUE_MIGRATION_IN_PROGRESS 2u
#define FK_RESCUE_MIGRATION_DONE 3u
#define FK_RESCUE_NO_BOOT_KEY 0xFFu    /* boot-key byte of 1E 03 when no slot is valid */

#define FK_RESCUE_INS_REBOOT 0x1Fu
#define FK_RESCUE_REBOOT_NORMAL 0x00u   /* P1 */
#define FK_RESCUE_REBOOT_BOOTSEL 0x01u  /* P1 (user presence) */

/* ---- The board configuration, read by the firmware at start -------------- */

/* Longest USB product string the record holds, NUL included. */
#define FK_RESCUE_PRODUCT_MAX 32u

/* What the board configuration record overrides in the USB identity. */
typedef struct fk_rescue_usb_override {
    bool has_vidpid;
    uint16_t vid; /* item 00: VID then PID, each big-endian */
    uint16_t pid;
    bool has_product;
    char product[FK_RESCUE_PRODUCT_MAX]; /* item 09: printable ASCII, NUL-terminated */
} fk_rescue_usb_override_t;

struct fk_services;

/* Read the board configuration record (FK_ID_PHY_CONFIG) through svc and
 * fill *out with the USB VID/PID and product string it sets. An absent
 * record, one that cannot be read, or one that is not well formed (the
 * checks of 80 1C 01) overrides nothing: *out is all clear. Returns true
 * when a valid record was read (even one without USB items). */
bool fk_rescue_usb_override(struct fk_services *svc, fk_rescue_usb_override_t *out);

/* The applet keeps no volatile state. */
#define FK_RESCUE_STATE_SIZE 0u

extern const fk_applet_t fk_rescue_applet;

#endif /* FUSEKEY_RESCUE_H */
