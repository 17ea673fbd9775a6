/*
 * udp.h: what the portable UDP engine (src/udp.c) and the system's half
 * (src/unix/udp.c, src/win/udp.c) share.
 *
 * The engine keeps what is the same everywhere: the checks of each call,
 * the queue of sends and the deferred completion of their callbacks, and
 * closing. The system's half owns the socket: making, binding and
 * connecting it, sending and receiving, and the options. It calls back
 * into the engine when a queued send is over (ax__udp_send_done()).
 */
#ifndef AX_UDP_H
#define AX_UDP_H

#include "internal.h"

/* UDP handle flags (priv_flags), above the AX__HANDLE_* bits. */
enum {
  AX__UDP_RECVMMSG = 1u << 8,   /* Read in batches (AX_UDP_RECVMMSG). */
  AX__UDP_CONNECTED = 1u << 9,  /* ax_udp_connect() gave it a peer. */
  AX__UDP_RECEIVING = 1u << 10, /* Between recv_start and recv_stop. */
  /* Delivering a batch of received datagrams: sends queue, and leave
   * together after the batch (ax__udp_flush). */
  AX__UDP_IN_BATCH = 1u << 11,
};

/* Bytes the alloc callback is asked for per datagram: the largest a UDP
 * datagram can be, so that none is cut short by default. */
enum { AX__UDP_DATAGRAM_MAX = 65536 };

static inline bool ax__udp_has(const ax_udp_t *udp, unsigned int flag) {
  return (udp->handle.priv_flags & flag) != 0;
}

/* The oldest queued send, or NULL. */
static inline ax_udp_send_t *ax__udp_send_head(const ax_udp_t *udp) {
  if (ax__queue_empty(&udp->priv.sends))
    return NULL;
  return ax_container_of(ax__queue_head(&udp->priv.sends), ax_udp_send_t,
                         priv.node);
}

/* udp.c: a queued send is over (status 0 or an error): off the queue, and
 * its callback deferred to the pending phase. */
void ax__udp_send_done(ax_udp_t *udp, ax_udp_send_t *req, int status);

/* The system's half. Each returns 0 or an axle error unless it says. */

/* Whether the handle has a socket. */
bool ax__udp_has_socket(const ax_udp_t *udp);
/* Put the handle's socket in its closed state (init). */
void ax__udp_socket_init(ax_udp_t *udp);
/* Make a socket of family (AF_INET, AF_INET6) if the handle has none. */
int ax__udp_socket_make(ax_udp_t *udp, int family);
/* Adopt an open socket. */
int ax__udp_socket_adopt(ax_udp_t *udp, ax_os_sock_t sock);
/* Bind the handle's socket (made already). */
int ax__udp_socket_bind(ax_udp_t *udp, const struct sockaddr *addr, int len,
                        unsigned int flags);
/* Connect the socket to addr, or dissolve its association (addr NULL). */
int ax__udp_socket_connect(ax_udp_t *udp, const struct sockaddr *addr, int len);
/* The socket's own name, or its peer's. */
int ax__udp_socket_name(const ax_udp_t *udp, struct sockaddr *name,
                        int *namelen, bool peer);
/* Send one datagram without waiting: the bytes sent, AX_EAGAIN, or an
 * error. addr is NULL (len 0) on a connected socket. */
intptr_t ax__udp_socket_send(ax_udp_t *udp, const ax_buf_t *bufs,
                             unsigned int nbufs, const struct sockaddr *addr,
                             int len);
/* Send what is queued now, as far as the kernel takes it, completing each
 * send with ax__udp_send_done(), and arrange for the rest to leave when
 * the socket can take it. */
void ax__udp_flush(ax_udp_t *udp);
/* Sends are queued: send them once the socket can take more (a failure
 * to watch is retried at the next flush; the sends complete by the close
 * of the handle at the latest). */
void ax__udp_send_watch(ax_udp_t *udp);
/* The family of the handle's socket (AF_INET, AF_INET6), for an option:
 * 0, AX_EINVAL for NULL, AX_EBADF if closing or without a socket. */
int ax__udp_option_family(const ax_udp_t *udp, int *family);
/* setsockopt() on the handle's socket (ax__udp_option_family() said it
 * has one). */
int ax__udp_setsockopt(ax_udp_t *udp, int level, int name, const void *value,
                       int len);
/* Start and stop receiving (on a socket that has one: ax_udp_recv_start()
 * binds one that has not); the callbacks are in udp->priv. */
int ax__udp_recv_begin(ax_udp_t *udp);
void ax__udp_recv_end(ax_udp_t *udp);
/* Stop everything and close the socket. Nothing is delivered after. */
void ax__udp_socket_close(ax_udp_t *udp);
/* Whether the system reads many datagrams per call (recvmmsg). */
bool ax__udp_batch_supported(void);

#endif /* AX_UDP_H */
