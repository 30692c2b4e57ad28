/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fileio.c - whole-transfer POSIX loops shared by the host programs.
 */
#include "fileio.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#include "util.h"

int fk_file_read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    size_t done = 0;
    while (done < len) {
        const ssize_t n = pread(fd, p + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

int fk_file_write_at(int fd, const void *buf, size_t len, off_t off)
{
    const uint8_t *p = (const uint8_t *)buf;
    size_t done = 0;
    while (done < len) {
        const ssize_t n = pwrite(fd, p + done, len - done, off + (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int fk_file_random(void *buf, size_t len)
{
    uint8_t *p = (uint8_t *)buf;
    size_t done = 0;
    while (done < len) {
        const ssize_t n = getrandom(p + done, len - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fk_wipe(buf, len);
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}
