/*
 * test_loop.c: the loop's life and run modes: init and close, AX_EBUSY while
 * handles are open, ax_run's modes, ax_stop, liveness, the cached clock,
 * ax_walk, and the order of the phases in one iteration.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

static void test_loop_init_close(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  assert_false(ax_loop_alive(&loop));
  assert_non_null(ax_backend_name(&loop));
  /* An empty loop returns at once in every mode. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  test_loop_close(&loop);
}

static void test_loop_invalid_arguments(void **state) {
  (void)state;
  ax_loop_t loop;
  assert_int_equal(ax_loop_init(NULL), AX_EINVAL);
  assert_int_equal(ax_loop_close(NULL), AX_EINVAL);
  assert_int_equal(ax_run(NULL, AX_RUN_DEFAULT), AX_EINVAL);
  assert_int_equal(ax_loop_metrics(NULL, NULL), AX_EINVAL);
  /* A zeroed loop was never initialised. */
  memset(&loop, 0, sizeof(loop));
  assert_int_equal(ax_loop_close(&loop), AX_EINVAL);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), AX_EINVAL);

  test_loop_open(&loop);
  assert_int_equal(ax_run(&loop, (ax_run_mode)42), AX_EINVAL);
  assert_int_equal(ax_run(&loop, (ax_run_mode)-1), AX_EINVAL);
  assert_int_equal(ax_loop_metrics(&loop, NULL), AX_EINVAL);
  test_loop_close(&loop);
  /* Closing twice, or running a closed loop, is an error, not a crash. */
  assert_int_equal(ax_loop_close(&loop), AX_EINVAL);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), AX_EINVAL);
}

static void test_loop_keeps_user_data(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  int marker;
  loop.data = &marker;
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_ptr_equal(loop.data, &marker);
  test_loop_close(&loop);
  assert_ptr_equal(loop.data, &marker);
}

static void test_loop_close_busy(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int closed = 0;
  test_loop_open(&loop);
  /* An initialised handle, even one never started, keeps close busy. */
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  assert_int_equal(ax_loop_close(&loop), AX_EBUSY);
  timer.handle.data = &closed;
  assert_int_equal(ax_close(&timer.handle, test_count_close_cb), 0);
  /* Still busy until the close callback has run. */
  assert_int_equal(ax_loop_close(&loop), AX_EBUSY);
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  test_loop_close(&loop);
}

struct reentry {
  ax_loop_t *loop;  /* The loop under test. */
  int run_result;   /* What a nested ax_run() returned. */
  int close_result; /* What ax_loop_close() inside a callback returned. */
};

static void reentry_cb(ax_timer_t *timer) {
  struct reentry *r = timer->handle.data;
  r->run_result = ax_run(r->loop, AX_RUN_NOWAIT);
  r->close_result = ax_loop_close(r->loop);
  ax_close(&timer->handle, NULL);
}

static void test_loop_run_reentrant(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  struct reentry r = {&loop, 1, 1};
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &r;
  ax_timer_start(&timer, reentry_cb, 0, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.run_result, AX_EBUSY);
  assert_int_equal(r.close_result, AX_EBUSY);
  test_loop_close(&loop);
}

static void count_idle_cb(ax_idle_t *idle) {
  (*(int *)idle->handle.data)++;
}

static void test_loop_run_nowait_and_once(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_idle_t idle;
  int runs = 0;
  test_loop_open(&loop);
  ax_idle_init(&loop, &idle);
  idle.handle.data = &runs;
  ax_idle_start(&idle, count_idle_cb);
  /* Each call runs exactly one iteration, and an active idle handle keeps
   * ONCE from blocking. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(runs, 1);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(runs, 2);
  assert_true(ax_loop_alive(&loop));
  ax_close(&idle.handle, NULL);
  test_loop_close(&loop);
}

static void fired_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void test_loop_run_once_waits_for_timer(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  ax_timer_start(&timer, fired_cb, 5, 0);
  /* ONCE blocks until the timer is due and runs it in the same call. */
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(fired, 1);
  assert_false(ax_loop_alive(&loop));
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

static void test_loop_run_nowait_does_not_wait(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  ax_timer_start(&timer, fired_cb, 60000, 0);
  /* A timer a minute away: NOWAIT must come back with it still pending. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(fired, 0);
  assert_true(ax_loop_alive(&loop));
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

struct stopper {
  int calls; /* Timer callbacks so far. */
};

static void stop_cb(ax_timer_t *timer) {
  struct stopper *s = timer->handle.data;
  s->calls++;
  ax_stop(timer->handle.loop);
}

static void test_loop_stop(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  struct stopper s = {0};
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &s;
  ax_timer_start(&timer, stop_cb, 1, 1);
  /* A repeating timer keeps the loop alive forever; ax_stop ends each run
   * after the iteration it was called in. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.calls, 1);
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.calls, 2);
  /* A stop before the run is cleared by the run that honours it, in every
   * mode, with nothing run (libuv's loop_stop_before_run). */
  ax_stop(&loop);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.calls, 2);
  ax_stop(&loop);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  ax_stop(&loop);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(s.calls, 2);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

static void test_loop_time(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  uint64_t cached = ax_now(&loop);
  uint64_t a = ax_hrtime();
  uint64_t b = ax_hrtime();
  assert_true(b >= a);
  /* The cached time does not move on its own... */
  assert_int_equal(ax_now(&loop), cached);
  /* ...and follows the clock when refreshed. */
  ax_update_time(&loop);
  assert_true(ax_now(&loop) >= cached);
  assert_true(ax_now(&loop) <= ax_hrtime() / 1000000u);
  test_loop_close(&loop);
}

struct walk_state {
  int timers;  /* Timers seen. */
  int idles;   /* Idle handles seen. */
  int closing; /* Handles seen closing. */
};

static void walk_count_cb(ax_handle_t *handle, void *arg) {
  struct walk_state *w = arg;
  if (handle->type == AX_TIMER)
    w->timers++;
  if (handle->type == AX_IDLE)
    w->idles++;
  if (ax_is_closing(handle))
    w->closing++;
}

static void walk_close_cb(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    ax_close(handle, NULL);
}

static void test_loop_walk(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timers[3];
  ax_idle_t idle;
  test_loop_open(&loop);
  for (int i = 0; i < 3; i++)
    ax_timer_init(&loop, &timers[i]);
  ax_idle_init(&loop, &idle);
  ax_close(&timers[0].handle, NULL);
  /* Open and closing handles are both walked, each once. */
  struct walk_state w = {0};
  ax_walk(&loop, walk_count_cb, &w);
  assert_int_equal(w.timers, 3);
  assert_int_equal(w.idles, 1);
  assert_int_equal(w.closing, 1);
  /* The callback may close the handle it is given: the common shutdown
   * idiom. Each handle is still met once. */
  ax_walk(&loop, walk_close_cb, NULL);
  memset(&w, 0, sizeof(w));
  ax_walk(&loop, walk_count_cb, &w);
  assert_int_equal(w.timers + w.idles, 4);
  assert_int_equal(w.closing, 4);
  test_loop_close(&loop);
}

enum { MAX_TRACE = 16 };

struct trace {
  char steps[MAX_TRACE]; /* One letter per callback, in call order. */
  int len;               /* Letters recorded. */
  ax_loop_t *loop;       /* The loop under test. */
};

static void trace_add(struct trace *t, char step) {
  if (t->len < MAX_TRACE - 1)
    t->steps[t->len++] = step;
}

static void trace_timer_cb(ax_timer_t *h) {
  trace_add(h->handle.data, 'T');
}

static void trace_idle_cb(ax_idle_t *h) {
  trace_add(h->handle.data, 'I');
  ax_idle_stop(h);
}

static void trace_prepare_cb(ax_prepare_t *h) {
  trace_add(h->handle.data, 'P');
  ax_prepare_stop(h);
}

static void trace_check_cb(ax_check_t *h) {
  trace_add(h->handle.data, 'C');
  ax_check_stop(h);
}

static void trace_close_cb(ax_handle_t *h) {
  trace_add(h->data, 'X');
}

static void test_loop_phase_order(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  ax_idle_t idle;
  ax_prepare_t prepare;
  ax_check_t check;
  ax_timer_t doomed;
  struct trace t = {{0}, 0, &loop};
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  ax_idle_init(&loop, &idle);
  ax_prepare_init(&loop, &prepare);
  ax_check_init(&loop, &check);
  ax_timer_init(&loop, &doomed);
  timer.handle.data = idle.handle.data = prepare.handle.data = &t;
  check.handle.data = doomed.handle.data = &t;
  /* Started in reverse order of their phases: the loop, not the start
   * order, decides. The close was requested first of all. */
  ax_close(&doomed.handle, trace_close_cb);
  ax_check_start(&check, trace_check_cb);
  ax_prepare_start(&prepare, trace_prepare_cb);
  ax_idle_start(&idle, trace_idle_cb);
  ax_timer_start(&timer, trace_timer_cb, 0, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_string_equal(t.steps, "TIPCX");
  ax_close(&timer.handle, NULL);
  ax_close(&idle.handle, NULL);
  ax_close(&prepare.handle, NULL);
  ax_close(&check.handle, NULL);
  test_loop_close(&loop);
}

static void test_loop_options(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_loop_options_t options;
  /* An unknown backend or flag is the caller's error. */
  memset(&options, 0, sizeof(options));
  options.backend = "no-such-backend";
  assert_int_equal(ax_loop_init_ex(&loop, &options), AX_EINVAL);
  options.backend = NULL;
  options.flags = 0x80;
  assert_int_equal(ax_loop_init_ex(&loop, &options), AX_EINVAL);
  /* NULL options mean the defaults; an explicit name is honoured. */
  test_loop_open(&loop); /* installs the counting allocator */
  const char *name = ax_backend_name(&loop);
  test_loop_close(&loop);
  options.flags = AX_LOOP_BACKEND_STRICT;
  options.backend = name;
  assert_int_equal(ax_loop_init_ex(&loop, &options), 0);
  assert_string_equal(ax_backend_name(&loop), name);
  assert_int_equal(ax_backend_fallback_error(&loop), 0);
  assert_int_equal(ax_loop_close(&loop), 0);
  assert_int_equal(ax_loop_init_ex(&loop, NULL), 0);
  assert_int_equal(ax_loop_close(&loop), 0);
  assert_int_equal(test_live_allocations(), 0);
}

static void test_loop_many_loops(void **state) {
  (void)state;
  /* Loops are independent: several open at once, closed in any order. */
  enum { N = 8 };
  ax_loop_t loops[N];
  ax_timer_t timers[N];
  int fired[N] = {0};
  test_loop_open(&loops[0]); /* counts allocations from here */
  for (int i = 0; i < N; i++) {
    if (i > 0)
      assert_int_equal(ax_loop_init(&loops[i]), 0);
    ax_timer_init(&loops[i], &timers[i]);
    timers[i].handle.data = &fired[i];
    ax_timer_start(&timers[i], fired_cb, 0, 0);
  }
  for (int i = N - 1; i >= 0; i--) {
    assert_int_equal(ax_run(&loops[i], AX_RUN_DEFAULT), 0);
    assert_int_equal(fired[i], 1);
    ax_close(&timers[i].handle, NULL);
    assert_int_equal(ax_run(&loops[i], AX_RUN_DEFAULT), 0);
    assert_int_equal(ax_loop_close(&loops[i]), 0);
  }
  assert_int_equal(test_live_allocations(), 0);
}

/* ---- What a libuv program relies on ---- */

struct stop_prepare {
  ax_prepare_t prepare; /* Stops the loop from its callback. */
  ax_check_t check;     /* Counts the iteration's check phase. */
  ax_timer_t timer;     /* An hour away: the poll must not wait for it. */
  int prepares;         /* Prepare callbacks. */
  int checks;           /* Check callbacks. */
};

static void stop_prepare_cb(ax_prepare_t *prepare) {
  struct stop_prepare *s = ax_container_of(prepare, struct stop_prepare,
                                           prepare);
  s->prepares++;
  ax_stop(prepare->handle.loop);
}

static void stop_check_cb(ax_check_t *check) {
  ax_container_of(check, struct stop_prepare, check)->checks++;
}

static void stop_never_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("the hour-long timer fired");
}

/* ax_stop from a prepare callback, as libuv's loop_stop test does: the
 * poll that follows does not block on the far timer, the iteration ends
 * with its check phase, and the run returns with the loop still alive. */
static void test_loop_stop_in_prepare(void **state) {
  (void)state;
  ax_loop_t loop;
  struct stop_prepare s;
  memset(&s, 0, sizeof(s));
  test_loop_open(&loop);
  ax_prepare_init(&loop, &s.prepare);
  ax_check_init(&loop, &s.check);
  ax_timer_init(&loop, &s.timer);
  ax_prepare_start(&s.prepare, stop_prepare_cb);
  ax_check_start(&s.check, stop_check_cb);
  ax_timer_start(&s.timer, stop_never_cb, 3600u * 1000u, 0);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  for (int i = 1; i <= 3; i++) {
    assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
    assert_int_equal(s.prepares, i);
    assert_int_equal(s.checks, i);
    assert_true(ax_loop_alive(&loop));
  }
  test_guard_close(&guard);
  ax_close(&s.prepare.handle, NULL);
  ax_close(&s.check.handle, NULL);
  ax_close(&s.timer.handle, NULL);
  test_loop_close(&loop);
}

static void noop_work_cb(ax_work_t *work) {
  (void)work;
}

static void count_after_work_cb(ax_work_t *work, int status) {
  assert_int_equal(status, 0);
  (*(int *)work->req.data)++;
}

/* A request in flight keeps the loop alive with no handle at all, and
 * ax_loop_close refuses with AX_EBUSY until it has completed, as libuv's
 * does. */
static void test_loop_request_keeps_alive(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_work_t work;
  int done = 0;
  /* The pool makes its locks once per process and keeps them: before the
   * test counts what axle allocates. */
  assert_true(ax_threadpool_get_size() > 0);
  test_loop_open(&loop);
  work.req.data = &done;
  assert_int_equal(
      ax_queue_work(&loop, &work, noop_work_cb, count_after_work_cb), 0);
  assert_int_equal(test_count_handles(&loop), 0);
  assert_true(ax_loop_alive(&loop));
  assert_int_equal(ax_loop_close(&loop), AX_EBUSY);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(done, 1);
  assert_false(ax_loop_alive(&loop));
  test_loop_close(&loop);
}

static void walk_noop_async_cb(ax_async_t *async) {
  (void)async;
}

static void walk_noop_idle_cb(ax_idle_t *idle) {
  (void)idle;
}

static void walk_noop_timer_cb(ax_timer_t *timer) {
  (void)timer;
}

static void walk_noop_prepare_cb(ax_prepare_t *prepare) {
  (void)prepare;
}

static void walk_noop_check_cb(ax_check_t *check) {
  (void)check;
}

static void walk_count_closed_cb(ax_handle_t *handle) {
  (*(int *)handle->data)++;
}

static void walk_close_all_cb(ax_handle_t *handle, void *arg) {
  (void)arg;
  if (!ax_is_closing(handle))
    assert_int_equal(ax_close(handle, walk_count_closed_cb), 0);
}

/* The shutdown idiom of libuv programs: walk, close everything, run until
 * the close callbacks are over, close the loop. Active, referenced
 * handles of every phase, an async among them, all end. */
static void test_loop_walk_close_all_then_close(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  ax_idle_t idle;
  ax_timer_t timer;
  ax_prepare_t prepare;
  ax_check_t check;
  int closed = 0;
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &async, walk_noop_async_cb), 0);
  ax_idle_init(&loop, &idle);
  ax_timer_init(&loop, &timer);
  ax_prepare_init(&loop, &prepare);
  ax_check_init(&loop, &check);
  async.handle.data = idle.handle.data = timer.handle.data = &closed;
  prepare.handle.data = check.handle.data = &closed;
  ax_idle_start(&idle, walk_noop_idle_cb);
  ax_timer_start(&timer, walk_noop_timer_cb, 1, 1);
  ax_prepare_start(&prepare, walk_noop_prepare_cb);
  ax_check_start(&check, walk_noop_check_cb);
  assert_int_equal(ax_async_send(&async), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_loop_close(&loop), AX_EBUSY);
  ax_walk(&loop, walk_close_all_cb, NULL);
  assert_int_equal(closed, 0); /* Not from inside ax_close. */
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(closed, 5);
  assert_int_equal(test_count_handles(&loop), 0);
  test_loop_close(&loop);
}

enum { WALK_OTHERS = 4 };

struct walk_others {
  ax_idle_t idles[WALK_OTHERS]; /* Open when the walk begins. */
  ax_timer_t closing;           /* Closing when the walk begins. */
  ax_timer_t made;              /* Made by the walk's first callback. */
  ax_loop_t *loop;              /* Their loop. */
  int visits[WALK_OTHERS + 2];  /* Per handle: idles, closing, made. */
  int closed_at_visit;          /* Handles met already closing. */
};

static int walk_others_index(struct walk_others *w, ax_handle_t *handle) {
  for (int i = 0; i < WALK_OTHERS; i++)
    if (handle == &w->idles[i].handle)
      return i;
  return handle == &w->closing.handle ? WALK_OTHERS : WALK_OTHERS + 1;
}

static void walk_others_cb(ax_handle_t *handle, void *arg) {
  struct walk_others *w = arg;
  int i = walk_others_index(w, handle);
  w->visits[i]++;
  if (ax_is_closing(handle))
    w->closed_at_visit++;
  if (i >= WALK_OTHERS || w->visits[i] > 1)
    return;
  /* The first open handle met closes every open one, itself included, and
   * makes a new one, as a program closing a server with its connections
   * might. */
  if (w->made.handle.loop == NULL) {
    for (int j = 0; j < WALK_OTHERS; j++)
      if (!ax_is_closing(&w->idles[j].handle))
        assert_int_equal(ax_close(&w->idles[j].handle, NULL), 0);
    assert_int_equal(ax_timer_init(w->loop, &w->made), 0);
  }
}

/* The callback may close any handle, not only its own (libuv's uv_walk
 * allows it): every handle open or closing when the walk began is still
 * met, exactly once; one made during the walk is not. */
static void test_loop_walk_callback_closes_others(void **state) {
  (void)state;
  ax_loop_t loop;
  struct walk_others w;
  memset(&w, 0, sizeof(w));
  w.loop = &loop;
  test_loop_open(&loop);
  for (int i = 0; i < WALK_OTHERS; i++)
    ax_idle_init(&loop, &w.idles[i]);
  ax_timer_init(&loop, &w.closing);
  ax_close(&w.closing.handle, NULL);
  ax_walk(&loop, walk_others_cb, &w);
  for (int i = 0; i < WALK_OTHERS + 1; i++)
    assert_int_equal(w.visits[i], 1);
  assert_int_equal(w.visits[WALK_OTHERS + 1], 0);
  /* The closing one, and the three closed before their turn. */
  assert_int_equal(w.closed_at_visit, WALK_OTHERS);
  /* A second walk meets them all again, the new one too. */
  memset(w.visits, 0, sizeof(w.visits));
  ax_walk(&loop, walk_others_cb, &w);
  for (int i = 0; i < WALK_OTHERS + 2; i++)
    assert_int_equal(w.visits[i], 1);
  ax_close(&w.made.handle, NULL);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_loop_init_close),
      cmocka_unit_test(test_loop_invalid_arguments),
      cmocka_unit_test(test_loop_keeps_user_data),
      cmocka_unit_test(test_loop_close_busy),
      cmocka_unit_test(test_loop_run_reentrant),
      cmocka_unit_test(test_loop_run_nowait_and_once),
      cmocka_unit_test(test_loop_run_once_waits_for_timer),
      cmocka_unit_test(test_loop_run_nowait_does_not_wait),
      cmocka_unit_test(test_loop_stop),
      cmocka_unit_test(test_loop_time),
      cmocka_unit_test(test_loop_walk),
      cmocka_unit_test(test_loop_phase_order),
      cmocka_unit_test(test_loop_options),
      cmocka_unit_test(test_loop_many_loops),
      cmocka_unit_test(test_loop_stop_in_prepare),
      cmocka_unit_test(test_loop_request_keeps_alive),
      cmocka_unit_test(test_loop_walk_close_all_then_close),
      cmocka_unit_test(test_loop_walk_callback_closes_others),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
