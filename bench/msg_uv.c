/*
 * bench/msg_uv.c: the msg_* workloads of bench.h on libuv, built the way a
 * libuv user does it by hand: a uv_async_t, and a list of messages guarded
 * by a uv_mutex_t, which the async callback takes whole and delivers.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <uv.h>

#include "bench.h"

struct note {
  struct note *next;
};

/* A hand-built message queue: a mutex, a list, an async handle. */
struct uv_msgq {
  uv_async_t async;
  uv_mutex_t lock;
  struct note *head; /* Oldest first, under lock. */
  struct note **tail;
  void (*cb)(struct uv_msgq *q, struct note *note);
};

static void uv_msgq_drain(uv_async_t *async) {
  struct uv_msgq *q = async->data;
  uv_mutex_lock(&q->lock);
  struct note *list = q->head;
  q->head = NULL;
  q->tail = &q->head;
  uv_mutex_unlock(&q->lock);
  while (list != NULL) {
    struct note *next = list->next;
    q->cb(q, list);
    list = next;
  }
}

static int uv_msgq_init(uv_loop_t *loop, struct uv_msgq *q,
                        void (*cb)(struct uv_msgq *q, struct note *note)) {
  q->head = NULL;
  q->tail = &q->head;
  q->cb = cb;
  q->async.data = q;
  if (uv_mutex_init(&q->lock) != 0)
    return -1;
  return uv_async_init(loop, &q->async, uv_msgq_drain);
}

static void uv_msgq_post(struct uv_msgq *q, struct note *note) {
  note->next = NULL;
  uv_mutex_lock(&q->lock);
  *q->tail = note;
  q->tail = &note->next;
  uv_mutex_unlock(&q->lock);
  uv_async_send(&q->async);
}

static void uv_msgq_close(struct uv_msgq *q) {
  uv_close((uv_handle_t *)&q->async, NULL);
}

/* ---- Messages bounced between two loops, as on axle ---- */

enum { BURST = 100 };

struct bounce_side {
  uv_loop_t loop;
  struct uv_msgq q;
  struct bounce_side *other;
  uint64_t left;
  unsigned int held;
  unsigned int batch;
  int counts;
  struct note *notes;
};

static struct note stop_note;

static void bounce_cb(struct uv_msgq *q, struct note *note) {
  struct bounce_side *s =
      (struct bounce_side *)((char *)q - offsetof(struct bounce_side, q));
  if (note == &stop_note) {
    uv_msgq_close(q);
    return;
  }
  if (!s->counts) {
    uv_msgq_post(&s->other->q, note);
    return;
  }
  s->left--;
  if (++s->held < s->batch)
    return;
  s->held = 0;
  if (s->left == 0) {
    uv_msgq_post(&s->other->q, &stop_note);
    uv_msgq_close(q);
    return;
  }
  for (unsigned int i = 0; i < s->batch; i++)
    uv_msgq_post(&s->other->q, &s->notes[i]);
}

static void *bounce_thread(void *arg) {
  struct bounce_side *s = arg;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void uv_bounce(uint64_t n, unsigned int batch,
                      struct bench_result *res) {
  static struct bounce_side a, b;
  static struct note notes[BURST];
  res->error = uv_loop_init(&a.loop) || uv_loop_init(&b.loop);
  if (res->error != 0)
    return;
  a.other = &b;
  b.other = &a;
  a.counts = 1;
  a.left = n;
  a.held = 0;
  a.batch = batch;
  a.notes = notes;
  uv_msgq_init(&a.loop, &a.q, bounce_cb);
  uv_msgq_init(&b.loop, &b.q, bounce_cb);
  pthread_t t;
  double cpu = bench_cpu_now(), wall = bench_wall_now();
  pthread_create(&t, NULL, bounce_thread, &b);
  for (unsigned int i = 0; i < batch; i++)
    uv_msgq_post(&b.q, &notes[i]);
  uv_run(&a.loop, UV_RUN_DEFAULT);
  pthread_join(t, NULL);
  res->cpu_s = bench_cpu_now() - cpu;
  res->wall_s = bench_wall_now() - wall;
  res->ops = n - a.left;
  uv_mutex_destroy(&a.q.lock);
  uv_mutex_destroy(&b.q.lock);
  uv_loop_close(&a.loop);
  uv_loop_close(&b.loop);
}

void bench_uv_msg_one_by_one(uint64_t n, struct bench_result *r) {
  uv_bounce(n, 1, r);
}

void bench_uv_msg_bursts(uint64_t n, struct bench_result *r) {
  uv_bounce(n - n % BURST, BURST, r);
}
