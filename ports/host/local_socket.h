/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local_socket.h - the listening Unix sockets of fusekey-sim (the CTAPHID
 * endpoint and the control socket, docs/host-sim.md).
 */
#ifndef FUSEKEY_LOCAL_SOCKET_H
#define FUSEKEY_LOCAL_SOCKET_H

/* Listen on a Unix socket of the given type (SOCK_SEQPACKET, SOCK_STREAM)
 * at path, mode 0600. A socket file left behind by a program that is gone
 * is replaced; a path where a program still listens, or that is not a
 * socket, is refused, as is a path longer than a socket address holds.
 * Returns the listening descriptor (non-blocking, close-on-exec), or -1
 * with a message on stderr naming what the socket is for. */
int fk_local_listen(const char *path, int type, const char *what);

#endif /* FUSEKEY_LOCAL_SOCKET_H */
