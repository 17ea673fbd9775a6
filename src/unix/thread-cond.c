/*
 * unix/thread-cond.c: condition variables that wait on CLOCK_MONOTONIC,
 * where POSIX lets them (Linux, the BSDs), so that setting the wall clock
 * neither shortens nor stretches a timed wait.
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
  pthread_condattr_t attr;
  int err = pthread_condattr_init(&attr);
  if (err == 0) {
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0)
      err = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
  }
  if (err != 0) {
    ax__free(c);
    return ax_translate_sys_error(err);
  }
  cond->priv.impl = c;
  return 0;
}

int ax_cond_timedwait(ax_cond_t *cond, ax_mutex_t *mutex, uint64_t timeout_ns) {
  enum { NS_PER_S = 1000000000 };
  /* Cap the wait at about 68 years so the deadline cannot overflow. */
  if (timeout_ns > (uint64_t)INT32_MAX * NS_PER_S)
    timeout_ns = (uint64_t)INT32_MAX * NS_PER_S;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  uint64_t ns = (uint64_t)deadline.tv_nsec + timeout_ns % NS_PER_S;
  deadline.tv_sec += (time_t)(timeout_ns / NS_PER_S + ns / NS_PER_S);
  deadline.tv_nsec = (long)(ns % NS_PER_S);
  int err = pthread_cond_timedwait(cond->priv.impl, mutex->priv.impl,
                                   &deadline);
  if (err == ETIMEDOUT)
    return AX_ETIMEDOUT;
  if (err != 0)
    ax__thread_misuse(err, "cond timedwait");
  return 0;
}
