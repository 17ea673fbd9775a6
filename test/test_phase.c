/*
 * test_phase.c: idle, prepare and check handles: argument errors, once per
 * iteration each, start and stop from callbacks (bounded phases), an active
 * idle handle keeping the poll phase from blocking, and callback
 * replacement.
 */
#include <string.h>

#include "test.h"

struct counter {
  ax_idle_t idle;       /* Counts its runs. */
  ax_prepare_t prepare; /* Counts its runs. */
  ax_check_t check;     /* Counts its runs. */
  int idle_runs;        /* Idle callbacks. */
  int prepare_runs;     /* Prepare callbacks. */
  int check_runs;       /* Check callbacks. */
};

static void counter_idle_cb(ax_idle_t *h) {
  ax_container_of(h, struct counter, idle)->idle_runs++;
}

static void counter_prepare_cb(ax_prepare_t *h) {
  ax_container_of(h, struct counter, prepare)->prepare_runs++;
}

static void counter_check_cb(ax_check_t *h) {
  ax_container_of(h, struct counter, check)->check_runs++;
}

static void counter_open(ax_loop_t *loop, struct counter *c) {
  memset(c, 0, sizeof(*c));
  ax_idle_init(loop, &c->idle);
  ax_prepare_init(loop, &c->prepare);
  ax_check_init(loop, &c->check);
}

static void counter_close(struct counter *c) {
  ax_close(&c->idle.handle, NULL);
  ax_close(&c->prepare.handle, NULL);
  ax_close(&c->check.handle, NULL);
}

static void test_phase_invalid(void **state) {
  (void)state;
  ax_loop_t loop;
  struct counter c;
  test_loop_open(&loop);
  counter_open(&loop, &c);
  assert_int_equal(ax_idle_start(NULL, counter_idle_cb), AX_EINVAL);
  assert_int_equal(ax_idle_start(&c.idle, NULL), AX_EINVAL);
  assert_int_equal(ax_prepare_start(NULL, counter_prepare_cb), AX_EINVAL);
  assert_int_equal(ax_prepare_start(&c.prepare, NULL), AX_EINVAL);
  assert_int_equal(ax_check_start(NULL, counter_check_cb), AX_EINVAL);
  assert_int_equal(ax_check_start(&c.check, NULL), AX_EINVAL);
  assert_int_equal(ax_idle_stop(NULL), AX_EINVAL);
  assert_int_equal(ax_prepare_stop(NULL), AX_EINVAL);
  assert_int_equal(ax_check_stop(NULL), AX_EINVAL);
  /* Stopping what never started is fine. */
  assert_int_equal(ax_idle_stop(&c.idle), 0);
  assert_int_equal(ax_prepare_stop(&c.prepare), 0);
  assert_int_equal(ax_check_stop(&c.check), 0);
  counter_close(&c);
  /* A closing handle cannot start. */
  assert_int_equal(ax_idle_start(&c.idle, counter_idle_cb), AX_EBADF);
  assert_int_equal(ax_prepare_start(&c.prepare, counter_prepare_cb), AX_EBADF);
  assert_int_equal(ax_check_start(&c.check, counter_check_cb), AX_EBADF);
  test_loop_close(&loop);
}

static void test_phase_once_per_iteration(void **state) {
  (void)state;
  ax_loop_t loop;
  struct counter c;
  test_loop_open(&loop);
  counter_open(&loop, &c);
  ax_idle_start(&c.idle, counter_idle_cb);
  ax_prepare_start(&c.prepare, counter_prepare_cb);
  ax_check_start(&c.check, counter_check_cb);
  /* Starting twice does not run twice. */
  ax_idle_start(&c.idle, counter_idle_cb);
  ax_prepare_start(&c.prepare, counter_prepare_cb);
  ax_check_start(&c.check, counter_check_cb);
  for (int i = 0; i < 10; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(c.idle_runs, 10);
  assert_int_equal(c.prepare_runs, 10);
  assert_int_equal(c.check_runs, 10);
  /* Stopped handles do not run and do not keep the loop alive. */
  ax_idle_stop(&c.idle);
  ax_prepare_stop(&c.prepare);
  ax_check_stop(&c.check);
  assert_false(ax_loop_alive(&loop));
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(c.idle_runs, 10);
  counter_close(&c);
  test_loop_close(&loop);
}

struct chain {
  ax_idle_t idles[3]; /* Each starts the next from its callback. */
  int runs[3];        /* Callbacks of each. */
  int iteration;      /* The iteration the loop is in. */
  int started_in[3];  /* Iteration each first ran in. */
};

static void chain_idle_cb(ax_idle_t *h) {
  struct chain *c = h->handle.data;
  int i = (int)(h - c->idles);
  if (c->runs[i]++ == 0)
    c->started_in[i] = c->iteration;
  if (i + 1 < 3)
    ax_idle_start(&c->idles[i + 1], chain_idle_cb);
  ax_idle_stop(h);
}

static void test_phase_start_from_callback_waits(void **state) {
  (void)state;
  ax_loop_t loop;
  struct chain c;
  memset(&c, 0, sizeof(c));
  test_loop_open(&loop);
  for (int i = 0; i < 3; i++) {
    ax_idle_init(&loop, &c.idles[i]);
    c.idles[i].handle.data = &c;
  }
  ax_idle_start(&c.idles[0], chain_idle_cb);
  for (c.iteration = 0; c.iteration < 10; c.iteration++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  /* A handle started by a callback of its own phase runs from the next
   * iteration on: the phase is bounded by what was active when it began. */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(c.runs[i], 1);
    assert_int_equal(c.started_in[i], i);
  }
  for (int i = 0; i < 3; i++)
    ax_close(&c.idles[i].handle, NULL);
  test_loop_close(&loop);
}

struct idle_wait {
  ax_idle_t idle;   /* Stops itself after some runs. */
  ax_timer_t timer; /* Far in the future; must not hold the loop. */
  int runs;         /* Idle callbacks. */
};

static void idle_wait_cb(ax_idle_t *h) {
  struct idle_wait *w = ax_container_of(h, struct idle_wait, idle);
  if (++w->runs == 100) {
    ax_idle_stop(h);
    ax_close(&w->timer.handle, NULL);
  }
}

static void timer_unused_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("the far timer must not fire");
}

static void test_phase_idle_keeps_poll_from_blocking(void **state) {
  (void)state;
  ax_loop_t loop;
  struct idle_wait w;
  memset(&w, 0, sizeof(w));
  test_loop_open(&loop);
  ax_idle_init(&loop, &w.idle);
  ax_timer_init(&loop, &w.timer);
  /* An hour-long timer keeps the loop alive; with an active idle handle the
   * poll phase must not block on it, so 100 idle runs happen at once. */
  ax_timer_start(&w.timer, timer_unused_cb, 3600u * 1000u, 0);
  ax_idle_start(&w.idle, idle_wait_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(w.runs, 100);
  ax_close(&w.idle.handle, NULL);
  test_loop_close(&loop);
}

static void other_idle_cb(ax_idle_t *h) {
  struct counter *c = ax_container_of(h, struct counter, idle);
  c->idle_runs += 100;
}

static void test_phase_replace_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct counter c;
  test_loop_open(&loop);
  counter_open(&loop, &c);
  ax_idle_start(&c.idle, counter_idle_cb);
  ax_run(&loop, AX_RUN_NOWAIT);
  /* Starting a started handle replaces its callback. */
  ax_idle_start(&c.idle, other_idle_cb);
  ax_run(&loop, AX_RUN_NOWAIT);
  assert_int_equal(c.idle_runs, 101);
  counter_close(&c);
  test_loop_close(&loop);
}

struct check_only {
  ax_check_t check; /* The loop's only handle. */
  int runs;         /* Its callbacks. */
};

static void check_only_cb(ax_check_t *h) {
  struct check_only *c = ax_container_of(h, struct check_only, check);
  if (++c->runs == 3)
    ax_close(&h->handle, NULL);
}

static void test_phase_check_only_loop_returns(void **state) {
  (void)state;
  ax_loop_t loop;
  struct check_only c = {.runs = 0};
  test_loop_open(&loop);
  /* A check handle keeps the loop alive, but nothing is watched and no
   * timer runs: the poll phase must not wait forever for nothing. */
  ax_check_init(&loop, &c.check);
  ax_check_start(&c.check, check_only_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(c.runs, 3);
  test_loop_close(&loop);
}

/* ---- What a libuv program relies on ---- */

struct starve_idle {
  ax_idle_t idle;   /* Runs every iteration until the timer fired. */
  ax_timer_t timer; /* A few milliseconds away. */
  int idle_runs;    /* Idle callbacks. */
  int fired;        /* Timer callbacks. */
};

static void starve_idle_cb(ax_idle_t *idle) {
  struct starve_idle *s = ax_container_of(idle, struct starve_idle, idle);
  s->idle_runs++;
}

static void starve_timer_cb(ax_timer_t *timer) {
  struct starve_idle *s = ax_container_of(timer, struct starve_idle, timer);
  s->fired++;
  ax_close(&s->idle.handle, NULL);
  ax_close(&s->timer.handle, NULL);
}

/* An idle handle that runs in every iteration does not keep a timer from
 * firing (libuv's idle_starvation): the loop still reads its clock and
 * runs what is due. */
static void test_phase_idle_does_not_starve_timer(void **state) {
  (void)state;
  ax_loop_t loop;
  struct starve_idle s;
  memset(&s, 0, sizeof(s));
  test_loop_open(&loop);
  ax_idle_init(&loop, &s.idle);
  ax_timer_init(&loop, &s.timer);
  ax_idle_start(&s.idle, starve_idle_cb);
  ax_timer_start(&s.timer, starve_timer_cb, 5, 0);
  struct test_guard guard;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_guard_close(&guard);
  assert_int_equal(s.fired, 1);
  assert_true(s.idle_runs > 0);
  test_loop_close(&loop);
}

struct stop_later {
  ax_prepare_t prepares[2]; /* The first stops the second. */
  ax_check_t checks[2];     /* The first stops the second. */
  ax_idle_t idles[2];       /* The first stops the second. */
  int runs[3][2];           /* Callbacks of each, by phase. */
};

static void stop_later_prepare_cb(ax_prepare_t *h) {
  struct stop_later *s = h->handle.data;
  int i = (int)(h - s->prepares);
  s->runs[0][i]++;
  if (i == 0)
    ax_prepare_stop(&s->prepares[1]);
}

static void stop_later_check_cb(ax_check_t *h) {
  struct stop_later *s = h->handle.data;
  int i = (int)(h - s->checks);
  s->runs[1][i]++;
  if (i == 0)
    ax_check_stop(&s->checks[1]);
}

static void stop_later_idle_cb(ax_idle_t *h) {
  struct stop_later *s = h->handle.data;
  int i = (int)(h - s->idles);
  s->runs[2][i]++;
  if (i == 0)
    ax_idle_stop(&s->idles[1]);
}

/* A handle stopped by an earlier callback of its own phase does not run
 * in that phase, in any of the three phases: what the stop says holds at
 * once, as in libuv. */
static void test_phase_stop_later_in_same_phase(void **state) {
  (void)state;
  ax_loop_t loop;
  struct stop_later s;
  memset(&s, 0, sizeof(s));
  test_loop_open(&loop);
  for (int i = 0; i < 2; i++) {
    ax_prepare_init(&loop, &s.prepares[i]);
    ax_check_init(&loop, &s.checks[i]);
    ax_idle_init(&loop, &s.idles[i]);
    s.prepares[i].handle.data = s.checks[i].handle.data = &s;
    s.idles[i].handle.data = &s;
    ax_prepare_start(&s.prepares[i], stop_later_prepare_cb);
    ax_check_start(&s.checks[i], stop_later_check_cb);
    ax_idle_start(&s.idles[i], stop_later_idle_cb);
  }
  for (int n = 0; n < 3; n++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  for (int phase = 0; phase < 3; phase++) {
    assert_int_equal(s.runs[phase][0], 3);
    assert_int_equal(s.runs[phase][1], 0);
  }
  assert_false(ax_is_active(&s.idles[1].handle));
  for (int i = 0; i < 2; i++) {
    ax_close(&s.prepares[i].handle, NULL);
    ax_close(&s.checks[i].handle, NULL);
    ax_close(&s.idles[i].handle, NULL);
  }
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_phase_invalid),
      cmocka_unit_test(test_phase_once_per_iteration),
      cmocka_unit_test(test_phase_start_from_callback_waits),
      cmocka_unit_test(test_phase_idle_keeps_poll_from_blocking),
      cmocka_unit_test(test_phase_replace_callback),
      cmocka_unit_test(test_phase_check_only_loop_returns),
      cmocka_unit_test(test_phase_idle_does_not_starve_timer),
      cmocka_unit_test(test_phase_stop_later_in_same_phase),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
