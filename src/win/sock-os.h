/*
 * win/sock-os.h: the Windows socket calls the stream engine makes for every
 * message (src/stream.h names them; meson puts this directory on the
 * engine's include path). POSIX inlines its own (src/unix/sock-os.h); here
 * they are plain calls into sock.c, as each goes into Winsock, whose own
 * cost dwarfs a call. It brings the system's socket and address types to
 * the engine too.
 */
#ifndef AX_WIN_SOCK_OS_H
#define AX_WIN_SOCK_OS_H

#include <stdbool.h>
#include <stdint.h>

#include <winsock2.h>
#include <ws2tcpip.h>

#include "axle.h"

bool ax__sock_is_open(const ax__sock_t *sock);
ax_os_sock_t ax__sock_os(const ax__sock_t *sock);
intptr_t ax__sock_read(ax__sock_t *sock, const ax_buf_t *buf);
intptr_t ax__sock_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                           unsigned int nbufs);

#endif /* AX_WIN_SOCK_OS_H */
