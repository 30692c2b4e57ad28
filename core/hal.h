/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hal.h - the contract between the fusekey core and a port.
 *
 * A port is one directory (ports/<name>/) that implements every function
 * below. Nothing here has a default: a port that forgets one fails to link,
 * which is the point for the security-relevant ones (random bytes above all).
 *
 * Every function is marked **Required**. Functions return FK_HAL_OK (0) on
 * success and a negative FK_HAL_E* code on failure unless stated otherwise.
 * They may be called only from the core's single thread of execution, except
 * fk_hal_core_id (see "Second core" below).
 *
 * The second core is an **Optional** facility: every port implements its
 * functions, but a port without a second core answers FK_HAL_ENOTSUP and
 * the core then does the same work alone.
 */
#ifndef FUSEKEY_HAL_H
#define FUSEKEY_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    FK_HAL_OK = 0,
    FK_HAL_EIO = -1,      /* the device did not do what was asked */
    FK_HAL_ERANGE = -2,   /* address, row or length outside the device */
    FK_HAL_EALIGN = -3,   /* address or length not aligned as required */
    FK_HAL_EPERM = -4,    /* refused by a lock or by the access level */
    FK_HAL_ENOTSUP = -5,  /* the port cannot do this at all */
    FK_HAL_ETIMEOUT = -6, /* a deadline passed */
    FK_HAL_EDENIED = -7,  /* the user said no */
    FK_HAL_ENOENT = -8,   /* the thing asked for does not exist (e.g. a key never programmed) */
    FK_HAL_ESTATE = -9,   /* refused in this state; nothing was written */
    FK_HAL_ECANCELED = -10, /* the wait was called off (fk_hal_presence_abort) */
};

/* ---------------------------------------------------------------------------
 * Flash (the data region only; the firmware image lives elsewhere).
 *
 * NOR semantics: erase sets every bit of a sector to 1; program can only
 * clear bits (new = old & data). Offsets are relative to the data region.
 * ------------------------------------------------------------------------- */

typedef struct fk_flash_geometry {
    uint32_t size;        /* bytes in the data region, a multiple of sector_size */
    uint32_t sector_size; /* erase unit in bytes (4096 on the RP2350 boards) */
    uint32_t page_size;   /* program unit in bytes (256); program never crosses one */
} fk_flash_geometry_t;

/* **Required.** Fill *geo with the data region's geometry. Never fails. */
void fk_hal_flash_geometry(fk_flash_geometry_t *geo);

/* **Required.** Copy len bytes at offset into buf. FK_HAL_ERANGE when the
 * span leaves the region. Reads of erased flash return 0xFF. */
int fk_hal_flash_read(uint32_t offset, void *buf, size_t len);

/* **Required.** Erase the sector starting at offset (must be sector aligned:
 * else FK_HAL_EALIGN). After success every byte of the sector reads 0xFF.
 * An interrupted erase may leave any mix of old and 0xFF bits. */
int fk_hal_flash_erase(uint32_t offset);

/* **Required.** Program len bytes at offset: each byte becomes old & data.
 * The span must lie inside one page (else FK_HAL_EALIGN). An interrupted
 * program leaves a prefix-or-subset of the bits cleared. */
int fk_hal_flash_program(uint32_t offset, const void *data, size_t len);

/* ---------------------------------------------------------------------------
 * OTP: what the device keeps in its one-time-programmable memory, not where
 * (docs/otp.md). The port knows its chip's fuse map; the core asks for the
 * two root keys, reads the state the boot ROM acts on, and makes the only
 * two OTP writes the firmware ever makes. Bits only ever get set: every
 * write is irreversible.
 * ------------------------------------------------------------------------- */

#define FK_HAL_OTP_KEY_LEN 32u

typedef enum fk_hal_otp_key {
    FK_HAL_OTP_MKEK = 0, /* master key-encryption key: the sealing root (32 random bytes) */
    FK_HAL_OTP_DEVK = 1, /* device key: secp256k1 scalar, big-endian */
} fk_hal_otp_key_t;

/* **Required.** Read a root key: FK_HAL_OK and the bytes when programmed;
 * FK_HAL_ENOENT when never programmed; FK_HAL_EIO when programmed but
 * damaged (never a fallback); FK_HAL_EPERM when a lock forbids the firmware
 * the read. out is all zero on every result but FK_HAL_OK. The caller
 * wipes the key after use. */
int fk_hal_otp_key(fk_hal_otp_key_t which, uint8_t out[FK_HAL_OTP_KEY_LEN]);

typedef enum fk_hal_keys_lock {
    FK_HAL_KEYS_UNLOCKED = 0, /* the key storage is readable by the bootloader / non-secure code */
    FK_HAL_KEYS_LOCKED,       /* this product's lock is programmed (may take effect at the next
                                 reset) */
    FK_HAL_KEYS_LOCK_OTHER,   /* some other lock value is programmed: never written over */
} fk_hal_keys_lock_t;

#define FK_HAL_NO_BOOT_KEY 0xFFu

typedef struct fk_hal_otp_state {
    fk_hal_keys_lock_t keys_lock;
    bool secure_boot;          /* the boot ROM verifies images */
    bool boot_locked;          /* boot keys/flags closed to the bootloader */
    uint8_t boot_key;          /* first valid boot-key slot, FK_HAL_NO_BOOT_KEY when none */
    bool rollback_required;    /* images without a version are refused */
    uint8_t rollback_floor;    /* images below this version are refused */
    uint8_t rollback_capacity; /* versions the chip can count */
} fk_hal_otp_state_t;

/* **Required.** The OTP state as the firmware reads it now;
 * FK_HAL_EIO/EPERM when it cannot be read. */
int fk_hal_otp_state(fk_hal_otp_state_t *st);

/* The two OTP writes the firmware itself makes (docs/rescue.md). Both are
 * idempotent, read back what they wrote, and refuse without writing when
 * their precondition does not hold. User presence is the caller's. */

/* **Required.** Lock the key storage against every reader but the secure
 * firmware: FK_HAL_OK when the lock is in place afterwards (also when it
 * already was); FK_HAL_ESTATE (nothing written) without an MKEK or when
 * another lock value is there; FK_HAL_EIO when the write or read-back
 * failed. */
int fk_hal_otp_lock_keys(void);

/* **Required.** Refuse images without a rollback version from now on:
 * FK_HAL_OK when the flag reads set afterwards; FK_HAL_ESTATE (nothing
 * written) without secure boot; FK_HAL_EIO otherwise. */
int fk_hal_otp_require_rollback(void);

/* ---------------------------------------------------------------------------
 * Entropy, time, identity.
 * ------------------------------------------------------------------------- */

/* **Required.** Fill buf with len bytes from a true/hardware entropy source
 * (not a PRNG seeded at build time). May fail (FK_HAL_EIO); the core then
 * refuses the operation rather than use weaker randomness. */
int fk_hal_random(void *buf, size_t len);

/* **Required.** Milliseconds since an arbitrary origin; never goes back. */
uint64_t fk_hal_millis(void);

/* **Required.** The chip's 8-byte unique serial number. Never fails. */
void fk_hal_serial(uint8_t serial[8]);

typedef enum fk_platform {
    FK_PLATFORM_RP2040 = 0,
    FK_PLATFORM_RP2350 = 1,
    FK_PLATFORM_ESP32 = 2,
    FK_PLATFORM_EMULATION = 3, /* the host port: a virtual device */
} fk_platform_t;

/* **Required.** Which platform this port runs on (reported by the rescue
 * applet, so host tools can tell a virtual device from a real one). */
fk_platform_t fk_hal_platform(void);

/* ---------------------------------------------------------------------------
 * User presence, LED, reboot.
 * ------------------------------------------------------------------------- */

/* Called by the port while it waits, at least every 500 ms, so the transport
 * can keep the host from timing out (CCID time extension, CTAPHID keepalive). */
typedef void (*fk_keepalive_fn)(void *arg);

/* **Required.** Wait until the user confirms presence (button press, touch)
 * or timeout_ms passes. Calls keepalive (if not NULL) while waiting.
 * FK_HAL_OK when confirmed, FK_HAL_ETIMEOUT on timeout, FK_HAL_EDENIED when
 * the user actively declined. */
int fk_hal_presence_wait(uint32_t timeout_ms, fk_keepalive_fn keepalive, void *arg);

/* **Required.** Called from the keepalive while fk_hal_presence_wait runs
 * (the host called off the request that waits, e.g. CTAPHID CANCEL): the
 * wait returns FK_HAL_ECANCELED as soon as the keepalive returns, whatever
 * the user does. A wait starts with no abort pending, so a call outside a
 * wait has no effect. Endpoints reach it through fk_services_presence_cancel. */
void fk_hal_presence_abort(void);

typedef enum fk_led_state {
    FK_LED_OFF = 0,
    FK_LED_IDLE,       /* powered, waiting for the host */
    FK_LED_ACTIVE,     /* processing a command */
    FK_LED_PRESENCE,   /* waiting for the user to confirm */
    FK_LED_ERROR,      /* something needs attention */
} fk_led_state_t;

/* **Required.** Show a status on the LED (a port without one does nothing). */
void fk_hal_led(fk_led_state_t state);

typedef enum fk_reboot_mode {
    FK_REBOOT_NORMAL = 0,
    FK_REBOOT_BOOTLOADER, /* the RP2350's BOOTSEL USB mode */
} fk_reboot_mode_t;

/* **Required.** Reboot the device once the response of the command being
 * processed has reached the host. It returns: the applet finishes its
 * command (the rescue applet answers 9000), the transport sends the
 * response, then the port resets the chip (hardware) or restarts the
 * virtual device (host port; BOOTSEL mode stops it). */
void fk_hal_reboot(fk_reboot_mode_t mode);

/* **Required.** A broken internal invariant (FK_ASSERT in util.h): record
 * where, wipe what the port can, and stop or reset. Never returns. */
void fk_hal_panic(const char *file, int line) __attribute__((noreturn));

/* ---------------------------------------------------------------------------
 * Second core (**Optional** facility; docs/crypto.md, "RSA key generation
 * on two cores"). One job at a time: the core starts fn(arg) on the other
 * core, polls fk_hal_core1_done while it does its own work and calls its
 * keepalive, and either sees the job finish or gives up on it with
 * fk_hal_core1_abandon. Used for the RSA prime search only.
 *
 * Rules for fn (the job):
 * - it runs on the other core with its own stack (the port's, sized for
 *   the prime search: docs/rp2350.md "Core 1"), interrupts off;
 * - it touches only memory reachable from arg and its own stack, and calls
 *   no hal.h function but fk_hal_core_id: no flash, no OTP, no entropy, no
 *   time (its code may execute from flash: while a job runs the core makes
 *   no flash call, and the RP2350 port refuses one with FK_HAL_ESTATE);
 * - memory shared with the core is published with C11 atomics
 *   (<stdatomic.h>, release stores and acquire loads); the port adds no
 *   lock of its own around fn's accesses;
 * - allocation from fn goes to a region of its own (the crypto arena keys
 *   on fk_hal_core_id), so an abandoned job leaks nothing into the core's.
 * ------------------------------------------------------------------------- */

typedef void (*fk_core1_fn)(void *arg);

/* **Required.** Start fn(arg) on the second core and return at once.
 * FK_HAL_OK when the second core has accepted the job; FK_HAL_ENOTSUP when
 * the port has no second core or has latched single-core mode (below);
 * FK_HAL_ESTATE when a job is still running (not seen done or abandoned);
 * FK_HAL_ETIMEOUT when the second core did not answer the launch: the port
 * has stopped it and latches single-core mode until the next reboot, so
 * every later call answers FK_HAL_ENOTSUP. Everything the caller wrote
 * before the call is visible to fn (the port issues the barrier). */
int fk_hal_core1_start(fk_core1_fn fn, void *arg);

/* **Required.** Whether the running job's fn has returned: true once it
 * has (and then everything fn wrote is visible to the caller: acquire
 * semantics; the job is over and a new one may start), false while it
 * runs. True when no job runs. Never blocks. */
bool fk_hal_core1_done(void);

/* **Required.** Give up on a job that did not finish in time: stop the
 * second core by force (reset and park it), after which fn runs no more
 * and writes nothing, and latch single-core mode until the next reboot.
 * Does nothing when no job runs. */
void fk_hal_core1_abandon(void);

/* **Required.** 0 on the core that runs the core's thread, 1 on the second
 * core. The one function callable from both cores; it touches no flash
 * (the crypto arena calls it on every allocation). */
unsigned fk_hal_core_id(void);

#endif /* FUSEKEY_HAL_H */
