/* SPDX-License-Identifier: Apache-2.0 */
/*
 * otp_logical.h - the product's view of "the chip's one-time memory",
 * independent of the chip: the two root keys (MKEK, DEVK), the boot-key
 * slots and secure boot, the rollback floor and the debug fuses.
 *
 * Two implementations, chosen when the handle is made:
 *   RP2350    over one caller's row access (otp_rows.h: the bootrom's
 *             otp_access for the firmware, or the OTP model as any of its
 *             principals) with the fuse map of otp_map.h;
 *   ESP32-S3  over the eFuse model (esp32s3_efuse.h) with the mapping of
 *             docs/esp32s3.md.
 *
 * The ports put it behind hal.h (fk_hal_otp_key, fk_hal_otp_state and the
 * two firmware writes, docs/otp.md); the fusekey tool and the tests use it
 * directly.
 *
 * Every write is irreversible on a chip, so every operation checks its
 * preconditions and everything it will touch before it programs a bit; a
 * refused operation changes nothing. After writing it reads back and
 * verifies. What a chip cannot do is reported, never faked: fk_lotp_caps()
 * says it up front and the operation answers FK_LOTP_EUNSUPPORTED.
 *
 * Portable C, no OS header, no allocation. Key material passed in or out is
 * the caller's to wipe; copies made here are wiped before returning.
 */
#ifndef FUSEKEY_OTP_LOGICAL_H
#define FUSEKEY_OTP_LOGICAL_H

#include <stdbool.h>
#include <stdint.h>

#include "esp32s3_efuse.h"
#include "otp_rows.h"

#define FK_LOTP_KEY_BYTES 32u
#define FK_LOTP_DIGEST_BYTES 32u /* SHA-256 of the boot public key (block) */
#define FK_LOTP_MAX_SLOTS 4u
#define FK_LOTP_SLOT_ANY 0xFFu   /* bootkey_load: the first free slot */

/* Results. */
enum {
    FK_LOTP_OK = 0,
    FK_LOTP_EUNSUPPORTED = -1, /* this chip has no such feature; nothing done */
    FK_LOTP_EARG = -2,         /* bad slot or key value (e.g. DEVK not in 1..n-1) */
    FK_LOTP_EPERM = -3,        /* a lock or protection fuse forbids it for this accessor */
    FK_LOTP_ESTATE = -4,       /* refused in this state: out of order, already done, would brick */
    FK_LOTP_EFULL = -5,        /* no free boot-key slot or key block */
    FK_LOTP_EIO = -6,          /* the chip refused a write, a read-back differed, or the
                                  stored data is damaged */
};

typedef enum fk_lotp_chip {
    FK_LOTP_CHIP_RP2350 = 1,
    FK_LOTP_CHIP_ESP32S3 = 2,
} fk_lotp_chip_t;

typedef enum fk_lotp_key {
    FK_LOTP_MKEK = 0, /* master key-encryption key: 32 random bytes */
    FK_LOTP_DEVK = 1, /* device key: secp256k1 scalar, big-endian, 0 < d < n */
} fk_lotp_key_t;

typedef enum fk_lotp_key_state {
    FK_LOTP_KEY_ABSENT = 0,  /* never programmed */
    FK_LOTP_KEY_PRESENT,     /* programmed and read */
    FK_LOTP_KEY_UNREADABLE,  /* locked against this accessor, damaged, or not this key */
} fk_lotp_key_state_t;

/* What the chip supports. */
typedef struct fk_lotp_caps {
    fk_lotp_chip_t chip;
    unsigned bootkey_slots;      /* RP2350 4, ESP32-S3 3 */
    unsigned rollback_capacity;  /* thermometer bits: RP2350 48 (versions < 48), ESP32-S3 16 */
    bool key_chaff;              /* anti-imaging chaff next to the keys (RP2350) */
    bool key_read_lock;          /* keys can be hidden from the bootloader and other readers */
    bool key_lock_at_reset;      /* that lock takes effect at the next reset (RP2350) */
    bool rollback_required_flag; /* a fuse that refuses versionless images (RP2350) */
    bool glitch_detector;        /* a fused glitch detector (RP2350) */
} fk_lotp_caps_t;

/* Which read lock the key storage holds, as fk_lotp_keys_lock sees it. */
typedef enum fk_lotp_lock_value {
    FK_LOTP_LOCK_NONE = 0, /* none programmed */
    FK_LOTP_LOCK_OURS,     /* exactly the value fk_lotp_keys_lock writes (RP2350: the raw
                              PAGE58_LOCK1 row is 0x3C3C3C) */
    FK_LOTP_LOCK_OTHER,    /* anything else (one copy of three, another value, an ESP32-S3
                              RD_DIS bit): fk_lotp_keys_lock never writes over it */
} fk_lotp_lock_value_t;

/* How the key storage is protected. */
typedef struct fk_lotp_keys_lock {
    bool write_locked;  /* no accessor outside secure firmware can change the keys */
    bool read_locked;   /* the bootloader and non-secure code cannot read them (programmed) */
    bool pending_reset; /* read_locked is programmed but takes effect at the next reset */
    fk_lotp_lock_value_t value;
} fk_lotp_keys_lock_t;

/* One boot-key slot. */
typedef struct fk_lotp_slot {
    bool present;    /* a digest is programmed */
    bool valid;      /* the boot ROM accepts images signed by this key (RP2350: by the flags) */
    bool revoked;    /* revoked for good */
    bool unreadable; /* this accessor cannot read the digest: present unknown (false) */
    uint16_t where;  /* RP2350: first OTP row; ESP32-S3: eFuse block; 0 when not present */
} fk_lotp_slot_t;

typedef struct fk_lotp_boot {
    bool secure_boot;     /* the boot ROM verifies images */
    bool locked;          /* fk_lotp_secure_boot_lock() has been applied */
    unsigned slot_count;  /* = caps.bootkey_slots */
    fk_lotp_slot_t slot[FK_LOTP_MAX_SLOTS];
} fk_lotp_boot_t;

typedef struct fk_lotp_rollback {
    bool supported;
    bool required;     /* versionless images refused (RP2350 ROLLBACK_REQUIRED) */
    unsigned floor;    /* images below this version are refused */
    unsigned capacity; /* = caps.rollback_capacity */
} fk_lotp_rollback_t;

typedef struct fk_lotp_debug {
    bool disabled;        /* every debug port is off for good */
    bool partly;          /* at least one debug port is off */
    bool glitch_detector; /* the glitch detector is armed */
} fk_lotp_debug_t;

/* The handle: which chip, and the access it drives (its context is owned
 * by the caller and must outlive the handle). */
typedef struct fk_lotp {
    fk_lotp_chip_t chip;
    union {
        fk_otp_rows_t rp2350;
        fk_efuse_t *esp32s3;
    } u;
} fk_lotp_t;

/* An RP2350 handle over one caller's row access (copied into the handle).
 * FK_LOTP_EARG when an operation of *rows is missing. */
int fk_lotp_init_rp2350(fk_lotp_t *ctx, const fk_otp_rows_t *rows);

/* An ESP32-S3 handle (the firmware's own view: software eFuse access). */
int fk_lotp_init_esp32s3(fk_lotp_t *ctx, fk_efuse_t *efuse);

/* What this chip supports. */
void fk_lotp_caps(const fk_lotp_t *ctx, fk_lotp_caps_t *caps);

/* ---- Root keys --------------------------------------------------------------- */

/* Read one key. *state is always set; key[] gets the bytes when PRESENT and
 * zeros otherwise. Returns FK_LOTP_OK for ABSENT and PRESENT; for
 * UNREADABLE: FK_LOTP_EPERM (locked / read-disabled), FK_LOTP_EIO (an
 * uncorrectable row, or rows that are programmed but read as zero) or
 * FK_LOTP_ESTATE (the storage holds something that is not this key). */
int fk_lotp_key_read(fk_lotp_t *ctx, fk_lotp_key_t which, uint8_t key[FK_LOTP_KEY_BYTES],
                     fk_lotp_key_state_t *state);

/* Program both keys once: preflight (every target bit blank and writable,
 * DEVK a valid secp256k1 scalar), write, read back and compare, then what
 * the chip offers against later change: RP2350 the chaff rows (the page-58
 * lock is fk_lotp_keys_lock); ESP32-S3 write-disable of the two key blocks
 * and their purposes. FK_LOTP_ESTATE if anything is already programmed. */
int fk_lotp_keys_provision(fk_lotp_t *ctx, const uint8_t mkek[FK_LOTP_KEY_BYTES],
                           const uint8_t devk[FK_LOTP_KEY_BYTES]);

/* Hide the keys from every reader but secure firmware. RP2350: PAGE58_LOCK1
 * = 0x3C3C3C (only with the MKEK present; idempotent; any other lock value
 * -> FK_LOTP_ESTATE), effective at the next reset. ESP32-S3:
 * FK_LOTP_EUNSUPPORTED (read-disabling a USER block hides it from the
 * firmware too). */
int fk_lotp_keys_lock(fk_lotp_t *ctx);

/* How the key storage is protected right now (RP2350: from the raw and
 * voted PAGE58_LOCK1 row and the page's soft lock). */
int fk_lotp_keys_lock_state(fk_lotp_t *ctx, fk_lotp_keys_lock_t *out);

/* ---- Secure boot ------------------------------------------------------------- */

/* The state of secure boot and of every boot-key slot. RP2350: `locked`
 * is the BL field of PAGE1_LOCK1 or PAGE2_LOCK1 (byte vote) not read-write;
 * a slot whose digest rows this accessor cannot read is reported with
 * `unreadable` (its flags still count) instead of failing the call. */
int fk_lotp_boot_state(fk_lotp_t *ctx, fk_lotp_boot_t *out);

/* Program a boot-key digest into `slot` (or the first free slot with
 * FK_LOTP_SLOT_ANY), read it back, then mark it valid (RP2350: KEY_VALID;
 * ESP32-S3: the digest goes into the first unused key block, whose purpose
 * becomes SECURE_BOOT_DIGESTn). A slot is free when it is not present, not
 * valid and not revoked. An all-zero digest is FK_LOTP_EARG. *loaded
 * (may be NULL) gets the slot used. */
int fk_lotp_bootkey_load(fk_lotp_t *ctx, unsigned slot, const uint8_t digest[FK_LOTP_DIGEST_BYTES],
                         unsigned *loaded);

/* Turn secure boot on. Needs a valid, present, readable slot
 * (FK_LOTP_ESTATE otherwise); idempotent. */
int fk_lotp_secure_boot_enable(fk_lotp_t *ctx);

/* Close the boot-key configuration. Needs secure boot on and a valid slot.
 * Every slot not valid now is revoked; then RP2350: pages 1 and 2 LOCK1 =
 * 0x141414 (bootloader read-only); ESP32-S3: write-disable of each valid
 * digest block and its purpose, and the debug fuses of
 * fk_lotp_debug_disable. Download mode is never disabled. */
int fk_lotp_secure_boot_lock(fk_lotp_t *ctx);

/* Revoke one slot. Already revoked: FK_LOTP_OK, nothing written. Refused
 * (FK_LOTP_ESTATE) when no valid slot would remain. */
int fk_lotp_bootkey_revoke(fk_lotp_t *ctx, unsigned slot);

/* ---- Rollback and debug ------------------------------------------------------ */

/* The anti-rollback state (RP2350: thermometer rows and ROLLBACK_REQUIRED;
 * ESP32-S3: SECURE_VERSION, counted in ones as ESP-IDF does). */
int fk_lotp_rollback(fk_lotp_t *ctx, fk_lotp_rollback_t *out);

/* Refuse versionless images from now on. RP2350: ROLLBACK_REQUIRED in
 * BOOT_FLAGS0, only with secure boot on (FK_LOTP_ESTATE, nothing written);
 * already set by the vote: FK_LOTP_OK, nothing written; else every copy
 * lacking it gets cur|bit, and the vote read back decides (a copy whose
 * write failed does not matter when two of three have it). ESP32-S3: no
 * such fuse, FK_LOTP_EUNSUPPORTED. */
int fk_lotp_rollback_require(fk_lotp_t *ctx);

/* The debug fuses. */
int fk_lotp_debug(fk_lotp_t *ctx, fk_lotp_debug_t *out);

/* Turn debug off for good. Needs a valid boot-key slot (FK_LOTP_ESTATE).
 * RP2350: CRIT1 DEBUG_DISABLE, GLITCH_DETECTOR_ENABLE and the highest
 * sensitivity; ESP32-S3: SOFT_DIS_JTAG (odd), DIS_PAD_JTAG, DIS_USB_JTAG,
 * DIS_USB_SERIAL_JTAG. Idempotent. */
int fk_lotp_debug_disable(fk_lotp_t *ctx);

/* A short name for a result code. */
const char *fk_lotp_strerror(int rc);

#endif /* FUSEKEY_OTP_LOGICAL_H */
