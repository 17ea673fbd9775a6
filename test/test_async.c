/*
 * test_async.c: async handles, through the public API only: argument errors,
 * a send from the loop thread, coalescing, sends from another thread with a
 * handshake, four threads sending freely (nothing lost), a close racing with
 * a sender, stopping a loop from another thread, and an unreferenced handle.
 *
 * Threads other than the loop's never call cmocka: a failed assertion
 * longjmps, which only works on the test's own stack. They record what they
 * saw, and the test asserts once it has joined them. Every wait on another
 * thread is bounded by a safety net (SAFETY_NET_MS) so that a lost wakeup
 * fails the test instead of hanging it until meson's timeout.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "test.h"

/* How long any wait on another thread may take before the test gives up.
 * Never reached when the library works: only a bound, not a timing. */
enum { SAFETY_NET_MS = 10000 };

/* Spin (yielding) until *flag reaches want or the safety net runs out.
 * Used only where the other thread is a few instructions from done. */
static bool wait_for_value(atomic_int *flag, int want) {
  uint64_t deadline_ns = ax_hrtime() + (uint64_t)SAFETY_NET_MS * 1000000u;
  while (atomic_load(flag) != want) {
    if (ax_hrtime() > deadline_ns)
      return false;
    sched_yield();
  }
  return true;
}

/*
 * A timer that ends a run which would otherwise hang on a lost wakeup. It is
 * unreferenced, so it does not keep the loop alive by itself: a test whose
 * handles all close returns from ax_run() at once; one whose async handle
 * never gets its callback returns after SAFETY_NET_MS with fired set.
 */
struct guard {
  ax_timer_t timer; /* Unreferenced, one-shot. */
  bool fired;       /* The safety net was reached. */
};

static void guard_cb(ax_timer_t *timer) {
  ax_container_of(timer, struct guard, timer)->fired = true;
  ax_stop(timer->handle.loop);
}

static void guard_start(ax_loop_t *loop, struct guard *guard) {
  guard->fired = false;
  assert_int_equal(ax_timer_init(loop, &guard->timer), 0);
  assert_int_equal(ax_timer_start(&guard->timer, guard_cb, SAFETY_NET_MS, 0),
                   0);
  ax_unref(&guard->timer.handle);
}

static void guard_close(struct guard *guard) {
  assert_int_equal(ax_close(&guard->timer.handle, NULL), 0);
}

static pthread_t thread_start(void *(*fn)(void *), void *arg) {
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, fn, arg), 0);
  return thread;
}

static void thread_join(pthread_t thread) {
  assert_int_equal(pthread_join(thread, NULL), 0);
}

static void never_called_cb(ax_async_t *async) {
  (void)async;
  fail_msg("an async callback ran that should not have");
}

static void test_async_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(NULL, &async, never_called_cb), AX_EINVAL);
  assert_int_equal(ax_async_init(&loop, NULL, never_called_cb), AX_EINVAL);
  assert_int_equal(ax_async_init(&loop, &async, NULL), AX_EINVAL);
  assert_int_equal(ax_async_send(NULL), AX_EINVAL);
  /* A refused init registers nothing the loop would wait for. */
  assert_int_equal(test_count_handles(&loop), 0);
  assert_false(ax_loop_alive(&loop));
  test_loop_close(&loop);
}

/* An async handle used from the loop thread only. */
struct local {
  ax_async_t async; /* The handle under test. */
  int calls;        /* Callbacks run. */
  bool close_in_cb; /* The callback closes its own handle. */
  int second_close; /* What a second ax_close() in the callback gave. */
  int closes;       /* Close callbacks run (via handle.data). */
};

static void local_cb(ax_async_t *async) {
  struct local *l = ax_container_of(async, struct local, async);
  l->calls++;
  if (!l->close_in_cb)
    return;
  assert_int_equal(ax_close(&async->handle, test_count_close_cb), 0);
  l->second_close = ax_close(&async->handle, test_count_close_cb);
}

static void local_open(ax_loop_t *loop, struct local *l) {
  memset(l, 0, sizeof(*l));
  assert_int_equal(ax_async_init(loop, &l->async, local_cb), 0);
  l->async.handle.data = &l->closes;
}

static void test_async_send_from_loop_thread(void **state) {
  (void)state;
  ax_loop_t loop;
  struct local l;
  test_loop_open(&loop);
  local_open(&loop, &l);
  assert_int_equal(l.async.handle.type, AX_ASYNC);
  /* Active from init on, and so keeping the loop alive, until closed. */
  assert_true(ax_is_active(&l.async.handle));
  assert_true(ax_has_ref(&l.async.handle));
  assert_true(ax_loop_alive(&loop));
  /* Nothing sent, nothing run. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(l.calls, 0);

  /* The wakeup is already written, so ONCE does not block. */
  assert_int_equal(ax_async_send(&l.async), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(l.calls, 1);
  /* One send, one callback: later iterations do not repeat it. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(l.calls, 1);
  assert_true(ax_loop_alive(&loop));

  /* Closing from its own callback ends the run: nothing else is alive. */
  l.close_in_cb = true;
  assert_int_equal(ax_async_send(&l.async), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(l.calls, 2);
  assert_int_equal(l.second_close, AX_EBADF);
  assert_int_equal(l.closes, 1);
  assert_true(ax_is_closing(&l.async.handle));
  assert_false(ax_is_active(&l.async.handle));
  /* Closing a closed handle is refused and calls no callback again. */
  assert_int_equal(ax_close(&l.async.handle, test_count_close_cb), AX_EBADF);
  assert_int_equal(l.closes, 1);
  test_loop_close(&loop);
}

static void test_async_sends_coalesce(void **state) {
  (void)state;
  enum { SENDS = 1000 };
  ax_loop_t loop;
  struct local l;
  test_loop_open(&loop);
  local_open(&loop, &l);
  for (int i = 0; i < SENDS; i++)
    assert_int_equal(ax_async_send(&l.async), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  /* A few more iterations give a stray second callback its chance. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(l.calls, 1);
  assert_int_equal(ax_close(&l.async.handle, test_count_close_cb), 0);
  test_loop_close(&loop);
  assert_int_equal(l.closes, 1);
}

/*
 * A second thread sends, then waits until the callback has acknowledged that
 * send before the next: every send finds the handle not pending, so each one
 * must give its own callback. The acks are counted under a mutex with a
 * condition variable rather than in a POSIX semaphore: macOS has no
 * sem_timedwait() and deprecates unnamed semaphores.
 */
struct handshake {
  ax_async_t async;      /* Sent to by the sender thread. */
  pthread_mutex_t lock;  /* Guards acks. */
  pthread_cond_t posted; /* Signalled by the callback after each ack. */
  int acks;              /* Acks posted and not yet taken by the sender. */
  atomic_int sent;       /* Sends made so far. */
  atomic_int failed;     /* The sender gave up waiting for an ack. */
  int calls;             /* Callbacks run (loop thread). */
  int mismatches;        /* Callbacks that saw calls != sent. */
};

enum { HANDSHAKE_SENDS = 500 };

/* Take one ack, waiting for it until the safety net runs out. */
static bool handshake_wait_ack(struct handshake *h) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += SAFETY_NET_MS / 1000;
  int err = 0;
  pthread_mutex_lock(&h->lock);
  while (h->acks == 0 && err == 0)
    err = pthread_cond_timedwait(&h->posted, &h->lock, &deadline);
  bool acked = h->acks > 0;
  if (acked)
    h->acks--;
  pthread_mutex_unlock(&h->lock);
  return acked;
}

static void handshake_post_ack(struct handshake *h) {
  pthread_mutex_lock(&h->lock);
  h->acks++;
  pthread_cond_signal(&h->posted);
  pthread_mutex_unlock(&h->lock);
}

static void *handshake_sender(void *arg) {
  struct handshake *h = arg;
  for (int i = 0; i < HANDSHAKE_SENDS; i++) {
    atomic_fetch_add(&h->sent, 1);
    ax_async_send(&h->async);
    if (!handshake_wait_ack(h)) {
      /* Wake the loop once more so that it closes and the test ends. */
      atomic_store(&h->failed, 1);
      ax_async_send(&h->async);
      break;
    }
  }
  return NULL;
}

static void handshake_cb(ax_async_t *async) {
  struct handshake *h = ax_container_of(async, struct handshake, async);
  h->calls++;
  /* The sender is blocked until the post below: sent cannot move. */
  if (h->calls != atomic_load(&h->sent))
    h->mismatches++;
  if (h->calls == HANDSHAKE_SENDS || atomic_load(&h->failed))
    ax_close(&async->handle, NULL);
  handshake_post_ack(h);
}

static void test_async_handshake_from_thread(void **state) {
  (void)state;
  ax_loop_t loop;
  struct handshake h;
  struct guard guard;
  memset(&h, 0, sizeof(h));
  test_loop_open(&loop);
  assert_int_equal(pthread_mutex_init(&h.lock, NULL), 0);
  assert_int_equal(pthread_cond_init(&h.posted, NULL), 0);
  assert_int_equal(ax_async_init(&loop, &h.async, handshake_cb), 0);
  guard_start(&loop, &guard);
  pthread_t sender = thread_start(handshake_sender, &h);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  thread_join(sender);
  assert_false(guard.fired);
  assert_int_equal(atomic_load(&h.failed), 0);
  assert_int_equal(h.calls, HANDSHAKE_SENDS);
  assert_int_equal(h.mismatches, 0);
  guard_close(&guard);
  test_loop_close(&loop);
  pthread_cond_destroy(&h.posted);
  pthread_mutex_destroy(&h.lock);
}

/*
 * Four threads send as fast as they can, each adding one to progress just
 * before every send. Sends coalesce, so there are fewer callbacks than sends,
 * but the last send must still be seen: a send that lands while the callback
 * runs gives another callback. The run ends only when a callback has seen every
 * increment, so a lost wakeup shows as the guard firing.
 */
enum { STORM_THREADS = 4, STORM_SENDS_PER_THREAD = 20000 };

struct storm {
  ax_async_t async;    /* Sent to by every thread. */
  atomic_int progress; /* Incremented before each send. */
  atomic_int finished; /* Threads that returned from their last send. */
  int calls;           /* Callbacks run (loop thread). */
  bool wait_timed_out; /* A sender never finished its last send. */
  int closes;          /* Close callbacks run (via handle.data). */
};

static void *storm_sender(void *arg) {
  struct storm *s = arg;
  for (int i = 0; i < STORM_SENDS_PER_THREAD; i++) {
    atomic_fetch_add(&s->progress, 1);
    ax_async_send(&s->async);
  }
  atomic_fetch_add(&s->finished, 1);
  return NULL;
}

static void storm_cb(ax_async_t *async) {
  struct storm *s = ax_container_of(async, struct storm, async);
  s->calls++;
  if (atomic_load(&s->progress) != STORM_THREADS * STORM_SENDS_PER_THREAD)
    return;
  /* Every send has begun; wait for the last ones to return, which takes a
   * few instructions since a send never blocks. Then no send can start
   * after the close callback, the one thing the contract forbids. */
  if (!wait_for_value(&s->finished, STORM_THREADS))
    s->wait_timed_out = true;
  ax_close(&async->handle, test_count_close_cb);
}

static void test_async_many_threads_lose_nothing(void **state) {
  (void)state;
  ax_loop_t loop;
  struct storm s;
  struct guard guard;
  pthread_t senders[STORM_THREADS];
  memset(&s, 0, sizeof(s));
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &s.async, storm_cb), 0);
  s.async.handle.data = &s.closes;
  guard_start(&loop, &guard);
  for (int i = 0; i < STORM_THREADS; i++)
    senders[i] = thread_start(storm_sender, &s);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < STORM_THREADS; i++)
    thread_join(senders[i]);
  assert_false(guard.fired);
  assert_false(s.wait_timed_out);
  assert_int_equal(s.closes, 1);
  assert_in_range(s.calls, 1, STORM_THREADS * STORM_SENDS_PER_THREAD);
  guard_close(&guard);
  test_loop_close(&loop);
}

/*
 * A close racing with a sender. The sender sends in a tight loop until it
 * sees stop; the callback, after a few wakeups, sets stop and closes the
 * handle at once, so the sender is usually still inside a send, or about to
 * start its last one, while the loop closes: the close phase must wait for
 * it (priv.busy) before the close callback may free the handle.
 *
 * The contract forbids only a send that starts after the close callback. A
 * sender that read stop just before it was set could, if the scheduler
 * delays it, start one last send that late; here that send still finds
 * valid memory, because the handle lives in this test's frame and the loop
 * is closed only after the join. So the test exercises the allowed race
 * without depending on luck. Several rounds, to meet the race more often.
 */
enum {
  RACE_ROUNDS = 10,
  RACE_CALLS_BEFORE_CLOSE = 20,
  /* A bound on the sender, far above what the loop needs to see its
   * callbacks; reaching it means the loop stalled. */
  RACE_MAX_SENDS = 50000000,
};

struct race {
  ax_async_t async;     /* The handle closed under the sender. */
  atomic_int stop;      /* Set by the loop thread just before ax_close(). */
  atomic_int exhausted; /* The sender reached RACE_MAX_SENDS. */
  long sends;           /* Sends made (sender thread, read after join). */
  int calls;            /* Callbacks run (loop thread). */
  int close_result;     /* What ax_close() returned in the callback. */
  int closes;           /* Close callbacks run (via handle.data). */
};

static void *race_sender(void *arg) {
  struct race *r = arg;
  while (!atomic_load(&r->stop)) {
    ax_async_send(&r->async);
    if (++r->sends == RACE_MAX_SENDS) {
      /* One more send, so the loop wakes and closes. */
      atomic_store(&r->exhausted, 1);
      ax_async_send(&r->async);
      break;
    }
  }
  return NULL;
}

static void race_cb(ax_async_t *async) {
  struct race *r = ax_container_of(async, struct race, async);
  if (++r->calls < RACE_CALLS_BEFORE_CLOSE && !atomic_load(&r->exhausted))
    return;
  atomic_store(&r->stop, 1);
  r->close_result = ax_close(&async->handle, test_count_close_cb);
}

static void race_round(ax_loop_t *loop) {
  struct race r;
  struct guard guard;
  memset(&r, 0, sizeof(r));
  assert_int_equal(ax_async_init(loop, &r.async, race_cb), 0);
  r.async.handle.data = &r.closes;
  guard_start(loop, &guard);
  pthread_t sender = thread_start(race_sender, &r);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  /* Stop the sender even if the guard ended the run, then join it. */
  atomic_store(&r.stop, 1);
  thread_join(sender);
  assert_false(guard.fired);
  assert_int_equal(atomic_load(&r.exhausted), 0);
  assert_int_equal(r.close_result, 0);
  assert_int_equal(r.closes, 1);
  /* No callback after the close: the count stopped where it closed. */
  assert_int_equal(r.calls, RACE_CALLS_BEFORE_CLOSE);
  assert_true(r.sends > 0);
  guard_close(&guard);
  /* Run the guard's close callback before r and guard leave scope. */
  assert_int_equal(ax_run(loop, AX_RUN_NOWAIT), 0);
  assert_false(ax_loop_alive(loop));
}

static void test_async_close_races_sender(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  for (int i = 0; i < RACE_ROUNDS; i++)
    race_round(&loop);
  test_loop_close(&loop);
}

/* ax_stop() is not thread-safe; the way to stop a loop from another thread
 * is an async handle whose callback calls it. */
struct stopper {
  ax_async_t async; /* Sent to once by the other thread. */
  int calls;        /* Callbacks run. */
};

static void *stopper_thread(void *arg) {
  ax_async_send(arg);
  return NULL;
}

static void stopper_cb(ax_async_t *async) {
  ax_container_of(async, struct stopper, async)->calls++;
  ax_stop(async->handle.loop);
}

static void test_async_stop_from_thread(void **state) {
  (void)state;
  ax_loop_t loop;
  struct stopper s;
  struct guard guard;
  memset(&s, 0, sizeof(s));
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &s.async, stopper_cb), 0);
  guard_start(&loop, &guard);
  pthread_t thread = thread_start(stopper_thread, &s.async);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  thread_join(thread);
  assert_false(guard.fired);
  assert_int_equal(s.calls, 1);
  /* Stopped, not finished: the async handle still keeps the loop alive. */
  assert_true(ax_loop_alive(&loop));
  assert_true(ax_is_active(&s.async.handle));
  assert_int_equal(ax_close(&s.async.handle, NULL), 0);
  guard_close(&guard);
  test_loop_close(&loop);
}

/* An unreferenced async handle with a referenced timer beside it. */
struct unref_pair {
  ax_async_t async; /* Unreferenced. */
  ax_timer_t timer; /* Referenced; keeps the loop alive until stopped. */
  int calls;        /* Async callbacks run. */
};

static void unref_pair_async_cb(ax_async_t *async) {
  struct unref_pair *p = ax_container_of(async, struct unref_pair, async);
  p->calls++;
  ax_timer_stop(&p->timer);
}

static void unref_pair_timer_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("the async callback should have stopped this safety-net timer");
}

static void test_async_unref(void **state) {
  (void)state;
  ax_loop_t loop;
  struct unref_pair p;
  memset(&p, 0, sizeof(p));
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &p.async, unref_pair_async_cb), 0);
  ax_unref(&p.async.handle);
  assert_false(ax_has_ref(&p.async.handle));
  assert_true(ax_is_active(&p.async.handle));
  assert_false(ax_loop_alive(&loop));
  /* Only the unreferenced handle is open: the run returns at once. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(p.calls, 0);

  /* While something else keeps the loop running, the handle still works. */
  assert_int_equal(ax_timer_init(&loop, &p.timer), 0);
  assert_int_equal(
      ax_timer_start(&p.timer, unref_pair_timer_cb, SAFETY_NET_MS, 0), 0);
  assert_int_equal(ax_async_send(&p.async), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(p.calls, 1);
  assert_false(ax_loop_alive(&loop));

  /* ax_ref() makes it count again. */
  ax_ref(&p.async.handle);
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_close(&p.async.handle, NULL), 0);
  assert_int_equal(ax_close(&p.timer.handle, NULL), 0);
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on ---- */

struct resend {
  ax_async_t async;   /* Sends to itself from its callback. */
  int calls;          /* Callbacks. */
  int iteration;      /* The loop's iteration, counted by the test. */
  int last_in;        /* The iteration of the last callback. */
  int same_iteration; /* Callbacks in the iteration of the one before. */
};

static void resend_cb(ax_async_t *async) {
  struct resend *r = ax_container_of(async, struct resend, async);
  if (r->calls > 0 && r->last_in == r->iteration)
    r->same_iteration++;
  r->last_in = r->iteration;
  if (++r->calls < 3)
    assert_int_equal(ax_async_send(async), 0);
}

/* A send from the handle's own callback is not lost, and not run inside
 * the callback or its iteration: the callback runs again in a later one,
 * as libuv's does. */
static void test_async_send_in_own_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct resend r;
  memset(&r, 0, sizeof(r));
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &r.async, resend_cb), 0);
  assert_int_equal(ax_async_send(&r.async), 0);
  for (r.iteration = 0; r.iteration < 10 && r.calls < 3; r.iteration++)
    assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(r.calls, 3);
  assert_int_equal(r.same_iteration, 0);
  ax_close(&r.async.handle, NULL);
  test_loop_close(&loop);
}

/* Sent, then closed before the loop ran: the close callback runs once and
 * the async callback never does (libuv does not call it after close). */
static void test_async_close_with_send_pending(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  int closed = 0;
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &async, never_called_cb), 0);
  async.handle.data = &closed;
  assert_int_equal(ax_async_send(&async), 0);
  assert_int_equal(ax_async_send(&async), 0);
  assert_int_equal(ax_close(&async.handle, test_count_close_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_async_invalid),
      cmocka_unit_test(test_async_send_from_loop_thread),
      cmocka_unit_test(test_async_sends_coalesce),
      cmocka_unit_test(test_async_handshake_from_thread),
      cmocka_unit_test(test_async_many_threads_lose_nothing),
      cmocka_unit_test(test_async_close_races_sender),
      cmocka_unit_test(test_async_stop_from_thread),
      cmocka_unit_test(test_async_unref),
      cmocka_unit_test(test_async_send_in_own_callback),
      cmocka_unit_test(test_async_close_with_send_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
