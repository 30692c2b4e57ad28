/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_sys.c - reboot, panic and platform of hal.h (docs/rp2350.md, "Reboot"
 * and "Panic").
 *
 * Reboot is deferred: fk_hal_reboot only records the request, because the
 * command that asked for it must still be answered. main.c performs it
 * through the ROM once the response has left over USB.
 *
 * Panic masks interrupts, wipes every RAM region registered as holding
 * secrets, keeps the line in watchdog scratch 0 (with a marker in scratch
 * 1; both survive the reset), lights the LED and reboots through the ROM
 * (watchdog reset after 10 ms). If the ROM cannot be called it halts with
 * interrupts masked.
 */
#include "hal.h"
#include "rp_cpu.h"
#include "rp_mmio.h"
#include "rp_port.h"
#include "rp_regs.h"
#include "rp_rom.h"

typedef struct region {
    volatile uint8_t *p;
    size_t len;
} region_t;

static struct {
    region_t secrets[RP_SECRET_REGIONS];
    unsigned n_secrets;
    bool reboot;
    fk_reboot_mode_t reboot_mode;
    volatile bool in_panic;
} sys;

fk_platform_t fk_hal_platform(void) { return FK_PLATFORM_RP2350; }

void fk_hal_reboot(fk_reboot_mode_t mode)
{
    sys.reboot = true;
    sys.reboot_mode = mode;
}

bool rp_reboot_pending(fk_reboot_mode_t *mode)
{
    if (!sys.reboot) return false;
    *mode = sys.reboot_mode;
    return true;
}

void rp_reboot_now(fk_reboot_mode_t mode)
{
    if (mode == FK_REBOOT_BOOTLOADER) {
        /* BOOTSEL with both interfaces and the LED as activity light. */
        (void)rp_rom_reboot(RP_ROM_REBOOT_NO_RETURN | RP_ROM_REBOOT_BOOTSEL,
                            RP_ROM_REBOOT_DELAY_MS, RP_ROM_BOOTSEL_ACTIVITY_VALID, RP_LED_GPIO);
    } else {
        (void)rp_rom_reboot(RP_ROM_REBOOT_NO_RETURN | RP_ROM_REBOOT_NORMAL,
                            RP_ROM_REBOOT_DELAY_MS, 0u, 0u);
    }
}

bool rp_secret_register(void *p, size_t len)
{
    for (unsigned i = 0; i < sys.n_secrets; i++) {
        if (sys.secrets[i].p == (volatile uint8_t *)p) {
            sys.secrets[i].len = len;
            return true;
        }
    }
    if (sys.n_secrets >= RP_SECRET_REGIONS) return false;
    sys.secrets[sys.n_secrets].p = (volatile uint8_t *)p;
    sys.secrets[sys.n_secrets].len = len;
    sys.n_secrets++;
    return true;
}

void fk_hal_panic(const char *file, int line)
{
    (void)file;
    (void)rp_cpu_irq_save();
    if (sys.in_panic) rp_cpu_halt(); /* a fault inside the panic itself */
    sys.in_panic = true;
    for (unsigned i = 0; i < sys.n_secrets && i < RP_SECRET_REGIONS; i++) {
        for (size_t j = 0; j < sys.secrets[i].len; j++) sys.secrets[i].p[j] = 0;
    }
    rp_wr32(RP_WATCHDOG_SCRATCH(0), (uint32_t)line);
    rp_wr32(RP_WATCHDOG_SCRATCH(1), RP_PANIC_MAGIC);
    rp_led_force(true);
    rp_reboot_now(FK_REBOOT_NORMAL);
    rp_cpu_halt();
}

void rp_fault(const char *what, int n) { fk_hal_panic(what, n); }
