/*
 * win/tcp.c: TCP handles on Windows: their sockets, binding, the binding
 * ConnectEx needs, options and addresses. Everything that happens on a
 * socket once it exists is the stream engine's (src/stream.c, listen.c),
 * over the IOCP socket operations (iocp-sock.c).
 *
 * Sockets are made overlapped and not inheritable (sock.c), then attached
 * to the loop's port when the stream takes them (ax__stream_open()). Options
 * set before a handle had a socket (ax_tcp_nodelay(), ax_tcp_keepalive())
 * are kept (src/tcp.c) and applied to the socket when it is made, adopted
 * or accepted. An IPv6 socket is dual-stack unless AX_TCP_IPV6ONLY asks
 * otherwise: Windows makes IPv6 sockets IPv6-only by default, Linux
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

#include "sock.h"

#include <mstcpip.h>

int ax__tcp_system_init(void) {
  return ax__winsock_init();
}

int ax__tcp_set_nodelay(ax_os_sock_t s, bool enable) {
  BOOL value = enable ? TRUE : FALSE;
  if (setsockopt((SOCKET)s, IPPROTO_TCP, TCP_NODELAY, (const char *)&value,
                 sizeof(value)) != 0)
    return ax__win_sock_error();
  return 0;
}

/* An IPv6 socket refuses IPv4 only when asked to. */
static int tcp_set_v6only(SOCKET socket, int v6only) {
  DWORD value = v6only ? 1 : 0;
  if (setsockopt(socket, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&value,
                 sizeof(value)) != 0)
    return ax__win_sock_error();
  return 0;
}

static bool tcp_is_ipv6(const ax_stream_t *stream) {
  return (stream->priv.sock.flags & AX__WIN_SOCK_IPV6) != 0;
}

/* Give the stream socket, of family, with the options chosen before; the
 * backend makes the accepts of a listener in the same family. */
static int tcp_take_socket(ax_stream_t *stream, SOCKET socket, int family,
                           unsigned int flags) {
  int err = ax__tcp_sock_options(stream, socket);
  if (err == 0)
    err = ax__stream_open(stream, socket, flags);
  if (err == 0 && family == AF_INET6)
    stream->priv.sock.flags |= AX__WIN_SOCK_IPV6;
  return err;
}

/* Give the handle a new socket of family. */
static int tcp_make_socket(ax_stream_t *stream, int family) {
  int err;
  SOCKET socket = ax__win_socket(family, &err);
  if (socket == INVALID_SOCKET)
    return err;
  /* Dual-stack where the system can (a machine without IPv4 refuses, and
   * its sockets then serve IPv6 alone, which is all it has). */
  if (family == AF_INET6)
    (void)tcp_set_v6only(socket, 0);
  err = tcp_take_socket(stream, socket, family, 0);
  if (err != 0)
    closesocket(socket);
  return err;
}

/* The family of a socket of unknown origin, from its protocol record
 * (getsockname() fails on a socket that is not bound). */
static int tcp_socket_family(SOCKET socket, int *family) {
  WSAPROTOCOL_INFOW info;
  int len = sizeof(info);
  if (getsockopt(socket, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) !=
      0)
    return ax__win_sock_error();
  if (info.iSocketType != SOCK_STREAM)
    return AX_EINVAL;
  *family = info.iAddressFamily;
  return 0;
}

/* What an adopted socket already is: bound, connected. */
static unsigned int tcp_socket_state(SOCKET socket) {
  struct sockaddr_storage addr;
  int len = sizeof(addr);
  unsigned int flags = 0;
  if (getsockname(socket, (struct sockaddr *)&addr, &len) == 0)
    flags |= AX__STREAM_BOUND;
  len = sizeof(addr);
  if (getpeername(socket, (struct sockaddr *)&addr, &len) == 0)
    flags |= AX__STREAM_CONNECTED;
  return flags;
}

int ax_tcp_open(ax_tcp_t *tcp, ax_os_sock_t sock) {
  if (tcp == NULL || (SOCKET)sock == INVALID_SOCKET)
    return AX_EINVAL;
  ax_stream_t *stream = &tcp->stream;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (ax__sock_is_open(&stream->priv.sock))
    return AX_EBUSY;
  int family = AF_UNSPEC;
  int err = tcp_socket_family((SOCKET)sock, &family);
  if (err != 0)
    return err;
  return tcp_take_socket(stream, (SOCKET)sock, family,
                         tcp_socket_state((SOCKET)sock));
}

/* The checks of ax_tcp_bind(), before anything changes. */
static int tcp_bind_check(ax_tcp_t *tcp, const struct sockaddr *addr,
                          unsigned int flags) {
  if (tcp == NULL || addr == NULL ||
      (flags & ~(unsigned int)(AX_TCP_IPV6ONLY | AX_TCP_REUSEPORT)) != 0)
    return AX_EINVAL;
  if (ax__tcp_addr_len(addr, NULL) == 0)
    return AX_EAFNOSUPPORT;
  if ((flags & AX_TCP_IPV6ONLY) && addr->sa_family != AF_INET6)
    return AX_EINVAL;
  if (flags & AX_TCP_REUSEPORT)
    return AX_ENOTSUP;
  ax_stream_t *stream = &tcp->stream;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (ax__stream_has(stream, AX__STREAM_BOUND | AX__STREAM_CONNECTING |
                                 AX__STREAM_CONNECTED | AX__STREAM_LISTENING))
    return AX_EINVAL;
  if (ax__sock_is_open(&stream->priv.sock) &&
      tcp_is_ipv6(stream) != (addr->sa_family == AF_INET6))
    return AX_EINVAL;
  return 0;
}

int ax_tcp_bind(ax_tcp_t *tcp, const struct sockaddr *addr,
                unsigned int flags) {
  int err = tcp_bind_check(tcp, addr, flags);
  if (err != 0)
    return err;
  ax_stream_t *stream = &tcp->stream;
  if (!ax__sock_is_open(&stream->priv.sock)) {
    err = tcp_make_socket(stream, addr->sa_family);
    if (err != 0)
      return err;
  }
  SOCKET socket = ax__win_sock_handle(&stream->priv.sock);
  if (addr->sa_family == AF_INET6) {
    err = tcp_set_v6only(socket, (flags & AX_TCP_IPV6ONLY) != 0);
    if (err != 0)
      return err;
  }
  BOOL exclusive = TRUE;
  if (setsockopt(socket, SOL_SOCKET, SO_EXCLUSIVEADDRUSE,
                 (const char *)&exclusive, sizeof(exclusive)) != 0)
    return ax__win_sock_error();
  if (bind(socket, addr, ax__tcp_addr_len(addr, NULL)) != 0)
    return ax__win_sock_error();
  stream->handle.priv_flags |= AX__STREAM_BOUND;
  return 0;
}

/* ConnectEx works only on a bound socket: make the socket if there is
 * none, and bind it to any address of the family (port 0, as connect()
 * would do implicitly). */
int ax__tcp_connect_prepare(ax_tcp_t *tcp, int family) {
  ax_stream_t *stream = &tcp->stream;
  if (!ax__sock_is_open(&stream->priv.sock)) {
    int err = tcp_make_socket(stream, family);
    if (err != 0)
      return err;
  } else if (tcp_is_ipv6(stream) != (family == AF_INET6)) {
    return AX_EINVAL;
  }
  if (ax__stream_has(stream, AX__STREAM_BOUND))
    return 0;
  struct sockaddr_storage any;
  memset(&any, 0, sizeof(any));
  ((struct sockaddr *)&any)->sa_family = (ADDRESS_FAMILY)family;
  int len = family == AF_INET6 ? sizeof(struct sockaddr_in6)
                               : sizeof(struct sockaddr_in);
  if (bind(ax__win_sock_handle(&stream->priv.sock), (struct sockaddr *)&any,
           len) != 0)
    return ax__win_sock_error();
  stream->handle.priv_flags |= AX__STREAM_BOUND;
  return 0;
}

/* The delay goes to the system in milliseconds, in a ULONG. */
const unsigned int ax__tcp_keepalive_max_s = ULONG_MAX / 1000;

/* SIO_KEEPALIVE_VALS sets the idle time before the first probe, which
 * SO_KEEPALIVE alone leaves at the system's two hours, on every Windows
 * axle runs on (TCP_KEEPIDLE came with Windows 10). Probes then follow
 * every second, as POSIX systems do by default for most of their count. */
int ax__tcp_set_keepalive(ax_os_sock_t s, bool enable, unsigned int delay_s) {
  struct tcp_keepalive values = {
      .onoff = enable ? 1 : 0,
      .keepalivetime = enable ? delay_s * 1000 : 0,
      .keepaliveinterval = 1000,
  };
  DWORD bytes = 0;
  if (WSAIoctl((SOCKET)s, SIO_KEEPALIVE_VALS, &values, sizeof(values), NULL, 0,
               &bytes, NULL, NULL) != 0)
    return ax__win_sock_error();
  return 0;
}

int ax__tcp_name(ax_os_sock_t s, struct sockaddr *name, int *namelen,
                 bool peer) {
  int rc = peer ? getpeername((SOCKET)s, name, namelen)
                : getsockname((SOCKET)s, name, namelen);
  return rc != 0 ? ax__win_sock_error() : 0;
}

/* A linger of zero seconds makes closesocket() abort the connection: the
 * peer gets a reset, and data not yet sent is dropped. EINVAL: nothing
 * left to reset; closed all the same, as on POSIX. */
int ax__tcp_linger_zero(ax_os_sock_t s) {
  struct linger linger = {.l_onoff = 1, .l_linger = 0};
  if (setsockopt((SOCKET)s, SOL_SOCKET, SO_LINGER, (const char *)&linger,
                 sizeof(linger)) != 0) {
    int err = ax__win_sock_error();
    if (err != AX_EINVAL)
      return err;
  }
  return 0;
}

/* A pipe's HANDLE has no socket buffers to size. */
int ax__sock_buffer_size(ax_handle_type type, ax_os_fd_t fd, bool send,
                         int *value) {
  if (type == AX_PIPE)
    return AX_ENOTSUP;
  int name = send ? SO_SNDBUF : SO_RCVBUF;
  int size = *value;
  int len = (int)sizeof(size);
  int rc = size == 0
               ? getsockopt((SOCKET)fd, SOL_SOCKET, name, (char *)&size, &len)
               : setsockopt((SOCKET)fd, SOL_SOCKET, name, (const char *)&size,
                            len);
  if (rc != 0)
    return ax__win_sock_error();
  *value = size;
  return 0;
}

/* A SOCKET is a kernel handle, so it fits ax_os_fd_t (a HANDLE). */
int ax_fileno(const ax_handle_t *handle, ax_os_fd_t *fd) {
  if (handle == NULL || fd == NULL)
    return AX_EINVAL;
  uintptr_t socket;
  if (handle->type == AX_TCP || handle->type == AX_PIPE ||
      handle->type == AX_TTY)
    socket = ((const ax_stream_t *)handle)->priv.sock.socket;
  else if (handle->type == AX_POLL)
    socket = ((const ax_poll_t *)handle)->priv.socket;
  else if (handle->type == AX_UDP)
    socket = ((const ax_udp_t *)handle)->priv.platform.sock.socket;
  else
    return AX_EINVAL;
  if (ax__handle_is_closing(handle) || socket == INVALID_SOCKET)
    return AX_EBADF;
  *fd = (ax_os_fd_t)socket;
  return 0;
}
