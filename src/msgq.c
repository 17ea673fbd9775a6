/*
 * msgq.c: message queues, ax_msgq_t: messages posted from any thread,
 * delivered on the loop's thread one callback each.
 *
 * A message queue is an async handle to the loop (its struct begins as
 * ax_async_t's, and it sits on the loop's list of async handles): a post
 * pushes the message and marks the handle pending, which wakes the loop
 * only when the mark was not set already, so a burst of posts costs one
 * wakeup. Closing, and posts racing it, work as for an async handle
 * (async.c): the close phase waits for posts in progress, then hands what
 * is left to the undelivered callback.
 *
 * The queue is a Treiber stack: a post is one compare-and-swap on its
 * head, with no lock and no allocation (the link is in the message). The
 * loop takes the whole stack with one exchange and reverses it, which
 * gives the order of the posts: per sender, the order each posted. What a
 * dispatch took is delivered from priv.held, the loop thread's own list,
 * so that a callback that closes the handle leaves the rest there for the
 * undelivered callback.
 */
#include <stddef.h>

#include "internal.h"

/* To the loop's async dispatch, the queue is an async handle. */
_Static_assert(offsetof(ax_msgq_t, priv.async) == offsetof(ax_async_t, priv),
               "axle: a message queue must begin as an async handle");

/* Take what was posted, oldest first, after what is held already. */
static void msgq_take(ax_msgq_t *msgq) {
  ax_msg_t *top = __atomic_exchange_n(&msgq->priv.posted, NULL,
                                      __ATOMIC_SEQ_CST);
  ax_msg_t *oldest = NULL;
  size_t taken = 0;
  while (top != NULL) {
    ax_msg_t *next = top->next;
    top->next = oldest;
    oldest = top;
    top = next;
    taken++;
  }
  /* One update per batch, not per message: the count is shared with the
   * posting threads. */
  if (msgq->priv.capacity != 0 && taken != 0)
    __atomic_fetch_sub(&msgq->priv.queued, taken, __ATOMIC_RELAXED);
  ax_msg_t **tail = &msgq->priv.held;
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = oldest;
}

/* The next held message, taken off the list; NULL when none. */
static ax_msg_t *msgq_next(ax_msgq_t *msgq) {
  ax_msg_t *msg = msgq->priv.held;
  if (msg != NULL) {
    msgq->priv.held = msg->next;
    msg->next = NULL;
  }
  return msg;
}

/* Rounds of take-and-deliver per dispatch, at most: the bound on what
 * one iteration delivers when senders keep posting. */
enum { MSGQ_ROUNDS = 4 };

/* Deliver what was posted; false if a callback closed the handle. */
static bool msgq_deliver_held(ax_msgq_t *msgq) {
  while (!ax__handle_is_closing(&msgq->handle)) {
    ax_msg_t *msg = msgq_next(msgq);
    if (msg == NULL)
      return true;
    msgq->priv.cb(msgq, msg);
  }
  return false;
}

/*
 * The async callback, run while the pending mark is set (the dispatch
 * leaves a queue's mark to it). Posts made meanwhile see the mark and do
 * not wake the loop: the loop is awake and takes them here. Only once a
 * take finds nothing left is the mark cleared, and the queue looked at
 * once more (sequentially consistent, against a post's push and its look
 * at the mark): a post either lands before that look, or finds the mark
 * clear and wakes the loop. So a burst costs one wakeup however the
 * threads interleave. A callback may close the handle: the rest then waits
 * for the close phase.
 */
static void msgq_deliver(ax_async_t *async) {
  ax_msgq_t *msgq = (ax_msgq_t *)async;
  for (int round = 0; round < MSGQ_ROUNDS; round++) {
    msgq_take(msgq);
    if (!msgq_deliver_held(msgq))
      return;
    __atomic_store_n(&async->priv.pending, AX__ASYNC_IDLE, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&msgq->priv.posted, __ATOMIC_SEQ_CST) == NULL)
      return;
    /* More came: take them too, the mark set again so that their posters'
     * successors do not wake the loop for nothing. */
    __atomic_store_n(&async->priv.pending, AX__ASYNC_PENDING, __ATOMIC_SEQ_CST);
  }
  /* Bounded: what is left waits for the next iteration, which nobody
   * would wake the loop for (the mark is set). */
  ax__wakeup_signal(msgq->handle.loop);
}

int ax_msgq_init(ax_loop_t *loop, ax_msgq_t *msgq, ax_msgq_cb msg_cb,
                 ax_msgq_cb undelivered_cb, size_t capacity) {
  if (msgq == NULL)
    return AX_EINVAL;
  /* A NULL callback fails as ax_async_init()'s does, after the handle's
   * own checks (a handle open already is AX_EBUSY, and left alone). */
  int err = ax__async_open(loop, (ax_async_t *)msgq, AX_MSGQ,
                           msg_cb != NULL ? msgq_deliver : NULL);
  if (err != 0)
    return err;
  /* Before any post: no other thread has the handle yet. */
  msgq->priv.posted = NULL;
  msgq->priv.held = NULL;
  msgq->priv.queued = 0;
  msgq->priv.capacity = capacity;
  msgq->priv.cb = msg_cb;
  msgq->priv.undelivered_cb = undelivered_cb;
  return 0;
}

/* Count a message in, unless the queue holds its capacity. Without one,
 * nothing is counted: a post then touches no count the loop updates. */
static bool msgq_reserve(ax_msgq_t *msgq) {
  if (msgq->priv.capacity == 0)
    return true;
  size_t queued = __atomic_fetch_add(&msgq->priv.queued, 1, __ATOMIC_RELAXED);
  if (queued < msgq->priv.capacity)
    return true;
  __atomic_fetch_sub(&msgq->priv.queued, 1, __ATOMIC_RELAXED);
  return false;
}

static void msgq_push(ax_msgq_t *msgq, ax_msg_t *msg) {
  ax_msg_t *head = __atomic_load_n(&msgq->priv.posted, __ATOMIC_RELAXED);
  do
    msg->next = head;
  while (!__atomic_compare_exchange_n(&msgq->priv.posted, &head, msg, true,
                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
}

int ax_msgq_post(ax_msgq_t *msgq, ax_msg_t *msg) {
  if (msgq == NULL || msg == NULL)
    return AX_EINVAL;
  ax_async_t *async = (ax_async_t *)msgq;
  __atomic_fetch_add(&msgq->priv.async.busy, 1, __ATOMIC_ACQUIRE);
  int err = 0;
  if (ax__async_is_closed(async)) {
    err = AX_EBADF;
  } else if (!msgq_reserve(msgq)) {
    err = AX_EAGAIN;
  } else {
    /* A close between the check and here finds the message in the close
     * phase, which waits for this post to finish first. */
    msgq_push(msgq, msg);
    /* Marked already: the loop has yet to clear the mark, and the take
     * after it will find the message. Else mark it and wake the loop. */
    if (__atomic_load_n(&msgq->priv.async.pending, __ATOMIC_SEQ_CST) ==
        AX__ASYNC_IDLE)
      (void)ax__async_mark(async);
  }
  __atomic_fetch_sub(&msgq->priv.async.busy, 1, __ATOMIC_RELEASE);
  return err;
}

/* The close phase: no post is in progress any more, and none can begin.
 * Every message left goes back to the caller, oldest first. */
void ax__msgq_closed(ax_handle_t *handle) {
  ax_msgq_t *msgq = (ax_msgq_t *)handle;
  ax__async_closed(handle);
  msgq_take(msgq);
  for (ax_msg_t *msg; (msg = msgq_next(msgq)) != NULL;) {
    if (msgq->priv.undelivered_cb != NULL)
      msgq->priv.undelivered_cb(msgq, msg);
  }
}
