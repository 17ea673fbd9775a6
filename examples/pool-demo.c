/*
 * pool-demo.c: why CPU-heavy work belongs on the thread pool, shown the way
 * the Node.js literature shows it.
 *
 * A repeating timer ticks every 10 ms and prints a '.'. After a few ticks
 * the demo hashes one password on the loop thread: the loop is inside that
 * call, nothing else runs, and the next tick comes only when the hash is
 * done; the demo prints the gap. Then it queues four hashes with
 * ax_queue_work(). They run on pool workers while the loop goes on
 * ticking: with the default pool of 4 workers all four run at once and
 * finish together; with AX_THREADPOOL_SIZE=2 two run, then the other two,
 * and they finish in two waves. (Hashes running at once share the machine's
 * cores: with fewer cores than hashes, each takes longer.)
 *
 * The hash is PBKDF2 from OpenSSL where it is installed, else a CPU loop of
 * our own (pool-demo.h). The program ends by itself once the four are done.
 *
 * Usage: pool-demo              (AX_THREADPOOL_SIZE=2 pool-demo: 2 workers)
 */
#include <stdio.h>

#include <axle.h>

#include "pool-demo.h"

enum {
  TICK_MS = 10,         /* The ticker's interval. */
  TICKS_BEFORE = 5,     /* Ticks before each part, to show the rhythm. */
  POOL_HASHES = 4,      /* Hashes queued on the pool. */
  DOTS_PER_LINE = 60,   /* Tick marks per line of output. */
  NS_PER_MS = 1000000u, /* For printing ax_hrtime() differences. */
};

/* One hash on the pool. The worker writes the times and the result; the
 * loop reads them in the after-work callback, which the pool runs after
 * the work callback has returned. */
struct hash_job {
  ax_work_t work;                               /* The pool request. */
  int number;                                   /* 1..POOL_HASHES. */
  uint64_t started_ns;                          /* When a worker took it. */
  uint64_t finished_ns;                         /* When the worker was done. */
  int err;                                      /* The hash's result. */
  unsigned char digest[POOL_DEMO_DIGEST_BYTES]; /* Its output. */
};

struct demo {
  ax_loop_t loop;                    /* The one loop. */
  ax_timer_t ticker;                 /* Prints a '.' every TICK_MS. */
  struct hash_job jobs[POOL_HASHES]; /* The pool's hashes. */
  int part;                          /* What the next ticks lead to. */
  int ticks;                         /* Ticks since the part began. */
  int dots;                          /* Tick marks on the current line. */
  int jobs_done;                     /* Pool hashes completed. */
  uint64_t start_ns;                 /* ax_hrtime() at the start. */
  uint64_t last_tick_ns;             /* The previous tick's time. */
  uint64_t longest_gap_ns;           /* Between two ticks, in this part. */
  uint64_t queued_ns;                /* When the pool hashes were queued. */
};

/* The parts of the demo, in order. */
enum { PART_SYNC = 0, PART_AFTER_SYNC, PART_POOL };

static unsigned long long ms_since(uint64_t from_ns, uint64_t to_ns) {
  return (unsigned long long)((to_ns - from_ns) / NS_PER_MS);
}

/* Start a line of text after any tick marks, with the time since start. */
static void demo_line(struct demo *d) {
  if (d->dots > 0)
    printf("\n");
  d->dots = 0;
  printf("[%4llu ms] ", ms_since(d->start_ns, ax_hrtime()));
}

static void demo_dot(struct demo *d) {
  if (d->dots == DOTS_PER_LINE) {
    printf("\n");
    d->dots = 0;
  }
  printf(d->dots == 0 ? "           ." : ".");
  d->dots++;
  fflush(stdout);
}

static void hash_work(ax_work_t *work) {
  struct hash_job *job = ax_container_of(work, struct hash_job, work);
  job->started_ns = ax_hrtime();
  job->err = pool_demo_hash("axle", job->digest);
  job->finished_ns = ax_hrtime();
}

static void hash_after(ax_work_t *work, int status) {
  struct hash_job *job = ax_container_of(work, struct hash_job, work);
  struct demo *d = work->req.data;
  demo_line(d);
  printf("pool hash %d done, %llu ms after queueing: waited %llu ms for a "
         "worker, ran %llu ms%s\n",
         job->number, ms_since(d->queued_ns, job->finished_ns),
         ms_since(d->queued_ns, job->started_ns),
         ms_since(job->started_ns, job->finished_ns),
         status != 0 || job->err != 0 ? " (FAILED)" : "");
  if (++d->jobs_done < POOL_HASHES)
    return;
  demo_line(d);
  printf("all %d done; the longest gap between ticks meanwhile: %llu ms\n",
         POOL_HASHES, (unsigned long long)(d->longest_gap_ns / NS_PER_MS));
  ax_close(&d->ticker.handle, NULL); /* Nothing left: ax_run() returns. */
}

/* Hash on the loop thread: no tick can run until this returns. */
static void demo_hash_on_loop(struct demo *d) {
  unsigned char digest[POOL_DEMO_DIGEST_BYTES];
  demo_line(d);
  printf("hashing on the loop thread: the ticker must wait\n");
  fflush(stdout);
  uint64_t begin_ns = ax_hrtime();
  int err = pool_demo_hash("axle", digest);
  demo_line(d);
  printf("hash done in %llu ms%s\n", ms_since(begin_ns, ax_hrtime()),
         err != 0 ? " (FAILED)" : "");
}

static void demo_queue_hashes(struct demo *d) {
  demo_line(d);
  printf("queueing %d hashes on the pool (%u workers): the ticker goes on\n",
         POOL_HASHES, ax_threadpool_get_size());
  d->queued_ns = ax_hrtime();
  for (int i = 0; i < POOL_HASHES; i++) {
    struct hash_job *job = &d->jobs[i];
    job->number = i + 1;
    job->work.req.data = d;
    int err = ax_queue_work(&d->loop, &job->work, hash_work, hash_after);
    if (err != 0) {
      fprintf(stderr, "pool-demo: %s\n", ax_strerror(err));
      ax_close(&d->ticker.handle, NULL);
      return;
    }
  }
}

/* Record the gap since the previous tick; report the one after the hash
 * on the loop thread, the gap that hash made. */
static void demo_tick_gap(struct demo *d, uint64_t now_ns) {
  uint64_t gap_ns = now_ns - d->last_tick_ns;
  d->last_tick_ns = now_ns;
  if (gap_ns > d->longest_gap_ns)
    d->longest_gap_ns = gap_ns;
  if (d->part == PART_AFTER_SYNC && d->ticks == 0) {
    demo_line(d);
    printf("next tick, %llu ms after the one before it\n",
           (unsigned long long)(gap_ns / NS_PER_MS));
  }
}

static void on_tick(ax_timer_t *timer) {
  struct demo *d = ax_container_of(timer, struct demo, ticker);
  demo_tick_gap(d, ax_hrtime());
  demo_dot(d);
  if (++d->ticks < TICKS_BEFORE || d->part == PART_POOL)
    return;
  d->ticks = 0;
  d->longest_gap_ns = 0;
  if (d->part == PART_SYNC) {
    demo_hash_on_loop(d);
    d->part = PART_AFTER_SYNC;
  } else {
    demo_queue_hashes(d);
    d->part = PART_POOL;
  }
}

int main(void) {
  static struct demo d;
  int err = ax_loop_init(&d.loop);
  if (err != 0) {
    fprintf(stderr, "pool-demo: %s\n", ax_strerror(err));
    return 1;
  }
  printf("axle %s, %s backend, %u pool workers\nhash: %s\n",
         ax_version_string(), ax_backend_name(&d.loop),
         ax_threadpool_get_size(), pool_demo_hash_name());
  d.start_ns = d.last_tick_ns = ax_hrtime();
  demo_line(&d);
  printf("ticker starts: one '.' every %d ms\n", TICK_MS);
  ax_timer_init(&d.loop, &d.ticker);
  ax_timer_start(&d.ticker, on_tick, TICK_MS, TICK_MS);
  err = ax_run(&d.loop, AX_RUN_DEFAULT);
  if (err == 0)
    err = ax_loop_close(&d.loop);
  if (err != 0) {
    fprintf(stderr, "pool-demo: %s\n", ax_strerror(err));
    return 1;
  }
  return 0;
}
