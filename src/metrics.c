/*
 * metrics.c: the loop's counters. They are plain fields the loop increments
 * as it goes (loop.c), with times taken from the clock reads the poll phase
 * makes anyway, so keeping them costs no system call.
 */
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
