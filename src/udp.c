/*
 * udp.c: what UDP handles do the same on every system: the checks of each
 * call, the queue of sends, their callbacks, and closing. The socket is
 * the system's (src/unix/udp.c, src/win/udp.c, declared in src/udp.h).
 *
 * A send is tried at once when nothing is queued before it; what the
 * kernel does not take is queued, and the system's half sends the queue
 * when the socket is writable. Either way the callback runs from the
 * pending phase, never inside ax_udp_send(): finished sends wait in the
 * handle's done list, and one pending entry per handle runs them all.
 * While a batch of received datagrams is delivered (AX_UDP_RECVMMSG), sends
 * skip the try and queue, so that they leave together after the batch.
 */
#include <string.h>

#include "stream.h"
#include "udp.h"

static void udp_run_done(ax_loop_t *loop, ax__pending_t *pending);

int ax_udp_init_ex(ax_loop_t *loop, ax_udp_t *udp, unsigned int flags) {
  if (loop == NULL || udp == NULL || (flags & ~(unsigned int)AX_UDP_RECVMMSG))
    return AX_EINVAL;
  int err = ax__tcp_system_init(); /* Winsock's start-up, where there is one. */
  if (err != 0)
    return err;
  err = ax__handle_init(loop, &udp->handle, AX_UDP);
  if (err != 0)
    return err;
  udp->send_queue_size = 0;
  udp->send_queue_count = 0;
  udp->priv.alloc_cb = NULL;
  udp->priv.recv_cb = NULL;
  ax__queue_init(&udp->priv.sends);
  ax__queue_init(&udp->priv.done);
  ax__queue_init(&udp->priv.pending.node);
  udp->priv.pending.cb = udp_run_done;
  ax__udp_socket_init(udp);
  if ((flags & AX_UDP_RECVMMSG) && ax__udp_batch_supported())
    udp->handle.priv_flags |= AX__UDP_RECVMMSG;
  return 0;
}

int ax_udp_init(ax_loop_t *loop, ax_udp_t *udp) {
  return ax_udp_init_ex(loop, udp, 0);
}

bool ax_udp_using_recvmmsg(const ax_udp_t *udp) {
  return udp != NULL && ax__udp_has(udp, AX__UDP_RECVMMSG);
}

size_t ax_udp_get_send_queue_size(const ax_udp_t *udp) {
  return udp != NULL ? udp->send_queue_size : 0;
}

size_t ax_udp_get_send_queue_count(const ax_udp_t *udp) {
  return udp != NULL ? udp->send_queue_count : 0;
}

int ax_udp_open(ax_udp_t *udp, ax_os_sock_t sock) {
  if (udp == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle))
    return AX_EBADF;
  if (ax__udp_has_socket(udp))
    return AX_EBUSY;
  return ax__udp_socket_adopt(udp, sock);
}

int ax_udp_bind(ax_udp_t *udp, const struct sockaddr *addr,
                unsigned int flags) {
  if (udp == NULL || addr == NULL ||
      (flags & ~(unsigned int)(AX_UDP_IPV6ONLY | AX_UDP_REUSEADDR)) != 0)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle))
    return AX_EBADF;
  int family;
  int len = ax__tcp_addr_len(addr, &family);
  if (len == 0)
    return AX_EAFNOSUPPORT;
  if ((flags & AX_UDP_IPV6ONLY) && family != AF_INET6)
    return AX_EINVAL;
  int err = ax__udp_socket_make(udp, family);
  if (err != 0)
    return err;
  return ax__udp_socket_bind(udp, addr, len, flags);
}

int ax_udp_connect(ax_udp_t *udp, const struct sockaddr *addr) {
  if (udp == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle))
    return AX_EBADF;
  if (addr == NULL) {
    if (!ax__udp_has(udp, AX__UDP_CONNECTED))
      return AX_ENOTCONN;
    int err = ax__udp_socket_connect(udp, NULL, 0);
    if (err == 0)
      udp->handle.priv_flags &= ~(unsigned int)AX__UDP_CONNECTED;
    return err;
  }
  if (ax__udp_has(udp, AX__UDP_CONNECTED))
    return AX_EISCONN;
  int family;
  int len = ax__tcp_addr_len(addr, &family);
  if (len == 0)
    return AX_EAFNOSUPPORT;
  int err = ax__udp_socket_make(udp, family);
  if (err == 0)
    err = ax__udp_socket_connect(udp, addr, len);
  if (err == 0)
    udp->handle.priv_flags |= AX__UDP_CONNECTED;
  return err;
}

static int udp_name(const ax_udp_t *udp, struct sockaddr *name, int *namelen,
                    bool peer) {
  if (udp == NULL || name == NULL || namelen == NULL || *namelen < 0)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle) || !ax__udp_has_socket(udp))
    return AX_EBADF;
  return ax__udp_socket_name(udp, name, namelen, peer);
}

int ax_udp_getsockname(const ax_udp_t *udp, struct sockaddr *name,
                       int *namelen) {
  return udp_name(udp, name, namelen, false);
}

int ax_udp_getpeername(const ax_udp_t *udp, struct sockaddr *name,
                       int *namelen) {
  return udp_name(udp, name, namelen, true);
}

/* The checks ax_udp_send() and ax_udp_try_send() share; *len is addr's
 * length (0 without one). A handle with no socket gets one of addr's
 * family, which the kernel binds on the first send. */
static int udp_send_check(ax_udp_t *udp, const ax_buf_t bufs[],
                          unsigned int nbufs, const struct sockaddr *addr,
                          int *len) {
  if (udp == NULL || (bufs == NULL && nbufs > 0))
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle))
    return AX_EBADF;
  *len = 0;
  if (addr == NULL)
    return ax__udp_has(udp, AX__UDP_CONNECTED) ? 0 : AX_ENOTCONN;
  if (ax__udp_has(udp, AX__UDP_CONNECTED))
    return AX_EISCONN;
  int family;
  *len = ax__tcp_addr_len(addr, &family);
  if (*len == 0)
    return AX_EAFNOSUPPORT;
  return ax__udp_socket_make(udp, family);
}

int ax_udp_try_send(ax_udp_t *udp, const ax_buf_t bufs[], unsigned int nbufs,
                    const struct sockaddr *addr) {
  int len;
  int err = udp_send_check(udp, bufs, nbufs, addr, &len);
  if (err != 0)
    return err;
  /* Behind queued sends it would leave out of order. */
  if (udp->send_queue_count > 0)
    return AX_EAGAIN;
  return (int)ax__udp_socket_send(udp, bufs, nbufs, addr, len);
}

static size_t udp_bufs_size(const ax_buf_t bufs[], unsigned int nbufs) {
  size_t total = 0;
  for (unsigned int i = 0; i < nbufs; i++)
    total += bufs[i].len;
  return total;
}

/* Fill the request; AX_ENOMEM if a long vector cannot be copied. */
static int udp_send_init(ax_udp_send_t *req, ax_udp_t *udp,
                         const ax_buf_t bufs[], unsigned int nbufs,
                         const struct sockaddr *addr, int len,
                         ax_udp_send_cb send_cb) {
  req->priv.bufs = req->priv.inline_bufs;
  if (nbufs > AX__UDP_SEND_INLINE_BUFS) {
    req->priv.bufs = ax__malloc(nbufs * sizeof(ax_buf_t));
    if (req->priv.bufs == NULL)
      return AX_ENOMEM;
  }
  if (nbufs > 0)
    memcpy(req->priv.bufs, bufs, nbufs * sizeof(ax_buf_t));
  req->req.type = AX_UDP_SEND;
  req->req.loop = udp->handle.loop;
  req->handle = udp;
  req->priv.cb = send_cb;
  req->priv.nbufs = nbufs;
  req->priv.status = 0;
  req->priv.addr_len = len;
  if (len > 0)
    memcpy(req->priv.addr.bytes, addr, (size_t)len);
  ax__queue_init(&req->priv.node);
  return 0;
}

/* A finished send: its callback waits in done for the pending phase. */
static void udp_send_finish(ax_udp_t *udp, ax_udp_send_t *req, int status) {
  req->priv.status = status;
  ax__queue_insert_tail(&udp->priv.done, &req->priv.node);
  if (ax__queue_empty(&udp->priv.pending.node))
    ax__pending_push(udp->handle.loop, &udp->priv.pending);
}

void ax__udp_send_done(ax_udp_t *udp, ax_udp_send_t *req, int status) {
  ax__queue_remove(&req->priv.node);
  udp->send_queue_count--;
  udp->send_queue_size -= udp_bufs_size(req->priv.bufs, req->priv.nbufs);
  udp_send_finish(udp, req, status);
}

int ax_udp_send(ax_udp_send_t *req, ax_udp_t *udp, const ax_buf_t bufs[],
                unsigned int nbufs, const struct sockaddr *addr,
                ax_udp_send_cb send_cb) {
  if (req == NULL || send_cb == NULL)
    return AX_EINVAL;
  int len;
  int err = udp_send_check(udp, bufs, nbufs, addr, &len);
  if (err == 0)
    err = udp_send_init(req, udp, bufs, nbufs, addr, len, send_cb);
  if (err != 0)
    return err;
  udp->handle.loop->priv.active_reqs++;
  if (udp->send_queue_count == 0 && !ax__udp_has(udp, AX__UDP_IN_BATCH)) {
    intptr_t n = ax__udp_socket_send(udp, req->priv.bufs, nbufs,
                                     (const struct sockaddr *)&req->priv.addr,
                                     len);
    if (n != AX_EAGAIN) {
      udp_send_finish(udp, req, n < 0 ? (int)n : 0);
      return 0;
    }
  }
  ax__queue_insert_tail(&udp->priv.sends, &req->priv.node);
  udp->send_queue_count++;
  udp->send_queue_size += udp_bufs_size(bufs, nbufs);
  /* The kernel just said no: wait until it can take more. */
  if (!ax__udp_has(udp, AX__UDP_IN_BATCH))
    ax__udp_send_watch(udp);
  return 0;
}

/* Run the callbacks of the sends in list, each with its status (status
 * 0) or with status. */
static void udp_complete(ax_loop_t *loop, ax__queue_t *list, int status) {
  while (!ax__queue_empty(list)) {
    ax__queue_t *node = ax__queue_head(list);
    ax__queue_remove(node);
    ax_udp_send_t *req = ax_container_of(node, ax_udp_send_t, priv.node);
    if (req->priv.bufs != req->priv.inline_bufs)
      ax__free(req->priv.bufs);
    req->priv.bufs = NULL;
    loop->priv.active_reqs--;
    req->priv.cb(req, status != 0 ? status : req->priv.status);
  }
}

/* The pending phase: the sends that finished since the last one. A
 * callback may send again (into a fresh done list) or close the handle. */
static void udp_run_done(ax_loop_t *loop, ax__pending_t *pending) {
  ax_udp_t *udp = ax_container_of(pending, ax_udp_t, priv.pending);
  ax__queue_t done;
  ax__queue_move(&udp->priv.done, &done);
  udp_complete(loop, &done, 0);
}

/* A handle with no socket is bound to 0.0.0.0 on a port of the system's
 * choosing before it receives: nothing would ever arrive at a socket
 * with no port. */
static int udp_bind_any(ax_udp_t *udp) {
  if (ax__udp_has_socket(udp))
    return 0;
  struct sockaddr_in any;
  memset(&any, 0, sizeof(any));
  any.sin_family = AF_INET;
  int err = ax__udp_socket_make(udp, AF_INET);
  if (err == 0)
    err = ax__udp_socket_bind(udp, (const struct sockaddr *)&any,
                              (int)sizeof(any), 0);
  return err;
}

int ax_udp_recv_start(ax_udp_t *udp, ax_alloc_cb alloc_cb,
                      ax_udp_recv_cb recv_cb) {
  if (udp == NULL || alloc_cb == NULL || recv_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&udp->handle))
    return AX_EBADF;
  if (ax__udp_has(udp, AX__UDP_RECEIVING))
    return AX_EALREADY;
  udp->priv.alloc_cb = alloc_cb;
  udp->priv.recv_cb = recv_cb;
  int err = udp_bind_any(udp);
  if (err == 0)
    err = ax__udp_recv_begin(udp);
  if (err != 0)
    return err;
  udp->handle.priv_flags |= AX__UDP_RECEIVING;
  ax__handle_start(&udp->handle);
  return 0;
}

int ax_udp_recv_stop(ax_udp_t *udp) {
  if (udp == NULL)
    return AX_EINVAL;
  if (!ax__udp_has(udp, AX__UDP_RECEIVING))
    return 0;
  udp->handle.priv_flags &= ~(unsigned int)AX__UDP_RECEIVING;
  ax__udp_recv_end(udp);
  ax__handle_stop(&udp->handle);
  return 0;
}

void ax__udp_close(ax_handle_t *handle) {
  ax_udp_t *udp = (ax_udp_t *)handle;
  ax_udp_recv_stop(udp);
  ax__udp_socket_close(udp);
  /* The callbacks due run in the close phase (ax__udp_closed). */
  ax__queue_remove(&udp->priv.pending.node);
}

/* The close phase, before the close callback: sends over keep their
 * outcome; the queued ones are cancelled. */
void ax__udp_closed(ax_handle_t *handle) {
  ax_udp_t *udp = (ax_udp_t *)handle;
  ax__queue_t list;
  ax__queue_move(&udp->priv.done, &list);
  udp_complete(handle->loop, &list, 0);
  ax__queue_move(&udp->priv.sends, &list);
  udp->send_queue_count = 0;
  udp->send_queue_size = 0;
  udp_complete(handle->loop, &list, AX_ECANCELED);
}
