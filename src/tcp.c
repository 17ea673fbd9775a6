/*
 * tcp.c: what TCP handles do the same on every system: the checks of each
 * call, connecting through the stream engine, the options chosen before a
 * socket exists, names, and the close that resets. The calls that differ
 * are the system's (src/unix/tcp.c, src/win/tcp.c, declared in
 * src/stream.h): making, adopting and binding sockets, preparing a
 * connect (Windows' ConnectEx wants a bound socket), setting options, and
 * reading names.
 *
 * A handle has no socket until bind or connect makes one for the address's
 * family, or ax_tcp_open() adopts one. Options set before that are kept
 * and applied to the socket when it is made, adopted or accepted
 * (ax__tcp_sock_options()): ax_tcp_nodelay() in the handle's flags,
 * ax_tcp_keepalive() with its delay in the stream's ext (the handle has no
 * room for a delay, and few handles ask).
 */
#include <string.h>

#include "stream.h"

/* The system's address types come with sock-os.h (stream.h). */
int ax__tcp_addr_len(const struct sockaddr *addr, int *family) {
  if (family != NULL)
    *family = addr->sa_family;
  if (addr->sa_family == AF_INET)
    return (int)sizeof(struct sockaddr_in);
  if (addr->sa_family == AF_INET6)
    return (int)sizeof(struct sockaddr_in6);
  return 0;
}

int ax_tcp_init(ax_loop_t *loop, ax_tcp_t *tcp) {
  return ax_tcp_init_ex(loop, tcp, AF_UNSPEC);
}

/* A socket made here is made as bind or connect would make it; a failure
 * takes the handle back out of the loop, as if never initialised. */
int ax_tcp_init_ex(ax_loop_t *loop, ax_tcp_t *tcp, unsigned int flags) {
  unsigned int family = flags & 0xffu;
  if (loop == NULL || tcp == NULL || (flags & ~0xffu) != 0 ||
      (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
    return AX_EINVAL;
  int err = ax__tcp_system_init();
  if (err == 0)
    err = ax__stream_init(loop, &tcp->stream, AX_TCP);
  if (err != 0 || family == AF_UNSPEC)
    return err;
  err = ax__tcp_socket_make(tcp, (int)family);
  if (err != 0)
    ax__handle_init_undo(&tcp->stream.handle);
  return err;
}

int ax__tcp_sock_options(const ax_stream_t *stream, ax_os_sock_t s) {
  int err = 0;
  if (ax__stream_has(stream, AX__STREAM_NODELAY))
    err = ax__tcp_set_nodelay(s, true);
  const struct ax__stream_ext *ext = stream->priv.ext;
  if (err == 0 && ext != NULL && ext->keepalive_s != 0)
    err = ax__tcp_set_keepalive(s, true, ext->keepalive_s);
  return err;
}

static int tcp_connect_check(const ax_connect_t *req, const ax_tcp_t *tcp,
                             const struct sockaddr *addr,
                             ax_connect_cb connect_cb) {
  if (req == NULL || tcp == NULL || addr == NULL || connect_cb == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  if (ax__tcp_addr_len(addr, NULL) == 0)
    return AX_EINVAL;
  if (ax__stream_has(&tcp->stream, AX__STREAM_CONNECTING))
    return AX_EALREADY;
  if (ax__stream_has(&tcp->stream, AX__STREAM_CONNECTED))
    return AX_EISCONN;
  if (ax__stream_has(&tcp->stream, AX__STREAM_LISTENING))
    return AX_EINVAL;
  return 0;
}

/* A failure at once (an unreachable network, say) is reported to the
 * callback like one that comes later, from the pending phase
 * (ax__stream_connect()). */
int ax_tcp_connect(ax_connect_t *req, ax_tcp_t *tcp,
                   const struct sockaddr *addr, ax_connect_cb connect_cb) {
  int err = tcp_connect_check(req, tcp, addr, connect_cb);
  if (err != 0)
    return err;
  int family;
  int len = ax__tcp_addr_len(addr, &family);
  err = ax__tcp_connect_prepare(tcp, family);
  if (err != 0)
    return err;
  return ax__stream_connect(&tcp->stream, req, addr, len, connect_cb);
}

/* Remembered for a socket made later (by bind, connect or accept). */
int ax_tcp_nodelay(ax_tcp_t *tcp, bool enable) {
  if (tcp == NULL)
    return AX_EINVAL;
  ax_stream_t *stream = &tcp->stream;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  if (ax__sock_is_open(&stream->priv.sock)) {
    int err = ax__tcp_set_nodelay(ax__sock_os(&stream->priv.sock), enable);
    if (err != 0)
      return err;
  }
  if (enable)
    stream->handle.priv_flags |= AX__STREAM_NODELAY;
  else
    stream->handle.priv_flags &= ~(unsigned int)AX__STREAM_NODELAY;
  return 0;
}

/* Remembered for a socket made later, with the caller's delay (libuv
 * remembers the choice but forgets the delay). Only turning it on needs
 * an ext to keep the delay in; turning it off clears one that exists. */
int ax_tcp_keepalive(ax_tcp_t *tcp, bool enable, unsigned int delay_s) {
  if (tcp == NULL ||
      (enable && (delay_s == 0 || delay_s > ax__tcp_keepalive_max_s)))
    return AX_EINVAL;
  ax_stream_t *stream = &tcp->stream;
  if (ax__stream_closing(stream))
    return AX_EBADF;
  unsigned int kept_s = enable ? delay_s : 0;
  int err = 0;
  struct ax__stream_ext *ext;
  if (ax__sock_is_open(&stream->priv.sock))
    err = ax__tcp_set_keepalive(ax__sock_os(&stream->priv.sock), enable,
                                delay_s);
  else if (enable)
    err = ax__stream_ext_get(stream, &ext);
  if (err != 0)
    return err;
  if (stream->priv.ext != NULL)
    stream->priv.ext->keepalive_s = kept_s;
  return 0;
}

/* The socket of an open TCP handle, or AX_EBADF. */
int ax__tcp_socket_of(const ax_tcp_t *tcp, ax_os_sock_t *s) {
  if (tcp == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream) ||
      !ax__sock_is_open(&tcp->stream.priv.sock))
    return AX_EBADF;
  *s = ax__sock_os(&tcp->stream.priv.sock);
  return 0;
}

static int tcp_name(const ax_tcp_t *tcp, struct sockaddr *name, int *namelen,
                    bool peer) {
  if (name == NULL || namelen == NULL || *namelen < 0)
    return AX_EINVAL;
  ax_os_sock_t s;
  int err = ax__tcp_socket_of(tcp, &s);
  if (err != 0)
    return err;
  return ax__tcp_name(s, name, namelen, peer);
}

int ax_tcp_getsockname(const ax_tcp_t *tcp, struct sockaddr *name,
                       int *namelen) {
  return tcp_name(tcp, name, namelen, false);
}

int ax_tcp_getpeername(const ax_tcp_t *tcp, struct sockaddr *name,
                       int *namelen) {
  return tcp_name(tcp, name, namelen, true);
}

/* A listener has no connection to reset. */
int ax_tcp_close_reset(ax_tcp_t *tcp, ax_close_cb close_cb) {
  if (tcp == NULL)
    return AX_EINVAL;
  if (ax__stream_closing(&tcp->stream))
    return AX_EBADF;
  if (ax__stream_has(&tcp->stream, AX__STREAM_LISTENING))
    return AX_EINVAL;
  if (ax__sock_is_open(&tcp->stream.priv.sock)) {
    int err = ax__tcp_linger_zero(ax__sock_os(&tcp->stream.priv.sock));
    if (err != 0)
      return err;
  }
  return ax_close(&tcp->stream.handle, close_cb);
}

int ax__ip6_split(const char *ip, char *text, size_t size, const char **zone) {
  const char *percent = strchr(ip, '%');
  size_t len = percent != NULL ? (size_t)(percent - ip) : strlen(ip);
  if (len >= size)
    return AX_EINVAL;
  memcpy(text, ip, len);
  text[len] = '\0';
  *zone = percent != NULL ? percent + 1 : NULL;
  return 0;
}
