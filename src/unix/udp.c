/*
 * unix/udp.c: the POSIX half of UDP handles (src/udp.c is the portable
 * half): the socket, its options, and sending and receiving over the
 * descriptor poll of the backend (ax__io_t, src/backend.h). Every backend
 * reports a descriptor's readiness, io_uring included (a poll), so this
 * file is the same for all of them: when the socket is readable it is
 * read with recvmsg(2), or recvmmsg(2) in batches (udp-mmsg-linux.c);
 * when sends are queued and it is writable, the queue leaves with
 * sendmmsg(2) where there is one.
 *
 * The readiness is level-triggered: a wakeup reads a bounded burst, and a
 * socket with more to read is reported again in the next iteration.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "udp-mmsg.h"

enum {
  /* Reads (single datagrams or batches) per wakeup, so that a flood on
   * one socket cannot hold the loop. */
  UDP_RECV_BURST = 32,
  /* Queued datagrams sent per wakeup; the rest wait for the next. */
  UDP_SEND_BURST = 1024,
};

static int udp_fd(const ax_udp_t *udp) {
  return udp->priv.platform.io.fd;
}

bool ax__udp_has_socket(const ax_udp_t *udp) {
  return udp_fd(udp) >= 0;
}

static void udp_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                      intptr_t result);

void ax__udp_socket_init(ax_udp_t *udp) {
  ax__io_init(&udp->priv.platform.io, udp_io_cb, -1);
}

static int udp_adopt_fd(ax_udp_t *udp, int fd) {
  int err = ax__sock_adopt(fd);
  if (err != 0)
    return err;
  udp->priv.platform.io.fd = fd;
  return 0;
}

int ax__udp_socket_make(ax_udp_t *udp, int family) {
  if (ax__udp_has_socket(udp))
    return 0;
  int fd = ax__sys.socket(family, SOCK_DGRAM, 0);
  if (fd < 0)
    return ax_translate_sys_error(errno);
  int err = udp_adopt_fd(udp, fd);
  if (err != 0)
    ax__close_fd(fd);
  return err;
}

int ax__udp_socket_adopt(ax_udp_t *udp, ax_os_sock_t sock) {
  int type = 0;
  socklen_t len = sizeof(type);
  if (sock < 0)
    return AX_EINVAL;
  if (ax__sys.getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return ax_translate_sys_error(errno);
  if (type != SOCK_DGRAM)
    return AX_EINVAL;
  struct sockaddr_storage peer;
  socklen_t peer_len = sizeof(peer);
  if (ax__sys.getpeername(sock, (struct sockaddr *)&peer, &peer_len) == 0)
    udp->handle.priv_flags |= AX__UDP_CONNECTED;
  return udp_adopt_fd(udp, sock);
}

int ax__udp_socket_bind(ax_udp_t *udp, const struct sockaddr *addr, int len,
                        unsigned int flags) {
  int fd = udp_fd(udp);
  int err = 0;
  if (flags & AX_UDP_REUSEADDR)
    err = ax__sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (err == 0 && (flags & AX_UDP_IPV6ONLY))
    err = ax__sock_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (err == 0 && ax__sys.bind(fd, addr, (socklen_t)len) != 0)
    err = ax_translate_sys_error(errno);
  return err;
}

int ax__udp_socket_connect(ax_udp_t *udp, const struct sockaddr *addr,
                           int len) {
  struct sockaddr unspec;
  if (addr == NULL) {
    /* Connecting to AF_UNSPEC dissolves the association. Some systems
     * (macOS) do it and still say EAFNOSUPPORT. */
    memset(&unspec, 0, sizeof(unspec));
    unspec.sa_family = AF_UNSPEC;
    if (ax__sys.connect(udp_fd(udp), &unspec, sizeof(unspec)) != 0 &&
        errno != EAFNOSUPPORT)
      return ax_translate_sys_error(errno);
    return 0;
  }
  int err;
  do {
    err = ax__sys.connect(udp_fd(udp), addr, (socklen_t)len);
  } while (err != 0 && errno == EINTR);
  return err == 0 ? 0 : ax_translate_sys_error(errno);
}

int ax__udp_socket_name(const ax_udp_t *udp, struct sockaddr *name,
                        int *namelen, bool peer) {
  socklen_t len = (socklen_t)*namelen;
  int r = peer ? ax__sys.getpeername(udp_fd(udp), name, &len)
               : ax__sys.getsockname(udp_fd(udp), name, &len);
  if (r != 0)
    return ax_translate_sys_error(errno);
  *namelen = (int)len;
  return 0;
}

/* A message header for one datagram; addr NULL on a connected socket. */
static void udp_msg(struct msghdr *msg, const ax_buf_t *bufs,
                    unsigned int nbufs, const void *addr, int len) {
  memset(msg, 0, sizeof(*msg));
  msg->msg_name = (void *)(uintptr_t)addr;
  msg->msg_namelen = (socklen_t)len;
  msg->msg_iov = (struct iovec *)(uintptr_t)bufs;
  msg->msg_iovlen = nbufs;
}

intptr_t ax__udp_socket_send(ax_udp_t *udp, const ax_buf_t *bufs,
                             unsigned int nbufs, const struct sockaddr *addr,
                             int len) {
  struct msghdr msg;
  udp_msg(&msg, bufs, nbufs, len > 0 ? addr : NULL, len);
  for (;;) {
    ssize_t n = ax__sys.sendmsg(udp_fd(udp), &msg, ax__sock_send_flags);
    if (n >= 0)
      return n;
    if (errno != EINTR)
      return ax_translate_sys_error(errno);
  }
}

/* Send up to AX__UDP_BATCH_MAX queued datagrams in one call: how many
 * left, or the error of the first (AX_EAGAIN: none could). */
static int udp_send_batch(ax_udp_t *udp) {
  struct msghdr hdrs[AX__UDP_BATCH_MAX];
  ax_udp_send_t *reqs[AX__UDP_BATCH_MAX] = {NULL};
  unsigned int count = 0;
  ax__queue_t *sends = &udp->priv.sends;
  for (ax__queue_t *node = sends->next;
       node != sends && count < AX__UDP_BATCH_MAX; node = node->next) {
    ax_udp_send_t *req = ax_container_of(node, ax_udp_send_t, priv.node);
    udp_msg(&hdrs[count], req->priv.bufs, req->priv.nbufs,
            req->priv.addr_len > 0 ? &req->priv.addr : NULL,
            req->priv.addr_len);
    reqs[count++] = req;
  }
  if (count == 0)
    return AX_EAGAIN; /* Nothing queued: nothing to wait for either. */
  int n = ax__udp_send_batch(udp_fd(udp), hdrs, count);
  if (n == AX_EAGAIN)
    return n;
  if (n < 0) {
    /* The first datagram's own error (EMSGSIZE, ECONNREFUSED...): it is
     * over, the others are tried again. */
    ax__udp_send_done(udp, reqs[0], n);
    return 1;
  }
  for (int i = 0; i < n; i++)
    ax__udp_send_done(udp, reqs[i], 0);
  return n;
}

void ax__udp_send_watch(ax_udp_t *udp) {
  (void)ax__io_start(udp->handle.loop, &udp->priv.platform.io, AX__IO_WRITE);
}

void ax__udp_flush(ax_udp_t *udp) {
  unsigned int sent = 0;
  while (udp->send_queue_count > 0 && sent < UDP_SEND_BURST) {
    int n = udp_send_batch(udp);
    if (n == AX_EAGAIN)
      break;
    sent += (unsigned int)n;
  }
  if (udp->send_queue_count > 0)
    ax__udp_send_watch(udp);
  else
    (void)ax__io_stop(udp->handle.loop, &udp->priv.platform.io, AX__IO_WRITE);
}

/* Whether the burst should go on after a callback. */
static bool udp_receiving(const ax_udp_t *udp) {
  return ax__udp_has(udp, AX__UDP_RECEIVING) &&
         !ax__handle_is_closing(&udp->handle);
}

/* One recvmsg(2) into buf: false once there is nothing more to read. */
static bool udp_recv_one(ax_udp_t *udp, const ax_buf_t *buf) {
  struct sockaddr_storage addr;
  struct msghdr msg;
  udp_msg(&msg, buf, 1, &addr, sizeof(addr));
  ssize_t n;
  do {
    n = recvmsg(udp_fd(udp), &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = ax_translate_sys_error(errno);
    bool again = err == AX_EAGAIN;
    udp->priv.recv_cb(udp, again ? 0 : err, buf, NULL, 0);
    return !again;
  }
  unsigned int flags = (msg.msg_flags & MSG_TRUNC) ? AX_UDP_PARTIAL : 0;
  udp->priv.recv_cb(udp, n, buf, (const struct sockaddr *)&addr, flags);
  return true;
}

/* One recvmmsg(2) into slots of buf: false once the socket is drained.
 * Each datagram's callback has AX_UDP_MORE; the last callback hands the
 * whole buffer back. */
static bool udp_recv_batch(ax_udp_t *udp, const ax_buf_t *buf,
                           unsigned int slots) {
  struct sockaddr_storage addrs[AX__UDP_BATCH_MAX];
  struct msghdr hdrs[AX__UDP_BATCH_MAX];
  ax_buf_t parts[AX__UDP_BATCH_MAX];
  unsigned int lens[AX__UDP_BATCH_MAX];
  for (unsigned int i = 0; i < slots; i++) {
    parts[i].base = buf->base + (size_t)i * AX__UDP_DATAGRAM_MAX;
    parts[i].len = AX__UDP_DATAGRAM_MAX;
    udp_msg(&hdrs[i], &parts[i], 1, &addrs[i], sizeof(addrs[i]));
  }
  int n = ax__udp_recv_batch(udp_fd(udp), hdrs, lens, slots);
  if (n < 0) {
    bool again = n == AX_EAGAIN;
    udp->priv.recv_cb(udp, again ? 0 : n, buf, NULL, 0);
    return !again;
  }
  for (int i = 0; i < n && udp_receiving(udp); i++) {
    parts[i].len = lens[i];
    unsigned int flags = AX_UDP_MORE;
    if (hdrs[i].msg_flags & MSG_TRUNC)
      flags |= AX_UDP_PARTIAL;
    udp->priv.recv_cb(udp, (ptrdiff_t)lens[i], &parts[i],
                      (const struct sockaddr *)&addrs[i], flags);
  }
  udp->priv.recv_cb(udp, 0, buf, NULL, 0);
  return (unsigned int)n == slots;
}

/* Read one buffer's worth: false once there is nothing more to read. */
static bool udp_recv_buffer(ax_udp_t *udp) {
  bool batch = ax__udp_has(udp, AX__UDP_RECVMMSG);
  size_t suggested = batch ? (size_t)AX__UDP_DATAGRAM_MAX * AX__UDP_BATCH_MAX
                           : (size_t)AX__UDP_DATAGRAM_MAX;
  ax_buf_t buf = {0};
  udp->priv.alloc_cb(&udp->handle, suggested, &buf);
  if (buf.base == NULL || buf.len == 0) {
    udp->priv.recv_cb(udp, AX_ENOBUFS, &buf, NULL, 0);
    return false;
  }
  size_t slots = buf.len / AX__UDP_DATAGRAM_MAX;
  if (batch && slots >= 2)
    return udp_recv_batch(udp, &buf,
                          slots < AX__UDP_BATCH_MAX ? (unsigned int)slots
                                                    : AX__UDP_BATCH_MAX);
  return udp_recv_one(udp, &buf);
}

/* The socket is readable: a bounded burst of reads. In batch mode the
 * sends made by the callbacks queue, and leave together at the end. */
static void udp_recv_burst(ax_udp_t *udp) {
  bool batch = ax__udp_has(udp, AX__UDP_RECVMMSG);
  if (batch)
    udp->handle.priv_flags |= AX__UDP_IN_BATCH;
  for (int i = 0; i < UDP_RECV_BURST && udp_receiving(udp); i++) {
    if (!udp_recv_buffer(udp))
      break;
  }
  if (!batch)
    return;
  udp->handle.priv_flags &= ~(unsigned int)AX__UDP_IN_BATCH;
  if (udp->send_queue_count > 0 && !ax__handle_is_closing(&udp->handle))
    ax__udp_flush(udp);
}

static void udp_io_cb(ax_loop_t *loop, ax__io_t *io, unsigned int op,
                      intptr_t result) {
  (void)loop;
  (void)op;
  ax_udp_t *udp = ax_container_of(io, ax_udp_t, priv.platform.io);
  unsigned int bits = (unsigned int)result;
  bool error = (bits & AX__IO_ERROR) != 0;
  if ((error || (bits & AX__IO_WRITE)) && (io->events & AX__IO_WRITE))
    ax__udp_flush(udp);
  if ((error || (bits & AX__IO_READ)) && udp_receiving(udp))
    udp_recv_burst(udp);
}

int ax__udp_recv_begin(ax_udp_t *udp) {
  return ax__io_start(udp->handle.loop, &udp->priv.platform.io, AX__IO_READ);
}

void ax__udp_recv_end(ax_udp_t *udp) {
  ax__io_t *io = &udp->priv.platform.io;
  if (io->fd >= 0)
    (void)ax__io_stop(udp->handle.loop, io, AX__IO_READ);
}

void ax__udp_socket_close(ax_udp_t *udp) {
  ax__io_t *io = &udp->priv.platform.io;
  if (io->fd < 0)
    return;
  (void)ax__io_stop(udp->handle.loop, io, io->events);
  ax__close_fd(io->fd);
  io->fd = -1;
}

/* ---- Options (udp-options.c sets them) ---- */

int ax__udp_option_family(const ax_udp_t *udp, int *family) {
  *family = AF_UNSPEC;
  if (udp == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle) || !ax__udp_has_socket(udp))
    return AX_EBADF;
  struct sockaddr_storage name;
  socklen_t len = sizeof(name);
  memset(&name, 0, sizeof(name));
  if (ax__sys.getsockname(udp_fd(udp), (struct sockaddr *)&name, &len) != 0)
    return ax_translate_sys_error(errno);
  *family = name.ss_family;
  return 0;
}

int ax__udp_setsockopt(ax_udp_t *udp, int level, int name, const void *value,
                       int len) {
  if (ax__sys.setsockopt(udp_fd(udp), level, name, value, (socklen_t)len) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}
