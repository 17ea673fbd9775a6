/*
 * win/async.c: the loop's wakeup channel on Windows, a packet posted to the
 * loop's completion port.
 *
 * The port exists from loop init on (win/iocp.c), so opening the channel
 * costs nothing: it only counts the wakeup as an operation that may
 * complete, so that the poll phase looks at the port even when it must not
 * block. Any thread signals by posting the loop's one wakeup packet; its
 * completion calls ax__async_dispatch().
 *
 * ax_async_send() signals only when a handle's pending flag flips (see
 * src/async.c), but many handles, or one handle sent to again while its
 * callback runs, could still queue a packet per signal. So the loop keeps
 * one more flag, wakeup_posted: set by the signal that posts, cleared by
 * the loop just before it dispatches. At most one wakeup packet is ever
 * queued, and a send that lands after the clear posts the next one, so no
 * send is lost.
 */
#include "internal.h"

/* The wakeup packet's completion, on the loop thread. The clear must come
 * before the pending flags are read (in ax__async_dispatch): a send that
 * finds the flag still set has already set its handle's pending flag, and
 * the acquire-release pair on wakeup_posted makes that visible here. */
static void async_wakeup_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)io;
  (void)bytes;
  __atomic_exchange_n(&loop->priv.platform.wakeup_posted, 0, __ATOMIC_ACQ_REL);
  ax__async_dispatch(loop);
}

/* The wakeup is one operation for the loop's life: its callback is set
 * once, before anything could post it. */
void ax__wakeup_init(ax_loop_t *loop) {
  loop->priv.platform.wakeup.cb = async_wakeup_cb;
}

/* Nothing to create (the port is the backend's): counting the wakeup as an
 * operation is what makes a poll phase that must not block still look for
 * its packet. Cannot fail. */
int ax__wakeup_open(ax_loop_t *loop) {
  struct ax__loop_platform *platform = &loop->priv.platform;
  if (platform->wakeup_open)
    return 0;
  platform->wakeup_open = 1;
  platform->io_count++;
  return 0;
}

/* A packet still queued is discarded with the port, which the loop closes
 * right after this (ax_loop_close). */
void ax__wakeup_close(ax_loop_t *loop) {
  struct ax__loop_platform *platform = &loop->priv.platform;
  if (!platform->wakeup_open)
    return;
  platform->wakeup_open = 0;
  platform->io_count--;
}

/* Any thread: post the wakeup packet unless one is queued already. */
void ax__wakeup_signal(ax_loop_t *loop) {
  struct ax__loop_platform *platform = &loop->priv.platform;
  if (__atomic_exchange_n(&platform->wakeup_posted, 1, __ATOMIC_ACQ_REL) != 0)
    return; /* Queued already; its dispatch will see this send too. */
  /* Like errno on POSIX, the caller's last-error value is left as it was. */
  DWORD saved_error = GetLastError();
  if (!ax__win_sys.post_queued_completion_status(
          platform->iocp, 0, 0, ax__io_overlapped(&platform->wakeup))) {
    /* The kernel had no memory for the packet. Clear the flag so that the
     * next signal, of any handle, tries again and dispatches this one. */
    __atomic_store_n(&platform->wakeup_posted, 0, __ATOMIC_RELEASE);
  }
  SetLastError(saved_error);
}
