/*
 * test_pool.c: the connection pool of examples/pool/ against the
 * key-value server of the same directory, both on the test's loop, over
 * real sockets on 127.0.0.1: requests through the pool; exhaustion and
 * the queue of waiters, its bound and its timeout; an answer's timeout;
 * connections the upstream closes, idle or mid-request, noticed and
 * replaced; the upstream stopped and restarted under load (every request
 * ends, none hangs); idle timeout and min_idle; a refused upstream (fast
 * failures, and reconnects that back off); closing the pool with waiters
 * and holders; and no connection or descriptor leaked after 100,000
 * requests.
 *
 * The server runs on the same loop as the pool, so that a test controls
 * exactly when it drops or restarts. Waits are bounded (pool_run_until);
 * timeouts are short but no test asserts a timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <dirent.h>
#endif /* __linux__ */

#include "kv-client.h"
#include "test.h"

enum {
  WAIT_LIMIT_MS = 60000, /* The longest a test waits for anything. */
  MAX_CALLS = 256,       /* Calls in flight at once in a test. */
};

/* A test's world: a loop, a server, a pool, and calls. */
struct fixture {
  ax_loop_t loop;
  ax_timer_t tick; /* Unreferenced: wakes every run within 5 ms. */
  struct kv_store store;
  struct pool pool;
  bool pool_open;            /* pool_init() succeeded, pool_close() not yet. */
  int pool_closed;           /* The pool's close callbacks. */
  int store_stopped;         /* The store's stop callbacks. */
  int done;                  /* Calls over. */
  int ok;                    /* Of which succeeded. */
  int last_status;           /* The last call's status. */
  int statuses[MAX_CALLS];   /* Each call's status, by index. */
  bool found[MAX_CALLS];     /* Each call's found. */
  char value[MAX_CALLS][64]; /* Each GET's value, as text. */
  struct kv_call calls[MAX_CALLS];
  /* The load test's state. */
  int load_left;        /* Calls still to start. */
  int load_errors;      /* Calls that failed. */
  uint64_t max_in_use;  /* The most connections in use seen. */
  uint64_t max_waiting; /* The most waiters seen. */
};

static void fx_tick(ax_timer_t *timer) {
  (void)timer;
}

/* A load's request count: a tenth under Wine, whose sockets are many
 * times slower (test/meson.build sets AX_TEST_WINE there). */
static int load_count(int n) {
  return getenv("AX_TEST_WINE") != NULL ? n / 10 : n;
}

static struct fixture *fx_open(const struct kv_store_options *so) {
  struct fixture *fx = calloc(1, sizeof(*fx));
  assert_non_null(fx);
  test_loop_open(&fx->loop);
  /* So that a run of one iteration returns even when nothing happens,
   * and a wait can check its limit and the clock. */
  assert_int_equal(ax_timer_init(&fx->loop, &fx->tick), 0);
  assert_int_equal(ax_timer_start(&fx->tick, fx_tick, 5, 5), 0);
  ax_unref(&fx->tick.handle);
  struct kv_store_options defaults = {.host = "127.0.0.1"};
  assert_int_equal(
      kv_store_init(&fx->loop, &fx->store, so != NULL ? so : &defaults), 0);
  fx->store.options.host = "127.0.0.1";
  assert_int_equal(kv_store_listen(&fx->store), 0);
  return fx;
}

static void fx_pool(struct fixture *fx, struct pool_options *po) {
  po->host = "127.0.0.1";
  if (po->port == 0)
    po->port = fx->store.options.port;
  assert_int_equal(pool_init(&fx->loop, &fx->pool, po), 0);
  fx->pool.data = fx;
  fx->pool_open = true;
}

static void fx_pool_closed(struct pool *pool) {
  struct fixture *fx = pool->data;
  fx->pool_closed++;
}

static void fx_store_stopped(struct kv_store *store) {
  struct fixture *fx = store->data;
  fx->store_stopped++;
}

/* Run an iteration at a time until pred(fx) holds; fail after
 * WAIT_LIMIT_MS. */
static void pool_run_until(struct fixture *fx,
                           bool (*pred)(const struct fixture *fx)) {
  uint64_t start = ax_hrtime();
  while (!pred(fx)) {
    assert_true(ax_hrtime() - start < (uint64_t)WAIT_LIMIT_MS * 1000000u);
    ax_run(&fx->loop, AX_RUN_ONCE);
  }
}

static int want_done; /* What done_reached() waits for. */

static bool done_reached(const struct fixture *fx) {
  return fx->done >= want_done;
}

static void run_until_done(struct fixture *fx, int count) {
  want_done = count;
  pool_run_until(fx, done_reached);
}

/* Close the pool and the store, run out, check nothing leaked. */
static void fx_close(struct fixture *fx) {
  ax_close(&fx->tick.handle, NULL);
  if (fx->pool_open)
    pool_close(&fx->pool, fx_pool_closed);
  fx->store.data = fx;
  kv_store_stop(&fx->store, fx_store_stopped);
  test_loop_close(&fx->loop);
  if (fx->pool_open)
    assert_int_equal(fx->pool_closed, 1);
  kv_store_free(&fx->store);
  free(fx);
}

static struct fixture *fx_of(struct kv_call *call) {
  return call->data;
}

static void call_done(struct kv_call *call, int status) {
  struct fixture *fx = fx_of(call);
  size_t i = (size_t)(call - fx->calls);
  fx->statuses[i] = status;
  fx->found[i] = call->found;
  fx->last_status = status;
  if (status == 0 && call->value != NULL) {
    size_t n = call->value_len < 63 ? call->value_len : 63;
    memcpy(fx->value[i], call->value, n);
    fx->value[i][n] = '\0';
  }
  fx->done++;
  if (status == 0)
    fx->ok++;
}

static void start(struct fixture *fx, int i, enum kv_op op, const char *key,
                  const char *value, uint64_t timeout_ms) {
  struct kv_call *call = &fx->calls[i];
  call->data = fx;
  fx->statuses[i] = 1; /* Not yet over. */
  assert_int_equal(kv_call_start(call, &fx->pool, op, key, strlen(key), value,
                                 value != NULL ? strlen(value) : 0, timeout_ms,
                                 call_done),
                   0);
}

/* ---- Requests ---- */

static void test_pool_requests(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  struct pool_options po = {.max_size = 4};
  fx_pool(fx, &po);
  start(fx, 0, KV_SET, "greeting", "hello", 5000);
  run_until_done(fx, 1);
  assert_int_equal(fx->statuses[0], 0);
  start(fx, 1, KV_GET, "greeting", NULL, 5000);
  run_until_done(fx, 2);
  assert_int_equal(fx->statuses[1], 0);
  assert_true(fx->found[1]);
  assert_string_equal(fx->value[1], "hello");
  start(fx, 2, KV_DEL, "greeting", NULL, 5000);
  run_until_done(fx, 3);
  assert_true(fx->found[2]);
  start(fx, 3, KV_GET, "greeting", NULL, 5000);
  run_until_done(fx, 4);
  assert_int_equal(fx->statuses[3], 0);
  assert_false(fx->found[3]);
  /* An empty value, and one of the largest size. */
  start(fx, 4, KV_SET, "empty", "", 5000);
  run_until_done(fx, 5);
  start(fx, 5, KV_GET, "empty", NULL, 5000);
  run_until_done(fx, 6);
  assert_int_equal(fx->statuses[5], 0);
  assert_true(fx->found[5]);
  assert_string_equal(fx->value[5], "");
  char *big = malloc(KV_MAX_VALUE_BYTES);
  assert_non_null(big);
  memset(big, 'x', KV_MAX_VALUE_BYTES);
  fx->calls[6].data = fx;
  assert_int_equal(kv_call_start(&fx->calls[6], &fx->pool, KV_SET, "big", 3,
                                 big, KV_MAX_VALUE_BYTES, 5000, call_done),
                   0);
  run_until_done(fx, 7);
  assert_int_equal(fx->statuses[6], 0);
  start(fx, 7, KV_GET, "big", NULL, 5000);
  run_until_done(fx, 8);
  assert_int_equal(fx->statuses[7], 0);
  assert_int_equal(strspn(fx->value[7], "x"), 63);
  free(big);
  /* One after another: one connection served them all. */
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.created, 1);
  assert_int_equal(m.failed, 0);
  assert_int_equal(m.in_use, 0);
  assert_int_equal(m.idle, 1);
  assert_int_equal(m.acquired, 8);
  fx_close(fx);
}

static void test_pool_bad_arguments(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  struct pool p;
  struct pool_options po = {.host = "127.0.0.1", .port = 1};
  assert_int_equal(pool_init(NULL, &p, &po), AX_EINVAL);
  po.host = "not an address";
  assert_int_equal(pool_init(&fx->loop, &p, &po), AX_EINVAL);
  po.host = "127.0.0.1";
  po.port = 70000;
  assert_int_equal(pool_init(&fx->loop, &p, &po), AX_EINVAL);
  po.port = 1;
  po.max_size = 2;
  po.min_idle = 3;
  assert_int_equal(pool_init(&fx->loop, &p, &po), AX_EINVAL);
  po.min_idle = 0;
  po.max_size = POOL_MAX_SIZE + 1;
  assert_int_equal(pool_init(&fx->loop, &p, &po), AX_EINVAL);

  struct pool_options good = {0};
  fx_pool(fx, &good);
  struct kv_call call = {.data = fx};
  assert_int_equal(
      kv_call_start(&call, &fx->pool, KV_GET, "", 0, NULL, 0, 1000, call_done),
      AX_EINVAL);
  assert_int_equal(kv_call_start(&call, &fx->pool, KV_GET, "a b", 3, NULL, 0,
                                 1000, call_done),
                   AX_EINVAL);
  char key[KV_MAX_KEY_BYTES + 1];
  memset(key, 'k', sizeof(key));
  assert_int_equal(kv_call_start(&call, &fx->pool, KV_GET, key, sizeof(key),
                                 NULL, 0, 1000, call_done),
                   AX_EINVAL);
  assert_int_equal(kv_call_start(&call, &fx->pool, KV_SET, "k", 1, "v",
                                 (size_t)KV_MAX_VALUE_BYTES + 1, 1000,
                                 call_done),
                   AX_EINVAL);
  assert_int_equal(kv_call_start(&call, &fx->pool, (enum kv_op)7, "k", 1, NULL,
                                 0, 1000, call_done),
                   AX_EINVAL);
  assert_int_equal(pool_acquire(&fx->pool, NULL, NULL), AX_EINVAL);
  assert_int_equal(fx->done, 0);
  fx_close(fx);
}

/* ---- Exhaustion and the queue ---- */

static bool tracks_peaks(const struct fixture *fx);

/* 40 calls on a pool of 3, against a server that holds each answer: at
 * most 3 connections, the others queue, all succeed. */
static void test_pool_exhaustion_queues(void **state) {
  (void)state;
  struct kv_store_options so = {.delay_ms = 5};
  struct fixture *fx = fx_open(&so);
  struct pool_options po = {.max_size = 3, .max_waiters = 64};
  fx_pool(fx, &po);
  for (int i = 0; i < 40; i++)
    start(fx, i, KV_GET, "missing", NULL, 5000);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.connecting, 3);
  assert_int_equal(m.waiting, 40);
  want_done = 40;
  pool_run_until(fx, tracks_peaks);
  assert_int_equal(fx->ok, 40);
  assert_true(fx->max_in_use <= 3);
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.created, 3);
  assert_int_equal(m.waiting, 0);
  assert_int_equal(m.idle, 3);
  fx_close(fx);
}

static bool tracks_peaks(const struct fixture *fx) {
  struct pool_metrics m;
  struct fixture *f = (struct fixture *)fx;
  pool_get_metrics(&fx->pool, &m);
  if (m.in_use > f->max_in_use)
    f->max_in_use = m.in_use;
  if (m.waiting > f->max_waiting)
    f->max_waiting = m.waiting;
  return fx->done >= want_done;
}

/* A full queue refuses at once, and says so; the queued calls finish. */
static void test_pool_queue_bound(void **state) {
  (void)state;
  struct kv_store_options so = {.delay_ms = 20};
  struct fixture *fx = fx_open(&so);
  struct pool_options po = {.max_size = 1, .max_waiters = 3};
  fx_pool(fx, &po);
  for (int i = 0; i < 3; i++)
    start(fx, i, KV_GET, "k", NULL, 5000);
  start(fx, 3, KV_GET, "k", NULL, 5000);
  /* The fourth had no place: its callback ran inside the call. */
  assert_int_equal(fx->done, 1);
  assert_int_equal(fx->statuses[3], AX_EAGAIN);
  run_until_done(fx, 4);
  assert_int_equal(fx->ok, 3);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.rejected, 1);
  fx_close(fx);
}

static bool pool_idle_is_1(const struct fixture *fx);

/* A waiter that waits too long gets AX_ETIMEDOUT; the holder finishes.
 * The connection is open first (min_idle), so that the first call does
 * not wait for its connect as a waiter. */
static void test_pool_waiter_timeout(void **state) {
  (void)state;
  struct kv_store_options so = {.delay_ms = 400};
  struct fixture *fx = fx_open(&so);
  struct pool_options po = {
      .max_size = 1, .min_idle = 1, .wait_timeout_ms = 30};
  fx_pool(fx, &po);
  pool_run_until(fx, pool_idle_is_1);
  start(fx, 0, KV_GET, "k", NULL, 5000);
  start(fx, 1, KV_GET, "k", NULL, 5000);
  start(fx, 2, KV_GET, "k", NULL, 5000);
  run_until_done(fx, 2);
  assert_int_equal(fx->statuses[1], AX_ETIMEDOUT);
  assert_int_equal(fx->statuses[2], AX_ETIMEDOUT);
  assert_int_equal(fx->statuses[0], 1); /* Still waiting for its answer. */
  run_until_done(fx, 3);
  assert_int_equal(fx->statuses[0], 0);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.timed_out, 2);
  assert_int_equal(m.waiting, 0);
  fx_close(fx);
}

/* An answer that does not come in time: AX_ETIMEDOUT, and the connection
 * is closed, not reused (its answer may still arrive). */
static void test_pool_answer_timeout(void **state) {
  (void)state;
  struct kv_store_options so = {.delay_ms = 300};
  struct fixture *fx = fx_open(&so);
  struct pool_options po = {.max_size = 2};
  fx_pool(fx, &po);
  start(fx, 0, KV_GET, "k", NULL, 20);
  run_until_done(fx, 1);
  assert_int_equal(fx->statuses[0], AX_ETIMEDOUT);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.failed, 1);
  assert_int_equal(m.idle, 0);
  assert_int_equal(m.in_use, 0);
  fx_close(fx);
}

/* ---- Connections the upstream closes ---- */

static bool pool_has_no_idle(const struct fixture *fx) {
  return fx->pool.metrics.idle == 0;
}

/* Closed while idle: the pool reads the end and drops it. */
static void test_pool_idle_closed_by_server(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  struct pool_options po = {.max_size = 2};
  fx_pool(fx, &po);
  start(fx, 0, KV_SET, "k", "v", 5000);
  run_until_done(fx, 1);
  assert_int_equal(fx->pool.metrics.idle, 1);
  kv_store_drop_all(&fx->store);
  pool_run_until(fx, pool_has_no_idle);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.failed, 1);
  start(fx, 1, KV_GET, "k", NULL, 5000);
  run_until_done(fx, 2);
  assert_int_equal(fx->statuses[1], 0);
  assert_string_equal(fx->value[1], "v");
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.created, 2);
  fx_close(fx);
}

/* Closed before the pool could notice: the call's reused connection
 * fails before any answer, and the call retries once on a new one. */
static void test_pool_stale_connection_retried(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  struct pool_options po = {.max_size = 2};
  fx_pool(fx, &po);
  start(fx, 0, KV_SET, "k", "v", 5000);
  run_until_done(fx, 1);
  kv_store_drop_all(&fx->store);
  /* No loop iteration between: the idle connection looks fine yet. */
  start(fx, 1, KV_GET, "k", NULL, 5000);
  run_until_done(fx, 2);
  assert_int_equal(fx->statuses[1], 0);
  assert_string_equal(fx->value[1], "v");
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.created, 2);
  assert_int_equal(m.failed, 1);
  fx_close(fx);
}

/* A server that closes every connection after one answer: no call
 * fails, whether the pool sees the close first or the call does. */
static void test_pool_server_closes_after_each(void **state) {
  (void)state;
  struct kv_store_options so = {.close_after = 1};
  struct fixture *fx = fx_open(&so);
  struct pool_options po = {.max_size = 2};
  fx_pool(fx, &po);
  for (int i = 0; i < 200; i++) {
    start(fx, i % MAX_CALLS, KV_GET, "k", NULL, 5000);
    run_until_done(fx, i + 1);
    assert_int_equal(fx->last_status, 0);
  }
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_true(m.created >= 200);
  fx_close(fx);
}

/* ---- The upstream restarting under load ---- */

static void load_next(struct fixture *fx, struct kv_call *call);

static void load_done(struct kv_call *call, int status) {
  struct fixture *fx = fx_of(call);
  fx->done++;
  if (status == 0)
    fx->ok++;
  else
    fx->load_errors++;
  if (fx->load_left > 0)
    load_next(fx, call);
}

static void load_next(struct fixture *fx, struct kv_call *call) {
  fx->load_left--;
  call->data = fx;
  assert_int_equal(
      kv_call_start(call, &fx->pool, KV_GET, "k", 1, NULL, 0, 2000, load_done),
      0);
}

static void load_start(struct fixture *fx, int clients, int total) {
  fx->load_left = total;
  for (int i = 0; i < clients; i++)
    load_next(fx, &fx->calls[i]);
}

static bool store_stopped_or_done(const struct fixture *fx) {
  return fx->store_stopped > 0;
}

static int restart_at; /* The completions after which the test restarts. */

static bool restart_point(const struct fixture *fx) {
  return fx->done >= restart_at;
}

static void test_pool_upstream_restart(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  fx->store.data = fx;
  struct pool_options po = {
      .max_size = 8, .max_waiters = 256, .wait_timeout_ms = 2000};
  fx_pool(fx, &po);
  const int total = load_count(6000);
  load_start(fx, 32, total);
  restart_at = total / 6;
  pool_run_until(fx, restart_point);
  /* Down: the listener and every connection, mid-request or idle. */
  kv_store_stop(&fx->store, fx_store_stopped);
  pool_run_until(fx, store_stopped_or_done);
  restart_at = fx->done + total / 30; /* They fail fast while it is down. */
  pool_run_until(fx, restart_point);
  assert_true(fx->load_errors > 0);
  assert_int_equal(kv_store_listen(&fx->store), 0); /* Same port. */
  run_until_done(fx, total);
  /* Every request ended; the ones after the restart succeeded. */
  assert_int_equal(fx->done, total);
  assert_int_equal(fx->ok + fx->load_errors, total);
  assert_true(fx->ok >= total / 6);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.in_use, 0);
  assert_int_equal(m.waiting, 0);
  assert_true(m.idle + m.connecting <= 8);
  /* A last request on the pool as it is now. */
  int before = fx->ok;
  load_start(fx, 1, 1);
  run_until_done(fx, total + 1);
  assert_int_equal(fx->ok, before + 1);
  fx_close(fx);
}

/* ---- Idle timeout and min_idle ---- */

static bool pool_idle_is_3(const struct fixture *fx) {
  return fx->pool.metrics.idle == 3;
}

static bool pool_idle_is_1(const struct fixture *fx) {
  return fx->pool.metrics.idle == 1;
}

static void test_pool_idle_timeout(void **state) {
  (void)state;
  struct kv_store_options so = {.delay_ms = 5};
  struct fixture *fx = fx_open(&so);
  struct pool_options po = {.max_size = 3, .idle_timeout_ms = 30};
  fx_pool(fx, &po);
  for (int i = 0; i < 3; i++)
    start(fx, i, KV_GET, "k", NULL, 5000);
  run_until_done(fx, 3);
  pool_run_until(fx, pool_has_no_idle);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.created, 3);
  assert_int_equal(m.closed, 3);
  assert_int_equal(m.failed, 0);
  fx_close(fx);
}

static void test_pool_min_idle(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  struct pool_options po = {
      .max_size = 5, .min_idle = 3, .idle_timeout_ms = 20};
  fx_pool(fx, &po);
  pool_run_until(fx, pool_idle_is_3);
  assert_int_equal(fx->pool.metrics.created, 3);
  /* One taken: another is opened, so that 3 stay idle. */
  start(fx, 0, KV_GET, "k", NULL, 5000);
  run_until_done(fx, 1);
  /* Past the idle timeout, the pool shrinks to min_idle and no lower. */
  pool_run_until(fx, pool_idle_is_3);
  uint64_t until = ax_now(&fx->loop) + 100;
  while (ax_now(&fx->loop) < until)
    ax_run(&fx->loop, AX_RUN_ONCE);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_int_equal(m.idle, 3);
  assert_int_equal(m.created, 4);
  /* The upstream drops them all: the pool opens 3 again. */
  kv_store_drop_all(&fx->store);
  pool_run_until(fx, pool_has_no_idle);
  pool_run_until(fx, pool_idle_is_3);
  fx_close(fx);
}

/* ---- A refused upstream ---- */

static void test_pool_refused(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  if (test_links_libkqueue() &&
      strcmp(ax_backend_name(&fx->loop), "kqueue") == 0) {
    fx_close(fx);
    test_skip("libkqueue reports a refused connect as a connection that "
              "ends at the first write, so no refusal reaches the back-off");
  }
  int port = fx->store.options.port;
  kv_store_stop(&fx->store, NULL);
  ax_run(&fx->loop, AX_RUN_NOWAIT);
  struct pool_options po = {.port = port, .max_size = 2, .min_idle = 1};
  fx_pool(fx, &po);
  for (int i = 0; i < 5; i++)
    start(fx, i, KV_GET, "k", NULL, 5000);
  run_until_done(fx, 5);
  for (int i = 0; i < 5; i++)
    assert_int_equal(fx->statuses[i], AX_ECONNREFUSED);
  /* min_idle keeps trying, backing off: a few tries in 200 ms, not a
   * loop of them. */
  uint64_t until = ax_now(&fx->loop) + 200;
  while (ax_now(&fx->loop) < until)
    ax_run(&fx->loop, AX_RUN_ONCE);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_true(m.failed >= 5);
  assert_true(m.failed < 40);
  assert_int_equal(m.created, 0);
  /* Back up: min_idle's next try connects. */
  assert_int_equal(kv_store_listen(&fx->store), 0);
  pool_run_until(fx, pool_idle_is_1);
  fx_close(fx);
}

/* ---- Closing ---- */

static void held_acquired(struct pool_waiter *w, struct pool_conn *conn,
                          int status) {
  struct fixture *fx = w->data;
  fx->done++;
  fx->last_status = status;
  if (status == 0)
    fx->calls[0].conn = conn; /* Kept here by the test. */
}

static void test_pool_close_with_waiters(void **state) {
  (void)state;
  struct fixture *fx = fx_open(NULL);
  struct pool_options po = {.max_size = 1};
  fx_pool(fx, &po);
  struct pool_waiter held = {.data = fx}, queued = {.data = fx};
  assert_int_equal(pool_acquire(&fx->pool, &held, held_acquired), 0);
  run_until_done(fx, 1);
  assert_int_equal(fx->last_status, 0);
  struct pool_conn *conn = fx->calls[0].conn;
  assert_non_null(conn);
  assert_int_equal(pool_acquire(&fx->pool, &queued, held_acquired), 0);
  pool_close(&fx->pool, fx_pool_closed);
  assert_int_equal(fx->done, 2);
  assert_int_equal(fx->last_status, AX_ECANCELED);
  assert_int_equal(pool_acquire(&fx->pool, &queued, held_acquired),
                   AX_ECANCELED);
  /* The holder's connection closes once given back. */
  ax_run(&fx->loop, AX_RUN_NOWAIT);
  assert_int_equal(fx->pool_closed, 0);
  pool_release(conn, true);
  fx->pool_open = false;
  ax_close(&fx->tick.handle, NULL);
  kv_store_stop(&fx->store, NULL);
  test_loop_close(&fx->loop);
  assert_int_equal(fx->pool_closed, 1);
  kv_store_free(&fx->store);
  free(fx);
}

/* ---- Leaks ---- */

/* Open descriptors, where the system lists them; -1 elsewhere. */
static int open_descriptors(void) {
#if defined(__linux__)
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL)
    return -1;
  int n = 0;
  while (readdir(dir) != NULL)
    n++;
  closedir(dir);
  return n;
#else
  return -1;
#endif /* __linux__ */
}

static void test_pool_no_leaks(void **state) {
  (void)state;
  int fds_before = open_descriptors();
  struct fixture *fx = fx_open(NULL);
  struct pool_options po = {.max_size = 8, .max_waiters = 64};
  fx_pool(fx, &po);
  start(fx, 0, KV_SET, "k", "value", 5000);
  run_until_done(fx, 1);
  fx->done = fx->ok = 0;
  const int total = load_count(100000);
  load_start(fx, 16, total);
  run_until_done(fx, total);
  assert_int_equal(fx->ok, total);
  struct pool_metrics m;
  pool_get_metrics(&fx->pool, &m);
  assert_true(m.created <= 8);
  assert_int_equal(m.failed, 0);
  assert_int_equal(m.in_use, 0);
  assert_int_equal(fx->store.stats.connections, m.idle);
  /* libkqueue opens and closes descriptors of its own as filters come
   * and go: no count tells a leak there. */
  bool libkqueue = test_links_libkqueue() &&
                   strcmp(ax_backend_name(&fx->loop), "kqueue") == 0;
  fx_close(fx);
  int fds_after = open_descriptors();
  if (fds_before >= 0 && !libkqueue)
    assert_int_equal(fds_after, fds_before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_requests),
      cmocka_unit_test(test_pool_bad_arguments),
      cmocka_unit_test(test_pool_exhaustion_queues),
      cmocka_unit_test(test_pool_queue_bound),
      cmocka_unit_test(test_pool_waiter_timeout),
      cmocka_unit_test(test_pool_answer_timeout),
      cmocka_unit_test(test_pool_idle_closed_by_server),
      cmocka_unit_test(test_pool_stale_connection_retried),
      cmocka_unit_test(test_pool_server_closes_after_each),
      cmocka_unit_test(test_pool_upstream_restart),
      cmocka_unit_test(test_pool_idle_timeout),
      cmocka_unit_test(test_pool_min_idle),
      cmocka_unit_test(test_pool_refused),
      cmocka_unit_test(test_pool_close_with_waiters),
      cmocka_unit_test(test_pool_no_leaks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
