/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host_file.c - creation, locking and write-through of the host port's
 * image files.
 */
#include "fileio.h"
#include "host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILL_CHUNK 65536u
#define IMAGE_MODE 0600
#define TEMP_SUFFIX ".new-XXXXXX"

/* Write size bytes of fill to fd from offset 0. */
static int fill_file(int fd, size_t size, uint8_t fill)
{
    static uint8_t chunk[FILL_CHUNK];
    memset(chunk, fill, sizeof chunk);
    for (size_t done = 0; done < size;) {
        const size_t n = size - done < sizeof chunk ? size - done : sizeof chunk;
        if (fk_file_write_at(fd, chunk, n, (off_t)done) != 0) return -1;
        done += n;
    }
    return 0;
}

/* Create path as a complete image without ever exposing a partial one:
 * build a temporary file next to it, then link it in place (link, unlike
 * rename, never replaces a file another process created meanwhile). */
static int create_image(const char *path, const char *what, size_t size, uint8_t fill)
{
    char tmp[4096];
    const int n = snprintf(tmp, sizeof tmp, "%s%s", path, TEMP_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        fk_host_log("%s image path too long: %s", what, path);
        return -1;
    }
    const int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        fk_host_log("cannot create %s image %s: %s", what, path, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (fchmod(fd, IMAGE_MODE) != 0 || fill_file(fd, size, fill) != 0 || fsync(fd) != 0) {
        fk_host_log("cannot write %s image %s: %s", what, tmp, strerror(errno));
        rc = -1;
    }
    close(fd);
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST) {
        fk_host_log("cannot create %s image %s: %s", what, path, strerror(errno));
        rc = -1;
    }
    unlink(tmp);
    return rc;
}

int fk_host_file_open(const char *path, const char *what, size_t size, uint8_t fill)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (create_image(path, what, size, fill) != 0) return -1;
        fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (fd < 0) {
        fk_host_log("cannot open %s image %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fk_host_log("%s image %s is in use by another process", what, path);
        close(fd);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fk_host_log("%s image %s is not a regular file", what, path);
        close(fd);
        return -1;
    }
    if ((uintmax_t)st.st_size != (uintmax_t)size) {
        fk_host_log("%s image %s has %jd bytes, expected %zu: refused", what, path,
                (intmax_t)st.st_size, size);
        close(fd);
        return -1;
    }
    return fd;
}
