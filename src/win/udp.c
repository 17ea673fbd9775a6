/*
 * win/udp.c: the Windows half of UDP handles (src/udp.c is the portable
 * half), on the IOCP backend's socket operations (win/iocp-sock.c).
 *
 * Receiving is the streams' way: a zero-byte overlapped read waits for a
 * datagram (peeking, AX__WIN_SOCK_DGRAM, so that it takes nothing), its
 * RECV completion says one is there, and this file reads with
 * WSARecvFrom() without an OVERLAPPED into the alloc callback's buffer
 * until Winsock says WSAEWOULDBLOCK, a burst bounded per wakeup. No
 * buffer of the caller's is held while the socket waits, so stopping
 * hands nothing back.
 *
 * Sending: a datagram is tried at once without an OVERLAPPED (src/udp.c);
 * a queue leaves one overlapped WSASendTo() at a time, the head of the
 * queue, each SEND completion sending the next.
 *
 * Windows reports a port unreachable (ICMP) as WSAECONNRESET on a UDP
 * socket. On a connected socket that is the peer's answer, reported as
 * AX_ECONNREFUSED, as POSIX does; an unconnected one skips it, as POSIX
 * never reports it there.
 *
 * Closing waits for the kernel's packets (ax__handle_close_wait), as a
 * stream's does; the socket's memory is the handle's.
 */
#include <string.h>

#include "sock.h"
#include "../udp.h"

enum {
  /* Reads per wakeup, as on POSIX. */
  UDP_RECV_BURST = 32,
};

static ax__sock_t *udp_sock(ax_udp_t *udp) {
  return &udp->priv.platform.sock;
}

static SOCKET udp_socket(const ax_udp_t *udp) {
  return (SOCKET)udp->priv.platform.sock.socket;
}

bool ax__udp_has_socket(const ax_udp_t *udp) {
  return udp_socket(udp) != INVALID_SOCKET;
}

static void udp_sock_cb(ax_loop_t *loop, ax__sock_t *sock, unsigned int op,
                        intptr_t result);

void ax__udp_socket_init(ax_udp_t *udp) {
  ax__sock_init(udp_sock(udp), udp_sock_cb);
}

bool ax__udp_batch_supported(void) {
  return false;
}

/* The family is kept in the socket's flags: Windows' getsockname() fails
 * on a socket not yet bound, where the options still need it. */
static int udp_attach(ax_udp_t *udp, SOCKET s, int family) {
  int err = ax__sock_attach(udp->handle.loop, udp_sock(udp), (ax_os_sock_t)s);
  if (err == 0)
    udp_sock(udp)->flags |= AX__WIN_SOCK_DGRAM |
                            (family == AF_INET6 ? AX__WIN_SOCK_IPV6 : 0);
  return err;
}

int ax__udp_socket_make(ax_udp_t *udp, int family) {
  if (ax__udp_has_socket(udp))
    return 0;
  SOCKET s = ax__win_sock.wsa_socket(family, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
                                     WSA_FLAG_OVERLAPPED |
                                         WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET)
    return ax__win_sock_error();
  int err = udp_attach(udp, s, family);
  if (err != 0)
    closesocket(s);
  return err;
}

int ax__udp_socket_adopt(ax_udp_t *udp, ax_os_sock_t sock) {
  int type = 0;
  int len = (int)sizeof(type);
  if (getsockopt((SOCKET)sock, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0)
    return ax__win_sock_error();
  if (type != SOCK_DGRAM)
    return AX_EINVAL;
  WSAPROTOCOL_INFOW info;
  len = (int)sizeof(info);
  if (getsockopt((SOCKET)sock, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info,
                 &len) != 0)
    return ax__win_sock_error();
  struct sockaddr_storage peer;
  int peer_len = (int)sizeof(peer);
  if (getpeername((SOCKET)sock, (struct sockaddr *)&peer, &peer_len) == 0)
    udp->handle.priv_flags |= AX__UDP_CONNECTED;
  return udp_attach(udp, (SOCKET)sock, info.iAddressFamily);
}

static int udp_set_int(SOCKET s, int level, int name, int value) {
  if (setsockopt(s, level, name, (const char *)&value, sizeof(value)) != 0)
    return ax__win_sock_error();
  return 0;
}

int ax__udp_socket_bind(ax_udp_t *udp, const struct sockaddr *addr, int len,
                        unsigned int flags) {
  SOCKET s = udp_socket(udp);
  int err = 0;
  if (flags & AX_UDP_REUSEADDR)
    err = udp_set_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
  if (err == 0 && addr->sa_family == AF_INET6)
    err = udp_set_int(s, IPPROTO_IPV6, IPV6_V6ONLY,
                      (flags & AX_UDP_IPV6ONLY) != 0);
  if (err == 0 && bind(s, addr, len) != 0)
    err = ax__win_sock_error();
  return err;
}

int ax__udp_socket_connect(ax_udp_t *udp, const struct sockaddr *addr,
                           int len) {
  struct sockaddr_storage none;
  if (addr == NULL) {
    /* An address of the socket's family, all zeros, dissolves the
     * association. */
    int family = (udp->priv.platform.sock.flags & AX__WIN_SOCK_IPV6) ? AF_INET6
                                                                     : AF_INET;
    memset(&none, 0, sizeof(none));
    none.ss_family = (ADDRESS_FAMILY)family;
    addr = (const struct sockaddr *)&none;
    len = family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
                             : (int)sizeof(struct sockaddr_in);
  }
  if (connect(udp_socket(udp), addr, len) != 0)
    return ax__win_sock_error();
  return 0;
}

int ax__udp_socket_name(const ax_udp_t *udp, struct sockaddr *name,
                        int *namelen, bool peer) {
  int r = peer ? getpeername(udp_socket(udp), name, namelen)
               : getsockname(udp_socket(udp), name, namelen);
  return r == 0 ? 0 : ax__win_sock_error();
}

intptr_t ax__udp_socket_send(ax_udp_t *udp, const ax_buf_t *bufs,
                             unsigned int nbufs, const struct sockaddr *addr,
                             int len) {
  int err = 0;
  /* A second try: the first may only have collected the ICMP answer to an
   * earlier datagram, which an unconnected socket does not report. */
  for (int attempt = 0; attempt < 2; attempt++) {
    DWORD sent = 0;
    if (WSASendTo(udp_socket(udp), (WSABUF *)(uintptr_t)bufs, nbufs, &sent, 0,
                  len > 0 ? addr : NULL, len, NULL, NULL) == 0)
      return (intptr_t)sent;
    err = ax__win_sock_error();
    if (err != AX_ECONNRESET || ax__udp_has(udp, AX__UDP_CONNECTED))
      break;
  }
  return err == AX_ECONNRESET ? AX_ECONNREFUSED : err;
}

void ax__udp_flush(ax_udp_t *udp) {
  ax__sock_t *sock = udp_sock(udp);
  while (!(sock->flags & AX__WIN_SOCK_SEND_POSTED)) {
    ax_udp_send_t *req = ax__udp_send_head(udp);
    if (req == NULL)
      return;
    intptr_t n = ax__iocp_send_to(
        udp->handle.loop, sock, req->priv.bufs, req->priv.nbufs,
        (const struct sockaddr *)&req->priv.addr, req->priv.addr_len);
    if (n == 0 && (sock->flags & AX__WIN_SOCK_SEND_POSTED))
      return; /* In flight: its SEND completion goes on. */
    if (n == AX_ECONNRESET)
      n = AX_ECONNREFUSED;
    ax__udp_send_done(udp, req, n < 0 ? (int)n : 0);
  }
}

void ax__udp_send_watch(ax_udp_t *udp) {
  ax__udp_flush(udp);
}

static bool udp_receiving(const ax_udp_t *udp) {
  return ax__udp_has(udp, AX__UDP_RECEIVING) &&
         !ax__handle_is_closing(&udp->handle);
}

/* One read into buf: false once there is nothing more to read. */
static bool udp_recv_one(ax_udp_t *udp, const ax_buf_t *buf) {
  struct sockaddr_storage addr;
  int addr_len = (int)sizeof(addr);
  DWORD bytes = 0;
  DWORD flags = 0;
  int rc = WSARecvFrom(udp_socket(udp), (WSABUF *)(uintptr_t)buf, 1, &bytes,
                       &flags, (struct sockaddr *)&addr, &addr_len, NULL, NULL);
  unsigned int partial = 0;
  if (rc != 0) {
    int err = ax__win_sock_error();
    if (err == AX_EMSGSIZE) { /* Cut to the buffer: the rest is gone. */
      bytes = buf->len;
      partial = AX_UDP_PARTIAL;
    } else if (err == AX_ECONNRESET && !ax__udp_has(udp, AX__UDP_CONNECTED)) {
      udp->priv.recv_cb(udp, 0, buf, NULL, 0);
      return true; /* An unconnected socket has no peer to refuse it. */
    } else {
      bool again = err == AX_EAGAIN;
      if (err == AX_ECONNRESET)
        err = AX_ECONNREFUSED;
      udp->priv.recv_cb(udp, again ? 0 : err, buf, NULL, 0);
      return !again;
    }
  }
  udp->priv.recv_cb(udp, (ptrdiff_t)bytes, buf, (const struct sockaddr *)&addr,
                    partial);
  return true;
}

static void udp_recv_burst(ax_udp_t *udp) {
  for (int i = 0; i < UDP_RECV_BURST && udp_receiving(udp); i++) {
    ax_buf_t buf = {0};
    udp->priv.alloc_cb(&udp->handle, AX__UDP_DATAGRAM_MAX, &buf);
    if (buf.base == NULL || buf.len == 0) {
      udp->priv.recv_cb(udp, AX_ENOBUFS, &buf, NULL, 0);
      return;
    }
    if (!udp_recv_one(udp, &buf))
      return;
  }
}

static void udp_sock_cb(ax_loop_t *loop, ax__sock_t *sock, unsigned int op,
                        intptr_t result) {
  (void)loop;
  ax_udp_t *udp = ax_container_of(sock, ax_udp_t, priv.platform.sock);
  if (op == AX__OP_CLOSE) {
    ax__handle_close_resume(&udp->handle);
    return;
  }
  if (op == AX__OP_SEND) {
    ax_udp_send_t *req = ax__udp_send_head(udp);
    if (req == NULL)
      return;
    int status = result < 0 ? (int)result : 0;
    if (status == AX_ECONNRESET)
      status = AX_ECONNREFUSED;
    ax__udp_send_done(udp, req, status);
    ax__udp_flush(udp);
    return;
  }
  if (op == AX__OP_RECV && udp_receiving(udp))
    udp_recv_burst(udp);
}

int ax__udp_recv_begin(ax_udp_t *udp) {
  ax_loop_t *loop = udp->handle.loop;
  return loop->priv.platform.backend->sock->recv_start(loop, udp_sock(udp));
}

void ax__udp_recv_end(ax_udp_t *udp) {
  ax_loop_t *loop = udp->handle.loop;
  if (ax__udp_has_socket(udp))
    loop->priv.platform.backend->sock->recv_stop(loop, udp_sock(udp));
}

void ax__udp_socket_close(ax_udp_t *udp) {
  if (!ax__udp_has_socket(udp))
    return;
  ax_loop_t *loop = udp->handle.loop;
  if (loop->priv.platform.backend->sock->sock_close(loop, udp_sock(udp)) ==
      AX__OP_PENDING)
    ax__handle_close_wait(&udp->handle);
}

/* ---- Options (udp-options.c sets them) ---- */

int ax__udp_option_family(const ax_udp_t *udp, int *family) {
  *family = AF_UNSPEC;
  if (udp == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle) || !ax__udp_has_socket(udp))
    return AX_EBADF;
  *family = (udp->priv.platform.sock.flags & AX__WIN_SOCK_IPV6) ? AF_INET6
                                                                : AF_INET;
  return 0;
}

int ax__udp_setsockopt(ax_udp_t *udp, int level, int name, const void *value,
                       int len) {
  if (setsockopt(udp_socket(udp), level, name, (const char *)value, len) != 0)
    return ax__win_sock_error();
  return 0;
}
