/*
 * bench/spawn_uv.c: the spawn workloads of bench.h on libuv, as
 * spawn_axle.c does them: uv_spawn with no stdio, each exit callback
 * closing its handle and the close callback spawning the next.
 */
#include <string.h>
#include <uv.h>

#include "bench.h"

struct spawner {
  uv_loop_t loop;
  uv_process_t children[BENCH_SPAWN_MANY];
  uint64_t left;   /* Spawns still to start. */
  uint64_t exited; /* Exit callbacks so far. */
  int error;       /* A spawn failed, or a child did not exit with 0. */
};

static void spawner_start(struct spawner *s, uv_process_t *child);

static void spawner_close_cb(uv_handle_t *handle) {
  struct spawner *s = handle->data;
  if (s->left > 0 && !s->error)
    spawner_start(s, (uv_process_t *)handle);
}

static void spawner_exit_cb(uv_process_t *child, int64_t exit_status,
                            int term_signal) {
  struct spawner *s = child->data;
  s->exited++;
  if (exit_status != 0 || term_signal != 0)
    s->error = 1;
  uv_close((uv_handle_t *)child, spawner_close_cb);
}

static void spawner_start(struct spawner *s, uv_process_t *child) {
  static char *args[] = {BENCH_SPAWN_FILE, NULL};
  uv_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.file = BENCH_SPAWN_FILE;
  options.args = args;
  options.exit_cb = spawner_exit_cb;
  s->left--;
  child->data = s;
  if (uv_spawn(&s->loop, child, &options) != 0) {
    /* libuv's handle is initialised even on failure: close it. */
    s->error = 1;
    uv_close((uv_handle_t *)child, NULL);
  }
}

static void uv_spawn_run(uint64_t n, unsigned int alive,
                         struct bench_result *r) {
  static struct spawner s;
  memset(&s, 0, sizeof(s));
  if (uv_loop_init(&s.loop) != 0) {
    r->error = 1;
    return;
  }
  s.left = n;
  double cpu = bench_cpu_now();
  double wall = bench_wall_now();
  for (unsigned int i = 0; i < alive && s.left > 0; i++)
    spawner_start(&s, &s.children[i]);
  uv_run(&s.loop, UV_RUN_DEFAULT);
  r->cpu_s = bench_cpu_now() - cpu;
  r->wall_s = bench_wall_now() - wall;
  r->ops = s.exited;
  r->error = s.error;
  if (uv_loop_close(&s.loop) != 0)
    r->error = 1;
}

void bench_uv_spawn_one(uint64_t n, struct bench_result *r) {
  uv_spawn_run(n, 1, r);
}

void bench_uv_spawn_many(uint64_t n, struct bench_result *r) {
  uv_spawn_run(n, BENCH_SPAWN_MANY, r);
}
