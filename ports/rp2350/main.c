/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the fusekey firmware on the RP2350 (docs/rp2350.md): the port's
 * drivers, the services and one card of the fusekey product, and a USB
 * device with the CCID class in front of the card.
 *
 * rp_reset_c (rp_startup.c) has set up memory, copied the XIP stub and
 * started the clocks. Here, in order: the timer and the LED; the ROM's
 * functions; the OTP (the key rows are copied and page 58 is locked before
 * any host input can reach the device); the TRNG; SysTick; the services
 * (store mount, sealing, migration) and the card; then USB: a composite
 * device with the CCID class in front of the card and the FIDO HID class in
 * front of the CTAP endpoint (the FIDO applet with its own volatile state). The loop runs
 * the USB device; a reboot the card asked for (fk_hal_reboot) is carried
 * out once its response has left; otherwise the core sleeps until the next
 * interrupt (USB, or SysTick at the latest) through fk_dcd_wait, which does
 * not sleep over an event the controller has already recorded.
 *
 * Everything large is static: the card's APDU buffers (~130 KiB; the CCID
 * class receives commands straight into the card's), the CCID class's
 * response buffer (~4.5 KiB), the FIDO HID class's CTAPHID buffers (~15
 * KiB), the services.
 */
#include <stdbool.h>
#include <stdint.h>

#include "card/card.h"
#include "ccid.h"
#include "fido_hid.h"
#include "fusekey_product.h"
#include "hal.h"
#include "rp_cpu.h"
#include "rp_port.h"
#include "rescue/rescue.h"
#include "rp_rom.h"
#include "services/services.h"
#include "usbd.h"

/* The USB identity (docs/usb.md "Default VID/PID"): a VID/PID libccid lists,
 * so pcscd takes the device without anyone editing libccid's Info.plist;
 * the rescue applet's board record (tags 00 and 09) overrides the VID/PID
 * and the product string. */
#define USB_BCD_DEVICE 0x0100u
#define USB_MANUFACTURER "fusekey"
#define USB_PRODUCT "fusekey HSM"
#define USB_CCID_NAME "fusekey CCID"
#define USB_FIDO_NAME "fusekey FIDO"
#define USB_MAX_POWER_MA 100u

/* How long a requested reboot waits for its response to leave. */
#define REBOOT_DRAIN_MS 1000u

static fk_services_t services;
static fk_card_t card;
static fk_product_card_state_t card_state;
static fk_ccid_t ccid;
static fk_fido_hid_t fido_hid;
static _Alignas(8) uint8_t fido_state[FK_FIDO_STATE_SIZE];
static fk_usbd_t usbd;

/* The device cannot start: show it and wait for a power cycle (holding
 * BOOTSEL while plugging in still reaches the bootloader). */
static void __attribute__((noreturn)) stop_with_error(void)
{
    fk_hal_led(FK_LED_ERROR);
    for (;;) rp_cpu_wfi();
}

/* The board record's product string outlives the device (usbd keeps the
 * pointer). */
static fk_rescue_usb_override_t usb_override;

static void usb_start(void)
{
    fk_usbd_identity_t id = {
        .vid = FK_CCID_DEFAULT_VID,
        .pid = FK_CCID_DEFAULT_PID,
        .bcd_device = USB_BCD_DEVICE,
        .manufacturer = USB_MANUFACTURER,
        .product = USB_PRODUCT,
        .max_power_ma = USB_MAX_POWER_MA,
    };
    fk_hal_serial(id.serial);
    (void)fk_rescue_usb_override(&services, &usb_override);
    if (usb_override.has_vidpid) {
        id.vid = usb_override.vid;
        id.pid = usb_override.pid;
    }
    if (usb_override.has_product) id.product = usb_override.product;
    if (fk_ccid_init(&ccid, &card, NULL) != FK_USBD_OK) stop_with_error();
    const fk_fido_hid_config_t fido_cfg = {.millis = NULL, .wink = rp_led_wink};
    if (fk_fido_hid_init(&fido_hid, &services, &fk_fido_applet, fido_state, sizeof fido_state,
                         &fido_cfg) != FK_USBD_OK)
        stop_with_error();
    fk_usbd_class_t classes[] = {fk_ccid_class(&ccid), fk_fido_hid_class(&fido_hid)};
    classes[0].name = USB_CCID_NAME;
    classes[1].name = USB_FIDO_NAME;
    if (fk_usbd_init(&usbd, &id, classes, sizeof classes / sizeof classes[0]) != FK_USBD_OK)
        stop_with_error();
    fk_usbd_connect(&usbd, true);
}

int main(void)
{
    rp_timer_init();
    rp_led_init();
    fk_hal_led(FK_LED_ACTIVE);
    if (!rp_rom_init()) stop_with_error();
    /* Errors are the keys' state, reported by fk_hal_otp_key later. */
    (void)rp_otp_init();
    rp_trng_init();
    rp_systick_start();

    if (fk_services_init(&services, &fk_product) != FK_SERVICES_OK) stop_with_error();
    if (fk_card_init(&card, &services, &card_state, sizeof card_state) != FK_CARD_OK)
        stop_with_error();
    usb_start();
    fk_hal_led(FK_LED_IDLE);

    bool draining = false;
    uint64_t drain_start = 0;
    for (;;) {
        fk_usbd_task(&usbd);
        fk_reboot_mode_t mode;
        if (rp_reboot_pending(&mode)) {
            const uint64_t now = fk_hal_millis();
            if (!draining) {
                draining = true;
                drain_start = now;
            }
            if (fk_ccid_idle(&ccid) || now - drain_start >= REBOOT_DRAIN_MS) {
                fk_usbd_connect(&usbd, false);
                rp_reboot_now(mode);
                fk_hal_panic(__FILE__, __LINE__); /* the ROM refused */
            }
        }
        /* Sleep until an interrupt, unless the USB controller has already
         * recorded an event (no wake-up lost between the task and the
         * sleep); SysTick wakes the loop for the LED and the reboot drain. */
        fk_dcd_wait();
    }
}
