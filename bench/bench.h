/*
 * bench/bench.h: the interface each side of a side-by-side benchmark fills.
 *
 * The same workloads are written twice, once on axle (core_axle.c) and once
 * on libuv (core_uv.c), as alike as the two APIs allow; bench/run.c runs both
 * in one process and prints each figure with the ratio between them.
 */
#ifndef AX_BENCH_H
#define AX_BENCH_H

#include <stdint.h>

struct bench_result {
  uint64_t ops;  /* Operations completed. */
  double cpu_s;  /* Process CPU time they took (user + system). */
  double wall_s; /* Wall-clock time they took. */
  int error;     /* Nonzero if the run failed. */
};

struct bench_side {
  const char *name; /* "axle" or "libuv". */
  /* Run n loop iterations with one idle handle and nothing else. */
  void (*loop_iterations)(uint64_t n, struct bench_result *r);
  /* The same with an async handle open too: every iteration then polls a
   * descriptor, as any loop doing I/O does. */
  void (*loop_iterations_io)(uint64_t n, struct bench_result *r);
  /* Start n timers with timeouts spread over 0..9 ms, run until all fired. */
  void (*timers)(uint64_t n, struct bench_result *r);
  /* n async round trips between two loops on two threads. */
  void (*async_ping_pong)(uint64_t n, struct bench_result *r);
  /* n empty jobs through the thread pool, queued in batches of 1000, each
   * batch waited for; the pool at its default size. */
  void (*pool_empty_work)(uint64_t n, struct bench_result *r);
};

extern const struct bench_side bench_axle;
extern const struct bench_side bench_uv;

/* Clocks for the sides: process CPU seconds and wall seconds. */
double bench_cpu_now(void);
double bench_wall_now(void);

/* The timeout of timer i of n, the same sequence on both sides. */
static inline uint64_t bench_timer_timeout_ms(uint64_t i) {
  return (i * 2654435761u >> 7) % 10u;
}

#endif /* AX_BENCH_H */
