/*
 * unix/thread-cond-darwin.c: condition variables on macOS, which cannot make
 * a condition wait on the monotonic clock (no pthread_condattr_setclock).
 * A timed wait there is relative (pthread_cond_timedwait_relative_np), so
 * setting the wall clock does not move its end either.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

int ax_cond_init(ax_cond_t *cond) {
  return ax__cond_create(cond, NULL);
}

int ax_cond_timedwait(ax_cond_t *cond, ax_mutex_t *mutex, uint64_t timeout_ns) {
  enum { NS_PER_S = 1000000000 };
  timeout_ns = ax__cond_timeout_cap_ns(timeout_ns);
  struct timespec rel;
  rel.tv_sec = (time_t)(timeout_ns / NS_PER_S);
  rel.tv_nsec = (long)(timeout_ns % NS_PER_S);
  return ax__cond_timedwait_result(pthread_cond_timedwait_relative_np(
      cond->priv.impl, mutex->priv.impl, &rel));
}
