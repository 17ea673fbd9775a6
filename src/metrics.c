/*
 * metrics.c: the loop's counters and its delay. The counters are plain
 * fields the loop increments as it goes (loop.c), with times taken from the
 * clock reads the poll phase makes anyway, so keeping them costs no system
 * call.
 *
 * The delay is the time from the loop leaving its wait for I/O to its
 * entering the next one: everything the loop ran in between (the previous
 * poll's dispatch, check and close phases, timers, pending, idle and
 * prepare) held back whatever became ready meanwhile, and a timer due in
 * that time fires late by up to as much. It is the lag Node's
 * monitorEventLoopDelay() samples with a timer, measured at the source
 * instead: one span per iteration, with no timer and no thread, and at the
 * cost of one clock read per iteration while it is on. The thread pool's
 * lane histograms live with the pool (threadpool.c).
 */
#include "backend.h"
#include "histogram.h"
#include "internal.h"

int ax_loop_metrics(const ax_loop_t *loop, ax_metrics_t *metrics) {
  if (loop == NULL || metrics == NULL)
    return AX_EINVAL;
  metrics->iterations = loop->priv.iterations;
  metrics->events = loop->priv.events;
  metrics->events_waiting = loop->priv.events_waiting;
  metrics->poll_wait_ns = loop->priv.poll_wait_ns;
  metrics->work_pending = ax__work_pending(loop);
  metrics->work_completed = loop->priv.work_completed;
  metrics->work_wait_ns = loop->priv.work_wait_ns;
  metrics->accept_paused = loop->priv.accept_paused;
  metrics->resource_shortages = loop->priv.resource_shortages;
  return 0;
}

static bool metrics_loop_ready(const ax_loop_t *loop) {
  return loop != NULL && loop->priv.state == AX__LOOP_READY;
}

void ax__loop_delay_note(ax_loop_t *loop, uint64_t now_ns) {
  struct ax__loop_delay *delay = loop->priv.delay;
  if (!delay->on)
    return;
  /* A clock that went back (a simulation's, reset) records no span. */
  if (now_ns >= delay->resumed_ns)
    ax__histogram_add(&delay->hist, now_ns - delay->resumed_ns);
  delay->resumed_ns = now_ns;
}

void ax__loop_delay_pause(ax_loop_t *loop) {
  struct ax__loop_delay *delay = loop->priv.delay;
  uint64_t now_ns = ax__loop_clock_ns(loop);
  delay->carried_ns = now_ns >= delay->resumed_ns ? now_ns - delay->resumed_ns
                                                  : 0;
}

void ax__loop_delay_resume(ax_loop_t *loop) {
  struct ax__loop_delay *delay = loop->priv.delay;
  uint64_t now_ns = ax__loop_clock_ns(loop);
  delay->resumed_ns = now_ns >= delay->carried_ns ? now_ns - delay->carried_ns
                                                  : 0;
  delay->carried_ns = 0;
}

int ax_loop_delay_start(ax_loop_t *loop) {
  if (!metrics_loop_ready(loop))
    return AX_EINVAL;
  if (loop->priv.delay == NULL) {
    struct ax__loop_delay *delay = ax__calloc(1, sizeof(*delay));
    if (delay == NULL)
      return AX_ENOMEM;
    loop->priv.delay = delay;
  }
  /* Called from a callback, the span begins now, not at the last wait:
   * the time before the measure was asked for is not the loop's delay. */
  loop->priv.delay->resumed_ns = ax__loop_clock_ns(loop);
  loop->priv.delay->carried_ns = 0;
  loop->priv.delay->on = 1;
  return 0;
}

int ax_loop_delay_stop(ax_loop_t *loop) {
  if (!metrics_loop_ready(loop))
    return AX_EINVAL;
  if (loop->priv.delay != NULL)
    loop->priv.delay->on = 0;
  return 0;
}

int ax_loop_delay(const ax_loop_t *loop, ax_histogram_t *hist) {
  if (!metrics_loop_ready(loop) || hist == NULL)
    return AX_EINVAL;
  if (loop->priv.delay != NULL)
    *hist = loop->priv.delay->hist;
  else
    ax_histogram_reset(hist);
  return 0;
}

int ax_loop_delay_reset(ax_loop_t *loop) {
  if (!metrics_loop_ready(loop))
    return AX_EINVAL;
  if (loop->priv.delay != NULL)
    ax_histogram_reset(&loop->priv.delay->hist);
  return 0;
}

void ax__loop_delay_free(ax_loop_t *loop) {
  ax__free(loop->priv.delay);
  loop->priv.delay = NULL;
}
