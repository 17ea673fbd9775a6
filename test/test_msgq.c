/*
 * test_msgq.c: message queues (ax_msgq_t), through the public API only:
 * order from one sender, four threads posting freely (nothing lost, each
 * sender's order kept), the capacity and AX_EAGAIN, a close that hands
 * back what was not delivered (also from inside a callback), a post from a
 * callback, threads racing a close (every message posted is delivered or
 * handed back, none twice), and argument errors.
 *
 * Threads other than the loop's never call cmocka: they record what they
 * saw, and the test asserts once it has joined them. Every run that waits
 * for other threads has an unreferenced safety-net timer, so that a lost
 * wakeup fails the test instead of hanging it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum {
  SAFETY_NET_MS = 20000, /* A bound on waits for other threads. */
  SENDERS = 4,
  PER_SENDER = 20000,
};

/* A message: the link, and what the test checks. */
struct note {
  ax_msg_t msg;
  int sender;
  int seq;
};

/* What a queue's callbacks saw. */
struct seen {
  ax_msgq_t q;
  int delivered;
  int undelivered;
  int next_seq[SENDERS + 1]; /* Per sender: the seq expected next. */
  bool out_of_order;
  int close_at;         /* Close the queue at this delivery; 0: never. */
  int want;             /* Close the queue once this many are seen. */
  struct note *again;   /* Posted once from the callback, if set. */
  int undelivered_last; /* The seq of the last handed back, per order. */
  bool closed;
};

static void seen_check(struct seen *s, const struct note *n) {
  if (n->seq != s->next_seq[n->sender])
    s->out_of_order = true;
  s->next_seq[n->sender] = n->seq + 1;
}

static void closed_cb(ax_handle_t *handle) {
  ax_container_of(handle, struct seen, q.handle)->closed = true;
}

static void msg_cb(ax_msgq_t *q, ax_msg_t *msg) {
  struct seen *s = ax_container_of(q, struct seen, q);
  seen_check(s, ax_container_of(msg, struct note, msg));
  s->delivered++;
  if (s->again != NULL) {
    struct note *again = s->again;
    s->again = NULL;
    assert_int_equal(ax_msgq_post(q, &again->msg), 0);
  }
  if (s->delivered == s->close_at ||
      (s->want != 0 && s->delivered + s->undelivered == s->want))
    assert_int_equal(ax_close(&q->handle, closed_cb), 0);
}

static void undelivered_cb(ax_msgq_t *q, ax_msg_t *msg) {
  struct seen *s = ax_container_of(q, struct seen, q);
  struct note *n = ax_container_of(msg, struct note, msg);
  assert_true(s->closed == false); /* Before the close callback. */
  seen_check(s, n);
  s->undelivered++;
}

static void seen_init(ax_loop_t *loop, struct seen *s, size_t capacity) {
  memset(s, 0, sizeof(*s));
  assert_int_equal(ax_msgq_init(loop, &s->q, msg_cb, undelivered_cb, capacity),
                   0);
}

/* Messages from the loop's own thread arrive in order, one callback
 * each, on the next iteration. */
static void test_msgq_order(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 0);
  struct note notes[100];
  for (int i = 0; i < 100; i++) {
    notes[i] = (struct note){.sender = 0, .seq = i};
    assert_int_equal(ax_msgq_post(&s.q, &notes[i].msg), 0);
  }
  assert_int_equal(s.delivered, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(s.delivered, 100);
  assert_false(s.out_of_order);
  assert_string_equal(ax_handle_type_name(s.q.handle.type), "msgq");
  assert_int_equal(ax_close(&s.q.handle, closed_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_true(s.closed);
  assert_int_equal(s.undelivered, 0);
  test_loop_close(&loop);
}

/* A sender thread: posts its notes in order; stops at AX_EBADF (the queue
 * closed). Records how many were taken. */
struct sender {
  ax_thread_t thread;
  ax_msgq_t *q;
  struct note *notes;
  int count;
  int posted;     /* Taken by the queue (0 returned). */
  int bad_result; /* Any result but 0 and AX_EBADF. */
};

static void sender_run(void *arg) {
  struct sender *t = arg;
  for (int i = 0; i < t->count; i++) {
    int rc = ax_msgq_post(t->q, &t->notes[i].msg);
    if (rc == AX_EBADF)
      return;
    if (rc != 0) {
      t->bad_result = rc;
      return;
    }
    t->posted++;
  }
}

static void guard_cb(ax_timer_t *timer) {
  *(bool *)timer->handle.data = true;
  ax_stop(timer->handle.loop);
}

/* Start SENDERS threads posting PER_SENDER notes each (sender ids from 1),
 * run the loop until the queue closes, join them. */
static void run_senders(ax_loop_t *loop, struct seen *s,
                        struct sender senders[SENDERS]) {
  ax_timer_t guard;
  bool fired = false;
  assert_int_equal(ax_timer_init(loop, &guard), 0);
  guard.handle.data = &fired;
  assert_int_equal(ax_timer_start(&guard, guard_cb, SAFETY_NET_MS, 0), 0);
  ax_unref(&guard.handle);
  for (int i = 0; i < SENDERS; i++) {
    struct sender *t = &senders[i];
    t->q = &s->q;
    t->count = PER_SENDER;
    t->notes = calloc(PER_SENDER, sizeof(struct note));
    assert_non_null(t->notes);
    for (int k = 0; k < PER_SENDER; k++)
      t->notes[k] = (struct note){.sender = i + 1, .seq = k};
    assert_int_equal(ax_thread_create(&t->thread, sender_run, t), 0);
  }
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  for (int i = 0; i < SENDERS; i++)
    assert_int_equal(ax_thread_join(&senders[i].thread), 0);
  assert_false(fired);
  ax_close(&guard.handle, NULL);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), 0);
  assert_true(s->closed);
}

/* Four threads post freely: every message arrives once, each sender's in
 * its order. */
static void test_msgq_many_senders(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 0);
  s.want = SENDERS * PER_SENDER;
  struct sender senders[SENDERS];
  memset(senders, 0, sizeof(senders));
  run_senders(&loop, &s, senders);
  assert_int_equal(s.delivered, SENDERS * PER_SENDER);
  assert_int_equal(s.undelivered, 0);
  assert_false(s.out_of_order);
  for (int i = 0; i < SENDERS; i++) {
    assert_int_equal(senders[i].posted, PER_SENDER);
    assert_int_equal(senders[i].bad_result, 0);
    free(senders[i].notes);
  }
  test_loop_close(&loop);
}

/* Threads racing a close: what each post took is delivered or handed
 * back, exactly once, in each sender's order; posts after the close are
 * refused with AX_EBADF. */
static void test_msgq_close_racing_senders(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 0);
  s.close_at = PER_SENDER / 2; /* Well before the senders are done. */
  struct sender senders[SENDERS];
  memset(senders, 0, sizeof(senders));
  run_senders(&loop, &s, senders);
  int posted = 0;
  for (int i = 0; i < SENDERS; i++) {
    assert_int_equal(senders[i].bad_result, 0);
    posted += senders[i].posted;
    free(senders[i].notes);
  }
  assert_int_equal(s.delivered + s.undelivered, posted);
  assert_false(s.out_of_order);
  test_loop_close(&loop);
}

/* A capacity: posts beyond it are refused with AX_EAGAIN until the loop
 * delivers. */
static void test_msgq_capacity(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 3);
  struct note notes[5];
  for (int i = 0; i < 5; i++)
    notes[i] = (struct note){.sender = 0, .seq = i};
  for (int i = 0; i < 3; i++)
    assert_int_equal(ax_msgq_post(&s.q, &notes[i].msg), 0);
  assert_int_equal(ax_msgq_post(&s.q, &notes[3].msg), AX_EAGAIN);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(s.delivered, 3);
  assert_int_equal(ax_msgq_post(&s.q, &notes[3].msg), 0);
  assert_int_equal(ax_msgq_post(&s.q, &notes[4].msg), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(s.delivered, 5);
  assert_false(s.out_of_order);
  assert_int_equal(ax_close(&s.q.handle, closed_cb), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_loop_close(&loop);
}

/* Closed with messages queued: each goes to the undelivered callback, in
 * order, before the close callback; a post after ax_close() is refused
 * and the message stays the caller's. */
static void test_msgq_close_hands_back(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 0);
  struct note notes[6];
  for (int i = 0; i < 6; i++)
    notes[i] = (struct note){.sender = 0, .seq = i};
  for (int i = 0; i < 5; i++)
    assert_int_equal(ax_msgq_post(&s.q, &notes[i].msg), 0);
  assert_int_equal(ax_close(&s.q.handle, closed_cb), 0);
  assert_int_equal(ax_msgq_post(&s.q, &notes[5].msg), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_true(s.closed);
  assert_int_equal(s.delivered, 0);
  assert_int_equal(s.undelivered, 5);
  assert_false(s.out_of_order);
  test_loop_close(&loop);
}

/* Closed from its own callback, mid-batch: the rest is handed back. */
static void test_msgq_close_in_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 0);
  s.close_at = 2;
  struct note notes[5];
  for (int i = 0; i < 5; i++) {
    notes[i] = (struct note){.sender = 0, .seq = i};
    assert_int_equal(ax_msgq_post(&s.q, &notes[i].msg), 0);
  }
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_true(s.closed);
  assert_int_equal(s.delivered, 2);
  assert_int_equal(s.undelivered, 3);
  assert_false(s.out_of_order);
  test_loop_close(&loop);
}

/* A post from the callback is delivered too, after what was queued. */
static void test_msgq_post_from_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  struct seen s;
  seen_init(&loop, &s, 0);
  struct note notes[3];
  for (int i = 0; i < 3; i++)
    notes[i] = (struct note){.sender = 0, .seq = i};
  s.again = &notes[2];
  s.want = 3;
  assert_int_equal(ax_msgq_post(&s.q, &notes[0].msg), 0);
  assert_int_equal(ax_msgq_post(&s.q, &notes[1].msg), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(s.delivered, 3);
  assert_false(s.out_of_order);
  test_loop_close(&loop);
}

/* Argument errors, a failed init, and a second init of an open queue. */
static void test_msgq_errors(void **state) {
  (void)state;
  ax_loop_t loop;
  test_loop_open(&loop);
  ax_msgq_t q;
  struct note n = {0};
  assert_int_equal(ax_msgq_init(NULL, &q, msg_cb, NULL, 0), AX_EINVAL);
  assert_int_equal(ax_msgq_init(&loop, NULL, msg_cb, NULL, 0), AX_EINVAL);
  assert_int_equal(ax_msgq_init(&loop, &q, NULL, NULL, 0), AX_EINVAL);
  assert_int_equal(ax_msgq_post(&q, &n.msg), AX_EBADF); /* Init failed. */
  assert_int_equal(ax_close(&q.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_msgq_post(NULL, &n.msg), AX_EINVAL);
  struct seen s;
  seen_init(&loop, &s, 0);
  assert_int_equal(ax_msgq_post(&s.q, NULL), AX_EINVAL);
  assert_int_equal(ax_msgq_init(&loop, &s.q, msg_cb, NULL, 0), AX_EBUSY);
  assert_int_equal(ax_close(&s.q.handle, closed_cb), 0);
  assert_int_equal(ax_close(&s.q.handle, closed_cb), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_msgq_order),
      cmocka_unit_test(test_msgq_many_senders),
      cmocka_unit_test(test_msgq_close_racing_senders),
      cmocka_unit_test(test_msgq_capacity),
      cmocka_unit_test(test_msgq_close_hands_back),
      cmocka_unit_test(test_msgq_close_in_callback),
      cmocka_unit_test(test_msgq_post_from_callback),
      cmocka_unit_test(test_msgq_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
