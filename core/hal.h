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
 * They may be called only from the core's single thread of execution.
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
 * OTP: 4096 rows of 24 bits. Raw view: all 24 bits, a write can only set
 * bits (a write needing 1->0 fails and changes nothing). ECC view: 16 data
 * bits protected by 6 parity bits, as the RP2350 bootrom encodes them.
 * ------------------------------------------------------------------------- */

#define FK_OTP_ROWS 4096u

/* **Required.** Read `count` raw rows starting at `row` into out[] (each
 * value in bits 23:0). FK_HAL_ERANGE past the last row, FK_HAL_EPERM when a
 * page lock forbids the read at the firmware's access level. */
int fk_hal_otp_read_raw(uint16_t row, uint32_t *out, size_t count);

/* **Required.** OR `count` raw values into rows starting at `row`. Fails
 * with FK_HAL_EIO and writes nothing if any row would need a 1->0 change. */
int fk_hal_otp_write_raw(uint16_t row, const uint32_t *vals, size_t count);

/* **Required.** Read `count` rows through the ECC view (16 data bits each,
 * single-bit errors corrected). FK_HAL_EIO on an uncorrectable row. */
int fk_hal_otp_read_ecc(uint16_t row, uint16_t *out, size_t count);

/* **Required.** Write `count` 16-bit values through the ECC view (with the
 * bootrom's encoding and bit repair). Same failure rules as the raw write. */
int fk_hal_otp_write_ecc(uint16_t row, const uint16_t *vals, size_t count);

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

/* **Required.** Reboot the device. On hardware it does not return; a host
 * port may return after arranging a restart of the virtual device. */
void fk_hal_reboot(fk_reboot_mode_t mode);

/* **Required.** A broken internal invariant (FK_ASSERT in util.h): record
 * where, wipe what the port can, and stop or reset. Never returns. */
void fk_hal_panic(const char *file, int line) __attribute__((noreturn));

#endif /* FUSEKEY_HAL_H */
