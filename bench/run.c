/*
 * bench/run.c: runs each loop-core workload on axle and on libuv in one
 * process and prints a table: operations per CPU-second for each, and the
 * ratio axle/libuv (above 1: axle does more work per CPU-second).
 *
 * Usage: bench-core [scale]   scale multiplies every operation count
 * (default 1, at most 100). `bench-core --one SIDE INDEX COUNT` runs one
 * workload once on one side, for scripts/bench.sh --callgrind. Each workload
 * runs `rounds` times per side, alternating sides, and the best round counts,
 * so that a noisy neighbour on the machine hurts both sides alike.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*bench_fn)(uint64_t n, struct bench_result *r);

struct workload {
  const char *name; /* Row label. */
  const char *unit; /* What one operation is. */
  uint64_t n;       /* Operations per round at scale 1. */
  size_t offset;    /* Which member of struct bench_side runs it. */
};

static bench_fn side_fn(const struct bench_side *side, size_t offset) {
  return *(const bench_fn *)((const char *)side + offset);
}

/* Operations per CPU-second of one round; sets *error on a failed run. */
static double run_rate(bench_fn fn, uint64_t n, int *error) {
  struct bench_result r = {0};
  fn(n, &r);
  if (r.error != 0 || r.ops != n || r.cpu_s <= 0) {
    *error = 1;
    return 0;
  }
  return (double)r.ops / r.cpu_s;
}

static const struct workload workloads[] = {
    {"loop iterations", "iteration", 1000000,
     offsetof(struct bench_side, loop_iterations)},
    {"loop iterations, 1 fd", "iteration", 1000000,
     offsetof(struct bench_side, loop_iterations_io)},
    {"timers started+fired", "timer", 1000000,
     offsetof(struct bench_side, timers)},
    {"async ping-pong", "round trip", 20000,
     offsetof(struct bench_side, async_ping_pong)},
    {"pool: empty jobs", "job", 200000,
     offsetof(struct bench_side, pool_empty_work)},
};
enum { WORKLOADS = sizeof(workloads) / sizeof(workloads[0]) };

/* The table: every workload on both sides, best of ROUNDS each. */
static int run_table(uint64_t scale) {
  enum { ROUNDS = 3 };
  const struct bench_side *sides[2] = {&bench_axle, &bench_uv};
  printf("%-22s %16s %16s %8s\n", "workload (per CPU-s)", "axle", "libuv",
         "ratio");
  int failed = 0;
  for (size_t w = 0; w < WORKLOADS; w++) {
    uint64_t n = workloads[w].n * scale;
    double best[2] = {0, 0};
    for (int round = 0; round < ROUNDS; round++) {
      for (int s = 0; s < 2; s++) {
        int error = 0;
        double rate = run_rate(side_fn(sides[s], workloads[w].offset), n,
                               &error);
        failed |= error;
        if (rate > best[s])
          best[s] = rate;
      }
    }
    printf("%-22s %16.0f %16.0f %7.2fx\n", workloads[w].name, best[0], best[1],
           best[1] > 0 ? best[0] / best[1] : 0.0);
  }
  if (failed)
    fprintf(stderr, "bench: a run failed or completed too few operations\n");
  return failed;
}

/* One workload on one side, once: for counting instructions with
 * callgrind, where the two sides must run in separate processes. */
static int run_one(const char *side_name, const char *index, uint64_t n) {
  const struct bench_side *side = NULL;
  if (strcmp(side_name, bench_axle.name) == 0)
    side = &bench_axle;
  else if (strcmp(side_name, bench_uv.name) == 0)
    side = &bench_uv;
  long w = atol(index);
  if (side == NULL || w < 0 || w >= WORKLOADS || n == 0)
    return 2;
  int error = 0;
  run_rate(side_fn(side, workloads[w].offset), n, &error);
  printf("%s\t%s\t%llu\n", side->name, workloads[w].name,
         (unsigned long long)n);
  return error;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--one") == 0)
    return run_one(argv[2], argv[3], strtoull(argv[4], NULL, 10));
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t w = 0; w < WORKLOADS; w++)
      printf("%zu\t%s\n", w, workloads[w].name);
    return 0;
  }
  long scale = argc > 1 ? atol(argv[1]) : 1;
  if (argc > 2 || scale < 1 || scale > 100) {
    fprintf(stderr,
            "usage: %s [scale 1..100]\n"
            "       %s --list\n"
            "       %s --one axle|libuv WORKLOAD-INDEX COUNT\n",
            argv[0], argv[0], argv[0]);
    return 2;
  }
  return run_table((uint64_t)scale);
}
