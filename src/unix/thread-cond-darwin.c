/*
 * unix/thread-cond-darwin.c: condition variables on macOS, which cannot make
 * a condition wait on the monotonic clock (no pthread_condattr_setclock).
 * A timed wait there is relative (pthread_cond_timedwait_relative_np), so
 * setting the wall clock does not move its end either.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

int ax_cond_init(ax_cond_t *cond) {
  pthread_cond_t *c = ax__malloc(sizeof(*c));
  if (c == NULL)
    return AX_ENOMEM;
  int err = pthread_cond_init(c, NULL);
  if (err != 0) {
    ax__free(c);
    return ax_translate_sys_error(err);
  }
  cond->priv.impl = c;
  return 0;
}

int ax_cond_timedwait(ax_cond_t *cond, ax_mutex_t *mutex, uint64_t timeout_ns) {
  enum { NS_PER_S = 1000000000 };
  /* Cap the wait at about 68 years, as on the other systems. */
  if (timeout_ns > (uint64_t)INT32_MAX * NS_PER_S)
    timeout_ns = (uint64_t)INT32_MAX * NS_PER_S;
  struct timespec rel;
  rel.tv_sec = (time_t)(timeout_ns / NS_PER_S);
  rel.tv_nsec = (long)(timeout_ns % NS_PER_S);
  int err = pthread_cond_timedwait_relative_np(cond->priv.impl,
                                               mutex->priv.impl, &rel);
  if (err == ETIMEDOUT)
    return AX_ETIMEDOUT;
  if (err != 0)
    ax__thread_misuse(err, "cond timedwait");
  return 0;
}
