/*
 * unix/tcp.c: TCP handles on POSIX systems: making, adopting, binding and
 * connecting sockets, their options, and the address helpers. Everything
 * that happens on a socket once it exists is the stream's (stream.c,
 * listen.c).
 *
 * A handle has no socket until bind or connect makes one for the address's
 * family, or ax_tcp_open() adopts one. Options set before that
 * (ax_tcp_nodelay()) are kept in the handle's flags and applied to the
 * socket when it is made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sock.h"

int ax__sock_set_int(int fd, int level, int name, int value) {
  if (ax__sys.setsockopt(fd, level, name, &value, sizeof(value)) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

/* The length of an address of a family TCP speaks, or 0. */
static socklen_t tcp_addr_len(const struct sockaddr *addr) {
  if (addr->sa_family == AF_INET)
    return sizeof(struct sockaddr_in);
  if (addr->sa_family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return 0;
}

int ax_tcp_init(ax_loop_t *loop, ax_tcp_t *tcp) {
  if (loop == NULL || tcp == NULL)
    return AX_EINVAL;
  ax__stream_init(loop, &tcp->stream, AX_TCP);
  return 0;
}

int ax__tcp_sock_options(const ax_stream_t *stream, int fd) {
  if (!(stream->handle.priv_flags & AX__STREAM_NODELAY))
    return 0;
  return ax__sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

/* Whether a socket is connected: it has a peer. */
static bool tcp_sock_connected(int fd) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  return ax__sys.getpeername(fd, (struct sockaddr *)&peer, &len) == 0;
}

int ax_tcp_open(ax_tcp_t *tcp, ax_os_sock_t sock) {
  if (tcp == NULL || sock < 0)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  if (tcp->stream.priv.sock.fd >= 0)
    return AX_EBUSY;
  int err = ax__sock_adopt(sock);
  if (err == 0)
    err = ax__tcp_sock_options(&tcp->stream, sock);
  if (err != 0)
    return err;
  return ax__stream_open(&tcp->stream, sock,
                         tcp_sock_connected(sock) ? AX__STREAM_CONNECTED : 0);
}

/* Give the handle a socket for family if it has none yet. */
static int tcp_ensure_socket(ax_tcp_t *tcp, int family) {
  if (tcp->stream.priv.sock.fd >= 0)
    return 0;
  int fd = ax__sock_create(family);
  if (fd < 0)
    return fd;
  int err = ax__tcp_sock_options(&tcp->stream, fd);
  if (err == 0)
    err = ax__stream_open(&tcp->stream, fd, 0);
  if (err != 0)
    ax__close_fd(fd);
  return err;
}

/* The options ax_tcp_bind() sets before binding. */
static int tcp_bind_options(int fd, unsigned int flags) {
  int err = ax__sock_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (err == 0 && (flags & AX_TCP_IPV6ONLY))
    err = ax__sock_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (err == 0 && (flags & AX_TCP_REUSEPORT)) {
    err = ax__sock_set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    /* A kernel without the option (Linux before 3.9) refuses it so. */
    if (err == -ENOPROTOOPT || err == AX_EINVAL)
      err = AX_ENOTSUP;
  }
  return err;
}

int ax_tcp_bind(ax_tcp_t *tcp, const struct sockaddr *addr,
                unsigned int flags) {
  if (tcp == NULL || addr == NULL ||
      (flags & ~(unsigned int)(AX_TCP_IPV6ONLY | AX_TCP_REUSEPORT)) != 0)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  socklen_t len = tcp_addr_len(addr);
  if (len == 0)
    return AX_EAFNOSUPPORT;
  if ((flags & AX_TCP_IPV6ONLY) && addr->sa_family != AF_INET6)
    return AX_EINVAL;
  if (tcp->stream.handle.priv_flags &
      (AX__STREAM_CONNECTED | AX__STREAM_CONNECTING | AX__STREAM_LISTENING))
    return AX_EINVAL;
  int err = tcp_ensure_socket(tcp, addr->sa_family);
  if (err != 0)
    return err;
  int fd = tcp->stream.priv.sock.fd;
  err = tcp_bind_options(fd, flags);
  if (err != 0)
    return err;
  if (ax__sys.bind(fd, addr, len) != 0)
    return ax_translate_sys_error(errno);
  return 0;
}

static int tcp_connect_check(const ax_connect_t *req, const ax_tcp_t *tcp,
                             const struct sockaddr *addr,
                             ax_connect_cb connect_cb) {
  if (req == NULL || tcp == NULL || addr == NULL || connect_cb == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  if (tcp_addr_len(addr) == 0)
    return AX_EINVAL;
  unsigned int flags = tcp->stream.handle.priv_flags;
  if (flags & AX__STREAM_CONNECTING)
    return AX_EALREADY;
  if (flags & AX__STREAM_CONNECTED)
    return AX_EISCONN;
  if (flags & AX__STREAM_LISTENING)
    return AX_EINVAL;
  return 0;
}

int ax_tcp_connect(ax_connect_t *req, ax_tcp_t *tcp,
                   const struct sockaddr *addr, ax_connect_cb connect_cb) {
  int err = tcp_connect_check(req, tcp, addr, connect_cb);
  if (err != 0)
    return err;
  err = tcp_ensure_socket(tcp, addr->sa_family);
  if (err != 0)
    return err;
  return ax__stream_connect(&tcp->stream, req, addr, (int)tcp_addr_len(addr),
                            connect_cb);
}

int ax_tcp_nodelay(ax_tcp_t *tcp, bool enable) {
  if (tcp == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  int fd = tcp->stream.priv.sock.fd;
  if (fd >= 0) {
    int err = ax__sock_set_int(fd, IPPROTO_TCP, TCP_NODELAY, enable);
    if (err != 0)
      return err;
  }
  if (enable)
    tcp->stream.handle.priv_flags |= AX__STREAM_NODELAY;
  else
    tcp->stream.handle.priv_flags &= ~AX__STREAM_NODELAY;
  return 0;
}

int ax_tcp_keepalive(ax_tcp_t *tcp, bool enable, unsigned int delay_s) {
  if (tcp == NULL || (enable && (delay_s == 0 || delay_s > INT32_MAX)))
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream) || tcp->stream.priv.sock.fd < 0)
    return AX_EBADF;
  int fd = tcp->stream.priv.sock.fd;
  int err = ax__sock_set_int(fd, SOL_SOCKET, SO_KEEPALIVE, enable);
  if (err == 0 && enable)
    err = ax__sock_keepalive_delay(fd, delay_s);
  return err;
}

/* getsockname() or getpeername() with an int length. */
static int tcp_name(const ax_tcp_t *tcp, struct sockaddr *name, int *namelen,
                    int (*get)(int, struct sockaddr *, socklen_t *)) {
  if (tcp == NULL || name == NULL || namelen == NULL || *namelen < 0)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream) || tcp->stream.priv.sock.fd < 0)
    return AX_EBADF;
  socklen_t len = (socklen_t)*namelen;
  if (get(tcp->stream.priv.sock.fd, name, &len) != 0)
    return ax_translate_sys_error(errno);
  *namelen = (int)len;
  return 0;
}

int ax_tcp_getsockname(const ax_tcp_t *tcp, struct sockaddr *name,
                       int *namelen) {
  return tcp_name(tcp, name, namelen, ax__sys.getsockname);
}

int ax_tcp_getpeername(const ax_tcp_t *tcp, struct sockaddr *name,
                       int *namelen) {
  return tcp_name(tcp, name, namelen, ax__sys.getpeername);
}

int ax_tcp_close_reset(ax_tcp_t *tcp, ax_close_cb close_cb) {
  if (tcp == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  int fd = tcp->stream.priv.sock.fd;
  if (fd >= 0) {
    /* A zero linger time makes close() send a reset and drop what is
     * unsent. macOS and Solaris refuse it with EINVAL once the connection
     * was shut down or reset (POSIX allows that): there is nothing left
     * to reset, so the handle is closed all the same, as in libuv. */
    struct linger linger = {1, 0};
    if (ax__sys.setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger,
                           sizeof(linger)) != 0 &&
        errno != EINVAL)
      return ax_translate_sys_error(errno);
  }
  return ax_close(&tcp->stream.handle, close_cb);
}

int ax_fileno(const ax_handle_t *handle, ax_os_fd_t *fd) {
  if (handle == NULL || fd == NULL)
    return AX_EINVAL;
  int found;
  switch (handle->type) {
  case AX_TCP:
    found = ((const ax_stream_t *)handle)->priv.sock.fd;
    break;
  case AX_POLL:
    found = ((const ax_poll_t *)handle)->priv.io.fd;
    break;
  default:
    return AX_EINVAL;
  }
  if (found < 0 || ax__handle_is_closing(handle))
    return AX_EBADF;
  *fd = found;
  return 0;
}

/* ---- Addresses ---- */

int ax_ip4_addr(const char *ip, int port, struct sockaddr_in *addr) {
  if (ip == NULL || addr == NULL || port < 0 || port > 65535)
    return AX_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &addr->sin_addr) != 1)
    return AX_EINVAL;
  return 0;
}

/* The scope of "%scope": an interface name or a number. 0 if unknown. */
static uint32_t tcp_scope_id(const char *scope) {
  char *end;
  unsigned long id = strtoul(scope, &end, 10);
  if (scope[0] >= '0' && scope[0] <= '9' && *end == '\0' && id <= UINT32_MAX)
    return (uint32_t)id;
  return if_nametoindex(scope);
}

int ax_ip6_addr(const char *ip, int port, struct sockaddr_in6 *addr) {
  /* The longest IPv6 text (an IPv4 tail included) is 45 characters. */
  char text[INET6_ADDRSTRLEN];
  if (ip == NULL || addr == NULL || port < 0 || port > 65535)
    return AX_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin6_family = AF_INET6;
  addr->sin6_port = htons((uint16_t)port);
  const char *percent = strchr(ip, '%');
  size_t len = percent != NULL ? (size_t)(percent - ip) : strlen(ip);
  if (len >= sizeof(text))
    return AX_EINVAL;
  memcpy(text, ip, len);
  text[len] = '\0';
  if (inet_pton(AF_INET6, text, &addr->sin6_addr) != 1)
    return AX_EINVAL;
  if (percent != NULL) {
    addr->sin6_scope_id = tcp_scope_id(percent + 1);
    if (addr->sin6_scope_id == 0)
      return AX_EINVAL;
  }
  return 0;
}

int ax_ip_name(const struct sockaddr *addr, char *dst, size_t size) {
  if (addr == NULL || dst == NULL)
    return AX_EINVAL;
  const void *src;
  if (addr->sa_family == AF_INET)
    src = &((const struct sockaddr_in *)(const void *)addr)->sin_addr;
  else if (addr->sa_family == AF_INET6)
    src = &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
  else
    return AX_EAFNOSUPPORT;
  if (size > INT32_MAX)
    size = INT32_MAX;
  if (inet_ntop(addr->sa_family, src, dst, (socklen_t)size) == NULL)
    return ax_translate_sys_error(errno);
  return 0;
}
