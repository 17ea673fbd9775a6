/*
 * test/support/test.h: what every axle test shares.
 *
 * Each test file is one cmocka program about one feature. A test opens its
 * loop with test_loop_open(), which also installs a counting allocator, and
 * ends with test_loop_close(), which fails the test if any handle is still
 * open, the loop cannot close, or any memory axle allocated was not freed.
 * The backend comes from AX_BACKEND, which meson sets per test run.
 */
#ifndef AX_TEST_H
#define AX_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "axle.h"

/* Initialise *loop on the backend AX_BACKEND names, and check that it is
 * that backend (no silent fallback inside the suite). */
void test_loop_open(ax_loop_t *loop);

/* Run the loop until nothing is left, then check that no handle is open,
 * close the loop, and check that every allocation was released. */
void test_loop_close(ax_loop_t *loop);

/* Handles the loop still knows, open or closing. */
unsigned int test_count_handles(ax_loop_t *loop);

/* Allocations made through axle's allocator since the current test's
 * loop was opened, and not yet freed. */
long test_live_allocations(void);

/* A close callback that counts its calls in *(int *)handle->data. */
void test_count_close_cb(ax_handle_t *handle);

/*
 * A safety net for a run that waits on the outside world: an unreferenced
 * timer that stops the loop after TEST_SAFETY_NET_MS, which only a lost
 * event lets it reach (it bounds a test; it measures nothing). It does not
 * keep the loop alive: a run whose handles all finish returns at once.
 */
enum { TEST_SAFETY_NET_MS = 10000 };
struct test_guard {
  ax_timer_t timer; /* Unreferenced, one-shot. */
  bool fired;       /* The net was reached: the run was stopped. */
};
void test_guard_start(ax_loop_t *loop, struct test_guard *guard);
/* Check that the net was not reached, close the timer and run the loop
 * until the close is over. */
void test_guard_close(struct test_guard *guard);

/* Print why the current test is skipped, then skip it: cmocka's skip()
 * takes no reason, and a skip without one cannot be judged from a log. */
void test_skip(const char *reason);

/* Whether this program links libkqueue, the kqueue API in user space on
 * Linux (meson's kqueue_linux option), whose differences from a kernel's
 * kqueue some tests cannot meet (docs/backends.md). */
bool test_links_libkqueue(void);

/* If loop runs on libkqueue, close it and skip the current test with
 * reason, which names the difference; otherwise return. */
void test_skip_on_libkqueue(ax_loop_t *loop, const char *reason);

/* If loop runs on io_uring, close it and skip the current test: io_uring
 * reads, sends, connects and accepts in the kernel, where the system call
 * table that the test injects failures through cannot reach. */
void test_skip_on_io_uring(ax_loop_t *loop);

/* An operating-system error and the axle code it translates to. */
struct test_sys_error {
  int sys_error; /* errno on POSIX, a Win32 or Winsock code on Windows. */
  int expected;  /* What ax_translate_sys_error() must return. */
};

/* This platform's cases (support/sys-errors-posix.c, -win.c). */
extern const struct test_sys_error test_sys_errors[];
extern const size_t test_sys_errors_len;

#endif /* AX_TEST_H */
