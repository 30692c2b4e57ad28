/* SPDX-License-Identifier: Apache-2.0 */
/* version.h - the firmware version, reported by the rescue applet. */
#ifndef FUSEKEY_VERSION_H
#define FUSEKEY_VERSION_H

#define FK_VERSION_MAJOR 0
#define FK_VERSION_MINOR 1
#define FK_VERSION_STRING "0.1"

#endif /* FUSEKEY_VERSION_H */
