/*
 * demo.c: a tour of the loop core in one program.
 *
 * - a repeating timer prints a tick every 100 ms;
 * - an idle handle counts the iterations that had nothing else to do, until
 *   the first tick stops it (an active idle handle makes the loop spin);
 * - a second thread does "work" in steps and wakes the loop through an async
 *   handle after each one; sends made while the loop is busy coalesce into one
 *   callback, which reads the latest progress;
 * - when the worker is done the loop closes every handle, runs out of work,
 *   and returns; the program prints the loop's metrics.
 *
 * Usage: demo [steps]   (default 5)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <axle.h>

struct demo {
  ax_loop_t loop;    /* The one loop, run on the main thread. */
  ax_timer_t ticker; /* Prints a tick every 100 ms. */
  ax_idle_t idle;    /* Counts idle iterations until the first tick. */
  ax_async_t wakeup; /* The worker thread's way into the loop. */
  pthread_t worker;  /* Does the steps. */
  int steps;         /* How many steps the worker does. */
  int progress;      /* Steps done (written by the worker, atomic). */
  unsigned long idle_iterations; /* Iterations the idle handle ran in. */
  int wakeups;                   /* Async callbacks received. */
  uint64_t start_ms;             /* ax_now() when the loop started. */
};

static void on_idle(ax_idle_t *idle) {
  struct demo *d = ax_container_of(idle, struct demo, idle);
  d->idle_iterations++;
}

static void on_tick(ax_timer_t *timer) {
  struct demo *d = ax_container_of(timer, struct demo, ticker);
  if (ax_is_active(&d->idle.handle)) {
    printf("idle handle ran %lu iterations before the first tick; "
           "stopping it\n",
           d->idle_iterations);
    ax_idle_stop(&d->idle);
  }
  printf("[%4llu ms] tick\n",
         (unsigned long long)(ax_now(&d->loop) - d->start_ms));
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    continue;
}

/* The worker: each step "works" for 130 ms, then reports. The last two
 * steps report twice in a row to show that sends coalesce. */
static void *worker_main(void *arg) {
  struct demo *d = arg;
  for (int i = 1; i <= d->steps; i++) {
    sleep_ms(130);
    __atomic_store_n(&d->progress, i, __ATOMIC_RELEASE);
    ax_async_send(&d->wakeup);
    if (i >= d->steps - 1)
      ax_async_send(&d->wakeup);
  }
  return NULL;
}

static void on_wakeup(ax_async_t *async) {
  struct demo *d = ax_container_of(async, struct demo, wakeup);
  int progress = __atomic_load_n(&d->progress, __ATOMIC_ACQUIRE);
  d->wakeups++;
  printf("[%4llu ms] worker thread woke the loop: step %d of %d done\n",
         (unsigned long long)(ax_now(&d->loop) - d->start_ms), progress,
         d->steps);
  if (progress < d->steps)
    return;
  /* All done: closing every handle lets ax_run() return. */
  ax_close(&d->ticker.handle, NULL);
  ax_close(&d->idle.handle, NULL);
  ax_close(&d->wakeup.handle, NULL);
}

static int demo_start(struct demo *d) {
  int err;
  if ((err = ax_loop_init(&d->loop)) != 0)
    return err;
  printf("axle %s on the %s backend\n", ax_version_string(),
         ax_backend_name(&d->loop));
  d->start_ms = ax_now(&d->loop);
  if ((err = ax_timer_init(&d->loop, &d->ticker)) != 0 ||
      (err = ax_timer_start(&d->ticker, on_tick, 100, 100)) != 0 ||
      (err = ax_idle_init(&d->loop, &d->idle)) != 0 ||
      (err = ax_idle_start(&d->idle, on_idle)) != 0 ||
      (err = ax_async_init(&d->loop, &d->wakeup, on_wakeup)) != 0)
    return err;
  if (pthread_create(&d->worker, NULL, worker_main, d) != 0)
    return AX_EAGAIN;
  return 0;
}

int main(int argc, char **argv) {
  static struct demo d;
  d.steps = argc > 1 ? atoi(argv[1]) : 5;
  if (d.steps < 1 || d.steps > 1000) {
    fprintf(stderr, "usage: %s [steps, 1..1000]\n", argv[0]);
    return 2;
  }
  int err = demo_start(&d);
  if (err != 0) {
    fprintf(stderr, "demo: %s (%s)\n", ax_strerror(err), ax_err_name(err));
    return 1;
  }
  err = ax_run(&d.loop, AX_RUN_DEFAULT);
  pthread_join(d.worker, NULL);
  ax_metrics_t m;
  ax_loop_metrics(&d.loop, &m);
  printf("loop done: %llu iterations, %llu events, %d async callbacks for "
         "%d steps, %.1f ms waiting in poll\n",
         (unsigned long long)m.iterations, (unsigned long long)m.events,
         d.wakeups, d.steps, (double)m.poll_wait_ns / 1e6);
  if (err == 0)
    err = ax_loop_close(&d.loop);
  if (err != 0) {
    fprintf(stderr, "demo: %s\n", ax_strerror(err));
    return 1;
  }
  return 0;
}
