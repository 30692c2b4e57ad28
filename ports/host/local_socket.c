/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_socket.c - listening Unix sockets with stale-file replacement
 * (local_socket.h).
 */
#include "local_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host_internal.h"

#define LISTEN_BACKLOG 8
#define PRIVATE_UMASK 0077

/* Is someone listening at addr? A refused connection means the file is
 * what a program that died left; any other outcome counts as in use (a
 * socket of another type answers EPROTOTYPE, for instance). */
static int probe(const struct sockaddr_un *addr, int type)
{
    const int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const int rc = connect(fd, (const struct sockaddr *)addr, sizeof *addr);
    const int err = errno;
    close(fd);
    if (rc == 0) return 1;
    return err == ECONNREFUSED ? 0 : 1;
}

int fk_local_listen(const char *path, int type, const char *what)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) {
        fk_host_log("%s socket path too long (at most %zu bytes): %s", what,
                    sizeof addr.sun_path - 1u, path);
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path));

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fk_host_log("%s socket: %s exists and is not a socket", what, path);
            return -1;
        }
        if (probe(&addr, type) != 0) {
            fk_host_log("%s socket: another program listens on %s", what, path);
            return -1;
        }
        if (unlink(path) != 0 && errno != ENOENT) {
            fk_host_log("%s socket: cannot remove the stale %s: %s", what, path, strerror(errno));
            return -1;
        }
    }

    const int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fk_host_log("%s socket: %s", what, strerror(errno));
        return -1;
    }
    /* Only the user may connect: the sockets drive a security device. The
     * umask is process-wide, so this runs before any thread starts. */
    const mode_t saved = umask(PRIVATE_UMASK);
    const int rc = bind(fd, (const struct sockaddr *)&addr, sizeof addr);
    const int err = errno;
    umask(saved);
    if (rc != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
        fk_host_log("%s socket: cannot listen on %s: %s", what, path,
                    strerror(rc != 0 ? err : errno));
        close(fd);
        return -1;
    }
    return fd;
}
