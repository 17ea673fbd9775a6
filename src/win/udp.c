/*
 * win/udp.c: the Windows half of UDP handles, not written yet. Every call
 * that needs a socket says AX_ENOSYS, so that the portable half
 * (src/udp.c) builds and its checks run here as everywhere. The plan, in
 * docs/udp.md: an overlapped WSARecvFrom into the alloc callback's buffer
 * and an overlapped WSASendTo per queued datagram, on the completion port
 * as src/win/iocp-sock.c does for TCP.
 */
#include "sock.h"
#include "../udp.h"

bool ax__udp_has_socket(const ax_udp_t *udp) {
  return udp->priv.platform.socket != INVALID_SOCKET;
}

void ax__udp_socket_init(ax_udp_t *udp) {
  udp->priv.platform.socket = INVALID_SOCKET;
}

int ax__udp_socket_make(ax_udp_t *udp, int family) {
  (void)udp;
  (void)family;
  return AX_ENOSYS;
}

int ax__udp_socket_adopt(ax_udp_t *udp, ax_os_sock_t sock) {
  (void)udp;
  (void)sock;
  return AX_ENOSYS;
}

int ax__udp_socket_bind(ax_udp_t *udp, const struct sockaddr *addr, int len,
                        unsigned int flags) {
  (void)udp;
  (void)addr;
  (void)len;
  (void)flags;
  return AX_ENOSYS;
}

int ax__udp_socket_connect(ax_udp_t *udp, const struct sockaddr *addr,
                           int len) {
  (void)udp;
  (void)addr;
  (void)len;
  return AX_ENOSYS;
}

int ax__udp_socket_name(const ax_udp_t *udp, struct sockaddr *name,
                        int *namelen, bool peer) {
  (void)udp;
  (void)name;
  (void)namelen;
  (void)peer;
  return AX_ENOSYS;
}

intptr_t ax__udp_socket_send(ax_udp_t *udp, const ax_buf_t *bufs,
                             unsigned int nbufs, const struct sockaddr *addr,
                             int len) {
  (void)udp;
  (void)bufs;
  (void)nbufs;
  (void)addr;
  (void)len;
  return AX_ENOSYS;
}

/* Never reached: no send is queued without a socket. */
void ax__udp_flush(ax_udp_t *udp) {
  (void)udp;
}

void ax__udp_send_watch(ax_udp_t *udp) {
  (void)udp;
}

int ax__udp_recv_begin(ax_udp_t *udp) {
  (void)udp;
  return AX_ENOSYS;
}

void ax__udp_recv_end(ax_udp_t *udp) {
  (void)udp;
}

void ax__udp_socket_close(ax_udp_t *udp) {
  (void)udp;
}

bool ax__udp_batch_supported(void) {
  return false;
}

/* The options: a socket is needed first, and none can be made yet. */
static int udp_no_socket(const ax_udp_t *udp) {
  return udp == NULL ? AX_EINVAL : AX_ENOSYS;
}

int ax_udp_set_broadcast(ax_udp_t *udp, bool enable) {
  (void)enable;
  return udp_no_socket(udp);
}

int ax_udp_set_ttl(ax_udp_t *udp, int ttl) {
  (void)ttl;
  return udp_no_socket(udp);
}

int ax_udp_set_multicast_ttl(ax_udp_t *udp, int ttl) {
  (void)ttl;
  return udp_no_socket(udp);
}

int ax_udp_set_multicast_loop(ax_udp_t *udp, bool enable) {
  (void)enable;
  return udp_no_socket(udp);
}

int ax_udp_set_multicast_interface(ax_udp_t *udp, const char *interface_addr) {
  (void)interface_addr;
  return udp_no_socket(udp);
}

int ax_udp_set_membership(ax_udp_t *udp, const char *multicast_addr,
                          const char *interface_addr,
                          ax_membership membership) {
  (void)multicast_addr;
  (void)interface_addr;
  (void)membership;
  return udp_no_socket(udp);
}

int ax_udp_set_source_membership(ax_udp_t *udp, const char *multicast_addr,
                                 const char *interface_addr,
                                 const char *source_addr,
                                 ax_membership membership) {
  (void)multicast_addr;
  (void)interface_addr;
  (void)source_addr;
  (void)membership;
  return udp_no_socket(udp);
}
