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
 * OTP: 4096 rows of 24 bits in 64 pages of 64 rows; bits only go 0 -> 1
 * (docs/otp.md). Raw view: all 24 bits. ECC view: 16 data bits protected by
 * 6 parity bits and 2 bit-repair bits, as the RP2350 bootrom encodes them.
 *
 * The firmware is the chip's secure code calling the bootrom's otp_access():
 * rows are processed one at a time, each checked against the secure lock
 * level of its page; the first row that fails stops the call with its
 * error, and the rows before it stay done (a write can be torn). A page
 * lock written to OTP takes effect only at the next reset.
 * ------------------------------------------------------------------------- */

#define FK_OTP_ROWS 4096u

/* **Required.** Read `count` raw rows starting at `row` into out[] (each
 * value in bits 23:0). FK_HAL_ERANGE when the span passes the last row,
 * FK_HAL_EPERM at the first row whose page the firmware may not read. */
int fk_hal_otp_read_raw(uint16_t row, uint32_t *out, size_t count);

/* **Required.** Program `count` raw values into rows starting at `row`, one
 * row at a time; bits 31:24 of a value are ignored. A row holding cur takes
 * v only when cur & ~v == 0 and then holds v (nothing is ORed for the
 * caller: to add a bit, write cur | bit); rewriting what a row holds
 * succeeds. Stops at the first failing row, the rows before it stay
 * programmed: FK_HAL_EIO when it would need a 1->0 change, FK_HAL_EPERM when
 * its page is not writable by the firmware, FK_HAL_ERANGE (nothing written)
 * when the span passes the last row. */
int fk_hal_otp_write_raw(uint16_t row, const uint32_t *vals, size_t count);

/* **Required.** Read `count` rows through the ECC view (16 data bits each;
 * single-bit errors corrected; an all-ones row reads 0x0000). FK_HAL_EIO
 * when any row is uncorrectable (the guarded view's strictness: a damaged
 * key is never used), FK_HAL_EPERM and FK_HAL_ERANGE as for raw reads. */
int fk_hal_otp_read_ecc(uint16_t row, uint16_t *out, size_t count);

/* **Required.** Write `count` 16-bit values through the ECC view: a row
 * takes the value's codeword or, when that needs a 1->0 change, its
 * complement with both bit-repair bits set (bit repair by polarity).
 * Rewriting the value a row holds succeeds. Per-row failures as for the raw
 * write (FK_HAL_EIO when neither form fits, rows before it stay written). */
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

/* **Required.** Reboot the device once the response of the command being
 * processed has reached the host. It returns: the applet finishes its
 * command (the rescue applet answers 9000), the transport sends the
 * response, then the port resets the chip (hardware) or restarts the
 * virtual device (host port; BOOTSEL mode stops it). */
void fk_hal_reboot(fk_reboot_mode_t mode);

/* **Required.** A broken internal invariant (FK_ASSERT in util.h): record
 * where, wipe what the port can, and stop or reset. Never returns. */
void fk_hal_panic(const char *file, int line) __attribute__((noreturn));

#endif /* FUSEKEY_HAL_H */
