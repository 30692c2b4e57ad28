/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rescue_board.c - the board configuration record (docs/rescue.md, "Board
 * configuration") as the firmware reads it at start: the USB identity it
 * overrides (VID/PID, product string). The record is written only by
 * 80 1C 01 after its checks; it is checked again here, since flash is
 * outside the firmware's control between writes.
 */
#include <string.h>

#include "rescue.h"
#include "rescue_internal.h"
#include "services/ns.h"
#include "services/services.h"
#include "store/space.h"
#include "store/store.h"
#include "util.h"

#define VIDPID_LEN 4u

bool fk_rescue_usb_override(struct fk_services *svc, fk_rescue_usb_override_t *out)
{
    memset(out, 0, sizeof *out);
    const fk_space_t sp = {&svc->store, FK_NS_RESCUE};
    uint8_t rec[RESCUE_PHY_RECORD_MAX];
    uint32_t size;
    if (fk_space_size(&sp, FK_ID_PHY_CONFIG, &size) != FK_STORE_OK) return false;
    if (size > sizeof rec) return false;
    if (fk_space_read(&sp, FK_ID_PHY_CONFIG, 0, rec, size) != FK_STORE_OK) return false;
    if (!rescue_phy_valid(rec, size)) return false;

    for (size_t i = 0; i < size; i += 2u + rec[i + 1]) {
        const uint8_t tag = rec[i], len = rec[i + 1];
        const uint8_t *v = rec + i + 2;
        if (tag == RESCUE_PHY_VIDPID) {
            FK_ASSERT(len == VIDPID_LEN); /* rescue_phy_valid checked it */
            out->has_vidpid = true;
            out->vid = fk_be16(v);
            out->pid = fk_be16(v + 2);
        } else if (tag == RESCUE_PHY_USB_PRODUCT) {
            FK_ASSERT(len >= 2 && len <= sizeof out->product && v[len - 1] == 0);
            out->has_product = true;
            memcpy(out->product, v, len);
        }
    }
    return true;
}
