/*
 * win/sock.c: the per-system half of the stream engine on Windows
 * (src/stream.h): a stream's socket is a SOCKET on the loop's completion
 * port (iocp-sock.c attaches it), made non-blocking so that it can also be
 * read and written without an OVERLAPPED: the engine reads that way after
 * the zero-byte receive said there is something, and ax_try_write()
 * writes that way.
 *
 * Listening needs nothing per loop here: Windows has no per-process
 * descriptor limit for a reserve descriptor to work around (iocp-sock.c
 * says what running out of sockets does instead).
 */
#include <limits.h>
#include <string.h>

#include "iocp-pipe.h"

int ax__win_sock_error(void) {
  return ax_translate_sys_error(WSAGetLastError());
}

/* Not inheritable: a child process would otherwise keep connections
 * open. Made through the table that tests replace (winsock.c). */
SOCKET ax__win_socket(int family, int *err) {
  SOCKET socket = ax__win_sock.wsa_socket(
      family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  *err = socket == INVALID_SOCKET ? ax__win_sock_error() : 0;
  return socket;
}

/* A pipe whose connect waits for an instance has no handle yet, but is
 * open to the engine: its close must wait for that wait (iocp-pipe.c). */
bool ax__sock_is_open(const ax__sock_t *sock) {
  return ax__win_sock_handle(sock) != INVALID_SOCKET ||
         (sock->flags & AX__WIN_SOCK_PIPE_WAIT) != 0;
}

ax_os_sock_t ax__sock_os(const ax__sock_t *sock) {
  return sock->socket;
}

intptr_t ax__sock_read(ax__sock_t *sock, const ax_buf_t *buf) {
  WSABUF wsabuf = {.len = buf->len, .buf = buf->base};
  DWORD bytes = 0;
  DWORD flags = 0;
  if (WSARecv(ax__win_sock_handle(sock), &wsabuf, 1, &bytes, &flags, NULL,
              NULL) != 0)
    return ax__win_sock_error(); /* WSAEWOULDBLOCK is AX_EAGAIN. */
  if (bytes == 0)
    return AX_EOF;
  return (intptr_t)bytes;
}

/* The count ax_try_write() returns is an int: what is offered beyond
 * INT_MAX bytes is left for a later call, cut from a copy of the vector. */
intptr_t ax__sock_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                           unsigned int nbufs) {
  if (sock->flags & AX__WIN_SOCK_PIPE)
    return ax__win_pipe_try_send(sock, bufs, nbufs);
  if (sock->flags & AX__WIN_SOCK_CONSOLE)
    return ax__win_tty_try_send(sock, bufs, nbufs);
  ax_buf_t cut[AX_WRITE_MAX_BUFS];
  const ax_buf_t *send = bufs;
  unsigned int count = 0;
  size_t room = INT_MAX;
  while (count < nbufs && bufs[count].len <= room)
    room -= bufs[count++].len;
  if (count < nbufs) {
    memcpy(cut, bufs, (size_t)count * sizeof(*cut));
    cut[count] = bufs[count];
    cut[count].len = (unsigned long)room;
    send = cut;
    count++;
  }
  DWORD sent = 0;
  /* WSASend() only reads the vector, though its prototype does not say
   * so; ax_buf_t is laid out as WSABUF (axle/win.h). */
  if (WSASend(ax__win_sock_handle(sock), (WSABUF *)(uintptr_t)send, count,
              &sent, 0, NULL, NULL) != 0)
    return ax__win_sock_error();
  return (intptr_t)sent;
}

int ax__sock_shutdown(ax__sock_t *sock) {
  if (sock->flags & AX__WIN_SOCK_PIPE)
    return ax__win_pipe_shutdown(sock);
  if (shutdown(ax__win_sock_handle(sock), SD_SEND) != 0)
    return ax__win_sock_error();
  return 0;
}

/* A pipe has no backlog: its instances are posted by accept_start. */
int ax__sock_listen(ax__sock_t *sock, int backlog) {
  if (sock->flags & AX__WIN_SOCK_PIPE)
    return 0;
  if (listen(ax__win_sock_handle(sock), backlog) != 0)
    return ax__win_sock_error();
  return 0;
}

void ax__sock_listener_add(ax_loop_t *loop) {
  (void)loop;
}

void ax__sock_listener_remove(ax_loop_t *loop) {
  (void)loop;
}

/* A pipe's instance, accepted and not taken, is a HANDLE, which
 * closesocket() refuses. */
void ax__sock_discard(ax_os_sock_t s) {
  if (closesocket((SOCKET)s) != 0 && WSAGetLastError() == WSAENOTSOCK)
    CloseHandle((HANDLE)s);
}
