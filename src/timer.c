/*
 * timer.c: timers, kept in a pairing heap ordered by (deadline, start seq).
 *
 * Deadlines are in nanoseconds of the loop's cached clock, so a timer is due
 * only once the loop's time has really reached it: no millisecond rounding
 * makes it early, and the poll timeout is rounded up, not down, for the same
 * reason. The start sequence breaks ties, so timers with equal deadlines fire
 * in the order they were started.
 *
 * The timer phase runs only timers started before it began: a timer re-armed
 * from its own callback, even at 0 ms, gets a newer sequence number and waits
 * for the next iteration, after I/O was polled.
 */
#include <limits.h>

#include "internal.h"

enum { NS_PER_MS = 1000000 };

static ax_timer_t *timer_of(const ax__heap_node_t *node) {
  return ax_container_of(node, ax_timer_t, priv.heap_node);
}

static int timer_less(const ax__heap_node_t *a, const ax__heap_node_t *b) {
  const ax_timer_t *ta = timer_of(a);
  const ax_timer_t *tb = timer_of(b);
  if (ta->priv.deadline_ns != tb->priv.deadline_ns)
    return ta->priv.deadline_ns < tb->priv.deadline_ns;
  return ta->priv.seq < tb->priv.seq;
}

int ax_timer_init(ax_loop_t *loop, ax_timer_t *timer) {
  if (timer == NULL)
    return AX_EINVAL;
  int err = ax__handle_init(loop, &timer->handle, AX_TIMER);
  if (err == AX_EBUSY)
    return err; /* Open already: its fields are in use. */
  /* Also after AX_EINVAL, so that the accessors read defined values. */
  timer->priv.cb = NULL;
  timer->priv.repeat_ms = 0;
  timer->priv.deadline_ns = 0;
  timer->priv.seq = 0;
  return err;
}

/* now_ns + timeout_ms, saturating rather than wrapping for huge timeouts. */
static uint64_t timer_deadline(uint64_t now_ns, uint64_t timeout_ms) {
  if (timeout_ms > (UINT64_MAX - now_ns) / NS_PER_MS)
    return UINT64_MAX;
  return now_ns + timeout_ms * NS_PER_MS;
}

static void timer_arm(ax_timer_t *timer, uint64_t deadline_ns) {
  ax_loop_t *loop = timer->handle.loop;
  if (ax__handle_is_active(&timer->handle))
    ax__heap_remove(&loop->priv.timer_heap, &timer->priv.heap_node, timer_less);
  timer->priv.deadline_ns = deadline_ns;
  timer->priv.seq = loop->priv.timer_seq++;
  ax__heap_insert(&loop->priv.timer_heap, &timer->priv.heap_node, timer_less);
  ax__handle_start(&timer->handle);
}

int ax_timer_start(ax_timer_t *timer, ax_timer_cb timer_cb, uint64_t timeout_ms,
                   uint64_t repeat_ms) {
  if (timer == NULL || timer_cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&timer->handle))
    return AX_EBADF;
  timer->priv.cb = timer_cb;
  timer->priv.repeat_ms = repeat_ms;
  timer_arm(timer,
            timer_deadline(timer->handle.loop->priv.time_ns, timeout_ms));
  return 0;
}

int ax_timer_stop(ax_timer_t *timer) {
  if (timer == NULL)
    return AX_EINVAL;
  if (!ax__handle_is_active(&timer->handle))
    return 0;
  ax__heap_remove(&timer->handle.loop->priv.timer_heap, &timer->priv.heap_node,
                  timer_less);
  ax__handle_stop(&timer->handle);
  return 0;
}

void ax__timer_close(ax_handle_t *handle) {
  ax_timer_t *timer = (ax_timer_t *)handle;
  ax_timer_stop(timer);
}

int ax_timer_again(ax_timer_t *timer) {
  if (timer == NULL || timer->priv.cb == NULL)
    return AX_EINVAL;
  if (ax__handle_is_closing(&timer->handle))
    return AX_EBADF;
  if (timer->priv.repeat_ms == 0)
    return ax_timer_stop(timer);
  timer_arm(timer, timer_deadline(timer->handle.loop->priv.time_ns,
                                  timer->priv.repeat_ms));
  return 0;
}

void ax_timer_set_repeat(ax_timer_t *timer, uint64_t repeat_ms) {
  if (timer != NULL)
    timer->priv.repeat_ms = repeat_ms;
}

uint64_t ax_timer_get_repeat(const ax_timer_t *timer) {
  return timer != NULL ? timer->priv.repeat_ms : 0;
}

uint64_t ax_timer_get_due_in(const ax_timer_t *timer) {
  /* Active first: the loop of a timer whose init failed may be NULL. */
  if (timer == NULL || !ax__handle_is_active(&timer->handle))
    return 0;
  uint64_t now_ns = timer->handle.loop->priv.time_ns;
  if (timer->priv.deadline_ns <= now_ns)
    return 0;
  uint64_t left_ns = timer->priv.deadline_ns - now_ns;
  return left_ns / NS_PER_MS + (left_ns % NS_PER_MS != 0);
}

/* Milliseconds the poll phase may block before the next timer is due:
 * rounded up, so that waking from the wait means the timer is due; -1 if no
 * timer runs. */
int ax__next_timeout_ms(const ax_loop_t *loop) {
  const ax__heap_node_t *min = loop->priv.timer_heap;
  if (min == NULL)
    return -1;
  uint64_t deadline_ns = timer_of(min)->priv.deadline_ns;
  uint64_t now_ns = loop->priv.time_ns;
  if (deadline_ns <= now_ns)
    return 0;
  uint64_t left_ns = deadline_ns - now_ns;
  uint64_t left_ms = left_ns / NS_PER_MS + (left_ns % NS_PER_MS != 0);
  return left_ms > INT_MAX ? INT_MAX : (int)left_ms;
}

/* Whether the next timer phase would run a timer: one is due at the
 * loop's cached time (every timer in the heap was started before the
 * phase). */
bool ax__timers_due(const ax_loop_t *loop) {
  const ax__heap_node_t *min = loop->priv.timer_heap;
  return min != NULL && timer_of(min)->priv.deadline_ns <= loop->priv.time_ns;
}

void ax__run_timers(ax_loop_t *loop) {
  uint64_t now_ns = loop->priv.time_ns;
  uint64_t first_new_seq = loop->priv.timer_seq;
  for (;;) {
    ax__heap_node_t *min = loop->priv.timer_heap;
    if (min == NULL)
      break;
    ax_timer_t *timer = timer_of(min);
    if (timer->priv.deadline_ns > now_ns || timer->priv.seq >= first_new_seq)
      break;
    ax__heap_remove(&loop->priv.timer_heap, min, timer_less);
    ax__handle_stop(&timer->handle);
    if (timer->priv.repeat_ms != 0) {
      /* Repeat from the deadline just reached, not from now, so a repeating
       * timer keeps its cadence instead of drifting by each delay. If it fell
       * more than an interval behind, it skips to the next future slot. */
      uint64_t next_ns = timer_deadline(timer->priv.deadline_ns,
                                        timer->priv.repeat_ms);
      if (next_ns <= now_ns)
        next_ns = timer_deadline(now_ns, timer->priv.repeat_ms);
      timer_arm(timer, next_ns);
    }
    timer->priv.cb(timer);
  }
}
