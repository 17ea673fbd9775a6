/*
 * unix/thread-cond.c: condition variables that wait on CLOCK_MONOTONIC,
 * where POSIX lets them (Linux, the BSDs), so that setting the wall clock
 * neither shortens nor stretches a timed wait.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

int ax_cond_init(ax_cond_t *cond) {
  pthread_condattr_t attr;
  int err = pthread_condattr_init(&attr);
  if (err != 0)
    return ax_translate_sys_error(err);
  err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (err == 0)
    err = ax__cond_create(cond, &attr);
  else
    err = ax_translate_sys_error(err);
  pthread_condattr_destroy(&attr);
  return err;
}

int ax_cond_timedwait(ax_cond_t *cond, ax_mutex_t *mutex, uint64_t timeout_ns) {
  enum { NS_PER_S = 1000000000 };
  timeout_ns = ax__cond_timeout_cap_ns(timeout_ns);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  uint64_t ns = (uint64_t)deadline.tv_nsec + timeout_ns % NS_PER_S;
  deadline.tv_sec += (time_t)(timeout_ns / NS_PER_S + ns / NS_PER_S);
  deadline.tv_nsec = (long)(ns % NS_PER_S);
  return ax__cond_timedwait_result(
      pthread_cond_timedwait(cond->priv.impl, mutex->priv.impl, &deadline));
}
