/*
 * unix/tcp.c: the POSIX half of TCP handles (src/tcp.c is the portable
 * half): making, adopting and binding sockets, their options and names,
 * and the address helpers. Everything that happens on a socket once it
 * exists is the stream engine's (src/stream.c, listen.c).
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

int ax__tcp_system_init(void) {
  return 0;
}

int ax__tcp_set_nodelay(ax_os_sock_t s, bool enable) {
  return ax__sock_set_int(s, IPPROTO_TCP, TCP_NODELAY, enable);
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
int ax__tcp_connect_prepare(ax_tcp_t *tcp, int family) {
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
  socklen_t len = (socklen_t)ax__tcp_addr_len(addr, NULL);
  if (len == 0)
    return AX_EAFNOSUPPORT;
  if ((flags & AX_TCP_IPV6ONLY) && addr->sa_family != AF_INET6)
    return AX_EINVAL;
  if (tcp->stream.handle.priv_flags &
      (AX__STREAM_CONNECTED | AX__STREAM_CONNECTING | AX__STREAM_LISTENING))
    return AX_EINVAL;
  int err = ax__tcp_connect_prepare(tcp, addr->sa_family);
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

/* The delay is set as an int. */
const unsigned int ax__tcp_keepalive_max_s = INT32_MAX;

int ax__tcp_set_keepalive(ax_os_sock_t s, bool enable, unsigned int delay_s) {
  int err = ax__sock_set_int(s, SOL_SOCKET, SO_KEEPALIVE, enable);
  if (err == 0 && enable)
    err = ax__sock_keepalive_delay(s, delay_s);
  return err;
}

int ax__tcp_name(ax_os_sock_t s, struct sockaddr *name, int *namelen,
                 bool peer) {
  socklen_t len = (socklen_t)*namelen;
  int rc = peer ? ax__sys.getpeername(s, name, &len)
                : ax__sys.getsockname(s, name, &len);
  if (rc != 0)
    return ax_translate_sys_error(errno);
  *namelen = (int)len;
  return 0;
}

/* macOS and Solaris refuse a zero linger with EINVAL once the connection
 * was shut down or reset (POSIX allows that): there is nothing left to
 * reset, so the handle is closed all the same, as in libuv. */
int ax__tcp_linger_zero(ax_os_sock_t s) {
  struct linger linger = {1, 0};
  if (ax__sys.setsockopt(s, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) !=
          0 &&
      errno != EINVAL)
    return ax_translate_sys_error(errno);
  return 0;
}

int ax_fileno(const ax_handle_t *handle, ax_os_fd_t *fd) {
  if (handle == NULL || fd == NULL)
    return AX_EINVAL;
  int found;
  switch (handle->type) {
  case AX_TCP:
  case AX_PIPE:
  case AX_TTY:
    found = ((const ax_stream_t *)handle)->priv.sock.fd;
    break;
  case AX_POLL:
    found = ((const ax_poll_t *)handle)->priv.io.fd;
    break;
  case AX_UDP:
    found = ((const ax_udp_t *)handle)->priv.platform.io.fd;
    break;
  default:
    return AX_EINVAL;
  }
  if (found < 0 || ax__handle_is_closing(handle))
    return AX_EBADF;
  *fd = found;
  return 0;
}

int ax__sock_buffer_size(ax_handle_type type, ax_os_fd_t fd, bool send,
                         int *value) {
  (void)type; /* A pipe that is not a socket gets ENOTSOCK from the system. */
  int name = send ? SO_SNDBUF : SO_RCVBUF;
  int rc;
  if (*value == 0) {
    int size = 0;
    socklen_t len = sizeof(size);
    rc = ax__sys.getsockopt(fd, SOL_SOCKET, name, &size, &len);
    if (rc == 0)
      *value = size;
  } else {
    rc = ax__sys.setsockopt(fd, SOL_SOCKET, name, value, sizeof(*value));
  }
  return rc == 0 ? 0 : ax_translate_sys_error(errno);
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
  const char *zone;
  if (ip == NULL || addr == NULL || port < 0 || port > 65535)
    return AX_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin6_family = AF_INET6;
  addr->sin6_port = htons((uint16_t)port);
  if (ax__ip6_split(ip, text, sizeof(text), &zone) != 0 ||
      inet_pton(AF_INET6, text, &addr->sin6_addr) != 1)
    return AX_EINVAL;
  if (zone != NULL) {
    addr->sin6_scope_id = tcp_scope_id(zone);
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
