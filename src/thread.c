/*
 * thread.c: the portable part of the thread API: a new thread's start,
 * one-time initialisation and semaphores, built on the platform's mutex,
 * condition and yield (src/unix/thread.c, src/win/thread.c).
 */
#include "internal.h"

int ax__thread_start_init(struct ax__thread_start *start, ax_thread_cb entry,
                          void *arg) {
  start->entry = entry;
  start->arg = arg;
  return ax_sem_init(&start->started, 0);
}

/* In the new thread: take what it needs, release the creator, run. */
void ax__thread_start_run(struct ax__thread_start *start) {
  ax_thread_cb entry = start->entry;
  void *arg = start->arg;
  ax_sem_post(&start->started);
  entry(arg);
}

/* In the creator: wait for the new thread to have read the record (if it
 * was created), then release it. */
void ax__thread_start_finish(struct ax__thread_start *start, int created) {
  if (created)
    ax_sem_wait(&start->started);
  ax_sem_destroy(&start->started);
}

int ax_thread_create(ax_thread_t *thread, ax_thread_cb entry, void *arg) {
  return ax_thread_create_ex(thread, NULL, entry, arg);
}

enum { ONCE_NOT_RUN = 0, ONCE_RUNNING = 1, ONCE_DONE = 2 };

void ax_once(ax_once_t *once, void (*init_cb)(void)) {
  int state = __atomic_load_n(&once->priv.state, __ATOMIC_ACQUIRE);
  if (state == ONCE_DONE)
    return;
  int expected = ONCE_NOT_RUN;
  if (__atomic_compare_exchange_n(&once->priv.state, &expected, ONCE_RUNNING,
                                  false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    init_cb();
    __atomic_store_n(&once->priv.state, ONCE_DONE, __ATOMIC_RELEASE);
    return;
  }
  /* Another thread runs it: wait, yielding, for it to finish. An init
   * function is short (it sets up a pool or a table), so no sleep is due. */
  while (__atomic_load_n(&once->priv.state, __ATOMIC_ACQUIRE) != ONCE_DONE)
    ax__thread_yield();
}

int ax__once_try(ax_once_t *once, int (*init_cb)(void)) {
  for (;;) {
    int expected = ONCE_NOT_RUN;
    if (__atomic_load_n(&once->priv.state, __ATOMIC_ACQUIRE) == ONCE_DONE)
      return 0;
    if (__atomic_compare_exchange_n(&once->priv.state, &expected, ONCE_RUNNING,
                                    false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      int err = init_cb();
      __atomic_store_n(&once->priv.state, err == 0 ? ONCE_DONE : ONCE_NOT_RUN,
                       __ATOMIC_RELEASE);
      return err;
    }
    /* Another thread runs it: wait for it as ax_once() does, then look
     * again (it may have failed, and this thread tries in turn). */
    ax__thread_yield();
  }
}

/* A semaphore is a count under a mutex, with a condition to wait on: the
 * same on every platform, and macOS has no unnamed POSIX semaphores. */
struct sem_impl {
  ax_mutex_t mutex;   /* Guards count. */
  ax_cond_t cond;     /* Signalled on every post. */
  unsigned int count; /* The semaphore's value. */
};

int ax_sem_init(ax_sem_t *sem, unsigned int value) {
  struct sem_impl *s = ax__malloc(sizeof(*s));
  if (s == NULL)
    return AX_ENOMEM;
  int err = ax_mutex_init(&s->mutex);
  if (err != 0)
    goto out_free;
  err = ax_cond_init(&s->cond);
  if (err != 0)
    goto out_destroy_mutex;
  s->count = value;
  sem->priv.impl = s;
  return 0;
out_destroy_mutex:
  ax_mutex_destroy(&s->mutex);
out_free:
  ax__free(s);
  return err;
}

void ax_sem_destroy(ax_sem_t *sem) {
  struct sem_impl *s = sem->priv.impl;
  ax_cond_destroy(&s->cond);
  ax_mutex_destroy(&s->mutex);
  ax__free(s);
  sem->priv.impl = NULL;
}

void ax_sem_post(ax_sem_t *sem) {
  struct sem_impl *s = sem->priv.impl;
  /* Signal on every post, not only when the count leaves zero: with two
   * waiters and two quick posts, the second would otherwise sleep on. */
  ax_mutex_lock(&s->mutex);
  s->count++;
  ax_cond_signal(&s->cond);
  ax_mutex_unlock(&s->mutex);
}

void ax_sem_wait(ax_sem_t *sem) {
  struct sem_impl *s = sem->priv.impl;
  ax_mutex_lock(&s->mutex);
  while (s->count == 0)
    ax_cond_wait(&s->cond, &s->mutex);
  s->count--;
  ax_mutex_unlock(&s->mutex);
}

int ax_sem_trywait(ax_sem_t *sem) {
  struct sem_impl *s = sem->priv.impl;
  int err = AX_EAGAIN;
  ax_mutex_lock(&s->mutex);
  if (s->count > 0) {
    s->count--;
    err = 0;
  }
  ax_mutex_unlock(&s->mutex);
  return err;
}
