/*
 * test_iocp.c: the IOCP backend (Windows) and the Windows core, seen from
 * inside the library.
 *
 * - the contract's fd-poll operations, which Windows refuses for now, and
 *   its socket operations, which are IOCP's own;
 * - completions posted straight to the port: delivered in order, with their
 *   byte counts, at most AX__MAX_EVENTS_PER_WAIT per wait;
 * - Win32 failures injected through the table of win/internal.h: the port
 *   cannot be created, the wait breaks, the wait times out before its time
 *   (what real Windows does now and then, and Wine does not), a wakeup
 *   cannot be posted;
 * - the wakeup channel: one packet in the port however many sends, and no
 *   send lost;
 * - the clock, against the system's tick count.
 *
 * A teardown puts the table back after each test, so a failed assertion
 * cannot leak an injected failure into the next test.
 */
#include <string.h>

#include "test.h"

#include "backend.h"
#include "win/internal.h"

/* The bound on every wait: never reached when the library works. */
enum { SAFETY_NET_MS = 10000 };

static void restore_syscalls(void) {
  ax__win_sys = ax__win_sys_default;
}

/* Per-test teardown: also runs after a failed assertion. */
static int restore_all(void **state) {
  (void)state;
  restore_syscalls();
  return 0;
}

static const struct ax__backend *backend_of(ax_loop_t *loop) {
  return loop->priv.platform.backend;
}

static void never_fired_cb(ax_timer_t *timer) {
  (void)timer;
  fail_msg("the loop kept running after its wait broke");
}

static void count_async_cb(ax_async_t *async) {
  (*(int *)async->handle.data)++;
}

/* ---- The contract's fd-poll operations ---- */

static void test_iocp_io_start_refused(void **state) {
  (void)state;
  ax_loop_t loop;
  ax__io_t io;
  memset(&io, 0, sizeof(io));
  test_loop_open(&loop);
  assert_string_equal(ax_backend_name(&loop), "iocp");
  /* No descriptor polling on Windows yet: refused, and stopping what was
   * never started is harmless. */
  assert_int_equal(backend_of(&loop)->io_start(&loop, &io, AX__IO_READ),
                   AX_ENOSYS);
  backend_of(&loop)->io_stop(&loop, &io);
  assert_false(ax__io_any(&loop));
  /* Sockets run on IOCP's own operations (win/iocp-sock.c). */
  assert_ptr_equal(backend_of(&loop)->sock, &ax__iocp_sock_ops);
  test_loop_close(&loop);
}

/* ---- Completions posted to the port ---- */

enum { POSTED = AX__MAX_EVENTS_PER_WAIT + AX__MAX_EVENTS_PER_WAIT / 2 };

struct posted {
  ax__io_t io;         /* The operation every packet completes. */
  size_t seen[POSTED]; /* Byte counts, in delivery order. */
  int len;             /* Completions delivered. */
};

static void posted_cb(ax_loop_t *loop, ax__io_t *io, size_t bytes) {
  (void)loop;
  struct posted *p = ax_container_of(io, struct posted, io);
  if (p->len < POSTED)
    p->seen[p->len] = bytes;
  p->len++;
}

/* More packets than one wait takes: each wait collects at most the
 * limit, dispatch delivers them in the port's order, and the rest wait in
 * the port for the next wait. */
static void test_iocp_batch_limit_and_order(void **state) {
  (void)state;
  ax_loop_t loop;
  static struct posted p;
  memset(&p, 0, sizeof(p));
  p.io.cb = posted_cb;
  test_loop_open(&loop);
  for (int i = 0; i < POSTED; i++) {
    assert_true(PostQueuedCompletionStatus(loop.priv.platform.iocp, (DWORD)i, 0,
                                           ax__io_overlapped(&p.io)));
  }
  const struct ax__backend *backend = backend_of(&loop);
  assert_int_equal(backend->wait(&loop, 0), AX__MAX_EVENTS_PER_WAIT);
  assert_int_equal(backend->dispatch(&loop), AX__MAX_EVENTS_PER_WAIT);
  assert_int_equal(p.len, AX__MAX_EVENTS_PER_WAIT);
  assert_int_equal(backend->wait(&loop, 0), POSTED - AX__MAX_EVENTS_PER_WAIT);
  assert_int_equal(backend->dispatch(&loop), POSTED - AX__MAX_EVENTS_PER_WAIT);
  assert_int_equal(p.len, POSTED);
  for (int i = 0; i < POSTED; i++)
    assert_int_equal(p.seen[i], (size_t)i);
  /* The port is empty again: a wait that may not block finds nothing. */
  assert_int_equal(backend->wait(&loop, 0), 0);
  assert_int_equal(backend->dispatch(&loop), 0);
  test_loop_close(&loop);
}

/* ---- The port cannot be created ---- */

static HANDLE WINAPI fail_create_port(HANDLE file, HANDLE port, ULONG_PTR key,
                                      DWORD threads) {
  (void)file;
  (void)port;
  (void)key;
  (void)threads;
  SetLastError(ERROR_NO_SYSTEM_RESOURCES);
  return NULL;
}

static void test_iocp_port_failure(void **state) {
  (void)state;
  ax_loop_t loop;
  ax_loop_options_t options;
  test_loop_open(&loop); /* installs the counting allocator */
  test_loop_close(&loop);
  ax__win_sys.create_io_completion_port = fail_create_port;
  /* The Win32 error, translated; nothing allocated is kept. IOCP is the
   * only backend, so there is nothing to fall back to. */
  assert_int_equal(ax_loop_init(&loop), AX_ENOMEM);
  memset(&options, 0, sizeof(options));
  options.backend = "iocp";
  options.flags = AX_LOOP_BACKEND_STRICT;
  assert_int_equal(ax_loop_init_ex(&loop, &options), AX_ENOMEM);
  assert_int_equal(test_live_allocations(), 0);
  restore_syscalls();
  test_loop_open(&loop);
  test_loop_close(&loop);
}

/* ---- Injected wait results ---- */

static int wait_calls;         /* Calls of the injected wait. */
static int wait_injections;    /* Calls that still get the injection. */
static DWORD wait_error;       /* The error they fail with. */
static int wait_early_percent; /* WAIT_TIMEOUT: how much of it to sleep. */

/* Fail with wait_error; a WAIT_TIMEOUT comes after only part of the time
 * asked, as Windows' tick-based waits sometimes do. */
static BOOL WINAPI inject_wait(HANDLE port, LPOVERLAPPED_ENTRY entries,
                               ULONG count, PULONG removed, DWORD timeout_ms,
                               BOOL alertable) {
  wait_calls++;
  if (wait_injections <= 0) {
    return ax__win_sys_default.get_queued_completion_status_ex(
        port, entries, count, removed, timeout_ms, alertable);
  }
  wait_injections--;
  if (wait_error == WAIT_TIMEOUT && timeout_ms != INFINITE)
    Sleep(timeout_ms * (DWORD)wait_early_percent / 100);
  *removed = 0;
  SetLastError(wait_error);
  return FALSE;
}

static void inject_waits(int injections, DWORD error, int early_percent) {
  wait_calls = 0;
  wait_injections = injections;
  wait_error = error;
  wait_early_percent = early_percent;
  ax__win_sys.get_queued_completion_status_ex = inject_wait;
}

/*
 * Waits that time out early, twice in a row: one after half the time, one
 * at once. The backend must wait again for what is left, so that the one
 * ONCE iteration ends with its timer due and runs it. A check handle, run
 * right after the wait, sees the timer due.
 */
struct early_probe {
  ax_timer_t timer;   /* The one deadline the loop waits for. */
  ax_check_t check;   /* Runs after the wait. */
  uint64_t due_in_ms; /* The most the check saw the timer due in. */
  int fired;          /* Timer callbacks run. */
};

static void early_check_cb(ax_check_t *check) {
  struct early_probe *p = ax_container_of(check, struct early_probe, check);
  uint64_t due_in_ms = ax_timer_get_due_in(&p->timer);
  if (due_in_ms > p->due_in_ms)
    p->due_in_ms = due_in_ms;
}

static void early_timer_cb(ax_timer_t *timer) {
  ax_container_of(timer, struct early_probe, timer)->fired++;
}

static void test_iocp_wait_early_timeout_resumes(void **state) {
  (void)state;
  enum { TIMEOUT_MS = 40 };
  ax_loop_t loop;
  struct early_probe p;
  memset(&p, 0, sizeof(p));
  test_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &p.timer), 0);
  assert_int_equal(ax_check_init(&loop, &p.check), 0);
  assert_int_equal(ax_check_start(&p.check, early_check_cb), 0);
  /* Read before the loop's time is cached: the deadline is no earlier. */
  uint64_t start_ns = ax_hrtime();
  ax_update_time(&loop);
  assert_int_equal(ax_timer_start(&p.timer, early_timer_cb, TIMEOUT_MS, 0), 0);
  inject_waits(1, WAIT_TIMEOUT, 50);
  int first = ax_run(&loop, AX_RUN_ONCE);
  int calls_after_half = wait_calls;
  uint64_t elapsed_ns = ax_hrtime() - start_ns;
  /* Again, with a wait that gives up at once. */
  ax_update_time(&loop);
  assert_int_equal(ax_timer_start(&p.timer, early_timer_cb, TIMEOUT_MS, 0), 0);
  inject_waits(2, WAIT_TIMEOUT, 0);
  int second = ax_run(&loop, AX_RUN_ONCE);
  int calls_after_none = wait_calls;
  restore_syscalls();
  ax_close(&p.timer.handle, NULL);
  ax_close(&p.check.handle, NULL);
  test_loop_close(&loop);
  assert_int_equal(first, 0);
  assert_int_equal(second, 0);
  assert_int_equal(p.fired, 2);
  assert_int_equal(p.due_in_ms, 0);
  assert_true(elapsed_ns >= (uint64_t)TIMEOUT_MS * 1000000u);
  /* Each early timeout was followed by a wait for the rest. */
  assert_true(calls_after_half >= 2);
  assert_true(calls_after_none >= 3);
}

/*
 * A wait that keeps failing (the port closed behind the loop's back) ends
 * ax_run() with the error instead of spinning. The injection stops after a
 * bounded number of failures, so a loop that spun would meet the timer and
 * fail the test rather than hang it.
 */
static void test_iocp_wait_failure_returns(void **state) {
  (void)state;
  enum { MAX_FAILURES = 100 };
  ax_loop_t loop;
  ax_timer_t timer;
  test_loop_open(&loop);
  assert_int_equal(ax_timer_init(&loop, &timer), 0);
  assert_int_equal(ax_timer_start(&timer, never_fired_cb, SAFETY_NET_MS, 0), 0);
  inject_waits(MAX_FAILURES, ERROR_ABANDONED_WAIT_0, 0);
  assert_int_equal(ax_run(&loop, AX_RUN_DEFAULT), AX_EBADF);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), AX_EBADF);
  assert_true(wait_injections > 0);
  assert_true(ax_loop_alive(&loop));
  restore_syscalls();
  ax_close(&timer.handle, NULL);
  test_loop_close(&loop);
}

/* ---- The wakeup channel ---- */

static int posts;         /* Calls of the injected post. */
static int post_failures; /* Calls that still fail. */

static BOOL WINAPI inject_post(HANDLE port, DWORD bytes, ULONG_PTR key,
                               LPOVERLAPPED overlapped) {
  posts++;
  if (post_failures > 0) {
    post_failures--;
    SetLastError(ERROR_NO_SYSTEM_RESOURCES);
    return FALSE;
  }
  return ax__win_sys_default.post_queued_completion_status(port, bytes, key,
                                                           overlapped);
}

static void inject_posts(int failures) {
  posts = 0;
  post_failures = failures;
  ax__win_sys.post_queued_completion_status = inject_post;
}

enum { HANDLES = 8, SENDS_EACH = 100 };

struct fanout {
  ax_async_t asyncs[HANDLES]; /* Each counts its callbacks in calls[]. */
  int calls[HANDLES];         /* Callbacks of each handle. */
};

static void fanout_open(ax_loop_t *loop, struct fanout *f) {
  memset(f, 0, sizeof(*f));
  for (int i = 0; i < HANDLES; i++) {
    assert_int_equal(ax_async_init(loop, &f->asyncs[i], count_async_cb), 0);
    f->asyncs[i].handle.data = &f->calls[i];
  }
}

static void fanout_close(struct fanout *f) {
  for (int i = 0; i < HANDLES; i++)
    ax_close(&f->asyncs[i].handle, NULL);
}

/* Many handles, many sends: one packet in the port. The next send after
 * the dispatch posts again. */
static void test_iocp_wakeup_one_packet(void **state) {
  (void)state;
  ax_loop_t loop;
  struct fanout f;
  test_loop_open(&loop);
  fanout_open(&loop, &f);
  assert_true(ax__io_any(&loop));
  inject_posts(0);
  for (int n = 0; n < SENDS_EACH; n++) {
    for (int i = 0; i < HANDLES; i++)
      assert_int_equal(ax_async_send(&f.asyncs[i]), 0);
  }
  assert_int_equal(posts, 1);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  for (int i = 0; i < HANDLES; i++)
    assert_int_equal(f.calls[i], 1);
  assert_int_equal(ax_async_send(&f.asyncs[3]), 0);
  assert_int_equal(posts, 2);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(f.calls[3], 2);
  /* Nothing left in the port: a NOWAIT iteration runs no callback. */
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(f.calls[3], 2);
  restore_syscalls();
  fanout_close(&f);
  test_loop_close(&loop);
}

/* A send from inside an async callback, to another handle: the packet
 * flag was cleared before the callbacks ran, so this posts anew and is
 * delivered by the next wait rather than lost. */
struct resend {
  ax_async_t first;  /* Its callback sends to second. */
  ax_async_t second; /* Counts its callbacks. */
  int second_calls;  /* Callbacks of second. */
};

static void resend_first_cb(ax_async_t *async) {
  struct resend *r = ax_container_of(async, struct resend, first);
  ax_async_send(&r->second);
}

static void resend_second_cb(ax_async_t *async) {
  ax_container_of(async, struct resend, second)->second_calls++;
}

static void test_iocp_wakeup_send_from_callback(void **state) {
  (void)state;
  ax_loop_t loop;
  struct resend r;
  memset(&r, 0, sizeof(r));
  test_loop_open(&loop);
  /* second is dispatched before first, so first's send comes after. */
  assert_int_equal(ax_async_init(&loop, &r.second, resend_second_cb), 0);
  assert_int_equal(ax_async_init(&loop, &r.first, resend_first_cb), 0);
  inject_posts(0);
  assert_int_equal(ax_async_send(&r.first), 0);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(r.second_calls, 0);
  assert_int_equal(posts, 2);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(r.second_calls, 1);
  restore_syscalls();
  ax_close(&r.first.handle, NULL);
  ax_close(&r.second.handle, NULL);
  test_loop_close(&loop);
}

/* The port has no memory for a packet: the send is not lost for good, the
 * next signal posts and delivers it; and, as errno on POSIX, the caller's
 * last-error value survives the send. */
static void test_iocp_wakeup_post_failure(void **state) {
  (void)state;
  ax_loop_t loop;
  struct fanout f;
  test_loop_open(&loop);
  fanout_open(&loop, &f);
  inject_posts(1);
  SetLastError(ERROR_INVALID_PIXEL_FORMAT);
  assert_int_equal(ax_async_send(&f.asyncs[0]), 0);
  assert_int_equal(GetLastError(), ERROR_INVALID_PIXEL_FORMAT);
  assert_int_equal(posts, 1);
  assert_int_equal(ax_run(&loop, AX_RUN_NOWAIT), 0);
  assert_int_equal(f.calls[0], 0);
  assert_int_equal(ax_async_send(&f.asyncs[1]), 0);
  assert_int_equal(posts, 2);
  assert_int_equal(ax_run(&loop, AX_RUN_ONCE), 0);
  assert_int_equal(f.calls[0], 1);
  assert_int_equal(f.calls[1], 1);
  restore_syscalls();
  fanout_close(&f);
  test_loop_close(&loop);
}

/* ---- The clock ---- */

/* ax_hrtime() counts nanoseconds: over a sleep it agrees with the system's
 * millisecond tick count, to within a few ticks of that coarse clock. This
 * checks the unit conversion, not how long the sleep took. */
static void test_iocp_hrtime_units(void **state) {
  (void)state;
  enum { SLEEP_MS = 200, SLACK_MS = 64 };
  ULONGLONG ticks_before = GetTickCount64();
  uint64_t before_ns = ax_hrtime();
  Sleep(SLEEP_MS);
  uint64_t after_ns = ax_hrtime();
  ULONGLONG ticks_after = GetTickCount64();
  assert_true(after_ns > before_ns);
  int64_t hr_ms = (int64_t)((after_ns - before_ns) / 1000000u);
  int64_t tick_ms = (int64_t)(ticks_after - ticks_before);
  /* Not assert_in_range: it compares unsigned values. */
  assert_true(hr_ms - tick_ms >= -SLACK_MS && hr_ms - tick_ms <= SLACK_MS);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_iocp_io_start_refused, restore_all),
      cmocka_unit_test_teardown(test_iocp_batch_limit_and_order, restore_all),
      cmocka_unit_test_teardown(test_iocp_port_failure, restore_all),
      cmocka_unit_test_teardown(test_iocp_wait_early_timeout_resumes,
                                restore_all),
      cmocka_unit_test_teardown(test_iocp_wait_failure_returns, restore_all),
      cmocka_unit_test_teardown(test_iocp_wakeup_one_packet, restore_all),
      cmocka_unit_test_teardown(test_iocp_wakeup_send_from_callback,
                                restore_all),
      cmocka_unit_test_teardown(test_iocp_wakeup_post_failure, restore_all),
      cmocka_unit_test_teardown(test_iocp_hrtime_units, restore_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
