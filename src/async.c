/*
 * async.c: async handles, the portable part.
 *
 * ax_async_send() may run on any thread. It marks the handle pending with an
 * atomic exchange and signals the loop's wakeup channel only when the mark
 * was not already set, so a burst of sends costs one system call and gives
 * one callback. The loop, woken, drains the channel (platform code) and calls
 * ax__async_dispatch(), which clears each pending mark before running the
 * callback: a send that arrives during the callback is not lost.
 *
 * The pending mark has a third value, ASYNC_CLOSED, which ax_close() sets:
 * a send that finds it returns AX_EBADF. A send and a close that race are
 * ordered by the mark: the send either set it first (and returns 0; the
 * callback does not run, the handle being closed) or finds it closed.
 *
 * A send that races with ax_close() could touch the handle after the close
 * callback freed it. Each send therefore counts itself in priv.busy while it
 * works, and the close phase waits for that count to drop to zero before it
 * runs the close callback: a few instructions at most, since a send never
 * blocks.
 */
#include "internal.h"

/* ax_async_t.priv.pending: AX__ASYNC_* of internal.h. */
enum {
  ASYNC_IDLE = AX__ASYNC_IDLE,
  ASYNC_PENDING = AX__ASYNC_PENDING,
  ASYNC_CLOSED = AX__ASYNC_CLOSED,
};

int ax_async_init(ax_loop_t *loop, ax_async_t *async, ax_async_cb async_cb) {
  return ax__async_open(loop, async, AX_ASYNC, async_cb);
}

int ax__async_open(ax_loop_t *loop, ax_async_t *async, ax_handle_type type,
                   ax_async_cb async_cb) {
  if (async == NULL)
    return AX_EINVAL;
  /* The handle first: it checks the loop, which the wakeup channel needs
   * initialised. */
  int err = ax__handle_init(loop, &async->handle, type);
  if (err == AX_EBUSY)
    return err; /* Open already: its fields are in use. */
  if (err == 0) {
    err = async_cb == NULL ? AX_EINVAL : ax__wakeup_open(loop);
    if (err != 0)
      ax__handle_init_undo(&async->handle);
  }
  /* Plain stores: no other thread may send to a handle being initialised.
   * A failed init leaves it refusing sends. */
  async->priv.pending = err == 0 ? ASYNC_IDLE : ASYNC_CLOSED;
  async->priv.busy = 0;
  if (err != 0)
    return err;
  async->priv.cb = async_cb;
  ax__queue_insert_tail(&loop->priv.async_handles, &async->priv.node);
  ax__handle_start(&async->handle);
  return 0;
}

bool ax__async_mark(ax_async_t *async) {
  /* Mark it pending unless closed. Always a read-modify-write, also when
   * it is pending already, so that the dispatch's exchange synchronises
   * with every send before it, not only the first. */
  int old = __atomic_load_n(&async->priv.pending, __ATOMIC_RELAXED);
  while (old != ASYNC_CLOSED &&
         !__atomic_compare_exchange_n(&async->priv.pending, &old, ASYNC_PENDING,
                                      true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
    continue;
  if (old == ASYNC_IDLE)
    ax__wakeup_signal(async->handle.loop);
  return old != ASYNC_CLOSED;
}

bool ax__async_is_closed(const ax_async_t *async) {
  return __atomic_load_n(&async->priv.pending, __ATOMIC_ACQUIRE) ==
         ASYNC_CLOSED;
}

int ax_async_send(ax_async_t *async) {
  if (async == NULL)
    return AX_EINVAL;
  __atomic_fetch_add(&async->priv.busy, 1, __ATOMIC_ACQUIRE);
  bool sent = ax__async_mark(async);
  __atomic_fetch_sub(&async->priv.busy, 1, __ATOMIC_RELEASE);
  return sent ? 0 : AX_EBADF;
}

/* On the loop thread, in ax_close(): sends from here on are refused. */
void ax__async_close(ax_handle_t *handle) {
  ax_async_t *async = (ax_async_t *)handle;
  __atomic_store_n(&async->priv.pending, ASYNC_CLOSED, __ATOMIC_RELEASE);
  ax__queue_remove(&async->priv.node);
}

/* Called in the close phase, just before the close callback may free the
 * handle: wait out sends still in progress on other threads. As late as
 * possible, so that a send racing with the close is covered. */
void ax__async_closed(ax_handle_t *handle) {
  ax_async_t *async = (ax_async_t *)handle;
  while (__atomic_load_n(&async->priv.busy, __ATOMIC_ACQUIRE) != 0)
    ax__thread_yield();
}

/* Run the callback of every handle that was sent to. Called by the platform
 * code after it drained the wakeup channel. Bounded: each handle runs at most
 * once per call, whatever its callback or other threads do meanwhile. */
void ax__async_dispatch(ax_loop_t *loop) {
  /* The thread pool's completions share the wakeup channel. */
  ax__work_dispatch_if_used(loop);
  ax__queue_t snapshot;
  ax__queue_move(&loop->priv.async_handles, &snapshot);
  while (!ax__queue_empty(&snapshot)) {
    ax__queue_t *node = ax__queue_head(&snapshot);
    ax__queue_remove(node);
    ax__queue_insert_tail(&loop->priv.async_handles, node);
    ax_async_t *async = ax_container_of(node, ax_async_t, priv.node);
    /* A message queue clears its own mark, once it has run dry (msgq.c). */
    if (async->handle.type == AX_MSGQ) {
      if (__atomic_load_n(&async->priv.pending, __ATOMIC_SEQ_CST) ==
          ASYNC_PENDING)
        async->priv.cb(async);
      continue;
    }
    if (__atomic_exchange_n(&async->priv.pending, ASYNC_IDLE,
                            __ATOMIC_SEQ_CST) != ASYNC_IDLE)
      async->priv.cb(async);
  }
}
