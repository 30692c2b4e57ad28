/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usbd.h - the port-independent USB device core: device state, the control
 * endpoint (EP0) and its standard requests, descriptors built from a list of
 * class drivers, and the dispatch of endpoint events to those drivers.
 *
 *   class drivers (usb/ccid.c; later FIDO HID, keyboard)
 *        |  fk_usbd_class_ops_t up, fk_usbd_ep_xfer / fk_usbd_ctrl_* down
 *   device core (this file): EP0, standard requests, descriptors, state
 *        |  fk_dcd_* (usb/dcd.h)
 *   controller driver (ports/rp2350/rp_usb.c, tests/unit/usb/fake_dcd.c)
 *
 * Execution model (see docs/usb.md). Everything runs in thread mode, on the
 * single thread that calls fk_usbd_task() in its main loop. The controller's
 * interrupt handler only records events; fk_usbd_task() takes them with
 * fk_dcd_poll() and dispatches them: EP0 to the core, endpoint completions
 * to the class driver that owns the endpoint, then each driver's idle hook.
 *
 * Long work inside a class callback (a card command that waits for the
 * user, an RSA key generation) keeps the bus alive by calling
 * fk_usbd_service() now and then. That nested call answers EP0 (the host
 * keeps enumerating, asking GET_STATUS, sending class requests such as the
 * CCID ABORT) and delivers IN completions, so the busy driver can send
 * packets (CCID time extensions); OUT completions on class endpoints are
 * kept (one per endpoint, which is all the controller can have in flight)
 * and delivered by the next top-level fk_usbd_task(), after the busy
 * callback has returned. Idle hooks never run nested.
 *
 * Descriptors are built once, at fk_usbd_init(), from an identity and the
 * class list: each class gets consecutive interface numbers and consecutive
 * endpoint numbers (usable in both directions) and writes its interface,
 * class-specific and endpoint descriptors. Functions of one interface each
 * need no interface association, so the device says bDeviceClass 0 and a
 * composite device is just a longer class list.
 *
 * There is one controller, hence one fk_usbd_t per program (usually
 * static). Nothing here allocates.
 */
#ifndef FUSEKEY_USBD_H
#define FUSEKEY_USBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcd.h"
#include "usb_std.h"

enum {
    FK_USBD_OK = 0,
    FK_USBD_EINVAL = -1, /* identity, class list or descriptors do not fit the limits below */
    FK_USBD_EDCD = -2,   /* the controller driver did not start (fk_dcd_init) */
};

/* Limits of one device. */
#define FK_USBD_CLASSES_MAX 4u     /* class drivers (functions) */
#define FK_USBD_CONFIG_DESC_MAX 256u /* the whole configuration descriptor */
#define FK_USBD_CTRL_BUF_LEN 256u  /* EP0 scratch: string descriptors, small replies */
/* Printable ASCII strings of the identity: at most this many characters
 * (a string descriptor holds 126 UTF-16 code units). */
#define FK_USBD_STRING_MAX 126u
#define FK_USBD_SERIAL_LEN 8u      /* chip serial bytes; the string is 16 hex digits */

/* String descriptor indexes the core gives out (0 = LANGID list). */
#define FK_USBD_STR_MANUFACTURER 1u
#define FK_USBD_STR_PRODUCT 2u
#define FK_USBD_STR_SERIAL 3u
/* The name of class k (when it has one): index FK_USBD_STR_CLASS0 + k. */
#define FK_USBD_STR_CLASS0 4u

/* Default bMaxPower when the identity gives 0: 100 mA (one unit load). */
#define FK_USBD_MAX_POWER_MA_DEFAULT 100u

/* Who the device says it is. The strings are NUL-terminated printable ASCII
 * (0x20..0x7E), at most FK_USBD_STRING_MAX characters; the core copies
 * nothing, so they must live as long as the device (string literals, or
 * the caller's static buffers). */
typedef struct fk_usbd_identity {
    uint16_t vid;
    uint16_t pid;
    uint16_t bcd_device;                  /* release number, BCD (e.g. 0x0100) */
    const char *manufacturer;             /* required */
    const char *product;                  /* required */
    uint8_t serial[FK_USBD_SERIAL_LEN];   /* the chip serial (fk_hal_serial) */
    uint16_t max_power_ma;                /* 2..500, 0 = FK_USBD_MAX_POWER_MA_DEFAULT */
} fk_usbd_identity_t;

/* USB 2.0 §9.1 device states (suspension is kept apart: fk_usbd_suspended). */
typedef enum fk_usbd_state {
    FK_USBD_DETACHED = 0, /* initialised, not connected (no pull-up) */
    FK_USBD_DEFAULT,      /* connected / after a bus reset: address 0 */
    FK_USBD_ADDRESSED,    /* SET_ADDRESS done */
    FK_USBD_CONFIGURED,   /* SET_CONFIGURATION 1 done: class endpoints open */
} fk_usbd_state_t;

/* Stage of a class control request (see fk_usbd_class_ops_t.control). */
typedef enum fk_usbd_stage {
    FK_USBD_STAGE_SETUP = 0, /* the SETUP packet arrived */
    FK_USBD_STAGE_DATA,      /* all wLength bytes of an OUT data stage arrived */
    FK_USBD_STAGE_DONE,      /* the status stage completed: the request is over */
} fk_usbd_stage_t;

typedef struct fk_usbd fk_usbd_t;

/* A class driver. The core calls these from fk_usbd_task() or, for
 * everything but `idle` and OUT completions, from a nested
 * fk_usbd_service(). `ctx` is the driver's own object (fk_usbd_class_t). */
typedef struct fk_usbd_class_ops {
    /* Interface numbers the driver takes (consecutive, >= 1). */
    uint8_t n_interfaces;
    /* Endpoint numbers the driver takes (consecutive, >= 0); each can be
     * used as IN, OUT or both. */
    uint8_t n_endpoints;

    /* **Required.** Once, from fk_usbd_init(): the device core, the
     * driver's first interface number and first endpoint number. */
    void (*attach)(void *ctx, fk_usbd_t *usbd, uint8_t first_itf, uint8_t first_ep);

    /* **Required.** Write the driver's descriptors (interface, class
     * descriptors, endpoints; only its own interface and endpoint numbers)
     * into buf. Returns the bytes written, or 0 when cap is too small. The
     * core calls it once, at init, and opens every endpoint it describes. */
    size_t (*describe)(void *ctx, uint8_t *buf, size_t cap);

    /* **Required.** The configuration is set: the driver's endpoints are
     * open (DATA0, nothing in flight). Arm OUT endpoints, queue what must
     * be sent (a slot-change notification). */
    void (*configured)(void *ctx);

    /* **Required.** The configuration is gone (bus reset, SET_CONFIGURATION
     * 0 or again): every endpoint is closed and nothing is in flight any
     * more; no event follows for a packet that was in flight. May arrive
     * while the driver is busy in a long callback (nested service). */
    void (*deconfigured)(void *ctx);

    /* **Optional** (NULL: every request is stalled). A class or vendor
     * request whose recipient is one of the driver's interfaces (wIndex low
     * byte) or endpoints, and a standard GET_DESCRIPTOR addressed to one of
     * its interfaces (class descriptors such as HID's report descriptor). At FK_USBD_STAGE_SETUP return true to accept it,
     * after calling fk_usbd_ctrl_in() (IN data stage) or fk_usbd_ctrl_out()
     * (OUT data stage) when wLength is not 0; false stalls it. At
     * FK_USBD_STAGE_DATA (the OUT data is in the buffer given) return true
     * to acknowledge, false to stall the status stage. FK_USBD_STAGE_DONE
     * is informative (return value ignored). */
    bool (*control)(void *ctx, const fk_usb_setup_t *req, fk_usbd_stage_t stage);

    /* **Required.** The packet started with fk_usbd_ep_xfer() on `ep` (an
     * endpoint address) is done: IN sent and acknowledged, or OUT received
     * with `len` bytes. */
    void (*xfer)(void *ctx, uint8_t ep, uint16_t len);

    /* **Optional** (NULL: nothing). The host set (halted = true) or
     * cleared ENDPOINT_HALT on one of the driver's endpoints. Setting it
     * cancelled the packet in flight there without an event; clearing it
     * reset the toggle to DATA0 and leaves the endpoint idle (re-arm an
     * OUT endpoint). */
    void (*halt)(void *ctx, uint8_t ep, bool halted);

    /* **Optional** (NULL: nothing). Called at the end of every top-level
     * fk_usbd_task(), never nested: do deferred work, start transfers. */
    void (*idle)(void *ctx);
} fk_usbd_class_ops_t;

/* One function of the device: a driver, its object, and optionally a name
 * (printable ASCII as the identity's strings, or NULL). The core gives the
 * name a string descriptor and puts its index in the iInterface of every
 * interface descriptor of the function that has none (hosts show it: pcscd
 * puts it in the reader's name). */
typedef struct fk_usbd_class {
    const fk_usbd_class_ops_t *ops;
    void *ctx;
    const char *name;
} fk_usbd_class_t;

/* The device core's state. Read it only through the functions below. */
struct fk_usbd {
    fk_usbd_identity_t id;
    fk_usbd_class_t classes[FK_USBD_CLASSES_MAX];
    uint8_t first_itf[FK_USBD_CLASSES_MAX];
    uint8_t first_ep[FK_USBD_CLASSES_MAX];
    size_t n_classes;
    uint8_t n_interfaces;
    uint8_t n_endpoints; /* endpoint numbers 1..n_endpoints are in use */

    uint8_t device_desc[FK_USB_DEVICE_DESC_LEN];
    uint8_t config_desc[FK_USBD_CONFIG_DESC_MAX];
    size_t config_len;

    fk_usbd_state_t state;
    bool suspended;
    uint8_t config;          /* 0 or 1 */
    uint8_t pending_address; /* applied when the SET_ADDRESS status stage is done */
    bool address_pending;

    /* EP0: the control transfer under way. */
    struct {
        int phase;            /* internal: idle, data in, data out, status in/out, stalled */
        fk_usb_setup_t req;
        size_t owner;         /* class index of a class request, or FK_USBD_CLASSES_MAX */
        const uint8_t *in;    /* IN data stage: data and what is left of it */
        size_t in_len, in_off;
        bool in_zlp;          /* a zero-length packet ends the data stage */
        uint8_t *out;         /* OUT data stage: buffer, length expected, received */
        size_t out_len, out_off;
        uint8_t buf[FK_USBD_CTRL_BUF_LEN];
    } ep0;

    /* OUT completions kept while nested (index = endpoint number). */
    uint16_t deferred_mask;
    uint16_t deferred_len[FK_DCD_EP_NUM_MAX + 1u];
    int depth; /* nesting of fk_usbd_task / fk_usbd_service */
};

/* Build the descriptors from id and the n classes (copied; at most
 * FK_USBD_CLASSES_MAX; their objects must live as long as usbd), attach
 * the classes, and start the controller (fk_dcd_init), disconnected.
 * FK_USBD_OK, FK_USBD_EINVAL (a string or class name too long or not printable ASCII, too
 * many classes, interfaces or endpoints, descriptors over
 * FK_USBD_CONFIG_DESC_MAX, a class describing an endpoint it does not own)
 * or FK_USBD_EDCD. */
int fk_usbd_init(fk_usbd_t *usbd, const fk_usbd_identity_t *id, const fk_usbd_class_t *classes,
                 size_t n);

/* Connect to (pull-up on) or disconnect from the bus. Disconnecting
 * deconfigures the classes. */
void fk_usbd_connect(fk_usbd_t *usbd, bool on);

/* The main loop's call: take and dispatch every pending controller event
 * (and the OUT completions kept by nested calls), then run the classes'
 * idle hooks. Must not be called from inside a class callback (asserted). */
void fk_usbd_task(fk_usbd_t *usbd);

/* The nested call for long work inside a class callback: take and dispatch
 * the pending controller events, answering EP0 and delivering IN
 * completions, bus resets and configuration changes at once, and keeping
 * OUT completions of class endpoints for the next fk_usbd_task(). Safe at
 * any depth; never runs idle hooks. */
void fk_usbd_service(fk_usbd_t *usbd);

/* Start one packet on endpoint `ep` (an address the class owns): IN sends
 * len bytes from buf (copied at once; 0 = a zero-length packet), OUT
 * accepts up to len (= max packet size) into buf, which must stay valid
 * until the class's xfer callback. The fk_dcd_ep_start() result: FK_DCD_OK,
 * FK_DCD_EBUSY, FK_DCD_ESTATE (stalled), FK_DCD_EINVAL; FK_DCD_ESTATE also
 * when the device is not configured. */
int fk_usbd_ep_xfer(fk_usbd_t *usbd, uint8_t ep, void *buf, uint16_t len);

/* Inside a nested fk_usbd_service: take the OUT completion kept for
 * endpoint `ep` (an OUT address the class owns), so a class busy in a long
 * callback can read what its host sent meanwhile (a CTAPHID CANCEL). True
 * with *len when one was kept (the packet is in the buffer given to
 * fk_usbd_ep_xfer; the endpoint is idle until armed again); false when
 * none was, or the device is no longer configured. */
bool fk_usbd_ep_take_out(fk_usbd_t *usbd, uint8_t ep, uint16_t *len);

/* Stall a class endpoint (the class's own protocol error); the host clears
 * it with CLEAR_FEATURE(ENDPOINT_HALT), reported through ops->halt. */
void fk_usbd_ep_stall(fk_usbd_t *usbd, uint8_t ep);

/* In a class control request at FK_USBD_STAGE_SETUP: answer with an IN data
 * stage of len bytes (cut to wLength; a zero-length packet ends it when
 * shorter than wLength and a multiple of 64). data must stay valid until
 * the request is over: const data, the class's object, or
 * fk_usbd_ctrl_buf(). */
void fk_usbd_ctrl_in(fk_usbd_t *usbd, const void *data, size_t len);

/* In a class control request at FK_USBD_STAGE_SETUP: receive the OUT data
 * stage (exactly wLength bytes, <= cap of buf) into buf, then get
 * FK_USBD_STAGE_DATA. */
void fk_usbd_ctrl_out(fk_usbd_t *usbd, void *buf, size_t len);

/* The EP0 scratch buffer (FK_USBD_CTRL_BUF_LEN bytes) for a reply built in
 * a class control request. */
uint8_t *fk_usbd_ctrl_buf(fk_usbd_t *usbd);

/* Device state, suspension, and the configuration value (0 or 1). */
fk_usbd_state_t fk_usbd_state(const fk_usbd_t *usbd);
bool fk_usbd_suspended(const fk_usbd_t *usbd);
bool fk_usbd_configured(const fk_usbd_t *usbd);

/* The descriptors as built (for tests and diagnostics). */
const uint8_t *fk_usbd_device_descriptor(const fk_usbd_t *usbd, size_t *len);
const uint8_t *fk_usbd_config_descriptor(const fk_usbd_t *usbd, size_t *len);

#endif /* FUSEKEY_USBD_H */
