/*
 * unix/readiness.c: the socket operations of the backend contract
 * (src/backend.h), emulated over descriptor readiness. epoll, kqueue and
 * poll(2) share it: each fills the socket slots of its backend with these
 * functions and delivers every event through ax__io_ready(), so that the
 * mechanism files stay about waiting and nothing else.
 *
 * Each operation tries its system call at once. What the kernel cannot do
 * yet is marked in io->ops, the descriptor is watched for the readiness
 * that operation needs, and the event completes it:
 *
 *   RECV     watch readable; an event completes RECV with 0 (the engine
 *            reads until EAGAIN).
 *   SEND     sendmsg() now; if the kernel took less, watch writable, and
 *            complete SEND with 0 on the event (the engine sends again).
 *   CONNECT  connect() now; in progress, watch writable, and complete
 *            CONNECT with SO_ERROR's verdict.
 *   ACCEPT   watch readable; an event accepts up to READINESS_ACCEPTS
 *            connections, one completion each.
 *
 * Watching costs a system call only when the interest set changes
 * (ax__io_start, ax__io_stop), and a satisfied operation keeps its
 * interest while the engine submits the next one from its callback, so a
 * connection that keeps reading and writing changes nothing in the kernel.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "sock.h"

enum {
  /* Connections accepted per wakeup, so that a flood of connections
   * cannot hold the loop. */
  READINESS_ACCEPTS = 32,
  /* Buffers per sendmsg(): IOV_MAX on Linux, macOS and the BSDs. */
  READINESS_IOV_MAX = 1024,
};

/* io->ops: the socket operations waiting for readiness (the first is
 * AX__READINESS_RECV, unix/internal.h). */
enum {
  READINESS_RECV = AX__READINESS_RECV,
  READINESS_SEND = 1u << 1,
  READINESS_CONNECT = 1u << 2,
  READINESS_ACCEPT = 1u << 3,
};

_Static_assert(AX_WRITE_MAX_BUFS <= READINESS_IOV_MAX,
               "axle: one try-write must fit in one sendmsg()");
/* ax_buf_t is laid out as struct iovec (axle/unix.h). */
_Static_assert(sizeof(ax_buf_t) == sizeof(struct iovec) &&
                   offsetof(ax_buf_t, base) ==
                       offsetof(struct iovec, iov_base) &&
                   offsetof(ax_buf_t, len) == offsetof(struct iovec, iov_len),
               "axle: ax_buf_t is not laid out as struct iovec");

/* ---- Receiving ---- */

static int readiness_recv_start(ax_loop_t *loop, ax__sock_t *sock) {
  int err = ax__io_start(loop, sock, AX__IO_READ);
  if (err == 0)
    sock->ops |= READINESS_RECV;
  return err;
}

static void readiness_recv_stop(ax_loop_t *loop, ax__sock_t *sock) {
  sock->ops &= (unsigned short)~READINESS_RECV;
  ax__io_stop(loop, sock, AX__IO_READ);
}

/* ---- Sending ---- */

static size_t readiness_bufs_len(const ax_buf_t *bufs, unsigned int nbufs) {
  size_t len = 0;
  for (unsigned int i = 0; i < nbufs; i++)
    len += bufs[i].len;
  return len;
}

/* Watch for writability on behalf of op. On failure op is over: the
 * error is its result. */
static int readiness_want_write(ax_loop_t *loop, ax__sock_t *sock,
                                unsigned short op) {
  int err = ax__io_start(loop, sock, AX__IO_WRITE);
  if (err == 0)
    sock->ops |= op;
  return err;
}

intptr_t ax__readiness_send_done(ax_loop_t *loop, ax__sock_t *sock, intptr_t n,
                                 size_t len) {
  if (n == AX_EAGAIN)
    n = 0;
  if (n < 0 || (size_t)n == len)
    return n;
  int err = readiness_want_write(loop, sock, READINESS_SEND);
  return err != 0 ? err : n;
}

static intptr_t readiness_send(ax_loop_t *loop, ax__sock_t *sock,
                               const ax_buf_t *bufs, unsigned int nbufs) {
  assert(!(sock->ops & READINESS_SEND) && "axle: a second send in flight");
  intptr_t n = ax__sock_sendmsg(sock->fd, bufs, nbufs);
  return ax__readiness_send_done(loop, sock, n,
                                 readiness_bufs_len(bufs, nbufs));
}

/* ---- Connecting ---- */

static intptr_t readiness_connect(ax_loop_t *loop, ax__sock_t *sock,
                                  const struct sockaddr *addr, int len) {
  if (ax__sys.connect(sock->fd, addr, (socklen_t)len) == 0)
    return 0;
  /* Interrupted, the connect goes on in the background (POSIX), just as
   * one in progress: writability reports its end either way. */
  if (errno != EINPROGRESS && errno != EINTR)
    return ax_translate_sys_error(errno);
  int err = readiness_want_write(loop, sock, READINESS_CONNECT);
  return err != 0 ? err : AX__OP_PENDING;
}

/* The socket became writable while connecting: SO_ERROR tells how the
 * connect ended. */
static int readiness_connect_status(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (ax__sys.getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  return ax_translate_sys_error(err);
}

/* ---- Accepting ---- */

static int readiness_accept_start(ax_loop_t *loop, ax__sock_t *sock) {
  int err = ax__io_start(loop, sock, AX__IO_READ);
  if (err == 0)
    sock->ops |= READINESS_ACCEPT;
  return err;
}

static void readiness_accept_stop(ax_loop_t *loop, ax__sock_t *sock) {
  sock->ops &= (unsigned short)~READINESS_ACCEPT;
  ax__io_stop(loop, sock, AX__IO_READ);
}

/* Errors of accept() that concern one connection, not the listener: the
 * kernel had queued it and it went away (ECONNABORTED), or Linux passed on
 * a pending network error of the new socket, which its accept(2) page asks
 * callers to treat as EAGAIN. */
static bool readiness_accept_transient(int err) {
  switch (err) {
  case AX_EINTR:
  case AX_ECONNABORTED:
  case AX_EPROTO:
  case AX_EPERM:
  case AX_ENETDOWN:
  case AX_ENETUNREACH:
  case AX_EHOSTUNREACH:
  case AX_ENOTSUP:
  case -ENOPROTOOPT:
  case -EHOSTDOWN:
    return true;
  default:
    return false;
  }
}

/* Accept a bounded burst, one completion each, while the engine keeps
 * accepting (a callback may stop it, or close the listener). */
static void readiness_accept_ready(ax_loop_t *loop, ax__sock_t *sock) {
  for (int i = 0; i < READINESS_ACCEPTS; i++) {
    if (!(sock->ops & READINESS_ACCEPT))
      return;
    int fd = ax__sock_accept(sock->fd);
    if (fd == AX_EAGAIN)
      return;
    if (fd < 0 && readiness_accept_transient(fd))
      continue;
    if (fd == AX_EMFILE || fd == AX_ENFILE)
      ax__sock_shed(loop, sock->fd);
    sock->cb(loop, sock, AX__OP_ACCEPT, fd);
    if (fd < 0)
      return;
  }
}

/* ---- Readiness events ---- */

/* Complete what waited for writability: a connect, or a send. Returns
 * whether the socket is still open. */
static bool readiness_write_ready(ax_loop_t *loop, ax__sock_t *sock) {
  if (sock->ops & READINESS_CONNECT) {
    sock->ops &= (unsigned short)~READINESS_CONNECT;
    int status = readiness_connect_status(sock->fd);
    sock->cb(loop, sock, AX__OP_CONNECT, status);
  } else if (sock->ops & READINESS_SEND) {
    sock->ops &= (unsigned short)~READINESS_SEND;
    sock->cb(loop, sock, AX__OP_SEND, 0);
  }
  if (sock->fd < 0)
    return false;
  /* Nothing was submitted again from the callback: stop watching. */
  if (!(sock->ops & (READINESS_SEND | READINESS_CONNECT)))
    ax__io_stop(loop, sock, AX__IO_WRITE);
  return true;
}

void ax__io_ready_ops(ax_loop_t *loop, ax__io_t *io, unsigned int events) {
  if ((events & AX__IO_WRITE) &&
      (io->ops & (READINESS_SEND | READINESS_CONNECT)) &&
      !readiness_write_ready(loop, io))
    return;
  if (!(events & AX__IO_READ))
    return;
  if (io->ops & READINESS_ACCEPT)
    readiness_accept_ready(loop, io);
  else if (io->ops & READINESS_RECV)
    io->cb(loop, io, AX__OP_RECV, 0);
}

/* ---- Closing ---- */

static intptr_t readiness_sock_close(ax_loop_t *loop, ax__sock_t *sock) {
  if (sock->fd >= 0) {
    ax__io_stop(loop, sock, AX__IO_READ | AX__IO_WRITE);
    ax__close_fd(sock->fd);
  }
  sock->fd = -1;
  sock->ops = 0;
  return 0;
}

const struct ax__sock_ops ax__readiness_sock_ops = {
    .recv_start = readiness_recv_start,
    .recv_stop = readiness_recv_stop,
    .send = readiness_send,
    .connect = readiness_connect,
    .accept_start = readiness_accept_start,
    .accept_stop = readiness_accept_stop,
    .sock_close = readiness_sock_close,
};
