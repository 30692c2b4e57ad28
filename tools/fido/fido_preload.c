/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fido_preload.c - libfusekey_fido_preload.so: makes unmodified programs
 * built on libfido2 (fido2-token, fido2-cred, fido2-assert, OpenSSH's
 * ssh-sk-helper) see fusekey-sim's FIDO key on its CTAPHID socket
 * (docs/host-sim.md, "libfido2 programs").
 *
 *   LD_PRELOAD=/path/to/libfusekey_fido_preload.so fido2-token -L
 *
 * libfido2 lets a program bring its own transport (fido_dev_io_t), but the
 * tools never ask for one, so two public functions are interposed:
 * - fido_dev_info_manifest lists what libfido2 finds, then the simulator
 *   as "sim:<socket>" when its socket exists;
 * - fido_dev_open gives a device whose path starts with "sim:" the socket
 *   transport below before libfido2 opens it, and fido_dev_new_with_info
 *   does the same for a device made from the list entry (libfido2 would
 *   otherwise take the entry's transport for a hidraw one).
 * CTAPHID framing, keepalives and CBOR stay libfido2's own code: the
 * transport only moves 64-byte reports (libfido2 writes a report-id byte
 * first, which a socket datagram does not carry).
 *
 * The socket is $FUSEKEY_CTAPHID, else the simulator's default
 * ($XDG_DATA_HOME/fusekey/ctaphid.sock, ~/.local/share/fusekey/...). Links
 * nothing but libc and libdl: libfido2's own functions are looked up at
 * run time, so preloading it into a program without libfido2 (ssh-keygen,
 * whose helper inherits the environment) is harmless.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fido.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PRELOAD_EXPORT __attribute__((visibility("default")))

#define SIM_PREFIX "sim:"
#define REPORT_LEN 64u
#define ENV_SOCKET "FUSEKEY_CTAPHID"
#define SOCKET_SUFFIX "/fusekey/ctaphid.sock"
#define MANUFACTURER "fusekey"
#define PRODUCT "fusekey-sim"

typedef int manifest_fn(fido_dev_info_t *, size_t, size_t *);
typedef int dev_open_fn(fido_dev_t *, const char *);
typedef int info_set_fn(fido_dev_info_t *, size_t, const char *, const char *, const char *,
                        const fido_dev_io_t *, const fido_dev_transport_t *);
typedef int set_io_fn(fido_dev_t *, const fido_dev_io_t *);
typedef fido_dev_t *new_with_info_fn(const fido_dev_info_t *);
typedef const char *info_path_fn(const fido_dev_info_t *);

/* ---- The socket path ---------------------------------------------------- */

/* The simulator's socket path into out (cap bytes): 1, or 0 when no path
 * can be formed. */
static int socket_path(char *out, size_t cap)
{
    const char *env = getenv(ENV_SOCKET);
    int n;
    if (env != NULL && env[0] != '\0') {
        n = snprintf(out, cap, "%s", env);
    } else {
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (xdg != NULL && xdg[0] == '/') /* relative values are invalid per XDG */
            n = snprintf(out, cap, "%s%s", xdg, SOCKET_SUFFIX);
        else if (home != NULL && home[0] != '\0')
            n = snprintf(out, cap, "%s/.local/share%s", home, SOCKET_SUFFIX);
        else
            return 0;
    }
    return n > 0 && (size_t)n < cap;
}

/* ---- The transport: one socket connection per open device --------------- */

typedef struct sim_handle {
    int fd;
} sim_handle_t;

static void *sim_open(const char *path)
{
    if (strncmp(path, SIM_PREFIX, strlen(SIM_PREFIX)) == 0) path += strlen(SIM_PREFIX);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr.sun_path) return NULL;
    memcpy(addr.sun_path, path, strlen(path));
    sim_handle_t *h = malloc(sizeof *h);
    if (h == NULL) return NULL;
    h->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || connect(h->fd, (const struct sockaddr *)&addr, sizeof addr) != 0) {
        if (h->fd >= 0) close(h->fd);
        free(h);
        return NULL;
    }
    return h;
}

static void sim_close(void *handle)
{
    sim_handle_t *h = handle;
    if (h == NULL) return;
    close(h->fd);
    free(h);
}

/* One report within ms milliseconds (-1: no limit); -1 on timeout, error
 * or anything that is not exactly one report. */
static int sim_read(void *handle, unsigned char *buf, size_t len, int ms)
{
    const sim_handle_t *h = handle;
    if (len < REPORT_LEN) return -1;
    struct pollfd pfd = {.fd = h->fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&pfd, 1, ms);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0) return -1;
    unsigned char report[REPORT_LEN + 1u];
    const ssize_t n = recv(h->fd, report, sizeof report, 0);
    if (n != (ssize_t)REPORT_LEN) return -1;
    memcpy(buf, report, REPORT_LEN);
    explicit_bzero(report, sizeof report);
    return (int)REPORT_LEN;
}

/* libfido2 writes the report id (0) and the 64-byte report; the datagram
 * is the report alone. Returns the length it was given. */
static int sim_write(void *handle, const unsigned char *buf, size_t len)
{
    const sim_handle_t *h = handle;
    if (len != REPORT_LEN + 1u || len > INT_MAX) return -1;
    const ssize_t n = send(h->fd, buf + 1, REPORT_LEN, MSG_NOSIGNAL);
    return n == (ssize_t)REPORT_LEN ? (int)len : -1;
}

static const fido_dev_io_t sim_io = {
    .open = sim_open,
    .close = sim_close,
    .read = sim_read,
    .write = sim_write,
};

/* ---- The interposed functions --------------------------------------------- */

PRELOAD_EXPORT int fido_dev_info_manifest(fido_dev_info_t *devlist, size_t ilen, size_t *olen)
{
    manifest_fn *real = (manifest_fn *)dlsym(RTLD_NEXT, "fido_dev_info_manifest");
    info_set_fn *info_set = (info_set_fn *)dlsym(RTLD_DEFAULT, "fido_dev_info_set");
    if (real == NULL || info_set == NULL) return FIDO_ERR_INTERNAL;
    int rc = real(devlist, ilen, olen);
    if (rc != FIDO_OK) *olen = 0; /* a failing backend does not hide the simulator */
    char path[PATH_MAX], name[PATH_MAX + sizeof SIM_PREFIX];
    struct stat st;
    if (*olen < ilen && socket_path(path, sizeof path) && stat(path, &st) == 0 &&
        S_ISSOCK(st.st_mode)) {
        (void)snprintf(name, sizeof name, SIM_PREFIX "%s", path);
        if (info_set(devlist, *olen, name, MANUFACTURER, PRODUCT, &sim_io, NULL) == FIDO_OK) {
            (*olen)++;
            rc = FIDO_OK;
        }
    }
    return rc;
}

static int is_sim(const char *path)
{
    return path != NULL && strncmp(path, SIM_PREFIX, strlen(SIM_PREFIX)) == 0;
}

/* Give dev the socket transport (libfido2 then uses 64-byte reports). */
static int use_sim_io(fido_dev_t *dev)
{
    set_io_fn *set_io = (set_io_fn *)dlsym(RTLD_DEFAULT, "fido_dev_set_io_functions");
    return set_io != NULL ? set_io(dev, &sim_io) : FIDO_ERR_INTERNAL;
}

PRELOAD_EXPORT int fido_dev_open(fido_dev_t *dev, const char *path)
{
    dev_open_fn *real = (dev_open_fn *)dlsym(RTLD_NEXT, "fido_dev_open");
    if (real == NULL) return FIDO_ERR_INTERNAL;
    if (is_sim(path)) {
        const int rc = use_sim_io(dev);
        if (rc != FIDO_OK) return rc;
    }
    return real(dev, path);
}

PRELOAD_EXPORT fido_dev_t *fido_dev_new_with_info(const fido_dev_info_t *di)
{
    new_with_info_fn *real = (new_with_info_fn *)dlsym(RTLD_NEXT, "fido_dev_new_with_info");
    info_path_fn *info_path = (info_path_fn *)dlsym(RTLD_DEFAULT, "fido_dev_info_path");
    if (real == NULL || info_path == NULL) return NULL;
    fido_dev_t *dev = real(di);
    if (dev != NULL && is_sim(info_path(di)) && use_sim_io(dev) != FIDO_OK) {
        void (*dev_free)(fido_dev_t **) =
            (void (*)(fido_dev_t **))dlsym(RTLD_DEFAULT, "fido_dev_free");
        if (dev_free != NULL) dev_free(&dev);
        dev = NULL;
    }
    return dev;
}
