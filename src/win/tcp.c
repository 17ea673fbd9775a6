/*
 * win/tcp.c: TCP handles on Windows: their sockets, binding, connecting
 * with ConnectEx, options and addresses. Reading, writing and closing are
 * the stream's (win/stream.c); listening is win/tcp-listen.c.
 *
 * Sockets are made overlapped and not inheritable (a child process would
 * otherwise keep connections open), then attached to the loop's port by
 * ax__stream_attach(). An IPv6 socket is dual-stack unless AX_TCP_IPV6ONLY
 * asks otherwise: Windows makes IPv6 sockets IPv6-only by default, Linux
 * does not, and axle on Windows behaves as on Linux.
 *
 * Binding sets SO_EXCLUSIVEADDRUSE rather than POSIX's SO_REUSEADDR. On
 * Windows SO_REUSEADDR means something else: any other socket, of any
 * process, may then bind the very port a server listens on and take
 * connections from it. What POSIX uses SO_REUSEADDR for, binding a port
 * whose earlier connections linger in TIME_WAIT, Windows allows without
 * an option. SO_EXCLUSIVEADDRUSE also refuses the reverse: no socket may
 * take over the port of an axle server. AX_TCP_REUSEPORT has no Windows
 * counterpart (SO_REUSEADDR is not one: it does not balance connections)
 * and is refused with AX_ENOTSUP.
 */
#include <string.h>

#include "stream.h"

#include <mstcpip.h>

static void tcp_connect_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes);

/* The length of an IPv4 or IPv6 address, 0 for any other family. */
static int tcp_addr_len(const struct sockaddr *addr) {
  if (addr->sa_family == AF_INET)
    return sizeof(struct sockaddr_in);
  if (addr->sa_family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return 0;
}

int ax__tcp_set_nodelay(SOCKET socket, bool enable) {
  BOOL value = enable ? TRUE : FALSE;
  if (setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, (const char *)&value,
                 sizeof(value)) != 0)
    return ax__stream_socket_error();
  return 0;
}

SOCKET ax__tcp_socket(int family, int *err) {
  SOCKET socket = ax__win_sock.wsa_socket(
      family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  *err = socket == INVALID_SOCKET ? ax__stream_socket_error() : 0;
  return socket;
}

/* An IPv6 socket refuses IPv4 only when asked to. */
static int tcp_set_v6only(SOCKET socket, int v6only) {
  DWORD value = v6only ? 1 : 0;
  if (setsockopt(socket, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&value,
                 sizeof(value)) != 0)
    return ax__stream_socket_error();
  return 0;
}

/* Give the handle a new socket of @p family. */
static int tcp_make_socket(ax_stream_t *stream, int family) {
  int err;
  SOCKET socket = ax__tcp_socket(family, &err);
  if (socket == INVALID_SOCKET)
    return err;
  /* Dual-stack where the system can (a machine without IPv4 refuses, and
   * its sockets then serve IPv6 alone, which is all it has). */
  if (family == AF_INET6)
    (void)tcp_set_v6only(socket, 0);
  err = ax__stream_attach(stream, socket);
  if (err != 0) {
    closesocket(socket);
    return err;
  }
  if (family == AF_INET6)
    stream->handle.priv_flags |= AX__STREAM_IPV6;
  return 0;
}

int ax_tcp_init(ax_loop_t *loop, ax_tcp_t *tcp) {
  if (loop == NULL || tcp == NULL)
    return AX_EINVAL;
  int err = ax__winsock_init();
  if (err != 0)
    return err;
  ax__stream_init(loop, &tcp->stream);
  return 0;
}

/* The family of a socket of unknown origin, from its protocol record
 * (getsockname() fails on a socket that is not bound). */
static int tcp_socket_family(SOCKET socket, int *family) {
  WSAPROTOCOL_INFOW info;
  int len = sizeof(info);
  if (getsockopt(socket, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) !=
      0)
    return ax__stream_socket_error();
  if (info.iSocketType != SOCK_STREAM)
    return AX_EINVAL;
  *family = info.iAddressFamily;
  return 0;
}

int ax_tcp_open(ax_tcp_t *tcp, ax_os_sock_t sock) {
  if (tcp == NULL || (SOCKET)sock == INVALID_SOCKET)
    return AX_EINVAL;
  ax_stream_t *stream = &tcp->stream;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (stream->priv.socket != INVALID_SOCKET)
    return AX_EBUSY;
  int family = AF_UNSPEC;
  int err = tcp_socket_family((SOCKET)sock, &family);
  if (err == 0)
    err = ax__stream_attach(stream, (SOCKET)sock);
  if (err != 0)
    return err;
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  unsigned int flags = family == AF_INET6 ? AX__STREAM_IPV6 : 0;
  if (getsockname((SOCKET)sock, (struct sockaddr *)&addr, &len) == 0)
    flags |= AX__STREAM_BOUND;
  len = sizeof(addr);
  if (getpeername((SOCKET)sock, (struct sockaddr *)&addr, &len) == 0)
    flags |= AX__STREAM_CONNECTED;
  stream->handle.priv_flags |= flags;
  return 0;
}

/* The checks of ax_tcp_bind(), before anything changes. */
static int tcp_bind_check(ax_tcp_t *tcp, const struct sockaddr *addr,
                          unsigned int flags) {
  if (tcp == NULL || addr == NULL ||
      (flags & ~(unsigned int)(AX_TCP_IPV6ONLY | AX_TCP_REUSEPORT)) != 0)
    return AX_EINVAL;
  if (tcp_addr_len(addr) == 0)
    return AX_EAFNOSUPPORT;
  if ((flags & AX_TCP_IPV6ONLY) && addr->sa_family != AF_INET6)
    return AX_EINVAL;
  if (flags & AX_TCP_REUSEPORT)
    return AX_ENOTSUP;
  ax_stream_t *stream = &tcp->stream;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_BOUND | AX__STREAM_CONNECTING |
                                 AX__STREAM_CONNECTED))
    return AX_EINVAL;
  if (stream->priv.socket != INVALID_SOCKET &&
      ax__stream_has(stream, AX__STREAM_IPV6) != (addr->sa_family == AF_INET6))
    return AX_EINVAL;
  return 0;
}

int ax_tcp_bind(ax_tcp_t *tcp, const struct sockaddr *addr,
                unsigned int flags) {
  int err = tcp_bind_check(tcp, addr, flags);
  if (err != 0)
    return err;
  ax_stream_t *stream = &tcp->stream;
  if (stream->priv.socket == INVALID_SOCKET) {
    err = tcp_make_socket(stream, addr->sa_family);
    if (err != 0)
      return err;
  }
  SOCKET socket = ax__stream_socket(stream);
  if (addr->sa_family == AF_INET6) {
    err = tcp_set_v6only(socket, (flags & AX_TCP_IPV6ONLY) != 0);
    if (err != 0)
      return err;
  }
  BOOL exclusive = TRUE;
  if (setsockopt(socket, SOL_SOCKET, SO_EXCLUSIVEADDRUSE,
                 (const char *)&exclusive, sizeof(exclusive)) != 0)
    return ax__stream_socket_error();
  if (bind(socket, addr, tcp_addr_len(addr)) != 0)
    return ax__stream_socket_error();
  stream->handle.priv_flags |= AX__STREAM_BOUND;
  return 0;
}

/* ConnectEx works only on a bound socket: make the socket if there is
 * none, and bind it to any address of the family (port 0, as connect()
 * would do implicitly). */
static int tcp_connect_prepare(ax_stream_t *stream, int family) {
  if (stream->priv.socket == INVALID_SOCKET) {
    int err = tcp_make_socket(stream, family);
    if (err != 0)
      return err;
  } else if (ax__stream_has(stream, AX__STREAM_IPV6) != (family == AF_INET6)) {
    return AX_EINVAL;
  }
  if (ax__stream_has(stream, AX__STREAM_BOUND))
    return 0;
  struct sockaddr_storage any;
  memset(&any, 0, sizeof(any));
  ((struct sockaddr *)&any)->sa_family = (ADDRESS_FAMILY)family;
  int len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
                               : sizeof(struct sockaddr_in);
  if (bind(ax__stream_socket(stream), (struct sockaddr *)&any, len) != 0)
    return ax__stream_socket_error();
  stream->handle.priv_flags |= AX__STREAM_BOUND;
  return 0;
}

static int tcp_connect_check(ax_connect_t *req, ax_tcp_t *tcp,
                             const struct sockaddr *addr,
                             ax_connect_cb connect_cb) {
  if (req == NULL || tcp == NULL || addr == NULL || connect_cb == NULL)
    return AX_EINVAL;
  ax_stream_t *stream = &tcp->stream;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (tcp_addr_len(addr) == 0)
    return AX_EINVAL;
  if (ax__stream_has(stream, AX__STREAM_CONNECTING))
    return AX_EALREADY;
  if (ax__stream_has(stream, AX__STREAM_CONNECTED))
    return AX_EISCONN;
  if (ax__stream_has(stream, AX__STREAM_LISTENING))
    return AX_EINVAL;
  return 0;
}

/* A failure at once (an unreachable network, say) is reported to the
 * callback like one that comes later, from the pending phase. */
int ax_tcp_connect(ax_connect_t *req, ax_tcp_t *tcp,
                   const struct sockaddr *addr, ax_connect_cb connect_cb) {
  int err = tcp_connect_check(req, tcp, addr, connect_cb);
  if (err != 0)
    return err;
  ax_stream_t *stream = &tcp->stream;
  err = tcp_connect_prepare(stream, addr->sa_family);
  if (err != 0)
    return err;
  req->req.loop = stream->handle.loop;
  req->req.type = AX_CONNECT;
  req->handle = stream;
  req->priv.cb = connect_cb;
  req->priv.status = AX__IN_FLIGHT;
  req->priv.io.cb = tcp_connect_io_cb;
  OVERLAPPED *overlapped = ax__io_overlapped(&req->priv.io);
  memset(overlapped, 0, sizeof(*overlapped));
  BOOL ok = ax__winsock.connect_ex(ax__stream_socket(stream), addr,
                                   tcp_addr_len(addr), NULL, 0, NULL,
                                   overlapped);
  int posted = ax__stream_posted(stream, ok);
  stream->priv.req = &req->req;
  stream->handle.priv_flags |= AX__STREAM_CONNECTING;
  stream->handle.loop->priv.active_reqs++;
  if (posted != 0) {
    req->priv.status = posted == 1 ? 0 : posted;
    ax__stream_defer(stream);
  }
  return 0;
}

/* The connect is over (status in the request): make the socket a full
 * one (getpeername, shutdown), report, then send the writes made
 * meanwhile (writes the callback makes queue up behind them), or cancel
 * them if the connection never came. */
void ax__tcp_connect_finish(ax_stream_t *stream) {
  ax_connect_t *req = (ax_connect_t *)stream->priv.req;
  int status = req->priv.status;
  stream->priv.req = NULL;
  stream->handle.priv_flags &= ~(unsigned int)AX__STREAM_CONNECTING;
  if (status == 0 && setsockopt(ax__stream_socket(stream), SOL_SOCKET,
                                SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0)
    status = ax__stream_socket_error();
  if (status == 0)
    stream->handle.priv_flags |= AX__STREAM_CONNECTED;
  else
    ax__stream_connected(stream, status);
  req->req.loop->priv.active_reqs--;
  req->priv.cb(req, status);
  if (status == 0 && !ax__handle_is_closing(&stream->handle))
    ax__stream_connected(stream, 0);
}

static void tcp_connect_io_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  (void)bytes;
  ax_connect_t *req = ax_container_of(io, ax_connect_t, priv.io);
  ax_stream_t *stream = req->handle;
  ax__stream_op_done(stream);
  req->priv.status = ax__stream_io_status(stream, io);
  if (!ax__handle_is_closing(&stream->handle))
    ax__tcp_connect_finish(stream);
}

/* The socket of an open TCP handle, or AX_EBADF. */
static int tcp_socket_of(const ax_tcp_t *tcp, SOCKET *socket) {
  if (tcp == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&tcp->stream.handle) ||
      tcp->stream.priv.socket == INVALID_SOCKET)
    return AX_EBADF;
  *socket = ax__stream_socket(&tcp->stream);
  return 0;
}

/* Remembered for a socket made later (by bind, connect or accept). */
int ax_tcp_nodelay(ax_tcp_t *tcp, bool enable) {
  if (tcp == NULL)
    return AX_EINVAL;
  ax_stream_t *stream = &tcp->stream;
  if (ax__handle_is_closing(&stream->handle))
    return AX_EBADF;
  if (stream->priv.socket != INVALID_SOCKET) {
    int err = ax__tcp_set_nodelay(ax__stream_socket(stream), enable);
    if (err != 0)
      return err;
  }
  if (enable)
    stream->handle.priv_flags |= AX__STREAM_NODELAY;
  else
    stream->handle.priv_flags &= ~(unsigned int)AX__STREAM_NODELAY;
  return 0;
}

/* SIO_KEEPALIVE_VALS sets the idle time before the first probe, which
 * SO_KEEPALIVE alone leaves at the system's two hours, on every Windows
 * axle runs on (TCP_KEEPIDLE came with Windows 10). Probes then follow
 * every second, as POSIX systems do by default for most of their count. */
int ax_tcp_keepalive(ax_tcp_t *tcp, bool enable, unsigned int delay_s) {
  if (enable && (delay_s == 0 || delay_s > ULONG_MAX / 1000))
    return AX_EINVAL;
  SOCKET socket;
  int err = tcp_socket_of(tcp, &socket);
  if (err != 0)
    return err;
  struct tcp_keepalive values = {
      .onoff = enable ? 1 : 0,
      .keepalivetime = enable ? delay_s * 1000 : 0,
      .keepaliveinterval = 1000,
  };
  DWORD bytes = 0;
  if (WSAIoctl(socket, SIO_KEEPALIVE_VALS, &values, sizeof(values), NULL, 0,
               &bytes, NULL, NULL) != 0)
    return ax__stream_socket_error();
  return 0;
}

int ax_tcp_getsockname(const ax_tcp_t *tcp, struct sockaddr *name,
                       int *namelen) {
  if (name == NULL || namelen == NULL || *namelen < 0)
    return AX_EINVAL;
  SOCKET socket;
  int err = tcp_socket_of(tcp, &socket);
  if (err != 0)
    return err;
  if (getsockname(socket, name, namelen) != 0)
    return ax__stream_socket_error();
  return 0;
}

int ax_tcp_getpeername(const ax_tcp_t *tcp, struct sockaddr *name,
                       int *namelen) {
  if (name == NULL || namelen == NULL || *namelen < 0)
    return AX_EINVAL;
  SOCKET socket;
  int err = tcp_socket_of(tcp, &socket);
  if (err != 0)
    return err;
  if (getpeername(socket, name, namelen) != 0)
    return ax__stream_socket_error();
  return 0;
}

/* A linger of zero seconds makes closesocket() abort the connection: the
 * peer gets a reset, and data not yet sent is dropped. */
int ax_tcp_close_reset(ax_tcp_t *tcp, ax_close_cb close_cb) {
  if (tcp == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&tcp->stream.handle))
    return AX_EBADF;
  if (ax__stream_has(&tcp->stream, AX__STREAM_LISTENING))
    return AX_EINVAL;
  if (tcp->stream.priv.socket != INVALID_SOCKET) {
    struct linger linger = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(ax__stream_socket(&tcp->stream), SOL_SOCKET, SO_LINGER,
                   (const char *)&linger, sizeof(linger)) != 0) {
      /* EINVAL: nothing left to reset; closed all the same, as on POSIX
       * (src/unix/tcp.c). */
      int err = ax__stream_socket_error();
      if (err != AX_EINVAL)
        return err;
    }
  }
  return ax_close(&tcp->stream.handle, close_cb);
}

/* A SOCKET is a kernel handle, so it fits ax_os_fd_t (a HANDLE). */
int ax_fileno(const ax_handle_t *handle, ax_os_fd_t *fd) {
  if (handle == NULL || fd == NULL)
    return AX_EINVAL;
  uintptr_t socket;
  if (handle->type == AX_TCP)
    socket = ((const ax_stream_t *)handle)->priv.socket;
  else if (handle->type == AX_POLL)
    socket = ((const ax_poll_t *)handle)->priv.socket;
  else
    return AX_EINVAL;
  if (ax__handle_is_closing(handle) || socket == INVALID_SOCKET)
    return AX_EBADF;
  *fd = (ax_os_fd_t)socket;
  return 0;
}
