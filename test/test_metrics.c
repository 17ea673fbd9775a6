/*
 * test_metrics.c: the loop's counters: iterations, completions dispatched,
 * the time spent blocked in the poll phase, and the resource shortages
 * reported to the application's callback (through the internal reporter
 * that listeners call, src/internal.h).
 */
#include "internal.h"
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

/* What the resource callback saw. */
struct shortage {
  ax_handle_t *handle; /* The last handle reported. */
  int err;             /* Its error. */
  int calls;           /* Reports. */
  bool close;          /* Close the handle from the callback. */
};

static void shortage_cb(ax_handle_t *handle, int err) {
  struct shortage *s = handle->loop->data;
  s->handle = handle;
  s->err = err;
  s->calls++;
  if (s->close)
    ax_close(handle, NULL);
}

/* Move the loop's cached time on by ms, as if that long had passed. */
static void advance_ms(ax_loop_t *loop, uint64_t ms) {
  loop->priv.time_ns += ms * 1000000u;
}

/* A listener reports every failure; the loop runs the callback and counts
 * once per episode, which lasts while failures come less than
 * AX__RESOURCE_QUIET_MS apart. It counts without a callback too. A timer
 * stands in for the listener: the reporter is the same for any handle. */
static void test_metrics_resource_shortages(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_metrics_t m;
  ax_timer_t timer;
  ax_idle_t idle;
  struct shortage s = {0};
  test_loop_open(&loop);
  loop.data = &s;
  assert_int_equal(ax_loop_set_resource_cb(NULL, shortage_cb), AX_EINVAL);
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  ax__loop_report_resource(&timer.handle, AX_EMFILE); /* No callback yet. */
  assert_int_equal(ax_loop_set_resource_cb(&loop, shortage_cb), 0);
  ax__loop_report_resource(&timer.handle, AX_EMFILE); /* The same episode. */
  assert_int_equal(s.calls, 0);
  /* Quiet long enough: a new episode. */
  advance_ms(&loop, AX__RESOURCE_QUIET_MS);
  ax__loop_report_resource(&timer.handle, AX_ENFILE);
  assert_int_equal(s.calls, 1);
  assert_ptr_equal(s.handle, &timer.handle);
  assert_int_equal(s.err, AX_ENFILE);
  /* Failures less than the quiet period apart, however long in all, are
   * one episode. */
  for (int i = 0; i < 4; i++) {
    advance_ms(&loop, AX__RESOURCE_QUIET_MS - 1);
    ax__loop_report_resource(&timer.handle, AX_EMFILE);
  }
  assert_int_equal(s.calls, 1);
  assert_int_equal(ax_loop_metrics(&loop, &m), 0);
  assert_int_equal(m.resource_shortages, 2);
  /* The callback may close the handle. */
  s.close = true;
  advance_ms(&loop, AX__RESOURCE_QUIET_MS);
  ax__loop_report_resource(&timer.handle, AX_ENOMEM);
  assert_int_equal(s.calls, 2);
  assert_int_equal(s.err, AX_ENOMEM);
  assert_true(ax_is_closing(&timer.handle));
  /* NULL sets none; the episode still counts. */
  assert_int_equal(ax_loop_set_resource_cb(&loop, NULL), 0);
  assert_int_equal(ax_idle_init(&loop, &idle), 0);
  advance_ms(&loop, AX__RESOURCE_QUIET_MS);
  ax__loop_report_resource(&idle.handle, AX_ENOBUFS);
  assert_int_equal(s.calls, 2);
  assert_int_equal(ax_loop_metrics(&loop, &m), 0);
  assert_int_equal(m.resource_shortages, 4);
  assert_int_equal(ax_close(&idle.handle, NULL), 0);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_iterations_without_waiting),
      cmocka_unit_test(test_metrics_wait_time),
      cmocka_unit_test(test_metrics_events),
      cmocka_unit_test(test_metrics_resource_shortages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
