/*
 * win/thread.c: the thread API on Win32.
 *
 * A mutex is a CRITICAL_SECTION, allocated by init as on POSIX; condition
 * variables and reader-writer locks are the slim kernel-free kinds
 * (CONDITION_VARIABLE, SRWLOCK), which fit in the pointer of their private
 * region and need no allocation. Threads start with _beginthreadex so that
 * the C runtime knows them. Semaphores and once are portable (src/thread.c).
 */
#include <errno.h>
#include <limits.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

_Static_assert(sizeof(SRWLOCK) <= sizeof(void *), "an SRWLOCK fits");
_Static_assert(sizeof(CONDITION_VARIABLE) <= sizeof(void *),
               "a CONDITION_VARIABLE fits");

static SRWLOCK *rwlock_of(ax_rwlock_t *rwlock) {
  return (SRWLOCK *)(void *)&rwlock->priv.impl;
}

static CONDITION_VARIABLE *cond_of(ax_cond_t *cond) {
  return (CONDITION_VARIABLE *)(void *)&cond->priv.impl;
}

/* Misuse that Win32 reports: stop, as on POSIX. */
static _Noreturn void thread_misuse(const char *what) {
  (void)fprintf(stderr, "axle: %s failed: %s\n", what,
                ax_strerror(ax_translate_sys_error((int)GetLastError())));
  abort();
}

void ax__thread_yield(void) {
  SwitchToThread();
}

int ax__thread_atfork(void (*prepare)(void), void (*parent)(void),
                      void (*child)(void)) {
  (void)prepare;
  (void)parent;
  (void)child;
  return 0;
}

static unsigned __stdcall thread_trampoline(void *start) {
  ax__thread_start_run(start);
  return 0;
}

int ax_thread_create_ex(ax_thread_t *thread, const ax_thread_options_t *options,
                        ax_thread_cb entry, void *arg) {
  if (thread == NULL || entry == NULL)
    return AX_EINVAL;
  struct ax__thread_start start;
  int err = ax__thread_start_init(&start, entry, arg);
  if (err != 0)
    return err;
  unsigned stack = 0;
  if (options != NULL && options->stack_size_bytes != 0)
    stack = options->stack_size_bytes > UINT_MAX
                ? UINT_MAX
                : (unsigned)options->stack_size_bytes;
  unsigned id;
  uintptr_t handle = _beginthreadex(NULL, stack, thread_trampoline, &start, 0,
                                    &id);
  if (handle == 0) {
    /* _beginthreadex sets the C runtime's errno, whose negation is axle's
     * code; ax_translate_sys_error() reads Win32 codes. */
    err = -errno;
  } else {
    thread->priv.handle = (void *)handle;
    thread->priv.id = id;
  }
  ax__thread_start_finish(&start, handle != 0);
  return err;
}

/* Windows has no signals to keep away from the pool's workers: console
 * events run on a thread of the system's own (win/signal.c). */
int ax__thread_create_worker(ax_thread_t *thread, ax_thread_cb entry,
                             void *arg) {
  return ax_thread_create(thread, entry, arg);
}

int ax_thread_join(ax_thread_t *thread) {
  if (thread == NULL || thread->priv.handle == NULL ||
      thread->priv.id == GetCurrentThreadId())
    return AX_EINVAL;
  if (WaitForSingleObject(thread->priv.handle, INFINITE) != WAIT_OBJECT_0)
    return ax_translate_sys_error((int)GetLastError());
  CloseHandle(thread->priv.handle);
  thread->priv.handle = NULL;
  return 0;
}

ax_thread_t ax_thread_self(void) {
  /* The id alone: a handle of one's own would have to be opened, and
   * closed by someone. Such a value compares, but cannot be joined. */
  ax_thread_t self = {{NULL, GetCurrentThreadId()}};
  return self;
}

bool ax_thread_equal(const ax_thread_t *a, const ax_thread_t *b) {
  return a->priv.id == b->priv.id;
}

int ax_mutex_init(ax_mutex_t *mutex) {
  CRITICAL_SECTION *cs = ax__malloc(sizeof(*cs));
  if (cs == NULL)
    return AX_ENOMEM;
  InitializeCriticalSection(cs);
  mutex->priv.impl = cs;
  return 0;
}

int ax_mutex_init_recursive(ax_mutex_t *mutex) {
  /* A critical section may always be entered again by its owner. */
  return ax_mutex_init(mutex);
}

void ax_mutex_destroy(ax_mutex_t *mutex) {
  DeleteCriticalSection(mutex->priv.impl);
  ax__free(mutex->priv.impl);
  mutex->priv.impl = NULL;
}

void ax_mutex_lock(ax_mutex_t *mutex) {
  EnterCriticalSection(mutex->priv.impl);
}

int ax_mutex_trylock(ax_mutex_t *mutex) {
  return TryEnterCriticalSection(mutex->priv.impl) ? 0 : AX_EBUSY;
}

void ax_mutex_unlock(ax_mutex_t *mutex) {
  LeaveCriticalSection(mutex->priv.impl);
}

int ax_rwlock_init(ax_rwlock_t *rwlock) {
  InitializeSRWLock(rwlock_of(rwlock));
  return 0;
}

void ax_rwlock_destroy(ax_rwlock_t *rwlock) {
  (void)rwlock; /* A slim lock holds no resource. */
}

void ax_rwlock_rdlock(ax_rwlock_t *rwlock) {
  AcquireSRWLockShared(rwlock_of(rwlock));
}

int ax_rwlock_tryrdlock(ax_rwlock_t *rwlock) {
  return TryAcquireSRWLockShared(rwlock_of(rwlock)) ? 0 : AX_EBUSY;
}

void ax_rwlock_rdunlock(ax_rwlock_t *rwlock) {
  ReleaseSRWLockShared(rwlock_of(rwlock));
}

void ax_rwlock_wrlock(ax_rwlock_t *rwlock) {
  AcquireSRWLockExclusive(rwlock_of(rwlock));
}

int ax_rwlock_trywrlock(ax_rwlock_t *rwlock) {
  return TryAcquireSRWLockExclusive(rwlock_of(rwlock)) ? 0 : AX_EBUSY;
}

void ax_rwlock_wrunlock(ax_rwlock_t *rwlock) {
  ReleaseSRWLockExclusive(rwlock_of(rwlock));
}

int ax_cond_init(ax_cond_t *cond) {
  InitializeConditionVariable(cond_of(cond));
  return 0;
}

void ax_cond_destroy(ax_cond_t *cond) {
  (void)cond; /* A condition variable holds no resource. */
}

void ax_cond_signal(ax_cond_t *cond) {
  WakeConditionVariable(cond_of(cond));
}

void ax_cond_broadcast(ax_cond_t *cond) {
  WakeAllConditionVariable(cond_of(cond));
}

void ax_cond_wait(ax_cond_t *cond, ax_mutex_t *mutex) {
  if (!SleepConditionVariableCS(cond_of(cond), mutex->priv.impl, INFINITE))
    thread_misuse("cond wait");
}

/* Milliseconds to wait for the rest of a timed wait, rounded up so that
 * it does not end early; capped below INFINITE. */
static DWORD cond_wait_ms(uint64_t left_ns) {
  uint64_t ms = left_ns / 1000000u + (left_ns % 1000000u != 0);
  return ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
}

int ax_cond_timedwait(ax_cond_t *cond, ax_mutex_t *mutex, uint64_t timeout_ns) {
  uint64_t start_ns = ax__hrtime_ns();
  uint64_t left_ns = timeout_ns;
  for (;;) {
    if (SleepConditionVariableCS(cond_of(cond), mutex->priv.impl,
                                 cond_wait_ms(left_ns)))
      return 0;
    if (GetLastError() != ERROR_TIMEOUT)
      thread_misuse("cond timedwait");
    /* A Windows wait may time out a tick early: wait out the rest. */
    uint64_t spent_ns = ax__hrtime_ns() - start_ns;
    if (spent_ns >= timeout_ns)
      return AX_ETIMEDOUT;
    left_ns = timeout_ns - spent_ns;
  }
}

int ax_key_create(ax_key_t *key) {
  DWORD index = TlsAlloc();
  if (index == TLS_OUT_OF_INDEXES)
    return AX_EAGAIN;
  key->priv.key = index;
  return 0;
}

void ax_key_delete(ax_key_t *key) {
  if (!TlsFree((DWORD)key->priv.key))
    thread_misuse("key delete");
}

void *ax_key_get(ax_key_t *key) {
  return TlsGetValue((DWORD)key->priv.key);
}

void ax_key_set(ax_key_t *key, void *value) {
  if (!TlsSetValue((DWORD)key->priv.key, value))
    thread_misuse("key set");
}
