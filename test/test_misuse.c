/*
 * test_misuse.c: what axle does when it is called wrongly, through the
 * public API only: handles initialised on a loop that is zeroed or closed,
 * ax_close() on a handle whose init failed, a handle initialised again
 * while it is open, ax_async_send() on a closed handle, and the accessors
 * given NULL. Each case gets an error code, never an abort or a crash
 * (issue 11, defect 3).
 *
 * Handle memory is filled with FILL_BYTE before init, as a caller's stack
 * or malloc'd memory would hold anything: a refused init must leave it in a
 * state the rest of the API recognises.
 *
 * Every test also opens and closes a real loop (test_loop_open), which
 * checks that nothing was registered with it or leaked.
 */
#include <stdatomic.h>
#include <string.h>

#include "net.h"
#include "test.h"

/* What stands for uninitialised memory. */
enum { FILL_BYTE = 0xa5 };

static void fill(void *p, size_t size_bytes) {
  memset(p, FILL_BYTE, size_bytes);
}

static void never_timer_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("a timer of a refused init ran");
}

static void never_idle_cb(ax_idle_t *idle) {
  (void)idle;
  fail_msg("an idle handle of a refused init ran");
}

static void never_async_cb(ax_async_t *async) {
  (void)async;
  fail_msg("an async handle of a refused init ran");
}

static void count_walk_cb(ax_handle_t *handle, void *arg) {
  (void)handle;
  (*(int *)arg)++;
}

/* One handle of every type whose init lives in the portable core. */
struct core_handles {
  ax_timer_t timer;
  ax_idle_t idle;
  ax_prepare_t prepare;
  ax_check_t check;
  ax_async_t async;
};

/* Initialise each handle on loop, which is not usable: every init says
 * AX_EINVAL, and every handle is left refusing what follows. */
static void check_core_inits_refused(ax_loop_t *loop) {
  struct core_handles h;
  fill(&h, sizeof(h));
  assert_int_equal(ax_timer_init(loop, &h.timer), AX_EINVAL);
  assert_int_equal(ax_idle_init(loop, &h.idle), AX_EINVAL);
  assert_int_equal(ax_prepare_init(loop, &h.prepare), AX_EINVAL);
  assert_int_equal(ax_check_init(loop, &h.check), AX_EINVAL);
  assert_int_equal(ax_async_init(loop, &h.async, never_async_cb), AX_EINVAL);

  assert_int_equal(ax_timer_start(&h.timer, never_timer_cb, 0, 0), AX_EBADF);
  assert_int_equal(ax_timer_stop(&h.timer), 0);
  assert_int_equal(ax_timer_get_due_in(&h.timer), 0);
  assert_int_equal(ax_idle_start(&h.idle, never_idle_cb), AX_EBADF);
  assert_int_equal(ax_async_send(&h.async), AX_EBADF);
  assert_false(ax_is_active(&h.timer.handle));
  assert_false(ax_is_active(&h.async.handle));

  assert_int_equal(ax_close(&h.timer.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.idle.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.prepare.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.check.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.async.handle, NULL), AX_EINVAL);
}

/* The loop-level calls on a loop that is NULL, zeroed or closed. */
static void check_loop_refused(ax_loop_t *loop) {
  int walked = 0;
  assert_false(ax_loop_alive(loop));
  ax_walk(loop, count_walk_cb, &walked);
  assert_int_equal(walked, 0);
  ax_stop(loop);
  ax_update_time(loop);
  assert_null(ax_backend_name(loop));
  assert_int_equal(ax_backend_fallback_error(loop), AX_EINVAL);
  assert_int_equal(ax_loop_set_resource_cb(loop, NULL), AX_EINVAL);
  assert_int_equal(ax_run(loop, AX_RUN_DEFAULT), AX_EINVAL);
  assert_int_equal(ax_loop_close(loop), AX_EINVAL);
}

static void test_misuse_init_on_zeroed_loop(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_loop_t zeroed;
  test_loop_open(&loop);
  memset(&zeroed, 0, sizeof(zeroed));
  check_core_inits_refused(&zeroed);
  check_loop_refused(&zeroed);
  test_loop_close(&loop);
}

static void test_misuse_init_on_closed_loop(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_loop_t closed;
  test_loop_open(&loop);
  assert_int_equal(ax_loop_init(&closed), 0);
  assert_int_equal(ax_loop_close(&closed), 0);
  check_core_inits_refused(&closed);
  check_loop_refused(&closed);
  test_loop_close(&loop);
}

/* The tcp, poll and signal inits on a zeroed loop: AX_EINVAL, nothing
 * registered, and a handle that ax_close() refuses. */
static void test_misuse_init_io_handles_on_zeroed_loop(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_loop_t zeroed;
  ax_tcp_t real;
  ax_tcp_t tcp;
  ax_poll_t poll;
  ax_signal_t signal;
  struct sockaddr_storage addr;
  ax_os_fd_t sock;
  test_loop_open(&loop);
  memset(&zeroed, 0, sizeof(zeroed));
  /* A real socket for the poll handle, made on the real loop. */
  assert_int_equal(ax_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&addr), 0);
  assert_int_equal(ax_tcp_init(&loop, &real), 0);
  assert_int_equal(ax_tcp_bind(&real, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(ax_fileno(&real.stream.handle, &sock), 0);

  fill(&tcp, sizeof(tcp));
  fill(&poll, sizeof(poll));
  fill(&signal, sizeof(signal));
  assert_int_equal(ax_tcp_init(&zeroed, &tcp), AX_EINVAL);
  assert_int_equal(
      ax_poll_init_socket(&zeroed, &poll, (ax_os_sock_t)(uintptr_t)sock),
      AX_EINVAL);
  assert_int_equal(ax_signal_init(&zeroed, &signal), AX_EINVAL);
  assert_int_equal(ax_close(&tcp.stream.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&poll.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&signal.handle, NULL), AX_EINVAL);
  check_loop_refused(&zeroed);

  assert_int_equal(ax_close(&real.stream.handle, NULL), 0);
  test_loop_close(&loop);
}

/* ax_close() on a handle whose init failed, whichever way it failed, and
 * on zeroed memory that was never initialised: AX_EINVAL, not an abort. */
static void test_misuse_close_after_failed_init(void **state) {
  (void)state;
  ax_loop_t loop;
  struct core_handles h;
  ax_timer_t zeroed;
  int closes = 0;
  test_loop_open(&loop);
  fill(&h, sizeof(h));
  assert_int_equal(ax_timer_init(NULL, &h.timer), AX_EINVAL);
  assert_int_equal(ax_idle_init(NULL, &h.idle), AX_EINVAL);
  assert_int_equal(ax_prepare_init(NULL, &h.prepare), AX_EINVAL);
  assert_int_equal(ax_check_init(NULL, &h.check), AX_EINVAL);
  /* Refused after the handle joined the loop: it is taken out again. */
  assert_int_equal(ax_async_init(&loop, &h.async, NULL), AX_EINVAL);
  h.timer.handle.data = &closes;
  assert_int_equal(ax_close(&h.timer.handle, test_count_close_cb), AX_EINVAL);
  assert_int_equal(ax_close(&h.idle.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.prepare.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.check.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_close(&h.async.handle, NULL), AX_EINVAL);
  assert_int_equal(ax_async_send(&h.async), AX_EBADF);
  memset(&zeroed, 0, sizeof(zeroed));
  assert_int_equal(ax_close(&zeroed.handle, NULL), AX_EINVAL);
  assert_int_equal(test_count_handles(&loop), 0);
  assert_false(ax_loop_alive(&loop));
  test_loop_close(&loop);
  assert_int_equal(closes, 0);
  /* The same memory initialises normally afterwards. */
  test_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &h.timer), 0);
  assert_int_equal(ax_close(&h.timer.handle, test_count_close_cb), 0);
  test_loop_close(&loop);
  assert_int_equal(closes, 1);
}

/* A handle initialised again while it is open (started, stopped but not
 * closed, or closing with its close callback still to come) is refused
 * with AX_EBUSY and keeps working: its loop's lists stay whole. Builds
 * with assertions only, where the loop's lists are searched (see
 * ax_timer_init()); in its close callback a handle may be initialised
 * again. */
struct reinit {
  ax_timer_t timer;       /* Started, then initialised again. */
  ax_idle_t idle;         /* Open, never started. */
  ax_async_t async;       /* Active from init on. */
  int fired;              /* Timer callbacks run. */
  int reinit_in_close_cb; /* What an init in the close callback gave. */
};

static void reinit_timer_cb(ax_timer_t *timer) {
  ax_container_of(timer, struct reinit, timer)->fired++;
}

static void reinit_close_cb(ax_handle_t *handle) {
  struct reinit *r = handle->data;
  r->reinit_in_close_cb = ax_timer_init(handle->loop, &r->timer);
}

static void test_misuse_init_while_open(void **state) {
  (void)state;
#ifdef NDEBUG
  skip(); /* Undefined without assertions: see ax_timer_init(). */
#endif    /* NDEBUG */
  ax_loop_t loop;
  struct reinit r;
  fill(&r, sizeof(r));
  r.fired = 0;
  r.reinit_in_close_cb = 1;
  test_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &r.timer), 0);
  assert_int_equal(ax_idle_init(&loop, &r.idle), 0);
  assert_int_equal(ax_async_init(&loop, &r.async, never_async_cb), 0);
  assert_int_equal(ax_timer_start(&r.timer, reinit_timer_cb, 0, 0), 0);
  assert_int_equal(ax_timer_init(&loop, &r.timer), AX_EBUSY);
  assert_int_equal(ax_idle_init(&loop, &r.idle), AX_EBUSY);
  assert_int_equal(ax_async_init(&loop, &r.async, never_async_cb), AX_EBUSY);
  assert_true(ax_is_active(&r.timer.handle));
  assert_int_equal(test_count_handles(&loop), 3);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(r.fired, 1);
  /* Stopped, still open. */
  assert_int_equal(ax_timer_init(&loop, &r.timer), AX_EBUSY);
  /* Closing: open until its close callback has run. */
  r.timer.handle.data = &r;
  assert_int_equal(ax_close(&r.timer.handle, reinit_close_cb), 0);
  assert_int_equal(ax_timer_init(&loop, &r.timer), AX_EBUSY);
  assert_int_equal(ax_close(&r.idle.handle, NULL), 0);
  assert_int_equal(ax_close(&r.async.handle, NULL), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(r.reinit_in_close_cb, 0);
  assert_int_equal(ax_timer_start(&r.timer, reinit_timer_cb, 0, 0), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(r.fired, 2);
  assert_int_equal(ax_close(&r.timer.handle, NULL), 0);
  test_loop_close(&loop);
}

/* ax_async_send() on a closed handle: AX_EBADF from ax_close() on, also
 * after the close callback, and the callback does not run. */
static void test_misuse_async_send_after_close(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_async_t async;
  int closes = 0;
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &async, never_async_cb), 0);
  async.handle.data = &closes;
  assert_int_equal(ax_async_send(&async), 0); /* Pending, then closed: */
  assert_int_equal(ax_close(&async.handle, test_count_close_cb), 0);
  assert_int_equal(ax_async_send(&async), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0); /* no callback. */
  assert_int_equal(closes, 1);
  assert_int_equal(ax_async_send(&async), AX_EBADF);
  test_loop_close(&loop);
}

/* Another thread sends until it is refused, while the loop closes the
 * handle from its first callback: the refusal is what stops the thread
 * (the handle's memory outlives it). Under ThreadSanitizer, this is the
 * race between a send and ax_close(). */
enum { REFUSED_SAFETY_NET_MS = 10000 };

struct refused {
  ax_async_t async; /* Sent to by the thread, closed by the loop. */
  atomic_int sends; /* Sends that returned 0. */
  atomic_int last;  /* What the thread's last send returned. */
  int closes;       /* Close callbacks run. */
};

static void refused_sender(void *arg) {
  struct refused *r = arg;
  uint64_t deadline_ns = ax_hrtime() +
                         (uint64_t)REFUSED_SAFETY_NET_MS * 1000000u;
  int rc;
  while ((rc = ax_async_send(&r->async)) == 0 && ax_hrtime() < deadline_ns)
    atomic_fetch_add(&r->sends, 1);
  atomic_store(&r->last, rc);
}

static void refused_cb(ax_async_t *async) {
  ax_close(&async->handle, test_count_close_cb);
}

static void test_misuse_async_send_races_close(void **state) {
  (void)state;
  ax_loop_t loop;
  struct refused r;
  struct test_guard guard;
  ax_thread_t thread;
  memset(&r, 0, sizeof(r));
  test_loop_open(&loop);
  assert_int_equal(ax_async_init(&loop, &r.async, refused_cb), 0);
  r.async.handle.data = &r.closes;
  test_guard_start(&loop, &guard);
  assert_int_equal(ax_thread_create(&thread, refused_sender, &r), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), 0);
  assert_int_equal(ax_thread_join(&thread), 0);
  assert_int_equal(r.closes, 1);
  assert_true(atomic_load(&r.sends) > 0);
  assert_int_equal(atomic_load(&r.last), AX_EBADF);
  test_guard_close(&guard);
  test_loop_close(&loop);
}

/* The accessors given NULL: each says "nothing there" (see the header
 * comment of each); ax_now() alone is a documented precondition. */
static void test_misuse_null_accessors(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_timer_t timer;
  int walked = 0;
  test_loop_open(&loop);
  check_loop_refused(NULL);
  assert_int_equal(ax_loop_metrics(NULL, NULL), AX_EINVAL);
  ax_ref(NULL);
  ax_unref(NULL);
  assert_false(ax_has_ref(NULL));
  assert_false(ax_is_active(NULL));
  assert_false(ax_is_closing(NULL));
  assert_int_equal(ax_close(NULL, NULL), AX_EINVAL);
  ax_timer_set_repeat(NULL, 5);
  assert_int_equal(ax_timer_get_repeat(NULL), 0);
  assert_int_equal(ax_timer_get_due_in(NULL), 0);
  /* A walk with no callback, on a loop with a handle. */
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  ax_walk(&loop, NULL, NULL);
  ax_walk(&loop, count_walk_cb, &walked);
  assert_int_equal(walked, 1);
  assert_int_equal(ax_close(&timer.handle, NULL), 0);
  test_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_misuse_init_on_zeroed_loop),
      cmocka_unit_test(test_misuse_init_on_closed_loop),
      cmocka_unit_test(test_misuse_init_io_handles_on_zeroed_loop),
      cmocka_unit_test(test_misuse_close_after_failed_init),
      cmocka_unit_test(test_misuse_init_while_open),
      cmocka_unit_test(test_misuse_async_send_after_close),
      cmocka_unit_test(test_misuse_async_send_races_close),
      cmocka_unit_test(test_misuse_null_accessors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
