/*
 * test_thread.c: the portable thread API: create and join, self and equal,
 * stack size, mutexes (plain and recursive), reader-writer locks, condition
 * variables with timed waits, semaphores, once, thread-local keys, and
 * barriers.
 */
#include <string.h>
#include <time.h>

#include "test.h"

enum { THREADS = 4, ROUNDS = 20000 };

struct counter {
  ax_mutex_t mutex; /* Guards value. */
  long value;       /* Incremented by every thread. */
};

static void counter_thread(void *arg) {
  struct counter *c = arg;
  for (int i = 0; i < ROUNDS; i++) {
    ax_mutex_lock(&c->mutex);
    c->value++;
    ax_mutex_unlock(&c->mutex);
  }
}

static void test_thread_create_join_mutex(void **state) {
  (void)state;
  struct counter c = {.value = 0};
  ax_thread_t threads[THREADS];
  assert_int_equal(ax_mutex_init(&c.mutex), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(ax_thread_create(&threads[i], counter_thread, &c), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(ax_thread_join(&threads[i]), 0);
  /* Every increment under the lock survived. */
  assert_int_equal(c.value, (long)THREADS * ROUNDS);
  ax_mutex_destroy(&c.mutex);
}

static void test_thread_invalid(void **state) {
  (void)state;
  ax_thread_t t;
  assert_int_equal(ax_thread_create(NULL, counter_thread, NULL), AX_EINVAL);
  assert_int_equal(ax_thread_create(&t, NULL, NULL), AX_EINVAL);
  assert_int_equal(ax_thread_join(NULL), AX_EINVAL);
  /* A thread cannot join itself. */
  ax_thread_t self = ax_thread_self();
  assert_int_equal(ax_thread_join(&self), AX_EINVAL);
}

struct self_check {
  ax_thread_t seen; /* What ax_thread_self() said inside the thread. */
};

static void self_thread(void *arg) {
  ((struct self_check *)arg)->seen = ax_thread_self();
}

static void test_thread_self_equal_stack(void **state) {
  (void)state;
  struct self_check s;
  ax_thread_t t;
  ax_thread_options_t options = {.stack_size_bytes = 256 * 1024};
  assert_int_equal(ax_thread_create_ex(&t, &options, self_thread, &s), 0);
  assert_int_equal(ax_thread_join(&t), 0);
  ax_thread_t me = ax_thread_self();
  assert_true(ax_thread_equal(&s.seen, &t));
  assert_false(ax_thread_equal(&s.seen, &me));
  assert_true(ax_thread_equal(&me, &me));
}

static void test_thread_tiny_stack(void **state) {
  (void)state;
  struct self_check s;
  ax_thread_t t;
  /* glibc carves static thread-local storage out of the stack, and a
   * PTHREAD_STACK_MIN stack leaves too little room beside libkqueue's. */
  if (test_links_libkqueue())
    test_skip("libkqueue's 13.6 KB of thread-local storage makes glibc "
              "refuse a PTHREAD_STACK_MIN stack (EINVAL)");
  /* A tiny stack request is rounded up to what the system accepts. */
  ax_thread_options_t options = {.stack_size_bytes = 1};
  assert_int_equal(ax_thread_create_ex(&t, &options, self_thread, &s), 0);
  assert_int_equal(ax_thread_join(&t), 0);
}

static void test_thread_mutex_trylock_recursive(void **state) {
  (void)state;
  ax_mutex_t m;
  assert_int_equal(ax_mutex_init(&m), 0);
  /* Whether a held plain mutex refuses a second try is checked from
   * another thread (test_thread_try_when_held): from its holder, relocking
   * it is undefined. */
  assert_int_equal(ax_mutex_trylock(&m), 0);
  ax_mutex_unlock(&m);
  ax_mutex_destroy(&m);

  assert_int_equal(ax_mutex_init_recursive(&m), 0);
  ax_mutex_lock(&m);
  assert_int_equal(ax_mutex_trylock(&m), 0);
  ax_mutex_lock(&m);
  ax_mutex_unlock(&m);
  ax_mutex_unlock(&m);
  ax_mutex_unlock(&m);
  ax_mutex_destroy(&m);
}

struct try_state {
  ax_mutex_t mutex;   /* Held by the main thread. */
  ax_rwlock_t rwlock; /* Write-held by the main thread. */
  int mutex_result;   /* ax_mutex_trylock() from the other thread. */
  int read_result;    /* ax_rwlock_tryrdlock() from the other thread. */
  int write_result;   /* ax_rwlock_trywrlock() from the other thread. */
};

static void try_thread(void *arg) {
  struct try_state *s = arg;
  s->mutex_result = ax_mutex_trylock(&s->mutex);
  s->read_result = ax_rwlock_tryrdlock(&s->rwlock);
  s->write_result = ax_rwlock_trywrlock(&s->rwlock);
}

static void test_thread_try_when_held(void **state) {
  (void)state;
  struct try_state s;
  ax_thread_t t;
  assert_int_equal(ax_mutex_init(&s.mutex), 0);
  assert_int_equal(ax_rwlock_init(&s.rwlock), 0);
  ax_mutex_lock(&s.mutex);
  ax_rwlock_wrlock(&s.rwlock);
  assert_int_equal(ax_thread_create(&t, try_thread, &s), 0);
  assert_int_equal(ax_thread_join(&t), 0);
  assert_int_equal(s.mutex_result, AX_EBUSY);
  assert_int_equal(s.read_result, AX_EBUSY);
  assert_int_equal(s.write_result, AX_EBUSY);
  ax_rwlock_wrunlock(&s.rwlock);
  ax_mutex_unlock(&s.mutex);
  /* Readers share the lock; a writer waits for all of them. */
  ax_rwlock_rdlock(&s.rwlock);
  assert_int_equal(ax_rwlock_tryrdlock(&s.rwlock), 0);
  ax_rwlock_rdunlock(&s.rwlock);
  ax_rwlock_rdunlock(&s.rwlock);
  assert_int_equal(ax_rwlock_trywrlock(&s.rwlock), 0);
  ax_rwlock_wrunlock(&s.rwlock);
  ax_rwlock_destroy(&s.rwlock);
  ax_mutex_destroy(&s.mutex);
}

struct handoff {
  ax_mutex_t mutex; /* Guards ready. */
  ax_cond_t cond;   /* Signalled when ready changes. */
  int ready;        /* Set by the other thread. */
};

static void handoff_thread(void *arg) {
  struct handoff *h = arg;
  ax_mutex_lock(&h->mutex);
  h->ready = 1;
  ax_cond_signal(&h->cond);
  ax_mutex_unlock(&h->mutex);
}

static void test_thread_cond(void **state) {
  (void)state;
  struct handoff h = {.ready = 0};
  ax_thread_t t;
  assert_int_equal(ax_mutex_init(&h.mutex), 0);
  assert_int_equal(ax_cond_init(&h.cond), 0);
  /* Nobody signals: a short timed wait times out. */
  ax_mutex_lock(&h.mutex);
  assert_int_equal(ax_cond_timedwait(&h.cond, &h.mutex, 1000000), AX_ETIMEDOUT);
  ax_mutex_unlock(&h.mutex);
  /* A signal from another thread ends a wait. */
  assert_int_equal(ax_thread_create(&t, handoff_thread, &h), 0);
  ax_mutex_lock(&h.mutex);
  while (!h.ready)
    ax_cond_wait(&h.cond, &h.mutex);
  ax_mutex_unlock(&h.mutex);
  assert_int_equal(ax_thread_join(&t), 0);
  /* The largest timeout neither overflows into the past (which would time
   * out at once) nor fails: the signal ends it. */
  h.ready = 0;
  assert_int_equal(ax_thread_create(&t, handoff_thread, &h), 0);
  ax_mutex_lock(&h.mutex);
  while (!h.ready)
    assert_int_equal(ax_cond_timedwait(&h.cond, &h.mutex, UINT64_MAX), 0);
  ax_mutex_unlock(&h.mutex);
  assert_int_equal(ax_thread_join(&t), 0);
  ax_cond_destroy(&h.cond);
  ax_mutex_destroy(&h.mutex);
}

struct sem_pair {
  ax_sem_t ping; /* Posted by the main thread. */
  ax_sem_t pong; /* Posted by the other thread. */
};

static void sem_thread(void *arg) {
  struct sem_pair *p = arg;
  for (int i = 0; i < 1000; i++) {
    ax_sem_wait(&p->ping);
    ax_sem_post(&p->pong);
  }
}

static void test_thread_sem(void **state) {
  (void)state;
  struct sem_pair p;
  ax_thread_t t;
  assert_int_equal(ax_sem_init(&p.ping, 0), 0);
  assert_int_equal(ax_sem_init(&p.pong, 2), 0);
  assert_int_equal(ax_sem_trywait(&p.pong), 0);
  assert_int_equal(ax_sem_trywait(&p.pong), 0);
  assert_int_equal(ax_sem_trywait(&p.pong), AX_EAGAIN);
  assert_int_equal(ax_thread_create(&t, sem_thread, &p), 0);
  for (int i = 0; i < 1000; i++) {
    ax_sem_post(&p.ping);
    ax_sem_wait(&p.pong);
  }
  assert_int_equal(ax_thread_join(&t), 0);
  ax_sem_destroy(&p.ping);
  ax_sem_destroy(&p.pong);
}

static void sem_waiter(void *arg) {
  ax_sem_wait(arg);
}

static void test_thread_sem_two_waiters(void **state) {
  (void)state;
  ax_sem_t sem;
  assert_int_equal(ax_sem_init(&sem, 0), 0);
  /* Two waiters, then two posts back to back: both must be released. The
   * pause only makes it likely that both wait before the posts; the test
   * holds either way, and hangs (failing by timeout) if a post is lost. */
  for (int round = 0; round < 5; round++) {
    ax_thread_t a, b;
    assert_int_equal(ax_thread_create(&a, sem_waiter, &sem), 0);
    assert_int_equal(ax_thread_create(&b, sem_waiter, &sem), 0);
    struct timespec pause = {0, 5000000};
    nanosleep(&pause, NULL);
    ax_sem_post(&sem);
    ax_sem_post(&sem);
    assert_int_equal(ax_thread_join(&a), 0);
    assert_int_equal(ax_thread_join(&b), 0);
  }
  ax_sem_destroy(&sem);
}

static ax_once_t once = AX_ONCE_INIT;
static int once_runs;

static void once_init(void) {
  __atomic_add_fetch(&once_runs, 1, __ATOMIC_RELAXED);
}

static void once_thread(void *arg) {
  (void)arg;
  ax_once(&once, once_init);
}

static void test_thread_once(void **state) {
  (void)state;
  ax_thread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(ax_thread_create(&threads[i], once_thread, NULL), 0);
  ax_once(&once, once_init);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(ax_thread_join(&threads[i]), 0);
  assert_int_equal(once_runs, 1);
}

struct key_check {
  ax_key_t *key; /* The shared key. */
  void *seen;    /* The other thread's value before and after setting. */
};

static void key_thread(void *arg) {
  struct key_check *k = arg;
  k->seen = ax_key_get(k->key); /* NULL: values are per thread. */
  ax_key_set(k->key, k);
  if (ax_key_get(k->key) != k)
    k->seen = (void *)1;
}

static void test_thread_key(void **state) {
  (void)state;
  ax_key_t key;
  int mine;
  struct key_check k = {&key, &mine};
  ax_thread_t t;
  assert_int_equal(ax_key_create(&key), 0);
  assert_null(ax_key_get(&key));
  ax_key_set(&key, &mine);
  assert_int_equal(ax_thread_create(&t, key_thread, &k), 0);
  assert_int_equal(ax_thread_join(&t), 0);
  assert_null(k.seen);
  assert_ptr_equal(ax_key_get(&key), &mine);
  ax_key_delete(&key);
}

static void test_thread_no_memory_left(void **state) {
  (void)state;
  /* Creating, joining, locking and destroying leave nothing allocated. */
  ax_loop_t loop;
  test_loop_open(&loop); /* installs the counting allocator */
  ax_thread_t t;
  struct self_check s;
  ax_mutex_t m;
  assert_int_equal(ax_thread_create(&t, self_thread, &s), 0);
  assert_int_equal(ax_thread_join(&t), 0);
  assert_int_equal(ax_mutex_init(&m), 0);
  ax_mutex_destroy(&m);
  test_loop_close(&loop);
}

enum { BARRIER_ROUNDS = 50 };

struct barrier_check {
  ax_barrier_t barrier; /* THREADS + 1 threads per round. */
  int arrived;          /* Threads that reached the barrier (__atomic). */
  int serials;          /* ax_barrier_wait() calls that returned true. */
  int early;            /* Threads that passed before the round was full. */
};

/* Each round: count in, wait, check that the whole round had come. */
static void barrier_thread(void *arg) {
  struct barrier_check *b = arg;
  for (int round = 1; round <= BARRIER_ROUNDS; round++) {
    __atomic_add_fetch(&b->arrived, 1, __ATOMIC_RELAXED);
    if (ax_barrier_wait(&b->barrier))
      __atomic_add_fetch(&b->serials, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&b->arrived, __ATOMIC_RELAXED) < round * (THREADS + 1))
      __atomic_add_fetch(&b->early, 1, __ATOMIC_RELAXED);
    /* Nobody may enter the next round before all left this one's check:
     * a second barrier wait keeps the rounds apart. */
    if (ax_barrier_wait(&b->barrier))
      __atomic_add_fetch(&b->serials, 1, __ATOMIC_RELAXED);
  }
}

static void test_thread_barrier_rounds(void **state) {
  (void)state;
  struct barrier_check b = {.arrived = 0};
  ax_thread_t threads[THREADS];
  assert_int_equal(ax_barrier_init(&b.barrier, THREADS + 1), 0);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(ax_thread_create(&threads[i], barrier_thread, &b), 0);
  barrier_thread(&b);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(ax_thread_join(&threads[i]), 0);
  /* Exactly one serial thread per round (two waits per loop pass). */
  assert_int_equal(b.serials, 2 * BARRIER_ROUNDS);
  assert_int_equal(b.early, 0);
  assert_int_equal(b.arrived, BARRIER_ROUNDS * (THREADS + 1));
  ax_barrier_destroy(&b.barrier);
}

struct barrier_destroy_check {
  ax_barrier_t barrier; /* Two threads per round. */
  bool serial;          /* What the other thread's wait returned. */
};

static void barrier_destroy_thread(void *arg) {
  struct barrier_destroy_check *d = arg;
  d->serial = ax_barrier_wait(&d->barrier);
}

static void test_thread_barrier_serial_destroys(void **state) {
  (void)state;
  /* Whichever thread is the serial one destroys the barrier at once,
   * while the other may still be on its way out of the wait; the destroy
   * waits for it (ASan and TSan would see a use after free otherwise). */
  for (int i = 0; i < 100; i++) {
    struct barrier_destroy_check d = {.serial = false};
    ax_thread_t t;
    assert_int_equal(ax_barrier_init(&d.barrier, 2), 0);
    assert_int_equal(ax_thread_create(&t, barrier_destroy_thread, &d), 0);
    bool mine = ax_barrier_wait(&d.barrier);
    if (mine)
      ax_barrier_destroy(&d.barrier);
    assert_int_equal(ax_thread_join(&t), 0);
    assert_true(mine != d.serial);
    if (!mine)
      ax_barrier_destroy(&d.barrier);
  }
}

static void test_thread_barrier_one_and_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop); /* installs the counting allocator */
  ax_barrier_t barrier;
  assert_int_equal(ax_barrier_init(NULL, 2), AX_EINVAL);
  assert_int_equal(ax_barrier_init(&barrier, 0), AX_EINVAL);
  /* A barrier of one never waits: every call is its own round. */
  assert_int_equal(ax_barrier_init(&barrier, 1), 0);
  assert_true(ax_barrier_wait(&barrier));
  assert_true(ax_barrier_wait(&barrier));
  ax_barrier_destroy(&barrier);
  test_loop_close(&loop); /* and nothing is left allocated */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_thread_create_join_mutex),
      cmocka_unit_test(test_thread_invalid),
      cmocka_unit_test(test_thread_self_equal_stack),
      cmocka_unit_test(test_thread_tiny_stack),
      cmocka_unit_test(test_thread_mutex_trylock_recursive),
      cmocka_unit_test(test_thread_try_when_held),
      cmocka_unit_test(test_thread_cond),
      cmocka_unit_test(test_thread_sem),
      cmocka_unit_test(test_thread_sem_two_waiters),
      cmocka_unit_test(test_thread_once),
      cmocka_unit_test(test_thread_key),
      cmocka_unit_test(test_thread_no_memory_left),
      cmocka_unit_test(test_thread_barrier_rounds),
      cmocka_unit_test(test_thread_barrier_serial_destroys),
      cmocka_unit_test(test_thread_barrier_one_and_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
