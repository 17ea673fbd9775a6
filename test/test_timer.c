/*
 * test_timer.c: timers: argument errors, order by deadline and then by start,
 * never firing early, repeat and again, stopping from callbacks, huge
 * timeouts, many timers through the heap, and a timer re-armed at 0 ms that
 * must not starve I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "test.h"

static void count_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void test_timer_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  assert_int_equal(ax_timer_start(NULL, count_cb, 1, 0), AX_EINVAL);
  assert_int_equal(ax_timer_start(&timer, NULL, 1, 0), AX_EINVAL);
  assert_int_equal(ax_timer_stop(NULL), AX_EINVAL);
  assert_int_equal(ax_timer_again(NULL), AX_EINVAL);
  /* again needs a timer that was started once (it has no callback). */
  assert_int_equal(ax_timer_again(&timer), AX_EINVAL);
  /* Stopping a timer that never ran, or twice, is fine. */
  assert_int_equal(ax_timer_stop(&timer), 0);
  assert_int_equal(ax_timer_stop(&timer), 0);
  assert_false(ax_is_active(&timer.handle));
  ax_close(&timer.handle, NULL);
  assert_int_equal(ax_timer_start(&timer, count_cb, 1, 0), AX_EBADF);
  assert_int_equal(ax_timer_again(&timer), AX_EINVAL);
  assert_int_equal(ax_timer_stop(&timer), 0);
  test_loop_close(&loop);
}

enum { ORDER_N = 64 };

struct order {
  ax_timer_t timers[ORDER_N]; /* The timers. */
  int fired[ORDER_N];         /* Indexes in firing order. */
  int len;                    /* Timers fired so far. */
};

static void order_cb(ax_timer_t *timer) {
  struct order *o = timer->handle.data;
  o->fired[o->len++] = (int)(timer - o->timers);
}

static void order_init(ax_loop_t *loop, struct order *o) {
  memset(o, 0, sizeof(*o));
  for (int i = 0; i < ORDER_N; i++) {
    ax_timer_init(loop, &o->timers[i]);
    o->timers[i].handle.data = o;
  }
}

static void order_close(struct order *o) {
  for (int i = 0; i < ORDER_N; i++)
    ax_close(&o->timers[i].handle, NULL);
}

static void test_timer_deadline_order(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct order o;
  test_loop_open(&loop);
  order_init(&loop, &o);
  /* Started in an order unrelated to their timeouts (0..ORDER_N-1 ms in a
   * shuffle), they fire by timeout. */
  for (int i = 0; i < ORDER_N; i++) {
    int t = (i * 37) % ORDER_N;
    ax_timer_start(&o.timers[t], order_cb, (uint64_t)t, 0);
  }
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(o.len, ORDER_N);
  for (int i = 0; i < ORDER_N; i++)
    assert_int_equal(o.fired[i], i);
  order_close(&o);
  test_loop_close(&loop);
}

static void test_timer_equal_deadlines_in_start_order(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct order o;
  test_loop_open(&loop);
  order_init(&loop, &o);
  /* The cached time does not move between the starts, so every deadline
   * is the same: they fire in start order, ORDER_N-1 down to 0. */
  for (int i = ORDER_N - 1; i >= 0; i--)
    ax_timer_start(&o.timers[i], order_cb, 3, 0);
  /* Restarting one moves it to the back of its deadline's line. */
  ax_timer_start(&o.timers[ORDER_N - 1], order_cb, 3, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(o.len, ORDER_N);
  for (int i = 0; i < ORDER_N - 1; i++)
    assert_int_equal(o.fired[i], ORDER_N - 2 - i);
  assert_int_equal(o.fired[ORDER_N - 1], ORDER_N - 1);
  order_close(&o);
  test_loop_close(&loop);
}

struct early {
  ax_timer_t timer;    /* The timer under test. */
  uint64_t before_ns;  /* ax_hrtime() before the loop's time was cached. */
  uint64_t start_ms;   /* ax_now() when started. */
  uint64_t timeout_ms; /* Its timeout. */
  int fired;           /* Callbacks run. */
};

static void early_cb(ax_timer_t *timer) {
  struct early *e = ax_container_of(timer, struct early, timer);
  uint64_t now_ns = ax_hrtime();
  /* Never before the timeout has passed, by either clock. */
  assert_true(now_ns - e->before_ns >= e->timeout_ms * 1000000u);
  assert_true(ax_now(timer->handle.loop) - e->start_ms >= e->timeout_ms);
  e->fired++;
}

static void test_timer_never_early(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct early e[24];
  test_loop_open(&loop);
  /* Timeouts of 1..6 ms, started at different fractions of a millisecond:
   * millisecond rounding of the cached time must never let one fire early
   * (libuv can be up to 1 ms early, libuv issue #4773). */
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 6; i++) {
      struct early *x = &e[round * 6 + i];
      ax_timer_init(&loop, &x->timer);
      x->timeout_ms = (uint64_t)(i + 1);
      x->before_ns = ax_hrtime();
      ax_update_time(&loop);
      x->start_ms = ax_now(&loop);
      ax_timer_start(&x->timer, early_cb, x->timeout_ms, 0);
    }
    assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  }
  for (int i = 0; i < 24; i++) {
    assert_int_equal(e[i].fired, 1);
    ax_close(&e[i].timer.handle, NULL);
  }
  test_loop_close(&loop);
}

struct repeater {
  ax_timer_t timer; /* Repeats until it has fired `limit` times. */
  int fired;        /* Callbacks so far. */
  int limit;        /* When to stop. */
};

static void repeat_cb(ax_timer_t *timer) {
  struct repeater *r = ax_container_of(timer, struct repeater, timer);
  if (++r->fired == r->limit)
    ax_timer_stop(timer);
}

static void test_timer_repeat(void **state) {
  (void)state;
  ax_loop_t loop;
  struct repeater r = {.limit = 5};
  test_loop_open(&loop);
  ax_timer_init(&loop, &r.timer);
  ax_timer_start(&r.timer, repeat_cb, 1, 2);
  assert_int_equal(ax_timer_get_repeat(&r.timer), 2);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.fired, 5);
  assert_false(ax_is_active(&r.timer.handle));

  /* again: restarts with the repeat interval as the timeout. */
  ax_timer_set_repeat(&r.timer, 1);
  assert_int_equal(ax_timer_get_repeat(&r.timer), 1);
  r.limit = 8;
  assert_int_equal(ax_timer_again(&r.timer), 0);
  assert_true(ax_is_active(&r.timer.handle));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.fired, 8);

  /* again with no repeat interval stops the timer. */
  ax_timer_start(&r.timer, repeat_cb, 1000, 0);
  assert_int_equal(ax_timer_again(&r.timer), 0);
  assert_false(ax_is_active(&r.timer.handle));
  ax_close(&r.timer.handle, NULL);
  assert_int_equal(ax_timer_again(&r.timer), AX_EBADF);
  test_loop_close(&loop);
}

static void test_timer_due_in(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_get_due_in(&timer), 0);
  ax_timer_start(&timer, count_cb, 250, 0);
  /* Measured from the same cached time it was started at. */
  assert_int_equal(ax_timer_get_due_in(&timer), 250);
  ax_timer_stop(&timer);
  assert_int_equal(ax_timer_get_due_in(&timer), 0);
  /* The largest timeout saturates instead of wrapping into the past. */
  ax_timer_start(&timer, count_cb, UINT64_MAX, 0);
  assert_true(ax_timer_get_due_in(&timer) > UINT64_MAX / 2000000u);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(fired, 0);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

struct stopper {
  ax_timer_t first;  /* Stops second. */
  ax_timer_t second; /* Due in the same phase, must not fire. */
  int second_fired;  /* Calls of second's callback. */
};

static void stopper_second_cb(ax_timer_t *timer) {
  struct stopper *s = ax_container_of(timer, struct stopper, second);
  s->second_fired++;
}

static void stopper_first_cb(ax_timer_t *timer) {
  struct stopper *s = ax_container_of(timer, struct stopper, first);
  ax_timer_stop(&s->second);
}

static void test_timer_stop_other_in_same_phase(void **state) {
  (void)state;
  ax_loop_t loop;
  struct stopper s = {.second_fired = 0};
  test_loop_open(&loop);
  ax_timer_init(&loop, &s.first);
  ax_timer_init(&loop, &s.second);
  ax_timer_start(&s.first, stopper_first_cb, 1, 0);
  ax_timer_start(&s.second, stopper_second_cb, 1, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.second_fired, 0);
  ax_close(&s.first.handle, NULL);
  ax_close(&s.second.handle, NULL);
  test_loop_close(&loop);
}

enum { MANY = 20000 };

struct many {
  ax_timer_t timers[MANY]; /* The timers. */
  uint32_t timeout[MANY];  /* Each timer's timeout in ms. */
  int last;                /* Index of the last timer fired, or -1. */
  int fired;               /* Timers fired. */
  int out_of_order;        /* Firings that broke (timeout, start) order. */
};

static void many_cb(ax_timer_t *timer) {
  struct many *m = timer->handle.data;
  int i = (int)(timer - m->timers);
  if (m->last >= 0) {
    uint32_t a = m->timeout[m->last];
    uint32_t b = m->timeout[i];
    if (b < a || (b == a && i < m->last))
      m->out_of_order++;
  }
  m->last = i;
  m->fired++;
}

static void test_timer_many_through_heap(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct many m;
  test_loop_open(&loop);
  m.last = -1;
  m.fired = m.out_of_order = 0;
  srand(7);
  for (int i = 0; i < MANY; i++) {
    ax_timer_init(&loop, &m.timers[i]);
    m.timers[i].handle.data = &m;
    m.timeout[i] = (uint32_t)(rand() % 20);
    ax_timer_start(&m.timers[i], many_cb, m.timeout[i], 0);
  }
  /* Remove every third from the middle of the heap before it runs. */
  int stopped = 0;
  for (int i = 0; i < MANY; i += 3, stopped++)
    ax_timer_stop(&m.timers[i]);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(m.fired, MANY - stopped);
  assert_int_equal(m.out_of_order, 0);
  for (int i = 0; i < MANY; i++)
    ax_close(&m.timers[i].handle, NULL);
  test_loop_close(&loop);
}

struct starve {
  ax_timer_t timer; /* Re-arms itself at 0 ms from its callback. */
  ax_async_t async; /* Pending I/O: its eventfd is already readable. */
  int timer_runs;   /* Timer callbacks so far. */
  int runs_at_io;   /* timer_runs when the I/O callback ran. */
};

static void starve_timer_cb(ax_timer_t *timer) {
  struct starve *s = ax_container_of(timer, struct starve, timer);
  s->timer_runs++;
  if (s->timer_runs < 1000) /* A bound, should the loop be broken. */
    ax_timer_start(timer, starve_timer_cb, 0, 0);
}

static void starve_async_cb(ax_async_t *async) {
  struct starve *s = ax_container_of(async, struct starve, async);
  s->runs_at_io = s->timer_runs;
  ax_timer_stop(&s->timer);
  ax_close(&s->timer.handle, NULL);
  ax_close(&s->async.handle, NULL);
}

static void test_timer_zero_rearm_does_not_starve_io(void **state) {
  (void)state;
  ax_loop_t loop;
  struct starve s = {.timer_runs = 0, .runs_at_io = -1};
  test_loop_open(&loop);
  ax_timer_init(&loop, &s.timer);
  assert_int_equal(ax_async_init(&loop, &s.async, starve_async_cb), 0);
  assert_int_equal(ax_async_send(&s.async), 0);
  ax_timer_start(&s.timer, starve_timer_cb, 0, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  /* The timer ran once in the first iteration's timer phase; its re-arm
   * waited for the next iteration, and the I/O ready meanwhile was polled
   * in between. */
  assert_int_equal(s.runs_at_io, 1);
  test_loop_close(&loop);
}

/* ---- A repeating timer far behind runs once per iteration ---- */

enum { BEHIND_REPEAT_MS = 10, BEHIND_LATE_MS = 3 * BEHIND_REPEAT_MS };

static void behind_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

/* Let the clock pass the timer's deadline by several intervals without
 * running the loop. Spinning on the clock rather than sleeping keeps the
 * test portable; it waits at least, and asserts nothing about, the time. */
static void behind_fall_back(void) {
  uint64_t start_ns = ax_hrtime();
  while (ax_hrtime() - start_ns < (uint64_t)BEHIND_LATE_MS * 1000000u) {
  }
}

/* libuv keeps a regression test for this: whatever the mode, one call to
 * run a single iteration runs a repeating timer at most once, however far
 * behind its schedule it is. With a timer phase at both ends of an
 * AX_RUN_ONCE iteration, the timer ran at the start, the wait then lasted
 * until its next slot, and it ran again at the end. */
static void test_timer_repeat_behind_runs_once(void **state) {
  (void)state;
  static const ax_run_mode modes[] = {AX_RUN_ONCE, AX_RUN_NOWAIT};
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_timer_t timer;
  int fired = 0;
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
    fired = 0;
    ax_update_time(&loop);
    assert_int_equal(
        ax_timer_start(&timer, behind_cb, BEHIND_REPEAT_MS, BEHIND_REPEAT_MS),
        0);
    behind_fall_back();
    assert_int_equal(ax_run(&loop, modes[m]), 0);
    assert_int_equal(fired, 1);
    /* It keeps repeating, once per call, from its next slot on. */
    behind_fall_back();
    assert_int_equal(ax_run(&loop, modes[m]), 0);
    assert_int_equal(fired, 2);
    assert_true(ax_is_active(&timer.handle));
    assert_int_equal(ax_timer_stop(&timer), 0);
  }

  /* AX_RUN_ONCE still makes progress: a timer not yet due when the call
   * begins runs once the wait for it is over. */
  fired = 0;
  assert_int_equal(ax_timer_start(&timer, behind_cb, 1, 0), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(fired, 1);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/* ---- Due exactly at the deadline; a repeat keeps its own beat ---- */

enum { BEAT_MS = 10, BEAT_NS = BEAT_MS * 1000000 };

/* The loop's clock set by hand (its cached time, which the timers read)
 * and the timer phase run alone: exact, with nothing left to timing. A
 * timer is due at its deadline, not a nanosecond after; a repeating one
 * is re-armed from the deadline it had, so that a late callback does not
 * push every later one back (drift), and from now only when a whole
 * interval was missed (no burst of catch-up callbacks). */
static void test_timer_due_at_deadline_without_drift(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, count_cb, BEAT_MS, BEAT_MS), 0);
  uint64_t deadline = loop.priv.time_ns + BEAT_NS;

  /* The poll's timeout rounds up: a wait that ended a fraction of a
   * millisecond early would find the timer not yet due, and AX_RUN_ONCE
   * would return without it. */
  loop.priv.time_ns = deadline - 1500000;
  assert_int_equal(ax__next_timeout_ms(&loop), 2);
  loop.priv.time_ns = deadline - 1;
  assert_int_equal(ax__next_timeout_ms(&loop), 1);
  ax__run_timers(&loop);
  assert_int_equal(fired, 0);
  loop.priv.time_ns = deadline;
  ax__run_timers(&loop);
  assert_int_equal(fired, 1);
  assert_int_equal(ax_timer_get_due_in(&timer), BEAT_MS);

  /* Three milliseconds late: the next is due one interval after the
   * deadline it had, seven milliseconds from now. */
  deadline += BEAT_NS;
  loop.priv.time_ns = deadline + 3000000;
  ax__run_timers(&loop);
  assert_int_equal(fired, 2);
  assert_int_equal(ax_timer_get_due_in(&timer), BEAT_MS - 3);

  /* A whole interval and more missed: one callback, and the next a full
   * interval from now. */
  deadline += BEAT_NS;
  loop.priv.time_ns = deadline + BEAT_NS + 5000000;
  ax__run_timers(&loop);
  assert_int_equal(fired, 3);
  assert_int_equal(ax_timer_get_due_in(&timer), BEAT_MS);

  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on ---- */

static void never_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("a timer fired that must not");
}

/* Starting a started timer replaces its callback and timeout: it fires
 * once, the second way (libuv's timer_start_twice). */
static void test_timer_start_twice(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  assert_int_equal(ax_timer_start(&timer, never_cb, 3600u * 1000u, 0), 0);
  assert_int_equal(ax_timer_start(&timer, count_cb, 1, 0), 0);
  assert_int_equal(ax_timer_get_due_in(&timer), 1);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

struct huge {
  ax_timer_t timers[4]; /* Timeouts or repeats near the top of the range. */
  ax_timer_t tiny;      /* Closes them all. */
  int fired[4];         /* Callbacks of each huge timer. */
};

static void huge_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void huge_tiny_cb(ax_timer_t *timer) {
  struct huge *h = ax_container_of(timer, struct huge, tiny);
  for (int i = 0; i < 4; i++)
    ax_close(&h->timers[i].handle, NULL);
  ax_close(&timer->handle, NULL);
}

/* Timeouts that overflow a deadline in nanoseconds must wait forever, not
 * fire at once (libuv's timer_huge_timeout and timer_huge_repeat); a huge
 * repeat fires once. */
static void test_timer_huge_timeouts(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct huge h;
  memset(&h, 0, sizeof(h));
  test_loop_open(&loop);
  for (int i = 0; i < 4; i++) {
    ax_timer_init(&loop, &h.timers[i]);
    h.timers[i].handle.data = &h.fired[i];
  }
  ax_timer_init(&loop, &h.tiny);
  ax_timer_start(&h.timers[0], huge_cb, UINT64_MAX, 0);
  ax_timer_start(&h.timers[1], huge_cb, UINT64_MAX - 1, 0);
  ax_timer_start(&h.timers[2], huge_cb, (uint64_t)1 << 53, 0);
  ax_timer_start(&h.timers[3], huge_cb, 0, UINT64_MAX);
  ax_timer_start(&h.tiny, huge_tiny_cb, 2, 0);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(h.fired[0] + h.fired[1] + h.fired[2], 0);
  assert_int_equal(h.fired[3], 1);
  test_loop_close(&loop);
}

struct self_stop {
  ax_timer_t timer; /* Repeats; stops itself in its first callback. */
  int fired;        /* Callbacks. */
  int again_calls;  /* Calls that used ax_timer_again instead. */
};

static void self_stop_cb(ax_timer_t *timer) {
  struct self_stop *s = ax_container_of(timer, struct self_stop, timer);
  s->fired++;
  assert_int_equal(ax_timer_stop(timer), 0);
  assert_false(ax_is_active(&timer->handle));
}

static void self_again_cb(ax_timer_t *timer) {
  struct self_stop *s = ax_container_of(timer, struct self_stop, timer);
  s->fired++;
  s->again_calls++;
  assert_int_equal(ax_timer_again(timer), 0);
}

/* A repeating timer stopped from its own callback fires no more; again
 * later restarts it with the repeat. ax_timer_again from its own callback
 * re-arms it once: one callback per AX_RUN_ONCE, never two (libuv's
 * timer_no_double_call_once). */
static void test_timer_stop_and_again_in_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct self_stop s = {.fired = 0};
  test_loop_open(&loop);
  ax_timer_init(&loop, &s.timer);
  ax_timer_start(&s.timer, self_stop_cb, 1, 1);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.fired, 1);
  assert_int_equal(ax_timer_get_repeat(&s.timer), 1);
  assert_int_equal(ax_timer_again(&s.timer), 0);
  assert_true(ax_is_active(&s.timer.handle));
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.fired, 2);

  s.fired = 0;
  ax_timer_start(&s.timer, self_again_cb, 1, 2);
  for (int i = 1; i <= 4; i++) {
    assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
    assert_int_equal(s.fired, i);
    assert_true(ax_is_active(&s.timer.handle));
  }
  ax_close(&s.timer.handle, NULL);
  test_loop_close(&loop);
}

/* An unreferenced timer does not keep the loop alive: the run returns
 * without calling it (libuv's timer_no_run_on_unref). */
static void test_timer_unref_does_not_run(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  ax_timer_start(&timer, count_cb, 1, 0);
  ax_unref(&timer.handle);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fired, 0);
  assert_true(ax_is_active(&timer.handle));
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

struct from_check {
  ax_check_t check; /* Starts the timer at 0 ms, in the first iteration. */
  ax_idle_t idle;   /* Records the idle phase of each iteration. */
  ax_timer_t timer; /* Started from the check callback. */
  char steps[16];   /* 'T', 'I', 'C' in call order. */
  int len;          /* Steps recorded. */
};

static void from_check_add(struct from_check *f, char step) {
  if (f->len < (int)sizeof(f->steps) - 1)
    f->steps[f->len++] = step;
}

static void from_check_timer_cb(ax_timer_t *timer) {
  from_check_add(ax_container_of(timer, struct from_check, timer), 'T');
}

static void from_check_idle_cb(ax_idle_t *idle) {
  from_check_add(ax_container_of(idle, struct from_check, idle), 'I');
}

static void from_check_cb(ax_check_t *check) {
  struct from_check *f = ax_container_of(check, struct from_check, check);
  from_check_add(f, 'C');
  if (f->len == 2)
    ax_timer_start(&f->timer, from_check_timer_cb, 0, 0);
}

/* A timer started at 0 ms from a check callback runs in the next
 * iteration's timer phase, before its idle phase (libuv's
 * timer_from_check). */
static void test_timer_start_from_check(void **state) {
  (void)state;
  ax_loop_t loop;
  struct from_check f;
  memset(&f, 0, sizeof(f));
  test_loop_open(&loop);
  ax_check_init(&loop, &f.check);
  ax_idle_init(&loop, &f.idle);
  ax_timer_init(&loop, &f.timer);
  ax_check_start(&f.check, from_check_cb);
  ax_idle_start(&f.idle, from_check_idle_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_string_equal(f.steps, "ICTIC");
  ax_close(&f.check.handle, NULL);
  ax_close(&f.idle.handle, NULL);
  ax_close(&f.timer.handle, NULL);
  test_loop_close(&loop);
}

struct cached {
  ax_timer_t first;  /* Spins, then looks at the time. */
  ax_timer_t second; /* Same deadline: runs right after first. */
  uint64_t seen[3];  /* ax_now in first, after update, in second. */
};

static void cached_first_cb(ax_timer_t *timer) {
  struct cached *c = ax_container_of(timer, struct cached, first);
  c->seen[0] = ax_now(timer->handle.loop);
  uint64_t start_ns = ax_hrtime();
  while (ax_hrtime() - start_ns < 3000000u) {
  }
}

static void cached_second_cb(ax_timer_t *timer) {
  struct cached *c = ax_container_of(timer, struct cached, second);
  c->seen[1] = ax_now(timer->handle.loop);
  ax_update_time(timer->handle.loop);
  c->seen[2] = ax_now(timer->handle.loop);
}

/* The loop's time is cached for the iteration: callbacks of one phase see
 * the same ax_now, however long each takes, until ax_update_time. */
static void test_timer_now_cached_in_iteration(void **state) {
  (void)state;
  ax_loop_t loop;
  struct cached c;
  memset(&c, 0, sizeof(c));
  test_loop_open(&loop);
  ax_timer_init(&loop, &c.first);
  ax_timer_init(&loop, &c.second);
  ax_timer_start(&c.first, cached_first_cb, 1, 0);
  ax_timer_start(&c.second, cached_second_cb, 1, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.seen[1], c.seen[0]);
  assert_true(c.seen[2] >= c.seen[0] + 3);
  ax_close(&c.first.handle, NULL);
  ax_close(&c.second.handle, NULL);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timer_invalid),
      cmocka_unit_test(test_timer_deadline_order),
      cmocka_unit_test(test_timer_equal_deadlines_in_start_order),
      cmocka_unit_test(test_timer_never_early),
      cmocka_unit_test(test_timer_repeat),
      cmocka_unit_test(test_timer_due_in),
      cmocka_unit_test(test_timer_stop_other_in_same_phase),
      cmocka_unit_test(test_timer_many_through_heap),
      cmocka_unit_test(test_timer_zero_rearm_does_not_starve_io),
      cmocka_unit_test(test_timer_repeat_behind_runs_once),
      cmocka_unit_test(test_timer_due_at_deadline_without_drift),
      cmocka_unit_test(test_timer_start_twice),
      cmocka_unit_test(test_timer_huge_timeouts),
      cmocka_unit_test(test_timer_stop_and_again_in_callback),
      cmocka_unit_test(test_timer_unref_does_not_run),
      cmocka_unit_test(test_timer_start_from_check),
      cmocka_unit_test(test_timer_now_cached_in_iteration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
