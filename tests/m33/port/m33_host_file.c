/* SPDX-License-Identifier: Apache-2.0 */
/*
 * m33_host_file.c - host_internal.h's image files for the test programs on
 * the board, so that ports/host/host_flash.c runs there unchanged: the file
 * is opened through semihosting (it is the host's file), created full of
 * the fill byte when missing, and must hold exactly the size asked for.
 * No lock (one test program owns its files) and no fsync (semihosting has
 * none; the host's file system keeps what was written).
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "host_internal.h"
#include "m33_libc.h"

#define FILL_CHUNK 4096u

int fk_host_file_open(const char *path, const char *what, size_t size, uint8_t fill)
{
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        static uint8_t chunk[FILL_CHUNK];
        memset(chunk, fill, sizeof chunk);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0) {
            fk_host_log("cannot create %s image %s", what, path);
            return -1;
        }
        for (size_t done = 0; done < size; done += FILL_CHUNK) {
            const size_t n = size - done < FILL_CHUNK ? size - done : FILL_CHUNK;
            if (fk_file_write_at(fd, chunk, n, (off_t)done) != 0) {
                fk_host_log("cannot write %s image %s", what, path);
                close(fd);
                return -1;
            }
        }
    }
    const off_t end = lseek(fd, 0, SEEK_END);
    if (end != (off_t)size) {
        fk_host_log("%s image %s has %ld bytes, expected %lu", what, path, (long)end,
                    (unsigned long)size);
        close(fd);
        return -1;
    }
    return fd;
}

/* Semihosting writes straight to the host's file: nothing to flush. */
int fsync(int fd)
{
    (void)fd;
    return 0;
}
