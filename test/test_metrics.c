/*
 * test_metrics.c: the loop's counters: iterations, completions dispatched,
 * and the time spent blocked in the poll phase.
 */
#include "test.h"

static void noop_idle_cb(ax_idle_t *idle) {
  (void)idle;
}

static void fired_cb(ax_timer_t *timer) {
  (*(int *)timer->handle.data)++;
}

static void close_async_cb(ax_async_t *async) {
  ax_close(&async->handle, NULL);
}

static void test_metrics_iterations_without_waiting(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_metrics_t m;
  ax_idle_t idle;
  test_loop_open(&loop);
  assert_int_equal(ax_loop_metrics(&loop, &m), 0);
  assert_int_equal(m.iterations, 0);
  assert_int_equal(m.events, 0);
  assert_int_equal(m.events_waiting, 0);
  assert_int_equal(m.poll_wait_ns, 0);
  /* An active idle handle: three NOWAIT runs are three iterations, none
   * of which waited or had a completion. */
  ax_idle_init(&loop, &idle);
  ax_idle_start(&idle, noop_idle_cb);
  for (int i = 0; i < 3; i++)
    assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_loop_metrics(&loop, &m), 0);
  assert_int_equal(m.iterations, 3);
  assert_int_equal(m.events, 0);
  assert_int_equal(m.poll_wait_ns, 0);
  ax_close(&idle.handle, NULL);
  test_loop_close(&loop);
}

static void test_metrics_wait_time(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_metrics_t m;
  ax_timer_t timer;
  int fired = 0;
  test_loop_open(&loop);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &fired;
  ax_timer_start(&timer, fired_cb, 3, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  /* The loop had nothing to do but wait for the timer: it blocked, so
   * some idle time was counted. A timer is not a backend completion. */
  ax_loop_metrics(&loop, &m);
  assert_true(m.iterations >= 1);
  assert_true(m.poll_wait_ns > 0);
  assert_int_equal(m.events, 0);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

static void test_metrics_events(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_metrics_t m;
  ax_async_t async;
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &async, close_async_cb), 0);
  ax_async_send(&async);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  /* One wakeup, delivered by a poll phase that was allowed to block. */
  ax_loop_metrics(&loop, &m);
  assert_int_equal(m.events, 1);
  assert_int_equal(m.events_waiting, 1);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_iterations_without_waiting),
      cmocka_unit_test(test_metrics_wait_time),
      cmocka_unit_test(test_metrics_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
