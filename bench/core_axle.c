/*
 * bench/core_axle.c: the loop-core workloads of bench.h on axle.
 */
#include <pthread.h>
#include <stdlib.h>

#include <axle.h>

#include "bench.h"

struct idle_run {
  ax_idle_t idle; /* Counts iterations. */
  uint64_t left;  /* Iterations still to run. */
};

static void idle_cb(ax_idle_t *idle) {
  struct idle_run *r = ax_container_of(idle, struct idle_run, idle);
  if (--r->left == 0)
    ax_close(&idle->handle, NULL);
}

static void unused_async_cb(ax_async_t *async) {
  (void)async;
}

/* The idle handle closes the async handle too, when it has one. */
struct idle_io_run {
  struct idle_run run; /* The iterations. */
  ax_async_t async;    /* Registers the loop's wakeup descriptor. */
};

static void idle_io_cb(ax_idle_t *idle) {
  struct idle_io_run *r = ax_container_of(idle, struct idle_io_run, run.idle);
  if (--r->run.left == 0) {
    ax_close(&idle->handle, NULL);
    ax_close(&r->async.handle, NULL);
  }
}

static void axle_iterate(uint64_t n, int with_io, struct bench_result *res) {
  ax_loop_t loop;
  struct idle_io_run r = {.run.left = n};
  res->error = ax_loop_init(&loop);
  if (res->error != 0)
    return;
  ax_idle_init(&loop, &r.run.idle);
  if (with_io) {
    ax_async_init(&loop, &r.async, unused_async_cb);
    ax_idle_start(&r.run.idle, idle_io_cb);
  } else {
    ax_idle_start(&r.run.idle, idle_cb);
  }
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  res->error = ax_run(&loop, AX_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n;
  ax_loop_close(&loop);
}

static void axle_loop_iterations(uint64_t n, struct bench_result *res) {
  axle_iterate(n, 0, res);
}

static void axle_loop_iterations_io(uint64_t n, struct bench_result *res) {
  axle_iterate(n, 1, res);
}

static uint64_t timers_fired;

static void timer_cb(ax_timer_t *timer) {
  (void)timer;
  timers_fired++;
}

static void axle_timers(uint64_t n, struct bench_result *res) {
  ax_loop_t loop;
  ax_timer_t *timers = malloc(n * sizeof(*timers));
  res->error = timers == NULL ? 1 : ax_loop_init(&loop);
  if (res->error != 0) {
    free(timers);
    return;
  }
  for (uint64_t i = 0; i < n; i++)
    ax_timer_init(&loop, &timers[i]);
  timers_fired = 0;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  for (uint64_t i = 0; i < n; i++)
    ax_timer_start(&timers[i], timer_cb, bench_timer_timeout_ms(i), 0);
  res->error = ax_run(&loop, AX_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = timers_fired;
  for (uint64_t i = 0; i < n; i++)
    ax_close(&timers[i].handle, NULL);
  ax_run(&loop, AX_RUN_DEFAULT);
  ax_loop_close(&loop);
  free(timers);
}

struct pong_side {
  ax_loop_t loop;          /* This side's loop. */
  ax_async_t async;        /* Woken by the other side. */
  struct pong_side *other; /* The other side. */
  uint64_t left;           /* Round trips left (ping side only). */
  int is_ping;             /* Whether this side counts. */
  int done;                /* Set by ping for pong: stop (atomic). */
};

/* Each side answers a wakeup by waking the other. When ping has counted
 * its round trips it tells pong to stop with one last send; every other
 * send has been answered by then, so both sides can close their own
 * handle: no handle is ever touched from a foreign thread. */
static void pong_cb(ax_async_t *async) {
  struct pong_side *s = ax_container_of(async, struct pong_side, async);
  if (!s->is_ping && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
    ax_close(&s->async.handle, NULL);
    return;
  }
  if (s->is_ping && --s->left == 0) {
    __atomic_store_n(&s->other->done, 1, __ATOMIC_RELEASE);
    ax_async_send(&s->other->async);
    ax_close(&s->async.handle, NULL);
    return;
  }
  ax_async_send(&s->other->async);
}

static void *pong_thread(void *arg) {
  struct pong_side *s = arg;
  ax_run(&s->loop, AX_RUN_DEFAULT);
  return NULL;
}

static void axle_async_ping_pong(uint64_t n, struct bench_result *res) {
  static struct pong_side ping, pong;
  res->error = ax_loop_init(&ping.loop) || ax_loop_init(&pong.loop);
  if (res->error != 0)
    return;
  ping.other = &pong;
  pong.other = &ping;
  ping.is_ping = 1;
  ping.left = n;
  pong.done = 0;
  ax_async_init(&ping.loop, &ping.async, pong_cb);
  ax_async_init(&pong.loop, &pong.async, pong_cb);
  pthread_t t;
  pthread_create(&t, NULL, pong_thread, &pong);
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  ax_async_send(&pong.async);
  ax_run(&ping.loop, AX_RUN_DEFAULT);
  pthread_join(t, NULL);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n;
  ax_loop_close(&ping.loop);
  ax_loop_close(&pong.loop);
}

enum { POOL_BATCH = 1000 };

struct pool_run {
  ax_loop_t loop;             /* The loop the jobs complete on. */
  ax_work_t jobs[POOL_BATCH]; /* One batch of requests. */
  uint64_t left;              /* Jobs still to queue. */
  unsigned int in_flight;     /* Jobs of this batch not completed. */
};

static void pool_work(ax_work_t *work) {
  (void)work;
}

static void pool_queue_batch(struct pool_run *r);

static void pool_after(ax_work_t *work, int status) {
  struct pool_run *r = work->req.data;
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
    r->jobs[i].req.data = r;
    ax_queue_work(&r->loop, &r->jobs[i], pool_work, pool_after);
  }
}

static void axle_pool_empty_work(uint64_t n, struct bench_result *res) {
  static struct pool_run r;
  res->error = ax_loop_init(&r.loop);
  if (res->error != 0)
    return;
  r.left = n;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  pool_queue_batch(&r);
  res->error = ax_run(&r.loop, AX_RUN_DEFAULT);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n - r.left;
  ax_loop_close(&r.loop);
}

const struct bench_side bench_axle = {
    .name = "axle",
    .loop_iterations = axle_loop_iterations,
    .loop_iterations_io = axle_loop_iterations_io,
    .timers = axle_timers,
    .async_ping_pong = axle_async_ping_pong,
    .pool_empty_work = axle_pool_empty_work,
    .fs_stat = bench_axle_fs_stat,
    .fs_read = bench_axle_fs_read,
    .fs_churn = bench_axle_fs_churn,
    .fs_sendfile = bench_axle_fs_sendfile,
    .msg_one_by_one = bench_axle_msg_one_by_one,
    .msg_bursts = bench_axle_msg_bursts,
    .spawn_one = bench_axle_spawn_one,
    .spawn_many = bench_axle_spawn_many,
    .ipc_handles = bench_axle_ipc_handles,
};
