/*
 * unix/sock-os.h: the POSIX socket calls the stream engine makes for every
 * message, inline: a read, and a send without an operation. meson puts this
 * directory on the engine's include path (src/meson.build), so that
 * src/stream.h includes the header of the system it is built for. It
 * brings the system's socket and address types to the engine too.
 */
#ifndef AX_UNIX_SOCK_OS_H
#define AX_UNIX_SOCK_OS_H

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"

/* Bytes per read() or sendmsg(): macOS refuses more than INT_MAX with
 * EINVAL, where Linux quietly does less. */
enum { AX__SOCK_IO_MAX_BYTES = INT_MAX };

/* The flags of every sendmsg(): MSG_NOSIGNAL where the system has it
 * (sock-linux.c, sock-bsd.c). */
extern const int ax__sock_send_flags;

static inline bool ax__sock_is_open(const ax__sock_t *sock) {
  return sock->fd >= 0;
}

static inline ax_os_sock_t ax__sock_os(const ax__sock_t *sock) {
  return sock->fd;
}

/* writev() of a vector with EINTR retried, for a stream that is not a
 * socket (a terminal, src/unix/tty.c; a pipe or a FIFO, src/unix/pipe.c):
 * the bytes written or an error. A pipe whose reader is gone raises
 * SIGPIPE, which no flag keeps away: it is blocked around the call, and
 * one the call raised is taken (sock.c). */
intptr_t ax__sock_writev(int fd, const ax_buf_t *bufs, unsigned int nbufs);

/* sendmsg() of a vector with EINTR retried: the bytes sent or an error.
 * A descriptor that is no socket (ENOTSOCK) is written with writev(): a
 * terminal pays a failed call per write, sockets nothing. */
static inline intptr_t ax__sock_sendmsg(int fd, const ax_buf_t *bufs,
                                        unsigned int nbufs) {
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = (struct iovec *)(uintptr_t)bufs;
  msg.msg_iovlen = nbufs;
  for (;;) {
    ssize_t n = ax__sys.sendmsg(fd, &msg, ax__sock_send_flags);
    if (n >= 0)
      return n;
    if (errno == ENOTSOCK)
      return ax__sock_writev(fd, bufs, nbufs);
    if (errno != EINTR)
      return ax_translate_sys_error(errno);
  }
}

/* Read without waiting: bytes (> 0), AX_EOF, AX_EAGAIN, or an error. */
static inline intptr_t ax__sock_read(ax__sock_t *sock, const ax_buf_t *buf) {
  size_t len = buf->len < (size_t)AX__SOCK_IO_MAX_BYTES
                   ? buf->len
                   : (size_t)AX__SOCK_IO_MAX_BYTES;
  for (;;) {
    ssize_t n = ax__sys.read(sock->fd, buf->base, len);
    if (n > 0)
      return n;
    if (n == 0)
      return AX_EOF;
    if (errno != EINTR)
      return ax_translate_sys_error(errno);
  }
}

/* ax__sock_try_send() of a vector of more than AX__SOCK_IO_MAX_BYTES
 * (sock.c): sent trimmed, from a copy. */
intptr_t ax__sock_try_send_capped(ax__sock_t *sock, const ax_buf_t *bufs,
                                  unsigned int nbufs);

/* Send without waiting and without an operation: bytes, or an error
 * (AX_EAGAIN when the kernel takes nothing). At most
 * AX__SOCK_IO_MAX_BYTES, so that the count fits the result. */
static inline intptr_t ax__sock_try_send(ax__sock_t *sock, const ax_buf_t *bufs,
                                         unsigned int nbufs) {
  size_t total = 0;
  for (unsigned int i = 0; i < nbufs; i++) {
    if (bufs[i].len > (size_t)AX__SOCK_IO_MAX_BYTES - total)
      return ax__sock_try_send_capped(sock, bufs, nbufs);
    total += bufs[i].len;
  }
  if (total == 0)
    return 0;
  return ax__sock_sendmsg(sock->fd, bufs, nbufs);
}

#endif /* AX_UNIX_SOCK_OS_H */
