/*
 * bench/core_uv.c: the loop-core workloads of bench.h on libuv, written to
 * match core_axle.c call for call.
 */
#include <pthread.h>
#include <stdlib.h>

#include <uv.h>

#include "bench.h"

struct idle_run {
  uv_idle_t idle; /* Counts iterations. */
  uint64_t left;  /* Iterations still to run. */
};

static void idle_cb(uv_idle_t *idle) {
  struct idle_run *r = (struct idle_run *)idle;
  if (--r->left == 0)
    uv_close((uv_handle_t *)idle, NULL);
}

static void unused_async_cb(uv_async_t *async) {
  (void)async;
}

/* The idle handle closes the async handle too, when it has one. */
struct idle_io_run {
  struct idle_run run; /* The iterations. */
  uv_async_t async;    /* Registers the loop's wakeup descriptor. */
};

static void idle_io_cb(uv_idle_t *idle) {
  struct idle_io_run *r = (struct idle_io_run *)idle;
  if (--r->run.left == 0) {
    uv_close((uv_handle_t *)idle, NULL);
    uv_close((uv_handle_t *)&r->async, NULL);
  }
}

static void uv_side_iterate(uint64_t n, int with_io, struct bench_result *res) {
  uv_loop_t loop;
  struct idle_io_run r = {.run.left = n};
  res->error = uv_loop_init(&loop);
  if (res->error != 0)
    return;
  uv_idle_init(&loop, &r.run.idle);
  if (with_io) {
    uv_async_init(&loop, &r.async, unused_async_cb);
    uv_idle_start(&r.run.idle, idle_io_cb);
  } else {
    uv_idle_start(&r.run.idle, idle_cb);
  }
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  res->error = uv_run(&loop, UV_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n;
  uv_loop_close(&loop);
}

static void uv_side_loop_iterations(uint64_t n, struct bench_result *res) {
  uv_side_iterate(n, 0, res);
}

static void uv_side_loop_iterations_io(uint64_t n, struct bench_result *res) {
  uv_side_iterate(n, 1, res);
}

static uint64_t timers_fired;

static void timer_cb(uv_timer_t *timer) {
  (void)timer;
  timers_fired++;
}

static void uv_side_timers(uint64_t n, struct bench_result *res) {
  uv_loop_t loop;
  uv_timer_t *timers = malloc(n * sizeof(*timers));
  res->error = timers == NULL ? 1 : uv_loop_init(&loop);
  if (res->error != 0) {
    free(timers);
    return;
  }
  for (uint64_t i = 0; i < n; i++)
    uv_timer_init(&loop, &timers[i]);
  timers_fired = 0;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  for (uint64_t i = 0; i < n; i++)
    uv_timer_start(&timers[i], timer_cb, bench_timer_timeout_ms(i), 0);
  res->error = uv_run(&loop, UV_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = timers_fired;
  for (uint64_t i = 0; i < n; i++)
    uv_close((uv_handle_t *)&timers[i], NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(timers);
}

struct pong_side {
  uv_loop_t loop;          /* This side's loop. */
  uv_async_t async;        /* Woken by the other side. */
  struct pong_side *other; /* The other side. */
  uint64_t left;           /* Round trips left (ping side only). */
  int is_ping;             /* Whether this side counts. */
  int done;                /* Set by ping for pong: stop (atomic). */
};

static void pong_cb(uv_async_t *async) {
  struct pong_side *s = async->data;
  if (!s->is_ping && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
    uv_close((uv_handle_t *)&s->async, NULL);
    return;
  }
  if (s->is_ping && --s->left == 0) {
    __atomic_store_n(&s->other->done, 1, __ATOMIC_RELEASE);
    uv_async_send(&s->other->async);
    uv_close((uv_handle_t *)&s->async, NULL);
    return;
  }
  uv_async_send(&s->other->async);
}

static void *pong_thread(void *arg) {
  struct pong_side *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void uv_side_async_ping_pong(uint64_t n, struct bench_result *res) {
  static struct pong_side ping, pong;
  res->error = uv_loop_init(&ping.loop) || uv_loop_init(&pong.loop);
  if (res->error != 0)
    return;
  ping.other = &pong;
  pong.other = &ping;
  ping.is_ping = 1;
  ping.left = n;
  pong.done = 0;
  uv_async_init(&ping.loop, &ping.async, pong_cb);
  uv_async_init(&pong.loop, &pong.async, pong_cb);
  ping.async.data = &ping;
  pong.async.data = &pong;
  pthread_t t;
  pthread_create(&t, NULL, pong_thread, &pong);
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  uv_async_send(&pong.async);
  uv_run(&ping.loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n;
  uv_loop_close(&ping.loop);
  uv_loop_close(&pong.loop);
}

enum { POOL_BATCH = 1000 };

struct pool_run {
  uv_loop_t loop;             /* The loop the jobs complete on. */
  uv_work_t jobs[POOL_BATCH]; /* One batch of requests. */
  uint64_t left;              /* Jobs still to queue. */
  unsigned int in_flight;     /* Jobs of this batch not completed. */
};

static void pool_work(uv_work_t *work) {
  (void)work;
}

static void pool_queue_batch(struct pool_run *r);

static void pool_after(uv_work_t *work, int status) {
  struct pool_run *r = work->data;
  (void)status;
  if (--r->in_flight == 0)
    pool_queue_batch(r);
}

static void pool_queue_batch(struct pool_run *r) {
  unsigned int batch = r->left < POOL_BATCH ? (unsigned int)r->left
                                            : POOL_BATCH;
  r->left -= batch;
  r->in_flight = batch;
  for (unsigned int i = 0; i < batch; i++) {
    r->jobs[i].data = r;
    uv_queue_work(&r->loop, &r->jobs[i], pool_work, pool_after);
  }
}

static void uv_side_pool_empty_work(uint64_t n, struct bench_result *res) {
  static struct pool_run r;
  res->error = uv_loop_init(&r.loop);
  if (res->error != 0)
    return;
  r.left = n;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  pool_queue_batch(&r);
  res->error = uv_run(&r.loop, UV_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n - r.left;
  uv_loop_close(&r.loop);
}

const struct bench_side bench_uv = {
    .name = "libuv",
    .loop_iterations = uv_side_loop_iterations,
    .loop_iterations_io = uv_side_loop_iterations_io,
    .timers = uv_side_timers,
    .async_ping_pong = uv_side_async_ping_pong,
    .pool_empty_work = uv_side_pool_empty_work,
    .fs_stat = bench_uv_fs_stat,
    .fs_read = bench_uv_fs_read,
    .fs_churn = bench_uv_fs_churn,
    .fs_sendfile = bench_uv_fs_sendfile,
    .msg_one_by_one = bench_uv_msg_one_by_one,
    .msg_bursts = bench_uv_msg_bursts,
    .spawn_one = bench_uv_spawn_one,
    .spawn_many = bench_uv_spawn_many,
    .ipc_handles = bench_uv_ipc_handles,
};
