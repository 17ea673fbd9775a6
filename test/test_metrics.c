/*
 * test_metrics.c: the loop's counters: iterations, completions dispatched,
 * the time spent blocked in the poll phase, and the resource shortages
 * reported to the application's callback (through the internal reporter
 * that listeners call, src/internal.h); the histograms (their layout,
 * percentiles, reset and merge), the loop's delay, and the thread pool's
 * lane histograms. Times are bounded from below only: a loaded machine
 * makes everything slower, never faster.
 */
#include <string.h>

#include "histogram.h"
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

/* ---- Histograms ---- */

/* Every bucket holds the values from the one before's upper edge + 1 to
 * its own: exact below 32, then no wider than 1/16 of its lower edge. */
static void test_histogram_bucket_edges(void **state) {
  (void)state;
  for (uint64_t v = 0; v < 32; v++) {
    assert_int_equal(ax__histogram_index(v), v);
    assert_int_equal(ax__histogram_upper((size_t)v), v);
  }
  assert_int_equal(ax__histogram_index(32), 32);
  assert_int_equal(ax__histogram_index(33), 32);
  assert_int_equal(ax__histogram_index(34), 33);
  assert_int_equal(ax__histogram_index(63), 47);
  assert_int_equal(ax__histogram_index(64), 48);
  for (size_t i = 32; i < AX_HISTOGRAM_BUCKETS - 1; i++) {
    uint64_t lower = ax__histogram_upper(i - 1) + 1;
    uint64_t upper = ax__histogram_upper(i);
    assert_true(upper >= lower);
    assert_true(upper - lower + 1 <= lower / 16);
    assert_int_equal(ax__histogram_index(lower), i);
    assert_int_equal(ax__histogram_index(upper), i);
  }
  /* The last bucket holds its sixteenth of the values below 2^40 ns, and
   * every value above. */
  size_t last = AX_HISTOGRAM_BUCKETS - 1;
  assert_int_equal(ax__histogram_upper(last - 1) + 1, (uint64_t)31 << 35);
  assert_int_equal(ax__histogram_index(((uint64_t)1 << 40) - 1), last);
  assert_int_equal(ax__histogram_index((uint64_t)1 << 40), last);
  assert_int_equal(ax__histogram_index(UINT64_MAX), last);
  assert_int_equal(ax__histogram_upper(last), UINT64_MAX);
}

/* p is at or above the true value, and at most 1/16 above it. */
static void assert_near(uint64_t p, uint64_t truth) {
  assert_true(p >= truth);
  assert_true(p <= truth + truth / 16);
}

static void test_histogram_percentiles(void **state) {
  (void)state;
  ax_histogram_t h;
  ax_histogram_reset(&h);
  assert_int_equal(ax_histogram_percentile(&h, 50), 0); /* Empty. */
  /* 1, 2, ... 1000 microseconds, in a shuffled order. */
  for (uint64_t i = 0; i < 1000; i++)
    ax_histogram_record(&h, ((i * 7919) % 1000 + 1) * 1000);
  assert_int_equal(h.count, 1000);
  assert_int_equal(h.min_ns, 1000);
  assert_int_equal(h.max_ns, 1000000);
  assert_int_equal(h.sum_ns, 500500u * 1000u);
  assert_near(ax_histogram_percentile(&h, 50), 500000);
  assert_near(ax_histogram_percentile(&h, 90), 900000);
  assert_near(ax_histogram_percentile(&h, 99), 990000);
  assert_near(ax_histogram_percentile(&h, 99.9), 999000);
  /* The ends are exact, and out-of-range requests are clamped. */
  assert_int_equal(ax_histogram_percentile(&h, 100), 1000000);
  assert_int_equal(ax_histogram_percentile(&h, 250), 1000000);
  assert_int_equal(ax_histogram_percentile(&h, 0), 1000);
  assert_int_equal(ax_histogram_percentile(&h, -1), 1000);
  /* One value: every percentile is that value, not its bucket's edge. */
  ax_histogram_reset(&h);
  assert_int_equal(h.count, 0);
  ax_histogram_record(&h, 1234567);
  assert_int_equal(ax_histogram_percentile(&h, 1), 1234567);
  assert_int_equal(ax_histogram_percentile(&h, 50), 1234567);
  assert_int_equal(ax_histogram_percentile(&h, 99), 1234567);
  /* Exact values are exact, and a long tail shows in p99 and max only. */
  ax_histogram_reset(&h);
  for (int i = 0; i < 98; i++)
    ax_histogram_record(&h, 10);
  ax_histogram_record(&h, 20);
  ax_histogram_record(&h, 5000000000u); /* 5 s. */
  assert_int_equal(ax_histogram_percentile(&h, 50), 10);
  assert_int_equal(ax_histogram_percentile(&h, 98), 10);
  assert_int_equal(ax_histogram_percentile(&h, 99), 20);
  assert_int_equal(ax_histogram_percentile(&h, 99.5), 5000000000u);
  assert_int_equal(h.max_ns, 5000000000u);
  /* Beyond the last bucket the maximum stays exact. */
  ax_histogram_record(&h, UINT64_MAX - 1);
  assert_int_equal(ax_histogram_percentile(&h, 100), UINT64_MAX - 1);
}

static void test_histogram_merge_and_null(void **state) {
  (void)state;
  ax_histogram_t a;
  ax_histogram_t b;
  ax_histogram_reset(&a);
  ax_histogram_reset(&b);
  for (uint64_t v = 100; v < 200; v++)
    ax_histogram_record(&a, v);
  for (uint64_t v = 5; v < 10; v++)
    ax_histogram_record(&b, v);
  ax_histogram_merge(&a, &b);
  assert_int_equal(a.count, 105);
  assert_int_equal(a.min_ns, 5);
  assert_int_equal(a.max_ns, 199);
  assert_int_equal(ax_histogram_percentile(&a, 1), 6);
  /* An empty source changes nothing; into an empty one, a copy. */
  ax_histogram_reset(&b);
  ax_histogram_merge(&a, &b);
  assert_int_equal(a.min_ns, 5);
  ax_histogram_merge(&b, &a);
  assert_memory_equal(&a, &b, sizeof(a));
  /* NULL is ignored everywhere. */
  ax_histogram_reset(NULL);
  ax_histogram_record(NULL, 1);
  ax_histogram_merge(NULL, &a);
  ax_histogram_merge(&a, NULL);
  assert_int_equal(ax_histogram_percentile(NULL, 50), 0);
}

/* ---- Loop delay ---- */

/* A timer whose callback holds the loop: how long, by the clock. */
struct blocker {
  uint64_t held_ns; /* How long the callback blocked. */
  int runs;         /* Callbacks run. */
};

static void blocker_cb(ax_timer_t *timer) {
  struct blocker *b = timer->handle.data;
  uint64_t start_ns = ax_hrtime();
  ax_sleep(30);
  b->held_ns = ax_hrtime() - start_ns;
  b->runs++;
}

static void test_loop_delay_blocked(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_histogram_t h;
  ax_timer_t timer;
  struct blocker b = {0};
  test_loop_open(&loop);
  /* Never started: an empty histogram. */
  memset(&h, 0xff, sizeof(h));
  assert_int_equal(ax_loop_delay(&loop, &h), 0);
  assert_int_equal(h.count, 0);
  assert_int_equal(h.max_ns, 0);
  assert_int_equal(ax_loop_delay_reset(&loop), 0);
  assert_int_equal(ax_loop_delay_stop(&loop), 0);
  assert_int_equal(ax_loop_delay_start(&loop), 0);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &b;
  ax_timer_start(&timer, blocker_cb, 1, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(b.runs, 1);
  assert_int_equal(ax_loop_delay(&loop, &h), 0);
  /* The iteration that ran the callback was held at least that long. */
  assert_true(h.count >= 1);
  assert_true(h.max_ns >= b.held_ns);
  assert_true(b.held_ns >= 29000000u);
  assert_int_equal(ax_histogram_percentile(&h, 100), h.max_ns);
  /* Reset empties it; stopped, iterations record nothing. */
  assert_int_equal(ax_loop_delay_reset(&loop), 0);
  assert_int_equal(ax_loop_delay_stop(&loop), 0);
  ax_timer_start(&timer, blocker_cb, 0, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_loop_delay(&loop, &h), 0);
  assert_int_equal(h.count, 0);
  /* Started again, it counts again: one span per iteration. */
  assert_int_equal(ax_loop_delay_start(&loop), 0);
  ax_timer_start(&timer, blocker_cb, 0, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  ax_metrics_t m;
  ax_loop_metrics(&loop, &m);
  assert_int_equal(ax_loop_delay(&loop, &h), 0);
  assert_true(h.count >= 1);
  assert_true(h.max_ns >= b.held_ns);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop); /* Frees the histogram: the leak check agrees. */
}

/* AX_RUN_ONCE runs a timer due after its wait at the end of its call: the
 * span from the wait to the return counts, in the next run's first span,
 * and the caller's time between the runs does not. */
static void test_loop_delay_run_once(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_histogram_t h;
  ax_timer_t timer;
  ax_idle_t idle;
  struct blocker b = {0};
  test_loop_open(&loop);
  assert_int_equal(ax_loop_delay_start(&loop), 0);
  ax_timer_init(&loop, &timer);
  timer.handle.data = &b;
  ax_timer_start(&timer, blocker_cb, 1, 0);
  while (b.runs == 0)
    assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  ax_idle_init(&loop, &idle);
  ax_idle_start(&idle, noop_idle_cb);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(ax_loop_delay(&loop, &h), 0);
  assert_true(h.max_ns >= b.held_ns);
  ax_close(&idle.handle, NULL);
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

static void test_loop_delay_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_histogram_t h;
  memset(&loop, 0, sizeof(loop));
  assert_int_equal(ax_loop_delay_start(NULL), AX_EINVAL);
  assert_int_equal(ax_loop_delay_start(&loop), AX_EINVAL);
  assert_int_equal(ax_loop_delay_stop(NULL), AX_EINVAL);
  assert_int_equal(ax_loop_delay_reset(&loop), AX_EINVAL);
  assert_int_equal(ax_loop_delay(NULL, &h), AX_EINVAL);
  assert_int_equal(ax_loop_delay(&loop, &h), AX_EINVAL);
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_USER, &h, NULL),
                   AX_EINVAL);
  assert_int_equal(ax_loop_lane_metrics_reset(NULL), AX_EINVAL);
  test_loop_open(&loop);
  assert_int_equal(ax_loop_delay(&loop, NULL), AX_EINVAL);
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_MAX, &h, NULL),
                   AX_EINVAL);
  assert_int_equal(ax_loop_lane_metrics(&loop, (ax_lane)-1, &h, NULL),
                   AX_EINVAL);
  /* A loop that never used the pool has empty lanes. */
  memset(&h, 0xff, sizeof(h));
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_FS, &h, NULL), 0);
  assert_int_equal(h.count, 0);
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_DNS, NULL, NULL), 0);
  assert_int_equal(ax_loop_lane_metrics_reset(&loop), 0);
  /* Started twice, closed while on: nothing leaks. */
  assert_int_equal(ax_loop_delay_start(&loop), 0);
  assert_int_equal(ax_loop_delay_start(&loop), 0);
  test_loop_close(&loop);
}

/* ---- Thread-pool lanes ---- */

enum { LANE_JOBS = 6 };

/* User jobs that each block a worker, timed from inside. */
struct lane_jobs {
  ax_work_t work[LANE_JOBS];   /* The jobs. */
  uint64_t held_ns[LANE_JOBS]; /* How long each blocked, by the clock. */
  int done;                    /* Completions that ran the job. */
  int cancelled;               /* Completions with AX_ECANCELED. */
  int lookups;                 /* DNS answers. */
};

static void lane_work_cb(ax_work_t *work) {
  struct lane_jobs *jobs = work->req.data;
  size_t i = (size_t)(work - jobs->work);
  uint64_t start_ns = ax_hrtime();
  ax_sleep(2);
  jobs->held_ns[i] = ax_hrtime() - start_ns;
}

static void lane_after_cb(ax_work_t *work, int status) {
  struct lane_jobs *jobs = work->req.data;
  if (status == 0)
    jobs->done++;
  else if (status == AX_ECANCELED)
    jobs->cancelled++;
}

static void lane_lookup_cb(ax_getaddrinfo_t *req, int status,
                           struct addrinfo *addrinfo) {
  struct lane_jobs *jobs = req->req.data;
  (void)status;
  ax_freeaddrinfo(addrinfo);
  jobs->lookups++;
}

static void test_pool_lane_metrics(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_histogram_t wait;
  ax_histogram_t run;
  ax_getaddrinfo_t lookup;
  struct lane_jobs jobs;
  memset(&jobs, 0, sizeof(jobs));
  /* The pool's locks, made once for the process, are not the loop's. */
  (void)ax_threadpool_get_size();
  test_loop_open(&loop);
  for (int i = 0; i < LANE_JOBS; i++) {
    jobs.work[i].req.data = &jobs;
    assert_int_equal(
        ax_queue_work(&loop, &jobs.work[i], lane_work_cb, lane_after_cb), 0);
  }
  /* Cancelled before it reached the pool: it counts in no histogram. */
  assert_int_equal(ax_cancel(&jobs.work[LANE_JOBS - 1].req), 0);
  lookup.req.data = &jobs;
  assert_int_equal(
      ax_getaddrinfo(&loop, &lookup, "127.0.0.1", NULL, NULL, lane_lookup_cb),
      0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(jobs.done, LANE_JOBS - 1);
  assert_int_equal(jobs.cancelled, 1);
  assert_int_equal(jobs.lookups, 1);
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_USER, &wait, &run), 0);
  assert_int_equal(wait.count, LANE_JOBS - 1);
  assert_int_equal(run.count, LANE_JOBS - 1);
  /* Each job ran at least as long as it blocked. */
  uint64_t shortest_ns = UINT64_MAX;
  uint64_t longest_ns = 0;
  for (int i = 0; i < LANE_JOBS - 1; i++) {
    if (jobs.held_ns[i] < shortest_ns)
      shortest_ns = jobs.held_ns[i];
    if (jobs.held_ns[i] > longest_ns)
      longest_ns = jobs.held_ns[i];
  }
  assert_true(run.min_ns >= shortest_ns);
  assert_true(run.max_ns >= longest_ns);
  assert_true(run.sum_ns >= shortest_ns * (LANE_JOBS - 1));
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_DNS, &wait, &run), 0);
  assert_int_equal(wait.count, 1);
  assert_int_equal(run.count, 1);
  ax_metrics_t m;
  ax_loop_metrics(&loop, &m);
  assert_int_equal(m.work_completed, LANE_JOBS + 1);
  /* Reset empties every lane. */
  assert_int_equal(ax_loop_lane_metrics_reset(&loop), 0);
  assert_int_equal(ax_loop_lane_metrics(&loop, AX_LANE_USER, &wait, &run), 0);
  assert_int_equal(wait.count, 0);
  assert_int_equal(run.count, 0);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_iterations_without_waiting),
      cmocka_unit_test(test_metrics_wait_time),
      cmocka_unit_test(test_metrics_events),
      cmocka_unit_test(test_metrics_resource_shortages),
      cmocka_unit_test(test_histogram_bucket_edges),
      cmocka_unit_test(test_histogram_percentiles),
      cmocka_unit_test(test_histogram_merge_and_null),
      cmocka_unit_test(test_loop_delay_blocked),
      cmocka_unit_test(test_loop_delay_run_once),
      cmocka_unit_test(test_loop_delay_errors),
      cmocka_unit_test(test_pool_lane_metrics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
