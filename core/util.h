/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util.h - small helpers every layer uses: byte order, wiping secrets,
 * constant-time comparison, and the two error-policy macros.
 *
 * Error policy (as in the house style): conditions caused by the host or
 * other external input are *verified* and become a status word or an error
 * code; broken internal invariants are *asserted* and stop the device.
 */
#ifndef FUSEKEY_UTIL_H
#define FUSEKEY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Implemented by the port (see hal.h): stop on a broken invariant. */
void fk_hal_panic(const char *file, int line) __attribute__((noreturn));

#define FK_ASSERT(cond)                                 \
    do {                                                \
        if (!(cond)) fk_hal_panic(__FILE__, __LINE__);  \
    } while (0)

static inline uint16_t fk_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t fk_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void fk_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void fk_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint16_t fk_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void fk_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline uint32_t fk_le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline void fk_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Overwrite len bytes with zeros in a way the compiler may not elide. */
void fk_wipe(void *p, size_t len);

/* True when a and b are equal; time depends only on len, not on content. */
bool fk_ct_equal(const void *a, const void *b, size_t len);

/* CRC-32 (IEEE 802.3, reflected, init and xorout 0xFFFFFFFF), chainable:
 * pass 0 to start, the previous result to continue. */
uint32_t fk_crc32(uint32_t crc, const void *data, size_t len);

#endif /* FUSEKEY_UTIL_H */
