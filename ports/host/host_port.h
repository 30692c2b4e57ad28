/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_port.h - set-up of the host port (the Linux implementation of hal.h).
 * Only host programs (fusekey-sim, tests, tools) include this; the core never.
 *
 * Flash is a file with the board's geometry (4 KiB sectors, 256-byte pages);
 * OTP is a file of 4096 rows of 24 bits behind the RP2350 OTP model. Both
 * are created on first use (flash erased to 0xFF, OTP in a new chip's
 * factory state) and written through at once, so the file is consistent
 * whenever a HAL call has returned.
 */
#ifndef FUSEKEY_HOST_PORT_H
#define FUSEKEY_HOST_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal.h"
#include "otp_model.h"

/* Data region size of a 4 MiB board (the first MiB holds the firmware). */
#define FK_HOST_FLASH_SIZE (3u * 1024u * 1024u)
#define FK_HOST_SECTOR_SIZE 4096u
#define FK_HOST_PAGE_SIZE 256u

/* Open (creating if absent) the flash image. size 0 means FK_HOST_FLASH_SIZE,
 * else a non-zero multiple of FK_HOST_SECTOR_SIZE. An existing file of
 * another size, a file locked by another process or a second open are
 * refused (-1, message on stderr). Returns 0 on success. Closing when
 * nothing is open does nothing. */
int fk_host_flash_open(const char *path, uint32_t size);
void fk_host_flash_close(void);

/* Open (creating if absent) the OTP image into the port's OTP model
 * (otp/otp_file.h: FK_OTP_MODEL_ROWS rows of 4 bytes, little-endian, bits
 * 31:24 zero; a new file gets the factory state with CHIPID = chipid and a
 * random RANDID). chipid NULL means the serial fk_hal_serial returns now.
 * The firmware's HAL calls are the model's secure principal (docs/otp.md);
 * while no image is open, its OTP reads answer FK_HAL_EPERM and its OTP
 * writes FK_HAL_EIO. A file of another size, with a bit set above bit 23,
 * held by another program, or a second open are refused (-1, message on
 * stderr). */
int fk_host_otp_open_chip(const char *path, fk_otp_stepping_t stepping, const uint8_t chipid[8]);
/* fk_host_otp_open_chip(path, FK_OTP_STEPPING_A2, NULL). */
int fk_host_otp_open(const char *path);
/* fsync and close (nothing when not open). */
void fk_host_otp_close(void);
/* The open OTP model (NULL when no OTP image is open), for host programs
 * that act as another principal on the same chip (e.g. the bootrom model).
 * Valid until fk_host_otp_close. */
fk_otp_t *fk_host_otp_model(void);
/* The open image's CHIPID as the firmware reads it (ECC, an uncorrectable
 * row refused), most significant byte first like the chip serial: 0, or -1
 * (chipid zeroed) when no image is open or a row cannot be read. */
int fk_host_otp_chipid(uint8_t chipid[8]);

/* Make fk_hal_millis jump forward by ms from now on, as if that much time
 * had passed at once (it never goes back). Thread-safe: a control thread
 * may call it while the device runs. */
void fk_host_advance_clock(uint32_t ms);

/* The chip serial returned by fk_hal_serial (default: derived from the
 * machine id so that each host has a stable, distinct serial). */
void fk_host_set_serial(const uint8_t serial[8]);

typedef enum fk_host_presence {
    FK_HOST_PRESENCE_AUTO = 0, /* confirm at once */
    FK_HOST_PRESENCE_DENY,     /* decline at once */
    FK_HOST_PRESENCE_ASK,      /* ask on the controlling terminal, with the timeout */
    FK_HOST_PRESENCE_DELAY,    /* confirm after the delay (fk_host_set_presence_delay),
                                  or time out when the delay is not shorter than the timeout */
    FK_HOST_PRESENCE_TIMEOUT,  /* nobody answers: time out */
    FK_HOST_PRESENCE_REMOTE,   /* wait for fk_host_presence_answer (another thread), with
                                  the timeout */
} fk_host_presence_t;

/* The policy for the next presence waits. Thread-safe (a control thread may
 * change it while the device runs), as are the three setters below. */
void fk_host_set_presence(fk_host_presence_t mode);

/* DELAY mode: how long the "user" takes to confirm. */
void fk_host_set_presence_delay(uint32_t delay_ms);

/* REMOTE mode: the user's answer to the wait in progress (a press of the
 * button: confirm; or a refusal). An answer given while no wait runs is
 * dropped when the next wait starts. */
void fk_host_presence_answer(bool confirm);

/* ASK, DELAY, TIMEOUT and REMOTE modes: wait timeout_ms instead of the timeout the core asks for
 * (0, the default, keeps the core's). */
void fk_host_set_presence_timeout(uint32_t timeout_ms);

/* Async-signal-safe: every presence wait, the current one included, ends at
 * once with FK_HAL_ETIMEOUT from now on (used when the program stops). */
void fk_host_cancel_presence(void);

/* Diagnostics on stderr: 0 quiet (default); 1 card power events and
 * waiting for the reader; 2 also LED changes, ATR requests, APDU lengths and
 * keepalives. Never logs secrets or APDU contents. */
#define FK_HOST_VERBOSE_EVENTS 1
#define FK_HOST_VERBOSE_DETAIL 2
void fk_host_set_verbose(int level);
int fk_host_verbose(void);

/* The last state given to fk_hal_led (FK_LED_OFF before the first call). */
fk_led_state_t fk_host_led_state(void);

/* True once after fk_hal_reboot was called; *mode says which reboot. The
 * host program then restarts the virtual device (normal) or stops
 * (bootloader: the simulator has no BOOTSEL mode). */
bool fk_host_take_reboot(fk_reboot_mode_t *mode);

/* Make fk_hal_random fail from now on (tests of the failure paths). A
 * failing fk_hal_random leaves zeros in the buffer, never partial output. */
void fk_host_set_rng_failure(bool fail);

/* The second core of hal.h as a thread (host_core1.c). */
typedef enum fk_host_core1 {
    FK_HOST_CORE1_THREAD = 0, /* each job runs on its own thread (the default) */
    FK_HOST_CORE1_NONE,       /* no second core: fk_hal_core1_start says FK_HAL_ENOTSUP */
    FK_HOST_CORE1_MUTE,       /* a core that never answers the launch: FK_HAL_ETIMEOUT */
    FK_HOST_CORE1_HANG,       /* accepts the job, then stops answering: fn never runs,
                                 done never comes, until fk_hal_core1_abandon */
} fk_host_core1_t;

/* Choose how the second core behaves from the next job on; also clears the
 * single-core latch, as a reboot does. Not while a job runs. */
void fk_host_set_core1(fk_host_core1_t mode);

/* True when the port has latched single-core mode. */
bool fk_host_core1_latched(void);

/* Jobs whose fn ran to the end on the second core since the program started. */
unsigned fk_host_core1_jobs(void);

#endif /* FUSEKEY_HOST_PORT_H */
