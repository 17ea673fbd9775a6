/*
 * work.c: CPU work on the thread pool, without blocking the loop.
 *
 * Counts the primes below 1,000,000 in four slices, one pool job each.
 * A job is an ax_work_t embedded in the caller's struct: its work
 * callback runs on a pool thread and must touch nothing but its own job
 * (no loop, no handle); its after-work callback runs back on the loop
 * thread, where the result is read. ax_run() returns once every job is
 * done. A job still queued can be cancelled with ax_cancel(); its
 * after-work callback then gets AX_ECANCELED. docs/threadpool.md says
 * how the pool runs jobs, and examples/pool-demo.c shows the loop
 * staying free meanwhile.
 */
#include <stdbool.h>
#include <stdio.h>

#include <axle.h>

enum { JOBS = 4, LIMIT = 1000000 };

struct job {
  ax_work_t work;      /* the pool's part of the job */
  unsigned int from;   /* first number of the slice */
  unsigned int to;     /* one past the last */
  unsigned int primes; /* the answer, set on the pool thread */
};

static bool is_prime(unsigned int n) {
  if (n < 2)
    return false;
  for (unsigned int d = 2; d * d <= n; d++) {
    if (n % d == 0)
      return false;
  }
  return true;
}

/* On a pool thread. */
static void count_primes(ax_work_t *work) {
  struct job *job = ax_container_of(work, struct job, work);
  for (unsigned int n = job->from; n < job->to; n++)
    job->primes += is_prime(n);
}

/* On the loop thread, once count_primes() has returned (or, with
 * AX_ECANCELED, if the job was cancelled before it started). */
static void after_count(ax_work_t *work, int status) {
  struct job *job = ax_container_of(work, struct job, work);
  unsigned int *total = work->req.data;
  if (status != 0) {
    fprintf(stderr, "work: job %u..%u: %s\n", job->from, job->to,
            ax_strerror(status));
    return;
  }
  printf("%u primes in [%u, %u)\n", job->primes, job->from, job->to);
  *total += job->primes;
}

int main(void) {
  ax_loop_t loop;
  struct job jobs[JOBS] = {0};
  unsigned int total = 0;

  int err = ax_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "work: ax_loop_init: %s\n", ax_strerror(err));
    return 1;
  }
  for (unsigned int i = 0; i < JOBS; i++) {
    jobs[i].from = LIMIT / JOBS * i;
    jobs[i].to = LIMIT / JOBS * (i + 1);
    jobs[i].work.req.data = &total;
    err = ax_queue_work(&loop, &jobs[i].work, count_primes, after_count);
    if (err != 0) {
      fprintf(stderr, "work: ax_queue_work: %s\n", ax_strerror(err));
      break; /* the jobs queued already still finish */
    }
  }

  ax_run(&loop, AX_RUN_DEFAULT); /* until every job's callback has run */
  printf("%u primes below %u\n", total, (unsigned int)LIMIT);
  if (ax_loop_close(&loop) != 0 || err != 0)
    return 1;
  return total == 78498 ? 0 : 1; /* pi(1,000,000): a check of the run */
}
