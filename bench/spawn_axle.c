/*
 * bench/spawn_axle.c: the spawn workloads of bench.h on axle: children of
 * BENCH_SPAWN_FILE with no stdio (0, 1, 2 on /dev/null), each exit
 * callback closing its handle and the close callback spawning the next,
 * until n have exited.
 */
#include <string.h>

#include <axle.h>

#include "bench.h"

struct spawner {
  ax_loop_t loop;
  ax_process_t children[BENCH_SPAWN_MANY];
  uint64_t left;   /* Spawns still to start. */
  uint64_t exited; /* Exit callbacks so far. */
  int error;       /* A spawn failed, or a child did not exit with 0. */
};

static void spawner_start(struct spawner *s, ax_process_t *child);

static void spawner_close_cb(ax_handle_t *handle) {
  struct spawner *s = handle->data;
  if (s->left > 0 && !s->error)
    spawner_start(s, (ax_process_t *)handle);
}

static void spawner_exit_cb(ax_process_t *child, int64_t exit_status,
                            int term_signal) {
  struct spawner *s = child->handle.data;
  s->exited++;
  if (exit_status != 0 || term_signal != 0)
    s->error = 1;
  ax_close(&child->handle, spawner_close_cb);
}

static void spawner_start(struct spawner *s, ax_process_t *child) {
  static char *args[] = {BENCH_SPAWN_FILE, NULL};
  ax_process_options_t options;
  memset(&options, 0, sizeof(options));
  options.file = BENCH_SPAWN_FILE;
  options.args = args;
  options.exit_cb = spawner_exit_cb;
  s->left--;
  if (ax_spawn(&s->loop, child, &options) != 0) {
    s->error = 1;
    return;
  }
  child->handle.data = s;
}

static void axle_spawn(uint64_t n, unsigned int alive, struct bench_result *r) {
  static struct spawner s;
  memset(&s, 0, sizeof(s));
  if (ax_loop_init(&s.loop) != 0) {
    r->error = 1;
    return;
  }
  s.left = n;
  double cpu = bench_cpu_now();
  double wall = bench_wall_now();
  for (unsigned int i = 0; i < alive && s.left > 0; i++)
    spawner_start(&s, &s.children[i]);
  ax_run(&s.loop, AX_RUN_DEFAULT);
  r->cpu_s = bench_cpu_now() - cpu;
  r->wall_s = bench_wall_now() - wall;
  r->ops = s.exited;
  r->error = s.error;
  if (ax_loop_close(&s.loop) != 0)
    r->error = 1;
}

void bench_axle_spawn_one(uint64_t n, struct bench_result *r) {
  axle_spawn(n, 1, r);
}

void bench_axle_spawn_many(uint64_t n, struct bench_result *r) {
  axle_spawn(n, BENCH_SPAWN_MANY, r);
}
