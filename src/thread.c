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

/* A barrier is a count under a mutex, the same on every platform: macOS has
 * no pthread_barrier_t, and a destroy that waits for the last round's
 * threads to leave is the same code everywhere. The round number tells a
 * waiter that its round is over, even when the next round has already
 * begun filling up (a fast thread coming back before a slow one woke). */
struct barrier_impl {
  ax_mutex_t mutex;     /* Guards the counts. */
  ax_cond_t cond;       /* Broadcast when a round ends or the last leaves. */
  unsigned int count;   /* Threads per round. */
  unsigned int arrived; /* Threads waiting in the current round. */
  unsigned int inside;  /* Threads inside ax_barrier_wait(), for destroy. */
  unsigned long round;  /* Rounds completed; wraps harmlessly. */
};

int ax_barrier_init(ax_barrier_t *barrier, unsigned int count) {
  if (barrier == NULL || count == 0)
    return AX_EINVAL;
  struct barrier_impl *b = ax__malloc(sizeof(*b));
  if (b == NULL)
    return AX_ENOMEM;
  int err = ax_mutex_init(&b->mutex);
  if (err != 0)
    goto out_free;
  err = ax_cond_init(&b->cond);
  if (err != 0)
    goto out_destroy_mutex;
  b->count = count;
  b->arrived = 0;
  b->inside = 0;
  b->round = 0;
  barrier->priv.impl = b;
  return 0;
out_destroy_mutex:
  ax_mutex_destroy(&b->mutex);
out_free:
  ax__free(b);
  return err;
}

bool ax_barrier_wait(ax_barrier_t *barrier) {
  assert(barrier != NULL && barrier->priv.impl != NULL &&
         "axle: ax_barrier_wait() on a barrier not initialised");
  struct barrier_impl *b = barrier->priv.impl;
  bool serial = false;
  ax_mutex_lock(&b->mutex);
  b->inside++;
  unsigned long round = b->round;
  if (++b->arrived == b->count) {
    b->arrived = 0;
    b->round++;
    serial = true;
    ax_cond_broadcast(&b->cond);
  } else {
    while (b->round == round)
      ax_cond_wait(&b->cond, &b->mutex);
  }
  /* The last to leave wakes a destroy that may be waiting for it. */
  if (--b->inside == 0)
    ax_cond_broadcast(&b->cond);
  ax_mutex_unlock(&b->mutex);
  return serial;
}

void ax_barrier_destroy(ax_barrier_t *barrier) {
  assert(barrier != NULL && barrier->priv.impl != NULL &&
         "axle: ax_barrier_destroy() on a barrier not initialised");
  struct barrier_impl *b = barrier->priv.impl;
  ax_mutex_lock(&b->mutex);
  assert(b->arrived == 0 &&
         "axle: ax_barrier_destroy() while a round is filling up");
  while (b->inside > 0)
    ax_cond_wait(&b->cond, &b->mutex);
  ax_mutex_unlock(&b->mutex);
  ax_cond_destroy(&b->cond);
  ax_mutex_destroy(&b->mutex);
  ax__free(b);
  barrier->priv.impl = NULL;
}
