/*
 * bench/msg_axle.c: messages between two loops on two threads, on axle's
 * message queues (ax_msgq_t): the msg_* workloads of bench.h.
 */
#include <pthread.h>
#include <stdlib.h>

#include <axle.h>

#include "bench.h"

struct note {
  ax_msg_t msg;
};

/* ---- Messages bounced between two loops ---- */

enum { BURST = 100 }; /* Messages in flight in the bursts workload. */

struct bounce_side {
  ax_loop_t loop;
  ax_msgq_t q;
  struct bounce_side *other;
  uint64_t left;      /* Round trips left (the counting side only). */
  unsigned int held;  /* Back from the other side, not yet sent again. */
  unsigned int batch; /* Send again once this many are back (1: at once). */
  int counts;         /* Whether this side counts. */
  struct note *notes; /* The counting side's messages, batch of them. */
};

/* The message that tells the other side to close. */
static struct note stop_note;

/* The far side posts each message back at once. The counting side counts
 * each one back and, once the whole batch is back, posts it again; done,
 * it posts the stop message for the other to close on, then closes its
 * own queue: no handle is touched from a foreign thread. */
static void bounce_cb(ax_msgq_t *q, ax_msg_t *msg) {
  struct bounce_side *s = ax_container_of(q, struct bounce_side, q);
  if (msg == &stop_note.msg) {
    ax_close(&q->handle, NULL);
    return;
  }
  if (!s->counts) {
    ax_msgq_post(&s->other->q, msg);
    return;
  }
  s->left--;
  if (++s->held < s->batch)
    return;
  s->held = 0;
  if (s->left == 0) {
    ax_msgq_post(&s->other->q, &stop_note.msg);
    ax_close(&q->handle, NULL);
    return;
  }
  for (unsigned int i = 0; i < s->batch; i++)
    ax_msgq_post(&s->other->q, &s->notes[i].msg);
}

static void *bounce_thread(void *arg) {
  struct bounce_side *s = arg;
  ax_run(&s->loop, AX_RUN_DEFAULT);
  return NULL;
}

/* n round trips, batch messages at a time (n a multiple of batch). */
static void axle_bounce(uint64_t n, unsigned int batch,
                        struct bench_result *res) {
  static struct bounce_side a, b;
  static struct note notes[BURST];
  res->error = ax_loop_init(&a.loop) || ax_loop_init(&b.loop);
  if (res->error != 0)
    return;
  a.other = &b;
  b.other = &a;
  a.counts = 1;
  a.left = n;
  a.held = 0;
  a.batch = batch;
  a.notes = notes;
  ax_msgq_init(&a.loop, &a.q, bounce_cb, NULL, 0);
  ax_msgq_init(&b.loop, &b.q, bounce_cb, NULL, 0);
  pthread_t t;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  pthread_create(&t, NULL, bounce_thread, &b);
  for (unsigned int i = 0; i < batch; i++)
    ax_msgq_post(&b.q, &notes[i].msg);
  ax_run(&a.loop, AX_RUN_DEFAULT);
  pthread_join(t, NULL);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n - a.left;
  ax_loop_close(&a.loop);
  ax_loop_close(&b.loop);
}

void bench_axle_msg_one_by_one(uint64_t n, struct bench_result *r) {
  axle_bounce(n, 1, r);
}

void bench_axle_msg_bursts(uint64_t n, struct bench_result *r) {
  axle_bounce(n - n % BURST, BURST, r);
}
