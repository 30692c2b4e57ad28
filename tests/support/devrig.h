/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devrig.h - the device rig of the unit tests: a scratch directory with a
 * flash and an OTP image, the real device (the services object of the
 * fusekey product and one card over it) over the host port's OTP and the
 * test's flash, and APDU exchange with exact-size command buffers.
 *
 * The rig makes no flash call of its own: it opens and closes the flash
 * through the two functions the test gives it (fk_host_flash_open and
 * fk_host_flash_close, or a simulator's), so a test may wrap the flash HAL
 * (--wrap) or serve it from tests/support/sim_flash.c.
 *
 * Failures of the host (a file that does not open) are cmocka assertions;
 * the device's own answers are returned for the test to assert.
 */
#ifndef FUSEKEY_DEVRIG_H
#define FUSEKEY_DEVRIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card/card.h"
#include "crypto/pk.h"
#include "fusekey_product.h"
#include "services/services.h"

#define FK_DEVRIG_DIR_CAP 64u
#define FK_DEVRIG_PATH_CAP 256u

/* Le values that encode as zero bytes: short 00, extended 0000. */
#define FK_DEVRIG_NE_SHORT_MAX 256u
#define FK_DEVRIG_NE_EXT_MAX 65536u
/* The longest command APDU: header, extended Lc, data, extended Le. */
#define FK_DEVRIG_APDU_MAX (4u + 3u + 65535u + 2u)

/* The device under test: the services object, one card over it and the
 * card's applet-state area (about 160 KiB: keep it static). */
typedef struct fk_testdev {
    fk_services_t svc;
    fk_card_t card;
    fk_product_card_state_t state;
} fk_testdev_t;

/* Start dev on the HAL's flash and OTP as they are open now: the services
 * (fk_services_init with the fusekey product, whose result is returned) and,
 * when that worked, the card (asserted), powered off. */
int fk_devrig_init(fk_testdev_t *dev);

/* The volatile state `applet` has in dev's card (read it, never write it:
 * tests change state only through APDUs). */
const void *fk_devrig_applet_state(fk_testdev_t *dev, const fk_applet_t *applet);

/* Open the HSM's key object CC<id> with the master key of the HSM session
 * in dev's card (the user PIN verified there) and copy its key blob into
 * blob (cap bytes), *len its length. Returns the key-object service's result
 * (FK_KEY_OK, ...). */
int fk_devrig_hsm_key(fk_testdev_t *dev, uint8_t id, uint8_t *blob, size_t cap, size_t *len);

/* One test device. The test fills the first five fields (e.g. with a static
 * initializer); the rig owns the paths. */
typedef struct fk_devrig {
    fk_testdev_t *dev;                                  /* the device under test */
    const uint8_t *serial;                              /* 8 bytes: the chip serial */
    int (*flash_open)(const char *path, uint32_t size); /* 0 on success */
    void (*flash_close)(void);
    uint32_t flash_size;                                /* given to flash_open */
    char dir[FK_DEVRIG_DIR_CAP];                        /* the scratch directory */
    char flash[FK_DEVRIG_PATH_CAP];                     /* <dir>/flash.bin */
    char otp[FK_DEVRIG_PATH_CAP];                       /* <dir>/otp.bin */
} fk_devrig_t;

/* Create /tmp/fk-<tag>-XXXXXX and name flash.bin and otp.bin in it (the
 * files are created when first opened). Returns 0 or -1. */
int fk_devrig_dir_create(fk_devrig_t *rig, const char *tag);

/* Remove the scratch directory and all it holds. Returns 0 or -1. */
int fk_devrig_dir_remove(const fk_devrig_t *rig);

/* Open rig->flash and rig->otp (the serial is set first, so a new OTP
 * image's CHIPID is the serial), confirm user presence at once, and start
 * the device (fk_devrig_init, whose result is returned); the card stays
 * powered off. */
int fk_devrig_boot(fk_devrig_t *rig);

/* fk_devrig_boot, which must succeed, then power the card on. */
void fk_devrig_start(fk_devrig_t *rig);

/* Power the card off and close the flash and the OTP image. */
void fk_devrig_stop(fk_devrig_t *rig);

/* cmocka setup and teardown bodies: a new scratch directory and a started
 * device; the device stopped and the directory removed. 0 or -1. */
int fk_devrig_setup(fk_devrig_t *rig, const char *tag);
int fk_devrig_teardown(fk_devrig_t *rig);

/* Send len bytes of apdu, copied into a heap buffer of exactly len bytes
 * (so ASan reports any overread), to dev. The response (SW included) goes
 * to out (cap bytes), its length to *out_len; it must hold at least the
 * SW. Returns the SW. */
uint16_t fk_devrig_xfer(fk_testdev_t *dev, const uint8_t *apdu, size_t len, uint8_t *out,
                        size_t cap, size_t *out_len);

/* A command APDU: CLA INS P1 P2, nc bytes of data, ne bytes expected (0: no
 * Le). Lengths are short unless ext is set or nc > 255 or ne > 256. */
typedef struct fk_devrig_cmd {
    uint8_t cla, ins, p1, p2;
    const void *data;
    size_t nc;
    size_t ne;
    bool ext;
} fk_devrig_cmd_t;

/* Encode cmd into buf (cap bytes), ISO/IEC 7816-4 cases 1 to 4. Returns the
 * length, or 0 when nc > 65535, ne > 65536 or buf is too small. */
size_t fk_devrig_apdu(uint8_t *buf, size_t cap, const fk_devrig_cmd_t *cmd);

/* Encode cmd (it must be encodable) and send it as fk_devrig_xfer does. */
uint16_t fk_devrig_send(fk_testdev_t *dev, const fk_devrig_cmd_t *cmd, uint8_t *out, size_t cap,
                        size_t *out_len);

/* GENERATE ASYMMETRIC KEY PAIR (46) data as OpenSC sends it: 5F29 00,
 * 42 "UTCA00001", 7F49 {06 OID, the key's parameters}, 5F20 chr (11
 * characters), then extra_len bytes of extra TLVs (may be 0). RSA: exponent
 * 65537 and `bits`; EC: the curve's full domain parameters and 87 01. The
 * template must fit cap bytes (asserted). Returns its length. */
size_t fk_devrig_rsa_template(uint8_t *t, size_t cap, unsigned bits, const char *chr,
                              const uint8_t *extra, size_t extra_len);
size_t fk_devrig_ec_template(uint8_t *t, size_t cap, fk_curve_t curve, const char *chr,
                             const uint8_t *extra, size_t extra_len);

/* Copy a file (snapshots of images); asserts that it worked. */
void fk_devrig_copy_file(const char *from, const char *to);

/* Stop the device, copy its flash image to path (snapshot) or path back
 * over its flash image (restore), and start it again. */
void fk_devrig_snapshot(fk_devrig_t *rig, const char *path);
void fk_devrig_restore(fk_devrig_t *rig, const char *path);

/* Flip the bits `mask` of the byte at `offset` of a file (a closed flash
 * image: damage for the store to find). */
void fk_devrig_file_xor(const char *path, long offset, uint8_t mask);

/* Read up to cap bytes of a file (it must open) into buf; returns how many. */
size_t fk_devrig_load_file(const char *path, uint8_t *buf, size_t cap);

#endif /* FUSEKEY_DEVRIG_H */
