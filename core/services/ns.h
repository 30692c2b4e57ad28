/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ns.h - the store namespaces of the device (docs/store-map.md): one for the
 * services' own records, one per applet. An applet declares its namespace in
 * its descriptor (fk_applet_t.ns) and reaches only that one, in both store
 * partitions. A number, once given, is never reused for something else.
 */
#ifndef FUSEKEY_NS_H
#define FUSEKEY_NS_H

#define FK_NS_SERVICES 0x00u /* the services: the device seed */
#define FK_NS_RESCUE 0x01u   /* the rescue applet */
#define FK_NS_HSM 0x02u      /* the SmartCard-HSM applet */
/* Reserved for the applets to come. */
#define FK_NS_FIDO 0x03u
#define FK_NS_OPENPGP 0x04u
#define FK_NS_PIV 0x05u
#define FK_NS_OATH 0x06u
#define FK_NS_OTP 0x07u
#define FK_NS_MGMT 0x08u

/* Records of the services' namespace. */
#define FK_ID_DEVICE_SEED 0x0001u      /* sealing's device-root seed (main partition) */
#define FK_ID_DEVICE_SEED_COPY 0x0002u /* its second copy, so one damaged record costs nothing */

#endif /* FUSEKEY_NS_H */
