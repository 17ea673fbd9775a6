/*
 * unix/thread.c: the thread API on POSIX threads.
 *
 * Mutexes, reader-writer locks, conditions and semaphores live in memory
 * their init function allocates, so that the public header needs no
 * <pthread.h> (whose types a strict -std=c11 build cannot see). Creation
 * and initialisation can fail for lack of resources and return an error.
 * Lock, unlock, wait and signal fail only when misused (an object never
 * initialised or already destroyed, a mutex unlocked by a thread that does
 * not hold it), which no caller could handle: those stop the program.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(pthread_t) <= sizeof(void *),
               "a pthread_t fits in ax_thread_t");
_Static_assert(sizeof(pthread_key_t) <= sizeof(unsigned long),
               "a pthread_key_t fits in ax_key_t");

/* Not assert(): misuse must stop the program in NDEBUG builds too, where
 * going on would corrupt memory. */
_Noreturn void ax__thread_misuse(int err, const char *what) {
  (void)fprintf(stderr, "axle: %s failed: %s\n", what,
                ax_strerror(ax_translate_sys_error(err)));
  abort();
}

static void thread_check(int err, const char *what) {
  if (err != 0)
    ax__thread_misuse(err, what);
}

void ax__thread_yield(void) {
  sched_yield();
}

int ax__thread_atfork(void (*prepare)(void), void (*parent)(void),
                      void (*child)(void)) {
  return pthread_atfork(prepare, parent, child) == 0 ? 0 : AX_ENOMEM;
}

/* At exit (or when a shared axle is unloaded), let the pool's workers
 * finish and join them, so that no thread runs on into a torn-down
 * process. */
__attribute__((destructor)) static void unix_threadpool_exit(void) {
  ax__threadpool_shutdown();
}

/* pthread's entry signature differs from ours: call through a trampoline
 * rather than cast the function pointer. */
static void *thread_trampoline(void *start) {
  ax__thread_start_run(start);
  return NULL;
}

static pthread_t thread_id(const ax_thread_t *thread) {
  pthread_t id;
  memcpy(&id, &thread->priv.handle, sizeof(id));
  return id;
}

/* The stack size to ask for: rounded up to the page size, and at least the
 * system's minimum. */
static size_t thread_stack_size(size_t want_bytes) {
  long page = sysconf(_SC_PAGESIZE);
  size_t page_bytes = page > 0 ? (size_t)page : 4096u;
  if (want_bytes > SIZE_MAX - page_bytes)
    return 0; /* Cannot be rounded up: no system has that much. */
  size_t size = (want_bytes + page_bytes - 1) / page_bytes * page_bytes;
  size_t min_bytes = (size_t)PTHREAD_STACK_MIN;
  return size < min_bytes ? min_bytes : size;
}

static int thread_start(ax_thread_t *thread, pthread_attr_t *attr,
                        struct ax__thread_start *start) {
  pthread_t id;
  int err = pthread_create(&id, attr, thread_trampoline, start);
  if (err == 0) {
    memset(&thread->priv, 0, sizeof(thread->priv));
    memcpy(&thread->priv.handle, &id, sizeof(id));
  }
  return err;
}

int ax_thread_create_ex(ax_thread_t *thread, const ax_thread_options_t *options,
                        ax_thread_cb entry, void *arg) {
  if (thread == NULL || entry == NULL)
    return AX_EINVAL;
  struct ax__thread_start start;
  int err = ax__thread_start_init(&start, entry, arg);
  if (err != 0)
    return err;
  pthread_attr_t attr;
  err = pthread_attr_init(&attr);
  if (err == 0) {
    if (options != NULL && options->stack_size_bytes != 0) {
      size_t stack = thread_stack_size(options->stack_size_bytes);
      err = stack != 0 ? pthread_attr_setstacksize(&attr, stack) : EINVAL;
    }
    if (err == 0)
      err = thread_start(thread, &attr, &start);
    pthread_attr_destroy(&attr);
  }
  ax__thread_start_finish(&start, err == 0);
  return ax_translate_sys_error(err);
}

/* The signals a worker leaves unblocked: those the system raises at the
 * thread that caused them (a fault, abort()). Blocked, they would end the
 * process without reaching a handler (a crash reporter, a sanitizer). */
static const int thread_fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                                           SIGTRAP, SIGSYS, SIGABRT};

/* A new thread inherits its creator's mask, so the creator blocks the
 * signals around the creation: the worker never runs a moment unmasked.
 * A signal sent meanwhile to the process goes to another thread, or
 * waits, pending, until the creator's mask is put back: none is lost. */
int ax__thread_create_worker(ax_thread_t *thread, ax_thread_cb entry,
                             void *arg) {
  sigset_t block, old;
  sigfillset(&block);
  for (size_t i = 0;
       i < sizeof(thread_fault_signals) / sizeof(thread_fault_signals[0]); i++)
    sigdelset(&block, thread_fault_signals[i]);
  int err = pthread_sigmask(SIG_BLOCK, &block, &old);
  if (err != 0)
    return ax_translate_sys_error(err);
  int rc = ax_thread_create(thread, entry, arg);
  /* Cannot fail: the same call succeeded with these arguments above. */
  (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

int ax_thread_join(ax_thread_t *thread) {
  if (thread == NULL || pthread_equal(thread_id(thread), pthread_self()))
    return AX_EINVAL;
  return ax_translate_sys_error(pthread_join(thread_id(thread), NULL));
}

ax_thread_t ax_thread_self(void) {
  ax_thread_t self;
  pthread_t id = pthread_self();
  memset(&self, 0, sizeof(self));
  memcpy(&self.priv.handle, &id, sizeof(id));
  return self;
}

bool ax_thread_equal(const ax_thread_t *a, const ax_thread_t *b) {
  return pthread_equal(thread_id(a), thread_id(b)) != 0;
}

static int mutex_init(ax_mutex_t *mutex, int type) {
  pthread_mutex_t *m = ax__malloc(sizeof(*m));
  if (m == NULL)
    return AX_ENOMEM;
  pthread_mutexattr_t attr;
  int err = pthread_mutexattr_init(&attr);
  if (err == 0) {
    err = pthread_mutexattr_settype(&attr, type);
    if (err == 0)
      err = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  if (err != 0) {
    ax__free(m);
    return ax_translate_sys_error(err);
  }
  mutex->priv.impl = m;
  return 0;
}

int ax_mutex_init(ax_mutex_t *mutex) {
  /* The default kind, not error-checking: the thread pool locks on its hot
   * path, and misuse is still caught where the system reports it. */
  return mutex_init(mutex, PTHREAD_MUTEX_DEFAULT);
}

int ax_mutex_init_recursive(ax_mutex_t *mutex) {
  return mutex_init(mutex, PTHREAD_MUTEX_RECURSIVE);
}

void ax_mutex_destroy(ax_mutex_t *mutex) {
  thread_check(pthread_mutex_destroy(mutex->priv.impl), "mutex destroy");
  ax__free(mutex->priv.impl);
  mutex->priv.impl = NULL;
}

void ax_mutex_lock(ax_mutex_t *mutex) {
  thread_check(pthread_mutex_lock(mutex->priv.impl), "mutex lock");
}

int ax_mutex_trylock(ax_mutex_t *mutex) {
  int err = pthread_mutex_trylock(mutex->priv.impl);
  if (err == EBUSY || err == EAGAIN)
    return AX_EBUSY;
  thread_check(err, "mutex trylock");
  return 0;
}

void ax_mutex_unlock(ax_mutex_t *mutex) {
  thread_check(pthread_mutex_unlock(mutex->priv.impl), "mutex unlock");
}

int ax_rwlock_init(ax_rwlock_t *rwlock) {
  pthread_rwlock_t *l = ax__malloc(sizeof(*l));
  if (l == NULL)
    return AX_ENOMEM;
  int err = pthread_rwlock_init(l, NULL);
  if (err != 0) {
    ax__free(l);
    return ax_translate_sys_error(err);
  }
  rwlock->priv.impl = l;
  return 0;
}

void ax_rwlock_destroy(ax_rwlock_t *rwlock) {
  thread_check(pthread_rwlock_destroy(rwlock->priv.impl), "rwlock destroy");
  ax__free(rwlock->priv.impl);
  rwlock->priv.impl = NULL;
}

void ax_rwlock_rdlock(ax_rwlock_t *rwlock) {
  thread_check(pthread_rwlock_rdlock(rwlock->priv.impl), "rwlock rdlock");
}

static int rwlock_try(int err, const char *what) {
  if (err == EBUSY || err == EAGAIN)
    return AX_EBUSY;
  thread_check(err, what);
  return 0;
}

int ax_rwlock_tryrdlock(ax_rwlock_t *rwlock) {
  return rwlock_try(pthread_rwlock_tryrdlock(rwlock->priv.impl),
                    "rwlock tryrdlock");
}

void ax_rwlock_rdunlock(ax_rwlock_t *rwlock) {
  thread_check(pthread_rwlock_unlock(rwlock->priv.impl), "rwlock unlock");
}

void ax_rwlock_wrlock(ax_rwlock_t *rwlock) {
  thread_check(pthread_rwlock_wrlock(rwlock->priv.impl), "rwlock wrlock");
}

int ax_rwlock_trywrlock(ax_rwlock_t *rwlock) {
  return rwlock_try(pthread_rwlock_trywrlock(rwlock->priv.impl),
                    "rwlock trywrlock");
}

void ax_rwlock_wrunlock(ax_rwlock_t *rwlock) {
  thread_check(pthread_rwlock_unlock(rwlock->priv.impl), "rwlock unlock");
}

int ax__cond_create(ax_cond_t *cond, const pthread_condattr_t *attr) {
  pthread_cond_t *c = ax__malloc(sizeof(*c));
  if (c == NULL)
    return AX_ENOMEM;
  int err = pthread_cond_init(c, attr);
  if (err != 0) {
    ax__free(c);
    return ax_translate_sys_error(err);
  }
  cond->priv.impl = c;
  return 0;
}

int ax__cond_timedwait_result(int err) {
  if (err == ETIMEDOUT)
    return AX_ETIMEDOUT;
  thread_check(err, "cond timedwait");
  return 0;
}

uint64_t ax__cond_timeout_cap_ns(uint64_t timeout_ns) {
  const uint64_t cap_ns = (uint64_t)INT32_MAX * 1000000000u;
  return timeout_ns > cap_ns ? cap_ns : timeout_ns;
}

void ax_cond_destroy(ax_cond_t *cond) {
  thread_check(pthread_cond_destroy(cond->priv.impl), "cond destroy");
  ax__free(cond->priv.impl);
  cond->priv.impl = NULL;
}

void ax_cond_signal(ax_cond_t *cond) {
  thread_check(pthread_cond_signal(cond->priv.impl), "cond signal");
}

void ax_cond_broadcast(ax_cond_t *cond) {
  thread_check(pthread_cond_broadcast(cond->priv.impl), "cond broadcast");
}

void ax_cond_wait(ax_cond_t *cond, ax_mutex_t *mutex) {
  thread_check(pthread_cond_wait(cond->priv.impl, mutex->priv.impl),
               "cond wait");
}

int ax_key_create(ax_key_t *key) {
  pthread_key_t k;
  int err = pthread_key_create(&k, NULL);
  if (err != 0)
    return ax_translate_sys_error(err);
  key->priv.key = 0;
  memcpy(&key->priv.key, &k, sizeof(k));
  return 0;
}

static pthread_key_t key_of(const ax_key_t *key) {
  pthread_key_t k;
  memcpy(&k, &key->priv.key, sizeof(k));
  return k;
}

void ax_key_delete(ax_key_t *key) {
  thread_check(pthread_key_delete(key_of(key)), "key delete");
}

void *ax_key_get(ax_key_t *key) {
  return pthread_getspecific(key_of(key));
}

void ax_key_set(ax_key_t *key, void *value) {
  thread_check(pthread_setspecific(key_of(key), value), "key set");
}
