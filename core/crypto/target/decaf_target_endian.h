/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decaf_target_endian.h - the byte-order helpers libdecaf's
 * portable_endian.h finds only on hosted systems, for the little-endian
 * Cortex-M33. cmake/target_decaf.cmake includes this file first in every
 * libdecaf object; it claims portable_endian.h's include guard so that the
 * hosted variant is never read.
 */
#ifndef FUSEKEY_DECAF_TARGET_ENDIAN_H
#define FUSEKEY_DECAF_TARGET_ENDIAN_H

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the target build assumes a little-endian CPU"
#endif

#define __PORTABLE_ENDIAN_H__
#define htole64(x) (x)
#define le64toh(x) (x)

#endif /* FUSEKEY_DECAF_TARGET_ENDIAN_H */
